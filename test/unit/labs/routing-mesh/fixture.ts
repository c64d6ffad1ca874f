/** The live recording of test/fixtures/labs/routing-mesh (see its README): model, evidence, services. */
import * as fs from "fs";
import * as path from "path";
import { parseFramedOutput, type FramedOutput, type RawSection } from "../../../../scripts/lib/framing";
import { loadRaw } from "../../../../scripts/lib/verify/gather";
import { type Inventory, loadInventory } from "../../../../scripts/lib/verify/inventory";
import { buildModel, type LabModel } from "../../../../scripts/lib/verify/model";
import type { LabServices } from "../../../../labs/routing-mesh/probe";

export const FIXTURES = path.join(__dirname, "../../../fixtures/labs/routing-mesh");
export const LIVE = path.join(FIXTURES, "live-h");

/** The trial names and ports the recording was made with. */
export const TRIAL: LabServices = {
  web: { name: "web-h", published: 5100, target: 80, mode: "ingress", replicas: 1 },
  webhost: { name: "webhost-h", published: 5101, target: 80, mode: "host", replicas: 1 },
  web2: { name: "web2-h", published: 5102, target: 80, mode: "ingress", replicas: 2 },
};

/** Hostnames (short container ids) of the recorded tasks. */
export const TASKS = { web: "c385ba2b1370", webhost: "17fbc0eaa7a4", web2: ["babf8900fecf", "330496d9701f"] };

export function inventory(): Inventory {
  return loadInventory(path.join(LIVE, "inventory.json"), { checkKeyFile: false });
}

export function traffic(dir = LIVE): FramedOutput {
  return parseFramedOutput(fs.readFileSync(path.join(dir, "traffic-docker0.txt"), "utf8"), "probe");
}

export function section(framed: FramedOutput, key: string): RawSection {
  const s = framed.sections[key];
  if (!s) throw new Error(`fixture has no section ${key}`);
  return s;
}

/** A fresh model of the recording with the probe's evidence (altered by `alter`). */
export function liveModel(alter: (f: FramedOutput) => void = () => undefined, dir = LIVE): { model: LabModel; inv: Inventory } {
  const inv = inventory();
  const model = buildModel(loadRaw(LIVE, inv), inv);
  const framed = traffic(dir);
  alter(framed);
  model.probe = { kind: "ran", host: "docker0", framed };
  return { model, inv };
}
