/**
 * Pure parsers for iproute2 output: `ip [-d] link show`, `ip addr show` and
 * `ip route show`, both as `ip -j` JSON (iproute2 >= 4.14, e.g. Debian 12's
 * 6.1) and as plain text (CentOS 7's iproute 3.10/4.11, busybox `ip` inside
 * alpine containers). Both forms yield the same types.
 */
import { badValue, ParseError, parseJsonOutput, splitLines } from "../errors";
import { isIPv4 } from "../../ipv4";
import { Fields, isAddress } from "./json";

const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;

export interface IpAddress {
  family: "inet" | "inet6";
  /** Address without prefix length. */
  local: string;
  prefixlen: number;
  scope?: string;
  label?: string;
  broadcast?: string;
  peer?: string;
}

export interface VxlanInfo {
  id: number;
  dstport?: number;
  srcport?: [number, number];
  proxy: boolean;
  l2miss: boolean;
  l3miss: boolean;
  learning: boolean;
  ageing?: number;
  local?: string;
  remote?: string;
  group?: string;
}

export interface BridgeInfo {
  forwardDelay: number;
  helloTime: number;
  maxAge: number;
  ageingTime?: number;
  stpState?: number;
}

/** An 802.1Q/802.1ad sub-interface's details (`ip -d link`: "vlan protocol 802.1Q id 100"). */
export interface VlanInfo {
  id: number;
  protocol?: string;
}

export interface IpLink {
  ifindex: number;
  name: string;
  /** What followed `@` in the text header: "if19", a same-namespace name, or "NONE". */
  linkRef?: string;
  /** ifindex of the peer/lower device (veth peer for veths), possibly in another namespace. */
  linkIndex?: number;
  /** Name of the peer/lower device when it lives in the same namespace. */
  linkName?: string;
  /** The namespace id (as seen from this namespace) where the peer lives. */
  linkNetnsid?: number;
  /** Set instead of linkNetnsid when iproute2 could resolve the peer namespace to a name. */
  linkNetnsName?: string;
  flags: string[];
  mtu: number;
  qdisc?: string;
  master?: string;
  operstate?: string;
  linkType?: string;
  mac?: string;
  /** linkinfo kind (veth, bridge, vxlan, ...); undefined for physical NICs and lo, or without -d. */
  kind?: string;
  slaveKind?: string;
  vxlan?: VxlanInfo;
  bridge?: BridgeInfo;
  vlan?: VlanInfo;
  altnames?: string[];
  /** The output carried `-d` details (so a missing kind means "no linkinfo": a NIC or lo). */
  detailed?: boolean;
  addresses: IpAddress[];
}

export interface IpRoute {
  /** "default" or a prefix such as "172.18.0.0/16" (host routes keep their bare address). */
  dst: string;
  type?: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  metric?: number;
  table?: string;
  flags: string[];
}

// ---------------------------------------------------------------- JSON ----

/** Ranges the kernel allows (and iproute2 prints). */
export const LIMITS = {
  ifindex: [1, 0x7fffffff],
  mtu: [0, 0x7fffffff],
  netnsid: [0, 0x7fffffff],
  vni: [0, 0xffffff],
  vlan: [0, 4095],
  port: [0, 65535],
  prefix4: [0, 32],
  prefix6: [0, 128],
  /** Bridge timers (centiseconds) and vxlan ageing (seconds) are u32. */
  u32: [0, 0xffffffff],
} as const;

function requireArray(command: string, data: unknown): unknown[] {
  if (!Array.isArray(data)) throw new ParseError(command, "expected a JSON array at top level", 1, "");
  return data;
}

function vxlanFromJson(d: Fields): VxlanInfo {
  const pr = d.obj_("port_range");
  const v: VxlanInfo = {
    id: d.reqInt("id", ...LIMITS.vni),
    proxy: d.bool("proxy") === true,
    l2miss: d.bool("l2miss") === true,
    l3miss: d.bool("l3miss") === true,
    learning: d.bool("learning") !== false,
  };
  const port = d.int("port", ...LIMITS.port);
  if (port !== undefined) v.dstport = port;
  if (pr) v.srcport = [pr.reqInt("low", ...LIMITS.port), pr.reqInt("high", ...LIMITS.port)];
  const ageing = d.int("ageing", ...LIMITS.u32);
  if (ageing !== undefined) v.ageing = ageing;
  for (const k of ["local", "remote", "group"] as const) {
    const a = d.address(k, { prefix: "none" });
    if (a !== undefined) v[k] = a;
  }
  return v;
}

