import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ParseError } from "../../../scripts/lib/verify/errors";
import { gather, gatheredFromText, type ProgressEvent, type Transport } from "../../../scripts/lib/verify/gather";
import { buildGatherScript } from "../../../scripts/lib/verify/gather-script";
import { parseFramedOutput } from "../../../scripts/lib/framing";
import { shellQuote } from "../../../scripts/lib/shell";
import { parseIpLinks } from "../../../scripts/lib/verify/parse/ip";
import { buildModel } from "../../../scripts/lib/verify/model";
import { frame, liveInventory, liveLikeText } from "./helpers";

const script = buildGatherScript({ service: "demoservice", overlay: "demonet" });
const has = (cmd: string): boolean => spawnSync("bash", ["-c", `command -v ${cmd}`]).status === 0;

describe("buildGatherScript", () => {
  it("is pure and embeds its parameters quoted", () => {
    expect(buildGatherScript({ service: "demoservice", overlay: "demonet" })).toBe(script);
    expect(script).toContain("SWL_SERVICE='demoservice'");
    expect(script).toContain("SWL_NETNS_DIR='/var/run/docker/netns'");
    expect(buildGatherScript({ service: "s", overlay: "o", netnsDir: "/tmp/x", forceText: true })).toContain("SWL_FORCE_TEXT=1");
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
  });

  it("refuses names that would need shell escaping", () => {
    expect(() => buildGatherScript({ service: "x; rm -rf /", overlay: "demonet" })).toThrow(/not allowed/);
    expect(() => buildGatherScript({ service: "demoservice", overlay: "$(id)" })).toThrow(/not allowed/);
  });

  it("passes bash -n", () => {
    const r = spawnSync("bash", ["-n"], { input: script });
    expect(r.stderr.toString()).toBe("");
    expect(r.status).toBe(0);
  });

  it.skipIf(!has("shellcheck"))("passes shellcheck (worker and manager variants)", () => {
    for (const s of [script, buildGatherScript({ service: "demoservice", overlay: "demonet", manager: true })]) {
      const r = spawnSync("shellcheck", ["-s", "bash", "-"], { input: s });
      expect(r.stdout.toString()).toBe("");
      expect(r.status).toBe(0);
    }
  });
});

