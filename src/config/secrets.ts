import type { Logger } from 'pino'
import { configErrorAt } from './load.ts'
import type { AppConfig } from './schema.ts'
import type { SecretsManagerClientLike } from './secrets/aws-secrets-manager.ts'
import type { Secrets } from './secrets/types.ts'

export type { Secrets }

/** `SECRETS_SOURCE=env`: the values of the static configuration. */
export function envSecrets (config: Pick<AppConfig, 'signingKeys' | 'admin'>): Secrets {
  return {
    signingKeys: () => config.signingKeys,
    adminToken: () => config.admin.token
  }
}

export interface StartSecretsOptions {
  config: Pick<AppConfig, 'signingKeys' | 'admin' | 'secrets' | 'dynamicConfig' | 's3'>
  logger: Logger
  /** A client to use instead of one for S3_REGION (tests). */
  client?: SecretsManagerClientLike
}

export interface StartedSecrets extends Secrets {
  /** One re-read now, joining one in flight (the background poll does this every DYNAMIC_CONFIG_POLL_MS). */
  poll: () => Promise<boolean>
  /** Ends the polling (shutdown). */
  stop: () => Promise<void>
}

/**
 * The process's secrets per SECRETS_SOURCE, read before the listeners open; `stop` ends the polling
 * (shutdown). A missing SECRETS_ID or a failing first read is a ConfigError (exit 78).
 */
export async function startSecrets (options: StartSecretsOptions): Promise<StartedSecrets> {
  const { config } = options
  switch (config.secrets.source) {
    case 'env':
      return { ...envSecrets(config), poll: async () => true, stop: async () => {} }
    case 'aws-secrets-manager': {
      const secretId = config.secrets.id
      if (secretId === null || secretId === '') throw configErrorAt('secrets.id', 'is required when SECRETS_SOURCE=aws-secrets-manager')
      // Loaded only here: with SECRETS_SOURCE=env the process never loads the SDK client.
      const { createSecretsManagerClient } = await import('../aws/secrets-manager.ts')
      const { createSecretsManagerSecrets } = await import('./secrets/aws-secrets-manager.ts')
      const client = options.client ?? createSecretsManagerClient({ region: config.s3.region })
      const secrets = createSecretsManagerSecrets({ client, secretId, pollMs: config.dynamicConfig.pollMs, logger: options.logger })
      try {
        await secrets.start()
      } catch (error) {
        client.destroy()
        throw error
      }
      return {
        signingKeys: secrets.signingKeys,
        adminToken: secrets.adminToken,
        poll: secrets.poll,
        async stop () {
          await secrets.stop()
          client.destroy()
        }
      }
    }
  }
}
