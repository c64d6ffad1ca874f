/** cloud-init NoCloud seed files for a lab host. Pure functions. */
import * as crypto from "crypto";

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
}

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
  - [ sh, -c, "hostname ${a.hostname} || true" ]
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
