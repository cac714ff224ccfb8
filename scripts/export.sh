#!/usr/bin/env bash
# usage: scripts/export.sh
# Write the commits base..HEAD of the BASE's tree into patches/BASE/ (format-patch)
# and rewrite patches/series, with the cover letter 0000-cover-letter.patch
# ([PATCH 0/N], not in patches/series: 'make tree' does not apply it). The
# cover letter's subject and text (everything above the shortlog) are kept
# from the one already in patches/; git writes the shortlog and the diffstat
# anew. The output has no dates, hashes or version strings that change by
# themselves: exporting twice gives the same bytes.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

git -C "$TREE" rev-parse -q --verify base >/dev/null || die "no tree in ${TREE#"$TOP"/}: run 'make tree BASE=$BASE'"
[ -z "$(git -C "$TREE" status --porcelain --untracked-files=no)" ] ||
	die "${TREE#"$TOP"/} has uncommitted changes: commit them first (new files need 'git add -f')"

cover=$PATCHES/0000-cover-letter.patch
old=$(mktemp)
trap 'rm -f "$old"' EXIT
[ ! -f "$cover" ] || cp "$cover" "$old"

mkdir -p "$PATCHES"
rm -f "$PATCHES"/*.patch
git -C "$TREE" format-patch -q --zero-commit --no-signature --cover-letter \
	-o "$PATCHES" base..HEAD
# The cover letter: git dates it now; date it like the last patch instead,
# and put the subject and the text back.
python3 - "$cover" "$old" "$(git -C "$TREE" log -1 --format=%aD HEAD)" "$GIT_NAME" <<'EOF'
import re
import sys

path, old_path, date, name = sys.argv[1:]
new = open(path).read()
old = open(old_path).read()
subject, blurb = "*** SUBJECT HERE ***", "*** BLURB HERE ***"
# The text ends where git's shortlog begins: "<author> (<count>):".
m = re.search(r"^Subject: \[PATCH[^]]*\] ([^\n]*(?:\n [^\n]*)*)\n\n((?s:.*?))\n\n" +
              re.escape(name) + r" \(\d+\):\n", old, re.M)
if m:
    subject, blurb = m.group(1), m.group(2)
else:
    print("export: no cover letter in patches/ yet: write its subject and text "
          "in patches/0000-cover-letter.patch", file=sys.stderr)
new = re.sub(r"^Date: .*$", lambda _: "Date: " + date, new, count=1, flags=re.M)
new = new.replace("*** SUBJECT HERE ***", subject, 1).replace("*** BLURB HERE ***", blurb, 1)
open(path, "w").write(new)
EOF
(cd "$PATCHES" && ls -1 -- *.patch 2>/dev/null | grep -vxF 0000-cover-letter.patch || true) >"$PATCHES/series"
echo "export: $(wc -l <"$PATCHES/series") patches and the cover letter in ${PATCHES#"$TOP"/}/" >&2
