/**
 * Traffic checks PATH-1..PATH-4 (LAB-FACTS.md "Traffic"), in two pure halves:
 *
 *  - buildTrafficScript(plan): ONE bash script, run on the host of the probing
 *    task (docker0) over one SSH session as root (`sudo -n bash -s`, script on
 *    stdin). It prints every observation framed as
 *        @@plumbing:begin <key>
 *        <stdout, verbatim>
 *        @@plumbing:end <key> rc=<exit code>
 *        [@@plumbing:stderr <key> ... @@plumbing:stderr-end <key>]
 *    and ends with `@@plumbing:done`. Every step is bounded (`timeout`, ping
 *    counts, a capture limited in time and packets) and the capture is killed
 *    on exit, whatever happens.
 *  - parseTrafficOutput(stdout) + judgeTraffic(run, plan): turn that text into
 *    a pass / fail / unchecked result per fact, with expected and observed text.
 *
 * What is checked:
 *  PATH-1  `docker exec <task> ping -c N -W W <overlay gateway>`: the task's
 *          eth0 transmit counter moves by >= N, eth1's by < N, and the task's
 *          neighbour entry for the gateway is br0's MAC in the overlay namespace.
 *  PATH-2  ping `pathTarget` (an address inside the lab network, by default its
 *          gateway, never anything else): eth1 moves by >= N, eth0 by < N.
 *  PATH-3  ping the other host's task on the overlay: replies come back
 *          (at most one lost), through eth0.
 *  PATH-4  during PATH-3, `tcpdump` on the underlay NIC sees UDP to 4789 between
 *          the two host addresses whose VXLAN header, decoded from the bytes,
 *          carries the expected VNI with the I flag, around the task's ICMP.
 *
 * Counter noise: a ping of N packets moves the transmit counter of the
 * interface it leaves by at least N. The other interface is allowed to move by
 * fewer than N packets (an unrelated ARP/ND refresh, an IPv6 router
 * solicitation): requiring exactly 0 would fail on a lab that is right, while
 * fewer than N can never be confused with the N echo requests themselves.
 * The tolerated noise is reported in the observed text.
 *
 * Counters are read from /proc/net/dev inside the sandbox's network namespace
 * (`nsenter --net=<SandboxKey> cat /proc/net/dev`): /proc/net follows the
 * reader's netns, whereas /sys/class/net would show the host's devices unless
 * sysfs were remounted; /proc/net/dev also exists on CentOS 7 (no `ip -j`).
 */
import type { TrafficEvidence } from "../../scripts/verify/traffic";
import { DOCUMENTED } from "./facts";
import { shellQuote as shq } from "../../scripts/lib/shell";
import { inCidr, isIPv4, nthAddressIn, readCidr, formatIPv4 } from "../../scripts/lib/ipv4";
import { describePacket, parsePcapBase64, PcapError, VXLAN_PORT, type DecodedPacket } from "./vxlan";

export type PathId = "PATH-1" | "PATH-2" | "PATH-3" | "PATH-4";
export const PATH_IDS: readonly PathId[] = ["PATH-1", "PATH-2", "PATH-3", "PATH-4"];

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

export interface TrafficPlan {
  /** Service whose local task does the probing (e.g. "demoservice"). */
  service: string;
  /** Task container (id or name). When absent, the script picks the first running task of `service` on the host. */
  container?: string;
  /**
   * The task's network namespace (its name under netnsDir), when the gather already knows it.
   * The script then asks docker neither for the task's SandboxKey nor for the overlay's
   * namespace and vxlan ids: each docker CLI call costs 1-2 s on an emulated CPU.
   */
  sandbox?: string;
  /** The overlay's namespace (`1-<id prefix>`, name under netnsDir), when known. */
  overlayNamespace?: string;
  /** What `docker network inspect` gave as the overlay's vxlanid_list, when known. */
  vxlanIdList?: string;
  /** Overlay network name (e.g. "demonet"); its namespace is `1-<first 10 chars of its ID>`. */
  overlay: string;
  overlaySubnet: string;
  overlayGateway: string;
  /** The lab network (libvirt), e.g. 192.168.122.0/24. */
  labCidr: string;
  /** PATH-2 target: inside labCidr, outside the docker networks. Usually the lab network's gateway. */
  pathTarget: string;
  /** This host's and the other host's underlay addresses. */
  localAddress: string;
  peerAddress: string;
  /** The other host's task address on the overlay (from the gathered model). Without it PATH-3/4 cannot be checked. */
  peerTaskAddress?: string;
  /** Underlay NIC (e.g. "ens3"); when absent, the interface holding localAddress. */
  underlayNic?: string;
  /** Documented VNI of the overlay (4097). */
  vni: number;
  vxlanPort?: number;
  pingCount?: number;
  pingWaitSeconds?: number;
  captureSeconds?: number;
  captureCount?: number;
  netnsDir?: string;
}

