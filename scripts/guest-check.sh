#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs INSIDE the test VM (make check boots one per kernel through
# scripts/vm.sh), from the repository root:
#
#   scripts/guest-check.sh OUTDIR
#
# Loads $TOYTCP_KO (default OUTDIR/toytcp.ko), runs selftests/run_tests.sh
# with TOYTCP_KO exported, then the benchmark's smoke run (bench/smoke.sh),
# unloads the module, has SLUB check its caches, on a kernel with kmemleak
# (make check-debug) has it scan for leaks, and leaves in OUTDIR (shared
# with the host):
#
#   results.tap     TAP: "ok - load ...", everything run_tests.sh and
#                   bench/smoke.sh printed, "ok - unload ..."; written as
#                   the run goes
#   dmesg.txt       the kernel log from just before the load to the end
#   dmesg-live.txt  the same, streamed while it runs (survives a crash)
#   kmemleak.txt    with kmemleak: every leak it suspected after the unload
#   dkms-guest.log  the DKMS install and modprobe of what the host built
#                   (scripts/dkms.sh), when OUTDIR/dkms exists
#   done            written last: "status N"
#
# The host counts every line of results.tap that starts with "ok" or
# "not ok" as one test case ("ok ... # SKIP reason": a skipped one), and
# judges the kernel log (scripts/scan-log.sh).  The last thing the guest
# says is its own count: "guest-check: N passed, N failed, N skipped,
# N known gaps" (a known gap: "ok ... # XFAIL why", see selftests/run_tests.sh).
# TESTS_TIMEOUT (seconds, default 2100) bounds run_tests.sh.
set -euo pipefail
exec 2>&1

