#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tools/preload/libtoytcp-preload.so with real programs: Python's socket
# module, curl against `python3 -m http.server`, and iperf3 client and
# server, every one of them running its TCP over toytcp without knowing.
#
# Runs inside the test VM, as root, with toytcp loaded:
#   selftests/preload.sh
# Prints TAP ("ok N preload: ..."); selftests/run_tests.sh runs it as the
# test "preload".  Everything runs in a network namespace of its own
# (tt-preload-PID), so the counters of /proc/net/toytcp_snmp and
# /proc/net/snmp move only because of what the test does: each check of
# "toytcp carried it" is that toytcp's ActiveOpens and PassiveOpens went
# up and Linux TCP's did not.
#
# Needs curl, iperf3 and python3 (scripts/setup.sh installs them); a
# missing one makes its tests fail, not skip.  Every transfer is checked
# as far as the program allows: the socket module's by content and
# length, curl's by sha256, iperf3's by its byte counts (below; iperf3
# has no way to check content: its -F, which would write the bytes it
# receives to a file, garbles them whenever a send() is partial, over
# Linux TCP too).
# shellcheck disable=SC2016 # awk programs in single quotes
set -u

# Without the module there is nothing to test: the kselftest skip code.
if [ ! -d /sys/module/toytcp ]; then
	printf 'TAP version 13\n1..0 # SKIP the toytcp module is not loaded\n'
	exit 4
fi

SELF_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$SELF_DIR/.." && pwd)
# TOYTCP_PRELOAD_LIB: another build of the library (to run these tests
# against an older one); tools/toytcp-run uses the same variable.
LIB=${TOYTCP_PRELOAD_LIB:-$REPO/tools/preload/libtoytcp-preload.so}
export TOYTCP_PRELOAD_LIB=$LIB
RUN=$REPO/tools/toytcp-run
HTTP6_PORT=8081
PY=${PYTHON:-/usr/bin/python3}
NS=tt-preload-$$
TMP=$(mktemp -d /tmp/toytcp-preload.XXXXXX)
HTTP_PORT=8080
IPERF_PORT=5201
PIDS=()

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n preload: $*"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n preload: $*"; }
check() { # check NAME COMMAND...: ok if COMMAND succeeds
	local name=$1
	shift
	if "$@"; then ok "$name"; else fail "$name"; fi
}
diag() { sed 's/^/# /'; }

