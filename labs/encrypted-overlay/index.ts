/**
 * The encrypted-overlay lab (seed 003 "Create a new overlay network", "Test the overlay
 * network"): uber-net with `-o encrypted` and plain-net without, a two-replica service on each,
 * on the shared two-node swarm; its facts ENC-1..ENC-5, their checks and the probe that
 * captures the underlay while the tasks ping, behind the Lab interface.
 */
import type { Lab } from "../lab";
import { swarmOverlay } from "../swarm-overlay";
import { check } from "./checks";
import { FACTS } from "./facts";
import { encryptedOverlayLab } from "./lab";
import { encryptedOverlayPlumbing } from "./plumbing";
import { probe } from "./probe";
import { workloadScript } from "./workload";

export const encryptedOverlay: Lab = {
  name: encryptedOverlayLab.name,
  definition: encryptedOverlayLab,
  facts: FACTS,
  swarm: swarmOverlay.swarm,
  workload: workloadScript,
  netnsDir: swarmOverlay.netnsDir,
  traffic: probe,
  check,
  plumbing: (model, inventory) => encryptedOverlayPlumbing(model, inventory),
};
