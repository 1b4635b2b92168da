#!/usr/bin/env bash
# Produces postfix.log: a real Postfix (Debian 12's 3.7) on loopback with
# the most verbose logging relaysleuth reads (smtpd_log_access_permit_actions
# = static:all, smtpd_tls_loglevel = smtp_tls_loglevel = 2,
# enable_long_queue_ids, postscreen in front of smtpd), driven by driver.py.
# See README.md for the cases. Needs root and Postfix installed; runs its own
# instance (/etc/postfix-relaysleuth-verbose), so a Postfix already on the
# machine is left alone. Everything listens on 127.0.0.1 only and every
# route ends at sink.py: nothing leaves the machine.
#
#	sudo testdata/postfix/verbose/make.sh   # rewrites postfix.log
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CONF=/etc/postfix-relaysleuth-verbose
QUEUE=/var/spool/postfix-relaysleuth-verbose
DATA=/var/lib/postfix-relaysleuth-verbose
LOG=/var/log/postfix-relaysleuth-verbose.log
PORT=2535   # postscreen, then smtpd
SINK=2536   # sink.py: the internet and the internal mail store
REINJECT=2537

stop() {
	postfix -c "$CONF" stop >/dev/null 2>&1 || true
	[ -n "${SINKPID:-}" ] && kill "$SINKPID" 2>/dev/null || true
}
trap stop EXIT
stop
rm -rf "$QUEUE" "$DATA"
mkdir -p "$CONF" "$DATA" "$QUEUE"

openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=mail.corp.test \
	-keyout "$CONF/key.pem" -out "$CONF/cert.pem" >/dev/null 2>&1

awk -v port="$PORT" -v reinject="$REINJECT" '
	/^#/ || /^[ \t]/ || NF < 8 { print; next }
	$1 == "smtp" && $2 == "inet" {
		print "127.0.0.1:" port " inet n - n - 1 postscreen"
		print "smtpd pass - - n - - smtpd"
		print "dnsblog unix - - n - 0 dnsblog"
		print "tlsproxy unix - - n - 0 tlsproxy"
		print "127.0.0.1:" reinject " inet n - n - - smtpd"
		print "  -o syslog_name=postfix/reinject"
		print "  -o content_filter="
		print "  -o receive_override_options=no_header_body_checks"
		print "  -o smtpd_authorized_xforward_hosts=127.0.0.0/8"
		print "  -o mynetworks=127.0.0.0/8"
		print "  -o smtpd_recipient_restrictions=permit_mynetworks,reject"
		print "  -o postscreen_access_list="
		next
	}
	{ $5 = "n"; print }
' /usr/share/postfix/master.cf.dist >"$CONF/master.cf"

cat >"$CONF/header_checks" <<'EOF2'
/^Subject: .*HOLDME/	HOLD held for review
/^Subject: .*DISCARDME/	DISCARD
/^Subject: .*WARNME/	WARN suspicious subject
/^Subject: .*REJECTME/	REJECT message content rejected
EOF2
cat >"$CONF/recipient_access" <<'EOF2'
redirect@corp.test	REDIRECT ops@partner.test
trap@corp.test	DISCARD spamtrap
quarantine@corp.test	HOLD quarantined
filter@corp.test	FILTER smtp:[127.0.0.1]:2537
EOF2
cat >"$CONF/transport" <<EOF2
nobody@corp.test	error:5.1.1 mailbox unavailable
blackhole.corp.test	discard:blackhole
corp.test	smtp:[127.0.0.1]:$SINK
EOF2
cat >"$CONF/postscreen_access" <<'EOF2'
127.0.0.13/32	reject
127.0.0.1/32	permit
EOF2

