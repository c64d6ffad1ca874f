/**
 * Report formats: text (terminal), json, junit. Other formats plug in with
 * registerFormat() (html.ts adds "html": the facts table and a diagram of the
 * lab, one self-contained page). A format that needs asynchronous set-up
 * (loading the WebAssembly Graphviz) registers a `prepare` step, which
 * prepareFormat() runs before formatReport() is called.
 */
import type { FactResult, Outcome } from "./result";
import type { LabModel } from "./model";
import type { DiagramPlumbing } from "../diagram/diagram";
import { visible, visibleLines } from "./visible";

export interface Summary {
  total: number;
  pass: number;
  fail: number;
  changed: number;
  skip: number;
  /** Facts that could not be checked (a host, the Docker engine, a command or a section was missing). */
  unchecked: number;
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
  /**
   * What kept facts from being checked on this host, in words: why it could
   * not be gathered ("connection refused on port 22"), or that its Docker
   * engine is not running. Absent when nothing did.
   */
  cause?: string;
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
  /** The topology, for formats that draw it (html). Not serialised by json. */
  model?: LabModel;
  /** What the lab adds to the drawing of the model (its `plumbing`), for formats that draw it. Not serialised by json. */
  plumbing?: DiagramPlumbing;
}

export interface FormatOptions {
  color?: boolean;
}

export type Formatter = (report: VerifyReport, opts: FormatOptions) => string;

export function summarize(results: readonly FactResult[]): Summary {
  const s: Summary = { total: results.length, pass: 0, fail: 0, changed: 0, skip: 0, unchecked: 0 };
  for (const r of results) s[r.outcome]++;
  return s;
}

/** The hosts' causes, "<host>: <cause>", in inventory order: what the reports lead with. */
export function hostCauses(report: Pick<VerifyReport, "hosts">): string[] {
  return report.hosts.filter((h) => h.cause).map((h) => `${h.name}: ${h.cause}`);
}

/** "29 facts: 20 passed, 5 changed since the documented version, 0 failed, 0 could not be checked, 4 skipped" */
export function summaryLine(s: Summary): string {
  return `${s.total} facts: ${s.pass} passed, ${s.changed} changed since the documented version, ${s.fail} failed, ${s.unchecked} could not be checked, ${s.skip} skipped`;
}

// ------------------------------------------------------------------ text ----

const LABEL: Record<Outcome, string> = { pass: "PASS", fail: "FAIL", changed: "CHANGED", skip: "SKIP", unchecked: "UNCHECKED" };
const COLOR: Record<Outcome, string> = { pass: "\x1b[32m", fail: "\x1b[31m", changed: "\x1b[33m", skip: "\x1b[90m", unchecked: "\x1b[35m" };
const WHY: Record<Outcome, string> = { pass: "note: ", fail: "note: ", changed: "changed since the documented version: ", skip: "skipped: ", unchecked: "could not check: " };

function shortCitation(r: FactResult): string {
  const seeds = r.seed
    .split(", ")
    .map((s) => s.slice(0, 3))
    .join("+");
  return r.section ? `seed ${seeds} "${r.section}"` : `seed ${seeds}`;
}

