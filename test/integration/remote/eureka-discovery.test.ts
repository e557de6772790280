import { test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import pino from 'pino'
import { loadConfig } from '../../../src/config/load.ts'
import { ConfigError } from '../../../src/config/load.ts'
import { createDiscovery, withFailover, type Discovery, type DiscoveryOptions } from '../../../src/remote/discovery.ts'
import { createHttpClient } from '../../../src/remote/http-client.ts'
import { startFakeEureka, type FakeEureka } from '../../../scripts/peers/fake-eureka.ts'
import { startFakeLogicManager, staticLogic, type FakeLogicManager } from '../../../scripts/peers/fake-logic-manager.ts'

const silent = pino({ level: 'silent' })

function configFor (eureka: FakeEureka, env: Record<string, string> = {}): DiscoveryOptions['config'] {
  return loadConfig({
    env: {
      EUREKA_ENABLED: 'true',
      EUREKA_HOST: eureka.host,
      EUREKA_PORT: String(eureka.port),
      EUREKA_SERVICE_PATH: eureka.servicePath,
      LOGIC_SOURCE: 'remote',
      ...env
    },
    configDir: '/nonexistent'
  })
}

/** Discoveries to stop before their Eureka closes; else deregistration retries for seconds. */
const started = new Map<FakeEureka, Discovery[]>()

async function startDiscovery (eureka: FakeEureka, options: Partial<DiscoveryOptions> = {}): Promise<Discovery> {
  const discovery = createDiscovery({
    config: configFor(eureka),
    logger: silent,
    port: 8080,
    // Fixed names so the registration body can be asserted; k8s and aws tests bring their own.
    ...(options.config === undefined ? { hostName: 'host1', ipAddr: '10.0.0.5' } : {}),
    heartbeatIntervalMs: 50,
    registryFetchIntervalMs: 50,
    ...options
  })
  started.get(eureka)?.push(discovery)
  await discovery.start()
  return discovery
}

async function fakeEureka (t: TestContext, collapseSingle = false): Promise<FakeEureka> {
  const eureka = await startFakeEureka({ collapseSingle })
  started.set(eureka, [])
  t.after(async () => {
    for (const discovery of started.get(eureka) ?? []) await discovery.stop()
    started.delete(eureka)
    await eureka.close()
  })
  return eureka
}

async function logicManager (t: TestContext): Promise<FakeLogicManager> {
  const fixture = await startFakeLogicManager({ backend: staticLogic({ aliases: { shots: { tenant: 'a', domain: 'b', bucket: 'c' } } }) })
  t.after(async () => { await fixture.close() })
  return fixture
}

/** A loopback port nobody listens on. */
async function deadPort (): Promise<number> {
  const server = net.createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as net.AddressInfo
  await new Promise((resolve) => server.close(resolve))
  return port
}

test('registers with the fields Eureka and Turbine read, then sends heartbeats', async (t) => {
  const eureka = await fakeEureka(t)
  await startDiscovery(eureka)

  const registration = await eureka.waitFor((r) => r.method === 'POST')
  assert.equal(registration.path, '/eureka/apps/DELIVERY-IMAGES')
  const { instance } = registration.body as { instance: Record<string, unknown> }
  assert.equal(instance.app, 'DELIVERY-IMAGES')
  assert.equal(instance.instanceId, 'host1:delivery-images:8080')
  assert.equal(instance.hostName, 'host1')
  assert.equal(instance.ipAddr, '10.0.0.5')
  assert.equal(instance.status, 'UP')
  assert.equal(instance.vipAddress, 'delivery-images')
  assert.deepEqual(instance.port, { $: 8080, '@enabled': 'true' })
  assert.equal(instance.healthCheckUrl, 'http://host1:8080/healthcheck')
  assert.equal(instance.statusPageUrl, 'http://host1:8080/healthcheck')
  assert.deepEqual(instance.dataCenterInfo, { '@class': 'com.netflix.appinfo.InstanceInfo$DefaultDataCenterInfo', name: 'MyOwn' })

  const heartbeat = await eureka.waitFor((r) => r.method === 'PUT')
  assert.equal(heartbeat.path, '/eureka/apps/DELIVERY-IMAGES/host1:delivery-images:8080')
  assert.equal(eureka.instances('DELIVERY-IMAGES')[0]?.status, 'UP')
})

test('registers again when a heartbeat finds the instance forgotten', async (t) => {
  const eureka = await fakeEureka(t)
  await startDiscovery(eureka)
  await eureka.waitFor((r) => r.method === 'PUT')
  // As after an eviction: the server no longer knows the instance.
  const forgotten = await fetch(`${eureka.url}DELIVERY-IMAGES/host1:delivery-images:8080`, { method: 'DELETE' })
  assert.equal(forgotten.status, 200)
  const registrations = (): number => eureka.requests.filter((r) => r.method === 'POST').length
  await eureka.waitFor((r) => r.method === 'POST' && registrations() === 2)
  assert.equal(eureka.instances('DELIVERY-IMAGES').length, 1)
})

test('goes OUT_OF_SERVICE on shutdown, then deregisters', async (t) => {
  const eureka = await fakeEureka(t)
  const discovery = await startDiscovery(eureka)
  await discovery.markOutOfService()
  assert.equal(eureka.instances('DELIVERY-IMAGES')[0]?.status, 'OUT_OF_SERVICE')
  const override = eureka.requests.find((r) => r.path.endsWith('/status'))
  assert.equal(override?.query.get('value'), 'OUT_OF_SERVICE')
  await discovery.stop()
  await eureka.waitFor((r) => r.method === 'DELETE' && !r.path.endsWith('/status'))
  assert.equal(eureka.instances('DELIVERY-IMAGES').length, 0)
})

test('k8s registers the pod IP; a missing POD_IP stops the start', async (t) => {
  const eureka = await fakeEureka(t)
  await startDiscovery(eureka, {
    config: configFor(eureka, { EUREKA_DATACENTER: 'k8s' }),
    env: { POD_IP: '10.1.2.3' }
  })
  const { instance } = (await eureka.waitFor((r) => r.method === 'POST')).body as { instance: Record<string, unknown> }
  assert.equal(instance.hostName, '10.1.2.3')
  assert.equal(instance.ipAddr, '10.1.2.3')
  assert.equal(instance.instanceId, '10.1.2.3:delivery-images:8080')
  assert.throws(() => createDiscovery({ config: configFor(eureka, { EUREKA_DATACENTER: 'k8s' }), logger: silent, port: 8080, env: {} }), ConfigError)
})

test('aws registers Amazon data center info from the EC2 metadata', async (t) => {
  const eureka = await fakeEureka(t)
  const metadata = {
    'instance-id': 'i-0abc',
    'local-ipv4': '172.31.0.9',
    'local-hostname': 'ip-172-31-0-9.ec2.internal',
    'availability-zone': 'eu-west-1a'
  }
  await startDiscovery(eureka, {
    config: configFor(eureka, { EUREKA_DATACENTER: 'aws' }),
    awsMetadata: { fetchMetadata: (callback) => { callback(metadata) } }
  })
  const { instance } = (await eureka.waitFor((r) => r.method === 'POST')).body as { instance: Record<string, unknown> }
  const dataCenterInfo = instance.dataCenterInfo as { name: string, '@class': string, metadata: Record<string, string> }
  assert.equal(dataCenterInfo.name, 'Amazon')
  assert.equal(dataCenterInfo['@class'], 'com.netflix.appinfo.AmazonInfo')
  assert.equal(dataCenterInfo.metadata['instance-id'], 'i-0abc')
  assert.equal(instance.ipAddr, '172.31.0.9')
  assert.equal(instance.healthCheckUrl, 'http://172.31.0.9:8080/healthcheck')
  const heartbeat = await eureka.waitFor((r) => r.method === 'PUT')
  assert.equal(heartbeat.path, '/eureka/apps/DELIVERY-IMAGES/i-0abc')
})

test('static URLs skip the registry; without them and without Eureka the start fails', () => {
  const config = loadConfig({ env: { LOGIC_MANAGER_URL: 'http://lm.internal:9000/', LOGIC_SOURCE: 'remote' }, configDir: '/nonexistent' })
  const discovery = createDiscovery({ config, logger: silent, port: 8080 })
  assert.deepEqual(discovery.logicManager().candidates(), ['http://lm.internal:9000'])
  assert.throws(() => discovery.translator(), (error: Error) => error instanceof ConfigError && /TRANSLATOR_URL/.test(error.message))
})

for (const collapseSingle of [false, true]) {
  test(`never calls a DOWN instance of the logic manager (${collapseSingle ? 'single objects' : 'arrays'})`, async (t) => {
    const eureka = await fakeEureka(t, collapseSingle)
    const up = await logicManager(t)
    const down = await logicManager(t)
    eureka.add({ app: 'LOGIC-MANAGER', port: up.port })
    eureka.add({ app: 'LOGIC-MANAGER', port: down.port, status: 'DOWN' })
    const discovery = await startDiscovery(eureka)
    const locator = discovery.logicManager()
    assert.deepEqual(locator.candidates(), [up.url])

    const http = createHttpClient()
    t.after(async () => { await http.close() })
    for (let i = 0; i < 4; i++) {
      const status = await withFailover(locator, async (base) =>
        (await http.get(`${base}/v1/aliases/shots`, { signal: AbortSignal.timeout(1000), requestId: 'r', accept: 'application/json' })).status)
      assert.equal(status, 200)
    }
    assert.equal(up.calls(), 4)
    assert.equal(down.calls(), 0)
  })
}

test('spreads calls round-robin over UP instances and follows registry changes', async (t) => {
  const eureka = await fakeEureka(t)
  const first = await logicManager(t)
  const second = await logicManager(t)
  eureka.add({ app: 'LOGIC-MANAGER', port: first.port })
  const secondRecord = eureka.add({ app: 'LOGIC-MANAGER', port: second.port })
  const discovery = await startDiscovery(eureka)
  const locator = discovery.logicManager()
  const picks = Array.from({ length: 4 }, () => locator.candidates()[0])
  assert.equal(picks.filter((url) => url === first.url).length, 2)
  assert.equal(picks.filter((url) => url === second.url).length, 2)

  eureka.setStatus('LOGIC-MANAGER', secondRecord.instanceId, 'OUT_OF_SERVICE')
  const fetches = eureka.requests.filter((r) => r.method === 'GET').length
  await eureka.waitFor((r) => r.method === 'GET' && eureka.requests.filter((q) => q.method === 'GET').length > fetches + 1)
  assert.deepEqual(locator.candidates(), [first.url])
})

test('a call that fails on one instance is retried once on another', async (t) => {
  const eureka = await fakeEureka(t)
  const alive = await logicManager(t)
  eureka.add({ app: 'TRANSLATOR', port: await deadPort() })
  eureka.add({ app: 'TRANSLATOR', port: alive.port })
  const discovery = await startDiscovery(eureka)
  const locator = discovery.translator()
  assert.equal(locator.candidates().length, 2)

  const http = createHttpClient()
  t.after(async () => { await http.close() })
  const tried: string[] = []
  for (let i = 0; i < 4; i++) {
    const response = await withFailover(locator, async (base) => {
      tried.push(base)
      return await http.get(`${base}/v1/aliases/shots`, { signal: AbortSignal.timeout(1000), requestId: 'r', accept: 'application/json' })
    })
    assert.equal(response.status, 200)
  }
  assert.equal(alive.calls(), 4)
  // Two of the four calls started on the dead instance and moved over.
  assert.equal(tried.length, 6)
})

test('with every instance failing, the error surfaces after one retry', async (t) => {
  const eureka = await fakeEureka(t)
  eureka.add({ app: 'TRANSLATOR', port: await deadPort() })
  eureka.add({ app: 'TRANSLATOR', port: await deadPort(), hostName: '127.0.0.1', instanceId: 'other' })
  const discovery = await startDiscovery(eureka)
  const http = createHttpClient()
  t.after(async () => { await http.close() })
  let attempts = 0
  await assert.rejects(withFailover(discovery.translator(), async (base) => {
    attempts++
    return await http.get(`${base}/v1/aliases/shots`, { signal: AbortSignal.timeout(1000), requestId: 'r', accept: 'application/json' })
  }), { code: 'DEPENDENCY_UNAVAILABLE' })
  assert.equal(attempts, 2)
})

test('no UP instance is a DEPENDENCY_UNAVAILABLE', async (t) => {
  const eureka = await fakeEureka(t)
  const discovery = await startDiscovery(eureka)
  await assert.rejects(withFailover(discovery.logicManager(), async () => 'never'), { code: 'DEPENDENCY_UNAVAILABLE' })
})