function bridgeFromJson(d: Fields): BridgeInfo | undefined {
  const fd = d.int("forward_delay", ...LIMITS.u32);
  const ht = d.int("hello_time", ...LIMITS.u32);
  const ma = d.int("max_age", ...LIMITS.u32);
  if (fd === undefined || ht === undefined || ma === undefined) return undefined;
  const b: BridgeInfo = { forwardDelay: fd, helloTime: ht, maxAge: ma };
  const at = d.int("ageing_time", ...LIMITS.u32);
  if (at !== undefined) b.ageingTime = at;
  const st = d.int("stp_state", 0, 2);
  if (st !== undefined) b.stpState = st;
  return b;
}

function addressFromJson(a: Fields): IpAddress | undefined {
  const family = a.str("family");
  // Other families (e.g. mpls) are not addresses the facts speak of.
  if (family !== "inet" && family !== "inet6") return undefined;
  const local = a.reqStr("local");
  if (!isAddress(local, "none") || (family === "inet") !== isIPv4(local)) throw badValue(a.command, `${a.path}.local`, `an ${family === "inet" ? "IPv4" : "IPv6"} address`, local);
  const out: IpAddress = { family, local, prefixlen: a.reqInt("prefixlen", 0, family === "inet" ? 32 : 128) };
  const scope = a.str("scope");
  if (scope !== undefined) out.scope = scope;
  const label = a.str("label");
  if (label !== undefined) out.label = label;
  const brd = a.address("broadcast", { prefix: "none" });
  if (brd !== undefined) out.broadcast = brd;
  const peer = a.address("address", { prefix: "none" });
  if (peer !== undefined) out.peer = peer;
  return out;
}

/** Parse `ip -j [-d] link show` or `ip -j addr show` (the latter adds addr_info). */
export function parseIpLinkJson(text: string, command = "ip -j -d link show"): IpLink[] {
  const data = requireArray(command, parseJsonOutput(command, text));
  if (data.length === 0) throw new ParseError(command, "no interfaces listed (a namespace always has lo)");
  return data.map((entry, i) => {
    const e0 = Fields.of(command, `entry ${i}`, entry);
    const nameRaw = e0.raw("ifname");
    const e = typeof nameRaw === "string" ? new Fields(command, `entry ${i} (${nameRaw})`, e0.obj) : e0;
    const name = e.reqStr("ifname");
    if (name === "") throw badValue(command, `${e.path}.ifname`, "an interface name", name);
    const link: IpLink = {
      ifindex: e.reqInt("ifindex", ...LIMITS.ifindex),
      name,
      flags: e.strings("flags"),
      mtu: e.reqInt("mtu", ...LIMITS.mtu),
      addresses: [],
    };
    const opt = (key: string, set: (v: string) => void): void => {
      const v = e.str(key);
      if (v !== undefined) set(v);
    };
    opt("qdisc", (v) => (link.qdisc = v));
    opt("master", (v) => (link.master = v));
    opt("operstate", (v) => (link.operstate = v));
    opt("link_type", (v) => (link.linkType = v));
    opt("address", (v) => (link.mac = v));
    if (link.linkType === "ether" && link.mac !== undefined && !MAC.test(link.mac)) throw badValue(command, `${e.path}.address`, "a MAC address", link.mac);
    if ("promiscuity" in e.obj || e.has("linkinfo")) link.detailed = true;
    const li = e.int("link_index", ...LIMITS.ifindex);
    if (li !== undefined) link.linkIndex = li;
    opt("link", (v) => (link.linkName = v));
    const nsid = e.int("link_netnsid", ...LIMITS.netnsid);
    if (nsid !== undefined) link.linkNetnsid = nsid;
    if (e.has("altnames")) link.altnames = e.strings("altnames");
    const info = e.obj_("linkinfo");
    if (info) {
      const kind = info.str("info_kind");
      if (kind !== undefined) link.kind = kind;
      const slave = info.str("info_slave_kind");
      if (slave !== undefined) link.slaveKind = slave;
      const data = info.obj_("info_data");
      if (link.kind === "vxlan") {
        if (!data) throw badValue(command, `${info.path}.info_data`, "the vxlan details", info.raw("info_data"));
        link.vxlan = vxlanFromJson(data);
      }
      if (data && link.kind === "bridge") {
        const b = bridgeFromJson(data);
        if (b) link.bridge = b;
      }
      if (data && link.kind === "vlan") {
        const vlan: VlanInfo = { id: data.reqInt("id", ...LIMITS.vlan) };
        const protocol = data.str("protocol");
        if (protocol !== undefined) vlan.protocol = protocol;
        link.vlan = vlan;
      }
    }
    for (const a of e.objects("addr_info")) {
      const addr = addressFromJson(a);
      if (addr) link.addresses.push(addr);
    }
    return link;
  });
}

