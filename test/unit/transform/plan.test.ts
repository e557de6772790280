import assert from 'node:assert/strict'
import { test } from 'node:test'
import { avifEffort, focalPointCrop, parseColour, planTransform, type PlanSettings } from '../../../src/transform/plan.ts'
import type { SourceInfo } from '../../../src/transform/probe.ts'
import { isDeliveryError } from '../../../src/errors.ts'

const settings: PlanSettings = { maxOutputDimension: 8192, maxOutputPixels: 4e7, maxAnimationFrames: 200, maxSourcePixels: 1e8, quality: { jpeg: 81, webp: 82, avif: 61 }, avifEnabled: true }
const jpeg: SourceInfo = { format: 'jpeg', width: 4000, height: 3000, pages: 1, hasAlpha: false, isAvif: false }

const limited = { ...settings, maxOutputDimension: 1000 }
const refusal = (name: string) => (error: unknown) => isDeliveryError(error) && error.code === 'INVALID_PARAMETER' && error.message.includes(name)

test('dpr multiplies; an output beyond LIMITS_MAX_OUTPUT_DIMENSION is refused, not scaled', () => {
  const plan = planTransform({ width: 400, height: 200, dpr: 2.5 }, jpeg, 'other', limited)
  assert.deepEqual(plan.output, { width: 1000, height: 500 })
  assert.throws(() => planTransform({ width: 800, height: 400, dpr: 2 }, jpeg, 'other', limited), refusal('LIMITS_MAX_OUTPUT_DIMENSION'))
  // No resize: the source's own size is the output.
  assert.throws(() => planTransform({ format: 'webp' }, jpeg, 'other', limited), refusal('LIMITS_MAX_OUTPUT_DIMENSION'))
})

test('the real output size bounds fit=outside, one-sided boxes and focal-point intermediates', () => {
  const tall: SourceInfo = { ...jpeg, width: 64, height: 256 }
  const small = { ...settings, maxOutputDimension: 256 }
  assert.throws(() => planTransform({ width: 256, height: 1, fit: 'outside', enlarge: true }, tall, 'other', small), refusal('LIMITS_MAX_OUTPUT_DIMENSION'))
  assert.deepEqual(planTransform({ width: 256, height: 1, fit: 'outside' }, tall, 'other', small).output, { width: 64, height: 256 })
  assert.throws(() => planTransform({ width: 128, enlarge: true }, tall, 'other', small), refusal('LIMITS_MAX_OUTPUT_DIMENSION'))
  assert.throws(() => planTransform({ width: 100, height: 100 }, jpeg, 'other', { ...settings, maxOutputPixels: 9999 }), refusal('LIMITS_MAX_OUTPUT_PIXELS'))
  // A 6000x10 focal crop with enlarge scales the 4000x3000 source to 6000x4500 first: 27 MP.
  assert.throws(() => planTransform({ width: 6000, height: 10, focalPoint: [0.5, 0.5], enlarge: true }, jpeg, 'other', { ...settings, maxOutputPixels: 2e7 }),
    refusal('LIMITS_MAX_OUTPUT_PIXELS'))
})

test('output sizes per fit follow sharp: cover crops, contain pads, inside fits, outside covers, fill stretches', () => {
  const size = (t: Parameters<typeof planTransform>[0]) => planTransform(t, jpeg, 'other', settings).output
  assert.deepEqual(size({ width: 400, height: 400 }), { width: 400, height: 400 })
  assert.deepEqual(size({ width: 400, height: 400, fit: 'contain' }), { width: 400, height: 400 })
  assert.deepEqual(size({ width: 400, height: 400, fit: 'inside' }), { width: 400, height: 300 })
  assert.deepEqual(size({ width: 400, height: 400, fit: 'outside' }), { width: 533, height: 400 })
  assert.deepEqual(size({ width: 400, height: 400, fit: 'fill' }), { width: 400, height: 400 })
  assert.deepEqual(size({ height: 300 }), { width: 400, height: 300 })
  assert.deepEqual(size({ width: 5000 }), { width: 4000, height: 3000 })
  assert.deepEqual(size({ width: 5000, enlarge: true }), { width: 5000, height: 3750 })
  assert.deepEqual(size({ width: 400, height: 400, rotate: 90, fit: 'inside' }), { width: 300, height: 400 })
})

test('default qualities per format, and none for PNG', () => {
  assert.equal(planTransform({ width: 10 }, jpeg, 'other', settings).quality, 81)
  assert.equal(planTransform({ format: 'webp' }, jpeg, 'other', settings).quality, 82)
  assert.equal(planTransform({ format: 'avif' }, jpeg, 'other', settings).quality, 61)
  assert.equal(planTransform({ format: 'png' }, jpeg, 'other', settings).quality, null)
})

test('the source format is kept when none is asked; exotic sources become JPEG or PNG', () => {
  assert.equal(planTransform({ width: 10 }, { ...jpeg, format: 'webp' }, 'other', settings).format, 'webp')
  assert.equal(planTransform({ width: 10 }, { ...jpeg, format: 'tiff' }, 'other', settings).format, 'jpeg')
  assert.equal(planTransform({ width: 10 }, { ...jpeg, format: 'tiff', hasAlpha: true }, 'other', settings).format, 'png')
  assert.equal(planTransform({ width: 10 }, { ...jpeg, format: 'heif', isAvif: true }, 'other', settings).format, 'avif')
})