cleanup() {
	local p
	for p in "${PIDS[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${PIDS[@]}"; do
		wait "$p" 2>/dev/null
	done
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

echo "TAP version 13"

# Not for background jobs: "inns ... &" forks a subshell, and $! would be
# the subshell's pid, not the program's (kill would leave the program
# running with its toytcp sockets).  Those use ip netns exec directly.
inns() { ip netns exec "$NS" "$@"; }

# counter FILE NAME: a toytcp counter (/proc/net/toytcp_snmp) or, with
# FILE=snmp, one of Linux TCP's (the Tcp: lines of /proc/net/snmp).
counter() {
	if [ "$1" = snmp ]; then
		inns awk -v k="$2" '$1 == "Tcp:" && !h { for (i = 2; i <= NF; i++) col[$i] = i; h = 1; next }
			$1 == "Tcp:" && h { print $col[k]; exit }' /proc/net/snmp
	else
		inns awk -v k="$2" '$1 == k { print $2 }' /proc/net/toytcp_snmp
	fi
}
# All four open counters, "toyA toyP linA linP".
opens() {
	echo "$(counter toytcp ActiveOpens) $(counter toytcp PassiveOpens)" \
		"$(counter snmp ActiveOpens) $(counter snmp PassiveOpens)"
}
# opens_moved BEFORE AFTER TOYTCP_ACTIVE TOYTCP_PASSIVE: toytcp's counters
# went up by that much, Linux TCP's not at all.
opens_moved() {
	local b a
	read -r -a b <<<"$1"
	read -r -a a <<<"$2"
	local d="toytcp ActiveOpens +$((a[0] - b[0])) PassiveOpens +$((a[1] - b[1])),"
	d+=" Linux TCP ActiveOpens +$((a[2] - b[2])) PassiveOpens +$((a[3] - b[3]))"
	echo "$d" | diag
	[ $((a[0] - b[0])) = "$3" ] && [ $((a[1] - b[1])) = "$4" ] &&
		[ "${a[2]}" = "${b[2]}" ] && [ "${a[3]}" = "${b[3]}" ]
}
# listening PORT [STATE]: /proc/net/toytcp of the namespace lists a
# socket with local port PORT in STATE (hex, default 0A, LISTEN).
listening() {
	local hex
	hex=$(printf '%04X' "$1")
	inns awk -v p=":$hex" -v st="${2:-0A}" \
		'NR > 1 && substr($2, length($2) - 4) == p && $4 == st { f = 1 } END { exit !f }' \
		/proc/net/toytcp
}
# linux_listening PORT PID: /proc/net/tcp lists a LISTEN socket on PORT
# that process PID holds.  (A toytcp listener's port reservation, a Linux
# TCP socket no process holds, listens there too: module/port.c.)
linux_listening() {
	local hex inodes
	hex=$(printf '%04X' "$1")
	inodes=$(find "/proc/$2/fd" -lname 'socket:*' -printf '%l\n' 2>/dev/null |
		 sed 's/socket:\[\([0-9]*\)\]/\1/' | tr '\n' ' ')
	inns awk -v p=":$hex" -v inodes=" $inodes" \
		'NR > 1 && substr($2, length($2) - 4) == p && $4 == "0A" &&
		 index(inodes, " " $10 " ") { f = 1 } END { exit !f }' \
		/proc/net/tcp /proc/net/tcp6
}
wait_listening() { # PORT SECONDS PID
	local end=$((SECONDS + $2))
	while [ $SECONDS -lt "$end" ]; do
		listening "$1" && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.2
	done
	return 1
}

# ------------------------------------------------------------------ setup
if [ ! -r "$LIB" ]; then
	fail "library built ($LIB missing: make -C tools/preload)"
	echo "1..$n"
	exit 1
fi
ok "library built"

if ! ip netns add "$NS" || ! ip -n "$NS" link set lo up; then
	fail "network namespace $NS"
	echo "1..$n"
	exit 1
fi

# --------------------------------------------------- 1. the socket module
# Python's socket module decodes every address by its sa_family: the
# names it reports show whether the translation works.  The socket is
# toytcp's (in /proc/net/toytcp), the program sees AF_INET everywhere,
# data flows, TCP_INFO comes from TOYTCP_INFO, and UDP is left alone.
cat > "$TMP/sock.py" <<'EOF'
import socket, struct, sys
res = []
def t(name, cond, detail=""):
    res.append(name)
    print(("ok " if cond else "not ok ") + name + ("" if cond else ": " + str(detail)))
def toytcp_ports(state):
    out = set()
    for line in open("/proc/net/toytcp").read().splitlines()[1:]:
        f = line.split()
        if f[3] == state:
            out.add(int(f[1].split(":")[1], 16))
    return out
L = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
L.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
L.bind(("127.0.0.1", 0))
L.listen(4)
lname = L.getsockname()
port = lname[1]
t("getsockname of a listener is an AF_INET (addr, port)", lname[0] == "127.0.0.1" and port > 0, lname)
t("SO_DOMAIN says AF_INET", L.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN) == socket.AF_INET,
  L.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN))
t("the listener is in /proc/net/toytcp", port in toytcp_ports("0A"), sorted(toytcp_ports("0A")))
C = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
err = C.connect_ex(("127.0.0.1", port))
C.setblocking(True)
S, peer = L.accept()
t("accept returns the peer as AF_INET", peer[0] == "127.0.0.1" and peer == C.getsockname(), (peer, C.getsockname()))
t("getpeername on both ends", C.getpeername() == lname and S.getpeername() == peer, (C.getpeername(), S.getpeername()))
sent = bytes((i * 7 + i // 251) & 0xff for i in range(100000))
C.sendall(sent)
got = b""
while len(got) < 100000:
    b = S.recv(65536)
    if not b:
        break
    got += b
t("100000 bytes from client to server, in order and intact", got == sent,
  "%d bytes, first difference at %s" % (len(got), next((i for i in range(min(len(got), len(sent))) if got[i] != sent[i]), len(got))))
S.sendall(b"pong")
data, addr = C.recvfrom(16)
t("recvfrom", data == b"pong", (data, addr))
t("both ends ESTABLISHED in /proc/net/toytcp", {port, peer[1]} <= toytcp_ports("01"), sorted(toytcp_ports("01")))
ti = C.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)
st, mss, cwnd = ti[0], struct.unpack_from("I", ti, 16)[0], struct.unpack_from("I", ti, 80)[0]
t("TCP_INFO: ESTABLISHED, mss and cwnd set", st == 1 and mss > 0 and cwnd > 0, (st, mss, cwnd))
ca = C.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).rstrip(b"\0")
t("TCP_CONGESTION names toytcp's default, CUBIC", ca == b"cubic", ca)
C.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"reno")
ca = C.getsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, 16).rstrip(b"\0")
try:
    C.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"vegas")
    e = 0
