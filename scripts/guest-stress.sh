#!/bin/bash
# usage: scripts/guest-stress.sh KSELFTEST_DIR SECONDS [KLP_BENCH]
# In the guest (a debug kernel, see scripts/stress.sh): for SECONDS, all at
# once, with the test modules of test-signal.sh and test-restart.sh:
#   - writers of the livepatch's "signal" file (valid and invalid values), some
#     opening it for each write, some keeping it open across the patch's removal;
#   - a livepatch enabled, disabled (sometimes mid-transition, which reverses
#     it), unloaded and reloaded in a loop, "force" written now and then; the
#     cycles take test_klp_signal and test_klp_restart (the functions that
#     read(), accept(), futex(), nanosleep(), wait4(), pause(), poll() and
#     epoll_wait() sleep in) in turn;
#   - readers of /proc/test_klp_signal_mod and the target's kthread, asleep in
#     the patched functions, released and kicked again and again;
#   - threads and processes created and exiting, and with KLP_BENCH (the
#     program of bench/klp-bench.c) a fork storm: one process per CPU that
#     forks a child exiting at once and reaps it, as fast as it can, and a
#     writer timing a write of 1 to "signal" every second;
#   - Debian's stress-ng, with --verify, running stressors of those blocking
#     calls: pipe, futex, poll, epoll, nanosleep, clock, wait (pause() and
#     waitid()), sigsuspend, sockpair and sockfd (UNIX sockets).
# Then a last cycle with a real "force", and the checks: every transition ended,
# the patch's state was what was last asked, readers read what they should,
# no task is left in D state, stress-ng reported no failure, and no signal
# walk nor retry held klp_mutex longer than BOUND_MS ("Bounds", below).
# Prints the counts of each operation and outcome, the times, and
# stress-ng's own summary; exits non-zero on a failed check. Kernel reports
# are for the host to find in the console.
set -euo pipefail
RUN=$PWD	# the run directory, where dmesg.log goes
cd "$1/livepatch/test_modules"
DURATION=$2
BENCH=${3:-}

# The livepatches the cycles take in turn; LP and SYS are the current one's.
# test_klp_restart is in the series up to v3 only (since v4, the syscall
# matrix of scripts/matrix.sh): taken where it was built.
LPS=(test_klp_signal)
[ ! -f test_klp_restart.ko ] || LPS+=(test_klp_restart)
LP=${LPS[0]}
SYS=/sys/kernel/livepatch/$LP
TARGET=test_klp_signal_mod
PROC=/proc/$TARGET
KICK=/sys/module/$TARGET/parameters/kick
# Seconds the last task may take to switch after a transition starts (the
# kernel's own fake signal comes every 15 s; checked in the trace, below).
SWITCH_MAX=60
# Seconds a transition may take to complete, or a removal: more, as what
# the base does after the last switch is slow on these kernels under TCG.
# Unpatching unregisters the ftrace_ops of each function, and each
# unregistration waits for an RCU-tasks-rude grace period and, on x86_64,
# an RCU-tasks one (synchronize_rcu() where TASKS_RCU is off, as on
# ppc64le): on x86_64 with KASAN and lockdep, while stress-ng ran,
# test_klp_restart's unpatching (7 functions) said "complete" 62 s after
# the walk that found no task pending. Patching transitions, which
# unregister nothing, took up to 18 s from that walk to "complete" (not
# broken down: klp_cond_resched_disable() rewrites the cond_resched()
# static call, klp_complete_transition() waits for a schedule_on_each_cpu()).
WAIT_MAX=180
# Bounds. What the series does under klp_mutex is one walk of all the
# tasks, with tasklist_lock held for reading: the signal walk of an
# admin's write (klp_signal_transition()), and the retry 20 ms later, a
# walk of klp_try_complete_transition() like the base's periodic ones.
# Each hold of klp_mutex by those (from kprobe events on the entry and
# the return of the two functions: the hold but for mutex_lock() and a
# comparison) must be shorter than BOUND_MS, as must the walk of every
# klp_try_complete_transition() (from its entry to its klp_stack_check
# event). A walk that finds no task pending goes on, klp_mutex still
# held, into what the base does to complete the transition (ftrace_ops
# unregistered, RCU grace periods: seconds here, see WAIT_MAX): that is
# reported, not bounded; and so is the whole time of a write, which waits
# for klp_mutex while such a completion holds it.
# BOUND_MS is a second: the period of the base's retries and of the
# admin's limit (EBUSY). A hold of a second or more would put off the
# base's next retry, and writes once a second could then keep klp_mutex
# held all the time: "one walk a second" is a bound on the work only
# while a walk takes less than that. Far below it on these kernels
# (README, "Stress on a debug kernel"), and not closer: a walk here is
# also the writer preempted (preempt=full; on PREEMPT_RT inside the walk
# too) by the fork storm at a higher priority, and the vCPUs' turns of up
# to 100 ms under single-threaded TCG.
BOUND_MS=${STRESS_BOUND_MS:-1000}
WORK=$(mktemp -d)
STOP=$WORK/stop
ERR=$WORK/err.main	# each worker has its own
T0=$(date +%s)
FAILED=()

