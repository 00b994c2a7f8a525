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

# One line per row of rows.tsv (key, title, stack A, stack B; A and B are
# toytcp and linux but for the host-cost rows), tab-separated:
#   1 key  2 title  3 unit  4 better  5 A (median, formatted)
#   6 B  7 ratio A/B of the medians  8 rel  9 A note  10 B note
#   11 A median  12 B median  13 A runs  14 B runs  15 A min  16 A max
#   17 B min  18 B max  19 rel low  20 rel high  21 stack A  22 stack B
# "fail" where a figure is missing.  A stack's figure is the median of its
# runs (BENCH_REPEAT), a failed run counting as the worst: with 3 runs,
# one failure still gives a figure (the worse of the other two), two make
# the row "fail".  Min and max are over the successful runs.  rel is A's
# performance relative to B (the ratio, or 1/ratio when lower is better):
# above 1, A does better; rel low/high are the worst and best ratios any
# two runs give (A's worst run against B's best, and the reverse).
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
			if (!(k in lo) || v < lo[k]) lo[k] = v
			if (!(k in hi) || v > hi[k]) hi[k] = v
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
	function relof(k, a, b) {
		if (a == "" || b == "" || a + 0 == 0 || b + 0 == 0) return ""
		return better[k] == "lower" ? (b + 0) / (a + 0) : (a + 0) / (b + 0)
	}
	{
		k = $1; sa = ($3 != "" ? $3 : "toytcp"); sb = ($4 != "" ? $4 : "linux")
		kt = k SUBSEP sa; kl = k SUBSEP sb
		t = median(kt, k); l = median(kl, k)
		r = ""; rel = ""; rlo = ""; rhi = ""
		if (t != "" && l != "" && l + 0 != 0) {
			r = sprintf("%.3g", (t + 0) / (l + 0))
			rel = relof(k, t, l)
			if (better[k] == "lower") { rlo = relof(k, hi[kt], lo[kl]); rhi = relof(k, lo[kt], hi[kl]) }
			else { rlo = relof(k, lo[kt], hi[kl]); rhi = relof(k, hi[kt], lo[kl]) }
			if (rel != "") rel = sprintf("%.3g", rel)
			if (rlo != "") rlo = sprintf("%.3g", rlo)
			if (rhi != "") rhi = sprintf("%.3g", rhi)
		}
		printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k, $2,
			(unit[k] != "" ? unit[k] : "?"), (better[k] != "" ? better[k] : "?"),
			fmt(t), fmt(l), (r == "" ? "-" : r), rel, notes(kt), notes(kl), t, l,
			samples[kt], samples[kl], (kt in lo ? lo[kt] : ""), (kt in hi ? hi[kt] : ""),
			(kl in lo ? lo[kl] : ""), (kl in hi ? hi[kl] : ""), rlo, rhi, sa, sb
	}' "$dir/results.tsv" "$dir/rows.tsv" > "$dir/table.tsv"

# table.tsv with "." in the empty fields: read(1) with a tab IFS would
# merge consecutive tabs.
dotted() { awk -F'\t' -v OFS='\t' '{ for (i = 1; i <= NF; i++) if ($i == "") $i = "."; print }' "$dir/table.tsv"; }

# "median (min-max)" of a stack's runs.
spread() { # MEDIAN MIN MAX
	if [ "$1" = fail ] || [ "$2" = . ]; then echo "$1"; return; fi
	awk -v m="$1" -v a="$2" -v b="$3" '
		function f(v) { v += 0; return v >= 1000 ? sprintf("%.0f", v) : v >= 100 ? sprintf("%.1f", v) : v >= 10 ? sprintf("%.2f", v) : sprintf("%.3g", v) }
		BEGIN { printf "%s (%s-%s)", m, f(a), f(b) }'
}

# The aligned table.
{
	printf '%-80s %24s %24s %-8s %8s  %s\n' "Workload" "toytcp (min-max)" "Linux (min-max)" "unit" \
		"ratio" "better"
	while IFS=$'\t' read -r _ title unit better t l r _ _ _ _ _ _ _ tlo thi llo lhi _; do
		printf '%-80s %24s %24s %-8s %8s  %s\n' "$title" "$(spread "$t" "$tlo" "$thi")" \
			"$(spread "$l" "$llo" "$lhi")" "$unit" "$r" "$better"
	done < <(dotted)
	awk -F'\t' '$9 != "" { print $21 ", " $1 ": " $9 }
		    $10 != "" { print $22 ", " $1 ": " $10 }' "$dir/table.tsv" |
		sed 's/^/  note: /'
} > "$dir/table.txt"

