/* eslint-disable no-template-curly-in-string -- ${…} in these strings is Spinnaker's pipeline expression syntax */
/**
 * The delivery pipeline as code: Spinnaker's pipeline JSON and Kayenta's canary configuration,
 * generated from the values the CloudFormation stack is built from, so that both agree on names,
 * ports and the scale-in timing:
 *
 *   node infra/spinnaker/pipeline.ts          writes pipelines/ and canary-configs/
 *   node infra/spinnaker/pipeline.ts --check  exits 1 when a committed file is out of date
 *
 * bake (the RPM into an AMI) → pre (AMI parameter, stack update) → smoke tests → on master only:
 * baseline + canary server groups in pro → Kayenta analysis → promote (pro stack update, smoke
 * tests, AMI tag) or roll back (the canary groups are destroyed either way; pro is untouched
 * unless the canary passed).
 */
import fs from 'node:fs'
import path from 'node:path'
import { SETTINGS, type Environment } from '../cloudformation/environments.ts'
import { HEALTH_CHECK_PATH, SERVICE, scaleInHeartbeatSeconds } from '../cloudformation/stack.ts'
import { METRIC_NAMES, breakerMetricName } from '../../src/observability/metric-names.ts'
import { writeGenerated } from '../../scripts/generated-files.ts'

export const PIPELINES_DIR = path.join(import.meta.dirname, 'pipelines')
export const CANARY_CONFIGS_DIR = path.join(import.meta.dirname, 'canary-configs')
const ROOT = path.resolve(import.meta.dirname, '../..')

const PREFIX = 'delivery_images.'
const REGIONS: Record<Environment, string[]> = { pre: ['eu-west-1'], pro: ['eu-west-1', 'us-east-1'] }
/** The AWS accounts as Spinnaker (clouddriver) names them. */
const ACCOUNTS: Record<Environment, string> = { pre: 'aws-pre', pro: 'aws-pro' }
/** `_script/deploy` posts to <gate>/webhooks/webhook/<source>. */
export const WEBHOOK_SOURCE = SERVICE
export const CANARY_CONFIG_NAME = `${SERVICE}-canary`
/** Only master goes past pre. */
const ON_MASTER = "${trigger['payload']['branch'] == 'master'}"
const CANARY_PASSED = "${#stage('Canary analysis')['status'].toString() == 'SUCCEEDED'}"

export interface Stage {
  refId: string
  requisiteStageRefIds: string[]
  type: string
  name: string
  [field: string]: unknown
}

/** Every sample bucket (config/local-logic.json) with an original in data/originals: one smoke test each. */
export function sampleImages (): Array<{ bucket: string, path: string }> {
  const logic = JSON.parse(fs.readFileSync(path.join(ROOT, 'config/local-logic.json'), 'utf8')) as { buckets: Record<string, { rules?: Record<string, unknown> }> }
  const images: Array<{ bucket: string, path: string }> = []
  for (const [key, bucket] of Object.entries(logic.buckets)) {
    const dir = path.join(ROOT, 'data/originals', key)
    if (key.includes('*') || !fs.existsSync(dir)) continue
    const [image] = fs.readdirSync(dir).filter((file) => /\.(jpe?g|png)$/.test(file)).sort()
    if (image === undefined) continue
    const [tenant, domain, name] = key.split('/')
    // A rule needs no signature, whatever the bucket's ad-hoc policy.
    const [rule] = Object.keys(bucket.rules ?? {})
    images.push({ bucket: key, path: `/tenants/${tenant}/domains/${domain}/buckets/${name}/images/${image}${rule === undefined ? '' : `?rule=${rule}`}` })
  }
  return images
}

function smokeTests (env: Environment, after: string, refPrefix: string, enabled?: string): Stage[] {
  const urls = [{ name: 'healthcheck', path: HEALTH_CHECK_PATH }, ...sampleImages().map((image) => ({ name: image.bucket, path: image.path }))]
  return urls.map((url, index) => ({
    refId: `${refPrefix}${index + 1}`,
    requisiteStageRefIds: [after],
    type: 'webhook',
    name: `Smoke test ${env}: ${url.name}`,
    method: 'GET',
    url: `\${parameters['${env}BaseUrl']}${url.path}`,
    customHeaders: { Accept: 'image/webp,image/*' },
    // A non-2xx fails the stage, and with it the pipeline.
    failFastStatusCodes: [400, 403, 404, 500, 502, 503, 504],
    statusUrlResolution: 'getMethod',
    waitForCompletion: false,
    ...(enabled === undefined ? {} : { stageEnabled: { type: 'expression', expression: enabled } })
  }))
}

