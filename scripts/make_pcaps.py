#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the crafted (synthetic) test captures into testdata/pcap/.

Python 3 standard library only, no root, fully deterministic: the same run
writes byte-identical files (fixed addresses, ports, ISNs, timestamps and
payloads).  Every file name is documented in testdata/pcap/README.md.

Usage:  python3 scripts/make_pcaps.py [--out DIR]

Layout of this script: one builder per layer (eth, vlan, mpls, pppoe, sll,
sll2, null/loop, ipv4, ipv6 (+ extension headers), tcp, udp, icmp, arp, gre,
vxlan), a small TCP conversation model (TcpConv) that keeps sequence/ack
numbers right, the pcap / pcapng writers, and one function per output file.

Unless stated otherwise a connection is (all addresses are documentation
ranges, RFC 5737 / RFC 3849):
  client 192.0.2.1:40000  ->  server 198.51.100.2:80        (IPv4)
  client [2001:db8::1]:40000 -> server [2001:db8::2]:80       (IPv6)
client ISN 1000, server ISN 5000 (relative seq 0 in Wireshark), and the
"standard" conversation (10 packets):
  1 C>S SYN            (MSS 1460, SACK-perm, TS, NOP, WS 7)
  2 S>C SYN/ACK        (MSS 1460, SACK-perm, TS, NOP, WS 7)
  3 C>S ACK
  4 C>S PSH/ACK  100 bytes of request
  5 S>C ACK
  6 S>C PSH/ACK  300 bytes of response
  7 C>S ACK
  8 C>S FIN/ACK        (client closes first)
  9 S>C FIN/ACK
 10 C>S ACK
