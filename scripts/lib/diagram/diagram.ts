/**
 * A diagram of the live lab, drawn from the data: per host a box, inside it
 * a box per network namespace (host, ingress_sbox, overlays, lb_, task
 * sandboxes), inside those the interfaces (name, addresses, MTU), bridges as
 * boxes around their member ports, veth pairs as edges between namespaces,
 * each vxlan device tied to the host's underlay NIC, and the VXLAN tunnels
 * between the hosts' underlay NICs labelled with VNI and UDP port. A lab may
 * add its own plumbing (DiagramInput.links: ESP between hosts, a VLAN
 * sub-interface and its tag, macvlan parents, published ports) and notes under
 * a host's title (DiagramHost.notes).
 *
 * Layout is Graphviz `dot` (compiled to WebAssembly: @viz-js/viz, offline);
 * nothing is placed by hand. buildDot() is pure; DiagramRenderer turns DOT
 * into a self-contained SVG (no XML prolog, DOCTYPE, comments, external
 * fonts or scripts). renderHtmlReport() wraps a facts table and the SVG in
 * one self-contained HTML page.
 */
import { visible, visibleLines } from "../verify/visible";

// ------------------------------------------------------------------ input ----

export type NsKind = "host" | "overlay" | "lb" | "ingress_sbox" | "task" | "other";

export interface DiagramIface {
  name: string;
  ifindex?: number;
  /** veth, bridge, vxlan, loopback, device (a NIC), ... */
  kind?: string;
  mtu?: number;
  /** CIDR text, e.g. "192.168.200.3/24". */
  addresses?: string[];
  /** The bridge this interface is a port of (same namespace). */
  master?: string;
  mac?: string;
  state?: string;
  vxlan?: { id: number; port?: number };
}

export interface DiagramNamespace {
  /** Unique within its host: "host", "ingress_sbox", "1-t7zfankbs8", "lb_t7zfankbs", "f9f4ceb4012b". */
  id: string;
  kind: NsKind;
  /** What it is, in words: "demonet overlay", "task demoservice.1". */
  label?: string;
  interfaces: DiagramIface[];
}

export interface DiagramHost {
  name: string;
  /** Underlay address, e.g. 192.168.122.10. */
  address?: string;
  role?: string;
  /** Underlay NIC name; when absent, the host-namespace interface holding `address`. */
  underlay?: string;
  namespaces: DiagramNamespace[];
  /** Extra lines drawn under the host's title, e.g. "published 5000/tcp → web:80 (ingress)". */
  notes?: string[];
}

export interface DiagramEnd {
  host: string;
  namespace: string;
  iface: string;
}

export interface DiagramVeth {
  a: DiagramEnd;
  b: DiagramEnd;
}

export interface DiagramTunnel {
  vni: number;
  /** UDP port of the tunnel, when known (the diagram never guesses one). */
  port?: number;
  /** Overlay network name, e.g. "demonet". */
  network?: string;
  /** The vxlan devices, one per host. */
  endpoints: DiagramEnd[];
}

/**
 * A labelled edge between two interfaces that is none of the above: what a
 * lab's own plumbing adds (IPsec ESP between the hosts' underlay NICs, a VLAN
 * sub-interface on its parent, a macvlan on its parent, a published port).
 */
export interface DiagramLink {
  a: DiagramEnd;
  b: DiagramEnd;
  /** "esp" | "vlan" | "macvlan" | "published" (each its own colour), or any other class (drawn grey). */
  kind: string;
  /** Drawn on the edge, e.g. "ESP (IPsec)", "802.1Q tag 100", "5000/tcp → 80". */
  label: string;
  /** Shown on hover (default: the kind, the label and both ends). */
  tooltip?: string;
}

/** What a lab adds to the drawing of its model: links, and notes by host name. */
export interface DiagramPlumbing {
  links: DiagramLink[];
  notes: Record<string, string[]>;
}

export interface DiagramInput {
  title?: string;
  hosts: DiagramHost[];
  vethPairs: DiagramVeth[];
  /** When absent, derived from the vxlan interfaces (grouped by VNI and port). */
  tunnels?: DiagramTunnel[];
  /** A lab's own plumbing, drawn as labelled edges (class `link link-<kind>`). */
  links?: DiagramLink[];
}

export interface DiagramOptions {
  /** Draw loopback interfaces (default false: every namespace has one). */
  showLoopback?: boolean;
  /** Show MAC addresses (default false). */
  showMac?: boolean;
}

export class DiagramInputError extends Error {
  override readonly name = "DiagramInputError";
}

// ------------------------------------------------------------------ ids ----

function clean(part: string): string {
  return part.replace(/[^A-Za-z0-9_.-]/g, "_").replace(/-{2,}/g, (m) => "-" + "_".repeat(m.length - 1));
}

