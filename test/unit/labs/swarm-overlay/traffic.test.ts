import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  buildTrafficScript,
  parseNeigh,
  parsePing,
  parseProcNetDev,
  parseTrafficOutput,
  remoteCommand,
  resolvePlan,
  runTrafficScript,
  TrafficPlanError,
  type TrafficPlan,
} from "../../../../labs/swarm-overlay/traffic";
import { judgeObservations, judgePath1, judgePath2, judgePath3, judgePath4, judgeTraffic, toTrafficEvidence } from "../../../../labs/swarm-overlay/traffic-checks";
import { LAB_PLAN } from "../../lab-values";

const FIX = path.join(__dirname, "../../../fixtures/plumbing");
const readFix = (p: string): string => fs.readFileSync(path.join(FIX, p), "utf8");

/** The plan of the netns emulation the recorded outputs come from (traffic/emulate-traffic.sh). */
const EMU_PLAN = JSON.parse(readFix("traffic/plan-emu.json")) as TrafficPlan;


describe("resolvePlan: what the script may target", () => {
  it("accepts the lab's plan and fills in bounded defaults", () => {
    const r = resolvePlan(LAB_PLAN);
    expect(r).toMatchObject({ pingCount: 3, pingWaitSeconds: 2, captureSeconds: 15, captureCount: 20, vxlanPort: 4789, netnsDir: "/var/run/docker/netns" });
  });
  it("refuses a PATH-2 target outside the lab network (the seed's 8.8.8.8)", () => {
    expect(() => resolvePlan({ ...LAB_PLAN, pathTarget: "8.8.8.8" })).toThrow(TrafficPlanError);
    expect(() => resolvePlan({ ...LAB_PLAN, pathTarget: "8.8.8.8" })).toThrow(/8\.8\.8\.8 is outside the lab network 192\.168\.122\.0\/24/);
    expect(() => resolvePlan({ ...LAB_PLAN, pathTarget: "192.168.1.1" })).toThrow(/outside the lab network/);
    expect(() => resolvePlan({ ...LAB_PLAN, pathTarget: "192.168.123.1" })).toThrow(/outside the lab network/);
  });
  it("refuses the network and broadcast addresses, and non-addresses", () => {
    expect(() => resolvePlan({ ...LAB_PLAN, pathTarget: "192.168.122.0" })).toThrow(/network or broadcast/);
    expect(() => resolvePlan({ ...LAB_PLAN, pathTarget: "192.168.122.255" })).toThrow(/network or broadcast/);
    expect(() => resolvePlan({ ...LAB_PLAN, pathTarget: "gateway" })).toThrow(/not an IPv4 address/);
    expect(() => resolvePlan({ ...LAB_PLAN, labCidr: "0.0.0.0/0", pathTarget: "8.8.8.8" })).toThrow(/implausibly large/);
  });
  it("refuses a target inside the overlay", () => {
    expect(() => resolvePlan({ ...LAB_PLAN, labCidr: "192.168.0.0/16", pathTarget: "192.168.200.9" })).toThrow(/inside the overlay/);
  });
  it("refuses hosts outside the lab and a peer task outside the overlay", () => {
    expect(() => resolvePlan({ ...LAB_PLAN, peerAddress: "10.0.0.5" })).toThrow(/peerAddress 10\.0\.0\.5 is outside the lab network/);
    expect(() => resolvePlan({ ...LAB_PLAN, peerTaskAddress: "172.18.0.4" })).toThrow(/not in the overlay/);
    expect(() => resolvePlan({ ...LAB_PLAN, peerAddress: LAB_PLAN.localAddress })).toThrow(/same host/);
  });
  it("refuses names that could inject shell, and unbounded counts", () => {
    expect(() => resolvePlan({ ...LAB_PLAN, service: "demo; reboot" })).toThrow(/not a docker service name/);
    expect(() => resolvePlan({ ...LAB_PLAN, container: "$(reboot)" })).toThrow(/not a container/);
    expect(() => resolvePlan({ ...LAB_PLAN, underlayNic: "ens3 -w /etc/passwd" })).toThrow(/not an interface name/);
    expect(() => resolvePlan({ ...LAB_PLAN, sandbox: "../../proc/1/ns/net" })).toThrow(/sandbox "..\/..\/proc\/1\/ns\/net" is not a namespace name/);
    expect(() => resolvePlan({ ...LAB_PLAN, overlayNamespace: "1-x y" })).toThrow(/overlayNamespace "1-x y" is not a namespace name/);
    expect(() => resolvePlan({ ...LAB_PLAN, vxlanIdList: "4097;reboot" })).toThrow(/vxlanIdList "4097;reboot" is not a comma-separated list/);
    expect(() => resolvePlan({ ...LAB_PLAN, pingCount: 1000 })).toThrow(/pingCount must be an integer from 1 to 10/);
    expect(() => resolvePlan({ ...LAB_PLAN, captureSeconds: 0 })).toThrow(/captureSeconds/);
    expect(() => resolvePlan({ ...LAB_PLAN, vni: 1 << 24 })).toThrow(/24-bit/);
  });
});

