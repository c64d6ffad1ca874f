/**
 * What the lab *is*: the documented two-node Swarm overlay lab of the seeds
 * (../shared/seeds/000, 002, 004). Provisioning (infra/) and verification
 * (scripts/verify) both read this one definition.
 */
import type { LabDefinition, SwarmWorkloadDefinition } from "../lab";
import { SHARED_HOSTS, SHARED_NETWORK } from "../hosts";
import type { Inventory } from "../../scripts/lib/verify/inventory";

const workload: SwarmWorkloadDefinition = {
  overlay: { name: "demonet", driver: "overlay", subnet: "192.168.200.0/24", gateway: "192.168.200.1" },
  service: { name: "demoservice", replicas: 2, command: ["sleep", "50000"] },
};

export const swarmOverlayLab: OverlayLabDefinition = {
  name: "swarm-overlay",
  network: SHARED_NETWORK,
  hosts: SHARED_HOSTS,
  defaultImage: "alpine",
  subnets: [{ cidr: workload.overlay.subnet, what: `the lab's overlay network ${workload.overlay.name}` }],
  workload,
};


/** The definition of a lab built around one overlay and service (this one). */
export type OverlayLabDefinition = LabDefinition & { workload: SwarmWorkloadDefinition };

/** An inventory with its workload block (the overlay and service the checks look for). */
export type OverlayInventory = Inventory & { workload: NonNullable<Inventory["workload"]> };

/** The inventory as this lab's checks read it: one written without a workload block gets the lab's own. */
export function withWorkload(inv: Inventory, lab: OverlayLabDefinition = swarmOverlayLab): OverlayInventory {
  if (inv.workload) return inv as OverlayInventory;
  const o = lab.workload.overlay;
  const s = lab.workload.service;
  return { ...inv, workload: { overlay: o.name, subnet: o.subnet, gateway: o.gateway, service: s.name, replicas: s.replicas, image: lab.defaultImage } };
}