/** SVG id of a host box. */
export function hostId(host: string): string {
  return `host.${clean(host)}`;
}
/** SVG id of a namespace box. */
export function nsId(host: string, ns: string): string {
  return `ns.${clean(host)}.${clean(ns)}`;
}
/** SVG id of an interface node. */
export function ifaceId(host: string, ns: string, iface: string): string {
  return `if.${clean(host)}.${clean(ns)}.${clean(iface)}`;
}
/** SVG id of a veth-pair edge. */
export function vethId(p: DiagramVeth): string {
  return `veth.${clean(p.a.host)}.${clean(p.a.namespace)}.${clean(p.a.iface)}.${clean(p.b.host)}.${clean(p.b.namespace)}.${clean(p.b.iface)}`;
}
/** SVG id of a tunnel edge between two hosts. */
export function tunnelId(t: DiagramTunnel, a: string, b: string): string {
  return `tunnel.${t.vni}.${clean(a)}.${clean(b)}`;
}
/** SVG id of a link edge (a repeat of the same kind between the same ends gets ".2", ".3"... in buildDot). */
export function linkId(l: DiagramLink): string {
  return `link.${clean(l.kind)}.${clean(l.a.host)}.${clean(l.a.namespace)}.${clean(l.a.iface)}.${clean(l.b.host)}.${clean(l.b.namespace)}.${clean(l.b.iface)}`;
}
function bridgeClusterId(host: string, ns: string, br: string): string {
  return `bridge.${clean(host)}.${clean(ns)}.${clean(br)}`;
}

// ------------------------------------------------------------- validation ----

function findNs(input: DiagramInput, host: string, ns: string): DiagramNamespace | undefined {
  return input.hosts.find((h) => h.name === host)?.namespaces.find((n) => n.id === ns);
}

function findIface(input: DiagramInput, e: DiagramEnd): DiagramIface | undefined {
  return findNs(input, e.host, e.namespace)?.interfaces.find((i) => i.name === e.iface);
}

/** Check that the input is consistent (unique names, every edge end exists). Throws DiagramInputError. */
export function validateDiagramInput(input: DiagramInput): void {
  if (!input || !Array.isArray(input.hosts) || input.hosts.length === 0) throw new DiagramInputError("hosts: must be a non-empty array");
  if (!Array.isArray(input.vethPairs)) throw new DiagramInputError("vethPairs: must be an array");
  const hostNames = new Set<string>();
  input.hosts.forEach((h, hi) => {
    if (!h.name) throw new DiagramInputError(`hosts[${hi}].name is missing`);
    if (hostNames.has(h.name)) throw new DiagramInputError(`hosts[${hi}].name ${JSON.stringify(h.name)} is used twice`);
    hostNames.add(h.name);
    const nsIds = new Set<string>();
    if (!Array.isArray(h.namespaces)) throw new DiagramInputError(`hosts[${hi}].namespaces must be an array`);
    h.namespaces.forEach((ns, ni) => {
      const where = `hosts[${hi}].namespaces[${ni}]`;
      if (!ns.id) throw new DiagramInputError(`${where}.id is missing`);
      if (nsIds.has(ns.id)) throw new DiagramInputError(`${where}.id ${JSON.stringify(ns.id)} is used twice on ${h.name}`);
      nsIds.add(ns.id);
      const names = new Set<string>();
      if (!Array.isArray(ns.interfaces)) throw new DiagramInputError(`${where}.interfaces must be an array`);
      for (const i of ns.interfaces) {
        if (!i.name) throw new DiagramInputError(`${where}: an interface has no name`);
        if (names.has(i.name)) throw new DiagramInputError(`${where}: interface ${i.name} appears twice`);
        names.add(i.name);
      }
    });
  });
  input.vethPairs.forEach((p, i) => {
    for (const side of ["a", "b"] as const) {
      const e = p[side];
      if (!e || !findIface(input, e)) throw new DiagramInputError(`vethPairs[${i}].${side}: ${e ? `${e.host}/${e.namespace}/${e.iface}` : "missing"} is not an interface of the input`);
    }
  });
  if (input.links !== undefined && !Array.isArray(input.links)) throw new DiagramInputError("links: must be an array");
  (input.links ?? []).forEach((l, i) => {
    if (!l || typeof l.kind !== "string" || !l.kind) throw new DiagramInputError(`links[${i}].kind is missing`);
    if (typeof l.label !== "string") throw new DiagramInputError(`links[${i}].label is missing`);
    for (const side of ["a", "b"] as const) {
      const e = l[side];
      if (!e || !findIface(input, e)) throw new DiagramInputError(`links[${i}] (${l.kind}).${side}: ${e ? `${e.host}/${e.namespace}/${e.iface}` : "missing"} is not an interface of the input`);
    }
  });
  input.hosts.forEach((h, hi) => {
    if (h.notes !== undefined && (!Array.isArray(h.notes) || h.notes.some((n) => typeof n !== "string"))) throw new DiagramInputError(`hosts[${hi}].notes must be an array of strings`);
  });
  for (const [ti, t] of (input.tunnels ?? []).entries()) {
    for (const e of t.endpoints) {
      if (!findIface(input, e)) throw new DiagramInputError(`tunnels[${ti}]: endpoint ${e.host}/${e.namespace}/${e.iface} is not an interface of the input`);
    }
  }
}

/**
 * The input with a lab's plumbing added: its links after the input's own, its notes after
 * each named host's own (pure; the input is not changed). No plumbing, or an empty one: the
 * input itself. A note for a host the input does not have is a DiagramInputError naming it;
 * a link's ends are checked when the input is drawn.
 */
