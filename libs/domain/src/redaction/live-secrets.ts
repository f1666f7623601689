/**
 * The credential values a process holds right now (resolved for nodes that are running), for
 * the redaction of what does not pass through a node's own result: pino lines and span
 * attributes written while the node runs (an http client span's URL). A value is held from
 * its resolution until its node attempt has settled; holding is counted, so two nodes using
 * the same value keep it until both are done.
 */
export interface LiveSecrets {
  /** Holds `values`; the returned function lets go of them (call it once). */
  hold(values: readonly string[]): () => void;
  /** Every value held now, longest first. */
  values(): readonly string[];
}

/** A {@link LiveSecrets} built in a composition root and passed to logger, tracing and engine. */
export function createLiveSecrets(): LiveSecrets {
  const counts = new Map<string, number>();
  let cached: readonly string[] | undefined = [];
  return {
    hold(values) {
      for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
      cached = undefined;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        for (const v of values) {
          const n = (counts.get(v) ?? 1) - 1;
          if (n <= 0) counts.delete(v);
          else counts.set(v, n);
        }
        cached = undefined;
      };
    },
    values() {
      cached ??= [...counts.keys()].sort((a, b) => b.length - a.length);
      return cached;
    },
  };
}
