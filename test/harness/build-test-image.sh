#!/usr/bin/env bash
# Build the Debian 12 (bookworm) or Debian 13 (trixie) guest image used by swarmlab's
# end-to-end tests.
#
# The product defaults to CentOS 7 cloud images, which cannot be fetched here; this
# script builds an equivalent guest from Debian packages with debootstrap:
#
#   ${SWARMLAB_CACHE:-/var/cache/swarmlab}/images/debian<12|13>-<sha256(this script)[:12]>/
#     disk.qcow2     whole-disk ext4 (no partition table, no bootloader), root=/dev/vda
#     vmlinuz        kernel for libvirt direct kernel boot
#     initrd.img     minimal busybox initramfs (virtio + ext4 modules, mounts root=)
#     packages.txt   every installed Debian package and its version (dpkg-query -W)
#     manifest.json  {disk, kernel, initrd, cmdline, sha256, workloadImage, ...}
#
# The guest reads its settings from the `cidata` seed swarmlab attaches, in one of two ways
# (SWARMLAB_GUEST_INIT): with cloud-init (NoCloud only: user-data, meta-data and
# network-config, rendered for systemd-networkd), as a stock cloud image would; or without
# cloud-init, where a small unit (swarmlab-init.service) mounts the seed and runs its
# `swarmlab-init.sh` (infra/guest/cloudinit.ts guestInitScript) before sysinit.target: the same
# settings without cloud-init's ~30 s of Python per boot under TCG. Either way the guest uses
# systemd-networkd,
# runs Docker from Debian's docker.io (20.10 on bookworm, 26.1 on trixie: the line of
# the last docker-ce for CentOS 7, 26.1.4) and carries a local, registry-free workload image
# `swarmlab/busybox-static:local` (a busybox-static rootfs, pre-imported into
# /var/lib/docker at build time; a docker.service ExecStartPost hook imports it at
# boot should it be missing, so it exists whenever docker.service is active).
#
# Cache: if the output directory already holds a complete manifest, nothing is done.
# The build runs in a temporary directory next to the output and is renamed into
# place atomically. All progress goes to stderr; the last line of stdout is the
# output directory.
#
# Every change to this script changes the hash, so the next run builds anew; images
# built by earlier versions of the script stay where they are (remove them by hand).
#
# Environment:
#   SWARMLAB_TEST_SUITE     bookworm (default, Debian 12) or trixie (Debian 13)
#   SWARMLAB_GUEST_INIT     cloud-init (default) or swarmlab (no cloud-init; see above)
#   SWARMLAB_CACHE          cache root (default /var/cache/swarmlab)
#   SWARMLAB_DEBIAN_MIRROR  Debian mirror (default http://deb.debian.org/debian)
#   SWARMLAB_DISK_SIZE      virtual size of the ext4 filesystem (default 3G)
#   SWARMLAB_QCOW2_COMPRESS 1 (default) = zstd-compressed qcow2, 0 = uncompressed
set -euo pipefail

SCRIPT_PATH="$(readlink -f "${BASH_SOURCE[0]}")"
SCRIPT_HASH="$(sha256sum "$SCRIPT_PATH" | cut -c1-12)"
CACHE_ROOT="${SWARMLAB_CACHE:-/var/cache/swarmlab}"
IMAGES_DIR="$CACHE_ROOT/images"
SUITE="${SWARMLAB_TEST_SUITE:-bookworm}"
case "$SUITE" in
  bookworm) DEBIAN_MAJOR=12 ;;
  trixie) DEBIAN_MAJOR=13 ;;
  *)
    printf '[build-test-image] ERROR: SWARMLAB_TEST_SUITE=%s is not supported: bookworm (Debian 12) or trixie (Debian 13)\n' "$SUITE" >&2
    exit 2
    ;;
esac
GUEST_INIT="${SWARMLAB_GUEST_INIT:-cloud-init}"
case "$GUEST_INIT" in
  cloud-init) NAME="debian$DEBIAN_MAJOR-$SCRIPT_HASH" ;;
  swarmlab) NAME="debian$DEBIAN_MAJOR-noci-$SCRIPT_HASH" ;;
  *)
    printf '[build-test-image] ERROR: SWARMLAB_GUEST_INIT=%s is not supported: cloud-init or swarmlab\n' "$GUEST_INIT" >&2
    exit 2
    ;;
esac
OUT_DIR="$IMAGES_DIR/$NAME"
DEB_CACHE="$CACHE_ROOT/debs/$SUITE"
MIRROR="${SWARMLAB_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DISK_SIZE="${SWARMLAB_DISK_SIZE:-3G}"
COMPRESS="${SWARMLAB_QCOW2_COMPRESS:-1}"
WORKLOAD_IMAGE="swarmlab/busybox-static:local"
CMDLINE="root=/dev/vda rw rootfstype=ext4 console=ttyS0,115200 apparmor=0 net.ifnames=1 mitigations=off quiet loglevel=4"

