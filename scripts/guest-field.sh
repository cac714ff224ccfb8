#!/bin/bash
# usage (in the guest, from scripts/field.sh): guest-field.sh KERNEL DIR RESULTS [LIVEPATCH...]
# The field test's guest part: for each livepatch built by klp-build
# (DIR/ko/livepatch-<name>.ko, with DIR/ko/<name>.funcs, the functions it changes, and
# DIR/ko/<name>.calls, the calls of test_klp-restart and the stress-ng
# stressor that sleep in them), start real programs that sleep in those
# functions, then let Debian's kpatch (DIR/kpatch/usr/sbin/kpatch,
# unmodified) load the livepatch and unload it again, while stress-ng
# runs the matching stressor with --verify. Then wake each program and
# check what it saw.
# KERNEL: "series" (the kernel has the signal attribute) or "pristine"
# (the base). On both, each livepatch is loaded and unloaded by kpatch
# alone ("kpatch"): kpatch polls "transition" 15 times, a second apart,
# then writes 1 to "signal" where the file exists, and waits 60 polls
# more. On the series' kernel it is loaded and unloaded once more with
# the admin running "kpatch signal" 1 s after the transition started
# ("admin"). A livepatch whose program the signal cannot move ("stuck")
# is loaded once: kpatch must give up and reverse it, and the series'
# kernel must name the task.
# Writes one line per kpatch command to RESULTS (tab-separated: kernel,
# livepatch, load|unload, kpatch|admin, kpatch's exit status, its wall time
# in ms, what kpatch said, whether kpatch reached its own signal step, the
# kernel's start -> end of the transition in ms, the first signal (a write
# to "signal", the kernel's automatic one, none) and when, in ms after the
# start, the number of failures in the round, the programs' verdicts) and
# the details to the output log. Exit status: 0 when every round went as
# expected (every program and stress-ng run saw no error).
set -u
kernel=$1
dir=$2
results=$3
shift 3
# the livepatches to test (default: all, DIR/ko/list)
only=$*
kpatch=$dir/kpatch/usr/sbin/kpatch
restart=$dir/bin/test_klp-restart
py=/usr/bin/python3
sys=/sys/kernel/livepatch
work=/tmp/field
# how long the sleep programs sleep: beyond the automatic signal (15 s
# after the transition started) by a margin for TCG
SLEEP=75
mkdir -p "$work"
fails=0
: >"$results"

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

now_ms() {
	echo $(($(date +%s%N) / 1000000))
}

# A kernel log line's time stamp in ms: "[  12.345678] ..." -> 12345
ts_ms() {
	sed -n 's/^\[ *\([0-9]*\)\.\([0-9][0-9][0-9]\).*/\1\2/p' | sed 's/^0*\([0-9]\)/\1/'
}

# sleeping_in PID FUNC... - a task of PID or of its children sleeps with
# one of FUNCs on its stack
sleeping_in() {
	local pid=$1 t f
	shift
	for t in /proc/"$pid"/task/* $(pgrep -P "$pid" | sed 's|.*|/proc/&/task/*|'); do
		# S, or D (the vfork parent: killable)
		grep -q '^State:[[:space:]]*[SD]' "$t/status" 2>/dev/null || continue
		for f in "$@"; do
			grep -q "\] $f+" "$t/stack" 2>/dev/null && return 0
			# /proc/PID/stack leaves out the scheduler's functions
			# (__sched), do_nanosleep() among them: its callers
			# tell (the livepatch's stack check sees it)
			[ "$f" = do_nanosleep ] &&
				grep -q "\] hrtimer_nanosleep\(_restart\)\?+" "$t/stack" 2>/dev/null && return 0
		done
	done
	return 1
}

# wait_in PID WHAT FUNC... - wait up to 30 s until PID sleeps in one of FUNCs
wait_in() {
	local pid=$1 what=$2 i
	shift 2
	for ((i = 0; i < 300; i++)); do
		sleeping_in "$pid" "$@" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	fail "$what (pid $pid) does not sleep in $* (stacks: $(cat /proc/"$pid"/task/*/stack 2>/dev/null | tr '\n' ' '))"
	return 1
}

