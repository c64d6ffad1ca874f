/** runVerify: gather -> model -> check -> report, for the CLI, `npm run up` and the e2e test. */
import * as fs from "node:fs";
import * as path from "node:path";
import { FACT_IDS } from "../../labs/swarm-overlay/facts";
import { type LabDefinition, swarmOverlayLab } from "../../labs/swarm-overlay/lab";
import { type FactResult, runChecks } from "./checks";
import { UsageError } from "./errors";
import { gather, type Gathered, loadRaw, type ProgressEvent, saveRaw, type Transport } from "./gather";
import { defaultInventoryPath, type Inventory, loadInventory } from "./inventory";
import { buildModel, type LabModel } from "./model";
import { formatNames, formatReport, type HostStatus, summarize, type Summary, type Timings, type VerifyReport } from "./report";
import type { TrafficEvidence } from "./traffic";

export interface VerifyOptions {
  /** Stack whose `.swarmlab/<stack>/inventory.json` to read (default "dev"). */
  stack?: string;
  /** Inventory file (overrides stack). */
  inventoryFile?: string;
  /** An inventory object (overrides both; not checked for the key file's mode). */
  inventory?: Inventory;
  /** Only these fact IDs. */
  only?: readonly string[];
  /** Render the report in this format (text, json, junit, or a registered one). */
  format?: string;
  /** Write the rendered report here. */
  output?: string;
  color?: boolean;
  /** Directory `.swarmlab` lives in (default: cwd). */
  cwd?: string;
  lab?: LabDefinition;
  /** How to reach hosts (default: SSH with the inventory's user and key). */
  transport?: Transport;
  onProgress?: (e: ProgressEvent) => void;
  /** Check saved output instead of gathering (a --save-raw directory). */
  replayDir?: string;
  /** Keep what was gathered (to replay it, or to turn it into fixtures). */
  saveRawDir?: string;
  /** Use the text parsers even where `ip -j` works. */
  forceText?: boolean;
  /** Traffic findings (PATH-1..4) from the traffic checks, when they ran. */
  traffic?: TrafficEvidence;
}

export interface VerifyRun {
  results: FactResult[];
  summary: Summary;
  /** 0 when no fact failed, 1 otherwise. */
  exitCode: 0 | 1;
  timings: Timings;
  /** SSH sessions opened (0 when replaying). */
  sshSessions: number;
  report: VerifyReport;
  /** The report rendered in `format`, when one was asked for. */
  rendered?: string;
  inventory: Inventory;
  gathered: Gathered;
  model: LabModel;
}

export function validateOnly(only: readonly string[] | undefined): string[] | undefined {
  if (!only || only.length === 0) return undefined;
  const bad = only.filter((id) => !(FACT_IDS as readonly string[]).includes(id));
  if (bad.length) throw new UsageError(`unknown fact ID(s) ${bad.join(", ")}; known: ${FACT_IDS.join(", ")}`);
  return [...only];
}

export async function runVerify(opts: VerifyOptions = {}): Promise<VerifyRun> {
  const t0 = Date.now();
  const only = validateOnly(opts.only);
  if (opts.format && !formatNames().includes(opts.format)) throw new UsageError(`unknown format "${opts.format}" (known: ${formatNames().join(", ")})`);
  const inventory =
    opts.inventory ?? loadInventory(opts.inventoryFile ?? defaultInventoryPath(opts.stack ?? "dev", opts.cwd), { checkKeyFile: !opts.replayDir && !opts.transport });
  const lab = opts.lab ?? swarmOverlayLab;

  const g0 = Date.now();
  const gathered = opts.replayDir
    ? loadRaw(opts.replayDir, inventory)
    : await gather({ inventory, transport: opts.transport, onProgress: opts.onProgress, forceText: opts.forceText });
  if (opts.traffic) gathered.traffic = { ...gathered.traffic, ...opts.traffic };
  const gatherSeconds = opts.replayDir ? 0 : (Date.now() - g0) / 1000;
  if (opts.saveRawDir) saveRaw(opts.saveRawDir, gathered);

  const m0 = Date.now();
  const model = buildModel(gathered, inventory);
  const c0 = Date.now();
  const results = runChecks({ model, lab, inventory }, { only });
  const c1 = Date.now();

  const hosts: HostStatus[] = model.hosts.map((h) => {
    const s: HostStatus = { name: h.name, address: h.address, reachable: h.reachable, problems: [...h.gatherProblems] };
    if (h.error) s.error = h.error;
    return s;
  });
  const summary = summarize(results);
  const timings: Timings = {
    gatherSeconds,
    modelSeconds: (c0 - m0) / 1000,
    checkSeconds: (c1 - c0) / 1000,
    totalSeconds: (Date.now() - t0) / 1000,
  };
  const report: VerifyReport = {
    lab: inventory.lab,
    stack: inventory.stack,
    generatedAt: new Date().toISOString(),
    results,
    summary,
    timings,
    sshSessions: gathered.sshSessions,
    hosts,
    model,
  };
  const run: VerifyRun = { results, summary, exitCode: summary.fail > 0 ? 1 : 0, timings, sshSessions: gathered.sshSessions, report, inventory, gathered, model };
  if (opts.format) {
    run.rendered = formatReport(report, opts.format, { color: opts.color });
    if (opts.output) {
      fs.mkdirSync(path.dirname(path.resolve(opts.output)), { recursive: true });
      fs.writeFileSync(opts.output, run.rendered);
    }
  }
  return run;
}
