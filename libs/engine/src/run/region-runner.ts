import {
  planNextSteps,
  regionResult,
  type Dag,
  type NodeState,
  type RunError,
} from '@linkflow/domain';
import { NodeError, type NodeInput } from '@linkflow/nodes';
import { childController } from './abortable.ts';
import type { NodeRunResult } from './node-runner.ts';
import {
  budgetError,
  memberOutputsOf,
  recordMemberOutput,
  type ScopeRuntime,
} from './scope-runtime.ts';

/** One run of a scope list: a foreach iteration's body, or a try's try/catch/finally. */
export interface RegionRun {
  /** `scope/list`, e.g. `loop/body` (a key of `workflow.scopes.regions`). */
  readonly key: string;
  /** The scope node's context (outer outputs, `item`/`index` in a loop). */
  readonly base: NodeInput;
  /** Outputs added to `nodes` for the members (e.g. the try node's `{ok, error}` in catch). */
  readonly extraNodes?: Readonly<Record<string, unknown>>;
  readonly signal: AbortSignal;
  readonly iteration: number;
  /**
   * Where the checkpoint writes of the region's sinks go instead of being awaited: nothing in
   * the region depends on a sink, so a loop's lane may go on while its last write commits
   * (the loop awaits them before it settles). Absent: every member's write is awaited.
   */
  readonly commits?: Promise<void>[];
}

/** How a region ended: its value, its first failure, or aborted (cancel, timeout, return). */
export type RegionOutcome =
  | { readonly status: 'success'; readonly value: unknown }
  | { readonly status: 'failed'; readonly error: RunError }
  | { readonly status: 'aborted' };

/** The checkpointed states of a region's members for one iteration (resume). */
export function resumedRegionStates(
  rt: ScopeRuntime,
  dag: Dag,
  iteration: number,
): Map<string, NodeState> {
  const resumed = rt.resumed.get(iteration);
  const states = new Map<string, NodeState>();
  for (const id of dag.order) {
    const state = resumed?.get(id);
    if (state === undefined) continue;
    states.set(id, state);
    if (state.status === 'success')
      recordMemberOutput(rt, { iteration, nodeId: id, output: state.output });
  }
  return states;
}

const pendingOf = (dag: Dag, states: ReadonlyMap<string, NodeState>): string[] =>
  dag.order.filter((id) => (states.get(id)?.status ?? 'pending') === 'pending');

function outputsOf(states: ReadonlyMap<string, NodeState>): Record<string, unknown> {
  const nodes: Record<string, unknown> = {};
  for (const [id, state] of states) if (state.status === 'success') nodes[id] = state.output;
  return nodes;
}

/** Settles members without running them (skipped branch, cancelled after a failure). */
async function settleAll(
  rt: ScopeRuntime,
  c: { states: Map<string, NodeState>; iteration: number },
  ids: readonly string[],
  result: { status: 'skipped' | 'cancelled'; error: RunError | null },
): Promise<void> {
  if (ids.length === 0) return;
  for (const id of ids) c.states.set(id, result);
  await Promise.all(ids.map((nodeId) => rt.settle({ nodeId, iteration: c.iteration, result })));
}

/**
 * Records the members of a region that never ran (`skipped`), e.g. a try's `finally` after a
 * `return` ended the execution: every node of the workflow gets a node run, none vanishes.
 * Members a resumed run already checkpointed keep their state.
 */
export async function skipRegion(
  rt: ScopeRuntime,
  region: { key: string; iteration: number },
): Promise<void> {
  const dag = rt.workflow.scopes.regions.get(region.key);
  if (dag === undefined) return;
  const c = { states: resumedRegionStates(rt, dag, region.iteration), iteration: region.iteration };
  await settleAll(rt, c, pendingOf(dag, c.states), { status: 'skipped', error: null });
}

/** One region being driven: its members' states, its controller and its running members. */
interface RegionLoop {
  readonly rt: ScopeRuntime;
  readonly region: RegionRun;
  readonly dag: Dag;
  readonly c: { states: Map<string, NodeState>; iteration: number };
  /** Aborts the members when one fails (a lone member's is the region's own signal). */
  readonly controller: Pick<AbortController, 'signal' | 'abort'>;
  readonly running: Map<string, Promise<void>>;
}

