#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compares tcplife's conn.log output (--format zeek) with Zeek's own conn.log
baselines in the public corpus (../shared/corpus/expected/zeek).

For every baseline that has conn_state or history, the capture is run through
tcplife and rows are matched by unordered 4-tuple and order of appearance.
Prints per-field agreement and every disagreement; with --min-agree P exits
non-zero if conn_state or history agree on fewer than P percent of rows, or
if a disagreement is not listed in test/conformance/zeek_exceptions.tsv.
"""
import argparse
import collections
import os
import subprocess
import sys

FIELDS = ["conn_state", "history", "orig_pkts", "resp_pkts", "orig_ip_bytes", "resp_ip_bytes",
          "orig_bytes", "resp_bytes", "duration", "missed_bytes"]


def parse_log(path):
    header, rows = None, []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("### ") or not line:
                continue
            if line.startswith("#fields"):
                header = line.split("\t")[1:]
                continue
            if line.startswith("#"):
                continue
            parts = line.split("\t")
            if header is None:  # zeek-cut -m style: a plain header row
                header = parts
                continue
            rows.append(dict(zip(header, parts)))
    return header or [], rows


def key_of(r):
    a = (r.get("id.orig_h"), r.get("id.orig_p"))
    b = (r.get("id.resp_h"), r.get("id.resp_p"))
    return tuple(sorted([a, b]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", default=os.path.join(os.path.dirname(__file__), "../../shared/corpus"))
    ap.add_argument("--tcplife", default=os.environ.get("TCPLIFE", "build/src/tcplife"))
    ap.add_argument("--min-agree", type=float, default=None)
    ap.add_argument("--exceptions", default="test/conformance/zeek_exceptions.tsv")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()

    exp_dir = os.path.join(args.corpus, "expected", "zeek")
    files_dir = os.path.join(args.corpus, "files", "zeek")
    exceptions = {}
    if os.path.exists(args.exceptions):
        for line in open(args.exceptions, encoding="utf-8"):
            if line.startswith("#") or not line.strip():
                continue
            parts = line.rstrip("\n").split("\t")
            exceptions[(parts[0], parts[1])] = parts[2] if len(parts) > 2 else ""

    agree = collections.Counter()
    total = collections.Counter()
    unexplained = []
    explained = 0
    for name in sorted(os.listdir(exp_dir)):
        if not name.endswith(".log") or ".conn" not in name:
            continue
        trace = name.split(".")[0]
        cap = None
        for ext in (".pcap", ".pcapng"):
            if os.path.exists(os.path.join(files_dir, trace + ext)):
                cap = os.path.join(files_dir, trace + ext)
        if cap is None:
            continue
        header, want = parse_log(os.path.join(exp_dir, name))
        if "conn_state" not in header and "history" not in header:
            continue
        want = [r for r in want if r.get("proto", "tcp") == "tcp"]
        checksums = ["--checksums"] if "bad_checksum" in trace else []
        out = subprocess.run([args.tcplife, "-f", "zeek", *checksums, cap], capture_output=True,
                             text=True)
        _, got = parse_log_text(out.stdout)
        got_by_key = collections.defaultdict(list)
        for r in got:
            got_by_key[key_of(r)].append(r)
        used = collections.Counter()
        has_ids = "id.orig_h" in header
        for n_row, w in enumerate(want):
            if not has_ids:  # a cut log without the 4-tuple: match by order
                g = got[n_row] if n_row < len(got) else None
                k = None
            k = key_of(w) if has_ids else None
            if has_ids:
                idx = used[k]
                used[k] += 1
                g = got_by_key[k][idx] if idx < len(got_by_key[k]) else None
            for fld in FIELDS:
                if fld not in header:
                    continue
                total[fld] += 1
                gv = g.get(fld) if g else "<no row>"
                if gv == w[fld]:
                    agree[fld] += 1
                elif fld in ("conn_state", "history"):
                    row_id = f"{w.get('id.orig_h')}:{w.get('id.orig_p')}>{w.get('id.resp_h')}:{w.get('id.resp_p')}"
                    why = exceptions.get((name, row_id))
                    line = f"{name}\t{row_id}\t{fld}: zeek {w[fld]} tcplife {gv}"
                    if why is None:
                        unexplained.append(line)
                    else:
                        explained += 1
                        if args.verbose:
                            print("explained:", line, "--", why)
                elif args.verbose:
                    print(f"{name}\t{fld}: zeek {w[fld]} tcplife {gv}")
    print("field          agree/total")
    worst = 100.0
    for fld in FIELDS:
        if total[fld]:
            pct = 100.0 * agree[fld] / total[fld]
            print(f"{fld:14s} {agree[fld]:4d}/{total[fld]:<4d} {pct:6.1f}%")
            if fld in ("conn_state", "history"):
                worst = min(worst, pct)
    for line in unexplained:
        print("DIFF", line)
    ok = not unexplained and (args.min_agree is None or worst >= args.min_agree)
    n_ok = sum(agree[f] for f in ("conn_state", "history"))
    n_all = sum(total[f] for f in ("conn_state", "history"))
    # Rows that differ for a documented reason count as skipped, not as passed.
    print(f"zeek-compat: {n_ok} passed, {n_all - n_ok - explained} failed, {explained} skipped")
    return 0 if ok else 1


def parse_log_text(text):
    header, rows = None, []
    for line in text.splitlines():
        if line.startswith("#fields"):
            header = line.split("\t")[1:]
        elif line and not line.startswith("#"):
            rows.append(dict(zip(header, line.split("\t"))))
    return header, rows


if __name__ == "__main__":
    sys.exit(main())
