/**
 * The lab's baseline: one libvirt snapshot per domain (disk and memory, taken while it runs),
 * saved at the end of an `npm run up` whose verify passed. `npm run reset` reverts every domain
 * to it, which brings back the guests' disks, memory and so the swarm exactly as they were.
 *
 * Internal snapshots (kept inside each guest's qcow2 disk), because they are what libvirt can
 * revert to on the versions this runs on; the read-only seed disk is not part of them. Each
 * save takes a new name (`swarmlab-baseline-<time>`): a domain defined anew on the same disk
 * has lost the metadata of its old snapshot but not its data, and a name is never reused. Plain
 * virsh calls, so any libvirt URI works.
 */
import { execFile } from "child_process";

export const BASELINE_PREFIX = "swarmlab-baseline-";

function virsh(uri: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("virsh", ["-q", "-c", uri, ...args], { encoding: "utf8", timeout: 10 * 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`virsh -c ${uri} ${args.join(" ")} failed: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
  });
}

/** A domain's baseline snapshots, oldest first (their names sort by time). */
async function baselinesOf(uri: string, domain: string): Promise<string[]> {
  const names = (await virsh(uri, ["snapshot-list", domain, "--name"]).catch(() => "")).split("\n").map((s) => s.trim());
  return names.filter((n) => n.startsWith(BASELINE_PREFIX)).sort();
}

/** The domains (of those given) that have a baseline snapshot. */
export async function withBaseline(uri: string, domains: string[]): Promise<string[]> {
  const has = await Promise.all(domains.map(async (d) => (await baselinesOf(uri, d)).length > 0));
  return domains.filter((_, i) => has[i]);
}

/**
 * Saves the baseline of every domain, replacing older ones. The guests pause while their
 * memory is written; they are snapshotted together so that their swarm state matches.
 */
export async function saveBaseline(uri: string, domains: string[], now = new Date()): Promise<string> {
  const name = BASELINE_PREFIX + now.toISOString().replace(/[-:]/g, "").replace(/\..*$/, "");
  const old = await Promise.all(domains.map((d) => baselinesOf(uri, d)));
  await Promise.all(
    domains.map((d) => virsh(uri, ["snapshot-create-as", d, name, "the lab after a verified npm run up (npm run reset returns here)", "--atomic"])),
  );
  await Promise.all(domains.flatMap((d, i) => old[i].filter((n) => n !== name).map((n) => virsh(uri, ["snapshot-delete", d, n]))));
  return name;
}

/** Reverts every domain to its newest baseline and leaves it running. */
export async function revertToBaseline(uri: string, domains: string[]): Promise<void> {
  const latest = await Promise.all(domains.map(async (d) => (await baselinesOf(uri, d)).pop()));
  const missing = domains.filter((_, i) => latest[i] === undefined);
  if (missing.length) {
    throw new Error(
      `${missing.join(", ")} ${missing.length === 1 ? "has" : "have"} no baseline to reset to: it is saved at the end of an npm run up whose verify passed; run npm run up`,
    );
  }
  await Promise.all(domains.map((d, i) => virsh(uri, ["snapshot-revert", d, latest[i]!, "--running", "--force"])));
}
