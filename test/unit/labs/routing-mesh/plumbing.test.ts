import { describe, expect, it } from "vitest";
import { routingMesh } from "../../../../labs/routing-mesh";
import { routingMeshPlumbing } from "../../../../labs/routing-mesh/plumbing";
import { buildDot, linkId, withPlumbing } from "../../../../scripts/lib/diagram/diagram";
import { diagramFromModel } from "../../../../scripts/lib/diagram/from-model";
import type { HostModel, LabModel } from "../../../../scripts/lib/verify/model";
import { liveModel, TRIAL } from "./fixture";

const host = (m: LabModel, name: string): HostModel => m.hosts.find((h) => h.name === name)!;

describe("routing-mesh plumbing on the live recording", () => {
  it("notes the ingress ports on every node and the host-mode port on webhost's node", () => {
    const { model, inv } = liveModel();
    const p = routingMeshPlumbing(model, inv, TRIAL);
    expect(p.notes).toEqual({
      docker0: ["published 5100/tcp → web-h:80 (ingress; replica on docker1)", "published 5102/tcp → web2-h:80 (ingress; replicas on docker0, docker1)", "published 5101/tcp → webhost-h:80 (host mode: this node only)"],
      docker1: ["published 5100/tcp → web-h:80 (ingress; replica on docker1)", "published 5102/tcp → web2-h:80 (ingress; replicas on docker0, docker1)"],
    });
  });

  it("links each node's NIC into ingress_sbox's interface on the ingress network; the drawing accepts them", () => {
    const { model, inv } = liveModel();
    const p = routingMeshPlumbing(model, inv, TRIAL);
    expect(p.links.map(({ tooltip: _t, ...l }) => l)).toEqual(
      ["docker0", "docker1"].map((h) => ({ a: { host: h, namespace: "host", iface: "ens3" }, b: { host: h, namespace: "ingress_sbox", iface: "eth0" }, kind: "published", label: "5100/tcp, 5102/tcp → ingress_sbox" })),
    );
    expect(p.links[0]!.tooltip).toMatch(/VNI 4096/);
    const input = withPlumbing(diagramFromModel(model), p);
    const dot = buildDot(input);
    for (const l of p.links) expect(dot).toContain(`[id="${linkId(l)}"`);
    expect(dot).toContain("(host mode: this node only)");
  });

  it("the registered lab draws the documented services: the recording's are the -h trial's, so nothing", () => {
    const { model, inv } = liveModel();
    expect(routingMesh.plumbing!(model, inv)).toEqual({ links: [], notes: {} });
  });

  it("leaves out what the model lacks, without throwing", () => {
    // docker1 not gathered: no note or link there; web's replica (on docker1) is not seen, web2's one on docker0 is
    const { model, inv } = liveModel();
    Object.assign(host(model, "docker1"), { reachable: false, error: "connection refused", namespaces: [] });
    delete host(model, "docker1").containers;
    const p = routingMeshPlumbing(model, inv, TRIAL);
    expect(Object.keys(p.notes)).toEqual(["docker0"]);
    expect(p.notes["docker0"]).toEqual(["published 5102/tcp → web2-h:80 (ingress; replica on docker0)", "published 5101/tcp → webhost-h:80 (host mode: this node only)"]);
    expect(p.links.map((l) => [l.a.host, l.label])).toEqual([["docker0", "5102/tcp → ingress_sbox"]]);
    expect(() => buildDot(withPlumbing(diagramFromModel(model), p))).not.toThrow();

    // no ingress_sbox gathered, no networks: notes stay, no links
    const { model: m2 } = liveModel();
    for (const h of m2.hosts) h.namespaces = h.namespaces.filter((n) => n.kind !== "ingress_sbox");
    expect(routingMeshPlumbing(m2, inv, TRIAL).links).toEqual([]);
    const { model: m3 } = liveModel();
    for (const h of m3.hosts) delete h.networks;
    expect(routingMeshPlumbing(m3, inv, TRIAL).links).toEqual([]);

    // no running task of any service: nothing
    const { model: m4 } = liveModel();
    for (const h of m4.hosts) h.containers = h.containers!.filter((c) => !c.service?.startsWith("web"));
    expect(routingMeshPlumbing(m4, inv, TRIAL)).toEqual({ links: [], notes: {} });
    const empty: LabModel = { hosts: [], vethPairs: [], bridges: [], tunnels: [] };
    expect(routingMeshPlumbing(empty, inv, TRIAL)).toEqual({ links: [], notes: {} });
    expect(routingMeshPlumbing(empty, { ...inv, hosts: [] }, TRIAL)).toEqual({ links: [], notes: {} });
  });
});
