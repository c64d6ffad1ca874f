/**
 * swarm-overlay's checks: one pure function per documented fact, over (model, lab, inventory).
 *
 * Outcomes:
 *   pass      - the lab shows what the seeds document;
 *   changed   - it shows the documented "newer engines" difference instead
 *               (explained), and nothing else differs;
 *   fail      - something else differs: expected vs observed say what;
 *   unchecked - could not be checked: a host did not answer, the Docker engine
 *               is down, a command is missing or timed out, a section was not
 *               gathered or arrived damaged. The explanation names the cause.
 *               Missing data is never reported as a failure of the lab; what
 *               could be checked elsewhere still fails when it differs;
 *   skip      - deliberately not checked (--no-traffic, --only): the reason.
 *
 * Expected values come from the inventory (hosts, addresses, overlay,
 * subnet, service, replicas), lab.ts (service command) and DOCUMENTED in
 * facts.ts (Docker's own constants). Nothing lab-specific is written here.
 */
import { factResult, Verdict } from "../kit";
import { type OverlayInventory, type OverlayLabDefinition, withWorkload } from "./lab";
import { canonicalCidr, inCidr, nthAddressIn, prefixOf } from "../../scripts/lib/ipv4";
import type { Inventory, InventoryHost } from "../../scripts/lib/verify/inventory";
import type { HostModel, Iface, LabModel, Namespace } from "../../scripts/lib/verify/model";
import { commandOf, ipv4s, resolveRef } from "../../scripts/lib/verify/model";
import type { ContainerInfo, DockerNetwork } from "../../scripts/lib/verify/parse/docker";
import type { FactResult, Outcome } from "../../scripts/lib/verify/result";
import { DOCUMENTED, type Fact, FACTS, type FactId, TRAFFIC_FACT_IDS, type TrafficFactId } from "./facts";
import type { TrafficEvidence, TrafficObservations } from "./traffic";
import { judgeObservations } from "./traffic-checks";


export interface CheckContext {
  model: LabModel;
  lab: OverlayLabDefinition;
  inventory: OverlayInventory;
}

interface CheckOutput {
  verdict: Verdict;
  expected: string;
  /** Extra words for the explanation of a "changed" outcome. */
  skipReason?: string;
}

type Check = (ctx: CheckContext) => CheckOutput;

// --------------------------------------------------------------- helpers ----

const invHost = (ctx: CheckContext, name: string): InventoryHost => ctx.inventory.hosts.find((h) => h.name === name)!;

/** Reachable hosts; the others keep the fact from being checked there, and say why. */
function reachable(ctx: CheckContext, v: Verdict): HostModel[] {
  for (const h of ctx.model.hosts) if (!h.reachable) v.unknown(`${h.name}: ${h.error ?? "could not be gathered"}`);
  return ctx.model.hosts.filter((h) => h.reachable);
}

/** Messages of issues whose key starts with one of the prefixes. */
function issues(h: HostModel, ...prefixes: string[]): string {
  const msgs = h.issues.filter((i) => prefixes.some((p) => i.key.startsWith(p))).map((i) => i.message);
  return msgs.length ? msgs.join("; ") : `\`${commandOf(prefixes[0] ?? "", DOCUMENTED.netnsDir)}\` was not gathered`;
}

const DOCKER_KEYS = /^(docker-|exec-)/;

/**
 * Why a host's data from these sections is missing, as "<host>: <cause>": the
 * host was not gathered, the Docker engine did not answer (for docker's own
 * views), or the sections' own issues (not gathered, failed, timed out, ...).
 */
function cause(h: HostModel, ...prefixes: string[]): string {
  return `${h.name}: ${reason(h, ...prefixes)}`;
}

/** The same, without the host's name. */
function reason(h: HostModel, ...prefixes: string[]): string {
  if (!h.reachable) return h.error ?? "could not be gathered";
  if (h.dockerDown && prefixes.some((p) => DOCKER_KEYS.test(p))) return h.dockerDown;
  return issues(h, ...prefixes);
}

/**
 * The host whose manager views (node ls, service ps/inspect) are used. When
 * there is none: a manager of the inventory that could not be asked keeps the
 * fact from being checked; managers that answered and are not swarm managers
 * fail it.
 */
function managerHost(ctx: CheckContext, v: Verdict): HostModel | undefined {
  const name = ctx.model.manager;
  const h = ctx.model.hosts.find((x) => x.name === name);
  if (!h) {
    const mgrs = ctx.model.hosts.filter((x) => x.role === "manager");
    const unasked = mgrs.filter((x) => !x.reachable || !x.info);
    if (unasked.length) for (const x of unasked) v.unknown(`no swarm manager answered: ${cause(x, "docker-info")}`);
    else v.fail(`no swarm manager answered (${mgrs.map((x) => `${x.name}: swarm ${x.info?.swarm.localNodeState || "state unknown"}, not a manager`).join("; ") || "no manager in the inventory"})`);
  }
  return h;
}

function addrList(i: Iface | undefined): string {
  if (!i) return "-";
  const a = ipv4s(i).map((x) => `${x.local}/${x.prefixlen}`);
  return a.length ? a.join(", ") : "no IPv4";
}

function describeIface(i: Iface | undefined): string {
  if (!i) return "absent";
  return `${i.ifindex}: ${i.name}${i.peerIfindex !== undefined && i.kind !== "vxlan" ? `@if${i.peerIfindex}` : ""} ${i.kind} mtu ${i.mtu}${i.master ? ` master ${i.master}` : ""} ${addrList(i)}`;
}

function overlayNetwork(ctx: CheckContext, h: HostModel | undefined, name: string): DockerNetwork | undefined {
  const own = h?.networks?.find((n) => n.name === name);
  if (own) return own;
  const mgr = ctx.model.hosts.find((x) => x.name === ctx.model.manager);
  return mgr?.networks?.find((n) => n.name === name);
}

function isTaskContainer(ctx: CheckContext, c: ContainerInfo): boolean {
  return c.running && c.service === ctx.inventory.workload.service;
}

/** Task sandboxes of the lab's service on a host (namespace + container). */
function taskSandboxes(ctx: CheckContext, h: HostModel): { ns: Namespace; container: ContainerInfo }[] {
  const out: { ns: Namespace; container: ContainerInfo }[] = [];
  for (const c of (h.containers ?? []).filter((x) => isTaskContainer(ctx, x))) {
    const ns = h.namespaces.find((n) => n.kind === "sandbox" && n.task?.containerId === c.id);
    if (ns) out.push({ ns, container: c });
  }
  return out;
}

function localTaskContainers(ctx: CheckContext, h: HostModel): ContainerInfo[] {
  return (h.containers ?? []).filter((x) => isTaskContainer(ctx, x));
}

const taskLabel = (c: ContainerInfo): string => c.taskName ?? c.name ?? c.id.slice(0, 12);

/**
 * Run `each` for every task sandbox of every host. Hosts without a local
 * task are noted (WL-2 owns "one task per node"); no task anywhere is a
 * failure: there is nothing the fact could be confirmed on.
 */
function forEachTask(ctx: CheckContext, v: Verdict, each: (h: HostModel, ns: Namespace, c: ContainerInfo) => void): void {
  let count = 0;
  for (const h of reachable(ctx, v)) {
    if (!h.containers) {
      v.unknown(`cannot list the task containers of ${cause(h, "docker-inspect", "docker-container-ids", "docker-ps")}`);
      continue;
    }
    const tasks = localTaskContainers(ctx, h);
    if (tasks.length === 0) {
      v.note(`${h.name}: no local task of ${ctx.inventory.workload.service} (see WL-2)`);
      continue;
    }
    for (const c of tasks) {
      const ns = h.namespaces.find((n) => n.kind === "sandbox" && n.task?.containerId === c.id);
      if (!ns) {
        // Every listed namespace is in the model: a sandbox that is not is not in the directory.
        if (!h.netnsNames) v.unknown(`${taskLabel(c)}: its sandbox could not be looked for on ${cause(h, "netns-ls")}`);
        else v.fail(`${h.name}: ${taskLabel(c)}: its sandbox ${c.sandboxKey || "(no SandboxKey)"} is not in ${DOCUMENTED.netnsDir}`);
        continue;
      }
      if (ns.issues.length) {
        v.unknown(`${h.name}: ${taskLabel(c)}: ${ns.issues.join("; ")}`);
        continue;
      }
      count++;
      each(h, ns, c);
    }
  }
  if (count === 0 && v.fails.length === 0 && v.unknowns.length === 0) v.fail(`no task sandbox of ${ctx.inventory.workload.service} found on any host`);
}

