/**
 * Dynamic resources that live on the user's machine: the stack's SSH key pair and the
 * `.swarmlab/<stack>/` directory (inventory, ssh_config, key file).
 * Same rules as the libvirt provider: Node built-ins only, required inside the methods.
 * Also the CLI's ensurePassphraseFile.
 */
import * as pulumi from "@pulumi/pulumi";

/** Encodes an RSA public key (from its JWK) in OpenSSH's `ssh-rsa AAAA...` form. */
function opensshRsaPublicKey(jwk: { n: string; e: string }, comment: string): string {
  const b64u = (s: string) => Buffer.from(s, "base64url");
  const mpint = (b: Buffer) => (b[0] & 0x80 ? Buffer.concat([Buffer.from([0]), b]) : b);
  const field = (b: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(b.length);
    return Buffer.concat([len, b]);
  };
  const blob = Buffer.concat([field(Buffer.from("ssh-rsa")), field(mpint(b64u(jwk.e))), field(mpint(b64u(jwk.n)))]);
  return `ssh-rsa ${blob.toString("base64")} ${comment}`;
}

export const sshKeyProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: { comment: string }) {
    const crypto = require("crypto");
    // PKCS#1 PEM RSA: read by OpenSSH, Go's x/crypto/ssh (the command provider) and ssh2 (node-ssh).
    const { publicKey, privateKey } = crypto.generateKeyPairSync("rsa", {
      modulusLength: 3072,
      privateKeyEncoding: { type: "pkcs1", format: "pem" },
      publicKeyEncoding: { type: "spki", format: "pem" },
    });
    const jwk = crypto.createPublicKey(publicKey).export({ format: "jwk" });
    const openssh = opensshRsaPublicKey(jwk, inputs.comment);
    const fingerprint =
      "SHA256:" + crypto.createHash("sha256").update(Buffer.from(openssh.split(" ")[1], "base64")).digest("base64").replace(/=+$/, "");
    return {
      id: fingerprint,
      outs: { comment: inputs.comment, publicKeyOpenssh: openssh, privateKeyPem: privateKey, fingerprint },
    };
  },
  // Generated once per stack: a later `up` never regenerates it, whatever changes.
  async diff() {
    return { changes: false };
  },
};

/** The stack's SSH key pair. The private key is a Pulumi secret. */
export class SshKeyPair extends pulumi.dynamic.Resource {
  declare public readonly publicKeyOpenssh: pulumi.Output<string>;
  declare public readonly privateKeyPem: pulumi.Output<string>;
  declare public readonly fingerprint: pulumi.Output<string>;

  constructor(name: string, args: { comment: pulumi.Input<string> }, opts?: pulumi.CustomResourceOptions) {
    super(
      sshKeyProvider,
      name,
      { ...args, publicKeyOpenssh: undefined, privateKeyPem: undefined, fingerprint: undefined },
      { ...opts, additionalSecretOutputs: ["privateKeyPem"] },
    );
  }
}

export interface LabFilesInputs {
  dir: string;
  inventory: string;
  sshConfig: string;
  privateKeyPem: string;
}

const LAB_FILES = ["inventory.json", "ssh_config", "id_swarmlab"];

/**
 * Replaces `file` with `data` atomically: written and synced under a fresh temporary name in the
 * same directory (created exclusively, `wx`, with `mode` from the start), then renamed over
 * `file`. A crash leaves the old file or the new one, never a truncated one; a failure removes
 * the temporary file.
 */
