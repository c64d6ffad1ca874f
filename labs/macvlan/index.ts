/**
 * The macvlan lab (seed 003, "Connecting to existing networks"): macvlan100 on the VLAN 100
 * sub-interface of docker0's NIC, mactainer1 on it, and docker1 as another system on VLAN 100.
 */
import type { Lab } from "../lab";
import { swarmOverlay } from "../swarm-overlay";
import { check } from "./checks";
import { FACTS } from "./facts";
import { macvlanLab } from "./lab";
import { macvlanPlumbing } from "./plumbing";
import { macvlanProbe } from "./probe";
import { workloadScript } from "./workload";

export const macvlan: Lab = {
  name: macvlanLab.name,
  definition: macvlanLab,
  facts: FACTS,
  swarm: swarmOverlay.swarm,
  workload: workloadScript,
  netnsDir: swarmOverlay.netnsDir,
  traffic: macvlanProbe,
  check,
  plumbing: (model) => macvlanPlumbing(model),
};
