import { describe, expect, it } from "vitest";
import { ParseError } from "../../../scripts/lib/verify/errors";
import { parseIpLinkJson, parseIpLinks, parseIpLinkText, parseIpRouteJson, parseIpRoutes, parseIpRouteText } from "../../../scripts/lib/verify/parse/ip";
import { liveSection, seedOutput } from "./helpers";

const byName = <T extends { name: string }>(xs: T[], name: string): T => {
  const x = xs.find((i) => i.name === name);
  if (!x) throw new Error(`no ${name}`);
  return x;
};

describe("ip link/addr text, seed transcripts (CentOS 7, iproute 3.10)", () => {
  it("parses the task sandbox addresses, incl. the VIP 192.168.200.2/32 on eth0 (000)", () => {
    const links = parseIpLinkText(seedOutput("seed-000", "ip-addr@sandbox"), "nsenter ip a");
    expect(links.map((l) => l.name)).toEqual(["lo", "eth0", "eth1"]);
    const eth0 = byName(links, "eth0");
    expect(eth0).toMatchObject({ ifindex: 18, linkIndex: 19, linkNetnsid: 0, mtu: 1450, operstate: "UP", mac: "02:42:c0:a8:c8:03" });
    expect(eth0.addresses.map((a) => `${a.local}/${a.prefixlen}`)).toEqual(["192.168.200.3/24", "192.168.200.2/32"]);
    expect(eth0.addresses[1]).toMatchObject({ family: "inet", scope: "global", label: "eth0" });
    const eth1 = byName(links, "eth1");
    expect(eth1).toMatchObject({ ifindex: 20, linkIndex: 21, linkNetnsid: 1, mtu: 1500 });
    expect(eth1.addresses.map((a) => `${a.local}/${a.prefixlen}`)).toEqual(["172.18.0.3/16"]);
  });

  it("parses busybox `docker exec ... ip a` (flags with M-DOWN, no link-netnsid)", () => {
    const links = parseIpLinkText(seedOutput("seed-000", "exec-ip-addr"));
    const eth0 = byName(links, "eth0");
    expect(eth0.flags).toEqual(["BROADCAST", "MULTICAST", "UP", "LOWER_UP", "M-DOWN"]);
    expect(eth0.linkNetnsid).toBeUndefined();
    expect(eth0.linkIndex).toBe(19);
  });

  it("parses the overlay namespace of 000: br0, vxlan0 master br0, veth0@if18", () => {
    const links = parseIpLinkText(seedOutput("seed-000", "ip-link@overlay"));
    expect(links.map((l) => `${l.ifindex}:${l.name}`)).toEqual(["1:lo", "2:br0", "17:vxlan0", "19:veth0"]);
    expect(byName(links, "br0")).toMatchObject({ mtu: 1450, mac: "1a:30:c5:15:42:54" });
    expect(byName(links, "vxlan0")).toMatchObject({ master: "br0", operstate: "UNKNOWN", linkNetnsid: 0, mtu: 1450 });
    expect(byName(links, "vxlan0").linkIndex).toBeUndefined();
    expect(byName(links, "veth0")).toMatchObject({ master: "br0", linkIndex: 18, linkNetnsid: 1, mtu: 1450 });
  });

  it("parses the host of 000: ens3 192.168.122.10/24 brd, docker0 NO-CARRIER, gwbridge veths", () => {
    const links = parseIpLinkText(seedOutput("seed-000", "ip-addr@host"));
    const ens3 = byName(links, "ens3");
    expect(ens3.addresses[0]).toMatchObject({ local: "192.168.122.10", prefixlen: 24, broadcast: "192.168.122.255", scope: "global", label: "ens3" });
    expect(ens3.addresses[1]).toMatchObject({ family: "inet6", local: "fe80::b99c:7654:5307:a3a6", prefixlen: 64, scope: "link" });
    const docker0 = byName(links, "docker0");
    expect(docker0.flags).toContain("NO-CARRIER");
    expect(docker0).toMatchObject({ operstate: "DOWN", mtu: 1500 });
    expect(docker0.addresses[0]).toMatchObject({ local: "172.17.0.1", prefixlen: 16 });
    expect(byName(links, "veth0c4d246")).toMatchObject({ ifindex: 21, linkIndex: 20, master: "docker_gwbridge", linkNetnsid: 3 });
    expect(byName(links, "docker_gwbridge").addresses[0]).toMatchObject({ local: "172.18.0.1", prefixlen: 16 });
  });

  it("parses `ip -d link show` of 004: vxlan id 4097 dstport 4789 flags, br0 timers, veth kind", () => {
    const links = parseIpLinkText(seedOutput("seed-004", "ip-d-link@overlay"), "ip -d link show");
    const vx = byName(links, "vxlan1");
    expect(vx.kind).toBe("vxlan");
    expect(vx.slaveKind).toBe("bridge");
    expect(vx.vxlan).toEqual({ id: 4097, dstport: 4789, srcport: [0, 0], proxy: true, l2miss: true, l3miss: true, learning: true, ageing: 300 });
    const br0 = byName(links, "br0");
    expect(br0.kind).toBe("bridge");
    expect(br0.bridge).toEqual({ forwardDelay: 1500, helloTime: 200, maxAge: 2000 });
    expect(byName(links, "veth2")).toMatchObject({ kind: "veth", slaveKind: "bridge", ifindex: 19, linkIndex: 18, master: "br0" });
    expect(byName(links, "lo").kind).toBeUndefined();
  });

  it("parses the ingress sandbox of 002 (eth0 10.255.0.2/16 mtu 1450, eth1 172.18.0.2/16)", () => {
    const links = parseIpLinkText(seedOutput("seed-002", "ip-addr@ingress_sbox"));
    expect(byName(links, "eth0")).toMatchObject({ ifindex: 13, linkIndex: 14, mtu: 1450 });
    expect(byName(links, "eth0").addresses[0]).toMatchObject({ local: "10.255.0.2", prefixlen: 16 });
    expect(byName(links, "eth1").addresses[0]).toMatchObject({ local: "172.18.0.2", prefixlen: 16 });
  });
});