export function formatText(report: VerifyReport, opts: FormatOptions = {}): string {
  // Every piece of text is made visible before colour codes (ours) are added.
  const c = (o: Outcome, s: string): string => (opts.color ? `${COLOR[o]}${s}\x1b[0m` : s);
  const lines: string[] = [];
  const push = (s: string): void => void lines.push(visible(s));
  const t = report.timings;
  const traffic = t.trafficSeconds !== undefined && t.trafficSeconds > 0 ? `; traffic checks in ${t.trafficSeconds.toFixed(1)}s` : "";
  push(`swarmlab verify: lab ${report.lab}, stack ${report.stack}; gathered ${report.hosts.length} hosts in ${t.gatherSeconds.toFixed(1)}s over ${report.sshSessions} SSH sessions${traffic}`);
  const causes = report.hosts.filter((h) => h.cause);
  if (causes.length) {
    push("Facts that need these hosts could not be checked there:");
    for (const h of causes) push(`  ${h.name}: ${h.cause} (${h.address})`);
  }
  for (const h of report.hosts) {
    if (!h.reachable && !h.cause) push(`  ${h.name} (${h.address}): not gathered: ${h.error ?? "unknown error"}`);
    for (const p of h.problems) push(`  ${h.name}: ${p}`);
  }
  lines.push("");
  const width = Math.max(...Object.values(LABEL).map((l) => l.length));
  const indent = " ".repeat(11 + width);
  for (const r of report.results) {
    lines.push(`${visible(r.id.padEnd(8))} ${c(r.outcome, LABEL[r.outcome].padEnd(width))}  ${visible(`${r.title}  [${shortCitation(r)}]`)}`);
    if (r.outcome === "fail" || r.outcome === "changed") {
      push(`${indent}expected: ${r.expected}`);
      push(`${indent}observed: ${r.observed}`);
    }
    if (r.explanation) push(`${indent}${r.outcome === "pass" || r.outcome === "fail" ? "note: " : WHY[r.outcome]}${r.explanation}`);
  }
  lines.push("");
  push(summaryLine(report.summary));
  return lines.join("\n") + "\n";
}

// ------------------------------------------------------------------ json ----

/**
 * version 2: the outcome "unchecked" (could not check, with the cause as
 * explanation), summary.unchecked, hosts[].cause and the top-level causes.
 */
export function formatJson(report: VerifyReport): string {
  const { model: _model, plumbing: _plumbing, ...rest } = report;
  return JSON.stringify({ format: "swarmlab-verify", version: 2, ...rest, causes: hostCauses(report) }, null, 2) + "\n";
}

// ----------------------------------------------------------------- junit ----

/**
 * Escape text for XML attribute or element content. Control characters are
 * shown as escapes (\e, \x07...), never passed through: XML 1.0 forbids most
 * of them; lone surrogates, which it forbids too, are dropped.
 */
export function xmlEscape(s: string): string {
  return visibleLines(s)
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
  // A fact that could not be checked is a JUnit error (the test could not run), not a failure.
  out.push(`<testsuites name="swarmlab verify" tests="${s.total}" failures="${s.fail}" errors="${s.unchecked}" skipped="${s.skip}" time="${time}">`);
  out.push(
    `  <testsuite name="${xmlEscape(`${report.lab} (stack ${report.stack})`)}" tests="${s.total}" failures="${s.fail}" errors="${s.unchecked}" skipped="${s.skip}" time="${time}" timestamp="${xmlEscape(report.generatedAt.replace(/\.\d+Z$/, ""))}">`,
  );
  const causes = hostCauses(report);
  if (causes.length) {
    out.push("    <properties>");
    for (const c of causes) out.push(`      <property name="could-not-check" value="${xmlEscape(c)}"/>`);
    out.push("    </properties>");
  }
  for (const r of report.results) {
    const group = r.id.split("-")[0]!.toLowerCase();
    out.push(`    <testcase classname="swarmlab.${xmlEscape(group)}" name="${xmlEscape(`${r.id} ${r.title}`)}" time="0">`);
    if (r.outcome === "fail") {
      out.push(`      <failure type="fact-differs" message="${xmlEscape(r.observed.slice(0, 500))}">${xmlEscape(`expected: ${r.expected}\nobserved: ${r.observed}\nseed: ${r.citation}\n${r.details.join("\n")}`)}</failure>`);
    } else if (r.outcome === "unchecked") {
      const why = r.explanation ?? "could not check";
      out.push(`      <error type="could-not-check" message="${xmlEscape(`could not check: ${why}`.slice(0, 500))}">${xmlEscape(`could not check: ${why}\nexpected: ${r.expected}\nobserved: ${r.observed}\nseed: ${r.citation}\n${r.details.join("\n")}`)}</error>`);
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
