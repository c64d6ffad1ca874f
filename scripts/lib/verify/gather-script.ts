/**
 * The remote half of `gather`: a bash script (built by a pure function) that
 * prints every command output verify needs exactly once, each framed as
 *
 *   @@swarmlab:begin <key>
 *   <stdout of the command, verbatim>
 *   @@swarmlab:end <key> rc=<exit code> bytes=<stdout size>[ ms=<elapsed>]
 *   [@@swarmlab:stderr <key> ... @@swarmlab:stderr-end <key>]
 *
 * and finally `@@swarmlab:done sections=<n>`, so a command that failed, is
 * missing, or was cut off is visible to the parser instead of looking like an
 * empty output. It runs as root (`sudo -n bash -s`, script on stdin) on
 * Debian 12 (iproute2 6.1: `ip -j`) and CentOS 7 (no `ip -j`: text output).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { shellQuote } from "../shell";
import { MARK } from "../framing";
import { DEFAULT_DOCKER_SOCKET, withDockerApi } from "../docker-api";

export const GATHER_SCRIPT_VERSION = 4;

export interface GatherScriptOptions {
  /** Service whose tasks are inspected (`docker exec ... ip addr`); none: no service sections. */
  service?: string;
  /** The lab's overlay network (for the record in the meta section). */
  overlay?: string;
  /** Where docker keeps its namespaces. */
  netnsDir?: string;
  /** Pretend `ip -j` is unavailable (to exercise the CentOS 7 text path). */
  forceText?: boolean;
  /** Seconds after which one command is killed (exit code 124), so a hung docker cannot stall gather. */
  commandTimeout?: number;
  /**
   * The inventory says this host manages the swarm: the manager's listings (node ls, service
   * ps/inspect) start alongside docker info and are kept if docker info agrees. Elsewhere they
   * run only when docker info says the host is a manager after all.
   */
  manager?: boolean;
  /**
   * How the docker sections are read: "auto" (default) asks the engine's API over its socket
   * from one Python process where the host has Python and the socket, else runs the docker CLI;
   * "cli" always runs the CLI.
   */
  dockerClient?: "auto" | "cli";
  /** The engine's socket for the API path. Default /var/run/docker.sock. */
  dockerSocket?: string;
}

/**
 * The API path's client (gather-docker-api.py): one Python process asks the engine for what
 * ten docker CLI runs would, and prints the same sections. Each CLI run costs about half a
 * second of an emulated CPU; this whole client about as much as one.
 */
export const DOCKER_API_CLIENT = withDockerApi(fs.readFileSync(path.join(__dirname, "gather-docker-api.py"), "utf8"));

export const DEFAULT_NETNS_DIR = "/var/run/docker/netns";


function assertSafeName(what: string, value: string): void {
  if (!/^[A-Za-z0-9_.\/-]+$/.test(value)) throw new Error(`${what} ${JSON.stringify(value)} contains characters not allowed here`);
}

/**
 * What the gather asks docker for, as Go templates: only the fields the checks
 * use, in the shapes of `docker inspect` and `docker info` (so the parsers read
 * either). Never a container's or a service's environment (Config.Env,
 * ContainerSpec.Env), nor docker info's proxies, labels or registries.
 *
 * The templates name the Go fields of docker's API types (`.ID`, not the JSON
 * key `Id`): the CLI executes them on those types, and only falls back to the
 * raw JSON when that fails. Checked against the types of docker 20.10 with Go's
 * text/template (see test/fixtures/verify/templates/README.md).
 */
const CONTAINER_LABELS = ["com.docker.swarm.service.name", "com.docker.swarm.task.id", "com.docker.swarm.task.name", "com.docker.swarm.node.id"];
export const INSPECT_FORMAT =
  `{"Id":{{json .ID}},"Name":{{json .Name}},"Config":{"Image":{{json .Config.Image}},"Labels":{` +
  CONTAINER_LABELS.map((l) => `"${l}":{{json (index .Config.Labels "${l}")}}`).join(",") +
  `}},"State":{"Running":{{json .State.Running}}},"NetworkSettings":{"SandboxKey":{{json .NetworkSettings.SandboxKey}},"Networks":{{json .NetworkSettings.Networks}}}}`;
