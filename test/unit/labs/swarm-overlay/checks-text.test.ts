/**
 * What the report says on the live-like lab (Docker 20.10 / Debian 12): for
 * every fact the expected value a reader compares against (built from the
 * inventory and the documented constants) and the per-host observations that
 * back a pass. These are the report's own words: a check that dropped or
 * garbled one of them would leave the reader without the evidence.
 */
import { describe, expect, it } from "vitest";
import { check, liveModel } from "../../verify/helpers";

const { model: BASE, inventory: INV } = liveModel("json");

const EXPECTED: Record<string, string> = {
  "HOST-1": "docker0.local (manager), docker1.local (worker); CentOS Linux 7 (Core); QEMU/KVM",
  "HOST-2": "one NIC per host on 192.168.122.0/24 (docker0 192.168.122.10, docker1 192.168.122.11), named ens3",
  "HOST-3": "docker0: bridge 172.17.0.1/16 on every host, NO-CARRIER while unused",
  "CL-1": "swarm initialised on docker0.local (192.168.122.10); docker1.local joined 192.168.122.10:2377",
  "CL-2": "docker0.local Ready Active Leader; docker1.local Ready Active",
  "WL-1": "demonet: driver overlay, scope swarm, subnet 192.168.200.0/24",
  "WL-2": "demoservice: 2 replicas of alpine sleep 50000 on demonet; one task Running on each node",
  "PORT-1": "2377/tcp on the manager; 7946/tcp, 7946/udp, 4789/udp on every host",
  "NET-1": "bridge/bridge/local, demonet/overlay/swarm, docker_gwbridge/bridge/local, host/host/local, ingress/overlay/swarm, none/null/local",
  "NS-1": "1-<first 10 of demonet ID> (where a task runs), 1-<first 10 of ingress ID>, ingress_sbox, one sandbox per local task",
  "NS-2": "each task's SandboxKey is /var/run/docker/netns/<sandbox>, a namespace listed there",
  "IPAM-1": "demonet: subnet 192.168.200.0/24, gateway 192.168.200.1",
  "IPAM-2": "docker_gwbridge: IPAM 172.18.0.0/16 gw 172.18.0.1; host interface 172.18.0.1/16",
  "SB-1": "lo; eth0 mtu 1450 with one address in 192.168.200.0/24; eth1 mtu 1500 with one address in 172.18.0.0/16",
  "SB-2": "VIP 192.168.200.2/32 on each task's eth0",
  "SB-3": "docker exec <task> ip addr and nsenter --net=<SandboxKey> ip addr list the same interfaces, indexes, MTUs and addresses",
  "RT-1": "default via 172.18.0.1 dev eth1; 172.18.0.0/16 dev eth1 src <eth1>; 192.168.200.0/24 dev eth0 src <eth0>",
  "VETH-1": "eth0@ifN pairs with N, a veth in the demonet namespace, master br0, mtu 1450",
  "VETH-2": "eth1@ifM pairs with M, a veth… in the host namespace, master docker_gwbridge",
  "OVL-1": "demonet namespace: lo, br0 (mtu 1450), one vxlan (vxlan1) enslaved to br0, one veth per local task",
  "OVL-2": "br0: forward_delay 1500 hello_time 200 max_age 2000",
  "VXLAN-1": "demonet: vxlan id 4097 dstport 4789 proxy l2miss l3miss ageing 300; com.docker.network.driver.overlay.vxlanid_list=4097 in docker network inspect demonet",
  "VXLAN-2": "ingress: vxlan id 4096; com.docker.network.driver.overlay.vxlanid_list=4096 in docker network inspect ingress",
  "ING-1": "ingress (subnet 10.255.0.0/16) .Containers has \"ingress-sbox\" named ingress-endpoint with an address in 10.255.0.0/16",
  "ING-2": "ingress_sbox: eth0 mtu 1450 in 10.255.0.0/16; eth1 mtu 1500 172.18.0.2/16",
};

