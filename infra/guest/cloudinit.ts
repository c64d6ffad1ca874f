/**
 * The seed of a lab host, as files of a NoCloud ISO (label cidata): cloud-init's user-data,
 * meta-data and network-config, and the same settings as one POSIX sh script for images that
 * boot without cloud-init (guestInitScript). Pure functions.
 */
import * as crypto from "crypto";
import { shellQuote as shq } from "../../scripts/lib/shell";

export interface SeedArgs {
  hostname: string;
  user: string;
  publicKey: string;
  mac: string;
  address: string;
  prefix: number;
  gateway: string;
  /** All lab hosts, for /etc/hosts. */
  peers: { hostname: string; address: string }[];
  /** The guest runs under TCG (domain type qemu): its seed turns ASLR off (see ASLR_OFF). */
  emulated?: boolean;
}

/**
 * Under TCG (domain type qemu) the guests run with address space layout randomisation off, set
 * by the seed at every boot. QEMU 7.2's TCG (Debian 12's) ties the host code it translates to the
 * guest's virtual addresses, so with ASLR every program start translates the code it runs again
 * at its new random addresses: measured in a lab guest, `iptables -t nat -S` took 113-137 ms with
 * ASLR and 33-42 ms without, `docker version` 1.2-1.4 s and 0.6-0.9 s, and the workload step (the
 * engine's iptables and namespaces for demonet, its tasks, the step's own calls) 28-33 s and
 * 17-18 s. Under KVM it makes no difference, and the seed leaves ASLR as the image has it.
 */
export const ASLR_OFF = "sysctl -qw kernel.randomize_va_space=0";

/** The lab NIC's name in the guests, as in the documented lab (HOST-2). */
export const NIC_NAME = "ens3";

/**
 * CentOS 7 GenericCloud boots with predictable interface names off (net.ifnames=0), so its
 * NIC comes up as eth0, and the image ships /etc/sysconfig/network-scripts/ifcfg-eth0
 * (DHCP, ONBOOT=yes). cloud-init 19.4 renames the NIC to ens3 from the network-config (matched
 * by MAC) and writes ifcfg-ens3, but leaves ifcfg-eth0 behind: network.service then fails on
 * every boot trying to bring up an eth0 that no longer exists. Its sysconfig renderer also
 * rewrites /etc/sysconfig/network without the image's NOZEROCONF=yes, so every ifup adds a
 * 169.254.0.0/16 route on the NIC.
 *
 * The lab keeps the name ens3 (the documented lab's, and the facts verify checks) rather than
 * letting cloud-init keep eth0, and repairs what the rename leaves behind. This runs as a
 * bootcmd, on every boot, only on CentOS 7 (a no-op elsewhere, idempotent): it removes the
 * stale ifcfg-eth0 (only while no eth0 exists), restores NOZEROCONF=yes and removes the
 * zeroconf route. On the first boot network.service has already run (cloud-init's network
 * stage, where bootcmd runs, is ordered after it) and failed; it is started again, which with
 * ifcfg-eth0 gone succeeds (ifup of the configured ens3 changes nothing). Later boots find
 * nothing to do. POSIX sh: bootcmd runs under /bin/sh (dash on Debian).
 */
export function centos7NetworkFix(nic: string = NIC_NAME): string {
  return `if ( . /etc/os-release && [ "$ID" = centos ] && [ "\${VERSION_ID%%.*}" = 7 ] ) 2>/dev/null; then
  if [ -f /etc/sysconfig/network-scripts/ifcfg-eth0 ] && [ ! -e /sys/class/net/eth0 ]; then
    rm -f /etc/sysconfig/network-scripts/ifcfg-eth0
  fi
  grep -qs '^NOZEROCONF=yes' /etc/sysconfig/network || echo NOZEROCONF=yes >>/etc/sysconfig/network
  ip -4 route del 169.254.0.0/16 dev ${nic} 2>/dev/null || true
  if systemctl is-failed --quiet network.service; then systemctl --no-block start network.service; fi
fi
`;
}

