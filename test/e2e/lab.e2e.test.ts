/**
 * End to end: the real Pulumi program, executed under mocks that really create resources,
 * stands the documented lab up on a libvirtd running inside a network namespace, proves it,
 * checks that a second `up` plans nothing, and destroys it, leaving nothing behind.
 *
 * Run through `npm run test:e2e`, which creates the namespace, starts virtlogd/libvirtd in
 * it and runs this file inside it (so every packet stays inside the lab).
 */
import { execFileSync, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { NodeSSH } from "node-ssh";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { destroyRecorded, ExecutingMocks, RecordedResource, runProgram, loadDynamicProvider } from "../harness/executing-mocks";
import { ensureTestImage } from "../harness/image";
import { shq } from "../../infra/guest/scripts";
import { runVerify, VerifyRun } from "../../scripts/verify/run";
import { renderLabDiagram } from "../../scripts/diagram";
import { vethId } from "../../scripts/plumbing/diagram";

const ROOT = path.resolve(__dirname, "../..");
const URI = "qemu:///system";
const STACK = "e2e";
const PREFIX = `swarmlab-${STACK}`;
const BYSTANDER = "swarmlab-bystander";
const NETNS = process.env.SWARMLAB_E2E_NETNS;
/** Reports, screenshots and raw gathers of the run, for people to look at (not committed). */
const RESULTS = path.join(ROOT, "test-results");

const virsh = (...args: string[]) => execFileSync("virsh", ["-q", "-c", URI, ...args], { encoding: "utf8" }).trim();
const virshOk = (...args: string[]) => spawnSync("virsh", ["-q", "-c", URI, ...args], { encoding: "utf8" }).status === 0;
const names = (...args: string[]) => virsh(...args).split("\n").map((s) => s.trim()).filter(Boolean);

const logLines: string[] = [];
const log = (line: string) => {
  logLines.push(line);
  process.stdout.write(`[lab] ${line}\n`);
};

const stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-e2e-"));
let created: RecordedResource[] = [];
let destroyed = false;
let upMocks: ExecutingMocks | undefined;
let upSeconds = 0;
let manager: NodeSSH | undefined;
let worker: NodeSSH | undefined;
let keyFile = "";
const netnsBefore = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout;

const inventoryFile = () => path.join(stateRoot, ".swarmlab", STACK, "inventory.json");

function labConfig(manifest: string): Record<string, string> {
  return {
    "swarmlab:libvirtUri": URI,
    "swarmlab:domainType": "qemu",
    "swarmlab:vcpus": "1",
    "swarmlab:memoryMiB": "1536",
    "swarmlab:baseImage": manifest,
    "swarmlab:workloadImage": "swarmlab/busybox-static:local",
    "swarmlab:workloadImagePull": "false",
  };
}

async function runMain(mode: "up" | "plan", manifest: string, previous?: RecordedResource[]) {
  const { main } = await import("../../infra/main");
  return runProgram(() => main({ stateRoot, workloadTimeoutSec: 420 }), {
    project: "swarmlab",
    stack: STACK,
    config: labConfig(manifest),
    mode,
    previous,
    log,
  });
}

async function sshTo(address: string): Promise<NodeSSH> {
  const ssh = new NodeSSH();
  await ssh.connect({ host: address, username: "swarm", privateKey: fs.readFileSync(keyFile, "utf8"), readyTimeout: 20_000 });
  return ssh;
}

/** Runs a command as root on a guest (the lab user has passwordless sudo, no docker group). */
async function sh(ssh: NodeSSH, cmd: string): Promise<string> {
  const r = await ssh.execCommand(`sudo -n sh -c ${shq(cmd)}`);
  if (r.code !== 0) throw new Error(`${cmd} failed (${r.code}): ${r.stderr || r.stdout}`);
  return r.stdout.trim();
}

/** Removes whatever this test's stack left, by name prefix: a safety net after a failure. */
function sweep(): void {
  for (const d of names("list", "--all", "--name").filter((n) => n.startsWith(PREFIX))) {
    virshOk("destroy", d);
    virshOk("undefine", d);
  }
  if (virshOk("pool-info", PREFIX)) {
    for (const line of names("vol-list", PREFIX)) virshOk("vol-delete", "--pool", PREFIX, line.split(/\s+/)[0]);
    virshOk("pool-destroy", PREFIX);
    virshOk("pool-delete", PREFIX);
    virshOk("pool-undefine", PREFIX);
  }
  if (virshOk("net-info", PREFIX)) {
    virshOk("net-destroy", PREFIX);
    virshOk("net-undefine", PREFIX);
  }
}

function defineBystanders(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-bystander-"));
  fs.writeFileSync(
    path.join(dir, "net.xml"),
    `<network><name>${BYSTANDER}</name><bridge name='swl-bystand'/><ip address='192.168.150.1' netmask='255.255.255.0'/></network>`,
  );
  fs.writeFileSync(path.join(dir, "pool.xml"), `<pool type='dir'><name>${BYSTANDER}</name><target><path>${dir}/pool</path></target></pool>`);
  virsh("net-define", path.join(dir, "net.xml"));
  virsh("net-start", BYSTANDER);
  virsh("pool-define", path.join(dir, "pool.xml"));
  virsh("pool-build", BYSTANDER);
  virsh("pool-start", BYSTANDER);
  virsh("vol-create-as", BYSTANDER, "keep-me.qcow2", "16M", "--format", "qcow2");
}

function removeBystanders(): void {
  virshOk("vol-delete", "--pool", BYSTANDER, "keep-me.qcow2");
  virshOk("pool-destroy", BYSTANDER);
  virshOk("pool-delete", BYSTANDER);
  virshOk("pool-undefine", BYSTANDER);
  virshOk("net-destroy", BYSTANDER);
  virshOk("net-undefine", BYSTANDER);
}

let manifest = "";

beforeAll(async () => {
  if (!NETNS) throw new Error("run the end-to-end test through `npm run test:e2e`: it must run inside the test hypervisor's network namespace");
  manifest = await ensureTestImage(log);
  sweep();
  removeBystanders();
  defineBystanders();

  const t0 = Date.now();
  try {
    const { mocks } = await runMain("up", manifest);
    upMocks = mocks;
    created = mocks.created;
  } catch (e) {
    created = ((e as any).mocks as ExecutingMocks | undefined)?.created ?? [];
    for (const d of names("list", "--all", "--name").filter((n) => n.startsWith(PREFIX))) {
      const logFile = `/var/log/libvirt/qemu/${d}-console.log`;
      if (fs.existsSync(logFile)) log(`--- last console lines of ${d}:\n${fs.readFileSync(logFile, "utf8").split("\n").slice(-30).join("\n")}`);
    }
    throw e;
  }
  upSeconds = (Date.now() - t0) / 1000;
  keyFile = path.join(stateRoot, ".swarmlab", STACK, "id_swarmlab");
  manager = await sshTo("192.168.122.10");
  worker = await sshTo("192.168.122.11");
});

afterAll(async () => {
  manager?.dispose();
  worker?.dispose();
  if (!destroyed && created.length) await destroyRecorded(created, log);
  sweep();
  removeBystanders();
  fs.rmSync(stateRoot, { recursive: true, force: true });
});

const finished = (suffix: string) => {
  const r = created.filter((x) => x.name.endsWith(suffix));
  if (!r.length) throw new Error(`nothing named *${suffix} was created`);
  return Math.max(...r.map((x) => x.finishedMs)) / 1000;
};

describe("npm run up on a real hypervisor", () => {
  it("reports how long each stage took", () => {
    const ssh = Math.max(finished("docker0-ready"), finished("docker1-ready"));
    const swarm = finished("swarm-join-docker1");
    const workload = finished("workload-service");
    log(`TIMINGS: ssh ${ssh.toFixed(1)} s, swarm ${swarm.toFixed(1)} s, workload ${workload.toFixed(1)} s, total up ${upSeconds.toFixed(1)} s`);
    expect(ssh).toBeLessThan(swarm);
    expect(swarm).toBeLessThan(workload);
  });

  it("runs both domains", () => {
    expect(virsh("domstate", `${PREFIX}-docker0`)).toBe("running");
    expect(virsh("domstate", `${PREFIX}-docker1`)).toBe("running");
  });

  it("gives the hosts their documented names and addresses (HOST-1, HOST-2)", async () => {
    expect(await sh(manager!, "hostname")).toBe("docker0.local");
    expect(await sh(worker!, "hostname")).toBe("docker1.local");
    expect(await sh(manager!, "ip -4 -o addr show scope global | awk '{print $2, $4}'")).toContain("192.168.122.10/24");
  });

  it("forms a swarm of two Ready nodes with docker0 the Leader (CL-2)", async () => {
    const nodes = (await sh(manager!, "docker node ls --format '{{.Hostname}} {{.Status}} {{.Availability}} {{.ManagerStatus}}'")).split("\n").sort();
    expect(nodes).toEqual(["docker0.local Ready Active Leader", "docker1.local Ready Active"]);
  });

  it("runs demoservice with one task on each node (WL-2)", async () => {
    const tasks = (await sh(manager!, "docker service ps demoservice --filter desired-state=running --format '{{.Node}} {{.CurrentState}}'")).split("\n");
    expect(tasks).toHaveLength(2);
    expect(tasks.map((t) => t.split(" ")[0]).sort()).toEqual(["docker0.local", "docker1.local"]);
    for (const t of tasks) expect(t).toMatch(/ Running /);
  });

  it("lets the task on docker0 ping the task on docker1 over demonet (PATH-3)", async () => {
    const taskIp = async (ssh: NodeSSH) => {
      const c = await sh(ssh, "docker ps -q --filter label=com.docker.swarm.service.name=demoservice");
      const ip = await sh(ssh, `docker inspect ${c} --format '{{(index .NetworkSettings.Networks "demonet").IPAddress}}'`);
      return { c, ip };
    };
    const t0 = await taskIp(manager!);
    const t1 = await taskIp(worker!);
    expect(t1.ip).toMatch(/^192\.168\.200\.\d+$/);
    const out = await sh(manager!, `docker exec ${t0.c} ping -c 3 -W 2 ${t1.ip}`);
    expect(out).toMatch(/3 packets transmitted, 3 (packets )?received/);
  });

  it("writes the inventory, ssh_config and a 0600 key, and ssh -F works", () => {
    const dir = path.join(stateRoot, ".swarmlab", STACK);
    const inv = JSON.parse(fs.readFileSync(path.join(dir, "inventory.json"), "utf8"));
    expect(inv.hosts.map((h: any) => h.address)).toEqual(["192.168.122.10", "192.168.122.11"]);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    const r = spawnSync("ssh", ["-F", path.join(dir, "ssh_config"), "-o", "BatchMode=yes", "docker1", "hostname"], { encoding: "utf8", timeout: 30_000 });
    expect(r.stderr).not.toMatch(/Permission denied/);
    expect(r.stdout.trim()).toBe("docker1.local");
  });

  it("never shows the join token or the private key in logs or plain state", () => {
    const init = created.find((r) => r.name.endsWith("swarm-init"))!;
    const token = init.outs.stdout as string;
    expect(token).toMatch(/^SWMTKN-1-/);
    const key = fs.readFileSync(keyFile, "utf8");
    const logText = logLines.join("\n");
    expect(logText).not.toContain(token);
    expect(logText).not.toContain(key.split("\n")[1]);
    const files = created.find((r) => r.name.endsWith("-files"))!;
    expect(JSON.stringify(files.outs)).not.toContain(key.split("\n")[1]);
  });

  it("plans no changes on a second up with the same config", async () => {
    const { mocks } = await runMain("plan", manifest, created);
    const changed = mocks.plan.filter((p) => p.changes);
    expect(mocks.plan.length).toBe(created.filter((r) => r.kind !== "component").length);
    expect(changed, JSON.stringify(changed)).toEqual([]);
  });

  let clean: VerifyRun | undefined;

  it("verify: no documented fact fails on the new lab; the changed ones are the documented differences", async () => {
    fs.mkdirSync(RESULTS, { recursive: true });
    const t0 = Date.now();
    clean = await runVerify({ inventoryFile: inventoryFile(), format: "text", saveRawDir: path.join(RESULTS, "gather-clean") });
    const seconds = (Date.now() - t0) / 1000;
    log(`VERIFY: ${seconds.toFixed(1)} s, ${clean.sshSessions} SSH sessions, ${JSON.stringify(clean.summary)}`);
    log(clean.rendered ?? "");
    fs.writeFileSync(path.join(RESULTS, "verify.txt"), clean.rendered ?? "");
    const failed = clean.results.filter((r) => r.outcome === "fail");
    expect(failed.map((r) => `${r.id}: expected ${r.expected}; observed ${r.observed}`)).toEqual([]);
    for (const r of clean.results.filter((x) => x.outcome === "changed")) {
      expect(r.explanation, `${r.id} is "changed" without the documented explanation`).toBeTruthy();
    }
    // The traffic checks ran and passed (PATH-4 decodes VNI 4097 from the wire).
    expect(clean.results.filter((r) => r.id.startsWith("PATH-")).map((r) => `${r.id} ${r.outcome}`)).toEqual([
      "PATH-1 pass",
      "PATH-2 pass",
      "PATH-3 pass",
      "PATH-4 pass",
    ]);
    expect(clean.sshSessions).toBe(3);
    // Where the time goes in the guests: the gather script times each command.
    for (const h of clean.gathered.hosts) {
      const slow = Object.values(h.framed?.sections ?? {}).filter((x) => x.ms !== undefined).sort((a, b) => b.ms! - a.ms!).slice(0, 4);
      log(`VERIFY ${h.host}: session ${h.seconds.toFixed(1)} s, script ${((h.framed?.ms ?? 0) / 1000).toFixed(1)} s; slowest: ${slow.map((x) => `${x.key} ${x.ms} ms`).join(", ")}`);
    }
    // Measured 24-32 s here under TCG on a quiet machine (the issue's target is 30 s), but
    // 40-43 s in CI runs where the same machine was slower throughout (SSH 103 s instead of
    // 73-88 s). The bound catches a return of the old gather (74-93 s) without flaking.
    expect(seconds).toBeLessThan(60);
  });

  it("draws the live lab: every namespace and veth pair of the model is in the SVG, and the HTML report renders", async () => {
    // Drawn from what the verify run above gathered from the live lab (saved raw, replayed here).
    const replayDir = path.join(RESULTS, "gather-clean");
    const d = await renderLabDiagram({ inventoryFile: inventoryFile(), replayDir, output: path.join(RESULTS, "lab.svg") });
    for (const h of d.model.hosts) {
      for (const ns of h.namespaces) expect(d.svg, `${h.name}/${ns.id}`).toContain(ns.id);
    }
    expect(d.model.vethPairs.length).toBeGreaterThanOrEqual(6);
    for (const p of d.model.vethPairs) {
      const a = { host: p.a.host, namespace: p.a.namespace, iface: p.a.ifname };
      const b = { host: p.b.host, namespace: p.b.namespace, iface: p.b.ifname };
      const ids = [vethId({ a, b }), vethId({ a: b, b: a })];
      expect(ids.some((id) => d.svg.includes(`id="${id}"`)), `veth pair ${ids[0]}`).toBe(true);
    }
    expect(d.svg).toMatch(/VNI 4097/);
    const html = path.join(RESULTS, "verify.html");
    const run = await runVerify({ inventoryFile: inventoryFile(), format: "html", output: html, replayDir });
    expect(run.rendered).toContain("<svg");
    const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => fs.existsSync(p));
    if (!chromium) {
      log("no chromium here: the HTML report was not screenshotted");
      return;
    }
    const png = path.join(RESULTS, "verify.png");
    const shot = spawnSync(
      chromium,
      ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        `--user-data-dir=${fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-chromium-"))}`, `--screenshot=${png}`, "--window-size=1600,4200", `file://${html}`],
      { encoding: "utf8", timeout: 120_000 },
    );
    expect(fs.existsSync(png), shot.stderr).toBe(true);
    expect(fs.statSync(png).size).toBeGreaterThan(20_000);
    log(`HTML report screenshot: ${png}`);
  });

  it("verify fails PATH-3 and PATH-4 when the VXLAN path is cut on docker1", async () => {
    const vx = "for n in /var/run/docker/netns/1-*; do nsenter --net=$n ip -o link show type vxlan | awk -F': ' '{print $2}' | sed 's/@.*//' | while read d; do echo \"$n $d\"; done; done";
    const devices = (await sh(worker!, vx)).split("\n").filter(Boolean);
    expect(devices.length).toBeGreaterThan(0);
    const setAll = (state: string) => Promise.all(devices.map((l) => { const [n, d] = l.split(" "); return sh(worker!, `nsenter --net=${n} ip link set ${d} ${state}`); }));
    await setAll("down");
    try {
      const cut = await runVerify({ inventoryFile: inventoryFile(), only: ["PATH-3", "PATH-4"] });
      expect(cut.results.map((r) => `${r.id} ${r.outcome}`)).toEqual(["PATH-3 fail", "PATH-4 fail"]);
    } finally {
      await setAll("up");
    }
  });

  const failing = async (only?: string[]) =>
    (await runVerify({ inventoryFile: inventoryFile(), traffic: false, only })).results.filter((r) => r.outcome === "fail").map((r) => r.id).sort();

  /**
   * Waits until demoservice runs exactly one task on each of the given nodes and every task
   * it is shutting down has really stopped. `sleep` ignores SIGTERM, so a task scaled away
   * keeps its container (and the node its demonet namespace) for Docker's 10 s stop timeout;
   * checking before that would make the result depend on timing.
   */
  async function converge(nodes: string[]): Promise<void> {
    const want = [...nodes].sort().join(",");
    for (let i = 0; i < 120; i++) {
      const tasks = (await sh(manager!, "docker service ps demoservice --format '{{.Node}} {{.DesiredState}} {{.CurrentState}}'"))
        .split("\n").filter(Boolean).map((l) => l.split(" "));
      const got = tasks.filter(([, desired, current]) => desired === "Running" && current === "Running").map(([node]) => node).sort().join(",");
      const stopping = tasks.filter(([, desired, current]) => desired !== "Running" && /^(Running|Starting|Preparing|Assigned|Accepted|Ready)$/.test(current ?? ""));
      if (got === want && stopping.length === 0) {
        await new Promise((r) => setTimeout(r, 3000));
        return;
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
    throw new Error(`demoservice did not converge to ${want}`);
  }

  /**
   * Waits until a node with no demoservice task has let go of demonet: Docker tears an
   * overlay's namespace down some time after the node's last task of it is gone. One CI run
   * that checked in between saw NS-1, OVL-1, OVL-2 and VXLAN-1 fail on a namespace caught
   * half torn down; verify must see the settled state.
   */
  async function demonetLeft(node: string): Promise<void> {
    const ssh = node === "docker0.local" ? manager! : worker!;
    const ns = `1-${(await sh(manager!, "docker network inspect --format '{{.Id}}' demonet")).slice(0, 10)}`;
    for (let i = 0; i < 60; i++) {
      if (!(await sh(ssh, "ls -1 /var/run/docker/netns")).split("\n").includes(ns)) return;
      await new Promise((r) => setTimeout(r, 2000));
    }
    throw new Error(`${node} still has demonet's namespace ${ns} 120 s after its last demoservice task went`);
  }

  it("breaking the lab on purpose trips exactly the facts each break should", async () => {
    // Ordered so that few containers have to start: under software emulation each start is slow.
    // (a) one replica only: WL-2.
    await sh(manager!, "docker service scale --detach demoservice=1");
    let left: string[] = [];
    for (let i = 0; i < 60 && left.length !== 1; i++) {
      await new Promise((r) => setTimeout(r, 2000));
      left = (await sh(manager!, "docker service ps demoservice --filter desired-state=running --format '{{.Node}}'")).split("\n").filter(Boolean);
    }
    await converge(left);
    const idle = ["docker0.local", "docker1.local"].find((n) => !left.includes(n))!;
    // A node without a task is not expected to have demonet's namespace (NS-1, OVL-*), but one
    // caught half torn down would fail those facts: check the settled lab.
    await demonetLeft(idle);
    expect(await failing()).toEqual(["WL-2"]);

    // (b) then the worker drained as well: CL-2 joins WL-2 (the remaining task runs on docker0).
    await sh(manager!, "docker node update --availability drain docker1.local");
    await converge(["docker0.local"]);
    await demonetLeft("docker1.local");
    expect(await failing()).toEqual(["CL-2", "WL-2"]);

    // (c) a whole lab again, but demonet recreated with another subnet.
    await sh(manager!, "docker service rm demoservice");
    await sh(manager!, "docker node update --availability active docker1.local");
    // The swarm removes a network only once its tasks are gone; retry until it is.
    await sh(manager!, "for i in $(seq 1 60); do docker network rm demonet >/dev/null 2>&1; docker network inspect demonet >/dev/null 2>&1 || exit 0; sleep 2; done; exit 1");
    await sh(manager!, "docker network create -d overlay --subnet 192.168.201.0/24 demonet");
    await sh(manager!, "docker service create --detach --no-resolve-image --replicas 2 --network demonet --name demoservice swarmlab/busybox-static:local sleep 50000");
    await converge(["docker0.local", "docker1.local"]);
    expect(await failing()).toEqual(["IPAM-1", "RT-1", "SB-1", "SB-2", "VXLAN-1", "WL-1"]);
  });

  it("notices, as pulumi refresh would, a domain deleted by hand; destroy then removes everything else", async () => {
    const dom = created.find((r) => r.name.endsWith("docker1-domain"))!;
    const p = loadDynamicProvider(dom.providerText!);
    expect((await p.read!(dom.id, dom.outs)).id).toBe(dom.id);
    virsh("destroy", `${PREFIX}-docker1`);
    virsh("undefine", `${PREFIX}-docker1`);
    expect((await p.read!(dom.id, dom.outs)).id).toBe("");

    const errors = await destroyRecorded(created, log);
    destroyed = true;
    expect(errors.map((e) => e.message)).toEqual([]);

    expect(names("list", "--all", "--name").filter((n) => n.startsWith(PREFIX))).toEqual([]);
    expect(names("net-list", "--all", "--name").filter((n) => n.startsWith(PREFIX))).toEqual([]);
    expect(names("pool-list", "--all", "--name").filter((n) => n.startsWith(PREFIX))).toEqual([]);
    expect(fs.existsSync(`/var/lib/libvirt/images/${PREFIX}`)).toBe(false);
    expect(fs.existsSync(path.join(stateRoot, ".swarmlab", STACK))).toBe(false);
    const qemu = spawnSync("pgrep", ["-f", `guest=${PREFIX}`], { encoding: "utf8" }).stdout.trim();
    expect(qemu).toBe("");
    expect(spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout).toBe(netnsBefore);
    // What the lab did not create is untouched.
    expect(virsh("net-info", BYSTANDER)).toMatch(/Active:\s+yes/);
    expect(names("vol-list", BYSTANDER).join("\n")).toContain("keep-me.qcow2");
  });
});