export function withPlumbing(input: DiagramInput, plumbing: DiagramPlumbing | undefined): DiagramInput {
  const links = plumbing?.links ?? [];
  const notes = Object.entries(plumbing?.notes ?? {}).filter(([, n]) => n.length > 0);
  if (links.length === 0 && notes.length === 0) return input;
  for (const [name] of notes) {
    if (!input.hosts.some((x) => x.name === name)) throw new DiagramInputError(`plumbing notes: host ${JSON.stringify(name)} is not a host of the input`);
  }
  const byHost = new Map(notes);
  const out: DiagramInput = { ...input, hosts: input.hosts.map((x) => (byHost.has(x.name) ? { ...x, notes: [...(x.notes ?? []), ...byHost.get(x.name)!] } : x)) };
  if (links.length) out.links = [...(input.links ?? []), ...links];
  return out;
}

// -------------------------------------------------------------- derivation ----

/** Tunnels from the vxlan interfaces: one per (VNI, port) present on two hosts or more. */
export function deriveTunnels(input: DiagramInput): DiagramTunnel[] {
  const byKey = new Map<string, DiagramTunnel>();
  for (const h of input.hosts) {
    for (const ns of h.namespaces) {
      for (const i of ns.interfaces) {
        if (!i.vxlan) continue;
        const port = i.vxlan.port;
        const key = `${i.vxlan.id}/${port ?? "?"}`;
        let t = byKey.get(key);
        if (!t) {
          t = { vni: i.vxlan.id, endpoints: [] };
          if (port !== undefined) t.port = port;
          const network = /^(.*) overlay$/.exec(ns.label ?? "")?.[1];
          if (network) t.network = network;
          byKey.set(key, t);
        }
        t.endpoints.push({ host: h.name, namespace: ns.id, iface: i.name });
      }
    }
  }
  return [...byKey.values()].filter((t) => new Set(t.endpoints.map((e) => e.host)).size >= 2).sort((a, b) => a.vni - b.vni);
}

/** The host's underlay NIC in its host namespace: `underlay`, else the interface holding `address`. */
export function underlayOf(host: DiagramHost): { ns: DiagramNamespace; iface: DiagramIface } | undefined {
  const ns = host.namespaces.find((n) => n.kind === "host");
  if (!ns) return undefined;
  const byName = host.underlay ? ns.interfaces.find((i) => i.name === host.underlay) : undefined;
  if (byName) return { ns, iface: byName };
  if (host.address) {
    const byAddr = ns.interfaces.find((i) => (i.addresses ?? []).some((a) => a.split("/")[0] === host.address));
    if (byAddr) return { ns, iface: byAddr };
  }
  return undefined;
}

// -------------------------------------------------------------------- DOT ----

const FONT = "Helvetica";
/** What the SVG asks the browser for (Graphviz measured text with Helvetica metrics; these are metric-compatible). */
const FONT_STACK = "Helvetica, Arial, 'Liberation Sans', 'Nimbus Sans', sans-serif";

const NS_STYLE: Record<NsKind, { fill: string; border: string; title: string }> = {
  host: { fill: "#eef4fc", border: "#5b7fb5", title: "host namespace" },
  overlay: { fill: "#edf8ec", border: "#4f9a4a", title: "overlay namespace" },
  lb: { fill: "#fdf2e4", border: "#c98a2b", title: "load-balancer namespace" },
  ingress_sbox: { fill: "#f4eefb", border: "#8a63b8", title: "ingress sandbox" },
  task: { fill: "#fffbe0", border: "#b59b1f", title: "task sandbox" },
  other: { fill: "#f3f3f3", border: "#888888", title: "namespace" },
};
/** Order of namespace kinds in the DOT source (dot's ordering starts from it). */
const NS_ORDER: Record<NsKind, number> = { task: 0, lb: 1, ingress_sbox: 2, overlay: 3, other: 4, host: 5 };
/** Row of a namespace kind inside a host: sandboxes, then overlays, then the host namespace. */
const NS_ROW: Record<NsKind, number> = { task: 0, lb: 0, ingress_sbox: 0, overlay: 1, other: 1, host: 2 };
/**
 * Ranks per host: its title, then for each of the 3 rows a rank of namespace
 * (and bridge) titles and a rank of interfaces, then two free ranks where the
 * tunnel to the next host and its label pass.
 */
const RANKS_PER_HOST = 9;

const VETH_COLOR = "#1f5fbf";
const TUNNEL_COLOR = "#c0392b";
const ENCAP_COLOR = "#7f8c8d";
/** Colours of the links a lab adds, by kind; any other kind is LINK_OTHER_COLOR. */
const LINK_COLOR: Record<string, string> = { esp: "#8e24aa", vlan: "#e67e22", macvlan: "#00897b", published: "#2e7d32" };
const LINK_OTHER_COLOR = "#9e9e9e";
const LINK_LEGEND: Record<string, string> = { esp: "IPsec ESP", vlan: "802.1Q VLAN", macvlan: "macvlan", published: "published port" };
function linkColor(kind: string): string {
  return Object.prototype.hasOwnProperty.call(LINK_COLOR, kind) ? LINK_COLOR[kind]! : LINK_OTHER_COLOR;
}

