import type { Logger } from 'pino'
import type { PurgeState } from './purge-state.ts'
import type { BucketRef } from '../logic/bucket-logic.ts'
import { parseRecord, scopeName, scopeOfKey, type PurgeRecord, type PurgeScope } from './records.ts'

/** Told of every scope whose effective purge changed (a new purge, a takedown or its lifting). */
export type PurgeListener = (scope: PurgeScope, record: PurgeRecord | undefined) => void

export interface PurgeRegistry extends PurgeState {
  /** The current record of exactly this scope. */
  recordOf: (scope: PurgeScope) => PurgeRecord | undefined
  /** Every purge record the source holds now (`purge:…` key → value): replaces what it said before. */
  applySnapshot: (values: Readonly<Record<string, unknown>>) => void
  /** A purge this instance has just published: effective at once, not only after the next poll. */
  applyLocal: (scope: PurgeScope, record: PurgeRecord) => void
  onPurge: (listener: PurgeListener) => () => void
}

interface Entry { scope: PurgeScope, record: PurgeRecord }

/**
 * The purge state of this instance, derived only from the records: the generation
 * of an image is the purge ids of its bucket's record and its own, and it is taken down while
 * either record says so. Since every instance reads the same records, they all agree, whatever
 * order they saw them in.
 */
export function createPurgeRegistry (options: { logger: Logger }): PurgeRegistry {
  const logger = options.logger.child({ component: 'purge-registry' })
  let fromSource = new Map<string, Entry>()
  // Published here but not yet in a snapshot: a scan that started before the write (or an
  // eventually consistent one) must not take the purge back for a poll. Kept until the source
  // shows it, or shows another record than the one it had when this one was written (a later
  // purge elsewhere): never by comparing clocks of different machines.
  const pending = new Map<string, Entry & { replaced: string | undefined }>()
  const listeners = new Set<PurgeListener>()
  // A bad item comes back with every poll: report it once.
  const reported = new Map<string, unknown>()

  const effective = (name: string): Entry | undefined => pending.get(name) ?? fromSource.get(name)

  /** Runs `update`, then announces every named scope whose effective purge moved. */
  function changing (names: Iterable<string>, update: () => void): void {
    const before = new Map([...names].map((name) => [name, effective(name)]))
    update()
    for (const [name, previous] of before) {
      const now = effective(name)
      if (previous?.record.purgeId === now?.record.purgeId && previous?.record.takedown === now?.record.takedown) continue
      const scope = now?.scope ?? previous?.scope
      if (scope === undefined) continue
      // One line per instance and purge: grepping a purge id shows where it has arrived.
      logger.info({ scope: name, purgeId: now?.record.purgeId ?? null, takedown: now?.record.takedown ?? false }, `purge of ${name} in effect`)
      for (const listener of listeners) {
        try {
          listener(scope, now?.record)
        } catch (error) {
          logger.error({ err: error, scope: name }, 'a purge listener failed')
        }
      }
    }
  }

  function parseSnapshot (values: Readonly<Record<string, unknown>>): Map<string, Entry> {
    const entries = new Map<string, Entry>()
    for (const [key, value] of Object.entries(values)) {
      const scope = scopeOfKey(key)
      const record = parseRecord(value)
      if (scope.ok && record.ok) {
        reported.delete(key)
        entries.set(scopeName(scope.value), { scope: scope.value, record: record.value })
        continue
      }
      const reason = scope.ok ? (record.ok ? '' : record.reason) : `key ${scope.reason}`
      if (reported.get(key) !== value) {
        reported.set(key, value)
        logger.warn({ key, value, reason }, `ignoring the purge record ${key}: ${reason}`)
      }
    }
    return entries
  }

  function tokens (bucket: BucketRef, imageId: string): [Entry | undefined, Entry | undefined] {
    if (fromSource.size === 0 && pending.size === 0) return [undefined, undefined]
    const bucketName = scopeName({ bucket, imageId: null })
    return [effective(bucketName), effective(`${bucketName}/${imageId}`)]
  }

  return {
    generation (bucket, imageId) {
      const [ofBucket, ofImage] = tokens(bucket, imageId)
      // '' for a scope never purged: its keys and ETags stay what they were before purges existed.
      if (ofBucket === undefined && ofImage === undefined) return ''
      return `${ofBucket?.record.purgeId ?? ''}/${ofImage?.record.purgeId ?? ''}`
    },
    isTakenDown (bucket, imageId) {
      const [ofBucket, ofImage] = tokens(bucket, imageId)
      return ofBucket?.record.takedown === true || ofImage?.record.takedown === true
    },
    recordOf: (scope) => effective(scopeName(scope))?.record,
    applySnapshot (values) {
      const next = parseSnapshot(values)
      changing(new Set([...fromSource.keys(), ...next.keys(), ...pending.keys()]), () => {
        fromSource = next
        for (const [name, entry] of pending) {
          const stored = next.get(name)?.record.purgeId
          if (stored !== undefined && (stored === entry.record.purgeId || stored !== entry.replaced)) pending.delete(name)
        }
      })
    },
    applyLocal (scope, record) {
      const name = scopeName(scope)
      changing([name], () => { pending.set(name, { scope, record, replaced: fromSource.get(name)?.record.purgeId }) })
    },
    onPurge (listener) {
      listeners.add(listener)
      return () => { listeners.delete(listener) }
    }
  }
}
