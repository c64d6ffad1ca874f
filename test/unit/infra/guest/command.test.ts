/**
 * The GuestCommand dynamic provider against a real SSH server on loopback (ssh2's server, the
 * library node-ssh is built on): dialling until the guest answers, stdin, exit codes, secrets
 * kept out of errors, and when a change re-runs the command or replaces the resource.
 */
import * as crypto from "crypto";
import * as net from "net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Server } from "ssh2";
import { guestCommandProvider, GuestCommandInputs } from "../../../../infra/guest/command";
import { loadDynamicProvider } from "../../../harness/dynamic";
import * as pulumi from "@pulumi/pulumi";

const hostKey = crypto.generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
const userKey = crypto.generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });
const otherKey = crypto.generateKeyPairSync("rsa", { modulusLength: 2048, privateKeyEncoding: { type: "pkcs1", format: "pem" }, publicKeyEncoding: { type: "spki", format: "pem" } });

/** What the fake guest saw: each command line and the stdin it was given. */
const ran: { command: string; stdin: string }[] = [];
let server: Server;
let port = 0;

/** A fake guest: `exit N` exits N; `echo-stdin` echoes its stdin; anything else prints `ran <cmd>`. */
function startServer(listenPort = 0): Promise<number> {
  server = new Server({ hostKeys: [hostKey.privateKey] }, (client) => {
    client.on("authentication", (ctx) => {
      if (ctx.method !== "publickey" || ctx.username !== "swarm") return ctx.reject(["publickey"]);
      // Accept the user's key only: compare the RSA modulus carried in the offered key blob.
      const n = Buffer.from(crypto.createPublicKey(userKey.publicKey).export({ format: "jwk" }).n!, "base64url");
      if (!(ctx.key.data).includes(n)) return ctx.reject(["publickey"]);
      ctx.accept();
    });
    client.on("ready", () => {
      client.on("session", (accept) => {
        const session = accept();
        session.on("exec", (acceptExec, _reject, info) => {
          const stream = acceptExec();
          let stdin = "";
          stream.on("data", (d: Buffer) => (stdin += d.toString()));
          const finish = () => {
            ran.push({ command: info.command, stdin });
            const m = info.command.match(/^exit (\d+)$/);
            if (m) {
              stream.write("the secret output");
              stream.stderr.write("something went wrong");
              stream.exit(Number(m[1]));
            } else if (info.command === "echo-stdin") {
              stream.write(stdin);
              stream.exit(0);
            } else {
              stream.write(`ran ${info.command}\n`);
              stream.exit(0);
            }
            stream.end();
          };
          // Commands given stdin get it before EOF; others finish at once.
          if (info.command === "echo-stdin") stream.on("end", finish);
          else finish();
        });
      });
    });
    client.on("error", () => undefined);
  });
  return new Promise((resolve) => server.listen(listenPort, "127.0.0.1", () => resolve((server.address() as net.AddressInfo).port)));
}

const inputs = (over: Partial<GuestCommandInputs> = {}): GuestCommandInputs => ({
  connection: { host: "127.0.0.1", user: "swarm", privateKey: userKey.privateKey, dialAttempts: 3, dialTimeoutSec: 5, port } as any,
  create: "make-it-so",
  triggers: ["uuid-1"],
  ...over,
});

beforeAll(async () => {
  port = await startServer();
});
afterAll(() => server?.close());

