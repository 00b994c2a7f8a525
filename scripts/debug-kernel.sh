#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build (once, cached) the debug kernel of `make check-debug`: 6.12 from
# Debian's linux-source-6.12 package, configured with virtme-ng's defconfig
# (virtme-configkernel), selftests/config (its "=m" entries built in) and
# scripts/debug.config: KASAN, lockdep, kmemleak, KFENCE, UBSAN,
# DEBUG_OBJECTS ...
#
#   scripts/debug-kernel.sh
#
# Prints the build directory (a kernel tree built with O=, usable as KDIR
# for an out-of-tree module; the image to boot is DIR/vmlinuz) on
# its last line.  Everything lives under /var/cache/toytcp/debug-kernel
# (DEBUG_KERNEL_CACHE):
#
#   src-VERSION/         the package's sources, extracted once per version
#   build-VERSION-HASH/  one build per version and hash of the two config
#                        fragments; "done" in it once complete; a new one
#                        starts as a copy of the last (an incremental build)
#
# (a successful build deletes the others)
# so a new linux-source-6.12 or a changed fragment builds a new kernel,
# and an unchanged one returns at once.  The build runs under nice -n 19
# with make -j$DEBUG_KERNEL_JOBS (default 2); its log is build.log in the
# build directory.  Each option of the fragments must end up in .config as
# written, or this fails naming the ones that did not.
set -euo pipefail

# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"

top=${DEBUG_KERNEL_CACHE:-$CACHE/debug-kernel}
jobs=${DEBUG_KERNEL_JOBS:-2}
tarball=/usr/src/linux-source-6.12.tar.xz
frags=("$REPO/selftests/config" "$REPO/scripts/debug.config")

say() { echo "debug-kernel: $*" >&2; }

[ -r "$tarball" ] || die "$tarball missing (run 'make setup')"
command -v virtme-configkernel >/dev/null || die "virtme-configkernel missing (run 'make setup')"
for f in "${frags[@]}"; do
	[ -r "$f" ] || die "$f missing"
done
ver=$(dpkg-query -W -f='${Version}' linux-source-6.12 2>/dev/null) ||
	die "linux-source-6.12 is not installed (run 'make setup')"
hash=$(cat "${frags[@]}" | sha256sum | cut -c1-12)
src=$top/src-$ver
out=$top/build-$ver-$hash

# Older builds (other fragments, older package versions) and their sources
# are of no further use: several GB each.
prune() {
	local d

	for d in "$top"/build-* "$top"/src-*; do
		case "$d" in
		"$out"|"$src") ;;
		*) rm -rf "$d" ;;
		esac
	done
}

# A copy of the image for vng: given .../arch/x86/boot/bzImage it would take
# the tree for a kernel to install modules from (toytcp's is the only one).
finish() {
	cp "$out/arch/x86/boot/bzImage" "$out/vmlinuz"
	prune
	echo "$out"
}

if [ -e "$out/done" ] && [ -e "$out/arch/x86/boot/bzImage" ]; then
	say "cached: $out"
	finish
	exit 0
fi
mkdir -p "$top"

# 1. The sources, once per package version.
if [ ! -e "$src/Makefile" ]; then
	say "extracting $tarball into $src"
	rm -rf "$src.tmp"
	mkdir -p "$src.tmp"
	nice -n 19 tar -xJf "$tarball" -C "$src.tmp" --strip-components=1
	mv "$src.tmp" "$src"
fi

# 2. The configuration: virtme-ng's defconfig (what its guests need: 9p,
# virtiofs, overlayfs, serial console ...) with the fragments appended, then
# the fragments merged once more so that nothing virtme appends after them
# wins, "=m" turned into "=y".
# A build of the same sources with other fragments, if there is one, seeds
# this one: Kbuild then recompiles only what the changed options touch.
rm -rf "$out"
prev=
for d in "$top/build-$ver-"*; do
	[ -e "$d/done" ] && prev=$d
done
if [ -n "$prev" ]; then
	say "starting from $prev"
	cp -a "$prev" "$out"
	rm -f "$out/done" "$out/vmlinuz"
fi
mkdir -p "$out"
want=$out/requested.config
cat "${frags[@]}" | sed -E 's/^(CONFIG_[A-Za-z0-9_]+)=m$/\1=y/' > "$want"
say "configuring $out (log: $out/build.log)"
{
	cd "$src"
	virtme-configkernel --defconfig --custom "$want" "O=$out"
	scripts/kconfig/merge_config.sh -m -O "$out" "$out/.config" "$want"
	make O="$out" olddefconfig
} > "$out/build.log" 2>&1 || { tail -n 30 "$out/build.log" >&2; die "configuration failed"; }

# Every requested option must be in .config as requested.
bad=()
while IFS= read -r line; do
	case "$line" in
	CONFIG_*=*)
		opt=${line%%=*}
		grep -qxF -- "$line" "$out/.config" ||
			bad+=("$line (got: $(grep -E "^(# )?${opt}[= ]" "$out/.config" || echo unset))")
		;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }
		opt=${opt%% *}
		! grep -q -E "^$opt=" "$out/.config" ||
			bad+=("$line (got: $(grep -E "^$opt=" "$out/.config"))")
		;;
	esac
done < "$want"
if [ ${#bad[@]} -gt 0 ]; then
	say "these requested options did not make it into $out/.config:"
	printf '  %s\n' "${bad[@]}" >&2
	die "fix scripts/debug.config or selftests/config"
fi
say "all $(grep -c -E '^(CONFIG_|# CONFIG_.* is not set)' "$want") requested options are set"

# 3. Build: the image, and the modules pass for Module.symvers (everything
# the tests need is built in, so there are few modules).
say "building in $out with make -j$jobs under nice -n 19 (the first build takes ~20 min on 2 cores)"
t0=$(date +%s)
if ! (cd "$src" && nice -n 19 make O="$out" -j"$jobs" bzImage modules_prepare modules) \
	>> "$out/build.log" 2>&1; then
	tail -n 40 "$out/build.log" >&2
	die "kernel build failed (log: $out/build.log)"
fi
say "built in $(($(date +%s) - t0))s: $(make -s -C "$src" O="$out" kernelrelease)"
echo "$(($(date +%s) - t0))" > "$out/build-seconds"
touch "$out/done"
finish
