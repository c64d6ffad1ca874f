/**
 * `npm run up | preview | down | refresh`: runs the Pulumi CLI for a stack (default `dev`,
 * created on first use) with local file state under .swarmlab/ and a passphrase generated
 * once per checkout, so no Pulumi account is needed. `up` ends by running verify.
 *
 *   npm run up [-- --stack NAME]
 */
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "..");
const STATE = path.join(ROOT, ".swarmlab");

function usage(code: number): never {
  process.stderr.write("usage: tsx scripts/lab.ts up|preview|down|refresh [--stack NAME] [-- extra pulumi args]\n");
  process.exit(code);
}

function pulumiEnv(): NodeJS.ProcessEnv {
  fs.mkdirSync(path.join(STATE, "state"), { recursive: true, mode: 0o700 });
  const env: NodeJS.ProcessEnv = { ...process.env, PULUMI_BACKEND_URL: `file://${path.join(STATE, "state")}`, PULUMI_SKIP_UPDATE_CHECK: "true" };
  if (env.PULUMI_CONFIG_PASSPHRASE === undefined && env.PULUMI_CONFIG_PASSPHRASE_FILE === undefined) {
    const file = path.join(STATE, "passphrase");
    if (!fs.existsSync(file)) fs.writeFileSync(file, crypto.randomBytes(24).toString("base64url") + "\n", { mode: 0o600 });
    env.PULUMI_CONFIG_PASSPHRASE_FILE = file;
  }
  return env;
}

function pulumiBin(): string {
  const local = path.join(ROOT, "node_modules", ".bin", "pulumi");
  return fs.existsSync(local) ? local : "pulumi";
}

function pulumi(args: string[], env: NodeJS.ProcessEnv, quiet = false): number {
  const r = spawnSync(pulumiBin(), args, { cwd: ROOT, env, stdio: quiet ? "pipe" : "inherit" });
  if (r.error) {
    process.stderr.write(
      `cannot run the Pulumi CLI (${r.error.message}). It comes from the npm package "pulumi", which downloads the CLI on first use and needs internet for that; or install it yourself: https://www.pulumi.com/docs/install/\n`,
    );
    process.exit(2);
  }
  return r.status ?? 1;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const verb = argv.shift();
  if (!verb || !["up", "preview", "down", "refresh"].includes(verb)) usage(2);
  let stack = "dev";
  const extra: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--stack") stack = argv[++i] ?? usage(2);
    else if (argv[i] === "--") extra.push(...argv.slice(i + 1)), (i = argv.length);
    else extra.push(argv[i]);
  }
  if (!/^[A-Za-z0-9_.-]+$/.test(stack)) {
    process.stderr.write(`stack name "${stack}" is not allowed: use letters, digits, '.', '_' and '-'\n`);
    process.exit(2);
  }
  const env = pulumiEnv();
  if (pulumi(["stack", "select", stack, "--create", "--secrets-provider", "passphrase", "--non-interactive"], env) !== 0) process.exit(1);

  const args: Record<string, string[]> = {
    up: ["up", "--yes", "--skip-preview", "--non-interactive"],
    preview: ["preview", "--non-interactive"],
    down: ["destroy", "--yes", "--skip-preview", "--non-interactive"],
    refresh: ["refresh", "--yes", "--skip-preview", "--non-interactive"],
  };
  const code = pulumi([...args[verb], "--stack", stack, ...extra], env);
  if (code !== 0) process.exit(code);

  if (verb === "up") {
    const cfg = spawnSync(pulumiBin(), ["config", "get", "swarmlab:verifyAfterUp", "--stack", stack], { cwd: ROOT, env, encoding: "utf8" });
    if (cfg.status === 0 && cfg.stdout.trim() === "false") return;
    process.stdout.write(`\nVerifying the new lab against the documented facts (npm run verify -- --stack ${stack}):\n`);
    const verify = spawnSync(process.execPath, ["--import", "tsx", path.join(ROOT, "scripts", "verify.ts"), "--stack", stack], { cwd: ROOT, stdio: "inherit" });
    process.exitCode = verify.status ?? 1;
  }
}

main().catch((e) => {
  process.stderr.write(`${(e as Error).message}\n`);
  process.exit(1);
});
