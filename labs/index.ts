/**
 * The labs, by name. Adding a lab: a folder labs/<name>/ whose index.ts exports its Lab, and
 * one line in LABS below. `swarmlab:lab` (infra) and the inventory's `lab` (verify) name one.
 */
import type { Lab } from "./lab";
import { bridge } from "./bridge";
import { encryptedOverlay } from "./encrypted-overlay";
import { macvlan } from "./macvlan";
import { routingMesh } from "./routing-mesh";
import { swarmOverlay } from "./swarm-overlay";

export const LABS: readonly Lab[] = [
  swarmOverlay,
  bridge,
  routingMesh,
  encryptedOverlay,
  macvlan,
];

/** The lab `swarmlab:lab` picks when it is not set, and verify assumes for an inventory without `lab`. */
export const DEFAULT_LAB = "swarm-overlay";

export const LAB_NAMES: readonly string[] = LABS.map((l) => l.name);

export function findLab(name: string): Lab | undefined {
  return LABS.find((l) => l.name === name);
}

export class UnknownLabError extends Error {
  override readonly name = "UnknownLabError";
  constructor(readonly lab: string) {
    super(`unknown lab ${JSON.stringify(lab)}; known labs: ${LAB_NAMES.join(", ")}`);
  }
}

/** The lab of that name (none given: DEFAULT_LAB). Throws UnknownLabError naming the known labs. */
export function labNamed(name: string | undefined): Lab {
  const lab = findLab(name ?? DEFAULT_LAB);
  if (!lab) throw new UnknownLabError(name ?? DEFAULT_LAB);
  return lab;
}
