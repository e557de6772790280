import packageJson from '../../package.json' with { type: 'json' }

/**
 * Datadog's unified service tagging: the same `service`, `env` and `version` on metrics, traces and
 * logs, so that a deployment's version can be compared with the previous one (a canary) and a log
 * line, a trace and a metric of one instance join up. `DD_SERVICE`, `DD_ENV` and `DD_VERSION` are
 * the variables the agent, dd-trace and Datadog's docs use; the defaults come from the service.
 */
export const SERVICE_NAME = 'delivery-images'

export interface ServiceTags {
  service: string
  env: string
  version: string
}

/**
 * DD_VERSION (set by the packaging to `<package version>-<build>.git<commit>`, the image tag and
 * RPM release), else the package version: every process reports a version.
 */
export function serviceVersion (env: NodeJS.ProcessEnv = process.env): string {
  return nonEmpty(env.DD_VERSION) ?? packageJson.version
}

/** `appEnv` is APP_ENV (`config.appEnv`); DD_ENV, when set, wins as it does for dd-trace and the agent. */
export function serviceTags (appEnv: string, env: NodeJS.ProcessEnv = process.env): ServiceTags {
  return {
    service: nonEmpty(env.DD_SERVICE) ?? SERVICE_NAME,
    env: nonEmpty(env.DD_ENV) ?? appEnv,
    version: serviceVersion(env)
  }
}

function nonEmpty (value: string | undefined): string | undefined {
  const trimmed = value?.trim()
  return trimmed === undefined || trimmed === '' ? undefined : trimmed
}
