/**
 * Observed data (interface names, command output, error text from a host) is
 * printed, never interpreted: control characters become visible escapes, so
 * an interface named "\x1b]0;owned\x07" cannot retitle a terminal, forge a
 * report line, or break an XML or SVG file.
 */

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t", "\x1b": "\\e" };

/** C0 controls, DEL, C1 controls, and the Unicode line/paragraph separators. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

export function visible(s: string): string {
  return s.replace(CONTROL, (c) => {
    const code = c.charCodeAt(0);
    return NAMED[c] ?? (code > 0xff ? `\\u${code.toString(16)}` : `\\x${code.toString(16).padStart(2, "0")}`);
  });
}

/** The same, but keeping line breaks and tabs (for multi-line text such as details blocks). */
export function visibleLines(s: string): string {
  return s.split("\n").map((l) => visible(l).replace(/\\t/g, "\t")).join("\n");
}
