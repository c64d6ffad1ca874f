/**
 * The CLI checks every path and option before it connects; a user error is a
 * one-line message and exit code 2, never a stack trace, never a hang; saved
 * raw output is private; a replay judges the traffic again from its evidence;
 * control characters in observed data are shown escaped in every format.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../../../scripts/cli/verify";
import { UsageError } from "../../../scripts/lib/verify/errors";
import type { Transport } from "../../../scripts/lib/verify/gather";
import { prepareFormat } from "../../../scripts/lib/verify/report";
import { runVerify } from "../../../scripts/lib/verify/run";
import { captureCliIo } from "../cli-io";
import { FIXTURES, reframe } from "../verify/helpers";
import { labNamed } from "../../../labs";

const V2 = path.join(FIXTURES, "live-e2e-v2");
const INVENTORY = path.join(V2, "inventory.json");
const inventory = JSON.parse(fs.readFileSync(INVENTORY, "utf8"));
const STACK_TRACE = /\n\s+at [\w.<>]+ \(|\bat Object\.|node:internal/;

/** A transport that must never be used: the checks have to stop the run before it. */
function untouched(): Transport & { calls: number } {
  return {
    sessions: 0,
    calls: 0,
    async run() {
      this.calls++;
      throw new Error("connected although an option was wrong");
    },
  };
}

/** A copy of live-e2e-v2 in a fresh 0700 directory, to damage. */
function copyOfV2(dir: string, name = "replay"): string {
  const d = path.join(dir, name);
  fs.mkdirSync(d, { mode: 0o700 });
  for (const f of fs.readdirSync(V2)) fs.copyFileSync(path.join(V2, f), path.join(d, f));
  return d;
}

