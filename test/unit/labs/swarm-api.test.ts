/**
 * The swarm-overlay workload and reset readiness check asking the Docker engine's API
 * (labs/swarm-api.py after scripts/lib/docker-api.py): a stand-in engine on a unix socket that
 * answers /nodes, /tasks, /services, /networks and /containers as Docker 20.10 does, changing its
 * answers as polls go by; a fake docker CLI that records what the scripts still run with it.
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { readyScript, workloadScript } from "../../../labs/swarm-overlay/workload";
import { WORKLOAD_ARGS } from "../lab-values";

const has = (cmd: string, ...args: string[]): boolean => spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
const pyenv = path.join(process.env["PYENV_ROOT"] ?? path.join(os.homedir(), ".pyenv"), "versions");
// Python 2.7, as CentOS 7 has it, where this machine offers one (pyenv): its binary itself (a
// pyenv shim would pick its Python by the name it is called with).
const PY27 = [...(fs.existsSync(pyenv) ? fs.readdirSync(pyenv).filter((v) => v.startsWith("2.7.")).map((v) => path.join(pyenv, v, "bin", "python2.7")) : []), "/usr/bin/python2.7"].find((p) =>
  has(p, "-c", "import sys; assert sys.version_info[:2] == (2, 7)"),
);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-swarm-api-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const NODES = [
  { ID: "n0", Description: { Hostname: "docker0.local" } },
  { ID: "n1", Description: { Hostname: "docker1.local" } },
];
const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString().replace("Z", "123456Z");
const task = (slot: number, node: string, state: string, address: string) => ({
  ID: `t${slot}`,
  Slot: slot,
  NodeID: node,
  DesiredState: "running",
  CreatedAt: ago(40),
  Status: { State: state, Timestamp: ago(3 * slot) },
  NetworksAttachments: [
    { Network: { Spec: { Name: "ingress" } }, Addresses: ["10.255.0.9/16"] },
    { Network: { Spec: { Name: "demonet" } }, Addresses: [address] },
  ],
});

/** What the stand-in engine answers at the nth poll of /nodes or /tasks (from 1). */
interface Script {
  nodeStates?: (n: number) => [string, string];
  tasks?: (n: number) => unknown[];
  /** Answer 503 (not a manager yet) to the first polls. */
  unavailable?: number;
  /** What is there before the workload: labelled objects (with their lab) and this lab's own. */
  labelled?: { services?: [string, string][]; containers?: [string, string][]; networks?: [string, string][] };
  demonet?: string;
  demoservice?: string;
}

class FakeEngine {
  server?: http.Server;
  requests: string[] = [];
  private polls = { nodes: 0, tasks: 0 };
  constructor(
    readonly socket: string,
    readonly script: Script,
  ) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const url = req.url ?? "";
      this.requests.push(url);
      const json = (status: number, value: unknown) => {
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify(value));
      };
      const p = url.split("?")[0]!;
      if (p === "/nodes" || p === "/tasks") {
        const n = ++this.polls[p === "/nodes" ? "nodes" : "tasks"];
        if (n <= (this.script.unavailable ?? 0)) return json(503, { message: "This node is not a swarm manager." });
        if (p === "/nodes") {
          const states = this.script.nodeStates?.(n) ?? ["ready", "ready"];
          return json(200, NODES.map((node, i) => ({ ...node, Status: { State: states[i] } })));
        }
        const filters = JSON.parse(new URL(url, "http://d").searchParams.get("filters") ?? "{}");
        expect(filters).toEqual({ service: ["demoservice"], "desired-state": ["running"] });
        return json(200, this.script.tasks?.(n) ?? [task(1, "n0", "running", "192.168.200.3/24"), task(2, "n1", "running", "192.168.200.4/24")]);
      }
      const filters = JSON.parse(new URL(url, "http://d").searchParams.get("filters") ?? "{}");
      const labelled = (kind: "services" | "containers" | "networks") => {
        expect(filters).toEqual({ label: ["swarmlab.lab"] });
        return (this.script.labelled?.[kind] ?? []).map(([id, lab]) =>
          kind === "services" ? { ID: id, Spec: { Labels: { "swarmlab.lab": lab } } } : kind === "containers" ? { Id: id, Labels: { "swarmlab.lab": lab } } : { Id: id, Labels: { "swarmlab.lab": lab } },
        );
      };
      if (p === "/services") return json(200, labelled("services"));
      if (p === "/networks") return json(200, labelled("networks"));
      if (p === "/containers/json" && filters.label?.[0] === "swarmlab.lab") {
        expect(new URL(url, "http://d").searchParams.get("all")).toBe("1");
        return json(200, labelled("containers"));
      }
      if (p === "/networks/demonet")
        return this.script.demonet ? json(200, { Name: "demonet", IPAM: { Config: [{ Subnet: this.script.demonet }] } }) : json(404, { message: "network demonet not found" });
      if (p === "/services/demoservice")
        return this.script.demoservice
          ? json(200, { ID: "s1", Spec: { Name: "demoservice", TaskTemplate: { ContainerSpec: { Image: this.script.demoservice } } } })
          : json(404, { message: "service demoservice not found" });
      if (p === "/containers/json") return json(200, [{ Id: "c0ffee" }]);
      if (p === "/containers/c0ffee/json")
        return json(200, { NetworkSettings: { SandboxKey: "/var/run/docker/netns/abc123", Networks: { demonet: { IPAddress: "192.168.200.3" } } } });
      return json(404, { message: `page not found: ${p}` });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.socket, resolve));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

