/**
 * model: a typed topology of the lab built from the gathered outputs (pure).
 *
 *   LabModel
 *     hosts[]            one per inventory host
 *       namespaces[]     host | overlay (1-<net id>) | lb (lb_<net id>) | ingress_sbox | sandbox (a task) | unknown
 *         interfaces[]   name, ifindex, kind, mtu, state, master, mac, addresses, vxlan/bridge details, peer
 *         routes[]
 *       networks[], containers[], sockets[], ...
 *     vethPairs[]        veth ends resolved ACROSS namespaces (peer ifindex + link-netnsid, confirmed by the reverse pointer)
 *     bridges[]          bridges with their member ports
 *     tunnels[]          per overlay network: the vxlan devices of all hosts (the tunnel between hosts)
 *
 * That is enough both for the checks and to draw the lab (namespaces as
 * boxes, veth pairs as edges, bridges with members, vxlan tunnels between
 * hosts). Parse failures never throw out of buildModel: they are recorded as
 * issues on the host (and namespace) they concern, and the checks that need
 * the data report them.
 */
import { ParseError } from "./errors";
import type { FramedOutput, RawSection } from "../framing";
import type { Gathered } from "./gather";
import { DEFAULT_NETNS_DIR } from "./gather-script";
import type { Inventory, Role } from "./inventory";
import {
  type ContainerInfo,
  type DockerInfo,
  type DockerNetwork,
  type NetworkLsRow,
  type NodeRow,
  parseContainerInspect,
  parseDockerInfoJson,
  parseDockerVersion,
  parseNetworkInspect,
  parseNetworkLs,
  parseNodeLs,
  parseServiceInspect,
  parseServicePs,
  type ServiceInfo,
  type ServicePsRow,
} from "./parse/docker";
import { type BridgeInfo, type IpAddress, type IpLink, type IpRoute, parseIpLinks, parseIpRoutes, type VlanInfo, type VxlanInfo } from "./parse/ip";
import { type OsRelease, parseEthtoolStats, parseNetnsInodes, parseNetnsLs, parseOsRelease, parseSingleWord, parseSs, type Socket } from "./parse/system";

export type NamespaceKind = "host" | "overlay" | "lb" | "ingress_sbox" | "sandbox" | "unknown";

export interface IfaceRef {
  host: string;
  namespace: string;
  ifname: string;
  ifindex: number;
}

export interface Iface {
  name: string;
  ifindex: number;
  /** veth, bridge, vxlan, loopback, device (a NIC: no linkinfo kind), or another linkinfo kind; "unknown" without -d. */
  kind: string;
  mtu: number;
  /** operstate: UP, DOWN, UNKNOWN... */
  state?: string;
  flags: string[];
  master?: string;
  mac?: string;
  addresses: IpAddress[];
  /** ifindex the kernel names as this device's link (the veth peer), maybe in another namespace. */
  peerIfindex?: number;
  /** Namespace id of the peer as seen from this namespace (absent: same namespace). */
  linkNetnsid?: number;
  /** peer_ifindex from `ethtool -S` (veths). */
  ethtoolPeerIfindex?: number;
  vxlan?: VxlanInfo;
  bridge?: BridgeInfo;
  /** A VLAN sub-interface's id and protocol. */
  vlan?: VlanInfo;
  /** The device this one is stacked on, by name, when it lives in the same namespace (a VLAN's NIC). */
  link?: string;
  /** The other end of a veth, once resolved. */
  peer?: IfaceRef;
}

export interface TaskRef {
  containerId: string;
  containerName: string;
  service?: string;
  taskId?: string;
  taskName?: string;
}

export interface Namespace {
  /** "host", or the name under the lab's netns directory (/var/run/docker/netns). */
  id: string;
  host: string;
  kind: NamespaceKind;
  path?: string;
  inode?: number;
  /** For overlay and lb namespaces: the docker network it belongs to. */
  network?: { name: string; id: string };
  /** For task sandboxes. */
  task?: TaskRef;
  interfaces: Iface[];
  routes: IpRoute[];
  /** Which namespace each link-netnsid of this namespace refers to (learnt from veth pairs). */
  nsids: Record<number, string>;
  /** Why some of this namespace's data is missing. */
  issues: string[];
}

