/**
 * Report formats: text (terminal), json, junit. Other formats plug in with
 * registerFormat() (html.ts adds "html": the facts table and a diagram of the
 * lab, one self-contained page). A format that needs asynchronous set-up
 * (loading the WebAssembly Graphviz) registers a `prepare` step, which
 * prepareFormat() runs before formatReport() is called.
 */
import type { FactResult, Outcome } from "./checks";
import type { LabModel } from "./model";

export interface Summary {
  total: number;
  pass: number;
  fail: number;
  changed: number;
  skip: number;
}

export interface Timings {
  gatherSeconds: number;
  modelSeconds: number;
  checkSeconds: number;
  /** Wall-clock seconds of the traffic checks (PATH-1..4): one SSH session on the manager. Absent when they did not run. */
  trafficSeconds?: number;
  totalSeconds: number;
}

export interface HostStatus {
  name: string;
  address: string;
  reachable: boolean;
  error?: string;
  /** Framing problems and section failures, one line each. */
  problems: string[];
}

export interface VerifyReport {
  lab: string;
  stack: string;
  generatedAt: string;
  results: FactResult[];
  summary: Summary;
  timings: Timings;
  sshSessions: number;
  hosts: HostStatus[];
  /** The topology, for formats that draw it (HTML later). Not serialised by json. */
  model?: LabModel;
}

export interface FormatOptions {
  color?: boolean;
}

export type Formatter = (report: VerifyReport, opts: FormatOptions) => string;

export function summarize(results: readonly FactResult[]): Summary {
  const s: Summary = { total: results.length, pass: 0, fail: 0, changed: 0, skip: 0 };
  for (const r of results) s[r.outcome]++;
  return s;
}

// ------------------------------------------------------------------ text ----

const LABEL: Record<Outcome, string> = { pass: "PASS", fail: "FAIL", changed: "CHANGED", skip: "SKIP" };
const COLOR: Record<Outcome, string> = { pass: "\x1b[32m", fail: "\x1b[31m", changed: "\x1b[33m", skip: "\x1b[90m" };

function shortCitation(r: FactResult): string {
  const seeds = r.seed
    .split(", ")
    .map((s) => s.slice(0, 3))
    .join("+");
  return r.section ? `seed ${seeds} "${r.section}"` : `seed ${seeds}`;
}

export function formatText(report: VerifyReport, opts: FormatOptions = {}): string {
  const c = (o: Outcome, s: string): string => (opts.color ? `${COLOR[o]}${s}\x1b[0m` : s);
  const lines: string[] = [];
  const t = report.timings;
  const traffic = t.trafficSeconds !== undefined ? `; traffic checks in ${t.trafficSeconds.toFixed(1)}s` : "";
  lines.push(`swarmlab verify: lab ${report.lab}, stack ${report.stack}; gathered ${report.hosts.length} hosts in ${t.gatherSeconds.toFixed(1)}s over ${report.sshSessions} SSH sessions${traffic}`);
  for (const h of report.hosts) {
    if (!h.reachable) lines.push(`  ${h.name} (${h.address}): NOT GATHERED: ${h.error ?? "unknown error"}`);
    for (const p of h.problems) lines.push(`  ${h.name}: ${p}`);
  }
  lines.push("");
  for (const r of report.results) {
    lines.push(`${r.id.padEnd(8)} ${c(r.outcome, LABEL[r.outcome].padEnd(7))}  ${r.title}  [${shortCitation(r)}]`);
    if (r.outcome === "fail" || r.outcome === "changed") {
      lines.push(`${" ".repeat(18)}expected: ${r.expected}`);
      lines.push(`${" ".repeat(18)}observed: ${r.observed}`);
    }
    if (r.explanation) lines.push(`${" ".repeat(18)}${r.outcome === "changed" ? "changed since the documented version: " : "why: "}${r.explanation}`);
  }
  const s = report.summary;
  lines.push("");
  lines.push(`${s.total} facts: ${s.pass} passed, ${s.changed} changed since the documented version, ${s.fail} failed, ${s.skip} skipped`);
  return lines.join("\n") + "\n";
}

