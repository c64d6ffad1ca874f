/**
 * Parsers for what the routing-mesh probe prints (probe.ts): an HTTP answer read over bash's
 * /dev/tcp, `docker service inspect` of the published ports, the ingress_sbox's mangle rules
 * (`iptables -t mangle -S`), its IPVS table (/proc/net/ip_vs) and a tcpdump capture of VXLAN.
 * Pure; each throws an Error naming what it could not read.
 */
import type { RawSection } from "../../scripts/lib/framing";

export interface HttpAnswer {
  status: number;
  /** The first non-empty line of the body: the replica's hostname. */
  hostname?: string;
}

/** A raw HTTP/1.x response (status line, headers, blank line, body), CRLF or LF. */
export function parseHttpAnswer(text: string): HttpAnswer {
  const lines = text.replace(/\r/g, "").split("\n");
  const m = /^HTTP\/\d\.\d (\d{3})\b/.exec(lines[0] ?? "");
  if (!m) throw new Error(`not an HTTP answer: ${JSON.stringify((lines[0] ?? "").slice(0, 80))}`);
  const blank = lines.indexOf("", 1);
  const body = blank < 0 ? [] : lines.slice(blank + 1);
  const hostname = body.map((l) => l.trim()).find((l) => l !== "");
  return hostname === undefined ? { status: Number(m[1]) } : { status: Number(m[1]), hostname };
}

/** What one request section says: answered (with the HTTP answer), refused, or failed otherwise. */
export type Request =
  | { kind: "answered"; answer: HttpAnswer }
  | { kind: "refused"; detail: string }
  | { kind: "failed"; detail: string };

export function requestOf(s: RawSection): Request {
  const err = (s.stderr ?? "").trim().split("\n").filter((l) => l.trim() !== "").pop() ?? "";
  if (s.rc === 0) {
    try {
      return { kind: "answered", answer: parseHttpAnswer(s.output) };
    } catch (e) {
      return { kind: "failed", detail: e instanceof Error ? e.message : String(e) };
    }
  }
  if (/connection refused/i.test(s.stderr ?? "")) return { kind: "refused", detail: "connection refused" };
  if (s.rc === 124) return { kind: "failed", detail: "no answer within the request's timeout" };
  return { kind: "failed", detail: `exit code ${s.rc}${err ? `: ${err}` : ""}` };
}

export interface PublishedPort {
  protocol: string;
  target: number;
  published: number;
  mode: string;
}

/**
 * `docker service inspect --format '{{.Spec.Name}} {{json .Endpoint.Ports}}' <services>`: one
 * line per service that exists (`null` when it publishes nothing).
 */
export function parseServicePorts(text: string): Map<string, PublishedPort[]> {
  const out = new Map<string, PublishedPort[]>();
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const m = /^(\S+) (.*)$/.exec(line.trim());
    if (!m) throw new Error(`service ports: cannot read ${JSON.stringify(line)}`);
    let raw: unknown;
    try {
      raw = JSON.parse(m[2]!);
    } catch {
      throw new Error(`service ports of ${m[1]}: not JSON: ${JSON.stringify(m[2]!.slice(0, 80))}`);
    }
    if (raw !== null && !Array.isArray(raw)) throw new Error(`service ports of ${m[1]}: not a list`);
    out.set(
      m[1]!,
      ((raw ?? []) as Record<string, unknown>[]).map((p) => ({
        protocol: String(p["Protocol"] ?? "tcp"),
        target: Number(p["TargetPort"]),
        published: Number(p["PublishedPort"]),
        mode: String(p["PublishMode"] ?? "ingress"),
      })),
    );
  }
  return out;
}

export interface MarkRule {
  chain: string;
  protocol?: string;
  dport?: number;
  destination?: string;
  mark: number;
  rule: string;
}

/** The MARK rules of `iptables -t mangle -S` (the ingress_sbox marks each published port). */
export function parseMarkRules(text: string): MarkRule[] {
  const out: MarkRule[] = [];
  for (const rule of text.split("\n").map((l) => l.trim())) {
    if (!rule.startsWith("-A ") || !/ -j MARK /.test(rule)) continue;
    const m = / --set-x?mark (0x[0-9a-f]+|\d+)(?:\/(0x[0-9a-f]+|\d+))?/i.exec(rule);
    if (!m) throw new Error(`mangle rule without a mark value: ${rule}`);
    const r: MarkRule = { chain: rule.split(" ")[1]!, mark: Number(m[1]), rule };
    const p = / -p (\S+)/.exec(rule);
    if (p) r.protocol = p[1]!;
    const d = / --dport (\d+)/.exec(rule);
    if (d) r.dport = Number(d[1]);
    const dst = / -d (\S+)/.exec(rule);
    if (dst) r.destination = dst[1]!;
    out.push(r);
  }
  return out;
}

