/**
 * Stack configuration: every key, its default and its validation.
 *
 * Validation is a pure function over the raw values Pulumi hands us, so that the
 * program can refuse bad input before it registers a single resource, and so that
 * unit tests can feed it every bad value. Defaults live here (not in Pulumi.yaml)
 * because under test mocks Pulumi.yaml is never read.
 */
import * as pulumi from "@pulumi/pulumi";
import * as fs from "fs";
import * as path from "path";
import { DEFAULT_LAB, findLab, LAB_NAMES } from "../labs";
import type { HostRole, Lab, LabDefinition } from "../labs/lab";
import { DOCUMENTED } from "../labs/swarm-overlay/facts";
import {
  Cidr,
  broadcastOf,
  cidrContains,
  cidrsOverlap,
  dhcpRangeOf,
  formatIPv4,
  netmaskOf,
  networkOf,
  nthAddress,
  parseCidr,
  parseIPv4,
} from "../scripts/lib/ipv4";

export const CONFIG_NAMESPACE = "swarmlab";

/** The documented seeds ran CentOS 7 GenericCloud on QEMU/KVM (HOST-1). */
export const DEFAULT_BASE_IMAGE =
  "https://cloud.centos.org/centos/7/images/CentOS-7-x86_64-GenericCloud-2211.qcow2";
/**
 * The default image is a versioned build, checked by its published sha256
 * (centos/7/images/sha256sum.txt: 902,889,472 bytes). The unversioned GenericCloud alias is not
 * kept consistent between its forms, so it is not used.
 */
export const DEFAULT_BASE_IMAGE_SHA256 = "284aab2b23d91318f169ff464bce4d53404a15a0618ceb34562838c59af4adea";

export const DEFAULT_LIBVIRT_URI = "qemu:///system";

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
  "lab",
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];
/**
 * Every `swarmlab:*` key that is set, without the namespace. Values are `unknown`: Pulumi hands
 * over strings, but structured values (set with --path) arrive as JSON text and tests can pass
 * anything, so validation checks types instead of trusting them.
 */
export type RawConfig = { [K in ConfigKey]?: unknown } & { [key: string]: unknown };

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
  /** swarmlab:lab: the lab's name in labs/index.ts. */
  labName: string;
  /** Its definition (hosts, network, workload names). */
  lab: LabDefinition;
  libvirtUri: string;
  domainType: "kvm" | "qemu";
  network: {
    cidr: string;
    gateway: string;
    netmask: string;
    prefix: number;
    /** The DHCP range the lab network hands out (top of the network); no static address lies in it. */
    dhcpRange: { start: string; end: string };
  };
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
  /** Name prefix of every libvirt object of this stack (`swarmlab-<stack>`): two stacks never collide. */
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

/** A value as it appears in messages: strings quoted with escapes, so that "\n" or " " shows. */
function show(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function kindOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  return typeof v === "object" ? "an object" : `a ${typeof v}`;
}

