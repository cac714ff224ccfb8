#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Blocking syscalls and the fake signal: what a program sees.
#
# The livepatch test_klp_restart replaces the functions that read() (on a
# pipe and on a UNIX stream socket, with and without SO_RCVTIMEO),
# accept4() (with and without SO_RCVTIMEO), futex(FUTEX_WAIT),
# nanosleep(), poll(), epoll_wait(), wait4() and pause() sleep in; its new
# functions call the same helpers as the originals. A program makes each
# call while the patch is enabled, so it sleeps in the new code and blocks
# the unpatching transition. The admin writes 1 to "signal": every call is
# interrupted, the tasks are switched on their way to user space, and the
# transition completes. Then the calls are completed for real (data
# written, connection made, futex woken, timer expiring, child exiting,
# signal sent) and each program checks that it got the result it would
# have had without the fake signal.
#
# The test prints what each call did with the fake signal: restarted
# transparently by the kernel, or EINTR to user space (the program then
# calls again, as it must for any signal). It fails when a call does not
# do what the table below says, or when a result is wrong. The calls
# that restart through restart_syscall() (nanosleep(), a futex wait with a
# timeout, poll()) must be found sleeping in that syscall.
#
# While the livepatch is enabled, every task of the system that reads,
# polls or waits goes through it, and the test signals them all: daemons
# see what the matrix says (epoll_wait() and reads on sockets with a
# timeout return EINTR). A call whose syscall the architecture does not
# have is skipped, with a line in the matrix that says so. The whole test
# is skipped on a kernel without the "signal" attribute (see
# require_signal()), and where the livepatch cannot be built or loaded:
# architectures without syscall wrappers, /proc/kallsyms without
# addresses, and x86 with IBT enforced by the CPU (the livepatch calls the
# kernel's helpers through pointers, and the kernel removed the ENDBR of
# those it never calls indirectly).

. $(dirname $0)/functions.sh

MOD_LIVEPATCH=test_klp_restart
SIGNAL_WAIT=2		# seconds between the start of a transition and the signal
SIGNAL_DONE=8		# seconds the transition may take after the signal,
			# well before the automatic signal 13 s later
SLEEP=30		# seconds nanosleep() sleeps, long after the transition

# The kernel names the tasks that still block the transition once the
# quick retries after a write are over, about half a second later (see
# test-blocked.sh). A slow machine may take that long to switch the tasks
# that the signal moved: such a report says nothing about the signal, so
# leave it out of the expected log.
CHECK_RESULT_IGNORE="livepatch: '$MOD_LIVEPATCH': (the (un)?patching transition "
CHECK_RESULT_IGNORE+="waits for |(task|kthread|idle task) -?[0-9]+ \\(|"
CHECK_RESULT_IGNORE+="\\.\\.\\. and [0-9]+ more)"

# What each call does with the fake signal today, the function of the
# livepatch it sleeps in, and whether it restarts through restart_syscall()
# (with its restart_block). epoll_wait() returns EINTR on any signal, even
# with SA_RESTART (see signal(7)): ep_poll() returns -EINTR. A socket with
# a timeout (SO_RCVTIMEO) returns EINTR too: sock_intr_errno() is -EINTR
# unless the timeout is infinite, else the call would restart with the
# whole timeout again. nanosleep() goes last, so that it sleeps long after
# the signal.
#
#	call		today		sleeps in			restart_syscall()
CALL_TABLE="
	pipe-read	restarted	lp_sys_read			no
	unix-read	restarted	lp_sys_read			no
	unix-read-rcvtimeo EINTR	lp_sys_read			no
	accept4		restarted	lp_sys_accept4			no
	accept4-rcvtimeo EINTR		lp_sys_accept4			no
	futex-wait	restarted	lp_sys_futex			no
	futex-wait-timed restarted	lp_sys_futex			yes
	poll		restarted	lp_schedule_hrtimeout_range	yes
	poll-timed	restarted	lp_schedule_hrtimeout_range	yes
	epoll-wait	EINTR		lp_schedule_hrtimeout_range	no
	wait4		restarted	lp_sys_wait4			no
	pause		restarted	lp_sys_pause			no
	nanosleep	restarted	lp_sys_nanosleep		yes"
ALL_CALLS=
declare -A EXPECTED SLEEPS_IN VIA_RESTART_SYSCALL
while read -r call expected sleeps_in via_restart_syscall; do
	[[ -n "$call" ]] || continue
	ALL_CALLS+=" $call"
	EXPECTED[$call]=$expected
	SLEEPS_IN[$call]=$sleeps_in
	VIA_RESTART_SYSCALL[$call]=$via_restart_syscall
