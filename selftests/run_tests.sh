#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run toytcp's selftests and print one TAP stream.
#
# Runs inside the test VM, as root:
#   TOYTCP_KO=/abs/path/toytcp.ko selftests/run_tests.sh [TEST...]
# TEST is one of: states interop errors module reliability api memory firewall ports diag cong
# wire_states wire_options wire_recovery wire_close wire_data wire_icmp
# wire_peers (default: all, in that order).
# Besides the C binaries, a TEST may be a script TEST.sh printing TAP
# ("ok N TEST: ..."): preload (tools/preload with curl, python3 -m
# http.server and iperf3), toytcp-ss (tools/toytcp-ss) and nstat (nstat(8)
# reads /proc/net/toytcp_netstat), also run by
# default, after the others.
# The module is expected to be loaded already (it is loaded from $TOYTCP_KO
# if not) and is loaded when this script ends, with its parameters as found.
# Tests that compare with Linux TCP run over it as their "linux" variants
# (selftests/tt_linux.h), in the same run.
#
# Output: "TAP version 13", one "ok N <test>: <fixture>.<variant>.<name>"
# or "not ok N ..." line per test case (with the harness's "# ..."
# diagnostics in between); a case that skipped keeps its reason, as TAP
# writes it: "ok N <test>: <name> # SKIP <reason>".  Then a final
# "kernel_log_clean" case, "# N passed, N failed, N skipped, N known gaps"
# and "1..N".  A program that exits with the kselftest skip code (4) without
# running a case (the module is not loaded) is one skipped line.
#
# Known gaps: selftests/known-gaps lists test cases that fail today because
# toytcp lacks what they test, each with the issue that tracks it.  Such a
# case that fails is reported "ok N ... # XFAIL <why>" and counted as a
# known gap; one that passes is a failure ("not ok N ... # known gap passes
# now"), so that the list cannot hide a fix, nor outlive one.
# Exit status: 0 if no case failed (skips and known gaps are not failures),
# 1 otherwise.

set -u

SELF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ALL="states interop errors module reliability api memory firewall ports diag cong"
ALL="$ALL wire_states wire_options wire_recovery wire_close wire_data wire_icmp"
ALL="$ALL wire_peers"
ALL="$ALL preload toytcp-ss nstat"
TESTS=${*:-$ALL}

# Per-binary time limits in seconds (TCG is slow; the harness also bounds
# each test case).
# TOYTCP_TIME_SCALE (an integer, default 1) multiplies them, for slow
# kernels (make check-debug: KASAN and lockdep under TCG).
declare -A LIMIT=([states]=900 [interop]=1200 [errors]=300 [module]=900 [reliability]=1200 [api]=600 [memory]=600 [firewall]=600 [ports]=900 [diag]=400 [cong]=600
		  [wire_states]=300 [wire_options]=200 [wire_recovery]=200
		  [wire_close]=200 [wire_data]=300 [wire_icmp]=120
		  [wire_peers]=400
		  [preload]=600 [toytcp-ss]=300 [nstat]=120)
SCALE=${TOYTCP_TIME_SCALE:-1}

n=0
passed=0
failed=0
skipped=0
gaps=0

# "binary: fixture.variant.test" -> why, from selftests/known-gaps.
declare -A GAP=() GAPSEEN=() RAN=()
while IFS=$'\t' read -r key why; do
	case "$key" in
	"" | \#*) continue ;;
	esac
	GAP[$key]=${why:-known gap}
done < <(sed 's/[[:space:]]\{2,\}/\t/; s/ *\t */\t/' "$SELF_DIR/known-gaps" 2>/dev/null)

