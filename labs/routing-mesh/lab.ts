/**
 * What the routing-mesh lab is built with: the shared hosts and underlay, and no network of its
 * own (its services publish on the swarm's ingress network, which the swarm itself creates in
 * its address pool). No `workload` block: the gather needs no service of this lab to look into;
 * the probe (probe.ts) collects what the checks need beyond the gathered model.
 */
import type { LabDefinition } from "../lab";
import { SHARED_HOSTS, SHARED_NETWORK } from "../hosts";

export const routingMeshLab: LabDefinition = {
  name: "routing-mesh",
  network: SHARED_NETWORK,
  hosts: SHARED_HOSTS,
  defaultImage: "alpine",
  subnets: [],
};
