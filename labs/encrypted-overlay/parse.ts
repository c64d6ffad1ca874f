/**
 * Parsers of the encrypted-overlay probe's outputs (pure): tcpdump's one-line summaries of
 * the underlay capture, ping's summary, and the (redacted) `ip xfrm state`. They keep no key
 * material: of an SA's keys only whether they arrived redacted.
 */

export interface InnerPacket {
  src: string;
  dst: string;
  /** "echo request" / "echo reply" for ICMP echo, else absent. */
  icmp?: string;
  text: string;
}

export interface CapturedPacket {
  time: string;
  /** esp: IP protocol 50; udp: a UDP datagram (VXLAN when vni is set); other: anything else tcpdump printed. */
  proto: "esp" | "udp" | "other";
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  spi?: string;
  vni?: number;
  /** The encapsulated packet tcpdump decoded (VXLAN): the lines that follow without a timestamp. */
  inner: InnerPacket[];
  line: string;
}

export interface Capture {
  packets: CapturedPacket[];
  /** Lines that are neither a packet nor the inner packet of one. */
  unparsed: string[];
}

const IPV4 = "\\d{1,3}(?:\\.\\d{1,3}){3}";
const TOP = new RegExp(`^(\\d{2}:\\d{2}:\\d{2}\\.\\d+)\\s+(IP6?)\\s+(\\S+)\\s+>\\s+(\\S+?):\\s*(.*)$`);
const ADDR_PORT = new RegExp(`^(${IPV4})(?:\\.(\\d+))?$`);
const INNER = new RegExp(`^IP\\s+(${IPV4})\\s+>\\s+(${IPV4}):\\s*(.*)$`);

function splitAddr(s: string): { ip: string; port?: number } {
  const m = ADDR_PORT.exec(s);
  if (!m) return { ip: s };
  return m[2] !== undefined ? { ip: m[1]!, port: Number(m[2]) } : { ip: m[1]! };
}

/** `tcpdump -n` output (no -e, no -v): one line per packet, a VXLAN packet's inner packet on the next line. */
export function parseTcpdump(text: string): Capture {
  const packets: CapturedPacket[] = [];
  const unparsed: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trimEnd();
    if (line.trim() === "") continue;
    const m = TOP.exec(line);
    if (m) {
      const src = splitAddr(m[3]!);
      const dst = splitAddr(m[4]!);
      const rest = m[5]!;
      const p: CapturedPacket = { time: m[1]!, proto: "other", src: src.ip, dst: dst.ip, inner: [], line };
      if (src.port !== undefined) p.sport = src.port;
      if (dst.port !== undefined) p.dport = dst.port;
      const esp = /^ESP\(spi=(0x[0-9a-fA-F]+)/.exec(rest);
      const vxlan = /^VXLAN\b.*\bvni (\d+)/.exec(rest);
      if (m[2] === "IP" && esp) {
        p.proto = "esp";
        p.spi = esp[1]!.toLowerCase();
      } else if (m[2] === "IP" && vxlan) {
        p.proto = "udp";
        p.vni = Number(vxlan[1]);
      } else if (m[2] === "IP" && /^UDP\b/.test(rest)) p.proto = "udp";
      packets.push(p);
      continue;
    }
    const last = packets[packets.length - 1];
    if (last && !/^\d{2}:\d{2}:\d{2}\./.test(line)) {
      const i = INNER.exec(line.trim());
      const inner: InnerPacket = i ? { src: i[1]!, dst: i[2]!, text: line.trim() } : { src: "", dst: "", text: line.trim() };
      const icmp = i && /^ICMP (echo request|echo reply)\b/.exec(i[3]!);
      if (icmp) inner.icmp = icmp[1]!;
      last.inner.push(inner);
      continue;
    }
    unparsed.push(line);
  }
  return { packets, unparsed };
}

/** tcpdump's stderr: did it start capturing, and how many packets did it report? */
export function tcpdumpStatus(stderr: string | undefined): { listening: boolean; captured?: number; dropped?: number } {
  const s = stderr ?? "";
  const out: { listening: boolean; captured?: number; dropped?: number } = { listening: /^listening on /m.test(s) };
  const c = /^(\d+) packets? captured/m.exec(s);
  if (c) out.captured = Number(c[1]);
  const d = /^(\d+) packets? dropped by kernel/m.exec(s);
  if (d) out.dropped = Number(d[1]);
  return out;
}

export interface PingSummary {
  target?: string;
  transmitted: number;
  received: number;
}

/** iputils or busybox ping output: its target and statistics line; undefined without statistics. */
export function parsePing(text: string): PingSummary | undefined {
  const st = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(text);
  if (!st) return undefined;
  const out: PingSummary = { transmitted: Number(st[1]), received: Number(st[2]) };
  const t = /^PING \S+ \((\d{1,3}(?:\.\d{1,3}){3})\)/m.exec(text);
  if (t) out.target = t[1]!;
  return out;
}

export interface XfrmSa {
  src: string;
  dst: string;
  proto: string;
  spi: string;
  mode?: string;
  /** aead algorithm (rfc4106(gcm(aes))), enc and auth algorithms, as named. */
  aead?: string;
  enc?: string;
  auth?: string;
  /** Every key of the SA arrived as <redacted>. */
  keysRedacted: boolean;
}

/** A key that was not redacted: 0x and at least 16 hex digits (an SPI has 8). */
export const UNREDACTED_KEY = /0x[0-9a-fA-F]{16,}/;

/** `ip xfrm state` with its keys replaced by <redacted>: one SA per `src … dst …` block. */
export function parseXfrmState(text: string): XfrmSa[] {
  const sas: XfrmSa[] = [];
  let cur: XfrmSa | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    const head = /^src (\S+) dst (\S+)$/.exec(line);
    if (head && !/^\s/.test(raw)) {
      cur = { src: head[1]!, dst: head[2]!, proto: "", spi: "", keysRedacted: true };
      sas.push(cur);
      continue;
    }
    if (!cur) continue;
    const p = /^proto (\S+) spi (0x[0-9a-fA-F]+)(?:.*\bmode (\S+))?/.exec(line);
    if (p) {
      cur.proto = p[1]!;
      cur.spi = p[2]!.toLowerCase();
      if (p[3]) cur.mode = p[3];
      continue;
    }
    const k = /^(aead|enc|auth|auth-trunc) (\S+) (\S+)/.exec(line);
    if (k) {
      const kind = k[1] === "auth-trunc" ? "auth" : (k[1] as "aead" | "enc" | "auth");
      cur[kind] = k[2]!;
      if (k[3] !== "<redacted>") cur.keysRedacted = false;
    }
  }
  return sas;
}