# A TAP directive "# SKIP" (any case) after the description.
is_skip() {
	local d=${1,,}

	[[ $d =~ \#[[:space:]]*skip([^[:alnum:]_]|$) ]]
}

emit() { # "ok"|"not ok" description
	n=$((n + 1))
	if [ -n "${GAP[$2]+x}" ]; then
		GAPSEEN[$2]=1
		if [ "$1" = "ok" ] && ! is_skip "$2"; then
			echo "not ok $n $2 # known gap passes now: remove it from selftests/known-gaps"
			failed=$((failed + 1))
		else
			echo "ok $n $2 # XFAIL ${GAP[$2]}"
			gaps=$((gaps + 1))
		fi
		return
	fi
	echo "$1 $n $2"
	if [ "$1" != "ok" ]; then
		failed=$((failed + 1))
	elif is_skip "$2"; then
		skipped=$((skipped + 1))
	else
		passed=$((passed + 1))
	fi
}

echo "TAP version 13"

# Build (incrementally) so the binaries match the sources.
if ! make -s -C "$SELF_DIR" >/tmp/toytcp-selftests-build.log 2>&1; then
	sed 's/^/# build: /' /tmp/toytcp-selftests-build.log
	for t in $TESTS; do
		emit "not ok" "$t: build failed"
	done
	echo "1..$n"
	exit 1
fi

# Writable module parameters, restored at the end: a test killed by its
# time limit cannot restore what it changed (retries, syn_retries ...).
PARAMS="tw_timeout_ms syn_retries retries min_rto_ms delack_ms"
declare -A PARAM0=()
save_params() {
	local p v
	for p in $PARAMS; do
		v=$(cat "/sys/module/toytcp/parameters/$p" 2>/dev/null) && PARAM0[$p]=$v
	done
}
restore_params() {
	local p
	for p in "${!PARAM0[@]}"; do
		[ -w "/sys/module/toytcp/parameters/$p" ] &&
			echo "${PARAM0[$p]}" > "/sys/module/toytcp/parameters/$p"
	done
}

if [ ! -d /sys/module/toytcp ]; then
	if [ -n "${TOYTCP_KO:-}" ] && [ -r "$TOYTCP_KO" ]; then
		echo "# toytcp was not loaded: insmod $TOYTCP_KO"
		insmod "$TOYTCP_KO" 2>&1 | sed 's/^/# /'
	else
		echo "# toytcp is not loaded and TOYTCP_KO is not set"
	fi
fi
save_params

KLOG_START=$(dmesg 2>/dev/null | wc -l)

for t in $TESTS; do
	bin="$SELF_DIR/$t"
	[ -x "$bin" ] || [ ! -x "$bin.sh" ] || bin="$bin.sh"
	if [ ! -x "$bin" ]; then
		emit "not ok" "$t: no such test binary"
		continue
	fi
	limit=$((${LIMIT[$t]:-600} * SCALE))
	planned=0
	skipwhy=
	seen=0
	bad=0
	rc=0
	while IFS= read -r line; do
		case "$line" in
		__TOYTCP_EXIT\ *)
			rc=${line#__TOYTCP_EXIT }
			;;
		"ok "* | "not ok "*)
			if [ "${line#not }" != "$line" ]; then
				st="not ok"
				rest=${line#not ok }
			else
				st="ok"
				rest=${line#ok }
			fi
			rest=${rest#* }		# drop the binary's own number
			rest=${rest#"$t: "}	# and a script's own "TEST: "
			seen=$((seen + 1))
			[ "$st" = ok ] || bad=$((bad + 1))
			emit "$st" "$t: $rest"
			;;
		1..*)
			planned=${line#1..}
			[ "${line#*# SKIP }" = "$line" ] || skipwhy=${line#*# SKIP }
			planned=${planned%% *}
			;;
		"TAP version"* | "")
			;;
		\#*)
			echo "# $t: ${line#\#}"
			;;
		*)
			echo "# $t: $line"
			;;
		esac
	done < <(cd "$SELF_DIR/.." &&
		 timeout -k 10 "$limit" "$bin" 2>&1; rc=$?; echo; echo "__TOYTCP_EXIT $rc")

	RAN[$t]=$seen
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		emit "not ok" "$t: killed after ${limit}s"
	fi
	if [ "$rc" = 4 ] && [ "$seen" = 0 ]; then
		emit "ok" "$t # SKIP ${skipwhy:-exit status 4 (the kselftest skip code)}"
	elif [ "$seen" -lt "$planned" ]; then
		emit "not ok" "$t: $((planned - seen)) of $planned tests reported nothing (exit $rc)"
	elif [ "$rc" != 0 ] && [ "$bad" = 0 ] && [ "$rc" != 124 ] && [ "$rc" != 137 ]; then
		emit "not ok" "$t: exited with status $rc"
	fi
done

# A known gap of a program that ran but has no such case any more.
for key in "${!GAP[@]}"; do
	[ -z "${GAPSEEN[$key]+x}" ] || continue
	t=${key%%: *}
	[ "${RAN[$t]:-0}" = 0 ] || emit "not ok" "known-gaps: $key: no such test case ran"
done

# Namespaces and tracefs instances left behind by tests that were killed.
for ns in $(ip netns list 2>/dev/null | awk '/^tt-/ {print $1}'); do
	ip netns del "$ns" 2>/dev/null
done
for inst in /sys/kernel/tracing/instances/tt-*; do
	[ -d "$inst" ] || continue
	for e in "$inst"/events/*/*/enable; do
		echo 0 > "$e" 2>/dev/null
	done
	rmdir "$inst" 2>/dev/null
done

# Kernel log: nothing the tests did may have made the kernel complain.
PAT='BUG:|kernel BUG|WARNING:|Oops|general protection|Call Trace|still has objects|refcount_t|corruption|Poison overwritten|Redzone|Object already free|KFENCE|use-after-free|double free|soft lockup|hung_task|blocked for more than|KASAN:|UBSAN:|ODEBUG:|DEBUG_LOCKS_WARN_ON|non-static key|unreferenced object'
problems=$(dmesg 2>/dev/null | tail -n +$((KLOG_START + 1)) | grep -E "$PAT")
if [ -n "$problems" ]; then
	echo "$problems" | head -50 | sed 's/^/# dmesg: /'
	emit "not ok" "kernel_log_clean"
else
	emit "ok" "kernel_log_clean"
fi

# Leave the module loaded, as found.
if [ ! -d /sys/module/toytcp ] && [ -n "${TOYTCP_KO:-}" ]; then
	echo "# reloading $TOYTCP_KO"
	insmod "$TOYTCP_KO" 2>&1 | sed 's/^/# /'
fi
restore_params
[ -d /sys/module/toytcp ] || echo "# toytcp is NOT loaded at the end"

echo "# $passed passed, $failed failed, $skipped skipped, $gaps known gaps"
echo "1..$n"
[ "$failed" = 0 ]