/** Escape text for a Graphviz HTML-like label (control characters shown as escapes). */
function h(s: string): string {
  return visible(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}
/** Quote a DOT id / attribute value. */
function q(s: string): string {
  return `"${visible(s).replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

function ifaceLabel(i: DiagramIface, opts: DiagramOptions): string {
  const meta: string[] = [];
  if (i.kind && i.kind !== "device" && i.kind !== "unknown") meta.push(i.kind);
  if (i.ifindex !== undefined) meta.push(`if${i.ifindex}`);
  const rows: string[] = [
    `<TR><TD ALIGN="LEFT"><B>${h(i.name)}</B>${meta.length ? `<FONT COLOR="#555555">  ${h(meta.join(" · "))}</FONT>` : ""}</TD></TR>`,
  ];
  for (const a of i.addresses ?? []) rows.push(`<TR><TD ALIGN="LEFT">${h(a)}</TD></TR>`);
  const small: string[] = [];
  if (i.mtu !== undefined) small.push(`mtu ${i.mtu}`);
  if (i.vxlan) small.push(`vni ${i.vxlan.id}${i.vxlan.port !== undefined ? ` · udp ${i.vxlan.port}` : ""}`);
  if (i.state && i.state !== "UP" && i.state !== "UNKNOWN") small.push(i.state.toLowerCase());
  if (small.length) rows.push(`<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="9" COLOR="#444444">${h(small.join(" · "))}</FONT></TD></TR>`);
  if (opts.showMac && i.mac) rows.push(`<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="9" COLOR="#444444">${h(i.mac)}</FONT></TD></TR>`);
  return `<<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" CELLPADDING="2" COLOR="#666666" BGCOLOR="#ffffff" STYLE="ROUNDED">${rows.join("")}</TABLE>>`;
}

/** Titles are nodes, not cluster labels: dot routes edges around nodes, but may draw them across a cluster's label. */
function titleLabel(main: string, sub: string | undefined, size: number): string {
  return `<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="1"><TR><TD><FONT POINT-SIZE="${size}"><B>${h(main)}</B></FONT></TD></TR>${sub ? `<TR><TD><FONT POINT-SIZE="9" COLOR="#333333">${h(sub)}</FONT></TD></TR>` : ""}</TABLE>>`;
}

function bridgeTitle(br: DiagramIface): string {
  const sub: string[] = [];
  if (br.addresses?.length) sub.push(br.addresses.join(", "));
  if (br.mtu !== undefined) sub.push(`mtu ${br.mtu}`);
  return `<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="1"><TR><TD><FONT POINT-SIZE="10"><B>${h(br.name)}</B>  bridge${br.ifindex !== undefined ? ` · if${br.ifindex}` : ""}</FONT></TD></TR>${sub.length ? `<TR><TD><FONT POINT-SIZE="9">${h(sub.join(" · "))}</FONT></TD></TR>` : ""}</TABLE>>`;
}

/**
 * Global row (0-based, top to bottom) of a namespace. Sandboxes above
 * overlays above the host namespace; every other host mirrored (host
 * namespace on top), so consecutive hosts face each other with their underlay
 * NICs and the tunnel between them is short and vertical.
 */
function rowOf(input: DiagramInput, host: string, ns: string): { hostIndex: number; row: number } {
  const hi = input.hosts.findIndex((x) => x.name === host);
  const row = NS_ROW[findNs(input, host, ns)?.kind ?? "other"];
  return { hostIndex: hi, row: hi % 2 === 1 ? 2 - row : row };
}
/**
 * Each row is two ranks: the titles (namespace, bridge) and the interfaces.
 * On a mirrored host the titles go below the interfaces, so a namespace's
 * title always sits on the side away from the host's underlay, which is where
 * its veth edges come from.
 */
function titleRank(hostIndex: number, row: number): number {
  return hostIndex * RANKS_PER_HOST + 1 + 2 * row + (hostIndex % 2 === 1 ? 1 : 0);
}
function ifaceRank(hostIndex: number, row: number): number {
  return hostIndex * RANKS_PER_HOST + 1 + 2 * row + (hostIndex % 2 === 1 ? 0 : 1);
}

/** Orient an edge from the upper rank to the lower (dot ranks along edges). */
function ordered(input: DiagramInput, a: DiagramEnd, b: DiagramEnd): [DiagramEnd, DiagramEnd] {
  const ra = rowOf(input, a.host, a.namespace);
  const rb = rowOf(input, b.host, b.namespace);
  return ifaceRank(ra.hostIndex, ra.row) <= ifaceRank(rb.hostIndex, rb.row) ? [a, b] : [b, a];
}

function legendLabel(title: string, kinds: NsKind[], extra: { color: string; text: string }[] = []): string {
  const kindCells = kinds
    .map((k) => `<TD BGCOLOR="${NS_STYLE[k].fill}" BORDER="1" COLOR="${NS_STYLE[k].border}" STYLE="ROUNDED"><FONT POINT-SIZE="9">${h(NS_STYLE[k].title)}</FONT></TD>`)
    .join("");
  const line = (color: string, dash: boolean, text: string): string =>
    `<TD><FONT COLOR="${color}" POINT-SIZE="11"><B>${dash ? "- - -" : "&#8212;&#8212;"}</B></FONT><FONT POINT-SIZE="9">  ${h(text)}</FONT></TD>`;
  return `<<TABLE BORDER="0" CELLSPACING="4" CELLPADDING="3"><TR><TD ALIGN="LEFT" COLSPAN="${kinds.length + 3 + extra.length}"><FONT POINT-SIZE="15"><B>${h(title)}</B></FONT></TD></TR><TR>${kindCells}${line(VETH_COLOR, false, "veth pair")}${line(ENCAP_COLOR, true, "vxlan device → underlay NIC")}${line(TUNNEL_COLOR, false, "VXLAN tunnel (UDP)")}${extra.map((x) => line(x.color, false, x.text)).join("")}</TR></TABLE>>`;
}

/** Legend entries for the link kinds present, in order of first appearance (other kinds: one grey entry). */
function legendLinks(links: readonly DiagramLink[]): { color: string; text: string }[] {
  const out: { color: string; text: string }[] = [];
  const seen = new Set<string>();
  for (const l of links) {
    const known = Object.prototype.hasOwnProperty.call(LINK_COLOR, l.kind);
    const key = known ? l.kind : "\u0000other";
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ color: linkColor(l.kind), text: known ? LINK_LEGEND[l.kind]! : "other link" });
  }
  return out;
}