# The plain programs: each is started by start_plain NAME, sleeps in the
# kernel until release_plain NAME, then prints "ok ..." or "FAIL ...".
start_plain() {
	local name=$1
	local out=$work/plain-$name
	rm -f "$work/fifo-$name" "$work/sock-$name"
	case $name in
	pipe)	# a shell reading a line from a pipe
		mkfifo "$work/fifo-$name"
		exec 7<>"$work/fifo-$name"
		bash -c 'if IFS= read -r line <"$1"; then
				[ "$line" = "pipe data" ] && echo "ok: read \"$line\"" ||
					echo "FAIL: read \"$line\""
			else echo "FAIL: read failed ($?)"; fi' - "$work/fifo-$name" >"$out" 2>&1 &
		;;
	unix)	# a python3 server in recv() on a UNIX stream socket
		"$py" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1)
c, _ = s.accept()
data = b""
while not data.endswith(b"\n"):
    d = c.recv(100)
    if not d:
        break
    data += d
print("ok: received %r" % data if data == b"unix data\n" else "FAIL: received %r" % data)
' "$work/sock-$name" >"$out" 2>&1 &
		;;
	futex)	# a python3 thread waiting on a threading.Event (a futex)
		mkfifo "$work/fifo-$name"
		exec 7<>"$work/fifo-$name"
		"$py" -c '
import threading, sys
ev = threading.Event()
def waker():
    open(sys.argv[1]).readline()
    ev.set()
threading.Thread(target=waker, daemon=True).start()
print("ok: event set" if ev.wait() else "FAIL: wait returned False")
' "$work/fifo-$name" >"$out" 2>&1 &
		;;
	poll)	# a python3 program in poll() on a pipe
		mkfifo "$work/fifo-$name"
		exec 7<>"$work/fifo-$name"
		"$py" -c '
import os, select, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
p = select.poll(); p.register(fd, select.POLLIN)
ev = p.poll()
data = os.read(fd, 100)
print("ok: %r %r" % (ev, data) if ev == [(fd, select.POLLIN)] and data == b"poll data\n" else "FAIL: %r %r" % (ev, data))
' "$work/fifo-$name" >"$out" 2>&1 &
		;;
	epoll)	# a python3 asyncio server (epoll) waiting for a client
		"$py" -c '
import asyncio, sys
got = []
async def handle(r, w):
    got.append(await r.readline())
    w.write(b"thanks\n"); await w.drain(); w.close()
    done.set()
async def main():
    global done
    done = asyncio.Event()
    srv = await asyncio.start_unix_server(handle, path=sys.argv[1])
    await done.wait()
    srv.close()
asyncio.run(main())
print("ok: served %r" % got if got == [b"epoll data\n"] else "FAIL: served %r" % got)
' "$work/sock-$name" >"$out" 2>&1 &
		;;
	nanosleep)	# sleep(1), SLEEP seconds
		bash -c 'start=$(date +%s%N); sleep "$1"; rc=$?; end=$(date +%s%N)
			ms=$(((end - start) / 1000000))
			if [ $rc = 0 ] && [ $ms -ge $(($1 * 1000)) ] && [ $ms -lt $(($1 * 1000 + 5000)) ]
			then echo "ok: slept $ms ms"
			else echo "FAIL: sleep exit $rc after $ms ms"; fi' - "$SLEEP" >"$out" 2>&1 &
		;;
	wait)	# a shell in "wait" for its child
		mkfifo "$work/fifo-$name"
		exec 7<>"$work/fifo-$name"
		bash -c '(read -r x <"$1"; exit 7) & wait $!; rc=$?
			[ $rc = 7 ] && echo "ok: child exit status $rc" || echo "FAIL: child exit status $rc"' \
			- "$work/fifo-$name" >"$out" 2>&1 &
		;;
	vfork)	# a parent in vfork() whose child does not exec: not interruptible
		"$dir/bin/vfork-stall" >"$out" 2>&1 &
		;;
	esac
	PLAIN_PID=$!
	# the servers: a client, connected, that sends on release
	case $name in
	unix | epoll)
		local i
		for ((i = 0; i < 100; i++)); do
			[ -S "$work/sock-$name" ] && break
			sleep 0.1
		done
		"$py" -c '
import signal, socket, sys
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1})
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
print("connected", flush=True)
signal.sigwait({signal.SIGUSR1})
s.sendall(sys.argv[2].encode() + b"\n")
s.recv(100)
' "$work/sock-$name" "$name data" >"$work/client-$name" 2>&1 &
		CLIENT_PID=$!
		;;
	esac
}

