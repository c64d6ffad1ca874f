/**
 * A host that is down, or whose Docker engine is: the report leads with the
 * cause, the facts it kept from being checked say so (naming the cause), and
 * what the other host shows is still judged. Built on the recording of the
 * live lab (live-e2e-v2): docker0 answers as recorded; docker1 refuses the
 * connection, or answers with its Docker engine stopped.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { FACT_IDS } from "../../../labs/swarm-overlay/facts";
import type { RunResult, Transport } from "../../../scripts/lib/verify/gather";
import type { InventoryHost } from "../../../scripts/lib/verify/inventory";
import { formatJunit, formatText } from "../../../scripts/lib/verify/report";
import { runVerify } from "../../../scripts/lib/verify/run";
import { FIXTURES, reframe } from "./helpers";
import { labNamed } from "../../../labs";

const DIR = path.join(FIXTURES, "live-e2e-v2");
const inventory = JSON.parse(fs.readFileSync(path.join(DIR, "inventory.json"), "utf8"));
const recorded = (name: string): string => fs.readFileSync(path.join(DIR, name), "utf8");

const DAEMON_DOWN = "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?";

/** docker1's gather as it comes out with the engine stopped: every docker command fails the same way. */
function dockerDown(text: string): string {
  return reframe(text, (o, key) => (key.startsWith("exec-") ? undefined : o)).replace(
    /@@swarmlab:begin (docker-[\w-]+)\n[\s\S]*?@@swarmlab:end \1 rc=0 bytes=\d+\n/g,
    (_m, key: string) => `@@swarmlab:begin ${key}\n@@swarmlab:end ${key} rc=1 bytes=0\n@@swarmlab:stderr ${key}\n${DAEMON_DOWN}\n@@swarmlab:stderr-end ${key}\n`,
  );
}

function transport(docker1: "refused" | "docker-down"): Transport & { sessions: number } {
  return {
    sessions: 0,
    async run(host: InventoryHost, script: string, onStdout: (c: string) => void, onConnected: () => void): Promise<RunResult> {
      const traffic = script.includes("# swarmlab: traffic probe");
      if (host.name === "docker1" && docker1 === "refused") {
        throw Object.assign(new Error(`connect ECONNREFUSED ${host.address}:22`), { code: "ECONNREFUSED" });
      }
      this.sessions++;
      onConnected();
      let out = recorded(traffic ? "traffic-docker0.txt" : `${host.name}.txt`);
      if (host.name === "docker1" && docker1 === "docker-down") out = dockerDown(out);
      onStdout(out);
      return { stdout: out, stderr: "", code: 0 };
    },
  };
}

describe("a host whose sshd is stopped", () => {
  it("leads the report with the cause; its facts could not be checked; docker0's are judged; exit 3", async () => {
    const run = await runVerify({ labs: labNamed, inventory, transport: transport("refused"), format: "text" });
    const text = run.rendered!;
    const lines = text.split("\n");
    expect(lines[1]).toBe("Facts that need these hosts could not be checked there:");
    expect(lines[2]).toBe("  docker1: connection refused on port 22 (192.168.122.11)");
    expect(run.results.filter((r) => r.outcome === "fail").map((r) => r.id)).toEqual([]);
    const unchecked = run.results.filter((r) => r.outcome === "unchecked");
    expect(unchecked.length).toBeGreaterThanOrEqual(20);
    for (const r of unchecked) expect(r.explanation, r.id).toMatch(/docker1: connection refused on port 22/);
    expect(text).not.toMatch(/ECONNREFUSED|not gathered: connect/);
    // what only the manager answers, and the traffic from docker0's task, are still judged
    const by = Object.fromEntries(run.results.map((r) => [r.id, r.outcome]));
    expect(by).toMatchObject({ "CL-2": "pass", "WL-1": "pass", "WL-2": "pass", "IPAM-1": "pass", "PATH-1": "pass", "PATH-2": "pass", "PATH-3": "unchecked", "PATH-4": "unchecked" });
    expect(run.results.find((r) => r.id === "PATH-3")!.explanation).toMatch(/docker1: connection refused on port 22/);
    expect(run.exitCode).toBe(3);
    expect(run.report.hosts[1]).toMatchObject({ reachable: false, cause: "connection refused on port 22" });
    // one traffic session on docker0, one gather session there; none reached docker1
    expect(run.sshSessions).toBe(2);
  });
});

