/**
 * What a check says about one fact, whatever the lab: the report, the HTML page and the
 * diagram read these; a lab's checks produce them.
 */

export type Outcome = "pass" | "fail" | "changed" | "skip" | "unchecked";

/** The outcomes in report order. */
export const OUTCOMES: readonly Outcome[] = ["pass", "changed", "fail", "unchecked", "skip"];

export interface FactResult {
  /** The fact's ID in its lab's facts (e.g. VXLAN-1). */
  id: string;
  title: string;
  /** Seed files that document the fact. */
  seed: string;
  section?: string;
  /** "000_….txt \"Section\"" */
  citation: string;
  outcome: Outcome;
  expected: string;
  observed: string;
  /** For "changed": the documented newer-engine difference; for "skip": why; for "unchecked": the cause(s). */
  explanation?: string;
  /** Per-host findings, one line each. */
  details: string[];
}

/** The reason verify reports when it does not run the lab's traffic probe (--no-traffic). */
export const TRAFFIC_DISABLED = "traffic checks disabled (--no-traffic)";
