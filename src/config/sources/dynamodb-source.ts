import { DynamoDBClient, PutItemCommand, paginateScan, type AttributeValue } from '@aws-sdk/client-dynamodb'
import type { Logger } from 'pino'
import type { DynamicSource, SnapshotTarget } from '../dynamic/types.ts'
import { createPoller } from '../poller.ts'

export interface DynamoDbSourceOptions {
  client: DynamoDBClient
  /** DYNAMIC_CONFIG_TABLE. */
  table: string
  /** DYNAMIC_CONFIG_POLL_MS: delay between the end of one poll and the start of the next. */
  pollMs: number
  dynamic: SnapshotTarget
  logger: Logger
  /** Archaius' defaults; configurable there too (`com.netflix.config.dynamo.keyAttributeName`). */
  keyAttribute?: string
  valueAttribute?: string
  /** Items per Scan page; DynamoDB's 1 MB page limit applies anyway. */
  pageSize?: number
  /** How long `start` waits for the first poll before going on with the static values. */
  initialTimeoutMs?: number
}

export interface DynamoDbSource extends DynamicSource {
  /** One poll now; false when it failed (the last values stay). */
  poll: () => Promise<boolean>
}

const DEFAULT_INITIAL_TIMEOUT_MS = 5000

/**
 * Archaius' DynamoDbConfigurationSource: a full paginated Scan of `{key: S, value: S}` items each
 * poll, applied as a complete snapshot, so that deleting an item puts the property back to its
 * static value. A failing poll (table missing, throttled, endpoint down) keeps the last values and
 * never reaches a request; it is logged when polling starts failing and when it recovers, not on
 * every attempt. `write` puts one `{key, value}` item (a purge record), which every instance
 * reads at its next poll.
 */
export function createDynamoDbSource (options: DynamoDbSourceOptions): DynamoDbSource {
  const keyAttribute = options.keyAttribute ?? 'key'
  const valueAttribute = options.valueAttribute ?? 'value'
  const logger = options.logger.child({ component: 'dynamic-config-dynamodb', table: options.table })
  async function scan (signal: AbortSignal): Promise<Record<string, string>> {
    const values: Record<string, string> = {}
    const pages = paginateScan(
      { client: options.client, ...(options.pageSize === undefined ? {} : { pageSize: options.pageSize }) },
      { TableName: options.table },
      { abortSignal: signal }
    )
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const key = item[keyAttribute]?.S
        const value = text(item[valueAttribute])
        if (key !== undefined && value !== undefined) values[key] = value
      }
    }
    return values
  }

  const poller = createPoller({
    pollMs: options.pollMs,
    read: async (signal) => { options.dynamic.apply(await scan(signal), 'dynamodb') },
    onFailure: (error, first) => {
      if (first) logger.error({ err: error }, 'polling the dynamic properties table failed; keeping the last values')
      else logger.debug({ err: error }, 'polling the dynamic properties table still fails')
    },
    onRecovery: () => { logger.info('dynamic properties table is reachable again') }
  })

  return {
    poll: poller.poll,
    async write (key, value) {
      const text = typeof value === 'string' ? value : JSON.stringify(value)
      await options.client.send(new PutItemCommand({
        TableName: options.table,
        Item: { [keyAttribute]: { S: key }, [valueAttribute]: { S: text } }
      }))
    },
    async start () {
      const first = poller.poll()
      let waited: NodeJS.Timeout | undefined
      const timedOut = new Promise<'timeout'>((resolve) => {
        waited = setTimeout(() => { resolve('timeout') }, options.initialTimeoutMs ?? DEFAULT_INITIAL_TIMEOUT_MS)
      })
      const outcome = await Promise.race([first, timedOut])
      clearTimeout(waited)
      if (outcome === 'timeout') logger.warn('the first poll of the dynamic properties table is slow; starting with the static values')
      void first.then(poller.schedule)
    },
    stop: poller.stop
  }
}

/** Archaius stores strings; a number or boolean typed into the console is accepted as its text. */
function text (attribute: AttributeValue | undefined): string | undefined {
  if (attribute === undefined) return undefined
  if (attribute.S !== undefined) return attribute.S
  if (attribute.N !== undefined) return attribute.N
  if (attribute.BOOL !== undefined) return String(attribute.BOOL)
  return undefined
}
