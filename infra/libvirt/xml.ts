/** libvirt XML for the lab's objects. Pure functions; validated in tests with virt-xml-validate. */
import * as crypto from "crypto";

export const METADATA_NS = "https://swarmlab.invalid/xmlns/lab/1";

export function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;").replace(/'/g, "&apos;");
}

/** A stable locally administered MAC (QEMU's 52:54:00 prefix) derived from stack and host. */
export function macFor(stack: string, host: string): string {
  const h = crypto.createHash("sha256").update(`${stack}/${host}`).digest();
  return ["52", "54", "00", ...[h[0], h[1], h[2]].map((b) => b.toString(16).padStart(2, "0"))].join(":");
}

/** Linux bridge names are at most 15 characters. */
export function bridgeName(slug: string): string {
  const name = `swl-${slug}`;
  if (name.length <= 15) return name;
  const h = crypto.createHash("sha256").update(slug).digest("hex").slice(0, 6);
  return `swl-${slug.slice(0, 4)}-${h}`;
}

export interface NetworkXmlArgs {
  name: string;
  bridge: string;
  gateway: string;
  netmask: string;
  /** Static DHCP leases as a fallback for images whose cloud-init ignores network-config. */
  hosts: { mac: string; address: string; hostname: string }[];
  dhcpRange?: { start: string; end: string };
}

export function networkXml(a: NetworkXmlArgs): string {
  const dhcp = a.dhcpRange
    ? [
        `    <dhcp>`,
        `      <range start='${a.dhcpRange.start}' end='${a.dhcpRange.end}'/>`,
        ...a.hosts.map((h) => `      <host mac='${h.mac}' name='${xmlEscape(h.hostname)}' ip='${h.address}'/>`),
        `    </dhcp>`,
      ]
    : [];
  return [
    `<network>`,
    `  <name>${xmlEscape(a.name)}</name>`,
    `  <forward mode='nat'/>`,
    // No spanning tree: one bridge with the lab's guests on it has no loop to break, and with
    // STP on the kernel holds every new port (each guest start, and each `npm run reset`, whose
    // revert starts QEMU again with a new tap) in listening and learning for 2 x 2 s whatever
    // libvirt's delay says; `reset` waited about 4 s for SSH on that.
    `  <bridge name='${a.bridge}' stp='off'/>`,
    `  <ip address='${a.gateway}' netmask='${a.netmask}'>`,
    ...dhcp,
    `  </ip>`,
    `</network>`,
    ``,
  ].join("\n");
}

export function poolXml(name: string, targetPath: string): string {
  return [
    `<pool type='dir'>`,
    `  <name>${xmlEscape(name)}</name>`,
    `  <target>`,
    `    <path>${xmlEscape(targetPath)}</path>`,
    `  </target>`,
    `</pool>`,
    ``,
  ].join("\n");
}

/** A qcow2 overlay backed by the base image: guests share the base and write only their changes. */
export function overlayVolumeXml(name: string, capacityGiB: number, backingPath: string): string {
  return [
    `<volume>`,
    `  <name>${xmlEscape(name)}</name>`,
    `  <capacity unit='GiB'>${capacityGiB}</capacity>`,
    `  <target>`,
    `    <format type='qcow2'/>`,
    `  </target>`,
    `  <backingStore>`,
    `    <path>${xmlEscape(backingPath)}</path>`,
    `    <format type='qcow2'/>`,
    `  </backingStore>`,
    `</volume>`,
    ``,
  ].join("\n");
}

export interface DomainXmlArgs {
  name: string;
  type: "kvm" | "qemu";
  memoryMiB: number;
  vcpus: number;
  pool: string;
  diskVolume: string;
  seedVolume: string;
  network: string;
  mac: string;
  kernel?: string;
  initrd?: string;
  cmdline?: string;
  stack: string;
  host: string;
  role: string;
  /** Serial console log on the hypervisor, for troubleshooting slow or failed boots. */
  consoleLog?: string;
}

export function domainXml(a: DomainXmlArgs): string {
  const boot = a.kernel
    ? [
        `    <kernel>${xmlEscape(a.kernel)}</kernel>`,
        ...(a.initrd ? [`    <initrd>${xmlEscape(a.initrd)}</initrd>`] : []),
        ...(a.cmdline ? [`    <cmdline>${xmlEscape(a.cmdline)}</cmdline>`] : []),
      ]
    : [`    <boot dev='hd'/>`];
  return [
    `<domain type='${a.type}'>`,
    `  <name>${xmlEscape(a.name)}</name>`,
    `  <metadata>`,
    `    <swarmlab:lab xmlns:swarmlab='${METADATA_NS}'>`,
    `      <swarmlab:stack>${xmlEscape(a.stack)}</swarmlab:stack>`,
    `      <swarmlab:host>${xmlEscape(a.host)}</swarmlab:host>`,
    `      <swarmlab:role>${xmlEscape(a.role)}</swarmlab:role>`,
    `    </swarmlab:lab>`,
    `  </metadata>`,
    `  <memory unit='MiB'>${a.memoryMiB}</memory>`,
    `  <vcpu>${a.vcpus}</vcpu>`,
    `  <os>`,
    `    <type arch='x86_64' machine='pc'>hvm</type>`,
    ...boot,
    `  </os>`,
    `  <features>`,
    `    <acpi/>`,
    `    <apic/>`,
    `  </features>`,
    ...(a.type === "kvm" ? [`  <cpu mode='host-passthrough'/>`] : []),
    `  <clock offset='utc'/>`,
    `  <on_poweroff>destroy</on_poweroff>`,
    `  <on_reboot>restart</on_reboot>`,
    `  <on_crash>destroy</on_crash>`,
    `  <devices>`,
    `    <disk type='volume' device='disk'>`,
    `      <driver name='qemu' type='qcow2'/>`,
    `      <source pool='${xmlEscape(a.pool)}' volume='${xmlEscape(a.diskVolume)}'/>`,
    `      <target dev='vda' bus='virtio'/>`,
    `    </disk>`,
    `    <disk type='volume' device='disk'>`,
    `      <driver name='qemu' type='raw'/>`,
    `      <source pool='${xmlEscape(a.pool)}' volume='${xmlEscape(a.seedVolume)}'/>`,
    `      <target dev='vdb' bus='virtio'/>`,
    `      <readonly/>`,
    `    </disk>`,
    `    <interface type='network'>`,
    `      <source network='${xmlEscape(a.network)}'/>`,
    `      <mac address='${a.mac}'/>`,
    `      <model type='virtio'/>`,
    // The guest's NIC is ens3, as in the documented lab (HOST-2), by one of two routes. Images
    // with predictable interface names (the Debian test image, net.ifnames=1) name it ens3 from
    // this PCI slot 3. CentOS 7 GenericCloud boots with net.ifnames=0, so its kernel calls it
    // eth0 and cloud-init renames it ens3 from the network-config, matched by MAC
    // (infra/guest/cloudinit.ts, which also cleans up after that rename).
    `      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>`,
    `    </interface>`,
    `    <serial type='pty'>`,
    ...(a.consoleLog ? [`      <log file='${xmlEscape(a.consoleLog)}' append='off'/>`] : []),
    `      <target port='0'/>`,
    `    </serial>`,
    `    <console type='pty'>`,
    `      <target type='serial' port='0'/>`,
    `    </console>`,
    `    <rng model='virtio'>`,
    `      <backend model='random'>/dev/urandom</backend>`,
    `    </rng>`,
    `  </devices>`,
    `</domain>`,
    ``,
  ].join("\n");
}
