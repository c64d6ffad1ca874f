/**
 * The seed as a script (`swarmlab-init.sh`, guestInitScript) for guest images without
 * cloud-init, run by /bin/sh against a directory standing in for the guest's root, with
 * stand-ins for the programs that would change the machine (hostname, useradd, ip, ...).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { guestInitScript, networkConfig, userData, type SeedArgs } from "../../../../infra/guest/cloudinit";

/** js-yaml comes with @pulumi/pulumi; typed here for the little the tests use. */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require("js-yaml") as { load(text: string): unknown };

const ARGS: SeedArgs = {
  hostname: "docker0.local",
  user: "swarmlab",
  publicKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO7 it's swarmlab",
  mac: "52:54:00:AB:CD:10",
  address: "192.168.123.10",
  prefix: 24,
  gateway: "192.168.123.1",
  peers: [
    { hostname: "docker0.local", address: "192.168.123.10" },
    { hostname: "docker1.local", address: "192.168.123.11" },
  ],
};

let root = "";
let bin = "";
const read = (p: string) => fs.readFileSync(path.join(root, p), "utf8");
const calls = () => (fs.existsSync(path.join(root, "calls.log")) ? read("calls.log").trim().split("\n") : []);

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "swl-guest-init-"));
  bin = path.join(root, "bin");
  for (const d of ["bin", "etc", "home", "sys/class/net/lo", "sys/class/net/enp1s0"]) fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.writeFileSync(path.join(root, "etc/hosts"), "127.0.0.1\tlocalhost\n");
  fs.writeFileSync(path.join(root, "sys/class/net/lo/address"), "00:00:00:00:00:00\n");
  fs.writeFileSync(path.join(root, "sys/class/net/enp1s0/address"), "52:54:00:ab:cd:10\n");
  fs.writeFileSync(path.join(root, "sys/class/net/enp1s0/ifindex"), "2\n");
  // udev has named the NIC (its database entry exists), as on a guest that booted before.
  fs.mkdirSync(path.join(root, "run/udev/data"), { recursive: true });
  fs.writeFileSync(path.join(root, "run/udev/data/n2"), "");
  const log = path.join(root, "calls.log");
  const stub = (name: string, body = "") => fs.writeFileSync(path.join(bin, name), `#!/bin/sh\necho "${name} $*" >>"${log}"\n${body}\n`, { mode: 0o755 });
  stub("hostname");
  stub("useradd", `mkdir -p "${root}/home/swarmlab"; touch "${root}/user-exists"`);
  stub("getent", `[ -f "${root}/user-exists" ] || exit 2; echo "swarmlab:x:1000:1000::${root}/home/swarmlab:/bin/bash"`);
  stub("chown");
  stub("ssh-keygen", `while [ $# -gt 1 ]; do shift; done; echo key >"$1"`);
  stub("ip", `[ "$5" = name ] && mv "${root}/sys/class/net/$4" "${root}/sys/class/net/$6"; true`);
  stub("findmnt", `case "$*" in *FSTYPE*) echo ext4 ;; *) echo /dev/vda ;; esac`);
  stub("resize2fs");
  // Never the real one: the tests run as root, and this would turn this machine's ASLR off.
  stub("sysctl");
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

function run(args: SeedArgs = ARGS) {
  fs.rmSync(path.join(root, "calls.log"), { force: true });
  return spawnSync("sh", ["-c", guestInitScript(args)], {
    encoding: "utf8",
    // The stand-ins come first, so nothing here can rename this machine or add users to it.
    env: { PATH: `${bin}:/usr/bin:/bin`, SWARMLAB_INIT_ROOT: root },
  });
}

