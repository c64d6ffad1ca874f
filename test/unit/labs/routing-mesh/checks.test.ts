import * as path from "path";
import { describe, expect, it } from "vitest";
import type { FramedOutput } from "../../../../scripts/lib/framing";
import type { LabModel } from "../../../../scripts/lib/verify/model";
import type { FactResult } from "../../../../scripts/lib/verify/result";
import { check } from "../../../../labs/routing-mesh/checks";
import { routingMesh } from "../../../../labs/routing-mesh";
import { FIXTURES, liveModel, section, TASKS, TRIAL } from "./fixture";

function judge(alter: (f: FramedOutput) => void = () => undefined, model?: (m: LabModel) => void, dir?: string): Record<string, FactResult> {
  const { model: m, inv } = liveModel(alter, dir);
  model?.(m);
  return Object.fromEntries(check(m, inv, { services: TRIAL }).map((r) => [r.id, r]));
}

const answer = (host: string) => `HTTP/1.1 200 OK\nContent-type: text/html\n\n${host}\n`;
const refused = (f: FramedOutput, key: string) => Object.assign(section(f, key), { rc: 1, output: "", stderr: "rm_get: connect: Connection refused\n" });
const containersOf = (m: LabModel, host: string) => m.hosts.find((h) => h.name === host)!.containers!;

