#!/usr/bin/env bash
# Runs 'relaysleuth probe' against a real Exim (Debian's exim4-daemon-light,
# 4.96 on Debian 12) on 127.0.0.1:2527, first as a closed relay, then as an
# open one, probing from 127.0.0.2, outside the relay networks of the closed
# configuration (relay_from_hosts = 127.0.0.1; Debian's Exim trusts the
# loopback address by default). It checks that every case reaches RCPT or
# is reported "not tested" with the reason (Exim refuses senders at an
# address literal at MAIL: the probe tries again with other senders), and
# that --verify-log ties every case to its own lines by its marker, each
# line to one case at most (issue 20).
#
# Exim is not installed: exim4-daemon-light would replace Postfix (the two
# exclude each other, and other tests use Postfix and pflogsumm). Its .deb
# and libidn12's are unpacked under /tmp and run from there with their own
# configuration, spool and logs; only the system user Debian-exim, compiled
# into the binary, is created when missing. Every remote domain is routed to
# a sink on 127.0.0.1:2528 (a few lines of Go below) that keeps what it
# receives: nothing can leave. Exim is stopped at the end.
#
# Skips (exit 0) when not root or when apt cannot fetch the packages.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "exim-probe: $*"; }
skip() { say "SKIP: $*"; exit 0; }
fail() { say "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip "not root (needs to run Exim and create its user)"
command -v apt-get >/dev/null 2>&1 || skip "apt-get not available (not Debian?)"

DIR=/tmp/relaysleuth-exim-probe
PORT=2527
SINK_PORT=2528
START=$(date +%s)
mkdir -p "$DIR/pkg"

fetch() { # fetch PACKAGE: download its .deb into $DIR/pkg and unpack it into $DIR/root
	ls "$DIR/pkg/$1"_*.deb >/dev/null 2>&1 ||
		(cd "$DIR/pkg" && apt-get download -q "$1" >>"$DIR/apt.log" 2>&1) ||
		{ apt-get update -q >>"$DIR/apt.log" 2>&1 && (cd "$DIR/pkg" && apt-get download -q "$1" >>"$DIR/apt.log" 2>&1); } ||
		skip "apt-get could not download $1 (see $DIR/apt.log)"
	dpkg-deb -x "$DIR/pkg/$1"_*.deb "$DIR/root"
}
command -v jq >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends jq >>"$DIR/apt.log" 2>&1 ||
	skip "apt-get could not install jq (see $DIR/apt.log)"
fetch exim4-daemon-light
EXIM=$DIR/root/usr/sbin/exim4
export LD_LIBRARY_PATH=$DIR/root/usr/lib/x86_64-linux-gnu:$DIR/root/usr/lib
if ldd "$EXIM" | grep -q 'libidn.so.12 => not found'; then
	fetch libidn12
fi
missing=$(ldd "$EXIM" | awk '/not found/ {print $1}')
[ -z "$missing" ] || skip "libraries Exim needs are missing: $missing"
getent passwd Debian-exim >/dev/null ||
	useradd --system --no-create-home --home-dir /var/spool/exim4 --shell /usr/sbin/nologin --user-group Debian-exim
say "$("$EXIM" -C /dev/null -bV 2>/dev/null | head -1 || true)"

BIN=$DIR/relaysleuth
go build -o "$BIN" ./cmd/relaysleuth

# The sink: an SMTP server on 127.0.0.1:$SINK_PORT that accepts every
# message and appends it to $DIR/sink.txt.
mkdir -p "$DIR/sink"
cat >"$DIR/sink/main.go" <<'EOF'
package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
)

func main() {
	ln, err := net.Listen("tcp", os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	out, err := os.OpenFile(os.Args[2], os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			continue
		}
		go func() {
			defer c.Close()
			r := bufio.NewReader(c)
			fmt.Fprint(c, "220 sink.probe.test ESMTP sink\r\n")
			data := false
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				cmd := strings.ToUpper(strings.TrimSpace(l))
				switch {
				case data && strings.TrimRight(l, "\r\n") == ".":
					data = false
					fmt.Fprint(c, "250 kept\r\n")
				case data:
					out.WriteString(l)
				case strings.HasPrefix(cmd, "DATA"):
					data = true
					fmt.Fprint(c, "354 go on\r\n")
				case strings.HasPrefix(cmd, "QUIT"):
					fmt.Fprint(c, "221 bye\r\n")
					return
				case strings.HasPrefix(cmd, "EHLO"):
					fmt.Fprint(c, "250 sink.probe.test\r\n")
				default:
					out.WriteString(l)
					fmt.Fprint(c, "250 ok\r\n")
				}
			}
		}()
	}
}
EOF
(cd "$DIR/sink" && go build -o sink main.go)
: >"$DIR/sink.txt"
"$DIR/sink/sink" 127.0.0.1:$SINK_PORT "$DIR/sink.txt" &
SINK=$!
for _ in $(seq 50); do
	(exec 3<>/dev/tcp/127.0.0.1/$SINK_PORT) 2>/dev/null && break
	sleep 0.1
