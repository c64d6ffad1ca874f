/** The reset baseline against a fake virsh that keeps snapshot names per domain in a directory. */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { revertToBaseline, saveBaseline, withBaseline } from "../../../../infra/libvirt/snapshots";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-snap-"));
const state = path.join(dir, "state");
const calls = path.join(dir, "calls");
fs.writeFileSync(
  path.join(dir, "virsh"),
  `#!/usr/bin/env bash
# virsh -q -c URI <cmd> <domain> [name] ...: snapshots are files state/<domain>/<name>
shift 3; cmd=$1; dom=$2; name=$3
echo "$*" >> ${JSON.stringify(calls)}
mkdir -p ${JSON.stringify(state)}/"$dom"
case "$cmd" in
  snapshot-list) ls -1 ${JSON.stringify(state)}/"$dom" ;;
  snapshot-create-as) touch ${JSON.stringify(state)}/"$dom"/"$name" ;;
  snapshot-delete) rm ${JSON.stringify(state)}/"$dom"/"$name" ;;
  snapshot-revert) [ -e ${JSON.stringify(state)}/"$dom"/"$name" ] || { echo "error: snapshot $name not found" >&2; exit 1; } ;;
  *) echo "error: unknown $cmd" >&2; exit 1 ;;
esac
`,
  { mode: 0o755 },
);
const PATH = process.env.PATH;
process.env.PATH = `${dir}:${PATH}`;
afterAll(() => {
  process.env.PATH = PATH;
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  fs.rmSync(state, { recursive: true, force: true });
  fs.rmSync(calls, { force: true });
});
const called = () => fs.readFileSync(calls, "utf8").trim().split("\n");
const doms = ["swarmlab-dev-docker0", "swarmlab-dev-docker1"];

describe("reset baseline", () => {
  it("saves one snapshot per domain, named by time, and replaces older ones", async () => {
    expect(await withBaseline("qemu:///system", doms)).toEqual([]);
    const first = await saveBaseline("qemu:///system", doms, new Date("2026-12-01T15:00:00Z"));
    expect(first).toBe("swarmlab-baseline-20261201T150000");
    expect(await withBaseline("qemu:///system", doms)).toEqual(doms);
    const second = await saveBaseline("qemu:///system", doms, new Date("2026-12-01T16:00:00Z"));
    for (const d of doms) expect(fs.readdirSync(path.join(state, d))).toEqual([second]);
    // The new one exists before the old one goes.
    const c = called();
    expect(c.indexOf(`snapshot-create-as ${doms[0]} ${second} the lab after a verified npm run up (npm run reset returns here) --atomic`)).toBeLessThan(
      c.indexOf(`snapshot-delete ${doms[0]} ${first}`),
    );
  });

  it("reverts every domain to its newest baseline, running", async () => {
    await saveBaseline("qemu:///system", doms, new Date("2026-12-01T15:00:00Z"));
    fs.writeFileSync(path.join(state, doms[0], "someone-elses"), "");
    await revertToBaseline("qemu:///system", doms);
    expect(called().filter((l) => l.startsWith("snapshot-revert")).sort()).toEqual(
      doms.map((d) => `snapshot-revert ${d} swarmlab-baseline-20261201T150000 --running --force`),
    );
  });

  it("refuses to reset a lab without a baseline, naming the domains and what to do", async () => {
    await saveBaseline("qemu:///system", [doms[0]]);
    await expect(revertToBaseline("qemu:///system", doms)).rejects.toThrow(
      /swarmlab-dev-docker1 has no baseline to reset to: it is saved at the end of an npm run up whose verify passed; run npm run up/,
    );
    expect(called().filter((l) => l.startsWith("snapshot-revert"))).toEqual([]);
  });
});
