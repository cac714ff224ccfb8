#!/usr/bin/env bash
# usage: scripts/field.sh [--build-only]
# The field test (x86_64, BASE 7.3): real livepatches, built by the kernel's
# own scripts/livepatch/klp-build from the source patches of field/patches/
# (field/patches/series), loaded and unloaded by Debian's kpatch (trixie's
# package, unmodified) while real programs and stress-ng sleep in the
# functions they change; on the series' kernel and on the pristine base.
#
# klp-build works in a kernel source tree built in place (no O=): the
# series' tree is checked out as a git worktree of build/7.3/linux in
# build/7.3/field/linux, configured as 'make build' configures x86_64
# (configs/), and built by klp-build itself (vmlinux and modules with
# -ffunction-sections -fdata-sections and KLP_SYMIDS=1). The first patch
# makes klp-build build the original kernel (about half an hour on 2 cores,
# less with a warm ccache); the others start at its step 2 (-S 2) and only
# rebuild what the patch changes. The kernel booted is that tree's own
# bzImage, built with the same options. The pristine base is a second
# worktree (build/7.3/field/pristine-src, at tag "base") with the same
# .config and options. The same livepatch modules load on both: the kernel
# release is the same (checked) and CONFIG_MODVERSIONS is off; the series
# changes neither include/linux/livepatch.h nor the functions the modules
# call there (klp_enable_patch(), klp_find_section_by_name()); outside
# kernel/livepatch/ and its trace header it changes no code, so the
# functions the livepatches replace and the symbols their klp relocations
# name (by name, and position among the same names) are the same.
#
# The guests (scripts/guest-field.sh) write build/7.3/field/<kernel>.tsv;
# scripts/field-report.py turns them into build/7.3/field/report.md.
# --build-only: stop after the builds. FIELD_ONLY="pipe vfork": those
# livepatches only; FIELD_KERNELS="series": that kernel only.
set -euo pipefail
export BASE=7.3
. "$(dirname "$0")/lib.sh"
arch_vars x86_64
F=$BASE_DIR/field
src=$F/linux
psrc=$F/pristine-src
build_only=0
[ "${1:-}" = --build-only ] && build_only=1
mkdir -p "$F/logs" "$F/ko" "$F/bin"

"$TOP/scripts/deps.sh" libxxhash-dev patchutils gawk binutils
[ -d "$TREE/.git" ] || die "no tree in $(rel "$TREE"): run 'make tree' first"

# kpatch: the package of Debian 13 (trixie), fetched the way source.sh
# fetches the 7.3 source (an apt directory of our own, nothing installed).
kpatch_version=0.9.10-1
if [ ! -x "$F/kpatch/usr/sbin/kpatch" ] || [ "$(cat "$F/kpatch/version" 2>/dev/null)" != "$kpatch_version" ]; then
	step "field: kpatch $kpatch_version from Debian's trixie"
	# shellcheck disable=SC2016 # apt's own $(FIELD) format
	mirror=$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' \
		'Created-By: Packages' | awk '$2 == "bookworm" || $2 == "stable" { print $1; exit }')
	[ -n "$mirror" ] || die "no bookworm mirror in this machine's apt sources to fetch kpatch from"
	apt=$BUILD/apt-trixie
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" \
		>"$apt/sources.list"
	opts=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache"
		-o APT::Architectures::=amd64 -o APT::Sandbox::User=root)
	logged "$F/logs/kpatch-fetch.log" apt-get "${opts[@]}" --error-on=any update
	rm -rf "$F/kpatch" "$F"/kpatch_*.deb
	(cd "$F" && apt-get "${opts[@]}" download "kpatch=$kpatch_version") >>"$F/logs/kpatch-fetch.log" 2>&1 ||
		die "apt-get download kpatch=$kpatch_version failed, see $F/logs/kpatch-fetch.log"
	dpkg-deb -x "$F"/kpatch_"$kpatch_version"_amd64.deb "$F/kpatch"
	echo "$kpatch_version" >"$F/kpatch/version"
	step_done
