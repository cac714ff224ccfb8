#!/bin/bash
# usage: scripts/guest-bench.sh BENCHDIR RESULTS
# In the guest: the benchmark of scripts/bench.sh. BENCHDIR has the modules
# klp_bench_target.ko and klp_bench_patch.ko and the program klp-bench;
# results are appended to RESULTS as "metric param repeat value" lines:
#   auto_ms N r     enable -> complete, automatic signal only (BENCH_AUTO=1)
#   signal_ms N r   'signal' write -> complete
#   walk_us T r     duration of one 'signal' write (one walk of the tasks)
#   fork_idle_us T r, fork_walk_us T r   worst fork() latency in a window
#                   after a write of 0 (no walk) / of 1 (a walk)
#   series_idle_us T r, series_walk_us T r   worst fork() latency in a window
#                   as long as the whole series of quick retries after one
#                   write (BENCH_SERIES_MS, 1200 ms), the writer asleep after
#                   the write; of 0 / of 1 (its walk, then the quick retries)
#   series_idle_forks T r, series_walk_forks T r   forks in that window
#   series_idle_slow T r, series_walk_slow T r   forks in that window slower
#                   than its median fork by half the median walk or more
#                   (about: how many walks the forks collided with)
#   series_idle_excess_us T r, series_walk_excess_us T r   the sum of the
#                   fork latency above the window's median fork latency
#   churn_write_us C r   duration of one 'signal' write (it holds klp_mutex
#                   for most of it), without (C=0) and with (C=1) process
#                   churn: one process per CPU forking children that exit
#                   at once, as fast as it can
#   churn_work_us C r    duration of each run of klp_transition_work_fn
#                   (the stack check walk, klp_mutex held) in those phases,
#                   from the workqueue trace events
#   churn_forks C 1      processes created per second in the phase
# BENCH_PARTS (default "churn sleepers threads") says which parts to run.
# The series windows are measured at T = BENCH_SERIES_T only (default: the
# largest T of BENCH_T), 2 * BENCH_REPEATS of each. Writes of 1 are at least
# 1.1 s apart: the kernel lets the admin signal at most once a second.
# The (a)/(b) times come from the kernel's printk timestamps.
set -euo pipefail
bdir=$1
res=$2
repeats=${BENCH_REPEATS:-5}
bench_t=${BENCH_T:-1000 10000 50000}
series_t=${BENCH_SERIES_T:-$(printf '%s\n' $bench_t | sort -n | tail -n 1)}
series_ms=${BENCH_SERIES_MS:-1200}
lp=/sys/kernel/livepatch/klp_bench_patch
params=/sys/module/klp_bench_target/parameters

log() { echo "bench: $*"; }

# wait_for CONDITION [SECONDS]: poll every 10 ms
wait_for() {
	local i
	for ((i = 0; i < ${2:-120} * 100; i++)); do
		eval "$1" && return 0
		sleep 0.01
	done
	echo "bench: timed out waiting for: $1" >&2
	return 1
}

# kernel timestamp (seconds) of the first kernel log line matching $1
kts() {
	dmesg | awk -v re="$1" '$0 ~ re { sub(/^\[ */, ""); sub(/\].*/, ""); print; exit }'
}

# ms between the kernel log lines matching $1 and $2
kdelta() {
	local a b
	a=$(kts "$1")
	b=$(kts "$2")
	[ -n "$a" ] && [ -n "$b" ] || { echo "bench: no '$1' or '$2' in the kernel log" >&2; return 1; }
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'
}

in_transition() { [ "$(cat $lp/transition 2>/dev/null)" = 1 ]; }

# Unpatch: the sleepers now sleep in the new function and block that too.
unpatch() {
	echo 0 >$lp/enabled
	wait_for '[ -e $lp/signal ]' 5 || true
	sleep 1.1	# the last signal was less than a second ago, maybe
	echo 1 >$lp/signal 2>/dev/null || true
	wait_for '[ ! -e $lp ]' 120
	rmmod klp_bench_patch
}

