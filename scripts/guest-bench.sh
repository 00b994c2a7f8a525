#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Runs INSIDE the VM for `make bench` (bench/run.sh boots it through
# scripts/vm.sh), from the repository root:
#
#   scripts/guest-bench.sh OUTDIR
#
# Loads $TOYTCP_KO, raises the limits a benchmark needs, and runs every
# workload of bench/ttbench twice, once over toytcp and once over Linux
# TCP, back to back in the same boot.  Leaves in OUTDIR (shared with the
# host):
#
#   rows.tsv      the table's rows, in order: key, title (written first)
#   results.tsv   one line per figure, stack and run, written as they go:
#                 key, stack (toytcp|linux), ok|fail, value, unit,
#                 better (higher|lower), note
#   logs/         what each run printed (KEY-STACK-RUN.log), and for
#                 toytcp the counters of /proc/net/toytcp_snmp that changed
#   env.txt       kernel, boot parameters, CPUs, memory, settings
#   dmesg.txt     the kernel log of the whole run
#   done          written last: "status N"
#
# Settings (environment): BENCH_N (scale: connections, 10000),
# BENCH_BULK (bytes per single stream, 1G), BENCH_STREAMS (4),
# BENCH_WRITE (128K), BENCH_ROUNDS (ping-pong round trips, 2000),
# BENCH_DURATION (seconds per rr/crr run, 5), BENCH_LOSS_BYTES (64M),
# BENCH_LOSS5_BYTES (32M), BENCH_TIMEOUT (seconds per run, 300),
# BENCH_LOSS_TIMEOUT (seconds per loss run, 120),
# BENCH_PIN (the vCPU both ends of ping-pong, rr and crr run on, 0; empty:
# not pinned), BENCH_REPEAT (runs of each workload per stack, alternating
# between the stacks, 3; the report takes the median),
# BENCH_MEM_CONNS (connections of the memory rows, 200),
# BENCH_HOLD (toytcp sockets held open for the host-cost rows, 10000),
# BENCH_ONLY (space-separated keys of the workloads to run: host scale
# mem bulk_lo bulk_veth bulk_lo_x4 pingpong rr crr crr_sc loss; default
# all).
#
# rows.tsv: key, title, and optionally the two "stacks" compared (default
# toytcp and linux); the host-cost rows compare Linux TCP's figures with
# toytcp loaded ("idle", "held": BENCH_HOLD sockets open) against the
# same with toytcp not loaded ("unloaded").
set -uo pipefail
exec 2>&1

[ $# = 1 ] || { echo "usage: $0 OUTDIR" >&2; exit 2; }
mkdir -p "$1"
out=$(cd "$1" && pwd)
ko=$(realpath -m "${TOYTCP_KO:?TOYTCP_KO must name toytcp.ko}")
TTBENCH=${TTBENCH:-$PWD/bench/ttbench}

N=${BENCH_N:-10000}
BULK=${BENCH_BULK:-1G}
STREAMS=${BENCH_STREAMS:-4}
WRITE=${BENCH_WRITE:-128K}
ROUNDS=${BENCH_ROUNDS:-2000}
DURATION=${BENCH_DURATION:-5}
LOSS_BYTES=${BENCH_LOSS_BYTES:-64M}
LOSS5_BYTES=${BENCH_LOSS5_BYTES:-32M}
TMO=${BENCH_TIMEOUT:-300}
LOSS_TMO=${BENCH_LOSS_TIMEOUT:-120}
REPEAT=${BENCH_REPEAT:-3}
MEM_CONNS=${BENCH_MEM_CONNS:-200}
HOLD=${BENCH_HOLD:-10000}
ONLY=${BENCH_ONLY:-host scale mem bulk_lo bulk_veth bulk_lo_x4 pingpong rr crr crr_sc loss}

rm -rf "$out/logs" "$out/done" "$out/results.tsv" "$out/dmesg.txt"
mkdir -p "$out/logs"
: > "$out/results.tsv"
t_start=$(date +%s)
# Servers listen on 2001, 2002 ...: below the ephemeral ports (10000 and
# up, tune_ns), which client sockets in TIME-WAIT may hold for a minute.
port=2000
failed=0

say() { printf '[%4ds] %s\n' $(($(date +%s) - t_start)) "$*"; }
want() { case " $ONLY " in *" $1 "*) return 0 ;; esac; return 1; }

