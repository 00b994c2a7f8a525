#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The DKMS packaging, tested as a user would use it, in two halves:
#
#   scripts/dkms.sh host KVER OUTDIR    (make check, on the host)
#       `make install` into OUTDIR/install (INSTALL_MOD_PATH and DESTDIR,
#       nothing outside it), then `make dkms-src`, `dkms add` and `dkms
#       build -k KVER` with Debian's dkms, in a private tree under
#       OUTDIR/dkms (--sourcetree, --dkmstree): the host's own /usr/src,
#       /var/lib/dkms and /lib/modules are not touched.
#   scripts/dkms.sh guest OUTDIR        (in the test VM of that kernel,
#       after toytcp.ko was unloaded): `dkms install` of what the host
#       built into the guest's /lib/modules/KVER (a tmpfs holding only
#       the kernel's module lists, so that depmod has one module to read
#       rather than thousands over the VM's 9p file system), `modprobe
#       toytcp`, a socket of the family, `rmmod`, `dkms remove`.
#
# One TAP line per step ("ok - dkms build (KVER)"); exit status 1 if any
# failed.  Building runs on the host: under the VM's emulation it takes
# more than ten minutes.
set -uo pipefail

# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"
cd "$REPO"

version=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' dkms.conf)
failed=0

# result ok|fail NAME [DIAGNOSTIC...]
result() {
	local st=$1 name=$2

	shift 2
	if [ "$st" = ok ]; then
		echo "ok - $name"
	else
		echo "not ok - $name"
		failed=1
	fi
	for d in "$@"; do
		echo "# $d"
	done
}

# run LOG CMD...: CMD's output to LOG, status returned.
run() {
	local log=$1

	shift
	echo "+ $*" >> "$log"
	"$@" >> "$log" 2>&1
}

host() {
	local k=$1 out=$2 kdir log inst tree

	kdir=$(kdir_of "$k")
	mkdir -p "$out"
	out=$(cd "$out" && pwd)
	log=$out/dkms.log
	: > "$log"

	inst=$out/install
	rm -rf "$inst"
	if run "$log" make -s install KDIR="$kdir" INSTALL_MOD_PATH="$inst" DESTDIR="$inst" &&
	   ls "$inst/lib/modules/$k/updates/"toytcp.ko* >/dev/null 2>&1 &&
	   cmp -s uapi/linux/toytcp.h "$inst/usr/local/include/linux/toytcp.h"; then
		result ok "make install ($k)"
	else
		result fail "make install ($k)" "see $log"
	fi

	tree=$out/dkms
	rm -rf "$tree"
	mkdir -p "$tree/src" "$tree/var"
	if run "$log" make -s dkms-src DKMS_SRC="$tree/src/toytcp-$version" &&
	   run "$log" dkms add -m toytcp -v "$version" \
		--sourcetree "$tree/src" --dkmstree "$tree/var" &&
	   run "$log" dkms build -m toytcp -v "$version" -k "$k" \
		--kernelsourcedir "$kdir" \
		--sourcetree "$tree/src" --dkmstree "$tree/var"; then
		result ok "dkms add and build ($k)"
	else
		result fail "dkms add and build ($k)" "see $log" \
			"$(tail -n 5 "$log" | tr '\n' ' ')"
	fi
	return "$failed"
}

guest() {
	local out k tree log msg mods keep

	out=$(cd "$1" && pwd)
	k=$(uname -r)
	tree=$out/dkms
	log=$out/dkms-guest.log
	: > "$log"
	if [ ! -d "$tree/var/toytcp/$version/$k" ]; then
		result fail "dkms install and modprobe ($k)" "nothing built in $tree"
		return 1
	fi
	if [ -d /sys/module/toytcp ]; then
		result fail "dkms install and modprobe ($k)" "toytcp is loaded already"
		return 1
	fi
	# depmod reads every module of the tree, thousands over 9p under the
	# VM's emulation: minutes, twice (install and remove).  The test needs
	# none of them (toytcp depends on no module), so it runs on a tree of
	# its own: the kernel's module lists and nothing else, on a tmpfs over
	# /lib/modules/KVER for as long as it lasts.
	mods=/lib/modules/$k
	keep=$(mktemp -d)
	# (modules.dep too: dkms reads the compression of modules from it)
	cp -a "$mods"/modules.builtin* "$mods"/modules.order "$mods"/modules.dep "$keep"/
	ln -s "$(readlink -f "$mods/build")" "$keep/build"
	if ! mount -t tmpfs toytcp-dkms "$mods"; then
		result fail "dkms install and modprobe ($k)" "cannot mount a tmpfs on $mods"
		return 1
	fi
	cp -a "$keep"/. "$mods"/
	rm -rf "$keep"
	if ! run "$log" dkms install -m toytcp -v "$version" -k "$k" \
		--sourcetree "$tree/src" --dkmstree "$tree/var"; then
		result fail "dkms install and modprobe ($k)" "dkms install failed, see $log"
		umount -l "$mods"
		return 1
	fi
	if ! msg=$(modprobe toytcp 2>&1) || [ ! -d /sys/module/toytcp ]; then
		result fail "dkms install and modprobe ($k)" "modprobe: $msg" \
			"$(modinfo -n toytcp 2>&1)"
	elif ! python3 -c 'import socket; socket.socket(19, socket.SOCK_STREAM).close()' \
		>> "$log" 2>&1; then
		result fail "dkms install and modprobe ($k)" "no AF_TOYTCP socket after modprobe"
	else
		result ok "dkms install and modprobe ($k)" "$(modinfo -n toytcp)"
	fi
	rmmod toytcp >> "$log" 2>&1
	if run "$log" dkms remove -m toytcp -v "$version" --all \
		--sourcetree "$tree/src" --dkmstree "$tree/var" &&
	   ! modinfo -n toytcp >/dev/null 2>&1; then
		result ok "dkms remove ($k)"
	else
		result fail "dkms remove ($k)" "see $log"
	fi
	# (lazily: something in the guest keeps it busy for a moment)
	umount -l "$mods" || result fail "dkms: give /lib/modules/$k back" "umount failed"
	return "$failed"
}

case "${1:-}" in
host) [ $# = 3 ] || die "usage: $0 host KVER OUTDIR"; host "$2" "$3" ;;
guest) [ $# = 2 ] || die "usage: $0 guest OUTDIR"; guest "$2" ;;
*) die "usage: $0 host KVER OUTDIR | guest OUTDIR" ;;
esac