/**
 * Why a section's data is missing: never gathered (missing: the script did not
 * run it; cut-off: the output ended before it; discarded: it arrived damaged),
 * the command is not installed (not-found), timed out, failed, or its output
 * could not be parsed.
 */
export type IssueKind = "missing" | "cut-off" | "discarded" | "not-found" | "timeout" | "failed" | "parse" | "ambiguous";

export interface Issue {
  key: string;
  message: string;
  kind: IssueKind;
}

export interface HostModel {
  name: string;
  address: string;
  /** Role the inventory declares. */
  role: Role;
  /** The host answered (SSH worked and the script ran). */
  reachable: boolean;
  /** Why the host could not be gathered (connection refused on port 22, ...), when it could not. */
  error?: string;
  /**
   * Set when the Docker engine did not answer (not running, not installed): every
   * docker-derived view of this host is missing for that reason.
   */
  dockerDown?: string;
  /** `docker service inspect` answered that the service does not exist (a finding, not missing data). */
  serviceMissing?: boolean;
  ipJson?: boolean;
  hostname?: string;
  os?: OsRelease;
  virt?: string;
  kernel?: string;
  dockerVersion?: string;
  info?: DockerInfo;
  /** Manager-only views (present when this host is a manager). */
  nodes?: NodeRow[];
  serviceTasks?: ServicePsRow[];
  service?: ServiceInfo;
  networkLs?: NetworkLsRow[];
  networks?: DockerNetwork[];
  containers?: ContainerInfo[];
  /** `docker exec <task> ip addr` per container id (SB-3). */
  execLinks: Record<string, IpLink[]>;
  execRoutes: Record<string, IpRoute[]>;
  netnsNames?: string[];
  sockets?: Socket[];
  namespaces: Namespace[];
  issues: Issue[];
  /** Framing problems of the gathered output (cut off, corrupted). */
  gatherProblems: string[];
}

export interface VethPair {
  a: IfaceRef;
  b: IfaceRef;
  /** Both ends point at each other (ifindex and reverse pointer agree). */
  confirmed: boolean;
}

export interface BridgeModel {
  host: string;
  namespace: string;
  name: string;
  members: string[];
}

export interface VxlanTunnel {
  network: { name: string; id: string };
  vni?: number;
  endpoints: { host: string; namespace: string; ifname: string; vni?: number; underlay: string }[];
}

export interface LabModel {
  hosts: HostModel[];
  vethPairs: VethPair[];
  bridges: BridgeModel[];
  tunnels: VxlanTunnel[];
  /** The host whose manager views are used (first reachable manager). */
  manager?: string;
  /**
   * The evidence of the lab's probe (its traffic), when it ran: the lab's own observations,
   * opaque to verify; the lab's checks judge them.
   */
  probe?: unknown;
}

// ------------------------------------------------------------------------

const COMMANDS: Record<string, string> = {
  "os-release": "cat /etc/os-release",
  hostname: "cat /proc/sys/kernel/hostname",
  virt: "systemd-detect-virt",
  kernel: "cat /proc/sys/kernel/osrelease (uname -r)",
  "docker-version": "docker version --format '{{json .}}'",
  "docker-info": "docker info --format '{{json .}}'",
  "docker-node-ls": "docker node ls",
  "docker-service-ps": "docker service ps <service> --no-trunc",
  "docker-service-inspect": "docker service inspect <service>",
  "docker-network-ls": "docker network ls --no-trunc",
  "docker-network-ids": "docker network ls -q --no-trunc",
  "docker-container-ids": "docker ps -q --no-trunc",
  "docker-network-inspect": "docker network inspect <all networks>",
  "docker-ps": "docker ps --no-trunc",
  "docker-inspect": "docker inspect <running containers>",
  ss: "ss -Hlntu",
};

