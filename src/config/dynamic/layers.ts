import { valueAt } from '../leaves.ts'
import type { AppConfig } from '../schema.ts'
import { DYNAMIC_PROPERTIES, type DynamicKey } from './properties.ts'

/**
 * Layers over the static configuration, highest precedence first: an operator's PUT on the admin
 * port wins over the shared source (as Archaius' override layer does), which wins over the static
 * configuration. Only one of `file` and `dynamodb` is active (DYNAMIC_CONFIG_SOURCE).
 */
export const DYNAMIC_LAYERS = ['admin', 'dynamodb', 'file'] as const
export type DynamicLayer = typeof DYNAMIC_LAYERS[number]

export interface Effective {
  value: unknown
  /** The layer holding the value; absent when it is the static configuration's. */
  layer?: DynamicLayer
}

export interface Layers {
  effective: (key: DynamicKey) => Effective
  /** One layer's values, as they stand. */
  of: (layer: DynamicLayer) => ReadonlyMap<DynamicKey, unknown>
  /** Replaces one layer's values (a snapshot), or changes one key of it. */
  replace: (layer: DynamicLayer, values: ReadonlyMap<DynamicKey, unknown>) => void
  set: (layer: DynamicLayer, key: DynamicKey, value: unknown) => void
  remove: (layer: DynamicLayer, key: DynamicKey) => void
}

/** The values of each layer, already parsed, and the lookup through them; no logging, no listeners. */
export function createLayers (config: AppConfig): Layers {
  const layers = new Map<DynamicLayer, Map<DynamicKey, unknown>>(DYNAMIC_LAYERS.map((layer) => [layer, new Map()]))
  const layerOf = (layer: DynamicLayer): Map<DynamicKey, unknown> => layers.get(layer) ?? new Map()

  return {
    effective (key) {
      for (const layer of DYNAMIC_LAYERS) {
        const values = layerOf(layer)
        if (values.has(key)) return { value: values.get(key), layer }
      }
      return { value: valueAt(config, DYNAMIC_PROPERTIES[key]) }
    },
    of: layerOf,
    replace (layer, values) { layers.set(layer, new Map(values)) },
    set (layer, key, value) { layerOf(layer).set(key, value) },
    remove (layer, key) { layerOf(layer).delete(key) }
  }
}
