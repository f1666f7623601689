import { Type } from '@sinclair/typebox';
import {
  ERROR_TYPES,
  EXECUTION_STATUSES,
  LOG_LEVELS,
  LogLevelSchema,
  NODE_STATUSES,
  PRIORITY_NAMES,
  PrioritySchema,
} from '@linkflow/domain';
import { nullable, PageQuery, pageOf, stringEnum, Timestamp } from '../http/schemas.ts';

/** Request and response schemas of the execution routes (docs/api.md, Executions). */

const IdempotencyKey = Type.String({ minLength: 1, maxLength: 255 });

export const StartBody = Type.Object(
  {
    workflow_id: Type.String({ minLength: 1, maxLength: 100 }),
    input_data: Type.Optional(Type.Unknown()),
    priority: Type.Optional(PrioritySchema),
    idempotency_key: Type.Optional(IdempotencyKey),
  },
  { additionalProperties: false },
);

export const StartHeaders = Type.Object({
  'x-priority': Type.Optional(PrioritySchema),
  'idempotency-key': Type.Optional(IdempotencyKey),
});

export const ListQuery = Type.Object({
  ...PageQuery,
  workflow_id: Type.Optional(Type.String({ minLength: 1 })),
  status: Type.Optional(Type.Union(EXECUTION_STATUSES.map((s) => Type.Literal(s)))),
  from: Type.Optional(Type.String({ format: 'date-time' })),
  to: Type.Optional(Type.String({ format: 'date-time' })),
});

export const TimeoutBody = Type.Object(
  { timeout_seconds: Type.Integer({ minimum: 1, maximum: 604_800 }) },
  { additionalProperties: false },
);

export const LogQuery = Type.Object({
  level: Type.Optional(LogLevelSchema),
  node_id: Type.Optional(Type.String({ minLength: 1 })),
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  after: Type.Optional(Type.Integer({ minimum: 0 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 500 })),
});

/** Query of the live log stream: `after` a seq; `token`, the API key for browsers. */
export const StreamQuery = Type.Object({
  after: Type.Optional(Type.Integer({ minimum: 0, maximum: 2_147_483_647 })),
  token: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
});

/** `{type, message, node_id, cause?}` or null; stored errors may carry more (`status`). */
const RunErrorView = Type.Unsafe<{
  type: (typeof ERROR_TYPES)[number];
  message: string;
  node_id?: string | null;
  cause?: unknown;
  status?: number;
} | null>({
  type: ['object', 'null'],
  properties: {
    type: stringEnum(ERROR_TYPES),
    message: Type.String(),
    node_id: nullable(Type.String()),
    cause: Type.Unknown({ description: 'the error this one wraps (same shape)' }),
    status: Type.Integer(),
  },
  required: ['type', 'message'],
  additionalProperties: true,
});

export const NodeRunView = Type.Object({
  node_id: Type.String(),
  iteration: Type.Optional(
    Type.Integer({
      minimum: 0,
      description: 'the foreach iteration (item index) of a run inside a loop body; absent outside',
    }),
  ),
  type: Type.String(),
  status: stringEnum(NODE_STATUSES),
  attempts: Type.Integer(),
  started_at: nullable(Timestamp),
  finished_at: nullable(Timestamp),
  duration_ms: nullable(Type.Integer()),
  output: Type.Unknown(),
  output_truncated: Type.Boolean(),
  error: RunErrorView,
  usage: Type.Unsafe<Record<string, number> | null>({
    type: ['object', 'null'],
    description: 'what the run used: cpu_ms, net_bytes_in, rows, … (numbers)',
    additionalProperties: true,
  }),
  cost: Type.String({ description: 'USD, decimal string' }),
  child_execution_id: Type.Optional(
    Type.String({ description: 'subworkflow nodes: the child execution this node started' }),
  ),
});

export const TransitionView = Type.Object({
  from: Type.Unsafe<(typeof EXECUTION_STATUSES)[number] | null>({
    type: ['string', 'null'],
    enum: [...EXECUTION_STATUSES, null],
  }),
  to: stringEnum(EXECUTION_STATUSES),
  at: Timestamp,
  reason: Type.String(),
});

const summaryProperties = {
  id: Type.String(),
  workflow_id: Type.String(),
  workflow_version: Type.Integer(),
  status: stringEnum(EXECUTION_STATUSES),
  priority: stringEnum(PRIORITY_NAMES),
  input_data: Type.Unknown(),
  output: Type.Unknown(),
  error: RunErrorView,
  created_at: Timestamp,
  started_at: nullable(Timestamp),
  finished_at: nullable(Timestamp),
  // Seconds, possibly fractional (a workflow's settings.timeout_ms of 1500 reads 1.5).
  timeout_seconds: nullable(Type.Number()),
};

const Cost = Type.Object({
  total: Type.String({ description: 'USD, decimal string' }),
  currency: Type.Literal('USD'),
});

/** A child execution a subworkflow node started. */
export const ChildExecutionView = Type.Object({
  node_id: Type.String(),
  execution_id: Type.String(),
  status: stringEnum(EXECUTION_STATUSES),
});

/** One execution as `GET /api/executions/:id` answers it. */
export const ExecutionView = Type.Object({
  ...summaryProperties,
  node_runs: Type.Array(NodeRunView),
  transitions: Type.Array(TransitionView),
  cost: Cost,
  parent_execution_id: Type.Optional(nullable(Type.String())),
  parent_node_id: Type.Optional(nullable(Type.String())),
  depth: Type.Optional(Type.Integer({ description: 'subworkflow nesting: 0 at the top' })),
  child_executions: Type.Optional(Type.Array(ChildExecutionView)),
});

/** A list item: the execution without node runs or transitions. */
export const ExecutionSummary = Type.Object({ ...summaryProperties, cost: Cost });

export const ExecutionPage = pageOf(ExecutionSummary);

export const LogEntryView = Type.Object({
  seq: Type.Integer(),
  at: Timestamp,
  level: stringEnum(LOG_LEVELS),
  node_id: nullable(Type.String()),
  message: Type.String(),
  data: Type.Unknown(),
});

export const LogPage = Type.Object({
  items: Type.Array(LogEntryView),
  next_after: nullable(Type.Integer({ description: 'pass as `after` for the next page' })),
});

/** `GET …/checkpoints` and `POST …/checkpoint`: the settled nodes, durable now. */
export const CheckpointsView = Type.Object({
  execution_id: Type.String(),
  checkpoints: Type.Array(
    Type.Object({
      node_id: Type.String(),
      iteration: Type.Optional(
        Type.Integer({ minimum: 0, description: 'the foreach iteration of a loop run' }),
      ),
      type: Type.String(),
      status: stringEnum(NODE_STATUSES),
      attempts: Type.Integer(),
      output_bytes: Type.Integer({ description: 'size of the stored output (JSON bytes)' }),
      at: nullable(Timestamp),
    }),
  ),
  at: Timestamp,
});
