/**
 * The documented lab's values as the unit tests feed them to the code under test (the guest
 * scripts' arguments, the traffic plan the inventory defaults give). One place, so the tests
 * that build scripts from them do not each keep a copy.
 */
import type { TrafficPlan } from "../../labs/swarm-overlay/traffic";

export const WORKLOAD_ARGS = {
  overlay: "demonet",
  subnet: "192.168.200.0/24",
  service: "demoservice",
  replicas: 2,
  image: "alpine",
  command: ["sleep", "50000"],
  pull: true,
  nodes: ["docker0.local", "docker1.local"],
  timeoutSec: 5,
};

/** The traffic plan of the documented lab (inventory defaults), from docker0. */
export const LAB_PLAN: TrafficPlan = {
  service: "demoservice",
  overlay: "demonet",
  overlaySubnet: "192.168.200.0/24",
  overlayGateway: "192.168.200.1",
  labCidr: "192.168.122.0/24",
  pathTarget: "192.168.122.1",
  localAddress: "192.168.122.10",
  peerAddress: "192.168.122.11",
  peerTaskAddress: "192.168.200.4",
  underlayNic: "ens3",
  vni: 4097,
};
