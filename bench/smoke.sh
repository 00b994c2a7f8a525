#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The benchmark's smoke run: every workload of bench/ttbench at a tiny
# size over toytcp (bulk with its data checked), so that the benchmark
# cannot rot.  Runs inside a test VM, as root, from anywhere:
#
#   [TOYTCP_KO=/abs/path/toytcp.ko] bench/smoke.sh
#
# Prints one TAP line per run, "ok N bench-smoke: <workload> toytcp" or
# "not ok N ...", with "# " diagnostics, then "1..N"; exits 1 if any failed.
# The module is loaded from $TOYTCP_KO if it is not loaded yet (and left
# loaded).  SMOKE_FAMILIES="toytcp linux" runs over Linux TCP as well;
# SMOKE_TIMEOUT bounds each run (seconds, default 60).
#
# It uses bench/ttbench if that is up to date, and otherwise compiles
# bench/ttbench.c into a temporary directory (the repository may be
# read-only in the VM).  TIME-WAIT is shortened to 1 s while it runs
# (tw_timeout_ms, restored at the end), so that no socket it leaves behind
# keeps the module busy for long.
set -uo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
FAMILIES=${SMOKE_FAMILIES:-toytcp}
TMO=${SMOKE_TIMEOUT:-60}
NS=tt-bsmoke
n=0
failed=0

emit() { # ok|"not ok" NAME [DIAG...]
	local st=$1 name=$2

	shift 2
	n=$((n + 1))
	echo "$st $n bench-smoke: $name"
	[ "$st" = ok ] || failed=$((failed + 1))
	for d in "$@"; do
		echo "# $d"
	done
}

tmp=$(mktemp -d)
tw=/sys/module/toytcp/parameters/tw_timeout_ms
tw0=
cleanup() {
	ip netns del "$NS-lo" 2>/dev/null
	ip netns del "$NS-s" 2>/dev/null
	ip netns del "$NS-c" 2>/dev/null
	[ -z "$tw0" ] || echo "$tw0" > "$tw" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# The program.
bin=$BENCH_DIR/ttbench
if [ ! -x "$bin" ] || [ "$bin" -ot "$BENCH_DIR/ttbench.c" ] ||
   [ "$bin" -ot "$BENCH_DIR/../uapi/linux/toytcp.h" ]; then
	bin=$tmp/ttbench
	if ! out=$(cd "$BENCH_DIR" && ${CC:-gcc} -O2 -Wall -o "$bin" ttbench.c -pthread 2>&1); then
		emit "not ok" "build ttbench" "$out"
		echo "1..$n"
		exit 1
	fi
fi

# The module.
case " $FAMILIES " in
*" toytcp "*)
	if [ ! -d /sys/module/toytcp ] && [ -n "${TOYTCP_KO:-}" ]; then
		insmod "$TOYTCP_KO" 2>&1 | sed 's/^/# insmod: /'
	fi
	[ -d /sys/module/toytcp ] ||
		echo "# toytcp is not loaded (TOYTCP_KO: ${TOYTCP_KO:-unset}): its runs will fail"
	if [ -w "$tw" ]; then
		tw0=$(cat "$tw")
		echo 1000 > "$tw"
	fi
	;;
esac

# A namespace for the loopback runs, two joined by a veth pair for one run.
cleanup_ns() { ip netns del "$1" 2>/dev/null || true; }
for ns in "$NS-lo" "$NS-s" "$NS-c"; do
	cleanup_ns "$ns"
	ip netns add "$ns" && ip -n "$ns" link set lo up
done
ip link add tt-bsm-s netns "$NS-s" type veth peer name tt-bsm-c netns "$NS-c" &&
	ip -n "$NS-s" addr add 10.81.0.1/24 dev tt-bsm-s &&
	ip -n "$NS-c" addr add 10.81.0.2/24 dev tt-bsm-c &&
	ip -n "$NS-s" link set tt-bsm-s up &&
	ip -n "$NS-c" link set tt-bsm-c up
veth=(--server-ns "$NS-s" --client-ns "$NS-c" --addr 10.81.0.1)

port=24000
# smoke NAME FAMILY [ARGS...]: one run in $NS-lo (ARGS may name others).
smoke() {
	local name=$1 fam=$2 log=$tmp/log rc=0 missing

	shift 2
	port=$((port + 1))
	ip netns exec "$NS-lo" timeout -k 5 $((TMO + 15)) "$bin" --family "$fam" \
		--port "$port" --timeout "$TMO" --label "$name" "$@" > "$log" 2>&1 || rc=$?
	# Every figure it announced must have come out.
	missing=$(awk '$1 == "METRIC" { m[$2] = 1 } $1 == "RESULT" { delete m[$2] }
		       END { for (k in m) printf "%s ", k }' "$log")
	if [ "$rc" = 0 ] && [ -z "$missing" ] && grep -q '^RESULT ' "$log"; then
		emit ok "$name $fam" "$(awk '$1 == "RESULT" { printf "%s %s %s  ", $2, $3, $4 }' "$log")"
	else
		emit "not ok" "$name $fam" "exit status $rc${missing:+, no result for $missing}" \
			"ttbench $fam $*:"
		sed 's/^/#   /' "$log" | tail -n 20
	fi
}

# The host-cost rows' holder: sockets open until killed, ended by resets.
smoke_hold() {
	local fam=$1 log=$tmp/hold.log pid i

	port=$((port + 200))
	ip netns exec "$NS-lo" "$bin" --family "$fam" --port "$port" \
		--timeout "$TMO" hold --conns 300 > "$log" 2>&1 &
	pid=$!
	for i in $(seq $((TMO * 2))); do
		grep -q '^HOLDING' "$log" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.5
	done
	if grep -q '^HOLDING 300$' "$log"; then
		emit ok "hold $fam" "$(grep '^INFO' "$log" | tail -n 1)"
	else
		emit "not ok" "hold $fam" "no HOLDING 300 line:"
		sed 's/^/#   /' "$log" | tail -n 20
	fi
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

for fam in $FAMILIES; do
	smoke bulk "$fam" bulk --bytes 2M --verify
	smoke bulk-4streams "$fam" bulk --bytes 512K --streams 4 --verify
	smoke bulk-veth "$fam" "${veth[@]}" bulk --bytes 1M --verify
	smoke pingpong "$fam" pingpong --rounds 50 --warmup 5
	smoke rr "$fam" rr --req 4K --resp 64K --duration 0 --count 20
	smoke crr "$fam" crr --duration 0 --count 20
	smoke crr-server-closes "$fam" crr --duration 0 --count 20 --server-closes
	smoke scale "$fam" scale --conns 200 --rounds 2
	smoke mem "$fam" mem --conns 20 --bytes 256K --verify
	# The loss rows: bulk over the veth pair with netem dropping 5%.
	modprobe sch_netem 2>/dev/null || true
	if tc -n "$NS-c" qdisc replace dev tt-bsm-c root netem loss 5% 2>/dev/null &&
	   tc -n "$NS-s" qdisc replace dev tt-bsm-s root netem loss 5% 2>/dev/null; then
		smoke bulk-veth-loss5 "$fam" "${veth[@]}" bulk --bytes 512K --verify
		tc -n "$NS-c" qdisc del dev tt-bsm-c root 2>/dev/null
		tc -n "$NS-s" qdisc del dev tt-bsm-s root 2>/dev/null
	else
		emit "not ok" "bulk-veth-loss5 $fam" "tc netem failed (sch_netem?)"
	fi
	smoke_hold "$fam"
done

echo "1..$n"
[ "$failed" = 0 ]
