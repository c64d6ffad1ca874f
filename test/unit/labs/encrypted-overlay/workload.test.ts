import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { DOCUMENTED } from "../../../../labs/encrypted-overlay/facts";
import { workloadScript } from "../../../../labs/encrypted-overlay/workload";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-encov-"));
const IMAGE = "swarmlab/busybox-static:local";
const NODES = ["docker0.local", "docker1.local"];

interface State {
  networks: Record<string, { subnet: string; opts: string[] }>;
  services: Record<string, string>;
  running: boolean;
}

/**
 * A fake docker keeping the swarm's state in a file: networks and services appear when
 * created; `service ps` shows one Running task per node once `running` is set. nsenter and
 * ping are fakes that succeed.
 */
function fakeDocker(state: State): { dir: string; calls: () => string[]; state: () => State } {
  const dir = fs.mkdtempSync(path.join(tmp, "bin-"));
  const log = path.join(dir, "calls");
  const file = path.join(dir, "state.json");
  fs.writeFileSync(log, "");
  fs.writeFileSync(file, JSON.stringify(state));
  fs.writeFileSync(
    path.join(dir, "docker"),
    `#!/usr/bin/env node
const fs = require("fs");
const argv = process.argv.slice(2); const a = argv.join(" ");
fs.appendFileSync(${JSON.stringify(log)}, a + "\\n");
const st = JSON.parse(fs.readFileSync(${JSON.stringify(file)}, "utf8"));
const save = () => fs.writeFileSync(${JSON.stringify(file)}, JSON.stringify(st));
const out = (s) => process.stdout.write(s);
const opt = (name) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
const names = (from) => argv.slice(from).filter((x, i, all) => !x.startsWith("--") && !(all[i - 1] || "").startsWith("--"));
if (/^(service ls|ps -a|network ls) -q --filter label=/.test(a)) process.exit(0);
if (a.startsWith("network inspect ")) {
  let missing = false;
  for (const n of names(2)) { const x = st.networks[n]; if (!x) { missing = true; continue; } out(n + "|" + x.subnet + "|" + x.opts.map((o) => o + ",").join("") + "\\n"); }
  process.exit(missing ? 1 : 0);
}
if (a.startsWith("network create ")) {
  const name = argv[argv.length - 1];
  st.networks[name] = { subnet: opt("--subnet"), opts: ["com.docker.network.driver.overlay.vxlanid_list"].concat(argv.includes("-o") ? [opt("-o")] : []) };
  save(); out("netid\\n"); process.exit(0);
}
if (a.startsWith("service inspect ")) {
  let missing = false;
  for (const n of names(2)) { if (!st.services[n]) { missing = true; continue; } out(n + " " + st.services[n] + "\\n"); }
  process.exit(missing ? 1 : 0);
}
if (a.startsWith("service create ")) { st.services[opt("--name")] = argv[argv.indexOf("--label") + 2]; save(); out("svcid\\n"); process.exit(0); }
if (a.startsWith("service update ")) { st.services[argv[argv.length - 1]] = opt("--image"); save(); process.exit(0); }
if (a.startsWith("node ls --format ")) { out("docker0.local Ready\\ndocker1.local Ready\\n"); process.exit(0); }
if (a.startsWith("service ps -q --no-trunc")) { const s = argv[argv.length - 1]; out(s + "-t1\\n" + s + "-t2\\n"); process.exit(0); }
if (a.startsWith("service ps ")) {
  if (!st.running) { out(""); process.exit(0); }
  for (const n of names(2)) out(n + ".1 docker0.local Running 5 seconds ago\\n" + n + ".2 docker1.local Running 9 seconds ago\\n");
  process.exit(0);
}
if (a.startsWith("ps -q --no-trunc --filter label=com.docker.swarm.service.name=")) { out("cid-" + opt("--filter").split("=").pop() + "\\n"); process.exit(0); }
if (a.startsWith("inspect --type task")) { const net = argv[argv.length - 1].startsWith("test-plain") ? "10.20.1." : "10.20.0."; out(net + "3/24 " + net + "4/24 \\n"); process.exit(0); }
if (a.startsWith("inspect --format")) { const c = argv[argv.length - 1]; out("/var/run/docker/netns/sb-" + c + " " + (c.includes("plain") ? "10.20.1.3" : "10.20.0.3") + "\\n"); process.exit(0); }
process.exit(0);
`,
    { mode: 0o755 },
  );
  for (const tool of ["nsenter", "ping"]) fs.writeFileSync(path.join(dir, tool), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  return { dir, calls: () => fs.readFileSync(log, "utf8").trim().split("\n"), state: () => JSON.parse(fs.readFileSync(file, "utf8")) as State };
}

function run(script: string, bin: string) {
  return spawnSync("bash", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, timeout: 30_000 });
}

