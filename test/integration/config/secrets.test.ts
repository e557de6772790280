import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import os from 'node:os'
import path from 'node:path'
import { before, describe, test, type TestContext } from 'node:test'
import { createDynamicConfig } from '../../../src/config/dynamic.ts'
import { ConfigError, loadConfig } from '../../../src/config/load.ts'
import { startSecrets, type StartedSecrets } from '../../../src/config/secrets.ts'
import { parseSecretValues } from '../../../src/config/secrets/aws-secrets-manager.ts'
import { buildAdminServer } from '../../../src/http/admin/admin-server.ts'
import { createBreakers } from '../../../src/resilience/breakers.ts'
import { buildTestApp } from '../../helpers/build-app.ts'
import { startFakeSecretsManager, type FakeSecretsManager } from '../../helpers/fake-secrets-manager.ts'
import { makeJpeg } from '../../helpers/images.ts'
import { createLogSink } from '../../helpers/log-sink.ts'

const SECRET_ID = 'delivery-images/pro/secrets'
const OLD_KEY = 'old-signing-key-0123456789'
const NEW_KEY = 'new-signing-key-0123456789'
const OLD_TOKEN = 'old-admin-token-0123456789'
const NEW_TOKEN = 'new-admin-token-0123456789'
const PATH = '/tenants/acme/domains/news/buckets/signed/images/x.jpg'
const NO_ENV_FILES = path.join(os.tmpdir(), 'delivery-images-none')

let photo: Buffer
before(async () => { photo = await makeJpeg(120, 80) })

function secretText (keys: string[], token: string | null): string {
  return JSON.stringify({ SIGNING_KEYS: { 'acme/news': keys }, ADMIN_TOKEN: token })
}

/** The signature scheme, written out independently of the service's code: HMAC of path + sorted query. */
function signed (key: string, query: string): string {
  const sorted = query.split('&').sort().join('&')
  return `${PATH}?${query}&s=${createHmac('sha256', key).update(`${PATH}?${sorted}`).digest('base64url')}`
}

function awsEnv (extra: Record<string, string> = {}): Record<string, string> {
  return { SECRETS_SOURCE: 'aws-secrets-manager', SECRETS_ID: SECRET_ID, DYNAMIC_CONFIG_POLL_MS: '20', ...extra }
}

async function fakeWith (t: TestContext, text: string | null): Promise<FakeSecretsManager> {
  const fake = await startFakeSecretsManager()
  t.after(async () => { await fake.close() })
  if (text !== null) fake.put(SECRET_ID, text)
  return fake
}

async function started (t: TestContext, fake: FakeSecretsManager, env = awsEnv()) {
  const config = loadConfig({ env, configDir: NO_ENV_FILES })
  const { logger, logs } = createLogSink()
  const secrets = await startSecrets({ config, logger, client: fake.newClient() })
  t.after(async () => { await secrets.stop() })
  return { config, logger, logs, secrets }
}

/** A new version, then the next background read (DYNAMIC_CONFIG_POLL_MS) to completion. */
async function rotate (fake: FakeSecretsManager, secrets: StartedSecrets, text: string): Promise<void> {
  fake.put(SECRET_ID, text)
  await fake.nextCall()
  // Joins the read in flight (or, if it already ended, reads again): either way the new version.
  assert.equal(await secrets.poll(), true)
}