# Markdown: the comparison with Linux TCP, then the host-cost rows.
{
	echo "| Workload | toytcp median (min-max) | Linux TCP median (min-max) | unit | toytcp/Linux (medians) | better |"
	echo "|---|---:|---:|---|---:|---|"
	while IFS=$'\t' read -r key title unit better t l r _ _ _ _ _ _ _ tlo thi llo lhi _; do
		case "$key" in host_*) continue ;; esac
		echo "| $title | $(spread "$t" "$tlo" "$thi") | $(spread "$l" "$llo" "$lhi") | $unit | $r | $better |"
	done < <(dotted)
	if grep -q '^host_' "$dir/table.tsv"; then
		echo
		echo "What toytcp costs Linux TCP's own traffic (Linux TCP in every column):"
		echo
		echo "| Workload | toytcp loaded: median (min-max) | toytcp not loaded: median (min-max) | unit | loaded/not loaded (medians) | better |"
		echo "|---|---:|---:|---|---:|---|"
		while IFS=$'\t' read -r key title unit better t l r _ _ _ _ _ _ _ tlo thi llo lhi _; do
			case "$key" in host_*) ;; *) continue ;; esac
			echo "| $title | $(spread "$t" "$tlo" "$thi") | $(spread "$l" "$llo" "$lhi") | $unit | $r | $better |"
		done < <(dotted)
	fi
	notes=$(awk -F'\t' '$9 != "" { print "- " $21 ", `" $1 "`: " $9 }
			     $10 != "" { print "- " $22 ", `" $1 "`: " $10 }' "$dir/table.tsv" | sort -u)
	if [ -n "$notes" ]; then
		echo
		echo "Failures and notes:"
		echo
		echo "$notes"
	fi
} > "$dir/table.md"

# JSON: small; every run's figure of every row.
awk -F'\t' -v kernel="$kernel" -v date="$date" -v cmd="$cmd" -v settings="$settings" -v commit="${BENCH_COMMIT:-}" '
	function q(s) { gsub(/\\/, "\\\\", s); gsub(/"/, "\\\"", s); gsub(/\t/, " ", s); return "\"" s "\"" }
	function num(s) { return s == "" ? "null" : s + 0 }
	BEGIN {
		printf "{\n  \"kernel\": %s,\n  \"date\": %s,\n  \"commit\": %s,\n  \"command\": %s,\n  \"settings\": %s,\n", q(kernel), q(date), q(commit), q(cmd), q(settings)
		printf "  \"ratio\": \"a / b of the medians; rel: a performance relative to b (ratio, or 1/ratio when lower is better; >1: a better); rel_low, rel_high: the worst and best over any two runs\",\n"
		printf "  \"figures\": \"a and b: the median of the runs (a failed run counts as the worst); a_runs, b_runs: every successful run, in order\",\n"
		printf "  \"results\": ["
	}
	{
		sep = (NR > 1 ? "," : "")
		ratio = ($7 == "-" ? "null" : $7 + 0)
		ts = ($11 == "" ? "fail" : "ok"); ls = ($12 == "" ? "fail" : "ok")
		printf "%s\n    {\"workload\": %s, \"title\": %s, \"unit\": %s, \"better\": %s, \"a\": %s, \"b\": %s,\n", sep, q($1), q($2), q($3), q($4), q($21), q($22)
		printf "     \"a_median\": %s, \"b_median\": %s, \"ratio\": %s, \"rel\": %s, \"rel_low\": %s, \"rel_high\": %s,\n", num($11), num($12), ratio, num($8), num($19), num($20)
		printf "     \"a_runs\": [%s], \"b_runs\": [%s],\n", $13, $14
		printf "     \"a_status\": %s, \"b_status\": %s, \"a_note\": %s, \"b_note\": %s}", q(ts), q(ls), q($9), q($10)
	}
	END { printf "\n  ]\n}\n" }' "$dir/table.tsv" > "$dir/results.json"

# The chart: A relative to B per row (toytcp/Linux, or loaded/not loaded
# for the host-cost rows), log scale, 1 = parity; the bar is the ratio of
# the medians, the error bar the worst and best ratio of any two runs.
if command -v gnuplot >/dev/null; then
	awk -F'\t' '{ v = ($8 == "" ? "NaN" : $8); l = ($8 == "" ? "fail" : $8)
		      lo = ($19 == "" ? v : $19); hi = ($20 == "" ? v : $20)
		      name = $1; if ($21 != "toytcp") name = name "/" $21
		      printf "%d\t%s\t%s\t%s\t%s\t%s\n", NR - 1, name, v, l, lo, hi }' "$dir/table.tsv" > "$dir/chart.dat"
	gnuplot <<-EOF
		set terminal pngcairo size 1400,700 font ",10" noenhanced
		set output "$dir/bench.png"
		set title "toytcp relative to Linux TCP, same VM ($kernel, ${accel:-?}, ${cpus:-?} vCPUs), $date, ${BENCH_COMMIT:-}\n(throughput, rate: toytcp/Linux; time, memory: Linux/toytcp; host_*: Linux TCP with toytcp loaded relative to not loaded; above 1: better; bars: medians, whiskers: min-max over run pairs)"
		set style fill solid 0.8 border -1
		set boxwidth 0.7
		set logscale y
		set yrange [0.01:10]
		set grid ytics
		set ylabel "relative performance"
		set xtics rotate by -40 nomirror
		set xrange [-0.6:*]
		set bmargin 9
		set key off
		plot "$dir/chart.dat" using 1:(\$3 >= 1 ? \$3 : 1/0):xtic(2) with boxes lc rgb "#3b8f3b", \
		     "" using 1:(\$3 < 1 ? \$3 : 1/0) with boxes lc rgb "#c0504d", \
		     "" using 1:(\$3 == \$3 ? \$3 : 1/0):5:6 with yerrorbars lc rgb "black" pt 0, \
		     "" using 1:(\$3 == \$3 ? \$6 * 1.2 : 0.012):4 with labels, \
		     1 with lines lc rgb "black" dt 2
	EOF
else
	echo "report: gnuplot not installed (make setup): no chart" >&2
fi

cat "$dir/table.txt"
