#!/usr/bin/env bash
# usage: scripts/bench.sh [ARCH]
# Benchmark the fake signal in a guest (scripts/guest-bench.sh) on the kernel
# of the first K patches of the series, for each K in BENCH_AT, then write
# docs/BASE/benchmarks.md and docs/BASE/benchmarks-ARCH.png
# (scripts/bench-report.py).
# BENCH_AT defaults to: before the retry patch and after it (series v4; v3:
# before the re-check patch, after it, and after the RCU patch); each kernel
# is an incremental rebuild of build/BASE/ARCH (the tree is checked out at
# patch K and back). Variables: BENCH_REPEATS (5), BENCH_N
# ("1 10 100 1000" sleeping tasks), BENCH_T ("1000 10000 50000" idle
# threads), BENCH_SERIES_T (the T of (e); default the largest of BENCH_T),
# VM_MEM (8G; 12G for ppc64le), BUILD_OUT (build and boot there instead of
# build/BASE/ARCH, e.g. to keep it as it is). Results: build/BASE/bench/ARCH/pK.txt
# and the guest logs beside them. x86_64 guests run one host thread per vCPU
# (VM_TCG_THREAD=multi, as for the figures in docs/BASE/benchmarks.md): fork()
# latency beside a walk is about two CPUs running at once.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

arch=${1:-x86_64}
arch_vars "$arch"
OUT=${BUILD_OUT:-$OUT}
"$TOP/scripts/deps.sh" gnuplot-nox
results=$BASE_DIR/bench/$arch
# 50000 threads: 64K pages make each user stack cost more on ppc64le.
mem=8G
[ "$arch" != ppc64le ] || mem=12G
mkdir -p "$results"

# The position of a patch in the series, from its subject.
position() {
	local n
	n=$(git -C "$TREE" log --reverse --format=%s base..HEAD | grep -nxF "$1" | cut -d: -f1)
	[ -n "$n" ] || die "no patch '$1' in ${TREE#"$TOP"/}: run 'make tree'"
	echo "$n"
}
if [ -z "${BENCH_AT:-}" ]; then
	if git -C "$TREE" log --format=%s base..HEAD |
		grep -qxF "livepatch: Retry the transition shortly after the admin's signal"; then
		# v4: the attribute alone, then with the retry after a signal
		retry=$(position "livepatch: Retry the transition shortly after the admin's signal")
		BENCH_AT="$((retry - 1)) $retry"
	else
		recheck=$(position "livepatch: Re-check the transition promptly after the admin's signal")
		rcu=$(position "livepatch: Send the fake signal without holding tasklist_lock")
		BENCH_AT="$((recheck - 1)) $recheck $rcu"
	fi
fi
last=${BENCH_AT##* }

[ -z "$(git -C "$TREE" status --porcelain --untracked-files=no)" ] ||
	die "${TREE#"$TOP"/} has uncommitted changes: commit them first"
head=$(git -C "$TREE" symbolic-ref -q --short HEAD || git -C "$TREE" rev-parse HEAD)
mapfile -t commits < <(git -C "$TREE" rev-list --reverse base..HEAD)
trap 'git -C "$TREE" checkout -q "$head"' EXIT

for k in $BENCH_AT; do
	commit=${commits[k - 1]:-}
	[ -n "$commit" ] || die "BENCH_AT: no patch $k in the series"
	subject=$(git -C "$TREE" log -1 --format=%s "$commit")
	echo "bench: $arch, patches 1-$k (up to: $subject)" >&2
	git -C "$TREE" checkout -q --detach "$commit"
	"$TOP/scripts/build.sh" "$arch"

	step "bench: modules and program"
	rm -rf "$OUT/bench"
	cp -r "$TOP/bench" "$OUT/bench"
	logged "$OUT/logs/bench-modules.log" make -C "$OUT" ARCH="$KARCH" CROSS_COMPILE="$CROSS" \
		M="$OUT/bench" modules
	logged "$OUT/logs/bench-program.log" "${CROSS}gcc" -O2 -Wall -Wextra -pthread \
		-o "$OUT/bench/klp-bench" "$TOP/bench/klp-bench.c"
	step_done

	step "bench: guest run (log: ${OUT#"$TOP"/}/runs/bench-p$k)"
	auto=0
	[ "$k" != "$last" ] || auto=1
	rm -f "$results/p$k.txt"
	VM_MEM=${VM_MEM:-$mem} VM_TCG_THREAD=${VM_TCG_THREAD:-multi} \
		"$TOP/scripts/vm.sh" -t 5400 -n "bench-p$k" "$arch" \
		env BENCH_AUTO=$auto BENCH_REPEATS="${BENCH_REPEATS:-5}" \
		BENCH_N="${BENCH_N:-1 10 100 1000}" BENCH_T="${BENCH_T:-1000 10000 50000}" \
		${BENCH_SERIES_T:+BENCH_SERIES_T="$BENCH_SERIES_T"} \
		${BENCH_PARTS:+BENCH_PARTS="$BENCH_PARTS"} \
		"$TOP/scripts/guest-bench.sh" "$OUT/bench" "$results/p$k.txt" ||
		die "the benchmark failed: see ${OUT#"$TOP"/}/runs/bench-p$k/output.log and console.log"
	step_done
	{
		echo "# patches 1-$k, up to: $subject"
		echo "# $(head -n 1 "$OUT/runs/bench-p$k/output.log")"
		echo "# accel: $(grep -o -- '-accel [a-z,=]*' "$OUT/runs/bench-p$k/qemu-cmdline" | cut -d' ' -f2)"
		cat "$results/p$k.txt"
	} >"$results/p$k.txt.new"
	mv "$results/p$k.txt.new" "$results/p$k.txt"
	cp "$OUT/runs/bench-p$k/output.log" "$results/p$k.log"
done

git -C "$TREE" checkout -q "$head"
trap - EXIT
python3 "$TOP/scripts/bench-report.py" "$BASE" "$arch" $BENCH_AT
