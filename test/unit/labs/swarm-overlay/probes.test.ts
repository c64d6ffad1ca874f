/**
 * runVerify's traffic step: PATH-1..4 run after the gather, through the same
 * transport, in one extra session on the manager. The traffic script's output
 * is the real one recorded on the netns emulation (test/fixtures/plumbing/traffic/,
 * emulate-traffic.sh): underlay 10.99.0.1 <-> 10.99.0.2, tasks 192.168.200.3 / .4.
 * The gathered outputs are the live-like fixture with the host addresses moved
 * onto that underlay, so that the plan built from the model matches the recording.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { FACT_IDS } from "../../../../labs/swarm-overlay/facts";
import { buildTrafficScript, parseSteps, parseTrafficOutput, type TrafficObservations, type TrafficPlan } from "../../../../labs/swarm-overlay/traffic";
import { judgeTraffic } from "../../../../labs/swarm-overlay/traffic-checks";
import { main, parseArgs } from "../../../../scripts/cli/verify";
import { type RunOptions, type RunResult, SshTransport, type Transport } from "../../../../scripts/lib/verify/gather";
import type { InventoryHost } from "../../../../scripts/lib/verify/inventory";
import { validateInventory, type Inventory } from "../../../../scripts/lib/verify/inventory";
import { runVerify } from "../../../../scripts/lib/verify/run";
import { TRAFFIC_DISABLED, trafficHost, wantsTraffic } from "../../../../labs/swarm-overlay/probes";
import { FIXTURES, liveLikeText, reframe } from "../../verify/helpers";
import { captureCliIo } from "../../cli-io";
import { labNamed } from "../../../../labs";

const PLUMBING = path.resolve(__dirname, "../../../fixtures/plumbing/traffic");
const recorded = (name: "ok.txt" | "cut-remote.txt" | "cut-local.txt"): string => fs.readFileSync(path.join(PLUMBING, name), "utf8");
const PATHS = ["PATH-1", "PATH-2", "PATH-3", "PATH-4"] as const;

/** The live-like inventory, moved onto the emulation's underlay 10.99.0.0/24. */
function emuInventory(): Inventory {
  const raw = JSON.parse(fs.readFileSync(path.join(FIXTURES, "live-like", "inventory.json"), "utf8"));
  raw.network = { cidr: "10.99.0.0/24", gateway: "10.99.0.254" };
  raw.hosts[0].address = "10.99.0.1";
  raw.hosts[1].address = "10.99.0.2";
  raw.pathTarget = "10.99.0.2"; // what the recording pinged for PATH-2
  return validateInventory(raw, { checkKeyFile: false });
}

function emuGatherOutput(host: string): string {
  return reframe(liveLikeText("json", host as "docker0" | "docker1"), (o) => o.replace(/192\.168\.122\.10\b/g, "10.99.0.1").replace(/192\.168\.122\.11\b/g, "10.99.0.2"));
}

const isTrafficScript = (script: string): boolean => script.includes("# swarmlab: traffic probe PATH-1..PATH-4");

interface Call {
  host: string;
  kind: "gather" | "traffic";
  script: string;
  signal?: AbortSignal;
}

/** A transport that answers the gather script with the fixture and the traffic script with `traffic`. */
function fakeTransport(
  traffic: ((script: string, onStdout: (c: string) => void, opts?: RunOptions) => Promise<RunResult>) | "refused",
  gatherFails: string[] = [],
): Transport & { sessions: number; calls: Call[] } {
  return {
    sessions: 0,
    calls: [],
    async run(host: InventoryHost, script: string, onStdout: (c: string) => void, onConnected: () => void, opts?: RunOptions): Promise<RunResult> {
      const kind = isTrafficScript(script) ? "traffic" : "gather";
      this.calls.push({ host: host.name, kind, script, ...(opts?.signal ? { signal: opts.signal } : {}) });
      if (kind === "gather") {
        if (gatherFails.includes(host.name)) throw new Error(`connect ECONNREFUSED ${host.address}:22`);
        this.sessions++;
        onConnected();
        const out = emuGatherOutput(host.name);
        onStdout(out);
        return { stdout: out, stderr: "", code: 0 };
      }
      if (traffic === "refused") throw new Error(`connect ECONNREFUSED ${host.address}:22`);
      this.sessions++;
      onConnected();
      return traffic(script, onStdout, opts);
    },
  };
}

