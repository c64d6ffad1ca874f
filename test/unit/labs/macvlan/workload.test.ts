import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { DOCUMENTED } from "../../../../labs/macvlan/facts";
import { workloadScript } from "../../../../labs/macvlan/workload";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-macvlan-"));
const IMAGE = "swarmlab/busybox-static:local";
const args = { image: IMAGE, pull: false, nodes: ["docker0.local", "docker1.local"], timeoutSec: 30 };
const NET_OK = "macvlan ens3.100 10.0.0.0/24 10.0.0.0/25 10.0.0.1";
const RUNNING = "true 10.0.0.2 02:42:0a:00:00:02";

/**
 * Fake docker, ip and modprobe. The docker keeps the lab's state in files: `net` (what the
 * network inspect format prints), `ctr` (what the container inspect format prints); `run` and
 * `start` make the container run unless `stuck` exists.
 */
function fakeHost(state: { net?: string; ctr?: string; stuck?: boolean }): { bin: string; calls: () => string[] } {
  const dir = fs.mkdtempSync(path.join(tmp, "host-"));
  const st = path.join(dir, "state");
  fs.mkdirSync(st);
  if (state.net) fs.writeFileSync(path.join(st, "net"), state.net);
  if (state.ctr) fs.writeFileSync(path.join(st, "ctr"), state.ctr);
  if (state.stuck) fs.writeFileSync(path.join(st, "stuck"), "");
  const log = path.join(dir, "calls");
  fs.writeFileSync(log, "");
  fs.writeFileSync(
    path.join(dir, "docker"),
    `#!/usr/bin/env node
const fs = require("fs"); const p = require("path");
const st = ${JSON.stringify(st)}; const a = process.argv.slice(2).join(" ");
fs.appendFileSync(${JSON.stringify(log)}, a + "\\n");
const f = (n) => p.join(st, n);
const has = (n) => fs.existsSync(f(n));
if (a.startsWith("network inspect")) { if (!has("net")) process.exit(1); process.stdout.write(fs.readFileSync(f("net"), "utf8") + "\\n"); process.exit(0); }
if (a.startsWith("network create")) { fs.writeFileSync(f("net"), ${JSON.stringify(NET_OK)}); process.stdout.write("0057e7b3\\n"); process.exit(0); }
if (a.startsWith("inspect")) { if (!has("ctr")) process.exit(1); process.stdout.write(fs.readFileSync(f("ctr"), "utf8") + "\\n"); process.exit(0); }
if (a.startsWith("run ") || a.startsWith("start ")) { fs.writeFileSync(f("ctr"), has("stuck") ? "false " : ${JSON.stringify(RUNNING)}); process.stdout.write("abee4a71\\n"); process.exit(0); }
process.exit(0);
`,
    { mode: 0o755 },
  );
  fs.writeFileSync(
    path.join(dir, "ip"),
    `#!/bin/sh
echo "ip $*" >>${JSON.stringify(log)}
case "$*" in
  "-4 route show default") echo "default via 192.168.122.1 dev ens3 proto static" ;;
  "-o link show dev ens3.100") echo "31: ens3.100@ens3: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default \\    link/ether 52:54:00:37:9e:71 brd ff:ff:ff:ff:ff:ff" ;;
esac
`,
    { mode: 0o755 },
  );
  fs.writeFileSync(path.join(dir, "modprobe"), `#!/bin/sh\necho "modprobe $*" >>${JSON.stringify(log)}\n`, { mode: 0o755 });
  return { bin: dir, calls: () => fs.readFileSync(log, "utf8").trim().split("\n").filter(Boolean) };
}

