/**
 * Parsers of the bridge probe's outputs (docker port, an HTTP answer, busybox/iputils ping,
 * busybox nslookup). Pure; they throw ParseError on text they do not recognise.
 */
import { ParseError, splitLines } from "../../scripts/lib/verify/errors";
import { isIPv4 } from "../../scripts/lib/ipv4";

export interface PortMapping {
  containerPort: number;
  proto: string;
  /** As docker prints it: 0.0.0.0, ::, [::] or one address. */
  hostIp: string;
  hostPort: number;
}

/** `docker port <container>`: `80/tcp -> 0.0.0.0:5000`, one line per binding. */
export function parseDockerPort(text: string, command = "docker port"): PortMapping[] {
  const out: PortMapping[] = [];
  splitLines(text).forEach((line, i) => {
    if (line.trim() === "") return;
    const m = /^(\d+)\/([a-z]+) -> (.+):(\d+)$/.exec(line.trim());
    if (!m) throw new ParseError(command, "expected `<port>/<proto> -> <address>:<port>`", i + 1, line);
    out.push({ containerPort: Number(m[1]), proto: m[2]!, hostIp: m[3]!, hostPort: Number(m[4]) });
  });
  return out;
}

export interface HttpAnswer {
  status: number;
  statusLine: string;
  body: string;
}

/** A raw HTTP/1.x answer (status line, headers, blank line, body); undefined when empty. */
export function parseHttpAnswer(text: string, command = "GET /"): HttpAnswer | undefined {
  if (text.trim() === "") return undefined;
  const normal = text.replace(/\r\n/g, "\n");
  const statusLine = normal.split("\n", 1)[0]!;
  const m = /^HTTP\/\d(?:\.\d)? (\d{3})\b/.exec(statusLine);
  if (!m) throw new ParseError(command, "expected an HTTP status line", 1, statusLine);
  const cut = normal.indexOf("\n\n");
  return { status: Number(m[1]), statusLine: statusLine.trim(), body: cut >= 0 ? normal.slice(cut + 2) : "" };
}

export interface PingResult {
  /** The address the name resolved to (`PING c1 (172.19.0.2)`), if ping got that far. */
  address?: string;
  transmitted?: number;
  received?: number;
  /** ping's own words when it could not start (`ping: bad address 'c1'`). */
  error?: string;
}

/** busybox or iputils ping output (stdout and stderr together). */
export function parsePing(text: string): PingResult {
  const r: PingResult = {};
  for (const line of splitLines(text)) {
    const head = /^PING \S+ \((\d+\.\d+\.\d+\.\d+)\)/.exec(line);
    if (head && isIPv4(head[1]!)) r.address = head[1]!;
    const stats = /^(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(line);
    if (stats) {
      r.transmitted = Number(stats[1]);
      r.received = Number(stats[2]);
    }
    const err = /^ping: (.+)$/.exec(line.trim());
    if (err && !r.error) r.error = err[1]!;
  }
  return r;
}

export interface NslookupResult {
  /** The server that was asked (`Server: 127.0.0.11`). */
  server?: string;
  /** IPv4 addresses of the answers (`Address: 172.19.0.2`, `Address 1: 172.19.0.2 c1.localnet`). */
  answers: string[];
  /** The name was looked up and not found (NXDOMAIN, REFUSED, SERVFAIL...): the server's words. */
  nameFailure?: string;
  /** No server answered (timed out, refused the connection). */
  noServer?: string;
}

/** busybox nslookup output (stdout and stderr together). */
export function parseNslookup(text: string): NslookupResult {
  const r: NslookupResult = { answers: [] };
  let inAnswer = false;
  for (const raw of splitLines(text)) {
    const line = raw.trim();
    const server = /^Server:\s*(\S+)/.exec(line);
    if (server) {
      r.server = server[1]!;
      continue;
    }
    if (/^Name:\s*\S+/.test(line)) {
      inAnswer = true;
      continue;
    }
    const addr = /^Address(?: \d+)?:\s*(\S+)/.exec(line);
    if (addr && inAnswer && isIPv4(addr[1]!)) {
      if (!r.answers.includes(addr[1]!)) r.answers.push(addr[1]!);
      continue;
    }
    const nf = /^\*\* server can't find (.+)$/.exec(line) ?? /^nslookup: can't resolve (.+)$/.exec(line);
    if (nf && !r.nameFailure) r.nameFailure = line;
    if (/no servers could be reached|connection refused|timed out/i.test(line) && !r.noServer) r.noServer = line;
  }
  return r;
}
