/**
 * The encrypted-overlay lab (seed 003 "Create a new overlay network", "Test the overlay
 * network"): an overlay created with `-o encrypted` carries its tasks' traffic as IPsec ESP
 * between the hosts, a plain overlay next to it as clear VXLAN. Its facts ENC-1..ENC-5 of
 * shared/LAB-FACTS.md, and every constant the lab uses (DOCUMENTED, nowhere else).
 */
import type { LabFact } from "../lab";

export const FACTS: readonly LabFact[] = [
  {
    id: "ENC-1",
    title: "docker network create -d overlay -o encrypted uber-net: the overlay's inspect shows the encrypted option",
    group: "encryption",
    seeds: ["003"],
    section: "Create a new overlay network",
    documented:
      "uber-net is created with `-d overlay -o encrypted` (data-plane encryption is off unless asked for); `docker network inspect uber-net` lists `encrypted` among its options. The lab gives it a fixed --subnet: its swarm's address pool is taken by ingress, so an overlay without one gets no addresses",
  },
  {
    id: "ENC-2",
    title: "A task on node1 pings a task on node2 over uber-net",
    group: "encryption",
    seeds: ["003"],
    section: "Test the overlay network",
    documented: "the service test (2 replicas, one per node) on uber-net: the task on docker0 pings the task on docker1 at its uber-net address",
  },
  {
    id: "ENC-3",
    title: "Between the hosts that ping travels as IPsec ESP; no clear VXLAN of uber-net crosses the underlay",
    group: "encryption",
    seeds: ["003"],
    section: "Create a new overlay network",
    documented:
      "\"If you created the network with the -o encrypted flag, the exchange will have been encrypted\": on the underlay NIC the ping shows as ESP (IP protocol 50) between the two hosts' addresses, both ways, and no UDP 4789 packet with uber-net's VNI (nor the tasks' ICMP in clear)",
  },
  {
    id: "ENC-4",
    title: "Each host holds IPsec SAs with the other host using AES in GCM mode (rfc4106(gcm(aes)))",
    group: "encryption",
    seeds: ["003"],
    section: "Create a new overlay network",
    documented:
      "the data plane is protected with AES in GCM mode: `ip xfrm state` on docker0 lists ESP security associations with aead rfc4106(gcm(aes)) from docker0 to docker1 and from docker1 to docker0, and the SPIs of the ESP packets seen on the wire in each direction are among them",
  },
  {
    id: "ENC-5",
    title: "A plain overlay created the same way without -o encrypted keeps its traffic in clear VXLAN",
    group: "encryption",
    seeds: ["003"],
    section: "Create a new overlay network",
    documented:
      "data-plane encryption is not enabled by default: plain-net, created like uber-net but without -o encrypted, has no encrypted option, and a ping between its tasks crosses the underlay as UDP 4789 with plain-net's VNI, the tasks' ICMP visible inside, no ESP",
  },
];

/** The names, ranges and numbers the lab is built and checked with. */
export const DOCUMENTED = {
  /** The seed's overlay, with data-plane encryption. The seed's got 10.0.0.0/24 from the default pool; here that is taken. */
  encrypted: { name: "uber-net", subnet: "10.20.0.0/24", gateway: "10.20.0.1", option: "encrypted" },
  /** The same without -o encrypted (ENC-5). */
  plain: { name: "plain-net", subnet: "10.20.1.0/24", gateway: "10.20.1.1" },
  /** The seed's `docker service create --name test --network uber-net --replicas 2 ubuntu sleep infinity`; busybox's sleep wants a number. */
  service: { name: "test", replicas: 2, command: ["sleep", "1000000"] },
  /** The plain overlay's service, built the same way. */
  plainService: { name: "test-plain", replicas: 2, command: ["sleep", "1000000"] },
  /** docker network inspect: the option that holds an overlay's VXLAN ids. */
  vxlanIdOption: "com.docker.network.driver.overlay.vxlanid_list",
  vxlanPort: 4789,
  /** IPsec: ESP is IP protocol 50; the SAs' AEAD algorithm as `ip xfrm state` names AES-GCM (RFC 4106). */
  esp: { protocol: 50, aead: "rfc4106(gcm(aes))" },
  /** Echo requests per ping in the probe. */
  pings: 4,
} as const;