except OSError as x:
    e = x.errno
t("TCP_CONGESTION: choosing reno works, vegas is ENOENT", ca == b"reno" and e == 2, (ca, e))
U = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
U.bind(("127.0.0.1", 0))
t("UDP is left alone", U.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN) == socket.AF_INET and U.getsockname()[1] not in toytcp_ports("07"), U.getsockname())
E = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
t("AF_INET6 is left alone", E.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN) == socket.AF_INET6)
for s in (C, S, L, U, E):
    s.close()
EOF
before=$(opens)
out=$(inns env LD_PRELOAD="$LIB" timeout -k 5 60 "$PY" "$TMP/sock.py" 2>&1)
rc=$?
after=$(opens)
if [ "$rc" = 0 ] && ! grep -q '^not ok' <<<"$out" && [ "$(grep -c '^ok' <<<"$out")" = 13 ]; then
	ok "python socket module: AF_INET in, toytcp underneath, AF_INET out (13 checks)"
else
	fail "python socket module: AF_INET in, toytcp underneath, AF_INET out (exit $rc)"
fi
diag <<<"$out"
check "python socket module: toytcp counted the connection, Linux TCP did not" \
	opens_moved "$before" "$after" 1 1

# --------------------------------------- 2. curl and python3 -m http.server
mkdir -p "$TMP/www"
head -c $((3 * 1024 * 1024 + 12345)) /dev/urandom > "$TMP/www/blob.bin"
ip netns exec "$NS" env LD_PRELOAD="$LIB" "$PY" -m http.server --bind 127.0.0.1 \
	--directory "$TMP/www" "$HTTP_PORT" > "$TMP/http.log" 2>&1 &
hpid=$!
PIDS+=("$hpid")
if wait_listening "$HTTP_PORT" 90 "$hpid" && ! linux_listening "$HTTP_PORT" "$hpid"; then
	ok "http.server listens on toytcp (127.0.0.1:$HTTP_PORT in /proc/net/toytcp, not in /proc/net/tcp)"
else
	fail "http.server listens on toytcp (127.0.0.1:$HTTP_PORT in /proc/net/toytcp, not in /proc/net/tcp)"
	diag < "$TMP/http.log"
fi

before=$(opens)
w=$(ip netns exec "$NS" env LD_PRELOAD="$LIB" TOYTCP_PRELOAD_DEBUG=1 TOYTCP_PRELOAD_LOG="$TMP/curl.dbg" \
	timeout -k 5 120 curl -sS --max-time 100 -o "$TMP/got.bin" \
	-w '%{http_code} %{remote_ip}:%{remote_port} %{local_ip} %{size_download}' \
	"http://127.0.0.1:$HTTP_PORT/blob.bin" 2>&1)
rc=$?
after=$(opens)
echo "curl: exit $rc, $w" | diag
check "curl: HTTP 200 over toytcp (exit $rc)" \
	test "$rc" = 0 -a "${w%% *}" = 200
want=$(sha256sum < "$TMP/www/blob.bin")
got=$(sha256sum < "$TMP/got.bin" 2>/dev/null)
check "curl: downloaded file's sha256 matches ($(stat -c %s "$TMP/www/blob.bin") bytes)" \
	test "$want" = "$got"
check "curl: sees AF_INET names (remote 127.0.0.1:$HTTP_PORT, local 127.0.0.1)" \
	test "$(echo "$w" | cut -d' ' -f2,3)" = "127.0.0.1:$HTTP_PORT 127.0.0.1"
check "curl: toytcp counted the connection (ActiveOpens, PassiveOpens +1), Linux TCP did not" \
	opens_moved "$before" "$after" 1 1
check "http.server: logged the request from 127.0.0.1 (accept() gave it AF_INET)" \
	grep -q '^127\.0\.0\.1 - - .*"GET /blob.bin HTTP/1.1" 200' "$TMP/http.log"
diag < "$TMP/http.log"
grep -v 'socket(AF_INET' "$TMP/curl.dbg" 2>/dev/null | sort -u | diag
kill "$hpid" 2>/dev/null
wait "$hpid" 2>/dev/null

