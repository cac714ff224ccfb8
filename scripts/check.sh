#!/usr/bin/env bash
# usage: scripts/check.sh [ARCH...]     (default: x86_64 ppc64le)
#        scripts/check.sh BASE:ARCH...   (what 'make check' passes)
# Everything from a fresh clone: Debian packages, the tree, checkpatch on every
# patch, then per ARCH a build, a boot and the livepatch kselftests. The ARCH
# "series" does none of that last part: BASE:series checks only that the
# base's series applies to its Debian source and is checkpatch-clean.
# Prints "PASS|FAIL|SKIP <what>" lines, then "N passed, N failed, N skipped";
# exits non-zero on any failure.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# BASE:ARCH arguments (what 'make check' passes): run this script once per
# base with the arches given for it, then print all result lines and the
# totals. Plain ARCH arguments are for the base in BASE (default: lib.sh).
case " $* " in
*:*)
	for a in "$@"; do
		case $a in
		*:*) case " $ARCHES_ALL series " in *" ${a#*:} "*) ;; *) die "unknown ARCH in '$a'" ;; esac ;;
		*) die "'$a': give every run as BASE:ARCH, or none" ;;
		esac
	done
	t0=$(date +%s)
	all=()
	rc=0
	for b in $(printf '%s\n' "$@" | sed -n 's/:.*//p' | awk '!seen[$0]++'); do
		arches=$(printf '%s\n' "$@" | sed -n "s/^$b://p")
		src=0
		out=$(BASE=$b "$0" $arches) || src=$?
		mapfile -t -O ${#all[@]} all < <(printf '%s\n' "$out" | grep -E '^(PASS|FAIL|SKIP) ')
		if [ "$src" != 0 ]; then
			rc=1
			printf '%s\n' "$out" | grep -q '^FAIL ' ||
				all+=("FAIL $b: check.sh exited $src with no result (its error is above)")
		fi
	done
	echo "check: all bases, total $(($(date +%s) - t0))s" >&2
	summary "${all[@]}" || rc=1
	exit $rc
	;;
esac

[ $# -gt 0 ] || set -- $ARCHES_ALL
for a in "$@"; do
	case " $ARCHES_ALL series " in *" $a "*) ;; *) die "unknown ARCH '$a' (use: $ARCHES_ALL series)" ;; esac
done
t0=$(date +%s)
results=()
result() { # result PASS|FAIL|SKIP text
	results+=("$1 $2")
}

"$TOP/scripts/deps.sh"
if "$TOP/scripts/tree.sh"; then
	result PASS "series$BASE_LABEL applies to $(basename "$BASE_TARBALL")"
else
	result FAIL "series$BASE_LABEL: 'make tree BASE=$BASE' failed (its error is above)"
	summary "${results[@]}"
	exit 1
fi
[ "$(series_files | wc -l)" -gt 0 ] ||
	result FAIL "series$BASE_LABEL: patches/$BASE/series lists no patch"
echo "check: base Linux $(kernel_version "$TREE") from $BASE_TARBALL (BASE=$BASE), $(series_files | wc -l) patches from ${PATCHES#"$TOP"/}" >&2

# checkpatch --strict on every patch of the series. FILE_PATH_CHANGES ("does
# MAINTAINERS need updating?") fires for every new file; ours are all under
# directories that MAINTAINERS already lists. Debian's python3 (ply, git)
# runs spdxcheck.py, whatever python3 comes first in PATH.
mkdir -p "$BASE_DIR/check"
while read -r path; do
	p=$(basename "$path")
	log=$BASE_DIR/check/checkpatch-${p%.patch}.log
	(cd "$TREE" && PATH=/usr/bin:$PATH ./scripts/checkpatch.pl --strict \
		--ignore FILE_PATH_CHANGES "$path") >"$log" 2>&1 || true
	if grep -q '^total: 0 errors, 0 warnings, 0 checks' "$log"; then
		result PASS "checkpatch$BASE_LABEL $p"
	else
		result FAIL "checkpatch$BASE_LABEL $p (log: $(rel "$log"))"
	fi
done < <(series_files)

# The tests that run a second time with preempt=full (x86_64).
PREEMPT_FULL_TESTS=${PREEMPT_FULL_TESTS:-test-signal.sh test-restart.sh test-blocked.sh}

