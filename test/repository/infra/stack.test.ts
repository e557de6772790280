// The CloudFormation templates are generated from TypeScript (infra/cloudformation/stack.ts):
// these tests generate them and check the properties the service's lifecycle depends on.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { describe, test } from 'node:test'
import { promisify } from 'node:util'
import { parse } from 'yaml'
import { ENVIRONMENTS, SETTINGS, type Environment } from '../../../infra/cloudformation/environments.ts'
import { writeTemplates } from '../../../infra/cloudformation/generate.ts'
import {
  ADMIN_PORT, HEALTH_CHECK_INTERVAL_S, SYSTEMD_TIMEOUT_STOP_S, UNHEALTHY_THRESHOLD, renderTemplate
} from '../../../infra/cloudformation/stack.ts'

const ROOT = path.resolve(import.meta.dirname, '../../..')

interface Resource { Type: string, Properties: Record<string, any>, UpdatePolicy?: Record<string, any> }
interface Json { Parameters: Record<string, { Type: string, Default?: string }>, Resources: Record<string, Resource>, Outputs: Record<string, unknown> }

const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'templates-'))
await writeTemplates(ENVIRONMENTS, dir)
const templates = Object.fromEntries(await Promise.all(ENVIRONMENTS.map(async (env) =>
  [env, JSON.parse(await fs.readFile(path.join(dir, `${env}.json`), 'utf8')) as Json] as const)))
await fs.rm(dir, { recursive: true })

function only (template: Json, type: string): Resource {
  const found = Object.values(template.Resources).filter((resource) => resource.Type === type)
  assert.equal(found.length, 1, `one ${type}`)
  return found[0] as Resource
}

function attribute (resource: Resource, key: string, field: string): string | undefined {
  const list = resource.Properties[field] as Array<{ Key: string, Value: string }>
  return list.find((entry) => entry.Key === key)?.Value
}

function ofType (template: Json, type: string): Array<[string, Resource]> {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type)
}

// An ALB path pattern as a RegExp: * is any run of characters (slashes included), ? exactly one.
function pathPattern (pattern: string): RegExp {
  const source = [...pattern].map((char) => char === '*' ? '.*' : char === '?' ? '.' : char.replace(/[.+^${}()|[\]\\]/g, '\\$&')).join('')
  return new RegExp(`^${source}$`)
}

interface Rule { Priority: number, Conditions: Array<{ Field: string, PathPatternConfig: { Values: string[] } }>, Actions: Array<Record<string, any>> }

// The action the HTTPS listener takes for a path: its rules by ascending priority, then its default.
function actionFor (template: Json, path: string): Record<string, any> {
  const rules = ofType(template, 'AWS::ElasticLoadBalancingV2::ListenerRule')
    .map(([, resource]) => resource.Properties as Rule)
    .sort((a, b) => a.Priority - b.Priority)
  const rule = rules.find((candidate) => candidate.Conditions.every((condition) =>
    condition.PathPatternConfig.Values.some((value) => pathPattern(value).test(path))))
  return (rule?.Actions ?? template.Resources.HttpsListener?.Properties.DefaultActions)?.[0] as Record<string, any>
}

// Every name a template refers to (Ref, GetAtt, ${Name} in Sub), to check that each one exists.
function references (node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) {
    for (const item of node) references(item, found)
  } else if (node !== null && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'Ref') found.add(String(value))
      else if (key === 'Fn::GetAtt') found.add(String((value as unknown[])[0]))
      else if (key === 'Fn::Sub') {
        const text = Array.isArray(value) ? String(value[0]) : String(value)
        for (const match of text.matchAll(/\$\{([^!}][^}]*)\}/g)) found.add((match[1] ?? '').split('.')[0] ?? '')
      }
      references(value, found)
    }
  }
  return found
}

