#!/usr/bin/env bash
# usage: scripts/userland.sh ARCH
# Make the guest's root for a foreign ARCH (ppc64le) in build/ARCH-root, from
# Debian's packages for it: what the livepatch kselftests and the harness run
# in the guest (bash, coreutils, grep, sed, gawk, kmod, procps, util-linux...)
# and their dependencies, extracted with dpkg-deb. Nothing runs it on the
# host. Kept until the package list below changes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

arch=${1:-ppc64le}
case $arch in
ppc64le) debarch=ppc64el ;;
*) die "no foreign userland for $arch" ;;
esac
root=$BUILD/$arch-root
pkgs=(bash coreutils grep sed gawk kmod procps util-linux diffutils findutils
	perl-base libc-bin)
want="${pkgs[*]}"
[ "$(cat "$root/.klp-packages" 2>/dev/null)" = "$want" ] && exit 0

step "userland: $debarch packages for the $arch guest"
log=$BUILD/logs/userland-$arch.log
mkdir -p "$BUILD/logs"
sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
if ! dpkg --print-foreign-architectures | grep -qx "$debarch"; then
	$sudo dpkg --add-architecture "$debarch"
fi
for i in 1 2 3 4 5; do
	$sudo apt-get update >"$log" 2>&1 && break
	[ "$i" = 5 ] && die "apt-get update failed, see $log"
	sleep $((i * 5))
done

# The packages and everything they depend on, for $debarch only.
list=$(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts \
	--no-breaks --no-replaces --no-enhances "${pkgs[@]/%/:$debarch}" 2>>"$log" |
	sed -n "s/^\([a-z0-9][^ :]*\):$debarch\$/\1/p" | sort -u)
debs=$BUILD/$arch-debs
rm -rf "$debs" "$root"
mkdir -p "$debs" "$root"
for p in $list; do
	# Virtual packages have nothing to download.
	apt-cache show "$p:$debarch" >/dev/null 2>&1 || continue
	(cd "$debs" && apt-get download "$p:$debarch") >>"$log" 2>&1 ||
		die "apt-get download $p:$debarch failed, see $log"
done
for d in "$debs"/*.deb; do
	dpkg-deb -x "$d" "$root"
done
mkdir -p "$root"/{proc,sys,dev,tmp,run,mnt,root} "$root/var/tmp"
echo "root:x:0:0:root:/root:/bin/bash" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"
echo "$want" >"$root/.klp-packages"
step_done "$(ls "$debs" | wc -l) packages"