# Bytes as ttbench reads them (K/M/G are powers of 1024), for titles.
per_stream=$(awk -v s="$BULK" -v n="$STREAMS" 'BEGIN {
	m = 1; u = substr(s, length(s)); v = s + 0
	if (u == "K") m = 1024; else if (u == "M") m = 1048576; else if (u == "G") m = 1073741824
	printf "%d", v * m / n }')

# ---- the rows of the table, in order ----------------------------------------
rows=$out/rows.tsv
on_cpu=
[ -z "${BENCH_PIN-0}" ] || on_cpu=", 1 vCPU"
: > "$rows"
row() { printf '%s\t%s\t%s\t%s\n' "$1" "$2" "${3:-toytcp}" "${4:-linux}" >> "$rows"; }
want host && {
	row host_bulk "host cost: Linux TCP bulk $BULK loopback, toytcp loaded idle / not loaded" idle unloaded
	row host_bulk "host cost: Linux TCP bulk $BULK loopback, $HOLD toytcp sockets open / not loaded" held unloaded
	row host_pingpong_mean "host cost: Linux TCP ping-pong mean, toytcp loaded idle / not loaded" idle unloaded
	row host_pingpong_mean "host cost: Linux TCP ping-pong mean, $HOLD toytcp sockets open / not loaded" held unloaded
	row host_crr "host cost: Linux TCP CRR, toytcp loaded idle / not loaded" idle unloaded
	row host_crr "host cost: Linux TCP CRR, $HOLD toytcp sockets open / not loaded" held unloaded
}
want scale && {
	row scale_us_n10 "scale: 1-byte ping-pong per connection, $((N / 10)) conns (epoll)"
	row scale_us_n "scale: 1-byte ping-pong per connection, $N conns (epoll)"
	row scale_mem "scale: kernel memory (Slab) per connection, both ends, $N conns"
	row scale_connect "scale: connection setup while opening $N conns"
}
want mem && {
	row mem_idle "memory (Slab) per connection, both ends, idle, $MEM_CONNS conns"
	row mem_1m "memory (Slab) per connection, both ends, after 1 MB each way, $MEM_CONNS conns"
}
want bulk_lo && row bulk_lo "bulk: 1 stream, $BULK, $WRITE writes, loopback"
want bulk_veth && row bulk_veth "bulk: 1 stream, $BULK, $WRITE writes, veth MTU 1500"
want bulk_lo_x4 && row bulk_lo_x4 "bulk: $STREAMS streams x $((per_stream / 1048576))M, loopback"
want pingpong && {
	row pingpong_mean "ping-pong 1 byte, mean of $ROUNDS round trips, loopback$on_cpu"
	row pingpong_p99 "ping-pong 1 byte, p99 of $ROUNDS round trips, loopback$on_cpu"
}
want rr && row rr "request/response 4 KB / 64 KB, ${DURATION}s, loopback$on_cpu"
want crr && row crr "connect + 1-byte req/resp + close (CRR), client closes first, ${DURATION}s, loopback$on_cpu"
want crr_sc && row crr_sc "connect + 1-byte req/resp + close (CRR), server closes first, ${DURATION}s, loopback$on_cpu"
want loss && {
	row loss_0 "goodput, veth, 0% loss, $LOSS_BYTES (netem, no offloads)"
	row loss_1 "goodput, veth, 1% loss each way, $LOSS_BYTES"
	row loss_5 "goodput, veth, 5% loss each way, $LOSS5_BYTES"
	row loss_1i "goodput, veth, 1% of packets lost each way (netem at ingress), $LOSS_BYTES"
	row loss_5i "goodput, veth, 5% of packets lost each way (netem at ingress), $LOSS5_BYTES"
}