describe("GuestCommand over SSH", () => {
  it("runs the command and keeps stdout, stderr and what decides a re-run", async () => {
    const { id, outs } = await guestCommandProvider.create!(inputs());
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(outs.stdout).toBe("ran make-it-so");
    expect(outs.create).toBe("make-it-so");
    expect(outs.triggers).toEqual(["uuid-1"]);
    expect(outs.stdinSha256).toBe("");
    expect(JSON.stringify(outs)).not.toContain("PRIVATE KEY");
  });

  it("writes stdin to the command and keeps only its digest", async () => {
    const { outs } = await guestCommandProvider.create!(inputs({ create: "echo-stdin", stdin: "SWMTKN-1-abc" }));
    expect(outs.stdout).toBe("SWMTKN-1-abc");
    expect(ran.at(-1)!.stdin).toBe("SWMTKN-1-abc");
    expect(outs.stdinSha256).toBe(crypto.createHash("sha256").update("SWMTKN-1-abc").digest("hex"));
    expect(JSON.stringify({ ...outs, stdout: "" })).not.toContain("SWMTKN");
  });

  it("fails with the exit code and stderr, and hides stdout when it is a secret", async () => {
    await expect(guestCommandProvider.create!(inputs({ create: "exit 3" }))).rejects.toThrow(/exited 3[\s\S]*something went wrong[\s\S]*the secret output/);
    const err = (await guestCommandProvider.create!(inputs({ create: "exit 4", secretStdout: true })).then(() => new Error("no error"), (e) => e)) as Error;
    expect(err.message).toMatch(/exited 4[\s\S]*something went wrong/);
    expect(err.message).not.toContain("the secret output");
  });

  it("dials again until the guest answers, and gives up naming the host after the last attempt", async () => {
    const late = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, "127.0.0.1", () => {
        const p = (probe.address() as net.AddressInfo).port;
        probe.close(() => resolve(p));
      });
    });
    const first = server;
    const pending = guestCommandProvider.create!(inputs({ connection: { ...inputs().connection, port: late } as any, create: "after-boot" }));
    await new Promise((r) => setTimeout(r, 1500));
    await startServer(late);
    const { outs } = await pending;
    expect(outs.stdout).toBe("ran after-boot");
    server.close();
    server = first;
    await expect(
      guestCommandProvider.create!(inputs({ connection: { ...inputs().connection, port: late, dialAttempts: 2 } as any })),
    ).rejects.toThrow(/cannot reach swarm@127\.0\.0\.1 over SSH after 2 attempts/);
  });

  it("uses the stack's key only: a stale SSH_AUTH_SOCK changes nothing", async () => {
    const before = process.env.SSH_AUTH_SOCK;
    process.env.SSH_AUTH_SOCK = "/nonexistent/agent.sock";
    try {
      const { outs } = await guestCommandProvider.create!(inputs({ create: "with-stale-agent", connection: { ...inputs().connection, dialAttempts: 1 } as any }));
      expect(outs.stdout).toBe("ran with-stale-agent");
    } finally {
      if (before === undefined) delete process.env.SSH_AUTH_SOCK;
      else process.env.SSH_AUTH_SOCK = before;
    }
  });

  it("is refused with a key the guest does not know", async () => {
    await expect(
      guestCommandProvider.create!(inputs({ connection: { ...inputs().connection, privateKey: otherKey.privateKey, dialAttempts: 1 } as any })),
    ).rejects.toThrow(/cannot reach .* after 1 attempts: All configured authentication methods failed/);
  });

  it("works when loaded from its serialized form, as Pulumi's dynamic provider host loads it", async () => {
    // As @pulumi/pulumi's dynamic.Resource does it.
    const { text } = await pulumi.runtime.serializeFunction(() => guestCommandProvider, { allowSecrets: true });
    const p = loadDynamicProvider(text);
    const { outs } = await p.create!(inputs({ create: "serialized" }));
    expect(outs.stdout).toBe("ran serialized");
  });
});

describe("GuestCommand plans", () => {
  const olds = { host: "10.0.0.1", user: "swarm", create: "step", stdinSha256: "", triggers: ["uuid-1"], secretStdout: false, stdout: "x", stderr: "" };
  const news = (over: Partial<GuestCommandInputs> = {}) => inputs({ connection: { ...inputs().connection, host: "10.0.0.1" } as any, create: "step", ...over });

  it("no change when nothing that matters changed (a new key does not re-run a step)", async () => {
    const d = await guestCommandProvider.diff!("id", olds, news({ connection: { ...news().connection, privateKey: otherKey.privateKey } as any }));
    expect(d.changes).toBe(false);
  });

  it("a changed command or stdin is an update that runs it again", async () => {
    for (const n of [news({ create: "step v2" }), news({ stdin: "token" })]) {
      const d = await guestCommandProvider.diff!("id", olds, n);
      expect(d.changes).toBe(true);
      expect(d.replaces).toEqual([]);
    }
    const { outs } = await guestCommandProvider.update!("id", olds, inputs({ create: "step v2" }));
    expect(outs.stdout).toBe("ran step v2");
    expect(ran.at(-1)!.command).toBe("step v2");
  });

  it("changed triggers (the guest defined anew) replace it, so it runs on the new guest", async () => {
    const d = await guestCommandProvider.diff!("id", olds, news({ triggers: ["uuid-2"] }));
    expect(d.changes).toBe(true);
    expect(d.replaces).toEqual(["triggers"]);
  });

  it("a new address alone updates the record without running anything", async () => {
    const before = ran.length;
    const d = await guestCommandProvider.diff!("id", olds, news({ connection: { ...news().connection, host: "10.0.0.2" } as any }));
    expect(d.changes).toBe(true);
    expect(d.replaces).toEqual([]);
    const { outs } = await guestCommandProvider.update!("id", olds, news({ connection: { ...news().connection, host: "10.0.0.2" } as any }));
    expect(outs.host).toBe("10.0.0.2");
    expect(outs.stdout).toBe("x");
    expect(ran.length).toBe(before);
  });
});
