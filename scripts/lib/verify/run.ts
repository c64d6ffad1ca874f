/**
 * runVerify: gather -> model -> the lab's probe -> the lab's checks -> report, for
 * the CLI, `npm run up` and the e2e test. gatherLab() is the shared first half
 * (also used by scripts/cli/diagram.ts).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { Lab, LabLookup } from "../../../labs/lab";
import { InventoryError, UsageError } from "./errors";
import { gather, type Gathered, loadRaw, type ProgressEvent, saveRaw, type SshTransport, type Transport } from "./gather";
import "./html";
import { defaultInventoryPath, type Inventory, loadInventory } from "./inventory";
import { buildModel, type LabModel } from "./model";
import { formatNames, formatReport, type HostStatus, prepareFormat, summarize, type Summary, type Timings, type VerifyReport } from "./report";
import { type FactResult, TRAFFIC_DISABLED } from "./result";
import { preparePrivateDir, prepareOutputFile, readReplayFile, writeOutputFile, writePrivate } from "./files";

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
  /**
   * Finds the lab the inventory names (its `lab`; none: the default lab). The CLI passes the
   * registry's (labs/index.ts labNamed); verify itself knows no lab.
   */
  labs: LabLookup;
  /** How to reach hosts (default: SSH with the inventory's user and key). */
  transport?: Transport;
  onProgress?: (e: ProgressEvent) => void;
  /** Check saved output instead of gathering (a --save-raw directory). */
  replayDir?: string;
  /** Keep what was gathered (to replay it, or to turn it into fixtures). */
  saveRawDir?: string;
  /** Use the text parsers even where `ip -j` works. */
  forceText?: boolean;
  /** Ask docker through its CLI even where the engine's API can be read directly (--docker-cli). */
  dockerCli?: boolean;
  /**
   * The traffic checks PATH-1..4. Default (true): after the gather, one more
   * session on the manager runs them (not on a replay, which uses the replay's
   * traffic.json if it has one). false: skipped ("traffic checks disabled
   * (--no-traffic)"). An object: findings made elsewhere, used as they are.
   * They never run when `only` names no PATH fact.
   */
  traffic?: boolean | { evidence: unknown };
  /** Bound of the whole traffic step, connecting included (default 35 s). */
  trafficTimeoutMs?: number;
}

export interface GatherLabOptions {
  labs: LabLookup;
  stack?: string;
  inventoryFile?: string;
  inventory?: Inventory;
  cwd?: string;
  transport?: Transport;
  onProgress?: (e: ProgressEvent) => void;
  replayDir?: string;
  forceText?: boolean;
  dockerCli?: boolean;
  /** Called with the inventory before anything connects (to check output paths that depend on it). */
  beforeGather?: (inventory: Inventory, lab: Lab) => void;
}

export interface GatheredLab {
  /** The lab the inventory names. */
  lab: Lab;
  inventory: Inventory;
  gathered: Gathered;
  /** 0 when replaying. */
  gatherSeconds: number;
}

/** Read the inventory and gather every host (or replay a --save-raw directory). Shared by verify and the diagram. */
export async function gatherLab(opts: GatherLabOptions): Promise<GatheredLab> {
  const inventory =
    opts.inventory ?? loadInventory(opts.inventoryFile ?? defaultInventoryPath(opts.stack ?? "dev", opts.cwd), { checkKeyFile: !opts.replayDir && !opts.transport });
  const lab = labOf(inventory, opts.labs);
  opts.beforeGather?.(inventory, lab);
  const g0 = Date.now();
  const gathered = opts.replayDir
    ? loadRaw(opts.replayDir, inventory)
    : await gather({ inventory, transport: opts.transport, onProgress: opts.onProgress, forceText: opts.forceText, dockerCli: opts.dockerCli, netnsDir: lab.netnsDir });
  return { lab, inventory, gathered, gatherSeconds: opts.replayDir ? 0 : (Date.now() - g0) / 1000 };
}

/** The lab an inventory names; a name no lab has is an inventory error naming the known labs. */
function labOf(inventory: Inventory, labs: LabLookup): Lab {
  try {
    return labs(inventory.lab);
  } catch (e) {
    throw new InventoryError("lab", e instanceof Error ? e.message : String(e));
  }
}

