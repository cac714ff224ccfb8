#!/usr/bin/env bash
# usage: scripts/stress.sh [ARCH]      (STRESS_TIME=SECONDS, default 300)
# Build the debug kernel (configs/debug.config: lockdep, KASAN, DEBUG_LIST,
# DEBUG_OBJECTS...) into build/BASE/ARCH-debug and boot it to run
# scripts/guest-stress.sh for STRESS_TIME seconds: the livepatch's signal file
# hammered while the patch comes and goes, stress-ng beside. A kernel built
# with PREEMPT_DYNAMIC (x86_64's; ppc64le's too on 7.3) is booted with
# preempt=full, so that the checkers see the preemptible walks
# (STRESS_PREEMPT=lazy on 7.3, voluntary or none on 6.12 and 6.1, for
# another mode). Passes when the guest's checks pass and the console has no
# kernel report. Ends with a PASS or FAIL line. RT=1: the PREEMPT_RT kernel
# (x86_64, 7.3), in build/7.3/x86_64-rt-debug.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

arch=${1:-x86_64}
arch_vars "$arch"
time=${STRESS_TIME:-300}
[[ "$time" =~ ^[1-9][0-9]*$ ]] || die "STRESS_TIME must be a number of seconds (1 or more), not '$time'"
# build.sh and vm.sh both take their output directory from BUILD_OUT.
export BUILD_OUT=${BUILD_OUT:-$OUT-debug}
# KASAN keeps an eighth of the memory as shadow.
export VM_MEM=${VM_MEM:-2G}

# configs/debug-ARCH.config, where there is one, adapts it to the arch.
fragments=("$TOP/configs/debug.config")
[ ! -f "$TOP/configs/debug-$arch.config" ] || fragments+=("$TOP/configs/debug-$arch.config")
"$TOP/scripts/build.sh" "$arch" "${fragments[@]}"
# The fork storm and the timed writer (bench/klp-bench.c); and where the
# series has no test_klp_restart (since v4), the livepatch of the syscall
# matrix (matrix/, scripts/matrix.sh), which the cycles take in turn with
# test_klp_signal, as they took v3's test_klp_restart.
step "stress: klp-bench, the matrix's livepatch"
mkdir -p "$BUILD_OUT/stress"
logged "$BUILD_OUT/logs/stress-program.log" "${CROSS}gcc" -O2 -Wall -Wextra -pthread \
	-o "$BUILD_OUT/stress/klp-bench" "$TOP/bench/klp-bench.c"
mods=$BUILD_OUT/kselftest/livepatch/test_modules
if [ ! -f "$mods/test_klp_restart.ko" ]; then
	"$TOP/scripts/matrix-module.sh" "$arch" "$BUILD_OUT/logs/stress-matrix.log"
	cp "$BUILD_OUT/matrix/test_klp_restart.ko" "$mods/"
fi
step_done
run=$BUILD_OUT/runs/stress
preempt=
if grep -qx CONFIG_PREEMPT_DYNAMIC=y "$BUILD_OUT/.config"; then
	preempt=${STRESS_PREEMPT:-full}
	export VM_APPEND="${VM_APPEND:+$VM_APPEND }preempt=$preempt"
elif [ -n "${STRESS_PREEMPT:-}" ]; then
	die "STRESS_PREEMPT=$STRESS_PREEMPT: this $arch kernel has no PREEMPT_DYNAMIC, its preemption is fixed at build time"
fi
echo "stress: booting $arch$BASE_LABEL debug${preempt:+ (preempt=$preempt)} for ${time}s of stress" \
	"(console: ${run#"$TOP"/}/console.log)" >&2
t0=$(date +%s)
rc=0
"$TOP/scripts/vm.sh" -o -t $((time + 900)) -n stress "$arch" \
	"$TOP/scripts/guest-stress.sh" "$BUILD_OUT/kselftest" "$time" \
	"$BUILD_OUT/stress/klp-bench" || rc=$?
echo "stress: guest ran $(($(date +%s) - t0))s" >&2
# The mode the kernel says it runs (the console has warnings only: dmesg).
if [ -n "$preempt" ] && [ "$rc" = 0 ] &&
	! grep -q "Dynamic Preempt: $preempt" "$run/dmesg.log" 2>/dev/null; then
	echo "error: the kernel did not say 'Dynamic Preempt: $preempt' (${run#"$TOP"/}/dmesg.log)" >&2
	rc=1
fi

case $rc in
0) echo "PASS stress $arch$BASE_LABEL ${time}s: 0 kernel reports, all checks passed" ;;
126) echo "FAIL stress $arch$BASE_LABEL: kernel report (log: ${run#"$TOP"/}/console.log)" ;;
125) echo "FAIL stress $arch$BASE_LABEL: the guest did not finish (log: ${run#"$TOP"/}/console.log)" ;;
*) echo "FAIL stress $arch$BASE_LABEL: a check failed (log: ${run#"$TOP"/}/output.log)" ;;
esac
[ "$rc" = 0 ]
