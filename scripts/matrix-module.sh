#!/usr/bin/env bash
# usage: scripts/matrix-module.sh ARCH LOG
# Build the syscall matrix's livepatch (matrix/test_klp_restart.c) against
# the kernel in build/BASE/ARCH (or $BUILD_OUT), in its matrix/ directory,
# the build's output in LOG. Leaves $OUT/matrix/test_klp_restart.ko for
# scripts/matrix.sh and scripts/stress.sh to take.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
arch_vars "$1"
OUT=${BUILD_OUT:-$OUT}
rm -rf "$OUT/matrix"
mkdir -p "$OUT/matrix"
cp "$TOP"/matrix/Kbuild "$TOP"/matrix/test_klp_restart.c "$OUT/matrix/"
logged "$2" make -C "$OUT" ARCH="$KARCH" CROSS_COMPILE="$CROSS" M="$OUT/matrix" modules
