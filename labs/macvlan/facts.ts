/**
 * The macvlan lab's facts (shared/LAB-FACTS.md, MV-1..MV-3): seed 003, "Connecting to existing
 * networks". A macvlan network on the VLAN 100 sub-interface of the host's NIC, one container
 * on it, and the other lab host standing in for "another system on VLAN 100".
 *
 * DOCUMENTED holds every constant the lab uses (names, ranges, the VLAN id, the peer's
 * address); the workload, the probe and the checks read them from here only.
 */
import type { LabFact } from "../lab";

export const DOCUMENTED = {
  network: {
    name: "macvlan100",
    driver: "macvlan",
    subnet: "10.0.0.0/24",
    ipRange: "10.0.0.0/25",
    gateway: "10.0.0.1",
    /** The seed sets no -o macvlan_mode: Docker's default, bridge mode (the network's options then name none). */
    mode: "bridge",
    modeOption: "macvlan_mode",
  },
  /** The seed's NIC is eth0 (`-o parent=eth0.100`); the lab uses the guest's underlay NIC, whatever its name. */
  seedNic: "eth0",
  vlan: { id: 100, protocol: "802.1Q", ethertype: "0x8100" },
  container: { name: "mactainer1", command: ["sleep", "1d"] },
  /**
   * "Another system on VLAN 100": the other lab host, on its own <nic>.100 with an address of
   * the subnet outside the ip-range (the range is reserved for Docker).
   */
  peer: { address: "10.0.0.200", prefixLength: 24 },
  /** Kernel modules the sub-interface and the container's interface need. */
  modules: ["8021q", "macvlan"],
  /** The description the probe gives a sub-interface it creates (to find its own leftovers). */
  probeAlias: "swarmlab-macvlan-probe",
} as const;

/** The sub-interface the network's parent names, for a NIC: eth0 -> eth0.100. */
export function subInterfaceOf(nic: string): string {
  return `${nic}.${DOCUMENTED.vlan.id}`;
}

const SECTION = "Connecting to existing networks";

export const FACTS: readonly LabFact[] = [
  {
    id: "MV-1",
    title: `docker network create -d macvlan ... -o parent=<nic>.${DOCUMENTED.vlan.id} ${DOCUMENTED.network.name} creates the 802.1Q sub-interface <nic>.${DOCUMENTED.vlan.id}`,
    group: "macvlan",
    seeds: ["003"],
    section: SECTION,
    documented:
      `Creating ${DOCUMENTED.network.name} with the macvlan driver (subnet ${DOCUMENTED.network.subnet}, ip-range ${DOCUMENTED.network.ipRange}, ` +
      `gateway ${DOCUMENTED.network.gateway}, parent ${DOCUMENTED.seedNic}.${DOCUMENTED.vlan.id}) also creates the host's sub-interface ` +
      `${DOCUMENTED.seedNic}.${DOCUMENTED.vlan.id}, tagged with VLAN id ${DOCUMENTED.vlan.id} (${DOCUMENTED.vlan.protocol}); the lab's NIC is the guest's underlay NIC in place of ${DOCUMENTED.seedNic}`,
  },
  {
    id: "MV-2",
    title: `${DOCUMENTED.container.name} gets a macvlan interface on <nic>.${DOCUMENTED.vlan.id} with its own MAC and an address of the ip-range`,
    group: "macvlan",
    seeds: ["003"],
    section: SECTION,
    documented:
      `${DOCUMENTED.container.name}, run on ${DOCUMENTED.network.name}, has an interface of kind macvlan whose lower device is the host's ` +
      `<nic>.${DOCUMENTED.vlan.id}, with a MAC address of its own (not the host NIC's) and an IPv4 address from the ip-range ${DOCUMENTED.network.ipRange}`,
  },
  {
    id: "MV-3",
    title: `Another system on VLAN ${DOCUMENTED.vlan.id} pings ${DOCUMENTED.container.name}; on the wire the frames carry tag ${DOCUMENTED.vlan.id} and the container's MAC`,
    group: "macvlan",
    seeds: ["003"],
    section: SECTION,
    documented:
      `The VLAN sees the container as a system of its own: another system on VLAN ${DOCUMENTED.vlan.id} (the other lab host, ` +
      `${DOCUMENTED.peer.address}/${DOCUMENTED.peer.prefixLength} on its own <nic>.${DOCUMENTED.vlan.id}, outside the ip-range) pings ${DOCUMENTED.container.name}, ` +
      `and on the underlay NIC the request and the reply are ${DOCUMENTED.vlan.protocol} frames tagged ${DOCUMENTED.vlan.id} addressed to and sent from the container's own MAC`,
  },
];

export const FACT_IDS = FACTS.map((f) => f.id);
