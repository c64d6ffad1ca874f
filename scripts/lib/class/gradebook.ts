/**
 * The class's gradebook: one table of learners × facts from each learner's verify report
 * (the JSON of `npm run verify -- --format json`, format swarmlab-verify version 2), written
 * as CSV (one row per learner), self-contained HTML (linking each learner's own report) and
 * JUnit (one test suite per learner). Pure functions: reading the reports and writing the files
 * is the CLI's part.
 */
import { xmlEscape } from "../verify/report";

/** What a fact's cell says, in the words of verify's report. */
export type Grade = "pass" | "fail" | "changed" | "unchecked" | "skip";

export const GRADE_LABEL: Record<Grade | "missing", string> = {
  pass: "pass",
  fail: "FAIL",
  changed: "changed",
  unchecked: "could not check",
  skip: "skipped",
  missing: "no report",
};

export interface FactColumn {
  id: string;
  title: string;
}

export interface GradedFact {
  id: string;
  outcome: Grade;
  /** What a trainer reads in the cell's tooltip / the JUnit message: observed, or the cause. */
  note: string;
}

/** One learner's row: their facts, or why there is no report. */
export interface LearnerRow {
  learner: string;
  lab?: string;
  /** Set when verify could not produce a report for this learner's lab. */
  error?: string;
  facts: GradedFact[];
  /** Paths of the learner's own reports, relative to the gradebook (linked from the HTML). */
  links: { label: string; href: string }[];
}

export class ReportFormatError extends Error {
  override readonly name = "ReportFormatError";
}

const GRADES: readonly Grade[] = ["pass", "fail", "changed", "unchecked", "skip"];

/** A learner's row from the text of their verify JSON report; a report of another kind is an error naming what it is. */
export function rowFromReport(learner: string, jsonText: string, links: LearnerRow["links"] = []): { row: LearnerRow; columns: FactColumn[] } {
  let doc: unknown;
  try {
    doc = JSON.parse(jsonText);
  } catch (e) {
    throw new ReportFormatError(`${learner}: the report is not JSON (${(e as Error).message})`);
  }
  const d = doc as { format?: unknown; version?: unknown; lab?: unknown; results?: unknown };
  if (d === null || typeof d !== "object" || d.format !== "swarmlab-verify") {
    throw new ReportFormatError(`${learner}: not a swarmlab verify report (format ${JSON.stringify(d?.format)}, want "swarmlab-verify")`);
  }
  if (d.version !== 2) throw new ReportFormatError(`${learner}: verify report version ${JSON.stringify(d.version)}; this gradebook reads version 2`);
  if (!Array.isArray(d.results)) throw new ReportFormatError(`${learner}: the report has no results list`);
  const facts: GradedFact[] = [];
  const columns: FactColumn[] = [];
  for (const [i, r] of (d.results as Record<string, unknown>[]).entries()) {
    const id = r?.["id"];
    const outcome = r?.["outcome"];
    if (typeof id !== "string" || !GRADES.includes(outcome as Grade)) {
      throw new ReportFormatError(`${learner}: result ${i} has id ${JSON.stringify(id)} and outcome ${JSON.stringify(outcome)} (outcomes: ${GRADES.join(", ")})`);
    }
    const g = outcome as Grade;
    const explanation = typeof r["explanation"] === "string" ? (r["explanation"] as string) : "";
    const observed = typeof r["observed"] === "string" ? (r["observed"] as string) : "";
    const note = g === "unchecked" || g === "skip" ? explanation : g === "changed" ? `${observed} (changed: ${explanation})` : observed;
    facts.push({ id, outcome: g, note });
    columns.push({ id, title: typeof r["title"] === "string" ? (r["title"] as string) : id });
  }
  return { row: { learner, lab: typeof d.lab === "string" ? d.lab : undefined, facts, links }, columns };
}

