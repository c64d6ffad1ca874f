import { spawnSync } from "child_process";
import * as fs from "fs";
import { builtinModules } from "module";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { afterAll, describe, expect, it } from "vitest";
import { bridgeName, domainXml, macFor, networkXml, overlayVolumeXml, poolXml } from "../../../../infra/libvirt/xml";
import { virshProvider } from "../../../../infra/libvirt/provider";
import { labFilesProvider, sshKeyProvider } from "../../../../infra/local";
import { loadDynamicProvider } from "../../../harness/dynamic";
import { domainArgs } from "../../../fixtures/provider/libvirt-defs";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-xml-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
function validate(kind: string, xml: string): void {
  const file = path.join(tmp, `${kind}.xml`);
  fs.writeFileSync(file, xml);
  const r = spawnSync("virt-xml-validate", [file, kind], { encoding: "utf8" });
  expect(r.error, "virt-xml-validate is needed (apt-get install libvirt-clients)").toBeUndefined();
  expect(r.status, `${kind} XML does not validate:\n${r.stderr}\n${xml}`).toBe(0);
}

const dom = domainArgs;

describe("libvirt XML, checked against libvirt's own schemas", () => {
  it("network", () => {
    const xml = networkXml({
      name: "swarmlab-dev",
      bridge: bridgeName("dev"),
      gateway: "192.168.122.1",
      netmask: "255.255.255.0",
      hosts: [{ mac: dom.mac, address: "192.168.122.10", hostname: "docker0.local" }],
      dhcpRange: { start: "192.168.122.250", end: "192.168.122.254" },
    });
    validate("network", xml);
    expect(xml).toContain("<ip address='192.168.122.1' netmask='255.255.255.0'>");
    expect(xml).toContain(`<host mac='${dom.mac}' name='docker0.local' ip='192.168.122.10'/>`);
    // Without STP a guest's new tap forwards at once (a reset's revert makes one).
    expect(xml).toContain("<bridge name='swl-dev' stp='off'/>");
  });

  it("pool and overlay volume", () => {
    validate("storagepool", poolXml("swarmlab-dev", "/var/lib/libvirt/images/swarmlab-dev"));
    const vol = overlayVolumeXml("swarmlab-dev-docker0.qcow2", 20, "/var/lib/libvirt/images/swarmlab-dev/base.qcow2");
    validate("storagevol", vol);
    expect(vol).toMatch(/<backingStore>\s*<path>\/var\/lib\/libvirt\/images\/swarmlab-dev\/base.qcow2<\/path>\s*<format type='qcow2'\/>/);
  });

  it("domain booting from disk (kvm) and by direct kernel boot (qemu)", () => {
    const kvm = domainXml(dom);
    validate("domain", kvm);
    expect(kvm).toContain("<domain type='kvm'>");
    expect(kvm).toContain("<boot dev='hd'/>");
    const tcg = domainXml({ ...dom, type: "qemu", kernel: "/img/vmlinuz", initrd: "/img/initrd.img", cmdline: "root=/dev/vda console=ttyS0 apparmor=0" });
    validate("domain", tcg);
    expect(tcg).toContain("<domain type='qemu'>");
    expect(tcg).not.toContain("host-passthrough");
    expect(tcg).toContain("<cmdline>root=/dev/vda console=ttyS0 apparmor=0</cmdline>");
  });

  it("escapes names", () => {
    validate("domain", domainXml({ ...dom, stack: "a&b<c>" }));
  });
});

describe("names", () => {
  it("keeps bridge names within 15 characters and distinct", () => {
    expect(bridgeName("dev")).toBe("swl-dev");
    const a = bridgeName("training-monday");
    const b = bridgeName("training-tuesday");
    expect(a.length).toBeLessThanOrEqual(15);
    expect(a).not.toBe(b);
  });
  it("derives stable, distinct, locally administered MACs", () => {
    expect(macFor("dev", "docker0")).toBe(macFor("dev", "docker0"));
    expect(macFor("dev", "docker0")).not.toBe(macFor("dev", "docker1"));
    expect(macFor("dev", "docker0")).not.toBe(macFor("prod", "docker0"));
    expect(macFor("dev", "docker0")).toMatch(/^52:54:00(:[0-9a-f]{2}){3}$/);
  });
});

