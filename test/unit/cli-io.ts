/** For tests of the CLIs: a fresh temp directory and captured stdout/stderr around each test. */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, vi } from "vitest";

export interface CliIo {
  /** A temp directory, removed after each test. */
  dir: string;
  /** What the test wrote to stdout / stderr. */
  out: string;
  err: string;
}

/** Registers beforeEach/afterEach hooks in the calling scope; read the fields inside tests. */
export function captureCliIo(prefix: string): CliIo {
  const io: CliIo = { dir: "", out: "", err: "" };
  beforeEach(() => {
    io.dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
    io.out = "";
    io.err = "";
    vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => ((io.out += String(s)), true));
    vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => ((io.err += String(s)), true));
  });
  afterEach(() => {
    vi.restoreAllMocks();
    fs.rmSync(io.dir, { recursive: true, force: true });
  });
  return io;
}
