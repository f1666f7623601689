import { Type } from '@sinclair/typebox';
import { EXECUTION_STATUSES } from '@linkflow/domain';
import { nullable, pageOf, PageQuery, stringEnum, Timestamp } from '../http/schemas.ts';

const Count = Type.Integer({ minimum: 0 });

export const QueueStateView = Type.Object({
  name: Type.String({
    description: 'BullMQ queue: `<queue>` untagged, `<queue>@<tags>` per tag set',
  }),
  paused: Type.Boolean(),
  counts: Type.Object({
    waiting: Type.Integer({ minimum: 0, description: 'Includes prioritized jobs' }),
    active: Count,
    delayed: Count,
    completed: Type.Integer({ minimum: 0, description: 'Kept completed jobs (the newest 1,000)' }),
    failed: Count,
  }),
  waiting_by_priority: Type.Object({ high: Count, normal: Count, low: Count }),
  oldest_waiting_ms: Count,
});

export const QueueStatusView = Type.Object({
  queues: Type.Array(QueueStateView),
  dlq_size: Count,
  workers: Type.Integer({ minimum: 0, description: 'Live executors' }),
  unroutable: Type.Integer({
    minimum: 0,
    description: 'Waiting executions whose worker_tags no live executor has (they wait, not lost)',
  }),
});

export const PauseView = Type.Object({
  paused: Type.Boolean(),
  queues: Type.Array(Type.String(), { description: 'The queues changed' }),
});

export const WorkerView = Type.Object({
  id: Type.String(),
  host: Type.String(),
  pid: Type.Integer(),
  started_at: Timestamp,
  last_heartbeat_at: Timestamp,
  concurrency: Type.Integer(),
  tags: Type.Array(Type.String()),
  running: Type.Integer({ minimum: 0 }),
});

export const WorkerList = Type.Array(WorkerView);

export const BreakerView = Type.Object({
  target: Type.String({ description: '`host:port` of an HTTP target or a db connection name' }),
  tenant_id: Type.String({
    description: 'The tenant whose calls this breaker guards (each tenant has its own per target)',
  }),
  state: stringEnum(['closed', 'half_open', 'open'] as const),
  failures: Type.Integer({
    minimum: 0,
    description: 'Counted (retryable) failures in the current rolling window',
  }),
  last_change_at: Timestamp,
  executor: Type.String({ description: 'Worker id of the executor holding this breaker' }),
});

export const BreakerList = Type.Array(BreakerView);

export const DeadLetterView = Type.Object({
  execution_id: Type.String(),
  tenant_id: nullable(Type.String()),
  workflow_id: nullable(Type.String()),
  workflow_name: nullable(Type.String()),
  /** Null when the execution no longer exists (its workflow was deleted). */
  status: Type.Union([stringEnum(EXECUTION_STATUSES), Type.Null()]),
  reason: Type.String(),
  attempts: Type.Integer({ minimum: 0, description: 'Times a worker took the execution' }),
  dead_lettered_at: Timestamp,
});

export const DeadLetterPage = pageOf(DeadLetterView);

export const DeadLetterQuery = Type.Object(PageQuery);

export const ExecutionIdParams = Type.Object({
  execution_id: Type.String({ minLength: 1, maxLength: 128 }),
});

export const ReplayView = Type.Object({
  execution_id: Type.String(),
  status: stringEnum(EXECUTION_STATUSES),
  queue: Type.String({ description: 'The queue its job went to' }),
});
