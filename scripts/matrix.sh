#!/usr/bin/env bash
# usage: scripts/matrix.sh [ARCH]
# What real blocking syscalls return to a program when the fake signal
# interrupts them (matrix/test-restart-matrix.sh): restarted, or EINTR. This
# was test-restart.sh of series v3; it is not part of the series since v4,
# whose test-restart.sh interrupts the target module's own read. The
# livepatch replaces syscall entry functions and calls unexported helpers
# at addresses read from /proc/kallsyms: fine for our guests, not for a
# selftest. Builds matrix/ against build/BASE/ARCH (or $BUILD_OUT), which
# must hold the kernel and kselftests of the series ('make build'), and
# runs the matrix in a guest with the kselftests' functions.sh.
# Result: build/BASE/matrix/ARCH.log (the guest's output; the console and
# the rest in build/BASE/ARCH/runs/matrix/).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
arch=${1:-x86_64}
arch_vars "$arch"
OUT=${BUILD_OUT:-$OUT}
[ -f "$OUT/kselftest/livepatch/functions.sh" ] ||
	die "no kselftests in ${OUT#"$TOP"/}: run 'make build BASE=$BASE ARCH=$arch' first"
step "matrix: module and program"
BUILD_OUT=$OUT "$TOP/scripts/matrix-module.sh" "$arch" "$OUT/logs/matrix-module.log"
mkdir -p "$OUT/matrix/test_modules" "$BASE_DIR/matrix"
logged "$OUT/logs/matrix-program.log" "${CROSS}gcc" -O2 -Wall \
	-I "$TREE/tools/testing/selftests/livepatch" -o "$OUT/matrix/test_klp-restart" \
	"$TOP/matrix/test_klp-restart.c"
mv "$OUT/matrix/test_klp_restart.ko" "$OUT/matrix/test_modules/"
# functions.sh's require_signal() loads test_klp_livepatch.ko
cp "$OUT"/kselftest/livepatch/test_modules/*.ko "$OUT/matrix/test_modules/"
cp "$TOP/matrix/test-restart-matrix.sh" "$OUT/kselftest/livepatch/functions.sh" "$OUT/matrix/"
step_done
step "matrix: guest run (log: $(rel "$BASE_DIR/matrix/$arch.log"))"
rc=0
"$TOP/scripts/vm.sh" -t 1200 -n matrix "$arch" \
	env KLP_REQUIRE_SIGNAL=1 bash -c 'cd "$1" && ./test-restart-matrix.sh' - "$OUT/matrix" \
	2>"$BASE_DIR/matrix/$arch.err" || rc=$?
cp "$OUT/runs/matrix/output.log" "$BASE_DIR/matrix/$arch.log" 2>/dev/null || true
step_done "exit $rc"
cat "$BASE_DIR/matrix/$arch.log"
exit "$rc"
