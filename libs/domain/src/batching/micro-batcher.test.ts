import { describe, expect, it } from 'vitest';
import { MicroBatcher } from './micro-batcher.ts';

function recorder(fail?: (batch: readonly number[]) => boolean) {
  const batches: number[][] = [];
  const batcher = new MicroBatcher<number, number>({
    maxBatch: 3,
    key: (n) => String(n % 10),
    run: async (batch) => {
      batches.push([...batch]);
      await Promise.resolve();
      if (fail?.(batch)) throw new TypeError(`batch ${batch.join(',')} failed`);
      return batch.map((n) => n * 2);
    },
  });
  return { batches, batcher };
}

/** A batcher whose every batch fails with `error(batch)`; a RangeError is no request's fault. */
function failing(error: (batch: readonly number[]) => Error) {
  const runs: number[][] = [];
  const batcher = new MicroBatcher<number, number>({
    isolates: (err) => !(err instanceof RangeError),
    run: async (batch) => {
      runs.push([...batch]);
      await Promise.resolve();
      throw error(batch);
    },
  });
  return { runs, batcher };
}

describe('MicroBatcher', () => {
  it('sends a lone request at once and groups requests that arrive while a batch is in flight', async () => {
    const { batches, batcher } = recorder();
    const first = batcher.submit(1);
    const rest = [2, 3, 4, 5].map((n) => batcher.submit(n));
    expect(await Promise.all([first, ...rest])).toEqual([2, 4, 6, 8, 10]);
    expect(batches).toEqual([
      [1, 2, 3],
      [4, 5],
    ]);
  });

  it('with gather "turn", waits out the event-loop turn, so requests a few awaits apart share a batch', async () => {
    // ARRANGE: callers that each do some async work (a promise chain) before submitting
    const batches: number[][] = [];
    const spec = (gather: 'microtask' | 'turn') =>
      new MicroBatcher<number, number>({
        gather,
        run: (batch) => {
          batches.push([...batch]);
          return Promise.resolve(batch.map((n) => n));
        },
      });
    const callers = (batcher: MicroBatcher<number, number>) =>
      Promise.all(
        [1, 2, 3].map(async (n) => {
          for (let i = 0; i < n * 3; i++) await Promise.resolve();
          return batcher.submit(n);
        }),
      );
    // ACT
    await callers(spec('microtask'));
    const byMicrotask = batches.splice(0);
    await callers(spec('turn'));
    // ASSERT: a microtask gather sends the first caller alone; a turn gather takes all three
    expect(byMicrotask[0]).toEqual([1]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('with gather "turn", sends what queued during a batch as soon as it ends, not a turn later', async () => {
    // ARRANGE: a batch held in flight, and a request that queues meanwhile
    const batches: number[][] = [];
    let finish: () => void = () => undefined;
    const batcher = new MicroBatcher<number, number>({
      gather: 'turn',
      run: (batch) => {
        batches.push([...batch]);
        return new Promise((resolve) => {
          finish = () => resolve(batch.map((n) => n));
        });
      },
    });
    const first = batcher.submit(1);
    await new Promise(setImmediate);
    const second = batcher.submit(2);
    // ACT: the first batch ends; only microtasks run after it (no new event-loop turn)
    finish();
    for (let i = 0; i < 10; i++) await Promise.resolve();
    // ASSERT: the second request is already on its way
    expect(batches).toEqual([[1], [2]]);
    finish();
    expect(await Promise.all([first, second])).toEqual([1, 2]);
  });

  it('never puts two requests with the same key in one batch', async () => {
    const { batches, batcher } = recorder();
    await Promise.all([11, 21, 2].map((n) => batcher.submit(n)));
    expect(batches).toEqual([[11, 2], [21]]);
  });

  it('retries a failed batch one by one so only the bad request fails', async () => {
    const { batcher } = recorder((batch) => batch.includes(7));
    const results = await Promise.allSettled([1, 7, 3].map((n) => batcher.submit(n)));
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
  });

  it('rejects a lone failing request', async () => {
    const { batcher } = recorder(() => true);
    await expect(batcher.submit(1)).rejects.toThrow('batch 1 failed');
  });

  it('fails a whole batch at once on an error no request caused', async () => {
    const { runs, batcher } = failing(() => new RangeError('database gone'));
    const results = await Promise.allSettled([1, 2, 3, 4].map((n) => batcher.submit(n)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect(runs).toEqual([[1, 2, 3, 4]]);
  });

  it('stops retrying one by one once a retry fails with an error no request caused', async () => {
    const { runs, batcher } = failing((batch) =>
      batch.length > 1 ? new TypeError('one bad request') : new RangeError('database gone'),
    );
    const results = await Promise.allSettled([1, 2, 3, 4].map((n) => batcher.submit(n)));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect(runs).toEqual([[1, 2, 3, 4], [1]]);
  });
});
