import * as fs from "node:fs";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import {
  decodeVxlanHeader,
  describePacket,
  formatIPv6Bytes,
  LINKTYPE,
  parsePcap,
  parsePcapBase64,
  parsePcapHeader,
  PcapError,
  type DecodedPacket,
} from "../../../../labs/swarm-overlay/vxlan";

const FIX = path.join(__dirname, "../../../fixtures/plumbing");
/** Real captures made by test/fixtures/plumbing/make-vxlan-pcap.sh (two netns, vxlan id 4097 dstport 4789). */
const load = (name: string): Uint8Array => new Uint8Array(fs.readFileSync(path.join(FIX, name)));

const CAPTURES = [
  { file: "vxlan-4097-en10mb.pcap", linkType: LINKTYPE.EN10MB, name: "EN10MB" },
  { file: "vxlan-4097-sll.pcap", linkType: LINKTYPE.LINUX_SLL, name: "LINUX_SLL" },
  { file: "vxlan-4097-sll2.pcap", linkType: LINKTYPE.LINUX_SLL2, name: "LINUX_SLL2" },
];

function icmp(packets: DecodedPacket[], kind: "echo-request" | "echo-reply"): DecodedPacket[] {
  return packets.filter((p) => p.vxlan?.inner?.icmp?.kind === kind);
}

