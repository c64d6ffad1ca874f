/**
 * A classroom of two learners on the test hypervisor, through the trainer's commands: the
 * trainer configures a template stack, `npm run class -- up --learners 2 --from <template>
 * --hypervisors qemu:///system,qemu+ssh://...` builds both labs at once (each its own stack,
 * network range, bridge, names and key), `class verify` grades them into one gradebook, `class
 * down` leaves nothing of either.
 *
 * learner-01's lab goes through qemu:///system, learner-02's through qemu+ssh:// to the same
 * libvirtd: an OpenSSH sshd that the test starts on 127.0.0.1 inside the test's network namespace
 * (test/harness/sshd.ts), whose host key is added to root's known_hosts as after a first ssh
 * there (put back as it was afterwards), so libvirt's ssh transport and virt-ssh-helper carry
 * every virsh call of that learner's up and down; the sshd's log shows the logins. From
 * learner-01's docker0, learner-02's guests must be out of reach while learner-01's own are not.
 * `class reset --learners learner-02` undoes a break in that learner's lab (Docker stopped on its
 * docker1) through the ssh URI, and the gradebook that follows grades both labs green.
 *
 * Smaller guests (1024 MiB) than the main test's; the files run one after the other, so no other lab runs.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testImageConfig } from "../harness/image";
import { startTestSshd, trustHostKey, type TestSshd } from "../harness/sshd";
import { labDriver, NpmRun, RESULTS, ROOT, URI } from "./driver";

const MANIFEST = process.env.SWARMLAB_TEST_IMAGE_MANIFEST;
const template = labDriver("class-t");
const learners = ["learner-01", "learner-02"].map((s) => labDriver(s));
const { log, npmRun } = template;
let up: NpmRun | undefined;
let sshd: TestSshd | undefined;
let untrust: (() => Promise<void>) | undefined;
/** The sshd's accepted logins: after its own check at start, and after class up. */
let loginsAtStart = 0;
let loginsAfterUp = 0;

/** Names of libvirt objects through `uri`; throws when virsh fails (an unreachable hypervisor lists nothing). */
function namesVia(uri: string, ...args: string[]): string[] {
  const r = spawnSync("virsh", ["-q", "-c", uri, ...args], { encoding: "utf8", timeout: 60_000 });
  if (r.status !== 0) throw new Error(`virsh -c ${uri} ${args.join(" ")} failed (${r.status}): ${r.stderr.trim()}`);
  return r.stdout.split("\n").map((s) => s.trim()).filter(Boolean);
}

