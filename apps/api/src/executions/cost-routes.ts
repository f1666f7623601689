import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import { NODE_STATUSES, type Clock } from '@linkflow/domain';
import type { CostReportRepository, ExecutionCost, NodeCostStat } from '@linkflow/store';
import { SUGGESTION_RULES } from '@linkflow/store';
import { principalOf } from '../auth/auth.ts';
import { apiErrors } from '../http/api-errors.ts';
import {
  described,
  IdParams,
  nullable,
  responses,
  stringEnum,
  Timestamp,
} from '../http/schemas.ts';

const Money = Type.String({ description: 'USD, decimal string with 8 decimals' });

const NodeCostView = Type.Object({
  node_id: Type.String(),
  type: Type.String(),
  status: stringEnum(NODE_STATUSES),
  attempts: Type.Integer({ description: 'runs of the node, retries included (each is charged)' }),
  usage: nullable(
    Type.Object(
      {},
      { additionalProperties: true, description: 'usage as recorded by the executor' },
    ),
  ),
  cost: Money,
});

/** `GET /api/executions/:id/cost` (docs/api.md, Cost). */
export const ExecutionCostView = Type.Object({
  execution_id: Type.String(),
  currency: Type.Literal('USD'),
  total: { ...Money, description: "the execution's stored total: the sum of its node costs" },
  nodes: Type.Array(NodeCostView),
});

export const PERIODS = ['day', 'week', 'month'] as const;
export const GROUP_BYS = ['workflow', 'tenant'] as const;
/** Rolling windows ending now: a month is 30 days. */
const PERIOD_MS: Record<(typeof PERIODS)[number], number> = {
  day: 86_400_000,
  week: 7 * 86_400_000,
  month: 30 * 86_400_000,
};

const ReportQuery = Type.Object({
  period: stringEnum(PERIODS),
  group_by: stringEnum(GROUP_BYS),
});

const CostReportView = Type.Object({
  period: stringEnum(PERIODS),
  group_by: stringEnum(GROUP_BYS),
  from: Timestamp,
  to: Timestamp,
  scope: stringEnum(['tenant', 'all'] as const),
  currency: Type.Literal('USD'),
  groups: Type.Array(
    Type.Object({
      key: Type.Object({ id: Type.String(), name: Type.String() }),
      executions: Type.Integer(),
      total: Money,
      average: Money,
      p95: {
        ...Money,
        description:
          '95th percentile of the cost per execution (interpolated; within one cost bucket, a factor 2^(1/8))',
      },
    }),
  ),
  top_nodes: Type.Array(
    Type.Object({
      workflow: Type.Object({ id: Type.String(), name: Type.String() }),
      node_id: Type.String(),
      type: Type.String(),
      total: Money,
      runs: Type.Integer(),
    }),
  ),
  suggestions: Type.Array(Type.String()),
});

export function executionCostView(c: ExecutionCost): Static<typeof ExecutionCostView> {
  return {
    execution_id: c.id,
    currency: 'USD',
    total: c.total,
    nodes: c.nodes.map((n) => ({
      node_id: n.nodeId,
      type: n.type,
      status: n.status,
      attempts: n.attempts,
      usage: n.usage,
      cost: n.cost,
    })),
  };
}

const percent = (share: number): string => `${Math.round(share * 100)} %`;

/** The rule-based suggestions for one aggregated node (thresholds in SUGGESTION_RULES). */
export function suggestionsFor(s: NodeCostStat): string[] {
  const rules = SUGGESTION_RULES;
  const wf = `workflow ${s.workflowName} (${s.workflowId})`;
  const out: string[] = [];
  if (s.runs > 0 && s.retriedRuns / s.runs >= rules.retriedShare)
    out.push(
      `node ${s.nodeId} of ${wf} is retried on ${percent(s.retriedRuns / s.runs)} of runs (${s.retriedRuns} of ${s.runs}): check its target or its retry policy`,
    );
  if (s.avgOutputBytes >= rules.avgOutputBytes)
    out.push(
      `node ${s.nodeId}'s outputs in ${wf} average ${(s.avgOutputBytes / (1024 * 1024)).toFixed(1)} MB over ${s.runs} runs: select only the fields later nodes use`,
    );
  if (s.share >= rules.dominantShare && s.runs >= rules.dominantMinRuns)
    out.push(
      `node ${s.nodeId} is ${percent(s.share)} of ${wf}'s cost (${s.total} USD over ${s.runs} runs)`,
    );
  return out;
}

function registerExecutionCostRoute(
  app: FastifyInstance,
  deps: { costs: Pick<CostReportRepository, 'executionCost'> },
): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/api/executions/:id/cost',
    {
      config: { scope: 'executions:read' },
      schema: {
        params: IdParams,
        tags: ['executions'],
        response: responses(
          { 200: described(ExecutionCostView, 'Per-node usage and cost, and the total') },
          [400, 404],
        ),
      },
    },
    async (request) => {
      const { id } = request.params;
      const cost = await deps.costs.executionCost(principalOf(request).tenantId, id);
      if (!cost) throw apiErrors.notFound('execution', id);
      return executionCostView(cost);
    },
  );
}

function registerCostReportRoute(
  app: FastifyInstance,
  deps: { costs: Pick<CostReportRepository, 'report'>; clock: Clock },
): void {
  app.withTypeProvider<TypeBoxTypeProvider>().get(
    '/api/costs/report',
    {
      config: { scope: 'executions:read' },
      schema: {
        querystring: ReportQuery,
        tags: ['costs'],
        response: responses(
          { 200: described(CostReportView, 'Cost aggregates over the period, with suggestions') },
          [400],
        ),
      },
    },
    async (request) => {
      const { period, group_by } = request.query;
      const principal = principalOf(request);
      // An admin key reports across tenants; any other key sees its own tenant only.
      const all = principal.scopes.includes('admin');
      const to = deps.clock.now();
      const from = new Date(to.getTime() - PERIOD_MS[period]);
      const data = await deps.costs.report({
        groupBy: group_by,
        from,
        to,
        tenantId: all ? undefined : principal.tenantId,
      });
      return {
        period,
        group_by,
        from: from.toISOString(),
        to: to.toISOString(),
        scope: all ? ('all' as const) : ('tenant' as const),
        currency: 'USD' as const,
        groups: data.groups.map((g) => ({
          key: { id: g.id, name: g.name },
          executions: g.executions,
          total: g.total,
          average: g.average,
          p95: g.p95,
        })),
        top_nodes: data.topNodes.map((n) => ({
          workflow: { id: n.workflowId, name: n.workflowName },
          node_id: n.nodeId,
          type: n.type,
          total: n.total,
          runs: n.runs,
        })),
        suggestions: data.flagged.flatMap(suggestionsFor),
      };
    },
  );
}

/** `GET /api/executions/:id/cost` and `GET /api/costs/report`. */
export function registerCostRoutes(
  app: FastifyInstance,
  deps: { costs: CostReportRepository; clock: Clock },
): void {
  registerExecutionCostRoute(app, deps);
  registerCostReportRoute(app, deps);
}