let engine: FakeEngine | undefined;
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
});

/** A bin directory: a docker CLI that records its calls (answering from `answers`), ping and nsenter that record theirs. */
function fakeBin(answers: Record<string, string> = {}, python?: string): { dir: string; calls: (tool: string) => string[] } {
  const dir = fs.mkdtempSync(path.join(tmp, "bin-"));
  fs.writeFileSync(path.join(dir, "answers.json"), JSON.stringify(answers));
  fs.writeFileSync(
    path.join(dir, "docker"),
    `#!/usr/bin/env node
const fs = require("fs"); const a = process.argv.slice(2).join(" ");
fs.appendFileSync(${JSON.stringify(path.join(dir, "docker.calls"))}, a + "\\n");
const s = JSON.parse(fs.readFileSync(${JSON.stringify(path.join(dir, "answers.json"))}, "utf8"));
for (const [k, v] of Object.entries(s)) { if (a.startsWith(k)) { if (v === "FAIL") process.exit(1); process.stdout.write(v); process.exit(0); } }
`,
    { mode: 0o755 },
  );
  for (const tool of ["ping", "nsenter"]) fs.writeFileSync(path.join(dir, tool), `#!/bin/sh\necho "$*" >>${dir}/${tool}.calls\n`, { mode: 0o755 });
  // Python 2.7 first on PATH, as CentOS 7 has it (its python3 does not exist there).
  if (python) fs.symlinkSync(python, path.join(dir, "python3"));
  const calls = (tool: string) => {
    const f = path.join(dir, `${tool}.calls`);
    return fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim().split("\n") : [];
  };
  return { dir, calls };
}

function run(script: string, bin: string): Promise<{ status: number | null; stdout: string; stderr: string; seconds: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn("bash", ["-c", script], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (status) => resolve({ status, stdout, stderr, seconds: (Date.now() - t0) / 1000 }));
  });
}

async function withEngine(script: Script): Promise<string> {
  const socket = path.join(fs.mkdtempSync(path.join(tmp, "engine-")), "docker.sock");
  engine = new FakeEngine(socket, script);
  await engine.start();
  return socket;
}

const args = (socket: string, timeoutSec = 20) => ({ ...WORKLOAD_ARGS, dockerSocket: socket, timeoutSec });

