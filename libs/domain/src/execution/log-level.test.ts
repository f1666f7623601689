import { Value } from '@sinclair/typebox/value';
import { describe, expect, it } from 'vitest';
import { levelsFrom, LogLevelSchema } from './log-level.ts';
import { DEFAULT_PRIORITY, PRIORITY_NAMES, PrioritySchema } from './priority.ts';

describe('levelsFrom', () => {
  it('admits the named level and every more severe one', () => {
    expect(levelsFrom('debug')).toEqual(['debug', 'info', 'warn', 'error']);
    expect(levelsFrom('warn')).toEqual(['warn', 'error']);
    expect(levelsFrom('error')).toEqual(['error']);
  });
});

describe('shared name schemas', () => {
  it('accept exactly the listed names', () => {
    expect(Value.Check(LogLevelSchema, 'info')).toBe(true);
    expect(Value.Check(LogLevelSchema, 'fatal')).toBe(false);
    for (const name of PRIORITY_NAMES) expect(Value.Check(PrioritySchema, name)).toBe(true);
    expect(Value.Check(PrioritySchema, 'urgent')).toBe(false);
    expect(PRIORITY_NAMES).toContain(DEFAULT_PRIORITY);
  });
});
