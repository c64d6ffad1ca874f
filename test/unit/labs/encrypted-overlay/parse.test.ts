import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { parsePing, parseTcpdump, parseXfrmState, tcpdumpStatus, UNREDACTED_KEY } from "../../../../labs/encrypted-overlay/parse";
import { REDACT_BASH } from "../../../../labs/encrypted-overlay/probe";

const FIX = path.join(__dirname, "../../../fixtures/labs/encrypted-overlay");
const fixture = (name: string) => fs.readFileSync(path.join(FIX, name), "utf8");

describe("tcpdump summaries (captured on the live lab)", () => {
  it("reads ESP packets with their SPIs", () => {
    const c = parseTcpdump(fixture("tcpdump-esp.txt"));
    expect(c.unparsed).toEqual([]);
    expect(c.packets).toHaveLength(8);
    expect(c.packets.every((p) => p.proto === "esp" && p.inner.length === 0)).toBe(true);
    expect(c.packets[0]).toMatchObject({ src: "192.168.122.10", dst: "192.168.122.11", spi: "0x21db71de" });
    expect(c.packets[1]).toMatchObject({ src: "192.168.122.11", dst: "192.168.122.10", spi: "0xf06094ea" });
    expect(c.packets[0]!.sport).toBeUndefined();
  });

  it("reads VXLAN packets with their VNI, ports and the inner ICMP", () => {
    const c = parseTcpdump(fixture("tcpdump-vxlan.txt"));
    expect(c.unparsed).toEqual([]);
    expect(c.packets).toHaveLength(8);
    expect(c.packets[0]).toMatchObject({ proto: "udp", src: "192.168.122.10", sport: 60205, dst: "192.168.122.11", dport: 4789, vni: 4099 });
    expect(c.packets[0]!.inner).toEqual([{ src: "10.21.1.3", dst: "10.21.1.4", icmp: "echo request", text: "IP 10.21.1.3 > 10.21.1.4: ICMP echo request, id 8, seq 1, length 64" }]);
    expect(c.packets[1]!.inner[0]).toMatchObject({ src: "10.21.1.4", dst: "10.21.1.3", icmp: "echo reply" });
  });

  it("keeps UDP without VXLAN decoding, other lines as unparsed", () => {
    const c = parseTcpdump("00:00:01.000000 IP 192.168.122.10.1234 > 192.168.122.11.4789: UDP, length 50\ngarbage\n");
    expect(c.packets[0]).toMatchObject({ proto: "udp", dport: 4789 });
    expect(c.packets[0]!.vni).toBeUndefined();
    expect(c.packets[0]!.inner[0]!.text).toBe("garbage");
    expect(parseTcpdump("garbage\n").unparsed).toEqual(["garbage"]);
  });

  it("reads tcpdump's stderr", () => {
    expect(tcpdumpStatus(fixture("tcpdump-esp.stderr.txt"))).toEqual({ listening: true, captured: 8, dropped: 0 });
    expect(tcpdumpStatus("tcpdump: ens9: No such device exists\n")).toEqual({ listening: false });
    expect(tcpdumpStatus(undefined)).toEqual({ listening: false });
  });
});

describe("ping", () => {
  it("reads iputils' summary", () => {
    expect(parsePing(fixture("ping-encrypted.txt"))).toEqual({ target: "10.21.0.4", transmitted: 4, received: 4 });
  });
  it("reads a ping with no answer, busybox's wording, and nothing", () => {
    expect(parsePing("PING 10.20.0.4 (10.20.0.4) 56(84) bytes of data.\n\n--- 10.20.0.4 ping statistics ---\n4 packets transmitted, 0 received, 100% packet loss, time 3070ms\n")).toEqual({ target: "10.20.0.4", transmitted: 4, received: 0 });
    expect(parsePing("PING 10.0.0.4 (10.0.0.4): 56 data bytes\n\n--- 10.0.0.4 ping statistics ---\n4 packets transmitted, 3 packets received, 25% packet loss\n")).toEqual({ target: "10.0.0.4", transmitted: 4, received: 3 });
    expect(parsePing("nsenter: cannot open /var/run/docker/netns/x: No such file or directory\n")).toBeUndefined();
  });
});