function startMember(loop: RegionLoop, id: string): void {
  const { rt, region, c, controller, running } = loop;
  const node = rt.workflow.nodes.get(id);
  if (!node) return;
  c.states.set(id, { status: 'running' });
  rt.started(id, region.iteration);
  const nodes = {
    ...region.base.nodes,
    ...memberOutputsOf(rt, region.iteration),
    ...region.extraNodes,
    ...outputsOf(c.states),
  };
  const task = rt
    .run({
      node,
      input: { ...region.base, nodes },
      signal: controller.signal,
      iteration: c.iteration,
    })
    .then((result) => settled(rt, { id, result, c, controller, commits: sinkCommits(loop, id) }));
  running.set(
    id,
    task.finally(() => running.delete(id)),
  );
}

/** Where member `id`'s checkpoint write goes when it need not be awaited (see `commits`). */
function sinkCommits(loop: RegionLoop, id: string): Promise<void>[] | undefined {
  const { commits } = loop.region;
  return commits !== undefined && (loop.dag.outgoing.get(id)?.length ?? 0) === 0
    ? commits
    : undefined;
}

/** The budget is spent and `nodeId` would start: nothing else starts, the rest is cancelled. */
async function stopForBudget(loop: RegionLoop, nodeId: string): Promise<RegionOutcome> {
  const max = loop.rt.workflow.definition.settings?.max_cost ?? '0';
  const error = budgetError(nodeId, max);
  loop.controller.abort(new NodeError('BUDGET', error.message, { retryable: false }));
  await Promise.allSettled(loop.running.values());
  await settleAll(loop.rt, loop.c, pendingOf(loop.dag, loop.c.states), {
    status: 'cancelled',
    error,
  });
  return { status: 'failed', error: { ...error, node_id: nodeId } };
}

/** Plans and starts members until none is left to run; a budget stop ends it early. */
async function driveRegion(loop: RegionLoop): Promise<RegionOutcome | undefined> {
  const { rt, dag, c, controller, running } = loop;
  for (;;) {
    if (controller.signal.aborted) break;
    const plan = planNextSteps(dag, c.states);
    await settleAll(rt, c, plan.skip, { status: 'skipped', error: null });
    await settleAll(rt, c, plan.cancel, {
      status: 'cancelled',
      error: { type: 'CANCELLATION', message: 'not run because an upstream node failed' },
    });
    const free = Math.max(rt.workflow.settings.max_concurrency - running.size, 0);
    const starting = plan.run.slice(0, free);
    if (starting.length > 0 && rt.budget.reached) return stopForBudget(loop, starting[0] as string);
    for (const id of starting) startMember(loop, id);
    if (running.size === 0 && plan.skip.length === 0 && plan.cancel.length === 0) break;
    if (running.size > 0) await Promise.race(running.values());
  }
  await Promise.all(running.values());
  return undefined;
}

/**
 * A region of one member (the usual loop body): what {@link driveRegion} does for it, without
 * planning, racing or a controller of its own (there is no sibling to cancel), since a loop
 * pays this once per item.
 */
async function runLoneMember(loop: RegionLoop): Promise<RegionOutcome> {
  const { rt, region, c } = loop;
  const id = loop.dag.order[0] as string;
  if (!region.signal.aborted && (c.states.get(id)?.status ?? 'pending') === 'pending') {
    if (rt.budget.reached) return stopForBudget(loop, id);
    startMember(loop, id);
    await loop.running.get(id);
  }
  return concludeRegion(loop);
}

/** The region's outcome once nothing runs: unstarted members after a failure are cancelled. */
async function concludeRegion(loop: RegionLoop): Promise<RegionOutcome> {
  const { rt, region, dag, c } = loop;
  if (region.signal.aborted) return { status: 'aborted' };
  const unstarted = pendingOf(dag, c.states);
  if (unstarted.length > 0)
    await settleAll(rt, c, unstarted, {
      status: 'cancelled',
      error: { type: 'CANCELLATION', message: 'not run because a node of its scope failed' },
    });
  const result = regionResult(dag, c.states);
  if (result === undefined) return { status: 'aborted' };
  return result.ok
    ? { status: 'success', value: result.value }
    : { status: 'failed', error: result.error };
}

