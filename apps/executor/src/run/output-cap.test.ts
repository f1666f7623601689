import { describe, expect, it } from 'vitest';
import { capExecutionOutput, executionOutputBytes } from './output-cap.ts';

describe('executionOutputBytes', () => {
  it('equals the stored JSON size while under the limit', () => {
    const output = { a: { n: 1, s: 'é😀' }, b: null, 'q"uote': [1, 2] };
    expect(executionOutputBytes(output, 1_000_000)).toBe(Buffer.byteLength(JSON.stringify(output)));
    expect(executionOutputBytes({}, 10)).toBe(2);
  });

  it('stops counting once past the limit', () => {
    const output = { a: 'x'.repeat(100), b: 'y'.repeat(1_000_000) };
    expect(executionOutputBytes(output, 50)).toBeLessThan(200);
  });
});

describe('capExecutionOutput', () => {
  it('fails a success whose output is over the limit with EXECUTION and no node', () => {
    const outcome = capExecutionOutput(
      { status: 'success', output: { a: 'x'.repeat(600), b: 'y'.repeat(600) } },
      1_000,
    );
    expect(outcome).toEqual({
      status: 'failed',
      error: {
        type: 'EXECUTION',
        node_id: null,
        message: expect.stringContaining('over the 1000-byte limit') as string,
      },
    });
  });

  it('passes outputs within the limit and failures through unchanged', () => {
    const ok = { status: 'success' as const, output: { a: 'x'.repeat(900) } };
    expect(capExecutionOutput(ok, 1_000)).toBe(ok);
    const failed = { status: 'failed' as const, error: { type: 'UNKNOWN' as const, message: 'm' } };
    expect(capExecutionOutput(failed, 1)).toBe(failed);
  });
});
