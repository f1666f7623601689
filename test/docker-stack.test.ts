import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createApiMetrics, createExecutorMetrics, FLEET_METRIC_NAMES } from '@linkflow/telemetry';

/*
 * docker/: the Grafana dashboard only queries metrics the product exports, and the compose
 * stack, Prometheus config and Dockerfile agree with each other. No network, no Docker
 * engine: promtool and `docker compose config` run only where they are installed.
 */

const repo = (path: string) => fileURLToPath(new URL(`../${path}`, import.meta.url));
const read = (path: string) => readFileSync(repo(path), 'utf8');

/** Every series name the API and the executor can expose (histograms with their suffixes). */
async function exportedNames(): Promise<Set<string>> {
  const queue = { read: () => Promise.resolve({ jobs: [], dlqSize: 0 }) };
  const names = new Set<string>();
  for (const { registry } of [createApiMetrics({ queue }), createExecutorMetrics({ queue })]) {
    for (const metric of await registry.getMetricsAsJSON()) {
      names.add(metric.name);
      if (String(metric.type) === 'histogram')
        for (const suffix of ['_bucket', '_sum', '_count']) names.add(metric.name + suffix);
      if (String(metric.type) === 'summary')
        for (const suffix of ['_sum', '_count']) names.add(metric.name + suffix);
    }
  }
  return names;
}

const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const PROMQL_WORDS_OPS = new Set(['and', 'or', 'unless', 'offset', 'bool', 'inf', 'nan']);

/**
 * Metric names in a PromQL expression: identifiers that are not functions (followed by
 * `(`), keywords, label names (inside `{}` or a `by (...)` list), ranges, strings or
 * Grafana variables.
 */
function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\$\w+/g, ' ');
  const names: string[] = [];
  for (const m of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = m[0];
    const after = bare.slice((m.index ?? 0) + word.length);
    if (/^\s*\(/.test(after) || PROMQL_WORDS.has(word) || PROMQL_WORDS_OPS.has(word)) continue;
    names.push(word);
  }
  return names;
}

interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}

