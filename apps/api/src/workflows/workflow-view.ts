import { Type, type Static } from '@sinclair/typebox';
import { WorkflowDefinitionSchema } from '@linkflow/domain';
import type { WorkflowRecord } from '@linkflow/store';
import { pageOf, Timestamp } from '../http/schemas.ts';

/** One version of a workflow as clients read it. */
export const WorkflowView = Type.Object({
  id: Type.String(),
  name: Type.String(),
  version: Type.Integer({ minimum: 1 }),
  definition: WorkflowDefinitionSchema,
  created_at: Timestamp,
  updated_at: Timestamp,
});

export const WorkflowPage = pageOf(WorkflowView);

export function workflowView(w: WorkflowRecord): Static<typeof WorkflowView> {
  return {
    id: w.id,
    name: w.name,
    version: w.version,
    definition: w.definition,
    created_at: w.createdAt.toISOString(),
    updated_at: w.updatedAt.toISOString(),
  };
}
