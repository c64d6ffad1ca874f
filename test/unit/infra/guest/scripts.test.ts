import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { asRoot, dockerInstallScript, swarmInitScript, swarmJoinScript, waitReadyScript } from "../../../../infra/guest/scripts";
import { readyScript, workloadScript } from "../../../../labs/swarm-overlay/workload";
import { centos7NetworkFix, metaData, networkConfig, NIC_NAME, userData } from "../../../../infra/guest/cloudinit";
import { WORKLOAD_ARGS } from "../../lab-values";

/** js-yaml comes with @pulumi/pulumi; typed here for the little the tests use. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require("js-yaml") as { load(text: string): unknown };

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-guest-"));
// The CLI path (no engine socket: the API waiter's path is tested in labs/swarm-api.test.ts).
const workload = { ...WORKLOAD_ARGS, dockerSocket: path.join(tmp, "no-engine.sock") };

const scripts: Record<string, string> = {
  ready: waitReadyScript("docker0.local"),
  docker: dockerInstallScript({}),
  dockerPinned: dockerInstallScript({ version: "20.10" }),
  init: swarmInitScript("192.168.122.10", { pool: "10.255.0.0/16", maskLength: 16 }),
  join: swarmJoinScript("192.168.122.10", 2377),
  workload: workloadScript(workload),
  resetReady: readyScript(workload),
};

function shellcheck(name: string, text: string) {
  const file = path.join(tmp, `${name}.sh`);
  fs.writeFileSync(file, `#!/usr/bin/env bash\n${text}`);
  return spawnSync("shellcheck", ["-S", "warning", file], { encoding: "utf8" });
}

/** A fake `docker` on PATH that records its calls and answers from a small state file. */
function fakeDocker(state: Record<string, string>): { dir: string; calls: () => string[] } {
  const dir = fs.mkdtempSync(path.join(tmp, "bin-"));
  const log = path.join(dir, "calls");
  fs.writeFileSync(path.join(dir, "state.json"), JSON.stringify(state));
  fs.writeFileSync(
    path.join(dir, "docker"),
    `#!/usr/bin/env node
const fs = require("fs"); const a = process.argv.slice(2).join(" ");
fs.appendFileSync(${JSON.stringify(log)}, a + "\\n");
const s = JSON.parse(fs.readFileSync(${JSON.stringify(path.join(dir, "state.json"))}, "utf8"));
for (const [k, v] of Object.entries(s)) { if (a.startsWith(k)) { if (v === "FAIL") process.exit(1); process.stdout.write(v); process.exit(0); } }
process.exit(0);
`,
    { mode: 0o755 },
  );
  return { dir, calls: () => fs.readFileSync(log, "utf8").trim().split("\n") };
}

