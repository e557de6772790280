import type { FastifyInstance } from 'fastify'
import { DeliveryError } from '../../errors.ts'
import { isSchemaName, SCHEMAS, validateDocument } from '../../logic/schemas.ts'

/** `GET /schemas/<file>.json` and `POST /schema/validate?schema=…` (SPEC §4). */
export async function schemaRoutes (app: FastifyInstance): Promise<void> {
  // Any content type is read as text and must parse as JSON: tools post documents as text/plain too.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: 1024 * 1024 }, (_request, body, done) => {
    try {
      done(null, JSON.parse(body as string))
    } catch {
      done(new DeliveryError('INVALID_PARAMETER', 'The body is not JSON'), undefined)
    }
  })

  app.get<{ Params: { file: string } }>('/schemas/:file', async (request, reply) => {
    const name = request.params.file.replace(/\.json$/, '')
    if (!request.params.file.endsWith('.json') || !isSchemaName(name)) {
      throw new DeliveryError('INVALID_PARAMETER', `No schema named '${request.params.file}'`)
    }
    void reply.header('cache-control', 'public, max-age=300').type('application/schema+json')
    return SCHEMAS[name]
  })

  app.post<{ Querystring: { schema?: string } }>('/schema/validate', async (request, reply) => {
    const name = request.query.schema ?? 'bucket-logic'
    if (!isSchemaName(name)) {
      throw new DeliveryError('INVALID_PARAMETER', 'Parameter \'schema\' must be bucket-logic, transformation or logic-file')
    }
    if (request.body === undefined) throw new DeliveryError('INVALID_PARAMETER', 'The body is not JSON')
    const errors = validateDocument(name, request.body)
    void reply.header('cache-control', 'no-store')
    if (errors.length === 0) return { valid: true }
    return await reply.code(422).send({ valid: false, errors })
  })
}
