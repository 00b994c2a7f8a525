#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs INSIDE the VM for `make run`, from the repository root:
#
#   scripts/guest-demo.sh OUTDIR
#
# Loads $TOYTCP_KO (default OUTDIR/toytcp.ko) and shows examples/echo
#   1. toytcp client  -> toytcp server
#   2. toytcp client  -> Linux TCP server
#   3. Linux TCP client -> toytcp server
# and the five I/O models of the receive diagram (examples/io_*, toytcp
# at both ends),
# between two network namespaces joined by a veth pair (10.77.0.1 is the
# server's side, 10.77.0.2 the client's), then unloads the module.  Leaves
# the kernel log in OUTDIR/demo-dmesg.txt and exits 1 if a step failed.
set -euo pipefail
exec 2>&1

[ $# = 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
ko=$(realpath -m "${TOYTCP_KO:-$out/toytcp.ko}")
echo_bin=$PWD/examples/echo
SRV=tt-server
CLI=tt-client
SRV_IP=10.77.0.1
TW_MS=${TW_MS:-10000}
steps=()
failed=0

step() { printf '\n==== %s\n' "$*"; }
run() { echo "\$ $*"; "$@"; }
verdict() { # NAME ok|fail
	steps+=("$(printf '%-4s  %s' "$([ "$2" = ok ] && echo PASS || echo FAIL)" "$1")")
	[ "$2" = ok ] || failed=1
}
loaded() { [ -d /sys/module/toytcp ]; }

# wait_listen NS PROCFILE PORT: until PROCFILE (/proc/net/toytcp or
# /proc/net/tcp, same format) in NS shows a LISTEN (0A) socket on PORT.
wait_listen() {
	local hex

	hex=$(printf ':%04X' "$3")
	for _ in $(seq 50); do
		# shellcheck disable=SC2016 # awk's $2, not the shell's
		if ip netns exec "$1" awk -v p="$hex" \
			'NR > 1 && substr($2, length($2) - 4) == p && $4 == "0A" { f = 1 } END { exit !f }' \
			"$2" 2>/dev/null; then
			return 0
		fi
		sleep 0.2
	done
	echo "(no listening socket on port $3 in $2 after 10s; trying anyway)"
}

# iomodels PORT: the five I/O models of the receive diagram (examples/io_*),
# each a toytcp server in $SRV receiving from a toytcp client in $CLI, and
# printing how long it spent waiting for data (phase 1) and copying it
# (phase 2).
iomodels() {
	local port=$1 m ok=ok spid src crc

	step "the five I/O models: toytcp server in $SRV, client in $CLI"
	for m in io_blocking io_nonblocking "io_multiplex --api select" \
		 "io_multiplex --api poll" "io_multiplex --api epoll" \
		 "io_multiplex --api epoll-et" io_sigio io_uring; do
		port=$((port + 1))
		src=0
		crc=0
		echo "\$ examples/$m --listen $port  /  --connect $SRV_IP:$port"
		# shellcheck disable=SC2086 # program and its options
		ip netns exec "$SRV" timeout 60 "$PWD/examples/"$m --count 3 \
			--listen "$port" &
		spid=$!
		# shellcheck disable=SC2086
		ip netns exec "$CLI" timeout 60 "$PWD/examples/"$m --count 3 \
			--connect "$SRV_IP:$port" || crc=$?
		wait "$spid" || src=$?
		if [ "$crc" != 0 ] || [ "$src" != 0 ]; then
			echo "---- $m: FAILED (client exit status $crc, server $src)"
			ok=fail
		fi
	done
	verdict "the five I/O models (examples/io_*)" "$ok"
}

# pair NAME SERVER_FAMILY CLIENT_FAMILY PORT
pair() {
	local name=$1 sfam=$2 cfam=$3 port=$4 proc spid src=0 crc=0

	step "$name"
	proc=/proc/net/tcp
	[ "$sfam" = inet ] || proc=/proc/net/toytcp
	echo "\$ ip netns exec $SRV examples/echo --family $sfam --listen $port &"
	ip netns exec "$SRV" timeout 90 "$echo_bin" --family "$sfam" --listen "$port" &
	spid=$!
	wait_listen "$SRV" "$proc" "$port"
	echo "\$ ip netns exec $CLI examples/echo --family $cfam --connect $SRV_IP:$port"
	ip netns exec "$CLI" timeout 60 "$echo_bin" --family "$cfam" \
		--connect "$SRV_IP:$port" || crc=$?
	if [ "$crc" != 0 ]; then
		# The client failed; do not wait for the server's timeout.
		sleep 1
		kill "$spid" 2>/dev/null || true
	fi
	wait "$spid" || src=$?
	if [ "$crc" = 0 ] && [ "$src" = 0 ]; then
		echo "---- $name: OK"
		verdict "$name" ok
	else
		echo "---- $name: FAILED (client exit status $crc, server $src)"
		verdict "$name" fail
	fi
}

step "setting up: network namespaces $SRV ($SRV_IP) and $CLI (10.77.0.2), joined by veth"
for ns in "$SRV" "$CLI"; do
	ip netns del "$ns" 2>/dev/null || true
	ip netns add "$ns"
	ip -n "$ns" link set lo up
done
ip link add veth-s netns "$SRV" type veth peer name veth-c netns "$CLI"
ip -n "$SRV" addr add "$SRV_IP/24" dev veth-s
ip -n "$CLI" addr add 10.77.0.2/24 dev veth-c
ip -n "$SRV" link set veth-s up
ip -n "$CLI" link set veth-c up
ip -n "$SRV" -brief addr show dev veth-s
ip -n "$CLI" -brief addr show dev veth-c

dmesg -C
step "loading toytcp.ko (kernel $(uname -r))"
if run insmod "$ko" && loaded; then
	dmesg | grep -E 'toytcp' | sed 's/^/kernel: /' || true
	verdict "load toytcp.ko" ok
	# A closed connection stays in TIME-WAIT (and keeps the module in use)
	# for tw_timeout_ms, 60 s by default: shorten that for the demo.
	tw=/sys/module/toytcp/parameters/tw_timeout_ms
	if [ -w "$tw" ]; then
		echo "\$ echo $TW_MS > $tw    # TIME-WAIT: 60 s -> $((TW_MS / 1000)) s, so that the unload need not wait long"
		echo "$TW_MS" > "$tw"
	fi
else
	verdict "load toytcp.ko" fail
fi

if loaded; then
	pair "toytcp client -> toytcp server" toytcp toytcp 7001
	pair "toytcp client -> Linux TCP server" inet toytcp 7002
	pair "Linux TCP client -> toytcp server" toytcp inet 7003
	iomodels 7100

	step "what toytcp shows in /proc (client namespace: sockets in TIME-WAIT are st 06)"
	run ip netns exec "$CLI" cat /proc/net/toytcp || true
	run ip netns exec "$CLI" cat /proc/net/toytcp_snmp || true

	step "unloading toytcp.ko"
	echo "\$ rmmod toytcp"
	tries=0
	until msg=$(rmmod toytcp 2>&1); do
		tries=$((tries + 1))
		[ "$tries" -lt 90 ] || break
		[ "$tries" != 1 ] || echo "$msg (sockets in TIME-WAIT, probably); retrying every second for up to 90 s"
		sleep 1
	done
	if loaded; then
		echo "$msg"
		verdict "unload toytcp.ko" fail
	else
		[ "$tries" = 0 ] || echo "(unloaded after ${tries} s)"
		dmesg | grep -E 'toytcp: unloaded' | sed 's/^/kernel: /' || true
		verdict "unload toytcp.ko" ok
	fi
fi

dmesg > "$out/demo-dmesg.txt"
step "demo steps"
printf '%s\n' "${steps[@]}"
exit "$failed"
