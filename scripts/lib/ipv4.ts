/**
 * The one IPv4 module (config validation, the components, verify, the labs). Pure functions.
 *
 * Parsing is strict: an address is exactly four decimal numbers 0-255 separated by dots,
 * with no leading zeros (some tools read 010 as octal 8) and no whitespace anywhere (a
 * trailing newline would otherwise end up inside cloud-init YAML and libvirt XML).
 * Callers that take text from users must not trim it first: refusing is the point.
 */

export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  network: number;
  prefix: number;
  /** Canonical text, e.g. 192.168.122.0/24. */
  text: string;
}

const OCTET = "(0|[1-9]\\d{0,2})";
const IPV4_RE = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

/** Parses dotted-decimal IPv4 text; undefined unless it is in canonical form. */
export function parseIPv4(text: string): number | undefined {
  if (typeof text !== "string") return undefined;
  const m = IPV4_RE.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0] << 24) >>> 0) + (parts[1] << 16) + (parts[2] << 8) + parts[3];
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * Parses "a.b.c.d/p" (same strictness as parseIPv4; p is 0-32 without leading zeros).
 * Returns undefined when malformed or when host bits are set.
 */
export function parseCidr(text: string): Cidr | undefined {
  if (typeof text !== "string") return undefined;
  const m = /^([^/]+)\/(0|[1-9]\d?)$/.exec(text);
  if (!m) return undefined;
  const ip = parseIPv4(m[1]);
  const prefix = Number(m[2]);
  if (ip === undefined || prefix > 32) return undefined;
  if ((ip & ~mask(prefix)) >>> 0 !== 0) return undefined;
  return { network: ip, prefix, text: `${formatIPv4(ip)}/${prefix}` };
}

/** The network an interface address belongs to, e.g. (172.17.0.1, 16) -> 172.17.0.0/16. */
export function networkOf(address: number, prefix: number): Cidr {
  const network = (address & mask(prefix)) >>> 0;
  return { network, prefix, text: `${formatIPv4(network)}/${prefix}` };
}

export function cidrContains(c: Cidr, ip: number): boolean {
  return ((ip & mask(c.prefix)) >>> 0) === c.network;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  const p = Math.min(a.prefix, b.prefix);
  return ((a.network & mask(p)) >>> 0) === ((b.network & mask(p)) >>> 0);
}

export function broadcastOf(c: Cidr): number {
  return (c.network | ~mask(c.prefix)) >>> 0;
}

/** The n-th address of a network (n = 1 is the conventional gateway). */
export function nthAddress(c: Cidr, n: number): string {
  return formatIPv4((c.network + n) >>> 0);
}

export function netmaskOf(c: Cidr): string {
  return formatIPv4(mask(c.prefix));
}

/**
 * The small DHCP range at the top of a lab network (offsets size-6 .. size-2, never below 2),
 * as infra/program.ts declares it; static host addresses must stay out of it.
 */
export function dhcpRangeOf(c: Cidr): { start: number; end: number } {
  const size = 2 ** (32 - c.prefix);
  return { start: (c.network + Math.max(2, size - 6)) >>> 0, end: (c.network + size - 2) >>> 0 };
}

// ------------------------------------------------------------------------------------------
// Reading addresses as tools print them (docker, iproute2, an inventory file): text in, text
// out. These are lenient where the functions above are strict: a CIDR may have host bits set
// ("192.168.200.7/24" names the address and its network) and surrounding whitespace is
// trimmed. They never validate user configuration; parseIPv4/parseCidr above do that.

/** A CIDR as written, host bits allowed: the address, its prefix, and its network and mask. */
export interface CidrText {
  address: string;
  prefix: number;
  /** Network address as a number. */
  network: number;
  mask: number;
}

/** Dotted-decimal IPv4 as tools print it (up to three digits per part, each 0-255). */
export function readIPv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

/** Is this text an IPv4 address as tools print it (see readIPv4)? */
export function isIPv4(text: string): boolean {
  return readIPv4(text) !== undefined;
}

/** "a.b.c.d/p" as tools print it (host bits allowed, whitespace around trimmed). */
export function readCidr(text: string): CidrText | undefined {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text.trim());
  if (!m) return undefined;
  const ip = readIPv4(m[1]!);
  const prefix = Number(m[2]);
  if (ip === undefined || prefix > 32) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { address: m[1]!, prefix, network: (ip & mask) >>> 0, mask };
}

/** True when `address` (plain IPv4, optionally with /len) lies inside the CIDR text `cidr`. */
export function inCidr(cidr: string, address: string): boolean {
  const c = readCidr(cidr);
  const ip = readIPv4(address.split("/")[0]!);
  if (!c || ip === undefined) return false;
  return ((ip & c.mask) >>> 0) === c.network;
}

/** The canonical network form of a CIDR text ("192.168.200.7/24" -> "192.168.200.0/24"). */
export function canonicalCidr(cidr: string): string | undefined {
  const c = readCidr(cidr);
  return c ? `${formatIPv4(c.network)}/${c.prefix}` : undefined;
}

/** The n-th address of a subnet given as text (n=1 is the usual gateway). */
export function nthAddressIn(cidr: string, n: number): string | undefined {
  const c = readCidr(cidr);
  return c ? formatIPv4((c.network + n) >>> 0) : undefined;
}

/** The prefix length of a CIDR text. */
export function prefixOf(cidr: string): number | undefined {
  return readCidr(cidr)?.prefix;
}
