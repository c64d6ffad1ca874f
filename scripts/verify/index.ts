/** Public API of verify: gather -> model -> check -> report. */
export { exitCodeOf, gatherLab, runVerify, validateOnly, type GatheredLab, type GatherLabOptions, type VerifyOptions, type VerifyRun } from "./run";
export { gather, gatheredFromText, loadRaw, saveRaw, SshTransport, type Gathered, type GatherOptions, type HostGather, type ProgressEvent, type RunOptions, type Transport } from "./gather";
export { buildGatherScript, type GatherScriptOptions } from "./gather-script";
export { parseFramedOutput, type FramedOutput, type RawSection } from "../lib/framing";
export { buildModel, type HostModel, type Iface, type LabModel, type Namespace, type VethPair, type VxlanTunnel, type BridgeModel } from "./model";
export { OUTCOMES, type FactResult, type Outcome } from "./result";
export { formatReport, formatNames, prepareFormat, registerFormat, formatText, formatJson, formatJunit, type Formatter, type VerifyReport } from "./report";
export { formatHtml, prepareHtml } from "./html";
export { loadInventory, validateInventory, inventoryFromLab, defaultInventoryPath, compareWithLab, type Inventory, type InventoryHost } from "./inventory";
export { ParseError, InventoryError, UsageError } from "./errors";
export { TRAFFIC_DISABLED } from "./result";
