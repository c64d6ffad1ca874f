/**
 * The bridge lab's workload (seed 003 "Single-host bridge networks"): on the manager, the
 * user-defined bridge network localnet, c1 and c2 on it sleeping a day, c3 on the default bridge
 * (BR-4's negative case), and web on localnet publishing 5000:80 (busybox httpd serving a page
 * that names it). Idempotent: what is there as built is kept, a missing, stopped or differently
 * built container is (re)created; then it waits until the containers run, web answers on the
 * published port and c2 reaches c1 by name.
 */
import { createHash } from "node:crypto";
import type { WorkloadArgs } from "../lab";
import { LAB_LABEL, labLabel, otherLabsRemoved } from "../switch";
import { BASH_HEADER, shellQuote as shq } from "../../scripts/lib/shell";
import { type BridgeNames, DOCUMENTED, DOCUMENTED_NAMES } from "./facts";

export const LAB_NAME = "bridge";

/** The label carrying a digest of how a container was built (image, network, ports, command). */
export const SPEC_LABEL = "swarmlab.bridge.spec";

export interface ContainerSpec {
  name: string;
  /** undefined: the default bridge network (no --network, as the seed's containers without one). */
  network?: string;
  publish?: string;
  command: string[];
}

/** What web's page says: its name and its hostname (the container's short id, unless set). */
export function webPageCommand(name: string): string[] {
  const root = DOCUMENTED.web.docroot;
  return ["sh", "-c", `mkdir -p ${root} && echo "${name} $(hostname)" >${root}/index.html && exec httpd -f -p ${DOCUMENTED.web.containerPort} -h ${root}`];
}

const SAFE_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export function containerSpecs(n: BridgeNames = DOCUMENTED_NAMES): ContainerSpec[] {
  for (const v of [n.network, n.c1, n.c2, n.other, n.web]) if (!SAFE_NAME.test(v)) throw new Error(`bridge lab: ${JSON.stringify(v)} is not a docker object name`);
  if (!Number.isInteger(n.hostPort) || n.hostPort < 1 || n.hostPort > 65535) throw new Error(`bridge lab: ${n.hostPort} is not a port`);
  const sleep = [...DOCUMENTED.sleep];
  return [
    { name: n.c1, network: n.network, command: sleep },
    { name: n.c2, network: n.network, command: sleep },
    { name: n.other, command: sleep },
    { name: n.web, network: n.network, publish: `${n.hostPort}:${DOCUMENTED.web.containerPort}`, command: webPageCommand(n.web) },
  ];
}

/** A short digest of how a container is built: a container whose label differs is rebuilt. */
export function specDigest(spec: ContainerSpec, image: string): string {
  return createHash("sha256").update(JSON.stringify({ image, network: spec.network ?? null, publish: spec.publish ?? null, command: spec.command })).digest("hex").slice(0, 16);
}

function runCommand(spec: ContainerSpec, image: string, label: string): string {
  return [
    "docker run -d",
    `--name ${shq(spec.name)}`,
    ...(spec.network ? [`--network ${shq(spec.network)}`] : []),
    ...(spec.publish ? [`--publish ${shq(spec.publish)}`] : []),
    label,
    `--label ${shq(`${SPEC_LABEL}=${specDigest(spec, image)}`)}`,
    shq(image),
    ...spec.command.map(shq),
  ].join(" ");
}

