/**
 * Every script swarmlab runs on a guest must run under CentOS 7's bash 4.2. No bash 4.2 can be
 * had here, so this lints for what bash 4.2 lacks (each rule checked against a sample, and
 * bash 4.2's own constructs allowed), and checks the syntax with bash -n. The scripts' behaviour
 * is run in bash's 4.2 compatibility mode in docker-install.test.ts; that mode changes some
 * behaviour but does not take the newer features away, hence the lint.
 *
 * Not caught: "${a[@]}" of an empty array under `set -u`, an error in bash before 4.4. The
 * guest scripts expand only arrays that hold at least one element.
 */
import { spawnSync } from "child_process";
import { describe, expect, it } from "vitest";
import { centos7NetworkFix } from "../../../../infra/guest/cloudinit";
import { asRoot, dockerInstallScript, swarmInitScript, swarmJoinScript, waitReadyScript } from "../../../../infra/guest/scripts";
import { overlayReadyScript, workloadScript } from "../../../../labs/swarm-overlay/workload";
import { buildTrafficScript } from "../../../../labs/swarm-overlay/traffic";
import { buildGatherScript } from "../../../../scripts/lib/verify/gather-script";
import { LAB_PLAN, WORKLOAD_ARGS } from "../../lab-values";

/** What bash 4.2 does not have, with the bash release that brought it. */
const NEWER_THAN_BASH42: { name: string; since: string; re: RegExp; sample: string }[] = [
  { name: "EPOCHREALTIME", since: "5.0", re: /\bEPOCHREALTIME\b/, sample: "t=${EPOCHREALTIME/./}" },
  { name: "EPOCHSECONDS", since: "5.0", re: /\bEPOCHSECONDS\b/, sample: "t=$EPOCHSECONDS" },
  { name: "SRANDOM", since: "5.1", re: /\bSRANDOM\b/, sample: "n=$SRANDOM" },
  { name: "BASH_ARGV0", since: "5.0", re: /\bBASH_ARGV0\b/, sample: "BASH_ARGV0=x" },
  { name: "${var@Q} and the other @ transformations", since: "4.4", re: /\$\{[^}]*@[QEPAaKkUuL]\}/, sample: 'echo "${v@Q}"' },
  { name: "wait -n / -p / -f", since: "4.3 / 5.1 / 5.0", re: /\bwait\s+(-\S*\s+)*-[a-z]*[npf]/, sample: "wait -n -p pid" },
  { name: "mapfile -d / readarray -d", since: "4.4", re: /\b(mapfile|readarray)\b[^\n;|&]*\s-[a-zA-Z]*d/, sample: "mapfile -t -d '' a <f" },
  { name: "namerefs (declare -n, local -n)", since: "4.3", re: /\b(declare|local|typeset)\s+-[a-zA-Z]*n/, sample: "local -n ref=$1" },
  { name: "negative array subscripts", since: "4.3", re: /\$\{\w+\[-\d+\]\}/, sample: 'echo "${a[-1]}"' },
  { name: "local - (saving set options)", since: "4.4", re: /\blocal\s+-(\s|;|$)/m, sample: "f() { local -; set +e; }" },
  { name: "test -R (nameref set)", since: "4.3", re: /\[\[?\s+-R\s/, sample: "[[ -R ref ]]" },
  {
    name: "newer shopt options",
    since: "4.3-5.2",
    re: /\bshopt\s+-[su]\s+[^\n;]*\b(inherit_errexit|localvar_inherit|localvar_unset|assoc_expand_once|globasciiranges|patsub_replacement|varredir_close|noexpand_translation|array_expand_once)\b/,
    sample: "shopt -s inherit_errexit",
  },
];

/** The rules a script breaks, with the line each was found on. */
function bash42Problems(script: string): string[] {
  const lines = script.split("\n");
  const problems: string[] = [];
  for (const rule of NEWER_THAN_BASH42) {
    lines.forEach((line, i) => {
      if (/^\s*#/.test(line)) return;
      if (rule.re.test(line)) problems.push(`line ${i + 1}: ${rule.name} (bash ${rule.since}): ${line.trim()}`);
    });
  }
  return problems;
}

const workload = { ...WORKLOAD_ARGS, pull: false, timeoutSec: 300 };

/** Every script a guest runs, as it is sent. */
const GUEST_SCRIPTS: Record<string, string> = {
  waitReady: waitReadyScript("docker0.local"),
  docker: dockerInstallScript({}),
  dockerPinned: dockerInstallScript({ version: "20.10" }),
  swarmInit: swarmInitScript("192.168.122.10", { pool: "10.255.0.0/16", maskLength: 16 }),
  swarmJoin: swarmJoinScript("192.168.122.10", 2377),
  workload: workloadScript(workload),
  workloadPull: workloadScript({ ...workload, pull: true }),
  overlayReady: overlayReadyScript({ service: "demoservice", overlay: "demonet", timeoutSec: 60 }),
  asRoot: asRoot("docker", dockerInstallScript({ version: "24.0.7" })),
  traffic: buildTrafficScript(LAB_PLAN),
};

/**
 * verify's gather script times its sections with ${EPOCHREALTIME/./} where bash has it and
 * records no time where it does not (bash 4.2 expands the unset name to nothing). That one
 * form is allowed, as long as the script does not run with `set -u`, under which the unset
 * name would be an error.
 */
const GATHER = buildGatherScript({ service: "demoservice", overlay: "demonet" });

describe("guest scripts use only what CentOS 7's bash 4.2 has", () => {
  for (const [name, script] of Object.entries(GUEST_SCRIPTS)) {
    it(`${name}: bash -n, and nothing newer than bash 4.2`, () => {
      const r = spawnSync("bash", ["-n", "-c", script], { encoding: "utf8" });
      expect(r.stderr).toBe("");
      expect(r.status).toBe(0);
      expect(bash42Problems(script)).toEqual([]);
    });
  }

  it("gather (verify): only the guarded ${EPOCHREALTIME/./}, and no set -u", () => {
    expect(spawnSync("bash", ["-n", "-c", GATHER]).status).toBe(0);
    expect(bash42Problems(GATHER.split("${EPOCHREALTIME/./}").join("0"))).toEqual([]);
    expect(GATHER).not.toMatch(/^\s*set\s+-[a-z]*u|set\s+-o\s+nounset/m);
  });

  it("the cloud-init bootcmd is plain sh", () => {
    expect(spawnSync("sh", ["-n", "-c", centos7NetworkFix()]).status).toBe(0);
    expect(bash42Problems(centos7NetworkFix())).toEqual([]);
  });

  describe("the lint itself", () => {
    for (const rule of NEWER_THAN_BASH42) {
      it(`finds ${rule.name}`, () => {
        expect(bash42Problems(`#!/bin/bash\nset -e\n${rule.sample}\n`)).toHaveLength(1);
        // Mentioned in a comment only: fine.
        expect(bash42Problems(`# ${rule.sample}\n`)).toEqual([]);
      });
    }
    it("lets bash 4.2's own constructs through", () => {
      const ok = [
        "declare -A seen=()",
        "mapfile -t lines <file",
        "readarray -t lines < <(ls)",
        "wait $pid",
        'echo "${a[@]:1}" "${#a[@]}" "${v,,}" "${v^^}" "${a[1]}" "${a[$i]}"',
        "printf -v now '%(%s)T' -1",
        "exec {fd}>file",
        "cmd |& tee log",
        "local -a list=()",
        "declare -i n=0",
        "shopt -s lastpipe",
        "read -r -d '' text <file || true",
        'trap \'rm -rf "$tmp"\' EXIT',
      ].join("\n");
      expect(bash42Problems(ok)).toEqual([]);
    });
  });
});