function hostTitleLabel(host: DiagramHost, sub: string): string {
  const head = `<FONT POINT-SIZE="15"><B>${h(host.name)}</B>${sub ? `  ${h(sub)}` : ""}</FONT>`;
  if (!host.notes?.length) return `<${head}>`;
  const notes = host.notes.map((n) => `<TR><TD ALIGN="LEFT"><FONT POINT-SIZE="10" COLOR="#333333">${h(n)}</FONT></TD></TR>`).join("");
  return `<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="1"><TR><TD ALIGN="LEFT">${head}</TD></TR>${notes}</TABLE>>`;
}

/** The DOT text of the diagram (pure). */
export function buildDot(input: DiagramInput, opts: DiagramOptions = {}): string {
  validateDiagramInput(input);
  const tunnels = input.tunnels ?? deriveTunnels(input);
  const ranks = new Map<number, string[]>();
  const place = (rank: number, id: string): void => {
    ranks.set(rank, [...(ranks.get(rank) ?? []), id]);
  };
  const out: string[] = [];
  const title = input.title ?? "Docker Swarm overlay lab";
  const kinds = (Object.keys(NS_STYLE) as NsKind[]).filter((k) => input.hosts.some((hh) => hh.namespaces.some((n) => n.kind === k)));
  out.push(`digraph lab {`);
  out.push(`  graph [id="lab", fontname=${q(FONT)}, fontsize=12, rankdir=TB, newrank=true, nodesep=0.3, ranksep=0.2, pad=0.25, bgcolor="white", labelloc="t", labeljust="l", label=${legendLabel(title, kinds, legendLinks(input.links ?? []))}];`);
  out.push(`  node [shape=plain, fontname=${q(FONT)}, fontsize=10];`);
  out.push(`  edge [fontname=${q(FONT)}, fontsize=10, arrowhead=none, arrowtail=none];`);

  const shown = (i: DiagramIface): boolean => opts.showLoopback === true || !(i.kind === "loopback" || i.name === "lo");

  input.hosts.forEach((host, hi) => {
    const hid = hostId(host.name);
    out.push(`  subgraph ${q(`cluster_${hid}`)} {`);
    out.push(`    graph [id=${q(hid)}, class="host", label="", style="rounded", color="#333333", penwidth=1.6, margin=12, tooltip=${q(`host ${host.name}`)}];`);
    const sub = [host.address, host.role ? `(${host.role})` : undefined].filter(Boolean).join("  ");
    out.push(`    ${q(`${hid}.title`)} [id=${q(`${hid}.title`)}, class="title", label=${hostTitleLabel(host, sub)}];`);
    place(hi * RANKS_PER_HOST, `${hid}.title`);
    const nss = [...host.namespaces].sort((a, b) => NS_ORDER[a.kind] - NS_ORDER[b.kind]);
    for (const ns of nss) {
      const st = NS_STYLE[ns.kind] ?? NS_STYLE.other;
      const nid = nsId(host.name, ns.id);
      const { row } = rowOf(input, host.name, ns.id);
      out.push(`    subgraph ${q(`cluster_${nid}`)} {`);
      out.push(`      graph [id=${q(nid)}, class=${q(`namespace ns-${ns.kind}`)}, label="", style="rounded,filled", fillcolor=${q(st.fill)}, color=${q(st.border)}, penwidth=1.2, margin=8, tooltip=${q(`${host.name}: ${st.title} ${ns.id}`)}];`);
      out.push(`      ${q(`${nid}.title`)} [id=${q(`${nid}.title`)}, class="title", label=${titleLabel(ns.kind === "host" ? "host" : ns.id, ns.label ?? st.title, 13)}];`);
      place(titleRank(hi, row), `${nid}.title`);
      const bridges = ns.interfaces.filter((i) => i.kind === "bridge" && ns.interfaces.some((m) => m.master === i.name && shown(m)));
      const inBridge = new Set(bridges.map((b) => b.name));
      const emitIface = (i: DiagramIface, indent: string): void => {
        const id = ifaceId(host.name, ns.id, i.name);
        place(ifaceRank(hi, row), id);
        out.push(`${indent}${q(id)} [id=${q(id)}, class="iface", label=${ifaceLabel(i, opts)}, tooltip=${q(`${host.name} ${ns.id} ${i.name}`)}];`);
      };
      for (const br of bridges) {
        const bid = bridgeClusterId(host.name, ns.id, br.name);
        out.push(`      subgraph ${q(`cluster_${bid}`)} {`);
        out.push(`        graph [id=${q(bid)}, class="bridge", label="", style="dashed,rounded,filled", fillcolor="#fbfbfb", color="#555555", margin=6, tooltip=${q(`${host.name} ${ns.id} bridge ${br.name}`)}];`);
        // the bridge's own node: its title (name, addresses, MTU)
        const brNode = ifaceId(host.name, ns.id, br.name);
        out.push(`        ${q(brNode)} [id=${q(brNode)}, class="iface bridge-dev", label=${bridgeTitle(br)}, tooltip=${q(`${host.name} ${ns.id} ${br.name} (bridge)`)}];`);
        place(ifaceRank(hi, row), brNode);
        for (const m of ns.interfaces.filter((x) => x.master === br.name && shown(x))) emitIface(m, "        ");
        out.push(`      }`);
      }
      for (const i of ns.interfaces) {
        if (inBridge.has(i.name) || (i.master && inBridge.has(i.master)) || !shown(i)) continue;
        emitIface(i, "      ");
      }
      out.push(`    }`);
    }
    out.push(`  }`);
  });

  // veth pairs: edges between namespaces
  for (const p of input.vethPairs) {
    const [a, b] = ordered(input, p.a, p.b);
    const id = vethId(p);
    const title = `veth pair ${a.host}:${a.namespace}:${a.iface} <-> ${b.host}:${b.namespace}:${b.iface}`;
    out.push(`  ${q(ifaceId(a.host, a.namespace, a.iface))} -> ${q(ifaceId(b.host, b.namespace, b.iface))} [id=${q(id)}, class="veth", color=${q(VETH_COLOR)}, penwidth=1.6, tooltip=${q(title)}];`);
  }

  // a lab's own plumbing: labelled edges between interfaces
  const linkIds = new Map<string, number>();
  for (const l of input.links ?? []) {
    const [a, b] = ordered(input, l.a, l.b);
    const base = linkId(l);
    const n = (linkIds.get(base) ?? 0) + 1;
    linkIds.set(base, n);
    const id = n === 1 ? base : `${base}.${n}`;
    const color = linkColor(l.kind);
    // a published port points at its target (b); ESP runs both ways; the rest are plain lines
    const arrows = l.kind === "esp" ? ", dir=both, arrowhead=normal, arrowtail=normal, arrowsize=0.8" : l.kind === "published" ? `, dir=${a === l.a ? "forward" : "back"}, arrowhead=normal, arrowtail=normal, arrowsize=0.8` : "";
    const label = `<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="1" BGCOLOR="white"><TR><TD>${h(l.label)}</TD></TR></TABLE>>`;
    const tooltip = l.tooltip ?? `${l.kind}: ${l.label} (${l.a.host}:${l.a.namespace}:${l.a.iface} <-> ${l.b.host}:${l.b.namespace}:${l.b.iface})`;
    out.push(`  ${q(ifaceId(a.host, a.namespace, a.iface))} -> ${q(ifaceId(b.host, b.namespace, b.iface))} [id=${q(id)}, class=${q(`link link-${clean(l.kind)}`)}${a.host !== b.host ? ", weight=0" : ""}${arrows}, color=${q(color)}, fontcolor=${q(color)}, penwidth=2, label=${label}, tooltip=${q(tooltip)}];`);
  }

  // each vxlan device -> the underlay NIC of its host (where its UDP packets leave)
  interface Nic {
    host: string;
    ns: string;
    iface: string;
  }
  const pairs = new Map<string, { a: Nic; b: Nic; tunnels: DiagramTunnel[] }>();
  for (const t of tunnels) {
    const nics: Nic[] = [];
    for (const e of t.endpoints) {
      const host = input.hosts.find((x) => x.name === e.host);
      const ul = host && underlayOf(host);
      if (!host || !ul) continue;
      if (!nics.some((n) => n.host === host.name)) nics.push({ host: host.name, ns: ul.ns.id, iface: ul.iface.name });
      const [a, b] = ordered(input, { host: e.host, namespace: e.namespace, iface: e.iface }, { host: host.name, namespace: ul.ns.id, iface: ul.iface.name });
      out.push(`  ${q(ifaceId(a.host, a.namespace, a.iface))} -> ${q(ifaceId(b.host, b.namespace, b.iface))} [id=${q(`encap.${clean(e.host)}.${clean(e.namespace)}.${clean(e.iface)}`)}, class="encap", style="dashed", color=${q(ENCAP_COLOR)}, tooltip=${q(`${e.iface} (VNI ${t.vni}) sends its frames as UDP${t.port !== undefined ? ` ${t.port}` : ""} through ${ul.iface.name}`)}];`);
    }
    const order = (n: Nic): number => input.hosts.findIndex((x) => x.name === n.host);
    const sorted = [...nics].sort((x, y) => order(x) - order(y));
    for (let i = 0; i + 1 < sorted.length; i++) {
      const key = `${sorted[i]!.host}\u0000${sorted[i + 1]!.host}`;
      const pair = pairs.get(key) ?? { a: sorted[i]!, b: sorted[i + 1]!, tunnels: [] };
      pair.tunnels.push(t);
      pairs.set(key, pair);
    }
  }
  // one tunnel edge per pair of consecutive hosts, labelled with every VNI it carries
  for (const { a, b, tunnels: ts } of pairs.values()) {
    const lines = ts.map((t) => `VNI ${t.vni}${t.network ? ` (${t.network})` : ""}${t.port !== undefined ? ` · UDP ${t.port}` : ""}`);
    const label = `<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="1" BGCOLOR="white"><TR><TD><B>VXLAN tunnel</B></TD></TR>${lines.map((l) => `<TR><TD>${h(l)}</TD></TR>`).join("")}</TABLE>>`;
    const id = `tunnel.${clean(a.host)}.${clean(b.host)}`;
    out.push(`  ${q(ifaceId(a.host, a.ns, a.iface))} -> ${q(ifaceId(b.host, b.ns, b.iface))} [id=${q(id)}, class="tunnel", weight=0, dir=both, arrowhead=normal, arrowtail=normal, arrowsize=0.8, color=${q(TUNNEL_COLOR)}, fontcolor=${q(TUNNEL_COLOR)}, penwidth=2.4, label=${label}, tooltip=${q(`VXLAN ${a.host} ${a.iface} <-> ${b.host} ${b.iface}: ${lines.join("; ")}`)}];`);
  }

  // pin the ranks: an invisible chain of anchors, each on the same rank as its nodes
  const maxRank = (input.hosts.length - 1) * RANKS_PER_HOST + 6;
  for (let r = 0; r <= maxRank; r++) out.push(`  ${q(`rank.${r}`)} [style=invis, shape=point, width=0, height=0, label=""];`);
  out.push(`  ${Array.from({ length: maxRank + 1 }, (_, r) => q(`rank.${r}`)).join(" -> ")} [style=invis];`);
  for (const [r, ids] of [...ranks].sort((x, y) => x[0] - y[0])) out.push(`  { rank=same; ${[`rank.${r}`, ...ids].map(q).join("; ")}; }`);
  out.push(`}`);
  return out.join("\n") + "\n";
}

