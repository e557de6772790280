import { parseArgs } from 'node:util'
import { sign, signedPayload } from '../src/delivery/signature.ts'

/**
 * Prints a signed ad-hoc URL:
 *   SIGNING_KEYS='{"demo/sport":"secret"}' npm run -s sign -- '/tenants/demo/domains/sport/buckets/photos/images/a.jpg?w=300'
 * The key is the first one listed for the path's <tenant>/<domain> in SIGNING_KEYS, or --key.
 * Alias paths name no tenant: give their bucket's key with --key.
 */
const { values, positionals } = parseArgs({ options: { key: { type: 'string' } }, allowPositionals: true })
const url = positionals[0]
if (url === undefined || !url.startsWith('/')) {
  process.stderr.write('usage: npm run -s sign -- [--key SECRET] \'/tenants/t/domains/d/buckets/b/images/id?w=300&fm=webp\'\n')
  process.exit(2)
}

const [rawPath = '', rawQuery = ''] = url.split('?', 2)
const path = rawPath.replace(/^\/api\/v1(?=\/)/, '')
const pairs = rawQuery.split('&')
  .filter((pair) => pair !== '' && !pair.startsWith('s='))
  .map((pair): [string, string] => {
    const separator = pair.indexOf('=')
    return separator === -1 ? [pair, ''] : [pair.slice(0, separator), pair.slice(separator + 1)]
  })

let key = values.key
if (key === undefined) {
  const match = /^\/tenants\/([^/]+)\/domains\/([^/]+)\//.exec(path)
  const keys = JSON.parse(process.env.SIGNING_KEYS ?? '{}') as Record<string, string | string[]>
  const configured = match === null ? undefined : keys[`${match[1] ?? ''}/${match[2] ?? ''}`]
  key = Array.isArray(configured) ? configured[0] : configured
}
if (key === undefined) {
  process.stderr.write('no key: set SIGNING_KEYS with the path\'s <tenant>/<domain>, or pass --key\n')
  process.exit(2)
}

const signature = sign(key, signedPayload(path, pairs))
const query = pairs.map(([name, value]) => `${name}=${value}`).join('&')
process.stdout.write(`${rawPath}?${query === '' ? '' : `${query}&`}s=${signature}\n`)
