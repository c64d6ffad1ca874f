import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { FACT_IDS } from "../../../labs/swarm-overlay/facts";
import { formatJson, formatJunit, formatNames, formatReport, formatText, registerFormat, summarize, type VerifyReport, xmlEscape } from "../../../scripts/verify/report";
import { check, liveModel } from "./helpers";

function report(mutate?: (r: VerifyReport) => void): VerifyReport {
  const { model, inventory } = liveModel("json");
  const results = check(model, inventory);
  const r: VerifyReport = {
    lab: inventory.lab,
    stack: inventory.stack,
    generatedAt: "2026-11-23T12:00:00.000Z",
    results,
    summary: summarize(results),
    timings: { gatherSeconds: 1.25, modelSeconds: 0.01, checkSeconds: 0.01, totalSeconds: 1.3 },
    sshSessions: 2,
    hosts: model.hosts.map((h) => ({ name: h.name, address: h.address, reachable: h.reachable, problems: [] })),
    model,
  };
  mutate?.(r);
  return r;
}

/** A failing result with characters XML must escape. */
function withFailure(r: VerifyReport): void {
  const x = r.results.find((y) => y.id === "VXLAN-1")!;
  x.outcome = "fail";
  x.observed = `docker1: <vxlan0> id 4098 & "dstport" 'x' \u0001`;
  r.summary = summarize(r.results);
}

/** Minimal XML well-formedness check: balanced tags, quoted attributes, escaped text. */
function wellFormed(xml: string): { ok: boolean; why?: string; root?: string; counts: Record<string, number> } {
  const counts: Record<string, number> = {};
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, "");
  const stack: string[] = [];
  let root: string | undefined;
  const re = /<(\/?)([A-Za-z_][\w.-]*)((?:\s+[\w:.-]+="[^"<&]*(?:&(?:amp|lt|gt|quot|apos);[^"<&]*)*")*)\s*(\/?)>|([^<]+)/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = re.exec(body)) !== null) {
    pos = re.lastIndex;
    if (m[5] !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos);)/.test(m[5])) return { ok: false, why: `bad text ${m[5].slice(0, 40)}`, counts };
      if (stack.length === 0 && m[5].trim() !== "") return { ok: false, why: "text outside the root", counts };
      continue;
    }
    const [, close, name, , selfClose] = m;
    counts[name!] = (counts[name!] ?? 0) + (close ? 0 : 1);
    if (close) {
      if (stack.pop() !== name) return { ok: false, why: `unbalanced </${name}>`, counts };
    } else {
      if (stack.length === 0) {
        if (root) return { ok: false, why: "two roots", counts };
        root = name;
      }
      if (!selfClose) stack.push(name!);
    }
  }
  if (pos !== body.length) return { ok: false, why: `unparsable at ${body.slice(pos, pos + 40)}`, counts };
  if (stack.length) return { ok: false, why: `unclosed ${stack.join(",")}`, counts };
  return { ok: true, root, counts };
}

