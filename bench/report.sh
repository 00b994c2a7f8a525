#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Turn what scripts/guest-bench.sh left in DIR (rows.tsv, results.tsv,
# env.txt) into the benchmark's table, JSON and chart:
#
#   bench/report.sh DIR [COMMAND]
#
# Writes DIR/table.txt (aligned, also printed), DIR/table.md (Markdown),
# DIR/results.json and DIR/bench.png (when gnuplot is installed).  COMMAND
# is recorded in the JSON as the command that produced the results.
# A row with no figure for a stack (the VM died before it ran) is "fail".
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: $0 DIR [COMMAND]" >&2; exit 2; }
dir=$1
cmd=${2:-make bench}
[ -s "$dir/rows.tsv" ] || { echo "$0: $dir/rows.tsv missing: no benchmark ran" >&2; exit 1; }
touch "$dir/results.tsv"
env_get() { sed -n "s/^$1: //p" "$dir/env.txt" 2>/dev/null | head -n 1; }
kernel=$(env_get kernel)
date=$(env_get date)
settings=$(env_get settings)
accel=$(env_get accel)
cpus=$(env_get cpus)

# One line per row: key, title, unit, better, toytcp, linux, ratio, rel,
# toytcp note, linux note, toytcp value, linux value, toytcp runs, linux
# runs; "fail" where a figure is missing.  A stack's figure is the median
# of its runs (BENCH_REPEAT), a failed run counting as the worst: with 3
# runs, one failure still gives a figure (the worse of the other two),
# two make the row "fail".  A failed run is noted either way.  rel is
# toytcp's performance relative to Linux (ratio, or 1/ratio when lower is
# better): above 1, toytcp does better.
awk -F'\t' '
	function fmt(v) {
		if (v == "") return "fail"
		v += 0
		if (v >= 1000) return sprintf("%.0f", v)
		if (v >= 100) return sprintf("%.1f", v)
		if (v >= 10) return sprintf("%.2f", v)
		return sprintf("%.3g", v)
	}
	# How good a run was: higher is better; a failure is the worst.
	function score(k, v) { return v == "fail" ? -1e300 : (better[k] == "lower" ? -v : v) }
	FNR == NR {
		k = $1 SUBSEP $2
		if ($5 != "") unit[$1] = $5
		if ($6 != "") better[$1] = $6
		v = ($3 == "ok") ? $4 + 0 : "fail"
		run[k, ++runs[k]] = v
		if ($3 == "ok") {
			samples[k] = samples[k] (samples[k] == "" ? "" : ",") v
			if ($7 != "" && !(k in note)) note[k] = $7
		} else {
			fails[k]++
			if (!(k in why)) why[k] = $7
		}
		next
	}
	# The median run, failures ranked worst; "" if that is a failure.
	function median(k, key,   n, i, j, t, a) {
		n = runs[k]
		for (i = 1; i <= n; i++) a[i] = run[k, i]
		for (i = 2; i <= n; i++)
			for (j = i; j > 1 && score(key, a[j]) < score(key, a[j - 1]); j--) {
				t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
			}
		t = a[int(n / 2) + 1 - (n % 2 == 0)]
		return (n == 0 || t == "fail") ? "" : t
	}
	function notes(k) {
		if (!(k in runs)) return "no result: the run did not happen (VM ended?)"
		if (fails[k] == runs[k]) return (runs[k] > 1 ? "all " runs[k] " runs failed: " : "") why[k]
		if (fails[k]) return fails[k] " of " runs[k] " runs failed (" why[k] "); the others: " samples[k]
		return (k in note) ? note[k] : ""
	}
	{
		k = $1; kt = k SUBSEP "toytcp"; kl = k SUBSEP "linux"
		t = median(kt, k); l = median(kl, k)
		r = ""; rel = ""
		if (t != "" && l != "" && l + 0 != 0) {
			r = (t + 0) / (l + 0)
			rel = (better[k] == "lower") ? (t + 0 != 0 ? 1 / r : "") : r
			r = sprintf("%.3g", r); if (rel != "") rel = sprintf("%.3g", rel)
		}
		printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k, $2,
			(unit[k] != "" ? unit[k] : "?"), (better[k] != "" ? better[k] : "?"),
			fmt(t), fmt(l), (r == "" ? "-" : r), rel, notes(kt), notes(kl), t, l,
			samples[kt], samples[kl]
	}' "$dir/results.tsv" "$dir/rows.tsv" > "$dir/table.tsv"

