#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make fuzz`: build toytcp.ko for one test kernel (KERNEL, default 6.12)
# and the fuzzers, boot one VM, run each fuzzer for FUZZ_DURATION seconds
# (default 600; SEGFUZZ_DURATION, SYSFUZZ_DURATION per fuzzer; FUZZ_SEED
# for a fixed seed; FUZZ_ARGS, e.g. -v, for both) through
# scripts/guest-fuzz.sh, then judge the kernel
# log.  Results in build/KVER/: fuzz.tap, fuzz-dmesg.txt, fuzz-console.log.
# The last line is "N passed, N failed"; exit status 1 if anything failed.
set -euo pipefail

# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"
cd "$REPO"

k=$(resolve_kver "${KERNEL:-6.12}")
out=build/$k
export FUZZ_DURATION=${FUZZ_DURATION:-600}
# Single-threaded TCG: sysfuzz turns SO_TIMESTAMP on and off, which flips
# the kernel's netstamp static key, and under multi-threaded TCG the other
# vCPU once ran the stale int3 of that code patching in
# __netif_receive_skb_core() ("Oops: int3", 2026-12-06, 60 s into a
# 10-minute sysfuzz run), as the debug kernel did before (check.sh).
export VM_TCG_THREAD=${VM_TCG_THREAD:-single}
seg=${SEGFUZZ_DURATION:-$FUZZ_DURATION}
sys=${SYSFUZZ_DURATION:-$FUZZ_DURATION}
mkdir -p "$out"
rm -f "$out"/fuzz.tap "$out"/fuzz-done "$out"/fuzz-dmesg.txt "$out"/fuzz-host.tap
host=$out/fuzz-host.tap
: > "$host"

echo "==== $k: building toytcp.ko and the fuzzers"
if build_module "$k" > "$out/build.log" 2>&1 && make -s -C fuzz >> "$out/build.log" 2>&1; then
	echo "ok - build toytcp.ko and fuzz/ ($k)" | tee -a "$host"
else
	tail -n 20 "$out/build.log"
	echo "not ok - build toytcp.ko and fuzz/ ($k)" | tee -a "$host"
fi

if [ -e "$out/toytcp.ko" ]; then
	echo "==== $k: fuzzing in a VM (segfuzz ${seg}s, sysfuzz ${sys}s)"
	rc=0
	vars="FUZZ_DURATION=$FUZZ_DURATION SEGFUZZ_DURATION=$seg SYSFUZZ_DURATION=$sys"
	[ -z "${FUZZ_SEED:-}" ] || vars+=" FUZZ_SEED=$FUZZ_SEED"
	[ -z "${FUZZ_ARGS:-}" ] || vars+=" FUZZ_ARGS='$FUZZ_ARGS'"
	scripts/vm.sh --timeout $((seg + sys + 900)) --console "$out/fuzz-console.log" "$k" \
		"$vars scripts/guest-fuzz.sh $out" || rc=$?
	if [ ! -e "$out/fuzz-done" ]; then
		echo "not ok - guest finished ($k) # VM exit status $rc; console: $out/fuzz-console.log" |
			tee -a "$host"
		tail -n 20 "$out/fuzz-console.log" | sed 's/^/  | /'
	fi
	logs=("$out/fuzz-dmesg.txt")
	[ -e "$out/fuzz-done" ] || logs=("$out/fuzz-dmesg-live.txt" "$out/fuzz-console.log")
	if scripts/scan-log.sh "${logs[@]}"; then
		echo "ok - kernel log clean ($k)" | tee -a "$host"
	else
		echo "not ok - kernel log clean ($k)" | tee -a "$host"
	fi
fi

p=$(cat "$out/fuzz.tap" "$host" 2>/dev/null | grep -c -E '^ok\b' || true)
f=$(cat "$out/fuzz.tap" "$host" 2>/dev/null | grep -c -E '^not ok\b' || true)
echo "${p:-0} passed, ${f:-0} failed"
[ "${f:-0}" = 0 ]