export function parseIpRouteJson(text: string, command = "ip -j route show"): IpRoute[] {
  const data = requireArray(command, parseJsonOutput(command, text));
  return data.map((entry, i) => {
    const e = Fields.of(command, `route ${i}`, entry);
    const dst = e.reqStr("dst");
    if (dst !== "default" && !isAddress(dst)) throw badValue(command, `${e.path}.dst`, "default or an address/prefix", dst);
    const route: IpRoute = { dst, flags: e.strings("flags") };
    const type = e.str("type");
    if (type) route.type = type;
    const gw = e.address("gateway", { prefix: "none" });
    if (gw) route.gateway = gw;
    const dev = e.str("dev");
    if (dev) route.dev = dev;
    const proto = e.str("protocol");
    if (proto) route.protocol = proto;
    const scope = e.str("scope");
    if (scope) route.scope = scope;
    const src = e.address("prefsrc", { prefix: "none" });
    if (src) route.prefsrc = src;
    const metric = e.int("metric", ...LIMITS.u32);
    if (metric !== undefined) route.metric = metric;
    const table = e.raw("table");
    if (typeof table === "string" && table) route.table = table;
    else if (typeof table === "number" && Number.isInteger(table) && table >= 0) route.table = String(table);
    else if (table !== undefined && table !== null) throw badValue(command, `${e.path}.table`, "a table name or number", table);
    return route;
  });
}

// ---------------------------------------------------------------- text ----

const HEADER = /^(\d+):\s+([^\s:@]+)(?:@([^\s:]+))?:\s+<([^>]*)>(.*)$/;
const KNOWN_SLAVE_KINDS = new Set(["bridge_slave", "bond_slave", "team_slave", "vrf_slave"]);

function intAt(command: string, tokens: string[], i: number, what: string, lineNo: number, line: string, range: readonly [number, number] = [0, 0xffffffff]): number {
  const t = tokens[i];
  if (t === undefined || !/^-?\d+$/.test(t)) throw new ParseError(command, `expected a number after "${what}"`, lineNo, line);
  const n = Number(t);
  if (n < range[0] || n > range[1]) {
    const e = new ParseError(command, `${what} ${t} is out of range (${range[0]} to ${range[1]})`, lineNo, line);
    e.field = what;
    e.value = t;
    throw e;
  }
  return n;
}

/** Operational states iproute2 prints (a cut-off word is none of them). */
const OPERSTATES = new Set(["UNKNOWN", "NOTPRESENT", "DOWN", "LOWERLAYERDOWN", "TESTING", "DORMANT", "UP"]);

function parseHeader(command: string, m: RegExpExecArray, lineNo: number, line: string): IpLink {
  const link: IpLink = {
    ifindex: Number(m[1]),
    name: m[2]!,
    flags: m[4]!.split(",").filter((f) => f !== ""),
    mtu: NaN,
    addresses: [],
  };
  if (link.ifindex < LIMITS.ifindex[0] || link.ifindex > LIMITS.ifindex[1]) throw new ParseError(command, `ifindex ${m[1]} is out of range`, lineNo, line);
  const ref = m[3];
  if (ref !== undefined) {
    link.linkRef = ref;
    const ifm = /^if(\d+)$/.exec(ref);
    if (ifm) link.linkIndex = Number(ifm[1]);
    else if (ref !== "NONE") link.linkName = ref;
  }
  const tokens = m[5]!.trim().split(/\s+/).filter((t) => t !== "");
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    switch (t) {
      case "mtu":
        link.mtu = intAt(command, tokens, ++i, t, lineNo, line, LIMITS.mtu);
        break;
      case "qdisc":
        link.qdisc = tokens[++i];
        break;
      case "master":
        link.master = tokens[++i];
        break;
      case "state":
        link.operstate = tokens[++i];
        if (link.operstate === undefined || !OPERSTATES.has(link.operstate)) throw new ParseError(command, `unknown operational state "${link.operstate ?? ""}" (cut off?)`, lineNo, line);
        break;
      case "mode":
      case "group":
      case "qlen":
      case "link-netnsid":
        i++;
        break;
      default:
        // Tolerate attributes newer iproute2 versions may add; they are not facts we check.
        break;
    }
  }
  if (Number.isNaN(link.mtu)) throw new ParseError(command, `interface ${link.name} has no mtu`, lineNo, line);
  return link;
}

