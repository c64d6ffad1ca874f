/** scripts/cli/diagram.ts: gather (or replay) the lab as verify does, draw it, write the SVG. */
import * as fs from "node:fs";
import * as path from "node:path";
import { XMLValidator } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { defaultDiagramPath, main, parseDiagramArgs, renderLabDiagram } from "../../../scripts/cli/diagram";
import { nsId } from "../../../scripts/lib/diagram/diagram";
import { UsageError } from "../../../scripts/lib/verify/errors";
import type { RunResult, Transport } from "../../../scripts/lib/verify/gather";
import { validateInventory } from "../../../scripts/lib/verify/inventory";
import { captureCliIo } from "../cli-io";

const VERIFY = path.resolve(__dirname, "../../fixtures/verify/live-like");
const INVENTORY = path.join(VERIFY, "inventory.json");
const REPLAY = path.join(VERIFY, "json");

const io = captureCliIo("swl-diagram-");

describe("renderLabDiagram", () => {
  it("draws a replayed gather: every namespace of the model is in the SVG", async () => {
    const file = path.join(io.dir, "out", "lab.svg");
    const d = await renderLabDiagram({ inventoryFile: INVENTORY, replayDir: REPLAY, output: file });
    expect(d.output).toBe(file);
    const svg = fs.readFileSync(file, "utf8");
    expect(svg).toBe(d.svg);
    expect(svg).toMatch(/^<svg\b/);
    expect(XMLValidator.validate(svg)).toBe(true);
    expect(d.sshSessions).toBe(0);
    expect(d.unreachable).toEqual([]);
    const namespaces = d.model.hosts.flatMap((h) => h.namespaces.map((ns) => ({ host: h.name, ns })));
    expect(namespaces).toHaveLength(12);
    for (const { host, ns } of namespaces) {
      expect(svg, `${host}/${ns.id}`).toContain(`id="${nsId(host, ns.id)}"`);
      expect(svg, `${host}/${ns.id} title`).toContain(ns.id);
    }
    // the tunnel between the hosts, with the documented VNI
    expect(svg).toMatch(/VNI 4097/);
    expect(svg).toContain("swarm-overlay / emu: the lab as gathered");
  });

  it("writes .swarmlab/<stack>/lab.svg by default, and nothing with output: false", async () => {
    const d = await renderLabDiagram({ inventoryFile: INVENTORY, replayDir: REPLAY, cwd: io.dir });
    expect(d.output).toBe(path.join(io.dir, ".swarmlab", "emu", "lab.svg"));
    expect(defaultDiagramPath("emu", io.dir)).toBe(d.output);
    expect(fs.existsSync(d.output!)).toBe(true);
    const none = await renderLabDiagram({ inventoryFile: INVENTORY, replayDir: REPLAY, cwd: path.join(io.dir, "x"), output: false });
    expect(none.output).toBeUndefined();
    expect(fs.existsSync(path.join(io.dir, "x"))).toBe(false);
  });

  it("gathers through the transport like verify: one session per host, no traffic", async () => {
    const scripts: string[] = [];
    const transport: Transport & { sessions: number } = {
      sessions: 0,
      async run(host, script, onStdout, onConnected): Promise<RunResult> {
        this.sessions++;
        scripts.push(script);
        onConnected();
        const text = fs.readFileSync(path.join(REPLAY, `${host.name}.txt`), "utf8");
        onStdout(text);
        return { stdout: text, stderr: "", code: 0 };
      },
    };
    const inventory = validateInventory(JSON.parse(fs.readFileSync(INVENTORY, "utf8")), { checkKeyFile: false });
    const raw = path.join(io.dir, "raw");
    const d = await renderLabDiagram({ inventory, transport, output: path.join(io.dir, "lab.svg"), saveRawDir: raw });
    expect(d.sshSessions).toBe(2);
    expect(scripts).toHaveLength(2);
    for (const s of scripts) expect(s).toContain("swarmlab verify: gather script");
    expect(scripts.some((s) => s.includes("traffic checks"))).toBe(false);
    expect(fs.readdirSync(raw).sort()).toEqual(["docker0.txt", "docker1.txt"]);
    // what was saved replays to the same drawing
    const again = await renderLabDiagram({ inventory, replayDir: raw, output: false });
    expect(again.svg).toBe(d.svg);
  });
});

describe("the diagram CLI", () => {
  it("parses its options", () => {
    const a = parseDiagramArgs(["--inventory", "inv.json", "--output=lab.svg", "--replay", "raw", "--title", "T", "--show-mac", "--quiet"]);
    expect(a.options).toEqual({ inventoryFile: "inv.json", output: "lab.svg", replayDir: "raw", title: "T", diagram: { showMac: true } });
    expect(a.quiet).toBe(true);
    expect(() => parseDiagramArgs(["--stack", "a", "--inventory", "b"])).toThrow(/not both/);
    expect(() => parseDiagramArgs(["--output"])).toThrow(UsageError);
    expect(() => parseDiagramArgs(["--format", "png"])).toThrow(/unknown argument --format/);
  });

  it("writes the SVG of a replayed gather and exits 0", async () => {
    const file = path.join(io.dir, "lab.svg");
    expect(await main(["--inventory", INVENTORY, "--replay", REPLAY, "--output", file])).toBe(0);
    expect(io.err).toMatch(/^diagram: 2 hosts, 12 namespaces, \d+ veth pairs, \d+ VXLAN tunnels; written to .*lab\.svg$/m);
    expect(io.out).toBe("");
    const svg = fs.readFileSync(file, "utf8");
    for (const id of ["host", "ingress_sbox", "1-k3b7x2n9q4", "1-r2t6f0j8m1", "lb_k3b7x2n9q", "5e0c1a7f3b2d"]) expect(svg).toContain(`id="${nsId("docker0", id)}"`);
    expect(svg).toContain(`id="${nsId("docker1", "9b41d6e2c07a")}"`);
  });

  it("exits 1 when a host was not gathered (drawn empty, with the reason)", async () => {
    const raw = path.join(io.dir, "raw");
    fs.mkdirSync(raw);
    fs.copyFileSync(path.join(REPLAY, "docker0.txt"), path.join(raw, "docker0.txt"));
    const file = path.join(io.dir, "lab.svg");
    expect(await main(["--inventory", INVENTORY, "--replay", raw, "--output", file])).toBe(1);
    expect(io.err).toMatch(/not gathered \(drawn empty\): docker1/);
    expect(fs.readFileSync(file, "utf8")).toMatch(/not gathered: no saved output for docker1 in /);
  });

  it("exits 2 on usage and inventory errors", async () => {
    expect(await main(["--bogus"])).toBe(2);
    expect(io.err).toMatch(/unknown argument --bogus/);
    io.err = "";
    expect(await main(["--stack", "nosuchstack", "--quiet"])).toBe(2);
    expect(io.err).toMatch(/\.swarmlab\/nosuchstack\/inventory\.json: no inventory here/);
  });
});
