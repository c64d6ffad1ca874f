/**
 * The verdicts on RM-1..RM-4, from the gathered model (which node runs which task, the task's
 * ingress address, the ingress network's VXLAN id) and the probe's sections (probe.ts: answers,
 * capture, ingress_sbox rules). Pure.
 *
 * A replica answers with its hostname, which Docker sets to the task container's short ID (the
 * workload sets no --hostname): an answer is traced to its task, and so to its node, through the
 * gathered containers of every host.
 */
import type { RawSection } from "../../scripts/lib/framing";
import { inCidr } from "../../scripts/lib/ipv4";
import type { Inventory, InventoryHost } from "../../scripts/lib/verify/inventory";
import type { HostModel, LabModel } from "../../scripts/lib/verify/model";
import type { FactResult } from "../../scripts/lib/verify/result";
import { factResult, runFactChecks, Verdict } from "../kit";
import type { LabFact } from "../lab";
import { sectionsOf } from "../script-probe";
import { DOCUMENTED, FACTS } from "./facts";
import { type MarkRule, type PublishedPort, parseIpVs, parseMarkRules, parseServicePorts, parseVxlanCapture, type Request, requestOf } from "./parse";
import { DOCUMENTED_SERVICES, type LabServices, requestKey, SECTION } from "./probe";

type Sections = Exclude<ReturnType<typeof sectionsOf>, { reason: string }>;

const COMMANDS: Record<string, string> = {
  [SECTION.services]: "docker service inspect --format '{{.Spec.Name}} {{json .Endpoint.Ports}}'",
  [SECTION.capture]: `tcpdump -nn udp dst port ${DOCUMENTED.vxlanPort} (on the underlay NIC)`,
  [SECTION.mangle]: `nsenter --net=<netns>/${DOCUMENTED.ingressSandbox} iptables -t mangle -S`,
  [SECTION.ipvs]: `nsenter --net=<netns>/${DOCUMENTED.ingressSandbox} cat /proc/net/ip_vs`,
};

function commandOf(key: string): string {
  const g = /^get\/([^/]+)\/(\d+)/.exec(key);
  if (g) return `HTTP GET http://${g[1]}:${g[2]}/`;
  return COMMANDS[key] ?? key;
}

/** A running task of a service, as the gathered containers show it. */
export interface Task {
  host: string;
  /** What it answers with: the container's short ID. */
  hostname: string;
  ingressAddress?: string;
}

/** The running tasks of `service` on every host; `unknown` names the hosts whose containers were not gathered. */
export function tasksOf(model: LabModel, inventory: Inventory, service: string): { tasks: Task[]; unknown: string[] } {
  const tasks: Task[] = [];
  const unknown: string[] = [];
  for (const h of inventory.hosts) {
    const hm = model.hosts.find((x) => x.name === h.name);
    if (!hm || !hm.reachable || hm.dockerDown || !hm.containers) {
      unknown.push(`${h.name}: ${hostCause(hm)}`);
      continue;
    }
    for (const c of hm.containers.filter((x) => x.running && x.service === service)) {
      const t: Task = { host: h.name, hostname: c.id.slice(0, 12) };
      const ing = c.networks.find((n) => n.name === DOCUMENTED.ingressNetwork)?.ipAddress;
      if (ing) t.ingressAddress = ing;
      tasks.push(t);
    }
  }
  return { tasks, unknown };
}

function hostCause(hm: HostModel | undefined): string {
  if (!hm) return "not gathered";
  if (!hm.reachable) return hm.error ?? "unreachable";
  if (hm.dockerDown) return hm.dockerDown;
  return hm.issues.find((i) => i.key === "docker-inspect")?.message ?? "docker inspect of its containers was not gathered";
}

class Evidence {
  constructor(
    readonly s: Sections,
    readonly inventory: Inventory,
    readonly svc: LabServices,
  ) {}

