/**
 * `npm run up | preview | down | refresh | pulumi`: drives the Pulumi engine for one stack
 * (default `dev`, created on first use) with local file state under .swarmlab/ and a passphrase
 * generated once per checkout, so no Pulumi account is needed.
 *
 *   npm run up      [-- --stack NAME]                    create or update the lab, then verify it
 *   npm run preview [-- --stack NAME] [--expect-no-changes] [--diff]
 *   npm run refresh [-- --stack NAME]                    notice what changed outside Pulumi
 *   npm run down    [-- --stack NAME] [--remove]         destroy the lab (--remove: the stack too)
 *   npm run pulumi  -- <pulumi arguments>                the Pulumi CLI with the same backend
 *
 * The program runs in this process through the Automation API (an inline program: the engine
 * talks to it directly, no language plugin is started); the engine is the Pulumi CLI of the
 * npm package `pulumi`, the same version as @pulumi/pulumi, fetched by that package on first use
 * into $PULUMI_HOME/versions/<version>/ (~/.pulumi by default). A plain `pulumi up` in the
 * repository root runs the same program through Pulumi.yaml.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { EngineEvent, LocalWorkspace, PulumiCommand, Stack } from "@pulumi/pulumi/automation";
import { chooseLabNetwork, CONFIG_NAMESPACE, LabConfig, RawConfig, validateConfig, validateStackName } from "../../infra/config";
import { activeNetworks } from "../../infra/libvirt/inspect";
import { dialGuest, execOnGuest } from "../../infra/guest/command";
import { ensurePassphraseFile } from "../../infra/local";
import { asRoot } from "../../infra/guest/scripts";
import { workloadArgsOf } from "../../infra/program";
import { revertToBaseline, saveBaseline, withBaseline } from "../../infra/libvirt/snapshots";
import { fixedSettings, refusedChanges } from "../../infra/settings";
import { labNamed } from "../../labs";

const ROOT = path.resolve(__dirname, "../..");
const STATE = path.join(ROOT, ".swarmlab");
const PROJECT = "swarmlab";

class UsageError extends Error {}

const USAGE = `usage: npm run up|preview|refresh|reset|down [-- --stack NAME] [options]
       npm run pulumi -- <pulumi arguments>
  up        create or update the lab, then run verify (swarmlab:verifyAfterUp false skips it)
  preview   show what up would change; --expect-no-changes fails if anything would; --diff
  refresh   read the real state of every object (notices what was deleted by hand)
  reset     return the lab to its state after the last npm run up that changed it and verified
  down      destroy the lab; --remove also removes the stack and its configuration
  pulumi    run the Pulumi CLI with the lab's backend and passphrase (e.g. config set)`;

export interface LabArgs {
  verb: "up" | "preview" | "refresh" | "reset" | "down" | "pulumi";
  stack: string;
  expectNoChanges: boolean;
  diff: boolean;
  remove: boolean;
  /** Arguments for `pulumi`. */
  rest: string[];
}

const VERB_FLAGS: Record<string, string[]> = {
  up: [],
  preview: ["--expect-no-changes", "--diff"],
  refresh: [],
  reset: [],
  down: ["--remove"],
};

export function parseLabArgs(argv: readonly string[]): LabArgs {
  const [verb, ...args] = argv;
  if (verb === "pulumi") {
    if (!args.length) throw new UsageError("npm run pulumi needs the Pulumi CLI's arguments, e.g. npm run pulumi -- config set swarmlab:domainType qemu");
    return { verb, stack: "", expectNoChanges: false, diff: false, remove: false, rest: [...args] };
  }
  if (!verb || !(verb in VERB_FLAGS)) throw new UsageError(`unknown command "${verb ?? ""}": use up, preview, refresh, reset, down or pulumi`);
  const out: LabArgs = { verb: verb as LabArgs["verb"], stack: "dev", expectNoChanges: false, diff: false, remove: false, rest: [] };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") continue;
    if (a === "--stack" || a.startsWith("--stack=")) {
      const v = a === "--stack" ? args[++i] : a.slice("--stack=".length);
      if (v === undefined || v === "") throw new UsageError("--stack needs a stack name");
      out.stack = v;
    } else if (VERB_FLAGS[verb].includes(a)) {
      if (a === "--expect-no-changes") out.expectNoChanges = true;
      if (a === "--diff") out.diff = true;
      if (a === "--remove") out.remove = true;
    } else {
      const allowed = ["--stack NAME", ...VERB_FLAGS[verb]].join(", ");
      throw new UsageError(`npm run ${verb} does not take "${a}" (allowed: ${allowed})`);
    }
  }
  const bad = validateStackName(out.stack);
  if (bad) throw new UsageError(bad);
  return out;
}

