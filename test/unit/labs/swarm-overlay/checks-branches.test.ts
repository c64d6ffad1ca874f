/**
 * The branches of each check beyond "one thing broken fails the fact":
 * what keeps a fact from being checked (and the cause the reader gets),
 * what is only a note or a documented change, and the conditions that the
 * baseline never exercises (a stale node entry, a task on a foreign node, a
 * listener on a wildcard address, ...). Each case changes one thing of the
 * live-like baseline and asserts the outcome and the words that explain it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { parseSteps, parseTrafficOutput, type TrafficObservations, type TrafficPlan } from "../../../../labs/swarm-overlay/traffic";
import { judgeTraffic, toTrafficEvidence } from "../../../../labs/swarm-overlay/traffic-checks";
import type { FactResult } from "../../../../scripts/lib/verify/result";
import type { Inventory } from "../../../../scripts/lib/verify/inventory";
import type { HostModel, Iface, LabModel, Namespace } from "../../../../scripts/lib/verify/model";
import { check, clone, hostIn, liveModel, namespaceIn } from "../../verify/helpers";

const { model: BASE, inventory: INV } = liveModel("json");

const host = hostIn;
const nsOf = namespaceIn;
const iface = (n: Namespace, name: string): Iface => {
  const i = n.interfaces.find((x) => x.name === name);
  if (!i) throw new Error(`no ${name} in ${n.id}`);
  return i;
};
const sandbox = (m: LabModel, h: string): Namespace => nsOf(m, h, "sandbox");
const overlay = (m: LabModel, h: string, net = "demonet"): Namespace => host(m, h).namespaces.find((n) => n.kind === "overlay" && n.network?.name === net)!;
const net = (m: LabModel, h: string, name: string) => host(m, h).networks!.find((n) => n.name === name)!;
const dropNs = (m: LabModel, h: string, id: string): void => {
  const x = host(m, h);
  x.namespaces = x.namespaces.filter((n) => n.id !== id);
  x.netnsNames = x.netnsNames!.filter((n) => n !== id);
};

function one(id: string, mutate: (m: LabModel) => void = () => undefined, inv: Inventory = INV): FactResult {
  const m = clone(BASE);
  mutate(m);
  return check(m, inv, [id])[0]!;
}

type Field = "observed" | "explanation" | "details";
type Case = [id: string, what: string, mutate: (m: LabModel) => void, outcome: string, field: Field, re: RegExp];

/** Every "unchecked" case of the tables, to check the causes they name once more at the end. */
const UNCHECKED: Case[] = [];

function run(cases: Case[]): void {
  UNCHECKED.push(...cases.filter((c) => c[3] === "unchecked"));
  for (const [id, what, mutate, outcome, field, re] of cases) {
    it(`${id}: ${what} -> ${outcome}`, () => {
      const r = one(id, mutate);
      expect(r.outcome).toBe(outcome);
      const text = field === "details" ? r.details.join("\n") : (r[field] ?? "");
      expect(text).toMatch(re);
    });
  }
}

describe("HOST-1", () => {
  run([
    ["HOST-1", "hostname not gathered", (m) => delete host(m, "docker1").hostname, "unchecked", "explanation", /^docker1: `cat \/proc\/sys\/kernel\/hostname` was not gathered$/],
    ["HOST-1", "virt not gathered", (m) => delete host(m, "docker0").virt, "unchecked", "explanation", /^docker0: `systemd-detect-virt` was not gathered$/],
    ["HOST-1", "os-release not gathered", (m) => delete host(m, "docker0").os, "unchecked", "explanation", /^docker0: `cat \/etc\/os-release` was not gathered$/],
    ["HOST-1", "nothing gathered: the observation says so", (m) => {
      const h = host(m, "docker0");
      delete h.hostname;
      delete h.virt;
      delete h.os;
    }, "unchecked", "details", /^docker0: \?, \?, \?$/m],
    ["HOST-1", "CentOS of another version", (m) => m.hosts.forEach((h) => (h.os = { id: "centos", versionId: "8", prettyName: "CentOS Linux 8", name: "CentOS Linux", fields: {} })), "changed", "observed", /docker0: CentOS Linux 8 instead of CentOS Linux 7 \(Core\)/],
    ["HOST-1", "version 7 of another distribution", (m) => m.hosts.forEach((h) => (h.os = { id: "rhel", versionId: "7", prettyName: "Red Hat 7", name: "RHEL", fields: {} })), "changed", "observed", /Red Hat 7 instead of CentOS/],
    ["HOST-1", "a VMware guest", (m) => (host(m, "docker0").virt = "vmware"), "fail", "observed", /^docker0: systemd-detect-virt says vmware, expected QEMU\/KVM \(kvm or qemu\)$/],
  ]);
  it("a QEMU guest without KVM passes too", () => {
    expect(one("HOST-1", (m) => m.hosts.forEach((h) => (h.virt = "qemu"))).outcome).toBe("changed");
    expect(one("HOST-1", (m) => m.hosts.forEach((h) => (h.virt = "qemu"))).observed).not.toMatch(/systemd-detect-virt/);
  });
  it("an inventory with another number of hosts than the lab fails", () => {
    const inv = clone(INV);
    inv.hosts.push({ name: "docker2", hostname: "docker2.local", address: "192.168.122.12", role: "worker" } as Inventory["hosts"][number]);
    const r = one("HOST-1", () => undefined, inv);
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/^the inventory has 3 hosts, the lab 2$/);
  });
});

describe("HOST-2", () => {
  run([
    ["HOST-2", "host links not gathered", (m) => (host(m, "docker0").namespaces = host(m, "docker0").namespaces.filter((n) => n.kind !== "host")), "unchecked", "explanation", /^docker0: `ip -d link show` was not gathered$/],
    ["HOST-2", "host links damaged", (m) => nsOf(m, "docker1", "host").issues.push("`ip -d link show` timed out"), "unchecked", "explanation", /^docker1: `ip -d link show` timed out$/],
    ["HOST-2", "no NIC at all", (m) => (nsOf(m, "docker1", "host").interfaces = nsOf(m, "docker1", "host").interfaces.filter((i) => i.name !== "enp1s0")), "fail", "observed", /docker1: 0 NICs on the lab network or physical \(none\), expected exactly one; docker1: no interface has 192.168.122.11/],
    ["HOST-2", "no NIC: the observation says so", (m) => (nsOf(m, "docker1", "host").interfaces = nsOf(m, "docker1", "host").interfaces.filter((i) => i.name !== "enp1s0")), "fail", "details", /^docker1: no NIC$/m],
    ["HOST-2", "a bridge with an address on the lab network counts as a second NIC", (m) => iface(nsOf(m, "docker0", "host"), "docker0").addresses.push({ family: "inet", local: "192.168.122.50", prefixlen: 24, scope: "global" }), "fail", "observed", /docker0: 2 NICs on the lab network or physical \(enp1s0, docker0\)|docker0: 2 NICs on the lab network or physical \(docker0, enp1s0\)/],
    ["HOST-2", "a physical NIC without an address counts too", (m) => nsOf(m, "docker0", "host").interfaces.push({ name: "eth9", ifindex: 90, kind: "device", mtu: 1500, flags: [], addresses: [] }), "fail", "details", /^docker0: enp1s0 192.168.122.10\/24; eth9 no IPv4$/m],
  ]);
});

describe("HOST-3", () => {
  const hostNs = (m: LabModel, h: string) => nsOf(m, h, "host");
  run([
    ["HOST-3", "host links not gathered", (m) => (host(m, "docker1").namespaces = host(m, "docker1").namespaces.filter((n) => n.kind !== "host")), "unchecked", "explanation", /^docker1: `ip -d link show` was not gathered$/],
    ["HOST-3", "host links damaged", (m) => hostNs(m, "docker1").issues.push("`ip addr show` failed with exit code 1"), "unchecked", "explanation", /^docker1: `ip addr show` failed with exit code 1$/],
    ["HOST-3", "no docker0", (m) => (hostNs(m, "docker0").interfaces = hostNs(m, "docker0").interfaces.filter((i) => i.name !== "docker0")), "fail", "observed", /^docker0: no docker0 interface$/],
    ["HOST-3", "docker0 is not a bridge", (m) => (iface(hostNs(m, "docker0"), "docker0").kind = "dummy"), "fail", "observed", /^docker0: docker0 is a dummy, expected a bridge$/],
    ["HOST-3", "docker0 with another prefix", (m) => (iface(hostNs(m, "docker0"), "docker0").addresses[0]!.prefixlen = 24), "fail", "observed", /^docker0: docker0 has 172.17.0.1\/24, expected 172.17.0.1\/16$/],
    ["HOST-3", "docker0 with another address", (m) => (iface(hostNs(m, "docker0"), "docker0").addresses[0]!.local = "172.17.0.2"), "fail", "observed", /docker0 has 172.17.0.2\/16, expected 172.17.0.1\/16/],
  ]);
  it("a docker0 in use has carrier: a note, and its members are listed", () => {
    const r = one("HOST-3", (m) => {
      iface(hostNs(m, "docker1"), "docker0").flags = ["BROADCAST", "MULTICAST", "UP", "LOWER_UP"];
      hostNs(m, "docker1").interfaces.push({ name: "vethc0ffee", ifindex: 70, kind: "veth", mtu: 1500, flags: [], master: "docker0", addresses: [] });
    });
    expect(r.outcome).toBe("pass");
    expect(r.details).toContain("docker1: 2: docker0 bridge mtu 1500 172.17.0.1/16 <BROADCAST,MULTICAST,UP,LOWER_UP> members vethc0ffee");
    expect(r.details).toContain("note: docker1: docker0 is in use (vethc0ffee), so it has carrier");
  });
  it("an unused docker0 with NO-CARRIER still fails when it is not a bridge", () => {
    expect(one("HOST-3", (m) => (iface(hostNs(m, "docker1"), "docker0").kind = "veth")).observed).toBe("docker1: docker0 is a veth, expected a bridge");
  });
});

describe("CL-1", () => {
  const sw = (m: LabModel, h: string) => host(m, h).info!.swarm;
  run([
    ["CL-1", "docker info not gathered", (m) => delete host(m, "docker1").info, "unchecked", "explanation", /^docker1: `docker info --format '\{\{json \.\}\}'` was not gathered$/],
    ["CL-1", "the engine is down", (m) => {
      delete host(m, "docker1").info;
      host(m, "docker1").dockerDown = "the Docker engine is not running";
    }, "unchecked", "explanation", /^docker1: the Docker engine is not running$/],
    ["CL-1", "the manager is no manager", (m) => (sw(m, "docker0").controlAvailable = false), "fail", "observed", /^docker0: is not a manager$/],
    ["CL-1", "the worker is a manager", (m) => (sw(m, "docker1").controlAvailable = true), "fail", "observed", /^docker1: is a manager, expected a worker$/],
    ["CL-1", "the swarm counts three nodes", (m) => (sw(m, "docker0").nodes = 3), "fail", "observed", /^docker0: the swarm has 3 nodes, expected 2$/],
    ["CL-1", "the swarm counts two managers", (m) => (sw(m, "docker0").managers = 2), "fail", "observed", /^docker0: the swarm has 2 managers, expected 1$/],
    ["CL-1", "the worker knows no manager", (m) => (sw(m, "docker1").remoteManagers = []), "fail", "observed", /^docker1: joined no manager, expected 192.168.122.10:2377$/],
    ["CL-1", "a pending node", (m) => (sw(m, "docker0").localNodeState = "pending"), "fail", "observed", /^docker0: swarm state is "pending", expected "active"$/],
    ["CL-1", "the observation names role, address and managers", (m) => {
      sw(m, "docker1").remoteManagers = [];
      sw(m, "docker1").nodeAddr = "";
    }, "fail", "details", /^docker1: active, worker, node address \?, managers -$/m],
  ]);
  it("node and manager counts the engine did not report are not held against the swarm", () => {
    expect(one("CL-1", (m) => {
      delete (sw(m, "docker0") as { nodes?: number }).nodes;
      delete (sw(m, "docker0") as { managers?: number }).managers;
    }).outcome).toBe("pass");
    expect(one("CL-1", (m) => {
      sw(m, "docker0").nodes = 2;
      sw(m, "docker0").managers = 1;
    }).outcome).toBe("pass");
  });
});