/** A stack's configuration value, as `pulumi config get` prints it. */
function configGet(stack: string, key: string): string {
  const r = spawnSync("npm", ["run", "--silent", "pulumi", "--", "config", "get", key, "--stack", stack], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`pulumi config get ${key} --stack ${stack} failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** Runs a command on one of a learner's guests through their ssh_config, as the learner would. */
function onGuest(learner: ReturnType<typeof labDriver>, host: string, cmd: string) {
  const r = spawnSync("ssh", ["-F", path.join(learner.LAB_DIR, "ssh_config"), "-o", "BatchMode=yes", host, cmd], { encoding: "utf8", timeout: 60_000 });
  log(`${learner.STACK} ${host}$ ${cmd} -> exit ${r.status}\n${(r.stdout + r.stderr).trim()}`);
  return r;
}

const addressOf = (learner: ReturnType<typeof labDriver>, host: string): string => {
  const inv = JSON.parse(fs.readFileSync(learner.inventoryFile, "utf8"));
  const h = (inv.hosts as { name: string; address: string }[]).find((x) => x.name === host);
  if (!h) throw new Error(`no ${host} in ${learner.inventoryFile}`);
  return h.address;
};

beforeAll(async () => {
  const netns = process.env.SWARMLAB_E2E_NETNS;
  if (!netns || !MANIFEST) throw new Error("run through npm run test:e2e, which builds the test image and starts the test hypervisor");
  for (const l of [template, ...learners]) l.sweep();
  fs.rmSync(path.join(ROOT, ".swarmlab", "class"), { recursive: true, force: true });
  sshd = await startTestSshd({ netns, log });
  untrust = await trustHostKey(sshd.knownHostsLine, log);
  loginsAtStart = await sshd.acceptedLogins();
  // verifyAfterUp stays on (the default): each learner's up ends with a verify that saves the baseline class reset returns to.
  const config = { ...testImageConfig(MANIFEST), "swarmlab:memoryMiB": "1024" };
  const set = await npmRun("pulumi", "--", "config", "set-all", "--stack", template.STACK, ...Object.entries(config).flatMap(([k, v]) => ["--plaintext", `${k}=${v}`]));
  if (set.code !== 0) throw new Error(`config set-all failed (${set.code})`);
  up = await npmRun("class", "--", "up", "--learners", "2", "--from", template.STACK, "--parallel", "2", "--hypervisors", `${URI},${sshd.uri}`);
  loginsAfterUp = await sshd.acceptedLogins();
});

afterAll(async () => {
  try {
    if (learners.some((l) => fs.existsSync(l.STATE_FILE))) await npmRun("class", "--", "down");
    for (const l of [template, ...learners]) l.sweep();
    fs.rmSync(path.join(ROOT, ".swarmlab", "class"), { recursive: true, force: true });
  } finally {
    if (sshd) {
      fs.mkdirSync(RESULTS, { recursive: true });
      fs.writeFileSync(path.join(RESULTS, "class-sshd.log"), await sshd.readLog());
    }
    await untrust?.();
    await sshd?.stop();
  }
});

describe("a classroom: two learners' labs at once, one through qemu+ssh://, one gradebook, nothing left", () => {
  it("class up builds both labs at once, each on its own network range, from the template's settings", () => {
    expect(up!.code).toBe(0);
    log(`CLASS UP: 2 labs in ${up!.seconds.toFixed(1)} s`);
    expect(up!.output).toMatch(/class up: 2 of 2 learner\(s\) done/);
    const cidrs = learners.map((l) => JSON.parse(fs.readFileSync(l.inventoryFile, "utf8")).network.cidr);
    expect(new Set(cidrs).size).toBe(2);
    for (const l of learners) {
      const inv = JSON.parse(fs.readFileSync(l.inventoryFile, "utf8"));
      expect(inv.hosts).toHaveLength(2);
      // Each learner has their own key and ssh_config, for their own lab only.
      expect(fs.statSync(l.keyFile).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(path.join(l.LAB_DIR, "ssh_config"), "utf8")).toContain(path.join(".swarmlab", l.STACK, "id_swarmlab"));
      expect(l.names("list", "--name").filter((n) => n.startsWith(`${l.PREFIX}-`))).toHaveLength(2);
      expect(fs.readFileSync(path.join(ROOT, `Pulumi.${l.STACK}.yaml`), "utf8")).toMatch(/swarmlab:memoryMiB: "1024"/);
    }
    expect(fs.readFileSync(learners[0]!.keyFile, "utf8")).not.toBe(fs.readFileSync(learners[1]!.keyFile, "utf8"));
  });

  it("puts learner-01 on qemu:///system and learner-02 on qemu+ssh://, whose sshd saw the logins", async () => {
    expect(configGet("learner-01", "swarmlab:libvirtUri")).toBe(URI);
    expect(configGet("learner-02", "swarmlab:libvirtUri")).toBe(sshd!.uri);
    expect(up!.output).toContain(`class: learner-02: ${sshd!.uri}, network `);
    // learner-02's guests, built through the ssh URI, are seen through it too.
    expect(namesVia(sshd!.uri, "list", "--name").filter((n) => n.startsWith(`${learners[1]!.PREFIX}-`))).toHaveLength(2);
    log(`sshd accepted ${loginsAfterUp - loginsAtStart} public key logins as root during class up`);
    expect(loginsAfterUp).toBeGreaterThan(loginsAtStart);
    expect(await sshd!.readLog()).toMatch(/Accepted publickey for root from 127\.0\.0\.1 port \d+ ssh2: ED25519 /);
  });

  it("keeps the labs apart: learner-01's docker0 reaches its own docker1, not learner-02's docker0", () => {
    const [one, two] = learners as [ReturnType<typeof labDriver>, ReturnType<typeof labDriver>];
    const own = onGuest(one, "docker0", `sudo -n ping -c 2 -W 1 ${addressOf(one, "docker1")}`);
    expect(own.status, "learner-01's docker0 pings its own docker1").toBe(0);
    expect(own.stdout).toMatch(/2 packets transmitted, 2 received/);
    const other = onGuest(one, "docker0", `sudo -n ping -c 2 -W 1 ${addressOf(two, "docker0")}`);
    // ping's own failure (exit 1, nothing back), not ssh's (255).
    expect(other.status, `learner-01's docker0 must not reach learner-02's docker0 (${addressOf(two, "docker0")})`).toBe(1);
    expect(other.stdout).toMatch(/2 packets transmitted, 0 received/);
  });

  it("class reset returns the named learner's broken lab (the one through qemu+ssh://) to its verified state", async () => {
    const two = learners[1]!;
    // A learner's break: Docker stopped on learner-02's docker1.
    expect(onGuest(two, "docker1", "sudo -n systemctl stop docker docker.socket").status).toBe(0);
    expect(onGuest(two, "docker1", "systemctl is-active docker").stdout.trim()).toBe("inactive");
    const before = await sshd!.acceptedLogins();
    const r = await npmRun("class", "--", "reset", "--learners", two.STACK);
    log(`CLASS RESET (learner-02 only): ${r.seconds.toFixed(1)} s`);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/class reset: 1 of 1 learner\(s\) done/);
    expect(r.output).not.toMatch(/learner-01/);
    // The domains were reverted through the ssh URI.
    expect(await sshd!.acceptedLogins()).toBeGreaterThan(before);
    expect(onGuest(two, "docker1", "systemctl is-active docker").stdout.trim()).toBe("active");
    // class verify, next, grades both labs green: learner-02's after the reset.
  });

  it("class verify grades both labs into one gradebook with no failed or unchecked fact", async () => {
    const r = await npmRun("class", "--", "verify");
    expect(r.code).toBe(0);
    log(`CLASS VERIFY: 2 labs in ${r.seconds.toFixed(1)} s`);
    const dir = path.join(ROOT, r.output.match(/^\s+(\.swarmlab\/class\/[^/]+)\/gradebook\.csv$/m)![1]!);
    const rows = fs.readFileSync(path.join(dir, "gradebook.csv"), "utf8").trim().split("\r\n").slice(1).map((l) => l.split(","));
    expect(rows.map((x) => x.slice(0, 5))).toEqual([
      ["learner-01", "swarm-overlay", "ok", expect.any(String), "0"],
      ["learner-02", "swarm-overlay", "ok", expect.any(String), "0"],
    ]);
    const junit = fs.readFileSync(path.join(dir, "gradebook.junit.xml"), "utf8");
    expect(junit).toMatch(/<testsuites name="[^"]*" tests="58" failures="0" errors="0"/);
  });

  it("class down leaves nothing of either lab on the hypervisor (through both URIs) or in the repository", async () => {
    const before = await sshd!.acceptedLogins();
    const r = await npmRun("class", "--", "down");
    expect(r.code).toBe(0);
    // learner-02's lab was taken down through the ssh URI as well.
    expect(await sshd!.acceptedLogins()).toBeGreaterThan(before);
    for (const uri of [URI, sshd!.uri]) {
      for (const l of learners) {
        for (const what of ["list --all", "net-list --all", "pool-list --all"]) {
          expect(namesVia(uri, ...what.split(" "), "--name").filter((n) => n.startsWith(l.PREFIX)), `${what} ${l.STACK} via ${uri}`).toEqual([]);
        }
      }
    }
    for (const l of learners) {
      expect(fs.existsSync(l.STATE_FILE)).toBe(false);
      expect(fs.existsSync(path.join(ROOT, `Pulumi.${l.STACK}.yaml`))).toBe(false);
    }
    expect(fs.existsSync(path.join(ROOT, ".swarmlab", "class", "roster.json"))).toBe(false);
  });
});
