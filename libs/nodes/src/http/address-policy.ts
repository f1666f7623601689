import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { AppError } from '@linkflow/domain';

type Ip = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * Cloud metadata endpoints. They are admitted only by an exact host name or exact IP entry
 * in the allowlist, never by a CIDR (so `169.254.0.0/16` does not open them by accident).
 */
const METADATA_IPS: readonly string[] = ['169.254.169.254', 'fd00:ec2::254'];

/** Readable names for the ipaddr.js ranges we refuse. */
const RANGE_LABELS: Readonly<Record<string, string>> = {
  loopback: 'loopback',
  private: 'private',
  linkLocal: 'link-local',
  uniqueLocal: 'unique-local',
  carrierGradeNat: 'carrier-grade NAT',
  unspecified: 'unspecified',
  multicast: 'multicast',
  broadcast: 'broadcast',
};

/**
 * Which addresses the http node may connect to. Deny by default: only global unicast
 * addresses pass, which covers loopback, RFC 1918, link-local, unique-local, CGNAT,
 * unspecified, multicast, broadcast and the reserved/documentation ranges. IPv4-mapped
 * IPv6 addresses and NAT64 (`64:ff9b::/96`) addresses are judged by the IPv4 inside.
 * The allowlist (LINKFLOW_HTTP_ALLOW) admits refused addresses by host name (exact,
 * case-insensitive), IP, or CIDR.
 */
export interface AddressPolicy {
  /** Why connecting to `ip` for `host` is refused, or undefined when it is allowed. */
  refusal(host: string, ip: string): string | undefined;
}

/** Parsed LINKFLOW_HTTP_ALLOW entries. */
interface AllowList {
  readonly hosts: ReadonlySet<string>;
  readonly ips: readonly Ip[];
  readonly cidrs: readonly [Ip, number][];
}

/**
 * Builds the policy from allowlist entries (host names, IPs, CIDRs).
 * @throws AppError `INVALID_HTTP_ALLOW` when an entry is none of those.
 */
export function createAddressPolicy(allow: readonly string[]): AddressPolicy {
  const list = parseAllowList(allow);
  return {
    refusal(host, ip) {
      const addr = normalizeIp(ip);
      if (addr === undefined) return `${ip} is not an IP address`;
      const reason = blockedReason(addr);
      if (reason === undefined || isAllowed(list, normalizeHost(host), addr)) return undefined;
      return reason;
    },
  };
}

function parseAllowList(entries: readonly string[]): AllowList {
  const hosts = new Set<string>();
  const ips: Ip[] = [];
  const cidrs: [Ip, number][] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry === '') continue;
    if (entry.includes('/')) cidrs.push(parseCidr(entry));
    else if (isIP(stripBrackets(entry)) !== 0)
      ips.push(normalizeIp(stripBrackets(entry)) ?? invalidEntry(entry));
    else if (/^[a-z0-9_.-]+$/i.test(entry)) hosts.add(normalizeHost(entry));
    else invalidEntry(entry);
  }
  return { hosts, ips, cidrs };
}

function parseCidr(entry: string): [Ip, number] {
  const slash = entry.indexOf('/');
  const base = normalizeIp(entry.slice(0, slash));
  const bits = Number(entry.slice(slash + 1));
  if (base === undefined || !ipaddr.isValidCIDR(entry)) return invalidEntry(entry);
  // `::ffff:10.0.0.0/104` is kept as the IPv4 network it describes.
  const ipv4Bits = base.kind() === 'ipv4' && isIP(entry.slice(0, slash)) === 6 ? bits - 96 : bits;
  if (ipv4Bits < 0) return invalidEntry(entry);
  return [base, ipv4Bits];
}

function invalidEntry(entry: string): never {
  throw new AppError(
    'INVALID_HTTP_ALLOW',
    `LINKFLOW_HTTP_ALLOW entry "${entry}" is not a host name, IP or CIDR`,
    {
      kind: 'internal',
    },
  );
}

function stripBrackets(text: string): string {
  return text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
}

function normalizeHost(host: string): string {
  return stripBrackets(host).toLowerCase().replace(/\.$/, '');
}

/** Parses an IP (strictly, as node:net does) and unwraps IPv4-mapped IPv6. */
function normalizeIp(text: string): Ip | undefined {
  const bare = stripBrackets(text).replace(/%.*$/, '');
  if (isIP(bare) === 0) return undefined;
  const addr = ipaddr.parse(bare);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress())
    return (addr as ipaddr.IPv6).toIPv4Address();
  return addr;
}

function blockedReason(addr: Ip): string | undefined {
  if (isMetadata(addr)) return 'a cloud metadata address';
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).range() === 'rfc6052') {
    const parts = (addr as ipaddr.IPv6).toByteArray().slice(12);
    return blockedReason(ipaddr.fromByteArray(parts));
  }
  const range = addr.range();
  if (range === 'unicast') return undefined;
  return `a ${RANGE_LABELS[range] ?? `${range} (non-public)`} address`;
}

function isMetadata(addr: Ip): boolean {
  const text = addr.toNormalizedString();
  return METADATA_IPS.some((ip) => ipaddr.parse(ip).toNormalizedString() === text);
}

function isAllowed(list: AllowList, host: string, addr: Ip): boolean {
  if (list.hosts.has(host)) return true;
  const text = addr.toNormalizedString();
  if (list.ips.some((ip) => ip.kind() === addr.kind() && ip.toNormalizedString() === text))
    return true;
  if (isMetadata(addr)) return false;
  return list.cidrs.some(([base, bits]) => base.kind() === addr.kind() && addr.match(base, bits));
}
