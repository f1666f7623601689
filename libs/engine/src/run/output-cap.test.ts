import { describe, expect, it } from 'vitest';
import { capExecutionOutput, executionOutputBytes } from './output-cap.ts';

describe('executionOutputBytes', () => {
  it('sums the JSON size of every sink output', () => {
    const output = { a: { n: 1, s: 'é😀' }, b: null, c: [1, 2] };
    const expected = [output.a, null, output.c]
      .map((v) => Buffer.byteLength(JSON.stringify(v)))
      .reduce((x, y) => x + y);
    expect(executionOutputBytes(output, 1_000_000)).toBe(expected);
    expect(executionOutputBytes({}, 10)).toBe(0);
  });

  it('stops counting once past the limit', () => {
    const output = { a: 'x'.repeat(100), b: 'y'.repeat(1_000_000) };
    expect(executionOutputBytes(output, 50)).toBeLessThan(200);
  });
});

describe('capExecutionOutput', () => {
  const caps = { maxBytes: 1_000, nodeMaxBytes: 800 };

  it('fails a success whose sinks add up past the limit with EXECUTION and no node', () => {
    const outcome = capExecutionOutput(
      { status: 'success', output: { a: 'x'.repeat(600), b: 'y'.repeat(600) } },
      caps,
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
    const ok = { status: 'success' as const, output: { a: 'x'.repeat(400), b: 'y'.repeat(400) } };
    expect(capExecutionOutput(ok, caps)).toBe(ok);
    const failed = { status: 'failed' as const, error: { type: 'UNKNOWN' as const, message: 'm' } };
    expect(capExecutionOutput(failed, { maxBytes: 1, nodeMaxBytes: 1 })).toBe(failed);
  });

  it('measures nothing when the node cap alone keeps the sinks under the limit', () => {
    // A getter that throws proves the output was never serialised.
    const output = {
      get a(): unknown {
        throw new TypeError('measured');
      },
    };
    const outcome = { status: 'success' as const, output };
    expect(capExecutionOutput(outcome, { maxBytes: 1_000, nodeMaxBytes: 1_000 })).toBe(outcome);
  });
});