# -------------------------------------------------------------- 3. iperf3
# -4: without it the server listens on AF_INET6 (::), which stays Linux
# TCP.  -1: the server exits after one test.  The client sends exactly
# -n bytes; the server closes its data socket as soon as the client says
# the test ended (TEST_END on the control connection), whatever is still
# on its way: on a slow VM it counted 5 to 6 of the 8 MiB with buffers of
# megabytes.  With -w 128K (SO_SNDBUF and SO_RCVBUF on both ends, 256 KB
# in effect) at most IPERF_SLACK bytes, the client's send buffer and the
# server's receive buffer, can be left unread at that moment.
IPERF_BYTES=$((8 << 20))
IPERF_SLACK=$((2 * (256 << 10)))
ip netns exec "$NS" env LD_PRELOAD="$LIB" TOYTCP_PRELOAD_DEBUG=1 TOYTCP_PRELOAD_LOG="$TMP/iperf-s.dbg" \
	timeout -k 5 200 iperf3 -s -4 -1 -p "$IPERF_PORT" > "$TMP/iperf-s.log" 2>&1 &
ipid=$!
PIDS+=("$ipid")
if wait_listening "$IPERF_PORT" 60 "$ipid"; then
	ok "iperf3 -s listens on toytcp (port $IPERF_PORT in /proc/net/toytcp)"
else
	fail "iperf3 -s listens on toytcp (port $IPERF_PORT in /proc/net/toytcp)"
	diag < "$TMP/iperf-s.log"
fi
before=$(opens)
ip netns exec "$NS" env LD_PRELOAD="$LIB" TOYTCP_PRELOAD_DEBUG=1 TOYTCP_PRELOAD_LOG="$TMP/iperf-c.dbg" \
	timeout -k 5 150 iperf3 -4 -c 127.0.0.1 -p "$IPERF_PORT" -n "$IPERF_BYTES" -w 128K -J \
	> "$TMP/iperf-c.json" 2> "$TMP/iperf-c.err"
rc=$?
wait "$ipid"
src=$?
after=$(opens)
summary=$("$PY" - "$TMP/iperf-c.json" <<'EOF' 2>&1
import json, sys
j = json.load(open(sys.argv[1]))
e = j.get("end", {})
s, r = e.get("sum_sent", {}), e.get("sum_received", {})
st = (e.get("streams") or [{}])[0].get("sender", {})
c = j.get("start", {}).get("connected", [{}])[0]
print(s.get("bytes", 0), r.get("bytes", 0), int(r.get("bits_per_second", 0)),
      st.get("max_snd_cwnd", 0), st.get("mean_rtt", 0), s.get("retransmits", -1),
      c.get("local_host", "?"), c.get("remote_host", "?"), c.get("remote_port", 0),
      "error=" + j.get("error", "none").replace(" ", "_"))
EOF
)
echo "iperf3 client: exit $rc, server exit $src; sent received bps max_snd_cwnd mean_rtt retransmits local remote port: $summary" | diag
read -r sent rcvd bps cwnd rtt retr lh rh rp err <<<"$summary"
# iperf3 -n may send one block (128 KiB) more than asked: it checks the
# count after each block.  The server must count what was sent.
if [ "$rc" = 0 ] && [ "${sent:-0}" -ge "$IPERF_BYTES" ] 2>/dev/null &&
	[ "${sent:-0}" -le $((IPERF_BYTES + 131072)) ] &&
	[ "${rcvd:-0}" -ge $((sent - IPERF_SLACK)) ] 2>/dev/null &&
	[ "${rcvd:-0}" -le "$sent" ] && [ "${err:-}" = error=none ]; then
	ok "iperf3 -c -n 8M -w 128K: exit 0, $sent bytes sent (8M and at most one block), $rcvd counted by the server ($((bps / 1000000)) Mbit/s, $retr retransmits)"
else
	fail "iperf3 -c -n 8M -w 128K: exit 0, 8M sent (and at most one block), at most $IPERF_SLACK fewer counted by the server (exit $rc, sent ${sent:-?}, counted ${rcvd:-?})"
	diag < "$TMP/iperf-c.json"
	diag < "$TMP/iperf-c.err"
fi
check "iperf3: both ends saw AF_INET names ($lh -> $rh:$rp)" \
	test "$lh $rh $rp" = "127.0.0.1 127.0.0.1 $IPERF_PORT"
