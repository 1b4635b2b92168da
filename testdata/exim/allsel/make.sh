#!/usr/bin/env bash
# Writes testdata/exim/allsel: the mainlog and rejectlog of a real Exim 4.96
# (Debian 12's exim4-daemon-light) run with log_selector = +all, and the
# labels.csv of every recipient in them (issue 19).
#
# Exim is not installed (it would replace Postfix): its .deb is unpacked
# under /tmp and run from there with its own configuration, spool and logs,
# on 127.0.0.1:2540, as .ci/exim-probe.sh does. Every outside domain is
# routed to a sink on 127.0.0.1:2541 (smtp/main.go, which also plays the
# clients): nothing leaves the machine. Needs root (Exim's user
# Debian-exim is created when missing), apt-get, openssl and Go.
#
# The sessions (smtp/main.go, cases): inbound mail over TLS with SNI; a
# relay attempt from outside (refused) with a local recipient taken; two
# authenticated submissions over TLS (the second resumes the first's TLS
# session; the first uses MAIL ... AUTH= and has no Message-ID, so Exim
# makes one: id*=); a relay from the trusted network with a recipient the
# remote server refuses (a bounce to the local sender) and one deferred;
# a forward to an outside mailbox through a chain of aliases; an open
# relay (relay_from_hosts wrongly holds 127.0.0.20, which config.json does
# not trust: relay_abuse); a local
# submission whose sender is rewritten; an RSET and a QUIT in mid
# transaction, a syntax error, a protocol error, a failed login, a session
# without MAIL, and a connection the connect ACL refuses. Two queue runs
# deliver everything.
#
# Run from anywhere: testdata/exim/allsel/make.sh. Rewrites mainlog,
# rejectlog and labels.csv beside this script, or in $OUT when set
# (.ci/exim-allsel.sh: a fresh run checked without touching the corpus).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${OUT:-$HERE}
DIR=/tmp/relaysleuth-exim-allsel
PORT=2540
SINK_PORT=2541

