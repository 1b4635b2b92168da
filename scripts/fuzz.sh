#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME each (default 10m), one after the
# other, and prints one result line per target. A crasher is left by
# `go test` under the package's testdata/fuzz/<Target>/: commit it (it
# becomes a seed that `go test ./...` replays) and fix the bug.
#
#   scripts/fuzz.sh              # 10 minutes per target
#   FUZZTIME=30s scripts/fuzz.sh # a quick pass
set -uo pipefail
cd "$(dirname "$0")/.."
FUZZTIME=${FUZZTIME:-10m}
targets=(
	"./parsers/postfix FuzzParse"
	"./parsers/exim FuzzParse"
	"./parsers/exim FuzzSyslogPieces"
	"./parsers/exchange FuzzTracking"
	"./parsers/exchange FuzzReceive"
	"./parsers/exchange FuzzW3C"
	"./parsers/exchange FuzzTrace"
	"./parsers/exchange FuzzRowLog"
	"./analysis FuzzComplaint"
	"./probe FuzzReadReply"
	"./analysis FuzzCorrelate"
	"./schema FuzzBlocks"
)
status=0
for t in "${targets[@]}"; do
	set -- $t
	pkg=$1 name=$2
	log=$(mktemp)
	start=$(date +%s)
	if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -parallel "${FUZZPARALLEL:-1}" "$pkg" >"$log" 2>&1; then
		result=ok
	else
		result=FAIL
		status=1
	fi
	execs=$(grep -o 'execs: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
	echo "$(date -u +%FT%TZ) $result $pkg $name ${FUZZTIME} execs=${execs:-?} ($(( $(date +%s) - start ))s)"
	if [ "$result" = FAIL ]; then
		tail -30 "$log"
	fi
	rm -f "$log"
done
exit $status
