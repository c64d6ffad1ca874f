import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { FACT_IDS, FACTS } from "../../../../labs/swarm-overlay/facts";
import { swarmOverlayLab } from "../../../../labs/swarm-overlay/lab";
import { runChecks } from "../../../../labs/swarm-overlay/checks";
import { parseSteps, parseTrafficOutput, type TrafficObservations, type TrafficPlan } from "../../../../labs/swarm-overlay/traffic";
import { judgeTraffic } from "../../../../labs/swarm-overlay/traffic-checks";
import type { FactResult } from "../../../../scripts/lib/verify/result";
import { gatheredFromText } from "../../../../scripts/lib/verify/gather";
import { buildModel, type HostModel, type Iface, type LabModel, type Namespace } from "../../../../scripts/lib/verify/model";
import { check, clone, failing, FIXTURES, hostIn, liveInventory, liveModel, namespaceIn, outcomes } from "../../verify/helpers";

const { model: BASE, inventory: INV } = liveModel("json");

const host = hostIn;
const ns = namespaceIn;
const iface = (n: Namespace, name: string): Iface => n.interfaces.find((i) => i.name === name)!;
const sandbox = (m: LabModel, h: string): Namespace => ns(m, h, "sandbox");
const overlay = (m: LabModel, h: string): Namespace => host(m, h).namespaces.find((n) => n.kind === "overlay" && n.network?.name === "demonet")!;

/** Run one fact on a mutated copy of the baseline model. */
function one(id: string, mutate: (m: LabModel) => void = () => undefined): FactResult {
  const m = clone(BASE);
  mutate(m);
  const [r] = check(m, INV, [id]);
  return r!;
}

const BASELINE_OUTCOMES = {
  "HOST-1": "changed",
  "HOST-2": "changed",
  "HOST-3": "pass",
  "CL-1": "pass",
  "CL-2": "pass",
  "WL-1": "pass",
  "WL-2": "pass",
  "PORT-1": "pass",
  "NET-1": "pass",
  "NS-1": "changed",
  "NS-2": "pass",
  "IPAM-1": "pass",
  "IPAM-2": "pass",
  "SB-1": "pass",
  "SB-2": "changed",
  "SB-3": "pass",
  "RT-1": "pass",
  "VETH-1": "pass",
  "VETH-2": "pass",
  "OVL-1": "changed",
  "OVL-2": "pass",
  "VXLAN-1": "pass",
  "VXLAN-2": "pass",
  "ING-1": "pass",
  "ING-2": "pass",
  // no traffic evidence in a model built from the gather alone
  "PATH-1": "unchecked",
  "PATH-2": "unchecked",
  "PATH-3": "unchecked",
  "PATH-4": "unchecked",
};

describe("the live-like Docker 20.10 / Debian 12 lab", () => {
  for (const mode of ["json", "text"] as const) {
    it(`(${mode}) passes, or shows exactly the documented newer-engine differences`, () => {
      const { model, inventory } = liveModel(mode);
      expect(outcomes(check(model, inventory))).toEqual(BASELINE_OUTCOMES);
    });
  }

  it("reports one result per fact, in the facts' order, citing the seed", () => {
    const results = check(BASE, INV);
    expect(results.map((r) => r.id)).toEqual([...FACT_IDS]);
    for (const r of results) {
      const f = FACTS.find((x) => x.id === r.id)!;
      expect(r.title).toBe(f.title);
      expect(r.seed).toMatch(/^\d{3}_[0-9a-f]{16}\.txt/);
      expect(r.expected.length).toBeGreaterThan(0);
      expect(r.observed.length).toBeGreaterThan(0);
    }
  });

  it("never reports 'changed' without the explanation from the Newer engines column", () => {
    for (const r of check(BASE, INV).filter((x) => x.outcome === "changed")) {
      expect(r.explanation).toBe(FACTS.find((f) => f.id === r.id)!.newerEngines);
    }
    expect(one("NS-1").observed).toMatch(/docker0: extra lb_k3b7x2n9q, the load-balancer namespace of demonet/);
    expect(one("SB-2").observed).toMatch(/192\.168\.200\.2\/32 is not on eth0 but on eth0 in lb_k3b7x2n9q/);
    expect(one("OVL-1").observed).toMatch(/the vxlan interface is vxlan0 \(004: vxlan1\)/);
    expect(one("HOST-1").observed).toMatch(/Debian GNU\/Linux 12 \(bookworm\) instead of CentOS Linux 7 \(Core\)/);
    expect(one("HOST-2").observed).toMatch(/the NIC is enp1s0 \(seed: ens3\)/);
  });

  it("--only runs just the asked facts", () => {
    expect(check(BASE, INV, ["VXLAN-1", "OVL-2"]).map((r) => r.id)).toEqual(["OVL-2", "VXLAN-1"]);
  });
});

