/**
 * Adapter: verify's gathered topology (scripts/lib/verify/model.ts LabModel) ->
 * the diagram's input, and an "html" report format for verify built on it.
 *
 * Only types are imported from verify: drawing never changes what verify
 * checks. Link-local IPv6 addresses are left out of the drawing (every
 * interface has one; they say nothing about the plumbing).
 */
import type { FactResult } from "../verify/result";
import type { Inventory } from "../verify/inventory";
import type { Iface, LabModel, Namespace, NamespaceKind } from "../verify/model";
import { inCidr } from "../ipv4";
import type { VerifyReport } from "../verify/report";
import {
  renderHtmlReport,
  withPlumbing,
  type DiagramIface,
  type DiagramInput,
  type DiagramNamespace,
  type DiagramPlumbing,
  type DiagramRenderer,
  type DiagramTunnel,
  type NsKind,
  type ReportFact,
} from "./diagram";

const KIND: Record<NamespaceKind, NsKind> = {
  host: "host",
  overlay: "overlay",
  lb: "lb",
  ingress_sbox: "ingress_sbox",
  sandbox: "task",
  unknown: "other",
};

function nsLabel(ns: Namespace): string {
  switch (ns.kind) {
    case "host":
      return "host namespace";
    case "overlay":
      return ns.network ? `${ns.network.name} overlay` : "overlay (unknown network)";
    case "lb":
      return ns.network ? `${ns.network.name} load balancer` : "load balancer";
    case "ingress_sbox":
      return "ingress sandbox";
    case "sandbox": {
      const t = ns.task;
      // docker service ps shows task ids cut to 12 characters; so does the drawing
      return t ? `task ${(t.taskName ?? t.containerName.replace(/^\//, "")).replace(/^(.+\.\d+\.[a-z0-9]{12})[a-z0-9]{13}$/, "$1")}` : "task sandbox";
    }
    default:
      return "namespace";
  }
}

function toIface(i: Iface): DiagramIface {
  const d: DiagramIface = { name: i.name, ifindex: i.ifindex, kind: i.kind, mtu: i.mtu };
  const addrs = i.addresses.filter((a) => !(a.family === "inet6" && (a.scope === "link" || /^fe80:/i.test(a.local)))).map((a) => `${a.local}/${a.prefixlen}`);
  if (addrs.length) d.addresses = addrs;
  if (i.master) d.master = i.master;
  if (i.mac) d.mac = i.mac;
  if (i.state) d.state = i.state;
  if (i.vxlan) d.vxlan = i.vxlan.dstport !== undefined ? { id: i.vxlan.id, port: i.vxlan.dstport } : { id: i.vxlan.id };
  return d;
}

/**
 * Convert verify's LabModel into a DiagramInput (pure). Unreachable hosts are drawn empty, with
 * their error. `plumbing`: what the lab adds to the drawing (its `plumbing(model, inventory)`,
 * computed by the caller that knows the lab), merged with withPlumbing().
 */
export function diagramFromModel(model: LabModel, opts: { title?: string; plumbing?: DiagramPlumbing } = {}): DiagramInput {
  const hosts = model.hosts.map((h) => {
    const namespaces: DiagramNamespace[] = h.namespaces.map((ns) => ({ id: ns.id, kind: KIND[ns.kind] ?? "other", label: nsLabel(ns), interfaces: ns.interfaces.map(toIface) }));
    if (!h.reachable) namespaces.push({ id: "unreachable", kind: "other", label: `not gathered: ${h.error ?? "unreachable"}`, interfaces: [] });
    return { name: h.name, address: h.address, role: h.role, namespaces };
  });
  const present = (host: string, ns: string, iface: string): boolean =>
    hosts.some((h) => h.name === host && h.namespaces.some((n) => n.id === ns && n.interfaces.some((i) => i.name === iface)));
  const vethPairs = model.vethPairs
    .filter((p) => present(p.a.host, p.a.namespace, p.a.ifname) && present(p.b.host, p.b.namespace, p.b.ifname))
    .map((p) => ({ a: { host: p.a.host, namespace: p.a.namespace, iface: p.a.ifname }, b: { host: p.b.host, namespace: p.b.namespace, iface: p.b.ifname } }));
  const tunnels: DiagramTunnel[] = [];
  for (const t of model.tunnels) {
    const endpoints = t.endpoints.filter((e) => present(e.host, e.namespace, e.ifname));
    const vni = t.vni ?? endpoints.map((e) => t.endpoints.find((x) => x === e)?.vni).find((v) => v !== undefined);
    if (vni === undefined || new Set(endpoints.map((e) => e.host)).size < 2) continue;
    const first = endpoints[0]!;
    const iface = model.hosts.find((h) => h.name === first.host)?.namespaces.find((n) => n.id === first.namespace)?.interfaces.find((i) => i.name === first.ifname);
    const tunnel: DiagramTunnel = { vni, endpoints: endpoints.map((e) => ({ host: e.host, namespace: e.namespace, iface: e.ifname })) };
    // The port ip -d link shows; none is guessed (docker's default is the lab's to know).
    if (iface?.vxlan?.dstport !== undefined) tunnel.port = iface.vxlan.dstport;
    if (t.network.name && t.network.name !== "?") tunnel.network = t.network.name;
    tunnels.push(tunnel);
  }
  const input: DiagramInput = { hosts, vethPairs, tunnels };
  if (opts.title) input.title = opts.title;
  return withPlumbing(input, opts.plumbing);
}

