import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { check } from "../../../../labs/encrypted-overlay/checks";
import { encryptedOverlay } from "../../../../labs/encrypted-overlay";
import { probeBody, SECTIONS } from "../../../../labs/encrypted-overlay/probe";
import { findLab } from "../../../../labs";
import { probeScript, type ScriptEvidence } from "../../../../labs/script-probe";
import type { LabModel } from "../../../../scripts/lib/verify/model";
import type { FactResult } from "../../../../scripts/lib/verify/result";
import { fixture, fixtureModel, INVENTORY, liveEvidence, modelWithProbe } from "./fixture-model";

type Ran = Extract<ScriptEvidence, { kind: "ran" }>;

function one(id: string, model: LabModel): FactResult {
  const r = check(model, INVENTORY, { only: [id] });
  expect(r).toHaveLength(1);
  return r[0]!;
}

/** The live evidence with one section changed (or removed, when change returns undefined). */
function altered(key: string, change: (s: { output: string; rc: number; stderr?: string }) => { output: string; rc: number; stderr?: string } | undefined): LabModel {
  const ev = liveEvidence() as Ran;
  const s = ev.framed.sections[key]!;
  const next = change({ output: s.output, rc: s.rc, ...(s.stderr !== undefined ? { stderr: s.stderr } : {}) });
  if (next) ev.framed.sections[key] = { key, ...next };
  else delete ev.framed.sections[key];
  return modelWithProbe(ev);
}

const outcome = (id: string, m: LabModel) => one(id, m).outcome;

describe("encrypted-overlay checks on the live lab's evidence", () => {
  it("pass, every fact", () => {
    const r = check(modelWithProbe(), INVENTORY);
    expect(r.map((x) => [x.id, x.outcome])).toEqual([
      ["ENC-1", "pass"],
      ["ENC-2", "pass"],
      ["ENC-3", "pass"],
      ["ENC-4", "pass"],
      ["ENC-5", "pass"],
    ]);
    expect(r[2]!.observed).toContain("4x ESP 192.168.122.10 > 192.168.122.11, 4x ESP 192.168.122.11 > 192.168.122.10");
    expect(r[3]!.observed).toContain("spi 0xf06094ea (rfc4106(gcm(aes))): docker1 encrypts with it");
    expect(r.every((x) => x.seed === "003_0e0fcb137b8105a5.txt")).toBe(true);
  });

  it("the lab is registered, with the probe's facts", () => {
    expect(findLab("encrypted-overlay")).toBe(encryptedOverlay);
    expect(encryptedOverlay.traffic?.factIds).toEqual(["ENC-2", "ENC-3", "ENC-4", "ENC-5"]);
    expect(encryptedOverlay.definition.workload?.overlay).toEqual({ name: "uber-net", driver: "overlay", subnet: "10.20.0.0/24", gateway: "10.20.0.1" });
  });

  it("a probe not run: skip when disabled, unchecked with the cause otherwise", () => {
    const skip = check(modelWithProbe({ kind: "not-run", outcome: "skip", reason: "--no-traffic" }), INVENTORY);
    expect(skip.map((x) => x.outcome)).toEqual(["pass", "skip", "skip", "skip", "skip"]);
    const un = check(modelWithProbe({ kind: "not-run", outcome: "unchecked", reason: "docker0: connection refused" }), INVENTORY);
    expect(un.slice(1).map((x) => x.outcome)).toEqual(["unchecked", "unchecked", "unchecked", "unchecked"]);
    expect(un[1]!.explanation).toContain("docker0: connection refused");
    expect(check(fixtureModel(), INVENTORY)[1]!.explanation).toContain("the probe did not run");
  });
});

