import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { createLogger } from '../../../src/observability/logger.ts'
import { ROOT, readJson, schemaProblems } from './schemas.ts'

interface Source { sourceType: string, pathExpression?: string, defaultDateFormats: Array<{ format: string, locator: string }>, multilineProcessingEnabled: boolean, filters?: Array<{ regexp: string, mask?: string }> }

const FILES = ['infra/sumologic/sources.json', 'infra/sumologic/sources.docker.json']

test('the Sumo Logic sources satisfy the schema', () => {
  for (const file of FILES) assert.deepEqual(schemaProblems('sumologic-sources.schema.json', readJson(file)), [], file)
  assert.notDeepEqual(schemaProblems('sumologic-sources.schema.json', { 'api.version': 'v1', sources: [{ sourceType: 'LocalFile', name: 'x', category: 'c', automaticDateParsing: true, multilineProcessingEnabled: false }] }), [],
    'a LocalFile source needs its pathExpression')
})

test('the timestamp locator finds the time of a real log line, and one line is one event', () => {
  const lines: string[] = []
  createLogger({ level: 'info', destination: { write: (line: string) => { lines.push(line) } } }).info({ req: { url: '/x' } }, 'hello')
  const [line = ''] = lines
  for (const file of FILES) {
    for (const source of (readJson(file) as { sources: Source[] }).sources) {
      const [format] = source.defaultDateFormats
      assert.ok(format !== undefined)
      const found = new RegExp(format.locator).exec(line)?.[1]
      assert.match(String(found), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, `${file}: ${format.format}`)
      assert.equal(format.format, "yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
      // pino writes one JSON document per line, newlines inside values escaped.
      assert.equal(source.multilineProcessingEnabled, false)
      assert.equal(line.trimEnd().includes('\n'), false)
      const masked = (source.filters ?? []).reduce((text, filter) => text.replace(new RegExp(filter.regexp.replace('(?i)', ''), 'gi'), filter.mask ?? ''), 'Authorization: Bearer abc.def-123')
      assert.equal(masked, 'Authorization: [redacted]')
    }
  }
})

test('the RPM installs the source and the rsyslog rule writing the file it reads', () => {
  const rpm = fs.readFileSync(path.join(ROOT, '_script/package-rpm'), 'utf8')
  assert.match(rpm, /--depends sumologic-config/)
  assert.match(rpm, /"infra\/sumologic\/sources\.json=\/etc\/sumologic\/sources\.d\/\$SERVICE\.json"/)
  const [source] = (readJson('infra/sumologic/sources.json') as { sources: Source[] }).sources
  const rsyslog = fs.readFileSync(path.join(ROOT, '_pkg/rsyslog.conf'), 'utf8')
  assert.ok(rsyslog.includes(`file="${source?.pathExpression ?? ''}"`))
  assert.match(rsyslog, /\$programname == 'delivery-images'/)
  assert.match(fs.readFileSync(path.join(ROOT, '_pkg/delivery-images.service'), 'utf8'), /^SyslogIdentifier=delivery-images$/m)
})
