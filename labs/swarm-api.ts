/**
 * What the swarm labs' scripts on the manager ask the Docker engine through its API
 * (swarm-api.py, after scripts/lib/docker-api.py): one Python process where the CLI path runs the
 * docker CLI again and again, each run about a second of the manager's one emulated CPU while
 * the engine starts the tasks (on a dev lab the workload took 25-32 s this way, 42-48 s with a
 * `docker service ps` every 2 s). Hosts without Python or without the engine's socket take the
 * scripts' CLI path.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { DEFAULT_DOCKER_SOCKET, withDockerApi } from "../scripts/lib/docker-api";
import { shellQuote as shq } from "../scripts/lib/shell";

export const SWARM_API_PY = withDockerApi(fs.readFileSync(path.join(__dirname, "swarm-api.py"), "utf8"));

/**
 * Shell lines defining `swl_api OUT SETTING...` (runs swarm-api.py with SWL_* settings such as
 * SWL_MODE=look, its lines to OUT and its stderr to OUT.err; returns 2 without running where the
 * host has no Python or no engine socket) and `api_lines OUT KEY` (the fields after KEY of OUT's
 * lines that start with KEY). Once per script, before whatever uses them.
 */
export function swarmApiPrelude(dockerSocket = DEFAULT_DOCKER_SOCKET): string {
  return `# shellcheck disable=SC2016 # Python's text, not the shell's
swl_api_py=${shq(SWARM_API_PY)}
swl_api() {
  local out=$1 py
  shift
  py=$(command -v python3 || command -v python2 || command -v python) || return 2
  [ -S ${shq(dockerSocket)} ] || return 2
  env "$@" SWL_DOCKER_SOCK=${shq(dockerSocket)} SWL_TIMEOUT=10 "$py" -c "$swl_api_py" >"$out" 2>"$out.err"
}
api_lines() { awk -v k="$2" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "$1"; }
swl_api_dir=$(mktemp -d)
trap 'rm -rf "$swl_api_dir"' EXIT
`;
}

export interface SwarmWaitArgs {
  /** Node hostnames that must be Ready. */
  nodes: readonly string[];
  /** The service whose tasks must run, `replicas` of them one per node, and its overlay. */
  service?: { name: string; replicas: number; overlay: string };
  timeoutSec: number;
}

/**
 * Shell lines defining `api_wait` (after swarmApiPrelude): runs the wait of swarm-api.py and
 * returns 0 with its lines for `waited KEY`, fails the script (after \`diagnose\`) when the wait
 * times out, and returns 1 without waiting where the host has no Python or no engine socket. The
 * caller's script defines \`deadline\` (seconds since the epoch) and \`diagnose\`.
 */
export function apiWaitFunction(a: SwarmWaitArgs): string {
  const settings = [
    "SWL_MODE=wait",
    `SWL_NODES=${shq(a.nodes.join(" "))}`,
    ...(a.service
      ? [
          `SWL_SERVICE=${shq(a.service.name)}`,
          `SWL_REPLICAS=${a.service.replicas}`,
          `SWL_SPREAD=${Math.min(a.service.replicas, a.nodes.length)}`,
          `SWL_OVERLAY=${shq(a.service.overlay)}`,
        ]
      : []),
    'SWL_DEADLINE="$deadline"',
    `SWL_WAIT_SEC=${a.timeoutSec}`,
  ].join(" ");
  return `api_wait() {
  local rc=0
  swl_api "$swl_api_dir/wait" ${settings} || rc=$?
  [ "$rc" -ne 2 ] || return 1
  if [ "$rc" -ne 0 ]; then
    diagnose
    fail "$(tail -n 1 "$swl_api_dir/wait.err")"
  fi
}
waited() { api_lines "$swl_api_dir/wait" "$1"; }
`;
}

/**
 * Shell lines (after swarmApiPrelude) that run the look of swarm-api.py (objects labelled \`label\`=<lab>): \`sw_api\` is 1 and
 * \`looked KEY\` gives its lines when it answered, else \`sw_api\` is 0 (the caller lists with
 * the CLI).
 */
export function apiLook(a: { label: string; lab: string; overlay?: string; service?: string }): string {
  const settings = [
    "SWL_MODE=look",
    `SWL_LABEL=${shq(a.label)}`,
    `SWL_LAB=${shq(a.lab)}`,
    ...(a.overlay ? [`SWL_OVERLAY=${shq(a.overlay)}`] : []),
    ...(a.service ? [`SWL_SERVICE=${shq(a.service)}`] : []),
  ].join(" ");
  return `looked() { api_lines "$swl_api_dir/look" "$1"; }
if swl_api "$swl_api_dir/look" ${settings}; then sw_api=1; else sw_api=0; fi
`;
}
