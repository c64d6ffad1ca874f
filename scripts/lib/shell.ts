/**
 * The one shell-quoting module: every script swarmlab generates (infra's guest steps, verify's
 * gather script, a lab's workload and probes) quotes values with it.
 */

/** Single-quotes a value for bash: the value comes back as one word, taken literally. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** The first lines of every guest script: strict mode and a `fail` that names swarmlab. */
export const BASH_HEADER = `set -euo pipefail
fail() { echo "swarmlab: $*" >&2; exit 1; }
`;