done <<< "$CALL_TABLE"

setup_config
require_signal

[[ -f test_modules/$MOD_LIVEPATCH.ko ]] ||
	skip "$MOD_LIVEPATCH is not built (no syscall wrappers on this architecture)"

# The calls this architecture has; a line in the matrix for the others
CALLS=
SKIPPED=
for call in $ALL_CALLS; do
	if reason=$(./test_klp-restart -n "$call"); then
		CALLS+=" $call"
	else
		[[ "$reason" == "$call skip "* ]] || die "$call: $reason"
		SKIPPED+=$(printf '\n  %-18s %-10s %s' "$call" skipped "${reason#* * }")
	fi
done

OUT=$(mktemp -d)
declare -A PID PEER
trap 'teardown; rm -rf "$OUT"; cleanup' EXIT INT TERM HUP

# teardown() - after a failure: stop the programs, and do not leave the
#		livepatch behind
function teardown() {
	local path="$SYSFS_KLP_DIR/$MOD_LIVEPATCH"

	kill ${PID[*]} ${PEER[*]} 2>/dev/null
	if [[ -e "$path" ]] ; then
		grep -q "^1$" "$path/enabled" && echo 0 > "$path/enabled"
		echo 1 > "$path/signal" 2> /dev/null
		loop_until '[[ ! -e "$path" ]]'
	fi
	if [[ -e /sys/module/$MOD_LIVEPATCH ]] ; then
		loop_until '[[ $(cat /sys/module/$MOD_LIVEPATCH/refcnt) == 0 ]]'
		rmmod $MOD_LIVEPATCH
	fi
}

