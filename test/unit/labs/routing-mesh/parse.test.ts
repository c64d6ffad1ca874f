import { describe, expect, it } from "vitest";
import { parseHttpAnswer, parseIpVs, parseMarkRules, parseServicePorts, parseVxlanCapture, requestOf } from "../../../../labs/routing-mesh/parse";
import { section, TASKS, traffic } from "./fixture";

const live = traffic();

describe("routing-mesh parsers on the live recording", () => {
  it("reads an HTTP answer: status and the replica's hostname", () => {
    expect(parseHttpAnswer(section(live, "get/192.168.122.10/5100").output)).toEqual({ status: 200, hostname: TASKS.web });
    expect(parseHttpAnswer("HTTP/1.1 200 OK\r\nA: b\r\n\r\nhost1\r\n")).toEqual({ status: 200, hostname: "host1" });
    expect(parseHttpAnswer("HTTP/1.0 404 Not Found\n\n")).toEqual({ status: 404 });
    expect(() => parseHttpAnswer("<html>")).toThrow(/not an HTTP answer/);
  });

  it("tells an answer, a refused connection and a timeout apart", () => {
    expect(requestOf(section(live, "get/192.168.122.10/5101"))).toEqual({ kind: "answered", answer: { status: 200, hostname: TASKS.webhost } });
    expect(requestOf(section(live, "get/192.168.122.11/5101"))).toEqual({ kind: "refused", detail: "connection refused" });
    expect(requestOf({ key: "k", rc: 124, output: "" })).toEqual({ kind: "failed", detail: "no answer within the request's timeout" });
    expect(requestOf({ key: "k", rc: 1, output: "", stderr: "rm_get: connect: No route to host\n" })).toEqual({ kind: "failed", detail: "exit code 1: rm_get: connect: No route to host" });
    expect(requestOf({ key: "k", rc: 0, output: "garbage" }).kind).toBe("failed");
  });

  it("reads the published ports of each service", () => {
    const ports = parseServicePorts(section(live, "services").output);
    expect([...ports.keys()]).toEqual(["web-h", "webhost-h", "web2-h"]);
    expect(ports.get("webhost-h")).toEqual([{ protocol: "tcp", target: 80, published: 5101, mode: "host" }]);
    expect(ports.get("web-h")![0]!.mode).toBe("ingress");
    expect(parseServicePorts("svc null\n").get("svc")).toEqual([]);
    expect(() => parseServicePorts("svc {not json")).toThrow(/not JSON/);
  });

  it("reads the ingress_sbox's MARK rules", () => {
    const marks = parseMarkRules(section(live, "mangle").output);
    expect(marks).toHaveLength(4);
    expect(marks[0]).toMatchObject({ chain: "PREROUTING", protocol: "tcp", dport: 5100, mark: 0x105 });
    expect(marks[2]).toMatchObject({ chain: "INPUT", destination: "10.255.0.9/32", mark: 0x105 });
    expect(marks[2]!.dport).toBeUndefined();
  });

  it("reads /proc/net/ip_vs: firewall-mark services and their real servers", () => {
    const ipvs = parseIpVs(section(live, "ipvs").output);
    expect(ipvs.map((s) => [s.protocol, s.fwmark, s.scheduler, s.reals.map((r) => r.address)])).toEqual([
      ["FWM", 0x105, "rr", ["10.255.0.10"]],
      ["FWM", 0x106, "rr", ["10.255.0.13", "10.255.0.12"]],
    ]);
    expect(ipvs[0]!.reals[0]).toMatchObject({ port: 0, forward: "Masq", weight: 1 });
    expect(parseIpVs("IP Virtual Server version 1.2.1 (size=4096)\nProt LocalAddress:Port Scheduler Flags\n  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\nTCP  0AFF0004:1388 rr\n  -> 0AFF0006:0050      Masq    1      0          0\n")).toEqual([
      { protocol: "TCP", address: "10.255.0.4", port: 5000, scheduler: "rr", reals: [{ address: "10.255.0.6", port: 80, forward: "Masq", weight: 1, active: 0, inactive: 0 }] },
    ]);
    expect(() => parseIpVs("nothing")).toThrow(/unexpected first line/);
    expect(() => parseIpVs("IP Virtual Server version 1.2.1\n  -> 0AFF0006:0000 Masq 1 0 0\n")).toThrow(/before any service/);
  });

  it("reads a VXLAN capture: outer header, VNI and the inner packet", () => {
    const packets = parseVxlanCapture(section(live, "capture").output);
    expect(packets).toHaveLength(4);
    for (const p of packets) {
      expect(p).toMatchObject({ src: "192.168.122.10", dst: "192.168.122.11", dstPort: 4789, vni: 4096 });
      expect(p.inner).toMatchObject({ src: "10.255.0.2", dst: "10.255.0.10", dstPort: 5100 });
    }
    const arp = parseVxlanCapture("12:00:00.000000 IP 192.168.122.10.1 > 192.168.122.11.4789: VXLAN, flags [I] (0x08), vni 4097\nARP, Request who-has 10.0.0.2 tell 10.0.0.1, length 28\n");
    expect(arp).toEqual([{ src: "192.168.122.10", dst: "192.168.122.11", dstPort: 4789, vni: 4097 }]);
  });
});