describe("ip link/addr/route on Debian 12 (iproute2 6.1), captured in network namespaces", () => {
  for (const mode of ["json", "text"] as const) {
    describe(`${mode} output`, () => {
      const overlayKey = "ip-link@netns/1-k3b7x2n9q4";
      it("reads br0 + vxlan0 (id 4097, dstport 4789, proxy l2miss l3miss ageing 300) + veths", () => {
        const links = parseIpLinks(liveSection(mode, "docker0", overlayKey), "ip -d link show");
        expect(links.map((l) => `${l.ifindex}:${l.name}:${l.kind}`)).toEqual(["1:lo:undefined", "2:br0:bridge", "10:vxlan0:vxlan", "12:veth0:veth", "16:veth1:veth"]);
        const vx = byName(links, "vxlan0");
        expect(vx.vxlan).toMatchObject({ id: 4097, dstport: 4789, proxy: true, l2miss: true, l3miss: true, learning: true, ageing: 300, srcport: [0, 0] });
        expect(vx).toMatchObject({ master: "br0", mtu: 1450, slaveKind: "bridge", linkNetnsid: 0 });
        expect(byName(links, "br0").bridge).toMatchObject({ forwardDelay: 1500, helloTime: 200, maxAge: 2000, ageingTime: 30000, stpState: 0 });
        expect(byName(links, "veth0")).toMatchObject({ linkIndex: 11, linkNetnsid: 1, master: "br0", mtu: 1450, operstate: "UP" });
        expect(byName(links, "veth1")).toMatchObject({ linkIndex: 15, linkNetnsid: 2, master: "br0" });
      });

      it("reads the task sandbox addresses and the veth peers", () => {
        const links = parseIpLinks(liveSection(mode, "docker0", "ip-addr@netns/5e0c1a7f3b2d"), "ip addr show");
        expect(byName(links, "eth0")).toMatchObject({ ifindex: 11, linkIndex: 12, linkNetnsid: 0, mtu: 1450, mac: "02:42:c0:a8:c8:03" });
        expect(byName(links, "eth0").addresses.filter((a) => a.family === "inet")).toEqual([expect.objectContaining({ local: "192.168.200.3", prefixlen: 24, scope: "global" })]);
        expect(byName(links, "eth1")).toMatchObject({ ifindex: 13, linkIndex: 14, linkNetnsid: 1, mtu: 1500 });
        expect(byName(links, "lo").addresses.map((a) => `${a.local}/${a.prefixlen}`)).toEqual(["127.0.0.1/8", "::1/128"]);
      });

      it("reads the lb_ namespace with the VIP 192.168.200.2/32", () => {
        const links = parseIpLinks(liveSection(mode, "docker0", "ip-addr@netns/lb_k3b7x2n9q"), "ip addr show");
        expect(byName(links, "eth0").addresses.filter((a) => a.family === "inet").map((a) => `${a.local}/${a.prefixlen}`)).toEqual(["192.168.200.5/24", "192.168.200.2/32"]);
      });

      it("reads the host: docker0 NO-CARRIER 172.17.0.1/16, physical-like enp1s0, gwbridge members", () => {
        const links = parseIpLinks(liveSection(mode, "docker0", "ip-link@host"), "ip -d link show");
        const docker0 = byName(links, "docker0");
        expect(docker0.flags).toContain("NO-CARRIER");
        expect(docker0.kind).toBe("bridge");
        expect(byName(links, "veth9f04b6d")).toMatchObject({ master: "docker_gwbridge", linkIndex: 13, kind: "veth", slaveKind: "bridge" });
        const addrs = parseIpLinks(liveSection(mode, "docker0", "ip-addr@host"), "ip addr show");
        expect(byName(addrs, "enp1s0").addresses[0]).toMatchObject({ local: "192.168.122.10", prefixlen: 24, broadcast: "192.168.122.255" });
        expect(byName(addrs, "docker0").addresses[0]).toMatchObject({ local: "172.17.0.1", prefixlen: 16 });
      });

      it("reads the task routes", () => {
        const routes = parseIpRoutes(liveSection(mode, "docker0", "ip-route@netns/5e0c1a7f3b2d"), "ip route show");
        expect(routes).toEqual([
          expect.objectContaining({ dst: "default", gateway: "172.18.0.1", dev: "eth1" }),
          expect.objectContaining({ dst: "172.18.0.0/16", dev: "eth1", protocol: "kernel", scope: "link", prefsrc: "172.18.0.3" }),
          expect.objectContaining({ dst: "192.168.200.0/24", dev: "eth0", protocol: "kernel", scope: "link", prefsrc: "192.168.200.3" }),
        ]);
      });
    });
  }

  it("JSON and text give the same interfaces, peers and addresses", () => {
    for (const key of ["ip-addr@host", "ip-addr@netns/1-k3b7x2n9q4", "ip-addr@netns/ingress_sbox", "ip-addr@netns/9b41d6e2c07a"]) {
      const sig = (mode: "json" | "text"): string[] =>
        parseIpLinks(liveSection(mode, "docker1", key), key).map(
          (l) => `${l.ifindex}:${l.name}:${l.mtu}:${l.linkIndex ?? "-"}:${l.linkNetnsid ?? "-"}:${l.master ?? "-"}:${l.addresses.map((a) => `${a.local}/${a.prefixlen}`).join("+")}`,
        );
      expect(sig("text")).toEqual(sig("json"));
    }
  });
});

