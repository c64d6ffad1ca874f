/**
 * Pure parsers for iproute2 output: `ip [-d] link show`, `ip addr show` and
 * `ip route show`, both as `ip -j` JSON (iproute2 >= 4.14, e.g. Debian 12's
 * 6.1) and as plain text (CentOS 7's iproute 3.10/4.11, busybox `ip` inside
 * alpine containers). Both forms yield the same types.
 */
import { ParseError, parseJsonOutput, splitLines } from "../errors";

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

type Json = Record<string, unknown>;

function isObj(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | undefined {
  return typeof v === "number" && Number.isFinite(v) ? v : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === "string" ? v : undefined;
}

function requireArray(command: string, data: unknown): unknown[] {
  if (!Array.isArray(data)) throw new ParseError(command, "expected a JSON array at top level", 1, "");
  return data;
}

function vxlanFromJson(d: Json): VxlanInfo | undefined {
  const id = num(d["id"]);
  if (id === undefined) return undefined;
  const pr = isObj(d["port_range"]) ? d["port_range"] : undefined;
  return {
    id,
    dstport: num(d["port"]),
    srcport: pr ? [num(pr["low"]) ?? 0, num(pr["high"]) ?? 0] : undefined,
    proxy: d["proxy"] === true,
    l2miss: d["l2miss"] === true,
    l3miss: d["l3miss"] === true,
    learning: d["learning"] !== false,
    ageing: num(d["ageing"]),
    local: str(d["local"]),
    remote: str(d["remote"]),
    group: str(d["group"]),
  };
}

function bridgeFromJson(d: Json): BridgeInfo | undefined {
  const fd = num(d["forward_delay"]);
  const ht = num(d["hello_time"]);
  const ma = num(d["max_age"]);
  if (fd === undefined || ht === undefined || ma === undefined) return undefined;
  return { forwardDelay: fd, helloTime: ht, maxAge: ma, ageingTime: num(d["ageing_time"]), stpState: num(d["stp_state"]) };
}

/** Parse `ip -j [-d] link show` or `ip -j addr show` (the latter adds addr_info). */
export function parseIpLinkJson(text: string, command = "ip -j -d link show"): IpLink[] {
  const data = requireArray(command, parseJsonOutput(command, text));
  if (data.length === 0) throw new ParseError(command, "no interfaces listed (a namespace always has lo)");
  return data.map((entry, i) => {
    if (!isObj(entry)) throw new ParseError(command, `entry ${i} is not an object`);
    const ifindex = num(entry["ifindex"]);
    const name = str(entry["ifname"]);
    const mtu = num(entry["mtu"]);
    if (ifindex === undefined || !name || mtu === undefined) {
      throw new ParseError(command, `entry ${i} lacks ifindex/ifname/mtu: ${JSON.stringify(entry).slice(0, 120)}`);
    }
    const link: IpLink = {
      ifindex,
      name,
      flags: Array.isArray(entry["flags"]) ? entry["flags"].filter((f): f is string => typeof f === "string") : [],
      mtu,
      qdisc: str(entry["qdisc"]),
      master: str(entry["master"]),
      operstate: str(entry["operstate"]),
      linkType: str(entry["link_type"]),
      mac: str(entry["address"]),
      addresses: [],
    };
    if ("promiscuity" in entry || isObj(entry["linkinfo"])) link.detailed = true;
    const li = num(entry["link_index"]);
    if (li !== undefined) link.linkIndex = li;
    const ln = str(entry["link"]);
    if (ln !== undefined) link.linkName = ln;
    const nsid = num(entry["link_netnsid"]);
    if (nsid !== undefined) link.linkNetnsid = nsid;
    if (Array.isArray(entry["altnames"])) link.altnames = entry["altnames"].filter((a): a is string => typeof a === "string");
    const info = entry["linkinfo"];
    if (isObj(info)) {
      link.kind = str(info["info_kind"]);
      link.slaveKind = str(info["info_slave_kind"]);
      const data = isObj(info["info_data"]) ? info["info_data"] : undefined;
      if (data && link.kind === "vxlan") link.vxlan = vxlanFromJson(data);
      if (data && link.kind === "bridge") link.bridge = bridgeFromJson(data);
    }
    const addrInfo = entry["addr_info"];
    if (Array.isArray(addrInfo)) {
      for (const a of addrInfo) {
        if (!isObj(a)) continue;
        const family = str(a["family"]);
        const local = str(a["local"]);
        const prefixlen = num(a["prefixlen"]);
        if ((family !== "inet" && family !== "inet6") || !local || prefixlen === undefined) continue;
        link.addresses.push({
          family,
          local,
          prefixlen,
          scope: str(a["scope"]),
          label: str(a["label"]),
          broadcast: str(a["broadcast"]),
          peer: str(a["address"]),
        });
      }
    }
    return link;
  });
}

export function parseIpRouteJson(text: string, command = "ip -j route show"): IpRoute[] {
  const data = requireArray(command, parseJsonOutput(command, text));
  return data.map((entry, i) => {
    if (!isObj(entry) || typeof entry["dst"] !== "string") {
      throw new ParseError(command, `route entry ${i} has no dst: ${JSON.stringify(entry).slice(0, 120)}`);
    }
    const route: IpRoute = {
      dst: entry["dst"],
      flags: Array.isArray(entry["flags"]) ? entry["flags"].filter((f): f is string => typeof f === "string") : [],
    };
    const type = str(entry["type"]);
    if (type) route.type = type;
    const gw = str(entry["gateway"]);
    if (gw) route.gateway = gw;
    const dev = str(entry["dev"]);
    if (dev) route.dev = dev;
    const proto = str(entry["protocol"]);
    if (proto) route.protocol = proto;
    const scope = str(entry["scope"]);
    if (scope) route.scope = scope;
    const src = str(entry["prefsrc"]);
    if (src) route.prefsrc = src;
    const metric = num(entry["metric"]);
    if (metric !== undefined) route.metric = metric;
    const table = str(entry["table"]);
    if (table) route.table = table;
    return route;
  });
}

// ---------------------------------------------------------------- text ----

const HEADER = /^(\d+):\s+([^\s:@]+)(?:@([^\s:]+))?:\s+<([^>]*)>(.*)$/;
const KNOWN_SLAVE_KINDS = new Set(["bridge_slave", "bond_slave", "team_slave", "vrf_slave"]);

function intAt(command: string, tokens: string[], i: number, what: string, lineNo: number, line: string): number {
  const t = tokens[i];
  if (t === undefined || !/^-?\d+$/.test(t)) throw new ParseError(command, `expected a number after "${what}"`, lineNo, line);
  return Number(t);
}

function parseHeader(command: string, m: RegExpExecArray, lineNo: number, line: string): IpLink {
  const link: IpLink = {
    ifindex: Number(m[1]),
    name: m[2]!,
    flags: m[4]!.split(",").filter((f) => f !== ""),
    mtu: NaN,
    addresses: [],
  };
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
        link.mtu = intAt(command, tokens, ++i, t, lineNo, line);
        break;
      case "qdisc":
        link.qdisc = tokens[++i];
        break;
      case "master":
        link.master = tokens[++i];
        break;
      case "state":
        link.operstate = tokens[++i];
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

function parseLinkLine(link: IpLink, tokens: string[]): void {
  link.linkType = tokens[0]!.slice("link/".length);
  if (tokens[1] && tokens[1] !== "brd") link.mac = tokens[1];
  for (let i = 2; i < tokens.length; i++) {
    if (tokens[i] === "promiscuity") link.detailed = true;
    if (tokens[i] === "link-netnsid" && tokens[i + 1] !== undefined) link.linkNetnsid = Number(tokens[++i]);
    else if (tokens[i] === "link-netns" && tokens[i + 1] !== undefined) link.linkNetnsName = tokens[++i];
  }
}

function parseVxlanTokens(command: string, tokens: string[], lineNo: number, line: string): VxlanInfo {
  const v: VxlanInfo = { id: NaN, proxy: false, l2miss: false, l3miss: false, learning: true };
  for (let i = 1; i < tokens.length; i++) {
    const t = tokens[i]!;
    switch (t) {
      case "id":
        v.id = intAt(command, tokens, ++i, t, lineNo, line);
        break;
      case "dstport":
        v.dstport = intAt(command, tokens, ++i, t, lineNo, line);
        break;
      case "srcport":
        v.srcport = [intAt(command, tokens, i + 1, t, lineNo, line), intAt(command, tokens, i + 2, t, lineNo, line)];
        i += 2;
        break;
      case "ageing":
        v.ageing = intAt(command, tokens, ++i, t, lineNo, line);
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
    return i >= 0 ? intAt(command, tokens, i + 1, key, lineNo, line) : undefined;
  };
  const fd = get("forward_delay");
  const ht = get("hello_time");
  const ma = get("max_age");
  if (fd === undefined || ht === undefined || ma === undefined) {
    throw new ParseError(command, "bridge details without forward_delay/hello_time/max_age", lineNo, line);
  }
  return { forwardDelay: fd, helloTime: ht, maxAge: ma, ageingTime: get("ageing_time"), stpState: get("stp_state") };
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
  if (family === "inet" && !/^\d{1,3}(\.\d{1,3}){3}$/.test(local)) {
    throw new ParseError(command, `malformed IPv4 address "${addr}"`, lineNo, line);
  }
  if (family === "inet6" && !/^[0-9a-fA-F:.]+$/.test(local)) {
    throw new ParseError(command, `malformed IPv6 address "${addr}"`, lineNo, line);
  }
  const a: IpAddress = { family, local, prefixlen };
  if (peer) a.peer = peer.split("/")[0];
  for (; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t === "brd") a.broadcast = tokens[++i];
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
      parseLinkLine(cur, tokens);
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
    if (dst === undefined || !isRouteDst(dst)) throw new ParseError(command, `expected a destination, got "${dst ?? ""}"`, lineNo, line);
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
          route.prefsrc = v;
          break;
        case "metric":
          route.metric = Number(v);
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
