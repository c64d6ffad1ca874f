#!/usr/bin/env bash
# Build the Pulumi CLI the tests drive, from Go modules (the CLI cannot be downloaded on the
# test machines, but the Go module proxy serves github.com/pulumi/pulumi/pkg/v3).
#
#   ${SWARMLAB_CACHE:-/var/cache/swarmlab}/pulumi/<version>/bin/pulumi
#
# <version> is the version of @pulumi/pulumi in package-lock.json: the CLI and the SDK are one
# version. `go install …/cmd/pulumi@vX` is refused (pkg/go.mod has replace directives), so the
# build goes through a throwaway wrapper module that requires pkg/v3 and sdk/v3 at vX and copies
# pkg's clipboard replace. Flags as in Pulumi's release builds (CGO off, -trimpath, the version
# stamped, so `pulumi version` answers and the SDK's version checks run).
#
# Cache: an existing, executable bin/pulumi whose `pulumi version` answers vX is kept. The build
# runs in a temporary directory and the binary is renamed into place. The Go module and build
# caches are Go's own (GOMODCACHE, GOCACHE), kept between runs. Progress goes to stderr; the
# last line of stdout is the bin directory.
#
# The Node.js language host (module github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3)
# and the `command` resource plugin are not served by the module proxy these machines reach:
# the project's CLI runs its program through the Automation API (an inline program, which needs
# no language host) and runs guest commands through its own dynamic provider.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE_ROOT="${SWARMLAB_CACHE:-/var/cache/swarmlab}"
log() { printf '[build-pulumi %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

version="${1:-}"
if [ -z "$version" ]; then
  version="$(node -e 'const l=require(process.argv[1]);const p=l.packages["node_modules/@pulumi/pulumi"];if(!p)process.exit(1);console.log(p.version)' "$ROOT/package-lock.json")" \
    || die "no @pulumi/pulumi in $ROOT/package-lock.json"
fi
[[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "version '$version' is not of the form X.Y.Z"
command -v go >/dev/null || die "go is not installed (Debian package golang-go, or a Go toolchain >= 1.25)"

OUT="$CACHE_ROOT/pulumi/$version"
BIN="$OUT/bin/pulumi"
if [ -x "$BIN" ] && "$BIN" version 2>/dev/null | grep -qx "v$version"; then
  log "cached: $BIN"
  echo "$OUT/bin"
  exit 0
fi

mkdir -p "$CACHE_ROOT/pulumi"
work="$(mktemp -d "$CACHE_ROOT/pulumi/.build-$version.XXXXXX")"
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

start=$(date +%s)
log "building the Pulumi CLI v$version from Go modules in $work (the first build took about 4 minutes on 2 cores)"
cd "$work"
export GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0
go mod init swarmlab.local/pulumi-cli >/dev/null 2>&1
clipboard="$(go mod download -json "github.com/pulumi/pulumi/pkg/v3@v$version" | node -e '
  let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const m=JSON.parse(s);
  const t=require("fs").readFileSync(m.GoMod,"utf8");
  const r=t.match(/github\.com\/atotto\/clipboard\s*=>\s*(\S+)\s+(\S+)/);
  if(r)console.log(r[1]+"@"+r[2]);})')" || die "the Go module proxy does not serve github.com/pulumi/pulumi/pkg/v3@v$version"
[ -n "$clipboard" ] && go mod edit -replace "github.com/atotto/clipboard=$clipboard"
go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$version" "github.com/pulumi/pulumi/sdk/v3@v$version" >&2
mkdir -p bin
go build -trimpath -tags osusergo,grpcnotrace \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$version" \
  -o bin/pulumi github.com/pulumi/pulumi/pkg/v3/cmd/pulumi >&2
got="$(bin/pulumi version)"
[ "$got" = "v$version" ] || die "the built CLI says '$got', expected v$version"
mkdir -p "$OUT"
rm -rf "$OUT/bin"
mv bin "$OUT/bin"
log "built $BIN in $(( $(date +%s) - start )) s"
echo "$OUT/bin"
