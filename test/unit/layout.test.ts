/**
 * The layout's rules, checked on the source: no import runs back up. Entry points (the CLIs)
 * are imported by nobody; verify's library knows no particular lab (only the Lab interface);
 * and no module imports itself through a cycle.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");
const PRODUCT = ["infra", "labs", "scripts"];
/** Entry points: run by npm scripts or by hand, never imported. */
const ENTRY_POINTS = ["scripts/lab.ts", "scripts/verify.ts", "scripts/diagram.ts", "scripts/plumbing/diagram-cli.ts", "scripts/plumbing/traffic-cli.ts", "infra/index.ts"];
/** The lab-agnostic libraries. */
const LIBRARIES = ["scripts/verify/", "scripts/lib/", "scripts/plumbing/diagram.ts", "scripts/plumbing/from-model.ts"];

function sources(): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (e.name.endsWith(".ts")) out.push(rel);
    }
  };
  for (const d of PRODUCT) walk(d);
  return out.sort();
}

/** The product files a file imports (relative specifiers, resolved to .ts files or index.ts). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(path.join(ROOT, file), "utf8");
  const specs = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|^import\s+)["'](\.{1,2}\/[^"']*)["']/gm)].map((m) => m[1]!);
  const out: string[] = [];
  for (const s of specs) {
    const base = path.posix.normalize(path.posix.join(path.posix.dirname(file), s));
    for (const cand of [base, `${base}.ts`, `${base}/index.ts`]) {
      if (cand.endsWith(".ts") && fs.existsSync(path.join(ROOT, cand)) && fs.statSync(path.join(ROOT, cand)).isFile()) {
        out.push(cand);
        break;
      }
    }
  }
  return out;
}

const graph = new Map(sources().map((f) => [f, importsOf(f)] as const));

describe("layout", () => {
  it("finds the product files and their imports", () => {
    expect(graph.size).toBeGreaterThan(40);
    expect(graph.get("scripts/verify/run.ts")).toContain("labs/lab.ts");
  });

  it("imports no entry point", () => {
    const bad: string[] = [];
    for (const [f, deps] of graph) for (const d of deps) if (ENTRY_POINTS.includes(d)) bad.push(`${f} -> ${d}`);
    expect(bad).toEqual([]);
  });

  it("keeps verify's and the diagram's libraries free of any particular lab", () => {
    const bad: string[] = [];
    for (const [f, deps] of graph) {
      if (!LIBRARIES.some((l) => f === l || f.startsWith(l))) continue;
      for (const d of deps) if (/^labs\/[^/]+\//.test(d) || d === "labs/index.ts") bad.push(`${f} -> ${d}`);
    }
    expect(bad).toEqual([]);
  });

  it("has no import cycle", () => {
    const state = new Map<string, 1 | 2>();
    const cycles: string[] = [];
    const visit = (f: string, stack: string[]): void => {
      state.set(f, 1);
      for (const d of graph.get(f) ?? []) {
        if (state.get(d) === 1) cycles.push([...stack.slice(stack.indexOf(d)), d].join(" -> "));
        else if (!state.has(d)) visit(d, [...stack, d]);
      }
      state.set(f, 2);
    };
    for (const f of graph.keys()) if (!state.has(f)) visit(f, [f]);
    expect(cycles).toEqual([]);
  });
});
