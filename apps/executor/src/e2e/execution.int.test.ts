import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../../../../test/http-test-server.ts';
import { createExecutorHarness, n, type ExecutorHarness } from '../testing/executor-harness.ts';

let h: ExecutorHarness;
let srv: TestServer;
beforeAll(async () => {
  srv = await startTestServer();
  h = await createExecutorHarness({ LINKFLOW_MAX_OUTPUT_BYTES: String(64 * 1024) });
  await h.startExecutor();
});
afterAll(async () => {
  await h.close();
  await srv.close();
});

async function run(
  definition: Parameters<ExecutorHarness['createWorkflow']>[0],
  input: unknown = {},
) {
  const id = await h.start(await h.createWorkflow(definition), input);
  return h.waitFor(id);
}
const nodeRun = (e: Awaited<ReturnType<typeof run>>, id: string) =>
  e.nodeRuns.find((r) => r.nodeId === id);

describe('node types', () => {
  it('runs http, db, transform, condition and code nodes to success', async () => {
    //  fetch(http) -> big(condition) -true-> save(db) -> score(code)
    //                                 \-false-> note(transform)
    const e = await run(
      {
        name: 'five',
        nodes: [
          n.http('fetch', `${srv.url}/json?total={{ input.total }}`),
          n.condition('big', 'nodes.fetch.body.total > 100'),
          {
            id: 'save',
            type: 'db',
            config: {
              connection: 'main',
              query: 'select $1::int * 2 as doubled, $2::text as id',
              params: ['{{ nodes.fetch.body.total }}', '{{ nodes.fetch.body.id }}'],
            },
          },
          n.transform('note', "{ 'small': true }"),
          n.code('score', 'return { score: nodes.save.rows[0].doubled + input.total }'),
        ],
        edges: [
          { from: 'fetch', to: 'big' },
          { from: 'big', to: 'save', when: 'true' },
          { from: 'big', to: 'note', when: 'false' },
          { from: 'save', to: 'score' },
        ],
      },
      { total: 150 },
    );
    expect(e.status).toBe('success');
    expect(e.output).toEqual({ score: { score: 450 } });
    expect(nodeRun(e, 'fetch')?.output).toMatchObject({
      status: 200,
      body: { total: 150, id: 'o-1' },
    });
    expect(nodeRun(e, 'save')?.output).toEqual({
      rows: [{ doubled: 300, id: 'o-1' }],
      row_count: 1,
    });
    expect(nodeRun(e, 'note')?.status).toBe('skipped');
    expect(e.transitions.map((t) => t.to)).toEqual(['pending', 'running', 'success']);
    expect(Number(e.costTotal)).toBeGreaterThan(0);
  });

  it('stores structured logs with a per-execution sequence', async () => {
    const e = await run({
      name: 'logs',
      nodes: [n.transform('a', '1'), n.transform('b', '2')],
      edges: [{ from: 'a', to: 'b' }],
    });
    const logs = await h.db.pool.query<{ seq: number; message: string; node_id: string | null }>(
      'select seq, message, node_id from execution_logs where execution_id = $1 order by seq',
      [e.id],
    );
    expect(logs.rows.map((r) => r.seq)).toEqual(logs.rows.map((_, i) => i + 1));
    expect(logs.rows.map((r) => r.message)).toEqual([
      'execution started',
      'node a succeeded in ' + String(nodeRun(e, 'a')?.durationMs) + ' ms',
      expect.stringMatching(/^node b succeeded/),
      'execution succeeded',
    ]);
  });
});

