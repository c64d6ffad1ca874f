import { describe, expect, it } from "vitest";
import { encryptedOverlay } from "../../../../labs/encrypted-overlay";
import { encryptedOverlayPlumbing } from "../../../../labs/encrypted-overlay/plumbing";
import { buildDot, linkId, withPlumbing } from "../../../../scripts/lib/diagram/diagram";
import { diagramFromModel } from "../../../../scripts/lib/diagram/from-model";
import type { HostModel, LabModel } from "../../../../scripts/lib/verify/model";
import { fixtureModel, INVENTORY } from "./fixture-model";

const host = (m: LabModel, name: string): HostModel => m.hosts.find((h) => h.name === name)!;
const uberNet = (m: LabModel, name: string) => host(m, name).networks!.find((n) => n.name === "uber-net")!;

describe("encrypted-overlay plumbing on the live lab's networks", () => {
  it("links the two hosts' underlay NICs with ESP, naming uber-net, its VNI and the AEAD; the drawing accepts it", () => {
    const model = fixtureModel();
    const p = encryptedOverlay.plumbing!(model, INVENTORY);
    expect(p.notes).toEqual({});
    expect(p.links).toEqual([
      {
        a: { host: "docker0", namespace: "host", iface: "ens3" },
        b: { host: "docker1", namespace: "host", iface: "ens3" },
        kind: "esp",
        label: "IPsec ESP · uber-net (VNI 4101) · rfc4106(gcm(aes))",
        tooltip: expect.stringMatching(/between 192\.168\.122\.10 and 192\.168\.122\.11 travels inside IPsec ESP \(IP protocol 50\)/),
      },
    ]);
    const dot = buildDot(withPlumbing(diagramFromModel(model), p));
    expect(dot).toContain(`[id="${linkId(p.links[0]!)}"`);
    expect(dot).toContain("IPsec ESP · uber-net (VNI 4101)");
  });

  it("leaves the VNI out when the option holding it is missing", () => {
    const model = fixtureModel();
    for (const h of ["docker0", "docker1"]) delete uberNet(model, h).options["com.docker.network.driver.overlay.vxlanid_list"];
    expect(encryptedOverlayPlumbing(model, INVENTORY).links.map((l) => l.label)).toEqual(["IPsec ESP · uber-net · rfc4106(gcm(aes))"]);
  });

  it("draws nothing, without throwing, unless uber-net is encrypted on both hosts and both NICs are known", () => {
    const cases: Record<string, (m: LabModel) => void> = {
      "not encrypted on docker1": (m) => void delete uberNet(m, "docker1").options["encrypted"],
      "no uber-net on docker0": (m) => void (host(m, "docker0").networks = host(m, "docker0").networks!.filter((n) => n.name !== "uber-net")),
      "networks not gathered": (m) => void delete host(m, "docker1").networks,
      "docker1 unreachable": (m) => void Object.assign(host(m, "docker1"), { reachable: false, error: "timed out", namespaces: [] }),
      "docker down": (m) => void (host(m, "docker0").dockerDown = "the Docker engine is not running"),
      "no NIC": (m) => void (host(m, "docker0").namespaces = []),
      "no hosts": (m) => void (m.hosts = []),
    };
    for (const [what, alter] of Object.entries(cases)) {
      const m = fixtureModel();
      alter(m);
      const p = encryptedOverlayPlumbing(m, INVENTORY);
      expect(p, what).toEqual({ links: [], notes: {} });
      expect(() => withPlumbing(diagramFromModel(m), p)).not.toThrow();
    }
    expect(encryptedOverlayPlumbing(fixtureModel(), { ...INVENTORY, hosts: [INVENTORY.hosts[0]!] })).toEqual({ links: [], notes: {} });
    expect(encryptedOverlayPlumbing(fixtureModel(), { ...INVENTORY, hosts: [] })).toEqual({ links: [], notes: {} });
  });
});