/** Human-readable command for a section key; `netnsDir` is where the lab's docker keeps its namespaces. */
export function commandOf(key: string, netnsDir: string = DEFAULT_NETNS_DIR): string {
  if (COMMANDS[key]) return COMMANDS[key];
  if (key === "netns-ls") return `ls -1 ${netnsDir}`;
  if (key === "netns-inodes") return `stat -L -c %i ${netnsDir}/*`;
  const m = /^(ip-link|ip-addr|ip-route)@(host|netns\/(.+))$/.exec(key);
  if (m) {
    const cmd = m[1] === "ip-link" ? "ip -d link show" : m[1] === "ip-addr" ? "ip addr show" : "ip route show";
    return m[2] === "host" ? cmd : `nsenter --net=${netnsDir}/${m[3]} ${cmd}`;
  }
  const e = /^ethtool@netns\/([^/]+)\/(.+)$/.exec(key);
  if (e) return `nsenter --net=${netnsDir}/${e[1]} ethtool -S ${e[2]}`;
  const x = /^exec-ip-(addr|route)\/(.+)$/.exec(key);
  if (x) return `docker exec ${x[2]!.slice(0, 12)} ip ${x[1]} show`;
  return key;
}

/** Did the Docker engine fail to answer `docker info`? The cause, in words. */
function dockerDownCause(s: RawSection | undefined, info: DockerInfo | undefined): string | undefined {
  if (!s) return undefined;
  const text = `${s.output}\n${s.stderr ?? ""}\n${(info?.serverErrors ?? []).join("\n")}`;
  if (s.rc === 127) return "docker is not installed (docker: command not found)";
  if (/Cannot connect to the Docker daemon|Is the docker daemon running|docker\.sock: connect: (no such file|connection refused)/i.test(text)) return "the Docker engine is not running";
  if (/permission denied while trying to connect to the Docker daemon/i.test(text)) return "the Docker engine refused the connection (permission denied on docker.sock)";
  if (s.rc === 124) return "the Docker engine did not answer (docker info timed out)";
  if (info?.serverErrors.length) return `the Docker engine did not answer: ${info.serverErrors[0]}`;
  return undefined;
}

class SectionReader {
  constructor(
    private readonly framed: FramedOutput | undefined,
    private readonly issues: Issue[],
    private readonly netnsDir: string,
  ) {}

  raw(key: string): RawSection | undefined {
    return this.framed?.sections[key];
  }

  /**
   * The output of a section that ran with exit code 0 (or one of `okCodes`),
   * else undefined with an issue recorded. Optional sections (manager-only...)
   * record nothing when absent.
   */
  get(key: string, opts: { optional?: boolean; okCodes?: number[] } = {}): string | undefined {
    const s = this.raw(key);
    const cmd = `\`${commandOf(key, this.netnsDir)}\``;
    if (!s) {
      if (opts.optional) return undefined;
      const discarded = this.framed?.discarded[key];
      if (discarded !== undefined) this.issues.push({ key, kind: "discarded", message: `${cmd}: its output arrived damaged (${discarded}) and was discarded` });
      else if (this.framed && !this.framed.complete) this.issues.push({ key, kind: "cut-off", message: `${cmd} was not gathered: the gather's output was cut off before it` });
      else this.issues.push({ key, kind: "missing", message: `${cmd} was not gathered` });
      return undefined;
    }
    const ok = opts.okCodes ?? [0];
    if (!ok.includes(s.rc)) {
      const err = (s.stderr ?? "").trim().split("\n").slice(-2).join(" / ");
      const kind: IssueKind = s.rc === 127 ? "not-found" : s.rc === 124 ? "timeout" : "failed";
      const what = kind === "not-found" ? "is not installed (command not found)" : kind === "timeout" ? "timed out" : `failed with exit code ${s.rc}`;
      this.issues.push({ key, kind, message: `${cmd} ${what}${err && kind !== "not-found" ? `: ${err}` : ""}` });
      return undefined;
    }
    return s.output;
  }