describe("the documented state itself passes (the seeds' lab, as far as the model can express it)", () => {
  it("HOST-1 passes on CentOS 7, HOST-2 on ens3, SB-2 with the VIP on eth0, NS-1/OVL-1 without lb_ and with vxlan1", () => {
    expect(
      one("HOST-1", (m) => m.hosts.forEach((h) => (h.os = { id: "centos", versionId: "7", prettyName: "CentOS Linux 7 (Core)", name: "CentOS Linux", fields: {} }))).outcome,
    ).toBe("pass");
    expect(one("HOST-2", (m) => m.hosts.forEach((h) => (iface(ns(m, h.name, "host"), "enp1s0").name = "ens3"))).outcome).toBe("pass");
    const seedLike = (m: LabModel): void => {
      for (const h of m.hosts) {
        const lb = h.namespaces.find((n) => n.kind === "lb")!;
        const ovl = overlay(m, h.name);
        h.namespaces = h.namespaces.filter((n) => n !== lb);
        h.netnsNames = h.netnsNames!.filter((n) => n !== lb.id);
        ovl.interfaces = ovl.interfaces.filter((i) => i.peer?.namespace !== lb.id);
        iface(ovl, "vxlan0").name = "vxlan1";
        iface(sandbox(m, h.name), "eth0").addresses.push({ family: "inet", local: "192.168.200.2", prefixlen: 32, scope: "global" });
      }
    };
    expect(one("NS-1", seedLike).outcome).toBe("pass");
    expect(one("OVL-1", seedLike).outcome).toBe("pass");
    expect(one("SB-2", seedLike).outcome).toBe("pass");
    // with the VIP on eth0 the task's exec view still has to agree: SB-3 compares both sides
    expect(one("SB-1", seedLike).outcome).toBe("pass");
  });

  it("WL-2: a failed-then-retried task (004) is 'changed', with the task and its error", () => {
    const r = one("WL-2", (m) => {
      host(m, "docker0").serviceTasks!.splice(1, 0, {
        id: "lbg6y0b0y3zh",
        name: "demoservice.1",
        history: true,
        slot: 1,
        image: "alpine:latest",
        node: "docker0.local",
        desiredState: "Shutdown",
        currentState: "Failed",
        currentStateText: "Failed 8 minutes ago",
        error: "starting container failed: Ad…",
      });
    });
    expect(r.outcome).toBe("changed");
    expect(r.observed).toBe("demoservice.1 on docker0.local failed 8 minutes ago (starting container failed: Ad…) and was replaced");
    expect(r.explanation).toMatch(/a task may fail and be retried/);
  });
});

