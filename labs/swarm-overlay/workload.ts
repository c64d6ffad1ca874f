/**
 * swarm-overlay's workload (WL-1, WL-2): the guest scripts that build its overlay network and
 * service on the swarm, and wait until the overlay carries traffic between the tasks. Pure
 * functions producing text, shellcheck-ed in the unit tests; infra runs them on the manager.
 */
import type { WorkloadArgs } from "../lab";
import { labLabel, otherLabsRemoved } from "../switch";
import { DOCUMENTED } from "./facts";
import { swarmOverlayLab } from "./lab";
import { BASH_HEADER as HEADER, shellQuote as shq } from "../../scripts/lib/shell";
import { nodesReadyWait } from "../nodes-ready";
import { apiWaitFunction, swarmApiPrelude } from "../swarm-api";


/**
 * WL-1 and WL-2: the overlay network and the service, then waits until one task runs on
 * each node. It runs as soon as the manager has a swarm: the service allows one replica per
 * node, so the task of a node still booting or joining waits for it (the swarm does not move
 * tasks once they run). Run again on a running lab it rolls a changed image out (`docker
 * service update --image`) and spreads tasks stacked on one node (a service made without the
 * per-node limit). On timeout it prints `docker service ps --no-trunc` so the user sees why.
 */
export interface OverlayWorkloadArgs extends WorkloadArgs {
  overlay: string;
  subnet: string;
  service: string;
  replicas: number;
  command: string[];
  /** The VXLAN id asked for the overlay (default: the documented 4097). */
  vni?: number;
  /** The engine's socket for the API waiter (tests). Default /var/run/docker.sock. */
  dockerSocket?: string;
}

export function workloadScript(a: OverlayWorkloadArgs): string {
  const label = labLabel(swarmOverlayLab.name);
  const vni = a.vni ?? DOCUMENTED.vxlan.demonetId;
  const create = [
    "docker service create --detach",
    ...(a.pull ? [] : ["--no-resolve-image"]),
    `--replicas ${a.replicas}`,
    ...(a.replicas <= a.nodes.length ? ["--replicas-max-per-node 1"] : []),
    `--network ${shq(a.overlay)}`,
    `--name ${shq(a.service)}`,
    label,
    shq(a.image),
    ...a.command.map(shq),
  ].join(" ");
  const update = [
    "docker service update --detach",
    ...(a.pull ? [] : ["--no-resolve-image"]),
    `--image ${shq(a.image)}`,
    shq(a.service),
  ].join(" ");
  return `${HEADER}
${swarmApiPrelude(a.dockerSocket)}${otherLabsRemoved(swarmOverlayLab.name, { overlay: a.overlay, service: a.service })}${deadlineAndDiagnose(a)}# Whether demonet and demoservice exist: from the API's look where it answered and nothing of
# another lab was removed since (it could have held the name), else from the CLI.
if [ "$sw_api" = 1 ] && [ -z "$other_services$other_containers$other_networks" ]; then
  read -r net_there have <<<"$(looked network)"
  read -r svc_there svc_image <<<"$(looked service)"
else
  net_there=""
  have=""
  if docker network inspect ${shq(a.overlay)} >/dev/null 2>&1; then
    net_there=yes
    have=$(docker network inspect ${shq(a.overlay)} --format '{{range .IPAM.Config}}{{.Subnet}}{{end}}')
  fi
  svc_there=""
  svc_image=""
  if docker service inspect ${shq(a.service)} >/dev/null 2>&1; then
    svc_there=yes
    svc_image=$(docker service inspect --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}' ${shq(a.service)})
  fi
fi
if [ "$net_there" = yes ]; then
  [ "$have" = ${shq(a.subnet)} ] || fail "network ${a.overlay} exists with subnet $have, the lab needs ${a.subnet}; remove it (docker network rm ${a.overlay})"
else
  # The documented VXLAN id (VXLAN-1), asked for: the swarm hands ids out in turn, so after
  # other overlays came and went (another lab's) demonet would get another one. The swarm takes
  # the request and allocates nothing when that id is taken (the network's options stay empty):
  # then demonet is made again without it and gets the swarm's next id, as a plain create would.
  docker network create -d overlay ${label} --subnet ${shq(a.subnet)} --opt ${shq(`${DOCUMENTED.vxlanIdOption}=${vni}`)} ${shq(a.overlay)} >&2
  for _ in 1 2 3 4 5; do
    got=$(docker network inspect ${shq(a.overlay)} --format '{{index .Options ${JSON.stringify(DOCUMENTED.vxlanIdOption)}}}' 2>/dev/null || true)
    [ -n "$got" ] && break
    sleep 1
  done
  if [ "$got" != ${vni} ]; then
    echo "warning: the swarm did not give ${a.overlay} VXLAN id ${vni} (taken?); it gets the swarm's next one" >&2
    docker network rm ${shq(a.overlay)} >/dev/null
    docker network create -d overlay ${label} --subnet ${shq(a.subnet)} ${shq(a.overlay)} >&2
  fi
fi
${spreadFunction(a)}# An image reference as the swarm records it, without digest and with the implied :latest tag.
normalise() { local r="\${1%%@*}"; case "\${r##*/}" in *:*) ;; *) r="$r:latest" ;; esac; printf '%s' "$r"; }
created=0
if [ "$svc_there" != yes ]; then
  ${create} >&2
  created=1
elif [ "$(normalise "$svc_image")" != "$(normalise ${shq(a.image)})" ]; then
  # swarmlab:workloadImage changed: roll the new image out, task by task.
  ${update} >&2
  while [ "$(docker service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' ${shq(a.service)})" = updating ]; do
    expired && { diagnose; fail "service ${a.service} is still updating to ${a.image} after ${a.timeoutSec}s"; }
    sleep 2
  done
  state=$(docker service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' ${shq(a.service)})
  case "$state" in ""|completed) ;; *) diagnose; fail "the update of ${a.service} to ${a.image} ended $state" ;; esac
fi
# A service made just now waits through the engine's API where it can (one process, not a docker
# call every two seconds); one that was there may have its tasks stacked, which the CLI path mends.
if [ "$created" = 1 ] && api_wait; then
  api=1
else
  api=0
  ${nodesReadyWait(a.nodes, a.timeoutSec).trimEnd().replace(/\n/g, "\n  ")}
  if ! spread; then
    if [ "$count" -eq ${a.replicas} ]; then
      # Every task runs, but stacked: the swarm had moved a task away from a node that was gone
      # and does not move it back by itself, so restart the tasks to spread them again.
      docker service update --force --detach ${shq(a.service)} >&2
    fi
    ${spreadWait(a).replace(/\n/g, "\n  ")}
  fi
fi
${overlayWait(a)}${tasksListed(a)}`;
}

