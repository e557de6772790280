/* eslint-disable no-template-curly-in-string -- ${Name} in these strings is CloudFormation's Fn::Sub syntax, not a JavaScript template */
// The CDN and secret parts of the generated templates (infra/cloudformation/cdn.ts): the cache key,
// what reaches the origin, HTTPS, the viewer-request function (run from the template itself), and
// the instance role's grants on the secret and the distribution.
import assert from 'node:assert/strict'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { describe, test } from 'node:test'
import vm from 'node:vm'
import { BROWSERS, CANONICAL_ACCEPT } from '../../helpers/accept-matrix.ts'
import { CLOUDFRONT_FUNCTION_FILE, DEFAULT_TTL_S } from '../../../infra/cloudformation/cdn.ts'
import { ENVIRONMENTS, SETTINGS } from '../../../infra/cloudformation/environments.ts'
import { buildTemplate, serviceEnvironment } from '../../../infra/cloudformation/stack.ts'
import { loadConfig } from '../../../src/config/load.ts'

interface Resource { Type: string, Properties: Record<string, any>, DependsOn?: string | string[] }
interface Json { Parameters: Record<string, { Type: string, Default?: string }>, Resources: Record<string, Resource>, Outputs: Record<string, { Value: unknown }> }

function only (template: Json, type: string): [string, Resource] {
  const found = Object.entries(template.Resources).filter(([, resource]) => resource.Type === type)
  assert.equal(found.length, 1, `one ${type}`)
  return found[0] as [string, Resource]
}

interface Statement { Sid: string, Action: string[], Resource: unknown }

type Handler = (event: unknown) => { statusCode?: number, headers: Record<string, { value: string }>, body?: { data: string } }

// The function as the template publishes it, in a bare context like CloudFront's runtime.
function handlerOf (code: string): Handler {
  const sandbox = vm.createContext({})
  vm.runInContext(code, sandbox)
  return sandbox.handler as Handler
}

function viewerRequest (uri: string, accept?: string): unknown {
  return {
    context: { eventType: 'viewer-request', requestId: 'edge-id' },
    request: { method: 'GET', uri, querystring: {}, headers: accept === undefined ? {} : { accept: { value: accept } }, cookies: {} }
  }
}