function overlayNamespaces(ctx: CheckContext, h: HostModel, networkName: string): Namespace[] {
  return h.namespaces.filter((n) => n.kind === "overlay" && n.network?.name === networkName);
}

/**
 * For each host, the overlay namespace of `networkName`. Required where the
 * host has local tasks (or always, for ingress); absent elsewhere is fine
 * (Docker extends overlays lazily). None at all is a failure.
 */
function forEachOverlayNs(ctx: CheckContext, v: Verdict, networkName: string, requiredEverywhere: boolean, each: (h: HostModel, ns: Namespace) => void): void {
  let count = 0;
  for (const h of reachable(ctx, v)) {
    const nss = overlayNamespaces(ctx, h, networkName);
    if (nss.length === 0) {
      if (!h.netnsNames) {
        v.unknown(`cannot list the namespaces of ${cause(h, "netns-ls")}`);
        continue;
      }
      // Without the network's ID the 1-<id> namespaces cannot be told apart.
      if (!h.networks && h.netnsNames.some((n) => n.startsWith("1-"))) {
        v.unknown(`cannot tell which namespace is ${networkName}'s on ${cause(h, "docker-network-inspect")}`);
        continue;
      }
      if (!requiredEverywhere && !h.containers) {
        v.unknown(`cannot tell whether a task needs ${networkName} on ${cause(h, "docker-inspect", "docker-container-ids", "docker-ps")}`);
        continue;
      }
      const required = requiredEverywhere || localTaskContainers(ctx, h).length > 0;
      if (required) v.fail(`${h.name}: no ${networkName} namespace 1-<id> (namespaces: ${h.netnsNames.join(", ") || "none"})`);
      else v.note(`${h.name}: no ${networkName} namespace (no local task)`);
      continue;
    }
    for (const ns of nss) {
      if (ns.issues.length) {
        v.unknown(`${h.name}: ${ns.id}: ${ns.issues.join("; ")}`);
        continue;
      }
      count++;
      each(h, ns);
    }
  }
  if (count === 0 && v.fails.length === 0 && v.unknowns.length === 0) v.fail(`no ${networkName} namespace found on any host`);
}

/**
 * What keeps a veth's peer from being known on this host, if anything: a
 * namespace whose links were not gathered, no namespace listing, or a pairing
 * the link-netnsids could not settle. Undefined when everything was gathered.
 */
function gaps(h: HostModel, ns: Namespace, i: Iface): string | undefined {
  const amb = h.issues.find((x) => x.kind === "ambiguous" && x.key === `veth@${ns.id}/${i.name}`);
  if (amb) return amb.message;
  if (!h.netnsNames) return issues(h, "netns-ls");
  const partial = h.namespaces.filter((n) => n.issues.length);
  if (partial.length) return `not every namespace was gathered (${partial.map((n) => `${n.id}: ${n.issues[0]}`).join("; ")})`;
  return undefined;
}

/** A veth end whose peer is nowhere: a failure, unless the data to find it is missing. */
function peerNotFound(v: Verdict, h: HostModel, ns: Namespace, i: Iface, what: string): void {
  const gap = gaps(h, ns, i);
  if (gap) v.unknown(`${what} is unknown: ${gap}`);
  else v.fail(`${what} was not found in any namespace of ${h.name}`);
}

function isWildcard(addr: string): boolean {
  return ["*", "0.0.0.0", "[::]", "::", "[::ffff:0.0.0.0]"].includes(addr);
}

function imageRepo(image: string): string {
  const noDigest = image.split("@")[0]!;
  const lastSlash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  return colon > lastSlash ? noDigest.slice(0, colon) : noDigest;
}

