import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { ReportingExporter } from './span-export.ts';
import { startTracing } from './tracing.ts';

type Done = Parameters<SpanExporter['export']>[1];

/** An exporter whose every export fails with `error`. */
function failingExporter(error: Error): SpanExporter {
  return {
    export: (_spans: ReadableSpan[], done: Done) => done({ code: 1, error }),
    shutdown: () => Promise.resolve(),
  };
}

describe('ReportingExporter', () => {
  it('reports the first failure, then at most once per interval with the count', () => {
    let now = 0;
    const reports: [string, number][] = [];
    const exporter = new ReportingExporter(failingExporter(new TypeError('collector down')), {
      intervalMs: 60_000,
      now: () => now,
    });
    exporter.reportTo((err, failed) => reports.push([(err as Error).message, failed]));
    const results: number[] = [];
    for (const at of [0, 1_000, 30_000, 60_000]) {
      now = at;
      exporter.export([], (r) => results.push(r.code));
    }
    expect(results).toEqual([1, 1, 1, 1]);
    expect(reports).toEqual([
      ['collector down', 1],
      ['collector down', 3],
    ]);
  });

  it('stays silent until a handler is set', () => {
    const exporter = new ReportingExporter(failingExporter(new TypeError('down')), {
      intervalMs: 0,
    });
    expect(() => exporter.export([], () => undefined)).not.toThrow();
  });
});

/** A port nothing listens on (bound, then closed). */
async function closedPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('tracing with the collector down', () => {
  it('drops the batch, reports the failure and shuts down within its bound', async () => {
    const port = await closedPort();
    const tracing = startTracing({
      serviceName: 'down',
      otlpEndpoint: `http://127.0.0.1:${port}`,
      exportTimeoutMs: 1_000,
    });
    const reports: string[] = [];
    tracing.onExportError((err) => reports.push(String(err)));
    tracing.tracer.startSpan('work').end();

    await expect(tracing.shutdown(5_000)).resolves.toBeUndefined();

    expect(reports).toEqual([expect.stringContaining('ECONNREFUSED')]);
  });
});
