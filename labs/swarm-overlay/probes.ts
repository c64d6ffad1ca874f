/**
 * The lab's traffic probe (PATH-1..4) on the live lab, as runVerify runs it.
 *
 * After the gather, the plan is filled in from the model (the manager's
 * demoservice task container, the other host's task address on the overlay,
 * the underlay NIC), then ONE extra session on the manager host runs the
 * traffic script (traffic.ts) as root (`sudo -n bash -s` unless the user is
 * root). The whole step is bounded: after `timeoutMs` (default 35 s,
 * connecting included) the session is aborted and whatever output arrived is
 * kept. The probe yields observations (TrafficObservations), never verdicts:
 * the lab's checks judge them (traffic-checks.ts). Nothing here throws: every
 * problem is recorded as why the facts could not be probed.
 */
import * as path from "node:path";
import type { Probe } from "../lab";
import { inCidr } from "../../scripts/lib/ipv4";
import { DOCUMENTED, FACTS, TRAFFIC_FACT_IDS, type TrafficFactId } from "./facts";
import { withWorkload } from "./lab";
import { judgeObservations } from "./traffic-checks";
import { MARK, type NotProbed, parseSteps, parseTrafficOutput, resolvePlan, runTrafficScript, type TrafficEvidence, type TrafficNotRun, type TrafficObservations, type TrafficPlan } from "./traffic";
import { UsageError } from "../../scripts/lib/verify/errors";
import { readReplayFile } from "../../scripts/lib/verify/files";
import { type ProgressEvent, SshTransport, type Transport } from "../../scripts/lib/verify/gather";
import type { Inventory, InventoryHost } from "../../scripts/lib/verify/inventory";
import type { LabModel } from "../../scripts/lib/verify/model";
export { TRAFFIC_DISABLED } from "../../scripts/lib/verify/result";
export { TRAFFIC_FACT_IDS };

// ------------------------------------------------------------- plan ----

/** The documented VNI of demonet (VXLAN-1, PATH-4), from the lab's facts. */
export const DOCUMENTED_VNI = DOCUMENTED.vxlan.demonetId;

/**
 * The PATH-1..4 plan for probing from `from` (default: the first inventory
 * host, docker0) towards `to` (default: the next host), filled in from the
 * gathered model: the local task's container and namespace, the overlay's
 * namespace and vxlan ids, the other task's overlay address, the underlay
 * NIC. Whatever the model lacks is left out, and the traffic script finds it
 * itself or the facts concerned are skipped.
 */
export function trafficPlanFromModel(inv: Inventory, model: LabModel, opts: { from?: string; to?: string; vni?: number } = {}): { host: string; plan: TrafficPlan } {
  const w = withWorkload(inv).workload;
  const from = inv.hosts.find((h) => h.name === (opts.from ?? inv.hosts[0]!.name));
  if (!from) throw new Error(`host ${opts.from} is not in the inventory`);
  const to = inv.hosts.find((h) => h.name === (opts.to ?? inv.hosts.find((x) => x.name !== from.name)?.name));
  if (!to || to.name === from.name) throw new Error("PATH-3/4 need a second host in the inventory");
  const hostModel = (name: string) => model.hosts.find((h) => h.name === name);
  const taskNs = (name: string) => hostModel(name)?.namespaces.find((n) => n.kind === "sandbox" && (n.task?.service === undefined || n.task.service === w.service));
  const plan: TrafficPlan = {
    service: w.service,
    overlay: w.overlay,
    overlaySubnet: w.subnet,
    overlayGateway: w.gateway,
    labCidr: inv.network.cidr,
    pathTarget: inv.pathTarget,
    localAddress: from.address,
    peerAddress: to.address,
    vni: opts.vni ?? DOCUMENTED_VNI,
  };
  const mine = taskNs(from.name);
  if (mine?.task?.containerId) {
    plan.container = mine.task.containerId;
    if (mine.id !== "host") plan.sandbox = mine.id;
  }
  const ovl = hostModel(from.name)?.namespaces.find((n) => n.kind === "overlay" && n.network?.name === w.overlay);
  if (ovl) plan.overlayNamespace = ovl.id;
  const vxlanIds = hostModel(from.name)?.networks?.find((n) => n.name === w.overlay)?.options["com.docker.network.driver.overlay.vxlanid_list"];
  if (vxlanIds !== undefined && /^[0-9,]*$/.test(vxlanIds)) plan.vxlanIdList = vxlanIds;
  const peer = taskNs(to.name);
  const peerAddr = peer?.interfaces
    .flatMap((i) => i.addresses)
    .find((a) => a.family === "inet" && inCidr(w.subnet, a.local) && a.prefixlen < 32)?.local;
  if (peerAddr) plan.peerTaskAddress = peerAddr;
  const nic = hostModel(from.name)
    ?.namespaces.find((n) => n.kind === "host")
    ?.interfaces.find((i) => i.addresses.some((a) => a.local === from.address));
  if (nic) plan.underlayNic = nic.name;
  return { host: from.name, plan };
}

