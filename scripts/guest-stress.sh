#!/bin/bash
# usage: scripts/guest-stress.sh KSELFTEST_DIR SECONDS
# In the guest (a debug kernel, see scripts/stress.sh): for SECONDS, all at
# once, with the test modules of test-signal.sh:
#   - writers of the livepatch's "signal" file (valid and invalid values), some
#     opening it for each write, some keeping it open across the patch's removal;
#   - the livepatch enabled, disabled (sometimes mid-transition, which reverses
#     it), unloaded and reloaded in a loop, "force" written now and then;
#   - readers of /proc/test_klp_signal_mod and the target's kthread, asleep in
#     the patched functions, released and kicked again and again;
#   - threads and processes created and exiting.
# Then a last cycle with a real "force", and the checks: every transition ended,
# the patch's state was what was last asked, readers read what they should,
# no task is left in D state. Prints the counts of each operation and outcome;
# exits non-zero on a failed check. Kernel reports are for the host to find in
# the console.
set -euo pipefail
RUN=$PWD	# the run directory, where dmesg.log goes
cd "$1/livepatch/test_modules"
DURATION=$2

LP=test_klp_signal
TARGET=test_klp_signal_mod
SYS=/sys/kernel/livepatch/$LP
PROC=/proc/$TARGET
KICK=/sys/module/$TARGET/parameters/kick
WAIT_MAX=60	# seconds a transition or a removal may take (the kernel's own
		# fake signal comes every 15 s)
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

# Writers that open the file for each write.
writer_fresh() {
	ERR=$WORK/err.$1
	lower_priority
	while running; do
		pick_value
		put "signal=$CLASS(open-each)" "$SYS/signal" "$VALUE"
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
			if { exec 3>"$SYS/signal"; } 2>"$ERR"; then
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
# the waker writes to the file, then returns what served it.
reader() {
	ERR=$WORK/err.$1
	local line
	while running; do
		if { read -r line <"$PROC"; } 2>"$ERR"; then
			count read "$line"
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
		if insmod $LP.ko 2>"$ERR"; then
			count insmod ok
			WANT=enabled
		else
			errno_of_err
			count insmod "$ERRNO"
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
		;;
	esac
}

rmmod_lp() {
	if rmmod $LP 2>"$ERR"; then
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
	if ! insmod $LP.ko; then
		fail "insmod $LP failed"
		return 1
	fi
	count insmod ok
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
say "started ${#pids[@]} workers: 4 signal writers, 3 readers, waker, task churn"

end=$((T0 + DURATION))
next=$((T0 + 30))
while [ "$(date +%s)" -lt "$end" ]; do
	lifecycle_step || break
	if [ "$(date +%s)" -ge "$next" ]; then
		say "$CYCLES patch cycles (load, enable, disable, unload)"
		next=$((next + 30))
	fi
done
say "last cycle, with force"
final_force_cycle || true

touch "$STOP"
say "stopping the workers"
wait_for 20 readers_gone || fail "readers still reading 20s after the end"
for p in "${pids[@]}"; do wait "$p" || fail "worker $p exited with $?"; done
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

echo
printf '%-34s %-14s %9s\n' operation outcome count
cat "$WORK"/counts.* | awk '{n[$1 " " $2] += $3} END {for (k in n) print k, n[k]}' |
	sort | while read -r op outcome n; do printf '%-34s %-14s %9d\n' "$op" "$outcome" "$n"; done
echo

# Readers must only ever read what the original or the new function returns.
bad=$(cat "$WORK"/counts.reader* | awk '$2 != "original" && $2 != "livepatched"')
[ -z "$bad" ] || fail "readers saw errors or bad data: $(echo "$bad" | tr '\n' ';')"
[ "$CYCLES" -gt 0 ] || fail "not one patch cycle in ${DURATION}s"
say "$CYCLES patch cycles; ${#FAILED[@]} failed checks"
[ ${#FAILED[@]} = 0 ]
