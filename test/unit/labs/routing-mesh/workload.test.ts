import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { DOCUMENTED } from "../../../../labs/routing-mesh/facts";
import { documentedPlan, specDigest, workloadScript } from "../../../../labs/routing-mesh/workload";
import type { WorkloadArgs } from "../../../../labs/lab";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-rm-workload-"));
const ARGS: WorkloadArgs = { image: "swarmlab/busybox-static:local", pull: false, nodes: ["docker0.local", "docker1.local"], timeoutSec: 20 };
const plan = documentedPlan(ARGS);
const DIGEST = { web: specDigest(plan, plan.web), webhost: specDigest(plan, plan.webhost), web2: specDigest(plan, plan.web2) };

interface FakeState {
  /** `name|digest` lines docker service inspect prints for the services that exist. */
  existing: string[];
  /** What docker service ls prints ("web 1/1"...); a created service shows up as complete. */
  replicas: Record<string, string>;
  /** Hostnames a port answers with, in turn (none: connection refused). */
  answers: Record<string, string[]>;
}

/**
 * A fake docker (and a fake `timeout`, through which the script's HTTP requests go) answering
 * from a state file; every call is logged.
 */
function fake(state: FakeState): { dir: string; calls: () => string[] } {
  const dir = fs.mkdtempSync(path.join(tmp, "bin-"));
  const log = path.join(dir, "calls");
  const st = path.join(dir, "state.json");
  fs.writeFileSync(st, JSON.stringify({ ...state, turn: {} }));
  const head = `#!/usr/bin/env node
const fs = require("fs");
const st = JSON.parse(fs.readFileSync(${JSON.stringify(st)}, "utf8"));
const save = () => fs.writeFileSync(${JSON.stringify(st)}, JSON.stringify(st));
const argv = process.argv.slice(2);
`;
  fs.writeFileSync(
    path.join(dir, "docker"),
    `${head}const a = argv.join(" ");
fs.appendFileSync(${JSON.stringify(log)}, a + "\\n");
if (a.startsWith("node ls --format ")) { process.stdout.write("docker0.local Ready\\ndocker1.local Ready\\n"); process.exit(0); }
if (a.startsWith("service inspect")) { process.stdout.write(st.existing.map((l) => l + "\\n").join("")); process.exit(st.existing.length === 3 ? 0 : 1); }
if (a.startsWith("service create")) { const name = argv[argv.indexOf("--name") + 1]; if (!(name in st.replicas)) st.replicas[name] = argv.includes("--replicas-max-per-node") ? "2/2" : "1/1"; save(); process.stdout.write("id-" + name + "\\n"); process.exit(0); }
if (a.startsWith("service rm")) { process.exit(0); }
if (a.startsWith("service ls -q")) process.exit(0); // another lab's services: none
if (a.startsWith("service ls")) { process.stdout.write(Object.entries(st.replicas).map(([n, r]) => n + " " + r + "\\n").join("")); process.exit(0); }
if (a.startsWith("node inspect")) { process.stdout.write("docker0.local 0.0.0.0 192.168.122.10:2377\\ndocker1.local 192.168.122.11 \\n"); process.exit(0); }
if (a.startsWith("service ps")) { process.exit(0); }
process.exit(0);
`,
    { mode: 0o755 },
  );
  fs.writeFileSync(
    path.join(dir, "timeout"),
    `${head}// timeout SECS bash -c SCRIPT answer ADDRESS PORT
const key = argv[argv.length - 2] + ":" + argv[argv.length - 1];
fs.appendFileSync(${JSON.stringify(log)}, "GET " + key + "\\n");
const list = st.answers[key] || st.answers[argv[argv.length - 1]] || [];
if (!list.length) { process.stderr.write("answer: connect: Connection refused\\n"); process.exit(1); }
const i = st.turn[key] || 0; st.turn[key] = i + 1; save();
process.stdout.write("HTTP/1.1 200 OK\\r\\nContent-type: text/html\\r\\n\\r\\n" + list[i % list.length] + "\\n");
`,
    { mode: 0o755 },
  );
  return { dir, calls: () => fs.readFileSync(log, "utf8").trim().split("\n") };
}

/** The script without its first part (removing another lab's objects: tested in switch.test.ts). */
function run(bin: string, args: WorkloadArgs = ARGS) {
  const script = workloadScript(args);
  return spawnSync("bash", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, timeout: 60_000 });
}

const GOOD_ANSWERS = { "5000": ["aaaaaaaaaaaa"], "192.168.122.10:5001": ["bbbbbbbbbbbb"], "5002": ["cccccccccccc", "dddddddddddd"] };

