/**
 * Strict parsing: a value of the wrong JSON type or out of range is a
 * ParseError naming the command, the field and the value; a framed section
 * whose size does not match is discarded and reported, never used; and no
 * corruption of a real recording makes verify throw.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { swarmOverlayLab } from "../../../labs/swarm-overlay/lab";
import { runChecks } from "../../../labs/swarm-overlay/checks";
import { ParseError } from "../../../scripts/lib/verify/errors";
import { gatheredFromText } from "../../../scripts/lib/verify/gather";
import { parseFramedOutput } from "../../../scripts/lib/framing";
import { buildModel } from "../../../scripts/lib/verify/model";
import { parseContainerInspect, parseDockerInfoJson, parseNetworkInspect, parseNodeLs, parseServiceInspect, parseServicePs } from "../../../scripts/lib/verify/parse/docker";
import { parseIpLinkJson, parseIpLinkText, parseIpRouteJson, parseIpRouteText } from "../../../scripts/lib/verify/parse/ip";
import { parseSs } from "../../../scripts/lib/verify/parse/system";
import { FIXTURES, frame, liveSection } from "./helpers";

function parseError(fn: () => unknown): ParseError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ParseError) return e;
    throw new Error(`expected a ParseError, got ${String(e)}`);
  }
  throw new Error("expected a ParseError, got a result");
}

const LINK = liveSection("json", "docker0", "ip-link@netns/1-k3b7x2n9q4");
const links = (): Record<string, any>[] => JSON.parse(LINK);
const edit = (f: (l: Record<string, any>[]) => void): string => {
  const l = links();
  f(l);
  return JSON.stringify(l);
};
const byName = (l: Record<string, any>[], name: string): Record<string, any> => l.find((x) => x["ifname"] === name)!;

describe("ip -j: wrong JSON types and out-of-range values name the command, the field and the value", () => {
  const cases: [string, (l: Record<string, any>[]) => void, RegExp, string][] = [
    ["vxlan id as a string", (l) => (byName(l, "vxlan0")["linkinfo"]["info_data"]["id"] = "4097"), /entry \d+ \(vxlan0\)\.linkinfo\.info_data\.id: expected an integer from 0 to 16777215, got "4097"/, '"4097"'],
    ["VNI -5", (l) => (byName(l, "vxlan0")["linkinfo"]["info_data"]["id"] = -5), /info_data\.id: expected an integer from 0 to 16777215, got -5/, "-5"],
    ["VNI above 24 bits", (l) => (byName(l, "vxlan0")["linkinfo"]["info_data"]["id"] = 16777216), /got 16777216/, "16777216"],
    ["vxlan port out of range", (l) => (byName(l, "vxlan0")["linkinfo"]["info_data"]["port"] = 70000), /info_data\.port: expected an integer from 0 to 65535, got 70000/, "70000"],
    ["ageing as a string", (l) => (byName(l, "vxlan0")["linkinfo"]["info_data"]["ageing"] = "300"), /info_data\.ageing: expected an integer .*got "300"/, '"300"'],
    ["proxy as a string", (l) => (byName(l, "vxlan0")["linkinfo"]["info_data"]["proxy"] = "true"), /info_data\.proxy: expected true or false, got "true"/, '"true"'],
    ["link_netnsid as a string", (l) => (byName(l, "veth0")["link_netnsid"] = "1"), /entry \d+ \(veth0\)\.link_netnsid: expected an integer from 0 to \d+, got "1"/, '"1"'],
    ["link_netnsid negative", (l) => (byName(l, "veth0")["link_netnsid"] = -1), /link_netnsid: expected an integer .*got -1/, "-1"],
    ["MTU -1", (l) => (byName(l, "br0")["mtu"] = -1), /entry \d+ \(br0\)\.mtu: expected an integer from 0 to \d+, got -1/, "-1"],
    ["MTU as a float", (l) => (byName(l, "br0")["mtu"] = 1450.5), /\.mtu: expected an integer .*got 1450\.5/, "1450.5"],
    ["ifindex 0", (l) => (byName(l, "br0")["ifindex"] = 0), /\(br0\)\.ifindex: expected an integer from 1 to \d+, got 0/, "0"],
    ["flags not a list", (l) => (byName(l, "br0")["flags"] = "UP"), /\(br0\)\.flags: expected an array, got "UP"/, '"UP"'],
    ["bridge timer as a string", (l) => (byName(l, "br0")["linkinfo"]["info_data"]["hello_time"] = "200"), /info_data\.hello_time: expected an integer .*got "200"/, '"200"'],
    ["MAC cut short", (l) => (byName(l, "br0")["address"] = "02:42:c0:a8"), /\(br0\)\.address: expected a MAC address, got "02:42:c0:a8"/, '"02:42:c0:a8"'],
  ];
  for (const [what, mutate, re, value] of cases) {
    it(what, () => {
      const e = parseError(() => parseIpLinkJson(edit(mutate), "ip -j -d link show"));
      expect(e.command).toBe("ip -j -d link show");
      expect(e.message).toMatch(re);
      expect(e.value).toBe(value);
      expect(e.field).toMatch(/^entry \d+ \(\w+\)\./);
    });
  }

  const addrs = liveSection("json", "docker0", "ip-addr@netns/5e0c1a7f3b2d");
  it("prefix /99 on an IPv4 address", () => {
    const l = JSON.parse(addrs);
    byName(l, "eth0")["addr_info"][0]["prefixlen"] = 99;
    const e = parseError(() => parseIpLinkJson(JSON.stringify(l), "ip -j addr show"));
    expect(e.message).toMatch(/\(eth0\)\.addr_info\[0\]\.prefixlen: expected an integer from 0 to 32, got 99/);
  });
  it("an IPv4 address with an octet out of range", () => {
    const l = JSON.parse(addrs);
    byName(l, "eth0")["addr_info"][0]["local"] = "192.168.200.300";
    expect(parseError(() => parseIpLinkJson(JSON.stringify(l), "ip -j addr show")).message).toMatch(/addr_info\[0\]\.local: expected an IPv4 address, got "192\.168\.200\.300"/);
  });
  it("routes: a gateway that is no address, a metric as a string", () => {
    expect(parseError(() => parseIpRouteJson('[{"dst":"default","gateway":"172.18.0","dev":"eth1"}]', "ip -j route show")).message).toMatch(/route 0\.gateway: expected an IP address, got "172\.18\.0"/);
    expect(parseError(() => parseIpRouteJson('[{"dst":"default","metric":"5"}]', "ip -j route show")).message).toMatch(/route 0\.metric: expected an integer .*got "5"/);
    expect(parseError(() => parseIpRouteJson('[{"dst":"192.168.200.0/99"}]', "ip -j route show")).message).toMatch(/route 0\.dst: expected default or an address\/prefix, got "192\.168\.200\.0\/99"/);
  });
});

describe("ip text: out-of-range values and words cut mid-token", () => {
  const seedLike = "19: veth0@if18: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1450 qdisc noqueue master br0 state UP mode DEFAULT\n    link/ether 1a:30:c5:15:42:54 brd ff:ff:ff:ff:ff:ff link-netnsid 1\n";
  const cases: [string, string, RegExp][] = [
    ["MTU -1", seedLike.replace("mtu 1450", "mtu -1"), /mtu -1 is out of range/],
    ["VNI -5", "17: vxlan1: <BROADCAST,UP> mtu 1450 qdisc noqueue master br0 state UNKNOWN\n    link/ether f6:1c:e9:9a:60:bd brd ff:ff:ff:ff:ff:ff\n    vxlan id -5 dstport 4789\n", /vxlan id -5 is out of range \(0 to 16777215\)/],
    ["dstport out of range", "17: vxlan1: <BROADCAST,UP> mtu 1450 qdisc noqueue master br0 state UNKNOWN\n    link/ether f6:1c:e9:9a:60:bd brd ff:ff:ff:ff:ff:ff\n    vxlan id 4097 dstport 478900\n", /dstport 478900 is out of range/],
    ["prefix /99", "20: eth1@if21: <BROADCAST,UP> mtu 1500 qdisc noqueue state UP\n    link/ether 02:42:ac:12:00:03 brd ff:ff:ff:ff:ff:ff\n    inet 172.18.0.3/99 scope global eth1\n", /prefix length \/99 of 172\.18\.0\.3 is out of range/],
    ["link-netnsid not a number", seedLike.replace("link-netnsid 1", "link-netnsid x"), /expected a number after "link-netnsid"/],
    ["state cut mid-word", seedLike.replace("state UP mode DEFAULT", "state UNKNO"), /unknown operational state "UNKNO" \(cut off\?\)/],
    ["MAC cut mid-token", "19: veth0@if18: <BROADCAST,UP> mtu 1450 qdisc noqueue state UP\n    link/ether 1a:30:c5:15:4\n", /malformed MAC address "1a:30:c5:15:4" of veth0 \(cut off\?\)/],
    ["address cut mid-token", "20: eth1@if21: <BROADCAST,UP> mtu 1500 qdisc noqueue state UP\n    link/ether 02:42:ac:12:00:03 brd ff:ff:ff:ff:ff:ff\n    inet 172.18.0\n", /malformed IPv4 address "172\.18\.0"/],
    ["broadcast cut mid-token", "20: eth1@if21: <BROADCAST,UP> mtu 1500 qdisc noqueue state UP\n    link/ether 02:42:ac:12:00:03 brd ff:ff:ff:ff:ff:ff\n    inet 172.18.0.3/16 brd 172.18.25 scope global eth1\n", /malformed broadcast address "172\.18\.25"/],
  ];
  for (const [what, text, re] of cases) {
    it(what, () => {
      const e = parseError(() => parseIpLinkText(text, "ip -d link show"));
      expect(e.command).toBe("ip -d link show");
      expect(e.lineNumber).toBeGreaterThan(0);
      expect(e.message).toMatch(re);
    });
  }
  it("routes: a gateway or source cut mid-token, a metric that is no number", () => {
    expect(parseError(() => parseIpRouteText("default via 172.18.0 dev eth1\n", "ip route show")).message).toMatch(/malformed gateway "172\.18\.0"/);
    expect(parseError(() => parseIpRouteText("172.18.0.0/16 dev eth1 src 172.18.\n", "ip route show")).message).toMatch(/malformed source address "172\.18\."/);
    expect(parseError(() => parseIpRouteText("default via 172.18.0.1 dev eth1 metric x\n", "ip route show")).message).toMatch(/expected a number after "metric"/);
  });
  it("ss: a state cut mid-word, a port out of range", () => {
    expect(parseError(() => parseSs("tcp LIST 0 4096 *:2377 *:*\n")).message).toMatch(/unknown socket state "LIST"/);
    expect(parseError(() => parseSs("udp UNCONN 0 0 0.0.0.0:478900 0.0.0.0:*\n")).message).toMatch(/malformed local address "0\.0\.0\.0:478900"/);
    expect(parseError(() => parseSs("tcp LISTEN 0 4096 192.168.122.1:2377 *:*\n".replace("192.168.122.1", "192.168.122"))).message).toMatch(/malformed local address/);
  });
});

describe("docker JSON: wrong types name the command, the field and the value", () => {
  const inspect = liveSection("json", "docker0", "docker-inspect");
  const containers = (): Record<string, any>[] => JSON.parse(inspect);
  it("SandboxKey of the wrong type", () => {
    const c = containers();
    c[0]!["NetworkSettings"]["SandboxKey"] = 12;
    const e = parseError(() => parseContainerInspect(JSON.stringify(c), "docker inspect"));
    expect(e.message).toMatch(/container \w{12}\.NetworkSettings\.SandboxKey: expected a string, got 12/);
    expect(e.field).toMatch(/SandboxKey$/);
    expect(e.value).toBe("12");
  });
  it("SandboxKey that is no path, State.Running as a string, a label of the wrong type", () => {
    const c = containers();
    c[0]!["NetworkSettings"]["SandboxKey"] = "netns/abc";
    expect(parseError(() => parseContainerInspect(JSON.stringify(c), "docker inspect")).message).toMatch(/SandboxKey: expected an absolute path, got "netns\/abc"/);
    const d = containers();
    d[0]!["State"]["Running"] = "true";
    expect(parseError(() => parseContainerInspect(JSON.stringify(d), "docker inspect")).message).toMatch(/State\.Running: expected true or false, got "true"/);
    const f = containers();
    f[0]!["Config"]["Labels"]["com.docker.swarm.service.name"] = 3;
    expect(parseError(() => parseContainerInspect(JSON.stringify(f), "docker inspect")).message).toMatch(/Config\.Labels\["com\.docker\.swarm\.service\.name"\]: expected a string, got 3/);
  });
  it("network inspect: a subnet without prefix, an endpoint address out of range, options of the wrong type", () => {
    const nets = (): Record<string, any>[] => JSON.parse(liveSection("json", "docker0", "docker-network-inspect"));
    const a = nets();
    a.find((n) => n["Name"] === "demonet")!["IPAM"]["Config"][0]["Subnet"] = "192.168.200.0";
    expect(parseError(() => parseNetworkInspect(JSON.stringify(a))).message).toMatch(/network demonet\.IPAM\.Config\[0\]\.Subnet: expected an address with a prefix length .*got "192\.168\.200\.0"/);
    const b = nets();
    const ing = b.find((n) => n["Name"] === "ingress")!;
    ing["Containers"]["ingress-sbox"]["IPv4Address"] = "10.255.0.2/99";
    expect(parseError(() => parseNetworkInspect(JSON.stringify(b))).message).toMatch(/Containers\.ingress-sbox\.IPv4Address: .*got "10\.255\.0\.2\/99"/);
    const c = nets();
    c.find((n) => n["Name"] === "demonet")!["Options"]["com.docker.network.driver.overlay.vxlanid_list"] = 4097;
    expect(parseError(() => parseNetworkInspect(JSON.stringify(c))).message).toMatch(/Options\["com\.docker\.network\.driver\.overlay\.vxlanid_list"\]: expected a string, got 4097/);
  });
  it("service inspect, docker info, node ls and service ps lines", () => {
    const svc = JSON.parse(liveSection("json", "docker0", "docker-service-inspect"));
    svc[0]["Spec"]["Mode"]["Replicated"]["Replicas"] = -2;
    expect(parseError(() => parseServiceInspect(JSON.stringify(svc))).message).toMatch(/Replicated\.Replicas: expected an integer from 0 to \d+, got -2/);
    expect(parseError(() => parseDockerInfoJson('{"Swarm":{"ControlAvailable":"yes"}}')).message).toMatch(/Swarm\.ControlAvailable: expected true or false, got "yes"/);
    expect(parseError(() => parseNodeLs('{"ID":"abc","Hostname":"docker0.local","Status":"Ready","Availability":"Active","Self":1}\n')).message).toMatch(/line 1\.Self: expected true or false, got 1/);
    expect(parseError(() => parseServicePs('{"ID":"abc","Name":"demoservice.1","DesiredState":"Running","CurrentState":3}\n')).message).toMatch(/line 1\.CurrentState: expected a string, got 3/);
    expect(parseError(() => parseServicePs('{"ID":"abc","Name":"demoservice.1","DesiredState":"Runn\n')).message).toMatch(/invalid or truncated JSON/);
  });
});

describe("structured docker listings: a row with an empty cell loses nothing", () => {
  it("node ls and service ps lines with empty fields parse, with the empty fields empty", () => {
    const nodes = parseNodeLs(
      '{"Availability":"Active","EngineVersion":"20.10.24","Hostname":"docker0.local","ID":"tqk63lyfmnjcy5q707wl4y3ok","ManagerStatus":"Leader","Self":true,"Status":"Ready","TLSStatus":"Ready"}\n' +
        '{"Availability":"Active","EngineVersion":"","Hostname":"docker1.local","ID":"x2d5yp3ytq3bq3y0r7wvuqk4e","ManagerStatus":"","Self":false,"Status":"Ready","TLSStatus":"Ready"}\n',
    );
    expect(nodes.map((n) => [n.hostname, n.self, n.managerStatus, n.engineVersion])).toEqual([
      ["docker0.local", true, "Leader", "20.10.24"],
      ["docker1.local", false, "", undefined],
    ]);
    const tasks = parseServicePs(
      '{"CurrentState":"Running 2 hours ago","DesiredState":"Running","Error":"","ID":"abc1","Image":"alpine:latest","Name":"demoservice.1","Node":"docker0.local","Ports":""}\n' +
        '{"CurrentState":"Failed 2 hours ago","DesiredState":"Shutdown","Error":"\\"task: non-zero exit (1)\\"","ID":"abc2","Image":"alpine:latest","Name":"demoservice.1","Node":"","Ports":""}\n' +
        '{"CurrentState":"Running 2 hours ago","DesiredState":"Running","Error":"","ID":"abc3","Image":"alpine:latest","Name":"demoservice.2","Node":"docker1.local","Ports":""}\n',
    );
    expect(tasks.map((t) => [t.name, t.history, t.node, t.currentState, t.error])).toEqual([
      ["demoservice.1", false, "docker0.local", "Running", ""],
      ["demoservice.1", true, "", "Failed", "task: non-zero exit (1)"],
      ["demoservice.2", false, "docker1.local", "Running", ""],
    ]);
  });
});

describe("framing: a section whose size does not match is discarded and reported, never used", () => {
  it("is not kept, and the model says the data arrived damaged", () => {
    const inv = JSON.parse(fs.readFileSync(path.join(FIXTURES, "live-e2e-v2", "inventory.json"), "utf8"));
    const text = fs.readFileSync(path.join(FIXTURES, "live-e2e-v2", "docker1.txt"), "utf8");
    // one byte of the ss output lost on the way: the announced size no longer matches
    const at = text.indexOf("@@swarmlab:begin ss\n") + "@@swarmlab:begin ss\n".length + 10;
    const damaged = text.slice(0, at) + text.slice(at + 1);
    expect(damaged).not.toBe(text);
    const framed = parseFramedOutput(damaged);
    expect(framed.sections["ss"]).toBeUndefined();
    expect(framed.discarded["ss"]).toMatch(/^\d+ bytes announced, \d+ received$/);
    expect(framed.problems.join("\n")).toMatch(/section ss: \d+ bytes announced, \d+ received; discarded/);
    const g = gatheredFromText(inv, { docker0: fs.readFileSync(path.join(FIXTURES, "live-e2e-v2", "docker0.txt"), "utf8"), docker1: damaged });
    const model = buildModel(g, inv);
    expect(model.hosts[1]!.sockets).toBeUndefined();
    const [port] = runChecks({ model, lab: swarmOverlayLab, inventory: inv }, { only: ["PORT-1"] });
    expect(port!.outcome).toBe("unchecked");
    expect(port!.explanation).toMatch(/^docker1: `ss -Hlntu`: its output arrived damaged \(\d+ bytes announced, \d+ received\) and was discarded$/);
  });

  it("a repeated section keeps the first one only", () => {
    const text = frame({ hostname: "docker0.local\n" }).replace("@@swarmlab:done", `@@swarmlab:begin hostname\nevil\n@@swarmlab:end hostname rc=0 bytes=5\n@@swarmlab:done`);
    const framed = parseFramedOutput(text);
    expect(framed.sections["hostname"]!.output).toBe("docker0.local\n");
    expect(framed.problems).toContain("section hostname appears twice; the second one is discarded");
  });
});

describe("robustness: no corruption of a real recording makes verify throw", () => {
  const inv = JSON.parse(fs.readFileSync(path.join(FIXTURES, "live-e2e-v2", "inventory.json"), "utf8"));
  const d0 = fs.readFileSync(path.join(FIXTURES, "live-e2e-v2", "docker0.txt"), "utf8");
  const d1 = fs.readFileSync(path.join(FIXTURES, "live-e2e-v2", "docker1.txt"), "utf8");
  // A small deterministic generator: the same cuts and flips every run.
  let seed = 20261123;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  it("cut anywhere, bytes flipped, lines dropped: a model and 29 results, every time", () => {
    for (let i = 0; i < 60; i++) {
      let t = d1;
      const kind = i % 3;
      if (kind === 0) t = t.slice(0, rnd(t.length));
      else if (kind === 1) {
        const chars = [...t];
        for (let k = 0; k < 20; k++) chars[rnd(chars.length)] = String.fromCharCode(rnd(128));
        t = chars.join("");
      } else t = t.split("\n").filter(() => rnd(10) !== 0).join("\n");
      const g = gatheredFromText(inv, { docker0: d0, docker1: t });
      const results = runChecks({ model: buildModel(g, inv), lab: swarmOverlayLab, inventory: inv });
      expect(results).toHaveLength(29);
      for (const r of results) expect(r.observed ?? "", r.id).not.toMatch(/internal error/);
    }
  });
});
