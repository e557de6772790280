import assert from 'node:assert/strict'
import { test } from 'node:test'
import { avifEffort, focalPointCrop, parseColour, planTransform, type PlanSettings } from '../../src/transform/plan.ts'
import type { SourceInfo } from '../../src/transform/probe.ts'

const settings: PlanSettings = { maxOutputDimension: 1000, maxSourcePixels: 1e8, quality: { jpeg: 81, webp: 82, avif: 61 }, avifEnabled: true }
const jpeg: SourceInfo = { format: 'jpeg', width: 4000, height: 3000, pages: 1, hasAlpha: false, isAvif: false }

test('dpr multiplies and the output limit scales the box as a whole', () => {
  const plan = planTransform({ width: 800, height: 400, dpr: 2 }, jpeg, 'other', settings)
  assert.equal(plan.resize?.width, 1000)
  assert.equal(plan.resize?.height, 500)
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
})
