/**
 * The architecture as rules (`npm test` runs them through test/architecture/layers.test.ts).
 *
 * src/ is layered: a module imports only from its own layer or the ones listed before it. Within a
 * layer, folders may use each other as long as no cycle forms.
 */
const LAYERS = [
  { name: 'base', path: '^src/(errors|names)\\.ts$' },
  { name: 'adapters', path: '^src/aws/' },
  // lifecycle/ is the process itself (thread pool size, shutdown): the tracer, loaded first, needs it.
  { name: 'platform', path: '^src/(config|observability|lifecycle)/' },
  { name: 'domain', path: '^src/(transform|origins|cache|logic|remote|resilience|purge)/' },
  { name: 'delivery', path: '^src/delivery/' },
  { name: 'http', path: '^src/http/' },
  { name: 'entry', path: '^src/(app|main|wiring)\\.ts$' }
]

const upward = LAYERS.slice(0, -1).map((layer, index) => ({
  name: `no-upward-from-${layer.name}`,
  comment: `${layer.name} may not import from ${LAYERS.slice(index + 1).map((above) => above.name).join(', ')}`,
  severity: 'error',
  from: { path: layer.path },
  to: { path: LAYERS.slice(index + 1).map((above) => above.path) }
}))

/** Libraries that belong to one layer: everything else reaches them through that layer. */
const confined = [
  { module: 'sharp', allowed: '^src/transform/', why: 'libvips is the transform layer\'s business' },
  { module: 'fastify', allowed: '^src/(http/|app\\.ts$|main\\.ts$)', why: 'HTTP stays in http/ and the entry files' },
  { module: '@aws-sdk/', allowed: '^src/(aws/|origins/s3-|cache/s3-|config/sources/dynamodb-|config/secrets/aws-)', why: 'the AWS SDK only in adapters' },
  { module: 'opossum', allowed: '^src/resilience/', why: 'circuit breakers are resilience/\'s' }
].map(({ module, allowed, why }) => ({
  name: `only-${module.replace(/[^a-z]/g, '')}-where-allowed`,
  comment: why,
  severity: 'error',
  from: { path: '^src/', pathNot: allowed },
  to: { path: `(^|/)node_modules/${module.replace('/', '\\/')}` }
}))

module.exports = {
  forbidden: [
    ...upward,
    ...confined,
    { name: 'no-circular', comment: 'an import cycle makes two modules one', severity: 'error', from: { path: '^src/' }, to: { circular: true } },
    { name: 'production-not-from-test', comment: 'what ships or runs in production never imports test code', severity: 'error', from: { path: '^(src|scripts|infra|bench)/' }, to: { path: '^test/' } }
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(build|coverage)/' }
  }
}
