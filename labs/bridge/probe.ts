/**
 * The bridge lab's probe: one script on the manager (where the lab's containers run) that asks
 * what the gather does not know: the published port (`docker port web` and a GET to the host's
 * lab address on port 5000), name resolution and a ping from c2 to c1, a lookup of c1 from c3 on
 * the default bridge, and localnet's bridge stp_state from sysfs (for gathers without ip -d
 * details). Every command is bounded; the whole script stays within about 35 s.
 */
import type { Inventory } from "../../scripts/lib/verify/inventory";
import type { LabModel } from "../../scripts/lib/verify/model";
import { shellQuote as shq } from "../../scripts/lib/shell";
import type { Probe } from "../lab";
import { managerHost, scriptProbe } from "../script-probe";
import { type BridgeNames, DOCUMENTED, DOCUMENTED_NAMES, PROBE_FACT_IDS } from "./facts";

/** The probe's section keys (the checks read them). */
export const SECTIONS = {
  port: "docker-port-web",
  http: "http-published",
  ping: "c2-ping-c1",
  lookup: "c2-nslookup-c1",
  otherLookup: "c3-nslookup-c1",
  stp: "localnet-stp-state",
} as const;

/** The Linux bridge of a bridge network: its bridge.name option, else br-<first 12 of the id>. */
export function bridgeNameOf(net: { id: string; options: Record<string, string> }): string {
  return net.options[DOCUMENTED.defaultNetwork.bridgeNameOption] || `${DOCUMENTED.bridgePrefix}${net.id.slice(0, DOCUMENTED.bridgeIdLength)}`;
}

export function probeBody(inventory: Inventory, model: LabModel, names: BridgeNames = DOCUMENTED_NAMES): string {
  const host = managerHost(inventory);
  const hm = model.hosts.find((h) => h.name === host.name);
  const wanted = [names.c1, names.c2, names.other, names.web];
  if (hm?.containers && !hm.containers.some((c) => wanted.includes(c.name))) {
    throw new Error(`${host.name} runs none of ${wanted.join(", ")}: the bridge lab is not built there (its workload runs on the manager)`);
  }
  const net = hm?.networks?.find((n) => n.name === names.network && n.driver === DOCUMENTED.network.driver);
  const br = net ? bridgeNameOf(net) : undefined;
  const lines = [
    `swl_section ${SECTIONS.port} timeout 6 docker port ${shq(names.web)}`,
    // The host has no wget or curl: bash's /dev/tcp sends the request. The answer's CRs go (the
    // framing counts bytes of lines, and an HTTP header ends in CR LF).
    `swl_section ${SECTIONS.http} timeout 5 bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf "GET / HTTP/1.0\\r\\nHost: %s:%s\\r\\nConnection: close\\r\\n\\r\\n" "$1" "$2" >&3 && tr -d "\\r" <&3' http_get ${shq(host.address)} ${names.hostPort}`,
    `swl_section ${SECTIONS.ping} timeout 7 docker exec ${shq(names.c2)} ping -c 1 -W 2 ${shq(names.c1)}`,
    `swl_section ${SECTIONS.lookup} timeout 7 docker exec ${shq(names.c2)} nslookup ${shq(names.c1)}`,
    `swl_section ${SECTIONS.otherLookup} timeout 8 docker exec ${shq(names.other)} nslookup ${shq(names.c1)}`,
  ];
  if (br && /^[A-Za-z0-9_.-]{1,15}$/.test(br)) lines.push(`swl_section ${SECTIONS.stp} cat ${shq(`/sys/class/net/${br}/bridge/stp_state`)}`);
  return `${lines.join("\n")}\n`;
}

export function bridgeProbe(names: BridgeNames = DOCUMENTED_NAMES): Probe {
  return scriptProbe({
    factIds: PROBE_FACT_IDS,
    what: "the bridge probe",
    host: managerHost,
    body: (inventory, model) => probeBody(inventory, model, names),
    timeoutMs: 40_000,
  });
}