describe("the gather script, run locally against stub docker/systemd-detect-virt", () => {
  let dir = "";
  let netnsDir = "";
  const run = (opts: { forceText?: boolean; manager?: boolean } = {}): string => {
    // The CLI path, against the stub docker (gather-api.test.ts has the API path).
    const s = buildGatherScript({ service: "demoservice", overlay: "demonet", netnsDir, forceText: opts.forceText, manager: opts.manager ?? true, dockerClient: "cli" });
    return execFileSync("bash", ["-s"], { input: s, env: { ...process.env, PATH: `${dir}/bin:${process.env["PATH"] ?? ""}` }, encoding: "utf8" });
  };
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "swl-gather-"));
    netnsDir = path.join(dir, "netns");
    fs.mkdirSync(path.join(dir, "bin"));
    fs.mkdirSync(netnsDir);
    fs.writeFileSync(
      path.join(dir, "bin", "docker"),
      `#!/bin/bash
# A docker CLI stand-in: answers the gather's commands as Docker 20.10 would (the templates are
# matched by their start), except service ps, which answers as a CLI without --format for it.
case "$*" in
  "info --format {{if .ServerErrors}}"*) echo '{"Name":"docker0","ServerVersion":"20.10.24","Swarm":{"LocalNodeState":"active","ControlAvailable":true}}' ;;
  "network ls -q --no-trunc") printf 'n1\\n' ;;
  "network inspect n1") echo '[{"Name":"demonet","Id":"n1"}]' ;;
  "ps -q --no-trunc") printf 'c0ffee\\nbead\\ndeadbeef\\n' ;;
  "inspect --format {\\"Id\\":{{json .ID}}"*" c0ffee bead deadbeef")
    printf '%s\\n' \\
      '{"Id":"c0ffee","Name":"/demoservice.1.abc","Config":{"Image":"alpine","Labels":{"com.docker.swarm.service.name":"demoservice","com.docker.swarm.task.id":"abc","com.docker.swarm.task.name":"demoservice.1.abc","com.docker.swarm.node.id":"n"}},"State":{"Running":true},"NetworkSettings":{"SandboxKey":"/var/run/docker/netns/1","Networks":{}}}' \\
      '{"Id":"bead","Name":"/web","Config":{"Image":"nginx","Labels":{"com.docker.swarm.service.name":"","com.docker.swarm.task.id":"","com.docker.swarm.task.name":"","com.docker.swarm.node.id":""}},"State":{"Running":true},"NetworkSettings":{"SandboxKey":"/var/run/docker/netns/2","Networks":{}}}' \\
      '{"Id":"deadbeef","Name":"/demoservice.2.def","Config":{"Image":"scratchy","Labels":{"com.docker.swarm.service.name":"demoservice","com.docker.swarm.task.id":"def","com.docker.swarm.task.name":"demoservice.2.def","com.docker.swarm.node.id":"n"}},"State":{"Running":true},"NetworkSettings":{"SandboxKey":"/var/run/docker/netns/3","Networks":{}}}' ;;
  "exec c0ffee sh -c "*) cat >/dev/null; printf '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN qlen 1000\\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\\n@@swl-split rc=0\\ndefault via 172.18.0.1 dev eth1' ;;
  "exec deadbeef sh -c "*) echo 'OCI runtime exec failed: exec failed: unable to start container process: exec: "sh": executable file not found in $PATH: unknown' >&2; exit 126 ;;
  "exec deadbeef ip addr show") printf '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN qlen 1000\\n' ;;
  "exec deadbeef ip route show") echo 'ip: RTNETLINK answers: Operation not permitted' >&2; exit 2 ;;
  "node ls --format {{json .}}") echo '{"Availability":"Active","EngineVersion":"20.10.24","Hostname":"docker0.local","ID":"abc","ManagerStatus":"Leader","Self":true,"Status":"Ready","TLSStatus":"Ready"}' ;;
  "service ps demoservice --no-trunc --format {{json .}}") echo 'unknown flag: --format' >&2; exit 125 ;;
  "service ps demoservice --no-trunc") printf 'ID   NAME            IMAGE    NODE            DESIRED STATE   CURRENT STATE            ERROR   PORTS\\nt1   demoservice.1   alpine   docker0.local   Running         Running 2 minutes ago\\n' ;;
  *) echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1 ;;
esac
`,
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(dir, "bin", "systemd-detect-virt"), "#!/bin/sh\necho kvm\n", { mode: 0o755 });
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("frames every section, shows failures with their exit code and stderr, and completes", () => {
    const out = parseFramedOutput(run());
    expect(out.problems).toEqual([]);
    expect(out.complete).toBe(true);
    const keys = Object.keys(out.sections);
    for (const k of ["meta", "os-release", "hostname", "virt", "kernel", "docker-info", "docker-node-ls", "docker-service-ps", "docker-network-ids", "docker-network-inspect", "docker-container-ids", "docker-inspect", "netns-ls", "netns-inodes", "ss", "ip-link@host", "ip-addr@host", "ip-route@host"]) {
      expect(keys).toContain(k);
    }
    expect(out.sections["virt"]).toMatchObject({ rc: 0, output: "kvm\n" });
    expect(out.sections["docker-service-inspect"]!.rc).toBe(1);
    expect(out.sections["docker-service-inspect"]!.stderr).toMatch(/Cannot connect to the Docker daemon/);
    // the IDs are asked for once and feed the inspects
    expect(out.sections["docker-network-ids"]).toMatchObject({ rc: 0, output: "n1\n" });
    expect(out.sections["docker-network-inspect"]).toMatchObject({ rc: 0, output: '[{"Name":"demonet","Id":"n1"}]\n' });
    expect(out.sections["docker-inspect"]!.rc).toBe(0);
    expect(out.sections["docker-inspect"]!.output.split("\n").filter(Boolean)).toHaveLength(3);
    // structured listings; a CLI without --format for a listing gives its table
    expect(out.sections["docker-node-ls"]!.output).toMatch(/^\{"Availability":"Active"/);
    expect(out.sections["docker-service-ps"]).toMatchObject({ rc: 0 });
    expect(out.sections["docker-service-ps"]!.output).toMatch(/^ID +NAME/);
    expect(out.sections["docker-service-ps"]!.stderr).toBeUndefined();
    expect(out.ms).toBeGreaterThan(0);
    expect(out.sections["docker-node-ls"]!.output).toMatch(/docker0.local/);
    expect(out.sections["meta"]!.output).toMatch(/^is_manager=1$/m);
    expect(out.sections["netns-ls"]).toMatchObject({ rc: 0, output: "" });
    expect(parseIpLinks(out.sections["ip-link@host"]!.output, "ip link").some((l) => l.name === "lo")).toBe(true);
    // bash 5 (here) times every command; the figure is whole milliseconds.
    for (const s of Object.values(out.sections)) expect(Number.isInteger(s.ms), s.key).toBe(true);
  });

  it("times a slow command", () => {
    fs.writeFileSync(path.join(dir, "bin", "systemd-detect-virt"), "#!/bin/sh\nsleep 0.3\necho kvm\n", { mode: 0o755 });
    try {
      const virt = parseFramedOutput(run()).sections["virt"]!;
      expect(virt.ms).toBeGreaterThanOrEqual(300);
      expect(virt.ms).toBeLessThan(5000);
    } finally {
      fs.writeFileSync(path.join(dir, "bin", "systemd-detect-virt"), "#!/bin/sh\necho kvm\n", { mode: 0o755 });
    }
  });

  it("does not let a command eat the script from stdin, and keeps outputs that lack a final newline", () => {
    const out = parseFramedOutput(run());
    expect(out.sections["exec-ip-addr/c0ffee"]!.output).toMatch(/^1: lo:/);
    // sections after the stdin-reading command still arrived
    expect(out.sections["ip-route@host"]).toBeDefined();
    expect(out.sections["exec-ip-route/c0ffee"]!.output).toBe("default via 172.18.0.1 dev eth1");
  });

  it("asks each task for ip addr and ip route in one exec, and only the service's tasks", () => {
    const out = parseFramedOutput(run());
    expect(Object.keys(out.sections).filter((k) => k.startsWith("exec-")).sort()).toEqual([
      "exec-ip-addr/c0ffee", "exec-ip-addr/deadbeef", "exec-ip-route/c0ffee", "exec-ip-route/deadbeef",
    ]);
    expect(out.sections["exec-ip-addr/c0ffee"]).toMatchObject({ rc: 0 });
    expect(out.sections["exec-ip-addr/c0ffee"]!.output).not.toMatch(/swl-split|default via/);
    // An image without sh: one exec per command, each with its own exit code.
    expect(out.sections["exec-ip-addr/deadbeef"]).toMatchObject({ rc: 0, output: "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN qlen 1000\n" });
    expect(out.sections["exec-ip-route/deadbeef"]).toMatchObject({ rc: 2, output: "" });
    expect(out.sections["exec-ip-route/deadbeef"]!.stderr).toMatch(/Operation not permitted/);
  });

  it("detects ip -j and falls back to text when told (CentOS 7 path)", () => {
    const json = parseFramedOutput(run());
    const text = parseFramedOutput(run({ forceText: true }));
    const jsonCapable = /^ip_json=1$/m.test(json.sections["meta"]!.output);
    if (jsonCapable) expect(json.sections["ip-link@host"]!.output.trimStart().startsWith("[")).toBe(true);
    expect(text.sections["meta"]!.output).toMatch(/^ip_json=0$/m);
    expect(text.sections["ip-link@host"]!.output).toMatch(/^1: lo: </);
    const names = (o: string): string[] => parseIpLinks(o, "ip link").map((l) => l.name).sort();
    expect(names(text.sections["ip-link@host"]!.output)).toEqual(names(json.sections["ip-link@host"]!.output));
  });
});