function run(script: string, bin: string) {
  return spawnSync("bash", ["-c", script], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
}

describe("macvlan workload script", () => {
  const script = workloadScript(args);

  it("is valid bash and passes shellcheck", () => {
    const file = path.join(tmp, "workload.sh");
    fs.writeFileSync(file, script);
    expect(spawnSync("bash", ["-n", file], { encoding: "utf8" }).status).toBe(0);
    const sc = spawnSync("shellcheck", ["-s", "bash", "-S", "warning", file], { encoding: "utf8" });
    expect(sc.error, "shellcheck must be installed").toBeUndefined();
    expect(sc.stdout + sc.stderr).toBe("");
    expect(sc.status).toBe(0);
  });

  it("creates macvlan100 on <nic>.100 and mactainer1 with the documented names, label and image", () => {
    const h = fakeHost({});
    const r = run(script, h.bin);
    expect(r.status, r.stderr).toBe(0);
    const calls = h.calls();
    expect(calls).toContain("modprobe 8021q");
    expect(calls).toContain("modprobe macvlan");
    const create = calls.find((c) => c.startsWith("network create"));
    expect(create).toBe(
      `network create -d macvlan --subnet=${DOCUMENTED.network.subnet} --ip-range=${DOCUMENTED.network.ipRange} --gateway=${DOCUMENTED.network.gateway} -o parent=ens3.100 --label swarmlab.lab=macvlan macvlan100`,
    );
    expect(calls.find((c) => c.startsWith("run "))).toBe(`run -d --name mactainer1 --network macvlan100 --restart unless-stopped --label swarmlab.lab=macvlan ${IMAGE} sleep 1d`);
    expect(calls.some((c) => /pull/.test(c))).toBe(false);
    expect(calls.indexOf(create!)).toBeLessThan(calls.findIndex((c) => c.startsWith("run ")));
    expect(r.stdout).toBe("macvlan100: macvlan on ens3.100 (VLAN 100); mactainer1 10.0.0.2 02:42:0a:00:00:02\n");
  });

  it("leaves a complete lab alone (run twice: no change)", () => {
    const h = fakeHost({ net: NET_OK, ctr: RUNNING });
    const r = run(script, h.bin);
    expect(r.status, r.stderr).toBe(0);
    expect(h.calls().filter((c) => /^(network create|network connect|run |start |rm |network rm)/.test(c))).toEqual([]);
    const again = run(script, h.bin);
    expect(again.stdout).toBe(r.stdout);
  });

  it("completes a half-built lab: the network there, the container stopped", () => {
    const h = fakeHost({ net: NET_OK, ctr: "false 10.0.0.2 02:42:0a:00:00:02" });
    const r = run(script, h.bin);
    expect(r.status, r.stderr).toBe(0);
    const calls = h.calls();
    expect(calls).toContain("start mactainer1");
    expect(calls.some((c) => c.startsWith("network create") || c.startsWith("run "))).toBe(false);
  });

  it("attaches a container made without the network", () => {
    const h = fakeHost({ net: NET_OK, ctr: "false " });
    const r = run(script, h.bin);
    expect(r.status, r.stderr).toBe(0);
    expect(h.calls()).toEqual(expect.arrayContaining(["network connect macvlan100 mactainer1", "start mactainer1"]));
  });

  it("refuses a macvlan100 made otherwise, saying how to fix it", () => {
    const h = fakeHost({ net: "macvlan ens3.200 10.0.0.0/24 10.0.0.0/25 10.0.0.1" });
    const r = run(script, h.bin);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/swarmlab: network macvlan100 exists as \[macvlan ens3\.200 .*\], the lab needs \[macvlan ens3\.100 10\.0\.0\.0\/24 10\.0\.0\.0\/25 10\.0\.0\.1\].*docker network rm macvlan100/);
    expect(h.calls().some((c) => c.startsWith("run "))).toBe(false);
  });

  it("fails with a clear message and diagnostics when mactainer1 does not come up in time", () => {
    const h = fakeHost({ stuck: true });
    const r = run(workloadScript({ ...args, timeoutSec: 0 }), h.bin);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/swarmlab: container mactainer1 is not running on macvlan100 after 0s \(state: false \)/);
    expect(r.stderr).toMatch(/--- docker ps -a --filter name=mactainer1/);
    expect(r.stderr).toMatch(/--- ip -d link show ens3\.100/);
  });

  it("fails clearly without a default route to find the NIC", () => {
    const h = fakeHost({});
    fs.writeFileSync(path.join(h.bin, "ip"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
    const r = run(script, h.bin);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/cannot tell the underlay NIC: no IPv4 default route/);
  });

  it("uses the image it is given and never pulls", () => {
    const s = workloadScript({ ...args, image: "alpine" });
    expect(s).toMatch(/--label 'swarmlab\.lab=macvlan' 'alpine' 'sleep' '1d'/);
    expect(s).not.toMatch(/docker pull|--pull/);
  });
});
