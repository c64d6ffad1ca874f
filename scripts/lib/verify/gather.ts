/**
 * gather: the only part of verify that touches the lab. One SSH session per
 * host, all hosts in parallel; each session runs the gather script once
 * (`sudo -n bash -s`, script on stdin) and returns its framed output.
 */
import * as path from "node:path";
import { NodeSSH } from "node-ssh";
import { ParseError } from "./errors";
import { checkReplayDir, preparePrivateDir, readReplayFile, writePrivate } from "./files";
import { type FramedOutput, MARK, parseFramedOutput } from "../framing";
import { buildGatherScript } from "./gather-script";
import type { Inventory, InventoryHost } from "./inventory";

export interface HostGather {
  /** Inventory name of the host. */
  host: string;
  address: string;
  /** The session ran and its output was framed (sections may still have failed). */
  ok: boolean;
  /** Why nothing usable came back, in words: "connection refused on port 22", "sudo asks for a password"... */
  error?: string;
  /** The error as the SSH library or the host gave it, when `error` rephrases it. */
  errorDetail?: string;
  framed?: FramedOutput;
  /** Raw stdout of the session (what --save-raw stores). */
  stdout: string;
  stderr: string;
  exitCode: number | null;
  seconds: number;
}

export interface Gathered {
  hosts: HostGather[];
  /** Wall-clock seconds for the whole gather. */
  seconds: number;
  /** SSH sessions opened (one per host when all goes well). */
  sshSessions: number;
}

export type ProgressEvent =
  | { host: string; phase: "connecting"; address: string }
  | { host: string; phase: "connected" }
  | { host: string; phase: "section"; sections: number; key: string }
  | { host: string; phase: "done"; sections: number; seconds: number }
  | { host: string; phase: "error"; message: string }
  /** The traffic checks (PATH-1..4) on the manager: started, finished, skipped. */
  | { host: string; phase: "traffic"; message: string };

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

export interface RunOptions {
  /** Abort the session (connecting or running): run() rejects with the signal's reason and closes the connection. */
  signal?: AbortSignal;
}

/** How a script reaches a host. The default is SSH (node-ssh); tests plug in others. */
export interface Transport {
  run(host: InventoryHost, script: string, onStdout: (chunk: string) => void, onConnected: () => void, opts?: RunOptions): Promise<RunResult>;
  /** Sessions opened so far. */
  readonly sessions: number;
}

export interface SshTransportOptions {
  user: string;
  sshKeyFile: string;
  port?: number;
  readyTimeoutMs?: number;
  /** Run the script via `sudo -n` (default: unless user is root). */
  useSudo?: boolean;
  /** Give up on a session after this long (default 180 s); what arrived until then is kept. */
  sessionTimeoutMs?: number;
  /** What the script is, for the timeout message (default "the gather script"). */
  scriptName?: string;
}

export class SshTransport implements Transport {
  private opened = 0;
  /** Connections started ahead of their run() (warm()), by host address. */
  private readonly early = new Map<string, { ssh: NodeSSH; connecting: Promise<unknown> }>();
  constructor(private readonly opts: SshTransportOptions) {}

  get sessions(): number {
    return this.opened;
  }

  private connect(host: InventoryHost): { ssh: NodeSSH; connecting: Promise<unknown> } {
    const ssh = new NodeSSH();
    const connecting = ssh.connect({
      host: host.address,
      port: this.opts.port ?? 22,
      username: this.opts.user,
      privateKeyPath: this.opts.sshKeyFile,
      readyTimeout: this.opts.readyTimeoutMs ?? 20_000,
      // Lab VMs are created fresh with new host keys; there is no known_hosts to check against.
      hostVerifier: () => true,
    });
    connecting.catch(() => undefined);
    return { ssh, connecting };
  }

  /**
   * Starts connecting to a host now, so that the next run() on it finds the session ready (the
   * handshake costs the guest's emulated CPU most of a second). A failure shows in that run().
   */
  warm(host: InventoryHost): void {
    if (!this.early.has(host.address)) this.early.set(host.address, this.connect(host));
  }

  /** Closes the connections warm() started that no run() took. */
  dispose(): void {
    for (const { ssh, connecting } of this.early.values()) connecting.then(() => ssh.dispose(), () => undefined);
    this.early.clear();
  }

