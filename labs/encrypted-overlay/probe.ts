/**
 * The encrypted-overlay probe (ENC-2..ENC-5), one script as root on the manager (docker0):
 * for each overlay, a capture of ESP and UDP 4789 on the underlay NIC while the local task
 * pings the other host's task (the host's ping inside the task's namespace), then the host's
 * IPsec SAs (`ip xfrm state`) with every key replaced by <redacted> before it leaves the guest.
 * Each capture is bounded (timeout, -c) and stopped once its ping is done; the whole probe
 * takes about 10 s on the emulated guests. Traffic stays between the lab's two hosts.
 */
import { scriptProbe } from "../script-probe";
import { shellQuote as shq } from "../../scripts/lib/shell";
import type { Inventory } from "../../scripts/lib/verify/inventory";
import type { LabModel } from "../../scripts/lib/verify/model";
import { DOCUMENTED } from "./facts";
import { type OverlayPlan, PlanError, planParts } from "./plan";

export const PROBE_FACT_IDS = ["ENC-2", "ENC-3", "ENC-4", "ENC-5"] as const;

/** The probe's section keys. */
export const SECTIONS = {
  encPing: "enc-ping",
  encCapture: "enc-capture",
  plainPing: "plain-ping",
  plainCapture: "plain-capture",
  xfrm: "xfrm-state",
} as const;

/** The capture filter: ESP, and VXLAN's UDP port. */
export const CAPTURE_FILTER = `esp or udp port ${DOCUMENTED.vxlanPort}`;

/**
 * Shell functions: eo_redact (stdin -> stdout, every IPsec key of `ip xfrm state` replaced by
 * <redacted>: the key after an aead/enc/auth/auth-trunc/comp algorithm, and as a safety net
 * any 0x number of 16 hex digits or more; SPIs have 8 and stay), eo_xfrm, and the capture.
 */
export const REDACT_BASH = `eo_redact() {
  sed -E -e 's/^([[:space:]]*(aead|enc|auth|auth-trunc|comp)[[:space:]]+[^[:space:]]+[[:space:]]+)0x[0-9a-fA-F]+/\\1<redacted>/' \\
    -e 's/0x[0-9a-fA-F]{16,}/<redacted>/g'
}
eo_xfrm() { ip xfrm state | eo_redact; }
`;

function captureBash(nic: string): string {
  return `eo_cap_start() {
  eo_out=$(mktemp -p "$swl_tmp") && eo_err=$(mktemp -p "$swl_tmp") || return 1
  timeout 15 tcpdump -ni ${shq(nic)} -l -c 64 ${shq(CAPTURE_FILTER)} >"$eo_out" 2>"$eo_err" &
  eo_pid=$!
  # tcpdump takes a few seconds to start on the emulated guests: ping once it listens.
  for _ in $(seq 1 80); do
    grep -q '^listening on' "$eo_err" && break
    kill -0 "$eo_pid" 2>/dev/null || break
    sleep 0.1
  done
}
eo_cap_collect() {
  local rc
  sleep 0.5
  kill -TERM "$eo_pid" 2>/dev/null
  wait "$eo_pid"
  rc=$?
  cat "$eo_out"
  cat "$eo_err" >&2
  rm -f "$eo_out" "$eo_err"
  return "$rc"
}
`;
}

function pingAndCapture(o: OverlayPlan, pingKey: string, captureKey: string): string {
  return `# ${o.network} (VNI ${o.vni}): ${o.localAddress} -> ${o.peerAddress}
eo_cap_start
swl_section ${pingKey} timeout 10 nsenter --net=${shq(o.localSandbox)} ping -n -c ${DOCUMENTED.pings} -i 0.2 -W 1 ${shq(o.peerAddress)}
swl_section ${captureKey} eo_cap_collect
`;
}

/**
 * The probe's script body. An overlay whose targets the model lacks is left out (its sections
 * are missing and the checks say why); throws when neither can be probed.
 */
export function probeBody(inventory: Inventory, model: LabModel): string {
  const parts = planParts(inventory, model);
  if (parts.base instanceof PlanError) throw parts.base;
  if (parts.encrypted instanceof PlanError && parts.plain instanceof PlanError) throw new Error(`${parts.encrypted.message}; ${parts.plain.message}`);
  return [
    REDACT_BASH,
    captureBash(parts.base.nic),
    parts.encrypted instanceof PlanError ? "" : pingAndCapture(parts.encrypted, SECTIONS.encPing, SECTIONS.encCapture),
    parts.plain instanceof PlanError ? "" : pingAndCapture(parts.plain, SECTIONS.plainPing, SECTIONS.plainCapture),
    `swl_section ${SECTIONS.xfrm} eo_xfrm\n`,
  ].join("");
}

export const probe = scriptProbe({
  factIds: PROBE_FACT_IDS,
  what: "the encrypted-overlay probe",
  body: probeBody,
  timeoutMs: 35_000,
});
