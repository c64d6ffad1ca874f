/**
 * The encrypted-overlay lab's workload (seed 003 "Create a new overlay network", "Attach a
 * service to the overlay network"): uber-net (`-d overlay -o encrypted`) with the service test,
 * and for ENC-5 plain-net (the same without `-o encrypted`) with test-plain; two replicas each,
 * one per node. Run as root on the manager by `up` and `reset`; idempotent. It waits until the
 * task on the manager pings the other node's task over each overlay (an encrypted overlay's
 * first packets wait for its IPsec state, so the wait is timed and reported).
 */
import type { WorkloadArgs } from "../lab";
import { labLabel, otherLabsRemoved } from "../switch";
import { BASH_HEADER, shellQuote as shq } from "../../scripts/lib/shell";
import { DOCUMENTED } from "./facts";
import { encryptedOverlayLab } from "./lab";
import { nodesReadyWait } from "../nodes-ready";

interface Part {
  network: string;
  subnet: string;
  encrypted: boolean;
  service: string;
  replicas: number;
  command: readonly string[];
}

/** The two overlays and their services, as the workload builds them. */
export const PARTS: readonly Part[] = [
  { network: DOCUMENTED.encrypted.name, subnet: DOCUMENTED.encrypted.subnet, encrypted: true, service: DOCUMENTED.service.name, replicas: DOCUMENTED.service.replicas, command: DOCUMENTED.service.command },
  { network: DOCUMENTED.plain.name, subnet: DOCUMENTED.plain.subnet, encrypted: false, service: DOCUMENTED.plainService.name, replicas: DOCUMENTED.plainService.replicas, command: DOCUMENTED.plainService.command },
];

