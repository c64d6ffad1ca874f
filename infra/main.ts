/**
 * Reads and validates the stack configuration before any resource is registered, then
 * defines the lab. Shared by the Pulumi entry (index.ts) and the tests.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { ActiveNetwork, chooseLabNetwork, CONFIG_NAMESPACE, LabConfig, objectPrefixOf, RawConfig, validateConfig } from "./config";
import { activeNetworks } from "./libvirt/inspect";
import { fixedSettings } from "./settings";
import { defineLab, DefineLabOptions, LabOutputs } from "./program";

/**
 * Every `swarmlab:*` key that is set, known or not, so that validation can name the unknown
 * ones (a typo such as swarmlab:vcpu would otherwise be ignored silently). `all` defaults to
 * the engine's configuration, keyed "swarmlab:vcpus" (the SDK drops any ":config:" infix).
 */
export function readRawConfig(all: Record<string, unknown> = pulumi.runtime.allConfig()): RawConfig {
  const prefix = `${CONFIG_NAMESPACE}:`;
  const raw: RawConfig = {};
  for (const [k, v] of Object.entries(all)) {
    if (k.startsWith(prefix)) raw[k.slice(prefix.length)] = v;
  }
  return raw;
}

export interface MainOptions extends Partial<DefineLabOptions> {
  /** Injected in unit tests; by default the hypervisor is asked. */
  activeNetworks?: (uri: string) => ActiveNetwork[];
}

/**
 * Validates the configuration before the hypervisor is asked anything: virsh is only run when
 * everything but the overlap with active networks is valid, so it never gets a refused URI
 * (one that would run a program, say) and an unreachable libvirt does not hide config mistakes.
 * The stack's own network (named by its object prefix) is left out of the overlap check, so a
 * second `up` does not refuse the network the first one made.
 */
export function loadConfig(opts: MainOptions = {}): LabConfig {
  const stack = pulumi.getStack();
  const raw = readRawConfig();
  const ctx = { stack, activeNetworks: [] as ActiveNetwork[] };
  const offline = validateConfig(raw, ctx);
  const own = objectPrefixOf(stack);
  const all = (opts.activeNetworks ?? activeNetworks)(offline.libvirtUri);
  const active = all.filter((n) => n.name !== own);
  // networkCidr not set: the documented range, or the next free one (npm run up saves its choice
  // in the stack's configuration; a plain `pulumi up` finds it again from the stack's network).
  if (raw.networkCidr === undefined || raw.networkCidr === "") {
    const choice = chooseLabNetwork(offline.lab, active, all.find((n) => n.name === own));
    if (choice.cidr !== offline.lab.network.cidr) return validateConfig({ ...raw, networkCidr: choice.cidr }, { ...ctx, activeNetworks: active });
  }
  return active.length ? validateConfig(raw, { ...ctx, activeNetworks: active }) : offline;
}

export function main(opts: MainOptions = {}): LabOutputs & { config: LabConfig } {
  const cfg = loadConfig(opts);
  const lab = defineLab(cfg, { ...opts, stateRoot: opts.stateRoot ?? path.resolve(__dirname, "..") });
  return { ...lab, config: cfg };
}

/** The stack's outputs: what `infra/index.ts` exports and the Automation API's inline program returns. */
export function stackOutputs(opts: MainOptions = {}) {
  const lab = main(opts);
  return {
    /** The lab built (swarmlab:lab); verify finds it in the inventory as well. */
    lab: lab.config.labName,
    hosts: lab.hosts,
    labDir: lab.labDir,
    inventoryFile: lab.inventoryFile,
    sshCommand: lab.sshCommand,
    tasks: lab.tasks,
    sshKeyFingerprint: lab.keyFingerprint,
    /** What `npm run up` compares the next configuration with (see infra/settings.ts). */
    settings: fixedSettings(lab.config),
  };
}