test('animated only when the output can animate and nothing prevents it', () => {
  const gif: SourceInfo = { ...jpeg, format: 'gif', width: 100, height: 100, pages: 5 }
  assert.equal(planTransform({ width: 50 }, gif, 'other', settings).animated, true)
  assert.equal(planTransform({ width: 50, format: 'jpeg' }, gif, 'other', settings).animated, false)
  assert.equal(planTransform({ width: 50, rotate: 90 }, gif, 'other', settings).animated, false)
  assert.equal(planTransform({ width: 50 }, gif, 'other', { ...settings, maxSourcePixels: 40000 }).animated, false)
  assert.equal(planTransform({ width: 50, height: 50, focalPoint: [0.2, 0.8], rotate: 180 }, gif, 'other', settings).animated, true)
  const watermarked = planTransform({ width: 50 }, { ...gif, delay: [40, 40, 40, 40, 40], loop: 3 }, 'other', settings,
    { position: 'south', opacity: 1, widthRatio: 0.5, margin: 0 })
  assert.deepEqual([watermarked.animated, watermarked.frameDelays, watermarked.loop], [true, [40, 40, 40, 40, 40], 3])
})

test('an animation over LIMITS_MAX_ANIMATION_FRAMES or frames x pixels over LIMITS_MAX_OUTPUT_PIXELS is its first frame', () => {
  const gif: SourceInfo = { ...jpeg, format: 'gif', width: 100, height: 100, pages: 5 }
  const still = (t: Parameters<typeof planTransform>[0], limits: Partial<PlanSettings>) => {
    const plan = planTransform(t, gif, 'other', { ...settings, ...limits })
    return [plan.animated, plan.firstFrameOnly, plan.frames]
  }
  assert.deepEqual(still({ width: 50 }, { maxAnimationFrames: 5 }), [true, false, 5])
  assert.deepEqual(still({ width: 50 }, { maxAnimationFrames: 4 }), [false, true, 1])
  assert.deepEqual(still({ width: 50 }, { maxOutputPixels: 5 * 2500 }), [true, false, 5])
  assert.deepEqual(still({ width: 51 }, { maxOutputPixels: 5 * 2500 }), [false, true, 1])
  assert.deepEqual(still({ width: 50, format: 'jpeg' }, {}), [false, true, 1])
})

test('flattening happens only for alpha sources into formats without alpha', () => {
  const png: SourceInfo = { ...jpeg, format: 'png', hasAlpha: true }
  assert.deepEqual(planTransform({ format: 'jpeg' }, png, 'other', settings).flatten, { r: 255, g: 255, b: 255, alpha: 1 })
  assert.equal(planTransform({ format: 'webp' }, png, 'other', settings).flatten, null)
  assert.equal(planTransform({ format: 'jpeg' }, jpeg, 'other', settings).flatten, null)
})

test('focal point crop keeps the point as central as the edges allow', () => {
  const { resize, crop } = focalPointCrop({ width: 1000, height: 500 }, { width: 100, height: 100 }, [0.5, 0.5], false)
  assert.deepEqual([resize.width, resize.height], [200, 100])
  assert.deepEqual(crop, { left: 50, top: 0, width: 100, height: 100 })
  const edge = focalPointCrop({ width: 1000, height: 500 }, { width: 100, height: 100 }, [0, 1], false)
  assert.deepEqual(edge.crop, { left: 0, top: 0, width: 100, height: 100 })
  const right = focalPointCrop({ width: 1000, height: 500 }, { width: 100, height: 100 }, [1, 0], false)
  assert.deepEqual(right.crop, { left: 100, top: 0, width: 100, height: 100 })
})

test('focal point crop never enlarges unless asked', () => {
  const small = focalPointCrop({ width: 50, height: 40 }, { width: 100, height: 100 }, [0.5, 0.5], false)
  assert.deepEqual([small.resize.width, small.resize.height, small.crop.width, small.crop.height], [50, 40, 50, 40])
  const enlarged = focalPointCrop({ width: 50, height: 40 }, { width: 100, height: 100 }, [0.5, 0.5], true)
  assert.deepEqual([enlarged.crop.width, enlarged.crop.height], [100, 100])
})

test('colours: #rgb, rrggbb and rrggbbaa', () => {
  assert.deepEqual(parseColour('#f0a'), { r: 255, g: 0, b: 170, alpha: 1 })
  assert.deepEqual(parseColour('102030'), { r: 16, g: 32, b: 48, alpha: 1 })
  assert.deepEqual(parseColour('10203000'), { r: 16, g: 32, b: 48, alpha: 0 })
})

test('AVIF effort falls with the output size, so a large encode stays bounded', () => {
  assert.equal(avifEffort(400 * 300), 4)
  assert.equal(avifEffort(1600 * 1000), 2)
  assert.equal(avifEffort(4000 * 3000), 0)
  assert.equal(planTransform({ width: 400, format: 'avif' }, jpeg, 'other', settings).effort, 4)
  assert.equal(planTransform({ width: 1000, height: 1000, format: 'avif' }, jpeg, 'other', settings).effort, 2)
  assert.equal(planTransform({ format: 'avif' }, jpeg, 'other', settings).effort, 0)
  // From the real output: a tiny box with fit=outside still makes a large image.
  assert.equal(planTransform({ width: 10, height: 3000, fit: 'outside', format: 'avif' }, jpeg, 'other', settings).effort, 0)
  assert.equal(planTransform({ width: 20000, format: 'avif' }, { ...jpeg, width: 400, height: 300 }, 'other', settings).effort, 4)
})
