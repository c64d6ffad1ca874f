/**
 * npm run verify: check every documented fact of the lab on the live lab.
 *
 *   npx tsx scripts/verify.ts [--stack NAME | --inventory FILE] [--format text|json|junit|html]
 *                             [--only ID,...] [--output FILE] [--no-traffic]
 *                             [--save-raw DIR] [--replay DIR] [--ip-text] [--quiet]
 *
 * After the gather (one SSH session per host), the traffic checks PATH-1..4
 * run in one more session on the manager (pings from its demoservice task, a
 * capture on its underlay NIC; under 40 s). --no-traffic skips them, and so
 * does an --only list without a PATH fact.
 *
 * Exit code: 0 when no fact fails, 1 when one does, 2 for usage or inventory errors.
 */
import { forEachFlag } from "./verify/args";
import { InventoryError, UsageError } from "./verify/errors";
import type { ProgressEvent } from "./verify/gather";
import { formatNames } from "./verify/report";
import { runVerify, type VerifyOptions, type VerifyRun } from "./verify/run";

export { runVerify };
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
                     the traffic script's output)
  --replay DIR       check outputs saved with --save-raw instead of connecting
                     (PATH-1..4 come from its traffic.json; no traffic is sent)
  --ip-text          use iproute2's text output even where ip -j works
  --quiet            no progress on stderr
`;

export interface CliArgs {
  options: VerifyOptions;
  quiet: boolean;
  help: boolean;
}

export function parseArgs(argv: readonly string[]): CliArgs {
  const options: VerifyOptions = { format: "text" };
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

/** Progress lines on stderr (also used by scripts/diagram.ts). */
export function progressPrinter(): (e: ProgressEvent) => void {
  return (e) => {
    switch (e.phase) {
      case "connecting":
        process.stderr.write(`${e.host}: connecting to ${e.address}\n`);
        break;
      case "connected":
        process.stderr.write(`${e.host}: connected\n`);
        break;
      case "section":
        if (e.sections % 10 === 0) process.stderr.write(`${e.host}: gathered ${e.sections} sections\n`);
        break;
      case "done":
        process.stderr.write(`${e.host}: gathered ${e.sections} sections in ${e.seconds.toFixed(1)}s\n`);
        break;
      case "error":
        process.stderr.write(`${e.host}: ERROR ${e.message}\n`);
        break;
      case "traffic":
        process.stderr.write(`${e.host}: ${e.message}\n`);
        break;
    }
  };
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
      const s = run.summary;
      process.stderr.write(`verify: ${s.total} facts: ${s.pass} passed, ${s.changed} changed, ${s.fail} failed, ${s.skip} skipped; report in ${options.output}\n`);
    } else if (run.rendered) process.stdout.write(run.rendered);
    return run.exitCode;
  } catch (e) {
    if (e instanceof UsageError || e instanceof InventoryError) {
      process.stderr.write(`verify: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`verify: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 3;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