describe("parsePcap on real captures", () => {
  for (const c of CAPTURES) {
    describe(c.name, () => {
      const cap = parsePcap(load(c.file));

      it("reads the link type from the file header", () => {
        expect(cap.header.linkType).toBe(c.linkType);
        expect(cap.header.linkTypeName).toBe(c.name);
        expect(cap.header.versionMajor).toBe(2);
        expect(cap.header.snaplen).toBe(256);
      });

      it("decodes every packet as UDP to 4789 between the underlay addresses", () => {
        expect(cap.packets).toHaveLength(8);
        for (const p of cap.packets) {
          expect(p.error).toBeUndefined();
          expect(p.truncated).toBe(false);
          expect(p.outer?.version).toBe(4);
          expect([p.outer?.src, p.outer?.dst].sort()).toEqual(["10.99.0.1", "10.99.0.2"]);
          expect(p.outer?.protocol).toBe(17);
          expect(p.udp?.dstPort).toBe(4789);
          expect(p.udp?.srcPort).toBeGreaterThan(1023);
        }
      });

      it("decodes the VXLAN header from the bytes: flags 0x08, I bit, VNI 4097", () => {
        for (const p of cap.packets) {
          expect(p.vxlan).toBeDefined();
          expect(p.vxlan!.flags).toBe(0x08);
          expect(p.vxlan!.iFlag).toBe(true);
          expect(p.vxlan!.vni).toBe(4097);
          expect(p.vxlan!.reserved1).toBe(0);
          expect(p.vxlan!.reserved2).toBe(0);
        }
      });

      it("decodes the inner frames: ARP, then ICMP echo request/reply 192.168.200.3 <-> .4", () => {
        const [arpReq, arpRep] = cap.packets;
        expect(arpReq!.vxlan!.inner!.arp).toMatchObject({ opName: "request", senderIp: "192.168.200.3", senderMac: "02:42:c0:a8:c8:03", targetIp: "192.168.200.4" });
        expect(arpReq!.vxlan!.inner!.dstMac).toBe("ff:ff:ff:ff:ff:ff");
        expect(arpRep!.vxlan!.inner!.arp).toMatchObject({ opName: "reply", senderIp: "192.168.200.4", senderMac: "02:42:c0:a8:c8:04" });
        const req = icmp(cap.packets, "echo-request");
        const rep = icmp(cap.packets, "echo-reply");
        expect(req).toHaveLength(3);
        expect(rep).toHaveLength(3);
        expect(req.map((p) => p.vxlan!.inner!.icmp!.seq)).toEqual([1, 2, 3]);
        for (const p of req) {
          expect(p.outer).toMatchObject({ src: "10.99.0.1", dst: "10.99.0.2" });
          expect(p.vxlan!.inner).toMatchObject({ srcMac: "02:42:c0:a8:c8:03", dstMac: "02:42:c0:a8:c8:04", etherType: 0x0800 });
          expect(p.vxlan!.inner!.ipv4).toMatchObject({ src: "192.168.200.3", dst: "192.168.200.4", protocol: 1 });
          expect(p.vxlan!.inner!.icmp).toMatchObject({ type: 8, code: 0 });
        }
        for (const p of rep) {
          expect(p.outer).toMatchObject({ src: "10.99.0.2", dst: "10.99.0.1" });
          expect(p.vxlan!.inner!.ipv4).toMatchObject({ src: "192.168.200.4", dst: "192.168.200.3" });
          expect(p.vxlan!.inner!.icmp).toMatchObject({ type: 0, code: 0 });
        }
        // request and reply of one exchange share the ICMP id
        expect(new Set([...req, ...rep].map((p) => p.vxlan!.inner!.icmp!.id)).size).toBe(1);
      });

      it("gives increasing timestamps", () => {
        const times = cap.packets.map((p) => p.time);
        expect(times[0]).toBeGreaterThan(1.6e9);
        expect([...times].sort((a, b) => a - b)).toEqual(times);
      });
    });
  }

  it("describes a packet in one line", () => {
    const cap = parsePcap(load("vxlan-4097-en10mb.pcap"));
    expect(describePacket(cap.packets[2]!)).toMatch(/^#3 10\.99\.0\.1:\d+ > 10\.99\.0\.2:4789 VXLAN flags 0x08 \[I\] vni 4097 inner .*192\.168\.200\.3 > 192\.168\.200\.4 ICMP echo-request seq 1$/);
  });

  it("decodes base64 text (the capture's transport form)", () => {
    const b64 = Buffer.from(load("vxlan-4097-en10mb.pcap")).toString("base64").replace(/(.{76})/g, "$1\n");
    const cap = parsePcapBase64(b64);
    expect(cap.packets).toHaveLength(8);
    expect(cap.packets[0]!.vxlan!.vni).toBe(4097);
  });
});

/** Rewrite a little-endian microsecond capture as big-endian and/or nanosecond. */
function reencode(bytes: Uint8Array, opts: { bigEndian?: boolean; nanosecond?: boolean }): Uint8Array {
  const src = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint8Array(bytes);
  const dst = new DataView(out.buffer);
  const le = !opts.bigEndian;
  dst.setUint32(0, opts.nanosecond ? 0xa1b23c4d : 0xa1b2c3d4, le);
  dst.setUint16(4, src.getUint16(4, true), le);
  dst.setUint16(6, src.getUint16(6, true), le);
  for (const o of [8, 12, 16, 20]) dst.setUint32(o, src.getUint32(o, true), le);
  let off = 24;
  while (off < bytes.length) {
    const incl = src.getUint32(off + 8, true);
    dst.setUint32(off, src.getUint32(off, true), le);
    dst.setUint32(off + 4, src.getUint32(off + 4, true) * (opts.nanosecond ? 1000 : 1), le);
    dst.setUint32(off + 8, incl, le);
    dst.setUint32(off + 12, src.getUint32(off + 12, true), le);
    off += 16 + incl;
  }
  return out;
}

describe("pcap variants", () => {
  const orig = parsePcap(load("vxlan-4097-en10mb.pcap"));
  it("reads big-endian files", () => {
    const cap = parsePcap(reencode(load("vxlan-4097-en10mb.pcap"), { bigEndian: true }));
    expect(cap.header.byteOrder).toBe("big-endian");
    expect(cap.packets.map((p) => p.vxlan?.vni)).toEqual(orig.packets.map((p) => p.vxlan?.vni));
    expect(cap.packets[0]!.time).toBeCloseTo(orig.packets[0]!.time, 6);
  });
  it("reads nanosecond-resolution files", () => {
    const cap = parsePcap(reencode(load("vxlan-4097-en10mb.pcap"), { nanosecond: true }));
    expect(cap.header.nanosecond).toBe(true);
    expect(cap.packets[3]!.time).toBeCloseTo(orig.packets[3]!.time, 6);
  });
  it("keeps decoding what a short snaplen left and says the packet was cut", () => {
    const bytes = load("vxlan-4097-en10mb.pcap");
    // keep only the first record, cut to 60 bytes: Ethernet+IPv4+UDP+VXLAN header+4 bytes of inner frame
    const dv = new DataView(bytes.buffer, bytes.byteOffset);
    const head = new Uint8Array(24 + 16 + 60);
    head.set(bytes.subarray(0, 24 + 16 + 60));
    const hv = new DataView(head.buffer);
    hv.setUint32(24 + 8, 60, true);
    hv.setUint32(24 + 12, dv.getUint32(24 + 12, true), true);
    const cap = parsePcap(head);
    const p = cap.packets[0]!;
    expect(p.truncated).toBe(true);
    expect(p.vxlan?.vni).toBe(4097);
    expect(p.error).toMatch(/inner Ethernet header needs 14 bytes, 10 captured/);
  });
});

describe("decodeVxlanHeader", () => {
  it("decodes flags, I bit and a 24-bit VNI (no trust in anything else)", () => {
    expect(decodeVxlanHeader(Uint8Array.from([0x08, 0, 0, 0, 0x00, 0x10, 0x01, 0]))).toEqual({ flags: 8, iFlag: true, vni: 4097, reserved1: 0, reserved2: 0 });
    expect(decodeVxlanHeader(Uint8Array.from([0x00, 0, 0, 0, 0xff, 0xff, 0xff, 0x7]))).toEqual({ flags: 0, iFlag: false, vni: 0xffffff, reserved1: 0, reserved2: 7 });
    expect(decodeVxlanHeader(Uint8Array.from([0x88, 0, 0x12, 0x34, 0, 0x10, 0, 0]))).toMatchObject({ flags: 0x88, iFlag: true, vni: 4096, reserved1: 0x1234 });
  });
  it("refuses fewer than 8 bytes", () => {
    expect(() => decodeVxlanHeader(Uint8Array.from([8, 0, 0, 0, 0, 16]))).toThrow(/needs 8 bytes, only 6/);
  });
  it("formats IPv6 addresses per RFC 5952", () => {
    const b = new Uint8Array(16);
    b[0] = 0xfe;
    b[1] = 0x80;
    b[15] = 1;
    expect(formatIPv6Bytes(b, 0)).toBe("fe80::1");
  });
});

describe("bad input gives a clear error", () => {
  const good = load("vxlan-4097-en10mb.pcap");
  it("empty input", () => {
    expect(() => parsePcap(new Uint8Array())).toThrow(PcapError);
    expect(() => parsePcap(new Uint8Array())).toThrow(/empty input/);
  });
  it("a file shorter than the global header", () => {
    expect(() => parsePcap(good.subarray(0, 10))).toThrow(/10 bytes: too short for the 24-byte classic pcap header/);
  });
  it("garbage", () => {
    const garbage = new Uint8Array(64).map((_, i) => (i * 37 + 11) & 0xff);
    expect(() => parsePcap(garbage)).toThrow(/not a classic pcap file: magic number 0x0b30557a \(first bytes 0b 30 55 7a/);
  });
  it("text instead of bytes (an error message, undecoded base64)", () => {
    expect(() => parsePcap(new Uint8Array(Buffer.from("tcpdump: ens3: No such device exists\n")))).toThrow(/looks like text/);
    expect(() => parsePcapBase64("not base64 at all!")).toThrow(/not base64: character " "|not base64: character "!"/);
    expect(() => parsePcapBase64("   \n")).toThrow(/no base64 capture data/);
  });
  it("pcapng is named as such", () => {
    const ng = Uint8Array.from([0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0, 0x4d, 0x3c, 0x2b, 0x1a, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(() => parsePcap(ng)).toThrow(/pcapng file; only classic pcap/);
  });
  it("a file cut in the middle of a record says which packet and where", () => {
    const cut = good.subarray(0, good.length - 30);
    let err: unknown;
    try {
      parsePcap(cut);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PcapError);
    expect((err as PcapError).message).toMatch(/^packet 8: record at offset \d+ needs \d+ bytes of data, only \d+ left \(file truncated\?\)$/);
    expect((err as PcapError).packetIndex).toBe(7);
  });
  it("a file cut inside a record header", () => {
    // find the offset of the 2nd record and cut 5 bytes into its header
    const dv = new DataView(good.buffer, good.byteOffset);
    const second = 24 + 16 + dv.getUint32(24 + 8, true);
    expect(() => parsePcap(good.subarray(0, second + 5))).toThrow(/packet 2: record header at offset \d+ needs 16 bytes, only 5 left/);
  });
  it("tolerates a cut-off last record when asked, and says so", () => {
    const cap = parsePcap(good.subarray(0, good.length - 30), { tolerateTruncatedTail: true });
    expect(cap.packets).toHaveLength(7);
    expect(cap.truncatedTail).toMatch(/packet 8/);
  });
  it("a record with an absurd length is corruption, not a packet", () => {
    const bad = new Uint8Array(good);
    new DataView(bad.buffer).setUint32(24 + 8, 0x7fffffff, true);
    expect(() => parsePcap(bad)).toThrow(/claims 2147483647 captured bytes .*corrupt/);
  });
  it("an unsupported link type", () => {
    const bad = new Uint8Array(good);
    new DataView(bad.buffer).setUint32(20, 105, true); // IEEE 802.11
    expect(() => parsePcapHeader(bad)).not.toThrow();
    expect(() => parsePcap(bad)).toThrow(/link type 105 is not supported/);
  });
  it("a malformed packet inside a good file is reported on the packet, not thrown", () => {
    const bad = new Uint8Array(good);
    bad[24 + 16 + 14] = 0x41; // IPv4 version 4, IHL 1 (4 bytes): impossible
    const cap = parsePcap(bad);
    expect(cap.packets[0]!.error).toMatch(/IPv4 header length 4 is below the minimum 20/);
    expect(cap.packets[0]!.vxlan).toBeUndefined();
    expect(cap.packets[1]!.vxlan?.vni).toBe(4097);
  });
  it("a UDP datagram to 4789 too short for a VXLAN header", () => {
    // Ethernet + IPv4 + UDP(4789) with 3 bytes of payload
    const frame = Uint8Array.from([
      ...[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x08, 0x00],
      ...[0x45, 0, 0, 31, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2],
      ...[0x30, 0x39, 0x12, 0xb5, 0, 11, 0, 0],
      ...[8, 0, 0],
    ]);
    const file = new Uint8Array(24 + 16 + frame.length);
    const dv = new DataView(file.buffer);
    dv.setUint32(0, 0xa1b2c3d4, true);
    dv.setUint16(4, 2, true);
    dv.setUint16(6, 4, true);
    dv.setUint32(16, 262144, true);
    dv.setUint32(20, 1, true);
    dv.setUint32(24 + 8, frame.length, true);
    dv.setUint32(24 + 12, frame.length, true);
    file.set(frame, 40);
    const p = parsePcap(file).packets[0]!;
    expect(p.udp).toEqual({ srcPort: 12345, dstPort: 4789, length: 11 });
    expect(p.vxlan).toBeUndefined();
    expect(p.error).toMatch(/should carry an 8-byte VXLAN header, 3 bytes captured/);
  });
});
