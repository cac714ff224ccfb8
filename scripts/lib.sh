# shellcheck shell=bash
# Common definitions for the klp-signal harness scripts. Source it, do not run it.

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Called from our Makefile, 'make check ARCH=ppc64le' would pass ARCH (our
# name, not the kernel's) down to every make the scripts run: start afresh.
unset MAKEFLAGS MFLAGS MAKELEVEL ARCH
BUILD=$TOP/build
# The bases the series is kept for, the default (mainline) first. BASE picks
# one: its series is patches/BASE/, its source Debian's linux-source-BASE,
# its tree and build directories build/BASE/linux, build/BASE/ARCH...
BASES_ALL="7.3 6.12 6.1"
BASE_DEFAULT=7.3
BASE=${BASE:-$BASE_DEFAULT}
case " $BASES_ALL " in
*" $BASE "*) ;;
*) echo "error: unknown BASE '$BASE' (use one of: $BASES_ALL)" >&2; exit 1 ;;
esac
BASE_DIR=$BUILD/$BASE
# In result lines: "PASS x86_64 7.3 livepatch/test-signal.sh".
BASE_LABEL=" $BASE"
# RT=1: the real-time kernel, PREEMPT_RT (configs/rt.config, merged after
# the base's fragments; x86_64 on 7.3, as Debian ships it), built into
# build/BASE/ARCH-rt (ARCH-rt-debug for 'make stress'); result lines say
# "PASS x86_64 7.3 PREEMPT_RT ...".
RT=${RT:-0}
case $RT in
0) ;;
1) BASE_LABEL="$BASE_LABEL PREEMPT_RT" ;;
*) echo "error: RT must be 0 or 1, not '$RT'" >&2; exit 1 ;;
esac
# KLP_TREE: another kernel tree (a git worktree of build/BASE/linux, say) to build.
TREE=${KLP_TREE:-$BASE_DIR/linux}
PATCHES=$TOP/patches/$BASE
BASE_PACKAGE=linux-source-$BASE
# Debian 12's bases are installed by deps.sh into /usr/src; a newer base
# comes from the Debian suite named here, fetched by source.sh into
# build/src/ (nothing installed).
case $BASE in
7.3) BASE_SUITE=trixie-backports ;;
*) BASE_SUITE= ;;
esac
if [ -n "$BASE_SUITE" ]; then
	BASE_TARBALL=${BASE_TARBALL:-$BUILD/src/$BASE_PACKAGE/usr/src/$BASE_PACKAGE.tar.xz}
else
	BASE_TARBALL=${BASE_TARBALL:-/usr/src/$BASE_PACKAGE.tar.xz}
fi
ARCHES_ALL="x86_64 ppc64le"
JOBS=${JOBS:-$(nproc)}
GIT_NAME="klp-signal developers"
GIT_EMAIL="klp-signal@example.org"

export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/klp-signal-ccache}
# Paths relative to the clone, so that the cache serves any clone (CI's too).
export CCACHE_BASEDIR=$TOP CCACHE_NOHASHDIR=1

die() {
	echo "error: $*" >&2
	exit 1
}

# step "text": print a line for people; step_done prints its duration.
step() {
	STEP_T0=$(date +%s)
	printf '%-52s' "$*" >&2
}

step_done() {
	echo " ${*:-done} ($(($(date +%s) - STEP_T0))s)" >&2
}

# The base kernel version (6.12.N) of a tree, from its top Makefile.
kernel_version() {
	awk -F' *= *' '/^VERSION/{v=$2} /^PATCHLEVEL/{p=$2} /^SUBLEVEL/{s=$2}
		/^EXTRAVERSION/{exit} END{print v "." p "." s}' "$1/Makefile"
}

# The patches of patches/series, in order, one path a line.
series_files() {
	[ -f "$PATCHES/series" ] || return 0
	sed -e '/^\s*\(#\|$\)/d' -e "s|^|$PATCHES/|" "$PATCHES/series"
}

# Kernel make variables for one of our architecture names.
arch_vars() {
	case "$1" in
	x86_64)
		KARCH=x86
		CROSS=
		KIMAGE=arch/x86/boot/bzImage
		;;
	ppc64le)
		KARCH=powerpc
		CROSS=powerpc64le-linux-gnu-
		KIMAGE=vmlinux
		;;
	*)
		die "unknown ARCH '$1' (use one of: $ARCHES_ALL)"
		;;
	esac
	OUT=$BASE_DIR/$1
	if [ "$RT" = 1 ]; then
		[ "$1" = x86_64 ] && [ "$BASE" = 7.3 ] ||
			die "RT=1 is for x86_64 on 7.3 (configs/rt.config), not $1 on $BASE"
		OUT=$BASE_DIR/$1-rt
	fi
}

# Run a command, its output to a log file; on failure show the tail and the path.
logged() {
	local log=$1
	shift
	mkdir -p "$(dirname "$log")"
	if ! "$@" >"$log" 2>&1; then
		echo " FAILED" >&2
		tail -n 30 "$log" >&2
		die "'$*' failed, full log: $log"
	fi
}

# A path as people read it: relative to the clone.
rel() { echo "${1#"$TOP"/}"; }

# summary LINE...: print the "PASS|FAIL|SKIP <what>" result lines, then
# "N passed, N failed, N skipped"; fail when a line is a FAIL.
summary() {
	printf '%s\n' "$@"
	echo "$(printf '%s\n' "$@" | grep -c '^PASS ') passed," \
		"$(printf '%s\n' "$@" | grep -c '^FAIL ') failed," \
		"$(printf '%s\n' "$@" | grep -c '^SKIP ') skipped"
	! printf '%s\n' "$@" | grep -q '^FAIL '
}

# What counts as a kernel report in a guest console log.
REPORT_RE='Oops|BUG:|WARNING:|Call Trace|lockdep|KASAN|Kernel panic|INFO: task .* blocked'
