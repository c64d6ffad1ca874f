/**
 * What the end-to-end tests share: a lab stack driven through the commands a user types, with
 * every line logged, and the safety net that removes what a failed run left.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { NodeSSH } from "node-ssh";
import { shellQuote as shq } from "../../scripts/lib/shell";

export const ROOT = path.resolve(__dirname, "../..");
export const URI = "qemu:///system";
/** Reports, screenshots and raw gathers of the runs, for people to look at (not committed). */
export const RESULTS = path.join(ROOT, "test-results");

export interface NpmRun {
  code: number;
  output: string;
  seconds: number;
}

/** The summary line verify prints when no fact fails. */
export const NOTHING_FAILED = /\d+ facts: \d+ passed, \d+ changed since the documented version, 0 failed/;

export function labDriver(STACK: string) {
  const PREFIX = `swarmlab-${STACK}`;
  const LAB_DIR = path.join(ROOT, ".swarmlab", STACK);
  const STATE_FILE = path.join(ROOT, ".swarmlab", "state", ".pulumi", "stacks", "swarmlab", `${STACK}.json`);
  const inventoryFile = path.join(LAB_DIR, "inventory.json");
  const keyFile = path.join(LAB_DIR, "id_swarmlab");

  const virsh = (...args: string[]) => spawnSync("virsh", ["-q", "-c", URI, ...args], { encoding: "utf8" }).stdout.trim();
  const virshOk = (...args: string[]) => spawnSync("virsh", ["-q", "-c", URI, ...args], { encoding: "utf8" }).status === 0;
  const names = (...args: string[]) => virsh(...args).split("\n").map((s) => s.trim()).filter(Boolean);

  const logLines: string[] = [];
  const log = (line: string) => {
    logLines.push(line);
    process.stdout.write(`[lab] ${line}\n`);
  };


  /** Runs `npm run <args>` in the repository as a user would, its output logged and returned. */
  function npmRun(...args: string[]): Promise<NpmRun> {
    return npmRunInterrupted(undefined, ...args);
  }

  /**
   * Like npmRun; when `interruptAt` matches the output, presses Ctrl-C as a terminal does: SIGINT
   * to the command's whole process group (npm, the CLI, the Pulumi engine and its plugins).
   */
  function npmRunInterrupted(interruptAt: RegExp | undefined, ...args: string[]): Promise<NpmRun> {
    const t0 = Date.now();
    log(`$ npm run ${args.join(" ")}`);
    return new Promise((resolve) => {
      const child = spawn("npm", ["run", "--silent", ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], detached: interruptAt !== undefined });
      let output = "";
      let partial = "";
      let interrupted = false;
      const take = (d: Buffer) => {
        const text = d.toString();
        output += text;
        const lines = (partial + text).split("\n");
        partial = lines.pop() ?? "";
        for (const l of lines) log(`  ${l}`);
        if (interruptAt && !interrupted && interruptAt.test(output)) {
          interrupted = true;
          // Once libvirt has the object (so the next up finds one Pulumi never recorded), or 20 s.
          const until = Date.now() + 20_000;
          const press = () => {
            if (names("list", "--all", "--name").some((n) => n.startsWith(PREFIX)) || Date.now() > until) {
              log(`  ^C (SIGINT to process group ${child.pid})`);
              process.kill(-child.pid!, "SIGINT");
            } else setTimeout(press, 100);
          };
          press();
        }
      };
      child.stdout.on("data", take);
      child.stderr.on("data", take);
      child.on("close", (code) => {
        if (partial) log(`  ${partial}`);
        resolve({ code: code ?? 1, output, seconds: (Date.now() - t0) / 1000 });
      });
    });
  }

  /** The stack's state with secrets decrypted, as `pulumi stack export --show-secrets` prints it. */
  async function exportState(showSecrets: boolean): Promise<any> {
    const r = spawnSync("npm", ["run", "--silent", "pulumi", "--", "stack", "export", "--stack", STACK, ...(showSecrets ? ["--show-secrets"] : [])], {
      cwd: ROOT,
      encoding: "utf8",
      maxBuffer: 64 << 20,
    });
    if (r.status !== 0) throw new Error(`stack export failed: ${r.stderr}`);
    return JSON.parse(r.stdout);
  }

  const resourceNamed = (state: any, suffix: string) =>
    (state.deployment.resources as any[]).find((r) => typeof r.urn === "string" && r.urn.endsWith(`::${PREFIX}-${suffix}`));

  async function sshTo(address: string): Promise<NodeSSH> {
    const ssh = new NodeSSH();
    await ssh.connect({ host: address, username: "swarm", privateKey: fs.readFileSync(keyFile, "utf8"), readyTimeout: 20_000 });
    // A guest destroyed on purpose resets the connection: log it rather than fail the run.
    ssh.connection?.on("error", (e) => log(`ssh ${address}: ${e.message}`));
    return ssh;
  }

  /** Runs a command as root on a guest (the lab user has passwordless sudo, no docker group). */
  async function sh(ssh: NodeSSH, cmd: string): Promise<string> {
    const r = await ssh.execCommand(`sudo -n sh -c ${shq(cmd)}`);
    if (r.code !== 0) throw new Error(`${cmd} failed (${r.code}): ${r.stderr || r.stdout}`);
    return r.stdout.trim();
  }

  /** Removes whatever this test's stack left on the hypervisor and in the repository: a safety net after a failure. */
  function sweep(): void {
    for (const d of names("list", "--all", "--name").filter((n) => n.startsWith(PREFIX))) {
      virshOk("destroy", d);
      virshOk("undefine", d);
    }
    if (virshOk("pool-info", PREFIX)) {
      for (const line of names("vol-list", PREFIX)) virshOk("vol-delete", "--pool", PREFIX, line.split(/\s+/)[0]);
      virshOk("pool-destroy", PREFIX);
      virshOk("pool-delete", PREFIX);
      virshOk("pool-undefine", PREFIX);
    }
    if (virshOk("net-info", PREFIX)) {
      virshOk("net-destroy", PREFIX);
      virshOk("net-undefine", PREFIX);
    }
    for (const f of fs.existsSync(path.dirname(STATE_FILE)) ? fs.readdirSync(path.dirname(STATE_FILE)) : []) {
      if (f.startsWith(`${STACK}.json`)) fs.rmSync(path.join(path.dirname(STATE_FILE), f), { force: true });
    }
    fs.rmSync(path.join(ROOT, `Pulumi.${STACK}.yaml`), { force: true });
    fs.rmSync(LAB_DIR, { recursive: true, force: true });
  }

  function consoleTails(): void {
    for (const d of names("list", "--all", "--name").filter((n) => n.startsWith(PREFIX))) {
      const logFile = `/var/log/libvirt/qemu/${d}-console.log`;
      if (fs.existsSync(logFile)) log(`--- last console lines of ${d}:\n${fs.readFileSync(logFile, "utf8").split("\n").slice(-30).join("\n")}`);
    }
  }

  /** `swarmlab: up took 231.0 s (done at: define 9.8 s, ssh 81.2 s, ...)` -> phase -> seconds. */
  function phasesOf(output: string): { total: number; phases: Record<string, number> } {
    const m = output.match(/swarmlab: up took ([\d.]+) s(?: \(done at: ([^)]*)\))?/);
    if (!m) throw new Error("npm run up printed no timing line");
    const phases: Record<string, number> = {};
    for (const part of (m[2] ?? "").split(", ").filter(Boolean)) {
      const [name, secs] = part.split(" ");
      phases[name] = Number(secs);
    }
    return { total: Number(m[1]), phases };
  }

  return {
    STACK, PREFIX, LAB_DIR, STATE_FILE, inventoryFile, keyFile, logLines,
    virsh, virshOk, names, log, npmRun, npmRunInterrupted, exportState, resourceNamed, sshTo, sh, sweep, consoleTails, phasesOf,
  };
}
