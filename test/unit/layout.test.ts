/**
 * The layout's rules, checked on the source: no import runs back up. Entry points (the CLIs,
 * all in scripts/cli/, nothing else there) are imported by nobody; the libraries in
 * scripts/lib/ import no entry point and know no particular lab (only the Lab interface); and
 * no module imports itself through a cycle.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(__dirname, "../..");
const PRODUCT = ["infra", "labs", "scripts"];
/** Entry points: run by npm scripts or by hand, never imported. */
const ENTRY_POINTS = ["scripts/cli/lab.ts", "scripts/cli/verify.ts", "scripts/cli/diagram.ts", "scripts/cli/diagram-cli.ts", "scripts/cli/traffic-cli.ts", "scripts/cli/class.ts", "infra/index.ts"];
/** The lab-agnostic libraries. */
const LIBRARIES = ["scripts/lib/"];

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
    expect(graph.get("scripts/lib/verify/run.ts")).toContain("labs/lab.ts");
  });

  it("keeps the entry points in scripts/cli/, and nothing else there", () => {
    const cli = [...graph.keys()].filter((f) => f.startsWith("scripts/cli/"));
    expect(cli.sort()).toEqual(ENTRY_POINTS.filter((f) => f.startsWith("scripts/cli/")).sort());
    expect(fs.readdirSync(path.join(ROOT, "scripts/cli")).filter((f) => !f.endsWith(".ts"))).toEqual([]);
    // scripts/ itself holds the two shell entry points besides cli/ and lib/ (an empty folder left by git does not count)
    const top = fs.readdirSync(path.join(ROOT, "scripts"), { withFileTypes: true }).filter((e) => !e.isDirectory() || fs.readdirSync(path.join(ROOT, "scripts", e.name), { recursive: true }).some((f) => fs.statSync(path.join(ROOT, "scripts", e.name, String(f))).isFile()));
    expect(top.map((e) => e.name).sort()).toEqual(["cli", "install-host-deps.sh", "lib", "preflight.sh"]);
  });

  it("imports no entry point", () => {
    const bad: string[] = [];
    for (const [f, deps] of graph) for (const d of deps) if (ENTRY_POINTS.includes(d)) bad.push(`${f} -> ${d}`);
    expect(bad).toEqual([]);
  });

  it("keeps the libraries (scripts/lib/) free of any particular lab", () => {
    const bad: string[] = [];
    for (const [f, deps] of graph) {
      if (!LIBRARIES.some((l) => f === l || f.startsWith(l))) continue;
      for (const d of deps) if (/^labs\/[^/]+\//.test(d) || d === "labs/index.ts") bad.push(`${f} -> ${d}`);
    }
    expect(bad).toEqual([]);
  });

  it("has no library importing anything under scripts/cli/", () => {
    const bad: string[] = [];
    for (const [f, deps] of graph) {
      if (!f.startsWith("scripts/lib/")) continue;
      for (const d of deps) if (d.startsWith("scripts/cli/")) bad.push(`${f} -> ${d}`);
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

  it("names only files that exist where a program is run by its path (path.join(ROOT, ...) and package.json)", () => {
    const missing: string[] = [];
    const files = [...sources(), ...fs.readdirSync(path.join(ROOT, "test/e2e")).map((f) => `test/e2e/${f}`), ...fs.readdirSync(path.join(ROOT, "test/harness")).filter((f) => f.endsWith(".ts")).map((f) => `test/harness/${f}`)];
    let seen = 0;
    for (const f of files) {
      const text = fs.readFileSync(path.join(ROOT, f), "utf8");
      for (const m of text.matchAll(/path\.(?:join|resolve)\(ROOT,\s*((?:"[^"]+"\s*,?\s*)+)\)/g)) {
        const parts = [...m[1]!.matchAll(/"([^"]+)"/g)].map((x) => x[1]!);
        const rel = path.join(...parts);
        if (!/\.(ts|sh|py)$/.test(rel)) continue;
        seen++;
        if (!fs.existsSync(path.join(ROOT, rel))) missing.push(`${f}: ${rel}`);
      }
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { scripts: Record<string, string> };
    for (const [name, cmd] of Object.entries(pkg.scripts)) {
      for (const m of cmd.matchAll(/(?:^|\s)((?:scripts|test|infra)\/[\w./-]+\.(?:ts|sh))/g)) {
        seen++;
        if (!fs.existsSync(path.join(ROOT, m[1]!))) missing.push(`package.json ${name}: ${m[1]}`);
      }
    }
    expect(seen).toBeGreaterThan(10);
    expect(missing).toEqual([]);
  });
});
