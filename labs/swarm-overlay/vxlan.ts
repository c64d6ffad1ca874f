/**
 * Decode captured packets: a classic pcap file (what `tcpdump -w` writes) ->
 * per packet, the outer IPv4/IPv6 addresses, the UDP ports and, for UDP
 * destination port 4789, the VXLAN header (RFC 7348) read from the bytes:
 * flags, I bit, 24-bit VNI, then the inner Ethernet frame (MACs, IPv4
 * addresses, ICMP echo request/reply, ARP).
 *
 * Nothing is taken from a label: the link type comes from the file header,
 * every layer is decoded from its own header, and a packet is called VXLAN
 * because its UDP destination port is a VXLAN port and its 8-byte header
 * parses, not because a tool said so.
 *
 * Pure: bytes in, objects out. A file that is not a classic pcap, or that is
 * cut short, throws a PcapError saying what was wrong and at which offset.
 * A single malformed packet inside a good file does not throw: its `error`
 * says where decoding stopped.
 */
import { DOCUMENTED } from "./facts";

/** VXLAN's UDP port (IANA, RFC 7348), as the lab's facts document it (PORT-1, VXLAN-1). */
export const VXLAN_PORT = DOCUMENTED.vxlan.dstport;

/** Link types we decode (the numbers of https://www.tcpdump.org/linktypes.html). */
export const LINKTYPE = {
  EN10MB: 1,
  RAW_LINUX: 12,
  RAW_OPENBSD: 14,
  RAW: 101,
  LINUX_SLL: 113,
  LINUX_SLL2: 276,
} as const;

const LINKTYPE_NAMES: Record<number, string> = {
  1: "EN10MB",
  12: "RAW",
  14: "RAW",
  101: "RAW",
  113: "LINUX_SLL",
  276: "LINUX_SLL2",
};

export class PcapError extends Error {
  override readonly name = "PcapError";
  /** Byte offset in the file where the problem is (0 for the file as a whole). */
  readonly offset: number;
  /** 0-based index of the packet record concerned, when there is one. */
  readonly packetIndex?: number;
  constructor(message: string, offset = 0, packetIndex?: number) {
    super(message);
    this.offset = offset;
    if (packetIndex !== undefined) this.packetIndex = packetIndex;
  }
}

export interface PcapHeader {
  byteOrder: "little-endian" | "big-endian";
  /** Timestamps in nanoseconds (magic a1b23c4d) rather than microseconds. */
  nanosecond: boolean;
  versionMajor: number;
  versionMinor: number;
  snaplen: number;
  linkType: number;
  linkTypeName: string;
}

