/**
 * Renders monitors.yaml and dashboard.yaml into the JSON bodies of Datadog's API
 * (POST /api/v1/monitor, POST /api/v1/dashboard) and validates them:
 *
 *   node infra/datadog/render.ts [--out infra/datadog/out]
 *
 * Writes `<out>/monitors/<env>/<monitor>.json` and `<out>/dashboard.json`; prints every
 * problem and exits 1 when anything is invalid, so CI can gate on it.
 */
import fs from 'node:fs'
import { parse as parseYaml } from 'yaml'
import path from 'node:path'
import { Ajv } from 'ajv'
import { BREAKER_EVENTS, METRIC_NAMES } from '../../src/observability/metric-names.ts'
import { histogramSuffixes } from './agent.ts'

export interface EnvironmentSpec {
  regions: string[]
  /** false: no monitor of this environment may notify a paging handle. */
  page: boolean
  notify: string[]
  pages?: string[]
  priority: number
}

export interface Thresholds { warning?: number, critical: number }

export interface MonitorSpec {
  id: string
  name: string
  for_each?: 'region' | 'breaker'
  query: string
  thresholds: Thresholds
  overrides?: Record<string, { thresholds?: Thresholds }>
  message: string
  page_on_critical?: boolean
  no_data_minutes?: number
}

export interface MonitorsDocument {
  service: string
  team: string
  runbook: string
  environments: Record<string, EnvironmentSpec>
  breakers: string[]
  monitors: MonitorSpec[]
}

export interface DashboardSpec {
  title: string
  description: string
  template_variables: Array<{ name: string, prefix: string, default: string }>
  widgets: Array<{ title: string, type: 'timeseries' | 'query_value', display?: 'line' | 'bars' | 'area', for_each?: 'breaker', queries: string[] }>
}

/** Body of POST /api/v1/monitor. */
export interface DatadogMonitor {
  name: string
  type: 'query alert'
  query: string
  message: string
  tags: string[]
  priority: number
  options: {
    thresholds: Thresholds
    notify_no_data: boolean
    no_data_timeframe?: number
    require_full_window: boolean
    include_tags: boolean
    renotify_interval: number
  }
}

/** Body of POST /api/v1/dashboard. */
export interface DatadogDashboard {
  title: string
  description: string
  layout_type: 'ordered'
  template_variables: Array<{ name: string, prefix: string, default: string }>
  widgets: Array<{ definition: { type: string, title: string, requests: Array<{ q: string, display_type: string }> } }>
}

export interface Rendered {
  monitors: Record<string, Array<{ file: string, body: DatadogMonitor }>>
  dashboard: DatadogDashboard
  errors: string[]
}

const monitorsSchema = {
  type: 'object',
  required: ['service', 'team', 'runbook', 'environments', 'breakers', 'monitors'],
  additionalProperties: false,
  properties: {
    service: { type: 'string', minLength: 1 },
    team: { type: 'string', minLength: 1 },
    runbook: { type: 'string', minLength: 1 },
    breakers: { type: 'array', items: { type: 'string', pattern: '^[a-z0-9_]+$' }, minItems: 1 },
    environments: {
      type: 'object',
      minProperties: 1,
      additionalProperties: {
        type: 'object',
        required: ['regions', 'page', 'notify', 'priority'],
        additionalProperties: false,
        properties: {
          regions: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 },
          page: { type: 'boolean' },
          notify: { type: 'array', items: { type: 'string', pattern: '^@' } },
          pages: { type: 'array', items: { type: 'string', pattern: '^@' } },
          priority: { type: 'integer', minimum: 1, maximum: 5 }
        }
      }
    },
    monitors: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['id', 'name', 'query', 'thresholds', 'message'],
        additionalProperties: false,
        properties: {
          id: { type: 'string', pattern: '^[a-z0-9-]+$' },
          name: { type: 'string', minLength: 1 },
          for_each: { enum: ['region', 'breaker'] },
          query: { type: 'string', minLength: 1 },
          thresholds: { $ref: '#/$defs/thresholds' },
          overrides: {
            type: 'object',
            additionalProperties: { type: 'object', additionalProperties: false, properties: { thresholds: { $ref: '#/$defs/thresholds' } } }
          },
          message: { type: 'string', minLength: 1 },
          page_on_critical: { type: 'boolean' },
          no_data_minutes: { type: 'integer', minimum: 1 }
        }
      }
    }
  },
  $defs: {
    thresholds: {
      type: 'object',
      required: ['critical'],
      additionalProperties: false,
      properties: { warning: { type: 'number' }, critical: { type: 'number' } }
    }
  }
}

