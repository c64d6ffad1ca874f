/**
 * Command-line flags shared by the verify and diagram CLIs: `--flag value` and
 * `--flag=value` both work; a value that looks like a flag, or an empty one, is refused.
 */
import { UsageError } from "./errors";

/**
 * Calls `handle` once per argument with the flag (without any `=value`) and a
 * `take()` that returns the flag's value, consuming the next argument when the
 * value was not given inline. `raw` is the argument as typed (for messages).
 */
export function forEachFlag(argv: readonly string[], handle: (flag: string, take: () => string, raw: string) => void): void {
  for (let i = 0; i < argv.length; i++) {
    const raw = argv[i]!;
    const eq = raw.indexOf("=");
    const inline = raw.startsWith("--") && eq > 0;
    const flag = inline ? raw.slice(0, eq) : raw;
    handle(flag, () => {
      // An empty value (--format=, --output "") is never meant: it would silently mean "none".
      if (inline) {
        const v = raw.slice(eq + 1);
        if (v === "") throw new UsageError(`${flag} needs a value`);
        return v;
      }
      const v = argv[i + 1];
      if (v === undefined || v.startsWith("--") || v === "") throw new UsageError(`${flag} needs a value`);
      i++;
      return v;
    }, raw);
  }
}
