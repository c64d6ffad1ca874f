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
import { ParseError, splitLines } from "./errors";

export const GATHER_SCRIPT_VERSION = 1;
export const MARK = "@@swarmlab:";

export interface GatherScriptOptions {
  /** Service whose tasks are inspected (`docker exec ... ip addr`). */
  service: string;
  /** The lab's overlay network (for the record in the meta section). */
  overlay: string;
  /** Where docker keeps its namespaces. */
  netnsDir?: string;
  /** Pretend `ip -j` is unavailable (to exercise the CentOS 7 text path). */
  forceText?: boolean;
  /** Seconds after which one command is killed (exit code 124), so a hung docker cannot stall gather. */
  commandTimeout?: number;
}

export const DEFAULT_NETNS_DIR = "/var/run/docker/netns";

/** Quote a value for bash (single quotes). */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function assertSafeName(what: string, value: string): void {
  if (!/^[A-Za-z0-9_.\/-]+$/.test(value)) throw new Error(`${what} ${JSON.stringify(value)} contains characters not allowed here`);
}

/** Build the gather script. Pure: same options, same text. */
export function buildGatherScript(opts: GatherScriptOptions): string {
  const netnsDir = opts.netnsDir ?? DEFAULT_NETNS_DIR;
  assertSafeName("service", opts.service);
  assertSafeName("overlay", opts.overlay);
  assertSafeName("netnsDir", netnsDir);
  const timeout = Math.max(1, Math.floor(opts.commandTimeout ?? 60));
  return `#!/bin/bash
# swarmlab verify: gather script v${GATHER_SCRIPT_VERSION} (generated; do not edit).
# Prints each command's output once, framed by ${MARK}begin/end markers.
export LC_ALL=C
PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
export PATH
SWL_NETNS_DIR=${shellQuote(netnsDir)}
SWL_SERVICE=${shellQuote(opts.service)}
SWL_OVERLAY=${shellQuote(opts.overlay)}
SWL_FORCE_TEXT=${opts.forceText ? 1 : 0}
swl_tmp=$(mktemp -d 2>/dev/null) || swl_tmp=/tmp/swarmlab-gather.$$
mkdir -p "$swl_tmp" || exit 97
trap 'rm -rf "$swl_tmp"' EXIT
swl_count=0

# swl_t CMD...: run a program with a time limit (exit code 124 when it hangs).
if command -v timeout >/dev/null 2>&1; then
  swl_t() { timeout ${timeout} "$@"; }
else
  swl_t() { "$@"; }
fi
# Every docker call of this script goes through the time limit.
docker() {
  swl_docker=$(type -P docker) || { echo "docker: command not found" >&2; return 127; }
  swl_t "$swl_docker" "$@"
}

# swl_section KEY CMD [ARGS...]: run CMD once and print its framed stdout.
swl_section() {
  swl_key=$1
  shift
  swl_t0=\${EPOCHREALTIME/./}
  if [ "$(type -t "$1")" = file ]; then
    swl_t "$@" >"$swl_tmp/out" 2>"$swl_tmp/err" </dev/null
  else
    "$@" >"$swl_tmp/out" 2>"$swl_tmp/err" </dev/null
  fi
  swl_rc=$?
  # Elapsed milliseconds, where bash has EPOCHREALTIME (5.0+; not CentOS 7's 4.2).
  swl_ms=""
  if [ -n "$swl_t0" ]; then swl_ms=" ms=$(( (\${EPOCHREALTIME/./} - swl_t0) / 1000 ))"; fi
  swl_bytes=$(wc -c <"$swl_tmp/out" | tr -d ' ')
  printf '${MARK}begin %s\\n' "$swl_key"
  cat "$swl_tmp/out"
  if [ -s "$swl_tmp/out" ] && [ -n "$(tail -c 1 "$swl_tmp/out")" ]; then printf '\\n'; fi
  printf '${MARK}end %s rc=%d bytes=%s%s\\n' "$swl_key" "$swl_rc" "$swl_bytes" "$swl_ms"
  if [ -s "$swl_tmp/err" ]; then
    printf '${MARK}stderr %s\\n' "$swl_key"
    head -c 2000 "$swl_tmp/err" | sed 's/^@@/@ @/' >"$swl_tmp/err2"
    cat "$swl_tmp/err2"
    if [ -n "$(tail -c 1 "$swl_tmp/err2")" ]; then printf '\\n'; fi
    printf '${MARK}stderr-end %s\\n' "$swl_key"
  fi
  swl_count=$((swl_count + 1))
}

# swl_in NS CMD...: run CMD in docker namespace NS, or in the host namespace for @host.
swl_in() {
  swl_ns=$1
  shift
  if [ "$swl_ns" = "@host" ]; then swl_t "$@"; else swl_t nsenter --net="$SWL_NETNS_DIR/$swl_ns" "$@"; fi
}

swl_meta() {
  printf 'script_version=%s\\n' ${GATHER_SCRIPT_VERSION}
  printf 'ip_json=%s\\n' "$SWL_IP_JSON"
  printf 'netns_dir=%s\\n' "$SWL_NETNS_DIR"
  printf 'service=%s\\n' "$SWL_SERVICE"
  printf 'overlay=%s\\n' "$SWL_OVERLAY"
  printf 'uid=%s\\n' "$(id -u)"
  printf 'is_manager=%s\\n' "$SWL_IS_MANAGER"
  printf 'date=%s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}

swl_netns_inodes() {
  printf '@host %s\\n' "$(stat -L -c %i /proc/self/ns/net)"
  for swl_p in "$SWL_NETNS_DIR"/*; do
    [ -e "$swl_p" ] || continue
    printf '%s %s\\n' "\${swl_p##*/}" "$(stat -L -c %i "$swl_p")"
  done
}

swl_network_inspect() {
  swl_ids=$(docker network ls -q --no-trunc) || return $?
  if [ -z "$swl_ids" ]; then echo '[]'; return 0; fi
  # shellcheck disable=SC2086
  docker network inspect $swl_ids
}

swl_container_inspect() {
  swl_ids=$(docker ps -q --no-trunc) || return $?
  if [ -z "$swl_ids" ]; then echo '[]'; return 0; fi
  # shellcheck disable=SC2086
  docker inspect $swl_ids
}

# ss -H (no header) is missing from older iproute2; the parser skips the header line then.
swl_ss() {
  swl_t ss -Hlntu 2>/dev/null || swl_t ss -lntu
}

swl_veths() {
  swl_in "$1" ip -o link show type veth 2>/dev/null | sed -n 's/^[0-9][0-9]*: \\([^:@ ]*\\).*/\\1/p'
}

# swl_namespace KEY-SUFFIX NS: links (with details), addresses and routes of one namespace.
swl_namespace() {
  # shellcheck disable=SC2086
  swl_section "ip-link@$1" swl_in "$2" ip $SWL_J -d link show
  # shellcheck disable=SC2086
  swl_section "ip-addr@$1" swl_in "$2" ip $SWL_J addr show
  # shellcheck disable=SC2086
  swl_section "ip-route@$1" swl_in "$2" ip $SWL_J route show
}

# Which iproute2 are we on? Debian 12 prints JSON for -j, CentOS 7 rejects it.
SWL_J=""
SWL_IP_JSON=0
if [ "$SWL_FORCE_TEXT" != 1 ]; then
  case "$(ip -j link show lo 2>/dev/null)" in
    \\[*) SWL_J="-j"; SWL_IP_JSON=1 ;;
  esac
fi
SWL_IS_MANAGER=0
if [ "$(docker info --format '{{.Swarm.ControlAvailable}}' 2>/dev/null </dev/null)" = "true" ]; then SWL_IS_MANAGER=1; fi

swl_section meta swl_meta
swl_section os-release cat /etc/os-release
swl_section hostname cat /proc/sys/kernel/hostname
swl_section virt systemd-detect-virt
swl_section kernel uname -r
swl_section docker-version docker version --format '{{json .}}'
swl_section docker-info docker info --format '{{json .}}'
if [ "$SWL_IS_MANAGER" = 1 ]; then
  swl_section docker-node-ls docker node ls
  swl_section docker-service-ps docker service ps "$SWL_SERVICE" --no-trunc
  swl_section docker-service-inspect docker service inspect "$SWL_SERVICE"
fi
swl_section docker-network-ls docker network ls --no-trunc
swl_section docker-network-inspect swl_network_inspect
swl_section docker-ps docker ps --no-trunc
swl_section docker-inspect swl_container_inspect
for swl_cid in $(docker ps -q --no-trunc --filter "label=com.docker.swarm.service.name=$SWL_SERVICE" 2>/dev/null </dev/null); do
  swl_section "exec-ip-addr/$swl_cid" docker exec "$swl_cid" ip addr show
  swl_section "exec-ip-route/$swl_cid" docker exec "$swl_cid" ip route show
done
swl_section netns-ls ls -1 "$SWL_NETNS_DIR"
swl_section netns-inodes swl_netns_inodes
swl_section ss swl_ss
swl_namespace host @host
for swl_p in "$SWL_NETNS_DIR"/*; do
  [ -e "$swl_p" ] || continue
  swl_name=\${swl_p##*/}
  swl_namespace "netns/$swl_name" "$swl_name"
  for swl_dev in $(swl_veths "$swl_name"); do
    swl_section "ethtool@netns/$swl_name/$swl_dev" swl_in "$swl_name" ethtool -S "$swl_dev"
  done
done
printf '${MARK}done sections=%d\\n' "$swl_count"
`;
}

