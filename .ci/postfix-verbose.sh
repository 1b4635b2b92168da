#!/usr/bin/env bash
# Runs testdata/postfix/verbose/make.sh against the Postfix installed here,
# in a temporary copy of that folder, and checks relaysleuth's verdicts
# against the labels the run wrote: the committed log is checked by go test;
# this checks that the Postfix of today still logs what the parser reads
# (permit logging, TLS log level 2, long queue ids, postscreen, HOLD,
# DISCARD, REDIRECT, FILTER, postsuper). Skips (exit 0) when not root or
# when Postfix is not installed (.ci/postfix-probe.sh installs it).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "postfix-verbose: $*"; }
[ "$(id -u)" = 0 ] || { say "SKIP: not root (needs to start Postfix)"; exit 0; }
[ -x /usr/sbin/postfix ] || { say "SKIP: Postfix is not installed"; exit 0; }

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cp -r testdata/postfix/verbose "$TMP/verbose"
if ! "$TMP/verbose/make.sh" >"$TMP/make.log" 2>&1; then
	tail -20 "$TMP/make.log"
	say "FAIL: make.sh"
	exit 1
fi
go build -o "$TMP/relaysleuth" ./cmd/relaysleuth
set +e
"$TMP/relaysleuth" scan --db "$TMP/rs.db" --config "$TMP/verbose/config.json" --timezone Local --progress never \
	"$TMP/verbose/postfix.log" >"$TMP/scan.out" 2>"$TMP/scan.err"
status=$?
set -e
if [ "$status" != 3 ]; then
	cat "$TMP/scan.err"
	say "FAIL: scan exit $status, want 3 (relay abuse found)"
	exit 1
fi
grep -q " 0 malformed" "$TMP/scan.err" || { cat "$TMP/scan.err"; say "FAIL: malformed lines"; exit 1; }
"$TMP/relaysleuth" report --db "$TMP/rs.db" --format json --hops recipients >"$TMP/recipients.json"
python3 - "$TMP/verbose/labels.csv" "$TMP/recipients.json" <<'PY'
import csv, json, sys
labels = list(csv.DictReader(open(sys.argv[1])))
got = json.load(open(sys.argv[2]))
by_queue = {(r["queue_id"], r["recipient"].lower()): r for r in got if r["status"] != "rejected"}
rejected = [r for r in got if r["status"] == "rejected"]
bad = 0
for l in labels:
    r = by_queue.get((l["queue_id"], l["recipient"].lower()))
    if r is None:
        for c in rejected:
            if c["client_ip"] == l["client_ip"] and c["recipient"].lower() == l["recipient"].lower():
                r = c
                break
    if r is None or r["verdict"] != l["label"] or (l["message_id"] and r["message_id"] != l["message_id"].strip("<>")):
        bad += 1
        print("postfix-verbose: %s: got %s, want %s (%s)" % (l["notes"], r and (r["verdict"], r["message_id"]), l["label"], l["message_id"]))
print("postfix-verbose: %d labels, %d wrong" % (len(labels), bad))
sys.exit(1 if bad else 0)
PY
say "OK: $(grep -c . "$TMP/verbose/postfix.log") lines from a fresh run, every label matched"
