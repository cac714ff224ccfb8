#!/usr/bin/env bash
# usage: scripts/build.sh [-k] ARCH [CONFIG_FRAGMENT...]
# Build build/BASE/linux for ARCH (x86_64, ppc64le) into build/BASE/ARCH (an O= directory),
# from allnoconfig + configs/common.config + configs/ARCH.config (+ the extra
# fragments given, e.g. configs/debug.config with BUILD_OUT=build/7.3/x86_64-debug),
# then build and install the livepatch kselftests into build/BASE/ARCH/kselftest.
#   -k  only the kselftests, against the kernel already built there (e.g. the
#       series' tests against a build of the pristine base in BUILD_OUT)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

kernel=1
if [ "${1:-}" = -k ]; then
	kernel=0
	shift
fi
[ $# -ge 1 ] || die "usage: $0 [-k] ARCH [CONFIG_FRAGMENT...]"
arch=$1
shift
arch_vars "$arch"
OUT=${BUILD_OUT:-$OUT}
[ -f "$TREE/Makefile" ] || die "no kernel tree in ${TREE#"$TOP"/}: run 'make tree BASE=$BASE' first"

# A base may add fragments of its own (options that
# differ by name, the test modules it builds with the kernel).
frags=("$TOP/configs/common.config" "$TOP/configs/$arch.config")
for f in "$TOP/configs/base-$BASE.config" "$TOP/configs/base-$BASE-$arch.config"; do
	[ ! -f "$f" ] || frags+=("$f")
done
[ "$RT" != 1 ] || frags+=("$TOP/configs/rt.config")
frags+=("$@")
kmake=(make -C "$TREE" O="$OUT" ARCH="$KARCH" CROSS_COMPILE="$CROSS" -j"$JOBS"
	CC="ccache ${CROSS}gcc" HOSTCC="ccache gcc")
logs=$OUT/logs
mkdir -p "$OUT" "$logs"

echo "build: $arch, Linux $(kernel_version "$TREE") + $(git -C "$TREE" rev-list --count base..HEAD) patches -> ${OUT#"$TOP"/}" >&2

build_kernel() {
	# Configure only when a fragment changed, so that rebuilds stay incremental.
	hash=$(cat "${frags[@]}" | sha1sum | cut -d' ' -f1)
	if [ "$(cat "$OUT/.klp-config-hash" 2>/dev/null)" != "$hash" ] || [ ! -f "$OUT/.config" ]; then
		step "build: configuring (allnoconfig + ${#frags[@]} fragments)"
		# -n: allnoconfig with the fragments as KCONFIG_ALLCONFIG, so that
		# what the fragments do not name is off rather than at its default.
		logged "$logs/config.log" env -C "$TREE" ARCH="$KARCH" CROSS_COMPILE="$CROSS" \
			scripts/kconfig/merge_config.sh -n -O "$OUT" "${frags[@]}"
		# What the fragments ask for, the last fragment naming an option winning.
		missing=$(awk '/^CONFIG_[A-Z0-9_]*=/ { want[substr($0, 1, index($0, "=") - 1)] = $0 }
				/^# CONFIG_[A-Z0-9_]* is not set/ { delete want[$2] }
				END { for (o in want) print want[o] }' "${frags[@]}" |
			while read -r line; do grep -qxF "$line" "$OUT/.config" || echo "$line"; done)
		[ -z "$missing" ] || die "these options did not stick (unmet dependencies?): $(echo "$missing" | tr '\n' ' ')"
		echo "$hash" >"$OUT/.klp-config-hash"
		step_done
	fi

	step "build: kernel"
	logged "$logs/kernel.log" "${kmake[@]}" all
	step_done "$KIMAGE"

	# Bases before 6.9 build the selftests' modules with the kernel
	# (lib/livepatch, CONFIG_TEST_LIVEPATCH=m) and their functions.sh
	# loads them with modprobe: install the modules into $OUT/modules,
	# which guest-init mounts on /lib/modules.
	rm -rf "$OUT/modules"
	if grep -qx 'CONFIG_MODULES=y' "$OUT/.config" && [ -f "$TREE/lib/livepatch/Makefile" ]; then
		step "build: modules_install"
		logged "$logs/modules.log" "${kmake[@]}" INSTALL_MOD_PATH="$OUT/modules" \
			INSTALL_MOD_STRIP=1 DEPMOD=/sbin/depmod modules_install
		mv "$OUT/modules/lib/modules" "$OUT/modules.tmp"
		rm -rf "$OUT/modules"
		mv "$OUT/modules.tmp" "$OUT/modules"
		step_done "$(find "$OUT/modules" -name '*.ko' | wc -l) modules"
	fi
}

[ "$kernel" = 0 ] || build_kernel

# The kselftests' modules are built in the source tree (before 6.13 kbuild
# had no separate output directory for external modules; since, the
# selftests still build them there): clean them when the last build was
# for another kernel, then install everything into $OUT/kselftest.
step "build: livepatch kselftests"
lpdir=$TREE/tools/testing/selftests/livepatch
if [ "$(cat "$lpdir/.klp-built-for" 2>/dev/null)" != "$OUT" ]; then
	[ ! -d "$lpdir/test_modules" ] ||
		logged "$logs/kselftest.log" make -C "$OUT" ARCH="$KARCH" CROSS_COMPILE="$CROSS" \
			M="$lpdir/test_modules" clean
	# The programs (test_klp-*, but for their sources) are built there too.
	find "$lpdir" -maxdepth 1 -name 'test_klp-*' ! -name '*.c' -delete
fi
rm -rf "$OUT/kselftest"
# Since 6.13 kbuild takes an external module's kernel build directory from
# O= (or KBUILD_OUTPUT), and the selftests pass their own O= down to the
# module build, empty unless given: give it the kernel's (the programs are
# then built in $OUT/kselftest too, where they are installed).
ksft_o=()
! grep -q KBUILD_EXTMOD_OUTPUT "$TREE/Makefile" || ksft_o=(O="$OUT")
logged "$logs/kselftest.log" make -C "$TREE/tools/testing/selftests" "${ksft_o[@]}" \
	ARCH="$KARCH" CROSS_COMPILE="$CROSS" CC="ccache ${CROSS}gcc" KDIR="$OUT" \
	TARGETS=livepatch INSTALL_PATH="$OUT/kselftest" install
echo "$OUT" >"$lpdir/.klp-built-for"
if [ ! -d "$lpdir/test_modules" ]; then
	# The demo and the stress insmod the modules from the kselftest's
	# test_modules/, as 6.9 and later install them: copy them there.
	mkdir -p "$OUT/kselftest/livepatch/test_modules"
	find "$OUT/modules" -path '*/lib/livepatch/*.ko' \
		-exec cp -t "$OUT/kselftest/livepatch/test_modules" {} +
fi
step_done "$(ls "$OUT/kselftest/livepatch/test_modules/"*.ko | wc -l) modules"