const DETAILS: Record<string, string[]> = {
  "HOST-1": [
    "docker0: docker0.local, Debian GNU/Linux 12 (bookworm), kvm",
    "docker1: docker1.local, Debian GNU/Linux 12 (bookworm), kvm",
  ],
  "HOST-2": [
    "docker0: enp1s0 192.168.122.10/24",
    "docker1: enp1s0 192.168.122.11/24",
  ],
  "HOST-3": [
    "docker0: 2: docker0 bridge mtu 1500 172.17.0.1/16 <NO-CARRIER,BROADCAST,MULTICAST,UP>",
    "docker1: 2: docker0 bridge mtu 1500 172.17.0.1/16 <NO-CARRIER,BROADCAST,MULTICAST,UP>",
  ],
  "CL-1": [
    "docker0: active, manager, node address 192.168.122.10, managers 192.168.122.10:2377",
    "docker1: active, worker, node address 192.168.122.11, managers 192.168.122.10:2377",
  ],
  "CL-2": [
    "docker0.local * Ready Active Leader",
    "docker1.local Ready Active",
  ],
  "WL-1": [
    "demonet k3b7x2n9q4m1p8z5v6c0w2r7y: driver overlay, scope swarm, subnet 192.168.200.0/24",
  ],
  "WL-2": [
    "demoservice: replicated 2 replicas, image alpine:latest@sha256:8a1f59ffb675680d47db6337b49d22281a139e9d709335b492be023728e11715, command sleep 50000",
    "demoservice.1 on docker0.local: desired Running, Running 12 minutes ago",
    "demoservice.2 on docker1.local: desired Running, Running 12 minutes ago",
  ],
  "PORT-1": [
    "docker0: listening 2377/tcp, 7946/tcp, 7946/udp, 4789/udp",
    "docker1: listening 7946/tcp, 7946/udp, 4789/udp",
    "note: listening sockets only: whether the ports are reachable between hosts is shown by the traffic facts",
  ],
  "NET-1": [
    "docker0: bridge/bridge/local, demonet/overlay/swarm, docker_gwbridge/bridge/local, host/host/local, ingress/overlay/swarm, none/null/local",
    "docker1: bridge/bridge/local, demonet/overlay/swarm, docker_gwbridge/bridge/local, host/host/local, ingress/overlay/swarm, none/null/local",
  ],
  "NS-1": [
    "docker0: 1-k3b7x2n9q4, 1-r2t6f0j8m1, 5e0c1a7f3b2d, ingress_sbox, lb_k3b7x2n9q",
    "docker1: 1-k3b7x2n9q4, 1-r2t6f0j8m1, 9b41d6e2c07a, ingress_sbox, lb_k3b7x2n9q",
  ],
  "NS-2": [
    "docker0: demoservice.1.a1q8z3x6c9v2b5n7m4k0j2h6g: /var/run/docker/netns/5e0c1a7f3b2d",
    "docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: /var/run/docker/netns/9b41d6e2c07a",
  ],
  "IPAM-1": [
    "docker0: 192.168.200.0/24 gw 192.168.200.1",
    "docker1: 192.168.200.0/24 gw 192.168.200.1",
  ],
  "IPAM-2": [
    "docker0: IPAM 172.18.0.0/16 gw 172.18.0.1; interface 172.18.0.1/16",
    "docker1: IPAM 172.18.0.0/16 gw 172.18.0.1; interface 172.18.0.1/16",
  ],
  "SB-1": [
    "docker0: demoservice.1.a1q8z3x6c9v2b5n7m4k0j2h6g: 1: lo loopback mtu 65536 127.0.0.1/8; 11: eth0@if12 veth mtu 1450 192.168.200.3/24; 13: eth1@if14 veth mtu 1500 172.18.0.3/16",
    "docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: 1: lo loopback mtu 65536 127.0.0.1/8; 11: eth0@if12 veth mtu 1450 192.168.200.4/24; 13: eth1@if14 veth mtu 1500 172.18.0.3/16",
  ],
  "SB-2": [
    "service VIP on demonet: 192.168.200.2",
    "docker0: demoservice.1.a1q8z3x6c9v2b5n7m4k0j2h6g: eth0 192.168.200.3/24; 192.168.200.2/32 on lb_k3b7x2n9q:eth0",
    "docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: eth0 192.168.200.4/24; 192.168.200.2/32 on lb_k3b7x2n9q:eth0",
  ],
  "SB-3": [
    "docker0: demoservice.1.a1q8z3x6c9v2b5n7m4k0j2h6g: exec 3 interfaces, nsenter 3",
    "docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: exec 3 interfaces, nsenter 3",
  ],
  "RT-1": [
    "docker0: demoservice.1.a1q8z3x6c9v2b5n7m4k0j2h6g: default via 172.18.0.1 dev eth1; 172.18.0.0/16 dev eth1 src 172.18.0.3; 192.168.200.0/24 dev eth0 src 192.168.200.3",
    "docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: default via 172.18.0.1 dev eth1; 172.18.0.0/16 dev eth1 src 172.18.0.3; 192.168.200.0/24 dev eth0 src 192.168.200.4",
  ],
  "VETH-1": [
    "docker0: demoservice.1.a1q8z3x6c9v2b5n7m4k0j2h6g: 11: eth0@if12 <-> 1-k3b7x2n9q4: 12: veth0@if11 veth mtu 1450 master br0 no IPv4",
    "docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: 11: eth0@if12 <-> 1-k3b7x2n9q4: 12: veth0@if11 veth mtu 1450 master br0 no IPv4",
  ],
  "VETH-2": [
    "docker0: demoservice.1.a1q8z3x6c9v2b5n7m4k0j2h6g: 13: eth1@if14 <-> host: 14: veth9f04b6d@if13 veth mtu 1500 master docker_gwbridge no IPv4",
    "docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: 13: eth1@if14 <-> host: 14: vethe7b3f90@if13 veth mtu 1500 master docker_gwbridge no IPv4",
  ],
  "OVL-1": [
    "docker0: 1-k3b7x2n9q4: lo, br0, vxlan0^br0, veth0^br0, veth1^br0",
    "docker1: 1-k3b7x2n9q4: lo, br0, vxlan0^br0, veth0^br0, veth1^br0",
  ],
  "OVL-2": [
    "docker0: forward_delay 1500 hello_time 200 max_age 2000",
    "docker1: forward_delay 1500 hello_time 200 max_age 2000",
  ],
  "VXLAN-1": [
    "docker0: 1-k3b7x2n9q4: vxlan0: id 4097 dstport 4789 proxy l2miss l3miss ageing 300",
    "docker0: docker network inspect demonet: com.docker.network.driver.overlay.vxlanid_list=4097",
    "docker1: 1-k3b7x2n9q4: vxlan0: id 4097 dstport 4789 proxy l2miss l3miss ageing 300",
    "docker1: docker network inspect demonet: com.docker.network.driver.overlay.vxlanid_list=4097",
  ],
  "VXLAN-2": [
    "docker0: 1-r2t6f0j8m1: vxlan0: id 4096 dstport 4789 proxy l2miss l3miss ageing 300",
    "docker0: docker network inspect ingress: com.docker.network.driver.overlay.vxlanid_list=4096",
    "docker1: 1-r2t6f0j8m1: vxlan0: id 4096 dstport 4789 proxy l2miss l3miss ageing 300",
    "docker1: docker network inspect ingress: com.docker.network.driver.overlay.vxlanid_list=4096",
  ],
  "ING-1": [
    "docker0: subnet 10.255.0.0/16; ingress-sbox: ingress-endpoint 10.255.0.2/16",
    "docker1: subnet 10.255.0.0/16; ingress-sbox: ingress-endpoint 10.255.0.3/16",
  ],
  "ING-2": [
    "docker0: 1: lo loopback mtu 65536 127.0.0.1/8; 6: eth0@if7 veth mtu 1450 10.255.0.2/16; 8: eth1@if9 veth mtu 1500 172.18.0.2/16",
    "docker1: 1: lo loopback mtu 65536 127.0.0.1/8; 6: eth0@if7 veth mtu 1450 10.255.0.3/16; 8: eth1@if9 veth mtu 1500 172.18.0.2/16",
  ],
};

