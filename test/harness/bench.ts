/**
 * `npm run bench`: whole lab cycles on the test hypervisor, timed phase by phase, through the
 * same commands a user types. A benchmark, not a test: it asserts nothing and prints
 *
 *   cold  (a first `npm run up`): define, ssh, docker, swarm, workload (seconds from the start of
 *         up at which each phase was done), up (to demoservice running), verify (the one up runs),
 *         up+verify, baseline (saving the reset point);
 *   alone: verify without and with the traffic checks, on the built lab;
 *   warm  (`npm run reset` after a break): reset, then verify;
 *   down  (`npm run down -- --remove`),
 *
 * as min / median / max over the runs, as a table and as JSON (test-results/bench.json), with
 * the machine it ran on and how fast its CPU was meanwhile: it times one fixed piece of work (a
 * chain of a million SHA-256 digests, one core) before each cycle and after the last (row
 * `host: 1M SHA-256 on one core`). This machine's speed drifts by the hour (a shared host) and
 * guests under TCG slow down with it: compare benchmarks only together with that row. Run through `npm run bench [-- --runs N] [--class N]`, which starts the
 * test hypervisor in its own network namespace (as the end-to-end test does) and runs this inside.
 *
 * Then a classroom (--class N, default 2, 0 to skip): a template stack (bench-class-t) with the
 * settings of the cycles above, `npm run class -- up --learners bench-l01,.. --from bench-class-t
 * --parallel K` (K labs built at once, --class-parallel K, default all N; each with its verify and baseline, as one `npm run up`
 * does), `class verify` and `class down` of those learners. While class up runs, every learner's
 * QEMU processes are sampled every 2 s (test/harness/guest-usage.ts). Rows (N the class's size):
 *
 *   class: N labs, K at once (class up)               wall time of class up
 *   class: N x one lab (N x median cold up+verify)    what building them one after another costs
 *   class: ratio (class up / median cold up+verify)   class up against ONE lab built alone
 *   class verify (N labs), class down                 wall times
 *   class: peak RSS per guest (MiB)                   over the guests: largest VmRSS sampled
 *   class: guest memory configured (MiB)              over the guests: QEMU's -m
 *   class: CPU seconds per lab during class up        over the labs: utime+stime of its guests
 *
 * The first five one sample each, the last three min / median / max over the class's guests or
 * labs. The JSON's `seconds` keeps the single lab's rows only; its `class` holds these
 * rows and each guest's figures and samples. Leftovers of an earlier bench's class (learners
 * bench-l01..bench-l08, the template) are removed first. When the classroom fails (a learner's
 * up, verify), the table and JSON are still written, class down still runs, and the bench then
 * exits 1 with the reason.
 */
import { spawn, spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { objectPrefixOf } from "../../infra/config";
import { clockTicks, GuestSampler, type GuestUsage } from "./guest-usage";
import { testImageConfig } from "./image";

const ROOT = path.resolve(__dirname, "../..");
const STACK = "bench";
/** The classroom's template stack and learners: names no other test uses, so a leftover is the bench's. */
const CLASS_TEMPLATE = "bench-class-t";
const MAX_CLASS = 8;
export const benchLearners = (n: number): string[] => Array.from({ length: n }, (_, i) => `bench-l${String(i + 1).padStart(2, "0")}`);
const SAMPLE_MS = 2000;

/** The options, their range and default. */
const OPTIONS = {
  "--runs": { key: "runs", min: 1, max: 20, default: 3 },
  "--class": { key: "class", min: 0, max: MAX_CLASS, default: 2 },
  // How many of the class's labs class up builds at once; 0: all of them.
  "--class-parallel": { key: "classParallel", min: 0, max: MAX_CLASS, default: 0 },
} as const;

export interface BenchArgs {
  runs: number;
  class: number;
  classParallel: number;
}

/** The command line (`--runs N`, `--class N`, also as `--runs=N`), checked before anything runs. */
export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  const out: BenchArgs = { runs: OPTIONS["--runs"].default, class: OPTIONS["--class"].default, classParallel: OPTIONS["--class-parallel"].default };
  const known = Object.entries(OPTIONS)
    .map(([k, o]) => `${k} N (${o.min} to ${o.max}, default ${o.default})`)
    .join(", ");
  for (let i = 0; i < argv.length; i++) {
    const given = argv[i]!;
    const eq = given.startsWith("--") ? given.indexOf("=") : -1;
    const name = eq > 0 ? given.slice(0, eq) : given;
    if (!Object.hasOwn(OPTIONS, name)) throw new Error(`unknown option "${given}"; known: ${known}`);
    const o = OPTIONS[name as keyof typeof OPTIONS];
    const value = eq > 0 ? given.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith("--"))) throw new Error(`${name} needs a value: ${o.min} to ${o.max}`);
    if (!/^\d+$/.test(value) || Number(value) < o.min || Number(value) > o.max) throw new Error(`${name} ${value}: allowed ${o.min} to ${o.max}`);
    out[o.key] = Number(value);
  }
  return out;
}

