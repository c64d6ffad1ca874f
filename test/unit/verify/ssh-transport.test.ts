/**
 * SshTransport.warm(): verify's traffic step connects while the hosts are gathered, and its run()
 * takes that connection instead of opening another. Against ssh2's server on loopback.
 */
import * as crypto from "node:crypto";
import * as fs from "node:fs";
import type * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { Server } from "ssh2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SshTransport } from "../../../scripts/lib/verify/gather";
import type { InventoryHost } from "../../../scripts/lib/verify/inventory";

const hostKey = crypto.generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
const userKey = crypto.generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });

let server: Server;
let port = 0;
let dir = "";
const events: string[] = [];

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "swl-ssh-"));
  fs.writeFileSync(path.join(dir, "id"), userKey.privateKey, { mode: 0o600 });
  server = new Server({ hostKeys: [hostKey.privateKey] }, (client) => {
    client.on("authentication", (ctx) => (ctx.method === "publickey" ? ctx.accept() : ctx.reject(["publickey"])));
    client.on("ready", () => {
      events.push("connected");
      client.on("session", (accept) => {
        accept().on("exec", (acceptExec, _reject, info) => {
          const stream = acceptExec();
          let stdin = "";
          stream.on("data", (d: Buffer) => (stdin += d.toString()));
          stream.on("end", () => {
            events.push(`exec ${info.command}`);
            stream.write(`got ${stdin.length} bytes\n`);
            stream.exit(0);
            stream.end();
          });
        });
      });
    });
    client.on("close", () => events.push("closed"));
    client.on("error", () => undefined);
  });
  port = await new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)));
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  fs.rmSync(dir, { recursive: true, force: true });
});

const host: InventoryHost = { name: "docker0", hostname: "docker0.local", address: "127.0.0.1", role: "manager" };
const until = async (cond: () => boolean): Promise<void> => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 25));
  expect(cond()).toBe(true);
};

describe("SshTransport.warm", () => {
  it("connects ahead; the next run() on that host uses that connection (one connection, one session)", async () => {
    events.length = 0;
    const t = new SshTransport({ user: "root", sshKeyFile: path.join(dir, "id"), port });
    t.warm(host);
    await until(() => events.includes("connected"));
    expect(t.sessions).toBe(0);
    const res = await t.run(host, "echo hi", () => undefined, () => undefined);
    expect(res).toMatchObject({ code: 0, stdout: "got 7 bytes\n" });
    expect(t.sessions).toBe(1);
    expect(events.filter((e) => e === "connected")).toHaveLength(1);
    expect(events).toContain("exec bash -s");
    // A second run opens a connection of its own: the early one was used up.
    await t.run(host, "x", () => undefined, () => undefined);
    expect(events.filter((e) => e === "connected")).toHaveLength(2);
    t.dispose();
  });

  it("dispose() closes a connection no run() took", async () => {
    events.length = 0;
    const t = new SshTransport({ user: "root", sshKeyFile: path.join(dir, "id"), port });
    t.warm(host);
    await until(() => events.includes("connected"));
    t.dispose();
    await until(() => events.includes("closed"));
    expect(t.sessions).toBe(0);
  });

  it("a warm connection that failed fails the run() that takes it, with the connection's error", async () => {
    const t = new SshTransport({ user: "root", sshKeyFile: path.join(dir, "missing-key"), port });
    t.warm(host);
    await expect(t.run(host, "x", () => undefined, () => undefined)).rejects.toThrow(/privateKeyPath does not exist/);
    expect(t.sessions).toBe(0);
  });
});
