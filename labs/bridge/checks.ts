/**
 * The verdicts on BR-1..BR-5, from the gathered model of the manager (networks, containers,
 * namespaces, bridges, veth pairs) and the bridge probe's sections. Pure.
 */
import type { RawSection } from "../../scripts/lib/framing";
import type { Inventory } from "../../scripts/lib/verify/inventory";
import { type HostModel, type Iface, type LabModel, type Namespace, resolveRef } from "../../scripts/lib/verify/model";
import type { FactResult } from "../../scripts/lib/verify/result";
import type { ContainerInfo, DockerNetwork } from "../../scripts/lib/verify/parse/docker";
import { factResult, runFactChecks, Verdict } from "../kit";
import type { LabFact } from "../lab";
import { managerHost, sectionsOf } from "../script-probe";
import { type BridgeNames, DOCUMENTED, DOCUMENTED_NAMES, FACTS } from "./facts";
import { parseDockerPort, parseHttpAnswer, parseNslookup, parsePing } from "./parse";
import { bridgeNameOf, SECTIONS } from "./probe";

export type HostView = { host: HostModel } | { reason: string };

/** The host the lab runs on (the manager), or why its model cannot be read. */
export function labHost(model: LabModel, inventory: Inventory): HostView {
  const name = managerHost(inventory).name;
  const h = model.hosts.find((x) => x.name === name);
  if (!h) return { reason: `${name} is not in the model` };
  if (!h.reachable) return { reason: `${name}: ${h.error ?? "could not be gathered"}` };
  if (h.dockerDown) return { reason: `${name}: ${h.dockerDown}` };
  return { host: h };
}

function issueOf(h: HostModel, key: string, fallback: string): string {
  const i = h.issues.find((x) => x.key === key);
  return `${h.name}: ${i ? i.message : fallback}`;
}

const hostNamespace = (h: HostModel): Namespace | undefined => h.namespaces.find((n) => n.kind === "host");

/** The host namespace's interfaces, or why they are missing. */
function hostLinks(h: HostModel, v: Verdict): Namespace | undefined {
  const ns = hostNamespace(h);
  if (!ns || ns.interfaces.length === 0) {
    v.unknown(ns?.issues[0] ? `${h.name}: ${ns.issues[0]}` : `${h.name}: \`ip -d link show\` of the host namespace was not gathered`);
    return undefined;
  }
  return ns;
}

function networks(h: HostModel, v: Verdict): DockerNetwork[] | undefined {
  if (!h.networks) v.unknown(issueOf(h, "docker-network-inspect", "`docker network inspect` was not gathered"));
  return h.networks;
}

function containers(h: HostModel, v: Verdict): ContainerInfo[] | undefined {
  if (!h.containers) v.unknown(issueOf(h, "docker-inspect", "`docker inspect` of the running containers was not gathered"));
  return h.containers;
}

/** A running container attached to `network` (fails the verdict when it is not). */
function runningOn(h: HostModel, all: ContainerInfo[], name: string, network: string, v: Verdict): ContainerInfo | undefined {
  const c = all.find((x) => x.name === name);
  if (!c) {
    v.fail(`${h.name}: no running container ${name}`);
    return undefined;
  }
  const nets = c.networks.map((n) => n.name);
  if (!nets.includes(network)) {
    v.fail(`${h.name}: ${name} is on ${nets.join(", ") || "no network"}, not on ${network}`);
    return undefined;
  }
  return c;
}

function localnetOf(h: HostModel, nets: DockerNetwork[], names: BridgeNames, v: Verdict): DockerNetwork | undefined {
  const net = nets.find((n) => n.name === names.network);
  if (!net) v.fail(`${h.name}: no network ${names.network} (docker network inspect lists ${nets.map((n) => n.name).join(", ")})`);
  else if (net.driver !== DOCUMENTED.network.driver) v.fail(`${h.name}: network ${names.network} has driver ${net.driver}, not ${DOCUMENTED.network.driver}`);
  else return net;
  return undefined;
}

/** A container's network namespace in the gathered model (the last part of its SandboxKey). */
export const sandboxOf = (h: HostModel, c: ContainerInfo): Namespace | undefined => {
  const id = c.sandboxKey.split("/").pop();
  return id ? h.namespaces.find((n) => n.id === id) : undefined;
};

