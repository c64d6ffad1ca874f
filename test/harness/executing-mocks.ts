/**
 * Pulumi mocks that *execute* resources, so the real program can stand a real lab up
 * without the Pulumi CLI or provider plugins:
 *
 * - a dynamic resource (`pulumi-nodejs:dynamic:Resource`) is turned back into its provider
 *   the way Pulumi's dynamic provider host does (require-from-string on `__provider`, then
 *   `.handler()`), and `check` then `create` are called; state = outs + `__provider`;
 * - a `command:remote:Command` runs over SSH with the command provider's connection
 *   semantics (defaults user root, port 22, dialErrorLimit 10, perDialTimeout 15 s; dial
 *   retried with a 100 ms delay growing 1.5x up to 5 s), stdin, logging modes and error
 *   text; any input this harness does not implement fails loudly;
 * - components are recorded and return no state.
 *
 * The mock monitor has no diff, update or delete, so the harness records what it created
 * (in completion order, which is a topological order) and deletes in reverse itself. In
 * `plan` mode nothing is created: each resource's provider `diff` is asked against the
 * recorded state, as a second `pulumi up` would.
 */
import * as pulumi from "@pulumi/pulumi";
import { NodeSSH } from "node-ssh";
import requireFromString from "require-from-string";

export type ResourceKind = "component" | "dynamic" | "command";

export interface RecordedResource {
  key: string;
  type: string;
  name: string;
  kind: ResourceKind;
  id: string;
  inputs: Record<string, any>;
  outs: Record<string, any>;
  providerText?: string;
  startedMs: number;
  finishedMs: number;
}

export interface PlannedChange {
  key: string;
  changes: boolean;
  replaces: string[];
  detail?: string;
}

export interface HarnessLog {
  (line: string): void;
}

const DYNAMIC_TYPE = /^pulumi-nodejs:dynamic(\/[^:]+)?:/;
const COMMAND_TYPE = "command:remote:Command";

const COMMAND_INPUTS = new Set(["connection", "create", "update", "delete", "stdin", "triggers", "logging", "addPreviousOutputInEnv", "environment"]);
const CONNECTION_INPUTS = new Set(["host", "port", "user", "privateKey", "dialErrorLimit", "perDialTimeout"]);

/** Deeply replaces Pulumi's RPC secret wrappers by their values. */
export function unwrapSecrets(v: any): any {
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v && typeof v === "object") {
    const u = pulumi.runtime.unwrapRpcSecret(v);
    if (u !== v) return unwrapSecrets(u);
    const out: Record<string, any> = {};
    for (const [k, x] of Object.entries(v)) out[k] = unwrapSecrets(x);
    return out;
  }
  return v;
}

