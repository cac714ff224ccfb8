#!/usr/bin/env bash
# usage: scripts/vm.sh [-t SECONDS] [-n NAME] [-o] ARCH COMMAND [ARG...]
# Boot build/BASE/ARCH (or $BUILD_OUT) under QEMU with 2 vCPUs and run COMMAND in the
# guest, from the run directory build/BASE/ARCH/runs/NAME; return its exit status.
#   -t  hard timeout for the whole boot (default 900 s): the guest is killed.
#   -n  name of the run directory (default: vm).
#   -o  show the command's output live on stdout as well.
# VM_APPEND: added to the kernel command line (e.g. preempt=full).
# The run directory gets console.log (the serial console), output.log (the
# command's stdout and stderr), status, and reports (kernel reports found in
# the console). Exit status: COMMAND's, or 125 when the guest did not finish,
# or 126 when the console has an Oops, BUG, WARNING, lockdep or KASAN report.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

timeout=900
name=vm
show=0
while getopts "t:n:o" opt; do
	case $opt in
	t) timeout=$OPTARG ;;
	n) name=$OPTARG ;;
	o) show=1 ;;
	*) die "usage: $0 [-t SECONDS] [-n NAME] [-o] ARCH COMMAND [ARG...]" ;;
	esac
done
shift $((OPTIND - 1))
[ $# -ge 2 ] || die "usage: $0 [-t SECONDS] [-n NAME] [-o] ARCH COMMAND [ARG...]"
arch=$1
shift
arch_vars "$arch"
OUT=${BUILD_OUT:-$OUT}
[ -f "$OUT/$KIMAGE" ] || die "no kernel at $OUT/$KIMAGE: run 'make build ARCH=$arch' first"

run=$OUT/runs/$name
rm -rf "$run"
mkdir -p "$run"
{
	echo "# written by scripts/vm.sh"
	echo "export KDIR=$(printf %q "$OUT")"
	printf '%q ' "$@"
	echo
} >"$run/cmd"

mem=${VM_MEM:-2G}
append="ro panic=-1 klp.top=$TOP klp.cmd=$run/cmd rootfstype=9p"
append+=" rootflags=trans=virtio,version=9p2000.L,msize=512000 root=klproot"
qemu=()
case $arch in
x86_64)
	root=/
	init=$TOP/scripts/guest-init
	# TCG unless VM_ACCEL=kvm: KVM is not there on every machine, and
	# where it is, nested, QEMU 7.2 may abort at boot ("failed to set MSR
	# 0x10a"); the harness's figures are TCG's.
	# Both vCPUs on one host thread unless VM_TCG_THREAD=multi: QEMU 7.2's
	# multi-threaded TCG sometimes lets a vCPU run an int3 that another
	# vCPU's text_poke_bp() has already replaced, and the guest dies with
	# "Oops: int3" in the function being patched (seen in the upstream
	# test-syscall.sh, on the pristine base too: see the README).
	if [ "${VM_ACCEL:-tcg}" = kvm ]; then
		accel=(-accel kvm -cpu host)
	else
		accel=(-accel "tcg,thread=${VM_TCG_THREAD:-single}" -cpu max)
	fi
	qemu=(qemu-system-x86_64 -machine q35 "${accel[@]}" -kernel "$OUT/$KIMAGE")
	append+=" console=ttyS0"
	;;
ppc64le)
	root=$BUILD/ppc64le-root
	"$TOP/scripts/userland.sh" ppc64le
	# The guest sees its own root: give it the harness's paths to mount on.
	mkdir -p "$root$TOP"
	cp "$TOP/scripts/guest-init" "$root/klp-init"
	init=/klp-init
	qemu=(qemu-system-ppc64 -machine pseries,cap-cfpc=broken,cap-sbbc=broken,cap-ibs=broken,cap-ccf-assist=off
		-accel tcg -cpu power9 -kernel "$OUT/$KIMAGE")
	append+=" console=hvc0"
	;;
esac
append+=" init=$init${VM_APPEND:+ $VM_APPEND}"

# guest-init mounts the kernel's installed modules (build.sh, bases whose
# selftests modprobe) on /lib/modules of the read-only root: it needs the
# mount point, which a machine without a kernel of its own may not have.
if [ -d "$OUT/modules" ] && [ ! -d "$root/lib/modules" ]; then
	sudo=
	[ "$(id -u)" = 0 ] || [ "$root" != / ] || sudo=sudo
	$sudo mkdir -p "$root/lib/modules" ||
		die "no $root/lib/modules to mount the modules on, and cannot make it"
fi

qemu+=(-smp 2 -m "$mem" -display none -monitor none -no-reboot
	-serial "file:$run/console.log"
	-fsdev "local,id=root,path=$root,security_model=none,readonly=on"
	-device "virtio-9p-pci,fsdev=root,mount_tag=klproot"
	-fsdev "local,id=top,path=$TOP,security_model=none"
	-device "virtio-9p-pci,fsdev=top,mount_tag=klptop"
	-append "$append")
echo "${qemu[*]}" >"$run/qemu-cmdline"

if [ "$show" = 1 ]; then
	touch "$run/output.log"
	tail -F -n +1 "$run/output.log" 2>/dev/null &
	tailpid=$!
fi
rc=0
timeout -k 10 "$timeout" "${qemu[@]}" </dev/null >"$run/qemu.log" 2>&1 || rc=$?
if [ "$show" = 1 ]; then
	sleep 0.5
	kill "$tailpid" 2>/dev/null || true
fi

# Kernel reports anywhere in the console fail the run.
grep -E "$REPORT_RE" \
	"$run/console.log" >"$run/reports" 2>/dev/null || true
if [ -s "$run/reports" ]; then
	echo "error: kernel report in the guest console (log: ${run#"$TOP"/}/console.log):" >&2
	head -n 5 "$run/reports" >&2
	exit 126
fi
if [ ! -f "$run/status" ]; then
	if [ "$rc" = 124 ]; then
		echo "error: guest timed out after ${timeout}s (log: ${run#"$TOP"/}/console.log)" >&2
	else
		echo "error: guest ended without a status, qemu exit $rc (log: ${run#"$TOP"/}/console.log, ${run#"$TOP"/}/qemu.log)" >&2
	fi
	exit 125
fi
exit "$(cat "$run/status")"