function parseLinkLine(command: string, link: IpLink, tokens: string[], lineNo: number, line: string): void {
  link.linkType = tokens[0]!.slice("link/".length);
  if (tokens[1] && tokens[1] !== "brd") link.mac = tokens[1];
  if ((link.linkType === "ether" || link.linkType === "loopback") && (link.mac === undefined || !MAC.test(link.mac))) {
    throw new ParseError(command, `malformed MAC address "${link.mac ?? ""}" of ${link.name} (cut off?)`, lineNo, line);
  }
  for (let i = 2; i < tokens.length; i++) {
    if (tokens[i] === "promiscuity") link.detailed = true;
    if (tokens[i] === "link-netnsid") link.linkNetnsid = intAt(command, tokens, ++i, "link-netnsid", lineNo, line, LIMITS.netnsid);
    else if (tokens[i] === "link-netns" && tokens[i + 1] !== undefined) link.linkNetnsName = tokens[++i];
  }
}

function parseVxlanTokens(command: string, tokens: string[], lineNo: number, line: string): VxlanInfo {
  const v: VxlanInfo = { id: NaN, proxy: false, l2miss: false, l3miss: false, learning: true };
  for (let i = 1; i < tokens.length; i++) {
    const t = tokens[i]!;
    switch (t) {
      case "id":
        v.id = intAt(command, tokens, ++i, "vxlan id", lineNo, line, LIMITS.vni);
        break;
      case "dstport":
        v.dstport = intAt(command, tokens, ++i, t, lineNo, line, LIMITS.port);
        break;
      case "srcport":
        v.srcport = [intAt(command, tokens, i + 1, t, lineNo, line, LIMITS.port), intAt(command, tokens, i + 2, t, lineNo, line, LIMITS.port)];
        i += 2;
        break;
      case "ageing":
        v.ageing = intAt(command, tokens, ++i, t, lineNo, line, LIMITS.u32);
        break;
      case "proxy":
        v.proxy = true;
        break;
      case "l2miss":
        v.l2miss = true;
        break;
      case "l3miss":
        v.l3miss = true;
        break;
      case "nolearning":
        v.learning = false;
        break;
      case "learning":
        v.learning = true;
        break;
      case "local":
        v.local = tokens[++i];
        break;
      case "remote":
        v.remote = tokens[++i];
        break;
      case "group":
        v.group = tokens[++i];
        break;
      case "dev":
      case "ttl":
      case "tos":
      case "maxaddr":
      case "df":
      case "flowlabel":
        i++;
        break;
      default:
        break;
    }
  }
  if (Number.isNaN(v.id)) throw new ParseError(command, "vxlan details without an id", lineNo, line);
  return v;
}

function parseBridgeTokens(command: string, tokens: string[], lineNo: number, line: string): BridgeInfo {
  const get = (key: string): number | undefined => {
    const i = tokens.indexOf(key);
    return i >= 0 ? intAt(command, tokens, i + 1, key, lineNo, line, LIMITS.u32) : undefined;
  };
  const fd = get("forward_delay");
  const ht = get("hello_time");
  const ma = get("max_age");
  if (fd === undefined || ht === undefined || ma === undefined) {
    throw new ParseError(command, "bridge details without forward_delay/hello_time/max_age", lineNo, line);
  }
  return { forwardDelay: fd, helloTime: ht, maxAge: ma, ageingTime: get("ageing_time"), stpState: get("stp_state") };
}

function parseVlanTokens(command: string, tokens: string[], lineNo: number, line: string): VlanInfo {
  const i = tokens.indexOf("id");
  if (i < 0) throw new ParseError(command, "vlan details without an id", lineNo, line);
  const vlan: VlanInfo = { id: intAt(command, tokens, i + 1, "vlan id", lineNo, line, LIMITS.vlan) };
  const p = tokens.indexOf("protocol");
  if (p >= 0 && tokens[p + 1]) vlan.protocol = tokens[p + 1];
  return vlan;
}

