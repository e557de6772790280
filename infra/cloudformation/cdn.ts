/* eslint-disable no-template-curly-in-string -- ${Name} in these strings is CloudFormation's Fn::Sub syntax, not a JavaScript template */
// The CloudFront distribution in front of the load balancer, and the service's secret: the parts of
// the stack the CDN and the purge API depend on (docs/cdn.md). stack.ts merges them into the template.
import fs from 'node:fs'
import path from 'node:path'
import { CloudFront, Fn, Lambda, S3, SecretsManager, type Resource, type Tag } from './cloudform.ts'
import type { Environment, EnvironmentSettings } from './environments.ts'

export const CLOUDFRONT_FUNCTION_FILE = path.resolve(import.meta.dirname, '../cdn/cloudfront-function.js')
export const CLOUDFRONT_FUNCTION_RUNTIME = 'cloudfront-js-2.0'
// The function rewrites Accept to its class's canonical value: keying on Accept is keying on the class.
export const CACHE_KEY_HEADERS = ['Accept']
export const FORWARDED_HEADERS = ['Accept', 'X-Request-Id']
// When the service sends no Cache-Control (it always does), the service's own default lifetime
// (CACHE_CONTROL_DEFAULT, public, max-age=86400); MinTTL 0 lets no-store, private and max-age=1 through.
export const DEFAULT_TTL_S = 86400
export const MAX_TTL_S = 31536000
// The error codes CloudFront would otherwise cache for 10 s regardless of what the service says:
// with a minimum of 0 an error is kept exactly as long as its Cache-Control allows (no-store: not at all).
export const CACHEABLE_ERROR_CODES = [400, 403, 404, 405, 414, 416, 500, 501, 502, 503, 504]
export const CDN_LOG_RETENTION_DAYS = 90
const ORIGIN_ID = 'load-balancer'

export function cdnParameters (env: Environment): Record<string, { Type: string, Default: string, Description: string }> {
  return {
    CdnCertificateArn: { Type: 'AWS::SSM::Parameter::Value<String>', Default: `/delivery-images/${env}/cdn-certificate-arn`, Description: 'SSM parameter: ACM certificate (us-east-1) of the CDN domain' },
    CdnDomainName: { Type: 'AWS::SSM::Parameter::Value<String>', Default: `/delivery-images/${env}/cdn-domain-name`, Description: 'SSM parameter: public domain name of the CDN' },
    // CloudFront checks the origin's certificate against the name it connects to: a DNS name that
    // resolves to the ALB (LoadBalancerDnsName) and that CertificateArn covers, not the ELB's own name.
    OriginDomainName: { Type: 'AWS::SSM::Parameter::Value<String>', Default: `/delivery-images/${env}/origin-domain-name`, Description: 'SSM parameter: DNS name of the ALB covered by CertificateArn' },
    SecretsRotationLambdaArn: { Type: 'AWS::SSM::Parameter::Value<String>', Default: `/platform/${env}/secrets-rotation-lambda-arn`, Description: 'SSM parameter: ARN of the Lambda that rotates SIGNING_KEYS and ADMIN_TOKEN' }
  }
}

/** The function's code exactly as the file holds it: what the tests run is what CloudFront runs. */
export function cloudfrontFunctionCode (): string {
  return fs.readFileSync(CLOUDFRONT_FUNCTION_FILE, 'utf8')
}

