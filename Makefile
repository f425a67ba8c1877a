# SPDX-License-Identifier: GPL-2.0
# mbatch: build, test and install. See README.md.
#
#   make [all]        module (+ negative control) for every kernel, tools,
#                     selftests
#   make check        deps, lint, all, then the selftests in a qemu VM on
#                     every kernel (what CI runs)
#   make lint         checkpatch, sparse, W=1, coccinelle, shellcheck
#   make demo|bench   boot a VM running tools/demo.sh | tools/bench/bench.sh
#   make profile      boot a VM running tools/bench/profile.sh
#   make install      install mbatch.ko (updates/), mbatchctl and the
#                     mbatch-serve.service unit (SYSTEMDUNITDIR, its
#                     ExecStart pointing at PREFIX/sbin)
#   make dkms-install register the sources with DKMS and install
#
# KDIR=<kernel build tree> selects one kernel; the default is every
# installed Debian kernel (/usr/src/linux-headers-*-amd64 with a Makefile).
# Each kernel builds in its own tree: build/<kver>/kmod/mbatch.ko (the
# release module, what install and DKMS use), build/<kver>/test/kmod/mbatch.ko
# (the same with the fault injection knobs of kmod/fault.h, what the
# selftests load) and build/<kver>/control/mbatch_control.ko.

SRC := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
BUILD := $(SRC)/build
PREFIX ?= /usr/local
SYSTEMDUNITDIR ?= /lib/systemd/system
VERSION := $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' $(SRC)/dkms.conf)

ifneq ($(KDIR),)
KDIRS := $(KDIR)
else
KDIRS := $(foreach d,$(sort $(wildcard /usr/src/linux-headers-*-amd64)),\
		$(if $(wildcard $(d)/Makefile),$(d)))
endif
kver = $(shell $(SRC)/tools/kbuild.sh kver $(1))
KVERS = $(foreach d,$(KDIRS),$(call kver,$(d)))

# Sources taken from the kernel source package at build time, never copied
# into the repository.
LINUX_SRC_TAR ?= $(lastword $(sort $(wildcard /usr/src/linux-source-6.1.tar.*)))
LSRC := $(BUILD)/linux-source
KSFT := $(BUILD)/ksft

export MBATCH_BUILD := $(BUILD)

all: module tools selftests

module: control
	@[ -n "$(strip $(KDIRS))" ] || { echo "no kernel headers found: make deps" >&2; exit 1; }
	@set -e; for d in $(KDIRS); do \
		v=$$($(SRC)/tools/kbuild.sh kver $$d); \
		echo "  MODULE  $$v"; \
		$(SRC)/tools/kbuild.sh mbatch $$d $(BUILD)/$$v; \
		echo "  MODULE  $$v (test build: fault injection)"; \
		$(SRC)/tools/kbuild.sh mbatch $$d $(BUILD)/$$v/test \
			CONFIG_MBATCH_FAULTS=y; \
	done

control:
	@[ -n "$(strip $(KDIRS))" ] || { echo "no kernel headers found: make deps" >&2; exit 1; }
	@set -e; for d in $(KDIRS); do \
		v=$$($(SRC)/tools/kbuild.sh kver $$d); \
		echo "  CONTROL $$v"; \
		$(SRC)/tools/kbuild.sh control $$d $(BUILD)/$$v/control; \
	done

tools:
	$(MAKE) -C $(SRC)/tools/mbatchctl
	$(MAKE) -C $(SRC)/tools/bench

$(LSRC)/.stamp: $(LINUX_SRC_TAR)
	@[ -n "$(LINUX_SRC_TAR)" ] || { echo "linux-source-6.1 missing: make deps" >&2; exit 1; }
	rm -rf $(LSRC) && mkdir -p $(LSRC)
	tar -xJf $(LINUX_SRC_TAR) -C $(LSRC) --strip-components=1 --wildcards \
		'*/scripts/checkpatch.pl' '*/scripts/spelling.txt' \
		'*/scripts/const_structs.checkpatch' '*/scripts/coccinelle/*' \
		'*/tools/testing/selftests/kselftest.h' \
		'*/tools/testing/selftests/kselftest_harness.h'
	touch $@

$(KSFT)/kselftest_harness.h: $(LSRC)/.stamp
	mkdir -p $(KSFT)
	cp $(LSRC)/tools/testing/selftests/kselftest.h \
	   $(LSRC)/tools/testing/selftests/kselftest_harness.h $(KSFT)/

linux-source: $(LSRC)/.stamp

selftests: $(KSFT)/kselftest_harness.h
	$(MAKE) -C $(SRC)/selftests/mbatch

deps:
	$(SRC)/tools/deps.sh

lint: linux-source
	KDIRS="$(KDIRS)" $(SRC)/tools/lint.sh

