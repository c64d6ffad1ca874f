/**
 * `npm run bench`: whole lab cycles on the test hypervisor, timed phase by phase, through the
 * same commands a user types. A benchmark, not a test: it asserts nothing and prints
 *
 *   cold  (a first `npm run up`): define, ssh, docker, swarm, workload (seconds from the start of
 *         up at which each phase was done), up (to demoservice running), verify (the one up runs),
 *         up+verify, baseline (saving the reset point);
 *   alone: verify without and with the traffic checks, on the built lab;
 *   warm  (`npm run reset` after a break): reset, then verify;
 *   down  (`npm run down -- --remove`),
 *
 * as min / median / max over the runs, as a table and as JSON (test-results/bench.json), with
 * the machine it ran on. Run through `npm run bench [-- --runs N]`, which starts the test
 * hypervisor in its own network namespace (as the end-to-end test does) and runs this inside.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { testImageConfig } from "./image";

const ROOT = path.resolve(__dirname, "../..");
const STACK = "bench";

interface Run {
  code: number;
  output: string;
  seconds: number;
}

function npmRun(...args: string[]): Promise<Run> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn("npm", ["run", "--silent", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => (output += d.toString()));
    child.on("close", (code) => resolve({ code: code ?? 1, output, seconds: (Date.now() - t0) / 1000 }));
  });
}

async function must(what: string, ...args: string[]): Promise<Run> {
  const r = await npmRun(...args);
  if (r.code !== 0) {
    process.stderr.write(r.output.split("\n").slice(-40).join("\n") + "\n");
    throw new Error(`${what}: npm run ${args.join(" ")} exited ${r.code}`);
  }
  return r;
}

const num = (re: RegExp, text: string): number | undefined => {
  const m = re.exec(text);
  return m ? Number(m[1]) : undefined;
};

export function summary(values: number[]): { min: number; median: number; max: number; n: number } {
  const v = [...values].sort((a, b) => a - b);
  const mid = Math.floor(v.length / 2);
  const median = v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  return { min: v[0], median, max: v[v.length - 1], n: v.length };
}

async function main(): Promise<void> {
  const runsArg = process.argv.indexOf("--runs");
  const runs = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 3;
  if (!Number.isInteger(runs) || runs < 1 || runs > 20) throw new Error(`--runs ${process.argv[runsArg + 1]}: allowed 1 to 20`);
  const manifest = process.env.SWARMLAB_TEST_IMAGE_MANIFEST;
  if (!process.env.SWARMLAB_E2E_NETNS || !manifest) throw new Error("run through npm run bench: it starts the test hypervisor and builds the test image");

  const samples: Record<string, number[]> = {};
  const add = (k: string, v: number | undefined) => {
    if (v !== undefined && Number.isFinite(v)) (samples[k] ??= []).push(v);
  };
  await npmRun("down", "--", "--stack", STACK, "--remove");
  const config = testImageConfig(manifest);
  for (let i = 1; i <= runs; i++) {
    process.stderr.write(`bench: cycle ${i} of ${runs}\n`);
    await must("config", "pulumi", "--", "config", "set-all", "--stack", STACK, ...Object.entries(config).flatMap(([k, v]) => ["--plaintext", `${k}=${v}`]));
    const up = await must("up", "up", "--", "--stack", STACK);
    for (const phase of ["define", "ssh", "docker", "swarm", "workload"]) add(`cold ${phase}`, num(new RegExp(`\\b${phase} ([\\d.]+) s`), up.output));
    add("cold up", num(/swarmlab: up took ([\d.]+) s/, up.output));
    add("cold verify", num(/swarmlab: verify took ([\d.]+) s/, up.output));
    add("cold up+verify", up.seconds);
    add("cold baseline", num(/baseline of npm run reset \(([\d.]+) s\)/, up.output));
    add("alone verify --no-traffic", (await must("verify", "verify", "--", "--stack", STACK, "--no-traffic", "--quiet")).seconds);
    add("alone verify", (await must("verify", "verify", "--", "--stack", STACK, "--quiet")).seconds);
    // A learner's break: Docker stopped on docker1. The reset must undo it.
    spawnSync("ssh", ["-F", path.join(ROOT, ".swarmlab", STACK, "ssh_config"), "-o", "BatchMode=yes", "docker1", "sudo systemctl stop docker docker.socket"], { timeout: 60_000 });
    const reset = await must("reset", "reset", "--", "--stack", STACK);
    add("warm reset", reset.seconds);
    add("warm verify", (await must("verify after reset", "verify", "--", "--stack", STACK, "--quiet")).seconds);
    add("down", (await must("down", "down", "--", "--stack", STACK, "--remove")).seconds);
  }

  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model ?? "",
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    kernel: os.release(),
    node: process.version,
    domainType: "qemu (TCG)",
    guests: "2 x 1 vCPU, 1536 MiB, Debian 12 test image, Docker 20.10",
  };
  const table = Object.entries(samples).map(([phase, v]) => ({ phase, ...summary(v) }));
  const out = { date: new Date().toISOString(), runs, machine, seconds: table };
  fs.mkdirSync(path.join(ROOT, "test-results"), { recursive: true });
  fs.writeFileSync(path.join(ROOT, "test-results", "bench.json"), JSON.stringify(out, null, 2) + "\n");
  const w = Math.max(...table.map((r) => r.phase.length));
  process.stdout.write(`\nswarmlab bench, ${runs} run(s), ${machine.cpus} x ${machine.cpuModel}, ${machine.memoryGiB} GiB, guests ${machine.domainType}\n`);
  process.stdout.write(`${"phase".padEnd(w)}    min  median     max   (seconds)\n`);
  for (const r of table) process.stdout.write(`${r.phase.padEnd(w)} ${r.min.toFixed(1).padStart(6)} ${r.median.toFixed(1).padStart(7)} ${r.max.toFixed(1).padStart(7)}\n`);
  process.stdout.write(`\nJSON: test-results/bench.json\n${JSON.stringify(out)}\n`);
}

if (require.main === module) {
  main().catch((e) => {
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    process.exit(1);
  });
}
