#!/usr/bin/env bash
# usage: scripts/pristine.sh [ARCH]     (default x86_64)
# Show that the series' tests can fail: run them on the pristine base with
# the series' selftests patches only (those whose subject starts with
# "selftests/": the test scripts and modules, no kernel change). Where the
# tests skip on a kernel without the "signal" attribute (require_signal()
# in their functions.sh), they run twice: as a CI would, where each must
# skip, saying so, and with KLP_REQUIRE_SIGNAL=1, where each must fail. Their
# tree is a git worktree of the base's tree, BASE_DIR/pristine/linux
# (branch "pristine-tests": tag "base" + those patches, cherry-picked
# anew each run), built into BASE_DIR/pristine/ARCH; both sit side by side
# as the tree and builds of the base do, so that ccache serves the files
# they share. Each test those patches add must fail there: the result line
# is "PASS pristine ARCH BASE livepatch/TEST fails without the series:
# <its first ERROR line>" (after "skips, then" where it skips first), and
# FAIL when the test passed, was skipped (with KLP_REQUIRE_SIGNAL=1),
# timed out, did not finish or failed with no ERROR of its own.
# Then "N passed, N failed, N skipped"; exits non-zero on any FAIL.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

arch=${1:-x86_64}
arch_vars "$arch"
"$TOP/scripts/deps.sh"
"$TOP/scripts/tree.sh"
ptree=$BASE_DIR/pristine/linux
pout=$BASE_DIR/pristine/$arch
label="pristine $arch$BASE_LABEL"

commits=$(git -C "$TREE" log --reverse --format='%H %s' base..HEAD | awk '$2 ~ /^selftests\// { print $1 }')
[ -n "$commits" ] || die "the series has no selftests/ patch"
tests=$(for c in $commits; do
	git -C "$TREE" show --name-only --diff-filter=A --format= "$c"
done | sed -n 's|^tools/testing/selftests/livepatch/\(test-[^/]*\.sh\)$|\1|p')
[ -n "$tests" ] || die "the series' selftests patches add no test-*.sh"

step "pristine: ${ptree#"$TOP"/}: base + $(echo "$commits" | wc -l) selftests patches"
# A worktree of this tree, or a new one (tree.sh makes the tree anew when
# the base changes, and the old worktree is then orphaned).
common=$(git -C "$ptree" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
if [ "$common" != "$(cd "$TREE" && pwd -P)/.git" ]; then
	rm -rf "$ptree"
	mkdir -p "$(dirname "$ptree")"
	git -C "$TREE" worktree prune
	git -C "$TREE" worktree add -q -f --detach "$ptree" base
fi
git -C "$ptree" cherry-pick --quit >/dev/null 2>&1 || true
git -C "$ptree" checkout -q -f -B pristine-tests base
# shellcheck disable=SC2086
git -C "$ptree" cherry-pick $commits >"$BASE_DIR/pristine/cherry-pick.log" 2>&1 || {
	git -C "$ptree" cherry-pick --abort >/dev/null 2>&1 || true
	cat "$BASE_DIR/pristine/cherry-pick.log" >&2
	die "the selftests patches do not apply to the pristine base alone"
}
step_done
KLP_TREE=$ptree BUILD_OUT=$pout "$TOP/scripts/build.sh" "$arch"

run=$pout/runs/pristine
skips=
grep -q '^function require_signal()' "$ptree/tools/testing/selftests/livepatch/functions.sh" &&
	skips=1
step "pristine: $arch$BASE_LABEL: booting, running $(echo "$tests" | wc -w) tests${skips:+ twice}"
vrc=0
# The first run (tap/skip/) as any CI would run them, the second (tap/)
# with KLP_REQUIRE_SIGNAL=1.
# shellcheck disable=SC2016,SC2086
BUILD_OUT=$pout "$TOP/scripts/vm.sh" -t "${PRISTINE_TIMEOUT:-900}" -n pristine "$arch" \
	bash -c 'g=$1 k=$2 o=$3 s=$4; shift 4
		[ -z "$s" ] || "$g" "$k" "$o/skip" "$@"
		KLP_REQUIRE_SIGNAL=1 "$g" "$k" "$o" "$@"' - \
	"$TOP/scripts/guest-kselftest.sh" "$pout/kselftest" "$run/tap" "$skips" $tests \
	2>"$BASE_DIR/pristine/vm-$arch.err" || vrc=$?
step_done "exit $vrc"

results=()
# The tests are expected to fail, each on an ERROR of its own; a guest that
# did not finish, a kernel report, a runner's timeout or a test that did
# not finish is not the failure they are meant to show.
case $vrc in
125) results+=("FAIL $label boot: the guest did not finish (log: $(rel "$run/console.log"))") ;;
126) results+=("FAIL $label boot: kernel report (log: $(rel "$run/console.log"))") ;;
esac
cpus=$(cat "$run/tap/cpus" 2>/dev/null || echo 0)
[ "$cpus" -ge 2 ] ||
	results+=("FAIL $label boot: $cpus CPUs online, 2 expected (log: $(rel "$run/console.log"))")
for t in $tests; do
	tap=$run/tap/$t.tap
	line="selftests: livepatch: $t"
	err=$(grep -m1 -E 'ERROR|FAIL' "$tap" 2>/dev/null | sed -E 's/.*(ERROR|FAIL)/\1/' | head -c 150 || true)
	skipped=
	if [ -n "$skips" ]; then
		if grep -q "^ok [0-9]* $line # SKIP" "$run/tap/skip/$t.tap" 2>/dev/null &&
			grep -q 'SKIP: .*signal attribute' "$run/tap/skip/$t.tap"; then
			skipped="skips, then "
		else
			results+=("FAIL $label livepatch/$t did not skip for the missing signal attribute (log: $(rel "$run/tap/skip/$t.tap"))")
			continue
		fi
	fi
	if [ ! -f "$tap" ]; then
		results+=("FAIL $label livepatch/$t (not run, log: $(rel "$run/console.log"))")
	elif grep -q "^ok [0-9]* $line # SKIP" "$tap"; then
		results+=("FAIL $label livepatch/$t was skipped without the series, not failed (log: $(rel "$tap"))")
	elif grep -q "^ok [0-9]* $line\$" "$tap"; then
		results+=("FAIL $label livepatch/$t passed without the series (log: $(rel "$tap"))")
	elif grep -q "^not ok [0-9]* $line # TIMEOUT" "$tap"; then
		results+=("FAIL $label livepatch/$t timed out (log: $(rel "$tap"))")
	elif grep -q "^not ok [0-9]* $line" "$tap" && [ -n "$err" ]; then
		results+=("PASS $label livepatch/$t ${skipped}fails without the series: $err")
	elif grep -q "^not ok [0-9]* $line" "$tap"; then
		results+=("FAIL $label livepatch/$t failed with no ERROR of its own (log: $(rel "$tap"))")
	else
		results+=("FAIL $label livepatch/$t did not finish (log: $(rel "$tap"))")
	fi
done
summary "${results[@]}"
