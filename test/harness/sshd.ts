/**
 * An OpenSSH sshd for the end-to-end tests, so that a lab can be built through a
 * `qemu+ssh://` URI as on a remote hypervisor: it listens on 127.0.0.1 inside a network
 * namespace (the test hypervisor's), takes root by one key only, and libvirt's ssh transport
 * runs virt-ssh-helper through it, which talks to the namespace's libvirtd on its unix socket.
 *
 *   const sshd = await startTestSshd({ netns: process.env.SWARMLAB_E2E_NETNS!, log });
 *   const untrust = await trustHostKey(sshd.knownHostsLine, log); // as a user who has ssh'd there once
 *   // ... virsh -c sshd.uri ... ; await sshd.acceptedLogins()
 *   await untrust();
 *   await sshd.stop();
 *
 * Everything it makes lives in a temporary directory (mode 0700): its host key, the client key,
 * authorized_keys, sshd_config, the pid file and the log (sshd -e, LogLevel VERBOSE). stop()
 * kills that sshd (by its PID, after checking it is still ours) and removes the directory.
 *
 * Host key checking: libvirt runs `ssh` with no option that names a known_hosts file, and ssh
 * reads ~/.ssh/known_hosts of the passwd entry (not $HOME); the only URI parameter that changes
 * it, no_verify=1, turns checking off and makes ssh write there anyway. So trustHostKey() adds
 * the test sshd's key to that file and the function it returns puts the file back as it was
 * (removing it, and ~/.ssh, when it made them).
 *
 * CLI (manual trials):
 *   npx tsx test/harness/sshd.ts run <netns> -- <command...>
 *     starts the sshd in <netns>, trusts its host key, runs the command inside <netns> with
 *     SWARMLAB_SSHD_URI set to the qemu+ssh:// URI, then undoes all of it whatever happened.
 *
 * Only node built-ins are used (and run() of testhv.ts).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { constants as fsc, promises as fs } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { allProcesses, procIdentity, sameProcess, terminate, type ProcIdentity } from "./proc";
import { run, type ExecResult } from "./testhv";

export const SSHD = "/usr/sbin/sshd";
/** Debian's sshd needs its privilege separation directory; made (and removed) when missing. */
const PRIVSEP_DIR = "/run/sshd";
const LISTEN = "127.0.0.1";
const DEFAULT_PORT = 2222;
const PORT_TRIES = 20;

export interface TestSshd {
  netns: string;
  port: number;
  /** The temporary directory that holds the keys, config, pid file and log. */
  dir: string;
  /** PID of the listening sshd (sshd -D). */
  pid: number;
  /** `qemu+ssh://root@127.0.0.1:PORT/system?keyfile=<client key>`. */
  uri: string;
  /** The client's private key (ed25519, no passphrase), the only one authorized_keys accepts. */
  clientKey: string;
  /** The host key as a known_hosts line: `[127.0.0.1]:PORT ssh-ed25519 AAAA... comment`. */
  knownHostsLine: string;
  /** sshd's own log (its stderr, LogLevel VERBOSE). */
  logFile: string;
  /** The log so far. */
  readLog(): Promise<string>;
  /** How many public key logins as root the sshd has accepted so far. */
  acceptedLogins(): Promise<number>;
  /** Kills this sshd (and any session of it still open) and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

export interface SshdOptions {
  /** Network namespace to listen in (a named one, /run/netns/<netns>). */
  netns: string;
  /** First port tried (the next ones when it is taken). Default 2222. */
  port?: number;
  log?: (s: string) => void;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function exists(p: string): Promise<boolean> {
  try {
    await fs.lstat(p);
    return true;
  } catch {
    return false;
  }
}

/** A process's command line, as one string (sshd rewrites its own into "sshd: /usr/sbin/sshd -D ... [listener] ..."). */
async function cmdlineOf(pid: number): Promise<string> {
  try {
    return (await fs.readFile(`/proc/${pid}/cmdline`, "utf8")).split("\0").filter(Boolean).join(" ");
  } catch {
    return "";
  }
}

/** Every process below `pid` (its sessions), found through the parent links in /proc. */
async function descendantsOf(pid: number): Promise<ProcIdentity[]> {
  const all = await allProcesses();
  const out: ProcIdentity[] = [];
  const seen = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const id of all) {
      if (!seen.has(id.pid) && seen.has(id.ppid)) {
        seen.add(id.pid);
        out.push(id);
        grew = true;
      }
    }
  }
  return out;
}


/** True when this process already runs inside the named network namespace. */
async function insideNetns(netns: string): Promise<boolean> {
  const st = await fs.stat(`/run/netns/${netns}`);
  return (await fs.readlink("/proc/self/ns/net")) === `net:[${st.ino}]`;
}

