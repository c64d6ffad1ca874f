#!/usr/bin/env bash
# Manual smoke test (not a unit test): prove the Debian 12 test image boots under the
# namespaced test hypervisor, and that the cloud-init / Docker contract holds.
#
#   sudo test/harness/boot-smoke.sh            # build (or reuse) the image, boot one guest, check, tear down
#   SMOKE_SET_NAME=0 test/harness/boot-smoke.sh   # network-config without `set-name`
#   SMOKE_KEEP=1 test/harness/boot-smoke.sh       # leave everything running (prints how to tear it down)
#
# Everything libvirt does happens inside a private network namespace (test/harness/testhv.ts);
# nothing is sent outside it. The ping target is the lab's own gateway.
set -euo pipefail

REPO="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.." && pwd)"
SET_NAME="${SMOKE_SET_NAME:-1}"
KEEP="${SMOKE_KEEP:-0}"
VCPUS="${SMOKE_VCPUS:-2}"
MEM_MIB="${SMOKE_MEM_MIB:-1536}"
SSH_TIMEOUT="${SMOKE_SSH_TIMEOUT:-300}"
GUEST_IP=192.168.122.10
GATEWAY=192.168.122.1
MAC=52:54:00:5a:00:10
HOSTNAME_FQDN=docker0.local
USER_NAME=swarmlab
ID="$$"
DOM="swarmlab-smoke-$ID"
NET="swarmlab-smoke-$ID"
POOL="swarmlab-smoke-$ID"
BRIDGE="swlsmk$((ID % 100000))"   # <= 15 chars
VIRSH=()
NS=""

log() { printf '[boot-smoke %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "FAIL: $*"; exit 1; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

WORK="$(mktemp -d /var/tmp/swarmlab-smoke.XXXXXX)"
chmod 755 "$WORK"
mkdir -p "$WORK/console"
chown libvirt-qemu "$WORK/console" 2>/dev/null || chmod 777 "$WORK/console"

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ "$KEEP" == 1 && $rc -eq 0 ]]; then
    log "SMOKE_KEEP=1: leaving $DOM running in netns $NS. Tear down with:"
    log "  ip netns exec $NS virsh destroy $DOM; ip netns exec $NS virsh undefine $DOM; ip netns exec $NS virsh vol-delete --pool $POOL docker0.qcow2; ip netns exec $NS virsh pool-destroy $POOL; ip netns exec $NS virsh net-destroy $NET; npx tsx test/harness/testhv.ts down $NS; rm -rf $WORK"
    exit 0
  fi
  log "tearing down"
  if [[ -n "$NS" ]]; then
    "${VIRSH[@]}" destroy "$DOM" >/dev/null 2>&1 || true
    "${VIRSH[@]}" undefine "$DOM" >/dev/null 2>&1 || true
    "${VIRSH[@]}" vol-delete --pool "$POOL" docker0.qcow2 >/dev/null 2>&1 || true
    "${VIRSH[@]}" pool-destroy "$POOL" >/dev/null 2>&1 || true
    "${VIRSH[@]}" net-destroy "$NET" >/dev/null 2>&1 || true
    (cd "$REPO" && npx --no-install tsx test/harness/testhv.ts down "$NS") >&2 || log "WARNING: testhv down $NS failed"
  fi
  if [[ $rc -ne 0 && -f "$WORK/console/console.log" ]]; then
    log "last lines of the guest console:"
    tail -n 40 "$WORK/console/console.log" >&2 || true
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- image --------------------------------------------------------------------
T_BUILD0=$(now)
IMG_DIR="$("$REPO/test/harness/build-test-image.sh" | tail -n 1)"
T_BUILD1=$(now)
MANIFEST="$IMG_DIR/manifest.json"
[[ -s "$MANIFEST" ]] || die "no manifest in $IMG_DIR"
mf() { node -e 'const m=JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")); console.log(m[process.argv[2]])' "$MANIFEST" "$1"; }
DISK="$(mf disk)"; KERNEL="$(mf kernel)"; INITRD="$(mf initrd)"; CMDLINE="$(mf cmdline)"; WORKLOAD="$(mf workloadImage)"
log "image $IMG_DIR (build/cache step $(elapsed "$T_BUILD0" "$T_BUILD1") s, disk.qcow2 $(du -h "$DISK" | cut -f1))"

# --- hypervisor -----------------------------------------------------------------
HV_JSON="$(cd "$REPO" && npx --no-install tsx test/harness/testhv.ts up)"
if [[ "$(node -e 'console.log(JSON.parse(process.argv[1]).reused)' "$HV_JSON")" != false ]]; then
  # Someone else's test hypervisor (e.g. a running e2e test): its lab uses the same
  # 192.168.122.0/24 network, and tearing down would stop their libvirtd. Leave it alone.
  die "another test hypervisor is running ($HV_JSON); run the smoke test when it is idle"
