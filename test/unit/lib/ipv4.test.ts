import { describe, expect, it } from "vitest";
import { broadcastOf, canonicalCidr, cidrContains, cidrsOverlap, dhcpRangeOf, formatIPv4, inCidr, isIPv4, networkOf, nthAddressIn, parseCidr, parseIPv4, prefixOf, readCidr, readIPv4 } from "../../../scripts/lib/ipv4";

describe("parseIPv4 takes canonical dotted decimal only", () => {
  it.each([
    ["0.0.0.0", 0],
    ["192.168.122.10", 0xc0a87a0a],
    ["255.255.255.255", 0xffffffff],
    ["10.0.0.1", 0x0a000001],
  ])("parses %s", (text, n) => {
    expect(parseIPv4(text)).toBe(n);
    expect(formatIPv4(n)).toBe(text);
  });

  it.each([
    "192.168.122.010",
    "192.168.122.001",
    "192.168.122.00",
    "010.0.0.1",
    "192.168.122.10\n",
    " 192.168.122.10",
    "192.168.122.10 ",
    "192.168.122. 10",
    "192.168.122.10\t",
    "192.168.122.256",
    "192.168.122",
    "192.168.122.10.1",
    "1e2.0.0.1",
    "+1.0.0.1",
    "",
  ])("refuses %j", (text) => {
    expect(parseIPv4(text)).toBeUndefined();
  });

  it("refuses non-strings instead of throwing", () => {
    expect(parseIPv4(42 as unknown as string)).toBeUndefined();
    expect(parseCidr(undefined as unknown as string)).toBeUndefined();
  });
});

describe("parseCidr", () => {
  it("parses canonical CIDR text", () => {
    expect(parseCidr("192.168.122.0/24")).toEqual({ network: 0xc0a87a00, prefix: 24, text: "192.168.122.0/24" });
    expect(parseCidr("0.0.0.0/0")?.prefix).toBe(0);
    expect(parseCidr("10.0.0.1/32")?.text).toBe("10.0.0.1/32");
  });

  it.each(["192.168.122.0/24\n", " 192.168.122.0/24", "192.168.122.0 /24", "192.168.122.0/ 24", "192.168.122.000/24", "192.168.122.0/024", "192.168.122.0/33", "192.168.122.5/24", "192.168.122.0", "192.168.122.0/"])(
    "refuses %j",
    (text) => {
      expect(parseCidr(text)).toBeUndefined();
    },
  );
});

describe("ranges", () => {
  const c = parseCidr("192.168.122.0/24")!;
  it("answers containment, overlap and broadcast", () => {
    expect(cidrContains(c, parseIPv4("192.168.122.200")!)).toBe(true);
    expect(cidrContains(c, parseIPv4("192.168.123.1")!)).toBe(false);
    expect(cidrsOverlap(c, parseCidr("192.168.0.0/16")!)).toBe(true);
    expect(cidrsOverlap(c, parseCidr("192.168.123.0/24")!)).toBe(false);
    expect(formatIPv4(broadcastOf(c))).toBe("192.168.122.255");
    expect(networkOf(parseIPv4("172.17.0.1")!, 16).text).toBe("172.17.0.0/16");
  });

  it("gives the DHCP range infra/program.ts declares (top of the network, .size-6 to .size-2)", () => {
    const r = (t: string) => {
      const d = dhcpRangeOf(parseCidr(t)!);
      return [formatIPv4(d.start), formatIPv4(d.end)];
    };
    expect(r("192.168.122.0/24")).toEqual(["192.168.122.250", "192.168.122.254"]);
    expect(r("10.20.0.0/16")).toEqual(["10.20.255.250", "10.20.255.254"]);
    expect(r("10.20.30.16/28")).toEqual(["10.20.30.26", "10.20.30.30"]);
    expect(r("10.20.30.0/29")).toEqual(["10.20.30.2", "10.20.30.6"]);
  });
});

describe("reading addresses as tools print them (the lenient half)", () => {
  it("reads what the strict parser refuses, and nothing that is not an address", () => {
    expect(readIPv4("010.1.1.1")).toBe(parseIPv4("10.1.1.1"));
    expect(parseIPv4("010.1.1.1")).toBeUndefined();
    expect(isIPv4("192.168.200.3")).toBe(true);
    expect(isIPv4("192.168.200.256")).toBe(false);
    expect(isIPv4("192.168.200")).toBe(false);
  });
  it("takes CIDRs with host bits set, and trims them", () => {
    expect(readCidr(" 192.168.200.7/24\n")).toEqual({ address: "192.168.200.7", prefix: 24, network: parseIPv4("192.168.200.0"), mask: 0xffffff00 });
    expect(parseCidr("192.168.200.7/24")).toBeUndefined();
    expect(readCidr("192.168.200.7/33")).toBeUndefined();
    expect(canonicalCidr("192.168.200.7/24")).toBe("192.168.200.0/24");
    expect(prefixOf("10.255.0.0/16")).toBe(16);
    expect(nthAddressIn("192.168.200.0/24", 1)).toBe("192.168.200.1");
  });
  it("tells whether an address, with or without its prefix, is inside a CIDR text", () => {
    expect(inCidr("192.168.200.0/24", "192.168.200.3/24")).toBe(true);
    expect(inCidr("192.168.200.0/24", "192.168.201.3")).toBe(false);
    expect(inCidr("not a cidr", "192.168.200.3")).toBe(false);
    expect(inCidr("0.0.0.0/0", "8.8.8.8")).toBe(true);
  });
});
