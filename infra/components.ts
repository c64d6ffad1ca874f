/**
 * The lab's ComponentResources: network, storage, host, swarm, workload.
 * Each takes an args interface, creates its children with `parent: this`, and
 * registers its outputs.
 */
import * as pulumi from "@pulumi/pulumi";
import { VirshObject } from "./libvirt/provider";
import { GuestCommand } from "./guest/command";
import { domainXml, networkXml, overlayVolumeXml, poolXml } from "./libvirt/xml";
import { guestInitScript, metaData, networkConfig, userData } from "./guest/cloudinit";
import type { AddressPool } from "../labs/lab";
import { asRoot, dockerInstallScript, swarmInitScript, swarmJoinScript, waitReadyScript } from "./guest/scripts";
import type { BaseImage } from "./config";

const TYPE = "swarmlab";

/** How a GuestCommand reaches a guest. Boots take a while, so dialling is retried for minutes. */
export interface GuestConnection {
  host: pulumi.Input<string>;
  user: pulumi.Input<string>;
  privateKey: pulumi.Input<string>;
  dialAttempts: number;
  dialTimeoutSec: number;
}

export interface LabNetworkArgs {
  uri: string;
  name: string;
  bridge: string;
  gateway: string;
  netmask: string;
  hosts: { mac: string; address: string; hostname: string }[];
  dhcpRange: { start: string; end: string };
}

/** HOST-2: the libvirt bridge network the hosts share. */
export class LabNetwork extends pulumi.ComponentResource {
  public readonly networkName: pulumi.Output<string>;
  public readonly network: VirshObject;

  constructor(name: string, args: LabNetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TYPE}:lab:Network`, name, {}, opts);
    this.network = new VirshObject(
      `${name}-net`,
      { uri: args.uri, kind: "network", name: args.name, xml: networkXml(args) },
      { parent: this },
    );
    this.networkName = this.network.name;
    this.registerOutputs({ networkName: this.networkName });
  }
}

export interface LabStorageArgs {
  uri: string;
  pool: string;
  poolPath: string;
  baseVolume: string;
  baseImage: BaseImage;
}

/** The stack's storage pool and the base image every host disk is an overlay of. */
export class LabStorage extends pulumi.ComponentResource {
  public readonly poolName: pulumi.Output<string>;
  public readonly basePath: pulumi.Output<string>;

  constructor(name: string, args: LabStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TYPE}:lab:Storage`, name, {}, opts);
    const pool = new VirshObject(
      `${name}-pool`,
      { uri: args.uri, kind: "pool", name: args.pool, xml: poolXml(args.pool, args.poolPath) },
      { parent: this },
    );
    const base = new VirshObject(
      `${name}-base`,
      {
        uri: args.uri,
        kind: "volume",
        pool: pool.name,
        name: args.baseVolume,
        upload: { source: args.baseImage.source, ...(args.baseImage.sha256 ? { sha256: args.baseImage.sha256 } : {}) },
      },
      { parent: this },
    );
    this.poolName = pool.name;
    this.basePath = base.path;
    this.registerOutputs({ poolName: this.poolName, basePath: this.basePath });
  }
}

export interface LabHostArgs {
  uri: string;
  stack: string;
  domainName: string;
  host: string;
  hostname: string;
  role: string;
  address: string;
  prefix: number;
  gateway: string;
  mac: string;
  peers: { hostname: string; address: string }[];
  domainType: "kvm" | "qemu";
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  baseImage: BaseImage;
  user: string;
  publicKey: pulumi.Input<string>;
  privateKey: pulumi.Input<string>;
  pool: pulumi.Input<string>;
  basePath: pulumi.Input<string>;
  networkName: pulumi.Input<string>;
  dockerVersion?: string;
}

/** HOST-1: one guest: its cloud-init seed, overlay disk and domain, then Docker. */
export class LabHost extends pulumi.ComponentResource {
  public readonly address: string;
  public readonly hostname: string;
  public readonly connection: GuestConnection;
  public readonly domain: VirshObject;
  /** Finishes when the guest answers SSH and first boot is done. */
  public readonly ready: GuestCommand;
  /** Finishes when the Docker engine runs. */
  public readonly docker: GuestCommand;