function parseInetLine(command: string, link: IpLink, tokens: string[], lineNo: number, line: string): void {
  const family = tokens[0] as "inet" | "inet6";
  let addr = tokens[1];
  let peer: string | undefined;
  if (addr === undefined) throw new ParseError(command, `${family} line without an address`, lineNo, line);
  let i = 2;
  if (tokens[2] === "peer") {
    peer = tokens[3];
    i = 4;
    // "inet 10.0.0.1 peer 10.0.0.2/32": the prefix belongs to the peer
    if (peer && peer.includes("/") && !addr.includes("/")) addr = `${addr}/${peer.split("/")[1]}`;
  }
  const am = /^([^/]+)\/(\d+)$/.exec(addr);
  const local = am ? am[1]! : addr;
  const prefixlen = am ? Number(am[2]) : family === "inet" ? 32 : 128;
  if (family === "inet" && !isIPv4(local)) {
    throw new ParseError(command, `malformed IPv4 address "${addr}"`, lineNo, line);
  }
  if (prefixlen > (family === "inet" ? 32 : 128)) {
    const e = new ParseError(command, `prefix length /${prefixlen} of ${local} is out of range`, lineNo, line);
    e.field = "prefixlen";
    e.value = String(prefixlen);
    throw e;
  }
  if (family === "inet6" && !/^[0-9a-fA-F:.]+$/.test(local)) {
    throw new ParseError(command, `malformed IPv6 address "${addr}"`, lineNo, line);
  }
  const a: IpAddress = { family, local, prefixlen };
  if (peer) a.peer = peer.split("/")[0];
  for (; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === "brd") {
      a.broadcast = tokens[++i];
      if (a.broadcast === undefined || !isAddress(a.broadcast, "none")) throw new ParseError(command, `malformed broadcast address "${a.broadcast ?? ""}"`, lineNo, line);
    }
    else if (t === "scope") a.scope = tokens[++i];
  }
  // The label is the last token when it names the interface (or an alias of it: eth0:1).
  const last = tokens[tokens.length - 1];
  if (family === "inet" && last && (last === link.name || last.startsWith(`${link.name}:`))) a.label = last;
  link.addresses.push(a);
}

/**
 * Parse text output of `ip link show`, `ip -d link show` or `ip addr show`
 * (iproute2 3.10 ... 6.x and busybox). Every line must be understood.
 */
export function parseIpLinkText(text: string, command = "ip link show"): IpLink[] {
  const lines = splitLines(text);
  if (lines.every((l) => l.trim() === "")) throw new ParseError(command, "empty output (a namespace always has lo)");
  const links: IpLink[] = [];
  let cur: IpLink | undefined;
  let sawLinkLine = false;
  let inDetails = false;
  const finish = (lineNo: number): void => {
    if (cur && !sawLinkLine) {
      throw new ParseError(command, `interface ${cur.name} has no link/ line (truncated output?)`, lineNo, lines[lineNo - 1] ?? "");
    }
  };
  lines.forEach((line, idx) => {
    const lineNo = idx + 1;
    if (line.trim() === "") return;
    const hm = HEADER.exec(line);
    if (hm) {
      finish(lineNo - 1);
      cur = parseHeader(command, hm, lineNo, line);
      links.push(cur);
      sawLinkLine = false;
      inDetails = false;
      return;
    }
    if (!/^\s/.test(line) || !cur) {
      throw new ParseError(command, "unrecognised line", lineNo, line);
    }
    const tokens = line.trim().split(/\s+/);
    const first = tokens[0]!;
    if (first.startsWith("link/")) {
      parseLinkLine(command, cur, tokens, lineNo, line);
      sawLinkLine = true;
      inDetails = true;
      return;
    }
    if (first === "inet" || first === "inet6") {
      parseInetLine(command, cur, tokens, lineNo, line);
      inDetails = false;
      return;
    }
    if (first === "valid_lft" || first === "altname" || first === "prop" || first === "alias") {
      if (first === "altname" && tokens[1]) (cur.altnames ??= []).push(tokens[1]);
      return;
    }
    if (!sawLinkLine) throw new ParseError(command, `unexpected line before the link/ line of ${cur.name}`, lineNo, line);
    if (!inDetails || !/^[a-z][a-z0-9_]*$/.test(first)) {
      throw new ParseError(command, "unrecognised line", lineNo, line);
    }
    // `ip -d` detail lines: "<kind> ..." or "<slave kind> ...".
    if (KNOWN_SLAVE_KINDS.has(first)) {
      cur.slaveKind = first.replace(/_slave$/, "");
    } else if (first === "addrgenmode" || first === "promiscuity" || first === "numtxqueues") {
      // attribute continuation line, nothing to record
    } else if (cur.kind === undefined) {
      cur.kind = first;
      if (first === "vxlan") cur.vxlan = parseVxlanTokens(command, tokens, lineNo, line);
      if (first === "bridge") cur.bridge = parseBridgeTokens(command, tokens, lineNo, line);
      if (first === "vlan") cur.vlan = parseVlanTokens(command, tokens, lineNo, line);
    }
  });
  finish(lines.length);
  return links;
}

