/**
 * The gather's API path: gather-docker-api.py asks the Docker engine over its unix socket (one
 * process instead of ten docker CLI runs) and prints the sections the CLI path prints. Here it
 * talks to a stand-in engine that answers with what the live lab's engine answered (Docker
 * 20.10.24, docker-api/*.json, recorded the same day as live-e2e-v4-cli from the same lab), and
 * the model it yields is compared with the one the CLI path gave on that lab.
 */
import { execFile, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { gatheredFromText } from "../../../scripts/lib/verify/gather";
import { buildGatherScript, DOCKER_API_CLIENT } from "../../../scripts/lib/verify/gather-script";
import { parseFramedOutput, type FramedOutput } from "../../../scripts/lib/framing";
import { buildModel } from "../../../scripts/lib/verify/model";

const FIX = path.resolve(__dirname, "../../fixtures/verify");
const has = (cmd: string, ...args: string[]): boolean => spawnSync(cmd, args, { stdio: "ignore" }).status === 0;
const PYTHON3 = has("python3", "-c", "import json") ? "python3" : undefined;
// Python 2.7, as CentOS 7 has it, where this machine offers one (pyenv).
const pyenv = path.join(process.env["PYENV_ROOT"] ?? path.join(os.homedir(), ".pyenv"), "versions");
const PY27 = ["python2.7", ...(fs.existsSync(pyenv) ? fs.readdirSync(pyenv).filter((v) => v.startsWith("2.7.")).map((v) => path.join(pyenv, v, "bin", "python2.7")) : [])].find((p) =>
  has(p, "-c", "import json"),
);

type Mode = { noSh?: boolean; serviceMissing?: boolean; hang?: boolean; secret?: boolean };

/** A stand-in Docker engine on a unix socket: the recorded answers of one host's engine. */
class FakeEngine {
  server?: http.Server;
  requests: string[] = [];
  execs = new Map<string, { cmd: string[]; cid: string }>();
  constructor(
    readonly socket: string,
    readonly host: "docker0" | "docker1",
    readonly mode: Mode = {},
  ) {}

  private answers = (): Record<string, unknown> => JSON.parse(fs.readFileSync(path.join(FIX, "docker-api", `${this.host}.json`), "utf8"));

  /** What the task printed for ip addr / ip route, from the CLI path's recording of the same lab. */
  private execText(cid: string, which: "addr" | "route"): string {
    const framed = parseFramedOutput(fs.readFileSync(path.join(FIX, "live-e2e-v4-cli", `${this.host}.txt`), "utf8"));
    return framed.sections[`exec-ip-${which}/${cid}`]!.output;
  }

  async start(): Promise<void> {
    const answers = this.answers();
    this.server = http.createServer((req, res) => {
      const url = req.url ?? "";
      this.requests.push(`${req.method} ${url}`);
      let body = "";
      req.on("data", (d: Buffer) => (body += d.toString()));
      req.on("end", () => {
        if (this.mode.hang) return; // never answers
        const json = (status: number, value: unknown) => {
          res.writeHead(status, { "Content-Type": "application/json" });
          res.end(JSON.stringify(value));
        };
        const p = url.split("?")[0]!;
        let m: RegExpExecArray | null;
        if (req.method === "POST" && (m = /^\/containers\/([0-9a-f]+)\/exec$/.exec(p))) {
          const id = `exec${this.execs.size + 1}`;
          this.execs.set(id, { cmd: JSON.parse(body).Cmd, cid: m[1]! });
          return json(201, { Id: id });
        }
        if (req.method === "POST" && (m = /^\/exec\/(\w+)\/start$/.exec(p))) {
          const e = this.execs.get(m[1]!)!;
          const frames: Buffer[] = [];
          const put = (stream: number, text: string) => {
            const data = Buffer.from(text);
            const head = Buffer.alloc(8);
            head[0] = stream;
            head.writeUInt32BE(data.length, 4);
            frames.push(head, data);
          };
          if (e.cmd[0] === "sh" && this.mode.noSh) {
            put(2, 'OCI runtime exec failed: exec failed: unable to start container process: exec: "sh": executable file not found in $PATH: unknown\r\n');
            (e as { rc?: number }).rc = 126;
          } else if (e.cmd[0] === "sh") {
            put(1, this.execText(e.cid, "addr"));
            put(1, "@@swl-split rc=0\n");
            put(1, this.execText(e.cid, "route"));
          } else put(1, this.execText(e.cid, e.cmd[1] === "addr" ? "addr" : "route"));
          res.writeHead(200, { "Content-Type": "application/vnd.docker.raw-stream" });
          return res.end(Buffer.concat(frames));
        }
        if ((m = /^\/exec\/(\w+)\/json$/.exec(p))) return json(200, { Running: false, ExitCode: (this.execs.get(m[1]!) as { rc?: number }).rc ?? 0 });
        if (p.startsWith("/services/") && this.mode.serviceMissing) return json(404, { message: `service ${p.slice(10)} not found` });
        if (p === "/tasks") {
          const filters = JSON.parse(new URL(url, "http://d").searchParams.get("filters") ?? "{}");
          expect(filters.service).toEqual([(answers["/services/demoservice"] as { ID: string }).ID]);
        }
        const value = structuredClone(answers[p]);
        if (value === undefined) return json(404, { message: `page not found: ${p}` });
        if (this.mode.secret) {
          // Environments the gather must never ask for, let alone print.
          const v = value as { Config?: { Env?: string[] }; Spec?: { TaskTemplate?: { ContainerSpec?: { Env?: string[] } } } };
          if (v.Config) v.Config.Env = ["DB_PASSWORD=hunter2-secret"];
          if (v.Spec?.TaskTemplate?.ContainerSpec) v.Spec.TaskTemplate.ContainerSpec.Env = ["DB_PASSWORD=hunter2-secret"];
        }
        return json(200, value);
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(this.socket, resolve));
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
    this.server = undefined;
  }
}

let dir = "";
let engine: FakeEngine | undefined;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "swl-api-"));
  fs.mkdirSync(path.join(dir, "bin"));
  fs.mkdirSync(path.join(dir, "netns"));
  // The docker CLI must be installed for the API path to be taken; it must not be run.
  fs.writeFileSync(path.join(dir, "bin", "docker"), `#!/bin/bash\necho "$*" >>${dir}/docker-cli-runs\necho "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2\nexit 1\n`, { mode: 0o755 });
});
afterEach(async () => {
  await engine?.stop();
  engine = undefined;
  fs.rmSync(path.join(dir, "docker.sock"), { force: true });
  fs.rmSync(path.join(dir, "docker-cli-runs"), { force: true });
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs the whole gather script against the stand-in engine, as root would on the host. */
function runScript(opts: { manager: boolean; timeout?: number; pathPrefix?: string }): Promise<{ text: string; framed: FramedOutput; seconds: number }> {
  const script = buildGatherScript({ service: "demoservice", overlay: "demonet", netnsDir: path.join(dir, "netns"), manager: opts.manager, dockerSocket: path.join(dir, "docker.sock"), commandTimeout: opts.timeout ?? 20 });
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = execFile("bash", ["-s"], { env: { ...process.env, PATH: `${opts.pathPrefix ? `${opts.pathPrefix}:` : ""}${dir}/bin:${process.env["PATH"] ?? ""}` }, encoding: "utf8", maxBuffer: 16 << 20 }, (err, stdout) => {
      if (err && !stdout) return reject(err);
      resolve({ text: stdout, framed: parseFramedOutput(stdout), seconds: (Date.now() - t0) / 1000 });
    });
    child.stdin!.end(script);
  });
}

