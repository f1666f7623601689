import {
  AggregatorRegistry,
  type MetricObjectWithValues,
  type MetricValue,
  type Registry,
} from 'prom-client';

/**
 * The executors' metrics as the API's `/metrics` also shows them, so a client that knows only
 * the API finds every name of the contract there. Each executor measures these and reports a
 * snapshot (see `startMetricsReporter` in libs/queue); the API merges the live executors'
 * snapshots at scrape time: counters and histograms add up, `linkflow_executions_active` adds
 * up, a breaker's state is the worst any executor reports.
 */
export const FLEET_METRIC_NAMES: readonly string[] = [
  'linkflow_executions_started_total',
  'linkflow_executions_finished_total',
  'linkflow_executions_active',
  'linkflow_execution_duration_seconds',
  'linkflow_execution_cost_usd_total',
  'linkflow_node_duration_seconds',
  'linkflow_node_retries_total',
  'linkflow_circuit_breaker_state',
  'linkflow_circuit_breaker_transitions_total',
];

type MetricJson = MetricObjectWithValues<MetricValue<string>>;

/** An executor's snapshot of the {@link FLEET_METRIC_NAMES} metrics, as JSON text. */
export async function fleetSnapshot(registry: Registry): Promise<string> {
  const all = (await registry.getMetricsAsJSON()) as MetricJson[];
  return JSON.stringify(all.filter((m) => FLEET_METRIC_NAMES.includes(m.name)));
}

/** Whether a decoded snapshot is a list of prom-client metric objects of the fleet names. */
function isSnapshot(value: unknown): value is MetricJson[] {
  return (
    Array.isArray(value) &&
    value.every(
      (m: unknown) =>
        typeof m === 'object' &&
        m !== null &&
        FLEET_METRIC_NAMES.includes((m as MetricJson).name) &&
        Array.isArray((m as MetricJson).values),
    )
  );
}

/**
 * The Prometheus text of the executors' snapshots merged (empty without any). A snapshot that
 * does not decode is left out and counted in `skipped`, never failing the scrape.
 */
export async function fleetMetricsText(
  snapshots: readonly string[],
): Promise<{ text: string; skipped: number }> {
  const decoded: MetricJson[][] = [];
  let skipped = 0;
  for (const raw of snapshots) {
    try {
      const value: unknown = JSON.parse(raw);
      if (isSnapshot(value)) decoded.push(value);
      else skipped += 1;
    } catch {
      skipped += 1;
    }
  }
  if (decoded.length === 0) return { text: '', skipped };
  const text = await AggregatorRegistry.aggregate(decoded).metrics();
  return { text, skipped };
}
