import type { Gauge } from 'prom-client';

/** The label value shared by every value past the cap. */
export const OTHER_LABEL = 'other';

/**
 * A gauge with one label whose set of values is capped: the first `max` values (among those
 * currently set) get their own series, the rest share one `other` series holding the largest
 * of their values (for a state gauge: the worst state). Removing a value removes its series,
 * so a label set that churns (breakers keyed by `host:port`) stays bounded.
 */
export class CappedGauge<L extends string> {
  /** Every value currently set, by label value. */
  private readonly values = new Map<string, number>();
  /** Label values that own a series (at most `max`). */
  private readonly labelled = new Set<string>();

  constructor(
    private readonly gauge: Gauge<L>,
    private readonly label: L,
    private readonly max: number,
  ) {}

  /** Sets `value` for the label value `key`. */
  set(key: string, value: number): void {
    this.values.set(key, value);
    if (!this.labelled.has(key) && this.labelled.size < this.max && key !== OTHER_LABEL)
      this.labelled.add(key);
    if (this.labelled.has(key)) this.gauge.set(this.labels(key), value);
    else this.refreshOther();
  }

  /** Forgets `key` and removes its series (or its share of `other`). */
  remove(key: string): void {
    if (!this.values.delete(key)) return;
    if (this.labelled.delete(key)) this.gauge.remove(this.labels(key));
    else this.refreshOther();
  }

  /** Label values that own a series, for tests and debugging. */
  labelledKeys(): readonly string[] {
    return [...this.labelled];
  }

  private refreshOther(): void {
    let worst: number | undefined;
    for (const [key, value] of this.values)
      if (!this.labelled.has(key)) worst = Math.max(worst ?? value, value);
    if (worst === undefined) this.gauge.remove(this.labels(OTHER_LABEL));
    else this.gauge.set(this.labels(OTHER_LABEL), worst);
  }

  private labels(key: string) {
    return { [this.label]: key } as Partial<Record<L, string>>;
  }
}
