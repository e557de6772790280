import { GetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager'
import type { Logger } from 'pino'
import { configErrorAt } from '../load.ts'
import { checkSigningKeys, signingKeysOf, type SigningKeys } from '../schema.ts'
import type { Secrets } from './types.ts'
import { createPoller } from '../poller.ts'

/** What the service needs of a Secrets Manager client (a fake one in tests). */
export type SecretsManagerClientLike = Pick<SecretsManagerClient, 'send' | 'destroy'>

/** What one Secrets Manager secret holds: `{"SIGNING_KEYS": {…}, "ADMIN_TOKEN": "…"}`. */
export interface SecretValues {
  signingKeys: SigningKeys
  adminToken: string | null
}

/**
 * Parses and validates the secret's text. Both entries are optional (no signed buckets, a read-only
 * admin port); an entry that is present must be valid. Error messages never quote the text: a JSON
 * parser's message would carry a fragment of the secret.
 */
export function parseSecretValues (text: string): SecretValues {
  let document: unknown
  try {
    document = JSON.parse(text)
  } catch {
    throw new Error('the secret is not JSON')
  }
  if (typeof document !== 'object' || document === null || Array.isArray(document)) {
    throw new Error('the secret must be a JSON object with SIGNING_KEYS and/or ADMIN_TOKEN')
  }
  const { SIGNING_KEYS: keys, ADMIN_TOKEN: token } = document as Record<string, unknown>
  if (keys !== undefined) {
    try {
      checkSigningKeys(keys)
    } catch (error) {
      throw new Error(`SIGNING_KEYS in the secret: ${error instanceof Error ? error.message : 'invalid'}`)
    }
  }
  if (token !== undefined && token !== null && (typeof token !== 'string' || token === '')) {
    throw new Error('ADMIN_TOKEN in the secret must be a non-empty string or null')
  }
  return { signingKeys: keys === undefined ? {} : signingKeysOf(keys), adminToken: token ?? null }
}

export interface SecretsManagerSecretsOptions {
  client: Pick<SecretsManagerClient, 'send'>
  /** SECRETS_ID: name or ARN. */
  secretId: string
  /** DYNAMIC_CONFIG_POLL_MS: delay between the end of one read and the start of the next. */
  pollMs: number
  logger: Logger
}

export interface PolledSecrets extends Secrets {
  /** The first read; throws a ConfigError when it fails (no secret, no start). */
  start: () => Promise<void>
  /** One read now (joins a read in flight); false when it failed and the last good values stay. */
  poll: () => Promise<boolean>
  stop: () => Promise<void>
}

/**
 * `SECRETS_SOURCE=aws-secrets-manager`: SIGNING_KEYS and ADMIN_TOKEN from one JSON secret (its
 * AWSCURRENT version), re-read every DYNAMIC_CONFIG_POLL_MS so that a rotation applies without a
 * restart. A rotation lists the new signing key beside the old one, so URLs signed with either stay
 * valid until the old key is removed. A failing re-read keeps the last good values and is logged
 * once, when reads start failing, and once when they recover; no log line carries a secret.
 */
export function createSecretsManagerSecrets (options: SecretsManagerSecretsOptions): PolledSecrets {
  const logger = options.logger.child({ component: 'secrets', secretId: options.secretId })
  let values: SecretValues | null = null
  let versionId: string | undefined

  async function read (signal: AbortSignal): Promise<void> {
    const output = await options.client.send(new GetSecretValueCommand({ SecretId: options.secretId }), { abortSignal: signal })
    // A binary secret has no SecretString: the document is JSON text.
    if (output.SecretString === undefined) throw new Error('the secret has no SecretString (binary secrets are not supported)')
    // An unchanged version is not parsed again.
    if (values !== null && output.VersionId !== undefined && output.VersionId === versionId) return
    values = parseSecretValues(output.SecretString)
    if (versionId !== undefined && output.VersionId !== versionId) logger.info({ versionId: output.VersionId }, 'secret rotated: new signing keys and admin token apply')
    versionId = output.VersionId
  }

  const poller = createPoller({
    pollMs: options.pollMs,
    read,
    onFailure: (error, first) => { if (first) logger.error({ reason: reasonOf(error) }, 'reading the secret failed; keeping the last good values') },
    onRecovery: () => { logger.info('reading the secret works again') }
  })

  return {
    signingKeys: () => values?.signingKeys ?? {},
    adminToken: () => values?.adminToken ?? null,
    poll: poller.poll,
    async start () {
      try {
        await read(poller.signal)
      } catch (error) {
        throw configErrorAt('secrets.id', `cannot read secret ${JSON.stringify(options.secretId)}: ${reasonOf(error)}`)
      }
      poller.schedule()
    },
    stop: poller.stop
  }
}

/**
 * An error's name and message only: SDK errors carry the request and response, and a parse error
 * was already made secret-free by parseSecretValues.
 */
function reasonOf (error: unknown): string {
  if (!(error instanceof Error)) return 'unknown error'
  return error.name === 'Error' ? error.message : `${error.name}: ${error.message}`
}
