/**
 * The names and ranges a lab is built with: its hosts on the lab network and what its workload
 * creates on the swarm. A leaf module (it imports nothing), so that verify's inventory can read
 * a definition without depending on the Lab interface.
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

/** The overlay network and the service whose tasks verify's gather looks into (exec, sandboxes). */
export interface SwarmWorkloadDefinition {
  overlay: { name: string; driver: "overlay"; subnet: string; gateway: string };
  service: { name: string; replicas: number; command: string[] };
}

/** The names and ranges a lab is built with (what `up` builds, what verify expects). */
export interface LabDefinition {
  name: string;
  /** Documented underlay network (HOST-2). */
  network: { cidr: string };
  hosts: LabHost[];
  /** The image the lab's containers run when `swarmlab:workloadImage` is not set. */
  defaultImage: string;
  /**
   * Fixed ranges the lab's own Docker networks use inside the guests: a lab network overlapping
   * one would be routed into Docker (config refuses it).
   */
  subnets: { cidr: string; what: string }[];
  /** The lab's overlay and service, for labs built around one (the gather execs into its tasks). */
  workload?: SwarmWorkloadDefinition;
}