# ---- environment --------------------------------------------------------------
# Limits: descriptors for N connections on each end, listen backlog, ports.
ulimit -n 1048576 2>/dev/null || ulimit -n 65536
sysctl -q -w fs.file-max=2097152 fs.nr_open=1048576 >/dev/null 2>&1 || true

# tune_ns NS: the per-namespace limits (somaxconn and the port range are
# per network namespace).  55536 ephemeral ports: N connections, and the
# CRR runs' connections in TIME-WAIT, which hold theirs for 60 s.
tune_ns() {
	ip netns exec "$1" sysctl -q -w net.core.somaxconn=65535 \
		net.ipv4.tcp_max_syn_backlog=65535 \
		net.ipv4.ip_local_port_range="10000 65535" >/dev/null
}

for ns in ttb-lo ttb-s ttb-c ttb-ls ttb-lc; do
	ip netns del "$ns" 2>/dev/null || true
	ip netns add "$ns"
	ip -n "$ns" link set lo up
	tune_ns "$ns"
done
# A veth pair with the default offloads, for the plain bulk run ...
ip link add veth-bs netns ttb-s type veth peer name veth-bc netns ttb-c
ip -n ttb-s addr add 10.78.0.1/24 dev veth-bs
ip -n ttb-c addr add 10.78.0.2/24 dev veth-bc
ip -n ttb-s link set veth-bs up
ip -n ttb-c link set veth-bc up
# ... and one without (so that netem drops 1500-byte packets, not 64 KB
# GSO bursts, for both stacks), with netem on both ends, for the loss runs.
ip link add veth-ls netns ttb-ls type veth peer name veth-lc netns ttb-lc
ip -n ttb-ls addr add 10.79.0.1/24 dev veth-ls
ip -n ttb-lc addr add 10.79.0.2/24 dev veth-lc
ip -n ttb-ls link set veth-ls up
ip -n ttb-lc link set veth-lc up
ip netns exec ttb-ls ethtool -K veth-ls tso off gso off gro off >/dev/null 2>&1 || true
ip netns exec ttb-lc ethtool -K veth-lc tso off gso off gro off >/dev/null 2>&1 || true
modprobe sch_netem 2>/dev/null || true
# shellcheck disable=SC2317 # called through loss_pairs
netem() { # LOSS%
	tc -n ttb-ls qdisc replace dev veth-ls root netem loss "$1" &&
	tc -n ttb-lc qdisc replace dev veth-lc root netem loss "$1"
}
# The same loss where the packets are single segments already: at the
# ingress of each end, redirected through an ifb device with netem on it.
# On the way out, netem meets the GSO skbs that the stacks build (they are
# cut into segments after the qdisc) and drops each whole, so a stack that
# sends larger bursts meets fewer loss events for the same bytes; here each
# packet on the wire is lost with the same probability.
# shellcheck disable=SC2317 # called through loss_pairs
netem_ingress() { # LOSS%
	local ns dev

	modprobe ifb numifbs=0 2>/dev/null || true
	for ns in ttb-ls ttb-lc; do
		dev=veth-${ns#ttb-}
		tc -n "$ns" qdisc del dev "$dev" root 2>/dev/null
		ip -n "$ns" link show ifb0 >/dev/null 2>&1 || {
			ip -n "$ns" link add ifb0 type ifb &&
			ip -n "$ns" link set ifb0 up &&
			tc -n "$ns" qdisc add dev "$dev" handle ffff: ingress &&
			tc -n "$ns" filter add dev "$dev" parent ffff: protocol ip \
				u32 match u32 0 0 action mirred egress redirect dev ifb0
		} || return 1
		tc -n "$ns" qdisc replace dev ifb0 root netem loss "$1" || return 1
	done
}
# Packets netem dropped so far on the way from the client to the server:
# at the client's veth (netem) or at the server's ifb0 (netem_ingress).
netem_drops() {
	{
		tc -n ttb-lc -s qdisc show dev veth-lc
		tc -n ttb-ls -s qdisc show dev ifb0 2>/dev/null
	} | awk '$1 == "qdisc" { on = ($2 == "netem") }
		 on && /dropped/ { sub(",", "", $7); n += $7 } END { print n + 0 }'
}

{
	echo "kernel: $(uname -r)"
	echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "cmdline: $(sed 's/virtme.exec=[^ ]*//' /proc/cmdline)"
	echo "cpus: $(nproc)"
	echo "accel: ${BENCH_ACCEL:-unknown}"
	echo "memory: $(awk '/MemTotal/ {print $2 " kB"}' /proc/meminfo)"
	echo "settings: BENCH_MEM_CONNS=$MEM_CONNS BENCH_HOLD=$HOLD BENCH_REPEAT=$REPEAT BENCH_PIN=${BENCH_PIN-0} BENCH_N=$N BENCH_BULK=$BULK BENCH_STREAMS=$STREAMS BENCH_WRITE=$WRITE BENCH_ROUNDS=$ROUNDS BENCH_DURATION=$DURATION BENCH_LOSS_BYTES=$LOSS_BYTES BENCH_LOSS5_BYTES=$LOSS5_BYTES BENCH_TIMEOUT=$TMO BENCH_LOSS_TIMEOUT=$LOSS_TMO"
	echo "nofile: $(ulimit -n)"
	echo "slub_debug: $(cat /sys/kernel/slab/kmalloc-64/sanity_checks 2>/dev/null || echo ?) (1: SLUB debugging on)"
} > "$out/env.txt"
sed 's/^/# /' "$out/env.txt"

dmesg -C
dmesg -W > "$out/dmesg-live.txt" 2>&1 &
live=$!
load_toytcp() {
	local msg

	[ -d /sys/module/toytcp ] && return 0
	say "loading $ko"
	if ! msg=$(insmod "$ko" 2>&1) || [ ! -d /sys/module/toytcp ]; then
		say "insmod failed: $msg; toytcp runs will fail"
		failed=1
		return 1
	fi
}

# ---- one run --------------------------------------------------------------------
# Where a run's two ends are: NET is lo (both in ttb-lo, 127.0.0.1), veth
# (ttb-s/ttb-c, offloads on) or lossy (ttb-ls/ttb-lc, netem, no offloads).
net_args() {
	case "$1" in
	lo) echo "--server-ns ttb-lo --client-ns ttb-lo --addr 127.0.0.1" ;;
	veth) echo "--server-ns ttb-s --client-ns ttb-c --addr 10.78.0.1" ;;
	lossy) echo "--server-ns ttb-ls --client-ns ttb-lc --addr 10.79.0.1" ;;
	esac
}
net_ns() {
	case "$1" in
	lo) echo ttb-lo ;;
	veth) echo "ttb-s ttb-c" ;;
	lossy) echo "ttb-ls ttb-lc" ;;
	esac
}
# toytcp's counters in the namespaces NS..., one "ns name value" a line.
snmp() {
	local ns

	for ns in "$@"; do
		# shellcheck disable=SC2016 # awk's $1, not the shell's
		ip netns exec "$ns" awk -v ns="$ns" '{ print ns, $1, $2 }' /proc/net/toytcp_snmp 2>/dev/null
	done
}

