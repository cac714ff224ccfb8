#!/usr/bin/env python3
# usage: scripts/field-report.py DIR
# The field test's results (DIR/series.tsv, DIR/pristine.tsv, written by
# scripts/guest-field.sh) as Markdown: how each kpatch command went and how
# long it took, on the series' kernel and on the pristine base, and what
# the blocked programs saw (the restart matrix of real syscalls).
import os
import sys

d = sys.argv[1]
rows = []
for kernel in ("series", "pristine"):
    path = os.path.join(d, kernel + ".tsv")
    if not os.path.exists(path):
        continue
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if len(f) != 9:
            continue
        k, lp, op, who, rc, ms, said, kms, verdicts = f
        rows.append(dict(kernel=k, lp=lp, op=op, who=who, rc=rc, ms=int(ms),
                         said=said, kms=kms, verdicts=verdicts.split()))

funcs = {}
for lp in dict.fromkeys(r["lp"] for r in rows):
    try:
        funcs[lp] = open(os.path.join(d, "ko", lp + ".funcs")).read().split()
    except OSError:
        funcs[lp] = []

print("# Field test: klp-build livepatches, loaded by kpatch 0.9.10\n")
print("Wall time of each `kpatch load` / `kpatch unload` (ms), and what kpatch "
      "said; in brackets, the kernel's start -> end of the transition (ms, "
      "from its log) and who signalled: a write to `signal`, the kernel's "
      "automatic signal, or none. Series: kpatch writes `signal` itself after its 15 s "
      "wait (\"kpatch\"), or the admin writes it 1 s after kpatch started "
      "(\"admin\"). Pristine 7.3.4: no `signal` file, the kernel signals "
      "by itself.\n")
print("| livepatch (functions) | op | series, kpatch signals | series, admin at 1 s "
      "| pristine 7.3.4 |")
print("|---|---|---|---|---|")


def cell(r):
    if r is None:
        return "-"
    s = "%d (%s)" % (r["ms"], r["kms"].replace(" ms, signal: ", " ms; "))
    s += ", " + r["said"].replace("transition complete", "complete")
    if r["rc"] != "0":
        s += ", **exit %s**" % r["rc"]
    return s


def find(kernel, lp, op, who):
    for r in rows:
        if (r["kernel"], r["lp"], r["op"], r["who"]) == (kernel, lp, op, who):
            return r
    return None


for lp in funcs:
    for op in ("load", "unload"):
        print("| %s (%s) | %s | %s | %s | %s |" % (
            lp, ", ".join(funcs[lp]), op, cell(find("series", lp, op, "kpatch")),
            cell(find("series", lp, op, "admin")),
            cell(find("pristine", lp, op, "kernel"))))

print("\n## What the sleeping programs saw\n")
print("One line per program: its verdict in each round (series: kpatch load, "
      "unload, admin load, unload; pristine: load, unload). For the "
      "`test_klp-restart` calls, \"restarted\" means the call never "
      "returned early, \"EINTR\" that it returned EINTR to the program "
      "(which called again); every program checks that it got the result "
      "it would have had without any signal.\n")
print("| livepatch | program | series | pristine 7.3.4 |")
print("|---|---|---|---|")
bad = 0
for lp in funcs:
    progs = []
    for r in rows:
        if r["lp"] != lp:
            continue
        for v in r["verdicts"]:
            p = v.split("=")[0]
            if p not in progs:
                progs.append(p)
    for p in progs:
        out = []
        for kernel in ("series", "pristine"):
            vs = []
            for r in rows:
                if r["lp"] == lp and r["kernel"] == kernel:
                    for v in r["verdicts"]:
                        name, _, val = v.partition("=")
                        if name == p:
                            vs.append(val)
                            if val not in ("ok", "restarted", "EINTR"):
                                bad += 1
            out.append(", ".join(vs) or "-")
        print("| %s | %s | %s | %s |" % (lp, p, out[0], out[1]))
fails = sum(1 for r in rows if r["rc"] != "0")
print("\n%d kpatch commands, %d failed; %d program results other than "
      "ok/restarted/EINTR." % (len(rows), fails, bad))
