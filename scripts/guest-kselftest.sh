#!/bin/bash
# usage: scripts/guest-kselftest.sh KSELFTEST_DIR OUTDIR [TEST...]
# In the guest: run the livepatch kselftests (all of kselftest-list.txt, or the
# TESTs named, e.g. test-livepatch.sh) one by one through the kselftest runner.
# Each test's TAP goes to OUTDIR/TEST.tap; "klp-check: begin/end TEST" lines in
# the kernel log let the host tell which test a kernel report belongs to.
set -uo pipefail
ksdir=$1
outdir=$2
shift 2
mkdir -p "$outdir"

if [ $# -eq 0 ]; then
	set -- $(sed -n 's/^livepatch://p' "$ksdir/kselftest-list.txt")
fi
# The tests are meant to run on SMP: say how many CPUs came up.
nproc >"$outdir/cpus"
# And the preemption mode, where the kernel chooses it at boot.
dmesg | grep -o 'Dynamic Preempt: .*' | tail -n 1 >"$outdir/preempt" || echo none >"$outdir/preempt"
# 6.1's runner has no --override-timeout (its livepatch settings say
# timeout=0, no limit, anyway).
override=()
if grep -q -e '--override-timeout' "$ksdir/run_kselftest.sh"; then
	override=(--override-timeout "${KSFT_TIMEOUT:-600}")
fi
rc=0
for t in "$@"; do
	echo "klp-check: begin $t" >/dev/kmsg
	# Through a pipe: the runner reopens /dev/stdout for the test's output,
	# which on a file would overwrite what it printed before.
	"$ksdir/run_kselftest.sh" "${override[@]}" -t "livepatch:$t" 2>&1 | cat >"$outdir/$t.tap" || rc=1
	echo "klp-check: end $t" >/dev/kmsg
	grep -E '^(not )?ok ' "$outdir/$t.tap" | tail -n 1
done
exit $rc
