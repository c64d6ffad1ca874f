/**
 * Bash scripts run inside the guests by remote.Command. Each one is idempotent: running it
 * a second time on a finished guest changes nothing and succeeds. Pure functions producing
 * text, shellcheck-ed in the unit tests.
 */
import type { AddressPool } from "../../labs/lab";
import { BASH_HEADER, shellQuote as shq } from "../../scripts/lib/shell";

const HEADER = BASH_HEADER;

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
  /**
   * Version to pin, e.g. "20.10" (the newest 20.10.x) or "24.0.7"; matched on version
   * boundaries ("20.1" is not "20.10"). Empty for the distribution's current one.
   */
  version?: string;
  /** Seconds between two tries of a yum command that failed (default 10). */
  retryPauseSec?: number;
  /** Tests only: the directory the script takes for /etc (os-release, yum.repos.d). */
  etcDir?: string;
}

/** CentOS 7's last point release, spelled out: the vault's mirror has no "7" alias for it. */
export const CENTOS7_RELEASE = "7.9.2009";

/**
 * Where CentOS 7's packages are since it reached end of life (its mirrorlist is gone), in the
 * order yum tries them. The vault has answered 403 for `*-primary.sqlite.bz2` at times since
 * 2026 while serving `repomd.xml`; yum then fails over to the next base URL.
 */
export const CENTOS7_VAULT_ROOTS = ["http://vault.centos.org", "https://archive.kernel.org/centos-vault"];

/** How often a failing yum command is tried before the install step gives up. */
export const YUM_TRIES = 3;

/**
 * Rewrites every CentOS repository file in "$etc/yum.repos.d" for CentOS 7's vaults: the
 * mirrorlist lines are commented out and each base URL on mirror.centos.org (or the vault's
 * moving "7" alias) becomes one base URL per vault root, one per line as yum reads them:
 *
 *   baseurl=http://vault.centos.org/7.9.2009/os/$basearch/
 *           https://archive.kernel.org/centos-vault/7.9.2009/os/$basearch/
 *
 * Lines already rewritten do not match again, so running it twice changes nothing.
 */
function centos7VaultRepos(): string {
  const roots = CENTOS7_VAULT_ROOTS.join(" ");
  return `centos7_vault_repos() {
  local f new
  for f in "$etc"/yum.repos.d/CentOS-*.repo; do
    [ -f "$f" ] || continue
    new=$(awk -v roots=${shq(roots)} -v rel=${shq(CENTOS7_RELEASE)} '
      /^[ \\t]*mirrorlist[ \\t]*=/ { print "#" $0; next }
      /^#?[ \\t]*baseurl[ \\t]*=/ {
        url = $0
        sub(/^#?[ \\t]*baseurl[ \\t]*=[ \\t]*/, "", url)
        if (match(url, /^http:\\/\\/(mirror|vault)\\.centos\\.org\\/(centos\\/)?([$]releasever|7)\\//)) tree = ""
        else if (match(url, /^http:\\/\\/(mirror|vault)\\.centos\\.org\\/altarch\\/([$]releasever|7)\\//)) tree = "altarch/"
        else { print; next }
        path = substr(url, RLENGTH + 1)
        n = split(roots, r, " ")
        for (i = 1; i <= n; i++) printf "%s%s/%s%s/%s\\n", (i == 1 ? "baseurl=" : "        "), r[i], tree, rel, path
        next
      }
      { print }
    ' "$f")
    # Written in place (not replaced), so the file keeps its owner, mode and SELinux label.
    if [ "$new" != "$(cat "$f")" ]; then printf '%s\\n' "$new" >"$f"; fi
  done
}`;
}

/**
 * yum with bounded retries, keeping what it says: \`yum_retry ARGS\` runs \`yum ARGS\` up to
 * YUM_TRIES times; its stdout ends up in "$tmp/out" (for the caller to read), its stderr is
 * shown, and everything a failed try printed is kept in "$tmp/failed" for \`yum_failure\`,
 * which names the URLs and HTTP statuses yum reported (lines like
 * "https://…/repodata/…-primary.sqlite.bz2: [Errno 14] HTTPS Error 403 - Forbidden").
 */
