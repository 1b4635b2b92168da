#!/usr/bin/env bash
# Runs `relaysleuth investigate` over the real complaints in
# ../shared/corpus/complaints (other people's data: read in place, never
# copied here) against a database of the Postfix dev corpus, and prints per
# file the kind of complaint recognised, its notes (not a spam complaint, no
# message in it, what to run instead), the addresses a blocklist notice
# lists, which Received hops are yours (only those give client and queue id
# keys), the keys taken (with the header or line each came from and how many
# messages it matched) and whether a message was found. None of these
# complaints is about a message in our corpora: every one must end
# "found: no" (exit 1). Needs jq.
#
#   scripts/complaints.sh                 # ../shared/corpus/complaints
#   scripts/complaints.sh DIR|FILE...     # other complaints
set -uo pipefail
cd "$(dirname "$0")/.."
command -v jq >/dev/null || { echo "complaints.sh: jq is needed" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
go build -o "$tmp/relaysleuth" ./cmd/relaysleuth || exit 2
db=$tmp/dev.db
"$tmp/relaysleuth" scan --db "$db" --config testdata/postfix/dev/config.json --timezone UTC \
	--progress never testdata/postfix/dev/postfix.log >/dev/null 2>"$tmp/scan.err"
if [ $? -ne 3 ]; then
	echo "complaints.sh: scan of the dev corpus failed:" >&2
	cat "$tmp/scan.err" >&2
	exit 2
fi
[ $# -gt 0 ] || set -- ../shared/corpus/complaints
files=()
for a in "$@"; do
	if [ -d "$a" ]; then
		for f in "$a"/*.eml "$a"/*.txt; do [ -e "$f" ] && files+=("$f"); done
	else
		files+=("$a")
	fi
done
found=0
for f in "${files[@]}"; do
	out=$("$tmp/relaysleuth" investigate --db "$db" --format json "$f" 2>"$tmp/err")
	rc=$?
	echo "== $(basename "$f") (exit $rc)"
	if [ -z "$out" ]; then
		sed 's/^/   error: /' "$tmp/err"
		continue
	fi
	jq -r '
		"   kind: \(.complaint.kind // "-")" + (if .complaint.feedback_type then " (feedback type \(.complaint.feedback_type))" else "" end),
		(.complaint.notes // [] | .[] | "   note: \(.)"),
		(.complaint.listed // [] | .[] | "   listed: \(.)"),
		"   hops: " + ([.complaint.received // [] | to_entries[] | "\(.key+1):\(if .value.own then "yours" else "other" end)"] | join(" ")),
		(.complaint.warnings // [] | .[] | "   warning: \(.)"),
		(.keys[] | "   key \(.key) = \(.value)  [\(.source)] matched \(.matched)" + (if .note then " (\(.note))" else "" end)),
		"   found: \(if .found then "YES, \(.incidents | length) message(s): \([.incidents[].cause.kind] | join(", "))" else "no" end)"
	' <<<"$out"
	[ $rc -eq 0 ] && found=$((found + 1))
done
echo "== ${#files[@]} complaints, $found found a message"