  parse<T>(key: string, parser: (text: string, command: string) => T, opts: { optional?: boolean; okCodes?: number[] } = {}): T | undefined {
    const text = this.get(key, opts);
    if (text === undefined) return undefined;
    try {
      return parser(text, commandOf(key, this.netnsDir));
    } catch (e) {
      this.issues.push({ key, kind: "parse", message: e instanceof ParseError ? e.message : `\`${commandOf(key, this.netnsDir)}\`: ${String(e)}` });
      return undefined;
    }
  }
}

function classifyKind(l: IpLink): string {
  if (l.kind) return l.kind;
  if (l.linkType === "loopback") return "loopback";
  return "unknown";
}

function toIface(l: IpLink): Iface {
  const iface: Iface = {
    name: l.name,
    ifindex: l.ifindex,
    kind: l.kind ?? (l.linkType === "loopback" ? "loopback" : l.detailed && l.linkType === "ether" ? "device" : classifyKind(l)),
    mtu: l.mtu,
    flags: l.flags,
    addresses: [...l.addresses],
  };
  if (l.operstate) iface.state = l.operstate;
  if (l.master) iface.master = l.master;
  if (l.mac) iface.mac = l.mac;
  if (l.linkIndex !== undefined) iface.peerIfindex = l.linkIndex;
  if (l.linkNetnsid !== undefined) iface.linkNetnsid = l.linkNetnsid;
  if (l.vxlan) iface.vxlan = l.vxlan;
  if (l.bridge) iface.bridge = l.bridge;
  if (l.vlan) iface.vlan = l.vlan;
  if (l.linkName !== undefined) iface.link = l.linkName;
  return iface;
}

/** Merge `ip -d link` (details) with `ip addr` (addresses) by ifindex. */
function mergeLinks(details: IpLink[] | undefined, addrs: IpLink[] | undefined): Iface[] {
  if (!details && !addrs) return [];
  const base = details ?? addrs!;
  const ifaces = base.map((l) => toIface(l));
  if (details && addrs) {
    for (const a of addrs) {
      const i = ifaces.find((x) => x.ifindex === a.ifindex && x.name === a.name);
      if (i) i.addresses = [...a.addresses];
      else ifaces.push(toIface(a));
    }
  }
  return ifaces;
}

function kindOfNamespace(name: string, containers: ContainerInfo[] | undefined, networks: DockerNetwork[] | undefined): Pick<Namespace, "kind" | "network" | "task"> {
  if (name === "ingress_sbox") return { kind: "ingress_sbox" };
  const byPrefix = (prefix: string): { name: string; id: string } | undefined => {
    const n = networks?.find((x) => x.id.startsWith(prefix));
    return n ? { name: n.name, id: n.id } : undefined;
  };
  if (/^1-[a-z0-9]+$/.test(name)) {
    const network = byPrefix(name.slice(2));
    return network ? { kind: "overlay", network } : { kind: "overlay" };
  }
  if (/^lb_[a-z0-9]+$/.test(name)) {
    const network = byPrefix(name.slice(3));
    return network ? { kind: "lb", network } : { kind: "lb" };
  }
  const c = containers?.find((x) => x.sandboxKey.split("/").pop() === name);
  if (c) {
    const task: TaskRef = { containerId: c.id, containerName: c.name };
    if (c.service) task.service = c.service;
    if (c.taskId) task.taskId = c.taskId;
    if (c.taskName) task.taskName = c.taskName;
    return { kind: "sandbox", task };
  }
  return { kind: "unknown" };
}

