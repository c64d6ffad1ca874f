/**
 * End to end, through the real Pulumi engine and only the commands the README gives a user:
 * `npm run pulumi -- config set-all`, an `npm run up` interrupted with Ctrl-C then `npm run up`
 * (which ends with verify), `npm run preview -- --expect-no-changes`, `npm run verify`, a
 * refused change, a new workloadImage rolled out, a domain deleted by hand then `npm run
 * refresh` and `npm run up` with a new memoryMiB, `npm run reset` after breaks, deliberate
 * breaks that verify must notice, and `npm run down -- --remove` leaving nothing behind.
 *
 * Run through `npm run test:e2e`: it builds the Pulumi CLI from Go modules and the Debian test
 * image (both cached), installs the CLI into a fresh $PULUMI_HOME where the npm package
 * `pulumi` looks for it, creates a network namespace, starts virtlogd/libvirtd in it and runs
 * this file inside it (so every packet stays inside the lab).
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { NodeSSH } from "node-ssh";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTestImage, testImageConfig } from "../harness/image";
import { runVerify } from "../../scripts/lib/verify/run";
import { renderLabDiagram } from "../../scripts/cli/diagram";
import { vethId } from "../../scripts/lib/diagram/diagram";
import { labDriver, NOTHING_FAILED, NpmRun, RESULTS, ROOT, URI } from "./driver";
import { labNamed } from "../../labs";

const BYSTANDER = "swarmlab-bystander";
const NETNS = process.env.SWARMLAB_E2E_NETNS;
const lab = labDriver("e2e");
const { STACK, PREFIX, LAB_DIR, STATE_FILE, inventoryFile, keyFile, logLines } = lab;
const { virsh, virshOk, names, log, npmRun, npmRunInterrupted, exportState, resourceNamed, sshTo, sh, sweep, consoleTails, phasesOf } = lab;

function defineBystanders(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-bystander-"));
  fs.writeFileSync(
    path.join(dir, "net.xml"),
    `<network><name>${BYSTANDER}</name><bridge name='swl-bystand'/><ip address='192.168.150.1' netmask='255.255.255.0'/></network>`,
  );
  fs.writeFileSync(path.join(dir, "pool.xml"), `<pool type='dir'><name>${BYSTANDER}</name><target><path>${dir}/pool</path></target></pool>`);
  for (const args of [
    ["net-define", path.join(dir, "net.xml")],
    ["net-start", BYSTANDER],
    ["pool-define", path.join(dir, "pool.xml")],
    ["pool-build", BYSTANDER],
    ["pool-start", BYSTANDER],
    ["vol-create-as", BYSTANDER, "keep-me.qcow2", "16M", "--format", "qcow2"],
  ]) {
    if (!virshOk(...args)) throw new Error(`virsh ${args.join(" ")} failed`);
  }
}

function removeBystanders(): void {
  virshOk("vol-delete", "--pool", BYSTANDER, "keep-me.qcow2");
  virshOk("pool-destroy", BYSTANDER);
  virshOk("pool-delete", BYSTANDER);
  virshOk("pool-undefine", BYSTANDER);
  virshOk("net-destroy", BYSTANDER);
  virshOk("net-undefine", BYSTANDER);
}

let manager: NodeSSH | undefined;
let worker: NodeSSH | undefined;
let up: NpmRun | undefined;
let interrupted: NpmRun | undefined;
let domainsAtInterrupt: string[] = [];
let downDone = false;
const netnsBefore = spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout;

beforeAll(async () => {
  if (!NETNS) throw new Error("run the end-to-end test through `npm run test:e2e`: it must run inside the test hypervisor's network namespace");
  if (!process.env.PULUMI_HOME || process.env.PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION !== "true") {
    throw new Error("run the end-to-end test through `npm run test:e2e`: it installs the Pulumi CLI it builds into a test $PULUMI_HOME");
  }
  const manifest = await ensureTestImage(log);
  sweep();
  removeBystanders();
  defineBystanders();

  const config = { "swarmlab:libvirtUri": URI, ...testImageConfig(manifest) };
  const set = await npmRun("pulumi", "--", "config", "set-all", "--stack", STACK, ...Object.entries(config).flatMap(([k, v]) => ["--plaintext", `${k}=${v}`]));
  if (set.code !== 0) throw new Error(`config set-all failed (${set.code})`);

  // Ctrl-C while the domains are being created, as a trainer might; the next up must converge.
  interrupted = await npmRunInterrupted(/swarmlab-e2e-docker[01]-domain creating/, "up", "--", "--stack", STACK);
  domainsAtInterrupt = names("list", "--all", "--name").filter((n) => n.startsWith(PREFIX));
  up = await npmRun("up", "--", "--stack", STACK);
  if (up.code !== 0) {
    consoleTails();
    throw new Error(`npm run up exited ${up.code}`);
  }
  manager = await sshTo("192.168.122.10");
  worker = await sshTo("192.168.122.11");
});

afterAll(async () => {
  manager?.dispose();
  worker?.dispose();
  if (!downDone && fs.existsSync(STATE_FILE)) await npmRun("down", "--", "--stack", STACK, "--remove");
  sweep();
  removeBystanders();
});

describe("the lab through the real Pulumi engine and the README's commands", () => {
  it("npm run up builds the lab in phases and ends with a verify in which no fact fails", () => {
    const { total, phases } = phasesOf(up!.output);
    log(`TIMINGS: up ${total.toFixed(1)} s (npm run up incl. verify: ${up!.seconds.toFixed(1)} s); ${JSON.stringify(phases)}`);
    // The interrupted up may already have defined the domains; every later phase ran in this one.
    const order = ["define", "ssh", "docker", "swarm", "workload"].filter((p, i) => i > 0 || p in phases);
    expect(Object.keys(phases)).toEqual(order);
    for (let i = 1; i < order.length; i++) expect(phases[order[i]]).toBeGreaterThan(phases[order[i - 1]]);
    // The verify summary that `up` printed: every fact passes or is a documented change.
    expect(up!.output).toMatch(/Verifying the new lab/);
    expect(up!.output).toMatch(NOTHING_FAILED);
  });

  it("an up interrupted (Ctrl-C) while the domains were being created stopped, and the next up converged", () => {
    expect(interrupted!.code).not.toBe(0);
    expect(interrupted!.output).toMatch(/interrupted; waiting for the steps under way to finish/);
    log(`INTERRUPT: stopped after ${interrupted!.seconds.toFixed(1)} s; domains then: ${JSON.stringify(domainsAtInterrupt)}`);
    // The interrupt came once libvirt had a domain of the lab that Pulumi had not recorded yet.
    expect(domainsAtInterrupt.length).toBeGreaterThan(0);
    expect(up!.code).toBe(0);
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

  it("booted without cloud-init: the image's swarmlab-init applied the seed (key login, NIC ens3 by its MAC)", async () => {
    for (const host of [manager!, worker!]) {
      expect(await sh(host, "systemctl is-active swarmlab-init.service")).toBe("active");
      expect(await sh(host, "command -v cloud-init || echo none")).toBe("none");
      expect(await sh(host, "ip -br link show ens3 | awk '{print $1}'")).toBe("ens3");
      expect(await sh(host, "sudo -n sshd -T | grep -E '^(passwordauthentication|permitrootlogin) ' | sort | tr '\\n' ' '")).toBe("passwordauthentication no permitrootlogin no");
    }
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
    const inv = JSON.parse(fs.readFileSync(inventoryFile, "utf8"));
    expect(inv.hosts.map((h: any) => h.address)).toEqual(["192.168.122.10", "192.168.122.11"]);
    expect(fs.statSync(keyFile).mode & 0o777).toBe(0o600);
    const r = spawnSync("ssh", ["-F", path.join(LAB_DIR, "ssh_config"), "-o", "BatchMode=yes", "docker1", "hostname"], { encoding: "utf8", timeout: 30_000 });
    expect(r.stderr).not.toMatch(/Permission denied/);
    expect(r.stdout.trim()).toBe("docker1.local");
  });

  it("keeps the join token and the private key as secrets: ciphertext in the state file, absent from every log", async () => {
    const open = await exportState(true);
    // --show-secrets prints a secret as {<secret signature>, plaintext: <its JSON>}.
    const secret = resourceNamed(open, "swarm-init")?.outputs?.stdout;
    const token: string = typeof secret?.plaintext === "string" ? JSON.parse(secret.plaintext) : secret;
    expect(token).toMatch(/^SWMTKN-1-/);
    const keyLine = fs.readFileSync(keyFile, "utf8").split("\n")[1];
    expect(keyLine.length).toBeGreaterThan(40);
    const plain = fs.readFileSync(STATE_FILE, "utf8");
    expect(plain).toContain("ciphertext");
    const sealed = JSON.stringify(await exportState(false));
    const logs = logLines.join("\n");
    for (const [what, text] of [["the state file", plain], ["stack export", sealed], ["the logs", logs]] as const) {
      expect(text.includes(token), `the join token is in ${what}`).toBe(false);
      expect(text.includes(keyLine), `the private key is in ${what}`).toBe(false);
    }
  });

  it("npm run preview plans no change on the lab it built (--expect-no-changes)", async () => {
    const r = await npmRun("preview", "--", "--stack", STACK, "--expect-no-changes");
    expect(r.code).toBe(0);
  });

  it("npm run verify: no documented fact fails; the changed ones are the documented differences", async () => {
    fs.mkdirSync(RESULTS, { recursive: true });
    const out = path.join(RESULTS, "verify.json");
    const r = await npmRun("verify", "--", "--stack", STACK, "--format", "json", "--output", out, "--save-raw", path.join(RESULTS, "gather-clean"));
    expect(r.code).toBe(0);
    const report = JSON.parse(fs.readFileSync(out, "utf8"));
    log(`VERIFY: ${r.seconds.toFixed(1)} s (npm run verify), ${report.timings.totalSeconds.toFixed(1)} s inside, ${report.sshSessions} SSH sessions, ${JSON.stringify(report.summary)}`);
    const failed = report.results.filter((x: any) => x.outcome === "fail");
    expect(failed.map((x: any) => `${x.id}: expected ${x.expected}; observed ${x.observed}`)).toEqual([]);
    for (const x of report.results.filter((y: any) => y.outcome === "changed")) {
      expect(x.explanation, `${x.id} is "changed" without the documented explanation`).toBeTruthy();
    }
    // The traffic checks ran and passed (PATH-4 decodes VNI 4097 from the wire).
    expect(report.results.filter((x: any) => x.id.startsWith("PATH-")).map((x: any) => `${x.id} ${x.outcome}`)).toEqual([
      "PATH-1 pass",
      "PATH-2 pass",
      "PATH-3 pass",
      "PATH-4 pass",
    ]);
    expect(report.sshSessions).toBe(3);
    // The gather read docker through the engine's API (one Python process per host).
    for (const h of ["docker0", "docker1"]) expect(fs.readFileSync(path.join(RESULTS, "gather-clean", `${h}.txt`), "utf8")).toMatch(/^docker_client=api$/m);
    // 9-16 s here under TCG with the API path; the bound catches a return of the old
    // gather (74-93 s) without flaking.
    expect(report.timings.totalSeconds).toBeLessThan(60);
  });

  it("verify --docker-cli (the docker CLI instead of the engine's API) judges every fact the same", async () => {
    const out = path.join(RESULTS, "verify-docker-cli.json");
    const r = await npmRun("verify", "--", "--stack", STACK, "--docker-cli", "--no-traffic", "--format", "json", "--output", out, "--save-raw", path.join(RESULTS, "gather-docker-cli"));
    expect(r.code).toBe(0);
    const viaCli = JSON.parse(fs.readFileSync(out, "utf8"));
    const viaApi = JSON.parse(fs.readFileSync(path.join(RESULTS, "verify.json"), "utf8"));
    log(`VERIFY --docker-cli --no-traffic: ${r.seconds.toFixed(1)} s (npm run verify), ${viaCli.timings.totalSeconds.toFixed(1)} s inside`);
    expect(fs.readFileSync(path.join(RESULTS, "gather-docker-cli", "docker0.txt"), "utf8")).toMatch(/^docker_client=cli$/m);
    const outcomes = (rep: any) => rep.results.filter((x: any) => !x.id.startsWith("PATH-")).map((x: any) => `${x.id} ${x.outcome}`);
    expect(outcomes(viaCli)).toEqual(outcomes(viaApi));
  });

  it("npm run class -- verify grades the lab into one gradebook: HTML, CSV and JUnit, the learner's reports linked", async () => {
    const r = await npmRun("class", "--", "verify", "--learners", STACK);
    expect(r.code).toBe(0);
    const dir = path.join(ROOT, r.output.match(/^\s+(\.swarmlab\/class\/[^/]+)\/gradebook\.csv$/m)![1]!);
    const csv = fs.readFileSync(path.join(dir, "gradebook.csv"), "utf8").trim().split("\r\n");
    expect(csv).toHaveLength(2);
    const head = csv[0]!.split(",");
    const row = csv[1]!.split(",");
    expect(row.slice(0, 3)).toEqual([STACK, "swarm-overlay", "ok"]);
    expect(row[head.indexOf("fail")]).toBe("0");
    expect(row[head.indexOf("PATH-4")]).toBe("pass");
    expect(fs.readFileSync(path.join(dir, "gradebook.html"), "utf8")).toContain(`<a href="${STACK}/report.html">report</a>`);
    expect(fs.readFileSync(path.join(dir, STACK, "report.html"), "utf8")).toContain("<svg");
    expect(fs.readFileSync(path.join(dir, "gradebook.junit.xml"), "utf8")).toMatch(/<testsuite name="e2e \(swarm-overlay\)" tests="29" failures="0" errors="0"/);
    log(`CLASS: one learner graded in ${r.seconds.toFixed(1)} s`);
  });

  it("draws the live lab: every namespace and veth pair of the model is in the SVG, and the HTML report renders", async () => {
    // Drawn from what the verify run above gathered from the live lab (saved raw, replayed here).
    const replayDir = path.join(RESULTS, "gather-clean");
    const d = await renderLabDiagram({ inventoryFile, replayDir, output: path.join(RESULTS, "lab.svg") });
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
    const run = await runVerify({ labs: labNamed, inventoryFile, format: "html", output: html, replayDir });
    expect(run.rendered).toContain("<svg");
    const png = path.join(RESULTS, "verify.png");
    const shot = spawnSync(
      "chromium",
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
      const cut = await runVerify({ labs: labNamed, inventoryFile, only: ["PATH-3", "PATH-4"] });
      expect(cut.results.map((r) => `${r.id} ${r.outcome}`)).toEqual(["PATH-3 fail", "PATH-4 fail"]);
    } finally {
      await setAll("up");
    }
  });

  it("a fixed setting changed on the running lab is refused before anything changes, saying how", async () => {
    const set = await npmRun("pulumi", "--", "config", "set", "swarmlab:dockerVersion", "24.0", "--stack", STACK);
    expect(set.code).toBe(0);
    const refused = await npmRun("up", "--", "--stack", STACK);
    expect(refused.code).not.toBe(0);
    expect(refused.output).toMatch(/swarmlab:dockerVersion is 24\.0, but the running lab was built with/);
    expect(refused.output).toMatch(/npm run down -- --stack e2e/);
    expect(refused.output).not.toMatch(/Updating \(e2e\)/);
    expect((await npmRun("pulumi", "--", "config", "rm", "swarmlab:dockerVersion", "--stack", STACK)).code).toBe(0);
  });

  it("a new workloadImage is rolled out to the service by npm run up, and verify passes", async () => {
    // Guests have no registry: the new image must be on both nodes (an honest second name).
    for (const ssh of [manager!, worker!]) await sh(ssh, "docker tag swarmlab/busybox-static:local swarmlab/busybox-static:v2");
    expect((await npmRun("pulumi", "--", "config", "set", "swarmlab:workloadImage", "swarmlab/busybox-static:v2", "--stack", STACK)).code).toBe(0);
    const preview = await npmRun("preview", "--", "--stack", STACK);
    expect(preview.code).toBe(0);
    expect(preview.output).toMatch(/swarmlab-e2e-workload-service\s+update/);
    expect(preview.output).not.toMatch(new RegExp(`${PREFIX}-docker\\S*\\s+(replace|create|delete)`));
    const r = await npmRun("up", "--", "--stack", STACK);
    expect(r.code).toBe(0);
    log(`TIMINGS: up with a new workloadImage: ${phasesOf(r.output).total.toFixed(1)} s; ${JSON.stringify(phasesOf(r.output).phases)}`);
    expect(r.output).toMatch(NOTHING_FAILED);
    const images = (await sh(manager!, "docker service ps demoservice --filter desired-state=running --format '{{.Node}} {{.Image}}'")).split("\n").sort();
    expect(images).toEqual(["docker0.local swarmlab/busybox-static:v2", "docker1.local swarmlab/busybox-static:v2"]);
  });

  it("a domain deleted by hand is noticed by npm run refresh; with a new memoryMiB, npm run up brings it back, replaces the other, and verify passes", async () => {
    worker?.dispose();
    virsh("destroy", `${PREFIX}-docker1`);
    // With its snapshot's metadata: up saved a reset baseline, and libvirt keeps a domain that has one.
    virsh("undefine", "--snapshots-metadata", `${PREFIX}-docker1`);
    expect(names("list", "--all", "--name")).not.toContain(`${PREFIX}-docker1`);
    const refresh = await npmRun("refresh", "--", "--stack", STACK);
    expect(refresh.code).toBe(0);
    expect(refresh.output).toMatch(new RegExp(`${PREFIX}-docker1-domain\\s+deleted`));
    expect(resourceNamed(await exportState(false), "docker1-domain")).toBeUndefined();

    expect((await npmRun("pulumi", "--", "config", "set", "swarmlab:memoryMiB", "1280", "--stack", STACK)).code).toBe(0);
    const preview = await npmRun("preview", "--", "--stack", STACK);
    expect(preview.code).toBe(0);
    expect(preview.output).toMatch(new RegExp(`${PREFIX}-docker1-domain\\s+create`));
    expect(preview.output).toMatch(new RegExp(`${PREFIX}-docker0-domain\\s+replace`));

    const again = await npmRun("up", "--", "--stack", STACK);
    expect(again.code).toBe(0);
    log(`TIMINGS: up with docker1 deleted and a new memoryMiB: ${phasesOf(again.output).total.toFixed(1)} s; ${JSON.stringify(phasesOf(again.output).phases)}`);
    for (const h of ["docker0", "docker1"]) {
      expect(virsh("domstate", `${PREFIX}-${h}`)).toBe("running");
      expect(virsh("dominfo", `${PREFIX}-${h}`)).toMatch(/Max memory:\s+1310720 KiB/);
    }
    // Its verify (part of `up`) passed; the service runs one task per node again.
    expect(again.output).toMatch(NOTHING_FAILED);
    manager?.dispose();
    manager = await sshTo("192.168.122.10");
    worker = await sshTo("192.168.122.11");
    const tasks = (await sh(manager!, "docker service ps demoservice --filter desired-state=running --format '{{.Node}}'")).split("\n").sort();
    expect(tasks).toEqual(["docker0.local", "docker1.local"]);
    expect((await npmRun("preview", "--", "--stack", STACK, "--expect-no-changes")).code).toBe(0);
  });

  it("npm run reset undoes a learner's breaks, twice in a row; verify passes and Pulumi sees no change", async () => {
    // The up above changed the lab and verified it, so it saved the baseline reset returns to.
    expect(virsh("snapshot-list", `${PREFIX}-docker0`, "--name")).toMatch(/^swarmlab-baseline-\d{8}T\d{6}$/m);
    const vx = "for n in /var/run/docker/netns/1-*; do nsenter --net=$n ip -o link show type vxlan | awk -F': ' '{print $2}' | sed 's/@.*//' | while read d; do nsenter --net=$n ip link del $d; done; done";
    await sh(manager!, vx);
    await sh(worker!, "systemctl stop docker docker.socket");
    expect((await runVerify({ labs: labNamed, inventoryFile, traffic: false })).results.filter((r) => r.outcome === "fail").length).toBeGreaterThan(0);
    manager?.dispose();
    worker?.dispose();
    for (const round of [1, 2]) {
      const r = await npmRun("reset", "--", "--stack", STACK);
      expect(r.code).toBe(0);
      log(`TIMINGS: reset ${round}: ${r.seconds.toFixed(1)} s (npm run reset); ${r.output.match(/reset in [^;]*/)?.[0]}`);
      // The target is 30 s here (11-16 s measured); the bound only catches a reset that rebuilds.
      expect(r.seconds).toBeLessThan(90);
      // The lab's own readiness check ran (not its workload again) and saw the overlay carry a ping.
      expect(r.output).toMatch(/^ {2}docker0: one task per node running after \d+s$/m);
      expect(r.output).toMatch(/^ {2}docker0: overlay: 192\.168\.200\.\d+ answers$/m);
    }
    const v = await npmRun("verify", "--", "--stack", STACK);
    expect(v.code).toBe(0);
    expect(v.output).toMatch(NOTHING_FAILED);
    expect((await npmRun("preview", "--", "--stack", STACK, "--expect-no-changes")).code).toBe(0);
    manager = await sshTo("192.168.122.10");
    worker = await sshTo("192.168.122.11");
  });

  /** The facts verify fails (without the traffic checks); what it observed of each is logged. */
  const failing = async (only?: string[]) => {
    const failed = (await runVerify({ labs: labNamed, inventoryFile, traffic: false, only })).results.filter((r) => r.outcome === "fail");
    for (const r of failed) log(`  fails ${r.id}: ${r.observed}`);
    return failed.map((r) => r.id).sort();
  };

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
    const ns = `1-${(await sh(manager!, "docker network inspect --format '{{.Id}}' demonet")).slice(0, 10)}`;
    await namespacesGone(node, [ns], "its last demoservice task went");
  }

  /** Waits until the node has none of these namespaces in /var/run/docker/netns (at most 120 s). */
  async function namespacesGone(node: string, names: string[], since: string): Promise<void> {
    const ssh = node === "docker0.local" ? manager! : worker!;
    let left: string[] = [];
    for (let i = 0; i < 60; i++) {
      const present = (await sh(ssh, "ls -1 /var/run/docker/netns")).split("\n");
      left = names.filter((n) => present.includes(n));
      if (left.length === 0) return;
      await new Promise((r) => setTimeout(r, 2000));
    }
    throw new Error(`${node} still has ${left.join(", ")} 120 s after ${since}`);
  }

  it("npm run up switches the running hosts to each of the chapter's labs in turn, replacing only the lab's own part; each verifies", async () => {
    /** The labs the services, containers and networks on the hosts are labelled with. */
    const labelled = async (): Promise<string[]> =>
      (await sh(manager!, [
        `docker service ls -q | xargs -r docker service inspect --format '{{index .Spec.Labels "swarmlab.lab"}}'`,
        `docker ps -aq | xargs -r docker inspect --format '{{index .Config.Labels "swarmlab.lab"}}'`,
        `docker network ls -q | xargs -r docker network inspect --format '{{index .Labels "swarmlab.lab"}}'`,
      ].join("; ")))
        .split("\n")
        .filter(Boolean)
        .filter((v, i, all) => all.indexOf(v) === i)
        .sort();
    expect(await labelled()).toEqual(["swarm-overlay"]);
    const domains = () => names("list", "--uuid").sort();
    const before = domains();
    for (const name of ["bridge", "routing-mesh", "encrypted-overlay", "macvlan", "swarm-overlay"]) {
      expect((await npmRun("pulumi", "--", "config", "set", "swarmlab:lab", name, "--stack", STACK)).code).toBe(0);
      if (name === "bridge") {
        // Only the lab's own part changes: the workload step (and the files naming the lab).
        const preview = await npmRun("preview", "--", "--stack", STACK);
        expect(preview.code).toBe(0);
        expect(preview.output).toMatch(/swarmlab-e2e-workload-service\s+update/);
        expect(preview.output).not.toMatch(new RegExp(`${PREFIX}-(docker\\S*|swarm\\S*|network\\S*|storage\\S*)\\s+(replace|create|delete|update)`));
      }
      const r = await npmRun("up", "--", "--stack", STACK);
      expect(r.code, r.output.slice(-3000)).toBe(0);
      log(`LAB ${name}: up ${r.seconds.toFixed(1)} s (switch and closing verify); ${JSON.stringify(phasesOf(r.output).phases)}`);
      expect(r.output).toMatch(NOTHING_FAILED);
      const out = path.join(RESULTS, `verify-${name}.json`);
      const v = await npmRun("verify", "--", "--stack", STACK, "--format", "json", "--output", out, "--save-raw", path.join(RESULTS, `gather-${name}`));
      const report = JSON.parse(fs.readFileSync(out, "utf8"));
      log(`LAB ${name}: verify ${v.seconds.toFixed(1)} s, ${JSON.stringify(report.summary)}`);
      expect(v.code).toBe(0);
      // Every fact of the lab judged, each pass or (with the documented reason) changed.
      expect(report.results.map((x: any) => x.id)).toEqual(labNamed(name).facts.map((f) => f.id));
      expect(report.results.filter((x: any) => x.outcome !== "pass" && x.outcome !== "changed").map((x: any) => `${x.id} ${x.outcome}: ${x.observed} (${x.explanation ?? ""})`)).toEqual([]);
      for (const x of report.results.filter((y: any) => y.outcome === "changed")) expect(x.explanation, `${x.id}`).toBeTruthy();
      // What the previous lab labelled is gone; the hosts are the same guests.
      expect(await labelled()).toEqual([name]);
      expect(domains()).toEqual(before);
    }
    // The IPsec keys of the encrypted overlay are in no report, saved output or log.
    const saved = path.join(RESULTS, "gather-encrypted-overlay");
    for (const f of fs.readdirSync(saved)) expect(fs.readFileSync(path.join(saved, f), "utf8"), f).not.toMatch(/(aead|enc|auth)\S* rfc4106\(gcm\(aes\)\) 0x[0-9a-f]{8,}/);
  });

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
    const oldDemonet = await sh(manager!, "docker network inspect --format '{{.Id}}' demonet");
    await sh(manager!, "docker service rm demoservice");
    await sh(manager!, "docker node update --availability active docker1.local");
    // The swarm removes a network only once its tasks are gone; retry until it is.
    await sh(manager!, "for i in $(seq 1 60); do docker network rm demonet >/dev/null 2>&1; docker network inspect demonet >/dev/null 2>&1 || exit 0; sleep 2; done; exit 1");
    // Each node then drops the old demonet's namespaces (its overlay's and its load balancer's) on
    // its own time: NS-1 would rightly fail one still there (no network owns it). Judge the settled lab.
    for (const node of ["docker0.local", "docker1.local"]) {
      await namespacesGone(node, [`1-${oldDemonet.slice(0, 10)}`, `lb_${oldDemonet.slice(0, 9)}`], "the old demonet was removed");
    }
    await sh(manager!, "docker network create -d overlay --subnet 192.168.201.0/24 demonet");
    await sh(manager!, "docker service create --detach --no-resolve-image --replicas 2 --network demonet --name demoservice swarmlab/busybox-static:v2 sleep 50000");
    await converge(["docker0.local", "docker1.local"]);
    // The swarm may give the new network the freed VXLAN id 4097 again (VXLAN-1 then holds) or the next one.
    const vni = await sh(manager!, `docker network inspect demonet --format '{{index .Options "com.docker.network.driver.overlay.vxlanid_list"}}'`);
    log(`break (c): demonet recreated on 192.168.201.0/24 with VXLAN id ${vni}`);
    expect(await failing()).toEqual(["IPAM-1", "RT-1", "SB-1", "SB-2", ...(vni === "4097" ? [] : ["VXLAN-1"]), "WL-1"]);
  });

  it("npm run down -- --remove leaves nothing of the lab, and everything else as it was", async () => {
    manager?.dispose();
    worker?.dispose();
    const down = await npmRun("down", "--", "--stack", STACK, "--remove");
    expect(down.code).toBe(0);
    downDone = true;
    log(`TIMINGS: down ${down.seconds.toFixed(1)} s`);

    expect(names("list", "--all", "--name").filter((n) => n.startsWith(PREFIX))).toEqual([]);
    expect(names("net-list", "--all", "--name").filter((n) => n.startsWith(PREFIX))).toEqual([]);
    expect(names("pool-list", "--all", "--name").filter((n) => n.startsWith(PREFIX))).toEqual([]);
    expect(fs.existsSync(`/var/lib/libvirt/images/${PREFIX}`)).toBe(false);
    expect(fs.existsSync(LAB_DIR)).toBe(false);
    expect(fs.existsSync(STATE_FILE)).toBe(false);
    expect(fs.existsSync(path.join(ROOT, `Pulumi.${STACK}.yaml`))).toBe(false);
    const qemu = spawnSync("pgrep", ["-f", `guest=${PREFIX}`], { encoding: "utf8" }).stdout.trim();
    expect(qemu).toBe("");
    expect(spawnSync("ip", ["netns", "list"], { encoding: "utf8" }).stdout).toBe(netnsBefore);
    // What the lab did not create is untouched.
    expect(virsh("net-info", BYSTANDER)).toMatch(/Active:\s+yes/);
    expect(names("vol-list", BYSTANDER).join("\n")).toContain("keep-me.qcow2");
  });
});
