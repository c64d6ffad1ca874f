/**
 * Replays what verify gathered from real labs of the end-to-end test (TCG guests, Debian 12,
 * Docker 20.10.24, runs of 2026-11-23): the checks must find no failure there, and exactly the
 * documented newer-engine differences. live-e2e was gathered by gather script v1 (a docker exec
 * per command, docker version asked separately, pings by docker exec); live-e2e-v2 by v2 (one
 * exec per task, one shell per namespace, per-command timings, pings from the task's namespace).
 */
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { runVerify } from "../../../scripts/verify/run";

describe.each(["live-e2e", "live-e2e-v2"])("verify on a gather recorded from the live e2e lab (%s)", (fixture) => {
  const DIR = path.resolve(__dirname, "../../fixtures/verify", fixture);
  const inventory = JSON.parse(fs.readFileSync(path.join(DIR, "inventory.json"), "utf8"));

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

  it("reads the docker server version from docker version (v1) or docker info (v2)", async () => {
    const run = await runVerify({ inventory, replayDir: DIR, only: ["HOST-1"] });
    expect(run.model.hosts.map((h) => h.dockerVersion)).toEqual(["20.10.24+dfsg1", "20.10.24+dfsg1"]);
  });
});

describe("the v2 gather of the live lab", () => {
  const DIR = path.resolve(__dirname, "../../fixtures/verify/live-e2e-v2");
  it("carries each command's time, and SB-3 compares one exec's view with nsenter's", async () => {
    const inventory = JSON.parse(fs.readFileSync(path.join(DIR, "inventory.json"), "utf8"));
    const run = await runVerify({ inventory, replayDir: DIR, only: ["SB-3"] });
    expect(run.results[0].outcome).toBe("pass");
    for (const h of run.gathered.hosts) {
      expect(h.framed!.ms).toBeGreaterThan(0);
      expect(Object.values(h.framed!.sections).every((s) => Number.isInteger(s.ms))).toBe(true);
      expect(Object.keys(h.framed!.sections)).not.toContain("docker-version");
    }
  });
});
