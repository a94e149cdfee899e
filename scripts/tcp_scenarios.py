#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Client/server programs and capture checks for scripts/make_captures.sh.

  tcp_scenarios.py list                      scenario names, in run order
  tcp_scenarios.py info NAME                 shell variables for make_captures.sh
  tcp_scenarios.py server NAME [--ready F] [--deadline T]
  tcp_scenarios.py client NAME [--deadline T]
  tcp_scenarios.py check NAME FILE.pcap      facts of the capture; exit 1 if the
                                             capture does not show what NAME says

Python 3 stdlib only.  Ports, payload sizes and addresses are fixed per
scenario (table SCENARIOS); the client always binds its source port, so the
4-tuples in the committed captures are stable across regenerations.  Every
socket operation has a timeout.
"""

import argparse
import errno
import socket
import struct
import sys
import time

V4_C, V4_S = "10.77.0.1", "10.77.0.2"
V6_C, V6_S = "fd77::1", "fd77::2"

REQ = 200        # request bytes (client -> server)
RESP = 2000      # response bytes (server -> client)
BULK = 307200    # kernel_bulk, client -> server
DOWNLOAD = 204800  # relay scenarios, server -> client
ZW_BYTES = 65536   # kernel_zero_window, client -> server
TIMEOUT = 15.0

# name: port (server), v6, topo (direct|relay), relay args, snaplen, firewall
# (nft rule spec: (namespace role, rule)), sysctls per role.
SCENARIOS = {
    "client_close_first": dict(port=5001),
    "server_close_first": dict(port=5002),
    "half_close": dict(port=5003),
    "rst_abort_client": dict(port=5004),
    "rst_abort_server": dict(port=5005),
    "close_unread_data": dict(port=5006),
    "refused": dict(port=5007, noserver=True),
    "syn_dropped": dict(port=5008, fw=("s", "tcp dport 5008 tcp flags & (syn|ack) == syn drop")),
    "synack_dropped": dict(port=5009,
                           fw=("c", "tcp sport 5009 tcp flags & (syn|ack) == syn|ack drop"),
                           sysctl_s="net.ipv4.tcp_synack_retries=2"),
    "simultaneous_close": dict(port=5010, topo="relay", relay="--delay-ms 50", deadline=2.0),
    "simultaneous_open": dict(port=5011, topo="relay", relay="--delay-ms 50", deadline=1.0),
    "port_reuse": dict(port=5012),
    "bulk": dict(port=5013, snaplen=96),
    "zero_window": dict(port=5014, snaplen=96),
    "keepalive": dict(port=5015),
    "v6_client_close_first": dict(port=5101, v6=True),
    "v6_rst_abort_client": dict(port=5104, v6=True),
    "v6_refused": dict(port=5107, v6=True, noserver=True),
    "relay_loss": dict(port=5201, topo="relay", snaplen=96,
                       relay="--delay-ms 5 --loss 0.02 --seed 12"),
    "relay_reorder": dict(port=5202, topo="relay", snaplen=96,
                          relay="--delay-ms 5 --reorder 0.03 --reorder-ms 4 --seed 2"),
    "relay_dup": dict(port=5203, topo="relay", snaplen=96,
                      relay="--delay-ms 5 --dup 0.03 --seed 3"),
    # A RST forged into a live connection from inside the client namespace
    # (raw socket, the client's own address): its seq is the server's
    # RCV.NXT (exact), 1000 above it (in window: the server must answer with
    # a challenge ACK, RFC 5961) or 2^30 above it (out of window: dropped).
    "rst_forged_exact": dict(port=5301),
    "rst_forged_in_window": dict(port=5302),
    "rst_forged_out_of_window": dict(port=5303),
}

FORGED_RST_OFFSET = {"rst_forged_exact": 0, "rst_forged_in_window": 1000,
                     "rst_forged_out_of_window": 1 << 30}
AFTER = 100      # bytes each way after a forged RST the connection survives


def cfg(name):
    c = dict(v6=False, topo="direct", relay="", snaplen=262144, noserver=False, fw=None,
             sysctl_s="", deadline=0.0)
    c.update(SCENARIOS[name])
    c["cport"] = 40000 + c["port"]
    c["saddr"] = V6_S if c["v6"] else V4_S
    c["caddr"] = V6_C if c["v6"] else V4_C
    return c


def pattern(n, seed=0):
    base = bytes((seed + i) % 251 for i in range(251))
    return (base * (n // 251 + 1))[:n]


# ---------------------------------------------------------------------------
# socket helpers

def new_sock(c):
    s = socket.socket(socket.AF_INET6 if c["v6"] else socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.settimeout(TIMEOUT)
    return s


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        d = s.recv(n - len(buf))
        if not d:
            raise EOFError("EOF after %d of %d bytes" % (len(buf), n))
        buf += d
    return buf


def recv_all(s, limit=1 << 24):
    n = 0
    for _ in range(1 << 20):
        d = s.recv(65536)
        if not d:
            return n
        n += len(d)
        if n > limit:
            break
    return n


def linger0(s):
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))


def expect_reset(s):
    try:
        d = s.recv(1000)
    except ConnectionResetError:
        return True
    raise RuntimeError("expected ECONNRESET, got %r" % (d[:20],))


def sleep_until(t):
    if t > 0:
        d = t - time.time()
        if 0 < d < 30:
            time.sleep(d)


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------
# servers

def server(name, ready, deadline):
    c = cfg(name)
    if name == "simultaneous_open":
        s = new_sock(c)
        s.bind((c["saddr"], c["port"]))
        open(ready, "w").write("ready\n")
        sleep_until(deadline)
        s.connect((c["caddr"], c["cport"]))
        recv_exact(s, REQ)
        s.sendall(pattern(RESP, 1))
        assert recv_all(s) == 0
        s.close()
        return 0
    ls = new_sock(c)
    if name == "zero_window":
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    ls.bind((c["saddr"], c["port"]))
    ls.listen(8)
    open(ready, "w").write("ready\n")
    if name in ("syn_dropped", "synack_dropped"):
        ls.settimeout(9.0)
        try:
            conn, _ = ls.accept()
            log("unexpected connection")
            return 1
        except socket.timeout:
            return 0
    nconn = 3 if name == "port_reuse" else 1
    for _ in range(nconn):
        conn, peer = ls.accept()
        conn.settimeout(TIMEOUT)
        log("accepted", peer)
        serve_one(name, c, conn, deadline)
    ls.close()
    return 0


def serve_one(name, c, s, deadline):
    if name in ("client_close_first", "v6_client_close_first", "keepalive"):
        recv_exact(s, REQ)
        s.sendall(pattern(RESP, 1))
        assert recv_all(s) == 0
        s.close()
    elif name in ("server_close_first", "port_reuse"):
        recv_exact(s, REQ)
        s.sendall(pattern(RESP, 1))
        s.close()
    elif name == "half_close":
        n = recv_all(s)
        assert n == REQ, n
        for i in range(5):            # keeps sending after the client's FIN
            s.sendall(pattern(1000, i))
            time.sleep(0.1)
        s.close()
    elif name in ("rst_abort_client", "v6_rst_abort_client"):
        recv_exact(s, REQ)
        s.sendall(pattern(RESP, 1))
        expect_reset(s)
        s.close()
    elif name == "rst_abort_server":
        recv_exact(s, REQ)
        s.sendall(pattern(RESP, 1))
        time.sleep(0.2)
        linger0(s)
        s.close()
    elif name == "close_unread_data":
        time.sleep(0.3)               # the request arrives but is never read
        s.close()                     # -> RST instead of FIN
    elif name == "simultaneous_close":
        recv_exact(s, REQ)
        s.sendall(pattern(RESP, 1))
        sleep_until(deadline)
        s.close()
    elif name == "bulk":
        n = recv_all(s)
        assert n == BULK, n
        s.sendall(b"DONE\n")
        s.close()
    elif name == "zero_window":
        time.sleep(3.0)               # window fills, sender probes
        n = recv_all(s)
        assert n == ZW_BYTES, n
        s.close()
    elif name.startswith("relay_"):
        recv_exact(s, REQ)
        s.sendall(pattern(DOWNLOAD, 7))
        s.close()
    elif name == "rst_forged_exact":
        recv_exact(s, REQ)
        s.sendall(pattern(RESP, 1))
        expect_reset(s)               # the forged RST is believed
        s.close()
    elif name in ("rst_forged_in_window", "rst_forged_out_of_window"):
        recv_exact(s, REQ)
        s.sendall(pattern(RESP, 1))
        recv_exact(s, AFTER)          # the connection survived the RST
        s.sendall(pattern(AFTER, 2))
        assert recv_all(s) == 0
        s.close()
    else:
        raise SystemExit("no server for " + name)


# ---------------------------------------------------------------------------
# clients

def client(name, deadline):
    c = cfg(name)
    s = new_sock(c)
    s.bind((c["caddr"], c["cport"]))
    dst = (c["saddr"], c["port"])
    if name in ("refused", "v6_refused"):
        try:
            s.connect(dst)
        except ConnectionRefusedError:
            return 0
        raise RuntimeError("connect succeeded")
    if name in ("syn_dropped", "synack_dropped"):
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, 2)   # SYN + 2 retransmissions
        try:
            s.connect(dst)
        except (TimeoutError, socket.timeout) as e:
            log("connect timed out:", e)
            return 0
        except OSError as e:
            if e.errno == errno.ETIMEDOUT:
                return 0
            raise
        raise RuntimeError("connect succeeded")
    if name == "simultaneous_open":
        sleep_until(deadline)
        s.connect(dst)
        s.sendall(pattern(REQ, 0))
        recv_exact(s, RESP)
        s.close()
        return 0
    if name == "port_reuse":
        s.close()
        for i in range(3):
            s = new_sock(c)
            s.bind((c["caddr"], c["cport"]))
            s.connect(dst)
            s.sendall(pattern(REQ, i))
            n = recv_all(s)
            assert n == RESP, n
            s.close()
            time.sleep(0.3)
        return 0
    if name.startswith("rst_forged_"):
        return forged_rst_client(name, c, s, dst)
    if name == "keepalive":
        s.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL, 1)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT, 5)
    s.connect(dst)
    if name in ("client_close_first", "v6_client_close_first"):
        s.sendall(pattern(REQ, 0))
        recv_exact(s, RESP)
        s.close()
    elif name == "server_close_first":
        s.sendall(pattern(REQ, 0))
        n = recv_all(s)
        assert n == RESP, n
        s.close()
    elif name == "half_close":
        s.sendall(pattern(REQ, 0))
        s.shutdown(socket.SHUT_WR)
        n = recv_all(s)
        assert n == 5000, n
        s.close()
    elif name in ("rst_abort_client", "v6_rst_abort_client"):
        s.sendall(pattern(REQ, 0))
        recv_exact(s, RESP)
        time.sleep(0.1)
        linger0(s)
        s.close()
    elif name == "rst_abort_server":
        s.sendall(pattern(REQ, 0))
        recv_exact(s, RESP)
        expect_reset(s)
        s.close()
    elif name == "close_unread_data":
        s.sendall(pattern(500, 0))
        expect_reset(s)
        s.close()
    elif name == "simultaneous_close":
        s.sendall(pattern(REQ, 0))
        recv_exact(s, RESP)
        sleep_until(deadline)
        s.close()
    elif name == "bulk":
        s.sendall(pattern(BULK, 3))
        s.shutdown(socket.SHUT_WR)
        assert recv_all(s) == 5
        s.close()
    elif name == "zero_window":
        s.sendall(pattern(ZW_BYTES, 4))
        s.shutdown(socket.SHUT_WR)
        assert recv_all(s) == 0
        s.close()
    elif name == "keepalive":
        s.sendall(pattern(REQ, 0))
        recv_exact(s, RESP)
        time.sleep(3.5)               # idle: keepalive probes every second
        s.close()
    elif name.startswith("relay_"):
        s.sendall(pattern(REQ, 0))
        n = recv_all(s)
        assert n == DOWNLOAD, n
        s.close()
    else:
        raise SystemExit("no client for " + name)
    return 0


# ---------------------------------------------------------------------------
# forged RSTs

def tcp_checksum(src, dst, seg):
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(seg))
    data = pseudo + seg
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def send_rst(c, seq, ack):
    """RST/ACK from the client's address to the server, through a raw socket."""
    tcp = struct.pack("!HHIIBBHHH", c["cport"], c["port"], seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      5 << 4, 0x14, 0, 0, 0)
    csum = tcp_checksum(c["caddr"], c["saddr"], tcp)
    tcp = tcp[:16] + struct.pack("!H", csum) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40, 0x4242, 0x4000, 64, 6, 0,
                     socket.inet_aton(c["caddr"]), socket.inet_aton(c["saddr"]))
    r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    try:
        r.sendto(ip + tcp, (c["saddr"], 0))
    finally:
        r.close()


