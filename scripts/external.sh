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
# A file relaysleuth refuses is listed with format "-" and the reason;
# SHOWWHY=1 adds the reason for each format chosen (--verbose). Needs jq.
# Exit status 0 unless the build fails.
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

# verbose is --verbose when the binary has it (it then names each input's
# format and why).
verbose=
if "$bin" ingest --help 2>&1 | grep -q -- '--verbose'; then
	verbose=--verbose
fi

# row NAME CONFIG FILE...: ingest FILEs into a fresh database, print a row:
# the counts from the per-file lines ingest prints, the verdicts from the
# database (none when nothing was read).
row() {
	local name=$1 cfg=$2
	shift 2
	local db=$work/db.$$ err=$work/err
	rm -f "$db" "$db"-wal "$db"-shm
	if [ -z "$cfg" ] || [ ! -f "$cfg" ]; then
		printf '%-66s %-9s (no config)\n' "$name" -
		return
	fi
	"$bin" ingest $verbose --db "$db" --config "$cfg" --timezone UTC --progress never $(year "$1") "$@" >/dev/null 2>"$err"
	local fmt lines events unsup malf verdicts=""
	fmt=$(sed -n 's/^relaysleuth: .*: read as \([a-z-]*\).*/\1/p' "$err" | sort -u | paste -sd+ -)
	read -r lines events unsup malf < <(grep -E '^[^ ].*: [0-9]+ lines, [0-9]+ events, [0-9]+ unsupported, [0-9]+ malformed$' "$err" |
		sed -E 's/.*: ([0-9]+) lines, ([0-9]+) events, ([0-9]+) unsupported, ([0-9]+) malformed$/\1 \2 \3 \4/' |
		awk '{ l += $1; e += $2; u += $3; m += $4; n++ } END { if (n) print l, e, u, m }')
	if [ -f "$db" ] && sum=$("$bin" report --db "$db" --format json summary 2>/dev/null); then
		[ -z "$fmt" ] && fmt=$(jq -r '[(.files // [])[].format] | unique | join("+")' <<<"$sum")
		verdicts=$(jq -r '(.verdicts // {} | to_entries | map("\(.key)=\(.value)")) +
			(if (.auth_failures // 0) > 0 then ["(failed logins \(.auth_failures))"] else [] end) | join(" ")' <<<"$sum")
	fi
	if [ -z "$lines" ]; then
		local why
		why=$(grep -v '^total:' "$err" | grep -m1 -E 'skipped|not a |no mail|warning' | sed "s/^relaysleuth: //; s|$EXTERNAL/||g" | cut -c1-90)
		printf '%-66s %-9s %6s %6s %6s %6s  skipped: %s\n' "$name" - - - - - "$why"
		return
	fi
	printf '%-66s %-9s %6s %6s %6s %6s  %s\n' "$name" "${fmt:--}" "$lines" "$events" "$unsup" "$malf" "$verdicts"
	grep -v '^total:' "$err" | grep -E 'wrong --input-format|lines of interest|not a |no mail|skipped|already ingested|warning: [0-9]+ of|looks like|also in another file' |
		sed "s/^relaysleuth: /    ! /; s|$EXTERNAL/||g" | cut -c1-150
	if [ -n "$verbose" ] && [ -n "${SHOWWHY:-}" ]; then
		sed -n "s|^relaysleuth: $EXTERNAL/\(.*: read as .*\)|    why: \1|p" "$err" | cut -c1-150
	fi
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
