#!/usr/bin/env bash
# usage: scripts/deps.sh [PACKAGE...]
# Install the Debian 12 packages the harness needs (and the extra PACKAGEs),
# unless they are all installed already. Retries a failing 'apt-get update'.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

pkgs=(linux-source-6.12 linux-source-6.1 build-essential flex bison bc libelf-dev libssl-dev cpio
	xz-utils rsync ccache kmod procps util-linux perl python3 python3-ply python3-git
	qemu-system-x86 qemu-system-ppc gcc-powerpc64le-linux-gnu libc6-dev-ppc64el-cross
	stress-ng	# for 'make stress': the x86_64 guest runs the host's root
	"$@")

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=
[ "$(id -u)" = 0 ] || sudo=sudo
step "deps: installing ${#missing[@]} Debian packages"
log=$BUILD/logs/deps.log
mkdir -p "$(dirname "$log")"
for i in 1 2 3 4 5; do
	$sudo apt-get update >"$log" 2>&1 && break
	# An index that fails (the ppc64el one of bookworm-security, "Mirror
	# sync in progress?", seen for days) need not be one we install from:
	# go on, the install says if a package cannot be had.
	if [ "$i" = 5 ]; then
		echo " apt-get update failed 5 times (see $log), installing anyway" >&2
		break
	fi
	sleep $((i * 5))
done
for i in 1 2 3; do
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends \
		"${missing[@]}" >>"$log" 2>&1 && break
	[ "$i" = 3 ] && die "apt-get install ${missing[*]} failed, see $log"
	sleep 10
done
step_done