/** A learner whose lab could not be verified at all (no report): the row says why. */
export function rowWithoutReport(learner: string, error: string, links: LearnerRow["links"] = []): LearnerRow {
  return { learner, error, facts: [], links };
}

export interface Gradebook {
  title: string;
  generatedAt: string;
  /** Every fact any learner's report has, in the order of first appearance. */
  columns: FactColumn[];
  rows: LearnerRow[];
}

/** The gradebook: columns are the union of the reports' facts (first report's order first), rows sorted by learner. */
export function buildGradebook(title: string, generatedAt: string, graded: { row: LearnerRow; columns?: FactColumn[] }[]): Gradebook {
  const columns: FactColumn[] = [];
  for (const g of graded) for (const c of g.columns ?? []) if (!columns.some((x) => x.id === c.id)) columns.push(c);
  const rows = graded.map((g) => g.row).sort((a, b) => a.learner.localeCompare(b.learner, "en", { numeric: true }));
  return { title, generatedAt, columns, rows };
}

export interface LearnerTotals {
  pass: number;
  fail: number;
  changed: number;
  unchecked: number;
  skip: number;
  missing: number;
}

/** A learner's counts over the gradebook's columns (a fact absent from their report counts as missing). */
export function totalsOf(book: Gradebook, row: LearnerRow): LearnerTotals {
  const t: LearnerTotals = { pass: 0, fail: 0, changed: 0, unchecked: 0, skip: 0, missing: 0 };
  for (const c of book.columns) {
    const f = row.facts.find((x) => x.id === c.id);
    if (f) t[f.outcome]++;
    else t.missing++;
  }
  return t;
}

/** A learner's lab is right when every fact passed or changed as documented (nothing failed, unchecked or missing). */
export function isGreen(book: Gradebook, row: LearnerRow): boolean {
  if (row.error) return false;
  const t = totalsOf(book, row);
  return t.fail === 0 && t.unchecked === 0 && t.missing === 0;
}

// ------------------------------------------------------------------ csv ----