const ROUTE_TYPES = new Set(["unicast", "local", "broadcast", "multicast", "unreachable", "blackhole", "prohibit", "throw", "nat", "anycast"]);
const ROUTE_VALUE_KEYS = new Set([
  "via", "dev", "proto", "scope", "src", "metric", "table", "mtu", "advmss", "expires", "pref",
  "rtt", "rttvar", "window", "cwnd", "initcwnd", "initrwnd", "realms", "hoplimit", "quickack",
  "features", "nhid", "tos", "from", "congctl", "ssthresh", "reordering", "fastopen_no_cookie", "error",
]);
const ROUTE_FLAGS = new Set(["onlink", "linkdown", "dead", "pervasive", "offload", "trap", "notify", "rt_trap", "rt_offload", "lock"]);

function isRouteDst(t: string): boolean {
  return t === "default" || /^[0-9a-fA-F:.]+(\/\d+)?$/.test(t);
}

/** Parse text output of `ip route show` (iproute2 or busybox). */
export function parseIpRouteText(text: string, command = "ip route show", opts: { allowEmpty?: boolean } = {}): IpRoute[] {
  const lines = splitLines(text);
  if (lines.every((l) => l.trim() === "")) {
    if (opts.allowEmpty) return [];
    throw new ParseError(command, "empty output");
  }
  const routes: IpRoute[] = [];
  lines.forEach((line, idx) => {
    const lineNo = idx + 1;
    if (line.trim() === "") return;
    if (/^\s/.test(line)) {
      // multipath "nexthop via ..." continuation lines
      if (/^\s+nexthop\b/.test(line) && routes.length > 0) return;
      throw new ParseError(command, "unrecognised continuation line", lineNo, line);
    }
    const tokens = line.trim().split(/\s+/);
    let i = 0;
    const route: IpRoute = { dst: "", flags: [] };
    if (ROUTE_TYPES.has(tokens[0]!)) route.type = tokens[i++];
    const dst = tokens[i++];
    if (dst === undefined || !isRouteDst(dst) || (dst !== "default" && !isAddress(dst))) throw new ParseError(command, `expected a destination, got "${dst ?? ""}"`, lineNo, line);
    route.dst = dst;
    for (; i < tokens.length; i++) {
      const t = tokens[i]!;
      if (ROUTE_FLAGS.has(t)) {
        route.flags.push(t);
        continue;
      }
      if (!ROUTE_VALUE_KEYS.has(t)) throw new ParseError(command, `unknown route attribute "${t}"`, lineNo, line);
      const v = tokens[++i];
      if (v === undefined) throw new ParseError(command, `route attribute "${t}" has no value (truncated?)`, lineNo, line);
      switch (t) {
        case "via":
          if (!isAddress(v, "none")) throw new ParseError(command, `malformed gateway "${v}"`, lineNo, line);
          route.gateway = v;
          break;
        case "dev":
          route.dev = v;
          break;
        case "proto":
          route.protocol = v;
          break;
        case "scope":
          route.scope = v;
          break;
        case "src":
          if (!isAddress(v, "none")) throw new ParseError(command, `malformed source address "${v}"`, lineNo, line);
          route.prefsrc = v;
          break;
        case "metric":
          route.metric = intAt(command, tokens, i, "metric", lineNo, line, LIMITS.u32);
          break;
        case "table":
          route.table = v;
          break;
        default:
          if (v === "lock") i++;
          break;
      }
    }
    routes.push(route);
  });
  return routes;
}

/** Parse link/addr output in whichever form it came (JSON starts with '['). */
export function parseIpLinks(text: string, command: string): IpLink[] {
  return text.trimStart().startsWith("[") ? parseIpLinkJson(text, command) : parseIpLinkText(text, command);
}

export function parseIpRoutes(text: string, command: string, opts: { allowEmpty?: boolean } = {}): IpRoute[] {
  return text.trimStart().startsWith("[") ? parseIpRouteJson(text, command) : parseIpRouteText(text, command, opts);
}
