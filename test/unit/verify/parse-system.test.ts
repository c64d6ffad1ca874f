import { describe, expect, it } from "vitest";
import { ParseError } from "../../../scripts/lib/verify/errors";
import { parseEthtoolStats, parseNetnsInodes, parseNetnsLs, parseOsRelease, parseSingleWord, parseSs } from "../../../scripts/lib/verify/parse/system";
import { liveSection, seedOutput } from "./helpers";

describe("system outputs", () => {
  it("os-release: CentOS 7 (seed) and Debian 12 (this machine)", () => {
    expect(parseOsRelease(seedOutput("seed-000", "os-release"))).toMatchObject({ id: "centos", versionId: "7", prettyName: "CentOS Linux 7 (Core)" });
    expect(parseOsRelease(liveSection("json", "docker0", "os-release"))).toMatchObject({ id: "debian", versionId: "12", prettyName: "Debian GNU/Linux 12 (bookworm)" });
  });

  it("ls -l of the docker netns directory (seeds) and plain ls (gathered)", () => {
    expect(parseNetnsLs(seedOutput("seed-000", "netns-ls"))).toEqual(["1-t7zfankbs8", "1-wi6xp5jnpk", "f9f4ceb4012b", "ingress_sbox"]);
    expect(parseNetnsLs(seedOutput("seed-004", "netns-ls"))).toEqual(["06e0e24ce06d", "1-jk79gn3pi7", "1-jv8c30bcmn", "ingress_sbox"]);
    expect(parseNetnsLs(liveSection("json", "docker0", "netns-ls"))).toEqual(["1-k3b7x2n9q4", "1-r2t6f0j8m1", "5e0c1a7f3b2d", "ingress_sbox", "lb_k3b7x2n9q"]);
  });

  it("netns inodes", () => {
    const inodes = parseNetnsInodes(liveSection("json", "docker0", "netns-inodes"));
    expect(Object.keys(inodes).sort()).toEqual(["1-k3b7x2n9q4", "1-r2t6f0j8m1", "5e0c1a7f3b2d", "@host", "ingress_sbox", "lb_k3b7x2n9q"]);
    expect(new Set(Object.values(inodes)).size).toBe(6);
  });

  it("ethtool -S peer_ifindex (004 and Debian 12's longer veth stats)", () => {
    expect(parseEthtoolStats(seedOutput("seed-004", "ethtool@sandbox/eth0"))).toEqual({ peer_ifindex: 19 });
    expect(parseEthtoolStats(seedOutput("seed-004", "ethtool@sandbox/eth1"))).toEqual({ peer_ifindex: 21 });
    const stats = parseEthtoolStats(liveSection("json", "docker0", "ethtool@netns/5e0c1a7f3b2d/eth0"));
    expect(stats["peer_ifindex"]).toBe(12);
    expect(Object.keys(stats).length).toBeGreaterThan(1);
  });

  it("ss -Hlntu: kernel vxlan socket, gossip and manager ports", () => {
    const socks = parseSs(liveSection("json", "docker0", "ss"));
    const has = (proto: string, port: number): boolean => socks.some((s) => s.proto === proto && s.port === port);
    expect(has("udp", 4789) && has("udp", 7946) && has("tcp", 7946) && has("tcp", 2377)).toBe(true);
    expect(socks.find((s) => s.port === 4789)).toMatchObject({ address: "0.0.0.0", state: "UNCONN" });
    expect(parseSs(liveSection("json", "docker1", "ss")).some((s) => s.port === 2377)).toBe(false);
    expect(parseSs("Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port\ntcp   LISTEN 0      128    [::]:22    [::]:*\n")).toEqual([{ proto: "tcp", state: "LISTEN", address: "[::]", port: 22 }]);
  });

  it("errors name the command and the line", () => {
    const bad = (fn: () => unknown, re: RegExp): void => {
      expect(fn).toThrow(ParseError);
      expect(fn).toThrow(re);
    };
    bad(() => parseOsRelease("", "cat /etc/os-release"), /empty output/);
    bad(() => parseOsRelease("cat: /etc/os-release: No such file\n", "cat /etc/os-release"), /line 1/);
    bad(() => parseEthtoolStats("no stats available\n", "ethtool -S eth0"), /NIC statistics/);
    bad(() => parseEthtoolStats("NIC statistics:\n     peer_ifindex: 1\n     peer_ifind", "ethtool -S eth0"), /line 3/);
    bad(() => parseSs("tcp LISTEN 0 128\n", "ss -Hlntu"), /Local Peer/);
    bad(() => parseNetnsLs("ls: cannot access '/var/run/docker/netns': No such file or directory\n"), /unexpected namespace name/);
    bad(() => parseSingleWord("", "systemd-detect-virt"), /empty output/);
    bad(() => parseSingleWord("kvm\nqemu\n", "systemd-detect-virt"), /single line/);
  });
});
