/**
 * What the lab's guests cost the hypervisor, read from /proc: each guest is one QEMU process
 * that libvirt started with `-name guest=<domain>,debug-threads=on` (its comm, the executable's
 * name cut to 15 characters, is `qemu-system-x86` for qemu-system-x86_64; `qemu-kvm` on some
 * distributions). The sampler reads, every interval, each matching guest's resident memory
 * (VmRSS, and the kernel's own high-water mark VmHWM, from /proc/PID/status) and its CPU time
 * (utime + stime of /proc/PID/stat: every thread of the process, in clock ticks).
 *
 * The parsers are pure (literal /proc text in, numbers out); GuestSampler does the reading.
 * Node built-ins only; no particular lab.
 */
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parseProcStat } from "./proc";

/* ---------------------------------------------------------------- parsers */

/** A `Key:   1234 kB` line of /proc/PID/status, in KiB; undefined when the key is absent (a kernel thread, a zombie). */
export function parseStatusKiB(text: string, key: string): number | undefined {
  const m = new RegExp(`^${key}:\\s*(\\d+)\\s*kB\\s*$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
}

/** /proc/PID/cmdline: the arguments, NUL-separated (with a trailing NUL). */
export function parseCmdline(raw: string): string[] {
  const args = raw.split("\0");
  if (args[args.length - 1] === "") args.pop();
  return args;
}

/** The value of option `opt` (`-opt value`, or `-opt=value`); the last one wins, as QEMU reads them. */
function optionValue(argv: readonly string[], opt: string): string | undefined {
  let v: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if ((a === `-${opt}` || a === `--${opt}`) && i + 1 < argv.length) v = argv[++i];
    else if (a.startsWith(`-${opt}=`) || a.startsWith(`--${opt}=`)) v = a.slice(a.indexOf("=") + 1);
  }
  return v;
}

/**
 * The guest's name from QEMU's arguments: `-name guest=NAME,debug-threads=on` (how libvirt
 * starts a domain; a ',' inside the name is doubled) or the older `-name NAME`.
 */
export function guestNameOf(argv: readonly string[]): string | undefined {
  const v = optionValue(argv, "name");
  if (v === undefined) return undefined;
  // Split on single commas; ",," is an escaped comma.
  const parts = v.split(/(?<!,),(?!,)/).map((p) => p.replace(/,,/g, ","));
  const guest = parts.find((p) => p.startsWith("guest="));
  if (guest) return guest.slice("guest=".length) || undefined;
  return parts[0] && !parts[0].includes("=") ? parts[0] : undefined;
}

const MEMORY_UNIT: Record<string, number> = { "": 1, m: 1, g: 1024, t: 1024 * 1024, k: 1 / 1024, b: 1 / (1024 * 1024) };

/** The guest's memory in MiB from QEMU's `-m`: `-m 1536`, `-m 1536M`, `-m 2G`, `-m size=1572864k[,slots=..]`. */
export function memoryMiBOf(argv: readonly string[]): number | undefined {
  const v = optionValue(argv, "m");
  if (v === undefined) return undefined;
  const size = v.split(",").map((p) => (p.startsWith("size=") ? p.slice(5) : p)).find((p) => !p.includes("="));
  const m = /^(\d+(?:\.\d+)?)([bkmgt]?)$/i.exec(size ?? "");
  return m ? Number(m[1]) * MEMORY_UNIT[m[2]!.toLowerCase()]! : undefined;
}

/** Clock ticks per second (`getconf CLK_TCK`), 100 when it cannot be asked (Linux's USER_HZ nearly everywhere). */
export function clockTicks(): number {
  const r = spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" });
  const n = Number(r.stdout?.trim());
  return r.status === 0 && Number.isInteger(n) && n > 0 ? n : 100;
}

/** A QEMU system emulator by its comm: qemu-system-x86 (qemu-system-x86_64 cut to 15 characters), qemu-kvm. */
export const isQemuComm = (comm: string): boolean => comm.startsWith("qemu-system-") || comm === "qemu-kvm";

/* ---------------------------------------------------------------- sampler */

export interface GuestUsage {
  /** The libvirt domain (QEMU's -name guest=...). */
  domain: string;
  /** The QEMU process(es) seen for it, in order (more than one if the domain was started again). */
  pids: number[];
  /** Memory given to the guest (QEMU's -m), MiB. */
  memoryMiB?: number;
  /** Largest VmRSS seen in the samples, KiB. */
  peakRssKiB: number;
  /** VmHWM (the kernel's peak RSS of the process) at the last sample, KiB; the largest over its processes. */
  vmHwmKiB?: number;
  /** utime + stime at the last sample, seconds, summed over its processes. */
  cpuSeconds: number;
  /** Samples that found the guest running. */
  samples: number;
  /** Seconds from the sampler's start when the guest was first and last seen. */
  firstSeenS: number;
  lastSeenS: number;
  /** Every sample: [seconds from the sampler's start, VmRSS KiB, CPU seconds so far]. */
  series: [number, number, number][];
}

interface Tracked {
  usage: GuestUsage;
  /** CPU ticks of each process (pid:starttime) at its last sample. */
  ticks: Map<string, number>;
  hwm: Map<string, number>;
}

/**
 * Samples, every `intervalMs`, the QEMU processes whose guest name `match` accepts. Call start(),
 * then stop() (which takes one last sample) for the usage per guest, sorted by domain.
 */
export class GuestSampler {
  private readonly guests = new Map<string, Tracked>();
  /** pid -> what its cmdline said, keyed with its start time (a PID can be reused). */
  private readonly seen = new Map<number, { starttime: number; domain?: string; memoryMiB?: number }>();
  private timer: NodeJS.Timeout | undefined;
  private t0 = Date.now();
  private readonly proc: string;
  private readonly ticksPerSecond: number;
  private readonly intervalMs: number;

  constructor(
    private readonly match: (domain: string) => boolean,
    opts: { intervalMs?: number; procRoot?: string; ticksPerSecond?: number } = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 2000;
    this.proc = opts.procRoot ?? "/proc";
    this.ticksPerSecond = opts.ticksPerSecond ?? clockTicks();
  }

  start(): void {
    this.t0 = Date.now();
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  stop(): GuestUsage[] {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.sample();
    return this.usage();
  }

  usage(): GuestUsage[] {
    return [...this.guests.values()].map((g) => ({ ...g.usage, pids: [...g.usage.pids], series: g.usage.series.map((x) => [...x] as [number, number, number]) })).sort((a, b) => a.domain.localeCompare(b.domain));
  }

  private read(pid: string, file: string): string | undefined {
    try {
      return fs.readFileSync(path.join(this.proc, pid, file), "utf8");
    } catch {
      return undefined; // gone between the listing and the read, or not ours to read
    }
  }

  /** One pass over the processes. Never throws: a process that vanishes mid-read is skipped. */
  sample(): void {
    let entries: string[];
    try {
      entries = fs.readdirSync(this.proc).filter((e) => /^\d+$/.test(e));
    } catch {
      return;
    }
    const now = (Date.now() - this.t0) / 1000;
    for (const e of entries) {
      const statText = this.read(e, "stat");
      const stat = statText === undefined ? undefined : parseProcStat(statText);
      if (!stat || !isQemuComm(stat.comm) || stat.state === "Z") continue;
      let known = this.seen.get(stat.pid);
      if (!known || known.starttime !== stat.starttime) {
        const raw = this.read(e, "cmdline");
        if (raw === undefined) continue;
        const argv = parseCmdline(raw);
        known = { starttime: stat.starttime, domain: guestNameOf(argv), memoryMiB: memoryMiBOf(argv) };
        this.seen.set(stat.pid, known);
      }
      if (!known.domain || !this.match(known.domain)) continue;
      const status = this.read(e, "status");
      const rss = status === undefined ? undefined : parseStatusKiB(status, "VmRSS");
      if (rss === undefined) continue;
      const hwm = parseStatusKiB(status!, "VmHWM");
      let g = this.guests.get(known.domain);
      if (!g) {
        g = { usage: { domain: known.domain, pids: [], peakRssKiB: 0, cpuSeconds: 0, samples: 0, firstSeenS: now, lastSeenS: now, series: [] }, ticks: new Map(), hwm: new Map() };
        this.guests.set(known.domain, g);
      }
      const u = g.usage;
      if (!u.pids.includes(stat.pid)) u.pids.push(stat.pid);
      if (known.memoryMiB !== undefined) u.memoryMiB = known.memoryMiB;
      u.peakRssKiB = Math.max(u.peakRssKiB, rss);
      const key = `${stat.pid}:${stat.starttime}`;
      g.ticks.set(key, stat.utime + stat.stime);
      if (hwm !== undefined) g.hwm.set(key, hwm);
      u.cpuSeconds = [...g.ticks.values()].reduce((a, b) => a + b, 0) / this.ticksPerSecond;
      if (g.hwm.size) u.vmHwmKiB = Math.max(...g.hwm.values());
      u.samples++;
      u.lastSeenS = now;
      u.series.push([Math.round(now * 10) / 10, rss, Math.round(u.cpuSeconds * 100) / 100]);
    }
  }
}
