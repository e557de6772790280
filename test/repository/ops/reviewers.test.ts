import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { test } from 'node:test'
import { parse } from 'yaml'
import { ROOT, schemaProblems } from './schemas.ts'

interface Raffle {
  team: { members: string[] }
  reviewers: { required: number, from_knowledge: number, random: number }
  knowledge: Array<{ paths: string[], experts: string[] }>
}

const raffle = parse(fs.readFileSync(path.join(ROOT, '.github/reviewers-raffle.yml'), 'utf8')) as Raffle

test('the reviewers raffle configuration satisfies its schema', () => {
  assert.deepEqual(schemaProblems('reviewers-raffle.schema.json', raffle), [])
  assert.notDeepEqual(schemaProblems('reviewers-raffle.schema.json', { ...raffle, reminder: { schedule: 'daily', timezone: 'Europe/Madrid', slack_channel: 'images' } }), [])
})

test('the raffle can always fill its reviews from the team, and experts are team members', () => {
  const { members } = raffle.team
  assert.ok(raffle.reviewers.from_knowledge + raffle.reviewers.random >= raffle.reviewers.required)
  // The author is never drawn: the rest of the team must be enough.
  assert.ok(members.length - 1 >= raffle.reviewers.required)
  for (const area of raffle.knowledge) {
    for (const expert of area.experts) assert.ok(members.includes(expert), `${expert} is in the team`)
    // An expert who is the author leaves another expert to ask.
    assert.ok(area.experts.length >= 2, area.paths.join(', '))
  }
})

test('CODEOWNERS names only team members (or the team) and covers every knowledge area', () => {
  const lines = fs.readFileSync(path.join(ROOT, '.github/CODEOWNERS'), 'utf8').split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'))
  const owners = lines.flatMap((line) => line.trim().split(/\s+/).slice(1))
  for (const owner of owners) assert.ok(owner === '@acme/images' || raffle.team.members.includes(owner.slice(1)), owner)
  const patterns = lines.map((line) => line.trim().split(/\s+/)[0] ?? '')
  assert.equal(patterns[0], '*', 'a default owner first')
  for (const area of raffle.knowledge) {
    for (const areaPath of area.paths.filter((candidate) => candidate.startsWith('src/'))) {
      const folder = `/${areaPath.replace('/**', '/')}`
      assert.ok(patterns.includes(folder), `CODEOWNERS has ${folder}`)
    }
  }
})
