import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { parseDockerPort, parseHttpAnswer, parseNslookup, parsePing } from "../../../../labs/bridge/parse";

const FIX = path.join(__dirname, "../../../fixtures/labs/bridge");
const fx = (name: string): string => fs.readFileSync(path.join(FIX, name), "utf8");

describe("bridge probe parsers, on outputs of the live lab", () => {
  it("docker port: the IPv4 and IPv6 bindings", () => {
    expect(parseDockerPort(fx("docker-port-web.txt"))).toEqual([
      { containerPort: 80, proto: "tcp", hostIp: "0.0.0.0", hostPort: 5000 },
      { containerPort: 80, proto: "tcp", hostIp: "::", hostPort: 5000 },
    ]);
    expect(parseDockerPort("")).toEqual([]);
    expect(() => parseDockerPort("Error: No such container: web\n")).toThrow(/port/);
  });

  it("ping by name: the address it resolved to and the answers", () => {
    expect(parsePing(fx("c2-ping-c1.txt"))).toEqual({ address: "172.19.0.2", transmitted: 1, received: 1 });
    expect(parsePing(fx("c3-ping-c1.txt"))).toEqual({ error: "bad address 'c1'" });
    expect(parsePing(fx("c3-ping-c1-address.txt"))).toEqual({ address: "172.19.0.2", transmitted: 1, received: 0 });
    // iputils' wording
    expect(parsePing("PING c1 (172.19.0.2) 56(84) bytes of data.\n1 packets transmitted, 1 received, 0% packet loss, time 0ms\n")).toEqual({ address: "172.19.0.2", transmitted: 1, received: 1 });
  });

  it("nslookup: an answer from the embedded DNS, a name failure, no server", () => {
    expect(parseNslookup(fx("c2-nslookup-c1-server.txt"))).toEqual({ server: "127.0.0.11", answers: ["172.19.0.2"] });
    expect(parseNslookup(fx("c3-nslookup-c1.txt"))).toEqual({ server: "192.168.122.1", answers: [], nameFailure: "** server can't find c1: REFUSED" });
    const none = parseNslookup(fx("c3-nslookup-c1-embedded-dns.txt"));
    expect(none.answers).toEqual([]);
    expect(none.nameFailure).toBeUndefined();
    expect(none.noServer).toBe(";; connection timed out; no servers could be reached");
    // older busybox (alpine 3.x) numbers its addresses
    expect(parseNslookup("Server:    127.0.0.11\nAddress 1: 127.0.0.11\n\nName:      c1\nAddress 1: 172.20.0.2 c1.localnet\n").answers).toEqual(["172.20.0.2"]);
  });

  it("an HTTP answer: status and body", () => {
    const a = parseHttpAnswer("HTTP/1.0 200 OK\r\nContent-type: text/html\r\nContent-Length: 13\r\n\r\nweb 85b18e7889a0\n");
    expect(a).toEqual({ status: 200, statusLine: "HTTP/1.0 200 OK", body: "web 85b18e7889a0\n" });
    expect(parseHttpAnswer("")).toBeUndefined();
    expect(() => parseHttpAnswer("SSH-2.0-OpenSSH_9.2\r\n")).toThrow(/HTTP status line/);
  });
});
