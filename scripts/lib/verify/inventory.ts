/**
 * The inventory: what `npm run up` writes to `.swarmlab/<stack>/inventory.json`
 * and what verify reads to find the hosts and the expected workload. A
 * hand-built lab (as in the seeds) can be described by such a file too.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { LabDefinition, SwarmWorkloadDefinition } from "../../../labs/definition";
import { InventoryError } from "./errors";
import { inCidr, isIPv4, nthAddressIn, readCidr } from "../ipv4";

export type Role = "manager" | "worker";

export interface InventoryHost {
  /** Short name (libvirt domain suffix, ssh alias), e.g. "docker0". */
  name: string;
  /** Kernel hostname, as `docker node ls` shows it, e.g. "docker0.local". */
  hostname: string;
  /** Address on the lab network (HOST-2), e.g. "192.168.122.10". */
  address: string;
  role: Role;
}

export interface Inventory {
  /** The lab's name in labs/index.ts (absent in inventories written by hand: the default lab). */
  lab?: string;
  stack: string;
  /** SSH user; gather runs `sudo -n bash -s` unless this is root. */
  user: string;
  /** Absolute path of the private key (mode 0600). */
  sshKeyFile: string;
  network: { cidr: string; gateway: string };
  hosts: InventoryHost[];
  /** The lab's overlay and service (labs built around one; absent: the lab's own, or none). */
  workload?: {
    overlay: string;
    subnet: string;
    gateway: string;
    service: string;
    replicas: number;
    image: string;
  };
  /** An address inside the lab that PATH-2 sends traffic to (default: network.gateway). */
  pathTarget: string;
}

export interface LoadOptions {
  /** Check that sshKeyFile exists with mode 0600 (default true). */
  checkKeyFile?: boolean;
}

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function field(obj: Obj, key: string, where: string): unknown {
  if (!(key in obj) || obj[key] === undefined || obj[key] === null) {
    throw new InventoryError(where ? `${where}.${key}` : key, "is missing");
  }
  return obj[key];
}

function reqString(obj: Obj, key: string, where: string, pattern?: RegExp, hint?: string): string {
  const v = field(obj, key, where);
  const name = where ? `${where}.${key}` : key;
  if (typeof v !== "string" || v.trim() === "") throw new InventoryError(name, `must be a non-empty string, got ${JSON.stringify(v)}`);
  if (pattern && !pattern.test(v)) throw new InventoryError(name, `${JSON.stringify(v)} is not ${hint ?? `of the form ${pattern}`}`);
  return v;
}

function reqIPv4(obj: Obj, key: string, where: string): string {
  const v = reqString(obj, key, where);
  if (!isIPv4(v)) throw new InventoryError(`${where}.${key}`, `${JSON.stringify(v)} is not an IPv4 address`);
  return v;
}

function reqCidr(obj: Obj, key: string, where: string): string {
  const v = reqString(obj, key, where);
  const c = readCidr(v);
  if (!c) throw new InventoryError(`${where}.${key}`, `${JSON.stringify(v)} is not an IPv4 CIDR such as 192.168.122.0/24`);
  if (c.address !== v.split("/")[0] || nthAddressIn(v, 0) !== c.address) {
    throw new InventoryError(`${where}.${key}`, `${JSON.stringify(v)} has host bits set (did you mean ${nthAddressIn(v, 0)}/${c.prefix}?)`);
  }
  return v;
}

/** Validate parsed JSON as an inventory. Throws InventoryError naming the bad field. */
export function validateInventory(raw: unknown, opts: LoadOptions = {}, file?: string): Inventory {
  try {
    return validate(raw, opts);
  } catch (e) {
    if (e instanceof InventoryError && file) throw new InventoryError(e.field, e.message.replace(/^[^:]*: /, ""), file);
    throw e;
  }
}

