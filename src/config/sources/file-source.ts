import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import fsp from 'node:fs/promises'
import path from 'node:path'
import type { Logger } from 'pino'
import type { DynamicSource, SnapshotTarget } from '../dynamic/types.ts'
import { configErrorAt } from '../load.ts'
import lockfile from 'proper-lockfile'

/** What one read of the file did: `unchanged` is the same text as the last applied one. */
export type FileReadOutcome = 'applied' | 'unchanged' | 'unreadable' | 'malformed'

export interface FileSourceOptions {
  /** A JSON document `{"LIMITS_MAX_QUEUE": 32, "AVIF_ENABLED": "false", …}` (DYNAMIC_CONFIG_FILE). */
  file: string
  dynamic: SnapshotTarget
  logger: Logger
  /** Editors and ConfigMap updates fire several events for one change; they settle within this time. */
  debounceMs?: number
  /** Called after each read of the file, at start and on every change (tests wait on it). */
  onRead?: (outcome: FileReadOutcome) => void
}

const DEFAULT_DEBOUNCE_MS = 200

/** A writer that died holding the lock loses it after this long. */
const LOCK_STALE_MS = 10_000
/** Waits for another instance's write (milliseconds each): a merge takes a few. */
const LOCK_RETRIES = { retries: 50, minTimeout: 5, maxTimeout: 100 }

/**
 * Dynamic properties from a JSON file, re-read when it changes. The folder is watched rather than
 * the file: Kubernetes updates a mounted ConfigMap by swapping a symlink, and editors save by
 * renaming a temporary file, and a watch on the old file would never fire again. The file is a
 * full snapshot: a key removed from it goes back to its static value. An unreadable or malformed
 * file keeps the last values. At start, a folder that cannot be watched or a file that exists but
 * cannot be read (a folder, no permission) is a ConfigError; a missing file is awaited. `write` merges one item into the file and replaces it atomically
 * (a temporary file renamed over it), so a reader never sees half a document.
 */
export function createFileSource (options: FileSourceOptions): DynamicSource {
  const file = path.resolve(options.file)
  const logger = options.logger.child({ component: 'dynamic-config-file', file })
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS
  let watcher: fs.FSWatcher | undefined
  let timer: NodeJS.Timeout | undefined
  let lastText: string | undefined
  let reading: Promise<void> = Promise.resolve()

  /**
   * The file's text, or undefined (logged) when it cannot be read. At start only a missing file is
   * allowed (it may appear later); any other failure is a mistake in DYNAMIC_CONFIG_FILE.
   */
  async function readText (atStart: boolean): Promise<string | undefined> {
    try {
      return await fsp.readFile(file, 'utf8')
    } catch (error) {
      if (atStart && (error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw configErrorAt('dynamicConfig.file', `cannot read ${file}: ${messageOf(error)}`)
      }
      logger.warn({ err: error }, 'cannot read the dynamic properties file; keeping the last values')
      return undefined
    }
  }

  async function load (atStart = false): Promise<FileReadOutcome> {
    const text = await readText(atStart)
    if (text === undefined) return 'unreadable'
    if (text === lastText) return 'unchanged'
    let document: unknown
    try {
      document = JSON.parse(text)
    } catch (error) {
      logger.error({ err: error }, 'the dynamic properties file is not valid JSON; keeping the last values')
      return 'malformed'
    }
    if (typeof document !== 'object' || document === null || Array.isArray(document)) {
      logger.error('the dynamic properties file must hold a JSON object of {"KEY": value}; keeping the last values')
      return 'malformed'
    }
    lastText = text
    const { applied, rejected } = options.dynamic.apply(document as Record<string, unknown>, 'file')
    logger.debug({ applied, rejected: rejected.length }, 'dynamic properties file loaded')
    return 'applied'
  }

  async function loadAndTell (atStart = false): Promise<void> {
    // Read first: `onRead?.(await load())` would skip the read itself when there is no hook.
    const outcome = await load(atStart)
    options.onRead?.(outcome)
  }

  /**
   * Read, merge and replace under a lock (`<file>.lock`, a directory made atomically) that every
   * instance writing the file takes: two purges at the same moment must not save over each other.
   */
  async function merge (key: string, value: unknown): Promise<void> {
    const release = await lockfile.lock(file, { realpath: false, stale: LOCK_STALE_MS, retries: LOCK_RETRIES })
    try {
      await mergeLocked(key, value)
    } finally {
      await release()
    }
  }

  async function mergeLocked (key: string, value: unknown): Promise<void> {
    let document: Record<string, unknown> = {}
    try {
      const parsed: unknown = JSON.parse(await fsp.readFile(file, 'utf8'))
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object')
      document = parsed as Record<string, unknown>
    } catch (error) {
      // A missing file starts empty; a broken one is the operator's to fix, never overwritten.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new Error(`the dynamic properties file cannot be updated: ${(error as Error).message}`, { cause: error })
      }
    }
    document[key] = value
    const temporary = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${randomUUID()}.tmp`)
    try {
      await fsp.writeFile(temporary, `${JSON.stringify(document, null, 2)}\n`)
      await fsp.rename(temporary, file)
    } catch (error) {
      await fsp.rm(temporary, { force: true })
      throw error
    }
  }

  function schedule (): void {
    clearTimeout(timer)
    timer = setTimeout(() => {
      // Serialised: a slow read must not overwrite a newer one.
      reading = reading.then(async () => { await loadAndTell() })
    }, debounceMs)
    timer.unref()
  }

  return {
    async start () {
      const directory = path.dirname(file)
      try {
        watcher = fs.watch(directory, { persistent: false }, schedule)
      } catch (error) {
        throw configErrorAt('dynamicConfig.file', `cannot watch ${directory}: ${messageOf(error)}`)
      }
      watcher.on('error', (error) => { logger.error({ err: error }, 'watching the dynamic properties file failed') })
      const first = loadAndTell(true)
      reading = first.catch(() => {})
      try {
        await first
      } catch (error) {
        clearTimeout(timer)
        watcher.close()
        watcher = undefined
        throw error
      }
    },
    async write (key, value) {
      // In the same queue as the reads: a read never interleaves with this instance's write.
      const written = reading.then(async () => { await merge(key, value) })
      reading = written.catch(() => {})
      await written
    },
    async stop () {
      clearTimeout(timer)
      watcher?.close()
      watcher = undefined
      await reading
    }
  }
}

function messageOf (error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