const script = (over: Partial<Parameters<typeof workloadScript>[0]> = {}) => workloadScript({ image: IMAGE, pull: false, nodes: NODES, timeoutSec: 20, ...over });
const LABEL = "--label swarmlab.lab=encrypted-overlay";
const COMPLETE: State = {
  networks: {
    [DOCUMENTED.encrypted.name]: { subnet: DOCUMENTED.encrypted.subnet, opts: ["com.docker.network.driver.overlay.vxlanid_list", "encrypted"] },
    [DOCUMENTED.plain.name]: { subnet: DOCUMENTED.plain.subnet, opts: ["com.docker.network.driver.overlay.vxlanid_list"] },
  },
  services: { [DOCUMENTED.service.name]: IMAGE, [DOCUMENTED.plainService.name]: IMAGE },
  running: true,
};

describe("encrypted-overlay workload", () => {
  it("is valid bash and passes shellcheck", () => {
    const file = path.join(tmp, "workload.sh");
    fs.writeFileSync(file, `#!/usr/bin/env bash\n${script()}`);
    expect(spawnSync("bash", ["-n", file], { encoding: "utf8" }).status).toBe(0);
    const r = spawnSync("shellcheck", ["-S", "warning", file], { encoding: "utf8" });
    expect(r.stdout).toBe("");
    expect(r.status).toBe(0);
  });

  it("first removes another lab's part", () => {
    expect(script()).toMatch(/Another lab's part \(labelled swarmlab\.lab=<another lab>\) goes first/);
  });

  it("creates what is missing with the documented names, options and labels, and waits for the overlays", () => {
    const bin = fakeDocker({ networks: {}, services: {}, running: true });
    const r = run(script(), bin.dir);
    expect(r.status, r.stderr).toBe(0);
    const calls = bin.calls();
    expect(calls).toContain(`network create -d overlay -o encrypted ${LABEL} --subnet 10.20.0.0/24 uber-net`);
    expect(calls).toContain(`network create -d overlay ${LABEL} --subnet 10.20.1.0/24 plain-net`);
    expect(calls).toContain(`service create --detach --no-resolve-image --replicas 2 --replicas-max-per-node 1 --network uber-net --name test ${LABEL} ${IMAGE} sleep 1000000`);
    expect(calls).toContain(`service create --detach --no-resolve-image --replicas 2 --replicas-max-per-node 1 --network plain-net --name test-plain ${LABEL} ${IMAGE} sleep 1000000`);
    expect(r.stdout).toMatch(/^uber-net: 10\.20\.0\.3 -> 10\.20\.0\.4 answers \(waited \d+s\)$/m);
    expect(r.stdout).toMatch(/^plain-net: 10\.20\.1\.3 -> 10\.20\.1\.4 answers/m);
    expect(r.stdout).toMatch(/^test\.1 docker0\.local Running/m);
    expect(bin.state()).toEqual(COMPLETE);
  });

  it("completes a half-built lab and leaves a complete one alone", () => {
    const half = fakeDocker({ ...COMPLETE, services: { test: IMAGE } });
    expect(run(script(), half.dir).status).toBe(0);
    expect(half.calls().filter((c) => /create|update/.test(c))).toEqual([expect.stringMatching(/^service create .* --name test-plain /)]);
    const done = fakeDocker(COMPLETE);
    const r = run(script(), done.dir);
    expect(r.status, r.stderr).toBe(0);
    expect(done.calls().filter((c) => /\b(create|update|rm)\b/.test(c))).toEqual([]);
  });

  it("pulls when asked (no --no-resolve-image) and rolls a changed image out", () => {
    const bin = fakeDocker({ ...COMPLETE, services: { test: "alpine", "test-plain": IMAGE } });
    expect(run(script({ pull: true }), bin.dir).status).toBe(0);
    expect(bin.calls()).toContain(`service update --detach --image ${IMAGE} test`);
    expect(script({ pull: true })).not.toMatch(/--no-resolve-image/);
  });

  it("refuses an uber-net without the encrypted option, or with another subnet", () => {
    const plainUber = fakeDocker({ ...COMPLETE, networks: { ...COMPLETE.networks, "uber-net": { subnet: "10.20.0.0/24", opts: [] } } });
    const r = run(script(), plainUber.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/swarmlab: network uber-net exists without -o encrypted, the lab needs it encrypted; remove it \(docker network rm uber-net\)/);
    const other = fakeDocker({ ...COMPLETE, networks: { ...COMPLETE.networks, "plain-net": { subnet: "10.9.0.0/24", opts: [] } } });
    expect(run(script(), other.dir).stderr).toMatch(/network plain-net exists with subnet '10\.9\.0\.0\/24', the lab needs 10\.20\.1\.0\/24/);
  });

  it("fails with a clear message and diagnostics when the tasks never run", () => {
    const bin = fakeDocker({ ...COMPLETE, running: false });
    const r = run(script({ timeoutSec: 2 }), bin.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/swarmlab: services test, test-plain do not all have their tasks running, one per node, after 2s/);
    expect(r.stderr).toMatch(/--- docker service ps --no-trunc test test-plain/);
  });
});