describe("each check fails on a lab that violates its fact, saying what differs", () => {
  const cases: [string, string, (m: LabModel) => void, RegExp][] = [
    ["HOST-1", "hostname", (m) => (host(m, "docker1").hostname = "docker1"), /docker1: hostname is docker1, expected docker1.local/],
    ["HOST-1", "not a VM", (m) => (host(m, "docker1").virt = "none"), /systemd-detect-virt says none/],
    ["HOST-2", "wrong address", (m) => (iface(ns(m, "docker1", "host"), "enp1s0").addresses[0]!.local = "192.168.122.12"), /docker1: no interface has 192.168.122.11/],
    ["HOST-2", "two NICs", (m) => ns(m, "docker0", "host").interfaces.push({ name: "enp2s0", ifindex: 99, kind: "device", mtu: 1500, flags: [], addresses: [] }), /docker0: 2 NICs .*enp1s0, enp2s0/],
    ["HOST-2", "wrong prefix", (m) => (iface(ns(m, "docker0", "host"), "enp1s0").addresses[0]!.prefixlen = 16), /192.168.122.10\/16, expected \/24/],
    ["HOST-3", "no address", (m) => (iface(ns(m, "docker0", "host"), "docker0").addresses = []), /docker0 has no IPv4, expected 172.17.0.1\/16/],
    ["HOST-3", "carrier while unused", (m) => (iface(ns(m, "docker1", "host"), "docker0").flags = ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"]), /unused but not NO-CARRIER/],
    ["CL-1", "joined elsewhere", (m) => (host(m, "docker1").info!.swarm.remoteManagers = [{ nodeId: "x", addr: "192.168.122.99:2377" }]), /joined 192.168.122.99:2377, expected 192.168.122.10:2377/],
    ["CL-1", "swarm left", (m) => (host(m, "docker1").info!.swarm.localNodeState = "inactive"), /swarm state is "inactive"/],
    ["CL-1", "advertises another address", (m) => (host(m, "docker0").info!.swarm.nodeAddr = "10.0.0.5"), /node address is 10.0.0.5, expected 192.168.122.10/],
    ["CL-2", "node down", (m) => (host(m, "docker0").nodes![1]!.status = "Down"), /docker1.local: STATUS Down, expected Ready/],
    ["CL-2", "extra node", (m) => host(m, "docker0").nodes!.push({ id: "zz", self: false, hostname: "docker2.local", status: "Down", availability: "Active", managerStatus: "" }), /unexpected node docker2.local/],
    ["WL-1", "not overlay", (m) => (host(m, "docker0").networks!.find((n) => n.name === "demonet")!.driver = "bridge"), /driver is bridge, expected overlay/],
    ["WL-1", "missing", (m) => (host(m, "docker0").networks = host(m, "docker0").networks!.filter((n) => n.name !== "demonet")), /no network demonet/],
    ["WL-2", "replicas", (m) => (host(m, "docker0").service!.replicas = 3), /3 replicas, expected 2/],
    ["WL-2", "command", (m) => (host(m, "docker0").service!.command = ["sleep", "10000"]), /command is "sleep 10000", expected "sleep 50000"/],
    ["WL-2", "image", (m) => (host(m, "docker0").service!.image = "busybox:latest"), /image is busybox:latest, expected alpine/],
    ["WL-2", "task not running", (m) => Object.assign(host(m, "docker0").serviceTasks![1]!, { currentState: "Preparing", currentStateText: "Preparing 3 seconds ago" }), /demoservice.2 on docker1.local is Preparing 3 seconds ago, expected Running/],
    ["PORT-1", "no vxlan socket", (m) => (host(m, "docker1").sockets = host(m, "docker1").sockets!.filter((s) => s.port !== 4789)), /docker1: nothing listens on 4789\/udp/],
    ["PORT-1", "no manager port", (m) => (host(m, "docker0").sockets = host(m, "docker0").sockets!.filter((s) => s.port !== 2377)), /docker0: nothing listens on 2377\/tcp/],
    ["NET-1", "extra network", (m) => host(m, "docker1").networkLs!.push({ id: "abc", name: "mynet", driver: "bridge", scope: "local" }), /docker1: unexpected network mynet/],
    ["NET-1", "wrong scope", (m) => (host(m, "docker1").networkLs!.find((n) => n.name === "ingress")!.scope = "local"), /ingress is overlay\/local, expected overlay\/swarm/],
    ["NS-1", "stray namespace", (m) => host(m, "docker1").netnsNames!.push("my-netns"), /docker1: unexpected namespace my-netns/],
    ["NS-1", "no ingress_sbox", (m) => (host(m, "docker0").netnsNames = host(m, "docker0").netnsNames!.filter((n) => n !== "ingress_sbox")), /docker0: no ingress_sbox/],
    ["NS-2", "elsewhere", (m) => (host(m, "docker1").containers![0]!.sandboxKey = "/run/netns/9b41d6e2c07a"), /is not under \/var\/run\/docker\/netns/],
    ["IPAM-1", "gateway", (m) => (host(m, "docker0").networks!.find((n) => n.name === "demonet")!.ipam[0]!.gateway = "192.168.200.254"), /docker0: gateway 192.168.200.254, expected 192.168.200.1/],
    ["IPAM-2", "host bridge address", (m) => (iface(ns(m, "docker1", "host"), "docker_gwbridge").addresses[0]!.local = "172.19.0.1"), /docker_gwbridge has 172.19.0.1\/16, expected 172.18.0.1\/16/],
    ["SB-1", "mtu", (m) => (iface(sandbox(m, "docker1"), "eth0").mtu = 1500), /eth0 mtu 1500, expected 1450/],
    ["SB-1", "extra interface", (m) => sandbox(m, "docker0").interfaces.push({ name: "eth2", ifindex: 40, kind: "veth", mtu: 1500, flags: [], addresses: [] }), /interfaces eth0, eth1, eth2, lo, expected eth0, eth1, lo/],
    ["SB-2", "no VIP anywhere", (m) => m.hosts.forEach((h) => (h.namespaces = h.namespaces.filter((n) => n.kind !== "lb"))), /192.168.200.2\/32 is neither on eth0 nor in an lb_ namespace/],
    ["SB-3", "exec disagrees", (m) => (Object.values(host(m, "docker1").execLinks)[0]!.find((l) => l.name === "eth0")!.addresses = []), /docker exec shows eth0 \(11, mtu 1450, no IPv4\); nsenter shows eth0 \(11, mtu 1450, 192.168.200.4\/24\)/],
    ["RT-1", "other default route", (m) => (sandbox(m, "docker0").routes[0]!.gateway = "172.18.0.254"), /missing route "default via 172.18.0.1 dev eth1".*unexpected route "default via 172.18.0.254 dev eth1"/],
    ["VETH-1", "not on br0", (m) => delete iface(overlay(m, "docker0"), "veth0").master, /veth0 is enslaved to nothing, expected br0/],
    ["VETH-1", "ethtool disagrees", (m) => (iface(sandbox(m, "docker1"), "eth0").ethtoolPeerIfindex = 77), /eth0@if12 but ethtool says peer_ifindex 77/],
    ["VETH-1", "peer gone", (m) => delete iface(sandbox(m, "docker1"), "eth0").peer, /the peer of eth0@if12 was not found/],
    ["VETH-2", "wrong bridge", (m) => (iface(ns(m, "docker0", "host"), "veth9f04b6d").master = "docker0"), /veth9f04b6d is enslaved to docker0, expected docker_gwbridge/],
    ["OVL-1", "two vxlans", (m) => overlay(m, "docker1").interfaces.push({ ...iface(overlay(m, "docker1"), "vxlan0"), name: "vxlan1", ifindex: 50 }), /2 vxlan interfaces, expected 1/],
    ["OVL-1", "stray veth", (m) => overlay(m, "docker1").interfaces.push({ name: "veth9", ifindex: 60, kind: "veth", mtu: 1450, flags: [], master: "br0", addresses: [] }), /veth9 leads to no known namespace, not to a local task/],
    ["OVL-2", "timers", (m) => (iface(overlay(m, "docker0"), "br0").bridge!.helloTime = 100), /docker0: br0 timers differ/],
    ["VXLAN-1", "dstport", (m) => (iface(overlay(m, "docker1"), "vxlan0").vxlan!.dstport = 8472), /dstport 8472, expected 4789/],
    ["VXLAN-1", "flags", (m) => (iface(overlay(m, "docker1"), "vxlan0").vxlan!.l2miss = false), /lacks l2miss/],
    ["VXLAN-1", "inspect disagrees", (m) => (host(m, "docker1").networks!.find((n) => n.name === "demonet")!.options["com.docker.network.driver.overlay.vxlanid_list"] = "4100"), /vxlanid_list is 4100 but vxlan0 has id 4097/],
    ["VXLAN-2", "ingress vni", (m) => (iface(host(m, "docker0").namespaces.find((n) => n.network?.name === "ingress")!, "vxlan0").vxlan!.id = 4100), /vxlan id 4100, documented 4096/],
    ["ING-1", "endpoint name", (m) => (host(m, "docker1").networks!.find((n) => n.name === "ingress")!.containers[0]!.name = "ingress"), /ingress-sbox is named ingress, expected ingress-endpoint/],
    ["ING-2", "eth1 address", (m) => (iface(ns(m, "docker1", "ingress_sbox"), "eth1").addresses[0]!.local = "172.19.0.2"), /eth1 has 172.19.0.2\/16, expected 172.18.0.2\/16/],
  ];
  it("NS-1: the namespace of a container that is gone is a note, not a failure (Docker removes it within a minute)", () => {
    const r = one("NS-1", (m) => host(m, "docker1").netnsNames!.push("0123456789ab"));
    expect(r.outcome).not.toBe("fail");
    expect(r.details.join("\n")).toMatch(/docker1: 0123456789ab is the namespace of a container that is gone/);
  });

  it("ING-2: another docker_gwbridge address than .2 (a node that restarted) is a note, not a failure", () => {
    const r = one("ING-2", (m) => (iface(ns(m, "docker1", "ingress_sbox"), "eth1").addresses[0]!.local = "172.18.0.3"));
    expect(r.outcome).toBe("pass");
    expect(r.details.join("\n")).toMatch(/docker1: eth1 has 172.18.0.3\/16, not 172.18.0.2: on a node that restarted/);
  });

  for (const [id, what, mutate, re] of cases) {
    it(`${id}: ${what}`, () => {
      const r = one(id, mutate);
      expect(r.outcome).toBe("fail");
      expect(r.observed).toMatch(re);
      expect(r.expected.length).toBeGreaterThan(0);
    });
  }

  it("every non-traffic fact has at least one failing case above", () => {
    const covered = new Set(cases.map((c) => c[0]));
    expect(FACT_IDS.filter((id) => !id.startsWith("PATH-") && !covered.has(id))).toEqual([]);
  });
});

describe("could not check: missing data is never a failure of the lab", () => {
  const cases: [string, string, (m: LabModel) => void, RegExp][] = [
    ["SB-3", "exec missing", (m) => (host(m, "docker1").execLinks = {}), /^docker1: demoservice\.2\.\w+: `docker exec b7e1d3f5a9c2 ip addr show` was not gathered$/],
    ["OVL-2", "no bridge details", (m) => delete iface(overlay(m, "docker0"), "br0").bridge, /no bridge details for br0/],
    ["HOST-1", "hostname not gathered", (m) => delete host(m, "docker1").hostname, /^docker1: `cat \/proc\/sys\/kernel\/hostname` was not gathered$/],
    ["PORT-1", "ss not installed", (m) => {
      delete host(m, "docker1").sockets;
      host(m, "docker1").issues.push({ key: "ss", kind: "not-found", message: "`ss -Hlntu` is not installed (command not found)" });
    }, /^docker1: `ss -Hlntu` is not installed \(command not found\)$/],
    ["CL-1", "docker info timed out", (m) => {
      delete host(m, "docker1").info;
      host(m, "docker1").issues.push({ key: "docker-info", kind: "timeout", message: "`docker info` timed out" });
    }, /^docker1: `docker info` timed out$/],
    ["CL-1", "docker down", (m) => {
      delete host(m, "docker1").info;
      host(m, "docker1").dockerDown = "the Docker engine is not running";
    }, /^docker1: the Docker engine is not running$/],
    ["WL-2", "service section not gathered", (m) => delete host(m, "docker0").service, /^docker0: `docker service inspect <service>` was not gathered$/],
    ["NS-1", "netns listing discarded", (m) => {
      delete host(m, "docker0").netnsNames;
      host(m, "docker0").issues.push({ key: "netns-ls", kind: "discarded", message: "`ls -1 /var/run/docker/netns`: its output arrived damaged (65 bytes announced, 60 received) and was discarded" });
    }, /docker0: `ls -1 \/var\/run\/docker\/netns`: its output arrived damaged/],
    ["ING-2", "sandbox links failed", (m) => ns(m, "docker1", "ingress_sbox").issues.push("`ip -d link show` failed with exit code 1"), /^docker1: `ip -d link show` failed with exit code 1$/],
    ["VETH-1", "a namespace not gathered", (m) => {
      delete iface(sandbox(m, "docker1"), "eth0").peer;
      overlay(m, "docker1").issues.push("`ip -d link show` timed out");
    }, /the peer of eth0@if12 is unknown: not every namespace was gathered/],
  ];
  for (const [id, what, mutate, re] of cases) {
    it(`${id}: ${what}`, () => {
      const r = one(id, mutate);
      expect(r.outcome).toBe("unchecked");
      expect(r.explanation).toMatch(re);
    });
  }

  it("but a service that docker says does not exist fails WL-2", () => {
    const r = one("WL-2", (m) => {
      delete host(m, "docker0").service;
      host(m, "docker0").serviceMissing = true;
    });
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/service demoservice not found/);
  });

  it("and what could be checked still fails: a failure elsewhere wins over a host that could not be asked", () => {
    const r = one("PORT-1", (m) => {
      host(m, "docker0").sockets = host(m, "docker0").sockets!.filter((x) => x.port !== 2377);
      Object.assign(host(m, "docker1"), { reachable: false, error: "connection refused on port 22" });
    });
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/docker0: nothing listens on 2377\/tcp/);
    expect(r.details).toContain("also could not check: docker1: connection refused on port 22");
  });
});

