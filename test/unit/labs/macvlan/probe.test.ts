import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { macvlan } from "../../../../labs/macvlan";
import { macvlanProbe, peerHost, probeBody, probePlan } from "../../../../labs/macvlan/probe";
import { probeScript } from "../../../../labs/script-probe";
import { liveModel } from "./helpers";

describe("macvlan probe", () => {
  it("plans from the model: docker1's NIC, mactainer1's address and MAC on docker0", () => {
    const { model, inv } = liveModel({ probe: false });
    expect(peerHost(inv).name).toBe("docker1");
    expect(macvlanProbe.host(inv).name).toBe("docker1");
    expect(probePlan(inv, model)).toEqual({ peer: "docker1", nic: "ens3", sub: "ens3.100", target: { host: "docker0", ip: "10.0.0.2", mac: "02:42:0a:00:00:02" } });
  });

  it("says what the model lacks", () => {
    const a = liveModel({ probe: false });
    a.model.hosts[0]!.containers = a.model.hosts[0]!.containers!.filter((c) => c.name !== "mactainer1");
    expect(() => probePlan(a.inv, a.model)).toThrow(/no host runs mactainer1/);
    const b = liveModel({ probe: false });
    b.model.hosts[1]!.reachable = false;
    b.model.hosts[1]!.error = "connection refused";
    expect(() => probePlan(b.inv, b.model)).toThrow(/docker1 \(the VLAN 100 peer\) was not gathered: connection refused/);
    const c = liveModel({ probe: false });
    const m = c.model.hosts[0]!.containers!.find((x) => x.name === "mactainer1")!;
    m.networks = m.networks.filter((n) => n.name !== "macvlan100");
    expect(() => probePlan(c.inv, c.model)).toThrow(/mactainer1 has no IPv4 address and MAC on macvlan100/);
  });

  it("is valid bash, passes shellcheck, bounds its commands and undoes what it adds", () => {
    const { model, inv } = liveModel({ probe: false });
    const script = probeScript(probeBody(probePlan(inv, model)));
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-macvlan-probe-")), "probe.sh");
    fs.writeFileSync(file, script);
    expect(spawnSync("bash", ["-n", file]).status).toBe(0);
    const sc = spawnSync("shellcheck", ["-s", "bash", "-S", "warning", file], { encoding: "utf8" });
    expect(sc.stdout + sc.stderr).toBe("");
    expect(sc.status).toBe(0);
    expect(script).toMatch(/timeout 15 tcpdump -enl -i "\$nic" -c 16 'vlan and \(arp or icmp\)'/);
    expect(script).toMatch(/timeout 10 ping -c 3 .* -I "\$sub" "\$target"/);
    expect(script).toMatch(/^target='10\.0\.0\.2'$/m);
    expect(script).toMatch(/trap 'undo .*' EXIT/);
    expect(script).toMatch(/setsid sh -c 'sleep 90;/);
    expect(script).toMatch(/ip link add link "\$nic" name "\$sub" type vlan id 100/);
  });

  it("is the lab's traffic probe, for MV-1 and MV-3", () => {
    expect(macvlan.traffic).toBe(macvlanProbe);
    expect([...macvlanProbe.factIds]).toEqual(["MV-1", "MV-3"]);
  });
});
