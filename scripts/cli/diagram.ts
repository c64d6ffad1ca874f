/**
 * Draw the live lab: gather it exactly as verify does (one SSH session per
 * host, read-only; no checks, no traffic), build the model, and write a
 * self-contained SVG of its namespaces, interfaces, veth pairs, bridges and
 * VXLAN tunnels (scripts/lib/diagram: diagramFromModel + Graphviz/WebAssembly),
 * and what the lab adds to the drawing (its `plumbing`: ESP, VLAN tags, published ports).
 *
 *   npx tsx scripts/cli/diagram.ts [--stack NAME | --inventory FILE] [--output FILE.svg]
 *                              [--replay DIR] [--save-raw DIR] [--ip-text]
 *                              [--title TEXT] [--show-mac] [--show-loopback] [--quiet]
 *
 * Default output: .swarmlab/<stack>/lab.svg. --replay DIR draws a gather saved
 * with `verify --save-raw DIR` (or `diagram --save-raw DIR`) without connecting.
 *
 * Exit code: 0 when the SVG was written from every host, 1 when it was written
 * but a host could not be gathered (it is drawn empty, with the reason),
 * 2 for usage or inventory errors, 3 for anything else.
 */
import * as path from "node:path";
import { loadDiagramRenderer, type DiagramInput, type DiagramOptions } from "../lib/diagram/diagram";
import { diagramFromModel } from "../lib/diagram/from-model";
import { progressPrinter } from "../lib/verify/progress";
import { forEachFlag } from "../lib/verify/args";
import { InventoryError, UsageError } from "../lib/verify/errors";
import { prepareOutputFile, preparePrivateDir, writeOutputFile } from "../lib/verify/files";
import { visible } from "../lib/verify/visible";
import { type Gathered, type ProgressEvent, saveRaw, type Transport } from "../lib/verify/gather";
import type { Inventory } from "../lib/verify/inventory";
import type { LabLookup } from "../../labs/lab";
import { buildModel, type LabModel } from "../lib/verify/model";
import { gatherLab } from "../lib/verify/run";
import { labNamed } from "../../labs";

export interface LabDiagramOptions {
  /** Finds the lab the inventory names (default: the registry's, labs/index.ts labNamed). */
  labs?: LabLookup;
  /** Stack whose `.swarmlab/<stack>/inventory.json` to read (default "dev"). */
  stack?: string;
  /** Inventory file (overrides stack). */
  inventoryFile?: string;
  /** An inventory object (overrides both). */
  inventory?: Inventory;
  /** Directory `.swarmlab` lives in (default: cwd); also the base of the default output. */
  cwd?: string;
  /** Where to write the SVG (default `.swarmlab/<stack>/lab.svg` under cwd); false: do not write. */
  output?: string | false;
  /** Draw a saved gather (a --save-raw directory) instead of connecting. */
  replayDir?: string;
  /** Keep what was gathered, as verify's --save-raw does. */
  saveRawDir?: string;
  /** Use the text parsers even where `ip -j` works. */
  forceText?: boolean;
  /** How to reach hosts (default: SSH with the inventory's user and key). */
  transport?: Transport;
  onProgress?: (e: ProgressEvent) => void;
  /** Title drawn above the diagram (default "<lab> / <stack>: the lab as gathered"). */
  title?: string;
  /** Diagram options: MAC addresses, loopbacks. */
  diagram?: DiagramOptions;
}

export interface LabDiagram {
  svg: string;
  /** The file written (absent with output: false). */
  output?: string;
  inventory: Inventory;
  gathered: Gathered;
  model: LabModel;
  /** What was drawn. */
  input: DiagramInput;
  /** SSH sessions opened (0 when replaying). */
  sshSessions: number;
  /** Hosts that could not be gathered (drawn empty, with the reason). */
  unreachable: string[];
  graphvizVersion: string;
  timings: { gatherSeconds: number; renderSeconds: number; totalSeconds: number };
}

export function defaultDiagramPath(stack: string, cwd = process.cwd()): string {
  return path.join(cwd, ".swarmlab", stack, "lab.svg");
}

