#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/toytcp-ss: does it list a connection with the right states and
# ports as the connection goes through its life?  toytcp-ss reads the
# sockets over netlink (sock_diag, module/diag.c), not /proc.
#
# Runs inside the test VM, as root, with toytcp loaded:
#   selftests/toytcp-ss.sh
# Prints TAP ("ok N toytcp-ss: ..."); selftests/run_tests.sh runs it as
# the test "toytcp-ss".  A helper (Python, AF_TOYTCP sockets through
# ctypes, no preload library) holds a listener on 127.0.0.1:7070 and one
# connection in a network namespace of its own; toytcp-ss -N looks at it.
set -u

# Without the module there is nothing to test: the kselftest skip code.
if [ ! -d /sys/module/toytcp ]; then
	printf 'TAP version 13\n1..0 # SKIP the toytcp module is not loaded\n'
	exit 4
fi

SELF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SELF_DIR/.." && pwd)
PY=${PYTHON:-/usr/bin/python3}
SS=("$PY" "$REPO/tools/toytcp-ss")
NS=tt-ss-$$
PORT=7070
TMP=$(mktemp -d /tmp/toytcp-ss.XXXXXX)
TWP=/sys/module/toytcp/parameters/tw_timeout_ms
TW0=
HPID=

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n toytcp-ss: $*"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n toytcp-ss: $*"; }
diag() { sed 's/^/# /'; }