for (const env of ENVIRONMENTS) {
  const template = templates[env] as Json
  const settings = SETTINGS[env]

  describe(`${env} template`, () => {
    test('fits CloudFormation\'s inline template limit and refers only to what it declares', () => {
      assert.ok(renderTemplate(env).length < 51200, 'over 51,200 bytes Sceptre would need a template bucket')
      const declared = new Set([...Object.keys(template.Parameters), ...Object.keys(template.Resources)])
      for (const name of references(template)) {
        assert.ok(declared.has(name) || name.startsWith('AWS::'), `undeclared reference ${name}`)
      }
    })

    test('the ALB health-checks /healthcheck on the service port and only 200 is healthy', () => {
      const group = only(template, 'AWS::ElasticLoadBalancingV2::TargetGroup')
      assert.equal(group.Properties.HealthCheckPath, '/healthcheck')
      assert.equal(group.Properties.Port, 8080)
      assert.deepEqual(group.Properties.Matcher, { HttpCode: '200' })
      const listeners = Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::ElasticLoadBalancingV2::Listener')
      const https = listeners.find((listener) => listener.Properties.Protocol === 'HTTPS')
      assert.deepEqual(https?.Properties.DefaultActions, [{ Type: 'forward', TargetGroupArn: { Ref: 'TargetGroup' } }])
    })

    test('the HTTPS listener refuses /hystrix.stream and /admin before any rule or default forwards', () => {
      const rules = ofType(template, 'AWS::ElasticLoadBalancingV2::ListenerRule')
      const priorities = rules.map(([, rule]) => rule.Properties.Priority as number)
      assert.equal(new Set(priorities).size, priorities.length, 'rule priorities are unique')
      for (const [name, rule] of rules) {
        assert.deepEqual(rule.Properties.ListenerArn, { Ref: 'HttpsListener' }, name)
        // ALB limits: 3 values per condition, 5 wildcards per rule.
        const values = (rule.Properties as Rule).Conditions.flatMap((condition) => condition.PathPatternConfig.Values)
        assert.ok(values.length <= 3, `${name}: over 3 path patterns`)
        assert.ok(values.join('').replace(/[^*?]/g, '').length <= 5, `${name}: over 5 wildcards`)
      }
      const refusing = new Map(rules.filter(([, rule]) => rule.Properties.Actions[0].Type === 'fixed-response')
        .flatMap(([, rule]) => (rule.Properties as Rule).Conditions[0]?.PathPatternConfig.Values.map((value) => [value, rule.Properties.Priority as number] as const) ?? []))
      const forwarding = rules.filter(([, rule]) => rule.Properties.Actions[0].Type === 'forward').map(([, rule]) => rule.Properties.Priority as number)
      for (const path of ['/hystrix.stream', '/hystrix.stream/*', '/admin', '/admin/*', '/api/v1/hystrix.stream', '/api/v1/hystrix.stream/*', '/api/v1/admin', '/api/v1/admin/*']) {
        const priority = refusing.get(path)
        assert.ok(priority !== undefined, `${path} is refused`)
        assert.ok(forwarding.every((forward) => priority < forward), `${path} is refused before any forward rule`)
      }

      for (const path of ['/hystrix.stream', '/hystrix.stream/', '/admin', '/admin/config', '/admin/config/LOG_LEVEL', '/api/v1/hystrix.stream', '/api/v1/admin/breakers',
        // The service's router decodes these into /hystrix.stream.
        '/%68ystrix.stream', '/hystrix%2Estream', '/hystrix.stream/images/x.jpg']) {
        const action = actionFor(template, path)
        assert.equal(action.Type, 'fixed-response', path)
        assert.ok(['403', '404'].includes(action.FixedResponseConfig.StatusCode), path)
        assert.equal(action.FixedResponseConfig.ContentType, 'application/json')
        const body = JSON.parse(action.FixedResponseConfig.MessageBody) as { error: { code: string, message: string, requestId: string } }
        assert.deepEqual(Object.keys(body.error), ['code', 'message', 'requestId'])
      }
      for (const path of ['/healthcheck', '/schemas/query.json', '/alias/images/photo.jpg', '/api/v1/alias/images/a%20b.jpg',
        '/tenants/t/domains/d/buckets/b/images/caf%C3%A9.webp', '/administration/images/x.jpg', '/hystrix.streams']) {
        assert.deepEqual(actionFor(template, path), { Type: 'forward', TargetGroupArn: { Ref: 'TargetGroup' } }, path)
      }
      // The HTTP listener forwards nothing: it redirects to the HTTPS one, where the rules apply.
      const [http, ...others] = ofType(template, 'AWS::ElasticLoadBalancingV2::Listener').filter(([name]) => name !== 'HttpsListener')
      assert.equal(others.length, 0)
      assert.deepEqual(http?.[1].Properties.DefaultActions.map((action: { Type: string }) => action.Type), ['redirect'])
      assert.equal(http?.[1].Properties.DefaultActions[0].RedirectConfig.Protocol, 'HTTPS')
    })

    test('no security group opens the admin port; only the ALB\'s HTTP(S) ports are open to the world', () => {
      const ingress: Array<Record<string, any>> = [
        ...ofType(template, 'AWS::EC2::SecurityGroup').flatMap(([name, group]) =>
          (group.Properties.SecurityGroupIngress as Array<Record<string, any>> ?? []).map((rule) => ({ ...rule, group: name }))),
        ...ofType(template, 'AWS::EC2::SecurityGroupIngress').map(([name, rule]) => ({ ...rule.Properties, group: name }))
      ]
      assert.ok(ingress.length > 0)
      for (const rule of ingress) {
        const allPorts = String(rule.IpProtocol) === '-1'
        assert.ok(!allPorts && !(rule.FromPort <= ADMIN_PORT && ADMIN_PORT <= rule.ToPort), `${rule.group} opens the admin port`)
        if (rule.CidrIp === '0.0.0.0/0' || rule.CidrIpv6 === '::/0') {
          assert.equal(rule.group, 'LoadBalancerSecurityGroup')
          assert.ok([80, 443].includes(rule.FromPort) && rule.FromPort === rule.ToPort, `${rule.group} opens ${rule.FromPort}-${rule.ToPort} to the world`)
        }
      }
    })

    test('the deregistration delay matches SHUTDOWN_DRAIN_MS, which covers the ALB\'s unhealthy window', () => {
      const group = only(template, 'AWS::ElasticLoadBalancingV2::TargetGroup')
      assert.equal(attribute(group, 'deregistration_delay.timeout_seconds', 'TargetGroupAttributes'), String(settings.shutdownDrainMs / 1000))
      assert.ok(settings.shutdownDrainMs / 1000 >= HEALTH_CHECK_INTERVAL_S * UNHEALTHY_THRESHOLD)
      assert.equal(group.Properties.HealthCheckIntervalSeconds, HEALTH_CHECK_INTERVAL_S)
      assert.equal(group.Properties.UnhealthyThresholdCount, UNHEALTHY_THRESHOLD)
      // The same values reach the service through the launch template's environment file.
      const userData = JSON.stringify(only(template, 'AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData.UserData)
      assert.match(userData, new RegExp(`SHUTDOWN_DRAIN_MS=${settings.shutdownDrainMs}\\\\n`))
      assert.match(userData, new RegExp(`SHUTDOWN_TIMEOUT_MS=${settings.shutdownTimeoutMs}\\\\n`))
      assert.match(userData, new RegExp(`APP_ENV=${env}\\\\n`))
    })

    test('the auto-scaling group sits behind the target group and holds instances on scale-in', () => {
      const group = only(template, 'AWS::AutoScaling::AutoScalingGroup')
      assert.deepEqual(group.Properties.TargetGroupARNs, [{ Ref: 'TargetGroup' }])
      assert.equal(group.Properties.HealthCheckType, 'ELB')
      assert.deepEqual(group.Properties.LaunchTemplate.LaunchTemplateId, { Ref: 'LaunchTemplate' })
      assert.equal(group.Properties.MinSize, String(settings.minSize))
      assert.equal(group.Properties.MaxSize, String(settings.maxSize))
      assert.ok(group.UpdatePolicy?.AutoScalingRollingUpdate)
      const hook = only(template, 'AWS::AutoScaling::LifecycleHook')
      assert.equal(hook.Properties.LifecycleTransition, 'autoscaling:EC2_INSTANCE_TERMINATING')
      assert.deepEqual(hook.Properties.AutoScalingGroupName, { Ref: 'AutoScalingGroup' })
      assert.equal(hook.Properties.DefaultResult, 'CONTINUE')
      assert.ok(hook.Properties.HeartbeatTimeout > SYSTEMD_TIMEOUT_STOP_S, 'the hook outlasts systemd\'s stop timeout')
      assert.ok(hook.Properties.HeartbeatTimeout * 1000 > settings.shutdownDrainMs + settings.shutdownTimeoutMs)
    })

    test('the launch template requires IMDSv2, encrypts its disk and uses the instance profile', () => {
      const data = only(template, 'AWS::EC2::LaunchTemplate').Properties.LaunchTemplateData
      assert.equal(data.MetadataOptions.HttpTokens, 'required')
      assert.equal(data.BlockDeviceMappings[0].Ebs.Encrypted, true)
      assert.deepEqual(data.IamInstanceProfile, { Arn: { 'Fn::GetAtt': ['InstanceProfile', 'Arn'] } })
      assert.equal(data.InstanceType, settings.instanceType)
    })

    test('instances accept the service port from the load balancer only', () => {
      const ingress = template.Resources.InstanceSecurityGroup?.Properties.SecurityGroupIngress
      assert.deepEqual(ingress, [{
        IpProtocol: 'tcp', FromPort: 8080, ToPort: 8080, SourceSecurityGroupId: { Ref: 'LoadBalancerSecurityGroup' }, Description: 'service port from the ALB'
      }])
    })

    test('the role reads the originals, reads and writes the cache, reads the dynamic configuration', () => {
      const statements = only(template, 'AWS::IAM::Role').Properties.Policies[0].PolicyDocument.Statement as Array<{ Sid: string, Action: string[], Resource: unknown }>
      const bySid = new Map(statements.map((statement) => [statement.Sid, statement]))
      assert.deepEqual(bySid.get('ReadOriginals')?.Action, ['s3:GetObject', 's3:ListBucket'])
      assert.match(JSON.stringify(bySid.get('ReadOriginals')?.Resource), /\$\{OriginalsBucketName\}\/\*/)
      assert.deepEqual(bySid.get('ReadWriteTransformedCache')?.Action, ['s3:GetObject', 's3:PutObject', 's3:ListBucket'])
      assert.ok(bySid.get('ReadDynamicConfig')?.Action.every((action) => /^dynamodb:(Get|Query|Scan|Describe)/.test(action)))
      // Purges travel through the table: the instances write their records, and nothing else.
      assert.deepEqual(bySid.get('WritePurgeRecords')?.Action, ['dynamodb:PutItem'])
      assert.deepEqual(bySid.get('WritePurgeRecords')?.Resource, { 'Fn::GetAtt': ['DynamicConfigTable', 'Arn'] })
      // Nothing may write originals or delete anything.
      for (const statement of statements) {
        const onOriginals = JSON.stringify(statement.Resource).includes('OriginalsBucketName')
        for (const action of statement.Action) {
          assert.ok(!action.includes('Delete') && !action.includes('*'), `${statement.Sid}: ${action}`)
          if (onOriginals) assert.ok(!action.includes('Put'), `${statement.Sid} writes originals`)
        }
      }
    })

    test('the dynamic configuration table is keyed by `key` (S)', () => {
      const table = only(template, 'AWS::DynamoDB::Table').Properties
      assert.deepEqual(table.KeySchema, [{ AttributeName: 'key', KeyType: 'HASH' }])
      assert.deepEqual(table.AttributeDefinitions, [{ AttributeName: 'key', AttributeType: 'S' }])
      assert.equal(table.TableName, `delivery-images-${env}-dynamic-config`)
      assert.equal(table.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled, settings.protectData)
      assert.match(JSON.stringify(template.Resources.LaunchTemplate), /DYNAMIC_CONFIG_SOURCE=dynamodb/)
    })

    test('the agent configuration enables DogStatsD, APM and the journal logs of the unit', () => {
      const agent = parse(template.Resources.AgentConfigParameter?.Properties.Value as string) as Record<string, any>
      assert.equal(agent.use_dogstatsd, true)
      assert.equal(agent.dogstatsd_port, 8125)
      assert.equal(agent.apm_config.enabled, true)
      assert.equal(agent.env, env)
      const logs = parse(template.Resources.AgentLogsConfigParameter?.Properties.Value as string) as Record<string, any>
      assert.deepEqual(logs.logs[0].include_units, ['delivery-images.service'])
    })

    test('the Sceptre stack deploys this generated template with every required parameter', async () => {
      const config = parse(await fs.readFile(path.join(ROOT, `infra/sceptre/config/${env}/delivery-images.yaml`), 'utf8')) as {
        template: { type: string, path: string }, parameters: Record<string, string>
      }
      assert.equal(config.template.type, 'file')
      // Sceptre resolves the path under infra/sceptre/templates/.
      const resolved = path.resolve(ROOT, 'infra/sceptre/templates', config.template.path)
      assert.equal(resolved, path.join(ROOT, `infra/cloudformation/templates/${env}.json`))
      const required = Object.entries(template.Parameters).filter(([, parameter]) => parameter.Default === undefined).map(([name]) => name)
      for (const name of required) assert.ok(name in config.parameters, `${name} not given`)
      for (const name of Object.keys(config.parameters)) assert.ok(name in template.Parameters, `${name} is not a parameter`)
    })

    test('the committed template is the generator\'s output', async () => {
      const committed = await fs.readFile(path.join(ROOT, `infra/cloudformation/templates/${env}.json`), 'utf8')
      assert.equal(committed, renderTemplate(env), `stale: run node infra/cloudformation/generate.ts ${env}`)
    })
  })
}

test('the systemd unit stops gracefully within the shutdown budget of every environment', async () => {
  const unit = await fs.readFile(path.join(ROOT, '_pkg/delivery-images.service'), 'utf8')
  const setting = (name: string): string | undefined => unit.match(new RegExp(`^${name}=(.*)$`, 'm'))?.[1]
  assert.equal(setting('KillSignal'), 'SIGTERM')
  assert.equal(Number(setting('TimeoutStopSec')), SYSTEMD_TIMEOUT_STOP_S)
  for (const env of ENVIRONMENTS) {
    const { shutdownDrainMs, shutdownTimeoutMs } = SETTINGS[env]
    assert.ok(SYSTEMD_TIMEOUT_STOP_S * 1000 > shutdownDrainMs + shutdownTimeoutMs, env)
  }
  for (const option of ['NoNewPrivileges=yes', 'ProtectSystem=strict', 'PrivateTmp=yes']) {
    assert.match(unit, new RegExp(`^${option}$`, 'm'))
  }
  // The package's defaults agree with the environments' values.
  const defaults = await fs.readFile(path.join(ROOT, '_pkg/delivery-images.env'), 'utf8')
  const drain = Number(defaults.match(/^SHUTDOWN_DRAIN_MS=(\d+)$/m)?.[1])
  const timeout = Number(defaults.match(/^SHUTDOWN_TIMEOUT_MS=(\d+)$/m)?.[1])
  assert.ok(SYSTEMD_TIMEOUT_STOP_S * 1000 > drain + timeout)
  // The admin listener the security groups keep closed is the package's, on loopback.
  assert.equal(Number(defaults.match(/^ADMIN_PORT=(\d+)$/m)?.[1]), ADMIN_PORT)
  assert.match(defaults, /^ADMIN_HOST=127\.0\.0\.1$/m)
})

test('the generator CLI rejects an unknown environment without writing anything', async () => {
  const run = promisify(execFile)
  await assert.rejects(run(process.execPath, [path.join(ROOT, 'infra/cloudformation/generate.ts'), 'staging']), (error: { code?: number, stderr?: string }) => {
    assert.equal(error.code, 64)
    assert.match(error.stderr ?? '', /unknown environment staging/)
    return true
  })
})

test('every environment has settings', () => {
  const envs: Environment[] = ['pre', 'pro']
  assert.deepEqual([...ENVIRONMENTS], envs)
})