/** Backend, passphrase and update-check settings every Pulumi command of the lab runs with. */
export function pulumiEnv(): Record<string, string> {
  fs.mkdirSync(path.join(STATE, "state"), { recursive: true, mode: 0o700 });
  const env: Record<string, string> = {
    PULUMI_BACKEND_URL: `file://${path.join(STATE, "state")}`,
    PULUMI_SKIP_UPDATE_CHECK: "true",
  };
  if (process.env.PULUMI_CONFIG_PASSPHRASE === undefined && process.env.PULUMI_CONFIG_PASSPHRASE_FILE === undefined) {
    const file = path.join(STATE, "passphrase");
    ensurePassphraseFile(file);
    env.PULUMI_CONFIG_PASSPHRASE_FILE = file;
  }
  return env;
}

/**
 * The Pulumi CLI of the npm package `pulumi` (same version as @pulumi/pulumi). The package
 * downloads it into $PULUMI_HOME/versions/<version>/bin on first use; resolving it before
 * anything else means a missing CLI stops `up` before any resource exists.
 */
async function pulumiCli(): Promise<string> {
  const { resolve } = require("pulumi/lib/resolve") as { resolve: () => Promise<string> };
  try {
    return await resolve();
  } catch (e) {
    throw new Error(
      `the Pulumi CLI ${require("pulumi/package.json").version} is not installed and could not be fetched (${(e as Error).message}). ` +
        `The npm package "pulumi" installs it on first use and needs internet once; or place it in $PULUMI_HOME/versions/<version>/bin/`,
    );
  }
}

/** PATH with the CLI's directory first, as the npm package `pulumi` runs it (plugins beside it are found). */
const pathWith = (bin: string) => `${path.dirname(bin)}${path.delimiter}${process.env.PATH ?? ""}`;

/** Checks the CLI can run the program: the dynamic-provider plugin must sit beside it or on PATH. */
function checkEngine(bin: string): void {
  const plugin = "pulumi-resource-pulumi-nodejs";
  const dirs = [path.dirname(bin), ...(process.env.PATH ?? "").split(path.delimiter)];
  if (!dirs.some((d) => d && fs.existsSync(path.join(d, plugin)))) {
    throw new Error(`${plugin} is neither beside ${bin} nor on PATH: the Pulumi CLI installation is incomplete (reinstall it)`);
  }
}

async function openStack(stackName: string, env: Record<string, string>, bin: string): Promise<Stack> {
  const pulumiCommand = await PulumiCommand.get({ root: path.dirname(path.dirname(bin)), skipVersionCheck: false });
  const program = async () => {
    const { stackOutputs } = await import("../../infra/main");
    return stackOutputs();
  };
  return LocalWorkspace.createOrSelectStack(
    { stackName, projectName: PROJECT, program },
    {
      workDir: ROOT,
      pulumiCommand,
      secretsProvider: "passphrase",
      envVars: { ...env, PATH: pathWith(bin) },
    },
  );
}

const write = (s: string) => process.stdout.write(s);

/** The stack's swarmlab:* settings, as the program reads them. */
async function rawConfigOf(stack: Stack): Promise<RawConfig> {
  const raw: RawConfig = {};
  for (const [key, v] of Object.entries(await stack.getAllConfig())) {
    if (key.startsWith(`${CONFIG_NAMESPACE}:`)) raw[key.slice(CONFIG_NAMESPACE.length + 1)] = v.value;
  }
  return raw;
}

/** Settings validated as the program validates them (without asking the hypervisor); throws ConfigError. */
const validated = (stack: Stack, raw: RawConfig): LabConfig => validateConfig(raw, { stack: stack.name, activeNetworks: [] });

