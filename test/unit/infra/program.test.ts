/**
 * The program under plain mocks: which resources it registers, with which inputs, and in
 * which order their dependencies let them run. Nothing is executed here.
 */
import * as os from "os";
import * as path from "path";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { unwrapSecrets } from "../../harness/dynamic";

interface Reg {
  type: string;
  name: string;
  inputs: any;
  start: number;
  end: number;
}

const regs: Reg[] = [];
/** A GuestCommand: the dynamic resource that runs a step on a guest over SSH. */
const isGuestCommand = (r: { type: string; inputs: any }) => r.type.startsWith("pulumi-nodejs:dynamic") && typeof r.inputs.create === "string" && r.inputs.connection !== undefined;
let clock = 0;
let lab: any;
const stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-unit-"));

beforeAll(async () => {
  pulumi.runtime.setAllConfig({ "swarmlab:domainType": "qemu" }, []);
  await pulumi.runtime.setMocks(
    {
      async newResource(args) {
        const start = ++clock;
        // Give every custom resource some duration so that ordering is observable.
        if (args.custom) await new Promise((r) => setTimeout(r, 5));
        const inputs = unwrapSecrets(args.inputs);
        regs.push({ type: args.type, name: args.name, inputs, start, end: ++clock });
        const state: any = { ...inputs };
        if (args.type.startsWith("pulumi-nodejs:dynamic")) {
          state.path = `/pool/${inputs.name ?? args.name}`;
          state.publicKeyOpenssh = "ssh-rsa AAAAtest swarmlab-unit";
          state.privateKeyPem = "-----BEGIN RSA PRIVATE KEY-----\ntest\n-----END RSA PRIVATE KEY-----\n";
          state.fingerprint = "SHA256:test";
          state.dir = inputs.dir;
        }
        if (isGuestCommand({ type: args.type, inputs })) state.stdout = "SWMTKN-1-test";
        return { id: args.custom ? `${args.name}-id` : undefined, state };
      },
      async call(args) {
        throw new Error(`unexpected call ${args.token}`);
      },
    },
    "swarmlab",
    "unit",
    false,
  );
  const { main } = await import("../../../infra/main");
  lab = main({ stateRoot, activeNetworks: () => [] });
  await new Promise<void>((resolve) => lab.tasks.apply(() => resolve()));
  await new Promise((r) => setTimeout(r, 200));
});

const byName = (suffix: string) => {
  const r = regs.find((x) => x.name.endsWith(suffix));
  if (!r) throw new Error(`no resource named *${suffix}; have ${regs.map((x) => x.name).join(", ")}`);
  return r;
};
const after = (later: string, earlier: string) => expect(byName(later).start, `${later} must start after ${earlier} finished`).toBeGreaterThan(byName(earlier).end);