export interface ArpInfo {
  /** 1 request, 2 reply. */
  op: number;
  opName: "request" | "reply" | "other";
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

export interface IcmpInfo {
  type: number;
  code: number;
  kind: "echo-request" | "echo-reply" | "other";
  /** Identifier and sequence number for echo messages. */
  id?: number;
  seq?: number;
}

export interface InnerFrame {
  dstMac: string;
  srcMac: string;
  /** EtherType after any 802.1Q tags. */
  etherType: number;
  vlan?: number[];
  ipv4?: { src: string; dst: string; protocol: number; ttl: number };
  icmp?: IcmpInfo;
  arp?: ArpInfo;
  /** Why decoding of the inner frame stopped early, if it did. */
  error?: string;
}

export interface VxlanHeader {
  /** The whole flags octet (0x08 when only the I bit is set). */
  flags: number;
  /** The I bit: the VNI field is valid. RFC 7348 requires it set. */
  iFlag: boolean;
  /** 24-bit VXLAN network identifier. */
  vni: number;
  /** The 24 reserved bits after the flags and the 8 after the VNI (should be 0). */
  reserved1: number;
  reserved2: number;
}

export interface VxlanPacket extends VxlanHeader {
  inner?: InnerFrame;
}

export interface DecodedPacket {
  /** 0-based position in the file. */
  index: number;
  /** Capture time, seconds since the epoch (fractional). */
  time: number;
  capturedLength: number;
  originalLength: number;
  /** Fewer bytes were captured than were on the wire (snaplen). */
  truncated: boolean;
  /** EtherType of the outer frame (0x0800 IPv4, 0x86dd IPv6, 0x0806 ARP...). */
  etherType?: number;
  /** Outer (underlay) network header. */
  outer?: { version: 4 | 6; src: string; dst: string; protocol: number; ttl: number; fragment: boolean };
  udp?: { srcPort: number; dstPort: number; length: number };
  vxlan?: VxlanPacket;
  /** Why decoding stopped before the VXLAN payload, for a packet that should have had one. */
  error?: string;
}

export interface PcapCapture {
  header: PcapHeader;
  packets: DecodedPacket[];
  /** Set when `tolerateTruncatedTail` let a cut-off last record through. */
  truncatedTail?: string;
}

export interface ParsePcapOptions {
  /** UDP destination ports decoded as VXLAN (default [4789]). */
  vxlanPorts?: readonly number[];
  /**
   * Accept a file whose last record is cut off (as when a capture is killed
   * mid-write) and report it in `truncatedTail` instead of throwing.
   */
  tolerateTruncatedTail?: boolean;
}

// ------------------------------------------------------------- formatting ----

export function formatMac(b: Uint8Array, off: number): string {
  const parts: string[] = [];
  for (let i = 0; i < 6; i++) parts.push(b[off + i]!.toString(16).padStart(2, "0"));
  return parts.join(":");
}

export function formatIPv4Bytes(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** RFC 5952 text form of a 16-byte IPv6 address. */
export function formatIPv6Bytes(b: Uint8Array, off: number): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push((b[off + 2 * i]! << 8) | b[off + 2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = words.map((w) => w.toString(16));
  if (bestStart < 0) return hex.join(":");
  return `${hex.slice(0, bestStart).join(":")}::${hex.slice(bestStart + bestLen).join(":")}`;
}

function hex(n: number, width: number): string {
  return `0x${n.toString(16).padStart(width, "0")}`;
}

const be16 = (b: Uint8Array, o: number): number => (b[o]! << 8) | b[o + 1]!;
const be24 = (b: Uint8Array, o: number): number => (b[o]! << 16) | (b[o + 1]! << 8) | b[o + 2]!;

// ----------------------------------------------------------------- layers ----

/** Decode the 8-byte VXLAN header at `off`. Throws PcapError if fewer than 8 bytes remain. */
export function decodeVxlanHeader(b: Uint8Array, off = 0): VxlanHeader {
  if (b.length - off < 8) {
    throw new PcapError(`VXLAN header needs 8 bytes, only ${Math.max(0, b.length - off)} captured`, off);
  }
  const flags = b[off]!;
  return {
    flags,
    iFlag: (flags & 0x08) !== 0,
    vni: be24(b, off + 4),
    reserved1: be24(b, off + 1),
    reserved2: b[off + 7]!,
  };
}

function decodeArp(b: Uint8Array, off: number, end: number): ArpInfo | string {
  if (end - off < 28) return `ARP needs 28 bytes, ${end - off} captured`;
  const htype = be16(b, off);
  const ptype = be16(b, off + 2);
  if (htype !== 1 || ptype !== 0x0800 || b[off + 4] !== 6 || b[off + 5] !== 4) {
    return `ARP for hardware ${htype} / protocol ${hex(ptype, 4)} is not Ethernet/IPv4`;
  }
  const op = be16(b, off + 6);
  return {
    op,
    opName: op === 1 ? "request" : op === 2 ? "reply" : "other",
    senderMac: formatMac(b, off + 8),
    senderIp: formatIPv4Bytes(b, off + 14),
    targetMac: formatMac(b, off + 18),
    targetIp: formatIPv4Bytes(b, off + 24),
  };
}

function decodeIcmp(b: Uint8Array, off: number, end: number): IcmpInfo | string {
  if (end - off < 4) return `ICMP header needs 4 bytes, ${end - off} captured`;
  const type = b[off]!;
  const code = b[off + 1]!;
  const kind = type === 8 ? "echo-request" : type === 0 ? "echo-reply" : "other";
  const info: IcmpInfo = { type, code, kind };
  if (kind !== "other" && end - off >= 8) {
    info.id = be16(b, off + 4);
    info.seq = be16(b, off + 6);
  }
  return info;
}

/** Decode an Ethernet frame carried inside VXLAN, from `off` to `end`. */
export function decodeInnerEthernet(b: Uint8Array, off: number, end: number): InnerFrame | string {
  if (end - off < 14) return `inner Ethernet header needs 14 bytes, ${end - off} captured`;
  const frame: InnerFrame = { dstMac: formatMac(b, off), srcMac: formatMac(b, off + 6), etherType: be16(b, off + 12) };
  let p = off + 14;
  while (frame.etherType === 0x8100 || frame.etherType === 0x88a8) {
    if (end - p < 4) {
      frame.error = "802.1Q tag cut off";
      return frame;
    }
    (frame.vlan ??= []).push(be16(b, p) & 0x0fff);
    frame.etherType = be16(b, p + 2);
    p += 4;
  }
  if (frame.etherType === 0x0806) {
    const arp = decodeArp(b, p, end);
    if (typeof arp === "string") frame.error = arp;
    else frame.arp = arp;
  } else if (frame.etherType === 0x0800) {
    const ip = decodeIPv4Header(b, p, end);
    if (typeof ip === "string") {
      frame.error = `inner ${ip}`;
      return frame;
    }
    frame.ipv4 = { src: ip.src, dst: ip.dst, protocol: ip.protocol, ttl: ip.ttl };
    if (ip.protocol === 1 && !ip.fragment) {
      const icmp = decodeIcmp(b, p + ip.headerLength, Math.min(end, p + ip.totalLength));
      if (typeof icmp === "string") frame.error = icmp;
      else frame.icmp = icmp;
    }
  }
  return frame;
}

interface IPv4Header {
  src: string;
  dst: string;
  protocol: number;
  ttl: number;
  headerLength: number;
  totalLength: number;
  fragment: boolean;
  /** Fragment offset is 0 (this fragment carries the transport header). */
  firstFragment: boolean;
}

function decodeIPv4Header(b: Uint8Array, off: number, end: number): IPv4Header | string {
  if (end - off < 20) return `IPv4 header needs 20 bytes, ${end - off} captured`;
  const version = b[off]! >> 4;
  const ihl = (b[off]! & 0x0f) * 4;
  if (version !== 4) return `IPv4 header has version ${version}`;
  if (ihl < 20) return `IPv4 header length ${ihl} is below the minimum 20`;
  if (end - off < ihl) return `IPv4 header of ${ihl} bytes, ${end - off} captured`;
  const totalLength = be16(b, off + 2);
  if (totalLength < ihl) return `IPv4 total length ${totalLength} is shorter than its header (${ihl})`;
  const fragField = be16(b, off + 6);
  const moreFragments = (fragField & 0x2000) !== 0;
  const fragOffset = fragField & 0x1fff;
  return {
    src: formatIPv4Bytes(b, off + 12),
    dst: formatIPv4Bytes(b, off + 16),
    protocol: b[off + 9]!,
    ttl: b[off + 8]!,
    headerLength: ihl,
    totalLength,
    fragment: moreFragments || fragOffset !== 0,
    firstFragment: fragOffset === 0,
  };
}

/** Decode from the network header on: IPv4/IPv6 -> UDP -> VXLAN -> inner frame. */
function decodeNetwork(pkt: DecodedPacket, b: Uint8Array, off: number, end: number, vxlanPorts: readonly number[]): void {
  let l4: number;
  let l4End: number;
  const version = end - off >= 1 ? b[off]! >> 4 : 0;
  if (pkt.etherType === 0x0800 || (pkt.etherType === undefined && version === 4)) {
    const ip = decodeIPv4Header(b, off, end);
    if (typeof ip === "string") {
      pkt.error = ip;
      return;
    }
    pkt.outer = { version: 4, src: ip.src, dst: ip.dst, protocol: ip.protocol, ttl: ip.ttl, fragment: ip.fragment };
    if (!ip.firstFragment) return; // a later fragment carries no UDP header
    l4 = off + ip.headerLength;
    l4End = Math.min(end, off + ip.totalLength);
  } else if (pkt.etherType === 0x86dd || (pkt.etherType === undefined && version === 6)) {
    if (end - off < 40) {
      pkt.error = `IPv6 header needs 40 bytes, ${end - off} captured`;
      return;
    }
    if (version !== 6) {
      pkt.error = `IPv6 header has version ${version}`;
      return;
    }
    const nextHeader = b[off + 6]!;
    pkt.outer = { version: 6, src: formatIPv6Bytes(b, off + 8), dst: formatIPv6Bytes(b, off + 24), protocol: nextHeader, ttl: b[off + 7]!, fragment: nextHeader === 44 };
    l4 = off + 40;
    l4End = Math.min(end, l4 + be16(b, off + 4));
  } else {
    return; // ARP or another protocol on the underlay: nothing more to decode
  }
  if (pkt.outer.protocol !== 17) return;
  if (l4End - l4 < 8) {
    pkt.error = `UDP header needs 8 bytes, ${Math.max(0, l4End - l4)} captured`;
    return;
  }
  pkt.udp = { srcPort: be16(b, l4), dstPort: be16(b, l4 + 2), length: be16(b, l4 + 4) };
  if (!vxlanPorts.includes(pkt.udp.dstPort)) return;
  const v = l4 + 8;
  if (l4End - v < 8) {
    pkt.error = `UDP to port ${pkt.udp.dstPort} should carry an 8-byte VXLAN header, ${Math.max(0, l4End - v)} bytes captured${pkt.truncated ? " (packet cut by the capture's snaplen)" : ""}`;
    return;
  }
  const header = decodeVxlanHeader(b.subarray(0, l4End), v);
  const vx: VxlanPacket = { ...header };
  const inner = decodeInnerEthernet(b, v + 8, l4End);
  if (typeof inner === "string") pkt.error = inner;
  else vx.inner = inner;
  pkt.vxlan = vx;
}

/** Decode one link-layer frame of the given link type. */
export function decodeFrame(
  linkType: number,
  b: Uint8Array,
  meta: { index: number; time: number; originalLength: number },
  vxlanPorts: readonly number[] = [VXLAN_PORT],
): DecodedPacket {
  const pkt: DecodedPacket = {
    index: meta.index,
    time: meta.time,
    capturedLength: b.length,
    originalLength: meta.originalLength,
    truncated: b.length < meta.originalLength,
  };
  const end = b.length;
  let off: number;
  switch (linkType) {
    case LINKTYPE.EN10MB: {
      if (end < 14) {
        pkt.error = `Ethernet header needs 14 bytes, ${end} captured`;
        return pkt;
      }
      let et = be16(b, 12);
      off = 14;
      while ((et === 0x8100 || et === 0x88a8) && end - off >= 4) {
        et = be16(b, off + 2);
        off += 4;
      }
      pkt.etherType = et;
      break;
    }
    case LINKTYPE.LINUX_SLL: {
      if (end < 16) {
        pkt.error = `Linux cooked (SLL) header needs 16 bytes, ${end} captured`;
        return pkt;
      }
      pkt.etherType = be16(b, 14);
      off = 16;
      break;
    }
    case LINKTYPE.LINUX_SLL2: {
      if (end < 20) {
        pkt.error = `Linux cooked v2 (SLL2) header needs 20 bytes, ${end} captured`;
        return pkt;
      }
      pkt.etherType = be16(b, 0);
      off = 20;
      break;
    }
    case LINKTYPE.RAW:
    case LINKTYPE.RAW_LINUX:
    case LINKTYPE.RAW_OPENBSD:
      off = 0;
      break;
    default:
      pkt.error = `link type ${linkType} is not decoded`;
      return pkt;
  }
  decodeNetwork(pkt, b, off, end, vxlanPorts);
  return pkt;
}

// ------------------------------------------------------------------- file ----

const MAX_RECORD = 0x40000; // 256 KiB: larger than any snaplen tcpdump uses

/** Read the 24-byte global header of a classic pcap file. */
export function parsePcapHeader(bytes: Uint8Array): PcapHeader {
  if (bytes.length === 0) throw new PcapError("empty input: a classic pcap file starts with a 24-byte header (was the capture empty or not written?)");
  if (bytes.length < 24) {
    throw new PcapError(`input is ${bytes.length} bytes: too short for the 24-byte classic pcap header (truncated file?)`);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicBE = dv.getUint32(0, false);
  let little: boolean;
  let nanosecond: boolean;
  switch (magicBE) {
    case 0xa1b2c3d4:
      little = false;
      nanosecond = false;
      break;
    case 0xd4c3b2a1:
      little = true;
      nanosecond = false;
      break;
    case 0xa1b23c4d:
      little = false;
      nanosecond = true;
      break;
    case 0x4d3cb2a1:
      little = true;
      nanosecond = true;
      break;
    case 0x0a0d0d0a:
      throw new PcapError("this is a pcapng file; only classic pcap is decoded (capture with `tcpdump -w`, which writes classic pcap, or convert with `editcap -F pcap`)");
    default: {
      const head = Array.from(bytes.subarray(0, 8), (x) => x.toString(16).padStart(2, "0")).join(" ");
      const text = /^[\x20-\x7e\t\r\n]{8}/.test(Buffer.from(bytes.subarray(0, 8)).toString("latin1")) ? " (looks like text: an error message or base64 that was not decoded?)" : "";
      throw new PcapError(`not a classic pcap file: magic number ${hex(magicBE, 8)} (first bytes ${head})${text}; expected a1b2c3d4 or a1b23c4d in either byte order`);
    }
  }
  const linkType = dv.getUint32(20, little) & 0x0fffffff; // the top 4 bits may carry FCS info
  return {
    byteOrder: little ? "little-endian" : "big-endian",
    nanosecond,
    versionMajor: dv.getUint16(4, little),
    versionMinor: dv.getUint16(6, little),
    snaplen: dv.getUint32(16, little),
    linkType,
    linkTypeName: LINKTYPE_NAMES[linkType] ?? `linktype ${linkType}`,
  };
}

/** Decode a classic pcap file (bytes as written by `tcpdump -w`). */
export function parsePcap(bytes: Uint8Array, opts: ParsePcapOptions = {}): PcapCapture {
  const header = parsePcapHeader(bytes);
  if (!(header.linkType in LINKTYPE_NAMES)) {
    throw new PcapError(`link type ${header.linkType} is not supported (decoded: EN10MB, LINUX_SLL, LINUX_SLL2, RAW)`, 20);
  }
  if (header.versionMajor !== 2) {
    throw new PcapError(`pcap version ${header.versionMajor}.${header.versionMinor} is not 2.x (garbage after a valid magic number?)`, 4);
  }
  const little = header.byteOrder === "little-endian";
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ports = opts.vxlanPorts ?? [VXLAN_PORT];
  const packets: DecodedPacket[] = [];
  const capture: PcapCapture = { header, packets };
  let off = 24;
  while (off < bytes.length) {
    const index = packets.length;
    const cut = (msg: string): boolean => {
      if (!opts.tolerateTruncatedTail) throw new PcapError(`${msg} (file truncated?)`, off, index);
      capture.truncatedTail = msg;
      return true;
    };
    if (bytes.length - off < 16) {
      if (cut(`packet ${index + 1}: record header at offset ${off} needs 16 bytes, only ${bytes.length - off} left`)) break;
    }
    const sec = dv.getUint32(off, little);
    const frac = dv.getUint32(off + 4, little);
    const inclLen = dv.getUint32(off + 8, little);
    const origLen = dv.getUint32(off + 12, little);
    if (inclLen > MAX_RECORD || (header.snaplen > 0 && inclLen > Math.max(header.snaplen, 65535))) {
      throw new PcapError(`packet ${index + 1}: record at offset ${off} claims ${inclLen} captured bytes (snaplen ${header.snaplen}): not a pcap record, the file is corrupt`, off, index);
    }
    if (inclLen > origLen) {
      throw new PcapError(`packet ${index + 1}: record at offset ${off} has captured length ${inclLen} > original length ${origLen}: the file is corrupt`, off, index);
    }
    if (bytes.length - off - 16 < inclLen) {
      if (cut(`packet ${index + 1}: record at offset ${off} needs ${inclLen} bytes of data, only ${bytes.length - off - 16} left`)) break;
    }
    const data = bytes.subarray(off + 16, off + 16 + inclLen);
    const time = sec + frac / (header.nanosecond ? 1e9 : 1e6);
    packets.push(decodeFrame(header.linkType, data, { index, time, originalLength: origLen }, ports));
    off += 16 + inclLen;
  }
  return capture;
}

/** Decode base64 text (as a capture survives text transport) and parse it. */
export function parsePcapBase64(text: string, opts: ParsePcapOptions = {}): PcapCapture {
  const clean = text.replace(/\s+/g, "");
  if (clean === "") throw new PcapError("empty input: no base64 capture data");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean)) {
    const bad = /[^A-Za-z0-9+/=]/.exec(clean);
    throw new PcapError(`capture is not base64${bad ? `: character ${JSON.stringify(bad[0])} at position ${bad.index}` : ""}`);
  }
  return parsePcap(new Uint8Array(Buffer.from(clean, "base64")), opts);
}

// --------------------------------------------------------------- summaries ----

/** One line per packet, for reports and debugging (like a terse `tcpdump -n`). */
export function describePacket(p: DecodedPacket): string {
  const parts: string[] = [`#${p.index + 1}`];
  if (p.outer) parts.push(`${p.outer.src}${p.udp ? `:${p.udp.srcPort}` : ""} > ${p.outer.dst}${p.udp ? `:${p.udp.dstPort}` : ""}`);
  else if (p.etherType !== undefined) parts.push(`ethertype ${hex(p.etherType, 4)}`);
  if (p.vxlan) {
    parts.push(`VXLAN flags ${hex(p.vxlan.flags, 2)}${p.vxlan.iFlag ? " [I]" : " [no I bit]"} vni ${p.vxlan.vni}`);
    const inner = p.vxlan.inner;
    if (inner) {
      if (inner.ipv4) {
        const what = inner.icmp ? `ICMP ${inner.icmp.kind}${inner.icmp.seq !== undefined ? ` seq ${inner.icmp.seq}` : ""}` : `proto ${inner.ipv4.protocol}`;
        parts.push(`inner ${inner.srcMac} > ${inner.dstMac}, ${inner.ipv4.src} > ${inner.ipv4.dst} ${what}`);
      } else if (inner.arp) {
        parts.push(`inner ARP ${inner.arp.opName} ${inner.arp.senderIp} (${inner.arp.senderMac}) -> ${inner.arp.targetIp}`);
      } else {
        parts.push(`inner ${inner.srcMac} > ${inner.dstMac} ethertype ${hex(inner.etherType, 4)}`);
      }
    }
  }
  if (p.error) parts.push(`[${p.error}]`);
  return parts.join(" ");
}