say() { echo "[$(printf '%4d' $(($(date +%s) - T0)))s] $*"; }
fail() {
	FAILED+=("$*")
	say "FAIL: $*"
}

# count OP OUTCOME: one more OP that ended in OUTCOME (ok, errno, data read).
declare -A COUNTS=()
count() { COUNTS["$1 $2"]=$((${COUNTS["$1 $2"]:-0} + 1)); }
dump_counts() { # dump_counts NAME: this process's counts, for the summary
	local k
	for k in "${!COUNTS[@]}"; do echo "$k ${COUNTS[$k]}"; done >"$WORK/counts.$1"
}
running() { [ ! -e "$STOP" ]; }

# The errno of the last failure, from the message in $ERR (bash's, or kmod's).
errno_of_err() {
	local msg=
	read -r msg <"$ERR" || true
	case ${msg##*: } in
	"Invalid argument") ERRNO=EINVAL ;;
	"No such device") ERRNO=ENODEV ;;
	"No such file or directory") ERRNO=ENOENT ;;
	# Root gets it from an open(O_CREAT) of a file missing from a
	# directory of sysfs, which cannot create files: the patch's
	# directory is there without its attributes, being made or removed.
	"Permission denied") ERRNO=EACCES ;;
	"Interrupted system call") ERRNO=EINTR ;;
	"File exists") ERRNO=EEXIST ;;
	*"is in use"* | "Device or resource busy") ERRNO=EBUSY ;;
	*) ERRNO=$(echo "${msg##*: }" | tr ' ' _) ;;
	esac
}

# put OP FILE VALUE: write VALUE to FILE (opened for this write), count it.
put() {
	if echo "$3" 2>"$ERR" >"$2"; then
		ERRNO=ok
		count "$1" ok
	else
		errno_of_err
		count "$1" "$ERRNO"
	fi
}