describe("the swarm wait through the engine's API", () => {
  for (const [name, python] of [["python3", undefined], ["Python 2.7", PY27]] as const) {
    it.skipIf(name !== "python3" && !python)(`reset's readiness check: one ${name} process waits, the overlay ping uses what it read, the docker CLI is not run`, async () => {
      const socket = await withEngine({
        nodeStates: (n) => (n < 3 ? ["ready", "down"] : ["ready", "ready"]),
        tasks: (n) => [task(1, "n0", "running", "192.168.200.3/24"), task(2, "n1", n < 2 ? "starting" : "running", "192.168.200.4/24")],
      });
      const bin = fakeBin({}, python);
      if (python) expect(spawnSync(path.join(bin.dir, "python3"), ["-c", "import sys; print(sys.version_info[0])"], { encoding: "utf8" }).stdout.trim()).toBe("2");
      const r = await run(readyScript(args(socket)), bin.dir);
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(r.stdout).toMatch(
        /^nodes Ready after \d+s\none task per node running after \d+s\noverlay: 192\.168\.200\.4 answers\noverlay checked after \d+s\ndemoservice\.1 docker0\.local Running 3 seconds ago\ndemoservice\.2 docker1\.local Running 6 seconds ago\n$/,
      );
      expect(bin.calls("docker")).toEqual([]);
      expect(bin.calls("nsenter")).toEqual(["--net=/var/run/docker/netns/abc123 ping -n -c 1 -W 1 192.168.200.4"]);
      // Polled until docker1 was Ready (third answer), then until its task ran (second answer); the
      // listing names the nodes from the last poll, without asking again.
      expect(engine!.requests.filter((u) => u === "/nodes")).toHaveLength(3);
      expect(engine!.requests.filter((u) => u.startsWith("/tasks"))).toHaveLength(2);
    });
  }

  it("times out naming the node that is not Ready, after diagnosing with the CLI", async () => {
    const socket = await withEngine({ nodeStates: () => ["ready", "down"] });
    const bin = fakeBin();
    const r = await run(readyScript(args(socket, 2)), bin.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("swarmlab: node(s) docker1.local not Ready after 2s");
    expect(bin.calls("docker")).toEqual(["node ls", "service ps --no-trunc demoservice"]);
    expect(r.seconds).toBeLessThan(10);
  });

  it("times out when both tasks run on one node", async () => {
    const socket = await withEngine({ tasks: () => [task(1, "n0", "running", "192.168.200.3/24"), task(2, "n0", "running", "192.168.200.4/24")] });
    const r = await run(readyScript(args(socket, 2)), fakeBin().dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("swarmlab: service demoservice does not have 2 running tasks spread over the nodes after 2s");
  });

  it("takes an engine that is not a manager yet for one still starting, and says what it answered when that lasts", async () => {
    const socket = await withEngine({ unavailable: 2 });
    const r = await run(readyScript(args(socket)), fakeBin().dir);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    await engine!.stop();
    const stuck = await withEngine({ unavailable: 1000 });
    const r2 = await run(readyScript(args(stuck, 2)), fakeBin().dir);
    expect(r2.status).toBe(1);
    expect(r2.stderr).toContain("not Ready after 2s (the engine: Error response from daemon: This node is not a swarm manager.)");
  });

  it("the workload of a first up looks and waits through the API, and runs the docker CLI only to create", async () => {
    const socket = await withEngine({});
    const bin = fakeBin({ "network inspect demonet --format {{index": "4097" });
    const r = await run(workloadScript(args(socket)), bin.dir);
    expect(r.stderr).not.toContain("swarmlab:");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/overlay: 192\.168\.200\.4 answers\ndemoservice\.1 docker0\.local Running 3 seconds ago\ndemoservice\.2 docker1\.local Running 6 seconds ago\n$/);
    expect(bin.calls("docker").map((c) => c.split(" --")[0])).toEqual(["network create -d overlay", "network inspect demonet", "service create"]);
  });

  it("the workload of a lab already up: the look finds demonet and demoservice, the CLI path checks the spread of a service that was there", async () => {
    const socket = await withEngine({ demonet: "192.168.200.0/24", demoservice: "alpine:latest@sha256:0123" });
    const bin = fakeBin({
      "node ls --format": "docker0.local Ready\ndocker1.local Ready\n",
      "service ps demoservice --filter desired-state=running --format {{.Node}}": "docker0.local Running 3 seconds ago\ndocker1.local Running 2 seconds ago\n",
    });
    const r = await run(workloadScript(args(socket)), bin.dir);
    expect(r.status).toBe(0);
    const calls = bin.calls("docker");
    expect(calls.filter((c) => /^(network|service) (create|update|inspect|ls)|^ps -a/.test(c))).toEqual([]);
    expect(calls).toContain("node ls --format {{.Hostname}} {{.Status}}");
  });

  it("the workload refuses, through the look, a demonet with another subnet", async () => {
    const socket = await withEngine({ demonet: "10.9.0.0/24" });
    const bin = fakeBin();
    const r = await run(workloadScript(args(socket)), bin.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("network demonet exists with subnet 10.9.0.0/24, the lab needs 192.168.200.0/24");
    expect(bin.calls("docker")).toEqual([]);
  });

  it("the look names what another lab left; after removing it the workload asks the CLI whether demonet and demoservice exist", async () => {
    const socket = await withEngine({
      labelled: { services: [["svcother", "routing-mesh"], ["svcmine", "swarm-overlay"]], containers: [["ctother", "bridge"]], networks: [["netother", "routing-mesh"], ["netmine", "swarm-overlay"]] },
    });
    const bin = fakeBin({ "network inspect demonet --format {{index": "4097", "network inspect": "FAIL", "service inspect --format {{range": "", "service inspect": "FAIL" });
    const r = await run(workloadScript(args(socket)), bin.dir);
    expect(r.stderr).toContain("removing another lab's part: services [svcother ] containers [ctother ] networks [netother ]");
    expect(r.status).toBe(0);
    const calls = bin.calls("docker");
    expect(calls).toContain("service rm svcother");
    expect(calls).toContain("rm -f ctother");
    expect(calls).toContain("network rm netother");
    expect(calls.filter((c) => /^(service ls|ps -a|network ls)/.test(c))).toEqual([]);
    expect(calls).toContain("network inspect demonet");
    expect(calls).toContain("service inspect demoservice");
  });

  it("a host without Python or without the engine's socket waits with the CLI", async () => {
    const bin = fakeBin({
      "node ls --format": "docker0.local Ready\ndocker1.local Ready\n",
      "service ps demoservice --filter desired-state=running --format {{.Node}}": "docker0.local Running 3 seconds ago\ndocker1.local Running 2 seconds ago\n",
    });
    const r = await run(readyScript(args(path.join(tmp, "no-engine.sock"))), bin.dir);
    expect(r.status).toBe(0);
    expect(bin.calls("docker")[0]).toBe("node ls --format {{.Hostname}} {{.Status}}");
  });
});