say() { echo "make.sh: $*"; }
fail() { say "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || fail "needs root (runs Exim and creates its user)"
rm -rf "$DIR/log" "$DIR/spool" "$DIR/root"
mkdir -p "$DIR/pkg" "$DIR/log" "$DIR/spool"

fetch() { # fetch PACKAGE: download its .deb into $DIR/pkg and unpack it into $DIR/root
	ls "$DIR/pkg/$1"_*.deb >/dev/null 2>&1 ||
		(cd "$DIR/pkg" && apt-get download -q "$1" >>"$DIR/apt.log" 2>&1) ||
		{ apt-get update -q >>"$DIR/apt.log" 2>&1 && (cd "$DIR/pkg" && apt-get download -q "$1" >>"$DIR/apt.log" 2>&1); } ||
		fail "apt-get could not download $1 (see $DIR/apt.log)"
	dpkg-deb -x "$DIR/pkg/$1"_*.deb "$DIR/root"
}
fetch exim4-daemon-light
EXIM=$DIR/root/usr/sbin/exim4
export LD_LIBRARY_PATH=$DIR/root/usr/lib/x86_64-linux-gnu:$DIR/root/usr/lib
if ldd "$EXIM" 2>&1 | grep 'libidn.so.12 => not found' >/dev/null; then
	fetch libidn12
fi
getent passwd Debian-exim >/dev/null ||
	useradd --system --no-create-home --home-dir /var/spool/exim4 --shell /usr/sbin/nologin --user-group Debian-exim
say "$("$EXIM" -C /dev/null -bV 2>/dev/null | head -1)"

# A self-signed certificate for both ends (CV=no: nobody verifies it).
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/O=relaysleuth test/CN=mail.corp.example" \
	-keyout "$DIR/key.pem" -out "$DIR/cert.pem" 2>/dev/null
chown Debian-exim "$DIR/key.pem"
(cd "$HERE/smtp" && go build -o "$DIR/smtp" main.go)
# Exim runs itself again (deliveries, queue runs, bounces) by exim_path,
# and starts bounces with an environment of its own: a wrapper gives every
# such run the unpacked libraries.
printf '#!/bin/sh\nLD_LIBRARY_PATH=%s exec %s "$@"\n' "$LD_LIBRARY_PATH" "$EXIM" >"$DIR/exim"
chmod 755 "$DIR/exim"
# Unpacked, exim4 is setuid root; run as Debian-exim (a delivery making a
# bounce) the loader would then ignore LD_LIBRARY_PATH. Root starts it here.
chmod u-s "$EXIM"

cat >"$DIR/aliases" <<'EOF'
sales: team@corp.example
team: staff@corp.example, carol@corp.example
staff: bob@corp.example
fwd: traveller@partner.example
EOF

cat >"$DIR/exim.conf" <<EOF
primary_hostname = mail.corp.example
qualify_domain = corp.example
domainlist local_domains = corp.example
hostlist relay_from_hosts = 127.0.0.1 : 127.0.0.20
daemon_smtp_ports = $PORT
local_interfaces = 127.0.0.1
spool_directory = $DIR/spool
log_file_path = $DIR/log/%slog
log_selector = +all
timezone = UTC
exim_user = Debian-exim
exim_group = Debian-exim
never_users = root
trusted_users = root
host_lookup =
rfc1413_hosts =
tls_advertise_hosts = *
tls_certificate = $DIR/cert.pem
tls_privatekey = $DIR/key.pem
tls_resumption_hosts = *
exim_path = $DIR/exim
keep_environment = LD_LIBRARY_PATH
acl_smtp_connect = acl_check_connect
acl_smtp_rcpt = acl_check_rcpt

begin acl
acl_check_connect:
  deny    hosts = 127.0.0.17
          message = no mail from you
  accept

acl_check_rcpt:
  accept  hosts = :
  deny    domains = +local_domains
          local_parts = ^[.] : ^.*[@%!/|]
  accept  hosts = +relay_from_hosts
  accept  authenticated = *
          control = submission/sender_retain
  require message = relay not permitted
          domains = +local_domains
  require verify = recipient
  accept

begin routers
remote:
  driver = manualroute
  domains = ! +local_domains
  transport = remote_smtp
  route_list = * 127.0.0.1
  self = send
aliases:
  driver = redirect
  domains = +local_domains
  data = \${lookup{\$local_part}lsearch{$DIR/aliases}}
local:
  driver = accept
  domains = +local_domains
  local_parts = ivan : bob : carol : app : root : postmaster
  transport = devnull

begin transports
remote_smtp:
  driver = smtp
  port = $SINK_PORT
  tls_sni = sink.outside.example
  tls_resumption_hosts = *
devnull:
  driver = appendfile
  file = /dev/null
  user = Debian-exim

begin retry
*  *  F,1h,5m

begin rewrite
*@mail.corp.example  \$1@corp.example  Ffrs

begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = \${if and {{eq{\$auth2}{bob}}{eq{\$auth3}{secret}}}}
  server_set_id = \$auth2
  server_advertise_condition = \${if def:tls_in_cipher}
EOF
chown -R Debian-exim:Debian-exim "$DIR/log" "$DIR/spool"

"$DIR/smtp" sink 127.0.0.1:$SINK_PORT "$DIR/cert.pem" "$DIR/key.pem" &
SINK=$!
stop() {
	[ -f "$DIR/exim.pid" ] && kill "$(cat "$DIR/exim.pid")" 2>/dev/null || true
	rm -f "$DIR/exim.pid"
	kill "$SINK" 2>/dev/null || true
}
trap stop EXIT

# The daemon delivers nothing by itself (queue_only): the two queue runs
# below do, so that the log has them.
"$EXIM" -C "$DIR/exim.conf" -bd -odq -oP "$DIR/exim.pid" || fail "exim would not start"
for _ in $(seq 50); do
	(exec 3<>/dev/tcp/127.0.0.1/$PORT) 2>/dev/null && break
	sleep 0.2
done

"$DIR/smtp" client 127.0.0.1:$PORT inbound relay submission trusted forward noise abuse refused ||
	fail "a client session went wrong (see $DIR/log/mainlog)"
printf 'From: carol@mail.corp.example\nTo: ivan@corp.example\nSubject: from cron\nMessage-ID: <local.1@mail.corp.example>\n\nthe nightly report\n' |
	"$EXIM" -C "$DIR/exim.conf" -odq -f carol@mail.corp.example ivan@corp.example partner-desk@partner.example
sleep 1
"$EXIM" -C "$DIR/exim.conf" -qff
sleep 1
"$EXIM" -C "$DIR/exim.conf" -qff
sleep 1
stop
trap - EXIT

mkdir -p "$OUT"
cp "$DIR/log/mainlog" "$OUT/mainlog"
cp "$DIR/log/rejectlog" "$OUT/rejectlog"
[ "$OUT" = "$HERE" ] || cp "$HERE/config.json" "$OUT/config.json"

# labels.csv: each message is found by its Message-ID (or, for the one
# without, by its subject; the bounce by R=), its queue id taken from
# the "<=" line.
qid() { grep -F -- "$1" "$OUT/mainlog" | grep ' <= ' | head -1 | sed -E 's/^.* ([0-9A-Za-z]{6}-[0-9A-Za-z]{6,11}-[0-9A-Za-z]{2,4}) <= .*$/\1/'; }
inb=$(qid 'id=inbound.1@partner.example')
rel=$(qid 'id=relay.1@spam.example')
sub1=$(qid 'T="Lunch?"')
sub2=$(qid 'id=submission.2@corp.example')
tru=$(qid 'id=trusted.1@corp.example')
fwd=$(qid 'id=forward.1@partner.example')
loc=$(qid 'id=local.1@mail.corp.example')
abu=$(qid 'id=abuse.1@bulk.example')
bnc=$(qid "R=$tru")
for v in inb rel sub1 sub2 tru fwd loc abu bnc; do
	[ -n "${!v}" ] || fail "no queue id for $v"
done
# The Message-ID as the "<=" line logs it: id= (+msg_id) or, for a
# message Exim gave one, id*= (+msg_id_created).
mid() { grep -F -- " $1 <= " "$OUT/mainlog" | sed -nE 's/^.* id\*?=([^ ]+) .*$/<\1>/p' | head -1; }
sub1id=$(mid "$sub1")
bncid=$(mid "$bnc")
[ -n "$sub1id" ] && [ -n "$bncid" ] || fail "no Message-ID made by Exim (id*=) for $sub1 or $bnc"
{
	echo "mta,message_id,queue_id,client_ip,authenticated,sender,recipient,label,notes"
	echo "exim,<inbound.1@partner.example>,$inb,127.0.0.10,no,anna@partner.example,ivan@corp.example,inbound,case=inbound;tls=yes;sni=mail.corp.example"
	echo "exim,<inbound.1@partner.example>,$inb,127.0.0.10,no,anna@partner.example,sales@corp.example,inbound,case=inbound;aliases=sales>team>staff>bob+carol"
	echo "exim,,,127.0.0.11,no,promo@spam.example,victim@outside.example,relay_attempt_rejected,case=relay"
	echo "exim,,,127.0.0.11,no,promo@spam.example,victim2@outside.example,relay_attempt_rejected,case=relay"
	echo "exim,<relay.1@spam.example>,$rel,127.0.0.11,no,promo@spam.example,ivan@corp.example,inbound,case=relay;local recipient in the same transaction"
	echo "exim,$sub1id,$sub1,127.0.0.12,yes,bob@corp.example,friend@outside.example,authenticated_outbound,case=submission;auth=plain:bob;mailauth=bob@corp.example;msgid=created by exim (id*=)"
	echo "exim,$sub1id,$sub1,127.0.0.12,yes,bob@corp.example,carol@corp.example,inbound,case=submission;local recipient"
	echo "exim,<submission.2@corp.example>,$sub2,127.0.0.12,yes,bob@corp.example,later@slow.example,authenticated_outbound,case=submission;tls resumed;deferred"
	echo "exim,<trusted.1@corp.example>,$tru,127.0.0.1,no,app@corp.example,customer@partner.example,internal_outbound,case=trusted"
	echo "exim,<trusted.1@corp.example>,$tru,127.0.0.1,no,app@corp.example,nobody@bouncy.example,internal_outbound,case=trusted;bounced 550 5.1.1"
	echo "exim,$bncid,$bnc,,no,,app@corp.example,system_bounce,case=trusted;bounce R=$tru"
	echo "exim,<forward.1@partner.example>,$fwd,127.0.0.13,no,anna@partner.example,fwd@corp.example,forwarded,case=forward;to traveller@partner.example"
	echo "exim,<local.1@mail.corp.example>,$loc,,no,carol@corp.example,ivan@corp.example,inbound,case=local;sender rewritten from carol@mail.corp.example"
	echo "exim,<local.1@mail.corp.example>,$loc,,no,carol@corp.example,partner-desk@partner.example,internal_outbound,case=local"
	echo "exim,<abuse.1@bulk.example>,$abu,127.0.0.20,no,offers@bulk.example,target1@victim.example,relay_abuse,case=abuse;relay_from_hosts holds 127.0.0.20"
	echo "exim,<abuse.1@bulk.example>,$abu,127.0.0.20,no,offers@bulk.example,target2@victim.example,relay_abuse,case=abuse;relay_from_hosts holds 127.0.0.20"
	echo "exim,,,127.0.0.14,no,probe@scan.example,bad@@corp.example,relay_attempt_rejected,case=noise;syntax error at RCPT (a relay-trick form: @ in the local part)"
	echo "exim,,,127.0.0.15,no,,,auth_failure,case=noise;wrong password for bob"
} >"$OUT/labels.csv"
say "wrote $(wc -l <"$OUT/mainlog") mainlog lines, $(wc -l <"$OUT/rejectlog") rejectlog lines, $(($(wc -l <"$OUT/labels.csv") - 1)) labels"
