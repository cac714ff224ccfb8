# klp-signal: the on-demand livepatch fake signal, as a patch series for
# mainline Linux 7.3 (patches/7.3/) with its stable backports to 6.12 and 6.1
# (patches/6.12/, patches/6.1/), and the harness that builds, boots and tests
# it. Each target is one script in scripts/; see README.md.

ARCH ?= x86_64
# BASE: the kernel the series is for, 7.3 (the default), 6.12 or 6.1: its
# patches are patches/BASE/, its tree and builds build/BASE/linux,
# build/BASE/ARCH. See README.md, "Bases".
BASE ?= 7.3
export BASE
# RT=1: the PREEMPT_RT kernel (x86_64, 7.3; configs/rt.config) for check,
# stress, build, run. README, "PREEMPT_RT".
RT ?= 0
export RT
BACKPORTS = 6.12 6.1
# What 'make check' runs, as BASE:ARCH pairs (ARCH "series": the series
# applies to the base's Debian source and is checkpatch-clean, nothing
# built). With neither BASE nor ARCH given: 7.3 on both arches, and the
# series of each backport (CI's time allows no more: README, "Bases");
# with BASE, that base on both arches (or on ARCH); with ARCH alone, 7.3
# on ARCH. 'make check-all': every base on both arches.
ifeq ($(origin ARCH),command line)
CHECK_ARCHES ?= $(ARCH)
else
CHECK_ARCHES ?= x86_64 ppc64le
endif
ifeq ($(RT),1)
CHECK_RUNS ?= 7.3:x86_64
else ifeq ($(origin BASE),command line)
CHECK_RUNS ?= $(addprefix $(BASE):,$(CHECK_ARCHES))
else ifeq ($(origin ARCH),command line)
CHECK_RUNS ?= $(addprefix 7.3:,$(CHECK_ARCHES))
else
CHECK_RUNS ?= 7.3:x86_64 7.3:ppc64le $(addsuffix :series,$(BACKPORTS))
endif
CHECK_ALL_RUNS = $(foreach b,7.3 $(BACKPORTS),$(b):x86_64 $(b):ppc64le)

.PHONY: all demo check check-all pristine bench stress matrix field deps tree export build userland run clean help

all: help

help:
	@echo "BASE=7.3|6.12|6.1    the base for every target (default 7.3)"
	@echo "make demo            boot the patched kernel, unblock a stalled transition"
	@echo "make check [BASE=] [ARCH=]  7.3: tree, checkpatch, build, boot, kselftests;"
	@echo "                     6.12, 6.1: their series apply, checkpatch (BASE= tests one in full)"
	@echo "make check-all       every base in full on both arches"
	@echo "RT=1                 the PREEMPT_RT kernel (x86_64, 7.3) for check, stress, build, run"
	@echo "make pristine [ARCH=] the series' tests on the base with only the test patches: each must fail"
	@echo "make bench [ARCH=]   benchmark the fake signal (docs/BASE/benchmarks.md)"
	@echo "make stress [ARCH=]  hammer the signal file on a lockdep/KASAN kernel"
	@echo "make matrix [ARCH=]  what real blocking syscalls return on the fake signal (after make build)"
	@echo "make field           7.3, x86_64: klp-build livepatches loaded by Debian's kpatch, real programs"
	@echo "make deps            install the Debian packages the harness needs"
	@echo "make tree [FORCE=1]  build/BASE/linux: the base (tag 'base') + patches/BASE/"
	@echo "make export          write base..HEAD of build/BASE/linux back to patches/BASE/"
	@echo "make build ARCH=..   build the kernel and the kselftests into build/BASE/ARCH"
	@echo "make userland        the ppc64le guest's root, from Debian's ppc64el packages"
	@echo "make run ARCH=.. CMD='...'   run one command in a guest"

demo: deps tree
	@scripts/demo.sh $(ARCH)

check:
	@scripts/check.sh $(CHECK_RUNS)

check-all:
	@scripts/check.sh $(CHECK_ALL_RUNS)

pristine:
	@scripts/pristine.sh $(ARCH)

bench: deps tree
	@scripts/bench.sh $(ARCH)

stress: deps tree
	@scripts/stress.sh $(ARCH)

matrix:
	@scripts/matrix.sh $(ARCH)

field: deps
	@BASE=7.3 scripts/tree.sh
	@scripts/field.sh

deps:
	@scripts/deps.sh

tree:
	@scripts/tree.sh

export:
	@scripts/export.sh

build:
	@scripts/build.sh $(ARCH)

userland:
	@scripts/userland.sh ppc64le

run:
	@scripts/vm.sh -o $(ARCH) bash -c '$(CMD)'

clean:
	rm -rf build