  async run(host: InventoryHost, script: string, onStdout: (chunk: string) => void, onConnected: () => void, runOpts: RunOptions = {}): Promise<RunResult> {
    const started = this.early.get(host.address) ?? this.connect(host);
    this.early.delete(host.address);
    const { ssh, connecting } = started;
    const signal = runOpts.signal;
    let onAbort: (() => void) | undefined;
    // Settles only when the caller aborts; raced against connecting and running.
    const aborted = new Promise<never>((_, reject) => {
      if (!signal) return;
      onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason ?? "aborted")));
      if (signal.aborted) onAbort();
      else signal.addEventListener("abort", onAbort, { once: true });
    });
    aborted.catch(() => undefined);
    try {
      try {
        await Promise.race([connecting, aborted]);
      } catch (e) {
        // Aborted while connecting: a connection that still comes up is closed at once.
        connecting.then(
          () => ssh.dispose(),
          () => undefined,
        );
        throw e;
      }
      this.opened++;
      onConnected();
      const sudo = this.opts.useSudo ?? this.opts.user !== "root";
      const exec = ssh.execCommand(sudo ? "sudo -n bash -s" : "bash -s", {
        stdin: script,
        noTrim: true,
        onStdout: (chunk) => onStdout(chunk.toString("utf8")),
      });
      const ms = this.opts.sessionTimeoutMs ?? 180_000;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${this.opts.scriptName ?? "the gather script"} did not finish within ${ms / 1000}s`)), ms);
      });
      try {
        const res = await Promise.race([exec, timeout, aborted]);
        return { stdout: res.stdout, stderr: res.stderr, code: res.code };
      } finally {
        clearTimeout(timer);
      }
    } finally {
      if (signal && onAbort) signal.removeEventListener("abort", onAbort);
      ssh.dispose();
    }
  }
}

export interface GatherOptions {
  inventory: Inventory;
  transport?: Transport;
  onProgress?: (e: ProgressEvent) => void;
  /** Pretend `ip -j` is missing (exercise the text parsers on a JSON-capable host). */
  forceText?: boolean;
  /** Run the docker CLI even where the engine's API can be read directly. */
  dockerCli?: boolean;
  useSudo?: boolean;
  netnsDir?: string;
  /** Per-command time limit inside the script (seconds). */
  commandTimeout?: number;
}

/** Gather every host of the inventory, in parallel. Never throws for a host failure: it is recorded. */
export async function gather(opts: GatherOptions): Promise<Gathered> {
  const { inventory } = opts;
  const transport =
    opts.transport ?? new SshTransport({ user: inventory.user, sshKeyFile: inventory.sshKeyFile, useSudo: opts.useSudo });
  const progress = opts.onProgress ?? (() => undefined);
  // One script per role: on the inventory's managers the manager's listings start at once.
  const scriptFor = (host: InventoryHost): string =>
    buildGatherScript({
      service: inventory.workload?.service,
      overlay: inventory.workload?.overlay,
      netnsDir: opts.netnsDir,
      forceText: opts.forceText,
      dockerClient: opts.dockerCli ? "cli" : "auto",
      commandTimeout: opts.commandTimeout,
      manager: host.role === "manager",
    });
  const t0 = Date.now();
  const hosts = await Promise.all(
    inventory.hosts.map(async (host): Promise<HostGather> => {
      const h0 = Date.now();
      let sections = 0;
      let pending = "";
      let received = "";
      progress({ host: host.name, phase: "connecting", address: host.address });
      const onStdout = (chunk: string): void => {
        received += chunk;
        pending += chunk;
        const lines = pending.split("\n");
        pending = lines.pop() ?? "";
        for (const line of lines) {
          const m = /^@@swarmlab:end (\S+) /.exec(line);
          if (m) progress({ host: host.name, phase: "section", sections: ++sections, key: m[1]! });
        }
      };
      try {
        const res = await transport.run(host, scriptFor(host), onStdout, () => progress({ host: host.name, phase: "connected" }));
        const seconds = (Date.now() - h0) / 1000;
        const base = { host: host.name, address: host.address, stdout: res.stdout, stderr: res.stderr, exitCode: res.code, seconds };
        if (!res.stdout.includes(`${MARK}begin `)) {
          const detail = res.stderr.trim().split("\n").slice(-3).join(" / ") || `exit code ${res.code}`;
          const why = describeScriptFailure(`${res.stderr}\n${res.stdout}`, res.code, inventory.user) ?? `the gather script produced no sections: ${detail}`;
          progress({ host: host.name, phase: "error", message: why });
          return { ...base, ok: false, error: why, errorDetail: detail };
        }
        const framed = parseFramedOutput(res.stdout, `gather script on ${host.name}`);
        progress({ host: host.name, phase: "done", sections: Object.keys(framed.sections).length, seconds });
        return { ...base, ok: true, framed };
      } catch (e) {
        const detail = e instanceof Error ? e.message : String(e);
        const message = describeConnectError(e, { user: inventory.user });
        progress({ host: host.name, phase: "error", message });
        const seconds = (Date.now() - h0) / 1000;
        const base = { host: host.name, address: host.address, stdout: received, stderr: "", exitCode: null, seconds };
        // Keep what arrived before the session broke: those sections are as good as any.
        if (received.includes(`${MARK}begin `)) {
          const framed = parseFramedOutput(received, `gather script on ${host.name}`);
          framed.problems.push(`the session ended early: ${message}`);
          return { ...base, ok: true, framed };
        }
        return { ...base, ok: false, error: message, ...(detail !== message ? { errorDetail: detail } : {}) };
      }
    }),
  );
  return { hosts, seconds: (Date.now() - t0) / 1000, sshSessions: transport.sessions };
}

// ------------------------------------------------------- causes in words ----

/**
 * Why a host could not be reached, in words a trainer can act on:
 * "connection refused on port 22", "no answer on port 22 (timed out)",
 * "SSH login refused for user swarm"... Unknown errors keep their message.
 */
export function describeConnectError(e: unknown, opts: { user?: string; port?: number } = {}): string {
  const msg = e instanceof Error ? e.message : String(e);
  const code = typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : "";
  const port = /:(\d+)\s*$/.exec(msg)?.[1] ?? String(opts.port ?? 22);
  const has = (c: string): boolean => code === c || msg.includes(c);
  if (has("ECONNREFUSED")) return `connection refused on port ${port}`;
  if (has("EHOSTUNREACH")) return "host unreachable (no route to it)";
  if (has("ENETUNREACH")) return "network unreachable";
  if (has("ENOTFOUND") || has("EAI_AGAIN")) return "its address cannot be resolved";
  if (has("ETIMEDOUT") || /Timed out while waiting for handshake/i.test(msg)) return `no answer on port ${port} (timed out)`;
  if (has("ECONNRESET") || /Connection lost before handshake/i.test(msg)) return "the connection was closed before login";
  if (/All configured authentication methods failed/i.test(msg)) return `SSH login refused for user ${opts.user ?? "?"} (the key is not accepted)`;
  if (/privateKey|private key|Cannot parse privateKey/i.test(msg)) return `the SSH key cannot be used: ${msg}`;
  return msg;
}

/** Why the script printed nothing, when stderr says (sudo, bash missing). */
export function describeScriptFailure(stderr: string, code: number | null, user: string): string | undefined {
  if (/sudo: a (terminal|password) is required|sudo: no tty present/i.test(stderr)) return `sudo asks for a password (user ${user} needs passwordless sudo)`;
  if (/is not in the sudoers file|not allowed to execute/i.test(stderr)) return `user ${user} may not use sudo`;
  if (/sudo: (command )?not found/i.test(stderr) || (code === 127 && /sudo/.test(stderr))) return "sudo is not installed on the host";
  if (/bash: (command )?not found/i.test(stderr)) return "bash is not installed on the host";
  return undefined;
}

// ------------------------------------------------- save / replay raw data ----

/**
 * Store what was gathered: `<dir>/<host>.txt` (stdout), `<host>.stderr.txt`,
 * (the lab's traffic findings are written by runVerify). It shows the lab's inner workings: the directory
 * is 0700 (created so, or refused if others can enter it), the files 0600.
 */
export function saveRaw(dir: string, g: Gathered): void {
  preparePrivateDir(dir);
  for (const h of g.hosts) {
    writePrivate(path.join(dir, `${h.host}.txt`), h.stdout);
    if (h.stderr) writePrivate(path.join(dir, `${h.host}.stderr.txt`), h.stderr);
  }
}

/** Rebuild a Gathered from text outputs (a --save-raw directory or test fixtures). */
export function gatheredFromText(inventory: Inventory, outputs: Record<string, string | undefined>): Gathered {
  const hosts = inventory.hosts.map((host): HostGather => {
    const stdout = outputs[host.name];
    const base = { host: host.name, address: host.address, stdout: stdout ?? "", stderr: "", exitCode: stdout === undefined ? null : 0, seconds: 0 };
    if (stdout === undefined) return { ...base, ok: false, error: "no gathered output for this host" };
    try {
      return { ...base, ok: true, framed: parseFramedOutput(stdout, `gather output of ${host.name}`) };
    } catch (e) {
      return { ...base, ok: false, error: e instanceof ParseError ? e.message : String(e) };
    }
  });
  const g: Gathered = { hosts, seconds: 0, sshSessions: 0 };
  return g;
}

/**
 * The hosts' saved outputs of a --replay directory (a host without one could
 * not be checked). Its traffic is judged again from its evidence by the lab's
 * probe and checks (Probe.replay), never read back here.
 */
export function loadRaw(dir: string, inventory: Inventory): Gathered {
  checkReplayDir(dir, inventory.hosts.map((h) => h.name));
  const outputs: Record<string, string | undefined> = {};
  for (const h of inventory.hosts) outputs[h.name] = readReplayFile(dir, `${h.name}.txt`);
  const g = gatheredFromText(inventory, outputs);
  for (const h of g.hosts) if (!h.ok && outputs[h.host] === undefined) h.error = `no saved output for ${h.host} in ${dir}`;
  return g;
}
