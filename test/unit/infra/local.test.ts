/** The files swarmlab keeps on the user's machine: the lab directory's key and the Pulumi passphrase. */
import { spawn } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ensurePassphraseFile, labFilesProvider } from "../../../infra/local";
import { loadDynamicProvider } from "../../harness/dynamic";

let dir = "";
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-local-"));
});
afterEach(() => {
  vi.restoreAllMocks();
  fs.rmSync(dir, { recursive: true, force: true });
});

const mode = (f: string) => fs.statSync(f).mode & 0o777;
const KEY1 = "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n";
const KEY2 = "-----BEGIN RSA PRIVATE KEY-----\nBBBBBBBB\n-----END RSA PRIVATE KEY-----\n";

describe("the lab files", () => {
  const inputs = () => ({ dir: path.join(dir, "lab"), inventory: '{"hosts":[]}\n', sshConfig: "Host *\n", privateKeyPem: KEY1 });

  it("writes the key 0600 and the rest 0644, through the serialized provider, leaving no temporary file", async () => {
    const sf = await pulumi.runtime.serializeFunction(() => labFilesProvider, { allowSecrets: true });
    const p = loadDynamicProvider(sf.text);
    const old = process.umask(0o000);
    try {
      await p.create!(inputs());
    } finally {
      process.umask(old);
    }
    const lab = path.join(dir, "lab");
    expect(fs.readdirSync(lab).sort()).toEqual(["id_swarmlab", "inventory.json", "ssh_config"]);
    expect(fs.readFileSync(path.join(lab, "id_swarmlab"), "utf8")).toBe(KEY1);
    expect(mode(path.join(lab, "id_swarmlab"))).toBe(0o600);
    expect(mode(path.join(lab, "inventory.json"))).toBe(0o644);
    expect(mode(path.join(lab, "ssh_config"))).toBe(0o644);
  });

  it("replaces the key by renaming a new file over it, never by rewriting it in place", async () => {
    await labFilesProvider.create(inputs());
    const key = path.join(dir, "lab", "id_swarmlab");
    const before = fs.statSync(key).ino;
    // A hard link to the old key sees whether its bytes were rewritten in place.
    const witness = path.join(dir, "old-key");
    fs.linkSync(key, witness);
    await labFilesProvider.update!("lab", {}, { ...inputs(), privateKeyPem: KEY2 });
    expect(fs.readFileSync(key, "utf8")).toBe(KEY2);
    expect(fs.statSync(key).ino).not.toBe(before);
    expect(fs.readFileSync(witness, "utf8")).toBe(KEY1);
    expect(mode(key)).toBe(0o600);
  });

  it("a failed replace leaves the old file and no temporary file", async () => {
    const lab = path.join(dir, "lab");
    fs.mkdirSync(path.join(lab, "id_swarmlab"), { recursive: true });
    fs.writeFileSync(path.join(lab, "id_swarmlab", "x"), "in the way");
    await expect(labFilesProvider.create(inputs())).rejects.toThrow(/id_swarmlab/);
    expect(fs.readdirSync(lab).sort()).toEqual(["id_swarmlab", "inventory.json", "ssh_config"]);
  });
});

describe("ensurePassphraseFile", () => {
  it("creates a 0600 passphrase once and keeps it", () => {
    const f = path.join(dir, "state", "passphrase");
    const old = process.umask(0o000);
    try {
      ensurePassphraseFile(f);
    } finally {
      process.umask(old);
    }
    const first = fs.readFileSync(f, "utf8");
    expect(first).toMatch(/^[A-Za-z0-9_-]{32}\n$/);
    expect(mode(f)).toBe(0o600);
    ensurePassphraseFile(f);
    expect(fs.readFileSync(f, "utf8")).toBe(first);
    expect(fs.readdirSync(path.dirname(f))).toEqual(["passphrase"]);
  });

  it("fixes a passphrase file others can read, and says so in one line naming it", () => {
    const f = path.join(dir, "passphrase");
    fs.writeFileSync(f, "mine\n", { mode: 0o644 });
    fs.chmodSync(f, 0o644);
    let err = "";
    vi.spyOn(process.stderr, "write").mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
    ensurePassphraseFile(f);
    expect(mode(f)).toBe(0o600);
    expect(fs.readFileSync(f, "utf8")).toBe("mine\n");
    expect(err.split("\n").filter(Boolean)).toHaveLength(1);
    expect(err).toContain(f);
    expect(err).toContain("0644");
    err = "";
    ensurePassphraseFile(f);
    expect(err).toBe("");
  });

  it("of processes racing to create it, one wins and all end with its passphrase", async () => {
    const f = path.join(dir, "race", "passphrase");
    // The function as it is compiled, run by plain node processes started together.
    const script = `const ensure = ${ensurePassphraseFile.toString()};
      const start = Number(process.argv[2]);
      while (Date.now() < start) {}
      ensure(process.argv[1]);
      process.stdout.write(require("fs").readFileSync(process.argv[1], "utf8"));`;
    const start = Date.now() + 700;
    const runs = Array.from({ length: 8 }, () =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const c = spawn(process.execPath, ["-e", script, f, String(start)], { stdio: ["ignore", "pipe", "pipe"] });
        let out = "";
        let err = "";
        c.stdout.on("data", (d: Buffer) => (out += d.toString()));
        c.stderr.on("data", (d: Buffer) => (err += d.toString()));
        c.on("close", (code) => resolve({ code, out, err }));
      }),
    );
    const results = await Promise.all(runs);
    for (const r of results) expect(r.code, r.err).toBe(0);
    const final = fs.readFileSync(f, "utf8");
    expect(final).toMatch(/^[A-Za-z0-9_-]{32}\n$/);
    expect(new Set(results.map((r) => r.out))).toEqual(new Set([final]));
    expect(fs.readdirSync(path.dirname(f))).toEqual(["passphrase"]);
    expect(mode(f)).toBe(0o600);
  });
});