// --------------------------------------------------------------- rendering ----

interface VizLike {
  render(dot: string, options: { format: string; engine: string }): { status: string; output?: string; errors: { level?: string; message: string }[] };
}

/** Make Graphviz's SVG self-contained and embeddable: no prolog/DOCTYPE/comments, a font stack. */
export function cleanSvg(svg: string): string {
  let s = svg.replace(/<\?xml[^>]*\?>\s*/g, "").replace(/<!DOCTYPE[^>]*>\s*/g, "").replace(/<!--[\s\S]*?-->\s*/g, "");
  // Graphviz writes "-" as &#45; (for the comments just removed); plain ids are easier to select
  s = s.replace(/&#45;/g, "-");
  s = s.replace(/font-family="Helvetica(?:,sans-Serif)?"/g, `font-family="${FONT_STACK}"`);
  s = s.replace(/<svg\b/, `<svg role="img" aria-label="lab diagram"`);
  return s.trim() + "\n";
}

export interface DiagramRenderer {
  readonly graphvizVersion: string;
  /** Lay out and render the input (synchronous once loaded). */
  renderSvg(input: DiagramInput, opts?: DiagramOptions): string;
  /** Render DOT text (for debugging). */
  renderDot(dot: string): string;
}

/** Load Graphviz (WebAssembly, from the @viz-js/viz package; no network). */
export async function loadDiagramRenderer(): Promise<DiagramRenderer> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const viz = (await (require("@viz-js/viz") as { instance(): Promise<VizLike & { graphvizVersion: string }> }).instance());
  const renderDot = (dot: string): string => {
    const r = viz.render(dot, { format: "svg", engine: "dot" });
    const errors = r.errors.filter((e) => e.level !== "warning");
    if (r.status !== "success" || !r.output || errors.length) {
      throw new Error(`graphviz could not lay out the diagram: ${(errors.length ? errors : r.errors).map((e) => e.message).join("; ") || r.status}`);
    }
    return cleanSvg(r.output);
  };
  return {
    graphvizVersion: viz.graphvizVersion,
    renderDot,
    renderSvg: (input, opts) => renderDot(buildDot(input, opts)),
  };
}