/**
 * Runs a region's members as a small DAG: ready members start (within `max_concurrency`),
 * each is checkpointed (with its iteration) before re-planning, untaken branches are
 * skipped. The first failure cancels the running siblings; the budget stops new starts.
 * Members checkpointed by an earlier attempt (`states`) do not run again.
 */
export async function runRegion(
  rt: ScopeRuntime,
  region: RegionRun,
  states: Map<string, NodeState>,
): Promise<RegionOutcome> {
  const dag = rt.workflow.scopes.regions.get(region.key);
  if (dag === undefined) return { status: 'success', value: null };
  const c = { states, iteration: region.iteration };
  if (dag.order.length === 1) {
    const controller = { signal: region.signal, abort: () => undefined };
    return runLoneMember({ rt, region, dag, c, controller, running: new Map() });
  }
  const { controller, dispose } = childController(region.signal);
  const loop: RegionLoop = { rt, region, dag, c, controller, running: new Map() };
  try {
    const stopped = await driveRegion(loop);
    if (stopped) return stopped;
  } catch (err) {
    rt.abandon();
    controller.abort(err);
    await Promise.allSettled(loop.running.values());
    throw err;
  } finally {
    dispose();
  }
  return concludeRegion(loop);
}

/**
 * Checkpoints a member (a sink given `commits` only starts its write there), then records it;
 * a failure cancels the running siblings.
 */
async function settled(
  rt: ScopeRuntime,
  s: {
    id: string;
    result: NodeRunResult;
    c: { states: Map<string, NodeState>; iteration: number };
    controller: RegionLoop['controller'];
    commits: Promise<void>[] | undefined;
  },
): Promise<void> {
  const { id, result, c, controller, commits } = s;
  rt.budget.charge(result.cost);
  const write = startWrite(rt, { id, iteration: c.iteration, result });
  if (commits === undefined) await write;
  else deferWrite(rt, write, commits);
  c.states.set(id, { status: result.status, output: result.output, error: result.error });
  if (result.status === 'success')
    recordMemberOutput(rt, { iteration: c.iteration, nodeId: id, output: result.output });
  const over = result.status === 'success' ? rt.retained?.add(id, result.outputBytes) : undefined;
  if (over?.status === 'failed' && !controller.signal.aborted)
    c.states.set(id, { status: 'failed', error: over.error });
  const failed = c.states.get(id)?.status === 'failed' || result.status === 'cancelled';
  if (failed && !controller.signal.aborted)
    controller.abort(
      new NodeError('CANCELLATION', `cancelled because node ${id} failed`, { retryable: false }),
    );
}

/**
 * What `nodeId`'s checkpoint must wait for: nothing (undefined), except for a `return` that
 * succeeded while loop writes are unsettled: those, rejecting when one of them failed (the
 * return is then never written: the run fails and a resume reruns both).
 */
export function returnMustWait(
  rt: ScopeRuntime,
  nodeId: string,
  result: { readonly status: string },
): Promise<unknown> | undefined {
  if (result.status !== 'success' || rt.unsettledWrites.size === 0) return undefined;
  if (rt.workflow.nodes.get(nodeId)?.spec.type !== 'return') return undefined;
  return Promise.all(rt.unsettledWrites);
}

/** Starts a member's checkpoint write (a `return` once {@link returnMustWait} allows). */
function startWrite(
  rt: ScopeRuntime,
  s: { id: string; iteration: number; result: NodeRunResult },
): Promise<void> {
  const write = () => rt.settle({ nodeId: s.id, iteration: s.iteration, result: s.result });
  const wait = returnMustWait(rt, s.id, s.result);
  return wait === undefined ? write() : wait.then(write);
}

/** Hands a sink's write to its lane (`commits`), tracked until it succeeds. */
function deferWrite(rt: ScopeRuntime, write: Promise<void>, commits: Promise<void>[]): void {
  rt.unsettledWrites.add(write);
  // A failed write stays in the set; the handler also keeps the failure from being unhandled
  // until the lane awaits it.
  write.then(
    () => rt.unsettledWrites.delete(write),
    () => undefined,
  );
  commits.push(write);
}
