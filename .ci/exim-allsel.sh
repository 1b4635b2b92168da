#!/usr/bin/env bash
# Runs a real Exim 4.96 (Debian 12's exim4-daemon-light, unpacked, not
# installed) with log_selector = +all through the sessions of
# testdata/exim/allsel/make.sh, into a temporary directory, and checks
# that relaysleuth gives every labelled recipient of that fresh log its
# verdict and, where the log has one (id= or id*=), its Message-ID
# (issue 19). The committed corpus is not touched; TestEximAllSelector
# checks it without Exim.
#
# Skips (exit 0) when not root or when apt-get is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "exim-allsel: $*"; }
skip() { say "SKIP: $*"; exit 0; }
fail() { say "FAIL: $*"; exit 1; }

[ "$(id -u)" = 0 ] || skip "not root (needs to run Exim and create its user)"
command -v apt-get >/dev/null 2>&1 || skip "apt-get not available (not Debian?)"
command -v jq >/dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends jq >/dev/null 2>&1 ||
	skip "apt-get could not install jq"

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
OUT=$OUT/run testdata/exim/allsel/make.sh || fail "make.sh failed"
RUN=$OUT/run
BIN=$OUT/relaysleuth
go build -o "$BIN" ./cmd/relaysleuth

set +e
"$BIN" scan --db "$OUT/rs.db" --config "$RUN/config.json" --timezone UTC --progress never "$RUN/mainlog" "$RUN/rejectlog" >"$OUT/scan.out" 2>&1
status=$?
set -e
[ "$status" = 3 ] || { cat "$OUT/scan.out"; fail "scan: exit $status, want 3 (relay abuse found)"; }
grep -q ' 0 malformed' "$OUT/scan.out" || { cat "$OUT/scan.out"; fail "scan reported malformed lines"; }
"$BIN" report --db "$OUT/rs.db" --format json --hops recipients >"$OUT/rcpts.json"

bad=0 n=0
while IFS=, read -r _ msgid qid ip _ _ rcpt label _; do
	[ "$label" = auth_failure ] && continue
	n=$((n + 1))
	msgid=${msgid#<}
	msgid=${msgid%>}
	if [ -n "$qid" ]; then
		got=$(jq -r --arg q "$qid" --arg r "$rcpt" '[.[] | select(.queue_id == $q and (.recipient | ascii_downcase) == ($r | ascii_downcase))][0] | "\(.verdict)|\(.message_id)"' "$OUT/rcpts.json")
	else
		got=$(jq -r --arg ip "$ip" --arg r "$rcpt" '[.[] | select(.client_ip == $ip and .status == "rejected" and (.recipient | ascii_downcase) == ($r | ascii_downcase))][0] | "\(.verdict)|"' "$OUT/rcpts.json")
	fi
	want="$label|$msgid"
	if [ "$got" != "$want" ]; then
		say "$qid $rcpt: got ${got/|/, message_id }, want ${want/|/, message_id }"
		bad=$((bad + 1))
	fi
done < <(tail -n +2 "$RUN/labels.csv")
[ "$bad" = 0 ] || fail "$bad of $n labelled recipients wrong"
say "OK: $n labelled recipients of a fresh +all log, every verdict and Message-ID as labelled"