release_plain() {
	local name=$1
	case $name in
	pipe | futex | poll) echo "$name data" >&7 ;;
	wait) echo >&7 ;;
	unix | epoll) kill -USR1 "$CLIENT_PID" ;;
	vfork) pkill -KILL -P "$PLAIN_PID" ;;
	esac
}

# wait_pid PID WHAT [SECONDS] - wait for a program to end (60 s by default),
# kill it if it does not; its exit status in WAIT_RC (137 when killed)
wait_pid() {
	local pid=$1 what=$2 secs=${3:-60} i
	for ((i = 0; i < secs * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		fail "$what (pid $pid) did not end within $secs s: killed"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid"
	WAIT_RC=$?
}

# One round: start the programs of livepatch LP, let kpatch do OP (load or
# unload), with the admin's "kpatch signal" 1 s after the transition
# started if WHO is "admin" (else "kpatch": kpatch alone), then wake the
# programs and check what they saw.
round() {
	local lp=$1 op=$2 who=$3
	local mod=livepatch_${lp//-/_} ko=$dir/ko/livepatch-$lp.ko
	local funcs calls stressor plain call i pids=() peers=() names=() extra
	local rc kp sig sigms kpsig expect start end krc said t0 t1 ts kms line sng_pid
	local verdicts="" admin_pid='' fails0=$fails blockers=0

	read -r -a funcs <"$dir/ko/$lp.funcs"
	read -r stressor plain calls expect <"$dir/ko/$lp.calls"
	echo
	echo "=== $kernel: $lp, kpatch $op, $who"

	# stress-ng's stressor, verifying its results, for the whole round
	if [ "$stressor" != - ]; then
		extra=()
		[ "$stressor" != epoll ] || extra=(--epoll-domain unix)
		# at the lowest priority, so that it takes the CPU time the
		# rest leaves: under TCG a stressor at the same priority slows
		# the round down so that the calls' 60 s timeouts expire
		nice -n 19 stress-ng --"$stressor" 1 "${extra[@]}" --verify --timeout 600 --metrics-brief \
			--temp-path "$work" >"$work/stress-$lp-$op-$who" 2>&1 &
		sng_pid=$!
	fi
	# the matrix programs: each makes one call, a peer completes it on SIGUSR2
	for call in ${calls//,/ }; do
		[ "$call" != - ] || continue
		"$restart" "$call" "$SLEEP" >"$work/call-$call" 2>&1 &
		pids+=($!)
		names+=("$call")
		for ((i = 0; i < 300; i++)); do
			grep -q '^ready ' "$work/call-$call" && break
			sleep 0.1
		done
		peers+=("$(awk '/^ready / { print $2 }' "$work/call-$call")")
		[ -n "${peers[-1]}" ] || fail "$call: not ready: $(cat "$work/call-$call")"
		wait_in "$!" "$call" "${funcs[@]}"
	done
	if [ "$plain" != - ]; then
		start_plain "$plain"
		wait_in "$PLAIN_PID" "plain $plain" "${funcs[@]}"
	fi

	dmesg -c >/dev/null
	if [ "$kernel" = series ]; then
		echo 0 >/sys/kernel/tracing/tracing_on
		echo >/sys/kernel/tracing/trace
		echo 1 >/sys/kernel/tracing/events/livepatch/klp_task_blocked/enable
		echo 1 >/sys/kernel/tracing/tracing_on
	fi
	start=$(now_ms)
	if [ "$op" = load ]; then
		"$kpatch" load "$ko" >"$work/kpatch" 2>&1 &
	else
		"$kpatch" unload "$mod" >"$work/kpatch" 2>&1 &
	fi
	kp=$!
	if [ "$who" = admin ]; then
		# The admin sees the transition start (kpatch has loaded the
		# module, or disabled it) and, 1 s later, runs "kpatch signal",
		# which writes 1 to the patch's "signal" file.
		(for ((i = 0; i < 600; i++)); do
			[ "$(cat "$sys/$mod/transition" 2>/dev/null)" = 1 ] && break
			kill -0 "$kp" 2>/dev/null || exit 3
			sleep 0.1
		 done
		 sleep 1
		 echo "  admin: kpatch signal, $(($(now_ms) - start)) ms after kpatch started"
		 "$kpatch" signal 2>&1 | sed 's/^/  admin: /'
		 exit "${PIPESTATUS[0]}") &
		admin_pid=$!
	fi
	wait_pid "$kp" "kpatch $op" 200
	krc=$WAIT_RC
	end=$(now_ms)
	[ ${#pids[@]} = 0 ] && [ "$plain" = - ] || blockers=1
	if [ -n "$admin_pid" ]; then
		# (3: the transition ended before the admin saw it: fine when
		# no program of ours blocked it)
		wait "$admin_pid"
		rc=$?
		[ "$rc" = 0 ] || { [ "$rc" = 3 ] && [ "$blockers" = 0 ]; } ||
			fail "admin: kpatch signal failed, or the transition had ended already ($rc)"
	fi
	sed 's/^/  kpatch: /' "$work/kpatch"
	# What kpatch said of the transition: the first word it had on it (a
	# stalled one is then reversed, which kpatch reports as well); and
	# whether it reached its own signal step (after 15 polls, a second
	# apart).
	said=$(grep -o 'transition complete ([0-9]* seconds)\|did not complete its transition\|transition stalled' \
		"$work/kpatch" | head -n 1)
	[ -n "$said" ] || [ "$krc" != 0 ] || said="complete at kpatch's first look"
	kpsig=no
	grep -q '^signaling stalled process' "$work/kpatch" && kpsig=wrote
	grep -q 'signaling is performed automatically' "$work/kpatch" && kpsig=automatic
	dmesg >"$work/dmesg"
	sed 's/^/  dmesg: /' "$work/dmesg" | grep -v 'klp-check\|audit\|taint'
	t0=$(grep -m1 "'$mod': starting .*patching transition" "$work/dmesg" | ts_ms)
	t1=$(grep "'$mod': .*patching complete" "$work/dmesg" | tail -n 1 | ts_ms)
	kms=-
	[ -n "$t0" ] && [ -n "$t1" ] && kms=$((t1 - t0))
	# Who signalled first, and when (ms after the transition started): a
	# write to "signal" (kpatch's or the admin's), or the kernel's
	# automatic signal.
	sig=none sigms=-
	line=$(grep -m1 "'$mod': signaling remaining tasks on admin request\|livepatch: signaling remaining tasks$" \
		"$work/dmesg")
	if [ -n "$line" ] && [ -n "$t0" ]; then
		sig=automatic
		[[ "$line" != *"admin request"* ]] || sig="write"
		ts=$(echo "$line" | ts_ms)
		sigms=$((ts - t0))
	fi
	echo "  transition: $kms ms; first signal: $sig at $sigms ms; kpatch's own signal step: $kpsig"

	if [ "$expect" = stuck ]; then
		# The signal cannot move the blocker: kpatch gives up after its
		# 15 + 60 polls and reverses; the kernel (series) names the task.
		[ "$krc" != 0 ] && [ "$said" = "did not complete its transition" ] ||
			fail "kpatch $op $lp: exit $krc, said '$said', expected a stalled transition"
		[ ! -e "$sys/$mod" ] && [ ! -e "/sys/module/$mod" ] ||
			fail "$lp: still there after kpatch gave up"
		kill -0 "$PLAIN_PID" 2>/dev/null || fail "plain $plain: ended before it was released"
		if [ "$kernel" = series ]; then
			line=$(grep -c "'$mod': task $PLAIN_PID ([^)]*), state D: sleeping in " "$work/dmesg")
			echo "  the kernel's report names task $PLAIN_PID $line times"
			if [ "$line" -gt 0 ]; then verdicts+=" report=named"
			else verdicts+=" report=FAIL"; fail "$lp: no report names task $PLAIN_PID"; fi
			echo 0 >/sys/kernel/tracing/events/livepatch/klp_task_blocked/enable
			line=$(grep -c "klp_task_blocked: pid=$PLAIN_PID " /sys/kernel/tracing/trace)
			grep -m2 "klp_task_blocked: pid=$PLAIN_PID " /sys/kernel/tracing/trace | sed 's/^/  trace: /'
			echo "  klp_task_blocked events for task $PLAIN_PID: $line"
			if [ "$line" -gt 0 ]; then verdicts+=" trace=named"
			else verdicts+=" trace=FAIL"; fail "$lp: no klp_task_blocked event for task $PLAIN_PID"; fi
		fi
	else
		[ "$krc" = 0 ] || fail "kpatch $op $lp: exit $krc"
		if [ "$op" = load ]; then
			[ "$(cat "$sys/$mod/enabled" 2>/dev/null)" = 1 ] &&
				[ "$(cat "$sys/$mod/transition" 2>/dev/null)" = 0 ] ||
				fail "$lp: not enabled after kpatch load"
		else
			[ ! -e "$sys/$mod" ] && [ ! -e "/sys/module/$mod" ] ||
				fail "$lp: still there after kpatch unload"
		fi
		# The programs must still be in their calls: the transition
		# moved them out of the old code and back in, it did not wait
		# for them to be done.
		for i in "${!pids[@]}"; do
			kill -0 "${pids[$i]}" 2>/dev/null ||
				fail "${names[$i]}: left its call before the transition ended"
		done
		[ "$plain" = - ] || kill -0 "$PLAIN_PID" 2>/dev/null ||
			fail "plain $plain: left its call before the transition ended"
		# The admin's signal, not the kernel's, must have done it.
		if [ "$who" = admin ] && [ "$blockers" = 1 ]; then
			[ "$sig" = write ] && [ "$kms" != - ] && [ "$kms" -lt 15000 ] ||
				fail "$lp: the admin's signal did not complete the transition (first signal: $sig, $kms ms)"
		fi
	fi

	# wake the programs, collect what they saw
	for i in "${!pids[@]}"; do
		kill -USR2 "${peers[$i]}" 2>/dev/null
		wait_pid "${pids[$i]}" "${names[$i]}" "$SLEEP"
		line=$(grep -v '^ready ' "$work/call-${names[$i]}" | tail -n 1)
		echo "  program: $line (exit $WAIT_RC)"
		[ "$WAIT_RC" = 0 ] || fail "${names[$i]}: $line (exit $WAIT_RC)"
		verdicts+=" ${names[$i]}=$(echo "$line" | awk '{ print $2 }')"
	done
	if [ "$plain" != - ]; then
		release_plain "$plain"
		wait_pid "$PLAIN_PID" "plain $plain" "$SLEEP"
		line=$(tail -n 1 "$work/plain-$plain")
		echo "  plain $plain: $line (exit $WAIT_RC)"
		case $line in
		ok:*) verdicts+=" plain-$plain=ok" ;;
		*) verdicts+=" plain-$plain=FAIL"; fail "plain $plain: $line (exit $WAIT_RC)" ;;
		esac
		[ -z "${CLIENT_PID:-}" ] || wait_pid "$CLIENT_PID" "client $plain"
		CLIENT_PID=
		exec 7>&-
	fi
	if [ "$stressor" != - ]; then
		kill -INT "$sng_pid"
		wait_pid "$sng_pid" "stress-ng --$stressor"
		sed 's/^/  /' "$work/stress-$lp-$op-$who" | grep -v '^  stress-ng: metrc'
		if [ "$WAIT_RC" = 0 ] && grep -q 'successful run completed' "$work/stress-$lp-$op-$who" &&
			! grep -qi 'fail' "$work/stress-$lp-$op-$who"; then
			verdicts+=" stress-ng-$stressor=ok"
		else
			verdicts+=" stress-ng-$stressor=FAIL"
			fail "stress-ng --$stressor: exit $WAIT_RC"
		fi
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$kernel" "$lp" "$op" "$who" \
		"$krc" "$((end - start))" "${said:-?}" "$kpsig" "$kms" "$sig" "$sigms" \
		"$((fails - fails0))" "${verdicts# }" >>"$results"
}

echo "field: $kernel kernel $(uname -r), kpatch $("$kpatch" version 2>/dev/null), stress-ng $(stress-ng --version | awk '{ print $3 }')"
mount | grep -q ' /sys/kernel/tracing ' || mount -t tracefs tracefs /sys/kernel/tracing
for lp in ${only:-$(cat "$dir/ko/list")}; do
	read -r _ _ _ expect <"$dir/ko/$lp.calls"
	round "$lp" load kpatch
	[ "$expect" != stuck ] || continue
	round "$lp" unload kpatch
	[ "$kernel" = series ] || continue
	round "$lp" load admin
	round "$lp" unload admin
done
echo
echo "field: $kernel: $fails failures"
[ "$fails" = 0 ]
