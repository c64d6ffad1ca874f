/**
 * Strict readers for fields of parsed JSON. A field that is absent (or null,
 * where the producer writes null for "none") is undefined; a field that is
 * present with the wrong JSON type, or out of its range, is a ParseError that
 * names the command, the field and the value. Nothing is coerced.
 */
import { badValue, ParseError, parseJsonOutput, splitLines } from "../errors";
import { isIPv4 } from "../../ipv4";

export type JsonObject = Record<string, unknown>;

export const isObj = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

/** A view of one JSON object, with the path that leads to it (for messages). */
export class Fields {
  constructor(
    readonly command: string,
    readonly path: string,
    readonly obj: JsonObject,
  ) {}

  /** Wrap `value` as an object at `path`; anything but an object is a ParseError. */
  static of(command: string, path: string, value: unknown): Fields {
    if (!isObj(value)) throw badValue(command, path, "an object", value);
    return new Fields(command, path, value);
  }

  private name(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined && this.obj[key] !== null;
  }

  raw(key: string): unknown {
    return this.obj[key];
  }

  str(key: string): string | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") throw badValue(this.command, this.name(key), "a string", v);
    return v;
  }

  reqStr(key: string): string {
    const v = this.str(key);
    if (v === undefined) throw badValue(this.command, this.name(key), "a string", this.obj[key]);
    return v;
  }

  /** An integer in [min, max]. */
  int(key: string, min: number, max: number): number | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "number" || !Number.isInteger(v)) throw badValue(this.command, this.name(key), `an integer from ${min} to ${max}`, v);
    if (v < min || v > max) throw badValue(this.command, this.name(key), `an integer from ${min} to ${max}`, v);
    return v;
  }

  reqInt(key: string, min: number, max: number): number {
    const v = this.int(key, min, max);
    if (v === undefined) throw badValue(this.command, this.name(key), `an integer from ${min} to ${max}`, this.obj[key]);
    return v;
  }

  bool(key: string): boolean | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "boolean") throw badValue(this.command, this.name(key), "true or false", v);
    return v;
  }

  obj_(key: string): Fields | undefined {
    const v = this.obj[key];
    if (v === undefined || v === null) return undefined;
    return Fields.of(this.command, this.name(key), v);
  }

  reqObj(key: string): Fields {
    const v = this.obj_(key);
    if (!v) throw badValue(this.command, this.name(key), "an object", this.obj[key]);
    return v;
  }

  /** An array (null and absent: empty). */
  arr(key: string): unknown[] {
    const v = this.obj[key];
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw badValue(this.command, this.name(key), "an array", v);
    return v;
  }

  /** An array of objects, each wrapped with its index in the path. */
  objects(key: string): Fields[] {
    return this.arr(key).map((x, i) => Fields.of(this.command, `${this.name(key)}[${i}]`, x));
  }

  strings(key: string): string[] {
    return this.arr(key).map((x, i) => {
      if (typeof x !== "string") throw badValue(this.command, `${this.name(key)}[${i}]`, "a string", x);
      return x;
    });
  }

  /** An object whose values are all strings (null and absent: empty). */
  stringMap(key: string): Record<string, string> {
    const o = this.obj_(key);
    const out: Record<string, string> = {};
    if (!o) return out;
    for (const [k, v] of Object.entries(o.obj)) {
      if (typeof v !== "string") throw badValue(this.command, `${o.path}[${JSON.stringify(k)}]`, "a string", v);
      out[k] = v;
    }
    return out;
  }

  /** An IPv4 address (optionally with a prefix length) or an IPv6 one, as a string. */
  address(key: string, opts: { prefix?: "required" | "optional" | "none"; allowEmpty?: boolean } = {}): string | undefined {
    const v = this.str(key);
    if (v === undefined || (v === "" && opts.allowEmpty)) return v;
    if (!isAddress(v, opts.prefix ?? "optional")) {
      const what = opts.prefix === "required" ? "an address with a prefix length (a.b.c.d/n)" : opts.prefix === "none" ? "an IP address" : "an IP address or CIDR";
      throw badValue(this.command, this.name(key), what, v);
    }
    return v;
  }

  sub(path: string, value: unknown): Fields {
    return Fields.of(this.command, this.name(path), value);
  }
}

/** IPv4 a.b.c.d (octets 0-255) or IPv6, optionally (or necessarily) followed by /prefix in range. */
export function isAddress(text: string, prefix: "required" | "optional" | "none" = "optional"): boolean {
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(text);
  if (!m) return false;
  if (m[2] === undefined ? prefix === "required" : prefix === "none") return false;
  const v4 = isIPv4(m[1]!);
  const v6 = !v4 && /^[0-9a-fA-F:.]+$/.test(m[1]!) && m[1]!.includes(":");
  if (!v4 && !v6) return false;
  if (m[2] !== undefined && Number(m[2]) > (v4 ? 32 : 128)) return false;
  return true;
}

/**
 * Output that is a JSON array, or one JSON value per line (`--format '{{json .}}'`):
 * either way, the list of values. Empty output is an empty list only with allowEmpty.
 */
export function jsonList(command: string, text: string, opts: { allowEmpty?: boolean } = {}): unknown[] {
  if (text.trim() === "") {
    if (opts.allowEmpty) return [];
    throw new ParseError(command, "empty output (expected JSON)");
  }
  if (text.trimStart().startsWith("[")) {
    const data = parseJsonOutput(command, text);
    if (!Array.isArray(data)) throw new ParseError(command, "expected a JSON array at top level", 1, splitLines(text)[0] ?? "");
    return data;
  }
  const out: unknown[] = [];
  splitLines(text).forEach((line, i) => {
    if (line.trim() === "") return;
    try {
      out.push(JSON.parse(line));
    } catch (e) {
      throw new ParseError(command, `invalid or truncated JSON: ${e instanceof Error ? e.message : String(e)}`, i + 1, line);
    }
  });
  return out;
}
