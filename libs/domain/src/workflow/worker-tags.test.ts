import { describe, expect, it } from 'vitest';
import { validateWorkflow } from './validate-workflow.ts';
import { canTakeTags, isWorkerTag, normalizeTags, tagSetKey, tagsOfKey } from './worker-tags.ts';
import { fakeCatalog } from '../testing/fake-catalog.ts';

describe('worker tags', () => {
  it('keys a tag set by its sorted unique tags, and reads the key back', () => {
    expect(tagSetKey(['gpu', 'eu', 'gpu'])).toBe('eu,gpu');
    expect(tagSetKey(undefined)).toBe('');
    expect(tagsOfKey('eu,gpu')).toEqual(['eu', 'gpu']);
    expect(tagsOfKey('')).toEqual([]);
    expect(normalizeTags(['b', 'a'])).toEqual(['a', 'b']);
  });

  it('lets an executor take untagged work and work whose tags it all has', () => {
    expect(canTakeTags([], undefined)).toBe(true);
    expect(canTakeTags(['eu', 'gpu'], ['gpu'])).toBe(true);
    expect(canTakeTags(['eu', 'gpu'], ['eu', 'gpu'])).toBe(true);
    expect(canTakeTags(['eu'], ['eu', 'gpu'])).toBe(false);
    expect(canTakeTags([], ['gpu'])).toBe(false);
  });

  it('accepts lowercase tags of letters, digits, _ and - only', () => {
    expect(isWorkerTag('gpu-a100_x')).toBe(true);
    expect(isWorkerTag('GPU')).toBe(false);
    expect(isWorkerTag('eu west')).toBe(false);
    expect(isWorkerTag('')).toBe(false);
  });
});

describe('settings.worker_tags', () => {
  const base = { name: 'w', nodes: [{ id: 'a', type: 'transform', config: { expression: '1' } }] };

  it('is accepted as a list of tags', () => {
    const result = validateWorkflow({ ...base, settings: { worker_tags: ['gpu'] } }, fakeCatalog());
    expect(result.ok).toBe(true);
  });

  it('rejects an invalid or repeated tag', () => {
    expect(
      validateWorkflow({ ...base, settings: { worker_tags: ['GPU'] } }, fakeCatalog()).ok,
    ).toBe(false);
    expect(
      validateWorkflow({ ...base, settings: { worker_tags: ['gpu', 'gpu'] } }, fakeCatalog()).ok,
    ).toBe(false);
  });
});
