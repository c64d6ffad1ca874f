/**
 * npm run class -- up|verify|reset|down: one lab per learner (a learner is a stack of its own).
 *
 *   up     --learners N|NAME,... [--from STACK] [--hypervisors URI,...] [--parallel K]
 *          creates the learners' stacks (learner-01..learner-N for a count), each with the
 *          settings of --from (the trainer's stack: image, sizes, domain type...), a hypervisor
 *          (round robin over --hypervisors, default the template's libvirtUri) and a network
 *          range of its own (clear of every active libvirt network there and of the other
 *          learners'); then runs `npm run up` for them, at most K at once (default: half the cores, see defaultParallel). One
 *          learner's failure does not stop the others; each is reported with why.
 *   verify [--learners NAME,...] [--parallel N] [--no-traffic]
 *          verifies every learner's lab and writes one gradebook, learners × facts, as HTML,
 *          CSV and JUnit into .swarmlab/class/<time>/, each learner's reports beside it.
 *   reset|down [--learners NAME,...] [--parallel K]
 *          `npm run reset` / `npm run down -- --remove` for each learner.
 *
 * Without --learners, verify/reset/down act on the class roster (.swarmlab/class/roster.json,
 * written by up), or, with no roster, on every stack with an inventory.
 *
 * Exit codes: 0 every learner's step succeeded (verify: no lab has a failed, unchecked or missing
 * fact); 1 some did not (each named, with why); 2 usage error (nothing was run).
 */
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { validateStackName, type ActiveNetwork } from "../../infra/config";
import { UsageError } from "../lib/verify/errors";
import { activeNetworks } from "../../infra/libvirt/inspect";
import { labNamed, UnknownLabError } from "../../labs";
import { learnerNames, placeLearners, type ExistingLearner, type Placement } from "../lib/class/allocate";
import { buildGradebook, formatCsv, formatHtml, formatJunit, isGreen, ReportFormatError, rowFromReport, rowWithoutReport, type FactColumn, type LearnerRow } from "../lib/class/gradebook";

const ROOT = path.resolve(__dirname, "../..");
const STATE = path.join(ROOT, ".swarmlab");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");
const VERIFY = path.join(ROOT, "scripts", "cli", "verify.ts");

const ROSTER = path.join(STATE, "class", "roster.json");

const USAGE = `usage: npm run class -- VERB [options]

  up      --learners N|NAME,... [--from STACK] [--hypervisors URI,...] [--parallel K]
          create the learners' labs (N: learner-01..learner-N), each on a hypervisor in turn
          with a network range of its own, at most K building at once (default: half this
          machine's cores, at least 1; each lab keeps about two busy)
  verify  [--learners NAME,...] [--parallel N] [--no-traffic]
          verify every learner's lab into one gradebook (HTML, CSV, JUnit); N as for up
  reset   [--learners NAME,...] [--parallel K]    npm run reset for each learner (K as for up)
  down    [--learners NAME,...] [--parallel K]    npm run down -- --remove for each learner (K: 4)

  Without --learners: the learners of the last class up (.swarmlab/class/roster.json), or
  every stack with .swarmlab/<stack>/inventory.json.

Exit codes: 0 every learner's step succeeded (verify: no lab with a failed, unchecked or
missing fact); 1 some did not; 2 usage error.`;

type Verb = "up" | "verify" | "reset" | "down";
const VERBS: readonly Verb[] = ["up", "verify", "reset", "down"];

interface ClassArgs {
  verb: Verb;
  learners: string[];
  parallel: number;
  traffic: boolean;
  from?: string;
  hypervisors?: string[];
}

/** Stacks that have an inventory (a lab `up` has built), sorted. */
export function stacksWithInventory(state: string = STATE): string[] {
  if (!fs.existsSync(state)) return [];
  return fs
    .readdirSync(state, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(state, d.name, "inventory.json")))
    .map((d) => d.name)
    .sort((a, b) => a.localeCompare(b, "en", { numeric: true }));
}

