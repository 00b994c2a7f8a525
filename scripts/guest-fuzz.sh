#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs INSIDE the test VM (`make fuzz` boots one through scripts/vm.sh),
# from the repository root:
#
#   scripts/guest-fuzz.sh OUTDIR
#
# Loads OUTDIR/toytcp.ko, runs fuzz/run.sh (FUZZ_DURATION etc. pass
# through), unloads the module (waiting up to 300 s for TIME-WAIT and
# orphans) and leaves in OUTDIR: fuzz.tap (TAP, written as it goes),
# fuzz-dmesg.txt (the kernel log), fuzz-done ("status N", written last).
set -uo pipefail
exec 2>&1

out=$(cd "$1" && pwd)
ko=${TOYTCP_KO:-$out/toytcp.ko}
kver=$(uname -r)
tap=$out/fuzz.tap
failed=0
rm -f "$out/fuzz-done" "$out/fuzz-dmesg.txt"
: > "$tap"

dmesg -C
dmesg -W > "$out/fuzz-dmesg-live.txt" 2>&1 &
live=$!
if msg=$(insmod "$ko" 2>&1); then
	echo "ok - load toytcp.ko ($kver)" | tee -a "$tap"
	fuzz/run.sh 2>&1 | tee -a "$tap" || failed=1
	tries=0
	until msg=$(rmmod toytcp 2>&1); do
		tries=$((tries + 1))
		[ "$tries" -lt 300 ] || break
		sleep 1
	done
	if [ -d /sys/module/toytcp ]; then
		cat /proc/net/toytcp 2>/dev/null | sed 's/^/# /' | tee -a "$tap"
		echo "not ok - unload toytcp.ko ($kver) # $msg" | tee -a "$tap"
		failed=1
	else
		echo "ok - unload toytcp.ko ($kver) # after ${tries}s" | tee -a "$tap"
	fi
else
	echo "not ok - load toytcp.ko ($kver) # $msg" | tee -a "$tap"
	failed=1
fi
for f in /sys/kernel/slab/*/validate; do
	echo 1 > "$f" 2>/dev/null || true
done
sleep 1
kill "$live" 2>/dev/null
wait "$live" 2>/dev/null
dmesg > "$out/fuzz-dmesg.txt"
echo "status $failed" > "$out/fuzz-done"
exit "$failed"
