/**
 * What the probe sends and where (pure, from the inventory and the gathered model): for each
 * overlay (uber-net, plain-net), the task on the probed host (docker0) with its namespace and
 * address, the other host's task address, and the overlay's VNI; the probed host's underlay NIC.
 * The checks rebuild the same plan to know what the probe's sections are about.
 */
import type { Inventory, InventoryHost } from "../../scripts/lib/verify/inventory";
import type { HostModel, Iface, LabModel } from "../../scripts/lib/verify/model";
import type { DockerNetwork } from "../../scripts/lib/verify/parse/docker";
import { managerHost } from "../script-probe";
import { DOCUMENTED } from "./facts";

export interface OverlayPlan {
  network: string;
  service: string;
  /** The VXLAN id from docker network inspect (vxlanid_list). */
  vni: number;
  localContainer: string;
  localSandbox: string;
  localAddress: string;
  peerContainer: string;
  peerAddress: string;
}

/** Why no plan: the model lacks data (missing: not gathered) or the lab lacks a part (absent). */
export class PlanError extends Error {
  override readonly name = "PlanError";
  constructor(
    readonly kind: "missing" | "absent",
    message: string,
  ) {
    super(message);
  }
}

export interface BasePlan {
  /** The probed host (the manager) and the other one. */
  host: InventoryHost;
  peer: InventoryHost;
  /** The probed host's underlay NIC (the one holding its lab address). */
  nic: string;
  local: HostModel;
  remote: HostModel;
}

/** A host's underlay NIC: the host-namespace interface holding its lab address. */
export function underlayNicOf(hm: HostModel, address: string): Iface | undefined {
  return hm.namespaces.find((n) => n.kind === "host")?.interfaces.find((i) => i.addresses.some((a) => a.local === address));
}

/** Does the network have data-plane encryption (`-o encrypted` among its options)? */
export function isEncrypted(n: DockerNetwork): boolean {
  return Object.prototype.hasOwnProperty.call(n.options, DOCUMENTED.encrypted.option);
}

function hostModel(model: LabModel, h: InventoryHost): HostModel {
  const hm = model.hosts.find((x) => x.name === h.name);
  if (!hm || !hm.reachable) throw new PlanError("missing", `${h.name} was not gathered${hm?.error ? `: ${hm.error}` : ""}`);
  if (hm.dockerDown) throw new PlanError("missing", `${h.name}: ${hm.dockerDown}`);
  return hm;
}

function taskOn(hm: HostModel, service: string, network: string): { id: string; sandbox: string; address: string } {
  if (!hm.containers) throw new PlanError("missing", `${hm.name}: the running containers were not gathered (docker inspect)`);
  const c = hm.containers.find((x) => x.service === service && x.running && x.networks.some((n) => n.name === network && n.ipAddress));
  if (!c) throw new PlanError("absent", `${hm.name} runs no task of ${service} with an address on ${network}`);
  return { id: c.id, sandbox: c.sandboxKey, address: c.networks.find((n) => n.name === network)!.ipAddress };
}

/** The VXLAN id of `network` on hm (docker network inspect's vxlanid_list); throws PlanError without one. */
export function vniOf(hm: HostModel, network: string): number {
  if (!hm.networks) throw new PlanError("missing", `${hm.name}: the networks were not gathered (docker network inspect)`);
  const n = hm.networks.find((x) => x.name === network);
  if (!n) throw new PlanError("absent", `${hm.name} has no network ${network}`);
  const ids = n.options[DOCUMENTED.vxlanIdOption];
  const first = ids?.split(",")[0];
  if (!first || !/^\d+$/.test(first)) throw new PlanError("absent", `${hm.name}: network ${network} has no VXLAN id (option ${DOCUMENTED.vxlanIdOption} is ${JSON.stringify(ids ?? null)})`);
  return Number(first);
}

function overlayPlan(local: HostModel, remote: HostModel, network: string, service: string): OverlayPlan {
  const mine = taskOn(local, service, network);
  const theirs = taskOn(remote, service, network);
  if (!mine.sandbox.startsWith("/")) throw new PlanError("missing", `${local.name}: the task ${mine.id.slice(0, 12)} of ${service} has no SandboxKey`);
  return { network, service, vni: vniOf(local, network), localContainer: mine.id, localSandbox: mine.sandbox, localAddress: mine.address, peerContainer: theirs.id, peerAddress: theirs.address };
}

/** f's value, or the PlanError it threw (any other error is thrown on). */
export function attempt<T>(f: () => T): T | PlanError {
  try {
    return f();
  } catch (e) {
    if (e instanceof PlanError) return e;
    throw e;
  }
}

/**
 * The probe's plan, part by part: the hosts and the NIC, and each overlay's targets, or a
 * PlanError naming what the model lacks (so one overlay's problem leaves the other probed).
 */
export function planParts(inventory: Inventory, model: LabModel): { base: BasePlan | PlanError; encrypted: OverlayPlan | PlanError; plain: OverlayPlan | PlanError } {
  const base = attempt((): BasePlan => {
    const host = managerHost(inventory);
    const peer = inventory.hosts.find((h) => h.name !== host.name);
    if (!peer) throw new PlanError("missing", "the lab needs a second host in the inventory");
    const local = hostModel(model, host);
    const remote = hostModel(model, peer);
    const nic = underlayNicOf(local, host.address);
    if (!nic) throw new PlanError("missing", `${host.name}: no interface of the host namespace holds ${host.address} (ip addr was not gathered?)`);
    return { host, peer, nic: nic.name, local, remote };
  });
  if (base instanceof PlanError) return { base, encrypted: base, plain: base };
  return {
    base,
    encrypted: attempt(() => overlayPlan(base.local, base.remote, DOCUMENTED.encrypted.name, DOCUMENTED.service.name)),
    plain: attempt(() => overlayPlan(base.local, base.remote, DOCUMENTED.plain.name, DOCUMENTED.plainService.name)),
  };
}