fi
NS="$(node -e 'console.log(JSON.parse(process.argv[1]).netns)' "$HV_JSON")"
URI="$(node -e 'console.log(JSON.parse(process.argv[1]).uri)' "$HV_JSON")"
VIRSH=(ip netns exec "$NS" virsh -q -c "$URI")
IN_NS=(ip netns exec "$NS")
log "test hypervisor: $HV_JSON"

# --- seed ---------------------------------------------------------------------
ssh-keygen -q -t ed25519 -N '' -C swarmlab-smoke -f "$WORK/id_ed25519"
PUBKEY="$(cat "$WORK/id_ed25519.pub")"
mkdir -p "$WORK/seed"
cat >"$WORK/seed/user-data" <<EOF
#cloud-config
hostname: docker0
fqdn: $HOSTNAME_FQDN
prefer_fqdn_over_hostname: true
manage_etc_hosts: true
users:
  - name: $USER_NAME
    shell: /bin/bash
    groups: [sudo, docker]
    sudo: "ALL=(ALL) NOPASSWD:ALL"
    lock_passwd: true
    ssh_authorized_keys:
      - "$PUBKEY"
package_update: false
package_upgrade: false
EOF
cat >"$WORK/seed/meta-data" <<EOF
instance-id: $DOM
local-hostname: $HOSTNAME_FQDN
EOF
{
  echo "version: 2"
  echo "ethernets:"
  echo "  nic0:"
  echo "    match:"
  echo "      macaddress: \"$MAC\""
  [[ "$SET_NAME" == 1 ]] && echo "    set-name: ens3"
  echo "    addresses: [\"$GUEST_IP/24\"]"
  echo "    gateway4: $GATEWAY"
  echo "    nameservers:"
  echo "      addresses: [\"$GATEWAY\"]"
} >"$WORK/seed/network-config"
(cd "$WORK/seed" && genisoimage -quiet -output "$WORK/seed.iso" -volid cidata -joliet -rock user-data meta-data network-config)
log "network-config:"; sed 's/^/    /' "$WORK/seed/network-config" >&2

# --- libvirt objects -------------------------------------------------------------
cat >"$WORK/net.xml" <<EOF
<network>
  <name>$NET</name>
  <forward mode='nat'/>
  <bridge name='$BRIDGE' stp='off' delay='0'/>
  <ip address='$GATEWAY' netmask='255.255.255.0'/>
</network>
EOF
log "creating network, pool, overlay volume, domain"
"${VIRSH[@]}" net-create "$WORK/net.xml" >/dev/null
log "  network $NET up (bridge $BRIDGE)"
"${VIRSH[@]}" pool-create-as "$POOL" dir --target "$WORK" >/dev/null
log "  pool $POOL up"
# Overlay volume backed by the (read-only, shared) image disk; larger virtual size, the
# guest's cloud-init grows the filesystem at first boot.
cat >"$WORK/vol.xml" <<EOF
<volume>
  <name>docker0.qcow2</name>
  <capacity unit='GiB'>20</capacity>
  <target><format type='qcow2'/></target>
  <backingStore><path>$DISK</path><format type='qcow2'/></backingStore>
</volume>
EOF
"${VIRSH[@]}" vol-create "$POOL" "$WORK/vol.xml" >/dev/null
log "  overlay volume created"

cat >"$WORK/dom.xml" <<EOF
<domain type='qemu'>
  <name>$DOM</name>
  <memory unit='MiB'>$MEM_MIB</memory>
  <vcpu>$VCPUS</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$KERNEL</kernel>
    <initrd>$INITRD</initrd>
    <cmdline>$CMDLINE</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='qcow2' discard='unmap'/>
      <source pool='$POOL' volume='docker0.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='$WORK/seed.iso'/>
      <target dev='vdb' bus='virtio'/>
      <readonly/>
    </disk>
    <interface type='network'>
      <mac address='$MAC'/>
      <source network='$NET'/>
      <model type='virtio'/>
      <rom bar='off'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
    </interface>
    <serial type='pty'>
      <log file='$WORK/console/console.log' append='off'/>
      <target port='0'/>
    </serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <memballoon model='none'/>
  </devices>
</domain>
EOF
"${VIRSH[@]}" define "$WORK/dom.xml" >/dev/null

# --- boot -----------------------------------------------------------------------
SSH=("${IN_NS[@]}" ssh -i "$WORK/id_ed25519" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
  -o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=3 "$USER_NAME@$GUEST_IP")