async function startEngine(host: "docker0" | "docker1", mode: Mode = {}): Promise<FakeEngine> {
  engine = new FakeEngine(path.join(dir, "docker.sock"), host, mode);
  await engine.start();
  return engine;
}

const DOCKER_KEYS = ["docker-info", "docker-node-ls", "docker-service-ps", "docker-service-inspect", "docker-network-ids", "docker-network-inspect", "docker-container-ids", "docker-inspect"];

describe.skipIf(!PYTHON3)("the gather's API path, against a stand-in engine answering as the live lab's did", () => {
  it("on the manager: every docker section from the API, in one process, the docker CLI never run", async () => {
    const e = await startEngine("docker0");
    const { framed } = await runScript({ manager: true });
    expect(framed.complete).toBe(true);
    expect(framed.problems).toEqual([]);
    expect(framed.sections["meta"]!.output).toMatch(/^docker_client=api$/m);
    expect(framed.sections["meta"]!.output).toMatch(/^is_manager=1$/m);
    for (const k of DOCKER_KEYS) expect(framed.sections[k], k).toMatchObject({ rc: 0 });
    const execKeys = Object.keys(framed.sections).filter((k) => k.startsWith("exec-ip-"));
    expect(execKeys).toEqual([`exec-ip-addr/${"c8d9670adde1009dc4aeca82559dbb5a94df919a601e0ad35c322c92cd7cd24f"}`, `exec-ip-route/c8d9670adde1009dc4aeca82559dbb5a94df919a601e0ad35c322c92cd7cd24f`]);
    expect(fs.existsSync(path.join(dir, "docker-cli-runs"))).toBe(false);
    // One exec per task: ip addr and ip route from one sh.
    expect([...e.execs.values()].map((x) => x.cmd[0])).toEqual(["sh"]);
    // Only what the checks use: inspects narrowed like the CLI path's templates.
    const inspect = JSON.parse(framed.sections["docker-inspect"]!.output.trim());
    expect(Object.keys(inspect)).toEqual(["Id", "Name", "Config", "State", "NetworkSettings"]);
    expect(Object.keys(inspect.Config)).toEqual(["Image", "Labels"]);
  });

  it("yields the model the docker CLI yielded on the same lab (nodes, tasks, service, networks, containers, the tasks' own view)", async () => {
    const inventory = JSON.parse(fs.readFileSync(path.join(FIX, "live-e2e-v4-cli", "inventory.json"), "utf8"));
    const outputs: Record<string, string> = {};
    for (const host of ["docker0", "docker1"] as const) {
      await startEngine(host);
      // The namespaces and the host itself come from the recording: only the docker sections are compared.
      const api = (await runScript({ manager: host === "docker0" })).framed;
      const cli = fs.readFileSync(path.join(FIX, "live-e2e-v4-cli", `${host}.txt`), "utf8");
      const cliFramed = parseFramedOutput(cli);
      const keep = Object.entries(cliFramed.sections).filter(([k]) => !DOCKER_KEYS.includes(k) && !k.startsWith("exec-ip-"));
      const all = [...keep, ...Object.entries(api.sections).filter(([k]) => DOCKER_KEYS.includes(k) || k.startsWith("exec-ip-"))];
      outputs[host] = all.map(([k, s]) => `@@swarmlab:begin ${k}\n${s.output}${s.output && !s.output.endsWith("\n") ? "\n" : ""}@@swarmlab:end ${k} rc=${s.rc} bytes=${Buffer.byteLength(s.output)}\n`).join("") + `@@swarmlab:done sections=${all.length}\n`;
      await engine!.stop();
      fs.rmSync(path.join(dir, "docker.sock"), { force: true });
    }
    const viaApi = buildModel(gatheredFromText(inventory, outputs), inventory);
    const viaCli = buildModel(gatheredFromText(inventory, { docker0: fs.readFileSync(path.join(FIX, "live-e2e-v4-cli", "docker0.txt"), "utf8"), docker1: fs.readFileSync(path.join(FIX, "live-e2e-v4-cli", "docker1.txt"), "utf8") }), inventory);
    for (let i = 0; i < 2; i++) {
      const a = viaApi.hosts[i]!;
      const c = viaCli.hosts[i]!;
      expect(a.issues).toEqual([]);
      expect(a.info).toEqual(c.info);
      expect(a.nodes).toEqual(c.nodes);
      expect(a.serviceTasks?.map(({ currentStateText: _t, ...rest }) => rest)).toEqual(c.serviceTasks?.map(({ currentStateText: _t, ...rest }) => rest));
      expect(a.service).toEqual(c.service);
      expect(a.networks).toEqual(c.networks);
      expect(a.networkLs).toEqual(c.networkLs);
      expect(a.containers).toEqual(c.containers);
      expect(a.execLinks).toEqual(c.execLinks);
      expect(a.execRoutes).toEqual(c.execRoutes);
    }
    expect(viaApi.hosts[0]!.nodes!.map((n) => [n.hostname, n.managerStatus, n.self])).toEqual([
      ["docker0.local", "Leader", true],
      ["docker1.local", "", false],
    ]);
    expect(viaApi.hosts[0]!.serviceTasks!.map((t) => [t.name, t.node, t.currentState])).toEqual([
      ["demoservice.1", "docker1.local", "Running"],
      ["demoservice.2", "docker0.local", "Running"],
    ]);
  });

  it("on a worker: no manager listings; is_manager=0", async () => {
    const e = await startEngine("docker1");
    const { framed } = await runScript({ manager: false });
    expect(framed.sections["meta"]!.output).toMatch(/^is_manager=0$/m);
    expect(framed.sections["docker-node-ls"]).toBeUndefined();
    expect(e.requests.some((r) => r.includes("/nodes") || r.includes("/tasks"))).toBe(false);
    expect(framed.sections["docker-inspect"]!.rc).toBe(0);
  });

  it("never asks for or prints an environment: a secret in a container's or the service's Env stays out", async () => {
    await startEngine("docker0", { secret: true });
    const { text, framed } = await runScript({ manager: true });
    expect(framed.sections["docker-inspect"]!.rc).toBe(0);
    expect(text).not.toContain("hunter2");
    expect(text).not.toMatch(/"Env"/);
  });

  it("a task image without sh: ip addr and ip route by one exec each, as the CLI path does", async () => {
    const e = await startEngine("docker0", { noSh: true });
    const { framed } = await runScript({ manager: true });
    expect([...e.execs.values()].map((x) => x.cmd.join(" "))).toEqual([expect.stringMatching(/^sh -c /), "ip addr show", "ip route show"]);
    const addr = framed.sections["exec-ip-addr/c8d9670adde1009dc4aeca82559dbb5a94df919a601e0ad35c322c92cd7cd24f"]!;
    expect(addr.rc).toBe(0);
    expect(addr.output).toMatch(/eth0@if\d+/);
    expect(framed.sections["exec-ip-route/c8d9670adde1009dc4aeca82559dbb5a94df919a601e0ad35c322c92cd7cd24f"]!.output).toMatch(/^default via 172\.18\.0\.1 dev eth1/m);
  });

  it("a service that does not exist: the CLI's words (no such service), which the model reads as not created", async () => {
    await startEngine("docker0", { serviceMissing: true });
    const { text, framed } = await runScript({ manager: true });
    expect(framed.sections["docker-service-ps"]).toMatchObject({ rc: 1, stderr: "no such service: demoservice" });
    expect(framed.sections["docker-service-inspect"]).toMatchObject({ rc: 1 });
    const inventory = JSON.parse(fs.readFileSync(path.join(FIX, "live-e2e-v4-cli", "inventory.json"), "utf8"));
    const model = buildModel(gatheredFromText(inventory, { docker0: text, docker1: undefined }), inventory);
    expect(model.hosts[0]!.serviceMissing).toBe(true);
    expect(model.hosts[0]!.serviceTasks).toEqual([]);
  });

  it("an engine that is not running (socket there, nobody listening): the CLI's words, and the model names the cause", async () => {
    // A socket file left behind by a stopped engine: bound, never listened on, so connect() is refused.
    const bound = spawnSync(PYTHON3!, ["-c", "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.close()", path.join(dir, "docker.sock")]);
    expect(bound.status).toBe(0);
    const { text, framed } = await runScript({ manager: true });
    expect(framed.sections["docker-info"]!.rc).toBe(1);
    expect(framed.sections["docker-info"]!.stderr).toMatch(/Cannot connect to the Docker daemon at unix:\/\/.*\. Is the docker daemon running\?/);
    const inventory = JSON.parse(fs.readFileSync(path.join(FIX, "live-e2e-v4-cli", "inventory.json"), "utf8"));
    const model = buildModel(gatheredFromText(inventory, { docker0: text, docker1: undefined }), inventory);
    expect(model.hosts[0]!.dockerDown).toBe("the Docker engine is not running");
  });

  it("an engine that accepts but never answers: one time limit, then the rest is not asked; the script still ends", async () => {
    await startEngine("docker0", { hang: true });
    const { framed, seconds } = await runScript({ manager: true, timeout: 1 });
    expect(framed.complete).toBe(true);
    expect(framed.sections["docker-info"]).toMatchObject({ rc: 124 });
    expect(framed.sections["docker-info"]!.stderr).toMatch(/did not answer GET \/info within 1 s/);
    expect(framed.sections["docker-network-ids"]).toMatchObject({ rc: 124 });
    expect(framed.sections["docker-network-ids"]!.stderr).toMatch(/^not asked: the Docker engine did not answer/);
    expect(seconds).toBeLessThan(15);
  });

  it("where Python cannot start, the CLI path runs instead (every docker section still there)", async () => {
    await startEngine("docker0");
    const broken = path.join(dir, "broken-python");
    fs.mkdirSync(broken, { recursive: true });
    fs.writeFileSync(path.join(broken, "python3"), "#!/bin/sh\necho 'python3: bad interpreter' >&2\nexit 1\n", { mode: 0o755 });
    const { framed } = await runScript({ manager: true, pathPrefix: broken });
    expect(framed.sections["meta"]!.output).toMatch(/^docker_client=cli$/m);
    expect(framed.sections["docker-info"]).toMatchObject({ rc: 1 });
    expect(fs.readFileSync(path.join(dir, "docker-cli-runs"), "utf8")).toMatch(/^info --format/m);
  });

  it("without the engine's socket the CLI path runs (it names a missing docker or a stopped engine)", async () => {
    const { framed } = await runScript({ manager: true });
    expect(framed.sections["meta"]!.output).toMatch(/^docker_client=cli$/m);
    expect(fs.existsSync(path.join(dir, "docker-cli-runs"))).toBe(true);
  });

  it("--docker-cli (dockerClient: cli) runs the CLI even where the API could be read", () => {
    const s = buildGatherScript({ service: "demoservice", overlay: "demonet", dockerClient: "cli" });
    expect(s).toMatch(/^SWL_DOCKER_API=0$/m);
    expect(buildGatherScript({ service: "demoservice", overlay: "demonet" })).toMatch(/^SWL_DOCKER_API=1$/m);
    expect(() => buildGatherScript({ service: "demoservice", overlay: "demonet", dockerSocket: "/run/$(id).sock" })).toThrow(/not allowed/);
  });
});