fi

# worktree TREE COMMIT: a worktree of build/7.3/linux at COMMIT
worktree() {
	local wt=$1 commit=$2 common
	common=$(git -C "$wt" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
	if [ "$common" != "$(cd "$TREE" && pwd -P)/.git" ]; then
		rm -rf "$wt"
		git -C "$TREE" worktree prune
		git -C "$TREE" worktree add -q -f --detach "$wt" "$commit"
	elif [ "$(git -C "$wt" rev-parse HEAD)" != "$(git -C "$TREE" rev-parse "$commit")" ] ||
		[ -n "$(git -C "$wt" status --porcelain --untracked-files=no)" ]; then
		# (also a klp-build that was killed with its patch applied)
		git -C "$wt" checkout -q -f --detach "$commit"
		[ "$wt" != "$src" ] || rm -f "$F/orig-id"
	fi
}

# configure TREE: allnoconfig + the x86_64 fragments, in place (as build.sh)
configure() {
	local t=$1 frags=("$TOP/configs/common.config" "$TOP/configs/x86_64.config") f hash
	for f in "$TOP/configs/base-$BASE.config" "$TOP/configs/base-$BASE-x86_64.config"; do
		[ ! -f "$f" ] || frags+=("$f")
	done
	hash=$(cat "${frags[@]}" | sha1sum | cut -d' ' -f1)
	[ "$(cat "$t/.klp-config-hash" 2>/dev/null)" != "$hash" ] || [ ! -f "$t/.config" ] || return 0
	logged "$F/logs/config-$(basename "$t").log" env -C "$t" ARCH=x86 \
		scripts/kconfig/merge_config.sh -n "${frags[@]}"
	grep -qx CONFIG_KLP_BUILD=y "$t/.config" || die "CONFIG_KLP_BUILD did not stick in $t/.config"
	echo "$hash" >"$t/.klp-config-hash"
}

# klp-build and make through ccache (the Makefile calls plain "gcc")
export PATH=/usr/lib/ccache:$PATH
klp_make=(make -j"$JOBS" KLP_SYMIDS=1 "KCFLAGS=-ffunction-sections -fdata-sections")

worktree "$src" master
configure "$src"
# What klp-build's original kernel was built from: a change of the series,
# of the config or of klp-build itself means building it again.
orig_id="$(git -C "$src" rev-parse HEAD) $(sha1sum <"$src/.config" | cut -c1-12)"
orig_id+=" $(cat "$src"/scripts/livepatch/klp-build "$src"/tools/objtool/klp*.c | sha1sum | cut -c1-12)"
if [ "$(cat "$F/orig-id" 2>/dev/null)" != "$orig_id" ] || [ ! -f "$src/klp-tmp/1-orig/.complete" ]; then
	rm -f "$F/orig-id" "$F"/ko/*.ko
fi

# from_debian NAME: the patch of an upstream fix, as the difference of one
# file between two Debian releases of a source package (NAME.from says
# which), checked against the newer one's changelog
from_debian() {
	local from=$TOP/field/patches/$1.from out=$F/patches/$1.patch pkg old new file subject v
	pkg=$(awk '$1 == "package" { print $2 }' "$from")
	old=$(awk '$1 == "old" { print $2 }' "$from")
	new=$(awk '$1 == "new" { print $2 }' "$from")
	file=$(awk '$1 == "file" { print $2 }' "$from")
	subject=$(sed -n 's/^subject\t//p' "$from")
	if [ -f "$out" ] && [ "$(cat "$out.id" 2>/dev/null)" = "$(sha1sum <"$from")" ]; then
		return 0
	fi
	step "field: $1: $file, $pkg $old -> $new"
	mkdir -p "$F/patches" "$BUILD/src/field"
	for v in "$old" "$new"; do
		[ -f "$BUILD/src/field/${pkg}_${v}_all.deb" ] && continue
		(cd "$BUILD/src/field" && apt-get "${src_apt[@]}" download "$pkg=$v") \
			>>"$F/logs/from-debian.log" 2>&1 ||
			die "apt-get download $pkg=$v failed (no longer in $BASE_SUITE?), see $F/logs/from-debian.log"
	done
	rm -rf "$F/tmp" && mkdir -p "$F/tmp/a/$(dirname "$file")" "$F/tmp/b/$(dirname "$file")"
	for v in old new; do
		local ver=${!v} dest=a
		[ "$v" = new ] && dest=b
		rm -rf "$F/tmp/deb" && mkdir "$F/tmp/deb"
		dpkg-deb -x "$BUILD/src/field/${pkg}_${ver}_all.deb" "$F/tmp/deb"
		xz -dc "$F/tmp/deb/usr/src/$pkg.tar.xz" | tar -xOf - "$pkg/$file" >"$F/tmp/$dest/$file"
	done
	zcat "$F/tmp/deb/usr/share/doc/$pkg/changelog.Debian.gz" >"$F/tmp/changelog"
	grep -qF -- "- $subject" "$F/tmp/changelog" || die "$pkg $new's changelog does not name '$subject'"
	(cd "$F/tmp" && diff -up "a/$file" "b/$file" | sed '1,2s/\t.*//') >"$out.tmp" || true
	[ -s "$out.tmp" ] || die "$file does not differ between $pkg $old and $new"
	mv "$out.tmp" "$out"
	sha1sum <"$from" >"$out.id"
	rm -rf "$F/tmp"
	step_done "$(grep -c '^[-+][^-+]' "$out") lines changed"
}
# the apt directory source.sh made for the suite of 7.3 (trixie-backports)
src_apt=(-o Dir::Etc::SourceList="$BUILD/apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o Dir::State::Lists="$BUILD/apt/lists" -o Dir::Cache="$BUILD/apt/cache"
	-o APT::Architectures::=amd64 -o APT::Sandbox::User=root)

