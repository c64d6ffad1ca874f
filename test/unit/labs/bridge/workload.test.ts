import { type ChildProcess, spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BridgeNames, DOCUMENTED_NAMES } from "../../../../labs/bridge/facts";
import { containerSpecs, specDigest, workloadScript } from "../../../../labs/bridge/workload";
import type { WorkloadArgs } from "../../../../labs/lab";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-bridge-wl-"));
const IMAGE = "swarmlab/busybox-static:local";
const ARGS: WorkloadArgs = { image: IMAGE, pull: false, nodes: ["docker0.local", "docker1.local"], timeoutSec: 20 };

interface FakeContainer {
  running: boolean;
  lab: string;
  spec: string;
}
interface FakeState {
  network?: { driver: string; lab: string };
  containers: Record<string, FakeContainer>;
}

/**
 * A fake docker keeping the lab's state in files (one per container, so that the workload's
 * concurrent `docker run`s do not race): network inspect/create, container inspect (the
 * workload's two formats), run, rm -f, exec (c2 pings c1), ps; every call logged.
 */
function fakeDocker(state: FakeState): { dir: string; calls: () => string[]; state: () => FakeState } {
  const dir = fs.mkdtempSync(path.join(tmp, "bin-"));
  const log = path.join(dir, "calls");
  const cdir = path.join(dir, "containers");
  const nfile = path.join(dir, "network.json");
  fs.mkdirSync(cdir);
  if (state.network) fs.writeFileSync(nfile, JSON.stringify(state.network));
  for (const [n, c] of Object.entries(state.containers)) fs.writeFileSync(path.join(cdir, n), JSON.stringify(c));
  fs.writeFileSync(log, "");
  fs.writeFileSync(
    path.join(dir, "docker"),
    `#!/usr/bin/env node
const fs = require("fs");
const path = require("path");
const argv = process.argv.slice(2);
const a = argv.join(" ");
fs.appendFileSync(${JSON.stringify(log)}, a + "\\n");
const cdir = ${JSON.stringify(cdir)};
const nfile = ${JSON.stringify(nfile)};
const getC = (n) => (fs.existsSync(path.join(cdir, n)) ? JSON.parse(fs.readFileSync(path.join(cdir, n), "utf8")) : undefined);
const opt = (name) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const labels = () => argv.flatMap((x, i) => (x === "--label" ? [argv[i + 1]] : []));
if (/^(service ls|ps -a -q|network ls) /.test(a)) process.exit(0);
if (argv[0] === "network" && argv[1] === "inspect") {
  if (!fs.existsSync(nfile)) { process.stderr.write("Error: No such network\\n"); process.exit(1); }
  const n = JSON.parse(fs.readFileSync(nfile, "utf8"));
  process.stdout.write(n.driver + " " + n.lab + "\\n"); process.exit(0);
}
if (argv[0] === "network" && argv[1] === "create") {
  const lab = (labels().find((l) => l.startsWith("swarmlab.lab=")) || "").split("=")[1] || "";
  fs.writeFileSync(nfile, JSON.stringify({ driver: opt("-d"), lab })); process.exit(0);
}
if (argv[0] === "image" && argv[1] === "inspect") process.exit(0);
if (argv[0] === "inspect") {
  const fmt = opt("--format");
  const names = argv.slice(argv.indexOf("--format") + 2);
  let rc = 0;
  for (const n of names) {
    const c = getC(n);
    if (!c) { rc = 1; process.stderr.write("Error: No such container: " + n + "\\n"); continue; }
    if (fmt.startsWith("{{.Name}}")) process.stdout.write("/" + n + " " + c.running + " " + c.lab + " " + c.spec + "\\n");
    else process.stdout.write(c.running + "\\n");
  }
  process.exit(rc);
}
if (argv[0] === "rm") { for (const n of argv.slice(2)) fs.rmSync(path.join(cdir, n), { force: true }); process.exit(0); }
if (argv[0] === "run") {
  const n = opt("--name");
  if (getC(n)) { process.stderr.write("Conflict. The container name is already in use\\n"); process.exit(125); }
  const ls = labels();
  const get = (k) => (ls.find((l) => l.startsWith(k + "=")) || "").slice(k.length + 1);
  fs.writeFileSync(path.join(cdir, n), JSON.stringify({ running: true, lab: get("swarmlab.lab"), spec: get("swarmlab.bridge.spec") }));
  process.stdout.write("0123456789ab\\n"); process.exit(0);
}
if (argv[0] === "exec") process.exit(0);
if (argv[0] === "ps" || argv[0] === "logs") process.exit(0);
process.stderr.write("fake docker: unexpected " + a + "\\n"); process.exit(2);
`,
    { mode: 0o755 },
  );
  const readState = (): FakeState => {
    const st: FakeState = { containers: {} };
    if (fs.existsSync(nfile)) st.network = JSON.parse(fs.readFileSync(nfile, "utf8"));
    for (const n of fs.readdirSync(cdir)) st.containers[n] = JSON.parse(fs.readFileSync(path.join(cdir, n), "utf8"));
    return st;
  };
  return { dir, calls: () => fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean), state: readState };
}

let server: ChildProcess;
let names: BridgeNames;

beforeAll(async () => {
  // web's page, as busybox httpd would serve it from the container; in its own process, since
  // the tests' spawnSync blocks this one.
  server = spawn(process.execPath, ["-e", `require("http").createServer((q, s) => s.end("web-t 0123456789ab\\n")).listen(0, "127.0.0.1", function () { console.log(this.address().port); })`], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    server.stdout!.once("data", (d: Buffer) => resolve(Number(String(d).trim())));
    server.once("exit", (c) => reject(new Error(`the test's web server exited (${c})`)));
  });
  names = { network: "localnet-t", c1: "c1-t", c2: "c2-t", other: "c3-t", web: "web-t", hostPort: port };
});
afterAll(() => {
  server.kill();
});

