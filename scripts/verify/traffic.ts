/**
 * The plug for traffic checks (PATH-1..4). scripts/plumbing/traffic.ts runs
 * the pings and captures (runVerify starts it through traffic-run.ts, one SSH
 * session on the manager); its findings reach the checks as a TrafficEvidence
 * (in `Gathered.traffic`, or `traffic.json` next to saved raw output).
 * Without evidence, the PATH facts could not be checked (and say why).
 */

export type TrafficFactId = "PATH-1" | "PATH-2" | "PATH-3" | "PATH-4";

export interface TrafficResult {
  /** skip: deliberately not run (--no-traffic); unchecked: could not be checked (the explanation says why). */
  outcome: "pass" | "fail" | "changed" | "skip" | "unchecked";
  /** What should have been seen, in words (e.g. "ICMP 192.168.200.3 -> .4 over demonet"). */
  expected: string;
  /** What was seen (e.g. "4/4 replies; ARP reply from 1a:30:c5:15:42:54 on eth0"). */
  observed: string;
  /** For a skip or unchecked: why. Otherwise a note on how the check differs from the seed, if it does. */
  explanation?: string;
  /** Supporting lines (decoded packets, counters), shown by the detailed formats. */
  details?: string[];
}

export type TrafficEvidence = Partial<Record<TrafficFactId, TrafficResult>>;

/** The reason verify reports when it does not run the traffic probe (--no-traffic). */
export const TRAFFIC_DISABLED = "traffic checks disabled (--no-traffic)";
