import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { main, parseArgs, runVerify } from "../../../scripts/cli/verify";
import { UsageError } from "../../../scripts/lib/verify/errors";
import type { Transport } from "../../../scripts/lib/verify/gather";
import { FIXTURES, liveInventory, liveLikeText } from "../verify/helpers";
import { captureCliIo } from "../cli-io";
import { labNamed } from "../../../labs";

const INVENTORY = path.join(FIXTURES, "live-like", "inventory.json");
const REPLAY = path.join(FIXTURES, "live-like", "json");

describe("parseArgs", () => {
  it("reads every option", () => {
    const a = parseArgs(["--stack", "lab2", "--format=junit", "--only", "vxlan-1, OVL-2", "--output", "out.xml", "--save-raw", "raw", "--ip-text", "--quiet"]);
    expect(a.options).toMatchObject({ stack: "lab2", format: "junit", only: ["VXLAN-1", "OVL-2"], output: "out.xml", saveRawDir: "raw", forceText: true });
    expect(a.quiet).toBe(true);
    expect(parseArgs([]).options.format).toBe("text");
  });
  it("rejects bad usage", () => {
    expect(() => parseArgs(["--stack"])).toThrow(UsageError);
    expect(() => parseArgs(["--format", "pdf"])).toThrow(/unknown format "pdf"/);
    expect(() => parseArgs(["--stack", "a", "--inventory", "b"])).toThrow(/not both/);
    expect(() => parseArgs(["--frobnicate"])).toThrow(/unknown argument --frobnicate/);
  });
});

describe("runVerify", () => {
  it("replays saved output: results, exit code, timings", async () => {
    const run = await runVerify({ labs: labNamed, inventoryFile: INVENTORY, replayDir: REPLAY, format: "json", traffic: false });
    expect(run.exitCode).toBe(0);
    expect(run.summary).toEqual({ total: 29, pass: 20, fail: 0, changed: 5, skip: 4, unchecked: 0 });
    expect(run.sshSessions).toBe(0);
    expect(run.timings.gatherSeconds).toBe(0);
    expect(run.timings.totalSeconds).toBeGreaterThanOrEqual(0);
    expect(JSON.parse(run.rendered!).results).toHaveLength(29);
  });

  it("gathers through a transport, one session per host, and reports progress", async () => {
    const transport: Transport & { sessions: number } = {
      sessions: 0,
      async run(host, _script, onStdout, onConnected) {
        this.sessions++;
        onConnected();
        const out = liveLikeText("json", host.name as "docker0" | "docker1");
        onStdout(out);
        return { stdout: out, stderr: "", code: 0 };
      },
    };
    const phases: string[] = [];
    const run = await runVerify({ labs: labNamed, inventory: liveInventory(), transport, onProgress: (e) => e.phase !== "section" && phases.push(`${e.host}:${e.phase}`), only: ["VXLAN-1", "WL-2"] });
    expect(run.sshSessions).toBe(2);
    expect(run.results.map((r) => [r.id, r.outcome])).toEqual([
      ["WL-2", "pass"],
      ["VXLAN-1", "pass"],
    ]);
    expect(phases.sort()).toEqual(["docker0:connected", "docker0:connecting", "docker0:done", "docker1:connected", "docker1:connecting", "docker1:done"]);
    expect(run.timings.gatherSeconds).toBeGreaterThanOrEqual(0);
  });

  it("exits 1 when a fact fails (a break scenario)", async () => {
    const run = await runVerify({ labs: labNamed, inventoryFile: INVENTORY, replayDir: path.join(FIXTURES, "live-like", "scenarios", "drain") });
    expect(run.exitCode).toBe(1);
    expect(run.results.filter((r) => r.outcome === "fail").map((r) => r.id)).toEqual(["CL-2", "WL-2"]);
  });

  it("rejects unknown fact IDs", async () => {
    await expect(runVerify({ labs: labNamed, inventoryFile: INVENTORY, replayDir: REPLAY, only: ["VXLAN-9"] })).rejects.toThrow(/unknown fact ID\(s\) VXLAN-9/);
  });
});

describe("main (the CLI)", () => {
  const io = captureCliIo("swl-cli-");

  it("prints the text report and exits 0 when nothing fails", async () => {
    expect(await main(["--inventory", INVENTORY, "--replay", REPLAY, "--no-traffic"])).toBe(0);
    expect(io.out).toMatch(/29 facts: 20 passed, 5 changed since the documented version, 0 failed, 0 could not be checked, 4 skipped/);
  });

  it("exits 3 when nothing failed but some facts could not be checked", async () => {
    // live-like/json has no traffic.json: PATH-1..4 could not be checked
    expect(await main(["--inventory", INVENTORY, "--replay", REPLAY])).toBe(3);
    expect(io.out).toMatch(/^PATH-1 +UNCHECKED .*\n +could not check: the traffic checks were not recorded/m);
    expect(io.out).toMatch(/0 failed, 4 could not be checked, 0 skipped/);
  });

  it("documents the exit codes in --help", async () => {
    expect(await main(["--help"])).toBe(0);
    for (const line of [/^\s+0\s+every fact passed or changed/m, /^\s+1\s+a fact failed/m, /^\s+2\s+usage or input error/m, /^\s+3\s+nothing failed, but some facts could not be checked/m]) expect(io.out).toMatch(line);
  });

  it("writes --output and exits 1 on a failing fact", async () => {
    const file = path.join(io.dir, "r", "verify.xml");
    expect(await main(["--inventory", INVENTORY, "--replay", path.join(FIXTURES, "live-like", "scenarios", "subnet201"), "--format", "junit", "--output", file])).toBe(1);
    expect(fs.readFileSync(file, "utf8")).toMatch(/^<\?xml/);
    expect(io.err).toMatch(/6 failed.*report in/);
    expect(io.out).toBe("");
  });

  it("exits 2 on usage and inventory errors, naming the problem", async () => {
    expect(await main(["--only"])).toBe(2);
    expect(io.err).toMatch(/--only needs a value/);
    io.err = "";
    expect(await main(["--stack", "nosuchstack"])).toBe(2);
    expect(io.err).toMatch(/\.swarmlab\/nosuchstack\/inventory\.json: no inventory here/);
    io.err = "";
    const bad = path.join(io.dir, "inv.json");
    const inv = JSON.parse(fs.readFileSync(INVENTORY, "utf8"));
    inv.hosts[1].role = "boss";
    fs.writeFileSync(bad, JSON.stringify(inv));
    expect(await main(["--inventory", bad, "--replay", REPLAY])).toBe(2);
    expect(io.err).toMatch(/hosts\[1\]\.role: must be "manager" or "worker"/);
    io.err = "";
    expect(await main(["--inventory", INVENTORY, "--replay", REPLAY, "--only", "NOPE-1"])).toBe(2);
    expect(io.err).toMatch(/unknown fact ID/);
  });
});
