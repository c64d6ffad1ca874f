import { describe, expect, it } from "vitest";
import { ConfigError, DEFAULT_BASE_IMAGE, RawConfig, validateConfig } from "../../infra/config";
import { swarmOverlayLab } from "../../labs/swarm-overlay/lab";
import { networkCidrsFromXml } from "../../infra/libvirt/inspect";

const ctx = { stack: "dev", lab: swarmOverlayLab, activeNetworks: [] as { name: string; cidr: string }[], fileExists: (p: string) => p.startsWith("/exists") };

function problems(raw: RawConfig, extra: Partial<typeof ctx> = {}): string[] {
  try {
    validateConfig(raw, { ...ctx, ...extra });
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    expect((e as Error).message).toContain("nothing was created");
    return (e as ConfigError).problems;
  }
  return [];
}

describe("config defaults", () => {
  it("gives the documented lab when nothing is set", () => {
    const c = validateConfig({}, ctx);
    expect(c.libvirtUri).toBe("qemu:///system");
    expect(c.domainType).toBe("kvm");
    expect(c.network).toEqual({ cidr: "192.168.122.0/24", gateway: "192.168.122.1", netmask: "255.255.255.0", prefix: 24 });
    expect(c.hosts).toEqual([
      { name: "docker0", hostname: "docker0.local", role: "manager", address: "192.168.122.10" },
      { name: "docker1", hostname: "docker1.local", role: "worker", address: "192.168.122.11" },
    ]);
    expect(c.baseImage.source).toBe(DEFAULT_BASE_IMAGE);
    expect(c.workloadImage).toBe("alpine");
    expect(c.workloadImagePull).toBe(true);
    expect(c.guestUser).toBe("swarm");
    expect(c.pathTarget).toBe("192.168.122.1");
    expect(c.objectPrefix).toBe("swarmlab-dev");
  });

  it("moves host addresses with the network, keeping their offsets", () => {
    const c = validateConfig({ networkCidr: "10.20.30.0/24" }, ctx);
    expect(c.hosts.map((h) => h.address)).toEqual(["10.20.30.10", "10.20.30.11"]);
  });
});