# Packages installed into the guest (with apt-get --no-install-recommends). The same
# names exist on bookworm and trixie, except for Docker's client (below).
GUEST_PACKAGES=(
  linux-image-amd64 initramfs-tools zstd kmod udev systemd-sysv dbus
  systemd-resolved
  openssh-server sudo
  docker.io iptables
  iproute2 iputils-ping ethtool tcpdump busybox-static
  procps less e2fsprogs netbase
)
# Docker's iptables rules go through Debian's default iptables-nft on both suites (the nf_tables
# modules are loaded early, see swarmlab-docker.conf); iptables is named here so that it never
# depends on what docker.io happens to pull in.
# verify's gather reads Docker's API with Python (cloud-init brings it in otherwise).
case "$GUEST_INIT" in
  cloud-init) GUEST_PACKAGES+=(cloud-init python3-cffi-backend) ;;
  swarmlab) GUEST_PACKAGES+=(python3) ;;
esac
case "$SUITE" in
  # From trixie on, the docker CLI is its own package (docker.io holds the daemon only).
  trixie) GUEST_PACKAGES+=(docker-cli) ;;
esac

log() { printf '[build-test-image %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

manifest_complete() {
  local dir="$1" f
  [[ -s "$dir/manifest.json" ]] || return 1
  for f in disk.qcow2 vmlinuz initrd.img; do
    [[ -s "$dir/$f" ]] || return 1
  done
  grep -q '"sha256"' "$dir/manifest.json" && grep -q '"cmdline"' "$dir/manifest.json"
}

if manifest_complete "$OUT_DIR"; then
  log "cache hit: $OUT_DIR"
  echo "$OUT_DIR"
  exit 0
fi

[[ $EUID -eq 0 ]] || die "must run as root (debootstrap, chroot)"

# --- build dependencies -----------------------------------------------------
need_pkgs=()
command -v debootstrap >/dev/null 2>&1 || need_pkgs+=(debootstrap)
command -v qemu-img >/dev/null 2>&1 || need_pkgs+=(qemu-utils)
command -v mkfs.ext4 >/dev/null 2>&1 || need_pkgs+=(e2fsprogs)
command -v flock >/dev/null 2>&1 || need_pkgs+=(util-linux)
command -v sha256sum >/dev/null 2>&1 || need_pkgs+=(coreutils)
command -v xz >/dev/null 2>&1 || need_pkgs+=(xz-utils)
command -v zstd >/dev/null 2>&1 || need_pkgs+=(zstd)
[[ -e /usr/share/keyrings/debian-archive-keyring.gpg ]] || need_pkgs+=(debian-archive-keyring)
if ((${#need_pkgs[@]})); then
  log "installing build dependencies: ${need_pkgs[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >&2
fi

mkdir -p "$IMAGES_DIR" "$DEB_CACHE"

# Unmount everything mounted below $1 (deepest first).
umount_below() {
  local base="$1" mp
  local -a mps=()
  while read -r mp; do
    mps+=("$mp")
  done < <(awk -v b="$base/" 'index($5, b) == 1 { print $5 }' /proc/self/mountinfo | sort -r)
  for mp in "${mps[@]}"; do
    umount "$mp" 2>/dev/null || umount -l "$mp" 2>/dev/null || log "WARNING: could not unmount $mp"
  done
}

# Remove $1 unless something is still mounted below it.
remove_tree() {
  umount_below "$1"
  if awk -v b="$1/" 'index($5, b) == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
    log "WARNING: mounts remain below $1; not deleting it"
  else
    rm -rf --one-file-system "$1"
  fi
}

# One build per script version at a time; a concurrent caller waits, then hits the cache.
mkdir -p "$IMAGES_DIR/.locks"
exec 9>"$IMAGES_DIR/.locks/$NAME.lock"
flock 9
if manifest_complete "$OUT_DIR"; then
  log "cache hit (built concurrently): $OUT_DIR"
  echo "$OUT_DIR"
  exit 0
fi

# Leftovers of a build that was killed outright (we hold the lock: nobody else owns them).
for stale in "$IMAGES_DIR/.$NAME.tmp."*; do
  [[ -d "$stale" ]] || continue
  log "removing stale build directory $stale"
  remove_tree "$stale"
done

WORK="$(mktemp -d "$IMAGES_DIR/.$NAME.tmp.XXXXXX")"
ROOT="$WORK/rootfs"
STAGE="$WORK/out"
mkdir -p "$ROOT" "$STAGE"

cleanup() {
  local rc=$?
  if [[ -n "${WORK:-}" && -d "$WORK" ]]; then
    remove_tree "$WORK"
  fi
  if ((rc != 0)); then
    log "build FAILED (exit $rc)"
  fi
  exit "$rc"
}
# The build runs as a background job (see the end) so that INT/TERM are handled at once
# (bash defers traps while a foreground command runs): stop every process of the build
# (descendants, and anything still chrooted into the rootfs), then clean up.
descendants() {
  ps -e -o pid=,ppid= | awk -v root="$1" '
    { parent[$1] = $2 }
    END {
      changed = 1; keep[root] = 1
      while (changed) {
        changed = 0
        for (p in parent) if (!(p in keep) && (parent[p] in keep)) { keep[p] = 1; changed = 1 }
      }
      for (p in keep) if (p != root) print p
    }'
}
chrooted_pids() {
  local p r
  for p in /proc/[0-9]*; do
    r="$(readlink "$p/root" 2>/dev/null)" || continue
    [[ "$r" == "$ROOT" ]] && echo "${p#/proc/}"
  done
  return 0
}
stop_build() {
  [[ -n "${BUILD_PID:-}" ]] || return 0
  local -a pids
  mapfile -t pids < <({ echo "$BUILD_PID"; descendants "$BUILD_PID"; chrooted_pids; } | sort -u)
  ((${#pids[@]})) || return 0
  log "stopping the build (pids ${pids[*]})"
  kill -TERM "${pids[@]}" 2>/dev/null || true
  sleep 2
  kill -KILL "${pids[@]}" 2>/dev/null || true
  wait "$BUILD_PID" 2>/dev/null || true
  BUILD_PID=""
}
trap cleanup EXIT
trap 'stop_build; exit 130' INT
trap 'stop_build; exit 143' TERM

in_root() { LC_ALL=C DEBIAN_FRONTEND=noninteractive chroot "$ROOT" "$@"; }
# shellcheck disable=SC2016 # dpkg-query's ${Version} is a dpkg format field, not a shell expansion
pkg_version() { in_root dpkg-query -W -f '${Version}' "$1"; }

build_image() {
T0=$SECONDS

# --- base system ------------------------------------------------------------
log "debootstrap $SUITE (minbase) from $MIRROR"
debootstrap --variant=minbase --cache-dir="$DEB_CACHE" "$SUITE" "$ROOT" "$MIRROR" >&2 \
  || { [[ -f "$ROOT/debootstrap/debootstrap.log" ]] && tail -n 30 "$ROOT/debootstrap/debootstrap.log" >&2; die "debootstrap failed"; }

# Never start services inside the chroot.
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod 755 "$ROOT/usr/sbin/policy-rc.d"

cat >"$ROOT/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
EOF
# Keep the image small: no docs, man pages or translations.
cat >"$ROOT/etc/dpkg/dpkg.cfg.d/01-swarmlab-nodoc" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
path-exclude /usr/share/lintian/*
EOF
cat >"$ROOT/etc/apt/apt.conf.d/01-swarmlab" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF

# initramfs: only what a virtio guest needs, zstd-compressed (small initrd = faster boot).
mkdir -p "$ROOT/etc/initramfs-tools/conf.d"
cat >"$ROOT/etc/initramfs-tools/conf.d/swarmlab.conf" <<'EOF'
MODULES=list
COMPRESS=zstd
EOF
cat >"$ROOT/etc/initramfs-tools/modules" <<'EOF'
virtio_pci
virtio_blk
virtio_net
virtio_console
ext4
EOF

mount -t proc proc "$ROOT/proc"
mount -t sysfs sysfs "$ROOT/sys"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$ROOT/dev/pts"

log "installing guest packages: ${GUEST_PACKAGES[*]}"
# Reuse .debs downloaded by earlier builds, and keep the new ones for the next build.
find "$DEB_CACHE" -maxdepth 1 -name '*.deb' -exec cp -t "$ROOT/var/cache/apt/archives/" {} + 2>/dev/null || true
in_root apt-get update -qq >&2
in_root apt-get install -y -q --no-install-recommends "${GUEST_PACKAGES[@]}" >"$WORK/apt.log" 2>&1 \
  || { tail -n 40 "$WORK/apt.log" >&2; die "apt-get install failed"; }
find "$ROOT/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -exec cp -n -t "$DEB_CACHE/" {} + 2>/dev/null || true
# shellcheck disable=SC2016 # dpkg-query format fields, not shell expansions
in_root dpkg-query -W -f '${Package} ${Version}\n' | LC_ALL=C sort >"$STAGE/packages.txt"
required=(dockerd docker containerd runc iptables sshd python3)
# cloud-init 24.3 and later (trixie's) start each boot stage by sending to a socket with nc.
[[ "$GUEST_INIT" == swarmlab ]] && required+=(blkid findmnt useradd ssh-keygen resize2fs)
[[ "$GUEST_INIT" == cloud-init ]] && required+=(cloud-init)
[[ "$GUEST_INIT" == cloud-init && "$SUITE" != bookworm ]] && required+=(nc)
for cmd in "${required[@]}"; do
  in_root sh -c "command -v $cmd" >/dev/null || die "$cmd is missing from the guest after installing its packages"
done
# cloud-init must render the network-config with networkd (manifest networkRenderer), not
# hand it to netplan or ifupdown should either have come in as a dependency.
for p in netplan.io ifupdown; do
  if grep -q "^$p " "$STAGE/packages.txt"; then die "$p got installed; cloud-init would render the network with it instead of networkd"; fi
done
log "$(in_root dockerd --version); $(in_root iptables --version)"
log "installed: $(grep -E '^(docker\.io|docker-cli|containerd|runc|iptables|cloud-init|systemd|linux-image-[0-9].*) ' "$STAGE/packages.txt" | tr '\n' ' ')"

# --- guest configuration ----------------------------------------------------
log "configuring guest"

KVER="$(find "$ROOT/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1)"
[[ -n "$KVER" ]] || die "no kernel modules found"

# Drop kernel modules a virtio guest never needs (keeps net/, fs/, crypto/, lib/, virtio...).
MODDIR="$ROOT/lib/modules/$KVER/kernel"
for d in drivers/gpu drivers/media drivers/infiniband drivers/staging drivers/iio \
  drivers/net/wireless drivers/net/ethernet drivers/bluetooth drivers/usb drivers/hid \
  drivers/isdn drivers/input/joystick drivers/input/touchscreen drivers/input/misc \
  drivers/scsi/lpfc drivers/scsi/qla2xxx drivers/scsi/mpt3sas drivers/scsi/megaraid \
  drivers/mmc drivers/mtd drivers/nfc drivers/thunderbolt drivers/hwmon drivers/edac \
  drivers/platform drivers/power drivers/leds drivers/watchdog drivers/w1 drivers/spi \
  drivers/i2c drivers/pinctrl drivers/gnss drivers/comedi drivers/fpga \
  sound net/wireless net/mac80211 net/bluetooth; do
  rm -rf "${MODDIR:?}/$d"
done
rm -rf "$ROOT/lib/firmware"
in_root depmod -a "$KVER"

echo localhost >"$ROOT/etc/hostname"
cat >"$ROOT/etc/hosts" <<'EOF'
127.0.0.1	localhost
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
EOF
cat >"$ROOT/etc/fstab" <<'EOF'
# whole-disk ext4, booted with root=/dev/vda (libvirt direct kernel boot)
/dev/vda	/	ext4	defaults,noatime,errors=remount-ro	0	0
EOF

# systemd-networkd renders cloud-init's network-config; systemd-resolved serves DNS
# (so Docker never falls back to public resolvers).
in_root systemctl enable systemd-networkd.service systemd-resolved.service >&2
ln -sf ../run/systemd/resolve/stub-resolv.conf "$ROOT/etc/resolv.conf"
# Only wait for one link to come online, and not forever.
mkdir -p "$ROOT/etc/systemd/system/systemd-networkd-wait-online.service.d"
cat >"$ROOT/etc/systemd/system/systemd-networkd-wait-online.service.d/swarmlab.conf" <<'EOF'
[Service]
ExecStart=
ExecStart=/lib/systemd/systemd-networkd-wait-online --any --timeout=30
EOF
# cloud-init renders static-only .network files without IPv6AcceptRA=; networkd then
# waits ~10 s for a router advertisement that a lab network never sends before it calls
# the link "configured" (and cloud-init.service, named cloud-init-network.service from
# cloud-init 24.3 on, waits for systemd-networkd-wait-online).
# Add IPv6AcceptRA=no to every rendered .network that does not set it (IPv6 link-local
# addresses stay as on any host), between cloud-init-local and networkd.
cat >"$ROOT/usr/local/sbin/swarmlab-networkd-no-ra" <<'EOF'
#!/bin/sh
# swarmlab: static lab links never get router advertisements; do not wait for one.
for f in /etc/systemd/network/*.network /run/systemd/network/*.network; do
  [ -f "$f" ] || continue
  grep -qi '^IPv6AcceptRA' "$f" && continue
  mkdir -p "$f.d"
  printf '[Network]\nIPv6AcceptRA=no\n' >"$f.d/90-swarmlab-no-ra.conf"
done
exit 0
EOF
chmod 755 "$ROOT/usr/local/sbin/swarmlab-networkd-no-ra"
cat >"$ROOT/etc/systemd/system/swarmlab-networkd-no-ra.service" <<'EOF'
[Unit]
Description=swarmlab: no IPv6 router-advertisement wait on cloud-init rendered links
DefaultDependencies=no
After=systemd-remount-fs.service cloud-init-local.service
Before=systemd-networkd.service network-pre.target
Wants=network-pre.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/swarmlab-networkd-no-ra

[Install]
WantedBy=systemd-networkd.service
EOF
in_root systemctl enable swarmlab-networkd-no-ra.service >&2

# No LLMNR/mDNS chatter, no fallback to public DNS servers.
mkdir -p "$ROOT/etc/systemd/resolved.conf.d"
cat >"$ROOT/etc/systemd/resolved.conf.d/swarmlab.conf" <<'EOF'
[Resolve]
LLMNR=no
MulticastDNS=no
FallbackDNS=
DNSStubListener=yes
EOF

# Nothing that slows boot or reaches out to the network.
for unit in apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer \
  e2scrub_reap.service fstrim.timer logrotate.timer man-db.timer systemd-timesyncd.service \
  getty@tty1.service; do
  in_root systemctl disable "$unit" >/dev/null 2>&1 || true
  in_root systemctl mask "$unit" >/dev/null 2>&1 || true
done
# Kernel modules nothing here uses; each modprobe costs seconds of early boot under TCG.
for unit in modprobe@drm.service modprobe@efi_pstore.service modprobe@dm_mod.service \
  modprobe@fuse.service modprobe@loop.service; do
  in_root systemctl mask "$unit" >/dev/null 2>&1 || true
done
# Drivers udev would load for emulated hardware the lab never uses (the i440fx IDE
# controller, floppy, PS/2 mouse, nested KVM...): each costs time under TCG.
cat >"$ROOT/etc/modprobe.d/swarmlab-blacklist.conf" <<'EOF'
# swarmlab test image: not needed in a virtio-only lab guest
blacklist floppy
blacklist kvm
blacklist kvm_amd
blacklist kvm_intel
blacklist ccp
blacklist ata_piix
blacklist ata_generic
blacklist pata_acpi
blacklist psmouse
blacklist serio_raw
blacklist pcspkr
EOF
# Modules Docker (bridge, iptables-nft, overlay networks) loads one modprobe at a time
# while it starts; load them early instead, while cloud-init keeps only one CPU busy.
cat >"$ROOT/etc/modules-load.d/swarmlab-docker.conf" <<'EOF'
overlay
bridge
br_netfilter
veth
vxlan
nf_tables
nft_compat
nft_chain_nat
nf_nat
nf_conntrack
xt_conntrack
xt_MASQUERADE
xt_addrtype
xt_nat
xt_tcpudp
xt_mark
EOF
# containerd needs neither the hostname nor cloud-init's configuration: let it start as
# soon as the network stack is up instead of after sysinit.target (which waits for
# cloud-init.service, or cloud-init-network.service on trixie), so dockerd only waits for
# basic.target. dockerd itself keeps its normal ordering (cloud-init may write
# /etc/docker/daemon.json before it starts).
mkdir -p "$ROOT/etc/systemd/system/containerd.service.d"
cat >"$ROOT/etc/systemd/system/containerd.service.d/swarmlab-early.conf" <<'EOF'
[Unit]
DefaultDependencies=no
After=local-fs.target systemd-tmpfiles-setup.service systemd-modules-load.service network.target
Conflicts=shutdown.target
Before=shutdown.target
EOF
# Journal in memory only (faster under TCG, nothing persistent to grow).
mkdir -p "$ROOT/etc/systemd/journald.conf.d"
cat >"$ROOT/etc/systemd/journald.conf.d/swarmlab.conf" <<'EOF'
[Journal]
Storage=volatile
RuntimeMaxUse=32M
EOF

if [[ "$GUEST_INIT" == swarmlab ]]; then
# No cloud-init: swarmlab-init.service applies the seed's swarmlab-init.sh at every boot,
# before udev's coldplug trigger (so udev names the NIC by the seed's .link file) and before
# sysinit.target (so before networkd, sshd, containerd and Docker). It needs no udev: blkid
# probes the disks itself.
cat >"$ROOT/usr/local/sbin/swarmlab-init" <<'EOF'
#!/bin/sh
# swarmlab: mount this guest's seed (the disk labelled cidata) and run its swarmlab-init.sh.
set -eu
i=0
dev=""
while [ -z "$dev" ]; do
  dev="$(blkid -c /dev/null -L cidata 2>/dev/null || true)"
  [ -n "$dev" ] && break
  i=$((i + 1))
  if [ "$i" -ge 150 ]; then echo "swarmlab-init: no disk labelled cidata (the lab's seed) after 15 s" >&2; exit 1; fi
  sleep 0.1
done
mnt="$(mktemp -d /run/swarmlab-seed.XXXXXX)"
mount -t iso9660 -o ro "$dev" "$mnt"
trap 'umount "$mnt"; rmdir "$mnt"' EXIT
if [ ! -f "$mnt/swarmlab-init.sh" ]; then
  echo "swarmlab-init: the seed on $dev has no swarmlab-init.sh (an image without cloud-init needs a seed from a newer swarmlab)" >&2
  exit 1
fi
sh "$mnt/swarmlab-init.sh"
EOF
chmod 755 "$ROOT/usr/local/sbin/swarmlab-init"
cat >"$ROOT/etc/systemd/system/swarmlab-init.service" <<'EOF'
[Unit]
Description=swarmlab: apply this guest's seed (hostname, user and key, network)
DefaultDependencies=no
After=systemd-remount-fs.service
Before=systemd-udev-trigger.service sysinit.target systemd-networkd.service network-pre.target ssh.service
Wants=network-pre.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/swarmlab-init

[Install]
WantedBy=sysinit.target
EOF
in_root systemctl enable swarmlab-init.service >&2
# The seed gives the user; no account is there before it.
else
# cloud-init: NoCloud seed only (never probe cloud metadata endpoints), and only the
# modules a lab guest needs (every module costs time under TCG).
cat >"$ROOT/etc/cloud/cloud.cfg.d/90-swarmlab.cfg" <<'EOF'
# swarmlab test image
datasource_list: [ NoCloud, None ]
datasource:
  NoCloud:
    fs_label: cidata
# The kernel hostname is the FQDN (docker0.local), as on the CentOS 7 guests of the
# documented lab. This must be system config: cloud-init-local sets the hostname from
# meta-data before user-data is read, and later stages see "no change" and skip.
prefer_fqdn_over_hostname: true
# en_US.UTF-8 (Debian's default) needs the locales package; C.UTF-8 is built in.
locale: false
# ed25519/ecdsa host keys are generated in well under a second even under TCG.
ssh_genkeytypes: [ ed25519, ecdsa ]
ssh_deletekeys: true
# Grow the root filesystem to the (larger) overlay disk; whole-disk ext4, no partition.
resize_rootfs: noblock
growpart:
  mode: "off"
# Nothing that reaches the network (apt mirrors, NTP, ssh-import-id, phone-home...).
apt:
  preserve_sources_list: true
cloud_init_modules:
  - seed_random
  - bootcmd
  - write-files
  - resizefs
  - mounts
  - set_hostname
  - update_hostname
  - update_etc_hosts
  - users-groups
  - ssh
cloud_config_modules:
  - set-passwords
  - timezone
  - runcmd
cloud_final_modules:
  - write-files-deferred
  - scripts-vendor
  - scripts-per-once
  - scripts-per-boot
  - scripts-per-instance
  - scripts-user
  - ssh-authkey-fingerprints
  - keys-to-console
  - final-message
  - power-state-change
EOF

# The only datasource is NoCloud: skip ds-identify's probing in the systemd generator.
cat >"$ROOT/etc/cloud/ds-identify.cfg" <<'EOF'
policy: enabled
EOF
# cloud-config (set-passwords, timezone, runcmd) need not compete with Docker's
# start for the two emulated CPUs; it and cloud-final run once Docker is up.
mkdir -p "$ROOT/etc/systemd/system/cloud-config.service.d"
cat >"$ROOT/etc/systemd/system/cloud-config.service.d/swarmlab-after-docker.conf" <<'EOF'
[Unit]
After=docker.service
EOF
fi

# Docker: quiet, local-only defaults.
mkdir -p "$ROOT/etc/docker"
cat >"$ROOT/etc/docker/daemon.json" <<'EOF'
{
  "log-driver": "json-file",
  "log-opts": { "max-size": "10m", "max-file": "2" }
}
EOF

# --- local workload image ---------------------------------------------------
log "building workload image rootfs ($WORKLOAD_IMAGE)"
BB="$ROOT/bin/busybox"
[[ -x "$BB" ]] || die "busybox-static did not install /bin/busybox"
WL="$WORK/workload"
mkdir -p "$WL/bin" "$WL/etc" "$WL/tmp" "$WL/root" "$WL/proc" "$WL/sys" "$WL/dev" "$WL/var/run"
cp "$BB" "$WL/bin/busybox"
while read -r applet; do
  [[ -n "$applet" && "$applet" != busybox ]] && ln -sf busybox "$WL/bin/$applet"
done < <("$BB" --list)
for a in sh sleep ping ip ifconfig cat; do
  [[ -e "$WL/bin/$a" ]] || die "busybox-static lacks applet '$a'"
done
chmod 1777 "$WL/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$WL/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$WL/etc/group"
mkdir -p "$ROOT/usr/local/share/swarmlab"
tar -C "$WL" --numeric-owner --owner=0 --group=0 -cf "$ROOT/usr/local/share/swarmlab/busybox-static-rootfs.tar" .
BB_VERSION="$(pkg_version busybox-static)"

cat >"$ROOT/usr/local/sbin/swarmlab-import-workload-image" <<EOF
#!/bin/sh
# Import the registry-free workload image once (docker.service ExecStartPost).
set -e
IMAGE="$WORKLOAD_IMAGE"
TARBALL=/usr/local/share/swarmlab/busybox-static-rootfs.tar
# Already imported? Checked without the docker CLI (a Go binary takes seconds to start
# under TCG). Should this miss (another data-root), importing again only re-tags.
if grep -qsF "\"\${IMAGE%%:*}\":{\"\$IMAGE\"" /var/lib/docker/image/overlay2/repositories.json; then
  exit 0
fi
docker import \\
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \\
  --change 'CMD ["sh"]' \\
  --change 'LABEL org.opencontainers.image.title=busybox-static org.opencontainers.image.version=$BB_VERSION org.opencontainers.image.description="Debian busybox-static rootfs baked into the swarmlab test image"' \\
  --message "busybox-static $BB_VERSION from the Debian package (swarmlab test image)" \\
  "\$TARBALL" "\$IMAGE" >/dev/null
EOF
chmod 755 "$ROOT/usr/local/sbin/swarmlab-import-workload-image"
mkdir -p "$ROOT/etc/systemd/system/docker.service.d"
cat >"$ROOT/etc/systemd/system/docker.service.d/swarmlab-workload-image.conf" <<'EOF'
[Service]
# Guests have no registry: swarm tasks must not try to pull (each attempt waits for DNS
# to fail before the task starts). Honoured by dockerd's swarm executor (moby 17.06+).
Environment=DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1
ExecStartPost=/usr/local/sbin/swarmlab-import-workload-image
EOF

# Pre-import the workload image at build time (saves ~7 s of every first boot under TCG):
# run the guest's own dockerd inside the chroot, in private network/mount/pid namespaces
# (no bridge, no iptables: nothing touches the build host's network), import, stop.
# Only the image store is kept; per-daemon state (engine-id, networks...) is removed so
# every guest starts fresh. If this fails, the ExecStartPost hook imports at first boot.
log "pre-importing $WORKLOAD_IMAGE with the guest's dockerd (isolated namespaces)"
cat >"$ROOT/tmp/swarmlab-prebake.sh" <<'EOF'
#!/bin/sh
set -eu
mount -t proc proc /proc
mount -t tmpfs tmpfs /run
mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null || true
ip link set lo up
dockerd --iptables=false --ip-masq=false --ip-forward=false --bridge=none \
  --storage-driver=overlay2 --data-root=/var/lib/docker --exec-root=/run/docker \
  -H unix:///run/docker.sock --pidfile=/run/docker.pid >/tmp/swarmlab-prebake-dockerd.log 2>&1 &
i=0
until docker version >/dev/null 2>&1; do
  i=$((i + 1))
  if [ $i -gt 120 ]; then echo "dockerd did not come up" >&2; exit 1; fi
  sleep 0.5
done
/usr/local/sbin/swarmlab-import-workload-image
docker image ls --format '{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}'
kill "$(cat /run/docker.pid)"
i=0
while [ -e /run/docker.pid ] && [ $i -lt 60 ]; do sleep 0.5; i=$((i + 1)); done
EOF
chmod 755 "$ROOT/tmp/swarmlab-prebake.sh"
# (The rootfs is bind-mounted onto itself first: dockerd's layer unpacking needs "/" to
# be a mount point.)
# shellcheck disable=SC2016 # $1 is expanded by the inner sh
if unshare --net --mount --pid --fork --propagation private -- \
  sh -c 'mount --rbind "$1" "$1" && exec chroot "$1" /tmp/swarmlab-prebake.sh' sh "$ROOT" >&2; then
  (cd "$ROOT/var/lib/docker" && rm -rf engine-id network containers volumes swarm buildkit tmp runtimes trust plugins containerd)
  grep -qF "\"$WORKLOAD_IMAGE\"" "$ROOT/var/lib/docker/image/overlay2/repositories.json" \
    || die "pre-import did not register $WORKLOAD_IMAGE"
else
  log "WARNING: pre-import failed (see below); the image will be imported at first boot instead"
  tail -n 20 "$ROOT/tmp/swarmlab-prebake-dockerd.log" >&2 || true
  rm -rf "$ROOT/var/lib/docker"
fi
rm -f "$ROOT/tmp/swarmlab-prebake.sh" "$ROOT/tmp/swarmlab-prebake-dockerd.log"

# --- minimal initramfs ---------------------------------------------------------
# Debian's initramfs-tools image (udev, scripts, fsck...) takes 5-8 s under TCG. The lab
# only needs virtio + ext4 loaded and root= mounted: a busybox init does that in ~1 s.
log "building minimal initramfs"
IRD="$ROOT/tmp/swarmlab-initrd"
mkdir -p "$IRD/bin" "$IRD/dev" "$IRD/proc" "$IRD/sys" "$IRD/newroot" "$IRD/lib/modules"
cp "$ROOT/bin/busybox" "$IRD/bin/busybox"
: >"$IRD/lib/modules/load-order"
n=0
while read -r ko; do
  n=$((n + 1))
  base="$(printf '%02d-%s' "$n" "${ko##*/}")"
  # trixie's kernel ships its modules xz-compressed; busybox insmod is only sure to load
  # plain ELF modules, so they go into the initramfs decompressed.
  case "$ko" in
    *.ko.xz) base="${base%.xz}"; xz -dc "$ROOT$ko" >"$IRD/lib/modules/$base" ;;
    *.ko.zst) base="${base%.zst}"; zstd -qdc "$ROOT$ko" >"$IRD/lib/modules/$base" ;;
    *.ko.gz) base="${base%.gz}"; gzip -dc "$ROOT$ko" >"$IRD/lib/modules/$base" ;;
    *) cp "$ROOT$ko" "$IRD/lib/modules/$base" ;;
  esac
  echo "$base" >>"$IRD/lib/modules/load-order"
done < <(for m in crc32c_generic virtio_pci virtio_blk virtio_net virtio_rng ext4; do
  in_root modprobe --show-depends --set-version "$KVER" "$m"
done | awk '$1 == "insmod" && !seen[$2]++ { print $2 }')
grep -q 'virtio_blk' "$IRD/lib/modules/load-order" || die "initramfs: virtio_blk module not found"
grep -q 'ext4' "$IRD/lib/modules/load-order" || die "initramfs: ext4 module not found"
cat >"$IRD/init" <<'EOF'
#!/bin/busybox sh
# swarmlab minimal initramfs: load virtio + ext4 modules, mount root=, switch_root.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
root=/dev/vda fstype=ext4 mode=rw flags="" init=/sbin/init
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    root=*) root="${arg#root=}" ;;
    rootfstype=*) fstype="${arg#rootfstype=}" ;;
    rootflags=*) flags=",${arg#rootflags=}" ;;
    ro) mode=ro ;;
    rw) mode=rw ;;
    init=*) init="${arg#init=}" ;;
  esac
