#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Compare tcplife with tshark's `-z conv,tcp` on every capture of a corpus.

For each capture files/<src>/<name>.pcap|pcapng the expected output is
expected/<src>/<name>.tshark-conv.txt (TShark 4.0.17). Checked:
  count   number of tcplife connections == number of tshark conversations
  frames  conversations paired by unordered endpoint pair (+ start order when
          a 4-tuple repeats); per pair, tcplife data.client.packets +
          data.server.packets == tshark total frames; nothing left unpaired
  exit    tcplife exits 0 (3 = truncated input is accepted) on every file
          tshark reads; a crash (signal / exit >= 128) is never accepted

A capture whose disagreements are all listed for it in the exceptions file
(tab-separated: file, what differs, reason) passes as "excepted".
Python 3 standard library only. See docs/conformance.md.
"""

import argparse
import ipaddress
import json
import os
import re
import subprocess
import sys

KINDS = ("count", "frames", "exit")

CONV_RE = re.compile(
    r"^(?P<a>\S+)\s+<->\s+(?P<b>\S+)\s+"
    r"(?P<ba_frames>\d+)\s+\S+\s+\S+\s+"
    r"(?P<ab_frames>\d+)\s+\S+\s+\S+\s+"
    r"(?P<frames>\d+)\s+\S+\s+\S+\s+"
    r"(?P<start>[-\d.]+)\s+(?P<duration>[-\d.]+)\s*$"
)


def norm_ip(s):
    try:
        return str(ipaddress.ip_address(s))
    except ValueError:
        return s


def split_endpoint(ep):
    ip, _, port = ep.rpartition(":")
    return (norm_ip(ip), int(port))


def parse_tshark(path):
    """Returns (tshark_error or None, [conv dict]) in tshark's row order."""
    convs = []
    error = None
    in_error = False
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("# tshark exit"):
                error = line.strip().lstrip("# ").rstrip(":")
                in_error = True
                continue
            if in_error:
                if line.startswith("=") or not line.strip():
                    in_error = False
                else:
                    error += " " + line.strip()
                continue
            if "<->" not in line:
                continue
            m = CONV_RE.match(line.strip())
            if not m:
                raise ValueError("unparsed tshark conv row: %r" % line)
            convs.append({
                "a": split_endpoint(m["a"]),
                "b": split_endpoint(m["b"]),
                "frames": int(m["frames"]),
                "start": float(m["start"]),
                "row": len(convs),
            })
    return error, convs


def pick_connections(pairs):
    """json object hook: tcplife's top level has two "connections" keys
    (a summary object and the records array); keep the array."""
    d = {}
    for k, v in pairs:
        if k == "connections" and k in d and isinstance(d[k], list) and not isinstance(v, list):
            continue
        d[k] = v
    return d


def run_tcplife(binary, capture, timeout):
    try:
        p = subprocess.run([binary, "--format", "json", capture],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"rc": None, "timeout": True, "doc": None, "stderr": "timeout"}
    doc = None
    perr = None
    if p.stdout.strip():
        try:
            doc = json.loads(p.stdout.decode("utf-8", "replace"),
                             object_pairs_hook=pick_connections)
        except ValueError as e:
            perr = "bad JSON: %s" % e
    return {"rc": p.returncode, "timeout": False, "doc": doc, "json_error": perr,
            "stderr": p.stderr.decode("utf-8", "replace").strip()}


def conn_key(c):
    a = (norm_ip(c["client"]["ip"]), int(c["client"]["port"]))
    b = (norm_ip(c["server"]["ip"]), int(c["server"]["port"]))
    return tuple(sorted([a, b]))


def fmt_ep(ep):
    ip, port = ep
    return ("[%s]:%d" if ":" in ip else "%s:%d") % (ip, port)


def compare(convs, conns):
    """Pairs conversations and connections. Returns (frames_ok, notes)."""
    groups_t = {}
    for c in sorted(convs, key=lambda c: (c["start"], c["row"])):
        groups_t.setdefault(tuple(sorted([c["a"], c["b"]])), []).append(c)
    groups_l = {}
    for c in sorted(conns, key=lambda c: (c.get("first_ts") or 0, c.get("first_frame") or 0)):
        groups_l.setdefault(conn_key(c), []).append(c)
    notes = []
    ok = True
    for key in sorted(set(groups_t) | set(groups_l)):
        ts = groups_t.get(key, [])
        ls = groups_l.get(key, [])
        for i in range(max(len(ts), len(ls))):
            t = ts[i] if i < len(ts) else None
            l = ls[i] if i < len(ls) else None
            name = "%s <-> %s #%d" % (fmt_ep(key[0]), fmt_ep(key[1]), i + 1)
            lf = None
            if l is not None:
                d = l.get("data", {})
                lf = d.get("client", {}).get("packets", 0) + d.get("server", {}).get("packets", 0)
            if t is None:
                ok = False
                notes.append("%s: only tcplife (%d frames, first_frame %s)"
                             % (name, lf, l.get("first_frame")))
            elif l is None:
                ok = False
                notes.append("%s: only tshark (%d frames, start %.6f)"
                             % (name, t["frames"], t["start"]))
            elif lf != t["frames"]:
                ok = False
                notes.append("%s: frames tshark %d, tcplife %d (first_frame %s)"
                             % (name, t["frames"], lf, l.get("first_frame")))
    return ok, notes


