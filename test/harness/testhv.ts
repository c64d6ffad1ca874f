/**
 * Test hypervisor for swarmlab's end-to-end tests: a private libvirtd (plus virtlogd)
 * running inside a network namespace of its own, so that every bridge, tap, dnsmasq
 * and guest NIC the lab creates lives in that namespace and no packet can reach the
 * real host network.
 *
 *   const hv = await startTestHypervisor({ log: console.error });
 *   // hv.uri ("qemu:///system") reaches the namespaced libvirtd (its unix socket is
 *   // shared with the host filesystem); hv.exec([...]) runs a command inside the netns
 *   // (ssh to guests, ping, tcpdump...).
 *   await hv.stop();
 *
 * Only one libvirtd can run per machine (pidfile, sockets and state in /run and /etc
 * are global). If one is already running inside a `swarmlab-e2e-*` namespace it is
 * reused (and left running by stop()); if one runs in the root namespace we refuse:
 * the lab would put its bridges and NAT rules on the real host.
 *
 * /dev/kvm is masked (bind-mounted /dev/null) inside libvirtd's mount namespace, so
 * libvirt's capability probe never touches a KVM that hangs: domains must use
 * `<domain type='qemu'>` (TCG).
 *
 * CLI (manual debugging):
 *   npx tsx test/harness/testhv.ts up             # prints {"netns":...,"uri":...}, leaves it running
 *   npx tsx test/harness/testhv.ts down <netns>   # stops that namespace's daemons, deletes the netns
 *
 * Only node built-ins are used.
 */
import { spawn } from "node:child_process";
import { promises as fs } from "node:fs";
import * as path from "node:path";
import { allProcesses, procIdentity, sameProcess, terminate, type ProcIdentity } from "./proc";

