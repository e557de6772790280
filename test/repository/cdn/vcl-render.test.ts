// default.vcl is the one source: deployable as it is, rendered for any other backend by changing
// the `service` backend's address and nothing else.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { promisify } from 'node:util'
import { VCL_FILE, parseBackend, renderVcl } from '../../../infra/cdn/varnish/render.ts'

const source = fs.readFileSync(VCL_FILE, 'utf8')

test('rendering changes only the backend\'s .host and .port lines', () => {
  const rendered = renderVcl(source, { host: '10.0.0.5', port: 9090 })
  const before = source.split('\n')
  const after = rendered.split('\n')
  assert.equal(after.length, before.length)
  const changed = after.map((line, i) => [before[i], line]).filter(([was, is]) => was !== is)
  assert.deepEqual(changed, [['    .host = "127.0.0.1";', '    .host = "10.0.0.5";'], ['    .port = "8080";', '    .port = "9090";']])
  assert.equal(renderVcl(source, { host: '127.0.0.1', port: 8080 }), source)
})

test('rendering refuses what would not be a VCL string or a port', () => {
  assert.throws(() => renderVcl(source, { host: 'a"; }', port: 80 }), /invalid backend host/)
  assert.throws(() => renderVcl(source, { host: 'service', port: 0 }), /invalid backend port/)
  assert.throws(() => renderVcl('vcl 4.1;\n', { host: 'service', port: 80 }), /no `backend service/)
  assert.deepEqual(parseBackend('[::1]:8081'), { host: '::1', port: 8081 })
  assert.deepEqual(parseBackend('images-1.internal:8080'), { host: 'images-1.internal', port: 8080 })
})

test('the CLI prints the rendered VCL', async () => {
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(path.dirname(VCL_FILE), 'render.ts'), '--backend', 'images-1.internal:8081'])
  assert.equal(stdout, renderVcl(source, { host: 'images-1.internal', port: 8081 }))
})