function writeFileAtomic(file: string, data: string, mode: number): void {
  const fs = require("fs");
  const path = require("path");
  const crypto = require("crypto");
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}-${crypto.randomBytes(6).toString("hex")}.tmp`);
  const fd = fs.openSync(tmp, "wx", mode);
  try {
    try {
      // Exactly `mode` whatever the umask, before any byte is written.
      fs.fchmodSync(fd, mode);
      fs.writeFileSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

function writeLabFiles(p: LabFilesInputs): void {
  const fs = require("fs");
  const path = require("path");
  fs.mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(path.join(p.dir, "inventory.json"), p.inventory, 0o644);
  writeFileAtomic(path.join(p.dir, "ssh_config"), p.sshConfig, 0o644);
  writeFileAtomic(path.join(p.dir, "id_swarmlab"), p.privateKeyPem, 0o600);
}

/** What the state keeps of the files: never the key itself, only its digest. */
function labFilesOuts(p: LabFilesInputs) {
  const crypto = require("crypto");
  const keyDigest = crypto.createHash("sha256").update(p.privateKeyPem).digest("hex");
  return { dir: p.dir, inventory: p.inventory, sshConfig: p.sshConfig, keyDigest, files: LAB_FILES };
}

export const labFilesProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: LabFilesInputs) {
    writeLabFiles(inputs);
    return { id: inputs.dir, outs: labFilesOuts(inputs) };
  },
  async diff(_id: string, olds: any, news: LabFilesInputs) {
    const next: any = labFilesOuts(news);
    const changed = ["dir", "inventory", "sshConfig", "keyDigest"].filter((k) => olds[k] !== next[k]);
    return { changes: changed.length > 0, replaces: changed.includes("dir") ? ["dir"] : [], deleteBeforeReplace: true };
  },
  async update(_id: string, _olds: any, news: LabFilesInputs) {
    writeLabFiles(news);
    return { outs: labFilesOuts(news) };
  },
  async read(id: string, props: any) {
    const fs = require("fs");
    return fs.existsSync(props.dir) ? { id, props } : { id: "", props: {} };
  },
  async delete(_id: string, props: { dir: string }) {
    const fs = require("fs");
    const path = require("path");
    // known_hosts is written by ssh through our ssh_config, so it is ours to remove too.
    for (const f of [...LAB_FILES, "known_hosts", "known_hosts.old"]) fs.rmSync(path.join(props.dir, f), { force: true });
    try {
      fs.rmdirSync(props.dir);
    } catch {
      // Not empty: the user keeps files of their own there; leave the directory.
    }
  },
};

/** `.swarmlab/<stack>/`: what `ssh -F` and `npm run verify` need. */
export class LabFiles extends pulumi.dynamic.Resource {
  declare public readonly dir: pulumi.Output<string>;
  declare public readonly files: pulumi.Output<string[]>;

  constructor(name: string, args: { [K in keyof LabFilesInputs]: pulumi.Input<LabFilesInputs[K]> }, opts?: pulumi.CustomResourceOptions) {
    super(labFilesProvider, name, { ...args, files: undefined }, opts);
  }
}

/**
 * Makes sure the Pulumi passphrase file `file` exists with mode 0600, for the CLI (not a
 * provider; it requires its modules inside like the rest of this file all the same).
 *
 * A new passphrase is written and synced under a temporary name (created with `wx`, mode 0600)
 * and then hard-linked to `file`: link() fails when `file` exists, so of two processes racing
 * here exactly one creates it, and nobody ever sees it half-written; the other keeps the
 * winner's file. Where the filesystem has no hard links, `file` itself is created with `wx`.
 * An existing file that group or others can access is set to 0600, with one line on stderr.
 */
export function ensurePassphraseFile(file: string): void {
  const fs = require("fs");
  const path = require("path");
  const crypto = require("crypto");
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (!fs.existsSync(file)) {
    const passphrase = crypto.randomBytes(24).toString("base64url") + "\n";
    const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}-${crypto.randomBytes(6).toString("hex")}.tmp`);
    const fd = fs.openSync(tmp, "wx", 0o600);
    try {
      try {
        fs.fchmodSync(fd, 0o600);
        fs.writeFileSync(fd, passphrase);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      try {
        fs.linkSync(tmp, file);
      } catch (e) {
        const code = (e as { code?: string }).code;
        if (code === "EPERM" || code === "ENOTSUP" || code === "EOPNOTSUPP" || code === "ENOSYS") {
          try {
            fs.writeFileSync(file, passphrase, { flag: "wx", mode: 0o600 });
          } catch (e2) {
            if ((e2 as { code?: string }).code !== "EEXIST") throw e2;
          }
        } else if (code !== "EEXIST") throw e;
        // EEXIST: another process created it first; its passphrase stands.
      }
    } finally {
      fs.rmSync(tmp, { force: true });
    }
  }
  const mode = fs.statSync(file).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    fs.chmodSync(file, 0o600);
    process.stderr.write(`swarmlab: ${file} was accessible to group or others (mode ${mode.toString(8).padStart(4, "0")}); set it to 0600\n`);
  }
}
