#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Full-size attack captures for measuring tcplife's resource bounds by hand
(test/golden/bounds_test.cpp runs scaled-down versions in process; these are
too large to commit). Python 3 standard library only, deterministic.

  syn_flood   1 000 000 SYNs from distinct spoofed sources to 192.0.2.1:80,
              10 us apart (100 k packets/s, 10 s of capture time)
  port_scan   SYN to every port 1-65535 of one host, each answered by RST/ACK
  out_of_order  one connection: handshake, then 10 000 000 segments of 100
              bytes sent in a scattered order (segment i goes out as
              (i * 7919) mod n), the server acking every 64th; captured with a
              snap length of 54 (headers only), so the file stays ~700 MB

Usage: python3 test/fuzz/make_attack_pcaps.py KIND OUT.pcap [N]
Then:  /usr/bin/time -v build/src/tcplife --format ndjson OUT.pcap > /dev/null
"""

import struct
import sys

BASE = 1700000000


def csum_ip(h):
    s = sum(struct.unpack("!10H", h))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def frame(src, dst, sport, dport, seq, ack, flags, payload_len=0):
    """Ethernet + IPv4 + TCP headers (54 bytes); the payload is not captured."""
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 40 + payload_len, 0, 0x4000, 64, 6, 0,
                     struct.pack("!I", src), struct.pack("!I", dst))
    ip = ip[:10] + struct.pack("!H", csum_ip(ip)) + ip[12:]
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 0x50,
                      flags, 65535, 0, 0)
    eth = b"\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00"
    return eth + ip + tcp, 54 + payload_len


class Writer:
    def __init__(self, path):
        self.f = open(path, "wb")
        self.f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 54, 1))
        self.buf = []

    def add(self, us, data, wire):
        self.buf.append(struct.pack("<IIII", BASE + us // 1000000, us % 1000000, len(data), wire))
        self.buf.append(data)
        if len(self.buf) > 200000:
            self.flush()

    def flush(self):
        self.f.write(b"".join(self.buf))
        self.buf = []

    def close(self):
        self.flush()
        self.f.close()


SYN, RST, PSH, ACK = 0x02, 0x04, 0x08, 0x10
SERVER = 0xC0000201  # 192.0.2.1


def syn_flood(w, n):
    for i in range(n):
        data, wire = frame(0x0A000000 + i, SERVER, 1024 + i % 60000, 80, i * 2654435761, 0, SYN)
        w.add(i * 10, data, wire)


def port_scan(w, n):
    us = 0
    for port in range(1, min(n, 65535) + 1):
        data, wire = frame(0x0A000001, SERVER, 40000, port, 1000, 0, SYN)
        w.add(us, data, wire)
        data, wire = frame(SERVER, 0x0A000001, port, 40000, 0, 1001, RST | ACK)
        w.add(us + 5, data, wire)
        us += 10


def out_of_order(w, n):
    c, s, cisn, sisn, ln = 0x0A000001, SERVER, 1000, 5000, 100
    us = 0

    def send(from_client, seq, ack, flags, plen=0):
        nonlocal us
        if from_client:
            data, wire = frame(c, s, 40000, 80, seq, ack, flags, plen)
        else:
            data, wire = frame(s, c, 80, 40000, seq, ack, flags, plen)
        w.add(us, data, wire)
        us += 1

    send(True, cisn, 0, SYN)
    send(False, sisn, cisn + 1, SYN | ACK)
    send(True, cisn + 1, sisn + 1, ACK)
    high = 0
    for i in range(n):
        k = (i * 7919) % n
        send(True, cisn + 1 + k * ln, sisn + 1, ACK | PSH, ln)
        if i % 64 == 63:
            high = max(high, k // 2)
            send(False, sisn + 1, cisn + 1 + high * ln, ACK)


def main():
    kinds = {"syn_flood": (syn_flood, 1000000), "port_scan": (port_scan, 65535),
             "out_of_order": (out_of_order, 10000000)}
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in kinds:
        sys.exit(__doc__)
    fn, n = kinds[sys.argv[1]]
    if len(sys.argv) == 4:
        n = int(sys.argv[3])
    w = Writer(sys.argv[2])
    fn(w, n)
    w.close()


if __name__ == "__main__":
    main()