function sshdConfig(a: { netns: string; port: number; dir: string }): string {
  const f = (name: string) => path.join(a.dir, name);
  return [
    `# swarmlab's test sshd (test/harness/sshd.ts), on the loopback of network namespace ${a.netns}:`,
    `# root, by the one key in authorized_keys, nothing else.`,
    `ListenAddress ${LISTEN}`,
    `Port ${a.port}`,
    `HostKey ${f("host_ed25519")}`,
    `PidFile ${f("sshd.pid")}`,
    `AuthorizedKeysFile ${f("authorized_keys")}`,
    // The keys sit in our 0700 directory, but under /tmp, which StrictModes refuses (world-writable).
    `StrictModes no`,
    `AllowUsers root`,
    `PermitRootLogin prohibit-password`,
    `AuthenticationMethods publickey`,
    `PubkeyAuthentication yes`,
    `PasswordAuthentication no`,
    `KbdInteractiveAuthentication no`,
    `HostbasedAuthentication no`,
    `UsePAM no`,
    `X11Forwarding no`,
    `AllowAgentForwarding no`,
    `AllowTcpForwarding no`,
    `AllowStreamLocalForwarding no`,
    `PermitTunnel no`,
    `PermitTTY no`,
    `PermitUserEnvironment no`,
    `UseDNS no`,
    // One virsh per libvirt object, many at once while a lab is built: no early drops.
    `MaxStartups 100`,
    // VERBOSE logs every accepted key ("Accepted publickey for root ...").
    `LogLevel VERBOSE`,
    ``,
  ].join("\n");
}

/** The base64 key of an OpenSSH public key line. */
const keyBlob = (line: string): string | undefined => line.trim().split(/\s+/).find((w) => w.startsWith("AAAA"));

