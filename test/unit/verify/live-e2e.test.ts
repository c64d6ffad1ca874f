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
import { runVerify } from "../../../scripts/lib/verify/run";
import { labNamed } from "../../../labs";

describe.each(["live-e2e", "live-e2e-v2", "live-e2e-v4", "live-e2e-v4-cli"])("verify on a gather recorded from the live e2e lab (%s)", (fixture) => {
  const DIR = path.resolve(__dirname, "../../fixtures/verify", fixture);
  const inventory = JSON.parse(fs.readFileSync(path.join(DIR, "inventory.json"), "utf8"));

  it("finds no failed fact; the changed ones are the documented differences; traffic passed", async () => {
    const run = await runVerify({ labs: labNamed, inventory, replayDir: DIR });
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
    const run = await runVerify({ labs: labNamed, inventory, replayDir: DIR, only: ["SB-2"] });
    expect(run.results[0].outcome).toBe("changed");
    expect(run.results[0].explanation).toMatch(/lb_/);
  });

  it("reads the docker server version from docker version (v1) or docker info (v2)", async () => {
    const run = await runVerify({ labs: labNamed, inventory, replayDir: DIR, only: ["HOST-1"] });
    expect(run.model.hosts.map((h) => h.dockerVersion)).toEqual(["20.10.24+dfsg1", "20.10.24+dfsg1"]);
  });
});

describe("the v2 gather of the live lab", () => {
  const DIR = path.resolve(__dirname, "../../fixtures/verify/live-e2e-v2");
  it("carries each command's time, and SB-3 compares one exec's view with nsenter's", async () => {
    const inventory = JSON.parse(fs.readFileSync(path.join(DIR, "inventory.json"), "utf8"));
    const run = await runVerify({ labs: labNamed, inventory, replayDir: DIR, only: ["SB-3"] });
    expect(run.results[0].outcome).toBe("pass");
    for (const h of run.gathered.hosts) {
      expect(h.framed!.ms).toBeGreaterThan(0);
      expect(Object.values(h.framed!.sections).every((s) => Number.isInteger(s.ms))).toBe(true);
      expect(Object.keys(h.framed!.sections)).not.toContain("docker-version");
    }
  });
});

describe("a swarm initialised by hand with the engine's default address pool (RECORDED on the live test lab)", () => {
  const DIR = path.resolve(__dirname, "../../fixtures/verify/live-e2e-v4-default-pool");
  const inventory = JSON.parse(fs.readFileSync(path.join(DIR, "inventory.json"), "utf8"));

  it("reports ING-1 and ING-2 as changed (ingress on 10.0.0.0/24), with the documented explanation; nothing fails", async () => {
    // As gathered: docker info says the swarm has the default pool, the ingress network is a /24 of it.
    expect(fs.readFileSync(path.join(DIR, "docker0.txt"), "utf8")).toContain('"DefaultAddrPool":["10.0.0.0/8"]');
    const run = await runVerify({ labs: labNamed, inventory, replayDir: DIR });
    const by = (o: string) => run.results.filter((r) => r.outcome === o).map((r) => r.id);
    expect(by("fail")).toEqual([]);
    expect(by("unchecked")).toEqual([]);
    expect(by("changed").sort()).toEqual(["HOST-1", "ING-1", "ING-2", "NS-1", "OVL-1", "SB-2"]);
    const ing1 = run.results.find((r) => r.id === "ING-1")!;
    expect(ing1.observed).toBe("docker0: ingress-sbox has 10.0.0.2/24, in 10.0.0.0/24 (the engine's default ingress range, not 10.255.0.0/16); docker1: ingress-sbox has 10.0.0.3/24, in 10.0.0.0/24 (the engine's default ingress range, not 10.255.0.0/16)");
    expect(ing1.explanation).toMatch(/engines since 18\.09 put ingress on 10\.0\.0\.0\/24 unless `docker swarm init` is given an address pool/);
    const ing2 = run.results.find((r) => r.id === "ING-2")!;
    expect(ing2.observed).toMatch(/^docker0: ingress_sbox eth0 has 10\.0\.0\.2\/24, in 10\.0\.0\.0\/24/);
    expect(ing2.explanation).toMatch(/10\.0\.0\.x\/24 on a default-pool swarm|eth0 is in 10\.0\.0\.x\/24/);
    expect(run.exitCode).toBe(0);
    expect(run.model.hosts[0]!.info!.swarm.defaultAddrPool).toEqual(["10.0.0.0/8"]);
  });

  it("an ingress on another range, or a /24 that is not the default one, still fails", async () => {
    const run = await runVerify({ labs: labNamed, inventory, replayDir: DIR, only: ["ING-1", "ING-2"] });
    const m = structuredClone(run.model);
    for (const h of m.hosts) {
      const ep = h.networks!.find((n) => n.name === "ingress")!.containers.find((c) => c.key === "ingress-sbox")!;
      ep.ipv4 = ep.ipv4!.replace(/^10\.0\.0\./, "10.0.1.");
    }
    const { runChecks } = await import("../../../labs/swarm-overlay/checks");
    const { swarmOverlayLab } = await import("../../../labs/swarm-overlay/lab");
    const [r] = runChecks({ model: m, lab: swarmOverlayLab, inventory: run.inventory }, { only: ["ING-1"] });
    expect(r!.outcome).toBe("fail");
    expect(r!.observed).toMatch(/ingress-sbox has 10\.0\.1\.2\/24, expected one in 10\.255\.0\.0\/16 \(or 10\.0\.0\.0\/24/);
  });
});
