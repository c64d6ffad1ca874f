import { describe, expect, it } from "vitest";
import { gatheredFromText } from "../../../scripts/lib/verify/gather";
import { buildModel, type LabModel, type VethPair } from "../../../scripts/lib/verify/model";
import { frame, liveGathered, liveInventory, liveModel, seedOutput } from "./helpers";

const pairKey = (p: VethPair): string => [`${p.a.namespace}:${p.a.ifname}`, `${p.b.namespace}:${p.b.ifname}`].sort().join(" <-> ");
const pairsOf = (m: LabModel, host: string): string[] => m.vethPairs.filter((p) => p.a.host === host).map(pairKey).sort();

describe("buildModel on the live-like lab", () => {
  for (const mode of ["json", "text"] as const) {
    it(`(${mode}) classifies the namespaces of each host`, () => {
      const { model } = liveModel(mode);
      expect(model.manager).toBe("docker0");
      const d0 = model.hosts[0]!;
      expect(d0.issues).toEqual([]);
      expect(d0.namespaces.map((n) => `${n.id}:${n.kind}:${n.network?.name ?? n.task?.taskName ?? ""}`)).toEqual([
        "host:host:",
        "1-k3b7x2n9q4:overlay:demonet",
        "1-r2t6f0j8m1:overlay:ingress",
        "5e0c1a7f3b2d:sandbox:demoservice.1.a1q8z3x6c9v2b5n7m4k0j2h6g",
        "ingress_sbox:ingress_sbox:",
        "lb_k3b7x2n9q:lb:demonet",
      ]);
      expect(d0.namespaces.every((n) => n.inode !== undefined)).toBe(true);
      expect(d0.namespaces.find((n) => n.id === "5e0c1a7f3b2d")!.path).toBe("/var/run/docker/netns/5e0c1a7f3b2d");
    });

    it(`(${mode}) resolves every veth pair across namespaces, confirmed by the reverse pointer`, () => {
      const { model } = liveModel(mode);
      expect(model.vethPairs).toHaveLength(10);
      expect(model.vethPairs.every((p) => p.confirmed)).toBe(true);
      expect(pairsOf(model, "docker0")).toEqual([
        "1-k3b7x2n9q4:veth0 <-> 5e0c1a7f3b2d:eth0",
        "1-k3b7x2n9q4:veth1 <-> lb_k3b7x2n9q:eth0",
        "1-r2t6f0j8m1:veth0 <-> ingress_sbox:eth0",
        "5e0c1a7f3b2d:eth1 <-> host:veth9f04b6d",
        "host:veth3c1e7a2 <-> ingress_sbox:eth1",
      ]);
      const sb = model.hosts[0]!.namespaces.find((n) => n.id === "5e0c1a7f3b2d")!;
      const eth0 = sb.interfaces.find((i) => i.name === "eth0")!;
      expect(eth0).toMatchObject({ ifindex: 11, peerIfindex: 12, linkNetnsid: 0, ethtoolPeerIfindex: 12, kind: "veth", mtu: 1450 });
      expect(eth0.peer).toEqual({ host: "docker0", namespace: "1-k3b7x2n9q4", ifname: "veth0", ifindex: 12 });
      // what each namespace's link-netnsids refer to, learnt from the pairs
      expect(sb.nsids).toEqual({ 0: "1-k3b7x2n9q4", 1: "host" });
      expect(model.hosts[0]!.namespaces.find((n) => n.id === "1-k3b7x2n9q4")!.nsids).toEqual({ 0: "host", 1: "5e0c1a7f3b2d", 2: "lb_k3b7x2n9q" });
    });
  }

  it("lists bridges with their members and the vxlan tunnel between hosts (enough to draw the lab)", () => {
    const { model } = liveModel("json");
    expect(model.bridges.filter((b) => b.host === "docker0").map((b) => `${b.namespace}/${b.name}: ${b.members.join(",")}`)).toEqual([
      "host/docker0: ",
      "host/docker_gwbridge: veth3c1e7a2,veth9f04b6d",
      "1-k3b7x2n9q4/br0: vxlan0,veth0,veth1",
      "1-r2t6f0j8m1/br0: vxlan0,veth0",
    ]);
    expect(model.tunnels).toEqual([
      {
        network: { name: "demonet", id: "k3b7x2n9q4m1p8z5v6c0w2r7y" },
        vni: 4097,
        endpoints: [
          { host: "docker0", namespace: "1-k3b7x2n9q4", ifname: "vxlan0", vni: 4097, underlay: "192.168.122.10" },
          { host: "docker1", namespace: "1-k3b7x2n9q4", ifname: "vxlan0", vni: 4097, underlay: "192.168.122.11" },
        ],
      },
      {
        network: { name: "ingress", id: "r2t6f0j8m1kq9v3x5z7b4n6d8" },
        vni: 4096,
        endpoints: [
          { host: "docker0", namespace: "1-r2t6f0j8m1", ifname: "vxlan0", vni: 4096, underlay: "192.168.122.10" },
          { host: "docker1", namespace: "1-r2t6f0j8m1", ifname: "vxlan0", vni: 4096, underlay: "192.168.122.11" },
        ],
      },
    ]);
  });

  it("holds the manager's views and each host's docker state", () => {
    const { model } = liveModel("json");
    const d0 = model.hosts[0]!;
    expect(d0.nodes?.map((n) => n.hostname)).toEqual(["docker0.local", "docker1.local"]);
    expect(d0.service?.replicas).toBe(2);
    expect(d0.serviceTasks?.map((t) => t.node)).toEqual(["docker0.local", "docker1.local"]);
    expect(model.hosts[1]!.nodes).toBeUndefined();
    expect(model.hosts[1]!.info?.swarm.controlAvailable).toBe(false);
    expect(Object.keys(d0.execLinks)).toEqual(["3f9a2c7d1e5b8a4f6c0d2e9b7a1c3f5e8d0b2a4c6e8f1a3b5d7c9e2f4a6b8c0d"]);
    expect(d0.virt).toBe("kvm");
    expect(d0.ipJson).toBe(true);
    expect(liveModel("text").model.hosts[0]!.ipJson).toBe(false);
  });
});

