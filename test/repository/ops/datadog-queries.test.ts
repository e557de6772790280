import assert from 'node:assert/strict'
import path from 'node:path'
import { before, describe, test } from 'node:test'
import { DOGSTATSD_AGENT_SETTINGS, agentEnvironment, histogramSuffixes } from '../../../infra/datadog/agent.ts'
import { renderDefinitions } from '../../../infra/datadog/render.ts'
import { agentConfig } from '../../../infra/cloudformation/stack.ts'
import { ENVIRONMENTS } from '../../../infra/cloudformation/environments.ts'
import { METRIC_NAMES } from '../../../src/observability/metric-names.ts'
import { checkReferences, emittedMetrics, metricReferences, seriesSource, type Emitted } from './emitted-metrics.ts'

const PREFIX = 'delivery_images.'
let emitted: Map<string, Emitted>
before(async () => { emitted = await emittedMetrics() })

describe('what the service emits', () => {
  test('unified service tags on every metric, no host tag, status_class on request.count', () => {
    for (const [name, metric] of emitted) {
      for (const tag of ['service', 'env', 'version']) assert.ok(metric.tags.has(tag), `${name} has ${tag}`)
      assert.ok(!metric.tags.has('host'), `${name} has no host tag`)
      assert.ok(!metric.tags.has('app'), `${name} has no legacy app tag`)
    }
    assert.ok(emitted.get(`${PREFIX}${METRIC_NAMES.requestCount}`)?.tags.has('status_class'))
  })

  test('request.duration is a timing: only the agent\'s aggregates and percentiles of it exist', () => {
    const duration = `${PREFIX}${METRIC_NAMES.requestDuration}`
    assert.deepEqual([...emitted.get(duration)?.types ?? []], ['ms'])
    assert.notEqual(seriesSource(`${duration}.99percentile`, emitted), null)
    assert.notEqual(seriesSource(`${duration}.95percentile`, emitted), null)
    assert.equal(seriesSource(`${duration}.75percentile`, emitted), null, 'not configured: the series would never exist')
    assert.equal(seriesSource(`${duration}.99percentile`, emitted, { histogram_aggregates: ['max', 'median', 'avg', 'count'], histogram_percentiles: ['0.95'] }), null,
      'with the agent\'s defaults there is no p99')
    assert.equal(seriesSource(duration, emitted), null, 'a timing has no series under its bare name')
  })
})

describe('the agent configuration', () => {
  test('percentiles 0.95 and 0.99 and the aggregates the queries use, also as a containerised agent\'s environment', () => {
    assert.deepEqual(DOGSTATSD_AGENT_SETTINGS.histogram_percentiles, ['0.95', '0.99'])
    assert.deepEqual(histogramSuffixes().filter((suffix) => suffix.endsWith('percentile')), ['.95percentile', '.99percentile'])
    assert.deepEqual(agentEnvironment(), { DD_HISTOGRAM_AGGREGATES: 'max median avg count sum min', DD_HISTOGRAM_PERCENTILES: '0.95 0.99' })
  })

  test('the instances\' datadog.yaml (stack.ts agentConfig) carries those settings', () => {
    for (const env of ENVIRONMENTS) {
      const config = agentConfig(env)
      assert.deepEqual(config.histogram_percentiles, DOGSTATSD_AGENT_SETTINGS.histogram_percentiles, env)
      assert.deepEqual(config.histogram_aggregates, DOGSTATSD_AGENT_SETTINGS.histogram_aggregates, env)
    }
  })
})

describe('monitors and dashboard', () => {
  test('every rendered query names only series that exist and tags those series carry', () => {
    const rendered = renderDefinitions(path.resolve(import.meta.dirname, '../../../infra/datadog'))
    assert.deepEqual(rendered.errors, [])
    const problems: string[] = []
    let checked = 0
    for (const [env, monitors] of Object.entries(rendered.monitors)) {
      for (const { file, body } of monitors) {
        const references = metricReferences(body.query)
        checked += references.length
        problems.push(...checkReferences(`monitor ${env}/${file}`, references, emitted, PREFIX))
      }
    }
    const variables = Object.fromEntries(rendered.dashboard.template_variables.map((variable) => [variable.name, variable.prefix]))
    for (const widget of rendered.dashboard.widgets) {
      for (const request of widget.definition.requests) {
        const references = metricReferences(request.q, variables)
        checked += references.length
        problems.push(...checkReferences(`widget '${widget.definition.title}'`, references, emitted, PREFIX))
      }
    }
    assert.deepEqual(problems, [])
    assert.ok(checked > 20, `${checked} references checked`)
  })

  test('the checks catch a missing percentile, a misspelt metric and a tag never sent', () => {
    const references = [
      ...metricReferences('max:delivery_images.request.duration.75percentile{env:pro}'),
      ...metricReferences('sum:delivery_images.request.cuont{env:pro}.as_count()'),
      ...metricReferences('sum:delivery_images.transform.queue.depth{$tenant}', { tenant: 'tenant' }),
      ...metricReferences('sum:delivery_images.request.count{host:i-1} by {status_class}')
    ]
    assert.deepEqual(checkReferences('q', references, emitted, PREFIX), [
      'q: delivery_images.request.duration.75percentile is no series the service and the agent produce',
      'q: delivery_images.request.cuont is no series the service and the agent produce',
      'q: delivery_images.transform.queue.depth never carries the tag tenant',
      'q: delivery_images.request.count never carries the tag host'
    ])
  })
})
