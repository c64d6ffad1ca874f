/**
 * The traffic probe of PATH-1..PATH-4 (LAB-FACTS.md "Traffic"): what it sends and what it
 * observes, never a verdict. Its evidence is judged by the lab's checks (traffic-checks.ts),
 * like every other fact.
 *
 *  - buildTrafficScript(plan): ONE bash script, run on the host of the probing
 *    task (docker0) over one SSH session as root (`sudo -n bash -s`, script on
 *    stdin). It prints every observation in the one framing protocol of the
 *    scripts swarmlab runs on a host (scripts/lib/framing.ts, the gather's):
 *        @@swarmlab:begin <key>
 *        <stdout>
 *        @@swarmlab:end <key> rc=<exit code> bytes=<size>
 *        [@@swarmlab:stderr <key> ... @@swarmlab:stderr-end <key>]
 *    and ends with `@@swarmlab:done sections=<n>`. Every step is bounded
 *    (`timeout`, ping counts, a capture limited in time and packets) and the
 *    capture is killed on exit, whatever happens.
 *  - parseTrafficOutput(stdout): that text back into steps (exit code, stdout,
 *    stderr); parseSteps(run, plan): what the steps say, parsed (ping summaries,
 *    interface counters, br0's MAC, the gateway's neighbour entry, the task's
 *    address, the capture decoded by vxlan.ts).
 *  - runTrafficScript(plan, runner): build, run through the caller's transport,
 *    parse: the TrafficObservations (steps and parsed observations, and what went
 *    wrong around the script) that the checks judge.
 *
 * Saved runs from before the framing was shared (`@@plumbing:` markers, no
 * byte counts) are still read: parseTrafficOutput recognises them and reads
 * them with readLegacyTrafficOutput, so old --save-raw directories replay.
 *
 * What the checks look at:
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
 * Counters are read from /proc/net/dev inside the sandbox's network namespace
 * (`nsenter --net=<SandboxKey> cat /proc/net/dev`): /proc/net follows the
 * reader's netns, whereas /sys/class/net would show the host's devices unless
 * sysfs were remounted; /proc/net/dev also exists on CentOS 7 (no `ip -j`).
 */
import { DOCUMENTED, TRAFFIC_FACT_IDS, type TrafficFactId } from "./facts";
import { MARK, parseFramedOutput } from "../../scripts/lib/framing";
import { shellQuote as shq } from "../../scripts/lib/shell";
import { inCidr, isIPv4, nthAddressIn, readCidr, formatIPv4 } from "../../scripts/lib/ipv4";
import { type DecodedPacket, parsePcapBase64, PcapError, VXLAN_PORT } from "./vxlan";

export type PathId = TrafficFactId;
export const PATH_IDS: readonly PathId[] = TRAFFIC_FACT_IDS;

/**
 * A verdict on one traffic fact, as verify's reports and a --save-raw directory's traffic.json
 * hold it. skip: deliberately not run (--no-traffic); unchecked: could not be checked (the
 * explanation says why).
 */
export interface TrafficResult {
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

/** Verdicts per traffic fact (what traffic.json holds). */
export type TrafficEvidence = Partial<Record<TrafficFactId, TrafficResult>>;

/** A traffic fact that was not probed: deliberately (skip) or because the probe could not run (unchecked), and why. */
export type NotProbed = TrafficResult & { outcome: "skip" | "unchecked" };

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

export { MARK };
/** The marker of traffic output saved before the probe shared the gather's framing (read only). */
export const LEGACY_MARK = "@@plumbing:";

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
# swarmlab: traffic probe PATH-1..PATH-4 (generated; do not edit).
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
pl_count=0
pl_tmp=$(mktemp -d 2>/dev/null) || pl_tmp=/tmp/swarmlab-plumbing.$$
mkdir -p "$pl_tmp" || exit 97
pl_cleanup() {
  if [ -n "$PL_CAP_PID" ]; then kill "$PL_CAP_PID" 2>/dev/null; wait "$PL_CAP_PID" 2>/dev/null; fi
  rm -rf "$pl_tmp"
}
trap pl_cleanup EXIT
trap 'exit 130' INT TERM HUP

# pl_section KEY CMD [ARGS...]: run CMD once, print its framed stdout (and stderr), framed as
# scripts/lib/framing.ts reads it (with LC_ALL=C a variable's length is its size in bytes).
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
  printf '${MARK}end %s rc=%d bytes=%d\\n' "$pl_key" "$pl_rc" "\${#pl_o}"
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
  pl_count=$((pl_count + 1))
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
printf '${MARK}done sections=%d\\n' "$pl_count"
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
  /** The script reached its end (its done marker). */
  complete: boolean;
}