function validate(raw: unknown, opts: LoadOptions): Inventory {
  if (!isObj(raw)) throw new InventoryError("", "the inventory must be a JSON object");
  const lab = raw["lab"] === undefined ? undefined : reqString(raw, "lab", "", /^[a-z0-9][a-z0-9-]*$/, "a lab name (lower-case letters, digits, -)");
  const stack = reqString(raw, "stack", "", /^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "a stack name (letters, digits, _ . -)");
  const user = reqString(raw, "user", "", /^[a-z_][a-z0-9_.-]*$/i, "a user name");
  const sshKeyFile = reqString(raw, "sshKeyFile", "");
  if (!path.isAbsolute(sshKeyFile)) throw new InventoryError("sshKeyFile", `must be an absolute path, got ${JSON.stringify(sshKeyFile)}`);
  if (opts.checkKeyFile !== false) {
    let st: fs.Stats;
    try {
      st = fs.statSync(sshKeyFile);
    } catch {
      throw new InventoryError("sshKeyFile", `${sshKeyFile} does not exist or cannot be read`);
    }
    if (!st.isFile()) throw new InventoryError("sshKeyFile", `${sshKeyFile} is not a file`);
    if ((st.mode & 0o077) !== 0) {
      throw new InventoryError("sshKeyFile", `${sshKeyFile} has mode ${(st.mode & 0o777).toString(8)}; ssh keys must be 0600`);
    }
  }

  const netRaw = field(raw, "network", "");
  if (!isObj(netRaw)) throw new InventoryError("network", "must be an object { cidr, gateway }");
  const cidr = reqCidr(netRaw, "cidr", "network");
  const gateway = reqIPv4(netRaw, "gateway", "network");
  if (!inCidr(cidr, gateway)) throw new InventoryError("network.gateway", `${gateway} is not inside network.cidr ${cidr}`);

  const hostsRaw = field(raw, "hosts", "");
  if (!Array.isArray(hostsRaw) || hostsRaw.length === 0) throw new InventoryError("hosts", "must be a non-empty array");
  const hosts: InventoryHost[] = hostsRaw.map((h, i) => {
    const where = `hosts[${i}]`;
    if (!isObj(h)) throw new InventoryError(where, "must be an object { name, hostname, address, role }");
    const name = reqString(h, "name", where, /^[a-z0-9][a-z0-9-]*$/, "a short host name (a-z, 0-9, -)");
    const hostname = reqString(h, "hostname", where, /^[A-Za-z0-9][A-Za-z0-9.-]*$/, "a host name");
    const address = reqIPv4(h, "address", where);
    if (!inCidr(cidr, address)) throw new InventoryError(`${where}.address`, `${address} is not inside network.cidr ${cidr}`);
    const role = reqString(h, "role", where);
    if (role !== "manager" && role !== "worker") throw new InventoryError(`${where}.role`, `must be "manager" or "worker", got ${JSON.stringify(role)}`);
    return { name, hostname, address, role };
  });
  for (const key of ["name", "hostname", "address"] as const) {
    const seen = new Map<string, number>();
    hosts.forEach((h, i) => {
      const prev = seen.get(h[key]);
      if (prev !== undefined) throw new InventoryError(`hosts[${i}].${key}`, `${JSON.stringify(h[key])} is also used by hosts[${prev}]`);
      seen.set(h[key], i);
    });
  }
  if (!hosts.some((h) => h.role === "manager")) throw new InventoryError("hosts", "no host has role \"manager\"");

  const workload = raw["workload"] === undefined ? undefined : validateWorkload(raw["workload"]);

  let pathTarget = gateway;
  if (raw["pathTarget"] !== undefined) {
    pathTarget = reqIPv4(raw, "pathTarget", "");
    // Traffic must never leave the lab: the target has to be one of the lab's own addresses.
    if (!inCidr(cidr, pathTarget)) {
      throw new InventoryError("pathTarget", `${pathTarget} is outside the lab network ${cidr}; PATH-2 must target an address inside the lab`);
    }
  }

  return {
    ...(lab !== undefined ? { lab } : {}),
    stack,
    user,
    sshKeyFile,
    network: { cidr, gateway },
    hosts,
    ...(workload ? { workload } : {}),
    pathTarget,
  };
}