/** Gather the lab (or replay a gather), draw it, write the SVG. */
export async function renderLabDiagram(opts: LabDiagramOptions = {}): Promise<LabDiagram> {
  const t0 = Date.now();
  // The places it writes to are checked before anything connects.
  const outputOf = (inv: Inventory): string | undefined => (opts.output === false ? undefined : (opts.output ?? defaultDiagramPath(inv.stack, opts.cwd)));
  const { lab, inventory, gathered, gatherSeconds } = await gatherLab({
    ...opts,
    labs: opts.labs ?? labNamed,
    beforeGather: (inv) => {
      const out = outputOf(inv);
      if (out !== undefined) prepareOutputFile(out);
      if (opts.saveRawDir !== undefined) preparePrivateDir(opts.saveRawDir);
    },
  });
  if (opts.saveRawDir) saveRaw(opts.saveRawDir, gathered);
  const model = buildModel(gathered, inventory, { netnsDir: lab.netnsDir });
  const r0 = Date.now();
  // The lab's own plumbing (ESP, VLAN tags, published ports) is drawn with the model.
  const plumbing = lab.plumbing?.(model, inventory);
  const input = diagramFromModel(model, { title: opts.title ?? `${lab.name} / ${inventory.stack}: the lab as gathered`, ...(plumbing ? { plumbing } : {}) });
  const renderer = await loadDiagramRenderer();
  const svg = renderer.renderSvg(input, opts.diagram ?? {});
  const renderSeconds = (Date.now() - r0) / 1000;
  const result: LabDiagram = {
    svg,
    inventory,
    gathered,
    model,
    input,
    sshSessions: gathered.sshSessions,
    unreachable: model.hosts.filter((h) => !h.reachable).map((h) => h.name),
    graphvizVersion: renderer.graphvizVersion,
    timings: { gatherSeconds, renderSeconds, totalSeconds: 0 },
  };
  const out = outputOf(inventory);
  if (out !== undefined) {
    writeOutputFile(out, svg);
    result.output = out;
  }
  result.timings.totalSeconds = (Date.now() - t0) / 1000;
  return result;
}

// ------------------------------------------------------------------- CLI ----

const USAGE = `usage: diagram [--stack NAME (default dev) | --inventory FILE] [--output FILE.svg]
               [--replay DIR] [--save-raw DIR] [--ip-text] [--title TEXT] [--show-mac] [--show-loopback] [--quiet]

  --stack NAME       read .swarmlab/NAME/inventory.json (default: dev)
  --inventory FILE   read this inventory instead
  --output FILE      write the SVG here (default: .swarmlab/<stack>/lab.svg)
  --replay DIR       draw outputs saved with --save-raw (verify's or this one's) instead of connecting
  --save-raw DIR     keep the gathered outputs in DIR (one file per host)
  --ip-text          use iproute2's text output even where ip -j works
  --title TEXT       title drawn above the diagram
  --show-mac         show MAC addresses
  --show-loopback    draw the loopback interfaces
  --quiet            no progress on stderr
`;

export interface DiagramCliArgs {
  options: LabDiagramOptions;
  quiet: boolean;
  help: boolean;
}

export function parseDiagramArgs(argv: readonly string[]): DiagramCliArgs {
  const options: LabDiagramOptions = {};
  const diagram: DiagramOptions = {};
  let quiet = false;
  let help = false;
  forEachFlag(argv, (flag, take, a) => {
    switch (flag) {
      case "--stack":
        options.stack = take();
        break;
      case "--inventory":
        options.inventoryFile = take();
        break;
      case "-o":
      case "--output":
        options.output = take();
        break;
      case "--replay":
        options.replayDir = take();
        break;
      case "--save-raw":
        options.saveRawDir = take();
        break;
      case "--ip-text":
        options.forceText = true;
        break;
      case "--title":
        options.title = take();
        break;
      case "--show-mac":
        diagram.showMac = true;
        break;
      case "--show-loopback":
        diagram.showLoopback = true;
        break;
      case "--quiet":
        quiet = true;
        break;
      case "-h":
      case "--help":
        help = true;
        break;
      default:
        throw new UsageError(`unknown argument ${a}`);
    }
  });
  if (options.stack && options.inventoryFile) throw new UsageError("give --stack or --inventory, not both");
  if (options.replayDir && options.saveRawDir) throw new UsageError("give --replay or --save-raw, not both");
  if (Object.keys(diagram).length) options.diagram = diagram;
  return { options, quiet, help };
}

export async function main(argv: readonly string[]): Promise<number> {
  let args: DiagramCliArgs;
  try {
    args = parseDiagramArgs(argv);
  } catch (e) {
    process.stderr.write(`diagram: ${e instanceof Error ? e.message : String(e)}\n${USAGE}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const options: LabDiagramOptions = { ...args.options };
  if (!args.quiet && !options.replayDir) options.onProgress = progressPrinter();
  try {
    const d = await renderLabDiagram(options);
    const namespaces = d.input.hosts.reduce((n, h) => n + h.namespaces.length, 0);
    process.stderr.write(
      `diagram: ${d.input.hosts.length} hosts, ${namespaces} namespaces, ${d.input.vethPairs.length} veth pairs, ${d.input.tunnels?.length ?? 0} VXLAN tunnels; written to ${d.output}\n`,
    );
    if (d.unreachable.length) {
      process.stderr.write(`diagram: not gathered (drawn empty): ${d.unreachable.join(", ")}\n`);
      return 1;
    }
    return 0;
  } catch (e) {
    if (e instanceof UsageError || e instanceof InventoryError) {
      process.stderr.write(`diagram: ${visible(e.message)}\n`);
      return 2;
    }
    process.stderr.write(`diagram: internal error (a bug): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return 3;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