  /** The section, or why it is missing (recorded as unknown on v). */
  section(v: Verdict, key: string): RawSection | undefined {
    const sec = this.s.framed.sections[key];
    if (sec) return sec;
    const discarded = this.s.framed.discarded[key];
    if (discarded) v.unknown(`${this.s.host}: \`${commandOf(key)}\` arrived damaged (${discarded})`);
    else if (this.s.cut || !this.s.framed.complete) v.unknown(`${this.s.host}: \`${commandOf(key)}\` did not run: the probe was cut off${this.s.cut ? ` (${this.s.cut})` : ""}`);
    else v.unknown(`${this.s.host}: the probe printed no \`${commandOf(key)}\``);
    return undefined;
  }

  /** A section that ran with exit code 0 (or one of ok), else why not (unknown on v). */
  ok(v: Verdict, key: string, ok: number[] = [0]): RawSection | undefined {
    const sec = this.section(v, key);
    if (!sec) return undefined;
    if (ok.includes(sec.rc)) return sec;
    const err = (sec.stderr ?? "").trim().split("\n").slice(-2).join(" / ");
    const what = sec.rc === 127 ? "is not installed (command not found)" : sec.rc === 124 ? "timed out" : `failed with exit code ${sec.rc}`;
    v.unknown(`${this.s.host}: \`${commandOf(key)}\` ${what}${err ? `: ${err}` : ""}`);
    return undefined;
  }

  request(v: Verdict, host: InventoryHost, port: number, n?: number): Request | undefined {
    const sec = this.section(v, requestKey(host.address, port, n));
    return sec ? requestOf(sec) : undefined;
  }

  /** The published ports of `service` (services section); fail when it does not exist. */
  ports(v: Verdict, service: string): PublishedPort[] | undefined {
    // docker service inspect exits 1 when one of the services is missing, and prints the others.
    const sec = this.section(v, SECTION.services);
    if (!sec) return undefined;
    let ports: Map<string, PublishedPort[]>;
    try {
      ports = parseServicePorts(sec.output);
    } catch (e) {
      v.unknown(`${this.s.host}: \`${commandOf(SECTION.services)}\`: ${e instanceof Error ? e.message : String(e)}`);
      return undefined;
    }
    const mine = ports.get(service);
    if (mine) return mine;
    if (/no such service/i.test(sec.stderr ?? "")) v.fail(`service ${service} does not exist (${(sec.stderr ?? "").trim().split("\n").find((l) => l.includes(service)) ?? "no such service"})`);
    else v.unknown(`${this.s.host}: \`${commandOf(SECTION.services)}\` printed nothing for ${service}${sec.rc ? ` (exit code ${sec.rc}${sec.stderr ? `: ${sec.stderr.trim()}` : ""})` : ""}`);
    return undefined;
  }
}

function describe(r: Request): string {
  if (r.kind === "answered") return r.answer.hostname ? `answered by ${r.answer.hostname} (HTTP ${r.answer.status})` : `answered HTTP ${r.answer.status} with an empty page`;
  return r.kind === "refused" ? "connection refused" : `no answer (${r.detail})`;
}

/** The published port's mode as documented (`<service> publishes <target> on <published> in <mode> mode`). */
function checkPublished(v: Verdict, ev: Evidence, s: { name: string; published: number; target: number; mode: string }): void {
  const ports = ev.ports(v, s.name);
  if (!ports) return;
  const p = ports.find((x) => x.published === s.published);
  const shown = ports.map((x) => `${x.published}->${x.target}/${x.protocol} (${x.mode})`).join(", ") || "no port";
  if (!p) v.fail(`service ${s.name} publishes ${shown}, not ${s.published}`);
  else if (p.target !== s.target || p.mode !== s.mode) v.fail(`service ${s.name} publishes ${shown}; documented: ${s.published}->${s.target} in ${s.mode} mode`);
  else v.observe(`${s.name} publishes ${s.published}->${s.target} in ${s.mode} mode`);
}

function notRun(f: LabFact, ev: { reason: string; outcome: "skip" | "unchecked" }): FactResult {
  return factResult(f, ev.outcome, f.documented, "not checked", [], ev.reason);
}

const taskName = (t: Task): string => `${t.hostname} on ${t.host}`;

