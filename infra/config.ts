/**
 * Stack configuration: every key, its default and its validation.
 *
 * Validation is a pure function over the raw strings Pulumi hands us, so that the
 * program can refuse bad input before it registers a single resource, and so that
 * unit tests can feed it every bad value. Defaults live here (not in Pulumi.yaml)
 * because under test mocks Pulumi.yaml is never read.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import type { LabDefinition, HostRole } from "../labs/swarm-overlay/lab";
import { cidrContains, cidrsOverlap, broadcastOf, formatIPv4, nthAddress, parseCidr, parseIPv4 } from "./net";

export const CONFIG_NAMESPACE = "swarmlab";

/** The documented seeds ran CentOS 7 GenericCloud on QEMU/KVM (HOST-1). */
export const DEFAULT_BASE_IMAGE =
  "https://cloud.centos.org/centos/7/images/CentOS-7-x86_64-GenericCloud.qcow2";

export const CONFIG_KEYS = [
  "libvirtUri",
  "domainType",
  "networkCidr",
  "hostAddresses",
  "vcpus",
  "memoryMiB",
  "diskGiB",
  "baseImage",
  "baseImageSha256",
  "kernel",
  "initrd",
  "kernelCmdline",
  "guestUser",
  "dockerVersion",
  "workloadImage",
  "workloadImagePull",
  "pathTarget",
  "verifyAfterUp",
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];
export type RawConfig = Partial<Record<ConfigKey, string>>;

export interface ActiveNetwork {
  name: string;
  cidr: string;
}

export interface HostConfig {
  name: string;
  hostname: string;
  role: HostRole;
  address: string;
}

export interface BaseImage {
  /** URL (http/https) or absolute local path of the disk image. */
  source: string;
  sha256?: string;
  /** Direct kernel boot, for images without a bootloader (the project's test image). */
  kernel?: string;
  initrd?: string;
  cmdline?: string;
}

export interface LabConfig {
  stack: string;
  lab: LabDefinition;
  libvirtUri: string;
  domainType: "kvm" | "qemu";
  network: { cidr: string; gateway: string; netmask: string; prefix: number };
  hosts: HostConfig[];
  vcpus: number;
  memoryMiB: number;
  diskGiB: number;
  baseImage: BaseImage;
  guestUser: string;
  dockerVersion?: string;
  workloadImage: string;
  workloadImagePull: boolean;
  pathTarget: string;
  verifyAfterUp: boolean;
  /** Name prefix of every libvirt object of this stack: two stacks never collide. */
  objectPrefix: string;
}

/** A RunError: the engine prints its message without a stack trace (a user's mistake, not a bug). */
export class ConfigError extends pulumi.RunError {
  constructor(public readonly problems: string[]) {
    super(
      `invalid swarmlab configuration (nothing was created):\n` +
        problems.map((p) => `  - ${p}`).join("\n") +
        `\nSet values with: npm run pulumi -- config set ${CONFIG_NAMESPACE}:<key> <value> [--stack NAME]`,
    );
    this.name = "ConfigError";
  }
}

const RESERVED_USERS = new Set(["root", "daemon", "bin", "sys", "nobody", "docker"]);

function intIn(problems: string[], key: string, raw: string | undefined, def: number, min: number, max: number): number {
  if (raw === undefined || raw === "") return def;
  if (!/^\d+$/.test(raw.trim())) {
    problems.push(`${CONFIG_NAMESPACE}:${key} = "${raw}" is not a whole number; allowed: ${min} to ${max}`);
    return def;
  }
  const n = Number(raw);
  if (n < min || n > max) problems.push(`${CONFIG_NAMESPACE}:${key} = ${n} is out of range; allowed: ${min} to ${max}`);
  return n;
}

function bool(problems: string[], key: string, raw: string | undefined, def: boolean): boolean {
  if (raw === undefined || raw === "") return def;
  if (raw === "true") return true;
  if (raw === "false") return false;
  problems.push(`${CONFIG_NAMESPACE}:${key} = "${raw}" is not a boolean; allowed: true or false`);
  return def;
}

/** A stack name usable inside libvirt object names and a 15-character bridge name. */
export function stackSlug(stack: string): string {
  return stack.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "") || "stack";
}

/**
 * Reads a manifest.json written by test/harness/build-test-image.sh, so that one config value
 * names the disk and its kernel, initrd and command line.
 */
function fromManifest(problems: string[], file: string): BaseImage | undefined {
  try {
    const m = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
    const dir = path.dirname(file);
    const abs = (v: unknown) => (typeof v === "string" && v ? path.resolve(dir, v) : undefined);
    const disk = abs(m.disk);
    if (!disk) {
      problems.push(`${CONFIG_NAMESPACE}:baseImage manifest ${file} has no "disk" entry`);
      return undefined;
    }
    return {
      source: disk,
      sha256: typeof m.sha256 === "string" ? m.sha256 : undefined,
      kernel: abs(m.kernel),
      initrd: abs(m.initrd),
      cmdline: typeof m.cmdline === "string" ? m.cmdline : undefined,
    };
  } catch (e) {
    problems.push(`${CONFIG_NAMESPACE}:baseImage manifest ${file} cannot be read: ${(e as Error).message}`);
    return undefined;
  }
}