function buildHost(invHost: Inventory["hosts"][number], gathered: Gathered["hosts"][number] | undefined, netnsDir: string): HostModel {
  const host: HostModel = {
    name: invHost.name,
    address: invHost.address,
    role: invHost.role,
    reachable: false,
    execLinks: {},
    execRoutes: {},
    namespaces: [],
    issues: [],
    gatherProblems: [],
  };
  if (!gathered || !gathered.ok || !gathered.framed) {
    host.error = gathered?.error ?? "host was not gathered";
    return host;
  }
  host.reachable = true;
  const framed = gathered.framed;
  host.gatherProblems = [...framed.problems];
  const r = new SectionReader(framed, host.issues, netnsDir);

  const meta = r.get("meta");
  if (meta !== undefined) host.ipJson = /^ip_json=1$/m.test(meta);
  host.os = r.parse("os-release", parseOsRelease);
  host.hostname = r.parse("hostname", parseSingleWord);
  // systemd-detect-virt exits 1 when it prints "none".
  host.virt = r.parse("virt", parseSingleWord, { okCodes: [0, 1] });
  host.kernel = r.parse("kernel", parseSingleWord);
  host.info = r.parse("docker-info", parseDockerInfoJson);
  host.dockerDown = dockerDownCause(framed.sections["docker-info"], host.info);
  if (host.info?.serverErrors.length) delete host.info;
  // Gather scripts before v2 asked `docker version` too; docker info has the same server version.
  host.dockerVersion = r.parse("docker-version", parseDockerVersion, { optional: true })?.server ?? (host.info?.serverVersion || undefined);
  host.nodes = r.parse("docker-node-ls", parseNodeLs, { optional: true });

  const svcRaw = framed.sections["docker-service-inspect"];
  if (svcRaw && svcRaw.rc !== 0 && /no such service/i.test(`${svcRaw.output}\n${svcRaw.stderr ?? ""}`)) {
    host.serviceMissing = true;
  } else {
    const services = r.parse("docker-service-inspect", parseServiceInspect, { optional: true });
    if (services) {
      if (services[0]) host.service = services[0];
      else host.serviceMissing = true;
    }
  }
  const psRaw = framed.sections["docker-service-ps"];
  const psMissing = psRaw !== undefined && psRaw.rc !== 0 && /no such service/i.test(`${psRaw.output}\n${psRaw.stderr ?? ""}`);
  if (psMissing) host.serviceTasks = [];
  else host.serviceTasks = r.parse("docker-service-ps", parseServicePs, { optional: true });
  host.networks = r.parse("docker-network-inspect", parseNetworkInspect);
  // Gathers before v3 listed the networks as a table; v3 lists their IDs only (`-q`) and the
  // listing is the inspect's: names, drivers and scopes are the same fields.
  if (framed.sections["docker-network-ls"]) host.networkLs = r.parse("docker-network-ls", parseNetworkLs);
  else if (r.get("docker-network-ids") !== undefined && host.networks) host.networkLs = host.networks.map((n) => ({ id: n.id, name: n.name, driver: n.driver, scope: n.scope }));
  host.containers = r.parse("docker-inspect", parseContainerInspect);
  for (const key of Object.keys(framed.sections)) {
    const m = /^exec-ip-(addr|route)\/(.+)$/.exec(key);
    if (!m) continue;
    if (m[1] === "addr") {
      const links = r.parse(key, parseIpLinks);
      if (links) host.execLinks[m[2]!] = links;
    } else {
      const routes = r.parse(key, (t, c) => parseIpRoutes(t, c, { allowEmpty: true }));
      if (routes) host.execRoutes[m[2]!] = routes;
    }
  }
  host.netnsNames = r.parse("netns-ls", parseNetnsLs);
  const inodes = r.parse("netns-inodes", parseNetnsInodes) ?? {};
  host.sockets = r.parse("ss", parseSs);

  const nsIds = ["host", ...(host.netnsNames ?? [])];
  for (const id of nsIds) {
    const suffix = id === "host" ? "host" : `netns/${id}`;
    const nsIssues: Issue[] = [];
    const nr = new SectionReader(framed, nsIssues, netnsDir);
    const details = nr.parse(`ip-link@${suffix}`, parseIpLinks);
    const addrs = nr.parse(`ip-addr@${suffix}`, parseIpLinks);
    const routes = nr.parse(`ip-route@${suffix}`, (t, c) => parseIpRoutes(t, c, { allowEmpty: true })) ?? [];
    const ns: Namespace = {
      id,
      host: host.name,
      ...(id === "host" ? { kind: "host" as const } : kindOfNamespace(id, host.containers, host.networks)),
      interfaces: mergeLinks(details, addrs),
      routes,
      nsids: {},
      issues: nsIssues.map((i) => i.message),
    };
    if (id !== "host") ns.path = `${netnsDir}/${id}`;
    const inode = inodes[id === "host" ? "@host" : id];
    if (inode !== undefined) ns.inode = inode;
    for (const iface of ns.interfaces) {
      const key = `ethtool@netns/${id}/${iface.name}`;
      if (framed.sections[key]) {
        const stats = nr.parse(key, parseEthtoolStats, { optional: true });
        if (stats && stats["peer_ifindex"] !== undefined) iface.ethtoolPeerIfindex = stats["peer_ifindex"];
      }
    }
    host.issues.push(...nsIssues);
    host.namespaces.push(ns);
  }
  return host;
}

