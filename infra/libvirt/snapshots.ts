/**
 * The lab's baseline: one libvirt snapshot per domain (disk and memory, taken while it runs),
 * saved at the end of an `npm run up` whose verify passed. `npm run reset` reverts every domain
 * to it, which brings back the guests' disks, memory and so the swarm exactly as they were.
 *
 * Internal snapshots (kept inside each guest's qcow2 disk), because they are what libvirt can
 * revert to on the versions this runs on; the read-only seed disk is not part of them. Plain
 * virsh calls, so any libvirt URI works.
 */
import { execFile } from "child_process";

export const BASELINE = "swarmlab-baseline";

function virsh(uri: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile("virsh", ["-q", "-c", uri, ...args], { encoding: "utf8", timeout: 10 * 60_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`virsh -c ${uri} ${args.join(" ")} failed: ${(stderr || err.message).trim()}`));
      else resolve(stdout);
    });
  });
}

/** The domains (of those given) that have a baseline snapshot. */
export async function withBaseline(uri: string, domains: string[]): Promise<string[]> {
  const has = await Promise.all(
    domains.map(async (d) => (await virsh(uri, ["snapshot-list", d, "--name"]).catch(() => "")).split("\n").map((s) => s.trim()).includes(BASELINE)),
  );
  return domains.filter((_, i) => has[i]);
}

/**
 * Saves the baseline of every domain, replacing an older one. The guests pause while their
 * memory is written; they are snapshotted together so that their swarm state matches.
 */
export async function saveBaseline(uri: string, domains: string[]): Promise<void> {
  const old = await withBaseline(uri, domains);
  await Promise.all(old.map((d) => virsh(uri, ["snapshot-delete", d, BASELINE])));
  await Promise.all(
    domains.map((d) =>
      virsh(uri, ["snapshot-create-as", d, BASELINE, "the lab after its last verified npm run up (npm run reset returns here)", "--atomic"]),
    ),
  );
}

/** Reverts every domain to its baseline and leaves it running. */
export async function revertToBaseline(uri: string, domains: string[]): Promise<void> {
  const have = await withBaseline(uri, domains);
  const missing = domains.filter((d) => !have.includes(d));
  if (missing.length) {
    throw new Error(
      `${missing.join(", ")} ${missing.length === 1 ? "has" : "have"} no baseline to reset to: it is saved at the end of an npm run up whose verify passed; run npm run up`,
    );
  }
  await Promise.all(domains.map((d) => virsh(uri, ["snapshot-revert", d, BASELINE, "--running", "--force"])));
}