/** Verdicts as a --save-raw directory's traffic.json holds them, by fact ID. */
function savedFindings(results: readonly FactResult[]): Record<string, { outcome: string; expected: string; observed: string; explanation?: string; details?: string[] }> {
  const out: ReturnType<typeof savedFindings> = {};
  for (const r of results) {
    out[r.id] = {
      outcome: r.outcome,
      expected: r.expected,
      observed: r.observed,
      ...(r.explanation ? { explanation: r.explanation } : {}),
      ...(r.details.length ? { details: [...r.details] } : {}),
    };
  }
  return out;
}

/** Do these `--only` IDs (none: all facts) include a fact of the probe? */
function wantsProbe(factIds: readonly string[] | undefined, only: readonly string[] | undefined): boolean {
  if (!factIds || factIds.length === 0) return false;
  return !only || only.length === 0 || only.some((id) => factIds.includes(id));
}

export interface VerifyRun {
  results: FactResult[];
  summary: Summary;
  /** See exitCodeOf: 0 all passed or changed (or skipped), 1 a fact failed, 3 nothing failed but some could not be checked. */
  exitCode: 0 | 1 | 3;
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

/**
 * The CLI's exit code for a run: 1 when a fact fails; else 3 when a fact could
 * not be checked; else 0 (every fact passed, changed, or was skipped on purpose).
 * 2 is for usage and input errors, which never reach a summary.
 */
export function exitCodeOf(s: Summary): 0 | 1 | 3 {
  return s.fail > 0 ? 1 : s.unchecked > 0 ? 3 : 0;
}

export function validateOnly(only: readonly string[] | undefined, lab: Lab): string[] | undefined {
  if (!only || only.length === 0) return undefined;
  const ids = lab.facts.map((f) => f.id);
  const bad = only.filter((id) => !ids.includes(id));
  if (bad.length) throw new UsageError(`unknown fact ID(s) ${bad.join(", ")}; known: ${ids.join(", ")}`);
  return [...only];
}

export async function runVerify(opts: VerifyOptions): Promise<VerifyRun> {
  const t0 = Date.now();
  if (opts.format !== undefined && !formatNames().includes(opts.format)) throw new UsageError(`unknown format "${opts.format}" (known: ${formatNames().join(", ")})`);
  // Every place verify will write is checked before anything connects.
  if (opts.output !== undefined) prepareOutputFile(opts.output);
  if (opts.saveRawDir !== undefined) preparePrivateDir(opts.saveRawDir);

  // The probe's session connects while the hosts are gathered: it is ready when the model is.
  let early: SshTransport | undefined;
  let only: string[] | undefined;
  const beforeGather = (inv: Inventory, lab: Lab): void => {
    // The fact IDs are the lab's: known once the inventory has named it, still before anything connects.
    only = validateOnly(opts.only, lab);
    const probe = lab.traffic;
    const liveTraffic = probe && wantsProbe(probe.factIds, only) && opts.traffic !== false && typeof opts.traffic !== "object" && !opts.replayDir && !opts.transport;
    if (probe && liveTraffic) {
      early = probe.transport(inv, opts.trafficTimeoutMs);
      early.warm(probe.host(inv));
    }
  };
  try {
    const gatheredLab = await gatherLab({ ...opts, beforeGather });
    return await verifyWith(opts, only, t0, gatheredLab, early);
  } finally {
    early?.dispose();
  }
}

async function verifyWith(opts: VerifyOptions, only: string[] | undefined, t0: number, gatheredLab: GatheredLab, early: SshTransport | undefined): Promise<VerifyRun> {
  const { lab, inventory, gathered, gatherSeconds } = gatheredLab;
  let sshSessions = gathered.sshSessions;

  const m0 = Date.now();
  const model = buildModel(gathered, inventory, { netnsDir: lab.netnsDir });
  const modelSeconds = (Date.now() - m0) / 1000;

  // Traffic (PATH-1..4): needs the model (task container, peer task address, underlay NIC).
  let trafficSeconds: number | undefined;
  let trafficRaw: { host: string; stdout: string; stderr?: string; plan?: unknown } | undefined;
  const probe = lab.traffic;
  if (probe && wantsProbe(probe.factIds, only)) {
    let evidence: unknown;
    if (typeof opts.traffic === "object") evidence = opts.traffic.evidence;
    else if (opts.traffic === false) evidence = probe.skipped(TRAFFIC_DISABLED);
    else if (opts.replayDir) {
      evidence = probe.replay(opts.replayDir, inventory, model);
      // Saving a replay elsewhere keeps the evidence the verdicts were judged from.
      const h = probe.host(inventory).name;
      const raw = readReplayFile(opts.replayDir, `traffic-${h}.txt`);
      if (raw !== undefined) trafficRaw = { host: h, stdout: raw };
    }
    else {
      const step = await probe.run({ inventory, model, transport: opts.transport ?? early, timeoutMs: opts.trafficTimeoutMs, onProgress: opts.onProgress });
      evidence = step.evidence;
      trafficSeconds = step.seconds;
      sshSessions += step.sessions;
      if (step.stdout !== undefined) trafficRaw = { host: step.host, stdout: step.stdout, ...(step.stderr ? { stderr: step.stderr } : {}), ...(step.plan ? { plan: step.plan } : {}) };
    }
    model.probe = evidence;
  }
  if (opts.saveRawDir) {
    saveRaw(opts.saveRawDir, gathered);
    // The probe's facts as judged from its evidence (traffic.json): a replay keeps their skips and could-not-checks.
    if (probe && model.probe !== undefined) writePrivate(path.join(opts.saveRawDir, "traffic.json"), JSON.stringify(savedFindings(lab.check(model, inventory, { only: probe.factIds })), null, 2) + "\n");
    if (!trafficRaw && probe) {
      // A replay judges the traffic from these: an earlier save's must not pass for this run's.
      const h = probe.host(inventory).name;
      for (const f of [`traffic-${h}.txt`, `traffic-${h}.stderr.txt`, "traffic-plan.json"]) fs.rmSync(path.join(opts.saveRawDir, f), { force: true });
    } else if (trafficRaw) {
      // The traffic script's own output and plan: --replay and `traffic-cli.ts judge` judge them again.
      writePrivate(path.join(opts.saveRawDir, `traffic-${trafficRaw.host}.txt`), trafficRaw.stdout);
      if (trafficRaw.stderr) writePrivate(path.join(opts.saveRawDir, `traffic-${trafficRaw.host}.stderr.txt`), trafficRaw.stderr);
      if (trafficRaw.plan) writePrivate(path.join(opts.saveRawDir, "traffic-plan.json"), JSON.stringify(trafficRaw.plan, null, 2) + "\n");
    }
  }

  const c0 = Date.now();
  const results = lab.check(model, inventory, { only });
  const c1 = Date.now();

  const hosts: HostStatus[] = model.hosts.map((h) => {
    const s: HostStatus = { name: h.name, address: h.address, reachable: h.reachable, problems: [...h.gatherProblems] };
    if (h.error) s.error = h.error;
    const cause = h.reachable ? h.dockerDown : (h.error ?? "could not be gathered");
    if (cause) s.cause = cause;
    return s;
  });
  const summary = summarize(results);
  const timings: Timings = {
    gatherSeconds,
    modelSeconds,
    checkSeconds: (c1 - c0) / 1000,
    ...(trafficSeconds !== undefined ? { trafficSeconds } : {}),
    totalSeconds: (Date.now() - t0) / 1000,
  };
  const report: VerifyReport = {
    lab: lab.name,
    stack: inventory.stack,
    generatedAt: new Date().toISOString(),
    results,
    summary,
    timings,
    sshSessions,
    hosts,
    model,
  };
  // What the lab adds to the drawing of its model (ESP, VLAN tags, published ports), for the html format.
  const plumbing = lab.plumbing?.(model, inventory);
  if (plumbing) report.plumbing = plumbing;
  const run: VerifyRun = { results, summary, exitCode: exitCodeOf(summary), timings, sshSessions, report, inventory, gathered, model };
  if (opts.format) {
    await prepareFormat(opts.format);
    run.rendered = formatReport(report, opts.format, { color: opts.color });
    if (opts.output !== undefined) writeOutputFile(opts.output, run.rendered);
  }
  return run;
}