describe('the secret document', () => {
  test('SIGNING_KEYS as an object or as the env variable\'s JSON text, ADMIN_TOKEN optional', () => {
    assert.deepEqual(parseSecretValues(secretText([OLD_KEY], OLD_TOKEN)), { signingKeys: { 'acme/news': [OLD_KEY] }, adminToken: OLD_TOKEN })
    assert.deepEqual(parseSecretValues(JSON.stringify({ SIGNING_KEYS: JSON.stringify({ 'a/b': OLD_KEY }) })), { signingKeys: { 'a/b': OLD_KEY }, adminToken: null })
    assert.deepEqual(parseSecretValues('{}'), { signingKeys: {}, adminToken: null })
  })

  test('invalid documents are refused with messages that never quote a secret', () => {
    const cases: Array<[string, RegExp]> = [
      [`not json ${OLD_KEY}`, /not JSON/],
      [JSON.stringify([OLD_KEY]), /JSON object/],
      [JSON.stringify({ SIGNING_KEYS: { 'acme/news': 'short-key' } }), /"acme\/news": every key must be a string of at least 16 bytes/],
      [JSON.stringify({ SIGNING_KEYS: { acme: OLD_KEY } }), /"acme" is not "<tenant>\/<domain>"/],
      [JSON.stringify({ SIGNING_KEYS: { 'acme/news': [] } }), /empty list/],
      [JSON.stringify({ ADMIN_TOKEN: 42 }), /ADMIN_TOKEN/],
      [JSON.stringify({ ADMIN_TOKEN: '' }), /ADMIN_TOKEN/]
    ]
    for (const [text, expected] of cases) {
      assert.throws(() => parseSecretValues(text), (error: Error) => {
        assert.match(error.message, expected)
        assert.ok(!error.message.includes(OLD_KEY) && !error.message.includes('short-key'), error.message)
        return true
      })
    }
  })
})

describe('SECRETS_SOURCE', () => {
  test('env (the default) serves the static configuration', async (t) => {
    const config = loadConfig({ env: { SIGNING_KEYS: JSON.stringify({ 'acme/news': OLD_KEY }), ADMIN_TOKEN: OLD_TOKEN }, configDir: NO_ENV_FILES })
    const secrets = await startSecrets({ config, logger: createLogSink().logger })
    t.after(async () => { await secrets.stop() })
    assert.deepEqual(secrets.signingKeys(), { 'acme/news': OLD_KEY })
    assert.equal(secrets.adminToken(), OLD_TOKEN)
  })

  test('aws-secrets-manager reads both secrets from one JSON secret through the SDK', async (t) => {
    const fake = await fakeWith(t, secretText([OLD_KEY], OLD_TOKEN))
    const { secrets } = await started(t, fake)
    assert.deepEqual(secrets.signingKeys(), { 'acme/news': [OLD_KEY] })
    assert.equal(secrets.adminToken(), OLD_TOKEN)
    assert.deepEqual(fake.calls[0], { secretId: SECRET_ID })
  })

  test('a missing SECRETS_ID, a missing secret or an invalid one stops the start with a ConfigError and no secret in it', async (t) => {
    const fake = await fakeWith(t, null)
    const logger = createLogSink().logger
    const attempt = async (env: Record<string, string>): Promise<ConfigError> => {
      const config = loadConfig({ env, configDir: NO_ENV_FILES })
      try {
        await startSecrets({ config, logger, client: fake.newClient() })
      } catch (error) {
        assert.ok(error instanceof ConfigError, String(error))
        return error
      }
      return assert.fail('the start should have failed')
    }
    assert.match((await attempt({ SECRETS_SOURCE: 'aws-secrets-manager' })).message, /SECRETS_ID .* is required/)
    assert.match((await attempt(awsEnv())).message, /cannot read secret "delivery-images\/pro\/secrets": ResourceNotFoundException/)
    fake.put(SECRET_ID, JSON.stringify({ SIGNING_KEYS: { 'acme/news': 'tiny' }, ADMIN_TOKEN: OLD_TOKEN }))
    const invalid = await attempt(awsEnv())
    assert.match(invalid.message, /at least 16 bytes/)
    assert.ok(!invalid.message.includes(OLD_TOKEN) && !invalid.message.includes('tiny'))
  })
})

