/**
 * Where each learner's lab goes: which hypervisor (round robin over the ones given) and which
 * network range: clear of every active libvirt network on ANY of the class's hypervisors and of
 * the ranges given to the learners before it. Ranges are unique across the class, not only per
 * hypervisor: the machine that runs the class reaches every learner's guests, so two labs on one
 * range would be ambiguous to it, and two URIs may name the same hypervisor. Names and bridges need no allocation: every libvirt object
 * of stack S is named swarmlab-S-..., and the bridge name is a hash of that. Pure.
 */
import { chooseLabNetwork, objectPrefixOf, type ActiveNetwork } from "../../../infra/config";
import type { LabDefinition } from "../../../labs/lab";

export interface Placement {
  learner: string;
  uri: string;
  cidr: string;
  /** Why the range is not the documented one, or that an existing lab keeps its own. */
  note?: string;
}

export interface ExistingLearner {
  /** The stack's libvirtUri and networkCidr, when it already has them (a lab built before). */
  uri?: string;
  cidr?: string;
}

/** Learner stack names learner-01 .. learner-NN (two digits at least, so they sort). */
export function learnerNames(count: number, prefix = "learner"): string[] {
  const width = Math.max(2, String(count).length);
  return Array.from({ length: count }, (_, i) => `${prefix}-${String(i + 1).padStart(width, "0")}`);
}

/**
 * Places the learners in order. A learner that already has a hypervisor and range (its stack's
 * configuration) keeps them; the others get the next hypervisor in turn and the first range free
 * in the class. `active` lists each hypervisor's active libvirt networks.
 */
export function placeLearners(lab: LabDefinition, learners: readonly string[], uris: readonly string[], active: ReadonlyMap<string, readonly ActiveNetwork[]>, existing: ReadonlyMap<string, ExistingLearner> = new Map()): Placement[] {
  if (!uris.length) throw new Error("no hypervisor to place the learners' labs on");
  const placed: Placement[] = [];
  let turn = 0;
  for (const learner of learners) {
    const had = existing.get(learner) ?? {};
    const uri = had.uri ?? uris[turn++ % uris.length]!;
    if (had.cidr) {
      placed.push({ learner, uri, cidr: had.cidr, note: `keeps its configured range ${had.cidr}` });
      continue;
    }
    const own = objectPrefixOf(learner);
    const onThis = active.get(uri) ?? [];
    // Every hypervisor's networks, and the other learners' ranges even before their networks exist.
    const taken: ActiveNetwork[] = [
      ...[...active.entries()].flatMap(([u, nets]) => nets.filter((n) => !(u === uri && n.name === own))),
      ...placed.map((p) => ({ name: objectPrefixOf(p.learner), cidr: p.cidr })),
    ];
    const ownNet = onThis.find((n) => n.name === own);
    const choice = chooseLabNetwork(lab, taken, ownNet);
    const note = ownNet
      ? choice.note
      : choice.cidr === lab.network.cidr
        ? undefined
        : `the documented ${lab.network.cidr} and the ranges before ${choice.cidr} are taken by active libvirt networks or other learners`;
    placed.push({ learner, uri, cidr: choice.cidr, ...(note ? { note } : {}) });
  }
  return placed;
}
