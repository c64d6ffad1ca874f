/** fetchToCache against local HTTP servers on 127.0.0.1 that misbehave in the ways networks do. */
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import type { AddressInfo } from "net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { downloadLimits, fetchToCache, nextRedirect } from "../../../../infra/libvirt/provider";

const ENV = ["SWARMLAB_CACHE", "SWARMLAB_DOWNLOAD_IDLE_TIMEOUT", "SWARMLAB_DOWNLOAD_TIMEOUT"];
let cache = "";
const saved: Record<string, string | undefined> = {};
const closers: (() => Promise<void>)[] = [];

beforeEach(() => {
  for (const k of ENV) saved[k] = process.env[k];
  cache = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-dl-"));
  process.env.SWARMLAB_CACHE = cache;
  delete process.env.SWARMLAB_DOWNLOAD_IDLE_TIMEOUT;
  delete process.env.SWARMLAB_DOWNLOAD_TIMEOUT;
});
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  for (const k of ENV) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  fs.rmSync(cache, { recursive: true, force: true });
});

/** Files in the download cache (part files included). */
const cached = () => fs.readdirSync(path.join(cache, "downloads"));

async function httpServer(handler: http.RequestListener): Promise<{ url: string; hits: () => number }> {
  let hits = 0;
  const server = http.createServer((req, res) => {
    hits++;
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits: () => hits };
}

/** A server speaking raw HTTP/1.1, for responses Node's http server would not send. */
async function rawServer(onConnection: (socket: net.Socket) => void): Promise<string> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => undefined);
    s.once("data", () => onConnection(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  closers.push(
    () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const body = Buffer.from(Array.from({ length: 100_000 }, (_, i) => i % 251));

describe("nextRedirect (the redirect policy)", () => {
  it("resolves relative locations and follows http and https", () => {
    expect(nextRedirect("http://a.example/x/img", "/y/img2", 0)).toBe("http://a.example/y/img2");
    expect(nextRedirect("http://a.example/x/img", "img2", 0)).toBe("http://a.example/x/img2");
    expect(nextRedirect("http://a.example/img", "http://b.example/img", 4)).toBe("http://b.example/img");
    expect(nextRedirect("http://a.example/img", "https://b.example/img", 0)).toBe("https://b.example/img");
    expect(nextRedirect("https://a.example/img", "https://b.example/img", 0)).toBe("https://b.example/img");
  });
  it("refuses https to http, other schemes, and a 6th redirect", () => {
    expect(() => nextRedirect("https://a.example/img", "http://b.example/img", 0)).toThrow(
      "refusing a redirect from https to plain http (https://a.example/img -> http://b.example/img)",
    );
    expect(() => nextRedirect("https://a.example/img", "//b.example/img", 0)).not.toThrow();
    expect(() => nextRedirect("http://a.example/img", "file:///etc/passwd", 0)).toThrow(/refusing a redirect to file:/);
    expect(() => nextRedirect("http://a.example/img", "http://b.example/img", 5)).toThrow("more than 5 redirects");
  });
});

describe("downloadLimits", () => {
  it("defaults to 30 s idle and 60 min in total, and reads both from the environment", () => {
    expect(downloadLimits({})).toEqual({ idleMs: 30_000, totalMs: 3_600_000 });
    expect(downloadLimits({ SWARMLAB_DOWNLOAD_IDLE_TIMEOUT: "2.5", SWARMLAB_DOWNLOAD_TIMEOUT: "600" })).toEqual({ idleMs: 2500, totalMs: 600_000 });
    expect(() => downloadLimits({ SWARMLAB_DOWNLOAD_TIMEOUT: "soon" })).toThrow('SWARMLAB_DOWNLOAD_TIMEOUT="soon" is not a positive number of seconds');
    expect(() => downloadLimits({ SWARMLAB_DOWNLOAD_IDLE_TIMEOUT: "0" })).toThrow(/SWARMLAB_DOWNLOAD_IDLE_TIMEOUT/);
  });
});

describe("fetchToCache", () => {
  it("downloads once, checks the length, and serves the cached file afterwards", async () => {
    const s = await httpServer((_req, res) => {
      res.writeHead(200, { "content-length": body.length });
      res.end(body);
    });
    const file = await fetchToCache(`${s.url}/images/base.qcow2`);
    expect(path.basename(file)).toMatch(/^[0-9a-f]{16}-base\.qcow2$/);
    expect(fs.readFileSync(file).equals(body)).toBe(true);
    expect(await fetchToCache(`${s.url}/images/base.qcow2`)).toBe(file);
    expect(s.hits()).toBe(1);
    expect(cached()).toEqual([path.basename(file)]);
  });

  it("follows up to 5 http redirects", async () => {
    const s = await httpServer((req, res) => {
      const n = Number(/\/r(\d+)/.exec(req.url ?? "")?.[1] ?? 0);
      if (n < 5) {
        res.writeHead(302, { location: `/r${n + 1}` });
        res.end();
      } else {
        res.writeHead(200);
        res.end(body);
      }
    });
    const file = await fetchToCache(`${s.url}/r0`);
    expect(fs.readFileSync(file).equals(body)).toBe(true);
    expect(s.hits()).toBe(6);
  });

  it("gives up after 5 redirects", async () => {
    const s = await httpServer((req, res) => {
      res.writeHead(301, { location: `${req.url}x` });
      res.end();
    });
    await expect(fetchToCache(`${s.url}/loop`)).rejects.toThrow(
      new RegExp(`^download of ${s.url}/loop \\(redirected to ${s.url}/loopxxxxx\\) failed: more than 5 redirects`),
    );
    expect(s.hits()).toBe(6);
    expect(cached()).toEqual([]);
  });

  it("names the URL and the HTTP status of a failed request", async () => {
    const s = await httpServer((_req, res) => {
      res.writeHead(404, "Not Found");
      res.end("no such image");
    });
    await expect(fetchToCache(`${s.url}/gone.img`)).rejects.toThrow(`download of ${s.url}/gone.img failed: HTTP 404 Not Found`);
    expect(cached()).toEqual([]);
  });

  it("fails, and removes the part file, when the server stops in the middle of the body", async () => {
    const url = await rawServer((s) => {
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
      s.write(body.subarray(0, 30_000), () => setTimeout(() => s.destroy(), 50));
    });
    await expect(fetchToCache(`${url}/img`)).rejects.toThrow(
      new RegExp(`^download of ${url}/img failed: the connection broke after \\d+ of ${body.length} bytes`),
    );
    expect(cached()).toEqual([]);
  });

  it("fails on a body shorter than its Content-Length", async () => {
    const url = await rawServer((s) => {
      s.end(`HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nConnection: close\r\n\r\n0123456789`);
    });
    await expect(fetchToCache(`${url}/img`)).rejects.toThrow(/failed: the connection broke after 10 of 1000 bytes/);
    expect(cached()).toEqual([]);
  });

  it("times out when the server goes silent after the headers", async () => {
    process.env.SWARMLAB_DOWNLOAD_IDLE_TIMEOUT = "0.3";
    const url = await rawServer((s) => {
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
      s.write(body.subarray(0, 1000));
    });
    const t0 = Date.now();
    await expect(fetchToCache(`${url}/img`)).rejects.toThrow(
      new RegExp(`^download of ${url}/img failed: no data for 0.3 s after 1000 of ${body.length} bytes \\(SWARMLAB_DOWNLOAD_IDLE_TIMEOUT\\)`),
    );
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(cached()).toEqual([]);
  });

  it("times out when the server never answers", async () => {
    process.env.SWARMLAB_DOWNLOAD_IDLE_TIMEOUT = "0.3";
    const url = await rawServer(() => undefined);
    await expect(fetchToCache(`${url}/img`)).rejects.toThrow(`download of ${url}/img failed: no data for 0.3 s (SWARMLAB_DOWNLOAD_IDLE_TIMEOUT)`);
    expect(cached()).toEqual([]);
  });

  it("times out in total even while data trickles in", async () => {
    process.env.SWARMLAB_DOWNLOAD_TIMEOUT = "0.6";
    let timer: NodeJS.Timeout | undefined;
    const url = await rawServer((s) => {
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`);
      timer = setInterval(() => s.writable && s.write("x"), 50);
      s.on("close", () => clearInterval(timer));
    });
    closers.push(async () => clearInterval(timer));
    const t0 = Date.now();
    await expect(fetchToCache(`${url}/img`)).rejects.toThrow(
      new RegExp(`failed: not finished within 0.6 s after \\d+ of ${body.length} bytes \\(SWARMLAB_DOWNLOAD_TIMEOUT\\)`),
    );
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(cached()).toEqual([]);
  });

  it("fails clearly when nothing listens", async () => {
    const url = await rawServer(() => undefined);
    await closers.pop()!();
    await expect(fetchToCache(`${url}/img`)).rejects.toThrow(new RegExp(`^download of ${url}/img failed: .*ECONNREFUSED`));
    expect(cached()).toEqual([]);
  });
});