function yumRetry(pauseSec: number): string {
  return `yum_retry() {
  local i=1
  while :; do
    if yum "$@" >"$tmp/out" 2>"$tmp/err"; then
      cat "$tmp/err" >&2
      return 0
    fi
    cat "$tmp/out" "$tmp/err" >>"$tmp/failed"
    cat "$tmp/err" >&2
    [ "$i" -lt ${YUM_TRIES} ] || return 1
    echo "swarmlab: yum $1 failed (try $i of ${YUM_TRIES}); trying again in ${pauseSec}s" >&2
    sleep ${pauseSec}
    i=$((i + 1))
  done
}
yum_failure() {
  local why
  why=$(sed -n \\
    -e 's/^[[:space:]]*\\([a-z]*:\\/\\/[^[:space:]]*\\): \\[Errno 14\\] HTTPS\\{0,1\\} Error \\([0-9][0-9]*\\) - \\(.*\\)$/\\1: HTTP \\2 \\3/p' \\
    -e 't' \\
    -e 's/^[[:space:]]*\\([a-z]*:\\/\\/[^[:space:]]*\\): \\[Errno 14\\] \\(.*\\)$/\\1: \\2/p' \\
    "$tmp/failed" | awk '!seen[$0]++' | tail -n 8 | awk 'NR > 1 { printf "; " } { printf "%s", $0 }')
  if [ -z "$why" ]; then
    why=$(awk 'NF' "$tmp/err" | tail -n 3 | awk 'NR > 1 { printf "; " } { printf "%s", $0 }')
  fi
  echo "$1 failed ${YUM_TRIES} times; yum reported: \${why:-nothing}"
}`;
}

/**
 * \`pick NAME WANT\` reads "name version" lines on stdin and prints the versions of NAME that
 * match WANT on a version boundary: WANT itself or WANT followed by one of . - + ~ (after any
 * epoch), so "20.10" matches 20.10.24-3.el7 and 20.10.24+dfsg1-1, and "20.1" matches neither.
 * An empty WANT matches every version.
 */
const PICK = `pick() {
  awk -v name="$1" -v want="$2" '
    $1 == name {
      v = $2
      u = v
      sub(/^[0-9]+:/, "", u)
      if (want == "" || u == want || v == want) { print v; next }
      if (index(u, want) != 1) next
      c = substr(u, length(want) + 1, 1)
      if (c == "." || c == "-" || c == "+" || c == "~") print v
    }'
}
# The major.minor versions of NAME on stdin, for messages.
lines_of() { pick "$1" "" | sed 's/^[0-9]*://; s/^\\([0-9]*\\.[0-9]*\\).*/\\1/' | sort -u -V | tr '\\n' ' ' | sed 's/ $//'; }
# Whether a docker-ce version predates 18.09, whose docker-ce still held the CLI and containerd.
before_1809() { [ "$(printf '%s\\n' "\${1%%-*}" 18.09 | sort -V | head -n 1)" != 18.09 ]; }`;

/**
 * Installs and starts the Docker engine. Skips installation where Docker already exists.
 * CentOS 7 is end of life: its repositories are pointed at the vault and its mirror, and the
 * yum commands are tried several times (see yumRetry). A pinned version installs matching
 * docker-ce and docker-ce-cli (the same version) with the newest containerd.io, or the
 * matching docker.io (and docker-cli, a separate package from Debian 13 on) from the
 * distribution. Either way a stderr line says which versions were installed.
 */
