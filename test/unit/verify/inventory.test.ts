import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { swarmOverlayLab } from "../../../labs/swarm-overlay/lab";
import { labNamed } from "../../../labs";
import { InventoryError } from "../../../scripts/lib/verify/errors";
import type { Transport } from "../../../scripts/lib/verify/gather";
import { runVerify } from "../../../scripts/lib/verify/run";
import { compareWithLab, defaultInventoryPath, inventoryFromLab, loadInventory, validateInventory } from "../../../scripts/lib/verify/inventory";

const good = (): Record<string, unknown> =>
  JSON.parse(JSON.stringify(inventoryFromLab(swarmOverlayLab, { stack: "dev", user: "lab", sshKeyFile: "/tmp/key" }))) as Record<string, unknown>;

function fieldOf(raw: unknown): string {
  try {
    validateInventory(raw, { checkKeyFile: false });
  } catch (e) {
    if (e instanceof InventoryError) return e.field;
    throw e;
  }
  return "(valid)";
}

describe("inventory", () => {
  it("inventoryFromLab derives addresses and gateways from lab.ts", () => {
    const inv = validateInventory(good(), { checkKeyFile: false });
    expect(inv.hosts).toEqual([
      { name: "docker0", hostname: "docker0.local", address: "192.168.122.10", role: "manager" },
      { name: "docker1", hostname: "docker1.local", address: "192.168.122.11", role: "worker" },
    ]);
    expect(inv.network).toEqual({ cidr: "192.168.122.0/24", gateway: "192.168.122.1" });
    expect(inv.workload).toEqual({ overlay: "demonet", subnet: "192.168.200.0/24", gateway: "192.168.200.1", service: "demoservice", replicas: 2, image: "alpine" });
    expect(inv.pathTarget).toBe("192.168.122.1");
    expect(compareWithLab(inv, swarmOverlayLab)).toEqual([]);
  });

  it("names the bad field", () => {
    const cases: [string, (r: Record<string, any>) => void][] = [
      ["lab", (r) => (r.lab = "Other lab")],
      ["lab", (r) => (r.lab = 7)],
      ["stack", (r) => delete r.stack],
      ["sshKeyFile", (r) => (r.sshKeyFile = "id_ed25519")],
      ["network.cidr", (r) => (r.network.cidr = "192.168.122.7/24")],
      ["network.gateway", (r) => (r.network.gateway = "10.0.0.1")],
      ["hosts", (r) => (r.hosts = [])],
      ["hosts[1].address", (r) => (r.hosts[1].address = "192.168.123.11")],
      ["hosts[1].role", (r) => (r.hosts[1].role = "boss")],
      ["hosts[1].hostname", (r) => (r.hosts[1].hostname = "docker0.local")],
      ["hosts[0].name", (r) => (r.hosts[0].name = "Docker 0")],
      ["hosts", (r) => (r.hosts[0].role = "worker")],
      ["workload.subnet", (r) => (r.workload.subnet = "192.168.200.0")],
      ["workload.gateway", (r) => (r.workload.gateway = "192.168.201.1")],
      ["workload.replicas", (r) => (r.workload.replicas = 0)],
      ["workload.image", (r) => (r.workload.image = "")],
      ["pathTarget", (r) => (r.pathTarget = "8.8.8.8")],
      ["", () => undefined],
    ];
    for (const [field, mutate] of cases) {
      const r = good();
      mutate(r as Record<string, any>);
      if (field === "") expect(fieldOf([r])).toBe("");
      else expect(fieldOf(r)).toBe(field);
    }
  });

  it("refuses a PATH-2 target outside the lab (the seeds pinged 8.8.8.8)", () => {
    const r = good();
    r["pathTarget"] = "8.8.8.8";
    expect(() => validateInventory(r, { checkKeyFile: false })).toThrow(/outside the lab network/);
  });

  it("loadInventory: missing file, bad JSON, key file permissions", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swl-inv-"));
    try {
      expect(() => loadInventory(path.join(dir, "nope.json"))).toThrow(/npm run up/);
      fs.writeFileSync(path.join(dir, "bad.json"), "{ nope");
      expect(() => loadInventory(path.join(dir, "bad.json"))).toThrow(/not valid JSON/);
      const key = path.join(dir, "id");
      fs.writeFileSync(key, "key", { mode: 0o644 });
      const inv = good();
      inv["sshKeyFile"] = key;
      fs.writeFileSync(path.join(dir, "inv.json"), JSON.stringify(inv));
      expect(() => loadInventory(path.join(dir, "inv.json"))).toThrow(/mode 644; ssh keys must be 0600/);
      fs.chmodSync(key, 0o600);
      expect(loadInventory(path.join(dir, "inv.json")).sshKeyFile).toBe(key);
      inv["sshKeyFile"] = path.join(dir, "missing");
      fs.writeFileSync(path.join(dir, "inv.json"), JSON.stringify(inv));
      const err = (() => {
        try {
          loadInventory(path.join(dir, "inv.json"));
        } catch (e) {
          return e as InventoryError;
        }
        return undefined;
      })();
      expect(err?.field).toBe("sshKeyFile");
      expect(err?.message).toContain(path.join(dir, "inv.json"));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it("default path is .swarmlab/<stack>/inventory.json", () => {
    expect(defaultInventoryPath("dev", "/repo")).toBe("/repo/.swarmlab/dev/inventory.json");
  });

  it("compareWithLab reports a hand-built lab's differences", () => {
    const r = good() as Record<string, any>;
    r.workload.subnet = "192.168.201.0/24";
    r.workload.gateway = "192.168.201.1";
    const notes = compareWithLab(validateInventory(r, { checkKeyFile: false }), swarmOverlayLab);
    expect(notes).toEqual(["workload.subnet 192.168.201.0/24 differs from lab.ts 192.168.200.0/24", "workload.gateway 192.168.201.1 differs from lab.ts 192.168.200.1"]);
  });
});

describe("the inventory's lab", () => {
  it("is optional (an inventory written by hand: the default lab) and kept when given", () => {
    const r = good();
    expect(validateInventory(r, { checkKeyFile: false }).lab).toBe("swarm-overlay");
    delete r.lab;
    expect(validateInventory(r, { checkKeyFile: false }).lab).toBeUndefined();
    expect(labNamed(undefined).name).toBe("swarm-overlay");
  });

  it("that no lab has is refused by verify before anything connects, naming the known labs", async () => {
    const r = good();
    r.lab = "other";
    const inventory = validateInventory(r, { checkKeyFile: false });
    let calls = 0;
    const transport = { sessions: 0, run: async () => { calls++; throw new Error("must not connect"); } } as unknown as Transport;
    const err = await runVerify({ labs: labNamed, inventory, transport }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(InventoryError);
    expect((err as InventoryError).field).toBe("lab");
    expect((err as Error).message).toMatch(/unknown lab "other"; known labs: swarm-overlay/);
    expect(calls).toBe(0);
  });
});

