import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { before, describe, test } from 'node:test'
import { CANARY_CONFIG_NAME, WEBHOOK_SOURCE, buildCanaryConfig, renderFiles, sampleImages, type Stage } from '../../../infra/spinnaker/pipeline.ts'
import { SETTINGS } from '../../../infra/cloudformation/environments.ts'
import { buildTemplate, scaleInHeartbeatSeconds } from '../../../infra/cloudformation/stack.ts'
import { checkReferences, emittedMetrics, type Emitted } from './emitted-metrics.ts'
import { ROOT, readJson, schemaProblems } from './schemas.ts'

const PIPELINE = 'infra/spinnaker/pipelines/build-to-pro.json'
const CANARY = `infra/spinnaker/canary-configs/${CANARY_CONFIG_NAME}.json`

interface Pipeline { stages: Stage[], triggers: Array<{ type: string, source?: string }> }
interface CanaryConfig {
  metrics: Array<{ name: string, groups: string[], query: { metricName: string, metricType?: string, tags?: string[] } }>
  classifier: { groupWeights: Record<string, number> }
}

let emitted: Map<string, Emitted>
before(async () => { emitted = await emittedMetrics() })

const pipeline = readJson(PIPELINE) as Pipeline
const byType = (type: string): Stage[] => pipeline.stages.filter((stage) => stage.type === type)

