#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make run`: build toytcp.ko for the 6.12 test kernel (or $KERNEL, e.g.
# KERNEL=6.1) and examples/echo, boot a VM, and in it load the module, run
# the echo demonstration (scripts/guest-demo.sh) and unload the module.
# Exits 1 if a step failed or the kernel log shows a problem.
set -euo pipefail

# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"
cd "$REPO"

if [ -n "${KERNEL:-}" ]; then
	k=$(resolve_kver "$KERNEL")
else
	k=$(default_kver)
fi
out=build/$k
mkdir -p "$out"
rm -f "$out"/{demo-dmesg.txt,console.log,toytcp.ko}

printf '==== building toytcp.ko for %s\n' "$k"
build_module "$k"
printf '\n==== building examples/echo\n'
make -C examples

printf '\n==== booting a VM with %s (takes about 20 s)\n' "$k"
rc=0
scripts/vm.sh --timeout "${VM_TIMEOUT:-900}" --console "$out/console.log" "$k" \
	"scripts/guest-demo.sh $out" || rc=$?

printf '\n==== kernel log during the demonstration\n'
if [ ! -e "$out/demo-dmesg.txt" ]; then
	case "$rc" in
	124) echo "The VM was killed: it timed out or hung (see above)." ;;
	255) echo "The guest kernel panicked (an oops does that) or QEMU failed." ;;
	*) echo "The VM ended before the demonstration finished (exit status $rc)." ;;
	esac
	echo "Last lines of the VM console ($out/console.log):"
	tail -n 40 "$out/console.log" | sed 's/^/  | /'
	rc=1
elif scripts/scan-log.sh "$out/demo-dmesg.txt"; then
	echo "clean: no warnings, oopses or memory debugging reports ($out/demo-dmesg.txt)"
else
	rc=1
fi
if [ "$rc" = 0 ]; then
	echo "make run: everything worked"
else
	echo "make run: something failed (see above)"
fi
exit "$rc"
