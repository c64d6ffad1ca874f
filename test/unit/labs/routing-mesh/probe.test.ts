import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { probeScript } from "../../../../labs/script-probe";
import { DOCUMENTED_SERVICES, probeBody, requestKey, routingMeshProbe } from "../../../../labs/routing-mesh/probe";
import { RM_FACT_IDS } from "../../../../labs/routing-mesh/facts";
import { routingMesh } from "../../../../labs/routing-mesh";
import { labNamed } from "../../../../labs";
import { inventory, liveModel, LIVE } from "./fixture";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-rm-probe-"));

describe("routing-mesh probe", () => {
  it("is registered as the lab routing-mesh with its probe", () => {
    expect(labNamed("routing-mesh")).toBe(routingMesh);
    expect(routingMesh.traffic).toBe(routingMeshProbe);
    expect(routingMeshProbe.factIds).toEqual(RM_FACT_IDS);
    expect(routingMesh.definition.workload).toBeUndefined();
  });

  it("builds a script that passes bash -n and shellcheck", () => {
    const { model, inv } = liveModel();
    const file = path.join(tmp, "probe.sh");
    fs.writeFileSync(file, `#!/usr/bin/env bash\n${probeScript(probeBody(inv, model))}`);
    expect(spawnSync("bash", ["-n", file], { encoding: "utf8" }).status).toBe(0);
    const r = spawnSync("shellcheck", ["-S", "warning", file], { encoding: "utf8" });
    expect(r.stdout).toBe("");
    expect(r.status).toBe(0);
  });

  it("asks every node on the documented ports and captures on the manager's underlay NIC", () => {
    const { model, inv } = liveModel();
    const body = probeBody(inv, model);
    const d = DOCUMENTED_SERVICES;
    for (const a of ["192.168.122.10", "192.168.122.11"]) {
      expect(body).toContain(`swl_section ${requestKey(a, d.web.published)} rm_get '${a}' 5000`);
      expect(body).toContain(`swl_section ${requestKey(a, d.webhost.published)} rm_get '${a}' 5001`);
    }
    expect(body).toContain(`swl_section "get/192.168.122.10/5002/$n" rm_get '192.168.122.10' 5002`);
    expect(body).toContain("tcpdump -l -nn -i 'ens3' -c 4 'udp dst port 4789 and src host 192.168.122.10'");
    expect(body).toContain("nsenter --net='/var/run/docker/netns/ingress_sbox' iptables -t mangle -S");
    expect(body).toContain("nsenter --net='/var/run/docker/netns/ingress_sbox' cat /proc/net/ip_vs");
    // The capture is running while the manager's own request to web goes through.
    expect(body.indexOf("tcpdump -l")).toBeLessThan(body.indexOf("swl_section get/192.168.122.10/5000"));
    expect(body.indexOf("swl_section get/192.168.122.10/5000")).toBeLessThan(body.indexOf("swl_section capture"));
  });

  it("throws naming the host when the model has no underlay NIC", () => {
    const { model, inv } = liveModel();
    model.hosts[0]!.namespaces = [];
    expect(() => probeBody(inv, model)).toThrow(/the gathered model of docker0 has no interface holding 192\.168\.122\.10/);
  });

  it("replays a saved run", () => {
    const { model } = liveModel();
    const ev = routingMeshProbe.replay(LIVE, inventory(), model) as { kind: string; framed: { complete: boolean } };
    expect(ev.kind).toBe("ran");
    expect(ev.framed.complete).toBe(true);
  });
});