describe('DAG semantics', () => {
  it('runs parallel branches that overlap in time', async () => {
    //   a (slow 300ms)   b (slow 300ms)
    //          \         /
    //            join
    const e = await run({
      name: 'par',
      nodes: [
        n.http('a', `${srv.url}/slow?ms=300`),
        n.http('b', `${srv.url}/slow?ms=300`),
        n.transform('join', 'nodes.a.body.slept + nodes.b.body.slept'),
      ],
      edges: [
        { from: 'a', to: 'join' },
        { from: 'b', to: 'join' },
      ],
    });
    const [a, b] = [nodeRun(e, 'a'), nodeRun(e, 'b')];
    expect(e.output).toEqual({ join: 600 });
    expect(a!.startedAt!.getTime()).toBeLessThan(b!.finishedAt!.getTime());
    expect(b!.startedAt!.getTime()).toBeLessThan(a!.finishedAt!.getTime());
  });

  it('skips the untaken branch and runs a join with one taken parent', async () => {
    //        cond
    //   t  /      \ f
    //     yes     no --> after_no
    //       \     /
    //        join
    const e = await run(
      {
        name: 'join',
        nodes: [
          n.condition('cond', 'input.go'),
          n.transform('yes', '"Y"'),
          n.transform('no', '"N"'),
          n.transform('after_no', '1'),
          n.transform('join', 'nodes.yes'),
        ],
        edges: [
          { from: 'cond', to: 'yes', when: 'true' },
          { from: 'cond', to: 'no', when: 'false' },
          { from: 'no', to: 'after_no' },
          { from: 'yes', to: 'join' },
          { from: 'no', to: 'join' },
        ],
      },
      { go: true },
    );
    expect(Object.fromEntries(e.nodeRuns.map((r) => [r.nodeId, r.status]))).toEqual({
      cond: 'success',
      yes: 'success',
      no: 'skipped',
      after_no: 'skipped',
      join: 'success',
    });
    expect(e.output).toEqual({ join: 'Y' });
  });

  it('with fail_fast, cancels running siblings and fails the execution', async () => {
    //  bad (404)   slow (2 s)
    const e = await run({
      name: 'ff',
      nodes: [n.http('bad', `${srv.url}/status/404`), n.http('slow', `${srv.url}/slow?ms=2000`)],
      settings: { fail_fast: true },
    });
    expect(e.status).toBe('failed');
    expect(e.error).toMatchObject({ type: 'EXECUTION', node_id: 'bad', status: 404 });
    expect(nodeRun(e, 'slow')?.status).toBe('cancelled');
    expect(e.finishedAt!.getTime() - e.startedAt!.getTime()).toBeLessThan(1500);
  });

  it('without fail_fast, lets independent branches finish and cancels dependants of the failure', async () => {
    //  bad --> after_bad     slow
    const e = await run({
      name: 'nff',
      nodes: [
        n.http('bad', `${srv.url}/status/400`),
        n.transform('after_bad', '1'),
        n.http('slow', `${srv.url}/slow?ms=300`),
      ],
      edges: [{ from: 'bad', to: 'after_bad' }],
      settings: { fail_fast: false },
    });
    expect(e.status).toBe('failed');
    expect(nodeRun(e, 'slow')?.status).toBe('success');
    expect(nodeRun(e, 'after_bad')?.status).toBe('cancelled');
  });
});