# A value for "signal": mostly 1, sometimes 0 or what kstrtobool refuses.
BAD_VALUES=(2 -1 garbage o x10 "")
pick_value() {
	case $((RANDOM % 8)) in
	0) VALUE=0 CLASS=0 ;;
	1) VALUE=${BAD_VALUES[RANDOM % ${#BAD_VALUES[@]}]} CLASS=bad ;;
	*) VALUE=1 CLASS=1 ;;
	esac
}

# The workers that hammer, at a lower priority: under TCG they would starve
# the patch's lifecycle, the one to keep busy.
# (renice is not in the ppc64le guest's userland: there they keep theirs.)
lower_priority() {
	! command -v renice >/dev/null || renice -n 10 -p $BASHPID >/dev/null
}

# signal_file: SIGNAL, the "signal" file of the livepatch that is there (the
# writers run in subshells, which do not see the lifecycle's LP change), or of
# the first one when none is.
signal_file() {
	local lp
	SIGNAL=/sys/kernel/livepatch/${LPS[0]}/signal
	for lp in "${LPS[@]}"; do
		[ ! -e "/sys/kernel/livepatch/$lp" ] || SIGNAL=/sys/kernel/livepatch/$lp/signal
	done
}

# Writers that open the file for each write.
writer_fresh() {
	ERR=$WORK/err.$1
	lower_priority
	while running; do
		pick_value
		signal_file
		put "signal=$CLASS(open-each)" "$SIGNAL" "$VALUE"
	done
	dump_counts "$1"
}

# Writers that keep the file open for as long as they can: across the patch's
# removal, where their writes must fail (ENODEV) without touching freed memory.
writer_held() {
	ERR=$WORK/err.$1
	lower_priority
	local open=0
	while running; do
		if [ $open = 0 ]; then
			signal_file
			if { exec 3>"$SIGNAL"; } 2>"$ERR"; then
				open=1
				count signal-open ok
			else
				errno_of_err
				count signal-open "$ERRNO"
				sleep 0.1
				continue
			fi
		fi
		pick_value
		if echo "$VALUE" 2>"$ERR" >&3; then
			count "signal=$CLASS(held-open)" ok
		else
			errno_of_err
			count "signal=$CLASS(held-open)" "$ERRNO"
			# Gone: the patch was removed. Reopen when it is back.
			if [ "$ERRNO" = ENODEV ]; then
				exec 3>&-
				open=0
			fi
		fi
	done
	dump_counts "$1"
}

# Readers: each read sleeps in the (patched or original) read function until
# the waker writes to the file, then returns what served it. Interrupted by
# the fake signal, it returns what the target's "interrupted" parameter
# says (test-restart.sh, set for each cycle of test_klp_signal): restarted
# (ERESTARTSYS, ERESTARTNOHAND), 0 bytes from the restart_block function
# (ERESTART_RESTARTBLOCK: "eof"), or EINTR, on which bash reads again.
reader() {
	ERR=$WORK/err.$1
	local line
	while running; do
		if { read -r line <"$PROC"; } 2>"$ERR"; then
			count read "$line"
		elif [ ! -s "$ERR" ] && [ -z "$line" ]; then
			count read eof
		else
			errno_of_err
			count read "$ERRNO"
		fi
	done
	dump_counts "$1"
}

# The waker: releases the readers and sends the kthread back to sleep in the
# patched function, a few times a second.
waker() {
	ERR=$WORK/err.$1
	while running; do
		sleep 0.$((RANDOM % 5 + 1))
		put release-readers "$PROC" 1
		put kick-kthread "$KICK" 1
	done
	dump_counts "$1"
}

# Task churn: processes, and threads where there is a python3 to make them.
forker() {
	ERR=$WORK/err.$1
	lower_priority
	while running; do
		(:) &
		(sleep 0.01) &
		wait
		count fork+exit ok
		count fork+exit ok
	done
	dump_counts "$1"
}

threader() {
	local n
	lower_priority
	n=$(python3 - "$STOP" <<-'EOF'
		import os, sys, threading, time
		n = 0
		while not os.path.exists(sys.argv[1]):
		    threads = [threading.Thread(target=time.sleep, args=(0.001,)) for _ in range(8)]
		    for t in threads:
		        t.start()
		    for t in threads:
		        t.join()
		    n += len(threads)
		print(n)
	EOF
	) || n=0
	COUNTS["thread-create+exit ok"]=$n
	dump_counts "$1"
}

# wait_for SECONDS COMMAND...: until COMMAND succeeds; fails after SECONDS.
wait_for() {
	local end=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.1
	done
}
transition_over() { [ "$(cat "$SYS/transition" 2>/dev/null)" = 0 ]; }
patch_gone() { [ ! -e "$SYS" ]; }
lp_loaded() { grep -q "^$LP " /proc/modules; }
# readers_gone: release the readers; true once they all stopped.
readers_gone() {
	local p
	echo 1 >"$PROC"
	for p in "${readers[@]}"; do
		! kill -0 "$p" 2>/dev/null || return 1
	done
}

# What the target's read returns when the signal interrupts it (reader()).
INTERRUPTED_PARAM=/sys/module/$TARGET/parameters/interrupted
INTERRUPTED_CODES=(ERESTARTSYS ERESTARTNOHAND ERESTART_RESTARTBLOCK EINTR)

# What the lifecycle last asked of the patch: unloaded, enabled or disabled.
WANT=unloaded
CYCLES=0

# check_state: the patch is in the state last asked, once its transition is
# over. Counted, and a failure when it is not.
check_state() {
	local got
	case $WANT in
	enabled)
		if ! wait_for $WAIT_MAX transition_over; then
			fail "patching transition not over after ${WAIT_MAX}s: $(grep . "$SYS"/{enabled,transition} 2>&1 | tr '\n' ' ')"
			return 1
		fi
		got="enabled=$(cat "$SYS/enabled") transition=$(cat "$SYS/transition")"
		if [ "$got" != "enabled=1 transition=0" ]; then
			count state-check mismatch
			fail "asked enabled, got $got"
			return 1
		fi
		;;
	disabled)
		if ! wait_for $WAIT_MAX patch_gone; then
			fail "patch still there ${WAIT_MAX}s after disabling: $(grep . "$SYS"/{enabled,transition} 2>&1 | tr '\n' ' ')"
			return 1
		fi
		;;
	unloaded)
		if [ -e "$SYS" ] || lp_loaded; then
			count state-check mismatch
			fail "asked unloaded, the patch or its module is still there"
			return 1
		fi
		;;
	esac
	count state-check ok
}

