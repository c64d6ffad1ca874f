/**
 * Each sub-condition of a fact fails the fact on its own: a check that
 * stopped looking at one of them would pass a lab that is wrong. (Each case
 * here changes exactly one thing of the baseline, which passes.)
 */
import { describe, expect, it } from "vitest";
import type { FactResult } from "../../../scripts/lib/verify/result";
import { gatheredFromText } from "../../../scripts/lib/verify/gather";
import { buildModel, type HostModel, type Iface, type LabModel, type Namespace } from "../../../scripts/lib/verify/model";
import type { Socket } from "../../../scripts/lib/verify/parse/system";
import { check, clone, frame, liveInventory, liveModel } from "./helpers";

const { model: BASE, inventory: INV } = liveModel("json");
const host = (m: LabModel, name: string): HostModel => m.hosts.find((h) => h.name === name)!;
const overlay = (m: LabModel, h: string): Namespace => host(m, h).namespaces.find((n) => n.kind === "overlay" && n.network?.name === "demonet")!;
const vxlan0 = (m: LabModel, h: string): Iface => overlay(m, h).interfaces.find((i) => i.kind === "vxlan")!;

function one(id: string, mutate: (m: LabModel) => void): FactResult {
  const m = clone(BASE);
  mutate(m);
  return check(m, INV, [id])[0]!;
}

describe("the baseline passes the facts below", () => {
  it("PORT-1 and VXLAN-1 pass unchanged", () => {
    expect(check(BASE, INV, ["PORT-1", "VXLAN-1"]).map((r) => r.outcome)).toEqual(["pass", "pass"]);
  });
});

describe("PORT-1: a listener counts only on the host's address or on all addresses", () => {
  const rebind = (m: LabModel, h: string, port: number, proto: string, address: string): void => {
    const s = host(m, h).sockets!.find((x: Socket) => x.port === port && x.proto === proto)!;
    s.address = address;
  };
  it("the manager port on loopback only fails", () => {
    const r = one("PORT-1", (m) => rebind(m, "docker0", 2377, "tcp", "127.0.0.1"));
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/docker0: nothing listens on 2377\/tcp \(on 192\.168\.122\.10 or all addresses\)/);
  });
  it("gossip bound to the other host's address fails", () => {
    const r = one("PORT-1", (m) => rebind(m, "docker1", 7946, "tcp", "192.168.122.10"));
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/docker1: nothing listens on 7946\/tcp/);
  });
  it("the VXLAN port on the docker_gwbridge address fails", () => {
    const r = one("PORT-1", (m) => rebind(m, "docker1", 4789, "udp", "172.18.0.1"));
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/docker1: nothing listens on 4789\/udp/);
  });
  it("but the host's own address, or all addresses, pass", () => {
    expect(one("PORT-1", (m) => rebind(m, "docker0", 2377, "tcp", "192.168.122.10")).outcome).toBe("pass");
    expect(one("PORT-1", (m) => rebind(m, "docker0", 2377, "tcp", "[::]")).outcome).toBe("pass");
  });
  it("a TCP port that is not listening fails; the protocol must match", () => {
    expect(one("PORT-1", (m) => (host(m, "docker0").sockets!.find((x) => x.port === 2377)!.state = "ESTAB")).outcome).toBe("fail");
    expect(one("PORT-1", (m) => (host(m, "docker1").sockets!.find((x) => x.port === 4789)!.proto = "tcp")).outcome).toBe("fail");
  });
});

describe("VXLAN-1: every documented detail of the vxlan device", () => {
  const cases: [string, (v: NonNullable<Iface["vxlan"]>) => void, RegExp][] = [
    ["ageing 600", (v) => (v.ageing = 600), /docker1: 1-\w+: vxlan0: ageing 600, expected 300/],
    ["no ageing", (v) => delete v.ageing, /ageing none, expected 300/],
    ["id", (v) => (v.id = 4098), /vxlan id 4098, documented 4097/],
    ["dstport", (v) => (v.dstport = 8472), /dstport 8472, expected 4789/],
    ["proxy", (v) => (v.proxy = false), /lacks proxy/],
    ["l2miss", (v) => (v.l2miss = false), /lacks l2miss/],
    ["l3miss", (v) => (v.l3miss = false), /lacks l3miss/],
  ];
  for (const [what, mutate, re] of cases) {
    it(what, () => {
      const r = one("VXLAN-1", (m) => mutate(vxlan0(m, "docker1").vxlan!));
      expect(r.outcome).toBe("fail");
      expect(r.observed).toMatch(re);
    });
  }
});