describe("ENC-1", () => {
  it("fails without the encrypted option or without uber-net, on either host", () => {
    const m = fixtureModel();
    delete m.hosts[0]!.networks!.find((n) => n.name === "uber-net")!.options["encrypted"];
    expect(one("ENC-1", m)).toMatchObject({ outcome: "fail", observed: expect.stringContaining("docker0: network uber-net's options are") });
    const gone = fixtureModel();
    gone.hosts[0]!.networks = gone.hosts[0]!.networks!.filter((n) => n.name !== "uber-net");
    expect(one("ENC-1", gone).observed).toMatch(/docker0 has no network uber-net/);
    const d1 = fixtureModel();
    delete d1.hosts[1]!.networks!.find((n) => n.name === "uber-net")!.options["encrypted"];
    expect(one("ENC-1", d1).observed).toMatch(/^docker1: network uber-net's options/);
  });

  it("is unchecked when the networks were not gathered", () => {
    const m = fixtureModel();
    delete m.hosts[0]!.networks;
    m.hosts[0]!.issues.push({ key: "docker-network-inspect", kind: "timeout", message: "`docker network inspect <all networks>` timed out" });
    expect(one("ENC-1", m)).toMatchObject({ outcome: "unchecked", explanation: "`docker network inspect <all networks>` timed out" });
    const down = fixtureModel();
    down.hosts[0]!.reachable = false;
    down.hosts[0]!.error = "connection refused";
    expect(one("ENC-1", down).outcome).toBe("unchecked");
  });
});

describe("ENC-2", () => {
  it("fails when no reply came", () => {
    const m = altered(SECTIONS.encPing, (s) => ({ output: s.output.replace(/^64 bytes.*\n/gm, "").replace("4 received, 0%", "0 received, 100%"), rc: 1 }));
    expect(one("ENC-2", m)).toMatchObject({ outcome: "fail", observed: "docker0's task of test (10.21.0.4) -> docker1's task (10.21.0.3) over uber-net: 0 of 4 echo requests answered" });
  });

  it("fails when docker1 runs no task of test", () => {
    const m = modelWithProbe();
    m.hosts[1]!.containers = m.hosts[1]!.containers!.filter((c) => c.service !== "test");
    expect(one("ENC-2", m)).toMatchObject({ outcome: "fail", observed: "docker1 runs no task of test with an address on uber-net" });
  });

  it("is unchecked when the ping did not run, printed no statistics or targeted another address", () => {
    expect(one("ENC-2", altered(SECTIONS.encPing, () => undefined)).explanation).toMatch(/^docker0: `nsenter --net=\/var\/run\/docker\/netns\/\S+ ping -c 4 10\.21\.0\.3` was not run by the probe$/);
    expect(one("ENC-2", altered(SECTIONS.encPing, () => ({ output: "", rc: 1, stderr: "nsenter: cannot open /var/run/docker/netns/x: No such file or directory" }))).explanation).toMatch(/printed no statistics \(exit code 1: nsenter: cannot open/);
    expect(one("ENC-2", altered(SECTIONS.encPing, (s) => ({ ...s, output: s.output.replace(/10\.21\.0\.3/g, "10.21.0.9") }))).explanation).toMatch(/the probe pinged 10\.21\.0\.9/);
    const noContainers = modelWithProbe();
    delete noContainers.hosts[1]!.containers;
    expect(outcome("ENC-2", noContainers)).toBe("unchecked");
  });
});

describe("ENC-3", () => {
  it("fails when uber-net's VXLAN crosses in clear (the plain capture, relabelled with uber-net's VNI)", () => {
    const plainAsUber = altered(SECTIONS.encCapture, () => {
      const ev = liveEvidence() as Ran;
      const p = ev.framed.sections[SECTIONS.plainCapture]!;
      return { output: p.output.replace(/vni 4102/g, "vni 4101"), rc: 0, stderr: p.stderr ?? "" };
    });
    const r = one("ENC-3", plainAsUber);
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/docker0: 8 UDP 4789 packet\(s\) with uber-net's VNI 4101 crossed ens3 in clear/);
    expect(r.observed).toMatch(/no ESP from 192\.168\.122\.10 to 192\.168\.122\.11 on ens3/);
  });

  it("fails when the ESP goes one way only, or nothing was captured", () => {
    const oneWay = altered(SECTIONS.encCapture, (s) => ({ ...s, output: s.output.split("\n").filter((l) => !l.includes("192.168.122.11 > 192.168.122.10")).join("\n") }));
    expect(one("ENC-3", oneWay)).toMatchObject({ outcome: "fail", observed: expect.stringMatching(/^docker0: no ESP from 192\.168\.122\.11 to 192\.168\.122\.10 on ens3 .*\(captured: 4x ESP 192\.168\.122\.10 > 192\.168\.122\.11\)$/) });
    expect(one("ENC-3", altered(SECTIONS.encCapture, (s) => ({ ...s, output: "" }))).observed).toMatch(/captured: nothing captured/);
  });

  it("fails when the tasks' packets show in clear", () => {
    const m = altered(SECTIONS.encCapture, (s) => ({ ...s, output: `${s.output}00:04:18.000000 IP 192.168.122.10.1 > 192.168.122.11.4789: VXLAN, flags [I] (0x08), vni 5000\nIP 10.21.0.4 > 10.21.0.3: ICMP echo request, id 1, seq 9, length 64\n` }));
    expect(one("ENC-3", m).observed).toMatch(/the tasks' packets \(10\.21\.0\.4 <-> 10\.21\.0\.3\) crossed ens3 in clear/);
  });

  it("is unchecked when tcpdump failed or never listened", () => {
    const failed = altered(SECTIONS.encCapture, () => ({ output: "", rc: 1, stderr: "tcpdump: ens3: You don't have permission to capture on that device" }));
    expect(one("ENC-3", failed)).toMatchObject({ outcome: "unchecked", explanation: expect.stringContaining("`tcpdump -ni ens3 'esp or udp port 4789'` failed with exit code 1: tcpdump: ens3: You don't have permission") });
    expect(one("ENC-3", altered(SECTIONS.encCapture, (s) => ({ ...s, stderr: "" }))).explanation).toMatch(/never said it was listening/);
    expect(one("ENC-3", altered(SECTIONS.encCapture, () => ({ output: "", rc: 127, stderr: "timeout: failed to run command 'tcpdump'" }))).explanation).toMatch(/is not installed/);
  });
});

describe("ENC-4", () => {
  const blocks = (text: string) => text.split(/(?=^src )/m);

  it("fails without an SA from docker1, with another algorithm, or when the wire's SPI is not among them", () => {
    const noIn = altered(SECTIONS.xfrm, (s) => ({ ...s, output: blocks(s.output).filter((b) => !b.startsWith("src 192.168.122.11")).join("") }));
    expect(one("ENC-4", noIn)).toMatchObject({ outcome: "fail", observed: expect.stringContaining("docker0 holds no ESP SA from docker1 to docker0 (192.168.122.11 > 192.168.122.10)") });
    expect(one("ENC-4", noIn).observed).toMatch(/ESP spi 0xf06094ea from 192\.168\.122\.11 to 192\.168\.122\.10 on the wire matches no SA of docker0/);
    const cbc = altered(SECTIONS.xfrm, (s) => ({ ...s, output: s.output.replace(/aead rfc4106\(gcm\(aes\)\) <redacted> 64/g, "auth-trunc hmac(sha256) <redacted> 128\n\tenc cbc(aes) <redacted>") }));
    expect(one("ENC-4", cbc).observed).toMatch(/SA spi 0x21db71de 192\.168\.122\.10 > 192\.168\.122\.11 uses cbc\(aes\)\+hmac\(sha256\), not rfc4106\(gcm\(aes\)\)/);
    const otherSpi = altered(SECTIONS.encCapture, (s) => ({ ...s, output: s.output.replace(/0x21db71de/g, "0x00c0ffee") }));
    expect(one("ENC-4", otherSpi).observed).toBe("ESP spi 0x00c0ffee from 192.168.122.10 to 192.168.122.11 on the wire matches no SA of docker0");
    expect(outcome("ENC-4", altered(SECTIONS.xfrm, (s) => ({ ...s, output: "" })))).toBe("fail");
  });

  it("is unchecked when ip xfrm failed, and never repeats a key that was not redacted", () => {
    expect(one("ENC-4", altered(SECTIONS.xfrm, () => ({ output: "", rc: 2, stderr: "RTNETLINK answers: Operation not permitted" }))).explanation).toBe("docker0: `ip xfrm state` failed with exit code 2: RTNETLINK answers: Operation not permitted");
    const key = "0xabcdefabcdefabcdefabcdefabcdefabcdefabcd";
    const leaked = one("ENC-4", altered(SECTIONS.xfrm, (s) => ({ ...s, output: s.output.replace("<redacted>", key) })));
    expect(leaked.outcome).toBe("unchecked");
    expect(JSON.stringify(leaked)).not.toContain("abcdefabcdef");
    const noCapture = one("ENC-4", altered(SECTIONS.encCapture, () => undefined));
    expect(noCapture).toMatchObject({ outcome: "pass", observed: expect.stringContaining("the wire's SPIs were not compared") });
  });
});

describe("ENC-5", () => {
  it("fails when plain-net's traffic is ESP, with another VNI, without ICMP inside, or when plain-net is encrypted", () => {
    const esp = altered(SECTIONS.plainCapture, () => {
      const e = (liveEvidence() as Ran).framed.sections[SECTIONS.encCapture]!;
      return { output: e.output, rc: 0, stderr: e.stderr ?? "" };
    });
    const r = one("ENC-5", esp);
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/no UDP 4789 with VNI 4102 from 192\.168\.122\.10 to 192\.168\.122\.11/);
    expect(r.observed).toMatch(/8 ESP packet\(s\) on ens3 while the task pinged over plain-net/);
    expect(one("ENC-5", altered(SECTIONS.plainCapture, (s) => ({ ...s, output: s.output.replace(/vni 4102/g, "vni 4096") }))).observed).toMatch(/no UDP 4789 with VNI 4102/);
    expect(one("ENC-5", altered(SECTIONS.plainCapture, (s) => ({ ...s, output: s.output.replace(/ICMP echo (request|reply)/g, "UDP") }))).observed).toMatch(/carry no ICMP echo between 10\.21\.1\.4 and 10\.21\.1\.3/);
    const enc = modelWithProbe();
    enc.hosts[0]!.networks!.find((n) => n.name === "plain-net")!.options["encrypted"] = "";
    expect(one("ENC-5", enc).observed).toMatch(/docker0: network plain-net's options are .*: encrypted is set/);
  });

  it("fails when the ping gets no answer, unchecked when the capture is missing", () => {
    const m = altered(SECTIONS.plainPing, (s) => ({ output: s.output.replace("4 received, 0%", "0 received, 100%"), rc: 1 }));
    expect(one("ENC-5", m).observed).toMatch(/over plain-net: 0 of 4 echo requests answered/);
    expect(one("ENC-5", altered(SECTIONS.plainCapture, () => undefined))).toMatchObject({ outcome: "unchecked" });
  });
});

describe("the probe's script", () => {
  it("is built from the model and passes shellcheck", () => {
    const body = probeBody(INVENTORY, fixtureModel());
    expect(body).toContain("timeout 15 tcpdump -ni 'ens3' -l -c 64 'esp or udp port 4789'");
    expect(body).toMatch(/swl_section enc-ping timeout 10 nsenter --net='\/var\/run\/docker\/netns\/[0-9a-f]+' ping -n -c 4 -i 0\.2 -W 1 '10\.21\.0\.3'/);
    expect(body).toContain("swl_section plain-ping");
    expect(body).toContain("swl_section xfrm-state eo_xfrm");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-encov-probe-"));
    const file = path.join(dir, "probe.sh");
    fs.writeFileSync(file, `#!/usr/bin/env bash\n${probeScript(body)}`);
    const r = spawnSync("shellcheck", ["-S", "warning", file], { encoding: "utf8" });
    expect(r.stdout).toBe("");
    expect(r.status).toBe(0);
  });

  it("leaves out an overlay the model lacks, and throws when it lacks both or the NIC", () => {
    const m = fixtureModel();
    m.hosts[1]!.containers = m.hosts[1]!.containers!.filter((c) => c.service !== "test-plain");
    const body = probeBody(INVENTORY, m);
    expect(body).toContain("enc-ping");
    expect(body).not.toContain("plain-ping");
    m.hosts[1]!.containers = [];
    expect(() => probeBody(INVENTORY, m)).toThrow(/docker1 runs no task of test with an address on uber-net; docker1 runs no task of test-plain/);
    const noNic = fixtureModel();
    noNic.hosts[0]!.namespaces = [];
    expect(() => probeBody(INVENTORY, noNic)).toThrow(/docker0: no interface of the host namespace holds 192\.168\.122\.10/);
  });

  it("the recorded output holds no key", () => {
    expect(fixture("probe-docker0.txt")).not.toMatch(/0x[0-9a-fA-F]{16,}/);
  });
});