# patch_once MODE N: enable the patch with N readers asleep; MODE "signal"
# writes 'signal' 300 ms after enabling, "auto" waits for the kernel alone.
patch_once() {
	local mode=$1 n=$2 r=$3 ms
	wait_for "[ \$(cat $params/sleepers) = $n ]" 120
	dmesg -C
	insmod "$bdir/klp_bench_patch.ko"
	if [ "$mode" = signal ]; then
		sleep 0.3
		in_transition || { echo "bench: the transition did not block (N=$n)" >&2; return 1; }
		echo 1 >$lp/signal
		wait_for '! in_transition' 120
		ms=$(kdelta "signaling remaining tasks on admin request" "'klp_bench_patch': patching complete")
		echo "signal_ms $n $r $ms" >>"$res"
	else
		wait_for '! in_transition' 120
		ms=$(kdelta "'klp_bench_patch': starting patching transition" "'klp_bench_patch': patching complete")
		echo "auto_ms $n $r $ms" >>"$res"
	fi
	log "N=$n $mode #$r: $ms ms"
	unpatch
}

bench_sleepers() {
	local n r pid
	for n in ${BENCH_N:-1 10 100 1000}; do
		insmod "$bdir/klp_bench_target.ko"
		"$bdir/klp-bench" sleep "$n" &
		pid=$!
		for ((r = 1; r <= repeats; r++)); do
			patch_once signal "$n" "$r"
			[ "${BENCH_AUTO:-0}" = 0 ] || patch_once auto "$n" "$r"
		done
		echo >/proc/klp_bench
		wait "$pid" || true
		rmmod klp_bench_target
	done
}

# The median of the numbers on stdin
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# series T WALK_US: (e), worst fork latency over the whole series of quick
# retries after one write. Each write comes 1.3 to 1.7 s after the last
# window ends, long past the last series (a second at most): it starts a new
# one. The periodic retry (a walk a second) falls in the windows without a
# write too; a write's series takes its place.
series() {
	local t=$1 walk=$2 v name
	for v in 0 1; do
		name=idle
		[ "$v" = 0 ] || name=walk
		"$bdir/klp-bench" forkseries $lp/signal $v $((repeats * 2)) $((series_ms * 1000)) 1300 \
			$((walk / 2)) |
			awk -v t="$t" -v m="series_$name" '$1 == "sample" {
				print m "_us", t, $2 + 1, $6
				print m "_forks", t, $2 + 1, $8
				print m "_slow", t, $2 + 1, $10
				print m "_excess_us", t, $2 + 1, $12 }' >>"$res"
		log "T=$t: series windows of ${series_ms} ms, write of $v: worst fork $(awk -v t="$t" -v m="series_${name}_us" '$1 == m && $2 == t { print $4 }' "$res" | median) us, $(awk -v t="$t" -v m="series_${name}_slow" '$1 == m && $2 == t { print $4 }' "$res" | median) forks slower than the median by $((walk / 2)) us (medians)"
	done
}

# start_pending: enable the patch with one killable sleeper in the patched
# function (its pid in SLEEPER), so that the transition stays pending through
# any signal. stop_pending: release it, and remove the patch and the target.
start_pending() {
	insmod "$bdir/klp_bench_target.ko" killable=1
	"$bdir/klp-bench" sleep 1 &
	SLEEPER=$!
	wait_for "[ \$(cat $params/sleepers) = 1 ]" 60
	insmod "$bdir/klp_bench_patch.ko"
}

stop_pending() {
	echo >/proc/klp_bench
	wait "$SLEEPER" || true
	wait_for '! in_transition' 60
	echo 0 >$lp/enabled
	wait_for '[ ! -e $lp ]' 60
	rmmod klp_bench_patch
	rmmod klp_bench_target
}

