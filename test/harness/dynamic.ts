/**
 * Helpers for unit tests of the dynamic providers and of the program under plain mocks.
 * (The end-to-end test drives the real Pulumi engine; nothing here stands in for it.)
 */
import * as pulumi from "@pulumi/pulumi";
import requireFromString from "require-from-string";

/** Deeply replaces Pulumi's RPC secret wrappers by their values. */
export function unwrapSecrets(v: any): any {
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v && typeof v === "object") {
    const u = pulumi.runtime.unwrapRpcSecret(v);
    if (u !== v) return unwrapSecrets(u);
    const out: Record<string, any> = {};
    for (const [k, x] of Object.entries(v)) out[k] = unwrapSecrets(x);
    return out;
  }
  return v;
}

/** What Pulumi's dynamic provider host does with a resource's serialized `__provider`. */
export function loadDynamicProvider(text: string): pulumi.dynamic.ResourceProvider {
  return (requireFromString(text) as { handler: () => pulumi.dynamic.ResourceProvider }).handler();
}
