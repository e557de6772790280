import type { Logger } from 'pino'
import type { AppConfig } from './config/schema.ts'
import { ConfigError } from './config/load.ts'
import { createCloudFrontInvalidator, type CloudFrontInvalidator } from './aws/cloudfront.ts'
import { createS3Client } from './aws/s3-client.ts'
import type { Origin } from './origins/origin.ts'
import { createFsOrigin } from './origins/fs-origin.ts'
import { createS3Origin } from './origins/s3-origin.ts'
import type { ImageCache } from './cache/image-cache.ts'
import { createMemoryCache } from './cache/memory-cache.ts'
import { createS3Cache, type S3CacheErrorKind } from './cache/s3-cache.ts'
import { createTieredCache } from './cache/tiered-cache.ts'
import type { Breaker, Breakers } from './resilience/breakers.ts'
import type { LogicProvider } from './logic/bucket-logic.ts'
import { createFileLogic } from './logic/file-logic.ts'
import type { Discovery } from './remote/discovery.ts'
import type { DynamicConfig } from './config/dynamic.ts'
import { createRemoteLogic } from './remote/remote-logic.ts'

/** Picks each part's implementation from the configuration; app.ts only assembles them. */

function s3Settings (config: AppConfig) {
  return { region: config.s3.region, endpoint: config.s3.endpoint, forcePathStyle: config.s3.forcePathStyle }
}

export function createOrigin (config: AppConfig, breaker: Breaker): Origin {
  if (config.origin.kind === 'fs') return createFsOrigin(config.origin.fsRoot)
  if (config.s3.bucket === null) throw new ConfigError('S3_BUCKET (s3.bucket): is required when ORIGIN=s3')
  const client = createS3Client({ ...s3Settings(config), requestTimeoutMs: config.breakers.origin.timeoutMs })
  return createS3Origin({ client, bucket: config.s3.bucket, keyPrefix: config.s3.keyPrefix, breaker })
}

export type FlushableCache = ImageCache & { flush?: () => Promise<void> }

export function createCache (config: AppConfig, logger: Logger, onError?: (kind: S3CacheErrorKind) => void): FlushableCache {
  const memory = createMemoryCache(config.cache.memoryMaxBytes)
  if (config.cache.s3Bucket === null) return memory
  // One attempt: a slow or failing shared tier should become a miss quickly, not be retried.
  const client = createS3Client({ ...s3Settings(config), maxAttempts: 1 })
  return createTieredCache([memory, createS3Cache({
    client,
    bucket: config.cache.s3Bucket,
    prefix: config.cache.s3Prefix,
    logger: logger.child({ component: 'transformed-cache' }),
    ...(onError === undefined ? {} : { onError })
  })])
}

export type ClosableLogic = LogicProvider & { close?: () => Promise<void> }

/** The file logic by default; the remote logic manager and translator (through Eureka or static URLs) otherwise. */
export function createLogic (
  config: AppConfig,
  parts: { breakers: Breakers, discovery: Discovery, dynamic: DynamicConfig, logger: Logger }
): ClosableLogic {
  if (config.logic.source === 'file') return createFileLogic(config.logic.file)
  return createRemoteLogic({
    logicManager: parts.discovery.logicManager(),
    translator: parts.discovery.translator(),
    breakers: parts.breakers,
    cacheTtlMs: () => parts.dynamic.get('LOGIC_CACHE_TTL_MS'),
    logger: parts.logger.child({ component: 'remote-logic' })
  })
}

/** The CDN purges invalidate (CDN_PROVIDER), or null when none is in front. */
export function createCdn (config: AppConfig): CloudFrontInvalidator | null {
  if (config.cdn.provider === 'none') return null
  if (config.cdn.distributionId === null || config.cdn.distributionId === '') {
    throw new ConfigError('CDN_DISTRIBUTION_ID (cdn.distributionId): is required when CDN_PROVIDER=cloudfront')
  }
  return createCloudFrontInvalidator({ region: config.s3.region, distributionId: config.cdn.distributionId })
}