const dashboardSchema = {
  type: 'object',
  required: ['title', 'description', 'template_variables', 'widgets'],
  additionalProperties: false,
  properties: {
    title: { type: 'string', minLength: 1 },
    description: { type: 'string' },
    template_variables: {
      type: 'array',
      items: {
        type: 'object',
        required: ['name', 'prefix', 'default'],
        additionalProperties: false,
        properties: { name: { type: 'string' }, prefix: { type: 'string' }, default: { type: 'string' } }
      }
    },
    widgets: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['title', 'type', 'queries'],
        additionalProperties: false,
        properties: {
          title: { type: 'string', minLength: 1 },
          type: { enum: ['timeseries', 'query_value'] },
          display: { enum: ['line', 'bars', 'area'] },
          for_each: { enum: ['breaker'] },
          queries: { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }
        }
      }
    }
  }
}

const ajv = new Ajv({ allErrors: true })
const checkMonitorsDocument = ajv.compile<MonitorsDocument>(monitorsSchema)
const checkDashboardDocument = ajv.compile<DashboardSpec>(dashboardSchema)

const PREFIX = 'delivery_images.'
/** The name itself (counters, gauges) and what the agent makes of a timing/histogram (agent.ts). */
const HISTOGRAM_SUFFIXES = ['', ...histogramSuffixes()]
const MONITOR_QUERY = /^(avg|sum|min|max)\(last_(\d+)(m|h|d)\):(.+?)\s*(>=|<=|>|<)\s*(-?\d+(?:\.\d+)?)$/s
const METRIC_IN_QUERY = /(?:avg|sum|min|max|p\d+):([a-z0-9_.]+)\{/g
const PAGE_HANDLE = /@(pagerduty|opsgenie|victorops)\b/i

/** Every `delivery_images.*` name a query may use: the service's metric names, their aggregates, the breaker counters. */
export function knownMetricNames (breakers: readonly string[]): Set<string> {
  const names = new Set<string>()
  for (const name of Object.values(METRIC_NAMES)) {
    for (const suffix of HISTOGRAM_SUFFIXES) names.add(`${PREFIX}${name}${suffix}`)
  }
  for (const breaker of breakers) for (const event of BREAKER_EVENTS) names.add(`${PREFIX}breaker.${breaker}.${event}`)
  return names
}

function fill (template: string, values: Record<string, string | number>): string {
  return template.replace(/\{\{(\w+)\}\}/g, (match, key: string) => key in values ? String(values[key]) : match)
}

/** Checks one query's grammar and metric names; `{{…}}` left in a query is a placeholder nobody filled. */
export function validateQuery (query: string, known: ReadonlySet<string>, where: string): string[] {
  const errors: string[] = []
  if (query.includes('{{')) errors.push(`${where}: unfilled placeholder in query '${query}'`)
  let depth = 0
  for (const character of query.replace(/\{[^}]*\}/g, '')) {
    if (character === '(') depth++
    if (character === ')') depth--
    if (depth < 0) break
  }
  if (depth !== 0) errors.push(`${where}: unbalanced parentheses in '${query}'`)
  for (const [, metric = ''] of query.matchAll(METRIC_IN_QUERY)) {
    if (metric.startsWith(PREFIX) && !known.has(metric)) errors.push(`${where}: unknown metric '${metric}' (not a metric of the service)`)
  }
  if ([...query.matchAll(METRIC_IN_QUERY)].length === 0) errors.push(`${where}: no metric in query '${query}'`)
  return errors
}

