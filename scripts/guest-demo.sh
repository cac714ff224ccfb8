#!/bin/bash
# usage: scripts/guest-demo.sh KSELFTEST_DIR
# In the guest: a livepatch transition blocked by sleeping tasks, and what the
# admin can do about it, told with the test modules of test-signal.sh; then a
# task the signal cannot move, with those of test-blocked.sh.
set -euo pipefail
cd "$1/livepatch/test_modules"

LP=test_klp_signal
TARGET=test_klp_signal_mod
SYS=/sys/kernel/livepatch/$LP
T0=$(date +%s%N)

say() { printf '[%7.3f] %s\n' "$(($(date +%s%N) - T0))e-9" "$*"; }
# wait_done: wait for the transition to end, set T_DONE (ns)
wait_done() {
	while [ -e "$SYS/transition" ] && [ "$(cat "$SYS/transition" 2>/dev/null)" = 1 ]; do
		sleep 0.05
	done
	T_DONE=$(date +%s%N)
}
# since T: seconds from T (ns) to T_DONE
since() { printf '%.2f' "$((T_DONE - $1))e-9"; }
sleeping_in() { grep -m1 -o "$2+" "/proc/$1/stack" | tr -d +; }

echo "Linux $(uname -r), $(nproc) CPUs"
say "# insmod $TARGET.ko   (a target module; its kthread goes to sleep in it)"
insmod $TARGET.ko
KT=$(cat /sys/module/$TARGET/parameters/kthread_pid)
cat /proc/$TARGET >/tmp/read.out &
READER=$!
sleep 1
say "kthread $KT sleeps in $(sleeping_in "$KT" test_klp_signal_kthread_sleep)()"
say "user task $READER (cat /proc/$TARGET) sleeps in $(sleeping_in "$READER" test_klp_signal_read)()"

echo
say "# insmod $LP.ko   (a livepatch replacing both functions)"
t_enable=$(date +%s%N)
insmod $LP.ko
sleep 3
say "transition=$(cat $SYS/transition): blocked; patch_state of the reader: $(cat /proc/$READER/patch_state), of the kthread: $(cat /proc/$KT/patch_state)"
if [ -e "$SYS/signal" ]; then
	say "# echo 1 > $SYS/signal"
	t_signal=$(date +%s%N)
	echo 1 >"$SYS/signal"
	wait_done
	say "transition=0: patched $(since "$t_signal") s after the signal ($(since "$t_enable") s after enabling)"
else
	say "this kernel has no $SYS/signal: waiting for the kernel's automatic fake signal"
	wait_done
	say "transition=0: patched $(since "$t_enable") s after enabling"
fi
sleep 0.5
say "the reader restarted its read() in $(sleeping_in "$READER" 'livepatch_test_klp_signal_read')(), no EINTR"
echo 1 >/proc/$TARGET
wait "$READER"
say "the reader's read() returned: $(cat /tmp/read.out)"

echo
cat /proc/$TARGET >/tmp/read.out &
READER=$!
sleep 1
say "# echo 0 > $SYS/enabled   (disable; this time nobody writes to signal)"
t_disable=$(date +%s%N)
echo 0 >"$SYS/enabled"
sleep 1
say "transition=$(cat $SYS/transition): blocked by the reader and the kthread again; waiting..."
wait_done
say "transition=0: unpatched $(since "$t_disable") s after disabling, by the automatic signal"
echo 1 >/proc/$TARGET
wait "$READER"
say "the reader's read() returned: $(cat /tmp/read.out)"
while [ -e "$SYS" ]; do sleep 0.1; done
rmmod $LP
rmmod $TARGET

echo
echo "The kernel's side of it:"
dmesg | grep -E "livepatch: |$TARGET: |$LP: " | grep -v taint

# Third act: a task the signal cannot move, and the kernel's report of it.
LP=test_klp_blocked
TARGET=test_klp_blocked_mod
SYS=/sys/kernel/livepatch/$LP
[ -f $LP.ko ] || exit 0
echo
say "# insmod $TARGET.ko   (another target)"
insmod $TARGET.ko
cat /proc/$TARGET >/tmp/read.out &
READER=$!
sleep 1
say "user task $READER (cat /proc/$TARGET) sleeps in $(sleeping_in "$READER" test_klp_blocked_read)(), state $(awk '{ print $3 }' /proc/$READER/stat): uninterruptible"
say "# insmod $LP.ko"
insmod $LP.ko
sleep 2
say "transition=$(cat $SYS/transition): blocked"
TRACING=/sys/kernel/tracing
[ -d $TRACING/events ] || mount -t tracefs nodev $TRACING
echo 1 >$TRACING/events/livepatch/klp_signal/enable
mark="klp-demo: act 3 $(date +%s%N)"
echo "$mark" >/dev/kmsg
say "# echo 1 > $SYS/signal"
echo 1 >"$SYS/signal"
while [ -z "$(dmesg | sed "1,/$mark/d" | grep "transition waits for")" ]; do sleep 0.05; done
say "transition=$(cat $SYS/transition): the signal did not help; the kernel says why:"
dmesg | sed "1,/$mark/d" | grep -A10 "transition waits for" | grep "'$LP'" | sed 's/^/    /'
say "the klp_signal trace event: $(grep -o 'klp_signal: .*' $TRACING/trace | tail -n 1)"
echo 0 >$TRACING/events/livepatch/klp_signal/enable
say "# echo 1 > /proc/$TARGET   (what the task waits for happens)"
t_release=$(date +%s%N)
echo 1 >/proc/$TARGET
wait "$READER"
wait_done
say "transition=0: patched $(since "$t_release") s after the release; the read returned: $(cat /tmp/read.out)"
echo 0 >"$SYS/enabled"
while [ -e "$SYS" ]; do sleep 0.1; done
rmmod $LP
rmmod $TARGET