const isVethLike = (i: Iface): boolean => i.kind === "veth" || (i.kind === "unknown" && i.peerIfindex !== undefined);

/**
 * Resolve veth pairs across the namespaces of one host. Mutates iface.peer
 * and ns.nsids. An end X (ifindex i, peer ifindex p, link-netnsid n) pairs
 * with the end Y in another namespace whose ifindex is p and whose peer
 * ifindex is i (the reverse pointer). ifindexes are per namespace, so more
 * than one Y can match; then the link-netnsids decide: each namespace's
 * nsid -> namespace map is learnt from unambiguous pairs (and from the vxlan
 * devices, whose link namespace is the host's) and must stay one-to-one.
 * What stays ambiguous is left unpaired and reported, never guessed.
 */
function pairVeths(host: HostModel): VethPair[] {
  type End = { ns: Namespace; iface: Iface };
  const ends: End[] = [];
  for (const ns of host.namespaces) for (const iface of ns.interfaces) if (isVethLike(iface) && iface.peerIfindex !== undefined) ends.push({ ns, iface });
  const hostNs = host.namespaces.find((n) => n.kind === "host");
  if (hostNs) {
    for (const ns of host.namespaces.filter((n) => n.kind === "overlay")) {
      // libnetwork creates the vxlan device in the host namespace and moves it: its link-netnsid names the host.
      for (const vx of ns.interfaces.filter((i) => i.kind === "vxlan" && i.linkNetnsid !== undefined)) ns.nsids[vx.linkNetnsid!] = hostNs.id;
    }
  }
  const pairs: VethPair[] = [];
  const paired = new Set<Iface>();
  const ref = (ns: Namespace, i: Iface): IfaceRef => ({ host: host.name, namespace: ns.id, ifname: i.name, ifindex: i.ifindex });
  const mapsTo = (from: Namespace, nsid: number | undefined, to: Namespace): boolean => {
    if (nsid === undefined) return from === to;
    if (from === to) return false;
    const known = from.nsids[nsid];
    if (known !== undefined) return known === to.id;
    // one-to-one: `to` must not already be known under another nsid
    return !Object.entries(from.nsids).some(([k, v]) => v === to.id && Number(k) !== nsid);
  };
  const candidates = (x: End, strict: boolean): End[] =>
    ends.filter(
      (y) =>
        y.iface !== x.iface &&
        !paired.has(y.iface) &&
        y.iface.ifindex === x.iface.peerIfindex &&
        (!strict || y.iface.peerIfindex === x.iface.ifindex) &&
        mapsTo(x.ns, x.iface.linkNetnsid, y.ns) &&
        (!strict || mapsTo(y.ns, y.iface.linkNetnsid, x.ns)),
    );
  const link = (x: End, y: End, confirmed: boolean): void => {
    x.iface.peer = ref(y.ns, y.iface);
    y.iface.peer = ref(x.ns, x.iface);
    if (x.iface.linkNetnsid !== undefined) x.ns.nsids[x.iface.linkNetnsid] = y.ns.id;
    if (y.iface.linkNetnsid !== undefined && confirmed) y.ns.nsids[y.iface.linkNetnsid] = x.ns.id;
    paired.add(x.iface);
    paired.add(y.iface);
    pairs.push({ a: ref(x.ns, x.iface), b: ref(y.ns, y.iface), confirmed });
  };
  // Mutually unique confirmed matches first; each teaches nsid mappings that disambiguate others.
  let progress = true;
  while (progress) {
    progress = false;
    for (const x of ends) {
      if (paired.has(x.iface)) continue;
      const c = candidates(x, true);
      if (c.length === 1 && candidates(c[0]!, true).length === 1) {
        link(x, c[0]!, true);
        progress = true;
      }
    }
  }
  // Then ends whose peer does not point back, when unambiguous (e.g. the other end was not gathered).
  for (const x of ends) {
    if (paired.has(x.iface)) continue;
    const c = candidates(x, false);
    if (c.length === 1 && !paired.has(c[0]!.iface)) link(x, c[0]!, false);
    else if (c.length > 1) {
      host.issues.push({
        key: `veth@${x.ns.id}/${x.iface.name}`,
        kind: "ambiguous",
        message: `cannot tell which of ${c.map((y) => `${y.ns.id}:${y.iface.name}`).join(", ")} is the peer of ${x.ns.id}:${x.iface.name}@if${x.iface.peerIfindex}`,
      });
    }
  }
  return pairs;
}

