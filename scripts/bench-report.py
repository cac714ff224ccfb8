#!/usr/bin/env python3
# usage: scripts/bench-report.py BASE ARCH K...
# Turn the results of scripts/bench.sh for BASE and ARCH
# (build/BASE/bench/ARCH/pK.txt, one file per kernel "patches 1-K") into
# ARCH's section of docs/BASE/benchmarks.md (medians, ratios and the raw
# numbers; other sections are kept) and into docs/BASE/benchmarks-ARCH.png,
# made with gnuplot.
import os
import platform
import re
import statistics
import subprocess
import sys
import time

top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
base, arch, ks = sys.argv[1], sys.argv[2], sys.argv[3:]
res_dir = os.path.join(top, 'build', base, 'bench', arch)
doc = os.path.join(top, 'docs', base, 'benchmarks.md')
png = os.path.join(top, 'docs', base, f'benchmarks-{arch}.png')


def load(k):
    data, head = {}, []
    with open(os.path.join(res_dir, f'p{k}.txt')) as f:
        for line in f:
            if line.startswith('#'):
                head.append(line[1:].strip())
                continue
            metric, param, _, value = line.split()
            data.setdefault(metric, {}).setdefault(int(param), []).append(float(value))
    return head, data


runs = {k: load(k) for k in ks}
last = ks[-1]


def med(k, metric, param):
    vals = runs[k][1].get(metric, {}).get(param)
    return statistics.median(vals) if vals else None


def fmt(v, unit=''):
    if v is None:
        return '–'
    return (f'{v:.0f}' if v >= 100 else f'{v:.1f}') + unit


def params(metric):
    return sorted({p for k in ks for p in runs[k][1].get(metric, {})})


label = {k: f'patches 1-{k}' for k in ks}
subject = {k: runs[k][0][0].split('up to: ', 1)[-1] for k in ks}
cpu = next((line.split(':', 1)[1].strip() for line in open('/proc/cpuinfo')
            if line.startswith('model name')), platform.processor())
# The accelerator the guest ran with, as bench.sh took it from vm.sh's
# QEMU command line, e.g. "tcg,thread=multi" (results from before it was
# recorded: TCG).
accel, *accel_opts = next((h.split(':', 1)[1].strip() for h in runs[last][0]
                           if h.startswith('accel:')), 'tcg').split(',')
accel = accel.upper() + (f' ({", ".join(accel_opts)})' if accel_opts else '')
guest = runs[last][0][1].removeprefix('bench: ')


def kernel_version():
    """The base's version, from the Makefile of build/BASE/linux."""
    v = {}
    with open(os.path.join(top, 'build', base, 'linux', 'Makefile')) as f:
        for line in f:
            m = re.match(r'(VERSION|PATCHLEVEL|SUBLEVEL) = (\d+)', line)
            if m:
                v[m.group(1)] = m.group(2)
            if len(v) == 3:
                break
    return f"{v['VERSION']}.{v['PATCHLEVEL']}.{v['SUBLEVEL']}"

out = [f'<!-- {arch} begin: written by scripts/bench-report.py, do not edit -->',
       f'## {arch}', '',
       f'Measured {time.strftime("%Y-%m-%d")} on a host with {os.cpu_count()} CPUs ({cpu}); '
       f'QEMU {accel}, guest {guest}. Base: Linux {kernel_version()} (Debian linux-source-{base}). '
       'Kernels:', '']
out += [f'- **{label[k]}**: up to "{subject[k]}"' for k in ks]
out += ['', f'Medians over {len(runs[last][1]["signal_ms"][params("signal_ms")[0]])} repeats '
        '(walks and fork windows: 4 times as many' +
        ('; series windows (e): 2 times as many' if params('series_walk_us') else '') +
        '). Raw numbers below the tables.', '']

ns = params('signal_ms')
out += ['### Completion of a blocked transition, N tasks asleep in the patched function', '',
        '| N | (a) automatic signal only, ms | ' +
        ' | '.join(f'(b) `signal` write, ms: {label[k]}' for k in ks) +
        f' | (a)/(b), {label[last]} |',
        '|' + '---|' * (3 + len(ks))]
for n in ns:
    a, b = med(last, 'auto_ms', n), med(last, 'signal_ms', n)
    out.append(f'| {n} | {fmt(a)} | ' + ' | '.join(fmt(med(k, 'signal_ms', n)) for k in ks) +
               f' | {fmt(a / b) if a and b else "–"} |')
