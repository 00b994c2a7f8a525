#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs INSIDE the VM for `make plot` (scripts/plot.sh boots it through
# scripts/vm.sh), from the repository root:
#
#   TOYTCP_KO=build/KVER/toytcp.ko scripts/guest-plot.sh OUTDIR
#
# One bulk transfer per congestion control algorithm (cubic, then reno,
# chosen by the client namespace's net.toytcp.congestion_control) with
# bench/ttbench over a veth pair, offloads off, whose client end delays
# the data by PLOT_DELAY (50ms, netem) and whose server end drops
# PLOT_LOSS (1%) of it at random (iptables statistic).  The toytcp:toytcp_probe tracepoint is recorded in a private tracefs
# instance, only the client's sends (dport == the server's port).  Leaves in
# OUTDIR (shared with the host):
#
#   ALGO.trace    the instance's trace, as tracefs prints it
#   ALGO.dat      time (s, from the first event), snd_cwnd, ssthresh
#                 (segments), in_flight (bytes)
#   ALGO.log      what ttbench printed, and netem's counters
#   done          written last: "status N"
#
# Settings: PLOT_BYTES (bytes per transfer, 3M), PLOT_DELAY, PLOT_LOSS.
set -uo pipefail
exec 2>&1

[ $# = 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
ko=$(realpath -m "${TOYTCP_KO:?TOYTCP_KO must name toytcp.ko}")
TTBENCH=$PWD/bench/ttbench
BYTES=${PLOT_BYTES:-3M}
DELAY=${PLOT_DELAY:-50ms}
LOSS=${PLOT_LOSS:-1%}
PORT=2001
T=/sys/kernel/tracing
inst=$T/instances/toytcp-plot
status=0

rm -f "$out"/*.trace "$out"/*.dat "$out"/*.log "$out/done"
finish() {
	rmdir "$inst" 2>/dev/null
	echo "status $status" > "$out/done"
}
trap finish EXIT

[ -d /sys/module/toytcp ] || insmod "$ko" || { status=1; exit 1; }
mountpoint -q $T || mount -t tracefs nodev $T || { status=1; exit 1; }
modprobe sch_netem 2>/dev/null || true

for ns in plot-s plot-c; do
	ip netns del $ns 2>/dev/null
	ip netns add $ns
	ip -n $ns link set lo up
done
ip link add veth-ps netns plot-s type veth peer name veth-pc netns plot-c
ip -n plot-s addr add 10.80.0.1/24 dev veth-ps
ip -n plot-c addr add 10.80.0.2/24 dev veth-pc
ip -n plot-s link set veth-ps up
ip -n plot-c link set veth-pc up
for d in plot-s:veth-ps plot-c:veth-pc; do
	ip netns exec "${d%%:*}" ethtool -K "${d#*:}" tso off gso off gro off \
		>/dev/null 2>&1 || true
done
# The data's way: netem's delay, and the loss drawn by iptables at the
# server (netem's own loss dropped far fewer than 1% here); the ACKs' way:
# nothing.
tc -n plot-c qdisc replace dev veth-pc root netem delay "$DELAY" limit 10000 ||
	{ status=1; exit 1; }
prob=$(awk -v l="${LOSS%\%}" 'BEGIN { printf "%.4f", l / 100 }')
ip netns exec plot-s iptables -A INPUT -p tcp --dport $PORT -m statistic \
	--mode random --probability "$prob" -j DROP || { status=1; exit 1; }

mkdir "$inst" || { status=1; exit 1; }
echo 16384 > "$inst/buffer_size_kb"
echo "dport == $PORT" > "$inst/events/toytcp/toytcp_probe/filter" || { status=1; exit 1; }

for algo in cubic reno; do
	ip netns exec plot-c sysctl -q -w net.toytcp.congestion_control=$algo ||
		{ status=1; continue; }
	echo > "$inst/trace"
	echo 1 > "$inst/events/toytcp/toytcp_probe/enable"
	echo "== $algo: $BYTES over $DELAY, $LOSS loss" > "$out/$algo.log"
	timeout -k 5 200 "$TTBENCH" --family toytcp --server-ns plot-s \
		--client-ns plot-c --addr 10.80.0.1 --port $PORT --timeout 180 \
		--bytes "$BYTES" --label "bulk-$algo" bulk >> "$out/$algo.log" 2>&1 ||
		status=1
	echo 0 > "$inst/events/toytcp/toytcp_probe/enable"
	ip netns exec plot-s iptables -Z -v -n -L INPUT >> "$out/$algo.log"
	cat "$inst/trace" > "$out/$algo.trace"
	# "... 123.456789: toytcp_probe: ... snd_cwnd=N ssthresh=N ... in_flight=N ca=NAME"
	awk -v want="$algo" '
		/toytcp_probe:/ {
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^[0-9]+\.[0-9]+:$/) t = substr($i, 1, length($i) - 1) + 0
				split($i, kv, "=")
				v[kv[1]] = kv[2]
			}
			if (v["ca"] != want) next
			if (!n++) t0 = t
			printf "%.6f %d %d %d\n", t - t0, v["snd_cwnd"], v["ssthresh"], v["in_flight"]
		}' "$out/$algo.trace" > "$out/$algo.dat"
	echo "$algo: $(wc -l < "$out/$algo.dat") probe events" | tee -a "$out/$algo.log"
	[ -s "$out/$algo.dat" ] || status=1
	cat "$out/$algo.log"
done
