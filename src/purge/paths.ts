import type { PurgeScope } from './records.ts'

const API_PREFIX = '/api/v1'

/**
 * The CDN paths that can hold a scope's answers (routes): the bucket route, the alias
 * routes of every alias the logic knows for the bucket, each with and without `/api/v1`. They end
 * with `*` so that every query-string variant goes too (CloudFront keys on the query string); for
 * an image, `a.jpg*` also matches `a.jpg2…`, a harmless extra invalidation.
 */
export function cdnPaths (scope: PurgeScope, aliases: readonly string[]): string[] {
  const { tenant, domain, bucket } = scope.bucket
  const images = scope.imageId === null ? '*' : `${encodePath(scope.imageId)}*`
  const bases = [
    `/tenants/${encodePath(tenant)}/domains/${encodePath(domain)}/buckets/${encodePath(bucket)}`,
    ...[...new Set(aliases)].sort().map((alias) => `/${encodePath(alias)}`)
  ]
  return bases.flatMap((base) => [`${base}/images/${images}`, `${API_PREFIX}${base}/images/${images}`])
}

/**
 * CloudFront wants RFC 1738 unsafe characters percent-encoded and nothing else (an encoded safe
 * character would not match the cached object). Checked names hold only safe characters, so this
 * changes nothing today; it keeps the paths right if the alphabet ever grows.
 */
function encodePath (value: string): string {
  return value.split('/').map(encodeURIComponent).join('/')
}
