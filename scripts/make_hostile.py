#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the hostile capture corpus into testdata/hostile/.

Captures crafted to hurt the tool that opens them: cut files, lying record
lengths, empty and 64 KiB frames, impossible header lengths, bad TCP options,
IPv6 extension-header chains without end, 100 VLAN tags, time running
backwards, broken pcapng blocks. Python 3 standard library only, fully
deterministic (the layer builders come from make_pcaps.py).

Besides the files, MANIFEST.tsv states what tcplife must make of each one;
test/golden/hostile_test.cpp checks every line, reading the file both by path
and from standard input:

  file  exit  read  tcp  skipped  stderr
    exit     0, 1 or 3 (README "Exit codes")
    read     packets read (- when exit is 1)
    tcp      packets analysed as TCP segments
    skipped  the complete skipped_by_reason map, "reason=n,reason=n" or "-" for none
    stderr   a substring of the one stderr line ("-": no stderr at all)

cut_base.pcap and cut_base.pcapng are also cut at every byte by the test.

Usage:  python3 scripts/make_hostile.py [--out DIR]
"""

import argparse
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_pcaps as mp  # noqa: E402  (the layer builders)

LT_ETH = 1
LT_RAW = 101
BASE = mp.BASE_TS

MANIFEST = []  # (name, exit, read, tcp, skipped, stderr)


def record(name, exit_code, read, tcp, skipped=None, stderr="-"):
    sk = ",".join("%s=%d" % kv for kv in sorted((skipped or {}).items())) or "-"
    MANIFEST.append((name, str(exit_code), "-" if read is None else str(read),
                     "-" if tcp is None else str(tcp), sk, stderr))


def write(outdir, name, data):
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------------------
# raw builders (for fields make_pcaps.py computes correctly on purpose)


def rec(sec, frac, data, orig=None, caplen=None):
    """One little-endian classic pcap record; caplen/orig may lie."""
    return struct.pack("<IIII", sec, frac, len(data) if caplen is None else caplen,
                       len(data) if orig is None else orig) + data


def pcap_header(linktype=LT_ETH, snaplen=262144, magic=0xA1B2C3D4):
    return struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)


def pcap(frames, linktype=LT_ETH, snaplen=262144, stamps=None):
    out = pcap_header(linktype, snaplen)
    for i, f in enumerate(frames):
        sec, frac = stamps[i] if stamps else (BASE, i * 1000)
        out += rec(sec, frac, f)
    return out


def tcp_raw(doff, options=b"", payload=b"", flags=mp.TCP_SYN, sport=40000, dport=80,
            seq=1000, ack=0):
    """A TCP header whose data offset says `doff` words whatever follows."""
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, (doff & 0xF) << 4, flags, 64240,
                       0, 0) + options + payload


def eth4(l4, proto=mp.IPPROTO_TCP, **kw):
    ip = mp.ipv4(mp.V4_C, mp.V4_S, proto, l4, **kw)
    return mp.eth(mp.MAC_S, mp.MAC_C, mp.ETH_IPV4, ip)


def ipv4_raw_hdr(ihl, total_len, proto=mp.IPPROTO_TCP, version=4):
    return struct.pack("!BBHHHBBH4s4s", (version << 4) | (ihl & 0xF), 0, total_len, 1, 0x4000,
                       64, proto, 0, mp.ip4(mp.V4_C), mp.ip4(mp.V4_S))


def standard_frames(cport=40000):
    return mp.eth_frames(mp.standard_conversation(mp.TcpConv(cport=cport)))


# ---------------------------------------------------------------------------
# files


def f_cut_bases(out):
    # Three packets (SYN, SYN/ACK, ACK): small enough to cut at every byte.
    frames = standard_frames()[:3]
    write(out, "cut_base.pcap", pcap(frames))
    record("cut_base.pcap", 0, 3, 3)
    blocks = mp.pcapng_shb() + mp.pcapng_idb(LT_ETH)
    for i, f in enumerate(frames):
        blocks += mp.pcapng_epb(0, BASE * 1000000 + i * 1000, f)
    write(out, "cut_base.pcapng", blocks)
    record("cut_base.pcapng", 0, 3, 3)
    # Representative cuts kept as files (the test makes every other one).
    full = pcap(standard_frames())
    write(out, "trunc_global_header.pcap", full[:20])
    record("trunc_global_header.pcap", 1, None, None, stderr="cannot read capture header")
    write(out, "trunc_record_header.pcap", full[:24 + 16 + len(frames[0]) + 7])
    record("trunc_record_header.pcap", 3, 1, 1, stderr="truncated")
    write(out, "trunc_record_data.pcap", full[:24 + 16 + len(frames[0]) + 16 + 30])
    record("trunc_record_data.pcap", 3, 1, 1, stderr="truncated")


def f_record_lengths(out):
    f = standard_frames()
    syn = f[0]
    # caplen above the file's snaplen (96) but below libpcap's limit: read as is.
    big = eth4(mp.tcp(mp.V4_C, mp.V4_S, 40000, 80, 1000, 0, mp.TCP_SYN, 64240,
                      payload=b"x" * 200))
    write(out, "caplen_gt_snaplen.pcap", pcap([syn, big], snaplen=96))
    record("caplen_gt_snaplen.pcap", 0, 2, 2)
    # caplen larger than the length on the wire.
    data = pcap_header() + rec(BASE, 0, syn, orig=20) + rec(BASE, 1000, f[1])
    write(out, "caplen_gt_len.pcap", data)
    record("caplen_gt_len.pcap", 0, 2, 2)
    # A record claiming 4 GiB: the file is corrupt from there on.
    data = pcap_header() + rec(BASE, 0, syn) + rec(BASE, 1000, f[1], caplen=0xFFFFFFF0)
    write(out, "caplen_huge.pcap", data)
    record("caplen_huge.pcap", 3, 1, 1, stderr="corrupt")
    # Just above libpcap's largest snaplen (262144), with the bytes really there.
    data = pcap_header() + rec(BASE, 0, syn) + rec(BASE, 1000, b"\x00" * 262145)
    write(out, "caplen_above_max.pcap", data)
    record("caplen_above_max.pcap", 3, 1, 1, stderr="corrupt")
    # Zero-length frames, with and without a length on the wire.
    data = pcap_header() + rec(BASE, 0, b"") + rec(BASE, 1, b"", orig=1514) + \
        rec(BASE, 2, syn)
    write(out, "zero_length_frames.pcap", data)
    record("zero_length_frames.pcap", 0, 3, 1, {"link_truncated": 2})
    # 64 KiB frames: a full-size IPv4 datagram (65535) in Ethernet, one more byte
    # of Ethernet trailer, and a raw IPv6 one whose payload length is 65535.
    tcp_hdr = mp.tcp(mp.V4_C, mp.V4_S, 40000, 80, 1001, 5001, mp.TCP_ACK, 502,
                     payload=b"y" * (65535 - 40))
    ip = mp.ipv4(mp.V4_C, mp.V4_S, mp.IPPROTO_TCP, tcp_hdr)
    frame = mp.eth(mp.MAC_S, mp.MAC_C, mp.ETH_IPV4, ip)          # 65549 bytes
    v6 = mp.ipv6(mp.V6_C, mp.V6_S, mp.IPPROTO_TCP,
                 mp.tcp(mp.V6_C, mp.V6_S, 40000, 80, 1, 0, mp.TCP_ACK, 502,
                        payload=b"z" * (65535 - 20), v6=True))
    write(out, "frame_64k.pcap", pcap([frame, frame + b"\x00", frame[:65536]]))
    record("frame_64k.pcap", 0, 3, 3)
    write(out, "frame_64k_raw_ipv6.pcap", pcap([v6], linktype=LT_RAW))
    record("frame_64k_raw_ipv6.pcap", 0, 1, 1)


def f_ip_tcp_headers(out):
    frames = []
    for ihl in range(5):                                    # IHL 0..4 words
        frames.append(mp.eth(mp.MAC_S, mp.MAC_C, mp.ETH_IPV4,
                             ipv4_raw_hdr(ihl, 40) + tcp_raw(5)))
    write(out, "ip_header_len_below_20.pcap", pcap(frames))
    record("ip_header_len_below_20.pcap", 0, 5, 0, {"ip_bad_header_len": 5})

    frames = [mp.eth(mp.MAC_S, mp.MAC_C, mp.ETH_IPV4, ipv4_raw_hdr(5, tl) + tcp_raw(5))
              for tl in (1, 19)]
    frames.append(mp.eth(mp.MAC_S, mp.MAC_C, mp.ETH_IPV4,
                         ipv4_raw_hdr(6, 20) + b"\x00" * 4 + tcp_raw(5)))
    frames.append(mp.eth(mp.MAC_S, mp.MAC_C, mp.ETH_IPV4, ipv4_raw_hdr(5, 40, version=7) +
                         tcp_raw(5)))
    write(out, "ip_bad_lengths_and_version.pcap", pcap(frames))
    record("ip_bad_lengths_and_version.pcap", 0, 4, 0,
           {"ip_bad_total_len": 3, "ip_bad_version": 1})

    # TCP data offset 0..4; 15 with 20 bytes of segment; 6 with 20 bytes.
    frames = [eth4(tcp_raw(d)) for d in range(5)]
    frames.append(eth4(tcp_raw(15)))
    frames.append(eth4(tcp_raw(6)))
    write(out, "tcp_data_offset_bad.pcap", pcap(frames))
    record("tcp_data_offset_bad.pcap", 0, 7, 0, {"tcp_bad_header_len": 7})

    # Data offset 15 and 40 bytes of options in the datagram, but the capture
    # stops after 10 of them (snaplen): analysed, the options read so far kept.
    full = eth4(tcp_raw(15, options=mp.opt_mss(1460) + b"\x01" * 36))
    write(out, "tcp_options_cut_by_snaplen.pcap",
          pcap_header(snaplen=14 + 20 + 30) + rec(BASE, 0, full[:64], orig=len(full)))
    record("tcp_options_cut_by_snaplen.pcap", 0, 1, 1)
    # Segment shorter than a TCP header in a datagram that says it is longer.
    write(out, "tcp_header_cut.pcap",
          pcap_header(snaplen=14 + 20 + 10) + rec(BASE, 0, full[:44], orig=len(full)))
    record("tcp_header_cut.pcap", 0, 1, 0, {"tcp_truncated": 1})

    # Option lengths 0 and 1, an option running past the header, an unknown
    # kind with length 255, EOL then garbage, SACK with 9 blocks' worth of length.
    opts = [
        b"\x02\x00\x05\xb4",
        b"\x03\x01\x07\x00",
        b"\x02\x04\x05\xb4\x08\x0a\x00\x00",
        b"\x99\xff\x00\x00",
        b"\x00\xff\xff\xff",
        b"\x05\x4a" + b"\x00" * 6,
        b"\x01" * 7 + b"\x02",
    ]
    frames = [eth4(tcp_raw(5 + len(o) // 4, options=o)) for o in opts]
    write(out, "tcp_options_bad_lengths.pcap", pcap(frames))
    record("tcp_options_bad_lengths.pcap", 0, len(frames), len(frames))


def v6_ext_chain(n, nh_type=60, last=mp.IPPROTO_TCP, hdr_len_words=0):
    """n extension headers of one type, each pointing to the next."""
    body = b""
    for i in range(n):
        nh = nh_type if i + 1 < n else last
        body += bytes([nh, hdr_len_words]) + b"\x01\x04\x00\x00\x00\x00" + \
            b"\x00" * (8 * hdr_len_words)
    return body


def f_ipv6_ext(out):
    t = mp.tcp(mp.V6_C, mp.V6_S, 40000, 80, 1000, 0, mp.TCP_SYN, 64240, v6=True)
    frames = []
    # 100 destination-options headers chained to each other, then TCP.
    chain = v6_ext_chain(100) + t
    frames.append(mp.eth(mp.MAC_S, mp.MAC_C, mp.ETH_IPV6,
                         mp.ipv6(mp.V6_C, mp.V6_S, 60, chain)))
    # Hop-by-hop pointing at hop-by-hop forever (until the packet ends).
    chain = v6_ext_chain(200, nh_type=0, last=0)
    frames.append(mp.eth(mp.MAC_S, mp.MAC_C, mp.ETH_IPV6,
                         mp.ipv6(mp.V6_C, mp.V6_S, 0, chain)))
    # An extension header longer than the payload length says.
    chain = bytes([mp.IPPROTO_TCP, 200]) + b"\x00" * 6 + t
    frames.append(mp.eth(mp.MAC_S, mp.MAC_C, mp.ETH_IPV6,
                         mp.ipv6(mp.V6_C, mp.V6_S, 60, chain)))
    # Routing header type 0 with segments left and a bogus length.
    rh = bytes([mp.IPPROTO_TCP, 0, 0, 5]) + b"\x00" * 4 + t
    frames.append(mp.eth(mp.MAC_S, mp.MAC_C, mp.ETH_IPV6,
                         mp.ipv6(mp.V6_C, mp.V6_S, 43, rh)))
    # 15 headers: within the limit, decoded.
    chain = v6_ext_chain(15) + t
    frames.append(mp.eth(mp.MAC_S, mp.MAC_C, mp.ETH_IPV6,
                         mp.ipv6(mp.V6_C, mp.V6_S, 60, chain)))
    write(out, "ipv6_ext_header_loops.pcap", pcap(frames))
    record("ipv6_ext_header_loops.pcap", 0, 5, 2, {"ipv6_bad_ext_header": 3})


def f_layers(out):
    ip = mp.ip_wrap(mp.standard_conversation(mp.TcpConv())[0], ident=1)
    # 100 stacked 802.1Q tags.
    tags = b"".join(mp.vlan_tag(i + 1, mp.ETH_VLAN if i + 1 < 100 else mp.ETH_IPV4)
                    for i in range(100))
    vlan100 = mp.eth(mp.MAC_S, mp.MAC_C, mp.ETH_VLAN, tags + ip)
    # 16 tags: at the limit, decoded.
    tags16 = b"".join(mp.vlan_tag(i + 1, mp.ETH_VLAN if i + 1 < 16 else mp.ETH_IPV4)
                      for i in range(16))
    vlan16 = mp.eth(mp.MAC_S, mp.MAC_C, mp.ETH_VLAN, tags16 + ip)
    # 100 MPLS labels; 100 nested IP-in-IP headers; a VLAN stack that never ends.
    mpls100 = mp.eth(mp.MAC_S, mp.MAC_C, mp.ETH_MPLS, mp.mpls(list(range(16, 116)), ip))
    inner = ip
    for _ in range(100):
        inner = mp.ipv4(mp.V4_C, mp.V4_S, mp.IPPROTO_IPIP, inner)
    ipip100 = mp.eth(mp.MAC_S, mp.MAC_C, mp.ETH_IPV4, inner)
    endless = mp.eth(mp.MAC_S, mp.MAC_C, mp.ETH_VLAN, mp.vlan_tag(1, mp.ETH_VLAN) * 4000)
    write(out, "vlan_100_deep.pcap", pcap([vlan100, vlan16, mpls100, ipip100, endless]))
    record("vlan_100_deep.pcap", 0, 5, 1, {"too_many_layers": 4})

    # Link headers that contradict themselves: PPPoE length 0, an NFLOG TLV of
    # length 2, GRE with a key the packet has no room for.
    pppoe0 = mp.eth(mp.MAC_S, mp.MAC_C, mp.ETH_PPPOE_SES,
                    struct.pack("!BBHH", 0x11, 0, 1, 0) + b"\x00\x21" + ip)
    write(out, "pppoe_length_zero.pcap", pcap([pppoe0]))
    record("pppoe_length_zero.pcap", 0, 1, 0, {"link_malformed": 1})
    nflog = bytes([2, 0, 0, 0]) + struct.pack("<HH", 2, 1) + b"\x00" * 8
    write(out, "nflog_tlv_short.pcap", pcap([nflog], linktype=239))
    record("nflog_tlv_short.pcap", 0, 1, 0, {"link_malformed": 1})
    gre = mp.ipv4(mp.V4_C, mp.V4_S, mp.IPPROTO_GRE, struct.pack("!HH", 0xB000, 0x0800))
    write(out, "gre_header_past_payload.pcap",
          pcap([mp.eth(mp.MAC_S, mp.MAC_C, mp.ETH_IPV4, gre)]))
    record("gre_header_past_payload.pcap", 0, 1, 0, {"tunnel_malformed": 1})


def f_time(out):
    frames = standard_frames()
    # The standard conversation with time going backwards, to 0, to the
    # largest and smallest values a record can hold, and back.
    stamps = [(BASE, 0), (BASE - 3600, 0), (0, 0), (0xFFFFFFFF, 999999), (BASE, 5),
              (0x80000000, 0), (BASE, 999999), (BASE - 1, 0), (0x7FFFFFFF, 0), (BASE, 7)]
    write(out, "time_backwards.pcap", pcap(frames, stamps=stamps))
    record("time_backwards.pcap", 0, 10, 10)
    # Microsecond field far beyond a second (libpcap passes it through).
    write(out, "time_usec_overflow.pcap",
          pcap(frames[:3], stamps=[(BASE, 0xFFFFFFFF)] * 3))
    record("time_usec_overflow.pcap", 0, 3, 3)


def f_pcapng(out):
    frames = standard_frames()
    shb, idb = mp.pcapng_shb(), mp.pcapng_idb(LT_ETH)

    def epbs(fr, ifid=0):
        return b"".join(mp.pcapng_epb(ifid, BASE * 1000000 + i * 1000, f)
                        for i, f in enumerate(fr))

    # Unknown, custom, statistics and name-resolution blocks everywhere.
    body = shb + mp.pcapng_block(0x8000ABCD, b"local block before IDB") + idb
    for i, f in enumerate(frames):
        body += mp.pcapng_epb(0, BASE * 1000000 + i * 1000, f)
        body += mp.pcapng_block([0x00000BAD, 0x40000BAD, 5, 4, 0x7FFFFFFF][i % 5], b"\x00" * 4 * i)
    write(out, "pcapng_unknown_blocks.pcapng", body)
    record("pcapng_unknown_blocks.pcapng", 0, 10, 10)

    good = shb + idb + epbs(frames[:3])
    # Block length not a multiple of 4, below 12, and trailing length disagreeing.
    bad = mp.pcapng_epb(0, BASE * 1000000, frames[3])
    write(out, "pcapng_block_len_unaligned.pcapng",
          good + bad[:4] + struct.pack("<I", len(bad) + 1) + bad[8:])
    record("pcapng_block_len_unaligned.pcapng", 3, 3, 3,
           stderr="corrupt pcapng block (type 6, length 201)")
    write(out, "pcapng_block_len_tiny.pcapng", good + struct.pack("<II", 6, 8) + b"\x00" * 8)
    record("pcapng_block_len_tiny.pcapng", 3, 3, 3,
           stderr="corrupt pcapng block (type 6, length 8)")
    write(out, "pcapng_block_len_mismatch.pcapng", good + bad[:-4] + struct.pack("<I", 12))
    record("pcapng_block_len_mismatch.pcapng", 3, 3, 3, stderr="pcapng block lengths disagree")
    # A block claiming 60 MiB in a file of a few hundred bytes.
    write(out, "pcapng_block_len_huge.pcapng",
          good + struct.pack("<II", 6, 60 << 20) + b"\x00" * 64)
    record("pcapng_block_len_huge.pcapng", 3, 3, 3, stderr="file ends inside a pcapng block")
    # Packets with no interface described; an EPB naming interface 7.
    write(out, "pcapng_no_idb.pcapng", shb + epbs(frames[:3]))
    record("pcapng_no_idb.pcapng", 3, 0, 0, stderr="never described")
    write(out, "pcapng_bad_interface_id.pcapng", good + epbs(frames[3:4], ifid=7))
    record("pcapng_bad_interface_id.pcapng", 3, 3, 3, stderr="refers to interface 7")
    # EPB captured length larger than its block.
    epb = bytearray(mp.pcapng_epb(0, BASE * 1000000, frames[3]))
    struct.pack_into("<I", epb, 20, 5000)
    write(out, "pcapng_caplen_past_block.pcapng", good + bytes(epb))
    record("pcapng_caplen_past_block.pcapng", 3, 3, 3, stderr="exceeds its block")
    # Bad byte-order magic; a section header only; a second section with the other
    # byte order and a different link type (the built-in reader's path).
    write(out, "pcapng_bad_byte_order.pcapng", shb[:8] + b"\xde\xad\xbe\xef" + shb[12:] + idb)
    record("pcapng_bad_byte_order.pcapng", 1, None, None, stderr="bad pcapng byte-order magic")
    write(out, "pcapng_section_only.pcapng", shb)
    record("pcapng_section_only.pcapng", 0, 0, 0)  # allowed: a section may be empty
    raw_frames = [mp.ip_wrap(s) for s in mp.standard_conversation(mp.TcpConv(cport=40001))]
    second = mp.pcapng_shb(e=">") + mp.pcapng_idb(LT_RAW, e=">") + b"".join(
        mp.pcapng_epb(0, BASE * 1000000 + 500 + i * 1000, f, e=">")
        for i, f in enumerate(raw_frames))
    write(out, "pcapng_two_sections.pcapng", shb + idb + epbs(frames) + second)
    record("pcapng_two_sections.pcapng", 0, 20, 20)
    # Extreme time resolutions and offsets: 2^-127 s, 10^-127 s, 10^0 s with a
    # 2^63 s offset. Times are clamped, nothing overflows.
    body = shb
    body += mp.pcapng_idb(LT_ETH, opts=[(9, b"\xff")])
    body += mp.pcapng_idb(LT_ETH, opts=[(9, b"\x7f")])
    body += mp.pcapng_idb(LT_ETH, opts=[(9, b"\x00"), (14, struct.pack("<q", -2**63))])
    body += mp.pcapng_idb(LT_ETH, opts=[(9, b"\x09"), (14, struct.pack("<q", 2**63 - 1))])
    for i, f in enumerate(frames):
        body += mp.pcapng_epb(i % 4, 0xFFFFFFFFFFFFFFFF - i, f)
    write(out, "pcapng_extreme_time.pcapng", body)
    record("pcapng_extreme_time.pcapng", 0, 10, 10)
    # An interface of a link type tcplife does not decode, beside an Ethernet one.
    body = shb + idb + mp.pcapng_idb(147)
    for i, f in enumerate(frames):
        body += mp.pcapng_epb(i % 2, BASE * 1000000 + i * 1000, f)
    write(out, "pcapng_unsupported_linktype.pcapng", body)
    record("pcapng_unsupported_linktype.pcapng", 0, 10, 5, {"unsupported_link_type": 5})
    # Simple packet blocks longer than the snaplen, and an obsolete packet block.
    body = shb + mp.pcapng_idb(LT_ETH, snaplen=60)
    body += mp.pcapng_block(3, struct.pack("<I", len(frames[0])) + mp.pad4(frames[0]))
    body += mp.pcapng_block(2, struct.pack("<HHIIII", 0, 0, 0, 0, len(frames[1]),
                                           len(frames[1])) + mp.pad4(frames[1]))
    write(out, "pcapng_simple_and_obsolete.pcapng", body)
    record("pcapng_simple_and_obsolete.pcapng", 0, 2, 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "testdata", "hostile"))
    args = ap.parse_args()
    out = os.path.normpath(args.out)
    os.makedirs(out, exist_ok=True)
    for f in (f_cut_bases, f_record_lengths, f_ip_tcp_headers, f_ipv6_ext, f_layers, f_time,
              f_pcapng):
        f(out)
    with open(os.path.join(out, "MANIFEST.tsv"), "w") as m:
        m.write("# file\texit\tread\ttcp\tskipped\tstderr  (written by scripts/make_hostile.py)\n")
        for row in MANIFEST:
            m.write("\t".join(row) + "\n")
    print("make_hostile.py: %d files in %s" % (len(MANIFEST), out))


if __name__ == "__main__":
    main()
