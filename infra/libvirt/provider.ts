/**
 * A Pulumi dynamic provider that manages libvirt objects with `virsh -c <uri>`, so it works
 * with any libvirt URI, qemu+ssh:// included.
 *
 * Pulumi serializes a dynamic provider by closure and runs it in a separate Node process
 * that has no TypeScript loader. So: everything here is plain code over Node built-ins,
 * modules are required *inside* the functions, `process.env` is read at call time, and no
 * SDK client or module-level state is captured.
 */
import * as pulumi from "@pulumi/pulumi";

export type VirshKind = "network" | "pool" | "volume" | "domain";

/** A file to upload into a volume: an http(s) URL or a local path, optionally checksummed. */
export interface UploadSpec {
  source: string;
  sha256?: string;
}

/** Files of a cloud-init NoCloud seed; the provider turns them into an ISO labelled `cidata`. */
export interface CloudInitSpec {
  userData: string;
  metaData: string;
  networkConfig: string;
}

export interface VirshInputs {
  uri: string;
  kind: VirshKind;
  name: string;
  /** Storage pool of a volume. */
  pool?: string;
  /** Definition XML (network, pool, domain, or a volume without upload/cloudInit). */
  xml?: string;
  upload?: UploadSpec;
  cloudInit?: CloudInitSpec;
}

export interface VirshOutputs extends VirshInputs {
  /** Volume path on the hypervisor, or pool target path. */
  path: string;
  /** Domain/network/pool state seen at create or last read (e.g. "running", "active"). */
  state: string;
  /** A domain's libvirt UUID, new with every definition ("" for other kinds): what guest steps re-run on. */
  uuid: string;
}