describe("buildModel on the seeds' transcripts (CentOS 7, plain `ip link`)", () => {
  const inv = liveInventory();
  const modelFrom = (sections: Record<string, string>): LabModel => {
    const g = gatheredFromText(inv, { docker0: frame(sections), docker1: frame({}) });
    return buildModel(g, inv);
  };

  it("pairs the task's eth0 with veth0 in 1-t7zfankbs8 and eth1 with veth0c4d246 on the host (000)", () => {
    const m = modelFrom({
      "netns-ls": "1-t7zfankbs8\nf9f4ceb4012b\n",
      "ip-link@host": seedOutput("seed-000", "ip-addr@host"),
      "ip-link@netns/f9f4ceb4012b": seedOutput("seed-000", "ip-link@sandbox"),
      "ip-addr@netns/f9f4ceb4012b": seedOutput("seed-000", "ip-addr@sandbox"),
      "ip-link@netns/1-t7zfankbs8": seedOutput("seed-000", "ip-link@overlay"),
    });
    expect(pairsOf(m, "docker0")).toEqual(["1-t7zfankbs8:veth0 <-> f9f4ceb4012b:eth0", "f9f4ceb4012b:eth1 <-> host:veth0c4d246"]);
    const sb = m.hosts[0]!.namespaces.find((n) => n.id === "f9f4ceb4012b")!;
    expect(sb.interfaces.find((i) => i.name === "eth0")!.addresses.map((a) => `${a.local}/${a.prefixlen}`)).toEqual(["192.168.200.3/24", "192.168.200.2/32"]);
    expect(sb.nsids).toEqual({ 0: "1-t7zfankbs8", 1: "host" });
    // veth1a1ccf0 belongs to the ingress sandbox, which this transcript did not list: left unpaired, not guessed
    expect(m.hosts[0]!.namespaces[0]!.interfaces.find((i) => i.name === "veth1a1ccf0")!.peer).toBeUndefined();
    // missing sections are recorded, not fatal
    expect(m.hosts[0]!.issues.some((i) => i.key === "ip-route@host")).toBe(true);
    expect(m.hosts[0]!.namespaces.find((n) => n.id === "1-t7zfankbs8")!.kind).toBe("overlay");
  });

  it("pairs 06e0e24ce06d:eth0 with veth2 in 1-jv8c30bcmn, agreeing with ethtool's peer_ifindex (004)", () => {
    const m = modelFrom({
      "netns-ls": "06e0e24ce06d\n1-jv8c30bcmn\n",
      "ip-link@host": seedOutput("seed-004", "ip-link@host"),
      "ip-link@netns/06e0e24ce06d": seedOutput("seed-004", "ip-link@sandbox"),
      "ip-link@netns/1-jv8c30bcmn": seedOutput("seed-004", "ip-d-link@overlay"),
      "ethtool@netns/06e0e24ce06d/eth0": seedOutput("seed-004", "ethtool@sandbox/eth0"),
      "ethtool@netns/06e0e24ce06d/eth1": seedOutput("seed-004", "ethtool@sandbox/eth1"),
    });
    expect(pairsOf(m, "docker0")).toEqual(["06e0e24ce06d:eth0 <-> 1-jv8c30bcmn:veth2", "06e0e24ce06d:eth1 <-> host:veth90d0481"]);
    const eth0 = m.hosts[0]!.namespaces.find((n) => n.id === "06e0e24ce06d")!.interfaces.find((i) => i.name === "eth0")!;
    expect(eth0.ethtoolPeerIfindex).toBe(eth0.peerIfindex);
    const vx = m.hosts[0]!.namespaces.find((n) => n.id === "1-jv8c30bcmn")!.interfaces.find((i) => i.name === "vxlan1")!;
    expect(vx).toMatchObject({ kind: "vxlan", vxlan: { id: 4097, dstport: 4789 } });
  });

  it("leaves an ambiguous pairing unresolved and says so", () => {
    // Two sandboxes whose eth0 (ifindex 5, peer 9) could each pair with either overlay veth (ifindex 9, peer 5).
    const sandbox = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n5: eth0@if9: <BROADCAST,UP> mtu 1450 qdisc noqueue state UP\n    link/ether 02:42:c0:a8:c8:03 brd ff:ff:ff:ff:ff:ff link-netnsid 0\n";
    const overlay = "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n9: veth0@if5: <BROADCAST,UP> mtu 1450 qdisc noqueue master br0 state UP\n    link/ether 02:42:c0:a8:c8:09 brd ff:ff:ff:ff:ff:ff link-netnsid 0\n";
    const m = modelFrom({ "netns-ls": "aaaaaaaaaaaa\nbbbbbbbbbbbb\n1-xxxxxxxxxx\n1-yyyyyyyyyy\n", "ip-link@host": sandbox.split("\n").slice(0, 2).join("\n") + "\n", "ip-link@netns/aaaaaaaaaaaa": sandbox, "ip-link@netns/bbbbbbbbbbbb": sandbox, "ip-link@netns/1-xxxxxxxxxx": overlay, "ip-link@netns/1-yyyyyyyyyy": overlay });
    expect(m.vethPairs).toEqual([]);
    expect(m.hosts[0]!.issues.filter((i) => i.key.startsWith("veth@")).map((i) => i.message)[0]).toMatch(/cannot tell which of .* is the peer/);
  });
});

