import { describe, expect, it } from 'vitest';
import { JOB_CATALOG, PRIORITIES, parseJobPayload, priorityName } from './job-catalog.ts';
import { redisOptionsFor } from './redis-connection.ts';

describe('parseJobPayload', () => {
  it('accepts ids with a trace carrier', () => {
    const payload = {
      execution_id: 'exec-1',
      tenant_id: 'acme',
      trace: { traceparent: '00-abc-def-01' },
    };

    expect(parseJobPayload('execution.run', payload)).toEqual({ ok: true, value: payload });
  });

  it('names every problem of a bad payload', () => {
    const result = parseJobPayload('execution.run', {
      execution_id: '42',
      tenant_id: '',
      definition: {},
    });

    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('INVALID_JOB_PAYLOAD');
    const paths = result.error.problems.map((p) => p.path);
    expect(paths).toEqual(expect.arrayContaining(['/execution_id', '/tenant_id', '/definition']));
  });

  it('rejects job ids that contain a colon', () => {
    expect(parseJobPayload('execution.run', { execution_id: 'a:b', tenant_id: 't' }).ok).toBe(
      false,
    );
  });
});

describe('catalog', () => {
  it('gives execution.run attempts with exponential backoff and keeps failed jobs', () => {
    const options = JOB_CATALOG['execution.run'].defaultOptions;

    expect(options).toMatchObject({
      attempts: 3,
      removeOnComplete: { count: 1_000 },
      removeOnFail: { age: 86_400, count: 10_000 },
    });
    expect(options.backoff).toMatchObject({ type: 'exponential' });
  });

  it('maps priority numbers back to names', () => {
    expect(priorityName(PRIORITIES.high)).toBe('high');
    expect(priorityName(PRIORITIES.low)).toBe('low');
    expect(priorityName(3)).toBeUndefined();
  });
});

describe('redisOptionsFor', () => {
  it('lets worker commands wait for the reconnect and fails producers fast', () => {
    expect(redisOptionsFor('worker').maxRetriesPerRequest).toBeNull();
    expect(redisOptionsFor('subscriber').maxRetriesPerRequest).toBeNull();
    expect(redisOptionsFor('producer')).toMatchObject({
      maxRetriesPerRequest: 1,
      commandTimeout: 5_000,
    });
  });
});