# One step of the patch's life, from the state last asked; returns non-zero
# when the patch is stuck (then the loop stops).
lifecycle_step() {
	case $WANT in
	unloaded)
		LP=${LPS[CYCLES % ${#LPS[@]}]}
		SYS=/sys/kernel/livepatch/$LP
		if [ "$LP" = test_klp_signal ]; then
			INTERRUPTED=${INTERRUPTED_CODES[RANDOM % ${#INTERRUPTED_CODES[@]}]}
			put "interrupted=$INTERRUPTED" "$INTERRUPTED_PARAM" "$INTERRUPTED"
		fi
		if load_lp; then
			count "insmod($LP)" ok
			WANT=enabled
			INSMOD_FAILS=0
		else
			errno_of_err
			count "insmod($LP)" "$ERRNO"
			INSMOD_FAILS=$((INSMOD_FAILS + 1))
			if [ $INSMOD_FAILS -ge 10 ]; then
				fail "insmod $LP failed 10 times in a row: $(cat "$ERR")"
				return 1
			fi
			sleep 0.5
		fi
		;;
	enabled)
		# Disable at once a time in four (mid-transition: reversed),
		# else once the patching is over, after a moment patched.
		if [ $((RANDOM % 4)) != 0 ]; then
			check_state || return 1
			sleep 0.$((RANDOM % 10))
			# Now and then a "force" with no transition: refused.
			[ $((RANDOM % 4)) != 0 ] || put force-outside-transition "$SYS/force" 1
		fi
		put disable "$SYS/enabled" 0
		[ "$ERRNO" != ok ] || WANT=disabled
		;;
	disabled)
		# Re-enable a time in five, while the unpatching may still run
		# (reversed); else wait for the removal and unload.
		if [ $((RANDOM % 5)) = 0 ]; then
			put re-enable "$SYS/enabled" 1
			if [ "$ERRNO" = ok ]; then
				WANT=enabled
				return 0
			fi
		fi
		check_state || return 1
		wait_for 10 rmmod_lp || return 1
		WANT=unloaded
		CYCLES=$((CYCLES + 1))
		count "cycle($LP)" ok
		;;
	esac
}

# test_klp_restart calls the kernel's helpers at the addresses it is given
# (see test-restart.sh): those of /proc/kallsyms. The module refuses to load
# when one it needs is missing or wrong.
RESTART_PARAMS=
for p in ksys_read sys_accept4=__sys_accept4 do_futex hrtimer_nanosleep \
	do_no_restart_syscall kernel_wait4 do_timens_ktime_to_host; do
	addr=$(awk -v sym="${p#*=}" '$3 == sym { print $1; exit }' /proc/kallsyms)
	[ -z "$addr" ] || RESTART_PARAMS+=" ${p%=*}=0x$addr"
done

# load_lp: insmod the current livepatch (LP), errors in $ERR.
load_lp() {
	local params=
	[ "$LP" != test_klp_restart ] || params=$RESTART_PARAMS
	# shellcheck disable=SC2086 # the parameters are words
	insmod "$LP.ko" $params 2>"$ERR"
}
INSMOD_FAILS=0

rmmod_lp() {
	if rmmod "$LP" 2>"$ERR"; then
		count rmmod ok
	else
		errno_of_err
		count rmmod "$ERRNO"
		return 1
	fi
}

# The last cycle: load the patch and force both transitions; "force" works
# only while a transition runs (the writers may have ended it already). A
# forced patch keeps its module: rmmod then fails with EBUSY.
final_force_cycle() {
	local forced=0
	until [ "$WANT" = unloaded ]; do
		lifecycle_step || return 1
	done
	LP=${LPS[CYCLES % ${#LPS[@]}]}
	SYS=/sys/kernel/livepatch/$LP
	if ! load_lp; then
		fail "insmod $LP failed: $(cat "$ERR")"
		return 1
	fi
	count "insmod($LP)" ok
	WANT=enabled
	put force-in-transition "$SYS/force" 1
	[ "${COUNTS["force-in-transition ok"]:-0}" = 0 ] || forced=1
	check_state || return 1
	put disable "$SYS/enabled" 0
	WANT=disabled
	put force-in-transition "$SYS/force" 1
	[ "${COUNTS["force-in-transition ok"]:-0}" = 0 ] || forced=1
	check_state || return 1
	if rmmod_lp; then
		WANT=unloaded
	elif [ $forced = 1 ] && [ "$ERRNO" = EBUSY ]; then
		say "the forced patch keeps its module, as it should"
	else
		fail "rmmod $LP: $ERRNO after an unforced cycle"
	fi
}

# The workers read and write files that are there or not: none of them stops
# on an error, each counts it.
echo "Linux $(uname -r), $(nproc) CPUs, up $(cut -d' ' -f1 /proc/uptime)s; stress for ${DURATION}s"
# Keep the console for warnings and worse: the livepatch's notices, thousands
# of them, would slow the serial console down (they stay in dmesg).
dmesg -n 5
# The series' trace events, for the timeline of each transition (below).
TRACE=/sys/kernel/tracing
for e in klp_stack_check klp_signal; do
	[ ! -e "$TRACE/events/livepatch/$e/enable" ] || echo 1 >"$TRACE/events/livepatch/$e/enable"
done
# The kprobe events of the bounds (above), in the same trace.
KPROBES=$TRACE/kprobe_events
if [ -n "$BENCH" ]; then
	[ -w "$KPROBES" ] || { fail "no kprobe events in this kernel (KPROBE_EVENTS)"; exit 1; }
	{
		echo 'p:klp_stress/signal_in klp_signal_transition'
		echo 'r:klp_stress/signal_out klp_signal_transition ret=$retval:s32'
		echo 'p:klp_stress/walk_in klp_try_complete_transition'
		echo 'r:klp_stress/walk_out klp_try_complete_transition'
	} >>"$KPROBES"
	echo 1 >"$TRACE/events/klp_stress/enable"
fi
# The trace in printk's clock (local_clock()), so that the timeline
# (below) can put the trace's events among the kernel log's.
! grep -qw perf "$TRACE/trace_clock" || echo perf >"$TRACE/trace_clock"
# lock_stat: the holds of klp_mutex and tasklist_lock, and the waits for
# them, from now on.
[ ! -w /proc/lock_stat ] || echo 0 >/proc/lock_stat
command -v stress-ng >/dev/null || { fail "no stress-ng in the guest"; exit 1; }
insmod $TARGET.ko

pids=()
for i in 1 2; do
	writer_fresh "writer-fresh$i" &
	pids+=($!)
	writer_held "writer-held$i" &
	pids+=($!)
done
readers=()
for i in 1 2 3; do
	reader "reader$i" &
	readers+=($!)
done
pids+=("${readers[@]}")
waker waker &
pids+=($!)
forker forker &
pids+=($!)
if command -v python3 >/dev/null; then
	threader threader &
	pids+=($!)
fi
# The fork storm, one process a CPU, at the priority of the lifecycle; the
# timed writer of "signal", an admin's write every second.
storms=()
timed=
if [ -n "$BENCH" ]; then
	for i in $(seq "$(nproc)"); do
		"$BENCH" storm "$DURATION" >"$WORK/storm.$i" 2>&1 &
		storms+=($!)
	done
	lp_signals=()
	for lp in "${LPS[@]}"; do lp_signals+=("/sys/kernel/livepatch/$lp/signal"); done
	"$BENCH" writes "$DURATION" "${lp_signals[@]}" >"$WORK/writes" 2>&1 &
	timed=$!
fi
# The most threads seen at once, sampled every 30 s.
TASKS_MAX=0
sample_tasks() {
	local t=(/proc/[0-9]*/task/[0-9]*)
	[ ${#t[@]} -le "$TASKS_MAX" ] || TASKS_MAX=${#t[@]}
}
sample_tasks
# stress-ng: one worker of each stressor, at nice 10 (that of the writers
# where there is a renice; nice is in coreutils, there in every guest); it
# stops by itself after DURATION.
# UNIX sockets: sockpair, and sockfd (connect, accept, fds passed over the
# socket); 0.15.06's "sock --sock-domain unix" asks for IPPROTO_TCP and gets
# EPROTONOSUPPORT. One nanosleep thread, not 8: under TCG, 8 took more CPU
# than all the other stressors together.
SNG_STRESSORS=(pipe futex poll epoll nanosleep clock wait sigsuspend sockpair sockfd)
sng_args=()
for s in "${SNG_STRESSORS[@]}"; do sng_args+=("--$s" 1); done
nice -n 10 stress-ng "${sng_args[@]}" --epoll-domain unix --nanosleep-threads 1 \
	--verify --metrics-brief --timeout "${DURATION}s" --temp-path "$WORK" \
	--log-file "$RUN/stress-ng.log" >/dev/null 2>"$RUN/stress-ng.err" &
sng=$!
say "started ${#pids[@]} workers: 4 signal writers, 3 readers, waker, task churn;" \
	"${BENCH:+fork storm (${#storms[@]} processes), timed writer; }" \
	"stress-ng $(stress-ng --version | awk '{print $3}'): ${SNG_STRESSORS[*]}"

end=$((T0 + DURATION))
next=$((T0 + 30))
while [ "$(date +%s)" -lt "$end" ]; do
	lifecycle_step || break
	if [ "$(date +%s)" -ge "$next" ]; then
		sample_tasks
		say "$CYCLES patch cycles (load, enable, disable, unload), $TASKS_MAX threads at most"
		next=$((next + 30))
	fi
done
say "last cycle, with force"
final_force_cycle || true

touch "$STOP"
say "stopping the workers"
wait_for 20 readers_gone || fail "readers still reading 20s after the end"
for p in "${pids[@]}"; do wait "$p" || fail "worker $p exited with $?"; done
for p in "${storms[@]}" $timed; do wait "$p" || fail "klp-bench $p exited with $?"; done
# stress-ng's exit status: 0 when every stressor passed (and verified), 2
# when one failed, others for what it could not run (see its manual).
# It should end with DURATION: a stressor stuck in the kernel is what this is
# for, so wait a bounded time, then show where its tasks are and kill them.
sng_rc=0
sng_done() { ! kill -0 "$sng" 2>/dev/null; }
if ! wait_for 120 sng_done; then
	fail "stress-ng still running 120s after the end"
	for p in $(pgrep stress-ng); do
		echo "--- stress-ng $p ($(awk '{print $3}' "/proc/$p/stat" 2>/dev/null)): /proc/$p/stack"
		cat "/proc/$p/stack" 2>&1 || true
	done
	pkill -9 stress-ng || true
fi
wait "$sng" || sng_rc=$?
dump_counts lifecycle

# D state: tasks that stay in it for 5 s (a moment there is no hang).
in_d_state() { ps -eo pid=,stat=,comm= | awk '$2 ~ /^D/ {print $1, $3}'; }
stuck=$(in_d_state)
for _ in 1 2 3 4 5; do
	[ -n "$stuck" ] || break
	sleep 1
	stuck=$(in_d_state | grep -xF -f <(echo "$stuck") || true)
done
if [ -n "$stuck" ]; then
	fail "tasks in D state: $(echo "$stuck" | tr '\n' ';')"
	for p in $(echo "$stuck" | awk '{print $1}'); do
		echo "--- /proc/$p/stack"
		cat "/proc/$p/stack" 2>&1 || true
	done
fi

rmmod $TARGET || fail "rmmod $TARGET failed"
dmesg >"$RUN/dmesg.log"
[ ! -e "$TRACE/events/livepatch" ] || cat "$TRACE/trace" >"$RUN/trace.log"
[ ! -r /proc/lock_stat ] || cat /proc/lock_stat >"$RUN/lock_stat.log"

# Each transition: when a walk of the stack check first found no task
# pending (from the trace: the last task was switched by then) and when the
# kernel said the transition was complete (see SWITCH_MAX and WAIT_MAX), in
# seconds after "starting ... transition"; "(reversed)" when it ended in
# the other direction.
timeline() {
	{
		sed -n "s/^\[ *\([0-9.]*\)\] livepatch: '\([^']*\)': starting \([a-z]*\) transition.*/\1 S \2 \3/p;
			s/^\[ *\([0-9.]*\)\] livepatch: '\([^']*\)': \([a-z]*\) complete.*/\1 C \2 \3/p" "$RUN/dmesg.log"
		[ ! -f "$RUN/trace.log" ] ||
			sed -n 's/.* \([0-9.]*\): klp_stack_check: patch=\([^ ]*\) target=[a-z]* pending=0$/\1 Z \2/p' "$RUN/trace.log"
	} | sort -n | awk '
		$2 == "S" { t0 = $1; name = $3 " " $4; dir = $4; z = "" }
		$2 == "Z" && t0 != "" && z == "" { z = sprintf("%.1f", $1 - t0) }
		$2 == "C" && t0 != "" {
			# (the kernel tells a reversal with a pr_debug() only)
			if ($4 != dir)
				name = name " (reversed)"
			printf "%-36s %12s %10.1f\n", name, (z == "" ? "-" : z), $1 - t0
			t0 = ""
		}'
}
echo
printf '%-36s %12s %10s\n' "transition" "none pending" "complete"
timeline | tee "$WORK/timeline"
slow=$(awk -v max=$SWITCH_MAX '$(NF - 1) != "-" && $(NF - 1) > max' "$WORK/timeline")
[ -z "$slow" ] || fail "tasks took more than ${SWITCH_MAX}s to switch: $(echo "$slow" | tr '\n' ';')"
if [ -f "$RUN/trace.log" ]; then
	unseen=$(awk '$(NF - 1) == "-"' "$WORK/timeline")
	[ -z "$unseen" ] || fail "no walk with none pending in the trace for: $(echo "$unseen" | tr '\n' ';')"
fi
[ -s "$WORK/timeline" ] || fail "no transition in the timeline (dmesg.log)"

# The bounds: from the kprobe events and klp_stack_check in the trace, one
# line a call: "signal HOLD_MS RET" for klp_signal_transition() (RET 0: it
# signaled, -16: EBUSY, the admin's limit); "walk WALK_MS
# HOLD_MS PENDING" for klp_try_complete_transition() (WALK_MS to its
# klp_stack_check event, HOLD_MS to its return, PENDING the tasks it left).
holds() {
	awk '{
		for (k = 1; k <= NF; k++)
			if ($k ~ /^[0-9]+\.[0-9]+:$/)
				break
		if (k > NF)
			next
		t = substr($k, 1, length($k) - 1) * 1000
		ev = $(k + 1)
		sub(/:$/, "", ev)
		for (c = 2; c < k; c++)
			if ($c ~ /^\[[0-9]+\]$/)
				break
		pid = $(c - 1)
		sub(/.*-/, "", pid)
	}
	ev == "signal_in" { si[pid] = t }
	ev == "signal_out" && (pid in si) {
		r = $NF
		sub(/ret=/, "", r)
		printf "signal %.3f %d\n", t - si[pid], r
		delete si[pid]
	}
	ev == "walk_in" { wi[pid] = t; delete ws[pid] }
	ev == "klp_stack_check" && (pid in wi) {
		ws[pid] = t
		p = $NF
		sub(/pending=/, "", p)
		pend[pid] = p
	}
	ev == "walk_out" && (pid in wi) && (pid in ws) {
		printf "walk %.3f %.3f %d\n", ws[pid] - wi[pid], t - wi[pid], pend[pid]
		delete wi[pid]
	}' "$RUN/trace.log"
}
# stats: "N, median M, worst W" of the numbers on stdin
stats() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (!NR) { print "none"; exit }
		printf "%d, median %s, worst %s\n", NR, v[int((NR + 1) / 2)], v[NR] }'
}
if [ -n "$BENCH" ]; then
	holds >"$WORK/holds"
	echo
	echo "Bounds (BOUND_MS=$BOUND_MS; $TASKS_MAX threads at most):"
	echo "  write's signal walk, klp_mutex held (ms): $(awk '$1 == "signal" && $3 == 0 { print $2 }' "$WORK/holds" | stats)"
	echo "  write refused with EBUSY, klp_mutex held (ms): $(awk '$1 == "signal" && $3 != 0 { print $2 }' "$WORK/holds" | stats)"
	echo "  transition walk, to klp_stack_check (ms): $(awk '$1 == "walk" { print $2 }' "$WORK/holds" | stats)"
	echo "  klp_mutex held by a walk leaving tasks pending (ms): $(awk '$1 == "walk" && $4 > 0 { print $3 }' "$WORK/holds" | stats)"
	echo "  klp_mutex held by a walk completing the transition (ms, the base's completion, not bounded): $(awk '$1 == "walk" && $4 == 0 { print $3 }' "$WORK/holds" | stats)"
	for o in $(awk '{ print $2 }' "$WORK/writes" | sort -u); do
		echo "  timed write, $o (open+write+close, ms, klp_mutex waited for): $(awk -v o="$o" '$2 == o { print $3 / 1000 }' "$WORK/writes" | stats)"
	done
	cat "$WORK"/storm.* | sed 's/^/  fork storm: /'
	if [ -f "$RUN/lock_stat.log" ]; then
		echo "  lock_stat (us): class, contentions, waittime-max, acquisitions, holdtime-max:"
		awk '$1 ~ /^(klp_mutex|tasklist_lock)(-[RW])?:$/ { printf "    %-16s %10s %14s %12s %14s\n", $1, $3, $5, $9, $11 }' "$RUN/lock_stat.log"
	fi
	over=$(awk -v b="$BOUND_MS" '($1 == "signal" && $2 > b) || ($1 == "walk" && ($2 > b || ($4 > 0 && $3 > b)))' "$WORK/holds")
	[ -z "$over" ] || fail "$(echo "$over" | wc -l) holds of klp_mutex or walks over ${BOUND_MS} ms: $(echo "$over" | sort -k2 -gr | head -n 5 | tr '\n' ';')"
	[ -n "$(awk '$1 == "signal" && $3 == 0' "$WORK/holds")" ] || fail "no signal walk in the trace (kprobe events)"
	[ -s "$WORK/writes" ] || fail "the timed writer wrote nothing"
	grep -q '^storm processes [1-9]' "$WORK"/storm.* || fail "the fork storm made no process"
fi

echo
printf '%-34s %-14s %9s\n' operation outcome count
cat "$WORK"/counts.* | awk '{n[$1 " " $2] += $3} END {for (k in n) print k, n[k]}' |
	sort | while read -r op outcome n; do printf '%-34s %-14s %9d\n' "$op" "$outcome" "$n"; done
echo

# stress-ng's own summary: its failures ("fail:", verification errors are
# among them), errors, and how the run ended, then its metrics.
echo "stress-ng (exit status $sng_rc), from $RUN/stress-ng.log:"
grep -E 'dispatching|fail:|error:|run completed|metrc:' "$RUN/stress-ng.log" 2>/dev/null |
	sed 's/^stress-ng: //' || true
# (Its stderr has the same lines: shown only when there is no log.)
[ -s "$RUN/stress-ng.log" ] || { echo "no log; its stderr:"; cat "$RUN/stress-ng.err"; }
echo
sng_fails=$(grep -cE 'fail:|error:' "$RUN/stress-ng.log" 2>/dev/null || true)
[ "$sng_rc" = 0 ] || fail "stress-ng exited with status $sng_rc"
[ "$sng_fails" = 0 ] || fail "stress-ng logged $sng_fails failures or errors"
grep -q '\] successful run completed' "$RUN/stress-ng.log" 2>/dev/null ||
	fail "stress-ng did not say 'successful run completed'"

# Readers must only ever read what the original or the new function returns,
# or nothing, from the restart_block function.
bad=$(cat "$WORK"/counts.reader* | awk '$2 != "original" && $2 != "livepatched" && $2 != "eof"')
[ -z "$bad" ] || fail "readers saw errors or bad data: $(echo "$bad" | tr '\n' ';')"
[ "$CYCLES" -gt 0 ] || fail "not one patch cycle in ${DURATION}s"
say "$CYCLES patch cycles; ${#FAILED[@]} failed checks"
[ ${#FAILED[@]} = 0 ]
