# SPDX-License-Identifier: GPL-2.0
# Shell functions shared by the host-side scripts (sourced, not run).
# shellcheck shell=bash

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KERNELS_FILE=/var/lib/toytcp/kernels
# shellcheck disable=SC2034 # used by the scripts that source this
CACHE=/var/cache/toytcp

die() { echo "$(basename "$0"): $*" >&2; exit 125; }

# All test kernels, one per line (written by scripts/setup.sh).
all_kernels() {
	[ -s "$KERNELS_FILE" ] || die "$KERNELS_FILE missing: run 'make setup' first"
	grep -v '^[[:space:]]*$' "$KERNELS_FILE"
}

# resolve_kver 6.12 -> 6.12.95+deb12-amd64: an exact version with a
# /boot/vmlinuz, or the leading components of exactly one listed kernel.
resolve_kver() {
	local want=$1 k hits=()

	if [ -e "/boot/vmlinuz-$want" ]; then
		echo "$want"
		return
	fi
	while read -r k; do
		case "$k" in "$want"|"$want".*|"$want"-*|"$want"+*) hits+=("$k") ;; esac
	done < <(all_kernels)
	[ "${#hits[@]}" = 1 ] || die "kernel '$want' matches ${#hits[@]} of: $(all_kernels | tr '\n' ' ')"
	echo "${hits[0]}"
}

# The default kernel for `make run`: the 6.12 one, else the newest listed.
default_kver() {
	all_kernels | grep '^6\.12\.' | head -n 1 || all_kernels | sort -V | tail -n 1
}

# kdir_of KVER: the tree to build toytcp.ko against.  DEBUG_KVER and
# DEBUG_KDIR (set by check.sh --debug) name the debug kernel's.
kdir_of() {
	local k=$1

	if [ -n "${DEBUG_KDIR:-}" ] && [ "$k" = "${DEBUG_KVER:-}" ]; then
		echo "$DEBUG_KDIR"
	elif [ -d "/usr/src/linux-headers-$k" ]; then
		echo "/usr/src/linux-headers-$k"
	elif [ -d "/lib/modules/$k/build" ]; then
		echo "/lib/modules/$k/build"
	else
		die "no headers for $k (run 'make setup')"
	fi
}

# Kbuild's "clean" deletes every *.ko and *.o below M=, build/ included;
# keep build/ (the per-kernel toytcp.ko copies and results) out of its way.
KBUILD_KEEP=("RCS_FIND_IGNORE=\\( -path $REPO/build -o -name .git \\) -prune -o")

# build_module KVER: clean, build toytcp.ko against KVER's headers and copy
# it to build/KVER/toytcp.ko.  Compiler output goes to stdout.
build_module() {
	local k=$1 kdir

	kdir=$(kdir_of "$k")
	make -s -C "$kdir" M="$REPO" "${KBUILD_KEEP[@]}" clean >/dev/null
	make -C "$kdir" M="$REPO" modules || return 1
	mkdir -p "$REPO/build/$k"
	cp "$REPO/toytcp.ko" "$REPO/build/$k/toytcp.ko"
}
