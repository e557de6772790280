/**
 * What the Datadog agent must be configured with for the monitors, the dashboard and the canary to
 * find their metrics. A DogStatsD timing or histogram reaches Datadog only as the series the agent
 * computes from it, `<name>.<aggregate>` and `<name>.<NN>percentile`, and only those listed here:
 * without `histogram_percentiles`, `request.duration.99percentile` never exists and the p99 monitor
 * can never fire. infra/cloudformation/stack.ts writes these settings into the instance's
 * datadog.yaml; a containerised agent takes them as DD_HISTOGRAM_AGGREGATES / DD_HISTOGRAM_PERCENTILES.
 */
export const DOGSTATSD_AGENT_SETTINGS = {
  // The agent's defaults are max, median, avg and count; sum and min are queried too.
  histogram_aggregates: ['max', 'median', 'avg', 'count', 'sum', 'min'],
  histogram_percentiles: ['0.95', '0.99']
} as const

export interface HistogramSettings {
  histogram_aggregates: readonly string[]
  histogram_percentiles: readonly string[]
}

/** The series suffixes the agent produces for a timing/histogram: `.avg`, …, `.95percentile`. */
export function histogramSuffixes (settings: HistogramSettings = DOGSTATSD_AGENT_SETTINGS): string[] {
  return [
    ...settings.histogram_aggregates.map((aggregate) => `.${aggregate}`),
    // The agent names a percentile after its integer hundredths: 0.99 → 99percentile.
    ...settings.histogram_percentiles.map((percentile) => `.${Math.round(Number(percentile) * 100)}percentile`)
  ]
}

/** The agent's environment variables for the same settings (a containerised agent, docs/operations.md). */
export function agentEnvironment (settings: HistogramSettings = DOGSTATSD_AGENT_SETTINGS): Record<string, string> {
  return {
    DD_HISTOGRAM_AGGREGATES: settings.histogram_aggregates.join(' '),
    DD_HISTOGRAM_PERCENTILES: settings.histogram_percentiles.join(' ')
  }
}

/**
 * Tags on every metric of an instance that the service does not send: the agent's own `tags`
 * (stack.ts: service, env) and the host tags Datadog's AWS integration gives an EC2 host.
 */
export const HOST_TAGS = ['service', 'env', 'region', 'availability-zone', 'autoscaling_group', 'instance-type'] as const
