/**
 * jsonata's `$sort` merges by slicing one element at a time (quadratic time and live
 * memory: 20,000 numbers held the event loop 8 s, a million ran out of heap) and
 * `$distinct` compares every pair (quadratic). These give the same results in
 * O(n log n) and O(n), and call `pulse` every few hundred steps so the evaluation's
 * deadline, abort and event-loop turns apply inside them too.
 */

/** Checks the budget; the promise, when there is one, is a turn of the event loop. */
export type Pulse = () => Promise<void> | undefined;
/** True when `a` must come after `b` (jsonata's comparator contract). */
export type Comparator = (a: unknown, b: unknown) => unknown;

const PULSE_EVERY = 256;

/** Stable bottom-up merge sort with an async comparator. */
export async function mergeSort(
  items: readonly unknown[],
  after: Comparator,
  pulse: Pulse,
): Promise<unknown[]> {
  let from = [...items];
  let to = new Array<unknown>(from.length);
  let steps = 0;
  for (let width = 1; width < from.length; width *= 2) {
    for (let lo = 0; lo < from.length; lo += 2 * width) {
      const mid = Math.min(lo + width, from.length);
      const hi = Math.min(lo + 2 * width, from.length);
      let i = lo;
      let j = mid;
      for (let k = lo; k < hi; k++) {
        if (++steps % PULSE_EVERY === 0) await pulse();
        const takeRight = j < hi && (i >= mid || Boolean(await after(from[i], from[j])));
        to[k] = takeRight ? from[j++] : from[i++];
      }
    }
    [from, to] = [to, from];
  }
  return from;
}

function isFunctionValue(value: object): boolean {
  return '_jsonata_lambda' in value || '_jsonata_function' in value;
}

/**
 * Keys equal for two values exactly when jsonata's deep equality holds: object keys
 * in any order, arrays in order, functions by identity. Structures are hash-consed:
 * a key names each child by a small id, and keys are memoised per object, so a value
 * whose parts are shared (`{"a": $v, "b": $v}` nested 20 times) costs its distinct
 * nodes, not its logical size, and no key repeats a long string.
 */
export class EqualityKeys {
  private readonly structures = new Map<string, number>();
  private readonly strings = new Map<string, number>();
  private readonly functions = new Map<object, number>();
  private readonly memo = new WeakMap<object, string>();

  /** The key of `value`. */
  keyOf(value: unknown): string {
    if (value === undefined) return 'u';
    if (typeof value === 'string') return `s${intern(this.strings, value)}`;
    if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value}:${value}`;
    if (value === null) return 'null';
    if (typeof value !== 'object' && typeof value !== 'function') return 'null';
    const known = this.memo.get(value);
    if (known !== undefined) return known;
    const key = this.structureKey(value);
    this.memo.set(value, key);
    return key;
  }

  private structureKey(value: object): string {
    if (typeof value === 'function' || isFunctionValue(value))
      return `f${intern(this.functions, value)}`;
    let shallow: string;
    if (Array.isArray(value)) shallow = `[${value.map((item) => this.keyOf(item)).join(',')}]`;
    else {
      const record = value as Record<string, unknown>;
      const keys = Object.getOwnPropertyNames(record).sort();
      shallow = `{${keys.map((k) => `s${intern(this.strings, k)}:${this.keyOf(record[k])}`).join(',')}}`;
    }
    return `o${intern(this.structures, shallow)}`;
  }
}

function intern<K>(ids: Map<K, number>, key: K): number {
  let id = ids.get(key);
  if (id === undefined) ids.set(key, (id = ids.size));
  return id;
}

/** The first occurrence of every distinct value, in order. */
export async function distinctValues(
  items: readonly unknown[],
  into: unknown[],
  pulse: Pulse,
): Promise<unknown[]> {
  // Scalars by value (1 and "1" differ), objects and arrays by their equality key.
  const scalars = new Set<unknown>();
  const structures = new Set<unknown>();
  const keys = new EqualityKeys();
  for (let i = 0; i < items.length; i++) {
    if ((i + 1) % PULSE_EVERY === 0) await pulse();
    const value = items[i];
    const isStructure = typeof value === 'object' && value !== null;
    const seen = isStructure ? structures : scalars;
    const key = isStructure ? keys.keyOf(value) : value;
    if (seen.has(key)) continue;
    seen.add(key);
    into.push(value);
  }
  return into;
}
