/** The definition comparison behind adopting existing libvirt objects, and the seed ISO check. */
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { buildSeedIso, definitionDifference, parseXml, seedIsoDifference } from "../../../../infra/libvirt/provider";
import { domainXml } from "../../../../infra/libvirt/xml";
import { domainArgs, FIXTURE_DEFS, QEMU_SYSTEM_DEFS } from "../../../fixtures/provider/libvirt-defs";

const FIX = path.join(__dirname, "../../../fixtures/provider");
const fixture = (f: string) => fs.readFileSync(path.join(FIX, f), "utf8");

describe("parseXml", () => {
  it("reads elements, attributes, text, entities and CDATA, and skips the prolog and comments", () => {
    const el = parseXml(`<?xml version="1.0"?>
      <!DOCTYPE domain>
      <!-- a comment -->
      <a x="1" y='two &amp; &#x33;'>
        <b/> text &lt;&#65;&gt; <![CDATA[<raw>&amp;]]>
        <c z = "&quot;q&apos;">inner</c>
      </a>`);
    expect(el.name).toBe("a");
    expect(el.attrs).toEqual({ x: "1", y: "two & 3" });
    expect(el.children.map((c) => c.name)).toEqual(["b", "c"]);
    expect(el.text.replace(/\s+/g, " ").trim()).toBe("text <A> <raw>&amp;");
    expect(el.children[1]).toMatchObject({ attrs: { z: `"q'` }, text: "inner" });
  });

  it("qualifies names by namespace URI, whatever the prefix", () => {
    const a = parseXml(`<m><p:lab xmlns:p="urn:x" p:k="v"><p:host>h</p:host></p:lab></m>`);
    const b = parseXml(`<m><lab xmlns="urn:x"><host>h</host></lab></m>`);
    expect(a.children[0].name).toBe("{urn:x}lab");
    expect(a.children[0].attrs).toEqual({ "{urn:x}k": "v" });
    expect(b.children[0].children[0].name).toBe("{urn:x}host");
    expect(a.children[0].children[0].name).toBe(b.children[0].children[0].name);
  });

  it.each([
    ["<a><b></a>", /<\/a> closes <b>/],
    ["<a>", /<a> is never closed/],
    ["<a/><b/>", /a second root element/],
    ["text<a/>", /text outside the root element/],
    ["<a><p:b/></a>", /undeclared namespace prefix/],
    ["<a x=1/>", /bad attribute/],
    ["<a x='1' x='2'/>", /given twice/],
    ["<a><!-- never ends", /unterminated/],
    ["", /no root element/],
  ])("rejects %j", (src, msg) => {
    expect(() => parseXml(src)).toThrow(msg);
  });
});