describe("routing-mesh checks on the live recording", () => {
  it("pass, each naming what it saw", () => {
    const r = judge();
    expect(Object.values(r).map((x) => [x.id, x.outcome])).toEqual([["RM-1", "pass"], ["RM-2", "pass"], ["RM-3", "pass"], ["RM-4", "pass"]]);
    expect(r["RM-1"]!.observed).toContain(`docker0 (runs no replica): 192.168.122.10:5100 answered by ${TASKS.web} on docker1`);
    expect(r["RM-2"]!.observed).toContain("docker1 (runs no replica): 192.168.122.11:5101 connection refused");
    expect(r["RM-3"]!.observed).toMatch(/8 requests entering docker0 \(192\.168\.122\.10:5102\) answered by babf8900fecf on docker0 ×4, 330496d9701f on docker1 ×4/);
    expect(r["RM-4"]!.observed).toContain("vni 4096 carrying 10.255.0.2:");
    expect(r["RM-4"]!.citation).toMatch(/^003_0e0fcb137b8105a5\.txt, 002_d833767e755968c0\.txt, 004_83d7ccb3d7026bad\.txt "Ingress load balancing"$/);
  });

  it("are the lab's check, and the documented services are asked by default", () => {
    const { model, inv } = liveModel();
    const r = routingMesh.check(model, inv, { only: ["RM-1"] });
    expect(r).toHaveLength(1);
    // The recording has no service named web: the documented lab is judged, not the trial.
    expect(r[0]!.outcome).not.toBe("pass");
  });

  describe("RM-1", () => {
    it("fails when the node without a replica does not answer", () => {
      const r = judge((f) => refused(f, "get/192.168.122.10/5100"))["RM-1"]!;
      expect(r.outcome).toBe("fail");
      expect(r.observed).toBe("docker0 (runs no replica): 192.168.122.10:5100 connection refused");
    });
    it("fails when an answer comes from no task of the service", () => {
      const r = judge((f) => Object.assign(section(f, "get/192.168.122.11/5100"), { output: answer("ffffffffffff") }))["RM-1"]!;
      expect(r.outcome).toBe("fail");
      expect(r.observed).toMatch(/answered by ffffffffffff, which is no running task of web-h \(c385ba2b1370 on docker1\)/);
    });
    it("fails when the service is published in host mode", () => {
      const r = judge((f) => Object.assign(section(f, "services"), { output: section(f, "services").output.replace('"PublishedPort":5100,"PublishMode":"ingress"', '"PublishedPort":5100,"PublishMode":"host"') }))["RM-1"]!;
      expect(r.outcome).toBe("fail");
      expect(r.observed).toMatch(/documented: 5100->80 in ingress mode/);
    });
    it("fails when the service does not exist", () => {
      const r = judge((f) => Object.assign(section(f, "services"), { rc: 1, output: section(f, "services").output.replace(/^web-h .*\n/m, ""), stderr: "Error: no such service: web-h\n" }))["RM-1"]!;
      expect(r.outcome).toBe("fail");
      expect(r.observed).toMatch(/service web-h does not exist \(Error: no such service: web-h\)/);
    });
    it("is unchecked when every node runs a replica", () => {
      const r = judge(undefined, (m) => {
        const c = containersOf(m, "docker1").find((x) => x.service === "web-h")!;
        containersOf(m, "docker0").push({ ...c, id: `0${c.id.slice(1)}` });
      })["RM-1"]!;
      expect(r.outcome).toBe("unchecked");
      expect(r.explanation).toMatch(/every node runs a replica of web-h/);
    });
    it("is unchecked when a host's containers were not gathered, or a request is missing", () => {
      const r = judge(undefined, (m) => { const h = m.hosts.find((x) => x.name === "docker1")!; h.reachable = false; h.error = "connection refused on port 22"; })["RM-1"]!;
      expect(r.outcome).toBe("unchecked");
      expect(r.explanation).toMatch(/which node runs web-h: docker1: connection refused on port 22/);
      const m2 = judge((f) => { delete f.sections["get/192.168.122.11/5100"]; })["RM-1"]!;
      expect(m2.outcome).toBe("unchecked");
      expect(m2.explanation).toMatch(/the probe printed no `HTTP GET http:\/\/192\.168\.122\.11:5100\/`/);
    });
  });

  describe("RM-2", () => {
    it("fails when the node without a replica answers", () => {
      const r = judge((f) => Object.assign(section(f, "get/192.168.122.11/5101"), { rc: 0, output: answer(TASKS.webhost), stderr: undefined }))["RM-2"]!;
      expect(r.outcome).toBe("fail");
      expect(r.observed).toMatch(/docker1 runs no replica of webhost-h, yet 192\.168\.122\.11:5101 answered by 17fbc0eaa7a4/);
    });
    it("fails when the node with the replica refuses, or another replica answers", () => {
      expect(judge((f) => refused(f, "get/192.168.122.10/5101"))["RM-2"]!.observed).toMatch(/docker0 runs 17fbc0eaa7a4 but 192\.168\.122\.10:5101: connection refused/);
      expect(judge((f) => Object.assign(section(f, "get/192.168.122.10/5101"), { output: answer(TASKS.web) }))["RM-2"]!.observed).toMatch(/answered by c385ba2b1370, not by its own replica 17fbc0eaa7a4/);
    });
    it("is skipped or unchecked with the reason when the probe did not run", () => {
      const { model, inv } = liveModel();
      model.probe = routingMesh.traffic!.skipped("traffic checks disabled (--no-traffic)");
      const r = check(model, inv, { services: TRIAL });
      expect(r.map((x) => x.outcome)).toEqual(["skip", "skip", "skip", "skip"]);
      expect(r[1]!.explanation).toBe("traffic checks disabled (--no-traffic)");
      model.probe = undefined;
      expect(check(model, inv, { services: TRIAL })[1]).toMatchObject({ outcome: "unchecked", explanation: "the probe did not run" });
    });
  });

  describe("RM-3", () => {
    it("fails when one replica answers every request", () => {
      const r = judge((f) => {
        for (let n = 1; n <= 8; n++) Object.assign(section(f, `get/192.168.122.10/5102/${n}`), { output: answer(TASKS.web2[0]!) });
      })["RM-3"]!;
      expect(r.outcome).toBe("fail");
      expect(r.observed).toBe("8 requests entering docker0 (192.168.122.10:5102) were answered by babf8900fecf ×8; never by 330496d9701f on docker1");
    });
    it("fails on the recorded probe whose request got no answer", () => {
      const r = judge(undefined, undefined, path.join(FIXTURES, "live-h-timeout"))["RM-3"]!;
      expect(r.outcome).toBe("fail");
      expect(r.observed).toMatch(/1 requests entering docker0 \(192\.168\.122\.10:5102\) were answered by no replica; never by babf8900fecf on docker0, 330496d9701f on docker1/);
    });
    it("passes with a note when one request of many times out and both replicas answered", () => {
      const r = judge((f) => Object.assign(section(f, "get/192.168.122.10/5102/3"), { rc: 124, output: "" }))["RM-3"]!;
      expect(r.outcome).toBe("pass");
      expect(r.details).toContain("request 3 to 192.168.122.10:5102: no answer (no answer within the request's timeout)");
    });
    it("fails when the service runs one replica, and is unchecked when both run on one node", () => {
      expect(judge(undefined, (m) => { containersOf(m, "docker1").splice(containersOf(m, "docker1").findIndex((c) => c.service === "web2-h"), 1); })["RM-3"]!.observed).toMatch(/web2-h runs 1 replica\(s\) \(babf8900fecf on docker0\), documented 2/);
      const r = judge(undefined, (m) => {
        const c = containersOf(m, "docker1").splice(containersOf(m, "docker1").findIndex((x) => x.service === "web2-h"), 1)[0]!;
        containersOf(m, "docker0").push(c);
      })["RM-3"]!;
      expect(r.outcome).toBe("unchecked");
      expect(r.explanation).toMatch(/the replicas of web2-h all run on docker0/);
    });
  });

  describe("RM-4", () => {
    it("fails when ingress_sbox does not mark the published port", () => {
      const r = judge((f) => Object.assign(section(f, "mangle"), { output: section(f, "mangle").output.replace(/.*--dport 5100.*\n/, "") }))["RM-4"]!;
      expect(r.outcome).toBe("fail");
      expect(r.observed).toMatch(/docker0: ingress_sbox has no mangle MARK rule for dport 5100 \(-A PREROUTING -p tcp -m tcp --dport 5102/);
    });
    it("fails when IPVS balances the mark elsewhere", () => {
      const r = judge((f) => Object.assign(section(f, "ipvs"), { output: section(f, "ipvs").output.replace("0AFF000A:0000", "0AFF0063:0000") }))["RM-4"]!;
      expect(r.outcome).toBe("fail");
      expect(r.observed).toMatch(/IPVS mark 0x105 balances to 10\.255\.0\.99 .*, not to c385ba2b1370 on docker1 \(10\.255\.0\.10\)/);
    });
    it("fails when the ingress network has another VXLAN id", () => {
      const r = judge(undefined, (m) => { m.hosts[0]!.networks!.find((n) => n.name === "ingress")!.options["com.docker.network.driver.overlay.vxlanid_list"] = "4097"; })["RM-4"]!;
      expect(r.outcome).toBe("fail");
      expect(r.observed).toMatch(/docker0: docker network inspect ingress shows vxlanid_list 4097, not 4096/);
    });
    it("fails when no VXLAN packet of VNI 4096 crossed, or it did not come from ingress_sbox", () => {
      const none = judge((f) => Object.assign(section(f, "capture"), { rc: 124, output: "" }))["RM-4"]!;
      expect(none.outcome).toBe("fail");
      expect(none.observed).toMatch(/no VXLAN packet with VNI 4096 left for docker1 \(192\.168\.122\.11\) carrying traffic to c385ba2b1370 on docker1 at 10\.255\.0\.10 \(captured: nothing\)/);
      const other = judge((f) => Object.assign(section(f, "capture"), { output: section(f, "capture").output.replace(/vni 4096/g, "vni 4097") }))["RM-4"]!;
      expect(other.observed).toMatch(/captured: 192\.168\.122\.10 > 192\.168\.122\.11 vni 4097 \[10\.255\.0\.2 > 10\.255\.0\.10\]/);
      const src = judge((f) => Object.assign(section(f, "capture"), { output: section(f, "capture").output.replace(/IP 10\.255\.0\.2\./g, "IP 10.255.0.77.") }))["RM-4"]!;
      expect(src.observed).toMatch(/come from 10\.255\.0\.77, not from ingress_sbox's ingress address 10\.255\.0\.2/);
    });
    it("is unchecked when tcpdump is missing or the replica runs on the entry node", () => {
      const r = judge((f) => Object.assign(section(f, "capture"), { rc: 127, output: "", stderr: "tcpdump: command not found\n" }))["RM-4"]!;
      expect(r.outcome).toBe("unchecked");
      expect(r.explanation).toMatch(/docker0: `tcpdump -nn udp dst port 4789 \(on the underlay NIC\)` is not installed/);
      const local = judge(undefined, (m) => {
        const c = containersOf(m, "docker1").splice(containersOf(m, "docker1").findIndex((x) => x.service === "web-h"), 1)[0]!;
        containersOf(m, "docker0").push(c);
      })["RM-4"]!;
      expect(local.outcome).toBe("unchecked");
      expect(local.explanation).toMatch(/web-h's replicas run on docker0 itself/);
    });
  });
});
