/**
 * The macvlan lab's definition: the shared hosts and underlay; no overlay or service (the lab
 * is one local macvlan network and one container on the manager).
 */
import type { LabDefinition } from "../lab";
import { SHARED_HOSTS, SHARED_NETWORK } from "../hosts";
import { DOCUMENTED } from "./facts";
import { LAB_NAME } from "./workload";

export const macvlanLab: LabDefinition = {
  name: LAB_NAME,
  network: SHARED_NETWORK,
  hosts: SHARED_HOSTS,
  defaultImage: "alpine",
  subnets: [{ cidr: DOCUMENTED.network.subnet, what: `the lab's macvlan network ${DOCUMENTED.network.name} (VLAN ${DOCUMENTED.vlan.id})` }],
};