describe("config validation names the bad value and what is allowed", () => {
  const cases: [string, RawConfig, RegExp][] = [
    ["unknown key", { vcpu: "2" } as RawConfig, /swarmlab:vcpu is not a known setting; allowed keys: .*vcpus/],
    ["libvirt URI", { libvirtUri: "xen:///" }, /libvirtUri = "xen:\/\/\/" .*allowed: qemu:\/\/\/system/],
    ["domain type", { domainType: "hyperv" }, /domainType = "hyperv" .*allowed: kvm .* or qemu/],
    ["malformed CIDR", { networkCidr: "192.168.122.0" }, /networkCidr = "192.168.122.0" is not an IPv4 network/],
    ["host bits set", { networkCidr: "192.168.122.5/24" }, /networkCidr = "192.168.122.5\/24" is not an IPv4 network .*no host bits/],
    ["prefix too small", { networkCidr: "10.0.0.0/8" }, /prefix \/8; allowed: \/16 to \/29/],
    ["address outside", { hostAddresses: '{"docker0":"10.0.0.10"}' }, /address of docker0 = 10.0.0.10 lies outside .*192.168.122.0\/24/],
    ["address collision", { hostAddresses: '{"docker1":"192.168.122.10"}' }, /address of docker1 = 192.168.122.10 collides with docker0/],
    ["gateway address", { hostAddresses: '{"docker0":"192.168.122.1"}' }, /is the network's gateway/],
    ["broadcast address", { hostAddresses: '{"docker0":"192.168.122.255"}' }, /network or broadcast address/],
    ["unknown host", { hostAddresses: '{"docker9":"192.168.122.20"}' }, /unknown host "docker9"; allowed: docker0, docker1/],
    ["bad JSON", { hostAddresses: "docker0=1.2.3.4" }, /hostAddresses = docker0=1.2.3.4 is not a JSON object/],
    ["not an IP", { hostAddresses: '{"docker0":"docker0.local"}' }, /hostAddresses.docker0 = "docker0.local" is not an IPv4 address/],
    ["vcpus not a number", { vcpus: "two" }, /vcpus = "two" is not a whole number; allowed: 1 to 64/],
    ["vcpus out of range", { vcpus: "0" }, /vcpus = 0 is out of range; allowed: 1 to 64/],
    ["memory too small", { memoryMiB: "256" }, /memoryMiB = 256 is out of range; allowed: 512 to/],
    ["disk too small", { diskGiB: "1" }, /diskGiB = 1 is out of range; allowed: 4 to/],
    ["relative image path", { baseImage: "images/c7.qcow2" }, /baseImage = "images\/c7.qcow2" is neither an http\(s\) URL nor an absolute path/],
    ["missing image", { baseImage: "/nope/c7.qcow2" }, /baseImage = "\/nope\/c7.qcow2" does not exist/],
    ["bad checksum", { baseImageSha256: "abc" }, /baseImageSha256 = "abc" is not 64 hexadecimal characters/],
    ["relative kernel", { kernel: "vmlinuz" }, /kernel = "vmlinuz" must be an absolute path/],
    ["initrd without kernel", { initrd: "/exists/initrd" }, /initrd is set but swarmlab:kernel is not/],
    ["guest user root", { guestUser: "root" }, /guestUser = "root" is reserved/],
    ["guest user invalid", { guestUser: "Bad User" }, /guestUser = "Bad User" is not a valid Linux user name/],
    ["docker version", { dockerVersion: "latest" }, /dockerVersion = "latest" is not a version such as 20.10/],
    ["workload image", { workloadImage: "Alpine Linux" }, /workloadImage = "Alpine Linux" is not a Docker image reference/],
    ["boolean", { workloadImagePull: "yes" }, /workloadImagePull = "yes" is not a boolean; allowed: true or false/],
    ["path target outside", { pathTarget: "8.8.8.8" }, /pathTarget = "8.8.8.8" lies outside the lab network .*allowed: an address inside the lab/],
  ];
  for (const [what, raw, re] of cases) {
    it(`rejects ${what}`, () => {
      const p = problems(raw);
      expect(p.some((x) => re.test(x)), `problems were:\n${p.join("\n")}`).toBe(true);
    });
  }

  it("rejects a network that overlaps an active libvirt network, naming it", () => {
    const p = problems({}, { activeNetworks: [{ name: "default", cidr: "192.168.122.0/24" }] });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(/overlaps the active libvirt network "default" \(192.168.122.0\/24\).*virsh net-destroy default/);
    expect(problems({}, { activeNetworks: [{ name: "wide", cidr: "192.168.0.0/16" }] })[0]).toMatch(/overlaps .*"wide"/);
    expect(problems({ networkCidr: "192.168.123.0/24" }, { activeNetworks: [{ name: "default", cidr: "192.168.122.0/24" }] })).toEqual([]);
  });

  it("reports every problem at once", () => {
    expect(problems({ vcpus: "0", memoryMiB: "1", domainType: "xen" })).toHaveLength(3);
  });

  it("accepts good values", () => {
    const c = validateConfig(
      {
        libvirtUri: "qemu+ssh://trainer@kvmhost/system",
        domainType: "qemu",
        hostAddresses: '{"docker0":"192.168.122.20","docker1":"192.168.122.21"}',
        baseImage: "/exists/debian.qcow2",
        baseImageSha256: "A".repeat(64),
        kernel: "/exists/vmlinuz",
        initrd: "/exists/initrd.img",
        kernelCmdline: "root=/dev/vda console=ttyS0",
        dockerVersion: "20.10",
        workloadImage: "registry.local:5000/team/busybox:1.36",
        workloadImagePull: "false",
      },
      ctx,
    );
    expect(c.hosts.map((h) => h.address)).toEqual(["192.168.122.20", "192.168.122.21"]);
    expect(c.baseImage).toEqual({ source: "/exists/debian.qcow2", sha256: "a".repeat(64), kernel: "/exists/vmlinuz", initrd: "/exists/initrd.img", cmdline: "root=/dev/vda console=ttyS0" });
    expect(c.workloadImagePull).toBe(false);
  });
});

describe("active network discovery", () => {
  it("reads IPv4 ranges from network XML, netmask or prefix, skipping IPv6", () => {
    const xml = `<network><name>default</name><ip address='192.168.122.1' netmask='255.255.255.0'><dhcp/></ip>
      <ip family='ipv6' address='fd00::1' prefix='64'/><ip address='10.9.0.1' prefix='16'/></network>`;
    expect(networkCidrsFromXml(xml)).toEqual(["192.168.122.0/24", "10.9.0.0/16"]);
  });
});
