/**
 * The overlay wait that ends the workload step (`up` and `npm run reset`), run by bash against
 * stand-ins for docker, nsenter and ping: it pings every other running task of the service from
 * the local task's namespace until each answers, and fails with the unreachable address when
 * time runs out.
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { overlayReadyScript } from "../../../../labs/swarm-overlay/workload";

let dir = "";
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "swl-overlay-"));
  fs.mkdirSync(path.join(dir, "bin"));
  const stub = (name: string, body: string) => fs.writeFileSync(path.join(dir, "bin", name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  stub(
    "docker",
    `case "$1 $2" in
  "ps -q") echo c0ffee ;;
  "inspect --format") case "$3" in *SandboxKey*IPAddress*) echo /var/run/docker/netns/abc 192.168.200.3 ;; *) echo "unexpected docker $*" >&2; exit 2 ;; esac ;;
  "service ps") printf 'task1\ntask2\n' ;;
  "inspect --type") [ "$*" = "inspect --type task --format $5 task1 task2" ] && echo "192.168.200.3/24 192.168.200.9/24 " ;;
  *) echo "unexpected docker $*" >&2; exit 2 ;;
esac`,
  );
  // nsenter --net=X CMD...: runs CMD, recording the namespace.
  stub("nsenter", `echo "$1" >>"${dir}/nsenter.log"; shift; exec "$@"`);
  // ping answers once it has been asked $PING_FAILS times.
  stub("ping", `n=$(cat "${dir}/pings" 2>/dev/null || echo 0); echo $((n + 1)) >"${dir}/pings"; echo "$*" >>"${dir}/ping.log"; [ "$n" -ge "\${PING_FAILS:-0}" ]`);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(timeoutSec: number, pingFails: number) {
  for (const f of ["pings", "ping.log", "nsenter.log"]) fs.rmSync(path.join(dir, f), { force: true });
  const r = spawnSync("bash", ["-c", overlayReadyScript({ service: "demoservice", overlay: "demonet", timeoutSec })], {
    encoding: "utf8",
    env: { ...process.env, PATH: `${dir}/bin:${process.env["PATH"] ?? ""}`, PING_FAILS: String(pingFails) },
  });
  const pings = fs.existsSync(path.join(dir, "ping.log")) ? fs.readFileSync(path.join(dir, "ping.log"), "utf8").trim().split("\n") : [];
  return { ...r, pings };
}

describe("overlayReadyScript", () => {
  it("pings the other task (not its own address) from the task's namespace until it answers", () => {
    const r = run(30, 2);
    expect(r.status).toBe(0);
    expect(r.pings).toEqual(["-n -c 1 -W 1 192.168.200.9", "-n -c 1 -W 1 192.168.200.9", "-n -c 1 -W 1 192.168.200.9"]);
    expect(fs.readFileSync(path.join(dir, "nsenter.log"), "utf8").trim().split("\n")).toEqual(Array(3).fill("--net=/var/run/docker/netns/abc"));
    expect(r.stdout).toContain("overlay: 192.168.200.9 answers");
  });

  it("is part of the workload step's script, after the tasks run", async () => {
    const { workloadScript } = await import("../../../../labs/swarm-overlay/workload");
    const w = workloadScript({ overlay: "demonet", subnet: "192.168.200.0/24", service: "demoservice", replicas: 2, image: "x", command: ["sleep", "1"], pull: false, nodes: ["a", "b"], timeoutSec: 60 });
    expect(w.indexOf("nsenter --net=\"$ov_sk\" ping")).toBeGreaterThan(w.indexOf("spread && break"));
  });

  it("fails naming the task it cannot reach when time runs out", () => {
    const r = run(1, 1000);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("swarmlab: the task on this host does not reach demoservice's task 192.168.200.9 over demonet after 1s");
    expect(r.pings.length).toBeGreaterThan(0);
  });
});