/** Build the lab model from what gather returned. Pure. */
export function buildModel(gathered: Gathered, inventory: Inventory, opts: { netnsDir?: string } = {}): LabModel {
  const netnsDir = opts.netnsDir ?? DEFAULT_NETNS_DIR;
  const hosts = inventory.hosts.map((h) => buildHost(h, gathered.hosts.find((g) => g.host === h.name), netnsDir));
  const vethPairs = hosts.flatMap(pairVeths);
  const bridges: BridgeModel[] = [];
  for (const h of hosts) {
    for (const ns of h.namespaces) {
      for (const br of ns.interfaces.filter((i) => i.kind === "bridge")) {
        bridges.push({ host: h.name, namespace: ns.id, name: br.name, members: ns.interfaces.filter((i) => i.master === br.name).map((i) => i.name) });
      }
    }
  }
  const tunnels: VxlanTunnel[] = [];
  for (const h of hosts) {
    for (const ns of h.namespaces.filter((n) => n.kind === "overlay")) {
      const net = ns.network ?? { name: "?", id: ns.id.slice(2) };
      let t = tunnels.find((x) => x.network.id === net.id || (net.name !== "?" && x.network.name === net.name));
      if (!t) {
        t = { network: net, endpoints: [] };
        tunnels.push(t);
      }
      for (const vx of ns.interfaces.filter((i) => i.kind === "vxlan")) {
        const ep: VxlanTunnel["endpoints"][number] = { host: h.name, namespace: ns.id, ifname: vx.name, underlay: h.address };
        if (vx.vxlan) ep.vni = vx.vxlan.id;
        t.endpoints.push(ep);
        if (t.vni === undefined && vx.vxlan) t.vni = vx.vxlan.id;
      }
    }
  }
  const manager = hosts.find((h) => h.reachable && h.info?.swarm.controlAvailable)?.name ?? hosts.find((h) => h.reachable && h.nodes)?.name;
  const model: LabModel = { hosts, vethPairs, bridges, tunnels };
  if (manager) model.manager = manager;
  return model;
}

// ------------------------------------------------------------ queries ----

export function namespaceOf(host: HostModel, id: string): Namespace | undefined {
  return host.namespaces.find((n) => n.id === id);
}

export function ifaceOf(ns: Namespace | undefined, name: string): Iface | undefined {
  return ns?.interfaces.find((i) => i.name === name);
}

export function resolveRef(model: LabModel, ref: IfaceRef): { host: HostModel; ns: Namespace; iface: Iface } | undefined {
  const host = model.hosts.find((h) => h.name === ref.host);
  const ns = host?.namespaces.find((n) => n.id === ref.namespace);
  const iface = ns?.interfaces.find((i) => i.ifindex === ref.ifindex && i.name === ref.ifname);
  return host && ns && iface ? { host, ns, iface } : undefined;
}

export function ipv4s(iface: Iface | undefined): IpAddress[] {
  return iface ? iface.addresses.filter((a) => a.family === "inet") : [];
}
