/**
 * The verdicts on ENC-1..ENC-5 (pure). ENC-1 reads the gathered networks; ENC-2..ENC-5 the
 * probe's sections (pings, underlay captures, the redacted `ip xfrm state`), with the targets
 * rebuilt from the model as the probe built them (plan.ts); ENC-5 also the networks.
 */
import type { RawSection } from "../../scripts/lib/framing";
import type { Inventory } from "../../scripts/lib/verify/inventory";
import type { HostModel, LabModel } from "../../scripts/lib/verify/model";
import type { FactResult } from "../../scripts/lib/verify/result";
import { factResult, runFactChecks, Verdict } from "../kit";
import type { LabFact } from "../lab";
import { managerHost, sectionsOf } from "../script-probe";
import { DOCUMENTED, FACTS } from "./facts";
import { type Capture, type CapturedPacket, parsePing, parseTcpdump, parseXfrmState, tcpdumpStatus, UNREDACTED_KEY } from "./parse";
import { type BasePlan, isEncrypted, type OverlayPlan, PlanError, planParts } from "./plan";
import { CAPTURE_FILTER, SECTIONS } from "./probe";

type Sections = ReturnType<typeof sectionsOf>;

interface Ctx {
  model: LabModel;
  inventory: Inventory;
  probe: Sections;
  base: BasePlan | PlanError;
  encrypted: OverlayPlan | PlanError;
  plain: OverlayPlan | PlanError;
}

/** A probe fact whose probe was deliberately not run: skip, with the reason. */
function skipped(ctx: Ctx, f: LabFact): FactResult | undefined {
  return "reason" in ctx.probe && ctx.probe.outcome === "skip" ? factResult(f, "skip", f.documented, "not checked", [], ctx.probe.reason) : undefined;
}

/** The plan's problem as a finding: a part the lab lacks fails, data the gather lacks is unknown. */
function planProblem(v: Verdict, p: PlanError): void {
  if (p.kind === "absent") v.fail(p.message);
  else v.unknown(p.message);
}

function commandOf(key: string, ctx: Ctx): string {
  const base = ctx.base instanceof PlanError ? undefined : ctx.base;
  const o = key === SECTIONS.encPing || key === SECTIONS.encCapture ? ctx.encrypted : ctx.plain;
  const ov = o instanceof PlanError ? undefined : o;
  if (key === SECTIONS.encPing || key === SECTIONS.plainPing) return `nsenter --net=${ov?.localSandbox ?? "<task>"} ping -c ${DOCUMENTED.pings} ${ov?.peerAddress ?? "<peer task>"}`;
  if (key === SECTIONS.encCapture || key === SECTIONS.plainCapture) return `tcpdump -ni ${base?.nic ?? "<nic>"} '${CAPTURE_FILTER}'`;
  return "ip xfrm state";
}

/** A section of the probe that ran with an accepted exit code, or why not (recorded on v). */
function section(ctx: Ctx, v: Verdict, key: string, okCodes: number[] = [0]): RawSection | undefined {
  const p = ctx.probe;
  if ("reason" in p) {
    v.unknown(`the probe did not run: ${p.reason}`);
    return undefined;
  }
  const s = p.framed.sections[key];
  const cmd = `\`${commandOf(key, ctx)}\``;
  if (!s) {
    const damaged = p.framed.discarded[key];
    v.unknown(damaged ? `${p.host}: the output of ${cmd} arrived damaged (${damaged})` : p.cut ? `${p.host}: the probe was cut off before ${cmd} (${p.cut})` : `${p.host}: ${cmd} was not run by the probe`);
    return undefined;
  }
  if (!okCodes.includes(s.rc)) {
    const err = (s.stderr ?? "").trim().split("\n").slice(-2).join(" / ");
    v.unknown(`${p.host}: ${cmd} ${s.rc === 127 ? "is not installed (command not found)" : `failed with exit code ${s.rc}`}${err ? `: ${err}` : ""}`);
    return undefined;
  }
  return s;
}

/** The manager's gathered networks, or why they are missing (recorded on v). */
function networksOf(ctx: Ctx, v: Verdict, h: HostModel | undefined, name: string): HostModel["networks"] {
  if (!h || !h.reachable) {
    v.unknown(`${h?.name ?? name}: not gathered${h?.error ? ` (${h.error})` : ""}`);
    return undefined;
  }
  if (h.dockerDown) {
    v.unknown(`${h.name}: ${h.dockerDown}`);
    return undefined;
  }
  if (!h.networks) {
    v.unknown(h.issues.find((i) => i.key === "docker-network-inspect")?.message ?? `${h.name}: docker network inspect was not gathered`);
    return undefined;
  }
  return h.networks;
}

