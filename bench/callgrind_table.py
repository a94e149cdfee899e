#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Markdown table of the top functions of a callgrind profile, inclusive and self.

usage: callgrind_table.py INCLUSIVE.txt SELF.txt [N]
  INCLUSIVE.txt: callgrind_annotate --inclusive=yes callgrind.out
  SELF.txt:      callgrind_annotate callgrind.out
Self cost sums every file a function's code came from (inlined headers
included); inclusive is the largest entry for the function.
"""
import collections
import re
import sys

ROW = re.compile(r'^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+([^:]*):(.*?)(\s+\[.*\])?\s*$')


def parse(path):
    total, rows, started = 0, [], False
    for line in open(path, encoding='utf-8', errors='replace'):
        m = re.match(r'^\s*([\d,]+).*PROGRAM TOTALS', line)
        if m:
            total = int(m.group(1).replace(',', ''))
        if re.match(r'^Ir\s+file:function', line):
            started = True
            continue
        if not started or '=>' in line:
            continue
        if line.startswith('--') and rows:
            break
        m = ROW.match(line)
        if not m:
            continue
        fn = m.group(3).replace('(anonymous namespace)::', '').replace('tcplife::', '')
        fn = re.sub(r'\(.*', '', fn).strip()
        rows.append((int(m.group(1).replace(',', '')), fn))
    return total, rows


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    total, inc_rows = parse(sys.argv[1])
    _, self_rows = parse(sys.argv[2])
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    inc, slf = collections.defaultdict(int), collections.defaultdict(int)
    for ir, fn in inc_rows:
        inc[fn] = max(inc[fn], ir)
    for ir, fn in self_rows:
        slf[fn] += ir
    skip = ('0x', '(below main)', '__libc_start', 'main')
    names = [f for f in set(inc) | set(slf) if f and not f.startswith(skip)]
    names.sort(key=lambda f: (-max(inc.get(f, 0), slf.get(f, 0)), f))
    print(f'Total: {total:,} instructions.\n')
    print('| function | inclusive % | self % |')
    print('| --- | ---: | ---: |')
    for f in names[:top]:
        print(f'| `{f}` | {100 * inc.get(f, 0) / total:.1f} | {100 * slf.get(f, 0) / total:.1f} |')
    print('\nTop self cost:\n')
    print('| function | self % |')
    print('| --- | ---: |')
    for f in sorted(names, key=lambda f: (-slf.get(f, 0), f))[:top // 2]:
        print(f'| `{f}` | {100 * slf.get(f, 0) / total:.1f} |')


if __name__ == '__main__':
    main()
