#!/usr/bin/env bash
# Names every program swarmlab needs that this machine lacks, with the Debian package that
# provides it, and exits 1 if any is missing (0 when all are there).
#
#   scripts/preflight.sh          what `npm run up` needs on the hypervisor host
#   scripts/preflight.sh --tests  what the tests need as well (`npm test` runs this first)
#
# scripts/install-host-deps.sh installs the Debian packages named here.
set -uo pipefail

NODE_MAJOR_MIN=22
tests=0
case "${1:-}" in
  "") ;;
  --tests) tests=1 ;;
  *) echo "usage: $0 [--tests]" >&2; exit 2 ;;
esac

# program|package|needed for (tests=only the tests need it)
needs=(
  "virsh|libvirt-clients|up"
  "qemu-img|qemu-utils|up"
  "genisoimage|genisoimage|up"
  "ssh|openssh-client|up"
  "qemu-system-x86_64|qemu-system-x86|tests"
  "libvirtd|libvirt-daemon-system|tests"
  "virtlogd|libvirt-daemon-system|tests"
  "dnsmasq|dnsmasq-base|tests"
  "xmllint|libxml2-utils|tests"
  "virt-xml-validate|libvirt-clients|tests"
  "debootstrap|debootstrap|tests"
  "mkfs.ext4|e2fsprogs|tests"
  "ip|iproute2|tests"
  "sshd|openssh-server|tests"
  "pgrep|procps|tests"
  "shellcheck|shellcheck|tests"
  "python3|python3|tests"
  "chromium|chromium|tests"
  "go|none: a Go toolchain >= 1.25 (Debian 12's golang-go is too old)|tests"
)

missing=0
for entry in "${needs[@]}"; do
  IFS='|' read -r prog pkg scope <<<"$entry"
  [ "$scope" = tests ] && [ "$tests" -eq 0 ] && continue
  # Daemons live in sbin, which a non-root PATH may lack.
  if ! command -v "$prog" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$prog" ] && [ ! -x "/sbin/$prog" ]; then
    echo "preflight: missing $prog (Debian package: $pkg)" >&2
    missing=1
  fi
done

if ! command -v node >/dev/null 2>&1; then
  echo "preflight: missing node (Node.js $NODE_MAJOR_MIN or newer: https://nodejs.org, or the npm package node@$NODE_MAJOR_MIN)" >&2
  missing=1
else
  major="$(node -p 'process.versions.node.split(".")[0]')"
  if [ "$major" -lt "$NODE_MAJOR_MIN" ]; then
    echo "preflight: node $(node --version) is too old: @pulumi/pulumi needs Node.js $NODE_MAJOR_MIN or newer" >&2
    missing=1
  fi
fi

if [ "$missing" -ne 0 ]; then
  echo "preflight: install the packages above (on Debian/Ubuntu: sudo scripts/install-host-deps.sh)" >&2
  exit 1
fi
echo "preflight: all programs present$([ "$tests" -eq 1 ] && echo ' (tests included)')"