def sniff_state(sn, c):
    """Reads every frame the sniffer holds; returns (server's last ack,
    server's next seq) for the scenario's connection."""
    last_ack = nxt = None
    for _ in range(100000):
        try:
            fr = sn.recv(65535)
        except BlockingIOError:
            break
        try:
            p = parse_tcp(fr)
        except (struct.error, IndexError, OSError):
            continue
        if p is None or p["sport"] != c["port"] or p["dport"] != c["cport"]:
            continue
        if p["flags"] & 0x10:
            last_ack = p["ack"]
        end = (p["seq"] + p["len"] + (1 if p["flags"] & 0x03 else 0)) & 0xFFFFFFFF
        if nxt is None or sdiff(end, nxt) > 0:
            nxt = end
    return last_ack, nxt


def forged_rst_client(name, c, s, dst):
    sn = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    sn.bind(("eth0", 0x0003))
    sn.setblocking(False)
    s.connect(dst)
    s.sendall(pattern(REQ, 0))
    recv_exact(s, RESP)
    time.sleep(0.2)                   # every ACK has gone by: the connection is idle
    last_ack, nxt = sniff_state(sn, c)
    sn.close()
    if last_ack is None or nxt is None:
        raise RuntimeError("sniffer saw no server segment")
    send_rst(c, last_ack + FORGED_RST_OFFSET[name], nxt)
    log("forged RST seq=%u (server RCV.NXT %u + %d)" % ((last_ack + FORGED_RST_OFFSET[name])
                                                      & 0xFFFFFFFF, last_ack,
                                                      FORGED_RST_OFFSET[name]))
    time.sleep(0.3)
    if name == "rst_forged_exact":
        try:
            s.sendall(pattern(AFTER, 3))   # the server has no connection: it answers RST
            d = s.recv(1000)
        except ConnectionResetError:
            s.close()
            return 0
        raise RuntimeError("expected ECONNRESET, got %r" % (d[:20],))
    s.sendall(pattern(AFTER, 3))
    recv_exact(s, AFTER)
    s.close()
    return 0


