/** Builds (or finds in its cache) the Debian 12 test guest image and returns its manifest. */
import { spawn } from "child_process";
import * as fs from "fs";
import * as path from "path";

const ROOT = path.resolve(__dirname, "../..");

export async function ensureTestImage(log: (line: string) => void): Promise<string> {
  const fromEnv = process.env.SWARMLAB_TEST_IMAGE_MANIFEST;
  if (fromEnv) return fromEnv;
  if (process.env.SWARMLAB_E2E_NETNS) {
    throw new Error("the test image must be built outside the test namespace (it needs Debian's mirror): run through npm run test:e2e, which builds it first");
  }
  const t0 = Date.now();
  const out: string[] = [];
  await new Promise<void>((resolve, reject) => {
    const child = spawn("bash", [path.join(ROOT, "test/harness/build-test-image.sh")], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, SWARMLAB_GUEST_INIT: "swarmlab" },
    });
    child.stdout.on("data", (d: Buffer) => out.push(...d.toString().split("\n").filter(Boolean)));
    child.stderr.on("data", (d: Buffer) => {
      const lines = d.toString().split("\n").filter(Boolean);
      for (const l of lines.slice(-3)) log(`  image: ${l}`);
    });
    child.on("error", reject);
    child.on("close", (code) => (code === 0 ? resolve() : reject(new Error(`build-test-image.sh exited ${code}`))));
  });
  const dir = out[out.length - 1];
  const manifest = path.join(dir, "manifest.json");
  if (!fs.existsSync(manifest)) throw new Error(`the image builder printed ${dir}, which has no manifest.json`);
  log(`test image ready in ${((Date.now() - t0) / 1000).toFixed(0)} s: ${manifest}`);
  return manifest;
}

/** The stack settings that put a lab on the test image: TCG, small guests, its local workload image. */
export function testImageConfig(manifest: string): Record<string, string> {
  return {
    "swarmlab:domainType": "qemu",
    "swarmlab:vcpus": "1",
    "swarmlab:memoryMiB": "1536",
    "swarmlab:baseImage": manifest,
    "swarmlab:workloadImage": "swarmlab/busybox-static:local",
    "swarmlab:workloadImagePull": "false",
  };
}
