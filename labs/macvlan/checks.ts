/**
 * The macvlan lab's checks (MV-1..MV-3), pure: the gathered model (docker network inspect, docker
 * inspect, the host's and mactainer1's namespaces) and the probe's sections (the peer's
 * sub-interface, its ping, the capture of tagged frames on its NIC).
 */
import type { RawSection } from "../../scripts/lib/framing";
import { inCidr } from "../../scripts/lib/ipv4";
import type { Inventory } from "../../scripts/lib/verify/inventory";
import { type HostModel, ipv4s, type LabModel } from "../../scripts/lib/verify/model";
import type { FactResult } from "../../scripts/lib/verify/result";
import { factResult, runFactChecks, Verdict } from "../kit";
import type { LabFact } from "../lab";
import { sectionsOf } from "../script-probe";
import { DOCUMENTED, FACTS, subInterfaceOf } from "./facts";
import { findMactainer, macvlanIface, subInterface, underlayNic } from "./lookup";
import { type Frame, icmpEcho, parseIpJsonDevices, parsePingSummary, parseTcpdumpFrames } from "./parse";
import { peerHost, probePlan } from "./probe";

const N = DOCUMENTED.network;
const C = DOCUMENTED.container;
const V = DOCUMENTED.vlan;

const PROBE_COMMANDS: Record<string, string> = {
  setup: `the probe's setup (ip link add link <nic> name <nic>.${V.id} type vlan id ${V.id}; ip addr add ${DOCUMENTED.peer.address}/${DOCUMENTED.peer.prefixLength})`,
  "peer-sub": `ip -j -d addr show dev <nic>.${V.id}`,
  ping: `ping -c 3 -I <nic>.${V.id} <${C.name}>`,
  capture: "tcpdump -enl -i <nic> 'vlan and (arp or icmp)'",
};

function stderrOf(s: RawSection): string {
  return (s.stderr ?? "").trim().split("\n").filter((l) => l.trim()).slice(-2).join(" / ");
}

/** Why a host's docker views are missing (unreachable, engine down), or undefined. */
function unavailable(h: HostModel | undefined, name: string): string | undefined {
  if (!h) return `${name} is not in the model`;
  if (!h.reachable) return `${name}: ${h.error ?? "could not be gathered"}`;
  if (h.dockerDown) return `${name}: ${h.dockerDown}`;
  return undefined;
}

type Probe = { ok: true; host: string; sections: Record<string, RawSection>; cut?: string } | { ok: false; reason: string; outcome: "skip" | "unchecked" };

function probeOf(model: LabModel): Probe {
  const s = sectionsOf(model.probe);
  if ("reason" in s) return { ok: false, reason: s.reason, outcome: s.outcome };
  return { ok: true, host: s.host, sections: s.framed.sections, ...(s.cut ? { cut: s.cut } : {}) };
}

/** A probe section, or records why it is missing on the verdict. okCodes: exit codes whose output is judged. */
function section(v: Verdict, p: Extract<Probe, { ok: true }>, key: string, okCodes: number[] = [0]): RawSection | undefined {
  const s = p.sections[key];
  const cmd = PROBE_COMMANDS[key] ?? key;
  if (!s) {
    v.unknown(`${p.host}: \`${cmd}\` did not run${p.cut ? ` (the probe was cut off: ${p.cut})` : ""}`);
    return undefined;
  }
  if (!okCodes.includes(s.rc)) {
    const err = stderrOf(s);
    v.unknown(`${p.host}: \`${cmd}\` ${s.rc === 127 ? "is not installed" : s.rc === 124 ? "timed out" : `failed with exit code ${s.rc}`}${err ? `: ${err}` : ""}`);
    return undefined;
  }
  return s;
}

/** The capture's frames, or undefined (recorded on the verdict) when it could not be read. */
function captured(v: Verdict, p: Extract<Probe, { ok: true }>): Frame[] | undefined {
  // 124: the capture's timeout stopped it; what it printed before is judged.
  const s = section(v, p, "capture", [0, 124]);
  return s ? parseTcpdumpFrames(s.output) : undefined;
}