/** The learners of the last `class up`, if there was one. */
export function readRoster(file: string = ROSTER): string[] | undefined {
  if (!fs.existsSync(file)) return undefined;
  const doc = JSON.parse(fs.readFileSync(file, "utf8")) as { learners?: { learner: string }[] };
  return (doc.learners ?? []).map((l) => l.learner);
}

/**
 * How many learners a verb works on at once unless --parallel says: up, reset and verify keep a
 * lab's guests busy, about one host core each (two per lab); with more labs at once than half
 * the cores the guests only take turns, and every lab's step is slower (measured on the 2-core
 * test machine under TCG: two labs built at once took longer than one after the other). down
 * is virsh work, light on the host.
 */
export function defaultParallel(verb: Verb, cores: number): number {
  return verb === "down" ? 4 : Math.max(1, Math.floor(cores / 2));
}

/**
 * The arguments, checked before anything runs. `known`: stacks with an inventory; `roster`: the
 * last class up's learners; `cores`: this machine's, for the default of --parallel.
 */
export function parseClassArgs(argv: readonly string[], known: readonly string[], roster?: readonly string[], cores: number = os.cpus().length): ClassArgs {
  const [verb, ...rest] = argv;
  if (!VERBS.includes(verb as Verb)) throw new UsageError(verb === undefined ? `name a verb: ${VERBS.join(", ")}` : `unknown verb "${verb}"; known: ${VERBS.join(", ")}`);
  const out: ClassArgs = { verb: verb as Verb, learners: [], parallel: defaultParallel(verb as Verb, cores), traffic: true };
  let named: string | undefined;
  const allowed: Record<Verb, string[]> = {
    up: ["--learners", "--from", "--hypervisors", "--parallel"],
    verify: ["--learners", "--parallel", "--no-traffic"],
    reset: ["--learners", "--parallel"],
    down: ["--learners", "--parallel"],
  };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (!allowed[out.verb].includes(a)) throw new UsageError(`unknown option "${a}" for ${out.verb}; known: ${allowed[out.verb].join(", ")}`);
    const value = (): string => {
      const v = rest[++i];
      if (v === undefined || v.startsWith("--")) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === "--learners") named = value();
    else if (a === "--from") out.from = value();
    else if (a === "--hypervisors") out.hypervisors = value().split(",").map((s) => s.trim()).filter(Boolean);
    else if (a === "--parallel") {
      const v = value();
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 1 || n > 16) throw new UsageError(`--parallel ${v}: a whole number from 1 to 16`);
      out.parallel = n;
    } else if (a === "--no-traffic") out.traffic = false;
  }
  if (out.verb === "up") {
    if (named === undefined) throw new UsageError("up needs --learners N (a count, 1 to 64) or --learners NAME,...");
    if (/^\d+$/.test(named)) {
      const n = Number(named);
      if (n < 1 || n > 64) throw new UsageError(`--learners ${named}: a count from 1 to 64, or names`);
      out.learners = learnerNames(n);
    } else out.learners = named.split(",").map((s) => s.trim()).filter(Boolean);
    for (const l of out.learners) {
      const bad = validateStackName(l);
      if (bad) throw new UsageError(`--learners: ${bad}`);
    }
    if (out.from !== undefined && out.learners.includes(out.from)) throw new UsageError(`--from ${out.from} is one of the learners; name the trainer's own stack`);
  } else {
    const pool = roster?.length ? roster : known;
    out.learners = named === undefined ? [...pool] : named.split(",").map((s) => s.trim()).filter(Boolean);
    if (!out.learners.length) throw new UsageError(`no learner's lab found: no class roster and no .swarmlab/<stack>/inventory.json (npm run class -- up --learners N)`);
    if (out.verb !== "down") {
      const unknown = out.learners.filter((l) => !known.includes(l));
      if (unknown.length) throw new UsageError(`no lab for ${unknown.join(", ")} (no .swarmlab/<stack>/inventory.json); labs: ${known.join(", ") || "none"}`);
    }
  }
  if (new Set(out.learners).size !== out.learners.length) throw new UsageError(`--learners names a learner twice: ${out.learners.join(",")}`);
  return out;
}