T_START=$(now)
"${VIRSH[@]}" start "$DOM" >/dev/null
log "virsh start $DOM returned after $(elapsed "$T_START" "$(now)") s"
T_SSH=""
for _ in $(seq 1 600); do
  if timeout 10 "${SSH[@]}" true 2>/dev/null; then T_SSH=$(now); break; fi
  if ! "${VIRSH[@]}" domstate "$DOM" 2>/dev/null | grep -q running; then die "domain stopped"; fi
  sleep 1
  [[ $(elapsed "$T_START" "$(now)" | cut -d. -f1) -lt "$SSH_TIMEOUT" ]] || break
done
[[ -n "$T_SSH" ]] || die "ssh not reachable within $SSH_TIMEOUT s"
log "SSH reachable $(elapsed "$T_START" "$T_SSH") s after virsh start"
T_DOCKER=""
for _ in $(seq 1 300); do
  if [[ "$(timeout 20 "${SSH[@]}" systemctl is-active docker 2>/dev/null || true)" == active ]]; then T_DOCKER=$(now); break; fi
  sleep 1
done
[[ -n "$T_DOCKER" ]] || die "docker not active"
log "docker active $(elapsed "$T_START" "$T_DOCKER") s after virsh start"

# --- checks -------------------------------------------------------------------
FAILS=0
check() { # check <description> <expected-regex> <command...>
  local desc="$1" want="$2" out
  shift 2
  out="$(timeout 180 "${SSH[@]}" "$@" 2>&1)" || true
  if grep -Eq -- "$want" <<<"$out"; then
    log "ok   $desc"
  else
    log "FAIL $desc: wanted /$want/, got:"; printf '       %s\n' "$out" >&2
    FAILS=$((FAILS + 1))
  fi
  printf '%s\n' "$out" >"$WORK/last-check.out"
}
check "kernel hostname is $HOSTNAME_FQDN" "^$HOSTNAME_FQDN\$" cat /proc/sys/kernel/hostname
check "hostname command" "^$HOSTNAME_FQDN\$" hostname
check "cloud-init finished without errors" "status: done" cloud-init status --wait --long
check "NIC ens3 has $GUEST_IP/24" "^ens3 .*UP.*$GUEST_IP/24" ip -br addr show
check "default route via $GATEWAY" "default via $GATEWAY dev ens3" ip route
check "passwordless sudo" "^root\$" sudo -n whoami
check "docker active" "^active\$" systemctl is-active docker
check "workload image present" "swarmlab/busybox-static +local" docker image ls
check "container pings the lab gateway" "1 packets received" docker run --rm "$WORKLOAD" ping -c1 -W5 "$GATEWAY"
check "root fs grown to the 20G overlay" "/dev/vda +(19|20)(\\.[0-9])?G" df -h /
check "DNS server from network-config" "$GATEWAY" resolvectl dns ens3
check "unique machine-id" "^[0-9a-f]{32}\$" cat /etc/machine-id
check "host keys generated by cloud-init" "ssh_host_ed25519_key" ls /etc/ssh
check "swarm init" "Swarm initialized" docker swarm init --advertise-addr "$GUEST_IP"
check "node ls shows $HOSTNAME_FQDN" "$HOSTNAME_FQDN +Ready +Active +Leader" docker node ls
check "service with the local image" "verify: Service converged|^[a-z0-9]{25}\$" \
  docker service create --no-resolve-image --name smoke --detach=false "$WORKLOAD" sleep 50000
check "task running" "Running" docker service ps smoke --format '{{.CurrentState}}'
# (ssh joins its arguments into one remote shell command line)
# shellcheck disable=SC2016
check "busybox ip inside the task" "inet 127.0.0.1" 'docker exec $(docker ps -q -f label=com.docker.swarm.service.name=smoke | head -n1) ip a'
check "leave swarm" "left the swarm|Node left" docker swarm leave --force

log "guest facts:"
timeout 60 "${SSH[@]}" 'set -x; uname -r; ip -br link; cat /etc/resolv.conf | grep -v "^#"; docker version --format "{{.Server.Version}}"; df -h /; free -m; systemd-analyze || true; systemd-analyze blame | head -n 15; systemd-analyze critical-chain | head -n 25' >&2 2>&1 || true

log "=== figures ==="
log "image build/cache step: $(elapsed "$T_BUILD0" "$T_BUILD1") s"
log "disk.qcow2 file size: $(stat -c %s "$DISK") bytes; virtual: $(qemu-img info --output=json "$DISK" | sed -n 's/.*"virtual-size": *\([0-9]*\).*/\1/p' | head -n 1) bytes"
log "virsh start -> SSH reachable: $(elapsed "$T_START" "$T_SSH") s"
log "virsh start -> docker active: $(elapsed "$T_START" "$T_DOCKER") s"
((FAILS == 0)) || die "$FAILS check(s) failed"
log "all checks passed"
