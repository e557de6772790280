import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, test, type TestContext } from 'node:test'
import { renderDefinitions, type DatadogMonitor } from '../../../infra/datadog/render.ts'

const DEFINITIONS = path.resolve(import.meta.dirname, '../../../infra/datadog')
const RENDER = path.join(DEFINITIONS, 'render.ts')

/** A copy of the real definitions with one edit, to show that the validation catches it. */
function definitionsWith (t: TestContext, file: 'monitors.yaml' | 'dashboard.yaml', edit: (text: string) => string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'datadog-definitions-'))
  t.after(() => { fs.rmSync(dir, { recursive: true, force: true }) })
  for (const name of ['monitors.yaml', 'dashboard.yaml']) {
    const text = fs.readFileSync(path.join(DEFINITIONS, name), 'utf8')
    const edited = name === file ? edit(text) : text
    if (name === file) assert.notEqual(edited, text, 'the edit must change the file')
    fs.writeFileSync(path.join(dir, name), edited)
  }
  return dir
}

function monitorNamed (monitors: Array<{ body: DatadogMonitor }> | undefined, prefix: string): DatadogMonitor | undefined {
  return monitors?.find(({ body }) => body.tags.includes(`monitor:${prefix}`))?.body
}

describe('infra/datadog monitors and dashboard', () => {
  test('the definitions render to valid Datadog API bodies for pre and pro', () => {
    const rendered = renderDefinitions(DEFINITIONS)
    assert.deepEqual(rendered.errors, [])
    assert.deepEqual(Object.keys(rendered.monitors).sort(), ['pre', 'pro'])
    for (const monitors of Object.values(rendered.monitors)) {
      for (const { body } of monitors) {
        assert.equal(body.type, 'query alert')
        assert.ok(body.name !== '' && body.message !== '')
        assert.ok(!/\{\{(env|region|breaker|critical|warning)\}\}/.test(JSON.stringify(body)), body.name)
      }
    }
  })

  test('the 5xx and healthy-host monitors exist per region, with per-environment thresholds', () => {
    const { monitors } = renderDefinitions(DEFINITIONS)
    const proRegions = (monitors.pro ?? []).filter(({ body }) => body.tags.includes('monitor:lb-5xx-rate')).map(({ body }) => body.tags.at(-1))
    assert.deepEqual(proRegions, ['region:eu-west-1', 'region:us-east-1'])
    const proHosts = monitorNamed(monitors.pro, 'healthy-hosts')
    const preHosts = monitorNamed(monitors.pre, 'healthy-hosts')
    assert.deepEqual(proHosts?.options.thresholds, { warning: 3, critical: 2 })
    assert.deepEqual(preHosts?.options.thresholds, { critical: 1 })
    assert.match(proHosts?.query ?? '', /< 2$/)
    const pro5xx = monitorNamed(monitors.pro, 'lb-5xx-rate')
    assert.deepEqual(pro5xx?.options.thresholds, { warning: 1, critical: 5 })
    assert.match(pro5xx?.query ?? '', /region:eu-west-1/)
  })

  test('pro pages on critical, pre never pages', () => {
    const { monitors } = renderDefinitions(DEFINITIONS)
    assert.match(monitorNamed(monitors.pro, 'lb-5xx-rate')?.message ?? '', /@pagerduty-delivery-images/)
    for (const { body } of monitors.pre ?? []) assert.doesNotMatch(body.message, /@pagerduty|@opsgenie/i, body.name)
  })

  test('latency, rejections, each breaker and the cache hit ratio are watched', () => {
    const pro = renderDefinitions(DEFINITIONS).monitors.pro ?? []
    const queries = pro.map(({ body }) => body.query)
    assert.ok(queries.some((query) => query.includes('delivery_images.request.duration.99percentile')))
    assert.ok(queries.some((query) => query.includes('delivery_images.transform.rejected')))
    for (const breaker of ['logic', 'alias', 'watermark', 'origin']) {
      assert.ok(queries.some((query) => query.includes(`delivery_images.breaker.${breaker}.open`)), breaker)
    }
    assert.match(monitorNamed(pro, 'cache-hit-ratio')?.query ?? '', /transformation\.cache\.hit.*transformation\.cache\.miss.*< 50$/)
  })

  test('the dashboard charts status, latency, cache ratio, transformation time, queue depth and breakers', () => {
    const { dashboard } = renderDefinitions(DEFINITIONS)
    assert.equal(dashboard.layout_type, 'ordered')
    const queries = dashboard.widgets.flatMap((widget) => widget.definition.requests.map((request) => request.q)).join('\n')
    for (const expected of [
      'request.count{$env,$region,$tenant} by {status}',
      'request.duration.99percentile',
      'transformation.cache.miss',
      'request.transformation.duration',
      'transform.queue.depth',
      'breaker.origin.open'
    ]) assert.ok(queries.includes(expected), expected)
  })

  test('a warning on the wrong side of critical is refused', (t) => {
    const dir = definitionsWith(t, 'monitors.yaml', (text) => text.replace('{ warning: 1, critical: 5 }', '{ warning: 8, critical: 5 }'))
    assert.match(renderDefinitions(dir).errors.join('\n'), /warning 8 must be below critical 5/)
  })

  test('a metric the service does not define is refused', (t) => {
    const dir = definitionsWith(t, 'dashboard.yaml', (text) => text.replace('transform.queue.depth', 'transform.queue.size'))
    assert.match(renderDefinitions(dir).errors.join('\n'), /unknown metric 'delivery_images\.transform\.queue\.size'/)
  })

  test('a page handle in pre is refused', (t) => {
    const dir = definitionsWith(t, 'monitors.yaml', (text) => text.replace("notify: ['@slack-images-pre']", "notify: ['@slack-images-pre', '@pagerduty-delivery-images']"))
    assert.match(renderDefinitions(dir).errors.join('\n'), /\[pre\].*pages in an environment that may not page/)
  })

  test('a query without comparator, or with broken parentheses, is refused', (t) => {
    const noComparator = definitionsWith(t, 'monitors.yaml', (text) => text.replace('.as_count() > {{critical}}\n    thresholds: { warning: 10', '.as_count()\n    thresholds: { warning: 10'))
    assert.match(renderDefinitions(noComparator).errors.join('\n'), /query must be/)
    const unbalanced = definitionsWith(t, 'dashboard.yaml', (text) => text.replace('/ ( sum:', '/ (( sum:'))
    assert.match(renderDefinitions(unbalanced).errors.join('\n'), /unbalanced parentheses/)
  })

  test('a document missing a required field is refused by its schema', (t) => {
    const dir = definitionsWith(t, 'monitors.yaml', (text) => text.replace(/^runbook: .*\n/m, ''))
    assert.match(renderDefinitions(dir).errors.join('\n'), /monitors\.yaml: must have required property 'runbook'/)
  })

  test('the command writes the JSON files, and exits 1 on invalid definitions', (t) => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'datadog-out-'))
    t.after(() => { fs.rmSync(out, { recursive: true, force: true }) })
    const ok = spawnSync(process.execPath, [RENDER, '--out', out], { encoding: 'utf8' })
    assert.equal(ok.status, 0, ok.stderr)
    const written = JSON.parse(fs.readFileSync(path.join(out, 'monitors/pro/latency-p99.json'), 'utf8')) as DatadogMonitor
    assert.equal(written.options.thresholds.critical, 3000)
    assert.ok(fs.existsSync(path.join(out, 'dashboard.json')))

    const broken = definitionsWith(t, 'monitors.yaml', (text) => text.replace('{ warning: 70, critical: 50 }', '{ warning: 40, critical: 50 }'))
    const failed = spawnSync(process.execPath, [RENDER, '--dir', broken, '--out', path.join(broken, 'out')], { encoding: 'utf8' })
    assert.equal(failed.status, 1)
    assert.match(failed.stderr, /^invalid: .*warning 40 must be above critical 50/m)
    assert.equal(fs.existsSync(path.join(broken, 'out')), false)
  })
})
