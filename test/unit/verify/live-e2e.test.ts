/**
 * Replays what verify gathered from a real lab of the end-to-end test (TCG guests, Debian 12,
 * Docker 20.10.24, run on 2026-11-23): the checks must find no failure there, and exactly the
 * documented newer-engine differences.
 */
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { runVerify } from "../../../scripts/verify/run";

const DIR = path.resolve(__dirname, "../../fixtures/verify/live-e2e");
const inventory = JSON.parse(fs.readFileSync(path.join(DIR, "inventory.json"), "utf8"));

describe("verify on a gather recorded from the live e2e lab", () => {
  it("finds no failed fact; the changed ones are the documented differences; traffic passed", async () => {
    const run = await runVerify({ inventory, replayDir: DIR });
    const by = (o: string) => run.results.filter((r) => r.outcome === o).map((r) => r.id);
    expect(by("fail")).toEqual([]);
    expect(by("changed").sort()).toEqual(["HOST-1", "NS-1", "OVL-1", "SB-2"]);
    expect(by("skip")).toEqual([]);
    expect(run.results.filter((r) => r.id.startsWith("PATH-")).every((r) => r.outcome === "pass")).toBe(true);
    expect(run.sshSessions).toBe(0);
    const vx = run.results.find((r) => r.id === "VXLAN-1")!;
    expect(vx.observed).toContain("4097");
  });

  it("reports the VIP change with its explanation (SB-2: the VIP lives in the lb_ namespace)", async () => {
    const run = await runVerify({ inventory, replayDir: DIR, only: ["SB-2"] });
    expect(run.results[0].outcome).toBe("changed");
    expect(run.results[0].explanation).toMatch(/lb_/);
  });
});