# run KEY STACK NET REP [TTBENCH_ARGS...]: one ttbench run; appends its
# figures (or "fail" for each figure it announced) to results.tsv, one
# line per figure: key, stack, ok|fail, value, unit, better, note.
klog_mark=0
run() {
	local key=$1 stack=$2 net=$3 rep=$4 log rc=0 t0 secs reason metrics m unit better v n
	local tmo=${RUN_TMO:-$TMO} snmp0='' drops0=0
	local -a nsargs pin=()

	shift 4
	read -ra nsargs <<< "$(net_args "$net")"
	[ -z "${RUN_PIN:-}" ] || pin=(taskset -c "$RUN_PIN")
	log=$out/logs/$key-$stack-$rep.log
	port=$((port + 1))
	# shellcheck disable=SC2046 # a list of namespaces
	[ "$stack" != toytcp ] || snmp0=$(snmp $(net_ns "$net"))
	[ "$net" != lossy ] || drops0=$(netem_drops)
	t0=$(date +%s.%N)
	timeout -k 5 $((tmo + 30)) "${pin[@]}" "$TTBENCH" --family "${RUN_FAMILY:-$stack}" --label "$key" \
		--port "$port" --timeout "$tmo" "${nsargs[@]}" "$@" > "$log" 2>&1 || rc=$?
	secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	reason=
	if [ "$rc" != 0 ]; then
		reason=$(grep -m1 '^FAIL ' "$log" | sed 's/^FAIL //')
		case "$rc" in
		124|137) reason=${reason:-"killed after $((tmo + 30)) s"} ;;
		esac
		reason="${reason:-exit status $rc} (exit $rc after ${secs}s)"
	fi
	[ "$net" != lossy ] ||
		echo "---- packets netem dropped on the way to the receiver: $(($(netem_drops) - drops0))" >> "$log"
	if [ "$stack" = toytcp ]; then
		# What toytcp counted during the run, for the log.
		{
			echo "---- toytcp counters that changed during the run (namespace: name +delta)"
			# shellcheck disable=SC2046 # a list of namespaces
			awk 'FNR == NR { v[$1 " " $2] = $3; next }
			     $3 != v[$1 " " $2] { d = $3 - v[$1 " " $2]
						   printf "%s: %s %s%d\n", $1, $2, (d > 0 ? "+" : ""), d }' \
				<(echo "$snmp0") <(snmp $(net_ns "$net"))
		} >> "$log"
	fi
	metrics=$(awk '$1 == "METRIC" { print $2, $3, $4 }' "$log")
	if [ -z "$metrics" ]; then
		# It failed before it said what it measures: one row for the key.
		printf '%s\t%s\tfail\t\t\t\t%s\n' "$key" "$stack" "${reason:-no output}" >> "$out/results.tsv"
		say "$key $stack #$rep: FAIL: ${reason:-no output} (log: ${log#"$PWD"/})"
		failed=1
	fi
	while read -r m unit better; do
		[ -n "$m" ] || continue
		v=$(awk -v m="$m" '$1 == "RESULT" && $2 == m { print $3; exit }' "$log")
		if [ -n "$v" ]; then
			printf '%s\t%s\tok\t%s\t%s\t%s\t%s\n' "$m" "$stack" "$v" "$unit" "$better" \
				"$([ "$rc" = 0 ] || echo "$reason")" >> "$out/results.tsv"
			say "$m $stack #$rep: $v $unit (${secs}s)"
		else
			printf '%s\t%s\tfail\t\t%s\t%s\t%s\n' "$m" "$stack" "$unit" "$better" \
				"${reason:-no result}" >> "$out/results.tsv"
			say "$m $stack #$rep: FAIL: ${reason:-no result} (log: ${log#"$PWD"/})"
			failed=1
		fi
	done <<< "$metrics"
	if [ "$rc" != 0 ] && [ "$stack" = toytcp ]; then
		# What toytcp looked like when it failed, for the report.
		{
			echo "---- after the failure: toytcp sockets and counters"
			for ns in $(net_ns "$net"); do
				echo "-- $ns /proc/net/toytcp (first 20 of $(ip netns exec "$ns" awk 'END { print NR }' /proc/net/toytcp) lines)"
				ip netns exec "$ns" head -n 20 /proc/net/toytcp
				ip netns exec "$ns" grep -v ' 0$' /proc/net/toytcp_snmp
			done
		} >> "$log" 2>&1
	fi
	# Anything new in the kernel log?
	n=$(dmesg | wc -l)
	if [ "$n" -gt "$klog_mark" ]; then
		dmesg | tail -n +$((klog_mark + 1)) | grep -E 'WARNING|BUG|Oops|toytcp' |
			grep -v -E 'taints kernel|module verification failed|toytcp: loaded' |
			head -n 20 | sed "s/^/    kernel ($key $stack): /"
		klog_mark=$n
	fi
	[ -n "${RUN_FAMILY:-}" ] || [ -d /sys/module/toytcp ] || say "toytcp is no longer loaded!"
}

