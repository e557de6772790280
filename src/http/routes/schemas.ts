import type { FastifyError, FastifyInstance } from 'fastify'
import { DeliveryError } from '../../errors.ts'
import { createDocumentValidator, isSchemaName, SCHEMAS } from '../../logic/schemas.ts'

export interface SchemaRoutesOptions {
  /** `SCHEMA_VALIDATE_MAX_BYTES`: a larger body is refused with 413 as soon as it is known to be larger. */
  maxBodyBytes: number
}

/** `GET /schemas/<file>.json` and `POST /schema/validate?schema=…`. */
export async function schemaRoutes (app: FastifyInstance, options: SchemaRoutesOptions): Promise<void> {
  const validator = createDocumentValidator()
  app.addHook('onClose', async () => { await validator.close() })

  // Any content type is kept as text and must parse as JSON: tools post documents as text/plain too.
  // The validation thread parses it, off the event loop.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser('*', { parseAs: 'string', bodyLimit: options.maxBodyBytes }, (_request, body, done) => {
    done(null, body)
  })
  // The body limit has its own code; this error and every other one go on to the service's handler.
  app.setErrorHandler(async (error: FastifyError) => {
    if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      throw new DeliveryError('BODY_TOO_LARGE', `The body is larger than ${options.maxBodyBytes} bytes`, { cause: error })
    }
    throw error
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
    // No body at all reaches here as undefined.
    const checked = typeof request.body === 'string' ? await validator.check(name, request.body) : { json: false as const }
    if (!checked.json) throw new DeliveryError('INVALID_PARAMETER', 'The body is not JSON')
    void reply.header('cache-control', 'no-store')
    if (checked.violations.length === 0) return { valid: true }
    return await reply.code(422).send({ valid: false, errors: checked.violations })
  })
}
