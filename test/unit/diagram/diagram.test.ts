import * as fs from "node:fs";
import * as path from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { beforeAll, describe, expect, it } from "vitest";
import {
  buildDot,
  deriveTunnels,
  DiagramInputError,
  ifaceId,
  loadDiagramRenderer,
  nsId,
  renderHtmlReport,
  underlayOf,
  validateDiagramInput,
  vethId,
  type DiagramInput,
  type DiagramRenderer,
  type ReportFact,
} from "../../../scripts/lib/diagram/diagram";

const FIX = path.join(__dirname, "../../fixtures/plumbing");
const loadLab = (): DiagramInput => JSON.parse(fs.readFileSync(path.join(FIX, "lab-docker2010.json"), "utf8")) as DiagramInput;

// ------------------------------------------------------- SVG inspection ----

interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}
interface SvgGroup {
  id: string;
  cls: string;
  texts: string[];
}

type XmlNode = Record<string, unknown>;

/** Every <g> of the SVG with an id and a class, with the texts drawn inside it. */
function svgGroups(svg: string): Map<string, SvgGroup> {
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: "@", preserveOrder: true, trimValues: false });
  const tree = parser.parse(svg) as XmlNode[];
  const groups = new Map<string, SvgGroup>();
  const walk = (nodes: XmlNode[], open: SvgGroup[]): void => {
    for (const n of nodes) {
      const tag = Object.keys(n).find((k) => k !== ":@")!;
      const attrs = (n[":@"] ?? {}) as Record<string, string>;
      const children = n[tag];
      let stack = open;
      if (tag === "g" && attrs["@id"] && attrs["@class"]) {
        const g: SvgGroup = { id: attrs["@id"], cls: attrs["@class"], texts: [] };
        groups.set(g.id, g);
        stack = [...open, g];
      }
      if (tag === "text" && Array.isArray(children)) {
        const t = children.map((c) => String((c as { "#text"?: unknown })["#text"] ?? "")).join("");
        for (const g of stack) g.texts.push(t);
      }
      if (Array.isArray(children)) walk(children as XmlNode[], stack);
    }
  };
  walk(tree, []);
  return groups;
}

interface Layout {
  /** Node boxes by node name (= our ids), cluster boxes by cluster name without "cluster_". */
  nodes: Map<string, Box>;
  clusters: Map<string, Box>;
  /** Label boxes of edges, by edge id. */
  edgeLabels: Map<string, Box>;
}

/** The geometry Graphviz computed (its JSON output for the same DOT). */
function layoutOf(json: { objects: { name: string; pos?: string; width?: string; height?: string; bb?: string }[]; edges?: { id?: string; lp?: string; _ldraw_?: { op: string; points?: number[][] }[] }[] }): Layout {
  const nodes = new Map<string, Box>();
  const clusters = new Map<string, Box>();
  const edgeLabels = new Map<string, Box>();
  for (const o of json.objects) {
    if (o.bb && o.name.startsWith("cluster_")) {
      const [x0, y0, x1, y1] = o.bb.split(",").map(Number) as [number, number, number, number];
      clusters.set(o.name.slice("cluster_".length), { x0, y0, x1, y1 });
    } else if (o.pos && o.width && o.height) {
      const [x, y] = o.pos.split(",").map(Number) as [number, number];
      const w = (Number(o.width) * 72) / 2;
      const h = (Number(o.height) * 72) / 2;
      nodes.set(o.name, { x0: x - w, y0: y - h, x1: x + w, y1: y + h });
    }
  }
  for (const e of json.edges ?? []) {
    const poly = e._ldraw_?.find((d) => d.op === "P" && d.points);
    if (e.id && poly?.points) {
      const xs = poly.points.map((p) => p[0]!);
      const ys = poly.points.map((p) => p[1]!);
      edgeLabels.set(e.id, { x0: Math.min(...xs), y0: Math.min(...ys), x1: Math.max(...xs), y1: Math.max(...ys) });
    }
  }
  return { nodes, clusters, edgeLabels };
}