function checkRm1(f: LabFact, model: LabModel, ev: Evidence): FactResult {
  const v = new Verdict();
  const s = ev.svc.web;
  checkPublished(v, ev, s);
  const { tasks, unknown } = tasksOf(model, ev.inventory, s.name);
  unknown.forEach((u) => v.unknown(`which node runs ${s.name}: ${u}`));
  if (!unknown.length && !tasks.length) v.fail(`no running task of ${s.name} on any node`);
  const answeredWithout: string[] = [];
  for (const h of ev.inventory.hosts) {
    const r = ev.request(v, h, s.published);
    if (!r) continue;
    const local = tasks.filter((t) => t.host === h.name);
    const where = unknown.length && !local.length ? "" : local.length ? ` (runs ${local.map((t) => t.hostname).join(", ")})` : " (runs no replica)";
    if (r.kind !== "answered" || r.answer.status !== 200 || !r.answer.hostname) {
      v.fail(`${h.name}${where}: ${h.address}:${s.published} ${describe(r)}`);
      continue;
    }
    const by = tasks.find((t) => t.hostname === r.answer.hostname);
    if (!by && !unknown.length) {
      v.fail(`${h.name}: ${h.address}:${s.published} answered by ${r.answer.hostname}, which is no running task of ${s.name} (${tasks.map(taskName).join(", ") || "none"})`);
      continue;
    }
    v.observe(`${h.name}${where}: ${h.address}:${s.published} answered by ${by ? taskName(by) : r.answer.hostname}`);
    if (!unknown.length && !local.length) answeredWithout.push(h.name);
  }
  if (!unknown.length && tasks.length && !answeredWithout.length && ev.inventory.hosts.every((h) => tasks.some((t) => t.host === h.name))) {
    v.unknown(`every node runs a replica of ${s.name} (${tasks.map(taskName).join(", ")}): no node without one to show it answering`);
  }
  return v.result(f, `port ${s.published} answers on every node (${ev.inventory.hosts.map((h) => h.address).join(", ")}), including one without a replica of ${s.name}`);
}

function checkRm2(f: LabFact, model: LabModel, ev: Evidence): FactResult {
  const v = new Verdict();
  const s = ev.svc.webhost;
  checkPublished(v, ev, s);
  const { tasks, unknown } = tasksOf(model, ev.inventory, s.name);
  unknown.forEach((u) => v.unknown(`which node runs ${s.name}: ${u}`));
  let withReplica = 0;
  let without = 0;
  for (const h of ev.inventory.hosts) {
    const r = ev.request(v, h, s.published);
    if (!r || unknown.some((u) => u.startsWith(`${h.name}:`))) continue;
    const local = tasks.filter((t) => t.host === h.name);
    if (local.length) {
      withReplica++;
      if (r.kind !== "answered" || r.answer.status !== 200) v.fail(`${h.name} runs ${local.map((t) => t.hostname).join(", ")} but ${h.address}:${s.published}: ${describe(r)}`);
      else if (!local.some((t) => t.hostname === r.answer.hostname)) v.fail(`${h.name}: ${h.address}:${s.published} answered by ${r.answer.hostname ?? "an empty page"}, not by its own replica ${local.map((t) => t.hostname).join(", ")}`);
      else v.observe(`${h.name} (runs ${r.answer.hostname}): ${h.address}:${s.published} answered by its own replica`);
    } else {
      without++;
      if (r.kind === "answered") v.fail(`${h.name} runs no replica of ${s.name}, yet ${h.address}:${s.published} ${describe(r)}`);
      else v.observe(`${h.name} (runs no replica): ${h.address}:${s.published} ${describe(r)}`);
    }
  }
  if (!unknown.length && !tasks.length) v.fail(`no running task of ${s.name} on any node`);
  else if (!unknown.length && !without) v.unknown(`every node runs a replica of ${s.name} (${tasks.map(taskName).join(", ")}): no node to show it closed`);
  else if (!unknown.length && !withReplica && tasks.length) v.unknown(`the probe asked no node running ${s.name}`);
  return v.result(f, `port ${s.published} answers on the nodes running ${s.name} (by their own replica) and is closed on the others`);
}