export interface Run {
  code: number | null;
  stderr: string;
}

/** Runs a program of this repository (verify, or `npm run`), stdout to `log` when given, else dropped. */
function runChild(cmd: string, args: string[], log?: string): Promise<Run> {
  return new Promise((resolve) => {
    const out = log ? fs.openSync(log, "a", 0o600) : "ignore";
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", out, "pipe"] });
    let stderr = "";
    child.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
      if (log) fs.appendFileSync(log, d);
    });
    child.on("error", (e) => resolve({ code: null, stderr: e.message }));
    child.on("close", (code) => {
      if (typeof out === "number") fs.closeSync(out);
      resolve({ code, stderr });
    });
  });
}

const runVerify = (args: string[]): Promise<Run> => runChild(TSX, [VERIFY, ...args]);
const npmRun = (args: string[], log: string): Promise<Run> => runChild("npm", ["run", "--silent", ...args], log);

/** The last non-empty line of verify's stderr: its message, or its summary. */
function lastLine(s: string): string {
  return s.trim().split("\n").filter(Boolean).pop() ?? "";
}

/** verify's exit codes that come with a report: 0 all pass/changed, 1 a fact failed, 3 some unchecked. */
const REPORTED = new Set([0, 1, 3]);

async function gradeLearner(learner: string, dir: string, traffic: boolean): Promise<{ row: LearnerRow; columns?: FactColumn[] }> {
  const own = path.join(dir, learner);
  fs.mkdirSync(own, { mode: 0o700 });
  const raw = path.join(own, "raw");
  const links = [{ label: "report", href: `${learner}/report.html` }];
  const live = await runVerify(["--stack", learner, "--format", "html", "--output", path.join(own, "report.html"), "--save-raw", raw, "--quiet", ...(traffic ? [] : ["--no-traffic"])]);
  if (!REPORTED.has(live.code ?? -1)) return { row: rowWithoutReport(learner, `verify exited ${live.code}: ${lastLine(live.stderr)}`, []) };
  const replay = await runVerify(["--stack", learner, "--replay", raw, "--format", "json", "--output", path.join(own, "report.json"), "--quiet", ...(traffic ? [] : ["--no-traffic"])]);
  if (!REPORTED.has(replay.code ?? -1)) return { row: rowWithoutReport(learner, `verify --replay exited ${replay.code}: ${lastLine(replay.stderr)}`, links) };
  links.push({ label: "json", href: `${learner}/report.json` });
  try {
    return rowFromReport(learner, fs.readFileSync(path.join(own, "report.json"), "utf8"), links);
  } catch (e) {
    if (e instanceof ReportFormatError) return { row: rowWithoutReport(learner, e.message, links) };
    throw e;
  }
}

/**
 * `npm run <verb>` for every learner (`step`), at most `parallel` at once: a learner whose step
 * fails, or throws, is a result that says why (and where its log is); the others go on.
 */
export async function eachLearner(
  learners: readonly string[],
  parallel: number,
  verb: string,
  step: (learner: string) => Promise<Run & { log?: string }>,
  tell: (s: string) => void,
): Promise<StepResult[]> {
  return inPool(learners, parallel, async (learner): Promise<StepResult> => {
    const t1 = Date.now();
    let r: Run & { log?: string };
    try {
      r = await step(learner);
    } catch (e) {
      r = { code: null, stderr: (e as Error).message };
    }
    const where = r.log ? ` (log: ${r.log})` : "";
    const res = { learner, ok: r.code === 0, seconds: (Date.now() - t1) / 1000, ...(r.code === 0 ? {} : { why: `npm run ${verb} exited ${r.code}: ${lastLine(r.stderr)}${where}` }) };
    tell(`class: ${learner}: ${res.ok ? verb : res.why} (${secs(t1)})`);
    return res;
  });
}

/** Runs fn for every item, at most `parallel` at once, starting them in order; results in item order. */
async function inPool<T, R>(items: readonly T[], parallel: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
  return results;
}

const say = (s: string) => process.stderr.write(s + "\n");
const secs = (t0: number) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