export const SERVICE_FORMAT =
  `{"ID":{{json .ID}},"Spec":{"Name":{{json .Spec.Name}},"Mode":{{json .Spec.Mode}},"TaskTemplate":{"ContainerSpec":{"Image":{{json .Spec.TaskTemplate.ContainerSpec.Image}},` +
  `"Command":{{json .Spec.TaskTemplate.ContainerSpec.Command}},"Args":{{json .Spec.TaskTemplate.ContainerSpec.Args}}},"Networks":{{json .Spec.TaskTemplate.Networks}}},` +
  `"Networks":{{json .Spec.Networks}}},"Endpoint":{"VirtualIPs":{{json .Endpoint.VirtualIPs}}}}`;
const INFO_FIELDS = `"Name":{{json .Name}},"ServerVersion":{{json .ServerVersion}},"OperatingSystem":{{json .OperatingSystem}},"KernelVersion":{{json .KernelVersion}},"Swarm":{{json .Swarm}}`;
/** With the daemon down, newer CLIs fill ServerErrors (and leave the rest empty). */
export const INFO_FORMAT = `{{if .ServerErrors}}{"ServerErrors":{{json .ServerErrors}}}{{else}}{${INFO_FIELDS}}{{end}}`;
/** CLIs whose info has no ServerErrors field (they fail outright when the daemon is down). */
export const INFO_FORMAT_OLD = `{${INFO_FIELDS}}`;

