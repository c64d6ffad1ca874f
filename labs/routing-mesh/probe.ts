/**
 * The routing-mesh probe: one script, run as root on the manager (the node requests enter, the
 * one without a `web` replica), printing framed sections for checks.ts:
 *
 *   services          docker service inspect: the published ports and modes of web, webhost, web2
 *   get/<addr>/5000   HTTP to `web` on every node's address (RM-1); the manager's own request runs
 *                     while tcpdump watches the manager's underlay NIC:
 *   capture           the VXLAN packets (UDP 4789) the manager sent meanwhile (RM-4: VNI 4096,
 *                     inner packet to web's replica on the other node)
 *   get/<addr>/5001   HTTP to `webhost` (host mode) on every node's address (RM-2)
 *   get/<addr>/5002/N ten requests to `web2` through the manager's address (RM-3)
 *   mangle, ipvs      the ingress_sbox's `iptables -t mangle -S` and /proc/net/ip_vs (RM-4)
 *
 * HTTP goes over bash's /dev/tcp (no HTTP client needed on the hosts), 3 s per request; the
 * capture is bounded by `timeout` and a packet count. Requests stay on the lab network.
 */
import type { Inventory, InventoryHost } from "../../scripts/lib/verify/inventory";
import type { Iface, LabModel } from "../../scripts/lib/verify/model";
import { shellQuote as shq } from "../../scripts/lib/shell";
import { managerHost, scriptProbe } from "../script-probe";
import { swarmOverlay } from "../swarm-overlay";
import { DOCUMENTED, RM_FACT_IDS } from "./facts";

export const REQUEST_TIMEOUT_SEC = 3;
export const CAPTURE_TIMEOUT_SEC = 8;
/** Outgoing VXLAN packets one request makes at least (SYN, ACK, request, ACK...). */
export const CAPTURE_PACKETS = 4;

/** The section of a request to `address:port` (the n-th of a series). */
export function requestKey(address: string, port: number, n?: number): string {
  return `get/${address}/${port}${n === undefined ? "" : `/${n}`}`;
}

/** A published service as the probe and the checks know it. */
export interface PublishedService {
  name: string;
  published: number;
  target: number;
  mode: string;
  replicas: number;
}

/** The three services the probe asks (the documented ones; trials on a shared lab use others). */
export interface LabServices {
  web: PublishedService;
  webhost: PublishedService;
  web2: PublishedService;
}

export const DOCUMENTED_SERVICES: LabServices = { web: DOCUMENTED.web, webhost: DOCUMENTED.webhost, web2: DOCUMENTED.web2 };

export const SECTION = { services: "services", capture: "capture", mangle: "mangle", ipvs: "ipvs" } as const;

/** The host the probe runs on: the manager (the node without a `web` replica). */
export function probeHost(inventory: Inventory): InventoryHost {
  return managerHost(inventory);
}

/** A host's underlay NIC: the host-namespace interface holding its inventory address (undefined when not gathered). */
export function hostNic(model: LabModel, host: InventoryHost): Iface | undefined {
  const hm = model.hosts.find((h) => h.name === host.name);
  return hm?.namespaces.find((n) => n.kind === "host")?.interfaces.find((i) => i.addresses.some((a) => a.family === "inet" && a.local === host.address));
}

/** The probe host's underlay NIC: the host-namespace interface holding its inventory address. */
export function underlayNic(inventory: Inventory, model: LabModel): string {
  const p = probeHost(inventory);
  const nic = hostNic(model, p);
  if (!nic) throw new Error(`the gathered model of ${p.name} has no interface holding ${p.address} (ip addr of the host was not gathered?): the probe cannot capture on the underlay`);
  return nic.name;
}

export function probeBody(inventory: Inventory, model: LabModel, svc: LabServices = DOCUMENTED_SERVICES): string {
  const p = probeHost(inventory);
  const nic = underlayNic(inventory, model);
  const d = { ...DOCUMENTED, ...svc };
  const sbox = `${swarmOverlay.netnsDir}/${d.ingressSandbox}`;
  const others = inventory.hosts.filter((h) => h.name !== p.name);
  const get = (h: InventoryHost, port: number, n?: number): string => `swl_section ${requestKey(h.address, port, n)} rm_get ${shq(h.address)} ${port}`;
  const filter = `udp dst port ${d.vxlanPort} and src host ${p.address}`;
  return `rm_get() {
  # The answer's CRs go (the framing reads lines); pipefail keeps the request's exit code.
  # shellcheck disable=SC2016
  timeout ${REQUEST_TIMEOUT_SEC} bash -c 'exec 3<>"/dev/tcp/$1/$2" && printf "GET / HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n" "$1" >&3 && cat <&3' rm_get "$1" "$2" | tr -d '\\r'
}
rm_cap=""
rm_capture() {
  [ -n "$rm_cap" ] || { echo "tcpdump: command not found" >&2; return 127; }
  wait "$rm_cap"
  local rc=$?
  cat "$swl_tmp/cap.out"
  cat "$swl_tmp/cap.err" >&2
  return "$rc"
}
swl_section ${SECTION.services} docker service inspect --format '{{.Spec.Name}} {{json .Endpoint.Ports}}' ${[d.web, d.webhost, d.web2].map((s) => shq(s.name)).join(" ")}
if command -v tcpdump >/dev/null 2>&1; then
  timeout ${CAPTURE_TIMEOUT_SEC} tcpdump -l -nn -i ${shq(nic)} -c ${CAPTURE_PACKETS} ${shq(filter)} >"$swl_tmp/cap.out" 2>"$swl_tmp/cap.err" &
  rm_cap=$!
  for _ in $(seq 1 30); do grep -q 'listening on' "$swl_tmp/cap.err" 2>/dev/null && break; sleep 0.1; done
fi
${get(p, d.web.published)}
swl_section ${SECTION.capture} rm_capture
${others.map((h) => get(h, d.web.published)).join("\n")}
${inventory.hosts.map((h) => get(h, d.webhost.published)).join("\n")}
rm_late=0
for n in $(seq 1 ${d.balancedRequests}); do
  swl_section "get/${p.address}/${d.web2.published}/$n" rm_get ${shq(p.address)} ${d.web2.published}
  # Two requests in a row without an answer: the others would not get one either (keep the probe short).
  if [ $? -eq 124 ]; then rm_late=$((rm_late + 1)); else rm_late=0; fi
  [ "$rm_late" -lt 2 ] || break
done
swl_section ${SECTION.mangle} nsenter --net=${shq(sbox)} iptables -t mangle -S
swl_section ${SECTION.ipvs} nsenter --net=${shq(sbox)} cat /proc/net/ip_vs
`;
}

export const routingMeshProbe = scriptProbe({
  factIds: RM_FACT_IDS,
  what: "the routing-mesh probe",
  host: probeHost,
  body: (inventory, model) => probeBody(inventory, model),
  // ~20 s of requests and captures on an emulated CPU, 34-48 s measured on a loaded machine.
  timeoutMs: 75_000,
});