describe.skipIf(!PY27 || !PYTHON3)("the API client under Python 2.7 (CentOS 7's) prints what it prints under Python 3", () => {
  it("same sections, same bytes (timings aside)", async () => {
    await startEngine("docker0");
    const run = (py: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const tmp = fs.mkdtempSync(path.join(dir, "py-"));
        const file = path.join(tmp, "api.py");
        fs.writeFileSync(file, DOCKER_API_CLIENT);
        execFile(py, ["-S", file], { env: { ...process.env, SWL_SERVICE: "demoservice", SWL_TMP: tmp, SWL_DOCKER_SOCK: path.join(dir, "docker.sock"), SWL_TIMEOUT: "10" } }, (err, stdout, stderr) =>
          err ? reject(new Error(`${py}: ${stderr}`)) : resolve(stdout),
        );
      });
    // The same sections, each whole; their texts equal but for the task's age ("Running 5 minutes ago").
    const sections = (text: string) => {
      const framed = parseFramedOutput(text);
      expect(framed.problems.filter((p) => !/done marker/.test(p))).toEqual([]);
      return Object.fromEntries(Object.entries(framed.sections).map(([k, s]) => [k, { rc: s.rc, output: s.output.replace(/Running [^"]* ago/g, "Running … ago") }]));
    };
    const three = sections(await run(PYTHON3!));
    const two = sections(await run(PY27!));
    expect(Object.keys(two)).toHaveLength(10);
    expect(two).toEqual(three);
  });
});