def load_exceptions(path):
    exc = {}
    if not os.path.exists(path):
        return exc
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            cols = line.split("\t")
            if cols[0] == "file":
                continue
            if len(cols) < 3 or not cols[2].strip():
                raise SystemExit("%s:%d: need 3 tab-separated columns: file, what differs, reason"
                                 % (path, n))
            kinds = {k.strip() for k in re.split(r"[,+ ]+", cols[1]) if k.strip()}
            bad = kinds - set(KINDS)
            if bad or not kinds:
                raise SystemExit("%s:%d: 'what differs' must be among %s, got %r"
                                 % (path, n, "/".join(KINDS), cols[1]))
            exc[cols[0].strip()] = kinds
    return exc


def find_captures(files_dir):
    out = []
    for dirpath, _, names in os.walk(files_dir):
        for n in names:
            if n.endswith((".pcap", ".pcapng")):
                out.append(os.path.relpath(os.path.join(dirpath, n), files_dir))
    return sorted(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tcplife", required=True)
    ap.add_argument("--root", default=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--corpus", help="corpus files/ dir (or the corpus dir holding files/ "
                    "and expected/); default ../shared/corpus/files from the repo root")
    ap.add_argument("--exceptions", help="default test/conformance/exceptions.tsv")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per capture")
    ap.add_argument("-v", "--verbose", action="store_true",
                    help="also list disagreements of excepted captures")
    args = ap.parse_args()

    files_dir = args.corpus or os.path.join(args.root, "..", "shared", "corpus", "files")
    if os.path.isdir(os.path.join(files_dir, "files")):
        files_dir = os.path.join(files_dir, "files")
    files_dir = os.path.normpath(files_dir)
    expected_dir = os.path.join(os.path.dirname(files_dir), "expected")
    exc_path = args.exceptions or os.path.join(args.root, "test", "conformance", "exceptions.tsv")
    if not os.path.isdir(files_dir):
        print("conformance: corpus %s not found" % files_dir, file=sys.stderr)
        return 2
    exceptions = load_exceptions(exc_path)

    rows = []
    details = []
    passed = failed = 0
    seen = set()
    for rel in find_captures(files_dir):
        seen.add(rel)
        cap = os.path.join(files_dir, rel)
        conv_path = os.path.join(expected_dir, os.path.splitext(rel)[0] + ".tshark-conv.txt")
        diffs = set()
        notes = []
        hard = False                  # never excusable
        if not os.path.exists(conv_path):
            rows.append((rel, "-", "-", "-", "FAIL (no tshark conv file)"))
            failed += 1
            continue
        t_err, convs = parse_tshark(conv_path)
        r = run_tcplife(args.tcplife, cap, args.timeout)
        rc = r["rc"]
        doc = r["doc"]
        conns = doc.get("connections") if isinstance(doc, dict) else None
        if not isinstance(conns, list):
            conns = None
        if r["timeout"]:
            hard = True
            notes.append("tcplife timed out after %gs" % args.timeout)
        elif rc < 0 or rc >= 128:
            hard = True
            notes.append("tcplife crashed (rc %d): %s" % (rc, r["stderr"][:200]))
        elif rc not in (0, 3):
            if t_err is None:
                diffs.add("exit")
                notes.append("tcplife exit %d on a file tshark reads: %s" % (rc, r["stderr"][:200]))
        elif conns is None:
            hard = True
            notes.append("tcplife exit %d but no connections array (%s)"
                         % (rc, r.get("json_error") or "missing"))
        if rc == 3:
            notes.append("note: tcplife exit 3 (truncated/corrupt input): %s" % r["stderr"][:200])

        n_conv = "-" if t_err else str(len(convs))
        n_conn = str(len(conns)) if conns is not None else "-"
        frames = "-"
        if t_err is None and conns is not None:
            if len(conns) != len(convs):
                diffs.add("count")
            fok, fnotes = compare(convs, conns)
            frames = "y" if fok else "n"
            if not fok:
                diffs.add("frames")
                notes.extend(fnotes)
        elif t_err is not None:
            notes.append("tshark cannot read it (%s); only crash-checked" % t_err)

        listed = exceptions.get(rel, set())
        if hard:
            verdict = "FAIL"
        elif not diffs:
            verdict = "pass" if not t_err else "pass (tshark unreadable)"
            if listed:
                notes.append("stale exception: listed as %s but agrees" % "+".join(sorted(listed)))
        elif diffs <= listed:
            verdict = "excepted (%s)" % "+".join(sorted(diffs))
        else:
            verdict = "FAIL (%s)" % "+".join(sorted(diffs - listed))
        if verdict.startswith("FAIL"):
            failed += 1
        else:
            passed += 1
        rows.append((rel, n_conv, n_conn, frames, verdict))
        if notes and (verdict.startswith("FAIL") or args.verbose
                      or any(n.startswith(("stale", "note")) for n in notes)):
            details.append((rel, notes))

    for rel in sorted(set(exceptions) - seen):
        details.append((rel, ["stale exception: no such capture"]))

    w = max(len(r[0]) for r in rows) if rows else 10
    print("%-*s  %6s  %6s  %6s  %s" % (w, "file", "tshark", "tcplife", "frames", "verdict"))
    print("%-*s  %6s  %6s  %6s  %s" % (w, "", "convs", "conns", "agree", ""))
    for r in rows:
        print("%-*s  %6s  %7s  %6s  %s" % (w, r[0], r[1], r[2], r[3], r[4]))
    if details:
        print()
        for rel, notes in details:
            print("%s:" % rel)
            for n in notes:
                print("    " + n)
    print()
    print("conformance: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