describe("buildModel with broken input", () => {
  it("records a garbage section as an issue of its host and namespace, and keeps going", () => {
    const { inventory, gathered } = liveGathered("json", (host, text) =>
      host === "docker1" ? text.replace(/(@@swarmlab:begin ip-addr@netns\/ingress_sbox\n)[\s\S]*?(@@swarmlab:end ip-addr@netns\/ingress_sbox) rc=0 bytes=\d+/, "$1Error: garbage\n$2 rc=0 bytes=15") : text,
    );
    const m = buildModel(gathered, inventory);
    const d1 = m.hosts[1]!;
    const isb = d1.namespaces.find((n) => n.id === "ingress_sbox")!;
    expect(isb.issues.join()).toMatch(/nsenter --net=\/var\/run\/docker\/netns\/ingress_sbox ip addr show.*line 1: "Error: garbage"/);
    expect(d1.issues.some((i) => i.key === "ip-addr@netns/ingress_sbox")).toBe(true);
    expect(m.hosts[0]!.issues).toEqual([]);
    expect(d1.namespaces).toHaveLength(6);
  });

  it("names the commands with the lab's netns directory (the gather and the model get it from the lab)", () => {
    const { inventory, gathered } = liveGathered("json", (host, text) =>
      host === "docker1" ? text.replace(/(@@swarmlab:begin ip-addr@netns\/ingress_sbox\n)[\s\S]*?(@@swarmlab:end ip-addr@netns\/ingress_sbox) rc=0 bytes=\d+/, "$1Error: garbage\n$2 rc=0 bytes=15") : text,
    );
    const m = buildModel(gathered, inventory, { netnsDir: "/run/docker/netns" });
    const isb = m.hosts[1]!.namespaces.find((n) => n.id === "ingress_sbox")!;
    expect(isb.path).toBe("/run/docker/netns/ingress_sbox");
    expect(isb.issues.join()).toMatch(/nsenter --net=\/run\/docker\/netns\/ingress_sbox ip addr show/);
  });

  it("records failed commands with their exit code and stderr", () => {
    const inv = liveInventory();
    const g = gatheredFromText(inv, {
      docker0: frame({ "docker-info": { output: "", rc: 1, stderr: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." }, "netns-ls": { output: "", rc: 2, stderr: "ls: cannot access '/var/run/docker/netns': No such file or directory" } }),
    });
    const m = buildModel(g, inv);
    const msgs = m.hosts[0]!.issues.map((i) => i.message);
    expect(msgs).toContain("`docker info --format '{{json .}}'` failed with exit code 1: Cannot connect to the Docker daemon at unix:///var/run/docker.sock.");
    expect(msgs.some((x) => /ls -1 \/var\/run\/docker\/netns` failed with exit code 2/.test(x))).toBe(true);
    expect(msgs.some((x) => /`ss -Hlntu` was not gathered/.test(x))).toBe(true);
    expect(m.hosts[1]).toMatchObject({ reachable: false, error: "no gathered output for this host" });
    expect(m.manager).toBeUndefined();
  });

  it("keeps the framing problems of a cut-off gather", () => {
    const { inventory, gathered } = liveGathered("json", (host, text) => (host === "docker0" ? text.slice(0, text.indexOf("@@swarmlab:begin ss")) : text));
    const m = buildModel(gathered, inventory);
    expect(m.hosts[0]!.gatherProblems.join()).toMatch(/ended before its done marker/);
    expect(m.hosts[0]!.issues.find((i) => i.key === "ss")!.message).toMatch(/was not gathered/);
  });
});
