import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { XMLValidator } from "fast-xml-parser";
import { describe, expect, it } from "vitest";
import { main as diagramMain } from "../../../scripts/cli/diagram-cli";
import { main as trafficMain } from "../../../scripts/cli/traffic-cli";

const FIX = path.join(__dirname, "../../fixtures/plumbing");
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), "plumb-cli-"));

describe("diagram-cli", () => {
  it("writes an SVG and a report page from the example input", async () => {
    const dir = tmp();
    const svg = path.join(dir, "lab.svg");
    const html = path.join(dir, "lab.html");
    expect(await diagramMain([path.join(FIX, "lab-docker2010.json"), "-o", svg, "--html", html, "--facts", path.join(FIX, "facts-example.json")])).toBe(0);
    const text = fs.readFileSync(svg, "utf8");
    expect(XMLValidator.validate(text)).toBe(true);
    expect(text).toContain('id="ns.docker1.lb_t7zfankbs"');
    const page = fs.readFileSync(html, "utf8");
    expect(page).toContain('id="fact-PATH-4"');
    expect(page).toContain('id="ns.docker1.lb_t7zfankbs"');
  });
  it("reads verify's model as well", async () => {
    const dir = tmp();
    const model = { hosts: [{ name: "docker0", address: "192.168.122.10", role: "manager", reachable: false, error: "no route", execLinks: {}, execRoutes: {}, namespaces: [], issues: [], gatherProblems: [] }], vethPairs: [], bridges: [], tunnels: [] };
    fs.writeFileSync(path.join(dir, "model.json"), JSON.stringify(model));
    expect(await diagramMain([path.join(dir, "model.json"), "-o", path.join(dir, "m.svg"), "--title", "from a model"])).toBe(0);
    const text = fs.readFileSync(path.join(dir, "m.svg"), "utf8");
    expect(text).toContain("from a model");
    expect(text).toContain("not gathered: no route");
  });
  it("says what is wrong with its arguments and input", async () => {
    await expect(diagramMain([])).rejects.toThrow(/no input file[\s\S]*usage: diagram-cli\.ts/);
    await expect(diagramMain(["/nonexistent/lab.json"])).rejects.toThrow(/\/nonexistent\/lab\.json: cannot read \(ENOENT\)/);
    const dir = tmp();
    fs.writeFileSync(path.join(dir, "bad.json"), "{ nope");
    await expect(diagramMain([path.join(dir, "bad.json")])).rejects.toThrow(/bad\.json: not valid JSON/);
    fs.writeFileSync(path.join(dir, "empty.json"), "{}");
    await expect(diagramMain([path.join(dir, "empty.json")])).rejects.toThrow(/hosts: must be a non-empty array/);
    await expect(diagramMain(["x.json", "--bogus"])).rejects.toThrow(/unknown option --bogus/);
  });
});

describe("traffic-cli", () => {
  it("prints the script and judges a recorded output", () => {
    let out = "";
    expect(trafficMain(["script", path.join(FIX, "traffic/plan-emu.json")], (s) => (out += s))).toBe(0);
    expect(out).toMatch(/^#!\/bin\/bash\n# swarmlab: traffic probe PATH-1..PATH-4/);
    out = "";
    expect(trafficMain(["judge", path.join(FIX, "traffic/plan-emu.json"), path.join(FIX, "traffic/ok.txt")], (s) => (out += s))).toBe(0);
    expect(out.match(/^PATH-\d PASS$/gm)).toHaveLength(4);
    out = "";
    expect(trafficMain(["judge", path.join(FIX, "traffic/plan-emu.json"), path.join(FIX, "traffic/cut-local.txt")], (s) => (out += s))).toBe(1);
    expect(out).toMatch(/^PATH-4 FAIL$/m);
  });
});
