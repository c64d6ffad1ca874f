/**
 * routing-mesh's workload: the guest script (run as root on the manager by `up` and `reset`)
 * that creates the lab's three published services (facts.ts tells why three) and waits until
 * the routing mesh answers: `web` on port 5000 of every node, `webhost` on 5001 of its node,
 * `web2` on 5002 of every node with both of its replicas answering through the first node.
 *
 * Idempotent: every service carries a label with a digest of how it is created (image, ports,
 * replicas, placement, command); a service of the lab's name with another digest (made by hand,
 * by an older swarmlab, or with another image) is removed and created again, a missing one is
 * created, a matching one is left alone. Pure text; shellcheck-ed in the unit tests.
 */
import { createHash } from "node:crypto";
import type { WorkloadArgs } from "../lab";
import { LAB_LABEL, labLabel, otherLabsRemoved } from "../switch";
import { DOCUMENTED } from "./facts";
import { routingMeshLab } from "./lab";
import { BASH_HEADER, shellQuote as shq } from "../../scripts/lib/shell";
import { nodesReadyWait } from "../nodes-ready";

/** The label holding the digest of a service's creation arguments. */
export const SPEC_LABEL = "swarmlab.spec";

export interface ServicePlan {
  name: string;
  published: number;
  target: number;
  mode: "ingress" | "host";
  replicas: number;
  /** node.hostname the service is pinned to (none: the swarm spreads it). */
  node?: string;
  /** At most one replica per node. */
  onePerNode: boolean;
}

export interface WorkloadPlan extends WorkloadArgs {
  web: ServicePlan;
  webhost: ServicePlan;
  web2: ServicePlan;
  command: readonly string[];
  /** Remove what another lab labelled first (the lab's own workload always does). */
  removeOtherLabs: boolean;
}

/**
 * The documented plan: `web` pinned to the last node (the worker: the seed's node2, so the
 * manager where requests enter has no replica), `webhost` pinned to the first (the manager),
 * `web2` one replica per node.
 */
export function documentedPlan(a: WorkloadArgs): WorkloadPlan {
  if (a.nodes.length < 2) throw new Error(`the routing-mesh lab needs two swarm nodes, got ${a.nodes.length} (${a.nodes.join(", ")})`);
  const d = DOCUMENTED;
  return {
    ...a,
    web: { ...d.web, node: a.nodes[a.nodes.length - 1]!, onePerNode: false },
    webhost: { ...d.webhost, node: a.nodes[0]!, onePerNode: false },
    web2: { ...d.web2, onePerNode: true },
    command: d.command,
    removeOtherLabs: true,
  };
}

export function workloadScript(a: WorkloadArgs): string {
  return workloadPlanScript(documentedPlan(a));
}

function publishArg(s: ServicePlan): string {
  return `published=${s.published},target=${s.target}${s.mode === "host" ? ",mode=host" : ""}`;
}

/** `docker service create` for one service, less its labels (the digest covers exactly this). */
function createArgs(p: WorkloadPlan, s: ServicePlan): string[] {
  return [
    ...(p.pull ? [] : ["--no-resolve-image"]),
    `--name ${shq(s.name)}`,
    `--replicas ${s.replicas}`,
    ...(s.onePerNode ? ["--replicas-max-per-node 1"] : []),
    ...(s.node ? [`--constraint ${shq(`node.hostname==${s.node}`)}`] : []),
    `--publish ${shq(publishArg(s))}`,
    shq(p.image),
    ...p.command.map(shq),
  ];
}

export function specDigest(p: WorkloadPlan, s: ServicePlan): string {
  return createHash("sha256").update(createArgs(p, s).join(" ")).digest("hex").slice(0, 16);
}

