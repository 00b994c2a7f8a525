#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Look through a kernel log for signs that something went wrong in the
# kernel: warnings, oopses, BUG reports, refcount and list corruption
# reports, KFENCE and SLUB debug reports, lockups, leaked slab objects;
# on the debug kernel (make check-debug) also KASAN, lockdep, UBSAN,
# DEBUG_OBJECTS and kmemleak reports.
#
#   scripts/scan-log.sh FILE...
#
# Prints the offending lines (and the first report in full) and exits 1 if
# there are any, exits 0 if the log is clean, 2 if no FILE is readable.
set -euo pipefail

PATTERNS=(
	'WARNING:'
	'\<BUG[: ]'			# BUG: ..., kernel BUG at, SLUB's "BUG kmalloc-64 (...)"
	'Oops'
	'general protection fault'
	'Kernel panic'
	'Call Trace:'
	'refcount_t:'
	'list_add corruption'
	'list_del corruption'
	'list_add_valid_or_report|list_del_entry_valid_or_report'
	'KFENCE'
	'={20,}'			# the rules around SLUB and KFENCE reports
	'Object padding'
	'Redzone'
	'Poison overwritten'
	'Freepointer corrupt'
	'Slab cache still has objects'
	'Objects remaining .* on __kmem_cache_shutdown'
	'double free'
	'UBSAN:'
	'soft lockup|hard LOCKUP'
	'rcu: .*detected stalls|rcu_sched self-detected stall'
	'INFO: task .* blocked for more than'
	'stack-protector|stack guard page'
	'unreferenced object'		# kmemleak (guest-check.sh logs toytcp's leaks)
	# The debug kernel.  Most of its reports also say "BUG:" or "WARNING:"
	# ("BUG: KASAN: slab-use-after-free in ...", "WARNING: possible
	# circular locking dependency detected", "BUG: sleeping function called
	# from invalid context"); these catch the rest and name the checker.
	'KASAN:'
	'possible (circular|recursive) locking|inconsistent lock state|possible irq lock inversion'
	'suspicious RCU usage|bad unlock balance|lock held when returning|held lock freed'
	'DEBUG_LOCKS_WARN_ON|INFO: trying to register non-static key'
	'ODEBUG:'			# DEBUG_OBJECTS: a live timer or work freed
	'sleeping function called from invalid context|scheduling while atomic'
)

[ $# -gt 0 ] || { echo "usage: $0 FILE..." >&2; exit 2; }
files=()
for f in "$@"; do
	[ -r "$f" ] && files+=("$f")
done
[ ${#files[@]} -gt 0 ] || { echo "scan-log: no readable log in: $*" >&2; exit 2; }

re=$(IFS='|'; echo "${PATTERNS[*]}")

hits=$(grep -E -h -- "$re" "${files[@]}" || true)
if [ -z "$hits" ]; then
	exit 0
fi

n=$(printf '%s\n' "$hits" | wc -l)
echo "kernel log: $n suspicious line(s) in ${files[*]}:"
printf '%s\n' "$hits" | head -n 60 | sed 's/^/  | /'
[ "$n" -le 60 ] || echo "  | ... ($((n - 60)) more)"
first=${files[0]}
for f in "${files[@]}"; do
	if grep -q -E -- "$re" "$f"; then
		first=$f
		break
	fi
done
line=$(grep -n -E -- "$re" "$first" | head -n 1 | cut -d: -f1)
echo "kernel log: the first report in context ($first, from line $((line > 5 ? line - 5 : 1))):"
sed -n "$((line > 5 ? line - 5 : 1)),$((line + 45))p" "$first" | sed 's/^/  | /'
exit 1
