import { describe, expect, it } from "vitest";
import {
  chooseLabNetwork,
  CONFIG_KEYS,
  ConfigError,
  DEFAULT_BASE_IMAGE,
  maxStackNameLength,
  RawConfig,
  resolveLibvirtUri,
  validateConfig,
  type ValidateContext,
  validateStackName,
} from "../../../infra/config";
import { swarmOverlay } from "../../../labs/swarm-overlay";
import { swarmOverlayLab } from "../../../labs/swarm-overlay/lab";
import { networkCidrsFromXml } from "../../../infra/libvirt/inspect";

const ctx = { stack: "dev", activeNetworks: [] as { name: string; cidr: string }[], fileExists: (p: string) => p.startsWith("/exists") };

function problems(raw: RawConfig, extra: Partial<ValidateContext> = {}): string[] {
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
  it("checks a URL other than the default only when baseImageSha256 is given", () => {
    expect(validateConfig({ baseImage: "https://example.org/x.qcow2" }, ctx).baseImage.sha256).toBeUndefined();
    const sha = "a".repeat(64);
    expect(validateConfig({ baseImage: "https://example.org/x.qcow2", baseImageSha256: sha }, ctx).baseImage.sha256).toBe(sha);
  });

  it("gives the documented lab when nothing is set", () => {
    const c = validateConfig({}, ctx);
    expect(c.libvirtUri).toBe("qemu:///system");
    expect(c.domainType).toBe("kvm");
    expect(c.network).toEqual({
      cidr: "192.168.122.0/24",
      gateway: "192.168.122.1",
      netmask: "255.255.255.0",
      prefix: 24,
      dhcpRange: { start: "192.168.122.250", end: "192.168.122.254" },
    });
    expect(c.hosts).toEqual([
      { name: "docker0", hostname: "docker0.local", role: "manager", address: "192.168.122.10" },
      { name: "docker1", hostname: "docker1.local", role: "worker", address: "192.168.122.11" },
    ]);
    expect(c.baseImage.source).toBe(DEFAULT_BASE_IMAGE);
    // A versioned build, pinned by its published sha256.
    expect(c.baseImage.source).toMatch(/GenericCloud-2211\.qcow2$/);
    expect(c.baseImage.sha256).toBe("284aab2b23d91318f169ff464bce4d53404a15a0618ceb34562838c59af4adea");
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
    ["unknown key", { vcpu: "2" }, /^swarmlab:vcpu is not a known setting; did you mean swarmlab:vcpus\? known settings: libvirtUri, .*vcpus/],
    ["libvirt URI", { libvirtUri: "xen:///" }, /libvirtUri = "xen:\/\/\/" .*allowed: qemu:\/\/\/system/],
    ["domain type", { domainType: "hyperv" }, /domainType = "hyperv" .*allowed: kvm .* or qemu/],
    ["malformed CIDR", { networkCidr: "192.168.122.0" }, /networkCidr = "192.168.122.0" is not an IPv4 network/],
    ["host bits set", { networkCidr: "192.168.122.5/24" }, /networkCidr = "192.168.122.5\/24" is not an IPv4 network .*no host bits/],
    ["prefix too small", { networkCidr: "10.0.0.0/8" }, /prefix \/8; allowed: \/16 to \/28/],
    ["address outside", { hostAddresses: '{"docker0":"10.0.0.10"}' }, /address of docker0 = 10.0.0.10 lies outside .*192.168.122.0\/24/],
    ["address collision", { hostAddresses: '{"docker1":"192.168.122.10"}' }, /address of docker1 = 192.168.122.10 collides with docker0/],
    ["gateway address", { hostAddresses: '{"docker0":"192.168.122.1"}' }, /is the network's gateway/],
    ["broadcast address", { hostAddresses: '{"docker0":"192.168.122.255"}' }, /address of docker0 = 192.168.122.255 is the broadcast address of 192.168.122.0\/24/],
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

/** The one problem a raw configuration gives; fails the test unless there is exactly one. */
function only(raw: RawConfig, extra: Partial<ValidateContext> = {}): string {
  const p = problems(raw, extra);
  expect(p, `problems were:\n${p.join("\n")}`).toHaveLength(1);
  return p[0];
}

describe("unknown keys", () => {
  it("names the unknown key, the closest known one and every known key", () => {
    const m = only({ vcpu: "2" });
    expect(m).toBe(`swarmlab:vcpu is not a known setting; did you mean swarmlab:vcpus? known settings: ${CONFIG_KEYS.join(", ")}`);
  });

  it.each([
    ["memoryMib", "memoryMiB"],
    ["MEMORYMIB", "memoryMiB"],
    ["libvirtURI", "libvirtUri"],
    ["libvirtUrl", "libvirtUri"],
    ["hostAddress", "hostAddresses"],
    ["networkCIDR", "networkCidr"],
    ["kernelCmdLine", "kernelCmdline"],
    ["disk", "diskGiB"],
    ["memory", "memoryMiB"],
    ["workloadImagePul", "workloadImagePull"],
  ])("suggests the known key for %s", (bad, good) => {
    expect(only({ [bad]: "1" })).toMatch(new RegExp(`^swarmlab:${bad} is not a known setting; did you mean swarmlab:${good}\\?`));
  });

  it("suggests nothing when no key is close, but still lists them", () => {
    const m = only({ foo: "1" });
    expect(m).not.toContain("did you mean");
    expect(m).toContain("known settings: libvirtUri, domainType");
  });
});

describe("values that are not plain text", () => {
  const keys = CONFIG_KEYS as readonly string[];
  it.each([
    ["a number", 42, "42 is a number, not text"],
    ["a boolean", true, "true is a boolean, not text"],
    ["an object", { a: 1 }, '{"a":1} is an object, not text'],
    ["a list", ["x"], '["x"] is a list, not text'],
    ["null", null, "null is null, not text"],
  ])("refuses %s for every key, naming key and value", (_what, value, text) => {
    for (const k of keys) {
      const m = only({ [k]: value });
      expect(m.startsWith(`swarmlab:${k} = ${text}`), m).toBe(true);
      expect(m).toContain("allowed:");
    }
  });

  it("refuses JSON objects and lists (values set with --path) for every plain key", () => {
    for (const k of keys.filter((x) => x !== "hostAddresses")) {
      for (const v of ['{"a":1}', ' ["x", "y"]']) {
        const m = only({ [k]: v });
        expect(m.startsWith(`swarmlab:${k} = ${JSON.stringify(v)} is a structured value`), m).toBe(true);
      }
    }
  });

  it("refuses a host address that is not a string", () => {
    expect(only({ hostAddresses: '{"docker0":10}' })).toMatch(/^swarmlab:hostAddresses.docker0 = 10 is a number; allowed: an address as a string/);
    expect(only({ hostAddresses: '["192.168.122.20"]' })).toMatch(/^swarmlab:hostAddresses = \["192.168.122.20"\] is not a JSON object/);
  });
});

describe("addresses are canonical IPv4", () => {
  it.each([
    ["192.168.122.010", "a part has a leading zero"],
    ["192.168.122.001", "a part has a leading zero"],
    ["192.168.0122.10", "a part has a leading zero"],
    ["192.168.122.10\n", "it contains whitespace"],
    [" 192.168.122.10", "it contains whitespace"],
    ["192.168.122.10 ", "it contains whitespace"],
    ["192.168.122 .10", "it contains whitespace"],
    ["192.168.122.256", "it is not four numbers 0-255"],
    ["192.168.122", "it is not four numbers 0-255"],
    ["0x7f.0.0.1", "it is not four numbers 0-255"],
  ])("refuses host address %j", (addr, why) => {
    const m = only({ hostAddresses: JSON.stringify({ docker0: addr }) });
    expect(m).toBe(
      `swarmlab:hostAddresses.docker0 = ${JSON.stringify(addr)} is not an IPv4 address: ${why}${why.startsWith("it is not four") ? " separated by dots" : ""}; ` +
        "allowed: dotted decimal without leading zeros or spaces, e.g. 192.168.122.10",
    );
  });

  it.each([
    ["the network address", "192.168.122.0", /^address of docker0 = 192.168.122.0 is the network address of 192.168.122.0\/24 \(from swarmlab:hostAddresses\); allowed: .*outside 192.168.122.250-192.168.122.254/],
    ["the broadcast address", "192.168.122.255", /^address of docker0 = 192.168.122.255 is the broadcast address of 192.168.122.0\/24/],
    ["the gateway", "192.168.122.1", /^address of docker0 = 192.168.122.1 is the network's gateway \(192.168.122.1\)/],
    ["the start of the DHCP range", "192.168.122.250", /^address of docker0 = 192.168.122.250 lies in the DHCP range 192.168.122.250-192.168.122.254 that the lab network hands out/],
    ["the end of the DHCP range", "192.168.122.254", /^address of docker0 = 192.168.122.254 lies in the DHCP range/],
    ["outside the network", "192.168.123.10", /^address of docker0 = 192.168.123.10 lies outside swarmlab:networkCidr 192.168.122.0\/24/],
  ])("refuses %s as a host address", (_what, addr, re) => {
    expect(only({ hostAddresses: JSON.stringify({ docker0: addr }) })).toMatch(re);
  });

  it("refuses two hosts on one address, also when one of them keeps its default", () => {
    expect(only({ hostAddresses: '{"docker0":"192.168.122.11"}' })).toBe(
      "address of docker1 = 192.168.122.11 collides with docker0; every host needs its own address",
    );
    expect(only({ hostAddresses: '{"docker0":"192.168.122.30","docker1":"192.168.122.30"}' })).toMatch(/docker1 = 192.168.122.30 collides with docker0/);
  });

  it("accepts addresses just outside the reserved ones and keeps them as given", () => {
    const c = validateConfig({ hostAddresses: '{"docker0":"192.168.122.2","docker1":"192.168.122.249"}' }, ctx);
    expect(c.hosts.map((h) => h.address)).toEqual(["192.168.122.2", "192.168.122.249"]);
  });

  it("exposes the DHCP range the program reserves, and checks defaults against it", () => {
    expect(validateConfig({ networkCidr: "10.20.0.0/16" }, ctx).network.dhcpRange).toEqual({ start: "10.20.255.250", end: "10.20.255.254" });
    // In a /28 the range is .10-.14, where the default addresses .10 and .11 lie.
    const p = problems({ networkCidr: "10.20.30.0/28" });
    expect(p).toHaveLength(2);
    expect(p[0]).toMatch(/^address of docker0 = 10.20.30.10 lies in the DHCP range 10.20.30.10-10.20.30.14 .*\(the default, offset 10; set swarmlab:hostAddresses to move it\)/);
    const c = validateConfig({ networkCidr: "10.20.30.0/28", hostAddresses: '{"docker0":"10.20.30.2","docker1":"10.20.30.9"}' }, ctx);
    expect(c.network).toEqual({ cidr: "10.20.30.0/28", gateway: "10.20.30.1", netmask: "255.255.255.240", prefix: 28, dhcpRange: { start: "10.20.30.10", end: "10.20.30.14" } });
    expect(only({ networkCidr: "10.20.30.0/29" })).toMatch(/^swarmlab:networkCidr = "10.20.30.0\/29" has prefix \/29; allowed: \/16 to \/28/);
  });

  it.each([
    ["192.168.122.000/24", /its address "192.168.122.000" is not canonical IPv4 \(a part has a leading zero\)/],
    ["192.168.122.0/024", /its prefix "024" is not a number 0-32 without leading zeros/],
    ["192.168.122.0/24\n", /it contains whitespace/],
    [" 192.168.122.0/24", /it contains whitespace/],
    ["192.168.122.0 /24", /it contains whitespace/],
    ["192.168.122.0/33", /its prefix "33" is not a number 0-32/],
    ["192.168.122.0", /it has no \/prefix/],
    ["192.168.122.5/24", /host bits are set \(the network would be 192.168.122.0\/24\)/],
  ])("refuses network %j", (cidr, re) => {
    const m = only({ networkCidr: cidr });
    expect(m.startsWith(`swarmlab:networkCidr = ${JSON.stringify(cidr)} is not an IPv4 network in CIDR form`), m).toBe(true);
    expect(m).toMatch(re);
    expect(m).toContain("allowed: a private IPv4 network such as 192.168.122.0/24, prefix /16 to /28");
  });
});

describe("network ranges the lab must not use", () => {
  it.each([
    ["0.0.0.0/16", '"this network" (0.0.0.0/8)'],
    ["127.0.0.0/16", "loopback (127.0.0.0/8)"],
    ["127.1.2.0/24", "loopback (127.0.0.0/8)"],
    ["169.254.0.0/16", "link-local (169.254.0.0/16)"],
    ["169.254.7.0/24", "link-local (169.254.0.0/16)"],
    ["224.0.0.0/24", "multicast (224.0.0.0/4)"],
    ["239.255.0.0/16", "multicast (224.0.0.0/4)"],
    ["240.0.0.0/24", "reserved (240.0.0.0/4)"],
    ["255.255.255.0/24", "reserved (240.0.0.0/4)"],
  ])("refuses %s", (cidr, what) => {
    const m = only({ networkCidr: cidr, hostAddresses: "" });
    expect(m.startsWith(`swarmlab:networkCidr = "${cidr}" lies in ${what}, which`), m).toBe(true);
    expect(m).toContain("allowed: a private IPv4 network");
  });

  it.each([
    ["192.168.200.0/24", "192.168.200.0/24, the lab's overlay network demonet"],
    ["192.168.200.128/25", "192.168.200.0/24, the lab's overlay network demonet"],
    ["192.168.0.0/16", "192.168.200.0/24, the lab's overlay network demonet"],
    ["10.255.0.0/16", "10.255.0.0/16, Docker's ingress overlay network"],
    ["10.255.7.0/24", "10.255.0.0/16, Docker's ingress overlay network"],
    ["172.17.0.0/16", "172.17.0.0/16, the docker0 bridge on every guest"],
    ["172.17.42.0/24", "172.17.0.0/16, the docker0 bridge on every guest"],
    ["172.18.0.0/16", "172.18.0.0/16, the docker_gwbridge bridge on every guest"],
    ["172.18.3.0/24", "172.18.0.0/16, the docker_gwbridge bridge on every guest"],
  ])("refuses %s, which overlaps a Docker range of the lab", (cidr, what) => {
    const m = only({ networkCidr: cidr });
    expect(m).toBe(
      `swarmlab:networkCidr = "${cidr}" overlaps ${what}; the guests would route those addresses into Docker instead of the lab network. ` +
        "Allowed: a range outside 192.168.200.0/24, 10.255.0.0/16, 172.17.0.0/16, 172.18.0.0/16, e.g. 192.168.122.0/24",
    );
  });

  it("takes the ranges of the lab's own networks from the lab definition", () => {
    const lab = { ...swarmOverlayLab, subnets: [{ cidr: "10.50.0.0/24", what: "the lab's overlay network demonet" }] };
    const labs = (name: string) => (name === "swarm-overlay" ? { ...swarmOverlay, definition: lab } : undefined);
    expect(problems({ networkCidr: "192.168.200.0/24" }, { labs })).toEqual([]);
    expect(only({ networkCidr: "10.50.0.0/16" }, { labs })).toMatch(/overlaps 10.50.0.0\/24, the lab's overlay network demonet/);
  });

  it("accepts private ranges next to the Docker ones", () => {
    for (const cidr of ["172.16.0.0/16", "172.19.0.0/16", "10.254.0.0/16", "192.168.201.0/24", "192.168.199.0/24", "10.0.0.0/16"]) {
      expect(problems({ networkCidr: cidr }), cidr).toEqual([]);
    }
  });
});

describe("pathTarget", () => {
  it.each([
    ["192.168.122.0", /^swarmlab:pathTarget = "192.168.122.0" is the network address of 192.168.122.0\/24, which no host answers; allowed: an address inside the lab network 192.168.122.0\/24 other than its network and broadcast address/],
    ["192.168.122.255", /^swarmlab:pathTarget = "192.168.122.255" is the broadcast address of 192.168.122.0\/24, not one host; allowed:/],
    ["192.168.122.001", /^swarmlab:pathTarget = "192.168.122.001" is not an IPv4 address: a part has a leading zero; allowed: dotted decimal/],
    ["192.168.122.1\n", /^swarmlab:pathTarget = "192.168.122.1\\n" is not an IPv4 address: it contains whitespace/],
    [" 192.168.122.1", /^swarmlab:pathTarget = " 192.168.122.1" is not an IPv4 address: it contains whitespace/],
    ["gateway", /^swarmlab:pathTarget = "gateway" is not an IPv4 address/],
  ])("refuses %j", (target, re) => {
    expect(only({ pathTarget: target })).toMatch(re);
  });

  it("accepts a host of the lab and defaults to the gateway", () => {
    expect(validateConfig({ pathTarget: "192.168.122.11" }, ctx).pathTarget).toBe("192.168.122.11");
    expect(validateConfig({ pathTarget: "" }, ctx).pathTarget).toBe("192.168.122.1");
    expect(validateConfig({ networkCidr: "10.1.0.0/16" }, ctx).pathTarget).toBe("10.1.0.1");
  });
});

describe("libvirt URI", () => {
  it.each([
    "qemu:///system",
    "qemu:///session",
    "qemu://kvmhost/system",
    "qemu+ssh://trainer@kvmhost/system",
    "qemu+ssh://trainer@kvmhost:2222/system?keyfile=/home/trainer/.ssh/id_ed25519&no_verify=1",
    "qemu+ssh://kvmhost.example.org/session",
    "qemu+ssh://[fd00::5]/system",
    "qemu+tcp://10.0.0.5:16509/system",
    "qemu+tls://kvmhost/system?pkipath=/etc/pki/libvirt",
    "qemu+unix:///system",
    "qemu+libssh://u@h/system?known_hosts=/tmp/kh",
    "qemu+libssh2://u@h/system?sshauth=privkey",
  ])("accepts %s", (uri) => {
    expect(resolveLibvirtUri(uri)).toEqual({ uri });
    expect(validateConfig({ libvirtUri: uri }, ctx).libvirtUri).toBe(uri);
  });

  it("defaults to qemu:///system", () => {
    expect(resolveLibvirtUri(undefined)).toEqual({ uri: "qemu:///system" });
    expect(resolveLibvirtUri("")).toEqual({ uri: "qemu:///system" });
  });

  it.each([
    ["xen:///system", "is not a QEMU libvirt URI"],
    ["QEMU:///system", "is not a QEMU libvirt URI"],
    ["qemu+ext:///system?command=/usr/bin/evil", "uses the ext transport, which runs an arbitrary program"],
    ["qemu+ftp://h/system", 'uses the transport "ftp", which is not supported'],
    ["qemu+ssh://h/system?command=/usr/bin/evil", 'sets the parameter "command", which makes libvirt run a program or redirect the connection'],
    ["qemu+ssh://h/system?netcat=/tmp/nc", 'sets the parameter "netcat"'],
    ["qemu+unix:///system?socket=/tmp/other.sock", 'sets the parameter "socket"'],
    ["qemu+ssh://h/system?proxy=native", 'sets the parameter "proxy"'],
    ["qemu+ssh://h/system?Command=x", 'sets the parameter "Command"'],
    ["qemu+ssh://h/system?no_tty=1;command=x", 'sets the parameter "command"'],
    ["qemu+ssh://h/system?no_tty=1&command=x", 'sets the parameter "command"'],
    ["qemu+ssh://h/system?%63ommand=x", 'has the parameter "%63ommand=x", whose name is not a plain word'],
    ["qemu:///system\n", "contains whitespace"],
    ["qemu:///system ", "contains whitespace"],
    [" qemu:///system", "contains whitespace"],
    ["qemu+ssh://user@host/system?keyfile=/a b", "contains whitespace"],
    ["qemu:///", 'has the path "/"'],
    ["qemu:///system/", 'has the path "/system/"'],
    ["qemu+ssh://h/embed?path=/x", 'has the path "/embed"'],
    ["qemu+ssh://-oProxyCommand=x/system", 'has the host part "-oProxyCommand=x"'],
    ["qemu+ssh://-l@h/system", 'has the host part "-l@h"'],
    ["qemu+ssh://user@/system", 'has the host part "user@"'],
    ["qemu+unix://kvmhost/system", "names a host, but the unix transport only reaches the local machine"],
    ["qemu:///system#x", "is not a URI of the form scheme://[host]/path"],
    ["/var/run/libvirt/libvirt-sock", "is not a URI of the form scheme://[host]/path"],
  ])("refuses %j", (uri, why) => {
    const m = only({ libvirtUri: uri });
    expect(m.startsWith(`swarmlab:libvirtUri = ${JSON.stringify(uri)} ${why}`), m).toBe(true);
    expect(m).toMatch(
      /; allowed: qemu:\/\/\/system, qemu:\/\/\/session or qemu\+<ssh\|tcp\|tls\|unix\|libssh\|libssh2>:\/\/\[user@\]host\[:port\]\/system \(or \/session\), without the parameters command, netcat, socket, proxy$/,
    );
    expect(resolveLibvirtUri(uri).problem).toBe(m);
  });
});

describe("stack names", () => {
  it("allows at most 38 characters: swarmlab-<stack>-docker1-seed.iso stays within 64", () => {
    expect(maxStackNameLength()).toBe(38);
    expect(`swarmlab-${"s".repeat(38)}-docker1-seed.iso`).toHaveLength(64);
  });

  it.each(["dev", "a", "0", "lab-2", "my-lab", "team-a-b3", "s".repeat(38)])("accepts %j", (name) => {
    expect(validateStackName(name)).toBeUndefined();
    expect(validateConfig({}, { ...ctx, stack: name }).objectPrefix).toBe(`swarmlab-${name}`);
  });

  const rule = "use lowercase letters, digits and '-' (at most 38 characters, starting and ending with a letter or digit, no '--')";
  it.each([
    ["My_Lab", "my-lab"],
    ["Dev", "dev"],
    ["dev_", "dev"],
    ["dev.1", "dev-1"],
    ["-dev", "dev"],
    ["dev-", "dev"],
    ["a--b", "a-b"],
    ["a/b", "a-b"],
    ["../../etc", "etc"],
    ["..", undefined],
    ["", undefined],
    ["dév", "d-v"],
  ])("refuses %j, saying what is allowed", (name, suggestion) => {
    const want = `stack name ${JSON.stringify(name)} is not allowed: ${rule}${suggestion ? `, e.g. ${suggestion}` : ""}`;
    expect(validateStackName(name)).toBe(want);
    expect(only({}, { stack: name })).toBe(want);
  });

  it("refuses a name that is too long, offering it cut short", () => {
    const name = "s".repeat(39);
    expect(validateStackName(name)).toBe(
      `stack name "${name}" is 39 characters long, and the longest libvirt object name (swarmlab-${name}-docker1-seed.iso) must stay within 64: ${rule}, e.g. ${"s".repeat(38)}`,
    );
    expect(validateStackName(`${"a".repeat(37)}-bc`)).toMatch(new RegExp(`e\\.g\\. ${"a".repeat(37)}$`));
  });

  it("maps distinct allowed names to distinct object prefixes (Dev, dev and dev_ are not all allowed)", () => {
    const names = ["Dev", "dev", "dev_", "DEV", "dev-"];
    expect(names.filter((n) => validateStackName(n) === undefined)).toEqual(["dev"]);
  });
});

describe("active network discovery", () => {
  it("reads IPv4 ranges from network XML, netmask or prefix, skipping IPv6", () => {
    const xml = `<network><name>default</name><ip address='192.168.122.1' netmask='255.255.255.0'><dhcp/></ip>
      <ip family='ipv6' address='fd00::1' prefix='64'/><ip address='10.9.0.1' prefix='16'/></network>`;
    expect(networkCidrsFromXml(xml)).toEqual(["192.168.122.0/24", "10.9.0.0/16"]);
  });
});

describe("chooseLabNetwork (swarmlab:networkCidr not set)", () => {
  const net = (name: string, cidr: string) => ({ name, cidr });
  it("takes the documented range when no active network uses it", () => {
    expect(chooseLabNetwork(swarmOverlayLab, [])).toEqual({ cidr: "192.168.122.0/24" });
    expect(chooseLabNetwork(swarmOverlayLab, [net("other", "192.168.121.0/24"), net("wide", "10.0.0.0/8")])).toEqual({ cidr: "192.168.122.0/24" });
  });

  it("moves to the next free range of the same size when one does, and says which network is in the way", () => {
    const c = chooseLabNetwork(swarmOverlayLab, [net("default", "192.168.122.0/24")]);
    expect(c.cidr).toBe("192.168.123.0/24");
    expect(c.note).toBe('192.168.122.0/24, the documented range, is used by the active libvirt network "default" (192.168.122.0/24); this lab uses 192.168.123.0/24, the next free range');
    // A wider network in the way is skipped as a whole; other stacks' networks count too.
    expect(chooseLabNetwork(swarmOverlayLab, [net("default", "192.168.122.0/23"), net("swarmlab-b", "192.168.124.0/24")]).cidr).toBe("192.168.125.0/24");
  });

  it("never lands on one of Docker's ranges in the guests (the overlay 192.168.200.0/24)", () => {
    const taken = Array.from({ length: 199 - 122 + 1 }, (_, i) => net(`n${i}`, `192.168.${122 + i}.0/24`));
    expect(chooseLabNetwork(swarmOverlayLab, taken).cidr).toBe("192.168.201.0/24");
  });

  it("keeps the stack's own network's range; with nothing free, returns the documented range for the validation to refuse", () => {
    expect(chooseLabNetwork(swarmOverlayLab, [net("default", "192.168.122.0/24")], net("swarmlab-dev", "192.168.130.0/24")).cidr).toBe("192.168.130.0/24");
    expect(chooseLabNetwork(swarmOverlayLab, [], net("swarmlab-dev", "192.168.122.0/24"))).toEqual({ cidr: "192.168.122.0/24" });
    expect(chooseLabNetwork(swarmOverlayLab, [net("everything", "192.168.0.0/16")])).toEqual({ cidr: "192.168.122.0/24" });
  });
});

describe("swarmlab:lab", () => {
  it("defaults to swarm-overlay and takes a lab of the registry", () => {
    expect(validateConfig({}, ctx)).toMatchObject({ labName: "swarm-overlay", lab: swarmOverlayLab });
    expect(validateConfig({ lab: "swarm-overlay" }, ctx).labName).toBe("swarm-overlay");
  });

  it("refuses a lab no folder provides, naming the value and the known labs, before anything is created", () => {
    expect(only({ lab: "bridge-lab" })).toBe('swarmlab:lab = "bridge-lab" is not a known lab; allowed: swarm-overlay, bridge, routing-mesh, encrypted-overlay, macvlan');
    expect(() => validateConfig({ lab: "bridge-lab" }, ctx)).toThrow(/invalid swarmlab configuration \(nothing was created\)/);
  });
});