/** The stack's configuration, validated as the program validates it (without asking the hypervisor). */
async function labConfigOf(stack: Stack): Promise<LabConfig> {
  return validated(stack, await rawConfigOf(stack));
}

const domainsOf = (cfg: LabConfig) => cfg.hosts.map((h) => `${cfg.objectPrefix}-${h.name}`);

/**
 * `npm run reset`: every domain back to its baseline (disks and memory, so the swarm, demonet
 * and demoservice as they were), then one SSH session per guest: each guest's clock set to now
 * (they resume at the moment of the snapshot) and, on the manager in the same session, the
 * lab's readiness check (Lab.ready, or its workload again): both nodes Ready, one task per node,
 * traffic through the overlay.
 */
async function reset(stack: Stack): Promise<void> {
  const t0 = Date.now();
  const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);
  const cfg = await labConfigOf(stack);
  const keyFile = path.join(STATE, cfg.stack, "id_swarmlab");
  if (!fs.existsSync(keyFile)) throw new Error(`${keyFile} is missing: run npm run up -- --stack ${cfg.stack} to write it again`);
  const privateKey = fs.readFileSync(keyFile, "utf8");
  await revertToBaseline(cfg.libvirtUri, domainsOf(cfg));
  const reverted = Date.now();
  const manager = cfg.hosts.find((h) => h.role === "manager")!;
  const lab = labNamed(cfg.labName);
  const args = workloadArgsOf(cfg, 120);
  const readiness = asRoot("reset", lab.ready ? lab.ready(args) : lab.workload(args));
  let answered = 0;
  let checked = 0;
  let ready = "";
  await Promise.all(
    cfg.hosts.map(async (h) => {
      const ssh = await dialGuest({ host: h.address, user: cfg.guestUser, privateKey, dialAttempts: 30, dialTimeoutSec: 10 });
      try {
        answered = Math.max(answered, Date.now());
        // The time is taken once the session is open, so the clock is not behind by the dial.
        const clock = `sudo -n date -u -s @${(Date.now() / 1000).toFixed(3)} >/dev/null`;
        if (h !== manager) return void (await execOnGuest(ssh, h.address, clock));
        checked = Date.now();
        ready = (await execOnGuest(ssh, h.address, `${clock} && ${readiness}`)).stdout;
      } finally {
        ssh.dispose();
      }
    }),
  );
  write(
    `swarmlab: lab ${cfg.stack} reset in ${seconds(t0)} s (domains reverted in ${((reverted - t0) / 1000).toFixed(1)} s, ` +
      `both guests answered SSH ${((answered - reverted) / 1000).toFixed(1)} s later, clock and the lab's readiness check took ${seconds(checked)} s); ` +
      `npm run verify -- --stack ${cfg.stack} checks it\n`,
  );
  for (const line of ready.split("\n").filter(Boolean)) write(`  ${manager.name}: ${line}\n`);
}

/**
 * After an `up` whose verify passed: saves the baseline `npm run reset` returns to, when the lab
 * has none yet or this `up` changed it.
 */