function checkRm3(f: LabFact, model: LabModel, ev: Evidence): FactResult {
  const v = new Verdict();
  const s = ev.svc.web2;
  checkPublished(v, ev, s);
  const entry = ev.inventory.hosts.find((h) => h.name === ev.s.host);
  const { tasks, unknown } = tasksOf(model, ev.inventory, s.name);
  unknown.forEach((u) => v.unknown(`which node runs ${s.name}: ${u}`));
  if (!unknown.length && tasks.length >= 2 && new Set(tasks.map((t) => t.host)).size < 2) v.unknown(`the replicas of ${s.name} all run on ${tasks[0]!.host}: no balancing across nodes to show`);
  if (!unknown.length && tasks.length < s.replicas) v.fail(`${s.name} runs ${tasks.length} replica(s) (${tasks.map(taskName).join(", ") || "none"}), documented ${s.replicas}`);
  if (!entry) {
    v.unknown(`the probe ran on ${ev.s.host}, which is not in the inventory`);
    return v.result(f, `${DOCUMENTED.balancedRequests} requests to one node's port ${s.published} answered by all ${s.replicas} replicas`);
  }
  const seen = new Map<string, number>();
  let asked = 0;
  for (let n = 1; n <= DOCUMENTED.balancedRequests; n++) {
    const sec = ev.s.framed.sections[requestKey(entry.address, s.published, n)];
    if (!sec) break; // the probe stops after two requests in a row without an answer
    asked++;
    const r = requestOf(sec);
    // No answer in time (an emulated CPU under load): noted; the replicas that answered decide.
    if (r.kind === "failed" && sec.rc === 124) v.observe(`request ${n} to ${entry.address}:${s.published}: ${describe(r)}`);
    else if (r.kind !== "answered" || r.answer.status !== 200 || !r.answer.hostname) v.fail(`request ${n} to ${entry.address}:${s.published}: ${describe(r)}`);
    else seen.set(r.answer.hostname, (seen.get(r.answer.hostname) ?? 0) + 1);
  }
  if (!asked) ev.section(v, requestKey(entry.address, s.published, 1));
  const tally = [...seen].map(([h, c]) => `${h} ×${c}`).join(", ");
  for (const h of seen.keys()) {
    if (!unknown.length && !tasks.some((t) => t.hostname === h)) v.fail(`${entry.address}:${s.published} answered by ${h}, which is no running task of ${s.name} (${tasks.map(taskName).join(", ") || "none"})`);
  }
  const silent = tasks.filter((t) => !seen.has(t.hostname));
  if (asked && silent.length) v.fail(`${asked} requests entering ${entry.name} (${entry.address}:${s.published}) were answered by ${tally || "no replica"}; never by ${silent.map(taskName).join(", ")}`);
  if (asked && tasks.length && !silent.length) v.observe(`${asked} requests entering ${entry.name} (${entry.address}:${s.published}) answered by ${tasks.map((t) => `${taskName(t)} ×${seen.get(t.hostname)}`).join(", ")}`);
  return v.result(f, `${DOCUMENTED.balancedRequests} requests to ${entry.name}'s port ${s.published} answered by all ${s.replicas} replicas of ${s.name}, on different nodes`);
}