/** One-shot: input -> SVG text. */
export async function renderDiagramSvg(input: DiagramInput, opts: DiagramOptions = {}): Promise<string> {
  return (await loadDiagramRenderer()).renderSvg(input, opts);
}

// -------------------------------------------------------------------- HTML ----

export interface ReportFact {
  id: string;
  title: string;
  /** pass | fail | changed | skip (others are shown as they are). */
  outcome: string;
  expected: string;
  observed: string;
  /** Seed file(s) the fact comes from, e.g. "000" or "000_d9014c85a6bbb97f.txt". */
  seed?: string;
  section?: string;
  explanation?: string;
  details?: string[];
}

export interface ReportMeta {
  title?: string;
  /** ISO time the report was made. */
  generatedAt?: string;
  /** Any other key/value pairs shown under the title (stack, hosts, engine...). */
  [key: string]: string | number | undefined;
}

function esc(s: string): string {
  return visibleLines(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&#39;");
}

const OUTCOME_CLASS: Record<string, string> = { pass: "pass", fail: "fail", changed: "changed", skip: "skip", unchecked: "unchecked" };
const OUTCOME_LABEL: Record<string, string> = { unchecked: "could not check" };

/** One self-contained HTML page: summary, facts table with coloured outcomes, the diagram inline. */
export function renderHtmlReport(args: { facts: readonly ReportFact[]; svg?: string; meta?: ReportMeta }): string {
  const meta = args.meta ?? {};
  const title = meta.title ?? "swarmlab verify";
  const counts = new Map<string, number>();
  for (const f of args.facts) counts.set(f.outcome, (counts.get(f.outcome) ?? 0) + 1);
  const order = ["pass", "changed", "fail", "unchecked", "skip"];
  const summary = [...order.filter((o) => counts.has(o)), ...[...counts.keys()].filter((o) => !order.includes(o))]
    .map((o) => `<span class="badge ${OUTCOME_CLASS[o] ?? "other"}">${esc((OUTCOME_LABEL[o] ?? o).toUpperCase())} ${counts.get(o)}</span>`)
    .join(" ");
  const metaRows = Object.entries(meta)
    .filter(([k, v]) => k !== "title" && v !== undefined && v !== "")
    .map(([k, v]) => `<dt>${esc(k)}</dt><dd>${esc(String(v))}</dd>`)
    .join("");
  const rows = args.facts
    .map((f) => {
      const cls = OUTCOME_CLASS[f.outcome] ?? "other";
      const source = [f.seed ? `seed ${f.seed}` : "", f.section ? `“${f.section}”` : ""].filter(Boolean).join(", ");
      const details = f.details?.length ? `<details><summary>${f.details.length} detail${f.details.length === 1 ? "" : "s"}</summary><pre>${esc(f.details.join("\n"))}</pre></details>` : "";
      return `<tr class="${cls}" id="fact-${esc(f.id)}">
<td class="id">${esc(f.id)}</td>
<td><span class="badge ${cls}">${esc((OUTCOME_LABEL[f.outcome] ?? f.outcome).toUpperCase())}</span></td>
<td>${esc(f.title)}<div class="src">${esc(source)}</div></td>
<td>${esc(f.expected)}</td>
<td>${esc(f.observed)}${f.explanation ? `<div class="expl">${f.outcome === "unchecked" ? "could not check: " : ""}${esc(f.explanation)}</div>` : ""}${details}</td>
</tr>`;
    })
    .join("\n");
  const svg = args.svg ? args.svg.replace(/<\?xml[^>]*\?>\s*/g, "").replace(/<!DOCTYPE[^>]*>\s*/g, "").replace(/<!--[\s\S]*?-->\s*/g, "") : "";
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body { font-family: Helvetica, Arial, 'Liberation Sans', sans-serif; margin: 24px; color: #1b1b1b; background: #fff; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 18px; margin: 28px 0 10px; }
dl.meta { display: grid; grid-template-columns: max-content auto; gap: 2px 14px; margin: 8px 0 14px; font-size: 13px; color: #444; }
dl.meta dt { font-weight: bold; } dl.meta dd { margin: 0; }
table.facts { border-collapse: collapse; width: 100%; font-size: 13px; }
table.facts th, table.facts td { border: 1px solid #d5d5d5; padding: 6px 8px; vertical-align: top; text-align: left; }
table.facts th { background: #f2f2f2; position: sticky; top: 0; }
table.facts td.id { font-weight: bold; white-space: nowrap; }
tr.pass td:first-child { border-left: 5px solid #2e8b3a; }
tr.fail td:first-child { border-left: 5px solid #c62828; }
tr.changed td:first-child { border-left: 5px solid #d48806; }
tr.skip td:first-child { border-left: 5px solid #8c8c8c; }
tr.unchecked td:first-child { border-left: 5px solid #6a1b9a; }
tr.fail { background: #fff4f4; }
.badge { display: inline-block; padding: 1px 7px; border-radius: 10px; font-size: 12px; font-weight: bold; color: #fff; white-space: nowrap; }
.badge.pass { background: #2e8b3a; } .badge.fail { background: #c62828; } .badge.changed { background: #d48806; } .badge.skip { background: #8c8c8c; } .badge.unchecked { background: #6a1b9a; } .badge.other { background: #555; }
.src { color: #666; font-size: 12px; margin-top: 3px; }
.expl { color: #7a5400; font-size: 12px; margin-top: 4px; }
details pre { font-size: 11px; white-space: pre-wrap; margin: 4px 0 0; }
.diagram { overflow: auto; border: 1px solid #d5d5d5; padding: 8px; background: #fff; }
.diagram svg { display: block; }
</style>
</head>
<body>
<h1>${esc(title)}</h1>
<div class="summary">${summary || "no facts"}</div>
${metaRows ? `<dl class="meta">${metaRows}</dl>` : ""}
<h2>Facts</h2>
<table class="facts">
<thead><tr><th>ID</th><th>Outcome</th><th>Fact</th><th>Expected</th><th>Observed</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
<h2>The lab as observed</h2>
<div class="diagram">
${svg || "<p>No diagram: the lab's topology was not gathered.</p>"}
</div>
</body>
</html>
`;
}
