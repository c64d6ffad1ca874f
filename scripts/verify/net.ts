/** Small IPv4 helpers (pure). */

export function parseIPv4(text: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

export interface Cidr {
  address: string;
  prefix: number;
  /** Network address as a number. */
  network: number;
  mask: number;
}

export function parseCidr(text: string): Cidr | undefined {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text.trim());
  if (!m) return undefined;
  const ip = parseIPv4(m[1]!);
  const prefix = Number(m[2]);
  if (ip === undefined || prefix > 32) return undefined;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { address: m[1]!, prefix, network: (ip & mask) >>> 0, mask };
}

export function isIPv4(text: string): boolean {
  return parseIPv4(text) !== undefined;
}

/** True when `address` (plain IPv4, optionally with /len) lies inside `cidr`. */
export function cidrContains(cidr: string, address: string): boolean {
  const c = parseCidr(cidr);
  const ip = parseIPv4(address.split("/")[0]!);
  if (!c || ip === undefined) return false;
  return ((ip & c.mask) >>> 0) === c.network;
}

/** The canonical network form of a CIDR ("192.168.200.7/24" -> "192.168.200.0/24"). */
export function canonicalCidr(cidr: string): string | undefined {
  const c = parseCidr(cidr);
  return c ? `${formatIPv4(c.network)}/${c.prefix}` : undefined;
}

/** The n-th address of a subnet (n=1 is the usual gateway). */
export function nthAddress(cidr: string, n: number): string | undefined {
  const c = parseCidr(cidr);
  return c ? formatIPv4((c.network + n) >>> 0) : undefined;
}

export function prefixOf(cidr: string): number | undefined {
  return parseCidr(cidr)?.prefix;
}