describe('retries and timeouts', () => {
  it('retries retryable failures with growing delays and records each attempt', async () => {
    const e = await run({
      name: 'retry',
      nodes: [
        n.http('f', `${srv.url}/flaky/r1?fails=3`, {
          retry: { max_attempts: 4, initial_delay_ms: 100, max_delay_ms: 2000 },
        }),
      ],
    });
    expect(e.status).toBe('success');
    const attempts = nodeRun(e, 'f')!;
    expect(attempts.attempts).toBe(4);
    const calls = srv.calls.filter((c) => c.path.startsWith('/flaky/r1')).map((c) => c.at);
    const gaps = calls.slice(1).map((t, i) => t - (calls[i] as number));
    expect(gaps[0]).toBeGreaterThanOrEqual(50);
    expect(gaps[2]).toBeGreaterThan(gaps[0] as number);
  });

  it('gives up with RETRY_EXHAUSTED carrying the last error as cause', async () => {
    const e = await run({
      name: 'exhaust',
      nodes: [
        n.http('f', `${srv.url}/flaky/r2?fails=9`, {
          retry: { max_attempts: 2, initial_delay_ms: 10 },
        }),
      ],
    });
    expect(nodeRun(e, 'f')?.error).toMatchObject({
      type: 'RETRY_EXHAUSTED',
      cause: { type: 'EXECUTION', status: 503 },
    });
  });

  it('does not retry a 4xx other than 408/429', async () => {
    const e = await run({
      name: '404',
      nodes: [
        n.http('f', `${srv.url}/status/404`, { retry: { max_attempts: 3, initial_delay_ms: 10 } }),
      ],
    });
    expect(nodeRun(e, 'f')).toMatchObject({
      attempts: 1,
      error: { type: 'EXECUTION', status: 404 },
    });
  });

  it('fails a node past its timeout_ms with TIMEOUT', async () => {
    const e = await run({
      name: 'nt',
      nodes: [n.http('s', `${srv.url}/slow?ms=2000`, { timeout_ms: 200 })],
    });
    expect(nodeRun(e, 's')?.error?.type).toBe('TIMEOUT');
    expect(nodeRun(e, 's')!.durationMs!).toBeLessThan(1000);
  });

  it('fails an execution past settings.timeout_ms with TIMEOUT and aborts its running node', async () => {
    const e = await run({
      name: 'et',
      nodes: [n.http('s', `${srv.url}/hang`)],
      settings: { timeout_ms: 300 },
    });
    expect(e.status).toBe('failed');
    expect(e.error?.type).toBe('TIMEOUT');
    expect(nodeRun(e, 's')?.status).toBe('cancelled');
    expect(e.finishedAt!.getTime() - e.startedAt!.getTime()).toBeLessThan(1500);
  });
});

describe('node failures that must not hurt the executor', () => {
  it('fails an expression that throws with EXPRESSION', async () => {
    const e = await run({ name: 'expr', nodes: [n.transform('x', '$error("bad input")')] });
    expect(e.error).toMatchObject({ type: 'EXPRESSION', node_id: 'x' });
  });

  it('fails a refused connection with CONNECTIVITY', async () => {
    const e = await run({ name: 'conn', nodes: [n.http('x', 'http://127.0.0.1:1/')] });
    expect(e.error?.type).toBe('CONNECTIVITY');
  });

  it.each([
    ['process', 'return process.env'],
    ['require', "return require('fs')"],
    ['constructor escape', "return this.constructor.constructor('return process')()"],
    ['busy loop', 'while(true){}'],
    ['1 GB allocation', "return 'x'.repeat(1024 * 1024 * 1024)"],
  ])('fails a code node that tries %s, then serves the next job', async (_name, source) => {
    const e = await run({
      name: 'esc',
      nodes: [n.code('c', source, { timeout_ms: 300, memory_mb: 32 })],
    });
    expect(e.status).toBe('failed');
    expect(e.error?.message).toBeTruthy();
    const next = await run({ name: 'next', nodes: [n.code('c', 'return 42')] });
    expect(next.output).toEqual({ c: 42 });
  });

  it('fails a node whose output holds a NUL character, and the executor goes on', async () => {
    const e = await run({
      name: 'nul',
      nodes: [n.code('c', 'return { text: "a" + String.fromCharCode(0) + "b" }')],
    });
    expect(e.error).toMatchObject({ type: 'EXECUTION', node_id: 'c' });
    expect(e.error?.message).toMatch(/NUL character/);
    const next = await run({ name: 'after-nul', nodes: [n.transform('t', '1')] });
    expect(next.status).toBe('success');
  });

  it('fails an http response over max_response_bytes', async () => {
    const e = await run({
      name: 'bigres',
      nodes: [n.http('b', `${srv.url}/big?bytes=${128 * 1024}`)],
    });
    expect(e.error?.message).toMatch(/exceeds max_response_bytes/);
  });

  it('fails a node whose output is over the cap without storing it', async () => {
    // A transform is capped while it builds the value (EXPRESSION), before any serialising.
    const e = await run({ name: 'big', nodes: [n.transform('b', "$pad('', 131072, 'x')")] });
    expect(e.error).toMatchObject({ type: 'EXPRESSION', node_id: 'b' });
    expect(e.error?.message).toMatch(/over the 65536-byte limit/);
    expect(nodeRun(e, 'b')?.output).toBeNull();
  });
});