export class TrafficPlanError extends Error {
  override readonly name = "TrafficPlanError";
}

export const MARK = "@@plumbing:";

interface Resolved extends Required<Omit<TrafficPlan, "container" | "peerTaskAddress" | "underlayNic" | "sandbox" | "overlayNamespace" | "vxlanIdList">> {
  container?: string;
  sandbox?: string;
  overlayNamespace?: string;
  vxlanIdList?: string;
  peerTaskAddress?: string;
  underlayNic?: string;
}

function intIn(name: string, v: number | undefined, def: number, min: number, max: number): number {
  const n = v ?? def;
  if (!Number.isInteger(n) || n < min || n > max) throw new TrafficPlanError(`${name} must be an integer from ${min} to ${max}, got ${n}`);
  return n;
}

/**
 * Check a plan and fill in defaults. Throws TrafficPlanError for anything
 * unsafe: above all a PATH-2 target outside the lab network.
 */
export function resolvePlan(plan: TrafficPlan): Resolved {
  const safe = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
  if (!safe.test(plan.service)) throw new TrafficPlanError(`service ${JSON.stringify(plan.service)} is not a docker service name`);
  if (!safe.test(plan.overlay)) throw new TrafficPlanError(`overlay ${JSON.stringify(plan.overlay)} is not a docker network name`);
  if (plan.container !== undefined && !safe.test(plan.container)) throw new TrafficPlanError(`container ${JSON.stringify(plan.container)} is not a container id or name`);
  for (const [name, v] of [["sandbox", plan.sandbox], ["overlayNamespace", plan.overlayNamespace]] as const) {
    if (v !== undefined && !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(v)) throw new TrafficPlanError(`${name} ${JSON.stringify(v)} is not a namespace name under the netns directory`);
  }
  if (plan.vxlanIdList !== undefined && !/^[0-9,]*$/.test(plan.vxlanIdList)) throw new TrafficPlanError(`vxlanIdList ${JSON.stringify(plan.vxlanIdList)} is not a comma-separated list of numbers`);
  if (plan.underlayNic !== undefined && !/^[A-Za-z0-9_.:-]{1,15}$/.test(plan.underlayNic)) throw new TrafficPlanError(`underlayNic ${JSON.stringify(plan.underlayNic)} is not an interface name`);
  const netnsDir = plan.netnsDir ?? DOCUMENTED.netnsDir;
  if (!/^\/[A-Za-z0-9_.\/-]+$/.test(netnsDir)) throw new TrafficPlanError(`netnsDir ${JSON.stringify(netnsDir)} is not an absolute path`);

  const lab = readCidr(plan.labCidr);
  if (!lab) throw new TrafficPlanError(`labCidr ${JSON.stringify(plan.labCidr)} is not an IPv4 CIDR`);
  if (lab.prefix < 8) throw new TrafficPlanError(`labCidr ${plan.labCidr} is implausibly large for a lab network`);
  const ovl = readCidr(plan.overlaySubnet);
  if (!ovl) throw new TrafficPlanError(`overlaySubnet ${JSON.stringify(plan.overlaySubnet)} is not an IPv4 CIDR`);
  for (const [name, addr] of [["overlayGateway", plan.overlayGateway], ["pathTarget", plan.pathTarget], ["localAddress", plan.localAddress], ["peerAddress", plan.peerAddress]] as const) {
    if (!isIPv4(addr)) throw new TrafficPlanError(`${name} ${JSON.stringify(addr)} is not an IPv4 address`);
  }
  if (!inCidr(plan.overlaySubnet, plan.overlayGateway)) throw new TrafficPlanError(`overlayGateway ${plan.overlayGateway} is not in overlaySubnet ${plan.overlaySubnet}`);
  // PATH-2 must never send traffic out of the lab: the target has to be an address of the lab network itself.
  if (!inCidr(plan.labCidr, plan.pathTarget)) {
    throw new TrafficPlanError(`pathTarget ${plan.pathTarget} is outside the lab network ${plan.labCidr}; PATH-2 only targets an address inside the lab (default: its gateway)`);
  }
  const broadcast = formatIPv4((lab.network | (~lab.mask >>> 0)) >>> 0);
  if (lab.prefix < 31 && (plan.pathTarget === nthAddressIn(plan.labCidr, 0) || plan.pathTarget === broadcast)) {
    throw new TrafficPlanError(`pathTarget ${plan.pathTarget} is the network or broadcast address of ${plan.labCidr}`);
  }
  if (inCidr(plan.overlaySubnet, plan.pathTarget)) throw new TrafficPlanError(`pathTarget ${plan.pathTarget} is inside the overlay ${plan.overlaySubnet}; PATH-2 needs an address outside the docker networks`);
  for (const [name, addr] of [["localAddress", plan.localAddress], ["peerAddress", plan.peerAddress]] as const) {
    if (!inCidr(plan.labCidr, addr)) throw new TrafficPlanError(`${name} ${addr} is outside the lab network ${plan.labCidr}`);
  }
  if (plan.localAddress === plan.peerAddress) throw new TrafficPlanError("localAddress and peerAddress are the same host");
  if (plan.peerTaskAddress !== undefined) {
    if (!isIPv4(plan.peerTaskAddress)) throw new TrafficPlanError(`peerTaskAddress ${JSON.stringify(plan.peerTaskAddress)} is not an IPv4 address`);
    if (!inCidr(plan.overlaySubnet, plan.peerTaskAddress)) throw new TrafficPlanError(`peerTaskAddress ${plan.peerTaskAddress} is not in the overlay ${plan.overlaySubnet}`);
  }
  if (!Number.isInteger(plan.vni) || plan.vni < 0 || plan.vni > 0xffffff) throw new TrafficPlanError(`vni ${plan.vni} is not a 24-bit number`);
  const r: Resolved = {
    service: plan.service,
    overlay: plan.overlay,
    overlaySubnet: plan.overlaySubnet,
    overlayGateway: plan.overlayGateway,
    labCidr: plan.labCidr,
    pathTarget: plan.pathTarget,
    localAddress: plan.localAddress,
    peerAddress: plan.peerAddress,
    vni: plan.vni,
    vxlanPort: intIn("vxlanPort", plan.vxlanPort, VXLAN_PORT, 1, 65535),
    pingCount: intIn("pingCount", plan.pingCount, 3, 1, 10),
    pingWaitSeconds: intIn("pingWaitSeconds", plan.pingWaitSeconds, 2, 1, 10),
    captureSeconds: intIn("captureSeconds", plan.captureSeconds, 15, 3, 60),
    captureCount: intIn("captureCount", plan.captureCount, 20, 1, 200),
    netnsDir,
  };
  if (plan.container !== undefined) r.container = plan.container;
  if (plan.sandbox !== undefined) r.sandbox = plan.sandbox;
  if (plan.overlayNamespace !== undefined) r.overlayNamespace = plan.overlayNamespace;
  if (plan.vxlanIdList !== undefined) r.vxlanIdList = plan.vxlanIdList;
  if (plan.peerTaskAddress !== undefined) r.peerTaskAddress = plan.peerTaskAddress;
  if (plan.underlayNic !== undefined) r.underlayNic = plan.underlayNic;
  return r;
}

