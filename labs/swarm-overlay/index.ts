/**
 * The swarm-overlay lab (seeds 000, 002, 004): demonet and demoservice on the two-node swarm,
 * its facts, their checks, and the traffic probe of PATH-1..4, behind the Lab interface.
 */
import type { Lab, WorkloadArgs } from "../lab";
import { runChecks } from "./checks";
import { DOCUMENTED, FACTS } from "./facts";
import { swarmOverlayLab } from "./lab";
import { trafficProbe } from "./probes";
import { OverlayWorkloadArgs, readyScript, workloadScript } from "./workload";

/** The lab's overlay and service, as its workload and readiness scripts take them. */
function overlayArgs(a: WorkloadArgs): OverlayWorkloadArgs {
  const { overlay, service } = swarmOverlayLab.workload;
  return { ...a, overlay: overlay.name, subnet: overlay.subnet, service: service.name, replicas: service.replicas, command: service.command };
}

const ingressPool = DOCUMENTED.ingress.subnet;

export const swarmOverlay: Lab = {
  name: swarmOverlayLab.name,
  definition: swarmOverlayLab,
  facts: FACTS,
  swarm: { addressPool: { pool: ingressPool, maskLength: Number(ingressPool.split("/")[1]) }, port: DOCUMENTED.swarmPort },
  workload: (a) => workloadScript(overlayArgs(a)),
  ready: (a) => readyScript(overlayArgs(a)),
  netnsDir: DOCUMENTED.netnsDir,
  traffic: trafficProbe,
  check: (model, inventory, opts = {}) => runChecks({ model, lab: swarmOverlayLab, inventory }, opts),
};
