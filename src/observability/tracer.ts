import '../lifecycle/threadpool.ts'
import type ddTrace from 'dd-trace'
import { SERVICE_NAME, serviceVersion } from './service-tags.ts'

/**
 * Datadog APM. Load this module before anything it instruments (fastify, http, undici,
 * the AWS SDK, pino):
 *
 *   node --import ./src/observability/tracer.ts src/main.ts
 *
 * With `DD_TRACE_ENABLED` unset or false, dd-trace is not even loaded: no hooks, no agent
 * connection, and `withSpan` only calls its function.
 *
 * Every dd-trace variable applies (`DD_TRACE_AGENT_URL`, `DD_SERVICE`, `DD_ENV`, …); the
 * defaults below are only set when ops have not chosen otherwise, since dd-trace ranks
 * programmatic options above its environment variables.
 */

type Tracer = typeof ddTrace
export type Span = ddTrace.Span

/** Tag values dd-trace stores as span meta/metrics. */
export type SpanTags = Record<string, string | number | boolean>

/** What a traced function may do with its span; a no-op when tracing is off. */
export interface SpanHandle {
  setTag: (key: string, value: string | number | boolean) => void
}

/** Same truthiness as dd-trace gives `DD_TRACE_ENABLED`. */
export function isTracingEnabled (env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.DD_TRACE_ENABLED?.trim().toLowerCase()
  return value === 'true' || value === '1'
}

/**
 * Ops defaults that differ from dd-trace's: our service name, the `APP_ENV` as `env`, the version
 * (`DD_VERSION`, else the package's: the same unified tags as metrics and logs), trace ids in
 * log lines, and B3 next to Datadog and W3C tracecontext so that Zipkin-instrumented peers join
 * the same trace (`b3multi` is `x-b3-*`, `b3 single header` is `b3:`).
 */
export function applyTracingDefaults (env: NodeJS.ProcessEnv): void {
  env.DD_SERVICE ??= SERVICE_NAME
  if (env.DD_ENV === undefined && env.APP_ENV !== undefined) env.DD_ENV = env.APP_ENV
  env.DD_VERSION ??= serviceVersion(env)
  env.DD_LOGS_INJECTION ??= 'true'
  const stylesChosen = ['DD_TRACE_PROPAGATION_STYLE', 'DD_TRACE_PROPAGATION_STYLE_INJECT', 'DD_TRACE_PROPAGATION_STYLE_EXTRACT', 'OTEL_PROPAGATORS']
    .some((name) => env[name] !== undefined)
  if (!stylesChosen) {
    env.DD_TRACE_PROPAGATION_STYLE_INJECT = 'datadog,tracecontext,b3multi'
    env.DD_TRACE_PROPAGATION_STYLE_EXTRACT = 'datadog,tracecontext,b3multi,b3 single header'
  }
}

let tracer: Tracer | null = null

if (isTracingEnabled()) {
  applyTracingDefaults(process.env)
  // dd-trace's own ESM entry: initialises from the environment and registers the loader hook
  // that instruments modules imported (not required) after this point.
  // (A variable specifier: the file ships without typings and exports nothing we use.)
  const initialize = 'dd-trace/initialize.mjs'
  await import(initialize)
  tracer = (await import('dd-trace')).default
}

/** The initialised tracer, or null when tracing is off. */
export function activeTracer (): Tracer | null {
  return tracer
}

const NO_SPAN: SpanHandle = { setTag () {} }

/**
 * Runs `fn` in a child span of the current one (origin fetch, logic/alias calls, the
 * transformation). The span ends when `fn` settles and records its error. When tracing is off
 * this is a plain call.
 */
export async function withSpan<T> (name: string, tags: SpanTags, fn: (span: SpanHandle) => Promise<T>): Promise<T> {
  if (tracer === null) return await fn(NO_SPAN)
  return await tracer.trace(name, { tags }, async (span) => await fn(span ?? NO_SPAN))
}

/** Adds tags to the span active right now (e.g. the request's span from an HTTP hook). */
export function tagActiveSpan (tags: SpanTags): void {
  if (tracer === null) return
  tracer.scope().active()?.addTags(tags)
}