Timestamps start at 1700000000.000000 (2023-11-14T22:13:20Z), 1 ms apart
(microsecond files) / 1 ms + 123 ns steps (nanosecond files).
"""

import argparse
import os
import struct
import sys

# ---------------------------------------------------------------------------
# constants

LINKTYPE_NULL = 0
LINKTYPE_ETHERNET = 1
LINKTYPE_RAW = 101
LINKTYPE_LOOP = 108
LINKTYPE_LINUX_SLL = 113
LINKTYPE_USER0 = 147
LINKTYPE_IPV4 = 228
LINKTYPE_IPV6 = 229
LINKTYPE_LINUX_SLL2 = 276

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
ETH_VLAN = 0x8100
ETH_QINQ = 0x88A8
ETH_IPV6 = 0x86DD
ETH_MPLS = 0x8847
ETH_PPPOE_SES = 0x8864
ETH_TEB = 0x6558   # transparent Ethernet bridging (not used, reference)

IPPROTO_HOPOPTS = 0
IPPROTO_ICMP = 1
IPPROTO_IPIP = 4
IPPROTO_TCP = 6
IPPROTO_UDP = 17
IPPROTO_IPV6 = 41
IPPROTO_ROUTING = 43
IPPROTO_FRAGMENT = 44
IPPROTO_GRE = 47
IPPROTO_ICMPV6 = 58
IPPROTO_NONE = 59
IPPROTO_DSTOPTS = 60

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK, TCP_URG = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20

MAC_C = bytes.fromhex("020000000001")
MAC_S = bytes.fromhex("020000000002")
MAC_BCAST = b"\xff" * 6

V4_C = "192.0.2.1"
V4_S = "198.51.100.2"
V6_C = "2001:db8::1"
V6_S = "2001:db8::2"

BASE_TS = 1700000000  # seconds

# ---------------------------------------------------------------------------
# helpers


def ip4(a):
    return bytes(int(x) for x in a.split("."))


def ip6(a):
    # tiny inet_pton for IPv6 (stdlib socket.inet_pton would do too, but keep
    # it explicit and platform independent)
    import ipaddress
    return ipaddress.IPv6Address(a).packed


def csum(data):
    if len(data) % 2:
        data += b"\x00"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def payload_bytes(n, seed):
    """Deterministic printable payload of n bytes."""
    alpha = b"abcdefghijklmnopqrstuvwxyz0123456789"
    return bytes(alpha[(seed * 7 + i * 13) % len(alpha)] for i in range(n))


def pad4(b):
    return b + b"\x00" * ((-len(b)) % 4)


# ---------------------------------------------------------------------------
# layer builders (each returns bytes of its header + payload)


def eth(dst, src, ethertype, payload, pad_to_60=False):
    frame = dst + src + struct.pack("!H", ethertype) + payload
    if pad_to_60 and len(frame) < 60:
        frame += b"\x00" * (60 - len(frame))
    return frame


def vlan_tag(vid, inner_type, pcp=0):
    """4 bytes following a 0x8100/0x88a8 TPID: TCI + inner ethertype."""
    return struct.pack("!HH", (pcp << 13) | vid, inner_type)


def mpls(labels, payload, ttl=64):
    """labels: list of label values; the last one gets bottom-of-stack."""
    out = b""
    for i, lab in enumerate(labels):
        bos = 1 if i == len(labels) - 1 else 0
        out += struct.pack("!I", (lab << 12) | (0 << 9) | (bos << 8) | ttl)
    return out + payload


def pppoe_session(session_id, ppp_proto, payload):
    ppp = struct.pack("!H", ppp_proto) + payload
    return struct.pack("!BBHH", 0x11, 0x00, session_id, len(ppp)) + ppp


def sll(pkttype, hatype, addr, proto, payload):
    """Linux cooked v1 (DLT_LINUX_SLL, 16 bytes)."""
    return struct.pack("!HHH", pkttype, hatype, len(addr)) + addr.ljust(8, b"\x00") + \
        struct.pack("!H", proto) + payload


def sll2(proto, ifindex, hatype, pkttype, addr, payload):
    """Linux cooked v2 (LINKTYPE_LINUX_SLL2, 20 bytes)."""
    return struct.pack("!HHIHBB", proto, 0, ifindex, hatype, pkttype, len(addr)) + \
        addr.ljust(8, b"\x00") + payload


def null_hdr(af, payload, big_endian=False):
    """DLT_NULL (host byte order; we write little-endian) / DLT_LOOP (big-endian)."""
    return struct.pack(">I" if big_endian else "<I", af) + payload


def ipv4(src, dst, proto, payload, ident=0, ttl=64, df=True, mf=False, frag_off=0,
         options=b"", total_len=None, tos=0):
    options = pad4(options)
    ihl = 5 + len(options) // 4
    tl = 20 + len(options) + len(payload) if total_len is None else total_len
    flags = (0x4000 if df else 0) | (0x2000 if mf else 0) | (frag_off // 8)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, tos, tl, ident, flags, ttl, proto, 0,
                      ip4(src), ip4(dst)) + options
    c = csum(hdr)
    hdr = hdr[:10] + struct.pack("!H", c) + hdr[12:]
    return hdr + payload


def ipv6(src, dst, nh, payload, hlim=64, flow=0):
    return struct.pack("!IHBB16s16s", (6 << 28) | flow, len(payload), nh, hlim,
                       ip6(src), ip6(dst)) + payload


def ipv6_opts_hdr(nh, options=b""):
    """Hop-by-hop or destination-options header, padded with PadN to 8n bytes."""
    body = options
    need = (-(2 + len(body))) % 8
    if need == 1:
        body += b"\x00"                       # Pad1
    elif need >= 2:
        body += bytes([1, need - 2]) + b"\x00" * (need - 2)   # PadN
    return bytes([nh, (2 + len(body)) // 8 - 1]) + body


def ipv6_srh(nh, segments):
    """Routing header type 4 (SRv6 SRH), segments_left 0 (already at final dst)."""
    segs = b"".join(ip6(s) for s in segments)
    hdr_ext_len = len(segs) // 8
    return struct.pack("!BBBBBBH", nh, hdr_ext_len, 4, 0, len(segments) - 1, 0, 0) + segs


def ipv6_frag_hdr(nh, ident, offset=0, more=False):
    return struct.pack("!BBHI", nh, 0, (offset // 8) << 3 | (1 if more else 0), ident)


def tcp(src, dst, sport, dport, seq, ack, flags, win, options=b"", payload=b"", v6=False):
    options = pad4(options)
    doff = (20 + len(options)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      doff << 4, flags, win, 0, 0) + options
    seg = hdr + payload
    if v6:
        pseudo = ip6(src) + ip6(dst) + struct.pack("!IxxxB", len(seg), IPPROTO_TCP)
    else:
        pseudo = ip4(src) + ip4(dst) + struct.pack("!xBH", IPPROTO_TCP, len(seg))
    c = csum(pseudo + seg)
    return seg[:16] + struct.pack("!H", c) + seg[18:]


def udp(src, dst, sport, dport, payload, v6=False):
    seg = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload
    if v6:
        pseudo = ip6(src) + ip6(dst) + struct.pack("!IxxxB", len(seg), IPPROTO_UDP)
    else:
        pseudo = ip4(src) + ip4(dst) + struct.pack("!xBH", IPPROTO_UDP, len(seg))
    c = csum(pseudo + seg) or 0xFFFF
    return seg[:6] + struct.pack("!H", c) + seg[8:]


def icmp_echo(typ, ident, seqno, data):
    m = struct.pack("!BBHHH", typ, 0, 0, ident, seqno) + data
    return m[:2] + struct.pack("!H", csum(m)) + m[4:]


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH6s4s6s4s", 1, ETH_IPV4, 6, 4, op, sha, ip4(spa), tha, ip4(tpa))


def gre(proto, payload, key=None):
    flags = 0x2000 if key is not None else 0
    hdr = struct.pack("!HH", flags, proto)
    if key is not None:
        hdr += struct.pack("!I", key)
    return hdr + payload


def vxlan(vni, inner_frame):
    return struct.pack("!BxxxI", 0x08, vni << 8) + inner_frame


# TCP options
def opt_mss(v):
    return struct.pack("!BBH", 2, 4, v)


def opt_ws(v):
    return struct.pack("!BBB", 3, 3, v)


def opt_sackperm():
    return b"\x04\x02"


def opt_ts(val, ecr):
    return struct.pack("!BBII", 8, 10, val, ecr)


def opt_sack(blocks):
    return struct.pack("!BB", 5, 2 + 8 * len(blocks)) + b"".join(
        struct.pack("!II", l & 0xFFFFFFFF, r & 0xFFFFFFFF) for l, r in blocks)


def opt_tfo(cookie):
    return struct.pack("!BB", 34, 2 + len(cookie)) + cookie


NOP = b"\x01"
EOL = b"\x00"


def syn_options(tsval, tsecr=0):
    # Linux order: MSS, SACK-perm, TS, NOP, WS
    return opt_mss(1460) + opt_sackperm() + opt_ts(tsval, tsecr) + NOP + opt_ws(7)


# ---------------------------------------------------------------------------
# TCP conversation model


class TcpConv:
    """Tracks seq/ack of both sides; seg() returns (from_client, src, dst, tcp_bytes)."""

    def __init__(self, cip=V4_C, sip=V4_S, cport=40000, sport=80, cisn=1000, sisn=5000,
                 v6=False):
        self.cip, self.sip, self.cport, self.sport = cip, sip, cport, sport
        self.v6 = v6
        self.nxt = {True: cisn, False: sisn}     # next seq to send, per side
        self.rcv = {True: 0, False: 0}           # what each side acks

    def seg(self, from_client, flags, payload=b"", options=b"", win=502, seq=None,
            ack=None, advance=True):
        src, dst = (self.cip, self.sip) if from_client else (self.sip, self.cip)
        sp, dp = (self.cport, self.sport) if from_client else (self.sport, self.cport)
        s = self.nxt[from_client] if seq is None else seq
        a = (self.rcv[from_client] if ack is None else ack) if flags & TCP_ACK else 0
        t = tcp(src, dst, sp, dp, s, a, flags, win, options, payload, self.v6)
        if advance:
            ln = len(payload) + (1 if flags & TCP_SYN else 0) + (1 if flags & TCP_FIN else 0)
            end = s + ln
            if end > self.nxt[from_client]:
                self.nxt[from_client] = end
            # the peer now acks up to end (in-order model)
            if end > self.rcv[not from_client]:
                self.rcv[not from_client] = end
        return (from_client, src, dst, t)


def standard_conversation(conv, req=100, resp=300, ts=True):
    """The 10-packet conversation described in the module docstring."""
    tsv = [100]

    def o(opts=b""):
        if not ts:
            return opts
        tsv[0] += 1
        return NOP + NOP + opt_ts(tsv[0], tsv[0] - 1) + opts

    segs = [
        conv.seg(True, TCP_SYN, options=syn_options(100) if ts else opt_mss(1460), win=64240),
        conv.seg(False, TCP_SYN | TCP_ACK, options=syn_options(200, 100) if ts else opt_mss(1460),
                 win=65160),
        conv.seg(True, TCP_ACK, options=o()),
        conv.seg(True, TCP_PSH | TCP_ACK, payload_bytes(req, 1), options=o()),
        conv.seg(False, TCP_ACK, options=o(), win=509),
        conv.seg(False, TCP_PSH | TCP_ACK, payload_bytes(resp, 2), options=o(), win=509),
        conv.seg(True, TCP_ACK, options=o()),
        conv.seg(True, TCP_FIN | TCP_ACK, options=o()),
        conv.seg(False, TCP_FIN | TCP_ACK, options=o(), win=509),
        conv.seg(True, TCP_ACK, options=o()),
    ]
    return segs


def ip_wrap(seg, ident=None, **kw):
    """Wrap a TcpConv segment into an IPv4 or IPv6 packet."""
    from_client, src, dst, t = seg
    if ":" in src:
        return ipv6(src, dst, IPPROTO_TCP, t)
    return ipv4(src, dst, IPPROTO_TCP, t, ident=ident or 0, **kw)


def eth_wrap(seg, ip_pkt, pad=False):
    from_client = seg[0]
    et = ETH_IPV6 if ip_pkt[0] >> 4 == 6 else ETH_IPV4
    return eth(MAC_S if from_client else MAC_C, MAC_C if from_client else MAC_S, et, ip_pkt,
               pad)


def ipid(i, from_client):
    return (0x1000 if from_client else 0x2000) + i


def eth_frames(segs, pad=False):
    return [eth_wrap(s, ip_wrap(s, ident=ipid(i, s[0])), pad) for i, s in enumerate(segs)]


# ---------------------------------------------------------------------------
# file writers


def ts_list(n, nsec=False, step_us=1000, start=0):
    """List of (sec, frac) timestamps; frac in us, or in ns with +123 ns jitter."""
    out = []
    for i in range(n):
        us = start + i * step_us
        sec = BASE_TS + us // 1000000
        if nsec:
            out.append((sec, (us % 1000000) * 1000 + 123 + i))
        else:
            out.append((sec, us % 1000000))
    return out


def pcap_bytes(linktype, frames, nsec=False, snaplen=262144, big_endian=False, stamps=None):
    """frames: list of bytes or (bytes, orig_len)."""
    e = ">" if big_endian else "<"
    magic = 0xA1B23C4D if nsec else 0xA1B2C3D4
    out = bytearray(struct.pack(e + "IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype))
    stamps = stamps or ts_list(len(frames), nsec)
    for f, (sec, frac) in zip(frames, stamps):
        data, orig = (f if isinstance(f, tuple) else (f, len(f)))
        data = data[:snaplen]
        out += struct.pack(e + "IIII", sec, frac, len(data), orig) + data
    return bytes(out)


def pcapng_block(btype, body, e="<"):
    tot = 12 + len(pad4(body))
    return struct.pack(e + "II", btype, tot) + pad4(body) + struct.pack(e + "I", tot)


def pcapng_shb(opts=(), e="<"):
    body = struct.pack(e + "IHHq", 0x1A2B3C4D, 1, 0, -1) + pcapng_options_e(opts, e)
    return pcapng_block(0x0A0D0D0A, body, e)


def pcapng_options_e(opts, e):
    if not opts:
        return b""
    return b"".join(struct.pack(e + "HH", c, len(v)) + pad4(v) for c, v in opts) + \
        struct.pack(e + "HH", 0, 0)


def pcapng_idb(linktype, snaplen=262144, opts=(), e="<"):
    body = struct.pack(e + "HHI", linktype, 0, snaplen) + pcapng_options_e(opts, e)
    return pcapng_block(1, body, e)


def pcapng_epb(ifid, ts_units, data, orig_len=None, opts=(), e="<"):
    body = struct.pack(e + "IIIII", ifid, ts_units >> 32, ts_units & 0xFFFFFFFF, len(data),
                       len(data) if orig_len is None else orig_len) + pad4(data) + \
        pcapng_options_e(opts, e)
    return pcapng_block(6, body, e)


def write(outdir, name, data):
    with open(os.path.join(outdir, name), "wb") as f:
        f.write(data)


# ---------------------------------------------------------------------------
# files


def f_handshake(outdir):
    frames = eth_frames(standard_conversation(TcpConv()))
    write(outdir, "crafted_handshake_usec.pcap", pcap_bytes(LINKTYPE_ETHERNET, frames))
    write(outdir, "crafted_handshake_nsec.pcap", pcap_bytes(LINKTYPE_ETHERNET, frames, nsec=True))
    write(outdir, "crafted_handshake_usec_be.pcap",
          pcap_bytes(LINKTYPE_ETHERNET, frames, big_endian=True))
    return frames


def f_pcapng_simple(outdir):
    frames = eth_frames(standard_conversation(TcpConv(cport=40010)))
    blocks = pcapng_shb([(4, b"tcplife make_pcaps.py")])
    blocks += pcapng_idb(LINKTYPE_ETHERNET, opts=[(2, b"eth0")])
    for i, f in enumerate(frames):
        us = (BASE_TS * 1000000) + i * 1000
        blocks += pcapng_epb(0, us, f)
    write(outdir, "crafted_pcapng_simple.pcapng", blocks)
    # same, big-endian section
    e = ">"
    blocks = pcapng_shb([(4, b"tcplife make_pcaps.py")], e)
    blocks += pcapng_idb(LINKTYPE_ETHERNET, opts=[(2, b"eth0")], e=e)
    for i, f in enumerate(frames):
        us = (BASE_TS * 1000000) + i * 1000
        blocks += pcapng_epb(0, us, f, e=e)
    write(outdir, "crafted_pcapng_bigendian.pcapng", blocks)


def f_multi_if(outdir):
    """IDB0 Ethernet (us), IDB1 RAW (ns, if_tsresol=9), IDB2 Linux SLL (us).
    Connection A (client port 40001): client->server packets on if0 (Ethernet),
    server->client packets on if2 (SLL).  Connection B (IPv6, client port 40002)
    entirely on if1 (raw IP).  EPBs interleaved in time order; a Custom Block
    (0x00000BAD) and an unknown local block type (0x8000ABCD) sit between EPBs."""
    segs_a = standard_conversation(TcpConv(cport=40001))
    segs_b = standard_conversation(TcpConv(V6_C, V6_S, cport=40002, v6=True))
    blocks = pcapng_shb([(4, b"tcplife make_pcaps.py")])
    blocks += pcapng_idb(LINKTYPE_ETHERNET, opts=[(2, b"eth0")])
    blocks += pcapng_idb(LINKTYPE_RAW, opts=[(2, b"tun0"), (9, b"\x09")])
    blocks += pcapng_idb(LINKTYPE_LINUX_SLL, opts=[(2, b"any")])
    events = []
    for i, s in enumerate(segs_a):
        us = i * 1000
        ipkt = ip_wrap(s, ident=ipid(i, s[0]))
        if s[0]:
            events.append((us * 1000, 0, eth_wrap(s, ipkt)))
        else:
            events.append((us * 1000, 2, sll(0, 1, MAC_S, ETH_IPV4, ipkt)))
    for i, s in enumerate(segs_b):
        ns = i * 1000000 + 500000 + 123 + i      # half-way between A's packets
        events.append((ns, 1, ip_wrap(s)))
    events.sort(key=lambda x: x[0])
    for n, (ns, ifid, data) in enumerate(events):
        if ifid == 1:
            units = BASE_TS * 1000000000 + ns
        else:
            units = BASE_TS * 1000000 + ns // 1000
        # epb_flags: direction inbound(1)/outbound(2) just for realism on if0
        opts = [(2, struct.pack("<I", 2))] if ifid == 0 else ()
        blocks += pcapng_epb(ifid, units, data, opts=opts)
        if n == 3:
            blocks += pcapng_block(0x00000BAD, struct.pack("<I", 32473) + b"tcplife custom block")
        if n == 7:
            blocks += pcapng_block(0x8000ABCD, b"unknown local-use block, skip me")
    write(outdir, "crafted_multi_if.pcapng", blocks)

    # libpcap (tcpdump, pcap_next_ex) refuses IDBs of different link types in
    # one section; this variant keeps both interfaces Ethernet but different
    # if_tsresol so libpcap-based readers can be tested on multi-interface too.
    blocks = pcapng_shb([(4, b"tcplife make_pcaps.py")])
    blocks += pcapng_idb(LINKTYPE_ETHERNET, opts=[(2, b"eth0")])
    blocks += pcapng_idb(LINKTYPE_ETHERNET, opts=[(2, b"eth1"), (9, b"\x09")])
    events = []
    for i, s in enumerate(segs_a):
        events.append((i * 1000000, 0, eth_wrap(s, ip_wrap(s, ident=ipid(i, s[0])))))
    for i, s in enumerate(segs_b):
        events.append((i * 1000000 + 500000 + 123 + i, 1, eth_wrap(s, ip_wrap(s))))
    events.sort(key=lambda x: x[0])
    for n, (ns, ifid, data) in enumerate(events):
        units = BASE_TS * 1000000000 + ns if ifid == 1 else BASE_TS * 1000000 + ns // 1000
        blocks += pcapng_epb(ifid, units, data)
        if n == 3:
            blocks += pcapng_block(0x00000BAD, struct.pack("<I", 32473) + b"tcplife custom block")
    write(outdir, "crafted_multi_if_same_linktype.pcapng", blocks)


def f_broken(outdir, hs_frames):
    full = pcap_bytes(LINKTYPE_ETHERNET, hs_frames)
    # cut the 10th (last) record in the middle of its data: 9 whole packets
    last = len(hs_frames[-1])
    write(outdir, "crafted_truncated_mid_record.pcap", full[:len(full) - last // 2])
    write(outdir, "crafted_truncated_header.pcap", full[:10])
    write(outdir, "crafted_empty.pcap", b"")
    write(outdir, "crafted_not_a_capture.pcap",
          b"This is not a packet capture.\nIt is a plain text file used by tcplife tests.\n")
    write(outdir, "crafted_bad_magic.pcap", struct.pack("<I", 0xDEADBEEF) + full[4:])
    write(outdir, "crafted_unknown_linktype.pcap",
          pcap_bytes(LINKTYPE_USER0, hs_frames[:2]))


def f_encaps(outdir):
    conv = TcpConv
    # 802.1ad outer VID 100 + 802.1Q inner VID 200
    segs = standard_conversation(conv(cport=40020))
    fr = []
    for i, s in enumerate(segs):
        ipkt = ip_wrap(s, ident=ipid(i, s[0]))
        inner = vlan_tag(200, ETH_IPV4, pcp=3) + ipkt
        outer = vlan_tag(100, ETH_VLAN) + inner
        fr.append(eth(MAC_S if s[0] else MAC_C, MAC_C if s[0] else MAC_S, ETH_QINQ, outer))
    write(outdir, "crafted_vlan_qinq.pcap", pcap_bytes(LINKTYPE_ETHERNET, fr))

    # MPLS: 2-label stack (outer 1000, inner 2000 with BoS), IPv4 payload
    segs = standard_conversation(conv(cport=40021))
    fr = [eth(MAC_S if s[0] else MAC_C, MAC_C if s[0] else MAC_S, ETH_MPLS,
              mpls([1000, 2000], ip_wrap(s, ident=ipid(i, s[0])))) for i, s in enumerate(segs)]
    write(outdir, "crafted_mpls.pcap", pcap_bytes(LINKTYPE_ETHERNET, fr))

    # PPPoE session 0x1234, PPP protocol 0x0021 (IPv4)
    segs = standard_conversation(conv(cport=40022))
    fr = [eth(MAC_S if s[0] else MAC_C, MAC_C if s[0] else MAC_S, ETH_PPPOE_SES,
              pppoe_session(0x1234, 0x0021, ip_wrap(s, ident=ipid(i, s[0]))))
          for i, s in enumerate(segs)]
    write(outdir, "crafted_pppoe.pcap", pcap_bytes(LINKTYPE_ETHERNET, fr))

    # Linux SLL v1: outgoing (4) for client->server, host (0) for server->client
    segs = standard_conversation(conv(cport=40023))
    fr = [sll(4 if s[0] else 0, 1, MAC_C if s[0] else MAC_S, ETH_IPV4,
              ip_wrap(s, ident=ipid(i, s[0]))) for i, s in enumerate(segs)]
    write(outdir, "crafted_sll.pcap", pcap_bytes(LINKTYPE_LINUX_SLL, fr))

    # Linux SLL v2, ifindex 2
    segs = standard_conversation(conv(cport=40024))
    fr = [sll2(ETH_IPV4, 2, 1, 4 if s[0] else 0, MAC_C if s[0] else MAC_S,
               ip_wrap(s, ident=ipid(i, s[0]))) for i, s in enumerate(segs)]
    write(outdir, "crafted_sll2.pcap", pcap_bytes(LINKTYPE_LINUX_SLL2, fr))

    # DLT_NULL little-endian: IPv4 conn (AF 2), then IPv6 conn with BSD AF_INET6
    # values cycling 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (Darwin)
    s4 = standard_conversation(conv(cport=40025))
    s6 = standard_conversation(conv(V6_C, V6_S, cport=40026, v6=True))
    fr = [null_hdr(2, ip_wrap(s, ident=ipid(i, s[0]))) for i, s in enumerate(s4)]
    fr += [null_hdr((24, 28, 30)[i % 3], ip_wrap(s)) for i, s in enumerate(s6)]
    write(outdir, "crafted_null.pcap", pcap_bytes(LINKTYPE_NULL, fr))

    # DLT_LOOP (108): AF in network byte order; IPv4 (2) then IPv6 (24/28/30)
    s4 = standard_conversation(conv(cport=40027))
    s6 = standard_conversation(conv(V6_C, V6_S, cport=40028, v6=True))
    fr = [null_hdr(2, ip_wrap(s, ident=ipid(i, s[0])), big_endian=True) for i, s in enumerate(s4)]
    fr += [null_hdr((24, 28, 30)[i % 3], ip_wrap(s), big_endian=True) for i, s in enumerate(s6)]
    write(outdir, "crafted_loop.pcap", pcap_bytes(LINKTYPE_LOOP, fr))

    # LINKTYPE_RAW (101): IPv4 conn then IPv6 conn
    s4 = standard_conversation(conv(cport=40029))
    s6 = standard_conversation(conv(V6_C, V6_S, cport=40030, v6=True))
    fr = [ip_wrap(s, ident=ipid(i, s[0])) for i, s in enumerate(s4)] + [ip_wrap(s) for s in s6]
    write(outdir, "crafted_raw.pcap", pcap_bytes(LINKTYPE_RAW, fr))

    # LINKTYPE_IPV4 (228) / LINKTYPE_IPV6 (229)
    s4 = standard_conversation(conv(cport=40031))
    write(outdir, "crafted_ipv4_linktype.pcap",
          pcap_bytes(LINKTYPE_IPV4, [ip_wrap(s, ident=ipid(i, s[0])) for i, s in enumerate(s4)]))
    s6 = standard_conversation(conv(V6_C, V6_S, cport=40032, v6=True))
    write(outdir, "crafted_ipv6_linktype.pcap", pcap_bytes(LINKTYPE_IPV6, [ip_wrap(s) for s in s6]))


def outer_eth4(from_client, proto, payload, i):
    """Outer Ethernet + IPv4 between tunnel endpoints 203.0.113.1 <-> 203.0.113.2."""
    src, dst = ("203.0.113.1", "203.0.113.2") if from_client else ("203.0.113.2", "203.0.113.1")
    return eth(MAC_S if from_client else MAC_C, MAC_C if from_client else MAC_S, ETH_IPV4,
               ipv4(src, dst, proto, payload, ident=0x3000 + i, df=False))


def outer_eth6(from_client, nh, payload):
    src, dst = ("2001:db8:ffff::1", "2001:db8:ffff::2") if from_client else \
        ("2001:db8:ffff::2", "2001:db8:ffff::1")
    return eth(MAC_S if from_client else MAC_C, MAC_C if from_client else MAC_S, ETH_IPV6,
               ipv6(src, dst, nh, payload))


def f_tunnels(outdir):
    conv = TcpConv
    # GRE (proto 0x0800): client->server without optional fields, server->client
    # with the Key bit set (key 42) -> 8-byte GRE header
    segs = standard_conversation(conv(cport=40040))
    fr = [outer_eth4(s[0], IPPROTO_GRE,
                     gre(ETH_IPV4, ip_wrap(s, ident=ipid(i, s[0])), key=None if s[0] else 42), i)
          for i, s in enumerate(segs)]
    write(outdir, "crafted_gre.pcap", pcap_bytes(LINKTYPE_ETHERNET, fr))

    # VXLAN: outer UDP 4789, VNI 4242, inner Ethernet/IPv4/TCP
    segs = standard_conversation(conv(cport=40041))
    fr = []
    for i, s in enumerate(segs):
        inner = eth_wrap(s, ip_wrap(s, ident=ipid(i, s[0])))
        usrc, udst = ("203.0.113.1", "203.0.113.2") if s[0] else ("203.0.113.2", "203.0.113.1")
        u = udp(usrc, udst, 50000 + i, 4789, vxlan(4242, inner))
        fr.append(outer_eth4(s[0], IPPROTO_UDP, u, i))
    write(outdir, "crafted_vxlan.pcap", pcap_bytes(LINKTYPE_ETHERNET, fr))

    # IP-in-IP
    segs = standard_conversation(conv(cport=40042))
    fr = [outer_eth4(s[0], IPPROTO_IPIP, ip_wrap(s, ident=ipid(i, s[0])), i)
          for i, s in enumerate(segs)]
    write(outdir, "crafted_ipip_4in4.pcap", pcap_bytes(LINKTYPE_ETHERNET, fr))
    segs = standard_conversation(conv(V6_C, V6_S, cport=40043, v6=True))
    fr = [outer_eth4(s[0], IPPROTO_IPV6, ip_wrap(s), i) for i, s in enumerate(segs)]
    write(outdir, "crafted_ipip_6in4.pcap", pcap_bytes(LINKTYPE_ETHERNET, fr))
    segs = standard_conversation(conv(cport=40044))
    fr = [outer_eth6(s[0], IPPROTO_IPIP, ip_wrap(s, ident=ipid(i, s[0])))
          for i, s in enumerate(segs)]
    write(outdir, "crafted_ipip_4in6.pcap", pcap_bytes(LINKTYPE_ETHERNET, fr))
    segs = standard_conversation(conv(V6_C, V6_S, cport=40045, v6=True))
    fr = [outer_eth6(s[0], IPPROTO_IPV6, ip_wrap(s)) for s in segs]
    write(outdir, "crafted_ipip_6in6.pcap", pcap_bytes(LINKTYPE_ETHERNET, fr))


def f_ip_edge(outdir):
    conv = TcpConv
    # IPv4 options (Router Alert, 4 bytes -> IHL 6) on every packet, no TCP
    # options, Ethernet frames shorter than 60 bytes zero-padded to 60.
    segs = standard_conversation(conv(cport=40050), ts=False)
    ra = b"\x94\x04\x00\x00"
    fr = [eth_wrap(s, ipv4(s[1], s[2], IPPROTO_TCP, s[3], ident=ipid(i, s[0]), options=ra),
                   pad=True) for i, s in enumerate(segs)]
    write(outdir, "crafted_ipv4_options_padding.pcap", pcap_bytes(LINKTYPE_ETHERNET, fr))

    # IPv4 total length 0 (TSO as seen on the sending host) on every packet that
    # carries payload; request 100 B, response 3000 B (bigger than an MSS).
    c = conv(cport=40051)
    segs = standard_conversation(c, req=100, resp=3000)
    fr = []
    for i, s in enumerate(segs):
        has_payload = i in (3, 5)
        fr.append(eth_wrap(s, ipv4(s[1], s[2], IPPROTO_TCP, s[3], ident=ipid(i, s[0]),
                                   total_len=0 if has_payload else None)))
    write(outdir, "crafted_tso_total_len0.pcap", pcap_bytes(LINKTYPE_ETHERNET, fr))

    # IPv6 extension headers: client->server packets carry
    # HBH(PadN) -> DstOpts(PadN) -> Routing type 4 (SRH, segments_left 0) ->
    # Fragment (atomic: offset 0, M=0) -> TCP; server->client carry only an
    # atomic Fragment header.
    segs = standard_conversation(conv(V6_C, V6_S, cport=40052, v6=True))
    fr = []
    for i, s in enumerate(segs):
        t = s[3]
        if s[0]:
            chain = ipv6_opts_hdr(IPPROTO_DSTOPTS) + ipv6_opts_hdr(IPPROTO_ROUTING) + \
                ipv6_srh(IPPROTO_FRAGMENT, [V6_S]) + ipv6_frag_hdr(IPPROTO_TCP, 0x100 + i) + t
            p = ipv6(s[1], s[2], IPPROTO_HOPOPTS, chain)
        else:
            p = ipv6(s[1], s[2], IPPROTO_FRAGMENT, ipv6_frag_hdr(IPPROTO_TCP, 0x200 + i) + t)
        fr.append(eth_wrap(s, p))
    write(outdir, "crafted_ipv6_ext_headers.pcap", pcap_bytes(LINKTYPE_ETHERNET, fr))


def f_mixed(outdir):
    """One TCP connection (client port 40060) interleaved with non-TCP traffic."""
    segs = standard_conversation(TcpConv(cport=40060))
    tcpf = eth_frames(segs)
    other = []
    # 2 ARP
    other.append(eth(MAC_BCAST, MAC_C, ETH_ARP, arp(1, MAC_C, V4_C, b"\x00" * 6, V4_S), True))
    other.append(eth(MAC_C, MAC_S, ETH_ARP, arp(2, MAC_S, V4_S, MAC_C, V4_C), True))
    # 2 ICMP echo
    other.append(eth(MAC_S, MAC_C, ETH_IPV4, ipv4(V4_C, V4_S, IPPROTO_ICMP,
                                                  icmp_echo(8, 7, 1, b"ping" * 8), ident=0x4001)))
    other.append(eth(MAC_C, MAC_S, ETH_IPV4, ipv4(V4_S, V4_C, IPPROTO_ICMP,
                                                  icmp_echo(0, 7, 1, b"ping" * 8), ident=0x4002)))
    # 2 UDP (port 53000 <-> 7777)
    other.append(eth(MAC_S, MAC_C, ETH_IPV4, ipv4(V4_C, V4_S, IPPROTO_UDP,
                                                  udp(V4_C, V4_S, 53000, 7777, b"q" * 30),
                                                  ident=0x4003)))
    other.append(eth(MAC_C, MAC_S, ETH_IPV4, ipv4(V4_S, V4_C, IPPROTO_UDP,
                                                  udp(V4_S, V4_C, 7777, 53000, b"r" * 60),
                                                  ident=0x4004)))
    # 2 IPv4 fragments of one 1600-byte UDP datagram (id 0x4005)
    dg = udp(V4_C, V4_S, 53001, 9999, payload_bytes(1592, 9))
    other.append(eth(MAC_S, MAC_C, ETH_IPV4, ipv4(V4_C, V4_S, IPPROTO_UDP, dg[:1480],
                                                  ident=0x4005, df=False, mf=True)))
    other.append(eth(MAC_S, MAC_C, ETH_IPV4, ipv4(V4_C, V4_S, IPPROTO_UDP, dg[1480:],
                                                  ident=0x4005, df=False, frag_off=1480)))
    # 2 IPv4 fragments of one TCP segment of an unrelated flow (port 40061 -> 80,
    # a bare 1500-byte PSH/ACK split at 1480)
    t = tcp(V4_C, V4_S, 40061, 80, 777, 888, TCP_PSH | TCP_ACK, 502, payload=payload_bytes(1480, 3))
    other.append(eth(MAC_S, MAC_C, ETH_IPV4, ipv4(V4_C, V4_S, IPPROTO_TCP, t[:1480],
                                                  ident=0x4006, df=False, mf=True)))
    other.append(eth(MAC_S, MAC_C, ETH_IPV4, ipv4(V4_C, V4_S, IPPROTO_TCP, t[1480:],
                                                  ident=0x4006, df=False, frag_off=1480)))
    # 1 IPv6 UDP, 1 IPv6 "no next header" (59) packet
    other.append(eth(MAC_S, MAC_C, ETH_IPV6, ipv6(V6_C, V6_S, IPPROTO_UDP,
                                                  udp(V6_C, V6_S, 53002, 7777, b"six" * 5, True))))
    other.append(eth(MAC_S, MAC_C, ETH_IPV6, ipv6(V6_C, V6_S, IPPROTO_NONE, b"")))
    # 1 frame of the local-experimental ethertype 0x88b5 -- not IP at all
    other.append(eth(MAC_BCAST, MAC_C, 0x88B5, b"tcplife experimental ethertype", True))
    # interleave: 1 TCP, 1 other, ...
    fr = []
    oi = 0
    for f in tcpf:
        fr.append(f)
        if oi < len(other):
            fr.append(other[oi])
            oi += 1
    fr += other[oi:]
    write(outdir, "crafted_fragments_and_non_tcp.pcap", pcap_bytes(LINKTYPE_ETHERNET, fr))


def f_snaplen(outdir):
    # snaplen 64: SYN/SYN-ACK carry only MSS (58-byte frames, complete), other
    # packets have no TCP options (54-byte headers); data packets are cut to
    # 10 bytes of payload (caplen 64 < orig_len).
    segs = standard_conversation(TcpConv(cport=40070), ts=False)
    fr = eth_frames(segs)
    write(outdir, "crafted_snaplen_cut.pcap",
          pcap_bytes(LINKTYPE_ETHERNET, [(f[:64], len(f)) for f in fr], snaplen=64))


def f_tcp_options(outdir):
    c = TcpConv(cport=40080)
    cookie = bytes.fromhex("0011223344556677")
    segs = []
    # SYN with TFO cookie and 50 bytes of data (TFO)
    syn_opts = opt_mss(1460) + opt_sackperm() + opt_ts(1000, 0) + NOP + opt_ws(7) + \
        opt_tfo(cookie)
    segs.append(c.seg(True, TCP_SYN, payload_bytes(50, 5), options=syn_opts, win=64240))
    segs.append(c.seg(False, TCP_SYN | TCP_ACK,
                      options=opt_mss(1400) + opt_sackperm() + opt_ts(2000, 1000) + NOP +
                      opt_ws(9), win=65160))
    tsd = lambda a, b: NOP + NOP + opt_ts(a, b)
    segs.append(c.seg(True, TCP_ACK, options=tsd(1001, 2000)))
    # server sends 4 x 1000 bytes, the 2nd is "lost" (absent from the capture:
    # the capture point is at the client)
    s0 = c.nxt[False]
    segs.append(c.seg(False, TCP_ACK, payload_bytes(1000, 10), options=tsd(2001, 1001), win=509))
    c.seg(False, TCP_ACK, payload_bytes(1000, 11))   # lost: never written
    segs.append(c.seg(False, TCP_ACK, payload_bytes(1000, 12), options=tsd(2003, 1001), win=509))
    segs.append(c.seg(True, TCP_ACK, ack=s0 + 1000, options=tsd(1002, 2003) + NOP + NOP +
                      opt_sack([(s0 + 2000, s0 + 3000)])))
    segs.append(c.seg(False, TCP_PSH | TCP_ACK, payload_bytes(1000, 13), options=tsd(2004, 1002),
                      win=509))
    segs.append(c.seg(True, TCP_ACK, ack=s0 + 1000, options=tsd(1003, 2004) + NOP + NOP +
                      opt_sack([(s0 + 2000, s0 + 4000)])))
    # retransmission of the lost segment fills the hole
    segs.append(c.seg(False, TCP_ACK, payload_bytes(1000, 11), options=tsd(2005, 1003),
                      seq=s0 + 1000, win=509))
    segs.append(c.seg(True, TCP_ACK, ack=s0 + 4000, options=tsd(1004, 2005)))
    # client data with an unknown option kind 253 (len 4, RFC 6994 exp.) then EOL
    segs.append(c.seg(True, TCP_PSH | TCP_ACK, payload_bytes(20, 6),
                      options=tsd(1005, 2005) + b"\xfd\x04\xab\xcd" + EOL))
    segs.append(c.seg(False, TCP_ACK, options=tsd(2006, 1005), win=509))
    segs.append(c.seg(True, TCP_FIN | TCP_ACK, options=tsd(1006, 2006)))
    segs.append(c.seg(False, TCP_FIN | TCP_ACK, options=tsd(2007, 1006), win=509))
    segs.append(c.seg(True, TCP_ACK, options=tsd(1007, 2007)))
    write(outdir, "crafted_tcp_options_all.pcap", pcap_bytes(LINKTYPE_ETHERNET, eth_frames(segs)))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(here, "..", "testdata", "pcap"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    hs = f_handshake(a.out)
    f_pcapng_simple(a.out)
    f_multi_if(a.out)
    f_broken(a.out, hs)
    f_encaps(a.out)
    f_tunnels(a.out)
    f_ip_edge(a.out)
    f_mixed(a.out)
    f_snaplen(a.out)
    f_tcp_options(a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
