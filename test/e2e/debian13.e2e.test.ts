/**
 * The engine CentOS 7 users get by default is docker-ce 26.1.4, the last el7 build; CentOS is
 * out of reach here, so the same engine line runs on a Debian 13 guest (docker.io 26.1.5). The
 * lab is stood up, verified and torn down through the user's commands, like the main test;
 * every difference verify finds from the documented engine must be a classified change.
 */
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testImageConfig } from "../harness/image";
import { labDriver, NpmRun, RESULTS } from "./driver";

const MANIFEST = process.env.SWARMLAB_TEST_IMAGE_MANIFEST_DEBIAN13;
const lab = labDriver("d13-e2e");
const { STACK, PREFIX, LAB_DIR, STATE_FILE, names, log, npmRun, sweep, consoleTails, phasesOf } = lab;

let up: NpmRun | undefined;
let report: any;

beforeAll(async () => {
  if (!process.env.SWARMLAB_E2E_NETNS || !MANIFEST) throw new Error("run through npm run test:e2e, which builds the Debian 13 image and starts the test hypervisor");
  sweep();
  const config = { ...testImageConfig(MANIFEST), "swarmlab:verifyAfterUp": "false" };
  const set = await npmRun("pulumi", "--", "config", "set-all", "--stack", STACK, ...Object.entries(config).flatMap(([k, v]) => ["--plaintext", `${k}=${v}`]));
  if (set.code !== 0) throw new Error(`config set-all failed (${set.code})`);
  up = await npmRun("up", "--", "--stack", STACK);
  if (up.code !== 0) {
    consoleTails();
    throw new Error(`npm run up exited ${up.code}`);
  }
});

afterAll(async () => {
  if (fs.existsSync(STATE_FILE)) await npmRun("down", "--", "--stack", STACK, "--remove");
  sweep();
});

describe("the lab on Docker 26.1 (Debian 13 guests)", () => {
  it("npm run up builds it", () => {
    const { total, phases } = phasesOf(up!.output);
    log(`TIMINGS (Debian 13): up ${total.toFixed(1)} s; ${JSON.stringify(phases)}`);
    expect(Object.keys(phases)).toEqual(["define", "ssh", "docker", "swarm", "workload"]);
  });

  it("runs Docker 26.1 on both guests", async () => {
    const inv = JSON.parse(fs.readFileSync(path.join(LAB_DIR, "inventory.json"), "utf8"));
    for (const h of inv.hosts) {
      const ssh = await lab.sshTo(h.address);
      try {
        expect(await lab.sh(ssh, "docker version --format '{{.Server.Version}}'")).toMatch(/^26\.1\./);
      } finally {
        ssh.dispose();
      }
    }
  });

  it("npm run verify: no fact fails or goes unchecked; every difference from the documented engine is a classified change", async () => {
    fs.mkdirSync(RESULTS, { recursive: true });
    const out = path.join(RESULTS, "verify-debian13.json");
    const r = await npmRun("verify", "--", "--stack", STACK, "--format", "json", "--output", out, "--save-raw", path.join(RESULTS, "gather-debian13"));
    report = JSON.parse(fs.readFileSync(out, "utf8"));
    log(`VERIFY (Debian 13): ${r.seconds.toFixed(1)} s, ${JSON.stringify(report.summary)}`);
    for (const x of report.results.filter((y: any) => y.outcome !== "pass")) log(`  ${x.id} ${x.outcome}: ${x.observed} -- ${x.explanation ?? ""}`);
    const bad = report.results.filter((x: any) => x.outcome === "fail" || x.outcome === "unchecked");
    expect(bad.map((x: any) => `${x.id} ${x.outcome}: expected ${x.expected}; observed ${x.observed}`)).toEqual([]);
    for (const x of report.results.filter((y: any) => y.outcome === "changed")) expect(x.explanation, x.id).toBeTruthy();
    expect(r.code).toBe(0);
  });

  it("npm run down -- --remove leaves nothing of it", async () => {
    const down = await npmRun("down", "--", "--stack", STACK, "--remove");
    expect(down.code).toBe(0);
    expect(names("list", "--all", "--name").filter((n) => n.startsWith(PREFIX))).toEqual([]);
    expect(names("pool-list", "--all", "--name").filter((n) => n.startsWith(PREFIX))).toEqual([]);
    expect(names("net-list", "--all", "--name").filter((n) => n.startsWith(PREFIX))).toEqual([]);
    expect(fs.existsSync(STATE_FILE)).toBe(false);
  });
});
