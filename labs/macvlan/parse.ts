/**
 * Parsers of the macvlan probe's outputs (pure, they throw Error on output they cannot read):
 * `ip -j -d addr show dev <nic>.100` (the peer's sub-interface), `tcpdump -enl` lines of tagged
 * frames, and ping's summary.
 */

export interface VlanDevice {
  name: string;
  ifindex: number;
  mac?: string;
  kind?: string;
  /** The lower device's name (JSON "link"), or its ifindex (JSON "link_index", another namespace). */
  link?: string;
  linkIndex?: number;
  vlanId?: number;
  vlanProtocol?: string;
  ipv4: { address: string; prefixLength: number }[];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `ip -j -d link show DEV` or `ip -j -d addr show dev DEV`: the devices, with their VLAN details and IPv4 addresses. */
export function parseIpJsonDevices(text: string): VlanDevice[] {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new Error(`not the JSON of ip -j: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!Array.isArray(raw)) throw new Error("ip -j printed no JSON array");
  return raw.map((d, i) => {
    if (!isObject(d) || typeof d["ifname"] !== "string" || typeof d["ifindex"] !== "number") throw new Error(`ip -j entry ${i} has no ifname/ifindex`);
    const dev: VlanDevice = { name: d["ifname"], ifindex: d["ifindex"], ipv4: [] };
    if (typeof d["address"] === "string") dev.mac = d["address"].toLowerCase();
    if (typeof d["link"] === "string") dev.link = d["link"];
    if (typeof d["link_index"] === "number") dev.linkIndex = d["link_index"];
    const info = d["linkinfo"];
    if (isObject(info)) {
      if (typeof info["info_kind"] === "string") dev.kind = info["info_kind"];
      const data = info["info_data"];
      if (isObject(data) && dev.kind === "vlan") {
        if (typeof data["id"] === "number") dev.vlanId = data["id"];
        if (typeof data["protocol"] === "string") dev.vlanProtocol = data["protocol"];
      }
    }
    const addrs = d["addr_info"];
    if (Array.isArray(addrs)) {
      for (const a of addrs) {
        if (isObject(a) && a["family"] === "inet" && typeof a["local"] === "string" && typeof a["prefixlen"] === "number") dev.ipv4.push({ address: a["local"], prefixLength: a["prefixlen"] });
      }
    }
    return dev;
  });
}

export interface Frame {
  src: string;
  dst: string;
  /** The outer ethertype as tcpdump names it ("802.1Q") and its number ("0x8100"). */
  ethertype: string;
  ethertypeHex: string;
  /** The 802.1Q tag, when the frame has one. */
  vlan?: number;
  /** The inner ethertype (IPv4, ARP...). */
  innerType?: string;
  /** What tcpdump says of the payload: "10.0.0.200 > 10.0.0.2: ICMP echo request, id ...". */
  payload: string;
  line: string;
}

const MAC = "[0-9a-f]{2}(?::[0-9a-f]{2}){5}";
const FRAME = new RegExp(`^\\S+ (${MAC}) > (${MAC}), ethertype (\\S+) \\((0x[0-9a-f]{4})\\), length \\d+: (.*)$`);
const TAGGED = /^vlan (\d+), p \d+, ethertype (\S+) \(0x[0-9a-f]{4}\), (.*)$/;

/**
 * `tcpdump -enl` lines (link-level headers, numeric): one Frame per line it can read; lines of
 * another shape (tcpdump's notes, a truncated last line) are skipped.
 */
export function parseTcpdumpFrames(text: string): Frame[] {
  const frames: Frame[] = [];
  for (const line of text.split("\n")) {
    const m = FRAME.exec(line.trim());
    if (!m) continue;
    const f: Frame = { src: m[1]!, dst: m[2]!, ethertype: m[3]!, ethertypeHex: m[4]!, payload: m[5]!, line: line.trim() };
    const t = TAGGED.exec(m[5]!);
    if (t) {
      f.vlan = Number(t[1]);
      f.innerType = t[2]!;
      f.payload = t[3]!;
    }
    frames.push(f);
  }
  return frames;
}

/** An ICMP echo request or reply between two IPv4 addresses, as the frame's payload says. */
export function icmpEcho(f: Frame): { from: string; to: string; type: "request" | "reply" } | undefined {
  const m = /^(\d+\.\d+\.\d+\.\d+) > (\d+\.\d+\.\d+\.\d+): ICMP echo (request|reply)\b/.exec(f.payload);
  return m ? { from: m[1]!, to: m[2]!, type: m[3] as "request" | "reply" } : undefined;
}

/** ping's summary line: "3 packets transmitted, 3 received, 0% packet loss". */
export function parsePingSummary(text: string): { transmitted: number; received: number } | undefined {
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(text);
  return m ? { transmitted: Number(m[1]), received: Number(m[2]) } : undefined;
}