function describeFrames(frames: Frame[]): string {
  if (!frames.length) return "no tagged ARP/ICMP frame";
  const tags = [...new Set(frames.map((f) => (f.vlan === undefined ? "untagged" : `vlan ${f.vlan}`)))].join(", ");
  const macs = [...new Set(frames.flatMap((f) => [f.src, f.dst]))].join(", ");
  return `${frames.length} frame(s) (${tags}; MACs ${macs})`;
}

function checkMv1(f: LabFact, model: LabModel, inventory: Inventory): FactResult {
  const v = new Verdict();
  const expected = `${N.name}: driver ${N.driver}, subnet ${N.subnet}, gateway ${N.gateway}, parent <nic>.${V.id}; the host has <nic>.${V.id} of kind vlan, ${V.protocol} id ${V.id}`;
  const hostName = model.manager ?? inventory.hosts.find((h) => h.role === "manager")?.name ?? inventory.hosts[0]?.name ?? "the manager";
  const h = model.hosts.find((x) => x.name === hostName);
  const why = unavailable(h, hostName);
  if (why || !h) {
    v.unknown(why ?? `${hostName} is not in the model`);
    return v.result(f, expected);
  }
  const net = h.networks?.find((n) => n.name === N.name);
  const nic = underlayNic(h);
  if (!h.networks) v.unknown(`${h.name}: docker network inspect was not gathered`);
  else if (!net) v.fail(`${h.name} has no network ${N.name} (networks: ${h.networks.map((n) => n.name).join(", ")})`);
  if (!nic) v.unknown(`${h.name}: no interface of the host namespace holds ${h.address} (ip addr show was not gathered?)`);
  const sub = nic ? subInterfaceOf(nic.name) : undefined;
  if (net) {
    if (net.driver !== N.driver) v.fail(`${h.name}: ${N.name} has driver ${net.driver}, not ${N.driver}`);
    const parent = net.options["parent"];
    if (sub && parent !== sub) v.fail(`${h.name}: ${N.name}'s parent is ${parent ?? "not set"}, not ${sub} (the underlay NIC ${nic!.name}, VLAN ${V.id})`);
    const ipam = net.ipam[0];
    if (!ipam || ipam.subnet !== N.subnet || ipam.gateway !== N.gateway) v.fail(`${h.name}: ${N.name}'s IPAM is ${ipam ? `${ipam.subnet ?? "?"} gateway ${ipam.gateway ?? "?"}` : "empty"}, not ${N.subnet} gateway ${N.gateway}`);
    if (!v.fails.length && sub) v.observe(`${h.name}: ${N.name} (${N.driver}, ${N.subnet}, gateway ${N.gateway}) has parent ${sub}`);
  }
  let tagSeen = false;
  if (nic && sub) {
    const dev = subInterface(h, nic);
    if (!dev) v.fail(`${h.name} has no interface ${sub} in its host namespace`);
    else if (dev.kind !== "vlan") v.fail(`${h.name}: ${sub} is of kind ${dev.kind}, not vlan`);
    else if (dev.vlan) {
      // The gather's ip -d link names the VLAN id, its protocol and the NIC it is stacked on.
      tagSeen = true;
      if (dev.vlan.id !== V.id) v.fail(`${h.name}: ${sub} has VLAN id ${dev.vlan.id}, not ${V.id}`);
      if (dev.vlan.protocol !== undefined && dev.vlan.protocol !== V.protocol) v.fail(`${h.name}: ${sub} uses ${dev.vlan.protocol}, not ${V.protocol}`);
      if (dev.link !== undefined && dev.link !== nic.name) v.fail(`${h.name}: ${sub} is stacked on ${dev.link}, not ${nic.name}`);
      v.observe(`${h.name}: ${sub} (ifindex ${dev.ifindex}) is vlan ${dev.vlan.protocol ?? ""} id ${dev.vlan.id} on ${dev.link ?? nic.name}`.replace("  ", " "));
    } else v.observe(`${h.name}: ${sub} (ifindex ${dev.ifindex}, kind vlan${dev.mac ? `, MAC ${dev.mac}` : ""})`);
  }
  // The tag on the wire: the probe's capture of the frames mactainer1 sends through that
  // sub-interface. Needed where the gather did not show the VLAN id (ip without -d details);
  // where it did, a capture showing another tag still fails the fact.
  const m = findMactainer(model);
  const mac = m?.endpoint?.mac?.toLowerCase();
  const p = probeOf(model);
  const need = (why: string): void => {
    if (!tagSeen) v.unknown(why);
  };
  if (!p.ok) need(`${sub ?? "<nic>.100"}'s VLAN id and protocol: the gather did not show them and the probe did not run (${p.reason})`);
  else if (!mac) need(`${sub ?? "<nic>.100"}'s VLAN id and protocol: ${C.name} has no MAC on ${N.name} in the model, its frames cannot be told apart`);
  else {
    const probeVerdict = new Verdict();
    const frames = captured(probeVerdict, p);
    for (const u of probeVerdict.unknowns) need(u);
    if (frames) {
      const mine = frames.filter((x) => x.src === mac);
      const wrong = mine.filter((x) => x.vlan !== V.id || x.ethertypeHex !== V.ethertype);
      if (wrong.length) v.fail(`frames sent by ${C.name} (${mac}) through ${h.name}'s ${sub ?? "<nic>.100"} arrive on ${p.host} as ${wrong[0]!.ethertype} (${wrong[0]!.ethertypeHex})${wrong[0]!.vlan !== undefined ? ` vlan ${wrong[0]!.vlan}` : " untagged"}, not ${V.protocol} (${V.ethertype}) vlan ${V.id}`);
      else if (!mine.length) need(`${sub ?? "<nic>.100"}'s VLAN id and protocol: the capture on ${p.host} holds no frame from ${C.name} (${mac}): ${describeFrames(frames)}`);
      else v.observe(`${mine.length} frame(s) sent by ${C.name} (${mac}) through ${sub ?? "<nic>.100"} carry ${V.protocol} (${V.ethertype}) tag ${V.id} on the wire (captured on ${p.host})`);
    }
  }
  return v.result(f, expected);
}