async function classVerify(args: ClassArgs): Promise<number> {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const dir = path.join(STATE, "class", stamp);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const t0 = Date.now();
  const learners = args.learners;
  say(`class: verifying ${learners.length} lab(s), ${Math.min(args.parallel, learners.length)} at once: ${learners.join(", ")}`);
  const graded = await inPool(learners, args.parallel, async (learner) => {
    const t1 = Date.now();
    const g = await gradeLearner(learner, dir, args.traffic);
    const r = g.row;
    say(`class: ${learner}: ${r.error ? `no report: ${r.error}` : `${r.facts.filter((f) => f.outcome === "fail").length} failed, ${r.facts.filter((f) => f.outcome === "unchecked").length} could not be checked`} (${secs(t1)})`);
    return g;
  });
  const book = buildGradebook(`swarmlab class gradebook (${learners.length} learners)`, new Date().toISOString(), graded);
  const files = { html: path.join(dir, "gradebook.html"), csv: path.join(dir, "gradebook.csv"), junit: path.join(dir, "gradebook.junit.xml") };
  fs.writeFileSync(files.html, formatHtml(book), { mode: 0o600 });
  fs.writeFileSync(files.csv, formatCsv(book), { mode: 0o600 });
  fs.writeFileSync(files.junit, formatJunit(book), { mode: 0o600 });
  const green = book.rows.filter((r) => isGreen(book, r)).length;
  process.stdout.write(`class: ${green} of ${book.rows.length} labs without a failed, unchecked or missing fact (${secs(t0)})\n`);
  for (const f of Object.values(files)) process.stdout.write(`  ${path.relative(ROOT, f)}\n`);
  return green === book.rows.length ? 0 : 1;
}

/** A stack's swarmlab:* settings, as `pulumi config --json` prints them (secrets refused: a template holds none). */
function stackConfig(stack: string): Record<string, string> {
  const r = spawnSync("npm", ["run", "--silent", "pulumi", "--", "config", "--stack", stack, "--json"], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new UsageError(`cannot read the configuration of stack ${stack}: ${(r.stderr || r.stdout).trim().split("\n").pop()}`);
  const doc = JSON.parse(r.stdout) as Record<string, { value?: string; secret?: boolean }>;
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc)) if (k.startsWith("swarmlab:") && typeof v.value === "string" && !v.secret) out[k] = v.value;
  return out;
}

/** Settings that belong to one lab, never copied from the template. */
const PER_LEARNER = ["swarmlab:libvirtUri", "swarmlab:networkCidr", "swarmlab:hostAddresses", "swarmlab:pathTarget"];

export interface StepResult {
  learner: string;
  ok: boolean;
  why?: string;
  seconds: number;
}