# order R: the stacks in the order of repetition R: toytcp first in odd
# repetitions, Linux TCP first in even ones, so that neither always runs
# on the warmer (or the more loaded) machine.
order() {
	if [ $(($1 % 2)) = 1 ]; then echo toytcp linux; else echo linux toytcp; fi
}

# pair KEY NET [ARGS...]: both stacks, BENCH_REPEAT times, alternating.
pair() {
	local r s

	for r in $(seq "$REPEAT"); do
		for s in $(order "$r"); do
			run "$1" "$s" "$2" "$r" "${@:3}"
		done
	done
}

# ---- what toytcp costs Linux TCP's own traffic ----------------------------------
# Linux TCP's bulk, ping-pong and CRR with toytcp not loaded ("unloaded"),
# loaded and idle ("idle"), and loaded with BENCH_HOLD toytcp sockets open
# in the same namespace ("held": ttbench hold), in this one boot; the
# order of the three alternates between repetitions.
hold_pid=
hold_start() {
	local i

	[ -n "$hold_pid" ] && return 0
	load_toytcp || return 1
	# Ports below the ephemeral range (10000-65535, tune_ns) and above
	# the servers' (2001 and up, one per run): the host-cost CRR runs
	# leave Linux TCP TIME-WAITs on ephemeral ports, which refuse a
	# listener's bind() there (as between two Linux sockets; toytcp's
	# bind() is decided by Linux).
	"$TTBENCH" --family toytcp --client-ns ttb-lo --addr 127.0.0.1 \
		--port 8001 --timeout 100000 hold --conns "$HOLD" \
		> "$out/logs/hold-$1.log" 2>&1 &
	hold_pid=$!
	for i in $(seq 600); do
		grep -q '^HOLDING' "$out/logs/hold-$1.log" && break
		kill -0 "$hold_pid" 2>/dev/null || break
		sleep 0.5
	done
	if ! grep -q '^HOLDING' "$out/logs/hold-$1.log"; then
		say "hold: toytcp sockets not open: $(tail -n 2 "$out/logs/hold-$1.log")"
		return 1
	fi
	say "hold: $(grep '^HOLDING' "$out/logs/hold-$1.log"), toytcp sockets in ttb-lo: $(ip netns exec ttb-lo awk 'END { print NR - 1 }' /proc/net/toytcp)"
}
hold_stop() {
	[ -n "$hold_pid" ] || return 0
	kill "$hold_pid" 2>/dev/null
	wait "$hold_pid" 2>/dev/null
	hold_pid=
	sleep 2		# resets sent, sockets and port reservations freed
}
host_state() { # unloaded|idle|held REP
	local i

	case "$1" in
	unloaded)
		hold_stop
		for i in $(seq 30); do
			[ -d /sys/module/toytcp ] || break
			rmmod toytcp 2>/dev/null || sleep 1
		done
		[ ! -d /sys/module/toytcp ] || { say "rmmod toytcp failed"; return 1; }
		;;
	idle) hold_stop; load_toytcp ;;
	held) hold_start "$2" ;;
	esac
}
if want host; then
	for r in $(seq "$REPEAT"); do
		conds="unloaded idle held"
		[ $((r % 2)) = 1 ] || conds="held idle unloaded"
		for c in $conds; do
			if ! host_state "$c" "$r"; then
				for k in host_bulk host_pingpong_mean host_pingpong_p99 host_crr; do
					printf '%s\t%s\tfail\t\t\t\t%s\n' "$k" "$c" \
						"could not reach the state $c" >> "$out/results.tsv"
				done
				continue
			fi
			say "host cost, $c (toytcp $([ -d /sys/module/toytcp ] && echo loaded || echo not loaded))"
			RUN_FAMILY=linux run host_bulk "$c" lo "$r" bulk --bytes "$BULK" --write "$WRITE"
			RUN_FAMILY=linux RUN_PIN=${BENCH_PIN-0} run host_pingpong "$c" lo "$r" \
				pingpong --rounds "$ROUNDS"
			RUN_FAMILY=linux RUN_PIN=${BENCH_PIN-0} run host_crr "$c" lo "$r" \
				crr --duration "$DURATION"
		done
	done
	hold_stop
