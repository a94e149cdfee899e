#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tcplife -i lo, end to end (needs root or CAP_NET_RAW; CI runs as root).

Starts `tcplife -i lo -f ndjson` with a filter on ports this test picks,
opens real connections with the kernel's TCP (a clean close, a half-close, a
RST abort, a refused port), waits until their records arrive, stops tcplife
with SIGINT and checks: every connection is there with the right outcome, the
ended ones were written before the signal, the summary line is last and the
stream is valid NDJSON; the -w file, read back offline, gives the same
records. Then the error cases: a missing interface, a bad filter.
Every wait is bounded; sockets and the process are cleaned up on failure.
"""
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

TCPLIFE = sys.argv[1] if len(sys.argv) > 1 else "build/src/tcplife"
FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def serve(listener, behaviour, done):
    """Accepts one connection and plays the server side of a scenario."""
    try:
        listener.settimeout(5)
        conn, _ = listener.accept()
        conn.settimeout(5)
        data = conn.recv(1000)
        if behaviour == "clean":
            conn.sendall(b"r" * 500)
            conn.recv(10)          # the client's FIN
            conn.close()
        elif behaviour == "half_close":
            conn.recv(10)          # the client's FIN (after its data)
            for _ in range(3):     # data after the peer's FIN
                conn.sendall(b"h" * 700)
                time.sleep(0.05)
            conn.close()
        elif behaviour == "rst":
            conn.recv(10)
            conn.close()           # the client aborts with RST
        del data
    except OSError:
        pass
    finally:
        listener.close()
        done.set()


def scenario(behaviour, port):
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(1)
    done = threading.Event()
    t = threading.Thread(target=serve, args=(listener, behaviour, done), daemon=True)
    t.start()
    c = socket.create_connection(("127.0.0.1", port), timeout=5)
    c.sendall(b"q" * 300)
    if behaviour == "clean":
        c.recv(1000)
        c.shutdown(socket.SHUT_WR)
        c.recv(10)
        c.close()
    elif behaviour == "half_close":
        c.shutdown(socket.SHUT_WR)
        got = 0
        while got < 2100:
            b = c.recv(4096)
            if not b:
                break
            got += len(b)
        c.close()
    elif behaviour == "rst":
        c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        c.close()
    done.wait(5)
    t.join(5)


def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        pass


def read_lines(proc, until, deadline):
    """Reads NDJSON lines from proc.stdout until `until(lines)` or the deadline."""
    lines = []
    buf = b""
    while time.time() < deadline and not until(lines):
        r, _, _ = select.select([proc.stdout], [], [], 0.1)
        if not r:
            continue
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        buf += chunk
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            lines.append(line.decode())
    return lines, buf


def main():
    if os.geteuid() != 0:
        print("live capture test: not root, skipped")
        return 0
    ports = {"clean": free_port(), "half_close": free_port(), "rst": free_port()}
    refused_port = free_port()
    all_ports = list(ports.values()) + [refused_port]
    bpf = "tcp and (" + " or ".join(f"port {p}" for p in all_ports) + ")"
    tmp = tempfile.mkdtemp(prefix="tcplife-live-")
    saved = os.path.join(tmp, "live.pcap")
    proc = subprocess.Popen([TCPLIFE, "-i", "lo", "-f", "ndjson", "--close-linger", "0.3",
                             "-w", saved, bpf],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(1.0)  # let the capture start
        check(proc.poll() is None, "tcplife -i lo is running")
        for name, port in ports.items():
            scenario(name, port)
        refused(refused_port)
        ended = lambda ls: sum(1 for l in ls if '"type":"connection"' in l) >= 4
        before, rest = read_lines(proc, ended, time.time() + 10)
        check(ended(before), "all four ended connections were written before the signal")
        proc.send_signal(signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            check(False, "tcplife stopped within 10 s of SIGINT")
        check(proc.returncode == 0, f"exit code 0 after SIGINT (got {proc.returncode})")
        text = "\n".join(before) + "\n" + (rest + out).decode()
        lines = [l for l in text.split("\n") if l.strip()]
        docs = []
        for l in lines:
            try:
                docs.append(json.loads(l))
            except ValueError:
                check(False, "every line is JSON: " + l[:80])
        check(bool(docs) and docs[-1].get("type") == "summary", "the summary line comes last")
        conns = {d["server"]["port"]: d for d in docs if d.get("type") == "connection"}
        want = {ports["clean"]: "closed", ports["half_close"]: "closed", ports["rst"]: "reset",
                refused_port: "refused"}
        for port, outcome in want.items():
            got = conns.get(port, {}).get("outcome")
            check(got == outcome, f"port {port}: outcome {outcome} (got {got})")
        hc = conns.get(ports["half_close"], {}).get("teardown", {}).get("half_close")
        check(bool(hc) and hc.get("by") == "client" and hc.get("bytes_after") == 2100,
              f"half-close by the client, 2100 bytes after its FIN (got {hc})")
        rst = conns.get(ports["rst"], {}).get("teardown", {}).get("rst") or {}
        check(rst.get("by") == "client", "the RST abort was sent by the client")
        summary = docs[-1] if docs else {}
        cap = summary.get("input", {}).get("capture", {})
        check(cap.get("stopped_by") == "signal", f"summary says the capture stopped by signal ({cap})")
        check(summary.get("input", {}).get("format") == "live", "input format is live")

        # The saved file, read offline, tells the same lives.
        off = subprocess.run([TCPLIFE, "-f", "ndjson", "--close-linger", "0.3", saved],
                             capture_output=True, timeout=30)
        check(off.returncode == 0, "the -w file reads back offline")
        offline = [json.loads(l) for l in off.stdout.decode().splitlines() if l.strip()]
        oc = {d["server"]["port"]: d for d in offline if d.get("type") == "connection"}
        keys = ("outcome", "data", "handshake", "teardown", "final_state", "conn_state", "history")
        same = all({k: oc.get(p, {}).get(k) for k in keys} == {k: conns[p].get(k) for k in keys}
                   for p in want if p in conns)
        check(same and set(oc) == set(conns), "offline replay of -w gives the same records")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    # Error cases
    r = subprocess.run([TCPLIFE, "-i", "tcplife-nosuch0"], capture_output=True, timeout=10)
    check(r.returncode == 1 and b"no such capture device" in r.stderr,
          "a missing interface: exit 1, 'no such capture device'")
    r = subprocess.run([TCPLIFE, "-i", "lo", "tcp port (("], capture_output=True, timeout=10)
    check(r.returncode == 2 and b"bad filter" in r.stderr, "a bad filter: exit 2")
    r = subprocess.run([TCPLIFE, "-D"], capture_output=True, timeout=10)
    check(r.returncode == 0 and b"lo" in r.stdout, "-D lists the loopback")
    print(f"live: {0 if FAILS else 1} passed, {1 if FAILS else 0} failed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