describe("hosts that could not be gathered", () => {
  it("keep every per-host fact from being checked, naming the host and the cause; never a pass or a fail", () => {
    const inv = liveInventory();
    const g = gatheredFromText(inv, { docker0: fs.readFileSync(path.join(FIXTURES, "live-like/json/docker0.txt"), "utf8") });
    g.hosts[1] = { ...g.hosts[1]!, ok: false, error: "connection refused on port 22" };
    const results = runChecks({ model: buildModel(g, inv), lab: swarmOverlayLab, inventory: inv });
    const r = Object.fromEntries(results.map((x) => [x.id, x]));
    for (const id of ["HOST-1", "HOST-2", "HOST-3", "CL-1", "PORT-1", "NET-1", "NS-1", "IPAM-2", "SB-1", "VETH-1", "OVL-1", "VXLAN-1", "ING-1", "ING-2"]) {
      expect(r[id]!.outcome, id).toBe("unchecked");
      expect(r[id]!.explanation, id).toBe("docker1: connection refused on port 22");
    }
    expect(results.filter((x) => x.outcome === "fail").map((x) => x.id)).toEqual([]);
    // the manager's views still work
    expect(r["WL-1"]!.outcome).toBe("pass");
    expect(r["CL-2"]!.outcome).toBe("pass");
  });

  it("without any manager that answered, the cluster facts could not be checked", () => {
    const inv = liveInventory();
    const g = gatheredFromText(inv, { docker1: fs.readFileSync(path.join(FIXTURES, "live-like/json/docker1.txt"), "utf8") });
    const results = runChecks({ model: buildModel(g, inv), lab: swarmOverlayLab, inventory: inv }, { only: ["CL-2", "WL-2"] });
    for (const r of results) {
      expect(r.outcome).toBe("unchecked");
      expect(r.explanation).toMatch(/no swarm manager answered: docker0: no gathered output for this host/);
    }
  });

  it("a manager that answered but is no swarm manager fails the cluster facts", () => {
    const m = clone(BASE);
    host(m, "docker0").info!.swarm.controlAvailable = false;
    host(m, "docker0").info!.swarm.localNodeState = "inactive";
    delete host(m, "docker0").nodes;
    delete m.manager;
    const [r] = check(m, INV, ["CL-2"]);
    expect(r!.outcome).toBe("fail");
    expect(r!.observed).toMatch(/no swarm manager answered \(docker0: swarm inactive, not a manager\)/);
  });
});

