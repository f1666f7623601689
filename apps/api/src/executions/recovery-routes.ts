import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Clock } from '@linkflow/domain';
import type { DeadLetterQueue } from '@linkflow/queue';
import type { ExecutionRepository, RecoveryRepository } from '@linkflow/store';
import { principalOf } from '../auth/auth.ts';
import { apiErrors } from '../http/api-errors.ts';
import { described, IdParams, responses } from '../http/schemas.ts';
import type { ExecutionSignals } from './execution-routes.ts';
import { CheckpointsView, ExecutionView } from './execution-schemas.ts';
import { executionView } from './execution-view.ts';
import type { Enqueuer } from './start-execution.ts';

export interface RecoveryRouteDeps {
  readonly executions: ExecutionRepository;
  readonly recovery: RecoveryRepository;
  readonly queue: Enqueuer;
  readonly deadLetters: Pick<DeadLetterQueue, 'remove'>;
  readonly signals: Pick<ExecutionSignals, 'traceContext'>;
  readonly clock: Clock;
}

const tags = ['executions'];

async function checkpointsOf(deps: RecoveryRouteDeps, tenantId: string, id: string) {
  if (!(await deps.executions.exists(tenantId, id))) throw apiErrors.notFound('execution', id);
  const checkpoints = await deps.recovery.checkpoints(id);
  return {
    execution_id: id,
    checkpoints: checkpoints.map((c) => ({
      node_id: c.nodeId,
      ...(c.iteration === undefined ? {} : { iteration: c.iteration }),
      type: c.type,
      status: c.status,
      attempts: c.attempts,
      output_bytes: c.outputBytes,
      at: c.at?.toISOString() ?? null,
    })),
    at: deps.clock.now().toISOString(),
  };
}

function registerCheckpoints(app: FastifyInstance, deps: RecoveryRouteDeps): void {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const schema = {
    params: IdParams,
    tags,
    response: responses(
      { 200: described(CheckpointsView, 'Settled nodes, in settle order') },
      [400, 404],
    ),
  };
  typed.get(
    '/api/executions/:id/checkpoints',
    { config: { scope: 'executions:read' }, schema },
    async (request) => checkpointsOf(deps, principalOf(request).tenantId, request.params.id),
  );
  // Every settled node is checkpointed when it settles: "checkpoint now" reads that state.
  typed.post(
    '/api/executions/:id/checkpoint',
    { config: { scope: 'executions:read' }, schema },
    async (request) => checkpointsOf(deps, principalOf(request).tenantId, request.params.id),
  );
}

async function enqueueRecovered(
  deps: RecoveryRouteDeps,
  job: Parameters<Enqueuer['requeue']>[0],
  log: FastifyBaseLogger,
): Promise<void> {
  const executionId = job.executionId;
  const [enqueued, undead] = await Promise.allSettled([
    deps.queue.requeue(job),
    // A dead-lettered execution that recovers is no longer dead: its entry would keep
    // linkflow_dlq_size up and offer a replay of a live execution.
    deps.deadLetters.remove(executionId),
  ]);
  // Committed as pending: the executors' reconciler enqueues it once Redis answers again.
  if (enqueued.status === 'rejected')
    log.warn({ err: enqueued.reason, executionId }, 'enqueue after recover failed; reconciler');
  if (undead.status === 'rejected')
    log.warn({ err: undead.reason, executionId }, 'DLQ entry of a recovered execution left');
}

function registerRecover(app: FastifyInstance, deps: RecoveryRouteDeps): void {
  app.withTypeProvider<TypeBoxTypeProvider>().post(
    '/api/executions/:id/recover',
    {
      config: { scope: 'executions:write' },
      schema: {
        params: IdParams,
        tags,
        response: responses(
          { 202: described(ExecutionView, 'Recovered: pending again, resumes from checkpoints') },
          [400, 404, 409],
        ),
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const tenantId = principalOf(request).tenantId;
      const change = { at: deps.clock.now(), reason: 'recovered by request' };
      const outcome = await deps.recovery.recover(tenantId, id, change);
      if (outcome.outcome === 'not_found') throw apiErrors.notFound('execution', id);
      if (outcome.outcome === 'refused') throw apiErrors.notRecoverable(id, outcome);
      const trace = deps.signals.traceContext();
      const { priority, workerTags } = outcome;
      const job = { executionId: id, tenantId, priority, workerTags };
      await enqueueRecovered(deps, trace ? { ...job, trace } : job, request.log);
      const detail = await deps.executions.get(tenantId, id);
      if (!detail) throw apiErrors.notFound('execution', id);
      return reply.status(202).send(executionView(detail, detail));
    },
  );
}

/** Checkpoint inspection and recovery of failed or abandoned executions. */
export function registerRecoveryRoutes(app: FastifyInstance, deps: RecoveryRouteDeps): void {
  registerCheckpoints(app, deps);
  registerRecover(app, deps);
}
