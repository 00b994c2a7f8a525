#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make check`: run scripts/setup.sh, then for every kernel in
# /var/lib/toytcp/kernels (or in $KERNELS, e.g. KERNELS=6.12), in turn:
#   - build toytcp.ko against its headers (copied to build/KVER/toytcp.ko),
#   - build the selftests (make -C selftests),
#   - boot ONE VM and run scripts/guest-check.sh in it: load the module, run
#     selftests/run_tests.sh, unload, collect the kernel log,
#   - count the TAP results the guest left in build/KVER/results.tap and
#     judge the kernel log with scripts/scan-log.sh.
# The last line printed is "N passed, N failed, N skipped, N known gaps" over all
# kernels; the exit status is 1 if anything failed (a skip is not a
# failure).
#
# Every line starting "ok" / "not ok" in build/KVER/results.tap (written by
# the guest) or build/KVER/host.tap (written here: builds, "guest finished"
# when it did not, "kernel log clean") is one test case; an "ok" line with
# a TAP SKIP directive ("ok 12 api: ... # SKIP reason") is a skipped one.
#
# VM_TIMEOUT (seconds, default 2100) bounds each VM; the selftests get
# VM_TIMEOUT - 180 of it (TESTS_TIMEOUT in the guest).
#
# The VMs run under single-threaded TCG (VM_TCG_THREAD=multi overrides):
# one host thread runs both vCPUs.  Under multi-threaded TCG the kernel's
# own text patching (static keys flipped by SO_TIMESTAMP, netfilter hooks,
# namespaces) went wrong now and then, in code that is not toytcp's:
# "Oops: int3" in inet_ehashfn (debug kernel), __netif_receive_skb_core
# (sysfuzz) and ttwu_do_activate (6.12), and on 6.1 a vCPU that took no
# timer tick any more while the other spun waiting for it (soft lockup,
# RCU stall "timer wakeup didn't happen", CI of 2026-12-07).
#
# `scripts/check.sh --debug` (make check-debug) does the same on one
# kernel only: the debug kernel (KASAN, lockdep, kmemleak, UBSAN, KFENCE ...)
# that scripts/debug-kernel.sh builds once and caches.  The VM gets 4 GiB
# (VM_MEMORY), and every time limit is stretched for that slow kernel:
# VM_TIMEOUT defaults to 5400 s, the selftests' per-suite limits and the
# benchmark smoke run's are multiplied by TOYTCP_TIME_SCALE (default 4).
set -euo pipefail

# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"
cd "$REPO"

debug=0
if [ "${1:-}" = --debug ]; then
	debug=1
	shift
fi
[ $# = 0 ] || die "usage: $0 [--debug]"

vm_timeout=${VM_TIMEOUT:-2100}
# What the selftests get of it: the rest is boot, unload and log collection.
tests_timeout=$((vm_timeout > 360 ? vm_timeout - 180 : vm_timeout / 2))
guest_env=
export VM_TCG_THREAD=${VM_TCG_THREAD:-single}
if [ "$debug" = 1 ]; then
	# Boot takes ~90 s under TCG, the unload may wait 300 s for TIME-WAIT,
	# and a kmemleak scan of 4 GiB follows it.
	vm_timeout=${VM_TIMEOUT:-5400}
	tests_timeout=$((vm_timeout > 1800 ? vm_timeout - 900 : vm_timeout / 2))
	scale=${TOYTCP_TIME_SCALE:-4}
	guest_env="TOYTCP_TIME_SCALE=$scale SMOKE_TIMEOUT=$((60 * scale))"
	guest_env+=" SMOKE_TIMEOUT_ALL=$((600 * scale))"
	export VM_MEMORY=${VM_MEMORY:-4G}
	export VM_BOOT_TIMEOUT=${VM_BOOT_TIMEOUT:-900}
	export VM_STALL_TIMEOUT=${VM_STALL_TIMEOUT:-600}
fi
total_p=0
total_f=0
total_s=0
total_x=0
finished=0

hdr() { printf '\n==== %s\n' "$*"; }

# Print the last line, "N passed, N failed, N skipped, N known gaps", and
# exit.
finish() {
	local final="$total_p passed, $total_f failed, $total_s skipped, $total_x known gaps"

	finished=1
	# Under make, a failure makes make print "make: *** [Makefile:N:
	# check] Error 1" after we exit.  When the output is being captured,
	# print the summary after that, so that it really is the last line.
	if [ "$total_f" -gt 0 ] && [ -n "${TOYTCP_MAKE_PID:-}" ] && [ ! -t 1 ]; then
		(
			set +e
			exec </dev/null
			for _ in $(seq 600); do
				st=$(sed 's/.*) //' "/proc/$TOYTCP_MAKE_PID/stat" 2>/dev/null)
				case "${st%% *}" in ''|Z|X) break ;; esac
				sleep 0.05
			done
			printf '%s\n' "$final"
		) &
		disown
		exit 1
	fi
	printf '%s\n' "$final"
	[ "$total_f" = 0 ] || exit 1
	exit 0
}