export function workloadScript(a: WorkloadArgs, names: BridgeNames = DOCUMENTED_NAMES): string {
  const specs = containerSpecs(names);
  const label = labLabel(LAB_NAME);
  const net = shq(names.network);
  const all = specs.map((s) => shq(s.name)).join(" ");
  const want = specs.map((s) => `${s.name}=${specDigest(s, a.image)}`).join(" ");
  const runs = specs.map((s) => `    ${shq(s.name)}) ${runCommand(s, a.image, label)} ;;`).join("\n");
  const c1 = shq(names.c1);
  const c2 = shq(names.c2);
  const web = names.web;
  return `${BASH_HEADER}
${otherLabsRemoved(LAB_NAME)}deadline=$(( $(date +%s) + ${a.timeoutSec} ))
expired() { [ "$(date +%s)" -ge "$deadline" ]; }
diagnose() {
  echo "--- docker ps -a (lab ${LAB_NAME})" >&2
  docker ps -a --filter label=${shq(`${LAB_LABEL}=${LAB_NAME}`)} --format '{{.Names}} {{.Status}} {{.Networks}} {{.Ports}}' >&2 || true
  for c in ${all}; do
    [ "$(docker inspect --format '{{.State.Running}}' "$c" 2>/dev/null)" = true ] && continue
    echo "--- docker logs --tail 5 $c" >&2; docker logs --tail 5 "$c" >&2 || true
  done
}
# GET / on ADDRESS:PORT with bash's /dev/tcp (the host has no wget or curl): the whole answer.
http_get() {
  timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf "GET / HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n" "$1" >&3 && cat <&3' http_get "$1" "$2"
}

# The network (BR-2): a user-defined bridge network, labelled as the lab's.
have=$(docker network inspect --format '{{.Driver}} {{index .Labels ${JSON.stringify(LAB_LABEL)}}}' ${net} 2>/dev/null || true)
case "$have" in
  "") docker network create -d ${DOCUMENTED.network.driver} ${label} ${net} >/dev/null ;;
  "${DOCUMENTED.network.driver} ${LAB_NAME}") ;;
  *) fail "network ${names.network} exists (driver and lab label: $have), not as this lab builds it (driver ${DOCUMENTED.network.driver}, label ${LAB_LABEL}=${LAB_NAME}); remove it: docker rm -f ${specs.map((s) => s.name).join(" ")}; docker network rm ${names.network}" ;;
esac

# The containers (BR-3..BR-5): keep one that runs as built (same lab and spec labels), else rebuild it.
state=$(docker inspect --type container --format '{{.Name}} {{.State.Running}} {{index .Config.Labels ${JSON.stringify(LAB_LABEL)}}} {{index .Config.Labels ${JSON.stringify(SPEC_LABEL)}}}' ${all} 2>/dev/null || true)
stale=""
missing=""
for w in ${want}; do
  c=\${w%%=*}
  digest=\${w#*=}
  line=$(printf '%s\\n' "$state" | awk -v n="/$c" '$1 == n' | head -n 1)
  if [ "$line" = "/$c true ${LAB_NAME} $digest" ]; then continue; fi
  [ -z "$line" ] || stale="$stale $c"
  missing="$missing $c"
done
if [ -n "$stale" ]; then
  echo "rebuilding (stopped or built otherwise):$stale" >&2
  # shellcheck disable=SC2086
  docker rm -f $stale >/dev/null
fi
if [ -n "$missing" ]; then
  ${a.pull ? ":" : `docker image inspect ${shq(a.image)} >/dev/null 2>&1 || fail "image ${a.image} is not on this host, and the lab does not pull (swarmlab:pull is off)"`}
  run_tmp=$(mktemp -d)
  pids=""
  for c in $missing; do
    case "$c" in
${runs}
      *) fail "unknown container $c" ;;
    esac >/dev/null 2>"$run_tmp/$c.err" &
    pids="$pids $c=$!"
  done
  failed=""
  for p in $pids; do
    wait "\${p#*=}" || failed="$failed \${p%%=*}"
  done
  for c in $failed; do echo "--- docker run $c:" >&2; cat "$run_tmp/$c.err" >&2; done
  rm -rf "$run_tmp"
  [ -z "$failed" ] || { diagnose; fail "could not start:$failed (docker run's errors above)"; }
fi

# Ready: every container runs, web answers on the published port, c2 reaches c1 by name.
ready() {
  running=$(docker inspect --format '{{.State.Running}}' ${all} 2>/dev/null | grep -c '^true$' || true)
  [ "$running" -eq ${specs.length} ] || { why="$running of ${specs.length} containers run"; return 1; }
  page=$(http_get 127.0.0.1 ${names.hostPort} 2>/dev/null | tail -n 1 || true)
  case "$page" in "${web} "*) ;; *) why="web does not answer on port ${names.hostPort} (got: \${page:-nothing})"; return 1 ;; esac
  docker exec ${c2} ping -c 1 -W 2 ${c1} >/dev/null 2>&1 || { why="${names.c2} does not ping ${names.c1} by name"; return 1; }
}
until ready; do
  expired && { diagnose; fail "the bridge lab is not ready after ${a.timeoutSec}s: $why"; }
  sleep 2
done
docker ps --filter label=${shq(`${LAB_LABEL}=${LAB_NAME}`)} --format '{{.Names}} {{.Networks}} {{.Ports}}'
echo "${web} answers on port ${names.hostPort}: $page"
`;
}
