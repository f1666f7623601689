
-- CreateTable
CREATE TABLE "cost_rollups" (
    "tenant_id" TEXT NOT NULL,
    "workflow_id" TEXT NOT NULL,
    "day" DATE NOT NULL,
    "bucket" INTEGER NOT NULL,
    "executions" INTEGER NOT NULL,
    "total" DECIMAL(20,8) NOT NULL,
    "min_cost" DECIMAL(20,8) NOT NULL,
    "max_cost" DECIMAL(20,8) NOT NULL,

    CONSTRAINT "cost_rollups_pkey" PRIMARY KEY ("tenant_id","workflow_id","day","bucket")
);

-- CreateTable
CREATE TABLE "node_cost_rollups" (
    "tenant_id" TEXT NOT NULL,
    "workflow_id" TEXT NOT NULL,
    "day" DATE NOT NULL,
    "node_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "runs" INTEGER NOT NULL,
    "retried_runs" INTEGER NOT NULL,
    "total" DECIMAL(20,8) NOT NULL,
    "output_bytes" BIGINT NOT NULL,

    CONSTRAINT "node_cost_rollups_pkey" PRIMARY KEY ("tenant_id","workflow_id","day","node_id")
);

-- CreateIndex
CREATE INDEX "cost_rollups_day_idx" ON "cost_rollups"("day");

-- CreateIndex
CREATE INDEX "node_cost_rollups_day_idx" ON "node_cost_rollups"("day");


-- Backfill: the terminal executions and the node runs retention has not purged
-- (the same statements as COST_ROLLUP_BACKFILL_SQL in libs/store/src/cost-rollup-sql.ts).
insert into cost_rollups (tenant_id, workflow_id, day, bucket, executions, total, min_cost, max_cost)
  select e.tenant_id, e.workflow_id, ((e.created_at) at time zone 'UTC')::date, (case when e.cost_total > 0 then floor(ln(e.cost_total::float8) * 8 / ln(2))::int else -10000 end), count(*)::int,
    sum(e.cost_total), min(e.cost_total), max(e.cost_total)
  from executions e where e.status in ('success', 'failed', 'cancelled') group by 1, 2, 3, 4;

insert into node_cost_rollups (tenant_id, workflow_id, day, node_id, type, runs, retried_runs, total, output_bytes)
  select e.tenant_id, e.workflow_id, ((e.created_at) at time zone 'UTC')::date, n.node_id, min(n.type), count(*)::int,
    (count(*) filter (where n.attempts > 1))::int, sum(n.cost), sum(n.output_bytes)
  from executions e join node_runs n on n.execution_id = e.id where e.status in ('success', 'failed', 'cancelled') group by 1, 2, 3, 4;