function expressions(): { panel: string; expr: string }[] {
  const dashboard = JSON.parse(read('docker/grafana/dashboards/linkflow.json')) as Panel;
  const all: { panel: string; expr: string }[] = [];
  const walk = (panels: Panel[] = []) => {
    for (const p of panels) {
      for (const t of p.targets ?? [])
        if (t.expr !== undefined) all.push({ panel: p.title ?? '?', expr: t.expr });
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  return all;
}

describe('metricNamesIn', () => {
  it('finds metric names and skips functions, labels, ranges and variables', () => {
    expect(
      metricNamesIn(
        'histogram_quantile(0.95, sum by (le, type) (rate(linkflow_node_duration_seconds_bucket{type!="x"}[$__rate_interval])))',
      ),
    ).toEqual(['linkflow_node_duration_seconds_bucket']);
    expect(metricNamesIn('count(max by (target) (a_state) == 2) or vector(0)')).toEqual([
      'a_state',
    ]);
    expect(metricNamesIn('sum(rate(b_total[5m])) / sum(rate(c_total[5m])) * 3600')).toEqual([
      'b_total',
      'c_total',
    ]);
  });
});

describe('Grafana dashboard', () => {
  it('queries only metric names the API or the executor exports', async () => {
    const exported = await exportedNames();
    const exprs = expressions();
    expect(exprs.length).toBeGreaterThan(20);
    const unknown = exprs.flatMap(({ panel, expr }) =>
      metricNamesIn(expr)
        .filter((name) => !exported.has(name))
        .map((name) => `${panel}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it('covers throughput, latency, node durations, queue by priority, DLQ, breakers and cost', () => {
    const all = expressions().map((e) => e.expr);
    const some = (pattern: RegExp) => all.some((expr) => pattern.test(expr));
    expect(some(/rate\(linkflow_executions_started_total/)).toBe(true);
    expect(some(/rate\(linkflow_executions_finished_total/)).toBe(true);
    expect(some(/histogram_quantile\(0\.99, .*linkflow_execution_duration_seconds_bucket/)).toBe(
      true,
    );
    expect(some(/by \(le, type\).*linkflow_node_duration_seconds_bucket/)).toBe(true);
    expect(some(/by \(priority\) \(linkflow_queue_jobs\{state="waiting"\}\)/)).toBe(true);
    expect(some(/linkflow_dlq_size/)).toBe(true);
    expect(some(/linkflow_circuit_breaker_state/)).toBe(true);
    expect(some(/by \(workflow\).*linkflow_execution_cost_usd_total/)).toBe(true);
    expect(some(/linkflow_http_request_duration_seconds_bucket/)).toBe(true);
  });

  it('is provisioned from the folder compose mounts, on the Prometheus datasource', () => {
    const compose = parse(read('docker/compose.yaml'), { merge: true });
    const datasources = parse(read('docker/grafana/provisioning/datasources/prometheus.yml'));
    const providers = parse(read('docker/grafana/provisioning/dashboards/dashboards.yml'));
    expect(datasources.datasources[0]).toMatchObject({
      type: 'prometheus',
      uid: 'prometheus',
      url: 'http://prometheus:9090',
    });
    const path = providers.providers[0].options.path;
    expect(compose.services.grafana.volumes).toContain(`./grafana/dashboards:${path}:ro`);
  });
});

describe('docker compose stack', () => {
  const compose = parse(read('docker/compose.yaml'), { merge: true });
  const services = compose.services as Record<string, Record<string, unknown>>;

  it('has every service, with an executor that can scale', () => {
    expect(Object.keys(services)).toEqual(
      expect.arrayContaining([
        'postgres',
        'redis',
        'api',
        'executor',
        'prometheus',
        'grafana',
        'jaeger',
      ]),
    );
    const executor = services['executor'] ?? {};
    expect(executor).not.toHaveProperty('container_name');
    expect(executor).not.toHaveProperty('ports');
    expect(executor['environment']).toMatchObject({
      EXECUTOR_METRICS_PORT: '9464',
      EXECUTOR_METRICS_HOST: '0.0.0.0',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318',
    });
    expect(services['api']?.['environment']).toMatchObject({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://jaeger:4318',
    });
  });

  it('runs Redis with noeviction and an append-only file', () => {
    const command = (services['redis']?.['command'] as string[]).join(' ');
    expect(command).toContain('--maxmemory-policy noeviction');
    expect(command).toContain('--appendonly yes');
  });

  it('builds api, executor and migrate from Dockerfile targets that run as a non-root user', () => {
    const dockerfile = read('docker/Dockerfile');
    for (const name of ['api', 'executor', 'migrate']) {
      const build = services[name]?.['build'] as { target?: string; dockerfile?: string };
      expect(build).toMatchObject({ target: name, dockerfile: 'docker/Dockerfile' });
      expect(dockerfile).toMatch(new RegExp(`^FROM runtime AS ${name}$`, 'm'));
    }
    const runtime = dockerfile.slice(dockerfile.indexOf('FROM base AS runtime'));
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).not.toMatch(/^USER (?!node$)/m);
  });

  it('passes docker compose config', (ctx) => {
    if (spawnSync('docker', ['compose', 'version']).status !== 0)
      ctx.skip('`docker compose` is not available (the docker CLI compose plugin is missing)');
    const res = spawnSync(
      'docker',
      ['compose', '-f', repo('docker/compose.yaml'), 'config', '-q'],
      {
        encoding: 'utf8',
      },
    );
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
  });
});

describe('Prometheus config', () => {
  const config = parse(read('docker/prometheus/prometheus.yml'));
  const jobs = Object.fromEntries(
    (config.scrape_configs as { job_name: string }[]).map((j) => [j.job_name, j]),
  );

  it('scrapes the API and every executor replica on the compose metrics port', () => {
    expect(jobs['linkflow-api']).toMatchObject({ static_configs: [{ targets: ['api:8084'] }] });
    expect(jobs['linkflow-executor']).toMatchObject({
      dns_sd_configs: [{ names: ['executor'], type: 'A', port: 9464 }],
    });
  });

  it("drops from the API job exactly the executors' metrics it also serves (no double count)", async () => {
    const api = jobs['linkflow-api'] as { metric_relabel_configs?: unknown } | undefined;
    const [rule] = (api?.metric_relabel_configs ?? []) as { regex: string; action: string }[];
    expect(rule?.action).toBe('drop');
    const dropped = new RegExp(`^(?:${rule?.regex ?? ''})$`);
    const fleet = new Set(FLEET_METRIC_NAMES);
    for (const name of await exportedNames()) {
      const base = name.replace(/_(bucket|sum|count)$/, '');
      const fromExecutors = fleet.has(name) || fleet.has(base);
      expect({ name, dropped: dropped.test(name) }).toEqual({ name, dropped: fromExecutors });
    }
  });

  it('passes promtool check config', (ctx) => {
    if (spawnSync('promtool', ['--version']).status !== 0)
      ctx.skip('promtool is not installed (Debian package `prometheus` ships it)');
    const res = spawnSync(
      'promtool',
      ['check', 'config', repo('docker/prometheus/prometheus.yml')],
      {
        encoding: 'utf8',
      },
    );
    expect(res.stdout + res.stderr).toContain('SUCCESS');
    expect(res.status).toBe(0);
  });
});