[ $# = 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
ko=$(realpath -m "${TOYTCP_KO:-$out/toytcp.ko}")
kver=$(uname -r)
tap=$out/results.tap
tests_timeout=${TESTS_TIMEOUT:-2100}
failed=0

rm -f "$out/done" "$out/dmesg.txt" "$out/dmesg-live.txt"
: > "$tap"

say() { echo "guest-check: $*"; }
# result ok|fail NAME [DIAGNOSTIC...]
result() {
	local st=$1 name=$2

	shift 2
	if [ "$st" = ok ]; then
		echo "ok - $name ($kver)" | tee -a "$tap"
	else
		echo "not ok - $name ($kver)" | tee -a "$tap"
		failed=1
	fi
	for d in "$@"; do
		echo "# $d" | tee -a "$tap"
	done
}
loaded() { [ -d /sys/module/toytcp ]; }

say "kernel $kver, module $ko"
dmesg -C
# Stream the log to the shared directory, so that what a crash leaves
# behind reaches the host; errors and oopses also go to the VM console.
dmesg -W > "$out/dmesg-live.txt" 2>&1 &
live=$!
dmesg -n 4

# kmemleak (the debug kernel has it): forget what it suspected during boot
# and stop its periodic scans; step 5 scans once, after the unload.
kml=/sys/kernel/debug/kmemleak
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug 2>/dev/null || true
if [ -w "$kml" ]; then
	echo scan=off > "$kml" 2>/dev/null || true
	echo clear > "$kml" 2>/dev/null || true
fi

# 1. Load.
load_ok=0
if [ ! -e "$ko" ]; then
	result fail "load toytcp.ko" "$ko does not exist"
elif msg=$(insmod "$ko" 2>&1) && loaded; then
	result ok "load toytcp.ko"
	load_ok=1
else
	result fail "load toytcp.ko" "${msg:-insmod succeeded but /sys/module/toytcp is missing}"
fi

# 2. The selftests; they may unload and load the module themselves.
if ! loaded; then
	say "module not loaded: selftests not run"
elif [ ! -x selftests/run_tests.sh ]; then
	result fail "selftests/run_tests.sh" "missing or not executable"
else
	say "running selftests/run_tests.sh (timeout ${tests_timeout}s)"
	rc=0
	TOYTCP_KO=$ko timeout -k 10 "$tests_timeout" selftests/run_tests.sh 2>&1 |
		tee -a "$tap" || rc=${PIPESTATUS[0]}
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		result fail "selftests/run_tests.sh finished" "timed out after ${tests_timeout}s"
	elif [ "$rc" != 0 ] && ! grep -q '^not ok' "$tap"; then
		result fail "selftests/run_tests.sh finished" "exit status $rc, but no test reported failure"
	elif ! grep -q -E '^(not )?ok\b' <(grep -v -E '^(not )?ok - (load|unload) toytcp.ko' "$tap"); then
		result fail "selftests/run_tests.sh finished" "it reported no test results"
	fi
	[ "$rc" = 0 ] || failed=1
fi

# 2b. The benchmark's smoke run: every workload of bench/ttbench at a tiny
# size over toytcp, so that the benchmark cannot rot.  One TAP line per
# run ("ok N bench-smoke: bulk toytcp"); a hang is one failure more.
if ! loaded; then
	say "module not loaded: bench/smoke.sh not run"
elif [ -x bench/smoke.sh ]; then
	say "running bench/smoke.sh (timeout ${SMOKE_TIMEOUT_ALL:-600}s)"
	rc=0
	TOYTCP_KO=$ko timeout -k 10 "${SMOKE_TIMEOUT_ALL:-600}" bench/smoke.sh 2>&1 |
		tee -a "$tap" || rc=${PIPESTATUS[0]}
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		result fail "bench/smoke.sh finished" "timed out after ${SMOKE_TIMEOUT_ALL:-600}s"
	elif [ "$rc" != 0 ] && ! grep -q '^not ok [0-9]* bench-smoke:' "$tap"; then
		result fail "bench/smoke.sh finished" "exit status $rc, but no run reported failure"
	fi
	[ "$rc" = 0 ] || failed=1
fi

# 2c. The fuzzers, FUZZ_DURATION seconds each (default 30): "ok - fuzz
# ..." lines from fuzz/run.sh; the unload below catches what they leak.
if loaded && [ -x fuzz/run.sh ]; then
	say "running fuzz/run.sh (${FUZZ_DURATION:-30}s per fuzzer)"
	rc=0
	FUZZ_DURATION=${FUZZ_DURATION:-30} fuzz/run.sh 2>&1 | tee -a "$tap" ||
		rc=${PIPESTATUS[0]}
	[ "$rc" = 0 ] || failed=1
fi

# 2d. The kselftest way: `make -C selftests run_tests` runs programs
# through the kernel's kselftest runner (lib.mk); one quick program shows it
# works (the full suite ran above through run_tests.sh).  Step 3b runs it
# again without the module: every program must then skip (exit code 4).
# ksft_run loaded|unloaded: errors (and, unloaded, toytcp-ss.sh too)
# through lib.mk's run_tests.
ksft_run() {
	local log=$out/ksft-$1.log scripts=

	[ "$1" = loaded ] || scripts=toytcp-ss.sh
	make -s -C selftests run_tests TEST_GEN_PROGS=errors TEST_PROGS="$scripts" \
		> "$log" 2>&1 || true
	case $1 in
	loaded)
		if grep -q -E '^ok 1 selftests: .*errors$' "$log"; then
			result ok "make -C selftests run_tests (kselftest runner)"
		else
			result fail "make -C selftests run_tests (kselftest runner)" \
				"$(grep -E '^(not )?ok' "$log" | head -n 3)" "see $log"
		fi
		;;
	unloaded)
		if [ "$(grep -c -E '^ok [12] selftests: .* # SKIP$' "$log")" = 2 ]; then
			result ok "without the module, selftests skip (exit code 4)"
		else
			result fail "without the module, selftests skip (exit code 4)" \
				"$(grep -E '^(not )?ok' "$log" | head -n 3)" "see $log"
		fi
		;;
	esac
}
if loaded; then
	say "make -C selftests run_tests (errors)"
	ksft_run loaded
fi

# 3. Unload.  Sockets in TIME-WAIT (tw_timeout_ms, 60 s by default) and
# orphans still sending their FIN to a peer whose link a test took down
# (up to 6 backed-off retransmissions) hold the module for a while, so keep
# trying for up to 300 s; what is left after that is a leak.
unload() {
	local tries=0 msg

	if [ -r /proc/net/toytcp_snmp ]; then
		say "before unload: $(grep -E '^(LiveSockets|CurrEstab) ' /proc/net/toytcp_snmp | tr '\n' ' ')"
	fi
	until msg=$(rmmod toytcp 2>&1); do
		tries=$((tries + 1))
		[ "$tries" -lt 300 ] || break
		[ "$tries" != 1 ] || say "$msg; retrying for up to 300s"
		sleep 1
	done
	if loaded; then
		cat /proc/net/toytcp >&2 2>/dev/null
		result fail "unload toytcp.ko" "$msg" \
			"refcnt $(cat /sys/module/toytcp/refcnt 2>/dev/null || echo ?)"
	elif [ "$tries" -gt 0 ]; then
		result ok "unload toytcp.ko" "rmmod succeeded after ${tries}s"
	else
		result ok "unload toytcp.ko"
	fi
}

