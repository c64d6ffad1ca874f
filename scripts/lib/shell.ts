/**
 * The one shell-quoting module: every script swarmlab generates (infra's guest steps, verify's
 * gather script, a lab's workload and probes) quotes values with it.
 */

/** Single-quotes a value for bash: the value comes back as one word, taken literally. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