bench_threads() {
	local t crowd walk mem need series_done=0
	echo 4194304 >/proc/sys/kernel/pid_max
	echo 1000000 >/proc/sys/kernel/threads-max
	start_pending
	for t in $bench_t; do
		# kernel stack + task_struct + a user stack page or two per thread
		mem=$(awk '/MemAvailable/ { print $2 }' /proc/meminfo)
		need=$((t * (48 + 2 * $(getconf PAGESIZE) / 1024)))
		if [ "$need" -gt $((mem * 8 / 10)) ]; then
			log "T=$t skipped: needs ~$((need / 1024)) MB, $((mem / 1024)) MB available"
			[ "$t" != "$series_t" ] || { log "no series windows (e): T=$t skipped"; series_done=1; }
			continue
		fi
		coproc CROWD { exec "$bdir/klp-bench" crowd "$t"; }
		crowd=$CROWD_PID
		read -r _ <&"${CROWD[0]}"
		log "T=$t: $(ls /proc | grep -c '^[0-9]') processes, $(awk '{ print $4 }' /proc/loadavg | cut -d/ -f2) threads"
		"$bdir/klp-bench" walk $lp/signal $((repeats * 4)) |
			awk -v t="$t" '{ print "walk_us", t, $2 + 1, $4 }' >>"$res"
		walk=$(awk -v t="$t" '$1 == "walk_us" && $2 == t { print $4 }' "$res" | median)
		log "T=$t: one walk ${walk} us (median)"
		"$bdir/klp-bench" forklat $lp/signal 0 $((repeats * 4)) "${walk%.*}" |
			awk -v t="$t" '$1 == "sample" { print "fork_idle_us", t, $2 + 1, $6 }' >>"$res"
		"$bdir/klp-bench" forklat $lp/signal 1 $((repeats * 4)) "${walk%.*}" |
			awk -v t="$t" '$1 == "sample" { print "fork_walk_us", t, $2 + 1, $6 }' >>"$res"
		log "T=$t: worst fork, median: $(awk -v t="$t" '$1 == "fork_idle_us" && $2 == t { print $4 }' "$res" | median) us without a walk, $(awk -v t="$t" '$1 == "fork_walk_us" && $2 == t { print $4 }' "$res" | median) us during walks"
		if [ "$t" = "$series_t" ]; then
			series "$t" "${walk%.*}"
			series_done=1
		fi
		kill "$crowd"
		wait "$crowd" 2>/dev/null || true
	done
	[ "$series_done" = 1 ] || log "no series windows (e): BENCH_SERIES_T=$series_t is not in BENCH_T"
	stop_pending
}

# bench_churn: the cost of a write, and of the stack check walks, while
# processes are created and exit as fast as the CPUs allow, against no churn;
# a killable sleeper keeps the transition open.
bench_churn() {
	local c i pids tr=/sys/kernel/tracing/instances/klp_bench f0 f1 secs
	[ -d /sys/kernel/tracing/instances ] || mount -t tracefs nodev /sys/kernel/tracing
	mkdir -p $tr
	echo global >$tr/trace_clock
	start_pending
	for c in 0 1; do
		pids=()
		if [ "$c" = 1 ]; then
			for ((i = 0; i < $(nproc); i++)); do
				"$bdir/klp-bench" churn &
				pids+=($!)
			done
			sleep 1
		fi
		echo >$tr/trace
		echo 1 >$tr/events/workqueue/workqueue_execute_start/enable
		echo 1 >$tr/events/workqueue/workqueue_execute_end/enable
		f0=$(awk '/^processes/ { print $2 }' /proc/stat)
		secs=$(date +%s.%N)
		"$bdir/klp-bench" walk $lp/signal $((repeats * 4)) |
			awk -v c="$c" '{ print "churn_write_us", c, $2 + 1, $4 }' >>"$res"
		f1=$(awk '/^processes/ { print $2 }' /proc/stat)
		secs=$(awk -v a="$secs" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
		echo 0 >$tr/events/workqueue/enable
		# pair each start of klp_transition_work_fn with the next end
		# on the same CPU
		awk -v c="$c" '
			{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) t = substr($i, 1, length($i) - 1) }
			/workqueue_execute_start: .*function klp_transition_work_fn/ { s[$2] = t; next }
			/workqueue_execute_end: .*function klp_transition_work_fn/ && ($2 in s) {
				printf "churn_work_us %s %d %.0f\n", c, ++n, (t - s[$2]) * 1000000; delete s[$2] }' \
			$tr/trace >>"$res"
		echo "churn_forks $c 1 $(awk -v n=$((f1 - f0)) -v s="$secs" 'BEGIN { printf "%.0f", n / s }')" >>"$res"
		if [ "${#pids[@]}" != 0 ]; then
			kill "${pids[@]}"
			wait "${pids[@]}" 2>/dev/null || true
		fi
		log "churn=$c: $(awk -v c="$c" '$1 == "churn_forks" && $2 == c { print $4 }' "$res" | tail -n 1) processes/s; write: worst $(awk -v c="$c" '$1 == "churn_write_us" && $2 == c { print $4 }' "$res" | sort -n | tail -n 1) us, median $(awk -v c="$c" '$1 == "churn_write_us" && $2 == c { print $4 }' "$res" | median) us; walks: worst $(awk -v c="$c" '$1 == "churn_work_us" && $2 == c { print $4 }' "$res" | sort -n | tail -n 1) us"
	done
	rmdir $tr
	stop_pending
}

log "$(uname -r), $(nproc) CPUs, $(awk '/MemTotal/ { print int($2 / 1024) " MB" }' /proc/meminfo)"
for part in ${BENCH_PARTS:-churn sleepers threads}; do
	"bench_$part"
done
log done
