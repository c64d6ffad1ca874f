import { describe, expect, it } from "vitest";
import { ParseError } from "../../../scripts/lib/verify/errors";
import {
  parseContainerInspect,
  parseContainersMap,
  parseDockerInfoJson,
  parseDockerPs,
  parseDockerVersion,
  parseNetworkInspect,
  parseNetworkLs,
  parseNodeLs,
  parseServiceInspect,
  parseServicePs,
} from "../../../scripts/lib/verify/parse/docker";
import * as fs from "node:fs";
import * as path from "node:path";
import { FIXTURES, liveSection, seedOutput } from "./helpers";

describe("docker tables from the seeds", () => {
  it("docker node ls (000): two nodes, docker0 is self and Leader", () => {
    expect(parseNodeLs(seedOutput("seed-000", "docker-node-ls"))).toEqual([
      { id: "t0k5yhm8g0wft11397n4caz9j", self: true, hostname: "docker0.local", status: "Ready", availability: "Active", managerStatus: "Leader" },
      { id: "td0ifcvhzy7cexgiixiisnl3b", self: false, hostname: "docker1.local", status: "Ready", availability: "Active", managerStatus: "" },
    ]);
  });

  it("docker network ls (000 and 004)", () => {
    const nets = parseNetworkLs(seedOutput("seed-000", "docker-network-ls"));
    expect(nets.map((n) => `${n.id} ${n.name} ${n.driver} ${n.scope}`)).toEqual([
      "c168bc566c10 bridge bridge local",
      "t7zfankbs8hm demonet overlay swarm",
      "90d63100439b docker_gwbridge bridge local",
      "ec08e9c80ede host host local",
      "wi6xp5jnpkzp ingress overlay swarm",
      "f98650512a55 none null local",
    ]);
    expect(parseNetworkLs(seedOutput("seed-004", "docker-network-ls")).find((n) => n.name === "demonet")?.id).toBe("jv8c30bcmnza");
  });

  it("docker service ps (000): one Running task per node", () => {
    const tasks = parseServicePs(seedOutput("seed-000", "docker-service-ps"));
    expect(tasks.map((t) => [t.name, t.slot, t.node, t.desiredState, t.currentState, t.history])).toEqual([
      ["demoservice.1", 1, "docker0.local", "Running", "Running", false],
      ["demoservice.2", 2, "docker1.local", "Running", "Running", false],
    ]);
    expect(tasks[0]!.currentStateText).toBe("Running 32 seconds ago");
  });

  it("docker service ps (004): the failed-then-retried task is a history row with its error", () => {
    const tasks = parseServicePs(seedOutput("seed-004", "docker-service-ps"));
    expect(tasks).toHaveLength(3);
    expect(tasks[1]).toMatchObject({ id: "lbg6y0b0y3zh", name: "demoservice.1", history: true, node: "docker0.local", desiredState: "Shutdown", currentState: "Failed", currentStateText: "Failed 8 minutes ago" });
    expect(tasks[1]!.error).toMatch(/^starting container failed: Ad/);
    expect(tasks.filter((t) => !t.history).map((t) => t.node)).toEqual(["docker0.local", "docker1.local"]);
  });

  it("docker ps (000, 004)", () => {
    expect(parseDockerPs(seedOutput("seed-000", "docker-ps"))).toEqual([
      { containerId: "0252f5d8ee9a", image: "alpine:latest", command: '"sleep 50000"', status: "Up 4 minutes", names: "demoservice.1.dxug6j2lijsr88d9hvugkm8bl" },
    ]);
    expect(parseDockerPs(seedOutput("seed-004", "docker-ps"))[0]!.names).toBe("demoservice.1.zazcrztrp8noilfyignita3tf");
  });

  it("the ingress .Containers JSON (002)", () => {
    const eps = parseContainersMap("docker network inspect ingress --format '{{json .Containers}}'", JSON.parse(seedOutput("seed-002", "ingress-containers")));
    expect(eps).toEqual([{ key: "ingress-sbox", name: "ingress-endpoint", endpointId: "6dff81405a5e045b62ab98a4a394a5d90885629aad8dc397de17401d88d6314a", mac: "02:42:0a:ff:00:02", ipv4: "10.255.0.2/16" }]);
  });

  it("docker version text (000) and JSON (20.10)", () => {
    expect(parseDockerVersion(seedOutput("seed-000", "docker-version"))).toEqual({ client: "17.03.2-ee-6", server: "17.03.2-ee-6", apiVersion: "1.27" });
    expect(parseDockerVersion(liveSection("json", "docker0", "docker-version"))).toEqual({ client: "20.10.24+dfsg1", server: "20.10.24+dfsg1", apiVersion: "1.41" });
  });
});