const replying = (text: string) => async (_script: string, onStdout: (c: string) => void): Promise<RunResult> => {
  onStdout(text);
  return { stdout: text, stderr: "", code: 0 };
};

function outcomesOf(results: { id: string; outcome: string }[]): Record<string, string> {
  return Object.fromEntries(results.filter((r) => r.id.startsWith("PATH-")).map((r) => [r.id, r.outcome]));
}

describe("helpers", () => {
  it("wantsTraffic: all facts, or an --only list with a PATH fact", () => {
    expect(wantsTraffic(undefined)).toBe(true);
    expect(wantsTraffic([])).toBe(true);
    expect(wantsTraffic(["SB-1"])).toBe(false);
    expect(wantsTraffic(["SB-1", "PATH-3"])).toBe(true);
  });
  it("the traffic host is the manager", () => {
    const inv = emuInventory();
    expect(trafficHost(inv).name).toBe("docker0");
    expect(trafficHost({ ...inv, hosts: [...inv.hosts].reverse() }).name).toBe("docker0");
  });
});

describe("runVerify runs the traffic checks after the gather", () => {
  it("a working lab: PATH-1..4 pass, one extra session on docker0, the plan comes from the model", async () => {
    const t = fakeTransport(replying(recorded("ok.txt")));
    const phases: string[] = [];
    const run = await runVerify({ labs: labNamed, inventory: emuInventory(), transport: t, format: "text", onProgress: (e) => e.phase === "traffic" && phases.push(`${e.host}: ${e.message}`) });
    expect(outcomesOf(run.results)).toEqual({ "PATH-1": "pass", "PATH-2": "pass", "PATH-3": "pass", "PATH-4": "pass" });
    // two gather sessions + one traffic session, counted
    expect(t.calls.map((c) => `${c.host}:${c.kind}`).sort()).toEqual(["docker0:gather", "docker0:traffic", "docker1:gather"]);
    expect(run.sshSessions).toBe(3);
    expect(run.report.sshSessions).toBe(3);
    // the script is built from the gathered model: docker0's task container and namespaces, docker1's task address, the underlay NIC
    const traffic = t.calls.find((c) => c.kind === "traffic")!;
    expect(traffic.script).toBe(
      buildTrafficScript({
        service: "demoservice",
        overlay: "demonet",
        overlaySubnet: "192.168.200.0/24",
        overlayGateway: "192.168.200.1",
        labCidr: "10.99.0.0/24",
        pathTarget: "10.99.0.2",
        localAddress: "10.99.0.1",
        peerAddress: "10.99.0.2",
        vni: 4097,
        container: "3f9a2c7d1e5b8a4f6c0d2e9b7a1c3f5e8d0b2a4c6e8f1a3b5d7c9e2f4a6b8c0d",
        // what the gather already knows, so the script need not ask docker again
        sandbox: "5e0c1a7f3b2d",
        overlayNamespace: "1-k3b7x2n9q4",
        vxlanIdList: "4097",
        peerTaskAddress: "192.168.200.4",
        underlayNic: "enp1s0",
      }),
    );
    expect(traffic.signal).toBeInstanceOf(AbortSignal);
    expect(traffic.signal!.aborted).toBe(false);
    // findings, details and timings reach the report
    const p4 = run.results.find((r) => r.id === "PATH-4")!;
    expect(p4.observed).toMatch(/8 UDP\/4789 between 10\.99\.0\.1 and 10\.99\.0\.2 \(VNI 4097 x8\); inner 192\.168\.200\.3 -> 192\.168\.200\.4: 3 echo requests, 3 echo replies/);
    expect(p4.details).toHaveLength(8);
    expect(run.results.find((r) => r.id === "PATH-2")!.explanation).toMatch(/8\.8\.8\.8/);
    expect(run.timings.trafficSeconds).toBeGreaterThanOrEqual(0);
    expect(run.timings.trafficSeconds).toBeLessThan(40);
    expect(run.rendered).toMatch(/over 3 SSH sessions/);
    expect(run.rendered).toMatch(/^PATH-4 +PASS /m);
    expect(phases[0]).toMatch(/^docker0: running the traffic checks PATH-1\.\.4 \(one session, at most 35s\)$/);
    expect(phases[1]).toMatch(/^docker0: traffic checks done in \d+\.\ds: PATH-1 pass, PATH-2 pass, PATH-3 pass, PATH-4 pass$/);
  });

  it("a path cut on the far side fails PATH-3 and PATH-4, and the run", async () => {
    const run = await runVerify({ labs: labNamed, inventory: emuInventory(), transport: fakeTransport(replying(recorded("cut-remote.txt"))), only: [...PATHS] });
    expect(outcomesOf(run.results)).toEqual({ "PATH-1": "pass", "PATH-2": "pass", "PATH-3": "fail", "PATH-4": "fail" });
    expect(run.exitCode).toBe(1);
    const p3 = run.results.find((r) => r.id === "PATH-3")!;
    expect(p3.observed).toMatch(/^0\/3 replies.*No reply: the overlay path is cut$/);
    expect(run.results.find((r) => r.id === "PATH-4")!.observed).toMatch(/None of them carried the tasks' ICMP/);
  });

  it("a path cut on this side fails PATH-3 and PATH-4 (nothing on the underlay)", async () => {
    const run = await runVerify({ labs: labNamed, inventory: emuInventory(), transport: fakeTransport(replying(recorded("cut-local.txt"))), only: ["PATH-3", "PATH-4"], format: "junit" });
    expect(run.results.map((r) => [r.id, r.outcome])).toEqual([
      ["PATH-3", "fail"],
      ["PATH-4", "fail"],
    ]);
    expect(run.results[1]!.observed).toMatch(/^0 packets captured on ul0, 0 UDP\/4789 .*No VXLAN packets between the hosts/);
    expect(run.rendered).toMatch(/<testcase classname="swarmlab\.path" name="PATH-4 [^"]*"[^>]*>\n\s*<failure type="fact-differs"/);
  });

  it("traffic: false skips them with the reason and opens no traffic session", async () => {
    const t = fakeTransport(replying(recorded("ok.txt")));
    const run = await runVerify({ labs: labNamed, inventory: emuInventory(), transport: t, traffic: false, format: "text" });
    expect(t.calls.some((c) => c.kind === "traffic")).toBe(false);
    expect(run.sshSessions).toBe(2);
    expect(run.timings.trafficSeconds).toBeUndefined();
    for (const id of PATHS) {
      const r = run.results.find((x) => x.id === id)!;
      expect(r.outcome).toBe("skip");
      expect(r.explanation).toBe("traffic checks disabled (--no-traffic)");
    }
    expect(TRAFFIC_DISABLED).toBe("traffic checks disabled (--no-traffic)");
    expect(run.rendered).toMatch(/^PATH-3 +SKIP .*\n {20}skipped: traffic checks disabled \(--no-traffic\)$/m);
    expect(run.exitCode).toBe(0);
  });

  it("--only without a PATH fact opens no traffic session; with one, the traffic runs", async () => {
    const t = fakeTransport(replying(recorded("ok.txt")));
    const run = await runVerify({ labs: labNamed, inventory: emuInventory(), transport: t, only: ["SB-1"] });
    expect(t.calls.map((c) => c.kind)).toEqual(["gather", "gather"]);
    expect(run.sshSessions).toBe(2);
    expect(run.results.map((r) => r.id)).toEqual(["SB-1"]);
    expect(run.timings.trafficSeconds).toBeUndefined();

    const t2 = fakeTransport(replying(recorded("ok.txt")));
    const run2 = await runVerify({ labs: labNamed, inventory: emuInventory(), transport: t2, only: ["SB-1", "PATH-1"] });
    expect(t2.calls.filter((c) => c.kind === "traffic").map((c) => c.host)).toEqual(["docker0"]);
    expect(run2.results.map((r) => [r.id, r.outcome])).toEqual([
      ["SB-1", "pass"],
      ["PATH-1", "pass"],
    ]);
    expect(run2.sshSessions).toBe(3);
  });

  it("a traffic session that cannot be opened leaves PATH-1..4 unchecked with the cause, and the run exits 3", async () => {
    const t = fakeTransport("refused");
    const run = await runVerify({ labs: labNamed, inventory: emuInventory(), transport: t, format: "text" });
    for (const id of PATHS) {
      const r = run.results.find((x) => x.id === id)!;
      expect(r.outcome).toBe("unchecked");
      expect(r.observed).toBe("the traffic script could not be run: connect ECONNREFUSED 10.99.0.1:22");
      expect(r.explanation).toMatch(/^the traffic script could not be run: connect ECONNREFUSED 10\.99\.0\.1:22/);
    }
    expect(run.sshSessions).toBe(2);
    expect(run.exitCode).toBe(3);
    expect(run.rendered).toMatch(/^PATH-1 +UNCHECKED .*\n {20}could not check: the traffic script could not be run: connect ECONNREFUSED/m);
  });

  it("is bounded in time: a hanging session is aborted and what arrived is judged", async () => {
    const ok = recorded("ok.txt");
    const partial = ok.slice(0, ok.indexOf("@@swarmlab:begin nic")); // PATH-1 and PATH-2 done, then it hangs
    let seen: AbortSignal | undefined;
    const t = fakeTransport(async (_script, onStdout, opts) => {
      seen = opts?.signal;
      onStdout(partial);
      return new Promise<RunResult>(() => undefined); // never returns, ignores the signal
    });
    const t0 = Date.now();
    const run = await runVerify({ labs: labNamed, inventory: emuInventory(), transport: t, only: [...PATHS], trafficTimeoutMs: 300 });
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(seen?.aborted).toBe(true);
    expect(outcomesOf(run.results)).toEqual({ "PATH-1": "pass", "PATH-2": "pass", "PATH-3": "fail", "PATH-4": "fail" });
    const p3 = run.results.find((r) => r.id === "PATH-3")!;
    expect(p3.observed).toMatch(/step p3\.ping is missing \(the script's output was cut off\).*\(the traffic session was cut short: the traffic checks did not finish within 0\.3s\)$/);
    expect(run.timings.trafficSeconds).toBeLessThan(5);
  });

  it("a session that honours the abort and returns nothing leaves PATH-1..4 unchecked", async () => {
    const t = fakeTransport(
      (_s, _o, opts) =>
        new Promise<RunResult>((_, reject) => {
          opts?.signal?.addEventListener("abort", () => reject(opts.signal!.reason as Error));
        }),
    );
    const run = await runVerify({ labs: labNamed, inventory: emuInventory(), transport: t, only: ["PATH-1"], trafficTimeoutMs: 200 });
    expect(run.results[0]).toMatchObject({ id: "PATH-1", outcome: "unchecked", observed: "the traffic script could not be run: the traffic checks did not finish within 0.2s" });
  });

  it("no traffic session when the manager could not be gathered", async () => {
    const t = fakeTransport(replying(recorded("ok.txt")), ["docker0"]);
    const run = await runVerify({ labs: labNamed, inventory: emuInventory(), transport: t });
    expect(t.calls.some((c) => c.kind === "traffic")).toBe(false);
    expect(run.sshSessions).toBe(1);
    for (const id of PATHS) {
      const r = run.results.find((x) => x.id === id)!;
      expect(r.outcome).toBe("unchecked");
      expect(r.explanation).toBe("docker0: connection refused on port 22");
    }
  });

  it("--save-raw keeps the findings and the script's output; --replay reuses them without sending traffic", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swl-traffic-"));
    try {
      const inventory = emuInventory();
      const live = await runVerify({ labs: labNamed, inventory, transport: fakeTransport(replying(recorded("cut-remote.txt"))), saveRawDir: dir });
      expect(fs.readdirSync(dir).sort()).toEqual(["docker0.txt", "docker1.txt", "traffic-docker0.txt", "traffic-plan.json", "traffic.json"]);
      expect(fs.readFileSync(path.join(dir, "traffic-docker0.txt"), "utf8")).toBe(recorded("cut-remote.txt"));
      expect(JSON.parse(fs.readFileSync(path.join(dir, "traffic-plan.json"), "utf8"))).toMatchObject({ localAddress: "10.99.0.1", peerTaskAddress: "192.168.200.4" });
      // traffic.json holds the verdicts the checks gave from the probe's evidence, as reported.
      const saved = JSON.parse(fs.readFileSync(path.join(dir, "traffic.json"), "utf8")) as Record<string, { outcome: string; expected: string; observed: string }>;
      expect(Object.keys(saved)).toEqual([...PATHS]);
      for (const r of live.results.filter((x) => (PATHS as readonly string[]).includes(x.id))) expect(saved[r.id]).toMatchObject({ outcome: r.outcome, expected: r.expected, observed: r.observed });
      const replayed = await runVerify({ labs: labNamed, inventory, replayDir: dir });
      expect(replayed.sshSessions).toBe(0);
      expect(outcomesOf(replayed.results)).toEqual(outcomesOf(live.results));
      expect(outcomesOf(replayed.results)).toEqual({ "PATH-1": "pass", "PATH-2": "pass", "PATH-3": "fail", "PATH-4": "fail" });
      // --no-traffic wins over a replay's traffic.json
      const off = await runVerify({ labs: labNamed, inventory, replayDir: dir, traffic: false });
      expect(outcomesOf(off.results)).toEqual({ "PATH-1": "skip", "PATH-2": "skip", "PATH-3": "skip", "PATH-4": "skip" });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a replay without traffic.json says why the PATH facts could not be checked", async () => {
    const run = await runVerify({ labs: labNamed, inventoryFile: path.join(FIXTURES, "live-like", "inventory.json"), replayDir: path.join(FIXTURES, "live-like", "json") });
    for (const id of PATHS) {
      const r = run.results.find((x) => x.id === id)!;
      expect(r.outcome).toBe("unchecked");
      expect(r.explanation).toMatch(/^the traffic checks were not recorded: .*live-like\/json has no traffic\.json$/);
    }
    expect(run.exitCode).toBe(3);
  });

  it("evidence handed in as an object is judged by the checks like the probe's own (no session)", async () => {
    const t = fakeTransport(replying(recorded("ok.txt")));
    const plan = JSON.parse(fs.readFileSync(path.join(PLUMBING, "plan-emu.json"), "utf8")) as TrafficPlan;
    const okRun = parseTrafficOutput(recorded("ok.txt"));
    const evidence: TrafficObservations = { kind: "ran", plan, run: okRun, parsed: parseSteps(okRun, plan) };
    const run = await runVerify({ labs: labNamed, inventory: emuInventory(), transport: t, only: ["PATH-2"], traffic: { evidence } });
    expect(t.calls.some((c) => c.kind === "traffic")).toBe(false);
    const judged = judgeTraffic(evidence.run, plan)["PATH-2"];
    expect(run.results[0]).toMatchObject({ id: "PATH-2", outcome: "pass", expected: judged.expected, observed: judged.observed });
    // eth0's transmit counter after PATH-2 moved by 5 more: the echo requests left through eth0
    const cutRun = parseTrafficOutput(recorded("ok.txt").replace(/(@@swarmlab:begin p2\.after\n[\s\S]*?eth0:\s+\d+\s+\d+(?:\s+\d+){6}\s+\d+\s+)(\d+)/, (_m, pre: string, tx: string) => `${pre}${Number(tx) + 5}`));
    const failed = await runVerify({ labs: labNamed, inventory: emuInventory(), transport: t, only: ["PATH-2"], traffic: { evidence: { ...evidence, run: cutRun, parsed: parseSteps(cutRun, plan) } } });
    expect(failed.results[0]).toMatchObject({ id: "PATH-2", outcome: "fail" });
    expect(failed.results[0]!.observed).toMatch(/The echo requests did not leave through eth1$/);
  });
});

describe("the verify CLI", () => {
  const io = captureCliIo("swl-cli-");
  const INVENTORY = path.join(FIXTURES, "live-like", "inventory.json");
  const REPLAY = path.join(FIXTURES, "live-like", "json");

  it("--no-traffic and --format html are accepted", () => {
    expect(parseArgs(["--no-traffic"]).options.traffic).toBe(false);
    expect(parseArgs([]).options.traffic).toBeUndefined();
    expect(parseArgs(["--format", "html"]).options.format).toBe("html");
  });

  it("--no-traffic reports PATH-1..4 as skipped with the reason", async () => {
    expect(await main(["--inventory", INVENTORY, "--replay", REPLAY, "--no-traffic"])).toBe(0);
    expect(io.out).toMatch(/^PATH-1 +SKIP .*\n {20}skipped: traffic checks disabled \(--no-traffic\)$/m);
    expect(io.out.match(/skipped: traffic checks disabled \(--no-traffic\)/g)).toHaveLength(4);
  });

  it("--format html --output writes one self-contained page with every fact and the diagram", async () => {
    const file = path.join(io.dir, "report", "verify.html");
    // live-like has no traffic.json: PATH-1..4 could not be checked, nothing failed
    expect(await main(["--inventory", INVENTORY, "--replay", REPLAY, "--format", "html", "--output", file])).toBe(3);
    expect(io.out).toBe("");
    expect(io.err).toMatch(/report in .*verify\.html/);
    const html = fs.readFileSync(file, "utf8");
    expect(html).toMatch(/^<!DOCTYPE html>/);
    for (const id of FACT_IDS) expect(html, id).toContain(`id="fact-${id}"`);
    expect(html.match(/<svg\b/g)).toHaveLength(1);
    expect(html).toContain('id="ns.docker0.host"');
    expect(html).toContain('id="ns.docker1.9b41d6e2c07a"');
    expect(html).not.toMatch(/<script\b|<link\b|\ssrc=/);
    expect(html.replace(/\sxmlns(:\w+)?="[^"]*"/g, "")).not.toMatch(/https?:/);
  });
});

describe("runVerify --format html", () => {
  it("draws the gathered model and shows the traffic findings with their details", async () => {
    const run = await runVerify({ labs: labNamed, inventory: emuInventory(), transport: fakeTransport(replying(recorded("ok.txt"))), format: "html" });
    const html = run.rendered!;
    for (const id of FACT_IDS) expect(html, id).toContain(`id="fact-${id}"`);
    expect(html.match(/<svg\b/g)).toHaveLength(1);
    for (const h of run.model.hosts) for (const ns of h.namespaces) expect(html, `${h.name}/${ns.id}`).toContain(`id="ns.${h.name}.${ns.id}"`);
    expect(html).toMatch(/<tr class="pass" id="fact-PATH-4">[\s\S]*?<summary>8 details<\/summary>/);
    expect(html).toContain("<dt>gathered</dt><dd>");
    expect(html).toMatch(/over 3 SSH sessions; traffic checks \d+\.\ds<\/dd>/);
  });
});

describe("SshTransport honours an abort signal", () => {
  // The key file does not exist, so node-ssh gives up before opening any connection: no packet is sent.
  const host: InventoryHost = { name: "docker0", hostname: "docker0.local", address: "192.0.2.10", role: "manager" };
  const transport = () => new SshTransport({ user: "root", sshKeyFile: "/nonexistent/swarmlab-test/id_ed25519", sessionTimeoutMs: 1000, scriptName: "the traffic script" });
  it("rejects with the abort reason, having opened no session", async () => {
    const t = transport();
    const c = new AbortController();
    c.abort(new Error("the traffic checks did not finish within 35s"));
    await expect(t.run(host, "true", () => undefined, () => undefined, { signal: c.signal })).rejects.toThrow("the traffic checks did not finish within 35s");
    expect(t.sessions).toBe(0);
  });
  it("without an abort, fails as before", async () => {
    const t = transport();
    await expect(t.run(host, "true", () => undefined, () => undefined, { signal: new AbortController().signal })).rejects.toThrow(/privateKeyPath does not exist/);
    expect(t.sessions).toBe(0);
  });
});
