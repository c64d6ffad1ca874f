/**
 * What the encrypted-overlay lab builds on the shared hosts and swarm: uber-net (encrypted)
 * and plain-net, each with a two-replica service. The lab is built around uber-net and its
 * service test: verify's gather looks into those tasks.
 */
import type { LabDefinition, SwarmWorkloadDefinition } from "../lab";
import { SHARED_HOSTS, SHARED_NETWORK } from "../hosts";
import { DOCUMENTED } from "./facts";

const workload: SwarmWorkloadDefinition = {
  overlay: { name: DOCUMENTED.encrypted.name, driver: "overlay", subnet: DOCUMENTED.encrypted.subnet, gateway: DOCUMENTED.encrypted.gateway },
  service: { name: DOCUMENTED.service.name, replicas: DOCUMENTED.service.replicas, command: [...DOCUMENTED.service.command] },
};

export const encryptedOverlayLab: LabDefinition & { workload: SwarmWorkloadDefinition } = {
  name: "encrypted-overlay",
  network: SHARED_NETWORK,
  hosts: SHARED_HOSTS,
  defaultImage: "alpine",
  subnets: [
    { cidr: DOCUMENTED.encrypted.subnet, what: `the lab's encrypted overlay ${DOCUMENTED.encrypted.name}` },
    { cidr: DOCUMENTED.plain.subnet, what: `the lab's plain overlay ${DOCUMENTED.plain.name}` },
  ],
  workload,
};
