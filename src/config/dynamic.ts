/**
 * Dynamic properties: the configuration variables that may change while the process runs, the
 * ones the schema marks `dynamic: true`. This is the one module the rest of the code imports; the
 * parts live in config/dynamic/, one concern each:
 *
 * - properties.ts  which properties are dynamic, and their types (derived from the schema's marks)
 * - parse.ts       a raw value from a table, a file or a PUT, checked with the schema's format
 * - layers.ts      admin override → shared source → static configuration
 * - listeners.ts   change listeners
 * - registry.ts    `createDynamicConfig`: the above together, with change logs and metrics
 * - describe.ts    every variable with its value and source (`GET /admin/config`)
 * - bind.ts        the limiter, the breakers and the logger following their properties
 * - records.ts     the `purge:` records of a snapshot, routed away from the properties
 * - start-source.ts  the file or DynamoDB source (config/sources/) DYNAMIC_CONFIG_SOURCE names
 * - types.ts       the shapes all of them and the sources share
 */
export { DYNAMIC_PROPERTIES, type DynamicKey, type DynamicValues } from './dynamic/properties.ts'
export { DYNAMIC_LAYERS, type DynamicLayer } from './dynamic/layers.ts'
export { createDynamicConfig, type DynamicConfigOptions } from './dynamic/registry.ts'
export { bindDynamicConfig, breakerVariables, type DynamicParts } from './dynamic/bind.ts'
export { routeRecords } from './dynamic/records.ts'
export { startDynamicSource, type DynamicSourceOptions } from './dynamic/start-source.ts'
export type {
  ApplyResult, ChangeListener, ConfigEntry, DynamicConfig, DynamicSource, DynamicSourceHandle, RecordSink, Rejection, SetResult, ValueSource
} from './dynamic/types.ts'
