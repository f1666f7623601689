/** Limits of a {@link FairQueue}. */
export interface FairQueueLimits {
  /** Items of one tenant taken (running) at once. */
  readonly maxRunningPerTenant: number;
  /** Items of one tenant waiting at once; `push` refuses more. */
  readonly maxWaitingPerTenant: number;
}

/**
 * Waiting items grouped by tenant and served round-robin: each `take` serves the next tenant
 * in turn whose running count is under its cap, so one tenant's backlog (say, a hundred
 * `while (true) {}` code nodes) never delays another tenant by more than one turn.
 */
export class FairQueue<T> {
  readonly #limits: FairQueueLimits;
  /** Map order is the turn order: a served tenant moves to the back. */
  readonly #waiting = new Map<string, T[]>();
  readonly #running = new Map<string, number>();
  #size = 0;

  constructor(limits: FairQueueLimits) {
    this.#limits = limits;
  }

  /** Items waiting, all tenants together. */
  get size(): number {
    return this.#size;
  }

  /** Queues an item. @returns false (nothing queued) when the tenant's queue is full */
  push(tenant: string, item: T): boolean {
    const items = this.#waiting.get(tenant) ?? [];
    if (items.length >= this.#limits.maxWaitingPerTenant) return false;
    items.push(item);
    this.#waiting.set(tenant, items);
    this.#size++;
    return true;
  }

  /** Removes a waiting item (aborted or expired). @returns whether it was waiting */
  remove(tenant: string, item: T): boolean {
    const items = this.#waiting.get(tenant);
    const index = items?.indexOf(item) ?? -1;
    if (!items || index < 0) return false;
    items.splice(index, 1);
    if (items.length === 0) this.#waiting.delete(tenant);
    this.#size--;
    return true;
  }

  /**
   * Takes the first item of the next tenant under its running cap and counts it as running
   * (until `done`). @returns undefined when nothing may run now
   */
  take(): { readonly tenant: string; readonly item: T } | undefined {
    for (const [tenant, items] of this.#waiting) {
      const running = this.#running.get(tenant) ?? 0;
      if (running >= this.#limits.maxRunningPerTenant) continue;
      const item = items.shift() as T;
      this.#waiting.delete(tenant);
      if (items.length > 0) this.#waiting.set(tenant, items); // to the back of the turn order
      this.#running.set(tenant, running + 1);
      this.#size--;
      return { tenant, item };
    }
    return undefined;
  }

  /** A taken item of `tenant` has finished. */
  done(tenant: string): void {
    const running = (this.#running.get(tenant) ?? 0) - 1;
    if (running > 0) this.#running.set(tenant, running);
    else this.#running.delete(tenant);
  }

  /** Running items of one tenant. */
  runningOf(tenant: string): number {
    return this.#running.get(tenant) ?? 0;
  }

  /** Empties the queue. @returns every waiting item */
  drain(): T[] {
    const all = [...this.#waiting.values()].flat();
    this.#waiting.clear();
    this.#size = 0;
    return all;
  }
}
