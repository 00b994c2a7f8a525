#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot one of the test kernels in a throwaway virtme-ng VM, run a command in
# it from the repository root and power off.
#
#   scripts/vm.sh [--timeout SECONDS] [--console FILE] KVER COMMAND
#
# KVER is a kernel from /var/lib/toytcp/kernels, or a prefix of one ("6.1").
# With VM_KERNEL=IMAGE (a bzImage, e.g. the debug kernel of
# scripts/debug-kernel.sh), that image boots instead and KVER is only the
# name of its directory under build/ (its kernel release, say).
# The guest sees the host's file system read-only, with throwaway overlays on
# /etc, /tmp, /var ...; only the repository's build/ directory is shared
# read-write, so that is where a command leaves its results.  The command's
# stdout and stderr both come out on stdout.  The kernel console (boot
# messages, and later only errors, oopses and panics) goes to FILE
# (default build/KVER/console.log).
#
# The VM: 2 CPUs, 2 GiB, slub_debug=FZPU, KFENCE sampling every 100 ms (the
# 6.1 kernel has no KFENCE and ignores it), panic_on_oops=1, TCG unless KVM
# is known to work (probed once, answer cached in /var/cache/toytcp/kvm-ok;
# TOYTCP_KVM=0 or 1 overrides).  Environment: VM_MEMORY, VM_CPUS,
# VM_APPEND (extra boot parameters), VM_TCG_THREAD (single or multi: QEMU's
# TCG threading, multi unless set), VM_BOOT_TIMEOUT (default 240 s) and
# VM_STALL_TIMEOUT (150 s): the VM is killed if the guest has not booted by
# then, or stops writing its heartbeat (build/KVER/.heartbeat.PID) for that long.
#
# Exit status: the command's; 124 when the timeout (default 2400 s) expired
# or the guest hung; 125 on a usage or setup error; usually 255 when the
# guest kernel panicked (an oops does that too).
set -euo pipefail

# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"

timeout_s=2400
console=
while [ $# -gt 0 ]; do
	case "$1" in
	--timeout) timeout_s=$2; shift 2 ;;
	--console) console=$2; shift 2 ;;
	-h|--help) sed -n '3,/^set -e/{/^set -e/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
	--) shift; break ;;
	-*) die "unknown option $1" ;;
	*) break ;;
	esac
done
[ $# = 2 ] || die "usage: $0 [--timeout S] [--console FILE] KVER COMMAND"
cmd=$2
if [ -n "${VM_KERNEL:-}" ]; then
	kver=$1
	vmlinuz=$VM_KERNEL
	[ -r "$vmlinuz" ] || die "VM_KERNEL=$vmlinuz missing"
else
	kver=$(resolve_kver "$1")
	vmlinuz=/boot/vmlinuz-$kver
	[ -r "$vmlinuz" ] || die "$vmlinuz missing (run 'make setup')"
fi
command -v vng >/dev/null || die "vng missing (run 'make setup')"

mkdir -p "$REPO/build/$kver"
console=${console:-$REPO/build/$kver/console.log}

# Does KVM work?  A nested guest may hang right after decompression, so
# give the probe a short leash, and remember the answer.
kvm_ok() {
	local f=$CACHE/kvm-ok

	case "${TOYTCP_KVM:-}" in
	0|no) return 1 ;;
	1|yes) return 0 ;;
	esac
	if [ ! -s "$f" ]; then
		mkdir -p "$CACHE"
		if [ -w /dev/kvm ]; then
			echo "vm: probing KVM (once; answer cached in $f)" >&2
			if timeout -k 5 40 vng -r "$vmlinuz" --user root \
				--memory 512M --cpus 1 -- 'echo toytcp-kvm-ok' \
				</dev/null 2>/dev/null | grep -q toytcp-kvm-ok; then
				echo yes > "$f"
			else
				echo no > "$f"
			fi
		else
			echo no > "$f"
		fi
		echo "vm: KVM usable: $(cat "$f")" >&2
	fi
	[ "$(cat "$f")" = yes ]
}

accel=(--disable-kvm)
if kvm_ok; then
	accel=()
elif [ -n "${VM_TCG_THREAD:-}" ]; then
	# single: one host thread runs every vCPU.  Multi-threaded TCG (the
	# default) once executed a stale int3 of the kernel's text patching
	# (jump labels) on the debug kernel: "Oops: int3" in inet_ehashfn.
	accel+=("--qemu-opts=-accel tcg,thread=$VM_TCG_THREAD")
fi

# --verbose sends the kernel console to vng's stderr (our console file);
# "quiet loglevel=1" after it keeps boot fast; the guest command's stderr
# is folded into its stdout so that only the console ends up in the file.
# panic_on_oops: an oops often leaves a lock held and the guest hung; make
# it end the VM at once instead (the report is on the console).
# The guest path for --rwdir must be absolute (vng resolves it otherwise
# relative to our working directory).
# A heartbeat file, rewritten by the guest every 5 s, lets us notice a guest
# that has locked up (no timer in it can fire any more) and kill it early.
hb=$REPO/build/$kver/.heartbeat.$$
rm -f "$hb"
args=(vng --verbose "${accel[@]}" -r "$vmlinuz" --user root
      --memory "${VM_MEMORY:-2G}" --cpus "${VM_CPUS:-2}"
      --cwd "$REPO" --rwdir="$REPO/build=$REPO/build"
      --append "slub_debug=FZPU kfence.sample_interval=100 panic_on_oops=1 quiet loglevel=1 ${VM_APPEND:-}"
      -- "exec 2>&1; (while :; do date +%s > '$hb'; sleep 5; done) & $cmd")

# QEMU reopens /proc/self/fd/1 with O_TRUNC: were our stdout a regular
# file (make check >log), it would wipe the log so far.  Hand it a FIFO.
# timeout(1) puts the VM in its own process group, so a Ctrl-C at the
# terminal would not reach it: pass INT and TERM on by hand.
cd "$REPO"
tmp=$(mktemp -d)
mkfifo "$tmp/out"
cat "$tmp/out" &
catpid=$!
timeout -k 10 "$timeout_s" "${args[@]}" </dev/null >"$tmp/out" 2>"$console" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null; wait "$pid" "$catpid" 2>/dev/null; rm -rf "$tmp"; exit 130' INT TERM

# Watch the heartbeat: none within boot_s of the start (the guest did not
# boot), or none for stall_s since the last one (it locked up): kill.
boot_s=${VM_BOOT_TIMEOUT:-240}
stall_s=${VM_STALL_TIMEOUT:-150}
start=$(date +%s)
why=
while kill -0 "$pid" 2>/dev/null; do
	sleep 2
	now=$(date +%s)
	if [ -e "$hb" ]; then
		last=$(stat -c %Y "$hb" 2>/dev/null || echo "$now")
		if [ $((now - last)) -gt "$stall_s" ]; then
			why="the guest stopped responding (no heartbeat for ${stall_s}s)"
		fi
	elif [ $((now - start)) -gt "$boot_s" ]; then
		why="the guest did not boot within ${boot_s}s"
	fi
	if [ -n "$why" ]; then
		echo "vm: $kver: $why; killing the VM (console: $console)" >&2
		kill -TERM "$pid" 2>/dev/null || true
		break
	fi
done
rc=0
wait "$pid" || rc=$?
wait "$catpid" || true
trap - INT TERM
rm -rf "$tmp" "$hb"
if [ -n "$why" ]; then
	rc=124
elif [ "$rc" = 124 ]; then
	echo "vm: $kver: timed out after ${timeout_s}s; VM killed (console: $console)" >&2
fi
exit "$rc"
