/** Pure parsers for small system outputs: os-release, ss, ethtool -S, netns listings. */
import { ParseError, splitLines } from "../errors";
import { isIPv4 } from "../../ipv4";

/** Socket states ss prints (a cut-off word is none of them). */
const SS_STATES = new Set(["LISTEN", "UNCONN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT", "CLOSE-WAIT", "LAST-ACK", "CLOSING", "CLOSED", "UNKNOWN"]);

export interface OsRelease {
  id: string;
  versionId: string;
  prettyName: string;
  name: string;
  fields: Record<string, string>;
}

export function parseOsRelease(text: string, command = "cat /etc/os-release"): OsRelease {
  const lines = splitLines(text);
  const fields: Record<string, string> = {};
  lines.forEach((line, i) => {
    if (line.trim() === "" || line.trimStart().startsWith("#")) return;
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (!m) throw new ParseError(command, "expected KEY=value", i + 1, line);
    let v = m[2]!;
    if (/^".*"$/.test(v) || /^'.*'$/.test(v)) v = v.slice(1, -1);
    fields[m[1]!] = v;
  });
  if (!fields["ID"]) throw new ParseError(command, lines.length === 0 ? "empty output" : "no ID= line");
  return {
    id: fields["ID"],
    versionId: fields["VERSION_ID"] ?? "",
    prettyName: fields["PRETTY_NAME"] ?? fields["NAME"] ?? fields["ID"],
    name: fields["NAME"] ?? "",
    fields,
  };
}

export interface Socket {
  proto: "tcp" | "udp";
  state: string;
  /** Local address as printed ("*", "0.0.0.0", "[::]", "192.168.122.10", "127.0.0.53%lo"). */
  address: string;
  port: number;
}

/** `ss -Hlntu` (or `ss -lntu` with its header line). */
export function parseSs(text: string, command = "ss -Hlntu"): Socket[] {
  const out: Socket[] = [];
  splitLines(text).forEach((line, i) => {
    if (line.trim() === "") return;
    if (/^(Netid|State)\s/.test(line)) return; // header of ss without -H
    const t = line.trim().split(/\s+/);
    if (t.length < 6) throw new ParseError(command, "expected Netid State Recv-Q Send-Q Local Peer", i + 1, line);
    const proto = t[0];
    if (proto !== "tcp" && proto !== "udp") throw new ParseError(command, `unexpected Netid "${proto}"`, i + 1, line);
    const state = t[1]!;
    if (!SS_STATES.has(state)) throw new ParseError(command, `unknown socket state "${state}" (cut off?)`, i + 1, line);
    const local = t[4]!;
    const idx = local.lastIndexOf(":");
    const portText = local.slice(idx + 1);
    const port = Number(portText);
    if (idx < 0 || !/^\d{1,5}$/.test(portText) || port > 65535) throw new ParseError(command, `malformed local address "${local}" (port 0-65535 expected)`, i + 1, line);
    const address = local.slice(0, idx);
    const bare = address.replace(/%[^%]+$/, "");
    const ok = bare === "*" || isIPv4(bare) || /^\[[0-9a-fA-F:.]*\]$/.test(bare) || /^[0-9a-fA-F:]*:[0-9a-fA-F:.]*$/.test(bare);
    if (!ok) throw new ParseError(command, `malformed local address "${local}"`, i + 1, line);
    out.push({ proto, state, address, port });
  });
  return out;
}

/** `ethtool -S <veth>`: the statistics, of which peer_ifindex matters here. */
export function parseEthtoolStats(text: string, command = "ethtool -S"): Record<string, number> {
  const lines = splitLines(text);
  if (lines.length === 0) throw new ParseError(command, "empty output");
  if (!/^NIC statistics:/.test(lines[0]!)) throw new ParseError(command, 'expected "NIC statistics:"', 1, lines[0]!);
  const stats: Record<string, number> = {};
  lines.slice(1).forEach((line, i) => {
    if (line.trim() === "") return;
    const m = /^\s+([^:]+):\s+(-?\d+)\s*$/.exec(line);
    if (!m) throw new ParseError(command, "expected '<name>: <number>'", i + 2, line);
    stats[m[1]!.trim()] = Number(m[2]);
  });
  return stats;
}

/** `ls /var/run/docker/netns` (plain or `ls -l`). */
export function parseNetnsLs(text: string, command = "ls /var/run/docker/netns"): string[] {
  const names: string[] = [];
  splitLines(text).forEach((line, i) => {
    const l = line.trim();
    if (l === "" || /^total \d+/.test(l)) return;
    const long = /^[-dlrwxsStT.+]{10,11}\s+\d+\s+\S+\s+\S+\s+\d+\s+\S+\s+\d+\s+[\d:]+\s+(\S+)$/.exec(l);
    const name = long ? long[1]! : l;
    if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new ParseError(command, `unexpected namespace name "${name}"`, i + 1, line);
    names.push(name);
  });
  return names;
}

/** Lines "<name> <inode>" as the gather script prints them (the host namespace is "@host"). */
export function parseNetnsInodes(text: string, command = "stat -L -c '%n %i'"): Record<string, number> {
  const map: Record<string, number> = {};
  splitLines(text).forEach((line, i) => {
    if (line.trim() === "") return;
    const m = /^(\S+)\s+(\d+)$/.exec(line.trim());
    if (!m) throw new ParseError(command, "expected '<name> <inode>'", i + 1, line);
    map[m[1]!] = Number(m[2]);
  });
  return map;
}

/** The first non-empty line (hostname, systemd-detect-virt, uname -r). */
export function parseSingleWord(text: string, command: string): string {
  const lines = splitLines(text).filter((l) => l.trim() !== "");
  if (lines.length === 0) throw new ParseError(command, "empty output");
  if (lines.length > 1) throw new ParseError(command, "expected a single line", 2, lines[1]!);
  return lines[0]!.trim();
}