/**
 * Split the traffic script's framed output into steps (scripts/lib/framing.ts). Tolerates a
 * cut-off tail (complete=false); no section at all gives an empty run. Output saved before the
 * framing was shared (`@@plumbing:` markers) is read by readLegacyTrafficOutput.
 */
export function parseTrafficOutput(stdout: string): TrafficRun {
  if (/^@@plumbing:(begin|done)\b/m.test(stdout)) return readLegacyTrafficOutput(stdout);
  let framed;
  try {
    framed = parseFramedOutput(stdout, "traffic script");
  } catch {
    return { sections: {}, complete: false };
  }
  const sections: Record<string, Section> = {};
  // A step's text as the checks read it: output and stderr end with a newline when not empty.
  const nl = (t: string): string => (t && !t.endsWith("\n") ? `${t}\n` : t);
  for (const [key, s] of Object.entries(framed.sections)) sections[key] = { stdout: nl(s.output), rc: s.rc, stderr: s.stderr !== undefined ? `${s.stderr}\n` : "" };
  return { sections, complete: framed.complete };
}

/**
 * The reader of traffic output saved by earlier versions (`@@plumbing:begin/end/stderr/done`,
 * end markers without a byte count), kept so that old --save-raw directories and recorded
 * fixtures are judged as they were.
 */