done
kill -0 "$SINK" 2>/dev/null || fail "the sink could not listen on 127.0.0.1:$SINK_PORT"

stop() {
	[ -f "$DIR/exim.pid" ] && kill "$(cat "$DIR/exim.pid")" 2>/dev/null || true
	rm -f "$DIR/exim.pid"
	kill "$SINK" 2>/dev/null || true
}
trap stop EXIT

write_conf() { # $1: relay_from_hosts
	cat >"$DIR/exim.conf" <<EOF
# Debian's defaults where they matter to relaying (the RCPT ACL of
# exim4-config's 30_exim4-config_check_rcpt), on 127.0.0.1:$PORT only.
primary_hostname = mail.probe.test
qualify_domain = probe.test
domainlist local_domains = probe.test : mail.probe.test
domainlist relay_to_domains =
hostlist relay_from_hosts = $1
daemon_smtp_ports = $PORT
local_interfaces = 127.0.0.1
spool_directory = $DIR/spool
log_file_path = $DIR/log/%slog
log_selector = +smtp_protocol_error +smtp_syntax_error
exim_user = Debian-exim
exim_group = Debian-exim
never_users = root
host_lookup =
rfc1413_hosts =
tls_advertise_hosts =
# Exim runs itself again for deliveries and queue runs: from where it
# was unpacked, with the libraries unpacked beside it.
exim_path = $EXIM
keep_environment = LD_LIBRARY_PATH
acl_smtp_rcpt = acl_check_rcpt

begin acl
acl_check_rcpt:
  accept  hosts = :
  deny    domains = +local_domains
          local_parts = ^[.] : ^.*[@%!/|]
  deny    domains = !+local_domains
          local_parts = ^[./|] : ^.*[@%!] : ^.*/\\\\.\\\\./
  accept  hosts = +relay_from_hosts
  require message = relay not permitted
          domains = +local_domains : +relay_to_domains
  accept

begin routers
sink:
  driver = manualroute
  domains = ! +local_domains
  transport = sink_smtp
  route_list = * 127.0.0.1
  self = send
local:
  driver = accept
  domains = +local_domains
  transport = devnull

begin transports
sink_smtp:
  driver = smtp
  port = $SINK_PORT
  hosts_avoid_tls = *
devnull:
  driver = appendfile
  file = /dev/null
  user = Debian-exim
EOF
}