export function dockerInstallScript(a: DockerInstallArgs): string {
  const want = a.version ?? "";
  const pause = a.retryPauseSec ?? 10;
  return `${HEADER}
want=${shq(want)}
etc=${shq(a.etcDir ?? "/etc")}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
${centos7VaultRepos()}
${yumRetry(pause)}
${PICK}
# Same boundary rule as pick, for one version: docker version's 20.10.24+dfsg1, 17.03.0-ce.
version_matches() { [ -n "$(printf '%s %s\\n' v "$1" | pick v "$2")" ]; }
. "$etc/os-release"
ID=\${ID:-unknown}
if command -v dockerd >/dev/null 2>&1; then
  echo "docker already installed: $(dockerd --version)" >&2
else
  case "$ID" in
    centos|rhel|rocky|almalinux)
      if [ "$ID" = centos ] && [ -n "\${VERSION_ID:-}" ] && [ "\${VERSION_ID%%.*}" = 7 ]; then
        centos7_vault_repos
      fi
      # Docker's repository, written here rather than fetched with yum-config-manager (which
      # would need yum-utils installed first): two network steps fewer that could fail.
      if [ ! -f "$etc/yum.repos.d/docker-ce.repo" ]; then
        cat >"$etc/yum.repos.d/docker-ce.repo" <<'EOF'
[docker-ce-stable]
name=Docker CE Stable - $basearch
baseurl=https://download.docker.com/linux/centos/$releasever/$basearch/stable
enabled=1
gpgcheck=1
gpgkey=https://download.docker.com/linux/centos/gpg
EOF
      fi
      if [ -n "$want" ]; then
        yum_retry list -q --showduplicates docker-ce docker-ce-cli containerd.io \\
          || fail "$(yum_failure "listing the versions of docker-ce")"
        # "name.arch epoch:version-release repo", a long name.arch alone on its line.
        awk 'NF == 1 && $1 ~ /[.](x86_64|aarch64|noarch)$/ { held = $1; next }
          held != "" && NF == 2 { $0 = held " " $0 }
          { held = "" }
          NF == 3 && $1 ~ /[.](x86_64|aarch64|noarch)$/ { n = $1; sub(/[.][^.]*$/, "", n); v = $2; sub(/^[0-9]+:/, "", v); print n, v }' \\
          "$tmp/out" >"$tmp/versions"
        v=$(pick docker-ce "$want" <"$tmp/versions" | sort -V | tail -n 1)
        [ -n "$v" ] || fail "docker-ce $want is not available from the Docker repository (it has $(lines_of docker-ce <"$tmp/versions"))"
        pkgs=("docker-ce-$v")
        if before_1809 "$v"; then
          echo "swarmlab: docker-ce $v predates 18.09 and brings its own CLI and containerd" >&2
        else
          cv=$(pick docker-ce-cli "$v" <"$tmp/versions" | sort -V | tail -n 1)
          [ -n "$cv" ] || cv=$(pick docker-ce-cli "\${v%%-*}" <"$tmp/versions" | sort -V | tail -n 1)
          [ -n "$cv" ] || fail "docker-ce-cli $v (to go with docker-ce $v) is not available from the Docker repository"
          cn=$(pick containerd.io "" <"$tmp/versions" | sort -V | tail -n 1)
          [ -n "$cn" ] || fail "containerd.io is not available from the Docker repository"
          pkgs+=("docker-ce-cli-$cv" "containerd.io-$cn")
        fi
      else
        pkgs=(docker-ce docker-ce-cli containerd.io)
      fi
      yum_retry install -y -q "\${pkgs[@]}" || fail "$(yum_failure "yum install \${pkgs[*]}")"
      cat "$tmp/out" >&2
      installed=$(rpm -q --qf '%{NAME} %{VERSION}-%{RELEASE}\\n' docker-ce docker-ce-cli containerd.io | grep -v 'not installed' || true)
      ;;
    debian|ubuntu)
      export DEBIAN_FRONTEND=noninteractive
      apt-get -o Acquire::Retries=3 update -q >&2
      for p in docker.io docker-cli; do
        apt-cache madison "$p" | awk -F'|' '{ gsub(/ /, "", $1); gsub(/ /, "", $2); print $1, $2 }' || true
      done >"$tmp/versions"
      # From Debian 13 on, the docker CLI is the package docker-cli, of the same source and version.
      has_cli=$(pick docker-cli "" <"$tmp/versions" | head -n 1)
      if [ -n "$want" ]; then
        # apt-cache madison lists the newest version first.
        v=$(pick docker.io "$want" <"$tmp/versions" | head -n 1)
        [ -n "$v" ] || fail "docker.io $want is not available from this distribution's repositories (they have $(lines_of docker.io <"$tmp/versions"))"
        pkgs=("docker.io=$v")
        if [ -n "$has_cli" ]; then
          [ -n "$(pick docker-cli "$v" <"$tmp/versions")" ] || fail "docker-cli $v (to go with docker.io $v) is not available"
          pkgs+=("docker-cli=$v")
        fi
      else
        pkgs=(docker.io)
        if [ -n "$has_cli" ]; then pkgs+=(docker-cli); fi
      fi
      apt-get -o Acquire::Retries=3 install -y -q "\${pkgs[@]}" >&2
      # shellcheck disable=SC2016 # dpkg-query format fields
      installed=$(dpkg-query -W -f '\${db:Status-Status} \${Package} \${Version}\\n' docker.io docker-cli containerd runc 2>/dev/null | awk '$1 == "installed" { print $2, $3 }' || true)
      ;;
    *)
      fail "cannot install Docker on $ID: supported are CentOS/RHEL, Debian and Ubuntu, or an image with Docker already installed"
      ;;
  esac
  echo "swarmlab: installed $(printf '%s\\n' "$installed" | awk 'NF == 2 { printf "%s%s %s", (n++ ? ", " : ""), $1, $2 }')" >&2
  command -v docker >/dev/null 2>&1 || fail "the docker command is missing after installing \${pkgs[*]}"
fi
systemctl enable docker >/dev/null 2>&1 || true
systemctl start docker
# The daemon answers when docker version can name it: one call (about a second under emulation)
# both waits and reads the version.
server=""
for _ in $(seq 1 90); do
  server=$(docker version --format '{{.Server.Version}}' 2>/dev/null) && [ -n "$server" ] && break
  server=""
  sleep 1
done
[ -n "$server" ] || { systemctl status docker --no-pager >&2 || true; fail "the Docker daemon did not start"; }
if [ -n "$want" ] && ! version_matches "$server" "$want"; then
  fail "Docker $server is installed, but $want was requested; remove it or change swarmlab:dockerVersion"
fi
# tcpdump lets verify watch VXLAN on the wire (PATH-4); the lab works without it.
if ! command -v tcpdump >/dev/null 2>&1; then
  case "$ID" in
    centos|rhel|rocky|almalinux) yum_retry install -y -q tcpdump ;;
    debian|ubuntu) apt-get -o Acquire::Retries=3 update -q && DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=3 install -y -q tcpdump ;;
    *) false ;;
  esac >&2 || echo "swarmlab: could not install tcpdump; verify will skip the capture check PATH-4" >&2
fi
echo "docker=$server"
`;
}