export async function startTestSshd(opts: SshdOptions): Promise<TestSshd> {
  const log = opts.log ?? (() => undefined);
  const netns = opts.netns;
  if (process.getuid && process.getuid() !== 0) throw new Error("the test sshd needs root (it takes root logins, and ip netns exec)");
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(netns) || !(await exists(`/run/netns/${netns}`))) throw new Error(`no network namespace named ${JSON.stringify(netns)}`);
  try {
    await fs.access(SSHD, fsc.X_OK);
  } catch {
    throw new Error(`${SSHD} is missing: install openssh-server (scripts/install-host-deps.sh)`);
  }
  const inside = await insideNetns(netns);
  const inNs = (cmd: string[]): string[] => (inside ? cmd : ["ip", "netns", "exec", netns, ...cmd]);

  const dir = await fs.mkdtemp(path.join(os.tmpdir(), "swarmlab-sshd-"));
  let madePrivsep = false;
  let child: ChildProcess | undefined;
  let id: ProcIdentity | undefined;
  const cleanup = async () => {
    if (id) {
      await terminate([...(await descendantsOf(id.pid)), id], log, 5_000);
    } else if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill("SIGKILL");
    }
    await fs.rm(dir, { recursive: true, force: true });
    if (madePrivsep && !(await otherSshdRunning())) await fs.rmdir(PRIVSEP_DIR).catch(() => undefined);
  };
  try {
    await fs.chmod(dir, 0o700);
    // The key file goes into the URI's query: keep to characters that need no escaping there.
    if (!/^[A-Za-z0-9_./-]+$/.test(dir)) throw new Error(`temporary directory ${dir} has characters a libvirt URI cannot carry as is (set TMPDIR)`);
    const hostKey = path.join(dir, "host_ed25519");
    const clientKey = path.join(dir, "client_ed25519");
    for (const [file, comment] of [
      [hostKey, `swarmlab-test-sshd-host-${process.pid}`],
      [clientKey, `swarmlab-test-sshd-client-${process.pid}`],
    ] as const) {
      const r = await run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", file]);
      if (r.code !== 0) throw new Error(`ssh-keygen -f ${file} failed: ${r.stderr.trim()}`);
    }
    const clientPub = (await fs.readFile(`${clientKey}.pub`, "utf8")).trim();
    const hostPub = (await fs.readFile(`${hostKey}.pub`, "utf8")).trim();
    // `restrict`: no forwarding, pty or ~/.ssh/rc for this key; libvirt only runs a command.
    await fs.writeFile(path.join(dir, "authorized_keys"), `restrict ${clientPub}\n`, { mode: 0o600 });

    if (!(await exists(PRIVSEP_DIR))) {
      await fs.mkdir(PRIVSEP_DIR, { mode: 0o755 });
      madePrivsep = true;
    }

    const cfg = path.join(dir, "sshd_config");
    const logFile = path.join(dir, "sshd.log");
    const first = opts.port ?? DEFAULT_PORT;
    for (let port = first; port < first + PORT_TRIES; port++) {
      await fs.writeFile(cfg, sshdConfig({ netns, port, dir }), { mode: 0o600 });
      const check = await run([SSHD, "-t", "-f", cfg]);
      if (check.code !== 0) throw new Error(`${SSHD} -t -f ${cfg} refuses the configuration: ${check.stderr.trim()}`);

      await fs.writeFile(logFile, "", { mode: 0o600 });
      const out = await fs.open(logFile, "a");
      let exited: string | undefined;
      let spawnError: Error | undefined;
      const argv = inNs([SSHD, "-D", "-e", "-f", cfg]);
      try {
        child = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", out.fd, out.fd] });
      } finally {
        await out.close();
      }
      const c = child;
      c.on("exit", (code, signal) => (exited = signal ? `killed by ${signal}` : `exit ${code}`));
      c.on("error", (e) => (spawnError = e));

      // Ready when it hands out our host key on the port (ssh-keyscan, from inside the namespace).
      const deadline = Date.now() + 20_000;
      let ready = false;
      let last: ExecResult | undefined;
      while (!ready && exited === undefined && Date.now() < deadline) {
        if (spawnError) throw new Error(`cannot start ${argv.join(" ")}: ${spawnError.message}`);
        last = await run(inNs(["ssh-keyscan", "-T", "2", "-t", "ed25519", "-p", String(port), LISTEN]), { timeoutMs: 10_000 });
        ready = last.stdout.split("\n").some((l) => keyBlob(l) !== undefined && keyBlob(l) === keyBlob(hostPub));
        if (!ready) await sleep(200);
      }
      const text = await fs.readFile(logFile, "utf8");
      if (!ready) {
        if (exited !== undefined && /Address already in use/.test(text)) {
          log(`port ${port} is taken in netns ${netns}; trying ${port + 1}`);
          continue;
        }
        throw new Error(`the test sshd on ${LISTEN}:${port} in netns ${netns} did not come up (${exited ?? "still running"}): ${text.trim() || last?.stderr.trim()}`);
      }

      // The listener is the process we spawned (ip netns exec execs sshd in place).
      id = await procIdentity(c.pid!);
      const cmdline = await cmdlineOf(c.pid!);
      if (!id || id.comm !== "sshd" || !cmdline.includes(` -f ${cfg}`)) throw new Error(`pid ${c.pid} is not the sshd started with ${cfg} (${id?.comm ?? "gone"}: ${cmdline})`);
      const pidFile = Number((await fs.readFile(path.join(dir, "sshd.pid"), "utf8").catch(() => "")).trim());
      if (pidFile && pidFile !== id.pid) log(`note: sshd's pid file says ${pidFile}, the process we started is ${id.pid}`);

      const knownHostsLine = `[${LISTEN}]:${port} ${hostPub}`;
      // One login by hand, with a known_hosts of its own: a refused key shows here, not deep in a lab's up.
      await fs.writeFile(path.join(dir, "known_hosts"), knownHostsLine + "\n", { mode: 0o600 });
      const login = await run(
        inNs([
          "ssh", "-F", "/dev/null", "-i", clientKey, "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes",
          "-o", `UserKnownHostsFile=${path.join(dir, "known_hosts")}`, "-o", "GlobalKnownHostsFile=/dev/null",
          "-o", "StrictHostKeyChecking=yes", "-p", String(port), `root@${LISTEN}`, "true",
        ]),
        { timeoutMs: 30_000 },
      );
      if (login.code !== 0) {
        throw new Error(`ssh root@${LISTEN} -p ${port} with the test key failed (exit ${login.code}): ${login.stderr.trim()}\nsshd's log:\n${(await fs.readFile(logFile, "utf8")).trim()}`);
      }

      const uri = `qemu+ssh://root@${LISTEN}:${port}/system?keyfile=${clientKey}`;
      log(`test sshd pid ${id.pid} listens on ${LISTEN}:${port} in netns ${netns} (${dir}); ${uri}`);
      const readLog = () => fs.readFile(logFile, "utf8").catch(() => "");
      let stopped = false;
      const sshd: TestSshd = {
        netns,
        port,
        dir,
        pid: id.pid,
        uri,
        clientKey,
        knownHostsLine,
        logFile,
        readLog,
        acceptedLogins: async () => (await readLog()).split("\n").filter((l) => /Accepted publickey for root from /.test(l)).length,
        async stop() {
          if (stopped) return;
          stopped = true;
          const listener = id!;
          const sessions = await descendantsOf(listener.pid);
          if (sessions.length) log(`WARNING: sessions of the test sshd still open at stop: ${sessions.map((s) => `${s.pid}/${s.comm}`).join(", ")}; stopping them`);
          if ((await sameProcess(listener)) && (await cmdlineOf(listener.pid)).includes(` -f ${cfg}`)) await terminate([listener], log, 5_000);
          else log(`the test sshd pid ${listener.pid} had already exited`);
          await terminate(sessions, log, 5_000);
          await fs.rm(dir, { recursive: true, force: true });
          if (madePrivsep && !(await otherSshdRunning())) await fs.rmdir(PRIVSEP_DIR).catch(() => undefined);
          log(`test sshd pid ${listener.pid} stopped, ${dir} removed`);
        },
      };
      return sshd;
    }
    throw new Error(`no free port for the test sshd in netns ${netns} from ${first} to ${first + PORT_TRIES - 1}`);
  } catch (e) {
    await cleanup().catch((err: unknown) => log(`cleanup after a failed start: ${String(err)}`));
    throw e;
  }
}

