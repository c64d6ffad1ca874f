/**
 * The longest allowed stack name, run through the program under mocks: every libvirt object
 * name it makes stays within libvirt's 64 characters, and the longest one is exactly 64, so
 * the limit is the largest that fits.
 */
import * as os from "os";
import * as path from "path";
import * as fs from "fs";
import * as pulumi from "@pulumi/pulumi";
import { beforeAll, describe, expect, it } from "vitest";
import { LIBVIRT_NAME_MAX, maxStackNameLength, validateStackName } from "../../../infra/config";
import { bridgeName } from "../../../infra/libvirt/xml";
import { unwrapSecrets } from "../../harness/dynamic";

const STACK = `longest-${"x".repeat(maxStackNameLength() - "longest-".length)}`;
const names: { kind: string; name: string }[] = [];
let lab: any;

beforeAll(async () => {
  pulumi.runtime.setAllConfig({ "swarmlab:domainType": "qemu" }, []);
  await pulumi.runtime.setMocks(
    {
      async newResource(args) {
        const inputs = unwrapSecrets(args.inputs);
        if (typeof inputs.kind === "string" && typeof inputs.name === "string") names.push({ kind: inputs.kind, name: inputs.name });
        const state: any = { ...inputs };
        if (args.type.startsWith("pulumi-nodejs:dynamic")) {
          state.path = `/pool/${inputs.name ?? args.name}`;
          state.publicKeyOpenssh = "ssh-ed25519 AAAAtest swarmlab-unit";
          state.privateKeyPem = "-----BEGIN PRIVATE KEY-----\ntest\n-----END PRIVATE KEY-----\n";
          state.fingerprint = "SHA256:test";
          state.stdout = "SWMTKN-1-test";
        }
        return { id: args.custom ? `${args.name}-id` : undefined, state };
      },
      async call(args) {
        throw new Error(`unexpected call ${args.token}`);
      },
    },
    "swarmlab",
    STACK,
    false,
  );
  const { main } = await import("../../../infra/main");
  const stateRoot = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-names-"));
  lab = main({ stateRoot, activeNetworks: () => [] });
  await new Promise<void>((resolve) => lab.tasks.apply(() => resolve()));
  await new Promise((r) => setTimeout(r, 200));
});

describe("libvirt object names of the longest stack name", () => {
  it("is an allowed stack name of the maximum length", () => {
    expect(STACK).toHaveLength(maxStackNameLength());
    expect(validateStackName(STACK)).toBeUndefined();
    expect(validateStackName(`${STACK}x`)).toMatch(/characters long/);
  });

  it("keeps every object name within libvirt's limit, the longest exactly at it", () => {
    expect(names.map((n) => n.kind).sort()).toEqual(["domain", "domain", "network", "pool", "volume", "volume", "volume", "volume", "volume"]);
    for (const n of names) {
      expect(n.name.startsWith(`swarmlab-${STACK}`), n.name).toBe(true);
      expect(n.name.length, n.name).toBeLessThanOrEqual(LIBVIRT_NAME_MAX);
    }
    expect(Math.max(...names.map((n) => n.name.length))).toBe(LIBVIRT_NAME_MAX);
    expect(lab.config.objectPrefix).toBe(`swarmlab-${STACK}`);
  });

  it("names the network by the object prefix, with a bridge name Linux accepts", () => {
    expect(names.find((n) => n.kind === "network")?.name).toBe(lab.config.objectPrefix);
    expect(bridgeName(STACK).length).toBeLessThanOrEqual(15);
  });
});