describe('Spinnaker pipeline and Kayenta canary config', () => {
  test('the committed JSON is what infra/spinnaker/pipeline.ts generates', () => {
    for (const [file, text] of Object.entries(renderFiles())) {
      assert.equal(fs.readFileSync(file, 'utf8'), text, `${path.relative(ROOT, file)} is stale: run node infra/spinnaker/pipeline.ts`)
    }
  })

  test('both files satisfy their schemas', () => {
    assert.deepEqual(schemaProblems('spinnaker-pipeline.schema.json', pipeline), [])
    assert.deepEqual(schemaProblems('kayenta-canary-config.schema.json', readJson(CANARY)), [])
  })

  test('the schemas refuse what Spinnaker and Kayenta would refuse', () => {
    const canary = structuredClone(pipeline)
    const stage = canary.stages.find((candidate) => candidate.type === 'kayentaCanary') as { canaryConfig: { scoreThresholds: Record<string, unknown> } } | undefined
    assert.ok(stage !== undefined)
    stage.canaryConfig.scoreThresholds = { pass: 95 }
    assert.ok(schemaProblems('spinnaker-pipeline.schema.json', canary).length >= 2)
    const config = structuredClone(buildCanaryConfig()) as unknown as CanaryConfig & { metrics: Array<{ query: { type: string } }> }
    const [first] = config.metrics
    assert.ok(first !== undefined)
    first.query.type = 'prometheus'
    assert.notDeepEqual(schemaProblems('kayenta-canary-config.schema.json', config), [])
  })

  test('stages form a graph: unique refIds, known requisites, no cycle, one start', () => {
    const ids = new Set(pipeline.stages.map((stage) => stage.refId))
    assert.equal(ids.size, pipeline.stages.length)
    for (const stage of pipeline.stages) for (const id of stage.requisiteStageRefIds) assert.ok(ids.has(id), `${stage.refId} needs unknown ${id}`)
    const done = new Set<string>()
    while (done.size < ids.size) {
      const ready = pipeline.stages.filter((stage) => !done.has(stage.refId) && stage.requisiteStageRefIds.every((id) => done.has(id)))
      assert.ok(ready.length > 0, 'a cycle')
      for (const stage of ready) done.add(stage.refId)
    }
    assert.deepEqual(pipeline.stages.filter((stage) => stage.requisiteStageRefIds.length === 0).map((stage) => stage.type), ['bake'])
  })

  test('order: bake → pre → smoke tests → canary → promote, cleanup after the canary either way', () => {
    const after = (refId: string): Set<string> => {
      const seen = new Set<string>()
      const visit = (id: string): void => {
        for (const stage of pipeline.stages.filter((candidate) => candidate.requisiteStageRefIds.includes(id))) {
          if (!seen.has(stage.refId)) { seen.add(stage.refId); visit(stage.refId) }
        }
      }
      visit(refId)
      return seen
    }
    const canary = byType('kayentaCanary')[0]
    assert.ok(canary !== undefined)
    assert.ok(after('pre-deploy').has(canary.refId))
    assert.ok(after(canary.refId).has('pro-deploy'))
    assert.ok(!after('pro-deploy').has(canary.refId))
    for (const cleanup of byType('destroyServerGroup')) assert.deepEqual(cleanup.requisiteStageRefIds, [canary.refId])
    assert.equal(canary.failPipeline, false, 'the cleanup runs after a failed canary; the verdict stage fails the pipeline')
  })

  test('smoke tests: /healthcheck and one image per sample bucket, in pre and in pro', () => {
    const urls = byType('webhook').map((stage) => String(stage.url))
    const images = sampleImages()
    assert.ok(images.length >= 2, 'demo/news/photos and demo/sport/photos')
    for (const env of ['pre', 'pro']) {
      assert.ok(urls.includes(`\${parameters['${env}BaseUrl']}/healthcheck`), env)
      for (const image of images) assert.ok(urls.includes(`\${parameters['${env}BaseUrl']}${image.path}`), `${env} ${image.bucket}`)
    }
  })

  test('canary server groups use the stack\'s scale-in lifecycle hook and target group', () => {
    const stackHook = Object.values(buildTemplate('pro').Resources ?? {}).find((resource) => resource.Type === 'AWS::AutoScaling::LifecycleHook')
    const properties = (stackHook as unknown as { Properties: Record<string, unknown> }).Properties
    const clusters = byType('deploy').flatMap((stage) => stage.clusters as Array<{ lifecycleHooks: unknown[], targetGroups: string[] }>)
    assert.equal(clusters.length, 2)
    for (const cluster of clusters) {
      assert.deepEqual(cluster.lifecycleHooks, [{
        lifecycleTransition: properties.LifecycleTransition,
        heartbeatTimeout: scaleInHeartbeatSeconds(SETTINGS.pro),
        defaultResult: properties.DefaultResult
      }])
      assert.equal(properties.HeartbeatTimeout, scaleInHeartbeatSeconds(SETTINGS.pro))
      assert.deepEqual(cluster.targetGroups, ['delivery-images-pro'])
    }
  })

  test('Kayenta: thresholds marginal < pass, group weights total 100 and cover every group', () => {
    const canary = byType('kayentaCanary')[0] as unknown as { canaryConfig: { canaryConfigId: string, scoreThresholds: { marginal: string, pass: string } } }
    assert.equal(canary.canaryConfig.canaryConfigId, CANARY_CONFIG_NAME)
    assert.ok(Number(canary.canaryConfig.scoreThresholds.marginal) < Number(canary.canaryConfig.scoreThresholds.pass))
    const config = readJson(CANARY) as CanaryConfig
    const weights = config.classifier.groupWeights
    assert.equal(Object.values(weights).reduce((sum, weight) => sum + weight, 0), 100)
    assert.deepEqual(new Set(config.metrics.flatMap((metric) => metric.groups)), new Set(Object.keys(weights)))
  })

  test('every canary metric is a series the service emits, with the tags it filters on', () => {
    const config = readJson(CANARY) as CanaryConfig
    const names = config.metrics.map((metric) => metric.query.metricName.replace(/^(avg|sum|min|max):/, ''))
    for (const wanted of ['request.count', 'request.duration.99percentile', 'transform.rejected', 'breaker.origin.open']) {
      assert.ok(names.includes(`delivery_images.${wanted}`), wanted)
    }
    const problems = config.metrics.flatMap((metric) => {
      // Kayenta's query: <metricName>{<scope>,<tags>}; counts get sum: and .as_count().
      const query = `${metric.query.metricType === 'count' ? 'sum:' : ''}${metric.query.metricName}{autoscaling_group:x,${(metric.query.tags ?? []).join(',')}}`
      const [, series = '', filters = ''] = /^(?:(?:avg|sum|min|max):)+([^{]+)\{(.*)\}$/.exec(query) ?? []
      const tags = filters.split(',').filter((filter) => filter !== '').map((filter) => filter.replace(/^!/, '').split(':')[0] ?? '')
      return checkReferences(metric.name, [{ metric: series, tags, groups: [] }], emitted, 'delivery_images.')
    })
    assert.deepEqual(problems, [])
  })

  test('_script/deploy triggers the pipeline\'s webhook with the fields its expressions read', () => {
    const [trigger] = pipeline.triggers
    assert.deepEqual([trigger?.type, trigger?.source], ['webhook', WEBHOOK_SOURCE])
    const deploy = fs.readFileSync(path.join(ROOT, '_script/deploy'), 'utf8')
    assert.match(deploy, /webhooks\/webhook\/\$SERVICE"/)
    assert.match(fs.readFileSync(path.join(ROOT, '_script/lib.sh'), 'utf8'), new RegExp(`^SERVICE=${WEBHOOK_SOURCE}$`, 'm'))
    const text = JSON.stringify(pipeline)
    for (const field of text.matchAll(/trigger\['payload'\]\['(\w+)'\]/g)) assert.match(deploy, new RegExp(`\\b${field[1] ?? ''}:`), `payload field ${field[1] ?? ''}`)
  })
})