function checkRm4(f: LabFact, model: LabModel, ev: Evidence): FactResult {
  const v = new Verdict();
  const s = ev.svc.web;
  const entry = ev.inventory.hosts.find((h) => h.name === ev.s.host);
  const hm = model.hosts.find((h) => h.name === ev.s.host);
  const { tasks, unknown } = tasksOf(model, ev.inventory, s.name);
  unknown.forEach((u) => v.unknown(`where ${s.name}'s replicas run: ${u}`));
  const sb = DOCUMENTED.ingressSandbox;

  // 1. The entry node's ingress_sbox marks the published port...
  let marks: MarkRule[] = [];
  const mangle = ev.ok(v, SECTION.mangle);
  if (mangle) {
    try {
      marks = parseMarkRules(mangle.output).filter((r) => r.dport === s.published);
      if (!marks.length) v.fail(`${ev.s.host}: ${sb} has no mangle MARK rule for dport ${s.published} (${parseMarkRules(mangle.output).map((r) => r.rule).join("; ") || "no MARK rule at all"})`);
      else v.observe(`${ev.s.host}: ${sb} marks dport ${s.published} with 0x${marks[0]!.mark.toString(16)} (${marks[0]!.rule})`);
    } catch (e) {
      v.unknown(`${ev.s.host}: \`${commandOf(SECTION.mangle)}\`: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  // 2. ...and IPVS balances that mark to the replicas' ingress addresses.
  const ipvs = ev.ok(v, SECTION.ipvs);
  if (ipvs && marks.length) {
    try {
      const services = parseIpVs(ipvs.output);
      const svc = services.find((x) => x.protocol === "FWM" && marks.some((m) => m.mark === x.fwmark));
      if (!svc) v.fail(`${ev.s.host}: ${sb}'s IPVS has no service for mark 0x${marks[0]!.mark.toString(16)} (it has ${services.map((x) => (x.protocol === "FWM" ? `FWM 0x${x.fwmark!.toString(16)}` : `${x.protocol} ${x.address}:${x.port}`)).join(", ") || "none"})`);
      else {
        const reals = svc.reals.map((r) => r.address);
        const want = tasks.filter((t) => t.ingressAddress).map((t) => t.ingressAddress!);
        const missing = tasks.filter((t) => !t.ingressAddress || !reals.includes(t.ingressAddress));
        const extra = reals.filter((a) => !want.includes(a));
        const shown = svc.reals.map((r) => `${r.address} (${r.forward}, ${r.active} active, ${r.inactive} inactive)`).join(", ") || "no real server";
        if (!unknown.length && missing.length) v.fail(`${ev.s.host}: IPVS mark 0x${svc.fwmark!.toString(16)} balances to ${shown}, not to ${missing.map((t) => `${taskName(t)} (${t.ingressAddress ?? "no ingress address"})`).join(", ")}`);
        else if (!unknown.length && extra.length) v.fail(`${ev.s.host}: IPVS mark 0x${svc.fwmark!.toString(16)} also balances to ${extra.join(", ")}, no running task of ${s.name}`);
        else v.observe(`${ev.s.host}: IPVS (${svc.scheduler}) balances mark 0x${svc.fwmark!.toString(16)} to ${shown}`);
      }
    } catch (e) {
      v.unknown(`${ev.s.host}: \`${commandOf(SECTION.ipvs)}\`: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  // 3. The ingress overlay's VXLAN id, as the gathered networks and vxlan devices show it.
  const vnis: string[] = [];
  for (const h of model.hosts.filter((x) => x.reachable)) {
    const list = h.networks?.find((n) => n.name === DOCUMENTED.ingressNetwork)?.options["com.docker.network.driver.overlay.vxlanid_list"];
    if (list !== undefined) {
      vnis.push(`${h.name}: ingress vxlanid_list ${list}`);
      if (list !== String(DOCUMENTED.ingressVni)) v.fail(`${h.name}: docker network inspect ingress shows vxlanid_list ${list}, not ${DOCUMENTED.ingressVni}`);
    }
  }
  for (const t of model.tunnels.filter((x) => x.network.name === DOCUMENTED.ingressNetwork)) {
    for (const e of t.endpoints.filter((x) => x.vni !== undefined)) {
      vnis.push(`${e.host}: ${e.namespace} ${e.ifname} vxlan id ${e.vni}`);
      if (e.vni !== DOCUMENTED.ingressVni) v.fail(`${e.host}: the ingress overlay's ${e.ifname} in ${e.namespace} has vxlan id ${e.vni}, not ${DOCUMENTED.ingressVni}`);
    }
  }
  if (!vnis.length) v.unknown(`the gather shows no VXLAN id of the ${DOCUMENTED.ingressNetwork} network (neither its vxlanid_list option nor its vxlan device)`);
  else v.observe(vnis.join(", "));
  // 4. A request entering this node for a replica on another node crosses on VNI 4096, from the ingress_sbox.
  const remote = tasks.filter((t) => t.host !== ev.s.host && t.ingressAddress);
  // ingress_sbox's own address on the ingress network (not the VIPs, /32, nor its docker_gwbridge side).
  const ingressSubnets = (hm?.networks?.find((n) => n.name === DOCUMENTED.ingressNetwork)?.ipam ?? []).map((c) => c.subnet).filter((c): c is string => !!c);
  const sboxAddrs = (hm?.namespaces.find((n) => n.kind === "ingress_sbox")?.interfaces ?? []).flatMap((i) =>
    i.addresses.filter((a) => a.family === "inet" && a.prefixlen < 32 && ingressSubnets.some((c) => inCidr(c, a.local))).map((a) => a.local),
  );
  if (!entry) v.unknown(`the probe ran on ${ev.s.host}, which is not in the inventory`);
  else if (!unknown.length && !remote.length) v.unknown(`${s.name}'s replicas run on ${ev.s.host} itself (${tasks.map(taskName).join(", ") || "none"}): no request had to cross to another node`);
  else if (remote.length) {
    const cap = ev.ok(v, SECTION.capture, [0, 124]);
    if (cap) {
      const packets = parseVxlanCapture(cap.output);
      for (const t of remote) {
        const target = ev.inventory.hosts.find((h) => h.name === t.host);
        const hit = packets.find((p) => p.vni === DOCUMENTED.ingressVni && p.dst === target?.address && p.inner?.dst === t.ingressAddress);
        if (!hit) {
          const seen = packets.map((p) => `${p.src} > ${p.dst} vni ${p.vni}${p.inner ? ` [${p.inner.src} > ${p.inner.dst}]` : ""}`).join("; ");
          v.fail(`${ev.s.host}: while ${entry.address}:${s.published} was asked, no VXLAN packet with VNI ${DOCUMENTED.ingressVni} left for ${t.host} (${target?.address}) carrying traffic to ${taskName(t)} at ${t.ingressAddress} (captured: ${seen || "nothing"})`);
        } else if (sboxAddrs.length && !sboxAddrs.includes(hit.inner!.src)) {
          v.fail(`${ev.s.host}: the VXLAN packets to ${t.ingressAddress} come from ${hit.inner!.src}, not from ${sb}'s ingress address ${sboxAddrs.join(", ")}`);
        } else {
          v.observe(`${ev.s.host} → ${t.host}: VXLAN ${hit.src} > ${hit.dst}:${hit.dstPort} vni ${hit.vni} carrying ${hit.inner!.src}${hit.inner!.srcPort !== undefined ? `:${hit.inner!.srcPort}` : ""} > ${hit.inner!.dst}:${hit.inner!.dstPort ?? "?"}${sboxAddrs.length ? ` (from ${sb})` : ""}`);
        }
      }
    }
  }
  return v.result(f, `${ev.s.host}'s ${sb} marks dport ${s.published} and IPVS balances the mark to ${s.name}'s replicas; a request entering ${ev.s.host} reaches a replica on another node as VXLAN with VNI ${DOCUMENTED.ingressVni}`);
}

export function check(model: LabModel, inventory: Inventory, opts: { only?: readonly string[]; services?: LabServices } = {}): FactResult[] {
  const s = sectionsOf(model.probe);
  const svc = opts.services ?? DOCUMENTED_SERVICES;
  const with_ = (fn: (f: LabFact, m: LabModel, ev: Evidence) => FactResult) => (f: LabFact): FactResult => ("reason" in s ? notRun(f, s) : fn(f, model, new Evidence(s, inventory, svc)));
  return runFactChecks(FACTS, { "RM-1": with_(checkRm1), "RM-2": with_(checkRm2), "RM-3": with_(checkRm3), "RM-4": with_(checkRm4) }, opts.only);
}
