/**
 * A lab's own plumbing in the diagram: DiagramInput.links (ESP, VLAN, macvlan, published ports,
 * any other kind) and DiagramHost.notes, and the wiring that brings a lab's `plumbing` into the
 * drawings of `npm run diagram` (renderLabDiagram) and of verify's html report (runVerify).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { XMLValidator } from "fast-xml-parser";
import { beforeAll, describe, expect, it } from "vitest";
import {
  buildDot,
  DiagramInputError,
  ifaceId,
  linkId,
  loadDiagramRenderer,
  validateDiagramInput,
  withPlumbing,
  type DiagramInput,
  type DiagramLink,
  type DiagramPlumbing,
  type DiagramRenderer,
} from "../../../scripts/lib/diagram/diagram";
import { diagramFromModel, htmlFormatter } from "../../../scripts/lib/diagram/from-model";
import { renderLabDiagram } from "../../../scripts/cli/diagram";
import { runVerify } from "../../../scripts/lib/verify/run";
import { formatJson } from "../../../scripts/lib/verify/report";
import { validateInventory, type Inventory } from "../../../scripts/lib/verify/inventory";
import type { LabModel } from "../../../scripts/lib/verify/model";
import type { Lab, LabLookup } from "../../../labs/lab";
import { labNamed } from "../../../labs";

const FIX = path.join(__dirname, "../../fixtures/plumbing");
const loadLab = (): DiagramInput => JSON.parse(fs.readFileSync(path.join(FIX, "lab-docker2010.json"), "utf8")) as DiagramInput;

const end = (host: string, namespace: string, iface: string) => ({ host, namespace, iface });

/** The example lab with a VLAN sub-interface ens3.100 (tag 100) on docker0's ens3. */
function labWithVlan(): DiagramInput {
  const lab = loadLab();
  lab.hosts[0]!.namespaces.find((n) => n.id === "host")!.interfaces.push({ name: "ens3.100", kind: "vlan", mtu: 1500, addresses: ["10.100.0.10/24"] });
  return lab;
}

const ESP: DiagramLink = { a: end("docker0", "host", "ens3"), b: end("docker1", "host", "ens3"), kind: "esp", label: "IPsec ESP (proto 50)" };
const VLAN: DiagramLink = { a: end("docker0", "host", "ens3"), b: end("docker0", "host", "ens3.100"), kind: "vlan", label: "802.1Q tag 100" };
const MACVLAN: DiagramLink = { a: end("docker0", "host", "ens3.100"), b: end("docker0", "f9f4ceb4012b", "eth1"), kind: "macvlan", label: "macvlan bridge mode", tooltip: "eth1 is a macvlan on ens3.100" };
const PUBLISHED: DiagramLink = { a: end("docker0", "host", "ens3"), b: end("docker0", "ingress_sbox", "eth1"), kind: "published", label: "5000/tcp → 80" };
const OTHER: DiagramLink = { a: end("docker1", "host", "ens3"), b: end("docker1", "host", "docker0"), kind: "gre tunnel", label: "something else" };
const NOTE = "published 5000/tcp → web:80 (ingress)";

function plumbed(): DiagramInput {
  const lab = labWithVlan();
  lab.links = [ESP, VLAN, MACVLAN, PUBLISHED, OTHER, { ...PUBLISHED, label: "8080/tcp → 80" }];
  lab.hosts[0]!.notes = [NOTE, "second note"];
  return lab;
}

let renderer: DiagramRenderer;
beforeAll(async () => {
  renderer = await loadDiagramRenderer();
});

/** The <g> element with this id: its class attribute and the text up to the next group. */
function svgGroup(svg: string, id: string): { cls: string; body: string } | undefined {
  const m = new RegExp(`<g id="${id.replace(/[.]/g, "\\.")}" class="([^"]*)">([\\s\\S]*?)</g>`).exec(svg);
  return m ? { cls: m[1]!, body: m[2]! } : undefined;
}

