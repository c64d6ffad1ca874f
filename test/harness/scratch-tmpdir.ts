import * as fs from "fs";
import * as os from "os";
import * as path from "path";

/**
 * vitest globalSetup: every temporary file or directory a test run makes (os.tmpdir(), for the
 * tests and for any program they start) goes under one directory of its own, removed when the
 * run ends, whether its tests passed or failed.
 */
export default function setup(): () => void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-test-run-"));
  const before = process.env.TMPDIR;
  process.env.TMPDIR = dir;
  return () => {
    if (before === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = before;
    fs.rmSync(dir, { recursive: true, force: true });
  };
}
