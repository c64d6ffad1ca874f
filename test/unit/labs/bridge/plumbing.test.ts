import { describe, expect, it } from "vitest";
import { bridge } from "../../../../labs/bridge";
import { bridgePlumbing } from "../../../../labs/bridge/plumbing";
import { buildDot, linkId, withPlumbing } from "../../../../scripts/lib/diagram/diagram";
import { diagramFromModel } from "../../../../scripts/lib/diagram/from-model";
import type { HostModel, LabModel } from "../../../../scripts/lib/verify/model";
import { clone, INV, LIVE_NAMES, liveModel } from "./helpers";

const BASE = liveModel();
const docker0 = (m: LabModel): HostModel => m.hosts.find((h) => h.name === "docker0")!;
const webNs = (m: LabModel) => docker0(m).namespaces.find((n) => n.task?.containerName === LIVE_NAMES.web)!;

describe("bridge plumbing on the live lab's gather", () => {
  it("notes web's published port on the manager and links the host's NIC to web's eth0", () => {
    const p = bridgePlumbing(BASE, INV, LIVE_NAMES);
    expect(p.notes).toEqual({ docker0: ["published 5187/tcp → web-h:80 (docker-proxy/iptables DNAT)"] });
    expect(p.links).toEqual([
      {
        a: { host: "docker0", namespace: "host", iface: "ens3" },
        b: { host: "docker0", namespace: webNs(BASE).id, iface: "eth0" },
        kind: "published",
        label: "5187/tcp → 80",
        tooltip: expect.stringMatching(/^0\.0\.0\.0:5187 on docker0 \(ens3 192\.168\.122\.10\) is forwarded to web-h's eth0 172\.21\.0\.3:80 on localnet-h/),
      },
    ]);
    const input = withPlumbing(diagramFromModel(BASE), p);
    expect(input.hosts.find((h) => h.name === "docker0")!.notes).toEqual(p.notes["docker0"]);
    const dot = buildDot(input);
    expect(dot).toContain(`[id="${linkId(p.links[0]!)}"`);
    expect(dot).toContain("published 5187/tcp → web-h:80");
  });

  it("the registered lab draws the documented names: the -h trial has no web, so nothing", () => {
    expect(bridge.plumbing!(BASE, INV)).toEqual({ links: [], notes: {} });
    const m = clone(BASE);
    const web = docker0(m).containers!.find((c) => c.name === LIVE_NAMES.web)!;
    web.name = "web";
    web.networks[0]!.name = "localnet";
    const p = bridge.plumbing!(m, INV);
    expect(p.notes).toEqual({ docker0: ["published 5000/tcp → web:80 (docker-proxy/iptables DNAT)"] });
    expect(p.links.map((l) => l.label)).toEqual(["5000/tcp → 80"]);
  });

  it("keeps the note without a link when web's namespace or the host's NIC is not in the model", () => {
    const noNs = clone(BASE);
    docker0(noNs).namespaces = docker0(noNs).namespaces.filter((n) => n !== webNs(noNs));
    const p = bridgePlumbing(noNs, INV, LIVE_NAMES);
    expect(p.links).toEqual([]);
    expect(p.notes["docker0"]).toHaveLength(1);
    expect(() => buildDot(withPlumbing(diagramFromModel(noNs), p))).not.toThrow();
    const noNic = clone(BASE);
    docker0(noNic).address = "192.168.122.99";
    expect(bridgePlumbing(noNic, INV, LIVE_NAMES).links).toEqual([]);
  });

  it("draws nothing, and does not throw, when the model lacks web or the manager", () => {
    const noWeb = clone(BASE);
    docker0(noWeb).containers = docker0(noWeb).containers!.filter((c) => c.name !== LIVE_NAMES.web);
    const noContainers = clone(BASE);
    delete docker0(noContainers).containers;
    const down = clone(BASE);
    Object.assign(docker0(down), { reachable: false, error: "connection refused", namespaces: [] });
    const empty: LabModel = { hosts: [], vethPairs: [], bridges: [], tunnels: [] };
    for (const m of [noWeb, noContainers, down, empty]) {
      const p = bridgePlumbing(m, INV, LIVE_NAMES);
      expect(p).toEqual({ links: [], notes: {} });
      expect(() => withPlumbing(diagramFromModel(m), p)).not.toThrow();
    }
    expect(bridgePlumbing(BASE, { ...INV, hosts: [] }, LIVE_NAMES)).toEqual({ links: [], notes: {} });
  });
});