describe("ip route text from the seeds", () => {
  it("parses the task routes of 000 (double spaces, no proto)", () => {
    expect(parseIpRouteText(seedOutput("seed-000", "exec-ip-route"))).toEqual([
      { dst: "default", gateway: "172.18.0.1", dev: "eth1", flags: [] },
      { dst: "172.18.0.0/16", dev: "eth1", prefsrc: "172.18.0.3", flags: [] },
      { dst: "192.168.200.0/24", dev: "eth0", prefsrc: "192.168.200.3", flags: [] },
    ]);
  });
  it("parses route types, metrics and flags", () => {
    const r = parseIpRouteText("default via 10.0.0.1 dev eth0 proto dhcp src 10.0.0.5 metric 100 onlink\nlocal 10.0.0.5 dev eth0 table local proto kernel scope host src 10.0.0.5\n");
    expect(r[0]).toEqual({ dst: "default", gateway: "10.0.0.1", dev: "eth0", protocol: "dhcp", prefsrc: "10.0.0.5", metric: 100, flags: ["onlink"] });
    expect(r[1]).toMatchObject({ type: "local", dst: "10.0.0.5", table: "local", scope: "host" });
  });
});

describe("garbage, truncated and empty ip output", () => {
  const expectParseError = (fn: () => unknown, command: string, lineNumber: number | undefined, pattern: RegExp): void => {
    let err: unknown;
    try {
      fn();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ParseError);
    const pe = err as ParseError;
    expect(pe.command).toBe(command);
    if (lineNumber !== undefined) expect(pe.lineNumber).toBe(lineNumber);
    expect(pe.message).toMatch(pattern);
  };

  it("rejects empty link output", () => {
    expectParseError(() => parseIpLinkText("", "ip link show"), "ip link show", 0, /empty output/);
    expectParseError(() => parseIpLinkText("\n  \n", "ip link show"), "ip link show", 0, /empty output/);
    expectParseError(() => parseIpLinkJson("", "ip -j link show"), "ip -j link show", 0, /empty output/);
    expectParseError(() => parseIpLinkJson("[]", "ip -j link show"), "ip -j link show", 0, /no interfaces/);
  });

  it("names the offending line of garbage", () => {
    const text = `${seedOutput("seed-000", "ip-link@sandbox")}Error: Peer netns reference is invalid.\n`;
    expectParseError(() => parseIpLinkText(text, "ip link show"), "ip link show", 7, /unrecognised line.*Peer netns/);
    expectParseError(() => parseIpLinkText("hello world\n", "ip link show"), "ip link show", 1, /"hello world"/);
  });

  it("detects output cut inside a header or before an interface's link/ line", () => {
    const full = seedOutput("seed-000", "ip-link@overlay");
    const cutHeader = full.slice(0, full.indexOf("<BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue master br0") + 20);
    expectParseError(() => parseIpLinkText(cutHeader, "ip link show"), "ip link show", undefined, /unrecognised line/);
    const lines = full.split("\n");
    const cutAfterHeader = lines.slice(0, 7).join("\n") + "\n"; // ends on "19: veth0@if18: ..." without its link/ line
    expectParseError(() => parseIpLinkText(cutAfterHeader, "ip link show"), "ip link show", undefined, /veth0 has no link\/ line/);
  });

  it("rejects truncated JSON with the line it stopped on", () => {
    const json = liveSection("json", "docker0", "ip-link@netns/5e0c1a7f3b2d");
    expectParseError(() => parseIpLinkJson(json.slice(0, Math.floor(json.length / 2)), "ip -j -d link show"), "ip -j -d link show", undefined, /invalid or truncated JSON/);
    expectParseError(() => parseIpLinkJson('{"ifindex": 1}', "ip -j link show"), "ip -j link show", undefined, /JSON array/);
    expectParseError(() => parseIpLinkJson('[{"ifname":"eth0"}]', "ip -j link show"), "ip -j link show", undefined, /entry 0 \(eth0\)\.ifindex: expected an integer/);
  });

  it("rejects bad vxlan/bridge detail lines instead of guessing", () => {
    const text = "17: vxlan1: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue master br0 state UNKNOWN\n    link/ether f6:1c:e9:9a:60:bd brd ff:ff:ff:ff:ff:ff\n    vxlan id dstport 4789\n";
    expectParseError(() => parseIpLinkText(text, "ip -d link show"), "ip -d link show", 3, /number after "vxlan id"/);
    const br = "2: br0: <BROADCAST> mtu 1450 qdisc noqueue state UP\n    link/ether 1a:34:cf:83:2c:11 brd ff:ff:ff:ff:ff:ff\n    bridge forward_delay 1500\n";
    expectParseError(() => parseIpLinkText(br, "ip -d link show"), "ip -d link show", 3, /hello_time/);
  });

  it("rejects garbage and truncated routes, but accepts an empty table when allowed", () => {
    expectParseError(() => parseIpRouteText("", "ip route show"), "ip route show", 0, /empty output/);
    expect(parseIpRouteText("", "ip route show", { allowEmpty: true })).toEqual([]);
    expectParseError(() => parseIpRouteText("default via 172.18.0.1 dev\n", "ip route show"), "ip route show", 1, /"dev" has no value/);
    expectParseError(() => parseIpRouteText("Cannot open netlink socket\n", "ip route show"), "ip route show", 1, /expected a destination/);
    expectParseError(() => parseIpRouteText("default via 172.18.0.1 frobnicate 3\n", "ip route show"), "ip route show", 1, /unknown route attribute "frobnicate"/);
    expectParseError(() => parseIpRouteJson('[{"gateway":"1.2.3.4"}]', "ip -j route show"), "ip -j route show", undefined, /route 0\.dst: expected a string, got nothing/);
  });
});

