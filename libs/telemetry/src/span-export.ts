import { core } from '@opentelemetry/sdk-node';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** Receives export failures: the last error and how many batches failed since the last call. */
export type ExportErrorHandler = (err: unknown, failedBatches: number) => void;

type ExportResult = Parameters<Parameters<SpanExporter['export']>[1]>[0];

/**
 * A span exporter that reports its failures (rate-limited) instead of letting them vanish
 * into OpenTelemetry's silent default error handler. It never throws: a failed batch is
 * dropped by the batch processor, whose queue is bounded.
 */
export class ReportingExporter implements SpanExporter {
  private handler: ExportErrorHandler | undefined;
  private failed = 0;
  private lastReportAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly inner: SpanExporter,
    private readonly options: { readonly intervalMs: number; readonly now?: () => number },
  ) {}

  /** Sets where failures go (replacing any earlier handler). */
  reportTo(handler: ExportErrorHandler): void {
    this.handler = handler;
  }

  /** Counts one failed batch and reports it unless a report went out within the interval. */
  report(err: unknown): void {
    this.failed += 1;
    const now = (this.options.now ?? Date.now)();
    if (this.handler === undefined || now - this.lastReportAt < this.options.intervalMs) return;
    this.lastReportAt = now;
    const failed = this.failed;
    this.failed = 0;
    this.handler(err, failed);
  }

  export(spans: ReadableSpan[], done: (result: ExportResult) => void): void {
    this.inner.export(spans, (result) => {
      if (result.code !== core.ExportResultCode.SUCCESS) this.report(result.error);
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.inner.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.inner.forceFlush?.() ?? Promise.resolve();
  }
}