if [ "$load_ok" = 0 ]; then
	say "the module never loaded: nothing to unload"
elif loaded; then
	unload
else
	say "module not loaded after the tests; loading it again to check the unload"
	if msg=$(insmod "$ko" 2>&1) && loaded; then
		unload
	else
		result fail "unload toytcp.ko" "could not load the module again after the tests: $msg"
	fi
fi

# 3b. Without the module, the kselftest runner reports each program skipped.
if ! loaded; then
	ksft_run unloaded
fi

# 4. Have SLUB check every cache for overwritten redzones and poison (the
# guest runs with slub_debug=FZPU); findings go to the kernel log.
for f in /sys/kernel/slab/*/validate; do
	echo 1 > "$f" 2>/dev/null || true
done
sleep 1

# 5. kmemleak: scan, and count every suspected leak whose allocation
# backtrace goes through toytcp.  The module is gone by now, so its frames
# print as bare addresses in the module area (0xffffffffc...); named
# frames ("[toytcp]") come from leaks found before, e.g. by the module
# suite's own unloads.  Those leaks go to the kernel log as well, where
# scan-log.sh finds them ("unreferenced object").
if [ -w "$kml" ]; then
	say "kmemleak: scanning"
	t0=$(date +%s)
	echo scan > "$kml" 2>/dev/null || true
	cat "$kml" > "$out/kmemleak.txt" 2>/dev/null || true
	leaks=$(awk '
		/^unreferenced object/ { if (rec != "" && hit) printf "%s", rec; rec = ""; hit = 0; bt = 0 }
		{ rec = rec $0 "\n" }
		bt && /\[toytcp\]|0xffffffff[c-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]$/ { hit = 1 }
		/^  backtrace/ { bt = 1 }
		END { if (rec != "" && hit) printf "%s", rec }' "$out/kmemleak.txt")
	n=$(printf '%s' "$leaks" | grep -c '^unreferenced object' || true)
	say "kmemleak: $(grep -c '^unreferenced object' "$out/kmemleak.txt" || true) suspected leak(s), $n from toytcp ($(($(date +%s) - t0))s)"
	if [ "$n" -gt 0 ]; then
		printf '%s' "$leaks" | while IFS= read -r l; do
			echo "toytcp kmemleak: $l" > /dev/kmsg
		done
		result fail "kmemleak: no leaks from toytcp" "$n object(s) leaked, see $out/kmemleak.txt"
		printf '%s' "$leaks" | head -n 40 | sed 's/^/# /' | tee -a "$tap"
	else
		result ok "kmemleak: no leaks from toytcp"
	fi
fi

# 6. DKMS: install what scripts/dkms.sh built on the host for this kernel
# into the guest's /lib/modules (an overlay), modprobe it, remove it.
if [ -d "$out/dkms" ] && [ -x scripts/dkms.sh ]; then
	say "dkms: install, modprobe, remove"
	scripts/dkms.sh guest "$out" 2>&1 | tee -a "$tap" || failed=1
fi

kill "$live" 2>/dev/null || true
wait "$live" 2>/dev/null || true
dmesg > "$out/dmesg.txt"
say "kernel log: $(wc -l < "$out/dmesg.txt") lines in $out/dmesg.txt"
n_ok=$(grep -c -E '^ok\b' "$tap" || true)
n_skip=$(grep -c -i -E '^ok\b.*#[[:space:]]*skip([^[:alnum:]_]|$)' "$tap" || true)
n_gap=$(grep -c -E '^ok\b.*# XFAIL' "$tap" || true)
n_fail=$(grep -c -E '^not ok\b' "$tap" || true)
say "$((n_ok - n_skip - n_gap)) passed, $n_fail failed, $n_skip skipped, $n_gap known gaps"
echo "status $failed" > "$out/done"
exit "$failed"