# Whatever goes wrong in here, still end with the count, one failure more.
# shellcheck disable=SC2317 # called by the EXIT trap
on_exit() {
	local rc=$?

	if [ "$finished" = 0 ]; then
		echo "not ok - check.sh ended unexpectedly (status $rc)"
		total_f=$((total_f + 1))
		finish
	fi
}
trap on_exit EXIT

# host_result FILE ok|fail NAME [DIAGNOSTIC...]
host_result() {
	local f=$1 st=$2 name=$3

	shift 3
	if [ "$st" = ok ]; then
		echo "ok - $name" | tee -a "$f"
	else
		echo "not ok - $name" | tee -a "$f"
	fi
	for d in "$@"; do
		echo "# $d" | tee -a "$f"
	done
}

# count_tap FILE... -> "PASSED FAILED SKIPPED GAPS"; a known gap is a case
# selftests/known-gaps lists that failed as expected ("ok ... # XFAIL").
count_tap() {
	local ok s f x

	ok=$(cat "$@" 2>/dev/null | grep -c -E '^ok\b' || true)
	s=$(cat "$@" 2>/dev/null | grep -c -i -E '^ok\b.*#[[:space:]]*skip([^[:alnum:]_]|$)' || true)
	x=$(cat "$@" 2>/dev/null | grep -c -E '^ok\b.*# XFAIL' || true)
	f=$(cat "$@" 2>/dev/null | grep -c -E '^not ok\b' || true)
	echo "$((${ok:-0} - ${s:-0} - ${x:-0})) ${f:-0} ${s:-0} ${x:-0}"
}

if ! scripts/setup.sh; then
	echo "not ok - make setup (scripts/setup.sh) failed"
	total_f=1
	finish
fi

kernels=()
if [ "$debug" = 1 ]; then
	hdr "building the debug kernel (cached; the first build takes ~20 min)"
	t0=$(date +%s)
	if ! dkdir=$(scripts/debug-kernel.sh | tail -n 1) || [ ! -d "$dkdir" ]; then
		echo "not ok - build the debug kernel (scripts/debug-kernel.sh)"
		total_f=1
		finish
	fi
	# The release names build/KVER/; common.sh's kdir_of() and vm.sh
	# (VM_KERNEL) take the tree and the image from these.
	dkver=$(cat "$dkdir/include/config/kernel.release")
	export DEBUG_KVER=$dkver DEBUG_KDIR=$dkdir
	export VM_KERNEL=$dkdir/vmlinuz
	echo "debug kernel $dkver: $dkdir ($(($(date +%s) - t0))s)"
	kernels=("$dkver")
elif [ -n "${KERNELS:-}" ]; then
	for k in $KERNELS; do
		kernels+=("$(resolve_kver "$k")")
	done
else
	mapfile -t kernels < <(all_kernels)
fi

summary=()
t_all=$(date +%s)

# Checks of the host-side scripts themselves, once: setup.sh must stop,
# changing nothing, on a system that is not Debian 12.
mkdir -p build
: > build/host.tap
printf 'PRETTY_NAME="Ubuntu 24.04 LTS"\nID=ubuntu\nVERSION_ID="24.04"\n' > build/os-release.test
if msg=$(TOYTCP_OS_RELEASE=build/os-release.test SETUP_FORCE=1 scripts/setup.sh 2>&1); then
	host_result build/host.tap fail "setup.sh stops on a system that is not Debian 12" \
		"it exited 0: $msg"
elif ! grep -q 'not Debian 12' <<< "$msg"; then
	host_result build/host.tap fail "setup.sh stops on a system that is not Debian 12" \
		"no explanation: $msg"
else
	host_result build/host.tap ok "setup.sh stops on a system that is not Debian 12"
fi
rm -f build/os-release.test

# The selftests build against 6.1's kselftest harness too (the one a 6.1
# kernel tree carries); make -C selftests below uses 6.12's.
k61=/var/cache/toytcp/linux-tools-6.1/tools/testing/selftests
mkdir -p build/selftests-6.1
if make -s -C selftests KSFT_DIR="$k61" OUTPUT="$PWD/build/selftests-6.1" \
	> build/selftests-6.1.log 2>&1; then
	host_result build/host.tap ok "selftests build with 6.1's kselftest harness"
