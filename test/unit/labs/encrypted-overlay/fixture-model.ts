/**
 * A LabModel and inventory for the encrypted-overlay checks, built from what the live lab
 * answered (test/fixtures/labs/encrypted-overlay): each host's `docker network inspect` and
 * its containers in the gather's inspect format, parsed by verify's own parsers, and the
 * host's underlay NIC. The live objects had the suffix -h (uber-net-h, test-h...), to stay
 * clear of another agent's; the suffix is dropped here so that they carry the lab's names.
 */
import * as fs from "fs";
import * as path from "path";
import { parseFramedOutput } from "../../../../scripts/lib/framing";
import type { Inventory } from "../../../../scripts/lib/verify/inventory";
import type { HostModel, LabModel } from "../../../../scripts/lib/verify/model";
import { parseContainerInspect, parseNetworkInspect } from "../../../../scripts/lib/verify/parse/docker";
import type { ScriptEvidence } from "../../../../labs/script-probe";

export const FIX = path.join(__dirname, "../../../fixtures/labs/encrypted-overlay");
export const fixture = (name: string): string => fs.readFileSync(path.join(FIX, name), "utf8");
/** The live objects' names, without the -h suffix. */
export const unsuffixed = (text: string): string => text.replace(/\b(uber-net|plain-net|test-plain|test)-h\b/g, "$1");

export const INVENTORY: Inventory = {
  lab: "encrypted-overlay",
  stack: "dev",
  user: "swarmlab",
  sshKeyFile: "/nonexistent/key",
  network: { cidr: "192.168.122.0/24", gateway: "192.168.122.1" },
  hosts: [
    { name: "docker0", hostname: "docker0.local", address: "192.168.122.10", role: "manager" },
    { name: "docker1", hostname: "docker1.local", address: "192.168.122.11", role: "worker" },
  ],
  pathTarget: "192.168.122.1",
};

function host(name: string, address: string, role: "manager" | "worker", ifindex: number): HostModel {
  return {
    name,
    address,
    role,
    reachable: true,
    execLinks: {},
    execRoutes: {},
    networks: parseNetworkInspect(unsuffixed(fixture(`networks-${name}.json`))),
    containers: parseContainerInspect(unsuffixed(fixture(`containers-${name}.jsonl`))),
    namespaces: [
      {
        id: "host",
        host: name,
        kind: "host",
        interfaces: [
          { name: "lo", ifindex: 1, kind: "loopback", mtu: 65536, flags: [], addresses: [{ family: "inet", local: "127.0.0.1", prefixlen: 8 }] },
          { name: "ens3", ifindex, kind: "device", mtu: 1500, flags: [], addresses: [{ family: "inet", local: address, prefixlen: 24 }] },
        ],
        routes: [],
        nsids: {},
        issues: [],
      },
    ],
    issues: [],
    gatherProblems: [],
  };
}

/** The gathered model, without probe evidence. */
export function fixtureModel(): LabModel {
  return { hosts: [host("docker0", "192.168.122.10", "manager", 2), host("docker1", "192.168.122.11", "worker", 2)], vethPairs: [], bridges: [], tunnels: [], manager: "docker0" };
}

/** The probe's real output on the live lab (its script built from fixtureModel()), as evidence. */
export function liveEvidence(file = "probe-docker0.txt"): ScriptEvidence {
  return { kind: "ran", host: "docker0", framed: parseFramedOutput(fixture(file), "the encrypted-overlay probe") };
}

export function modelWithProbe(evidence: unknown = liveEvidence()): LabModel {
  return { ...fixtureModel(), probe: evidence };
}
