/**
 * What the macvlan lab adds to the drawing of its model: on each host with the 802.1Q
 * sub-interface <nic>.100, a `vlan` link from it to its NIC labelled with the documented tag
 * (the gather does not read the VLAN id), and a `macvlan` link from mactainer1's macvlan
 * interface to that <nic>.100, with its mode and its own MAC. Only what the model shows is
 * drawn (a sub-interface of kind vlan; a macvlan whose lower device is <nic>.100). Pure; never throws.
 */
import type { DiagramLink, DiagramPlumbing } from "../../scripts/lib/diagram/diagram";
import type { LabModel } from "../../scripts/lib/verify/model";
import { DOCUMENTED } from "./facts";
import { findMactainer, macvlanIface, subInterface, underlayNic } from "./lookup";

export function macvlanPlumbing(model: LabModel): DiagramPlumbing {
  const links: DiagramLink[] = [];
  const V = DOCUMENTED.vlan;
  for (const h of model.hosts.filter((x) => x.reachable)) {
    const nic = underlayNic(h);
    const sub = nic && subInterface(h, nic);
    if (!nic || !sub || sub.kind !== "vlan") continue;
    links.push({
      a: { host: h.name, namespace: "host", iface: sub.name },
      b: { host: h.name, namespace: "host", iface: nic.name },
      kind: "vlan",
      label: `${V.protocol} tag ${V.id}`,
      tooltip: `${sub.name} is the ${V.protocol} sub-interface of ${nic.name} for VLAN ${V.id}: its frames leave ${nic.name} tagged ${V.id} (ethertype ${V.ethertype})`,
    });
  }
  const m = findMactainer(model);
  const dev = m && macvlanIface(m);
  const nic = m && underlayNic(m.host);
  const sub = m && nic && subInterface(m.host, nic);
  // The macvlan's lower device is the host's <nic>.100 (ip -d link: its link ifindex), unless the gather does not say.
  if (m?.sandbox && dev && sub && links.some((l) => l.a.host === m.host.name && l.a.iface === sub.name) && (dev.peerIfindex === undefined || dev.peerIfindex === sub.ifindex)) {
    const N = DOCUMENTED.network;
    const mode = m.host.networks?.find((n) => n.name === N.name)?.options[N.modeOption] || N.mode;
    links.push({
      a: { host: m.host.name, namespace: m.sandbox.id, iface: dev.name },
      b: { host: m.host.name, namespace: "host", iface: sub.name },
      kind: "macvlan",
      label: `macvlan (${mode} mode)${dev.mac ? ` · ${dev.mac}` : ""}`,
      tooltip: `${DOCUMENTED.container.name}'s ${dev.name} is a macvlan on ${sub.name} (network ${N.name}, ${mode} mode), with a MAC of its own${dev.mac ? ` (${dev.mac})` : ""}`,
    });
  }
  return { links, notes: {} };
}