function sameImage(observed: string, expected: string): boolean {
  const e = expected.split("@")[0]!;
  const hasTag = e.lastIndexOf(":") > e.lastIndexOf("/");
  const obs = observed.split("@")[0]!;
  const norm = (x: string): string => x.replace(/^docker\.io\//, "").replace(/^library\//, "");
  return hasTag ? norm(obs) === norm(e) : norm(imageRepo(obs)) === norm(imageRepo(e));
}

// ---------------------------------------------------------------- checks ----

const checks: Record<Exclude<FactId, TrafficFactId>, Check> = {
  "HOST-1": (ctx) => {
    const v = new Verdict();
    const inv = ctx.inventory;
    const doc = DOCUMENTED.os;
    if (inv.hosts.length !== ctx.lab.hosts.length) v.fail(`the inventory has ${inv.hosts.length} hosts, the lab ${ctx.lab.hosts.length}`);
    for (const h of reachable(ctx, v)) {
      const ih = invHost(ctx, h.name);
      if (h.hostname === undefined) v.unknown(cause(h, "hostname"));
      else if (h.hostname !== ih.hostname) v.fail(`${h.name}: hostname is ${h.hostname}, expected ${ih.hostname}`);
      if (h.virt === undefined) v.unknown(cause(h, "virt"));
      else if (!(DOCUMENTED.virt as readonly string[]).includes(h.virt)) v.fail(`${h.name}: systemd-detect-virt says ${h.virt}, expected QEMU/KVM (${DOCUMENTED.virt.join(" or ")})`);
      if (!h.os) v.unknown(cause(h, "os-release"));
      else if (h.os.id !== doc.id || h.os.versionId !== doc.versionId) v.change(`${h.name}: ${h.os.prettyName} instead of ${doc.prettyName}`);
      v.observe(`${h.name}: ${h.hostname ?? "?"}, ${h.os?.prettyName ?? "?"}, ${h.virt ?? "?"}`);
    }
    return { verdict: v, expected: `${inv.hosts.map((h) => `${h.hostname} (${h.role})`).join(", ")}; ${doc.prettyName}; QEMU/KVM` };
  },

  "HOST-2": (ctx) => {
    const v = new Verdict();
    const cidr = ctx.inventory.network.cidr;
    const prefix = prefixOf(cidr);
    for (const h of reachable(ctx, v)) {
      const ih = invHost(ctx, h.name);
      const ns = h.namespaces.find((n) => n.kind === "host");
      if (!ns || ns.issues.length) {
        v.unknown(ns ? `${h.name}: ${ns.issues.join("; ")}` : cause(h, "ip-link@host"));
        continue;
      }
      const nics = ns.interfaces.filter((i) => i.kind === "device" || ipv4s(i).some((a) => inCidr(cidr, a.local)));
      const nic = nics.find((i) => ipv4s(i).some((a) => a.local === ih.address));
      v.observe(`${h.name}: ${nics.map((i) => `${i.name} ${addrList(i)}`).join("; ") || "no NIC"}`);
      if (nics.length !== 1) v.fail(`${h.name}: ${nics.length} NICs on the lab network or physical (${nics.map((i) => i.name).join(", ") || "none"}), expected exactly one`);
      if (!nic) {
        v.fail(`${h.name}: no interface has ${ih.address}`);
        continue;
      }
      const a = ipv4s(nic).find((x) => x.local === ih.address)!;
      if (a.prefixlen !== prefix) v.fail(`${h.name}: ${nic.name} has ${a.local}/${a.prefixlen}, expected /${prefix} (${cidr})`);
      if (nic.name !== DOCUMENTED.nicName) v.change(`${h.name}: the NIC is ${nic.name} (seed: ${DOCUMENTED.nicName})`);
    }
    const hosts = ctx.inventory.hosts.map((h) => `${h.name} ${h.address}`).join(", ");
    return { verdict: v, expected: `one NIC per host on ${cidr} (${hosts}), named ${DOCUMENTED.nicName}` };
  },

  "HOST-3": (ctx) => {
    const v = new Verdict();
    const d = DOCUMENTED.docker0;
    for (const h of reachable(ctx, v)) {
      const ns = h.namespaces.find((n) => n.kind === "host");
      const br = ns?.interfaces.find((i) => i.name === d.name);
      if (!ns || ns.issues.length) {
        v.unknown(ns ? `${h.name}: ${ns.issues.join("; ")}` : cause(h, "ip-link@host"));
        continue;
      }
      if (!br) {
        v.fail(`${h.name}: no ${d.name} interface`);
        continue;
      }
      const members = ns.interfaces.filter((i) => i.master === d.name);
      v.observe(`${h.name}: ${describeIface(br)} <${br.flags.join(",")}>${members.length ? ` members ${members.map((m) => m.name).join(", ")}` : ""}`);
      if (br.kind !== "bridge") v.fail(`${h.name}: ${d.name} is a ${br.kind}, expected a bridge`);
      if (!ipv4s(br).some((a) => a.local === d.address && a.prefixlen === d.prefixlen)) v.fail(`${h.name}: ${d.name} has ${addrList(br)}, expected ${d.address}/${d.prefixlen}`);
      if (members.length === 0 && !br.flags.includes("NO-CARRIER")) v.fail(`${h.name}: ${d.name} is unused but not NO-CARRIER (<${br.flags.join(",")}>)`);
      if (members.length > 0) v.note(`${h.name}: ${d.name} is in use (${members.map((m) => m.name).join(", ")}), so it has carrier`);
    }
    return { verdict: v, expected: `${d.name}: bridge ${d.address}/${d.prefixlen} on every host, NO-CARRIER while unused` };
  },

  "CL-1": (ctx) => {
    const v = new Verdict();
    const managers = ctx.inventory.hosts.filter((h) => h.role === "manager");
    const first = managers[0]!;
    const joinAddr = `${first.address}:${DOCUMENTED.swarmPort}`;
    for (const h of reachable(ctx, v)) {
      const sw = h.info?.swarm;
      if (!sw) {
        v.unknown(cause(h, "docker-info"));
        continue;
      }
      v.observe(`${h.name}: ${sw.localNodeState}, ${sw.controlAvailable ? "manager" : "worker"}, node address ${sw.nodeAddr || "?"}, managers ${sw.remoteManagers.map((m) => m.addr).join(", ") || "-"}`);
      if (sw.localNodeState !== "active") {
        v.fail(`${h.name}: swarm state is "${sw.localNodeState}", expected "active"`);
        continue;
      }
      if (h.role === "manager") {
        if (!sw.controlAvailable) v.fail(`${h.name}: is not a manager`);
        if (sw.nodeAddr !== h.address) v.fail(`${h.name}: swarm node address is ${sw.nodeAddr}, expected ${h.address}`);
        if (sw.nodes !== undefined && sw.nodes !== ctx.inventory.hosts.length) v.fail(`${h.name}: the swarm has ${sw.nodes} nodes, expected ${ctx.inventory.hosts.length}`);
        if (sw.managers !== undefined && sw.managers !== managers.length) v.fail(`${h.name}: the swarm has ${sw.managers} managers, expected ${managers.length}`);
      } else {
        if (sw.controlAvailable) v.fail(`${h.name}: is a manager, expected a worker`);
        if (!sw.remoteManagers.some((m) => m.addr === joinAddr)) v.fail(`${h.name}: joined ${sw.remoteManagers.map((m) => m.addr).join(", ") || "no manager"}, expected ${joinAddr}`);
      }
    }
    return { verdict: v, expected: `swarm initialised on ${first.hostname} (${first.address}); ${ctx.inventory.hosts.filter((h) => h.role === "worker").map((h) => h.hostname).join(", ")} joined ${joinAddr}` };
  },

  "CL-2": (ctx) => {
    const v = new Verdict();
    const hosts = ctx.inventory.hosts;
    const leader = hosts.find((h) => h.role === "manager")!;
    const want = (h: InventoryHost): string => (h.role === "manager" ? (h === leader ? "Leader" : "Reachable") : "");
    const expected = hosts.map((h) => `${h.hostname} Ready Active${want(h) ? ` ${want(h)}` : ""}`).join("; ");
    const mgr = managerHost(ctx, v);
    if (!mgr) return { verdict: v, expected };
    if (!mgr.nodes) {
      v.unknown(cause(mgr, "docker-node-ls"));
      return { verdict: v, expected };
    }
    for (const n of mgr.nodes) v.observe(`${n.hostname}${n.self ? " *" : ""} ${n.status} ${n.availability}${n.managerStatus ? ` ${n.managerStatus}` : ""}`);
    for (const h of hosts) {
      const rows = mgr.nodes.filter((n) => n.hostname === h.hostname);
      if (rows.length === 0) {
        v.fail(`${h.hostname} is not a swarm node`);
        continue;
      }
      if (rows.length > 1) v.fail(`${h.hostname} is listed ${rows.length} times (a stale node entry?)`);
      const n = rows[0]!;
      if (n.status !== "Ready") v.fail(`${h.hostname}: STATUS ${n.status}, expected Ready`);
      if (n.availability !== "Active") v.fail(`${h.hostname}: AVAILABILITY ${n.availability}, expected Active`);
      if (n.managerStatus !== want(h)) v.fail(`${h.hostname}: MANAGER STATUS "${n.managerStatus}", expected "${want(h)}"`);
    }
    const extra = mgr.nodes.filter((n) => !hosts.some((h) => h.hostname === n.hostname));
    for (const n of extra) v.fail(`unexpected node ${n.hostname} (${n.status}/${n.availability})`);
    return { verdict: v, expected };
  },

  "WL-1": (ctx) => {
    const v = new Verdict();
    const w = ctx.inventory.workload;
    const expected = `${w.overlay}: driver overlay, scope swarm, subnet ${w.subnet}`;
    const mgr = managerHost(ctx, v);
    if (!mgr) return { verdict: v, expected };
    if (!mgr.networks) {
      v.unknown(cause(mgr, "docker-network-inspect"));
      return { verdict: v, expected };
    }
    const n = mgr.networks.find((x) => x.name === w.overlay);
    if (!n) {
      v.fail(`${mgr.name}: no network ${w.overlay} (networks: ${mgr.networks.map((x) => x.name).join(", ")})`);
      return { verdict: v, expected };
    }
    const subnets = n.ipam.map((c) => c.subnet ?? "?");
    v.observe(`${n.name} ${n.id}: driver ${n.driver}, scope ${n.scope}, subnet ${subnets.join(", ") || "none"}`);
    if (n.driver !== "overlay") v.fail(`driver is ${n.driver}, expected overlay`);
    if (n.scope !== "swarm") v.fail(`scope is ${n.scope}, expected swarm`);
    if (subnets.length !== 1 || canonicalCidr(subnets[0]!) !== canonicalCidr(w.subnet)) v.fail(`subnet is ${subnets.join(", ") || "none"}, expected ${w.subnet}`);
    return { verdict: v, expected };
  },

  "WL-2": (ctx) => {
    const v = new Verdict();
    const w = ctx.inventory.workload;
    const cmd = ctx.lab.workload.service.command;
    const perNode = w.replicas === ctx.inventory.hosts.length;
    const expected = `${w.service}: ${w.replicas} replicas of ${w.image} ${cmd.join(" ")} on ${w.overlay}; ${perNode ? "one task Running on each node" : `${w.replicas} tasks Running`}`;
    const mgr = managerHost(ctx, v);
    if (!mgr) return { verdict: v, expected };
    const s = mgr.service;
    if (!s) {
      if (mgr.serviceMissing) v.fail(`service ${w.service} not found (docker service inspect: no such service)`);
      else v.unknown(cause(mgr, "docker-service-inspect"));
    }
    else {
      v.observe(`${s.name}: ${s.mode}${s.replicas !== undefined ? ` ${s.replicas} replicas` : ""}, image ${s.image}, command ${s.command.join(" ")}`);
      if (s.mode !== "replicated") v.fail(`mode is ${s.mode}, expected replicated`);
      if (s.replicas !== w.replicas) v.fail(`${s.replicas ?? "no"} replicas, expected ${w.replicas}`);
      if (!sameImage(s.image, w.image)) v.fail(`image is ${s.image}, expected ${w.image}`);
      if (s.command.join(" ") !== cmd.join(" ")) v.fail(`command is "${s.command.join(" ")}", expected "${cmd.join(" ")}"`);
      // Which network the service's targets name is only known from the manager's network inspect.
      if (!mgr.networks) v.unknown(cause(mgr, "docker-network-inspect"));
      else {
        const net = mgr.networks.find((n) => n.name === w.overlay);
        if (!net || !s.networkTargets.some((t) => t === net.id || t === net.name)) v.fail(`the service is not attached to ${w.overlay}`);
      }
    }
    const tasks = mgr.serviceTasks;
    if (!tasks) {
      v.unknown(cause(mgr, "docker-service-ps"));
      return { verdict: v, expected };
    }
    const current = tasks.filter((t) => !t.history && t.desiredState === "Running");
    for (const t of tasks) v.observe(`${t.history ? "\\_ " : ""}${t.name} on ${t.node}: desired ${t.desiredState}, ${t.currentStateText}${t.error ? ` (${t.error})` : ""}`);
    if (current.length !== w.replicas) v.fail(`${current.length} tasks are meant to run, expected ${w.replicas}`);
    for (const t of current) if (t.currentState !== "Running") v.fail(`${t.name} on ${t.node} is ${t.currentStateText}, expected Running`);
    if (perNode) {
      for (const h of ctx.inventory.hosts) {
        const on = current.filter((t) => t.node === h.hostname);
        if (on.length !== 1) v.fail(`${on.length} tasks on ${h.hostname}, expected 1`);
      }
    }
    for (const t of current.filter((x) => !ctx.inventory.hosts.some((h) => h.hostname === x.node))) v.fail(`${t.name} runs on ${t.node}, which is not a lab host`);
    const failed = tasks.filter((t) => t.history && (["Failed", "Rejected"].includes(t.currentState) || t.error !== ""));
    for (const t of failed) v.change(`${t.name} on ${t.node} ${t.currentStateText.toLowerCase()}${t.error ? ` (${t.error})` : ""} and was replaced`);
    const otherHistory = tasks.filter((t) => t.history && !failed.includes(t));
    for (const t of otherHistory) v.note(`earlier task ${t.name} on ${t.node}: ${t.currentStateText}`);
    return { verdict: v, expected };
  },

  "PORT-1": (ctx) => {
    const v = new Verdict();
    for (const h of reachable(ctx, v)) {
      if (!h.sockets) {
        v.unknown(cause(h, "ss"));
        continue;
      }
      const need = [...(h.role === "manager" ? DOCUMENTED.ports.manager : []), ...DOCUMENTED.ports.all];
      const found: string[] = [];
      for (const p of need) {
        const s = h.sockets.find((x) => x.proto === p.proto && x.port === p.port && (isWildcard(x.address) || x.address === h.address) && (p.proto === "udp" || x.state === "LISTEN"));
        if (s) found.push(`${p.port}/${p.proto}`);
        else v.fail(`${h.name}: nothing listens on ${p.port}/${p.proto} (on ${h.address} or all addresses)`);
      }
      v.observe(`${h.name}: listening ${found.join(", ") || "none of them"}`);
    }
    v.note("listening sockets only: whether the ports are reachable between hosts is shown by the traffic facts");
    return { verdict: v, expected: "2377/tcp on the manager; 7946/tcp, 7946/udp, 4789/udp on every host" };
  },

  "NET-1": (ctx) => {
    const v = new Verdict();
    const w = ctx.inventory.workload;
    const docNets = DOCUMENTED.networks.map((n) => ({ ...n, name: n.name === "<overlay>" ? w.overlay : n.name }));
    for (const h of reachable(ctx, v)) {
      if (!h.networkLs) {
        v.unknown(cause(h, "docker-network-ls", "docker-network-ids", "docker-network-inspect"));
        continue;
      }
      const names = h.networkLs.map((n) => n.name);
      v.observe(`${h.name}: ${h.networkLs.map((n) => `${n.name}/${n.driver}/${n.scope}`).join(", ")}`);
      // Workers see an overlay only while a local task uses it (lazy extension).
      const overlayRequired = h.role === "manager" || localTaskContainers(ctx, h).some((c) => c.networks.some((n) => n.name === w.overlay));
      for (const d of docNets) {
        const row = h.networkLs.find((n) => n.name === d.name);
        if (!row) {
          if (d.name === w.overlay && !overlayRequired && !h.containers) v.unknown(`cannot tell whether a task needs ${w.overlay} on ${cause(h, "docker-inspect", "docker-container-ids")}`);
          else if (d.name !== w.overlay || overlayRequired) v.fail(`${h.name}: no network ${d.name}`);
          else v.note(`${h.name}: ${d.name} not listed (no local task uses it)`);
          continue;
        }
        if (row.driver !== d.driver || row.scope !== d.scope) v.fail(`${h.name}: ${d.name} is ${row.driver}/${row.scope}, expected ${d.driver}/${d.scope}`);
      }
      for (const n of names.filter((x) => !docNets.some((d) => d.name === x))) v.fail(`${h.name}: unexpected network ${n}`);
    }
    return { verdict: v, expected: docNets.map((n) => `${n.name}/${n.driver}/${n.scope}`).join(", ") };
  },

  "NS-1": (ctx) => {
    const v = new Verdict();
    const w = ctx.inventory.workload;
    for (const h of reachable(ctx, v)) {
      if (!h.netnsNames) {
        v.unknown(cause(h, "netns-ls"));
        continue;
      }
      // Naming the expected namespaces needs the networks' IDs and the local tasks.
      if (!h.networks || !h.containers) {
        v.unknown(`cannot name the expected namespaces of ${cause(h, h.networks ? "docker-inspect" : "docker-network-inspect")}`);
        continue;
      }
      const ingress = overlayNetwork(ctx, h, DOCUMENTED.ingress.name);
      const overlay = overlayNetwork(ctx, h, w.overlay);
      const tasks = localTaskContainers(ctx, h);
      const required = new Map<string, string>();
      if (ingress) required.set(`1-${ingress.id.slice(0, 10)}`, "the ingress overlay");
      else v.fail(`${h.name}: the ingress network is unknown, cannot name its namespace`);
      required.set(DOCUMENTED.ingress.sboxNetns, "the ingress sandbox");
      if (tasks.length > 0) {
        if (overlay) required.set(`1-${overlay.id.slice(0, 10)}`, `the ${w.overlay} overlay`);
        else v.fail(`${h.name}: network ${w.overlay} is unknown, cannot name its namespace`);
      }
      for (const c of tasks) required.set(c.sandboxKey.split("/").pop() ?? "", `the sandbox of ${taskLabel(c)}`);
      const present = new Set(h.netnsNames);
      v.observe(`${h.name}: ${h.netnsNames.join(", ") || "(empty)"}`);
      for (const [name, what] of required) if (!present.has(name)) v.fail(`${h.name}: no ${name} (${what})`);
      for (const name of h.netnsNames.filter((x) => !required.has(x))) {
        const ns = h.namespaces.find((n) => n.id === name);
        if (overlay && name === `lb_${overlay.id.slice(0, 9)}`) v.change(`${h.name}: extra ${name}, the load-balancer namespace of ${w.overlay}`);
        else if (overlay && name === `1-${overlay.id.slice(0, 10)}`) v.note(`${h.name}: ${name} (${w.overlay}) present without a local task`);
        else if (ns?.kind === "sandbox") v.note(`${h.name}: ${name} is the sandbox of container ${ns.task?.containerName ?? "?"}, not a task of ${w.service}`);
        else if ((ns?.kind === "overlay" || ns?.kind === "lb") && ns.network) v.note(`${h.name}: ${name} belongs to network ${ns.network.name}`);
        // A stopped container's namespace outlives it until libnetwork's next garbage collection
        // (about a minute): right after tasks were replaced, one is expected. Any other is not.
        else if (/^[0-9a-f]{12}$/.test(name)) v.note(`${h.name}: ${name} is the namespace of a container that is gone; Docker removes it at its next clean-up (within about a minute)`);
        else v.fail(`${h.name}: unexpected namespace ${name} (no network or container owns it)`);
      }
    }
    return { verdict: v, expected: `1-<first 10 of ${w.overlay} ID> (where a task runs), 1-<first 10 of ingress ID>, ingress_sbox, one sandbox per local task` };
  },

  "NS-2": (ctx) => {
    const v = new Verdict();
    forEachTask(ctx, v, (h, ns, c) => {
      const dir = c.sandboxKey.slice(0, c.sandboxKey.lastIndexOf("/"));
      v.observe(`${h.name}: ${taskLabel(c)}: ${c.sandboxKey}`);
      if (dir !== DOCUMENTED.netnsDir) v.fail(`${h.name}: ${taskLabel(c)}: SandboxKey ${c.sandboxKey} is not under ${DOCUMENTED.netnsDir}`);
      if (!h.netnsNames?.includes(ns.id)) v.fail(`${h.name}: ${taskLabel(c)}: ${ns.id} is not in ${DOCUMENTED.netnsDir}`);
    });
    return { verdict: v, expected: `each task's SandboxKey is ${DOCUMENTED.netnsDir}/<sandbox>, a namespace listed there` };
  },

  "IPAM-1": (ctx) => {
    const v = new Verdict();
    const w = ctx.inventory.workload;
    const expected = `${w.overlay}: subnet ${w.subnet}, gateway ${w.gateway}`;
    const mgr = managerHost(ctx, v);
    const views = ctx.model.hosts.filter((h) => h.reachable && h.networks?.some((n) => n.name === w.overlay));
    if (mgr && !views.includes(mgr)) {
      if (mgr.networks) v.fail(`${mgr.name}: network ${w.overlay} not found (networks: ${mgr.networks.map((n) => n.name).join(", ")})`);
      else v.unknown(cause(mgr, "docker-network-inspect"));
    }
    for (const h of views) {
      const n = h.networks!.find((x) => x.name === w.overlay)!;
      const cfg = n.ipam.map((c) => `${c.subnet ?? "?"} gw ${c.gateway ?? "?"}`).join(", ");
      v.observe(`${h.name}: ${cfg || "no IPAM config"}`);
      if (n.ipam.length !== 1) {
        v.fail(`${h.name}: ${n.ipam.length} IPAM configs, expected 1`);
        continue;
      }
      const c = n.ipam[0]!;
      if (canonicalCidr(c.subnet ?? "") !== canonicalCidr(w.subnet)) v.fail(`${h.name}: subnet ${c.subnet}, expected ${w.subnet}`);
      if (c.gateway !== w.gateway) v.fail(`${h.name}: gateway ${c.gateway}, expected ${w.gateway}`);
    }
    return { verdict: v, expected };
  },

  "IPAM-2": (ctx) => {
    const v = new Verdict();
    const g = DOCUMENTED.gwbridge;
    for (const h of reachable(ctx, v)) {
      const n = h.networks?.find((x) => x.name === g.name);
      if (!h.networks) v.unknown(cause(h, "docker-network-inspect"));
      else if (!n) v.fail(`${h.name}: no network ${g.name}`);
      else {
        const c = n.ipam[0];
        if (n.ipam.length !== 1 || c?.subnet !== g.subnet || c.gateway !== g.gateway) v.fail(`${h.name}: ${g.name} IPAM is ${n.ipam.map((x) => `${x.subnet} gw ${x.gateway}`).join(", ") || "empty"}, expected ${g.subnet} gw ${g.gateway}`);
      }
      const ns = h.namespaces.find((x) => x.kind === "host");
      const br = ns?.interfaces.find((i) => i.name === g.name);
      if (!ns || ns.issues.length) v.unknown(ns ? `${h.name}: ${ns.issues.join("; ")}` : cause(h, "ip-addr@host"));
      else if (!br) v.fail(`${h.name}: no ${g.name} interface on the host`);
      else if (!ipv4s(br).some((a) => a.local === g.address && a.prefixlen === g.prefixlen)) v.fail(`${h.name}: ${g.name} has ${addrList(br)}, expected ${g.address}/${g.prefixlen}`);
      v.observe(`${h.name}: IPAM ${n?.ipam.map((x) => `${x.subnet} gw ${x.gateway}`).join(", ") ?? "?"}; interface ${addrList(br)}`);
    }
    return { verdict: v, expected: `${g.name}: IPAM ${g.subnet} gw ${g.gateway}; host interface ${g.address}/${g.prefixlen}` };
  },

  "SB-1": (ctx) => {
    const v = new Verdict();
    const w = ctx.inventory.workload;
    const g = DOCUMENTED.gwbridge;
    const mtu = DOCUMENTED.mtu;
    forEachTask(ctx, v, (h, ns, c) => {
      const who = `${h.name}: ${taskLabel(c)}`;
      v.observe(`${who}: ${ns.interfaces.map(describeIface).join("; ")}`);
      const names = ns.interfaces.map((i) => i.name).sort();
      if (names.join(",") !== "eth0,eth1,lo") v.fail(`${who}: interfaces ${names.join(", ")}, expected eth0, eth1, lo`);
      const eth0 = ns.interfaces.find((i) => i.name === "eth0");
      const eth1 = ns.interfaces.find((i) => i.name === "eth1");
      const main0 = ipv4s(eth0).filter((a) => a.prefixlen !== 32);
      if (eth0) {
        if (eth0.mtu !== mtu.overlay) v.fail(`${who}: eth0 mtu ${eth0.mtu}, expected ${mtu.overlay}`);
        if (main0.length !== 1 || !inCidr(w.subnet, main0[0]!.local) || main0[0]!.prefixlen !== prefixOf(w.subnet)) v.fail(`${who}: eth0 has ${addrList(eth0)}, expected one address in ${w.subnet}`);
        const own = c.networks.find((n) => n.name === w.overlay);
        if (own && main0[0] && own.ipAddress !== main0[0].local) v.fail(`${who}: eth0 has ${main0[0].local} but docker inspect says ${own.ipAddress}`);
      }
      if (eth1) {
        if (eth1.mtu !== mtu.underlay) v.fail(`${who}: eth1 mtu ${eth1.mtu}, expected ${mtu.underlay}`);
        const a1 = ipv4s(eth1);
        if (a1.length !== 1 || !inCidr(g.subnet, a1[0]!.local) || a1[0]!.prefixlen !== g.prefixlen) v.fail(`${who}: eth1 has ${addrList(eth1)}, expected one address in ${g.subnet}`);
      }
    });
    return { verdict: v, expected: `lo; eth0 mtu ${mtu.overlay} with one address in ${w.subnet}; eth1 mtu ${mtu.underlay} with one address in ${g.subnet}` };
  },

  "SB-2": (ctx) => {
    const v = new Verdict();
    const w = ctx.inventory.workload;
    const vip = nthAddressIn(w.subnet, DOCUMENTED.vipHostOffset)!;
    const mgr = managerHost(ctx, v);
    const net = overlayNetwork(ctx, mgr, w.overlay);
    const svcVip = mgr?.service?.virtualIps.find((x) => !net || x.networkId === net.id)?.addr.split("/")[0];
    if (mgr?.service) {
      v.observe(`service VIP on ${w.overlay}: ${svcVip ?? "none"}`);
      if (svcVip !== vip) v.fail(`the service's VIP on ${w.overlay} is ${svcVip ?? "missing"}, expected ${vip}`);
    } else if (mgr && !mgr.serviceMissing) v.unknown(cause(mgr, "docker-service-inspect"));
    forEachTask(ctx, v, (h, ns, c) => {
      const who = `${h.name}: ${taskLabel(c)}`;
      const eth0 = ns.interfaces.find((i) => i.name === "eth0");
      if (ipv4s(eth0).some((a) => a.local === vip && a.prefixlen === 32)) {
        v.observe(`${who}: ${vip}/32 on eth0`);
        return;
      }
      const lb = h.namespaces.find((n) => n.kind === "lb" && n.network?.name === w.overlay);
      const lbIf = lb?.interfaces.find((i) => ipv4s(i).some((a) => a.local === vip && a.prefixlen === 32));
      if (lb && lbIf) {
        v.observe(`${who}: eth0 ${addrList(eth0)}; ${vip}/32 on ${lb.id}:${lbIf.name}`);
        v.change(`${who}: ${vip}/32 is not on eth0 but on ${lbIf.name} in ${lb.id}`);
      } else {
        v.observe(`${who}: eth0 ${addrList(eth0)}${lb ? `; ${lb.id}: ${lb.interfaces.map((i) => `${i.name} ${addrList(i)}`).join(", ")}` : ""}`);
        v.fail(`${who}: ${vip}/32 is neither on eth0 nor in an lb_ namespace`);
      }
    });
    return { verdict: v, expected: `VIP ${vip}/32 on each task's eth0` };
  },

  "SB-3": (ctx) => {
    const v = new Verdict();
    const sig = (i: { name: string; ifindex: number; mtu: number; addresses: { family: string; local: string; prefixlen: number }[] }): string =>
      `${i.name} (${i.ifindex}, mtu ${i.mtu}, ${i.addresses.filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`).sort().join(" ") || "no IPv4"})`;
    forEachTask(ctx, v, (h, ns, c) => {
      const who = `${h.name}: ${taskLabel(c)}`;
      const exec = h.execLinks[c.id];
      if (!exec) {
        v.unknown(`${h.name}: ${taskLabel(c)}: ${reason(h, `exec-ip-addr/${c.id}`)}`);
        return;
      }
      const a = exec.map(sig).sort();
      const b = ns.interfaces.map(sig).sort();
      v.observe(`${who}: exec ${a.length} interfaces, nsenter ${b.length}`);
      const onlyExec = a.filter((x) => !b.includes(x));
      const onlyNs = b.filter((x) => !a.includes(x));
      if (onlyExec.length || onlyNs.length) v.fail(`${who}: docker exec shows ${onlyExec.join(", ") || "nothing more"}; nsenter shows ${onlyNs.join(", ") || "nothing more"}`);
    });
    return { verdict: v, expected: "docker exec <task> ip addr and nsenter --net=<SandboxKey> ip addr list the same interfaces, indexes, MTUs and addresses" };
  },

  "RT-1": (ctx) => {
    const v = new Verdict();
    const w = ctx.inventory.workload;
    const g = DOCUMENTED.gwbridge;
    forEachTask(ctx, v, (h, ns, c) => {
      const who = `${h.name}: ${taskLabel(c)}`;
      const a0 = ipv4s(ns.interfaces.find((i) => i.name === "eth0")).find((a) => a.prefixlen !== 32)?.local ?? "?";
      const a1 = ipv4s(ns.interfaces.find((i) => i.name === "eth1"))[0]?.local ?? "?";
      const want = [`default via ${g.gateway} dev eth1`, `${g.subnet} dev eth1 src ${a1}`, `${w.subnet} dev eth0 src ${a0}`];
      const got = ns.routes.filter((r) => r.type === undefined || r.type === "unicast").map((r) => `${r.dst}${r.gateway ? ` via ${r.gateway}` : ""}${r.dev ? ` dev ${r.dev}` : ""}${r.prefsrc ? ` src ${r.prefsrc}` : ""}`);
      v.observe(`${who}: ${got.join("; ") || "no routes"}`);
      for (const x of want) if (!got.includes(x)) v.fail(`${who}: missing route "${x}"`);
      for (const x of got) if (!want.includes(x)) v.fail(`${who}: unexpected route "${x}"`);
    });
    return { verdict: v, expected: `default via ${g.gateway} dev eth1; ${g.subnet} dev eth1 src <eth1>; ${w.subnet} dev eth0 src <eth0>` };
  },

  "VETH-1": (ctx) => {
    const v = new Verdict();
    const w = ctx.inventory.workload;
    forEachTask(ctx, v, (h, ns, c) => {
      const who = `${h.name}: ${taskLabel(c)}`;
      const eth0 = ns.interfaces.find((i) => i.name === "eth0");
      if (!eth0) return v.fail(`${who}: no eth0`);
      if (eth0.ethtoolPeerIfindex !== undefined && eth0.ethtoolPeerIfindex !== eth0.peerIfindex) v.fail(`${who}: eth0@if${eth0.peerIfindex} but ethtool says peer_ifindex ${eth0.ethtoolPeerIfindex}`);
      const peer = eth0.peer ? resolveRef(ctx.model, eth0.peer) : undefined;
      if (!peer) return peerNotFound(v, h, ns, eth0, `${who}: the peer of eth0@if${eth0.peerIfindex ?? "?"}`);
      v.observe(`${who}: ${eth0.ifindex}: eth0@if${eth0.peerIfindex} <-> ${peer.ns.id}: ${describeIface(peer.iface)}`);
      if (peer.ns.kind !== "overlay" || peer.ns.network?.name !== w.overlay) v.fail(`${who}: eth0's peer is in ${peer.ns.id} (${peer.ns.kind}${peer.ns.network ? ` ${peer.ns.network.name}` : ""}), expected the ${w.overlay} namespace`);
      if (peer.iface.kind !== "veth") v.fail(`${who}: eth0's peer ${peer.iface.name} is a ${peer.iface.kind}, expected a veth`);
      if (peer.iface.master !== DOCUMENTED.br0.name) v.fail(`${who}: ${peer.iface.name} is enslaved to ${peer.iface.master ?? "nothing"}, expected ${DOCUMENTED.br0.name}`);
      if (peer.iface.mtu !== DOCUMENTED.mtu.overlay) v.fail(`${who}: ${peer.iface.name} mtu ${peer.iface.mtu}, expected ${DOCUMENTED.mtu.overlay}`);
      if (peer.iface.peerIfindex !== eth0.ifindex) v.fail(`${who}: ${peer.iface.name} points back at if${peer.iface.peerIfindex ?? "?"}, not at eth0 (${eth0.ifindex})`);
    });
    return { verdict: v, expected: `eth0@ifN pairs with N, a veth in the ${w.overlay} namespace, master ${DOCUMENTED.br0.name}, mtu ${DOCUMENTED.mtu.overlay}` };
  },

  "VETH-2": (ctx) => {
    const v = new Verdict();
    const g = DOCUMENTED.gwbridge;
    forEachTask(ctx, v, (h, ns, c) => {
      const who = `${h.name}: ${taskLabel(c)}`;
      const eth1 = ns.interfaces.find((i) => i.name === "eth1");
      if (!eth1) return v.fail(`${who}: no eth1`);
      if (eth1.ethtoolPeerIfindex !== undefined && eth1.ethtoolPeerIfindex !== eth1.peerIfindex) v.fail(`${who}: eth1@if${eth1.peerIfindex} but ethtool says peer_ifindex ${eth1.ethtoolPeerIfindex}`);
      const peer = eth1.peer ? resolveRef(ctx.model, eth1.peer) : undefined;
      if (!peer) return peerNotFound(v, h, ns, eth1, `${who}: the peer of eth1@if${eth1.peerIfindex ?? "?"}`);
      v.observe(`${who}: ${eth1.ifindex}: eth1@if${eth1.peerIfindex} <-> ${peer.ns.id}: ${describeIface(peer.iface)}`);
      if (peer.ns.kind !== "host") v.fail(`${who}: eth1's peer is in ${peer.ns.id}, expected the host namespace`);
      if (peer.iface.kind !== "veth" || !peer.iface.name.startsWith("veth")) v.fail(`${who}: eth1's peer is ${peer.iface.name} (${peer.iface.kind}), expected a veth… device`);
      if (peer.iface.master !== g.name) v.fail(`${who}: ${peer.iface.name} is enslaved to ${peer.iface.master ?? "nothing"}, expected ${g.name}`);
      if (peer.iface.peerIfindex !== eth1.ifindex) v.fail(`${who}: ${peer.iface.name} points back at if${peer.iface.peerIfindex ?? "?"}, not at eth1 (${eth1.ifindex})`);
    });
    return { verdict: v, expected: `eth1@ifM pairs with M, a veth… in the host namespace, master ${g.name}` };
  },

  "OVL-1": (ctx) => {
    const v = new Verdict();
    const w = ctx.inventory.workload;
    const doc = DOCUMENTED.vxlan;
    forEachOverlayNs(ctx, v, w.overlay, false, (h, ns) => {
      const who = `${h.name}: ${ns.id}`;
      v.observe(`${who}: ${ns.interfaces.map((i) => `${i.name}${i.master ? `^${i.master}` : ""}`).join(", ")}`);
      const br = ns.interfaces.find((i) => i.name === DOCUMENTED.br0.name);
      if (!br || br.kind !== "bridge") v.fail(`${who}: no bridge ${DOCUMENTED.br0.name}`);
      else if (br.mtu !== DOCUMENTED.mtu.overlay) v.fail(`${who}: ${br.name} mtu ${br.mtu}, expected ${DOCUMENTED.mtu.overlay}`);
      if (!ns.interfaces.some((i) => i.name === "lo")) v.fail(`${who}: no lo`);
      const vx = ns.interfaces.filter((i) => i.kind === "vxlan");
      if (vx.length !== 1) v.fail(`${who}: ${vx.length} vxlan interfaces, expected 1`);
      for (const x of vx) {
        if (x.master !== DOCUMENTED.br0.name) v.fail(`${who}: ${x.name} is not enslaved to ${DOCUMENTED.br0.name}`);
        if (x.name === doc.newerName) v.change(`${who}: the vxlan interface is ${x.name} (004: ${doc.documentedName})`);
        else if (x.name !== doc.documentedName) v.fail(`${who}: the vxlan interface is ${x.name}, expected ${doc.documentedName} (or ${doc.newerName} on newer engines)`);
      }
      const taskPeers = new Set(taskSandboxes(ctx, h).map((t) => t.ns.id));
      const veths = ns.interfaces.filter((i) => i.kind === "veth" || i.kind === "unknown");
      const reached = new Set<string>();
      for (const i of veths) {
        if (i.master !== DOCUMENTED.br0.name) v.fail(`${who}: ${i.name} is not enslaved to ${DOCUMENTED.br0.name}`);
        const peerNs = i.peer ? h.namespaces.find((n) => n.id === i.peer!.namespace) : undefined;
        if (peerNs && taskPeers.has(peerNs.id)) reached.add(peerNs.id);
        else if (peerNs?.kind === "lb" && peerNs.network?.name === w.overlay) v.change(`${who}: ${i.name} leads to the load-balancer namespace ${peerNs.id}`);
        else if (!peerNs && gaps(h, ns, i)) v.unknown(`${who}: where ${i.name} leads is unknown: ${gaps(h, ns, i)}`);
        else v.fail(`${who}: ${i.name} leads to ${peerNs ? `${peerNs.id} (${peerNs.kind})` : "no known namespace"}, not to a local task`);
      }
      for (const t of taskPeers) if (!reached.has(t)) v.fail(`${who}: no veth leads to the task sandbox ${t}`);
      for (const i of ns.interfaces.filter((x) => !["lo", DOCUMENTED.br0.name].includes(x.name) && x.kind !== "vxlan" && !veths.includes(x))) v.fail(`${who}: unexpected interface ${i.name} (${i.kind})`);
    });
    return { verdict: v, expected: `${w.overlay} namespace: lo, ${DOCUMENTED.br0.name} (mtu ${DOCUMENTED.mtu.overlay}), one vxlan (${doc.documentedName}) enslaved to ${DOCUMENTED.br0.name}, one veth per local task` };
  },

  "OVL-2": (ctx) => {
    const v = new Verdict();
    const b = DOCUMENTED.br0;
    forEachOverlayNs(ctx, v, ctx.inventory.workload.overlay, false, (h, ns) => {
      const br = ns.interfaces.find((i) => i.name === b.name);
      if (!br) return v.fail(`${h.name}: ${ns.id}: no ${b.name}`);
      if (!br.bridge) return v.unknown(`${h.name}: ${ns.id}: no bridge details for ${b.name} (was \`ip -d link\` gathered?)`);
      const t = br.bridge;
      v.observe(`${h.name}: forward_delay ${t.forwardDelay} hello_time ${t.helloTime} max_age ${t.maxAge}`);
      if (t.forwardDelay !== b.forwardDelay || t.helloTime !== b.helloTime || t.maxAge !== b.maxAge) v.fail(`${h.name}: ${b.name} timers differ`);
    });
    return { verdict: v, expected: `${b.name}: forward_delay ${b.forwardDelay} hello_time ${b.helloTime} max_age ${b.maxAge}` };
  },

  "VXLAN-1": (ctx) => vxlanCheck(ctx, ctx.inventory.workload.overlay, DOCUMENTED.vxlan.demonetId, false, true),

  "VXLAN-2": (ctx) => vxlanCheck(ctx, DOCUMENTED.ingress.name, DOCUMENTED.vxlan.ingressId, true, false),

  "ING-1": (ctx) => {
    const v = new Verdict();
    const ing = DOCUMENTED.ingress;
    for (const h of reachable(ctx, v)) {
      const n = h.networks?.find((x) => x.name === ing.name);
      if (!h.networks) v.unknown(cause(h, "docker-network-inspect"));
      else if (!n) v.fail(`${h.name}: no network ${ing.name}`);
      else {
        const ep = n.containers.find((c) => c.key === ing.sboxKey);
        const subnets = n.ipam.map((c) => c.subnet ?? "?");
        v.observe(`${h.name}: subnet ${subnets.join(", ") || "none"}; ${n.containers.map((c) => `${c.key}: ${c.name} ${c.ipv4 ?? ""}`).join("; ") || "no endpoints"}`);
        if (!ep) v.fail(`${h.name}: no ${ing.sboxKey} endpoint on ${ing.name}`);
        else {
          if (ep.name !== ing.sboxName) v.fail(`${h.name}: ${ing.sboxKey} is named ${ep.name}, expected ${ing.sboxName}`);
          const where = ingressRange(ep.ipv4 ? [{ local: ep.ipv4.split("/")[0]!, prefixlen: prefixOf(ep.ipv4) ?? -1 }] : [], subnets);
          if (where === "newer") v.change(`${h.name}: ${ing.sboxKey} has ${ep.ipv4}, in ${ing.newerSubnet} (the engine's default ingress range, not ${ing.subnet})`);
          else if (where !== "documented") v.fail(`${h.name}: ${ing.sboxKey} has ${ep.ipv4 ?? "no address"}, expected one in ${ing.subnet} (or ${ing.newerSubnet} on a swarm initialised with the engine's defaults)`);
        }
      }
    }
    return { verdict: v, expected: `${ing.name} (subnet ${ing.subnet}) .Containers has "${ing.sboxKey}" named ${ing.sboxName} with an address in ${ing.subnet}` };
  },

  "ING-2": (ctx) => {
    const v = new Verdict();
    const ing = DOCUMENTED.ingress;
    const g = DOCUMENTED.gwbridge;
    for (const h of reachable(ctx, v)) {
      const ns = h.namespaces.find((n) => n.kind === "ingress_sbox");
      if (!ns) {
        if (h.netnsNames) v.fail(`${h.name}: no ${ing.sboxNetns} namespace`);
        else v.unknown(cause(h, "netns-ls"));
        continue;
      }
      if (ns.issues.length) {
        v.unknown(`${h.name}: ${ns.issues.join("; ")}`);
        continue;
      }
      v.observe(`${h.name}: ${ns.interfaces.map(describeIface).join("; ")}`);
      const eth0 = ns.interfaces.find((i) => i.name === "eth0");
      const eth1 = ns.interfaces.find((i) => i.name === "eth1");
      const names = ns.interfaces.map((i) => i.name).sort().join(",");
      if (names !== "eth0,eth1,lo") v.fail(`${h.name}: interfaces ${names}, expected eth0, eth1, lo`);
      if (eth0) {
        if (eth0.mtu !== DOCUMENTED.mtu.overlay) v.fail(`${h.name}: eth0 mtu ${eth0.mtu}, expected ${DOCUMENTED.mtu.overlay}`);
        const a = ipv4s(eth0);
        const net = overlayNetwork(ctx, h, ing.name);
        const subnets = net ? net.ipam.map((c) => c.subnet ?? "?") : [];
        const where = a.length === 1 ? ingressRange(a, subnets) : undefined;
        if (where === "newer") v.change(`${h.name}: ingress_sbox eth0 has ${addrList(eth0)}, in ${ing.newerSubnet} (the engine's default ingress range, not ${ing.subnet})`);
        else if (where !== "documented") v.fail(`${h.name}: eth0 has ${addrList(eth0)}, expected one address in ${ing.subnet} (or ${ing.newerSubnet} on a swarm initialised with the engine's defaults)`);
      }
      if (eth1) {
        if (eth1.mtu !== DOCUMENTED.mtu.underlay) v.fail(`${h.name}: eth1 mtu ${eth1.mtu}, expected ${DOCUMENTED.mtu.underlay}`);
        const a = ipv4s(eth1);
        if (a.length !== 1 || !inCidr(g.subnet, a[0]!.local) || a[0]!.prefixlen !== g.prefixlen) {
          v.fail(`${h.name}: eth1 has ${addrList(eth1)}, expected ${ing.sboxGwbridgeAddress}/${g.prefixlen} (one address in ${g.subnet})`);
        } else if (a[0]!.local !== ing.sboxGwbridgeAddress) {
          // .2 is the first address docker_gwbridge hands out: the ingress sandbox's on a node that
          // has just joined. A node that restarted numbers its endpoints in the order they come back.
          v.note(`${h.name}: eth1 has ${addrList(eth1)}, not ${ing.sboxGwbridgeAddress}: on a node that restarted, docker_gwbridge numbers its endpoints in the order they come back`);
        }
      }
    }
    return { verdict: v, expected: `${ing.sboxNetns}: eth0 mtu ${DOCUMENTED.mtu.overlay} in ${ing.subnet}; eth1 mtu ${DOCUMENTED.mtu.underlay} ${ing.sboxGwbridgeAddress}/${g.prefixlen}` };
  },
};