/**
 * What `npm run reset` runs on the manager after the domains are reverted (Lab.ready): the
 * overlay and service are the baseline's own, so it builds and inspects nothing of them and
 * waits until the nodes are Ready, one task runs on each node and the task here reaches the
 * others over the overlay. After a revert the swarm's records are the snapshot's: only the
 * overlay ping shows that the guests talk again. It prints when each wait ended (seconds since
 * it started) and the running tasks.
 */
export function readyScript(a: OverlayWorkloadArgs): string {
  return `${HEADER}
${swarmApiPrelude(a.dockerSocket)}${deadlineAndDiagnose(a)}${spreadFunction(a)}if api_wait; then
  api=1
  echo "nodes Ready after $(waited ready)s"
  echo "one task per node running after $(waited spread)s"
else
  api=0
  ${nodesReadyWait(a.nodes, a.timeoutSec).trimEnd().replace(/\n/g, "\n  ")}
  echo "nodes Ready after \${SECONDS}s"
  ${spreadWait(a).replace(/\n/g, "\n  ")}
  echo "one task per node running after \${SECONDS}s"
fi
${overlayWait(a)}echo "overlay checked after \${SECONDS}s"
${tasksListed(a)}`;
}

/** The deadline, \`expired\`, \`diagnose\` and the API waiter (\`api_wait\`, \`waited\`). */
function deadlineAndDiagnose(a: OverlayWorkloadArgs): string {
  return `deadline=$(( $(date +%s) + ${a.timeoutSec} ))
expired() { [ "$(date +%s)" -ge "$deadline" ]; }
diagnose() {
  echo "--- docker node ls" >&2; docker node ls >&2 || true
  echo "--- docker service ps --no-trunc ${a.service}" >&2; docker service ps --no-trunc ${shq(a.service)} >&2 || true
}
${apiWaitFunction({ nodes: a.nodes, service: { name: a.service, replicas: a.replicas, overlay: a.overlay }, timeoutSec: a.timeoutSec })}`;
}

