/**
 * Pure parsers for docker CLI output. The gather asks for structured output
 * (`--format '{{json .}}'`: one JSON object per line; `inspect`: JSON), which
 * these read field by field, strictly: a field of the wrong JSON type or out
 * of range is a ParseError naming the command, the field and the value.
 * The column-aligned tables (what the seeds show, and what older gathers
 * saved) are still read, by the same functions: the form is told by the first
 * character.
 */
import { badValue, ParseError, parseJsonOutput, splitLines } from "../errors";
import { Fields, isObj, jsonList } from "./json";
import { parseDockerTable } from "./table";

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);

/** Output of `--format '{{json .}}'` (JSON lines) rather than a table? */
function isJsonLines(text: string): boolean {
  return text.trimStart().startsWith("{");
}

/** Docker's object IDs: lowercase letters and digits. */
function dockerId(command: string, f: Fields, key: string): string {
  const id = f.reqStr(key);
  if (!/^[a-z0-9]+$/.test(id)) throw badValue(command, `${f.path}.${key}`, "a docker ID (lowercase letters and digits)", id);
  return id;
}

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
  if (isJsonLines(text)) {
    return jsonList(command, text).map((v, i) => {
      const f = Fields.of(command, `line ${i + 1}`, v);
      // Older CLIs marked the node the command ran on with " *" after its ID.
      const rawId = f.reqStr("ID");
      const m = /^([a-z0-9]+)( \*)?$/.exec(rawId);
      if (!m) throw badValue(command, `${f.path}.ID`, "a node ID", rawId);
      const row: NodeRow = {
        id: m[1]!,
        self: f.bool("Self") ?? Boolean(m[2]),
        hostname: f.reqStr("Hostname"),
        status: f.reqStr("Status"),
        availability: f.reqStr("Availability"),
        managerStatus: f.str("ManagerStatus") ?? "",
      };
      const ev = f.str("EngineVersion");
      if (ev) row.engineVersion = ev;
      return row;
    });
  }
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
  if (isJsonLines(text)) {
    return jsonList(command, text).map((v, i) => {
      const f = Fields.of(command, `line ${i + 1}`, v);
      return { id: dockerId(command, f, "ID"), name: f.reqStr("Name"), driver: f.reqStr("Driver"), scope: f.reqStr("Scope") };
    });
  }
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
  if (isJsonLines(text)) {
    // Only the table indents earlier tasks of a slot (" \\_ "); in JSON they follow the
    // slot's current task (newest first) under the same name.
    const seen = new Set<string>();
    return jsonList(command, text).map((v, i) => {
      const f = Fields.of(command, `line ${i + 1}`, v);
      let name = f.reqStr("Name");
      let history = name.trimStart().startsWith("\\_");
      name = name.replace(/^\s*\\_\s*/, "");
      if (seen.has(name)) history = true;
      seen.add(name);
      const current = f.reqStr("CurrentState");
      const row: ServicePsRow = {
        id: dockerId(command, f, "ID"),
        name,
        history,
        image: f.str("Image") ?? "",
        node: f.str("Node") ?? "",
        desiredState: f.reqStr("DesiredState"),
        currentState: current.split(/\s+/)[0]!,
        currentStateText: current,
        error: (f.str("Error") ?? "").replace(/^"|"$/g, ""),
      };
      const sm = /\.(\d+)$/.exec(name);
      if (sm) row.slot = Number(sm[1]);
      return row;
    });
  }
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

export function parseContainersMap(command: string, value: unknown, path = "Containers"): NetworkEndpoint[] {
  if (value === null || value === undefined) return [];
  const map = Fields.of(command, path, value);
  return Object.keys(map.obj).map((key) => {
    const v = map.reqObj(key);
    const ep: NetworkEndpoint = { key, name: v.str("Name") ?? "" };
    const e = v.str("EndpointID");
    if (e) ep.endpointId = e;
    const mac = v.str("MacAddress");
    if (mac) ep.mac = mac;
    const ip = v.address("IPv4Address", { prefix: "required", allowEmpty: true });
    if (ip) ep.ipv4 = ip;
    return ep;
  });
}

