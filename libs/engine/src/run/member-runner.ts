import { runForeach } from './foreach-scope.ts';
import { runNode, type NodeRunResult } from './node-runner.ts';
import type { MemberRun, ScopeRuntime } from './scope-runtime.ts';
import { runTry } from './try-scope.ts';

/**
 * Runs one node wherever it sits: a scope node (foreach, try) through its scope runner, any
 * other node through `runNode`. A `return` that succeeds ends the execution (`returned`).
 * New node types that need the engine (subworkflow) hook in here.
 */
export function runMember(rt: ScopeRuntime, run: MemberRun): Promise<NodeRunResult> {
  const type = run.node.spec.type;
  if (type === 'foreach') return runForeach(rt, run);
  if (type === 'try') return runTry(rt, run);
  if (type !== 'return') return runLeaf(rt, run);
  return runLeaf(rt, run).then((result) => {
    if (result.status === 'success') rt.returned(run.node.spec.id, result.output);
    return result;
  });
}

/** A node that is not a scope: it runs holding one of the execution's node permits. */
async function runLeaf(rt: ScopeRuntime, run: MemberRun): Promise<NodeRunResult> {
  const release = await rt.nodeSlots.acquire();
  try {
    return await runNode(rt.deps, run.node, {
      input: run.input,
      signal: run.signal,
      tenantId: rt.tenantId,
    });
  } finally {
    release();
  }
}
