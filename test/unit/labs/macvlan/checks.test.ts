import { describe, expect, it } from "vitest";
import { macvlan } from "../../../../labs/macvlan";
import { check } from "../../../../labs/macvlan/checks";
import { macvlanProbe } from "../../../../labs/macvlan/probe";
import type { LabModel } from "../../../../scripts/lib/verify/model";
import { liveModel, sectionsOfModel } from "./helpers";

const byId = (model: LabModel, inv: ReturnType<typeof liveModel>["inv"], id: string) => check(model, inv, { only: [id] })[0]!;

function host0(model: LabModel) {
  return model.hosts.find((h) => h.name === "docker0")!;
}
function hostNs(model: LabModel) {
  return host0(model).namespaces.find((n) => n.kind === "host")!;
}
function mactainerNs(model: LabModel) {
  const c = host0(model).containers!.find((x) => x.name === "mactainer1")!;
  return host0(model).namespaces.find((n) => n.task?.containerId === c.id)!;
}
function macvlanIface(model: LabModel) {
  return mactainerNs(model).interfaces.find((i) => i.kind === "macvlan")!;
}

describe("macvlan checks on the recorded lab", () => {
  it("pass on the real evidence", () => {
    const { model, inv } = liveModel();
    const results = macvlan.check(model, inv);
    expect(results.map((r) => [r.id, r.outcome])).toEqual([
      ["MV-1", "pass"],
      ["MV-2", "pass"],
      ["MV-3", "pass"],
    ]);
    expect(results[0]!.observed).toMatch(/docker0: macvlan100 \(macvlan, 10\.0\.0\.0\/24, gateway 10\.0\.0\.1\) has parent ens3\.100/);
    expect(results[0]!.observed).toMatch(/carry 802\.1Q \(0x8100\) tag 100 on the wire \(captured on docker1\)/);
    expect(results[1]!.observed).toMatch(/own MAC 02:42:0a:00:00:02 .*ens3: 52:54:00:37:9e:71.*10\.0\.0\.2 in the ip-range 10\.0\.0\.0\/25/);
    expect(results[2]!.observed).toMatch(/3 echo request\(s\) to and 3 reply\(ies\) from mactainer1's MAC 02:42:0a:00:00:02, tagged 802\.1Q vlan 100/);
    expect(results[0]!.citation).toMatch(/003_0e0fcb137b8105a5\.txt "Connecting to existing networks"/);
  });
});

describe("MV-1 can fail and be unchecked", () => {
  it("fails on another parent", () => {
    const { model, inv } = liveModel();
    host0(model).networks!.find((n) => n.name === "macvlan100")!.options["parent"] = "ens3.200";
    const r = byId(model, inv, "MV-1");
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/docker0: macvlan100's parent is ens3\.200, not ens3\.100/);
  });

  it("fails without the network or the sub-interface, or with a sub-interface of another kind", () => {
    const a = liveModel();
    host0(a.model).networks = host0(a.model).networks!.filter((n) => n.name !== "macvlan100");
    expect(byId(a.model, a.inv, "MV-1").observed).toMatch(/docker0 has no network macvlan100/);
    const b = liveModel();
    hostNs(b.model).interfaces = hostNs(b.model).interfaces.filter((i) => i.name !== "ens3.100");
    expect(byId(b.model, b.inv, "MV-1").observed).toMatch(/docker0 has no interface ens3\.100/);
    const c = liveModel();
    hostNs(c.model).interfaces.find((i) => i.name === "ens3.100")!.kind = "macvlan";
    const r = byId(c.model, c.inv, "MV-1");
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/ens3\.100 is of kind macvlan, not vlan/);
  });

  it("fails when mactainer1's frames carry another tag on the wire", () => {
    const { model, inv } = liveModel();
    const s = sectionsOfModel(model)["capture"]!;
    s.output = s.output.replace(/(02:42:0a:00:00:02 > 52:54:00:28:ba:52, ethertype 802\.1Q \(0x8100\), length \d+): vlan 100/g, "$1: vlan 200");
    const r = byId(model, inv, "MV-1");
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/arrive on docker1 as 802\.1Q \(0x8100\) vlan 200, not 802\.1Q \(0x8100\) vlan 100/);
  });

  it("passes without the probe on the VLAN id, protocol and NIC the gather's ip -d link shows", () => {
    const { model, inv } = liveModel({ probe: false });
    model.probe = macvlanProbe.skipped("--no-traffic");
    const sub = hostNs(model).interfaces.find((i) => i.name === "ens3.100")!;
    expect(sub.vlan).toEqual({ id: 100, protocol: "802.1Q" });
    expect(sub.link).toBe("ens3");
    const r = byId(model, inv, "MV-1");
    expect(r.outcome).toBe("pass");
    expect(r.observed).toMatch(/ens3\.100 \(ifindex \d+\) is vlan 802\.1Q id 100 on ens3/);
  });

  it("fails on another VLAN id, protocol or NIC in the gather", () => {
    for (const [change, msg] of [
      [(i: { vlan?: { id: number; protocol?: string }; link?: string }) => (i.vlan = { id: 200, protocol: "802.1Q" }), /ens3\.100 has VLAN id 200, not 100/],
      [(i: { vlan?: { id: number; protocol?: string }; link?: string }) => (i.vlan = { id: 100, protocol: "802.1ad" }), /ens3\.100 uses 802\.1ad, not 802\.1Q/],
      [(i: { vlan?: { id: number; protocol?: string }; link?: string }) => (i.link = "ens4"), /ens3\.100 is stacked on ens4, not ens3/],
    ] as const) {
      const { model, inv } = liveModel();
      change(hostNs(model).interfaces.find((i) => i.name === "ens3.100")!);
      const r = byId(model, inv, "MV-1");
      expect(r.outcome).toBe("fail");
      expect(r.observed).toMatch(msg);
    }
  });

  it("is unchecked without the probe where the gather has no VLAN details, naming why", () => {
    const { model, inv } = liveModel({ probe: false });
    model.probe = macvlanProbe.skipped("--no-traffic");
    delete hostNs(model).interfaces.find((i) => i.name === "ens3.100")!.vlan;
    const r = byId(model, inv, "MV-1");
    expect(r.outcome).toBe("unchecked");
    expect(r.explanation).toMatch(/VLAN id and protocol: the gather did not show them and the probe did not run \(--no-traffic\)/);
  });

  it("is unchecked when the manager could not be gathered", () => {
    const { model, inv } = liveModel();
    host0(model).reachable = false;
    host0(model).error = "ssh: connect to host 192.168.122.10 port 22: Connection refused";
    const r = byId(model, inv, "MV-1");
    expect(r.outcome).toBe("unchecked");
    expect(r.explanation).toMatch(/docker0: ssh: connect to host/);
  });
});

