/**
 * Column-aligned tables as the docker CLI prints them (Go tabwriter): the
 * header's labels are separated by two or more spaces and every cell starts
 * at its label's column.
 */
import { ParseError, splitLines } from "../errors";

export interface TableRow {
  lineNumber: number;
  line: string;
  cells: Record<string, string>;
}

/**
 * Parse a docker table. `required` lists the labels the header must contain
 * (case-sensitive, e.g. "MANAGER STATUS"); `nonEmpty` lists columns every row
 * must fill, so a row cut short is reported instead of silently accepted.
 */
export function parseDockerTable(
  text: string,
  command: string,
  required: string[],
  nonEmpty: string[] = [],
): TableRow[] {
  const lines = splitLines(text);
  const firstIdx = lines.findIndex((l) => l.trim() !== "");
  if (firstIdx < 0) throw new ParseError(command, "empty output (expected a table with a header)");
  const header = lines[firstIdx]!;
  const columns: { label: string; start: number }[] = [];
  const re = /\S+(?: \S+)*/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(header)) !== null) columns.push({ label: m[0], start: m.index });
  for (const r of required) {
    if (!columns.some((c) => c.label === r)) {
      throw new ParseError(command, `header lacks column "${r}"`, firstIdx + 1, header);
    }
  }
  const rows: TableRow[] = [];
  for (let i = firstIdx + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === "") continue;
    const cells: Record<string, string> = {};
    columns.forEach((c, ci) => {
      const end = ci + 1 < columns.length ? columns[ci + 1]!.start : undefined;
      cells[c.label] = line.slice(c.start, end).trim();
    });
    // A non-space character right before a column start means the row is not aligned with the header.
    for (const c of columns.slice(1)) {
      const before = line.slice(Math.max(0, c.start - 1), c.start);
      const at = line.slice(c.start, c.start + 1);
      if (before.trim() !== "" && at.trim() !== "" && line.length > c.start) {
        throw new ParseError(command, `row is not aligned with column "${c.label}"`, i + 1, line);
      }
    }
    for (const col of nonEmpty) {
      if (!cells[col]) throw new ParseError(command, `row has an empty "${col}" (truncated or misaligned?)`, i + 1, line);
    }
    rows.push({ lineNumber: i + 1, line, cells });
  }
  return rows;
}
