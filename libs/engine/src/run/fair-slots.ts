import { NodeError } from '@linkflow/nodes';

/** Sizes of a {@link FairSlots}. */
export interface FairSlotsLimits {
  /** Slots held at once, all tenants together (EXECUTOR_CONCURRENCY). */
  readonly size: number;
  /** Slots one tenant may hold at once (EXECUTOR_SLOTS_PER_TENANT). */
  readonly perTenant: number;
}

/** Default per-tenant share: half the slots, at least one. */
export const defaultSlotsPerTenant = (size: number): number => Math.max(1, Math.floor(size / 2));

interface Waiter {
  readonly grant: () => void;
}

/**
 * The executor's node slots, shared fairly between tenants: one tenant holds at most
 * `perTenant` at once, and a freed slot goes to the next waiting tenant in turn (round-robin,
 * FIFO within a tenant). So one tenant's forty hung http nodes fill its own share and queue
 * behind each other, while another tenant's node takes a free slot at once.
 */
export class FairSlots {
  readonly #limits: FairSlotsLimits;
  /** Map order is the turn order: a served tenant moves to the back. */
  readonly #waiting = new Map<string, Waiter[]>();
  readonly #held = new Map<string, number>();
  #free: number;

  constructor(limits: FairSlotsLimits) {
    this.#limits = { size: limits.size, perTenant: Math.min(limits.perTenant, limits.size) };
    this.#free = limits.size;
  }

  /** Slots a tenant holds now. */
  heldBy(tenant: string): number {
    return this.#held.get(tenant) ?? 0;
  }

  /**
   * Waits for a slot for `tenant`. @returns its release (idempotent)
   * @throws NodeError (the signal's reason) when `signal` aborts while waiting
   */
  async acquire(tenant: string, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) throw abortReason(signal);
    if (!this.#canTake(tenant) || this.#waiting.size > 0) {
      await this.#wait(tenant, signal);
    } else {
      this.#take(tenant);
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#free++;
      const held = this.heldBy(tenant) - 1;
      if (held > 0) this.#held.set(tenant, held);
      else this.#held.delete(tenant);
      this.#dispatch();
    };
  }

  #canTake(tenant: string): boolean {
    return this.#free > 0 && this.heldBy(tenant) < this.#limits.perTenant;
  }

  #take(tenant: string): void {
    this.#free--;
    this.#held.set(tenant, this.heldBy(tenant) + 1);
  }

  #wait(tenant: string, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        const queue = this.#waiting.get(tenant) ?? [];
        const index = queue.indexOf(waiter);
        if (index >= 0) queue.splice(index, 1);
        if (queue.length === 0) this.#waiting.delete(tenant);
        reject(abortReason(signal as AbortSignal));
      };
      const waiter: Waiter = {
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const queue = this.#waiting.get(tenant) ?? [];
      queue.push(waiter);
      this.#waiting.set(tenant, queue);
      signal?.addEventListener('abort', onAbort, { once: true });
      // A tenant under its cap may be waiting only because others queued first.
      this.#dispatch();
    });
  }

  /** Grants free slots to waiting tenants in turn, skipping tenants at their cap. */
  #dispatch(): void {
    let progressed = true;
    while (this.#free > 0 && progressed) {
      progressed = false;
      for (const [tenant, queue] of this.#waiting) {
        if (!this.#canTake(tenant)) continue;
        const waiter = queue.shift() as Waiter;
        this.#waiting.delete(tenant);
        if (queue.length > 0) this.#waiting.set(tenant, queue); // to the back of the turn
        this.#take(tenant);
        waiter.grant();
        progressed = true;
        break;
      }
    }
  }
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error
    ? reason
    : new NodeError('CANCELLATION', 'node cancelled while waiting for a slot', {
        retryable: false,
      });
}
