#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run toytcp's fuzzers and print TAP lines, "ok - fuzz segfuzz: ..." or
# "not ok - fuzz ...", one per check, and "ok - fuzz: kernel log clean".
#
# Runs inside a test VM, as root, from the repository root, with toytcp
# loaded (scripts/guest-check.sh in `make check`, scripts/guest-fuzz.sh in
# `make fuzz`):
#
#   fuzz/run.sh [segfuzz|sysfuzz ...]        (default: both)
#
# FUZZ_DURATION seconds per fuzzer (default 30); SEGFUZZ_DURATION and
# SYSFUZZ_DURATION override it per fuzzer.  FUZZ_SEED fixes the seed (else
# each run picks one and prints it).  FUZZ_ARGS adds arguments to both.
# The binaries are built on the host (make -C fuzz); the guest sees the
# repository read-only.  Exit status 0 if every check passed.
set -u

cd "$(dirname "$0")/.."
failed=0
names=${*:-segfuzz sysfuzz}

PAT='BUG:|kernel BUG|WARNING:|Oops|general protection|Call Trace|still has objects|refcount_t|corruption|Poison overwritten|Redzone|Object already free|KFENCE|use-after-free|double free|soft lockup|hung_task|blocked for more than'
klog_start=$(dmesg 2>/dev/null | wc -l)

for name in $names; do
	bin=fuzz/$name
	upper=$(echo "$name" | tr a-z A-Z)
	dur_var=${upper}_DURATION
	dur=${!dur_var:-${FUZZ_DURATION:-30}}
	if [ ! -x "$bin" ]; then
		echo "not ok - fuzz $name: $bin missing (make -C fuzz)"
		failed=1
		continue
	fi
	args=(-d "$dur")
	[ -z "${FUZZ_SEED:-}" ] || args+=(-s "$FUZZ_SEED")
	# shellcheck disable=SC2206 # word splitting wanted
	args+=(${FUZZ_ARGS:-})
	rc=0
	bad=0
	while IFS= read -r line; do
		case "$line" in
		__FUZZ_EXIT\ *) rc=${line#__FUZZ_EXIT } ;;
		"ok "*) echo "ok - fuzz ${line#ok * }" ;;
		"not ok "*) echo "not ok - fuzz ${line#not ok * }"; bad=1 ;;
		"TAP version"* | 1..* | "") ;;
		\#*) echo "$line" ;;
		*) echo "# $line" ;;
		esac
	done < <(timeout -k 10 $((${dur%.*} + 240)) "$bin" "${args[@]}" 2>&1
		 echo "__FUZZ_EXIT $?")
	if [ "$rc" = 124 ] || [ "$rc" = 137 ]; then
		echo "not ok - fuzz $name: killed after $((${dur%.*} + 240))s"
		bad=1
	elif [ "$rc" != 0 ] && [ "$bad" = 0 ]; then
		echo "not ok - fuzz $name: exit status $rc"
		bad=1
	fi
	[ "$bad" = 0 ] || failed=1
done

# Regression reproducers of what the fuzzers found (fuzz/repro/*.c): each
# exits 0 when the bug is gone.
for r in efault-fin mcast-leak; do
	if out=$(timeout -k 5 90 "fuzz/repro/$r" 5 2>&1); then
		echo "ok - fuzz regression $r"
	else
		echo "not ok - fuzz regression $r"
		echo "$out" | tail -n 20 | sed 's/^/# /'
		failed=1
	fi
done

problems=$(dmesg 2>/dev/null | tail -n +$((klog_start + 1)) | grep -E "$PAT")
if [ -n "$problems" ]; then
	echo "$problems" | head -50 | sed 's/^/# dmesg: /'
	echo "not ok - fuzz: kernel log clean"
	failed=1
else
	echo "ok - fuzz: kernel log clean"
fi
exit "$failed"
