import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Clock } from '@linkflow/domain';
import {
  readQueueStatus,
  setQueuesPaused,
  type BreakerBoard,
  type DeadLetterQueue,
  type ExecutionQueues,
  type Redis,
  type WorkerRegistry,
} from '@linkflow/queue';
import type { DeadLetterStore } from '@linkflow/store';
import { described, responses } from '../http/schemas.ts';
import { BreakerList, PauseView, QueueStatusView, WorkerList } from './admin-schemas.ts';
import { registerDeadLetterRoutes } from './dlq-routes.ts';

/** What the `/api/admin/*` routes read and change (fleet-wide: operator scope). */
export interface AdminDeps {
  readonly queues: ExecutionQueues;
  readonly dlq: DeadLetterQueue;
  readonly workers: WorkerRegistry;
  /** Breaker states the executors publish. */
  readonly breakers: BreakerBoard;
  readonly deadLetters: DeadLetterStore;
  /** The producer connection the queues share. */
  readonly redis: Redis;
  readonly clock: Clock;
}

const tags = ['admin'];
const config = { scope: 'admin' as const };

function registerQueueRoutes(app: FastifyInstance, deps: AdminDeps): void {
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  typed.get(
    '/api/admin/queue/status',
    {
      config,
      schema: {
        tags,
        response: responses({ 200: described(QueueStatusView, 'Every execution queue') }, [503]),
      },
    },
    () =>
      readQueueStatus({
        queues: deps.queues,
        dlq: deps.dlq,
        workers: deps.workers,
        redis: deps.redis,
        now: () => deps.clock.now().getTime(),
      }),
  );
  for (const action of ['pause', 'resume'] as const) {
    typed.post(
      `/api/admin/queue/${action}`,
      {
        config,
        schema: {
          tags,
          response: responses(
            {
              200: described(
                PauseView,
                action === 'pause' ? 'Paused: no new starts; running executions finish' : 'Resumed',
              ),
            },
            [503],
          ),
        },
      },
      async () => ({
        paused: action === 'pause',
        queues: await setQueuesPaused(deps.queues, action === 'pause'),
      }),
    );
  }
  typed.get(
    '/api/admin/workers',
    {
      config,
      schema: {
        tags,
        response: responses({ 200: described(WorkerList, 'Live executors, by id') }, [503]),
      },
    },
    () => deps.workers.list(),
  );
  typed.get(
    '/api/admin/breakers',
    {
      config,
      schema: {
        tags,
        response: responses(
          {
            200: described(
              BreakerList,
              'Circuit breakers of live executors, one per tenant and target, by target then tenant',
            ),
          },
          [503],
        ),
      },
    },
    () => deps.breakers.list(),
  );
}

/** `/api/admin/*`: queue status, pause/resume, workers, breakers and the dead-letter queue. */
export function registerAdminRoutes(app: FastifyInstance, deps: AdminDeps): void {
  registerQueueRoutes(app, deps);
  registerDeadLetterRoutes(app, deps);
}
