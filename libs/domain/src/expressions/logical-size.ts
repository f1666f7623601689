/**
 * Logical sizes of values an evaluation builds: 1 + the sizes of the children, with a
 * part referenced twice counted twice. `{"a": $v, "b": $v}` doubles the logical size
 * with one small allocation, and 30 levels of it make a value jsonata's native walkers
 * (`=`, `**`, `in`, serialisation) take minutes or the heap to traverse. Every object
 * and array a step returns is sized once and memoised, so the cost is amortised over
 * the new nodes; a child no step returned (a part of the input) counts as one node.
 */
export class LogicalSizes {
  private readonly sizes = new WeakMap<object, number>();

  /** The logical size of `value` (scalars are 1), memoised per object or array. */
  sizeOf(value: unknown): number {
    if (typeof value !== 'object' || value === null) return 1;
    const known = this.sizes.get(value);
    if (known !== undefined) return known;
    let size = 1;
    const children: readonly unknown[] = Array.isArray(value) ? value : Object.values(value);
    for (const child of children) size += this.known(child);
    this.sizes.set(value, size);
    return size;
  }

  private known(child: unknown): number {
    if (typeof child !== 'object' || child === null) return 1;
    return this.sizes.get(child) ?? 1;
  }
}
