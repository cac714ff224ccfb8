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
        if len(f) != 13:
            continue
        (k, lp, op, who, rc, ms, said, kpsig, kms, sig, sigms, fails,
         verdicts) = f
        rows.append(dict(kernel=k, lp=lp, op=op, who=who, rc=rc, ms=int(ms),
                         said=said, kpsig=kpsig, kms=kms, sig=sig,
                         sigms=sigms, fails=int(fails),
                         verdicts=verdicts.split()))

funcs = {}
for lp in dict.fromkeys(r["lp"] for r in rows):
    try:
        funcs[lp] = open(os.path.join(d, "ko", lp + ".funcs")).read().split()
    except OSError:
        funcs[lp] = []

print("# Field test: klp-build livepatches, loaded by kpatch 0.9.10\n")
print("Each cell: the wall time of `kpatch load` or `kpatch unload` (s); "
      "the transition, start to end, from the kernel's log (s); the first "
      "signal and when it came after the start (s): `write` (to the "
      "`signal` file), `auto` (the kernel's automatic signal), or none, "
      "and in brackets how long the transition took after it (ms); "
      "\"reversed\": kpatch gave up and reversed the patch, the time is to "
      "the end of the reversal; "
      "what kpatch said. \"kpatch alone\": kpatch polls `transition` 15 "
      "times a second apart, then writes `signal` where it exists "
      "(\"kpatch wrote\" when it did). \"admin\": the admin runs `kpatch "
      "signal` 1 s after the transition started (series only: pristine "
      "7.3.4 has no `signal` file). A round with a failure is marked "
      "**FAIL**.\n")
print("| livepatch (function) | op | series, kpatch alone | series, admin "
      "| pristine 7.3.4, kpatch alone |")
print("|---|---|---|---|---|")


def sec(ms):
    return "%.1f" % (int(ms) / 1000.0)


def cell(r):
    if r is None:
        return "-"
    stuck = r["said"] == "did not complete its transition"
    s = "%s; %s" % (sec(r["ms"]), sec(r["kms"]) if r["kms"] != "-" else "-")
    if stuck:
        # kms: from the start to the end of kpatch's reversal
        s += " (reversed)"
    if r["sig"] != "none":
        s += "; %s at %s" % (r["sig"].replace("automatic", "auto"),
                             sec(r["sigms"]))
        if r["kms"] != "-" and r["sigms"] != "-" and not stuck:
            s += " (+%d ms)" % (int(r["kms"]) - int(r["sigms"]))
    else:
        s += "; no signal"
    s += "; " + r["said"].replace("transition complete", "complete")
    if r["kpsig"] == "wrote":
        s += ", kpatch wrote"
    if r["rc"] != "0":
        s += ", exit %s" % r["rc"]
    if r["fails"]:
        s += " **FAIL**"
    return s


def find(kernel, lp, op, who):
    for r in rows:
        if (r["kernel"], r["lp"], r["op"], r["who"]) == (kernel, lp, op, who):
            return r
    return None


for lp in funcs:
    for op in ("load", "unload"):
        cells = (find("series", lp, op, "kpatch"), find("series", lp, op, "admin"),
                 find("pristine", lp, op, "kpatch"))
        if not any(cells):
            continue
        print("| %s (%s) | %s | %s |" % (lp, ", ".join(funcs[lp]), op,
                                        " | ".join(cell(c) for c in cells)))

print("\n## What the sleeping programs saw\n")
print("One line per program: its verdict in each round, in order (series: "
      "kpatch load, unload, admin load, unload; pristine: load, unload). For "
      "the calls of `test_klp-restart` (matrix/), \"restarted\" means the "
      "call never returned early, \"EINTR\" that it returned EINTR to the "
      "program, which called again; every program checks that it got the "
      "result it would have had without any signal (\"ok\" for the plain "
      "programs and stress-ng --verify). `report`, `trace`: the kernel's "
      "report and its `klp_task_blocked` events named the task the signal "
      "could not move.\n")
print("| livepatch | program | series | pristine 7.3.4 |")
print("|---|---|---|---|")
good = ("ok", "restarted", "EINTR", "named")
# the plain programs of scripts/guest-field.sh
plain = {
    "plain-pipe": "bash: `read` from a FIFO",
    "plain-unix": "python3: server in `recv()`",
    "plain-futex": "python3: `threading.Event().wait()`",
    "plain-poll": "python3: `select.poll()` on a FIFO",
    "plain-epoll": "python3: asyncio server (epoll)",
    "plain-nanosleep": "`sleep 75`",
    "plain-wait": "bash: `wait` for its child",
    "plain-vfork": "`vfork()` parent (field/vfork-stall.c)",
}
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
                            if val not in good:
                                bad += 1
            out.append(", ".join(vs) or "-")
        print("| %s | %s | %s | %s |" % (lp, plain.get(p, p), out[0], out[1]))
failed = sum(1 for r in rows if r["fails"])
print("\n%d kpatch commands, %d rounds with a failure; %d program results "
      "other than %s." % (len(rows), failed, bad, "/".join(good)))
