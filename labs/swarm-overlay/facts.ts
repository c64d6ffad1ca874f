/**
 * Every documented fact of the lab (shared/LAB-FACTS.md), by ID: where the
 * seeds show it, what they show, and how a newer engine differs where it
 * does. The report cites these; the checks (checks.ts, traffic-checks.ts) test
 * them. Lab-specific expected values (names, subnets, hosts, replicas) come
 * from lab.ts and the inventory, not from here; what is here are Docker's
 * own documented constants (gwbridge subnet, MTUs, VXLAN ids, bridge timers,
 * ports), which no lab definition sets.
 */

import { SEEDS, type SeedId } from "../kit";

export { SEEDS, type SeedId };

/** The traffic facts: the traffic probe yields their evidence (probes.ts), traffic-checks.ts judges it. */
export const TRAFFIC_FACT_IDS = ["PATH-1", "PATH-2", "PATH-3", "PATH-4"] as const;
export type TrafficFactId = (typeof TRAFFIC_FACT_IDS)[number];

export const FACT_IDS = [
  "HOST-1", "HOST-2", "HOST-3", "CL-1", "CL-2", "WL-1", "WL-2", "PORT-1",
  "NET-1", "NS-1", "NS-2", "IPAM-1", "IPAM-2",
  "SB-1", "SB-2", "SB-3", "RT-1",
  "VETH-1", "VETH-2", "OVL-1", "OVL-2", "VXLAN-1", "VXLAN-2",
  "ING-1", "ING-2",
  ...TRAFFIC_FACT_IDS,
] as const;

export type FactId = (typeof FACT_IDS)[number];

export type FactGroup = "lab" | "networks" | "sandbox" | "overlay" | "ingress" | "traffic";

export interface Fact {
  id: FactId;
  title: string;
  group: FactGroup;
  /** Seeds that show the fact, first one is the main citation. */
  seeds: SeedId[];
  /** Section heading in the main seed, where the table names one. */
  section?: string;
  /** What the seeds document, in words. */
  documented: string;
  /** LAB-FACTS "Newer engines": what Docker 20.10 on Debian 12 shows instead, when it differs. */
  newerEngines?: string;
}

