/** Fixture loaders shared by the verify unit tests. */
import * as fs from "node:fs";
import * as path from "node:path";
import { swarmOverlayLab } from "../../../labs/swarm-overlay/lab";
import { runChecks, type CheckContext } from "../../../labs/swarm-overlay/checks";
import type { FactResult } from "../../../scripts/lib/verify/result";
import { gatheredFromText, type Gathered } from "../../../scripts/lib/verify/gather";
import { parseFramedOutput } from "../../../scripts/lib/framing";
import { type Inventory, validateInventory } from "../../../scripts/lib/verify/inventory";
import { buildModel, type HostModel, type LabModel, type Namespace } from "../../../scripts/lib/verify/model";

export const FIXTURES = path.resolve(__dirname, "../../fixtures/verify");

export interface SeedSection {
  command: string;
  output: string;
}

/** Sections of a seed fixture: "=== key :: command" headers, then the output verbatim. */
export function loadSeed(name: "seed-000" | "seed-002" | "seed-004"): Record<string, SeedSection> {
  const text = fs.readFileSync(path.join(FIXTURES, "seeds", `${name}.txt`), "utf8");
  const out: Record<string, SeedSection> = {};
  let cur: { key: string; command: string; lines: string[] } | undefined;
  const flush = (): void => {
    if (cur) out[cur.key] = { command: cur.command, output: cur.lines.length ? `${cur.lines.join("\n")}\n` : "" };
  };
  for (const line of text.replace(/\n$/, "").split("\n")) {
    const m = /^=== (\S+) :: (.*)$/.exec(line);
    if (m) {
      flush();
      cur = { key: m[1]!, command: m[2]!, lines: [] };
    } else cur?.lines.push(line);
  }
  flush();
  return out;
}

export function seedOutput(name: "seed-000" | "seed-002" | "seed-004", key: string): string {
  const s = loadSeed(name)[key];
  if (!s) throw new Error(`no section ${key} in ${name}`);
  return s.output;
}

/** Frame outputs the way the gather script does. */
export function frame(sections: Record<string, string | { output: string; rc?: number; stderr?: string }>, done = true): string {
  let text = "";
  let n = 0;
  for (const [key, v] of Object.entries(sections)) {
    const s = typeof v === "string" ? { output: v } : v;
    const bytes = Buffer.byteLength(s.output);
    text += `@@swarmlab:begin ${key}\n${s.output}${s.output && !s.output.endsWith("\n") ? "\n" : ""}@@swarmlab:end ${key} rc=${s.rc ?? 0} bytes=${bytes}\n`;
    if (s.stderr) text += `@@swarmlab:stderr ${key}\n${s.stderr}\n@@swarmlab:stderr-end ${key}\n`;
    n++;
  }
  if (done) text += `@@swarmlab:done sections=${n}\n`;
  return text;
}

/**
 * Edit a framed gather output section by section and frame it again, with
 * sizes that match (a section whose size does not match is discarded).
 * `edit` gets each section's output and key; sections it maps to undefined are dropped.
 */
export function reframe(text: string, edit: (output: string, key: string) => string | undefined): string {
  const framed = parseFramedOutput(text);
  const out: Record<string, { output: string; rc: number; stderr?: string }> = {};
  for (const [key, s] of Object.entries(framed.sections)) {
    const o = edit(s.output, key);
    if (o === undefined) continue;
    out[key] = { output: o, rc: s.rc, ...(s.stderr ? { stderr: s.stderr } : {}) };
  }
  return frame(out, framed.complete);
}

export type Mode = "json" | "text";

export function liveLikeText(mode: Mode, host: "docker0" | "docker1"): string {
  return fs.readFileSync(path.join(FIXTURES, "live-like", mode, `${host}.txt`), "utf8");
}

/** One section of a live-like capture. */
export function liveSection(mode: Mode, host: "docker0" | "docker1", key: string): string {
  const s = parseFramedOutput(liveLikeText(mode, host)).sections[key];
  if (!s) throw new Error(`no section ${key} in live-like/${mode}/${host}`);
  return s.output;
}

export function liveInventory(): Inventory {
  return validateInventory(JSON.parse(fs.readFileSync(path.join(FIXTURES, "live-like", "inventory.json"), "utf8")), { checkKeyFile: false });
}

export function liveGathered(mode: Mode = "json", edit?: (host: "docker0" | "docker1", text: string) => string): { inventory: Inventory; gathered: Gathered } {
  const inventory = liveInventory();
  const outputs: Record<string, string> = {};
  for (const h of ["docker0", "docker1"] as const) outputs[h] = edit ? edit(h, liveLikeText(mode, h)) : liveLikeText(mode, h);
  return { inventory, gathered: gatheredFromText(inventory, outputs) };
}

export function liveModel(mode: Mode = "json"): { inventory: Inventory; model: LabModel } {
  const { inventory, gathered } = liveGathered(mode);
  return { inventory, model: buildModel(gathered, inventory) };
}

export function check(model: LabModel, inventory: Inventory, only?: string[]): FactResult[] {
  return runChecks({ model, lab: swarmOverlayLab, inventory }, only ? { only } : {});
}

export function outcomes(results: FactResult[]): Record<string, string> {
  return Object.fromEntries(results.map((r) => [r.id, r.outcome]));
}

export function failing(results: FactResult[]): string[] {
  return results.filter((r) => r.outcome === "fail").map((r) => r.id);
}

/** Deep copy of a model, to mutate freely. */
export function clone<T>(x: T): T {
  return structuredClone(x);
}

/** A host of a model, by name. */
export const hostIn = (m: LabModel, name: string): HostModel => m.hosts.find((h) => h.name === name)!;

/** A namespace of a host, by id or kind; throws when there is none. */
export function namespaceIn(m: LabModel, h: string, idOrKind: string): Namespace {
  const x = hostIn(m, h).namespaces.find((n) => n.id === idOrKind || n.kind === idOrKind);
  if (!x) throw new Error(`no namespace ${idOrKind} on ${h}`);
  return x;
}
