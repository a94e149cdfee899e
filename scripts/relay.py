#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Userspace Ethernet bridge with seeded impairments (a netem stand-in).

Runs inside a network namespace with two interfaces (default r0, r1), opens
an AF_PACKET raw socket on each and forwards every frame received on one to
the other (ARP/ND included, so it acts as a bridge).  Needs root (CAP_NET_RAW).

Impairments:
  --delay-ms D        every frame (any protocol) leaves D ms after it arrived
  --loss P            drop probability        \\
  --dup P             duplicate probability    > TCP frames only, and never
  --reorder P         reorder probability     /  SYN or SYN/ACK frames
  --reorder-ms R      a reordered frame is held R ms longer than the others,
                      so frames behind it overtake it
  --seed S            random.Random(S); three draws per impairable TCP frame,
                      in arrival order, so a run is reproducible up to the
                      kernel's own timing
  --seconds N         stop after N seconds (also stops on SIGINT/SIGTERM)
Prints counters to stderr at exit.  Python 3 stdlib only.
"""

import argparse
import heapq
import random
import select
import signal
import socket
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def open_if(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
    s.bind((name, ETH_P_ALL))
    s.setblocking(False)
    return s


def tcp_flags(frame):
    """TCP flags byte if frame is Ethernet/IPv4|IPv6/TCP, else None."""
    if len(frame) < 14:
        return None
    et = int.from_bytes(frame[12:14], "big")
    off = 14
    while et in (0x8100, 0x88A8) and len(frame) >= off + 4:
        et = int.from_bytes(frame[off + 2:off + 4], "big")
        off += 4
    if et == 0x0800 and len(frame) >= off + 20:
        if frame[off + 9] != 6:
            return None
        if int.from_bytes(frame[off + 6:off + 8], "big") & 0x3FFF:
            return None  # fragment
        l4 = off + (frame[off] & 0x0F) * 4
    elif et == 0x86DD and len(frame) >= off + 40:
        if frame[off + 6] != 6:
            return None
        l4 = off + 40
    else:
        return None
    if len(frame) < l4 + 14:
        return None
    return frame[l4 + 13]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--if-a", default="r0")
    ap.add_argument("--if-b", default="r1")
    ap.add_argument("--delay-ms", type=float, default=0.0)
    ap.add_argument("--loss", type=float, default=0.0)
    ap.add_argument("--dup", type=float, default=0.0)
    ap.add_argument("--reorder", type=float, default=0.0)
    ap.add_argument("--reorder-ms", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--ready", help="file to write once the sockets are open")
    a = ap.parse_args()

    rng = random.Random(a.seed)
    sa, sb = open_if(a.if_a), open_if(a.if_b)
    other = {sa.fileno(): sb, sb.fileno(): sa}
    names = {sa.fileno(): a.if_a, sb.fileno(): a.if_b}
    stats = {"rx": 0, "tx": 0, "tcp": 0, "dropped": 0, "duplicated": 0, "reordered": 0,
             "send_errors": 0}
    queue = []   # (due, counter, out_socket, frame)
    counter = 0
    stop = [False]

    def on_signal(_s, _f):
        stop[0] = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    if a.ready:
        with open(a.ready, "w") as f:
            f.write("ready\n")

    delay = a.delay_ms / 1000.0
    end = time.monotonic() + a.seconds
    while not stop[0]:
        now = time.monotonic()
        if now >= end:
            break
        timeout = min(end - now, 0.05)
        if queue:
            timeout = max(0.0, min(timeout, queue[0][0] - now))
        try:
            ready, _, _ = select.select([sa, sb], [], [], timeout)
        except InterruptedError:
            continue
        for s in ready:
            for _ in range(1000):          # drain, bounded
                try:
                    frame, addr = s.recvfrom(65535)
                except (BlockingIOError, InterruptedError):
                    break
                if addr[2] == PACKET_OUTGOING:
                    continue               # our own transmissions
                stats["rx"] += 1
                now = time.monotonic()
                out = other[s.fileno()]
                due = now + delay
                copies = 1
                fl = tcp_flags(frame)
                if fl is not None and not fl & 0x02:
                    stats["tcp"] += 1
                    r_loss, r_dup, r_reo = rng.random(), rng.random(), rng.random()
                    if r_loss < a.loss:
                        stats["dropped"] += 1
                        continue
                    if r_dup < a.dup:
                        stats["duplicated"] += 1
                        copies = 2
                    if r_reo < a.reorder:
                        stats["reordered"] += 1
                        due += a.reorder_ms / 1000.0
                for c in range(copies):
                    counter += 1
                    heapq.heappush(queue, (due + c * 0.0002, counter, out, frame))
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out, frame = heapq.heappop(queue)
            try:
                out.send(frame)
                stats["tx"] += 1
            except OSError as e:
                stats["send_errors"] += 1
                print("send on %s failed: %s (len %d)" % (names[out.fileno()], e, len(frame)),
                      file=sys.stderr)
    print("relay stats: " + " ".join("%s=%d" % kv for kv in stats.items()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
