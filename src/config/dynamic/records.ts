import type { RecordSink, SnapshotTarget } from './types.ts'

/** `dynamic` for the sources: records go to their sink, properties to the registry. */
export function routeRecords (dynamic: SnapshotTarget, sinks: readonly RecordSink[]): SnapshotTarget {
  if (sinks.length === 0) return dynamic
  return {
    apply (values, layer) {
      const properties: Record<string, unknown> = {}
      const records = sinks.map(() => ({}) as Record<string, unknown>)
      for (const [key, value] of Object.entries(values)) {
        const index = sinks.findIndex((sink) => key.startsWith(sink.prefix))
        const target = index === -1 ? properties : records[index]
        if (target !== undefined) target[key] = value
      }
      sinks.forEach((sink, index) => { sink.apply(records[index] ?? {}) })
      return dynamic.apply(properties, layer)
    }
  }
}