function checkMv2(f: LabFact, model: LabModel, inventory: Inventory): FactResult {
  const v = new Verdict();
  const expected = `${C.name}: an interface of kind macvlan, lower device the host's <nic>.${V.id}, a MAC of its own, an IPv4 address in ${N.ipRange}`;
  const m = findMactainer(model);
  if (!m) {
    const down = model.hosts.map((h) => unavailable(h, h.name)).filter((x): x is string => !!x);
    if (down.length) v.unknown(`${C.name} was not found on the hosts that answered (${down.join("; ")})`);
    else if (model.hosts.some((h) => !h.containers)) v.unknown(`docker inspect of the running containers was not gathered on ${model.hosts.filter((h) => !h.containers).map((h) => h.name).join(", ")}`);
    else v.fail(`no host runs a container ${C.name}`);
    void inventory;
    return v.result(f, expected);
  }
  const h = m.host;
  const ep = m.endpoint;
  if (!ep) {
    v.fail(`${h.name}: ${C.name} is not on ${N.name} (its networks: ${m.container.networks.map((n) => n.name).join(", ") || "none"})`);
    return v.result(f, expected);
  }
  const nic = underlayNic(h);
  const sub = nic ? subInterface(h, nic) : undefined;
  if (!nic) v.unknown(`${h.name}: no interface of the host namespace holds ${h.address}`);
  else if (!sub) v.fail(`${h.name} has no ${subInterfaceOf(nic.name)} for ${C.name}'s interface to sit on`);
  const ns = m.sandbox;
  if (!ns) {
    v.unknown(`${h.name}: ${C.name}'s namespace (${m.container.sandboxKey || "no SandboxKey"}) is not in the gathered namespaces`);
    return v.result(f, expected);
  }
  if (!ns.interfaces.length) {
    v.unknown(`${h.name}: ${C.name}'s namespace ${ns.id} has no interfaces in the gather${ns.issues.length ? ` (${ns.issues.join("; ")})` : ""}`);
    return v.result(f, expected);
  }
  const mv = ns.interfaces.filter((i) => i.kind === "macvlan");
  if (!mv.length) {
    v.fail(`${h.name}: ${C.name}'s namespace ${ns.id} has no macvlan interface (${ns.interfaces.map((i) => `${i.name}: ${i.kind}`).join(", ")})`);
    return v.result(f, expected);
  }
  // The one docker attached: it holds the endpoint's address (else the first one, judged as is).
  const dev = macvlanIface(m)!;
  const where = `${h.name}: ${C.name}'s ${dev.name}`;
  if (sub) {
    if (dev.peerIfindex !== sub.ifindex) v.fail(`${where} (macvlan) has lower device ifindex ${dev.peerIfindex ?? "none"}, not ${sub.name} (ifindex ${sub.ifindex})`);
    else if (dev.linkNetnsid === undefined) v.fail(`${where}'s lower device ifindex ${sub.ifindex} is in its own namespace, not the host's ${sub.name}`);
    else v.observe(`${where} is a macvlan on ${sub.name} (link ifindex ${sub.ifindex} in the host namespace)`);
  }
  const mac = dev.mac?.toLowerCase();
  const hostMacs = [nic, sub].filter((i) => i?.mac).map((i) => i!.mac!.toLowerCase());
  if (!mac) v.unknown(`${where} has no MAC in the gather`);
  else if (hostMacs.includes(mac)) v.fail(`${where} has the host NIC's MAC ${mac}, not one of its own`);
  else if (ep.mac && ep.mac.toLowerCase() !== mac) v.fail(`${where} has MAC ${mac}, docker inspect says ${ep.mac}`);
  else v.observe(`its own MAC ${mac} (the host's ${nic?.name ?? "NIC"}: ${hostMacs[0] ?? "?"})`);
  const addrs = ipv4s(dev).map((a) => a.local);
  const inRange = addrs.filter((a) => inCidr(N.ipRange, a));
  if (!addrs.length) v.fail(`${where} has no IPv4 address`);
  else if (!inRange.length) v.fail(`${where} has ${addrs.join(", ")}, outside the ip-range ${N.ipRange}`);
  else if (ep.ipAddress && !inRange.includes(ep.ipAddress)) v.fail(`${where} has ${inRange.join(", ")}, docker inspect says ${ep.ipAddress}`);
  else v.observe(`IPv4 ${inRange.join(", ")} in the ip-range ${N.ipRange}`);
  return v.result(f, expected);
}