export function cdnResources (env: Environment, settings: EnvironmentSettings, name: string, tags: (name: string) => Tag[]): Record<string, Resource> {
  return {
    CdnViewerRequestFunction: new CloudFront.Function({
      Name: `${name}-viewer-request`,
      AutoPublish: true,
      FunctionConfig: { Comment: 'Accept class, X-Request-Id, refuses the operations endpoints', Runtime: CLOUDFRONT_FUNCTION_RUNTIME },
      FunctionCode: cloudfrontFunctionCode()
    }),
    CdnCachePolicy: new CloudFront.CachePolicy({
      CachePolicyConfig: {
        Name: `${name}-images`,
        Comment: 'Full query string and the Accept class; lifetimes from the service\'s Cache-Control',
        MinTTL: 0,
        DefaultTTL: DEFAULT_TTL_S,
        MaxTTL: MAX_TTL_S,
        ParametersInCacheKeyAndForwardedToOrigin: {
          QueryStringsConfig: { QueryStringBehavior: 'all' },
          HeadersConfig: { HeaderBehavior: 'whitelist', Headers: CACHE_KEY_HEADERS },
          CookiesConfig: { CookieBehavior: 'none' },
          // Images are compressed already; gzip would only add Accept-Encoding variants.
          EnableAcceptEncodingGzip: false,
          EnableAcceptEncodingBrotli: false
        }
      }
    }),
    CdnOriginRequestPolicy: new CloudFront.OriginRequestPolicy({
      OriginRequestPolicyConfig: {
        Name: `${name}-origin`,
        Comment: 'The Accept class, the request id and the query string; no cookies',
        HeadersConfig: { HeaderBehavior: 'whitelist', Headers: FORWARDED_HEADERS },
        CookiesConfig: { CookieBehavior: 'none' },
        QueryStringsConfig: { QueryStringBehavior: 'all' }
      }
    }),
    CdnLogBucket: new S3.Bucket({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      // CloudFront's standard logs are delivered with an object ACL: ACLs must stay enabled.
      OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerPreferred' }] },
      LifecycleConfiguration: { Rules: [{ Id: 'expire-cdn-logs', Status: 'Enabled', ExpirationInDays: CDN_LOG_RETENTION_DAYS }] },
      Tags: tags('cdn-logs')
    }),
    CdnDistribution: new CloudFront.Distribution({
      DistributionConfig: {
        Enabled: true,
        Comment: `${name} images`,
        Aliases: [Fn.Ref('CdnDomainName')],
        HttpVersion: 'http2and3',
        IPV6Enabled: true,
        PriceClass: settings.cdnPriceClass,
        ViewerCertificate: { AcmCertificateArn: Fn.Ref('CdnCertificateArn'), SslSupportMethod: 'sni-only', MinimumProtocolVersion: 'TLSv1.2_2021' },
        Origins: [{
          Id: ORIGIN_ID,
          DomainName: Fn.Ref('OriginDomainName'),
          // Above LIMITS_TRANSFORM_TIMEOUT_MS (15 s), like the ALB's idle timeout.
          CustomOriginConfig: { OriginProtocolPolicy: 'https-only', HTTPSPort: 443, OriginSSLProtocols: ['TLSv1.2'], OriginReadTimeout: 30, OriginKeepaliveTimeout: 5 }
        }],
        // One behaviour for every path, so every request goes through the function, which answers
        // the operations endpoints itself (the ALB behind refuses them too).
        DefaultCacheBehavior: {
          TargetOriginId: ORIGIN_ID,
          ViewerProtocolPolicy: 'redirect-to-https',
          AllowedMethods: ['GET', 'HEAD'],
          CachedMethods: ['GET', 'HEAD'],
          Compress: false,
          CachePolicyId: Fn.Ref('CdnCachePolicy'),
          OriginRequestPolicyId: Fn.Ref('CdnOriginRequestPolicy'),
          FunctionAssociations: [{ EventType: 'viewer-request', FunctionARN: Fn.GetAtt('CdnViewerRequestFunction', 'FunctionARN') }]
        },
        CustomErrorResponses: CACHEABLE_ERROR_CODES.map((code) => ({ ErrorCode: code, ErrorCachingMinTTL: 0 })),
        Logging: { Bucket: Fn.GetAtt('CdnLogBucket', 'DomainName'), Prefix: `${env}/`, IncludeCookies: false }
      },
      Tags: tags('cdn')
    }),

    // SIGNING_KEYS and ADMIN_TOKEN (SECRETS_SOURCE=aws-secrets-manager). Created with no signing key
    // and a generated admin token; the rotation Lambda (owned by the platform) rewrites both.
    ServiceSecret: new SecretsManager.Secret({
      Name: `${name}/service`,
      Description: `SIGNING_KEYS and ADMIN_TOKEN of ${name}`,
      GenerateSecretString: {
        SecretStringTemplate: JSON.stringify({ SIGNING_KEYS: {} }),
        GenerateStringKey: 'ADMIN_TOKEN',
        PasswordLength: 48,
        ExcludePunctuation: true
      },
      Tags: tags('secret')
    }),
    SecretsRotationPermission: new Lambda.Permission({
      FunctionName: Fn.Ref('SecretsRotationLambdaArn'),
      Action: 'lambda:InvokeFunction',
      Principal: 'secretsmanager.amazonaws.com',
      SourceArn: Fn.Ref('ServiceSecret')
    }),
    ServiceSecretRotation: new SecretsManager.RotationSchedule({
      SecretId: Fn.Ref('ServiceSecret'),
      RotationLambdaARN: Fn.Ref('SecretsRotationLambdaArn'),
      RotationRules: { AutomaticallyAfterDays: settings.secretRotationDays }
    }).dependsOn('SecretsRotationPermission')
  }
}

/** The instance role's statements for the secret and for invalidations of this distribution only. */
export function cdnStatements (): Array<Record<string, unknown>> {
  return [
    { Sid: 'ReadServiceSecret', Effect: 'Allow', Action: ['secretsmanager:GetSecretValue'], Resource: Fn.Ref('ServiceSecret') },
    {
      // POST /admin/purge with CDN_PROVIDER=cloudfront.
      Sid: 'InvalidateCdn',
      Effect: 'Allow',
      Action: ['cloudfront:CreateInvalidation'],
      Resource: Fn.Sub('arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${CdnDistribution}', {})
    }
  ]
}
