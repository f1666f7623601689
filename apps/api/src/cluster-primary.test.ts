import { describe, expect, it } from 'vitest';
import { restartDelayMs } from './cluster-primary.ts';

describe('restartDelayMs', () => {
  it('doubles with each worker in a row that died before it listened, up to a minute', () => {
    expect([0, 1, 2, 3, 5, 6, 7, 100].map(restartDelayMs)).toEqual([
      1_000, 2_000, 4_000, 8_000, 32_000, 60_000, 60_000, 60_000,
    ]);
  });
});
