#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# nstat(8) reads toytcp's counters: /proc/net/toytcp_netstat has them in
# /proc/net/netstat's two-line format (module/proc.c), so that
#
#   PROC_NET_NETSTAT=/proc/net/toytcp_netstat PROC_NET_SNMP=/dev/null \
#   PROC_NET_SNMP6=/dev/null nstat -az
#
# prints every counter of /proc/net/toytcp_snmp ("Name value" per line)
# as ToyTcpName, with the same value, and nothing else.
#
# Runs inside the test VM, as root, with toytcp loaded:
#   selftests/nstat.sh
# Prints TAP ("ok N nstat: ..."); selftests/run_tests.sh runs it as the
# test "nstat".  A connection in a network namespace of its own (Python,
# AF_TOYTCP sockets through ctypes) sends some data and closes, and a
# connect() to a closed port is refused, so that counters are not all 0;
# then both files are read while nothing moves.  TT_NETSTAT names another
# file for nstat to read instead of /proc/net/toytcp_netstat (to watch the
# test fail on a file that lacks a counter or has a wrong value).
set -u

if [ ! -d /sys/module/toytcp ]; then
	printf 'TAP version 13\n1..0 # SKIP the toytcp module is not loaded\n'
	exit 4
fi
if ! command -v nstat >/dev/null; then
	printf 'TAP version 13\n1..0 # SKIP no nstat (iproute2)\n'
	exit 4
fi

PY=${PYTHON:-/usr/bin/python3}
NS=tt-nstat-$$
PORT=7071
TMP=$(mktemp -d /tmp/toytcp-nstat.XXXXXX)
NETSTAT=${TT_NETSTAT:-/proc/net/toytcp_netstat}

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n nstat: $*"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n nstat: $*"; }
diag() { sed 's/^/# /'; }

cleanup() {
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

cat > "$TMP/traffic.py" <<'PYEOF'
import ctypes, errno, os, socket, struct, sys
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
data = b"x" * 100000
sent = 0
while sent < len(data):
    sent += chk(libc.write(C, data[sent:], len(data) - sent), "write")
buf = ctypes.create_string_buffer(65536)
got = 0
while got < len(data):
    r = chk(libc.read(S, buf, len(buf)), "read")
    if r == 0:
        sys.exit("early EOF")
    got += r
for fd in (C, S, L):
    os.close(fd)
R = chk(libc.socket(AF_TOYTCP, socket.SOCK_STREAM, 0), "socket")
b = sin("127.0.0.1", PORT + 1)
if libc.connect(R, b, len(b)) == 0 or ctypes.get_errno() != errno.ECONNREFUSED:
    sys.exit("connect to a closed port: %s" % os.strerror(ctypes.get_errno()))
os.close(R)
print("traffic done", flush=True)
PYEOF
if out=$(ip netns exec "$NS" timeout 60 "$PY" "$TMP/traffic.py" "$PORT" 2>&1); then
	ok "a connection and a refused connect() in $NS"
else
	fail "a connection and a refused connect() in $NS"
	echo "$out" | diag
fi

# nstat's and toytcp_snmp's view of the same moment: toytcp_snmp before
# and after nstat must agree (they may not while a TIME-WAIT or a timer
# moves a counter: then again, up to 5 times).
in_ns() { ip netns exec "$NS" "$@"; }
for try in 1 2 3 4 5; do
	in_ns cat /proc/net/toytcp_snmp > "$TMP/snmp.before"
	in_ns env NSTAT_HISTORY="$TMP/history" PROC_NET_NETSTAT="$NETSTAT" \
		PROC_NET_SNMP=/dev/null PROC_NET_SNMP6=/dev/null \
		nstat -asz > "$TMP/nstat.out" 2> "$TMP/nstat.err"
	rc=$?
	in_ns cat /proc/net/toytcp_snmp > "$TMP/snmp.after"
	cmp -s "$TMP/snmp.before" "$TMP/snmp.after" && break
	sleep 1
done
if [ "$rc" = 0 ]; then
	ok "nstat -asz exits 0"
else
	fail "nstat -asz exits 0 (exit status $rc)"
	diag < "$TMP/nstat.err"
fi
if cmp -s "$TMP/snmp.before" "$TMP/snmp.after"; then
	ok "toytcp_snmp did not move while nstat read (try $try)"
else
	fail "toytcp_snmp did not move while nstat read"
	diff "$TMP/snmp.before" "$TMP/snmp.after" | diag
fi

# nstat prints "NAME VALUE RATE" per counter, after a "#kernel" line.
awk '$1 !~ /^#/ { print $1, $2 }' "$TMP/nstat.out" | sort > "$TMP/nstat.pairs"
awk '{ print "ToyTcp" $1, $2 }' "$TMP/snmp.after" | sort > "$TMP/snmp.pairs"
nsnmp=$(wc -l < "$TMP/snmp.pairs")
nnstat=$(wc -l < "$TMP/nstat.pairs")

missing=$(join -v 1 -j 1 "$TMP/snmp.pairs" "$TMP/nstat.pairs")
if [ "$nsnmp" -gt 0 ] && [ -z "$missing" ]; then
	ok "nstat prints all $nsnmp counters of toytcp_snmp"
else
	fail "nstat prints all $nsnmp counters of toytcp_snmp"
	echo "missing: $missing" | diag
fi
extra=$(join -v 2 -j 1 "$TMP/snmp.pairs" "$TMP/nstat.pairs")
if [ -z "$extra" ]; then
	ok "nstat prints nothing else ($nnstat counters)"
else
	fail "nstat prints nothing else"
	echo "extra: $extra" | diag
fi
differ=$(join -j 1 "$TMP/snmp.pairs" "$TMP/nstat.pairs" | awk '$2 != $3')
if [ -z "$differ" ] && [ -z "$missing" ] && [ "$nsnmp" -gt 0 ]; then
	ok "nstat's values are toytcp_snmp's"
else
	fail "nstat's values are toytcp_snmp's"
	echo "NAME toytcp_snmp nstat: $differ" | diag
fi
# The traffic above must show, or the comparison proves little.
nonzero=$(awk '$2 != 0' "$TMP/nstat.pairs" | wc -l)
if grep -q '^ToyTcpActiveOpens [1-9]' "$TMP/nstat.pairs" &&
   grep -q '^ToyTcpOutSegs [1-9]' "$TMP/nstat.pairs"; then
	ok "ToyTcpActiveOpens and ToyTcpOutSegs counted the traffic ($nonzero counters not 0)"
else
	fail "ToyTcpActiveOpens and ToyTcpOutSegs counted the traffic"
	grep -E '^ToyTcp(ActiveOpens|OutSegs) ' "$TMP/nstat.pairs" | diag
fi

echo "1..$n"
[ "$failed" = 0 ]
