import { describe, expect, it } from "vitest";
import { icmpEcho, parseIpJsonDevices, parsePingSummary, parseTcpdumpFrames } from "../../../../labs/macvlan/parse";
import { fixture, sectionsOfModel, liveModel } from "./helpers";

describe("macvlan parsers on real outputs", () => {
  it("reads docker0's ens3.100 (ip -j -d link): vlan 802.1Q id 100 on ens3", () => {
    const [d] = parseIpJsonDevices(fixture("ip-j-d-link-ens3.100-docker0.json"));
    expect(d).toMatchObject({ name: "ens3.100", ifindex: 31, kind: "vlan", link: "ens3", vlanId: 100, vlanProtocol: "802.1Q", mac: "52:54:00:37:9e:71", ipv4: [] });
  });

  it("reads mactainer1's namespace (nsenter ip -j -d link): eth0 is a macvlan whose link is ifindex 31", () => {
    const devs = parseIpJsonDevices(fixture("ip-j-d-link-mactainer1-netns.json"));
    expect(devs.map((d) => d.name)).toEqual(["lo", "eth0"]);
    expect(devs[1]).toMatchObject({ kind: "macvlan", linkIndex: 31, mac: "02:42:0a:00:00:02" });
    expect(devs[1]!.vlanId).toBeUndefined();
  });

  it("reads the probe's peer-sub (ip -j -d addr) with its address", () => {
    const { model } = liveModel();
    const [d] = parseIpJsonDevices(sectionsOfModel(model)["peer-sub"]!.output);
    expect(d).toMatchObject({ name: "ens3.100", kind: "vlan", vlanId: 100, vlanProtocol: "802.1Q", link: "ens3", ipv4: [{ address: "10.0.0.200", prefixLength: 24 }] });
  });

  it("rejects what is not ip -j output", () => {
    expect(() => parseIpJsonDevices("Device \"ens3.100\" does not exist.")).toThrow(/not the JSON of ip -j/);
    expect(() => parseIpJsonDevices("{}")).toThrow(/no JSON array/);
    expect(() => parseIpJsonDevices('[{"ifname":"x"}]')).toThrow(/entry 0/);
  });

  it("reads tagged frames from tcpdump -enl, IPv6 and ARP included", () => {
    const frames = parseTcpdumpFrames(fixture("tcpdump-vlan100-docker1.txt"));
    expect(frames).toHaveLength(8);
    expect(frames.every((f) => f.vlan === 100 && f.ethertype === "802.1Q" && f.ethertypeHex === "0x8100")).toBe(true);
    expect(frames[0]!.innerType).toBe("IPv6");
    expect(frames[3]).toMatchObject({ src: "02:42:0a:00:00:02", dst: "52:54:00:28:ba:52", innerType: "ARP" });
    expect(icmpEcho(frames[4]!)).toEqual({ from: "10.0.0.200", to: "10.0.0.2", type: "request" });
    expect(icmpEcho(frames[5]!)).toEqual({ from: "10.0.0.2", to: "10.0.0.200", type: "reply" });
    expect(icmpEcho(frames[3]!)).toBeUndefined();
  });

  it("reads an untagged frame and skips tcpdump's notes", () => {
    const frames = parseTcpdumpFrames(
      "tcpdump: verbose output suppressed\n23:58:43.069113 52:54:00:28:ba:52 > 02:42:0a:00:00:02, ethertype IPv4 (0x0800), length 98: 10.0.0.200 > 10.0.0.2: ICMP echo request, id 1, seq 1, length 64\n",
    );
    expect(frames).toHaveLength(1);
    expect(frames[0]!.vlan).toBeUndefined();
    expect(frames[0]!.ethertypeHex).toBe("0x0800");
    expect(icmpEcho(frames[0]!)?.type).toBe("request");
  });

  it("reads ping's summary", () => {
    const { model } = liveModel();
    expect(parsePingSummary(sectionsOfModel(model)["ping"]!.output)).toEqual({ transmitted: 3, received: 3 });
    expect(parsePingSummary("3 packets transmitted, 0 received, +3 errors, 100% packet loss")).toEqual({ transmitted: 3, received: 0 });
    expect(parsePingSummary("ping: connect: Network is unreachable")).toBeUndefined();
  });
});