out += ['', '(a) from "starting patching transition" to "patching complete", '
        '(b) from "signaling remaining tasks on admin request" to "patching complete": '
        'kernel log timestamps, same boot for (a) and the last column of (b).', '']

def ratio_cell(k, idle, walk, t):
    """'idle / walk (ratio x)' for kernel k at parameter t."""
    i, w = med(k, idle, t), med(k, walk, t)
    return f'{fmt(i)} / {fmt(w)} ({fmt(w / i) if i and w else "–"}x)'


ts = params('walk_us')
sec_cd = ['### One signal walk with T idle threads, and fork() meanwhile', '',
        '| T | ' + ' | '.join(f'(c) walk, µs: {label[k]}' for k in ks) + ' | ' +
        ' | '.join(f'(d) worst fork, µs, no walk / walk: {label[k]}' for k in ks) + ' |',
        '|' + '---|' * (1 + 2 * len(ks))]
for t in ts:
    cells = [fmt(med(k, 'walk_us', t)) for k in ks]
    cells += [ratio_cell(k, 'fork_idle_us', 'fork_walk_us', t) for k in ks]
    sec_cd.append(f'| {t} | ' + ' | '.join(cells) + ' |')
sec_cd += ['', '(c) the time a write of 1 to `signal` takes (user space clock), one pending '
        'task that the signal cannot wake (a killable sleep) keeping the transition open. '
        '(d) while a process forks in a loop, the worst fork() latency among the calls '
        'overlapping a window which starts with a write and lasts as long as a walk '
        '(the median walk of (c)): after a write of 0 (no walk; the writer then stays busy '
        'in user space until the window ends, as a walk would keep its CPU busy) or of 1 '
        '(a walk); median over the windows, the ratio walk / no walk in brackets.', '']
# (c) and (d) come from the threads part, which BENCH_PARTS may leave out.
if ts:
    out += sec_cd
es = params('series_walk_us')
if es:
    out += ['### (e) fork() over the 1.2 s after one write', '',
            '| T | ' + ' | '.join(f'(e) worst fork, µs, no write / write: {label[k]}' for k in ks) + ' | ' +
            ' | '.join(f'slow forks, no write / write: {label[k]}' for k in ks) + ' |',
            '|' + '---|' * (1 + 2 * len(ks))]
    for t in es:
        cells = [ratio_cell(k, 'series_idle_us', 'series_walk_us', t) for k in ks]
        for k in ks:
            i, w = med(k, 'series_idle_slow', t), med(k, 'series_walk_slow', t)
            cells.append(f'{"–" if i is None else f"{i:g}"} / {"–" if w is None else f"{w:g}"}')
        out.append(f'| {t} | ' + ' | '.join(cells) + ' |')
    out += ['', '(e) the same fork loop and the same pending task, with a window which starts '
            'with a write and lasts 1.2 s (as long as the series of quick retries after a write of '
            'series v3; longer than the one retry after a write since v4; the writer asleep after '
            'the write, as an admin\'s shell would be; writes 1.3 to 1.7 s apart): the worst '
            'fork() latency in the window after a write of 0 (no walk but the periodic '
            'retry, about once a second) or of 1 (the signal, then the retries which the write '
            'brings forward), median over the windows, the ratio in brackets; slow forks: the median '
            'number of forks in a window slower than the window\'s median fork by half the median walk '
            'of (c) or more, about the number of walks the forks collided with. Raw numbers below, with series_*_forks (the forks in '
            'a window) and series_*_excess_us (the sum of their latency above the window\'s median).', '']
