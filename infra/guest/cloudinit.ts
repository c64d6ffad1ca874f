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
`;
}

export function metaData(a: SeedArgs, userDataText: string): string {
  // A new instance-id whenever the seed changes, so cloud-init applies it again.
  const id = crypto.createHash("sha256").update(userDataText + networkConfig(a)).digest("hex").slice(0, 12);
  return `instance-id: ${a.hostname.split(".")[0]}-${id}\nlocal-hostname: ${a.hostname}\n`;
}

/** Version 1 network config: understood by every cloud-init release, CentOS 7's included. */
export function networkConfig(a: SeedArgs): string {
  return `version: 1
config:
  - type: physical
    name: ens3
    mac_address: "${a.mac}"
    subnets:
      - type: static
        address: ${a.address}/${a.prefix}
        gateway: ${a.gateway}
        dns_nameservers: [${a.gateway}]
`;
}
