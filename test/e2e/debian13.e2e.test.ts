/**
 * The engine CentOS 7 users get by default is docker-ce 26.1.4, the last el7 build; CentOS is
 * out of reach here, so the same engine line runs on a Debian 13 guest (docker.io 26.1.5). The
 * lab is stood up, verified and torn down through the user's commands, like the main test;
 * every difference verify finds from the documented engine must be a classified change.
 *
 * It also runs as most hypervisors are: with libvirt's own `default` network active on the
 * documented 192.168.122.0/24. With swarmlab:networkCidr not set, `up` must put the lab on the
 * next free range, say so, and keep that choice in the stack's configuration.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testImageConfig } from "../harness/image";
import { labDriver, NpmRun, RESULTS, URI } from "./driver";

const MANIFEST = process.env.SWARMLAB_TEST_IMAGE_MANIFEST_DEBIAN13;
const lab = labDriver("d13-e2e");
const { STACK, PREFIX, LAB_DIR, STATE_FILE, names, log, npmRun, sweep, consoleTails, phasesOf } = lab;

let up: NpmRun | undefined;
let report: any;
/** How this test made libvirt's `default` network active, to undo exactly that. */
let defaultNet: "started" | "created" | "was-active" | undefined;

function startLibvirtDefault(): "started" | "created" | "was-active" {
  const info = spawnSync("virsh", ["-q", "-c", URI, "net-info", "default"], { encoding: "utf8" });
  if (info.status === 0 && /^Active:\s+yes/m.test(info.stdout)) return "was-active";
  if (info.status === 0) {
    if (!lab.virshOk("net-start", "default")) throw new Error("virsh net-start default failed");
    return "started";
  }
  // Not defined on this machine: a transient one like it (no forwarding: nothing leaves the namespace).
  const xml = path.join(os.tmpdir(), `swarmlab-e2e-default-${process.pid}.xml`);
  fs.writeFileSync(xml, "<network><name>default</name><bridge name='virbr0'/><ip address='192.168.122.1' netmask='255.255.255.0'/></network>\n");
  try {
    if (!lab.virshOk("net-create", xml)) throw new Error("virsh net-create (a transient default network) failed");
  } finally {
    fs.rmSync(xml, { force: true });
  }
  return "created";
}

beforeAll(async () => {
  if (!process.env.SWARMLAB_E2E_NETNS || !MANIFEST) throw new Error("run through npm run test:e2e, which builds the Debian 13 image and starts the test hypervisor");
  sweep();
  defaultNet = startLibvirtDefault();
  log(`libvirt's default network: ${defaultNet} (192.168.122.0/24)`);
  const config = { ...testImageConfig(MANIFEST), "swarmlab:verifyAfterUp": "false" };
  const set = await npmRun("pulumi", "--", "config", "set-all", "--stack", STACK, ...Object.entries(config).flatMap(([k, v]) => ["--plaintext", `${k}=${v}`]));
  if (set.code !== 0) throw new Error(`config set-all failed (${set.code})`);
  up = await npmRun("up", "--", "--stack", STACK);
  if (up.code !== 0) {
    consoleTails();
    throw new Error(`npm run up exited ${up.code}`);
  }
});

afterAll(async () => {
  if (fs.existsSync(STATE_FILE)) await npmRun("down", "--", "--stack", STACK, "--remove");
  sweep();
  if (defaultNet === "started" || defaultNet === "created") lab.virshOk("net-destroy", "default");
});

describe("the lab on Docker 26.1 (Debian 13 guests)", () => {
  it("npm run up builds it", () => {
    const { total, phases } = phasesOf(up!.output);
    log(`TIMINGS (Debian 13): up ${total.toFixed(1)} s; ${JSON.stringify(phases)}`);
    expect(Object.keys(phases)).toEqual(["define", "ssh", "docker", "swarm", "workload"]);
  });

  it("with libvirt's default network on the documented range, it took the next free one, said so, and kept the choice", async () => {
    expect(up!.output).toContain('192.168.122.0/24, the documented range, is used by the active libvirt network "default" (192.168.122.0/24); this lab uses 192.168.123.0/24');
    const inv = JSON.parse(fs.readFileSync(path.join(LAB_DIR, "inventory.json"), "utf8"));
    expect(inv.network.cidr).toBe("192.168.123.0/24");
    expect(inv.hosts.map((h: any) => h.address)).toEqual(["192.168.123.10", "192.168.123.11"]);
    const saved = await npmRun("pulumi", "--", "config", "get", "swarmlab:networkCidr", "--stack", STACK);
    expect(saved.output).toMatch(/^192\.168\.123\.0\/24$/m);
    // Both networks are active side by side.
    expect(names("net-list", "--name")).toEqual(expect.arrayContaining(["default", PREFIX]));
  });

  it("runs Docker 26.1 on both guests, set up by cloud-init from the seed", async () => {
    const inv = JSON.parse(fs.readFileSync(path.join(LAB_DIR, "inventory.json"), "utf8"));
    for (const h of inv.hosts) {
      const ssh = await lab.sshTo(h.address);
      try {
        expect(await lab.sh(ssh, "docker version --format '{{.Server.Version}}'")).toMatch(/^26\.1\./);
        // This image boots with cloud-init (the main lab's without): the cloud-init seed is tested here.
        expect(await lab.sh(ssh, "sudo -n cloud-init status | sed -n 's/^status: //p'")).toMatch(/done$/);
      } finally {
        ssh.dispose();
      }
    }
  });

  it("npm run verify: no fact fails or goes unchecked; every difference from the documented engine is a classified change", async () => {
    fs.mkdirSync(RESULTS, { recursive: true });
    const out = path.join(RESULTS, "verify-debian13.json");
    const r = await npmRun("verify", "--", "--stack", STACK, "--format", "json", "--output", out, "--save-raw", path.join(RESULTS, "gather-debian13"));
    report = JSON.parse(fs.readFileSync(out, "utf8"));
    log(`VERIFY (Debian 13): ${r.seconds.toFixed(1)} s, ${JSON.stringify(report.summary)}`);
    for (const x of report.results.filter((y: any) => y.outcome !== "pass")) log(`  ${x.id} ${x.outcome}: ${x.observed} -- ${x.explanation ?? ""}`);
    const bad = report.results.filter((x: any) => x.outcome === "fail" || x.outcome === "unchecked");
    expect(bad.map((x: any) => `${x.id} ${x.outcome}: expected ${x.expected}; observed ${x.observed}`)).toEqual([]);
    for (const x of report.results.filter((y: any) => y.outcome === "changed")) expect(x.explanation, x.id).toBeTruthy();
    expect(r.code).toBe(0);
  });

  it("npm run down -- --remove leaves nothing of it", async () => {
    const down = await npmRun("down", "--", "--stack", STACK, "--remove");
    expect(down.code).toBe(0);
    expect(names("list", "--all", "--name").filter((n) => n.startsWith(PREFIX))).toEqual([]);
    expect(names("pool-list", "--all", "--name").filter((n) => n.startsWith(PREFIX))).toEqual([]);
    expect(names("net-list", "--all", "--name").filter((n) => n.startsWith(PREFIX))).toEqual([]);
    expect(fs.existsSync(STATE_FILE)).toBe(false);
  });
});
