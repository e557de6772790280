import fs from 'node:fs'
import path from 'node:path'

/**
 * Writes files generated from the code, or with `--check` only reports the ones that differ from
 * what is committed (CI and the tests use that). Returns the process exit code.
 */
export function writeGenerated (files: Readonly<Record<string, string>>, argv: readonly string[], regenerate: string): number {
  const check = argv.includes('--check')
  let stale = 0
  for (const [file, text] of Object.entries(files)) {
    const relative = path.relative(process.cwd(), file)
    if (check) {
      if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) {
        process.stderr.write(`stale: ${relative} (run ${regenerate})\n`)
        stale++
      }
      continue
    }
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, text)
    process.stdout.write(`${relative}\n`)
  }
  return stale === 0 ? 0 : 1
}
