/**
 * Reads and validates the stack configuration before any resource is registered, then
 * defines the lab. Shared by the Pulumi entry (index.ts) and the tests.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { swarmOverlayLab } from "../labs/swarm-overlay/lab";
import { ActiveNetwork, CONFIG_KEYS, CONFIG_NAMESPACE, LabConfig, RawConfig, validateConfig } from "./config";
import { activeNetworks } from "./libvirt/inspect";
import { defineLab, DefineLabOptions, LabOutputs } from "./program";

export function readRawConfig(): RawConfig {
  const config = new pulumi.Config(CONFIG_NAMESPACE);
  const raw: RawConfig = {};
  for (const k of CONFIG_KEYS) {
    const v = config.get(k);
    if (v !== undefined) raw[k] = v;
  }
  return raw;
}

export interface MainOptions extends Partial<DefineLabOptions> {
  /** Injected in unit tests; by default the hypervisor is asked. */
  activeNetworks?: (uri: string) => ActiveNetwork[];
}

export function loadConfig(opts: MainOptions = {}): LabConfig {
  const stack = pulumi.getStack();
  const raw = readRawConfig();
  const uri = raw.libvirtUri || "qemu:///system";
  const own = `swarmlab-${stack}`;
  const active = (opts.activeNetworks ?? activeNetworks)(uri).filter((n) => n.name !== own);
  return validateConfig(raw, { stack, lab: swarmOverlayLab, activeNetworks: active });
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
    hosts: lab.hosts,
    labDir: lab.labDir,
    inventoryFile: lab.inventoryFile,
    sshCommand: lab.sshCommand,
    tasks: lab.tasks,
    sshKeyFingerprint: lab.keyFingerprint,
  };
}