function overlaps(a: Box, b: Box): boolean {
  return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1;
}
function inside(a: Box, b: Box): boolean {
  return a.x0 >= b.x0 && a.x1 <= b.x1 && a.y0 >= b.y0 && a.y1 <= b.y1;
}

// ------------------------------------------------------------------ tests ----

let renderer: DiagramRenderer;
let lab: DiagramInput;
let svg: string;
let groups: Map<string, SvgGroup>;
let layout: Layout;

beforeAll(async () => {
  renderer = await loadDiagramRenderer();
  lab = loadLab();
  svg = renderer.renderSvg(lab);
  groups = svgGroups(svg);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const viz = await (require("@viz-js/viz") as { instance(): Promise<{ renderJSON(dot: string): object }> }).instance();
  layout = layoutOf(viz.renderJSON(buildDot(lab)) as Parameters<typeof layoutOf>[0]);
});

describe("the example lab (Docker 20.10, two hosts)", () => {
  it("is a consistent input", () => {
    expect(() => validateDiagramInput(lab)).not.toThrow();
    expect(lab.hosts.map((h) => h.namespaces.length)).toEqual([6, 6]);
    expect(lab.vethPairs).toHaveLength(10);
  });

  it("derives the tunnels from the vxlan interfaces: ingress 4096 and demonet 4097, UDP 4789, on both hosts", () => {
    const t = deriveTunnels(lab);
    expect(t.map((x) => [x.vni, x.port, x.network])).toEqual([
      [4096, 4789, "ingress"],
      [4097, 4789, "demonet"],
    ]);
    for (const x of t) expect(x.endpoints.map((e) => e.host)).toEqual(["docker0", "docker1"]);
    expect(underlayOf(lab.hosts[0]!)?.iface.name).toBe("ens3");
  });

  it("renders SVG that parses as XML", () => {
    expect(svg.startsWith("<svg")).toBe(true);
    expect(XMLValidator.validate(svg)).toBe(true);
  });

  it("draws every namespace of the input as a box, with its name", () => {
    for (const host of lab.hosts) {
      for (const ns of host.namespaces) {
        const g = groups.get(nsId(host.name, ns.id));
        expect(g, `${host.name}/${ns.id}`).toBeDefined();
        expect(g!.cls).toContain("namespace");
        expect(g!.cls).toContain(`ns-${ns.kind}`);
        // its title: a node inside the box
        const title = groups.get(`${nsId(host.name, ns.id)}.title`)!;
        expect(title.texts).toContain(ns.kind === "host" ? "host" : ns.id);
        if (ns.label) expect(title.texts).toContain(ns.label);
        expect(inside(layout.nodes.get(`${nsId(host.name, ns.id)}.title`)!, layout.clusters.get(nsId(host.name, ns.id))!)).toBe(true);
      }
      expect(groups.get(`host.${host.name}.title`)?.texts.join(" ")).toContain(host.address!);
    }
  });

  it("draws every interface but lo with its name, addresses and MTU inside its namespace", () => {
    for (const host of lab.hosts) {
      for (const ns of host.namespaces) {
        const nsBox = layout.clusters.get(nsId(host.name, ns.id))!;
        for (const i of ns.interfaces) {
          const g = groups.get(ifaceId(host.name, ns.id, i.name));
          if (i.name === "lo") {
            expect(g).toBeUndefined();
            continue;
          }
          expect(g, `${host.name}/${ns.id}/${i.name}`).toBeDefined();
          const text = g!.texts.join(" ");
          expect(text).toContain(i.name);
          for (const a of i.addresses ?? []) expect(text).toContain(a);
          expect(text).toContain(`mtu ${i.mtu}`);
          expect(inside(layout.nodes.get(ifaceId(host.name, ns.id, i.name))!, nsBox), `${i.name} inside ${ns.id}`).toBe(true);
        }
      }
    }
  });

  it("draws every veth pair as one edge", () => {
    const edges = [...groups.values()].filter((g) => g.cls === "edge veth");
    expect(edges).toHaveLength(lab.vethPairs.length);
    for (const p of lab.vethPairs) expect(groups.get(vethId(p))?.cls, vethId(p)).toBe("edge veth");
    expect(svg).toContain('xlink:title="veth pair docker0:f9f4ceb4012b:eth0 &lt;-&gt; docker0:1-t7zfankbs8:veth0"');
  });

  it("draws bridges around their members", () => {
    for (const [host, ns, br, members] of [
      ["docker0", "1-t7zfankbs8", "br0", ["vxlan0", "veth0", "veth1"]],
      ["docker0", "host", "docker_gwbridge", ["veth5c2b1f0", "veth0c4d246"]],
      ["docker1", "1-wi6xp5jnpk", "br0", ["vxlan0", "veth0"]],
    ] as const) {
      const cluster = groups.get(`bridge.${host}.${ns}.${br}`);
      expect(cluster?.cls).toBe("cluster bridge");
      const box = layout.clusters.get(`bridge.${host}.${ns}.${br}`)!;
      for (const m of [...members, br]) expect(inside(layout.nodes.get(ifaceId(host, ns, m))!, box), `${m} in ${br}`).toBe(true);
      expect(groups.get(ifaceId(host, ns, br))?.texts.join(" ")).toMatch(new RegExp(`${br}.*bridge`));
    }
    // docker0 (the bridge) has no members: drawn as a plain interface
    expect(groups.get("bridge.docker0.host.docker0")).toBeUndefined();
    expect(groups.get(ifaceId("docker0", "host", "docker0"))?.texts.join(" ")).toContain("172.17.0.1/16");
  });

  it("draws the VXLAN tunnel between the underlay NICs, labelled with VNIs and UDP port", () => {
    const t = groups.get("tunnel.docker0.docker1");
    expect(t?.cls).toBe("edge tunnel");
    expect(t!.texts).toEqual(["VXLAN tunnel", "VNI 4096 (ingress) · UDP 4789", "VNI 4097 (demonet) · UDP 4789"]);
    expect(svg).toContain('xlink:title="VXLAN docker0 ens3 &lt;-&gt; docker1 ens3: VNI 4096 (ingress) · UDP 4789; VNI 4097 (demonet) · UDP 4789"');
    // and each vxlan device to its host's NIC
    for (const h of ["docker0", "docker1"]) for (const ns of ["1-t7zfankbs8", "1-wi6xp5jnpk"]) expect(groups.get(`encap.${h}.${ns}.vxlan0`)?.cls).toBe("edge encap");
  });

  it("has no overlapping boxes, and the tunnel label sits between the hosts (Graphviz's own geometry)", () => {
    const nodes = [...layout.nodes].filter(([name]) => !name.startsWith("rank."));
    expect(nodes.length).toBe(34 + 12 + 2); // interfaces (bridges included), namespace titles, host titles
    for (let i = 0; i < nodes.length; i++) {
      for (let j = i + 1; j < nodes.length; j++) expect(overlaps(nodes[i]![1], nodes[j]![1]), `${nodes[i]![0]} / ${nodes[j]![0]}`).toBe(false);
    }
    const hostBox = (h: string): Box => layout.clusters.get(`host.${h}`)!;
    for (const host of lab.hosts) {
      const nss = host.namespaces.map((n) => [n.id, layout.clusters.get(nsId(host.name, n.id))!] as const);
      for (let i = 0; i < nss.length; i++) for (let j = i + 1; j < nss.length; j++) expect(overlaps(nss[i]![1], nss[j]![1]), `${nss[i]![0]} / ${nss[j]![0]}`).toBe(false);
      for (const [, box] of nss) expect(inside(box, hostBox(host.name))).toBe(true);
    }
    expect(overlaps(hostBox("docker0"), hostBox("docker1"))).toBe(false);
    // Graphviz's y axis points up: docker0 (first) is above docker1
    const label = layout.edgeLabels.get("tunnel.docker0.docker1")!;
    expect(label.y1 < hostBox("docker0").y0 && label.y0 > hostBox("docker1").y1).toBe(true);
    for (const [name, box] of nodes) expect(overlaps(label, box), name).toBe(false);
  });

  it("is self-contained: no scripts, no external fonts or references", () => {
    expect(svg).not.toMatch(/<script|<style|@import|@font-face|url\(|<image|<foreignObject/i);
    expect(svg).not.toMatch(/<!DOCTYPE|<\?xml|<!--/);
    const withoutNs = svg.replace(/\sxmlns(:\w+)?="[^"]*"/g, "");
    expect(withoutNs).not.toMatch(/https?:/);
    expect(svg).not.toMatch(/xlink:href|\shref=/);
  });

  it("fits a 1600 px wide window and uses readable type", () => {
    const m = /<svg[^>]*width="(\d+)pt" height="(\d+)pt"/.exec(svg)!;
    expect(Number(m[1]) * (4 / 3)).toBeLessThanOrEqual(1600);
    const sizes = [...svg.matchAll(/font-size="([\d.]+)"/g)].map((x) => Number(x[1]));
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(9); // 9 pt = 12 px at 100 %
  });
});

describe("buildDot", () => {
  it("never guesses a tunnel's UDP port: without one in the input, none is drawn", () => {
    const noPort = loadLab();
    for (const h of noPort.hosts) for (const ns of h.namespaces) for (const i of ns.interfaces) if (i.vxlan) delete i.vxlan.port;
    delete noPort.tunnels;
    expect(deriveTunnels(noPort).map((x) => [x.vni, x.port])).toEqual([[4096, undefined], [4097, undefined]]);
    const dot = buildDot(noPort);
    expect(dot).not.toMatch(/udp|UDP \d/);
    expect(dot).toContain("VNI 4097 (demonet)");
    expect(buildDot(lab)).toContain("VNI 4097 (demonet) · UDP 4789");
  });
  it("is pure and deterministic", () => {
    expect(buildDot(loadLab())).toBe(buildDot(loadLab()));
  });
  it("shows loopbacks and MACs on request", () => {
    const dot = buildDot(lab, { showLoopback: true, showMac: true });
    expect(dot).toContain(`"${ifaceId("docker0", "f9f4ceb4012b", "lo")}"`);
    expect(dot).toContain("52:54:00:d7:3d:cc");
    expect(buildDot(lab)).not.toContain(`"${ifaceId("docker0", "f9f4ceb4012b", "lo")}"`);
  });
  it("escapes names in labels (the output stays valid XML)", () => {
    const evil = loadLab();
    evil.hosts[0]!.namespaces[1]!.label = `<b>"x" & 'y'</b>`;
    evil.hosts[0]!.namespaces[1]!.interfaces.push({ name: "a<b>&c", mtu: 1500, addresses: ["1.2.3.4/32"] });
    const out = renderer.renderSvg(evil);
    expect(XMLValidator.validate(out)).toBe(true);
    expect(out).toContain("a&lt;b&gt;&amp;c");
  });
  it("draws any number of hosts and namespaces from the data, including a host with nothing gathered", () => {
    const three = loadLab();
    const copy = JSON.parse(JSON.stringify(three.hosts[1])) as DiagramInput["hosts"][number];
    copy.name = "docker2";
    copy.address = "192.168.122.12";
    copy.namespaces.find((n) => n.kind === "host")!.interfaces.find((i) => i.name === "ens3")!.addresses = ["192.168.122.12/24"];
    three.hosts.push(copy, { name: "docker3", namespaces: [{ id: "unreachable", kind: "other", label: "not gathered: connection refused", interfaces: [] }] });
    three.vethPairs.push(...three.vethPairs.filter((p) => p.a.host === "docker1").map((p) => ({ a: { ...p.a, host: "docker2" }, b: { ...p.b, host: "docker2" } })));
    const out = renderer.renderSvg(three);
    const g = svgGroups(out);
    expect(XMLValidator.validate(out)).toBe(true);
    expect(g.get(`${nsId("docker2", "1-t7zfankbs8")}`)?.cls).toBe("cluster namespace ns-overlay");
    expect(g.get(`${nsId("docker3", "unreachable")}.title`)?.texts).toContain("not gathered: connection refused");
    expect(g.get("tunnel.docker1.docker2")?.cls).toBe("edge tunnel");
    expect([...g.values()].filter((x) => x.cls === "edge veth")).toHaveLength(15);
  });
});

describe("validateDiagramInput", () => {
  it("names what is wrong", () => {
    const bad = loadLab();
    bad.vethPairs.push({ a: { host: "docker0", namespace: "host", iface: "nope0" }, b: { host: "docker0", namespace: "host", iface: "ens3" } });
    expect(() => validateDiagramInput(bad)).toThrow(DiagramInputError);
    expect(() => validateDiagramInput(bad)).toThrow(/vethPairs\[10\]\.a: docker0\/host\/nope0 is not an interface of the input/);
    const dup = loadLab();
    dup.hosts[0]!.namespaces.push({ ...dup.hosts[0]!.namespaces[0]! });
    expect(() => validateDiagramInput(dup)).toThrow(/id "host" is used twice on docker0/);
    expect(() => validateDiagramInput({ hosts: [], vethPairs: [] })).toThrow(/hosts: must be a non-empty array/);
  });
});

describe("renderHtmlReport", () => {
  const facts: ReportFact[] = [
    { id: "VXLAN-1", title: "demonet vxlan: id 4097, dstport 4789", outcome: "pass", expected: "vxlan id 4097 dstport 4789", observed: "vxlan0 id 4097 dstport 4789", seed: "004" },
    { id: "SB-2", title: "eth0 carries the VIP", outcome: "changed", expected: "192.168.200.2/32 on eth0", observed: "on lb_t7zfankbs eth0", seed: "000", section: "How does my container talk to stuff?", explanation: "the VIP lives in the lb_ namespace on newer engines" },
    { id: "PATH-3", title: "task to task over demonet", outcome: "fail", expected: "replies", observed: "0/3 replies <script>alert(1)</script>", seed: "002", details: ["#1 10.99.0.1:1 > 10.99.0.2:4789"] },
    { id: "PATH-4", title: "VXLAN on the wire", outcome: "skip", expected: "UDP 4789", observed: "tcpdump is not installed", seed: "003" },
  ];
  let html: string;
  beforeAll(() => {
    html = renderHtmlReport({ facts, svg, meta: { title: "swarmlab verify: dev", generatedAt: "2025-01-01T00:00:00Z", stack: "dev" } });
  });
  it("is one page with the facts table and the diagram inline", () => {
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(html.match(/<svg\b/g)).toHaveLength(1);
    expect(html.match(/<tr class="(pass|fail|changed|skip)" id="fact-/g)).toHaveLength(4);
    expect(html).toContain('<span class="badge pass">PASS 1</span> <span class="badge changed">CHANGED 1</span> <span class="badge fail">FAIL 1</span> <span class="badge skip">SKIP 1</span>');
    expect(html).toContain('<tr class="changed" id="fact-SB-2">');
    expect(html).toContain("seed 000, “How does my container talk to stuff?”");
    expect(html).toContain('<div class="expl">the VIP lives in the lb_ namespace on newer engines</div>');
    expect(html).toContain("<dt>stack</dt><dd>dev</dd>");
    expect(html).toMatch(/\.badge\.fail \{ background: #c62828; \}/);
  });
  it("escapes fact text", () => {
    expect(html).toContain("0/3 replies &lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).not.toContain("<script");
  });
  it("is self-contained: no http(s) reference besides xmlns, no external resources", () => {
    const withoutNs = html.replace(/\sxmlns(:\w+)?="[^"]*"/g, "");
    expect(withoutNs).not.toMatch(/https?:/);
    expect(html).not.toMatch(/<link\b|<script\b|<img\b|<iframe\b|@import|url\(|src=/i);
  });
  it("works without a diagram", () => {
    const page = renderHtmlReport({ facts: [] });
    expect(page).toContain("No diagram");
    expect(page).toContain("no facts");
  });
});