// ------------------------------------------------------- output parser ----

export interface RawSection {
  key: string;
  /** Exit code of the command (127: not installed, 1: failed...). */
  rc: number;
  /** stdout, verbatim. */
  output: string;
  stderr?: string;
  /** How long the command took, in milliseconds (absent where the shell cannot tell). */
  ms?: number;
}

export interface FramedOutput {
  sections: Record<string, RawSection>;
  /** The script reached its end (`@@swarmlab:done`). */
  complete: boolean;
  /** Framing problems: cut-off sections, size mismatches, missing done marker. */
  problems: string[];
  /** Lines printed outside any section (login banners, sudo chatter). */
  stray: string[];
}

/** Split the script's stdout back into sections. Throws ParseError when no section is present at all. */
export function parseGatherOutput(text: string, command = "gather script"): FramedOutput {
  const lines = splitLines(text);
  const out: FramedOutput = { sections: {}, complete: false, problems: [], stray: [] };
  let cur: { key: string; body: string[]; startLine: number } | undefined;
  let err: { key: string; body: string[] } | undefined;
  let sawAny = false;
  let declared: number | undefined;
  lines.forEach((line, idx) => {
    if (err) {
      if (line === `${MARK}stderr-end ${err.key}`) {
        const s = out.sections[err.key];
        if (s) s.stderr = err.body.join("\n");
        err = undefined;
      } else err.body.push(line);
      return;
    }
    if (cur) {
      const em = /^@@swarmlab:end (\S+) rc=(-?\d+) bytes=(\d+)(?: ms=(\d+))?$/.exec(line);
      if (em && em[1] === cur.key) {
        const output = cur.body.length ? `${cur.body.join("\n")}\n` : "";
        const bytes = Number(em[3]);
        const got = Buffer.byteLength(output);
        if (got !== bytes && got !== bytes + 1) {
          out.problems.push(`section ${cur.key}: ${bytes} bytes announced, ${got} received (output corrupted?)`);
        }
        if (out.sections[cur.key]) out.problems.push(`section ${cur.key} appears twice`);
        const section: RawSection = { key: cur.key, rc: Number(em[2]), output: got === bytes + 1 ? output.slice(0, -1) : output };
        if (em[4] !== undefined) section.ms = Number(em[4]);
        out.sections[cur.key] = section;
        cur = undefined;
        return;
      }
      if (line.startsWith(`${MARK}begin `)) {
        out.problems.push(`section ${cur.key} (line ${cur.startLine}) has no end marker: output cut off`);
        cur = undefined;
        // fall through: handle the new begin below
      } else {
        cur.body.push(line);
        return;
      }
    }
    const bm = /^@@swarmlab:begin (\S+)$/.exec(line);
    if (bm) {
      sawAny = true;
      cur = { key: bm[1]!, body: [], startLine: idx + 1 };
      return;
    }
    const sm = /^@@swarmlab:stderr (\S+)$/.exec(line);
    if (sm) {
      err = { key: sm[1]!, body: [] };
      return;
    }
    const dm = /^@@swarmlab:done sections=(\d+)$/.exec(line);
    if (dm) {
      out.complete = true;
      declared = Number(dm[1]);
      return;
    }
    if (line.trim() !== "") out.stray.push(line);
  });
  if (cur) out.problems.push(`section ${cur.key} (line ${cur.startLine}) has no end marker: output cut off`);
  if (!sawAny) {
    throw new ParseError(command, "no @@swarmlab sections found (did the script run at all?)", lines.length ? 1 : 0, lines[0] ?? "");
  }
  if (!out.complete) out.problems.push("the script's output ended before its done marker (connection lost or script killed?)");
  else if (declared !== undefined && declared !== Object.keys(out.sections).length) {
    out.problems.push(`the script announced ${declared} sections, ${Object.keys(out.sections).length} arrived intact`);
  }
  return out;
}
