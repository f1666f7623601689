/**
 * A lower bound on the bytes `JSON.stringify(value)` would produce, counted without
 * building it and stopping as soon as it passes `limit`. An expression can return a
 * small object graph that serialises to terabytes (one 10 MiB string referenced 10^5
 * times): stringifying that would exhaust the heap before any byte cap could look at
 * it. Every UTF-16 unit is at least one UTF-8 byte, so the bound never over-counts.
 *
 * @returns the bound, or `limit + 1` as soon as the bound passes `limit`.
 */
export function jsonBytesAtLeast(value: unknown, limit: number): number {
  if (typeof value !== 'object' || value === null) return Math.min(scalarBytes(value), limit + 1);
  let total = 0;
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    total += scalarBytes(item);
    if (Array.isArray(item)) {
      total += 1 + item.length;
      if (total > limit) return limit + 1;
      for (const child of item) stack.push(child);
    } else if (typeof item === 'object' && item !== null) {
      total += 1;
      for (const [key, child] of Object.entries(item)) {
        total += key.length + 4;
        stack.push(child);
      }
    }
    if (total > limit) return limit + 1;
  }
  return total;
}

function scalarBytes(item: unknown): number {
  if (typeof item === 'string') return item.length + 2;
  if (typeof item === 'number' || typeof item === 'boolean') return 1;
  return item === null ? 4 : 0;
}
