#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install everything toytcp needs on a Debian 12 machine (run as root).
# Idempotent and quiet when everything is already there.
set -euo pipefail

STAMP_DIR=/var/lib/toytcp
CACHE=/var/cache/toytcp
PKGS="build-essential bc flex bison libelf-dev libssl-dev kmod cpio
      qemu-system-x86 qemu-utils busybox-static iproute2 sparse python3
      python3-argcomplete python3-pkg-resources python3-requests file
      procps psmisc coreutils xz-utils ethtool iptables nftables gnuplot-nox
      liburing-dev curl iperf3 dkms linux-source-6.1"

log() { echo "setup: $*" >&2; }
apt_q() { DEBIAN_FRONTEND=noninteractive apt-get -y -q -o Dpkg::Use-Pty=0 \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"; }
installed() {
	dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q 'install ok installed'
}

if [ "$(id -u)" != 0 ]; then
	echo "setup: must run as root (it installs Debian packages)" >&2
	exit 1
fi
mkdir -p "$STAMP_DIR" "$CACHE"

# 0. Fast path: an earlier run completed and nothing has gone missing since;
# needs no network.  SETUP_FORCE=1 goes the long way (and may pick up newer
# kernels from the archive).
complete() {
	local k n

	[ -s "$STAMP_DIR/kernels" ] && [ -e "$CACHE/linux-tools/.done2" ] || return 1
	command -v vng >/dev/null || return 1
	while read -r k; do
		[ -e "/boot/vmlinuz-$k" ] && [ -d "/usr/src/linux-headers-$k" ] || return 1
	done < "$STAMP_DIR/kernels"
	# shellcheck disable=SC2086 # a list of names
	n=$(dpkg-query -W -f='${Status}\n' $PKGS 2>/dev/null | grep -c 'install ok installed')
	[ "$n" = "$(echo "$PKGS" | wc -w)" ]
}
if [ "${SETUP_FORCE:-0}" = 0 ] && complete; then
	exit 0
fi

# Debian 12 (bookworm) only: the sources, kernels and packages below are
# that release's, and writing them into another system's apt would break
# it.  Stop before touching anything.  (TOYTCP_OS_RELEASE: another
# os-release file, for testing this check.)
osr=${TOYTCP_OS_RELEASE:-/etc/os-release}
os_id=$(. "$osr" 2>/dev/null && echo "${ID:-}")
os_ver=$(. "$osr" 2>/dev/null && echo "${VERSION_ID:-}")
if [ "$os_id" != debian ] || [ "$os_ver" != 12 ]; then
	os_name=$(. "$osr" 2>/dev/null && echo "${PRETTY_NAME:-}")
	cat >&2 <<MSG
setup: this system is ${os_name:-unknown (no $osr)}, not Debian 12 (bookworm).
setup: scripts/setup.sh installs Debian 12's kernels and packages (and adds
setup: bookworm-backports to apt's sources), so it stops here and changes nothing.
setup: To build the module for your own kernel you need only its headers:
setup:   make KDIR=/lib/modules/\$(uname -r)/build
setup: The VM targets (make run, make check) need Debian 12.
MSG
	exit 1
fi

# 1. apt sources: bookworm (already there on Debian 12) and bookworm-backports.
SRC=/etc/apt/sources.list.d/toytcp-backports.list
if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
	echo 'deb http://deb.debian.org/debian bookworm-backports main' > "$SRC"
	rm -f "$STAMP_DIR/apt-updated"
fi
if [ ! -e "$STAMP_DIR/apt-updated" ] || [ -n "$(find "$STAMP_DIR/apt-updated" -mmin +1440)" ]; then
	log "apt-get update"
	apt_q update >/dev/null
	touch "$STAMP_DIR/apt-updated"
fi

# 2. The kernels: the versioned packages the meta packages point at.
kver_of() { # suite -> versioned image package name
	apt-cache depends "linux-image-amd64/$1" 2>/dev/null |
		awk '/Depends: linux-image-[0-9]/ {print $2; exit}'
}
IMG61=$(kver_of bookworm)
IMG612=$(kver_of bookworm-backports)
if [ -z "$IMG61" ] || [ -z "$IMG612" ]; then
	echo "setup: cannot resolve kernel packages (bookworm: '$IMG61', backports: '$IMG612')" >&2
	exit 1
fi
HDR61=${IMG61/image/headers}
HDR612=${IMG612/image/headers}

missing=()
for p in $PKGS "$IMG61" "$HDR61"; do
	installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing: ${missing[*]}"
	apt_q install --no-install-recommends "${missing[@]}" >/dev/null
fi
missing=()
for p in "$IMG612" "$HDR612" linux-source-6.12; do
	installed "$p" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing from bookworm-backports: ${missing[*]}"
	apt_q install --no-install-recommends -t bookworm-backports "${missing[@]}" >/dev/null
fi

# 3. virtme-ng from trixie (pure Python), through a private sources list.
if ! command -v vng >/dev/null; then
	T=$CACHE/trixie
	mkdir -p "$T/lists/partial" "$T/archives"
	echo 'deb http://deb.debian.org/debian trixie main' > "$T/sources.list"
	TOPTS=(-o Dir::Etc::SourceList="$T/sources.list" -o Dir::Etc::SourceParts=/dev/null
	       -o Dir::State::Lists="$T/lists" -o APT::Get::List-Cleanup=0)
	log "fetching virtme-ng from trixie"
	apt-get -q "${TOPTS[@]}" update >/dev/null
	(cd "$T/archives" && apt-get -q "${TOPTS[@]}" download virtme-ng >/dev/null)
	dpkg -i "$T"/archives/virtme-ng_*.deb >/dev/null
fi

# 4. Kernel sources we extract tools from (never copied into the repo):
# from 6.12, checkpatch and the kselftest harness, lib.mk and runner (what
# selftests/Makefile includes); from 6.1, the harness and lib.mk alone, to
# check that the selftests build against the older harness too.
TOOLS=$CACHE/linux-tools
# extract_ksft VERSION DEST [EXTRA...]
extract_ksft() {
	local tarball d k="tools/testing/selftests" extra=() f

	tarball=$(find /usr/src -maxdepth 1 -name "linux-source-$1.tar.xz")
	[ -n "$tarball" ] || { log "no linux-source-$1 tarball in /usr/src"; return 1; }
	d=$(basename "$tarball" .tar.xz)
	for f in "${@:3}"; do
		extra+=("$d/$f")
	done
	log "extracting the kselftest harness$([ $# -gt 2 ] && echo " and checkpatch") from $tarball"
	rm -rf "$2" && mkdir -p "$2"
	tar -xJf "$tarball" -C "$2" --strip-components=1 \
		"$d/$k/kselftest_harness.h" "$d/$k/kselftest.h" "$d/$k/lib.mk" \
		"$d/$k/kselftest/runner.sh" "$d/$k/kselftest/prefix.pl" \
		${extra[@]+"${extra[@]}"}
}
if [ ! -e "$TOOLS/.done2" ]; then
	extract_ksft 6.12 "$TOOLS" scripts/checkpatch.pl scripts/spelling.txt \
		scripts/const_structs.checkpatch
	extract_ksft 6.1 "$TOOLS-6.1"
	touch "$TOOLS/.done2"
fi

# 5. Record the kernel versions for the Makefile.
for img in "$IMG61" "$IMG612"; do
	echo "${img#linux-image-}"
done > "$STAMP_DIR/kernels"