cat >"$CONF/main.cf" <<EOF2
compatibility_level = 3.6
queue_directory = $QUEUE
data_directory = $DATA
myhostname = mail.corp.test
mydomain = corp.test
myorigin = corp.test
mydestination = localhost
relay_domains = corp.test, blackhole.corp.test
transport_maps = texthash:$CONF/transport
relayhost = [127.0.0.1]:$SINK
inet_interfaces = loopback-only
inet_protocols = ipv4
# 127.0.0.5 is the misconfiguration: an outside host in mynetworks.
mynetworks = 127.0.0.1/32, 127.0.0.5/32
smtpd_helo_required = yes
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_recipient_restrictions = warn_if_reject reject_non_fqdn_helo_hostname,
	check_recipient_access texthash:$CONF/recipient_access, permit
header_checks = regexp:$CONF/header_checks
smtpd_log_access_permit_actions = static:all
smtpd_tls_loglevel = 2
smtp_tls_loglevel = 2
smtpd_tls_security_level = may
smtpd_tls_cert_file = $CONF/cert.pem
smtpd_tls_key_file = $CONF/key.pem
smtp_tls_security_level = may
smtp_send_xforward_command = yes
enable_long_queue_ids = yes
postscreen_access_list = permit_mynetworks, cidr:$CONF/postscreen_access
postscreen_blacklist_action = drop
postscreen_greet_action = enforce
postscreen_greet_wait = 1s
postscreen_dnsbl_sites =
maillog_file = $LOG
alias_maps =
alias_database =
biff = no
smtpd_banner = \$myhostname ESMTP
smtpd_error_sleep_time = 0
maximal_queue_lifetime = 1d
queue_run_delay = 300s
EOF2

python3 "$HERE/sink.py" "$SINK" "$CONF/cert.pem" "$CONF/key.pem" &
SINKPID=$!
: >"$LOG"
postfix -c "$CONF" set-permissions >/dev/null 2>&1 || true
postfix -c "$CONF" check
postfix -c "$CONF" start
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break; sleep 0.2; done

python3 "$HERE/driver.py" "$PORT" 1
# Local submissions through sendmail(1) and pickup(8): one relayed, one to
# an address whose transport is error(8) (smtpd refuses it at RCPT; a local
# submission gets as far as a delivery attempt, then a bounce).
printf 'From: root@corp.test\nTo: report@outside.test\nSubject: nightly report\nMessage-ID: <c22-pickup.verbose@corp.test>\n\nreport\n' |
	sendmail -C "$CONF" -f root@corp.test report@outside.test
printf 'From: root@corp.test\nTo: nobody@corp.test\nSubject: cron output\nMessage-ID: <c23-error-transport.verbose@corp.test>\n\nreport\n' |
	sendmail -C "$CONF" -f root@corp.test nobody@corp.test
sleep 4
# The administrator at work: expire the deferred message (postsuper -e,
# Postfix 3.5+) and flush it so that it is returned to its sender, then
# release what header_checks held and delete what the access map held.
queue() { postqueue -c "$CONF" -j | python3 -c '
import json, sys
for l in sys.stdin:
    m = json.loads(l)
    print(m["queue_name"], m["queue_id"], m["recipients"][0]["address"])'; }
queue
for qid in $(queue | awk '$1 == "deferred" && $3 == "later@outside.test" {print $2}'); do
	postsuper -c "$CONF" -e "$qid"
	postqueue -c "$CONF" -i "$qid"
done
sleep 3
for qid in $(queue | awk '$1 == "hold" && $3 == "dave@corp.test" {print $2}'); do postsuper -c "$CONF" -H "$qid"; done
for qid in $(queue | awk '$1 == "hold" && $3 == "quarantine@corp.test" {print $2}'); do postsuper -c "$CONF" -d "$qid" hold; done
postqueue -c "$CONF" -f
sleep 5
postqueue -c "$CONF" -p || true
stop
trap - EXIT
cp "$LOG" "$HERE/postfix.log"
(cd "$HERE" && python3 labels.py)
echo "wrote $HERE/postfix.log: $(wc -l <"$HERE/postfix.log") lines"