describe("ip xfrm state (redacted in the guest)", () => {
  it("reads the SAs of both hosts", () => {
    const sas = parseXfrmState(fixture("xfrm-state-docker0.txt"));
    expect(sas).toHaveLength(4);
    expect(sas.every((s) => s.proto === "esp" && s.mode === "transport" && s.aead === "rfc4106(gcm(aes))" && s.keysRedacted)).toBe(true);
    expect(sas.filter((s) => s.src === "192.168.122.10" && s.dst === "192.168.122.11").map((s) => s.spi)).toEqual(["0x21db71de"]);
    expect(sas.filter((s) => s.src === "192.168.122.11").map((s) => s.spi)).toEqual(["0x4b7224b1", "0x568112b3", "0xf06094ea"]);
    // docker1 holds the SA whose SPI its ESP to docker0 carried on the wire.
    const d1 = parseXfrmState(fixture("xfrm-state-docker1.txt"));
    expect(d1.find((s) => s.spi === "0xf06094ea")).toMatchObject({ src: "192.168.122.11", dst: "192.168.122.10" });
  });

  it("notices a key that is not redacted and other algorithms", () => {
    const sas = parseXfrmState("src 1.1.1.1 dst 2.2.2.2\n\tproto esp spi 0x00000001 reqid 1 mode transport\n\tauth-trunc hmac(sha256) 0x0011223344556677 128\n\tenc cbc(aes) <redacted>\n");
    expect(sas).toEqual([{ src: "1.1.1.1", dst: "2.2.2.2", proto: "esp", spi: "0x00000001", mode: "transport", auth: "hmac(sha256)", enc: "cbc(aes)", keysRedacted: false }]);
    expect(parseXfrmState("")).toEqual([]);
  });
});

describe("the probe's redaction (eo_redact, run in bash)", () => {
  // The live output with made-up keys where the guest had its real ones, and other algorithms' key lines.
  const FAKE_KEY = "0x0123456789abcdef0123456789abcdef01234567";
  const withKeys = `${fixture("xfrm-state-docker0.txt").replace(/<redacted>/g, FAKE_KEY)}src 192.168.122.10 dst 192.168.122.11
\tproto esp spi 0x0000abcd reqid 1 mode transport
\tauth-trunc hmac(sha256) 0xfeedfacefeedfacefeedfacefeedface 128
\tenc cbc(aes) 0xdeadbeefdeadbeefdeadbeefdeadbeef
`;
  const redact = (text: string) => spawnSync("bash", ["-c", `${REDACT_BASH}eo_redact`], { input: text, encoding: "utf8" });

  it("replaces every key and keeps the SPIs", () => {
    expect(withKeys).toContain(FAKE_KEY);
    const r = redact(withKeys);
    expect(r.status).toBe(0);
    expect(r.stdout).not.toMatch(UNREDACTED_KEY);
    expect(r.stdout).not.toContain("0123456789abcdef");
    expect(r.stdout).toContain("aead rfc4106(gcm(aes)) <redacted> 64");
    expect(r.stdout).toContain("auth-trunc hmac(sha256) <redacted> 128");
    expect(r.stdout).toContain("enc cbc(aes) <redacted>");
    const sas = parseXfrmState(r.stdout);
    expect(sas.map((s) => s.spi)).toEqual(["0x4b7224b1", "0x568112b3", "0x21db71de", "0xf06094ea", "0x0000abcd"]);
    expect(sas.every((s) => s.keysRedacted)).toBe(true);
  });

  it("leaves the live (already redacted) output as it is", () => {
    expect(redact(fixture("xfrm-state-docker0.txt")).stdout).toBe(fixture("xfrm-state-docker0.txt"));
  });

  it("removes a long hex number wherever it is", () => {
    expect(redact("something 0x00112233445566778899 else\n").stdout).toBe("something <redacted> else\n");
  });
});