/** Whether text is a JSON object or list: what Pulumi hands over for a value set with --path. */
function isStructured(text: string): boolean {
  if (!/^\s*[[{]/.test(text)) return false;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null;
  } catch {
    return false;
  }
}

/**
 * The text of a plain (scalar) setting, or undefined when it is unset or empty. A value that is
 * not a string, or that is a JSON object or list, is a problem (and reads as unset, so that the
 * default keeps the other checks meaningful).
 */
function scalar(problems: string[], key: ConfigKey, v: unknown): string | undefined {
  if (v === undefined || v === "") return undefined;
  if (typeof v !== "string") {
    problems.push(`${CONFIG_NAMESPACE}:${key} = ${show(v)} is ${kindOf(v)}, not text; allowed: a single plain value (npm run pulumi -- config set ${CONFIG_NAMESPACE}:${key} <value>)`);
    return undefined;
  }
  if (isStructured(v)) {
    problems.push(`${CONFIG_NAMESPACE}:${key} = ${show(v)} is a structured value (set with --path or as YAML object/list?); allowed: a single plain value`);
    return undefined;
  }
  return v;
}

function intIn(problems: string[], key: ConfigKey, v: unknown, def: number, min: number, max: number): number {
  const raw = scalar(problems, key, v);
  if (raw === undefined) return def;
  if (!/^\d+$/.test(raw.trim())) {
    problems.push(`${CONFIG_NAMESPACE}:${key} = ${show(raw)} is not a whole number; allowed: ${min} to ${max}`);
    return def;
  }
  const n = Number(raw);
  if (n < min || n > max) problems.push(`${CONFIG_NAMESPACE}:${key} = ${n} is out of range; allowed: ${min} to ${max}`);
  return n;
}

function bool(problems: string[], key: ConfigKey, v: unknown, def: boolean): boolean {
  const raw = scalar(problems, key, v);
  if (raw === undefined) return def;
  if (raw === "true") return true;
  if (raw === "false") return false;
  problems.push(`${CONFIG_NAMESPACE}:${key} = ${show(raw)} is not a boolean; allowed: true or false`);
  return def;
}

/** Why text is not a canonical IPv4 address (for messages). */
function ipv4Fault(text: string): string {
  if (/\s/.test(text)) return "it contains whitespace";
  if (/(^|[./])0\d/.test(text)) return "a part has a leading zero";
  return "it is not four numbers 0-255 separated by dots";
}

const IPV4_ALLOWED = "allowed: dotted decimal without leading zeros or spaces";

/* ---------------------------------------------------------------- unknown keys */

/** Levenshtein distance; small strings only. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length];
}

/** The known key closest to `key` (case-insensitive), if it is close enough to be a typo. */
export function closestKey(key: string): ConfigKey | undefined {
  let best: ConfigKey | undefined;
  let bestD = Infinity;
  for (const k of CONFIG_KEYS) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  if (best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3))) return best;
  // A known key cut short or run on: disk -> diskGiB, memory -> memoryMiB.
  const lower = key.toLowerCase();
  if (lower.length >= 3) return CONFIG_KEYS.find((k) => k.toLowerCase().startsWith(lower) || lower.startsWith(k.toLowerCase()));
  return undefined;
}

/* ---------------------------------------------------------------- stack names and object names */

/** libvirt's limit that this project keeps every object name within. */
export const LIBVIRT_NAME_MAX = 64;

/** Name prefix of every libvirt object of a stack; main.ts excludes the stack's own network by it. */
export function objectPrefixOf(stack: string): string {
  return `swarmlab-${stack}`;
}

/**
 * What infra/program.ts and infra/components.ts append to the object prefix: the network and
 * pool (nothing), the base volume, and per host its domain, disk and cloud-init seed volume.
 * (The bridge name is hashed to 15 characters by bridgeName and needs no room here.)
 */
function labByDefault(): Lab {
  const lab = findLab(DEFAULT_LAB);
  if (!lab) throw new Error(`the default lab ${DEFAULT_LAB} is not in labs/index.ts`);
  return lab;
}

export function objectNameSuffixes(lab: LabDefinition): string[] {
  return ["", "-base.qcow2", ...lab.hosts.flatMap((h) => [`-${h.name}`, `-${h.name}.qcow2`, `-${h.name}-seed.iso`])];
}

function longestSuffix(lab: LabDefinition): string {
  return objectNameSuffixes(lab).reduce((a, b) => (b.length >= a.length ? b : a), "");
}

/** The longest stack name whose libvirt object names all stay within LIBVIRT_NAME_MAX. */
export function maxStackNameLength(lab: LabDefinition = labByDefault().definition): number {
  return LIBVIRT_NAME_MAX - objectPrefixOf("").length - longestSuffix(lab).length;
}

/** A valid name close to `name`, when one is easy to make. */
function suggestStackName(name: string, max: number): string | undefined {
  const s = name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+/, "")
    .slice(0, max)
    .replace(/-+$/, "");
  return s && s !== name ? s : undefined;
}