describe("the virsh provider survives Pulumi's closure serialization", () => {
  it("serializes, loads like the dynamic provider host, and checks and diffs", async () => {
    // As @pulumi/pulumi's dynamic.Resource does it.
    const sf = await pulumi.runtime.serializeFunction(() => virshProvider, { allowSecrets: true });
    const p = loadDynamicProvider(sf.text);
    // Everything the provider needs is required inside its functions, and only from Node itself.
    const required = [...sf.text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    expect(required).toContain("child_process");
    expect(required.filter((m) => !builtinModules.includes(m))).toEqual([]);
    const good = { uri: "qemu:///system", kind: "network", name: "swarmlab-dev", xml: "<network/>" };
    expect((await p.check!({}, good)).failures).toEqual([]);
    const bad = await p.check!({}, { uri: "", kind: "disk", name: "bad name!" });
    expect(bad.failures!.map((f) => f.property).sort()).toEqual(["kind", "name", "uri", "xml"]);
    const same = await p.diff!("network:swarmlab-dev", { ...good, path: "", state: "active" }, good);
    expect(same.changes).toBe(false);
    const changed = await p.diff!("network:swarmlab-dev", { ...good, path: "", state: "active" }, { ...good, xml: "<network><x/></network>" });
    expect(changed).toMatchObject({ changes: true, replaces: ["xml"], deleteBeforeReplace: true });
  });

  it("so do the local providers, requiring only Node's own modules", async () => {
    for (const provider of [sshKeyProvider, labFilesProvider]) {
      const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
      const required = [...sf.text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
      expect(required.length).toBeGreaterThan(0);
      expect(required.filter((m) => !builtinModules.includes(m))).toEqual([]);
    }
  });

  it("reads a missing object as gone (refresh), using a fake virsh", async () => {
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-fakevirsh-"));
    fs.writeFileSync(path.join(bin, "virsh"), `#!/bin/sh\necho "error: failed to get domain 'x'" >&2\necho "error: Domain not found: no domain with matching name 'x'" >&2\nexit 1\n`, { mode: 0o755 });
    const oldPath = process.env.PATH;
    process.env.PATH = `${bin}:${oldPath}`;
    try {
      const r = await virshProvider.read!("domain:x", { uri: "qemu:///system", kind: "domain", name: "x", xml: "<domain/>", path: "", state: "running" } as any);
      expect(r.id).toBe("");
      await expect(virshProvider.delete!("domain:x", { uri: "qemu:///system", kind: "domain", name: "x" } as any)).resolves.toBeUndefined();
    } finally {
      process.env.PATH = oldPath;
      fs.rmSync(bin, { recursive: true, force: true });
    }
  });
});

describe("the stack's SSH key", () => {
  it("is an RSA key pair OpenSSH accepts, and is never regenerated", async () => {
    const r = await sshKeyProvider.create({ comment: "swarmlab-test" });
    const keyFile = path.join(tmp, "id");
    fs.writeFileSync(keyFile, r.outs.privateKeyPem, { mode: 0o600 });
    const derived = spawnSync("ssh-keygen", ["-y", "-f", keyFile], { encoding: "utf8" });
    expect(derived.status, derived.stderr).toBe(0);
    expect(r.outs.publicKeyOpenssh.startsWith(derived.stdout.trim())).toBe(true);
    expect(r.outs.publicKeyOpenssh.endsWith(" swarmlab-test")).toBe(true);
    expect((await sshKeyProvider.diff!(r.id, r.outs, { comment: "something else" })).changes).toBe(false);
  });
});