async function keepBaseline(stack: Stack, changed: boolean): Promise<void> {
  const cfg = await labConfigOf(stack);
  const domains = domainsOf(cfg);
  if (!changed && (await withBaseline(cfg.libvirtUri, domains)).length === domains.length) return;
  const t0 = Date.now();
  await saveBaseline(cfg.libvirtUri, domains);
  write(`swarmlab: saved this verified lab as the baseline of npm run reset (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
}

/**
 * swarmlab:networkCidr not set: says which range the lab network takes (the documented one, or
 * the next free one when an active libvirt network such as libvirt's own `default` uses it) and,
 * for `up`, saves the choice in the stack's configuration, so that later runs keep it whatever
 * else starts on the hypervisor. A configuration that does not validate, or a libvirt that does
 * not answer, is left to the program, which reports it. Returns the validated configuration with
 * the range it settled (undefined when it does not validate).
 */
async function settleNetwork(stack: Stack, save: boolean): Promise<LabConfig | undefined> {
  const raw = await rawConfigOf(stack);
  let cfg: LabConfig;
  try {
    cfg = validated(stack, raw);
  } catch {
    return undefined;
  }
  if (raw.networkCidr) return cfg;
  let all: ReturnType<typeof activeNetworks>;
  try {
    all = activeNetworks(cfg.libvirtUri);
  } catch {
    return cfg;
  }
  const choice = chooseLabNetwork(cfg.lab, all.filter((n) => n.name !== cfg.objectPrefix), all.find((n) => n.name === cfg.objectPrefix));
  if (!choice.note) return cfg;
  if (save) await stack.setConfig(`${CONFIG_NAMESPACE}:networkCidr`, { value: choice.cidr });
  write(`swarmlab: ${choice.note}${save ? ` (saved as ${CONFIG_NAMESPACE}:networkCidr in the configuration of stack ${stack.name}; set it to choose another)` : ""}\n`);
  return validated(stack, { ...raw, networkCidr: choice.cidr });
}

/**
 * Refuses, before the engine changes anything, a configuration whose fixed settings differ from
 * what the last `up` applied (infra/settings.ts). A configuration that does not validate is left
 * to the program, which reports every problem.
 */
async function checkFixedSettings(stack: Stack, cfg: LabConfig | undefined): Promise<void> {
  if (!cfg) return;
  const applied = (await stack.outputs()).settings?.value;
  if (!applied || typeof applied !== "object") return;
  const refused = refusedChanges(applied, fixedSettings(cfg));
  if (refused.length) {
    throw new Error(
      `these settings cannot change on a running lab (nothing was changed):\n${refused.map((r) => `  - ${r}`).join("\n")}\n` +
        `Set them back (npm run pulumi -- config set swarmlab:<key> <value> --stack ${stack.name}), ` +
        `or rebuild the lab: npm run down -- --stack ${stack.name}, then npm run up -- --stack ${stack.name}`,
    );
  }
}

/** The steps of building a lab, by the suffix of their resources' names, in the order they happen. */
const PHASES: [phase: string, suffix: RegExp][] = [
  ["define", /-domain$/],
  ["ssh", /-ready$/],
  ["docker", /-docker$/],
  ["swarm", /-swarm-(init|join-.*)$/],
  ["workload", /-workload-service$/],
];

/**
 * Seconds from the start of `up` at which each phase's last resource was done, for the phases
 * that ran (a step left as it was does not count), e.g. "define 9.8 s, ssh 81.2 s, ...".
 */
export function phaseTimes(done: { name: string; op: string; seconds: number }[]): string {
  const parts: string[] = [];
  for (const [phase, suffix] of PHASES) {
    const ran = done.filter((d) => d.op !== "same" && suffix.test(d.name));
    if (ran.length) parts.push(`${phase} ${Math.max(...ran.map((d) => d.seconds)).toFixed(1)} s`);
  }
  return parts.join(", ");
}

async function run(args: LabArgs): Promise<number> {
  const env = pulumiEnv();
  const bin = await pulumiCli();
  checkEngine(bin);
  if (args.verb === "pulumi") {
    const cliEnv = { ...process.env, ...env, PATH: pathWith(bin) };
    const rest = [...args.rest];
    if (rest[0] === "config") {
      // Configuring a stack that `up` has not created yet: create it (as `up` would) first.
      const i = rest.findIndex((a) => a === "--stack" || a === "-s" || a.startsWith("--stack="));
      const stack = i < 0 ? "dev" : rest[i].startsWith("--stack=") ? rest[i].slice(8) : rest[i + 1];
      if (i < 0) rest.push("--stack", stack);
      const sel = spawnSync(bin, ["stack", "select", "--create", "--secrets-provider", "passphrase", "--non-interactive", stack], { cwd: ROOT, env: cliEnv, encoding: "utf8" });
      if (sel.status !== 0) throw new Error(`cannot create or select stack "${stack}": ${sel.stderr.trim()}`);
    }
    const r = spawnSync(bin, rest, { cwd: ROOT, stdio: "inherit", env: cliEnv });
    return r.status ?? 1;
  }
  const stack = await openStack(args.stack, env, bin);
  if (args.verb === "up" || args.verb === "preview") {
    // One read of the stack's configuration serves both: the network it settles is the one checked.
    await checkFixedSettings(stack, await settleNetwork(stack, args.verb === "up"));
  }
  let changed = false;
  switch (args.verb) {
    case "up": {
      const t0 = Date.now();
      const done: { name: string; op: string; seconds: number }[] = [];
      const onEvent = (e: EngineEvent) => {
        const m = e.resOutputsEvent?.metadata;
        if (m) done.push({ name: m.urn.split("::").pop() ?? m.urn, op: m.op, seconds: (Date.now() - t0) / 1000 });
      };
      const result = await stack.up({ onOutput: write, onEvent });
      const phases = phaseTimes(done);
      write(`\nswarmlab: up took ${((Date.now() - t0) / 1000).toFixed(1)} s${phases ? ` (done at: ${phases})` : ""}\n`);
      changed = Object.entries(result.summary.resourceChanges ?? {}).some(([op, n]) => op !== "same" && (n ?? 0) > 0);
      break;
    }
    case "reset":
      await reset(stack);
      return 0;
    case "preview":
      await stack.preview({ onOutput: write, expectNoChanges: args.expectNoChanges, diff: args.diff });
      return 0;
    case "refresh":
      await stack.refresh({ onOutput: write });
      return 0;
    case "down":
      await stack.destroy({ onOutput: write });
      if (args.remove) {
        await stack.workspace.removeStack(args.stack);
        write(`stack ${args.stack} removed, with its configuration\n`);
      }
      return 0;
  }
  const cfg = await stack.getConfig("swarmlab:verifyAfterUp").catch(() => undefined);
  if (cfg?.value === "false") return 0;
  write(`\nVerifying the new lab against the documented facts (npm run verify -- --stack ${args.stack}):\n`);
  const tv = Date.now();
  const verify = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts", "cli", "verify.ts"), "--stack", args.stack], { cwd: ROOT, stdio: "inherit" });
  write(`swarmlab: verify took ${((Date.now() - tv) / 1000).toFixed(1)} s\n`);
  if (verify.status === 0) await keepBaseline(stack, changed);
  return verify.status ?? 1;
}

/**
 * Counts Ctrl-C presses. One press reaches this process more than once: the terminal signals the
 * whole process group, and tsx, our parent, relays the same SIGINT to us again. Signals within
 * a second of the first are that same press (counted 0), so only a press a second or more later
 * stops at once.
 */
export function interruptCounter(sameWithinMs = 1000): ((now: number) => number) & { count(): number } {
  let presses = 0;
  let first = 0;
  const f = (now: number): number => {
    if (presses === 0) {
      first = now;
      return (presses = 1);
    }
    if (now - first < sameWithinMs) return 0;
    return ++presses;
  };
  return Object.assign(f, { count: () => presses });
}

async function main(argv: string[]): Promise<number> {
  let args: LabArgs;
  try {
    args = parseLabArgs(argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  try {
    return await run(args);
  } catch (e) {
    // The engine's own output (the failing step and its message) is already on the terminal;
    // the Automation API error repeats the whole command line and its output: say it briefly.
    const err = e as Error & { commandResult?: { code: number; stderr?: string } };
    if (err.commandResult) {
      // What the engine said on stderr before any step ran (a locked stack, say) was not shown.
      const said = (err.commandResult.stderr ?? "").trim();
      if (said) process.stderr.write(`\n${said.split("\n").slice(-10).join("\n")}\n`);
      process.stderr.write(`\nnpm run ${args.verb} failed; the messages above say why\n`);
      return err.commandResult.code > 0 ? err.commandResult.code : 1;
    }
    process.stderr.write(`npm run ${args.verb}: ${err.message}\n`);
    return 1;
  }
}

if (require.main === module) {
  // Ctrl-C reaches the Pulumi CLI too (one process group): it stops starting new steps and waits
  // for those under way, and the program it talks to lives in this process, so stay alive until
  // it is done. A second Ctrl-C stops at once; `npm run up` again picks up where it stopped.
  const ctrlC = interruptCounter();
  process.on("SIGINT", () => {
    const n = ctrlC(Date.now());
    if (n > 1) process.exit(130);
    if (n === 1) process.stderr.write("\nswarmlab: interrupted; waiting for the steps under way to finish (Ctrl-C again to stop at once)\n");
  });
  main(process.argv.slice(2)).then((code) => process.exit(ctrlC.count() && code === 0 ? 130 : code));
}