describe("veth pairing: the link-netnsid decides between ends with the same ifindex on one host", () => {
  // Two task sandboxes (s1, s2) and an overlay namespace whose ifindexes collide: s1's eth1 and
  // s2's eth0 are both 20 and both point at 21; the host's vethA and the overlay's veth1 are both
  // 21 and both point at 20. Only the namespace ids (link-netnsid) tell which is whose.
  const link = (ifindex: number, ifname: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
    ifindex,
    ifname,
    flags: ["BROADCAST", "UP", "LOWER_UP"],
    mtu: 1450,
    operstate: "UP",
    link_type: "ether",
    address: `02:42:00:00:${String(ifindex).padStart(2, "0")}:01`,
    promiscuity: 0,
    ...extra,
  });
  const lo = { ifindex: 1, ifname: "lo", flags: ["LOOPBACK", "UP"], mtu: 65536, operstate: "UNKNOWN", link_type: "loopback", address: "00:00:00:00:00:00", promiscuity: 0 };
  const veth = (ifindex: number, ifname: string, peer: number, nsid: number, master?: string) =>
    link(ifindex, ifname, { link_index: peer, link_netnsid: nsid, linkinfo: { info_kind: "veth" }, ...(master ? { master } : {}) });
  const namespaces: Record<string, unknown[]> = {
    host: [lo, link(2, "ens3", { mtu: 1500 }), veth(21, "vethA", 20, 5), veth(23, "vethB", 22, 6)],
    "netns/aaaaaaaaaaaa": [lo, veth(18, "eth0", 19, 1), veth(20, "eth1", 21, 0)],
    "netns/bbbbbbbbbbbb": [lo, veth(20, "eth0", 21, 1), veth(22, "eth1", 23, 0)],
    "netns/1-ovlaaaaaaa": [
      lo,
      link(2, "br0", { linkinfo: { info_kind: "bridge", info_data: { forward_delay: 1500, hello_time: 200, max_age: 2000 } } }),
      link(5, "vxlan0", { link_netnsid: 0, master: "br0", linkinfo: { info_kind: "vxlan", info_data: { id: 4097, port: 4789 } } }),
      veth(19, "veth0", 18, 4, "br0"),
      veth(21, "veth1", 20, 3, "br0"),
    ],
  };
  const sections: Record<string, string> = { "netns-ls": "aaaaaaaaaaaa\nbbbbbbbbbbbb\n1-ovlaaaaaaa\n" };
  for (const [ns, links] of Object.entries(namespaces)) {
    const text = `${JSON.stringify(links)}\n`;
    sections[`ip-link@${ns}`] = text;
    sections[`ip-addr@${ns}`] = text;
    sections[`ip-route@${ns}`] = "[]\n";
  }

  it("pairs each end with its true peer, confirmed both ways, and leaves nothing ambiguous", () => {
    const inv = liveInventory();
    const model = buildModel(gatheredFromText(inv, { docker0: frame(sections) }), inv);
    const pairs = model.vethPairs
      .filter((p) => p.a.host === "docker0")
      .map((p) => [`${p.a.namespace}:${p.a.ifname}`, `${p.b.namespace}:${p.b.ifname}`].sort().join(" <-> ") + (p.confirmed ? "" : " (unconfirmed)"))
      .sort();
    expect(pairs).toEqual([
      "1-ovlaaaaaaa:veth0 <-> aaaaaaaaaaaa:eth0",
      "1-ovlaaaaaaa:veth1 <-> bbbbbbbbbbbb:eth0",
      "aaaaaaaaaaaa:eth1 <-> host:vethA",
      "bbbbbbbbbbbb:eth1 <-> host:vethB",
    ]);
    expect(model.hosts[0]!.issues.filter((i) => i.kind === "ambiguous")).toEqual([]);
    const ns = (id: string) => model.hosts[0]!.namespaces.find((n) => n.id === id)!;
    expect(ns("host").nsids).toEqual({ 5: "aaaaaaaaaaaa", 6: "bbbbbbbbbbbb" });
    expect(ns("1-ovlaaaaaaa").nsids).toEqual({ 0: "host", 3: "bbbbbbbbbbbb", 4: "aaaaaaaaaaaa" });
  });

  it("with the link-netnsids lost, the same ifindexes are ambiguous: reported, never guessed", () => {
    const inv = liveInventory();
    const stripped: Record<string, string> = {};
    for (const [k, v] of Object.entries(sections)) stripped[k] = v.replace(/,"link_netnsid":\d+/g, "");
    const model = buildModel(gatheredFromText(inv, { docker0: frame(stripped) }), inv);
    const vethA = model.hosts[0]!.namespaces.find((n) => n.id === "host")!.interfaces.find((i) => i.name === "vethA")!;
    // without namespace ids every end looks local: nothing may be paired across namespaces by ifindex alone
    expect(vethA.peer).toBeUndefined();
  });
});
