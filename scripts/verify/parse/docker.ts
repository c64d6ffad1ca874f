/**
 * Pure parsers for docker CLI output: the tables of `docker node ls`,
 * `docker network ls`, `docker service ps`, `docker ps`, and the JSON of
 * `docker network inspect`, `docker inspect`, `docker service inspect`,
 * `docker info --format '{{json .}}'` and `docker version --format '{{json .}}'`.
 */
import { ParseError, parseJsonOutput, splitLines } from "../errors";
import { parseDockerTable } from "./table";

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === "number" && Number.isFinite(v) ? v : undefined);

// ------------------------------------------------------------- tables ----

export interface NodeRow {
  id: string;
  /** The `*` marker: this is the node the command ran on. */
  self: boolean;
  hostname: string;
  status: string;
  availability: string;
  managerStatus: string;
  engineVersion?: string;
}

export function parseNodeLs(text: string, command = "docker node ls"): NodeRow[] {
  const rows = parseDockerTable(text, command, ["ID", "HOSTNAME", "STATUS", "AVAILABILITY", "MANAGER STATUS"], ["ID", "HOSTNAME", "STATUS", "AVAILABILITY"]);
  return rows.map((r) => {
    const idCell = r.cells["ID"]!;
    const m = /^([a-z0-9]+)(\s+\*)?$/.exec(idCell);
    if (!m) throw new ParseError(command, `malformed node ID "${idCell}"`, r.lineNumber, r.line);
    const row: NodeRow = {
      id: m[1]!,
      self: Boolean(m[2]),
      hostname: r.cells["HOSTNAME"]!,
      status: r.cells["STATUS"]!,
      availability: r.cells["AVAILABILITY"]!,
      managerStatus: r.cells["MANAGER STATUS"] ?? "",
    };
    if (r.cells["ENGINE VERSION"]) row.engineVersion = r.cells["ENGINE VERSION"];
    return row;
  });
}

export interface NetworkLsRow {
  id: string;
  name: string;
  driver: string;
  scope: string;
}

export function parseNetworkLs(text: string, command = "docker network ls"): NetworkLsRow[] {
  const rows = parseDockerTable(text, command, ["NETWORK ID", "NAME", "DRIVER", "SCOPE"], ["NETWORK ID", "NAME", "DRIVER", "SCOPE"]);
  return rows.map((r) => {
    const id = r.cells["NETWORK ID"]!;
    if (!/^[a-z0-9]+$/.test(id)) throw new ParseError(command, `malformed network ID "${id}"`, r.lineNumber, r.line);
    return { id, name: r.cells["NAME"]!, driver: r.cells["DRIVER"]!, scope: r.cells["SCOPE"]! };
  });
}

export interface ServicePsRow {
  id: string;
  /** Task name without the history marker, e.g. "demoservice.1". */
  name: string;
  /** True for the ` \_ ` rows: earlier tasks of the same slot (failed, shut down, ...). */
  history: boolean;
  slot?: number;
  image: string;
  node: string;
  desiredState: string;
  /** First word of CURRENT STATE: Running, Failed, Shutdown, Preparing, ... */
  currentState: string;
  currentStateText: string;
  error: string;
}

export function parseServicePs(text: string, command = "docker service ps"): ServicePsRow[] {
  const rows = parseDockerTable(
    text,
    command,
    ["ID", "NAME", "IMAGE", "NODE", "DESIRED STATE", "CURRENT STATE"],
    ["ID", "NAME", "DESIRED STATE", "CURRENT STATE"],
  );
  return rows.map((r) => {
    const id = r.cells["ID"]!;
    if (!/^[a-z0-9]+$/.test(id)) throw new ParseError(command, `malformed task ID "${id}"`, r.lineNumber, r.line);
    let name = r.cells["NAME"]!;
    const history = name.startsWith("\\_");
    if (history) name = name.replace(/^\\_\s*/, "");
    const sm = /\.(\d+)$/.exec(name);
    const current = r.cells["CURRENT STATE"]!;
    const row: ServicePsRow = {
      id,
      name,
      history,
      image: r.cells["IMAGE"] ?? "",
      node: r.cells["NODE"] ?? "",
      desiredState: r.cells["DESIRED STATE"]!,
      currentState: current.split(/\s+/)[0]!,
      currentStateText: current,
      error: (r.cells["ERROR"] ?? "").replace(/^"|"$/g, ""),
    };
    if (sm) row.slot = Number(sm[1]);
    return row;
  });
}

