/** Progress lines on stderr, for the verify and diagram CLIs. */
import type { ProgressEvent } from "./gather";
import { visible } from "./visible";

/** Progress lines on stderr (verify and the diagram). */
export function progressPrinter(): (e: ProgressEvent) => void {
  const raw = progressLine();
  return (e) => {
    const line = raw(e);
    if (line) process.stderr.write(`${visible(line)}\n`);
  };
}

/** The progress line for an event (undefined: nothing to say). Observed text is escaped by the caller. */
function progressLine(): (e: ProgressEvent) => string | undefined {
  return (e) => {
    switch (e.phase) {
      case "connecting":
        return `${e.host}: connecting to ${e.address}`;
      case "connected":
        return `${e.host}: connected`;
      case "section":
        return e.sections % 10 === 0 ? `${e.host}: gathered ${e.sections} sections` : undefined;
      case "done":
        return `${e.host}: gathered ${e.sections} sections in ${e.seconds.toFixed(1)}s`;
      case "error":
        return `${e.host}: could not be gathered: ${e.message}`;
      case "traffic":
        return `${e.host}: ${e.message}`;
    }
  };
}
