import { describe, expect, it } from 'vitest';
import { FairQueue } from './fair-queue.ts';

describe('FairQueue', () => {
  it('serves tenants in turn and skips a tenant at its running cap', () => {
    const queue = new FairQueue<string>({ maxRunningPerTenant: 2, maxWaitingPerTenant: 10 });
    for (const item of ['a1', 'a2', 'a3', 'a4']) queue.push('A', item);
    queue.push('B', 'b1');
    queue.push('B', 'b2');
    const taken = [queue.take(), queue.take(), queue.take(), queue.take()].map((t) => t?.item);
    expect(taken).toEqual(['a1', 'b1', 'a2', 'b2']);
    expect(queue.take()).toBeUndefined(); // A has 2 running, B has none waiting
    queue.done('A');
    expect(queue.take()?.item).toBe('a3');
    expect(queue.size).toBe(1);
    expect(queue.runningOf('A')).toBe(2);
  });

  it('refuses past the waiting limit, removes waiting items and drains', () => {
    const queue = new FairQueue<number>({ maxRunningPerTenant: 1, maxWaitingPerTenant: 2 });
    expect([queue.push('A', 1), queue.push('A', 2), queue.push('A', 3)]).toEqual([
      true,
      true,
      false,
    ]);
    expect(queue.push('B', 4)).toBe(true);
    expect(queue.remove('A', 1)).toBe(true);
    expect(queue.remove('A', 1)).toBe(false);
    expect(queue.drain().sort()).toEqual([2, 4]);
    expect(queue.size).toBe(0);
  });
});