/** Indents every non-empty line of a block for a YAML block scalar. */
function indent(text: string, by: string): string {
  return text
    .split("\n")
    .map((l) => (l ? by + l : l))
    .join("\n");
}

export function userData(a: SeedArgs): string {
  const hosts = a.peers.map((p) => `      ${p.address} ${p.hostname} ${p.hostname.split(".")[0]}`).join("\n");
  return `#cloud-config
hostname: ${a.hostname}
fqdn: ${a.hostname}
prefer_fqdn_over_hostname: true
manage_etc_hosts: false
ssh_pwauth: false
disable_root: true
users:
  - name: ${a.user}
    gecos: swarmlab lab user
    shell: /bin/bash
    sudo: "ALL=(ALL) NOPASSWD:ALL"
    lock_passwd: true
    ssh_authorized_keys:
      - ${a.publicKey}
write_files:
  - path: /etc/hosts
    append: true
    content: |
${hosts}
bootcmd:
  - [ sh, -c, "hostname ${a.hostname} || true" ]${a.emulated ? `
  - [ sh, -c, "${ASLR_OFF} || true" ]` : ""}
  - |
${indent(centos7NetworkFix(), "    ")}`;
}

export function metaData(a: SeedArgs, userDataText: string): string {
  // A new instance-id whenever the seed changes, so cloud-init applies it again.
  const id = crypto.createHash("sha256").update(userDataText + networkConfig(a)).digest("hex").slice(0, 12);
  return `instance-id: ${a.hostname.split(".")[0]}-${id}\nlocal-hostname: ${a.hostname}\n`;
}

/**
 * Version 1 network config: understood by every cloud-init release, CentOS 7's 19.4 included
 * (whose sysconfig renderer does not take version 2). The NIC is named by MAC: cloud-init
 * renames it to ens3 where the kernel named it otherwise (eth0 on CentOS 7 GenericCloud; see
 * centos7NetworkFix).
 */
export function networkConfig(a: SeedArgs): string {
  return `version: 1
config:
  - type: physical
    name: ${NIC_NAME}
    mac_address: "${a.mac}"
    subnets:
      - type: static
        address: ${a.address}/${a.prefix}
        gateway: ${a.gateway}
        dns_nameservers: [${a.gateway}]
`;
}

/**
 * The seed as one POSIX sh script (the seed's `swarmlab-init.sh`), for guest images built without cloud-init (the project's
 * image builder with SWARMLAB_GUEST_INIT=swarmlab: its `swarmlab-init.service` mounts the seed
 * and runs this file before systemd-udev-trigger and sysinit.target, so before udev names the
 * NIC and before networkd, sshd and Docker start). It applies
 * what the cloud-init user-data and network-config above say, and nothing else: the FQDN as
 * hostname, the peers in /etc/hosts, the lab user (locked password, passwordless sudo, the
 * lab key only), sshd without passwords or root login and with fresh ed25519/ecdsa host keys,
 * the lab NIC named ens3 (by MAC: a .link file that udev applies, or a rename when udev had
 * named it before) with its static address, gateway and DNS for systemd-networkd, the root
 * filesystem grown to the disk, and under emulation ASLR off (first, see ASLR_OFF). Idempotent: every boot runs it
 * again and a second run changes nothing. Cloud-init images ignore the file.
 *
 * Files are written below $SWARMLAB_INIT_ROOT (empty in a guest), so that the unit tests can
 * run it against a directory with stand-ins for the system programs.
 */
