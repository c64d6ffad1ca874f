import { describe, expect, it } from "vitest";
import { bridge } from "../../../../labs/bridge";
import { checkBridge } from "../../../../labs/bridge/checks";
import { FACT_IDS } from "../../../../labs/bridge/facts";
import { SECTIONS } from "../../../../labs/bridge/probe";
import { findLab } from "../../../../labs/index";
import { parseFramedOutput, type RawSection } from "../../../../scripts/lib/framing";
import type { HostModel, LabModel, Namespace } from "../../../../scripts/lib/verify/model";
import type { FactResult } from "../../../../scripts/lib/verify/result";
import type { ScriptEvidence } from "../../../../labs/script-probe";
import { clone, fx, INV, LIVE_NAMES, liveModel } from "./helpers";

const BASE = liveModel();

const docker0 = (m: LabModel): HostModel => m.hosts.find((h) => h.name === "docker0")!;
const hostNs = (m: LabModel): Namespace => docker0(m).namespaces.find((n) => n.kind === "host")!;
const sandboxOf = (m: LabModel, name: string): Namespace => docker0(m).namespaces.find((n) => n.task?.containerName === name)!;
const localnet = (m: LabModel) => docker0(m).networks!.find((n) => n.name === LIVE_NAMES.network)!;
const brName = (m: LabModel): string => `br-${localnet(m).id.slice(0, 12)}`;
const sections = (m: LabModel): Record<string, RawSection> => (m.probe as Extract<ScriptEvidence, { kind: "ran" }>).framed.sections;
const setSection = (m: LabModel, key: string, s: Partial<RawSection>): void => {
  sections(m)[key] = { key, rc: 0, output: "", ...s };
};

function one(id: string, mutate: (m: LabModel) => void = () => undefined): FactResult {
  const m = clone(BASE);
  mutate(m);
  const [r] = checkBridge(m, INV, { only: [id] }, LIVE_NAMES);
  return r!;
}