/**
 * One stage per region writing that region's baked AMI into the SSM parameter the stack's
 * `ImageId` reads (an AMI id is regional).
 */
function publishAmi (env: Environment, refPrefix: string, after: string[], enabled?: string): Stage[] {
  return REGIONS[env].map((region) => ({
    refId: `${refPrefix}-${region}`,
    requisiteStageRefIds: after,
    type: 'deployCloudFormation',
    name: `Publish AMI to ${env} ${region}`,
    credentials: ACCOUNTS[env],
    regions: [region],
    stackName: `${SERVICE}-${env}-ami`,
    source: 'text',
    templateBody: {
      AWSTemplateFormatVersion: '2010-09-09',
      Parameters: { ImageId: { Type: 'AWS::EC2::Image::Id' } },
      Resources: {
        AmiParameter: { Type: 'AWS::SSM::Parameter', Properties: { Name: `/${SERVICE}/${env}/ami-id`, Type: 'String', DataType: 'aws:ec2:image', Value: { Ref: 'ImageId' } } }
      }
    },
    parameters: { ImageId: `\${#stage('Bake AMI')['context']['deploymentDetails'].?[region == '${region}'][0]['imageId']}` },
    capabilities: [],
    ...(enabled === undefined ? {} : { stageEnabled: { type: 'expression', expression: enabled } })
  }))
}

/** The stack update: the launch template takes the new AMI, the ASG replaces instances one at a time. */
function deployStack (env: Environment, refId: string, after: string[], enabled?: string): Stage {
  return {
    refId,
    requisiteStageRefIds: after,
    type: 'deployCloudFormation',
    name: `Deploy ${env}`,
    credentials: ACCOUNTS[env],
    regions: REGIONS[env],
    stackName: `${SERVICE}-${env}`,
    source: 'artifact',
    stackArtifactId: `${env}-template`,
    stackArtifactAccount: 'github',
    capabilities: ['CAPABILITY_IAM'],
    ...(enabled === undefined ? {} : { stageEnabled: { type: 'expression', expression: enabled } })
  }
}

/**
 * A one-instance server group in pro behind the stack's target group. Its scale-in lifecycle hook
 * is the stack's (same transition, heartbeat and default), so destroying it drains like a scale-in.
 */
function canaryCluster (role: 'baseline' | 'canary', image: string): Record<string, unknown> {
  const settings = SETTINGS.pro
  return {
    provider: 'aws',
    account: ACCOUNTS.pro,
    application: SERVICE,
    stack: 'pro',
    freeFormDetails: role,
    strategy: '',
    capacity: { min: 1, max: 1, desired: 1 },
    availabilityZones: { 'eu-west-1': ['eu-west-1a', 'eu-west-1b', 'eu-west-1c'] },
    instanceType: settings.instanceType,
    amiName: image,
    iamRole: `${SERVICE}-pro-instance-profile`,
    securityGroups: [`${SERVICE}-pro-instance`],
    targetGroups: [`${SERVICE}-pro`],
    subnetType: 'private',
    healthCheckType: 'ELB',
    healthCheckGracePeriod: 90,
    lifecycleHooks: [{
      lifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      heartbeatTimeout: scaleInHeartbeatSeconds(settings),
      defaultResult: 'CONTINUE'
    }],
    tags: { service: SERVICE, env: 'pro', canary_role: role }
  }
}

