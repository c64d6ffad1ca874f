/**
 * What the macvlan lab's probe and checks look up in the gathered model: a host's underlay NIC
 * (the interface holding its lab address), its <nic>.100, and mactainer1 with its sandbox.
 */
import type { ContainerInfo } from "../../scripts/lib/verify/parse/docker";
import { type HostModel, type Iface, ipv4s, type LabModel, type Namespace } from "../../scripts/lib/verify/model";
import { DOCUMENTED, subInterfaceOf } from "./facts";

export function hostNamespace(h: HostModel): Namespace | undefined {
  return h.namespaces.find((n) => n.kind === "host");
}

/** The host's underlay NIC: the host namespace's interface that holds the host's lab address. */
export function underlayNic(h: HostModel): Iface | undefined {
  return hostNamespace(h)?.interfaces.find((i) => i.addresses.some((a) => a.family === "inet" && a.local === h.address));
}

export function subInterface(h: HostModel, nic: Iface): Iface | undefined {
  return hostNamespace(h)?.interfaces.find((i) => i.name === subInterfaceOf(nic.name));
}

export interface Mactainer {
  host: HostModel;
  container: ContainerInfo;
  /** Its endpoint on macvlan100, as docker inspect reports it. */
  endpoint?: ContainerInfo["networks"][number];
  /** Its network namespace (the sandbox of the gathered model), when gathered. */
  sandbox?: Namespace;
}

/** mactainer1 on the first reachable host running it (the manager first). */
export function findMactainer(model: LabModel): Mactainer | undefined {
  const hosts = [...model.hosts].sort((a, b) => (a.name === model.manager ? -1 : b.name === model.manager ? 1 : 0));
  for (const host of hosts) {
    const container = host.containers?.find((c) => c.name.replace(/^\//, "") === DOCUMENTED.container.name);
    if (!container) continue;
    const m: Mactainer = { host, container };
    const endpoint = container.networks.find((n) => n.name === DOCUMENTED.network.name);
    if (endpoint) m.endpoint = endpoint;
    const sandbox = host.namespaces.find((n) => n.kind === "sandbox" && n.task?.containerId === container.id);
    if (sandbox) m.sandbox = sandbox;
    return m;
  }
  return undefined;
}

/** mactainer1's macvlan interface: the one holding its macvlan100 address, else the first macvlan of its namespace. */
export function macvlanIface(m: Mactainer): Iface | undefined {
  const mv = m.sandbox?.interfaces.filter((i) => i.kind === "macvlan") ?? [];
  const ip = m.endpoint?.ipAddress;
  return (ip ? mv.find((i) => ipv4s(i).some((a) => a.local === ip)) : undefined) ?? mv[0];
}
