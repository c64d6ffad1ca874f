/**
 * The bridge lab (seed 003 "Single-host bridge networks", "Service discovery"): localnet, c1 and
 * c2 on it, c3 on the default bridge, web publishing 5000:80, all on the manager; facts BR-1..BR-5.
 */
import type { Lab } from "../lab";
import { swarmOverlay } from "../swarm-overlay";
import { checkBridge } from "./checks";
import { FACTS } from "./facts";
import { bridgeLab } from "./lab";
import { bridgePlumbing } from "./plumbing";
import { bridgeProbe } from "./probe";
import { workloadScript } from "./workload";

export const bridge: Lab = {
  name: bridgeLab.name,
  definition: bridgeLab,
  facts: FACTS,
  swarm: swarmOverlay.swarm,
  workload: (a) => workloadScript(a),
  netnsDir: swarmOverlay.netnsDir,
  traffic: bridgeProbe(),
  check: (model, inventory, opts = {}) => checkBridge(model, inventory, opts),
  plumbing: (model, inventory) => bridgePlumbing(model, inventory),
};