describe("VLAN sub-interfaces (ip -d link)", () => {
  it("keeps a vlan's id, protocol and the NIC it is stacked on, from JSON (Debian 12, the macvlan lab's ens3.100)", () => {
    const fs = require("fs") as typeof import("fs");
    const path = require("path") as typeof import("path");
    const text = fs.readFileSync(path.join(__dirname, "../../fixtures/labs/macvlan/ip-j-d-link-ens3.100-docker0.json"), "utf8");
    const [l] = parseIpLinkJson(text);
    expect(l!.name).toBe("ens3.100");
    expect(l!.kind).toBe("vlan");
    expect(l!.vlan).toEqual({ id: 100, protocol: "802.1Q" });
    expect(l!.linkName).toBe("ens3");
  });

  it("keeps them from text too (iproute2 without -j)", () => {
    const text = [
      "5: eth0.100@eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000",
      "    link/ether 52:54:00:28:ba:52 brd ff:ff:ff:ff:ff:ff promiscuity 0 minmtu 0 maxmtu 65535 ",
      "    vlan protocol 802.1Q id 100 <REORDER_HDR> addrgenmode eui64 numtxqueues 1 numrxqueues 1 gso_max_size 65536 gso_max_segs 65535 ",
    ].join("\n");
    const [l] = parseIpLinkText(text);
    expect(l!.kind).toBe("vlan");
    expect(l!.vlan).toEqual({ id: 100, protocol: "802.1Q" });
    expect(l!.linkName).toBe("eth0");
  });

  it("refuses a VLAN id out of range, naming it", () => {
    const bad = JSON.stringify([{ ifindex: 5, ifname: "ens3.100", flags: [], mtu: 1500, link: "ens3", linkinfo: { info_kind: "vlan", info_data: { protocol: "802.1Q", id: 5000 } } }]);
    expect(() => parseIpLinkJson(bad)).toThrow(ParseError);
    expect(() => parseIpLinkJson(bad)).toThrow(/5000/);
  });
});
