/**
 * A Pulumi dynamic resource that runs one command on a guest over SSH (node-ssh), as a step of
 * building the lab: create runs it, a changed command or stdin runs it again (update), changed
 * triggers replace the resource (run it again as a new one), delete does nothing on the guest.
 *
 * It stands where `@pulumi/command`'s remote.Command stood: that provider is a Go plugin the
 * engine fetches on first use, which an offline host cannot get and which the test machines
 * cannot build (the Go module proxy they reach does not serve it). This one runs in the
 * dynamic-provider host of @pulumi/pulumi, like the virsh provider, so `up` needs no plugin.
 *
 * Same rules as every dynamic provider here: modules are required inside the functions; no
 * module-level state is captured. The private key is a secret input and is never part of the
 * outputs; stdin (the join token) is kept only as its SHA-256, to notice a change.
 */
import * as pulumi from "@pulumi/pulumi";

export interface GuestConnection {
  host: string;
  /** SSH port (default 22). */
  port?: number;
  user: string;
  privateKey: string;
  /** How many times to dial before giving up (a booting guest refuses for a minute or more). */
  dialAttempts: number;
  /** Seconds each dial may take. */
  dialTimeoutSec: number;
}

export interface GuestCommandInputs {
  connection: GuestConnection;
  /** The shell command line to run (the lab's scripts wrap themselves with asRoot). */
  create: string;
  /** Written to the command's stdin (for secrets: never on a command line). */
  stdin?: string;
  /** Any change here replaces the resource, so the command runs again. */
  triggers?: unknown[];
  /** Keep stdout out of error messages (it is a secret, e.g. a join token). */
  secretStdout?: boolean;
}

export interface GuestCommandOutputs {
  host: string;
  user: string;
  create: string;
  stdinSha256: string;
  triggers: unknown[];
  secretStdout: boolean;
  stdout: string;
  stderr: string;
}

function tail(text: string, lines: number): string {
  const all = text.trimEnd().split("\n");
  return (all.length > lines ? ["…", ...all.slice(-lines)] : all).join("\n");
}

/**
 * An SSH session to the guest, dialled up to `dialAttempts` times (a booting or just-resumed
 * guest refuses for a while). The caller disposes of it.
 */
export async function dialGuest(c: GuestConnection): Promise<any> {
  const { NodeSSH } = require("node-ssh");
  const attempts = Math.max(1, c.dialAttempts);
  let lastError = "";
  for (let i = 0; i < attempts; i++) {
    const client = new NodeSSH();
    try {
      // No agent: a stale SSH_AUTH_SOCK must not get in the way of the stack's own key.
      await client.connect({
        host: c.host,
        port: c.port ?? 22,
        username: c.user,
        privateKey: c.privateKey,
        readyTimeout: c.dialTimeoutSec * 1000,
        agent: undefined,
        tryKeyboard: false,
      });
      return client;
    } catch (e) {
      lastError = (e as Error).message;
      client.dispose();
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  throw new Error(`cannot reach ${c.user}@${c.host} over SSH after ${attempts} attempts: ${lastError}`);
}

/** Runs one command in a session dialGuest opened; a non-zero exit throws with the output's tail. */
export async function execOnGuest(ssh: any, host: string, command: string, o: { stdin?: string; secretStdout?: boolean } = {}): Promise<{ stdout: string; stderr: string }> {
  const r = await ssh.execCommand(command, o.stdin !== undefined ? { stdin: o.stdin } : {});
  const stdout: string = r.stdout ?? "";
  const stderr: string = r.stderr ?? "";
  if (r.code !== 0) {
    const shown = [stderr && `stderr:\n${tail(stderr, 40)}`, !o.secretStdout && stdout && `stdout:\n${tail(stdout, 20)}`]
      .filter(Boolean)
      .join("\n");
    throw new Error(`command on ${host} exited ${r.code ?? `on signal ${r.signal}`}${shown ? `\n${shown}` : ""}`);
  }
  return { stdout, stderr };
}

/** Runs one command on a guest as a GuestCommand does. */
export async function runOnGuest(inputs: GuestCommandInputs): Promise<GuestCommandOutputs> {
  const crypto = require("crypto");
  const c = inputs.connection;
  const ssh = await dialGuest(c);
  try {
    const { stdout, stderr } = await execOnGuest(ssh, c.host, inputs.create, { stdin: inputs.stdin, secretStdout: inputs.secretStdout });
    return {
      host: c.host,
      user: c.user,
      create: inputs.create,
      stdinSha256: inputs.stdin === undefined ? "" : crypto.createHash("sha256").update(inputs.stdin).digest("hex"),
      triggers: inputs.triggers ?? [],
      secretStdout: inputs.secretStdout ?? false,
      stdout,
      stderr,
    };
  } finally {
    ssh.dispose();
  }
}

export const guestCommandProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: GuestCommandInputs) {
    const outs = await runOnGuest(inputs);
    const crypto = require("crypto");
    return { id: crypto.randomUUID(), outs };
  },
  async diff(_id: string, olds: GuestCommandOutputs, news: GuestCommandInputs) {
    const crypto = require("crypto");
    const stdinSha256 = news.stdin === undefined ? "" : crypto.createHash("sha256").update(news.stdin).digest("hex");
    const replaces = JSON.stringify(olds.triggers ?? []) !== JSON.stringify(news.triggers ?? []) ? ["triggers"] : [];
    const rerun = [olds.create !== news.create && "create", olds.stdinSha256 !== stdinSha256 && "stdin"].filter(Boolean) as string[];
    const other = [
      olds.host !== news.connection.host && "connection",
      olds.user !== news.connection.user && "connection",
      (olds.secretStdout ?? false) !== (news.secretStdout ?? false) && "secretStdout",
    ].filter(Boolean) as string[];
    const changed = [...new Set([...replaces, ...rerun, ...other])];
    return { changes: changed.length > 0, replaces, deleteBeforeReplace: true };
  },
  async update(_id: string, olds: GuestCommandOutputs, news: GuestCommandInputs) {
    const crypto = require("crypto");
    const stdinSha256 = news.stdin === undefined ? "" : crypto.createHash("sha256").update(news.stdin).digest("hex");
    if (olds.create !== news.create || olds.stdinSha256 !== stdinSha256) return { outs: await runOnGuest(news) };
    // Only where or how it connects changed: nothing to run again.
    return {
      outs: { ...olds, host: news.connection.host, user: news.connection.user, secretStdout: news.secretStdout ?? false },
    };
  },
  async delete() {
    // The guest goes with its domain; nothing to undo on it.
  },
};

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

/** One step run on a guest over SSH. */
export class GuestCommand extends pulumi.dynamic.Resource {
  declare public readonly stdout: pulumi.Output<string>;
  declare public readonly stderr: pulumi.Output<string>;

  constructor(
    name: string,
    args: Omit<Inputs<GuestCommandInputs>, "connection"> & { connection: pulumi.Input<Inputs<GuestConnection>> },
    opts?: pulumi.CustomResourceOptions,
  ) {
    super(guestCommandProvider, name, { ...args, stdout: undefined, stderr: undefined }, opts);
  }
}