export function readLegacyTrafficOutput(stdout: string): TrafficRun {
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
      const endMark = `${LEGACY_MARK}stderr-end ${errKey}`;
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
    if (line === `${LEGACY_MARK}done`) complete = true;
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

// -------------------------------------------------------- observations ----

/**
 * What the steps' outputs say, parsed: ping summaries, interface counters, br0's MAC, the
 * task's neighbour entry for the gateway and its address, the decoded capture. The checks
 * judge these; the raw steps stay beside them for the causes a finding quotes (exit codes,
 * stderr) and for --save-raw.
 */
export interface ParsedSteps {
  /** The ping summary of each ping step (iputils or busybox; stdout and stderr read). */
  pings: Record<string, PingSummary | undefined>;
  /** /proc/net/dev packet counters of each counter step that ran (exit code 0). */
  counters: Record<string, Record<string, IfCounters>>;
  /** br0's MAC in the overlay's namespace. */
  br0Mac?: string;
  /** The task's neighbour entry for the overlay gateway. */
  gatewayNeighbour?: NeighEntry;
  /** The task's eth0 address. */
  taskAddress?: string;
  /** The capture, decoded (packets with their outer/UDP/VXLAN/inner headers), or why it could not be. */
  capture?: { packets: DecodedPacket[]; truncatedTail?: string } | { error: string };
}

const PING_STEPS = ["p1.ping", "p2.ping", "p3.ping"];
const COUNTER_STEPS = ["p1", "p2", "p3"].flatMap((p) => [`${p}.before`, `${p}.after`]);

/** Parse what the script's steps printed (pure). */
export function parseSteps(run: TrafficRun, plan: TrafficPlan): ParsedSteps {
  const out: ParsedSteps = { pings: {}, counters: {} };
  for (const key of PING_STEPS) {
    const s = run.sections[key];
    if (s) out.pings[key] = parsePing(s.stdout + s.stderr);
  }
  for (const key of COUNTER_STEPS) {
    const s = run.sections[key];
    if (s && s.rc === 0) out.counters[key] = parseProcNetDev(s.stdout);
  }
  const br0 = run.sections["br0"];
  const mac = br0 && br0.rc === 0 ? parseLinkMac(br0.stdout) : undefined;
  if (mac) out.br0Mac = mac;
  const neigh = parseNeigh(run.sections["p1.neigh"]?.stdout ?? "", plan.overlayGateway);
  if (neigh) out.gatewayNeighbour = neigh;
  const addr = parseAddrOf(run.sections["addr"]?.stdout ?? "", "eth0");
  if (addr) out.taskAddress = addr;
  const data = run.sections["cap.pcap"];
  if (data && data.rc === 0 && data.stdout.trim()) {
    try {
      const cap = parsePcapBase64(data.stdout, { tolerateTruncatedTail: true });
      out.capture = cap.truncatedTail ? { packets: cap.packets, truncatedTail: cap.truncatedTail } : { packets: cap.packets };
    } catch (e) {
      out.capture = { error: e instanceof PcapError ? e.message : String(e) };
    }
  }
  return out;
}

/**
 * What the traffic probe yields: observations, never a verdict (traffic-checks.ts judges
 * them). Either the script ran (its plan and its steps' output, and what went wrong around
 * it), or it did not, and each fact says why (skipped on purpose, or could not be probed).
 */
export type TrafficObservations = TrafficRunObservations | TrafficNotRun;

export interface TrafficRunObservations {
  kind: "ran";
  /** What the script was built from (from the gathered model). */
  plan: TrafficPlan;
  /** The script's steps: exit code, stdout and stderr of each. */
  run: TrafficRun;
  /** What the steps printed, parsed (parseSteps). */
  parsed: ParsedSteps;
  /** The script as a whole failed (could not be started, printed nothing): why. */
  failed?: string;
  /** The session broke after some output arrived: why (the steps that arrived are judged). */
  cut?: string;
  /** The other host could not be asked, so its task's address is unknown: `<host>: <cause>`. */
  peerCause?: string;
}

export interface TrafficNotRun {
  kind: "not-run";
  facts: Partial<Record<TrafficFactId, NotProbed>>;
}

export interface ScriptRunner {
  /** Run `script` on the host as root (one SSH session; e.g. `sudo -n bash -s` with the script on stdin). */
  (script: string): Promise<{ stdout: string; stderr: string; code: number | null }>;
}

/** Quote command output in a finding without letting it run on (a misbehaving tool can print pages). */
export function clip(text: string, max = 240): string {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length > max ? `${t.slice(0, max - 3)}...` : t;
}

/**
 * Build, run (through the caller's transport) and parse. The only impure step is `runner`; a
 * transport failure, or a script that printed nothing, is recorded as why the script failed.
 */
export async function runTrafficScript(plan: TrafficPlan, runner: ScriptRunner): Promise<TrafficRunObservations> {
  const script = buildTrafficScript(plan);
  let out: { stdout: string; stderr: string; code: number | null };
  try {
    out = await runner(script);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const empty: TrafficRun = { sections: {}, complete: false };
    return { kind: "ran", plan, run: empty, parsed: parseSteps(empty, plan), failed: `the traffic script could not be run: ${msg}` };
  }
  const run = parseTrafficOutput(out.stdout);
  if (!run.complete && Object.keys(run.sections).length === 0) {
    const why2 = clip(out.stderr.trim().split("\n").slice(-3).join(" / ")) || `exit code ${out.code}`;
    return { kind: "ran", plan, run, parsed: parseSteps(run, plan), failed: `the traffic script produced no output: ${why2}` };
  }
  return { kind: "ran", plan, run, parsed: parseSteps(run, plan) };
}