/** Runs virsh; resolves stdout, rejects with virsh's own error message. */
function virsh(uri: string, args: string[], input?: Buffer | string): Promise<string> {
  const cp = require("child_process");
  return new Promise((resolve, reject) => {
    const child = cp.spawn("virsh", ["-q", "-c", uri, ...args], { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", (e: Error) =>
      reject(new Error(`cannot run virsh (install libvirt-clients): ${e.message}`)),
    );
    child.on("close", (code: number) => {
      if (code === 0) resolve(Buffer.concat(out).toString("utf8"));
      else {
        const msg = Buffer.concat(err).toString("utf8").trim() || Buffer.concat(out).toString("utf8").trim();
        reject(new Error(`virsh -c ${uri} ${args.join(" ")} failed (exit ${code}): ${msg}`));
      }
    });
    child.stdin.on("error", () => undefined);
    if (input !== undefined) child.stdin.end(input);
    else child.stdin.end();
  });
}

/** Runs virsh with `xml` written to a temporary file passed as the last argument. */
async function virshWithFile(uri: string, args: string[], xml: string): Promise<string> {
  const fs = require("fs");
  const os = require("os");
  const path = require("path");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-virsh-"));
  try {
    const file = path.join(dir, "object.xml");
    fs.writeFileSync(file, xml);
    return await virsh(uri, [...args, file]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function isMissing(e: unknown): boolean {
  const m = String((e as Error)?.message ?? e);
  return /not found|no (storage )?(network|pool|vol|volume|domain) with matching|failed to get (domain|network|pool|vol)|Storage volume not found/i.test(m);
}

function isNotActive(e: unknown): boolean {
  return /not active|not running|is not active/i.test(String((e as Error)?.message ?? e));
}

function sha256File(file: string): Promise<string> {
  const crypto = require("crypto");
  const fs = require("fs");
  return new Promise((resolve, reject) => {
    const h = crypto.createHash("sha256");
    fs.createReadStream(file)
      .on("data", (d: Buffer) => h.update(d))
      .on("end", () => resolve(h.digest("hex")))
      .on("error", reject);
  });
}

/** Downloads a URL into the user's cache (once), following redirects. */
async function fetchToCache(url: string): Promise<string> {
  const fs = require("fs");
  const os = require("os");
  const path = require("path");
  const crypto = require("crypto");
  const cacheRoot = process.env.SWARMLAB_CACHE || path.join(os.homedir(), ".cache", "swarmlab");
  const dir = path.join(cacheRoot, "downloads");
  fs.mkdirSync(dir, { recursive: true });
  const key = crypto.createHash("sha256").update(url).digest("hex").slice(0, 16);
  const file = path.join(dir, `${key}-${path.basename(new URL(url).pathname) || "image"}`);
  if (fs.existsSync(file)) return file;
  const tmp = `${file}.part`;
  const get = (u: string, left: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const mod = u.startsWith("https:") ? require("https") : require("http");
      mod
        .get(u, (res: any) => {
          if (res.statusCode >= 300 && res.statusCode < 400 && res.headers.location && left > 0) {
            res.resume();
            resolve(get(new URL(res.headers.location, u).toString(), left - 1));
            return;
          }
          if (res.statusCode !== 200) {
            res.resume();
            reject(new Error(`download of ${u} failed: HTTP ${res.statusCode}`));
            return;
          }
          const out = fs.createWriteStream(tmp);
          res.pipe(out);
          out.on("finish", () => resolve());
          out.on("error", reject);
        })
        .on("error", (e: Error) => reject(new Error(`download of ${u} failed: ${e.message}`)));
    });
  await get(url, 5);
  fs.renameSync(tmp, file);
  return file;
}

/** Builds a NoCloud seed ISO (volume label cidata) in a temporary directory. */
function buildSeedIso(spec: CloudInitSpec): { iso: string; cleanup: () => void } {
  const fs = require("fs");
  const os = require("os");
  const path = require("path");
  const cp = require("child_process");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-seed-"));
  fs.writeFileSync(path.join(dir, "user-data"), spec.userData);
  fs.writeFileSync(path.join(dir, "meta-data"), spec.metaData);
  fs.writeFileSync(path.join(dir, "network-config"), spec.networkConfig);
  const iso = path.join(dir, "seed.iso");
  const tool = ["genisoimage", "mkisofs", "xorrisofs"].find((t) => cp.spawnSync(t, ["--version"]).error === undefined);
  if (!tool) throw new Error("building the cloud-init seed needs genisoimage (apt-get install genisoimage)");
  const r = cp.spawnSync(
    tool,
    ["-quiet", "-output", iso, "-volid", "cidata", "-joliet", "-rock", "user-data", "meta-data", "network-config"],
    { cwd: dir, encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`${tool} failed: ${r.stderr}`);
  return { iso, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

async function uploadFile(uri: string, pool: string, name: string, file: string): Promise<void> {
  const fs = require("fs");
  const size = fs.statSync(file).size;
  await virsh(uri, ["vol-create-as", pool, name, String(size), "--format", "raw"]);
  try {
    await virsh(uri, ["vol-upload", "--pool", pool, name, file]);
  } catch (e) {
    await virsh(uri, ["vol-delete", "--pool", pool, name]).catch(() => undefined);
    throw e;
  }
}

async function createObject(p: VirshInputs): Promise<VirshOutputs> {
  const fs = require("fs");
  let objPath = "";
  let state = "";
  let uuid = "";
  switch (p.kind) {
    case "network":
      await virshWithFile(p.uri, ["net-define"], p.xml ?? "");
      try {
        await virsh(p.uri, ["net-start", p.name]);
      } catch (e) {
        await virsh(p.uri, ["net-undefine", p.name]).catch(() => undefined);
        throw e;
      }
      state = "active";
      break;
    case "pool":
      await virshWithFile(p.uri, ["pool-define"], p.xml ?? "");
      try {
        await virsh(p.uri, ["pool-build", p.name]);
        await virsh(p.uri, ["pool-start", p.name]);
      } catch (e) {
        await virsh(p.uri, ["pool-undefine", p.name]).catch(() => undefined);
        throw e;
      }
      objPath = ((await virsh(p.uri, ["pool-dumpxml", p.name])).match(/<path>([^<]+)<\/path>/) ?? [])[1] ?? "";
      state = "active";
      break;
    case "volume": {
      const pool = p.pool ?? "";
      if (p.cloudInit) {
        const seed = buildSeedIso(p.cloudInit);
        try {
          await uploadFile(p.uri, pool, p.name, seed.iso);
        } finally {
          seed.cleanup();
        }
      } else if (p.upload) {
        const local = /^https?:\/\//.test(p.upload.source) ? await fetchToCache(p.upload.source) : p.upload.source;
        if (!fs.existsSync(local)) throw new Error(`base image ${local} does not exist`);
        if (p.upload.sha256) {
          const got = await sha256File(local);
          if (got !== p.upload.sha256.toLowerCase()) {
            throw new Error(`base image ${p.upload.source} has sha256 ${got}, expected ${p.upload.sha256}`);
          }
        }
        await uploadFile(p.uri, pool, p.name, local);
      } else {
        await virshWithFile(p.uri, ["vol-create", pool], p.xml ?? "");
      }
      objPath = (await virsh(p.uri, ["vol-path", "--pool", pool, p.name])).trim();
      state = "present";
      break;
    }
    case "domain":
      await virshWithFile(p.uri, ["define"], p.xml ?? "");
      try {
        await virsh(p.uri, ["start", p.name]);
      } catch (e) {
        await virsh(p.uri, ["undefine", p.name]).catch(() => undefined);
        throw e;
      }
      state = (await virsh(p.uri, ["domstate", p.name])).trim();
      uuid = (await virsh(p.uri, ["domuuid", p.name])).trim();
      break;
    default:
      throw new Error(`unknown libvirt object kind ${(p as VirshInputs).kind}`);
  }
  return { ...p, path: objPath, state, uuid };
}

/** Returns the object's state, or undefined when it no longer exists. */
async function observe(p: VirshInputs): Promise<string | undefined> {
  try {
    switch (p.kind) {
      case "network": {
        const info = await virsh(p.uri, ["net-info", p.name]);
        return /Active:\s+yes/.test(info) ? "active" : "inactive";
      }
      case "pool": {
        const info = await virsh(p.uri, ["pool-info", p.name]);
        return /State:\s+running/.test(info) ? "active" : "inactive";
      }
      case "volume":
        await virsh(p.uri, ["vol-info", "--pool", p.pool ?? "", p.name]);
        return "present";
      case "domain":
        return (await virsh(p.uri, ["domstate", p.name])).trim();
    }
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
  return undefined;
}

async function deleteObject(p: VirshInputs): Promise<void> {
  const tolerate = (e: unknown) => {
    if (!isMissing(e) && !isNotActive(e)) throw e;
  };
  switch (p.kind) {
    case "network":
      await virsh(p.uri, ["net-destroy", p.name]).catch(tolerate);
      await virsh(p.uri, ["net-undefine", p.name]).catch(tolerate);
      break;
    case "pool":
      await virsh(p.uri, ["pool-destroy", p.name]).catch(tolerate);
      await virsh(p.uri, ["pool-delete", p.name]).catch(() => undefined);
      await virsh(p.uri, ["pool-undefine", p.name]).catch(tolerate);
      break;
    case "volume":
      await virsh(p.uri, ["vol-delete", "--pool", p.pool ?? "", p.name]).catch(tolerate);
      break;
    case "domain":
      await virsh(p.uri, ["destroy", p.name]).catch(tolerate);
      await virsh(p.uri, ["undefine", p.name]).catch(tolerate);
      break;
  }
}

/** The inputs that define an object; any change to one of them replaces it. */
const SPEC_KEYS: (keyof VirshInputs)[] = ["uri", "kind", "name", "pool", "xml", "upload", "cloudInit"];

function specOf(p: Partial<VirshInputs>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of SPEC_KEYS) out[k] = JSON.stringify(p[k] ?? null);
  return out;
}

export const virshProvider: pulumi.dynamic.ResourceProvider = {
  async check(_olds: VirshInputs, news: VirshInputs) {
    const failures: pulumi.dynamic.CheckFailure[] = [];
    if (!news.uri) failures.push({ property: "uri", reason: "a libvirt URI is required" });
    if (!["network", "pool", "volume", "domain"].includes(news.kind)) {
      failures.push({ property: "kind", reason: `kind "${news.kind}" is not one of network, pool, volume, domain` });
    }
    if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(news.name ?? "")) {
      failures.push({ property: "name", reason: `name "${news.name}" must be 1-64 letters, digits, '.', '_' or '-'` });
    }
    if (news.kind === "volume" && !news.pool) failures.push({ property: "pool", reason: "a volume needs a pool" });
    if (news.kind !== "volume" && !news.xml) failures.push({ property: "xml", reason: `a ${news.kind} needs its XML` });
    return { inputs: news, failures };
  },

  async diff(_id: string, olds: VirshOutputs, news: VirshInputs) {
    const a = specOf(olds);
    const b = specOf(news);
    const replaces = SPEC_KEYS.filter((k) => a[k] !== b[k]);
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: true };
  },

  async create(inputs: VirshInputs) {
    const outs = await createObject(inputs);
    return { id: `${inputs.kind}:${inputs.pool ? inputs.pool + "/" : ""}${inputs.name}`, outs };
  },

  async read(id: string, props: VirshOutputs) {
    const state = await observe(props);
    if (state === undefined) return { id: "", props: {} };
    return { id, props: { ...props, state } };
  },

  async delete(_id: string, props: VirshOutputs) {
    await deleteObject(props);
  },
};

type Inputs<T> = { [K in keyof T]: pulumi.Input<T[K]> };

/** One libvirt object (network, pool, volume or domain) managed through virsh. */
export class VirshObject extends pulumi.dynamic.Resource {
  declare public readonly path: pulumi.Output<string>;
  declare public readonly state: pulumi.Output<string>;
  declare public readonly name: pulumi.Output<string>;
  declare public readonly uuid: pulumi.Output<string>;

  constructor(name: string, args: Inputs<VirshInputs>, opts?: pulumi.CustomResourceOptions) {
    super(virshProvider, name, { ...args, path: undefined, state: undefined, uuid: undefined }, opts);
  }
}
