import { promises as dns } from 'node:dns';
import type { LookupFunction } from 'node:net';
import { NodeError } from '../node-errors.ts';
import type { AddressPolicy } from './address-policy.ts';

/** One resolved address, as `dns.promises.lookup(host, { all: true })` returns it. */
export interface LookupAddress {
  readonly address: string;
  readonly family: number;
}

/** Resolves a host name to all its addresses. Injectable so tests need no DNS. */
export type HostLookup = (hostname: string) => Promise<readonly LookupAddress[]>;

/** The production lookup: the system resolver (getaddrinfo), every address, in its order. */
export const systemLookup: HostLookup = (hostname) =>
  dns.lookup(hostname, { all: true, verbatim: true });

/**
 * Resolves `hostname` and refuses it when any of its addresses is refused by `policy`
 * (one private A record among public ones is enough to refuse: that is the record a
 * rebinding attacker would add).
 * @throws NodeError SECURITY (not retryable) for a refused address, CONNECTIVITY (retryable)
 *   when resolution fails.
 */
export async function resolveChecked(
  hostname: string,
  lookup: HostLookup,
  policy: AddressPolicy,
): Promise<LookupAddress[]> {
  let addresses: readonly LookupAddress[];
  try {
    addresses = await lookup(hostname);
  } catch (cause) {
    const code =
      typeof cause === 'object' && cause !== null && 'code' in cause ? String(cause.code) : 'error';
    throw new NodeError('CONNECTIVITY', `DNS lookup of ${hostname} failed (${code})`, {
      retryable: true,
      cause,
    });
  }
  if (addresses.length === 0) {
    throw new NodeError('CONNECTIVITY', `DNS lookup of ${hostname} returned no address`, {
      retryable: true,
    });
  }
  for (const { address } of addresses) {
    assertAllowed(hostname, address, policy);
  }
  return addresses.map(({ address, family }) => ({ address, family }));
}

/**
 * @throws NodeError SECURITY when `policy` refuses `ip` for `host`.
 */
export function assertAllowed(host: string, ip: string, policy: AddressPolicy): void {
  const reason = policy.refusal(host, ip);
  if (reason !== undefined) {
    throw new NodeError(
      'SECURITY',
      `refusing to connect to ${host} (${ip}): ${reason} is not allowed`,
      { retryable: false },
    );
  }
}

/**
 * A `lookup` for `net.connect`/`tls.connect` (given to the undici Agent's `connect` options).
 * Every new socket resolves its host here and receives only addresses that passed the policy,
 * so the address checked is the address connected to: DNS rebinding between a check and
 * the connect cannot happen. (IP-literal hosts skip `lookup` in node:net; the node checks
 * those itself before sending.)
 */
export function createGuardedLookup(lookup: HostLookup, policy: AddressPolicy): LookupFunction {
  return (hostname, options, callback) => {
    resolveChecked(hostname, lookup, policy).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
        const usable = wanted === 0 ? addresses : addresses.filter((a) => a.family === wanted);
        const first = usable[0];
        if (first === undefined) {
          callback(
            new NodeError('CONNECTIVITY', `${hostname} has no IPv${wanted} address`, {
              retryable: true,
            }),
            '',
            0,
          );
        } else if (options.all === true) {
          callback(null, usable);
        } else {
          callback(null, first.address, first.family);
        }
      },
      (err: unknown) =>
        callback(err instanceof Error ? err : new NodeError('UNKNOWN', String(err)), '', 0),
    );
  };
}
