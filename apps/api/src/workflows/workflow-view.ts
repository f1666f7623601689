import type { WorkflowRecord } from '@linkflow/store';

export function workflowView(w: WorkflowRecord) {
  return {
    id: w.id,
    name: w.name,
    version: w.version,
    definition: w.definition,
    created_at: w.createdAt.toISOString(),
    updated_at: w.updatedAt.toISOString(),
  };
}