async function classUp(args: ClassArgs): Promise<number> {
  const t0 = Date.now();
  const template = args.from ? stackConfig(args.from) : {};
  const uris = args.hypervisors ?? [template["swarmlab:libvirtUri"] ?? "qemu:///system"];
  const active = new Map<string, ActiveNetwork[]>();
  for (const uri of uris) {
    try {
      active.set(uri, activeNetworks(uri));
    } catch (e) {
      throw new UsageError(`cannot list the networks of ${uri}: ${(e as Error).message.trim().split("\n").pop()}`);
    }
  }
  const existing = new Map<string, ExistingLearner>();
  for (const l of args.learners) {
    if (!fs.existsSync(path.join(ROOT, `Pulumi.${l}.yaml`))) continue;
    const c = stackConfig(l);
    existing.set(l, { uri: c["swarmlab:libvirtUri"], cidr: c["swarmlab:networkCidr"] });
  }
  let lab;
  try {
    lab = labNamed(template["swarmlab:lab"]);
  } catch (e) {
    if (e instanceof UnknownLabError) throw new UsageError(`the template's swarmlab:lab: ${e.message}`);
    throw e;
  }
  const placements = placeLearners(lab.definition, args.learners, uris, active, existing);
  fs.mkdirSync(path.dirname(ROSTER), { recursive: true, mode: 0o700 });
  const previous = readRoster() ?? [];
  const roster = [...placements, ...previous.filter((l) => !args.learners.includes(l)).map((learner) => ({ learner }))];
  fs.writeFileSync(ROSTER, JSON.stringify({ learners: roster }, null, 2) + "\n", { mode: 0o600 });
  for (const p of placements) say(`class: ${p.learner}: ${p.uri}, network ${p.cidr}${p.note ? ` (${p.note})` : ""}`);
  // Configuring runs one stack at a time (the Pulumi workspace's current stack is one file).
  const logs = path.join(STATE, "class", "logs");
  fs.mkdirSync(logs, { recursive: true, mode: 0o700 });
  const failed: StepResult[] = [];
  const ready: Placement[] = [];
  for (const p of placements) {
    const settings: Record<string, string> = { ...Object.fromEntries(Object.entries(template).filter(([k]) => !PER_LEARNER.includes(k))), "swarmlab:libvirtUri": p.uri, "swarmlab:networkCidr": p.cidr };
    const log = path.join(logs, `${p.learner}-up.log`);
    fs.writeFileSync(log, "", { mode: 0o600 });
    const r = await npmRun(["pulumi", "--", "config", "set-all", "--stack", p.learner, ...Object.entries(settings).flatMap(([k, v]) => ["--plaintext", `${k}=${v}`])], log);
    if (r.code === 0) ready.push(p);
    else failed.push({ learner: p.learner, ok: false, why: `configuring the stack failed: ${lastLine(r.stderr)}`, seconds: 0 });
  }
  say(`class: building ${ready.length} lab(s), ${Math.min(args.parallel, ready.length)} at once (logs in ${path.relative(ROOT, logs)}/)`);
  const built = await eachLearner(
    ready.map((p) => p.learner),
    args.parallel,
    "up",
    (learner) => {
      const log = path.join(logs, `${learner}-up.log`);
      return npmRun(["up", "--", "--stack", learner], log).then((r) => ({ ...r, log: path.relative(ROOT, log) }));
    },
    say,
  );
  return report("up", [...failed, ...built], t0);
}

async function classEach(args: ClassArgs, verb: "reset" | "down"): Promise<number> {
  const t0 = Date.now();
  const logs = path.join(STATE, "class", "logs");
  fs.mkdirSync(logs, { recursive: true, mode: 0o700 });
  const results = await eachLearner(
    args.learners,
    args.parallel,
    verb,
    (learner) => {
      const log = path.join(logs, `${learner}-${verb}.log`);
      fs.writeFileSync(log, "", { mode: 0o600 });
      return npmRun(verb === "down" ? ["down", "--", "--stack", learner, "--remove"] : ["reset", "--", "--stack", learner], log).then((r) => ({ ...r, log: path.relative(ROOT, log) }));
    },
    say,
  );
  if (verb === "down") {
    const left = (readRoster() ?? []).filter((l) => !results.some((r) => r.ok && r.learner === l));
    if (fs.existsSync(ROSTER)) {
      if (left.length) fs.writeFileSync(ROSTER, JSON.stringify({ learners: left.map((learner) => ({ learner })) }, null, 2) + "\n", { mode: 0o600 });
      else fs.rmSync(ROSTER);
    }
  }
  return report(verb, results, t0);
}

function report(verb: string, results: StepResult[], t0: number): number {
  const bad = results.filter((r) => !r.ok);
  process.stdout.write(`class ${verb}: ${results.length - bad.length} of ${results.length} learner(s) done in ${secs(t0)}\n`);
  for (const r of bad) process.stdout.write(`  ${r.learner}: ${r.why}\n`);
  return bad.length ? 1 : 0;
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  try {
    const args = parseClassArgs(argv, stacksWithInventory(), readRoster());
    if (args.verb === "verify") return await classVerify(args);
    if (args.verb === "up") return await classUp(args);
    return await classEach(args, args.verb);
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`class: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e) => {
      process.stderr.write(`class: internal error: ${(e as Error).stack ?? e}\n`);
      process.exit(4);
    },
  );
}
