/** Pulumi entry point (Pulumi.yaml `main`), for a plain `pulumi up`; `npm run up` runs the same outputs inline. */
import { stackOutputs } from "./main";

const lab = stackOutputs();

export const hosts = lab.hosts;
export const labDir = lab.labDir;
export const inventoryFile = lab.inventoryFile;
export const sshCommand = lab.sshCommand;
export const tasks = lab.tasks;
export const sshKeyFingerprint = lab.sshKeyFingerprint;
export const settings = lab.settings;
