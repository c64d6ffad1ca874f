/**
 * The checks of the traffic facts PATH-1..PATH-4: they judge the traffic probe's observations
 * (traffic.ts) like every other check judges the gathered model, and give each fact its
 * verdict with the expected and observed text.
 *
 * Counter noise: a ping of N packets moves the transmit counter of the
 * interface it leaves by at least N. The other interface is allowed to move by
 * fewer than N packets (an unrelated ARP/ND refresh, an IPv6 router
 * solicitation): requiring exactly 0 would fail on a lab that is right, while
 * fewer than N can never be confused with the N echo requests themselves.
 * The tolerated noise is reported in the observed text.
 */
import { TRAFFIC_FACT_IDS } from "./facts";
import {
  clip,
  type ParsedSteps,
  parseSteps,
  type PathId,
  type PingSummary,
  resolvePlan,
  type Section,
  type TrafficEvidence,
  type TrafficObservations,
  type TrafficPlan,
  type TrafficRun,
} from "./traffic";
import { describePacket, VXLAN_PORT, type DecodedPacket } from "./vxlan";

type Resolved = ReturnType<typeof resolvePlan>;

/** unchecked: the fact could not be checked (no task, no ping in the image, no tcpdump, no session...): the observed text says why. */
export type PathOutcome = "pass" | "fail" | "unchecked";

export interface PathResult {
  id: PathId;
  outcome: PathOutcome;
  /** What should be seen, in words. */
  expected: string;
  /** What was seen, in words. */
  observed: string;
  explanation?: string;
  /** Supporting lines (decoded packets, counter values), for a detailed report. */
  details?: string[];
}


interface Delta {
  eth0: number;
  eth1: number;
  eth0rx: number;
  eth1rx: number;
}

function sectionOk(run: TrafficRun, key: string): Section | undefined {
  const s = run.sections[key];
  return s && s.rc === 0 ? s : undefined;
}

function why(run: TrafficRun, key: string): string {
  const s = run.sections[key];
  if (!s) return run.complete ? `step ${key} did not run` : `step ${key} is missing (the script's output was cut off)`;
  const err = clip((s.stderr.trim() || s.stdout.trim()).split("\n").slice(-2).join(" / "));
  return `step ${key} failed (rc=${s.rc}${err ? `: ${err}` : ""})`;
}

function counterDelta(run: TrafficRun, parsed: ParsedSteps, prefix: string): Delta | string {
  const cb = parsed.counters[`${prefix}.before`];
  const ca = parsed.counters[`${prefix}.after`];
  if (!cb) return why(run, `${prefix}.before`);
  if (!ca) return why(run, `${prefix}.after`);
  for (const dev of ["eth0", "eth1"]) {
    if (!cb[dev] || !ca[dev]) return `the task's namespace has no ${dev} in /proc/net/dev (interfaces: ${Object.keys(ca).join(", ") || "none"})`;
  }
  return {
    eth0: ca["eth0"]!.txPackets - cb["eth0"]!.txPackets,
    eth1: ca["eth1"]!.txPackets - cb["eth1"]!.txPackets,
    eth0rx: ca["eth0"]!.rxPackets - cb["eth0"]!.rxPackets,
    eth1rx: ca["eth1"]!.rxPackets - cb["eth1"]!.rxPackets,
  };
}

/** Prerequisites shared by PATH-1..3: a task container with a sandbox. Returns why the facts cannot be checked, or undefined. */
function taskMissing(run: TrafficRun, plan: Resolved): string | undefined {
  if (!sectionOk(run, "container") || !run.sections["container"]!.stdout.trim()) {
    return `no running task of ${plan.service} could be found on this host (${why(run, "container")}); see WL-2`;
  }
  if (!sectionOk(run, "sandbox") || !run.sections["sandbox"]!.stdout.trim()) return `the task's SandboxKey could not be read (${why(run, "sandbox")})`;
  return undefined;
}