describe("MV-2 can fail and be unchecked", () => {
  it("fails when the macvlan sits on another lower device", () => {
    const { model, inv } = liveModel();
    macvlanIface(model).peerIfindex = 2;
    const r = byId(model, inv, "MV-2");
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/mactainer1's eth0 \(macvlan\) has lower device ifindex 2, not ens3\.100 \(ifindex \d+\)/);
  });

  it("fails with the host NIC's MAC, or an address outside the ip-range", () => {
    const a = liveModel();
    macvlanIface(a.model).mac = "52:54:00:37:9e:71";
    expect(byId(a.model, a.inv, "MV-2").observed).toMatch(/has the host NIC's MAC 52:54:00:37:9e:71/);
    const b = liveModel();
    macvlanIface(b.model).addresses = macvlanIface(b.model).addresses.map((x) => (x.family === "inet" ? { ...x, local: "10.0.0.130" } : x));
    const r = byId(b.model, b.inv, "MV-2");
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/has 10\.0\.0\.130, outside the ip-range 10\.0\.0\.0\/25/);
  });

  it("fails when the interface is a veth or mactainer1 is gone", () => {
    const a = liveModel();
    macvlanIface(a.model).kind = "veth";
    expect(byId(a.model, a.inv, "MV-2").observed).toMatch(/has no macvlan interface \(lo: loopback, eth0: veth\)/);
    const b = liveModel();
    host0(b.model).containers = host0(b.model).containers!.filter((c) => c.name !== "mactainer1");
    const r = byId(b.model, b.inv, "MV-2");
    expect(r.outcome).toBe("fail");
    expect(r.observed).toBe("no host runs a container mactainer1");
  });

  it("is unchecked when mactainer1's namespace was not gathered", () => {
    const { model, inv } = liveModel();
    const ns = mactainerNs(model);
    host0(model).namespaces = host0(model).namespaces.filter((n) => n !== ns);
    const r = byId(model, inv, "MV-2");
    expect(r.outcome).toBe("unchecked");
    expect(r.explanation).toMatch(/mactainer1's namespace \(\/var\/run\/docker\/netns\/[0-9a-f]+\) is not in the gathered namespaces/);
  });
});

describe("MV-3 can fail and be unchecked", () => {
  it("fails when the ping gets no reply and the capture holds no reply (the bridge drops tagged frames)", () => {
    const { model, inv } = liveModel();
    const sec = sectionsOfModel(model);
    sec["ping"]!.output = sec["ping"]!.output.replace(/^64 bytes.*\n/gm, "").replace("3 received, 0% packet loss", "0 received, 100% packet loss");
    sec["ping"]!.rc = 1;
    sec["capture"]!.output = sec["capture"]!.output.split("\n").filter((l) => !l.includes("02:42:0a:00:00:02 > ")).join("\n");
    const r = byId(model, inv, "MV-3");
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/docker1: ping 10\.0\.0\.2 \(mactainer1\) got no reply \(3 sent, 0 received\)/);
    expect(r.observed).toMatch(/holds no echo reply from 02:42:0a:00:00:02 tagged 802\.1Q vlan 100/);
  });

  it("fails when the frames on the wire are untagged", () => {
    const { model, inv } = liveModel();
    const s = sectionsOfModel(model)["capture"]!;
    s.output = s.output.replace(/ethertype 802\.1Q \(0x8100\), length (\d+): vlan 100, p 0, ethertype IPv4 \(0x0800\), /g, "ethertype IPv4 (0x0800), length $1: ");
    const r = byId(model, inv, "MV-3");
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/holds no echo request to 02:42:0a:00:00:02 and no echo reply from 02:42:0a:00:00:02 tagged 802\.1Q vlan 100 \(it holds 8 frame\(s\) \(vlan 100, untagged;/);
  });

  it("fails when the peer's sub-interface is on another VLAN or has an address of the ip-range", () => {
    const a = liveModel();
    const s = sectionsOfModel(a.model)["peer-sub"]!;
    s.output = s.output.replace('"id":100', '"id":200');
    expect(byId(a.model, a.inv, "MV-3").observed).toMatch(/docker1: ens3\.100 is vlan id 200 802\.1Q, not vlan 802\.1Q id 100/);
    const b = liveModel();
    const t = sectionsOfModel(b.model)["peer-sub"]!;
    t.output = t.output.replace('"local":"10.0.0.200"', '"local":"10.0.0.100"');
    expect(byId(b.model, b.inv, "MV-3").observed).toMatch(/docker1: ens3\.100 has 10\.0\.0\.100\/24, none in 10\.0\.0\.0\/24 outside 10\.0\.0\.0\/25/);
  });

  it("is unchecked when tcpdump is missing or the probe could not run, skip when not asked", () => {
    const a = liveModel();
    const s = sectionsOfModel(a.model)["capture"]!;
    s.rc = 127;
    s.output = "";
    s.stderr = "bash: tcpdump: command not found";
    const r = byId(a.model, a.inv, "MV-3");
    expect(r.outcome).toBe("unchecked");
    expect(r.explanation).toMatch(/docker1: `tcpdump -enl -i <nic> 'vlan and \(arp or icmp\)'` is not installed/);
    const b = liveModel({ probe: false });
    b.model.probe = { kind: "not-run", outcome: "unchecked", reason: "docker1: ssh: connect to host 192.168.122.11 port 22: Connection refused" };
    expect(byId(b.model, b.inv, "MV-3")).toMatchObject({ outcome: "unchecked", explanation: expect.stringMatching(/Connection refused/) });
    const c = liveModel({ probe: false });
    c.model.probe = macvlanProbe.skipped("--no-traffic");
    expect(byId(c.model, c.inv, "MV-3").outcome).toBe("skip");
  });

  it("is unchecked when the setup failed (no sub-interface could be made)", () => {
    const { model, inv } = liveModel();
    const s = sectionsOfModel(model)["setup"]!;
    s.rc = 2;
    s.stderr = "RTNETLINK answers: Operation not supported";
    delete sectionsOfModel(model)["peer-sub"];
    const r = byId(model, inv, "MV-3");
    expect(r.outcome).toBe("unchecked");
    expect(r.explanation).toMatch(/failed with exit code 2: RTNETLINK answers: Operation not supported/);
  });
});
