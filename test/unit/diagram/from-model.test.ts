import * as fs from "node:fs";
import * as path from "node:path";
import { XMLValidator } from "fast-xml-parser";
import { beforeAll, describe, expect, it } from "vitest";
import { loadRaw } from "../../../scripts/lib/verify/gather";
import { validateInventory } from "../../../scripts/lib/verify/inventory";
import { buildModel, type HostModel, type LabModel } from "../../../scripts/lib/verify/model";
import type { VerifyReport } from "../../../scripts/lib/verify/report";
import { ifaceId, loadDiagramRenderer, nsId, vethId, type DiagramRenderer } from "../../../scripts/lib/diagram/diagram";
import { diagramFromModel, htmlFormatter, looksLikeLabModel } from "../../../scripts/lib/diagram/from-model";
import { trafficPlanFromModel } from "../../../labs/swarm-overlay/probes";
import { buildTrafficScript } from "../../../labs/swarm-overlay/traffic";
import { LAB_PLAN } from "../lab-values";

let renderer: DiagramRenderer;
beforeAll(async () => {
  renderer = await loadDiagramRenderer();
});

function host(name: string, address: string, extra: Partial<HostModel> = {}): HostModel {
  return { name, address, role: "worker", reachable: true, execLinks: {}, execRoutes: {}, namespaces: [], issues: [], gatherProblems: [], ...extra };
}

/** A small hand-built model: one host with a task, its overlay and the host namespace; one unreachable host. */
function smallModel(): LabModel {
  const h0 = host("docker0", "192.168.122.10", { role: "manager" });
  h0.namespaces = [
    {
      id: "host",
      host: "docker0",
      kind: "host",
      routes: [],
      nsids: {},
      issues: [],
      interfaces: [
        { name: "ens3", ifindex: 2, kind: "device", mtu: 1500, flags: [], addresses: [{ family: "inet", local: "192.168.122.10", prefixlen: 24 }, { family: "inet6", local: "fe80::1", prefixlen: 64, scope: "link" }] },
        { name: "docker_gwbridge", ifindex: 4, kind: "bridge", mtu: 1500, flags: [], addresses: [{ family: "inet", local: "172.18.0.1", prefixlen: 16 }] },
        { name: "veth0c4d246", ifindex: 16, kind: "veth", mtu: 1500, flags: [], master: "docker_gwbridge", addresses: [] },
      ],
    },
    {
      id: "1-t7zfankbs8",
      host: "docker0",
      kind: "overlay",
      network: { name: "demonet", id: "t7zfankbs8hm17bi65g0fr4zi" },
      routes: [],
      nsids: {},
      issues: [],
      interfaces: [
        { name: "br0", ifindex: 2, kind: "bridge", mtu: 1450, flags: [], addresses: [{ family: "inet", local: "192.168.200.1", prefixlen: 24 }] },
        { name: "vxlan0", ifindex: 12, kind: "vxlan", mtu: 1450, flags: [], master: "br0", addresses: [], vxlan: { id: 4097, dstport: 4789, proxy: true, l2miss: true, l3miss: true, learning: false } },
        { name: "veth0", ifindex: 13, kind: "veth", mtu: 1450, flags: [], master: "br0", addresses: [] },
      ],
    },
    {
      id: "f9f4ceb4012b",
      host: "docker0",
      kind: "sandbox",
      task: { containerId: "0252f5d8ee9a", containerName: "/demoservice.1.dxug6j2lijsr88d9hvugkm8bl", taskName: "demoservice.1.dxug6j2lijsr88d9hvugkm8bl" },
      routes: [],
      nsids: {},
      issues: [],
      interfaces: [
        { name: "eth0", ifindex: 14, kind: "veth", mtu: 1450, flags: [], addresses: [{ family: "inet", local: "192.168.200.3", prefixlen: 24 }] },
        { name: "eth1", ifindex: 15, kind: "veth", mtu: 1500, flags: [], addresses: [{ family: "inet", local: "172.18.0.3", prefixlen: 16 }] },
      ],
    },
  ];
  const ref = (ns: string, ifname: string, ifindex: number) => ({ host: "docker0", namespace: ns, ifname, ifindex });
  return {
    hosts: [h0, host("docker1", "192.168.122.11", { reachable: false, error: "connect ECONNREFUSED 192.168.122.11:22" })],
    vethPairs: [
      { a: ref("f9f4ceb4012b", "eth0", 14), b: ref("1-t7zfankbs8", "veth0", 13), confirmed: true },
      { a: ref("f9f4ceb4012b", "eth1", 15), b: ref("host", "veth0c4d246", 16), confirmed: true },
    ],
    bridges: [],
    tunnels: [{ network: { name: "demonet", id: "t7zfankbs8hm17bi65g0fr4zi" }, vni: 4097, endpoints: [{ host: "docker0", namespace: "1-t7zfankbs8", ifname: "vxlan0", vni: 4097, underlay: "192.168.122.10" }] }],
  };
}