export interface ValidateContext {
  stack: string;
  lab: LabDefinition;
  /** Active libvirt networks on the hypervisor, other than this stack's own. */
  activeNetworks: ActiveNetwork[];
  /** Whether a local path exists; injectable for tests. */
  fileExists?: (p: string) => boolean;
}

export function validateConfig(raw: RawConfig, ctx: ValidateContext): LabConfig {
  const problems: string[] = [];
  const exists = ctx.fileExists ?? ((p: string) => fs.existsSync(p));
  const ns = CONFIG_NAMESPACE;

  for (const k of Object.keys(raw)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(k)) {
      problems.push(`${ns}:${k} is not a known setting; allowed keys: ${CONFIG_KEYS.join(", ")}`);
    }
  }

  const slug = stackSlug(ctx.stack);

  const libvirtUri = raw.libvirtUri?.trim() || "qemu:///system";
  if (!/^[a-z][a-z0-9+]*:\/\/[^\s]*$/.test(libvirtUri) || !/^(qemu|qemu\+[a-z]+):\/\//.test(libvirtUri)) {
    problems.push(
      `${ns}:libvirtUri = "${libvirtUri}" is not a QEMU libvirt URI; allowed: qemu:///system, qemu:///session, qemu+ssh://user@host/system, ...`,
    );
  }

  const domainTypeRaw = raw.domainType?.trim() || "kvm";
  if (domainTypeRaw !== "kvm" && domainTypeRaw !== "qemu") {
    problems.push(`${ns}:domainType = "${domainTypeRaw}" is not supported; allowed: kvm (hardware virtualisation) or qemu (software emulation, slow)`);
  }
  const domainType = domainTypeRaw === "qemu" ? "qemu" : "kvm";

  // Network and host addresses (HOST-2).
  const cidrText = raw.networkCidr?.trim() || ctx.lab.network.cidr;
  const cidr = parseCidr(cidrText);
  let network: LabConfig["network"] = { cidr: cidrText, gateway: "", netmask: "", prefix: 0 };
  if (!cidr) {
    problems.push(`${ns}:networkCidr = "${cidrText}" is not an IPv4 network in CIDR form with no host bits set (e.g. 192.168.122.0/24)`);
  } else if (cidr.prefix < 16 || cidr.prefix > 29) {
    problems.push(`${ns}:networkCidr = "${cidrText}" has prefix /${cidr.prefix}; allowed: /16 to /29`);
  } else {
    const m = formatIPv4((0xffffffff << (32 - cidr.prefix)) >>> 0);
    network = { cidr: cidr.text, gateway: nthAddress(cidr, 1), netmask: m, prefix: cidr.prefix };
    for (const other of ctx.activeNetworks) {
      const oc = parseCidr(other.cidr);
      if (oc && cidrsOverlap(cidr, oc)) {
        problems.push(
          `${ns}:networkCidr = "${cidr.text}" overlaps the active libvirt network "${other.name}" (${other.cidr}); ` +
            `allowed: a range no active network uses. Either choose another range (pulumi config set ${ns}:networkCidr 192.168.123.0/24) ` +
            `or stop that network (virsh net-destroy ${other.name})`,
        );
      }
    }
  }

  let overrides: Record<string, string> = {};
  if (raw.hostAddresses !== undefined && raw.hostAddresses !== "") {
    try {
      const parsed: unknown = JSON.parse(raw.hostAddresses);
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
      overrides = parsed as Record<string, string>;
      for (const [k, v] of Object.entries(overrides)) {
        if (!ctx.lab.hosts.some((h) => h.name === k)) {
          problems.push(`${ns}:hostAddresses names unknown host "${k}"; allowed: ${ctx.lab.hosts.map((h) => h.name).join(", ")}`);
        }
        if (typeof v !== "string") problems.push(`${ns}:hostAddresses.${k} must be a string address`);
      }
    } catch {
      problems.push(`${ns}:hostAddresses = ${raw.hostAddresses} is not a JSON object like {"docker0":"192.168.122.10","docker1":"192.168.122.11"}`);
    }
  }

  const hosts: HostConfig[] = [];
  const seen = new Map<string, string>();
  for (const h of ctx.lab.hosts) {
    const address = overrides[h.name] ?? (cidr ? nthAddress(cidr, h.hostOffset) : "");
    hosts.push({ name: h.name, hostname: h.hostname, role: h.role, address });
    if (!cidr) continue;
    const ip = parseIPv4(address);
    if (ip === undefined) {
      problems.push(`${ns}:hostAddresses.${h.name} = "${address}" is not an IPv4 address`);
      continue;
    }
    if (!cidrContains(cidr, ip)) {
      problems.push(`address of ${h.name} = ${address} lies outside ${ns}:networkCidr ${cidr.text}; allowed: an address inside it`);
    } else if (ip === cidr.network || ip === broadcastOf(cidr)) {
      problems.push(`address of ${h.name} = ${address} is the network or broadcast address of ${cidr.text}`);
    } else if (address === network.gateway) {
      problems.push(`address of ${h.name} = ${address} is the network's gateway (${network.gateway}), which the hypervisor bridge uses`);
    }
    const clash = seen.get(address);
    if (clash) problems.push(`address of ${h.name} = ${address} collides with ${clash}; every host needs its own address`);
    seen.set(address, h.name);
  }

  const vcpus = intIn(problems, "vcpus", raw.vcpus, 2, 1, 64);
  const memoryMiB = intIn(problems, "memoryMiB", raw.memoryMiB, 2048, 512, 262144);
  const diskGiB = intIn(problems, "diskGiB", raw.diskGiB, 20, 4, 2048);

  // Base image: URL or absolute path, or a manifest.json of the project's image builder.
  const baseRaw = raw.baseImage?.trim() || DEFAULT_BASE_IMAGE;
  let baseImage: BaseImage = { source: baseRaw };
  if (/^https?:\/\//.test(baseRaw)) {
    baseImage = { source: baseRaw };
  } else if (path.isAbsolute(baseRaw)) {
    if (!exists(baseRaw)) {
      problems.push(`${ns}:baseImage = "${baseRaw}" does not exist; allowed: an http(s) URL or an existing absolute path`);
    } else if (baseRaw.endsWith(".json")) {
      baseImage = fromManifest(problems, baseRaw) ?? baseImage;
    }
  } else {
    problems.push(`${ns}:baseImage = "${baseRaw}" is neither an http(s) URL nor an absolute path`);
  }
  const sha = raw.baseImageSha256?.trim();
  if (sha) {
    if (!/^[0-9a-fA-F]{64}$/.test(sha)) problems.push(`${ns}:baseImageSha256 = "${sha}" is not 64 hexadecimal characters`);
    else baseImage.sha256 = sha.toLowerCase();
  }
  for (const k of ["kernel", "initrd"] as const) {
    const v = raw[k]?.trim();
    if (!v) continue;
    if (!path.isAbsolute(v)) problems.push(`${ns}:${k} = "${v}" must be an absolute path on the hypervisor`);
    else baseImage[k] = v;
  }
  if (raw.kernelCmdline?.trim()) baseImage.cmdline = raw.kernelCmdline.trim();
  if (baseImage.initrd && !baseImage.kernel) problems.push(`${ns}:initrd is set but ${ns}:kernel is not; direct boot needs a kernel`);

  const guestUser = raw.guestUser?.trim() || "swarm";
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(guestUser)) {
    problems.push(`${ns}:guestUser = "${guestUser}" is not a valid Linux user name; allowed: lower-case letters, digits, _ and -, starting with a letter or _`);
  } else if (RESERVED_USERS.has(guestUser)) {
    problems.push(`${ns}:guestUser = "${guestUser}" is reserved; allowed: an unprivileged name such as swarm (it gets sudo)`);
  }

  const dockerVersion = raw.dockerVersion?.trim() || undefined;
  if (dockerVersion && !/^\d+\.\d+(\.\d+)?([.~+-][0-9A-Za-z.~+-]*)?$/.test(dockerVersion)) {
    problems.push(`${ns}:dockerVersion = "${dockerVersion}" is not a version such as 20.10 or 24.0.7`);
  }

  const workloadImage = raw.workloadImage?.trim() || ctx.lab.workload.service.defaultImage;
  if (!/^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$/.test(workloadImage)) {
    problems.push(`${ns}:workloadImage = "${workloadImage}" is not a Docker image reference such as alpine, alpine:3.19 or registry:5000/team/img:tag`);
  }
  const workloadImagePull = bool(problems, "workloadImagePull", raw.workloadImagePull, true);
  const verifyAfterUp = bool(problems, "verifyAfterUp", raw.verifyAfterUp, true);

  const pathTarget = raw.pathTarget?.trim() || network.gateway;
  if (cidr) {
    const ip = parseIPv4(pathTarget);
    if (ip === undefined) problems.push(`${ns}:pathTarget = "${pathTarget}" is not an IPv4 address`);
    else if (!cidrContains(cidr, ip)) {
      problems.push(`${ns}:pathTarget = "${pathTarget}" lies outside the lab network ${cidr.text}; allowed: an address inside the lab (default: its gateway ${network.gateway})`);
    }
  }

  if (problems.length) throw new ConfigError(problems);

  return {
    stack: ctx.stack,
    lab: ctx.lab,
    libvirtUri,
    domainType,
    network,
    hosts,
    vcpus,
    memoryMiB,
    diskGiB,
    baseImage,
    guestUser,
    dockerVersion,
    workloadImage,
    workloadImagePull,
    pathTarget,
    verifyAfterUp,
    objectPrefix: `swarmlab-${slug}`,
  };
}