describe("a host whose Docker engine is not running", () => {
  it("names the engine as the cause of the docker facts, and still judges docker1's interfaces", async () => {
    const run = await runVerify({ labs: labNamed, inventory, transport: transport("docker-down"), format: "text" });
    const lines = run.rendered!.split("\n");
    expect(lines[2]).toBe("  docker1: the Docker engine is not running (192.168.122.11)");
    const by = Object.fromEntries(run.results.map((r) => [r.id, r]));
    for (const id of ["CL-1", "NET-1", "NS-1", "IPAM-2", "SB-1", "VETH-1", "OVL-1", "VXLAN-1", "ING-1"]) {
      expect(by[id]!.outcome, id).toBe("unchecked");
      expect(by[id]!.explanation, id).toMatch(/docker1: the Docker engine is not running$/);
    }
    // docker1's own interfaces need no engine: HOST-2 (its NIC) and HOST-3 (docker0 bridge) are judged there
    expect(by["HOST-2"]!.outcome).toBe("pass");
    expect(by["HOST-3"]!.outcome).toBe("pass");
    expect(run.results.filter((r) => r.outcome === "fail").map((r) => r.id)).toEqual([]);
    expect(run.exitCode).toBe(3);
    expect(run.report.hosts[1]).toMatchObject({ reachable: true, cause: "the Docker engine is not running" });
  });
});

describe("the Docker engine down, as a v3 gather sees it (docker info answers with ServerErrors, exit 0)", () => {
  it("is the cause of docker1's docker facts", async () => {
    const down = fs.readFileSync(path.join(FIXTURES, "templates", "info-daemon-down.json"), "utf8");
    const t: Transport & { sessions: number } = {
      sessions: 0,
      async run(host, script, onStdout, onConnected) {
        this.sessions++;
        onConnected();
        const traffic = script.includes("# swarmlab: traffic probe");
        let out = recorded(traffic ? "traffic-docker0.txt" : `${host.name}.txt`);
        if (host.name === "docker1") out = reframe(dockerDown(out), (o, key) => (key === "docker-info" ? down : o)).replace(/(@@swarmlab:end docker-info) rc=1/, "$1 rc=0");
        onStdout(out);
        return { stdout: out, stderr: "", code: 0 };
      },
    };
    const run = await runVerify({ labs: labNamed, inventory, transport: t });
    expect(run.model.hosts[1]!.dockerDown).toBe("the Docker engine is not running");
    expect(run.report.hosts[1]!.cause).toBe("the Docker engine is not running");
    expect(run.results.find((r) => r.id === "CL-1")).toMatchObject({ outcome: "unchecked", explanation: "docker1: the Docker engine is not running" });
    expect(run.exitCode).toBe(3);
  });
});

describe("every format shows the new outcome", () => {
  it("text, json, junit and html", async () => {
    const run = await runVerify({ labs: labNamed, inventory, transport: transport("refused"), format: "html" });
    const html = run.rendered!;
    expect(html).toMatch(/<tr class="unchecked" id="fact-CL-1">[\s\S]*?<span class="badge unchecked">COULD NOT CHECK<\/span>[\s\S]*?could not check: docker1: connection refused on port 22/);
    expect(html).toMatch(/<dt>could not check<\/dt><dd>docker1: connection refused on port 22<\/dd>/);
    expect(formatText(run.report)).toMatch(/^CL-1 +UNCHECKED /m);
    expect(formatJunit(run.report)).toMatch(/<testcase [^>]*name="CL-1 [^"]*"[^>]*>\n\s*<error type="could-not-check" message="could not check: docker1: connection refused on port 22">/);
    for (const id of FACT_IDS) expect(html, id).toContain(`id="fact-${id}"`);
  });
});