/**
 * The default address pool of `docker swarm init`: the lab's facts give the range the documented
 * engine used for ingress (swarm-overlay: 10.255.0.0/16, ING-1, ING-2; newer engines default to
 * 10.0.0.0/24). Networks with an explicit subnet are not affected.
 */

/** `docker swarm init` on the manager (CL-1); prints the worker join token on stdout. */
export function swarmInitScript(advertiseAddr: string, pool: AddressPool): string {
  return `${HEADER}
# One docker info (a docker call costs about a second under emulation): a node that was already
# in a swarm must be its manager; one this step initialises is.
read -r state manager <<<"$(docker info --format '{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}}')"
if [ "$state" != active ]; then
  # Its output repeats the join token: keep it out of the logs.
  docker swarm init --advertise-addr ${shq(advertiseAddr)} \\
    --default-addr-pool ${shq(pool.pool)} --default-addr-pool-mask-length ${pool.maskLength} >/dev/null
  echo "swarm initialised, advertising ${advertiseAddr}" >&2
elif [ "$manager" != true ]; then
  fail "this node is in a swarm but is not a manager"
fi
docker swarm join-token -q worker
`;
}

/** `docker swarm join` on a worker (CL-1); the join token arrives on stdin, never in the command line of the step. */
export function swarmJoinScript(managerAddr: string, swarmPort: number): string {
  return `${HEADER}
IFS= read -r token || true
[ -n "$token" ] || fail "no join token on stdin"
state=$(docker info --format '{{.Swarm.LocalNodeState}}')
if [ "$state" = active ]; then
  if docker info --format '{{range .Swarm.RemoteManagers}}{{.Addr}} {{end}}' | grep -q ${shq(`${managerAddr}:${swarmPort}`)}; then
    echo "already a member of the swarm managed by ${managerAddr}" >&2
    exit 0
  fi
  fail "this node is already in another swarm; leave it first (docker swarm leave)"
fi
docker swarm join --token "$token" ${shq(`${managerAddr}:${swarmPort}`)} >&2
`;
}