describe("bridge checks on the live lab's gather and probe", () => {
  it("judges every fact: as documented, BR-5 changed (docker port also lists the IPv6 binding)", () => {
    const rs = checkBridge(BASE, INV, {}, LIVE_NAMES);
    expect(rs.map((r) => r.id)).toEqual([...FACT_IDS]);
    expect(Object.fromEntries(rs.map((r) => [r.id, r.outcome]))).toEqual({ "BR-1": "pass", "BR-2": "pass", "BR-3": "pass", "BR-4": "pass", "BR-5": "changed" });
    const by = Object.fromEntries(rs.map((r) => [r.id, r]));
    expect(by["BR-2"]!.observed).toMatch(/br-[0-9a-f]{12} is the bridge of localnet-h, stp_state 0 .*members of br-[0-9a-f]{12}: /);
    for (const c of ["c1-h", "c2-h", "web-h"]) expect(by["BR-2"]!.observed).toMatch(new RegExp(`veth\\w+ \\(${c}\\)`));
    expect(by["BR-2"]!.observed).not.toMatch(/c3-h/);
    expect(by["BR-2"]!.expected).toMatch(/cannot be seen once the lab's containers run/);
    expect(by["BR-3"]!.observed).toMatch(/localnet-h lists c1-h: MacAddress 02:42:[0-9a-f:]+, IPv4Address 172\.\d+\.0\.\d+\/16; c1-h's eth0 \(ifindex \d+\) pairs with veth\w+/);
    expect(by["BR-4"]!.observed).toMatch(/ping c1-h → 172\.\d+\.0\.\d+, 1\/1 answered.*server 127\.0\.0\.11.*c3-h \(bridge\): \*\* server can't find c1-h/);
    expect(by["BR-5"]!.explanation).toMatch(/IPv6 binding/);
    expect(by["BR-5"]!.details.join("\n")).toMatch(/page "web-h [0-9a-f]{12}"/);
    expect(rs.every((r) => r.seed === "003_0e0fcb137b8105a5.txt")).toBe(true);
  });

  it("the lab as registered checks the documented names: the -h trial is not the documented lab", () => {
    expect(findLab("bridge")).toBe(bridge);
    const rs = bridge.check(BASE, INV, { only: ["BR-3", "BR-4"] });
    expect(rs.map((r) => r.outcome)).toEqual(["fail", "fail"]);
    expect(rs[0]!.observed).toMatch(/no network localnet/);
    expect(rs[1]!.observed).toMatch(/docker0: no running container c1\b/);
  });

  it("a host that was not gathered leaves every fact unchecked, naming why", () => {
    const rs = checkBridge(clone(BASE), { ...INV, hosts: [{ ...INV.hosts[1]!, role: "manager" }, { ...INV.hosts[0]!, role: "worker" }] }, {}, LIVE_NAMES);
    for (const r of rs) {
      expect(r.outcome, r.id).toBe("unchecked");
      expect(r.explanation, r.id).toMatch(/docker1: no gathered output/);
    }
  });

  describe("BR-1", () => {
    it("fails when bridge names another Linux bridge", () => {
      const r = one("BR-1", (m) => (docker0(m).networks!.find((n) => n.name === "bridge")!.options["com.docker.network.bridge.name"] = "mybr0"));
      expect(r.outcome).toBe("fail");
      expect(r.observed).toMatch(/docker0: network bridge has com.docker.network.bridge.name=mybr0/);
    });
    it("fails without the docker0 bridge in the host namespace", () => {
      const r = one("BR-1", (m) => (hostNs(m).interfaces = hostNs(m).interfaces.filter((i) => i.name !== "docker0")));
      expect(r.outcome).toBe("fail");
      expect(r.observed).toMatch(/no interface docker0 in the host namespace/);
    });
    it("is unchecked when docker network inspect is missing", () => {
      const r = one("BR-1", (m) => {
        delete docker0(m).networks;
        docker0(m).issues.push({ key: "docker-network-inspect", kind: "failed", message: "`docker network inspect <all networks>` failed with exit code 1: boom" });
      });
      expect(r.outcome).toBe("unchecked");
      expect(r.explanation).toMatch(/docker network inspect.*boom/);
    });
  });

  describe("BR-2", () => {
    it("fails when spanning tree is on", () => {
      const r = one("BR-2", (m) => (hostNs(m).interfaces.find((i) => i.name === brName(m))!.bridge!.stpState = 1));
      expect(r.outcome).toBe("fail");
      expect(r.observed).toMatch(/br-\w+ has stp_state 1 \(spanning tree on\), from ip -d link/);
    });
    it("reads stp_state from the probe when ip -d link has no bridge details, and fails on it too", () => {
      const noDetails = (m: LabModel) => delete hostNs(m).interfaces.find((i) => i.name === brName(m))!.bridge;
      expect(one("BR-2", noDetails).outcome).toBe("pass");
      const on = one("BR-2", (m) => {
        noDetails(m);
        setSection(m, SECTIONS.stp, { output: "1\n" });
      });
      expect(on.outcome).toBe("fail");
      expect(on.observed).toMatch(/stp_state 1 .*from \/sys\/class\/net\/br-\w+\/bridge\/stp_state/);
      const missing = one("BR-2", (m) => {
        noDetails(m);
        delete sections(m)[SECTIONS.stp];
      });
      expect(missing.outcome).toBe("unchecked");
      expect(missing.explanation).toMatch(/did not run `cat \/sys\/class\/net/);
    });
    it("fails when localnet is missing or has no br- bridge", () => {
      const gone = one("BR-2", (m) => (docker0(m).networks = docker0(m).networks!.filter((n) => n.name !== LIVE_NAMES.network)));
      expect(gone.outcome).toBe("fail");
      expect(gone.observed).toMatch(/no network localnet-h/);
      const noBr = one("BR-2", (m) => (hostNs(m).interfaces = hostNs(m).interfaces.filter((i) => i.name !== brName(m))));
      expect(noBr.outcome).toBe("fail");
      expect(noBr.observed).toMatch(/no interface br-\w+ in the host namespace/);
    });
    it("fails when something other than localnet's containers' veths is on the bridge", () => {
      const r = one("BR-2", (m) => {
        const br = brName(m);
        hostNs(m).interfaces.push({ name: "dummy0", ifindex: 999, kind: "dummy", mtu: 1500, flags: [], master: br, addresses: [] });
        m.bridges.find((b) => b.host === "docker0" && b.name === br)!.members.push("dummy0");
      });
      expect(r.outcome).toBe("fail");
      expect(r.observed).toMatch(/dummy0 \(a dummy\) is a member of br-\w+, not a container's veth/);
      const foreign = one("BR-2", (m) => {
        const c = docker0(m).containers!.find((x) => x.name === LIVE_NAMES.c2)!;
        c.networks = c.networks.map((n) => ({ ...n, name: "elsewhere" }));
      });
      expect(foreign.outcome).toBe("fail");
      expect(foreign.observed).toMatch(/belongs to c2-h, which is not on localnet-h/);
    });
  });

  describe("BR-3", () => {
    it("fails when c1's veth peer is on another bridge", () => {
      const r = one("BR-3", (m) => {
        const peer = sandboxOf(m, LIVE_NAMES.c1).interfaces.find((i) => i.name === "eth0")!.peer!;
        hostNs(m).interfaces.find((i) => i.ifindex === peer.ifindex)!.master = "docker0";
      });
      expect(r.outcome).toBe("fail");
      expect(r.observed).toMatch(/c1-h's eth0 pairs with veth\w+, which is enslaved to docker0, not to br-\w+/);
    });
    it("fails when c1 is not running, or localnet does not list it with MAC and IPv4", () => {
      const gone = one("BR-3", (m) => (docker0(m).containers = docker0(m).containers!.filter((c) => c.name !== LIVE_NAMES.c1)));
      expect(gone.outcome).toBe("fail");
      expect(gone.observed).toMatch(/no running container c1-h/);
      const noMac = one("BR-3", (m) => delete localnet(m).containers.find((e) => e.name === LIVE_NAMES.c1)!.mac);
      expect(noMac.outcome).toBe("fail");
      expect(noMac.observed).toMatch(/lists c1-h without a MAC address/);
      const otherMac = one("BR-3", (m) => (localnet(m).containers.find((e) => e.name === LIVE_NAMES.c1)!.mac = "02:42:ac:14:00:99"));
      expect(otherMac.outcome).toBe("fail");
      expect(otherMac.observed).toMatch(/c1-h's eth0 has MAC 02:42:\S+, localnet-h lists 02:42:ac:14:00:99/);
    });
    it("is unchecked when c1's namespace was not gathered", () => {
      const r = one("BR-3", (m) => (docker0(m).namespaces = docker0(m).namespaces.filter((n) => n.task?.containerName !== LIVE_NAMES.c1)));
      expect(r.outcome).toBe("unchecked");
      expect(r.explanation).toMatch(/c1-h's namespace \/var\/run\/docker\/netns\/\w+ was not gathered/);
    });
  });

  describe("BR-4", () => {
    it("fails when c2 cannot resolve c1", () => {
      const r = one("BR-4", (m) => setSection(m, SECTIONS.ping, { rc: 1, output: "", stderr: fx("c3-ping-c1.txt").replace("'c1'", "'c1-h'") }));
      expect(r.outcome).toBe("fail");
      expect(r.observed).toMatch(/c2-h: ping c1-h: bad address 'c1-h'/);
    });
    it("fails when c1's name resolves to another address, or not through the embedded DNS", () => {
      const other = one("BR-4", (m) => setSection(m, SECTIONS.lookup, { output: sections(m)[SECTIONS.lookup]!.output.replace(/Address: 172\.\d+\.0\.\d+/, "Address: 10.9.9.9") }));
      expect(other.outcome).toBe("fail");
      expect(other.observed).toMatch(/nslookup c1-h gave 10\.9\.9\.9, c1-h is 172\./);
      const server = one("BR-4", (m) => setSection(m, SECTIONS.lookup, { output: sections(m)[SECTIONS.lookup]!.output.replace(/127\.0\.0\.11/g, "192.168.122.1") }));
      expect(server.outcome).toBe("fail");
      expect(server.observed).toMatch(/resolved by 192\.168\.122\.1, not by Docker's embedded DNS 127\.0\.0\.11/);
    });
    it("fails when the container on the default bridge resolves c1, or is on localnet", () => {
      const resolved = one("BR-4", (m) => setSection(m, SECTIONS.otherLookup, { output: sections(m)[SECTIONS.lookup]!.output }));
      expect(resolved.outcome).toBe("fail");
      expect(resolved.observed).toMatch(/c3-h on bridge resolved c1-h to 172\./);
      const onLocalnet = one("BR-4", (m) => {
        const c3 = docker0(m).containers!.find((c) => c.name === LIVE_NAMES.other)!;
        c3.networks.push({ ...docker0(m).containers!.find((c) => c.name === LIVE_NAMES.c1)!.networks[0]!, ipAddress: "172.20.0.9" });
      });
      expect(onLocalnet.outcome).toBe("fail");
      expect(onLocalnet.observed).toMatch(/c3-h is on localnet-h too/);
    });
    it("is unchecked when c3's resolver got no answer or the lookup timed out: no name failure was seen", () => {
      const none = one("BR-4", (m) => setSection(m, SECTIONS.otherLookup, { rc: 1, output: fx("c3-nslookup-c1-embedded-dns.txt") }));
      expect(none.outcome).toBe("unchecked");
      expect(none.explanation).toMatch(/no answer \(;; connection timed out; no servers could be reached\)/);
      const slow = one("BR-4", (m) => setSection(m, SECTIONS.otherLookup, { rc: 124, output: "" }));
      expect(slow.outcome).toBe("unchecked");
      expect(slow.explanation).toMatch(/did not finish within its time bound/);
    });
    it("is skipped when the probe was deliberately not run, unchecked when it could not run", () => {
      const skip = one("BR-4", (m) => (m.probe = { kind: "not-run", outcome: "skip", reason: "traffic probes disabled (--no-traffic)" } satisfies ScriptEvidence));
      expect(skip.outcome).toBe("skip");
      expect(skip.explanation).toMatch(/--no-traffic/);
      const down = one("BR-4", (m) => (m.probe = { kind: "not-run", outcome: "unchecked", reason: "docker0: connection refused" } satisfies ScriptEvidence));
      expect(down.outcome).toBe("unchecked");
      expect(down.explanation).toMatch(/the bridge probe did not run: docker0: connection refused/);
    });
  });

  describe("BR-5", () => {
    it("passes (not changed) when docker port lists the IPv4 binding only", () => {
      const r = one("BR-5", (m) => setSection(m, SECTIONS.port, { output: `80/tcp -> 0.0.0.0:${LIVE_NAMES.hostPort}\n` }));
      expect(r.outcome).toBe("pass");
    });
    it("fails when docker port shows another mapping", () => {
      const r = one("BR-5", (m) => setSection(m, SECTIONS.port, { output: `80/tcp -> 0.0.0.0:8080\n` }));
      expect(r.outcome).toBe("fail");
      expect(r.observed).toMatch(/docker port web-h shows 80\/tcp -> 0\.0\.0\.0:8080/);
    });
    it("fails when the port is refused or answered by another page", () => {
      const refused = one("BR-5", (m) => setSection(m, SECTIONS.http, { rc: 1, output: "", stderr: "http_get: connect: Connection refused\nhttp_get: line 1: /dev/tcp/192.168.122.10/5187: Connection refused\n" }));
      expect(refused.outcome).toBe("fail");
      expect(refused.observed).toMatch(/GET http:\/\/192\.168\.122\.10:5187\/ failed: .*Connection refused/);
      const other = one("BR-5", (m) => setSection(m, SECTIONS.http, { output: sections(m)[SECTIONS.http]!.output.replace(/web-h [0-9a-f]{12}/, "c385ba2b1370") }));
      expect(other.outcome).toBe("fail");
      expect(other.observed).toMatch(/answered "c385ba2b1370", not web-h's page \("web-h [0-9a-f]{12}"\)/);
    });
    it("is unchecked when the answer arrived damaged (the first probe's raw CR LF answer)", () => {
      const r = one("BR-5", (m) => {
        const framed = parseFramedOutput(fx("traffic-docker0-crlf.txt"), "the bridge probe");
        m.probe = { kind: "ran", host: "docker0", framed } satisfies ScriptEvidence;
      });
      expect(r.outcome).toBe("unchecked");
      expect(r.explanation).toMatch(/GET http:\/\/192\.168\.122\.10:5187\/` arrived damaged \(228 bytes announced, 219 received\)/);
    });
  });
});
