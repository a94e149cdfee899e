#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Seed inputs for the fuzz targets, made from the captures in testdata/.

Python 3 standard library only, deterministic. Writes into OUT/<target>/:

  fuzz_reader    every capture file in testdata/pcap and testdata/hostile, as is
  fuzz_decode    every distinct frame of those captures, behind the target's
                 4-byte header (link-type selector, flags, wire_extra)
  fuzz_pipeline  each capture's packets (up to 64) as one sequence input:
                 config, link-type selector, then "\\1PKT"-separated chunks of
                 time code + frame; a few config variants of the first ones

scripts/fuzz.sh seed then merges these into testdata/fuzz-corpus/ (-merge=1),
so only seeds that add coverage are committed.

Usage: python3 test/fuzz/make_seeds.py OUT
"""

import hashlib
import os
import struct
import sys

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))

# Must match fuzz_common.hpp kLinkTypes.
LINK_TYPES = [1, 0, 108, 12, 14, 101, 228, 229, 113, 276, 239, 9, 50, 104, 147]
MAGIC = b"\x01PKT"


def selector(linktype):
    return LINK_TYPES.index(linktype) if linktype in LINK_TYPES else len(LINK_TYPES) - 1


def read_pcap(data):
    """[(ts_ns, linktype, frame)] of a classic pcap, or None."""
    if len(data) < 24:
        return None
    for e in "<>":
        magic = struct.unpack(e + "I", data[:4])[0]
        if magic in (0xA1B2C3D4, 0xA1B23C4D):
            break
    else:
        return None
    nsec = magic == 0xA1B23C4D
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0xFFFF
    out, off = [], 24
    while off + 16 <= len(data):
        sec, frac, caplen, _ = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        if caplen > len(data) - off:
            break
        out.append((sec * 10**9 + (frac if nsec else frac * 1000), linktype,
                    data[off:off + caplen]))
        off += caplen
    return out


def read_pcapng(data):
    """[(ts_ns, linktype, frame)] of a pcapng (EPBs only, tsresol ignored), or None."""
    if data[:4] != b"\x0a\x0d\x0d\x0a" or len(data) < 12:
        return None
    e = "<" if data[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
    ifaces, out, off = [], [], 0
    while off + 12 <= len(data):
        btype, tot = struct.unpack(e + "II", data[off:off + 8])
        if tot < 12 or off + tot > len(data):
            break
        body = data[off + 8:off + tot - 4]
        if btype == 0x0A0D0D0A:
            ifaces = []
        elif btype == 1 and len(body) >= 8:
            ifaces.append(struct.unpack(e + "H", body[:2])[0])
        elif btype == 6 and len(body) >= 20:
            ifid, hi, lo, caplen, _ = struct.unpack(e + "IIIII", body[:20])
            if ifid < len(ifaces) and 20 + caplen <= len(body):
                out.append((((hi << 32) | lo) * 1000, ifaces[ifid], body[20:20 + caplen]))
        off += tot
    return out


def time_code(delta_ns):
    ms = delta_ns // 1_000_000
    if 0 <= ms < 0x80:
        return ms
    if ms < 0:
        return 0xC0 + min(-ms, 0x2F)
    return 0x80 + min(ms // 10_000, 0x3F)


def write(dirpath, data):
    os.makedirs(dirpath, exist_ok=True)
    name = hashlib.sha1(data).hexdigest()
    with open(os.path.join(dirpath, name), "wb") as f:
        f.write(data)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    files = []
    for d in ("testdata/pcap", "testdata/hostile"):
        full = os.path.join(ROOT, d)
        if os.path.isdir(full):
            files += [os.path.join(full, n) for n in sorted(os.listdir(full))
                      if n.endswith((".pcap", ".pcapng"))]
    frames_seen = set()
    for n, path in enumerate(files):
        with open(path, "rb") as f:
            data = f.read()
        write(os.path.join(out, "fuzz_reader"), data)
        pkts = read_pcap(data) or read_pcapng(data) or []
        for _, lt, fr in pkts:
            key = (lt, fr)
            if key not in frames_seen:
                frames_seen.add(key)
                write(os.path.join(out, "fuzz_decode"), bytes([selector(lt), 0, 0, 0]) + fr)
        if not pkts:
            continue
        pkts = pkts[:64]
        lt0 = pkts[0][1]
        per_chunk = any(lt != lt0 for _, lt, _ in pkts)
        chunks, prev = [], pkts[0][0]
        for ts, lt, fr in pkts:
            head = bytes([time_code(ts - prev)]) + (bytes([selector(lt)]) if per_chunk else b"")
            chunks.append(head + fr)
            prev = ts
        body = MAGIC.join(chunks)
        configs = [0x40 if per_chunk else 0x00]
        if n % 4 == 0:  # a few variants: ndjson, text, zeek, caps and short timeouts
            configs += [c | (0x40 if per_chunk else 0) for c in (0x01, 0x06, 0x1B, 0x23)]
        for cfg in configs:
            write(os.path.join(out, "fuzz_pipeline"), bytes([cfg, selector(lt0)]) + body)


if __name__ == "__main__":
    main()