function run(script: string, bin: string) {
  return spawnSync("bash", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, timeout: 60_000 });
}

function complete(n: BridgeNames, image = IMAGE): FakeState {
  const containers: Record<string, FakeContainer> = {};
  for (const s of containerSpecs(n)) containers[s.name] = { running: true, lab: "bridge", spec: specDigest(s, image) };
  return { network: { driver: "bridge", lab: "bridge" }, containers };
}

describe("bridge workload script", () => {
  it("passes bash -n and shellcheck", () => {
    const file = path.join(tmp, "workload.sh");
    fs.writeFileSync(file, `#!/usr/bin/env bash\n${workloadScript(ARGS)}`);
    expect(spawnSync("bash", ["-n", file], { encoding: "utf8" }).status).toBe(0);
    const r = spawnSync("shellcheck", ["-S", "warning", file], { encoding: "utf8" });
    expect(r.stdout).toBe("");
    expect(r.status).toBe(0);
  });

  it("builds the seed's network and containers, with the documented names and the lab's label", () => {
    const s = workloadScript(ARGS);
    expect(s).toMatch(/^set -euo pipefail/);
    expect(s).toContain("docker network create -d bridge --label 'swarmlab.lab=bridge' 'localnet'");
    expect(s).toMatch(/docker run -d --name 'c1' --network 'localnet' --label 'swarmlab.lab=bridge' .* 'swarmlab\/busybox-static:local' 'sleep' '1d'/);
    expect(s).toMatch(/docker run -d --name 'c2' --network 'localnet' /);
    expect(s).toMatch(/docker run -d --name 'c3' --label 'swarmlab.lab=bridge' /);
    expect(s).toMatch(/docker run -d --name 'web' --network 'localnet' --publish '5000:80' --label 'swarmlab.lab=bridge' /);
    expect(s).toContain(`'sh' '-c' 'mkdir -p /www && echo "web $(hostname)" >/www/index.html && exec httpd -f -p 80 -h /www' ;;`);
    expect(s).toContain("docker image inspect 'swarmlab/busybox-static:local'");
    expect(s).not.toMatch(/docker (pull|run --pull)/);
    expect(workloadScript({ ...ARGS, pull: true })).not.toContain("docker image inspect");
    expect(DOCUMENTED_NAMES).toEqual({ network: "localnet", c1: "c1", c2: "c2", other: "c3", web: "web", hostPort: 5000 });
  });

  it("rejects names that are not docker object names", () => {
    expect(() => workloadScript(ARGS, { ...DOCUMENTED_NAMES, c1: "c1; rm -rf /" })).toThrow(/not a docker object name/);
  });

  it("creates what is missing, labelled, then waits until web answers and c2 pings c1", () => {
    const bin = fakeDocker({ containers: {} });
    const r = run(workloadScript(ARGS, names), bin.dir);
    expect(r.status, r.stderr).toBe(0);
    const st = bin.state();
    expect(st.network).toEqual({ driver: "bridge", lab: "bridge" });
    expect(Object.keys(st.containers).sort()).toEqual(["c1-t", "c2-t", "c3-t", "web-t"]);
    for (const c of Object.values(st.containers)) expect(c.lab).toBe("bridge");
    const calls = bin.calls();
    expect(calls.filter((c) => c.startsWith("run ")).length).toBe(4);
    expect(calls.some((c) => c === "exec c2-t ping -c 1 -W 2 c1-t")).toBe(true);
    expect(r.stdout).toContain(`web-t answers on port ${names.hostPort}: web-t 0123456789ab`);
  });

  it("leaves a complete lab alone (run twice: no change)", () => {
    const bin = fakeDocker(complete(names));
    const r = run(workloadScript(ARGS, names), bin.dir);
    expect(r.status, r.stderr).toBe(0);
    expect(bin.calls().filter((c) => /^(run|rm|network create|image inspect) /.test(c))).toEqual([]);
  });

  it("rebuilds a stopped container and one built from another image, and only those", () => {
    const st = complete(names);
    st.containers["c1-t"]!.running = false;
    st.containers["web-t"]!.spec = specDigest(containerSpecs(names)[3]!, "alpine");
    const bin = fakeDocker(st);
    const r = run(workloadScript(ARGS, names), bin.dir);
    expect(r.status, r.stderr).toBe(0);
    const calls = bin.calls();
    expect(calls).toContain("rm -f c1-t web-t");
    expect(calls.filter((c) => c.startsWith("run ")).map((c) => /--name (\S+)/.exec(c)![1]).sort()).toEqual(["c1-t", "web-t"]);
    expect(r.stderr).toContain("rebuilding (stopped or built otherwise): c1-t web-t");
    expect(bin.state().containers["c1-t"]!.running).toBe(true);
  });

  it("refuses a localnet it did not build", () => {
    const bin = fakeDocker({ network: { driver: "macvlan", lab: "" }, containers: {} });
    const r = run(workloadScript(ARGS, names), bin.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/swarmlab: network localnet-t exists \(driver and lab label: macvlan \), not as this lab builds it/);
  });

  it("fails with a clear message and diagnostics when web never answers", () => {
    const bin = fakeDocker({ containers: {} });
    const silent = { ...names, hostPort: 1 };
    const r = run(workloadScript({ ...ARGS, timeoutSec: 1 }, silent), bin.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/swarmlab: the bridge lab is not ready after 1s: web does not answer on port 1/);
    expect(r.stderr).toContain("--- docker ps -a (lab bridge)");
  });
});