# ---------------------------------------------------------------------------
# capture analysis (pcap, Ethernet, IPv4/IPv6, TCP)

def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    magic = struct.unpack("<I", data[:4])[0]
    e = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    nsec = struct.unpack(e + "I", data[:4])[0] == 0xA1B23C4D
    link = struct.unpack(e + "I", data[20:24])[0]
    off = 24
    out = []
    while off + 16 <= len(data):
        sec, frac, incl, orig = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        out.append((sec + frac / (1e9 if nsec else 1e6), data[off:off + incl]))
        off += incl
    return link, out


def parse_tcp(frame):
    et = struct.unpack("!H", frame[12:14])[0]
    o = 14
    if et == 0x0800:
        ihl = (frame[o] & 15) * 4
        tot = struct.unpack("!H", frame[o + 2:o + 4])[0]
        if frame[o + 9] != 6:
            return None
        src, dst = socket.inet_ntop(socket.AF_INET, frame[o + 12:o + 16]), \
            socket.inet_ntop(socket.AF_INET, frame[o + 16:o + 20])
        l4, l4len = o + ihl, tot - ihl
    elif et == 0x86DD:
        if frame[o + 6] != 6:
            return None
        plen = struct.unpack("!H", frame[o + 4:o + 6])[0]
        src, dst = socket.inet_ntop(socket.AF_INET6, frame[o + 8:o + 24]), \
            socket.inet_ntop(socket.AF_INET6, frame[o + 24:o + 40])
        l4, l4len = o + 40, plen
    else:
        return None
    sp, dp, seq, ack, doff, fl, win = struct.unpack("!HHIIBBH", frame[l4:l4 + 16])
    hl = (doff >> 4) * 4
    opts = frame[l4 + 20:l4 + hl]
    return dict(src=src, dst=dst, sport=sp, dport=dp, seq=seq, ack=ack, flags=fl, win=win,
                len=l4len - hl, opts=parse_opts(opts))


