import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { BASH_HEADER } from "../../../scripts/lib/shell";
import { labLabel, otherLabsRemoved } from "../../../labs/switch";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-switch-"));

/** A fake docker answering listings by their arguments; `network rm` of a busy network fails once. */
function fakeDocker(answers: Record<string, string>, busy: string[] = []): { dir: string; calls: () => string[] } {
  const dir = fs.mkdtempSync(path.join(tmp, "bin-"));
  const log = path.join(dir, "calls");
  fs.writeFileSync(path.join(dir, "answers.json"), JSON.stringify({ answers, busy }));
  fs.writeFileSync(
    path.join(dir, "docker"),
    `#!/usr/bin/env node
const fs = require("fs"); const a = process.argv.slice(2).join(" ");
fs.appendFileSync(${JSON.stringify(log)}, a + "\\n");
const { answers, busy } = JSON.parse(fs.readFileSync(${JSON.stringify(path.join(dir, "answers.json"))}, "utf8"));
if (a.startsWith("network rm ")) {
  const n = a.slice(11);
  const tried = fs.readFileSync(${JSON.stringify(log)}, "utf8").split("\\n").filter((l) => l === a).length;
  if (busy.includes(n) && tried < 2) { process.stderr.write("network " + n + " has active endpoints\\n"); process.exit(1); }
  process.exit(0);
}
if (a.startsWith("network inspect ")) process.exit(busy.includes(a.slice(16)) ? 0 : 1);
if (a.startsWith("inspect --type task ")) {
  // The removed service's tasks: still known for the first two looks, then gone.
  const looks = fs.readFileSync(${JSON.stringify(log)}, "utf8").split("\\n").filter((l) => l.startsWith("inspect --type task ")).length;
  if (looks <= 2) process.stdout.write("taskA1\\n");
  process.exit(looks <= 2 ? 0 : 1);
}
if (a in answers) process.stdout.write(answers[a]);
process.exit(0);
`,
    { mode: 0o755 },
  );
  return { dir, calls: () => fs.readFileSync(log, "utf8").trim().split("\n") };
}

function run(lab: string, bin: string) {
  return spawnSync("bash", ["-c", `${BASH_HEADER}${otherLabsRemoved(lab)}echo done`], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
}

describe("switching labs", () => {
  it("labels with the lab's name", () => {
    expect(labLabel("bridge")).toBe("--label 'swarmlab.lab=bridge'");
  });

  it("removes what another lab labelled, services first, and keeps its own", () => {
    const bin = fakeDocker(
      {
        "service ls -q --filter label=swarmlab.lab": "svcA\nsvcB\n",
        "service ls -q --filter label=swarmlab.lab=bridge": "svcB\n",
        "ps -a -q --filter label=swarmlab.lab": "c1\nc9\n",
        "ps -a -q --filter label=swarmlab.lab=bridge": "c1\n",
        "network ls -q --filter label=swarmlab.lab": "netA\nnetB\n",
        "network ls -q --filter label=swarmlab.lab=bridge": "netB\n",
        "service ps -q --no-trunc svcA": "taskA1\ntaskA2\n",
      },
      ["netA"],
    );
    const r = run("bridge", bin.dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe("done\n");
    const calls = bin.calls();
    expect(calls).toContain("service rm svcA");
    expect(calls).toContain("rm -f c9");
    expect(calls.filter((c) => c === "network rm netA")).toHaveLength(2);
    expect(calls.some((c) => /svcB|c1$|netB/.test(c) && /rm/.test(c))).toBe(false);
    expect(calls.indexOf("service rm svcA")).toBeLessThan(calls.indexOf("network rm netA"));
    // Then until every node has let the removed service's tasks go.
    expect(calls.indexOf("service ps -q --no-trunc svcA")).toBeLessThan(calls.indexOf("service rm svcA"));
    expect(calls.filter((c) => c === "inspect --type task --format {{.ID}} taskA1 taskA2")).toHaveLength(3);
    expect(r.stderr).toMatch(/removing another lab's part/);
  });

  it("waits until this host has let go of the ports the removed services published", () => {
    const bin = fakeDocker({
      "service ls -q --filter label=swarmlab.lab": "svcA\n",
      "service inspect --format {{range .Endpoint.Ports}}{{.PublishedPort}} {{end}} svcA": "5000 ",
    });
    // A fake ss: the port is still listened on for its first two calls.
    const count = path.join(bin.dir, "ss-count");
    fs.writeFileSync(path.join(bin.dir, "ss"), `#!/bin/bash\necho "$*" >>${count}\n[ "$(wc -l <${count})" -gt 2 ] || echo "LISTEN 0 4096 *:5000 *:*"\n`, { mode: 0o755 });
    const r = spawnSync("bash", ["-c", `${BASH_HEADER}sleep() { :; }\n${otherLabsRemoved("bridge")}echo done`], { encoding: "utf8", env: { ...process.env, PATH: `${bin.dir}:${process.env.PATH}` } });
    expect(r.status, r.stderr).toBe(0);
    expect(bin.calls()).toContain("service rm svcA");
    expect(fs.readFileSync(count, "utf8").trim().split("\n")).toEqual(["-Hltn sport = :5000", "-Hltn sport = :5000", "-Hltn sport = :5000"]);
  });

  it("does nothing when only this lab's part is there", () => {
    const bin = fakeDocker({
      "service ls -q --filter label=swarmlab.lab": "svcB\n",
      "service ls -q --filter label=swarmlab.lab=bridge": "svcB\n",
    });
    const r = run("bridge", bin.dir);
    expect(r.status, r.stderr).toBe(0);
    expect(bin.calls().filter((c) => /\brm\b/.test(c))).toEqual([]);
    expect(r.stderr).toBe("");
  });

  it("lists each kind once, not twice, when no lab labelled anything (a first up)", () => {
    const bin = fakeDocker({});
    const r = run("bridge", bin.dir);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe("done\n");
    expect(bin.calls().sort()).toEqual(["network ls -q --filter label=swarmlab.lab", "ps -a -q --filter label=swarmlab.lab", "service ls -q --filter label=swarmlab.lab"]);
    expect(r.stderr).toBe("");
  });

  it("passes shellcheck", () => {
    const file = path.join(tmp, "switch.sh");
    fs.writeFileSync(file, `#!/usr/bin/env bash\n${BASH_HEADER}${otherLabsRemoved("x")}`);
    const r = spawnSync("shellcheck", ["-S", "warning", file], { encoding: "utf8" });
    expect(r.stdout).toBe("");
    expect(r.status).toBe(0);
  });
});
