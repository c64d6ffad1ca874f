/** Read-only questions to the hypervisor that the program asks before it defines anything. */
import { execFileSync } from "child_process";
import type { ActiveNetwork } from "../config";
import { formatIPv4, parseIPv4 } from "../../scripts/lib/ipv4";

/** Parses `virsh net-dumpxml` output into the IPv4 networks it declares. */
export function networkCidrsFromXml(xml: string): string[] {
  const out: string[] = [];
  for (const m of xml.matchAll(/<ip\b([^>]*)>/g)) {
    const attrs = m[1];
    const addr = /address=['"]([^'"]+)['"]/.exec(attrs)?.[1];
    if (!addr) continue;
    const ip = parseIPv4(addr);
    if (ip === undefined) continue; // IPv6
    let prefix = Number(/prefix=['"](\d+)['"]/.exec(attrs)?.[1] ?? NaN);
    const netmask = /netmask=['"]([^'"]+)['"]/.exec(attrs)?.[1];
    if (netmask) {
      const nm = parseIPv4(netmask) ?? 0;
      prefix = nm.toString(2).replace(/0+$/, "").length;
    }
    if (!Number.isFinite(prefix)) prefix = 24;
    const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
    out.push(`${formatIPv4((ip & mask) >>> 0)}/${prefix}`);
  }
  return out;
}

/** The active libvirt networks and their IPv4 ranges; a clear error when libvirt cannot be reached. */
export function activeNetworks(uri: string): ActiveNetwork[] {
  const virsh = (args: string[]) => execFileSync("virsh", ["-q", "-c", uri, ...args], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  let names: string[];
  try {
    names = virsh(["net-list", "--name"]).split("\n").map((s) => s.trim()).filter(Boolean);
  } catch (e) {
    const err = e as { stderr?: string; code?: string; message: string };
    if (err.code === "ENOENT") throw new Error("virsh is not installed: install libvirt-clients (Debian/Ubuntu) or libvirt-client (Fedora/RHEL)");
    throw new Error(
      `cannot reach libvirt at ${uri}: ${(err.stderr || err.message).trim()}\n` +
        `Is libvirtd running, and may this user use it (group libvirt)? Set another URI with pulumi config set swarmlab:libvirtUri <uri>`,
    );
  }
  const out: ActiveNetwork[] = [];
  for (const name of names) {
    for (const cidr of networkCidrsFromXml(virsh(["net-dumpxml", name]))) out.push({ name, cidr });
  }
  return out;
}
