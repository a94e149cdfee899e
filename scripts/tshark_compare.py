#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compare tcplife's per-segment classes with tshark's tcp.analysis flags, frame by frame.

  scripts/tshark_compare.py [--classify BIN] [--corpus DIR] [--testdata DIR]
                            [--details FILE] [--jobs N] [-v]

For every capture in the corpus (../shared/corpus/files beside the checkout)
and in testdata/pcap, runs
  tshark -r F -T fields -e frame.number -e tcp.analysis.retransmission ...
and the test tool tcplife_classify (build/test/tcplife_classify), which prints
for every TCP frame tcplife analyses its classes, the classes Wireshark's own
rules give in tcplife's implementation of them, and the deviation (the named
reason tcplife departs from Wireshark on that frame, docs/analysis.md).

For each of the 14 classes it reports, over the frames either tool flags:
  fidelity   tcplife's implementation of Wireshark's rules vs tshark
  agreement  tcplife's verdict vs tshark
  right      agreement where Wireshark is right: frames where tcplife departs
             for a documented reason are left out
Checks (each one passed or failed): fidelity >= --min-fidelity for every
class tshark flags, and right >= --min-agree for retransmission, fast and
spurious retransmission, out-of-order, dup ACK and zero window. Every
disagreement is listed (--details FILE, or -v). Last line:
  tshark-compare: N passed, M failed