export interface IpvsReal {
  address: string;
  port: number;
  forward: string;
  weight: number;
  active: number;
  inactive: number;
}

export interface IpvsService {
  /** FWM (a firewall mark), TCP or UDP. */
  protocol: string;
  /** For FWM: the mark; else the virtual address and port. */
  fwmark?: number;
  address?: string;
  port?: number;
  scheduler: string;
  reals: IpvsReal[];
}

function hexAddress(hex: string): string {
  if (!/^[0-9A-Fa-f]{8}$/.test(hex)) throw new Error(`/proc/net/ip_vs: not an IPv4 address in hex: ${hex}`);
  return [0, 2, 4, 6].map((i) => parseInt(hex.slice(i, i + 2), 16)).join(".");
}

/** /proc/net/ip_vs (addresses and ports in hex, as the kernel prints them). */
export function parseIpVs(text: string): IpvsService[] {
  const lines = text.split("\n");
  if (!/^IP Virtual Server version/.test(lines[0] ?? "")) throw new Error(`/proc/net/ip_vs: unexpected first line ${JSON.stringify((lines[0] ?? "").slice(0, 80))}`);
  const out: IpvsService[] = [];
  for (const line of lines.slice(1)) {
    const t = line.trim();
    if (t === "" || t.startsWith("Prot ") || t.startsWith("-> RemoteAddress")) continue;
    const real = /^-> ([0-9A-Fa-f]{8}):([0-9A-Fa-f]{4})\s+(\S+)\s+(\d+)\s+(\d+)\s+(\d+)$/.exec(t);
    if (real) {
      const svc = out[out.length - 1];
      if (!svc) throw new Error(`/proc/net/ip_vs: a real server before any service: ${t}`);
      svc.reals.push({ address: hexAddress(real[1]!), port: parseInt(real[2]!, 16), forward: real[3]!, weight: Number(real[4]), active: Number(real[5]), inactive: Number(real[6]) });
      continue;
    }
    const fwm = /^FWM\s+([0-9A-Fa-f]+)\s+(\S+)/.exec(t);
    if (fwm) {
      out.push({ protocol: "FWM", fwmark: parseInt(fwm[1]!, 16), scheduler: fwm[2]!, reals: [] });
      continue;
    }
    const vs = /^(TCP|UDP|SCTP)\s+([0-9A-Fa-f]{8}):([0-9A-Fa-f]{4})\s+(\S+)/.exec(t);
    if (vs) {
      out.push({ protocol: vs[1]!, address: hexAddress(vs[2]!), port: parseInt(vs[3]!, 16), scheduler: vs[4]!, reals: [] });
      continue;
    }
    throw new Error(`/proc/net/ip_vs: cannot read ${JSON.stringify(t)}`);
  }
  return out;
}

export interface VxlanPacket {
  src: string;
  dst: string;
  dstPort: number;
  vni: number;
  /** The encapsulated packet, as tcpdump decodes it on the next line. */
  inner?: { src: string; srcPort?: number; dst: string; dstPort?: number; text: string };
}

const endpoint = (s: string): { ip: string; port?: number } => {
  const m = /^(\d+\.\d+\.\d+\.\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) return { ip: s };
  return m[2] === undefined ? { ip: m[1]! } : { ip: m[1]!, port: Number(m[2]) };
};

/** `tcpdump -nn` of UDP 4789: the VXLAN header line, then the inner packet's line. */
export function parseVxlanCapture(text: string): VxlanPacket[] {
  const out: VxlanPacket[] = [];
  let last: VxlanPacket | undefined;
  for (const line of text.split("\n")) {
    const outer = /^\S+ IP (\S+) > (\S+): VXLAN, flags \[[^\]]*\] \([^)]*\), vni (\d+)/.exec(line);
    if (outer) {
      const s = endpoint(outer[1]!);
      const d = endpoint(outer[2]!);
      last = { src: s.ip, dst: d.ip, dstPort: d.port ?? 0, vni: Number(outer[3]) };
      out.push(last);
      continue;
    }
    const inner = /^IP (\S+) > (\S+?):/.exec(line);
    if (inner && last && !last.inner) {
      const s = endpoint(inner[1]!);
      const d = endpoint(inner[2]!);
      last.inner = { src: s.ip, dst: d.ip, text: line, ...(s.port !== undefined ? { srcPort: s.port } : {}), ...(d.port !== undefined ? { dstPort: d.port } : {}) };
      continue;
    }
    if (line.trim() !== "" && /^\d\d:\d\d:\d\d/.test(line)) last = undefined; // another packet, not VXLAN
  }
  return out;
}
