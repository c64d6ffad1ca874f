/**
 * npm run class -- verify [--learners NAME,...] [--parallel N] [--no-traffic]
 *
 * Runs verify on every learner's lab (a learner is a stack: `npm run up -- --stack NAME`; by
 * default every stack with an inventory under .swarmlab/) and writes one gradebook, learners ×
 * facts, as HTML, CSV and JUnit into .swarmlab/class/<time>/, with each learner's own reports
 * beside it (report.html with the diagram, report.json) and linked from the HTML.
 *
 * Each learner costs one live verify (`--save-raw`, the HTML report) and one replay of what it
 * gathered (`--replay`, the JSON report the gradebook reads): their labs are gathered once.
 * At most --parallel verifies run at once (default 4). A learner whose verify cannot produce a
 * report is a row that says why; the others are graded all the same.
 *
 * Exit codes: 0 the gradebook is written and every lab has no failed, unchecked or missing fact;
 * 1 it is written and some lab has; 2 usage error (nothing was run).
 */
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { buildGradebook, formatCsv, formatHtml, formatJunit, isGreen, ReportFormatError, rowFromReport, rowWithoutReport, type FactColumn, type LearnerRow } from "./class/gradebook";

const ROOT = path.resolve(__dirname, "..");
const STATE = path.join(ROOT, ".swarmlab");
const TSX = path.join(ROOT, "node_modules", ".bin", "tsx");
const VERIFY = path.join(ROOT, "scripts", "verify.ts");

const USAGE = `usage: npm run class -- verify [--learners NAME,...] [--parallel N] [--no-traffic]

  verify            verify every learner's lab and write one gradebook (HTML, CSV, JUnit)
  --learners NAMES  the learners' stacks (default: every stack with .swarmlab/<stack>/inventory.json)
  --parallel N      verifies at once, 1 to 16 (default 4)
  --no-traffic      skip the traffic checks (PATH-*) in every lab

Exit codes: 0 every lab without a failed, unchecked or missing fact; 1 some lab has one;
2 usage error.`;

class UsageError extends Error {}

interface ClassArgs {
  learners?: string[];
  parallel: number;
  traffic: boolean;
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

export function parseClassArgs(argv: readonly string[], known: readonly string[]): ClassArgs {
  const [verb, ...rest] = argv;
  if (verb !== "verify") throw new UsageError(verb === undefined ? "name a verb: verify" : `unknown verb "${verb}"; known: verify`);
  const out: ClassArgs = { parallel: 4, traffic: true };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const value = (): string => {
      const v = rest[++i];
      if (v === undefined || v.startsWith("--")) throw new UsageError(`${a} needs a value`);
      return v;
    };
    if (a === "--learners") out.learners = value().split(",").map((s) => s.trim()).filter(Boolean);
    else if (a === "--parallel") {
      const v = value();
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < 1 || n > 16) throw new UsageError(`--parallel ${v}: a whole number from 1 to 16`);
      out.parallel = n;
    } else if (a === "--no-traffic") out.traffic = false;
    else throw new UsageError(`unknown option "${a}"; known: --learners NAME,..., --parallel N, --no-traffic`);
  }
  const learners = out.learners ?? [...known];
  if (!learners.length) throw new UsageError(`no learner's lab found: no .swarmlab/<stack>/inventory.json (stand labs up with npm run up -- --stack NAME)`);
  const unknown = learners.filter((l) => !known.includes(l));
  if (unknown.length) throw new UsageError(`no lab for ${unknown.join(", ")} (no .swarmlab/<stack>/inventory.json); labs: ${known.join(", ") || "none"}`);
  if (new Set(learners).size !== learners.length) throw new UsageError(`--learners names a learner twice: ${learners.join(",")}`);
  return { ...out, learners };
}

interface Run {
  code: number | null;
  stderr: string;
}

function runVerify(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(TSX, [VERIFY, ...args], { cwd: ROOT, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (e) => resolve({ code: null, stderr: e.message }));
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

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

/** Runs the learners' verifies, at most `parallel` at once, in learner order of start. */
async function gradeAll(learners: readonly string[], dir: string, parallel: number, traffic: boolean, log: (s: string) => void) {
  const results = new Array<{ row: LearnerRow; columns?: FactColumn[] }>(learners.length);
  let next = 0;
  const worker = async () => {
    while (next < learners.length) {
      const i = next++;
      const t0 = Date.now();
      results[i] = await gradeLearner(learners[i]!, dir, traffic);
      const r = results[i]!.row;
      log(`class: ${learners[i]}: ${r.error ? `no report: ${r.error}` : `${r.facts.filter((f) => f.outcome === "fail").length} failed, ${r.facts.filter((f) => f.outcome === "unchecked").length} could not be checked`} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, learners.length) }, worker));
  return results;
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(USAGE + "\n");
    return 0;
  }
  let args: ClassArgs;
  try {
    args = parseClassArgs(argv, stacksWithInventory());
  } catch (e) {
    if (e instanceof UsageError) {
      process.stderr.write(`class: ${e.message}\n${USAGE}\n`);
      return 2;
    }
    throw e;
  }
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  const dir = path.join(STATE, "class", stamp);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const t0 = Date.now();
  const learners = args.learners!;
  process.stderr.write(`class: verifying ${learners.length} lab(s), ${Math.min(args.parallel, learners.length)} at once: ${learners.join(", ")}\n`);
  const graded = await gradeAll(learners, dir, args.parallel, args.traffic, (s) => process.stderr.write(s + "\n"));
  const book = buildGradebook(`swarmlab class gradebook (${learners.length} learners)`, new Date().toISOString(), graded);
  const files = { html: path.join(dir, "gradebook.html"), csv: path.join(dir, "gradebook.csv"), junit: path.join(dir, "gradebook.junit.xml") };
  fs.writeFileSync(files.html, formatHtml(book), { mode: 0o600 });
  fs.writeFileSync(files.csv, formatCsv(book), { mode: 0o600 });
  fs.writeFileSync(files.junit, formatJunit(book), { mode: 0o600 });
  const green = book.rows.filter((r) => isGreen(book, r)).length;
  process.stdout.write(`class: ${green} of ${book.rows.length} labs without a failed, unchecked or missing fact (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  for (const f of Object.values(files)) process.stdout.write(`  ${path.relative(ROOT, f)}\n`);
  return green === book.rows.length ? 0 : 1;
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