/**
 * `spread`: running tasks and the nodes they run on, counted by one docker call and one awk
 * (this polls while the tasks start, on the manager's one emulated CPU); true when every
 * replica runs, one per node. It leaves the count in $count.
 */
function spreadFunction(a: OverlayWorkloadArgs): string {
  return `spread() {
  read -r count nodes <<<"$(docker service ps ${shq(a.service)} --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' | awk '$2 == "Running" { c++; if (!($1 in on)) { on[$1] = 1; n++ } } END { print c + 0, n + 0 }')"
  [ "$count" -eq ${a.replicas} ] && [ "$nodes" -eq ${Math.min(a.replicas, a.nodes.length)} ]
}
`;
}

function spreadWait(a: OverlayWorkloadArgs): string {
  return `until spread; do
    expired && { diagnose; fail "service ${a.service} does not have ${a.replicas} running tasks spread over the nodes after ${a.timeoutSec}s"; }
    sleep 2
  done`;
}

/** The running tasks, as the API waiter read them when it ran ($api is 1), else from the CLI. */
function tasksListed(a: OverlayWorkloadArgs): string {
  return `if [ "$api" = 1 ]; then
  waited task
else
  docker service ps ${shq(a.service)} --filter desired-state=running --format '{{.Name}} {{.Node}} {{.CurrentState}}'
fi
`;
}

/**
 * The end of the workload step, in `up` and `npm run reset`: waits until the task on this host
 * (the manager) reaches every other running task of the service over the overlay, one ping each
 * from the task's namespace (the host's ping entered with nsenter). Tasks Running does not yet
 * mean the overlay carries traffic: the swarm's gossip must first tell this host where the new
 * tasks are (and after a reset, the guests resume from their snapshots with clocks set forward).
 * The other tasks' addresses come from the swarm's own record of the running tasks: read by the
 * API waiter where it ran ($api is 1), else by the docker CLI. Skipped where the host has no
 * ping or nsenter, or no task of the service.
 */
function overlayWait(a: { service: string; overlay: string; timeoutSec: number }): string {
  const svc = shq(a.service);
  return `ov_until=$(( $(date +%s) + ${a.timeoutSec} ))
ov_sk=""
ov_mine=""
ov_peers=""
if ! command -v ping >/dev/null 2>&1 || ! command -v nsenter >/dev/null 2>&1; then
  ov_tools=0
else
  ov_tools=1
  if [ "\${api:-0}" = 1 ]; then
    read -r ov_sk ov_mine <<<"$(waited mine | head -n 1)"
    ov_peers=$(waited peer)
  else
    ov_cid=$(docker ps -q --no-trunc --filter label=com.docker.swarm.service.name=${svc} | head -n 1)
    if [ -n "$ov_cid" ]; then
      # Its namespace and its address on the overlay, in one call.
      read -r ov_sk ov_mine <<<"$(docker inspect --format '{{.NetworkSettings.SandboxKey}} {{with index .NetworkSettings.Networks ${JSON.stringify(a.overlay)}}}{{.IPAddress}}{{end}}' "$ov_cid")"
      ov_tasks=$(docker service ps -q --no-trunc --filter desired-state=running ${svc})
      # shellcheck disable=SC2086
      ov_peers=$(docker inspect --type task --format '{{range .NetworksAttachments}}{{if eq .Network.Spec.Name ${JSON.stringify(a.overlay)}}}{{range .Addresses}}{{.}} {{end}}{{end}}{{end}}' $ov_tasks)
    fi
  fi
fi
if [ "$ov_tools" = 0 ]; then
  echo "overlay: not checked (no ping or nsenter on this host)"
elif [ -z "$ov_sk" ]; then
  echo "overlay: not checked (no task of ${a.service} on this host)"
else
  for ov_ip in $ov_peers; do
    ov_ip=\${ov_ip%%/*}
    [ "$ov_ip" = "$ov_mine" ] && continue
    until nsenter --net="$ov_sk" ping -n -c 1 -W 1 "$ov_ip" >/dev/null 2>&1; do
      [ "$(date +%s)" -lt "$ov_until" ] || fail "the task on this host does not reach ${a.service}'s task $ov_ip over ${a.overlay} after ${a.timeoutSec}s"
      sleep 1
    done
    echo "overlay: $ov_ip answers"
  done
fi
`;
}

/** overlayWait on its own (tests). */
export function overlayReadyScript(a: { service: string; overlay: string; timeoutSec: number }): string {
  return `${HEADER}${overlayWait(a)}`;
}