/** Validates a rendered monitor as the API would, plus our rules: threshold order and no paging where not allowed. */
export function validateMonitor (monitor: DatadogMonitor, environment: EnvironmentSpec, known: ReadonlySet<string>): string[] {
  const where = `monitor '${monitor.name}'`
  const errors: string[] = []
  for (const field of ['name', 'type', 'query', 'message'] as const) {
    if (typeof monitor[field] !== 'string' || monitor[field] === '') errors.push(`${where}: missing ${field}`)
  }
  const match = MONITOR_QUERY.exec(monitor.query)
  if (match === null) {
    errors.push(`${where}: query must be '<aggregation>(last_<n><m|h|d>):<expression> <comparator> <threshold>', got '${monitor.query}'`)
    return errors
  }
  const [, , , , expression = '', comparator = '', threshold = ''] = match
  errors.push(...validateQuery(expression, known, where))
  const { critical, warning } = monitor.options.thresholds
  // The API refuses a monitor whose query threshold differs from options.thresholds.critical.
  if (Number(threshold) !== critical) errors.push(`${where}: query threshold ${threshold} differs from critical ${critical}`)
  if (warning !== undefined) {
    const above = comparator.startsWith('>')
    if (above ? warning >= critical : warning <= critical) {
      errors.push(`${where}: warning ${warning} must be ${above ? 'below' : 'above'} critical ${critical} for '${comparator}'`)
    }
  }
  if (!environment.page && PAGE_HANDLE.test(monitor.message)) errors.push(`${where}: pages in an environment that may not page`)
  for (const tag of ['env:', 'service:']) {
    if (!monitor.tags.some((value) => value.startsWith(tag))) errors.push(`${where}: missing tag ${tag}<…>`)
  }
  return errors
}

export function renderMonitors (document: MonitorsDocument): { monitors: Rendered['monitors'], errors: string[] } {
  const monitors: Rendered['monitors'] = {}
  const errors: string[] = []
  const known = knownMetricNames(document.breakers)
  for (const [env, environment] of Object.entries(document.environments)) {
    const rendered: Array<{ file: string, body: DatadogMonitor }> = []
    for (const spec of document.monitors) {
      const thresholds = spec.overrides?.[env]?.thresholds ?? spec.thresholds
      const items = spec.for_each === 'region' ? environment.regions : spec.for_each === 'breaker' ? document.breakers : [null]
      for (const item of items) {
        const values: Record<string, string | number> = { env, critical: thresholds.critical }
        if (thresholds.warning !== undefined) values.warning = thresholds.warning
        if (item !== null && spec.for_each !== undefined) values[spec.for_each] = item
        const handles = [...environment.notify, ...(environment.page && spec.page_on_critical === true ? environment.pages ?? [] : [])]
        const message = [
          fill(spec.message, values).trim(),
          `Runbook: ${document.runbook}`,
          `{{#is_alert}}${handles.join(' ')}{{/is_alert}}`,
          `{{#is_warning}}${environment.notify.join(' ')}{{/is_warning}}`
        ].join('\n\n')
        const body: DatadogMonitor = {
          name: fill(spec.name, values),
          type: 'query alert',
          query: fill(spec.query, values).replace(/\s+/g, ' ').trim(),
          message,
          tags: [`env:${env}`, `service:${document.service}`, `team:${document.team}`, `monitor:${spec.id}`,
            ...(item !== null && spec.for_each !== undefined ? [`${spec.for_each}:${item}`] : [])],
          priority: environment.priority,
          options: {
            thresholds: { ...thresholds },
            notify_no_data: spec.no_data_minutes !== undefined,
            ...(spec.no_data_minutes === undefined ? {} : { no_data_timeframe: spec.no_data_minutes }),
            require_full_window: false,
            include_tags: true,
            renotify_interval: environment.page ? 30 : 0
          }
        }
        errors.push(...validateMonitor(body, environment, known))
        rendered.push({ file: item === null ? `${spec.id}.json` : `${spec.id}-${item}.json`, body })
      }
    }
    monitors[env] = rendered
  }
  return { monitors, errors }
}

