/**
 * The virsh provider's create against a fake virsh (test/fixtures/provider/fake-virsh.js):
 * adopting what matches, refusing what does not, undoing only its own work, and converging
 * after an interrupted `up`.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { domainXml, macFor, networkXml, overlayVolumeXml, poolXml } from "../../../../infra/libvirt/xml";
import { virshProvider, type VirshInputs } from "../../../../infra/libvirt/provider";

const FAKE = path.join(__dirname, "../../../fixtures/provider/fake-virsh.js");
const URI = "qemu:///system";

let work = "";
let stateDir = "";
let oldPath: string | undefined;
const oldEnv: Record<string, string | undefined> = {};

beforeEach(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-lifecycle-"));
  stateDir = path.join(work, "virsh");
  const bin = path.join(work, "bin");
  fs.mkdirSync(stateDir);
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, "virsh"), `#!/bin/sh\nexec "${process.execPath}" "${FAKE}" "$@"\n`, { mode: 0o755 });
  oldPath = process.env.PATH;
  process.env.PATH = `${bin}:${oldPath}`;
  for (const k of ["FAKE_VIRSH_STATE", "SWARMLAB_CACHE"]) oldEnv[k] = process.env[k];
  process.env.FAKE_VIRSH_STATE = stateDir;
  process.env.SWARMLAB_CACHE = path.join(work, "cache");
});

afterEach(() => {
  process.env.PATH = oldPath;
  for (const [k, v] of Object.entries(oldEnv)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  fs.rmSync(work, { recursive: true, force: true });
});

/** Runs the fake virsh directly, as a user would, to set up objects that predate a create. */
function virsh(...args: string[]): string {
  const r = spawnSync("virsh", ["-q", "-c", URI, ...args], { encoding: "utf8", env: process.env });
  if (r.status !== 0) throw new Error(`virsh ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
}
function virshDefine(cmd: string, xml: string, ...before: string[]): void {
  const f = path.join(work, `def-${Math.random().toString(36).slice(2)}.xml`);
  fs.writeFileSync(f, xml);
  virsh(cmd, ...before, f);
}
function state(): any {
  return JSON.parse(fs.readFileSync(path.join(stateDir, "state.json"), "utf8"));
}
function calls(): string[][] {
  const f = path.join(stateDir, "calls.log");
  return fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l)) : [];
}
function resetCalls(): void {
  fs.rmSync(path.join(stateDir, "calls.log"), { force: true });
}
function faults(list: object[]): void {
  fs.writeFileSync(path.join(stateDir, "faults.json"), JSON.stringify(list));
}
const CHANGING = new Set([
  "define", "start", "destroy", "undefine",
  "net-define", "net-start", "net-destroy", "net-undefine",
  "pool-define", "pool-build", "pool-start", "pool-destroy", "pool-delete", "pool-undefine",
  "vol-create", "vol-create-as", "vol-upload", "vol-delete",
]);
/** The calls since resetCalls() that change something, as "cmd name". */
function changes(): string[] {
  return calls()
    .filter((c) => CHANGING.has(c[0]))
    .map((c) => [c[0], ...c.slice(1).filter((a, i, all) => !a.startsWith("--") && !(all[i - 1] ?? "").startsWith("--pool") && !a.startsWith("/"))].join(" "));
}

const NET = networkXml({
  name: "swarmlab-t",
  bridge: "swl-t",
  gateway: "192.168.150.1",
  netmask: "255.255.255.0",
  hosts: [{ mac: macFor("t", "docker0"), address: "192.168.150.10", hostname: "docker0.local" }],
  dhcpRange: { start: "192.168.150.250", end: "192.168.150.254" },
});
const POOL = poolXml("swarmlab-t", "/var/lib/libvirt/images/swarmlab-t");
const DISK = overlayVolumeXml("swarmlab-t-docker0.qcow2", 20, "/var/lib/libvirt/images/swarmlab-t/base.qcow2");
const domArgs = {
  name: "swarmlab-t-docker0",
  type: "kvm" as const,
  memoryMiB: 2048,
  vcpus: 2,
  pool: "swarmlab-t",
  diskVolume: "swarmlab-t-docker0.qcow2",
  seedVolume: "swarmlab-t-docker0-seed.iso",
  network: "swarmlab-t",
  mac: macFor("t", "docker0"),
  stack: "t",
  host: "docker0",
  role: "manager",
  consoleLog: "/var/log/libvirt/qemu/swarmlab-t-docker0-console.log",
};
const DOM = domainXml(domArgs);

const net: VirshInputs = { uri: URI, kind: "network", name: "swarmlab-t", xml: NET };
const pool: VirshInputs = { uri: URI, kind: "pool", name: "swarmlab-t", xml: POOL };
const disk: VirshInputs = { uri: URI, kind: "volume", pool: "swarmlab-t", name: "swarmlab-t-docker0.qcow2", xml: DISK };
const dom: VirshInputs = { uri: URI, kind: "domain", name: "swarmlab-t-docker0", xml: DOM };
const seedSpec = { userData: "#cloud-config\nhostname: docker0\n", metaData: "instance-id: i-0123\n", networkConfig: "version: 2\n" };
const seed: VirshInputs = { uri: URI, kind: "volume", pool: "swarmlab-t", name: "swarmlab-t-docker0-seed.iso", cloudInit: seedSpec };

async function create(p: VirshInputs) {
  return (await virshProvider.create(p)).outs;
}
/** An active network and pool, as the domain and volumes need them (written straight into the fake's state). */
async function infrastructure(): Promise<void> {
  const f = path.join(stateDir, "state.json");
  const s = fs.existsSync(f) ? state() : { domains: {}, networks: {}, pools: {}, volumes: {} };
  s.networks["swarmlab-t"] = { xml: NET, uuid: "8d1b0e2c-0000-4000-8000-000000000001", active: true };
  s.pools["swarmlab-t"] = { xml: POOL, uuid: "8d1b0e2c-0000-4000-8000-000000000002", active: true, built: true };
  fs.writeFileSync(f, JSON.stringify(s));
}
function baseImage(bytes = 300_000): { file: string; input: VirshInputs } {
  const file = path.join(work, "base.qcow2");
  const data = Buffer.alloc(bytes);
  for (let i = 0; i < bytes; i++) data[i] = (i * 7 + (i >> 9)) & 0xff;
  fs.writeFileSync(file, data);
  return { file, input: { uri: URI, kind: "volume", pool: "swarmlab-t", name: "swarmlab-t-base.qcow2", upload: { source: file } } };
}
function volumeBytes(poolName: string, name: string): Buffer {
  const out = path.join(work, `download-${Math.random().toString(36).slice(2)}`);
  virsh("vol-download", "--pool", poolName, name, out);
  return fs.readFileSync(out);
}

describe("create on a clean hypervisor", () => {
  it("defines and starts each kind and returns its outputs", async () => {
    expect(await create(net)).toMatchObject({ state: "active", path: "", uuid: "" });
    expect(await create(pool)).toMatchObject({ state: "active", path: "/var/lib/libvirt/images/swarmlab-t" });
    expect(await create(disk)).toMatchObject({ state: "present", path: "/var/lib/libvirt/images/swarmlab-t/swarmlab-t-docker0.qcow2" });
    const d = await create(dom);
    expect(d.state).toBe("running");
    expect(d.uuid).toBe(state().domains["swarmlab-t-docker0"].uuid);
    expect(changes()).toEqual([
      "net-define", "net-start swarmlab-t",
      "pool-define", "pool-build swarmlab-t", "pool-start swarmlab-t",
      "vol-create swarmlab-t",
      "define", "start swarmlab-t-docker0",
    ]);
  });
});

describe("create adopts an existing object with the same definition", () => {
  it("network: starts it if inactive, defines nothing", async () => {
    virshDefine("net-define", NET);
    resetCalls();
    expect(await create(net)).toMatchObject({ state: "active" });
    expect(changes()).toEqual(["net-start swarmlab-t"]);
    resetCalls();
    expect(await create(net)).toMatchObject({ state: "active" });
    expect(changes()).toEqual([]);
  });

  it("pool: builds and starts it if inactive, and returns its path", async () => {
    virshDefine("pool-define", POOL);
    resetCalls();
    expect(await create(pool)).toMatchObject({ state: "active", path: "/var/lib/libvirt/images/swarmlab-t" });
    expect(changes()).toEqual(["pool-build swarmlab-t", "pool-start swarmlab-t"]);
  });

  it("overlay volume: same capacity, format and backing file", async () => {
    await infrastructure();
    virshDefine("vol-create", DISK, "swarmlab-t");
    resetCalls();
    expect(await create(disk)).toMatchObject({ state: "present", path: "/var/lib/libvirt/images/swarmlab-t/swarmlab-t-docker0.qcow2" });
    expect(changes()).toEqual([]);
  });

  it("domain: keeps its uuid, starts it only when it is shut off", async () => {
    await infrastructure();
    virshDefine("define", DOM);
    const before = state().domains["swarmlab-t-docker0"].uuid;
    resetCalls();
    const d = await create(dom);
    expect(d).toMatchObject({ state: "running", uuid: before });
    expect(changes()).toEqual(["start swarmlab-t-docker0"]);
    resetCalls();
    expect(await create(dom)).toMatchObject({ state: "running", uuid: before });
    expect(changes()).toEqual([]);
  });

  it("seed ISO: adopted when it holds exactly this stack's files", async () => {
    await infrastructure();
    await create(seed);
    const bytes = volumeBytes("swarmlab-t", seed.name);
    resetCalls();
    expect(await create(seed)).toMatchObject({ state: "present" });
    expect(changes()).toEqual([]);
    expect(volumeBytes("swarmlab-t", seed.name).equals(bytes)).toBe(true);
  });

  it("base image: adopted when its bytes are the image's", async () => {
    await infrastructure();
    const { file, input } = baseImage();
    await create(input);
    resetCalls();
    expect(await create(input)).toMatchObject({ state: "present" });
    expect(changes()).toEqual([]);
    expect(volumeBytes("swarmlab-t", input.name).equals(fs.readFileSync(file))).toBe(true);
  });
});

describe("create refuses an existing object that differs, and leaves it untouched", () => {
  async function refused(p: VirshInputs, ...expected: (string | RegExp)[]): Promise<void> {
    const snapshot = JSON.stringify(state());
    resetCalls();
    const e = await virshProvider.create(p).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(e, "create should have failed").toBeInstanceOf(Error);
    for (const x of expected) expect(e!.message).toMatch(x);
    expect(e!.message).toContain("left untouched");
    expect(changes()).toEqual([]);
    expect(JSON.stringify(state())).toBe(snapshot);
  }

  it("domain with other memory", async () => {
    await infrastructure();
    virshDefine("define", domainXml({ ...domArgs, memoryMiB: 4096 }));
    virsh("start", "swarmlab-t-docker0");
    await refused(
      dom,
      'domain "swarmlab-t-docker0"',
      "/domain/memory: wanted 2048 MiB, found 4194304 KiB",
      `virsh -c ${URI} destroy swarmlab-t-docker0; virsh -c ${URI} undefine swarmlab-t-docker0`,
      "npm run down",
    );
  });

  it("domain on another network", async () => {
    await infrastructure();
    virshDefine("define", domainXml({ ...domArgs, network: "default" }));
    await refused(dom, "/domain/devices/interface/source: network is 'default', wanted 'swarmlab-t'");
  });

  it("network with another gateway", async () => {
    virshDefine("net-define", NET.replace("192.168.150.1'", "192.168.151.1'"));
    await refused(net, 'network "swarmlab-t"', "/network/ip: address is '192.168.151.1', wanted '192.168.150.1'", `net-undefine swarmlab-t`);
  });

  it("pool with another directory", async () => {
    virshDefine("pool-define", poolXml("swarmlab-t", "/srv/elsewhere"));
    await refused(pool, "/pool/target/path", "pool-undefine swarmlab-t");
  });

  it("overlay volume with another size or backing file", async () => {
    await infrastructure();
    virshDefine("vol-create", overlayVolumeXml(disk.name, 10, "/var/lib/libvirt/images/swarmlab-t/base.qcow2"), "swarmlab-t");
    await refused(disk, /\/volume\/capacity: wanted 20 GiB, found 10737418240 bytes/, `vol-delete --pool swarmlab-t ${disk.name}`);
    virsh("vol-delete", "--pool", "swarmlab-t", disk.name);
    virshDefine("vol-create", overlayVolumeXml(disk.name, 20, "/srv/other.qcow2"), "swarmlab-t");
    await refused(disk, "/volume/backingStore/path");
  });

  it("seed ISO with another user-data of the same length", async () => {
    await infrastructure();
    await create({ ...seed, cloudInit: { ...seedSpec, userData: seedSpec.userData.replace("docker0", "docker9") } });
    await refused(seed, "its user-data differs from this stack's");
  });

  it("base image with other content", async () => {
    await infrastructure();
    const { file, input } = baseImage();
    await create(input);
    const other = Buffer.from(fs.readFileSync(file));
    other[1000] ^= 0xff;
    fs.writeFileSync(file, other);
    await refused(input, "its content differs from the image");
    fs.writeFileSync(file, other.subarray(0, 1000));
    await refused(input, "it holds more than 1000 bytes");
  });
});

describe("a failed step undoes only what this call made", () => {
  it("domain: a failing start removes the domain this call defined", async () => {
    await infrastructure();
    faults([{ cmd: "start", error: "error: Failed to start domain 'swarmlab-t-docker0'\nerror: internal error: qemu unexpectedly closed the monitor" }]);
    resetCalls();
    await expect(virshProvider.create(dom)).rejects.toThrow(/qemu unexpectedly closed the monitor.*removed again/s);
    expect(state().domains["swarmlab-t-docker0"]).toBeUndefined();
    expect(changes()).toEqual(["define", "start swarmlab-t-docker0", "destroy swarmlab-t-docker0", "undefine swarmlab-t-docker0"]);
  });

  it("domain: a failing start leaves a domain that existed before", async () => {
    await infrastructure();
    virshDefine("define", DOM);
    faults([{ cmd: "start", error: "error: Failed to start domain 'swarmlab-t-docker0'\nerror: internal error: no free memory" }]);
    resetCalls();
    await expect(virshProvider.create(dom)).rejects.toThrow(/no free memory.*existed before this run.*left in place/s);
    expect(state().domains["swarmlab-t-docker0"]).toMatchObject({ state: "shut off", persistent: true });
    expect(changes()).toEqual(["start swarmlab-t-docker0"]);
  });

  it("network and pool: the same, either way", async () => {
    faults([{ cmd: "net-start", error: "error: Failed to start network swarmlab-t\nerror: internal error: bridge swl-t busy", times: 1 }]);
    await expect(virshProvider.create(net)).rejects.toThrow(/bridge swl-t busy/);
    expect(state().networks["swarmlab-t"]).toBeUndefined();
    virshDefine("net-define", NET);
    faults([{ cmd: "net-start", error: "error: Failed to start network swarmlab-t\nerror: internal error: bridge swl-t busy", times: 1 }]);
    await expect(virshProvider.create(net)).rejects.toThrow(/existed before this run/);
    expect(state().networks["swarmlab-t"]).toBeDefined();

    faults([{ cmd: "pool-start", error: "error: Failed to start pool swarmlab-t\nerror: permission denied", times: 1 }]);
    await expect(virshProvider.create(pool)).rejects.toThrow(/permission denied/);
    expect(state().pools["swarmlab-t"]).toBeUndefined();
    virshDefine("pool-define", POOL);
    faults([{ cmd: "pool-start", error: "error: Failed to start pool swarmlab-t\nerror: permission denied", times: 1 }]);
    await expect(virshProvider.create(pool)).rejects.toThrow(/existed before this run/);
    expect(state().pools["swarmlab-t"]).toBeDefined();
  });

  it("upload: a failing upload deletes the volume this call created, and its marker", async () => {
    await infrastructure();
    const { input } = baseImage();
    faults([{ cmd: "vol-upload", error: "error: cannot upload to volume: I/O error", times: 1 }]);
    resetCalls();
    await expect(virshProvider.create(input)).rejects.toThrow(/I\/O error/);
    expect(state().volumes[`swarmlab-t/${input.name}`]).toBeUndefined();
    expect(changes()).toEqual([`vol-create-as swarmlab-t ${input.name} 300000 raw`, `vol-upload ${input.name}`, `vol-delete ${input.name}`]);
    const markers = path.join(process.env.SWARMLAB_CACHE!, "uploads-in-progress");
    expect(fs.readdirSync(markers)).toEqual([]);
  });
});

describe("an interrupted create converges on the next one", () => {
  /**
   * Runs create for `p` through the provider as Pulumi serializes it, in a child process that
   * is killed (SIGKILL, no clean-up) once the fake virsh has hung on the faulted call.
   */
  let serialized: Promise<string> | undefined;
  async function interruptedCreate(p: VirshInputs): Promise<void> {
    serialized ??= pulumi.runtime.serializeFunction(() => virshProvider, { allowSecrets: true }).then((sf) => sf.text);
    const mod = path.join(work, "provider.js");
    fs.writeFileSync(mod, await serialized);
    const runner = `require(${JSON.stringify(mod)}).handler().create(JSON.parse(process.argv[1])).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(1); });`;
    const child = spawn(process.execPath, ["-e", runner, JSON.stringify(p)], { env: process.env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<void>((resolve) => child.on("exit", () => resolve()));
    const hanging = path.join(stateDir, "hanging");
    const t0 = Date.now();
    while (!fs.existsSync(hanging)) {
      if (child.exitCode !== null) throw new Error(`the create finished instead of hanging: ${stderr}`);
      if (Date.now() - t0 > 15000) throw new Error("the fake virsh never hung");
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGKILL");
    await exited;
    // The orphaned virsh notices, removes `hanging` and exits by itself: wait for that, so that
    // nothing changes the fake's state later.
    while (fs.existsSync(hanging)) {
      if (Date.now() - t0 > 30000) throw new Error("the fake virsh did not exit after its caller was killed");
      await new Promise((r) => setTimeout(r, 20));
    }
    fs.rmSync(path.join(stateDir, "faults.json"), { force: true });
  }

  it("domain killed while starting: the next create starts the defined domain", async () => {
    await infrastructure();
    faults([{ cmd: "start", hang: "before" }]);
    await interruptedCreate(dom);
    const left = state().domains["swarmlab-t-docker0"];
    expect(left).toMatchObject({ state: "shut off" });
    resetCalls();
    expect(await create(dom)).toMatchObject({ state: "running", uuid: left.uuid });
    expect(changes()).toEqual(["start swarmlab-t-docker0"]);
  });

  it("domain killed after it started: the next create adopts it as it is", async () => {
    await infrastructure();
    faults([{ cmd: "start", hang: "after" }]);
    await interruptedCreate(dom);
    const left = state().domains["swarmlab-t-docker0"];
    expect(left).toMatchObject({ state: "running" });
    resetCalls();
    expect(await create(dom)).toMatchObject({ state: "running", uuid: left.uuid });
    expect(changes()).toEqual([]);
  });

  it("network killed while starting", async () => {
    faults([{ cmd: "net-start", hang: "before" }]);
    await interruptedCreate(net);
    expect(state().networks["swarmlab-t"]).toMatchObject({ active: false });
    expect(await create(net)).toMatchObject({ state: "active" });
    expect(state().networks["swarmlab-t"]).toMatchObject({ active: true });
  });

  it("base image killed halfway through the upload: the next create uploads it again", async () => {
    await infrastructure();
    const { file, input } = baseImage();
    faults([{ cmd: "vol-upload", hang: "partial" }]);
    await interruptedCreate(input);
    const partial = volumeBytes("swarmlab-t", input.name);
    expect(partial.equals(fs.readFileSync(file))).toBe(false);
    resetCalls();
    expect(await create(input)).toMatchObject({ state: "present" });
    expect(changes()).toEqual([`vol-delete ${input.name}`, `vol-create-as swarmlab-t ${input.name} 300000 raw`, `vol-upload ${input.name}`]);
    expect(volumeBytes("swarmlab-t", input.name).equals(fs.readFileSync(file))).toBe(true);
    expect(fs.readdirSync(path.join(process.env.SWARMLAB_CACHE!, "uploads-in-progress"))).toEqual([]);
  });

  it("a partial volume without this machine's upload marker is refused, not replaced", async () => {
    await infrastructure();
    const { input } = baseImage();
    faults([{ cmd: "vol-upload", hang: "partial" }]);
    await interruptedCreate(input);
    fs.rmSync(path.join(process.env.SWARMLAB_CACHE!, "uploads-in-progress"), { recursive: true });
    resetCalls();
    await expect(virshProvider.create(input)).rejects.toThrow(/its content differs.*left untouched/s);
    expect(changes()).toEqual([]);
  });
});
