/**
 * The bridge lab's facts (shared/LAB-FACTS.md, BR-1..BR-5): seed 003's single-host bridge
 * networks and service discovery, on the manager docker0. DOCUMENTED holds every name, port and
 * value the lab builds with or checks against; nothing else in the lab spells one out.
 */
import type { LabFact } from "../lab";

export const FACT_IDS = ["BR-1", "BR-2", "BR-3", "BR-4", "BR-5"] as const;
export type BridgeFactId = (typeof FACT_IDS)[number];

/** The facts the probe yields evidence for (pings, name lookups, the published port). */
export const PROBE_FACT_IDS = ["BR-2", "BR-4", "BR-5"] as const;

const SECTION = "Single-host bridge networks";

export const FACTS: readonly LabFact[] = [
  {
    id: "BR-1",
    title: "The default bridge network is the Linux bridge docker0",
    group: "bridge",
    seeds: ["003"],
    section: SECTION,
    documented: "docker network inspect bridge | grep bridge.name shows \"com.docker.network.bridge.name\": \"docker0\"; ip link show docker0 shows the kernel's bridge",
  },
  {
    id: "BR-2",
    title: "docker network create -d bridge localnet makes a Linux bridge br-<12 hex of its id>, spanning tree off, no interfaces of its own",
    group: "bridge",
    seeds: ["003"],
    section: SECTION,
    documented: "brctl show: docker0 and br-20c2e8ae4bbb (the new localnet network), STP enabled: no for both, no interfaces until a container joins",
  },
  {
    id: "BR-3",
    title: "c1 on localnet: its eth0 is a veth whose peer is enslaved to localnet's br- bridge; localnet's inspect lists c1 with MAC and IPv4",
    group: "bridge",
    seeds: ["003"],
    section: SECTION,
    documented: "docker container run -d --name c1 --network localnet alpine sleep 1d; docker network inspect localnet --format '{{json .Containers}}' lists \"Name\": \"c1\" with \"MacAddress\": \"02:42:ac:14:00:02\" and \"IPv4Address\": \"172.20.0.2/16\"; brctl show lists c1's interface on br-20c2e8ae4bbb",
  },
  {
    id: "BR-4",
    title: "c2 on localnet resolves and pings c1 by name (embedded DNS); a container on the default bridge cannot resolve c1",
    group: "bridge",
    seeds: ["003"],
    section: `${SECTION}; Service discovery`,
    documented: "from c2 on localnet, ping c1 works (the local resolver asks Docker's embedded DNS server); the default bridge network does not support name resolution via the Docker DNS service",
  },
  {
    id: "BR-5",
    title: "--publish 5000:80: the host's port 5000 reaches the container's port 80; docker port web shows the mapping",
    group: "bridge",
    seeds: ["003"],
    section: SECTION,
    documented: "docker container run -d --name web --network localnet --publish 5000:80 nginx; docker port web shows 80/tcp -> 0.0.0.0:5000; traffic to the host's address on port 5000 reaches the web server on port 80",
    newerEngines: "docker port also lists the IPv6 binding 80/tcp -> :::5000 (Docker 20.10 on Debian 12); the seed shows the IPv4 line only",
  },
];

/**
 * The seed's names and values. nginx is not in the lab's images: web runs busybox httpd on port
 * 80 serving a page that names it (its name and hostname), which is what BR-5 needs.
 */
export const DOCUMENTED = {
  /** Where the seed builds the lab (a single host): the swarm's manager. */
  role: "manager",
  defaultNetwork: { name: "bridge", bridgeNameOption: "com.docker.network.bridge.name", linuxBridge: "docker0" },
  network: { name: "localnet", driver: "bridge" },
  /** The Linux bridge of a user-defined bridge network: br- and the first 12 hex digits of its id. */
  bridgePrefix: "br-",
  bridgeIdLength: 12,
  /** stp_state of a bridge with spanning tree off. */
  stpOff: 0,
  c1: "c1",
  c2: "c2",
  /** The seed's containers sleep a day (`alpine sleep 1d`). */
  sleep: ["sleep", "1d"],
  /** The default-bridge container of BR-4's negative case (the seed names none). */
  other: "c3",
  web: { name: "web", hostPort: 5000, containerPort: 80, proto: "tcp", hostIp: "0.0.0.0", docroot: "/www" },
  /** Docker's embedded DNS server, as the containers of a user-defined network see it. */
  embeddedDns: "127.0.0.11",
} as const;

/** The names the lab builds with: the documented ones (tests and live trials may use others). */
export interface BridgeNames {
  network: string;
  c1: string;
  c2: string;
  other: string;
  web: string;
  hostPort: number;
}

export const DOCUMENTED_NAMES: BridgeNames = {
  network: DOCUMENTED.network.name,
  c1: DOCUMENTED.c1,
  c2: DOCUMENTED.c2,
  other: DOCUMENTED.other,
  web: DOCUMENTED.web.name,
  hostPort: DOCUMENTED.web.hostPort,
};