# helper_params() - the module parameters that give test_klp_restart the
#		    addresses of the helpers it calls, from /proc/kallsyms;
#		    first check that the entry functions of the calls to
#		    make are there, with the prefix the module uses
function helper_params() {
	local param sym addr func call prefix

	prefix=$(modinfo -F syscall_prefix test_modules/$MOD_LIVEPATCH.ko) ||
		skip "modinfo cannot read test_modules/$MOD_LIVEPATCH.ko"
	for call in $CALLS; do
		func=${SLEEPS_IN[$call]}
		[[ "$func" == lp_sys_* ]] || continue
		func=${prefix}sys_${func#lp_sys_}
		grep -q " $func\$" /proc/kallsyms ||
			skip "$func() is not in /proc/kallsyms"
	done

	for param in ksys_read sys_accept4=__sys_accept4 do_futex \
		     hrtimer_nanosleep do_no_restart_syscall kernel_wait4 \
		     do_timens_ktime_to_host; do
		sym=${param#*=}
		param=${param%=*}
		addr=$(awk -v sym="$sym" '$3 == sym { print $1; exit }' /proc/kallsyms)
		if [[ -z "$addr" ]]; then
			# Only there with CONFIG_TIME_NS, like the parameter.
			[[ "$sym" == do_timens_ktime_to_host ]] && continue
			skip "$sym is not in /proc/kallsyms"
		fi
		[[ "$addr" =~ ^0+$ ]] && skip "/proc/kallsyms hides the addresses"
		echo -n " $param=0x$addr"
	done
}

# load_restart_lp() - load the livepatch, with the addresses of the helpers
#		     (not logged: they would tell where the kernel is)
function load_restart_lp() {
	local params ret why

	params=$(helper_params) || exit $ksft_skip
	log "% insmod test_modules/$MOD_LIVEPATCH.ko <helper addresses>"
	ret=$(insmod test_modules/$MOD_LIVEPATCH.ko $params 2>&1)
	if [[ "$ret" == *"Operation not supported"* ]] ; then
		why="x86 IBT is enforced: $MOD_LIVEPATCH would call kernel"
		skip "$why functions without ENDBR through pointers (see dmesg)"
	fi
	[[ -z "$ret" ]] || die "$ret"
	loop_until '[[ -e "$SYSFS_KLP_DIR/$MOD_LIVEPATCH" ]]' ||
		die "failed to load module $MOD_LIVEPATCH (sysfs)"
}

# start_call(call) - start a program making the call; wait until it sleeps
#		     in the livepatch's new function
function start_call() {
	local call="$1"

	./test_klp-restart "$call" $SLEEP > "$OUT/$call" 2>&1 &
	PID[$call]=$!
	loop_until 'grep -q "^ready " "$OUT/$call"' ||
		die "$call: the program did not start: $(cat "$OUT/$call")"
	PEER[$call]=$(awk '/^ready / { print $2 }' "$OUT/$call")
	NR_RESTART_SYSCALL=$(awk '/^ready / { print $3 }' "$OUT/$call")
	wait_sleeping_in "${PID[$call]}" "${SLEEPS_IN[$call]}"
}

# check_left_livepatch(call) - the program is asleep again, in its call,
#			       with no function of the livepatch on its
#			       stack; in restart_syscall(), for some calls
function check_left_livepatch() {
	local call="$1"
	local pid=${PID[$call]}
	local nr

	loop_until 'grep -q "^State:.*sleeping" /proc/$pid/status &&
		    ! grep -q "\[$MOD_LIVEPATCH\]" /proc/$pid/stack' ||
		die "$call: task $pid is not asleep outside of $MOD_LIVEPATCH"
	if [[ "${VIA_RESTART_SYSCALL[$call]}" == yes ]] ; then
		loop_until 'nr=$(cut -d " " -f 1 /proc/$pid/syscall);
			    [[ "$nr" == "$NR_RESTART_SYSCALL" ]]' ||
			die "$call: task $pid is in syscall $nr, not restart_syscall()"
	fi
}

# finish_call(call) - let the peer complete the call, check the program's
#		      verdict, and add its line to the matrix
function finish_call() {
	local call="$1"

	local ret=0 line outcome

	kill -USR2 "${PEER[$call]}"
	wait "${PID[$call]}" || ret=$?
	unset "PID[$call]" "PEER[$call]"
	line=$(tail -n 1 "$OUT/$call")
	outcome=$(echo "$line" | awk '{ print $2 }')
	MATRIX+=$(printf '\n  %-18s %-10s %s' "$call" "$outcome" "${line#* * }")
	[[ $ret -eq 0 ]] || die "$call: wrong result: $line"
	# Either way, the table above and the documentation would be wrong.
	[[ "$outcome" == "${EXPECTED[$call]}" ]] ||
		die "$call: $outcome, expected ${EXPECTED[$call]}: $line"
}


# TEST: blocking syscalls restart after the fake signal
# - enable the livepatch: from now on the calls go through its functions
#   (tasks already asleep in the original functions may block the patching
#   transition: signal them too)
# - start a program per call: each sleeps in a function of the livepatch
# - disable the livepatch: the transition stalls, the programs are still
#   patched (patch_state 1)
# - 2 seconds later, write 1 to "signal": the transition completes within
#   8 seconds, and each program sleeps again in its call, in the original
#   code (nanosleep() in restart_syscall()...)
# - complete the calls: each program got what it would have had without
#   the fake signal; a call that returned EINTR is one the program had to
#   make again

load_restart_lp
sleep 1
if grep -q "^1$" "$SYSFS_KLP_DIR/$MOD_LIVEPATCH/transition" ; then
	signal_lp $MOD_LIVEPATCH
fi
loop_until 'grep -q "^0$" $SYSFS_KLP_DIR/$MOD_LIVEPATCH/transition' ||
	die "failed to complete the patching transition"

start_test "blocking syscalls restart after the fake signal"

for call in $CALLS; do
	start_call "$call"
done

disable_lp_nowait $MOD_LIVEPATCH
sleep $SIGNAL_WAIT
check_sysfs_value $MOD_LIVEPATCH transition 1
for call in $CALLS; do
	check_patch_state "${PID[$call]}" 1
done

signal_lp $MOD_LIVEPATCH
wait_transition_done $MOD_LIVEPATCH $SIGNAL_DONE
# nanosleep() first: its time runs.
[[ " $CALLS " == *" nanosleep "* ]] && check_left_livepatch nanosleep
for call in ${CALLS/nanosleep/}; do
	check_left_livepatch "$call"
done

MATRIX=$(printf '  %-18s %-10s %s' call outcome "what the program saw")
for call in $CALLS; do
	finish_call "$call"
done
unload_lp $MOD_LIVEPATCH

check_result "% echo 0 > $SYSFS_KLP_DIR/$MOD_LIVEPATCH/enabled
livepatch: '$MOD_LIVEPATCH': initializing unpatching transition
livepatch: '$MOD_LIVEPATCH': starting unpatching transition
% echo 1 > $SYSFS_KLP_DIR/$MOD_LIVEPATCH/signal
livepatch: '$MOD_LIVEPATCH': signaling remaining tasks on admin request
livepatch: '$MOD_LIVEPATCH': completing unpatching transition
livepatch: '$MOD_LIVEPATCH': unpatching complete
% rmmod $MOD_LIVEPATCH"
echo "  the unpatching transition completed ${TRANSITION_MS} ms after the signal"
echo "$MATRIX$SKIPPED"

exit 0