describe("docker outputs of the live-like lab (Docker 20.10 shapes)", () => {
  it("node ls with ENGINE VERSION column", () => {
    const nodes = parseNodeLs(liveSection("json", "docker0", "docker-node-ls"));
    expect(nodes.map((n) => [n.hostname, n.self, n.managerStatus, n.engineVersion])).toEqual([
      ["docker0.local", true, "Leader", "20.10.24+dfsg1"],
      ["docker1.local", false, "", "20.10.24+dfsg1"],
    ]);
  });

  it("network inspect: IPAM, vxlanid_list option, endpoints, peers", () => {
    const nets = parseNetworkInspect(liveSection("json", "docker0", "docker-network-inspect"));
    expect(nets.map((n) => n.name)).toEqual(["bridge", "demonet", "docker_gwbridge", "host", "ingress", "none"]);
    const demonet = nets.find((n) => n.name === "demonet")!;
    expect(demonet).toMatchObject({ id: "k3b7x2n9q4m1p8z5v6c0w2r7y", driver: "overlay", scope: "swarm", ipam: [{ subnet: "192.168.200.0/24", gateway: "192.168.200.1" }] });
    expect(demonet.options["com.docker.network.driver.overlay.vxlanid_list"]).toBe("4097");
    expect(demonet.containers.map((c) => `${c.key.slice(0, 12)} ${c.name} ${c.ipv4}`)).toEqual([
      "3f9a2c7d1e5b demoservice.1.a1q8z3x6c9v2b5n7m4k0j2h6g 192.168.200.3/24",
      "lb-demonet demonet-endpoint 192.168.200.5/24",
    ]);
    expect(demonet.peers.map((p) => p.ip)).toEqual(["192.168.122.10", "192.168.122.11"]);
    expect(nets.find((n) => n.name === "ingress")!.options["com.docker.network.driver.overlay.vxlanid_list"]).toBe("4096");
  });

  it("container inspect: SandboxKey, swarm labels, networks", () => {
    const [c] = parseContainerInspect(liveSection("json", "docker1", "docker-inspect"));
    expect(c).toMatchObject({
      name: "demoservice.2.e5w2r8t1y4u7i0o3p6a9s2d5f",
      running: true,
      sandboxKey: "/var/run/docker/netns/9b41d6e2c07a",
      service: "demoservice",
      taskId: "e5w2r8t1y4u7i0o3p6a9s2d5f",
      nodeId: "h3n8d1s6f0qj7u2e9k4m5t1lc",
    });
    expect(c!.networks).toEqual([{ name: "demonet", networkId: "k3b7x2n9q4m1p8z5v6c0w2r7y", ipAddress: "192.168.200.4", prefixLen: 24, mac: "02:42:c0:a8:c8:04" }]);
  });

  it("service inspect: replicas, command, networks, VIP", () => {
    const [s] = parseServiceInspect(liveSection("json", "docker0", "docker-service-inspect"));
    expect(s).toMatchObject({ name: "demoservice", mode: "replicated", replicas: 2, command: ["sleep", "50000"], networkTargets: ["k3b7x2n9q4m1p8z5v6c0w2r7y"] });
    expect(s!.virtualIps).toEqual([{ networkId: "k3b7x2n9q4m1p8z5v6c0w2r7y", addr: "192.168.200.2/24" }]);
  });

  it("docker info: swarm membership", () => {
    const w = parseDockerInfoJson(liveSection("json", "docker1", "docker-info"));
    expect(w.swarm).toMatchObject({ localNodeState: "active", controlAvailable: false, nodeAddr: "192.168.122.11", remoteManagers: [{ nodeId: "p7x2kq9m4vtz1c8n5r3w6y0ab", addr: "192.168.122.10:2377" }] });
    const m = parseDockerInfoJson(liveSection("json", "docker0", "docker-info"));
    expect(m.swarm).toMatchObject({ controlAvailable: true, nodes: 2, managers: 1 });
    expect(m.operatingSystem).toBe("Debian GNU/Linux 12 (bookworm)");
  });
});