describe("links and notes in the DOT", () => {
  const dot = buildDot(plumbed());

  it("draws each link as a labelled edge between its two interfaces, with a stable id and class", () => {
    expect(linkId(ESP)).toBe("link.esp.docker0.host.ens3.docker1.host.ens3");
    for (const l of [ESP, VLAN, MACVLAN, PUBLISHED]) {
      const line = dot.split("\n").find((x) => x.includes(`[id="${linkId(l)}"`));
      expect(line, l.kind).toBeDefined();
      expect(line).toContain(`class="link link-${l.kind}"`);
      expect(line).toContain(l.label);
      expect(line).toContain(`"${ifaceId(l.a.host, l.a.namespace, l.a.iface)}"`);
      expect(line).toContain(`"${ifaceId(l.b.host, l.b.namespace, l.b.iface)}"`);
    }
    // kinds are cleaned like the other id parts; another kind is grey
    const other = dot.split("\n").find((x) => x.includes(`[id="link.gre_tunnel.docker1.host.ens3.docker1.host.docker0"`))!;
    expect(other).toContain(`class="link link-gre_tunnel"`);
    expect(other).toContain(`color="#9e9e9e"`);
    // a second link of the same kind between the same ends gets its own id
    expect(dot).toContain(`[id="${linkId(PUBLISHED)}.2"`);
    expect(dot).toContain("8080/tcp → 80");
    expect(dot).toContain(`tooltip="eth1 is a macvlan on ens3.100"`);
  });

  it("gives esp, vlan, macvlan and published their own colours, and lists them in the legend", () => {
    const colourOf = (l: DiagramLink): string => /\bcolor="(#[0-9a-f]{6})"/.exec(dot.split("\n").find((x) => x.includes(`[id="${linkId(l)}"`))!)![1]!;
    const colours = [ESP, VLAN, MACVLAN, PUBLISHED].map(colourOf);
    expect(new Set([...colours, "#9e9e9e"]).size).toBe(5);
    for (const t of ["IPsec ESP", "802.1Q VLAN", "macvlan", "published port", "other link"]) expect(dot).toContain(`  ${t}</FONT>`);
  });

  it("draws a host's notes under its title", () => {
    const title = dot.split("\n").find((x) => x.includes(`"host.docker0.title" [`))!;
    expect(title).toContain(NOTE);
    expect(title).toContain("second note");
    expect(title.indexOf("docker0")).toBeLessThan(title.indexOf(NOTE));
    expect(dot.split("\n").find((x) => x.includes(`"host.docker1.title" [`))).not.toContain(NOTE);
  });

  it("renders: the SVG has the links' groups with their classes and labels, and the notes", () => {
    const svg = renderer.renderSvg(plumbed());
    expect(XMLValidator.validate(svg)).toBe(true);
    for (const l of [ESP, VLAN, MACVLAN, PUBLISHED]) {
      const g = svgGroup(svg, linkId(l));
      expect(g, l.kind).toBeDefined();
      expect(g!.cls.split(" ")).toEqual(expect.arrayContaining(["link", `link-${l.kind}`]));
    }
    expect(svgGroup(svg, linkId(ESP))!.body).toContain("IPsec ESP (proto 50)");
    expect(svgGroup(svg, linkId(VLAN))!.body).toContain("802.1Q tag 100");
    expect(svg).toContain("(ingress)");
  });

  it("refuses a link whose end is not an interface of the input, naming it", () => {
    const bad = labWithVlan();
    bad.links = [ESP, { ...VLAN, b: end("docker0", "host", "ens3.200") }];
    expect(() => buildDot(bad)).toThrow(DiagramInputError);
    expect(() => validateDiagramInput(bad)).toThrow(/links\[1\] \(vlan\)\.b: docker0\/host\/ens3\.200 is not an interface of the input/);
    bad.links = [{ ...ESP, a: end("docker9", "host", "ens3") }];
    expect(() => buildDot(bad)).toThrow(/docker9\/host\/ens3/);
    bad.links = [{ ...ESP, kind: "" }];
    expect(() => buildDot(bad)).toThrow(/links\[0\]\.kind is missing/);
  });

  it("leaves the output unchanged without links or notes", () => {
    const lab = loadLab();
    const before = buildDot(lab);
    expect(before).not.toContain("link");
    expect(buildDot({ ...lab, links: [] })).toBe(before);
    expect(buildDot({ ...lab, hosts: lab.hosts.map((x) => ({ ...x, notes: [] })) })).toBe(before);
    expect(withPlumbing(lab, { links: [], notes: {} })).toBe(lab);
    expect(withPlumbing(lab, undefined)).toBe(lab);
    expect(buildDot(lab, { showLoopback: true, showMac: true })).toBe(buildDot({ ...lab, links: [] }, { showLoopback: true, showMac: true }));
  });
});