def parse_opts(b):
    o, i = {}, 0
    while i < len(b):
        k = b[i]
        if k == 0:
            break
        if k == 1:
            i += 1
            continue
        if i + 1 >= len(b) or b[i + 1] < 2:
            break
        ln = b[i + 1]
        o[k] = b[i + 2:i + ln]
        i += ln
    return o


def sdiff(a, b):
    """a - b in sequence space."""
    return ((a - b + 0x80000000) & 0xFFFFFFFF) - 0x80000000


def analyze(name, path):
    c = cfg(name)
    link, pkts = read_pcap(path)
    F = {"packets": len(pkts)}
    d = {}
    for side in "cs":
        d[side] = dict(syn=0, synack=0, fin=0, rst=0, bytes=0, segs=0, retrans=0, gaps=0,
                       zerowin=0, dups=0, keepalive=0, sack=0, isns=[], wscale=None,
                       sackperm=False, ts=False, first_fin_t=None, fin_seq=None, fin_ack=None,
                       mss=None)
    seen = {"c": set(), "s": set()}
    maxend = {"c": None, "s": None}
    order = []
    fins_seen = set()
    last_win_s = None
    zw_probes = 0
    s_last_ack = None         # the server's latest ack (its RCV.NXT)
    frst = dict(delta=None, challenge=False, pending=False, after=0)  # the client's first RST
    for t, fr in pkts:
        p = parse_tcp(fr)
        if p is None:
            continue
        side = "c" if p["sport"] == c["cport"] else "s"
        x = d[side]
        fl = p["flags"]
        syn, ack, fin, rst = fl & 2, fl & 16, fl & 1, fl & 4
        if syn and not ack:
            x["syn"] += 1
            if p["seq"] not in x["isns"]:
                x["isns"].append(p["seq"])
            maxend[side] = (p["seq"] + 1) & 0xFFFFFFFF
        if syn and ack:
            x["synack"] += 1
            if p["seq"] not in x["isns"]:
                x["isns"].append(p["seq"])
            maxend[side] = (p["seq"] + 1) & 0xFFFFFFFF
        if syn:
            if 3 in p["opts"]:
                x["wscale"] = p["opts"][3][0]
            x["sackperm"] = x["sackperm"] or 4 in p["opts"]
            x["ts"] = x["ts"] or 8 in p["opts"]
            if 2 in p["opts"]:
                x["mss"] = struct.unpack("!H", p["opts"][2])[0]
        if 5 in p["opts"]:
            x["sack"] += 1
        if fin:
            x["fin"] += 1
            fseq = (p["seq"] + p["len"]) & 0xFFFFFFFF
            if (side, fseq) not in fins_seen:        # not a retransmitted FIN
                fins_seen.add((side, fseq))
                order.append(side)
            if x["first_fin_t"] is None:
                x["first_fin_t"] = t
                x["fin_seq"] = fseq
                x["fin_ack"] = p["ack"]
        if rst:
            x["rst"] += 1
            order.append(side + "R")
            if side == "c" and frst["delta"] is None and s_last_ack is not None:
                frst["delta"] = sdiff(p["seq"], s_last_ack)
                frst["pending"] = True
        elif side == "s" and frst["pending"]:
            # the server's first segment after the client's RST
            frst["challenge"] = bool(ack and p["len"] == 0 and not syn and not fin and
                                     p["ack"] == s_last_ack)
            frst["pending"] = False
        elif side == "c" and frst["delta"] is not None:
            frst["after"] += p["len"]
        if side == "s" and ack and not rst:
            s_last_ack = p["ack"]
        key = bytes(fr)
        if key in seen[side]:
            x["dups"] += 1
        seen[side].add(key)
        if side == "s" and not rst and not syn:
            last_win_s = p["win"]
            if p["win"] == 0:
                x["zerowin"] += 1
        if side == "c" and not syn and not rst and last_win_s == 0 and p["len"] <= 1 and \
                name == "zero_window":
            zw_probes += 1
        if p["len"] > 0 or (ack and not syn and not fin and not rst):
            me = maxend[side]
            if me is not None:
                if p["len"] == 0 or p["len"] == 1:
                    if sdiff(p["seq"], me) == -1 and not syn:
                        x["keepalive"] += 1
                if p["len"] > 0:
                    x["segs"] += 1
                    x["bytes"] += p["len"]
                    end = (p["seq"] + p["len"]) & 0xFFFFFFFF
                    if sdiff(p["seq"], me) > 0:
                        x["gaps"] += 1
                    if sdiff(end, me) <= 0:
                        x["retrans"] += 1
                    if sdiff(end, me) > 0:
                        maxend[side] = end
        if fin and maxend[side] is not None:
            end = (p["seq"] + p["len"] + 1) & 0xFFFFFFFF
            if sdiff(end, maxend[side]) > 0:
                maxend[side] = end
    F["linktype"] = link
    F["client"] = "%s:%d" % (c["caddr"], c["cport"])
    F["server"] = "%s:%d" % (c["saddr"], c["port"])
    for side in "cs":
        for k, v in d[side].items():
            if k in ("first_fin_t", "fin_seq", "fin_ack"):
                continue
            if k == "isns":
                v = len(v)
            F[side + "_" + k] = v
    F["close_order"] = ",".join(order)
    fc, fs = d["c"], d["s"]
    F["fins_cross"] = bool(fc["fin_seq"] is not None and fs["fin_seq"] is not None and
                           sdiff(fc["fin_ack"], fs["fin_seq"]) <= 0 and
                           sdiff(fs["fin_ack"], fc["fin_seq"]) <= 0)
    F["zw_probes"] = zw_probes
    F["rst_seq_delta"] = frst["delta"]
    F["challenge_ack"] = frst["challenge"]
    F["c_bytes_after_rst"] = frst["after"]
    if pkts:
        F["duration_s"] = round(pkts[-1][0] - pkts[0][0], 3)
    return F