done
while read -r ko; do
  insmod "/lib/modules/$ko" 2>/dev/null || echo "initrd: insmod $ko failed (built in or loaded?)"
done </lib/modules/load-order
i=0
while [ $i -lt 300 ]; do
  case "$root" in
    LABEL=* | UUID=*) dev="$(findfs "$root" 2>/dev/null)" ;;
    *) dev="$root" ;;
  esac
  [ -n "$dev" ] && [ -b "$dev" ] && break
  sleep 0.1
  i=$((i + 1))
done
if ! mount -t "$fstype" -o "$mode$flags" "$dev" /newroot; then
  echo "initrd: cannot mount root=$root ($dev) as $fstype; dropping to a shell"
  exec sh
fi
mount --move /dev /newroot/dev
umount /sys /proc
exec switch_root /newroot "$init"
echo "initrd: switch_root failed"; exec sh
EOF
chmod 755 "$IRD/init"
in_root sh -c 'cd /tmp/swarmlab-initrd && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0' >"$STAGE/initrd.img"
rm -rf "$IRD"

# --- make every guest unique; shrink ----------------------------------------
log "cleaning up"
rm -f "$ROOT/usr/sbin/policy-rc.d"
rm -f "$ROOT"/etc/ssh/ssh_host_*
: >"$ROOT/etc/machine-id"
rm -f "$ROOT/var/lib/dbus/machine-id"
rm -rf "$ROOT/var/lib/cloud"/* "$ROOT/var/log/cloud-init"*
in_root apt-get clean
rm -rf "$ROOT/var/lib/apt/lists"/* "$ROOT/var/cache/apt"/*.bin "$ROOT/tmp"/* "$ROOT/var/tmp"/*
rm -rf "$ROOT/debootstrap"
find "$ROOT/var/log" -type f -exec truncate -s 0 {} +

cp "$ROOT/boot/vmlinuz-$KVER" "$STAGE/vmlinuz"
chmod 644 "$STAGE/vmlinuz" "$STAGE/initrd.img"

umount_below "$ROOT"

# --- disk -------------------------------------------------------------------
log "creating ${DISK_SIZE} ext4 filesystem from the rootfs"
truncate -s "$DISK_SIZE" "$WORK/disk.raw"
mkfs.ext4 -q -F -L swarmlab-root -m 1 -d "$ROOT" "$WORK/disk.raw" >&2
if [[ "$COMPRESS" == 1 ]]; then
  log "converting to compressed qcow2 (zstd)"
  qemu-img convert -f raw -O qcow2 -c -o compression_type=zstd -m 4 -W "$WORK/disk.raw" "$STAGE/disk.qcow2"
else
  log "converting to qcow2"
  qemu-img convert -f raw -O qcow2 -m 4 -W "$WORK/disk.raw" "$STAGE/disk.qcow2"
fi
rm -f "$WORK/disk.raw"
chmod 644 "$STAGE/disk.qcow2" "$STAGE/packages.txt"

DISK_SHA="$(sha256sum "$STAGE/disk.qcow2" | cut -d' ' -f1)"
VSIZE="$(qemu-img info --output=json "$STAGE/disk.qcow2" | sed -n 's/.*"virtual-size": *\([0-9]*\).*/\1/p' | head -n 1)"
FSIZE="$(stat -c %s "$STAGE/disk.qcow2")"
DOCKER_VERSION="$(pkg_version docker.io)"
CLOUDINIT_VERSION=""
[[ "$GUEST_INIT" == cloud-init ]] && CLOUDINIT_VERSION="$(pkg_version cloud-init)"