# check_run ARCH NAME BOOTARG TESTS...: boot build/BASE/ARCH with BOOTARG (if
# any) on the kernel command line, run TESTS (all, if none) and record a
# result for each, labelled "ARCH[ BOOTARG] livepatch/TEST".
check_run() {
	local arch=$1 name=$2 bootarg=$3
	shift 3
	local label="$arch$BASE_LABEL${bootarg:+ $bootarg}" run=$OUT/runs/$name
	local vrc=0 bad cpus preempt t tap tests=$*

	[ -n "$tests" ] || tests=$(sed -n 's/^livepatch://p' "$OUT/kselftest/kselftest-list.txt")
	step "check: $label: booting, running $(echo "$tests" | wc -w) kselftests"
	# KLP_REQUIRE_SIGNAL=1: this kernel has the series, so a test that
	# finds no "signal" attribute fails rather than skips.
	VM_APPEND=$bootarg "$TOP/scripts/vm.sh" -t "${CHECK_TIMEOUT:-2400}" -n "$name" "$arch" \
		env KLP_REQUIRE_SIGNAL=1 \
		"$TOP/scripts/guest-kselftest.sh" "$OUT/kselftest" "$run/tap" $* \
		2>"$BASE_DIR/check/vm-$name-$arch.err" || vrc=$?
	step_done "exit $vrc"
	[ "$vrc" = 0 ] || sed 's/^/  /' "$BASE_DIR/check/vm-$name-$arch.err" >&2

	# Attribute each kernel report to the test running at the time.
	bad=$(awk -v re="$REPORT_RE" '
		{ sub(/\r$/, "") }
		/klp-check: begin / { cur = $NF }
		/klp-check: end / { cur = "" }
		$0 ~ re { print (cur == "" ? "boot" : cur) }' "$run/console.log" 2>/dev/null | sort -u || true)
	[ -f "$run/console.log" ] ||
		result FAIL "$label boot: no console log (see $(rel "$BASE_DIR/check/vm-$name-$arch.err"))"
	if echo "$bad" | grep -qx boot; then
		result FAIL "$label boot (log: $(rel "$run/console.log"))"
	fi
	cpus=$(cat "$run/tap/cpus" 2>/dev/null || echo 0)
	if [ "$cpus" -lt 2 ]; then
		result FAIL "$label boot: $cpus CPUs online, 2 expected (log: $(rel "$run/console.log"))"
	fi
	# preempt=full must have taken: the mode the guest ran in, as the
	# kernel logs it at boot ("Dynamic Preempt: full"). The PREEMPT_RT
	# kernel (RT=1) boots full by itself (configs/rt.config).
	if [ "$bootarg" = preempt=full ] || [ "$RT" = 1 ]; then
		preempt=$(cat "$run/tap/preempt" 2>/dev/null || echo none)
		case $preempt in
		"Dynamic Preempt: full") ;;
		*) result FAIL "$label boot: preemption mode '$preempt', not full (log: $(rel "$run/console.log"))" ;;
		esac
	fi
	for t in $tests; do
		tap=$run/tap/$t.tap
		if echo "$bad" | grep -qxF "$t"; then
			result FAIL "$label livepatch/$t (kernel report, log: $(rel "$run/console.log"))"
		elif grep -q "^ok [0-9]* selftests: livepatch: $t # SKIP" "$tap" 2>/dev/null; then
			result SKIP "$label livepatch/$t ($(grep -m1 -i 'skip' "$tap" | head -c 120))"
		elif grep -q "^ok [0-9]* selftests: livepatch: $t\$" "$tap" 2>/dev/null; then
			result PASS "$label livepatch/$t"
		elif [ -f "$tap" ]; then
			result FAIL "$label livepatch/$t (log: $(rel "$tap"))"
		else
			result FAIL "$label livepatch/$t (not run, log: $(rel "$run/console.log"))"
		fi
	done
}

for arch in "$@"; do
	[ "$arch" != series ] || continue
	arch_vars "$arch"
	a0=$(date +%s)
	if ! "$TOP/scripts/build.sh" "$arch"; then
		result FAIL "$arch$BASE_LABEL build (log: $(rel "$OUT/logs"))"
		continue
	fi
	check_run "$arch" check ""
	# x86_64 kernels are built with PREEMPT_DYNAMIC and boot in the mode
	# Debian's config of the base chooses (voluntary on 6.12 and 6.1, lazy
	# on 7.3): run the series' tests once more with preempt=full, the other
	# mode distros boot, with a preemptible signal walk and stack check.
	# Not for the PREEMPT_RT kernel, whose first run was with full.
	if [ "$arch" = x86_64 ] && [ "$RT" = 0 ] && grep -qx CONFIG_PREEMPT_DYNAMIC=y "$OUT/.config"; then
		check_run "$arch" check-preempt-full preempt=full $PREEMPT_FULL_TESTS
	fi
	echo "check: $arch$BASE_LABEL done in $(($(date +%s) - a0))s" >&2
done

echo "check: total $(($(date +%s) - t0))s" >&2
summary "${results[@]}"