function validateWorkload(wRaw: unknown): NonNullable<Inventory["workload"]> {
  if (!isObj(wRaw)) throw new InventoryError("workload", "must be an object { overlay, subnet, gateway, service, replicas, image }");
  const overlay = reqString(wRaw, "overlay", "workload", /^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "a docker network name");
  const subnet = reqCidr(wRaw, "subnet", "workload");
  const wGateway = reqIPv4(wRaw, "gateway", "workload");
  if (!inCidr(subnet, wGateway)) throw new InventoryError("workload.gateway", `${wGateway} is not inside workload.subnet ${subnet}`);
  const service = reqString(wRaw, "service", "workload", /^[A-Za-z0-9][A-Za-z0-9_.-]*$/, "a docker service name");
  const replicas = field(wRaw, "replicas", "workload");
  if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 1) {
    throw new InventoryError("workload.replicas", `must be a positive integer, got ${JSON.stringify(replicas)}`);
  }
  const image = reqString(wRaw, "image", "workload");
  return { overlay, subnet, gateway: wGateway, service, replicas, image };
}

export function defaultInventoryPath(stack: string, cwd = process.cwd()): string {
  return path.join(cwd, ".swarmlab", stack, "inventory.json");
}

/** Read and validate an inventory file. */
export function loadInventory(file: string, opts: LoadOptions = {}): Inventory {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InventoryError("", code === "ENOENT" ? "no inventory here (run `npm run up` first, or pass --inventory FILE)" : `cannot read: ${String(e)}`, file);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new InventoryError("", `not valid JSON: ${e instanceof Error ? e.message : String(e)}`, file);
  }
  return validateInventory(raw, opts, file);
}

/**
 * The inventory a provisioned lab.ts lab has: addresses from network.cidr +
 * hostOffset, gateways as the first address. `npm run up` may use this.
 */
export function inventoryFromLab(
  lab: LabDefinition,
  opts: { stack: string; user: string; sshKeyFile: string; gateway?: string; image?: string; pathTarget?: string },
): Inventory {
  const gateway = opts.gateway ?? nthAddressIn(lab.network.cidr, 1)!;
  const w = lab.workload;
  return {
    lab: lab.name,
    stack: opts.stack,
    user: opts.user,
    sshKeyFile: opts.sshKeyFile,
    network: { cidr: lab.network.cidr, gateway },
    hosts: lab.hosts.map((h) => ({ name: h.name, hostname: h.hostname, address: nthAddressIn(lab.network.cidr, h.hostOffset)!, role: h.role })),
    ...(w ? { workload: inventoryWorkload(w, opts.image ?? lab.defaultImage) } : {}),
    pathTarget: opts.pathTarget ?? gateway,
  };
}

/** The inventory's workload block for a lab built around one overlay and service. */
export function inventoryWorkload(w: SwarmWorkloadDefinition, image: string): NonNullable<Inventory["workload"]> {
  return { overlay: w.overlay.name, subnet: w.overlay.subnet, gateway: w.overlay.gateway, service: w.service.name, replicas: w.service.replicas, image };
}

/** Differences between an inventory and the lab definition (informational: a hand-built lab may differ). */
export function compareWithLab(inv: Inventory, lab: LabDefinition): string[] {
  const notes: string[] = [];
  if (inv.network.cidr !== lab.network.cidr) notes.push(`network.cidr ${inv.network.cidr} differs from lab.ts ${lab.network.cidr}`);
  const iw = inv.workload;
  const lw = lab.workload;
  if (iw && lw) {
    if (iw.overlay !== lw.overlay.name) notes.push(`workload.overlay ${iw.overlay} differs from lab.ts ${lw.overlay.name}`);
    if (iw.subnet !== lw.overlay.subnet) notes.push(`workload.subnet ${iw.subnet} differs from lab.ts ${lw.overlay.subnet}`);
    if (iw.gateway !== lw.overlay.gateway) notes.push(`workload.gateway ${iw.gateway} differs from lab.ts ${lw.overlay.gateway}`);
    if (iw.service !== lw.service.name) notes.push(`workload.service ${iw.service} differs from lab.ts ${lw.service.name}`);
    if (iw.replicas !== lw.service.replicas) notes.push(`workload.replicas ${iw.replicas} differs from lab.ts ${lw.service.replicas}`);
  } else if (iw && !lw) notes.push(`workload ${iw.service} on ${iw.overlay}: lab ${lab.name} has no overlay service`);
  const labHosts = lab.hosts.map((h) => `${h.hostname}/${h.role}`).sort().join(", ");
  const invHosts = inv.hosts.map((h) => `${h.hostname}/${h.role}`).sort().join(", ");
  if (labHosts !== invHosts) notes.push(`hosts ${invHosts} differ from lab.ts ${labHosts}`);
  return notes;
}