describe("diagramFromModel on a hand-built model", () => {
  const d = diagramFromModel(smallModel(), { title: "small" });
  it("maps namespaces, kinds and labels", () => {
    expect(d.title).toBe("small");
    expect(d.hosts[0]!.namespaces.map((n) => [n.id, n.kind, n.label])).toEqual([
      ["host", "host", "host namespace"],
      ["1-t7zfankbs8", "overlay", "demonet overlay"],
      ["f9f4ceb4012b", "task", "task demoservice.1.dxug6j2lijsr"],
    ]);
  });
  it("keeps IPv4 and drops link-local IPv6; carries vxlan id and port", () => {
    expect(d.hosts[0]!.namespaces[0]!.interfaces[0]).toEqual({ name: "ens3", ifindex: 2, kind: "device", mtu: 1500, addresses: ["192.168.122.10/24"] });
    expect(d.hosts[0]!.namespaces[1]!.interfaces[1]!.vxlan).toEqual({ id: 4097, port: 4789 });
  });
  it("maps veth pairs and shows an unreachable host with its error", () => {
    expect(d.vethPairs).toEqual([
      { a: { host: "docker0", namespace: "f9f4ceb4012b", iface: "eth0" }, b: { host: "docker0", namespace: "1-t7zfankbs8", iface: "veth0" } },
      { a: { host: "docker0", namespace: "f9f4ceb4012b", iface: "eth1" }, b: { host: "docker0", namespace: "host", iface: "veth0c4d246" } },
    ]);
    expect(d.hosts[1]!.namespaces).toEqual([{ id: "unreachable", kind: "other", label: "not gathered: connect ECONNREFUSED 192.168.122.11:22", interfaces: [] }]);
    // a tunnel with one reachable end is not drawn between hosts
    expect(d.tunnels).toEqual([]);
  });
  it("renders", () => {
    const svg = renderer.renderSvg(d);
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(svg).toContain(`id="${vethId(d.vethPairs[0]!)}"`);
    expect(svg).toContain("not gathered: connect ECONNREFUSED 192.168.122.11:22");
  });
  it("tells a LabModel from a DiagramInput", () => {
    expect(looksLikeLabModel(JSON.parse(JSON.stringify(smallModel())))).toBe(true);
    expect(looksLikeLabModel(d)).toBe(false);
    expect(looksLikeLabModel(JSON.parse(fs.readFileSync(path.join(__dirname, "../../fixtures/plumbing/lab-docker2010.json"), "utf8")))).toBe(false);
    expect(looksLikeLabModel(null)).toBe(false);
  });
});

