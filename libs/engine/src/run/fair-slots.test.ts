import { describe, expect, it } from 'vitest';
import { Type } from '@sinclair/typebox';
import { compileWorkflow } from '@linkflow/domain';
import { createNodeRegistry, NodeError, type NodeDefinition } from '@linkflow/nodes';
import { BreakerRegistry } from '../breakers/breaker-registry.ts';
import { defaultSlotsPerTenant, FairSlots } from './fair-slots.ts';
import { runNode, type NodeSlots } from './node-runner.ts';

/** A node that runs until its signal aborts (a 1-byte/s server, say). */
const hangNode: NodeDefinition<never> = {
  type: 'http',
  version: 1,
  configSchema: Type.Object({}),
  rawFields: [],
  execute: (ctx) =>
    new Promise((_, reject) =>
      ctx.signal.addEventListener('abort', () =>
        reject(new NodeError('CANCELLATION', 'stopped', { retryable: false })),
      ),
    ),
};

const quickNode: NodeDefinition<never> = {
  type: 'transform',
  version: 1,
  configSchema: Type.Object({}),
  rawFields: [],
  execute: () => Promise.resolve({ output: 'done', usage: {} }),
};

function harness(slots: NodeSlots) {
  const registry = createNodeRegistry([hangNode, quickNode]);
  const compiled = compileWorkflow(
    {
      name: 'w',
      nodes: [
        { id: 'hang', type: 'http', config: {} },
        { id: 'quick', type: 'transform', config: {} },
      ],
    },
    registry,
  );
  if (!compiled.ok) throw new TypeError('bad test workflow');
  const breakers = new BreakerRegistry();
  const deps = {
    registry,
    breakers,
    slots,
    clock: { now: () => new Date() },
    random: () => 0.5,
    maxOutputBytes: 1024,
  };
  const run = (id: string, tenantId: string, signal: AbortSignal) =>
    runNode(deps, compiled.value.nodes.get(id)!, {
      input: { input: {}, nodes: {}, execution: { id: 'e', workflow_id: 'w', attempt: 1 } },
      signal,
      tenantId,
    });
  return { run, close: () => breakers.shutdown() };
}

describe('FairSlots', () => {
  it("gives another tenant's node a slot at once while one tenant's nodes hang", async () => {
    const slots = new FairSlots({ size: 4, perTenant: defaultSlotsPerTenant(4) });
    const { run, close } = harness(slots);
    const evil = new AbortController();
    const hung = Array.from({ length: 6 }, () => run('hang', 'evil', evil.signal));
    await expect.poll(() => slots.heldBy('evil'), { timeout: 5000 }).toBe(2);

    const victim = await run('quick', 'victim', new AbortController().signal);
    expect(victim.status).toBe('success');
    expect(victim.output).toBe('done');
    expect(slots.heldBy('evil')).toBe(2);

    evil.abort(new NodeError('CANCELLATION', 'cancelled', { retryable: false }));
    const settled = await Promise.all(hung);
    expect(settled.every((r) => r.status === 'cancelled')).toBe(true);
    expect(slots.heldBy('evil')).toBe(0);
    close();
  });

  it('serves waiting tenants round-robin, FIFO within a tenant', async () => {
    const slots = new FairSlots({ size: 1, perTenant: 1 });
    const order: string[] = [];
    const first = await slots.acquire('a');
    const waits = [
      ['a', 'a1'],
      ['a', 'a2'],
      ['b', 'b1'],
      ['c', 'c1'],
    ].map(([tenant, name]) =>
      slots.acquire(tenant!).then((release) => {
        order.push(name!);
        release();
      }),
    );
    first();
    first();
    await Promise.all(waits);
    expect(order).toEqual(['a1', 'b1', 'c1', 'a2']);
    const again = await slots.acquire('a');
    again();
  });

  it('drops a waiter whose signal aborts and rejects with its reason', async () => {
    const slots = new FairSlots({ size: 1, perTenant: 1 });
    const held = await slots.acquire('a');
    const stop = new AbortController();
    const waiting = slots.acquire('b', stop.signal);
    stop.abort(new NodeError('CANCELLATION', 'gone', { retryable: false }));
    await expect(waiting).rejects.toThrow('gone');
    held();
    const next = await slots.acquire('c');
    expect(slots.heldBy('c')).toBe(1);
    next();
  });

  it('defaults a tenant share to half the slots, at least one', () => {
    expect(defaultSlotsPerTenant(32)).toBe(16);
    expect(defaultSlotsPerTenant(1)).toBe(1);
    expect(defaultSlotsPerTenant(3)).toBe(1);
  });
});