describe("text report", () => {
  it("has one line per fact with ID, outcome, title and seed, details for changed/fail, and the counts", () => {
    const r = report(withFailure);
    const text = formatText(r);
    const lines = text.split("\n");
    for (const id of FACT_IDS) expect(lines.filter((l) => l.startsWith(`${id.padEnd(8)} `))).toHaveLength(1);
    expect(text).toMatch(/^HOST-3   PASS     docker0 bridge 172\.17\.0\.1\/16 on each host \(NO-CARRIER when unused\)  \[seed 000 "Set up a cluster"\]$/m);
    expect(text).toMatch(/^VXLAN-1  FAIL     .*\[seed 004\]\n {18}expected: demonet: vxlan id 4097.*\n {18}observed: docker1: <vxlan0> id 4098/m);
    expect(text).toMatch(/^NS-1     CHANGED .*\n {18}expected: .*\n {18}observed: .*lb_k3b7x2n9q.*\n {18}changed since the documented version: an extra load-balancer namespace/m);
    expect(text).toMatch(/^PATH-1   SKIP .*\n {18}why: traffic checks not run$/m);
    expect(lines.filter((l) => l !== "").pop()).toBe("29 facts: 19 passed, 5 changed since the documented version, 1 failed, 4 skipped");
    expect(text).toMatch(/^swarmlab verify: lab swarm-overlay, stack emu; gathered 2 hosts in 1\.3s over 2 SSH sessions$/m);
    expect(text).not.toMatch(/\x1b\[/);
    expect(formatText(r, { color: true })).toMatch(/\x1b\[31mFAIL/);
  });

  it("lists hosts that could not be gathered", () => {
    const text = formatText(report((r) => (r.hosts[1] = { name: "docker1", address: "192.168.122.11", reachable: false, error: "connect ETIMEDOUT", problems: [] })));
    expect(text).toMatch(/docker1 \(192\.168\.122\.11\): NOT GATHERED: connect ETIMEDOUT/);
  });
});

describe("json report", () => {
  it("has a stable shape and no model", () => {
    const j = JSON.parse(formatJson(report(withFailure))) as Record<string, any>;
    expect(Object.keys(j).sort()).toEqual(["format", "generatedAt", "hosts", "lab", "results", "sshSessions", "stack", "summary", "timings", "version"].sort());
    expect(j.format).toBe("swarmlab-verify");
    expect(j.summary).toEqual({ total: 29, pass: 19, fail: 1, changed: 5, skip: 4 });
    expect(j.results).toHaveLength(29);
    const v = j.results.find((x: any) => x.id === "VXLAN-1");
    expect(Object.keys(v).sort()).toEqual(["citation", "details", "expected", "id", "observed", "outcome", "seed", "title"]);
    expect(j.results.find((x: any) => x.id === "NS-1")).toMatchObject({ outcome: "changed", seed: "000_d9014c85a6bbb97f.txt, 002_d833767e755968c0.txt, 004_83d7ccb3d7026bad.txt", section: "Exploring the Namespaces" });
    expect(j.timings).toEqual({ gatherSeconds: 1.25, modelSeconds: 0.01, checkSeconds: 0.01, totalSeconds: 1.3 });
  });
});

describe("junit report", () => {
  const xml = formatJunit(report(withFailure));

  it("is well-formed, with one testcase per fact", () => {
    const w = wellFormed(xml);
    expect(w).toMatchObject({ ok: true, root: "testsuites" });
    expect(w.counts["testcase"]).toBe(29);
    expect(w.counts["failure"]).toBe(1);
    expect(w.counts["skipped"]).toBe(4);
    expect(xml).toMatch(/<testsuites name="swarmlab verify" tests="29" failures="1" errors="0" skipped="4" time="1\.300">/);
  });

  it.skipIf(spawnSync("bash", ["-c", "command -v xmllint"]).status !== 0)("passes xmllint", () => {
    const r = spawnSync("xmllint", ["--noout", "-"], { input: xml });
    expect(r.stderr.toString()).toBe("");
    expect(r.status).toBe(0);
  });

  it("fails with <failure>, skips with <skipped/>, and passes 'changed' with a system-out note", () => {
    const tc = (id: string): string => {
      const m = new RegExp(`<testcase [^>]*name="${id} [^"]*"[^>]*>([\\s\\S]*?)</testcase>`).exec(xml);
      if (!m) throw new Error(`no testcase ${id}`);
      return m[1]!;
    };
    expect(tc("VXLAN-1")).toMatch(/<failure type="fact-differs" message="docker1: &lt;vxlan0&gt; id 4098 &amp; &quot;dstport&quot; &apos;x&apos; ">expected: demonet/);
    expect(tc("VXLAN-1")).not.toContain("\u0001");
    expect(tc("PATH-2")).toMatch(/<skipped message="traffic checks not run"\/>/);
    expect(tc("NS-1")).toMatch(/<system-out>changed since the documented version: an extra load-balancer namespace/);
    expect(tc("NS-1")).not.toMatch(/<failure|<skipped/);
    expect(tc("HOST-3")).toMatch(/<system-out>observed: /);
  });

  it("escapes XML", () => {
    expect(xmlEscape(`<a href="x">&'</a>`)).toBe("&lt;a href=&quot;x&quot;&gt;&amp;&apos;&lt;/a&gt;");
  });
});

describe("formats registry", () => {
  it("knows text, json, junit and takes new ones (HTML later)", () => {
    expect(formatNames()).toEqual(expect.arrayContaining(["text", "json", "junit"]));
    registerFormat("ids", (r) => r.results.map((x) => x.id).join(","));
    expect(formatReport(report(), "ids")).toBe(FACT_IDS.join(","));
    expect(() => formatReport(report(), "pdf")).toThrow(/unknown format "pdf"/);
  });
});