describe("traffic facts", () => {
  it("could not be checked, and say so, until traffic evidence is plugged in", () => {
    for (const r of check(BASE, INV, ["PATH-1", "PATH-2", "PATH-3", "PATH-4"])) {
      expect(r.outcome).toBe("unchecked");
      expect(r.explanation).toBe("the traffic checks did not run");
    }
  });
  it("are judged from the traffic probe's observations in the model, like every other fact", () => {
    const m = clone(BASE);
    const plumbing = path.resolve(FIXTURES, "../plumbing/traffic");
    const plan = JSON.parse(fs.readFileSync(path.join(plumbing, "plan-emu.json"), "utf8")) as TrafficPlan;
    const run = parseTrafficOutput(fs.readFileSync(path.join(plumbing, "ok.txt"), "utf8"));
    const obs: TrafficObservations = { kind: "ran", plan, run, parsed: parseSteps(run, plan) };
    m.probe = obs;
    const judged = judgeTraffic(run, plan);
    const r = Object.fromEntries(check(m, INV, ["PATH-2", "PATH-3", "PATH-4"]).map((x) => [x.id, x]));
    expect(r["PATH-3"]).toMatchObject({ outcome: "pass", expected: judged["PATH-3"].expected, observed: judged["PATH-3"].observed });
    expect(r["PATH-2"]).toMatchObject({ outcome: "pass", observed: judged["PATH-2"].observed, explanation: judged["PATH-2"].explanation });
    expect(r["PATH-4"]).toMatchObject({ outcome: "pass", details: judged["PATH-4"].details });
    // Facts the probe did not reach keep the reason; a fact it says nothing about was not checked.
    m.probe = { kind: "not-run", facts: { "PATH-3": { outcome: "skip", expected: "x", observed: "not checked", explanation: "traffic checks disabled (--no-traffic)" } } } satisfies TrafficObservations;
    const r2 = Object.fromEntries(check(m, INV, ["PATH-3", "PATH-4"]).map((x) => [x.id, x]));
    expect(r2["PATH-3"]).toMatchObject({ outcome: "skip", explanation: "traffic checks disabled (--no-traffic)" });
    expect(r2["PATH-4"]).toMatchObject({ outcome: "unchecked", explanation: "the traffic checks did not run" });
  });
});