export function workloadScript(a: WorkloadArgs): string {
  const lab = encryptedOverlayLab.name;
  const label = labLabel(lab);
  const noResolve = a.pull ? "" : " --no-resolve-image";
  const services = PARTS.map((p) => shq(p.service)).join(" ");
  const networks = PARTS.map((p) => shq(p.network)).join(" ");
  const spreadOver = (p: Part) => Math.min(p.replicas, a.nodes.length);
  const netCase = PARTS.map(
    (p) => `    ${shq(p.network)}) docker network create -d overlay${p.encrypted ? ` -o ${DOCUMENTED.encrypted.option}` : ""} ${label} --subnet ${shq(p.subnet)} ${shq(p.network)} >&2 ;;`,
  ).join("\n");
  const svcCase = PARTS.map((p) =>
    [
      `    ${shq(p.service)}) docker service create --detach${noResolve} --replicas ${p.replicas}`,
      ...(p.replicas <= a.nodes.length ? ["--replicas-max-per-node 1"] : []),
      `--network ${shq(p.network)} --name ${shq(p.service)} ${label} ${shq(a.image)} ${p.command.map(shq).join(" ")} >&2 ;;`,
    ].join(" "),
  ).join("\n");
  return `${BASH_HEADER}
${otherLabsRemoved(lab)}deadline=$(( $(date +%s) + ${a.timeoutSec} ))
expired() { [ "$(date +%s)" -ge "$deadline" ]; }
diagnose() {
  echo "--- docker node ls" >&2; docker node ls >&2 || true
  echo "--- docker service ps --no-trunc ${PARTS.map((p) => p.service).join(" ")}" >&2; docker service ps --no-trunc ${services} >&2 || true
}
# The overlays: one listing of both (a missing one is absent from it). An existing one must
# have the lab's subnet and, for uber-net only, the encrypted option.
have_nets=$(docker network inspect ${networks} --format '{{.Name}}|{{range .IPAM.Config}}{{.Subnet}}{{end}}|{{range $k, $v := .Options}}{{$k}},{{end}}' 2>/dev/null || true)
ensure_net() {
  local name=$1 subnet=$2 want=$3 line have_subnet have_opts enc
  line=$(printf '%s\\n' "$have_nets" | awk -F'|' -v n="$name" '$1==n')
  if [ -z "$line" ]; then
    case "$name" in
${netCase}
    esac
    return 0
  fi
  IFS='|' read -r _ have_subnet have_opts <<<"$line"
  [ "$have_subnet" = "$subnet" ] || fail "network $name exists with subnet '$have_subnet', the lab needs $subnet; remove it (docker network rm $name)"
  case ",$have_opts" in *,${DOCUMENTED.encrypted.option},*) enc=yes ;; *) enc=no ;; esac
  if [ "$enc" != "$want" ]; then
    if [ "$want" = yes ]; then fail "network $name exists without -o ${DOCUMENTED.encrypted.option}, the lab needs it encrypted; remove it (docker network rm $name)"; fi
    fail "network $name exists with -o ${DOCUMENTED.encrypted.option}, the lab needs it plain; remove it (docker network rm $name)"
  fi
}
${PARTS.map((p) => `ensure_net ${shq(p.network)} ${shq(p.subnet)} ${p.encrypted ? "yes" : "no"}`).join("\n")}
# The services: created when missing; a changed swarmlab:workloadImage is rolled out.
normalise() { local r="\${1%%@*}"; case "\${r##*/}" in *:*) ;; *) r="$r:latest" ;; esac; printf '%s' "$r"; }
have_svcs=$(docker service inspect ${services} --format '{{.Spec.Name}} {{.Spec.TaskTemplate.ContainerSpec.Image}}' 2>/dev/null || true)
ensure_svc() {
  local name=$1 img
  img=$(printf '%s\\n' "$have_svcs" | awk -v n="$name" '$1==n {print $2}')
  if [ -z "$img" ]; then
    case "$name" in
${svcCase}
    esac
  elif [ "$(normalise "$img")" != "$(normalise ${shq(a.image)})" ]; then
    docker service update --detach${noResolve} --image ${shq(a.image)} "$name" >&2
  fi
}
${PARTS.map((p) => `ensure_svc ${shq(p.service)}`).join("\n")}
${nodesReadyWait(a.nodes, a.timeoutSec)}# Every service has its replicas Running, on as many nodes.
spread() {
  tasks=$(docker service ps ${services} --filter desired-state=running --format '{{.Name}} {{.Node}} {{.CurrentState}}')
  local s want count nodes
  for sw in ${PARTS.map((p) => `${shq(p.service)}:${p.replicas}:${spreadOver(p)}`).join(" ")}; do
    IFS=: read -r s want nodes_want <<<"$sw"
    count=$(printf '%s\\n' "$tasks" | awk -v s="$s" '$3=="Running" { n=$1; sub(/\\.[0-9]+$/, "", n); if (n==s) print $2 }' | wc -l)
    nodes=$(printf '%s\\n' "$tasks" | awk -v s="$s" '$3=="Running" { n=$1; sub(/\\.[0-9]+$/, "", n); if (n==s) print $2 }' | sort -u | wc -l)
    [ "$count" -eq "$want" ] && [ "$nodes" -eq "$nodes_want" ] || return 1
  done
}
until spread; do
  expired && { diagnose; fail "services ${PARTS.map((p) => p.service).join(", ")} do not all have their tasks running, one per node, after ${a.timeoutSec}s"; }
  sleep 2
done
# The task on this host reaches the other tasks over each overlay (one ping each, from the
# task's namespace). Skipped where the host has no ping or nsenter.
reach() {
  local svc=$1 net=$2 cid sk mine task_ids peers ip t0
  cid=$(docker ps -q --no-trunc --filter "label=com.docker.swarm.service.name=$svc" | head -n 1)
  [ -n "$cid" ] || { echo "$net: not checked (no task of $svc on this host)"; return 0; }
  read -r sk mine <<<"$(docker inspect --format "{{.NetworkSettings.SandboxKey}} {{with index .NetworkSettings.Networks \\"$net\\"}}{{.IPAddress}}{{end}}" "$cid")"
  task_ids=$(docker service ps -q --no-trunc --filter desired-state=running "$svc")
  # shellcheck disable=SC2086
  peers=$(docker inspect --type task --format "{{range .NetworksAttachments}}{{if eq .Network.Spec.Name \\"$net\\"}}{{range .Addresses}}{{.}} {{end}}{{end}}{{end}}" $task_ids)
  for ip in $peers; do
    ip=\${ip%%/*}
    [ "$ip" = "$mine" ] && continue
    t0=$(date +%s)
    until nsenter --net="$sk" ping -n -c 1 -W 1 "$ip" >/dev/null 2>&1; do
      expired && { diagnose; fail "the task of $svc on this host ($mine) does not reach $ip over $net after ${a.timeoutSec}s"; }
      sleep 1
    done
    echo "$net: $mine -> $ip answers (waited $(( $(date +%s) - t0 ))s)"
  done
}
if ! command -v ping >/dev/null 2>&1 || ! command -v nsenter >/dev/null 2>&1; then
  echo "overlays: not checked (no ping or nsenter on this host)"
else
${PARTS.map((p) => `  reach ${shq(p.service)} ${shq(p.network)}`).join("\n")}
fi
printf '%s\\n' "$tasks"
`;
}
