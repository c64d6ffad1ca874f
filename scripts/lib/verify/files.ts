/**
 * The files verify writes and reads besides the inventory: the report
 * (--output), the raw gather (--save-raw, private: 0600 files in a 0700
 * directory; an earlier save of ours is made private, any other directory
 * others can read is refused), and a saved gather to replay (--replay). Every path is checked
 * before anything connects; every problem is a UsageError that names the
 * option, the path and the reason (never a stack trace, never a hang: no
 * recursive mkdir, which loops on paths such as /proc/nope/x).
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { UsageError } from "./errors";

function reasonOf(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const byCode: Record<string, string> = {
    ENOENT: "no such file or directory",
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EROFS: "read-only file system",
    ENOTDIR: "a part of the path is not a directory",
    EISDIR: "is a directory",
    ENOSPC: "no space left on the device",
    EEXIST: "already exists",
    ENAMETOOLONG: "the name is too long",
    ELOOP: "too many symbolic links",
  };
  return (err && err.code && byCode[err.code]) || (e instanceof Error ? e.message : String(e));
}

/** The nearest existing ancestor of `p` (p itself if it exists) and the missing components below it. */
function existingAncestor(p: string): { base: string; missing: string[] } {
  const missing: string[] = [];
  let cur = path.resolve(p);
  for (;;) {
    try {
      fs.lstatSync(cur);
      return { base: cur, missing };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    const parent = path.dirname(cur);
    if (parent === cur) return { base: cur, missing };
    missing.unshift(path.basename(cur));
    cur = parent;
  }
}

/** Create the missing directories of `dir` one by one (mode for each), or say why not (naming `shown`, the path as given). */
function makeDirs(option: string, shown: string, dir: string, mode: number): void {
  let base: string;
  let missing: string[];
  try {
    ({ base, missing } = existingAncestor(dir));
  } catch (e) {
    throw new UsageError(`${option} ${shown}: ${reasonOf(e)}`);
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(base);
  } catch (e) {
    throw new UsageError(`${option} ${shown}: ${base}: ${reasonOf(e)}`);
  }
  if (!st.isDirectory()) throw new UsageError(`${option} ${shown}: ${base} is not a directory`);
  let cur = base;
  for (const part of missing) {
    cur = path.join(cur, part);
    try {
      fs.mkdirSync(cur, { mode });
    } catch (e) {
      throw new UsageError(`${option} ${shown}: cannot create ${cur}: ${reasonOf(e)}`);
    }
  }
}

/**
 * Check that the report can be written to `file` (creating its directory),
 * before the gather: a directory, an unwritable place or a path that cannot
 * exist is a UsageError now, not a stack trace after the gather.
 */
export function prepareOutputFile(file: string, option = "--output"): void {
  if (file === "") throw new UsageError(`${option} needs a file name`);
  const abs = path.resolve(file);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new UsageError(`${option} ${file}: ${reasonOf(e)}`);
  }
  if (st?.isDirectory()) throw new UsageError(`${option} ${file}: is a directory (give a file name)`);
  if (st && !st.isFile()) throw new UsageError(`${option} ${file}: is not a regular file`);
  makeDirs(option, file, path.dirname(abs), 0o777);
  try {
    if (st) {
      fs.accessSync(abs, fs.constants.W_OK);
    } else {
      // Create it to be sure it can be, and remove it again: the report is written at the end.
      fs.closeSync(fs.openSync(abs, "wx"));
      fs.unlinkSync(abs);
    }
  } catch (e) {
    throw new UsageError(`${option} ${file}: cannot write there: ${reasonOf(e)}`);
  }
}

/** Write the report (the place was checked by prepareOutputFile). */
export function writeOutputFile(file: string, data: string, option = "--output"): void {
  try {
    fs.writeFileSync(file, data);
  } catch (e) {
    throw new UsageError(`${option} ${file}: cannot write the report: ${reasonOf(e)}`);
  }
}

