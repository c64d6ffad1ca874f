/**
 * What the labs' checks share: the seed files they cite, a fact's result, and the verdict
 * accumulator (any fail -> fail, else anything not observable -> unchecked, else any documented
 * change -> changed, else pass). Pure.
 */
import type { LabFact } from "./lab";
import type { FactResult, Outcome } from "../scripts/lib/verify/result";

/** The seed files of ../shared/seeds, by their number. */
export const SEEDS = {
  "000": "000_d9014c85a6bbb97f.txt",
  "002": "002_d833767e755968c0.txt",
  "003": "003_0e0fcb137b8105a5.txt",
  "004": "004_83d7ccb3d7026bad.txt",
} as const;

export type SeedId = keyof typeof SEEDS;

/** `003_….txt "Section"`: where the seeds show a fact. */
export function citationOf(f: LabFact): string {
  const seeds = f.seeds.map((s) => SEEDS[s as SeedId] ?? s).join(", ");
  return f.section ? `${seeds} "${f.section}"` : seeds;
}

export function factResult(f: LabFact, outcome: Outcome, expected: string, observed: string, details: string[], explanation?: string): FactResult {
  const r: FactResult = {
    id: f.id,
    title: f.title,
    seed: f.seeds.map((s) => SEEDS[s as SeedId] ?? s).join(", "),
    citation: citationOf(f),
    outcome,
    expected,
    observed,
    details,
  };
  if (f.section) r.section = f.section;
  if (explanation) r.explanation = explanation;
  return r;
}

/** Findings on one fact; the outcome follows from them. */
export class Verdict {
  readonly fails: string[] = [];
  readonly changes: string[] = [];
  readonly unknowns: string[] = [];
  readonly seen: string[] = [];
  /** Context that is neither a finding nor a failure (shown in the details as "note: …"). */
  readonly notes: string[] = [];
  fail(msg: string): void {
    this.fails.push(msg);
  }
  /** Something the fact needs could not be observed: say why (host, command, cause). */
  unknown(msg: string): void {
    if (!this.unknowns.includes(msg)) this.unknowns.push(msg);
  }
  /** Observed as the seeds' newer-engine note says, not as they document. */
  change(msg: string): void {
    this.changes.push(msg);
  }
  observe(msg: string): void {
    this.seen.push(msg);
  }
  note(msg: string): void {
    this.notes.push(msg);
  }
  get outcome(): Outcome {
    return this.fails.length ? "fail" : this.unknowns.length ? "unchecked" : this.changes.length ? "changed" : "pass";
  }
  /** The fact's result: observed is what failed (or could not be seen), else what was seen. */
  result(f: LabFact, expected: string): FactResult {
    const o = this.outcome;
    const observed = o === "fail" ? this.fails.join("; ") : o === "unchecked" ? "not checked" : [...this.changes, ...this.seen].join("; ") || "as documented";
    const explanation = o === "unchecked" ? this.unknowns.join("; ") : o === "changed" ? f.newerEngines : undefined;
    return factResult(f, o, expected, observed, [...this.fails, ...this.changes, ...this.seen, ...this.notes.map((n) => `note: ${n}`), ...this.unknowns.map((u) => `not observed: ${u}`)], explanation);
  }
}

/** The lab's facts as results, in facts order, for those in `only` (none: all). */
export function runFactChecks(facts: readonly LabFact[], checks: Record<string, (f: LabFact) => FactResult>, only?: readonly string[]): FactResult[] {
  const wanted = only && only.length ? new Set(only) : undefined;
  return facts.filter((f) => !wanted || wanted.has(f.id)).map((f) => {
    const c = checks[f.id];
    return c ? c(f) : factResult(f, "unchecked", f.documented, "not checked", [], `no check for ${f.id}`);
  });
}
