# klp-signal: the on-demand livepatch fake signal, as a patch series for
# Linux 6.12 (patches/6.12/) and 6.1 (patches/6.1/), being ported to 7.3
# (patches/7.3/), and the harness that builds, boots and tests it.
# Each target is one script in scripts/; see README.md.

ARCH ?= x86_64
# BASE: the kernel the series is for, 6.12 (the default), 6.1 or 7.3: its
# patches are patches/BASE/, its tree and builds build/linux, build/ARCH
# (6.12) or build/BASE/... (another base). See README.md, "Bases".
BASE ?= 6.12
export BASE
# What 'make check' runs, as BASE:ARCH pairs: with neither BASE nor ARCH
# given, 6.12 on both arches (6.1 passes too, but is left out for CI's
# time: README, "Bases"); with BASE, that base on both arches (or on
# ARCH); with ARCH alone, 6.12 on ARCH.
ifeq ($(origin ARCH),command line)
CHECK_ARCHES ?= $(ARCH)
else
CHECK_ARCHES ?= x86_64 ppc64le
endif
ifeq ($(origin BASE),command line)
CHECK_RUNS ?= $(addprefix $(BASE):,$(CHECK_ARCHES))
else ifeq ($(origin ARCH),command line)
CHECK_RUNS ?= $(addprefix 6.12:,$(CHECK_ARCHES))
else
CHECK_RUNS ?= 6.12:x86_64 6.12:ppc64le
endif

.PHONY: all demo check pristine bench stress deps tree export build userland run clean help

all: help

help:
	@echo "BASE=6.12|6.1|7.3    the base for every target (default 6.12)"
	@echo "make demo            boot the patched kernel, unblock a stalled transition"
	@echo "make check [ARCH=]   install, tree, checkpatch, build, boot, kselftests"
	@echo "make pristine [ARCH=] the series' tests on the base with only the test patches: each must fail"
	@echo "make bench [ARCH=]   benchmark the fake signal (docs/benchmarks.md)"
	@echo "make stress [ARCH=]  hammer the signal file on a lockdep/KASAN kernel"
	@echo "make deps            install the Debian packages the harness needs"
	@echo "make tree [FORCE=1]  build/linux: the base (tag 'base') + patches/"
	@echo "make export          write base..HEAD of build/linux back to patches/"
	@echo "make build ARCH=..   build the kernel and the kselftests into build/ARCH"
	@echo "make userland        the ppc64le guest's root, from Debian's ppc64el packages"
	@echo "make run ARCH=.. CMD='...'   run one command in a guest"

demo: deps tree
	@scripts/demo.sh $(ARCH)

check:
	@scripts/check.sh $(CHECK_RUNS)

pristine:
	@scripts/pristine.sh $(ARCH)

bench: deps tree
	@scripts/bench.sh $(ARCH)

stress: deps tree
	@scripts/stress.sh $(ARCH)

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