export interface PsRow {
  containerId: string;
  image: string;
  command: string;
  status: string;
  names: string;
}

export function parseDockerPs(text: string, command = "docker ps"): PsRow[] {
  const rows = parseDockerTable(text, command, ["CONTAINER ID", "IMAGE", "COMMAND", "STATUS", "NAMES"], ["CONTAINER ID", "IMAGE", "NAMES"]);
  return rows.map((r) => {
    const id = r.cells["CONTAINER ID"]!;
    if (!/^[0-9a-f]{12,64}$/.test(id)) throw new ParseError(command, `malformed container ID "${id}"`, r.lineNumber, r.line);
    return { containerId: id, image: r.cells["IMAGE"]!, command: r.cells["COMMAND"] ?? "", status: r.cells["STATUS"] ?? "", names: r.cells["NAMES"]! };
  });
}

// --------------------------------------------------------------- JSON ----

function jsonArray(command: string, text: string): unknown[] {
  const data = parseJsonOutput(command, text);
  if (!Array.isArray(data)) throw new ParseError(command, "expected a JSON array at top level", 1, splitLines(text)[0] ?? "");
  return data;
}

function requireString(command: string, obj: Json, key: string, where: string): string {
  const v = obj[key];
  if (typeof v !== "string") throw new ParseError(command, `${where} lacks string field "${key}"`);
  return v;
}

export interface NetworkEndpoint {
  /** Key of the Containers map: a container ID, "ingress-sbox", "lb-<network>"... */
  key: string;
  name: string;
  endpointId?: string;
  mac?: string;
  ipv4?: string;
}

export interface DockerNetwork {
  id: string;
  name: string;
  driver: string;
  scope: string;
  internal?: boolean;
  attachable?: boolean;
  ingress?: boolean;
  ipam: { subnet?: string; gateway?: string }[];
  options: Record<string, string>;
  containers: NetworkEndpoint[];
  peers: { name: string; ip: string }[];
}

export function parseContainersMap(command: string, value: unknown): NetworkEndpoint[] {
  if (value === null || value === undefined) return [];
  if (!isObj(value)) throw new ParseError(command, "Containers is not an object");
  return Object.entries(value).map(([key, v]) => {
    if (!isObj(v)) throw new ParseError(command, `Containers["${key}"] is not an object`);
    const ep: NetworkEndpoint = { key, name: str(v["Name"]) ?? "" };
    const e = str(v["EndpointID"]);
    if (e) ep.endpointId = e;
    const mac = str(v["MacAddress"]);
    if (mac) ep.mac = mac;
    const ip = str(v["IPv4Address"]);
    if (ip) ep.ipv4 = ip;
    return ep;
  });
}

export function parseNetworkInspect(text: string, command = "docker network inspect"): DockerNetwork[] {
  return jsonArray(command, text).map((n, i) => {
    if (!isObj(n)) throw new ParseError(command, `entry ${i} is not an object`);
    const name = requireString(command, n, "Name", `entry ${i}`);
    const ipamObj = isObj(n["IPAM"]) ? n["IPAM"] : {};
    const config = Array.isArray(ipamObj["Config"]) ? ipamObj["Config"] : [];
    const options: Record<string, string> = {};
    if (isObj(n["Options"])) for (const [k, v] of Object.entries(n["Options"])) if (typeof v === "string") options[k] = v;
    const peers = Array.isArray(n["Peers"])
      ? n["Peers"].filter(isObj).map((p) => ({ name: str(p["Name"]) ?? "", ip: str(p["IP"]) ?? "" }))
      : [];
    const net: DockerNetwork = {
      id: requireString(command, n, "Id", `network ${name}`),
      name,
      driver: requireString(command, n, "Driver", `network ${name}`),
      scope: requireString(command, n, "Scope", `network ${name}`),
      ipam: config.filter(isObj).map((c) => {
        const e: { subnet?: string; gateway?: string } = {};
        const s = str(c["Subnet"]);
        if (s) e.subnet = s;
        const g = str(c["Gateway"]);
        if (g) e.gateway = g;
        return e;
      }),
      options,
      containers: parseContainersMap(command, n["Containers"]),
      peers,
    };
    if (typeof n["Internal"] === "boolean") net.internal = n["Internal"];
    if (typeof n["Attachable"] === "boolean") net.attachable = n["Attachable"];
    if (typeof n["Ingress"] === "boolean") net.ingress = n["Ingress"];
    return net;
  });
}

