import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { createLogger, scrubSignatures } from '../../../src/observability/logger.ts'

interface Capture {
  raw: string[]
  /** The lines written so far, parsed. */
  lines: () => Array<Record<string, unknown>>
  logger: ReturnType<typeof createLogger>
}

function capture (level: 'info' | 'debug' = 'info'): Capture {
  const raw: string[] = []
  const logger = createLogger({ level, destination: { write: (line: string) => { raw.push(line) } } })
  return { raw, logger, lines: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>) }
}

describe('logger', () => {
  test('writes JSON lines with an ISO time and the level as a label', () => {
    const { lines, logger } = capture()
    logger.info({ requestId: 'r1' }, 'hello')
    const [line] = lines()
    assert.equal(line?.level, 'info')
    assert.equal(line?.msg, 'hello')
    assert.equal(line?.requestId, 'r1')
    assert.match(String(line?.time), /^\d{4}-\d\d-\d\dT/)
  })

  test('every line carries the unified service tags when given', () => {
    const raw: string[] = []
    const logger = createLogger({ level: 'info', serviceTags: { service: 'delivery-images', env: 'pre', version: '0.1.0-7.gitabc' }, destination: { write: (line: string) => { raw.push(line) } } })
    logger.child({ component: 'x' }).info('tagged')
    const line = JSON.parse(raw[0] ?? '{}') as Record<string, unknown>
    assert.deepEqual([line.service, line.env, line.version, line.component], ['delivery-images', 'pre', '0.1.0-7.gitabc', 'x'])
    assert.equal(typeof line.pid, 'number', 'pino\'s own base fields stay')
  })

  test('honours the level and a level change at run time', () => {
    const { lines, logger } = capture('info')
    logger.debug('hidden')
    logger.level = 'debug'
    logger.debug('shown')
    assert.deepEqual(lines().map((line) => line.msg), ['shown'])
  })

  test('redacts authorization headers, signing keys and the admin token', () => {
    const { raw, lines, logger } = capture()
    logger.info({
      req: { headers: { authorization: 'Bearer admin-secret', cookie: 'session=abc', accept: 'image/webp' } },
      config: { signingKeys: { 'acme/news': ['key-new', 'key-old'] }, admin: { token: 'admin-secret' } },
      env: { SIGNING_KEYS: '{"acme/news":"key-env"}', ADMIN_TOKEN: 'admin-secret' },
      authorization: 'Basic dXNlcjpwYXNz'
    }, 'config loaded')
    const text = raw.join('')
    for (const secret of ['admin-secret', 'key-new', 'key-old', 'key-env', 'session=abc', 'dXNlcjpwYXNz']) {
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`)
    }
    const line = lines()[0] as { req: { headers: Record<string, string> }, config: { admin: { token: string } } }
    assert.equal(line.req.headers.authorization, '[redacted]')
    assert.equal(line.req.headers.accept, 'image/webp')
    assert.equal(line.config.admin.token, '[redacted]')
  })

  test('redacts the s signature in logged URLs and messages, keeping the other parameters', () => {
    const { raw, lines, logger } = capture()
    logger.info({ url: '/tenants/a/domains/b/buckets/c/images/x.jpg?w=100&s=SiGnAtUrE_123&h=5', req: { url: '/x?s=SiGnAtUrE_123' } }, 'served')
    logger.warn('bad request for /x.jpg?s=SiGnAtUrE_123')
    logger.info({ query: { signature: 'SiGnAtUrE_123' } }, 'parsed')
    assert.ok(!raw.join('').includes('SiGnAtUrE_123'), raw.join(''))
    assert.equal(lines()[0]?.url, '/tenants/a/domains/b/buckets/c/images/x.jpg?w=100&s=[redacted]&h=5')
    assert.equal(lines()[1]?.msg, 'bad request for /x.jpg?s=[redacted]')
  })

  test('leaves parameters that merely end in s alone', () => {
    assert.equal(scrubSignatures('/x?pos=north&s=abc&fits=1'), '/x?pos=north&s=[redacted]&fits=1')
    assert.equal(scrubSignatures('/x?w=1'), '/x?w=1')
  })
})