describe("garbage, truncated and empty docker output", () => {
  const pe = (fn: () => unknown): ParseError => {
    try {
      fn();
    } catch (e) {
      if (e instanceof ParseError) return e;
      throw e;
    }
    throw new Error("no ParseError");
  };

  it("empty tables", () => {
    expect(pe(() => parseNodeLs("", "docker node ls")).message).toMatch(/docker node ls.*empty output/);
  });

  it("a header that is not the expected table", () => {
    const e = pe(() => parseNodeLs("Error response from daemon: This node is not a swarm manager.\n", "docker node ls"));
    expect(e.message).toMatch(/header lacks column "ID"/);
    expect(e.lineNumber).toBe(1);
  });

  it("a row cut short names the row", () => {
    const full = seedOutput("seed-000", "docker-service-ps");
    const cut = full.split("\n").slice(0, 2).join("\n") + "\n" + "n6ncl5yfszwc        demoservice.2       alpine:late\n";
    const e = pe(() => parseServicePs(cut, "docker service ps demoservice"));
    expect(e.lineNumber).toBe(3);
    expect(e.message).toMatch(/empty "DESIRED STATE"/);
  });

  it("a misaligned row", () => {
    const text = "NETWORK ID          NAME                DRIVER              SCOPE\nc168bc566c10 bridge bridge local\n";
    const e = pe(() => parseNetworkLs(text, "docker network ls"));
    expect(e.lineNumber).toBe(2);
  });

  it("truncated and wrongly shaped JSON", () => {
    const json = liveSection("json", "docker0", "docker-network-inspect");
    expect(pe(() => parseNetworkInspect(json.slice(0, 3000), "docker network inspect")).message).toMatch(/invalid or truncated JSON/);
    expect(pe(() => parseNetworkInspect("{}", "docker network inspect")).message).toMatch(/entry 0\.Name: expected a string, got nothing/);
    expect(pe(() => parseNetworkInspect('"x"', "docker network inspect")).message).toMatch(/invalid or truncated JSON|expected an object/);
    expect(pe(() => parseNetworkInspect('[{"Name":"x"}]', "docker network inspect")).message).toMatch(/network x\.Id: expected a string, got nothing/);
    expect(pe(() => parseContainerInspect('[{"Id":"abc"}]', "docker inspect")).message).toMatch(/entry 0\.Id: expected a container ID, got "abc"/);
    expect(pe(() => parseContainerInspect('[{"Id":"0123456789abcdef"}]', "docker inspect")).message).toMatch(/NetworkSettings: expected an object/);
    expect(pe(() => parseDockerInfoJson('{"Name":"x"}', "docker info")).message).toMatch(/no Swarm section/);
    expect(pe(() => parseDockerVersion('{"Client":{"Version":"28.2.2"},"Server":null}', "docker version")).message).toMatch(/daemon running/);
  });
});

describe("the gather's narrow templates, rendered on docker 20.10's API types (test/fixtures/verify/templates)", () => {
  const T = path.join(FIXTURES, "templates");
  const read = (f: string): string => fs.readFileSync(path.join(T, f), "utf8");
  it("container inspect: one object per line, swarm labels, empty label slots for none", () => {
    const [c] = parseContainerInspect(read("inspect.jsonl"));
    expect(c).toMatchObject({ id: "b5a1fbb70dd522a8", name: "demoservice.1.x", running: true, sandboxKey: "/var/run/docker/netns/d38a4b9e3a31", service: "demoservice" });
    expect(c!.networks).toEqual([{ name: "demonet", networkId: "vdyt", ipAddress: "192.168.200.4", prefixLen: 24 }]);
    expect(c!.taskId).toBeUndefined();
    const [n] = parseContainerInspect(read("inspect-nolabels.jsonl"));
    expect(n!.labels).toEqual({});
    expect(n!.service).toBeUndefined();
    // what a template run on the raw JSON gives for a missing label: null
    expect(parseContainerInspect(read("inspect-nolabels.jsonl").replace(/"com\.docker\.swarm\.task\.id":""/, '"com.docker.swarm.task.id":null'))[0]!.labels).toEqual({});
  });
  it("service inspect", () => {
    expect(parseServiceInspect(read("service-inspect.jsonl"))).toEqual([
      { id: "svc1", name: "demoservice", mode: "replicated", replicas: 2, image: "alpine", command: ["sleep", "50000"], networkTargets: ["vdyt"], virtualIps: [{ networkId: "vdyt", addr: "192.168.200.2/24" }] },
    ]);
  });
  it("docker info: up, down (ServerErrors), and an old CLI's", () => {
    const up = parseDockerInfoJson(read("info.json"));
    expect(up).toMatchObject({ name: "docker0", serverVersion: "20.10.24", serverErrors: [], swarm: { localNodeState: "active", controlAvailable: true, nodeAddr: "192.168.122.10", defaultAddrPool: ["10.0.0.0/8"], subnetSize: 24 } });
    expect(parseDockerInfoJson(read("info-daemon-down.json")).serverErrors[0]).toMatch(/Cannot connect to the Docker daemon/);
    expect(parseDockerInfoJson(read("info-old-cli.json")).swarm.controlAvailable).toBe(true);
    // the gather falls back to the old template when the CLI names ServerErrors in its complaint
    expect(read("info-old-cli-new-template.stderr")).toMatch(/ServerErrors/);
  });
});