describe("definitionDifference on libvirt's own rendering of our definitions", () => {
  for (const [name, d] of Object.entries(FIXTURE_DEFS)) {
    it(`${name}: what libvirt's test driver keeps matches what we gave it`, () => {
      expect(definitionDifference(d.xml, fixture(`libvirt-test-driver/${name}.xml`))).toBeUndefined();
    });
  }
  for (const [name, want] of Object.entries(QEMU_SYSTEM_DEFS)) {
    it(`${name}: what the qemu driver of a live hypervisor kept matches what it was given`, () => {
      expect(definitionDifference(want, fixture(`qemu-system/${name}.xml`))).toBeUndefined();
    });
  }
  it("and notices each kind of change to what we specify", () => {
    const kvm = fixture("libvirt-test-driver/domain-kvm.xml");
    const want = FIXTURE_DEFS["domain-kvm"].xml;
    expect(definitionDifference(domainXml({ ...domainArgs, vcpus: 4 }), kvm)).toBe(`/domain/vcpu: wanted "4", found "2"`);
    expect(definitionDifference(domainXml({ ...domainArgs, memoryMiB: 2049 }), kvm)).toBe(
      "/domain/memory: wanted 2049 MiB, found 2097152 KiB",
    );
    expect(definitionDifference(domainXml({ ...domainArgs, type: "qemu" }), kvm)).toBe("/domain: type is 'kvm', wanted 'qemu'");
    expect(definitionDifference(domainXml({ ...domainArgs, role: "worker" }), kvm)).toBe(
      `/domain/metadata/swarmlab:lab/swarmlab:role: wanted "worker", found "manager"`,
    );
    const live = fixture("qemu-system/domain-qemu.xml");
    expect(definitionDifference(QEMU_SYSTEM_DEFS["domain-qemu"], live.replace("machine='pc-i440fx-7.2'", "machine='pc-q35-7.2'"))).toBe(
      "/domain/os/type: machine is 'pc-q35-7.2', wanted 'pc'",
    );
    expect(definitionDifference(QEMU_SYSTEM_DEFS["domain-qemu"], live.replace("apparmor=0", "apparmor=1"))).toMatch(/^\/domain\/os\/cmdline: wanted/);
    expect(definitionDifference(want, kvm.replace("      <readonly/>\n", ""))).toMatch(/none of the 2 <disk> elements matches <disk type='volume' device='disk'/);
    expect(definitionDifference(want, kvm.replace("<rng model='virtio'>", "<rng model='virtio-transitional'>"))).toBe(
      "/domain/devices/rng: model is 'virtio-transitional', wanted 'virtio'",
    );
    expect(definitionDifference(want, kvm.replace(/\s*<on_crash>destroy<\/on_crash>/, ""))).toBe("/domain/on_crash: missing");
    expect(definitionDifference(want, kvm.replace(/xmlns:swarmlab="[^"]*"/, 'xmlns:swarmlab="urn:other"'))).toBe(
      "/domain/metadata/swarmlab:lab: missing",
    );
    expect(definitionDifference(want, kvm.replace("<name>swarmlab-dev-docker0<", "<name>swarmlab-dev-docker1<"))).toBe(
      `/domain/name: wanted "swarmlab-dev-docker0", found "swarmlab-dev-docker1"`,
    );
    const net = fixture("libvirt-test-driver/network.xml");
    expect(definitionDifference(FIXTURE_DEFS.network.xml, net.replace("ip='192.168.122.11'", "ip='192.168.122.12'"))).toMatch(
      /^\/network\/ip\/dhcp: none of the 2 <host> elements matches <host mac='52:54:00:d8:40:5a' name='docker1.local' ip='192.168.122.11'\/>$/,
    );
    expect(definitionDifference(FIXTURE_DEFS.network.xml, net.replace("<forward mode='nat'/>", "<forward mode='route'/>"))).toBe(
      "/network/forward: mode is 'route', wanted 'nat'",
    );
    const vol = fixture("libvirt-test-driver/volume.xml");
    expect(definitionDifference(FIXTURE_DEFS.volume.xml, vol.replace("21474836480</capacity>", "21474836481</capacity>"))).toBe(
      "/volume/capacity: wanted 20 GiB, found 21474836481 bytes",
    );
  });
});

describe("definitionDifference's rules", () => {
  const same = (want: string, got: string) => expect(definitionDifference(want, got)).toBeUndefined();
  const differs = (want: string, got: string, msg: string | RegExp) => expect(definitionDifference(want, got)).toMatch(msg);

  it("ignores what libvirt adds: elements, attributes, text of elements we left empty", () => {
    same(`<n><forward mode='nat'/></n>`, `<n><uuid>u</uuid><forward mode="nat" extra="1"><nat><port start='1'/></nat></forward></n>`);
    same(`<n><acpi/></n>`, `<n><acpi>on</acpi></n>`);
  });

  it("takes children in any order, each matched by its own", () => {
    same(`<d><x n='1'/><x n='2'/><y/></d>`, `<d><y/><x n='2'/><x n='1'/></d>`);
    differs(`<d><x/><x/></d>`, `<d><x/></d>`, "/d/x: given more often than libvirt has it");
    // A first-come matching would give <x/> the only <x k='1'/> and then fail; ours does not.
    same(`<d><x/><x k='1'/></d>`, `<d><x k='1'/><x/></d>`);
  });

  it("compares scaled integers in bytes, with libvirt's default units", () => {
    same(`<d><memory unit='MiB'>2048</memory></d>`, `<d><memory unit='KiB'>2097152</memory></d>`);
    same(`<d><memory unit='GiB'>2</memory></d>`, `<d><memory>2097152</memory></d>`);
    same(`<v><capacity unit='G'>1</capacity></v>`, `<v><capacity>1073741824</capacity></v>`);
    same(`<v><capacity unit='GB'>1</capacity></v>`, `<v><capacity unit='bytes'>1000000000</capacity></v>`);
    same(`<v><capacity unit='EiB'>8</capacity></v>`, `<v><capacity unit='bytes'>9223372036854775808</capacity></v>`);
    differs(`<v><capacity unit='GB'>1</capacity></v>`, `<v><capacity unit='bytes'>1073741824</capacity></v>`, /wanted 1 GB, found 1073741824 bytes/);
  });

  it("allows only the rewrites libvirt is known to make", () => {
    same(`<i><mac address='52:54:00:AB:cd:01'/></i>`, `<i><mac address='52:54:00:ab:cd:01'/></i>`);
    same(`<a slot='0x03' function='0x0'/>`, `<a slot='0x3' function='0'/>`);
    differs(`<a port='010'/>`, `<a port='10'/>`, "/a: port is '10', wanted '010'");
    same(`<t machine='q35'/>`, `<t machine='pc-q35-8.2'/>`);
    differs(`<t machine='pc'/>`, `<t machine='pc-q35-8.2'/>`, /machine is 'pc-q35-8.2'/);
    same(`<p><path>/var//lib/x/</path></p>`, `<p><path>/var/lib/x</path></p>`);
    same(`<p><name> x </name></p>`, `<p><name>x</name></p>`);
    differs(`<p><cmdline>a  b</cmdline></p>`, `<p><cmdline>a b</cmdline></p>`, /wanted "a  b", found "a b"/);
    differs(`<p k='v'/>`, `<p/>`, "/p: attribute k='v' is missing");
    differs(`<p/>`, `<q/>`, "/p: found <q> instead");
  });
});

describe("seedIsoDifference", () => {
  const spec = {
    userData: "#cloud-config\nhostname: docker0\nssh_authorized_keys:\n  - ssh-rsa AAAAB3Nza key-1\n",
    metaData: "instance-id: swarmlab-abc\nlocal-hostname: docker0\n",
    networkConfig: "version: 2\nethernets: {}\n",
  };
  const iso = (s: typeof spec): Buffer => {
    const built = buildSeedIso(s);
    try {
      return fs.readFileSync(built.iso);
    } finally {
      built.cleanup();
    }
  };

  it("accepts a seed built from the same files (genisoimage output is not byte-reproducible, so content is what counts)", () => {
    expect(seedIsoDifference(iso(spec), spec)).toBeUndefined();
  });

  it("refuses one with another key of the same length, a longer file that starts with ours, or a missing file", () => {
    const sameSize = iso({ ...spec, userData: spec.userData.replace("key-1", "key-2") });
    expect(seedIsoDifference(sameSize, spec)).toBe("its user-data differs from this stack's");
    const longer = iso({ ...spec, networkConfig: spec.networkConfig + "# more\n" });
    expect(seedIsoDifference(longer, spec)).toBe("its network-config differs from this stack's");
    const other = iso({ ...spec, metaData: "instance-id: other\n" });
    expect(seedIsoDifference(other, spec)).toBe("its meta-data differs from this stack's");
  });

  it("carries swarmlab-init.sh (for images without cloud-init) and checks it like the other files", () => {
    const withInit = { ...spec, initScript: "#!/bin/sh\necho seed of docker0\n" };
    const built = buildSeedIso(withInit);
    try {
      const names = fs.readdirSync(path.dirname(built.iso)).filter((f) => f !== "seed.iso").sort();
      expect(names).toEqual(["meta-data", "network-config", "swarmlab-init.sh", "user-data"]);
      const bytes = fs.readFileSync(built.iso);
      expect(seedIsoDifference(bytes, withInit)).toBeUndefined();
      expect(seedIsoDifference(bytes, { ...withInit, initScript: "#!/bin/sh\necho seed of docker1\n" })).toBe("its swarmlab-init.sh differs from this stack's");
      // An older seed, made without the script, is not the seed this stack wants.
      expect(seedIsoDifference(iso(spec), withInit)).toBe("its swarmlab-init.sh differs from this stack's");
    } finally {
      built.cleanup();
    }
  });

  it("refuses what is not a cidata ISO", () => {
    const good = iso(spec);
    expect(seedIsoDifference(Buffer.alloc(100_000), spec)).toBe("it is not an ISO 9660 image");
    const relabelled = Buffer.from(good);
    relabelled.write("OTHER ".padEnd(32, " "), 16 * 2048 + 40, "latin1");
    expect(seedIsoDifference(relabelled, spec)).toBe('its volume label is "OTHER", not cidata');
    expect(seedIsoDifference(Buffer.concat([good, Buffer.alloc(17 * 1024 * 1024)]), spec)).toMatch(/larger than a cloud-init seed/);
  });
});
