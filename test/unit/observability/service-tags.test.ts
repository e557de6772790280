import assert from 'node:assert/strict'
import { test } from 'node:test'
import packageJson from '../../../package.json' with { type: 'json' }
import { SERVICE_NAME, serviceTags, serviceVersion } from '../../../src/observability/service-tags.ts'

test('the unified service tags default to the service, APP_ENV and the package version', () => {
  assert.deepEqual(serviceTags('pre', {}), { service: SERVICE_NAME, env: 'pre', version: packageJson.version })
  assert.equal(SERVICE_NAME, packageJson.name)
})

test('DD_SERVICE, DD_ENV and DD_VERSION win, as they do for dd-trace and the agent; blank ones do not count', () => {
  assert.deepEqual(serviceTags('pre', { DD_SERVICE: 'images-eu', DD_ENV: 'pro', DD_VERSION: '0.1.0-42.git0123456789ab' }),
    { service: 'images-eu', env: 'pro', version: '0.1.0-42.git0123456789ab' })
  assert.deepEqual(serviceTags('local', { DD_SERVICE: ' ', DD_ENV: '', DD_VERSION: '' }), { service: SERVICE_NAME, env: 'local', version: packageJson.version })
  assert.equal(serviceVersion({ DD_VERSION: ' 1.0.0 ' }), '1.0.0')
})
