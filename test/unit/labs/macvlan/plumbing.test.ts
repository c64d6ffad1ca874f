import { describe, expect, it } from "vitest";
import { macvlan } from "../../../../labs/macvlan";
import { macvlanPlumbing } from "../../../../labs/macvlan/plumbing";
import { buildDot, linkId, withPlumbing } from "../../../../scripts/lib/diagram/diagram";
import { diagramFromModel } from "../../../../scripts/lib/diagram/from-model";
import type { HostModel, LabModel, Namespace } from "../../../../scripts/lib/verify/model";
import { liveModel } from "./helpers";

const host = (m: LabModel, name: string): HostModel => m.hosts.find((h) => h.name === name)!;
const hostNs = (m: LabModel, name: string): Namespace => host(m, name).namespaces.find((n) => n.kind === "host")!;
const mactainerNs = (m: LabModel): Namespace => host(m, "docker0").namespaces.find((n) => n.task?.containerName === "mactainer1")!;

describe("macvlan plumbing on the recorded lab", () => {
  it("links ens3.100 to ens3 (tag 100) and mactainer1's macvlan to ens3.100 with its MAC; the drawing accepts them", () => {
    const { model, inv } = liveModel();
    const p = macvlan.plumbing!(model, inv);
    expect(p.notes).toEqual({});
    expect(p.links.map(({ tooltip: _t, ...l }) => l)).toEqual([
      { a: { host: "docker0", namespace: "host", iface: "ens3.100" }, b: { host: "docker0", namespace: "host", iface: "ens3" }, kind: "vlan", label: "802.1Q tag 100" },
      { a: { host: "docker0", namespace: mactainerNs(model).id, iface: "eth0" }, b: { host: "docker0", namespace: "host", iface: "ens3.100" }, kind: "macvlan", label: "macvlan (bridge mode) · 02:42:0a:00:00:02" },
    ]);
    expect(p.links[1]!.tooltip).toMatch(/mactainer1's eth0 is a macvlan on ens3\.100 \(network macvlan100, bridge mode\)/);
    const dot = buildDot(withPlumbing(diagramFromModel(model), p));
    for (const l of p.links) expect(dot).toContain(`[id="${linkId(l)}"`);
  });

  it("names the network's own macvlan_mode when it sets one", () => {
    const { model } = liveModel();
    host(model, "docker0").networks!.find((n) => n.name === "macvlan100")!.options["macvlan_mode"] = "private";
    expect(macvlanPlumbing(model).links[1]!.label).toBe("macvlan (private mode) · 02:42:0a:00:00:02");
  });

  it("draws the other host's sub-interface too when it has one", () => {
    const { model } = liveModel();
    hostNs(model, "docker1").interfaces.push({ name: "ens3.100", ifindex: 90, kind: "vlan", mtu: 1500, flags: [], addresses: [] });
    expect(macvlanPlumbing(model).links.filter((l) => l.kind === "vlan").map((l) => l.a.host)).toEqual(["docker0", "docker1"]);
  });

  it("leaves out what the model lacks or contradicts, without throwing", () => {
    const cases: Record<string, [(m: LabModel) => void, string[]]> = {
      "no mactainer1": [(m) => void (host(m, "docker0").containers = []), ["vlan"]],
      "its namespace not gathered": [(m) => void (host(m, "docker0").namespaces = host(m, "docker0").namespaces.filter((n) => n !== mactainerNs(m))), ["vlan"]],
      "its lower device is another interface": [(m) => void (mactainerNs(m).interfaces.find((i) => i.name === "eth0")!.peerIfindex = 2), ["vlan"]],
      "no macvlan interface": [(m) => void (mactainerNs(m).interfaces.find((i) => i.name === "eth0")!.kind = "veth"), ["vlan"]],
      "ens3.100 is not a vlan": [(m) => void (hostNs(m, "docker0").interfaces.find((i) => i.name === "ens3.100")!.kind = "dummy"), []],
      "no ens3.100": [(m) => void (hostNs(m, "docker0").interfaces = hostNs(m, "docker0").interfaces.filter((i) => i.name !== "ens3.100")), []],
      "no NIC holding the address": [(m) => void (host(m, "docker0").address = "192.168.122.99"), []],
      "docker0 unreachable": [(m) => void Object.assign(host(m, "docker0"), { reachable: false, error: "refused", namespaces: [], containers: undefined }), []],
      "no hosts": [(m) => void (m.hosts = []), []],
    };
    for (const [what, [alter, kinds]] of Object.entries(cases)) {
      const { model } = liveModel();
      alter(model);
      const p = macvlanPlumbing(model);
      expect(p.links.map((l) => l.kind), what).toEqual(kinds);
      // (a drawing needs a host: buildDot refuses an empty one, whatever the plumbing)
      expect(() => (model.hosts.length ? buildDot(withPlumbing(diagramFromModel(model), p)) : withPlumbing(diagramFromModel(model), p)), what).not.toThrow();
    }
  });
});