# The livepatches, in the order of field/patches/series:
# name, stress-ng stressor, plain program, test_klp-restart calls
sed -e '/^\s*\(#\|$\)/d' "$TOP/field/patches/series" >"$F/list"
: >"$F/ko/list.tmp"
while read -r name stressor plain calls expect; do
	patch=$TOP/field/patches/$name.patch
	if [ ! -f "$patch" ]; then
		from_debian "$name"
		patch=$F/patches/$name.patch
	fi
	ko=$F/ko/livepatch-$name.ko
	echo "$stressor $plain $calls ${expect:-moved}" >"$F/ko/$name.calls"
	echo "$name" >>"$F/ko/list.tmp"
	if [ -f "$ko" ] && [ "$(cat "$ko.id" 2>/dev/null)" = "$(sha1sum <"$patch")" ]; then
		continue
	fi
	short=()
	what="original and patched kernel"
	if [ -f "$F/orig-id" ]; then
		short=(-S 2)
		what="patched kernel"
	fi
	step "field: klp-build $name ($what)"
	t0=$(date +%s)
	# klp-build restores the tree's files when it stops; it leaves the
	# objects of the patched build, which the next make rebuilds.
	logged "$F/logs/klp-build-$name.log" env -C "$src" nice \
		scripts/livepatch/klp-build -T -j"$JOBS" "${short[@]}" -o "$ko" "$patch"
	echo "$(($(date +%s) - t0))" >"$ko.seconds"
	# the functions it changes, where the programs must sleep
	sed -n 's/.*: changed function: \(.*\)$/\1/p' "$src/klp-tmp/4-diff/diff.log" | sort -u |
		tr '\n' ' ' >"$F/ko/$name.funcs"
	[ -s "$F/ko/$name.funcs" ] || die "klp-build $name: no changed function in its diff log"
	[ -f "$F/orig-id" ] || echo "$orig_id" >"$F/orig-id"
	sha1sum <"$patch" >"$ko.id"
	step_done "$(cat "$F/ko/$name.funcs")"
