import http from 'node:http'
import type { AddressInfo } from 'node:net'

/**
 * A Eureka server speaking the REST dialect eureka-js-client uses: register 204,
 * heartbeat 200 or 404 (the client then registers again), status overrides, delete, and the
 * registry as the JSON the client parses.
 */

export interface EurekaRecord {
  app: string
  instanceId: string
  hostName: string
  ipAddr: string
  status: string
  overriddenStatus: string
  port: { $: number, '@enabled': string }
  securePort: { $: number, '@enabled': string }
  vipAddress: string
  dataCenterInfo: Record<string, unknown>
  leaseInfo: Record<string, number>
  [field: string]: unknown
}

export interface EurekaRequest {
  method: string
  path: string
  query: URLSearchParams
  body: unknown
}

export interface FakeEurekaOptions {
  port?: number
  host?: string
  servicePath?: string
  /** Answer one-element lists as a bare object, as older (XStream) Eureka servers do. */
  collapseSingle?: boolean
}

export interface FakeEureka {
  host: string
  port: number
  servicePath: string
  url: string
  requests: EurekaRequest[]
  /** Every instance of an app, as stored (app names are upper-case). */
  instances: (app: string) => EurekaRecord[]
  /** Registers an instance directly, as another service would. */
  add: (instance: { app: string, hostName?: string, ipAddr?: string, port: number, status?: string, instanceId?: string }) => EurekaRecord
  setStatus: (app: string, instanceId: string, status: string) => void
  /** Resolves with the first request (past or future) that matches. */
  waitFor: (match: (request: EurekaRequest) => boolean, timeoutMs?: number) => Promise<EurekaRequest>
  close: () => Promise<void>
}