/**
 * Where ingress addresses lie: in the documented 10.255.0.0/16, in the newer
 * engines' default 10.0.0.0/24 (with that prefix length, and with the ingress
 * network's IPAM subnet agreeing when it is known), or elsewhere.
 */
function ingressRange(addrs: readonly { local: string; prefixlen: number }[], ipamSubnets: readonly string[]): "documented" | "newer" | undefined {
  const ing = DOCUMENTED.ingress;
  const all = (cidr: string): boolean => addrs.length > 0 && addrs.every((a) => inCidr(cidr, a.local) && a.prefixlen === prefixOf(cidr));
  const ipamIs = (cidr: string): boolean => ipamSubnets.length === 0 || ipamSubnets.every((x) => canonicalCidr(x) === cidr);
  if (all(ing.subnet) && ipamIs(ing.subnet)) return "documented";
  if (all(ing.newerSubnet) && ipamIs(ing.newerSubnet)) return "newer";
  return undefined;
}

function vxlanCheck(ctx: CheckContext, networkName: string, documentedId: number, requiredEverywhere: boolean, checkFlags: boolean): CheckOutput {
  const v = new Verdict();
  const doc = DOCUMENTED.vxlan;
  const ids: string[] = [];
  forEachOverlayNs(ctx, v, networkName, requiredEverywhere, (h, ns) => {
    const vx = ns.interfaces.filter((i) => i.kind === "vxlan");
    if (vx.length === 0) return v.fail(`${h.name}: ${ns.id}: no vxlan interface`);
    for (const x of vx) {
      const who = `${h.name}: ${ns.id}: ${x.name}`;
      if (!x.vxlan) {
        v.unknown(`${who}: no vxlan details (was \`ip -d link\` gathered?)`);
        continue;
      }
      const d = x.vxlan;
      ids.push(`${h.name} ${x.name} id ${d.id}`);
      v.observe(`${who}: id ${d.id} dstport ${d.dstport ?? "?"}${d.proxy ? " proxy" : ""}${d.l2miss ? " l2miss" : ""}${d.l3miss ? " l3miss" : ""} ageing ${d.ageing ?? "?"}`);
      if (d.id !== documentedId) v.fail(`${who}: vxlan id ${d.id}, documented ${documentedId}`);
      if (checkFlags) {
        if (d.dstport !== doc.dstport) v.fail(`${who}: dstport ${d.dstport ?? "none"}, expected ${doc.dstport}`);
        const missing = doc.flags.filter((f) => !d[f]);
        if (missing.length) v.fail(`${who}: lacks ${missing.join(", ")}`);
        if (d.ageing !== doc.ageing) v.fail(`${who}: ageing ${d.ageing ?? "none"}, expected ${doc.ageing}`);
      }
      const net = overlayNetwork(ctx, h, networkName);
      const opt = net?.options[DOCUMENTED.vxlanIdOption];
      if (!net) {
        if (!h.networks) v.unknown(`cannot read ${DOCUMENTED.vxlanIdOption} of ${networkName} on ${cause(h, "docker-network-inspect")}`);
        else v.fail(`${h.name}: no network ${networkName} in docker network inspect, cannot read ${DOCUMENTED.vxlanIdOption}`);
      }
      else if (opt === undefined) v.fail(`${h.name}: docker network inspect ${networkName} has no ${DOCUMENTED.vxlanIdOption}`);
      else {
        v.observe(`${h.name}: docker network inspect ${networkName}: ${DOCUMENTED.vxlanIdOption}=${opt}`);
        if (opt.split(",").map((s) => s.trim()).join(",") !== String(d.id)) v.fail(`${h.name}: ${DOCUMENTED.vxlanIdOption} is ${opt} but ${x.name} has id ${d.id}`);
      }
    }
  });
  const flags = checkFlags ? ` dstport ${doc.dstport} ${doc.flags.join(" ")} ageing ${doc.ageing}` : "";
  return { verdict: v, expected: `${networkName}: vxlan id ${documentedId}${flags}; ${DOCUMENTED.vxlanIdOption}=${documentedId} in docker network inspect ${networkName}` };
}