function managerModel(ctx: Ctx): HostModel | undefined {
  const m = managerHost(ctx.inventory);
  return ctx.model.hosts.find((h) => h.name === m.name);
}

function optionList(o: Record<string, string>): string {
  return JSON.stringify(o);
}

/** The encrypted option on a network of the manager (and of the other host, where it is). */
function networkOption(ctx: Ctx, v: Verdict, name: string, wantEncrypted: boolean): void {
  const mgr = managerModel(ctx);
  const nets = networksOf(ctx, v, mgr, managerHost(ctx.inventory).name);
  if (!nets || !mgr) return;
  const check = (h: HostModel, n: NonNullable<HostModel["networks"]>[number]) => {
    const has = isEncrypted(n);
    if (n.driver !== "overlay") v.fail(`${h.name}: network ${name} has driver ${n.driver}, not overlay`);
    if (has !== wantEncrypted) v.fail(`${h.name}: network ${name}'s options are ${optionList(n.options)}: ${wantEncrypted ? `no ${DOCUMENTED.encrypted.option}` : `${DOCUMENTED.encrypted.option} is set`}`);
    else v.observe(`${h.name}: ${name} (${n.driver}, ${n.ipam.map((i) => i.subnet).filter(Boolean).join(", ") || "no subnet"}) options ${optionList(n.options)}`);
  };
  const n = nets.find((x) => x.name === name);
  if (!n) {
    v.fail(`${mgr.name} has no network ${name} (networks: ${nets.map((x) => x.name).join(", ")})`);
    return;
  }
  check(mgr, n);
  for (const h of ctx.model.hosts.filter((x) => x !== mgr && x.reachable && x.networks)) {
    const m = h.networks!.find((x) => x.name === name);
    if (m) check(h, m);
  }
}

function checkEnc1(ctx: Ctx, f: LabFact): FactResult {
  const v = new Verdict();
  networkOption(ctx, v, DOCUMENTED.encrypted.name, true);
  return v.result(f, `${DOCUMENTED.encrypted.name}: driver overlay, options include ${DOCUMENTED.encrypted.option}`);
}

/** The ping of one overlay: passes when the other host's task answered. */
function judgePing(ctx: Ctx, v: Verdict, plan: OverlayPlan | PlanError, key: string): void {
  if (plan instanceof PlanError) return planProblem(v, plan);
  // ping exits 1 when no reply came: still a verdict.
  const s = section(ctx, v, key, [0, 1]);
  if (!s) return;
  const base = ctx.base as BasePlan;
  const p = parsePing(s.output);
  if (!p) {
    v.unknown(`\`${commandOf(key, ctx)}\` printed no statistics (exit code ${s.rc}${s.stderr ? `: ${s.stderr.trim().split("\n").pop()}` : ""})`);
    return;
  }
  if (p.target && p.target !== plan.peerAddress) {
    v.unknown(`the probe pinged ${p.target}, the gathered model puts ${base.peer.name}'s task of ${plan.service} at ${plan.peerAddress}`);
    return;
  }
  const what = `${base.host.name}'s task of ${plan.service} (${plan.localAddress}) -> ${base.peer.name}'s task (${plan.peerAddress}) over ${plan.network}`;
  if (p.received === 0) v.fail(`${what}: 0 of ${p.transmitted} echo requests answered`);
  else v.observe(`${what}: ${p.received} of ${p.transmitted} answered`);
}

function checkEnc2(ctx: Ctx, f: LabFact): FactResult {
  const skip = skipped(ctx, f);
  if (skip) return skip;
  const v = new Verdict();
  judgePing(ctx, v, ctx.encrypted, SECTIONS.encPing);
  return v.result(f, `the task on ${managerHost(ctx.inventory).name} pings the other host's task over ${DOCUMENTED.encrypted.name}`);
}

/** A capture section parsed, or why not (tcpdump ends 0 when stopped, 124 at its time bound). */
function capture(ctx: Ctx, v: Verdict, key: string): Capture | undefined {
  const s = section(ctx, v, key, [0, 124]);
  if (!s) return undefined;
  const st = tcpdumpStatus(s.stderr);
  if (!st.listening) {
    v.unknown(`\`${commandOf(key, ctx)}\` never said it was listening (stderr: ${(s.stderr ?? "").trim().split("\n").slice(-2).join(" / ") || "empty"})`);
    return undefined;
  }
  return parseTcpdump(s.output);
}

const between = (p: CapturedPacket, a: string, b: string) => p.src === a && p.dst === b;