function run(script: string, bin: string, stdin = "") {
  return spawnSync("bash", ["-c", script], { encoding: "utf8", input: stdin, env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
}

describe("guest scripts", () => {
  for (const [name, text] of Object.entries(scripts)) {
    it(`${name} passes bash -n and shellcheck`, () => {
      expect(spawnSync("bash", ["-n", "-c", text]).status).toBe(0);
      const r = shellcheck(name, text);
      expect(r.error, "shellcheck is needed (apt-get install shellcheck)").toBeUndefined();
      expect(r.stdout).toBe("");
      expect(r.status).toBe(0);
    });
  }

  it("runs as root with the session's stdin left for secrets", () => {
    const wrapped = asRoot("join", "read -r x; echo got:$x");
    expect(wrapped.startsWith("sudo -n bash -c \"$(cat <<'SWARMLAB_SCRIPT'")).toBe(true);
    // Without sudo, the same wrapper shape must hand stdin to the script.
    const r = spawnSync("sh", ["-c", wrapped.replace(/^sudo -n /, "")], { input: "SECRET\n", encoding: "utf8" });
    expect(r.stdout.trim()).toBe("got:SECRET");
  });

  it("docker install is skipped where Docker exists", () => {
    const bin = fakeDocker({ "version --format": "20.10.24+dfsg1" });
    fs.writeFileSync(path.join(bin.dir, "dockerd"), "#!/bin/sh\necho Docker version 20.10.24\n", { mode: 0o755 });
    fs.writeFileSync(path.join(bin.dir, "systemctl"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    // Stand-ins, so that nothing is installed on the test machine should it lack tcpdump.
    fs.writeFileSync(path.join(bin.dir, "tcpdump"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const etc = fs.mkdtempSync(path.join(tmp, "etc-"));
    fs.writeFileSync(path.join(etc, "os-release"), 'ID=debian\nVERSION_ID="12"\n');
    const r = run(dockerInstallScript({ version: "20.10", etcDir: etc }), bin.dir);
    expect(r.stderr).toContain("docker already installed");
    expect(r.stdout.trim()).toBe("docker=20.10.24+dfsg1");
    expect(r.status).toBe(0);
    const wrong = run(dockerInstallScript({ version: "24.0", etcDir: etc }), bin.dir);
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain("Docker 20.10.24+dfsg1 is installed, but 24.0 was requested");
    // A version pin matches on version boundaries: 20.1 is not 20.10.
    const prefix = run(dockerInstallScript({ version: "20.1", etcDir: etc }), bin.dir);
    expect(prefix.status).toBe(1);
    expect(prefix.stderr).toContain("Docker 20.10.24+dfsg1 is installed, but 20.1 was requested");
    expect(run(dockerInstallScript({ version: "20.10.24", etcDir: etc }), bin.dir).status).toBe(0);
    // A running daemon is asked once (docker version both waits and reads), not three times.
    expect(bin.calls().filter((c) => c.startsWith("version")).length).toBe(4);
    expect(bin.calls().some((c) => c.startsWith("info"))).toBe(false);
  });

  it("docker install waits for a daemon that is still starting, and says so when it never answers", () => {
    const bin = fakeDocker({});
    // docker version fails (no daemon) for its first two calls, then answers.
    fs.writeFileSync(
      path.join(bin.dir, "docker"),
      `#!/bin/bash\necho "$*" >>${bin.dir}/calls\nn=$(grep -c '^version' ${bin.dir}/calls)\n[ "$n" -gt 2 ] || { echo "Cannot connect to the Docker daemon" >&2; exit 1; }\necho 20.10.24+dfsg1\n`,
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(bin.dir, "dockerd"), "#!/bin/sh\necho Docker version 20.10.24\n", { mode: 0o755 });
    fs.writeFileSync(path.join(bin.dir, "systemctl"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    fs.writeFileSync(path.join(bin.dir, "tcpdump"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    fs.writeFileSync(path.join(bin.dir, "sleep"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const etc = fs.mkdtempSync(path.join(tmp, "etc-"));
    fs.writeFileSync(path.join(etc, "os-release"), 'ID=debian\nVERSION_ID="12"\n');
    const r = run(dockerInstallScript({ etcDir: etc }), bin.dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe("docker=20.10.24+dfsg1");
    expect(bin.calls().filter((c) => c.startsWith("version"))).toHaveLength(3);
    // Never answering: the step fails with the reason.
    fs.writeFileSync(path.join(bin.dir, "docker"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
    const dead = run(dockerInstallScript({ etcDir: etc }), bin.dir);
    expect(dead.status).toBe(1);
    expect(dead.stderr).toContain("the Docker daemon did not start");
  });

  it("swarm init is idempotent and prints only the token on stdout", () => {
    const fresh = fakeDocker({
      "info --format {{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}": "inactive false",
      "swarm join-token": "SWMTKN-1-abc\n",
      // docker swarm init repeats the token in its advice text.
      "swarm init": "To add a worker to this swarm, run:\n    docker swarm join --token SWMTKN-1-abc 192.168.122.10:2377\n",
    });
    const r = run(scripts.init, fresh.dir);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("SWMTKN-1-abc\n");
    expect(r.stderr, "stderr is logged: it must not carry the token").not.toContain("SWMTKN");
    // The documented engine gave ingress 10.255.0.0/16; newer ones need the pool to be asked for.
    expect(fresh.calls()).toContain("swarm init --advertise-addr 192.168.122.10 --default-addr-pool 10.255.0.0/16 --default-addr-pool-mask-length 16");
    // One docker info, then init, then the token.
    expect(fresh.calls().filter((c) => c.startsWith("info"))).toHaveLength(1);
    const again = fakeDocker({ "info --format {{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}": "active true", "swarm join-token": "SWMTKN-1-abc\n" });
    expect(run(scripts.init, again.dir).status).toBe(0);
    expect(again.calls().some((c) => c.startsWith("swarm init"))).toBe(false);
    const worker = fakeDocker({ "info --format {{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}": "active false", "swarm join-token": "SWMTKN-1-abc\n" });
    const w = run(scripts.init, worker.dir);
    expect(w.status).toBe(1);
    expect(w.stderr).toContain("this node is in a swarm but is not a manager");
    expect(worker.calls().some((c) => c.startsWith("swarm "))).toBe(false);
  });

  it("swarm join reads the token from stdin, and is idempotent", () => {
    const fresh = fakeDocker({ "info --format {{.Swarm.LocalNodeState}}": "inactive" });
    const r = run(scripts.join, fresh.dir, "SWMTKN-1-abc\n");
    expect(r.status).toBe(0);
    expect(fresh.calls()).toContain("swarm join --token SWMTKN-1-abc 192.168.122.10:2377");
    expect(run(scripts.join, fresh.dir, "").stderr).toContain("no join token on stdin");
    const member = fakeDocker({ "info --format {{.Swarm.LocalNodeState}}": "active", "info --format {{range": "192.168.122.10:2377 " });
    expect(run(scripts.join, member.dir, "SWMTKN-1-abc\n").status).toBe(0);
    expect(member.calls().some((c) => c.startsWith("swarm join"))).toBe(false);
    const other = fakeDocker({ "info --format {{.Swarm.LocalNodeState}}": "active", "info --format {{range": "10.0.0.5:2377 " });
    const r2 = run(scripts.join, other.dir, "SWMTKN-1-abc\n");
    expect(r2.status).toBe(1);
    expect(r2.stderr).toContain("already in another swarm");
  });

  it("workload creates what is missing and waits for one running task per node", () => {
    const bin = fakeDocker({
      "node ls --format": "docker0.local Ready\ndocker1.local Ready\n",
      "network inspect demonet --format {{index .Options": "4097",
      "network inspect demonet": "FAIL",
      "service inspect": "FAIL",
      "service ps demoservice --filter desired-state=running --format {{.Node}}": "docker0.local Running 3 seconds ago\ndocker1.local Running 2 seconds ago\n",
      "service ps demoservice --filter desired-state=running --format {{.Name}}": "demoservice.1 docker0.local Running\ndemoservice.2 docker1.local Running\n",
    });
    const r = run(scripts.workload, bin.dir);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const calls = bin.calls();
    expect(calls).toContain("network create -d overlay --label swarmlab.lab=swarm-overlay --subnet 192.168.200.0/24 --opt com.docker.network.driver.overlay.vxlanid_list=4097 demonet");
    expect(calls.filter((c) => c.startsWith("network create"))).toHaveLength(1);
    expect(calls).toContain("service create --detach --replicas 2 --replicas-max-per-node 1 --network demonet --name demoservice --label swarmlab.lab=swarm-overlay alpine sleep 50000");
  });

  it("workload asks for the documented VXLAN id, and makes demonet again without it where the swarm does not give it", () => {
    const bin = fakeDocker({
      "node ls --format": "docker0.local Ready\ndocker1.local Ready\n",
      // The swarm took the request but allocated nothing: the options stay empty.
      "network inspect demonet --format {{index .Options": "",
      "network inspect demonet": "FAIL",
      "service inspect": "FAIL",
      "service ps demoservice --filter desired-state=running --format {{.Node}}": "docker0.local Running 3 seconds ago\ndocker1.local Running 2 seconds ago\n",
      "service ps demoservice --filter desired-state=running --format {{.Name}}": "demoservice.1 docker0.local Running\ndemoservice.2 docker1.local Running\n",
    });
    const r = run(scripts.workload, bin.dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the swarm did not give demonet VXLAN id 4097 \(taken\?\); it gets the swarm's next one/);
    const calls = bin.calls();
    expect(calls.filter((c) => /^network (create|rm)/.test(c))).toEqual([
      "network create -d overlay --label swarmlab.lab=swarm-overlay --subnet 192.168.200.0/24 --opt com.docker.network.driver.overlay.vxlanid_list=4097 demonet",
      "network rm demonet",
      "network create -d overlay --label swarmlab.lab=swarm-overlay --subnet 192.168.200.0/24 demonet",
    ]);
  });

  it("workload without pulling adds --no-resolve-image", () => {
    expect(workloadScript({ ...workload, pull: false, image: "swarmlab/busybox-static:local" })).toContain(
      "docker service create --detach --no-resolve-image --replicas 2 --replicas-max-per-node 1 --network 'demonet' --name 'demoservice' --label 'swarmlab.lab=swarm-overlay' 'swarmlab/busybox-static:local' 'sleep' '50000'",
    );
  });

  it("workload times out with docker service ps --no-trunc when both tasks land on one node", () => {
    const bin = fakeDocker({
      "node ls --format": "docker0.local Ready\ndocker1.local Ready\n",
      "network inspect demonet --format": "192.168.200.0/24",
      "service inspect --format {{.Spec": "alpine:latest@sha256:0123\n",
      "service ps demoservice --filter desired-state=running --format {{.Node}}": "docker0.local Running 3 seconds ago\ndocker0.local Running 2 seconds ago\n",
    });
    const r = run(workloadScript({ ...workload, timeoutSec: 1 }), bin.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("docker service ps --no-trunc demoservice");
    expect(r.stderr).toContain("does not have 2 running tasks spread over the nodes");
    expect(bin.calls()).toContain("service ps --no-trunc demoservice");
    // The service existed with both tasks on one node (a node came back): restarted once to spread them.
    expect(bin.calls().filter((c) => c.startsWith("service update"))).toEqual(["service update --force --detach demoservice"]);
    expect(bin.calls().filter((c) => c.startsWith("service create"))).toEqual([]);
  });

  it("workload rolls a changed image out and waits for the update to complete", () => {
    const bin = fakeDocker({
      "node ls --format": "docker0.local Ready\ndocker1.local Ready\n",
      "network inspect demonet --format": "192.168.200.0/24",
      "service inspect --format {{.Spec": "swarmlab/busybox-static:local\n",
      "service inspect --format {{if .UpdateStatus}}": "completed\n",
      "service ps demoservice --filter desired-state=running --format {{.Node}}": "docker0.local Running 3 seconds ago\ndocker1.local Running 2 seconds ago\n",
    });
    const r = run(workloadScript({ ...workload, pull: false, image: "swarmlab/busybox-static:v2" }), bin.dir);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(bin.calls().filter((c) => c.startsWith("service update"))).toEqual([
      "service update --detach --no-resolve-image --image swarmlab/busybox-static:v2 demoservice",
    ]);
  });

  it("workload fails, saying so, when the image update ends paused", () => {
    const bin = fakeDocker({
      "node ls --format": "docker0.local Ready\ndocker1.local Ready\n",
      "network inspect demonet --format": "192.168.200.0/24",
      "service inspect --format {{.Spec": "alpine:latest@sha256:0123\n",
      "service inspect --format {{if .UpdateStatus}}": "paused\n",
    });
    const r = run(workloadScript({ ...workload, image: "busybox" }), bin.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("the update of demoservice to busybox ended paused");
  });

  it("workload takes alpine and alpine:latest@sha256:... for the same image", () => {
    const bin = fakeDocker({
      "node ls --format": "docker0.local Ready\ndocker1.local Ready\n",
      "network inspect demonet --format": "192.168.200.0/24",
      "service inspect --format {{.Spec": "alpine:latest@sha256:0123\n",
      "service ps demoservice --filter desired-state=running --format {{.Node}}": "docker0.local Running 3 seconds ago\ndocker1.local Running 2 seconds ago\n",
    });
    const r = run(scripts.workload, bin.dir);
    expect(r.status).toBe(0);
    expect(bin.calls().filter((c) => c.startsWith("service update"))).toEqual([]);
  });

  it("workload declares the service before the worker is Ready, then waits for its task", () => {
    const bin = fakeDocker({
      // docker1 has not joined yet: the manager is the only node listed.
      "node ls --format": "docker0.local Ready\n",
      "network inspect demonet": "FAIL",
      "service inspect": "FAIL",
    });
    const r = run(workloadScript({ ...workload, timeoutSec: 1 }), bin.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("node(s) docker1.local not Ready after 1s");
    const calls = bin.calls();
    expect(calls.findIndex((c) => c.startsWith("service create"))).toBeGreaterThanOrEqual(0);
    expect(calls.findIndex((c) => c.startsWith("service create"))).toBeLessThan(calls.findIndex((c) => c.startsWith("node ls")));
  });

  it("workload leaves a running, spread service alone", () => {
    const bin = fakeDocker({
      "node ls --format": "docker0.local Ready\ndocker1.local Ready\n",
      "network inspect demonet --format": "192.168.200.0/24",
      "service inspect --format {{.Spec": "alpine\n",
      "service ps demoservice --filter desired-state=running --format {{.Node}}": "docker0.local Running 3 seconds ago\ndocker1.local Running 2 seconds ago\n",
    });
    const r = run(scripts.workload, bin.dir);
    expect(r.status).toBe(0);
    expect(bin.calls().filter((c) => /^(service (create|update)|network create)/.test(c))).toEqual([]);
  });

  it("workload checks the spread once when the tasks already run one per node", () => {
    const bin = fakeDocker({
      "node ls --format": "docker0.local Ready\ndocker1.local Ready\n",
      "network inspect demonet --format": "192.168.200.0/24",
      "service inspect --format {{.Spec": "alpine\n",
      "service ps demoservice --filter desired-state=running --format {{.Node}}": "docker0.local Running 3 seconds ago\ndocker1.local Running 2 seconds ago\n",
    });
    expect(run(scripts.workload, bin.dir).status).toBe(0);
    expect(bin.calls().filter((c) => c.startsWith("service ps demoservice --filter desired-state=running --format {{.Node}}"))).toHaveLength(1);
  });

  it("reset's readiness check builds, removes and inspects nothing: nodes Ready, one task per node, the tasks listed", () => {
    const bin = fakeDocker({
      "node ls --format": "docker0.local Ready\ndocker1.local Ready\n",
      "service ps demoservice --filter desired-state=running --format {{.Node}}": "docker0.local Running 3 seconds ago\ndocker1.local Running 2 seconds ago\n",
      "service ps demoservice --filter desired-state=running --format {{.Name}}": "demoservice.1 docker0.local Running\ndemoservice.2 docker1.local Running\n",
    });
    // ping and nsenter present (whatever this machine has), so the overlay check looks for a task here.
    for (const tool of ["ping", "nsenter"]) fs.writeFileSync(path.join(bin.dir, tool), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const r = run(scripts.resetReady, bin.dir);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("demoservice.2 docker1.local Running");
    expect(r.stdout).toMatch(/^nodes Ready after \d+s\none task per node running after \d+s\noverlay: not checked \(no task of demoservice on this host\)\noverlay checked after \d+s\n/);
    const calls = bin.calls();
    expect(calls.filter((c) => /^(service (create|update|rm|inspect)|network (create|rm|inspect|ls)|container rm|ps -a)/.test(c))).toEqual([]);
    // node ls, one spread count, the overlay's task lookup (no task here: not checked), the listing.
    expect(calls).toEqual([
      "node ls --format {{.Hostname}} {{.Status}}",
      "service ps demoservice --filter desired-state=running --format {{.Node}} {{.CurrentState}}",
      "ps -q --no-trunc --filter label=com.docker.swarm.service.name=demoservice",
      "service ps demoservice --filter desired-state=running --format {{.Name}} {{.Node}} {{.CurrentState}}",
    ]);
  });

  it("reset's readiness check waits for a task that is not running yet, and times out saying why", () => {
    const bin = fakeDocker({
      "node ls --format": "docker0.local Ready\ndocker1.local Ready\n",
      "service ps demoservice --filter desired-state=running --format {{.Node}}": "docker0.local Running 3 seconds ago\ndocker1.local Starting 1 second ago\n",
    });
    const r = run(readyScript({ ...workload, timeoutSec: 1 }), bin.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("does not have 2 running tasks spread over the nodes after 1s");
    expect(bin.calls()).toContain("service ps --no-trunc demoservice");
    // Nothing restarted: a reset waits for the baseline's tasks, it does not move them.
    expect(bin.calls().filter((c) => c.startsWith("service update"))).toEqual([]);
  });

  it("reset's readiness check says which node is not Ready", () => {
    const bin = fakeDocker({ "node ls --format": "docker0.local Ready\ndocker1.local Down\n" });
    const r = run(readyScript({ ...workload, timeoutSec: 1 }), bin.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("node(s) docker1.local not Ready after 1s");
  });

  it("workload refuses an existing demonet with another subnet", () => {
    const bin = fakeDocker({
      "node ls --format": "docker0.local Ready\ndocker1.local Ready\n",
      "network inspect demonet --format": "10.0.9.0/24",
    });
    const r = run(scripts.workload, bin.dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("network demonet exists with subnet 10.0.9.0/24, the lab needs 192.168.200.0/24");
  });
});

describe("cloud-init seed", () => {
  const a = {
    hostname: "docker0.local",
    user: "swarm",
    publicKey: "ssh-rsa AAAAB3 swarmlab-dev",
    mac: "52:54:00:aa:bb:cc",
    address: "192.168.122.10",
    prefix: 24,
    gateway: "192.168.122.1",
    peers: [
      { hostname: "docker0.local", address: "192.168.122.10" },
      { hostname: "docker1.local", address: "192.168.122.11" },
    ],
  };
  it("sets the hostname, a key-only sudo user and /etc/hosts", () => {
    const ud = userData(a);
    expect(ud.startsWith("#cloud-config\n")).toBe(true);
    expect(ud).toContain("hostname: docker0.local");
    expect(ud).toContain("ssh_pwauth: false");
    expect(ud).toContain("lock_passwd: true");
    expect(ud).toContain("- ssh-rsa AAAAB3 swarmlab-dev");
    expect(ud).toContain("192.168.122.11 docker1.local docker1");
    expect(ud).not.toMatch(/PRIVATE KEY/);
  });
  it("gives the NIC its static address by MAC", () => {
    const nc = networkConfig(a);
    expect(nc).toContain('mac_address: "52:54:00:aa:bb:cc"');
    expect(nc).toContain("address: 192.168.122.10/24");
    expect(nc).toContain("gateway: 192.168.122.1");
  });
  it("keeps network-config version 1, the one CentOS 7's cloud-init 19.4 renders", () => {
    const nc = yaml.load(networkConfig(a)) as { version: number; config: { type: string; name: string; mac_address: string; subnets: { type: string }[] }[] };
    expect(nc.version).toBe(1);
    expect(nc.config).toHaveLength(1);
    expect(nc.config[0]).toMatchObject({ type: "physical", name: "ens3", mac_address: "52:54:00:aa:bb:cc" });
    expect(nc.config[0]!.subnets[0]!.type).toBe("static");
    expect(NIC_NAME).toBe("ens3");
  });
  it("is valid YAML whose bootcmd carries the CentOS 7 network repair", () => {
    const ud = yaml.load(userData(a)) as { hostname: string; bootcmd: (string | string[])[]; users: { name: string }[] };
    expect(ud.hostname).toBe("docker0.local");
    expect(ud.users[0]!.name).toBe("swarm");
    expect(ud.bootcmd[0]).toEqual(["sh", "-c", "hostname docker0.local || true"]);
    expect(ud.bootcmd[1]).toBe(centos7NetworkFix());
    // bootcmd runs under /bin/sh: dash here, bash on CentOS.
    expect(spawnSync("sh", ["-n", "-c", centos7NetworkFix()]).status).toBe(0);
    expect(spawnSync("bash", ["--posix", "-n", "-c", centos7NetworkFix()]).status).toBe(0);
    const sc = spawnSync("shellcheck", ["-s", "sh", "-S", "warning", "-"], { input: centos7NetworkFix(), encoding: "utf8" });
    expect(sc.stdout).toBe("");
  });

  /**
   * Runs the bootcmd repair against a guest's files under a scratch root: its absolute paths
   * moved there, systemctl and ip faked (network.service failed until started again).
   */
  function repair(osRelease: string, files: Record<string, string>, eth0Exists = false) {
    const root = fs.mkdtempSync(path.join(tmp, "root-"));
    for (const [f, text] of Object.entries({ "etc/os-release": osRelease, ...files })) {
      fs.mkdirSync(path.dirname(path.join(root, f)), { recursive: true });
      fs.writeFileSync(path.join(root, f), text);
    }
    fs.mkdirSync(path.join(root, "sys/class/net"), { recursive: true });
    if (eth0Exists) fs.mkdirSync(path.join(root, "sys/class/net/eth0"));
    const bin = path.join(root, "bin");
    fs.mkdirSync(bin);
    const calls = path.join(root, "calls");
    fs.writeFileSync(path.join(root, "network-failed"), "");
    fs.writeFileSync(
      path.join(bin, "systemctl"),
      `#!/bin/sh\necho "systemctl $*" >>${calls}\ncase "$*" in\n  *is-failed*) [ -e ${root}/network-failed ] ;;\n  *start*) rm -f ${root}/network-failed ;;\nesac\n`,
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(bin, "ip"), `#!/bin/sh\necho "ip $*" >>${calls}\n`, { mode: 0o755 });
    const script = centos7NetworkFix().replace(/\/etc\//g, `${root}/etc/`).replace(/\/sys\//g, `${root}/sys/`);
    const once = () => {
      const r = spawnSync("sh", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
    };
    const read = (f: string) => (fs.existsSync(path.join(root, f)) ? fs.readFileSync(path.join(root, f), "utf8") : undefined);
    const callLog = () => (read("calls") ?? "").trim().split("\n").filter(Boolean);
    return { once, read, callLog };
  }
  const CENTOS7 = 'NAME="CentOS Linux"\nVERSION="7 (Core)"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\n';
  const IFCFG_ETH0 = 'DEVICE="eth0"\nBOOTPROTO="dhcp"\nONBOOT="yes"\nTYPE="Ethernet"\nPERSISTENT_DHCLIENT="yes"\n';
  // What cloud-init 19.4's sysconfig renderer leaves: NOZEROCONF=yes of the image is gone.
  const NETWORK_BY_CLOUDINIT = "# Created by cloud-init on instance boot automatically, do not edit.\n#\nNETWORKING=yes\n";

  it("on CentOS 7, removes the stale ifcfg-eth0, restores NOZEROCONF=yes and restarts the failed network.service; once", () => {
    const g = repair(CENTOS7, {
      "etc/sysconfig/network-scripts/ifcfg-eth0": IFCFG_ETH0,
      "etc/sysconfig/network-scripts/ifcfg-ens3": "DEVICE=ens3\nBOOTPROTO=none\nONBOOT=yes\n",
      "etc/sysconfig/network": NETWORK_BY_CLOUDINIT,
    });
    g.once();
    expect(g.read("etc/sysconfig/network-scripts/ifcfg-eth0")).toBeUndefined();
    expect(g.read("etc/sysconfig/network-scripts/ifcfg-ens3")).toContain("DEVICE=ens3");
    expect(g.read("etc/sysconfig/network")).toBe(NETWORK_BY_CLOUDINIT + "NOZEROCONF=yes\n");
    expect(g.callLog()).toEqual([
      "ip -4 route del 169.254.0.0/16 dev ens3",
      "systemctl is-failed --quiet network.service",
      "systemctl --no-block start network.service",
    ]);
    // Every later boot: nothing to repair, nothing restarted.
    g.once();
    expect(g.read("etc/sysconfig/network")).toBe(NETWORK_BY_CLOUDINIT + "NOZEROCONF=yes\n");
    expect(g.callLog().filter((c) => c.includes("start"))).toHaveLength(1);
  });

  it("keeps ifcfg-eth0 while an eth0 exists (no rename happened)", () => {
    const g = repair(CENTOS7, { "etc/sysconfig/network-scripts/ifcfg-eth0": IFCFG_ETH0, "etc/sysconfig/network": "NETWORKING=yes\nNOZEROCONF=yes\n" }, true);
    g.once();
    expect(g.read("etc/sysconfig/network-scripts/ifcfg-eth0")).toBe(IFCFG_ETH0);
    expect(g.read("etc/sysconfig/network")).toBe("NETWORKING=yes\nNOZEROCONF=yes\n");
  });

  it("changes nothing on other systems (the Debian test image)", () => {
    const g = repair('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n', {
      "etc/sysconfig/network-scripts/ifcfg-eth0": IFCFG_ETH0,
      "etc/sysconfig/network": "NETWORKING=yes\n",
    });
    g.once();
    expect(g.read("etc/sysconfig/network-scripts/ifcfg-eth0")).toBe(IFCFG_ETH0);
    expect(g.read("etc/sysconfig/network")).toBe("NETWORKING=yes\n");
    expect(g.callLog()).toEqual([]);
    // Nor on a later CentOS.
    const stream = repair('ID="centos"\nVERSION_ID="9"\n', { "etc/sysconfig/network-scripts/ifcfg-eth0": IFCFG_ETH0 });
    stream.once();
    expect(stream.read("etc/sysconfig/network-scripts/ifcfg-eth0")).toBe(IFCFG_ETH0);
  });
  it("changes the instance-id when the seed changes", () => {
    const m1 = metaData(a, userData(a));
    const m2 = metaData({ ...a, address: "192.168.122.20" }, userData(a));
    expect(m1).toMatch(/^instance-id: docker0-[0-9a-f]{12}\nlocal-hostname: docker0.local\n$/);
    expect(m1).not.toBe(m2);
  });
});