check "iperf3: TCP_INFO gave cwnd $cwnd, rtt ${rtt}us" \
	test "${cwnd:-0}" -gt 0
iperf_server_ok() {
	[ "$src" = 0 ] && grep -q 'Accepted connection from 127.0.0.1' "$TMP/iperf-s.log"
}
check "iperf3 -s: accepted the test and exited with status 0 (status $src)" \
	iperf_server_ok
diag < "$TMP/iperf-s.log"
# control connection and one data stream
check "iperf3: toytcp counted both connections (ActiveOpens, PassiveOpens +2), Linux TCP none" \
	opens_moved "$before" "$after" 2 2
echo "toytcp counters of the namespace at the end (non-zero):" | diag
inns awk '$2 != 0 { printf "  %s %s\n", $1, $2 }' /proc/net/toytcp_snmp | diag
# What the preload library saw fail: options toytcp does not have.
cat "$TMP"/iperf-*.dbg 2>/dev/null | grep -v -E 'socket\(AF_INET|accept' |
	sed 's/^toytcp-preload\[[0-9]*\]: //' | sort | uniq -c | diag

# ------------------------------- 4. IPv4-only mode and tools/toytcp-run
# python3 -m http.server without --bind listens on :: (AF_INET6, its
# DualStackServer) on a host with a global IPv6 address, the first answer
# of getaddrinfo(NULL, AI_PASSIVE) there.  This namespace has loopback
# addresses only, where glibc's RFC 6724 sort puts 0.0.0.0 first (rule 5,
# matching labels); a gai.conf with one label for all (bind-mounted in a
# mount namespace of the server's own) makes the order that host's.  Under
# toytcp-run --ipv4-only the :: socket is toytcp's, bound to 0.0.0.0, and
# the server sees IPv6 names (it logs the client as ::ffff:127.0.0.1).
printf 'label ::/0 0\n' > "$TMP/gai.conf"
# shellcheck disable=SC2016 # "$@" is the inner shell's
ip netns exec "$NS" unshare -m sh -c 'mount --bind "$0" /etc/gai.conf && exec "$@"' "$TMP/gai.conf" \
	env PYTHONUNBUFFERED=1 timeout -k 5 300 "$RUN" --ipv4-only --debug --log "$TMP/http6.dbg" \
	"$PY" -m http.server --directory "$TMP/www" "$HTTP6_PORT" > "$TMP/http6.log" 2>&1 &
hpid=$!
PIDS+=("$hpid")
# linux6_listening PORT: /proc/net/tcp6 lists a LISTEN socket on PORT.
linux6_listening() {
	inns awk -v p=":$(printf '%04X' "$1")" \
		'NR > 1 && substr($2, length($2) - 4) == p && $4 == "0A" { f = 1 } END { exit !f }' \
		/proc/net/tcp6
}
if wait_listening "$HTTP6_PORT" 90 "$hpid" && ! linux6_listening "$HTTP6_PORT"; then
	ok "toytcp-run --ipv4-only: http.server (no --bind) listens on toytcp (port $HTTP6_PORT in /proc/net/toytcp, not in /proc/net/tcp6)"
else
	fail "toytcp-run --ipv4-only: http.server (no --bind) listens on toytcp (port $HTTP6_PORT in /proc/net/toytcp, not in /proc/net/tcp6)"
	diag < "$TMP/http6.log"
	diag < "$TMP/http6.dbg" 2>/dev/null
	inns awk 'NR == 1 || $2 ~ /:1F91$/' /proc/net/tcp6 | diag
fi
inns awk 'NR == 1 || $2 ~ /:1F91$/' /proc/net/toytcp | diag
before=$(opens)
rm -f "$TMP/got6.bin"
w=$(ip netns exec "$NS" timeout -k 5 120 "$RUN" curl -sS --max-time 100 -o "$TMP/got6.bin" \
	-w '%{http_code} %{size_download}' "http://127.0.0.1:$HTTP6_PORT/blob.bin" 2>&1)
rc=$?
after=$(opens)
echo "curl: exit $rc, $w" | diag
got=$(sha256sum < "$TMP/got6.bin" 2>/dev/null)
check "toytcp-run --ipv4-only: curl gets the file from http.server on :: byte-exact (exit $rc, HTTP ${w%% *}, sha256)" \
	test "$rc" = 0 -a "${w%% *}" = 200 -a "$want" = "$got"