# A lint failure does not stop the VM run: it is reported as one failed
# test in the final count.
check:
	$(MAKE) -f $(SRC)/Makefile deps
	@mkdir -p $(BUILD)
	@if $(MAKE) -f $(SRC)/Makefile lint; then s=ok; else s=failed; fi; \
		echo $$s >$(BUILD)/lint.status
	$(MAKE) -f $(SRC)/Makefile all
	LINT_STATUS=$(BUILD)/lint.status $(MAKE) -f $(SRC)/Makefile vm-check

vm-check:
	@[ -n "$(strip $(KVERS))" ] || { echo "no kernels found: make deps" >&2; exit 1; }
	$(SRC)/tools/vm/check.sh $(KVERS)

# soak: the two-node crash test alone, SOAK_CYCLES kills of the
# participant's VM per kernel (make check does one)
SOAK_CYCLES ?= 20
soak: deps-quiet all
	@[ -n "$(strip $(KVERS))" ] || { echo "no kernels found: make deps" >&2; exit 1; }
	MBATCH_CRASH_CYCLES=$(SOAK_CYCLES) $(SRC)/tools/vm/check.sh --crash $(KVERS)

# demo and bench boot one kernel: KDIR's, else the newest installed
VM_KVER = $(lastword $(KVERS))

# profile: where bench's 4 KiB rows spend their time (needs linux-perf).
# BENCH_ENV="KEY=VALUE ...": settings for the guest script (bench.sh, profile.sh)
demo bench profile: deps-quiet
	@s=$(if $(filter demo,$@),tools/demo.sh,tools/bench/$@.sh); \
	if [ ! -f $(SRC)/$$s ]; then echo "$@: not yet ($$s does not exist)"; exit 0; fi; \
	$(MAKE) -f $(SRC)/Makefile all && \
	$(MAKE) -f $(SRC)/Makefile vm-exec VM_SCRIPT=$$s \
		$(if $(filter-out demo,$@),VM_APPEND="$(BENCH_APPEND) $(BENCH_ENV)")

# The benchmark measures the module, not the test kernel's debug options.
BENCH_APPEND := slub_debug=- init_on_free=0 page_poison=0 \
	kfence.sample_interval=0 workqueue.debug_force_rr_cpu=0

vm-exec:
	@[ -n "$(VM_KVER)" ] || { echo "no kernels found: make deps" >&2; exit 1; }
	$(SRC)/tools/vm/check.sh --exec $(VM_SCRIPT) $(VM_KVER)

deps-quiet:
	@$(SRC)/tools/deps.sh

install: module tools
	@set -e; for d in $(KDIRS); do \
		v=$$($(SRC)/tools/kbuild.sh kver $$d); \
		$(MAKE) -C $$d M=$(BUILD)/$$v INSTALL_MOD_DIR=updates \
			$(if $(DESTDIR),INSTALL_MOD_PATH=$(DESTDIR)) modules_install; \
		$(if $(DESTDIR),:,depmod -a $$v); \
	done
	@if [ -x $(SRC)/tools/mbatchctl/mbatchctl ]; then \
		install -D -m 0755 $(SRC)/tools/mbatchctl/mbatchctl \
			$(DESTDIR)$(PREFIX)/sbin/mbatchctl; \
	fi
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed 's|/usr/sbin/mbatchctl|$(PREFIX)/sbin/mbatchctl|' \
		$(SRC)/tools/systemd/mbatch-serve.service \
		>$(DESTDIR)$(SYSTEMDUNITDIR)/mbatch-serve.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/mbatch-serve.service

DKMS_SRC := /usr/src/mbatch-$(VERSION)

dkms-install:
	rm -rf $(DKMS_SRC) && mkdir -p $(DKMS_SRC)
	cp -r $(SRC)/Kbuild $(SRC)/dkms.conf $(SRC)/kmod $(SRC)/include $(DKMS_SRC)/
	dkms add -m mbatch -v $(VERSION) 2>/dev/null || true
	@set -e; for v in $(KVERS); do \
		dkms build -m mbatch -v $(VERSION) -k $$v; \
		dkms install -m mbatch -v $(VERSION) -k $$v --force; \
	done

print-kernels:
	@for d in $(KDIRS); do echo "$$($(SRC)/tools/kbuild.sh kver $$d) $$d"; done

clean:
	rm -rf $(BUILD)
	@for d in tools/mbatchctl tools/bench; do \
		if [ -f $(SRC)/$$d/Makefile ]; then $(MAKE) -C $(SRC)/$$d clean; fi; \
	done

.PHONY: all module control tools selftests deps lint check vm-check vm-exec soak demo \
	bench profile deps-quiet install dkms-install print-kernels clean linux-source