Exit status 1 if a check failed, 2 on a usage/setup error.
Python 3 standard library only.
"""

import argparse
import concurrent.futures
import os
import subprocess
import sys

CLASSES = [
    ("retransmission", "tcp.analysis.retransmission"),
    ("fast_retransmission", "tcp.analysis.fast_retransmission"),
    ("spurious_retransmission", "tcp.analysis.spurious_retransmission"),
    ("out_of_order", "tcp.analysis.out_of_order"),
    ("lost_segment", "tcp.analysis.lost_segment"),
    ("ack_unseen", "tcp.analysis.ack_lost_segment"),
    ("dup_ack", "tcp.analysis.duplicate_ack_num"),
    ("zero_window", "tcp.analysis.zero_window"),
    ("zero_window_probe", "tcp.analysis.zero_window_probe"),
    ("zero_window_probe_ack", "tcp.analysis.zero_window_probe_ack"),
    ("window_update", "tcp.analysis.window_update"),
    ("window_full", "tcp.analysis.window_full"),
    ("keep_alive", "tcp.analysis.keep_alive"),
    ("keep_alive_ack", "tcp.analysis.keep_alive_ack"),
]
NAMES = [c for c, _ in CLASSES]
# Deviations that are not about the rules: the tools did not see the same
# conversation or the same segment (docs/analysis.md).
STRUCTURAL = {"not_analysed", "not_tcp_for_tshark", "conversation_differs",
              "payload_length_differs"}
GATED = ["retransmission", "fast_retransmission", "spurious_retransmission", "out_of_order",
         "dup_ack", "zero_window"]


def tshark_frames(path):
    """frame -> (set of classes, dup ACK number, stream, tcp.len); total frames; error text."""
    cmd = ["tshark", "-n", "-r", path, "-T", "fields", "-E", "separator=/t", "-E",
           "occurrence=f", "-e", "frame.number", "-e", "tcp.stream", "-e", "tcp.len"]
    for _, field in CLASSES:
        cmd += ["-e", field]
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        return None, 0, "tshark timed out"
    frames = {}
    total = 0
    for line in p.stdout.splitlines():
        cols = line.split("\t")
        if not cols or not cols[0].isdigit():
            continue
        total += 1
        got = set()
        dup = 0
        if len(cols) < 3 or cols[1] == "":
            continue  # not TCP
        stream, tlen = int(cols[1]), int(cols[2]) if cols[2].isdigit() else -1
        for (name, _), v in zip(CLASSES, cols[3:]):
            if v == "":
                continue
            got.add(name)
            if name == "dup_ack":
                dup = int(v) if v.isdigit() else 0
        # tshark sets tcp.analysis.retransmission on fast and spurious ones too
        if "fast_retransmission" in got or "spurious_retransmission" in got:
            got.discard("retransmission")
        frames[int(cols[0])] = (got, dup, stream, tlen)
    err = p.stderr.strip().splitlines()[-1] if p.returncode != 0 and p.stderr.strip() else None
    return frames, total, err


def tcplife_frames(binary, path):
    """frame -> (classes, wireshark-rule classes, dup number, deviation, conn id, payload
    length); packets read."""
    p = subprocess.run([binary, path], capture_output=True, text=True, timeout=600)
    frames = {}
    read = None
    for line in p.stdout.splitlines():
        cols = line.split("\t")
        if cols[0] == "#read":
            read = int(cols[1])
            continue
        if len(cols) < 8:
            continue
        mine = set() if cols[3] == "-" else set(cols[3].split(","))
        ws = set() if cols[4] == "-" else set(cols[4].split(","))
        frames[int(cols[0])] = (mine, ws, int(cols[5]), cols[6], int(cols[1]), int(cols[7]))
    sanitizer = "Sanitizer" in p.stderr or "runtime error" in p.stderr
    if p.returncode == 1 and not sanitizer and read is None:
        return None, p.stderr.strip()  # not a capture tcplife reads (tshark may)
    if p.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (binary, p.returncode, p.stderr.strip()[-300:]))
    return frames, read


def compare_file(binary, path):
    t, total, err = tshark_frames(path)
    if t is None:
        return dict(path=path, skipped=err)
    m, read = tcplife_frames(binary, path)
    if m is None:
        return dict(path=path, skipped="tcplife cannot read it: " + read)
    if read is not None and total != read:
        return dict(path=path, skipped="tshark numbers %d frames, libpcap reads %d" % (total, read))
    stats = {k: dict(t=0, m=0, w=0, both=0, wboth=0, explained=0, wstruct=0) for k in NAMES}
    diffs = []
    dup_mismatch = 0
    # Frames where the two tools do not see the same conversation or the same
    # payload explain the disagreements that follow from them.
    conn_streams, stream_conns = {}, {}
    for f in set(t) & set(m):
        conn_streams.setdefault(m[f][4], set()).add(t[f][2])
        stream_conns.setdefault(t[f][2], set()).add(m[f][4])
    length_differs = {}  # conn id -> first frame whose payload length differs
    for f in sorted(set(t) & set(m)):
        if t[f][3] >= 0 and t[f][3] != m[f][5]:
            length_differs.setdefault(m[f][4], f)
    for f in sorted(set(t) | set(m)):
        tc, tdup, stream, _ = t.get(f, (set(), 0, -1, -1))
        mc, wc, mdup, dev, conn, _ = m.get(f, (set(), set(), 0, "none", -1, -1))
        rules_differ = (tc & set(NAMES)) != (wc & set(NAMES))
        if f not in m:
            dev = "not_analysed"
        elif f not in t:
            dev = "not_tcp_for_tshark"
        elif (rules_differ or dev == "none") and (
                len(conn_streams.get(conn, ())) != 1 or len(stream_conns.get(stream, ())) != 1):
            dev = "conversation_differs"
        elif (rules_differ or dev == "none") and conn in length_differs and \
                f >= length_differs[conn]:
            dev = "payload_length_differs"
        for k in NAMES:
            a, b, w = k in tc, k in mc, k in wc
            s = stats[k]
            s["t"] += a
            s["m"] += b
            s["w"] += w
            s["both"] += a and b
            s["wboth"] += a and w
            if a != b and dev != "none":
                s["explained"] += 1
            if a != w and dev in STRUCTURAL:
                s["wstruct"] += 1
        if "dup_ack" in tc and "dup_ack" in mc and tdup != mdup:
            dup_mismatch += 1
        tk = tc & set(NAMES)
        mk = mc & set(NAMES)
        if tk != mk or tk != (wc & set(NAMES)):
            diffs.append((f, sorted(tk), sorted(mk), sorted(wc & set(NAMES)), dev))
    return dict(path=path, stats=stats, diffs=diffs, dup_mismatch=dup_mismatch, tshark_error=err)


def pct(n, d):
    return 100.0 if d == 0 else 100.0 * n / d


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--classify", default=os.environ.get(
        "TCPLIFE_CLASSIFY", os.path.join(root, "build", "test", "tcplife_classify")))
    ap.add_argument("--corpus", default=os.path.join(root, "..", "shared", "corpus", "files"))
    ap.add_argument("--testdata", default=os.path.join(root, "testdata", "pcap"))
    ap.add_argument("--details", help="write every disagreement to this file (TSV)")
    ap.add_argument("--min-fidelity", type=float, default=99.0,
                    help="percent: Wireshark's rules as tcplife implements them vs tshark")
    ap.add_argument("--min-agree", type=float, default=98.0,
                    help="percent: tcplife vs tshark where Wireshark is right (gated classes)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    if not os.access(a.classify, os.X_OK):
        print("tshark-compare: %s not found (build the tcplife_classify target)" % a.classify,
              file=sys.stderr)
        return 2
    files = []
    for d in (a.corpus, a.testdata):
        if not os.path.isdir(d):
            print("tshark-compare: %s not present, skipped" % d)
            continue
        for dirpath, _, names in sorted(os.walk(d)):
            for n in sorted(names):
                if n.endswith((".pcap", ".pcapng", ".cap")):
                    files.append(os.path.join(dirpath, n))
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        results = list(ex.map(lambda p: compare_file(a.classify, p), files))

    total = {k: dict(t=0, m=0, w=0, both=0, wboth=0, explained=0, wstruct=0) for k in NAMES}
    diffs = []
    dup_mismatch = 0
    skipped = []
    for r in results:
        rel = os.path.relpath(r["path"], os.path.join(root, ".."))
        if "skipped" in r:
            skipped.append((rel, r["skipped"]))
            continue
        for k in NAMES:
            for f in total[k]:
                total[k][f] += r["stats"][k][f]
        dup_mismatch += r["dup_mismatch"]
        for d in r["diffs"]:
            diffs.append((rel,) + d)

    print("files compared: %d, skipped: %d" % (len(files) - len(skipped), len(skipped)))
    for rel, why in skipped:
        print("  skipped %s: %s" % (rel, why))
    print()
    print("| class | tshark | tcplife | both | fidelity % | agreement % | explained | right % |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    passed = failed = 0
    failures = []
    for k in NAMES:
        s = total[k]
        either = s["t"] + s["m"] - s["both"]
        weither = s["t"] + s["w"] - s["wboth"]
        fid = pct(s["wboth"], weither - s["wstruct"])
        agree = pct(s["both"], either)
        right = pct(s["both"], either - s["explained"])
        print("| %s | %d | %d | %d | %.1f | %.1f | %d | %.1f |" %
              (k, s["t"], s["m"], s["both"], fid, agree, s["explained"], right))
        if s["t"] > 0 or s["w"] > 0:
            if fid >= a.min_fidelity:
                passed += 1
            else:
                failed += 1
                failures.append("fidelity %s %.1f%% < %.1f%%" % (k, fid, a.min_fidelity))
        if k in GATED:
            if right >= a.min_agree:
                passed += 1
            else:
                failed += 1
                failures.append("agreement %s %.1f%% < %.1f%%" % (k, right, a.min_agree))
    print()
    by_dev = {}
    for d in diffs:
        if d[2] != d[3]:
            by_dev[d[-1]] = by_dev.get(d[-1], 0) + 1
    print("| deviation | frames where tcplife and tshark differ |")
    print("|---|---:|")
    for k in sorted(by_dev, key=lambda k: (-by_dev[k], k)):
        print("| %s | %d |" % (k, by_dev[k]))
    print()
    print("dup ACK numbers differing where both flag a dup ACK: %d" % dup_mismatch)
    unexplained = [d for d in diffs if d[-1] == "none" and d[2] != d[3]]
    print("frames where tcplife and tshark differ: %d (%d with a documented deviation, "
          "%d without)" % (sum(1 for d in diffs if d[2] != d[3]),
                           sum(1 for d in diffs if d[2] != d[3] and d[-1] != "none"),
                           len(unexplained)))
    lines = ["file\tframe\ttshark\ttcplife\twireshark_rules\tdeviation"]
    for rel, f, tk, mk, wk, dev in diffs:
        lines.append("%s\t%d\t%s\t%s\t%s\t%s" % (rel, f, ",".join(tk) or "-", ",".join(mk) or "-",
                                               ",".join(wk) or "-", dev))
    if a.details:
        with open(a.details, "w") as out:
            out.write("\n".join(lines) + "\n")
    if a.verbose:
        print("\n".join(lines))
    for msg in failures:
        print("FAILED: " + msg)
    print("tshark-compare: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