export interface ExecOptions {
  /** Written to the command's stdin (stdin is closed either way). */
  input?: string;
  /** Kill the command (SIGKILL) after this many ms; code is then 124. Default: none. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  code: number;
}

export interface TestHypervisor {
  /** Network namespace libvirtd runs in (and in which exec() runs commands). */
  netns: string;
  /** libvirt connection URI for virsh / the provisioning code. */
  uri: string;
  /** PIDs of the daemons this instance started (and that stop() kills). Empty when reused. */
  startedPids: number[];
  /** True when an already running libvirtd in a swarmlab-e2e namespace was reused. */
  reused: boolean;
  /** Runs a command inside the network namespace. Never throws on a non-zero exit. */
  exec(cmd: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Stops what this instance started and deletes its namespace (no-op for those parts when reused). */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Namespace name prefix; the namespace is `<prefix><pid>`. Default `swarmlab-e2e-`. */
  netnsPrefix?: string;
  log?: (s: string) => void;
  /** Mask /dev/kvm from libvirtd (default true: KVM hangs on the test machines). */
  maskKvm?: boolean;
  /** How long to wait for libvirtd to answer. Default 120 s. */
  readyTimeoutMs?: number;
}

export const DEFAULT_NETNS_PREFIX = "swarmlab-e2e-";
export const LIBVIRT_URI = "qemu:///system";
const LIBVIRTD_PIDFILE = "/run/libvirtd.pid";
const VIRTLOGD_PIDFILE = "/run/virtlogd.pid";
const STATE_DIR = "/run/swarmlab-e2e";
const KVM_MASK = `${STATE_DIR}/kvm-mask`;
const DEFAULT_NET_CIDR_PREFIX = "192.168.122.";

// ---------------------------------------------------------------------------------
// process helpers

/** Runs a command (no shell). Never throws for a non-zero exit; throws if it cannot be spawned. */
export function run(cmd: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0], cmd.slice(1), {
      stdio: ["pipe", "pipe", "pipe"],
      env: opts.env ?? process.env,
      cwd: opts.cwd,
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer =
      opts.timeoutMs !== undefined
        ? setTimeout(() => {
            timedOut = true;
            child.kill("SIGKILL");
          }, opts.timeoutMs)
        : undefined;
    child.on("error", (err) => {
      if (timer) clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ stdout, stderr, code: timedOut ? 124 : (code ?? (signal ? 128 : 1)) });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}

async function runOk(cmd: string[], opts: ExecOptions = {}): Promise<string> {
  const r = await run(cmd, opts);
  if (r.code !== 0) {
    throw new Error(`command failed (exit ${r.code}): ${cmd.join(" ")}\n${r.stderr.trim() || r.stdout.trim()}`);
  }
  return r.stdout;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** PIDs whose /proc/<pid>/comm is exactly `name`. */
async function pidsByComm(name: string): Promise<number[]> {
  return (await allProcesses()).filter((p) => p.comm === name).map((p) => p.pid);
}

async function netnsInode(pid: number | "self"): Promise<string | undefined> {
  try {
    return await fs.readlink(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/** Inode link (`net:[...]`) of a named network namespace. */
async function namedNetnsInode(netns: string): Promise<string | undefined> {
  try {
    const st = await fs.stat(`/run/netns/${netns}`);
    return `net:[${st.ino}]`;
  } catch {
    return undefined;
  }
}

/** PIDs of all processes currently inside the named network namespace. */
async function pidsInNetns(netns: string): Promise<number[]> {
  const ino = await namedNetnsInode(netns);
  if (!ino) return [];
  const out: number[] = [];
  for (const e of await fs.readdir("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const pid = Number(e);
    if (pid === process.pid) continue;
    if ((await netnsInode(pid)) === ino && (await procIdentity(pid)) !== undefined) out.push(pid);
  }
  return out;
}

type NetnsLocation = { kind: "root" } | { kind: "named"; names: string[] } | { kind: "other" } | { kind: "gone" };

async function locateNetns(pid: number): Promise<NetnsLocation> {
  const ns = await netnsInode(pid);
  if (!ns) return { kind: "gone" };
  const root = (await netnsInode(1)) ?? (await netnsInode("self"));
  if (ns === root) return { kind: "root" };
  const r = await run(["ip", "netns", "identify", String(pid)]);
  const names = r.stdout.split(/\s+/).filter(Boolean);
  return names.length ? { kind: "named", names } : { kind: "other" };
}

async function readPidfile(file: string): Promise<number | undefined> {
  try {
    const n = Number((await fs.readFile(file, "utf8")).trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}


function nsExecArgv(netns: string, cmd: string[]): string[] {
  return ["ip", "netns", "exec", netns, ...cmd];
}

// ---------------------------------------------------------------------------------
// libvirt helpers

async function virsh(netns: string, args: string[], timeoutMs = 60_000): Promise<ExecResult> {
  return run(nsExecArgv(netns, ["virsh", "-q", "-c", LIBVIRT_URI, ...args]), { timeoutMs });
}

async function waitForLibvirt(netns: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    const r = await virsh(netns, ["version"], 30_000);
    if (r.code === 0) return;
    last = (r.stderr || r.stdout).trim();
    await sleep(500);
  }
  throw new Error(`libvirtd in netns ${netns} did not answer 'virsh -c ${LIBVIRT_URI} version' within ${timeoutMs} ms: ${last}`);
}

/** True if libvirt's `default` network is active and uses 192.168.122.0/24 (the lab's network). */
async function defaultNetworkCollides(netns: string): Promise<boolean> {
  const info = await virsh(netns, ["net-info", "default"]);
  if (info.code !== 0 || !/^Active:\s+yes/m.test(info.stdout)) return false;
  const xml = await virsh(netns, ["net-dumpxml", "default"]);
  return xml.stdout.includes(`address='${DEFAULT_NET_CIDR_PREFIX}`) || xml.stdout.includes(`address="${DEFAULT_NET_CIDR_PREFIX}`);
}

/** Destroys (never undefines) whatever is still running in the namespace's libvirtd. */
async function destroyLeftovers(netns: string, log: (s: string) => void): Promise<void> {
  const doms = await virsh(netns, ["list", "--name"]);
  for (const d of doms.stdout.split("\n").map((s) => s.trim()).filter(Boolean)) {
    log(`WARNING: domain ${d} still running at hypervisor stop: destroying it (definition kept)`);
    await virsh(netns, ["destroy", d]);
  }
  const nets = await virsh(netns, ["net-list", "--name"]);
  for (const n of nets.stdout.split("\n").map((s) => s.trim()).filter(Boolean)) {
    log(`WARNING: network ${n} still active at hypervisor stop: destroying it (definition kept)`);
    await virsh(netns, ["net-destroy", n]);
  }
}

// ---------------------------------------------------------------------------------
// state file (lets `testhv down` find what `testhv up` started)

interface StateFile {
  netns: string;
  started: ProcIdentity[];
  defaultNetworkDestroyed: boolean;
  reused: boolean;
}

async function writeState(s: StateFile): Promise<void> {
  await fs.mkdir(STATE_DIR, { recursive: true });
  await fs.writeFile(path.join(STATE_DIR, `${s.netns}.json`), JSON.stringify(s, null, 2) + "\n");
}

async function readState(netns: string): Promise<StateFile | undefined> {
  try {
    return JSON.parse(await fs.readFile(path.join(STATE_DIR, `${netns}.json`), "utf8")) as StateFile;
  } catch {
    return undefined;
  }
}

async function removeState(netns: string): Promise<void> {
  await fs.rm(path.join(STATE_DIR, `${netns}.json`), { force: true });
}

// ---------------------------------------------------------------------------------

const NETNS_NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

async function netnsExists(netns: string): Promise<boolean> {
  try {
    await fs.stat(`/run/netns/${netns}`);
    return true;
  } catch {
    return false;
  }
}

/** libvirt daemons that would own /run/libvirt's sockets (monolithic or modular). */
const LIBVIRT_DAEMONS = ["libvirtd", "virtqemud", "virtnetworkd", "virtstoraged", "virtproxyd"];

/** Throws if the host's systemd would hand libvirt's sockets to a root-namespace daemon. */
async function refuseSocketActivation(): Promise<void> {
  try {
    await fs.stat("/run/systemd/system");
  } catch {
    return; // not booted with systemd (containers, CI runners)
  }
  const units = ["libvirtd.socket", "libvirtd-ro.socket", "libvirtd-admin.socket", "virtqemud.socket", "virtproxyd.socket"];
  const r = await run(["systemctl", "is-active", ...units]).catch(() => undefined);
  if (!r) return;
  const active = r.stdout.split("\n").map((s, i) => (s.trim() === "active" ? units[i] : "")).filter(Boolean);
  if (active.length) {
    throw new Error(
      `systemd is listening on libvirt's sockets in the root network namespace (${active.join(", ")}): ` +
        `a connection would start a host libvirtd that puts the lab's bridges on the real network. ` +
        `Stop them first (systemctl stop ${active.join(" ")}); this tool will not.`,
    );
  }
}

/** Returns the namespace of an already running libvirtd, or throws if it is unusable. */
async function inspectRunningLibvirtd(prefix: string): Promise<{ pid: number; netns: string } | undefined> {
  for (const name of LIBVIRT_DAEMONS.filter((n) => n !== "libvirtd")) {
    const pids = await pidsByComm(name);
    if (pids.length) {
      throw new Error(
        `a modular libvirt daemon ${name} (pid ${pids.join(",")}) is running; the test hypervisor runs the ` +
          `monolithic libvirtd in its own network namespace and cannot share /run/libvirt with it. Stop it first; ` +
          `this tool will not.`,
      );
    }
  }
  const pids = await pidsByComm("libvirtd");
  if (pids.length === 0) return undefined;
  // Every libvirtd must be acceptable (one in the root namespace is refused even if a test
  // one also exists); only then is a test namespace's daemon reused.
  let reusable: { pid: number; netns: string } | undefined;
  for (const pid of pids) {
    const loc = await locateNetns(pid);
    if (loc.kind === "gone") continue;
    if (loc.kind === "root") {
      throw new Error(
        `a libvirtd (pid ${pid}) is already running in the host's root network namespace. ` +
          `The swarmlab e2e tests need their own libvirtd inside a private network namespace: ` +
          `with the host's libvirtd, the lab's 192.168.122.0/24 NAT bridge, taps and iptables rules ` +
          `would be created on the real host network. Only one libvirtd can run per machine, so stop ` +
          `the host's libvirtd first (e.g. 'systemctl stop libvirtd libvirtd.socket libvirtd-ro.socket ` +
          `libvirtd-admin.socket'); this tool will not kill it.`,
      );
    }
    if (loc.kind === "named") {
      const ours = loc.names.find((n) => n.startsWith(prefix));
      if (ours) {
        reusable ??= { pid, netns: ours };
        continue;
      }
      throw new Error(
        `a libvirtd (pid ${pid}) is already running in network namespace ${loc.names.join(",")}, ` +
          `which is not a '${prefix}*' test namespace; refusing to use or stop it.`,
      );
    }
    throw new Error(`a libvirtd (pid ${pid}) is already running in an unnamed network namespace; refusing to use or stop it.`);
  }
  return reusable;
}

async function identityFromPidfile(pidfile: string, comm: string, netns: string): Promise<ProcIdentity> {
  const wantIno = await namedNetnsInode(netns);
  for (let i = 0; i < 50; i++) {
    const pid = await readPidfile(pidfile);
    if (pid !== undefined) {
      const id = await procIdentity(pid);
      if (id && id.comm === comm && (await netnsInode(pid)) === wantIno) return id;
    }
    await sleep(100);
  }
  // Fall back to scanning the namespace.
  for (const pid of await pidsInNetns(netns)) {
    const id = await procIdentity(pid);
    if (id && id.comm === comm) return id;
  }
  throw new Error(`could not find the ${comm} started in netns ${netns} (pidfile ${pidfile})`);
}

export async function startTestHypervisor(opts: StartOptions = {}): Promise<TestHypervisor> {
  const prefix = opts.netnsPrefix ?? DEFAULT_NETNS_PREFIX;
  const log = opts.log ?? (() => undefined);
  const maskKvm = opts.maskKvm ?? true;
  const readyTimeoutMs = opts.readyTimeoutMs ?? 120_000;
  if (process.getuid && process.getuid() !== 0) throw new Error("the test hypervisor needs root (ip netns, libvirtd)");

  const existing = await inspectRunningLibvirtd(prefix);
  if (!existing) await refuseSocketActivation();
  if (existing) {
    log(`reusing libvirtd pid ${existing.pid} running in netns ${existing.netns}`);
    await waitForLibvirt(existing.netns, readyTimeoutMs);
    return makeHypervisor({ netns: existing.netns, started: [], reused: true, log });
  }

  const netns = `${prefix}${process.pid}`;
  if (!NETNS_NAME_RE.test(netns)) throw new Error(`invalid netns name ${netns}`);
  if (await netnsExists(netns)) throw new Error(`netns ${netns} already exists (stale? remove it with: testhv down ${netns})`);

  const started: ProcIdentity[] = [];
  let created = false;
  try {
    await runOk(["ip", "netns", "add", netns]);
    created = true;
    await runOk(["ip", "-n", netns, "link", "set", "lo", "up"]);
    log(`created netns ${netns}`);

    // virtlogd only talks over a unix socket: one already running anywhere is fine to use.
    const logds = await pidsByComm("virtlogd");
    if (logds.length > 0) {
      log(`using the already running virtlogd (pid ${logds.join(",")}); not starting one`);
    } else {
      await runOk(nsExecArgv(netns, ["virtlogd", "-d"]), { timeoutMs: 30_000 });
      const id = await identityFromPidfile(VIRTLOGD_PIDFILE, "virtlogd", netns);
      started.push(id);
      log(`started virtlogd pid ${id.pid} in netns ${netns}`);
    }

    // `ip netns exec` gives the command a private (slave) mount namespace: masking /dev/kvm
    // there affects only libvirtd and the qemu processes it spawns. The mask is a mode-000
    // character device (a /dev/null node): libvirt then finds KVM "not accessible" for the
    // qemu user and keeps its TCG-only capability cache. (Masking with /dev/null itself,
    // which is accessible, makes libvirt re-probe qemu on every domain define, ~30 s each;
    // masking with a regular file breaks libvirt's per-domain /dev setup.)
    let script = "exec libvirtd -d";
    if (maskKvm) {
      await fs.mkdir(STATE_DIR, { recursive: true });
      await fs.rm(KVM_MASK, { force: true });
      await runOk(["mknod", "-m", "000", KVM_MASK, "c", "1", "3"]);
      script = 'if [ -c /dev/kvm ]; then mount --bind "$1" /dev/kvm || exit 1; fi; exec libvirtd -d';
    }
    const r = await run(nsExecArgv(netns, ["sh", "-c", script, "sh", KVM_MASK]), { timeoutMs: 60_000 });
    if (r.code !== 0) {
      // Lost a race with another test process? Reuse its daemon if it is in a test namespace.
      const other = await inspectRunningLibvirtd(prefix);
      if (other && other.netns !== netns) {
        log(`libvirtd start failed but another test libvirtd appeared (pid ${other.pid}, netns ${other.netns}); reusing it`);
        await teardownOwned(netns, started, false, log);
        created = false;
        await waitForLibvirt(other.netns, readyTimeoutMs);
        return makeHypervisor({ netns: other.netns, started: [], reused: true, log });
      }
      throw new Error(`libvirtd -d failed in netns ${netns} (exit ${r.code}): ${r.stderr.trim()}`);
    }
    const id = await identityFromPidfile(LIBVIRTD_PIDFILE, "libvirtd", netns);
    started.push(id);
    log(`started libvirtd pid ${id.pid} in netns ${netns}${maskKvm ? " (/dev/kvm masked: TCG only)" : ""}`);

    await waitForLibvirt(netns, readyTimeoutMs);
    log(`libvirtd answers on ${LIBVIRT_URI}`);

    return await makeHypervisor({ netns, started, reused: false, log });
  } catch (e) {
    if (created) {
      await teardownOwned(netns, started, false, log).catch((err: unknown) => log(`cleanup after failed start: ${String(err)}`));
    }
    throw e;
  }
}

async function makeHypervisor(a: {
  netns: string;
  started: ProcIdentity[];
  reused: boolean;
  log: (s: string) => void;
}): Promise<TestHypervisor> {
  const { netns, started, reused, log } = a;
  let defaultNetworkDestroyed = false;
  if (await defaultNetworkCollides(netns)) {
    log(`libvirt's 'default' network is active on ${DEFAULT_NET_CIDR_PREFIX}0/24 (the lab's network): net-destroy default (stop() restarts it)`);
    const r = await virsh(netns, ["net-destroy", "default"]);
    if (r.code !== 0) throw new Error(`virsh net-destroy default failed: ${r.stderr.trim()}`);
    defaultNetworkDestroyed = true;
  }
  if (!reused) await writeState({ netns, started, defaultNetworkDestroyed, reused });

  let stopped = false;
  return {
    netns,
    uri: LIBVIRT_URI,
    startedPids: started.map((s) => s.pid),
    reused,
    exec: (cmd, opts) => run(nsExecArgv(netns, cmd), opts),
    async stop() {
      if (stopped) return;
      stopped = true;
      if (reused) {
        if (defaultNetworkDestroyed) {
          log(`restoring libvirt's 'default' network (net-start default)`);
          const r = await virsh(netns, ["net-start", "default"]);
          if (r.code !== 0) log(`WARNING: net-start default failed: ${r.stderr.trim()}`);
        }
        log(`leaving the reused libvirtd in netns ${netns} running`);
        return;
      }
      await teardownOwned(netns, started, defaultNetworkDestroyed, log);
    },
  };
}

/**
 * Stops what we started in `netns` and deletes the namespace. Leftover domains and networks
 * are destroyed through libvirt first (their qemu/dnsmasq would otherwise outlive libvirtd),
 * then the recorded daemons are killed, then anything else still inside our namespace (only
 * ever spawned by our libvirtd), then the namespace is deleted.
 */
async function teardownOwned(
  netns: string,
  started: ProcIdentity[],
  defaultNetworkDestroyed: boolean,
  log: (s: string) => void,
): Promise<void> {
  const libvirtd = started.find((s) => s.comm === "libvirtd");
  if (libvirtd && (await sameProcess(libvirtd))) {
    await destroyLeftovers(netns, log).catch((e: unknown) => log(`WARNING: leftover check failed: ${String(e)}`));
    if (defaultNetworkDestroyed) {
      // Restarting it now would only orphan its dnsmasq when libvirtd goes down; its definition
      // and autostart flag are untouched, so a later libvirtd brings it back as before.
      log(`not restarting libvirt's 'default' network: the libvirtd that ran it is being stopped (definition untouched)`);
    }
  }
  // libvirtd first (it may log through virtlogd while shutting down).
  const order = [...started].sort((x, y) => (x.comm === "libvirtd" ? -1 : y.comm === "libvirtd" ? 1 : 0));
  for (const id of order) await terminate([id], log);

  const strays: ProcIdentity[] = [];
  for (const pid of await pidsInNetns(netns)) {
    const id = await procIdentity(pid);
    if (id) strays.push(id);
  }
  if (strays.length) {
    log(`WARNING: processes left in netns ${netns} (spawned by its libvirtd): ${strays.map((s) => `${s.pid}/${s.comm}`).join(", ")}; stopping them`);
    await terminate(strays, log, 10_000);
  }
  if (await netnsExists(netns)) {
    const r = await run(["ip", "netns", "delete", netns]);
    if (r.code !== 0) throw new Error(`ip netns delete ${netns} failed: ${r.stderr.trim()}`);
    log(`deleted netns ${netns}`);
  }
  await removeState(netns);
  if ((await pidsByComm("libvirtd")).length === 0) {
    await fs.rm(KVM_MASK, { force: true });
    await fs.rmdir(STATE_DIR).catch(() => undefined); // only if empty
  }
}

/** Stops the test hypervisor living in `netns` (used by `testhv down`). */
export async function stopTestHypervisorByNetns(netns: string, log: (s: string) => void = () => undefined): Promise<void> {
  if (!NETNS_NAME_RE.test(netns)) throw new Error(`invalid netns name: ${netns}`);
  const state = await readState(netns);
  let started: ProcIdentity[] = [];
  if (state) {
    for (const id of state.started) {
      if (await sameProcess(id)) started.push(id);
    }
  }
  // Also pick up daemons in that namespace that the state file does not know about.
  for (const pid of await pidsInNetns(netns)) {
    const id = await procIdentity(pid);
    if (id && (id.comm === "libvirtd" || id.comm === "virtlogd") && !started.some((s) => s.pid === id.pid)) started.push(id);
  }
  if (!state && started.length === 0 && !(await netnsExists(netns))) {
    log(`nothing to do: no netns ${netns} and no daemons in it`);
    return;
  }
  await teardownOwned(netns, started, state?.defaultNetworkDestroyed ?? false, log);
}

// ---------------------------------------------------------------------------------
// CLI

/** Stops early, naming every missing program and its package (scripts/preflight.sh --tests). */
async function ensureHostTools(log: (s: string) => void): Promise<void> {
  const { spawnSync } = await import("child_process");
  const script = require("path").resolve(__dirname, "../../scripts/preflight.sh");
  const r = spawnSync("bash", [script, "--tests"], { stdio: ["ignore", "inherit", "inherit"] });
  if (r.status !== 0) throw new Error("programs the end-to-end test needs are missing (listed above): run scripts/install-host-deps.sh as root");
  log("host programs present");
}

/**
 * Starts the test hypervisor, runs a command inside its network namespace (so everything the
 * command does stays there), then stops the hypervisor whatever happened.
 */
/**
 * Builds (or finds cached) a Debian test guest image (bookworm or trixie); returns its
 * manifest.json. The Debian 12 image boots without cloud-init (the image README offers users),
 * the Debian 13 one with it (so the cloud-init seed is tested end to end too).
 */
async function buildTestImage(log: (s: string) => void, suite = "bookworm"): Promise<string> {
  const guestInit = suite === "bookworm" ? "swarmlab" : "cloud-init";
  const { spawnSync } = await import("child_process");
  const path = await import("path");
  const t0 = Date.now();
  const script = path.resolve(__dirname, "build-test-image.sh");
  const r = spawnSync("bash", [script], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8", env: { ...process.env, SWARMLAB_TEST_SUITE: suite, SWARMLAB_GUEST_INIT: guestInit } });
  if (r.status !== 0) throw new Error(`build-test-image.sh (${suite}) failed (exit ${r.status})`);
  const dir = r.stdout.trim().split("\n").pop() ?? "";
  log(`test image (${suite}, ${guestInit}) ready in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${dir}`);
  return path.join(dir, "manifest.json");
}

async function runInside(cmd: string[], log: (s: string) => void, extraEnv: NodeJS.ProcessEnv = {}): Promise<number> {
  await ensureHostTools(log);
  const hv = await startTestHypervisor({ log });
  const { spawn } = await import("child_process");
  let code = 1;
  try {
    code = await new Promise<number>((resolve) => {
      const child = spawn("ip", ["netns", "exec", hv.netns, ...cmd], {
        stdio: "inherit",
        env: { ...process.env, ...extraEnv, SWARMLAB_E2E_NETNS: hv.netns, SWARMLAB_E2E_URI: hv.uri },
      });
      const forward = (sig: NodeJS.Signals) => child.kill(sig);
      process.on("SIGINT", forward);
      process.on("SIGTERM", forward);
      child.on("close", (c, sig) => {
        process.off("SIGINT", forward);
        process.off("SIGTERM", forward);
        resolve(c ?? (sig ? 128 : 1));
      });
      child.on("error", (e) => {
        log(`cannot start ${cmd[0]}: ${e.message}`);
        resolve(127);
      });
    });
  } finally {
    await hv.stop();
    const left = await run(["ip", "netns", "list"]);
    if (left.stdout.includes(hv.netns)) log(`WARNING: netns ${hv.netns} is still present after stop`);
  }
  return code;
}

async function main(argv: string[]): Promise<number> {
  const log = (s: string) => process.stderr.write(`[testhv] ${s}\n`);
  const [cmd, arg] = argv;
  if (cmd === "up") {
    const hv = await startTestHypervisor({ log });
    process.stdout.write(JSON.stringify({ netns: hv.netns, uri: hv.uri, startedPids: hv.startedPids, reused: hv.reused }) + "\n");
    return 0;
  }
  if (cmd === "down" && arg) {
    const prefixOk = arg.startsWith(DEFAULT_NETNS_PREFIX) || argv.includes("--force");
    if (!prefixOk) {
      log(`refusing: ${arg} is not a ${DEFAULT_NETNS_PREFIX}* namespace (add --force to insist)`);
      return 2;
    }
    await stopTestHypervisorByNetns(arg, log);
    return 0;
  }
  if (cmd === "run") {
    const sep = argv.indexOf("--");
    const child = sep >= 0 ? argv.slice(sep + 1) : argv.slice(1);
    if (!child.length) {
      process.stderr.write("usage: testhv.ts run -- <command...>\n");
      return 2;
    }
    const opts = argv.slice(1, sep >= 0 ? sep : argv.length);
    const env: NodeJS.ProcessEnv = {};
    if (opts.includes("--with-test-image") && !process.env.SWARMLAB_TEST_IMAGE_MANIFEST) {
      // The image is built from Debian's mirror, so outside the namespace (which has no way out).
      env.SWARMLAB_TEST_IMAGE_MANIFEST = await buildTestImage(log);
    }
    // Debian 13: Docker 26.1, the engine line CentOS 7 users get (docker-ce 26.1.4).
    if (opts.includes("--with-debian13-image") && !process.env.SWARMLAB_TEST_IMAGE_MANIFEST_DEBIAN13) {
      env.SWARMLAB_TEST_IMAGE_MANIFEST_DEBIAN13 = await buildTestImage(log, "trixie");
    }
    // The Pulumi CLI is built from Go modules, also outside the namespace.
    const engine = opts.includes("--with-engine") ? (await import("./engine")).installTestEngine(log) : undefined;
    try {
      return await runInside(child, log, { ...env, ...engine?.env });
    } finally {
      engine?.remove();
    }
  }
  process.stderr.write("usage: testhv.ts up | down <netns> [--force] | run [--with-test-image] [--with-debian13-image] [--with-engine] -- <command...>\n");
  return 2;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`[testhv] ERROR: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