# The aligned table.
{
	printf '%-66s %12s %12s %-8s %8s  %s\n' "Workload" "toytcp" "Linux" "unit" \
		"toytcp/" "better"
	printf '%-66s %12s %12s %-8s %8s  %s\n' "" "" "" "" "Linux" ""
	while IFS=$'\t' read -r _ title unit better t l r _; do
		printf '%-66s %12s %12s %-8s %8s  %s\n' "$title" "$t" "$l" "$unit" "$r" "$better"
	done < "$dir/table.tsv"
	awk -F'\t' '$9 != "" { print "toytcp, " $1 ": " $9 }
		    $10 != "" { print "Linux, " $1 ": " $10 }' "$dir/table.tsv" |
		sed 's/^/  note: /'
} > "$dir/table.txt"

# Markdown.
{
	echo "| Workload | toytcp | Linux TCP | unit | toytcp/Linux | better |"
	echo "|---|---:|---:|---|---:|---|"
	while IFS=$'\t' read -r _ title unit better t l r _; do
		echo "| $title | $t | $l | $unit | $r | $better |"
	done < "$dir/table.tsv"
	notes=$(awk -F'\t' '$9 != "" { print "- toytcp, `" $1 "`: " $9 }
			     $10 != "" { print "- Linux, `" $1 "`: " $10 }' "$dir/table.tsv")
	if [ -n "$notes" ]; then
		echo
		echo "Failures and notes:"
		echo
		echo "$notes"
	fi
} > "$dir/table.md"

# JSON.
awk -F'\t' -v kernel="$kernel" -v date="$date" -v cmd="$cmd" -v settings="$settings" '
	function q(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/\t/, " ", s); return "\"" s "\"" }
	function num(s) { return s == "" ? "null" : s + 0 }
	BEGIN {
		printf "{\n  \"kernel\": %s,\n  \"date\": %s,\n  \"command\": %s,\n  \"settings\": %s,\n", q(kernel), q(date), q(cmd), q(settings)
		printf "  \"ratio\": \"toytcp / Linux; rel: toytcp performance relative to Linux (ratio, or 1/ratio when lower is better; >1: toytcp better)\",\n"
		printf "  \"figures\": \"toytcp and linux: the median of the runs (a failed run counts as the worst; the successful ones are listed in toytcp_runs and linux_runs)\",\n"
		printf "  \"results\": ["
	}
	{
		sep = (NR > 1 ? "," : "")
		ratio = ($7 == "-" ? "null" : $7 + 0)
		ts = ($11 == "" ? "fail" : "ok"); ls = ($12 == "" ? "fail" : "ok")
		printf "%s\n    {\"workload\": %s, \"title\": %s, \"unit\": %s, \"better\": %s,\n", sep, q($1), q($2), q($3), q($4)
		printf "     \"toytcp\": %s, \"linux\": %s, \"ratio\": %s, \"rel\": %s,\n", num($11), num($12), ratio, num($8)
		printf "     \"toytcp_runs\": [%s], \"linux_runs\": [%s],\n", $13, $14
		printf "     \"toytcp_status\": %s, \"linux_status\": %s, \"toytcp_note\": %s, \"linux_note\": %s}", q(ts), q(ls), q($9), q($10)
	}
	END { printf "\n  ]\n}\n" }' "$dir/table.tsv" > "$dir/results.json"

# The chart: toytcp relative to Linux per row, log scale, 1 = parity.
if command -v gnuplot >/dev/null; then
	awk -F'\t' '{ v = ($8 == "" ? "NaN" : $8); l = ($8 == "" ? "fail" : $8)
		      printf "%d\t%s\t%s\t%s\n", NR - 1, $1, v, l }' "$dir/table.tsv" > "$dir/chart.dat"
	gnuplot <<-EOF
		set terminal pngcairo size 1200,640 font ",10" noenhanced
		set output "$dir/bench.png"
		set title "toytcp relative to Linux TCP, same VM ($kernel, ${accel:-?}, ${cpus:-?} vCPUs), $date\n(throughput, rate: toytcp/Linux; time, memory: Linux/toytcp; above 1: toytcp better)"
		set style fill solid 0.8 border -1
		set boxwidth 0.7
		set logscale y
		set yrange [0.01:10]
		set grid ytics
		set ylabel "toytcp performance / Linux performance"
		set xtics rotate by -35 nomirror
		set xrange [-0.6:*]
		set key off
		plot "$dir/chart.dat" using 1:(\$3 >= 1 ? \$3 : 1/0):xtic(2) with boxes lc rgb "#3b8f3b", \
		     "" using 1:(\$3 < 1 ? \$3 : 1/0) with boxes lc rgb "#c0504d", \
		     "" using 1:(\$3 == \$3 ? \$3 * 1.15 : 0.012):4 with labels, \
		     1 with lines lc rgb "black" dt 2
	EOF
else
	echo "report: gnuplot not installed (make setup): no chart" >&2
fi

cat "$dir/table.txt"
