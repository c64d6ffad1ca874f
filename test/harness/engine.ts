/**
 * The real Pulumi engine for the end-to-end test, installed where a user's would be.
 *
 * test/harness/build-pulumi.sh builds the Pulumi CLI of @pulumi/pulumi's version from Go modules
 * (cached by version under /var/cache/swarmlab/pulumi/). This puts it, with the SDK's
 * `pulumi-resource-pulumi-nodejs` beside it (the CLI looks for bundled plugins next to itself),
 * into a fresh $PULUMI_HOME at versions/<version>/bin/, where the npm package `pulumi` looks
 * for the CLI before it would download one. Automatic plugin acquisition is off, so a missing
 * plugin fails loudly instead of being fetched.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");

export interface TestEngine {
  /** Environment for the commands a user types (npm run up, npm run pulumi, ...). */
  env: Record<string, string>;
  version: string;
  /** Removes the temporary $PULUMI_HOME. */
  remove(): void;
}

export function sdkVersion(): string {
  return JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/@pulumi/pulumi/package.json"), "utf8")).version;
}

export function installTestEngine(log: (s: string) => void): TestEngine {
  const version = sdkVersion();
  const wrapper = JSON.parse(fs.readFileSync(path.join(ROOT, "node_modules/pulumi/package.json"), "utf8")).version;
  if (wrapper !== version) throw new Error(`the npm package pulumi is ${wrapper} but @pulumi/pulumi is ${version}: pin both to one version`);
  const t0 = Date.now();
  const r = spawnSync("bash", [path.join(__dirname, "build-pulumi.sh"), version], { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  if (r.status !== 0) throw new Error(`build-pulumi.sh failed (exit ${r.status})`);
  const built = r.stdout.trim().split("\n").pop()!;
  log(`Pulumi CLI v${version} ready in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${built}/pulumi`);

  const home = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-pulumi-home-"));
  const bin = path.join(home, "versions", version, "bin");
  fs.mkdirSync(bin, { recursive: true });
  fs.copyFileSync(path.join(built, "pulumi"), path.join(bin, "pulumi"));
  fs.chmodSync(path.join(bin, "pulumi"), 0o755);
  const plugin = "pulumi-resource-pulumi-nodejs";
  fs.copyFileSync(path.join(ROOT, "node_modules/@pulumi/pulumi", plugin), path.join(bin, plugin));
  fs.chmodSync(path.join(bin, plugin), 0o755);
  return {
    version,
    env: {
      PULUMI_HOME: home,
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      PULUMI_SKIP_UPDATE_CHECK: "true",
    },
    remove: () => fs.rmSync(home, { recursive: true, force: true }),
  };
}
