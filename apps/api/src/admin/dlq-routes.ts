import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { isTerminal } from '@linkflow/domain';
import { runQueueOperation, type DeadLetterEntry } from '@linkflow/queue';
import type { DeadExecutionFacts } from '@linkflow/store';
import { apiErrors } from '../http/api-errors.ts';
import { described, NoContent, responses } from '../http/schemas.ts';
import type { AdminDeps } from './admin-routes.ts';
import { DeadLetterPage, DeadLetterQuery, ExecutionIdParams, ReplayView } from './admin-schemas.ts';

const tags = ['admin'];
const config = { scope: 'admin' as const };

/** The transition reason a replay records. */
export const REPLAY_REASON = 'replayed from the dead-letter queue';

/**
 * A DLQ cursor names the first entry of the next page and its position from the oldest entry
 * then: the page starts wherever that entry is now (entries replayed or discarded from earlier
 * pages do not make it skip unseen ones), or at the position when the entry has gone meanwhile.
 */
interface DlqCursor {
  readonly offset: number;
  readonly anchor: string;
}

function decodeCursor(cursor: string | undefined): DlqCursor | undefined {
  if (cursor === undefined) return undefined;
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^dlq:(\d{1,9}):(.{1,128})$/.exec(text);
  if (!match) throw apiErrors.invalidRequest([{ path: '/cursor', message: 'not a DLQ cursor' }]);
  return { offset: Number(match[1]), anchor: match[2] ?? '' };
}

const encodeCursor = (c: DlqCursor) =>
  Buffer.from(`dlq:${c.offset}:${c.anchor}`).toString('base64url');

function entryView(entry: DeadLetterEntry, facts: DeadExecutionFacts | undefined) {
  return {
    execution_id: entry.execution_id,
    tenant_id: facts?.tenantId ?? null,
    workflow_id: facts?.workflowId ?? null,
    workflow_name: facts?.workflowName ?? null,
    status: facts?.status ?? null,
    reason: entry.reason,
    attempts: facts?.attempts ?? 0,
    dead_lettered_at: entry.dead_at,
  };
}

function registerList(app: FastifyInstance, deps: AdminDeps): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/api/admin/dlq',
    {
      config,
      schema: {
        querystring: DeadLetterQuery,
        tags,
        response: responses({ 200: described(DeadLetterPage, 'Oldest first') }, [400, 503]),
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 50;
      const cursor = decodeCursor(request.query.cursor);
      const offset = cursor ? await deps.dlq.positionOf(cursor.anchor, cursor.offset) : 0;
      const entries = await deps.dlq.list(offset, limit + 1);
      const page = entries.slice(0, limit);
      const next = entries[limit];
      const facts = await deps.deadLetters.facts(page.map((e) => e.execution_id));
      return {
        items: page.map((e) => entryView(e, facts.get(e.execution_id))),
        next_cursor: next
          ? encodeCursor({ offset: offset + limit, anchor: next.execution_id })
          : null,
      };
    },
  );
}

/**
 * Replay, in an order that leaves nothing half-done if Redis or Postgres fails between
 * steps: (1) the execution's finished BullMQ job is removed (else the sweeper would read
 * it as failed and dead-letter the execution again), (2) Postgres records failed → pending,
 * (3) the job is added to its tag set's queue, (4) the DLQ entry is removed. A failure after
 * (2) leaves a pending execution without a job, which the sweeper enqueues; repeating the
 * request finishes steps (3) and (4) (each is idempotent). An execution retention purged
 * (nothing to resume from) or that ended otherwise meanwhile is refused (409), its entry kept.
 */
async function replay(deps: AdminDeps, facts: DeadExecutionFacts): Promise<void> {
  const queue = deps.queues.forTags(facts.workerTags);
  if (facts.status === 'failed') {
    await runQueueOperation({ operation: 'replay', queue: queue.name, timeoutMs: 5_000 }, () =>
      queue.queue.remove(facts.id),
    );
    const outcome = await deps.deadLetters.replay(facts.id, deps.clock.now(), REPLAY_REASON);
    // Retention purged its node runs (a rerun would repeat every node), or it ended another
    // way since the facts were read: refuse, and keep the entry for the operator.
    if (outcome.outcome === 'not_found') throw apiErrors.notFound('execution', facts.id);
    if (outcome.outcome === 'purged')
      throw apiErrors.notRecoverable(facts.id, { ...outcome, leaseLive: false, purged: true });
    if (outcome.outcome === 'not_failed' && isTerminal(outcome.status))
      throw apiErrors.executionTerminal(facts.id, outcome.status);
  }
  await deps.queues.requeue({
    executionId: facts.id,
    tenantId: facts.tenantId,
    priority: facts.priority,
    workerTags: facts.workerTags,
  });
  await deps.dlq.remove(facts.id);
}

function registerReplay(app: FastifyInstance, deps: AdminDeps): void {
  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/api/admin/dlq/:execution_id/replay',
    {
      config,
      schema: {
        params: ExecutionIdParams,
        tags,
        response: responses(
          { 202: described(ReplayView, 'Back in its queue; it resumes from its checkpoints') },
          [400, 404, 409, 503],
        ),
      },
    },
    async (request, reply) => {
      const id = request.params.execution_id;
      if (!(await deps.dlq.get(id))) throw apiErrors.notFound('dead-letter entry', id);
      const facts = (await deps.deadLetters.facts([id])).get(id);
      if (!facts) throw apiErrors.notFound('execution', id);
      // Succeeded or cancelled since (recovered another way): nothing to replay.
      if (isTerminal(facts.status) && facts.status !== 'failed')
        throw apiErrors.executionTerminal(id, facts.status);
      await replay(deps, facts);
      const queue = deps.queues.forTags(facts.workerTags).name;
      return reply.status(202).send({ execution_id: id, status: 'pending', queue });
    },
  );
}

function registerDelete(app: FastifyInstance, deps: AdminDeps): void {
  app.withTypeProvider<TypeBoxTypeProvider>().delete(
    '/api/admin/dlq/:execution_id',
    {
      config,
      schema: {
        params: ExecutionIdParams,
        tags,
        response: responses(
          { 204: described(NoContent, 'Discarded; the execution stays failed') },
          [400, 404, 503],
        ),
      },
    },
    async (request, reply) => {
      const id = request.params.execution_id;
      if (!(await deps.dlq.remove(id))) throw apiErrors.notFound('dead-letter entry', id);
      return reply.status(204).send(null);
    },
  );
}

/** `GET /api/admin/dlq`, `POST /api/admin/dlq/:execution_id/replay`, `DELETE /api/admin/dlq/:execution_id`. */
export function registerDeadLetterRoutes(app: FastifyInstance, deps: AdminDeps): void {
  registerList(app, deps);
  registerReplay(app, deps);
  registerDelete(app, deps);
}
