/**
 * npm run verify: check every documented fact of the lab on the live lab.
 *
 *   npx tsx scripts/cli/verify.ts [--stack NAME | --inventory FILE] [--format text|json|junit|html]
 *                             [--only ID,...] [--output FILE] [--no-traffic]
 *                             [--save-raw DIR] [--replay DIR] [--ip-text]
              [--docker-cli] [--quiet]
 *
 * After the gather (one SSH session per host), the traffic checks PATH-1..4
 * run in one more session on the manager (pings from its demoservice task, a
 * capture on its underlay NIC; under 40 s). --no-traffic skips them, and so
 * does an --only list without a PATH fact.
 *
 * Exit codes: see EXIT_CODES (also in --help and the README's Verify section).
 */
import { labNamed } from "../../labs";
import { forEachFlag } from "../lib/verify/args";
import { InventoryError, UsageError } from "../lib/verify/errors";
import { formatNames, hostCauses, summaryLine } from "../lib/verify/report";
import { visible } from "../lib/verify/visible";
import { progressPrinter } from "../lib/verify/progress";
import { runVerify, type VerifyOptions, type VerifyRun } from "../lib/verify/run";

export { progressPrinter, runVerify };
export type { VerifyOptions, VerifyRun };

const USAGE = `usage: verify [--stack NAME (default dev) | --inventory FILE] [--format ${formatNames().join("|")}]
              [--only ID,...] [--output FILE] [--no-traffic] [--save-raw DIR] [--replay DIR] [--ip-text] [--quiet]

  --stack NAME       read .swarmlab/NAME/inventory.json (default: dev)
  --inventory FILE   read this inventory instead
  --format F         report format (default: text); html: one self-contained page,
                     the facts table and a diagram of the lab as gathered
  --only IDS         check only these facts, e.g. --only VXLAN-1,OVL-2
                     (the traffic checks run only when a PATH fact is among them)
  --output FILE      write the report to FILE (a one-line summary still goes to stderr)
  --no-traffic       do not run the traffic checks PATH-1..4 (reported as skipped)
  --save-raw DIR     keep the gathered outputs in DIR (one file per host, traffic.json,
                     the traffic script's output): a new directory (created 0700) or one
                     only you can read; files 0600
  --replay DIR       check outputs saved with --save-raw instead of connecting
                     (PATH-1..4 judged again from its traffic script output; no traffic is sent)
  --ip-text          use iproute2's text output even where ip -j works
  --docker-cli       ask docker through its CLI (one program run per question) even where
                     the host has Python and the engine's socket, whose API verify reads
                     in one process by default (the same answers, several seconds sooner)
  --quiet            no progress on stderr

Each fact is PASS, CHANGED (a documented newer-engine difference, explained),
FAIL, UNCHECKED (could not be checked: a host did not answer, the Docker engine
is down, a command is missing or timed out, a section was not gathered; the
cause is named) or SKIP (--no-traffic, --only).

Exit codes:
  0  every fact passed or changed (or was skipped on purpose)
  1  a fact failed
  2  usage or input error (bad option, inventory, --replay directory, traffic.json)
  3  nothing failed, but some facts could not be checked
  4  internal error in verify (a bug: the message has a stack trace)
`;

export interface CliArgs {
  options: VerifyOptions;
  quiet: boolean;
  help: boolean;
}

export function parseArgs(argv: readonly string[]): CliArgs {
  const options: VerifyOptions = { format: "text", labs: labNamed };
  let quiet = false;
  let help = false;
  forEachFlag(argv, (flag, take, a) => {
    switch (flag) {
      case "--stack":
        options.stack = take();
        break;
      case "--inventory":
        options.inventoryFile = take();
        break;
      case "--format":
        options.format = take();
        break;
      case "--only":
        options.only = take().split(",").map((s) => s.trim().toUpperCase()).filter((s) => s !== "");
        if (options.only.length === 0) throw new UsageError("--only needs at least one fact ID, e.g. --only VXLAN-1,OVL-2");
        break;
      case "--output":
        options.output = take();
        break;
      case "--save-raw":
        options.saveRawDir = take();
        break;
      case "--replay":
        options.replayDir = take();
        break;
      case "--ip-text":
        options.forceText = true;
        break;
      case "--docker-cli":
        options.dockerCli = true;
        break;
      case "--no-traffic":
        options.traffic = false;
        break;
      case "--quiet":
        quiet = true;
        break;
      case "-h":
      case "--help":
        help = true;
        break;
      default:
        throw new UsageError(`unknown argument ${a}`);
    }
  });
  if (options.stack && options.inventoryFile) throw new UsageError("give --stack or --inventory, not both");
  if (options.format && !formatNames().includes(options.format)) throw new UsageError(`unknown format "${options.format}" (known: ${formatNames().join(", ")})`);
  return { options, quiet, help };
}

export async function main(argv: readonly string[]): Promise<number> {
  let args: CliArgs;
  try {
    args = parseArgs(argv);
  } catch (e) {
    process.stderr.write(`verify: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const options: VerifyOptions = { ...args.options, color: !args.options.output && args.options.format === "text" && process.stdout.isTTY === true };
  if (!args.quiet && !options.replayDir) options.onProgress = progressPrinter();
  try {
    const run = await runVerify(options);
    if (options.output) {
      const causes = hostCauses(run.report);
      for (const c of causes) process.stderr.write(`verify: could not check on ${visible(c)}\n`);
      process.stderr.write(`verify: ${summaryLine(run.summary)}; report in ${visible(options.output)}\n`);
    } else if (run.rendered) process.stdout.write(run.rendered);
    return run.exitCode;
  } catch (e) {
    if (e instanceof UsageError || e instanceof InventoryError) {
      process.stderr.write(`verify: ${visible(e.message)}\n`);
      return 2;
    }
    process.stderr.write(`verify: internal error (a bug in verify): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 4;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