/** Default bound of the whole traffic step (connect + script), well under 40 s. */
export const DEFAULT_TRAFFIC_TIMEOUT_MS = 35_000;


/** Do these `--only` IDs (none: all facts) include a traffic fact? */
export function wantsTraffic(only: readonly string[] | undefined): boolean {
  return !only || only.length === 0 || only.some((id) => (TRAFFIC_FACT_IDS as readonly string[]).includes(id));
}

/** PATH-1..4 all deliberately not probed, for one reason (the reports show it as "why"). */
export function skippedTraffic(reason: string): TrafficNotRun {
  return allTraffic("skip", reason);
}

/** PATH-1..4 all not probed, for one cause. */
export function uncheckedTraffic(cause: string): TrafficNotRun {
  return allTraffic("unchecked", cause);
}

function allTraffic(outcome: "skip" | "unchecked", reason: string): TrafficNotRun {
  const facts: TrafficNotRun["facts"] = {};
  for (const id of TRAFFIC_FACT_IDS) {
    const fact = FACTS.find((f) => f.id === id);
    facts[id] = { outcome, expected: fact?.documented ?? id, observed: "not checked", explanation: reason };
  }
  return { kind: "not-run", facts };
}

/** The SSH transport of the traffic step (its own session, bounded by timeoutMs). */
export function trafficTransport(inventory: Inventory, timeoutMs = DEFAULT_TRAFFIC_TIMEOUT_MS): SshTransport {
  return new SshTransport({ user: inventory.user, sshKeyFile: inventory.sshKeyFile, readyTimeoutMs: Math.min(10_000, timeoutMs), sessionTimeoutMs: timeoutMs, scriptName: "the traffic script" });
}

/** The host the traffic checks run on: the (first) manager, docker0 in the lab. */
export function trafficHost(inventory: Inventory): InventoryHost {
  return inventory.hosts.find((h) => h.role === "manager") ?? inventory.hosts[0]!;
}

export interface TrafficStepOptions {
  inventory: Inventory;
  model: LabModel;
  /** How to reach the host (default: SSH with the inventory's user and key). */
  transport?: Transport;
  /** Bound of the whole step, connecting included (default 35 s). */
  timeoutMs?: number;
  onProgress?: (e: ProgressEvent) => void;
}