/**
 * Stack names become libvirt object names (`swarmlab-<stack>-docker0`, ...) and the state
 * directory `.swarmlab/<stack>` verbatim, so that two stacks never share an object and no name
 * escapes that directory: lowercase letters, digits and single hyphens inside, short enough
 * for libvirt. Returns undefined when the name is fine, otherwise the message.
 */
export function validateStackName(name: string, lab: LabDefinition = labByDefault().definition): string | undefined {
  const max = maxStackNameLength(lab);
  if (typeof name === "string" && name.length <= max && /^[a-z0-9]+(-[a-z0-9]+)*$/.test(name)) return undefined;
  const text = typeof name === "string" ? name : String(name);
  const rule = `use lowercase letters, digits and '-' (at most ${max} characters, starting and ending with a letter or digit, no '--')`;
  const why =
    text.length > max && /^[a-z0-9]+(-[a-z0-9]+)*$/.test(text)
      ? `is ${text.length} characters long, and the longest libvirt object name (${objectPrefixOf(text)}${longestSuffix(lab)}) must stay within ${LIBVIRT_NAME_MAX}`
      : "is not allowed";
  const e = suggestStackName(text, max);
  return `stack name ${show(text)} ${why}: ${rule}${e ? `, e.g. ${e}` : ""}`;
}

/* ---------------------------------------------------------------- libvirt URI */

export const LIBVIRT_TRANSPORTS = ["ssh", "tcp", "tls", "unix", "libssh", "libssh2"] as const;
/** URI parameters that make libvirt run a program or talk to another socket or proxy. */
export const REFUSED_URI_PARAMS = ["command", "netcat", "socket", "proxy"] as const;

const URI_ALLOWED =
  `allowed: qemu:///system, qemu:///session or qemu+<${LIBVIRT_TRANSPORTS.join("|")}>://[user@]host[:port]/system ` +
  `(or /session), without the parameters ${REFUSED_URI_PARAMS.join(", ")}`;

