import {
  domainErrors,
  MAX_SUBWORKFLOW_DEPTH,
  subworkflowProblems,
  subworkflowRefs,
  type WorkflowDefinition,
} from '@linkflow/domain';
import type { WorkflowRepository } from '@linkflow/store';

const keyOf = (id: string, version: number | undefined) => `${id}@${version ?? 'latest'}`;

/**
 * The tenant's workflows that `definition` reaches through static subworkflow references,
 * level by level, no deeper than the nesting limit allows (plus one, to see it exceeded).
 */
async function loadReachable(
  workflows: Pick<WorkflowRepository, 'get'>,
  tenantId: string,
  definition: WorkflowDefinition,
): Promise<Map<string, WorkflowDefinition | undefined>> {
  const known = new Map<string, WorkflowDefinition | undefined>();
  let frontier = [definition];
  for (let level = 0; level <= MAX_SUBWORKFLOW_DEPTH && frontier.length > 0; level++) {
    const next: WorkflowDefinition[] = [];
    for (const def of frontier) {
      for (const ref of subworkflowRefs(def)) {
        if (ref.workflowId === undefined) continue;
        const key = keyOf(ref.workflowId, ref.version);
        if (known.has(key)) continue;
        const record = await workflows.get(tenantId, ref.workflowId, ref.version);
        known.set(key, record?.definition);
        if (record) next.push(record.definition);
      }
    }
    frontier = next;
  }
  return known;
}

/**
 * Refuses (422 naming each node's `workflow_id`) subworkflow targets the tenant does not have,
 * the workflow calling itself (`selfId`, on a new version) or looping back through others, and
 * static nesting deeper than {@link MAX_SUBWORKFLOW_DEPTH}, following the targets' latest
 * versions (or pinned ones). Templated targets are checked when they run.
 * @throws AppError INVALID_WORKFLOW
 */
export async function checkSubworkflows(
  workflows: Pick<WorkflowRepository, 'get'>,
  request: { tenantId: string; definition: WorkflowDefinition; selfId?: string },
): Promise<void> {
  const { tenantId, definition, selfId } = request;
  if (subworkflowRefs(definition).length === 0) return;
  const known = await loadReachable(workflows, tenantId, definition);
  const graph = {
    lookup: (id: string, version: number | undefined) => known.get(keyOf(id, version)),
  };
  const problems = subworkflowProblems(definition, graph, selfId);
  if (problems.length > 0) throw domainErrors.invalidWorkflow(problems);
}
