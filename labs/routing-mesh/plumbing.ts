/**
 * What the routing-mesh lab adds to the drawing of its model: the published ports as notes on
 * the nodes (web's and web2's ingress ports on every node, webhost's host-mode port on the node
 * running its task), and a `published` link on every node from its NIC into ingress_sbox's
 * interface on the ingress network, where requests to the ingress ports go. The ports and modes
 * are the documented ones (the gather does not read the services' endpoints); a service is
 * drawn only when the model shows a running task of it. Pure; never throws.
 */
import type { DiagramLink, DiagramPlumbing } from "../../scripts/lib/diagram/diagram";
import { inCidr } from "../../scripts/lib/ipv4";
import type { Inventory } from "../../scripts/lib/verify/inventory";
import type { HostModel, LabModel } from "../../scripts/lib/verify/model";
import { tasksOf } from "./checks";
import { DOCUMENTED } from "./facts";
import { DOCUMENTED_SERVICES, hostNic, type LabServices, type PublishedService } from "./probe";

const PROTO = "tcp";

const published = (s: PublishedService): string => `${s.published}/${PROTO} → ${s.name}:${s.target}`;

/** ingress_sbox's interface on the ingress network (its address in the ingress subnet), as gathered on h. */
function ingressSboxIface(h: HostModel, subnets: string[]): string | undefined {
  const ns = h.namespaces.find((n) => n.kind === "ingress_sbox" && n.id === DOCUMENTED.ingressSandbox);
  return ns?.interfaces.find((i) => i.addresses.some((a) => a.family === "inet" && subnets.some((c) => inCidr(c, a.local))))?.name;
}

export function routingMeshPlumbing(model: LabModel, inventory: Inventory, svc: LabServices = DOCUMENTED_SERVICES): DiagramPlumbing {
  const notes: Record<string, string[]> = {};
  const links: DiagramLink[] = [];
  const note = (host: string, line: string): void => {
    (notes[host] ??= []).push(line);
  };
  const nodes = inventory.hosts.filter((ih) => model.hosts.some((h) => h.name === ih.name && h.reachable && !h.dockerDown));
  // Ingress mode: published on every node of the swarm, wherever the replicas run.
  const ingress = [svc.web, svc.web2].filter((s) => s.mode === "ingress").map((s) => ({ s, hosts: [...new Set(tasksOf(model, inventory, s.name).tasks.map((t) => t.host))] })).filter((x) => x.hosts.length > 0);
  for (const ih of nodes) for (const { s, hosts } of ingress) note(ih.name, `published ${published(s)} (ingress; replica${hosts.length > 1 ? "s" : ""} on ${hosts.join(", ")})`);
  // Host mode: only on the nodes running a task.
  if (svc.webhost.mode === "host") {
    for (const host of new Set(tasksOf(model, inventory, svc.webhost.name).tasks.map((t) => t.host))) note(host, `published ${published(svc.webhost)} (host mode: this node only)`);
  }
  if (ingress.length) {
    for (const ih of nodes) {
      const h = model.hosts.find((x) => x.name === ih.name)!;
      const subnets = (h.networks ?? model.hosts.find((x) => x.name === model.manager)?.networks ?? []).filter((n) => n.name === DOCUMENTED.ingressNetwork).flatMap((n) => n.ipam.map((i) => i.subnet).filter((c): c is string => !!c));
      const nic = hostNic(model, ih);
      const sbox = ingressSboxIface(h, subnets);
      if (!nic || !sbox) continue;
      const ports = ingress.map(({ s }) => `${s.published}/${PROTO}`);
      links.push({
        a: { host: ih.name, namespace: "host", iface: nic.name },
        b: { host: ih.name, namespace: DOCUMENTED.ingressSandbox, iface: sbox },
        kind: "published",
        label: `${ports.join(", ")} → ${DOCUMENTED.ingressSandbox}`,
        tooltip: `${ingress.map(({ s }) => published(s)).join("; ")}: requests to ${ih.address} (${nic.name}) are sent into ${DOCUMENTED.ingressSandbox} (${sbox} on ${DOCUMENTED.ingressNetwork}), which marks them and balances them over IPVS to the replicas, across hosts on the ingress overlay (VNI ${DOCUMENTED.ingressVni})`,
      });
    }
  }
  return { links, notes };
}