function pingResult(run: TrafficRun, parsed: ParsedSteps, key: string): { ping?: PingSummary; problem?: string; skip?: string } {
  const s = run.sections[key];
  if (!s) return { problem: why(run, key) };
  const ping = parsed.pings[key];
  if (ping) return { ping };
  const text = `${s.stdout}\n${s.stderr}`;
  if (s.rc === 126 || s.rc === 127 || /executable file not found|ping: not found|no such file or directory/i.test(text)) {
    return { skip: `the task image has no ping (${clip(text.trim().split("\n").pop() ?? "")})` };
  }
  if (s.rc === 124) return { problem: `ping did not finish in time (killed by timeout)` };
  return { problem: `no ping summary in the output (rc=${s.rc}: ${clip(text.trim().split("\n").slice(-2).join(" / ")) || "no output"})` };
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

function describeDelta(d: Delta): string {
  return `eth0 tx +${d.eth0} (rx +${d.eth0rx}), eth1 tx +${d.eth1} (rx +${d.eth1rx})`;
}

/** "what was seen. Problem one; problem two." */
function withProblems(observed: string, problems: string[]): string {
  if (problems.length === 0) return observed;
  const text = problems.join("; ");
  return `${observed}. ${text.charAt(0).toUpperCase()}${text.slice(1)}`;
}

function result(id: PathId, outcome: PathOutcome, expected: string, observed: string, extra: { explanation?: string; details?: string[] } = {}): PathResult {
  const r: PathResult = { id, outcome, expected, observed };
  if (extra.explanation) r.explanation = extra.explanation;
  if (extra.details && extra.details.length) r.details = extra.details;
  return r;
}

/** Judge the route of one ping: `via` must move by >= sent, the other by < sent. */
function judgeRoute(d: Delta, sent: number, via: "eth0" | "eth1"): { ok: boolean; text: string } {
  const other = via === "eth0" ? "eth1" : "eth0";
  const moved = d[via] >= sent;
  const quiet = d[other] < sent;
  let text = describeDelta(d);
  if (moved && quiet && d[other] > 0) text += ` (${plural(d[other], "packet")} on ${other}: unrelated noise, fewer than the ${sent} echo requests)`;
  return { ok: moved && quiet, text };
}

export function judgePath1(run: TrafficRun, plan: TrafficPlan, parsed: ParsedSteps = parseSteps(run, plan)): PathResult {
  const p = resolvePlan(plan);
  const expected = `ping ${p.overlayGateway} from the task: its ${p.pingCount} echo requests leave through eth0 (eth0 tx +>=${p.pingCount}, eth1 tx +<${p.pingCount}); the task's neighbour entry for ${p.overlayGateway} is on eth0 with br0's MAC in the ${p.overlay} namespace`;
  const missing = taskMissing(run, p);
  if (missing) return result("PATH-1", "unchecked", expected, missing);
  const pr = pingResult(run, parsed, "p1.ping");
  if (pr.skip) return result("PATH-1", "unchecked", expected, pr.skip);
  const d = counterDelta(run, parsed, "p1");
  if (typeof d === "string") return result("PATH-1", "fail", expected, d);
  const sent = pr.ping?.transmitted ?? p.pingCount;
  const route = judgeRoute(d, sent, "eth0");
  const problems: string[] = [];
  const seen: string[] = [];
  seen.push(pr.ping ? `${pr.ping.received}/${pr.ping.transmitted} replies` : (pr.problem ?? "no ping result"));
  seen.push(route.text);
  if (!route.ok) problems.push(`the echo requests did not leave through eth0`);
  const brMac = parsed.br0Mac;
  const ovlNs = clip(run.sections["overlay-ns"]?.stdout.trim() ?? "", 120) || `1-<${p.overlay} id>`;
  const neigh = parsed.gatewayNeighbour;
  if (!brMac) problems.push(`br0's MAC could not be read in ${ovlNs} (${why(run, "br0")})`);
  if (!neigh || !neigh.lladdr) {
    problems.push(`no resolved neighbour entry for ${p.overlayGateway}`);
    seen.push(neigh ? `neighbour ${p.overlayGateway} ${neigh.state ?? "unresolved"}` : `no neighbour entry for ${p.overlayGateway}`);
  } else {
    const same = brMac !== undefined && neigh.lladdr === brMac;
    seen.push(`neighbour ${p.overlayGateway} dev ${neigh.dev ?? "?"} lladdr ${neigh.lladdr}${neigh.state ? ` ${neigh.state}` : ""}${same ? ` (= br0 of ${ovlNs.split("/").pop()})` : ""}`);
    if (neigh.dev !== "eth0") problems.push(`the neighbour entry is on ${neigh.dev ?? "an unknown device"}, not eth0`);
    if (brMac && !same) problems.push(`lladdr ${neigh.lladdr} is not br0's MAC ${brMac} (${ovlNs.split("/").pop()})`);
  }
  const observed = seen.join("; ");
  if (problems.length) return result("PATH-1", "fail", expected, withProblems(observed, problems));
  return result("PATH-1", "pass", expected, observed);
}

export function judgePath2(run: TrafficRun, plan: TrafficPlan, parsed: ParsedSteps = parseSteps(run, plan)): PathResult {
  const p = resolvePlan(plan);
  const expected = `ping ${p.pathTarget} (inside the lab network ${p.labCidr}, outside the docker networks) from the task: its ${p.pingCount} echo requests leave through eth1 (eth1 tx +>=${p.pingCount}, eth0 tx +<${p.pingCount})`;
  const explanation = "the seed pings 8.8.8.8; the lab never sends traffic outside itself, so the target is an address of the lab network (inventory pathTarget)";
  const missing = taskMissing(run, p);
  if (missing) return result("PATH-2", "unchecked", expected, missing, { explanation });
  const pr = pingResult(run, parsed, "p2.ping");
  if (pr.skip) return result("PATH-2", "unchecked", expected, pr.skip, { explanation });
  const d = counterDelta(run, parsed, "p2");
  if (typeof d === "string") return result("PATH-2", "fail", expected, d, { explanation });
  const sent = pr.ping?.transmitted ?? p.pingCount;
  const route = judgeRoute(d, sent, "eth1");
  const replies = pr.ping ? `${pr.ping.received}/${pr.ping.transmitted} replies` : (pr.problem ?? "no ping result");
  const observed = `${replies}; ${route.text}`;
  if (!route.ok) return result("PATH-2", "fail", expected, `${observed}. The echo requests did not leave through eth1`, { explanation });
  return result("PATH-2", "pass", expected, observed, { explanation });
}

export function judgePath3(run: TrafficRun, plan: TrafficPlan, parsed: ParsedSteps = parseSteps(run, plan)): PathResult {
  const p = resolvePlan(plan);
  const target = p.peerTaskAddress ?? "<the other host's task>";
  const expected = `ping ${target} (the task on the other host) over ${p.overlay}: replies to at least ${Math.max(1, p.pingCount - 1)} of ${p.pingCount}, sent through eth0`;
  if (!p.peerTaskAddress) return result("PATH-3", "unchecked", expected, "the other host's task address on the overlay is not known (no task there? see WL-2)");
  const missing = taskMissing(run, p);
  if (missing) return result("PATH-3", "unchecked", expected, missing);
  const pr = pingResult(run, parsed, "p3.ping");
  if (pr.skip) return result("PATH-3", "unchecked", expected, pr.skip);
  if (!pr.ping) return result("PATH-3", "fail", expected, pr.problem ?? "no ping result");
  const d = counterDelta(run, parsed, "p3");
  const seen = [`${pr.ping.received}/${pr.ping.transmitted} replies`];
  const problems: string[] = [];
  const need = Math.max(1, pr.ping.transmitted - 1);
  if (pr.ping.received < need) problems.push(pr.ping.received === 0 ? "no reply: the overlay path is cut" : `only ${pr.ping.received} replies`);
  if (typeof d === "string") seen.push(`counters: ${d}`);
  else {
    const route = judgeRoute(d, pr.ping.transmitted, "eth0");
    seen.push(route.text);
    if (!route.ok) problems.push("the echo requests did not leave through eth0");
  }
  const observed = seen.join("; ");
  if (problems.length) return result("PATH-3", "fail", expected, withProblems(observed, problems));
  return result("PATH-3", "pass", expected, observed);
}

export interface VxlanEvidence {
  /** UDP packets to the VXLAN port between the two hosts (either direction). */
  between: DecodedPacket[];
  /** Of those, echo requests local task -> peer task, and replies back. */
  requests: DecodedPacket[];
  replies: DecodedPacket[];
  /** VNIs seen on packets between the hosts, with counts. */
  vnis: Map<number, number>;
  /** Packets between the hosts whose VXLAN header has no I flag. */
  noIFlag: DecodedPacket[];
}

/** Sort the decoded packets of a capture into what PATH-4 looks at. */
export function collectVxlanEvidence(
  packets: readonly DecodedPacket[],
  o: { localAddress: string; peerAddress: string; peerTaskAddress: string; taskAddress?: string; vxlanPort?: number },
): VxlanEvidence {
  const port = o.vxlanPort ?? VXLAN_PORT;
  const ev: VxlanEvidence = { between: [], requests: [], replies: [], vnis: new Map(), noIFlag: [] };
  for (const pkt of packets) {
    if (!pkt.outer || !pkt.udp || pkt.udp.dstPort !== port) continue;
    const out = pkt.outer.src === o.localAddress && pkt.outer.dst === o.peerAddress;
    const back = pkt.outer.src === o.peerAddress && pkt.outer.dst === o.localAddress;
    if (!out && !back) continue;
    ev.between.push(pkt);
    if (!pkt.vxlan) continue;
    ev.vnis.set(pkt.vxlan.vni, (ev.vnis.get(pkt.vxlan.vni) ?? 0) + 1);
    if (!pkt.vxlan.iFlag) ev.noIFlag.push(pkt);
    const inner = pkt.vxlan.inner;
    if (!inner?.ipv4 || !inner.icmp) continue;
    const fromTask = o.taskAddress === undefined || inner.ipv4.src === o.taskAddress;
    const toTask = o.taskAddress === undefined || inner.ipv4.dst === o.taskAddress;
    if (out && inner.icmp.kind === "echo-request" && inner.ipv4.dst === o.peerTaskAddress && fromTask) ev.requests.push(pkt);
    if (back && inner.icmp.kind === "echo-reply" && inner.ipv4.src === o.peerTaskAddress && toTask) ev.replies.push(pkt);
  }
  return ev;
}

export function judgePath4(run: TrafficRun, plan: TrafficPlan, parsed: ParsedSteps = parseSteps(run, plan)): PathResult {
  const p = resolvePlan(plan);
  const expected = `during PATH-3, UDP to port ${p.vxlanPort} between ${p.localAddress} and ${p.peerAddress} on the underlay NIC, VXLAN header with the I flag and VNI ${p.vni}, carrying the tasks' ICMP echo request and reply`;
  if (!p.peerTaskAddress) return result("PATH-4", "unchecked", expected, "PATH-3 did not run: the other host's task address is not known");
  const missing = taskMissing(run, p);
  if (missing) return result("PATH-4", "unchecked", expected, missing);
  const start = run.sections["cap.start"];
  if (!start) return result("PATH-4", "fail", expected, why(run, "cap.start"));
  if (start.rc === 127 || /tcpdump is not installed/.test(start.stderr)) {
    return result("PATH-4", "unchecked", expected, "tcpdump is not installed on the host; install it in the guest image to check PATH-4");
  }
  if (start.rc !== 0) return result("PATH-4", "fail", expected, `the capture did not start: ${clip((start.stderr.trim() || start.stdout.trim() || `rc=${start.rc}`).split("\n").slice(-2).join(" / "))}`);
  const nic = clip(run.sections["nic"]?.stdout.trim() ?? "", 40) || "?";
  const data = run.sections["cap.pcap"];
  const configured = clip(run.sections["vxlanid"]?.stdout.trim() ?? "", 80);
  const cfgText = configured ? `; docker network inspect ${p.overlay} gives vxlanid_list ${configured}` : "";
  if (!data || data.rc !== 0 || !data.stdout.trim()) {
    return result("PATH-4", "fail", expected, `no UDP/${p.vxlanPort} packets were captured on ${nic} (${data ? "empty capture" : why(run, "cap.pcap")})${cfgText}`);
  }
  const cap = parsed.capture ?? { error: "no capture" };
  if ("error" in cap) return result("PATH-4", "fail", expected, `the capture from ${nic} could not be decoded: ${cap.error}`);
  const packets: DecodedPacket[] = cap.packets;
  const tail = cap.truncatedTail ? ` (last record cut off: ${cap.truncatedTail})` : "";
  const taskAddress = parsed.taskAddress;
  const ev = collectVxlanEvidence(packets, { localAddress: p.localAddress, peerAddress: p.peerAddress, peerTaskAddress: p.peerTaskAddress, taskAddress, vxlanPort: p.vxlanPort });
  const details = packets.map(describePacket);
  const vniList = [...ev.vnis].map(([v, n]) => `VNI ${v} x${n}`).join(", ");
  const vniText = vniList ? ` (${vniList})` : "";
  const flow = `${taskAddress ?? "task"} -> ${p.peerTaskAddress}`;
  const seen = `${plural(packets.length, "packet")} captured on ${nic}${tail}, ${ev.between.length} UDP/${p.vxlanPort} between ${p.localAddress} and ${p.peerAddress}${vniText}; inner ${flow}: ${plural(ev.requests.length, "echo request")}, ${plural(ev.replies.length, "echo reply", "echo replies")}${cfgText}`;
  const problems: string[] = [];
  if (ev.between.length === 0) problems.push(`no VXLAN packets between the hosts: the overlay traffic did not cross the underlay`);
  const flowPkts = [...ev.requests, ...ev.replies];
  if (ev.between.length > 0 && flowPkts.length === 0) problems.push(`none of them carried the tasks' ICMP`);
  const wrong = flowPkts.filter((x) => x.vxlan!.vni !== p.vni);
  if (wrong.length) problems.push(`the tasks' ICMP travelled with VNI ${[...new Set(wrong.map((x) => x.vxlan!.vni))].join(", ")}, not ${p.vni}`);
  const noI = flowPkts.filter((x) => !x.vxlan!.iFlag);
  if (noI.length) problems.push(`${plural(noI.length, "packet")} without the I flag (flags ${noI.map((x) => `0x${x.vxlan!.flags.toString(16)}`).join(", ")})`);
  if (ev.between.length > 0 && ev.requests.length === 0 && flowPkts.length > 0) problems.push("no echo request towards the other task");
  if (ev.requests.length > 0 && ev.replies.length === 0) problems.push("no echo reply came back encapsulated: the path is cut on the way back");
  if (problems.length) return result("PATH-4", "fail", expected, withProblems(seen, problems), { details });
  return result("PATH-4", "pass", expected, seen, { details });
}

/** Judge all four facts from one run of the script (its steps, and what they say, parsed by the probe). */
export function judgeTraffic(run: TrafficRun, plan: TrafficPlan, parsed: ParsedSteps = parseSteps(run, plan)): Record<PathId, PathResult> {
  return {
    "PATH-1": judgePath1(run, plan, parsed),
    "PATH-2": judgePath2(run, plan, parsed),
    "PATH-3": judgePath3(run, plan, parsed),
    "PATH-4": judgePath4(run, plan, parsed),
  };
}

/**
 * The verdicts in the shape reports and traffic.json hold. Reports give the cause of a fact
 * that could not be checked from its explanation, so that observed text (the cause) leads it;
 * details are kept.
 */
export function toTrafficEvidence(results: Record<PathId, PathResult>): TrafficEvidence {
  const ev: TrafficEvidence = {};
  for (const id of TRAFFIC_FACT_IDS) {
    const r = results[id];
    const explanation = r.outcome === "unchecked" ? (r.explanation ? `${r.observed} (${r.explanation})` : r.observed) : r.explanation;
    ev[id] = {
      outcome: r.outcome,
      expected: r.expected,
      observed: r.observed,
      ...(explanation ? { explanation } : {}),
      ...(details(r)),
    };
  }
  return ev;
}

function details(r: PathResult): { details?: string[] } {
  return r.details && r.details.length ? { details: [...r.details] } : {};
}

/**
 * Judge the probe's observations: each step as judgePath1..4 does, then what went wrong
 * around the script (it failed as a whole, its session was cut, the other host could not be
 * asked) said where it explains the facts. Facts not probed keep the reason they were not.
 */
export function judgeObservations(ev: TrafficObservations): TrafficEvidence {
  if (ev.kind === "not-run") {
    const out: TrafficEvidence = {};
    for (const id of TRAFFIC_FACT_IDS) if (ev.facts[id]) out[id] = { ...ev.facts[id]! };
    return out;
  }
  const results = judgeTraffic(ev.run, ev.plan, ev.parsed);
  if (ev.failed) for (const id of TRAFFIC_FACT_IDS) results[id] = { ...results[id], outcome: "unchecked", observed: ev.failed };
  if (ev.cut) {
    for (const id of TRAFFIC_FACT_IDS) {
      const r = results[id];
      if (r.outcome !== "pass") r.observed = `${r.observed} (the traffic session was cut short: ${ev.cut})`;
    }
  }
  // PATH-3/4 target the other host's task: when that host could not be asked, their cause is that host's.
  if (!ev.plan.peerTaskAddress && ev.peerCause) {
    for (const id of ["PATH-3", "PATH-4"] as const) {
      const r = results[id];
      if (r.outcome === "unchecked") r.observed = `the other host's task address is not known: ${ev.peerCause}`;
    }
  }
  return toTrafficEvidence(results);
}
