import { OTHER_LABEL } from './capped-gauge.ts';

/**
 * A bounded set of label values for counters: the first `max` distinct values seen keep
 * their own series for the life of the process, every later one is counted as `other`.
 * Counters cannot give a series back without resetting it, so unlike {@link CappedGauge} the
 * set never changes once full; a restart starts a new set. Share one cap between the
 * counters that carry the same label so their series line up (`workflow` on started and
 * cost).
 */
export class LabelCap {
  private readonly kept = new Set<string>();

  constructor(private readonly max: number) {}

  /** The label value to record `value` under: itself while it fits, else `other`. */
  label(value: string): string {
    if (this.kept.has(value)) return value;
    if (value === OTHER_LABEL || this.kept.size >= this.max) return OTHER_LABEL;
    this.kept.add(value);
    return value;
  }

  /** Values that own a series, for tests and debugging. */
  keptValues(): readonly string[] {
    return [...this.kept];
  }
}