/** The host's NIC: the host-namespace interface holding its lab address (where published ports are reached). */
export const hostNicOf = (h: HostModel): Iface | undefined => hostNamespace(h)?.interfaces.find((i) => i.addresses.some((a) => a.family === "inet" && a.local === h.address));

// ----------------------------------------------------------- probe ----

const commandOf = (key: string, names: BridgeNames, address: string): string =>
  ({
    [SECTIONS.port]: `docker port ${names.web}`,
    [SECTIONS.http]: `GET http://${address}:${names.hostPort}/`,
    [SECTIONS.ping]: `docker exec ${names.c2} ping -c 1 -W 2 ${names.c1}`,
    [SECTIONS.lookup]: `docker exec ${names.c2} nslookup ${names.c1}`,
    [SECTIONS.otherLookup]: `docker exec ${names.other} nslookup ${names.c1}`,
    [SECTIONS.stp]: "cat /sys/class/net/<localnet's bridge>/bridge/stp_state",
  })[key] ?? key;

type Sections = { sections: Record<string, RawSection>; cut?: string; complete: boolean; discarded: Record<string, string>; host: string } | { reason: string; outcome: "skip" | "unchecked" };

function probeSections(model: LabModel): Sections {
  const s = sectionsOf(model.probe);
  if ("reason" in s) return s;
  return { sections: s.framed.sections, complete: s.framed.complete, discarded: s.framed.discarded, host: s.host, ...(s.cut ? { cut: s.cut } : {}) };
}

/** One section of the probe, or why it is missing (recorded as unknown on the verdict). */
function section(p: Sections, key: string, cmd: string, v: Verdict): RawSection | undefined {
  if ("reason" in p) {
    v.unknown(`the bridge probe did not run: ${p.reason}`);
    return undefined;
  }
  const s = p.sections[key];
  if (s) return s;
  if (p.discarded[key] !== undefined) v.unknown(`${p.host}: the output of \`${cmd}\` arrived damaged (${p.discarded[key]})`);
  else if (p.cut || !p.complete) v.unknown(`${p.host}: the bridge probe ended before \`${cmd}\`${p.cut ? ` (${p.cut})` : ""}`);
  else v.unknown(`${p.host}: the bridge probe did not run \`${cmd}\``);
  return undefined;
}

const errText = (s: RawSection): string => (s.stderr ?? "").trim().split("\n").filter(Boolean).slice(-2).join(" / ");
const oneLine = (t: string): string => t.trim().replace(/\s*\n\s*/g, " | ").slice(0, 200);
const both = (s: RawSection): string => `${s.output}\n${s.stderr ?? ""}`;

/** The probe did not run on purpose: the fact is skipped, with the reason. */
function skipped(f: LabFact, expected: string, p: Sections): FactResult | undefined {
  return "reason" in p && p.outcome === "skip" ? factResult(f, "skip", expected, "not probed", [], p.reason) : undefined;
}

// ---------------------------------------------------------- checks ----

