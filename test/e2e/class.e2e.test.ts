/**
 * A classroom of two learners on the test hypervisor, through the trainer's commands: the
 * trainer configures a template stack, `npm run class -- up --learners 2 --from <template>`
 * builds both labs at once (each its own stack, network range, bridge, names and key), `class
 * verify` grades them into one gradebook, `class down` leaves nothing of either.
 *
 * Smaller guests (1024 MiB) than the main test's; the files run one after the other, so no other lab runs.
 */
import * as fs from "fs";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testImageConfig } from "../harness/image";
import { labDriver, NpmRun, ROOT } from "./driver";

const MANIFEST = process.env.SWARMLAB_TEST_IMAGE_MANIFEST;
const template = labDriver("class-t");
const learners = ["learner-01", "learner-02"].map((s) => labDriver(s));
const { log, npmRun, names } = template;
let up: NpmRun | undefined;

beforeAll(async () => {
  if (!process.env.SWARMLAB_E2E_NETNS || !MANIFEST) throw new Error("run through npm run test:e2e, which builds the test image and starts the test hypervisor");
  for (const l of [template, ...learners]) l.sweep();
  fs.rmSync(path.join(ROOT, ".swarmlab", "class"), { recursive: true, force: true });
  const config = { ...testImageConfig(MANIFEST), "swarmlab:memoryMiB": "1024", "swarmlab:verifyAfterUp": "false" };
  const set = await npmRun("pulumi", "--", "config", "set-all", "--stack", template.STACK, ...Object.entries(config).flatMap(([k, v]) => ["--plaintext", `${k}=${v}`]));
  if (set.code !== 0) throw new Error(`config set-all failed (${set.code})`);
  up = await npmRun("class", "--", "up", "--learners", "2", "--from", template.STACK, "--parallel", "2");
});

afterAll(async () => {
  if (learners.some((l) => fs.existsSync(l.STATE_FILE))) await npmRun("class", "--", "down");
  for (const l of [template, ...learners]) l.sweep();
  fs.rmSync(path.join(ROOT, ".swarmlab", "class"), { recursive: true, force: true });
});

describe("a classroom: two learners' labs at once, one gradebook, nothing left", () => {
  it("class up builds both labs at once, each on its own network range, from the template's settings", () => {
    expect(up!.code).toBe(0);
    log(`CLASS UP: 2 labs in ${up!.seconds.toFixed(1)} s`);
    expect(up!.output).toMatch(/class up: 2 of 2 learner\(s\) done/);
    const cidrs = learners.map((l) => JSON.parse(fs.readFileSync(l.inventoryFile, "utf8")).network.cidr);
    expect(new Set(cidrs).size).toBe(2);
    for (const l of learners) {
      const inv = JSON.parse(fs.readFileSync(l.inventoryFile, "utf8"));
      expect(inv.hosts).toHaveLength(2);
      // Each learner has their own key and ssh_config, for their own lab only.
      expect(fs.statSync(l.keyFile).mode & 0o777).toBe(0o600);
      expect(fs.readFileSync(path.join(l.LAB_DIR, "ssh_config"), "utf8")).toContain(path.join(".swarmlab", l.STACK, "id_swarmlab"));
      expect(l.names("list", "--name").filter((n) => n.startsWith(`${l.PREFIX}-`))).toHaveLength(2);
      expect(fs.readFileSync(path.join(ROOT, `Pulumi.${l.STACK}.yaml`), "utf8")).toMatch(/swarmlab:memoryMiB: "1024"/);
    }
    expect(fs.readFileSync(learners[0]!.keyFile, "utf8")).not.toBe(fs.readFileSync(learners[1]!.keyFile, "utf8"));
  });

  it("class verify grades both labs into one gradebook with no failed or unchecked fact", async () => {
    const r = await npmRun("class", "--", "verify");
    expect(r.code).toBe(0);
    log(`CLASS VERIFY: 2 labs in ${r.seconds.toFixed(1)} s`);
    const dir = path.join(ROOT, r.output.match(/^\s+(\.swarmlab\/class\/[^/]+)\/gradebook\.csv$/m)![1]!);
    const rows = fs.readFileSync(path.join(dir, "gradebook.csv"), "utf8").trim().split("\r\n").slice(1).map((l) => l.split(","));
    expect(rows.map((x) => x.slice(0, 5))).toEqual([
      ["learner-01", "swarm-overlay", "ok", expect.any(String), "0"],
      ["learner-02", "swarm-overlay", "ok", expect.any(String), "0"],
    ]);
    const junit = fs.readFileSync(path.join(dir, "gradebook.junit.xml"), "utf8");
    expect(junit).toMatch(/<testsuites name="[^"]*" tests="58" failures="0" errors="0"/);
  });

  it("class down leaves nothing of either lab on the hypervisor or in the repository", async () => {
    const r = await npmRun("class", "--", "down");
    expect(r.code).toBe(0);
    for (const l of learners) {
      for (const what of ["list --all", "net-list --all", "pool-list --all"]) {
        expect(names(...what.split(" "), "--name").filter((n) => n.startsWith(l.PREFIX)), `${what} ${l.STACK}`).toEqual([]);
      }
      expect(fs.existsSync(l.STATE_FILE)).toBe(false);
      expect(fs.existsSync(path.join(ROOT, `Pulumi.${l.STACK}.yaml`))).toBe(false);
    }
    expect(fs.existsSync(path.join(ROOT, ".swarmlab", "class", "roster.json"))).toBe(false);
  });
});