/** Another sshd (not ours: ours is gone when this is asked) still needs the privilege separation directory. */
async function otherSshdRunning(): Promise<boolean> {
  return (await allProcesses()).some((p) => p.comm === "sshd");
}

/**
 * Adds a known_hosts line to ~/.ssh/known_hosts of this process's user (the passwd entry's home,
 * which is what ssh reads), as `ssh` itself would after a first connection; returns the function
 * that puts the file back: its previous content exactly, or no file (and no ~/.ssh) when there
 * was none. Should something else have changed the file meanwhile, only our line is taken out.
 */
export async function trustHostKey(line: string, log: (s: string) => void = () => undefined): Promise<() => Promise<void>> {
  const sshDir = path.join(os.userInfo().homedir, ".ssh");
  const file = path.join(sshDir, "known_hosts");
  const dirExisted = await exists(sshDir);
  const before = (await exists(file)) ? await fs.readFile(file) : undefined;
  const added = Buffer.from(`${before?.length && before[before.length - 1] !== 0x0a ? "\n" : ""}${line}\n`);
  if (!dirExisted) await fs.mkdir(sshDir, { mode: 0o700 });
  await fs.appendFile(file, added, { mode: 0o600 });
  log(`added the test sshd's host key to ${file}${before === undefined ? " (a new file)" : ""}`);
  let restored = false;
  return async () => {
    if (restored) return;
    restored = true;
    const now = (await exists(file)) ? await fs.readFile(file) : undefined;
    const expected = Buffer.concat([before ?? Buffer.alloc(0), added]);
    let rest: Buffer | undefined;
    if (now === undefined || now.equals(expected)) {
      rest = before;
    } else {
      log(`WARNING: ${file} changed while the test ran; taking out only the test sshd's line`);
      const kept = now.toString("utf8").split("\n").filter((l) => l !== line).join("\n");
      rest = kept.trim() === "" && before === undefined ? undefined : Buffer.from(kept);
    }
    if (rest === undefined) await fs.rm(file, { force: true });
    else await fs.writeFile(file, rest);
    if (!dirExisted) {
      try {
        await fs.rmdir(sshDir);
      } catch (e) {
        log(`WARNING: left ${sshDir} (made for the test): ${(e as Error).message}`);
      }
    }
    log(`${file} restored${rest === undefined ? " (removed: there was none)" : ""}`);
  };
}

// ---------------------------------------------------------------------------------
// CLI

async function main(argv: string[]): Promise<number> {
  const log = (s: string) => process.stderr.write(`[sshd] ${s}\n`);
  const [cmd, netns] = argv;
  const sep = argv.indexOf("--");
  const command = sep >= 0 ? argv.slice(sep + 1) : [];
  if (cmd !== "run" || !netns || sep !== 2 || !command.length) {
    process.stderr.write("usage: sshd.ts run <netns> -- <command...>   (the command runs inside <netns>, with SWARMLAB_SSHD_URI)\n");
    return 2;
  }
  const sshd = await startTestSshd({ netns, log });
  let untrust: (() => Promise<void>) | undefined;
  try {
    untrust = await trustHostKey(sshd.knownHostsLine, log);
    const before = await sshd.acceptedLogins();
    const code = await new Promise<number>((resolve) => {
      const child = spawn("ip", ["netns", "exec", netns, ...command], { stdio: "inherit", env: { ...process.env, SWARMLAB_SSHD_URI: sshd.uri } });
      child.on("error", (e) => {
        log(`cannot run ${command[0]}: ${e.message}`);
        resolve(127);
      });
      child.on("close", (c, sig) => resolve(c ?? (sig ? 128 : 1)));
    });
    log(`the command exited ${code}; sshd accepted ${(await sshd.acceptedLogins()) - before} login(s) for it:`);
    for (const l of (await sshd.readLog()).split("\n").filter((x) => /Accepted publickey|Connection closed|Disconnected|error|fatal/i.test(x))) log(`  ${l}`);
    return code;
  } finally {
    await untrust?.();
    await sshd.stop();
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`[sshd] ERROR: ${e instanceof Error ? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
