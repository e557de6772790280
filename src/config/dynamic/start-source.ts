import type { Logger } from 'pino'
import { configErrorAt } from '../load.ts'
import type { AppConfig } from '../schema.ts'
import { routeRecords } from './records.ts'
import type { DynamicConfig, DynamicSourceHandle, RecordSink } from './types.ts'

export interface DynamicSourceOptions {
  config: AppConfig
  dynamic: DynamicConfig
  logger: Logger
  /** Record sinks fed from the same snapshots (the purge registry). */
  records?: readonly RecordSink[]
}

/**
 * Creates and starts the source DYNAMIC_CONFIG_SOURCE names, or returns null for `none`. The AWS
 * SDK is loaded only when the table is used. Every problem with the source's own variables
 * (missing, a file that cannot be watched or read) is a ConfigError naming the variable.
 */
export async function startDynamicSource (options: DynamicSourceOptions): Promise<DynamicSourceHandle | null> {
  const { config, logger } = options
  const dynamic = routeRecords(options.dynamic, options.records ?? [])
  const settings = config.dynamicConfig
  switch (settings.source) {
    case 'none':
      return null
    case 'file': {
      if (settings.file === null) throw configErrorAt('dynamicConfig.file', 'is required when DYNAMIC_CONFIG_SOURCE=file')
      const { createFileSource } = await import('../sources/file-source.ts')
      const source = createFileSource({ file: settings.file, dynamic, logger })
      await source.start()
      return source
    }
    case 'dynamodb': {
      if (settings.table === null) throw configErrorAt('dynamicConfig.table', 'is required when DYNAMIC_CONFIG_SOURCE=dynamodb')
      const { createDynamoDbSource } = await import('../sources/dynamodb-source.ts')
      const { createDynamoDbClient } = await import('../../aws/dynamodb-client.ts')
      // S3_REGION is the service's one AWS region setting; the table lives beside the buckets.
      const client = createDynamoDbClient({ region: config.s3.region, endpoint: settings.dynamodbEndpoint })
      const source = createDynamoDbSource({ client, table: settings.table, pollMs: settings.pollMs, dynamic, logger })
      // A missing or unreachable table is not a start error: the instance starts with the static values.
      await source.start()
      return {
        write: source.write,
        async stop () {
          await source.stop()
          client.destroy()
        }
      }
    }
  }
}
