/**
 * Small CLI around the lab's traffic probe (traffic.ts) and its checks (traffic-checks.ts),
 * for trying them by hand and recording fixtures.
 *
 *   npx tsx scripts/cli/traffic-cli.ts script PLAN.json        # print the bash script
 *   npx tsx scripts/cli/traffic-cli.ts judge PLAN.json OUT.txt # judge a recorded output
 *
 * PLAN.json is a TrafficPlan. Run the script on the probing task's host as root,
 * e.g. `ssh -F .swarmlab/dev/ssh_config docker0 sudo -n bash -s < script.sh > out.txt`.
 */
import * as fs from "node:fs";
import { buildTrafficScript, parseTrafficOutput, PATH_IDS, type TrafficPlan } from "../../labs/swarm-overlay/traffic";
import { judgeTraffic } from "../../labs/swarm-overlay/traffic-checks";

export function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): number {
  const [cmd, planFile, outFile] = argv;
  if (!cmd || !planFile || (cmd !== "script" && cmd !== "judge") || (cmd === "judge" && !outFile)) {
    process.stderr.write("usage: traffic-cli.ts script PLAN.json | judge PLAN.json OUTPUT.txt\n");
    return 2;
  }
  const plan = JSON.parse(fs.readFileSync(planFile, "utf8")) as TrafficPlan;
  if (cmd === "script") {
    out(buildTrafficScript(plan));
    return 0;
  }
  const results = judgeTraffic(parseTrafficOutput(fs.readFileSync(outFile!, "utf8")), plan);
  let failed = 0;
  for (const id of PATH_IDS) {
    const r = results[id];
    if (r.outcome === "fail") failed++;
    out(`${id} ${r.outcome.toUpperCase()}\n  expected: ${r.expected}\n  observed: ${r.observed}\n`);
    for (const d of r.details ?? []) out(`    ${d}\n`);
  }
  return failed ? 1 : 0;
}

if (require.main === module) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
  }
}