export function buildPipeline (): Record<string, unknown> {
  const analysis = { lifetimeMinutes: 60, beginAfterMinutes: 10, intervalMinutes: 15 }
  const stages: Stage[] = [
    {
      refId: 'bake',
      requisiteStageRefIds: [],
      type: 'bake',
      name: 'Bake AMI',
      cloudProviderType: 'aws',
      // The RPM _script/deploy uploaded (with its sumologic-config and Datadog agent dependencies).
      package: SERVICE,
      baseOs: 'amazonlinux2023',
      baseLabel: 'release',
      regions: [...new Set([...REGIONS.pre, ...REGIONS.pro])],
      storeType: 'ebs',
      vmType: 'hvm',
      extendedAttributes: { rpm_version: "${trigger['payload']['version']}" }
    },
    ...publishAmi('pre', 'pre-ami', ['bake']),
    deployStack('pre', 'pre-deploy', REGIONS.pre.map((region) => `pre-ami-${region}`)),
    ...smokeTests('pre', 'pre-deploy', 'pre-smoke-')
  ]
  const preSmoke = stages.filter((stage) => stage.refId.startsWith('pre-smoke-')).map((stage) => stage.refId)
  stages.push(
    {
      refId: 'baseline-image',
      requisiteStageRefIds: preSmoke,
      type: 'findImageFromTags',
      name: 'Find the pro image (baseline)',
      cloudProvider: 'aws',
      cloudProviderType: 'aws',
      packageName: SERVICE,
      regions: ['eu-west-1'],
      // upsertImageTags below marks each promoted AMI; the newest so marked is what pro runs.
      tags: { promoted: 'pro' },
      stageEnabled: { type: 'expression', expression: ON_MASTER }
    },
    {
      refId: 'canary-deploy',
      requisiteStageRefIds: ['baseline-image'],
      type: 'deploy',
      name: 'Deploy baseline and canary to pro',
      clusters: [
        canaryCluster('baseline', "${#stage('Find the pro image (baseline)')['context']['amiDetails'][0]['imageName']}"),
        canaryCluster('canary', "${#stage('Bake AMI')['context']['deploymentDetails'].?[region == 'eu-west-1'][0]['imageName']}")
      ],
      stageEnabled: { type: 'expression', expression: ON_MASTER }
    },
    {
      refId: 'canary',
      requisiteStageRefIds: ['canary-deploy'],
      type: 'kayentaCanary',
      name: 'Canary analysis',
      analysisType: 'realTime',
      canaryConfig: {
        canaryConfigId: CANARY_CONFIG_NAME,
        metricsAccountName: 'datadog',
        storageAccountName: 'kayenta-s3',
        lifetimeDuration: `PT${analysis.lifetimeMinutes}M`,
        beginCanaryAnalysisAfterMins: String(analysis.beginAfterMinutes),
        canaryAnalysisIntervalMins: String(analysis.intervalMinutes),
        // Datadog scope: each server group's ASG, a host tag of every metric its instances send.
        scopes: [{
          scopeName: 'default',
          // (one of each exists at a time: the cleanup stages destroy them at the end of every run)
          controlScope: `autoscaling_group:${SERVICE}-pro-baseline-*`,
          experimentScope: `autoscaling_group:${SERVICE}-pro-canary-*`,
          controlLocation: 'eu-west-1',
          experimentLocation: 'eu-west-1',
          extendedScopeParams: {}
        }],
        // Below marginal: fail at once; between marginal and pass: the next interval decides; the
        // last interval must reach pass.
        scoreThresholds: { marginal: '75', pass: '95' }
      },
      // The pipeline goes on either way: cleanup always runs, then the last stage fails the pipeline.
      failPipeline: false,
      continuePipeline: true,
      stageEnabled: { type: 'expression', expression: ON_MASTER }
    },
    ...publishAmi('pro', 'pro-ami', ['canary'], CANARY_PASSED),
    deployStack('pro', 'pro-deploy', REGIONS.pro.map((region) => `pro-ami-${region}`), CANARY_PASSED),
    ...smokeTests('pro', 'pro-deploy', 'pro-smoke-', CANARY_PASSED)
  )
  const proSmoke = stages.filter((stage) => stage.refId.startsWith('pro-smoke-')).map((stage) => stage.refId)
  stages.push(
    {
      refId: 'tag-image',
      requisiteStageRefIds: proSmoke,
      type: 'upsertImageTags',
      name: 'Tag the AMI as promoted to pro',
      cloudProvider: 'aws',
      amiName: "${#stage('Bake AMI')['context']['deploymentDetails'][0]['imageName']}",
      regions: REGIONS.pro,
      tags: { promoted: 'pro' },
      stageEnabled: { type: 'expression', expression: CANARY_PASSED }
    },
    ...(['baseline', 'canary'] as const).map((role): Stage => ({
      refId: `cleanup-${role}`,
      requisiteStageRefIds: ['canary'],
      type: 'destroyServerGroup',
      name: `Destroy the ${role} server group`,
      cloudProvider: 'aws',
      cloudProviderType: 'aws',
      credentials: ACCOUNTS.pro,
      cluster: `${SERVICE}-pro-${role}`,
      regions: ['eu-west-1'],
      target: 'current_asg_dynamic',
      stageEnabled: { type: 'expression', expression: ON_MASTER }
    })),
    {
      refId: 'verdict',
      requisiteStageRefIds: ['cleanup-baseline', 'cleanup-canary', 'tag-image'],
      type: 'checkPreconditions',
      name: 'Canary verdict',
      preconditions: [{ type: 'expression', failPipeline: true, context: { expression: "${trigger['payload']['branch'] != 'master' || #stage('Canary analysis')['status'].toString() == 'SUCCEEDED'}", failureMessage: 'The canary failed: pro was not changed (rolled back to the baseline).' } }]
    }
  )
  return {
    application: SERVICE,
    name: 'build-to-pro',
    description: 'Bake the RPM, deploy to pre, smoke test, canary in pro with Kayenta, promote or roll back (generated by infra/spinnaker/pipeline.ts)',
    keepWaitingPipelines: false,
    limitConcurrent: true,
    parameterConfig: [
      { name: 'preBaseUrl', label: 'pre base URL', default: 'https://images.pre.acme.example', required: true, description: 'Smoke tests in pre go here' },
      { name: 'proBaseUrl', label: 'pro base URL', default: 'https://images.acme.example', required: true, description: 'Smoke tests in pro go here' }
    ],
    triggers: [{ type: 'webhook', enabled: true, source: WEBHOOK_SOURCE, payloadConstraints: { service: SERVICE } }],
    expectedArtifacts: (['pre', 'pro'] as const).map((env) => ({
      id: `${env}-template`,
      displayName: `${env}.json`,
      useDefaultArtifact: false,
      usePriorArtifact: false,
      matchArtifact: { type: 'github/file', name: `infra/cloudformation/templates/${env}.json` }
    })),
    notifications: [{ type: 'slack', address: 'images-deploys', level: 'pipeline', when: ['pipeline.failed', 'pipeline.complete'] }],
    stages
  }
}