// ------------------------------------------------------------- runChecks ----

const result = (f: Fact, outcome: Outcome, expected: string, observed: string, details: string[], explanation?: string): FactResult =>
  factResult(f, outcome, expected, observed, details, explanation);

/** A traffic fact's verdict, judged from the traffic probe's observations (traffic-checks.ts). */
function trafficResult(judged: TrafficEvidence | undefined, f: Fact): FactResult {
  const t = judged?.[f.id as TrafficFactId];
  if (!t) return result(f, "unchecked", f.documented, "not checked", [], "the traffic checks did not run");
  const explanation = t.explanation ?? (t.outcome === "changed" ? f.newerEngines : undefined);
  return result(f, t.outcome, t.expected, t.observed, t.details ? [...t.details] : [], explanation);
}

/** Run one check per fact (all, or those in `only`), in FACTS order. Pure. */
export function runChecks(given: Omit<CheckContext, "inventory"> & { inventory: Inventory }, opts: { only?: readonly string[] } = {}): FactResult[] {
  const ctx: CheckContext = { ...given, inventory: withWorkload(given.inventory, given.lab) };
  const wanted = opts.only && opts.only.length ? new Set(opts.only) : undefined;
  const out: FactResult[] = [];
  let judged: TrafficEvidence | undefined;
  for (const f of FACTS) {
    if (wanted && !wanted.has(f.id)) continue;
    if ((TRAFFIC_FACT_IDS as readonly string[]).includes(f.id)) {
      if (ctx.model.probe !== undefined) judged ??= judgeObservations(ctx.model.probe as TrafficObservations);
      out.push(trafficResult(judged, f));
      continue;
    }
    const check = checks[f.id as Exclude<FactId, TrafficFactId>];
    let r: CheckOutput;
    try {
      r = check(ctx);
    } catch (e) {
      // A check must never take the run down; verify's own error keeps the fact from being checked.
      const msg = e instanceof Error ? e.message : String(e);
      out.push(result(f, "unchecked", f.documented, "not checked", [], `internal error in verify while checking this fact: ${msg}`));
      continue;
    }
    const v = r.verdict;
    const outcome = v.outcome;
    const observed =
      (outcome === "fail" ? v.fails : outcome === "changed" ? v.changes : v.seen).join("; ") || v.seen.join("; ") || (outcome === "unchecked" ? "not checked" : "");
    const details = [...v.seen, ...v.notes.map((n) => `note: ${n}`)];
    if (outcome === "fail" && v.unknowns.length) details.push(...v.unknowns.map((c) => `also could not check: ${c}`));
    if ((outcome === "fail" || outcome === "unchecked") && v.changes.length) details.push(...v.changes.map((c) => `also changed: ${c}`));
    const explanation = outcome === "changed" ? f.newerEngines : outcome === "unchecked" ? v.unknowns.join("; ") : undefined;
    out.push(result(f, outcome, r.expected, observed, details, explanation));
  }
  return out;
}

export { checks as CHECKS };
