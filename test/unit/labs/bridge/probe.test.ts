import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { describe, expect, it } from "vitest";
import { bridge } from "../../../../labs/bridge";
import { DOCUMENTED_NAMES, FACTS } from "../../../../labs/bridge/facts";
import { probeBody, SECTIONS } from "../../../../labs/bridge/probe";
import { probeScript } from "../../../../labs/script-probe";
import { clone, INV, LIVE_NAMES, liveModel } from "./helpers";

const MODEL = liveModel();

describe("bridge probe", () => {
  it("asks the published port, c2's ping and lookups, c3's lookup and localnet's stp_state, each bounded", () => {
    const body = probeBody(INV, MODEL, LIVE_NAMES);
    const id = MODEL.hosts[0]!.networks!.find((n) => n.name === "localnet-h")!.id;
    expect(body).toContain(`swl_section ${SECTIONS.port} timeout 6 docker port 'web-h'`);
    expect(body).toMatch(/swl_section http-published timeout 5 bash -c .*'192\.168\.122\.10' 5187/);
    expect(body).toContain("swl_section c2-ping-c1 timeout 7 docker exec 'c2-h' ping -c 1 -W 2 'c1-h'");
    expect(body).toContain("swl_section c2-nslookup-c1 timeout 7 docker exec 'c2-h' nslookup 'c1-h'");
    expect(body).toContain("swl_section c3-nslookup-c1 timeout 8 docker exec 'c3-h' nslookup 'c1-h'");
    expect(body).toContain(`swl_section localnet-stp-state cat '/sys/class/net/br-${id.slice(0, 12)}/bridge/stp_state'`);
    // the sum of the bounds stays under the probe's 40 s
    const bounds = [...body.matchAll(/timeout (\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
    expect(bounds).toBeLessThanOrEqual(35);
  });

  it("passes shellcheck as the whole script it runs", () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-bridge-probe-")), "probe.sh");
    fs.writeFileSync(file, `#!/usr/bin/env bash\n${probeScript(probeBody(INV, MODEL, LIVE_NAMES))}`);
    const r = spawnSync("shellcheck", ["-S", "warning", file], { encoding: "utf8" });
    expect(r.stdout).toBe("");
    expect(r.status).toBe(0);
  });

  it("refuses to run where none of the lab's containers runs, and leaves stp_state out without localnet", () => {
    expect(() => probeBody(INV, MODEL, DOCUMENTED_NAMES)).toThrow(/docker0 runs none of c1, c2, c3, web: the bridge lab is not built there/);
    const m = clone(MODEL);
    m.hosts[0]!.networks = m.hosts[0]!.networks!.filter((n) => n.name !== "localnet-h");
    expect(probeBody(INV, m, LIVE_NAMES)).not.toContain(SECTIONS.stp);
  });

  it("is the lab's probe, for the facts it yields evidence of, on the manager", () => {
    expect(bridge.traffic!.factIds).toEqual(["BR-2", "BR-4", "BR-5"]);
    expect(bridge.traffic!.host(INV).name).toBe("docker0");
    expect(FACTS.map((f) => f.id)).toEqual(["BR-1", "BR-2", "BR-3", "BR-4", "BR-5"]);
    expect(bridge.definition).toMatchObject({ name: "bridge", defaultImage: "alpine", subnets: [] });
    expect(bridge.definition.workload).toBeUndefined();
  });
});
