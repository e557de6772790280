import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import type { TestContext } from 'node:test'
import type { FastifyInstance } from 'fastify'
import type { Logger } from 'pino'
import { createLogSink } from './log-sink.ts'
import { buildApp, type App, type AppOptions } from '../../src/app.ts'
import { startDynamicSource, type DynamicSourceHandle } from '../../src/config/dynamic.ts'
import { loadConfig } from '../../src/config/load.ts'
import type { AppConfig } from '../../src/config/schema.ts'
import { buildAdminServer } from '../../src/http/admin/admin-server.ts'

export const BUCKET = { tenant: 'acme', domain: 'news', bucket: 'photos' }
export const BUCKET_PATH = '/tenants/acme/domains/news/buckets/photos/images'

export interface TestAppOptions {
  /** Originals by key under the folder root, e.g. `acme/news/photos/a.jpg`. */
  originals?: Record<string, Buffer>
  /** The logic file document; by default one bucket allowing ad-hoc transformations. */
  logic?: unknown
  /** Files written beside the logic file (watermarks). */
  files?: Record<string, Buffer>
  env?: Record<string, string>
  /** Parts that replace the configured ones (origin, logic, cache, secrets, dynamic config, metrics, …). */
  parts?: Partial<Omit<AppOptions, 'config' | 'logger'>>
  /** Starts DYNAMIC_CONFIG_SOURCE as main.ts does: its properties and purge records, and purges published through it. */
  startSource?: boolean
}

export interface TestApp extends App {
  config: AppConfig
  root: string
  dir: string
  /** Every log line written so far, parsed. */
  logs: Array<Record<string, unknown>>
  logger: Logger
  /** The admin port, built as main.ts builds it (injected, never listening). */
  admin: FastifyInstance
  /** The started dynamic source (with `startSource`), else null. */
  source: DynamicSourceHandle | null
}

export function defaultLogic (): unknown {
  return {
    buckets: {
      'acme/news/photos': {
        rules: {
          thumb: { width: 100, height: 100 },
          hero: { width: 300, format: 'auto', quality: 70 }
        },
        cacheControl: 'public, max-age=3600',
        adHoc: 'allow'
      },
      'acme/news/locked': { rules: { thumb: { width: 50 } }, defaultRule: 'thumb', adHoc: 'deny' }
    },
    aliases: { shots: BUCKET }
  }
}

/** Builds the real app over a temporary folder of originals and a temporary logic file. */
export async function buildTestApp (t: TestContext, options: TestAppOptions = {}): Promise<TestApp> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'delivery-images-test-'))
  const root = path.join(dir, 'originals')
  fs.mkdirSync(root)
  for (const [key, bytes] of Object.entries(options.originals ?? {})) {
    fs.mkdirSync(path.dirname(path.join(root, key)), { recursive: true })
    fs.writeFileSync(path.join(root, key), bytes)
  }
  for (const [name, bytes] of Object.entries(options.files ?? {})) fs.writeFileSync(path.join(dir, name), bytes)
  const logicFile = path.join(dir, 'logic.json')
  fs.writeFileSync(logicFile, JSON.stringify(options.logic ?? defaultLogic()))

  const config = loadConfig({
    env: { ORIGIN_FS_ROOT: root, LOGIC_FILE: logicFile, STATSD_ENABLED: 'false', ...options.env },
    configDir: path.join(dir, 'no-env-files')
  })
  const { logger, logs } = createLogSink()
  const app = buildApp({ config, logger, ...options.parts })
  const admin = buildAdminServer({ config, dynamic: app.dynamic, breakers: app.breakers, logger, limiter: app.limiter, purge: app.purge })
  let source: DynamicSourceHandle | null = null
  t.after(async () => {
    await source?.stop()
    await admin.close()
    await app.server.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })
  if (options.startSource === true) {
    source = await startDynamicSource({ config, dynamic: app.dynamic, logger, records: [app.purge.records] })
    app.purge.publishThrough(source)
  }
  await app.server.ready()
  return { ...app, config, root, dir, logs, logger, admin, source }
}
