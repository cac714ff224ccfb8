#!/usr/bin/env bash
# usage: scripts/userland.sh ARCH
# Make the guest's root for a foreign ARCH (ppc64le) in build/ARCH-root, from
# Debian's packages for it: what the livepatch kselftests and the harness run
# in the guest (bash, coreutils, grep, sed, gawk, kmod, procps, util-linux...,
# stress-ng for 'make stress') and their dependencies, extracted with
# dpkg-deb. Nothing runs it on the host. Kept until the package list below
# changes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

arch=${1:-ppc64le}
case $arch in
ppc64le) debarch=ppc64el ;;
*) die "no foreign userland for $arch" ;;
esac
root=$BUILD/$arch-root
pkgs=(bash coreutils grep sed gawk kmod procps util-linux mount diffutils
	findutils hostname perl-base libc-bin stress-ng)
want="${pkgs[*]} (usrmerged)"
[ "$(cat "$root/.klp-packages" 2>/dev/null)" = "$want" ] && exit 0

step "userland: $debarch packages for the $arch guest"
log=$BUILD/logs/userland-$arch.log
mkdir -p "$BUILD/logs"
sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
if ! dpkg --print-foreign-architectures | grep -qx "$debarch"; then
	$sudo dpkg --add-architecture "$debarch"
fi
# A mirror in sync can fail one index now and then: retry, and go on with
# what was fetched if the main one for $debarch is there.
for i in 1 2 3; do
	$sudo apt-get update >"$log" 2>&1 && break
	if [ "$i" = 3 ]; then
		ls /var/lib/apt/lists/*_dists_bookworm_main_binary-"${debarch}"_Packages* >/dev/null 2>&1 ||
			die "apt-get update failed for $debarch, see $log"
		echo -n " (some indexes failed, see $log)" >&2
	fi
	sleep $((i * 5))
done

# The packages and everything they depend on, for $debarch only.
list=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
	--no-breaks --no-replaces --no-enhances "${pkgs[@]/%/:$debarch}" 2>>"$log" |
	sed -n "s/^\([a-z0-9][^ :]*\):$debarch\$/\1/p" | sort -u)
debs=$BUILD/$arch-debs
rm -rf "$debs" "$root"
mkdir -p "$debs" "$root"
# Virtual packages have nothing to download: keep the real ones.
real=$(apt-cache show --no-all-versions $(printf "%s:$debarch " $list) 2>/dev/null |
	sed -n 's/^Package: //p' | sort -u)
(cd "$debs" && apt-get download $(printf "%s:$debarch " $real)) >>"$log" 2>&1 ||
	die "apt-get download failed, see $log"
for d in "$debs"/*.deb; do
	dpkg-deb -x "$d" "$root"
done
# Merge /bin, /sbin and /lib into /usr, as Debian's usrmerge does on a real
# system (the kselftests call /bin/stat, which coreutils puts in /usr/bin).
for d in bin sbin lib lib64; do
	[ -d "$root/$d" ] && [ ! -L "$root/$d" ] || continue
	mkdir -p "$root/usr/$d"
	cp -a "$root/$d/." "$root/usr/$d/"
	rm -rf "${root:?}/$d"
	ln -s "usr/$d" "$root/$d"
done
mkdir -p "$root"/{proc,sys,dev,tmp,run,mnt,root} "$root/var/tmp"
# What maintainer scripts (update-alternatives, dash's postinst) would add.
ln -sf bash "$root/bin/sh"
ln -sf gawk "$root/usr/bin/awk"
echo "root:x:0:0:root:/root:/bin/bash" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"
echo "$want" >"$root/.klp-packages"
step_done "$(ls "$debs" | wc -l) packages"