describe("the program under mocks", () => {
  it("registers the components of the design", () => {
    const types = new Set(regs.filter((r) => !r.type.startsWith("pulumi-nodejs")).map((r) => r.type));
    expect([...types].sort()).toEqual(["swarmlab:lab:Host", "swarmlab:lab:Network", "swarmlab:lab:Storage", "swarmlab:lab:Swarm", "swarmlab:lab:Workload"].filter((t) => types.has(t)).sort());
    expect(types).toContain("swarmlab:lab:Host");
    expect(types).toContain("swarmlab:lab:Swarm");
    expect(types).toContain("swarmlab:lab:Workload");
    expect(types).toContain("swarmlab:lab:Network");
    expect(types).toContain("swarmlab:lab:Storage");
  });

  it("registers one network, one pool, a base volume, and per host a seed, a disk and a domain", () => {
    const dyn = regs.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic") && !isGuestCommand(r));
    const kinds = (k: string) => dyn.filter((r) => r.inputs.kind === k).map((r) => r.inputs.name).sort();
    expect(kinds("network")).toEqual(["swarmlab-unit"]);
    expect(kinds("pool")).toEqual(["swarmlab-unit"]);
    expect(kinds("domain")).toEqual(["swarmlab-unit-docker0", "swarmlab-unit-docker1"]);
    expect(kinds("volume")).toEqual([
      "swarmlab-unit-base.qcow2",
      "swarmlab-unit-docker0-seed.iso",
      "swarmlab-unit-docker0.qcow2",
      "swarmlab-unit-docker1-seed.iso",
      "swarmlab-unit-docker1.qcow2",
    ]);
    for (const r of dyn) expect(typeof r.inputs.__provider).toBe("string");
  });

  it("builds domains of the configured type with the documented addresses in their seeds", () => {
    const d0 = byName("docker0-domain");
    expect(d0.inputs.xml).toContain("<domain type='qemu'>");
    const seed0 = byName("docker0-seed");
    expect(seed0.inputs.cloudInit.networkConfig).toContain("address: 192.168.122.10/24");
    expect(seed0.inputs.cloudInit.userData).toContain("hostname: docker0.local");
    expect(byName("docker1-seed").inputs.cloudInit.networkConfig).toContain("address: 192.168.122.11/24");
    // qemu (TCG): both forms of the seed turn ASLR off (infra/guest/cloudinit.ts, ASLR_OFF).
    for (const h of ["docker0", "docker1"]) {
      expect(byName(`${h}-seed`).inputs.cloudInit.userData).toContain("kernel.randomize_va_space=0");
      expect(byName(`${h}-seed`).inputs.cloudInit.initScript).toContain("kernel.randomize_va_space=0");
    }
  });

  it("orders the steps by their dependencies", () => {
    after("storage-base", "storage-pool");
    after("docker0-disk", "storage-base");
    after("docker0-domain", "docker0-disk");
    after("docker0-domain", "docker0-seed");
    after("docker0-domain", "network-net");
    after("docker0-ready", "docker0-domain");
    after("docker0-docker", "docker0-ready");
    after("swarm-init", "docker0-docker");
    after("swarm-join-docker1", "swarm-init");
    after("swarm-join-docker1", "docker1-docker");
    // The workload is declared once the manager has a swarm; the worker's join runs alongside.
    after("workload-service", "swarm-init");
    after("files", "ssh-key");
  });

  it("passes the join token on stdin only, and keeps it out of error messages", () => {
    const init = byName("swarm-init");
    expect(init.inputs.secretStdout).toBe(true);
    const join = byName("swarm-join-docker1");
    expect(join.inputs.stdin).toBe("SWMTKN-1-test");
    expect(join.inputs.create).not.toContain("SWMTKN");
    const commands = regs.filter(isGuestCommand);
    expect(commands.map((r) => r.name.replace(/^swarmlab-unit-/, "")).sort()).toEqual([
      "docker0-docker", "docker0-ready", "docker1-docker", "docker1-ready", "swarm-init", "swarm-join-docker1", "workload-service",
    ]);
    for (const r of commands) {
      expect(r.inputs.connection.user).toBe("swarm");
      expect(r.inputs.stdin === undefined || r.name.endsWith("swarm-join-docker1"), `${r.name} must not get stdin`).toBe(true);
    }
  });

  it("writes the inventory and ssh_config for the stack", () => {
    const files = byName("files");
    expect(files.inputs.dir).toBe(path.join(stateRoot, ".swarmlab", "unit"));
    const inv = JSON.parse(files.inputs.inventory);
    expect(inv.hosts.map((h: any) => [h.name, h.address, h.role])).toEqual([
      ["docker0", "192.168.122.10", "manager"],
      ["docker1", "192.168.122.11", "worker"],
    ]);
    expect(files.inputs.sshConfig).toMatch(/Host docker0 docker0.local\n\s+HostName 192.168.122.10/);
    expect(lab.sshCommand).toBe(`ssh -F ${path.join(stateRoot, ".swarmlab", "unit", "ssh_config")} docker0`);
  });
});