// ------------------------------------------------------------------ json ----

export function formatJson(report: VerifyReport): string {
  const { model: _model, ...rest } = report;
  return JSON.stringify({ format: "swarmlab-verify", version: 1, ...rest }, null, 2) + "\n";
}

// ----------------------------------------------------------------- junit ----

/** Escape text for XML attribute or element content (and drop characters XML 1.0 forbids). */
export function xmlEscape(s: string): string {
  return s
    .replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

export function formatJunit(report: VerifyReport): string {
  const s = report.summary;
  const time = report.timings.totalSeconds.toFixed(3);
  const out: string[] = [];
  out.push('<?xml version="1.0" encoding="UTF-8"?>');
  out.push(`<testsuites name="swarmlab verify" tests="${s.total}" failures="${s.fail}" errors="0" skipped="${s.skip}" time="${time}">`);
  out.push(
    `  <testsuite name="${xmlEscape(`${report.lab} (stack ${report.stack})`)}" tests="${s.total}" failures="${s.fail}" errors="0" skipped="${s.skip}" time="${time}" timestamp="${xmlEscape(report.generatedAt.replace(/\.\d+Z$/, ""))}">`,
  );
  for (const r of report.results) {
    const group = r.id.split("-")[0]!.toLowerCase();
    out.push(`    <testcase classname="swarmlab.${xmlEscape(group)}" name="${xmlEscape(`${r.id} ${r.title}`)}" time="0">`);
    if (r.outcome === "fail") {
      out.push(`      <failure type="fact-differs" message="${xmlEscape(r.observed.slice(0, 500))}">${xmlEscape(`expected: ${r.expected}\nobserved: ${r.observed}\nseed: ${r.citation}\n${r.details.join("\n")}`)}</failure>`);
    } else if (r.outcome === "skip") {
      out.push(`      <skipped message="${xmlEscape(r.explanation ?? "skipped")}"/>`);
    } else if (r.outcome === "changed") {
      out.push(`      <system-out>${xmlEscape(`changed since the documented version: ${r.explanation ?? ""}\nexpected (documented): ${r.expected}\nobserved: ${r.observed}\nseed: ${r.citation}`)}</system-out>`);
    } else {
      out.push(`      <system-out>${xmlEscape(`observed: ${r.observed}\nseed: ${r.citation}`)}</system-out>`);
    }
    out.push("    </testcase>");
  }
  out.push("  </testsuite>");
  out.push("</testsuites>");
  return out.join("\n") + "\n";
}

// --------------------------------------------------------------- registry ----

const formatters = new Map<string, Formatter>([
  ["text", formatText],
  ["json", (r) => formatJson(r)],
  ["junit", (r) => formatJunit(r)],
]);

const preparers = new Map<string, () => Promise<void>>();

export interface RegisterOptions {
  /** Asynchronous set-up the formatter needs (run by prepareFormat, once or more; it should cache). */
  prepare?: () => Promise<void>;
}

/** Add a report format (e.g. "html"); the CLI's --format accepts every registered name. */
export function registerFormat(name: string, f: Formatter, opts: RegisterOptions = {}): void {
  formatters.set(name, f);
  if (opts.prepare) preparers.set(name, opts.prepare);
  else preparers.delete(name);
}

/** Run the format's asynchronous set-up, if it has one (runVerify does this before formatReport). */
export async function prepareFormat(name: string): Promise<void> {
  await preparers.get(name)?.();
}

export function formatNames(): string[] {
  return [...formatters.keys()];
}

export function formatReport(report: VerifyReport, format: string, opts: FormatOptions = {}): string {
  const f = formatters.get(format);
  if (!f) throw new Error(`unknown format "${format}" (known: ${formatNames().join(", ")})`);
  return f(report, opts);
}