done <"$F/list"
mv "$F/ko/list.tmp" "$F/ko/list"

# bzimage KERNEL TREE: build TREE's bzImage with klp-build's options into
# $F/KERNEL, where vm.sh boots it (BUILD_OUT)
bzimage() {
	step "field: bzImage of the $1 kernel"
	logged "$F/logs/bzimage-$1.log" env -C "$2" nice "${klp_make[@]}" bzImage
	mkdir -p "$F/$1/arch/x86/boot"
	cp "$2/arch/x86/boot/bzImage" "$F/$1/arch/x86/boot/"
	step_done "$(cat "$2/include/config/kernel.release")"
}
# The kernels to boot: the series' tree (what klp-build built it from) and
# the pristine base, built with klp-build's options.
bzimage series "$src"
worktree "$psrc" base
cp "$src/.config" "$psrc/.config"
bzimage pristine "$psrc"
[ "$(cat "$psrc/include/config/kernel.release")" = "$(cat "$src/include/config/kernel.release")" ] ||
	die "the pristine kernel's release differs from the series' one: the livepatches would not load"

logged "$F/logs/test_klp-restart.log" gcc -O2 -Wall -I "$src/tools/testing/selftests/livepatch" \
	-o "$F/bin/test_klp-restart" "$TOP/matrix/test_klp-restart.c"
logged "$F/logs/vfork-stall.log" gcc -O2 -Wall -o "$F/bin/vfork-stall" "$TOP/field/vfork-stall.c"
[ "$build_only" = 0 ] || exit 0

# The two guests run side by side: each runs its two vCPUs on one host
# thread (vm.sh), so on 2 host CPUs each has one to itself.
kernels=${FIELD_KERNELS:-series pristine}
step "field: guests ($kernels) side by side (logs: $(rel "$F")/<kernel>.log)"
for kernel in $kernels; do
	rm -f "$F/$kernel.tsv" "$F/$kernel.rc"
	(
		t0=$(date +%s)
		krc=0
		# shellcheck disable=SC2086 # FIELD_ONLY: a list
		BUILD_OUT=$F/$kernel "$TOP/scripts/vm.sh" -t 4000 -n field x86_64 \
			"$TOP/scripts/guest-field.sh" "$kernel" "$F" "$F/$kernel.tsv" ${FIELD_ONLY:-} \
			2>"$F/$kernel.err" || krc=$?
		cp "$F/$kernel/runs/field/output.log" "$F/$kernel.log" 2>/dev/null || true
		echo "$(($(date +%s) - t0))" >"$F/$kernel.seconds"
		echo "$krc" >"$F/$kernel.rc"
	) &
done
wait
rc=0
res=
for kernel in $kernels; do
	krc=$(cat "$F/$kernel.rc" 2>/dev/null || echo '?')
	res+=" $kernel: exit $krc, $(cat "$F/$kernel.seconds" 2>/dev/null) s;"
	[ "$krc" = 0 ] || rc=1
done
step_done "${res# }"
"$TOP/scripts/field-report.py" "$F" >"$F/report.md"
cat "$F/report.md"
# A whole run's report (every livepatch, both kernels) goes to docs/.
if [ -z "${FIELD_ONLY:-}" ] && [ -z "${FIELD_KERNELS:-}" ]; then
	mkdir -p "$TOP/docs/7.3"
	{
		cat "$F/report.md"
		echo
		echo "Made by \`make field\` on $(date -u +%Y-%m-%d): series $(git -C "$src" describe --always),"
		echo "$(nproc) host CPUs, QEMU TCG; guests: series $(cat "$F/series.seconds" 2>/dev/null) s," \
			"pristine $(cat "$F/pristine.seconds" 2>/dev/null) s."
	} >"$TOP/docs/7.3/field.md"
fi
exit "$rc"