describe("routing-mesh workload script", () => {
  it("is valid bash and passes shellcheck", () => {
    const file = path.join(tmp, "workload.sh");
    fs.writeFileSync(file, `#!/usr/bin/env bash\n${workloadScript(ARGS)}`);
    expect(spawnSync("bash", ["-n", file], { encoding: "utf8" }).status).toBe(0);
    const r = spawnSync("shellcheck", ["-S", "warning", file], { encoding: "utf8" });
    expect(r.stdout).toBe("");
    expect(r.status).toBe(0);
  });

  it("creates the missing services with the documented names, ports, modes and labels", () => {
    const bin = fake({ existing: [], replicas: {}, answers: GOOD_ANSWERS });
    const r = run(bin.dir);
    expect(r.status, r.stderr).toBe(0);
    const creates = bin.calls().filter((c) => c.startsWith("service create"));
    expect(creates).toHaveLength(3);
    const web = creates.find((c) => c.includes(`--name ${DOCUMENTED.web.name} `))!;
    expect(web).toContain("--label swarmlab.lab=routing-mesh");
    expect(web).toContain(`--label swarmlab.spec=${DIGEST.web}`);
    expect(web).toContain("--publish published=5000,target=80 ");
    expect(web).toContain("--replicas 1 --constraint node.hostname==docker1.local");
    expect(web).toContain("--no-resolve-image");
    expect(web).toContain("swarmlab/busybox-static:local sh -c mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 80 -h /www");
    const host = creates.find((c) => c.includes(`--name ${DOCUMENTED.webhost.name} `))!;
    expect(host).toContain("--publish published=5001,target=80,mode=host");
    expect(host).toContain("--constraint node.hostname==docker0.local");
    const two = creates.find((c) => c.includes(`--name ${DOCUMENTED.web2.name} `))!;
    expect(two).toContain("--replicas 2 --replicas-max-per-node 1 --publish published=5002,target=80 ");
    expect(two).not.toContain("--constraint");
    // Waited for port 5000 on both nodes (the manager's address taken from its manager address).
    expect(bin.calls()).toEqual(expect.arrayContaining(["GET 192.168.122.10:5000", "GET 192.168.122.11:5000", "GET 192.168.122.10:5001"]));
    expect(r.stdout).toMatch(/answers: web on 192\.168\.122\.10 192\.168\.122\.11 +port 5000; webhost on 192\.168\.122\.10 port 5001; web2 on 192\.168\.122\.10 port 5002 from cccccccccccc dddddddddddd/);
  });

  it("asks the registry only when pull is set", () => {
    const bin = fake({ existing: [], replicas: {}, answers: GOOD_ANSWERS });
    const r = run(bin.dir, { ...ARGS, pull: true });
    expect(r.status, r.stderr).toBe(0);
    expect(bin.calls().filter((c) => c.startsWith("service create")).every((c) => !c.includes("--no-resolve-image"))).toBe(true);
  });

  it("leaves a complete lab alone", () => {
    const bin = fake({
      existing: [`web|${DIGEST.web}`, `webhost|${DIGEST.webhost}`, `web2|${DIGEST.web2}`],
      replicas: { web: "1/1", webhost: "1/1", web2: "2/2 (max 1 per node)" },
      answers: GOOD_ANSWERS,
    });
    const r = run(bin.dir);
    expect(r.status, r.stderr).toBe(0);
    expect(bin.calls().filter((c) => /^service (create|rm|update)/.test(c))).toEqual([]);
  });

  it("creates again a service made with other settings, and completes a half-built lab", () => {
    const bin = fake({ existing: ["web|", `webhost|${DIGEST.webhost}`], replicas: { web: "2/2", webhost: "1/1" }, answers: GOOD_ANSWERS });
    const r = run(bin.dir);
    expect(r.status, r.stderr).toBe(0);
    const calls = bin.calls().filter((c) => /^service (create|rm)/.test(c));
    expect(calls.map((c) => c.split(" --")[0] + (c.match(/--name (\S+)/)?.[1] ? ` ${c.match(/--name (\S+)/)![1]}` : ""))).toEqual(["service rm web", "service create web", "service create web2"]);
    expect(r.stderr).toMatch(/service web exists with other settings/);
  });

  it("fails with a clear message when the replicas do not run in time", () => {
    const bin = fake({ existing: [`web|${DIGEST.web}`, `webhost|${DIGEST.webhost}`, `web2|${DIGEST.web2}`], replicas: { web: "0/1", webhost: "1/1", web2: "2/2" }, answers: GOOD_ANSWERS });
    const r = run(bin.dir, { ...ARGS, timeoutSec: 2 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/swarmlab: the services web, webhost, web2 do not run all their replicas after 2s/);
    expect(r.stderr).toMatch(/--- docker service ps --no-trunc web/);
  });

  it("fails naming the port when the mesh does not answer on a node", () => {
    const bin = fake({ existing: [`web|${DIGEST.web}`, `webhost|${DIGEST.webhost}`, `web2|${DIGEST.web2}`], replicas: { web: "1/1", webhost: "1/1", web2: "2/2" }, answers: { "192.168.122.11:5000": ["aaaaaaaaaaaa"], "5002": ["cccccccccccc"] } });
    const r = run(bin.dir, { ...ARGS, timeoutSec: 2 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/swarmlab: web \(ingress mode\) does not answer on 192\.168\.122\.10:5000 after 2s/);
  });

  it("fails when the requests through the first node reach one replica only", () => {
    const bin = fake({ existing: [`web|${DIGEST.web}`, `webhost|${DIGEST.webhost}`, `web2|${DIGEST.web2}`], replicas: { web: "1/1", webhost: "1/1", web2: "2/2" }, answers: { ...GOOD_ANSWERS, "5002": ["cccccccccccc"] } });
    const r = run(bin.dir, { ...ARGS, timeoutSec: 3 });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/swarmlab: web2 on 192\.168\.122\.10:5002 answered only from \[cccccccccccc \] after 3s, not from 2 replicas/);
  });

  it("needs two nodes", () => {
    expect(() => workloadScript({ ...ARGS, nodes: ["docker0.local"] })).toThrow(/needs two swarm nodes/);
  });
});
