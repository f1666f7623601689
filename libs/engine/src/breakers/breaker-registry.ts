import CircuitBreaker from 'opossum';
import type { CircuitBreakerSpec } from '@linkflow/domain';
import { NodeError } from '@linkflow/nodes';

/** A breaker's state: `open` fails calls at once, `half_open` lets a trial call through. */
export type BreakerState = 'closed' | 'half_open' | 'open';

/** When a breaker opens and how long it stays open (opossum's options). */
export interface BreakerOptions {
  /** Percentage of counted failures in the rolling window that opens the breaker. */
  readonly errorThresholdPercentage: number;
  /** Calls in the window before the breaker may open. */
  readonly volumeThreshold: number;
  readonly resetTimeoutMs: number;
  readonly rollingCountTimeoutMs: number;
  /**
   * A call running longer than this is aborted (through the node's signal, so its socket or
   * query is closed) and counts as a failure (TIMEOUT, retryable); 0 = no breaker timeout.
   */
  readonly timeoutMs: number;
}

/**
 * Half the counted calls failing, over at least 5 calls in 10 s, opens a breaker for 10 s; a
 * call over 30 s is aborted and counted as failed.
 */
export const DEFAULT_BREAKER_OPTIONS: BreakerOptions = {
  errorThresholdPercentage: 50,
  volumeThreshold: 5,
  resetTimeoutMs: 10_000,
  rollingCountTimeoutMs: 10_000,
  timeoutMs: 30_000,
};

/** A node's `circuit_breaker` block as registry options (only the fields it sets). */
export function breakerOptionsOf(spec: CircuitBreakerSpec | undefined): Partial<BreakerOptions> {
  if (spec === undefined) return {};
  return {
    ...(spec.error_percent !== undefined && { errorThresholdPercentage: spec.error_percent }),
    ...(spec.volume !== undefined && { volumeThreshold: spec.volume }),
    ...(spec.reset_ms !== undefined && { resetTimeoutMs: spec.reset_ms }),
    ...(spec.window_ms !== undefined && { rollingCountTimeoutMs: spec.window_ms }),
    ...(spec.timeout_ms !== undefined && { timeoutMs: spec.timeout_ms }),
  };
}

/**
 * A node's options for one call: its breaker block, except that a node with its own
 * `timeout_ms` and no breaker `timeout_ms` has no breaker timeout. The user chose how long its
 * calls may take, and its own timeout aborts the call the same way (a TIMEOUT is retryable,
 * so it counts as a failure of the target too).
 */
export function callBreakerOptions(node: {
  readonly circuit_breaker?: CircuitBreakerSpec | undefined;
  readonly timeout_ms?: number | undefined;
}): Partial<BreakerOptions> {
  const options = breakerOptionsOf(node.circuit_breaker);
  if (options.timeoutMs === undefined && node.timeout_ms !== undefined)
    return { ...options, timeoutMs: 0 };
  return options;
}

/**
 * Whose breaker: one per tenant and target. Each tenant learns a target's health on its own,
 * so one tenant's failures or lax `circuit_breaker` block (volume 1, reset 24 h) never fail
 * another tenant's calls to a shared host.
 */
export interface BreakerKey {
  readonly tenantId: string;
  /**
   * What names the breaker wherever it shows (metrics, admin list, errors): `host:port` (HTTP)
   * or the connection name (database; names hold no `:`, so they never clash with a
   * `host:port`), `[redacted]:<port>` for a host built from a secret.
   */
  readonly target: string;
  /**
   * Which breaker, when it differs from `target` (the real `host:port` behind a redacted
   * target, so two secret hosts keep a breaker each). Held in memory only, never shown.
   */
  readonly identity?: string;
}

/** When breakers are dropped: a breaker per tenant and `host:port` ever called would grow for ever. */
export interface BreakerEviction {
  /** A breaker unused (no call started or settled) this long is dropped. */
  readonly idleTtlMs: number;
  /** At most this many breakers (one per tenant and target); past it the least recently used idle one is dropped. */
  readonly maxBreakers: number;
}

/** Breakers idle 10 minutes are dropped; at most 1000 are kept. */
export const DEFAULT_BREAKER_EVICTION: BreakerEviction = {
  idleTtlMs: 10 * 60_000,
  maxBreakers: 1_000,
};

/**
 * Observers of breakers (metrics): state changes, and eviction so a series can be removed.
 * Each hook runs once the registry holds the change, so {@link BreakerRegistry.targetState}
 * already counts it.
 */
export interface BreakerHooks {
  /** A breaker was made for a tenant and target (it starts closed), so its state can show at once. */
  readonly onCreate?: (key: BreakerKey) => void;
  readonly onStateChange?: (key: BreakerKey, state: BreakerState) => void;
  readonly onEvict?: (key: BreakerKey) => void;
  /** Milliseconds clock for idle eviction (tests inject one). */
  readonly now?: () => number;
  readonly eviction?: Partial<BreakerEviction>;
}

type Action = () => Promise<unknown>;