cleanup() {
	[ -z "$HPID" ] || { kill "$HPID" 2>/dev/null; wait "$HPID" 2>/dev/null; }
	[ -z "$TW0" ] || echo "$TW0" > "$TWP"
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

echo "TAP version 13"

if ! ip netns add "$NS" || ! ip -n "$NS" link set lo up; then
	fail "network namespace $NS"
	echo "1..$n"
	exit 1
fi
# A shorter TIME-WAIT (it also bounds an orphan's FIN-WAIT-2), so the
# test need not wait out the default 60 s; long enough for a few runs of
# toytcp-ss (a second or two each under TCG, several on the debug kernel,
# hence TOYTCP_TIME_SCALE) to see each state.
TW_MS=$((15000 * ${TOYTCP_TIME_SCALE:-1}))
if [ -w "$TWP" ]; then
	TW0=$(cat "$TWP")
	echo "$TW_MS" > "$TWP"
fi

# The helper: listener, client, accepted server socket; then does what
# it reads on stdin ("close-client", "close-server"), answering each line.
cat > "$TMP/helper.py" <<'EOF'
import ctypes, os, socket, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
AF_TOYTCP, PORT = 19, int(sys.argv[1])
def sin(ip, port):
    return struct.pack("=H", AF_TOYTCP) + struct.pack("!H", port) + socket.inet_aton(ip) + bytes(8)
def chk(r, what):
    if r < 0:
        sys.exit("%s: %s" % (what, os.strerror(ctypes.get_errno())))
    return r
L = chk(libc.socket(AF_TOYTCP, socket.SOCK_STREAM, 0), "socket")
a = sin("127.0.0.1", PORT)
chk(libc.bind(L, a, len(a)), "bind")
chk(libc.listen(L, 4), "listen")
C = chk(libc.socket(AF_TOYTCP, socket.SOCK_STREAM, 0), "socket")
chk(libc.connect(C, a, len(a)), "connect")
S = chk(libc.accept(L, None, None), "accept")
buf = ctypes.create_string_buffer(16)
ln = ctypes.c_uint(16)
chk(libc.getsockname(C, buf, ctypes.byref(ln)), "getsockname")
cport = struct.unpack("!H", buf.raw[2:4])[0]
print("ready %d %d %d %d" % (cport, L, C, S), flush=True)
for line in sys.stdin:
    cmd = line.strip()
    if cmd == "close-client":
        os.close(C)
    elif cmd == "close-server":
        os.close(S)
    print("done " + cmd, flush=True)
EOF
coproc HELPER { exec ip netns exec "$NS" "$PY" "$TMP/helper.py" "$PORT" 2>&1; }
HPID=$HELPER_PID
read -r -t 60 ready cport lfd cfd sfd <&"${HELPER[0]}"
if [ "${ready:-}" != ready ]; then
	fail "helper set up a connection (said: ${ready:-nothing} ${cport:-})"
	echo "1..$n"
	exit 1
fi
echo "helper pid $HPID: 127.0.0.1:$cport -> 127.0.0.1:$PORT, fds listener $lfd client $cfd server $sfd" | diag
cmd() { # cmd WORD: have the helper do it
	local a
	echo "$1" >&"${HELPER[1]}"
	read -r -t 30 a _ <&"${HELPER[0]}"
	[ "$a" = "done" ]
}
ss_() { "${SS[@]}" -N "$NS" "$@" 2>&1; }
# has OUTPUT STATE LOCAL PEER: a line with these columns (Recv-Q and
# Send-Q in between are not checked)
has() {
	awk -v st="$2" -v l="$3" -v p="$4" \
		'$1 == st && $4 == l && $5 == p { f = 1 } END { exit !f }' <<<"$1"
}
# expect NAME OUTPUT COND...: ok when every "STATE LOCAL PEER" is listed,
# "!STATE LOCAL PEER" is not
expect() {
	local name=$1 out=$2 c good=1
	shift 2
	for c in "$@"; do
		# shellcheck disable=SC2086 # split into words on purpose
		if [ "${c#!}" != "$c" ]; then
			has "$out" ${c#!} && good=0
		else
			has "$out" $c || good=0
		fi
	done
	if [ "$good" = 1 ]; then ok "$name"; else fail "$name"; fi
	diag <<<"$out"
	if [ "$good" = 0 ]; then
		echo "/proc/net/toytcp and the counters now:"
		ip netns exec "$NS" cat /proc/net/toytcp
		# shellcheck disable=SC2016 # awk program
		ip netns exec "$NS" awk '$2 != 0' /proc/net/toytcp_snmp | tr '\n' ' '
		echo
	fi | diag
}
SRV=127.0.0.1:$PORT
CLI=127.0.0.1:$cport

out=$(ss_ -n)
expect "default: both ends ESTAB, the listener not shown" "$out" \
	"ESTAB $SRV $CLI" "ESTAB $CLI $SRV" "!LISTEN $SRV *:*"
out=$(ss_ -ln)
expect "-l: only the listener" "$out" "LISTEN $SRV *:*" "!ESTAB $SRV $CLI"
out=$(ss_ -an)
expect "-a: all three" "$out" "LISTEN $SRV *:*" "ESTAB $SRV $CLI" "ESTAB $CLI $SRV"
out=$(ss_ -Hn sport = :"$PORT")
expect "filter sport = :$PORT: the server's end alone, no header" "$out" \
	"ESTAB $SRV $CLI" "!ESTAB $CLI $SRV"
[ "$(wc -l <<<"$out")" = 1 ] || fail "filter sport = :$PORT printed $(wc -l <<<"$out") lines"

# -i: TOYTCP_INFO, sent by the kernel with each socket; -p the owner.
out=$(ss_ -tinpe sport = :"$PORT")
diag <<<"$out"
if grep -q "users:((\"python3\",pid=[0-9]*,fd=$sfd))" <<<"$out" &&
	grep -q -E '^\s+(cubic|reno) .*rto:[0-9]+ .*ato:[0-9]+ .*mss:[0-9]+ .*cwnd:[0-9]+ .*bytes_acked:[0-9]+' <<<"$out" &&
	grep -q -E 'uid:0 ino:[0-9]+ sk:[0-9a-f]+' <<<"$out"; then
	ok "-tinpe: owner (python3, fd $sfd), TOYTCP_INFO (algorithm, mss, rtt, cwnd, bytes), uid, inode, cookie"
else
	fail "-tinpe: owner (python3, fd $sfd), TOYTCP_INFO (algorithm, mss, rtt, cwnd, bytes), uid, inode, cookie"
fi
out=$(ss_ -lim)
if grep -q -E '^\s+skmem:\(r[0-9]+,rb[0-9]+,' <<<"$out" &&
	grep -q -E '^\s+(cubic|reno) .*cwnd:[0-9]+' <<<"$out"; then
	ok "-lim: a listener's memory and control block, no owner's fd needed"
else
	fail "-lim: a listener's memory and control block, no owner's fd needed"
fi
diag <<<"$out"
# Run as the namespace's own process, without -N.
out=$(ip netns exec "$NS" "${SS[@]}" -ln 2>&1)
expect "inside the namespace (ip netns exec), without -N" "$out" "LISTEN $SRV *:*"
out=$(ss_ -s)
if grep -q -E '^  ESTAB +2$' <<<"$out" && grep -q -E '^  LISTEN +1$' <<<"$out" &&
	grep -q -E '^  ActiveOpens +1$' <<<"$out" && grep -q -E '^  PassiveOpens +1$' <<<"$out"; then
	ok "-s: 2 ESTAB, 1 LISTEN, ActiveOpens 1, PassiveOpens 1"
else
	fail "-s: 2 ESTAB, 1 LISTEN, ActiveOpens 1, PassiveOpens 1"
fi
diag <<<"$out"

# The client closes first: FIN-WAIT-2 on its side, CLOSE-WAIT on the other.
if cmd close-client; then
	sleep 0.2
	out=$(ss_ -n)
	expect "client closed: FIN-WAIT-2 and CLOSE-WAIT" "$out" \
		"FIN-WAIT-2 $CLI $SRV" "CLOSE-WAIT $SRV $CLI"
else
	fail "client closed: helper did not answer"
fi
# Then the server: the client's end in TIME-WAIT, shown by -a (not by
# default), with its timer under -o.
if cmd close-server; then
	sleep 0.2
	out=$(ss_ -n)
	expect "server closed: TIME-WAIT hidden by default" "$out" "!TIME-WAIT $CLI $SRV"
	out=$(ss_ -ano)
	expect "server closed: -a shows TIME-WAIT, the server's end gone" "$out" \
		"TIME-WAIT $CLI $SRV" "!CLOSE-WAIT $SRV $CLI" "!LAST-ACK $SRV $CLI"
	if grep -q -E "^TIME-WAIT .*timer:\(timewait,[0-9]+(ms|sec),0\)" <<<"$out"; then
		ok "-o: the TIME-WAIT timer"
	else
		fail "-o: the TIME-WAIT timer"
	fi
else
	fail "server closed: helper did not answer"
fi
# TIME-WAIT ends (tw_timeout_ms $TW_MS here).
end=$((SECONDS + TW_MS / 1000 + 20))
while [ $SECONDS -lt $end ] && has "$(ss_ -an)" TIME-WAIT "$CLI" "$SRV"; do
	sleep 0.5
done
out=$(ss_ -an)
expect "TIME-WAIT over: only the listener is left" "$out" \
	"LISTEN $SRV *:*" "!TIME-WAIT $CLI $SRV"

echo "1..$n"
[ "$failed" = 0 ]