/** The command that runs the script on the host (script on stdin). */
export function remoteCommand(user: string): string {
  return user === "root" ? "bash -s" : "sudo -n bash -s";
}

/** Build the bash script for one host (pure: same plan, same text). */
export function buildTrafficScript(plan: TrafficPlan): string {
  const p = resolvePlan(plan);
  const pingBound = p.pingCount * (p.pingWaitSeconds + 1) + 10;
  return `#!/bin/bash
# swarmlab plumbing: traffic checks PATH-1..PATH-4 (generated; do not edit).
export LC_ALL=C
PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PL_NETNS_DIR=${shq(p.netnsDir)}
PL_SERVICE=${shq(p.service)}
PL_CONTAINER=${shq(p.container ?? "")}
PL_SANDBOX=${shq(p.sandbox ?? "")}
PL_OVERLAY_NAMESPACE=${shq(p.overlayNamespace ?? "")}
PL_VXLANID=${shq(p.vxlanIdList ?? "")}
PL_OVERLAY=${shq(p.overlay)}
PL_GATEWAY=${shq(p.overlayGateway)}
PL_TARGET=${shq(p.pathTarget)}
PL_PEER_TASK=${shq(p.peerTaskAddress ?? "")}
PL_LOCAL=${shq(p.localAddress)}
PL_PEER=${shq(p.peerAddress)}
PL_NIC=${shq(p.underlayNic ?? "")}
PL_PORT=${p.vxlanPort}
PL_COUNT=${p.pingCount}
PL_WAIT=${p.pingWaitSeconds}
PL_CAP_SECONDS=${p.captureSeconds}
PL_CAP_COUNT=${p.captureCount}
PL_CAP_PID=
pl_tmp=$(mktemp -d 2>/dev/null) || pl_tmp=/tmp/swarmlab-plumbing.$$
mkdir -p "$pl_tmp" || exit 97
pl_cleanup() {
  if [ -n "$PL_CAP_PID" ]; then kill "$PL_CAP_PID" 2>/dev/null; wait "$PL_CAP_PID" 2>/dev/null; fi
  rm -rf "$pl_tmp"
}
trap pl_cleanup EXIT
trap 'exit 130' INT TERM HUP

# pl_section KEY CMD [ARGS...]: run CMD once, print its framed stdout (and stderr).
# Bash builtins only around the command: starting a program costs ~65 ms on an emulated CPU.
pl_section() {
  pl_key=$1
  shift
  "$@" >"$pl_tmp/out" 2>"$pl_tmp/err" </dev/null
  pl_rc=$?
  pl_o=""
  IFS= read -r -d '' pl_o <"$pl_tmp/out"
  # A line of output must never pass for a marker.
  pl_o=\${pl_o//$'\\n'@@/$'\\n'@ @}
  [ "\${pl_o:0:2}" = "@@" ] && pl_o="@ @\${pl_o:2}"
  printf '${MARK}begin %s\\n%s' "$pl_key" "$pl_o"
  if [ -n "$pl_o" ] && [ "\${pl_o: -1}" != $'\\n' ]; then printf '\\n'; fi
  printf '${MARK}end %s rc=%d\\n' "$pl_key" "$pl_rc"
  if [ -s "$pl_tmp/err" ]; then
    pl_e=""
    IFS= read -r -d '' pl_e <"$pl_tmp/err"
    # Cut to 2000 bytes first, then look at the cut text's last byte: a cut inside a line must
    # still end with a newline, or the stderr-end marker would be glued to it.
    pl_e=\${pl_e:0:2000}
    pl_e=\${pl_e//$'\\n'@@/$'\\n'@ @}
    [ "\${pl_e:0:2}" = "@@" ] && pl_e="@ @\${pl_e:2}"
    printf '${MARK}stderr %s\\n%s' "$pl_key" "$pl_e"
    if [ "\${pl_e: -1}" != $'\\n' ]; then printf '\\n'; fi
    printf '${MARK}stderr-end %s\\n' "$pl_key"
  fi
}

pl_tools() { for t in docker nsenter ip ping timeout base64 tcpdump; do printf '%s %s\\n' "$t" "$(command -v "$t" || echo -)"; done; }
pl_container() {
  # Known from the gather along with its sandbox: no need to ask docker again.
  if [ -n "$PL_CONTAINER" ] && [ -n "$PL_SANDBOX" ]; then echo "$PL_CONTAINER"; return; fi
  if [ -n "$PL_CONTAINER" ]; then docker inspect --format '{{.Id}}' "$PL_CONTAINER"; return; fi
  c=$(docker ps -q --no-trunc --filter "label=com.docker.swarm.service.name=$PL_SERVICE" | head -n 1)
  [ -n "$c" ] || { echo "no running task of service $PL_SERVICE on this host" >&2; return 1; }
  echo "$c"
}
pl_sandbox() {
  if [ -n "$PL_SANDBOX" ]; then
    [ -e "$PL_NETNS_DIR/$PL_SANDBOX" ] || { echo "the task's namespace $PL_NETNS_DIR/$PL_SANDBOX is gone" >&2; return 1; }
    echo "$PL_NETNS_DIR/$PL_SANDBOX"; return
  fi
  [ -n "$PL_CID" ] || return 1; docker inspect --format '{{.NetworkSettings.SandboxKey}}' "$PL_CID"
}
pl_overlay_ns() {
  if [ -n "$PL_OVERLAY_NAMESPACE" ]; then echo "$PL_NETNS_DIR/$PL_OVERLAY_NAMESPACE"; return; fi
  id=$(docker network inspect --format '{{.Id}}' "$PL_OVERLAY") || return 1; echo "$PL_NETNS_DIR/1-\${id:0:10}"
}
pl_vxlanid() {
  if [ -n "$PL_VXLANID" ]; then echo "$PL_VXLANID"; return; fi
  docker network inspect --format '{{index .Options "com.docker.network.driver.overlay.vxlanid_list"}}' "$PL_OVERLAY"
}
pl_br0() { [ -n "$PL_OVL" ] || return 1; nsenter --net="$PL_OVL" ip -o link show br0; }
pl_addr() { [ -n "$PL_SK" ] || return 1; nsenter --net="$PL_SK" ip -o -4 addr show; }
pl_counters() { [ -n "$PL_SK" ] || return 1; nsenter --net="$PL_SK" cat /proc/net/dev; }
pl_neigh() { [ -n "$PL_SK" ] || return 1; nsenter --net="$PL_SK" ip neigh show "$PL_GATEWAY"; }
# The pings leave from the task's network namespace. With the host's own ping entered into
# that namespace the packets take exactly the path a \`docker exec <task> ping\` takes, without
# starting a process in the container (seconds each on an emulated CPU); docker exec remains
# the way where the host has no ping.
pl_ping() {
  if [ -n "$PL_SK" ] && command -v ping >/dev/null 2>&1; then
    echo "ping from the task's namespace $PL_SK" >&2
    timeout ${pingBound} nsenter --net="$PL_SK" ping -n -c "$PL_COUNT" -i 0.2 -W "$PL_WAIT" "$1"
    return
  fi
  [ -n "$PL_CID" ] || return 1
  echo "ping inside task $PL_CID (docker exec)" >&2
  timeout ${pingBound} docker exec "$PL_CID" ping -c "$PL_COUNT" -W "$PL_WAIT" "$1"
}
pl_nic() {
  if [ -n "$PL_NIC" ]; then echo "$PL_NIC"; return; fi
  ip -o -4 addr show | awk -v a="$PL_LOCAL" '{ split($4, x, "/"); if (x[1] == a) { print $2; exit } }' | grep . || { echo "no interface holds $PL_LOCAL" >&2; return 1; }
}
pl_capture_start() {
  command -v tcpdump >/dev/null || { echo "tcpdump is not installed" >&2; return 127; }
  [ -n "$PL_NIC_NAME" ] || return 1
  pl_imm=
  if tcpdump --help 2>&1 | grep -q -- --immediate-mode; then pl_imm=--immediate-mode; fi
  timeout "$PL_CAP_SECONDS" tcpdump -n -i "$PL_NIC_NAME" -U $pl_imm -s 256 -c "$PL_CAP_COUNT" -w "$pl_tmp/cap.pcap" \\
    "udp and dst port $PL_PORT and host $PL_LOCAL and host $PL_PEER" >/dev/null 2>"$pl_tmp/cap.err" &
  PL_CAP_PID=$!
  for _ in $(seq 1 50); do
    grep -q 'listening on' "$pl_tmp/cap.err" 2>/dev/null && break
    kill -0 "$PL_CAP_PID" 2>/dev/null || break
    sleep 0.1
  done
  if ! kill -0 "$PL_CAP_PID" 2>/dev/null; then cat "$pl_tmp/cap.err" >&2; wait "$PL_CAP_PID"; PL_CAP_RC=$?; PL_CAP_PID=; return 1; fi
  echo "capturing on $PL_NIC_NAME pid $PL_CAP_PID $pl_imm"
}
pl_capture_stop() {
  [ -n "$PL_CAP_PID" ] || { echo "no capture running"; return 1; }
  # Without --immediate-mode packets can sit up to a second in the kernel's ring.
  if [ -n "$pl_imm" ]; then sleep 0.5; else sleep 2; fi
  kill -INT "$PL_CAP_PID" 2>/dev/null
  wait "$PL_CAP_PID"
  PL_CAP_RC=$?
  PL_CAP_PID=
  cat "$pl_tmp/cap.err"
  echo "rc=$PL_CAP_RC"
}
pl_capture_data() { [ -s "$pl_tmp/cap.pcap" ] || { echo "no capture file" >&2; return 1; }; base64 "$pl_tmp/cap.pcap"; }

# Nothing may read stdin: the script itself arrives on it (bash -s).
pl_section tools pl_tools
PL_CID=$(pl_container 2>/dev/null </dev/null)
pl_section container pl_container
PL_SK=$(pl_sandbox 2>/dev/null </dev/null)
pl_section sandbox pl_sandbox
PL_OVL=$(pl_overlay_ns 2>/dev/null </dev/null)
pl_section overlay-ns pl_overlay_ns
pl_section vxlanid pl_vxlanid
pl_section br0 pl_br0
pl_section addr pl_addr

# PATH-1: the overlay gateway, through eth0.
pl_section p1.before pl_counters
pl_section p1.ping pl_ping "$PL_GATEWAY"
pl_section p1.after pl_counters
pl_section p1.neigh pl_neigh

# PATH-2: an address of the lab network outside the docker networks, through eth1.
pl_section p2.before pl_counters
pl_section p2.ping pl_ping "$PL_TARGET"
pl_section p2.after pl_counters

# PATH-3 and PATH-4: the other host's task over the overlay, captured on the underlay.
if [ -n "$PL_PEER_TASK" ]; then
  PL_NIC_NAME=$(pl_nic 2>/dev/null </dev/null)
  pl_section nic pl_nic
  pl_section cap.start pl_capture_start
  pl_section p3.before pl_counters
  pl_section p3.ping pl_ping "$PL_PEER_TASK"
  pl_section p3.after pl_counters
  pl_section cap.stop pl_capture_stop
  pl_section cap.pcap pl_capture_data
fi
printf '${MARK}done\\n'
`;
}

