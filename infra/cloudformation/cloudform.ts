// cloudform, typed without its package index. cloudform-types 7.5 ships one stray TypeScript source
// (types/licenseManager/license.ts) next to the declarations; importing 'cloudform' makes tsc
// type-check that file under this project's strict ESM settings, where it does not compile. So
// the runtime comes from 'cloudform' itself, and the types from the declarations of the namespaces
// this stack uses (cloudform-types is cloudform's own dependency).
import { createRequire } from 'node:module'
import type { AutoScaling as AutoScalingTypes } from 'cloudform-types/types/autoScaling/index.namespace.js'
import type { CloudFront as CloudFrontTypes } from 'cloudform-types/types/cloudFront/index.namespace.js'
import type { DynamoDB as DynamoDBTypes } from 'cloudform-types/types/dynamoDb/index.namespace.js'
import type { EC2 as EC2Types } from 'cloudform-types/types/ec2/index.namespace.js'
import type { ElasticLoadBalancingV2 as ElasticLoadBalancingV2Types } from 'cloudform-types/types/elasticLoadBalancingV2/index.namespace.js'
import type * as FnTypes from 'cloudform-types/types/functions.js'
import type { IAM as IAMTypes } from 'cloudform-types/types/iam/index.namespace.js'
import type { Lambda as LambdaTypes } from 'cloudform-types/types/lambda/index.namespace.js'
import type * as ResourceTypes from 'cloudform-types/types/resource.js'
import type { S3 as S3Types } from 'cloudform-types/types/s3/index.namespace.js'
import type { SecretsManager as SecretsManagerTypes } from 'cloudform-types/types/secretsManager/index.namespace.js'
import type { SSM as SSMTypes } from 'cloudform-types/types/ssm/index.namespace.js'
import type * as TemplateTypes from 'cloudform-types/types/template.js'

export type Template = TemplateTypes.default

interface Cloudform {
  AutoScaling: typeof AutoScalingTypes
  CloudFront: typeof CloudFrontTypes
  DynamoDB: typeof DynamoDBTypes
  EC2: typeof EC2Types
  ElasticLoadBalancingV2: typeof ElasticLoadBalancingV2Types
  Fn: typeof FnTypes
  IAM: typeof IAMTypes
  Lambda: typeof LambdaTypes
  ResourceTag: typeof ResourceTypes.ResourceTag
  S3: typeof S3Types
  SecretsManager: typeof SecretsManagerTypes
  SSM: typeof SSMTypes
}

const cloudform = createRequire(import.meta.url)('cloudform') as Cloudform

export const { AutoScaling, CloudFront, DynamoDB, EC2, ElasticLoadBalancingV2, Fn, IAM, Lambda, ResourceTag, S3, SecretsManager, SSM } = cloudform
export type Tag = ResourceTypes.ResourceTag
export type Resource = ResourceTypes.default
