/**
 * The swarm labs' wait for their service through the Docker engine's API (swarm-wait.py): one
 * Python process on the manager instead of a docker CLI run every two seconds, each of which
 * costs about a second of the manager's one emulated CPU while the engine starts the tasks
 * (measured on the lab: the workload script's own CPU went from ~21 s to ~16 s with polls four
 * times rarer). Hosts without Python or without the engine's socket take the caller's CLI path.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { withDockerApi } from "../scripts/lib/docker-api";
import { shellQuote as shq } from "../scripts/lib/shell";

export const SWARM_WAIT_PY = withDockerApi(fs.readFileSync(path.join(__dirname, "swarm-wait.py"), "utf8"));

export interface SwarmWaitArgs {
  /** Node hostnames that must be Ready. */
  nodes: readonly string[];
  /** The service whose tasks must run, `replicas` of them one per node, and its overlay. */
  service?: { name: string; replicas: number; overlay: string };
  timeoutSec: number;
  /** The engine's socket (tests). Default /var/run/docker.sock. */
  dockerSocket?: string;
}

/**
 * Shell lines defining `api_wait`: runs the waiter and returns 0 with its lines in "$swl_wait"
 * (see swarm-wait.py), fails the script (after `diagnose`) when the wait times out, and returns
 * 1 without waiting where the host has no Python or no engine socket. The caller's script
 * defines `deadline` (seconds since the epoch) and `diagnose`.
 */
export function apiWaitFunction(a: SwarmWaitArgs): string {
  const sock = a.dockerSocket ?? "/var/run/docker.sock";
  const env = [
    `SWL_DOCKER_SOCK=${shq(sock)}`,
    "SWL_TIMEOUT=10",
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
  return `swl_wait=$(mktemp)
trap 'rm -f "$swl_wait" "$swl_wait.err"' EXIT
api_wait() {
  local py
  py=$(command -v python3 || command -v python2 || command -v python) || return 1
  [ -S ${shq(sock)} ] || return 1
  # shellcheck disable=SC2016 # Python's text, not the shell's
  if ! ${env} "$py" -c ${shq(SWARM_WAIT_PY)} >"$swl_wait" 2>"$swl_wait.err"; then
    diagnose
    fail "$(tail -n 1 "$swl_wait.err")"
  fi
}
# The waiter's lines: waited KEY prints the fields after KEY of its lines that start with KEY.
waited() { awk -v k="$1" '$1 == k { $1 = ""; sub(/^ /, ""); print }' "$swl_wait"; }
`;
}