function stableJson(v: any): string {
  if (Array.isArray(v)) return `[${v.map(stableJson).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stableJson(v[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v ?? null);
}

const providerCache = new Map<string, pulumi.dynamic.ResourceProvider>();

/** What Pulumi's dynamic provider host does with `__provider`. */
export function loadDynamicProvider(text: string): pulumi.dynamic.ResourceProvider {
  let p = providerCache.get(text);
  if (!p) {
    p = (requireFromString(text) as { handler: () => pulumi.dynamic.ResourceProvider }).handler();
    providerCache.set(text, p);
  }
  return p;
}

interface Connection {
  host: string;
  port: number;
  user: string;
  privateKey?: string;
  dialErrorLimit: number;
  perDialTimeout: number;
}

function commandConnection(raw: Record<string, any>, resource: string): Connection {
  for (const k of Object.keys(raw)) {
    if (!CONNECTION_INPUTS.has(k) && raw[k] !== undefined) {
      throw new Error(`${resource}: connection.${k} is not implemented by the test harness`);
    }
  }
  if (!raw.host) throw new Error(`${resource}: connection.host is required`);
  return {
    host: raw.host,
    port: raw.port ?? 22,
    user: raw.user ?? "root",
    privateKey: raw.privateKey,
    dialErrorLimit: raw.dialErrorLimit ?? 10,
    perDialTimeout: raw.perDialTimeout ?? 15,
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Dials like the command provider: retry until the dial error limit (-1: unlimited). */
export async function dialLikeCommandProvider(c: Connection, log?: HarnessLog): Promise<NodeSSH> {
  let delay = 100;
  for (let attempt = 0; ; attempt++) {
    const ssh = new NodeSSH();
    try {
      await ssh.connect({
        host: c.host,
        port: c.port,
        username: c.user,
        privateKey: c.privateKey,
        readyTimeout: c.perDialTimeout > 0 ? c.perDialTimeout * 1000 : 24 * 3600 * 1000,
      });
      return ssh;
    } catch (e) {
      ssh.dispose();
      const dials = attempt + 1;
      if (c.dialErrorLimit > -1 && dials > c.dialErrorLimit) {
        throw new Error(`dial ${c.user}@${c.host}:${c.port}: ${(e as Error).message} (after ${dials} attempts)`);
      }
      if (attempt % 10 === 9) log?.(`  ... ${c.host}: still dialling (${dials} attempts: ${(e as Error).message})`);
      await sleep(delay);
      delay = Math.min(delay * 1.5, 5000);
    }
  }
}

export interface RunCommandResult {
  stdout: string;
  stderr: string;
}

/** Runs one command over SSH the way the command provider does: stdin, logging, error text. */
export async function runRemoteCommand(
  name: string,
  conn: Connection,
  cmd: string,
  stdin: string | undefined,
  logging: string,
  log: HarnessLog,
): Promise<RunCommandResult> {
  const ssh = await dialLikeCommandProvider(conn, log);
  try {
    let combined = "";
    const logLine = (stream: "stdout" | "stderr") => (chunk: Buffer) => {
      const text = chunk.toString("utf8");
      combined += text;
      const wanted = logging === "stdoutAndStderr" || logging === stream;
      if (wanted) for (const line of text.split("\n").filter(Boolean)) log(`  [${name}] ${line}`);
    };
    const r = await ssh.execCommand(cmd, {
      stdin: stdin && stdin.length > 0 ? stdin : undefined,
      onStdout: logLine("stdout"),
      onStderr: logLine("stderr"),
    });
    if (r.code !== 0) {
      throw new Error(`Process exited with status ${r.code}: running ${JSON.stringify(cmd)}:\n${combined}`);
    }
    return { stdout: r.stdout.replace(/\n$/, ""), stderr: r.stderr.replace(/\n$/, "") };
  } finally {
    ssh.dispose();
  }
}

export interface ExecutingMocksOptions {
  mode: "up" | "plan";
  log: HarnessLog;
  /** For plan mode: the state of a previous `up`. */
  previous?: RecordedResource[];
}

export class ExecutingMocks implements pulumi.runtime.Mocks {
  readonly created: RecordedResource[] = [];
  readonly plan: PlannedChange[] = [];
  readonly failures: Error[] = [];
  private inflight = 0;
  private readonly t0 = Date.now();

  constructor(private readonly opts: ExecutingMocksOptions) {}

  get pending(): number {
    return this.inflight;
  }

  elapsed(): number {
    return Date.now() - this.t0;
  }

  async call(args: pulumi.runtime.MockCallArgs): Promise<Record<string, any>> {
    throw new Error(`function ${args.token} is not implemented by the test harness`);
  }

  async newResource(args: pulumi.runtime.MockResourceArgs): Promise<{ id: string | undefined; state: Record<string, any> }> {
    this.inflight++;
    const started = this.elapsed();
    const key = `${args.type}::${args.name}`;
    try {
      if (!args.custom) {
        this.record({ key, type: args.type, name: args.name, kind: "component", id: "", inputs: {}, outs: {}, startedMs: started, finishedMs: this.elapsed() });
        return { id: undefined, state: {} };
      }
      const inputs = unwrapSecrets(args.inputs);
      if (DYNAMIC_TYPE.test(args.type)) return await this.dynamic(key, args, inputs, started);
      if (args.type === COMMAND_TYPE) return await this.command(key, args, inputs, started);
      throw new Error(`resource type ${args.type} (${args.name}) is not implemented by the test harness`);
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      this.failures.push(new Error(`${args.name}: ${err.message}`));
      this.opts.log(`FAILED ${args.name}: ${err.message}`);
      throw err;
    } finally {
      this.inflight--;
    }
  }

  private record(r: RecordedResource): void {
    this.created.push(r);
  }

  private previousOf(key: string): RecordedResource {
    const p = this.opts.previous?.find((r) => r.key === key);
    if (!p) throw new Error(`plan: ${key} is not in the previous state; a second up would create it`);
    return p;
  }

  private async dynamic(key: string, args: pulumi.runtime.MockResourceArgs, inputs: Record<string, any>, started: number) {
    const providerText = inputs.__provider;
    if (typeof providerText !== "string" || !providerText) throw new Error(`${args.name}: dynamic resource without __provider`);
    const provider = loadDynamicProvider(providerText);
    const news: Record<string, any> = {};
    for (const [k, v] of Object.entries(inputs)) if (k !== "__provider" && v !== undefined) news[k] = v;

    let checked = news;
    if (provider.check) {
      const prev = this.opts.mode === "plan" ? this.previousOf(key).outs : {};
      const r = await provider.check(prev, news);
      if (r.failures?.length) {
        throw new Error(`check failed: ${r.failures.map((f) => `${f.property}: ${f.reason}`).join("; ")}`);
      }
      checked = r.inputs ?? news;
    }

    if (this.opts.mode === "plan") {
      const prev = this.previousOf(key);
      const d = provider.diff ? await provider.diff(prev.id, prev.outs, checked) : { changes: stableJson(prev.inputs) !== stableJson(checked) };
      this.plan.push({ key, changes: d.changes !== false, replaces: d.replaces ?? [] });
      return { id: prev.id, state: prev.outs };
    }

    this.opts.log(`creating ${args.name}`);
    const r = await provider.create(checked);
    const outs = { ...(r.outs ?? {}) };
    this.record({ key, type: args.type, name: args.name, kind: "dynamic", id: r.id, inputs: checked, outs, providerText, startedMs: started, finishedMs: this.elapsed() });
    this.opts.log(`created ${args.name} (${((this.elapsed() - started) / 1000).toFixed(1)} s)`);
    return { id: r.id, state: { ...outs, __provider: providerText } };
  }

  private async command(key: string, args: pulumi.runtime.MockResourceArgs, inputs: Record<string, any>, started: number) {
    for (const k of Object.keys(inputs)) {
      if (!COMMAND_INPUTS.has(k) && inputs[k] !== undefined) throw new Error(`${args.name}: input ${k} is not implemented by the test harness`);
    }
    if (inputs.environment && Object.keys(inputs.environment).length) {
      throw new Error(
        `${args.name}: environment is not implemented by the test harness: the command provider sends it with SSH Setenv, ` +
          `which sshd silently refuses unless AcceptEnv allows it; pass values in the command or on stdin`,
      );
    }
    if (inputs.update !== undefined) throw new Error(`${args.name}: update commands are not implemented by the test harness`);
    const logging = inputs.logging ?? "stdoutAndStderr";
    if (!["stdout", "stderr", "stdoutAndStderr", "none"].includes(logging)) throw new Error(`${args.name}: unknown logging mode ${logging}`);
    const conn = commandConnection(inputs.connection ?? {}, args.name);

    if (this.opts.mode === "plan") {
      const prev = this.previousOf(key);
      const changed = Object.keys({ ...prev.inputs, ...inputs }).filter((k) => stableJson(prev.inputs[k]) !== stableJson(inputs[k]));
      this.plan.push({ key, changes: changed.length > 0, replaces: changed, detail: changed.join(", ") });
      return { id: prev.id, state: prev.outs };
    }

    this.opts.log(`running ${args.name} on ${conn.user}@${conn.host}`);
    const r = inputs.create ? await runRemoteCommand(args.name, conn, inputs.create, inputs.stdin, logging, this.opts.log) : { stdout: "", stderr: "" };
    const outs = { ...inputs, stdout: r.stdout, stderr: r.stderr };
    const id = `${args.name}-${Date.now().toString(36)}`;
    this.record({ key, type: args.type, name: args.name, kind: "command", id, inputs, outs, startedMs: started, finishedMs: this.elapsed() });
    this.opts.log(`finished ${args.name} (${((this.elapsed() - started) / 1000).toFixed(1)} s)`);
    return { id, state: outs };
  }
}

/** Deletes what an `up` created, in reverse completion order. Collects, rather than stops at, errors. */
export async function destroyRecorded(created: RecordedResource[], log: HarnessLog): Promise<Error[]> {
  const errors: Error[] = [];
  for (const r of [...created].reverse()) {
    try {
      if (r.kind === "dynamic" && r.providerText) {
        const p = loadDynamicProvider(r.providerText);
        if (p.delete) {
          log(`deleting ${r.name}`);
          await p.delete(r.id, r.outs);
        }
      } else if (r.kind === "command" && r.inputs.delete) {
        log(`running delete of ${r.name}`);
        await runRemoteCommand(r.name, commandConnection(r.inputs.connection, r.name), r.inputs.delete, undefined, r.inputs.logging ?? "stdoutAndStderr", log);
      }
    } catch (e) {
      errors.push(new Error(`delete ${r.name}: ${(e as Error).message}`));
      log(`delete of ${r.name} failed: ${(e as Error).message}`);
    }
  }
  return errors;
}

/** Resolves an Output's value under mocks. */
export function settle<T>(o: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => o.apply((v) => (resolve(v), v)));
}

/**
 * Runs a Pulumi program under executing mocks and waits until every registration has
 * settled. Throws the first resource failure (after everything in flight has finished).
 */
export async function runProgram<T>(
  program: () => T,
  opts: ExecutingMocksOptions & { project: string; stack: string; config: Record<string, string> },
): Promise<{ mocks: ExecutingMocks; result: T }> {
  const mocks = new ExecutingMocks(opts);
  pulumi.runtime.setAllConfig(opts.config, []);
  await pulumi.runtime.setMocks(mocks, opts.project, opts.stack, false);
  const unhandled = (e: unknown) => {
    mocks.failures.push(e instanceof Error ? e : new Error(String(e)));
  };
  process.on("unhandledRejection", unhandled);
  try {
    const result = program();
    // Registrations start asynchronously; wait until nothing is in flight for a while.
    let quiet = 0;
    while (quiet < 20) {
      await sleep(100);
      quiet = mocks.pending === 0 ? quiet + 1 : 0;
    }
    if (mocks.failures.length) {
      const e = new Error(`${opts.mode} failed:\n${mocks.failures.map((f) => `  ${f.message}`).join("\n")}`);
      (e as any).mocks = mocks;
      throw e;
    }
    return { mocks, result };
  } finally {
    process.off("unhandledRejection", unhandled);
  }
}