function checkMv3(f: LabFact, model: LabModel, inventory: Inventory): FactResult {
  const v = new Verdict();
  const expected = `${peerHost(inventory).name}, on its own <nic>.${V.id} (${V.protocol} id ${V.id}) with an address of ${N.subnet} outside ${N.ipRange}, pings ${C.name}; on its NIC the echo request and reply are tagged ${V.id} and addressed to / sent from ${C.name}'s MAC`;
  const p = probeOf(model);
  if (!p.ok) {
    if (p.outcome === "skip") return factResult(f, "skip", expected, "not probed", [], p.reason);
    v.unknown(p.reason);
    return v.result(f, expected);
  }
  let plan;
  try {
    plan = probePlan(inventory, model);
  } catch (e) {
    v.unknown(`what the probe aimed at cannot be told from the model: ${e instanceof Error ? e.message : String(e)}`);
    return v.result(f, expected);
  }
  const { ip, mac } = plan.target;
  section(v, p, "setup");
  const subSec = section(v, p, "peer-sub");
  if (subSec) {
    let devs;
    try {
      devs = parseIpJsonDevices(subSec.output);
    } catch (e) {
      v.unknown(`${p.host}: \`${PROBE_COMMANDS["peer-sub"]}\`: ${e instanceof Error ? e.message : String(e)}`);
    }
    const d = devs?.find((x) => x.name === plan.sub);
    if (devs && !d) v.fail(`${p.host} has no ${plan.sub}`);
    if (d) {
      const peerAddrs = d.ipv4.filter((a) => inCidr(N.subnet, a.address) && !inCidr(N.ipRange, a.address));
      if (d.kind !== "vlan" || d.vlanId !== V.id || d.vlanProtocol !== V.protocol) v.fail(`${p.host}: ${plan.sub} is ${d.kind ?? "of no kind"}${d.vlanId !== undefined ? ` id ${d.vlanId}` : ""}${d.vlanProtocol ? ` ${d.vlanProtocol}` : ""}, not vlan ${V.protocol} id ${V.id}`);
      else if (d.link !== undefined && d.link !== plan.nic) v.fail(`${p.host}: ${plan.sub} sits on ${d.link}, not on the underlay NIC ${plan.nic}`);
      else if (!peerAddrs.length) v.fail(`${p.host}: ${plan.sub} has ${d.ipv4.map((a) => `${a.address}/${a.prefixLength}`).join(", ") || "no IPv4 address"}, none in ${N.subnet} outside ${N.ipRange}`);
      else v.observe(`${p.host}: ${plan.sub} (vlan ${V.protocol} id ${V.id} on ${plan.nic}) with ${peerAddrs.map((a) => `${a.address}/${a.prefixLength}`).join(", ")}`);
    }
  }
  const ping = p.sections["ping"];
  if (!ping) section(v, p, "ping");
  else {
    const sum = parsePingSummary(ping.output);
    if (!sum) v.unknown(`${p.host}: ping ${ip} printed no summary (exit code ${ping.rc}${stderrOf(ping) ? `: ${stderrOf(ping)}` : ""})`);
    else if (sum.received === 0) v.fail(`${p.host}: ping ${ip} (${C.name}) got no reply (${sum.transmitted} sent, 0 received)`);
    else v.observe(`${p.host} pings ${C.name} ${ip}: ${sum.received}/${sum.transmitted} replies`);
  }
  const frames = captured(v, p);
  if (frames) {
    const tagged = frames.filter((x) => x.vlan === V.id && x.ethertypeHex === V.ethertype);
    const req = tagged.filter((x) => x.dst === mac && icmpEcho(x)?.type === "request" && icmpEcho(x)?.to === ip);
    const rep = tagged.filter((x) => x.src === mac && icmpEcho(x)?.type === "reply" && icmpEcho(x)?.from === ip);
    if (!req.length || !rep.length) {
      const missing = [!req.length ? `no echo request to ${mac}` : "", !rep.length ? `no echo reply from ${mac}` : ""].filter(Boolean).join(" and ");
      v.fail(`the capture on ${p.host}'s ${plan.nic} holds ${missing} tagged ${V.protocol} vlan ${V.id} (it holds ${describeFrames(frames)})`);
    } else v.observe(`on ${p.host}'s ${plan.nic}: ${req.length} echo request(s) to and ${rep.length} reply(ies) from ${C.name}'s MAC ${mac}, tagged ${V.protocol} vlan ${V.id}`);
  }
  return v.result(f, expected);
}

export function check(model: LabModel, inventory: Inventory, opts: { only?: readonly string[] } = {}): FactResult[] {
  return runFactChecks(
    FACTS,
    {
      "MV-1": (f) => checkMv1(f, model, inventory),
      "MV-2": (f) => checkMv2(f, model, inventory),
      "MV-3": (f) => checkMv3(f, model, inventory),
    },
    opts.only,
  );
}