interface Run {
  code: number;
  output: string;
  seconds: number;
}

function npmRun(...args: string[]): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn("npm", ["run", "--silent", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? 1, output, seconds: (Date.now() - t0) / 1000 }));
  });
}

async function must(what: string, ...args: string[]): Promise<Run> {
  const r = await npmRun(...args);
  if (r.code !== 0) {
    process.stderr.write(r.output.split("\n").slice(-40).join("\n") + "\n");
    throw new Error(`${what}: npm run ${args.join(" ")} exited ${r.code}`);
  }
  return r;
}

const configFlags = (config: Record<string, string>): string[] => Object.entries(config).flatMap(([k, v]) => ["--plaintext", `${k}=${v}`]);

const tail = (output: string, lines = 40): string => output.split("\n").slice(-lines).join("\n");

const num = (re: RegExp, text: string): number | undefined => {
  const m = re.exec(text);
  return m ? Number(m[1]) : undefined;
};

export function summary(values: number[]): { min: number; median: number; max: number; n: number } {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { min: v[0], median, max: v[v.length - 1], n: v.length };
}

type Row = { phase: string } & ReturnType<typeof summary>;

/** Whether a stack has left anything this repository knows of: configuration, Pulumi state, lab directory. */
function hasTraces(stack: string): boolean {
  return [`Pulumi.${stack}.yaml`, path.join(".swarmlab", "state", ".pulumi", "stacks", "swarmlab", `${stack}.json`), path.join(".swarmlab", stack)].some((f) => fs.existsSync(path.join(ROOT, f)));
}

/** Removes what an earlier bench's classroom left: its learners' labs (class down) and its template stack. */
async function removeClassLeftovers(): Promise<void> {
  const left = benchLearners(MAX_CLASS).filter(hasTraces);
  if (left.length) {
    process.stderr.write(`bench: removing an earlier bench class's labs: ${left.join(", ")}\n`);
    const r = await npmRun("class", "--", "down", "--learners", left.join(","), "--parallel", String(left.length));
    if (r.code !== 0) process.stderr.write(`${tail(r.output, 20)}\nbench: class down of the leftovers exited ${r.code}; class up may fail on them\n`);
  }
  if (hasTraces(CLASS_TEMPLATE)) await npmRun("down", "--", "--stack", CLASS_TEMPLATE, "--remove");
}

/** The lines a class command ends with: from its `class VERB:` summary on, in one line. */
export function classOutcome(output: string, verb: string): string {
  const lines = output.split("\n").map((l) => l.trim());
  const at = lines.findIndex((l) => l.startsWith(`class ${verb}:`));
  if (at >= 0) return lines.slice(at).filter(Boolean).join("; ");
  // A usage error: `class: <message>`, then the usage text.
  return lines.find((l) => l.startsWith("class:")) ?? lines.filter(Boolean).pop() ?? "no output";
}

/** class verify's summary and the learners it found something wrong with, in one line. */
export function verifyOutcome(output: string): string {
  const lines = output.split("\n").map((l) => l.trim());
  const total = lines.find((l) => /^class: \d+ of \d+ labs\b/.test(l));
  const bad = lines.filter((l) => /^class: [a-z0-9-]+: /.test(l) && !/: 0 failed, 0 could not be checked\b/.test(l));
  return [total ?? classOutcome(output, "verify"), ...bad].join("; ");
}