describe("buildTrafficScript", () => {
  const script = buildTrafficScript(LAB_PLAN);
  it("is pure", () => {
    expect(buildTrafficScript(LAB_PLAN)).toBe(script);
  });
  it("is valid bash", () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "plumb-")), "s.sh");
    fs.writeFileSync(f, script);
    expect(() => execFileSync("bash", ["-n", f], { stdio: "pipe" })).not.toThrow();
  });
  it("runs the documented commands, bounded", () => {
    // from the task's namespace with the host's ping; docker exec where the host has none
    expect(script).toContain(`timeout 19 nsenter --net="$PL_SK" ping -n -c "$PL_COUNT" -i 0.2 -W "$PL_WAIT" "$1"`); // 3 * (2 + 1) + 10 seconds
    expect(script).toContain(`docker exec "$PL_CID" ping -c "$PL_COUNT" -W "$PL_WAIT" "$1"`);
    expect(script).toMatch(/timeout 19 docker exec/);
    expect(script).toContain(`nsenter --net="$PL_SK" cat /proc/net/dev`);
    expect(script).toContain(`nsenter --net="$PL_SK" ip neigh show "$PL_GATEWAY"`);
    expect(script).toContain(`nsenter --net="$PL_OVL" ip -o link show br0`);
    expect(script).toMatch(/timeout "\$PL_CAP_SECONDS" tcpdump -n -i "\$PL_NIC_NAME" -U \$pl_imm -s 256 -c "\$PL_CAP_COUNT" -w/);
    expect(script).toContain(`"udp and dst port $PL_PORT and host $PL_LOCAL and host $PL_PEER"`);
    expect(script).toContain("PL_CAP_SECONDS=15");
    expect(script).toContain("PL_CAP_COUNT=20");
    expect(script).toContain(`base64 "$pl_tmp/cap.pcap"`);
  });
  it("always kills the capture and removes its files on exit", () => {
    expect(script).toMatch(/pl_cleanup\(\) \{\n\s+if \[ -n "\$PL_CAP_PID" \]; then kill "\$PL_CAP_PID"/);
    expect(script).toContain("trap pl_cleanup EXIT");
    expect(script).toContain("trap 'exit 130' INT TERM HUP");
  });
  it("names no address but the plan's", () => {
    const allowed = new Set([LAB_PLAN.overlayGateway, LAB_PLAN.pathTarget, LAB_PLAN.localAddress, LAB_PLAN.peerAddress, LAB_PLAN.peerTaskAddress]);
    const found = script.match(/\b\d{1,3}(?:\.\d{1,3}){3}\b/g) ?? [];
    expect(found.length).toBeGreaterThan(0);
    for (const a of found) expect(allowed.has(a), a).toBe(true);
    expect(script).not.toContain("8.8.8.8");
  });
  it("skips PATH-3/4 steps when the peer task is unknown", () => {
    const { peerTaskAddress: _, ...noPeer } = LAB_PLAN;
    expect(buildTrafficScript(noPeer)).toContain("PL_PEER_TASK=''");
  });
  it("quotes values for the shell", () => {
    expect(buildTrafficScript({ ...LAB_PLAN, container: "demoservice.1.dxug6j2lijsr" })).toContain("PL_CONTAINER='demoservice.1.dxug6j2lijsr'");
  });
  it("asks docker nothing the gather already told it, and pings from the task's namespace", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumb-run-"));
    try {
      fs.mkdirSync(path.join(dir, "bin"));
      fs.mkdirSync(path.join(dir, "netns"));
      for (const ns of ["5e0c1a7f3b2d", "1-k3b7x2n9q4"]) fs.writeFileSync(path.join(dir, "netns", ns), "");
      const stub = (name: string, body: string) => fs.writeFileSync(path.join(dir, "bin", name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
      stub("docker", `echo "docker $*" >>${dir}/calls; echo "docker must not be asked" >&2; exit 1`);
      // nsenter --net=NS CMD...: record the namespace, run CMD here
      stub("nsenter", `echo "nsenter $1" >>${dir}/calls; shift; exec "$@"`);
      stub("ping", `echo "ping $*" >>${dir}/calls; echo "3 packets transmitted, 3 received, 0% packet loss, time 402ms"`);
      // a tool printing a marker-like line must not end the run early
      stub("ip", `echo "@@swarmlab:done sections=0"; printf "1: eth0@if9: <BROADCAST> mtu 1450 link/ether 02:42:c0:a8:c8:01 brd ff:ff:ff:ff:ff:ff"; echo "@@swarmlab:end x rc=0 bytes=0" >&2`);
      const { peerTaskAddress: _, ...noPeer } = LAB_PLAN;
      const plan: TrafficPlan = { ...noPeer, netnsDir: path.join(dir, "netns"), container: "c0ffee", sandbox: "5e0c1a7f3b2d", overlayNamespace: "1-k3b7x2n9q4", vxlanIdList: "4097" };
      const out = execFileSync("bash", ["-s"], { input: buildTrafficScript(plan), env: { ...process.env, PATH: `${dir}/bin:${process.env["PATH"] ?? ""}` }, encoding: "utf8" });
      const run = parseTrafficOutput(out);
      expect(run.sections["container"]).toMatchObject({ rc: 0, stdout: "c0ffee\n" });
      expect(run.sections["sandbox"]).toMatchObject({ rc: 0, stdout: `${dir}/netns/5e0c1a7f3b2d\n` });
      expect(run.sections["overlay-ns"]).toMatchObject({ rc: 0, stdout: `${dir}/netns/1-k3b7x2n9q4\n` });
      expect(run.sections["vxlanid"]).toMatchObject({ rc: 0, stdout: "4097\n" });
      expect(parsePing(run.sections["p1.ping"]!.stdout)).toEqual({ transmitted: 3, received: 3 });
      expect(run.sections["br0"]).toMatchObject({ rc: 0, stdout: "@ @swarmlab:done sections=0\n1: eth0@if9: <BROADCAST> mtu 1450 link/ether 02:42:c0:a8:c8:01 brd ff:ff:ff:ff:ff:ff\n", stderr: "@ @swarmlab:end x rc=0 bytes=0\n" });
      // The gather's framing, the same marker: nothing of the old @@plumbing protocol is printed.
      expect(out).toMatch(/^@@swarmlab:begin tools$/m);
      expect(out).toMatch(/^@@swarmlab:done sections=\d+$/m);
      expect(out).not.toContain("@@plumbing:");
      expect(run.complete).toBe(true);
      const calls = fs.readFileSync(path.join(dir, "calls"), "utf8");
      expect(calls).not.toMatch(/^docker /m);
      expect(calls).toContain(`nsenter --net=${dir}/netns/5e0c1a7f3b2d\nping -n -c 3 -i 0.2 -W 2 192.168.200.1\n`);
      expect(calls).toContain(`ping -n -c 3 -i 0.2 -W 2 192.168.122.1\n`);
      // a namespace that went away since the gather is reported, not pinged into
      fs.rmSync(path.join(dir, "netns", "5e0c1a7f3b2d"));
      const gone = parseTrafficOutput(execFileSync("bash", ["-s"], { input: buildTrafficScript(plan), env: { ...process.env, PATH: `${dir}/bin:${process.env["PATH"] ?? ""}` }, encoding: "utf8" }));
      expect(gone.sections["sandbox"]!.rc).toBe(1);
      expect(gone.sections["sandbox"]!.stderr).toMatch(/the task's namespace .*5e0c1a7f3b2d is gone/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  it("remoteCommand uses sudo unless root", () => {
    expect(remoteCommand("debian")).toBe("sudo -n bash -s");
    expect(remoteCommand("root")).toBe("bash -s");
  });
});

describe("small parsers", () => {
  it("ping summaries of iputils and busybox", () => {
    expect(parsePing("3 packets transmitted, 3 received, 0% packet loss, time 2049ms")).toEqual({ transmitted: 3, received: 3 });
    expect(parsePing("4 packets transmitted, 4 packets received, 0% packet loss")).toEqual({ transmitted: 4, received: 4 });
    expect(parsePing("3 packets transmitted, 0 packets received, 100% packet loss")).toEqual({ transmitted: 3, received: 0 });
    expect(parsePing("ping: bad address")).toBeUndefined();
  });
  it("/proc/net/dev", () => {
    const c = parseProcNetDev(`Inter-|   Receive |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
  eth0:    1128      14    0    0    0     0          0         0      648       8    0    0    0     0       0          0
eth1:54 1 0 0 0 0 0 0 0 2 0 0 0 0 0 0
`);
    expect(c).toEqual({ eth0: { rxPackets: 14, txPackets: 8 }, eth1: { rxPackets: 1, txPackets: 2 } });
  });
  it("ip neigh", () => {
    expect(parseNeigh("192.168.200.1 dev eth0 lladdr 1A:30:c5:15:42:54 REACHABLE \n", "192.168.200.1")).toEqual({ address: "192.168.200.1", dev: "eth0", lladdr: "1a:30:c5:15:42:54", state: "REACHABLE" });
    expect(parseNeigh("192.168.200.1 dev eth0  FAILED\n", "192.168.200.1")).toEqual({ address: "192.168.200.1", dev: "eth0", state: "FAILED" });
    expect(parseNeigh("", "192.168.200.1")).toBeUndefined();
  });
  it("splits output framed as the gather frames it (scripts/lib/framing.ts), with stderr, and notices a cut-off run", () => {
    const run = parseTrafficOutput("@@swarmlab:begin a\nx\ny\n@@swarmlab:end a rc=0 bytes=4\n@@swarmlab:begin b\n@@swarmlab:end b rc=3 bytes=0\n@@swarmlab:stderr b\noops\n@@swarmlab:stderr-end b\n@@swarmlab:begin c\nhalf");
    expect(run.complete).toBe(false);
    expect(run.sections["a"]).toEqual({ stdout: "x\ny\n", rc: 0, stderr: "" });
    expect(run.sections["b"]).toEqual({ stdout: "", rc: 3, stderr: "oops\n" });
    expect(run.sections["c"]).toBeUndefined();
    expect(parseTrafficOutput("login banner\n")).toEqual({ sections: {}, complete: false });
  });
  it("still reads output saved before the framing was shared (@@plumbing markers)", () => {
    const run = parseTrafficOutput("@@plumbing:begin a\nx\ny\n@@plumbing:end a rc=0\n@@plumbing:begin b\n@@plumbing:end b rc=3\n@@plumbing:stderr b\noops\n@@plumbing:stderr-end b\n@@plumbing:begin c\nhalf");
    expect(run.complete).toBe(false);
    expect(run.sections["a"]).toEqual({ stdout: "x\ny\n", rc: 0, stderr: "" });
    expect(run.sections["b"]).toEqual({ stdout: "", rc: 3, stderr: "oops\n" });
    expect(run.sections["c"]).toBeUndefined();
  });
});

describe("judging real outputs recorded on the netns emulation", () => {
  it("a working lab passes PATH-1..4", () => {
    const r = judgeTraffic(parseTrafficOutput(readFix("traffic/ok.txt")), EMU_PLAN);
    for (const id of ["PATH-1", "PATH-2", "PATH-3", "PATH-4"] as const) expect(r[id].outcome, `${id}: ${r[id].observed}`).toBe("pass");
    expect(r["PATH-1"].observed).toMatch(/^3\/3 replies; eth0 tx \+\d+ \(rx \+\d+\), eth1 tx \+0 .*neighbour 192\.168\.200\.1 dev eth0 lladdr ([0-9a-f:]{17}) REACHABLE \(= br0 of 1-plumbemu0a\)$/);
    expect(r["PATH-2"].observed).toMatch(/eth0 tx \+0 .* eth1 tx \+[3-9]/);
    expect(r["PATH-2"].explanation).toMatch(/8\.8\.8\.8/);
    expect(r["PATH-4"].observed).toMatch(/8 UDP\/4789 between 10\.99\.0\.1 and 10\.99\.0\.2 \(VNI 4097 x8\); inner 192\.168\.200\.3 -> 192\.168\.200\.4: 3 echo requests, 3 echo replies; docker network inspect demonet gives vxlanid_list 4097$/);
    expect(r["PATH-4"].details).toHaveLength(8);
  });
  it("a path cut on the far side fails PATH-3 and PATH-4 (requests leave, nothing returns)", () => {
    const r = judgeTraffic(parseTrafficOutput(readFix("traffic/cut-remote.txt")), EMU_PLAN);
    expect(r["PATH-1"].outcome).toBe("pass");
    expect(r["PATH-2"].outcome).toBe("pass");
    expect(r["PATH-3"].outcome).toBe("fail");
    expect(r["PATH-3"].observed).toMatch(/^0\/3 replies.*No reply: the overlay path is cut$/);
    expect(r["PATH-4"].outcome).toBe("fail");
    expect(r["PATH-4"].observed).toMatch(/None of them carried the tasks' ICMP/);
  });
  it("a path cut on this side fails PATH-3 and PATH-4 (nothing on the underlay)", () => {
    const r = judgeTraffic(parseTrafficOutput(readFix("traffic/cut-local.txt")), EMU_PLAN);
    expect(r["PATH-3"].outcome).toBe("fail");
    expect(r["PATH-4"].outcome).toBe("fail");
    expect(r["PATH-4"].observed).toMatch(/^0 packets captured on ul0, 0 UDP\/4789 .*No VXLAN packets between the hosts/);
  });
  it("the decoded VNI is compared with the documented one, not taken from docker", () => {
    const r = judgePath4(parseTrafficOutput(readFix("traffic/ok.txt")), { ...EMU_PLAN, vni: 4096 });
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/travelled with VNI 4097, not 4096/);
  });
  it("packets between other hosts do not count", () => {
    const r = judgePath4(parseTrafficOutput(readFix("traffic/ok.txt")), { ...EMU_PLAN, peerAddress: "10.99.0.3" });
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/0 UDP\/4789 between 10\.99\.0\.1 and 10\.99\.0\.3/);
  });
  it("runTrafficScript runs the built script through the caller's runner; the checks judge what it observed", async () => {
    let seen = "";
    const obs = await runTrafficScript(EMU_PLAN, async (script) => {
      seen = script;
      return { stdout: readFix("traffic/ok.txt"), stderr: "", code: 0 };
    });
    expect(seen).toBe(buildTrafficScript(EMU_PLAN));
    expect(obs).toMatchObject({ kind: "ran", plan: EMU_PLAN });
    expect(obs.failed).toBeUndefined();
    // Observations only: no verdict in what the probe yields.
    expect(JSON.stringify(obs)).not.toMatch(/"outcome"/);
    // The probe parsed what the steps printed: the ping summaries, the counters, the capture.
    expect(obs.parsed.pings["p3.ping"]).toEqual({ transmitted: 3, received: 3 });
    expect(Object.keys(obs.parsed.counters).sort()).toEqual(["p1.after", "p1.before", "p2.after", "p2.before", "p3.after", "p3.before"]);
    expect(obs.parsed.capture && "packets" in obs.parsed.capture ? obs.parsed.capture.packets.map((x) => x.vxlan?.vni) : []).toEqual(Array(8).fill(4097));
    expect(obs.parsed.taskAddress).toBe("192.168.200.3");
    const r = judgeTraffic(obs.run, obs.plan);
    expect(Object.values(r).map((x) => x.outcome)).toEqual(["pass", "pass", "pass", "pass"]);
    const ev = judgeObservations(obs);
    expect(ev).toEqual(toTrafficEvidence(r));
    expect(ev["PATH-4"]).toEqual({ outcome: "pass", expected: r["PATH-4"].expected, observed: r["PATH-4"].observed, details: r["PATH-4"].details });
    expect(ev["PATH-4"]?.details).toHaveLength(8);
    expect(ev["PATH-2"]?.explanation).toBeDefined();
  });
  it("a transport failure leaves all four unchecked, with the cause", async () => {
    const obs = await runTrafficScript(EMU_PLAN, async () => {
      throw new Error("connect ECONNREFUSED 10.99.0.1:22");
    });
    expect(obs.failed).toBe("the traffic script could not be run: connect ECONNREFUSED 10.99.0.1:22");
    const r = judgeObservations(obs);
    for (const x of Object.values(r)) {
      expect(x.outcome).toBe("unchecked");
      expect(x.observed).toMatch(/could not be run: connect ECONNREFUSED/);
    }
    const r2 = judgeObservations(await runTrafficScript(EMU_PLAN, async () => ({ stdout: "", stderr: "sudo: a password is required\n", code: 1 })));
    for (const x of Object.values(r2)) expect(x.observed).toBe("the traffic script produced no output: sudo: a password is required");
    // verify's reports give the cause from the explanation
    expect(r2["PATH-1"]?.explanation).toBe("the traffic script produced no output: sudo: a password is required");
    expect(r2["PATH-2"]?.explanation).toMatch(/^the traffic script produced no output: sudo: a password is required \(the seed pings 8\.8\.8\.8/);
  });
});

// ------------------------------------------------------ synthetic outputs ----

const DEV_HEADER = `Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
`;
function procNetDev(c: { eth0: [number, number]; eth1: [number, number] }): string {
  const row = (n: string, [rx, tx]: [number, number]): string => `  ${n}:    1000 ${rx}    0    0    0     0          0         0     1000 ${tx}    0    0    0     0       0          0`;
  return `${DEV_HEADER}    lo:       0       0    0    0    0     0          0         0        0       0    0    0    0     0       0          0\n${row("eth0", c.eth0)}\n${row("eth1", c.eth1)}\n`;
}
const busybox = (t: string, sent: number, got: number): string =>
  `PING ${t} (${t}): 56 data bytes\n\n--- ${t} ping statistics ---\n${sent} packets transmitted, ${got} packets received, ${Math.round((100 * (sent - got)) / sent)}% packet loss\n`;

type Sections = Record<string, { out?: string; rc?: number; err?: string } | undefined>;
/** The sections framed as the traffic script frames them (scripts/lib/framing.ts). */
function framed(s: Sections, done = true): string {
  let text = "";
  let n = 0;
  for (const [k, v] of Object.entries(s)) {
    if (!v) continue;
    const out = v.out ?? "";
    text += `@@swarmlab:begin ${k}\n${out}${out && !out.endsWith("\n") ? "\n" : ""}@@swarmlab:end ${k} rc=${v.rc ?? 0} bytes=${Buffer.byteLength(out)}\n`;
    if (v.err) text += `@@swarmlab:stderr ${k}\n${v.err}\n@@swarmlab:stderr-end ${k}\n`;
    n++;
  }
  return done ? `${text}@@swarmlab:done sections=${n}\n` : text;
}
const BR0 = "2: br0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue state UP mode DEFAULT group default \\    link/ether 1a:30:c5:15:42:54 brd ff:ff:ff:ff:ff:ff";
const PCAP_B64 = fs.readFileSync(path.join(FIX, "vxlan-4097-en10mb.pcap")).toString("base64");
/** A lab-like run; the capture is the real one made between 10.99.0.1 and 10.99.0.2. */
function labRun(over: Sections = {}, done = true): string {
  return framed(
    {
      tools: { out: "docker /usr/bin/docker\ntcpdump /usr/bin/tcpdump\n" },
      container: { out: "0252f5d8ee9a\n" },
      sandbox: { out: "/var/run/docker/netns/f9f4ceb4012b\n" },
      "overlay-ns": { out: "/var/run/docker/netns/1-t7zfankbs8\n" },
      vxlanid: { out: "4097\n" },
      br0: { out: BR0 },
      addr: { out: "18: eth0    inet 192.168.200.3/24 scope global eth0\\       valid_lft forever\n20: eth1    inet 172.18.0.3/16 scope global eth1\\ valid_lft forever\n" },
      "p1.before": { out: procNetDev({ eth0: [14, 8], eth1: [8, 8] }) },
      "p1.ping": { out: busybox("192.168.200.1", 3, 3) },
      "p1.after": { out: procNetDev({ eth0: [18, 12], eth1: [8, 8] }) },
      "p1.neigh": { out: "192.168.200.1 dev eth0 lladdr 1a:30:c5:15:42:54 REACHABLE\n" },
      "p2.before": { out: procNetDev({ eth0: [18, 12], eth1: [8, 8] }) },
      "p2.ping": { out: busybox("192.168.122.1", 3, 3) },
      "p2.after": { out: procNetDev({ eth0: [18, 12], eth1: [11, 11] }) },
      nic: { out: "ens3\n" },
      "cap.start": { out: "capturing on ens3 pid 4242 --immediate-mode\n" },
      "p3.before": { out: procNetDev({ eth0: [18, 12], eth1: [11, 11] }) },
      "p3.ping": { out: busybox("192.168.200.4", 3, 3) },
      "p3.after": { out: procNetDev({ eth0: [22, 16], eth1: [11, 11] }) },
      "cap.stop": { out: "8 packets captured\nrc=0\n" },
      "cap.pcap": { out: PCAP_B64 },
      ...over,
    },
    done,
  );
}
/** LAB_PLAN, with the host addresses of the real capture. */
const SYN_PLAN: TrafficPlan = { ...LAB_PLAN, labCidr: "10.99.0.0/24", pathTarget: "10.99.0.254", localAddress: "10.99.0.1", peerAddress: "10.99.0.2" };
const judge = (text: string, plan = SYN_PLAN) => judgeTraffic(parseTrafficOutput(text), plan);

describe("judging synthetic outputs", () => {
  it("the synthetic lab passes (busybox ping, the real capture)", () => {
    const r = judge(labRun());
    for (const id of ["PATH-1", "PATH-2", "PATH-3", "PATH-4"] as const) expect(r[id].outcome, `${id}: ${r[id].observed}`).toBe("pass");
    expect(r["PATH-1"].observed).toContain("lladdr 1a:30:c5:15:42:54 REACHABLE (= br0 of 1-t7zfankbs8)");
  });

  it("PATH-1: tolerates fewer than N packets of noise on eth1 and says so", () => {
    const r = judgePath1(parseTrafficOutput(labRun({ "p1.after": { out: procNetDev({ eth0: [18, 12], eth1: [9, 10] }) } })), SYN_PLAN);
    expect(r.outcome).toBe("pass");
    expect(r.observed).toMatch(/eth1 tx \+2 \(rx \+1\) \(2 packets on eth1: unrelated noise, fewer than the 3 echo requests\)/);
  });
  it("PATH-1 fails when the pings leave through eth1", () => {
    const r = judgePath1(parseTrafficOutput(labRun({ "p1.after": { out: procNetDev({ eth0: [14, 8], eth1: [11, 11] }) } })), SYN_PLAN);
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/eth0 tx \+0 .* eth1 tx \+3 .*The echo requests did not leave through eth0/);
  });
  it("PATH-1 fails when the gateway resolves to a MAC that is not br0's", () => {
    const r = judgePath1(parseTrafficOutput(labRun({ "p1.neigh": { out: "192.168.200.1 dev eth0 lladdr 02:42:ac:12:00:01 STALE\n" } })), SYN_PLAN);
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/Lladdr 02:42:ac:12:00:01 is not br0's MAC 1a:30:c5:15:42:54 \(1-t7zfankbs8\)/);
  });
  it("PATH-1 fails when the gateway never resolved", () => {
    const r = judgePath1(parseTrafficOutput(labRun({ "p1.ping": { out: busybox("192.168.200.1", 3, 0), rc: 1 }, "p1.neigh": { out: "192.168.200.1 dev eth0  FAILED\n" } })), SYN_PLAN);
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/^0\/3 replies.*neighbour 192\.168\.200\.1 FAILED.*No resolved neighbour entry/);
  });
  it("PATH-1..3 cannot be checked, and say why, when the host has no task", () => {
    const r = judge(labRun({ container: { out: "", rc: 1, err: "no running task of service demoservice on this host" } }));
    for (const id of ["PATH-1", "PATH-2", "PATH-3", "PATH-4"] as const) {
      expect(r[id].outcome).toBe("unchecked");
      expect(r[id].observed).toMatch(/no running task of demoservice could be found on this host .*see WL-2/);
    }
  });
  it("a task image without ping leaves the fact unchecked rather than failed", () => {
    const r = judgePath1(parseTrafficOutput(labRun({ "p1.ping": { out: "", rc: 126, err: 'OCI runtime exec failed: exec: "ping": executable file not found in $PATH' } })), SYN_PLAN);
    expect(r.outcome).toBe("unchecked");
    expect(r.observed).toMatch(/has no ping/);
  });

  it("PATH-2 passes on eth1 and fails when the target is reached through eth0", () => {
    expect(judgePath2(parseTrafficOutput(labRun()), SYN_PLAN).outcome).toBe("pass");
    const r = judgePath2(parseTrafficOutput(labRun({ "p2.after": { out: procNetDev({ eth0: [21, 15], eth1: [8, 8] }) } })), SYN_PLAN);
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/The echo requests did not leave through eth1/);
  });
  it("PATH-2 passes on the path even when the target does not answer, and says so", () => {
    const r = judgePath2(parseTrafficOutput(labRun({ "p2.ping": { out: busybox("10.99.0.254", 3, 0), rc: 1 } })), SYN_PLAN);
    expect(r.outcome).toBe("pass");
    expect(r.observed).toMatch(/^0\/3 replies; .*eth1 tx \+3/);
  });

  it("PATH-3 tolerates one lost reply but not more", () => {
    expect(judgePath3(parseTrafficOutput(labRun({ "p3.ping": { out: busybox("192.168.200.4", 3, 2) } })), SYN_PLAN).outcome).toBe("pass");
    const r = judgePath3(parseTrafficOutput(labRun({ "p3.ping": { out: busybox("192.168.200.4", 3, 1), rc: 1 } })), SYN_PLAN);
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/Only 1 replies/);
  });
  it("PATH-3 and PATH-4 fail when the path is cut: ping loss, an empty capture", () => {
    const emptyPcap = Buffer.from(fs.readFileSync(path.join(FIX, "vxlan-4097-en10mb.pcap")).subarray(0, 24)).toString("base64");
    const r = judge(
      labRun({
        "p3.ping": { out: busybox("192.168.200.4", 3, 0), rc: 1 },
        "p3.after": { out: procNetDev({ eth0: [18, 15], eth1: [11, 11] }) },
        "cap.stop": { out: "0 packets captured\nrc=0\n" },
        "cap.pcap": { out: emptyPcap },
      }),
    );
    expect(r["PATH-3"].outcome).toBe("fail");
    expect(r["PATH-3"].observed).toMatch(/No reply: the overlay path is cut/);
    expect(r["PATH-4"].outcome).toBe("fail");
    expect(r["PATH-4"].observed).toMatch(/^0 packets captured on ens3, 0 UDP\/4789 .*No VXLAN packets between the hosts: the overlay traffic did not cross the underlay/);
  });
  it("PATH-4 fails when the requests leave but no reply comes back", () => {
    const bytes = fs.readFileSync(path.join(FIX, "vxlan-4097-en10mb.pcap"));
    // keep the records sent by 10.99.0.1 only (odd packets: ARP request, echo requests)
    const keep: Buffer[] = [bytes.subarray(0, 24)];
    let off = 24;
    let i = 0;
    while (off < bytes.length) {
      const len = 16 + bytes.readUInt32LE(off + 8);
      if (i % 2 === 0) keep.push(bytes.subarray(off, off + len));
      off += len;
      i++;
    }
    const r = judgePath4(parseTrafficOutput(labRun({ "cap.pcap": { out: Buffer.concat(keep).toString("base64") } })), SYN_PLAN);
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/3 echo requests, 0 echo replies.*No echo reply came back encapsulated/);
  });
  it("PATH-4 cannot be checked when tcpdump is missing, fails when the capture cannot start", () => {
    const skip = judgePath4(parseTrafficOutput(labRun({ "cap.start": { out: "", rc: 127, err: "tcpdump is not installed" }, "cap.pcap": { out: "", rc: 1 } })), SYN_PLAN);
    expect(skip.outcome).toBe("unchecked");
    expect(skip.observed).toMatch(/tcpdump is not installed on the host/);
    const fail = judgePath4(parseTrafficOutput(labRun({ "cap.start": { out: "", rc: 1, err: "tcpdump: ens3: No such device exists" } })), SYN_PLAN);
    expect(fail.outcome).toBe("fail");
    expect(fail.observed).toMatch(/the capture did not start: tcpdump: ens3: No such device exists/);
  });
  it("PATH-4 reports an undecodable capture clearly", () => {
    const r = judgePath4(parseTrafficOutput(labRun({ "cap.pcap": { out: Buffer.from("tcpdump: listening on ens3\n").toString("base64") } })), SYN_PLAN);
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/could not be decoded: not a classic pcap file.*looks like text/);
  });
  it("PATH-3/4 cannot be checked without the peer task's address", () => {
    const { peerTaskAddress: _, ...plan } = SYN_PLAN;
    const r = judge(labRun(), plan);
    expect(r["PATH-3"].outcome).toBe("unchecked");
    expect(r["PATH-4"].outcome).toBe("unchecked");
    expect(r["PATH-1"].outcome).toBe("pass");
  });
  it("an output cut off before the end names the missing step", () => {
    const text = labRun({ "p3.after": undefined, "cap.stop": undefined, "cap.pcap": undefined }, false);
    const r = judge(text);
    expect(r["PATH-3"].outcome).toBe("pass"); // the ping itself got through
    expect(r["PATH-3"].observed).toMatch(/counters: step p3\.after is missing \(the script's output was cut off\)/);
    expect(r["PATH-4"].outcome).toBe("fail");
    expect(r["PATH-4"].observed).toMatch(/step cap\.pcap is missing/);
  });
});

