/**
 * What the lab *is*: the documented two-node Swarm overlay lab of the seeds
 * (../shared/seeds/000, 002, 004). Provisioning (infra/) and verification
 * (scripts/verify) both read this one definition.
 */

export type HostRole = "manager" | "worker";

export interface LabHost {
  /** Short name: libvirt domain suffix, ssh alias. */
  name: string;
  /** Kernel hostname inside the guest; Docker reports it in `docker node ls`. */
  hostname: string;
  role: HostRole;
  /** Offset of the host's address inside the lab network (docker0 = .10). */
  hostOffset: number;
}

export interface LabDefinition {
  name: string;
  /** Documented underlay network (HOST-2). */
  network: { cidr: string };
  hosts: LabHost[];
  workload: {
    overlay: { name: string; driver: "overlay"; subnet: string; gateway: string };
    service: { name: string; replicas: number; command: string[]; defaultImage: string };
  };
}

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