// ------------------------------------------------------------ parsing ----

export interface Section {
  stdout: string;
  rc: number;
  stderr: string;
}

export interface TrafficRun {
  sections: Record<string, Section>;
  /** The script reached its end (`@@plumbing:done`). */
  complete: boolean;
}

/** Split the framed script output into sections. Tolerates a cut-off tail (complete=false). */
export function parseTrafficOutput(stdout: string): TrafficRun {
  const sections: Record<string, Section> = {};
  const lines = stdout.replace(/\r\n/g, "\n").split("\n");
  let complete = false;
  let cur: { key: string; body: string[] } | undefined;
  let errKey: string | undefined;
  let errBody: string[] = [];
  for (const line of lines) {
    if (cur) {
      const m = /^@@plumbing:end (\S+) rc=(-?\d+)$/.exec(line);
      if (m && m[1] === cur.key) {
        sections[cur.key] = { stdout: cur.body.length ? cur.body.join("\n") + "\n" : "", rc: Number(m[2]), stderr: "" };
        cur = undefined;
      } else cur.body.push(line);
      continue;
    }
    if (errKey !== undefined) {
      const endMark = `${MARK}stderr-end ${errKey}`;
      // Older scripts could glue the marker to a stderr line cut at 2000 bytes: accept it at a line's end too.
      if (line === endMark || line.endsWith(endMark)) {
        if (line !== endMark) errBody.push(line.slice(0, -endMark.length));
        const s = sections[errKey];
        if (s) s.stderr = errBody.join("\n") + "\n";
        errKey = undefined;
        errBody = [];
      } else errBody.push(line);
      continue;
    }
    let m = /^@@plumbing:begin (\S+)$/.exec(line);
    if (m) {
      cur = { key: m[1]!, body: [] };
      continue;
    }
    m = /^@@plumbing:stderr (\S+)$/.exec(line);
    if (m) {
      errKey = m[1]!;
      continue;
    }
    if (line === `${MARK}done`) complete = true;
  }
  return { sections, complete };
}

