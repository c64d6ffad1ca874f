/**
 * The routing-mesh lab (seed 003 "Ingress load balancing"; 002, 004): services published in
 * ingress and host mode on the shared two-node swarm, RM-1..RM-4, behind the Lab interface.
 */
import type { Lab } from "../lab";
import { swarmOverlay } from "../swarm-overlay";
import { check } from "./checks";
import { FACTS } from "./facts";
import { routingMeshLab } from "./lab";
import { routingMeshPlumbing } from "./plumbing";
import { routingMeshProbe } from "./probe";
import { workloadScript } from "./workload";

export const routingMesh: Lab = {
  name: routingMeshLab.name,
  definition: routingMeshLab,
  facts: FACTS,
  swarm: swarmOverlay.swarm,
  workload: workloadScript,
  netnsDir: swarmOverlay.netnsDir,
  traffic: routingMeshProbe,
  check,
  plumbing: (model, inventory) => routingMeshPlumbing(model, inventory),
};