describe("the deliberate breaks trip exactly the predicted facts (captured emulations)", () => {
  const scenario = (name: string): FactResult[] => {
    const inv = liveInventory();
    const dir = path.join(FIXTURES, "live-like", "scenarios", name);
    const g = gatheredFromText(inv, { docker0: fs.readFileSync(path.join(dir, "docker0.txt"), "utf8"), docker1: fs.readFileSync(path.join(dir, "docker1.txt"), "utf8") });
    return runChecks({ model: buildModel(g, inv), lab: swarmOverlayLab, inventory: inv });
  };

  it("(a) docker service scale demoservice=1 -> WL-2", () => {
    const r = scenario("scale1");
    expect(failing(r)).toEqual(["WL-2"]);
    expect(r.find((x) => x.id === "WL-2")!.observed).toBe("1 replicas, expected 2; 1 tasks are meant to run, expected 2; 0 tasks on docker1.local, expected 1");
  });

  it("(b) docker node update --availability drain docker1.local -> CL-2, WL-2", () => {
    const r = scenario("drain");
    expect(failing(r)).toEqual(["CL-2", "WL-2"]);
    expect(r.find((x) => x.id === "CL-2")!.observed).toBe("docker1.local: AVAILABILITY Drain, expected Active");
    expect(r.find((x) => x.id === "WL-2")!.observed).toBe("2 tasks on docker0.local, expected 1; 0 tasks on docker1.local, expected 1");
    // both tasks now live on docker0: its sandboxes, veths and overlay still check out
    expect(outcomes(r)["VETH-1"]).toBe("pass");
    expect(outcomes(r)["OVL-1"]).toBe("changed");
  });

  it("(c) demonet recreated with subnet 192.168.201.0/24 -> WL-1, IPAM-1, SB-1, SB-2, RT-1, VXLAN-1", () => {
    const r = scenario("subnet201");
    expect(failing(r)).toEqual(["WL-1", "IPAM-1", "SB-1", "SB-2", "RT-1", "VXLAN-1"]);
    expect(r.find((x) => x.id === "VXLAN-1")!.observed).toMatch(/vxlan id 4098, documented 4097/);
    expect(r.find((x) => x.id === "SB-2")!.observed).toMatch(/the service's VIP on demonet is 192.168.201.2, expected 192.168.200.2/);
  });
});
