#!/usr/bin/env bash
# Runs 'relaysleuth probe' against a real Postfix (Debian's package) on
# 127.0.0.1:2525: first as a closed relay, then as an open one, and checks
# the probe's verdicts and --verify-log against the log Postfix wrote.
#
# Postfix runs as its own instance (config /etc/postfix-relaysleuth-probe,
# queue /var/spool/postfix-relaysleuth-probe), so a Postfix already on the
# machine is left alone. It listens on 127.0.0.1:2525 only, and its
# relayhost is an unused loopback port: nothing it accepts can leave.
# Safe to run again; Postfix is stopped at the end.
#
# Skips (exit 0) when not root or when apt cannot install Postfix.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "postfix-probe: $*"; }
skip() { say "SKIP: $*"; exit 0; }
fail() { say "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip "not root (needs to install and start Postfix)"
command -v apt-get >/dev/null 2>&1 || skip "apt-get not available (not Debian?)"

CONF=/etc/postfix-relaysleuth-probe
QUEUE=/var/spool/postfix-relaysleuth-probe
DATA=/var/lib/postfix-relaysleuth-probe
LOG=/var/log/postfix-probe.log
PORT=2525
DEAD_PORT=2526 # relayhost: nothing listens there
START=$(date +%s)

if ! command -v jq >/dev/null 2>&1 || [ ! -x /usr/sbin/postfix ]; then
	say "installing postfix and jq"
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	install() {
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postfix jq >/tmp/postfix-probe-apt.log 2>&1
	}
	if ! install; then
		apt-get update -q >>/tmp/postfix-probe-apt.log 2>&1 || true
		install || skip "apt-get could not install postfix (see /tmp/postfix-probe-apt.log)"
	fi
fi

BIN=$(mktemp -d)/relaysleuth
go build -o "$BIN" ./cmd/relaysleuth

stop() { postfix -c "$CONF" stop >/dev/null 2>&1 || true; }
trap stop EXIT
stop

mkdir -p "$CONF" "$DATA" "$QUEUE"
MASTER=
for f in /usr/share/postfix/master.cf.dist /etc/postfix/master.cf.proto /etc/postfix/master.cf; do
	[ -f "$f" ] && MASTER=$f && break
done
[ -n "$MASTER" ] || fail "no master.cf to start from"
# master.cf: Debian's services without chroot (the instance has no copy of
# /etc in its queue), and no smtpd on port 25: only 127.0.0.1:2525.
awk -v port="$PORT" '
	/^#/ || /^[ \t]/ || NF < 8 { print; next }
	$1 == "smtp" && $2 == "inet" { print "127.0.0.1:" port " inet n - n - - smtpd"; next }
	{ $5 = "n"; print }
' "$MASTER" >"$CONF/master.cf"
grep -q '^postlog' "$CONF/master.cf" || echo "postlog unix-dgram n - n - 1 postlogd" >>"$CONF/master.cf"

write_main() { # $1: mynetworks
	cat >"$CONF/main.cf" <<EOF
compatibility_level = 3.6
queue_directory = $QUEUE
data_directory = $DATA
myhostname = mail.probe.test
mydomain = probe.test
myorigin = probe.test
mydestination = \$myhostname, probe.test, localhost
inet_interfaces = loopback-only
inet_protocols = ipv4
relayhost = [127.0.0.1]:$DEAD_PORT
mynetworks = $1
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
maillog_file = $LOG
alias_maps =
alias_database =
biff = no
smtpd_banner = \$myhostname ESMTP
smtpd_error_sleep_time = 0
smtpd_soft_error_limit = 100
EOF
}

# Closed: the probe connects from 127.0.0.1, outside mynetworks.
write_main 127.0.0.2/32
: >"$LOG"
postfix -c "$CONF" set-permissions >/dev/null 2>&1 || true
postfix -c "$CONF" check && postfix -c "$CONF" start || { tail -5 "$LOG"; fail "postfix would not start"; }
for _ in $(seq 50); do
	(exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break
	sleep 0.2
done

probe() { # $1: name; rest: extra flags. Prints the exit status.
	local name=$1
	shift
	set +e
	"$BIN" probe --no-tls --delay 0 --timeout 10s --from-domain probe.test --format json \
		--verify-log "$LOG" --local-domains probe.test --timezone Local "$@" 127.0.0.1:$PORT \
		>"/tmp/postfix-probe-$name.json" 2>"/tmp/postfix-probe-$name.err"
	echo $?
	set -e
}

status=$(probe closed)
[ "$status" = 0 ] || { cat /tmp/postfix-probe-closed.err; fail "closed relay: exit $status, want 0"; }
J=/tmp/postfix-probe-closed.json
[ "$(jq '[.cases[] | select(.verdict != "refused")] | length' $J)" = 0 ] ||
	fail "closed relay: cases not refused: $(jq -c '[.cases[] | select(.verdict != "refused") | [.name, .code, .text]]' $J)"
# Postfix logs every refusal (NOQUEUE: reject): each case must be found in
# the log as refused.
[ "$(jq '[.cases[] | select(.log.status != "refused")] | length' $J)" = 0 ] ||
	fail "closed relay: log statuses: $(jq -c '[.cases[] | [.name, .log.status]]' $J)"
found=$(jq '.log_summary.found' $J)
say "closed relay: $(jq '.cases | length' $J) cases refused, $found found in the log as refused, $(jq '.log_summary.not_in_log' $J) not in the log"

# Open: 127.0.0.0/8 in mynetworks lets the probe relay.
write_main 127.0.0.0/8
postfix -c "$CONF" reload >/dev/null
sleep 1
status=$(probe open)
[ "$status" = 3 ] || { cat /tmp/postfix-probe-open.err; fail "open relay: exit $status, want 3"; }
J=/tmp/postfix-probe-open.json
accepted=$(jq '.summary.accepted' $J)
[ "$(jq '[.cases[] | select(.verdict == "accepted" and .log.status != "accepted")] | length' $J)" = 0 ] ||
	fail "open relay: accepted cases not found in the log as accepted: $(jq -c '[.cases[] | select(.verdict == "accepted") | [.name, .log.status]]' $J)"
[ "$(jq '[.cases[] | select(.verdict == "refused" and .log.status == "accepted")] | length' $J)" = 0 ] ||
	fail "open relay: a refused case found as accepted"
say "open relay: $accepted cases accepted and found in the log (queue file opened, no DATA)"

# The configuration check agrees.
"$BIN" probe --from-postconf <(postconf -c "$CONF" -n) --host-networks 127.0.0.0/8,192.0.2.0/24 >/dev/null ||
	fail "postconf -n of the open configuration: no warning expected for 127.0.0.0/8"
write_main 0.0.0.0/0
if "$BIN" probe --from-postconf <(postconf -c "$CONF" -n) >/dev/null; then
	fail "postconf -n with mynetworks = 0.0.0.0/0: want a warning (exit 3)"
fi

say "OK in $(($(date +%s) - START))s"
