/**
 * Bash scripts run inside the guests by remote.Command. Each one is idempotent: running it
 * a second time on a finished guest changes nothing and succeeds. Pure functions producing
 * text, shellcheck-ed in the unit tests.
 */

/** Single-quotes a value for bash. */
export function shq(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const HEADER = `set -euo pipefail
fail() { echo "swarmlab: $*" >&2; exit 1; }
`;

/**
 * Wraps a script so it runs as root with the SSH session's stdin left free (for secrets):
 * the script text travels in a quoted here-document, never through stdin.
 */
export function asRoot(step: string, script: string): string {
  if (script.includes("\nSWARMLAB_SCRIPT\n")) throw new Error("script contains its own delimiter");
  return `sudo -n bash -c "$(cat <<'SWARMLAB_SCRIPT'\n${script}\nSWARMLAB_SCRIPT\n)" ${shq("swarmlab-" + step)}`;
}

/**
 * Runs once the guest answers SSH as the lab user, which cloud-init's early (init) stage has
 * created; its later stages do nothing the lab needs, so they are not waited for.
 * Makes sure of the hostname and reports who the guest is.
 */
export function waitReadyScript(expectedHostname: string): string {
  return `${HEADER}
actual=$(hostname)
if [ "$actual" != ${shq(expectedHostname)} ]; then
  hostnamectl set-hostname ${shq(expectedHostname)} 2>/dev/null || hostname ${shq(expectedHostname)}
fi
. /etc/os-release
echo "host=$(hostname) os=\${ID}-\${VERSION_ID:-unknown}"
`;
}

export interface DockerInstallArgs {
  /** Version prefix to pin, e.g. "20.10" or "24.0.7"; empty for the distribution's current one. */
  version?: string;
}

/**
 * Installs and starts the Docker engine. Skips installation where Docker already exists;
 * CentOS 7 is end of life, so its repositories are pointed at the vault first.
 */
export function dockerInstallScript(a: DockerInstallArgs): string {
  const want = a.version ?? "";
  return `${HEADER}
want=${shq(want)}
if command -v dockerd >/dev/null 2>&1; then
  echo "docker already installed: $(dockerd --version)" >&2
else
  . /etc/os-release
  case "$ID" in
    centos|rhel|rocky|almalinux)
      if [ "$ID" = centos ] && [ "\${VERSION_ID%%.*}" = 7 ]; then
        # CentOS 7 reached end of life: its mirrorlist is gone, the packages live in the vault.
        sed -i -e 's/^mirrorlist=/#mirrorlist=/' \\
          -e 's|^#\\{0,1\\}baseurl=http://mirror.centos.org|baseurl=http://vault.centos.org|' \\
          /etc/yum.repos.d/CentOS-*.repo
      fi
      yum install -y -q yum-utils
      yum-config-manager --add-repo https://download.docker.com/linux/centos/docker-ce.repo
      pkg=docker-ce
      if [ -n "$want" ]; then
        v=$(yum list docker-ce --showduplicates -q 2>/dev/null | awk '{print $2}' | sed 's/^[0-9]*://' | grep "^$want" | sort -V | tail -n 1 || true)
        [ -n "$v" ] || fail "docker-ce $want is not available from the Docker repository"
        pkg="docker-ce-$v"
      fi
      yum install -y -q "$pkg" docker-ce-cli containerd.io
      ;;
    debian|ubuntu)
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -q
      pkg=docker.io
      if [ -n "$want" ]; then
        v=$(apt-cache madison docker.io | awk -F'|' '{gsub(/ /,"",$2); print $2}' | grep -E "^([0-9]+:)?$want" | head -n 1 || true)
        [ -n "$v" ] || fail "docker.io $want is not available from this distribution's repositories"
        pkg="docker.io=$v"
      fi
      apt-get install -y -q "$pkg"
      ;;
    *)
      fail "cannot install Docker on $ID: supported are CentOS/RHEL, Debian and Ubuntu, or an image with Docker already installed"
      ;;
  esac
fi
systemctl enable docker >/dev/null 2>&1 || true
systemctl start docker
for _ in $(seq 1 90); do
  docker info >/dev/null 2>&1 && break
  sleep 1
done
docker info >/dev/null 2>&1 || { systemctl status docker --no-pager >&2 || true; fail "the Docker daemon did not start"; }
server=$(docker version --format '{{.Server.Version}}')
if [ -n "$want" ]; then
  case "$server" in
    "$want"*) ;;
    *) fail "Docker $server is installed, but $want was requested; remove it or change swarmlab:dockerVersion" ;;
  esac
fi
# tcpdump lets verify watch VXLAN on the wire (PATH-4); the lab works without it.
if ! command -v tcpdump >/dev/null 2>&1; then
  . /etc/os-release
  case "$ID" in
    centos|rhel|rocky|almalinux) yum install -y -q tcpdump ;;
    debian|ubuntu) apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q tcpdump ;;
  esac >&2 || echo "swarmlab: could not install tcpdump; verify will skip the capture check PATH-4" >&2
fi
echo "docker=$server"
`;
}

/**
 * The address pool of `docker swarm init` that gives the ingress network the range the
 * documented engine (17.03) used, 10.255.0.0/16 (ING-1, ING-2). Newer engines default to
 * 10.0.0.0/24. Networks with an explicit subnet, like demonet, are not affected.
 */
export const DOCUMENTED_INGRESS_POOL = { pool: "10.255.0.0/16", maskLength: 16 };

/** `docker swarm init` on the manager (CL-1); prints the worker join token on stdout. */
export function swarmInitScript(advertiseAddr: string, pool = DOCUMENTED_INGRESS_POOL): string {
  return `${HEADER}
state=$(docker info --format '{{.Swarm.LocalNodeState}}')
if [ "$state" != active ]; then
  # Its output repeats the join token: keep it out of the logs.
  docker swarm init --advertise-addr ${shq(advertiseAddr)} \\
    --default-addr-pool ${shq(pool.pool)} --default-addr-pool-mask-length ${pool.maskLength} >/dev/null
  echo "swarm initialised, advertising ${advertiseAddr}" >&2
fi
[ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ] || fail "this node is in a swarm but is not a manager"
docker swarm join-token -q worker
`;
}

/** `docker swarm join` on a worker (CL-1); the join token arrives on stdin, never in the command line of the step. */
export function swarmJoinScript(managerAddr: string): string {
  return `${HEADER}
IFS= read -r token || true
[ -n "$token" ] || fail "no join token on stdin"
state=$(docker info --format '{{.Swarm.LocalNodeState}}')
if [ "$state" = active ]; then
  if docker info --format '{{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}' | grep -q ${shq(managerAddr + ":2377")}; then
    echo "already a member of the swarm managed by ${managerAddr}" >&2
    exit 0
  fi
  fail "this node is already in another swarm; leave it first (docker swarm leave)"
fi
docker swarm join --token "$token" ${shq(managerAddr + ":2377")} >&2
`;
}

export interface WorkloadArgs {
  overlay: string;
  subnet: string;
  service: string;
  replicas: number;
  image: string;
  command: string[];
  /** false: use the image present on the nodes (no registry lookup). */
  pull: boolean;
  /** Node hostnames that must be Ready before the service is created (so tasks spread). */
  nodes: string[];
  timeoutSec: number;
}

/**
 * WL-1 and WL-2: the overlay network and the service, then waits until one task runs on
 * each node. It runs as soon as the manager has a swarm: the service allows one replica per
 * node, so the task of a node still booting or joining waits for it (the swarm does not move
 * tasks once they run). Run again on a running lab it rolls a changed image out (`docker
 * service update --image`) and spreads tasks stacked on one node (a service made without the
 * per-node limit). On timeout it prints `docker service ps --no-trunc` so the user sees why.
 */
export function workloadScript(a: WorkloadArgs): string {
  const create = [
    "docker service create --detach",
    ...(a.pull ? [] : ["--no-resolve-image"]),
    `--replicas ${a.replicas}`,
    ...(a.replicas <= a.nodes.length ? ["--replicas-max-per-node 1"] : []),
    `--network ${shq(a.overlay)}`,
    `--name ${shq(a.service)}`,
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
deadline=$(( $(date +%s) + ${a.timeoutSec} ))
expired() { [ "$(date +%s)" -ge "$deadline" ]; }
diagnose() {
  echo "--- docker node ls" >&2; docker node ls >&2 || true
  echo "--- docker service ps --no-trunc ${a.service}" >&2; docker service ps --no-trunc ${shq(a.service)} >&2 || true
}
if docker network inspect ${shq(a.overlay)} >/dev/null 2>&1; then
  have=$(docker network inspect ${shq(a.overlay)} --format '{{range .IPAM.Config}}{{.Subnet}}{{end}}')
  [ "$have" = ${shq(a.subnet)} ] || fail "network ${a.overlay} exists with subnet $have, the lab needs ${a.subnet}; remove it (docker network rm ${a.overlay})"
else
  docker network create -d overlay --subnet ${shq(a.subnet)} ${shq(a.overlay)} >&2
fi
spread() {
  running=$(docker service ps ${shq(a.service)} --filter desired-state=running --format '{{.Node}} {{.CurrentState}}' | awk '$2=="Running"')
  count=$(printf '%s\\n' "$running" | awk 'NF' | wc -l)
  nodes=$(printf '%s\\n' "$running" | awk 'NF {print $1}' | sort -u | wc -l)
  [ "$count" -eq ${a.replicas} ] && [ "$nodes" -eq ${Math.min(a.replicas, a.nodes.length)} ]
}
# An image reference as the swarm records it, without digest and with the implied :latest tag.
normalise() { local r="\${1%%@*}"; case "\${r##*/}" in *:*) ;; *) r="$r:latest" ;; esac; printf '%s' "$r"; }
if ! docker service inspect ${shq(a.service)} >/dev/null 2>&1; then
  ${create} >&2
elif [ "$(normalise "$(docker service inspect --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}' ${shq(a.service)})")" != "$(normalise ${shq(a.image)})" ]; then
  # swarmlab:workloadImage changed: roll the new image out, task by task.
  ${update} >&2
  while [ "$(docker service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' ${shq(a.service)})" = updating ]; do
    expired && { diagnose; fail "service ${a.service} is still updating to ${a.image} after ${a.timeoutSec}s"; }
    sleep 2
  done
  state=$(docker service inspect --format '{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}' ${shq(a.service)})
  case "$state" in ""|completed) ;; *) diagnose; fail "the update of ${a.service} to ${a.image} ended $state" ;; esac
fi
for node in ${a.nodes.map(shq).join(" ")}; do
  until [ "$(docker node ls --filter "name=$node" --format '{{.Hostname}} {{.Status}}' | awk -v n="$node" '$1==n {print $2}')" = Ready ]; do
    expired && { diagnose; fail "node $node is not Ready after ${a.timeoutSec}s"; }
    sleep 2
  done
done
if ! spread && [ "$count" -eq ${a.replicas} ]; then
  # Every task runs, but stacked: the swarm had moved a task away from a node that was gone
  # and does not move it back by itself, so restart the tasks to spread them again.
  docker service update --force --detach ${shq(a.service)} >&2
fi
while :; do
  spread && break
  expired && { diagnose; fail "service ${a.service} does not have ${a.replicas} running tasks spread over the nodes after ${a.timeoutSec}s"; }
  sleep 2
done
docker service ps ${shq(a.service)} --filter desired-state=running --format '{{.Name}} {{.Node}} {{.CurrentState}}'
`;
}