describe("the script's framing survives a long stderr line", () => {
  it("a stderr cut at 2000 bytes inside a line still ends before its stderr-end marker", () => {
    // A docker stand-in that fails with one 2500-byte line on stderr: the cut at 2000 bytes falls
    // inside the line, while the full stderr ends with a newline.
    // The plan has no peer task, so nothing but `docker` and read-only `ip`/`cat` is ever run.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "plumb-frame-"));
    try {
      fs.writeFileSync(path.join(dir, "docker"), `#!/bin/bash\nprintf 'x%.0s' $(seq 1 2500) >&2\necho >&2\nexit 1\n`, { mode: 0o755 });
      const { peerTaskAddress: _, ...plan } = LAB_PLAN;
      const stdout = execFileSync("bash", ["-s"], { input: buildTrafficScript(plan), env: { PATH: `${dir}:/usr/bin:/bin` }, encoding: "utf8", timeout: 30_000 });
      const run = parseTrafficOutput(stdout);
      expect(run.complete).toBe(true);
      expect(run.sections["container"]!.rc).toBe(1);
      expect(run.sections["container"]!.stderr).toBe(`${"x".repeat(2000)}\n`);
      for (const key of ["sandbox", "overlay-ns", "vxlanid", "br0", "addr", "p1.before", "p1.ping", "p2.after"]) expect(run.sections[key], key).toBeDefined();
      const r = judgeTraffic(run, plan);
      expect(r["PATH-1"].outcome).toBe("unchecked");
      expect(r["PATH-1"].observed).toMatch(/^no running task of demoservice could be found on this host \(step container failed \(rc=1: x+\.\.\.\)\); see WL-2$/);
      expect(r["PATH-1"].observed.length).toBeLessThan(400);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
  it("the parser also accepts a marker glued to the last stderr line (older scripts)", () => {
    const run = parseTrafficOutput("@@plumbing:begin a\n@@plumbing:end a rc=1\n@@plumbing:stderr a\nxxxx@@plumbing:stderr-end a\n@@plumbing:begin b\nok\n@@plumbing:end b rc=0\n@@plumbing:done\n");
    expect(run.sections["a"]).toEqual({ stdout: "", rc: 1, stderr: "xxxx\n" });
    expect(run.sections["b"]).toEqual({ stdout: "ok\n", rc: 0, stderr: "" });
    expect(run.complete).toBe(true);
  });
});