describe("diagramFromModel on verify's live-like fixtures (gathered from the netns emulation)", () => {
  const dir = path.join(__dirname, "../../fixtures/verify/live-like");
  const inv = validateInventory(JSON.parse(fs.readFileSync(path.join(dir, "inventory.json"), "utf8")), { checkKeyFile: false });
  const model = buildModel(loadRaw(path.join(dir, "json"), inv), inv);

  it("draws every gathered namespace and every resolved veth pair", () => {
    const d = diagramFromModel(model);
    const svg = renderer.renderSvg(d);
    expect(XMLValidator.validate(svg)).toBe(true);
    let namespaces = 0;
    for (const h of model.hosts) {
      for (const ns of h.namespaces) {
        namespaces++;
        expect(svg, `${h.name}/${ns.id}`).toContain(`id="${nsId(h.name, ns.id)}"`);
      }
    }
    expect(namespaces).toBeGreaterThanOrEqual(12);
    expect(model.vethPairs.length).toBeGreaterThanOrEqual(10);
    for (const p of model.vethPairs) {
      const id = vethId({ a: { host: p.a.host, namespace: p.a.namespace, iface: p.a.ifname }, b: { host: p.b.host, namespace: p.b.namespace, iface: p.b.ifname } });
      expect(svg, id).toContain(`id="${id}"`);
    }
    expect(svg).toMatch(/VNI 4096 \(ingress\) · UDP 4789/);
    expect(svg).toMatch(/VNI 4097 \(demonet\) · UDP 4789/);
    // the underlay NIC is found by the host's address
    const nic = model.hosts[0]!.namespaces.find((n) => n.kind === "host")!.interfaces.find((i) => i.addresses.some((a) => a.local === model.hosts[0]!.address))!;
    expect(svg).toContain(`id="${ifaceId(model.hosts[0]!.name, "host", nic.name)}"`);
  });

  it("fills a PATH-1..4 plan from the model: task container, peer task address, underlay NIC", () => {
    const { host, plan } = trafficPlanFromModel(inv, model);
    expect(host).toBe("docker0");
    const docker0Task = model.hosts[0]!.namespaces.find((n) => n.kind === "sandbox")!;
    expect(plan).toMatchObject({
      ...LAB_PLAN,
      underlayNic: "enp1s0",
      container: docker0Task.task!.containerId,
    });
    expect(() => buildTrafficScript(plan)).not.toThrow();
    expect(trafficPlanFromModel(inv, model, { from: "docker1" }).plan).toMatchObject({ localAddress: "192.168.122.11", peerAddress: "192.168.122.10", peerTaskAddress: "192.168.200.3" });
  });

  it("gives verify an html format", () => {
    const report: VerifyReport = {
      lab: "swarm-overlay",
      stack: "emu",
      generatedAt: "2025-01-01T00:00:00.000Z",
      results: [
        { id: "VXLAN-1", title: "demonet vxlan", seed: "004", citation: "004", outcome: "pass", expected: "id 4097", observed: "id 4097", details: [] },
        { id: "SB-2", title: "VIP on eth0", seed: "000", section: "How does my container talk to stuff?", citation: "000", outcome: "changed", expected: "on eth0", observed: "in lb_", explanation: "newer engines", details: ["docker0: lb_k3b7x2n9q eth0"] },
      ],
      summary: { total: 2, pass: 1, fail: 0, changed: 1, skip: 0, unchecked: 0 },
      timings: { gatherSeconds: 1, modelSeconds: 0, checkSeconds: 0, totalSeconds: 1 },
      sshSessions: 2,
      hosts: [{ name: "docker0", address: "192.168.122.10", reachable: true, problems: [] }],
      model,
    };
    const html = htmlFormatter(renderer)(report);
    expect(html).toContain('<tr class="changed" id="fact-SB-2">');
    expect(html).toContain("<dt>summary</dt><dd>1 pass, 1 changed, 0 fail, 0 could not check, 0 skip (of 2)</dd>");
    expect(html.match(/<svg\b/g)).toHaveLength(1);
    expect(html.replace(/\sxmlns(:\w+)?="[^"]*"/g, "")).not.toMatch(/https?:/);
    const { model: _, ...noModel } = report;
    expect(htmlFormatter(renderer)(noModel)).toContain("No diagram");
  });
});