/** The script for a plan (the lab's own: workloadScript; tests and trials use other names). */
export function workloadPlanScript(p: WorkloadPlan): string {
  const services = [p.web, p.webhost, p.web2];
  const names = services.map((s) => shq(s.name)).join(" ");
  const label = labLabel(routingMeshLab.name);
  const ensure = services
    .map((s) => {
      const digest = specDigest(p, s);
      const create = ["docker service create --detach", label, `--label ${shq(`${SPEC_LABEL}=${digest}`)}`, ...createArgs(p, s)].join(" ");
      return `ensure_service ${shq(s.name)} ${shq(digest)} ${create}`;
    })
    .join("\n");
  const first = p.web2; // RM-3's service: both replicas must answer through the first node
  return `${BASH_HEADER}
${p.removeOtherLabs ? otherLabsRemoved(routingMeshLab.name) : ""}deadline=$(( $(date +%s) + ${p.timeoutSec} ))
expired() { [ "$(date +%s)" -ge "$deadline" ]; }
diagnose() {
  echo "--- docker node ls" >&2; docker node ls >&2 || true
  for s in ${names}; do
    echo "--- docker service ps --no-trunc $s" >&2; docker service ps --no-trunc "$s" >&2 || true
  done
}
${nodesReadyWait(p.nodes, p.timeoutSec)}# name|digest of the lab's services that exist (one call; a missing one is simply not listed).
existing=$(docker service inspect --format '{{.Spec.Name}}|{{index .Spec.Labels ${JSON.stringify(SPEC_LABEL)}}}' ${names} 2>/dev/null || true)
ensure_service() {
  local name=$1 digest=$2 have
  shift 2
  have=$(printf '%s\\n' "$existing" | awk -F'|' -v n="$name" '$1==n {print "x" $2}')
  [ "$have" = "x$digest" ] && return 0
  if [ -n "$have" ]; then
    echo "service $name exists with other settings (${SPEC_LABEL}=\${have#x}): creating it again" >&2
    docker service rm "$name" >/dev/null
  fi
  # A published port is released a moment after its service is removed: retry while it is taken.
  until "$@" >&2; do
    expired && { diagnose; fail "could not create service $name within ${p.timeoutSec}s"; }
    sleep 2
  done
}
${ensure}
# Every service at its replica count (docker service ls: "1/1", "2/2 (max 1 per node)").
until st=$(docker service ls --filter ${shq(`label=${LAB_LABEL}=${routingMeshLab.name}`)} --format '{{.Name}} {{.Replicas}}' 2>/dev/null) \\
  && [ "$(printf '%s\\n' "$st" | awk -v want=${shq(services.map((s) => s.name).join(" "))} '
       BEGIN { n = split(want, w, " "); for (i = 1; i <= n; i++) need[w[i]] = 1 }
       ($1 in need) { split($2, r, "/"); if (r[1] == r[2] && r[2] > 0) ok++ }
       END { print ok + 0 }')" -eq ${services.length} ]; do
  expired && { diagnose; fail "the services ${services.map((s) => s.name).join(", ")} do not run all their replicas after ${p.timeoutSec}s"; }
  sleep 2
done
# The nodes' addresses as the swarm knows them (a manager may show 0.0.0.0: its manager address then).
addrs=$(docker node inspect --format '{{.Description.Hostname}} {{.Status.Addr}} {{with .ManagerStatus}}{{.Addr}}{{end}}' ${p.nodes.map(shq).join(" ")} \\
  | awk '{ a = $2; if (a == "" || a == "0.0.0.0") { a = $3; sub(/:[0-9]+$/, "", a) } print $1, a }')
addr_of() { printf '%s\\n' "$addrs" | awk -v n="$1" '$1==n {print $2}'; }
all_addrs=$(printf '%s\\n' "$addrs" | awk '{print $2}' | tr '\\n' ' ')
# The hostname a replica answers with (HTTP over bash's /dev/tcp: no HTTP client needed on the host).
answer() {
  # shellcheck disable=SC2016
  timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf "GET / HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n" "$1" >&3 && cat <&3' answer "$1" "$2" 2>/dev/null \\
    | tr -d '\\r' | awk 'NR == 1 && $2 != 200 { exit 1 } body && NF { print; exit } /^$/ { body = 1 }'
}
wait_answer() { # address port what
  until [ -n "$(answer "$1" "$2")" ]; do
    expired && { diagnose; fail "$3 does not answer on $1:$2 after ${p.timeoutSec}s"; }
    sleep 1
  done
}
for a in $all_addrs; do
  wait_answer "$a" ${p.web.published} ${shq(`${p.web.name} (ingress mode)`)}
  wait_answer "$a" ${p.web2.published} ${shq(`${p.web2.name} (ingress mode)`)}
done
${p.webhost.node ? `hostaddr=$(addr_of ${shq(p.webhost.node)})
[ -n "$hostaddr" ] || { diagnose; fail "no address for node ${p.webhost.node}"; }
wait_answer "$hostaddr" ${p.webhost.published} ${shq(`${p.webhost.name} (host mode)`)}
` : ""}# Both replicas of ${first.name} answer through the first node (the mesh knows both of them).
entry=$(addr_of ${shq(p.nodes[0]!)})
[ -n "$entry" ] || { diagnose; fail "no address for node ${p.nodes[0]}"; }
seen=""
distinct() { printf '%s\\n' "$seen" | awk 'NF' | sort -u; }
until [ "$(distinct | wc -l)" -ge ${first.replicas} ]; do
  h=$(answer "$entry" ${first.published} || true)
  if [ -n "$h" ]; then seen="$seen
$h"; else sleep 1; fi
  expired && { diagnose; fail "${first.name} on $entry:${first.published} answered only from [$(distinct | tr '\\n' ' ')] after ${p.timeoutSec}s, not from ${first.replicas} replicas"; }
done
for s in ${names}; do
  docker service ps "$s" --filter desired-state=running --format "$s {{.Name}} {{.Node}} {{.CurrentState}}"
done
echo "answers: ${p.web.name} on $all_addrs port ${p.web.published}; ${p.webhost.name} on \${hostaddr:-?} port ${p.webhost.published}; ${first.name} on $entry port ${first.published} from $(distinct | tr '\\n' ' ')"
`;
}
