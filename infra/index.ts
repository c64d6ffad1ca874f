/**
 * Pulumi entry point (Pulumi.yaml `main`). Reads and validates the stack configuration
 * before any resource is registered, then defines the lab.
 */
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { swarmOverlayLab } from "../labs/swarm-overlay/lab";
import { CONFIG_KEYS, CONFIG_NAMESPACE, RawConfig, validateConfig } from "./config";
import { activeNetworks } from "./libvirt/inspect";
import { defineLab } from "./program";

const stack = pulumi.getStack();
const config = new pulumi.Config(CONFIG_NAMESPACE);
const raw: RawConfig = {};
for (const k of CONFIG_KEYS) {
  const v = config.get(k);
  if (v !== undefined) raw[k] = v;
}
const uri = raw.libvirtUri || "qemu:///system";
const prefix = `swarmlab-${stack}`;
const cfg = validateConfig(raw, {
  stack,
  lab: swarmOverlayLab,
  activeNetworks: activeNetworks(uri).filter((n) => n.name !== prefix),
});
const lab = defineLab(cfg, { stateRoot: path.resolve(__dirname, "..") });

export const hosts = lab.hosts;
export const labDir = lab.labDir;
export const inventoryFile = lab.inventoryFile;
export const sshCommand = lab.sshCommand;
export const tasks = lab.tasks;
export const sshKeyFingerprint = lab.keyFingerprint;
