/**
 * Adapter: verify's gathered topology (scripts/verify/model.ts LabModel) ->
 * the diagram's input, and an "html" report format for verify built on it.
 *
 * Only types are imported from verify: drawing never changes what verify
 * checks. Link-local IPv6 addresses are left out of the drawing (every
 * interface has one; they say nothing about the plumbing).
 */
import { DOCUMENTED } from "../../labs/swarm-overlay/facts";
import type { FactResult } from "../verify/checks";
import type { Inventory } from "../verify/inventory";
import type { Iface, LabModel, Namespace, NamespaceKind } from "../verify/model";
import { inCidr } from "../lib/ipv4";
import type { VerifyReport } from "../verify/report";
import type { TrafficPlan } from "./traffic";
import { renderHtmlReport, type DiagramIface, type DiagramInput, type DiagramNamespace, type DiagramRenderer, type DiagramTunnel, type NsKind, type ReportFact } from "./diagram";

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
  if (i.vxlan) d.vxlan = { id: i.vxlan.id, port: i.vxlan.dstport ?? 4789 };
  return d;
}

/** Convert verify's LabModel into a DiagramInput (pure). Unreachable hosts are drawn empty, with their error. */
export function diagramFromModel(model: LabModel, opts: { title?: string } = {}): DiagramInput {
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
    const tunnel: DiagramTunnel = { vni, port: iface?.vxlan?.dstport ?? 4789, endpoints: endpoints.map((e) => ({ host: e.host, namespace: e.namespace, iface: e.ifname })) };
    if (t.network.name && t.network.name !== "?") tunnel.network = t.network.name;
    tunnels.push(tunnel);
  }
  const input: DiagramInput = { hosts, vethPairs, tunnels };
  if (opts.title) input.title = opts.title;
  return input;
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
 * The renderer is loaded once (async); the formatter itself is synchronous, as verify's formats are.
 */
export function htmlFormatter(renderer: DiagramRenderer): (report: VerifyReport) => string {
  return (report) => {
    let svg: string | undefined;
    let diagramError: string | undefined;
    if (report.model) {
      try {
        svg = renderer.renderSvg(diagramFromModel(report.model, { title: `${report.lab} / ${report.stack}: the lab as gathered` }));
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

/** The documented VNI of demonet (VXLAN-1, PATH-4), from the lab's facts. */
export const DOCUMENTED_VNI = DOCUMENTED.vxlan.demonetId;

/**
 * The PATH-1..4 plan for probing from `from` (default: the first inventory
 * host, docker0) towards `to` (default: the next host), filled in from the
 * gathered model: the local task's container and namespace, the overlay's
 * namespace and vxlan ids, the other task's overlay address, the underlay
 * NIC. Whatever the model lacks is left out, and the traffic script finds it
 * itself or the facts concerned are skipped.
 */
export function trafficPlanFromModel(inv: Inventory, model: LabModel, opts: { from?: string; to?: string; vni?: number } = {}): { host: string; plan: TrafficPlan } {
  const from = inv.hosts.find((h) => h.name === (opts.from ?? inv.hosts[0]!.name));
  if (!from) throw new Error(`host ${opts.from} is not in the inventory`);
  const to = inv.hosts.find((h) => h.name === (opts.to ?? inv.hosts.find((x) => x.name !== from.name)?.name));
  if (!to || to.name === from.name) throw new Error("PATH-3/4 need a second host in the inventory");
  const hostModel = (name: string) => model.hosts.find((h) => h.name === name);
  const taskNs = (name: string) => hostModel(name)?.namespaces.find((n) => n.kind === "sandbox" && (n.task?.service === undefined || n.task.service === inv.workload.service));
  const plan: TrafficPlan = {
    service: inv.workload.service,
    overlay: inv.workload.overlay,
    overlaySubnet: inv.workload.subnet,
    overlayGateway: inv.workload.gateway,
    labCidr: inv.network.cidr,
    pathTarget: inv.pathTarget,
    localAddress: from.address,
    peerAddress: to.address,
    vni: opts.vni ?? DOCUMENTED_VNI,
  };
  const mine = taskNs(from.name);
  if (mine?.task?.containerId) {
    plan.container = mine.task.containerId;
    if (mine.id !== "host") plan.sandbox = mine.id;
  }
  const ovl = hostModel(from.name)?.namespaces.find((n) => n.kind === "overlay" && n.network?.name === inv.workload.overlay);
  if (ovl) plan.overlayNamespace = ovl.id;
  const vxlanIds = hostModel(from.name)?.networks?.find((n) => n.name === inv.workload.overlay)?.options["com.docker.network.driver.overlay.vxlanid_list"];
  if (vxlanIds !== undefined && /^[0-9,]*$/.test(vxlanIds)) plan.vxlanIdList = vxlanIds;
  const peer = taskNs(to.name);
  const peerAddr = peer?.interfaces
    .flatMap((i) => i.addresses)
    .find((a) => a.family === "inet" && inCidr(inv.workload.subnet, a.local) && a.prefixlen < 32)?.local;
  if (peerAddr) plan.peerTaskAddress = peerAddr;
  const nic = hostModel(from.name)
    ?.namespaces.find((n) => n.kind === "host")
    ?.interfaces.find((i) => i.addresses.some((a) => a.local === from.address));
  if (nic) plan.underlayNic = nic.name;
  return { host: from.name, plan };
}
