/**
 * The class gradebook: learners × facts from verify's JSON reports, as CSV, HTML and JUnit, and
 * `npm run class`'s arguments. The reports are verify's own JSON of a recorded live lab (replayed),
 * one of them with a fact failed and one with a host that did not answer.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { buildGradebook, formatCsv, formatHtml, formatJunit, isGreen, ReportFormatError, rowFromReport, rowWithoutReport, totalsOf, type Gradebook } from "../../../scripts/lib/class/gradebook";
import { parseClassArgs, stacksWithInventory } from "../../../scripts/cli/class";
import { learnerNames, placeLearners } from "../../../scripts/lib/class/allocate";
import { swarmOverlayLab } from "../../../labs/swarm-overlay/lab";
import { labNamed } from "../../../labs";
import { formatReport } from "../../../scripts/lib/verify/report";
import { runVerify } from "../../../scripts/lib/verify/run";

const DIR = path.resolve(__dirname, "../../fixtures/verify/live-e2e-v4");
let good = "";
let broken = "";
let book: Gradebook;

beforeAll(async () => {
  const inventory = JSON.parse(fs.readFileSync(path.join(DIR, "inventory.json"), "utf8"));
  const run = await runVerify({ labs: labNamed, inventory, replayDir: DIR });
  good = formatReport(run.report, "json");
  // The same lab with VXLAN-1 failed, as a learner's broken lab would report it.
  const doc = JSON.parse(good);
  const vx = doc.results.find((r: { id: string }) => r.id === "VXLAN-1");
  Object.assign(vx, { outcome: "fail", observed: "docker1: demonet's vxlan has id 4099, not 4097" });
  const p3 = doc.results.find((r: { id: string }) => r.id === "PATH-3");
  Object.assign(p3, { outcome: "unchecked", explanation: "docker1: did not answer over SSH" });
  broken = JSON.stringify(doc);
  book = buildGradebook("class of 2026-12-01", "2026-12-01T21:00:00Z", [
    rowFromReport("learner-10", good, [{ label: "report", href: "learner-10/report.html" }]),
    rowFromReport("learner-2", broken),
    { row: rowWithoutReport("learner-3", "verify exited 2: no inventory for stack learner-3") },
  ]);
});

describe("gradebook", () => {
  it("has one column per fact of the reports, in their order, and rows by learner (numeric order)", () => {
    expect(book.columns.map((c) => c.id).slice(0, 3)).toEqual(["HOST-1", "HOST-2", "HOST-3"]);
    expect(book.columns).toHaveLength(29);
    expect(book.rows.map((r) => r.learner)).toEqual(["learner-2", "learner-3", "learner-10"]);
  });

  it("counts each learner's outcomes; a lab is green only without failed, unchecked or missing facts", () => {
    const [two, three, ten] = book.rows;
    expect(totalsOf(book, ten!)).toEqual({ pass: 25, fail: 0, changed: 4, unchecked: 0, skip: 0, missing: 0 });
    expect(isGreen(book, ten!)).toBe(true);
    expect(totalsOf(book, two!)).toMatchObject({ fail: 1, unchecked: 1, changed: 4, pass: 23 });
    expect(isGreen(book, two!)).toBe(false);
    expect(totalsOf(book, three!).missing).toBe(29);
    expect(isGreen(book, three!)).toBe(false);
  });

  it("CSV: a header, then one row per learner with totals and one cell per fact", () => {
    const lines = formatCsv(book).trimEnd().split("\r\n");
    expect(lines).toHaveLength(4);
    const head = lines[0]!.split(",");
    expect(head.slice(0, 9)).toEqual(["learner", "lab", "result", "pass", "fail", "changed", "could not check", "skipped", "error"]);
    const row2 = lines[1]!.split(",");
    expect(row2[0]).toBe("learner-2");
    expect(row2[2]).toBe("not ok");
    expect(row2[head.indexOf("VXLAN-1")]).toBe("FAIL");
    expect(row2[head.indexOf("PATH-3")]).toBe("could not check");
    expect(row2[head.indexOf("SB-2")]).toBe("changed");
    expect(lines[2]).toContain("verify exited 2: no inventory for stack learner-3");
    expect(lines[2]!.split(",")[head.indexOf("HOST-1")]).toBe("no report");
    expect(lines[3]!.split(",").slice(0, 5)).toEqual(["learner-10", "swarm-overlay", "ok", "25", "0"]);
  });

  it("CSV cells cannot become spreadsheet formulas and keep commas and quotes", () => {
    const b = buildGradebook("t", "now", [{ row: rowWithoutReport("=cmd()", 'a, "quoted" error') }]);
    const line = formatCsv(b).split("\r\n")[1]!;
    expect(line.startsWith("'=cmd()")).toBe(true);
    expect(line).toContain('"a, ""quoted"" error"');
  });

  it("HTML: one self-contained page, a cell per fact with its note, each learner's report linked, text escaped", () => {
    const b = buildGradebook("t", "now", [...book.rows.map((row) => ({ row, columns: book.columns })), { row: rowWithoutReport("<b>x</b>", "<script>alert(1)</script>") }]);
    const html = formatHtml(b);
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(html).not.toMatch(/<script|src=|https?:\/\//);
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain('<a href="learner-10/report.html">report</a>');
    expect(html).toContain('title="VXLAN-1: docker1: demonet&apos;s vxlan has id 4099, not 4097">FAIL</td>');
    expect(html).toContain("1 of 4 labs without a failed or unchecked fact");
  });

  it("JUnit: one suite per learner, failures and errors counted as verify's own JUnit does", () => {
    const xml = formatJunit(book);
    expect(xml).toMatch(/<testsuites name="class of 2026-12-01" tests="59" failures="1" errors="2" skipped="0">/);
    expect(xml).toContain('<testsuite name="learner-2 (swarm-overlay)" tests="29" failures="1" errors="1" skipped="0">');
    expect(xml).toContain('<testsuite name="learner-3" tests="1" failures="0" errors="1" skipped="0">');
    expect(xml).toContain('<failure type="fact-differs" message="docker1: demonet&apos;s vxlan has id 4099, not 4097"/>');
    expect(xml).toContain('<error type="could-not-check" message="could not check: docker1: did not answer over SSH"/>');
  });

  it("refuses what is not a swarmlab verify report, naming the learner and what it found", () => {
    expect(() => rowFromReport("ann", "not json")).toThrow(ReportFormatError);
    expect(() => rowFromReport("ann", JSON.stringify({ format: "junit" }))).toThrow(/ann: not a swarmlab verify report \(format "junit"/);
    expect(() => rowFromReport("ann", JSON.stringify({ format: "swarmlab-verify", version: 1, results: [] }))).toThrow(/version 1; this gradebook reads version 2/);
    expect(() => rowFromReport("ann", JSON.stringify({ format: "swarmlab-verify", version: 2, results: [{ id: "X-1", outcome: "great" }] }))).toThrow(/result 0 has id "X-1" and outcome "great"/);
  });
});

describe("npm run class arguments", () => {
  it("finds the learners' labs: stacks with an inventory", () => {
    const state = fs.mkdtempSync(path.join(os.tmpdir(), "swl-class-"));
    try {
      for (const s of ["learner-10", "learner-2", "state", "half"]) fs.mkdirSync(path.join(state, s));
      for (const s of ["learner-10", "learner-2"]) fs.writeFileSync(path.join(state, s, "inventory.json"), "{}");
      expect(stacksWithInventory(state)).toEqual(["learner-2", "learner-10"]);
    } finally {
      fs.rmSync(state, { recursive: true, force: true });
    }
  });

  it("verify/reset/down: the roster, else every lab, or the named ones; refuses unknown names, bad counts and options before running anything", () => {
    const known = ["ann", "bob"];
    expect(parseClassArgs(["verify"], known, undefined, 8)).toEqual({ verb: "verify", learners: ["ann", "bob"], parallel: 4, traffic: true });
    expect(parseClassArgs(["verify"], known, ["bob"]).learners).toEqual(["bob"]);
    expect(parseClassArgs(["verify", "--learners", "bob", "--parallel", "2", "--no-traffic"], known)).toEqual({ verb: "verify", learners: ["bob"], parallel: 2, traffic: false });
    expect(parseClassArgs(["reset"], known, undefined, 4)).toMatchObject({ verb: "reset", learners: ["ann", "bob"], parallel: 2 });
    // --parallel's default: half the cores for the verbs that keep guests busy (at least one), 4 for down.
    expect([1, 2, 3, 16].map((c) => parseClassArgs(["verify"], known, undefined, c).parallel)).toEqual([1, 1, 1, 8]);
    expect(parseClassArgs(["up", "--learners", "2"], [], undefined, 2).parallel).toBe(1);
    expect(parseClassArgs(["down"], known, undefined, 2).parallel).toBe(4);
    // down may name a learner whose lab was never finished (no inventory): it removes what there is.
    expect(parseClassArgs(["down", "--learners", "cy"], known).learners).toEqual(["cy"]);
    expect(() => parseClassArgs(["verify", "--learners", "bob,cy"], known)).toThrow("no lab for cy (no .swarmlab/<stack>/inventory.json); labs: ann, bob");
    expect(() => parseClassArgs(["reset", "--learners", "cy"], known)).toThrow("no lab for cy");
    expect(() => parseClassArgs(["verify", "--parallel", "0"], known)).toThrow("--parallel 0: a whole number from 1 to 16");
    expect(() => parseClassArgs(["verify", "--parallel"], known)).toThrow("--parallel needs a value");
    expect(() => parseClassArgs(["verify", "--fast"], known)).toThrow('unknown option "--fast" for verify; known: --learners, --parallel, --no-traffic');
    expect(() => parseClassArgs(["down", "--no-traffic"], known)).toThrow('unknown option "--no-traffic" for down');
    expect(() => parseClassArgs(["grade"], known)).toThrow('unknown verb "grade"; known: up, verify, reset, down');
    expect(() => parseClassArgs(["verify"], [])).toThrow(/no learner's lab found/);
    expect(() => parseClassArgs(["verify", "--learners", "ann,ann"], known)).toThrow(/names a learner twice/);
  });

  it("up: a count names learner-01..N, names are checked as stack names, the template is not a learner", () => {
    expect(parseClassArgs(["up", "--learners", "3", "--from", "dev", "--hypervisors", "qemu:///system,qemu+ssh://t@hv2/system", "--parallel", "3"], [])).toEqual({
      verb: "up",
      learners: ["learner-01", "learner-02", "learner-03"],
      parallel: 3,
      traffic: true,
      from: "dev",
      hypervisors: ["qemu:///system", "qemu+ssh://t@hv2/system"],
    });
    expect(parseClassArgs(["up", "--learners", "ann,bob"], []).learners).toEqual(["ann", "bob"]);
    expect(learnerNames(3)).toEqual(["learner-01", "learner-02", "learner-03"]);
    expect(learnerNames(100)[99]).toBe("learner-100");
    expect(() => parseClassArgs(["up"], [])).toThrow("up needs --learners N");
    expect(() => parseClassArgs(["up", "--learners", "0"], [])).toThrow("--learners 0: a count from 1 to 64");
    expect(() => parseClassArgs(["up", "--learners", "Ann"], [])).toThrow(/--learners: .*Ann/);
    expect(() => parseClassArgs(["up", "--learners", "dev,ann", "--from", "dev"], [])).toThrow("--from dev is one of the learners");
  });
});

describe("placing the learners' labs", () => {
  const def = swarmOverlayLab;
  const libvirtDefault = { name: "default", cidr: "192.168.122.0/24" };

  it("spreads them over the hypervisors in turn, each range unique in the class and clear of every hypervisor's networks", () => {
    const active = new Map([
      ["qemu:///system", [libvirtDefault]],
      ["qemu+ssh://t@hv2/system", [{ name: "other", cidr: "192.168.125.0/24" }]],
    ]);
    const p = placeLearners(def, learnerNames(5), ["qemu:///system", "qemu+ssh://t@hv2/system"], active);
    expect(p.map((x) => `${x.learner} ${x.uri} ${x.cidr}`)).toEqual([
      "learner-01 qemu:///system 192.168.123.0/24",
      "learner-02 qemu+ssh://t@hv2/system 192.168.124.0/24",
      "learner-03 qemu:///system 192.168.126.0/24",
      "learner-04 qemu+ssh://t@hv2/system 192.168.127.0/24",
      "learner-05 qemu:///system 192.168.128.0/24",
    ]);
    expect(p[0]!.note).toBe("the documented 192.168.122.0/24 and the ranges before 192.168.123.0/24 are taken by active libvirt networks or other learners");
    // Nothing active anywhere: the first learner gets the documented range, and no note.
    const free = placeLearners(def, learnerNames(2), ["qemu:///system"], new Map());
    expect(free.map((x) => x.cidr)).toEqual(["192.168.122.0/24", "192.168.123.0/24"]);
    expect(free[0]!.note).toBeUndefined();
  });

  it("skips Docker's ranges in the guests and keeps what a learner's stack already has", () => {
    const active = new Map([["qemu:///system", [libvirtDefault, { name: "swarmlab-learner-02", cidr: "192.168.130.0/24" }]]]);
    const existing = new Map([["learner-03", { uri: "qemu:///system", cidr: "192.168.140.0/24" }]]);
    const p = placeLearners(def, learnerNames(3), ["qemu:///system"], active, existing);
    // learner-02's network is active: it keeps its range; learner-03 keeps its configured one.
    expect(p.map((x) => x.cidr)).toEqual(["192.168.123.0/24", "192.168.130.0/24", "192.168.140.0/24"]);
    expect(p[2]!.note).toBe("keeps its configured range 192.168.140.0/24");
    // 192.168.200.0/24 is demonet's: never a lab network.
    const crowded = new Map([["qemu:///system", Array.from({ length: 78 }, (_, i) => ({ name: `n${i}`, cidr: `192.168.${122 + i}.0/24` }))]]);
    expect(placeLearners(def, ["a"], ["qemu:///system"], crowded)[0]!.cidr).toBe("192.168.201.0/24");
  });
});