export async function startFakeEureka (options: FakeEurekaOptions = {}): Promise<FakeEureka> {
  const servicePath = options.servicePath ?? '/eureka/apps/'
  const apps = new Map<string, Map<string, EurekaRecord>>()
  const requests: EurekaRequest[] = []
  const waiters = new Set<{ match: (request: EurekaRequest) => boolean, resolve: (request: EurekaRequest) => void }>()

  function store (instance: Record<string, unknown>): EurekaRecord {
    const now = Date.now()
    const app = String(instance.app).toUpperCase()
    const record = {
      overriddenStatus: 'UNKNOWN',
      securePort: { $: 443, '@enabled': 'false' },
      countryId: 1,
      metadata: { '@class': 'java.util.Collections$EmptyMap' },
      isCoordinatingDiscoveryServer: 'false',
      lastUpdatedTimestamp: String(now),
      lastDirtyTimestamp: String(now),
      actionType: 'ADDED',
      ...instance,
      app,
      instanceId: String(instance.instanceId ?? instance.hostName),
      leaseInfo: {
        renewalIntervalInSecs: 30,
        durationInSecs: 90,
        ...(instance.leaseInfo as Record<string, number> | undefined),
        registrationTimestamp: now,
        lastRenewalTimestamp: now,
        evictionTimestamp: 0,
        serviceUpTimestamp: now
      }
    } as unknown as EurekaRecord
    let byId = apps.get(app)
    if (byId === undefined) apps.set(app, byId = new Map())
    byId.set(record.instanceId, record)
    return record
  }

  function find (app: string, id: string): EurekaRecord | undefined {
    return apps.get(app.toUpperCase())?.get(id)
  }

  const list = <T>(items: T[]): T[] | T => options.collapseSingle === true && items.length === 1 ? items[0] as T : items

  function application (name: string, byId: Map<string, EurekaRecord>): Record<string, unknown> {
    return { name, instance: list([...byId.values()]) }
  }

  function registry (): Record<string, unknown> {
    const all = [...apps].filter(([, byId]) => byId.size > 0)
    const up = all.reduce((count, [, byId]) => count + [...byId.values()].filter((i) => i.status === 'UP').length, 0)
    return {
      applications: {
        versions__delta: '1',
        apps__hashcode: `UP_${up}_`,
        application: list(all.map(([name, byId]) => application(name, byId)))
      }
    }
  }

  function handle (request: EurekaRequest, reply: (status: number, body?: unknown) => void): void {
    if (!request.path.startsWith(servicePath.replace(/\/$/, ''))) return reply(404)
    const parts = request.path.slice(servicePath.length).split('/').filter((part) => part !== '').map(decodeURIComponent)
    const [app, id, sub] = parts
    if (request.method === 'GET' && app === undefined) return reply(200, registry())
    if (app === undefined) return reply(405)
    if (request.method === 'GET' && app === 'delta') return reply(200, { applications: { versions__delta: '2', application: [] } })
    if (request.method === 'POST' && id === undefined) {
      const instance = (request.body as { instance?: Record<string, unknown> } | null)?.instance
      if (instance === undefined) return reply(400)
      store({ ...instance, app })
      return reply(204)
    }
    if (request.method === 'GET' && id === undefined) {
      const byId = apps.get(app.toUpperCase())
      return byId === undefined ? reply(404) : reply(200, { application: application(app.toUpperCase(), byId) })
    }
    if (id === undefined) return reply(405)
    const record = find(app, id)
    if (record === undefined) return reply(404)
    if (sub === 'status' && request.method === 'PUT') {
      const value = request.query.get('value') ?? 'UNKNOWN'
      record.status = value
      record.overriddenStatus = value
      return reply(200)
    }
    if (sub === 'status' && request.method === 'DELETE') {
      record.overriddenStatus = 'UNKNOWN'
      record.status = request.query.get('value') ?? 'UP'
      return reply(200)
    }
    if (sub !== undefined) return reply(404)
    if (request.method === 'PUT') {
      record.leaseInfo.lastRenewalTimestamp = Date.now()
      return reply(200)
    }
    if (request.method === 'DELETE') {
      apps.get(app.toUpperCase())?.delete(id)
      return reply(200)
    }
    if (request.method === 'GET') return reply(200, { instance: record })
    reply(405)
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://eureka')
      const text = Buffer.concat(chunks).toString('utf8')
      let body: unknown = null
      try {
        body = text === '' ? null : JSON.parse(text)
      } catch {
        body = text
      }
      const request: EurekaRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, body }
      requests.push(request)
      for (const waiter of waiters) {
        if (waiter.match(request)) {
          waiters.delete(waiter)
          waiter.resolve(request)
        }
      }
      handle(request, (status, answer) => {
        if (answer === undefined) {
          res.writeHead(status).end()
        } else {
          res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer))
        }
      })
    })
  })
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve))
  const { port, address: host } = server.address() as AddressInfo

  return {
    host,
    port,
    servicePath,
    url: `http://${host}:${port}${servicePath}`,
    requests,
    instances: (app) => [...(apps.get(app.toUpperCase())?.values() ?? [])],
    add (instance) {
      const hostName = instance.hostName ?? '127.0.0.1'
      return store({
        app: instance.app,
        instanceId: instance.instanceId ?? `${hostName}:${instance.app.toLowerCase()}:${instance.port}`,
        hostName,
        ipAddr: instance.ipAddr ?? hostName,
        status: instance.status ?? 'UP',
        port: { $: instance.port, '@enabled': 'true' },
        vipAddress: instance.app.toLowerCase(),
        secureVipAddress: instance.app.toLowerCase(),
        homePageUrl: `http://${hostName}:${instance.port}/`,
        dataCenterInfo: { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' }
      })
    },
    setStatus (app, instanceId, status) {
      const record = find(app, instanceId)
      if (record === undefined) throw new Error(`no instance ${app}/${instanceId}`)
      record.status = status
    },
    async waitFor (match, timeoutMs = 5000) {
      const seen = requests.find(match)
      if (seen !== undefined) return seen
      return await new Promise<EurekaRequest>((resolve, reject) => {
        const waiter = {
          match,
          resolve: (request: EurekaRequest) => {
            clearTimeout(timer)
            resolve(request)
          }
        }
        const timer = setTimeout(() => {
          waiters.delete(waiter)
          reject(new Error('no matching Eureka request arrived'))
        }, timeoutMs)
        waiters.add(waiter)
      })
    },
    async close () {
      server.closeAllConnections()
      await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
    }
  }
}
