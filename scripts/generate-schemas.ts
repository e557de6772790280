import fs from 'node:fs'
import path from 'node:path'
import { SCHEMAS } from '../src/logic/schemas.ts'

/** Writes `schemas/<name>.json` from the schemas in code (the single source of truth). */
const folder = path.resolve(import.meta.dirname, '../schemas')
for (const [name, schema] of Object.entries(SCHEMAS)) {
  fs.writeFileSync(path.join(folder, `${name}.json`), `${JSON.stringify(schema, null, 2)}\n`)
  process.stdout.write(`schemas/${name}.json\n`)
}