describe("the gather script's namespaces: one shell inside each, sections framed as before", () => {
  it("lists links, addresses, routes and each veth's statistics of every namespace, and counts them", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swl-gather-ns-"));
    try {
      const netns = path.join(dir, "netns");
      fs.mkdirSync(path.join(dir, "bin"));
      fs.mkdirSync(netns);
      for (const ns of ["1-k3b7x2n9q4", "5e0c1a7f3b2d"]) fs.writeFileSync(path.join(netns, ns), "");
      const stub = (name: string, body: string) => fs.writeFileSync(path.join(dir, "bin", name), `#!/bin/bash\n${body}\n`, { mode: 0o755 });
      stub("docker", "exit 1");
      stub("systemd-detect-virt", "echo kvm");
      // nsenter --net=NS CMD...: remember which namespace the shell is "in", run CMD here
      stub("nsenter", `export FAKE_NS=\${1#--net=}; shift; exec "$@"`);
      const realIp = execFileSync("bash", ["-c", "command -v ip"], { encoding: "utf8" }).trim();
      stub("ip", `if [ "$*" = "-o link show type veth" ] && [ -n "$FAKE_NS" ]; then printf '7: veth0@if6: <BROADCAST,UP> mtu 1450\\n9: veth1@if8: <BROADCAST,UP> mtu 1450\\n'; exit 0; fi; exec ${realIp} "$@"`);
      stub("ethtool", `echo "NIC statistics of $2 in \${FAKE_NS##*/}:"; echo "     peer_ifindex: 6"`);
      const script = buildGatherScript({ service: "demoservice", overlay: "demonet", netnsDir: netns, dockerClient: "cli" });
      const out = parseFramedOutput(execFileSync("bash", ["-s"], { input: script, env: { ...process.env, PATH: `${dir}/bin:${process.env["PATH"] ?? ""}` }, encoding: "utf8" }));
      expect(out.problems).toEqual([]);
      for (const ns of ["1-k3b7x2n9q4", "5e0c1a7f3b2d"]) {
        for (const what of ["ip-link", "ip-addr", "ip-route"]) expect(out.sections[`${what}@netns/${ns}`]?.rc, `${what}@netns/${ns}`).toBe(0);
        expect(out.sections[`ethtool@netns/${ns}/veth0`]).toMatchObject({ rc: 0, output: `NIC statistics of veth0 in ${ns}:\n     peer_ifindex: 6\n` });
        expect(out.sections[`ethtool@netns/${ns}/veth1`]!.output).toMatch(/^NIC statistics of veth1/);
      }
      // the host namespace: no ethtool
      expect(out.sections["ip-link@host"]!.rc).toBe(0);
      expect(Object.keys(out.sections).filter((k) => k.startsWith("ethtool@host"))).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("parseFramedOutput", () => {
  const full = liveLikeText("json", "docker0");

  it("splits a captured run into its sections", () => {
    const out = parseFramedOutput(full);
    expect(out.complete).toBe(true);
    expect(out.problems).toEqual([]);
    expect(Object.keys(out.sections)).toHaveLength(45);
  });

  it("reports output cut off in the middle of a section", () => {
    const cut = full.slice(0, full.indexOf("@@swarmlab:begin ip-route@host") + 200);
    const out = parseFramedOutput(cut);
    expect(out.complete).toBe(false);
    expect(out.problems.join("\n")).toMatch(/section ip-route@host .* has no end marker: output cut off/);
    expect(out.problems.join("\n")).toMatch(/ended before its done marker/);
    expect(out.sections["ip-route@host"]).toBeUndefined();
    expect(out.sections["ip-addr@host"]).toBeDefined();
  });

  it("reads the elapsed time where the script gives it, and does without it (bash 4.2)", () => {
    const text = frame({ hostname: "docker0.local\n", kernel: "6.1.0\n" }).replace(/(end hostname rc=0 bytes=14)/, "$1 ms=1234");
    const out = parseFramedOutput(text);
    expect(out.problems).toEqual([]);
    expect(out.sections["hostname"]).toMatchObject({ output: "docker0.local\n", ms: 1234 });
    expect(out.sections["kernel"]!.ms).toBeUndefined();
  });

  it("reports a section whose size does not match", () => {
    const text = frame({ hostname: "docker0.local\n" }).replace("bytes=14", "bytes=40");
    expect(parseFramedOutput(text).problems[0]).toMatch(/40 bytes announced, 14 received/);
  });

  it("keeps stray lines and stderr apart", () => {
    const text = `Welcome to the lab\n${frame({ ss: { output: "", rc: 127, stderr: "bash: ss: command not found" } })}`;
    const out = parseFramedOutput(text);
    expect(out.stray).toEqual(["Welcome to the lab"]);
    expect(out.sections["ss"]).toMatchObject({ rc: 127, output: "", stderr: "bash: ss: command not found" });
  });

  it("throws a ParseError when there is no section at all", () => {
    expect(() => parseFramedOutput("sudo: a password is required\n", "gather script on docker0")).toThrow(ParseError);
    expect(() => parseFramedOutput("", "gather script on docker0")).toThrow(/no @@swarmlab sections/);
  });
});

describe("gather()", () => {
  class FakeTransport implements Transport {
    sessions = 0;
    constructor(private readonly replies: Record<string, string | Error>) {}
    async run(host: { name: string }, script: string, onStdout: (c: string) => void, onConnected: () => void) {
      const r = this.replies[host.name]!;
      if (r instanceof Error) throw r;
      this.sessions++;
      onConnected();
      expect(script).toContain("@@swarmlab:begin");
      for (let i = 0; i < r.length; i += 997) onStdout(r.slice(i, i + 997));
      return { stdout: r, stderr: "", code: 0 };
    }
  }

  it("gathers all hosts in parallel with one session each and reports progress", async () => {
    const t = new FakeTransport({ docker0: liveLikeText("json", "docker0"), docker1: liveLikeText("json", "docker1") });
    const events: ProgressEvent[] = [];
    const g = await gather({ inventory: liveInventory(), transport: t, onProgress: (e) => events.push(e) });
    expect(g.sshSessions).toBe(2);
    expect(g.hosts.map((h) => [h.host, h.ok, Object.keys(h.framed!.sections).length])).toEqual([
      ["docker0", true, 45],
      ["docker1", true, 42],
    ]);
    const d0 = events.filter((e) => e.host === "docker0");
    expect(d0[0]).toMatchObject({ phase: "connecting", address: "192.168.122.10" });
    expect(d0[1]).toMatchObject({ phase: "connected" });
    expect(d0.filter((e) => e.phase === "section")).toHaveLength(45);
    expect(d0[d0.length - 1]).toMatchObject({ phase: "done", sections: 45 });
  });

  it("records a host that cannot be reached, or whose script did not run, without failing the others", async () => {
    const t = new FakeTransport({ docker0: new Error("connect ECONNREFUSED 192.168.122.10:22"), docker1: "sudo: a password is required\n" });
    const events: ProgressEvent[] = [];
    const g = await gather({ inventory: liveInventory(), transport: t, onProgress: (e) => events.push(e) });
    expect(g.hosts[0]).toMatchObject({ ok: false, error: "connection refused on port 22", errorDetail: "connect ECONNREFUSED 192.168.122.10:22" });
    expect(g.hosts[1]).toMatchObject({ ok: false, error: "sudo asks for a password (user root needs passwordless sudo)" });
    expect(events.filter((e) => e.phase === "error").map((e) => e.host)).toEqual(["docker0", "docker1"]);
  });

  it("gatheredFromText marks a missing host", () => {
    const g = gatheredFromText(liveInventory(), { docker0: liveLikeText("json", "docker0") });
    expect(g.hosts[1]).toMatchObject({ ok: false, error: "no gathered output for this host" });
  });
});

describe("gather() when a session breaks off", () => {
  it("keeps the sections that arrived and says why the rest is missing", async () => {
    const full = liveLikeText("json", "docker1");
    const part = full.slice(0, full.indexOf("@@swarmlab:begin ss"));
    const transport: Transport = {
      sessions: 1,
      async run(host, _s, onStdout, onConnected) {
        onConnected();
        if (host.name === "docker1") {
          onStdout(part);
          throw new Error("the gather script did not finish within 180s");
        }
        onStdout(liveLikeText("json", "docker0"));
        return { stdout: liveLikeText("json", "docker0"), stderr: "", code: 0 };
      },
    };
    const g = await gather({ inventory: liveInventory(), transport });
    const d1 = g.hosts[1]!;
    expect(d1.ok).toBe(true);
    expect(d1.framed!.sections["netns-inodes"]).toBeDefined();
    expect(d1.framed!.sections["ss"]).toBeUndefined();
    expect(d1.framed!.problems).toContain("the session ended early: the gather script did not finish within 180s");
  });

  it("puts a time limit on every command of the script", () => {
    const s = buildGatherScript({ service: "demoservice", overlay: "demonet", commandTimeout: 5 });
    expect(s).toContain("timeout 5 \"$@\"");
    expect(s).toMatch(/^docker\(\) \{$/m);
  });
});

describe("gather script v3: docker calls run concurrently inside the one session, framing intact", () => {
  const INFO_MANAGER = '{"Name":"docker0","ServerVersion":"20.10.24","Swarm":{"LocalNodeState":"active","ControlAvailable":true}}';
  const INFO_WORKER = '{"Name":"docker1","ServerVersion":"20.10.24","Swarm":{"LocalNodeState":"active","ControlAvailable":false}}';
  /** A docker stand-in that takes `delay` seconds per call, logs every call, and answers as a lab host. */
  function slowLab(info: string, delay = 0.4): { dir: string; netns: string; log: string; run: (opts: { manager: boolean; prelude?: string }) => { out: string; ms: number } } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swl-gather-conc-"));
    const netns = path.join(dir, "netns");
    const log = path.join(dir, "docker.log");
    fs.mkdirSync(path.join(dir, "bin"));
    fs.mkdirSync(netns);
    const task = (id: string, n: number): string =>
      `{"Id":"${id}","Name":"/demoservice.${n}.t${n}","Config":{"Image":"alpine","Labels":{"com.docker.swarm.service.name":"demoservice","com.docker.swarm.task.id":"t${n}","com.docker.swarm.task.name":"demoservice.${n}.t${n}","com.docker.swarm.node.id":"n"}},"State":{"Running":true},"NetworkSettings":{"SandboxKey":"/var/run/docker/netns/s${n}","Networks":{}}}`;
    fs.writeFileSync(
      path.join(dir, "bin", "docker"),
      `#!/bin/bash
printf '%s\\n' "$*" >>${shellQuote(log)}
sleep ${delay}
case "$*" in
  "info --format "*) echo ${shellQuote(info)} ;;
  "node ls --format "*) echo '{"ID":"abc","Hostname":"docker0.local","Status":"Ready","Availability":"Active","ManagerStatus":"Leader","Self":true}' ;;
  "service ps "*) echo '{"ID":"t1","Name":"demoservice.1","Image":"alpine","Node":"docker0.local","DesiredState":"Running","CurrentState":"Running 1 minute ago","Error":""}' ;;
  "service inspect --format "*) echo '{"ID":"s1","Spec":{"Name":"demoservice","Mode":{"Replicated":{"Replicas":2}}}}' ;;
  "network ls -q --no-trunc") printf 'n1\\nn2\\n' ;;
  "network inspect n1 n2") echo '[{"Name":"demonet","Id":"n1","Driver":"overlay","Scope":"swarm"},{"Name":"bridge","Id":"n2","Driver":"bridge","Scope":"local"}]' ;;
  "ps -q --no-trunc") printf 'aa11aa11aa11aa11\\nbb22bb22bb22bb22\\n' ;;
  "inspect --format "*) printf '%s\\n' ${shellQuote(task("aa11aa11aa11aa11", 1))} ${shellQuote(task("bb22bb22bb22bb22", 2))} ;;
  "exec "*) cat >/dev/null; printf '1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\\n@@swl-split rc=0\\ndefault via 172.18.0.1 dev eth1 table %s\\n' "$2" ;;
  *) echo "unexpected: $*" >&2; exit 1 ;;
esac
`,
      { mode: 0o755 },
    );
    fs.writeFileSync(path.join(dir, "bin", "systemd-detect-virt"), "#!/bin/sh\necho kvm\n", { mode: 0o755 });
    return {
      dir,
      netns,
      log,
      run: ({ manager, prelude }) => {
        fs.writeFileSync(log, "");
        const script = buildGatherScript({ service: "demoservice", overlay: "demonet", netnsDir: netns, manager, dockerClient: "cli" });
        const t0 = Date.now();
        const out = execFileSync("bash", ["-s"], { input: `${prelude ?? ""}${script}`, env: { ...process.env, PATH: `${dir}/bin:${process.env["PATH"] ?? ""}` }, encoding: "utf8" });
        return { out, ms: Date.now() - t0 };
      },
    };
  }

  it("on a manager: ten docker calls of 0.4 s each finish in well under their 4 s sum, and every section is whole and in its place", () => {
    const lab = slowLab(INFO_MANAGER);
    try {
      const { out, ms } = lab.run({ manager: true });
      const calls = fs.readFileSync(lab.log, "utf8").split("\n").filter(Boolean);
      expect(calls).toHaveLength(10);
      // the longest chain is ps -> inspect -> exec: 3 calls
      // Run one after another they take 4 s and more; 2.4 s was exceeded once on a machine busy
      // with another test run, so the bound only tells concurrent from sequential.
      expect(ms).toBeLessThan(calls.length * 400 * 0.85);
      const f = parseFramedOutput(out);
      expect(f.problems).toEqual([]);
      expect(f.complete).toBe(true);
      expect(f.sections["docker-node-ls"]!.output).toMatch(/^\{"ID":"abc"/);
      expect(f.sections["docker-service-ps"]!.output).toMatch(/^\{"ID":"t1"/);
      expect(f.sections["docker-service-inspect"]!.output).toMatch(/^\{"ID":"s1"/);
      expect(f.sections["docker-network-inspect"]!.output).toMatch(/^\[\{"Name":"demonet"/);
      expect(f.sections["exec-ip-route/aa11aa11aa11aa11"]!.output).toBe("default via 172.18.0.1 dev eth1 table aa11aa11aa11aa11\n");
      expect(f.sections["exec-ip-route/bb22bb22bb22bb22"]!.output).toBe("default via 172.18.0.1 dev eth1 table bb22bb22bb22bb22\n");
      expect(f.sections["meta"]!.output).toMatch(/^is_manager=1$/m);
      // the parser and the model read all of it
      const inv = liveInventory();
      const m = buildModel(gatheredFromText(inv, { docker0: out }), inv);
      const h = m.hosts[0]!;
      expect(h.issues).toEqual([]);
      expect(h.nodes?.map((n) => n.hostname)).toEqual(["docker0.local"]);
      expect(h.networkLs?.map((n) => n.name)).toEqual(["demonet", "bridge"]);
      expect(h.containers?.map((c) => c.taskName)).toEqual(["demoservice.1.t1", "demoservice.2.t2"]);
      expect(Object.keys(h.execRoutes).sort()).toEqual(["aa11aa11aa11aa11", "bb22bb22bb22bb22"]);
    } finally {
      fs.rmSync(lab.dir, { recursive: true, force: true });
    }
  });

  it("a host the inventory calls a manager that is none: its manager listings are dropped", () => {
    const lab = slowLab(INFO_WORKER, 0.05);
    try {
      const f = parseFramedOutput(lab.run({ manager: true }).out);
      expect(f.problems).toEqual([]);
      expect(Object.keys(f.sections).filter((k) => /node-ls|service-/.test(k))).toEqual([]);
      expect(f.sections["meta"]!.output).toMatch(/^is_manager=0$/m);
    } finally {
      fs.rmSync(lab.dir, { recursive: true, force: true });
    }
  });

  it("a host the inventory calls a worker that manages the swarm: its manager listings follow docker info", () => {
    const lab = slowLab(INFO_MANAGER, 0.05);
    try {
      const f = parseFramedOutput(lab.run({ manager: false }).out);
      expect(f.problems).toEqual([]);
      for (const k of ["docker-node-ls", "docker-service-ps", "docker-service-inspect"]) expect(f.sections[k]?.rc, k).toBe(0);
      const calls = fs.readFileSync(lab.log, "utf8").split("\n").filter(Boolean);
      expect(calls.findIndex((c) => c.startsWith("node ls"))).toBeGreaterThan(calls.findIndex((c) => c.startsWith("info")));
    } finally {
      fs.rmSync(lab.dir, { recursive: true, force: true });
    }
  });

  it("asks docker only for what the checks use: every inspect narrowed by a template, no environment", () => {
    const lab = slowLab(INFO_MANAGER, 0);
    try {
      lab.run({ manager: true });
      const calls = fs.readFileSync(lab.log, "utf8").split("\n").filter(Boolean);
      const inspects = calls.filter((c) => /^(inspect|service inspect|container inspect|info)\b/.test(c));
      expect(inspects.length).toBe(3);
      for (const c of inspects) {
        expect(c, c).toMatch(/ --format /);
        expect(c, c).not.toMatch(/Env|\{\{json \.\}\}|\.Config\}\}|HttpProxy|Labels\}\}/);
      }
    } finally {
      fs.rmSync(lab.dir, { recursive: true, force: true });
    }
  });

  it("runs on a bash without EPOCHREALTIME (CentOS 7's 4.2): no timings, nothing else lost", () => {
    const lab = slowLab(INFO_MANAGER, 0);
    try {
      const f = parseFramedOutput(lab.run({ manager: true, prelude: "unset EPOCHREALTIME\n" }).out);
      expect(f.problems).toEqual([]);
      expect(f.complete).toBe(true);
      expect(f.ms).toBeUndefined();
      // (the namespaces' own shells are started afresh by this machine's bash 5, and time themselves)
      expect(Object.values(f.sections).filter((s) => !/^(ip-|ethtool@)/.test(s.key) && s.ms !== undefined)).toEqual([]);
      expect(Object.keys(f.sections)).toContain("exec-ip-addr/aa11aa11aa11aa11");
    } finally {
      fs.rmSync(lab.dir, { recursive: true, force: true });
    }
  });

  it("uses nothing bash 4.2 lacks", () => {
    for (const manager of [true, false]) {
      const s = buildGatherScript({ service: "demoservice", overlay: "demonet", manager }).split("\n").filter((l) => !l.trimStart().startsWith("#")).join("\n");
      expect(s).not.toMatch(/@Q\}|wait -n|wait -p|\$\{[^}]*@[a-zA-Z]\}|declare -n|local -n|\bmapfile -d|readarray -d/);
      // EPOCHREALTIME only where an empty value is handled
      for (const line of s.split("\n").filter((l) => l.includes("EPOCHREALTIME") && !l.trimStart().startsWith("#"))) {
        expect(line, line).toMatch(/swl_t0=|swl_start=|if \[ -n "\$swl_t0" \]|if \[ -n "\$swl_start" \]/);
      }
    }
  });
});
