/**
 * The one output framing protocol of the scripts swarmlab runs on a host (verify's gather
 * script, a lab's traffic probe). Each command's output is printed exactly once, framed as
 *
 *   @@swarmlab:begin <key>
 *   <stdout of the command, verbatim>
 *   @@swarmlab:end <key> rc=<exit code> bytes=<stdout size>[ ms=<elapsed>]
 *   [@@swarmlab:stderr <key> ... @@swarmlab:stderr-end <key>]
 *
 * and finally `@@swarmlab:done sections=<n>[ ms=<total>]`, so a command that failed, is
 * missing, or was cut off is visible to the parser instead of looking like an empty output.
 */
import { ParseError, splitLines } from "./verify/errors";

export const MARK = "@@swarmlab:";


export interface RawSection {
  key: string;
  /** Exit code of the command (127: not installed, 1: failed...). */
  rc: number;
  /** stdout, verbatim. */
  output: string;
  stderr?: string;
  /** How long the command took, in milliseconds (absent where the shell cannot tell). */
  ms?: number;
}

export interface FramedOutput {
  sections: Record<string, RawSection>;
  /** The script reached its end (`@@swarmlab:done`). */
  complete: boolean;
  /** Framing problems: cut-off sections, size mismatches, missing done marker. */
  problems: string[];
  /** Sections that arrived but were not kept (size mismatch, repeated key), with why. */
  discarded: Record<string, string>;
  /** Lines printed outside any section (login banners, sudo chatter). */
  stray: string[];
  /** How long the whole script ran, in milliseconds (where the shell can tell). */
  ms?: number;
}

/** Split a framed script's stdout back into sections. Throws ParseError when no section is present at all. */
export function parseFramedOutput(text: string, command = "gather script"): FramedOutput {
  const lines = splitLines(text);
  const out: FramedOutput = { sections: {}, complete: false, problems: [], stray: [], discarded: {} };
  let cur: { key: string; body: string[]; startLine: number } | undefined;
  let err: { key: string; body: string[] } | undefined;
  let sawAny = false;
  let declared: number | undefined;
  lines.forEach((line, idx) => {
    if (err) {
      if (line === `${MARK}stderr-end ${err.key}`) {
        const s = out.sections[err.key];
        if (s) s.stderr = err.body.join("\n");
        err = undefined;
      } else err.body.push(line);
      return;
    }
    if (cur) {
      const em = /^@@swarmlab:end (\S+) rc=(-?\d+) bytes=(\d+)(?: ms=(\d+))?$/.exec(line);
      if (em && em[1] === cur.key) {
        const output = cur.body.length ? `${cur.body.join("\n")}\n` : "";
        const bytes = Number(em[3]);
        const got = Buffer.byteLength(output);
        // bytes+1: the script ended an output that lacked a final newline with one.
        if (got !== bytes && got !== bytes + 1) {
          // A section whose size does not match was damaged on the way: never use it.
          const why = `${bytes} bytes announced, ${got} received`;
          out.problems.push(`section ${cur.key}: ${why}; discarded (output corrupted?)`);
          out.discarded[cur.key] = why;
          delete out.sections[cur.key];
        } else if (out.sections[cur.key] || out.discarded[cur.key]) {
          out.problems.push(`section ${cur.key} appears twice; the second one is discarded`);
        } else {
          const section: RawSection = { key: cur.key, rc: Number(em[2]), output: got === bytes + 1 ? output.slice(0, -1) : output };
          if (em[4] !== undefined) section.ms = Number(em[4]);
          out.sections[cur.key] = section;
        }
        cur = undefined;
        return;
      }
      if (line.startsWith(`${MARK}begin `)) {
        out.problems.push(`section ${cur.key} (line ${cur.startLine}) has no end marker: output cut off`);
        cur = undefined;
        // fall through: handle the new begin below
      } else {
        cur.body.push(line);
        return;
      }
    }
    const bm = /^@@swarmlab:begin (\S+)$/.exec(line);
    if (bm) {
      sawAny = true;
      cur = { key: bm[1]!, body: [], startLine: idx + 1 };
      return;
    }
    const sm = /^@@swarmlab:stderr (\S+)$/.exec(line);
    if (sm) {
      err = { key: sm[1]!, body: [] };
      return;
    }
    const dm = /^@@swarmlab:done sections=(\d+)(?: ms=(\d+))?$/.exec(line);
    if (dm) {
      out.complete = true;
      declared = Number(dm[1]);
      if (dm[2] !== undefined) out.ms = Number(dm[2]);
      return;
    }
    if (line.trim() !== "") out.stray.push(line);
  });
  if (cur) out.problems.push(`section ${cur.key} (line ${cur.startLine}) has no end marker: output cut off`);
  if (!sawAny) {
    throw new ParseError(command, "no @@swarmlab sections found (did the script run at all?)", lines.length ? 1 : 0, lines[0] ?? "");
  }
  if (!out.complete) out.problems.push("the script's output ended before its done marker (connection lost or script killed?)");
  else if (declared !== undefined && declared !== Object.keys(out.sections).length + Object.keys(out.discarded).length) {
    out.problems.push(`the script announced ${declared} sections, ${Object.keys(out.sections).length} arrived intact`);
  }
  return out;
}

/**
 * The framing in bash, for the probes' scripts (the gather script has its own, built for
 * concurrency): `swl_section KEY CMD [ARGS...]` runs CMD once (stdin from /dev/null) and prints
 * its framed stdout, exit code and stderr; `swl_done` prints the closing marker. Keys are one
 * word ([A-Za-z0-9_./@:-]). Needs bash 4.2 and mktemp.
 */
export const FRAMING_BASH = `export LC_ALL=C
swl_tmp=$(mktemp -d) || exit 97
trap 'rm -rf "$swl_tmp"' EXIT
swl_count=0
swl_section() {
  local key=$1 rc out err
  shift
  "$@" >"$swl_tmp/out" 2>"$swl_tmp/err" </dev/null
  rc=$?
  out=""
  IFS= read -r -d '' out <"$swl_tmp/out"
  printf '${MARK}begin %s\\n%s' "$key" "$out"
  if [ -n "$out" ] && [ "\${out: -1}" != $'\\n' ]; then printf '\\n'; fi
  printf '${MARK}end %s rc=%d bytes=%d\\n' "$key" "$rc" "\${#out}"
  if [ -s "$swl_tmp/err" ]; then
    err=""
    IFS= read -r -d '' err <"$swl_tmp/err"
    err=\${err:0:2000}
    err=\${err//$'\\n'@@/$'\\n'@ @}
    [ "\${err:0:2}" = "@@" ] && err="@ @\${err:2}"
    printf '${MARK}stderr %s\\n%s' "$key" "$err"
    if [ "\${err: -1}" != $'\\n' ]; then printf '\\n'; fi
    printf '${MARK}stderr-end %s\\n' "$key"
  fi
  swl_count=$((swl_count + 1))
  return "$rc"
}
swl_done() { printf '${MARK}done sections=%d\\n' "$swl_count"; }
`;