else
	host_result build/host.tap fail "selftests build with 6.1's kselftest harness" \
		"see build/selftests-6.1.log"
	tail -n 20 build/selftests-6.1.log | sed 's/^/  | /'
fi
read -r p f s x < <(count_tap build/host.tap)
total_p=$((total_p + p))
total_f=$((total_f + f))
total_s=$((total_s + s))
total_x=$((total_x + x))

for k in "${kernels[@]}"; do
	out=build/$k
	mkdir -p "$out"
	rm -f "$out"/{results.tap,host.tap,failed.txt,dmesg.txt,dmesg-live.txt,done} \
		"$out"/{console.log,build.log,toytcp.ko,kmemleak.txt,dkms.log,dkms-guest.log}
	rm -rf "$out/dkms" "$out/install"
	host=$out/host.tap
	: > "$host"
	ran_vm=0

	hdr "$k: building toytcp.ko"
	if build_module "$k" 2>&1 | tee "$out/build.log"; then
		host_result "$host" ok "build toytcp.ko ($k)"
	else
		host_result "$host" fail "build toytcp.ko ($k)" "see $out/build.log"
	fi

	# make install and DKMS (add, build) as a user would run them, into
	# private trees under $out; the VM installs and loads the result.
	if [ "$debug" = 0 ] && [ -e "$out/toytcp.ko" ]; then
		hdr "$k: make install, dkms add and build"
		scripts/dkms.sh host "$k" "$out" | tee -a "$host" || true
	fi

	hdr "$k: building the selftests"
	if [ ! -e selftests/Makefile ]; then
		host_result "$host" fail "build selftests ($k)" "selftests/Makefile missing"
	elif { make -C selftests && make -C fuzz; } 2>&1 | tee -a "$out/build.log"; then
		host_result "$host" ok "build selftests ($k)"
	else
		host_result "$host" fail "build selftests ($k)" "see $out/build.log"
	fi

	if [ -e "$out/toytcp.ko" ]; then
		hdr "$k: booting a VM to load toytcp.ko and run the selftests"
		ran_vm=1
		t0=$(date +%s)
		rc=0
		scripts/vm.sh --timeout "$vm_timeout" --console "$out/console.log" "$k" \
			"$guest_env TESTS_TIMEOUT=$tests_timeout scripts/guest-check.sh $out" || rc=$?
		echo "(VM: ${k}, $(($(date +%s) - t0))s, exit status $rc)"
		if [ ! -e "$out/done" ]; then
			case "$rc" in
			124) what="killed: it timed out or hung, see above" ;;
			255) what="the guest kernel panicked (an oops does that) or QEMU failed" ;;
			*) what="exit status $rc" ;;
			esac
			host_result "$host" fail "guest finished ($k)" \
				"the VM ended before guest-check.sh finished ($what)" \
				"the end of the VM console ($out/console.log):"
			tail -n 15 "$out/console.log" | sed 's/^/  | /'
		fi
	fi

	hdr "$k: kernel log"
	if [ "$ran_vm" = 1 ]; then
		logs=("$out/dmesg.txt")
		if [ ! -e "$out/done" ]; then
			logs=("$out/dmesg-live.txt" "$out/console.log")
		fi
		if scripts/scan-log.sh "${logs[@]}"; then
			host_result "$host" ok "kernel log clean ($k)"
		else
			host_result "$host" fail "kernel log clean ($k)" "full log: ${logs[*]}"
		fi
	else
		host_result "$host" fail "kernel log clean ($k)" "no VM run: toytcp.ko did not build"
	fi

	read -r p f s x < <(count_tap "$out/results.tap" "$host")
	total_p=$((total_p + p))
	total_f=$((total_f + f))
	total_s=$((total_s + s))
	total_x=$((total_x + x))
	summary+=("$k: $p passed, $f failed, $s skipped, $x known gaps")
	{
		cat "$out/results.tap" "$host" 2>/dev/null | grep -E '^not ok\b' |
			sed 's/^/    /'
		cat "$out/results.tap" "$host" 2>/dev/null |
			grep -i -E '^ok\b.*#[[:space:]]*skip([^[:alnum:]_]|$)' |
			sed 's/^/    skipped: /'
		cat "$out/results.tap" "$host" 2>/dev/null | grep -E '^ok\b.*# XFAIL' |
			sed 's/^/    known gap: /'
	} > "$out/failed.txt" || true
done

hdr "summary ($(($(date +%s) - t_all))s)"
for i in "${!kernels[@]}"; do
	echo "${summary[$i]}"
	cat "build/${kernels[$i]}/failed.txt"
done
finish
