import { configSchema, type SchemaLeaf, type SchemaTree } from './schema.ts'

/** One variable of the schema: its configuration key (`limits.maxQueue`) and its declaration. */
export interface LeafEntry {
  path: string
  leaf: SchemaLeaf
}

function isLeaf (node: SchemaLeaf | SchemaTree): node is SchemaLeaf {
  return typeof node.env === 'string'
}

function collect (tree: SchemaTree, prefix: string): LeafEntry[] {
  return Object.entries(tree).flatMap(([key, node]) =>
    isLeaf(node) ? [{ path: prefix + key, leaf: node }] : collect(node, `${prefix}${key}.`))
}

/** Every leaf of the schema, in declaration order. */
export const SCHEMA_LEAVES: readonly LeafEntry[] = collect(configSchema, '')

const byPath = new Map(SCHEMA_LEAVES.map((entry) => [entry.path, entry]))
const byEnv = new Map(SCHEMA_LEAVES.map((entry) => [entry.leaf.env as string, entry]))

export function leafAtPath (path: string): LeafEntry | undefined {
  return byPath.get(path)
}

/** The leaf of an environment variable, e.g. `LIMITS_MAX_QUEUE` → `limits.maxQueue`. */
export function leafOfVariable (name: string): LeafEntry | undefined {
  return byEnv.get(name)
}

/** The value at a dotted configuration key, e.g. `valueAt(config, 'limits.maxQueue')`. */
export function valueAt (object: unknown, path: string): unknown {
  let value = object
  for (const part of path.split('.')) value = (value as Record<string, unknown> | undefined)?.[part]
  return value
}