/** `docker network inspect <ids>`: a JSON array (or one object per line, with --format). */
export function parseNetworkInspect(text: string, command = "docker network inspect"): DockerNetwork[] {
  return jsonList(command, text, { allowEmpty: true }).map((raw, i) => {
    const n0 = Fields.of(command, `entry ${i}`, raw);
    const name = n0.reqStr("Name");
    const n = new Fields(command, `network ${name}`, n0.obj);
    const ipam = n.obj_("IPAM");
    const net: DockerNetwork = {
      id: dockerId(command, n, "Id"),
      name,
      driver: n.reqStr("Driver"),
      scope: n.reqStr("Scope"),
      ipam: (ipam ? ipam.objects("Config") : []).map((c) => {
        const e: { subnet?: string; gateway?: string } = {};
        const sn = c.address("Subnet", { prefix: "required", allowEmpty: true });
        if (sn) e.subnet = sn;
        const g = c.address("Gateway", { prefix: "none", allowEmpty: true });
        if (g) e.gateway = g;
        return e;
      }),
      options: n.stringMap("Options"),
      containers: parseContainersMap(command, n.raw("Containers"), `${n.path}.Containers`),
      peers: n.objects("Peers").map((p) => ({ name: p.str("Name") ?? "", ip: p.str("IP") ?? "" })),
    };
    const internal = n.bool("Internal");
    if (internal !== undefined) net.internal = internal;
    const attachable = n.bool("Attachable");
    if (attachable !== undefined) net.attachable = attachable;
    const ingress = n.bool("Ingress");
    if (ingress !== undefined) net.ingress = ingress;
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

/**
 * `docker inspect <containers>`: a JSON array, or (what the gather asks for:
 * only the fields the checks use, never the environment) one object per line
 * in the same shape.
 */
export function parseContainerInspect(text: string, command = "docker inspect"): ContainerInfo[] {
  return jsonList(command, text, { allowEmpty: true }).map((raw, i) => {
    const c0 = Fields.of(command, `entry ${i}`, raw);
    const id = c0.reqStr("Id");
    if (!/^[0-9a-f]{12,64}$/.test(id)) throw badValue(command, `entry ${i}.Id`, "a container ID", id);
    const c = new Fields(command, `container ${id.slice(0, 12)}`, c0.obj);
    const config = c.obj_("Config");
    const labels: Record<string, string> = {};
    // Empty values (or null, from a template run on the raw JSON) are how the gather says "no such label".
    const rawLabels = config?.obj_("Labels");
    for (const [k, v] of Object.entries(rawLabels?.obj ?? {})) {
      if (v === null || v === "") continue;
      if (typeof v !== "string") throw badValue(command, `${rawLabels!.path}[${JSON.stringify(k)}]`, "a string", v);
      labels[k] = v;
    }
    const state = c.obj_("State");
    const ns = c.obj_("NetworkSettings");
    if (!ns) throw badValue(command, `${c.path}.NetworkSettings`, "an object", c.raw("NetworkSettings"));
    const sandboxKey = ns.str("SandboxKey") ?? "";
    if (sandboxKey !== "" && !/^\/[^\0]*$/.test(sandboxKey)) throw badValue(command, `${ns.path}.SandboxKey`, "an absolute path", sandboxKey);
    const netMap = ns.obj_("Networks");
    const networks = netMap
      ? Object.keys(netMap.obj).map((name) => {
          const o = netMap.reqObj(name);
          const e: ContainerInfo["networks"][number] = { name, networkId: o.str("NetworkID") ?? "", ipAddress: o.address("IPAddress", { prefix: "none", allowEmpty: true }) ?? "" };
          const p = o.int("IPPrefixLen", 0, 128);
          if (p !== undefined) e.prefixLen = p;
          const mac = o.str("MacAddress");
          if (mac) e.mac = mac;
          return e;
        })
      : [];
    const info: ContainerInfo = {
      id,
      name: (c.str("Name") ?? "").replace(/^\//, ""),
      image: config?.str("Image") ?? "",
      running: state?.bool("Running") === true,
      sandboxKey,
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

/** `docker service inspect`: a JSON array, or one object per line (the gather's --format). */
export function parseServiceInspect(text: string, command = "docker service inspect"): ServiceInfo[] {
  return jsonList(command, text, { allowEmpty: true }).map((raw, i) => {
    const s = Fields.of(command, `entry ${i}`, raw);
    const spec = s.reqObj("Spec");
    const mode = spec.obj_("Mode");
    const tt = spec.obj_("TaskTemplate");
    const cs = tt?.obj_("ContainerSpec");
    const nets = [...(tt ? tt.objects("Networks") : []), ...spec.objects("Networks")];
    const endpoint = s.obj_("Endpoint");
    const replicated = mode?.obj_("Replicated");
    const info: ServiceInfo = {
      id: dockerId(command, s, "ID"),
      name: spec.reqStr("Name"),
      mode: replicated ? "replicated" : mode?.obj_("Global") ? "global" : "other",
      image: cs?.str("Image") ?? "",
      command: cs ? [...cs.strings("Command"), ...cs.strings("Args")] : [],
      networkTargets: nets.map((n) => n.str("Target") ?? "").filter((t) => t !== ""),
      virtualIps: (endpoint ? endpoint.objects("VirtualIPs") : []).map((v) => ({ networkId: v.str("NetworkID") ?? "", addr: v.address("Addr", { allowEmpty: true }) ?? "" })),
    };
    const r = replicated?.int("Replicas", 0, 0xffffffff);
    if (r !== undefined) info.replicas = r;
    return info;
  });
}

export interface DockerInfo {
  name: string;
  serverVersion: string;
  operatingSystem?: string;
  kernelVersion?: string;
  /** What the CLI could not get from the daemon (`ServerErrors`), e.g. "Cannot connect to the Docker daemon ...". */
  serverErrors: string[];
  swarm: {
    localNodeState: string;
    nodeId: string;
    nodeAddr: string;
    controlAvailable: boolean;
    remoteManagers: { nodeId: string; addr: string }[];
    nodes?: number;
    managers?: number;
    /** The swarm's default address pools (`swarm init --default-addr-pool`), where the engine says. */
    defaultAddrPool?: string[];
    subnetSize?: number;
  };
}

/**
 * `docker info --format '{{json .}}'`, or the gather's narrower template with
 * the same field names. Output that carries ServerErrors (the daemon did not
 * answer) parses, with the errors, and no Swarm section is required then.
 */
export function parseDockerInfoJson(text: string, command = "docker info --format '{{json .}}'"): DockerInfo {
  const d = Fields.of(command, "", parseJsonOutput(command, text));
  const serverErrors = d.strings("ServerErrors");
  const sw = serverErrors.length ? (d.obj_("Swarm") ?? new Fields(command, "Swarm", {})) : d.obj_("Swarm");
  if (!sw) throw new ParseError(command, "no Swarm section");
  const info: DockerInfo = {
    name: d.str("Name") ?? "",
    serverVersion: d.str("ServerVersion") ?? "",
    serverErrors,
    swarm: {
      localNodeState: sw.str("LocalNodeState") ?? "",
      nodeId: sw.str("NodeID") ?? "",
      nodeAddr: sw.str("NodeAddr") ?? "",
      controlAvailable: sw.bool("ControlAvailable") === true,
      remoteManagers: sw.objects("RemoteManagers").map((r) => ({ nodeId: r.str("NodeID") ?? "", addr: r.str("Addr") ?? "" })),
    },
  };
  const os = d.str("OperatingSystem");
  if (os) info.operatingSystem = os;
  const kv = d.str("KernelVersion");
  if (kv) info.kernelVersion = kv;
  const nodes = sw.int("Nodes", 0, 0xffffffff);
  if (nodes !== undefined) info.swarm.nodes = nodes;
  const managers = sw.int("Managers", 0, 0xffffffff);
  if (managers !== undefined) info.swarm.managers = managers;
  const cluster = sw.obj_("Cluster");
  if (cluster?.has("DefaultAddrPool")) info.swarm.defaultAddrPool = cluster.strings("DefaultAddrPool");
  const size = cluster?.int("SubnetSize", 0, 128);
  if (size !== undefined) info.swarm.subnetSize = size;
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