  constructor(name: string, args: LabHostArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TYPE}:lab:Host`, name, {}, opts);
    this.address = args.address;
    this.hostname = args.hostname;

    const cloudInit = pulumi.output(args.publicKey).apply((publicKey) => {
      const seedArgs = {
        hostname: args.hostname,
        user: args.user,
        publicKey,
        mac: args.mac,
        address: args.address,
        prefix: args.prefix,
        gateway: args.gateway,
        peers: args.peers,
        emulated: args.domainType === "qemu",
      };
      const ud = userData(seedArgs);
      return { userData: ud, metaData: metaData(seedArgs, ud), networkConfig: networkConfig(seedArgs), initScript: guestInitScript(seedArgs) };
    });

    const seed = new VirshObject(
      `${name}-seed`,
      { uri: args.uri, kind: "volume", pool: args.pool, name: `${args.domainName}-seed.iso`, cloudInit },
      { parent: this },
    );
    const disk = new VirshObject(
      `${name}-disk`,
      {
        uri: args.uri,
        kind: "volume",
        pool: args.pool,
        name: `${args.domainName}.qcow2`,
        xml: pulumi.output(args.basePath).apply((p) => overlayVolumeXml(`${args.domainName}.qcow2`, args.diskGiB, p)),
      },
      { parent: this },
    );
    this.domain = new VirshObject(
      `${name}-domain`,
      {
        uri: args.uri,
        kind: "domain",
        name: args.domainName,
        xml: pulumi.all([args.pool, args.networkName, seed.name, disk.name]).apply(([pool, network, seedVol, diskVol]) =>
          domainXml({
            name: args.domainName,
            type: args.domainType,
            memoryMiB: args.memoryMiB,
            vcpus: args.vcpus,
            pool,
            diskVolume: diskVol,
            seedVolume: seedVol,
            network,
            mac: args.mac,
            kernel: args.baseImage.kernel,
            initrd: args.baseImage.initrd,
            cmdline: args.baseImage.cmdline,
            stack: args.stack,
            host: args.host,
            role: args.role,
            consoleLog: args.uri.endsWith("/system") ? `/var/log/libvirt/qemu/${args.domainName}-console.log` : undefined,
          }),
        ),
      },
      { parent: this },
    );

    this.connection = {
      host: args.address,
      user: args.user,
      privateKey: args.privateKey,
      // A fresh guest needs up to a minute (more under software emulation) before sshd answers.
      dialAttempts: 120,
      dialTimeoutSec: 10,
    };

    this.ready = new GuestCommand(
      `${name}-ready`,
      {
        connection: this.connection,
        create: asRoot("ready", waitReadyScript(args.hostname)),
        // Re-run whenever the guest is defined anew (a new domain has a new UUID).
        triggers: [this.domain.uuid],
      },
      { parent: this, dependsOn: [this.domain] },
    );

    this.docker = new GuestCommand(
      `${name}-docker`,
      {
        connection: this.connection,
        create: asRoot("docker", dockerInstallScript({ version: args.dockerVersion })),
        triggers: [this.domain.uuid],
      },
      { parent: this, dependsOn: [this.ready] },
    );

    this.registerOutputs({ address: this.address, hostname: this.hostname, ready: this.ready.stdout, docker: this.docker.stdout });
  }
}

export interface SwarmClusterArgs {
  manager: LabHost;
  workers: LabHost[];
  /** `docker swarm init --default-addr-pool` (the lab's documented ingress range). */
  addressPool: AddressPool;
  /** The manager's swarm port workers join on (2377 in the facts). */
  swarmPort: number;
}

/** CL-1: `docker swarm init` on the manager, `docker swarm join` on every worker. */
export class SwarmCluster extends pulumi.ComponentResource {
  public readonly managerAddress: string;
  /** Completes when the manager has a swarm (the workload can be declared then). */
  public readonly init: GuestCommand;
  /** Completes when every worker has joined. */
  public readonly joins: GuestCommand[];

  constructor(name: string, args: SwarmClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TYPE}:lab:Swarm`, name, {}, opts);
    this.managerAddress = args.manager.address;

    const init = (this.init = new GuestCommand(
      `${name}-init`,
      {
        connection: args.manager.connection,
        create: asRoot("swarm-init", swarmInitScript(args.manager.address, args.addressPool)),
        triggers: [args.manager.domain.uuid],
        // stdout is the join token: stored only as a secret, never shown in an error.
        secretStdout: true,
      },
      { parent: this, dependsOn: [args.manager.docker], additionalSecretOutputs: ["stdout"] },
    ));
    const joinToken = pulumi.secret(init.stdout);

    this.joins = args.workers.map(
      (w) =>
        new GuestCommand(
          `${name}-join-${w.hostname.split(".")[0]}`,
          {
            connection: w.connection,
            create: asRoot("swarm-join", swarmJoinScript(args.manager.address, args.swarmPort)),
            stdin: joinToken,
            triggers: [w.domain.uuid, args.manager.domain.uuid],
          },
          { parent: this, dependsOn: [w.docker, init] },
        ),
    );
    this.registerOutputs({ managerAddress: this.managerAddress });
  }
}

export interface SwarmWorkloadArgs {
  manager: LabHost;
  /** Every host: the step runs again when any of them is defined anew, to spread the tasks again. */
  hosts: LabHost[];
  /** The lab's workload script (Lab.workload): what it builds on the swarm, run on the manager. */
  script: string;
}

/** The lab's workload on the swarm (swarm-overlay: WL-1, WL-2, ready when one task runs on each node). */
export class SwarmWorkload extends pulumi.ComponentResource {
  public readonly tasks: pulumi.Output<string>;

  constructor(name: string, args: SwarmWorkloadArgs, opts?: pulumi.ComponentResourceOptions) {
    super(`${TYPE}:lab:Workload`, name, {}, opts);
    const run = new GuestCommand(
      `${name}-service`,
      {
        connection: args.manager.connection,
        create: asRoot("workload", args.script),
        triggers: args.hosts.map((h) => h.domain.uuid),
      },
      { parent: this },
    );
    this.tasks = run.stdout;
    this.registerOutputs({ tasks: this.tasks });
  }
}
