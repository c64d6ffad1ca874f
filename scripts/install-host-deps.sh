#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages the lab and its tests need on the hypervisor host.
# Safe to run again: apt-get skips what is installed. Needs root.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "install-host-deps: run as root (sudo $0)" >&2
  exit 1
fi
packages=(
  qemu-system-x86 qemu-utils            # the hypervisor and qemu-img
  libvirt-daemon-system libvirt-clients # libvirtd, virtlogd, virsh, virt-xml-validate
  dnsmasq-base                          # DHCP and DNS of libvirt networks (a Recommends, not pulled in)
  libxml2-utils                         # xmllint, which virt-xml-validate runs
  genisoimage                           # cloud-init NoCloud seed ISOs
  debootstrap e2fsprogs                 # the Debian 12 test guest image
  openssh-client                        # ssh -F .swarmlab/<stack>/ssh_config
  openssh-server                        # sshd: a hypervisor reached by qemu+ssh:// needs it; the class
                                        # test's qemu+ssh hypervisor runs its own sshd in its namespace
  iproute2 procps                       # ip netns for the test hypervisor, pgrep
  shellcheck                            # lints the guest scripts in the unit tests
  python3                               # runs the Docker API clients (verify's, the labs') in the unit tests
  chromium fonts-liberation             # screenshots of the HTML report in the end-to-end test
)
export DEBIAN_FRONTEND=noninteractive
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-host-deps: all packages present"
  exit 0
fi
echo "install-host-deps: installing ${missing[*]}"
# No service of these packages may start now (openssh-server would start a system sshd, the
# libvirt packages a libvirtd in the root namespace): without a policy-rc.d of the machine's
# own, one that refuses every start (exit 101) is in place for the install only. (On a machine
# booted with systemd the packages still enable their services for the next boot.)
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ] && [ ! -L "$policy" ]; then
  trap 'rm -f "$policy"' EXIT
  trap 'exit 130' INT HUP
  trap 'exit 143' TERM
  printf '#!/bin/sh\n# Temporary, from swarmlab install-host-deps.sh: no service starts during the install.\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
