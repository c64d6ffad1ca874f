/**
 * Draw the lab from a JSON file.
 *
 *   npx tsx scripts/cli/diagram-cli.ts INPUT.json [-o OUT.svg] [--html OUT.html]
 *        [--facts FACTS.json] [--title TEXT] [--show-loopback] [--show-mac] [--dot]
 *
 * INPUT.json is a DiagramInput (see diagram.ts; example:
 * test/fixtures/plumbing/lab-docker2010.json) or verify's LabModel (as built by
 * scripts/lib/verify/model.ts), which is converted with from-model.ts.
 * --html also writes a self-contained report page; --facts gives it the facts
 * table (a JSON array of {id,title,outcome,expected,observed,seed,section,explanation}).
 * --dot prints the Graphviz source instead of rendering.
 */
import * as fs from "node:fs";
import { buildDot, loadDiagramRenderer, renderHtmlReport, type DiagramInput, type DiagramOptions, type ReportFact } from "../lib/diagram/diagram";
import { diagramFromModel, looksLikeLabModel } from "../lib/diagram/from-model";

interface Args {
  input: string;
  out?: string;
  html?: string;
  facts?: string;
  title?: string;
  dot: boolean;
  opts: DiagramOptions;
}

function usage(msg?: string): never {
  throw new Error(`${msg ? `${msg}\n` : ""}usage: diagram-cli.ts INPUT.json [-o OUT.svg] [--html OUT.html] [--facts FACTS.json] [--title TEXT] [--show-loopback] [--show-mac] [--dot]`);
}

function parseArgs(argv: string[]): Args {
  const a: Args = { input: "", dot: false, opts: {} };
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i]!;
    const next = (): string => argv[++i] ?? usage(`${v} needs a value`);
    if (v === "-o" || v === "--out") a.out = next();
    else if (v === "--html") a.html = next();
    else if (v === "--facts") a.facts = next();
    else if (v === "--title") a.title = next();
    else if (v === "--show-loopback") a.opts.showLoopback = true;
    else if (v === "--show-mac") a.opts.showMac = true;
    else if (v === "--dot") a.dot = true;
    else if (v === "-h" || v === "--help") usage();
    else if (v.startsWith("-")) usage(`unknown option ${v}`);
    else if (!a.input) a.input = v;
    else usage(`unexpected argument ${v}`);
  }
  if (!a.input) usage("no input file");
  return a;
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const raw = readJson(args.input);
  const input: DiagramInput = looksLikeLabModel(raw) ? diagramFromModel(raw) : (raw as DiagramInput);
  if (args.title) input.title = args.title;
  if (args.dot) {
    process.stdout.write(buildDot(input, args.opts));
    return 0;
  }
  const renderer = await loadDiagramRenderer();
  const svg = renderer.renderSvg(input, args.opts);
  if (args.out) fs.writeFileSync(args.out, svg);
  else if (!args.html) process.stdout.write(svg);
  if (args.html) {
    const facts = args.facts ? (readJson(args.facts) as ReportFact[]) : [];
    fs.writeFileSync(args.html, renderHtmlReport({ facts, svg, meta: { title: input.title ?? "swarmlab lab diagram", generatedAt: new Date().toISOString(), graphviz: renderer.graphvizVersion } }));
  }
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
      process.exitCode = 2;
    },
  );
}
