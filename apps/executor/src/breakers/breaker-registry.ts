import CircuitBreaker from 'opossum';
import { NodeError } from '@linkflow/nodes';

export type BreakerState = 'closed' | 'half_open' | 'open';

export interface BreakerOptions {
  /** Percentage of counted failures in the rolling window that opens the breaker. */
  readonly errorThresholdPercentage: number;
  /** Calls in the window before the breaker may open. */
  readonly volumeThreshold: number;
  readonly resetTimeoutMs: number;
  readonly rollingCountTimeoutMs: number;
}

export const DEFAULT_BREAKER_OPTIONS: BreakerOptions = {
  errorThresholdPercentage: 50,
  volumeThreshold: 5,
  resetTimeoutMs: 10_000,
  rollingCountTimeoutMs: 10_000,
};

type Action = () => Promise<unknown>;

/**
 * One opossum breaker per target (`host:port`, `db:<connection>`). Only retryable
 * failures count (a 404 says nothing about the target's health). An open breaker
 * fails the call at once with CIRCUIT_OPEN.
 */
export class BreakerRegistry {
  private readonly breakers = new Map<string, CircuitBreaker<[Action], unknown>>();

  constructor(
    private readonly options: BreakerOptions = DEFAULT_BREAKER_OPTIONS,
    private readonly onStateChange?: (target: string, state: BreakerState) => void,
  ) {}

  private breakerFor(target: string): CircuitBreaker<[Action], unknown> {
    const existing = this.breakers.get(target);
    if (existing) return existing;
    const breaker = new CircuitBreaker((action: Action) => action(), {
      timeout: false,
      errorThresholdPercentage: this.options.errorThresholdPercentage,
      volumeThreshold: this.options.volumeThreshold,
      resetTimeout: this.options.resetTimeoutMs,
      rollingCountTimeout: this.options.rollingCountTimeoutMs,
      errorFilter: (err: unknown) => !(err instanceof NodeError && err.retryable),
    });
    breaker.on('open', () => this.onStateChange?.(target, 'open'));
    breaker.on('halfOpen', () => this.onStateChange?.(target, 'half_open'));
    breaker.on('close', () => this.onStateChange?.(target, 'closed'));
    this.breakers.set(target, breaker);
    return breaker;
  }

  /** Runs `action` through the target's breaker. @throws NodeError CIRCUIT_OPEN when open. */
  async fire<T>(target: string, action: () => Promise<T>): Promise<T> {
    const breaker = this.breakerFor(target);
    try {
      return (await breaker.fire(action)) as T;
    } catch (err) {
      if (breaker.opened && !(err instanceof NodeError)) {
        throw new NodeError('CIRCUIT_OPEN', `circuit breaker for ${target} is open`, {
          retryable: false,
          cause: err,
        });
      }
      throw err;
    }
  }

  /** Current state of every breaker (for metrics and the admin view). */
  states(): Record<string, BreakerState> {
    const out: Record<string, BreakerState> = {};
    for (const [target, b] of this.breakers)
      out[target] = b.opened ? 'open' : b.halfOpen ? 'half_open' : 'closed';
    return out;
  }

  shutdown(): void {
    for (const b of this.breakers.values()) b.shutdown();
    this.breakers.clear();
  }
}
