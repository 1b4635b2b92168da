#!/usr/bin/env bash
# Reads the third-party log samples in ../shared/corpus/external (other
# projects' data: read in place, never copied here; see its SOURCES.md) and
# prints one row per file: the format relaysleuth chose, lines, events,
# unsupported and malformed lines, and the verdict counts. Each file goes
# into a database of its own, with the policy from configs/ that belongs to
# its sample. Then one row per group of files read together (a server's
# rotated logs, an Exim mainlog with its rejectlog).
#
#   scripts/external.sh                         # builds relaysleuth first
#   RELAYSLEUTH=/tmp/relaysleuth scripts/external.sh
#   EXTERNAL=/path/to/external scripts/external.sh
#
# A file relaysleuth refuses is listed with format "-" and the reason. Needs
# jq. Exit status 0 unless the build fails.
set -uo pipefail
cd "$(dirname "$0")/.."
EXTERNAL=${EXTERNAL:-../shared/corpus/external}
if [ ! -d "$EXTERNAL" ]; then
	echo "external.sh: no samples at $EXTERNAL (set EXTERNAL)" >&2
	exit 1
fi
EXTERNAL=$(cd "$EXTERNAL" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
bin=${RELAYSLEUTH:-}
if [ -z "$bin" ]; then
	bin=$work/relaysleuth
	go build -o "$bin" ./cmd/relaysleuth || exit 1
fi

# config FILE: the policy of the sample FILE belongs to.
config() {
	local rel=${1#"$EXTERNAL"/} c=$EXTERNAL/configs
	case $rel in
	crowdsec-hub/*) echo "$c/crowdsec-hub.json" ;;
	elastic-integrations/*) echo "$c/elastic-integrations.json" ;;
	exim-testsuite/*) echo "$c/exim-testsuite.json" ;;
	fail2ban/exim*) echo "$c/fail2ban-exim.json" ;;
	fail2ban/postfix*) echo "$c/fail2ban-postfix.json" ;;
	kumina-postfix-exporter/*) echo "$c/kumina-postfix-exporter.json" ;;
	lightmeter/individual_files/*)
		local b
		b=$(basename "$rel" .log)
		echo "$c/lightmeter-individual/$b.json"
		;;
	lightmeter/logs_sample/*) echo "$c/lightmeter-logs_sample.json" ;;
	ossec-docs/exchange2000*) echo "$c/ossec-docs-exchange2000.json" ;;
	ossec-docs/*) echo "$c/ossec-docs-postfix-exim.json" ;;
	tstrueber-blog/*) echo "$c/tstrueber-blog.json" ;;
	wazuh/*) echo "$c/wazuh.json" ;;
	*) echo "" ;;
	esac
}

# year FILE: --year for samples whose syslog stamps carry none and whose
# modification times git did not keep.
year() {
	case ${1#"$EXTERNAL"/} in
	lightmeter/logs_sample/*) echo "--year=2020" ;;
	*) echo "" ;;
	esac
}

printf '%-66s %-9s %6s %6s %6s %6s  %s\n' file format lines events unsup malf verdicts

# row NAME CONFIG FILE...: ingest FILEs into a fresh database, print a row.
row() {
	local name=$1 cfg=$2
	shift 2
	local db=$work/db.$$ err=$work/err
	rm -f "$db" "$db"-wal "$db"-shm
	if [ -z "$cfg" ] || [ ! -f "$cfg" ]; then
		printf '%-66s %-9s (no config)\n' "$name" -
		return
	fi
	"$bin" ingest --db "$db" --config "$cfg" --timezone UTC --progress never $(year "$1") "$@" >/dev/null 2>"$err"
	local sum
	if ! sum=$("$bin" report --db "$db" --format json summary 2>/dev/null) || [ "$(jq '.files | length' <<<"$sum")" = 0 ]; then
		local why
		why=$(grep -m1 -v '^total:' "$err" | sed 's/^relaysleuth: //' | cut -c1-90)
		printf '%-66s %-9s %6s %6s %6s %6s  skipped: %s\n' "$name" - - - - - "$why"
		return
	fi
	jq -r --arg name "$name" '
		([.files[].format] | unique | join("+")) as $fmt |
		(.verdicts // {} | to_entries | map("\(.key)=\(.value)") | join(" ")) as $v |
		"\($name)\t\($fmt)\t\(.lines)\t\(.events)\t\(.unsupported)\t\(.malformed)\t\($v)"' <<<"$sum" |
		awk -F'\t' '{ printf "%-66s %-9s %6s %6s %6s %6s  %s\n", $1, $2, $3, $4, $5, $6, $7 }'
	grep -v '^total:' "$err" | grep -E 'wrong --input-format|no .* lines of interest|not a Postfix|skipped|already ingested' | sed "s/^relaysleuth: /    ! /; s|$EXTERNAL/||g" | cut -c1-150
}

while IFS= read -r f; do
	row "${f#"$EXTERNAL"/}" "$(config "$f")" "$f"
done < <(find "$EXTERNAL" -type f ! -path "$EXTERNAL/configs/*" ! -name SOURCES.md | LC_ALL=C sort)

echo
echo "groups (read together in one run):"
row lightmeter/logs_sample/ "$(config "$EXTERNAL/lightmeter/logs_sample/x")" "$EXTERNAL"/lightmeter/logs_sample/*
for log in "$EXTERNAL"/exim-testsuite/log/*; do
	n=$(basename "$log")
	rej=$EXTERNAL/exim-testsuite/rejectlog/$n
	[ -f "$rej" ] || continue
	row "exim-testsuite/{log,rejectlog}/$n" "$(config "$log")" "$log" "$rej"
done
exit 0