export function renderDashboard (spec: DashboardSpec, breakers: readonly string[]): { dashboard: DatadogDashboard, errors: string[] } {
  const errors: string[] = []
  const known = knownMetricNames(breakers)
  const variables = new Set(spec.template_variables.map((variable) => variable.name))
  const widgets: DatadogDashboard['widgets'] = []
  for (const widget of spec.widgets) {
    const items = widget.for_each === 'breaker' ? breakers : [null]
    for (const item of items) {
      const title = item === null ? widget.title : `${widget.title}: ${item}`
      const requests = widget.queries.map((query) => {
        const q = (item === null ? query : fill(query, { breaker: item })).replace(/\s+/g, ' ').trim()
        errors.push(...validateQuery(q, known, `widget '${title}'`))
        for (const [, name = ''] of q.matchAll(/\$(\w+)/g)) {
          if (!variables.has(name)) errors.push(`widget '${title}': unknown template variable $${name}`)
        }
        return { q, display_type: widget.display ?? 'line' }
      })
      widgets.push({ definition: { type: widget.type, title, requests } })
    }
  }
  return {
    dashboard: { title: spec.title, description: spec.description, layout_type: 'ordered', template_variables: spec.template_variables, widgets },
    errors
  }
}

function schemaErrors (file: string, errors: typeof checkMonitorsDocument.errors): string[] {
  return (errors ?? []).map((error) => `${file}${error.instancePath === '' ? '' : ` ${error.instancePath}`}: ${error.message ?? 'invalid'}`)
}

/** Reads both YAML files of `dir`, renders and validates them; nothing is written. */
export function renderDefinitions (dir: string): Rendered {
  const monitorsDocument = parseYaml(fs.readFileSync(path.join(dir, 'monitors.yaml'), 'utf8'))
  const dashboardDocument = parseYaml(fs.readFileSync(path.join(dir, 'dashboard.yaml'), 'utf8'))
  const errors: string[] = []
  if (!checkMonitorsDocument(monitorsDocument)) errors.push(...schemaErrors('monitors.yaml', checkMonitorsDocument.errors))
  if (!checkDashboardDocument(dashboardDocument)) errors.push(...schemaErrors('dashboard.yaml', checkDashboardDocument.errors))
  if (errors.length > 0) return { monitors: {}, dashboard: { title: '', description: '', layout_type: 'ordered', template_variables: [], widgets: [] }, errors }

  const document = monitorsDocument as MonitorsDocument
  const monitors = renderMonitors(document)
  const dashboard = renderDashboard(dashboardDocument as DashboardSpec, document.breakers)
  return { monitors: monitors.monitors, dashboard: dashboard.dashboard, errors: [...monitors.errors, ...dashboard.errors] }
}

export function writeRendered (rendered: Rendered, out: string): void {
  fs.rmSync(out, { recursive: true, force: true })
  for (const [env, monitors] of Object.entries(rendered.monitors)) {
    fs.mkdirSync(path.join(out, 'monitors', env), { recursive: true })
    for (const { file, body } of monitors) fs.writeFileSync(path.join(out, 'monitors', env, file), `${JSON.stringify(body, null, 2)}\n`)
  }
  fs.writeFileSync(path.join(out, 'dashboard.json'), `${JSON.stringify(rendered.dashboard, null, 2)}\n`)
}

function main (argv: string[]): number {
  const outFlag = argv.indexOf('--out')
  const dirFlag = argv.indexOf('--dir')
  const dir = dirFlag === -1 ? import.meta.dirname : path.resolve(argv[dirFlag + 1] ?? '.')
  const out = outFlag === -1 ? path.join(dir, 'out') : path.resolve(argv[outFlag + 1] ?? 'out')
  let rendered: Rendered
  try {
    rendered = renderDefinitions(dir)
  } catch (error) {
    process.stderr.write(`cannot read the definitions in ${dir}: ${error instanceof Error ? error.message : String(error)}\n`)
    return 1
  }
  if (rendered.errors.length > 0) {
    process.stderr.write(`${rendered.errors.map((error) => `invalid: ${error}`).join('\n')}\n`)
    return 1
  }
  writeRendered(rendered, out)
  const count = Object.values(rendered.monitors).reduce((sum, monitors) => sum + monitors.length, 0)
  process.stdout.write(`rendered ${count} monitors and 1 dashboard into ${out}\n`)
  return 0
}

if (import.meta.main) process.exitCode = main(process.argv.slice(2))