/** Why a libvirt URI is refused, or undefined when it is fine. */
function libvirtUriFault(uri: string): string | undefined {
  if (/\s/.test(uri)) return "contains whitespace";
  const m = /^([^:/?#]+):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?$/.exec(uri);
  if (!m) return "is not a URI of the form scheme://[host]/path";
  const [, scheme, authority, uriPath, query] = m;
  const sm = /^qemu(?:\+(.+))?$/.exec(scheme);
  if (!sm) return "is not a QEMU libvirt URI";
  const transport = sm[1];
  if (transport === "ext") return "uses the ext transport, which runs an arbitrary program";
  if (transport !== undefined && !(LIBVIRT_TRANSPORTS as readonly string[]).includes(transport)) {
    return `uses the transport "${transport}", which is not supported`;
  }
  // A user or host starting with '-' would reach ssh as an option.
  const am = /^(?:([A-Za-z0-9_][A-Za-z0-9._-]*)@)?([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])?(?::(\d{1,5}))?$/.exec(authority);
  if (!am || (!am[2] && (am[1] || am[3]))) return `has the host part "${authority}", which is not [user@]host[:port]`;
  if (transport === "unix" && am[2]) return "names a host, but the unix transport only reaches the local machine";
  if (uriPath !== "/system" && uriPath !== "/session") return `has the path "${uriPath}"; the QEMU driver has /system or /session`;
  if (query !== undefined) {
    for (const part of query.split(/[&;]/)) {
      if (part === "") continue;
      const name = part.split("=")[0];
      // libvirt unescapes parameter names: only plain names, so %63ommand cannot slip through.
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return `has the parameter "${part}", whose name is not a plain word`;
      if ((REFUSED_URI_PARAMS as readonly string[]).includes(name.toLowerCase())) {
        return `sets the parameter "${name}", which makes libvirt run a program or redirect the connection`;
      }
    }
  }
  return undefined;
}

/**
 * The libvirt URI of a raw configuration (the default when unset) and, when it is refused, why.
 * main.ts checks this before it asks virsh anything: a refused URI is never handed to virsh.
 */
export function resolveLibvirtUri(v: unknown): { uri: string; problem?: string } {
  const key = `${CONFIG_NAMESPACE}:libvirtUri`;
  if (v === undefined || v === "") return { uri: DEFAULT_LIBVIRT_URI };
  if (typeof v !== "string") {
    return { uri: DEFAULT_LIBVIRT_URI, problem: `${key} = ${show(v)} is ${kindOf(v)}, not text; ${URI_ALLOWED}` };
  }
  const fault = isStructured(v) ? "is a structured value (set with --path?)" : libvirtUriFault(v);
  return fault ? { uri: v, problem: `${key} = ${show(v)} ${fault}; ${URI_ALLOWED}` } : { uri: v };
}

/* ---------------------------------------------------------------- ranges a lab network must avoid */

/** Special-purpose IPv4 ranges that cannot be a lab network. */
export const SPECIAL_RANGES: { cidr: string; why: string }[] = [
  { cidr: "0.0.0.0/8", why: `"this network" (0.0.0.0/8), which hosts do not route` },
  { cidr: "127.0.0.0/8", why: "loopback (127.0.0.0/8), which never leaves a host" },
  { cidr: "169.254.0.0/16", why: "link-local (169.254.0.0/16), which is not routed and is used for automatic addressing" },
  { cidr: "224.0.0.0/4", why: "multicast (224.0.0.0/4), which is not for host addresses" },
  { cidr: "240.0.0.0/4", why: "reserved (240.0.0.0/4), which hosts do not route" },
];

/**
 * The ranges Docker uses inside every guest of the lab: the lab's overlay (lab.ts) and Docker's
 * documented ingress, docker0 and docker_gwbridge ranges (facts.ts). A lab network overlapping
 * one of them would be routed into Docker on the guests.
 */
export function dockerRanges(lab: LabDefinition): { cidr: string; what: string }[] {
  const d0 = parseIPv4(DOCUMENTED.docker0.address);
  return [
    ...lab.subnets,
    { cidr: DOCUMENTED.ingress.subnet, what: "Docker's ingress overlay network" },
    {
      cidr: d0 === undefined ? "" : networkOf(d0, DOCUMENTED.docker0.prefixlen).text,
      what: "the docker0 bridge on every guest",
    },
    { cidr: DOCUMENTED.gwbridge.subnet, what: "the docker_gwbridge bridge on every guest" },
  ];
}

/** The last range chooseLabNetwork tries: the documented range's neighbours up to 192.168.254.0/24. */
const LAB_NETWORK_SEARCH_END = "192.168.255.0";

export interface LabNetworkChoice {
  /** The range the lab network uses. */
  cidr: string;
  /** Why it is not the documented range (undefined when it is). */
  note?: string;
}

/**
 * Where the lab network goes when swarmlab:networkCidr is not set. The documented range
 * (192.168.122.0/24) when no active libvirt network uses it; most hypervisors run libvirt's own
 * `default` network there, so otherwise the next range of the same size, counting up to
 * 192.168.254.0/24, that no active network and none of Docker's ranges in the guests overlap. A
 * stack whose own network is active keeps its range. With nothing free the documented range is
 * returned, and validateConfig names what it overlaps.
 */
export function chooseLabNetwork(lab: LabDefinition, active: readonly ActiveNetwork[], own?: ActiveNetwork): LabNetworkChoice {
  const documented = parseCidr(lab.network.cidr);
  if (!documented) return { cidr: lab.network.cidr };
  if (own && parseCidr(own.cidr)) {
    return own.cidr === documented.text ? { cidr: own.cidr } : { cidr: own.cidr, note: `the lab network ${own.name} already uses ${own.cidr}; it keeps that range (swarmlab:networkCidr is not set)` };
  }
  const taken = active.flatMap((a) => {
    const c = parseCidr(a.cidr);
    return c ? [{ name: a.name, cidr: c }] : [];
  });
  const docker = dockerRanges(lab).flatMap((d) => parseCidr(d.cidr) ?? []);
  const userOf = (c: Cidr) => taken.find((t) => cidrsOverlap(c, t.cidr));
  const blocker = userOf(documented);
  if (!blocker) return { cidr: documented.text };
  const size = 2 ** (32 - documented.prefix);
  const end = parseIPv4(LAB_NETWORK_SEARCH_END)!;
  for (let n = documented.network + size; n + size - 1 < end; n += size) {
    const c = networkOf(n >>> 0, documented.prefix);
    if (userOf(c) || docker.some((d) => cidrsOverlap(c, d))) continue;
    return {
      cidr: c.text,
      note: `${documented.text}, the documented range, is used by the active libvirt network "${blocker.name}" (${blocker.cidr.text}); this lab uses ${c.text}, the next free range`,
    };
  }
  return { cidr: documented.text };
}

/** Smallest and largest allowed lab network: /28 still leaves .2-.9 outside the DHCP range. */
export const NETWORK_PREFIX_MIN = 16;
export const NETWORK_PREFIX_MAX = 28;

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
  /** Finds the lab swarmlab:lab names (default: the registry, labs/index.ts); injectable for tests. */
  labs?: (name: string) => Lab | undefined;
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
    if ((CONFIG_KEYS as readonly string[]).includes(k)) continue;
    const near = closestKey(k);
    problems.push(
      `${ns}:${k} is not a known setting;` +
        (near ? ` did you mean ${ns}:${near}?` : "") +
        ` known settings: ${CONFIG_KEYS.join(", ")}`,
    );
  }

  // swarmlab:lab first: every other default (network, hosts, overlay, image) is the lab's.
  const labText = scalar(problems, "lab", raw.lab)?.trim() || DEFAULT_LAB;
  const found = (ctx.labs ?? findLab)(labText);
  if (!found) problems.push(`${ns}:lab = ${show(labText)} is not a known lab; allowed: ${LAB_NAMES.join(", ")}`);
  const chosen = found ?? (ctx.labs ?? findLab)(DEFAULT_LAB) ?? labByDefault();
  const lab = chosen.definition;

  const stackProblem = validateStackName(ctx.stack, lab);
  if (stackProblem) problems.push(stackProblem);

  const { uri: libvirtUri, problem: uriProblem } = resolveLibvirtUri(raw.libvirtUri);
  if (uriProblem) problems.push(uriProblem);

  const domainTypeRaw = scalar(problems, "domainType", raw.domainType)?.trim() || "kvm";
  if (domainTypeRaw !== "kvm" && domainTypeRaw !== "qemu") {
    problems.push(`${ns}:domainType = ${show(domainTypeRaw)} is not supported; allowed: kvm (hardware virtualisation) or qemu (software emulation, slow)`);
  }
  const domainType = domainTypeRaw === "qemu" ? "qemu" : "kvm";

  // Network and host addresses (HOST-2). `cidr` stays set when only its neighbourhood is wrong
  // (overlaps), so that host addresses are still checked against it.
  const cidrText = scalar(problems, "networkCidr", raw.networkCidr) ?? lab.network.cidr;
  const parsedCidr = parseCidr(cidrText);
  let cidr: Cidr | undefined;
  let network: LabConfig["network"] = { cidr: cidrText, gateway: "", netmask: "", prefix: 0, dhcpRange: { start: "", end: "" } };
  const cidrAllowed = `allowed: a private IPv4 network such as 192.168.122.0/24, prefix /${NETWORK_PREFIX_MIN} to /${NETWORK_PREFIX_MAX}`;
  if (!parsedCidr) {
    const slash = cidrText.indexOf("/");
    const addr = slash < 0 ? cidrText : cidrText.slice(0, slash);
    const prefixText = slash < 0 ? undefined : cidrText.slice(slash + 1);
    const ip = parseIPv4(addr);
    let why: string;
    if (/\s/.test(cidrText)) why = "it contains whitespace";
    else if (ip === undefined) why = `its address ${show(addr)} is not canonical IPv4 (${ipv4Fault(addr)})`;
    else if (prefixText === undefined) why = "it has no /prefix";
    else if (!/^(0|[1-9]\d?)$/.test(prefixText) || Number(prefixText) > 32) why = `its prefix ${show(prefixText)} is not a number 0-32 without leading zeros`;
    else why = `host bits are set (the network would be ${networkOf(ip, Number(prefixText)).text})`;
    problems.push(`${ns}:networkCidr = ${show(cidrText)} is not an IPv4 network in CIDR form with no host bits set: ${why}; ${cidrAllowed}`);
  } else if (parsedCidr.prefix < NETWORK_PREFIX_MIN || parsedCidr.prefix > NETWORK_PREFIX_MAX) {
    problems.push(
      `${ns}:networkCidr = ${show(cidrText)} has prefix /${parsedCidr.prefix}; allowed: /${NETWORK_PREFIX_MIN} to /${NETWORK_PREFIX_MAX}` +
        ` (a smaller network leaves no static addresses outside the DHCP range at its top)`,
    );
  } else {
    cidr = parsedCidr;
    const dhcp = dhcpRangeOf(cidr);
    network = {
      cidr: cidr.text,
      gateway: nthAddress(cidr, 1),
      netmask: netmaskOf(cidr),
      prefix: cidr.prefix,
      dhcpRange: { start: formatIPv4(dhcp.start), end: formatIPv4(dhcp.end) },
    };
    for (const s of SPECIAL_RANGES) {
      const sc = parseCidr(s.cidr);
      if (sc && cidrsOverlap(cidr, sc)) {
        problems.push(`${ns}:networkCidr = ${show(cidr.text)} lies in ${s.why}; ${cidrAllowed}`);
      }
    }
    const docker = dockerRanges(lab);
    for (const d of docker) {
      const dc = parseCidr(d.cidr);
      if (dc && cidrsOverlap(cidr, dc)) {
        problems.push(
          `${ns}:networkCidr = ${show(cidr.text)} overlaps ${dc.text}, ${d.what}; the guests would route those addresses into Docker ` +
            `instead of the lab network. Allowed: a range outside ${docker.map((x) => x.cidr).join(", ")}, e.g. ${lab.network.cidr}`,
        );
      }
    }
    for (const other of ctx.activeNetworks) {
      const oc = parseCidr(other.cidr);
      if (oc && cidrsOverlap(cidr, oc)) {
        problems.push(
          `${ns}:networkCidr = ${show(cidr.text)} overlaps the active libvirt network "${other.name}" (${other.cidr}); ` +
            `allowed: a range no active network uses. Either choose another range (pulumi config set ${ns}:networkCidr 192.168.123.0/24) ` +
            `or stop that network (virsh net-destroy ${other.name})`,
        );
      }
    }
  }

  const overrides = new Map<string, string>();
  const hostAddressesExample = `{"docker0":"192.168.122.10","docker1":"192.168.122.11"}`;
  if (raw.hostAddresses !== undefined && raw.hostAddresses !== "") {
    let parsed: unknown;
    if (typeof raw.hostAddresses !== "string") {
      problems.push(`${ns}:hostAddresses = ${show(raw.hostAddresses)} is ${kindOf(raw.hostAddresses)}, not text; allowed: a JSON object like ${hostAddressesExample}`);
    } else {
      try {
        parsed = JSON.parse(raw.hostAddresses);
      } catch {
        parsed = undefined;
      }
      if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) {
        problems.push(`${ns}:hostAddresses = ${raw.hostAddresses} is not a JSON object like ${hostAddressesExample}`);
      } else {
        for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
          if (!lab.hosts.some((h) => h.name === k)) {
            problems.push(`${ns}:hostAddresses names unknown host ${show(k)}; allowed: ${lab.hosts.map((h) => h.name).join(", ")}`);
          } else if (typeof v !== "string") {
            problems.push(`${ns}:hostAddresses.${k} = ${show(v)} is ${kindOf(v)}; allowed: an address as a string, e.g. "192.168.122.10"`);
          } else if (parseIPv4(v) === undefined) {
            problems.push(`${ns}:hostAddresses.${k} = ${show(v)} is not an IPv4 address: ${ipv4Fault(v)}; ${IPV4_ALLOWED}, e.g. 192.168.122.10`);
          } else {
            overrides.set(k, v);
          }
        }
      }
    }
  }

  const hosts: HostConfig[] = [];
  const seen = new Map<number, string>();
  for (const h of lab.hosts) {
    const given = overrides.get(h.name);
    const ip = given !== undefined ? parseIPv4(given) : cidr ? (cidr.network + h.hostOffset) >>> 0 : undefined;
    const address = ip === undefined ? given ?? "" : formatIPv4(ip);
    hosts.push({ name: h.name, hostname: h.hostname, role: h.role, address });
    if (!cidr || ip === undefined) continue;
    const range = dhcpRangeOf(cidr);
    const where = given !== undefined ? `from ${ns}:hostAddresses` : `the default, offset ${h.hostOffset}; set ${ns}:hostAddresses to move it`;
    const allowed = `allowed: an address of ${cidr.text} other than its network, gateway and broadcast addresses and outside ${formatIPv4(range.start)}-${formatIPv4(range.end)}`;
    if (!cidrContains(cidr, ip)) {
      problems.push(`address of ${h.name} = ${address} lies outside ${ns}:networkCidr ${cidr.text} (${where}); ${allowed}`);
    } else if (ip === cidr.network) {
      problems.push(`address of ${h.name} = ${address} is the network address of ${cidr.text} (${where}); ${allowed}`);
    } else if (ip === broadcastOf(cidr)) {
      problems.push(`address of ${h.name} = ${address} is the broadcast address of ${cidr.text} (${where}); ${allowed}`);
    } else if (address === network.gateway) {
      problems.push(`address of ${h.name} = ${address} is the network's gateway (${network.gateway}), which the hypervisor bridge uses (${where}); ${allowed}`);
    } else if (ip >= range.start && ip <= range.end) {
      problems.push(
        `address of ${h.name} = ${address} lies in the DHCP range ${formatIPv4(range.start)}-${formatIPv4(range.end)} that the lab network hands out (${where}); ${allowed}`,
      );
    }
    const clash = seen.get(ip);
    if (clash) problems.push(`address of ${h.name} = ${address} collides with ${clash}; every host needs its own address`);
    seen.set(ip, h.name);
  }

  const vcpus = intIn(problems, "vcpus", raw.vcpus, 2, 1, 64);
  const memoryMiB = intIn(problems, "memoryMiB", raw.memoryMiB, 2048, 512, 262144);
  const diskGiB = intIn(problems, "diskGiB", raw.diskGiB, 20, 4, 2048);

  // Base image: URL or absolute path, or a manifest.json of the project's image builder.
  const baseRaw = scalar(problems, "baseImage", raw.baseImage)?.trim() || DEFAULT_BASE_IMAGE;
  let baseImage: BaseImage = baseRaw === DEFAULT_BASE_IMAGE ? { source: baseRaw, sha256: DEFAULT_BASE_IMAGE_SHA256 } : { source: baseRaw };
  if (/^https?:\/\//.test(baseRaw)) {
    // (the default image keeps its pinned sha256; baseImageSha256 below may set one for any URL)
  } else if (path.isAbsolute(baseRaw)) {
    if (!exists(baseRaw)) {
      problems.push(`${ns}:baseImage = ${show(baseRaw)} does not exist; allowed: an http(s) URL or an existing absolute path`);
    } else if (baseRaw.endsWith(".json")) {
      baseImage = fromManifest(problems, baseRaw) ?? baseImage;
    }
  } else {
    problems.push(`${ns}:baseImage = ${show(baseRaw)} is neither an http(s) URL nor an absolute path`);
  }
  const sha = scalar(problems, "baseImageSha256", raw.baseImageSha256)?.trim();
  if (sha) {
    if (!/^[0-9a-fA-F]{64}$/.test(sha)) problems.push(`${ns}:baseImageSha256 = ${show(sha)} is not 64 hexadecimal characters`);
    else baseImage.sha256 = sha.toLowerCase();
  }
  for (const k of ["kernel", "initrd"] as const) {
    const v = scalar(problems, k, raw[k])?.trim();
    if (!v) continue;
    if (!path.isAbsolute(v)) problems.push(`${ns}:${k} = ${show(v)} must be an absolute path on the hypervisor`);
    else baseImage[k] = v;
  }
  const cmdline = scalar(problems, "kernelCmdline", raw.kernelCmdline)?.trim();
  if (cmdline) baseImage.cmdline = cmdline;
  if (baseImage.initrd && !baseImage.kernel) problems.push(`${ns}:initrd is set but ${ns}:kernel is not; direct boot needs a kernel`);

  const guestUser = scalar(problems, "guestUser", raw.guestUser)?.trim() || "swarm";
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(guestUser)) {
    problems.push(`${ns}:guestUser = ${show(guestUser)} is not a valid Linux user name; allowed: lower-case letters, digits, _ and -, starting with a letter or _`);
  } else if (RESERVED_USERS.has(guestUser)) {
    problems.push(`${ns}:guestUser = ${show(guestUser)} is reserved; allowed: an unprivileged name such as swarm (it gets sudo)`);
  }

  const dockerVersion = scalar(problems, "dockerVersion", raw.dockerVersion)?.trim() || undefined;
  if (dockerVersion && !/^\d+\.\d+(\.\d+)?([.~+-][0-9A-Za-z.~+-]*)?$/.test(dockerVersion)) {
    problems.push(`${ns}:dockerVersion = ${show(dockerVersion)} is not a version such as 20.10 or 24.0.7`);
  }

  const workloadImage = scalar(problems, "workloadImage", raw.workloadImage)?.trim() || lab.defaultImage;
  if (!/^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[0-9a-f]{64})?$/.test(workloadImage)) {
    problems.push(`${ns}:workloadImage = ${show(workloadImage)} is not a Docker image reference such as alpine, alpine:3.19 or registry:5000/team/img:tag`);
  }
  const workloadImagePull = bool(problems, "workloadImagePull", raw.workloadImagePull, true);
  const verifyAfterUp = bool(problems, "verifyAfterUp", raw.verifyAfterUp, true);

  // PATH-2's ping target: a unicast address of the lab network (default: its gateway).
  const pathGiven = scalar(problems, "pathTarget", raw.pathTarget);
  let pathTarget = pathGiven ?? network.gateway;
  if (pathGiven !== undefined) {
    const ip = parseIPv4(pathGiven);
    const allowed = cidr
      ? `allowed: an address inside the lab network ${cidr.text} other than its network and broadcast address (default: its gateway ${network.gateway})`
      : "allowed: an address inside the lab network (default: its gateway)";
    if (ip === undefined) {
      problems.push(`${ns}:pathTarget = ${show(pathGiven)} is not an IPv4 address: ${ipv4Fault(pathGiven)}; ${IPV4_ALLOWED}; ${allowed}`);
    } else {
      pathTarget = formatIPv4(ip);
      if (cidr && !cidrContains(cidr, ip)) {
        problems.push(`${ns}:pathTarget = ${show(pathGiven)} lies outside the lab network ${cidr.text}; ${allowed}`);
      } else if (cidr && ip === cidr.network) {
        problems.push(`${ns}:pathTarget = ${show(pathGiven)} is the network address of ${cidr.text}, which no host answers; ${allowed}`);
      } else if (cidr && ip === broadcastOf(cidr)) {
        problems.push(`${ns}:pathTarget = ${show(pathGiven)} is the broadcast address of ${cidr.text}, not one host; ${allowed}`);
      }
    }
  }

  if (problems.length) throw new ConfigError(problems);

  return {
    stack: ctx.stack,
    labName: chosen.name,
    lab,
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
    objectPrefix: objectPrefixOf(ctx.stack),
  };
}
