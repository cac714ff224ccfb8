#!/usr/bin/env bash
# usage: scripts/export.sh
# Write the commits base..HEAD of build/linux into patches/ (git format-patch)
# and rewrite patches/series. The output has no dates, hashes or version
# strings that change by themselves: exporting twice gives the same bytes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

git -C "$TREE" rev-parse -q --verify base >/dev/null || die "no tree in build/linux: run 'make tree'"
[ -z "$(git -C "$TREE" status --porcelain --untracked-files=no)" ] ||
	die "build/linux has uncommitted changes: commit them first (new files need 'git add -f')"

mkdir -p "$PATCHES"
rm -f "$PATCHES"/*.patch
git -C "$TREE" format-patch -q --zero-commit --no-signature --no-cover-letter \
	-o "$PATCHES" base..HEAD
(cd "$PATCHES" && ls -1 -- *.patch 2>/dev/null || true) >"$PATCHES/series"
echo "export: $(wc -l <"$PATCHES/series") patches in patches/" >&2