/**
 * Make `dir` ready for raw output, which shows the lab's inner workings:
 * created with mode 0700 when missing; an existing one must be a directory
 * that only its owner can enter (else a UsageError says how to fix it).
 */
export function preparePrivateDir(dir: string, option = "--save-raw"): void {
  if (dir === "") throw new UsageError(`${option} needs a directory`);
  const abs = path.resolve(dir);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw new UsageError(`${option} ${dir}: ${reasonOf(e)}`);
  }
  if (!st) {
    makeDirs(option, dir, abs, 0o700);
    try {
      fs.chmodSync(abs, 0o700); // the umask may have taken bits away; never added any
    } catch (e) {
      throw new UsageError(`${option} ${dir}: ${reasonOf(e)}`);
    }
    return;
  }
  if (!st.isDirectory()) throw new UsageError(`${option} ${dir}: is not a directory`);
  if ((st.mode & 0o077) !== 0 && ownSavedGather(abs, st)) {
    // An earlier --save-raw of ours (made before it was private): made private now.
    try {
      fs.chmodSync(abs, 0o700);
      for (const f of fs.readdirSync(abs)) fs.chmodSync(path.join(abs, f), 0o600);
      return;
    } catch (e) {
      throw new UsageError(`${option} ${dir}: cannot make it private: ${reasonOf(e)}`);
    }
  }
  if ((st.mode & 0o077) !== 0) {
    throw new UsageError(`${option} ${dir}: other users can read it (mode ${(st.mode & 0o777).toString(8).padStart(4, "0")}); give a new directory (created 0700) or \`chmod 700\` this one`);
  }
  try {
    fs.accessSync(abs, fs.constants.W_OK | fs.constants.X_OK);
  } catch (e) {
    throw new UsageError(`${option} ${dir}: cannot write there: ${reasonOf(e)}`);
  }
}

/** What --save-raw writes, and nothing else. */
const SAVED_NAME = /^([a-z0-9][a-z0-9-]*(\.stderr)?\.txt|traffic\.json|traffic-plan\.json)$/;

/** A directory of ours holding nothing but what --save-raw writes (or nothing). */
function ownSavedGather(abs: string, st: fs.Stats): boolean {
  if (typeof process.getuid === "function" && st.uid !== process.getuid()) return false;
  try {
    return fs.readdirSync(abs, { withFileTypes: true }).every((e) => e.isFile() && SAVED_NAME.test(e.name));
  } catch {
    return false;
  }
}

/** Write a file only its owner can read (0600, also when it existed with another mode). */
export function writePrivate(file: string, data: string): void {
  const fd = fs.openSync(file, "w", 0o600);
  try {
    fs.fchmodSync(fd, 0o600);
    fs.writeSync(fd, data);
  } finally {
    fs.closeSync(fd);
  }
}

/** A --replay directory must exist, be a directory and hold the saved output of at least one host. */
export function checkReplayDir(dir: string, hosts: readonly string[], option = "--replay"): void {
  if (dir === "") throw new UsageError(`${option} needs a directory`);
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch (e) {
    throw new UsageError(`${option} ${dir}: ${reasonOf(e)}`);
  }
  if (!st.isDirectory()) throw new UsageError(`${option} ${dir}: is not a directory`);
  const found = hosts.filter((h) => fs.existsSync(path.join(dir, `${h}.txt`)));
  if (found.length === 0) throw new UsageError(`${option} ${dir}: holds no saved gather (none of ${hosts.map((h) => `${h}.txt`).join(", ")}; make one with --save-raw)`);
}

/** Read a file of a --replay directory, or say why not (undefined: it is not there). */
export function readReplayFile(dir: string, name: string, option = "--replay"): string | undefined {
  const f = path.join(dir, name);
  try {
    return fs.readFileSync(f, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new UsageError(`${option}: ${f}: ${reasonOf(e)}`);
  }
}
