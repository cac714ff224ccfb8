#!/usr/bin/env bash
# usage: scripts/demo.sh [ARCH]
# Build (incrementally) and boot the patched kernel, and show a livepatch
# transition blocked by sleeping tasks being unblocked by the signal file.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

arch=${1:-x86_64}
arch_vars "$arch"
"$TOP/scripts/build.sh" "$arch"
echo "demo: booting $arch (console: ${OUT#"$TOP"/}/runs/demo/console.log)" >&2
echo
"$TOP/scripts/vm.sh" -o -t 600 -n demo "$arch" "$TOP/scripts/guest-demo.sh" "$OUT/kselftest"
