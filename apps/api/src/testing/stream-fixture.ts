import { createServer, Socket, type AddressInfo } from 'node:net';
import type { NewLogEntry } from '@linkflow/domain';
import { createEventPublisher, type Redis } from '@linkflow/queue';
import { createLogRepository, type Db } from '@linkflow/store';
import type { ApiHarness } from './api-harness.ts';
import { sampleWorkflow } from './api-harness.ts';

/**
 * Plays the executor's part for stream tests, through the same libraries it uses: log lines
 * appended in Postgres (the store numbers them), then published on the execution's channel.
 */
export interface FakeRun {
  /** A new pending execution of the harness tenant (nothing consumes its queue). */
  newExecution(): Promise<string>;
  /** Appends `count` lines; publishes them unless `publish` is false. Returns their seqs. */
  write(
    id: string,
    count: number,
    options?: { publish?: boolean; dataBytes?: number },
  ): Promise<number[]>;
  /** Publishes entries that exist only on the channel (seqs given), e.g. to flood a socket. */
  publishOnly(id: string, seqs: readonly number[], dataBytes: number): void;
  /** Ends the execution `success` in Postgres, then publishes the status (unless told not to). */
  succeed(id: string, options?: { publish?: boolean }): Promise<void>;
}

export async function createFakeRun(
  h: ApiHarness,
  options: { redis?: Redis; pool?: Db['pool'] } = {},
): Promise<FakeRun> {
  const pool = options.pool ?? h.db.pool;
  const publisherRedis = options.redis ?? h.redis;
  const logs = createLogRepository({ pool });
  const events = createEventPublisher(publisherRedis, () => undefined);
  const workflow = await h.request('POST', '/api/workflows', { body: sampleWorkflow('stream') });
  const workflowId = workflow.json<{ id: string }>().id;
  const line = (i: number, dataBytes = 0): NewLogEntry => ({
    at: new Date(),
    level: 'info',
    nodeId: 'n1',
    message: `line ${i}`,
    data: dataBytes > 0 ? { pad: 'x'.repeat(dataBytes) } : { i },
  });
  return {
    async newExecution() {
      const res = await h.request('POST', '/api/executions', { body: { workflow_id: workflowId } });
      return res.json<{ id: string }>().id;
    },
    async write(id, count, options = {}) {
      const entries = Array.from({ length: count }, (_, i) => line(i, options.dataBytes));
      const stored = await logs.append(id, entries);
      const seqs = stored.map((e) => e.seq);
      if (options.publish !== false) events.logs(id, entries, seqs);
      return seqs;
    },
    publishOnly(id, seqs, dataBytes) {
      events.logs(
        id,
        seqs.map((_, i) => line(i, dataBytes)),
        seqs,
      );
    },
    async succeed(id, options = {}) {
      await pool.query(
        `update executions set status = 'success', started_at = coalesce(started_at, now()),
           finished_at = now(), updated_at = now() where id = $1`,
        [id],
      );
      if (options.publish !== false) events.status(id, 'success');
    },
  };
}

/** A TCP proxy to `target` that a test can cut (as if Redis vanished for whoever uses it). */
export interface TcpProxy {
  readonly url: string;
  readonly port: number;
  /** Stops listening and destroys every proxied connection; reconnects are refused. */
  cut(): Promise<void>;
  /** Listens again on the same port. */
  resume(): Promise<void>;
}

export async function startTcpProxy(targetPort: number, scheme = 'redis'): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = new Socket();
    upstream.connect(targetPort, '127.0.0.1');
    for (const [a, b] of [
      [client, upstream],
      [upstream, client],
    ] as const) {
      sockets.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        sockets.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const resume = () => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `${scheme}://127.0.0.1:${port}`,
    port,
    async cut() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
    resume,
  };
}

/** The value of a counter or gauge sample in the app's `/metrics` text (0 when absent). */
export async function metricValue(h: ApiHarness, sample: string): Promise<number> {
  const text = (await h.request('GET', '/metrics', { key: null })).body;
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? 0 : Number(line.slice(sample.length + 1));
}
