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

/**
 * An executor's snapshot of the {@link FLEET_METRIC_NAMES} metrics, as JSON text. Reads only
 * those (not the whole registry, whose queue gauges would read Redis on every request).
 */
export async function fleetSnapshot(registry: Registry): Promise<string> {
  const metrics = FLEET_METRIC_NAMES.flatMap((name) => {
    const metric = registry.getSingleMetric(name);
    return metric === undefined ? [] : [metric.get()];
  });
  return JSON.stringify(await Promise.all(metrics));
}

const TYPES: readonly unknown[] = ['counter', 'gauge', 'histogram'];
const AGGREGATORS: readonly unknown[] = ['sum', 'max'];
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** One value of a metric: a finite number and labels of valid names with string or number values. */
function isValue(v: unknown): boolean {
  if (!isRecord(v) || typeof v.value !== 'number' || Number.isNaN(v.value)) return false;
  if (v.labels === undefined) return true;
  return (
    isRecord(v.labels) &&
    Object.entries(v.labels).every(
      ([name, value]) =>
        LABEL_NAME.test(name) && (typeof value === 'string' || typeof value === 'number'),
    )
  );
}

/**
 * Whether a decoded snapshot is what {@link fleetSnapshot} writes: metric objects of the fleet
 * names, with a known type and aggregator and well-formed values (anything else in Redis,
 * planted or from another version, would make the merge throw or print invalid text).
 */
function isSnapshot(value: unknown): value is MetricJson[] {
  return (
    Array.isArray(value) &&
    value.every(
      (m: unknown) =>
        isRecord(m) &&
        typeof m.name === 'string' &&
        FLEET_METRIC_NAMES.includes(m.name) &&
        TYPES.includes(m.type) &&
        AGGREGATORS.includes(m.aggregator) &&
        typeof m.help === 'string' &&
        Array.isArray(m.values) &&
        m.values.every(isValue),
    )
  );
}

function decodeSnapshot(raw: string): MetricJson[] | undefined {
  try {
    const value: unknown = JSON.parse(raw);
    return isSnapshot(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The Prometheus text of the executors' snapshots merged (empty without any). A snapshot that
 * does not decode is left out and counted in `skipped`; a merge that still fails leaves them
 * all out (`skipped` counts them): the scrape never fails because of what Redis held.
 */
export async function fleetMetricsText(
  snapshots: readonly string[],
): Promise<{ text: string; skipped: number }> {
  const decoded: MetricJson[][] = [];
  for (const raw of snapshots) {
    const snapshot = decodeSnapshot(raw);
    if (snapshot !== undefined) decoded.push(snapshot);
  }
  const skipped = snapshots.length - decoded.length;
  if (decoded.length === 0) return { text: '', skipped };
  try {
    return { text: await AggregatorRegistry.aggregate(decoded).metrics(), skipped };
  } catch {
    return { text: '', skipped: snapshots.length };
  }
}
