/**
 * The Pulumi program: builds the lab described in labs/ from a validated LabConfig.
 * `infra/index.ts` is the entry the Pulumi CLI runs; tests call `defineLab` directly.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { labNamed } from "../labs";
import type { WorkloadArgs } from "../labs/lab";
import { inventoryWorkload } from "../scripts/lib/verify/inventory";
import { LabConfig } from "./config";
import { LabHost, LabNetwork, LabStorage, SwarmCluster, SwarmWorkload } from "./components";
import { LabFiles, SshKeyPair } from "./local";
import { bridgeName, macFor } from "./libvirt/xml";

export interface DefineLabOptions {
  /** Where `.swarmlab/<stack>/` goes (the repository root by default). */
  stateRoot: string;
  /** Default pool directory on the hypervisor. */
  poolRoot?: string;
  /** How long the workload step waits for its tasks. */
  workloadTimeoutSec?: number;
}

export interface LabOutputs {
  hosts: { name: string; hostname: string; address: string; role: string }[];
  labDir: pulumi.Output<string>;
  inventoryFile: pulumi.Output<string>;
  sshCommand: string;
  tasks: pulumi.Output<string>;
  keyFingerprint: pulumi.Output<string>;
}

export function inventoryOf(cfg: LabConfig, keyFile: string) {
  const w = cfg.lab.workload;
  return {
    lab: cfg.lab.name,
    stack: cfg.stack,
    user: cfg.guestUser,
    sshKeyFile: keyFile,
    network: { cidr: cfg.network.cidr, gateway: cfg.network.gateway },
    hosts: cfg.hosts.map((h) => ({ name: h.name, hostname: h.hostname, address: h.address, role: h.role })),
    ...(w ? { workload: inventoryWorkload(w, cfg.workloadImage) } : {}),
    pathTarget: cfg.pathTarget,
  };
}

export function sshConfigOf(cfg: LabConfig, keyFile: string, knownHostsFile: string): string {
  return (
    cfg.hosts
      .map((h) =>
        [
          `Host ${h.name} ${h.hostname}`,
          `  HostName ${h.address}`,
          `  User ${cfg.guestUser}`,
          `  IdentityFile ${keyFile}`,
          `  IdentitiesOnly yes`,
          // Every `up` makes new guests with new host keys: keep them out of ~/.ssh/known_hosts.
          `  UserKnownHostsFile ${knownHostsFile}`,
          `  StrictHostKeyChecking accept-new`,
          ``,
        ].join("\n"),
      )
      .join("\n")
  );
}

/** What the workload step (and `npm run reset`'s readiness check) runs with. */
export function workloadArgsOf(cfg: LabConfig, timeoutSec: number): WorkloadArgs {
  return {
    image: cfg.workloadImage,
    pull: cfg.workloadImagePull,
    nodes: cfg.hosts.map((h) => h.hostname),
    timeoutSec,
  };
}

export function defineLab(cfg: LabConfig, opts: DefineLabOptions): LabOutputs {
  const prefix = cfg.objectPrefix;

  const key = new SshKeyPair(`${prefix}-ssh-key`, { comment: `swarmlab-${cfg.stack}` });

  const hostNet = cfg.hosts.map((h) => ({ ...h, mac: macFor(cfg.stack, h.name) }));
  const network = new LabNetwork(`${prefix}-network`, {
    uri: cfg.libvirtUri,
    name: prefix,
    bridge: bridgeName(prefix.replace(/^swarmlab-/, "")),
    gateway: cfg.network.gateway,
    netmask: cfg.network.netmask,
    hosts: hostNet.map((h) => ({ mac: h.mac, address: h.address, hostname: h.hostname })),
    // A small DHCP range at the top of the network, away from the static addresses.
    dhcpRange: cfg.network.dhcpRange,
  });

  const storage = new LabStorage(`${prefix}-storage`, {
    uri: cfg.libvirtUri,
    pool: prefix,
    poolPath: path.posix.join(opts.poolRoot ?? "/var/lib/libvirt/images", prefix),
    baseVolume: `${prefix}-base.qcow2`,
    baseImage: cfg.baseImage,
  });

  const hosts = hostNet.map(
    (h) =>
      new LabHost(`${prefix}-${h.name}`, {
        uri: cfg.libvirtUri,
        stack: cfg.stack,
        domainName: `${prefix}-${h.name}`,
        host: h.name,
        hostname: h.hostname,
        role: h.role,
        address: h.address,
        prefix: cfg.network.prefix,
        gateway: cfg.network.gateway,
        mac: h.mac,
        peers: cfg.hosts.map((p) => ({ hostname: p.hostname, address: p.address })),
        domainType: cfg.domainType,
        vcpus: cfg.vcpus,
        memoryMiB: cfg.memoryMiB,
        diskGiB: cfg.diskGiB,
        baseImage: cfg.baseImage,
        user: cfg.guestUser,
        publicKey: key.publicKeyOpenssh,
        privateKey: key.privateKeyPem,
        pool: storage.poolName,
        basePath: storage.basePath,
        networkName: network.networkName,
        dockerVersion: cfg.dockerVersion,
      }),
  );

  const manager = hosts[cfg.hosts.findIndex((h) => h.role === "manager")];
  const workers = hosts.filter((_, i) => cfg.hosts[i].role === "worker");
  // Hosts and swarm are every lab's; the chosen lab builds its workload on top.
  const lab = labNamed(cfg.labName);
  const swarm = new SwarmCluster(`${prefix}-swarm`, {
    manager,
    workers,
    addressPool: lab.swarm.addressPool,
    swarmPort: lab.swarm.port,
  });

  const workload = new SwarmWorkload(
    `${prefix}-workload`,
    {
      manager,
      hosts,
      script: lab.workload(workloadArgsOf(cfg, opts.workloadTimeoutSec ?? 600)),
    },
    // Declared as soon as the manager has a swarm: the service's second task waits for the
    // worker (one replica per node), so the worker's boot and join overlap the first task's start.
    { dependsOn: [swarm.init] },
  );

  const labDir = path.join(opts.stateRoot, ".swarmlab", cfg.stack);
  const keyFile = path.join(labDir, "id_swarmlab");
  const files = new LabFiles(`${prefix}-files`, {
    dir: labDir,
    inventory: JSON.stringify(inventoryOf(cfg, keyFile), null, 2) + "\n",
    sshConfig: sshConfigOf(cfg, keyFile, path.join(labDir, "known_hosts")),
    privateKeyPem: key.privateKeyPem,
  });

  return {
    hosts: cfg.hosts.map((h) => ({ name: h.name, hostname: h.hostname, address: h.address, role: h.role })),
    labDir: files.dir,
    inventoryFile: files.dir.apply((d) => path.join(d, "inventory.json")),
    sshCommand: `ssh -F ${path.join(labDir, "ssh_config")} ${cfg.hosts[0].name}`,
    tasks: workload.tasks,
    keyFingerprint: key.fingerprint,
  };
}