describe("guestInitScript (the seed for images without cloud-init)", () => {
  it("applies what the cloud-init seed says: hostname, hosts, user and key, sudo, sshd, network", async () => {
    const r = run();
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(read("etc/hostname")).toBe("docker0.local\n");
    expect(read("etc/hosts")).toBe("127.0.0.1\tlocalhost\n192.168.123.10 docker0.local docker0\n192.168.123.11 docker1.local docker1\n");
    expect(read("home/swarmlab/.ssh/authorized_keys")).toBe(`${ARGS.publicKey}\n`);
    expect(fs.statSync(path.join(root, "home/swarmlab/.ssh/authorized_keys")).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(root, "home/swarmlab/.ssh")).mode & 0o777).toBe(0o700);
    expect(read("etc/sudoers.d/90-swarmlab")).toBe("swarmlab ALL=(ALL) NOPASSWD:ALL\n");
    expect(fs.statSync(path.join(root, "etc/sudoers.d/90-swarmlab")).mode & 0o777).toBe(0o440);
    expect(read("etc/ssh/sshd_config.d/50-swarmlab.conf")).toMatch(/^PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin no\n/);
    expect(read("etc/ssh/ssh_host_ed25519_key")).toBe("key\n");
    expect(read("etc/ssh/ssh_host_ecdsa_key")).toBe("key\n");
    expect(read("etc/systemd/network/10-swarmlab-lab.link")).toBe("[Match]\nMACAddress=52:54:00:ab:cd:10\n\n[Link]\nName=ens3\n");
    expect(read("etc/systemd/network/10-swarmlab-lab.network")).toBe(
      "[Match]\nMACAddress=52:54:00:ab:cd:10\nName=ens3\n\n[Network]\nAddress=192.168.123.10/24\nGateway=192.168.123.1\nDNS=192.168.123.1\nIPv6AcceptRA=no\n# No IPv6 link-local address: the lab is IPv4, and networkd would count the NIC configured\n# (network-online, which Docker waits for) only ~2 s later, after the address's DAD.\nLinkLocalAddressing=no\n",
    );
    const c = calls();
    expect(c).toContain("hostname docker0.local");
    expect(c).toContain("useradd --create-home --shell /bin/bash --comment swarmlab lab user swarmlab");
    expect(c).toContain(`chown -R swarmlab: ${root}/home/swarmlab/.ssh`);
    // The NIC udev had named enp1s0 is renamed to ens3 (matched by MAC).
    expect(c.indexOf("ip link set dev enp1s0 down")).toBeLessThan(c.indexOf("ip link set dev enp1s0 name ens3"));
    expect(c).toContain("ip link set dev enp1s0 name ens3");
    expect(r.stdout).toContain("swarmlab-init: renamed enp1s0 to ens3");
    // The script starts resize2fs in the background and does not wait for it: its line in the
    // log can come after the script has exited (it did, once in a while, on a loaded machine).
    await expect.poll(() => calls(), { timeout: 5000, interval: 20 }).toContain("resize2fs /dev/vda");
  });

  it("under emulation (domain type qemu) turns ASLR off before anything else, as the cloud-init seed's bootcmd does; under KVM leaves it", () => {
    expect(run({ ...ARGS, emulated: true }).status).toBe(0);
    expect(calls()[0]).toBe("sysctl -qw kernel.randomize_va_space=0");
    expect(run(ARGS).status).toBe(0);
    expect(calls().filter((c) => c.startsWith("sysctl"))).toEqual([]);
    const bootcmd = (emulated: boolean) => (yaml.load(userData({ ...ARGS, emulated })) as { bootcmd: unknown[] }).bootcmd;
    expect(bootcmd(true)).toContainEqual(["sh", "-c", "sysctl -qw kernel.randomize_va_space=0 || true"]);
    expect(JSON.stringify(bootcmd(false))).not.toContain("randomize_va_space");
  });

  it("is POSIX sh (dash on Debian runs it): shellcheck --shell=sh passes", () => {
    const file = path.join(root, "swarmlab-init.sh");
    fs.writeFileSync(file, guestInitScript(ARGS));
    const r = spawnSync("shellcheck", ["--shell=sh", "-S", "warning", file], { encoding: "utf8" });
    expect(r.error, "shellcheck is needed (apt-get install shellcheck)").toBeUndefined();
    expect(r.stdout).toBe("");
    expect(r.status).toBe(0);
    expect(spawnSync("dash", ["-n", file]).status).toBe(0);
  });

  it("agrees with the cloud-init seed on every value it applies", () => {
    const ud = userData(ARGS);
    const nc = networkConfig(ARGS);
    const script = guestInitScript(ARGS);
    expect(ud).toContain(`hostname: ${ARGS.hostname}`);
    expect(script).toContain(`fqdn='${ARGS.hostname}'`);
    expect(nc).toContain(`address: ${ARGS.address}/${ARGS.prefix}`);
    expect(script).toContain(`Address=${ARGS.address}/${ARGS.prefix}`);
    expect(nc).toContain("name: ens3");
    expect(script).toContain("nic='ens3'");
    expect(ud).toContain('sudo: "ALL=(ALL) NOPASSWD:ALL"');
  });

  it("changes nothing on a second run (every boot runs it): no second user, hosts line or host key", () => {
    expect(run().status).toBe(0);
    const first = ["etc/hosts", "etc/hostname", "etc/systemd/network/10-swarmlab-lab.network", "home/swarmlab/.ssh/authorized_keys"].map(read);
    const r = run();
    expect(r.status).toBe(0);
    expect(["etc/hosts", "etc/hostname", "etc/systemd/network/10-swarmlab-lab.network", "home/swarmlab/.ssh/authorized_keys"].map(read)).toEqual(first);
    const c = calls();
    expect(c.some((l) => l.startsWith("useradd"))).toBe(false);
    expect(c.some((l) => l.startsWith("ssh-keygen"))).toBe(false);
    expect(c.some((l) => l.startsWith("ip link"))).toBe(false);
    expect(r.stdout).not.toContain("renamed");
  });

  it("leaves a NIC that udev has not seen yet to udev and the .link file (the image runs it before udev's trigger)", () => {
    fs.renameSync(path.join(root, "sys/class/net/enp1s0"), path.join(root, "sys/class/net/eth0"));
    fs.rmSync(path.join(root, "run/udev/data/n2"));
    const r = run();
    expect(r.status).toBe(0);
    expect(calls().some((l) => l.startsWith("ip "))).toBe(false);
    expect(r.stdout).toContain("swarmlab-init: udev will name eth0 ens3");
    expect(read("etc/systemd/network/10-swarmlab-lab.link")).toContain("Name=ens3");
  });

  it("fails, naming the MAC, when no interface has it", () => {
    fs.writeFileSync(path.join(root, "sys/class/net/enp1s0/address"), "52:54:00:00:00:99\n");
    const r = run();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("swarmlab-init: no network interface has the lab MAC 52:54:00:ab:cd:10");
  });

  it("quotes what it is given: a key with quotes and $ stays one literal line", () => {
    const key = `ssh-ed25519 AAAA 'q' "$(touch ${root}/pwned)" $HOME`;
    expect(run({ ...ARGS, publicKey: key }).status).toBe(0);
    expect(read("home/swarmlab/.ssh/authorized_keys")).toBe(`${key}\n`);
    expect(fs.existsSync(path.join(root, "pwned"))).toBe(false);
  });
});