/**
 * Kayenta's canary configuration over the service's own DogStatsD metrics: the 5xx count (baseline
 * and canary take equal shares of the target group's traffic, so counts compare as shares), the p99
 * latency, transform rejections and breaker opens.
 */
export function buildCanaryConfig (): Record<string, unknown> {
  const replaceNan = { nanStrategy: 'replace' }
  const metric = (name: string, group: string, query: Record<string, unknown>, canary: Record<string, unknown>): Record<string, unknown> => ({
    name, groups: [group], scopeName: 'default', query: { type: 'datadog', serviceType: 'datadog', ...query }, analysisConfigurations: { canary }
  })
  return {
    name: CANARY_CONFIG_NAME,
    description: `${SERVICE}: 5xx, p99 latency, transform rejections, breaker opens (generated by infra/spinnaker/pipeline.ts)`,
    configVersion: '1',
    applications: [SERVICE],
    judge: { name: 'NetflixACAJudge-v1.0', judgeConfigurations: {} },
    metrics: [
      metric('5xx responses', 'Errors',
        { metricName: `${PREFIX}${METRIC_NAMES.requestCount}`, metricType: 'count', tags: ['status_class:5xx'] },
        { direction: 'increase', ...replaceNan, critical: true, effectSize: { allowedIncrease: 1.1, criticalIncrease: 2 } }),
      metric('p99 latency', 'Latency',
        { metricName: `max:${PREFIX}${METRIC_NAMES.requestDuration}.99percentile`, metricType: 'gauge', tags: ['!route:unmatched'] },
        { direction: 'increase', nanStrategy: 'remove', mustHaveData: true, effectSize: { allowedIncrease: 1.2 } }),
      metric('transform rejections', 'Saturation',
        { metricName: `${PREFIX}${METRIC_NAMES.transformRejected}`, metricType: 'count', tags: [] },
        { direction: 'increase', ...replaceNan, effectSize: { allowedIncrease: 1.5 } }),
      ...(['origin', 'logic'] as const).map((breaker) => metric(`${breaker} breaker opens`, 'Dependencies',
        { metricName: `${PREFIX}${breakerMetricName(breaker, 'open')}`, metricType: 'count', tags: [] },
        { direction: 'increase', ...replaceNan }))
    ],
    templates: {},
    classifier: { groupWeights: { Errors: 40, Latency: 30, Saturation: 15, Dependencies: 15 } }
  }
}

export function renderFiles (): Record<string, string> {
  const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`
  return {
    [path.join(PIPELINES_DIR, 'build-to-pro.json')]: json(buildPipeline()),
    [path.join(CANARY_CONFIGS_DIR, `${CANARY_CONFIG_NAME}.json`)]: json(buildCanaryConfig())
  }
}

function main (argv: string[]): number {
  return writeGenerated(renderFiles(), argv, 'node infra/spinnaker/pipeline.ts')
}

if (import.meta.main) process.exitCode = main(process.argv.slice(2))
