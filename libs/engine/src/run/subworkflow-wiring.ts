import type { Fence } from '@linkflow/domain';
import type { EngineLogger } from '../ports.ts';
import type { DagRunRequest } from './dag-runner.ts';
import type { ProcessorDeps } from './execution-processor.ts';
import type { FamilyDeps } from './subworkflow-family.ts';
import { runSubworkflow } from './subworkflow-runner.ts';

/** The DAG request's `runSubworkflow` for one claimed run, or nothing without a child port. */
export function subworkflowRunner(
  deps: ProcessorDeps,
  run: { fence: Fence; log: EngineLogger },
): Pick<DagRunRequest, 'runSubworkflow'> {
  const { children } = deps;
  if (!children) return {};
  const sub = {
    children,
    queue: deps.queue,
    clock: deps.clock,
    log: run.log,
    fence: run.fence,
    expressionTimeoutMs: deps.nodes.expressionTimeoutMs,
  };
  return { runSubworkflow: (node, request) => runSubworkflow(sub, node, request) };
}

/** What settling an ended execution's children and parent needs from the processor. */
export function familyOf(deps: ProcessorDeps, log: EngineLogger): FamilyDeps {
  return { children: deps.children, queue: deps.queue, clock: deps.clock, log };
}