/** Build the gather script. Pure: same options, same text. */
export function buildGatherScript(opts: GatherScriptOptions): string {
  const netnsDir = opts.netnsDir ?? DEFAULT_NETNS_DIR;
  if (opts.service !== undefined) assertSafeName("service", opts.service);
  if (opts.overlay !== undefined) assertSafeName("overlay", opts.overlay);
  assertSafeName("netnsDir", netnsDir);
  const timeout = Math.max(1, Math.floor(opts.commandTimeout ?? 60));
  const dockerSocket = opts.dockerSocket ?? DEFAULT_DOCKER_SOCKET;
  assertSafeName("dockerSocket", dockerSocket);
  return `#!/bin/bash
# swarmlab verify: gather script v${GATHER_SCRIPT_VERSION} (generated; do not edit).
# Prints each command's output once, framed by ${MARK}begin/end markers. The docker CLI calls
# (1-2 s each on an emulated CPU) run concurrently, each group in a background job that frames
# into its own file; the files are printed whole once their job is done, so sections never mix.
# bash 4.2 (CentOS 7) is enough: no EPOCHREALTIME needed (timings are left out without it),
# no \${var@Q}, no wait -n.
export LC_ALL=C
swl_start=\${EPOCHREALTIME/./}
PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export PATH
SWL_NETNS_DIR=${shellQuote(netnsDir)}
SWL_SERVICE=${shellQuote(opts.service ?? "")}
SWL_OVERLAY=${shellQuote(opts.overlay ?? "")}
SWL_FORCE_TEXT=${opts.forceText ? 1 : 0}
SWL_EXPECT_MANAGER=${opts.manager ? 1 : 0}
SWL_INFO_FMT=${shellQuote(INFO_FORMAT)}
SWL_INFO_FMT_OLD=${shellQuote(INFO_FORMAT_OLD)}
SWL_INSPECT_FMT=${shellQuote(INSPECT_FORMAT)}
SWL_SERVICE_FMT=${shellQuote(SERVICE_FORMAT)}
SWL_DOCKER_API=${opts.dockerClient === "cli" ? 0 : 1}
SWL_DOCKER_SOCK=${shellQuote(dockerSocket)}
SWL_TIMEOUT=${timeout}
# The API path's Python client (scripts/lib/docker-api.py, then scripts/lib/verify/gather-docker-api.py), verbatim.
# shellcheck disable=SC2016
SWL_API_PY=${shellQuote(DOCKER_API_CLIENT)}
swl_tmp=$(mktemp -d 2>/dev/null) || swl_tmp=/tmp/swarmlab-gather.$$
mkdir -p "$swl_tmp" || exit 97
trap 'rm -rf "$swl_tmp"' EXIT
swl_count=0
# Each job's scratch directory; the foreground's is j0.
swl_jt="$swl_tmp/j0"
mkdir -p "$swl_jt" || exit 97

# swl_t CMD...: run a program with a time limit (exit code 124 when it hangs).
# swl_t3: the same for the API client, whose every request has that limit of its own (after one
# goes unanswered it asks nothing more): three times as long for all of them together.
if command -v timeout >/dev/null 2>&1; then
  swl_t() { timeout ${timeout} "$@"; }
  swl_t3() { timeout ${timeout * 3} "$@"; }
else
  swl_t() { "$@"; }
  swl_t3() { "$@"; }
fi
# Every docker call of this script goes through the time limit.
docker() {
  swl_docker=$(type -P docker) || { echo "docker: command not found" >&2; return 127; }
  swl_t "$swl_docker" "$@"
}

# Starting a program costs tens of milliseconds on an emulated CPU (65 ms measured under
# TCG), so the framing below uses bash builtins only: the one program a section starts is
# the command it records.

# swl_cat FILE: a file's content, read by bash itself (cat, uname -r: one program start less).
swl_cat() {
  swl_c=""
  IFS= read -r -d '' swl_c <"$1" || [ -n "$swl_c" ] || [ -r "$1" ] || return 1
  printf '%s' "$swl_c"
}
# swl_local CMD...: a program that only reads local state and cannot hang (no time limit, which
# would be one more program start).
swl_local() { "$@"; }

# swl_section KEY CMD [ARGS...]: run CMD once and print its framed stdout.
swl_section() {
  swl_key=$1
  shift
  swl_t0=\${EPOCHREALTIME/./}
  # Shell functions run as they are (they bound their own commands); programs get the time
  # limit, except inside a namespace's shell (swl_namespace), which is bounded as a whole.
  if declare -F "$1" >/dev/null || [ -n "$SWL_BOUNDED" ]; then
    "$@" >"$swl_jt/out" 2>"$swl_jt/err" </dev/null
  else
    swl_t "$@" >"$swl_jt/out" 2>"$swl_jt/err" </dev/null
  fi
  swl_rc=$?
  # Elapsed milliseconds, where bash has EPOCHREALTIME (5.0+; not CentOS 7's 4.2).
  swl_ms=""
  if [ -n "$swl_t0" ]; then swl_ms=" ms=$(( (\${EPOCHREALTIME/./} - swl_t0) / 1000 ))"; fi
  # The whole output, trailing newlines included; with LC_ALL=C its length is its size in bytes.
  swl_o=""
  IFS= read -r -d '' swl_o <"$swl_jt/out"
  printf '${MARK}begin %s\\n%s' "$swl_key" "$swl_o"
  if [ -n "$swl_o" ] && [ "\${swl_o: -1}" != $'\\n' ]; then printf '\\n'; fi
  printf '${MARK}end %s rc=%d bytes=%d%s\\n' "$swl_key" "$swl_rc" "\${#swl_o}" "$swl_ms"
  if [ -s "$swl_jt/err" ]; then
    swl_e=""
    IFS= read -r -d '' swl_e <"$swl_jt/err"
    swl_e=\${swl_e:0:2000}
    # A line of stderr must never pass for a marker.
    swl_e=\${swl_e//$'\\n'@@/$'\\n'@ @}
    [ "\${swl_e:0:2}" = "@@" ] && swl_e="@ @\${swl_e:2}"
    printf '${MARK}stderr %s\\n%s' "$swl_key" "$swl_e"
    if [ "\${swl_e: -1}" != $'\\n' ]; then printf '\\n'; fi
    printf '${MARK}stderr-end %s\\n' "$swl_key"
  fi
  swl_count=$((swl_count + 1))
}

# swl_job N CMD...: run CMD (which prints framed sections) with its own scratch directory,
# its sections into $swl_tmp/jN.framed and their count into $swl_tmp/jN.count. Run it with &.
swl_job() {
  swl_jt="$swl_tmp/j$1"
  shift
  mkdir -p "$swl_jt" || return 97
  swl_count=0
  "$@" >"$swl_jt.framed"
  echo "$swl_count" >"$swl_jt.count"
}

# swl_collect N PID [keep]: wait for job N, then print its sections (unless keep=0) and count them.
swl_collect() {
  wait "$2"
  [ "\${3:-1}" = 1 ] || return 0
  [ -f "$swl_tmp/j$1.framed" ] && cat "$swl_tmp/j$1.framed"
  swl_n=0
  [ -f "$swl_tmp/j$1.count" ] && read -r swl_n <"$swl_tmp/j$1.count"
  swl_count=$((swl_count + swl_n))
}

swl_meta() {
  printf 'script_version=%s\\n' ${GATHER_SCRIPT_VERSION}
  printf 'ip_json=%s\\n' "$SWL_IP_JSON"
  printf 'netns_dir=%s\\n' "$SWL_NETNS_DIR"
  printf 'service=%s\\n' "$SWL_SERVICE"
  printf 'overlay=%s\\n' "$SWL_OVERLAY"
  printf 'uid=%s\\n' "$EUID"
  printf 'is_manager=%s\\n' "$SWL_IS_MANAGER"
  printf 'expect_manager=%s\\n' "$SWL_EXPECT_MANAGER"
  printf 'docker_client=%s\\n' "$SWL_DOCKER_CLIENT"
  TZ=UTC printf 'date=%(%Y-%m-%dT%H:%M:%SZ)T\\n' -1
}

# One stat for all of them: "<name> <inode>", the host's own as @host.
swl_netns_inodes() {
  stat -L -c '%i %n' /proc/self/ns/net "$SWL_NETNS_DIR"/* 2>/dev/null >"$swl_jt/inodes"
  while read -r swl_i swl_n; do
    if [ "$swl_n" = /proc/self/ns/net ]; then printf '@host %s\\n' "$swl_i"; else printf '%s %s\\n' "\${swl_n##*/}" "$swl_i"; fi
  done <"$swl_jt/inodes"
}

# docker info, narrowed to what the checks use. CLIs whose info lacks ServerErrors reject
# the first template; they get the same fields without it.
swl_docker_info() {
  docker info --format "$SWL_INFO_FMT" >"$swl_jt/info" 2>"$swl_jt/info-err"
  swl_r=$?
  if [ "$swl_r" -ne 0 ] && grep -q 'ServerErrors' "$swl_jt/info-err"; then
    docker info --format "$SWL_INFO_FMT_OLD"
    return
  fi
  cat "$swl_jt/info"
  cat "$swl_jt/info-err" >&2
  return "$swl_r"
}

# swl_listing CMD...: CMD --format '{{json .}}' (one JSON object per line), or CMD's table on
# CLIs that have no --format for it.
swl_listing() {
  "$@" --format '{{json .}}' 2>"$swl_jt/fmt-err"
  swl_r=$?
  if [ "$swl_r" -ne 0 ] && grep -q -- 'unknown flag: --format' "$swl_jt/fmt-err"; then
    "$@"
    return
  fi
  cat "$swl_jt/fmt-err" >&2
  return "$swl_r"
}

swl_manager_sections() {
  swl_section docker-node-ls swl_listing docker node ls
  [ -n "$SWL_SERVICE" ] || return 0
  swl_section docker-service-ps swl_listing docker service ps "$SWL_SERVICE" --no-trunc
  swl_section docker-service-inspect docker service inspect --format "$SWL_SERVICE_FMT" "$SWL_SERVICE"
}

# Job 1: docker info (is this a manager?); on a host the inventory calls a worker that turns
# out to manage the swarm, the manager's listings follow here.
swl_job_info() {
  swl_section docker-info swl_docker_info
  if grep -q '"ControlAvailable":true' "$swl_jt/out"; then echo 1; else echo 0; fi >"$swl_tmp/is_manager"
  if [ "$SWL_EXPECT_MANAGER" != 1 ] && [ "$(cat "$swl_tmp/is_manager")" = 1 ]; then swl_manager_sections; fi
}

# Job 5: every network, by ID, then all of them inspected in one call.
swl_network_inspect() {
  [ -s "$swl_jt/ids" ] || { echo '[]'; return 0; }
  # shellcheck disable=SC2046
  docker network inspect $(cat "$swl_jt/ids")
}
swl_job_networks() {
  swl_section docker-network-ids docker network ls -q --no-trunc
  if [ "$swl_rc" -ne 0 ]; then return; fi
  cp "$swl_jt/out" "$swl_jt/ids"
  swl_section docker-network-inspect swl_network_inspect
}

# Job 6: the running containers, inspected (narrowly) in one call, then one exec per task of
# the service (concurrently): ip addr and ip route from ONE docker exec.
swl_container_inspect() {
  [ -s "$swl_jt/ids" ] || { echo '[]'; return 0; }
  # shellcheck disable=SC2046
  docker inspect --format "$SWL_INSPECT_FMT" $(cat "$swl_jt/ids")
}
# The service's running tasks: the lines of the inspect whose service label is ours.
swl_tasks() {
  [ -s "$swl_jt/inspect" ] && [ -n "$SWL_SERVICE" ] || return 0
  swl_re='^[{]"Id":"([0-9a-f]+)"'
  while IFS= read -r swl_line; do
    [[ $swl_line =~ $swl_re ]] || continue
    case "$swl_line" in
      *'"com.docker.swarm.service.name":"'"$SWL_SERVICE"'"'*'"State":{"Running":true}'*) echo "\${BASH_REMATCH[1]}" ;;
    esac
  done <"$swl_jt/inspect"
}
# swl_exec_ip CID: the task's own view (ip addr, then ip route) from ONE docker exec;
# the two halves become the sections exec-ip-addr/CID and exec-ip-route/CID.
swl_exec_ip() {
  docker exec "$1" sh -c 'ip addr show; echo "@@swl-split rc=$?"; ip route show' >"$swl_jt/exec" 2>"$swl_jt/exec-err" </dev/null
  swl_exec_rc=$?
  if ! grep -q '^@@swl-split rc=' "$swl_jt/exec"; then
    # No sh in the image (or exec failed): one exec per command, as a person would type them.
    docker exec "$1" ip addr show >"$swl_jt/exec" 2>"$swl_jt/exec-err" </dev/null
    echo "@@swl-split rc=$?" >>"$swl_jt/exec"
    docker exec "$1" ip route show >>"$swl_jt/exec" 2>>"$swl_jt/exec-err" </dev/null
    swl_exec_rc=$?
  fi
}
swl_exec_part() {
  cat "$swl_jt/exec-err" >&2
  if [ "$1" = addr ]; then
    sed '/^@@swl-split rc=/,$d' "$swl_jt/exec"
    return "$(sed -n 's/^@@swl-split rc=\\([0-9]*\\)$/\\1/p' "$swl_jt/exec")"
  fi
  sed '1,/^@@swl-split rc=/d' "$swl_jt/exec"
  return "$swl_exec_rc"
}
swl_exec_sections() {
  swl_exec_ip "$1"
  swl_section "exec-ip-addr/$1" swl_exec_part addr
  swl_section "exec-ip-route/$1" swl_exec_part route
}
swl_job_containers() {
  swl_section docker-container-ids docker ps -q --no-trunc
  if [ "$swl_rc" -ne 0 ]; then return; fi
  cp "$swl_jt/out" "$swl_jt/ids"
  swl_section docker-inspect swl_container_inspect
  if [ "$swl_rc" -ne 0 ]; then return; fi
  cp "$swl_jt/out" "$swl_jt/inspect"
  swl_k=0
  swl_pids=""
  for swl_cid in $(swl_tasks); do
    swl_k=$((swl_k + 1))
    swl_job "6.$swl_k" swl_exec_sections "$swl_cid" &
    swl_pids="$swl_pids $!"
  done
  swl_k=0
  for swl_p in $swl_pids; do
    swl_k=$((swl_k + 1))
    swl_collect "6.$swl_k" "$swl_p"
  done
}

# The API path: one Python process asks the engine over its socket for every docker section
# (tasks' execs included) and frames them itself. Where that Python cannot even start (too old,
# broken), it printed nothing: the CLI jobs' sections are gathered here instead, one after another.
swl_job_api() {
  printf '%s' "$SWL_API_PY" >"$swl_tmp/api.py"
  SWL_SERVICE="$SWL_SERVICE" SWL_TMP="$swl_tmp" SWL_TIMEOUT="$SWL_TIMEOUT" SWL_DOCKER_SOCK="$SWL_DOCKER_SOCK" \
    SWL_EXPECT_MANAGER="$SWL_EXPECT_MANAGER" swl_t3 "$SWL_PY" -S "$swl_tmp/api.py" >"$swl_jt/api.out" 2>"$swl_jt/api.err" </dev/null
  if [ -s "$swl_tmp/api-count" ]; then
    read -r swl_count <"$swl_tmp/api-count"
    swl_o=""
    IFS= read -r -d '' swl_o <"$swl_jt/api.out"
    printf '%s' "$swl_o"
    return 0
  fi
  if [ -s "$swl_jt/api.out" ]; then
    # It stopped part-way (killed by the time limit): keep what it framed; the rest is missing.
    swl_o=""
    IFS= read -r -d '' swl_o <"$swl_jt/api.out"
    printf '%s' "$swl_o"
    swl_count=$(grep -c '^${MARK}end ' "$swl_jt/api.out")
    return 0
  fi
  echo cli >"$swl_tmp/docker_client"
  swl_job_info
  [ "$SWL_EXPECT_MANAGER" = 1 ] && [ "$(cat "$swl_tmp/is_manager")" = 1 ] && swl_manager_sections
  swl_job_networks
  swl_job_containers
}

# ss -H (no header) is missing from older iproute2; the parser skips the header line then.
swl_ss() {
  swl_t ss -Hlntu 2>/dev/null || swl_t ss -lntu
}

# swl_namespace_body KEY-SUFFIX ETHTOOL: run inside the namespace (by swl_namespace): links
# (with details), addresses and routes, and with ETHTOOL=1 the statistics of each veth.
swl_namespace_body() {
  SWL_BOUNDED=1
  swl_count=0
  # shellcheck disable=SC2086
  swl_section "ip-link@$1" ip $SWL_J -d link show
  # shellcheck disable=SC2086
  swl_section "ip-addr@$1" ip $SWL_J addr show
  # shellcheck disable=SC2086
  swl_section "ip-route@$1" ip $SWL_J route show
  if [ "$2" = 1 ]; then
    ip -o link show type veth >"$swl_jt/veths" 2>/dev/null
    swl_re='^[0-9]+: ([^:@ ]+)'
    while IFS= read -r swl_line; do
      [[ $swl_line =~ $swl_re ]] || continue
      swl_section "ethtool@$1/\${BASH_REMATCH[1]}" ethtool -S "\${BASH_REMATCH[1]}"
    done <"$swl_jt/veths"
  fi
  echo "$swl_count" >"$swl_jt/count"
}

# swl_namespace KEY-SUFFIX NS: one shell inside namespace NS (the host's for @host) prints
# its sections; the time limit bounds that shell as a whole.
swl_namespace() {
  echo 0 >"$swl_jt/count"
  # The inner shell gets its arguments as $1, not from this one (SC2016 is the point here).
  # shellcheck disable=SC2016
  if [ "$2" = "@host" ]; then
    swl_t bash -c 'swl_namespace_body "$1" 0' swl "$1"
  else
    swl_t nsenter --net="$SWL_NETNS_DIR/$2" bash -c 'swl_namespace_body "$1" 1' swl "$1"
  fi
  read -r swl_n <"$swl_jt/count"
  swl_count=$((swl_count + swl_n))
}
export -f swl_section swl_namespace_body
export swl_tmp swl_jt SWL_J

# Which iproute2 are we on? Debian 12 prints JSON for -j, CentOS 7 rejects it.
SWL_J=""
SWL_IP_JSON=0
if [ "$SWL_FORCE_TEXT" != 1 ]; then
  case "$(ip -j link show lo 2>/dev/null)" in
    \\[*) SWL_J="-j"; SWL_IP_JSON=1 ;;
  esac
fi

# The docker sections start first: they are the slow part. The engine's API where this host
# has Python and the socket (one process), else the CLI (concurrent jobs, one program per call).
SWL_DOCKER_CLIENT=cli
if [ "$SWL_DOCKER_API" = 1 ] && [ -S "$SWL_DOCKER_SOCK" ] && type -P docker >/dev/null; then
  SWL_PY=$(type -P python3 || type -P python || type -P python2)
  if [ -n "$SWL_PY" ]; then SWL_DOCKER_CLIENT=api; fi
fi
if [ "$SWL_DOCKER_CLIENT" = api ]; then
  swl_job 1 swl_job_api &
  swl_p1=$!
else
swl_job 1 swl_job_info &
swl_p1=$!
if [ "$SWL_EXPECT_MANAGER" = 1 ]; then
  # The inventory says this host manages the swarm: its listings start now, alongside docker
  # info, and are kept only if docker info agrees.
  swl_job 2 swl_section docker-node-ls swl_listing docker node ls &
  swl_p2=$!
  swl_p3="" swl_p4=""
  if [ -n "$SWL_SERVICE" ]; then
    swl_job 3 swl_section docker-service-ps swl_listing docker service ps "$SWL_SERVICE" --no-trunc &
    swl_p3=$!
    swl_job 4 swl_section docker-service-inspect docker service inspect --format "$SWL_SERVICE_FMT" "$SWL_SERVICE" &
    swl_p4=$!
  fi
fi
swl_job 5 swl_job_networks &
swl_p5=$!
swl_job 6 swl_job_containers &
swl_p6=$!
fi

# Meanwhile, in the foreground: the host, its namespaces (one shell inside each).
swl_section os-release swl_cat /etc/os-release
swl_section hostname swl_cat /proc/sys/kernel/hostname
swl_section virt swl_local systemd-detect-virt
swl_section kernel swl_cat /proc/sys/kernel/osrelease
swl_section netns-ls swl_local ls -1 "$SWL_NETNS_DIR"
swl_section netns-inodes swl_netns_inodes
swl_section ss swl_ss
swl_namespace host @host
for swl_p in "$SWL_NETNS_DIR"/*; do
  [ -e "$swl_p" ] || continue
  swl_name=\${swl_p##*/}
  swl_namespace "netns/$swl_name" "$swl_name"
done

swl_collect 1 "$swl_p1"
SWL_IS_MANAGER=0
[ -f "$swl_tmp/is_manager" ] && read -r SWL_IS_MANAGER <"$swl_tmp/is_manager"
[ -f "$swl_tmp/docker_client" ] && read -r SWL_DOCKER_CLIENT <"$swl_tmp/docker_client"
if [ "$SWL_DOCKER_CLIENT" = api ]; then
  :
elif [ "$SWL_EXPECT_MANAGER" = 1 ]; then
  swl_collect 2 "$swl_p2" "$SWL_IS_MANAGER"
  [ -z "$swl_p3" ] || swl_collect 3 "$swl_p3" "$SWL_IS_MANAGER"
  [ -z "$swl_p4" ] || swl_collect 4 "$swl_p4" "$SWL_IS_MANAGER"
fi
if [ -n "\${swl_p5:-}" ]; then
  swl_collect 5 "$swl_p5"
  swl_collect 6 "$swl_p6"
fi
swl_section meta swl_meta
swl_total=""
if [ -n "$swl_start" ]; then swl_total=" ms=$(( (\${EPOCHREALTIME/./} - swl_start) / 1000 ))"; fi
printf '${MARK}done sections=%d%s\\n' "$swl_count" "$swl_total"
`;
}
