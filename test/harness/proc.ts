/**
 * Processes as /proc shows them, for the test machinery that must end only what it started
 * (testhv's libvirtd, the test sshd) and measure guests (guest-usage): one parser of
 * /proc/PID/stat and one identity (PID, comm, start time) that tells a reused PID apart.
 */
import { promises as fs } from "fs";

export interface ProcStat {
  pid: number;
  /** Field 2, without its parentheses. */
  comm: string;
  /** Field 3. */
  state: string;
  /** Field 4. */
  ppid: number;
  /** Fields 14 and 15: user and system CPU time of the whole process, in clock ticks. */
  utime: number;
  stime: number;
  /** Field 22: start time in clock ticks since boot (tells a reused PID from the process seen before). */
  starttime: number;
}

/**
 * /proc/PID/stat. The comm (field 2) is in parentheses and may itself hold spaces and ')', so
 * the fields after it are counted from the LAST ')'. Undefined for text that is not a stat line.
 */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 1).trim().split(/\s+/);
  // rest[0] is field 3 (state): field k is rest[k - 3].
  if (!Number.isInteger(pid) || rest.length < 20) return undefined;
  const field = (k: number) => Number(rest[k - 3]);
  const out = { pid, comm: text.slice(open + 1, close), state: rest[0]!, ppid: field(4), utime: field(14), stime: field(15), starttime: field(22) };
  return [out.ppid, out.utime, out.stime, out.starttime].every(Number.isFinite) ? out : undefined;
}

/** A live process, named well enough to tell it from a later one with the same PID. */
export interface ProcIdentity {
  pid: number;
  comm: string;
  ppid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/<pid>/stat). */
  startTime: string;
}

/** The process `pid` now, or undefined when it is gone or a zombie. */
export async function procIdentity(pid: number): Promise<ProcIdentity | undefined> {
  try {
    const s = parseProcStat(await fs.readFile(`/proc/${pid}/stat`, "utf8"));
    if (!s || s.state === "Z") return undefined;
    return { pid, comm: s.comm, ppid: s.ppid, startTime: String(s.starttime) };
  } catch {
    return undefined;
  }
}

/** Whether `id` still runs (same PID, comm and start time). */
export async function sameProcess(id: ProcIdentity): Promise<boolean> {
  const now = await procIdentity(id.pid);
  return now !== undefined && now.comm === id.comm && now.startTime === id.startTime;
}

/** Every live process. */
export async function allProcesses(): Promise<ProcIdentity[]> {
  const out: ProcIdentity[] = [];
  for (const e of await fs.readdir("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const id = await procIdentity(Number(e));
    if (id) out.push(id);
  }
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** SIGTERM, then SIGKILL after `graceMs`, for each process that is still the one recorded. */
export async function terminate(ids: ProcIdentity[], log: (s: string) => void, graceMs = 15_000): Promise<void> {
  const live: ProcIdentity[] = [];
  for (const id of ids) {
    if (await sameProcess(id)) live.push(id);
    else log(`pid ${id.pid} (${id.comm}) already gone`);
  }
  for (const id of live) {
    log(`SIGTERM ${id.pid} (${id.comm})`);
    try {
      process.kill(id.pid, "SIGTERM");
    } catch {
      /* raced with exit */
    }
  }
  const deadline = Date.now() + graceMs;
  for (;;) {
    const still: ProcIdentity[] = [];
    for (const id of live) if (await sameProcess(id)) still.push(id);
    if (still.length === 0) return;
    if (Date.now() > deadline) {
      for (const id of still) {
        log(`SIGKILL ${id.pid} (${id.comm}): did not exit within ${graceMs} ms`);
        try {
          process.kill(id.pid, "SIGKILL");
        } catch {
          /* raced with exit */
        }
      }
      await sleep(500);
      return;
    }
    await sleep(200);
  }
}
