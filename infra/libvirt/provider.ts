/**
 * A Pulumi dynamic provider that manages libvirt objects with `virsh -c <uri>`, so it works
 * with any libvirt URI, qemu+ssh:// included.
 *
 * Pulumi serializes a dynamic provider by closure and runs it in a separate Node process
 * that has no TypeScript loader. So: everything here is plain code over Node built-ins,
 * modules are required *inside* the functions, `process.env` is read at call time, and no
 * SDK client or module-level state is captured.
 *
 * Creating is idempotent: an interrupted `pulumi up` leaves objects libvirt has but Pulumi's
 * state does not, and the next `up` creates them again. So create first looks for an object of
 * that name: one that matches our definition is adopted (and started), one that does not makes
 * create fail without touching it, and a failed step only ever undoes what this call made.
 * (One exception, see createVolume: a volume whose upload this machine began and never
 * finished is deleted and uploaded again.)
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
  /** The same seed as a script (`swarmlab-init.sh`) for guest images without cloud-init. */
  initScript?: string;
}

/** The seed's files by name, in the ISO's order. */
function seedFiles(spec: CloudInitSpec): [string, string][] {
  const files: [string, string][] = [
    ["user-data", spec.userData],
    ["meta-data", spec.metaData],
    ["network-config", spec.networkConfig],
  ];
  if (spec.initScript !== undefined) files.push(["swarmlab-init.sh", spec.initScript]);
  return files;
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

// ---------------------------------------------------------------------------------------------
// Comparing our definition XML with the one libvirt keeps

/** An XML element; `name` and attribute keys are `{namespace-uri}local` where a namespace applies. */
export interface XmlElement {
  name: string;
  /** The name as written (prefix:local), for messages. */
  qname: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** The element's own character data (CDATA included), concatenated, entities decoded. */
  text: string;
}

/**
 * A small XML parser for definitions (ours and virsh's dumpxml output): elements, attributes,
 * character data, CDATA, comments, processing instructions, a DOCTYPE without internal subset,
 * namespace prefixes. Throws on anything malformed it notices.
 */
export function parseXml(src: string): XmlElement {
  const decode = (s: string): string =>
    s.replace(/&(#x[0-9A-Fa-f]+|#[0-9]+|amp|lt|gt|quot|apos);/g, (_m: string, e: string) => {
      if (e === "amp") return "&";
      if (e === "lt") return "<";
      if (e === "gt") return ">";
      if (e === "quot") return '"';
      if (e === "apos") return "'";
      return String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    });
  const fail = (what: string, at: number): never => {
    const line = src.slice(0, at).split("\n").length;
    throw new Error(`malformed XML (line ${line}): ${what}`);
  };
  const nameRe = /<([A-Za-z_][\w.:-]*)/y;
  const attrRe = /\s+([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/y;
  const endRe = /\s*(\/?)>/y;
  type Open = { el: XmlElement; ns: Record<string, string> };
  const stack: Open[] = [];
  let root: XmlElement | undefined;
  let i = 0;
  while (i < src.length) {
    const lt = src.indexOf("<", i);
    const textEnd = lt < 0 ? src.length : lt;
    if (textEnd > i) {
      const t = src.slice(i, textEnd);
      if (stack.length > 0) stack[stack.length - 1].el.text += decode(t);
      else if (t.trim() !== "") fail("text outside the root element", i);
    }
    if (lt < 0) break;
    const close = (marker: string, from: number): number => {
      const e = src.indexOf(marker, from);
      if (e < 0) fail(`unterminated ${src.slice(lt, lt + 9)}`, lt);
      return e + marker.length;
    };
    if (src.startsWith("<!--", lt)) {
      i = close("-->", lt + 4);
    } else if (src.startsWith("<![CDATA[", lt)) {
      if (stack.length === 0) fail("CDATA outside the root element", lt);
      i = close("]]>", lt + 9);
      stack[stack.length - 1].el.text += src.slice(lt + 9, i - 3);
    } else if (src.startsWith("<?", lt)) {
      i = close("?>", lt + 2);
    } else if (src.startsWith("<!", lt)) {
      i = close(">", lt + 2);
      if (src.slice(lt, i).includes("[")) fail("a DOCTYPE with an internal subset is not supported", lt);
    } else if (src.startsWith("</", lt)) {
      i = close(">", lt + 2);
      const qname = src.slice(lt + 2, i - 1).trim();
      const open = stack.pop();
      if (!open || open.el.qname !== qname) fail(`</${qname}> closes ${open ? `<${open.el.qname}>` : "nothing"}`, lt);
    } else {
      if (root !== undefined && stack.length === 0) fail("a second root element", lt);
      nameRe.lastIndex = lt;
      const m = nameRe.exec(src);
      if (!m) return fail("a '<' that starts no element", lt);
      const qname = m[1];
      let at = nameRe.lastIndex;
      const raw: [string, string][] = [];
      for (;;) {
        attrRe.lastIndex = at;
        const a = attrRe.exec(src);
        if (!a) break;
        raw.push([a[1], decode(a[2] ?? a[3] ?? "")]);
        at = attrRe.lastIndex;
      }
      endRe.lastIndex = at;
      const end = endRe.exec(src);
      if (!end) return fail(`bad attribute or unterminated tag <${qname}`, at);
      i = endRe.lastIndex;
      const parentNs = stack.length > 0 ? stack[stack.length - 1].ns : {};
      let ns = parentNs;
      for (const [k, v] of raw) {
        if (k === "xmlns" || k.startsWith("xmlns:")) {
          if (ns === parentNs) ns = { ...parentNs };
          ns[k === "xmlns" ? "" : k.slice(6)] = v;
        }
      }
      const expand = (q: string, isAttr: boolean): string => {
        const c = q.indexOf(":");
        if (c < 0) return !isAttr && ns[""] ? `{${ns[""]}}${q}` : q;
        const prefix = q.slice(0, c);
        if (prefix === "xml") return q;
        const uri = ns[prefix];
        if (uri === undefined) return fail(`undeclared namespace prefix in ${q}`, lt);
        return `{${uri}}${q.slice(c + 1)}`;
      };
      const attrs: Record<string, string> = {};
      for (const [k, v] of raw) {
        if (k === "xmlns" || k.startsWith("xmlns:")) continue;
        const key = expand(k, true);
        if (key in attrs) fail(`attribute ${k} given twice`, lt);
        attrs[key] = v;
      }
      const el: XmlElement = { name: expand(qname, false), qname, attrs, children: [], text: "" };
      if (stack.length > 0) stack[stack.length - 1].el.children.push(el);
      else root = el;
      if (end[1] !== "/") stack.push({ el, ns });
    }
  }
  if (stack.length > 0) fail(`<${stack[stack.length - 1].el.qname}> is never closed`, src.length);
  if (root === undefined) return fail("no root element", 0);
  return root;
}

/** libvirt's scaled integers (memory, capacity, ...) in bytes; undefined when `el` is none. */
function quantityInBytes(el: XmlElement): bigint | undefined {
  const local = el.name.slice(el.name.lastIndexOf("}") + 1);
  const memoryLike = ["memory", "currentMemory", "maxMemory"].includes(local);
  const storageLike = ["capacity", "allocation", "available", "physical"].includes(local);
  if (!memoryLike && !storageLike) return undefined;
  const value = el.text.trim();
  if (!/^[0-9]+$/.test(value)) return undefined;
  const unit = (el.attrs.unit ?? (memoryLike ? "KiB" : "bytes")).toLowerCase();
  let scale: bigint;
  if (unit === "b" || unit === "byte" || unit === "bytes") scale = 1n;
  else {
    const power = "kmgtpe".indexOf(unit[0]) + 1;
    const rest = unit.slice(1);
    if (power === 0 || !["", "ib", "b"].includes(rest)) return undefined;
    scale = (rest === "b" ? 1000n : 1024n) ** BigInt(power);
  }
  return BigInt(value) * scale;
}

/** Whether libvirt's attribute value `got` means what we wrote as `want`. */
function sameAttribute(key: string, want: string, got: string): boolean {
  if (want === got) return true;
  const mac = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
  if (mac.test(want) && mac.test(got)) return want.toLowerCase() === got.toLowerCase();
  // PCI addresses and the like: libvirt may write 0x03 for 3 or 0x0000 for 0x0.
  const int = /^(0x[0-9a-f]+|[0-9]+)$/i;
  if (int.test(want) && int.test(got) && (/^0x/i.test(want) || /^0x/i.test(got))) return Number(want) === Number(got);
  // The qemu driver stores the versioned machine type the alias stands for.
  if (key === "machine") return (want === "pc" && got.startsWith("pc-i440fx-")) || (want === "q35" && got.startsWith("pc-q35-"));
  return false;
}

function sameText(el: XmlElement, want: string, got: string): boolean {
  if (want === got) return true;
  if (el.name === "path") {
    const clean = (p: string) => (p.replace(/\/{2,}/g, "/").replace(/(.)\/$/, "$1"));
    return clean(want) === clean(got);
  }
  return false;
}

function describeElement(el: XmlElement): string {
  const attrs = Object.entries(el.attrs).map(([k, v]) => ` ${k.replace(/^\{[^}]*\}/, "")}='${v}'`);
  const text = el.text.trim() ? `${el.text.trim().slice(0, 40)}</${el.qname}>` : "";
  return `<${el.qname}${attrs.join("")}${text ? ">" + text : "/>"}`;
}

/** Where `got` lacks something `want` specifies (see definitionDifference); undefined if nowhere. */
function elementDifference(want: XmlElement, got: XmlElement, parent: string): string | undefined {
  const here = `${parent}/${want.qname}`;
  if (want.name !== got.name) return `${here}: found <${got.qname}> instead`;
  const bytes = quantityInBytes(want);
  if (bytes !== undefined) {
    const have = quantityInBytes(got);
    if (have !== bytes) {
      return `${here}: wanted ${want.text.trim()} ${want.attrs.unit ?? "(default unit)"}, found ${got.text.trim()} ${got.attrs.unit ?? "(default unit)"}`;
    }
  } else {
    const text = want.text.trim();
    if (text !== "" && !sameText(want, text, got.text.trim())) return `${here}: wanted "${text}", found "${got.text.trim()}"`;
  }
  for (const [k, v] of Object.entries(want.attrs)) {
    if (k === "unit" && bytes !== undefined) continue;
    if (!(k in got.attrs)) return `${here}: attribute ${k}='${v}' is missing`;
    if (!sameAttribute(k, v, got.attrs[k])) return `${here}: ${k} is '${got.attrs[k]}', wanted '${v}'`;
  }
  // Each wanted child needs its own matching child in libvirt's element, in any order
  // (a bipartite matching, so that two similar disks cannot both claim the same one).
  const wc = want.children;
  const gc = got.children;
  const fits = wc.map((w) => gc.map((g) => w.name === g.name && elementDifference(w, g, here) === undefined));
  const owner: number[] = gc.map(() => -1);
  const assign = (wi: number, seen: boolean[]): boolean => {
    for (let gi = 0; gi < gc.length; gi++) {
      if (!fits[wi][gi] || seen[gi]) continue;
      seen[gi] = true;
      if (owner[gi] < 0 || assign(owner[gi], seen)) {
        owner[gi] = wi;
        return true;
      }
    }
    return false;
  };
  for (let wi = 0; wi < wc.length; wi++) {
    if (assign(wi, gc.map(() => false))) continue;
    const w = wc[wi];
    const candidates = gc.filter((g) => g.name === w.name);
    if (candidates.length === 0) return `${here}/${w.qname}: missing`;
    if (candidates.length === 1) {
      return elementDifference(w, candidates[0], here) ?? `${here}/${w.qname}: given more often than libvirt has it`;
    }
    return `${here}: none of the ${candidates.length} <${w.qname}> elements matches ${describeElement(w)}`;
  }
  return undefined;
}

/**
 * Compares the definition we would give libvirt (`wanted`) with the one it has (`actual`, e.g.
 * `virsh dumpxml --inactive`). libvirt adds a lot (uuid, MAC and PCI addresses, controllers,
 * defaults) and rewrites some of what it was given, so the rule is: everything `wanted` specifies
 * must be in `actual` with the same meaning; what libvirt added is ignored. Per element: same
 * (namespace-qualified) name; each of our attributes present with an equal value; our non-blank
 * text equal after trimming; each of our child elements matched by its own child in `actual`, in
 * any order. "Same meaning" allows only what libvirt is known to rewrite: scaled integers
 * compared in bytes (2048 MiB = 2097152 KiB), MAC addresses in any case, hex and decimal numbers
 * with 0x on either side, the machine aliases pc and q35 against their versioned names, repeated
 * or trailing slashes in <path>. Returns undefined when they agree, else where they first differ.
 */
export function definitionDifference(wanted: string, actual: string): string | undefined {
  return elementDifference(parseXml(wanted), parseXml(actual), "");
}

/**
 * Whether an ISO 9660 image is a cloud-init seed with exactly these files: labelled cidata, and
 * for each non-empty file an extent holding exactly its bytes, with a directory record that gives
 * that extent and that length (so a longer file that merely starts with ours does not pass).
 * File names are not checked. Returns undefined when it is, else what differs.
 */
export function seedIsoDifference(iso: Buffer, spec: CloudInitSpec): string | undefined {
  const SECTOR = 2048;
  if (iso.length > 16 * 1024 * 1024) return "it is larger than a cloud-init seed can be (over 16 MiB)";
  if (iso.length < 17 * SECTOR || iso.toString("latin1", 16 * SECTOR + 1, 16 * SECTOR + 6) !== "CD001") {
    return "it is not an ISO 9660 image";
  }
  const label = iso.toString("latin1", 16 * SECTOR + 40, 16 * SECTOR + 72).trim();
  if (label.toLowerCase() !== "cidata") return `its volume label is "${label}", not cidata`;
  for (const [name, content] of seedFiles(spec)) {
    const data = Buffer.from(content, "utf8");
    if (data.length === 0) continue;
    let found = false;
    for (let at = iso.indexOf(data); at >= 0 && !found; at = iso.indexOf(data, at + 1)) {
      if (at % SECTOR !== 0) continue;
      // Directory record bytes 2..17: extent LBA and data length, each little- then big-endian.
      const rec = Buffer.alloc(16);
      rec.writeUInt32LE(at / SECTOR, 0);
      rec.writeUInt32BE(at / SECTOR, 4);
      rec.writeUInt32LE(data.length, 8);
      rec.writeUInt32BE(data.length, 12);
      found = iso.indexOf(rec) >= 0;
    }
    if (!found) return `its ${name} differs from this stack's`;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Downloads

/** Download time limits in ms, from SWARMLAB_DOWNLOAD_IDLE_TIMEOUT / SWARMLAB_DOWNLOAD_TIMEOUT (seconds). */
export function downloadLimits(env: Record<string, string | undefined> = process.env): { idleMs: number; totalMs: number } {
  const seconds = (name: string, dflt: number): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === "") return dflt * 1000;
    const v = Number(raw);
    if (!Number.isFinite(v) || v <= 0) throw new Error(`${name}="${raw}" is not a positive number of seconds`);
    return v * 1000;
  };
  return { idleMs: seconds("SWARMLAB_DOWNLOAD_IDLE_TIMEOUT", 30), totalMs: seconds("SWARMLAB_DOWNLOAD_TIMEOUT", 3600) };
}

/**
 * Where a redirect from `from` to `location` leads, after `followed` redirects already taken;
 * throws if it must not be followed: a 6th redirect, a scheme other than http(s), or https to http.
 */
export function nextRedirect(from: string, location: string, followed: number): string {
  if (followed >= 5) throw new Error(`more than 5 redirects (the 6th was to ${location})`);
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    throw new Error(`redirect to an invalid location "${location}"`);
  }
  if (to.protocol !== "http:" && to.protocol !== "https:") throw new Error(`refusing a redirect to ${to.protocol} (${to.toString()})`);
  if (new URL(from).protocol === "https:" && to.protocol === "http:") {
    throw new Error(`refusing a redirect from https to plain http (${from} -> ${to.toString()})`);
  }
  return to.toString();
}

/** One GET of `url` into `file`: resolves { location } for a redirect, {} when the body is saved. */
function downloadOnce(
  url: string,
  file: string,
  limits: { idleMs: number; totalMs: number },
  deadline: number,
): Promise<{ location?: string }> {
  const fs = require("fs");
  const stream = require("stream");
  const mod = url.startsWith("https:") ? require("https") : require("http");
  return new Promise((resolve, reject) => {
    let settled = false;
    let out: any;
    let req: any;
    let received = 0;
    let expected: number | undefined;
    let overall: ReturnType<typeof setTimeout> | undefined;
    const settle = (err: Error | undefined, value?: { location?: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(overall);
      if (req) req.destroy();
      const done = () => (err ? reject(err) : resolve(value ?? {}));
      // Settle only once the file is closed, so that removing it afterwards really removes it.
      if (out && !out.closed) {
        out.once("close", done);
        out.destroy();
      } else done();
    };
    const progress = () => (expected !== undefined ? ` after ${received} of ${expected} bytes` : received > 0 ? ` after ${received} bytes` : "");
    const left = deadline - Date.now();
    overall = setTimeout(
      () => settle(new Error(`not finished within ${limits.totalMs / 1000} s${progress()} (SWARMLAB_DOWNLOAD_TIMEOUT)`)),
      Math.max(left, 0),
    );
    try {
      req = mod.get(url, { agent: false, headers: { "accept-encoding": "identity", "user-agent": "swarmlab" } }, (res: any) => {
        const status: number = res.statusCode;
        if (status >= 300 && status < 400 && res.headers.location) {
          res.resume();
          settle(undefined, { location: String(res.headers.location) });
          return;
        }
        if (status !== 200) {
          res.resume();
          settle(new Error(`HTTP ${status}${res.statusMessage ? " " + res.statusMessage : ""}`));
          return;
        }
        const cl = res.headers["content-length"];
        if (cl !== undefined && /^[0-9]+$/.test(String(cl))) expected = Number(cl);
        res.on("data", (d: Buffer) => (received += d.length));
        out = fs.createWriteStream(file, { flags: "w", mode: 0o644 });
        stream.pipeline(res, out, (err: Error | null | undefined) => {
          if (err) settle(new Error(`the connection broke${progress()} (${err.message})`));
          else if (expected !== undefined && received !== expected) {
            settle(new Error(`the body has ${received} bytes, Content-Length said ${expected}`));
          } else settle(undefined, {});
        });
      });
    } catch (e) {
      settle(e as Error);
      return;
    }
    req.setTimeout(limits.idleMs, () =>
      settle(new Error(`no data for ${limits.idleMs / 1000} s${progress()} (SWARMLAB_DOWNLOAD_IDLE_TIMEOUT)`)),
    );
    req.on("error", (e: Error) => settle(new Error(e.message)));
  });
}

/**
 * Downloads a URL into the user's cache (once), following at most 5 redirects and never from
 * https to http. Bounded in time (an idle timeout while connecting or receiving, and one for the
 * whole download; see downloadLimits), checked against Content-Length. The body goes to a
 * `.part` file that is renamed into place when complete and removed on any failure.
 */
export async function fetchToCache(url: string): Promise<string> {
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
  const limits = downloadLimits();
  // Unique per call, so that two stacks downloading the same image never share a part file.
  const tmp = `${file}.${process.pid}-${crypto.randomBytes(4).toString("hex")}.part`;
  const deadline = Date.now() + limits.totalMs;
  let current = url;
  try {
    for (let followed = 0; ; followed++) {
      const r = await downloadOnce(current, tmp, limits, deadline);
      if (r.location === undefined) break;
      current = nextRedirect(current, r.location, followed);
    }
    fs.renameSync(tmp, file);
    return file;
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    const via = current !== url ? ` (redirected to ${current})` : "";
    throw new Error(`download of ${url}${via} failed: ${(e as Error).message}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Volumes with uploaded content

/** Builds a NoCloud seed ISO (volume label cidata) in a temporary directory. */
export function buildSeedIso(spec: CloudInitSpec): { iso: string; cleanup: () => void } {
  const fs = require("fs");
  const os = require("os");
  const path = require("path");
  const cp = require("child_process");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-seed-"));
  const files = seedFiles(spec);
  for (const [name, content] of files) fs.writeFileSync(path.join(dir, name), content);
  const iso = path.join(dir, "seed.iso");
  const tool = ["genisoimage", "mkisofs", "xorrisofs"].find((t) => cp.spawnSync(t, ["--version"]).error === undefined);
  if (!tool) throw new Error("building the cloud-init seed needs genisoimage (apt-get install genisoimage)");
  const r = cp.spawnSync(
    tool,
    ["-quiet", "-output", iso, "-volid", "cidata", "-joliet", "-rock", ...files.map(([name]) => name)],
    { cwd: dir, encoding: "utf8" },
  );
  if (r.status !== 0) throw new Error(`${tool} failed: ${r.stderr}`);
  return { iso, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The marker of an upload this machine has begun: written before the volume is created, removed
 * once its content is complete (or the volume deleted again). A volume whose marker is still
 * there is the remnant of an interrupted upload.
 */
function uploadMarker(uri: string, pool: string, name: string): string {
  const os = require("os");
  const path = require("path");
  const crypto = require("crypto");
  const cacheRoot = process.env.SWARMLAB_CACHE || path.join(os.homedir(), ".cache", "swarmlab");
  const key = crypto.createHash("sha256").update(`${uri}\n${pool}\n${name}`).digest("hex").slice(0, 32);
  return path.join(cacheRoot, "uploads-in-progress", key);
}

async function uploadFile(uri: string, pool: string, name: string, file: string): Promise<void> {
  const fs = require("fs");
  const path = require("path");
  const size = fs.statSync(file).size;
  const marker = uploadMarker(uri, pool, name);
  fs.mkdirSync(path.dirname(marker), { recursive: true });
  fs.writeFileSync(marker, JSON.stringify({ uri, pool, name, file, pid: process.pid, started: new Date().toISOString() }) + "\n");
  try {
    await virsh(uri, ["vol-create-as", pool, name, String(size), "--format", "raw"]);
  } catch (e) {
    fs.rmSync(marker, { force: true });
    throw e;
  }
  try {
    await virsh(uri, ["vol-upload", "--pool", pool, name, file]);
  } catch (e) {
    // The volume is this call's own: remove it, and the marker only once it is gone.
    await virsh(uri, ["vol-delete", "--pool", pool, name]).then(
      () => fs.rmSync(marker, { force: true }),
      () => undefined,
    );
    throw e;
  }
  fs.rmSync(marker, { force: true });
}

/**
 * Downloads at most `limit` bytes of a volume's content into a temporary file; `use` gets its
 * path. The cap keeps a mistaken comparison with a large volume cheap.
 */
async function withVolumeContent<T>(p: VirshInputs, limit: number, use: (file: string) => Promise<T>): Promise<T> {
  const fs = require("fs");
  const os = require("os");
  const path = require("path");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-vol-"));
  try {
    const file = path.join(dir, "content");
    await virsh(p.uri, ["vol-download", "--pool", p.pool ?? "", "--length", String(limit), p.name, file]);
    return await use(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The local file of a base image (downloaded when it is a URL), its sha256 checked if given. */
async function localImage(spec: UploadSpec): Promise<string> {
  const fs = require("fs");
  const local = /^https?:\/\//.test(spec.source) ? await fetchToCache(spec.source) : spec.source;
  if (!fs.existsSync(local)) throw new Error(`base image ${local} does not exist`);
  if (spec.sha256) {
    const got = await sha256File(local);
    if (got !== spec.sha256.toLowerCase()) {
      throw new Error(`base image ${spec.source} has sha256 ${got}, expected ${spec.sha256}`);
    }
  }
  return local;
}

// ---------------------------------------------------------------------------------------------
// Create: adopt what is already there if it is ours, never touch it otherwise

function describeObject(p: VirshInputs): string {
  return p.kind === "volume" ? `volume "${p.name}" in pool "${p.pool}"` : `${p.kind} "${p.name}"`;
}

/** The error for an existing object that is not what this stack defines; nothing was changed. */
function refusal(p: VirshInputs, difference: string): Error {
  const c = `virsh -c ${p.uri}`;
  const removal =
    p.kind === "network"
      ? `${c} net-destroy ${p.name}; ${c} net-undefine ${p.name}`
      : p.kind === "pool"
        ? `${c} pool-destroy ${p.name}; ${c} pool-undefine ${p.name}`
        : p.kind === "volume"
          ? `${c} vol-delete --pool ${p.pool} ${p.name}`
          : `${c} destroy ${p.name}; ${c} undefine ${p.name}`;
  return new Error(
    `libvirt ${describeObject(p)} (${p.uri}) already exists and is not the one this stack defines: ${difference}. ` +
      `It was left untouched. If it is left over from an earlier or interrupted run, remove it ` +
      `(${removal}) and run \`npm run up\` again; if another stack owns it, run \`npm run down\` for that stack or use another stack name.`,
  );
}

/** Throws (a refusal) unless libvirt's definition `present` has everything p.xml specifies. */
function requireSameDefinition(p: VirshInputs, present: string): void {
  let difference: string | undefined;
  try {
    difference = definitionDifference(p.xml ?? "", present);
  } catch (e) {
    throw new Error(`cannot compare the existing ${describeObject(p)} (${p.uri}) with this stack's definition: ${(e as Error).message}`);
  }
  if (difference) throw refusal(p, difference);
}

/** Output of virsh `args`, or undefined when virsh says the object does not exist. */
async function virshUnlessMissing(uri: string, args: string[]): Promise<string | undefined> {
  try {
    return await virsh(uri, args);
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

/** Runs `steps` on an object this call has just defined; if one fails, runs `undo` (all of it). */
async function runOrUndo(uri: string, steps: string[][], undo: string[][]): Promise<void> {
  try {
    for (const s of steps) await virsh(uri, s);
  } catch (e) {
    const failed: string[] = [];
    for (const u of undo) {
      await virsh(uri, u).catch((ue: Error) => {
        if (!isMissing(ue) && !isNotActive(ue)) failed.push(ue.message);
      });
    }
    const msg = (e as Error).message;
    throw new Error(failed.length === 0 ? `${msg} (what this run had defined was removed again)` : `${msg}; removing what this run had defined failed too: ${failed.join("; ")}`);
  }
}

/** Runs `steps` on an object that existed before this call; a failure leaves it as it is. */
async function runOnExisting(p: VirshInputs, steps: string[][]): Promise<void> {
  try {
    for (const s of steps) await virsh(p.uri, s);
  } catch (e) {
    throw new Error(`${(e as Error).message} (the ${describeObject(p)} existed before this run, matches this stack's definition, and was left in place)`);
  }
}

async function createVolume(p: VirshInputs): Promise<void> {
  const fs = require("fs");
  const pool = p.pool ?? "";
  let present = await virshUnlessMissing(p.uri, ["vol-dumpxml", "--pool", pool, p.name]);
  if (!p.cloudInit && !p.upload) {
    // A volume from XML (the overlay disk): adopted when it has our capacity, format and backing file.
    if (present !== undefined) {
      requireSameDefinition(p, present);
      return;
    }
    await virshWithFile(p.uri, ["vol-create", pool], p.xml ?? "");
    return;
  }
  // Volumes with uploaded content. An existing one is deleted and uploaded again only when this
  // machine's marker says it is the remnant of our own interrupted upload. Otherwise it is
  // adopted only if its content is provably ours, and refused if not:
  //  - the base image: its bytes must be the local (checked) image's, compared by length and
  //    sha256 after downloading at most the image's size + 1 bytes of the volume (costly over a
  //    remote URI, but only on this rare path, and never wrong);
  //  - the cloud-init seed: small, so it is downloaded (at most 16 MiB) and must be an ISO
  //    labelled cidata holding exactly our user-data, meta-data and network-config. Comparing
  //    sizes alone would not do: a seed with another SSH key of the same length has the same size.
  const marker = uploadMarker(p.uri, pool, p.name);
  if (present !== undefined && fs.existsSync(marker)) {
    process.stderr.write(`swarmlab: ${describeObject(p)} is left over from an interrupted upload; uploading it again\n`);
    await virsh(p.uri, ["vol-delete", "--pool", pool, p.name]);
    fs.rmSync(marker, { force: true });
    present = undefined;
  }
  if (p.cloudInit) {
    const spec = p.cloudInit;
    if (present !== undefined) {
      const limit = 16 * 1024 * 1024 + 1;
      const difference = await withVolumeContent(p, limit, async (file) => seedIsoDifference(fs.readFileSync(file), spec));
      if (difference) throw refusal(p, difference);
      return;
    }
    const seed = buildSeedIso(spec);
    try {
      await uploadFile(p.uri, pool, p.name, seed.iso);
    } finally {
      seed.cleanup();
    }
    return;
  }
  const local = await localImage(p.upload as UploadSpec);
  if (present !== undefined) {
    const size = fs.statSync(local).size;
    const difference = await withVolumeContent(p, size + 1, async (file) => {
      const got = fs.statSync(file).size;
      if (got !== size) return `it holds ${got > size ? "more than " + size : got} bytes, the image ${local} has ${size}`;
      if ((await sha256File(file)) !== (await sha256File(local))) return `its content differs from the image ${local}`;
      return undefined;
    });
    if (difference) throw refusal(p, difference);
    return;
  }
  await uploadFile(p.uri, pool, p.name, local);
}

async function createObject(p: VirshInputs): Promise<VirshOutputs> {
  let objPath = "";
  let state = "";
  let uuid = "";
  switch (p.kind) {
    case "network": {
      const present = await virshUnlessMissing(p.uri, ["net-dumpxml", p.name]);
      if (present !== undefined) {
        requireSameDefinition(p, present);
        if (!/Active:\s+yes/.test(await virsh(p.uri, ["net-info", p.name]))) await runOnExisting(p, [["net-start", p.name]]);
      } else {
        await virshWithFile(p.uri, ["net-define"], p.xml ?? "");
        await runOrUndo(p.uri, [["net-start", p.name]], [["net-destroy", p.name], ["net-undefine", p.name]]);
      }
      state = "active";
      break;
    }
    case "pool": {
      const present = await virshUnlessMissing(p.uri, ["pool-dumpxml", p.name]);
      if (present !== undefined) {
        requireSameDefinition(p, present);
        if (!/State:\s+running/.test(await virsh(p.uri, ["pool-info", p.name]))) {
          await runOnExisting(p, [["pool-build", p.name], ["pool-start", p.name]]);
        }
      } else {
        await virshWithFile(p.uri, ["pool-define"], p.xml ?? "");
        await runOrUndo(p.uri, [["pool-build", p.name], ["pool-start", p.name]], [["pool-destroy", p.name], ["pool-undefine", p.name]]);
      }
      objPath = ((await virsh(p.uri, ["pool-dumpxml", p.name])).match(/<path>([^<]+)<\/path>/) ?? [])[1] ?? "";
      state = "active";
      break;
    }
    case "volume":
      await createVolume(p);
      objPath = (await virsh(p.uri, ["vol-path", "--pool", p.pool ?? "", p.name])).trim();
      state = "present";
      break;
    case "domain": {
      const present = await virshUnlessMissing(p.uri, ["dumpxml", "--inactive", p.name]);
      if (present !== undefined) {
        requireSameDefinition(p, present);
        const current = (await virsh(p.uri, ["domstate", p.name])).trim();
        if (current === "shut off" || current === "crashed") await runOnExisting(p, [["start", p.name]]);
      } else {
        await virshWithFile(p.uri, ["define"], p.xml ?? "");
        await runOrUndo(p.uri, [["start", p.name]], [["destroy", p.name], ["undefine", p.name]]);
      }
      state = (await virsh(p.uri, ["domstate", p.name])).trim();
      uuid = (await virsh(p.uri, ["domuuid", p.name])).trim();
      break;
    }
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
      // With the metadata of its snapshots (npm run reset's baseline); their data lives in the disk.
      await virsh(p.uri, ["undefine", "--snapshots-metadata", p.name]).catch(tolerate);
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
