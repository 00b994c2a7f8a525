#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# `make plot`: build toytcp.ko for the 6.12 test kernel (or $KERNEL) and
# bench/ttbench, boot ONE VM, run one bulk transfer per congestion control
# algorithm (cubic, reno) over a veth path with delay (netem) and loss (iptables),
# recording the toytcp:toytcp_probe tracepoint (scripts/guest-plot.sh), and
# draw the sender's cwnd, ssthresh and bytes in flight over time with
# gnuplot, one panel per algorithm, into build/plot/cwnd.png.  Commits
# nothing (doc/cwnd.png is a copy of one such picture).
#
# Environment: KERNEL (6.12), PLOT_BYTES (3M), PLOT_DELAY (50ms),
# PLOT_LOSS (1%), VM_TIMEOUT (seconds, 900).
set -euo pipefail

# shellcheck source=scripts/common.sh
. "$(dirname "$0")/common.sh"
cd "$REPO"

command -v gnuplot >/dev/null || die "gnuplot missing (run 'make setup')"
if [ -n "${KERNEL:-}" ]; then
	k=$(resolve_kver "$KERNEL")
else
	k=$(default_kver)
fi
out=build/plot
mkdir -p "$out"
rm -f "$out"/{build.log,console.log,cwnd.png,done} "$out"/*.dat "$out"/*.trace

printf '==== building toytcp.ko for %s\n' "$k"
if ! build_module "$k" > "$out/build.log" 2>&1; then
	tail -n 30 "$out/build.log"
	die "plot: building toytcp.ko failed (log: $out/build.log)"
fi
printf '==== building bench/ttbench\n'
make -s -C bench

envs="TOYTCP_KO=build/$k/toytcp.ko"
for v in PLOT_BYTES PLOT_DELAY PLOT_LOSS; do
	[ -n "${!v:-}" ] && envs+=" $v=$(printf '%q' "${!v}")"
done
printf '==== booting a VM with %s: one transfer per algorithm\n' "$k"
rc=0
VM_APPEND="${VM_APPEND:-} slub_debug=- kfence.sample_interval=0" \
	scripts/vm.sh --timeout "${VM_TIMEOUT:-900}" --console "$out/console.log" \
	"$k" "$envs scripts/guest-plot.sh $out" || rc=$?
if [ "$(cat "$out/done" 2>/dev/null)" != "status 0" ]; then
	die "plot: the runs in the VM failed (exit status $rc; $out/*.log, console: $out/console.log)"
fi

title="toytcp, $k, ${PLOT_BYTES:-3M} over veth, ${PLOT_DELAY:-50ms} delay (netem), ${PLOT_LOSS:-1%} of the data dropped"
gnuplot <<GP
set terminal pngcairo size 1000,800 font ",10"
set output "$out/cwnd.png"
set multiplot layout 2,1 title "$title"
set xlabel "time (s)"
set ylabel "segments"
set y2label "bytes in flight (KB)"
set ytics nomirror
set y2tics
set key top left
set grid
do for [a in "cubic reno"] {
	set title a
	plot "$out/".a.".dat" using 1:2 with steps lw 2 title "cwnd", \
	     "" using 1:(\$3 < 100000 ? \$3 : NaN) with steps lw 2 title "ssthresh", \
	     "" using 1:(\$4 / 1024.0) axes x1y2 with dots title "in flight (KB, right)"
}
unset multiplot
GP
echo "plot: $out/cwnd.png ($(wc -l < "$out/cubic.dat") cubic, $(wc -l < "$out/reno.dat") reno probe events)"
