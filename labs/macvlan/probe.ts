/**
 * The macvlan lab's probe (MV-1's VLAN tag on the wire, MV-3): on the worker docker1, "another
 * system on VLAN 100". It gives docker1 a VLAN 100 sub-interface of its own underlay NIC with
 * 10.0.0.200/24 (outside the ip-range; only when it lacks one, and removes what it added when it
 * ends: on exit, on a signal, and from a detached watchdog should the session be cut), captures
 * the tagged frames on the NIC while it pings mactainer1 (on docker0: a macvlan container cannot
 * talk to its own host's parent interface, hence the other host), and prints the capture.
 *
 * Sections: setup (what it changed), peer-sub (`ip -j -d addr show dev <nic>.100`), ping,
 * capture (`tcpdump -enl -i <nic> vlan and (arp or icmp)`), cleanup.
 */
import type { Inventory, InventoryHost } from "../../scripts/lib/verify/inventory";
import type { LabModel } from "../../scripts/lib/verify/model";
import { shellQuote as shq } from "../../scripts/lib/shell";
import { scriptProbe } from "../script-probe";
import { DOCUMENTED, subInterfaceOf } from "./facts";
import { findMactainer, underlayNic } from "./lookup";

export const PROBE_FACT_IDS = ["MV-1", "MV-3"] as const;

/** Seconds the watchdog waits before it removes what a cut-off probe left (the probe takes ~10 s). */
export const WATCHDOG_SEC = 90;

/** The host that plays "another system on VLAN 100": the first worker. */
export function peerHost(inventory: Inventory): InventoryHost {
  return inventory.hosts.find((h) => h.role === "worker") ?? inventory.hosts[inventory.hosts.length - 1]!;
}

export interface ProbePlan {
  peer: string;
  nic: string;
  sub: string;
  target: { host: string; ip: string; mac: string };
}

/** What the probe needs from the model; throws an Error saying what is missing. */
export function probePlan(inventory: Inventory, model: LabModel): ProbePlan {
  const peer = peerHost(inventory);
  const ph = model.hosts.find((h) => h.name === peer.name);
  if (!ph || !ph.reachable) throw new Error(`${peer.name} (the VLAN ${DOCUMENTED.vlan.id} peer) was not gathered${ph?.error ? `: ${ph.error}` : ""}`);
  const nic = underlayNic(ph);
  if (!nic) throw new Error(`${peer.name}: no interface of its host namespace holds its lab address ${ph.address} (ip addr show was not gathered?)`);
  const m = findMactainer(model);
  if (!m) throw new Error(`no host runs ${DOCUMENTED.container.name} (docker inspect of the running containers)`);
  if (m.host.name === peer.name) throw new Error(`${DOCUMENTED.container.name} runs on ${peer.name}, the probe's peer: a macvlan container cannot talk to its own host's parent interface`);
  const ep = m.endpoint;
  if (!ep || !ep.ipAddress || !ep.mac) throw new Error(`${m.host.name}: ${DOCUMENTED.container.name} has no IPv4 address and MAC on ${DOCUMENTED.network.name} (docker inspect)`);
  return { peer: peer.name, nic: nic.name, sub: subInterfaceOf(nic.name), target: { host: m.host.name, ip: ep.ipAddress, mac: ep.mac.toLowerCase() } };
}

export function probeBody(plan: ProbePlan): string {
  const peer = `${DOCUMENTED.peer.address}/${DOCUMENTED.peer.prefixLength}`;
  return `nic=${shq(plan.nic)}
sub=${shq(plan.sub)}
peer=${shq(peer)}
target=${shq(plan.target.ip)}
alias=${shq(DOCUMENTED.probeAlias)}-$$
made=""
wd=""
cap=$(mktemp -d) || exit 97
undo() {
  case "$made" in
    link) ip link del dev "$sub" && echo "removed $sub" ;;
    addr) ip addr del "$peer" dev "$sub" && echo "removed $peer from $sub" ;;
    *) echo "nothing to undo" ;;
  esac
  made=""
  if [ -n "$wd" ]; then kill -- "-$wd" 2>/dev/null; wd=""; fi
  return 0
}
trap 'undo >/dev/null 2>&1; rm -rf "$swl_tmp" "$cap"' EXIT
trap 'exit 1' HUP INT TERM PIPE
setup() {
  if ! ip link show dev "$sub" >/dev/null 2>&1; then
    ip link add link "$nic" name "$sub" type vlan id ${DOCUMENTED.vlan.id} || return 1
    made="link"
    ip link set dev "$sub" alias "$alias"
    # No IPv6 chatter on the capture.
    echo 1 >"/proc/sys/net/ipv6/conf/$sub/disable_ipv6" 2>/dev/null
    echo "created $sub (vlan id ${DOCUMENTED.vlan.id} on $nic)"
  else
    case "$(cat "/sys/class/net/$sub/ifalias" 2>/dev/null)" in
      ${shq(DOCUMENTED.probeAlias)}-*) made="link"; echo "$sub is a leftover of an earlier probe: removed at the end" ;;
      *) echo "$sub exists" ;;
    esac
  fi
  if ! ip -4 -o addr show dev "$sub" | grep -qF " $peer "; then
    ip addr add "$peer" dev "$sub" || return 1
    [ "$made" = "link" ] || made="addr"
    echo "added $peer"
  fi
  ip link set dev "$sub" up || return 1
  # Should the session be cut before the traps run, this undoes the probe later.
  if [ "$made" = link ]; then
    setsid sh -c 'sleep ${WATCHDOG_SEC}; [ "$(cat "/sys/class/net/$1/ifalias" 2>/dev/null)" = "$2" ] && ip link del dev "$1"' sh "$sub" "$alias" </dev/null >/dev/null 2>&1 &
  else
    setsid sh -c 'sleep ${WATCHDOG_SEC}; ip addr del "$2" dev "$1"' sh "$sub" "$peer" </dev/null >/dev/null 2>&1 &
  fi
  wd=$!
  echo "watchdog $wd"
}
capture() {
  local i
  # tcpdump is running when it says so (a program start is slow on an emulated CPU).
  for i in $(seq 1 40); do grep -q 'listening on' "$cap/err" 2>/dev/null && break; kill -0 "$tp" 2>/dev/null || break; sleep 0.1; done
  echo "capture started after $i polls" >>"$cap/log"
}
capture_result() {
  local rc
  sleep 1
  kill -INT "$tp" 2>/dev/null
  wait "$tp"
  rc=$?
  cat "$cap/out"
  cat "$cap/err" "$cap/log" >&2
  return "$rc"
}
swl_section setup setup || true
swl_section peer-sub timeout 5 ip -j -d addr show dev "$sub"
timeout 15 tcpdump -enl -i "$nic" -c 16 'vlan and (arp or icmp)' >"$cap/out" 2>"$cap/err" &
tp=$!
capture
swl_section ping timeout 10 ping -c 3 -i 0.5 -W 2 -I "$sub" "$target"
swl_section capture capture_result
swl_section cleanup undo
`;
}

export const macvlanProbe = scriptProbe({
  factIds: PROBE_FACT_IDS,
  what: "the macvlan probe",
  host: peerHost,
  body: (inventory, model) => probeBody(probePlan(inventory, model)),
  timeoutMs: 35_000,
});