cat >"$STAGE/manifest.json" <<EOF
{
  "name": "$NAME",
  "os": "debian-$DEBIAN_MAJOR",
  "suite": "$SUITE",
  "disk": "$OUT_DIR/disk.qcow2",
  "kernel": "$OUT_DIR/vmlinuz",
  "initrd": "$OUT_DIR/initrd.img",
  "cmdline": "$CMDLINE",
  "sha256": "$DISK_SHA",
  "diskFormat": "qcow2",
  "diskVirtualSizeBytes": $VSIZE,
  "diskFileSizeBytes": $FSIZE,
  "rootDevice": "/dev/vda",
  "kernelVersion": "$KVER",
  "dockerVersion": "$DOCKER_VERSION",
  "guestInit": "$GUEST_INIT",
  "cloudInitVersion": "$CLOUDINIT_VERSION",
  "networkRenderer": "networkd",
  "workloadImage": "$WORKLOAD_IMAGE",
  "builtBy": "test/harness/build-test-image.sh@$SCRIPT_HASH",
  "builtAt": "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}
EOF

# --- publish atomically -----------------------------------------------------
rm -rf --one-file-system "$OUT_DIR"   # an incomplete leftover (no complete manifest)
mv -T "$STAGE" "$OUT_DIR"
log "built $OUT_DIR in $((SECONDS - T0)) s (disk file $FSIZE bytes, virtual $VSIZE bytes)"
}

build_image &
BUILD_PID=$!
wait "$BUILD_PID"
BUILD_PID=""
manifest_complete "$OUT_DIR" || die "build finished without a complete image in $OUT_DIR"
echo "$OUT_DIR"