describe("CL-2", () => {
  const nodes = (m: LabModel) => host(m, "docker0").nodes!;
  run([
    ["CL-2", "node ls not gathered", (m) => delete host(m, "docker0").nodes, "unchecked", "explanation", /^docker0: `docker node ls` was not gathered$/],
    ["CL-2", "a host that is not a node", (m) => (host(m, "docker0").nodes = nodes(m).filter((n) => n.hostname !== "docker1.local")), "fail", "observed", /^docker1.local is not a swarm node$/],
    ["CL-2", "a stale node entry", (m) => nodes(m).push({ ...nodes(m)[1]!, id: "stale", status: "Ready" }), "fail", "observed", /^docker1.local is listed 2 times \(a stale node entry\?\)$/],
    ["CL-2", "the manager is only Reachable", (m) => (nodes(m)[0]!.managerStatus = "Reachable"), "fail", "observed", /^docker0.local: MANAGER STATUS "Reachable", expected "Leader"$/],
    ["CL-2", "the worker is a manager", (m) => (nodes(m)[1]!.managerStatus = "Reachable"), "fail", "observed", /^docker1.local: MANAGER STATUS "Reachable", expected ""$/],
    ["CL-2", "a paused node", (m) => (nodes(m)[1]!.availability = "Pause"), "fail", "observed", /^docker1.local: AVAILABILITY Pause, expected Active$/],
    ["CL-2", "an extra node is named with its state", (m) => nodes(m).push({ id: "zz", self: false, hostname: "docker9.local", status: "Down", availability: "Drain", managerStatus: "" }), "fail", "observed", /^unexpected node docker9.local \(Down\/Drain\)$/],
    ["CL-2", "the manager node answered but is not in a swarm", (m) => {
      delete m.manager;
      host(m, "docker0").info!.swarm.localNodeState = "";
    }, "fail", "observed", /^no swarm manager answered \(docker0: swarm state unknown, not a manager\)$/],
    ["CL-2", "the manager did not answer docker info", (m) => {
      delete m.manager;
      delete host(m, "docker0").info;
    }, "unchecked", "explanation", /^no swarm manager answered: docker0: `docker info --format '\{\{json \.\}\}'` was not gathered$/],
  ]);
  it("an inventory without a manager fails the cluster facts, saying so", () => {
    const inv = clone(INV);
    inv.hosts[0]!.role = "worker";
    const m = clone(BASE);
    delete m.manager;
    host(m, "docker0").role = "worker";
    const [r] = check(m, inv, ["CL-2"]);
    expect(r!.outcome).toBe("fail");
    expect(r!.observed).toBe("no swarm manager answered (no manager in the inventory)");
  });
  it("a second manager is expected to be Reachable", () => {
    const inv = clone(INV);
    inv.hosts[1]!.role = "manager";
    const [r] = check(clone(BASE), inv, ["CL-2"]);
    expect(r!.expected).toBe("docker0.local Ready Active Leader; docker1.local Ready Active Reachable");
    expect(r!.observed).toBe('docker1.local: MANAGER STATUS "", expected "Reachable"');
  });
});

describe("WL-1", () => {
  run([
    ["WL-1", "network inspect not gathered on the manager", (m) => delete host(m, "docker0").networks, "unchecked", "explanation", /^docker0: `docker network inspect <all networks>` was not gathered$/],
    ["WL-1", "no overlay: the networks there are listed", (m) => (host(m, "docker0").networks = host(m, "docker0").networks!.filter((n) => n.name !== "demonet")), "fail", "observed", /^docker0: no network demonet \(networks: bridge, docker_gwbridge, host, ingress, none\)$/],
    ["WL-1", "local scope", (m) => (net(m, "docker0", "demonet").scope = "local"), "fail", "observed", /^scope is local, expected swarm$/],
    ["WL-1", "another subnet", (m) => (net(m, "docker0", "demonet").ipam[0]!.subnet = "192.168.201.0/24"), "fail", "observed", /^subnet is 192.168.201.0\/24, expected 192.168.200.0\/24$/],
    ["WL-1", "two subnets", (m) => net(m, "docker0", "demonet").ipam.push({ subnet: "192.168.201.0/24", gateway: "192.168.201.1" }), "fail", "observed", /^subnet is 192.168.200.0\/24, 192.168.201.0\/24, expected 192.168.200.0\/24$/],
    ["WL-1", "no IPAM subnet", (m) => (net(m, "docker0", "demonet").ipam = []), "fail", "observed", /^subnet is none, expected 192.168.200.0\/24$/],
    ["WL-1", "an IPAM entry without a subnet", (m) => delete net(m, "docker0", "demonet").ipam[0]!.subnet, "fail", "details", /subnet \?$/],
  ]);
  it("the subnet is compared as a network, not as text", () => {
    expect(one("WL-1", (m) => (net(m, "docker0", "demonet").ipam[0]!.subnet = "192.168.200.7/24")).outcome).toBe("pass");
  });
});

describe("WL-2", () => {
  const svc = (m: LabModel) => host(m, "docker0").service!;
  const tasks = (m: LabModel) => host(m, "docker0").serviceTasks!;
  run([
    ["WL-2", "service inspect not gathered", (m) => delete host(m, "docker0").service, "unchecked", "explanation", /^docker0: `docker service inspect <service>` was not gathered$/],
    ["WL-2", "service ps not gathered", (m) => delete host(m, "docker0").serviceTasks, "unchecked", "explanation", /^docker0: `docker service ps <service> --no-trunc` was not gathered$/],
    ["WL-2", "global mode", (m) => (svc(m).mode = "global"), "fail", "observed", /^mode is global, expected replicated$/],
    ["WL-2", "no replica count", (m) => delete svc(m).replicas, "fail", "observed", /^no replicas, expected 2$/],
    ["WL-2", "not attached to the overlay", (m) => (svc(m).networkTargets = ["ingress"]), "fail", "observed", /^the service is not attached to demonet$/],
    // Missing data is never a failure of the lab: without the manager's network inspect the attachment cannot be judged.
    ["WL-2", "the manager's network inspect not gathered", (m) => delete host(m, "docker0").networks, "unchecked", "explanation", /^docker0: `docker network inspect <all networks>` was not gathered$/],
    ["WL-2", "the manager does not know the overlay", (m) => (host(m, "docker0").networks = host(m, "docker0").networks!.filter((n) => n.name !== "demonet")), "fail", "observed", /^the service is not attached to demonet$/],
    ["WL-2", "a task on a host outside the lab", (m) => (tasks(m)[1]!.node = "docker7.local"), "fail", "observed", /^1 tasks on docker1.local, expected 1|0 tasks on docker1.local, expected 1; demoservice.2 runs on docker7.local, which is not a lab host$/],
    ["WL-2", "a task meant to be shut down does not count", (m) => (tasks(m)[1]!.desiredState = "Shutdown"), "fail", "observed", /^1 tasks are meant to run, expected 2; 0 tasks on docker1.local, expected 1$/],
    ["WL-2", "a task that is history does not count", (m) => (tasks(m)[0]!.history = true), "fail", "observed", /^1 tasks are meant to run, expected 2; 0 tasks on docker0.local, expected 1$/],
    ["WL-2", "a rejected earlier task is a documented change", (m) => tasks(m).push({ ...tasks(m)[1]!, id: "old", history: true, desiredState: "Shutdown", currentState: "Rejected", currentStateText: "Rejected 3 minutes ago", error: "" }), "changed", "observed", /^demoservice.2 on docker1.local rejected 3 minutes ago and was replaced$/],
    ["WL-2", "an earlier task with an error is a documented change", (m) => tasks(m).push({ ...tasks(m)[1]!, id: "old", history: true, desiredState: "Shutdown", currentState: "Shutdown", currentStateText: "Shutdown 3 minutes ago", error: "task: non-zero exit (1)" }), "changed", "observed", /^demoservice.2 on docker1.local shutdown 3 minutes ago \(task: non-zero exit \(1\)\) and was replaced$/],
    ["WL-2", "an earlier task that was just shut down is a note", (m) => tasks(m).push({ ...tasks(m)[1]!, id: "old", history: true, desiredState: "Shutdown", currentState: "Shutdown", currentStateText: "Shutdown 3 minutes ago", error: "" }), "pass", "details", /^note: earlier task demoservice.2 on docker1.local: Shutdown 3 minutes ago$/m],
    ["WL-2", "earlier tasks are shown as history", (m) => tasks(m).push({ ...tasks(m)[1]!, id: "old", history: true, desiredState: "Shutdown", currentState: "Shutdown", currentStateText: "Shutdown 3 minutes ago", error: "" }), "pass", "details", /^\\_ demoservice.2 on docker1.local: desired Shutdown, Shutdown 3 minutes ago$/m],
    ["WL-2", "a task's error is shown", (m) => Object.assign(tasks(m)[1]!, { currentState: "Failed", currentStateText: "Failed 1 second ago", error: "no such image" }), "fail", "details", /^demoservice.2 on docker1.local: desired Running, Failed 1 second ago \(no such image\)$/m],
    ["WL-2", "a service without a replica count is observed so", (m) => delete svc(m).replicas, "fail", "details", /^demoservice: replicated, image alpine/m],
  ]);
  it("is attached when the target names the overlay instead of its ID", () => {
    expect(one("WL-2", (m) => (svc(m).networkTargets = ["demonet"])).outcome).toBe("pass");
  });
  describe("the image is the inventory's, with or without registry, library prefix, tag and digest", () => {
    const withImage = (image: string, observed: string): string => {
      const inv = clone(INV);
      inv.workload!.image = image;
      return one("WL-2", (m) => (svc(m).image = observed), inv).outcome;
    };
    it("an untagged image matches any tag of the same repository", () => {
      expect(withImage("alpine", "docker.io/library/alpine:3.20@sha256:abc")).toBe("pass");
      expect(withImage("alpine", "alpine")).toBe("pass");
      expect(withImage("alpine", "alpinelinux/alpine:3.20")).toBe("fail");
      expect(withImage("alpine", "busybox:latest")).toBe("fail");
    });
    it("a tagged image must match the tag", () => {
      expect(withImage("alpine:3.20", "alpine:3.20@sha256:abc")).toBe("pass");
      expect(withImage("alpine:3.20", "docker.io/library/alpine:3.20")).toBe("pass");
      expect(withImage("alpine:3.20", "alpine:latest")).toBe("fail");
      expect(withImage("docker.io/library/alpine:3.20", "alpine:3.20")).toBe("pass");
    });
    it("a registry with a port is not a tag", () => {
      expect(withImage("registry.local:5000/alpine", "registry.local:5000/alpine:3.20")).toBe("pass");
      expect(withImage("registry.local:5000/alpine", "registry.local:5000/busybox:3.20")).toBe("fail");
      expect(withImage("registry.local:5000/alpine:3.20", "registry.local:5000/alpine:3.21")).toBe("fail");
    });
  });
  it("with more replicas than hosts, tasks need not be one per node", () => {
    const inv = clone(INV);
    inv.workload!.replicas = 3;
    const r = one("WL-2", (m) => {
      svc(m).replicas = 3;
      tasks(m).push({ ...tasks(m)[1]!, id: "third", name: "demoservice.3", slot: 3 });
    }, inv);
    expect(r.expected).toBe("demoservice: 3 replicas of alpine sleep 50000 on demonet; 3 tasks Running");
    expect(r.outcome).toBe("pass");
  });
});

describe("PORT-1", () => {
  const sockets = (m: LabModel, h: string) => host(m, h).sockets!;
  run([
    ["PORT-1", "ss not gathered", (m) => delete host(m, "docker1").sockets, "unchecked", "explanation", /^docker1: `ss -Hlntu` was not gathered$/],
    ["PORT-1", "nothing listens: the observation says so", (m) => (host(m, "docker1").sockets = []), "fail", "details", /^docker1: listening none of them$/m],
    ["PORT-1", "gossip on loopback", (m) => (sockets(m, "docker1").find((s) => s.port === 7946 && s.proto === "udp")!.address = "127.0.0.1"), "fail", "observed", /^docker1: nothing listens on 7946\/udp \(on 192.168.122.11 or all addresses\)$/],
  ]);
  for (const addr of ["*", "0.0.0.0", "[::]", "::", "[::ffff:0.0.0.0]", "192.168.122.10"]) {
    it(`a listener on ${addr} counts`, () => {
      const r = one("PORT-1", (m) => sockets(m, "docker0").filter((s) => [2377, 7946, 4789].includes(s.port)).forEach((s) => (s.address = addr)));
      expect(r.outcome).toBe("pass");
    });
  }
  for (const addr of ["127.0.0.1", "[::1]", "192.168.122.11", "172.18.0.1", "10.0.0.1"]) {
    it(`a listener on ${addr} does not`, () => {
      const r = one("PORT-1", (m) => (sockets(m, "docker0").find((s) => s.port === 4789)!.address = addr));
      expect(r.outcome).toBe("fail");
      expect(r.observed).toBe("docker0: nothing listens on 4789/udp (on 192.168.122.10 or all addresses)");
    });
  }
  it("a UDP socket needs no LISTEN state, a TCP one does", () => {
    expect(one("PORT-1", (m) => (sockets(m, "docker0").find((s) => s.port === 7946 && s.proto === "udp")!.state = "ESTAB")).outcome).toBe("pass");
    expect(one("PORT-1", (m) => (sockets(m, "docker0").find((s) => s.port === 7946 && s.proto === "tcp")!.state = "ESTAB")).observed).toBe("docker0: nothing listens on 7946/tcp (on 192.168.122.10 or all addresses)");
  });
  it("the port number must match", () => {
    expect(one("PORT-1", (m) => (sockets(m, "docker1").find((s) => s.port === 4789)!.port = 4790)).observed).toBe("docker1: nothing listens on 4789/udp (on 192.168.122.11 or all addresses)");
  });
});

describe("NET-1", () => {
  const ls = (m: LabModel, h: string) => host(m, h).networkLs!;
  run([
    ["NET-1", "network ls not gathered", (m) => delete host(m, "docker1").networkLs, "unchecked", "explanation", /^docker1: `docker network ls --no-trunc` was not gathered$/],
    ["NET-1", "no bridge network", (m) => (host(m, "docker1").networkLs = ls(m, "docker1").filter((n) => n.name !== "bridge")), "fail", "observed", /^docker1: no network bridge$/],
    ["NET-1", "the manager always lists the overlay", (m) => (host(m, "docker0").networkLs = ls(m, "docker0").filter((n) => n.name !== "demonet")), "fail", "observed", /^docker0: no network demonet$/],
    ["NET-1", "a worker with a task on the overlay lists it", (m) => (host(m, "docker1").networkLs = ls(m, "docker1").filter((n) => n.name !== "demonet")), "fail", "observed", /^docker1: no network demonet$/],
    ["NET-1", "a worker without a task need not list the overlay", (m) => {
      host(m, "docker1").networkLs = ls(m, "docker1").filter((n) => n.name !== "demonet");
      host(m, "docker1").containers = [];
    }, "pass", "details", /^note: docker1: demonet not listed \(no local task uses it\)$/m],
    ["NET-1", "a worker whose containers are unknown", (m) => {
      host(m, "docker1").networkLs = ls(m, "docker1").filter((n) => n.name !== "demonet");
      delete host(m, "docker1").containers;
    }, "unchecked", "explanation", /^cannot tell whether a task needs demonet on docker1: `docker inspect <running containers>` was not gathered$/],
    ["NET-1", "a worker whose task is on another network", (m) => {
      host(m, "docker1").networkLs = ls(m, "docker1").filter((n) => n.name !== "demonet");
      host(m, "docker1").containers![0]!.networks = [];
    }, "pass", "details", /demonet not listed/],
    ["NET-1", "the wrong driver", (m) => (ls(m, "docker0").find((n) => n.name === "host")!.driver = "bridge"), "fail", "observed", /^docker0: host is bridge\/local, expected host\/local$/],
  ]);
});