export function guestInitScript(a: SeedArgs): string {
  const address = `${a.address}/${a.prefix}`;
  const hosts = a.peers.map((p) => `${p.address} ${p.hostname} ${p.hostname.split(".")[0]}`);
  return `#!/bin/sh
# swarmlab guest init (written by swarmlab into this guest's seed; see infra/guest/cloudinit.ts)
set -eu
R="\${SWARMLAB_INIT_ROOT:-}"
fqdn=${shq(a.hostname)}
user=${shq(a.user)}
key=${shq(a.publicKey)}
mac=${shq(a.mac.toLowerCase())}
nic=${shq(NIC_NAME)}
say() { echo "swarmlab-init: $*"; }
${a.emulated ? `
# Under emulation (TCG), ASLR off first: every program started after this one runs faster.
${ASLR_OFF} || say "could not turn ASLR off"
` : ""}
# Hostname: the FQDN, as the documented lab's hosts had it.
printf '%s\\n' "$fqdn" >"$R/etc/hostname"
hostname "$fqdn"
for line in ${hosts.map(shq).join(" ")}; do
  grep -qxF "$line" "$R/etc/hosts" 2>/dev/null || printf '%s\\n' "$line" >>"$R/etc/hosts"
done

# The lab user: no password, passwordless sudo, the lab key only.
if ! getent passwd "$user" >/dev/null; then
  # useradd leaves the password locked ("!"): key logins only.
  useradd --create-home --shell /bin/bash --comment 'swarmlab lab user' "$user"
  say "created user $user"
fi
home="$(getent passwd "$user" | cut -d: -f6)"
mkdir -p "$home/.ssh"
printf '%s\\n' "$key" >"$home/.ssh/authorized_keys"
chmod 700 "$home/.ssh"
chmod 600 "$home/.ssh/authorized_keys"
chown -R "$user:" "$home/.ssh"
mkdir -p "$R/etc/sudoers.d"
printf '%s ALL=(ALL) NOPASSWD:ALL\\n' "$user" >"$R/etc/sudoers.d/90-swarmlab"
chmod 440 "$R/etc/sudoers.d/90-swarmlab"

# sshd: keys only, no root login, this guest's own host keys.
mkdir -p "$R/etc/ssh/sshd_config.d"
cat >"$R/etc/ssh/sshd_config.d/50-swarmlab.conf" <<'EOF'
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
HostKey /etc/ssh/ssh_host_ed25519_key
HostKey /etc/ssh/ssh_host_ecdsa_key
EOF
for t in ed25519 ecdsa; do
  [ -s "$R/etc/ssh/ssh_host_\${t}_key" ] || ssh-keygen -q -t "$t" -N '' -f "$R/etc/ssh/ssh_host_\${t}_key"
done

# The lab NIC: named ens3 by its MAC, with its static address for systemd-networkd. The image
# runs this before systemd-udev-trigger, so udev names the NIC by the .link file as it first
# sees it; a NIC that udev had already named otherwise is renamed here.
mkdir -p "$R/etc/systemd/network"
cat >"$R/etc/systemd/network/10-swarmlab-lab.link" <<EOF
[Match]
MACAddress=$mac

[Link]
Name=$nic
EOF
cat >"$R/etc/systemd/network/10-swarmlab-lab.network" <<EOF
[Match]
MACAddress=$mac
Name=$nic

[Network]
Address=${address}
Gateway=${a.gateway}
DNS=${a.gateway}
IPv6AcceptRA=no
# No IPv6 link-local address: the lab is IPv4, and networkd would count the NIC configured
# (network-online, which Docker waits for) only ~2 s later, after the address's DAD.
LinkLocalAddressing=no
EOF
current=""
for d in "$R"/sys/class/net/*; do
  [ -f "$d/address" ] || continue
  if [ "$(cat "$d/address")" = "$mac" ]; then current="\${d##*/}"; fi
done
if [ -z "$current" ]; then
  say "no network interface has the lab MAC $mac" >&2
  exit 1
fi
if [ "$current" != "$nic" ]; then
  if [ -e "$R/run/udev/data/n$(cat "$R/sys/class/net/$current/ifindex")" ]; then
    ip link set dev "$current" down
    ip link set dev "$current" name "$nic"
    say "renamed $current to $nic"
  else
    say "udev will name $current $nic"
  fi
fi

# The root filesystem fills the (larger) lab disk: in the background, as cloud-init's noblock.
if [ "$(findmnt -n -o FSTYPE /)" = ext4 ]; then
  (resize2fs "$(findmnt -n -o SOURCE /)" >/dev/null 2>&1 &)
fi
say "applied the seed of $fqdn"
`;
}