check "toytcp-run --ipv4-only: toytcp counted the connection (ActiveOpens, PassiveOpens +1), Linux TCP did not" \
	opens_moved "$before" "$after" 1 1
check "toytcp-run --ipv4-only: http.server served on :: and logged its client as ::ffff:127.0.0.1" \
	eval 'grep -q "^Serving HTTP on :: port $HTTP6_PORT" "$TMP/http6.log" &&
		grep -q "^::ffff:127\.0\.0\.1 - - .*\"GET /blob.bin HTTP/1.1\" 200" "$TMP/http6.log"'
diag < "$TMP/http6.log"
diag < "$TMP/http6.dbg" 2>/dev/null
kill "$hpid" 2>/dev/null
wait "$hpid" 2>/dev/null

# The socket API of the mode, from Python: names, options, addresses
# that toytcp cannot have.
cat > "$TMP/v6.py" <<'EOF'
import errno, socket
def t(name, cond, detail=""):
    print(("ok " if cond else "not ok ") + name + ("" if cond else ": " + repr(detail)))
def err(f):
    try:
        f()
        return 0
    except OSError as x:
        return x.errno
L = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
L.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
L.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
t("IPV6_V6ONLY set, reads 0", L.getsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY) == 0)
t("SO_DOMAIN says AF_INET6", L.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN) == socket.AF_INET6)
t("bind to ::1 is EADDRNOTAVAIL", err(lambda: L.bind(("::1", 0))) == errno.EADDRNOTAVAIL, err(lambda: L.bind(("::1", 0))))
L.bind(("::ffff:127.0.0.1", 0))
n = L.getsockname()
t("getsockname is a v4-mapped sockaddr_in6", n[0] == "::ffff:127.0.0.1" and n[1] > 0 and len(n) == 4, n)
L.listen(1)
ports = [int(l.split()[1].split(":")[1], 16) for l in open("/proc/net/toytcp").read().splitlines()[1:]]
t("the listener is in /proc/net/toytcp", n[1] in ports, ports)
C = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
t("connect to ::1 is EADDRNOTAVAIL", err(lambda: C.connect(("::1", n[1]))) == errno.EADDRNOTAVAIL)
C.connect(("::ffff:127.0.0.1", n[1]))
S, peer = L.accept()
t("accept and getpeername give v4-mapped names", peer == C.getsockname() and C.getpeername()[:2] == n[:2] and peer[0] == "::ffff:127.0.0.1", (peer, C.getsockname(), C.getpeername()))
C.sendall(b"x" * 70000)
got = b""
while len(got) < 70000:
    b = S.recv(65536)
    if not b:
        break
    got += b
t("70000 bytes across", got == b"x" * 70000, len(got))
EOF
before=$(opens)
out=$(ip netns exec "$NS" timeout -k 5 60 "$RUN" --ipv4-only "$PY" "$TMP/v6.py" 2>&1)
rc=$?
after=$(opens)
check "toytcp-run --ipv4-only: AF_INET6 socket API over toytcp (8 checks, exit $rc)" \
	eval '[ "$rc" = 0 ] && ! grep -q "^not ok" <<<"$out" && [ "$(grep -c "^ok" <<<"$out")" = 8 ]'
diag <<<"$out"
check "toytcp-run --ipv4-only: the AF_INET6 connection was toytcp's, not Linux TCP's" \
	opens_moved "$before" "$after" 1 1

# --debug without --ipv4-only: an AF_INET6 stream socket stays Linux's,
# and the log says which and why.
out=$(ip netns exec "$NS" timeout -k 5 60 "$RUN" --debug "$PY" -c '
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
print("fd", s.fileno(), s.getsockopt(socket.SOL_SOCKET, socket.SO_DOMAIN))' 2>&1)
rc=$?
diag <<<"$out"
fd=$(awk '$1 == "fd" { print $2 }' <<<"$out")
check "toytcp-run --debug: an AF_INET6 socket left to Linux (fd ${fd:-?}) is logged with its reason" \
	eval '[ "$rc" = 0 ] && grep -q "^fd $fd 10\$" <<<"$out" &&
		grep -q "socket(AF_INET6, SOCK_STREAM, 0) = $fd: left to Linux: IPv6" <<<"$out"'
check "toytcp-run --help prints the usage" \
	eval '"$RUN" --help | grep -q "^Usage: toytcp-run \[OPTIONS\] COMMAND"'

echo "1..$n"
[ "$failed" = 0 ]
