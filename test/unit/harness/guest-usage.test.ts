/**
 * The /proc parsers of test/harness/guest-usage.ts on literal /proc text (taken from a libvirt
 * 9.0 / QEMU 7.2 guest of the test hypervisor), and the sampler on a fake /proc directory.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { GuestSampler, guestNameOf, isQemuComm, memoryMiBOf, parseCmdline, parseStatusKiB } from "../../harness/guest-usage";
import { parseProcStat } from "../../harness/proc";

const STAT =
  "15153 (qemu-system-x86) S 1 15152 15152 0 -1 138412416 124499 0 16 0 8488 778 0 0 20 0 7 0 4398852 3457003520 434425 " +
  "18446744073709551615 94729632473088 94729638333525 140725485895712 0 0 0 268444224 4096 16451 0 0 0 17 1 0 0 0 0 0 " +
  "94729641445624 94729646649776 94730648711168 140725485900212 140725485903113 140725485903113 140725485903836 0\n";

const STATUS = `Name:	qemu-system-x86
Umask:	0002
State:	S (sleeping)
Tgid:	15153
Pid:	15153
PPid:	1
VmPeak:	 3474292 kB
VmSize:	 3375980 kB
VmLck:	       0 kB
VmHWM:	 1772136 kB
VmRSS:	 1737868 kB
RssAnon:	 1709864 kB
RssFile:	   28004 kB
VmSwap:	       0 kB
Threads:	7
`;

const CMDLINE =
  [
    "/usr/bin/qemu-system-x86_64",
    "-name",
    "guest=swarmlab-dev1-docker1,debug-threads=on",
    "-S",
    "-object",
    '{"qom-type":"secret","id":"masterKey0","format":"raw","file":"/var/lib/libvirt/qemu/domain-1-swarmlab-dev1-docker/master-key.aes"}',
    "-machine",
    "pc-i440fx-7.2,usb=off,dump-guest-core=off,memory-backend=pc.ram",
    "-accel",
    "tcg",
    "-cpu",
    "qemu64",
    "-m",
    "1536",
    "-smp",
    "1,sockets=1,cores=1,threads=1",
  ].join("\0") + "\0";

describe("the /proc parsers", () => {
  it("reads pid, comm, state, utime, stime and start time from /proc/PID/stat", () => {
    expect(parseProcStat(STAT)).toEqual({ pid: 15153, comm: "qemu-system-x86", state: "S", ppid: 1, utime: 8488, stime: 778, starttime: 4398852 });
  });

  it("counts the fields after the last ')' when the comm holds spaces and parentheses", () => {
    const odd = "42 (a) b (c) R 1 42 42 0 -1 4194560 100 0 0 0 7 3 0 0 20 0 1 0 555 1000 10 18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
    expect(parseProcStat(odd)).toMatchObject({ pid: 42, comm: "a) b (c", state: "R", utime: 7, stime: 3, starttime: 555 });
  });

  it("refuses text that is not a stat line", () => {
    expect(parseProcStat("")).toBeUndefined();
    expect(parseProcStat("15153 (qemu-system-x86) S 1 2 3")).toBeUndefined();
  });

  it("reads VmRSS and VmHWM in KiB from /proc/PID/status, and nothing for a missing key", () => {
    expect(parseStatusKiB(STATUS, "VmRSS")).toBe(1737868);
    expect(parseStatusKiB(STATUS, "VmHWM")).toBe(1772136);
    // A kernel thread's or a zombie's status has no Vm* lines.
    expect(parseStatusKiB("Name:\tkthreadd\nState:\tS (sleeping)\nThreads:\t1\n", "VmRSS")).toBeUndefined();
  });

  it("splits /proc/PID/cmdline on NUL and finds libvirt's guest name and the memory", () => {
    const argv = parseCmdline(CMDLINE);
    expect(argv[0]).toBe("/usr/bin/qemu-system-x86_64");
    expect(argv).toHaveLength(16);
    expect(argv[15]).toBe("1,sockets=1,cores=1,threads=1");
    expect(guestNameOf(argv)).toBe("swarmlab-dev1-docker1");
    expect(memoryMiBOf(argv)).toBe(1536);
  });

  it("knows the other spellings of -name and -m", () => {
    expect(guestNameOf(["qemu", "-name", "plain"])).toBe("plain");
    expect(guestNameOf(["qemu", "-name", "guest=a,,b,debug-threads=on"])).toBe("a,b");
    expect(guestNameOf(["qemu", "-m", "512"])).toBeUndefined();
    expect(memoryMiBOf(["qemu", "-m", "size=1572864k,slots=16,maxmem=8G"])).toBe(1536);
    expect(memoryMiBOf(["qemu", "-m", "2G"])).toBe(2048);
    expect(memoryMiBOf(["qemu", "-m", "1024M"])).toBe(1024);
    expect(memoryMiBOf(["qemu"])).toBeUndefined();
  });

  it("takes QEMU system emulators by their 15-character comm", () => {
    expect(isQemuComm("qemu-system-x86")).toBe(true);
    expect(isQemuComm("qemu-kvm")).toBe(true);
    expect(isQemuComm("qemu-img")).toBe(false);
    expect(isQemuComm("bash")).toBe(false);
  });
});

describe("GuestSampler", () => {
  let dir = "";
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const proc = (pid: number, opts: { comm?: string; name: string; rss: number; hwm: number; utime: number; stime: number; starttime?: number }) => {
    const d = path.join(dir, String(pid));
    fs.mkdirSync(d, { recursive: true });
    fs.writeFileSync(path.join(d, "stat"), `${pid} (${opts.comm ?? "qemu-system-x86"}) S 1 ${pid} ${pid} 0 -1 0 0 0 0 0 ${opts.utime} ${opts.stime} 0 0 20 0 7 0 ${opts.starttime ?? 1000} 0 0 0 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n`);
    fs.writeFileSync(path.join(d, "status"), `Name:\t${opts.comm ?? "qemu-system-x86"}\nVmHWM:\t ${opts.hwm} kB\nVmRSS:\t ${opts.rss} kB\n`);
    fs.writeFileSync(path.join(d, "cmdline"), ["/usr/bin/qemu-system-x86_64", "-name", `guest=${opts.name},debug-threads=on`, "-m", "1536"].join("\0") + "\0");
  };

  it("keeps each matching guest's peak RSS and its CPU time at the last sample, and skips the others", () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "guest-usage-"));
    proc(100, { name: "swarmlab-bench-l01-docker0", rss: 1000, hwm: 1000, utime: 100, stime: 50 });
    proc(101, { name: "swarmlab-bench-l01-docker1", rss: 2000, hwm: 2100, utime: 10, stime: 0 });
    proc(102, { name: "swarmlab-dev1-docker0", rss: 9999, hwm: 9999, utime: 999, stime: 999 });
    proc(103, { comm: "bash", name: "swarmlab-bench-l01-docker0", rss: 5, hwm: 5, utime: 1, stime: 1 });
    fs.mkdirSync(path.join(dir, "self"));
    const s = new GuestSampler((d) => d.startsWith("swarmlab-bench-l01-"), { procRoot: dir, ticksPerSecond: 100 });
    s.sample();
    proc(100, { name: "swarmlab-bench-l01-docker0", rss: 800, hwm: 1200, utime: 300, stime: 100 });
    s.sample();
    const u = s.usage();
    expect(u.map((g) => g.domain)).toEqual(["swarmlab-bench-l01-docker0", "swarmlab-bench-l01-docker1"]);
    expect(u[0]).toMatchObject({ pids: [100], memoryMiB: 1536, peakRssKiB: 1000, vmHwmKiB: 1200, cpuSeconds: 4, samples: 2 });
    expect(u[1]).toMatchObject({ pids: [101], peakRssKiB: 2000, vmHwmKiB: 2100, cpuSeconds: 0.1, samples: 2 });
    expect(u[0]!.series.map(([, rss, cpu]) => [rss, cpu])).toEqual([[1000, 1.5], [800, 4]]);
  });

  it("adds the CPU time of a guest's earlier process when the domain is started again", () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "guest-usage-"));
    proc(200, { name: "swarmlab-bench-l02-docker0", rss: 500, hwm: 500, utime: 200, stime: 0 });
    const s = new GuestSampler(() => true, { procRoot: dir, ticksPerSecond: 100 });
    s.sample();
    fs.rmSync(path.join(dir, "200"), { recursive: true });
    proc(300, { name: "swarmlab-bench-l02-docker0", rss: 700, hwm: 700, utime: 50, stime: 50, starttime: 2000 });
    s.sample();
    expect(s.usage()[0]).toMatchObject({ pids: [200, 300], peakRssKiB: 700, cpuSeconds: 3 });
  });
});
