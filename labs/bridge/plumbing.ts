/**
 * What the bridge lab adds to the drawing of its model: web's published port, as a note on the
 * host it runs on (the manager) and a `published` link from the host's NIC to web's interface
 * on localnet. `docker inspect` in the gather has no Ports: the mapping is the documented one
 * (DOCUMENTED.web), drawn only when web runs on localnet in the model. Pure; never throws.
 */
import type { DiagramLink, DiagramPlumbing } from "../../scripts/lib/diagram/diagram";
import type { Inventory } from "../../scripts/lib/verify/inventory";
import type { LabModel } from "../../scripts/lib/verify/model";
import { hostNicOf, labHost, sandboxOf } from "./checks";
import { type BridgeNames, DOCUMENTED, DOCUMENTED_NAMES } from "./facts";

export function bridgePlumbing(model: LabModel, inventory: Inventory, names: BridgeNames = DOCUMENTED_NAMES): DiagramPlumbing {
  const none: DiagramPlumbing = { links: [], notes: {} };
  if (inventory.hosts.length === 0) return none;
  const view = labHost(model, inventory);
  if ("reason" in view) return none;
  const h = view.host;
  const web = h.containers?.find((c) => c.name.replace(/^\//, "") === names.web && c.running);
  const endpoint = web?.networks.find((n) => n.name === names.network);
  if (!web || !endpoint) return none;
  const w = DOCUMENTED.web;
  const port = `${names.hostPort}/${w.proto}`;
  const notes = { [h.name]: [`published ${port} → ${names.web}:${w.containerPort} (docker-proxy/iptables DNAT)`] };
  const nic = hostNicOf(h);
  const ns = sandboxOf(h, web);
  const eth = ns?.interfaces.find((i) => endpoint.ipAddress !== "" && i.addresses.some((a) => a.family === "inet" && a.local === endpoint.ipAddress));
  if (!nic || !ns || !eth) return { links: [], notes };
  const link: DiagramLink = {
    a: { host: h.name, namespace: "host", iface: nic.name },
    b: { host: h.name, namespace: ns.id, iface: eth.name },
    kind: "published",
    label: `${port} → ${w.containerPort}`,
    tooltip: `${w.hostIp}:${names.hostPort} on ${h.name} (${nic.name} ${h.address}) is forwarded to ${names.web}'s ${eth.name} ${endpoint.ipAddress}:${w.containerPort} on ${names.network} (docker-proxy and iptables DNAT)`,
  };
  return { links: [link], notes };
}
