#!/usr/bin/env bash
# usage: scripts/tree.sh [--force]
# Make the tree of BASE, build/BASE/linux (see lib.sh): a git tree whose first commit (tag "base") is the pristine
# Debian linux-source-BASE, with patches/BASE/series applied on top by git am.
# An existing tree that already matches patches/ is left alone (so builds stay
# incremental); one with commits that are not in patches/ is only replaced
# with --force (or FORCE=1).
set -euo pipefail
. "$(dirname "$0")/lib.sh"

force=${FORCE:-0}
[ "${1:-}" = --force ] && force=1

"$TOP/scripts/source.sh"
[ -r "$BASE_TARBALL" ] ||
	die "$BASE_TARBALL not found: run 'make deps' (apt-get install $BASE_PACKAGE)"
rtree=${TREE#"$TOP"/}

patch_ids() {
	git patch-id --stable | cut -d' ' -f1 | sort
}

stamp=$(stat -c '%s %Y' "$BASE_TARBALL")

if [ -d "$TREE/.git" ] && git -C "$TREE" rev-parse -q --verify base >/dev/null &&
	[ "$(cat "$TREE/.git/klp-base-stamp" 2>/dev/null)" = "$stamp" ]; then
	have=$(git -C "$TREE" format-patch --stdout base..HEAD | patch_ids)
	want=$(series_files | xargs -r cat | patch_ids)
	dirty=$(git -C "$TREE" status --porcelain --untracked-files=no)
	if [ "$have" = "$want" ] && [ -z "$dirty" ]; then
		echo "tree: $rtree is Linux $(kernel_version "$TREE") + $(series_files | wc -l) patches, up to date" >&2
		exit 0
	fi
	if [ "$force" != 1 ]; then
		[ -n "$dirty" ] && die "$rtree has uncommitted changes; commit them and run 'make export', or 'make tree BASE=$BASE FORCE=1' to throw them away"
		die "$rtree has commits that differ from patches/$BASE/; run 'make export' to keep them, or 'make tree BASE=$BASE FORCE=1' to throw them away"
	fi
	step "tree: resetting $rtree to base"
	git -C "$TREE" am --abort >/dev/null 2>&1 || true
	git -C "$TREE" reset -q --hard base
	step_done
else
	step "tree: extracting $(basename "$BASE_TARBALL")"
	rm -rf "$TREE"
	mkdir -p "$TREE"
	tar -xf "$BASE_TARBALL" -C "$TREE" --strip-components=1
	step_done
	step "tree: importing the base into git"
	cd "$TREE"
	git init -q
	git config user.name "$GIT_NAME"
	git config user.email "$GIT_EMAIL"
	git config core.abbrev 12
	# Debian's top-level .gitignore ignores everything ("/*"): force the add.
	# New files in this tree need 'git add -f' for the same reason.
	git add -A -f
	# A fixed date makes the base commit, and so every commit on it, the same
	# from one 'make tree' to the next.
	GIT_AUTHOR_DATE='2000-01-01T00:00:00Z' GIT_COMMITTER_DATE='2000-01-01T00:00:00Z' \
		git commit -q -m "Linux $(kernel_version .) (Debian $BASE_PACKAGE, pristine)"
	git tag base
	echo "$stamp" >.git/klp-base-stamp
	step_done
fi

version=$(kernel_version "$TREE")
n=0
while read -r p; do
	[ -n "$p" ] || continue
	[ -f "$p" ] || die "patches/$BASE/series names $(basename "$p"), which is not in patches/$BASE/"
	if ! git -C "$TREE" am -q --committer-date-is-author-date "$p" >"$BASE_DIR/am.log" 2>&1; then
		git -C "$TREE" am --abort >/dev/null 2>&1 || true
		cat "$BASE_DIR/am.log" >&2
		die "$(basename "$p") does not apply to the installed base, Linux $version ($BASE_TARBALL); patches/$BASE/ is for another $BASE.y: port it (README, 'Bases')"
	fi
	n=$((n + 1))
done < <(series_files)
echo "tree: $rtree is Linux $version + $n patches" >&2