describe('rotation without a restart', () => {
  test('a signed URL: the new key works after the next poll, the old one while it is listed', async (t) => {
    const fake = await fakeWith(t, secretText([OLD_KEY], null))
    const { secrets } = await started(t, fake)
    const app = await buildTestApp(t, {
      originals: { 'acme/news/signed/x.jpg': photo },
      logic: { buckets: { 'acme/news/signed': { adHoc: 'signed' } } },
      env: awsEnv(),
      parts: { secrets }
    })
    const status = async (key: string): Promise<number> => (await app.server.inject(signed(key, 'w=40'))).statusCode

    assert.equal(await status(OLD_KEY), 200)
    assert.equal(await status(NEW_KEY), 403)

    await rotate(fake, secrets, secretText([NEW_KEY, OLD_KEY], null))
    assert.equal(await status(NEW_KEY), 200)
    assert.equal(await status(OLD_KEY), 200, 'the old key stays valid while it is listed')

    await rotate(fake, secrets, secretText([NEW_KEY], null))
    assert.equal(await status(NEW_KEY), 200)
    assert.equal(await status(OLD_KEY), 403)
    assert.ok(!JSON.stringify(app.logs).includes(OLD_KEY) && !JSON.stringify(app.logs).includes(NEW_KEY))
  })

  test('the admin token: the new one is accepted after the next poll, the old one refused; /admin/config shows neither', async (t) => {
    const fake = await fakeWith(t, secretText([OLD_KEY], OLD_TOKEN))
    const { config, logger, logs, secrets } = await started(t, fake)
    const dynamic = createDynamicConfig({ config, logger, env: {} })
    const breakers = createBreakers(config.breakers)
    const admin = buildAdminServer({ config, dynamic, breakers, logger, secrets })
    t.after(async () => {
      await admin.close()
      for (const breaker of Object.values(breakers)) breaker.circuit.shutdown()
    })
    const put = async (token: string): Promise<number> => (await admin.inject({
      method: 'PUT', url: '/admin/config/LIMITS_MAX_QUEUE', headers: { authorization: `Bearer ${token}` }, payload: { value: 7 }
    })).statusCode

    assert.equal(await put(OLD_TOKEN), 200)
    assert.equal(await put(NEW_TOKEN), 401)
    await rotate(fake, secrets, secretText([OLD_KEY], NEW_TOKEN))
    assert.equal(await put(NEW_TOKEN), 200)
    assert.equal(await put(OLD_TOKEN), 401)

    const shown = (await admin.inject('/admin/config')).body
    for (const secret of [OLD_KEY, OLD_TOKEN, NEW_TOKEN]) {
      assert.ok(!shown.includes(secret), 'the admin port shows no secret')
      assert.ok(!JSON.stringify(logs).includes(secret), 'no log line holds a secret')
    }
  })

  test('a failing or invalid re-read keeps the last good values, logged once without the secret, and recovery is logged', async (t) => {
    const fake = await fakeWith(t, secretText([OLD_KEY], OLD_TOKEN))
    // No background read in between: each poll() below is one read, in order.
    const { logs, secrets } = await started(t, fake, awsEnv({ DYNAMIC_CONFIG_POLL_MS: '3600000' }))

    fake.failNext(2, 400, 'AccessDeniedException')
    assert.equal(await secrets.poll(), false)
    assert.equal(await secrets.poll(), false)
    fake.put(SECRET_ID, JSON.stringify({ SIGNING_KEYS: { 'acme/news': ['short-new-key'] }, ADMIN_TOKEN: NEW_TOKEN }))
    assert.equal(await secrets.poll(), false)
    assert.deepEqual(secrets.signingKeys(), { 'acme/news': [OLD_KEY] })
    assert.equal(secrets.adminToken(), OLD_TOKEN)

    const failures = logs.filter((line) => line.msg === 'reading the secret failed; keeping the last good values')
    assert.equal(failures.length, 1, 'logged when reads start failing, not on every attempt')
    assert.match(String(failures[0]?.reason), /AccessDeniedException/)
    assert.equal(failures[0]?.secretId, SECRET_ID)

    fake.put(SECRET_ID, secretText([NEW_KEY], NEW_TOKEN))
    assert.equal(await secrets.poll(), true)
    assert.deepEqual(secrets.signingKeys(), { 'acme/news': [NEW_KEY] })
    assert.ok(logs.some((line) => line.msg === 'reading the secret works again'))
    assert.ok(logs.some((line) => line.msg === 'secret rotated: new signing keys and admin token apply'))
    const text = JSON.stringify(logs)
    for (const secret of [OLD_KEY, NEW_KEY, OLD_TOKEN, NEW_TOKEN, 'short-new-key']) assert.ok(!text.includes(secret), `no log line holds ${secret.slice(0, 3)}…`)
  })
})