describe("NS-1", () => {
  run([
    ["NS-1", "netns listing not gathered", (m) => delete host(m, "docker1").netnsNames, "unchecked", "explanation", /^docker1: `ls -1 \/var\/run\/docker\/netns` was not gathered$/],
    ["NS-1", "networks unknown", (m) => delete host(m, "docker1").networks, "unchecked", "explanation", /^cannot name the expected namespaces of docker1: `docker network inspect <all networks>` was not gathered$/],
    ["NS-1", "containers unknown", (m) => delete host(m, "docker1").containers, "unchecked", "explanation", /^cannot name the expected namespaces of docker1: `docker inspect <running containers>` was not gathered$/],
    ["NS-1", "the ingress network unknown everywhere", (m) => m.hosts.forEach((h) => (h.networks = h.networks!.filter((n) => n.name !== "ingress"))), "fail", "observed", /docker0: the ingress network is unknown, cannot name its namespace/],
    ["NS-1", "the overlay unknown everywhere", (m) => m.hosts.forEach((h) => (h.networks = h.networks!.filter((n) => n.name !== "demonet"))), "fail", "observed", /docker1: network demonet is unknown, cannot name its namespace/],
    ["NS-1", "a task's sandbox missing", (m) => (host(m, "docker1").netnsNames = host(m, "docker1").netnsNames!.filter((n) => n !== "9b41d6e2c07a")), "fail", "observed", /^docker1: no 9b41d6e2c07a \(the sandbox of demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f\)$/],
    ["NS-1", "the overlay namespace missing", (m) => (host(m, "docker1").netnsNames = host(m, "docker1").netnsNames!.filter((n) => n !== "1-k3b7x2n9q4")), "fail", "observed", /^docker1: no 1-k3b7x2n9q4 \(the demonet overlay\)$/],
    ["NS-1", "the ingress namespace missing", (m) => (host(m, "docker1").netnsNames = host(m, "docker1").netnsNames!.filter((n) => n !== "1-r2t6f0j8m1")), "fail", "observed", /^docker1: no 1-r2t6f0j8m1 \(the ingress overlay\)$/],
    ["NS-1", "the overlay namespace without a local task", (m) => (host(m, "docker1").containers = []), "changed", "details", /^note: docker1: 1-k3b7x2n9q4 \(demonet\) present without a local task$/m],
    ["NS-1", "another container's sandbox", (m) => {
      host(m, "docker1").netnsNames!.push("abcdefabcdef");
      host(m, "docker1").namespaces.push({ id: "abcdefabcdef", host: "docker1", kind: "sandbox", task: { containerId: "f".repeat(64), containerName: "portainer" }, interfaces: [], routes: [], nsids: {}, issues: [] });
    }, "changed", "details", /^note: docker1: abcdefabcdef is the sandbox of container portainer, not a task of demoservice$/m],
    ["NS-1", "another network's overlay namespace", (m) => {
      host(m, "docker1").netnsNames!.push("1-zzzzzzzzzz");
      host(m, "docker1").namespaces.push({ id: "1-zzzzzzzzzz", host: "docker1", kind: "overlay", network: { name: "othernet", id: "zzzzzzzzzzzz" }, interfaces: [], routes: [], nsids: {}, issues: [] });
    }, "changed", "details", /^note: docker1: 1-zzzzzzzzzz belongs to network othernet$/m],
    ["NS-1", "another network's lb namespace", (m) => {
      host(m, "docker1").netnsNames!.push("lb_zzzzzzzzz");
      host(m, "docker1").namespaces.push({ id: "lb_zzzzzzzzz", host: "docker1", kind: "lb", network: { name: "othernet", id: "zzzzzzzzzzzz" }, interfaces: [], routes: [], nsids: {}, issues: [] });
    }, "changed", "details", /^note: docker1: lb_zzzzzzzzz belongs to network othernet$/m],
    ["NS-1", "an overlay namespace nobody owns", (m) => {
      host(m, "docker1").netnsNames!.push("1-zzzzzzzzzz");
      host(m, "docker1").namespaces.push({ id: "1-zzzzzzzzzz", host: "docker1", kind: "overlay", interfaces: [], routes: [], nsids: {}, issues: [] });
    }, "fail", "observed", /^docker1: unexpected namespace 1-zzzzzzzzzz \(no network or container owns it\)$/],
    ["NS-1", "a name that only looks like a container's", (m) => host(m, "docker1").netnsNames!.push("0123456789abc"), "fail", "observed", /unexpected namespace 0123456789abc/],
    ["NS-1", "an upper-case hex name", (m) => host(m, "docker1").netnsNames!.push("0123456789AB"), "fail", "observed", /unexpected namespace 0123456789AB/],
    ["NS-1", "an empty directory", (m) => (host(m, "docker1").netnsNames = []), "fail", "details", /^docker1: \(empty\)$/m],
  ]);
  it("an lb_ namespace of another length is not the load balancer's", () => {
    const r = one("NS-1", (m) => host(m, "docker1").netnsNames!.push("lb_k3b7x2n9q4"));
    expect(r.outcome).toBe("fail");
    expect(r.observed).toBe("docker1: unexpected namespace lb_k3b7x2n9q4 (no network or container owns it)");
  });
});

describe("forEachTask (NS-2, SB-*, RT-1, VETH-*)", () => {
  run([
    ["NS-2", "containers not gathered", (m) => delete host(m, "docker1").containers, "unchecked", "explanation", /^cannot list the task containers of docker1: `docker inspect <running containers>` was not gathered$/],
    ["NS-2", "a host without a local task is a note", (m) => (host(m, "docker1").containers = []), "pass", "details", /^note: docker1: no local task of demoservice \(see WL-2\)$/m],
    ["NS-2", "a stopped task does not count", (m) => m.hosts.forEach((h) => h.containers!.forEach((c) => (c.running = false))), "fail", "observed", /^no task sandbox of demoservice found on any host$/],
    ["NS-2", "another service's containers do not count", (m) => m.hosts.forEach((h) => h.containers!.forEach((c) => (c.service = "other"))), "fail", "observed", /^no task sandbox of demoservice found on any host$/],
    ["NS-2", "a task whose sandbox is not listed", (m) => dropNs(m, "docker1", "9b41d6e2c07a"), "fail", "observed", /^docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: its sandbox \/var\/run\/docker\/netns\/9b41d6e2c07a is not in \/var\/run\/docker\/netns$/],
    ["NS-2", "a task without a SandboxKey", (m) => {
      dropNs(m, "docker1", "9b41d6e2c07a");
      host(m, "docker1").containers![0]!.sandboxKey = "";
    }, "fail", "observed", /its sandbox \(no SandboxKey\) is not in/],
    ["NS-2", "a task without a name is named by its ID", (m) => {
      dropNs(m, "docker1", "9b41d6e2c07a");
      const c = host(m, "docker1").containers![0]!;
      delete c.taskName;
      delete (c as { name?: string }).name;
    }, "fail", "observed", /^docker1: b7e1d3f5a9c2: its sandbox/],
    ["NS-2", "a task whose sandbox could not be looked for", (m) => {
      host(m, "docker1").namespaces = host(m, "docker1").namespaces.filter((n) => n.kind !== "sandbox");
      delete host(m, "docker1").netnsNames;
    }, "unchecked", "explanation", /^demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: its sandbox could not be looked for on docker1: `ls -1 \/var\/run\/docker\/netns` was not gathered$/],
    ["NS-2", "a sandbox that was not fully gathered", (m) => sandbox(m, "docker1").issues.push("`ip addr show` timed out"), "unchecked", "explanation", /^docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: `ip addr show` timed out$/],
    ["NS-2", "the sandbox is not in the listing", (m) => (host(m, "docker1").netnsNames = host(m, "docker1").netnsNames!.filter((n) => n !== "9b41d6e2c07a")), "fail", "observed", /^docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: 9b41d6e2c07a is not in \/var\/run\/docker\/netns$/],
    ["NS-2", "a SandboxKey elsewhere", (m) => (host(m, "docker0").containers![0]!.sandboxKey = "/run/docker/netns/5e0c1a7f3b2d"), "fail", "observed", /^docker0: demoservice.1.a1q8z3x6c9v2b5n7m4k0j2h6g: SandboxKey \/run\/docker\/netns\/5e0c1a7f3b2d is not under \/var\/run\/docker\/netns$/],
  ]);
  it("a failure on one host is not hidden by a host whose data is missing", () => {
    const r = one("NS-2", (m) => {
      delete host(m, "docker0").containers;
      host(m, "docker1").netnsNames = host(m, "docker1").netnsNames!.filter((n) => n !== "9b41d6e2c07a");
    });
    expect(r.outcome).toBe("fail");
    expect(r.details).toContain("also could not check: cannot list the task containers of docker0: `docker inspect <running containers>` was not gathered");
  });
  it("with no task anywhere and a host that could not be asked, the fact is unchecked, not failed", () => {
    const r = one("NS-2", (m) => {
      host(m, "docker0").containers = [];
      delete host(m, "docker1").containers;
    });
    expect(r.outcome).toBe("unchecked");
    expect(r.observed).toBe("not checked");
  });
});

describe("IPAM-1 and IPAM-2", () => {
  run([
    ["IPAM-1", "the manager does not know the overlay", (m) => (host(m, "docker0").networks = host(m, "docker0").networks!.filter((n) => n.name !== "demonet")), "fail", "observed", /^docker0: network demonet not found \(networks: bridge, docker_gwbridge, host, ingress, none\)$/],
    ["IPAM-1", "the manager's inspect not gathered", (m) => delete host(m, "docker0").networks, "unchecked", "explanation", /^docker0: `docker network inspect <all networks>` was not gathered$/],
    ["IPAM-1", "two IPAM configs", (m) => net(m, "docker1", "demonet").ipam.push({ subnet: "10.9.0.0/24", gateway: "10.9.0.1" }), "fail", "observed", /^docker1: 2 IPAM configs, expected 1$/],
    ["IPAM-1", "another subnet", (m) => (net(m, "docker1", "demonet").ipam[0]!.subnet = "192.168.201.0/24"), "fail", "observed", /^docker1: subnet 192.168.201.0\/24, expected 192.168.200.0\/24$/],
    ["IPAM-1", "no subnet", (m) => delete net(m, "docker1", "demonet").ipam[0]!.subnet, "fail", "observed", /^docker1: subnet undefined, expected 192.168.200.0\/24$/],
    ["IPAM-1", "no config is observed so", (m) => (net(m, "docker1", "demonet").ipam = []), "fail", "details", /^docker1: no IPAM config$/m],
    ["IPAM-1", "an unknown gateway is observed as ?", (m) => delete net(m, "docker1", "demonet").ipam[0]!.gateway, "fail", "details", /^docker1: 192.168.200.0\/24 gw \?$/m],
    ["IPAM-1", "a worker without the overlay is not looked at", (m) => (host(m, "docker1").networks = host(m, "docker1").networks!.filter((n) => n.name !== "demonet")), "pass", "observed", /^docker0: 192.168.200.0\/24 gw 192.168.200.1$/],
    ["IPAM-1", "an unreachable worker is not looked at", (m) => Object.assign(host(m, "docker1"), { reachable: false, error: "timeout" }), "pass", "observed", /^docker0: 192.168.200.0\/24 gw 192.168.200.1$/],
    ["IPAM-2", "inspect not gathered", (m) => delete host(m, "docker1").networks, "unchecked", "explanation", /^docker1: `docker network inspect <all networks>` was not gathered$/],
    ["IPAM-2", "no gwbridge network", (m) => (host(m, "docker1").networks = host(m, "docker1").networks!.filter((n) => n.name !== "docker_gwbridge")), "fail", "observed", /^docker1: no network docker_gwbridge$/],
    ["IPAM-2", "another subnet", (m) => (net(m, "docker1", "docker_gwbridge").ipam[0]!.subnet = "172.19.0.0/16"), "fail", "observed", /^docker1: docker_gwbridge IPAM is 172.19.0.0\/16 gw 172.18.0.1, expected 172.18.0.0\/16 gw 172.18.0.1$/],
    ["IPAM-2", "another gateway", (m) => (net(m, "docker1", "docker_gwbridge").ipam[0]!.gateway = "172.18.0.254"), "fail", "observed", /IPAM is 172.18.0.0\/16 gw 172.18.0.254, expected/],
    ["IPAM-2", "two configs", (m) => net(m, "docker1", "docker_gwbridge").ipam.push({ subnet: "172.18.0.0/16", gateway: "172.18.0.1" }), "fail", "observed", /IPAM is 172.18.0.0\/16 gw 172.18.0.1, 172.18.0.0\/16 gw 172.18.0.1, expected/],
    ["IPAM-2", "no config", (m) => (net(m, "docker1", "docker_gwbridge").ipam = []), "fail", "observed", /IPAM is empty, expected/],
    ["IPAM-2", "host links not gathered", (m) => (host(m, "docker1").namespaces = host(m, "docker1").namespaces.filter((n) => n.kind !== "host")), "unchecked", "explanation", /^docker1: `ip addr show` was not gathered$/],
    ["IPAM-2", "host links damaged", (m) => nsOf(m, "docker1", "host").issues.push("`ip addr show` timed out"), "unchecked", "explanation", /^docker1: `ip addr show` timed out$/],
    ["IPAM-2", "no bridge interface", (m) => (nsOf(m, "docker1", "host").interfaces = nsOf(m, "docker1", "host").interfaces.filter((i) => i.name !== "docker_gwbridge")), "fail", "observed", /^docker1: no docker_gwbridge interface on the host$/],
    ["IPAM-2", "the bridge with another prefix", (m) => (iface(nsOf(m, "docker1", "host"), "docker_gwbridge").addresses[0]!.prefixlen = 24), "fail", "observed", /^docker1: docker_gwbridge has 172.18.0.1\/24, expected 172.18.0.1\/16$/],
    ["IPAM-2", "inspect missing is observed as ?", (m) => delete host(m, "docker1").networks, "unchecked", "details", /^docker1: IPAM \?; interface 172.18.0.1\/16$/m],
  ]);
});