export interface PingSummary {
  transmitted: number;
  received: number;
}

/** Parse the summary of iputils or busybox ping. */
export function parsePing(text: string): PingSummary | undefined {
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(text);
  return m ? { transmitted: Number(m[1]), received: Number(m[2]) } : undefined;
}

export interface IfCounters {
  rxPackets: number;
  txPackets: number;
}

/** Parse /proc/net/dev into per-interface packet counters. */
export function parseProcNetDev(text: string): Record<string, IfCounters> {
  const out: Record<string, IfCounters> = {};
  for (const line of text.split("\n")) {
    const m = /^\s*([^\s:|]+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const nums = m[2]!.trim().split(/\s+/).map(Number);
    if (nums.length < 16 || nums.some((n) => !Number.isFinite(n))) continue;
    out[m[1]!] = { rxPackets: nums[1]!, txPackets: nums[9]! };
  }
  return out;
}

/** `ip -o link show br0` -> its MAC. */
export function parseLinkMac(text: string): string | undefined {
  return /link\/ether ([0-9a-f]{2}(?::[0-9a-f]{2}){5})/i.exec(text)?.[1]?.toLowerCase();
}

export interface NeighEntry {
  address: string;
  dev?: string;
  lladdr?: string;
  state?: string;
}

/** `ip neigh show ADDR` -> the entry, if any. */
export function parseNeigh(text: string, address: string): NeighEntry | undefined {
  for (const line of text.split("\n")) {
    const parts = line.trim().split(/\s+/);
    if (parts[0] !== address) continue;
    const e: NeighEntry = { address };
    for (let i = 1; i < parts.length; i++) {
      if (parts[i] === "dev") e.dev = parts[++i];
      else if (parts[i] === "lladdr") e.lladdr = parts[++i]?.toLowerCase();
      else if (i === parts.length - 1) e.state = parts[i];
    }
    return e;
  }
  return undefined;
}

/** `ip -o -4 addr show` -> the address (without prefix) of `dev`. */
export function parseAddrOf(text: string, dev: string): string | undefined {
  for (const line of text.split("\n")) {
    const m = /^\d+:\s+(\S+)\s+inet\s+([0-9.]+)\/\d+/.exec(line.trim());
    if (m && m[1]!.replace(/@.*$/, "") === dev) return m[2];
  }
  return undefined;
}

// ------------------------------------------------------------- judging ----

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

/** Quote command output in a finding without letting it run on (a misbehaving tool can print pages). */
function clip(text: string, max = 240): string {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length > max ? `${t.slice(0, max - 3)}...` : t;
}

function why(run: TrafficRun, key: string): string {
  const s = run.sections[key];
  if (!s) return run.complete ? `step ${key} did not run` : `step ${key} is missing (the script's output was cut off)`;
  const err = clip((s.stderr.trim() || s.stdout.trim()).split("\n").slice(-2).join(" / "));
  return `step ${key} failed (rc=${s.rc}${err ? `: ${err}` : ""})`;
}

function counterDelta(run: TrafficRun, prefix: string): Delta | string {
  const b = sectionOk(run, `${prefix}.before`);
  const a = sectionOk(run, `${prefix}.after`);
  if (!b) return why(run, `${prefix}.before`);
  if (!a) return why(run, `${prefix}.after`);
  const cb = parseProcNetDev(b.stdout);
  const ca = parseProcNetDev(a.stdout);
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

function pingResult(run: TrafficRun, key: string): { ping?: PingSummary; problem?: string; skip?: string } {
  const s = run.sections[key];
  if (!s) return { problem: why(run, key) };
  const ping = parsePing(s.stdout + s.stderr);
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

export function judgePath1(run: TrafficRun, plan: TrafficPlan): PathResult {
  const p = resolvePlan(plan);
  const expected = `ping ${p.overlayGateway} from the task: its ${p.pingCount} echo requests leave through eth0 (eth0 tx +>=${p.pingCount}, eth1 tx +<${p.pingCount}); the task's neighbour entry for ${p.overlayGateway} is on eth0 with br0's MAC in the ${p.overlay} namespace`;
  const missing = taskMissing(run, p);
  if (missing) return result("PATH-1", "unchecked", expected, missing);
  const pr = pingResult(run, "p1.ping");
  if (pr.skip) return result("PATH-1", "unchecked", expected, pr.skip);
  const d = counterDelta(run, "p1");
  if (typeof d === "string") return result("PATH-1", "fail", expected, d);
  const sent = pr.ping?.transmitted ?? p.pingCount;
  const route = judgeRoute(d, sent, "eth0");
  const problems: string[] = [];
  const seen: string[] = [];
  seen.push(pr.ping ? `${pr.ping.received}/${pr.ping.transmitted} replies` : (pr.problem ?? "no ping result"));
  seen.push(route.text);
  if (!route.ok) problems.push(`the echo requests did not leave through eth0`);
  const brMac = parseLinkMac(sectionOk(run, "br0")?.stdout ?? "");
  const ovlNs = clip(run.sections["overlay-ns"]?.stdout.trim() ?? "", 120) || `1-<${p.overlay} id>`;
  const neigh = parseNeigh(run.sections["p1.neigh"]?.stdout ?? "", p.overlayGateway);
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

export function judgePath2(run: TrafficRun, plan: TrafficPlan): PathResult {
  const p = resolvePlan(plan);
  const expected = `ping ${p.pathTarget} (inside the lab network ${p.labCidr}, outside the docker networks) from the task: its ${p.pingCount} echo requests leave through eth1 (eth1 tx +>=${p.pingCount}, eth0 tx +<${p.pingCount})`;
  const explanation = "the seed pings 8.8.8.8; the lab never sends traffic outside itself, so the target is an address of the lab network (inventory pathTarget)";
  const missing = taskMissing(run, p);
  if (missing) return result("PATH-2", "unchecked", expected, missing, { explanation });
  const pr = pingResult(run, "p2.ping");
  if (pr.skip) return result("PATH-2", "unchecked", expected, pr.skip, { explanation });
  const d = counterDelta(run, "p2");
  if (typeof d === "string") return result("PATH-2", "fail", expected, d, { explanation });
  const sent = pr.ping?.transmitted ?? p.pingCount;
  const route = judgeRoute(d, sent, "eth1");
  const replies = pr.ping ? `${pr.ping.received}/${pr.ping.transmitted} replies` : (pr.problem ?? "no ping result");
  const observed = `${replies}; ${route.text}`;
  if (!route.ok) return result("PATH-2", "fail", expected, `${observed}. The echo requests did not leave through eth1`, { explanation });
  return result("PATH-2", "pass", expected, observed, { explanation });
}

export function judgePath3(run: TrafficRun, plan: TrafficPlan): PathResult {
  const p = resolvePlan(plan);
  const target = p.peerTaskAddress ?? "<the other host's task>";
  const expected = `ping ${target} (the task on the other host) over ${p.overlay}: replies to at least ${Math.max(1, p.pingCount - 1)} of ${p.pingCount}, sent through eth0`;
  if (!p.peerTaskAddress) return result("PATH-3", "unchecked", expected, "the other host's task address on the overlay is not known (no task there? see WL-2)");
  const missing = taskMissing(run, p);
  if (missing) return result("PATH-3", "unchecked", expected, missing);
  const pr = pingResult(run, "p3.ping");
  if (pr.skip) return result("PATH-3", "unchecked", expected, pr.skip);
  if (!pr.ping) return result("PATH-3", "fail", expected, pr.problem ?? "no ping result");
  const d = counterDelta(run, "p3");
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

export function judgePath4(run: TrafficRun, plan: TrafficPlan): PathResult {
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
  let packets: DecodedPacket[];
  let tail = "";
  try {
    const cap = parsePcapBase64(data.stdout, { tolerateTruncatedTail: true });
    packets = cap.packets;
    if (cap.truncatedTail) tail = ` (last record cut off: ${cap.truncatedTail})`;
  } catch (e) {
    const msg = e instanceof PcapError ? e.message : String(e);
    return result("PATH-4", "fail", expected, `the capture from ${nic} could not be decoded: ${msg}`);
  }
  const taskAddress = parseAddrOf(run.sections["addr"]?.stdout ?? "", "eth0");
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

/** Judge all four facts from one run of the script. */
export function judgeTraffic(run: TrafficRun, plan: TrafficPlan): Record<PathId, PathResult> {
  return {
    "PATH-1": judgePath1(run, plan),
    "PATH-2": judgePath2(run, plan),
    "PATH-3": judgePath3(run, plan),
    "PATH-4": judgePath4(run, plan),
  };
}

/**
 * The results in the shape verify consumes (`Gathered.traffic`). Verify's
 * reports give the cause of a fact that could not be checked from its
 * explanation, so that observed text (the cause) leads it; details are kept.
 */
export function toTrafficEvidence(results: Record<PathId, PathResult>): TrafficEvidence {
  const ev: TrafficEvidence = {};
  for (const id of PATH_IDS) {
    const r = results[id];
    const explanation = r.outcome === "unchecked" ? (r.explanation ? `${r.observed} (${r.explanation})` : r.observed) : r.explanation;
    ev[id] = {
      outcome: r.outcome,
      expected: r.expected,
      observed: r.observed,
      ...(explanation ? { explanation } : {}),
      ...(r.details && r.details.length ? { details: [...r.details] } : {}),
    };
  }
  return ev;
}

export interface ScriptRunner {
  /** Run `script` on the host as root (one SSH session; e.g. `sudo -n bash -s` with the script on stdin). */
  (script: string): Promise<{ stdout: string; stderr: string; code: number | null }>;
}

/**
 * Build, run (through the caller's transport) and judge. The only impure step
 * is `runner`; a transport failure leaves all four facts unchecked, with its reason.
 */
export async function runTrafficChecks(plan: TrafficPlan, runner: ScriptRunner): Promise<Record<PathId, PathResult>> {
  const script = buildTrafficScript(plan);
  let out: { stdout: string; stderr: string; code: number | null };
  try {
    out = await runner(script);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const skipped = {} as Record<PathId, PathResult>;
    const judged = judgeTraffic({ sections: {}, complete: false }, plan);
    for (const id of PATH_IDS) skipped[id] = { ...judged[id], outcome: "unchecked", observed: `the traffic script could not be run: ${msg}` };
    return skipped;
  }
  const run = parseTrafficOutput(out.stdout);
  if (!run.complete && Object.keys(run.sections).length === 0) {
    const judged = judgeTraffic(run, plan);
    const why2 = clip(out.stderr.trim().split("\n").slice(-3).join(" / ")) || `exit code ${out.code}`;
    for (const id of PATH_IDS) judged[id] = { ...judged[id], outcome: "unchecked", observed: `the traffic script produced no output: ${why2}` };
    return judged;
  }
  return judgeTraffic(run, plan);
}