for (const env of ENVIRONMENTS) {
  const template = JSON.parse(JSON.stringify(buildTemplate(env))) as Json
  const settings = SETTINGS[env]
  const [, distribution] = only(template, 'AWS::CloudFront::Distribution')
  const config = distribution.Properties.DistributionConfig as Record<string, any>
  const behaviour = config.DefaultCacheBehavior as Record<string, any>

  describe(`${env} CDN`, () => {
    test('the distribution serves the CDN domain over HTTPS only, TLS 1.2+, from the ALB over HTTPS', () => {
      assert.equal(config.Enabled, true)
      assert.deepEqual(config.Aliases, [{ Ref: 'CdnDomainName' }])
      assert.deepEqual(config.ViewerCertificate, { AcmCertificateArn: { Ref: 'CdnCertificateArn' }, SslSupportMethod: 'sni-only', MinimumProtocolVersion: 'TLSv1.2_2021' })
      assert.equal(behaviour.ViewerProtocolPolicy, 'redirect-to-https')
      assert.equal(config.Origins.length, 1)
      const [origin] = config.Origins as Array<Record<string, any>>
      assert.equal(behaviour.TargetOriginId, origin?.Id)
      assert.deepEqual(origin?.DomainName, { Ref: 'OriginDomainName' })
      assert.equal(origin?.CustomOriginConfig.OriginProtocolPolicy, 'https-only')
      assert.deepEqual(origin?.CustomOriginConfig.OriginSSLProtocols, ['TLSv1.2'])
      assert.ok(origin?.CustomOriginConfig.OriginReadTimeout > 15, 'the service answers a slow transform, not CloudFront')
      assert.deepEqual(behaviour.AllowedMethods, ['GET', 'HEAD'])
      // The parameters have SSM defaults, like the stack's other externally owned values.
      for (const name of ['CdnCertificateArn', 'CdnDomainName', 'OriginDomainName', 'SecretsRotationLambdaArn']) {
        assert.match(template.Parameters[name]?.Default ?? '', new RegExp(`/${env}/`), name)
        assert.equal(template.Parameters[name]?.Type, 'AWS::SSM::Parameter::Value<String>')
      }
    })

    test('the cache key is the full query string and the Accept class; lifetimes come from the service', () => {
      const policy = template.Resources[behaviour.CachePolicyId.Ref]
      assert.equal(policy?.Type, 'AWS::CloudFront::CachePolicy')
      const key = policy?.Properties.CachePolicyConfig as Record<string, any>
      const parameters = key.ParametersInCacheKeyAndForwardedToOrigin as Record<string, any>
      assert.deepEqual(parameters.QueryStringsConfig, { QueryStringBehavior: 'all' })
      assert.deepEqual(parameters.HeadersConfig, { HeaderBehavior: 'whitelist', Headers: ['Accept'] })
      assert.deepEqual(parameters.CookiesConfig, { CookieBehavior: 'none' })
      assert.equal(parameters.EnableAcceptEncodingGzip, false)
      assert.equal(parameters.EnableAcceptEncodingBrotli, false)
      // MinTTL 0: no-store, private and max-age=1 are obeyed; DefaultTTL only without Cache-Control.
      assert.equal(key.MinTTL, 0)
      assert.equal(key.DefaultTTL, DEFAULT_TTL_S)
      assert.ok(key.MaxTTL >= 31536000)
      // Errors are not kept for CloudFront's 10 s default beyond their own Cache-Control.
      const errors = new Map((config.CustomErrorResponses as Array<{ ErrorCode: number, ErrorCachingMinTTL: number }>).map((entry) => [entry.ErrorCode, entry]))
      for (const code of [400, 403, 404, 500, 502, 503, 504]) {
        assert.equal(errors.get(code)?.ErrorCachingMinTTL, 0, String(code))
        assert.equal(Object.keys(errors.get(code) ?? {}).length, 2, `${code}: the service's body, not a custom page`)
      }
    })

    test('keyed on Accept after the function, the browser matrix makes three cache entries', () => {
      const [, fn] = only(template, 'AWS::CloudFront::Function')
      const handler = handlerOf(fn.Properties.FunctionCode)
      const keys = new Set(BROWSERS.map((browser) => handler(viewerRequest('/shots/images/a.jpg', browser.accept)).headers.accept?.value))
      assert.deepEqual(keys, new Set(Object.values(CANONICAL_ACCEPT)))
      assert.ok(new Set(BROWSERS.map((browser) => browser.accept)).size > keys.size)
    })

    test('the origin receives the Accept class, X-Request-Id and the query string, no cookies', () => {
      const policy = template.Resources[behaviour.OriginRequestPolicyId.Ref]
      assert.equal(policy?.Type, 'AWS::CloudFront::OriginRequestPolicy')
      const forwarded = policy?.Properties.OriginRequestPolicyConfig as Record<string, any>
      assert.deepEqual(new Set(forwarded.HeadersConfig.Headers), new Set(['Accept', 'X-Request-Id']))
      assert.equal(forwarded.HeadersConfig.HeaderBehavior, 'whitelist')
      assert.deepEqual(forwarded.QueryStringsConfig, { QueryStringBehavior: 'all' })
      assert.deepEqual(forwarded.CookiesConfig, { CookieBehavior: 'none' })
    })

    test('the function published is the tested file, on viewer-request of the one behaviour every path takes', () => {
      const [name, fn] = only(template, 'AWS::CloudFront::Function')
      assert.equal(fn.Properties.FunctionConfig.Runtime, 'cloudfront-js-2.0')
      assert.equal(fn.Properties.AutoPublish, true)
      assert.equal(fn.Properties.FunctionCode, fs.readFileSync(CLOUDFRONT_FUNCTION_FILE, 'utf8'))
      assert.deepEqual(behaviour.FunctionAssociations, [{ EventType: 'viewer-request', FunctionARN: { 'Fn::GetAtt': [name, 'FunctionARN'] } }])
      // No other behaviour: no path pattern can reach the origin without the function.
      assert.equal(config.CacheBehaviors, undefined)
    })

    test('the operations endpoints are answered by the function and never reach the origin', () => {
      const [, fn] = only(template, 'AWS::CloudFront::Function')
      const handler = handlerOf(fn.Properties.FunctionCode)
      for (const uri of ['/hystrix.stream', '/hystrix.stream/x', '/admin', '/admin/purge', '/api/v1/hystrix.stream', '/api/v1/admin/config', '/%68ystrix.stream', '//admin']) {
        const answer = handler(viewerRequest(uri))
        assert.ok(answer.statusCode === 403 || answer.statusCode === 404, uri)
        assert.equal(answer.headers['cache-control']?.value, 'no-store')
      }
      for (const uri of ['/healthcheck', '/tenants/t/domains/d/buckets/b/images/a.jpg', '/administration/images/x.jpg', '/hystrix.streams']) {
        assert.equal(handler(viewerRequest(uri)).statusCode, undefined, uri)
      }
    })

    test('CloudFront writes its access logs to the stack\'s private, expiring log bucket', () => {
      assert.deepEqual(config.Logging.Bucket, { 'Fn::GetAtt': ['CdnLogBucket', 'DomainName'] })
      const bucket = template.Resources.CdnLogBucket?.Properties as Record<string, any>
      assert.equal(template.Resources.CdnLogBucket?.Type, 'AWS::S3::Bucket')
      assert.deepEqual(bucket.OwnershipControls, { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] })
      assert.ok(Object.values(bucket.PublicAccessBlockConfiguration as Record<string, boolean>).every(Boolean))
      assert.ok(bucket.LifecycleConfiguration.Rules[0].ExpirationInDays > 0)
    })

    test('the secret holds SIGNING_KEYS and ADMIN_TOKEN and rotates every N days through the rotation Lambda', () => {
      const [secretName, secret] = only(template, 'AWS::SecretsManager::Secret')
      const generated = secret.Properties.GenerateSecretString as Record<string, any>
      assert.deepEqual(JSON.parse(generated.SecretStringTemplate), { SIGNING_KEYS: {} })
      assert.equal(generated.GenerateStringKey, 'ADMIN_TOKEN')
      assert.ok(generated.PasswordLength >= 32)
      const [, rotation] = only(template, 'AWS::SecretsManager::RotationSchedule')
      assert.deepEqual(rotation.Properties.SecretId, { Ref: secretName })
      assert.deepEqual(rotation.Properties.RotationLambdaARN, { Ref: 'SecretsRotationLambdaArn' })
      assert.equal(rotation.Properties.RotationRules.AutomaticallyAfterDays, settings.secretRotationDays)
      // Secrets Manager may invoke the Lambda for this secret only, before the schedule exists.
      const [permissionName, permission] = only(template, 'AWS::Lambda::Permission')
      assert.deepEqual([rotation.DependsOn].flat(), [permissionName])
      assert.equal(permission.Properties.Principal, 'secretsmanager.amazonaws.com')
      assert.deepEqual(permission.Properties.SourceArn, { Ref: secretName })
      assert.deepEqual(permission.Properties.FunctionName, { Ref: 'SecretsRotationLambdaArn' })
    })

    test('the instance role reads exactly that secret and invalidates exactly that distribution', () => {
      const [, role] = only(template, 'AWS::IAM::Role')
      const statements = role.Properties.Policies[0].PolicyDocument.Statement as Statement[]
      const secretStatements = statements.filter((statement) => statement.Action.some((action) => action.startsWith('secretsmanager:')))
      assert.deepEqual(secretStatements.map((statement) => [statement.Action, statement.Resource]), [[['secretsmanager:GetSecretValue'], { Ref: 'ServiceSecret' }]])
      const cdnStatements = statements.filter((statement) => statement.Action.some((action) => action.startsWith('cloudfront:')))
      assert.deepEqual(cdnStatements.map((statement) => statement.Action), [['cloudfront:CreateInvalidation']])
      assert.deepEqual(cdnStatements[0]?.Resource, { 'Fn::Sub': ['arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${CdnDistribution}', {}] })
    })

    test('the instances read their secrets from the secret and purge through the distribution', () => {
      const userData = JSON.stringify(template.Resources.LaunchTemplate?.Properties.LaunchTemplateData.UserData)
      for (const line of ['SECRETS_SOURCE=aws-secrets-manager', 'SECRETS_ID=${ServiceSecret}', 'CDN_PROVIDER=cloudfront', 'CDN_DISTRIBUTION_ID=${CdnDistribution}']) {
        assert.ok(userData.includes(`${line}\\n`), line)
      }
      // The names and values are ones the service's configuration accepts.
      const environment = serviceEnvironment(env, settings)
      const config = loadConfig({
        env: {
          CDN_PROVIDER: environment.CDN_PROVIDER ?? '',
          CDN_DISTRIBUTION_ID: 'E2QWRUHEXAMPLE',
          SECRETS_SOURCE: environment.SECRETS_SOURCE ?? '',
          SECRETS_ID: 'arn:aws:secretsmanager:eu-west-1:111122223333:secret:delivery-images-pre/service-AbCdEf'
        },
        // A folder that does not exist: no env files, only the variables above.
        configDir: path.join(os.tmpdir(), `no-env-files-${process.pid}`)
      })
      assert.equal(config.cdn.provider, 'cloudfront')
      assert.equal(config.cdn.distributionId, 'E2QWRUHEXAMPLE')
      assert.equal(config.secrets.source, 'aws-secrets-manager')
      assert.deepEqual(template.Outputs.CdnDistributionId?.Value, { Ref: 'CdnDistribution' })
    })
  })
}