describe("SB-1", () => {
  run([
    ["SB-1", "eth0 with two addresses", (m) => iface(sandbox(m, "docker1"), "eth0").addresses.push({ family: "inet", local: "192.168.200.9", prefixlen: 24, scope: "global" }), "fail", "observed", /eth0 has 192.168.200.4\/24, 192.168.200.9\/24, expected one address in 192.168.200.0\/24$/],
    ["SB-1", "eth0 outside the overlay", (m) => (iface(sandbox(m, "docker1"), "eth0").addresses[0]!.local = "192.168.201.4"), "fail", "observed", /eth0 has 192.168.201.4\/24, expected one address in 192.168.200.0\/24/],
    ["SB-1", "eth0 with another prefix", (m) => (iface(sandbox(m, "docker1"), "eth0").addresses[0]!.prefixlen = 16), "fail", "observed", /eth0 has 192.168.200.4\/16, expected one address in 192.168.200.0\/24/],
    ["SB-1", "eth0 without an address", (m) => (iface(sandbox(m, "docker1"), "eth0").addresses = []), "fail", "observed", /eth0 has no IPv4, expected one address in 192.168.200.0\/24/],
    ["SB-1", "docker inspect disagrees with eth0", (m) => (host(m, "docker1").containers![0]!.networks[0]!.ipAddress = "192.168.200.9"), "fail", "observed", /^docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: eth0 has 192.168.200.4 but docker inspect says 192.168.200.9$/],
    ["SB-1", "eth1 mtu", (m) => (iface(sandbox(m, "docker1"), "eth1").mtu = 1450), "fail", "observed", /eth1 mtu 1450, expected 1500$/],
    ["SB-1", "eth1 outside the gwbridge", (m) => (iface(sandbox(m, "docker1"), "eth1").addresses[0]!.local = "172.19.0.3"), "fail", "observed", /eth1 has 172.19.0.3\/16, expected one address in 172.18.0.0\/16$/],
    ["SB-1", "eth1 with another prefix", (m) => (iface(sandbox(m, "docker1"), "eth1").addresses[0]!.prefixlen = 24), "fail", "observed", /eth1 has 172.18.0.3\/24, expected one address in 172.18.0.0\/16$/],
    ["SB-1", "eth1 with two addresses", (m) => iface(sandbox(m, "docker1"), "eth1").addresses.push({ family: "inet", local: "172.18.0.9", prefixlen: 16, scope: "global" }), "fail", "observed", /eth1 has 172.18.0.3\/16, 172.18.0.9\/16, expected one address/],
    ["SB-1", "no eth1", (m) => (sandbox(m, "docker1").interfaces = sandbox(m, "docker1").interfaces.filter((i) => i.name !== "eth1")), "fail", "observed", /^docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: interfaces eth0, lo, expected eth0, eth1, lo$/],
    ["SB-1", "no eth0", (m) => (sandbox(m, "docker1").interfaces = sandbox(m, "docker1").interfaces.filter((i) => i.name !== "eth0")), "fail", "observed", /^docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: interfaces eth1, lo, expected eth0, eth1, lo$/],
  ]);
  it("the VIP (/32) on eth0 is not counted as the task's address", () => {
    const r = one("SB-1", (m) => iface(sandbox(m, "docker1"), "eth0").addresses.push({ family: "inet", local: "192.168.200.2", prefixlen: 32, scope: "global" }));
    expect(r.outcome).toBe("pass");
  });
  it("a task not attached to the overlay in docker inspect is not compared", () => {
    expect(one("SB-1", (m) => (host(m, "docker1").containers![0]!.networks = [])).outcome).toBe("pass");
  });
});

