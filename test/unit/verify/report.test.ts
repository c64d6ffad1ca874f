import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { FACT_IDS } from "../../../labs/swarm-overlay/facts";
import { formatJson, formatJunit, formatNames, formatReport, formatText, registerFormat, summarize, type VerifyReport, xmlEscape } from "../../../scripts/lib/verify/report";
import { skippedTraffic } from "../../../labs/swarm-overlay/probes";
import { check, liveModel } from "./helpers";

function report(mutate?: (r: VerifyReport) => void): VerifyReport {
  const { model, inventory } = liveModel("json");
  model.probe = skippedTraffic("traffic checks disabled (--no-traffic)");
  const results = check(model, inventory);
  const r: VerifyReport = {
    lab: inventory.lab ?? "swarm-overlay",
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
    expect(text).toMatch(/^HOST-3   PASS       docker0 bridge 172\.17\.0\.1\/16 on each host \(NO-CARRIER when unused\)  \[seed 000 "Set up a cluster"\]$/m);
    expect(text).toMatch(/^VXLAN-1  FAIL       .*\[seed 004\]\n {20}expected: demonet: vxlan id 4097.*\n {20}observed: docker1: <vxlan0> id 4098/m);
    expect(text).toMatch(/^NS-1     CHANGED    .*\n {20}expected: .*\n {20}observed: .*lb_k3b7x2n9q.*\n {20}changed since the documented version: an extra load-balancer namespace/m);
    expect(text).toMatch(/^PATH-1   SKIP       .*\n {20}skipped: traffic checks disabled \(--no-traffic\)$/m);
    expect(lines.filter((l) => l !== "").pop()).toBe("29 facts: 19 passed, 5 changed since the documented version, 1 failed, 0 could not be checked, 4 skipped");
    expect(text).toMatch(/^swarmlab verify: lab swarm-overlay, stack emu; gathered 2 hosts in 1\.3s over 2 SSH sessions$/m);
    expect(text).not.toMatch(/\x1b\[/);
    expect(formatText(r, { color: true })).toMatch(/\x1b\[31mFAIL/);
  });

  it("leads with what kept facts from being checked, and shows them as UNCHECKED with the cause", () => {
    const text = formatText(report(withUnreachable));
    const lines = text.split("\n");
    expect(lines[1]).toBe("Facts that need these hosts could not be checked there:");
    expect(lines[2]).toBe("  docker1: connection refused on port 22 (192.168.122.11)");
    expect(text).toMatch(/^CL-1     UNCHECKED  .*\n {20}could not check: docker1: connection refused on port 22$/m);
    expect(lines.filter((l) => l !== "").pop()).toMatch(/, 1 could not be checked, 4 skipped$/);
    expect(formatText(report(withUnreachable), { color: true })).toMatch(/\x1b\[35mUNCHECKED/);
  });

  it("shows control characters of observed data as escapes, never raw", () => {
    const text = formatText(report(withControlChars));
    expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    expect(text).toContain("observed: docker1: eth0\\e]0;owned\\x07 \\x9b31m");
    expect(text).toContain("  docker1: host says \\e[2J (192.168.122.11)");
  });
});

/** docker1 could not be reached: one fact unchecked because of it. */
function withUnreachable(r: VerifyReport): void {
  r.hosts[1] = { name: "docker1", address: "192.168.122.11", reachable: false, error: "connection refused on port 22", cause: "connection refused on port 22", problems: [] };
  const x = r.results.find((y) => y.id === "CL-1")!;
  x.outcome = "unchecked";
  x.explanation = "docker1: connection refused on port 22";
  r.summary = summarize(r.results);
}

/** Observed data with terminal escapes in it (an interface name can hold ESC). */
function withControlChars(r: VerifyReport): void {
  const x = r.results.find((y) => y.id === "VXLAN-1")!;
  x.outcome = "fail";
  x.observed = "docker1: eth0\x1b]0;owned\x07 \x9b31m";
  x.details = ["line\x1b[1m"];
  r.hosts[1] = { name: "docker1", address: "192.168.122.11", reachable: false, error: "x", cause: "host says \x1b[2J", problems: [] };
  r.summary = summarize(r.results);
}

describe("json report", () => {
  it("has a stable shape and no model", () => {
    const j = JSON.parse(formatJson(report(withFailure))) as Record<string, any>;
    expect(Object.keys(j).sort()).toEqual(["causes", "format", "generatedAt", "hosts", "lab", "results", "sshSessions", "stack", "summary", "timings", "version"].sort());
    expect(j.format).toBe("swarmlab-verify");
    expect(j.version).toBe(2);
    expect(j.causes).toEqual([]);
    expect(j.summary).toEqual({ total: 29, pass: 19, fail: 1, changed: 5, skip: 4, unchecked: 0 });
    expect(j.results).toHaveLength(29);
    const v = j.results.find((x: any) => x.id === "VXLAN-1");
    expect(Object.keys(v).sort()).toEqual(["citation", "details", "expected", "id", "observed", "outcome", "seed", "title"]);
    expect(j.results.find((x: any) => x.id === "NS-1")).toMatchObject({ outcome: "changed", seed: "000_d9014c85a6bbb97f.txt, 002_d833767e755968c0.txt, 004_83d7ccb3d7026bad.txt", section: "Exploring the Namespaces" });
    expect(j.timings).toEqual({ gatherSeconds: 1.25, modelSeconds: 0.01, checkSeconds: 0.01, totalSeconds: 1.3 });
  });

  it("carries the outcome unchecked, its cause, and the hosts' causes", () => {
    const j = JSON.parse(formatJson(report(withUnreachable))) as Record<string, any>;
    expect(j.causes).toEqual(["docker1: connection refused on port 22"]);
    expect(j.hosts[1]).toMatchObject({ name: "docker1", reachable: false, cause: "connection refused on port 22" });
    expect(j.summary.unchecked).toBe(1);
    expect(j.results.find((x: any) => x.id === "CL-1")).toMatchObject({ outcome: "unchecked", explanation: "docker1: connection refused on port 22" });
  });

  it("escapes control characters (JSON's own escaping)", () => {
    const text = formatJson(report(withControlChars));
    expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f]/);
    expect(JSON.parse(text).results.find((x: any) => x.id === "VXLAN-1").observed).toBe("docker1: eth0\x1b]0;owned\x07 \x9b31m");
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

  it("counts failures, errors (could not check) and skips in the inner testsuite too, each from its own outcome", () => {
    // 2 failures, 3 unchecked, 4 skipped: no two counts alike, so a count taken from the wrong outcome shows.
    const x = formatJunit(
      report((r) => {
        for (const id of ["VXLAN-1", "OVL-2"]) r.results.find((y) => y.id === id)!.outcome = "fail";
        for (const id of ["CL-1", "CL-2", "NET-1"]) Object.assign(r.results.find((y) => y.id === id)!, { outcome: "unchecked", explanation: "docker1: the Docker engine is not running" });
        r.summary = summarize(r.results);
      }),
    );
    const attrs = (tag: string): Record<string, string> => {
      const m = new RegExp(`<${tag} ([^>]*)>`).exec(x)!;
      return Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((a) => [a[1]!, a[2]!]));
    };
    for (const tag of ["testsuites", "testsuite"]) {
      expect(attrs(tag), tag).toMatchObject({ tests: "29", failures: "2", errors: "3", skipped: "4" });
    }
    const w = wellFormed(x);
    expect(w.ok).toBe(true);
    expect(w.counts["failure"]).toBe(2);
    expect(w.counts["error"]).toBe(3);
    expect(w.counts["skipped"]).toBe(4);
    expect(x).toMatch(/<testcase [^>]*name="CL-1 [^"]*"[^>]*>\n\s*<error type="could-not-check" message="could not check: docker1: the Docker engine is not running">/);
  });

  it("names the hosts' causes as properties of the suite", () => {
    const x = formatJunit(report(withUnreachable));
    expect(x).toMatch(/<testsuite [^>]*>\n\s*<properties>\n\s*<property name="could-not-check" value="docker1: connection refused on port 22"\/>/);
    expect(wellFormed(x).ok).toBe(true);
  });

  it("shows control characters as escapes, so the file stays well-formed XML", () => {
    const x = formatJunit(report(withControlChars));
    expect(x).not.toMatch(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/);
    expect(x).toContain("docker1: eth0\\e]0;owned\\x07 \\x9b31m");
    expect(wellFormed(x).ok).toBe(true);
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
    expect(tc("VXLAN-1")).toMatch(/<failure type="fact-differs" message="docker1: &lt;vxlan0&gt; id 4098 &amp; &quot;dstport&quot; &apos;x&apos; \\x01">expected: demonet/);
    expect(tc("VXLAN-1")).not.toContain("\u0001");
    expect(tc("PATH-2")).toMatch(/<skipped message="traffic checks disabled \(--no-traffic\)"\/>/);
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