fi
load_toytcp

# The scale runs first: their memory figure (Slab before/after) is
# cleanest before other runs leave connections in TIME-WAIT behind (they
# end theirs with resets: nothing lingers).  A pause before each, for the
# sockets of the last one to be freed (RCU, work items).
if want scale; then
	for r in $(seq "$REPEAT"); do
		for s in $(order "$r"); do
			sleep 2
			RUN_TMO=$((TMO * 3)) run scale "$s" lo "$r" scale --conns "$N"
		done
	done
fi
want mem && pair mem lo mem --conns "$MEM_CONNS" --bytes 1M --verify
want bulk_lo && pair bulk_lo lo bulk --bytes "$BULK" --write "$WRITE"
want bulk_veth && pair bulk_veth veth bulk --bytes "$BULK" --write "$WRITE"
want bulk_lo_x4 && pair bulk_lo_x4 lo bulk --bytes "$per_stream" \
	--write "$WRITE" --streams "$STREAMS"
# The request/response workloads with both ends on one vCPU: under TCG a
# wakeup across vCPUs waits for the host to run the other vCPU's thread,
# milliseconds when the host is busy, which swamps what the stacks cost
# (BENCH_PIN= to let them spread).
export RUN_PIN=${BENCH_PIN-0}
want pingpong && pair pingpong lo pingpong --rounds "$ROUNDS"
want rr && pair rr lo rr --req 4K --resp 64K --duration "$DURATION"
want crr && pair crr lo crr --duration "$DURATION"
want crr_sc && pair crr_sc lo crr --duration "$DURATION" --server-closes
RUN_PIN=
# loss_pairs SETUP SUFFIX LOSS...: per loss (in %), SETUP it (netem or
# netem_ingress) and run the pair of bulk runs "loss_LOSS$SUFFIX".
loss_pairs() {
	local setup=$1 sfx=$2 l bytes s

	shift 2
	for l in "$@"; do
		bytes=$LOSS_BYTES
		[ "$l" != 5 ] || bytes=$LOSS5_BYTES
		if "$setup" "$l%"; then
			RUN_TMO=$LOSS_TMO pair "loss_$l$sfx" lossy bulk --bytes "$bytes" --write "$WRITE"
		else
			for s in toytcp linux; do
				printf 'loss_%s\t%s\tfail\t\tMB/s\thigher\t%s failed\n' \
					"$l$sfx" "$s" "$setup" >> "$out/results.tsv"
			done
		fi
	done
}
if want loss; then
	loss_pairs netem "" 0 1 5
	loss_pairs netem_ingress i 1 5
fi

say "all runs done"
for ns in ttb-lo ttb-s ttb-c ttb-ls ttb-lc; do
	ip netns del "$ns" 2>/dev/null || true
done
kill "$live" 2>/dev/null || true
wait "$live" 2>/dev/null || true
dmesg > "$out/dmesg.txt"
echo "status $failed" > "$out/done"
exit 0
