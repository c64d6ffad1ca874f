/**
 * loadConfig and readRawConfig against the engine's configuration (set through the SDK's
 * runtime, as the engine would), with the hypervisor question injected.
 */
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../../infra/config";
import { loadConfig, readRawConfig } from "../../../infra/main";

const STACK = "lab-2";

beforeAll(async () => {
  await pulumi.runtime.setMocks(
    {
      async newResource(args) {
        throw new Error(`loadConfig must not register resources (got ${args.type})`);
      },
      async call(args) {
        throw new Error(`unexpected call ${args.token}`);
      },
    },
    "swarmlab",
    STACK,
    false,
  );
});

/** Runs loadConfig with `config` set; returns what the hypervisor was asked and the outcome. */
function load(config: Record<string, unknown>, active: { name: string; cidr: string }[] = []) {
  pulumi.runtime.setAllConfig(config as Record<string, string>, []);
  const asked: string[] = [];
  try {
    const cfg = loadConfig({
      activeNetworks: (uri) => {
        asked.push(uri);
        return active;
      },
    });
    return { asked, cfg, problems: [] as string[] };
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return { asked, cfg: undefined, problems: (e as ConfigError).problems };
  }
}

describe("readRawConfig", () => {
  it("reads every swarmlab:* key, known or not, and nothing else", () => {
    pulumi.runtime.setAllConfig({ "swarmlab:vcpus": "2", "swarmlab:vcpu": "4", "swarmlab:config:memoryMib": "1024", "other:vcpus": "8", "aws:region": "x" }, []);
    expect(readRawConfig()).toEqual({ vcpus: "2", vcpu: "4", memoryMib: "1024" });
  });

  it("passes values through untouched, whatever their type", () => {
    expect(readRawConfig({ "swarmlab:vcpus": 2, "swarmlab:hostAddresses": '{"docker0":"192.168.122.20"}' })).toEqual({
      vcpus: 2,
      hostAddresses: '{"docker0":"192.168.122.20"}',
    });
  });
});

describe("loadConfig", () => {
  it("refuses an unknown key instead of ignoring it", () => {
    const r = load({ "swarmlab:vcpu": "4", "swarmlab:memoryMib": "1024" });
    expect(r.problems).toHaveLength(2);
    expect(r.problems[0]).toMatch(/^swarmlab:vcpu is not a known setting; did you mean swarmlab:vcpus\?/);
    expect(r.problems[1]).toMatch(/^swarmlab:memoryMib is not a known setting; did you mean swarmlab:memoryMiB\?/);
    expect(r.asked).toEqual([]);
  });

  it("refuses a non-string value with a message, not a crash", () => {
    const r = load({ "swarmlab:vcpus": 2, "swarmlab:domainType": { a: 1 } });
    expect(r.problems).toEqual([
      expect.stringMatching(/^swarmlab:domainType = \{"a":1\} is an object, not text; allowed:/),
      expect.stringMatching(/^swarmlab:vcpus = 2 is a number, not text; allowed:/),
    ]);
  });

  it("never hands virsh a refused libvirt URI", () => {
    for (const uri of ["qemu+ext:///system?command=/tmp/x", "qemu+ssh://h/system?command=/tmp/x", "qemu:///system\n", "xen:///system"]) {
      const r = load({ "swarmlab:libvirtUri": uri });
      expect(r.asked, uri).toEqual([]);
      expect(r.problems).toEqual([expect.stringContaining(`swarmlab:libvirtUri = ${JSON.stringify(uri)}`)]);
    }
  });

  it("asks virsh nothing while any other setting is wrong", () => {
    expect(load({ "swarmlab:vcpus": "0" }).asked).toEqual([]);
  });

  it("asks the configured hypervisor when the configuration is valid", () => {
    const r = load({ "swarmlab:libvirtUri": "qemu+ssh://trainer@kvmhost/system", "swarmlab:domainType": "qemu" });
    expect(r.problems).toEqual([]);
    expect(r.asked).toEqual(["qemu+ssh://trainer@kvmhost/system"]);
    expect(r.cfg?.objectPrefix).toBe(`swarmlab-${STACK}`);
    expect(load({}).asked).toEqual(["qemu:///system"]);
  });

  it("leaves out exactly the stack's own network (its object prefix) from the overlap check", () => {
    const own = load({}, [{ name: `swarmlab-${STACK}`, cidr: "192.168.122.0/24" }]);
    expect(own.problems).toEqual([]);
    expect(own.cfg?.objectPrefix).toBe(`swarmlab-${STACK}`);
    for (const name of ["default", "swarmlab-lab-20", "swarmlab-lab", `swarmlab-${STACK.toUpperCase()}`]) {
      const r = load({ "swarmlab:networkCidr": "192.168.122.0/24" }, [{ name, cidr: "192.168.122.0/24" }]);
      expect(r.problems, name).toEqual([expect.stringContaining(`overlaps the active libvirt network "${name}" (192.168.122.0/24)`)]);
    }
  });

  it("networkCidr not set and libvirt's default network on the documented range: the lab takes the next free range, its hosts at the same offsets", () => {
    const r = load({}, [{ name: "default", cidr: "192.168.122.0/24" }]);
    expect(r.problems).toEqual([]);
    expect(r.cfg!.network).toMatchObject({ cidr: "192.168.123.0/24", gateway: "192.168.123.1" });
    expect(r.cfg!.hosts.map((h) => h.address)).toEqual(["192.168.123.10", "192.168.123.11"]);
    // Free: the documented range.
    expect(load({}, [{ name: "other", cidr: "10.20.0.0/16" }]).cfg!.network.cidr).toBe("192.168.122.0/24");
    // The stack's own network, wherever it is, keeps its range (a later `pulumi up` finds the same).
    const own = load({}, [{ name: `swarmlab-${STACK}`, cidr: "192.168.124.0/24" }]);
    expect(own.cfg!.network.cidr).toBe("192.168.124.0/24");
    // Set explicitly, the range is the user's: an overlap is refused, never moved.
    expect(load({ "swarmlab:networkCidr": "192.168.122.0/24" }, [{ name: "default", cidr: "192.168.122.0/24" }]).problems).toHaveLength(1);
  });
});
