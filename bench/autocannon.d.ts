// autocannon ships no types; this covers the part of its API the benchmark uses.
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  export interface RequestParams {
    method?: string
    path?: string
    headers?: Record<string, string>
    body?: string | Buffer
  }

  /** A context object per connection, reset before each request is built. */
  export type RequestContext = Record<string, unknown>

  export interface Request extends RequestParams {
    /** Called before each request is sent; returns the request to send. */
    setupRequest?: (request: RequestParams, context: RequestContext) => RequestParams | null
    /** Called when the response to the request built with the same context is complete. */
    onResponse?: (status: number, body: string, context: RequestContext, headers: Record<string, string>) => void
  }

  export interface Options {
    url: string
    connections?: number
    duration?: number
    pipelining?: number
    /** Seconds before a request counts as a timeout. */
    timeout?: number
    requests?: Request[]
    headers?: Record<string, string>
  }

  export interface Histogram {
    average: number
    mean: number
    stddev: number
    min: number
    max: number
    p50: number
    p90: number
    p99: number
    total?: number
  }

  export interface Result {
    /** Seconds. */
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    resets: number
    '2xx': number
    statusCodeStats: Record<string, { count: number }>
    /** Milliseconds. */
    latency: Histogram & { totalCount: number }
    requests: Histogram & { total: number, sent: number }
    throughput: Histogram
  }

  export interface Instance extends EventEmitter, PromiseLike<Result> {
    stop: () => void
  }

  export default function autocannon (options: Options): Instance
}
