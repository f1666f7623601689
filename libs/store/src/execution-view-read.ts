import type pg from 'pg';
import { MicroBatcher } from '@linkflow/domain';
import { FAMILY_COLUMNS } from './child-execution-sql.ts';
import {
  toExecutionFamily,
  type ExecutionFamily,
  type FamilyRow,
} from './child-execution-store.ts';
import { DETAIL_COLUMNS, toExecutionDetail } from './execution-rows.ts';
import type { ExecutionDetail } from './records.ts';
import { isTransientStoreError } from './transient-errors.ts';

/** An execution's detail and its subworkflow links, read together. */
export interface ExecutionDetailWithFamily {
  readonly detail: ExecutionDetail;
  readonly family: ExecutionFamily;
}

/**
 * The executions `($1[i], $2[i])` (id, tenant) with node runs, transitions and subworkflow
 * links, each row tagged with its request's place (`ord`, from 1): what
 * `GET /api/executions/:id` shows, for every GET of a batch in one prepared statement.
 */
const VIEWS_SQL = `select ${DETAIL_COLUMNS},
  ${FAMILY_COLUMNS}, r.ord
  from unnest($1::text[], $2::text[]) with ordinality as r(id, tenant_id, ord)
  join executions e on e.id = r.id and e.tenant_id = r.tenant_id`;

type ViewRow = Parameters<typeof toExecutionDetail>[0] & FamilyRow & { ord: string };

interface ViewRequest {
  readonly tenantId: string;
  readonly id: string;
}

/**
 * Reads a batch of views in one statement; per request, its view or undefined. Requests for
 * the same execution by the same tenant share one row (and one view object, which nobody
 * mutates): 50 concurrent GETs of one 5 MB execution read 5 MB, not 250 MB.
 */
async function readViews(
  pool: pg.Pool,
  batch: readonly ViewRequest[],
): Promise<(ExecutionDetailWithFamily | undefined)[]> {
  const places = new Map<string, number>();
  const unique: ViewRequest[] = [];
  const placeOf = batch.map((r) => {
    const key = JSON.stringify([r.tenantId, r.id]);
    let place = places.get(key);
    if (place === undefined) {
      place = unique.push(r) - 1;
      places.set(key, place);
    }
    return place;
  });
  const res = await pool.query<ViewRow>({
    name: 'lf_execution_views',
    text: VIEWS_SQL,
    values: [unique.map((r) => r.id), unique.map((r) => r.tenantId)],
  });
  const views = new Array<ExecutionDetailWithFamily | undefined>(unique.length);
  for (const row of res.rows) {
    views[Number(row.ord) - 1] = { detail: toExecutionDetail(row), family: toExecutionFamily(row) };
  }
  return placeOf.map((place) => views[place]);
}

/** How many batches may be in flight: Postgres serves them on as many backends (cores). */
const VIEW_BATCHES_IN_FLIGHT = 4;

/**
 * Reads executions as GET shows them. Concurrent reads share statements (MicroBatcher): a
 * lone read is one round trip; reads that arrive while batches are in flight go out
 * together, so a busy API sends far fewer statements (and socket writes) than it answers GETs.
 */
export function createExecutionViewReader(pool: pg.Pool) {
  const batcher = new MicroBatcher<ViewRequest, ExecutionDetailWithFamily | undefined>({
    run: (batch) => readViews(pool, batch),
    maxBatch: 50,
    maxInFlight: VIEW_BATCHES_IN_FLIGHT,
    // A read's only inputs are two texts: a batch fails for all alike (Postgres gone, pool
    // timeout), and retrying its 50 reads one by one would only multiply the wait.
    isolates: (err) => !isTransientStoreError(err),
  });
  return (tenantId: string, id: string) => batcher.submit({ tenantId, id });
}
