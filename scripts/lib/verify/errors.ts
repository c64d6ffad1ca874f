/**
 * Typed errors of the verify pipeline. Parsers never throw anything else on
 * bad input: a garbage, truncated or empty command output becomes a
 * ParseError that names the command and the offending line.
 */

export class ParseError extends Error {
  override readonly name = "ParseError";
  /** The command whose output could not be parsed, e.g. `ip -d link show`. */
  readonly command: string;
  /** 1-based line number of the offending line (0 when the whole output is at fault). */
  readonly lineNumber: number;
  /** The offending line itself (possibly shortened), or "" when not line-specific. */
  readonly line: string;
  readonly reason: string;
  /** The offending field (e.g. `entry 3 (vxlan0).linkinfo.info_data.id`), when a value was at fault. */
  field?: string;
  /** The offending value as JSON (possibly shortened), when a value was at fault. */
  value?: string;

  constructor(command: string, reason: string, lineNumber = 0, line = "") {
    const shown = line.length > 160 ? `${line.slice(0, 157)}...` : line;
    super(
      lineNumber > 0
        ? `cannot parse output of \`${command}\`: ${reason} (line ${lineNumber}: ${JSON.stringify(shown)})`
        : `cannot parse output of \`${command}\`: ${reason}`,
    );
    this.command = command;
    this.lineNumber = lineNumber;
    this.line = shown;
    this.reason = reason;
  }
}

/** A value of the wrong type or out of range: names the command, the field and the value. */
export function badValue(command: string, field: string, expected: string, value: unknown): ParseError {
  let shown = value === undefined ? "nothing" : JSON.stringify(value) ?? String(value);
  if (shown.length > 80) shown = `${shown.slice(0, 77)}...`;
  const e = new ParseError(command, `${field}: expected ${expected}, got ${shown}`);
  e.field = field;
  e.value = shown;
  return e;
}

export class InventoryError extends Error {
  override readonly name = "InventoryError";
  /** Dotted path of the offending field, e.g. `hosts[1].address`; "" for the whole file. */
  readonly field: string;
  constructor(field: string, message: string, readonly file?: string) {
    super(`${file ? `${file}: ` : ""}${field ? `${field}: ` : ""}${message}`);
    this.field = field;
  }
}

export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** Split text into lines without the trailing empty line a final newline produces. */
export function splitLines(text: string): string[] {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}

/** Parse JSON, turning a syntax error into a ParseError that points at the line. */
export function parseJsonOutput(command: string, text: string): unknown {
  if (text.trim() === "") throw new ParseError(command, "empty output (expected JSON)");
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const m = /position (\d+)/.exec(msg);
    if (m) {
      const pos = Number(m[1]);
      const before = text.slice(0, pos);
      const lineNumber = before.split("\n").length;
      const line = text.split("\n")[lineNumber - 1] ?? "";
      throw new ParseError(command, `invalid or truncated JSON: ${msg}`, lineNumber, line);
    }
    const lines = splitLines(text);
    throw new ParseError(command, `invalid or truncated JSON: ${msg}`, lines.length, lines[lines.length - 1] ?? "");
  }
}
