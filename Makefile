# SPDX-License-Identifier: GPL-2.0
#
# toytcp: a TCP in a loadable kernel module, in its own socket family.
#
#   make [module]     build toytcp.ko for the running kernel (KDIR=...)
#   make setup        install what the VM targets need (Debian 12, root)
#   make run          build, boot a 6.12 VM, load toytcp.ko, demonstrate it
#   make check        build and run the selftests in a VM per test kernel
#   make check-debug  the same on a debug 6.12 (KASAN, lockdep, kmemleak,
#                     UBSAN, KFENCE), built once from linux-source-6.12
#   make checkpatch   the kernel's checkpatch.pl --strict on the sources
#   make sparse       a sparse (C=2) build against the 6.12 headers
#   make examples     build examples/echo
#   make bench        toytcp against Linux TCP in one 6.12 VM (doc/benchmark.md)
#   make bench-smoke  the benchmark at tiny sizes, in a VM (bench/smoke.sh)
#   make plot         cwnd, ssthresh and bytes in flight of CUBIC and reno over
#                     a lossy netem path, in a 6.12 VM: build/plot/cwnd.png
#   make tools        build tools/preload/libtoytcp-preload.so (LD_PRELOAD)
#   make fuzz         the fuzzers in a 6.12 VM, 10 minutes each (fuzz/)
#   make install      install toytcp.ko (modules_install) and linux/toytcp.h
#   make dkms-src     copy the module's sources to /usr/src/toytcp-VERSION
#   make clean
#
# W=1 (extra warnings) and C=1/C=2 (sparse) pass through to Kbuild.  The
# module itself is described in Kbuild; Kbuild reads that file, not this one.

KVER		?= $(shell uname -r)
KDIR		?= /lib/modules/$(KVER)/build
TOOLS		:= /var/cache/toytcp/linux-tools
KERNELS_FILE	:= /var/lib/toytcp/kernels
# The 6.12 test kernel, for the sparse target.
KVER_612	= $(shell grep -s '^6\.12\.' $(KERNELS_FILE) | head -n 1)
KDIR_612	= /usr/src/linux-headers-$(KVER_612)

.DEFAULT_GOAL	:= module
.NOTPARALLEL:
.PHONY: all module modules setup run check check-debug checkpatch sparse examples \
	clean help bench bench-smoke plot tools fuzz install dkms-src

# make install: the module under /lib/modules/KVER/updates (INSTALL_MOD_PATH
# prefixes it, as for the kernel's own modules_install) and the uapi header
# under PREFIX/include (DESTDIR prefixes that).
PREFIX		?= /usr/local
VERSION		:= $(shell sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
DKMS_SRC	?= $(DESTDIR)/usr/src/toytcp-$(VERSION)

all module modules:
	@if [ ! -d "$(KDIR)" ]; then \
		echo "No kernel build directory at $(KDIR)." >&2; \
		echo "Install the headers (apt install linux-headers-$(KVER)) or" >&2; \
		echo "name a tree: make KDIR=/path/to/linux-headers-<version>" >&2; \
		exit 1; \
	fi
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

setup:
	@scripts/setup.sh

install: module
	$(MAKE) -C $(KDIR) M=$(CURDIR) INSTALL_MOD_DIR=updates modules_install
	@# Debian's header packages have no System.map, so Kbuild skips depmod.
	@if [ -z "$(INSTALL_MOD_PATH)" ]; then \
		echo "depmod -a $$(cat $(KDIR)/include/config/kernel.release)"; \
		depmod -a "$$(cat $(KDIR)/include/config/kernel.release)"; \
	fi
	install -D -m 0644 uapi/linux/toytcp.h $(DESTDIR)$(PREFIX)/include/linux/toytcp.h

# What DKMS builds from (dkms.conf): the module's sources, nothing else.
dkms-src:
	rm -rf $(DKMS_SRC)
	mkdir -p $(DKMS_SRC)
	cp -r Kbuild dkms.conf module uapi $(DKMS_SRC)/

examples:
	$(MAKE) -C examples

run: setup
	@scripts/run.sh

# check.sh runs setup itself (a failure there is counted, too).
# TOYTCP_MAKE_PID lets it print its summary line after make's own error
# message, so that "N passed, N failed, N skipped, N known gaps" is the
# last line.
check:
	@TOYTCP_MAKE_PID=$$PPID scripts/check.sh

# The debug kernel is built by scripts/debug-kernel.sh and cached in
# /var/cache/toytcp/debug-kernel (~25 min on 2 cores the first time).
check-debug:
	@TOYTCP_MAKE_PID=$$PPID scripts/check.sh --debug

# bench/run.sh: build, boot one VM, run every workload over toytcp and
# over Linux TCP, print the table, write build/bench/ and doc/benchmark.md.
bench: setup
	@bench/run.sh

bench-smoke: setup
	@BENCH_SMOKE=1 bench/run.sh

# scripts/plot.sh: build, boot one VM, one transfer per congestion control
# algorithm with toytcp:toytcp_probe recorded (scripts/guest-plot.sh), and
# gnuplot draws build/plot/cwnd.png (doc/cwnd.png is one such picture).
plot: setup
	@scripts/plot.sh

# scripts/fuzz.sh: build, boot one VM (KERNEL=6.12), run fuzz/segfuzz and
# fuzz/sysfuzz for FUZZ_DURATION seconds each (600; SEGFUZZ_DURATION,
# SYSFUZZ_DURATION, FUZZ_SEED), unload, judge the kernel log.
fuzz: setup
	@scripts/fuzz.sh

# The LD_PRELOAD library; tools/toytcp-ss is a Python script.
tools:
	$(MAKE) -C tools/preload

checkpatch:
	perl $(TOOLS)/scripts/checkpatch.pl --no-tree --strict -f \
		module/*.c module/*.h uapi/linux/*.h

sparse:
	@if [ -z "$(KVER_612)" ] || [ ! -d "$(KDIR_612)" ]; then \
		echo "No 6.12 headers: run 'make setup' first" >&2; exit 1; \
	fi
	@mkdir -p build
	@echo "sparse: make -C $(KDIR_612) M=$(CURDIR) C=2 modules"
	@rc=0; $(MAKE) -C $(KDIR_612) M=$(CURDIR) C=2 modules >build/sparse.log 2>&1 || rc=$$?; \
	cat build/sparse.log; \
	if [ $$rc != 0 ]; then echo "sparse: the build failed" >&2; exit $$rc; fi; \
	if grep -q -E '(^|/)(module|uapi)/[^:]*:[0-9]+:[0-9]+: (warning|error):' build/sparse.log; then \
		echo "sparse: warnings in toytcp's sources (log: build/sparse.log)" >&2; exit 1; \
	fi; \
	echo "sparse: no warnings in toytcp's sources"

clean:
	@kdir="$(KDIR)"; [ -d "$$kdir" ] || kdir=$$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | tail -n 1); \
	if [ -n "$$kdir" ] && [ -d "$$kdir" ]; then \
		$(MAKE) -s -C "$$kdir" M=$(CURDIR) clean; \
	else \
		rm -f toytcp.ko *.mod *.mod.c *.mod.o .*.cmd modules.order Module.symvers \
			module/*.o module/.*.cmd; \
	fi
	$(MAKE) -s -C examples clean
	$(MAKE) -s -C bench clean
	$(MAKE) -s -C tools/preload clean
	$(MAKE) -s -C fuzz clean
	@if [ -e selftests/Makefile ]; then $(MAKE) -s -C selftests clean; fi
	rm -rf build

help:
	@sed -n '3,25s/^# \{0,1\}//p' Makefile