describe("every path and option is checked before connecting", () => {
  const io = captureCliIo("swl-safe-");

  const refused = async (opts: Omit<Parameters<typeof runVerify>[0], "labs">, re: RegExp): Promise<void> => {
    const t = untouched();
    const err = await runVerify({ labs: labNamed, inventory, transport: t, ...opts }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(re);
    expect(t.calls).toBe(0);
  };

  it("--output that is a directory", async () => {
    await refused({ output: io.dir }, /^--output .*: is a directory \(give a file name\)$/);
  });

  it("--output under a path that cannot exist (/proc/nope/x) fails at once, without hanging", async () => {
    const t0 = Date.now();
    await refused({ output: "/proc/nope/x" }, /^--output \/proc\/nope\/x: cannot create \/proc\/nope: no such file or directory$/);
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it("--output under a regular file", async () => {
    const f = path.join(io.dir, "plain");
    fs.writeFileSync(f, "x");
    await refused({ output: path.join(f, "report.txt") }, /plain\/report\.txt: a part of the path is not a directory$/);
  });

  it("--save-raw that is a file, or a directory others can read", async () => {
    const f = path.join(io.dir, "raw.txt");
    fs.writeFileSync(f, "x");
    await refused({ saveRawDir: f }, /^--save-raw .*raw\.txt: is not a directory$/);
    const open = path.join(io.dir, "open");
    fs.mkdirSync(open);
    fs.writeFileSync(path.join(open, "notes.md"), "mine");
    fs.chmodSync(open, 0o755);
    await refused({ saveRawDir: open }, /^--save-raw .*open: other users can read it \(mode 0755\); give a new directory \(created 0700\) or `chmod 700` this one$/);
  });

  it("--save-raw into an earlier save of ours that others could read: made private", async () => {
    const old = path.join(io.dir, "gather-clean");
    fs.mkdirSync(old);
    for (const f of ["docker0.txt", "docker1.txt", "traffic.json", "traffic-docker0.txt"]) fs.writeFileSync(path.join(old, f), "x", { mode: 0o644 });
    fs.chmodSync(old, 0o755);
    await runVerify({ labs: labNamed, inventory, replayDir: V2, saveRawDir: old, traffic: false });
    expect(fs.statSync(old).mode & 0o777).toBe(0o700);
    for (const f of fs.readdirSync(old)) expect(fs.statSync(path.join(old, f)).mode & 0o777, f).toBe(0o600);
    // the earlier save's traffic output is gone: a replay must not judge it as this run's
    expect(fs.readdirSync(old).sort()).toEqual(["docker0.txt", "docker1.txt", "traffic.json"]);
  });

  it("an unknown format, an empty one, and empty values", async () => {
    await refused({ format: "" }, /unknown format ""/);
    for (const argv of [["--format="], ["--output="], ["--save-raw", ""], ["--only", ","], ["--replay="]]) {
      io.err = "";
      expect(await main(["--inventory", INVENTORY, ...argv]), argv.join(" ")).toBe(2);
      expect(io.err, argv.join(" ")).toMatch(/^verify: --[\w-]+ needs (a value|at least one fact ID)/);
      expect(io.out).toBe("");
    }
  });

  it("--replay of a missing directory, of a file, of a directory without a saved gather: exit 2, one line", async () => {
    for (const [dir, re] of [
      [path.join(io.dir, "nope"), /^verify: --replay .*nope: no such file or directory$/m],
      [INVENTORY, /^verify: --replay .*inventory\.json: is not a directory$/m],
      [io.dir, /^verify: --replay .*: holds no saved gather \(none of docker0\.txt, docker1\.txt; make one with --save-raw\)$/m],
    ] as const) {
      io.err = "";
      expect(await main(["--inventory", INVENTORY, "--replay", dir])).toBe(2);
      expect(io.err).toMatch(re);
      expect(io.err).not.toMatch(STACK_TRACE);
    }
  });

  it("a truncated traffic.json: exit 2, naming the file", async () => {
    const d = copyOfV2(io.dir);
    const tj = path.join(d, "traffic.json");
    fs.writeFileSync(tj, fs.readFileSync(tj, "utf8").slice(0, 300));
    expect(await main(["--inventory", INVENTORY, "--replay", d])).toBe(2);
    expect(io.err).toMatch(new RegExp(`^verify: ${tj.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}: not valid JSON \\(cut off\\?\\): `, "m"));
    expect(io.err).not.toMatch(STACK_TRACE);
  });

  it("a traffic.json that is not the findings' shape: exit 2, naming the field", async () => {
    const d = copyOfV2(io.dir);
    fs.writeFileSync(path.join(d, "traffic.json"), JSON.stringify({ "PATH-1": { outcome: "pass" } }));
    expect(await main(["--inventory", INVENTORY, "--replay", d])).toBe(2);
    expect(io.err).toMatch(/traffic\.json: PATH-1\.expected: expected a string, got nothing$/m);
    fs.writeFileSync(path.join(d, "traffic.json"), JSON.stringify({ "PATH-9": { outcome: "pass", expected: "", observed: "" } }));
    io.err = "";
    expect(await main(["--inventory", INVENTORY, "--replay", d])).toBe(2);
    expect(io.err).toMatch(/"PATH-9" is not a traffic fact/);
  });

  it("the stderr summary with --output names what could not be checked", async () => {
    const d = copyOfV2(io.dir);
    fs.rmSync(path.join(d, "docker1.txt"));
    const out = path.join(io.dir, "r.txt");
    expect(await main(["--inventory", INVENTORY, "--replay", d, "--output", out])).toBe(3);
    expect(io.err).toMatch(/^verify: could not check on docker1: no saved output for docker1 in .*\nverify: 29 facts: .* could not be checked, 0 skipped; report in .*r\.txt$/m);
  });
});

describe("--save-raw keeps the gather private", () => {
  const io = captureCliIo("swl-raw-");
  it("files 0600 in a directory created 0700 (also when a file was there with another mode)", async () => {
    const dir = path.join(io.dir, "deep", "raw");
    const run = await runVerify({ labs: labNamed, inventory, replayDir: V2, saveRawDir: dir });
    expect(run.exitCode).toBe(0);
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    const files = fs.readdirSync(dir).sort();
    // the replay's traffic output comes along: the saved verdicts can be judged again from it
    expect(files).toEqual(["docker0.txt", "docker1.txt", "traffic-docker0.txt", "traffic.json"]);
    for (const f of files) expect(fs.statSync(path.join(dir, f)).mode & 0o777, f).toBe(0o600);
    fs.chmodSync(path.join(dir, "docker0.txt"), 0o644);
    await runVerify({ labs: labNamed, inventory, replayDir: V2, saveRawDir: dir });
    expect(fs.statSync(path.join(dir, "docker0.txt")).mode & 0o777).toBe(0o600);
  });
});

describe("a replay judges the traffic again from the recorded output, never reads verdicts back", () => {
  const io = captureCliIo("swl-replay-");
  const paths = (run: Awaited<ReturnType<typeof runVerify>>) => Object.fromEntries(run.results.filter((r) => r.id.startsWith("PATH-")).map((r) => [r.id, r]));

  it("a traffic.json that says PATH-4 failed does not make it fail: the capture is decoded again", async () => {
    const d = copyOfV2(io.dir);
    const tj = path.join(d, "traffic.json");
    const saved = JSON.parse(fs.readFileSync(tj, "utf8"));
    saved["PATH-4"] = { outcome: "fail", expected: "x", observed: "made up" };
    saved["PATH-1"] = { outcome: "fail", expected: "x", observed: "made up" };
    fs.writeFileSync(tj, JSON.stringify(saved));
    const p = paths(await runVerify({ labs: labNamed, inventory, replayDir: d }));
    expect(p["PATH-4"]!.outcome).toBe("pass");
    expect(p["PATH-4"]!.observed).toMatch(/UDP\/4789 between 192\.168\.122\.10 and 192\.168\.122\.11 \(VNI 4097 x\d+\)/);
    expect(p["PATH-1"]!.outcome).toBe("pass");
  });

  it("a capture cut from the recording fails PATH-4 even though traffic.json says pass", async () => {
    const d = copyOfV2(io.dir);
    const raw = path.join(d, "traffic-docker0.txt");
    fs.writeFileSync(raw, fs.readFileSync(raw, "utf8").replace(/@@swarmlab:begin cap\.pcap\n[\s\S]*?@@swarmlab:end cap\.pcap rc=0 bytes=\d+\n/, ""));
    expect(JSON.parse(fs.readFileSync(path.join(d, "traffic.json"), "utf8"))["PATH-4"].outcome).toBe("pass");
    const p = paths(await runVerify({ labs: labNamed, inventory, replayDir: d }));
    expect(p["PATH-4"]!.outcome).toBe("fail");
    expect(p["PATH-4"]!.observed).toMatch(/no UDP\/4789 packets were captured/);
  });

  it("verdicts without the output they were judged from leave the facts unchecked; saved skips stay skips", async () => {
    const d = copyOfV2(io.dir);
    fs.rmSync(path.join(d, "traffic-docker0.txt"));
    const p = paths(await runVerify({ labs: labNamed, inventory, replayDir: d }));
    for (const id of ["PATH-1", "PATH-2", "PATH-3", "PATH-4"]) {
      expect(p[id]!.outcome, id).toBe("unchecked");
      expect(p[id]!.explanation, id).toMatch(/traffic\.json says pass, but the traffic script's output it was judged from \(traffic-docker0\.txt\) is not in .*: a verdict is judged from its evidence, never read back/);
    }
    fs.writeFileSync(path.join(d, "traffic.json"), JSON.stringify({ "PATH-1": { outcome: "skip", expected: "e", observed: "not checked", explanation: "traffic checks disabled (--no-traffic)" } }));
    const q = paths(await runVerify({ labs: labNamed, inventory, replayDir: d }));
    expect(q["PATH-1"]!.outcome).toBe("skip");
    expect(q["PATH-2"]!.explanation).toBe("traffic.json has no PATH-2");
  });
});

describe("control characters in observed data are escaped in every format", () => {
  const io = captureCliIo("swl-ctl-");
  it("an interface named with an OSC title sequence shows as \\e]0;…\\x07 in text, junit and html (and its diagram)", async () => {
    const d = copyOfV2(io.dir);
    const f = path.join(d, "docker1.txt");
    // veth0 of docker1's demonet namespace, renamed in every view of it (ip -j escapes control characters)
    const evil = "veth\\u001b]0;owned\\u0007";
    fs.writeFileSync(f, reframe(fs.readFileSync(f, "utf8"), (o, key) => (key.startsWith("ip-") && key.includes("netns/1-vdyt5k9tuh") ? o.replace(/"ifname":"veth0"/g, `"ifname":"${evil}"`) : o)));
    await prepareFormat("html");
    for (const format of ["text", "junit", "html", "json"]) {
      const run = await runVerify({ labs: labNamed, inventory, replayDir: d, format, only: ["OVL-1", "VETH-1"] });
      const out = run.rendered!;
      expect(out, format).not.toMatch(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/);
      if (format !== "json") expect(out, format).toMatch(/veth\\e\]0;owned\\x07/);
      else expect(JSON.parse(out).results.some((r: { details: string[] }) => r.details.some((x) => x.includes("veth\x1b]0;owned\x07")))).toBe(true);
      if (format === "html") expect(out).toMatch(/<svg[\s\S]*veth\\e\]0;owned\\x07[\s\S]*<\/svg>/);
    }
  });
});

describe("no user error ends in a stack trace", () => {
  const io = captureCliIo("swl-err-");
  it("an inventory that is a directory, a missing one, bad JSON", async () => {
    const bad = path.join(io.dir, "bad.json");
    fs.writeFileSync(bad, "{");
    for (const inv of [io.dir, path.join(io.dir, "none.json"), bad]) {
      io.err = "";
      expect(await main(["--inventory", inv, "--replay", V2])).toBe(2);
      expect(io.err).toMatch(/^verify: /);
      expect(io.err).not.toMatch(STACK_TRACE);
    }
  });
  it("os.tmpdir() is writable here (sanity of the tests above)", () => {
    expect(fs.statSync(os.tmpdir()).isDirectory()).toBe(true);
  });
});
