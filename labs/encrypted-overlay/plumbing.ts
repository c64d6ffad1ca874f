/**
 * What the encrypted-overlay lab adds to the drawing of its model: an `esp` link between the
 * underlay NICs of the manager and the other host, labelled with the encrypted overlay, its
 * VXLAN id and the documented AEAD, drawn only when both hosts' `docker network inspect` show
 * uber-net with the encrypted option. Pure; never throws.
 */
import type { DiagramPlumbing } from "../../scripts/lib/diagram/diagram";
import type { Inventory } from "../../scripts/lib/verify/inventory";
import type { HostModel, LabModel } from "../../scripts/lib/verify/model";
import { managerHost } from "../script-probe";
import { DOCUMENTED } from "./facts";
import { attempt, isEncrypted, PlanError, underlayNicOf, vniOf } from "./plan";

export function encryptedOverlayPlumbing(model: LabModel, inventory: Inventory): DiagramPlumbing {
  const none: DiagramPlumbing = { links: [], notes: {} };
  if (inventory.hosts.length < 2) return none;
  const host = managerHost(inventory);
  const peer = inventory.hosts.find((h) => h.name !== host.name);
  const E = DOCUMENTED.encrypted;
  const ends = [host, peer].map((ih) => {
    const hm = ih && model.hosts.find((h) => h.name === ih.name);
    if (!ih || !hm || !hm.reachable || hm.dockerDown) return undefined;
    const net = hm.networks?.find((n) => n.name === E.name);
    const nic = underlayNicOf(hm, ih.address);
    return net && isEncrypted(net) && nic ? { hm, nic: nic.name, address: ih.address } : undefined;
  });
  const [a, b] = ends;
  if (!a || !b) return none;
  const vni = [a.hm, b.hm].map((hm: HostModel) => attempt(() => vniOf(hm, E.name))).find((v): v is number => !(v instanceof PlanError));
  const overlay = vni === undefined ? E.name : `${E.name} (VNI ${vni})`;
  return {
    links: [
      {
        a: { host: a.hm.name, namespace: "host", iface: a.nic },
        b: { host: b.hm.name, namespace: "host", iface: b.nic },
        kind: "esp",
        label: `IPsec ESP · ${overlay} · ${DOCUMENTED.esp.aead}`,
        tooltip: `${E.name} is created with -o ${E.option}: its VXLAN (UDP ${DOCUMENTED.vxlanPort}) between ${a.address} and ${b.address} travels inside IPsec ESP (IP protocol ${DOCUMENTED.esp.protocol}), AEAD ${DOCUMENTED.esp.aead}`,
      },
    ],
    notes: {},
  };
}
