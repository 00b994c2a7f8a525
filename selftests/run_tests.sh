#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run toytcp's selftests and print one TAP stream.
#
# Runs inside the test VM, as root:
#   TOYTCP_KO=/abs/path/toytcp.ko selftests/run_tests.sh [TEST...]
# TEST is one of: states interop errors module (default: all, in that order).
# The module is expected to be loaded already (it is loaded from $TOYTCP_KO
# if not) and is loaded when this script ends, with tw_timeout_ms as found.
#
# TOYTCP_FAMILY=2 runs the same tests over Linux TCP (AF_INET) instead: a
# check that the expectations are Linux's.  The module is then not touched
# and the module tests are skipped.
#
# Output: "TAP version 13", one "ok N <test>: <fixture>.<variant>.<name>"
# or "not ok N ..." line per test case (with the harness's "# ..."
# diagnostics in between), a final "kernel_log_clean" case, then "1..N".
# Exit status: 0 if every case passed (or was skipped), 1 otherwise.

set -u

SELF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ALL="states interop errors module"
TESTS=${*:-$ALL}
FAMILY=${TOYTCP_FAMILY:-19}

# Per-binary time limits in seconds (TCG is slow; the harness also bounds
# each test case).
declare -A LIMIT=([states]=900 [interop]=1200 [errors]=300 [module]=900)

n=0
failed=0

emit() { # "ok"|"not ok" description
	n=$((n + 1))
	echo "$1 $n $2"
	[ "$1" = "ok" ] || failed=$((failed + 1))
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

TW0=
if [ "$FAMILY" != 2 ]; then
	if [ ! -d /sys/module/toytcp ]; then
		if [ -n "${TOYTCP_KO:-}" ] && [ -r "$TOYTCP_KO" ]; then
			echo "# toytcp was not loaded: insmod $TOYTCP_KO"
			insmod "$TOYTCP_KO" 2>&1 | sed 's/^/# /'
		else
			echo "# toytcp is not loaded and TOYTCP_KO is not set"
		fi
	fi
	TW0=$(cat /sys/module/toytcp/parameters/tw_timeout_ms 2>/dev/null)
fi

KLOG_START=$(dmesg 2>/dev/null | wc -l)

for t in $TESTS; do
	bin="$SELF_DIR/$t"
	if [ ! -x "$bin" ]; then
		emit "not ok" "$t: no such test binary"
		continue
	fi
	limit=${LIMIT[$t]:-600}
	planned=0
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
			seen=$((seen + 1))
			[ "$st" = ok ] || bad=$((bad + 1))
			emit "$st" "$t: $rest"
			;;
		1..*)
			planned=${line#1..}
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
	done < <(cd "$SELF_DIR/.." && TOYTCP_FAMILY=$FAMILY \
		 timeout -k 10 "$limit" "$bin" 2>&1; echo; echo "__TOYTCP_EXIT $?")

	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		emit "not ok" "$t: killed after ${limit}s"
	fi
	if [ "$seen" -lt "$planned" ]; then
		emit "not ok" "$t: $((planned - seen)) of $planned tests reported nothing (exit $rc)"
	elif [ "$rc" != 0 ] && [ "$bad" = 0 ] && [ "$rc" != 124 ] && [ "$rc" != 137 ]; then
		emit "not ok" "$t: exited with status $rc"
	fi
done

# Namespaces left behind by tests that were killed.
for ns in $(ip netns list 2>/dev/null | awk '/^tt-/ {print $1}'); do
	ip netns del "$ns" 2>/dev/null
done

# Kernel log: nothing the tests did may have made the kernel complain.
PAT='BUG:|kernel BUG|WARNING:|Oops|general protection|Call Trace|still has objects|refcount_t|corruption|Poison overwritten|Redzone|Object already free|KFENCE|use-after-free|double free|soft lockup|hung_task|blocked for more than'
problems=$(dmesg 2>/dev/null | tail -n +$((KLOG_START + 1)) | grep -E "$PAT")
if [ -n "$problems" ]; then
	echo "$problems" | head -50 | sed 's/^/# dmesg: /'
	emit "not ok" "kernel_log_clean"
else
	emit "ok" "kernel_log_clean"
fi

# Leave the module loaded, as found.
if [ "$FAMILY" != 2 ]; then
	if [ ! -d /sys/module/toytcp ] && [ -n "${TOYTCP_KO:-}" ]; then
		echo "# reloading $TOYTCP_KO"
		insmod "$TOYTCP_KO" 2>&1 | sed 's/^/# /'
	fi
	if [ -n "$TW0" ] && [ -w /sys/module/toytcp/parameters/tw_timeout_ms ]; then
		echo "$TW0" > /sys/module/toytcp/parameters/tw_timeout_ms
	fi
	[ -d /sys/module/toytcp ] || echo "# toytcp is NOT loaded at the end"
fi

echo "1..$n"
[ "$failed" = 0 ]