describe("SB-2", () => {
  run([
    ["SB-2", "the service has another VIP", (m) => (host(m, "docker0").service!.virtualIps[0]!.addr = "192.168.200.9/24"), "fail", "observed", /^the service's VIP on demonet is 192.168.200.9, expected 192.168.200.2$/],
    ["SB-2", "the service has no VIP on the overlay", (m) => (host(m, "docker0").service!.virtualIps = [{ networkId: "r2t6f0j8m1kq9v3x5z7b4n6d8", addr: "10.255.0.5/16" }]), "fail", "observed", /^the service's VIP on demonet is missing, expected 192.168.200.2$/],
    ["SB-2", "the service has no VIP on the overlay: observed", (m) => (host(m, "docker0").service!.virtualIps = []), "fail", "details", /^service VIP on demonet: none$/m],
    ["SB-2", "service inspect not gathered", (m) => delete host(m, "docker0").service, "unchecked", "explanation", /^docker0: `docker service inspect <service>` was not gathered$/],
    ["SB-2", "the VIP is in the lb namespace with another prefix", (m) => m.hosts.forEach((h) => (iface(nsOf(m, h.name, "lb"), "eth0").addresses.find((a) => a.local === "192.168.200.2")!.prefixlen = 24)), "fail", "observed", /192.168.200.2\/32 is neither on eth0 nor in an lb_ namespace/],
    ["SB-2", "the lb namespace without the VIP lists its interfaces", (m) => m.hosts.forEach((h) => (iface(nsOf(m, h.name, "lb"), "eth0").addresses = [])), "fail", "details", /^docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: eth0 192.168.200.4\/24; lb_k3b7x2n9q: lo 127.0.0.1\/8, eth0 no IPv4$/m],
    ["SB-2", "the lb namespace of another network does not count", (m) => m.hosts.forEach((h) => (nsOf(m, h.name, "lb").network = { name: "othernet", id: "x" })), "fail", "observed", /neither on eth0 nor in an lb_ namespace/],
  ]);
  it("a VIP on eth0 with another prefix is not the VIP", () => {
    const r = one("SB-2", (m) => {
      for (const h of m.hosts) {
        iface(sandbox(m, h.name), "eth0").addresses.push({ family: "inet", local: "192.168.200.2", prefixlen: 24, scope: "global" });
        h.namespaces = h.namespaces.filter((n) => n.kind !== "lb");
      }
    });
    expect(r.outcome).toBe("fail");
  });
  it("the VIP is looked up on the overlay's network ID", () => {
    const r = one("SB-2", (m) => host(m, "docker0").service!.virtualIps.unshift({ networkId: "r2t6f0j8m1kq9v3x5z7b4n6d8", addr: "10.255.0.5/16" }));
    expect(r.outcome).toBe("changed");
    expect(r.details[0]).toBe("service VIP on demonet: 192.168.200.2");
  });
});

describe("SB-3", () => {
  run([
    ["SB-3", "the exec view was not gathered", (m) => (host(m, "docker1").execLinks = {}), "unchecked", "explanation", /^docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: `docker exec b7e1d3f5a9c2 ip addr show` was not gathered$/],
    ["SB-3", "the engine is down", (m) => {
      host(m, "docker1").execLinks = {};
      host(m, "docker1").dockerDown = "the Docker engine is not running";
    }, "unchecked", "explanation", /^docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: the Docker engine is not running$/],
    ["SB-3", "exec shows an extra interface", (m) => {
      const l = Object.values(host(m, "docker1").execLinks)[0]!;
      l.push({ ...l[0]!, name: "eth9", ifindex: 99 });
    }, "fail", "observed", /^docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: docker exec shows eth9 \(99, mtu 65536, 127.0.0.1\/8\); nsenter shows nothing more$/],
    ["SB-3", "nsenter shows an extra interface", (m) => sandbox(m, "docker1").interfaces.push({ name: "eth9", ifindex: 99, kind: "veth", mtu: 1500, flags: [], addresses: [] }), "fail", "observed", /docker exec shows nothing more; nsenter shows eth9 \(99, mtu 1500, no IPv4\)$/],
    ["SB-3", "another MTU", (m) => (iface(sandbox(m, "docker1"), "eth1").mtu = 9000), "fail", "observed", /nsenter shows eth1 \(13, mtu 9000, 172.18.0.3\/16\)$/],
    ["SB-3", "another index", (m) => (iface(sandbox(m, "docker1"), "eth1").ifindex = 31), "fail", "observed", /nsenter shows eth1 \(31, mtu 1500, 172.18.0.3\/16\)$/],
  ]);
  it("IPv6 addresses are not compared, and the order of addresses does not matter", () => {
    expect(one("SB-3", (m) => iface(sandbox(m, "docker1"), "eth0").addresses.push({ family: "inet6", local: "fe80::1", prefixlen: 64, scope: "link" })).outcome).toBe("pass");
    const r = one("SB-3", (m) => {
      iface(sandbox(m, "docker1"), "eth0").addresses.unshift({ family: "inet", local: "192.168.200.2", prefixlen: 32, scope: "global" });
      Object.values(host(m, "docker1").execLinks)[0]!.find((l) => l.name === "eth0")!.addresses.push({ family: "inet", local: "192.168.200.2", prefixlen: 32, scope: "global" } as never);
    });
    expect(r.outcome).toBe("pass");
  });
});

describe("RT-1", () => {
  const routes = (m: LabModel) => sandbox(m, "docker1").routes;
  run([
    ["RT-1", "no routes", (m) => (sandbox(m, "docker1").routes = []), "fail", "details", /^docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: no routes$/m],
    ["RT-1", "the overlay route from another source", (m) => (routes(m).find((r) => r.dev === "eth0")!.prefsrc = "192.168.200.9"), "fail", "observed", /missing route "192.168.200.0\/24 dev eth0 src 192.168.200.4".*unexpected route "192.168.200.0\/24 dev eth0 src 192.168.200.9"/],
    ["RT-1", "the gwbridge route from another source", (m) => (routes(m).find((r) => r.dst === "172.18.0.0/16")!.prefsrc = "172.18.0.9"), "fail", "observed", /missing route "172.18.0.0\/16 dev eth1 src 172.18.0.3"/],
    ["RT-1", "a route without a device", (m) => delete routes(m).find((r) => r.dst === "default")!.dev, "fail", "observed", /unexpected route "default via 172.18.0.1"$/],
    ["RT-1", "an extra unicast route", (m) => routes(m).push({ dst: "10.0.0.0/8", gateway: "172.18.0.1", dev: "eth1", type: "unicast" } as never), "fail", "observed", /^docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: unexpected route "10.0.0.0\/8 via 172.18.0.1 dev eth1"$/],
  ]);
  it("local and broadcast routes are not compared", () => {
    expect(one("RT-1", (m) => routes(m).push({ dst: "192.168.200.255", dev: "eth0", type: "broadcast" } as never)).outcome).toBe("pass");
  });
  it("without eth0's address the expected route names '?'", () => {
    const r = one("RT-1", (m) => (iface(sandbox(m, "docker1"), "eth0").addresses = []));
    expect(r.observed).toMatch(/missing route "192.168.200.0\/24 dev eth0 src \?"/);
  });
  it("without eth1's address the expected route names '?'", () => {
    const r = one("RT-1", (m) => (iface(sandbox(m, "docker1"), "eth1").addresses = []));
    expect(r.observed).toMatch(/missing route "172.18.0.0\/16 dev eth1 src \?"/);
  });
  it("the VIP on eth0 is not taken for eth0's source", () => {
    const r = one("RT-1", (m) => iface(sandbox(m, "docker1"), "eth0").addresses.unshift({ family: "inet", local: "192.168.200.2", prefixlen: 32, scope: "global" }));
    expect(r.outcome).toBe("pass");
  });
});

describe("VETH-1 and VETH-2", () => {
  const eth = (m: LabModel, h: string, n: string) => iface(sandbox(m, h), n);
  run([
    ["VETH-1", "no eth0", (m) => (sandbox(m, "docker1").interfaces = sandbox(m, "docker1").interfaces.filter((i) => i.name !== "eth0")), "fail", "observed", /^docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: no eth0$/],
    ["VETH-1", "the peer is in the host namespace", (m) => (eth(m, "docker1", "eth0").peer = { host: "docker1", namespace: "host", ifname: "vethe7b3f90", ifindex: 14 }), "fail", "observed", /eth0's peer is in host \(host\), expected the demonet namespace/],
    ["VETH-1", "the peer is in the ingress overlay", (m) => (eth(m, "docker1", "eth0").peer = { host: "docker1", namespace: "1-r2t6f0j8m1", ifname: "veth0", ifindex: 7 }), "fail", "observed", /eth0's peer is in 1-r2t6f0j8m1 \(overlay ingress\), expected the demonet namespace/],
    ["VETH-1", "the peer is no veth", (m) => (iface(overlay(m, "docker1"), "veth0").kind = "macvlan"), "fail", "observed", /eth0's peer veth0 is a macvlan, expected a veth/],
    ["VETH-1", "the peer's mtu", (m) => (iface(overlay(m, "docker1"), "veth0").mtu = 1500), "fail", "observed", /veth0 mtu 1500, expected 1450$/],
    ["VETH-1", "the peer points elsewhere", (m) => (iface(overlay(m, "docker1"), "veth0").peerIfindex = 99), "fail", "observed", /veth0 points back at if99, not at eth0 \(11\)$/],
    ["VETH-1", "the peer points nowhere", (m) => delete iface(overlay(m, "docker1"), "veth0").peerIfindex, "fail", "observed", /veth0 points back at if\?, not at eth0 \(11\)$/],
    ["VETH-1", "the pairing was ambiguous", (m) => {
      delete eth(m, "docker1", "eth0").peer;
      host(m, "docker1").issues.push({ key: "veth@9b41d6e2c07a/eth0", kind: "ambiguous", message: "two ends have ifindex 12 and no link-netnsid tells them apart" });
    }, "unchecked", "explanation", /the peer of eth0@if12 is unknown: two ends have ifindex 12 and no link-netnsid tells them apart$/],
    ["VETH-1", "an ambiguity of another interface does not excuse it", (m) => {
      delete eth(m, "docker1", "eth0").peer;
      host(m, "docker1").issues.push({ key: "veth@9b41d6e2c07a/eth1", kind: "ambiguous", message: "two ends" });
    }, "fail", "observed", /the peer of eth0@if12 was not found in any namespace of docker1$/],
    ["VETH-1", "an issue of another kind does not excuse it", (m) => {
      delete eth(m, "docker1", "eth0").peer;
      host(m, "docker1").issues.push({ key: "veth@9b41d6e2c07a/eth0", kind: "parse", message: "garbled" });
    }, "fail", "observed", /was not found in any namespace of docker1$/],
    ["VETH-1", "no namespace listing", (m) => {
      delete eth(m, "docker1", "eth0").peer;
      delete host(m, "docker1").netnsNames;
    }, "unchecked", "explanation", /the peer of eth0@if12 is unknown: `ls -1 \/var\/run\/docker\/netns` was not gathered$/],
    ["VETH-1", "unknown peer index", (m) => {
      delete eth(m, "docker1", "eth0").peer;
      delete eth(m, "docker1", "eth0").peerIfindex;
    }, "fail", "observed", /the peer of eth0@if\? was not found/],
    ["VETH-1", "the peer reference leads nowhere", (m) => (eth(m, "docker1", "eth0").peer = { host: "docker1", namespace: "gone", ifname: "veth0", ifindex: 12 }), "fail", "observed", /the peer of eth0@if12 was not found in any namespace of docker1/],
    ["VETH-2", "no eth1", (m) => (sandbox(m, "docker1").interfaces = sandbox(m, "docker1").interfaces.filter((i) => i.name !== "eth1")), "fail", "observed", /^docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: no eth1$/],
    ["VETH-2", "ethtool disagrees", (m) => (eth(m, "docker1", "eth1").ethtoolPeerIfindex = 77), "fail", "observed", /eth1@if14 but ethtool says peer_ifindex 77$/],
    ["VETH-2", "the peer is gone", (m) => delete eth(m, "docker1", "eth1").peer, "fail", "observed", /the peer of eth1@if14 was not found in any namespace of docker1$/],
    ["VETH-2", "the peer is gone and a namespace was not gathered", (m) => {
      delete eth(m, "docker1", "eth1").peer;
      nsOf(m, "docker1", "lb").issues.push("`ip -d link show` timed out");
    }, "unchecked", "explanation", /the peer of eth1@if14 is unknown: not every namespace was gathered \(lb_k3b7x2n9q: `ip -d link show` timed out\)$/],
    ["VETH-2", "the peer is in the overlay", (m) => (eth(m, "docker1", "eth1").peer = { host: "docker1", namespace: "1-k3b7x2n9q4", ifname: "veth0", ifindex: 12 }), "fail", "observed", /eth1's peer is in 1-k3b7x2n9q4, expected the host namespace/],
    ["VETH-2", "the peer is not named veth…", (m) => {
      iface(nsOf(m, "docker1", "host"), "vethe7b3f90").name = "gw0";
      eth(m, "docker1", "eth1").peer!.ifname = "gw0";
    }, "fail", "observed", /eth1's peer is gw0 \(veth\), expected a veth… device/],
    ["VETH-2", "the peer is no veth", (m) => (iface(nsOf(m, "docker1", "host"), "vethe7b3f90").kind = "macvlan"), "fail", "observed", /eth1's peer is vethe7b3f90 \(macvlan\), expected a veth… device/],
    ["VETH-2", "the peer on no bridge", (m) => delete iface(nsOf(m, "docker1", "host"), "vethe7b3f90").master, "fail", "observed", /vethe7b3f90 is enslaved to nothing, expected docker_gwbridge$/],
    ["VETH-2", "the peer points elsewhere", (m) => (iface(nsOf(m, "docker1", "host"), "vethe7b3f90").peerIfindex = 5), "fail", "observed", /vethe7b3f90 points back at if5, not at eth1 \(13\)$/],
    ["VETH-2", "the peer points nowhere", (m) => delete iface(nsOf(m, "docker1", "host"), "vethe7b3f90").peerIfindex, "fail", "observed", /vethe7b3f90 points back at if\?, not at eth1 \(13\)$/],
  ]);
  it("ethtool agreeing, or not asked, is fine", () => {
    expect(one("VETH-1", (m) => delete eth(m, "docker1", "eth0").ethtoolPeerIfindex).outcome).toBe("pass");
    expect(one("VETH-2", (m) => (eth(m, "docker1", "eth1").ethtoolPeerIfindex = 14)).outcome).toBe("pass");
  });
});

describe("forEachOverlayNs (OVL-*, VXLAN-*)", () => {
  run([
    ["OVL-2", "no namespace listing", (m) => {
      host(m, "docker1").namespaces = host(m, "docker1").namespaces.filter((n) => n.kind !== "overlay");
      delete host(m, "docker1").netnsNames;
    }, "unchecked", "explanation", /^cannot list the namespaces of docker1: `ls -1 \/var\/run\/docker\/netns` was not gathered$/],
    ["OVL-2", "1- namespaces that cannot be told apart", (m) => {
      host(m, "docker1").namespaces = host(m, "docker1").namespaces.filter((n) => n.kind !== "overlay");
      delete host(m, "docker1").networks;
    }, "unchecked", "explanation", /^cannot tell which namespace is demonet's on docker1: `docker network inspect <all networks>` was not gathered$/],
    ["OVL-2", "a worker whose tasks are unknown", (m) => {
      dropNs(m, "docker1", "1-k3b7x2n9q4");
      delete host(m, "docker1").containers;
    }, "unchecked", "explanation", /^cannot tell whether a task needs demonet on docker1: `docker inspect <running containers>` was not gathered$/],
    ["OVL-2", "a host with a task but no overlay namespace", (m) => dropNs(m, "docker1", "1-k3b7x2n9q4"), "fail", "observed", /^docker1: no demonet namespace 1-<id> \(namespaces: 1-r2t6f0j8m1, 9b41d6e2c07a, ingress_sbox, lb_k3b7x2n9q\)$/],
    ["OVL-2", "a host without a task needs none", (m) => {
      dropNs(m, "docker1", "1-k3b7x2n9q4");
      host(m, "docker1").containers = [];
    }, "pass", "details", /^note: docker1: no demonet namespace \(no local task\)$/m],
    ["OVL-2", "no overlay namespace anywhere", (m) => m.hosts.forEach((h) => {
      dropNs(m, h.name, "1-k3b7x2n9q4");
      h.containers = [];
    }), "fail", "observed", /^no demonet namespace found on any host$/],
    ["OVL-2", "an empty listing", (m) => {
      host(m, "docker1").namespaces = host(m, "docker1").namespaces.filter((n) => n.kind === "host");
      host(m, "docker1").netnsNames = [];
    }, "fail", "observed", /^docker1: no demonet namespace 1-<id> \(namespaces: none\)$/],
    ["OVL-2", "the namespace not fully gathered", (m) => overlay(m, "docker1").issues.push("`ip -d link show` timed out"), "unchecked", "explanation", /^docker1: 1-k3b7x2n9q4: `ip -d link show` timed out$/],
    ["OVL-2", "no br0", (m) => (overlay(m, "docker1").interfaces = overlay(m, "docker1").interfaces.filter((i) => i.name !== "br0")), "fail", "observed", /^docker1: 1-k3b7x2n9q4: no br0$/],
    ["OVL-2", "no bridge details", (m) => delete iface(overlay(m, "docker1"), "br0").bridge, "unchecked", "explanation", /^docker1: 1-k3b7x2n9q4: no bridge details for br0 \(was `ip -d link` gathered\?\)$/],
    ["OVL-2", "forward delay", (m) => (iface(overlay(m, "docker1"), "br0").bridge!.forwardDelay = 1000), "fail", "observed", /^docker1: br0 timers differ$/],
    ["OVL-2", "max age", (m) => (iface(overlay(m, "docker1"), "br0").bridge!.maxAge = 1000), "fail", "observed", /^docker1: br0 timers differ$/],
    ["VXLAN-2", "the ingress namespace is required on every host", (m) => {
      dropNs(m, "docker1", "1-r2t6f0j8m1");
      host(m, "docker1").containers = [];
    }, "fail", "observed", /^docker1: no ingress namespace 1-<id>/],
    ["VXLAN-2", "even when the host's containers are unknown", (m) => {
      dropNs(m, "docker1", "1-r2t6f0j8m1");
      delete host(m, "docker1").containers;
    }, "fail", "observed", /^docker1: no ingress namespace 1-<id>/],
  ]);
  it("without 1- namespaces, the missing network IDs do not matter", () => {
    const r = one("OVL-2", (m) => {
      for (const id of ["1-k3b7x2n9q4", "1-r2t6f0j8m1"]) dropNs(m, "docker1", id);
      delete host(m, "docker1").networks;
    });
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/^docker1: no demonet namespace 1-<id>/);
  });
});

describe("OVL-1", () => {
  const ovl = (m: LabModel) => overlay(m, "docker1");
  run([
    ["OVL-1", "no br0", (m) => (ovl(m).interfaces = ovl(m).interfaces.filter((i) => i.name !== "br0")), "fail", "observed", /docker1: 1-k3b7x2n9q4: no bridge br0/],
    ["OVL-1", "br0 is no bridge", (m) => (iface(ovl(m), "br0").kind = "dummy"), "fail", "observed", /docker1: 1-k3b7x2n9q4: no bridge br0/],
    ["OVL-1", "br0 mtu", (m) => (iface(ovl(m), "br0").mtu = 1500), "fail", "observed", /^docker1: 1-k3b7x2n9q4: br0 mtu 1500, expected 1450$/],
    ["OVL-1", "no lo", (m) => (ovl(m).interfaces = ovl(m).interfaces.filter((i) => i.name !== "lo")), "fail", "observed", /^docker1: 1-k3b7x2n9q4: no lo$/],
    ["OVL-1", "no vxlan", (m) => (ovl(m).interfaces = ovl(m).interfaces.filter((i) => i.kind !== "vxlan")), "fail", "observed", /^docker1: 1-k3b7x2n9q4: 0 vxlan interfaces, expected 1$/],
    ["OVL-1", "the vxlan on no bridge", (m) => delete iface(ovl(m), "vxlan0").master, "fail", "observed", /^docker1: 1-k3b7x2n9q4: vxlan0 is not enslaved to br0$/],
    ["OVL-1", "the vxlan named otherwise", (m) => (iface(ovl(m), "vxlan0").name = "vx-demo"), "fail", "observed", /^docker1: 1-k3b7x2n9q4: the vxlan interface is vx-demo, expected vxlan1 \(or vxlan0 on newer engines\)$/],
    ["OVL-1", "a veth on no bridge", (m) => delete iface(ovl(m), "veth0").master, "fail", "observed", /^docker1: 1-k3b7x2n9q4: veth0 is not enslaved to br0$/],
    ["OVL-1", "no veth to the task", (m) => (ovl(m).interfaces = ovl(m).interfaces.filter((i) => i.name !== "veth0")), "fail", "observed", /^docker1: 1-k3b7x2n9q4: no veth leads to the task sandbox 9b41d6e2c07a$/],
    ["OVL-1", "a veth to the ingress sandbox", (m) => (iface(ovl(m), "veth1").peer = { host: "docker1", namespace: "ingress_sbox", ifname: "eth0", ifindex: 6 }), "fail", "observed", /^docker1: 1-k3b7x2n9q4: veth1 leads to ingress_sbox \(ingress_sbox\), not to a local task$/],
    ["OVL-1", "the lb namespace of another network", (m) => (nsOf(m, "docker1", "lb").network = { name: "othernet", id: "x" }), "fail", "observed", /veth1 leads to lb_k3b7x2n9q \(lb\), not to a local task/],
    ["OVL-1", "a veth of unknown kind counts as a veth", (m) => (iface(ovl(m), "veth1").kind = "unknown"), "changed", "observed", /veth1 leads to the load-balancer namespace lb_k3b7x2n9q/],
    ["OVL-1", "a veth whose peer cannot be found for lack of data", (m) => {
      delete iface(ovl(m), "veth1").peer;
      delete host(m, "docker1").netnsNames;
    }, "unchecked", "explanation", /^docker1: 1-k3b7x2n9q4: where veth1 leads is unknown: `ls -1 \/var\/run\/docker\/netns` was not gathered$/],
    ["OVL-1", "an unexpected device", (m) => ovl(m).interfaces.push({ name: "dummy0", ifindex: 70, kind: "dummy", mtu: 1450, flags: [], addresses: [] }), "fail", "observed", /^docker1: 1-k3b7x2n9q4: unexpected interface dummy0 \(dummy\)$/],
    ["OVL-1", "members are observed with their bridge", (m) => delete iface(ovl(m), "veth1").master, "fail", "details", /^docker1: 1-k3b7x2n9q4: lo, br0, vxlan0\^br0, veth0\^br0, veth1$/m],
  ]);
  it("a vxlan named as in 000 (vxlan1) is no change", () => {
    const r = one("OVL-1", (m) => m.hosts.forEach((h) => (iface(overlay(m, h.name), "vxlan0").name = "vxlan1")));
    expect(r.observed).not.toMatch(/the vxlan interface is/);
  });
});

describe("VXLAN-1 and VXLAN-2", () => {
  const vx = (m: LabModel, h = "docker1", n = "demonet") => iface(overlay(m, h, n), "vxlan0");
  run([
    ["VXLAN-1", "no vxlan", (m) => (overlay(m, "docker1").interfaces = overlay(m, "docker1").interfaces.filter((i) => i.kind !== "vxlan")), "fail", "observed", /^docker1: 1-k3b7x2n9q4: no vxlan interface$/],
    ["VXLAN-1", "no vxlan details", (m) => delete vx(m).vxlan, "unchecked", "explanation", /^docker1: 1-k3b7x2n9q4: vxlan0: no vxlan details \(was `ip -d link` gathered\?\)$/],
    ["VXLAN-1", "no dstport", (m) => delete vx(m).vxlan!.dstport, "fail", "observed", /^docker1: 1-k3b7x2n9q4: vxlan0: dstport none, expected 4789$/],
    ["VXLAN-1", "all flags missing", (m) => Object.assign(vx(m).vxlan!, { proxy: false, l2miss: false, l3miss: false }), "fail", "observed", /vxlan0: lacks proxy, l2miss, l3miss$/],
    ["VXLAN-1", "observed without flags", (m) => {
      Object.assign(vx(m).vxlan!, { proxy: false, l2miss: false, l3miss: false });
      delete vx(m).vxlan!.dstport;
      delete vx(m).vxlan!.ageing;
    }, "fail", "details", /^docker1: 1-k3b7x2n9q4: vxlan0: id 4097 dstport \? ageing \?$/m],
    ["VXLAN-1", "no network inspect, here or on the manager", (m) => m.hosts.forEach((h) => delete h.networks), "unchecked", "explanation", /cannot read com.docker.network.driver.overlay.vxlanid_list of demonet on docker1: `docker network inspect <all networks>` was not gathered/],
    ["VXLAN-1", "the overlay missing from every inspect", (m) => m.hosts.forEach((h) => (h.networks = h.networks!.filter((n) => n.name !== "demonet"))), "fail", "observed", /docker1: no network demonet in docker network inspect, cannot read com.docker.network.driver.overlay.vxlanid_list/],
    ["VXLAN-1", "no vxlanid option", (m) => delete net(m, "docker1", "demonet").options["com.docker.network.driver.overlay.vxlanid_list"], "fail", "observed", /^docker1: docker network inspect demonet has no com.docker.network.driver.overlay.vxlanid_list$/],
    ["VXLAN-1", "two vxlan ids", (m) => (net(m, "docker1", "demonet").options["com.docker.network.driver.overlay.vxlanid_list"] = "4097,4098"), "fail", "observed", /vxlanid_list is 4097,4098 but vxlan0 has id 4097$/],
    ["VXLAN-2", "the ingress vxlan id in inspect", (m) => (net(m, "docker1", "ingress").options["com.docker.network.driver.overlay.vxlanid_list"] = "4100"), "fail", "observed", /^docker1: com.docker.network.driver.overlay.vxlanid_list is 4100 but vxlan0 has id 4096$/],
  ]);
  it("a vxlanid list with spaces reads the same", () => {
    expect(one("VXLAN-1", (m) => (net(m, "docker1", "demonet").options["com.docker.network.driver.overlay.vxlanid_list"] = " 4097 ")).outcome).toBe("pass");
  });
  it("a host that lacks the network in its own inspect is read from the manager's", () => {
    const r = one("VXLAN-1", (m) => (host(m, "docker1").networks = host(m, "docker1").networks!.filter((n) => n.name !== "demonet")));
    expect(r.outcome).toBe("pass");
  });
  it("VXLAN-2 does not check the flags, dstport or ageing (only VXLAN-1 documents them)", () => {
    const r = one("VXLAN-2", (m) => {
      Object.assign(vx(m, "docker1", "ingress").vxlan!, { proxy: false, dstport: 8472, ageing: 10 });
    });
    expect(r.outcome).toBe("pass");
  });
});

describe("ING-1", () => {
  const ing = (m: LabModel, h = "docker1") => net(m, h, "ingress");
  run([
    ["ING-1", "inspect not gathered", (m) => delete host(m, "docker1").networks, "unchecked", "explanation", /^docker1: `docker network inspect <all networks>` was not gathered$/],
    ["ING-1", "no ingress network", (m) => (host(m, "docker1").networks = host(m, "docker1").networks!.filter((n) => n.name !== "ingress")), "fail", "observed", /^docker1: no network ingress$/],
    ["ING-1", "no ingress-sbox endpoint", (m) => (ing(m).containers = []), "fail", "observed", /^docker1: no ingress-sbox endpoint on ingress$/],
    ["ING-1", "no endpoints is observed so", (m) => (ing(m).containers = []), "fail", "details", /^docker1: subnet 10.255.0.0\/16; no endpoints$/m],
    ["ING-1", "no subnet is observed so", (m) => (ing(m).ipam = []), "pass", "details", /^docker1: subnet none; ingress-sbox: ingress-endpoint 10.255.0.3\/16$/m],
    ["ING-1", "the endpoint outside both ranges", (m) => (ing(m).containers[0]!.ipv4 = "10.9.0.3/16"), "fail", "observed", /^docker1: ingress-sbox has 10.9.0.3\/16, expected one in 10.255.0.0\/16 \(or 10.0.0.0\/24 on a swarm initialised with the engine's defaults\)$/],
    ["ING-1", "the endpoint without an address", (m) => delete ing(m).containers[0]!.ipv4, "fail", "observed", /^docker1: ingress-sbox has no address, expected one in 10.255.0.0\/16/],
    ["ING-1", "the endpoint with another prefix", (m) => (ing(m).containers[0]!.ipv4 = "10.255.0.3/24"), "fail", "observed", /ingress-sbox has 10.255.0.3\/24, expected/],
    ["ING-1", "the endpoint in the newer engines' range", (m) => m.hosts.forEach((h) => {
      const n = net(m, h.name, "ingress");
      n.ipam = [{ subnet: "10.0.0.0/24", gateway: "10.0.0.1" }];
      n.containers[0]!.ipv4 = "10.0.0.2/24";
    }), "changed", "observed", /docker0: ingress-sbox has 10.0.0.2\/24, in 10.0.0.0\/24 \(the engine's default ingress range, not 10.255.0.0\/16\)/],
    ["ING-1", "the endpoint in the newer range but IPAM says otherwise", (m) => (ing(m).containers[0]!.ipv4 = "10.0.0.2/24"), "fail", "observed", /ingress-sbox has 10.0.0.2\/24, expected one in 10.255.0.0\/16/],
    ["ING-1", "the documented range with IPAM of the newer range", (m) => (ing(m).ipam = [{ subnet: "10.0.0.0/24", gateway: "10.0.0.1" }]), "fail", "observed", /ingress-sbox has 10.255.0.3\/16, expected one in 10.255.0.0\/16/],
  ]);
  it("IPAM that is not known does not stand in the way", () => {
    expect(one("ING-1", (m) => (net(m, "docker1", "ingress").ipam = [])).outcome).toBe("pass");
  });
  it("two IPAM subnets must all agree", () => {
    expect(one("ING-1", (m) => net(m, "docker1", "ingress").ipam.push({ subnet: "10.9.0.0/16" })).outcome).toBe("fail");
  });
});

describe("ING-2", () => {
  const sbox = (m: LabModel, h = "docker1") => nsOf(m, h, "ingress_sbox");
  run([
    ["ING-2", "no ingress_sbox", (m) => dropNs(m, "docker1", "ingress_sbox"), "fail", "observed", /^docker1: no ingress_sbox namespace$/],
    ["ING-2", "no listing", (m) => {
      dropNs(m, "docker1", "ingress_sbox");
      delete host(m, "docker1").netnsNames;
    }, "unchecked", "explanation", /^docker1: `ls -1 \/var\/run\/docker\/netns` was not gathered$/],
    ["ING-2", "an extra interface", (m) => sbox(m).interfaces.push({ name: "eth2", ifindex: 30, kind: "veth", mtu: 1500, flags: [], addresses: [] }), "fail", "observed", /^docker1: interfaces eth0,eth1,eth2,lo, expected eth0, eth1, lo$/],
    ["ING-2", "eth0 mtu", (m) => (iface(sbox(m), "eth0").mtu = 1500), "fail", "observed", /^docker1: eth0 mtu 1500, expected 1450$/],
    ["ING-2", "eth0 outside both ranges", (m) => (iface(sbox(m), "eth0").addresses[0]!.local = "10.9.0.3"), "fail", "observed", /^docker1: eth0 has 10.9.0.3\/16, expected one address in 10.255.0.0\/16 \(or 10.0.0.0\/24 on a swarm initialised with the engine's defaults\)$/],
    ["ING-2", "eth0 with two addresses", (m) => iface(sbox(m), "eth0").addresses.push({ family: "inet", local: "10.255.0.9", prefixlen: 16, scope: "global" }), "fail", "observed", /^docker1: eth0 has 10.255.0.3\/16, 10.255.0.9\/16, expected one address in 10.255.0.0\/16/],
    ["ING-2", "eth0 in the newer range", (m) => m.hosts.forEach((h) => {
      net(m, h.name, "ingress").ipam = [{ subnet: "10.0.0.0/24", gateway: "10.0.0.1" }];
      Object.assign(iface(sbox(m, h.name), "eth0").addresses[0]!, { local: "10.0.0.2", prefixlen: 24 });
    }), "changed", "observed", /^docker0: ingress_sbox eth0 has 10.0.0.2\/24, in 10.0.0.0\/24 \(the engine's default ingress range, not 10.255.0.0\/16\)/],
    ["ING-2", "eth1 mtu", (m) => (iface(sbox(m), "eth1").mtu = 1450), "fail", "observed", /^docker1: eth1 mtu 1450, expected 1500$/],
    ["ING-2", "eth1 with another prefix", (m) => (iface(sbox(m), "eth1").addresses[0]!.prefixlen = 24), "fail", "observed", /^docker1: eth1 has 172.18.0.2\/24, expected 172.18.0.2\/16 \(one address in 172.18.0.0\/16\)$/],
    ["ING-2", "eth1 with two addresses", (m) => iface(sbox(m), "eth1").addresses.push({ family: "inet", local: "172.18.0.9", prefixlen: 16, scope: "global" }), "fail", "observed", /^docker1: eth1 has 172.18.0.2\/16, 172.18.0.9\/16, expected/],
    ["ING-2", "eth1 without an address", (m) => (iface(sbox(m), "eth1").addresses = []), "fail", "observed", /^docker1: eth1 has no IPv4, expected/],
  ]);
  it("the ingress network is taken from the manager when the host's inspect lacks it", () => {
    const r = one("ING-2", (m) => {
      host(m, "docker1").networks = host(m, "docker1").networks!.filter((n) => n.name !== "ingress");
      net(m, "docker0", "ingress").ipam = [{ subnet: "10.9.0.0/16" }];
    });
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/^docker0: eth0 has 10.255.0.2\/16, expected.*; docker1: eth0 has 10.255.0.3\/16, expected/);
  });
  it("without any ingress network inspected, the address range alone decides", () => {
    const r = one("ING-2", (m) => m.hosts.forEach((h) => (h.networks = h.networks!.filter((n) => n.name !== "ingress"))));
    expect(r.outcome).toBe("pass");
  });
});

describe("runChecks", () => {
  it("a check that throws is reported as verify's own error, not a failure of the lab", () => {
    const m = clone(BASE);
    (host(m, "docker0") as { sockets: unknown[] }).sockets = [null];
    const [r] = check(m, INV, ["PORT-1"]);
    expect(r!.outcome).toBe("unchecked");
    expect(r!.observed).toBe("not checked");
    expect(r!.details).toEqual([]);
    expect(r!.explanation).toMatch(/^internal error in verify while checking this fact: /);
    expect(r!.expected).toBe("2377/tcp for management plane comms, 7946/tcp and 7946/udp for control plane comms, 4789/udp for the VXLAN data plane");
  });
  it("an unchecked fact keeps what it did see, and the changes it also found", () => {
    const r = one("OVL-1", (m) => overlay(m, "docker1").issues.push("`ip -d link show` timed out"));
    expect(r.outcome).toBe("unchecked");
    expect(r.observed).toBe("docker0: 1-k3b7x2n9q4: lo, br0, vxlan0^br0, veth0^br0, veth1^br0");
    expect(r.details).toContain("also changed: docker0: 1-k3b7x2n9q4: the vxlan interface is vxlan0 (004: vxlan1)");
    expect(r.explanation).toBe("docker1: 1-k3b7x2n9q4: `ip -d link show` timed out");
  });
  it("a failed fact lists the changes it also found", () => {
    const r = one("OVL-1", (m) => (iface(overlay(m, "docker1"), "br0").mtu = 1500));
    expect(r.outcome).toBe("fail");
    expect(r.details).toContain("also changed: docker0: 1-k3b7x2n9q4: the vxlan interface is vxlan0 (004: vxlan1)");
    expect(r.explanation).toBeUndefined();
  });
  it("a passed fact has no explanation; a changed one has no 'also' lines", () => {
    const [pass, changed] = check(clone(BASE), INV, ["HOST-3", "OVL-1"]);
    expect(pass!.explanation).toBeUndefined();
    expect(pass!.details.some((d) => d.startsWith("also"))).toBe(false);
    expect(changed!.details.some((d) => d.startsWith("also"))).toBe(false);
  });
  it("an unchecked fact that saw nothing says 'not checked'", () => {
    const r = one("PORT-1", (m) => m.hosts.forEach((h) => delete h.sockets));
    expect(r.observed).toBe("not checked");
    expect(r.explanation).toBe("docker0: `ss -Hlntu` was not gathered; docker1: `ss -Hlntu` was not gathered");
  });
  it("the same cause is explained once", () => {
    const r = one("VXLAN-1", (m) => {
      const ovl = overlay(m, "docker1");
      delete iface(ovl, "vxlan0").vxlan;
      ovl.interfaces.push({ ...iface(ovl, "vxlan0"), ifindex: 51 });
    });
    expect(r.explanation).toBe("docker1: 1-k3b7x2n9q4: vxlan0: no vxlan details (was `ip -d link` gathered?)");
    const r2 = one("HOST-1", (m) => m.hosts.forEach((h) => Object.assign(h, { reachable: false, error: "connection refused" })));
    expect(r2.explanation).toBe("docker0: connection refused; docker1: connection refused");
  });
  it("a host that could not be gathered, without a recorded error, says so", () => {
    const r = one("HOST-3", (m) => {
      const h = host(m, "docker1");
      h.reachable = false;
      delete h.error;
    });
    expect(r.explanation).toBe("docker1: could not be gathered");
  });
  it("an empty --only runs every fact", () => {
    expect(check(BASE, INV, []).length).toBe(29);
  });
  it("traffic evidence carries its own explanation and details", () => {
    const m = clone(BASE);
    const plumbing = path.resolve(__dirname, "../../../fixtures/plumbing/traffic");
    const plan = JSON.parse(fs.readFileSync(path.join(plumbing, "plan-emu.json"), "utf8")) as TrafficPlan;
    // Recorded with the remote side cut: PATH-4 fails with the decoded packets as details.
    const cutRun = parseTrafficOutput(fs.readFileSync(path.join(plumbing, "cut-remote.txt"), "utf8"));
    const obs: TrafficObservations = { kind: "ran", plan, run: cutRun, parsed: parseSteps(cutRun, plan) };
    m.probe = obs;
    const judged = judgeTraffic(obs.run, plan);
    const [p1, p4] = check(m, INV, ["PATH-1", "PATH-4"]);
    expect(p1).toMatchObject({ outcome: judged["PATH-1"].outcome, observed: judged["PATH-1"].observed, details: [] });
    expect(p1!.explanation).toBe(toTrafficEvidence(judged)["PATH-1"]!.explanation);
    expect(p4).toMatchObject({ outcome: "fail", observed: judged["PATH-4"].observed, details: judged["PATH-4"].details });
    expect(p4!.explanation).toBeUndefined();
    // An explanation of the probe's (PATH-2's note on 8.8.8.8) is the fact's explanation.
    expect(check(m, INV, ["PATH-2"])[0]!.explanation).toBe(judged["PATH-2"].explanation);
  });
});

describe("the cause given for missing data", () => {
  it("is the section's own issue when there is one, all of them when several", () => {
    const r = one("PORT-1", (m) => {
      delete host(m, "docker1").sockets;
      host(m, "docker1").issues.push({ key: "ss", kind: "timeout", message: "`ss -Hlntu` timed out after 10 s" });
    });
    expect(r.explanation).toBe("docker1: `ss -Hlntu` timed out after 10 s");
    const r2 = one("NS-2", (m) => {
      delete host(m, "docker1").containers;
      host(m, "docker1").issues.push({ key: "docker-container-ids", kind: "failed", message: "`docker ps -q --no-trunc` failed with exit code 1" });
      host(m, "docker1").issues.push({ key: "docker-ps", kind: "timeout", message: "`docker ps --no-trunc` timed out" });
      host(m, "docker1").issues.push({ key: "ss", kind: "timeout", message: "`ss -Hlntu` timed out" });
    });
    expect(r2.explanation).toBe("cannot list the task containers of docker1: `docker ps -q --no-trunc` failed with exit code 1; `docker ps --no-trunc` timed out");
  });
  it("is the engine being down only for Docker's own views", () => {
    const r = one("NS-1", (m) => {
      delete host(m, "docker1").netnsNames;
      host(m, "docker1").dockerDown = "the Docker engine is not running";
    });
    expect(r.explanation).toBe("docker1: `ls -1 /var/run/docker/netns` was not gathered");
    const r2 = one("NET-1", (m) => {
      delete host(m, "docker1").networkLs;
      host(m, "docker1").dockerDown = "the Docker engine is not running";
    });
    expect(r2.explanation).toBe("docker1: the Docker engine is not running");
  });
  it("is the host's error when the host could not be gathered", () => {
    const r = one("CL-2", (m) => {
      delete m.manager;
      Object.assign(host(m, "docker0"), { reachable: false, error: "ssh: connection timed out" });
    });
    expect(r.outcome).toBe("unchecked");
    expect(r.explanation).toBe("no swarm manager answered: docker0: ssh: connection timed out");
  });
});

describe("every cause of an unchecked fact above", () => {
  const withBoth = (mutate: (m: LabModel) => void, extra: (h: HostModel) => void) => (m: LabModel) => {
    mutate(m);
    m.hosts.forEach(extra);
  };
  for (const [id, what, mutate] of UNCHECKED) {
    it(`${id}: ${what}: names only the sections it needs, and the engine when Docker's own views are missing`, () => {
      const base = one(id, mutate).explanation!;
      const unrelated = one(id, withBoth(mutate, (h) => h.issues.push({ key: "kernel", kind: "failed", message: "`uname -r` failed with exit code 1" })));
      expect(unrelated.explanation).toBe(base);
      const down = one(id, withBoth(mutate, (h) => (h.dockerDown = "the Docker engine is not running"))).explanation!;
      if (/: `docker (?!exec)[a-z]/.test(base)) {
        expect(down).toMatch(/the Docker engine is not running/);
        expect(down).not.toMatch(/`docker (?!exec)[a-z]/);
      } else if (!/`docker exec/.test(base)) expect(down).toBe(base);
    });
  }
});

describe("more branches", () => {
  it("NET-1: the manager lists the overlay even without a local task", () => {
    const r = one("NET-1", (m) => {
      host(m, "docker0").networkLs = host(m, "docker0").networkLs!.filter((n) => n.name !== "demonet");
      host(m, "docker0").containers = [];
    });
    expect(r.outcome).toBe("fail");
    expect(r.observed).toBe("docker0: no network demonet");
  });
  it("NS-1: a host without a local task does not need the overlay's namespace", () => {
    const r = one("NS-1", (m) => {
      dropNs(m, "docker1", "1-k3b7x2n9q4");
      host(m, "docker1").containers = [];
    });
    expect(r.outcome).toBe("changed");
    expect(r.details.join("\n")).not.toMatch(/docker1: 1-k3b7x2n9q4/);
  });
  it("NS-2: when every task's sandbox is missing, the failures say which, not 'none found'", () => {
    const r = one("NS-2", (m) => m.hosts.forEach((h) => dropNs(m, h.name, h.namespaces.find((n) => n.kind === "sandbox")!.id)));
    expect(r.outcome).toBe("fail");
    expect(r.observed).not.toMatch(/no task sandbox of demoservice found on any host/);
    expect(r.observed).toMatch(/^docker0: demoservice.1.a1q8z3x6c9v2b5n7m4k0j2h6g: its sandbox .*; docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: its sandbox/);
  });
  it("OVL-2: when every host fails to have the namespace, the failures say which, not 'none found'", () => {
    const r = one("OVL-2", (m) => m.hosts.forEach((h) => dropNs(m, h.name, "1-k3b7x2n9q4")));
    expect(r.outcome).toBe("fail");
    expect(r.observed).not.toMatch(/found on any host/);
  });
  it("OVL-2: with no namespace and a host that could not be asked, the fact is unchecked", () => {
    const r = one("OVL-2", (m) => {
      dropNs(m, "docker0", "1-k3b7x2n9q4");
      host(m, "docker0").containers = [];
      dropNs(m, "docker1", "1-k3b7x2n9q4");
      delete host(m, "docker1").containers;
    });
    expect(r.outcome).toBe("unchecked");
  });
  it("a vxlan device's link is its underlay, not a veth peer: it is described without @if", () => {
    const r = one("VETH-1", (m) => {
      const vx = iface(overlay(m, "docker1"), "vxlan0");
      vx.peerIfindex = 5;
      iface(sandbox(m, "docker1"), "eth0").peer = { host: "docker1", namespace: "1-k3b7x2n9q4", ifname: "vxlan0", ifindex: 10 };
    });
    expect(r.outcome).toBe("fail");
    expect(r.details.join("\n")).toMatch(/<-> 1-k3b7x2n9q4: 10: vxlan0 vxlan mtu 1450 master br0 no IPv4$/m);
  });
  it("IPAM-2: a missing host bridge is shown as '-'", () => {
    const r = one("IPAM-2", (m) => (nsOf(m, "docker1", "host").interfaces = nsOf(m, "docker1", "host").interfaces.filter((i) => i.name !== "docker_gwbridge")));
    expect(r.details).toContain("docker1: IPAM 172.18.0.0/16 gw 172.18.0.1; interface -");
  });
  it("SB-2: a task without eth0 is shown as '-'", () => {
    const r = one("SB-2", (m) => {
      sandbox(m, "docker1").interfaces = sandbox(m, "docker1").interfaces.filter((i) => i.name !== "eth0");
      host(m, "docker1").namespaces = host(m, "docker1").namespaces.filter((n) => n.kind !== "lb");
    });
    expect(r.outcome).toBe("fail");
    expect(r.details).toContain("docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: eth0 -");
  });
});

describe("conditions the baseline does not tell apart", () => {
  const orphanSandbox = (m: LabModel): void => {
    host(m, "docker1").netnsNames!.push("abcabcabcabc");
    host(m, "docker1").namespaces.push({ id: "abcabcabcabc", host: "docker1", kind: "sandbox", interfaces: [], routes: [], nsids: {}, issues: [] });
  };
  it("a sandbox whose container is unknown is nobody's task", () => {
    expect(one("OVL-1", orphanSandbox).outcome).toBe("changed");
    expect(one("NS-2", orphanSandbox).outcome).toBe("pass");
    expect(one("NS-1", orphanSandbox).details).toContain("note: docker1: abcabcabcabc is the sandbox of container ?, not a task of demoservice");
  });
  it("OVL-1: a container of another service with its own sandbox needs no veth on the overlay", () => {
    const r = one("OVL-1", (m) => {
      const h = host(m, "docker1");
      h.containers!.push({ ...h.containers![0]!, id: "c".repeat(64), name: "sidecar", taskName: "sidecar.1", service: "sidecar", sandboxKey: "/var/run/docker/netns/cccccccccccc" });
      h.netnsNames!.push("cccccccccccc");
      h.namespaces.push({ ...sandbox(m, "docker1"), id: "cccccccccccc", task: { containerId: "c".repeat(64), containerName: "sidecar" } });
    });
    expect(r.outcome).toBe("changed");
  });
  it("OVL-1: a task whose sandbox is missing is left to NS-1", () => {
    expect(one("OVL-1", (m) => dropNs(m, "docker1", "9b41d6e2c07a")).outcome).toBe("fail");
    expect(one("OVL-1", (m) => dropNs(m, "docker1", "9b41d6e2c07a")).observed).toMatch(/veth0 leads to no known namespace/);
  });
  it("OVL-1: the lb namespace of no known network is not the load balancer", () => {
    const r = one("OVL-1", (m) => delete nsOf(m, "docker1", "lb").network);
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/docker1: 1-k3b7x2n9q4: veth1 leads to lb_k3b7x2n9q \(lb\), not to a local task/);
  });
  it("a task is named by its task name, not its container name", () => {
    const r = one("SB-1", (m) => {
      host(m, "docker1").containers![0]!.name = "/some-container";
      iface(sandbox(m, "docker1"), "eth0").mtu = 1500;
    });
    expect(r.observed).toBe("docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: eth0 mtu 1500, expected 1450");
  });
  it("several issues of a namespace are all named", () => {
    const r = one("VETH-1", (m) => sandbox(m, "docker1").issues.push("`ip addr show` timed out", "`ip route show` timed out"));
    expect(r.explanation).toBe("docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: `ip addr show` timed out; `ip route show` timed out");
    const r2 = one("OVL-2", (m) => overlay(m, "docker1").issues.push("`ip addr show` timed out", "`ip route show` timed out"));
    expect(r2.explanation).toBe("docker1: 1-k3b7x2n9q4: `ip addr show` timed out; `ip route show` timed out");
    const r3 = one("HOST-2", (m) => nsOf(m, "docker1", "host").issues.push("`ip addr show` timed out", "`ip route show` timed out"));
    expect(r3.explanation).toBe("docker1: `ip addr show` timed out; `ip route show` timed out");
    const r4 = one("HOST-3", (m) => nsOf(m, "docker1", "host").issues.push("a", "b"));
    expect(r4.explanation).toBe("docker1: a; b");
    const r5 = one("IPAM-2", (m) => nsOf(m, "docker1", "host").issues.push("a", "b"));
    expect(r5.explanation).toBe("docker1: a; b");
    const r6 = one("ING-2", (m) => nsOf(m, "docker1", "ingress_sbox").issues.push("a", "b"));
    expect(r6.explanation).toBe("docker1: a; b");
  });
  it("WL-2: only Docker Hub's leading registry and library/ prefixes are ignored", () => {
    const withImage = (image: string, observed: string): string => {
      const inv = clone(INV);
      inv.workload!.image = image;
      return one("WL-2", (m) => (host(m, "docker0").service!.image = observed), inv).outcome;
    };
    expect(withImage("alpine", "library/docker.io/alpine")).toBe("fail");
    expect(withImage("myorg/alpine", "myorg/library/alpine")).toBe("fail");
  });
  it("HOST-2: a NIC with a second address is still the NIC", () => {
    const r = one("HOST-2", (m) => iface(nsOf(m, "docker1", "host"), "enp1s0").addresses.unshift({ family: "inet", local: "10.1.2.3", prefixlen: 8, scope: "global" }));
    expect(r.outcome).toBe("changed");
    expect(r.observed).toBe("docker0: the NIC is enp1s0 (seed: ens3); docker1: the NIC is enp1s0 (seed: ens3)");
  });
  it("IPAM-2: a host bridge with a second address is fine", () => {
    expect(one("IPAM-2", (m) => iface(nsOf(m, "docker1", "host"), "docker_gwbridge").addresses.unshift({ family: "inet", local: "10.1.2.3", prefixlen: 8, scope: "global" })).outcome).toBe("pass");
  });
  it("CL-2 and CL-1: the inventory's order of hosts does not matter", () => {
    const inv = clone(INV);
    inv.hosts.reverse();
    const [cl1, cl2] = check(clone(BASE), inv, ["CL-1", "CL-2"]);
    expect(cl2!.expected).toBe("docker1.local Ready Active; docker0.local Ready Active Leader");
    expect(cl2!.outcome).toBe("pass");
    expect(cl1!.expected).toBe("swarm initialised on docker0.local (192.168.122.10); docker1.local joined 192.168.122.10:2377");
  });
  it("CL-2: two managers that are not swarm managers are both named", () => {
    const inv = clone(INV);
    inv.hosts[1]!.role = "manager";
    const m = clone(BASE);
    delete m.manager;
    host(m, "docker1").role = "manager";
    m.hosts.forEach((h) => (h.info!.swarm.localNodeState = "inactive"));
    const [r] = check(m, inv, ["CL-2"]);
    expect(r!.observed).toBe("no swarm manager answered (docker0: swarm inactive, not a manager; docker1: swarm inactive, not a manager)");
  });
  it("the manager-view facts without any manager that answered are unchecked, saying why", () => {
    for (const id of ["WL-1", "IPAM-1", "SB-2"]) {
      const r = one(id, (m) => {
        delete m.manager;
        Object.assign(host(m, "docker0"), { reachable: false, error: "ssh: connection timed out" });
      });
      expect(r.outcome, id).toBe("unchecked");
      expect(r.explanation, id).toMatch(/^no swarm manager answered: docker0: ssh: connection timed out/);
    }
  });
  it("WL-2: a service on the overlay and on another network is attached", () => {
    expect(one("WL-2", (m) => host(m, "docker0").service!.networkTargets.push("r2t6f0j8m1kq9v3x5z7b4n6d8")).outcome).toBe("pass");
  });
  it("WL-2: a failed earlier task without an error is a change, not a note", () => {
    const r = one("WL-2", (m) => {
      const t = host(m, "docker0").serviceTasks!;
      t.push({ ...t[1]!, id: "old", history: true, desiredState: "Shutdown", currentState: "Failed", currentStateText: "Failed 3 minutes ago", error: "" });
    });
    expect(r.outcome).toBe("changed");
    expect(r.observed).toBe("demoservice.2 on docker1.local failed 3 minutes ago and was replaced");
    expect(r.details.filter((d) => d.startsWith("note:"))).toEqual([]);
  });
  it("WL-2: current tasks are not listed as earlier ones", () => {
    expect(one("WL-2").details.filter((d) => d.startsWith("note:"))).toEqual([]);
  });
  it("NET-1: a worker whose task is only on another network need not list the overlay", () => {
    const r = one("NET-1", (m) => {
      host(m, "docker1").networkLs = host(m, "docker1").networkLs!.filter((n) => n.name !== "demonet");
      host(m, "docker1").containers![0]!.networks = [{ name: "othernet", networkId: "x", ipAddress: "10.1.0.2" }];
    });
    expect(r.outcome).toBe("pass");
  });
  it("NET-1: any other missing network fails, whatever is known of the tasks", () => {
    const noBridge = (m: LabModel) => (host(m, "docker1").networkLs = host(m, "docker1").networkLs!.filter((n) => n.name !== "bridge"));
    for (const tasks of [undefined, []]) {
      const r = one("NET-1", (m) => {
        noBridge(m);
        if (tasks) host(m, "docker1").containers = [];
        else delete host(m, "docker1").containers;
      });
      expect(r.outcome).toBe("fail");
      expect(r.observed).toBe("docker1: no network bridge");
    }
  });
  it("NS-1: a missing ingress sandbox is named", () => {
    const r = one("NS-1", (m) => (host(m, "docker0").netnsNames = host(m, "docker0").netnsNames!.filter((n) => n !== "ingress_sbox")));
    expect(r.observed).toBe("docker0: no ingress_sbox (the ingress sandbox)");
  });
  it("SB-1: docker inspect's address is the overlay's, not another network's", () => {
    const r = one("SB-1", (m) => host(m, "docker1").containers![0]!.networks.unshift({ name: "ingress", networkId: "r2t6f0j8m1kq9v3x5z7b4n6d8", ipAddress: "10.255.0.9" }));
    expect(r.outcome).toBe("pass");
  });
  it("SB-2: with the service gone (WL-2 says so), the VIP is still looked for", () => {
    const r = one("SB-2", (m) => {
      delete host(m, "docker0").service;
      host(m, "docker0").serviceMissing = true;
    });
    expect(r.outcome).toBe("changed");
  });
  it("SB-2: the VIP on eth0 is observed there", () => {
    const r = one("SB-2", (m) => {
      iface(sandbox(m, "docker1"), "eth0").addresses.push({ family: "inet", local: "192.168.200.2", prefixlen: 32, scope: "global" });
    });
    expect(r.details).toContain("docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: 192.168.200.2/32 on eth0");
  });
  it("SB-2: another /32 is not the VIP, on eth0 or in the lb namespace", () => {
    const r = one("SB-2", (m) => {
      for (const h of m.hosts) {
        iface(sandbox(m, h.name), "eth0").addresses.push({ family: "inet", local: "192.168.200.9", prefixlen: 32, scope: "global" });
        iface(nsOf(m, h.name, "lb"), "eth0").addresses.find((a) => a.local === "192.168.200.2")!.local = "192.168.200.8";
      }
    });
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/192.168.200.2\/32 is neither on eth0 nor in an lb_ namespace/);
  });
  it("SB-2: without an lb namespace, only eth0 is shown", () => {
    const r = one("SB-2", (m) => m.hosts.forEach((h) => (h.namespaces = h.namespaces.filter((n) => n.kind !== "lb"))));
    expect(r.details).toContain("docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: eth0 192.168.200.4/24");
  });
  it("SB-2: an lb namespace of no known network is not the load balancer's", () => {
    const r = one("SB-2", (m) => m.hosts.forEach((h) => delete nsOf(m, h.name, "lb").network));
    expect(r.outcome).toBe("fail");
  });
  it("SB-3: every IPv4 address of an interface is compared", () => {
    const r = one("SB-3", (m) => iface(sandbox(m, "docker1"), "eth0").addresses.push({ family: "inet", local: "192.168.200.2", prefixlen: 32, scope: "global" }));
    expect(r.observed).toBe("docker1: demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f: docker exec shows eth0 (11, mtu 1450, 192.168.200.4/24); nsenter shows eth0 (11, mtu 1450, 192.168.200.2/32 192.168.200.4/24)");
  });
  it("VETH-1: a peer in the overlay's lb namespace is not in the overlay namespace", () => {
    const r = one("VETH-1", (m) => (iface(sandbox(m, "docker1"), "eth0").peer = { host: "docker1", namespace: "lb_k3b7x2n9q", ifname: "eth0", ifindex: 15 }));
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/eth0's peer is in lb_k3b7x2n9q \(lb demonet\), expected the demonet namespace/);
  });
  it("VETH-2: ethtool not asked is fine; an unknown peer index is shown as ?", () => {
    expect(one("VETH-2", (m) => delete iface(sandbox(m, "docker1"), "eth1").ethtoolPeerIfindex).outcome).toBe("pass");
    const r = one("VETH-2", (m) => {
      delete iface(sandbox(m, "docker1"), "eth1").peer;
      delete iface(sandbox(m, "docker1"), "eth1").peerIfindex;
      delete iface(sandbox(m, "docker1"), "eth1").ethtoolPeerIfindex;
    });
    expect(r.observed).toMatch(/the peer of eth1@if\? was not found in any namespace of docker1$/);
  });
  it("ING-1: the ingress-sbox endpoint is found among others", () => {
    const r = one("ING-1", (m) => net(m, "docker1", "ingress").containers.unshift({ key: "abc", name: "other", endpointId: "e", mac: "m", ipv4: "10.9.9.9/16" } as never));
    expect(r.outcome).toBe("pass");
  });
  it("ING-1 and ING-2: an IPAM entry without a subnet is shown as ?", () => {
    const r = one("ING-1", (m) => delete net(m, "docker1", "ingress").ipam[0]!.subnet);
    expect(r.details).toContain("docker1: subnet ?; ingress-sbox: ingress-endpoint 10.255.0.3/16");
    expect(one("ING-2", (m) => delete net(m, "docker1", "ingress").ipam[0]!.subnet).outcome).toBe("fail");
  });
  it("ING-2: a sandbox without eth0 or eth1 fails on the interface list alone", () => {
    for (const name of ["eth0", "eth1"]) {
      const r = one("ING-2", (m) => (nsOf(m, "docker1", "ingress_sbox").interfaces = nsOf(m, "docker1", "ingress_sbox").interfaces.filter((i) => i.name !== name)));
      expect(r.outcome).toBe("fail");
      expect(r.observed).toMatch(/^docker1: interfaces (eth0|eth1),lo, expected eth0, eth1, lo$/);
    }
  });
  it("traffic: no evidence leaves no details; evidence not 'changed' gets no newer-engines text", () => {
    const [p] = check(clone(BASE), INV, ["PATH-3"]);
    expect(p!.details).toEqual([]);
    const m = clone(BASE);
    const plumbing = path.resolve(__dirname, "../../../fixtures/plumbing/traffic");
    const plan = JSON.parse(fs.readFileSync(path.join(plumbing, "plan-emu.json"), "utf8")) as TrafficPlan;
    const okRun = parseTrafficOutput(fs.readFileSync(path.join(plumbing, "ok.txt"), "utf8"));
    m.probe = { kind: "ran", plan, run: okRun, parsed: parseSteps(okRun, plan) } satisfies TrafficObservations;
    const [p3] = check(m, INV, ["PATH-3"]);
    expect(p3!.outcome).toBe("pass");
    expect(p3!.explanation).toBeUndefined();
  });
  it("an unchecked fact has no 'also could not check' lines; a failed one has no explanation", () => {
    const u = one("PORT-1", (m) => delete host(m, "docker1").sockets);
    expect(u.outcome).toBe("unchecked");
    expect(u.details.some((d) => d.startsWith("also"))).toBe(false);
    const f = one("PORT-1", (m) => {
      host(m, "docker0").sockets = host(m, "docker0").sockets!.filter((x) => x.port !== 2377);
      delete host(m, "docker1").sockets;
    });
    expect(f.outcome).toBe("fail");
    expect(f.explanation).toBeUndefined();
    expect(f.observed).toBe("docker0: nothing listens on 2377/tcp (on 192.168.122.10 or all addresses)");
  });
  it("a fact with several failures lists them all", () => {
    const r = one("CL-1", (m) => {
      host(m, "docker0").info!.swarm.controlAvailable = false;
      host(m, "docker1").info!.swarm.controlAvailable = true;
    });
    expect(r.observed).toBe("docker0: is not a manager; docker1: is a manager, expected a worker");
  });
});

describe("the manager's view, not any host's", () => {
  it("ING-2 reads the ingress network from the manager when the host lacks it", () => {
    const r = one("ING-2", (m) => {
      m.manager = "docker1";
      host(m, "docker0").networks = host(m, "docker0").networks!.filter((n) => n.name !== "ingress");
      net(m, "docker1", "ingress").ipam = [{ subnet: "10.9.0.0/16" }];
    });
    expect(r.outcome).toBe("fail");
    expect(r.observed).toMatch(/^docker0: eth0 has 10.255.0.2\/16, expected/);
  });
});