export const FACTS: readonly Fact[] = [
  {
    id: "HOST-1",
    title: "Two hosts docker0.local (manager) and docker1.local (worker), CentOS 7, on QEMU/KVM",
    group: "lab",
    seeds: ["000"],
    section: "Set up a cluster",
    documented: "Two nodes, Docker0.local and Docker1.local, CentOS Linux 7 (Core), running on QEMU/KVM",
    newerEngines: "CentOS 7 is end of life; the lab runs another guest image (the OS is selectable)",
  },
  {
    id: "HOST-2",
    title: "One NIC per host on the local bridge 192.168.122.0/24; docker0 is 192.168.122.10 (ens3)",
    group: "lab",
    seeds: ["000"],
    section: "Set up a cluster",
    documented: "ens3 with 192.168.122.10/24 brd 192.168.122.255, the only NIC of docker0",
    newerEngines: "the NIC's name depends on the guest's interface naming scheme (enp1s0 on Debian 12 under libvirt)",
  },
  {
    id: "HOST-3",
    title: "docker0 bridge 172.17.0.1/16 on each host (NO-CARRIER when unused)",
    group: "lab",
    seeds: ["000"],
    section: "Set up a cluster",
    documented: "3: docker0: <NO-CARRIER,BROADCAST,MULTICAST,UP> ... state DOWN; inet 172.17.0.1/16",
  },
  {
    id: "CL-1",
    title: "docker swarm init on docker0; docker1 joins 192.168.122.10:2377",
    group: "lab",
    seeds: ["000"],
    section: "Set up a cluster",
    documented: "docker swarm init (docker0); docker swarm join --token ... 192.168.122.10:2377 (docker1)",
  },
  {
    id: "CL-2",
    title: "docker node ls: two nodes Ready/Active, docker0 is Leader",
    group: "lab",
    seeds: ["000"],
    section: "Set up a cluster",
    documented: "docker0.local Ready Active Leader; docker1.local Ready Active",
  },
  {
    id: "WL-1",
    title: "Overlay network demonet, 192.168.200.0/24",
    group: "lab",
    seeds: ["000", "004"],
    section: "Exploring the Namespaces",
    documented: "docker network create -d overlay --subnet 192.168.200.0/24 demonet",
  },
  {
    id: "WL-2",
    title: "Service demoservice: 2 replicas of alpine sleep 50000 on demonet, one task Running per node",
    group: "lab",
    seeds: ["000", "004"],
    section: "Exploring the Namespaces",
    documented: "docker service create --replicas 2 --network demonet --name demoservice alpine sleep 50000; demoservice.1 Running on docker0.local, demoservice.2 Running on docker1.local",
    newerEngines: "a task may fail and be retried before it runs (004 shows a Failed demoservice.1 replaced by a Running one)",
  },
  {
    id: "PORT-1",
    title: "Swarm ports: 2377/tcp (manager), 7946/tcp+udp (gossip), 4789/udp (VXLAN)",
    group: "lab",
    seeds: ["003"],
    section: "Build a Swarm",
    documented: "2377/tcp for management plane comms, 7946/tcp and 7946/udp for control plane comms, 4789/udp for the VXLAN data plane",
  },
  {
    id: "NET-1",
    title: "docker network ls: bridge, demonet, docker_gwbridge, host, ingress, none",
    group: "networks",
    seeds: ["000"],
    section: "Exploring the Namespaces",
    documented: "bridge/bridge/local, demonet/overlay/swarm, docker_gwbridge/bridge/local, host/host/local, ingress/overlay/swarm, none/null/local",
  },
  {
    id: "NS-1",
    title: "/var/run/docker/netns: 1-<demonet id>, 1-<ingress id>, ingress_sbox, one sandbox per local task",
    group: "networks",
    seeds: ["000", "002", "004"],
    section: "Exploring the Namespaces",
    documented: "1-t7zfankbs8, 1-wi6xp5jnpk, f9f4ceb4012b, ingress_sbox",
    newerEngines: "an extra load-balancer namespace lb_<first 9 chars of the demonet ID> appears",
  },
  {
    id: "NS-2",
    title: "A task's SandboxKey is /var/run/docker/netns/<sandbox>",
    group: "networks",
    seeds: ["000"],
    section: "Exploring the Namespaces",
    documented: "docker inspect 0252f5d8ee9a --format {{.NetworkSettings.SandboxKey}} -> /var/run/docker/netns/f9f4ceb4012b",
  },
  {
    id: "IPAM-1",
    title: "demonet IPAM: 192.168.200.0/24, gateway 192.168.200.1",
    group: "networks",
    seeds: ["000"],
    section: "How does my container talk to stuff?",
    documented: "[{192.168.200.0/24  192.168.200.1 map[]}]",
  },
  {
    id: "IPAM-2",
    title: "docker_gwbridge IPAM 172.18.0.0/16 gw 172.18.0.1; host bridge docker_gwbridge 172.18.0.1/16",
    group: "networks",
    seeds: ["000"],
    section: "How does my container talk to stuff?",
    documented: "[{172.18.0.0/16  172.18.0.1 map[]}]; 8: docker_gwbridge ... inet 172.18.0.1/16",
  },
  {
    id: "SB-1",
    title: "Task sandbox: lo, eth0 (mtu 1450, 192.168.200.x/24), eth1 (mtu 1500, 172.18.0.x/16)",
    group: "sandbox",
    seeds: ["000"],
    section: "How does my container talk to stuff?",
    documented: "18: eth0@if19 mtu 1450 inet 192.168.200.3/24; 20: eth1@if21 mtu 1500 inet 172.18.0.3/16",
  },
  {
    id: "SB-2",
    title: "The service VIP 192.168.200.2/32 is on the task's eth0",
    group: "sandbox",
    seeds: ["000", "002"],
    section: "How does my container talk to stuff?",
    documented: "inet 192.168.200.2/32 scope global eth0 (in both tasks)",
    newerEngines: "the VIP is no longer on the task's eth0; it lives in the lb_ namespace",
  },
  {
    id: "SB-3",
    title: "docker exec <task> ip a and nsenter --net=<SandboxKey> ip a show the same interfaces",
    group: "sandbox",
    seeds: ["000"],
    section: "How does my container talk to stuff?",
    documented: "both list lo, 18: eth0@if19 (192.168.200.3/24, 192.168.200.2/32), 20: eth1@if21 (172.18.0.3/16)",
  },
  {
    id: "RT-1",
    title: "Task routes: default via 172.18.0.1 dev eth1; 172.18.0.0/16 dev eth1; 192.168.200.0/24 dev eth0",
    group: "sandbox",
    seeds: ["000"],
    section: "Traffic routing",
    documented: "default via 172.18.0.1 dev eth1; 172.18.0.0/16 dev eth1 src 172.18.0.3; 192.168.200.0/24 dev eth0 src 192.168.200.3",
  },
  {
    id: "VETH-1",
    title: "Task eth0 pairs with a veth in the demonet namespace, enslaved to br0, mtu 1450",
    group: "overlay",
    seeds: ["000", "004"],
    section: "How does my container talk to stuff?",
    documented: "18: eth0@if19 <-> 19: veth0@if18 master br0 mtu 1450 in 1-t7zfankbs8 (004: ethtool -S eth0 peer_ifindex: 19)",
  },
  {
    id: "VETH-2",
    title: "Task eth1 pairs with a veth… in the host namespace, enslaved to docker_gwbridge",
    group: "overlay",
    seeds: ["000", "004"],
    section: "How does my container talk to stuff?",
    documented: "20: eth1@if21 <-> 21: veth0c4d246@if20 master docker_gwbridge (004: peer_ifindex: 21)",
  },
  {
    id: "OVL-1",
    title: "demonet namespace: lo, br0 (mtu 1450), one vxlan enslaved to br0, the local tasks' veths",
    group: "overlay",
    seeds: ["000", "004"],
    section: "How does my container talk to stuff?",
    documented: "lo; br0 mtu 1450; vxlan1 master br0 (000 shows vxlan0); veth2@if18 master br0",
    newerEngines: "the vxlan interface is named vxlan0 (004 shows vxlan1); the lb_ namespace's veth is also on br0",
  },
  {
    id: "OVL-2",
    title: "br0 bridge timers: forward_delay 1500 hello_time 200 max_age 2000",
    group: "overlay",
    seeds: ["004"],
    documented: "bridge forward_delay 1500 hello_time 200 max_age 2000",
  },
  {
    id: "VXLAN-1",
    title: "demonet vxlan: id 4097, dstport 4789, proxy l2miss l3miss, ageing 300",
    group: "overlay",
    seeds: ["004"],
    documented: "vxlan id 4097 srcport 0 0 dstport 4789 proxy l2miss l3miss ageing 300",
  },
  {
    id: "VXLAN-2",
    title: "The ingress overlay's vxlan id is 4096",
    group: "overlay",
    seeds: ["004"],
    documented: "4096 is the first allocated VXLAN id (ingress); demonet gets the next, 4097 (inferred from 004)",
  },
  {
    id: "ING-1",
    title: "ingress network has ingress-sbox named ingress-endpoint, 10.255.0.x/16",
    group: "ingress",
    seeds: ["002"],
    section: "Overlay Networking within Swarm Mode",
    documented: '"ingress-sbox": { "Name": "ingress-endpoint", "IPv4Address": "10.255.0.2/16" }',
    newerEngines: "engines since 18.09 put ingress on 10.0.0.0/24 unless `docker swarm init` is given an address pool (--default-addr-pool); a swarm initialised with the defaults has ingress-endpoint at 10.0.0.x/24",
  },
  {
    id: "ING-2",
    title: "ingress_sbox: eth0 (mtu 1450, 10.255.0.x/16), eth1 (mtu 1500, 172.18.0.2/16)",
    group: "ingress",
    seeds: ["002"],
    section: "Overlay Networking within Swarm Mode",
    documented: "13: eth0@if14 mtu 1450 inet 10.255.0.2/16; 15: eth1@if16 mtu 1500 inet 172.18.0.2/16",
    newerEngines: "on a swarm initialised with the engine's default address pool (engines since 18.09), eth0 is in 10.0.0.x/24, as for ING-1",
  },
  {
    id: "PATH-1",
    title: "Task → demonet gateway leaves through eth0 (ARP: gateway is-at br0's MAC)",
    group: "traffic",
    seeds: ["000"],
    section: "Traffic routing",
    documented: "ping 192.168.200.1 from the task; tcpdump -i eth0: 192.168.200.1 is-at 1a:30:c5:15:42:54 (br0)",
  },
  {
    id: "PATH-2",
    title: "Traffic to an address outside the lab's networks leaves through eth1",
    group: "traffic",
    seeds: ["000"],
    section: "Traffic routing",
    documented: "ping 8.8.8.8 from the task is seen on eth1 (172.18.0.3 > ...)",
    newerEngines: "the seed pings 8.8.8.8, which the lab must never target: the target is an address inside the lab (inventory pathTarget)",
  },
  {
    id: "PATH-3",
    title: "The task on docker0 pings the task on docker1 over demonet",
    group: "traffic",
    seeds: ["002"],
    section: "Overlay Networking within Swarm Mode",
    documented: "docker exec 0252f5d8ee9a ping -c 4 192.168.200.4: 4 packets transmitted, 4 received",
    newerEngines: "the task addresses depend on allocation order",
  },
  {
    id: "PATH-4",
    title: "Between hosts, overlay traffic is VXLAN: UDP 4789 on the underlay, VNI 4097",
    group: "traffic",
    seeds: ["003", "004"],
    section: "VXLAN primer",
    documented: "encapsulated in UDP to port 4789 with the network's VNI (4097 for demonet)",
  },
];