EXPECT = {
    "client_close_first": lambda F: F["c_syn"] == 1 and F["s_synack"] == 1 and
    F["close_order"] == "c,s" and F["c_rst"] + F["s_rst"] == 0 and
    F["c_bytes"] == REQ and F["s_bytes"] == RESP,
    "server_close_first": lambda F: F["close_order"] == "s,c" and F["c_rst"] + F["s_rst"] == 0
    and F["c_bytes"] == REQ and F["s_bytes"] == RESP,
    "half_close": lambda F: F["close_order"] == "c,s" and F["s_segs"] >= 5 and
    F["s_bytes"] == 5000 and F["c_rst"] + F["s_rst"] == 0,
    "rst_abort_client": lambda F: F["close_order"] == "cR" and F["c_rst"] == 1 and
    F["c_fin"] + F["s_fin"] == 0,
    "rst_abort_server": lambda F: F["close_order"] == "sR" and F["s_rst"] == 1 and
    F["c_fin"] + F["s_fin"] == 0,
    "close_unread_data": lambda F: F["close_order"] == "sR" and F["c_bytes"] == 500 and
    F["s_bytes"] == 0 and F["c_fin"] + F["s_fin"] == 0,
    "refused": lambda F: F["packets"] == 2 and F["c_syn"] == 1 and F["s_rst"] == 1,
    "syn_dropped": lambda F: F["c_syn"] == 3 and F["c_isns"] == 1 and
    F["packets"] == 3,
    "synack_dropped": lambda F: F["c_syn"] == 3 and F["s_synack"] >= 3 and F["c_isns"] == 1,
    "simultaneous_close": lambda F: F["fins_cross"] and F["c_rst"] + F["s_rst"] == 0,
    "simultaneous_open": lambda F: F["c_syn"] == 1 and F["s_syn"] == 1 and
    F["c_synack"] == 1 and F["s_synack"] == 1 and F["c_rst"] + F["s_rst"] == 0 and
    F["s_bytes"] == RESP,
    "port_reuse": lambda F: F["c_syn"] == 3 and F["c_isns"] == 3 and F["s_synack"] == 3 and
    F["close_order"] == "s,c,s,c,s,c" and F["c_bytes"] == 3 * REQ,
    "bulk": lambda F: F["c_bytes"] == BULK and F["c_wscale"] is not None and
    F["s_wscale"] is not None and F["c_sackperm"] and F["s_sackperm"] and F["c_ts"] and
    F["c_rst"] + F["s_rst"] == 0 and F["c_retrans"] == 0,
    "zero_window": lambda F: F["s_zerowin"] >= 1 and F["zw_probes"] >= 2 and
    F["c_bytes"] >= ZW_BYTES and F["c_rst"] + F["s_rst"] == 0,
    "keepalive": lambda F: F["c_keepalive"] >= 2 and F["close_order"] == "c,s",
    "v6_client_close_first": lambda F: EXPECT["client_close_first"](F),
    "v6_rst_abort_client": lambda F: EXPECT["rst_abort_client"](F),
    "v6_refused": lambda F: EXPECT["refused"](F),
    "relay_loss": lambda F: F["s_gaps"] >= 1 and F["s_retrans"] >= 1 and F["c_sack"] >= 1 and
    F["c_rst"] + F["s_rst"] == 0,
    "relay_reorder": lambda F: F["s_gaps"] >= 1 and F["c_rst"] + F["s_rst"] == 0,
    "relay_dup": lambda F: F["s_dups"] + F["c_dups"] >= 1 and F["c_rst"] + F["s_rst"] == 0,
    "rst_forged_exact": lambda F: F["c_rst"] == 1 and F["rst_seq_delta"] == 0 and
    F["s_rst"] >= 1 and F["s_fin"] == 0 and F["c_bytes"] == REQ + AFTER and
    F["s_bytes"] == RESP,
    "rst_forged_in_window": lambda F: F["c_rst"] == 1 and F["rst_seq_delta"] == 1000 and
    F["challenge_ack"] and F["s_rst"] == 0 and F["close_order"] == "cR,c,s" and
    F["c_bytes"] == REQ + AFTER and F["s_bytes"] == RESP + AFTER,
    "rst_forged_out_of_window": lambda F: F["c_rst"] == 1 and
    F["rst_seq_delta"] == 1 << 30 and not F["challenge_ack"] and F["s_rst"] == 0 and
    F["close_order"] == "cR,c,s" and F["c_bytes"] == REQ + AFTER and
    F["s_bytes"] == RESP + AFTER,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("cmd", choices=["list", "info", "server", "client", "check"])
    ap.add_argument("name", nargs="?")
    ap.add_argument("file", nargs="?")
    ap.add_argument("--ready")
    ap.add_argument("--deadline", type=float, default=0.0)
    a = ap.parse_args()
    if a.cmd == "list":
        print("\n".join(SCENARIOS))
        return 0
    if a.name not in SCENARIOS:
        raise SystemExit("unknown scenario %r" % a.name)
    if a.cmd == "info":
        c = cfg(a.name)
        fw_role, fw_rule = c["fw"] if c["fw"] else ("", "")
        for k, v in (("PORT", c["port"]), ("CPORT", c["cport"]), ("TOPO", c["topo"]),
                     ("RELAY_ARGS", c["relay"]), ("SNAPLEN", c["snaplen"]),
                     ("NOSERVER", int(c["noserver"])), ("FW_ROLE", fw_role),
                     ("FW_RULE", fw_rule), ("SYSCTL_S", c["sysctl_s"]),
                     ("DEADLINE", c["deadline"])):
            print("%s='%s'" % (k, v))
        return 0
    if a.cmd == "server":
        return server(a.name, a.ready, a.deadline)
    if a.cmd == "client":
        return client(a.name, a.deadline)
    F = analyze(a.name, a.file)
    ok = EXPECT[a.name](F)
    print(" ".join("%s=%s" % kv for kv in F.items()))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
