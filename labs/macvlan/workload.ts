/**
 * The macvlan lab's workload (seed 003, "Connecting to existing networks"), run as root on the
 * manager docker0: the macvlan network macvlan100 on the VLAN 100 sub-interface of the host's
 * underlay NIC (Docker creates the sub-interface), and the container mactainer1 on it.
 * Idempotent: what exists as documented is left alone, what is missing is made, what exists
 * otherwise is a clear failure naming how to fix it.
 */
import type { WorkloadArgs } from "../lab";
import { labLabel, otherLabsRemoved } from "../switch";
import { BASH_HEADER, shellQuote as shq } from "../../scripts/lib/shell";
import { DOCUMENTED } from "./facts";

export const LAB_NAME = "macvlan";

export function workloadScript(a: WorkloadArgs): string {
  const label = labLabel(LAB_NAME);
  const n = DOCUMENTED.network;
  const c = DOCUMENTED.container;
  const vlan = DOCUMENTED.vlan.id;
  const net = shq(n.name);
  const ctr = shq(c.name);
  // Running, its address and MAC on the network, on one line (one docker call).
  const stateFormat = shq(`{{.State.Running}} {{with index .NetworkSettings.Networks "${n.name}"}}{{.IPAddress}} {{.MacAddress}}{{end}}`);
  const netFormat = shq(`{{.Driver}} {{index .Options "parent"}} {{range .IPAM.Config}}{{.Subnet}} {{.IPRange}} {{.Gateway}}{{end}}`);
  const run = [
    "docker run -d",
    `--name ${ctr}`,
    `--network ${net}`,
    // The seed's container ends after a day (sleep 1d); the lab's starts again.
    "--restart unless-stopped",
    label,
    shq(a.image),
    ...c.command.map(shq),
  ].join(" ");
  return `${BASH_HEADER}
${otherLabsRemoved(LAB_NAME)}deadline=$(( $(date +%s) + ${a.timeoutSec} ))
expired() { [ "$(date +%s)" -ge "$deadline" ]; }
for m in ${DOCUMENTED.modules.map(shq).join(" ")}; do
  modprobe "$m" 2>/dev/null || [ -d "/sys/module/$m" ] || fail "the kernel module $m is not available (modprobe $m failed): the macvlan lab needs 802.1Q sub-interfaces and macvlan devices"
done
# The underlay NIC: the interface of the default route (the seed's eth0).
nic=$(ip -4 route show default | awk '{for (i = 1; i < NF; i++) if ($i == "dev") { print $(i + 1); exit }}')
[ -n "$nic" ] || fail "cannot tell the underlay NIC: no IPv4 default route (ip -4 route show default)"
parent="$nic.${vlan}"
want=${shq(`${n.driver} `)}"$parent"${shq(` ${n.subnet} ${n.ipRange} ${n.gateway}`)}
if have=$(docker network inspect --format ${netFormat} ${net} 2>/dev/null); then
  [ "$have" = "$want" ] || fail "network ${n.name} exists as [$have], the lab needs [$want] (driver parent subnet ip-range gateway); remove it (docker network rm ${n.name})"
else
  docker network create -d ${shq(n.driver)} --subnet=${shq(n.subnet)} --ip-range=${shq(n.ipRange)} --gateway=${shq(n.gateway)} -o parent="$parent" ${label} ${net} >&2
fi
diagnose() {
  echo "--- docker ps -a --filter name=${c.name}" >&2; docker ps -a --filter name=${ctr} >&2 || true
  echo "--- docker logs --tail 20 ${c.name}" >&2; docker logs --tail 20 ${ctr} >&2 || true
  echo "--- ip -d link show $parent" >&2; ip -d link show "$parent" >&2 || true
}
state=$(docker inspect --format ${stateFormat} ${ctr} 2>/dev/null) || state=absent
if [ "$state" = absent ]; then
  ${run} >&2
else
  # shellcheck disable=SC2086
  set -- $state
  # Made by hand without the network, or stopped: attached, started again.
  [ -n "\${2:-}" ] || docker network connect ${net} ${ctr} >&2
  [ "$1" = true ] || docker start ${ctr} >&2
fi
while :; do
  state=$(docker inspect --format ${stateFormat} ${ctr} 2>/dev/null) || state=absent
  # shellcheck disable=SC2086
  set -- $state
  [ "\${1:-}" = true ] && [ -n "\${2:-}" ] && break
  expired && { diagnose; fail "container ${c.name} is not running on ${n.name} after ${a.timeoutSec}s (state: $state)"; }
  sleep 2
done
ip -o link show dev "$parent" 2>/dev/null | grep -q '[<,]UP[,>]' || { diagnose; fail "the sub-interface $parent is not up (ip link show dev $parent)"; }
echo "${n.name}: macvlan on $parent (VLAN ${vlan}); ${c.name} $2 \${3:-}"
`;
}