const OBSERVED_CHANGED: Record<string, string> = {
  "HOST-1": "docker0: Debian GNU/Linux 12 (bookworm) instead of CentOS Linux 7 (Core); docker1: Debian GNU/Linux 12 (bookworm) instead of CentOS Linux 7 (Core)",
  "HOST-2": "docker0: the NIC is enp1s0 (seed: ens3); docker1: the NIC is enp1s0 (seed: ens3)",
  "NS-1": "docker0: extra lb_k3b7x2n9q, the load-balancer namespace of demonet; docker1: extra lb_k3b7x2n9q, the load-balancer namespace of demonet",
  "SB-2": "docker0: demoservice.1.a1q8z3x6c9v2b5n7m4k0j2h6g: 192.168.200.2/32 is not on eth0 but on eth0 in lb_k3b7x2n9q; docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: 192.168.200.2/32 is not on eth0 but on eth0 in lb_k3b7x2n9q",
  "OVL-1": "docker0: 1-k3b7x2n9q4: the vxlan interface is vxlan0 (004: vxlan1); docker0: 1-k3b7x2n9q4: veth1 leads to the load-balancer namespace lb_k3b7x2n9q; docker1: 1-k3b7x2n9q4: the vxlan interface is vxlan0 (004: vxlan1); docker1: 1-k3b7x2n9q4: veth1 leads to the load-balancer namespace lb_k3b7x2n9q",
};

describe("the report on the live-like lab", () => {
  // Each test runs its own check (not one shared run at collection time), so that what it
  // asserts is computed while the test runs.
  const run = (id: string) => check(BASE, INV, [id])[0]!;

  it("covers every non-traffic fact", () => {
    expect(check(BASE, INV).filter((r) => !r.id.startsWith("PATH-")).map((r) => r.id)).toEqual(Object.keys(EXPECTED));
  });

  for (const id of Object.keys(EXPECTED)) {
    it(`${id}: states what is expected, from the inventory and the documented values`, () => {
      expect(run(id).expected).toBe(EXPECTED[id]);
    });
    it(`${id}: lists what was seen on each host`, () => {
      const r = run(id);
      expect(r.details).toEqual(DETAILS[id]);
      if (r.outcome === "pass") expect(r.observed).toBe(DETAILS[id]!.filter((d) => !d.startsWith("note: ")).join("; "));
      else expect(r.observed).toBe(OBSERVED_CHANGED[id]);
    });
  }
});
