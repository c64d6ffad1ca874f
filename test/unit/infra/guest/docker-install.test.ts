/**
 * The Docker install step (dockerInstallScript) on the paths no test guest can take: CentOS 7
 * through yum, against a fake yum (test/fixtures/centos/bin/yum) that fetches repository
 * metadata with curl from a server on 127.0.0.1 answering the way the CentOS vault does, and
 * Debian/Ubuntu through fake apt-get/apt-cache/dpkg-query. The scripts run with bash in its
 * 4.2 compatibility mode (BASH_COMPAT=42, CentOS 7's bash); guest-bash42.test.ts keeps the
 * constructs bash 4.2 lacks out of them.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import type { AddressInfo } from "net";
import * as os from "os";
import * as path from "path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CENTOS7_VAULT_ROOTS, dockerInstallScript, YUM_TRIES } from "../../../../infra/guest/scripts";

const FIX = path.resolve(__dirname, "../../../fixtures/centos");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "swarmlab-docker-install-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/**
 * The host programs the scripts and fakes may use, linked into one directory: PATH holds the
 * fakes and this, never the host's /usr/bin as a whole (where a real docker may be).
 */
const toolbox = path.join(tmp, "toolbox");
beforeAll(() => {
  fs.mkdirSync(toolbox);
  const tools = "bash sh env awk sed grep sort tail head tr cat cut mktemp rm mv cp touch chmod curl seq sleep wc paste".split(" ");
  for (const t of tools) {
    const r = spawnSync("bash", ["-c", `type -P ${t}`], { encoding: "utf8" });
    expect(r.status, `${t} is needed on the test machine`).toBe(0);
    fs.symlinkSync(r.stdout.trim(), path.join(toolbox, t));
  }
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a script with bash in 4.2 mode, asynchronously (the metadata server lives in this process). */
function bash(script: string, env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(toolbox, "bash"), ["-c", script], { env: { ...env, BASH_COMPAT: "42", LC_ALL: "C" } });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

/**
 * The vault and its mirror, on 127.0.0.1: the fake yum asks for scheme://host/path as
 * /host/path. `answer` gets that host/path and how often it was asked for before.
 */
interface Mirror {
  url: string;
  requests: string[];
  close(): Promise<void>;
}
async function mirror(answer: (hostPath: string, seen: number) => number): Promise<Mirror> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const hostPath = (req.url ?? "/").slice(1);
    const seen = requests.filter((r) => r === hostPath).length;
    requests.push(hostPath);
    const status = answer(hostPath, seen);
    res.writeHead(status, { "content-type": "application/octet-stream" });
    res.end(status === 200 ? "metadata\n" : `${status}\n`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const VAULT = "vault.centos.org/7.9.2009";
const KERNEL_ORG = "archive.kernel.org/centos-vault/7.9.2009";
const PRIMARY = "repodata/x-primary.sqlite.bz2";
/** The vault as it has behaved since 2026: repomd.xml served, the primary database refused. */
const vault403 = (hostPath: string) => (hostPath.startsWith(VAULT) && hostPath.endsWith(PRIMARY) ? 403 : 200);

interface CentosRun extends Run {
  etc: string;
  installed: string;
  yumCalls: string[];
}

let runs = 0;
/** A CentOS 7 guest without Docker: a copy of the fixture /etc, fake yum and rpm, the mirror. */
async function centos(m: Mirror, version?: string, etc?: string): Promise<CentosRun> {
  const dir = path.join(tmp, `centos-${++runs}`);
  const bin = path.join(dir, "bin");
  const state = path.join(dir, "state");
  fs.mkdirSync(bin, { recursive: true });
  fs.mkdirSync(state);
  if (!etc) {
    etc = path.join(dir, "etc");
    fs.cpSync(path.join(FIX, "etc"), etc, { recursive: true });
  }
  fs.writeFileSync(path.join(bin, "systemctl"), "#!/bin/sh\nexit 0\n", { mode: 0o755 });
  const r = await bash(dockerInstallScript({ version, retryPauseSec: 0, etcDir: etc }), {
    PATH: `${bin}:${path.join(FIX, "bin")}:${toolbox}`,
    FAKE_YUM_ETC: etc,
    FAKE_YUM_SERVER: m.url,
    FAKE_YUM_LIST: path.join(FIX, "yum-list-docker-el7.txt"),
    FAKE_YUM_STATE: state,
    FAKE_YUM_BIN: bin,
  });
  const read = (f: string) => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : "");
  return { ...r, etc, installed: read(path.join(state, "installed")), yumCalls: read(path.join(state, "yum-calls")).trim().split("\n").filter(Boolean) };
}

/** The "swarmlab: installed ..." line of a run. */
const installedLine = (r: Run) => r.stderr.split("\n").find((l) => l.startsWith("swarmlab: installed "));

describe("CentOS 7 Docker install against a vault that answers 403", { timeout: 30_000 }, () => {
  it("points every CentOS repository at the vault and its kernel.org mirror, 7.9.2009 spelt out", async () => {
    const m = await mirror(() => 200);
    try {
      const r = await centos(m);
      expect(r.stderr).not.toContain("Trying other mirror");
      expect(r.status).toBe(0);
      for (const f of ["CentOS-Base.repo", "CentOS-x86_64-kernel.repo"]) {
        expect(fs.readFileSync(path.join(r.etc, "yum.repos.d", f), "utf8"), f).toBe(fs.readFileSync(path.join(FIX, "expected", f), "utf8"));
      }
      // Not a CentOS mirror URL: left as it was.
      expect(fs.readFileSync(path.join(r.etc, "yum.repos.d/CentOS-Debuginfo.repo"), "utf8")).toBe(fs.readFileSync(path.join(FIX, "etc/yum.repos.d/CentOS-Debuginfo.repo"), "utf8"));
      expect(fs.readFileSync(path.join(r.etc, "yum.repos.d/docker-ce.repo"), "utf8")).toContain("baseurl=https://download.docker.com/linux/centos/$releasever/$basearch/stable\n");
      // yum read base, updates and extras from both base URLs' notation, and Docker's repository.
      expect(m.requests).toContain(`${VAULT}/os/x86_64/${PRIMARY}`);
      expect(m.requests).toContain(`download.docker.com/linux/centos/7/x86_64/stable/${PRIMARY}`);
      // Run again on the same /etc (a step retried after a failure): nothing changes.
      const again = await centos(m, undefined, r.etc);
      expect(again.status).toBe(0);
      expect(fs.readFileSync(path.join(r.etc, "yum.repos.d/CentOS-Base.repo"), "utf8")).toBe(fs.readFileSync(path.join(FIX, "expected/CentOS-Base.repo"), "utf8"));
      expect(CENTOS7_VAULT_ROOTS.map((u) => u.replace(/^https?:\/\//, ""))).toEqual(["vault.centos.org", "archive.kernel.org/centos-vault"]);
    } finally {
      await m.close();
    }
  });

  it("fails over to the mirror when the vault refuses the primary database", async () => {
    const m = await mirror(vault403);
    try {
      const r = await centos(m);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain(`http://${VAULT}/os/x86_64/${PRIMARY}: [Errno 14] HTTP Error 403 - Forbidden\nTrying other mirror.`);
      expect(r.stderr).not.toContain("failed (try");
      // For each yum command (Docker's packages, then tcpdump): repomd.xml from the vault, the
      // primary database from the vault (403), then from kernel.org.
      expect(r.yumCalls).toEqual(["install -y -q docker-ce docker-ce-cli containerd.io", "install -y -q tcpdump"]);
      const once = [`${VAULT}/os/x86_64/repodata/repomd.xml`, `${VAULT}/os/x86_64/${PRIMARY}`, `${KERNEL_ORG}/os/x86_64/${PRIMARY}`];
      expect(m.requests.filter((q) => q.includes("/os/x86_64/"))).toEqual([...once, ...once]);
      expect(r.stdout).toBe("docker=26.1.4\n");
    } finally {
      await m.close();
    }
  });

  it("tries a failing yum command again, and goes on when a later try works", async () => {
    // Both base URLs refuse the first time round; then the mirror recovers.
    let mirrorAsked = 0;
    const m = await mirror((hp) => {
      if (!hp.endsWith(PRIMARY)) return 200;
      if (hp.startsWith(VAULT)) return 403;
      return hp.startsWith(KERNEL_ORG) && mirrorAsked++ === 0 ? 403 : 200;
    });
    try {
      const r = await centos(m, "20.10");
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toContain(`swarmlab: yum list failed (try 1 of ${YUM_TRIES}); trying again in 0s`);
      expect(r.stderr).not.toContain("try 2 of");
      expect(r.yumCalls.filter((c) => c.startsWith("list"))).toHaveLength(2);
      expect(installedLine(r)).toBe("swarmlab: installed docker-ce 20.10.24-3.el7, docker-ce-cli 20.10.24-3.el7, containerd.io 1.6.33-3.1.el7");
    } finally {
      await m.close();
    }
  });

  it(`gives up after ${YUM_TRIES} tries, naming each URL and the HTTP status yum reported`, async () => {
    const m = await mirror((hp) => (hp.endsWith(PRIMARY) && !hp.startsWith("download.docker.com") ? 403 : 200));
    try {
      const r = await centos(m, "20.10");
      expect(r.status).toBe(1);
      const last = r.stderr.trim().split("\n").pop();
      expect(last).toBe(
        `swarmlab: listing the versions of docker-ce failed ${YUM_TRIES} times; yum reported: ` +
          `http://${VAULT}/os/x86_64/${PRIMARY}: HTTP 403 Forbidden; https://${KERNEL_ORG}/os/x86_64/${PRIMARY}: HTTP 403 Forbidden`,
      );
      expect(m.requests.filter((q) => q === `${VAULT}/os/x86_64/${PRIMARY}`)).toHaveLength(YUM_TRIES);
      expect(m.requests.filter((q) => q === `${KERNEL_ORG}/os/x86_64/${PRIMARY}`)).toHaveLength(YUM_TRIES);
      expect(r.yumCalls.filter((c) => c.startsWith("install"))).toEqual([]);
      expect(r.installed).toBe("");
    } finally {
      await m.close();
    }
  });

  it("names a connection failure the way yum reported it", async () => {
    // Nothing listens where the metadata should be: curl cannot connect at all.
    const m = await mirror(() => 200);
    await m.close();
    const r = await centos(m);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split("\n").pop()).toMatch(
      new RegExp(`^swarmlab: yum install docker-ce docker-ce-cli containerd.io failed ${YUM_TRIES} times; yum reported: http://${VAULT.replace(/\./g, "\\.")}/os/x86_64/repodata/repomd\\.xml: curl#7 - "Failed to connect`),
    );
  });

  it("falls back on yum's last words when it reported no URL", async () => {
    // A repository of another vendor still on a (dead) mirrorlist: yum cannot even start.
    const m = await mirror(() => 200);
    try {
      const etc = path.join(tmp, `epel-${++runs}`);
      fs.cpSync(path.join(FIX, "etc"), etc, { recursive: true });
      fs.writeFileSync(path.join(etc, "yum.repos.d/epel.repo"), "[epel]\nname=EPEL 7\nmetalink=https://mirrors.fedoraproject.org/metalink?repo=epel-7\nmirrorlist=http://mirrorlist.centos.org/?repo=epel-7\nenabled=1\n");
      const r = await centos(m, undefined, etc);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split("\n").pop()).toBe(
        `swarmlab: yum install docker-ce docker-ce-cli containerd.io failed ${YUM_TRIES} times; yum reported: ` +
          `Could not retrieve mirrorlist http://mirrorlist.centos.org/?repo=epel-7 error was; 14: curl#6 - "Could not resolve host: mirrorlist.centos.org; Unknown error"; Cannot find a valid baseurl for repo: epel/7/x86_64`,
      );
    } finally {
      await m.close();
    }
  });
});

describe("CentOS 7 Docker version pin (Docker's el7 repository as yum lists it)", { timeout: 30_000 }, () => {
  let m: Mirror;
  beforeAll(async () => {
    m = await mirror(vault403);
  });
  afterAll(() => m.close());

  const cases: [string, string, string][] = [
    ["20.10", "3:20.10.24-3.el7 is the newest 20.10.x", "docker-ce 20.10.24-3.el7, docker-ce-cli 20.10.24-3.el7, containerd.io 1.6.33-3.1.el7"],
    ["24.0.7", "exactly", "docker-ce 24.0.7-1.el7, docker-ce-cli 24.0.7-1.el7, containerd.io 1.6.33-3.1.el7"],
    ["26.1", "el7's last line", "docker-ce 26.1.4-1.el7, docker-ce-cli 26.1.4-1.el7, containerd.io 1.6.33-3.1.el7"],
    ["18.09", "the first with its own CLI package", "docker-ce 18.09.9-3.el7, docker-ce-cli 18.09.9-3.el7, containerd.io 1.6.33-3.1.el7"],
    ["17.03", "the documented engine, CLI and containerd inside", "docker-ce 17.03.3.ce-1.el7"],
  ];
  for (const [want, why, installed] of cases) {
    it(`${want}: ${why}`, async () => {
      const r = await centos(m, want);
      expect(r.status, r.stderr).toBe(0);
      expect(installedLine(r)).toBe(`swarmlab: installed ${installed}`);
      const docker = r.installed.split("\n").find((l) => l.startsWith("docker-ce "))!.split(" ")[1]!;
      const server = docker.replace(/-.*/, "").replace(/\.ce$/, "-ce");
      expect(r.stdout).toBe(`docker=${server}\n`);
    });
  }

  it("20.1 is not 20.10: no such version, and the message lists what there is", async () => {
    const r = await centos(m, "20.1");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(
      "swarmlab: docker-ce 20.1 is not available from the Docker repository (it has 17.03 17.06 17.09 17.12 18.03 18.06 18.09 19.03 20.10 23.0 24.0 25.0 26.0 26.1)",
    );
    expect(r.yumCalls.filter((c) => c.startsWith("install"))).toEqual([]);
  });

  it("26.1.40 is not 26.1.4", async () => {
    const r = await centos(m, "26.1.40");
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("docker-ce 26.1.40 is not available");
  });

  it("unpinned: the newest of each, and says which", async () => {
    const r = await centos(m);
    expect(r.status, r.stderr).toBe(0);
    expect(r.yumCalls.filter((c) => c.startsWith("list"))).toEqual([]);
    expect(r.yumCalls[0]).toBe("install -y -q docker-ce docker-ce-cli containerd.io");
    expect(installedLine(r)).toBe("swarmlab: installed docker-ce 26.1.4-1.el7, docker-ce-cli 26.1.4-1.el7, containerd.io 1.6.33-3.1.el7");
  });

  it("reads a package yum wrapped onto two lines", async () => {
    // yum puts a long name.arch alone on its line and the version and repository on the next.
    const list = path.join(tmp, "wrapped-list.txt");
    const lines = fs.readFileSync(path.join(FIX, "yum-list-docker-el7.txt"), "utf8").split("\n");
    fs.writeFileSync(list, lines.map((l) => l.replace(/^(docker-ce-cli\.x86_64) +(1:26\.1\.4-1\.el7) +/, "$1\n                            $2   ")).join("\n"));
    const script = dockerInstallScript({ version: "26.1.4", retryPauseSec: 0 });
    // Only the parsing: the awk that turns yum's listing into "name version" lines.
    const awk = /\n {8}awk ('NF == 1[\s\S]*?print n, v \}') \\\n/.exec(script)![1]!;
    const r = spawnSync("bash", ["-c", `awk ${awk} ${list}`], { encoding: "utf8" });
    expect(r.stdout.split("\n")).toContain("docker-ce-cli 26.1.4-1.el7");
    expect(r.stdout.split("\n").filter((l) => l.startsWith("docker-ce-cli ")).length).toBe(lines.filter((l) => l.startsWith("docker-ce-cli.")).length);
  });
});

/** apt-cache madison output of a distribution, as "package version" pairs. */
const MADISON: Record<string, [string, string, string][]> = {
  bookworm: [
    ["docker.io", "20.10.24+dfsg1-1+deb12u1+b6", "http://deb.debian.org/debian bookworm-updates/main amd64 Packages"],
    ["docker.io", "20.10.24+dfsg1-1+b3", "http://deb.debian.org/debian bookworm/main amd64 Packages"],
  ],
  trixie: [
    ["docker.io", "26.1.5+dfsg1-9+deb13u1+b1", "http://deb.debian.org/debian trixie/main amd64 Packages"],
    ["docker-cli", "26.1.5+dfsg1-9+deb13u1+b1", "http://deb.debian.org/debian trixie/main amd64 Packages"],
  ],
  jammy: [
    ["docker.io", "24.0.7-0ubuntu2~22.04.1", "http://archive.ubuntu.com/ubuntu jammy-updates/universe amd64 Packages"],
    ["docker.io", "20.10.12-0ubuntu4", "http://archive.ubuntu.com/ubuntu jammy/universe amd64 Packages"],
  ],
};
const OS_RELEASE: Record<string, string> = {
  bookworm: 'ID=debian\nVERSION_ID="12"\nVERSION_CODENAME=bookworm\n',
  trixie: 'ID=debian\nVERSION_ID="13"\nVERSION_CODENAME=trixie\n',
  jammy: 'ID=ubuntu\nVERSION_ID="22.04"\nVERSION_CODENAME=jammy\n',
};

/** A Debian/Ubuntu guest without Docker: fake apt-cache (madison), apt-get and dpkg-query. */
async function debian(suite: string, version?: string): Promise<Run & { aptCalls: string[] }> {
  const dir = path.join(tmp, `${suite}-${++runs}`);
  const bin = path.join(dir, "bin");
  const etc = path.join(dir, "etc");
  fs.mkdirSync(bin, { recursive: true });
  fs.mkdirSync(etc);
  fs.writeFileSync(path.join(etc, "os-release"), OS_RELEASE[suite]!);
  const madison = path.join(dir, "madison");
  fs.writeFileSync(madison, MADISON[suite]!.map(([p, v, src]) => `${p.padStart(10)} | ${v} | ${src}\n`).join(""));
  const installed = path.join(dir, "installed");
  const calls = path.join(dir, "apt-calls");
  const exe = (name: string, body: string) => fs.writeFileSync(path.join(bin, name), `#!/usr/bin/env bash\n${body}`, { mode: 0o755 });
  exe("apt-cache", `[ "$1" = madison ] || exit 0\nawk -F'|' -v p="$2" '{ n = $1; gsub(/ /, "", n) } n == p' ${madison}\n`);
  exe(
    "apt-get",
    `echo "$*" >>${calls}
for a in "$@"; do
  case "$a" in
    -*|install|update|Acquire::*) ;;
    *=*) echo "\${a%%=*} \${a#*=}" >>${installed} ;;
    *) v=$(awk -F'|' -v p="$a" '{ n = $1; gsub(/ /, "", n); v = $2; gsub(/ /, "", v) } n == p { print v; exit }' ${madison}); echo "$a \${v:-1.0}" >>${installed} ;;
  esac
done
if grep -q '^docker.io ' ${installed} 2>/dev/null; then
  printf '#!/bin/sh\\necho Docker version\\n' >${bin}/dockerd
  # The CLI: in docker.io itself, or (Debian 13 on) in docker-cli.
  if ! grep -q '^docker-cli ' ${madison} || grep -q '^docker-cli ' ${installed}; then
    printf '#!/bin/sh\\ncase "$1" in info) exit 0 ;; version) awk '"'"'$1 == "docker.io" { v = $2; sub(/-[^-]*$/, "", v); print v }'"'"' ${installed} ;; esac\\n' >${bin}/docker
  fi
  chmod 755 ${bin}/dockerd ${bin}/docker 2>/dev/null || true
fi
`,
  );
  exe("dpkg-query", `while read -r p v; do for a in "$@"; do [ "$a" = "$p" ] && echo "installed $p $v"; done; done <${installed}\nexit 0\n`);
  exe("systemctl", "exit 0\n");
  exe("tcpdump", "exit 0\n");
  const r = await bash(dockerInstallScript({ version, etcDir: etc }), { PATH: `${bin}:${toolbox}` });
  return { ...r, aptCalls: fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n") : [] };
}

describe("Debian and Ubuntu Docker version pin (apt-cache madison docker.io)", { timeout: 30_000 }, () => {
  const cases: [string, string | undefined, string, string][] = [
    ["bookworm", "20.10", "install -y -q docker.io=20.10.24+dfsg1-1+deb12u1+b6", "docker.io 20.10.24+dfsg1-1+deb12u1+b6"],
    ["bookworm", "20.10.24", "install -y -q docker.io=20.10.24+dfsg1-1+deb12u1+b6", "docker.io 20.10.24+dfsg1-1+deb12u1+b6"],
    ["bookworm", undefined, "install -y -q docker.io", "docker.io 20.10.24+dfsg1-1+deb12u1+b6"],
    ["trixie", "26.1", "install -y -q docker.io=26.1.5+dfsg1-9+deb13u1+b1 docker-cli=26.1.5+dfsg1-9+deb13u1+b1", "docker.io 26.1.5+dfsg1-9+deb13u1+b1, docker-cli 26.1.5+dfsg1-9+deb13u1+b1"],
    ["trixie", undefined, "install -y -q docker.io docker-cli", "docker.io 26.1.5+dfsg1-9+deb13u1+b1, docker-cli 26.1.5+dfsg1-9+deb13u1+b1"],
    ["jammy", "20.10", "install -y -q docker.io=20.10.12-0ubuntu4", "docker.io 20.10.12-0ubuntu4"],
    ["jammy", "24.0.7", "install -y -q docker.io=24.0.7-0ubuntu2~22.04.1", "docker.io 24.0.7-0ubuntu2~22.04.1"],
  ];
  for (const [suite, want, install, installed] of cases) {
    it(`${suite}, ${want ?? "unpinned"}: ${install.replace("install -y -q ", "")}`, async () => {
      const r = await debian(suite, want);
      expect(r.status, r.stderr).toBe(0);
      expect(r.aptCalls).toContain(`-o Acquire::Retries=3 ${install}`);
      expect(installedLine(r)).toBe(`swarmlab: installed ${installed}`);
    });
  }
  for (const [suite, want] of [
    ["bookworm", "20.1"],
    ["trixie", "26.1.50"],
    ["jammy", "24.0.70"],
  ] as const) {
    it(`${suite}: ${want} matches nothing (version boundary)`, async () => {
      const r = await debian(suite, want);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`swarmlab: docker.io ${want} is not available from this distribution's repositories`);
      expect(r.aptCalls.some((c) => c.includes(" install "))).toBe(false);
    });
  }
});
