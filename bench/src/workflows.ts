/** Workflow definitions the scenarios run (transform/condition nodes: JSONata, no I/O). */
import type { NodeSpec, NodeTypeName, WorkflowDefinition } from '@linkflow/domain';

const expressionNode = (
  id: string,
  type: Extract<NodeTypeName, 'transform' | 'condition'>,
  expression: string,
): NodeSpec => ({ id, type, config: { expression } });

const transform = (id: string, expression: string) => expressionNode(id, 'transform', expression);

/** transform → condition → transform; with `{total: 80}` all three run. */
export function threeNodeWorkflow(): WorkflowDefinition {
  return {
    name: 'bench-three-node',
    nodes: [
      transform('double', '{"total": input.total * 2}'),
      expressionNode('big', 'condition', 'nodes.double.total > 100'),
      transform('note', '{"total": nodes.double.total, "big": true}'),
    ],
    edges: [
      { from: 'double', to: 'big' },
      { from: 'big', to: 'note', when: 'true' },
    ],
  };
}

/** Input that makes every node of {@link threeNodeWorkflow} run. */
export const THREE_NODE_INPUT = { total: 80 } as const;

/** One trivial transform. */
export function oneNodeWorkflow(): WorkflowDefinition {
  return { name: 'bench-one-node', nodes: [transform('only', '{"v": input.v}')], edges: [] };
}

/** `length` trivial transforms in a line: n0 → n1 → … each adds one to `v`. */
export function chainWorkflow(length: number): WorkflowDefinition {
  const nodes = Array.from({ length }, (_, i) =>
    transform(`n${i}`, i === 0 ? '{"v": input.v}' : `{"v": nodes.n${i - 1}.v + 1}`),
  );
  const edges = nodes.slice(1).map((node, i) => ({ from: `n${i}`, to: node.id }));
  return { name: `bench-chain-${length}`, nodes, edges };
}

/**
 * `build` makes `input.count` objects of ~106 bytes (`{"i":…,"p":"xxx…"}`), about 5 MB of
 * JSON for the default input; `read` only looks at a field of it, so the whole structure
 * crosses one checkpoint and is handed to the next node.
 */
export function largePayloadWorkflow(): WorkflowDefinition {
  return {
    name: 'bench-large-payload',
    nodes: [
      transform(
        'build',
        '($p := $pad("", input.pad, "x"); {"items": [1..input.count].{"i": $, "p": $p}})',
      ),
      transform('read', '{"count": $count(nodes.build.items), "last": nodes.build.items[-1].i}'),
    ],
    edges: [{ from: 'build', to: 'read' }],
  };
}

/** Input for {@link largePayloadWorkflow}: 50,000 items × ~106 bytes ≈ 5.3 MB. */
export const LARGE_PAYLOAD_INPUT = { count: 50_000, pad: 90 } as const;

/**
 * `length` `http` nodes in a line, each a GET of `url` (the bench's local server, which
 * answers after a few ms): real I/O per node, as in a typical integration workflow.
 */
export function httpChainWorkflow(length: number, url: string): WorkflowDefinition {
  const nodes: NodeSpec[] = Array.from({ length }, (_, i) => ({
    id: `h${i}`,
    type: 'http',
    config: { method: 'GET', url, query: { step: i }, timeout_ms: 10_000 },
  }));
  const edges = nodes.slice(1).map((node, i) => ({ from: `h${i}`, to: node.id }));
  return { name: `bench-http-chain-${length}`, nodes, edges };
}
