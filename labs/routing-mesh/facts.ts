/**
 * The routing-mesh lab's facts (shared/LAB-FACTS.md, RM-1..RM-4; seed 003 "Ingress load
 * balancing", with 002 for ingress_sbox and 004 for the ingress VNI) and every documented
 * constant the lab is built and checked with (DOCUMENTED, the only place they are written).
 *
 * The seed publishes one service, svc1, with `--publish published=5000,target=80`: first with
 * a single replica on node2 while a request enters node1 (the figure's red line), then "if there
 * were multiple replicas running ... the traffic would be balanced across all replicas"; and a
 * second way of publishing, `mode=host`. Three services stand for those three pictures at once,
 * each on its own published port so that they can run side by side:
 *
 * - `web` is the seed's svc1 on the seed's port 5000: ONE replica, pinned to the last node
 *   (docker1, the worker: the seed's node2). The manager (docker0), where the probe runs, has
 *   no replica, so a request entering it on 5000 must be carried across to docker1 on the
 *   ingress overlay: RM-1 (answers on a node without a replica) and RM-4 (ingress_sbox, VNI
 *   4096) are shown on the documented port, exactly as the figure draws it.
 * - `webhost` is published in host mode on 5001, one replica pinned to the first node (docker0):
 *   RM-2 (answers on docker0 only; docker1 refuses).
 * - `web2` is published in ingress mode on 5002 with two replicas, at most one per node:
 *   RM-3 (requests all entering docker0 are answered by both replicas). It is a separate
 *   service because a second replica of `web` would leave no node without one (RM-1).
 *
 * Every replica serves its own hostname over HTTP (busybox httpd), which Docker sets to the
 * task container's short ID, so an answer names the task (and the node) that gave it.
 */
import type { LabFact } from "../lab";

/** The documented names, ports and ids the lab uses (its workload, probe and checks read them here). */
export const DOCUMENTED = {
  /** The seed's svc1: ingress mode on the seed's port, one replica, on the last node (RM-1, RM-4). */
  web: { name: "web", published: 5000, target: 80, mode: "ingress", replicas: 1 },
  /** Host mode (RM-2), another published port since it runs next to `web`; one replica on the first node. */
  webhost: { name: "webhost", published: 5001, target: 80, mode: "host", replicas: 1 },
  /** Ingress mode with two replicas, one per node (RM-3). */
  web2: { name: "web2", published: 5002, target: 80, mode: "ingress", replicas: 2 },
  /** What every replica runs: busybox httpd serving a page holding the task's hostname. */
  command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www"],
  /** The ingress network every swarm node is attached to (002). */
  ingressNetwork: "ingress",
  /** The namespace the ingress path goes through on the node a request enters (002). */
  ingressSandbox: "ingress_sbox",
  /** The ingress overlay's VXLAN network id (004, VXLAN-2 of swarm-overlay). */
  ingressVni: 4096,
  /** VXLAN's UDP port on the underlay (003 "VXLAN primer"). */
  vxlanPort: 4789,
  /** How many requests RM-3 sends to one node's address (round robin over two replicas). */
  balancedRequests: 8,
} as const;

export const RM_FACT_IDS = ["RM-1", "RM-2", "RM-3", "RM-4"] as const;

export const FACTS: readonly LabFact[] = [
  {
    id: "RM-1",
    title: "A service published in ingress mode answers on port 5000 of every node, including one that runs no replica",
    group: "routing-mesh",
    seeds: ["003"],
    section: "Ingress load balancing",
    documented:
      "docker service create --publish published=5000,target=80 publishes the service swarm-wide on the ingress network: a request to port 5000 of any node's address is answered, even on a node running no replica of the service",
  },
  {
    id: "RM-2",
    title: "A service published in host mode answers only on the nodes that run a replica",
    group: "routing-mesh",
    seeds: ["003"],
    section: "Ingress load balancing",
    documented:
      "--publish published=<port>,target=80,mode=host (the long form only): external requests reach the service only through nodes running one of its replicas; on another node the port is closed",
  },
  {
    id: "RM-3",
    title: "With two replicas, requests that all enter through one node are answered by both",
    group: "routing-mesh",
    seeds: ["003"],
    section: "Ingress load balancing",
    documented: "with multiple replicas running, the traffic arriving on one node's published port is balanced across all replicas, wherever they run",
  },
  {
    id: "RM-4",
    title: "The ingress path goes through ingress_sbox on the entry node and crosses hosts on the ingress overlay (VNI 4096)",
    group: "routing-mesh",
    seeds: ["003", "002", "004"],
    section: "Ingress load balancing",
    documented:
      "traffic hitting the ingress network on the published port of any node is routed to a node running a replica: on the entry node the ingress_sbox namespace marks the published port (iptables mangle MARK) and load-balances the mark to the replicas' ingress addresses (IPVS), and a replica on another node is reached over the ingress overlay, whose VXLAN id is 4096",
  },
];
