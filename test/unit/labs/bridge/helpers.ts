import * as fs from "fs";
import * as path from "path";
import { parseFramedOutput } from "../../../../scripts/lib/framing";
import { gatheredFromText } from "../../../../scripts/lib/verify/gather";
import type { Inventory } from "../../../../scripts/lib/verify/inventory";
import { buildModel, type LabModel } from "../../../../scripts/lib/verify/model";
import type { BridgeNames } from "../../../../labs/bridge/facts";
import type { ScriptEvidence } from "../../../../labs/script-probe";

export const FIX = path.join(__dirname, "../../../fixtures/labs/bridge");
export const fx = (name: string): string => fs.readFileSync(path.join(FIX, name), "utf8");

/** The live trial's names (the lab built with its -h names and port 5187, beside the other labs). */
export const LIVE_NAMES: BridgeNames = { network: "localnet-h", c1: "c1-h", c2: "c2-h", other: "c3-h", web: "web-h", hostPort: 5187 };

export const INV: Inventory = {
  lab: "bridge",
  stack: "dev",
  user: "root",
  sshKeyFile: "/nonexistent/key",
  network: { cidr: "192.168.122.0/24", gateway: "192.168.122.1" },
  pathTarget: "192.168.122.1",
  hosts: [
    { name: "docker0", hostname: "docker0.local", address: "192.168.122.10", role: "manager" },
    { name: "docker1", hostname: "docker1.local", address: "192.168.122.11", role: "worker" },
  ],
};

/** The model of the live gather of docker0 (docker1 not gathered), with the live probe's evidence. */
export function liveModel(): LabModel {
  const model = buildModel(gatheredFromText(INV, { docker0: fx("gather-docker0.txt") }), INV);
  const evidence: ScriptEvidence = { kind: "ran", host: "docker0", framed: parseFramedOutput(fx("traffic-docker0.txt"), "the bridge probe") };
  model.probe = evidence;
  return model;
}

export const clone = <T>(x: T): T => structuredClone(x);