describe("withPlumbing", () => {
  it("adds the links and notes to a copy of the input", () => {
    const lab = labWithVlan();
    const p: DiagramPlumbing = { links: [ESP], notes: { docker1: [NOTE] } };
    const out = withPlumbing(lab, p);
    expect(out.links).toEqual([ESP]);
    expect(out.hosts[1]!.notes).toEqual([NOTE]);
    expect(out.hosts[0]!.notes).toBeUndefined();
    expect(lab.links).toBeUndefined();
    expect(lab.hosts[1]!.notes).toBeUndefined();
    expect(withPlumbing(out, { links: [VLAN], notes: { docker1: ["more"] } })).toMatchObject({ links: [ESP, VLAN], hosts: [{}, { notes: [NOTE, "more"] }] });
  });
  it("refuses notes for a host the input does not have, naming it", () => {
    expect(() => withPlumbing(loadLab(), { links: [], notes: { docker7: [NOTE] } })).toThrow(/host "docker7"/);
  });
});

// ------------------------------------------------------------- wiring ----

const VERIFY = path.resolve(__dirname, "../../fixtures/verify/live-like");
const INVENTORY = path.join(VERIFY, "inventory.json");
const REPLAY = path.join(VERIFY, "json");

/** ESP between the hosts' underlay NICs (the host-namespace interface holding the host's address), as a lab would find them. */
function espPlumbing(model: LabModel, inventory: Inventory): DiagramPlumbing {
  const nic = (name: string) => {
    const h = model.hosts.find((x) => x.name === name);
    const i = h?.namespaces.find((n) => n.kind === "host")?.interfaces.find((x) => x.addresses.some((a) => a.local === h.address));
    return i ? end(name, "host", i.name) : undefined;
  };
  const [a, b] = [nic(inventory.hosts[0]!.name), nic(inventory.hosts[1]!.name)];
  return { links: a && b ? [{ a, b, kind: "esp", label: "ESP SPI 0xc0ffee" }] : [], notes: { [inventory.hosts[0]!.name]: [NOTE] } };
}

function fakeLabs(calls: string[]): LabLookup {
  return (name) => {
    const real = labNamed(name);
    const lab: Lab = {
      ...real,
      plumbing: (model, inventory) => {
        calls.push(inventory.stack);
        return espPlumbing(model, inventory);
      },
    };
    return lab;
  };
}

const ESP_ID = "link.esp.docker0.host.enp1s0.docker1.host.enp1s0";

describe("a lab's plumbing reaches the drawings", () => {
  it("npm run diagram (renderLabDiagram) draws the lab's plumbing", async () => {
    const calls: string[] = [];
    const d = await renderLabDiagram({ inventoryFile: INVENTORY, replayDir: REPLAY, output: false, labs: fakeLabs(calls) });
    expect(calls).toEqual(["emu"]);
    expect(d.input.links).toEqual([{ a: end("docker0", "host", "enp1s0"), b: end("docker1", "host", "enp1s0"), kind: "esp", label: "ESP SPI 0xc0ffee" }]);
    expect(svgGroup(d.svg, ESP_ID)?.cls).toContain("link-esp");
    expect(d.svg).toContain("ESP SPI 0xc0ffee");
    expect(d.svg).toContain("(ingress)");
  });

  it("a lab without plumbing draws as before", async () => {
    const d = await renderLabDiagram({ inventoryFile: INVENTORY, replayDir: REPLAY, output: false });
    expect(d.input.links).toBeUndefined();
    expect(d.svg).not.toContain('class="link');
  });

  it("verify's html report (runVerify) draws the lab's plumbing; json leaves it out", async () => {
    const inventory = validateInventory(JSON.parse(fs.readFileSync(INVENTORY, "utf8")), { checkKeyFile: false });
    const calls: string[] = [];
    const run = await runVerify({ labs: fakeLabs(calls), inventory, replayDir: REPLAY, traffic: false, format: "html" });
    expect(calls).toEqual(["emu"]);
    expect(run.report.plumbing?.links).toHaveLength(1);
    expect(run.rendered).toContain(`id="${ESP_ID}"`);
    expect(run.rendered).toContain("ESP SPI 0xc0ffee");
    expect(formatJson(run.report)).not.toContain("plumbing");
    // the formatter on its own: the report's plumbing, drawn with its model
    expect(htmlFormatter(renderer)(run.report)).toContain(`id="${ESP_ID}"`);
    const { plumbing: _p, ...plain } = run.report;
    expect(htmlFormatter(renderer)(plain)).not.toContain(`id="${ESP_ID}"`);
    expect(diagramFromModel(run.model, { plumbing: run.report.plumbing! }).links).toHaveLength(1);
  });
});