/** How one call goes through its target's breaker. */
export interface FireOptions {
  /**
   * The node's `circuit_breaker` block. Thresholds apply when this call makes the breaker (the
   * tenant's first caller's hold until it is evicted: they only ever bind that tenant's
   * breaker); `timeoutMs` applies to this call.
   */
  readonly overrides?: Partial<BreakerOptions>;
  /**
   * Called with the TIMEOUT error when the call passes the breaker timeout: the caller aborts
   * the node's signal with it so the request itself stops, not only the wait for it.
   */
  readonly abort?: (reason: NodeError) => void;
}

interface Entry extends BreakerKey {
  readonly breaker: CircuitBreaker<[Action], unknown>;
  lastUsedAt: number;
  inFlight: number;
  /** When the breaker was made or last changed state (ms, by the registry's clock). */
  lastChangeAt: number;
}

/** One breaker as the admin view shows it. */
export interface BreakerSnapshot {
  readonly tenantId: string;
  readonly target: string;
  readonly state: BreakerState;
  /** Counted (retryable) failures in the current rolling window. */
  readonly failures: number;
  /** When it was made or last changed state (ms since the epoch, by the registry's clock). */
  readonly lastChangeAt: number;
}

/**
 * One opossum breaker per tenant and target (`host:port`, or a db connection name). Only retryable
 * failures count (a 404 says nothing about the target's health). An open breaker
 * fails the call at once with CIRCUIT_OPEN. Breakers idle for `idleTtlMs`, or the least
 * recently used past `maxBreakers`, are shut down and forgotten (never one with a call in
 * flight); a target called again later starts with a fresh, closed breaker.
 */
const STATE_RANK: Record<BreakerState, number> = { closed: 0, half_open: 1, open: 2 };

const stateOf = (b: CircuitBreaker<[Action], unknown>): BreakerState =>
  b.opened ? 'open' : b.halfOpen ? 'half_open' : 'closed';

/** The map key of a breaker: NUL cannot occur in a tenant id, so keys never collide. */
const idOf = (key: BreakerKey): string => `${key.tenantId}\u0000${key.identity ?? key.target}`;

const isBreakerRejection = (err: unknown): boolean =>
  typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'EOPENBREAKER';

export class BreakerRegistry {
  /** By {@link idOf}, in least-recently-used order: a use moves the entry to the end. */
  private readonly entries = new Map<string, Entry>();
  /** Each target's entries (one per tenant), so a target's state reads only its own. */
  private readonly byTarget = new Map<string, Set<Entry>>();
  private readonly hooks: BreakerHooks;
  private readonly eviction: BreakerEviction;
  private readonly now: () => number;

  constructor(
    private readonly options: BreakerOptions = DEFAULT_BREAKER_OPTIONS,
    hooks: BreakerHooks | ((key: BreakerKey, state: BreakerState) => void) = {},
  ) {
    this.hooks = typeof hooks === 'function' ? { onStateChange: hooks } : hooks;
    this.eviction = { ...DEFAULT_BREAKER_EVICTION, ...this.hooks.eviction };
    this.now = this.hooks.now ?? Date.now;
  }

  private create(key: BreakerKey, overrides: Partial<BreakerOptions>): Entry {
    const options = { ...this.options, ...overrides };
    const breaker = new CircuitBreaker((action: Action) => action(), {
      timeout: false,
      errorThresholdPercentage: options.errorThresholdPercentage,
      volumeThreshold: options.volumeThreshold,
      resetTimeout: options.resetTimeoutMs,
      rollingCountTimeout: options.rollingCountTimeoutMs,
      errorFilter: (err: unknown) => !(err instanceof NodeError && err.retryable),
    });
    const now = this.now();
    const { tenantId, target } = key;
    const entry: Entry = {
      tenantId,
      target,
      breaker,
      lastUsedAt: now,
      inFlight: 0,
      lastChangeAt: now,
    };
    const changed = (state: BreakerState) => () => {
      entry.lastChangeAt = this.now();
      this.hooks.onStateChange?.({ tenantId, target }, state);
    };
    breaker.on('open', changed('open'));
    breaker.on('halfOpen', changed('half_open'));
    breaker.on('close', changed('closed'));
    return entry;
  }

  /** The key's entry, moved to the most recently used end (created when missing). */
  private use(key: BreakerKey, overrides: Partial<BreakerOptions>): Entry {
    this.evictIdle();
    const id = idOf(key);
    const existing = this.entries.get(id);
    const entry = existing ?? this.create(key, overrides);
    this.touch(id, entry);
    if (existing === undefined) {
      const tenants = this.byTarget.get(key.target) ?? new Set<Entry>();
      this.byTarget.set(key.target, tenants.add(entry));
      this.hooks.onCreate?.({ tenantId: key.tenantId, target: key.target });
    }
    let evicted = true;
    while (evicted && this.entries.size > this.eviction.maxBreakers) evicted = this.evictOldest(id);
    return entry;
  }