if params('churn_write_us'):
    def worst(k, metric, c):
        vals = runs[k][1].get(metric, {}).get(c)
        return max(vals) if vals else None
    out += ['### (f) One write under process churn', '',
            '| kernel | processes/s, no churn / churn | write, µs, median: no churn / churn | '
            'write, µs, worst: no churn / churn | walk of the stack check, µs, worst: no churn / churn |',
            '|---|---|---|---|---|']
    for k in ks:
        out.append(f'| {label[k]} | {fmt(med(k, "churn_forks", 0))} / {fmt(med(k, "churn_forks", 1))} | '
                   f'{fmt(med(k, "churn_write_us", 0))} / {fmt(med(k, "churn_write_us", 1))} | '
                   f'{fmt(worst(k, "churn_write_us", 0))} / {fmt(worst(k, "churn_write_us", 1))} | '
                   f'{fmt(worst(k, "churn_work_us", 0))} / {fmt(worst(k, "churn_work_us", 1))} |')
    out += ['', '(f) one task that the signal cannot move (a killable sleep) keeps the transition open; '
            'writes of 1 to `signal` 1.1 to 1.2 s apart (user space clock: the write holds klp_mutex '
            'for most of it), with no other load, then while one process per CPU forks children that '
            'exit at once, as fast as it can. The walks are the runs of klp_transition_work_fn '
            '(workqueue trace events), which hold klp_mutex: the periodic retries and the retry after '
            'each write.', '']
out += [f'![plot](benchmarks-{arch}.png)', '', '<details><summary>Raw numbers</summary>', '']
for k in ks:
    out.append(f'{label[k]}:')
    out.append('')
    for metric, per in sorted(runs[k][1].items()):
        for p, vals in sorted(per.items()):
            out.append(f'    {metric} {p}: ' + ' '.join(fmt(v) for v in vals))
    out.append('')
out += ['</details>', f'<!-- {arch} end -->']
section = '\n'.join(out) + '\n'

intro = f'''# Benchmarks on {base}

Made by `make bench` (scripts/bench.sh, scripts/guest-bench.sh, bench/); the
sections below are written by scripts/bench-report.py from its results. See
the README for what is measured and how. Timing under QEMU TCG is slow and
noisy: compare the figures of one run (one section) with each other, not with
other machines.

'''
text = open(doc).read() if os.path.exists(doc) else intro
pat = re.compile(rf'<!-- {arch} begin.*?<!-- {arch} end -->\n', re.S)
text = pat.sub(lambda m: section, text) if pat.search(text) else text + section
os.makedirs(os.path.dirname(doc), exist_ok=True)
with open(doc, 'w') as f:
    f.write(text)

# The plot: (b) against N, (d) against T.
dat = os.path.join(res_dir, 'plot')
os.makedirs(dat, exist_ok=True)
for k in ks:
    with open(os.path.join(dat, f'b{k}'), 'w') as f:
        f.writelines(f'{n} {med(k, "signal_ms", n)}\n' for n in ns if med(k, 'signal_ms', n))
    with open(os.path.join(dat, f'd{k}'), 'w') as f:
        f.writelines(f'{t} {med(k, "fork_idle_us", t)} {med(k, "fork_walk_us", t)}\n'
                     for t in ts if med(k, 'fork_walk_us', t))
with open(os.path.join(dat, 'a'), 'w') as f:
    f.writelines(f'{n} {med(last, "auto_ms", n)}\n' for n in ns if med(last, 'auto_ms', n))
# The panels: (b) against N, and (d) against T when the threads part ran
# (BENCH_PARTS may leave it out, and then ts is empty).
panels = [[f'set title "{arch}: to completion, (a) from enabling, (b) from the signal write"',
           'set xlabel "N"', 'set ylabel "ms"',
           'plot ' + ', '.join([f'"{dat}/a" using 1:2 with linespoints title "(a) automatic, {label[last]}"'] +
                               [f'"{dat}/b{k}" using 1:2 with linespoints title "(b) {label[k]}"'
                                for k in ks])]]
if ts:
    panels.append([f'set title "{arch}: (d) worst fork() latency in a window, median"',
                   'set xlabel "T"', 'set ylabel "us"',
                   'plot ' + ', '.join([f'"{dat}/d{last}" using 1:2 with linespoints title "no walk, {label[last]}"'] +
                                       [f'"{dat}/d{k}" using 1:3 with linespoints title "during a walk, {label[k]}"'
                                        for k in ks])])
gp = [f'set terminal pngcairo size {550 * len(panels)},450 font ",10"', f'set output "{png}"',
      'set termoption noenhanced', f'set multiplot layout 1,{len(panels)}', 'set logscale xy',
      'set key top left', 'set grid'] + sum(panels, []) + ['unset multiplot']
subprocess.run(['gnuplot'], input='\n'.join(gp) + '\n', text=True, check=True)
print(f'bench: wrote {os.path.relpath(doc, top)} and {os.path.relpath(png, top)}')
