import * as fs from "fs";
import * as path from "path";
import { macvlanProbe } from "../../../../labs/macvlan/probe";
import type { ScriptEvidence } from "../../../../labs/script-probe";
import { gatheredFromText } from "../../../../scripts/lib/verify/gather";
import { type Inventory, validateInventory } from "../../../../scripts/lib/verify/inventory";
import { buildModel, type LabModel } from "../../../../scripts/lib/verify/model";

/** Real outputs of the dev lab (Debian 12, Docker 20.10.24): gathers, the probe's output. */
export const FIX = path.join(__dirname, "../../../fixtures/labs/macvlan");

export function fixture(name: string): string {
  return fs.readFileSync(path.join(FIX, name), "utf8");
}

export function inventory(): Inventory {
  return validateInventory(JSON.parse(fixture("inventory.json")), { checkKeyFile: false });
}

/** A fresh model of the recorded lab (mutable by the test), with the probe's recorded evidence. */
export function liveModel(opts: { probe?: boolean } = {}): { model: LabModel; inv: Inventory } {
  const inv = inventory();
  const model = buildModel(gatheredFromText(inv, { docker0: fixture("docker0.txt"), docker1: fixture("docker1.txt") }), inv);
  if (opts.probe !== false) model.probe = macvlanProbe.replay(FIX, inv, model);
  return { model, inv };
}

/** The recorded probe evidence's sections, to alter. */
export function sectionsOfModel(model: LabModel) {
  const e = model.probe as ScriptEvidence;
  if (e.kind !== "ran") throw new Error("the recorded probe did not run");
  return e.framed.sections;
}