start_exim() {
	stop_exim
	rm -rf "$DIR/log" "$DIR/spool"
	mkdir -p "$DIR/log" "$DIR/spool"
	chown Debian-exim:Debian-exim "$DIR/log" "$DIR/spool"
	"$EXIM" -C "$DIR/exim.conf" -bd -q10s -oP "$DIR/exim.pid" || fail "exim would not start"
	for _ in $(seq 50); do
		(exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && return
		sleep 0.2
	done
	cat "$DIR/log/paniclog" "$DIR/log/mainlog" 2>/dev/null | tail -5
	fail "exim is not listening on 127.0.0.1:$PORT"
}
stop_exim() {
	if [ -f "$DIR/exim.pid" ]; then
		kill "$(cat "$DIR/exim.pid")" 2>/dev/null || true
		rm -f "$DIR/exim.pid"
		sleep 0.5
	fi
}

probe() { # $1: name; rest: extra flags. Prints the exit status.
	local name=$1
	shift
	set +e
	"$BIN" probe --no-tls --delay 0 --timeout 10s --from-domain probe.test --source 127.0.0.2 --format json \
		--verify-log "$DIR/log/mainlog" --verify-log "$DIR/log/rejectlog" --local-domains probe.test \
		--timezone Local --log-wait 2s "$@" 127.0.0.1:$PORT >"$DIR/$name.json" 2>"$DIR/$name.err"
	echo $?
	set -e
}

# Checks true of both runs: every case reached RCPT (or is not tested, with
# the reason); every case whose server reply Exim logs is tied to its lines
# by its marker; no line is tied to two cases.
check_common() { # $1: name
	local J=$DIR/$1.json
	[ "$(jq '[.cases[] | select(.stage != "RCPT" and .stage != "DATA" and (.verdict != "not tested" or .not_tested_reason == null))] | length' "$J")" = 0 ] ||
		fail "$1: cases neither at RCPT nor not tested with a reason: $(jq -c '[.cases[] | select(.stage != "RCPT") | [.name, .stage, .verdict, .code, .text]]' "$J")"
	[ "$(jq '[.cases[] | select(.verdict == "not tested")] | length' "$J")" = "$(jq '.summary.not_tested' "$J")" ] ||
		fail "$1: not tested cases and the summary disagree"
	[ "$(jq '[.cases[] | select(.verdict != "accepted" and .log.match != "marker")] | length' "$J")" = 0 ] ||
		fail "$1: refused cases not tied to their own line by marker: $(jq -c '[.cases[] | select(.verdict != "accepted" and .log.match != "marker") | [.name, .log.status, .log.match]]' "$J")"
	local all dup
	all=$(jq -r '.cases[] | (.log.evidence // []) + (.log.mail_refused_evidence // []) | .[]' "$J")
	dup=$(echo "$all" | sort | uniq -d)
	[ -z "$dup" ] || fail "$1: lines tied to two cases: $dup"
	# Each evidence line holds the case's own marker.
	local bad
	bad=$(jq -r '.cases[] | .marker as $m | (.log.evidence // [])[] | [$m, .] | @tsv' "$J" | while IFS=$'\t' read -r m ev; do
		sed -n "${ev##*:}p" "${ev%:*}" | grep -q -- "-$m" || echo "$ev (not $m)"
	done)
	[ -z "$bad" ] || fail "$1: evidence lines without their case's marker: $bad"
	[ "$(jq '[.cases[] | select(.log.evidence != null)] | length' "$J")" -gt 0 ] || fail "$1: no evidence at all"
	[ "$(jq '.log_summary.disagree' "$J")" = 0 ] || fail "$1: the log disagrees with the probe: $(jq -c '[.cases[] | [.name, .verdict, .log.status]]' "$J")"
}

# Closed: relay_from_hosts = 127.0.0.1; the probe comes from 127.0.0.2.
write_conf 127.0.0.1
start_exim
status=$(probe closed)
[ "$status" = 0 ] || { cat "$DIR/closed.err"; fail "closed relay: exit $status, want 0"; }
J=$DIR/closed.json
check_common closed
[ "$(jq '[.cases[] | select(.verdict != "refused")] | length' "$J")" = 0 ] ||
	fail "closed relay: cases not refused: $(jq -c '[.cases[] | select(.verdict != "refused") | [.name, .stage, .code, .text]]' "$J")"
[ "$(jq '[.cases[] | select(.log.status != "refused")] | length' "$J")" = 0 ] ||
	fail "closed relay: log statuses: $(jq -c '[.cases[] | [.name, .log.status]]' "$J")"
say "closed relay: $(jq '.cases | length' "$J") cases refused at RCPT ($(jq '[.cases[] | select(.mail_refused != null or .log.mail_refused_evidence != null)] | length' "$J") after Exim refused the address-literal sender at MAIL), $(jq '.summary.not_tested' "$J") not tested, $(jq '.log_summary.found' "$J") tied to their own lines by marker"

# Open: 127.0.0.0/8 may relay. One message goes through (--send-to) to
# the sink, to prove the relay end to end.
write_conf 127.0.0.0/8
start_exim
status=$(probe open --send-to relaytest-sink@relaytest.invalid)
[ "$status" = 3 ] || { cat "$DIR/open.err"; fail "open relay: exit $status, want 3"; }
J=$DIR/open.json
check_common open
accepted=$(jq '.summary.accepted' "$J")
[ "$accepted" -ge 5 ] || fail "open relay: $accepted cases accepted, want at least the 5 plain ones"
# Exim logs nothing for a recipient accepted without a message; the one
# message sent is in the log, tied by the marker of its sender.
[ "$(jq -r '.cases[] | select(.name == "send-to") | .log.match' "$J")" = marker ] ||
	fail "open relay: the message sent is not tied to its lines: $(jq -c '.cases[] | select(.name == "send-to") | .log' "$J")"
# A queue run by hand delivers it now (the unpacked Exim may not start
# deliveries from the daemon by itself: it re-executes itself with -C).
"$EXIM" -C "$DIR/exim.conf" -qff
for _ in $(seq 50); do
	grep -q "relaysleuth open relay test $(jq -r .token "$J")" "$DIR/sink.txt" && break
	sleep 0.2
done
grep -q "relaysleuth open relay test $(jq -r .token "$J")" "$DIR/sink.txt" || fail "open relay: the message never reached the sink"
say "open relay: $accepted of $(jq '.cases | length' "$J") cases accepted, the rest refused by Debian's local-part rules or as syntax errors, each tied to its line; the test message reached the sink ($(jq -r '.cases[] | select(.name == "send-to") | .log.status' "$J") in the log)"

# The configuration check sees the open one.
if "$BIN" probe --from-exim-config "$DIR/exim.conf" --host-networks 127.0.0.1/32 >/dev/null; then
	fail "--from-exim-config: relay_from_hosts = 127.0.0.0/8 wider than the host's 127.0.0.1/32: want a warning (exit 3)"
fi

say "OK in $(($(date +%s) - START))s"