export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  running: boolean;
  sandboxKey: string;
  labels: Record<string, string>;
  networks: { name: string; networkId: string; ipAddress: string; prefixLen?: number; mac?: string }[];
  service?: string;
  taskId?: string;
  taskName?: string;
  nodeId?: string;
}

export function parseContainerInspect(text: string, command = "docker inspect"): ContainerInfo[] {
  return jsonArray(command, text).map((c, i) => {
    if (!isObj(c)) throw new ParseError(command, `entry ${i} is not an object`);
    const id = requireString(command, c, "Id", `entry ${i}`);
    const config = isObj(c["Config"]) ? c["Config"] : {};
    const labels: Record<string, string> = {};
    if (isObj(config["Labels"])) for (const [k, v] of Object.entries(config["Labels"])) if (typeof v === "string") labels[k] = v;
    const state = isObj(c["State"]) ? c["State"] : {};
    const ns = isObj(c["NetworkSettings"]) ? c["NetworkSettings"] : undefined;
    if (!ns) throw new ParseError(command, `container ${id.slice(0, 12)} lacks NetworkSettings`);
    const networks = isObj(ns["Networks"])
      ? Object.entries(ns["Networks"]).filter(([, v]) => isObj(v)).map(([name, v]) => {
          const o = v as Json;
          const e: ContainerInfo["networks"][number] = { name, networkId: str(o["NetworkID"]) ?? "", ipAddress: str(o["IPAddress"]) ?? "" };
          const p = num(o["IPPrefixLen"]);
          if (p !== undefined) e.prefixLen = p;
          const mac = str(o["MacAddress"]);
          if (mac) e.mac = mac;
          return e;
        })
      : [];
    const info: ContainerInfo = {
      id,
      name: (str(c["Name"]) ?? "").replace(/^\//, ""),
      image: str(config["Image"]) ?? "",
      running: state["Running"] === true,
      sandboxKey: str(ns["SandboxKey"]) ?? "",
      labels,
      networks,
    };
    const svc = labels["com.docker.swarm.service.name"];
    if (svc) info.service = svc;
    const tid = labels["com.docker.swarm.task.id"];
    if (tid) info.taskId = tid;
    const tname = labels["com.docker.swarm.task.name"];
    if (tname) info.taskName = tname;
    const nid = labels["com.docker.swarm.node.id"];
    if (nid) info.nodeId = nid;
    return info;
  });
}

export interface ServiceInfo {
  id: string;
  name: string;
  replicas?: number;
  mode: "replicated" | "global" | "other";
  image: string;
  /** Command + Args of the container spec, as `docker service create IMAGE CMD...` set them. */
  command: string[];
  networkTargets: string[];
  virtualIps: { networkId: string; addr: string }[];
}

export function parseServiceInspect(text: string, command = "docker service inspect"): ServiceInfo[] {
  return jsonArray(command, text).map((s, i) => {
    if (!isObj(s)) throw new ParseError(command, `entry ${i} is not an object`);
    const spec = isObj(s["Spec"]) ? s["Spec"] : undefined;
    if (!spec) throw new ParseError(command, `entry ${i} lacks Spec`);
    const mode = isObj(spec["Mode"]) ? spec["Mode"] : {};
    const tt = isObj(spec["TaskTemplate"]) ? spec["TaskTemplate"] : {};
    const cs = isObj(tt["ContainerSpec"]) ? tt["ContainerSpec"] : {};
    const strs = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);
    const nets = [...(Array.isArray(tt["Networks"]) ? tt["Networks"] : []), ...(Array.isArray(spec["Networks"]) ? spec["Networks"] : [])];
    const endpoint = isObj(s["Endpoint"]) ? s["Endpoint"] : {};
    const vips = Array.isArray(endpoint["VirtualIPs"]) ? endpoint["VirtualIPs"] : [];
    const info: ServiceInfo = {
      id: requireString(command, s, "ID", `entry ${i}`),
      name: requireString(command, spec, "Name", `service entry ${i}`),
      mode: isObj(mode["Replicated"]) ? "replicated" : isObj(mode["Global"]) ? "global" : "other",
      image: str(cs["Image"]) ?? "",
      command: [...strs(cs["Command"]), ...strs(cs["Args"])],
      networkTargets: nets.filter(isObj).map((n) => str(n["Target"]) ?? "").filter((t) => t !== ""),
      virtualIps: vips.filter(isObj).map((v) => ({ networkId: str(v["NetworkID"]) ?? "", addr: str(v["Addr"]) ?? "" })),
    };
    if (isObj(mode["Replicated"])) {
      const r = num(mode["Replicated"]["Replicas"]);
      if (r !== undefined) info.replicas = r;
    }
    return info;
  });
}

