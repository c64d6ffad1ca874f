/**
 * What the lab *is*: the documented two-node Swarm overlay lab of the seeds
 * (../shared/seeds/000, 002, 004). Provisioning (infra/) and verification
 * (scripts/verify) both read this one definition.
 */
import type { LabDefinition } from "../lab";

export const swarmOverlayLab: LabDefinition = {
  name: "swarm-overlay",
  network: { cidr: "192.168.122.0/24" },
  hosts: [
    { name: "docker0", hostname: "docker0.local", role: "manager", hostOffset: 10 },
    { name: "docker1", hostname: "docker1.local", role: "worker", hostOffset: 11 },
  ],
  workload: {
    overlay: { name: "demonet", driver: "overlay", subnet: "192.168.200.0/24", gateway: "192.168.200.1" },
    service: { name: "demoservice", replicas: 2, command: ["sleep", "50000"], defaultImage: "alpine" },
  },
};

export default swarmOverlayLab;
