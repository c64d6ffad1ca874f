/**
 * Settings a running lab cannot take in place. `npm run up` compares them with what the last
 * `up` applied (the stack output `settings`) and refuses a change before the engine touches
 * anything, saying how to get it: set it back, or `npm run down` first. Everything else
 * (lab, vcpus, memoryMiB, domainType, workloadImage, ...) is applied by `up` on the running lab: a
 * new `lab` replaces only the lab's own part on the running hosts (labs/switch.ts).
 */
import type { LabConfig } from "./config";

export const FIXED_SETTINGS: Record<string, string> = {
  libvirtUri: "the lab's guests live on that hypervisor",
  networkCidr: "the swarm and its overlay are built on the hosts' addresses",
  hostAddresses: "the swarm and its overlay are built on the hosts' addresses",
  diskGiB: "a new size means new, empty guest disks",
  baseImage: "every guest disk is an overlay of the base image",
  guestUser: "cloud-init creates the user once, at the guests' first boot",
  dockerVersion: "Docker is installed once; swarmlab does not up- or downgrade it in place",
};

/** The applied values of the fixed settings, as text (what the stack output `settings` holds). */
export function fixedSettings(cfg: LabConfig): Record<string, string> {
  return {
    libvirtUri: cfg.libvirtUri,
    networkCidr: cfg.network.cidr,
    hostAddresses: cfg.hosts.map((h) => `${h.name}=${h.address}`).join(","),
    diskGiB: String(cfg.diskGiB),
    baseImage: [cfg.baseImage.source, cfg.baseImage.sha256 ?? ""].filter(Boolean).join(" sha256:"),
    guestUser: cfg.guestUser,
    dockerVersion: cfg.dockerVersion ?? "(the distribution's)",
  };
}

/** One line per fixed setting that differs from what was applied; empty when `up` may go ahead. */
export function refusedChanges(applied: Record<string, unknown>, next: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [key, why] of Object.entries(FIXED_SETTINGS)) {
    const was = applied[key];
    if (typeof was !== "string") continue;
    if (was !== next[key]) out.push(`swarmlab:${key} is ${next[key]}, but the running lab was built with ${was}: ${why}`);
  }
  return out;
}