export interface TrafficStepResult {
  /** What the probe observed (judged by the lab's checks). */
  evidence: TrafficObservations;
  /** The host probed from. */
  host: string;
  /** The plan the script was built from (absent when none could be made). */
  plan?: TrafficPlan;
  /** Raw output of the traffic script, when it ran (what --save-raw keeps). */
  stdout?: string;
  stderr?: string;
  /** Wall-clock seconds of the step. */
  seconds: number;
  /** SSH sessions the step opened (0 or 1). */
  sessions: number;
  /** The step hit its time bound. */
  timedOut: boolean;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Run the traffic checks on the live lab. Never throws. */
export async function runTrafficStep(o: TrafficStepOptions): Promise<TrafficStepResult> {
  const t0 = Date.now();
  const host = trafficHost(o.inventory);
  const progress = o.onProgress ?? (() => undefined);
  const done = (evidence: TrafficObservations, extra: Partial<TrafficStepResult> = {}): TrafficStepResult => ({
    evidence,
    host: host.name,
    seconds: (Date.now() - t0) / 1000,
    sessions: 0,
    timedOut: false,
    ...extra,
  });
  const skip = (reason: string): TrafficStepResult => {
    progress({ host: host.name, phase: "traffic", message: `traffic checks not run: ${reason}` });
    return done(uncheckedTraffic(reason));
  };

  const hostModel = o.model.hosts.find((h) => h.name === host.name);
  if (!hostModel || !hostModel.reachable) return skip(`${host.name}: ${hostModel?.error ?? "could not be gathered"}`);
  if (hostModel.dockerDown) return skip(`${host.name}: ${hostModel.dockerDown}`);
  let plan: TrafficPlan;
  try {
    plan = trafficPlanFromModel(o.inventory, o.model, { from: host.name }).plan;
    resolvePlan(plan);
  } catch (e) {
    return skip(`traffic checks not run: ${message(e)}`);
  }


  const timeoutMs = o.timeoutMs ?? DEFAULT_TRAFFIC_TIMEOUT_MS;
  const transport = o.transport ?? trafficTransport(o.inventory, timeoutMs);
  const before = transport.sessions;
  const controller = new AbortController();
  const bound = `the traffic checks did not finish within ${timeoutMs / 1000}s`;
  const aborted = new Promise<never>((_, reject) => controller.signal.addEventListener("abort", () => reject(new Error(bound)), { once: true }));
  aborted.catch(() => undefined);
  const timer = setTimeout(() => controller.abort(new Error(bound)), timeoutMs);
  let stdout: string | undefined;
  let stderr: string | undefined;
  let cut: string | undefined;
  progress({ host: host.name, phase: "traffic", message: `running the traffic checks PATH-1..4 (one session, at most ${timeoutMs / 1000}s)` });
  let observations: TrafficObservations;
  try {
    observations = await runTrafficScript(plan, async (script) => {
      let received = "";
      try {
        // The race bounds transports that do not honour the signal, too.
        const res = await Promise.race([transport.run(host, script, (c) => (received += c), () => undefined, { signal: controller.signal }), aborted]);
        stdout = res.stdout;
        stderr = res.stderr;
        return res;
      } catch (e) {
        // Keep what arrived before the session broke: those steps are judged; the rest are reported missing.
        if (received.includes(`${MARK}begin `)) {
          cut = message(e);
          stdout = received;
          stderr = cut;
          return { stdout: received, stderr: cut, code: null };
        }
        throw e;
      }
    });
  } finally {
    clearTimeout(timer);
  }
  if (cut) observations.cut = cut;
  const peerCause = peerCauseOf(plan, host, o.inventory, o.model);
  if (peerCause) observations.peerCause = peerCause;
  const sessions = Math.max(0, transport.sessions - before);
  const seconds = (Date.now() - t0) / 1000;
  // The progress line names the verdicts the checks will give (judged here for it alone).
  const verdicts = judgeObservations(observations);
  progress({ host: host.name, phase: "traffic", message: `traffic checks done in ${seconds.toFixed(1)}s: ${TRAFFIC_FACT_IDS.map((id) => `${id} ${verdicts[id]?.outcome ?? "?"}`).join(", ")}` });
  const extra: Partial<TrafficStepResult> = { plan, sessions, timedOut: controller.signal.aborted };
  if (stdout !== undefined) extra.stdout = stdout;
  if (stderr !== undefined) extra.stderr = stderr;
  return done(observations, extra);
}

/**
 * PATH-3/4 target the other host's task: when that host could not be asked (and so its task's
 * address is unknown), that host and its cause (`<host>: <cause>`), for the checks to name.
 */
function peerCauseOf(plan: TrafficPlan, host: InventoryHost, inventory: Inventory, model: LabModel): string | undefined {
  if (plan.peerTaskAddress) return undefined;
  const peerName = inventory.hosts.find((h) => h.name !== host.name)?.name;
  const peer = peerName ? model.hosts.find((h) => h.name === peerName) : undefined;
  const cause = peer && (!peer.reachable ? (peer.error ?? "could not be gathered") : peer.dockerDown);
  if (!peer || !cause) return undefined;
  return `${peer.name}: ${cause}`;
}

// ------------------------------------------------------------- replay ----

const OUTCOMES_IN_FILE = ["pass", "fail", "changed", "skip", "unchecked"] as const;

/**
 * Read and check a saved traffic.json: an object of PATH-1..4, each with an
 * outcome, the expected and observed text, and optionally an explanation and
 * details. Anything else is a UsageError naming the file and the field.
 */
export function parseTrafficJson(text: string, file: string): TrafficEvidence {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${file}: not valid JSON (cut off?): ${e instanceof Error ? e.message : String(e)}`);
  }
  const bad = (field: string, what: string, v: unknown): UsageError => new UsageError(`${file}: ${field}: expected ${what}, got ${v === undefined ? "nothing" : JSON.stringify(v)?.slice(0, 80)}`);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw bad("the file", "an object of PATH-1..4 findings", raw);
  const ev: TrafficEvidence = {};
  for (const [id, v] of Object.entries(raw)) {
    if (!(TRAFFIC_FACT_IDS as readonly string[]).includes(id)) throw new UsageError(`${file}: ${JSON.stringify(id)} is not a traffic fact (PATH-1..4)`);
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad(id, "an object", v);
    const o = v as Record<string, unknown>;
    if (!(OUTCOMES_IN_FILE as readonly unknown[]).includes(o["outcome"])) throw bad(`${id}.outcome`, OUTCOMES_IN_FILE.join(" | "), o["outcome"]);
    for (const k of ["expected", "observed"]) if (typeof o[k] !== "string") throw bad(`${id}.${k}`, "a string", o[k]);
    if (o["explanation"] !== undefined && typeof o["explanation"] !== "string") throw bad(`${id}.explanation`, "a string", o["explanation"]);
    if (o["details"] !== undefined && (!Array.isArray(o["details"]) || o["details"].some((d) => typeof d !== "string"))) throw bad(`${id}.details`, "a list of strings", o["details"]);
    const r: TrafficEvidence[TrafficFactId] = { outcome: o["outcome"] as (typeof OUTCOMES_IN_FILE)[number], expected: o["expected"] as string, observed: o["observed"] as string };
    if (o["explanation"] !== undefined) r!.explanation = o["explanation"] as string;
    if (o["details"] !== undefined) r!.details = [...(o["details"] as string[])];
    ev[id as TrafficFactId] = r;
  }
  return ev;
}

/**
 * The PATH-1..4 findings of a --replay directory, judged again from the
 * evidence: the traffic script's output (`traffic-<host>.txt`), with the plan
 * the replayed model gives (as the live run built it). A saved verdict
 * (traffic.json) is never read back as one: without the output it came from,
 * a pass or fail there leaves the fact unchecked. Only its skips (what
 * --no-traffic saved) and unchecked entries are kept as they are.
 */
export function replayTraffic(dir: string, inventory: Inventory, model: LabModel): TrafficObservations {
  const host = trafficHost(inventory);
  const rawName = `traffic-${host.name}.txt`;
  const jsonText = readReplayFile(dir, "traffic.json");
  // Checked first: a damaged traffic.json is an input error even where the output is there.
  const saved = jsonText !== undefined ? parseTrafficJson(jsonText, path.join(dir, "traffic.json")) : undefined;
  const raw = readReplayFile(dir, rawName);
  if (raw !== undefined) {
    let plan: TrafficPlan;
    try {
      plan = trafficPlanFromModel(inventory, model, { from: host.name }).plan;
      resolvePlan(plan);
    } catch (e) {
      return uncheckedTraffic(`the recorded traffic cannot be judged: ${message(e)}`);
    }
    const run = parseTrafficOutput(raw);
    if (Object.keys(run.sections).length === 0) return uncheckedTraffic(`${rawName} in ${dir} holds no traffic script output`);
    const observations: TrafficObservations = { kind: "ran", plan, run, parsed: parseSteps(run, plan) };
    const peerCause = peerCauseOf(plan, host, inventory, model);
    if (peerCause) observations.peerCause = peerCause;
    return observations;
  }
  if (!saved) return uncheckedTraffic(`the traffic checks were not recorded: ${dir} has no traffic.json`);
  const facts: TrafficNotRun["facts"] = {};
  for (const id of TRAFFIC_FACT_IDS) {
    const fact = FACTS.find((f) => f.id === id);
    const s = saved[id];
    if (s && (s.outcome === "skip" || s.outcome === "unchecked")) facts[id] = s as NotProbed;
    else
      facts[id] = {
        outcome: "unchecked",
        expected: s?.expected ?? fact?.documented ?? id,
        observed: "not checked",
        explanation: s
          ? `traffic.json says ${s.outcome}, but the traffic script's output it was judged from (${rawName}) is not in ${dir}: a verdict is judged from its evidence, never read back`
          : `traffic.json has no ${id}`,
      };
  }
  return { kind: "not-run", facts };
}

/** PATH-1..4 as the Lab interface's traffic probe. */
export const trafficProbe: Probe = {
  factIds: TRAFFIC_FACT_IDS,
  host: trafficHost,
  transport: trafficTransport,
  run: runTrafficStep,
  replay: replayTraffic,
  skipped: skippedTraffic,
};
