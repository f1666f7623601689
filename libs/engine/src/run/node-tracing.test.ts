import { Type } from '@sinclair/typebox';
import { describe, expect, it } from 'vitest';
import { REDACTED } from '@linkflow/domain';
import {
  createNodeRegistry,
  createTransformNode,
  NodeError,
  type NodeDefinition,
} from '@linkflow/nodes';
import { createFakeTracing, type FakeTracing } from '../testing/fake-tracing.ts';
import { compileTestWorkflow, dagRequest, withNodeDeps } from '../testing/node-runner-fakes.ts';
import { createRecordingLogger } from '../testing/recording-logger.ts';
import { runDag } from './dag-runner.ts';
import type { NodeRunResult } from './node-runner.ts';

// The engine's use of its tracing port, with a fake: a span per node attempt under the span
// that is active where the DAG runs, the attempt's span active while the node executes.

/** Fails its first attempt (retryable), then succeeds; records the span active inside it. */
function flakyNode(tracing: FakeTracing, activeInside: (number | undefined)[]): NodeDefinition {
  return {
    type: 'http',
    version: 1,
    configSchema: Type.Object({}, { additionalProperties: true }),
    rawFields: [],
    execute: (ctx) => {
      activeInside.push(tracing.active());
      if (ctx.attempt === 1)
        return Promise.reject(new NodeError('EXECUTION', 'upstream said 503', { retryable: true }));
      return Promise.resolve({ output: { ok: true }, usage: { net_bytes_in: 10 } });
    },
  };
}

describe('node attempt spans', () => {
  it('opens one span per attempt under the active span, with status, error type and cost', async () => {
    //   flaky (http: fails once, then succeeds) ──▶ after (transform)
    const tracing = createFakeTracing();
    const inside: (number | undefined)[] = [];
    const registry = createNodeRegistry([flakyNode(tracing, inside), createTransformNode()]);
    const workflow = compileTestWorkflow(
      {
        name: 'w',
        nodes: [
          {
            id: 'flaky',
            type: 'http',
            config: {},
            retry: { backoff: 'fixed', max_attempts: 3, initial_delay_ms: 1 },
          },
          { id: 'after', type: 'transform', config: { expression: 'nodes.flaky.ok' } },
        ],
        edges: [{ from: 'flaky', to: 'after' }],
      },
      registry,
    );
    // ACT: the DAG runs inside an execution span, as the processor runs it
    const execution = tracing.startExecution({
      executionId: 'e',
      tenantId: 't1',
      workflowId: 'w',
      workflowVersion: 1,
      attempt: 1,
      resumed: false,
    });
    const outcome = await withNodeDeps(registry, { slots: 2, maxOutputBytes: 1024 }, (deps) =>
      execution.within(() => runDag({ ...deps, tracing }, dagRequest(workflow))),
    );
    // ASSERT
    expect(outcome.status).toBe('success');
    const nodes = tracing.spans.filter((s) => s.kind === 'node');
    expect(nodes.map((s) => [s.info['nodeId'], s.info['attempt'], s.outcome?.status])).toEqual([
      ['flaky', 1, 'failed'],
      ['flaky', 2, 'success'],
      ['after', 1, 'success'],
    ]);
    expect(nodes.every((s) => s.parent === 1 && s.ends === 1)).toBe(true);
    expect(nodes[0]?.info).toMatchObject({ executionId: 'e', nodeType: 'http' });
    expect(nodes[0]?.outcome).toMatchObject({
      errorType: 'EXECUTION',
      errorMessage: 'upstream said 503',
    });
    expect(nodes.every((s) => (s.outcome?.costUsd ?? 0) > 0)).toBe(true);
    // the node ran with its own attempt's span active (client spans nest under it)
    expect(inside).toEqual([nodes[0]?.id, nodes[1]?.id]);
  });

  it('marks a cancelled attempt cancelled, not failed', async () => {
    const tracing = createFakeTracing();
    const hang: NodeDefinition = {
      type: 'http',
      version: 1,
      configSchema: Type.Object({}),
      rawFields: [],
      execute: (ctx) =>
        new Promise((_resolve, reject) =>
          ctx.signal.addEventListener('abort', () =>
            reject(new NodeError('CANCELLATION', 'stopped', { retryable: false })),
          ),
        ),
    };
    const registry = createNodeRegistry([hang]);
    const workflow = compileTestWorkflow(
      { name: 'w', nodes: [{ id: 'hang', type: 'http', config: {} }] },
      registry,
    );
    const stop = new AbortController();
    await withNodeDeps(registry, { maxOutputBytes: 1024 }, async (deps) => {
      const run = runDag(
        { ...deps, tracing },
        dagRequest(workflow, { signal: stop.signal, onStarted: () => stop.abort() }),
      );
      await run;
    });
    expect(tracing.spans.map((s) => s.outcome?.status)).toEqual(['cancelled']);
  });
});

describe('node redaction', () => {
  it('keeps config secrets out of the node log, output and error, and summarises the output', async () => {
    // echo (http): logs its Authorization header, returns it, then the next run fails quoting it
    const echo: NodeDefinition<{ headers: Record<string, string>; fail?: boolean }> = {
      type: 'http',
      version: 1,
      configSchema: Type.Object({}, { additionalProperties: true }),
      rawFields: [],
      execute: (ctx, config) => {
        const auth = config.headers['Authorization'] ?? '';
        ctx.log('info', `sending ${auth}`, { headers: config.headers, note: auth });
        if (config.fail === true)
          return Promise.reject(
            new NodeError('EXECUTION', `rejected ${auth} at postgres://u:pw-9999@db/x`, {
              retryable: false,
            }),
          );
        return Promise.resolve({ output: { echoed: auth, size: 2 }, usage: {} });
      },
    };
    const registry = createNodeRegistry([echo]);
    const log = createRecordingLogger();
    const config = { headers: { Authorization: 'Bearer s3cr3t-value' } };
    const workflow = compileTestWorkflow(
      {
        name: 'w',
        nodes: [
          { id: 'ok', type: 'http', config },
          { id: 'bad', type: 'http', config: { ...config, fail: true } },
        ],
      },
      registry,
    );
    const results = new Map<string, NodeRunResult>();
    await withNodeDeps(registry, { slots: 2, maxOutputBytes: 1024 }, (deps) =>
      runDag(
        { ...deps, log },
        dagRequest(workflow, {
          onSettled: (id, r) => (results.set(id, r as NodeRunResult), Promise.resolve()),
        }),
      ),
    );
    const ok = results.get('ok');
    const bad = results.get('bad');
    const stored = JSON.stringify([ok, bad]);
    expect(stored).not.toContain('s3cr3t-value');
    expect(stored).not.toContain('pw-9999');
    expect(ok?.output).toEqual({ echoed: REDACTED, size: 2 });
    expect(bad?.error?.message).toBe(`rejected ${REDACTED} at postgres://u:${REDACTED}@db/x`);
    expect(ok?.logs.at(-1)?.data).toMatchObject({
      output: { type: 'object', keys: ['echoed', 'size'] },
    });
    expect(JSON.stringify(log.lines)).not.toContain('s3cr3t-value');
    expect(log.lines.map((l) => [l.fields['nodeId'], l.message])).toEqual(
      expect.arrayContaining([
        ['ok', 'node finished'],
        ['bad', 'node finished without success'],
      ]),
    );
    expect(log.lines.every((l) => l.fields['executionId'] === 'e')).toBe(true);
  });
});