export interface DockerInfo {
  name: string;
  serverVersion: string;
  operatingSystem?: string;
  kernelVersion?: string;
  swarm: {
    localNodeState: string;
    nodeId: string;
    nodeAddr: string;
    controlAvailable: boolean;
    remoteManagers: { nodeId: string; addr: string }[];
    nodes?: number;
    managers?: number;
  };
}

export function parseDockerInfoJson(text: string, command = "docker info --format '{{json .}}'"): DockerInfo {
  const d = parseJsonOutput(command, text);
  if (!isObj(d)) throw new ParseError(command, "expected a JSON object");
  const sw = isObj(d["Swarm"]) ? d["Swarm"] : undefined;
  if (!sw) throw new ParseError(command, "no Swarm section");
  const rm = Array.isArray(sw["RemoteManagers"]) ? sw["RemoteManagers"] : [];
  const info: DockerInfo = {
    name: str(d["Name"]) ?? "",
    serverVersion: str(d["ServerVersion"]) ?? "",
    swarm: {
      localNodeState: str(sw["LocalNodeState"]) ?? "",
      nodeId: str(sw["NodeID"]) ?? "",
      nodeAddr: str(sw["NodeAddr"]) ?? "",
      controlAvailable: sw["ControlAvailable"] === true,
      remoteManagers: rm.filter(isObj).map((r) => ({ nodeId: str(r["NodeID"]) ?? "", addr: str(r["Addr"]) ?? "" })),
    },
  };
  const os = str(d["OperatingSystem"]);
  if (os) info.operatingSystem = os;
  const kv = str(d["KernelVersion"]);
  if (kv) info.kernelVersion = kv;
  const nodes = num(sw["Nodes"]);
  if (nodes !== undefined) info.swarm.nodes = nodes;
  const managers = num(sw["Managers"]);
  if (managers !== undefined) info.swarm.managers = managers;
  return info;
}

export interface DockerVersion {
  client?: string;
  server?: string;
  apiVersion?: string;
}

/** `docker version --format '{{json .}}'` or the plain text form the seeds show. */
export function parseDockerVersion(text: string, command = "docker version"): DockerVersion {
  if (text.trimStart().startsWith("{")) {
    const d = parseJsonOutput(command, text);
    if (!isObj(d)) throw new ParseError(command, "expected a JSON object");
    const c = isObj(d["Client"]) ? d["Client"] : {};
    const s = isObj(d["Server"]) ? d["Server"] : undefined;
    const v: DockerVersion = {};
    if (str(c["Version"])) v.client = str(c["Version"]);
    if (s && str(s["Version"])) v.server = str(s["Version"]);
    if (s && str(s["ApiVersion"])) v.apiVersion = str(s["ApiVersion"]);
    if (!v.server) throw new ParseError(command, "no Server.Version (is the daemon running?)");
    return v;
  }
  const lines = splitLines(text);
  if (lines.length === 0) throw new ParseError(command, "empty output");
  let section: "client" | "server" | undefined;
  const v: DockerVersion = {};
  lines.forEach((line) => {
    if (/^Client\b/.test(line)) section = "client";
    else if (/^Server\b/.test(line)) section = "server";
    const m = /^\s+Version:\s+(\S+)/.exec(line);
    if (m && section && v[section] === undefined) v[section] = m[1];
    const a = /^\s+API version:\s+(\S+)/.exec(line);
    if (a && section === "server" && !v.apiVersion) v.apiVersion = a[1];
  });
  if (!v.server) throw new ParseError(command, "no Server version found", lines.length, lines[lines.length - 1] ?? "");
  return v;
}