export function checkBridge(model: LabModel, inventory: Inventory, opts: { only?: readonly string[] } = {}, names: BridgeNames = DOCUMENTED_NAMES): FactResult[] {
  const view = labHost(model, inventory);
  const probe = probeSections(model);
  const address = managerHost(inventory).address;
  const d = DOCUMENTED;
  const withHost = (v: Verdict, fn: (h: HostModel) => void): void => {
    if ("reason" in view) v.unknown(view.reason);
    else fn(view.host);
  };

  const br1 = (f: LabFact): FactResult => {
    const expected = `${d.defaultNetwork.name}: option ${d.defaultNetwork.bridgeNameOption}=${d.defaultNetwork.linuxBridge}, and the Linux bridge ${d.defaultNetwork.linuxBridge} in the host namespace`;
    const v = new Verdict();
    withHost(v, (h) => {
      const nets = networks(h, v);
      if (nets) {
        const bridge = nets.find((n) => n.name === d.defaultNetwork.name);
        const opt = bridge?.options[d.defaultNetwork.bridgeNameOption];
        if (!bridge) v.fail(`${h.name}: no network ${d.defaultNetwork.name}`);
        else if (opt !== d.defaultNetwork.linuxBridge) v.fail(`${h.name}: network ${d.defaultNetwork.name} has ${opt === undefined ? `no option ${d.defaultNetwork.bridgeNameOption}` : `${d.defaultNetwork.bridgeNameOption}=${opt}`}`);
        else v.observe(`${h.name}: network ${d.defaultNetwork.name} (${bridge.driver}) has ${d.defaultNetwork.bridgeNameOption}=${opt}`);
      }
      const ns = hostLinks(h, v);
      if (ns) {
        const i = ns.interfaces.find((x) => x.name === d.defaultNetwork.linuxBridge);
        if (!i) v.fail(`${h.name}: no interface ${d.defaultNetwork.linuxBridge} in the host namespace`);
        else if (i.kind !== "bridge") v.fail(`${h.name}: ${i.name} is a ${i.kind}, not a bridge`);
        else v.observe(`${h.name}: ${i.name} (ifindex ${i.ifindex}) is a Linux bridge in the host namespace`);
      }
    });
    return v.result(f, expected);
  };

  const br2 = (f: LabFact): FactResult => {
    const expected = `network ${names.network} (driver ${d.network.driver}) is the Linux bridge ${d.bridgePrefix}<first ${d.bridgeIdLength} hex of its id> in the host namespace, stp_state ${d.stpOff} (spanning tree off); its only members are the veths of containers on ${names.network} (the seed's empty bridge cannot be seen once the lab's containers run)`;
    const v = new Verdict();
    withHost(v, (h) => {
      const nets = networks(h, v);
      const net = nets ? localnetOf(h, nets, names, v) : undefined;
      const ns = net ? hostLinks(h, v) : undefined;
      if (!net || !ns) return;
      const want = `${d.bridgePrefix}${net.id.slice(0, d.bridgeIdLength)}`;
      const name = bridgeNameOf(net);
      if (name !== want) {
        v.fail(`${h.name}: ${names.network}'s bridge is named ${name} (option ${d.defaultNetwork.bridgeNameOption}), not ${want}`);
        return;
      }
      const br = ns.interfaces.find((i) => i.name === want);
      if (!br) {
        v.fail(`${h.name}: no interface ${want} in the host namespace for ${names.network} (${net.id.slice(0, 12)})`);
        return;
      }
      if (br.kind !== "bridge") {
        v.fail(`${h.name}: ${want} is a ${br.kind}, not a bridge`);
        return;
      }
      // stp_state: from ip -d link's details, else from the probe's read of sysfs.
      let stp = br.bridge?.stpState;
      let from = "ip -d link";
      if (stp === undefined) {
        const s = section(probe, SECTIONS.stp, commandOf(SECTIONS.stp, names, address), v);
        if (s && s.rc === 0 && /^\d+\s*$/.test(s.output)) {
          stp = Number(s.output.trim());
          from = `/sys/class/net/${want}/bridge/stp_state`;
        } else if (s) v.unknown(`${h.name}: \`cat /sys/class/net/${want}/bridge/stp_state\` gave ${s.rc === 0 ? `"${oneLine(s.output)}"` : `exit code ${s.rc}: ${errText(s)}`}`);
      }
      if (stp === undefined) v.unknown(`${h.name}: the stp_state of ${want} was not observed`);
      else if (stp !== d.stpOff) v.fail(`${h.name}: ${want} has stp_state ${stp} (spanning tree on), from ${from}`);
      else v.observe(`${h.name}: ${want} is the bridge of ${names.network}, stp_state ${stp} (spanning tree off)`);
      const members = model.bridges.find((b) => b.host === h.name && b.namespace === ns.id && b.name === want)?.members ?? [];
      const cs = containers(h, v);
      const seen: string[] = [];
      for (const m of members) {
        const i = ns.interfaces.find((x) => x.name === m)!;
        if (i.kind !== "veth") {
          v.fail(`${h.name}: ${m} (a ${i.kind}) is a member of ${want}, not a container's veth`);
          continue;
        }
        const peerNs = i.peer ? h.namespaces.find((n) => n.id === i.peer!.namespace) : undefined;
        if (!peerNs) {
          v.unknown(`${h.name}: the other end of ${m} on ${want} was not found in the gathered namespaces`);
          continue;
        }
        const owner = peerNs.task?.containerName;
        const onNet = owner !== undefined && cs?.find((c) => c.name === owner)?.networks.some((n) => n.name === names.network);
        if (!owner) v.fail(`${h.name}: ${m} on ${want} leads to namespace ${peerNs.id}, which is no container's`);
        else if (cs && !onNet) v.fail(`${h.name}: ${m} on ${want} belongs to ${owner}, which is not on ${names.network}`);
        else seen.push(`${m} (${owner})`);
      }
      v.observe(`members of ${want}: ${seen.length ? seen.join(", ") : "none"}`);
    });
    return v.result(f, expected);
  };

  const br3 = (f: LabFact): FactResult => {
    const expected = `${names.c1} runs on ${names.network}; its eth0 is a veth whose peer, in the host namespace, is enslaved to ${names.network}'s ${d.bridgePrefix}… bridge; docker network inspect ${names.network} lists ${names.c1} with its MAC and IPv4 address (those of its eth0)`;
    const v = new Verdict();
    withHost(v, (h) => {
      const nets = networks(h, v);
      const cs = containers(h, v);
      const net = nets ? localnetOf(h, nets, names, v) : undefined;
      const c1 = cs ? runningOn(h, cs, names.c1, names.network, v) : undefined;
      if (!net || !c1) return;
      const want = bridgeNameOf(net);
      const ep = net.containers.find((e) => e.name === names.c1);
      if (!ep) v.fail(`${h.name}: docker network inspect ${names.network} does not list ${names.c1} (it lists ${net.containers.map((e) => e.name).join(", ") || "no container"})`);
      else if (!ep.mac || !ep.ipv4) v.fail(`${h.name}: ${names.network} lists ${names.c1} without ${!ep.mac ? "a MAC address" : "an IPv4 address"}`);
      else v.observe(`${names.network} lists ${names.c1}: MacAddress ${ep.mac}, IPv4Address ${ep.ipv4}`);
      const sb = sandboxOf(h, c1);
      if (!sb) {
        v.unknown(`${h.name}: ${names.c1}'s namespace ${c1.sandboxKey || "(no SandboxKey)"} was not gathered`);
        return;
      }
      const eth0 = sb.interfaces.find((i) => i.name === "eth0");
      if (!eth0) {
        v[sb.interfaces.length ? "fail" : "unknown"](`${h.name}: ${names.c1}'s namespace ${sb.id} has ${sb.interfaces.length ? `no eth0 (${sb.interfaces.map((i) => i.name).join(", ")})` : `no interfaces gathered${sb.issues[0] ? `: ${sb.issues[0]}` : ""}`}`);
        return;
      }
      if (eth0.kind !== "veth") {
        v.fail(`${h.name}: ${names.c1}'s eth0 is a ${eth0.kind}, not a veth`);
        return;
      }
      if (ep?.mac && eth0.mac && ep.mac.toLowerCase() !== eth0.mac.toLowerCase()) v.fail(`${h.name}: ${names.c1}'s eth0 has MAC ${eth0.mac}, ${names.network} lists ${ep.mac}`);
      if (ep?.ipv4 && !eth0.addresses.some((a) => `${a.local}/${a.prefixlen}` === ep.ipv4)) v.fail(`${h.name}: ${names.c1}'s eth0 has ${eth0.addresses.map((a) => `${a.local}/${a.prefixlen}`).join(", ") || "no address"}, ${names.network} lists ${ep.ipv4}`);
      const peer = eth0.peer ? resolveRef(model, eth0.peer) : undefined;
      if (!peer) {
        v.unknown(`${h.name}: the other end of ${names.c1}'s eth0 (peer ifindex ${eth0.peerIfindex ?? "?"}) was not found among the gathered namespaces`);
        return;
      }
      if (peer.ns.kind !== "host") v.fail(`${h.name}: ${names.c1}'s eth0 pairs with ${peer.iface.name} in namespace ${peer.ns.id}, not in the host namespace`);
      else if (peer.iface.master !== want) v.fail(`${h.name}: ${names.c1}'s eth0 pairs with ${peer.iface.name}, which is ${peer.iface.master ? `enslaved to ${peer.iface.master}` : "on no bridge"}, not to ${want}`);
      else v.observe(`${names.c1}'s eth0 (ifindex ${eth0.ifindex}) pairs with ${peer.iface.name} (ifindex ${peer.iface.ifindex}) in the host namespace, master ${want}`);
    });
    return v.result(f, expected);
  };

  const br4 = (f: LabFact): FactResult => {
    const expected = `from ${names.c2} on ${names.network}: ping ${names.c1} resolves to ${names.c1}'s address and is answered, nslookup ${names.c1} is answered by the embedded DNS ${d.embeddedDns} with that address; from ${names.other} on the default ${d.defaultNetwork.name} network, nslookup ${names.c1} fails to resolve the name`;
    const skip = skipped(f, expected, probe);
    if (skip) return skip;
    const v = new Verdict();
    withHost(v, (h) => {
      const cs = containers(h, v);
      if (!cs) return;
      const c1 = runningOn(h, cs, names.c1, names.network, v);
      runningOn(h, cs, names.c2, names.network, v);
      const c3 = runningOn(h, cs, names.other, d.defaultNetwork.name, v);
      if (c3 && c3.networks.some((n) => n.name === names.network)) v.fail(`${h.name}: ${names.other} is on ${names.network} too: it does not show the default network's lack of name resolution`);
      const ip = c1?.networks.find((n) => n.name === names.network)?.ipAddress;
      if (!ip) {
        if (c1) v.unknown(`${h.name}: ${names.c1}'s address on ${names.network} is not in docker inspect`);
        return;
      }
      const ping = section(probe, SECTIONS.ping, commandOf(SECTIONS.ping, names, address), v);
      if (ping) {
        const p = parsePing(both(ping));
        if (ping.rc === 124) v.unknown(`${h.name}: \`${commandOf(SECTIONS.ping, names, address)}\` did not finish within its time bound`);
        else if (p.error) v.fail(`${h.name}: ${names.c2}: ping ${names.c1}: ${p.error}`);
        else if (p.address !== ip) v.fail(`${h.name}: ${names.c2} resolved ${names.c1} to ${p.address ?? "nothing"} (ping), ${names.c1} is ${ip}`);
        else if (ping.rc !== 0 || !p.received) v.fail(`${h.name}: ${names.c2} pinged ${names.c1} (${ip}) without an answer (${p.received ?? 0}/${p.transmitted ?? 0}, exit code ${ping.rc})`);
        else v.observe(`${names.c2}: ping ${names.c1} → ${ip}, ${p.received}/${p.transmitted} answered`);
      }
      const look = section(probe, SECTIONS.lookup, commandOf(SECTIONS.lookup, names, address), v);
      if (look) {
        const r = parseNslookup(both(look));
        if (look.rc === 124) v.unknown(`${h.name}: \`${commandOf(SECTIONS.lookup, names, address)}\` did not finish within its time bound`);
        else if (!r.answers.includes(ip)) v.fail(`${h.name}: ${names.c2}: nslookup ${names.c1} gave ${r.answers.join(", ") || r.nameFailure || r.noServer || oneLine(both(look)) || "nothing"}, ${names.c1} is ${ip}`);
        else if (r.server !== d.embeddedDns) v.fail(`${h.name}: ${names.c2}: ${names.c1} was resolved by ${r.server ?? "an unnamed server"}, not by Docker's embedded DNS ${d.embeddedDns}`);
        else v.observe(`${names.c2}: nslookup ${names.c1} → ${ip} (server ${r.server})`);
      }
      const other = section(probe, SECTIONS.otherLookup, commandOf(SECTIONS.otherLookup, names, address), v);
      if (other) {
        const r = parseNslookup(both(other));
        const cmd = commandOf(SECTIONS.otherLookup, names, address);
        if (r.answers.length) v.fail(`${h.name}: ${names.other} on ${d.defaultNetwork.name} resolved ${names.c1} to ${r.answers.join(", ")}${r.server ? ` (server ${r.server})` : ""}`);
        else if (other.rc === 124) v.unknown(`${h.name}: \`${cmd}\` did not finish within its time bound: no name failure was seen`);
        else if (r.nameFailure) v.observe(`${names.other} (${d.defaultNetwork.name}): ${r.nameFailure}${r.server ? ` (server ${r.server})` : ""}`);
        else if (r.noServer) v.unknown(`${h.name}: ${names.other}'s resolver got no answer (${r.noServer}): a name failure cannot be told from an unreachable server`);
        else v.unknown(`${h.name}: \`${cmd}\` exited ${other.rc} without an answer or a name failure: ${oneLine(both(other)) || "no output"}`);
      }
    });
    return v.result(f, expected);
  };

  const br5 = (f: LabFact): FactResult => {
    const w = d.web;
    const expected = `${names.web} runs on ${names.network}; docker port ${names.web} shows ${w.containerPort}/${w.proto} -> ${w.hostIp}:${names.hostPort}; GET http://${address}:${names.hostPort}/ is answered by ${names.web}'s page (its name and hostname)`;
    const skip = skipped(f, expected, probe);
    if (skip) return skip;
    const v = new Verdict();
    withHost(v, (h) => {
      const cs = containers(h, v);
      const web = cs ? runningOn(h, cs, names.web, names.network, v) : undefined;
      const port = section(probe, SECTIONS.port, commandOf(SECTIONS.port, names, address), v);
      if (port) {
        if (port.rc === 124) v.unknown(`${h.name}: \`docker port ${names.web}\` did not finish within its time bound`);
        else if (port.rc !== 0) v.fail(`${h.name}: docker port ${names.web} failed (exit code ${port.rc}): ${errText(port) || "no message"}`);
        else {
          let maps: ReturnType<typeof parseDockerPort> | undefined;
          try {
            maps = parseDockerPort(port.output);
          } catch (e) {
            v.fail(`${h.name}: docker port ${names.web} printed what is not a port mapping: ${e instanceof Error ? e.message : String(e)}`);
          }
          if (maps) {
            const ours = maps.filter((m) => m.containerPort === w.containerPort && m.proto === w.proto && m.hostPort === names.hostPort);
            const text = maps.map((m) => `${m.containerPort}/${m.proto} -> ${m.hostIp}:${m.hostPort}`).join(", ") || "no mapping";
            if (!ours.some((m) => m.hostIp === w.hostIp)) v.fail(`${h.name}: docker port ${names.web} shows ${text}`);
            else {
              v.observe(`docker port ${names.web}: ${w.containerPort}/${w.proto} -> ${w.hostIp}:${names.hostPort}`);
              const v6 = ours.filter((m) => m.hostIp.includes(":"));
              if (v6.length) v.change(`docker port ${names.web} also shows ${v6.map((m) => `${m.containerPort}/${m.proto} -> ${m.hostIp}:${m.hostPort}`).join(", ")}`);
            }
          }
        }
      }
      const http = section(probe, SECTIONS.http, commandOf(SECTIONS.http, names, address), v);
      if (http) {
        const cmd = commandOf(SECTIONS.http, names, address);
        if (http.rc === 124) v.fail(`${h.name}: ${cmd} got no answer within 5 s`);
        else if (http.rc !== 0 && http.output.trim() === "") v.fail(`${h.name}: ${cmd} failed: ${errText(http) || `exit code ${http.rc}`}`);
        else {
          let a: ReturnType<typeof parseHttpAnswer> | "garbled";
          try {
            a = parseHttpAnswer(http.output, cmd);
          } catch {
            a = "garbled";
          }
          if (a === "garbled") v.fail(`${h.name}: ${cmd} was answered with what is not HTTP: ${oneLine(http.output)}`);
          else if (a === undefined) v.fail(`${h.name}: ${cmd}: the connection closed without an answer`);
          else if (a.status !== 200) v.fail(`${h.name}: ${cmd} answered ${a.statusLine}`);
          else if (web) {
            const page = a.body.trim();
            const hostname = web.id.slice(0, 12);
            if (page !== `${names.web} ${hostname}`) v.fail(`${h.name}: ${cmd} answered "${oneLine(page)}", not ${names.web}'s page ("${names.web} ${hostname}")`);
            else v.observe(`${cmd} → ${a.statusLine}, page "${page}" (${names.web}, container ${hostname})`);
          }
        }
      }
    });
    return v.result(f, expected);
  };

  return runFactChecks(FACTS, { "BR-1": br1, "BR-2": br2, "BR-3": br3, "BR-4": br4, "BR-5": br5 }, opts.only);
}


