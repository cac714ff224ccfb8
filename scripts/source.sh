#!/usr/bin/env bash
# usage: scripts/source.sh
# Fetch the source package of a BASE that Debian 12 does not carry
# (BASE_SUITE in lib.sh: mainline's line, linux-source-7.3, is in
# trixie-backports), the Debian way and without touching the machine's
# apt setup: a sources list, package lists and cache of its own under
# build/apt (the suite on the mirror this machine gets bookworm from),
# 'apt-get download' of the .deb and 'dpkg-deb -x' into
# build/src/<package>/. Nothing is installed, no apt source is added,
# nothing else is upgraded. A no-op for the bases of bookworm (deps.sh
# installs those) and when the tarball is there already.
# When the suite no longer has the package, says so in one line with the
# linux-source packages it has; when it has a newer one too, says that.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ -n "$BASE_SUITE" ] || exit 0
[ ! -r "$BASE_TARBALL" ] || exit 0

# shellcheck disable=SC2016 # apt's own $(FIELD) format
# (--no-release-info: also before the machine's first 'apt-get update')
mirror=$(apt-get indextargets --no-release-info --format '$(REPO_URI) $(RELEASE)' \
	'Created-By: Packages' | awk '$2 == "bookworm" || $2 == "stable" { print $1; exit }')
[ -n "$mirror" ] || die "no bookworm mirror in this machine's apt sources to fetch $BASE_SUITE from"
apt=$BUILD/apt
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$BUILD/src" "$BUILD/logs"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $BASE_SUITE main" \
	>"$apt/sources.list"
opts=(-o Dir::Etc::SourceList="$apt/sources.list" -o Dir::Etc::SourceParts=/dev/null
	-o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache"
	-o APT::Architectures::="$(dpkg --print-architecture)" -o APT::Sandbox::User=root)
log=$BUILD/logs/source-$BASE.log

step "source: $BASE_PACKAGE from Debian's $BASE_SUITE"
ok=0
for i in 1 2 3; do
	# --error-on=any: apt-get update exits 0 when an index cannot be had.
	apt-get "${opts[@]}" --error-on=any update >"$log" 2>&1 && ok=1 && break
	sleep $((i * 5))
done
[ "$ok" = 1 ] || { echo " failed" >&2; die "apt-get update of $BASE_SUITE failed, see $log"; }
# The linux-source packages of the suite itself (apt-cache would add the
# installed ones of bookworm).
# shellcheck disable=SC2016 # apt's own $(FIELD) format
have=$(apt-get "${opts[@]}" indextargets --format '$(FILENAME)' 'Created-By: Packages' |
	xargs -r /usr/lib/apt/apt-helper cat-file |
	sed -n 's/^Package: \(linux-source-[0-9]*\.[0-9]*\)$/\1/p' | sort -uV | tr '\n' ' ')
[ -n "$have" ] || { echo " failed" >&2; die "no package index of $BASE_SUITE, see $log"; }
case " $have " in
*" $BASE_PACKAGE "*) ;;
*)	echo " not there" >&2
	die "$BASE_PACKAGE is no longer in Debian's $BASE_SUITE, which has: $have(README, 'Bases': moving the mainline line)" ;;
esac
newest=${have% }
newest=${newest##* }
rm -f "$BUILD/src/$BASE_PACKAGE"_*.deb
(cd "$BUILD/src" && apt-get "${opts[@]}" download "$BASE_PACKAGE") >>"$log" 2>&1 ||
	{ echo " failed" >&2; die "apt-get download $BASE_PACKAGE failed, see $log"; }
# Extracted aside, then moved in place: an interrupted run leaves no
# partial tarball for the next one to take as the base.
rm -rf "$BUILD/src/$BASE_PACKAGE" "$BUILD/src/$BASE_PACKAGE.tmp"
dpkg-deb -x "$BUILD/src/$BASE_PACKAGE"_*.deb "$BUILD/src/$BASE_PACKAGE.tmp"
mv "$BUILD/src/$BASE_PACKAGE.tmp" "$BUILD/src/$BASE_PACKAGE"
[ -r "$BASE_TARBALL" ] || die "$BASE_PACKAGE has no $(basename "$BASE_TARBALL")"
step_done "$(basename "$BUILD/src/$BASE_PACKAGE"_*.deb)"
[ "$newest" = "$BASE_PACKAGE" ] ||
	echo "source: note: $BASE_SUITE also has $newest, newer than the base $BASE_PACKAGE (README, 'Bases': moving the mainline line)" >&2
