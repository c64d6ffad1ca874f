/**
 * The "html" report format: one self-contained page with the facts table and
 * a diagram of the lab drawn from the gathered model (scripts/lib/diagram:
 * diagramFromModel, Graphviz compiled to WebAssembly, offline).
 *
 * Importing this module registers the format. Graphviz loads asynchronously,
 * so the format has a `prepare` step (runVerify calls prepareFormat); if it
 * cannot load, the page is still written, saying why the diagram is missing.
 */
import { loadDiagramRenderer, type DiagramRenderer } from "../diagram/diagram";
import { htmlFormatter } from "../diagram/from-model";
import { registerFormat, type VerifyReport } from "./report";

let renderer: DiagramRenderer | undefined;
let loadError: string | undefined;
let loading: Promise<void> | undefined;

/** Load Graphviz once (later calls reuse it). Never throws: a failure is remembered and shown in the page. */
export function prepareHtml(): Promise<void> {
  loading ??= loadDiagramRenderer().then(
    (r) => {
      renderer = r;
    },
    (e: unknown) => {
      loadError = `the diagram renderer (Graphviz/WebAssembly) could not be loaded: ${e instanceof Error ? e.message : String(e)}`;
    },
  );
  return loading;
}

function unavailable(why: string): DiagramRenderer {
  const fail = (): never => {
    throw new Error(why);
  };
  return { graphvizVersion: "", renderSvg: fail, renderDot: fail };
}

/** Render the page (synchronous; call prepareHtml() first, or the page says the diagram is missing). */
export function formatHtml(report: VerifyReport): string {
  const r = renderer ?? unavailable(loadError ?? 'the diagram renderer was not loaded (prepareFormat("html") was not called)');
  return htmlFormatter(r)(report);
}

registerFormat("html", formatHtml, { prepare: prepareHtml });