export function factById(id: string): Fact | undefined {
  return FACTS.find((f) => f.id === id);
}

export function isFactId(id: string): id is FactId {
  return (FACT_IDS as readonly string[]).includes(id);
}

/** "000 \"Set up a cluster\"" style citation. */
export function citation(f: Fact): string {
  const seeds = f.seeds.map((s) => SEEDS[s]).join(", ");
  return f.section ? `${seeds} "${f.section}"` : seeds;
}

/**
 * Docker's own values that the seeds document and no lab definition sets.
 * Checks read them from here (and nowhere else).
 */
export const DOCUMENTED = {
  os: { id: "centos", versionId: "7", prettyName: "CentOS Linux 7 (Core)" },
  /** systemd-detect-virt answers for QEMU/KVM guests. */
  virt: ["kvm", "qemu"],
  nicName: "ens3",
  docker0: { name: "docker0", address: "172.17.0.1", prefixlen: 16 },
  gwbridge: { name: "docker_gwbridge", subnet: "172.18.0.0/16", gateway: "172.18.0.1", address: "172.18.0.1", prefixlen: 16 },
  /** newerSubnet: where engines since 18.09 put ingress when `swarm init` gets no address pool (ING-1, ING-2 "Newer engines"). */
  ingress: { name: "ingress", subnet: "10.255.0.0/16", newerSubnet: "10.0.0.0/24", sboxKey: "ingress-sbox", sboxName: "ingress-endpoint", sboxNetns: "ingress_sbox", sboxGwbridgeAddress: "172.18.0.2" },
  networks: [
    { name: "bridge", driver: "bridge", scope: "local" },
    { name: "<overlay>", driver: "overlay", scope: "swarm" },
    { name: "docker_gwbridge", driver: "bridge", scope: "local" },
    { name: "host", driver: "host", scope: "local" },
    { name: "ingress", driver: "overlay", scope: "swarm" },
    { name: "none", driver: "null", scope: "local" },
  ],
  netnsDir: "/var/run/docker/netns",
  mtu: { overlay: 1450, underlay: 1500 },
  /** The VIP is the second address of the overlay subnet (.2, after the gateway .1). */
  vipHostOffset: 2,
  vxlan: { demonetId: 4097, ingressId: 4096, dstport: 4789, ageing: 300, flags: ["proxy", "l2miss", "l3miss"], documentedName: "vxlan1", newerName: "vxlan0" },
  br0: { name: "br0", forwardDelay: 1500, helloTime: 200, maxAge: 2000 },
  ports: {
    manager: [{ proto: "tcp", port: 2377 }],
    all: [
      { proto: "tcp", port: 7946 },
      { proto: "udp", port: 7946 },
      { proto: "udp", port: 4789 },
    ],
  },
  swarmPort: 2377,
  vxlanIdOption: "com.docker.network.driver.overlay.vxlanid_list",
} as const;
