/** Pulumi entry point (Pulumi.yaml `main`). */
import { main } from "./main";

const lab = main();

export const hosts = lab.hosts;
export const labDir = lab.labDir;
export const inventoryFile = lab.inventoryFile;
export const sshCommand = lab.sshCommand;
export const tasks = lab.tasks;
export const sshKeyFingerprint = lab.keyFingerprint;
