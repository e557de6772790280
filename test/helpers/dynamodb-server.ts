import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRequire } from 'node:module'
import { CreateTableCommand, DeleteItemCommand, PutItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb'
import { createDynamoDbClient } from '../../src/aws/dynamodb-client.ts'

/** dynalite is untyped CommonJS; it returns a plain http.Server. */
const dynalite = createRequire(import.meta.url)('dynalite') as (options: Record<string, unknown>) => Server

/** dynalite accepts any keys; the SDK only needs some to sign with. */
export const DYNALITE_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' }
export const DYNALITE_REGION = 'us-east-1'

export interface DynamoDbServer {
  /** `http://127.0.0.1:<port>` */
  endpoint: string
  table: string
  /** A client with the server's credentials; tests give the code under test a client of its own. */
  client: DynamoDBClient
  newClient: () => DynamoDBClient
  put: (key: string, value: string) => Promise<void>
  remove: (key: string) => Promise<void>
  /** Takes the endpoint down (connections refused), as an outage would. */
  stop: () => Promise<void>
  close: () => Promise<void>
}

/** An in-memory DynamoDB (dynalite) on loopback with a `{key: S}` table, filled with `items`. */
export async function startDynamoDbServer (options: { table?: string, items?: Record<string, string> } = {}): Promise<DynamoDbServer> {
  // No CREATING phase: the table is usable as soon as CreateTable answers.
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const table = options.table ?? 'archaiusProperties'
  const newClient = (): DynamoDBClient => createDynamoDbClient({ region: DYNALITE_REGION, endpoint, credentials: DYNALITE_CREDENTIALS })
  const client = newClient()
  await client.send(new CreateTableCommand({
    TableName: table,
    AttributeDefinitions: [{ AttributeName: 'key', AttributeType: 'S' }],
    KeySchema: [{ AttributeName: 'key', KeyType: 'HASH' }],
    BillingMode: 'PAY_PER_REQUEST'
  }))
  const put = async (key: string, value: string): Promise<void> => {
    await client.send(new PutItemCommand({ TableName: table, Item: { key: { S: key }, value: { S: value } } }))
  }
  for (const [key, value] of Object.entries(options.items ?? {})) await put(key, value)

  let stopped = false
  const stop = async (): Promise<void> => {
    if (stopped) return
    stopped = true
    // Keep-alive sockets of the SDK would hold `close` open forever.
    server.closeAllConnections()
    await new Promise<void>((resolve, reject) => { server.close((error) => { if (error == null) resolve(); else reject(error) }) })
  }
  return {
    endpoint,
    table,
    client,
    newClient,
    put,
    async remove (key) {
      await client.send(new DeleteItemCommand({ TableName: table, Key: { key: { S: key } } }))
    },
    stop,
    async close () {
      client.destroy()
      await stop()
    }
  }
}
