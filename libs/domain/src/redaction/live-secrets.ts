/**
 * The credential values a process holds right now (resolved for nodes that are running), for
 * the redaction of what does not pass through a node's own result: pino lines and span
 * attributes written while the node runs (an http client span's URL). A value is held from
 * its resolution until its node attempt has settled; holding is counted, so two nodes using
 * the same value keep it until both are done.
 */
export interface LiveSecrets {
  /**
   * Holds `values` for `owner` (the tenant whose node resolved them); the returned function
   * lets go of them (call it once).
   */
  hold(values: readonly string[], owner?: string): () => void;
  /**
   * The values held now, longest first: every one, or only `owner`'s. A pino line bound to
   * one tenant is redacted with that tenant's values only, so one tenant's short or common
   * "secret" cannot garble every other tenant's lines (ids, messages) while its node runs.
   */
  values(owner?: string): readonly string[];
}

/** Counted values: a value held twice stays until both let go of it. */
class HeldValues {
  private readonly counts = new Map<string, number>();
  private cached: readonly string[] | undefined = [];

  add(values: readonly string[]): void {
    for (const v of values) this.counts.set(v, (this.counts.get(v) ?? 0) + 1);
    this.cached = undefined;
  }

  remove(values: readonly string[]): void {
    for (const v of values) {
      const n = (this.counts.get(v) ?? 1) - 1;
      if (n <= 0) this.counts.delete(v);
      else this.counts.set(v, n);
    }
    this.cached = undefined;
  }

  get empty(): boolean {
    return this.counts.size === 0;
  }

  /** Longest first, so a value inside a longer one does not split it. */
  sorted(): readonly string[] {
    this.cached ??= [...this.counts.keys()].sort((a, b) => b.length - a.length);
    return this.cached;
  }
}

/** A {@link LiveSecrets} built in a composition root and passed to logger, tracing and engine. */
export function createLiveSecrets(): LiveSecrets {
  const all = new HeldValues();
  const byOwner = new Map<string, HeldValues>();
  const NONE: readonly string[] = [];
  return {
    hold(values, owner) {
      all.add(values);
      if (owner !== undefined) {
        const mine = byOwner.get(owner) ?? new HeldValues();
        byOwner.set(owner, mine);
        mine.add(values);
      }
      let released = false;
      return () => {
        if (released) return;
        released = true;
        all.remove(values);
        const mine = owner === undefined ? undefined : byOwner.get(owner);
        if (owner === undefined || mine === undefined) return;
        mine.remove(values);
        if (mine.empty) byOwner.delete(owner);
      };
    },
    values(owner) {
      if (owner === undefined) return all.sorted();
      return byOwner.get(owner)?.sorted() ?? NONE;
    },
  };
}