function csvCell(s: string): string {
  // Formula injection: a cell starting with = + - @ is read as a formula by spreadsheets.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** One row per learner: learner, lab, the totals, then one column per fact (pass/FAIL/changed/could not check/skipped/no report). */
export function formatCsv(book: Gradebook): string {
  const head = ["learner", "lab", "result", "pass", "fail", "changed", "could not check", "skipped", "error", ...book.columns.map((c) => c.id)];
  const lines = [head.map(csvCell).join(",")];
  for (const row of book.rows) {
    const t = totalsOf(book, row);
    const cells = [
      row.learner,
      row.lab ?? "",
      isGreen(book, row) ? "ok" : "not ok",
      String(t.pass),
      String(t.fail),
      String(t.changed),
      String(t.unchecked),
      String(t.skip),
      row.error ?? "",
      ...book.columns.map((c) => GRADE_LABEL[row.facts.find((f) => f.id === c.id)?.outcome ?? "missing"]),
    ];
    lines.push(cells.map(csvCell).join(","));
  }
  return lines.join("\r\n") + "\r\n";
}

// ----------------------------------------------------------------- html ----

const CELL_CLASS: Record<Grade | "missing", string> = { pass: "p", fail: "f", changed: "c", unchecked: "u", skip: "s", missing: "m" };

/** One self-contained page: the learners × facts table, each cell's note as its tooltip, each learner's reports linked. */
export function formatHtml(book: Gradebook): string {
  const e = xmlEscape;
  const out: string[] = [];
  out.push("<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', `<title>${e(book.title)}</title>`);
  out.push(
    "<style>body{font:14px system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.25em .5em;text-align:center}" +
      "th.l,td.l{text-align:left}th.v{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap}" +
      ".p{background:#d9f2d9}.f{background:#f6c6c6;font-weight:bold}.c{background:#fff2c6}.u{background:#ddd}.s{color:#777}.m{background:#eee;color:#777}</style>",
  );
  out.push("</head><body>", `<h1>${e(book.title)}</h1>`, `<p>Generated ${e(book.generatedAt)}. ${book.rows.filter((r) => isGreen(book, r)).length} of ${book.rows.length} labs without a failed or unchecked fact.</p>`);
  out.push("<table><thead><tr>", '<th class="l">learner</th><th>pass</th><th>fail</th><th>changed</th><th>could not check</th>');
  for (const c of book.columns) out.push(`<th class="v" title="${e(c.title)}">${e(c.id)}</th>`);
  out.push('<th class="l">reports</th></tr></thead><tbody>');
  for (const row of book.rows) {
    const t = totalsOf(book, row);
    out.push(`<tr><td class="l">${e(row.learner)}</td><td>${t.pass}</td><td>${t.fail}</td><td>${t.changed}</td><td>${t.unchecked}</td>`);
    if (row.error) {
      out.push(`<td class="l f" colspan="${Math.max(1, book.columns.length)}">${e(row.error)}</td>`);
    } else {
      for (const c of book.columns) {
        const f = row.facts.find((x) => x.id === c.id);
        const k = f?.outcome ?? "missing";
        out.push(`<td class="${CELL_CLASS[k]}" title="${e(`${c.id}: ${f ? f.note : "not in this learner's report"}`)}">${e(GRADE_LABEL[k])}</td>`);
      }
    }
    out.push(`<td class="l">${row.links.map((l) => `<a href="${e(l.href)}">${e(l.label)}</a>`).join(" ")}</td></tr>`);
  }
  out.push("</tbody></table></body></html>");
  return out.join("\n") + "\n";
}

// ---------------------------------------------------------------- junit ----

/** One test suite per learner, one test case per fact; a learner without a report is one error. */
export function formatJunit(book: Gradebook): string {
  const e = xmlEscape;
  let tests = 0;
  let failures = 0;
  let errors = 0;
  let skipped = 0;
  const suites: string[] = [];
  for (const row of book.rows) {
    const cases: string[] = [];
    const t = totalsOf(book, row);
    if (row.error) {
      cases.push(`    <testcase classname="swarmlab.class.${e(row.learner)}" name="verify" time="0">`, `      <error type="no-report" message="${e(row.error.slice(0, 500))}">${e(row.error)}</error>`, "    </testcase>");
      tests++;
      errors++;
    } else {
      for (const c of book.columns) {
        const f = row.facts.find((x) => x.id === c.id);
        cases.push(`    <testcase classname="swarmlab.class.${e(row.learner)}" name="${e(`${c.id} ${c.title}`)}" time="0">`);
        if (!f) cases.push(`      <error type="missing" message="not in this learner's report"/>`);
        else if (f.outcome === "fail") cases.push(`      <failure type="fact-differs" message="${e(f.note.slice(0, 500))}"/>`);
        else if (f.outcome === "unchecked") cases.push(`      <error type="could-not-check" message="${e(`could not check: ${f.note}`.slice(0, 500))}"/>`);
        else if (f.outcome === "skip") cases.push(`      <skipped message="${e(f.note || "skipped")}"/>`);
        cases.push("    </testcase>");
      }
      tests += book.columns.length;
      failures += t.fail;
      errors += t.unchecked + t.missing;
      skipped += t.skip;
    }
    const n = row.error ? 1 : book.columns.length;
    const suiteErrors = row.error ? 1 : t.unchecked + t.missing;
    suites.push(`  <testsuite name="${e(`${row.learner}${row.lab ? ` (${row.lab})` : ""}`)}" tests="${n}" failures="${row.error ? 0 : t.fail}" errors="${suiteErrors}" skipped="${row.error ? 0 : t.skip}">`, ...cases, "  </testsuite>");
  }
  return ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="${e(book.title)}" tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skipped}">`, ...suites, "</testsuites>"].join("\n") + "\n";
}
