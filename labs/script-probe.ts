/**
 * A probe made of one script: the lab builds a bash script (from the inventory and the gathered
 * model) whose commands print framed sections (scripts/lib/framing.ts FRAMING_BASH); it runs as
 * root in one session on one host, bounded in time, and its sections are the evidence the lab's
 * checks judge. Nothing here judges and nothing throws: a host that cannot be asked, a plan that
 * cannot be made or a session cut off ends as evidence saying why.
 */
import type { Probe, ProbeRunOptions, ProbeRunResult } from "./lab";
import { BASH_HEADER } from "../scripts/lib/shell";
import { FRAMING_BASH, type FramedOutput, MARK, parseFramedOutput } from "../scripts/lib/framing";
import { readReplayFile } from "../scripts/lib/verify/files";
import { SshTransport } from "../scripts/lib/verify/gather";
import type { Inventory, InventoryHost } from "../scripts/lib/verify/inventory";
import type { LabModel } from "../scripts/lib/verify/model";

export type ScriptEvidence =
  | { kind: "ran"; host: string; framed: FramedOutput; cut?: string }
  | { kind: "not-run"; outcome: "skip" | "unchecked"; reason: string };

export interface ScriptProbeSpec {
  factIds: readonly string[];
  /** In progress lines: "the bridge probe". */
  what: string;
  /** The host it runs on (default: the first manager). */
  host?(inventory: Inventory): InventoryHost;
  /** The script's body (its commands call swl_section KEY CMD...). Throws when the model lacks what it needs. */
  body(inventory: Inventory, model: LabModel): string;
  /** Bound of the whole probe, connecting included (default 40 s). */
  timeoutMs?: number;
}

export const DEFAULT_SCRIPT_PROBE_TIMEOUT_MS = 40_000;

export function managerHost(inventory: Inventory): InventoryHost {
  return inventory.hosts.find((h) => h.role === "manager") ?? inventory.hosts[0]!;
}

/** The whole script a probe runs: strict bash, the framing, the body, the done marker. */
export function probeScript(body: string): string {
  return `${BASH_HEADER.replace("set -euo pipefail", "set -uo pipefail")}
${FRAMING_BASH}${body.endsWith("\n") ? body : `${body}\n`}swl_done
`;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The sections of a probe's evidence, or why there are none (for the checks). */
export function sectionsOf(evidence: unknown): { framed: FramedOutput; host: string; cut?: string } | { reason: string; outcome: "skip" | "unchecked" } {
  const e = evidence as ScriptEvidence | undefined;
  if (!e) return { reason: "the probe did not run", outcome: "unchecked" };
  if (e.kind === "not-run") return { reason: e.reason, outcome: e.outcome };
  return { framed: e.framed, host: e.host, ...(e.cut ? { cut: e.cut } : {}) };
}

export function scriptProbe(spec: ScriptProbeSpec): Probe {
  const hostOf = spec.host ?? managerHost;
  const bound = spec.timeoutMs ?? DEFAULT_SCRIPT_PROBE_TIMEOUT_MS;
  const transport = (inventory: Inventory, timeoutMs = bound): SshTransport =>
    new SshTransport({ user: inventory.user, sshKeyFile: inventory.sshKeyFile, readyTimeoutMs: Math.min(10_000, timeoutMs), sessionTimeoutMs: timeoutMs, scriptName: spec.what });
  const notRun = (outcome: "skip" | "unchecked", reason: string): ScriptEvidence => ({ kind: "not-run", outcome, reason });

  async function run(o: ProbeRunOptions): Promise<ProbeRunResult> {
    const t0 = Date.now();
    const host = hostOf(o.inventory);
    const progress = o.onProgress ?? (() => undefined);
    const done = (evidence: ScriptEvidence, extra: Partial<ProbeRunResult> = {}): ProbeRunResult => ({ evidence, host: host.name, seconds: (Date.now() - t0) / 1000, sessions: 0, timedOut: false, ...extra });
    const hm = o.model.hosts.find((h) => h.name === host.name);
    const cause = !hm || !hm.reachable ? `${host.name}: ${hm?.error ?? "could not be gathered"}` : hm.dockerDown ? `${host.name}: ${hm.dockerDown}` : undefined;
    if (cause) {
      progress({ host: host.name, phase: "traffic", message: `${spec.what} not run: ${cause}` });
      return done(notRun("unchecked", cause));
    }
    let script: string;
    try {
      script = probeScript(spec.body(o.inventory, o.model));
    } catch (e) {
      progress({ host: host.name, phase: "traffic", message: `${spec.what} not run: ${message(e)}` });
      return done(notRun("unchecked", message(e)));
    }
    const timeoutMs = o.timeoutMs ?? bound;
    const t = o.transport ?? transport(o.inventory, timeoutMs);
    const before = t.sessions;
    const controller = new AbortController();
    const why = `${spec.what} did not finish within ${timeoutMs / 1000}s`;
    const aborted = new Promise<never>((_, reject) => controller.signal.addEventListener("abort", () => reject(new Error(why)), { once: true }));
    aborted.catch(() => undefined);
    const timer = setTimeout(() => controller.abort(new Error(why)), timeoutMs);
    progress({ host: host.name, phase: "traffic", message: `running ${spec.what} (${spec.factIds.join(", ")}; one session, at most ${timeoutMs / 1000}s)` });
    let received = "";
    let stdout: string;
    let stderr: string | undefined;
    let cut: string | undefined;
    try {
      const res = await Promise.race([t.run(host, script, (c) => (received += c), () => undefined, { signal: controller.signal }), aborted]);
      stdout = res.stdout;
      stderr = res.stderr || undefined;
    } catch (e) {
      if (!received.includes(`${MARK}begin `)) {
        clearTimeout(timer);
        return done(notRun("unchecked", `${host.name}: ${message(e)}`), { sessions: Math.max(0, t.sessions - before), timedOut: controller.signal.aborted });
      }
      // Keep what arrived before the session broke: those sections are judged, the rest are missing.
      cut = message(e);
      stdout = received;
      stderr = cut;
    } finally {
      clearTimeout(timer);
    }
    let evidence: ScriptEvidence;
    try {
      evidence = { kind: "ran", host: host.name, framed: parseFramedOutput(stdout, spec.what), ...(cut ? { cut } : {}) };
    } catch (e) {
      evidence = notRun("unchecked", `${host.name}: ${message(e)}${stderr ? ` (stderr: ${stderr.trim().split("\n").slice(-2).join(" / ")})` : ""}`);
    }
    const seconds = (Date.now() - t0) / 1000;
    progress({ host: host.name, phase: "traffic", message: `${spec.what} done in ${seconds.toFixed(1)}s` });
    return done(evidence, { stdout, ...(stderr ? { stderr } : {}), sessions: Math.max(0, t.sessions - before), timedOut: controller.signal.aborted });
  }

  return {
    factIds: spec.factIds,
    host: hostOf,
    transport: (inventory, timeoutMs) => transport(inventory, timeoutMs),
    run,
    replay(dir: string, inventory: Inventory, _model: LabModel): ScriptEvidence {
      const host = hostOf(inventory);
      const raw = readReplayFile(dir, `traffic-${host.name}.txt`);
      if (raw === undefined) return notRun("unchecked", `the probe's output was not recorded: ${dir} has no traffic-${host.name}.txt`);
      try {
        return { kind: "ran", host: host.name, framed: parseFramedOutput(raw, spec.what) };
      } catch (e) {
        return notRun("unchecked", `traffic-${host.name}.txt in ${dir}: ${message(e)}`);
      }
    },
    skipped: (reason: string) => notRun("skip", reason),
  };
}
