// Writes infra/cloudformation/templates/<env>.json, the files the Sceptre configuration deploys.
// Usage: node infra/cloudformation/generate.ts [env ...]   (every environment when none is given)
import fs from 'node:fs/promises'
import path from 'node:path'
import { ENVIRONMENTS, isEnvironment, type Environment } from './environments.ts'
import { renderTemplate } from './stack.ts'

export const TEMPLATES_DIR = path.join(import.meta.dirname, 'templates')

export async function writeTemplates (envs: readonly Environment[], dir = TEMPLATES_DIR): Promise<string[]> {
  await fs.mkdir(dir, { recursive: true })
  const written: string[] = []
  for (const env of envs) {
    const file = path.join(dir, `${env}.json`)
    await fs.writeFile(file, renderTemplate(env))
    written.push(file)
  }
  return written
}

if (import.meta.main) {
  const args = process.argv.slice(2)
  const unknown = args.filter((arg) => !isEnvironment(arg))
  if (unknown.length > 0) {
    process.stderr.write(`unknown environment ${unknown.join(', ')}; expected one of ${ENVIRONMENTS.join(', ')}\n`)
    process.exit(64) // EX_USAGE
  }
  const envs = args.length > 0 ? args.filter(isEnvironment) : ENVIRONMENTS
  for (const file of await writeTemplates(envs)) {
    process.stdout.write(`${path.relative(process.cwd(), file)}\n`)
  }
}