function summary(c: Capture): string {
  if (!c.packets.length) return "nothing captured";
  const counts = new Map<string, number>();
  for (const p of c.packets) {
    const k = `${p.proto === "esp" ? "ESP" : p.vni !== undefined ? `VXLAN vni ${p.vni}` : p.proto.toUpperCase()} ${p.src} > ${p.dst}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  return [...counts].map(([k, n]) => `${n}x ${k}`).join(", ");
}

function checkEnc3(ctx: Ctx, f: LabFact): FactResult {
  const skip = skipped(ctx, f);
  if (skip) return skip;
  const v = new Verdict();
  const expected = `ESP between the hosts both ways while the task pings over ${DOCUMENTED.encrypted.name}; no UDP ${DOCUMENTED.vxlanPort} with its VNI`;
  const plan = ctx.encrypted;
  if (plan instanceof PlanError) {
    planProblem(v, plan);
    return v.result(f, expected);
  }
  const c = capture(ctx, v, SECTIONS.encCapture);
  if (!c) return v.result(f, expected);
  const { host, peer, nic } = ctx.base as BasePlan;
  const out = c.packets.filter((p) => p.proto === "esp" && between(p, host.address, peer.address));
  const back = c.packets.filter((p) => p.proto === "esp" && between(p, peer.address, host.address));
  const clear = c.packets.filter((p) => p.vni === plan.vni);
  const tasks = [plan.localAddress, plan.peerAddress];
  const inner = c.packets.filter((p) => p.inner.some((i) => tasks.includes(i.src) && tasks.includes(i.dst)));
  if (clear.length) v.fail(`${host.name}: ${clear.length} UDP ${DOCUMENTED.vxlanPort} packet(s) with ${plan.network}'s VNI ${plan.vni} crossed ${nic} in clear (first: ${clear[0]!.line})`);
  else if (inner.length) v.fail(`${host.name}: the tasks' packets (${tasks.join(" <-> ")}) crossed ${nic} in clear (first: ${inner[0]!.inner[0]!.text})`);
  if (!out.length) v.fail(`${host.name}: no ESP from ${host.address} to ${peer.address} on ${nic} while the task pinged over ${plan.network} (captured: ${summary(c)})`);
  if (!back.length) v.fail(`${host.name}: no ESP from ${peer.address} to ${host.address} on ${nic} while the task pinged over ${plan.network} (captured: ${summary(c)})`);
  if (out.length && back.length) v.observe(`${host.name} ${nic}: ${summary(c)}; no VXLAN with VNI ${plan.vni}`);
  return v.result(f, expected);
}

function checkEnc4(ctx: Ctx, f: LabFact): FactResult {
  const skip = skipped(ctx, f);
  if (skip) return skip;
  const v = new Verdict();
  const aead = DOCUMENTED.esp.aead;
  const expected = `ESP SAs with aead ${aead} between the hosts, both directions; the wire's SPIs among them`;
  if (ctx.base instanceof PlanError) {
    planProblem(v, ctx.base);
    return v.result(f, expected);
  }
  const s = section(ctx, v, SECTIONS.xfrm);
  if (!s) return v.result(f, expected);
  const { host, peer } = ctx.base;
  const sas = parseXfrmState(s.output);
  if (UNREDACTED_KEY.test(s.output) || sas.some((x) => !x.keysRedacted)) {
    // Never judged nor repeated: the probe's redaction failed.
    v.unknown(`${host.name}: \`ip xfrm state\` arrived with a key that was not redacted; not judged`);
    return v.result(f, expected);
  }
  const esp = sas.filter((x) => x.proto === "esp");
  const alg = (x: (typeof sas)[number]) => x.aead ?? ([x.enc, x.auth].filter(Boolean).join("+") || "no algorithm");
  const dir = (a: string, b: string) => esp.filter((x) => x.src === a && x.dst === b);
  const listing = esp.length ? esp.map((x) => `${x.src}>${x.dst} spi ${x.spi} ${alg(x)}`).join(", ") : "no ESP SA";
  for (const [a, b, what] of [
    [host.address, peer.address, `${host.name} to ${peer.name}`],
    [peer.address, host.address, `${peer.name} to ${host.name}`],
  ] as const) {
    const d = dir(a, b);
    if (!d.length) v.fail(`${host.name} holds no ESP SA from ${what} (${a} > ${b}); ip xfrm state: ${listing}`);
    for (const x of d.filter((y) => y.aead !== aead)) v.fail(`${host.name}: SA spi ${x.spi} ${a} > ${b} uses ${alg(x)}, not ${aead}`);
    const good = d.filter((y) => y.aead === aead);
    if (good.length) v.observe(`${host.name}: ${good.length} SA(s) ${a} > ${b} with ${aead} (spi ${good.map((y) => y.spi).join(", ")})`);
  }
  // The SAs in use: every ESP packet between the hosts in the capture names one of them.
  const probe = ctx.probe;
  const cap = "framed" in probe ? probe.framed.sections[SECTIONS.encCapture] : undefined;
  if (cap && (cap.rc === 0 || cap.rc === 124)) {
    const seen = parseTcpdump(cap.output).packets.filter((p) => p.proto === "esp" && (between(p, host.address, peer.address) || between(p, peer.address, host.address)));
    const spis = new Set(seen.map((p) => `${p.src}>${p.dst} ${p.spi}`));
    for (const k of spis) {
      const [pair, spi] = k.split(" ") as [string, string];
      const [src, dst] = pair.split(">") as [string, string];
      const sa = esp.find((x) => x.src === src && x.dst === dst && x.spi === spi);
      if (!sa) v.fail(`ESP spi ${spi} from ${src} to ${dst} on the wire matches no SA of ${host.name}`);
      else if (sa.aead === aead) v.observe(`the wire's ESP ${src} > ${dst} uses spi ${spi} (${aead})${src === peer.address ? `: ${peer.name} encrypts with it` : ""}`);
    }
  } else v.observe(`the wire's SPIs were not compared (no capture of ${DOCUMENTED.encrypted.name}'s ping)`);
  return v.result(f, expected);
}

function checkEnc5(ctx: Ctx, f: LabFact): FactResult {
  const skip = skipped(ctx, f);
  if (skip) return skip;
  const v = new Verdict();
  const expected = `${DOCUMENTED.plain.name} without ${DOCUMENTED.encrypted.option}: its ping crosses the underlay as UDP ${DOCUMENTED.vxlanPort} with its VNI, ICMP inside, no ESP`;
  networkOption(ctx, v, DOCUMENTED.plain.name, false);
  const plan = ctx.plain;
  judgePing(ctx, v, plan, SECTIONS.plainPing);
  if (plan instanceof PlanError) return v.result(f, expected);
  const c = capture(ctx, v, SECTIONS.plainCapture);
  if (!c) return v.result(f, expected);
  const { host, peer, nic } = ctx.base as BasePlan;
  const vx = (a: string, b: string) => c.packets.filter((p) => p.proto === "udp" && p.vni === plan.vni && p.dport === DOCUMENTED.vxlanPort && between(p, a, b));
  const out = vx(host.address, peer.address);
  const back = vx(peer.address, host.address);
  const icmp = [...out, ...back].filter((p) => p.inner.some((i) => i.icmp && [plan.localAddress, plan.peerAddress].includes(i.src) && [plan.localAddress, plan.peerAddress].includes(i.dst)));
  const esp = c.packets.filter((p) => p.proto === "esp");
  if (!out.length) v.fail(`${host.name}: no UDP ${DOCUMENTED.vxlanPort} with VNI ${plan.vni} from ${host.address} to ${peer.address} on ${nic} while the task pinged over ${plan.network} (captured: ${summary(c)})`);
  if (!back.length) v.fail(`${host.name}: no UDP ${DOCUMENTED.vxlanPort} with VNI ${plan.vni} from ${peer.address} to ${host.address} on ${nic} (captured: ${summary(c)})`);
  if ((out.length || back.length) && !icmp.length) v.fail(`${host.name}: the VXLAN packets of VNI ${plan.vni} carry no ICMP echo between ${plan.localAddress} and ${plan.peerAddress}`);
  if (esp.length) v.fail(`${host.name}: ${esp.length} ESP packet(s) on ${nic} while the task pinged over ${plan.network} (first: ${esp[0]!.line})`);
  if (out.length && back.length && icmp.length && !esp.length) v.observe(`${host.name} ${nic}: ${summary(c)}, the tasks' ICMP echo inside`);
  return v.result(f, expected);
}

export function check(model: LabModel, inventory: Inventory, opts: { only?: readonly string[] } = {}): FactResult[] {
  const parts = planParts(inventory, model);
  const ctx: Ctx = { model, inventory, probe: sectionsOf(model.probe), ...parts };
  return runFactChecks(
    FACTS,
    {
      "ENC-1": (f) => checkEnc1(ctx, f),
      "ENC-2": (f) => checkEnc2(ctx, f),
      "ENC-3": (f) => checkEnc3(ctx, f),
      "ENC-4": (f) => checkEnc4(ctx, f),
      "ENC-5": (f) => checkEnc5(ctx, f),
    },
    opts.only,
  );
}