  /** Marks a use now and moves the entry to the recent end (unless it was evicted). */
  private touch(id: string, entry: Entry): void {
    const current = this.entries.get(id);
    if (current !== undefined && current !== entry) return;
    this.entries.delete(id);
    this.entries.set(id, entry);
    entry.lastUsedAt = this.now();
  }

  /** Drops breakers idle past the TTL: oldest first, so it stops at the first recent one. */
  private evictIdle(): void {
    const cutoff = this.now() - this.eviction.idleTtlMs;
    for (const [id, entry] of this.entries) {
      if (entry.lastUsedAt > cutoff) return;
      if (entry.inFlight === 0) this.evict(id, entry);
    }
  }

  /** Drops the least recently used breaker with no call in flight; false when none. */
  private evictOldest(keep: string): boolean {
    for (const [id, entry] of this.entries) {
      if (id !== keep && entry.inFlight === 0) {
        this.evict(id, entry);
        return true;
      }
    }
    return false;
  }

  private evict(id: string, entry: Entry): void {
    this.entries.delete(id);
    const tenants = this.byTarget.get(entry.target);
    tenants?.delete(entry);
    if (tenants?.size === 0) this.byTarget.delete(entry.target);
    entry.breaker.shutdown();
    this.hooks.onEvict?.({ tenantId: entry.tenantId, target: entry.target });
  }

  /**
   * Runs `action` through the tenant's breaker for the target, under the breaker timeout.
   * @throws NodeError CIRCUIT_OPEN when open, TIMEOUT (retryable, counted) past the breaker timeout.
   */
  async fire<T>(key: BreakerKey, action: () => Promise<T>, options: FireOptions = {}): Promise<T> {
    const overrides = options.overrides ?? {};
    const entry = this.use(key, overrides);
    const { breaker } = entry;
    const { target } = key;
    const timeoutMs = overrides.timeoutMs ?? this.options.timeoutMs;
    entry.inFlight += 1;
    try {
      return (await breaker.fire(() =>
        withTimeout(target, action, { timeoutMs, ...options }),
      )) as T;
    } catch (err) {
      // Opossum rejects with EOPENBREAKER both when open and when half-open with its one trial
      // call already in flight; either way the call never ran.
      if (isBreakerRejection(err) || (breaker.opened && !(err instanceof NodeError))) {
        const state = breaker.halfOpen ? 'half-open' : 'open';
        throw new NodeError('CIRCUIT_OPEN', `circuit breaker for ${target} is ${state}`, {
          retryable: false,
          cause: err,
        });
      }
      throw err;
    } finally {
      entry.inFlight -= 1;
      const id = idOf(key);
      if (this.entries.get(id) === entry) this.touch(id, entry);
    }
  }

  /**
   * The worst state over the target's breakers (every tenant's), or undefined when it has
   * none: the per-target metric, whose cardinality does not grow with tenants.
   */
  targetState(target: string): BreakerState | undefined {
    let worst: BreakerState | undefined;
    for (const entry of this.byTarget.get(target) ?? []) {
      const state = stateOf(entry.breaker);
      if (worst === undefined || STATE_RANK[state] > STATE_RANK[worst]) worst = state;
    }
    return worst;
  }

  /** Current state of every target: the worst over its tenants' breakers (as in metrics). */
  states(): Record<string, BreakerState> {
    const out: Record<string, BreakerState> = {};
    for (const { target, breaker } of this.entries.values()) {
      const state = stateOf(breaker);
      const seen = out[target];
      if (seen === undefined || STATE_RANK[state] > STATE_RANK[seen]) out[target] = state;
    }
    return out;
  }

  /** Every breaker (one per tenant and target) with its state, counted failures and last change. */
  snapshot(): BreakerSnapshot[] {
    return [...this.entries.values()].map(({ tenantId, target, breaker, lastChangeAt }) => ({
      tenantId,
      target,
      state: stateOf(breaker),
      failures: breaker.stats.failures,
      lastChangeAt,
    }));
  }

  shutdown(): void {
    for (const { breaker } of this.entries.values()) breaker.shutdown();
    this.entries.clear();
    this.byTarget.clear();
  }
}

/**
 * Runs `action`, and past `timeoutMs` rejects with a retryable TIMEOUT after handing it to
 * `abort` (which aborts the node's signal, closing its socket). Opossum's own timeout only
 * stops waiting: the request would run on, holding a socket to a target already failing.
 */
async function withTimeout<T>(
  target: string,
  action: () => Promise<T>,
  options: { timeoutMs: number; abort?: (reason: NodeError) => void },
): Promise<T> {
  const { timeoutMs, abort } = options;
  if (timeoutMs <= 0) return action();
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new NodeError(
        'TIMEOUT',
        `circuit breaker timeout of ${timeoutMs} ms for ${target} passed`,
        { retryable: true },
      );
      abort?.(err);
      reject(err);
    }, timeoutMs);
  });
  try {
    return await Promise.race([action(), expired]);
  } finally {
    clearTimeout(timer);
  }
}