/** Is this parsed JSON a LabModel (rather than a DiagramInput)? */
export function looksLikeLabModel(raw: unknown): raw is LabModel {
  if (typeof raw !== "object" || raw === null) return false;
  const r = raw as { hosts?: unknown; vethPairs?: unknown; tunnels?: unknown };
  if (!Array.isArray(r.hosts) || !Array.isArray(r.vethPairs) || !Array.isArray(r.tunnels)) return false;
  const firstPair = r.vethPairs[0] as { a?: { ifname?: unknown } } | undefined;
  if (firstPair) return typeof firstPair.a?.ifname === "string";
  const h = r.hosts[0] as { reachable?: unknown; issues?: unknown } | undefined;
  return !!h && typeof h.reachable === "boolean" && Array.isArray(h.issues);
}

/** verify's FactResult -> the report's row. */
export function factRow(r: FactResult): ReportFact {
  const f: ReportFact = { id: r.id, title: r.title, outcome: r.outcome, expected: r.expected, observed: r.observed, seed: r.seed };
  if (r.section) f.section = r.section;
  if (r.explanation) f.explanation = r.explanation;
  if (r.details.length) f.details = r.details;
  return f;
}

/**
 * An "html" format for verify: `registerFormat("html", htmlFormatter(await loadDiagramRenderer()))`.
 * The diagram is the report's model with the report's plumbing (the lab's, set by runVerify).
 * The renderer is loaded once (async); the formatter itself is synchronous, as verify's formats are.
 */
export function htmlFormatter(renderer: DiagramRenderer): (report: VerifyReport) => string {
  return (report) => {
    let svg: string | undefined;
    let diagramError: string | undefined;
    if (report.model) {
      try {
        svg = renderer.renderSvg(diagramFromModel(report.model, { title: `${report.lab} / ${report.stack}: the lab as gathered`, ...(report.plumbing ? { plumbing: report.plumbing } : {}) }));
      } catch (e) {
        diagramError = e instanceof Error ? e.message : String(e);
      }
    }
    const s = report.summary;
    const causes = report.hosts.filter((h) => h.cause).map((h) => `${h.name}: ${h.cause}`);
    return renderHtmlReport({
      facts: report.results.map(factRow),
      ...(svg ? { svg } : {}),
      meta: {
        title: `swarmlab verify: ${report.lab} / ${report.stack}`,
        generatedAt: report.generatedAt,
        ...(causes.length ? { "could not check": causes.join("; ") } : {}),
        summary: `${s.pass} pass, ${s.changed} changed, ${s.fail} fail, ${s.unchecked} could not check, ${s.skip} skip (of ${s.total})`,
        hosts: report.hosts.map((h) => `${h.name} ${h.address}${h.reachable ? "" : ` (not gathered: ${h.error ?? "?"})`}`).join("; "),
        gathered: `${report.timings.gatherSeconds.toFixed(1)}s over ${report.sshSessions} SSH session${report.sshSessions === 1 ? "" : "s"}${report.timings.trafficSeconds !== undefined ? `; traffic checks ${report.timings.trafficSeconds.toFixed(1)}s` : ""}`,
        ...(renderer.graphvizVersion ? { graphviz: renderer.graphvizVersion } : {}),
        ...(diagramError ? { diagram: `could not be drawn: ${diagramError}` } : {}),
      },
    });
  };
}

