import dns from 'node:dns/promises';
import net, { type LookupFunction } from 'node:net';

// Server-side request forgery guard for webhook URLs. A URL's host is resolved and every
// address checked; at send time the connection goes to exactly the addresses checked
// (the guarded lookup below), so a DNS answer that changes in between (rebinding) cannot
// reach an address we refused.

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Resolves a host name to its addresses; a dependency so tests can answer without DNS. */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: HostResolver = (hostname) => dns.lookup(hostname, { all: true, verbatim: true });

export interface TargetPolicy {
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS: loopback, private, unique-local and unspecified addresses become allowed. */
  allowPrivateNetworks: boolean;
  resolve: HostResolver;
}

export function targetPolicy(config: { allowPrivateNetworks: boolean }, resolve: HostResolver = systemResolver): TargetPolicy {
  return { allowPrivateNetworks: config.allowPrivateNetworks, resolve };
}

export class AddressRefusedError extends Error {
  readonly code = 'ERR_WEBHOOK_ADDRESS_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'AddressRefusedError';
  }
}

/** Names of cloud metadata services: refused by name, whatever they resolve to. */
const METADATA_HOSTNAMES = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

type Verdict = { kind: 'public' } | { kind: 'private' | 'forbidden'; what: string };

interface Range {
  prefix: number[];
  bits: number;
  verdict: Verdict;
}

const forbidden = (what: string): Verdict => ({ kind: 'forbidden', what });
const restricted = (what: string): Verdict => ({ kind: 'private', what });

/** Checked in order; the first match wins (so the metadata hosts inside private ranges are forbidden). */
const IPV4_RANGES: Range[] = [
  { prefix: [169, 254], bits: 16, verdict: forbidden('a link-local address (where cloud metadata services live)') },
  { prefix: [100, 100, 100, 200], bits: 32, verdict: forbidden('a cloud metadata address') },
  { prefix: [224], bits: 4, verdict: forbidden('a multicast address') },
  { prefix: [240], bits: 4, verdict: forbidden('a reserved or broadcast address') },
  { prefix: [0], bits: 8, verdict: restricted('an unspecified ("this network") address') },
  { prefix: [127], bits: 8, verdict: restricted('a loopback address') },
  { prefix: [10], bits: 8, verdict: restricted('a private network address') },
  { prefix: [172, 16], bits: 12, verdict: restricted('a private network address') },
  { prefix: [192, 168], bits: 16, verdict: restricted('a private network address') },
  { prefix: [100, 64], bits: 10, verdict: restricted('a shared (carrier-grade NAT) address') },
  { prefix: [192, 0, 0], bits: 24, verdict: restricted('an IETF protocol address') },
  { prefix: [198, 18], bits: 15, verdict: restricted('a benchmarking network address') },
];

const IPV6_RANGES: Range[] = [
  { prefix: [0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54], bits: 128, verdict: forbidden('a cloud metadata address') },
  { prefix: [0xfe, 0x80], bits: 10, verdict: forbidden('a link-local address') },
  { prefix: [0xff], bits: 8, verdict: forbidden('a multicast address') },
  { prefix: [0xfe, 0xc0], bits: 10, verdict: restricted('a site-local address') },
  { prefix: [0xfc], bits: 7, verdict: restricted('a unique-local (private) address') },
  { prefix: [0, 0x64, 0xff, 0x9b, 0, 1], bits: 48, verdict: restricted('a local-use NAT64 address') },
];

function matches(bytes: number[], range: Range): boolean {
  for (let bit = 0; bit < range.bits; bit += 8) {
    const remaining = Math.min(8, range.bits - bit);
    const mask = (0xff << (8 - remaining)) & 0xff;
    if (((bytes[bit / 8] ?? 0) & mask) !== ((range.prefix[bit / 8] ?? 0) & mask)) return false;
  }
  return true;
}

function classifyIpv4(bytes: number[]): Verdict {
  return IPV4_RANGES.find((range) => matches(bytes, range))?.verdict ?? { kind: 'public' };
}

