/** The settings `npm run up` refuses to change on a running lab, and the ones it applies. */
import { describe, expect, it } from "vitest";
import { RawConfig, validateConfig } from "../../../infra/config";
import { fixedSettings, FIXED_SETTINGS, refusedChanges } from "../../../infra/settings";

const ctx = { stack: "dev", activeNetworks: [] };
const settings = (raw: RawConfig) => fixedSettings(validateConfig(raw, ctx));
const applied = settings({ dockerVersion: "20.10", diskGiB: "20" });

describe("fixed settings", () => {
  it("records every fixed setting as text", () => {
    expect(Object.keys(applied).sort()).toEqual(Object.keys(FIXED_SETTINGS).sort());
    expect(applied.hostAddresses).toBe("docker0=192.168.122.10,docker1=192.168.122.11");
    expect(applied.dockerVersion).toBe("20.10");
  });

  it("lets through what up applies in place", () => {
    for (const raw of [{ memoryMiB: "4096" }, { vcpus: "4" }, { domainType: "qemu" }, { workloadImage: "busybox" }, { pathTarget: "192.168.122.20" }]) {
      expect(refusedChanges(applied, settings({ dockerVersion: "20.10", diskGiB: "20", ...raw })), JSON.stringify(raw)).toEqual([]);
    }
  });

  it("refuses a change of each fixed setting, naming it, both values and why", () => {
    const cases: [RawConfig, string][] = [
      [{ dockerVersion: "24.0" }, "swarmlab:dockerVersion is 24.0, but the running lab was built with 20.10"],
      [{ diskGiB: "40" }, "swarmlab:diskGiB is 40, but the running lab was built with 20: a new size means new, empty guest disks"],
      [{ networkCidr: "192.168.123.0/24" }, "swarmlab:networkCidr is 192.168.123.0/24"],
      [{ hostAddresses: '{"docker0":"192.168.122.20","docker1":"192.168.122.21"}' }, "swarmlab:hostAddresses is docker0=192.168.122.20,docker1=192.168.122.21"],
      [{ guestUser: "learner" }, "swarmlab:guestUser is learner"],
      [{ libvirtUri: "qemu+ssh://trainer@hv1/system" }, "swarmlab:libvirtUri is qemu+ssh://trainer@hv1/system"],
      [{ baseImage: "https://example.org/debian.qcow2" }, "swarmlab:baseImage is https://example.org/debian.qcow2"],
    ];
    for (const [raw, msg] of cases) {
      const refused = refusedChanges(applied, settings({ dockerVersion: "20.10", diskGiB: "20", ...raw }));
      expect(refused.filter((r) => r.includes(msg)), JSON.stringify(raw)).toHaveLength(1);
      // A new network also moves the default host addresses; nothing else is refused.
      expect(refused.length, JSON.stringify(refused)).toBe(raw.networkCidr ? 2 : 1);
    }
  });

  it("lets up switch labs on a running lab (the new lab's workload replaces the old one's part)", () => {
    expect(applied.lab).toBeUndefined();
    // Stacks recorded when swarmlab:lab was fixed carry it: it is not compared any more.
    expect(refusedChanges({ ...applied, lab: "bridge" }, applied)).toEqual([]);
  });

  it("has nothing to compare on a lab built before settings were recorded", () => {
    expect(refusedChanges({}, settings({ dockerVersion: "24.0" }))).toEqual([]);
  });
});
