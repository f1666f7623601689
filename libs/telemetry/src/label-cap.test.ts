import { describe, expect, it } from 'vitest';
import { LabelCap } from './label-cap.ts';

describe('LabelCap', () => {
  it('keeps the first max values and maps later ones to other for good', () => {
    const cap = new LabelCap(2);
    expect(['x', 'y', 'z', 'x', 'y', 'z'].map((v) => cap.label(v))).toEqual([
      'x',
      'y',
      'other',
      'x',
      'y',
      'other',
    ]);
    expect(cap.keptValues()).toEqual(['x', 'y']);
  });

  it('never gives the literal value other a slot of its own', () => {
    const cap = new LabelCap(1);
    expect(cap.label('other')).toBe('other');
    expect(cap.label('real')).toBe('real');
  });
});