export interface ClassResult {
  learners: number;
  names: string[];
  template: string;
  parallel: number;
  sampleIntervalS: number;
  clockTicks: number;
  /** Same shape as the table's rows: one sample each, or (RSS, memory, CPU) over the guests or labs. */
  rows: Row[];
  /** Per guest: its peak RSS, VmHWM, memory, CPU seconds at the end of class up, and every sample. */
  guests: GuestUsage[];
  /** Guests per learner's lab, from its inventory (to tell a guest the sampler missed). */
  hostsPerLab: Record<string, number>;
  /** class up's own figure (`class up: K of N learner(s) done in X s`), seconds. */
  classUpReportedS?: number;
  gradebook?: string;
  /** Why the classroom failed, when it did. */
  error?: string;
}

/**
 * The classroom: n labs at once from a template with the single lab's settings, verified and
 * removed, the learners' guests sampled while they are built. Never throws: a failure is in
 * `error`, and class down runs whenever class up has started.
 */
async function classPhase(n: number, parallel: number, config: Record<string, string>, oneLabMedian: number | undefined): Promise<ClassResult> {
  const names = benchLearners(n);
  const ticks = clockTicks();
  const res: ClassResult = { learners: n, names, template: CLASS_TEMPLATE, parallel, sampleIntervalS: SAMPLE_MS / 1000, clockTicks: ticks, rows: [], guests: [], hostsPerLab: {} };
  const errors: string[] = [];
  const row = (phase: string, values: number[]) => {
    const v = values.filter(Number.isFinite);
    if (v.length) res.rows.push({ phase, ...summary(v) });
  };
  const failed = (what: string, r: Run, reason: string) => {
    process.stderr.write(`${tail(r.output)}\n`);
    errors.push(`${what} exited ${r.code}: ${reason}`);
  };
  const learners = ["--learners", names.join(","), "--parallel", String(parallel)];
  let upStarted = false;
  let verified = false;
  try {
    process.stderr.write(`bench: class of ${n}: template stack ${CLASS_TEMPLATE}\n`);
    const set = await npmRun("pulumi", "--", "config", "set-all", "--stack", CLASS_TEMPLATE, ...configFlags(config));
    if (set.code !== 0) {
      failed("configuring the template stack", set, tail(set.output, 1).trim());
      return res;
    }
    process.stderr.write(`bench: class of ${n}: class up ${names.join(",")} (guests sampled every ${SAMPLE_MS / 1000} s)\n`);
    const sampler = new GuestSampler((domain) => names.some((l) => domain.startsWith(`${objectPrefixOf(l)}-`)), { intervalMs: SAMPLE_MS, ticksPerSecond: ticks });
    upStarted = true;
    sampler.start();
    let up: Run;
    try {
      up = await npmRun("class", "--", "up", "--learners", names.join(","), "--from", CLASS_TEMPLATE, "--parallel", String(parallel));
    } finally {
      res.guests = sampler.stop();
    }
    res.classUpReportedS = num(/class up: \d+ of \d+ learner\(s\) done in ([\d.]+) s/, up.output);
    for (const l of names) {
      try {
        res.hostsPerLab[l] = (JSON.parse(fs.readFileSync(path.join(ROOT, ".swarmlab", l, "inventory.json"), "utf8")) as { hosts: unknown[] }).hosts.length;
      } catch {
        // no inventory: that learner's up failed early, which class up reports
      }
    }
    if (up.code !== 0) {
      failed("class up", up, classOutcome(up.output, "up"));
      return res;
    }
    const guestsOf = (l: string) => res.guests.filter((g) => g.domain.startsWith(`${objectPrefixOf(l)}-`));
    const missed = names.filter((l) => guestsOf(l).length !== (res.hostsPerLab[l] ?? 0));
    if (missed.length) {
      // Every learner's up succeeded, so each guest ran: one the sampler did not find is the bench's fault.
      errors.push(`the guest sampler found ${missed.map((l) => `${guestsOf(l).length} QEMU process(es) of ${l}'s ${res.hostsPerLab[l] ?? "?"} guests`).join(", ")} (it looks for comm qemu-system-*/qemu-kvm with -name guest=${objectPrefixOf("<learner>")}-...)`);
    }
    row(`class: ${n} labs, ${parallel} at once (class up)`, [up.seconds]);
    if (oneLabMedian !== undefined) {
      row(`class: ${n} x one lab (${n} x median cold up+verify)`, [n * oneLabMedian]);
      row("class: ratio (class up / median cold up+verify)", [up.seconds / oneLabMedian]);
    }
    row("class: peak RSS per guest (MiB)", res.guests.map((g) => g.peakRssKiB / 1024));
    row("class: guest memory configured (MiB)", res.guests.map((g) => g.memoryMiB ?? Number(config["swarmlab:memoryMiB"])));
    row("class: CPU seconds per lab during class up", names.filter((l) => guestsOf(l).length).map((l) => guestsOf(l).reduce((a, g) => a + g.cpuSeconds, 0)));

    process.stderr.write(`bench: class of ${n}: class verify\n`);
    const verify = await npmRun("class", "--", "verify", ...learners);
    res.gradebook = /^\s+(\.swarmlab\/class\/[^/\s]+)\/gradebook\.csv$/m.exec(verify.output)?.[1];
    if (verify.code !== 0) {
      failed("class verify", verify, `${verifyOutcome(verify.output)}${res.gradebook ? ` (gradebook: ${res.gradebook}/gradebook.html)` : ""}`);
      return res;
    }
    row(`class verify (${n} labs)`, [verify.seconds]);
    verified = true;
  } catch (e) {
    errors.push((e as Error).message);
  } finally {
    if (upStarted) {
      process.stderr.write(`bench: class of ${n}: class down\n`);
      const down = await npmRun("class", "--", "down", ...learners);
      if (down.code !== 0) failed("class down", down, classOutcome(down.output, "down"));
      else if (verified) row("class down", [down.seconds]);
    }
    // The template holds configuration only (nothing was built from it).
    const rm = await npmRun("pulumi", "--", "stack", "rm", "--stack", CLASS_TEMPLATE, "--yes", "--remove-backups");
    if (rm.code !== 0) process.stderr.write(`${tail(rm.output, 5)}\nbench: removing the template stack ${CLASS_TEMPLATE} exited ${rm.code} (the next bench removes it)\n`);
    if (errors.length) res.error = errors.join("; ");
  }
  return res;
}

/** Seconds this host takes for a fixed piece of single-core work: a chain of 10^6 SHA-256 digests. */
export function hostSpeed(): number {
  const t0 = process.hrtime.bigint();
  let h = Buffer.alloc(32);
  for (let i = 0; i < 1_000_000; i++) h = crypto.createHash("sha256").update(h).digest();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function main(): Promise<void> {
  const args = parseBenchArgs(process.argv.slice(2));
  const runs = args.runs;
  const manifest = process.env.SWARMLAB_TEST_IMAGE_MANIFEST;
  if (!process.env.SWARMLAB_E2E_NETNS || !manifest) throw new Error("run through npm run bench: it starts the test hypervisor and builds the test image");

  const samples: Record<string, number[]> = {};
  const add = (k: string, v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v)) (samples[k] ??= []).push(v);
  };
  await npmRun("down", "--", "--stack", STACK, "--remove");
  await removeClassLeftovers();
  const config = testImageConfig(manifest);
  // Every step's output, to see where an odd figure's time went.
  const logs = path.join(ROOT, "test-results", "bench-logs");
  fs.rmSync(logs, { recursive: true, force: true });
  fs.mkdirSync(logs, { recursive: true });
  for (let i = 1; i <= runs; i++) {
    add("host: 1M SHA-256 on one core", hostSpeed());
    process.stderr.write(`bench: cycle ${i} of ${runs}\n`);
    const kept = async (step: string, r: Promise<Run>): Promise<Run> => {
      const done = await r;
      fs.writeFileSync(path.join(logs, `cycle-${i}-${step}.log`), done.output);
      return done;
    };
    await must("config", "pulumi", "--", "config", "set-all", "--stack", STACK, ...configFlags(config));
    const up = await kept("up", must("up", "up", "--", "--stack", STACK));
    for (const phase of ["define", "ssh", "docker", "swarm", "workload"]) add(`cold ${phase}`, num(new RegExp(`\\b${phase} ([\\d.]+) s`), up.output));
    add("cold up", num(/swarmlab: up took ([\d.]+) s/, up.output));
    add("cold verify", num(/swarmlab: verify took ([\d.]+) s/, up.output));
    add("cold up+verify", up.seconds);
    add("cold baseline", num(/baseline of npm run reset \(([\d.]+) s\)/, up.output));
    add("alone verify --no-traffic", (await must("verify", "verify", "--", "--stack", STACK, "--no-traffic", "--quiet")).seconds);
    add("alone verify", (await kept("verify", must("verify", "verify", "--", "--stack", STACK, "--quiet"))).seconds);
    // A learner's break: Docker stopped on docker1. The reset must undo it.
    spawnSync("ssh", ["-F", path.join(ROOT, ".swarmlab", STACK, "ssh_config"), "-o", "BatchMode=yes", "docker1", "sudo systemctl stop docker docker.socket"], { timeout: 60_000 });
    const reset = await kept("reset", must("reset", "reset", "--", "--stack", STACK));
    add("warm reset", reset.seconds);
    add("warm reset: domains reverted", num(/domains reverted in ([\d.]+) s/, reset.output));
    add("warm reset: readiness check", num(/readiness check took ([\d.]+) s/, reset.output));
    add("warm verify", (await must("verify after reset", "verify", "--", "--stack", STACK, "--quiet")).seconds);
    add("down", (await must("down", "down", "--", "--stack", STACK, "--remove")).seconds);
  }

  add("host: 1M SHA-256 on one core", hostSpeed());
  const table = Object.entries(samples).map(([phase, v]) => ({ phase, ...summary(v) }));
  const oneLab = table.find((r) => r.phase === "cold up+verify")?.median;
  const cls = args.class > 0 ? await classPhase(args.class, Math.min(args.classParallel || args.class, args.class), config, oneLab) : undefined;

  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "",
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    domainType: "qemu (TCG)",
    guests: "2 x 1 vCPU, 1536 MiB, Debian 12 test image, Docker 20.10",
  };
  const out = { date: new Date().toISOString(), runs, machine, seconds: table, ...(cls ? { class: cls } : {}) };
  fs.mkdirSync(path.join(ROOT, "test-results"), { recursive: true });
  fs.writeFileSync(path.join(ROOT, "test-results", "bench.json"), JSON.stringify(out, null, 2) + "\n");
  const classRows = cls?.rows ?? [];
  const w = Math.max(...[...table, ...classRows].map((r) => r.phase.length));
  const line = (r: Row, digits = 1) => `${r.phase.padEnd(w)} ${r.min.toFixed(digits).padStart(6)} ${r.median.toFixed(digits).padStart(7)} ${r.max.toFixed(digits).padStart(7)}\n`;
  process.stdout.write(`\nswarmlab bench, ${runs} run(s), ${machine.cpus} x ${machine.cpuModel}, ${machine.memoryGiB} GiB, guests ${machine.domainType}\n`);
  process.stdout.write(`${"phase".padEnd(w)}    min  median     max   (seconds)\n`);
  for (const r of table) process.stdout.write(line(r));
  if (cls) {
    process.stdout.write(`class of ${cls.learners} (${cls.names.join(", ")}), ${cls.parallel} at once; seconds unless the row names a unit; RSS, memory: over the ${cls.guests.length} guests, CPU: over the labs\n`);
    for (const r of classRows) process.stdout.write(line(r, r.phase.startsWith("class: ratio") ? 2 : 1));
    if (cls.error) process.stdout.write(`class phase FAILED: ${cls.error}\n`);
  }
  process.stdout.write(`\nJSON: test-results/bench.json\n${JSON.stringify(out)}\n`);
  if (cls?.error) throw new Error(`class phase: ${cls.error}`);
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
