import { describe, expect, it } from 'vitest';
import { createNodeRegistry, NodeError, type NodeDefinition } from '@linkflow/nodes';
import type { CredentialPort } from '../ports.ts';
import { compileTestWorkflow, fakeNodeType, withNodeDeps } from '../testing/node-runner-fakes.ts';
import { runNode } from './node-runner.ts';

// A breaker's target names it in /metrics, /api/admin/breakers and CIRCUIT_OPEN errors: a
// host built from a credential must not show there, not even lower-cased by the URL parser.

const SECRET = 'Sub-Secret42';

/** Typed `http` (so `secrets` may reach `url`); keyed by the URL's host; fails retryably. */
const call: NodeDefinition<never> = {
  ...fakeNodeType('http', () => Promise.reject(new NodeError('CONNECTIVITY', 'refused'))),
  secretFields: ['url'],
  breakerKey: (config: { url: string }) => `${new URL(config.url).host}:443`,
};
const registry = createNodeRegistry([call]);

const credentials: CredentialPort = {
  resolve: () => Promise.resolve({ ok: true, secrets: new Map([['api', { host: SECRET }]]) }),
  isTransient: () => false,
};

describe('breaker target', () => {
  it('replaces the secret part of a host built from a credential', async () => {
    const workflow = compileTestWorkflow(
      {
        name: 'secret-host',
        nodes: [
          {
            id: 'call',
            type: 'http',
            config: { url: 'https://{{ secrets.api.host }}.example.invalid/x' },
            retry: { max_attempts: 1 },
            circuit_breaker: { volume: 1, error_percent: 1 },
          },
        ],
      },
      registry,
    );
    const node = workflow.nodes.get('call');
    if (node === undefined) throw new TypeError('no node call');
    const request = {
      input: { input: {}, nodes: {}, execution: { id: 'e', workflow_id: 'w', attempt: 1 } },
      tenantId: 't',
    };
    await withNodeDeps(registry, { maxOutputBytes: 1 << 20 }, async (deps) => {
      const first = await runNode({ ...deps, credentials }, node, {
        ...request,
        signal: new AbortController().signal,
      });
      expect(first.status).toBe('failed');
      const [breaker] = deps.breakers.snapshot();
      expect(breaker?.target).toBe('[redacted].example.invalid:443');
      const second = await runNode({ ...deps, credentials }, node, {
        ...request,
        signal: new AbortController().signal,
      });
      expect(second.error?.type).toBe('CIRCUIT_OPEN');
      const shown = JSON.stringify([deps.breakers.snapshot(), second]).toLowerCase();
      expect(shown).not.toContain(SECRET.toLowerCase());
    });
  });
});
