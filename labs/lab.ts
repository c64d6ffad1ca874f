/**
 * What a lab is, to the rest of swarmlab. A lab is a folder labs/<name>/ holding what it
 * builds on top of the shared hosts and swarm (its workload), its facts with their seed
 * citations, the checks of those facts, and the probes that send traffic; it hands them over
 * through this one interface. labs/index.ts lists the labs by name.
 *
 * infra builds `definition` and `workload`; verify gathers, builds the model, runs the lab's
 * probe (its evidence, observations and never verdicts, lands in the model as `probe`) and asks
 * the lab's `check` for the verdicts, the probe's facts judged from that evidence like the others.
 * The diagram (`npm run diagram`, verify's html report) draws the model plus the lab's `plumbing`.
 */
import type { LabDefinition } from "./definition";
import type { DiagramPlumbing } from "../scripts/lib/diagram/diagram";
import type { ProgressEvent, SshTransport, Transport } from "../scripts/lib/verify/gather";
import type { Inventory, InventoryHost } from "../scripts/lib/verify/inventory";
import type { LabModel } from "../scripts/lib/verify/model";
import type { FactResult } from "../scripts/lib/verify/result";

/** `docker swarm init --default-addr-pool`: the range swarm-scoped networks get by default. */
export interface AddressPool {
  pool: string;
  maskLength: number;
}

export type { HostRole, LabDefinition, LabHost, SwarmWorkloadDefinition } from "./definition";

/** One documented fact: what the seeds show, where, and how newer engines differ. */
export interface LabFact {
  id: string;
  title: string;
  group: string;
  /** Seeds that show the fact, first one is the main citation. */
  seeds: readonly string[];
  section?: string;
  documented: string;
  newerEngines?: string;
}

/** What every lab's workload script is built from (the image and timing from the config). */
export interface WorkloadArgs {
  image: string;
  /** false: use the image present on the nodes (no registry lookup). */
  pull: boolean;
  /** Node hostnames that must be Ready before the lab's services are created (so tasks spread). */
  nodes: string[];
  timeoutSec: number;
}

export interface ProbeRunOptions {
  inventory: Inventory;
  model: LabModel;
  /** How to reach the host (default: SSH with the inventory's user and key). */
  transport?: Transport;
  /** Bound of the whole probe, connecting included. */
  timeoutMs?: number;
  onProgress?: (e: ProgressEvent) => void;
}

export interface ProbeRunResult {
  /** What the probe observed: the lab's own shape, opaque to verify (it lands in `LabModel.probe`). */
  evidence: unknown;
  /** The host probed from. */
  host: string;
  /** What the probe's script was built from (kept next to its output by --save-raw). */
  plan?: unknown;
  /** Raw output of the probe's script, when it ran (what --save-raw keeps). */
  stdout?: string;
  stderr?: string;
  seconds: number;
  /** SSH sessions the probe opened (0 or 1). */
  sessions: number;
  timedOut: boolean;
}

/**
 * A probe that sends traffic through the lab after the gather, in one more session on one
 * host, and yields evidence for the facts it names; the lab's `check` judges it. Nothing of it
 * throws: every problem ends as evidence that the facts could not be probed, with the cause.
 */
export interface Probe {
  /** The facts whose evidence the probe yields (verify runs it only when one of them is wanted). */
  factIds: readonly string[];
  /** The host the probe runs on. */
  host(inventory: Inventory): InventoryHost;
  /** Its own SSH session (started while the hosts are gathered). */
  transport(inventory: Inventory, timeoutMs?: number): SshTransport;
  run(o: ProbeRunOptions): Promise<ProbeRunResult>;
  /** Evidence from a --save-raw directory: the probe's saved output, to be judged again. */
  replay(dir: string, inventory: Inventory, model: LabModel): unknown;
  /** Evidence that every fact of the probe was deliberately not probed, for one reason. */
  skipped(reason: string): unknown;
}

export interface Lab {
  name: string;
  definition: LabDefinition;
  facts: readonly LabFact[];
  /** `docker swarm init`'s address pool and the manager's port, as the lab's facts document them. */
  swarm: { addressPool: AddressPool; port: number };
  /**
   * The guest script that builds the lab's networks, services and containers on the swarm (run
   * as root on the manager, by `up` and again by `reset`). It labels what it creates with
   * `swarmlab.lab=<name>` and first removes what another lab labelled (labs/switch.ts), so that
   * `up` switching labs on running hosts replaces only the lab's own part. Idempotent.
   */
  workload(args: WorkloadArgs): string;
  /**
   * The guest script `npm run reset` runs as root on the manager once the domains are back at
   * their baseline: it changes nothing and waits until what the workload built works again
   * (nodes Ready, tasks running where they ran, traffic through the lab's networks). A lab
   * without one has its workload run again (idempotent, but it inspects everything it builds).
   */
  ready?(args: WorkloadArgs): string;
  /** Where docker keeps its network namespaces on the hosts (what the gather lists and the model names). */
  netnsDir: string;
  /** The traffic probe, if the lab has traffic facts. */
  traffic?: Probe;
  /** The verdict on each fact (all, or those in `only`), in facts order. Pure. */
  check(model: LabModel, inventory: Inventory, opts?: { only?: readonly string[] }): FactResult[];
  /**
   * What the lab adds to the drawing of its model, beyond the namespaces, interfaces, bridges,
   * veth pairs and VXLAN tunnels every diagram has: `links` between interfaces of the model
   * (kind "esp": IPsec ESP between the hosts' underlay NICs; "vlan": an 802.1Q sub-interface
   * such as ens3.100 on its parent, labelled with its tag; "macvlan": a macvlan on its parent;
   * "published": a published port; any other kind is drawn grey) and `notes`, lines drawn under
   * a host's title, by host name (e.g. "published 5000/tcp → web:80 (ingress)"). Ends name
   * interfaces as the model does: { host, namespace: the namespace's id, iface: its name }.
   * Pure, and never throws: returns nothing (empty) for what the model lacks (an unreachable
   * host, a missing interface). Called by the diagram CLI (scripts/cli/diagram.ts) and by
   * runVerify for the html report. Absent: nothing is added.
   */
  plumbing?(model: LabModel, inventory: Inventory): DiagramPlumbing;
}

/** Finds a lab by name; an unknown name is an error naming the known ones. */
export type LabLookup = (name: string | undefined) => Lab;