/** The 16 bytes of an IPv6 address (zone id dropped; a trailing dotted quad allowed). */
function ipv6Bytes(address: string): number[] {
  let text = address.split('%')[0] as string;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = (dotted[1] as string).split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::') as [string, string | undefined];
  const groups = (part: string) => (part ? part.split(':').map((group) => parseInt(group, 16)) : []);
  const front = groups(head);
  const back = tail === undefined ? [] : groups(tail);
  const all = [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
  return all.flatMap((group) => [group >> 8, group & 0xff]);
}

function isZero(bytes: number[], from: number, to: number): boolean {
  return bytes.slice(from, to).every((byte) => byte === 0);
}

function classifyIpv6(bytes: number[]): Verdict {
  if (isZero(bytes, 0, 16)) return restricted('the unspecified address');
  if (isZero(bytes, 0, 15) && bytes[15] === 1) return restricted('a loopback address');
  // IPv6 forms that carry an IPv4 address: judged by the IPv4 address they reach.
  const mapped = isZero(bytes, 0, 10) && bytes[10] === 0xff && bytes[11] === 0xff;
  const compatible = isZero(bytes, 0, 12);
  const nat64 = matches(bytes, { prefix: [0, 0x64, 0xff, 0x9b], bits: 96, verdict: { kind: 'public' } });
  if (mapped || compatible || nat64) return classifyIpv4(bytes.slice(12, 16));
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return classifyIpv4(bytes.slice(2, 6)); // 6to4
  return IPV6_RANGES.find((range) => matches(bytes, range))?.verdict ?? { kind: 'public' };
}

function classify(address: string): Verdict {
  if (net.isIPv4(address)) return classifyIpv4(address.split('.').map(Number));
  if (net.isIPv6(address.split('%')[0] as string)) return classifyIpv6(ipv6Bytes(address));
  return forbidden('not an IP address');
}

/** Why connecting to `address` (reached through `host`) is refused, or null when allowed. */
export function refusalOf(address: string, host: string, allowPrivateNetworks: boolean): string | null {
  const verdict = classify(address);
  if (verdict.kind === 'public') return null;
  const subject = host === address ? `${address} is` : `${host} resolves to ${address},`;
  if (verdict.kind === 'forbidden') return `${subject} ${verdict.what}; such addresses are always refused`;
  if (allowPrivateNetworks) return null;
  return `${subject} ${verdict.what}; loopback and private networks are refused unless WEBHOOK_ALLOW_PRIVATE_NETWORKS=true`;
}

/** The URL's host as it is resolved: lower case, no IPv6 brackets, no trailing dot. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
}

function refusalOfName(host: string): string | null {
  return METADATA_HOSTNAMES.has(host) ? `${host} is a cloud metadata service; it is always refused` : null;
}

function refusalOfAddresses(host: string, addresses: ResolvedAddress[], allowPrivateNetworks: boolean): string | null {
  for (const { address } of addresses) {
    const refusal = refusalOf(address, host, allowPrivateNetworks);
    if (refusal) return refusal;
  }
  return null;
}

const RESOLVE_TIMEOUT_MS = 5_000;

/**
 * Why the URL's host may not receive webhooks, or null. A host that does not resolve
 * (yet) is accepted here: the check at send time refuses it if it then resolves badly.
 */
export async function refusalOfUrl(url: URL, policy: TargetPolicy): Promise<string | null> {
  const host = hostOf(url);
  const byName = refusalOfName(host);
  if (byName) return byName;
  if (net.isIP(host)) return refusalOf(host, host, policy.allowPrivateNetworks);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<null>((resolve) => {
    timer = setTimeout(() => resolve(null), RESOLVE_TIMEOUT_MS);
  });
  try {
    const addresses = await Promise.race([policy.resolve(host), timeout]);
    return addresses ? refusalOfAddresses(host, addresses, policy.allowPrivateNetworks) : null;
  } catch {
    return null;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Send-time check of a URL whose host is an IP literal (sockets connect to those
 * without a lookup) or a metadata name; other hosts are checked by the guarded lookup.
 */
export function refusalBeforeConnect(url: URL, allowPrivateNetworks: boolean): string | null {
  const host = hostOf(url);
  return refusalOfName(host) ?? (net.isIP(host) ? refusalOf(host, host, allowPrivateNetworks) : null);
}

/**
 * A `lookup` for sockets: resolves, refuses if any address is refused, and hands the
 * socket exactly the addresses it checked, so the connection is pinned to them.
 */
export function guardedLookup(policy: TargetPolicy): LookupFunction {
  return (hostname, options, callback) => {
    const host = hostname.replace(/\.$/, '').toLowerCase();
    const refuse = (message: string) => callback(new AddressRefusedError(message), '', 0);
    const byName = refusalOfName(host);
    if (byName) return refuse(byName);
    policy.resolve(host).then(
      (resolved) => {
        const addresses = options.family ? resolved.filter((entry) => entry.family === options.family) : resolved;
        const first = addresses[0];
        if (!first) return callback(Object.assign(new Error(`${host} has no usable address`), { code: 'ENOTFOUND' }), '', 0);
        const refusal = refusalOfAddresses(host, addresses, policy.allowPrivateNetworks);
        if (refusal) return refuse(refusal);
        if (options.all) return (callback as unknown as (error: null, all: ResolvedAddress[]) => void)(null, addresses);
        return callback(null, first.address, first.family);
      },
      (error: NodeJS.ErrnoException) => callback(error, '', 0),
    );
  };
}
