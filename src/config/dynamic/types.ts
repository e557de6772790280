import type { DynamicLayer } from './layers.ts'
import type { DynamicKey, DynamicValues } from './properties.ts'

/**
 * The shapes the dynamic-configuration modules and the sources share. A leaf: it imports only
 * types, so a source can depend on it without depending on the entry that starts it.
 */

export type { DynamicLayer }

/** Where an effective value comes from, as `GET /admin/config` shows it. */
export type ValueSource = 'default' | 'file' | 'env' | 'dynamic'

export interface ConfigEntry {
  /** The environment variable, e.g. `LIMITS_MAX_QUEUE`. */
  key: string
  /** The configuration key, e.g. `limits.maxQueue`. */
  path: string
  /** The effective value; `[redacted]` for secrets. */
  value: unknown
  source: ValueSource
  /** Set when `source` is `dynamic`: which layer holds the value. */
  layer?: DynamicLayer
  dynamic: boolean
}

export interface Rejection { key: string, reason: string }
export interface ApplyResult { applied: string[], rejected: Rejection[] }
export type SetResult = { ok: true, value: unknown, previous: unknown } | { ok: false, reason: string, unknownKey?: true }

export type ChangeListener<K extends DynamicKey> = (value: DynamicValues[K], previous: DynamicValues[K]) => void

export interface DynamicConfig {
  /** The current value: read it at use time, never copy it into a constant, or a change never reaches it. */
  get: <K extends DynamicKey>(key: K) => DynamicValues[K]
  /** Any configuration variable by name (dynamic or static); `dflt` when unknown or of another type. */
  getOr: <T>(key: string, dflt: T) => T
  onChange: <K extends DynamicKey>(key: K, listener: ChangeListener<K>) => () => void
  /** Replaces a layer with a full snapshot: keys absent from `values` leave the layer (Archaius' full poll result). */
  apply: (values: Readonly<Record<string, unknown>>, layer: DynamicLayer) => ApplyResult
  /** Sets one key in a layer; `null` removes it from the layer. */
  set: (key: string, value: unknown, layer: DynamicLayer) => SetResult
  isDynamic: (key: string) => key is DynamicKey
  /** Every configuration variable with its effective value and source, secrets redacted. */
  describe: () => ConfigEntry[]
}

/** What a source feeds: the registry, or `routeRecords` in front of it. */
export type SnapshotTarget = Pick<DynamicConfig, 'apply'>

/** A shared source of dynamic properties (file, DynamoDB table). */
export interface DynamicSource {
  /** Loads the current values once, then follows changes. */
  start: () => Promise<void>
  stop: () => Promise<void>
  /** Writes one item to the source (a purge record), for every instance reading it. */
  write: (key: string, value: unknown) => Promise<void>
}

/** A started source: it can also write an item, which every instance then reads (purges). */
export interface DynamicSourceHandle {
  /** Writes one item (a string, or JSON for anything else); the local instance applies its own writes itself. */
  write: (key: string, value: unknown) => Promise<void>
  stop: () => Promise<void>
}

/**
 * Items of a source that are records for another part, not properties (purges: `purge:…`). The
 * source's snapshot goes through `routeRecords`, the one place that tells them apart, so a record
 * never reaches `apply` as an "unknown property" and a property never reaches a record sink.
 */
export interface RecordSink {
  prefix: string
  /** Every item under the prefix in this snapshot (a full snapshot, like the properties). */
  apply: (records: Readonly<Record<string, unknown>>) => void
}
