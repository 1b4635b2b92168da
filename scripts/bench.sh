#!/usr/bin/env bash
# bench.sh times `relaysleuth scan` against pflogsumm and eximstats on
# generated logs, side by side on the same files, with /usr/bin/time -v for
# wall time, CPU use and peak memory, and prints every figure of issue 13's
# targets beside them: speed against the peers, cost per line as the input
# grows, incremental ingest into the biggest database, database size
# against the log, report and investigate times on the biggest database,
# tail's throughput and alert latency (from the Go benchmark and test).
# It also scans a generated Exchange log set (receive protocol log and
# message tracking, a folder of files); no Exchange log tool runs on Linux.
#
#   scripts/bench.sh            1M, 5M and 20M-line Postfix, 1M-line Exim and Exchange
#   BENCH_SIZES="1000000 5000000" scripts/bench.sh    skip the 20M case
#   BENCH_PG=1 scripts/bench.sh     and PostgreSQL (issue 18): 4 writers x 1M
#                                   lines at once, reports on the 20M database
#   BENCH_PG=only scripts/bench.sh  the PostgreSQL part alone (it copies
#                                   bench-out/postfix-20m.db, left by a full run;
#                                   BENCH_PG_LINES=N: N lines a writer, not 1M)
#
# Everything goes to ./bench-out/ (git-ignored). Logs are generated once per
# size and seed and reused by later runs.
set -euo pipefail
cd "$(dirname "$0")/.."
out=bench-out
sizes=${BENCH_SIZES:-"1000000 5000000 20000000"}
seed=${BENCH_SEED:-1}
pg=${BENCH_PG:-}
[ "$pg" = only ] && sizes=
mkdir -p "$out"

need() { # need COMMAND PACKAGE: install PACKAGE from Debian if COMMAND is missing
	command -v "$1" >/dev/null 2>&1 && return
	local sudo=
	[ "$(id -u)" -ne 0 ] && sudo=sudo
	echo "bench: installing $2 for $1" >&2
	local try
	for try in 1 2 3 4 5 6; do # another apt may hold the lock for a while
		if DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
			-o DPkg::Lock::Timeout=60 "$2" >/dev/null 2>&1 && command -v "$1" >/dev/null; then
			return
		fi
		$sudo apt-get update -qq -o DPkg::Lock::Timeout=60 >/dev/null 2>&1 || sleep 10
	done
	echo "bench: could not install $2" >&2
	exit 1
}

# unpacked PROGRAM PACKAGE: the path of PROGRAM, from PATH or else unpacked
# from PACKAGE's .deb under bench-out/tools without installing it.
# exim4-base must not be installed: it is an MTA and apt would remove
# Postfix (which other tools on this machine use) to make room for it.
unpacked() {
	if command -v "$1" >/dev/null 2>&1; then
		command -v "$1"
		return
	fi
	local dir=$out/tools
	if [ ! -x "$dir/usr/sbin/$1" ]; then
		echo "bench: unpacking $1 from $2 (not installing it)" >&2
		mkdir -p "$dir"
		(cd "$dir" && rm -f ./*.deb && apt-get download -qq "$2" >/dev/null 2>&1) ||
			{ apt-get update -qq >/dev/null 2>&1 && (cd "$dir" && apt-get download -qq "$2" >/dev/null); }
		dpkg-deb -x "$dir"/"$2"_*.deb "$dir"
	fi
	echo "$dir/usr/sbin/$1"
}

need pflogsumm pflogsumm
[ -x /usr/bin/time ] || need time time

echo "bench: building" >&2
go build -o "$out/relaysleuth" ./cmd/relaysleuth
go build -o "$out/gen" ./testdata/gen
rs=$out/relaysleuth
eximstats=$(unpacked eximstats exim4-base)

label() { # label N: 1000000 → 1m
	case $1 in *000000) echo "$(( $1 / 1000000 ))m" ;; *000) echo "$(( $1 / 1000 ))k" ;; *) echo "$1" ;; esac
}

generate() { # generate FORMAT N [START] → path of the log
	local f=$1 n=$2 start=${3:-} name
	name=$out/$f-$(label "$n")-s$seed${start:+-later}.log
	if [ ! -s "$name" ]; then
		echo "bench: generating $name" >&2
		"$out/gen" -format "$f" -lines "$n" -seed "$seed" ${start:+-start "$start"} -out "$name" -truth "${name%.log}.csv" -config "$out/config.json" 2>/dev/null
	fi
	[ -s "$out/config.json" ] || "$out/gen" -lines 1 -out /dev/null -config "$out/config.json" 2>/dev/null
	if [ ! -s "$name.gz" ]; then
		gzip -c "$name" >"$name.gz"
	fi
	echo "$name"
}

generate_exchange() { # generate_exchange N → path of the log folder
	local n=$1 name
	name=$out/exchange-$(label "$n")-s$seed
	if [ ! -d "$name" ]; then
		echo "bench: generating $name/" >&2
		rm -rf "$name.tmp"
		"$out/gen" -format exchange -lines "$n" -seed "$seed" -out "$name.tmp" -truth "$name.csv" -config "$out/config.json" 2>/dev/null
		mv "$name.tmp" "$name"
	fi
	echo "$name"
}

declare -A secs rss rate cpu
printf '%-34s %10s %12s %6s %10s %12s\n' case seconds "max RSS MB" "CPU%" "lines" "lines/s" >&2
measure() { # measure NAME LINES COMMAND...: run it, record wall seconds, CPU and max RSS
	local name=$1 lines=$2
	shift 2
	local t=$out/time.txt rc=0
	/usr/bin/time -v -o "$t" "$@" >"$out/$name.out" 2>"$out/$name.err" || rc=$?
	if [ "$rc" -eq 124 ] && [ "$1" = timeout ]; then # measure NAME 0 timeout SECS ...: over the limit
		secs[$name]=">$2"
		printf '%-34s %10s\n' "$name" ">$2" >&2
		return
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]; then # scan exits 3 when it finds relay abuse
		echo "bench: $name failed (exit $rc):" >&2
		tail -5 "$out/$name.err" >&2
		exit 1
	fi
	local wall kb
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,p,":"); s=0; for(i=1;i<=n;i++) s=s*60+p[i]; print s}' "$t")
	kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$t")
	cpu[$name]=$(awk -F': ' '/Percent of CPU this job got/ {sub("%","",$2); print $2}' "$t")
	secs[$name]=$wall
	rss[$name]=$(( kb / 1024 ))
	local r=-
	[ "$lines" -gt 0 ] && r=$(awk -v n="$lines" -v s="$wall" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }')
	rate[$name]=$r
	printf '%-34s %10.2f %12d %6s %10s %12s\n' "$name" "$wall" "${rss[$name]}" "${cpu[$name]}" "$lines" "$r" >&2
}
mb() { du -m --apparent-size "$@" 2>/dev/null | awk '{s += $1} END {print s + 0}'; } # total MB of files

fresh() { # fresh DB: remove a database left by an earlier run
	rm -f "$1" "$1-wal" "$1-shm"
}
scan=("$rs" scan --config "$out/config.json" --timezone UTC --progress never --db) # scan DB LOG: relay report included

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

results=()
first=
last=
for n in $sizes; do
	l=$(label "$n")
	[ -n "$first" ] || first=$l
	last=$l
	plog=$(generate postfix "$n")
	fresh "$out/postfix-$l.db"
	measure "scan postfix $l" "$n" "${scan[@]}" "$out/postfix-$l.db" "$plog"
	measure "pflogsumm postfix $l" "$n" pflogsumm "$plog"
	if [ "$n" -le 5000000 ]; then
		fresh "$out/postfix-$l-gz.db"
		measure "scan postfix $l .gz" "$n" "${scan[@]}" "$out/postfix-$l-gz.db" "$plog.gz"
		results+=("postfix $l: .gz / plain = $(ratio "${secs[scan postfix $l .gz]}" "${secs[scan postfix $l]}") (target <= 1.3)")
		fresh "$out/postfix-$l-gz.db"
	fi
	measure "re-ingest postfix $l" "$n" "$rs" ingest --db "$out/postfix-$l.db" --config "$out/config.json" --timezone UTC --progress never "$plog"
	measure "report summary postfix $l" 0 "$rs" report --db "$out/postfix-$l.db" summary
	measure "report relay postfix $l" 0 "$rs" report --db "$out/postfix-$l.db" relay
	# A complaint about a relayed message, by its Message-ID (the last
	# relay_abuse row of the truth: a late message, in the newest blocks).
	mid=$(awk -F, '$8 == "relay_abuse" { m = $2 } END { print m }' "${plog%.log}.csv")
	measure "investigate postfix $l" 0 "$rs" investigate --db "$out/postfix-$l.db" --message-id "$mid"
	results+=("postfix $l: scan / pflogsumm speed = $(ratio "${secs[pflogsumm postfix $l]}" "${secs[scan postfix $l]}")x (target >= 3)")
	results+=("postfix $l: scan ${rate[scan postfix $l]} lines/s = $(ratio "${rate[scan postfix $l]}" "${rate[scan postfix $first]}") of the $first rate (target >= 0.85); CPU ${cpu[scan postfix $l]}% (2 cores: 200%)")
	results+=("postfix $l: re-ingest / first = $(ratio "${secs[re-ingest postfix $l]}" "${secs[scan postfix $l]}") (target < 0.10)")
	results+=("postfix $l: max RSS of scan = ${rss[scan postfix $l]} MB (target <= 150)")
	results+=("postfix $l: database $(mb "$out/postfix-$l.db"*) MB for a $(mb "$plog") MB log = $(ratio "$(mb "$out/postfix-$l.db"*)" "$(mb "$plog")")x (target <= 1.0)")
	results+=("postfix $l: report summary ${secs[report summary postfix $l]} s, report relay ${secs[report relay postfix $l]} s, investigate ${secs[investigate postfix $l]} s (target < 0.2, process start included)")
	if [ "$n" -eq 5000000 ]; then
		# Maintenance on a copy: every verdict given again, then the
		# older half (the log's first of its two days) pruned.
		cp "$out/postfix-$l.db" "$out/postfix-$l-copy.db"
		measure "rejudge postfix $l" 0 "$rs" rejudge --db "$out/postfix-$l-copy.db" --config "$out/config.json"
		measure "prune half postfix $l" 0 "$rs" prune --db "$out/postfix-$l-copy.db" --before 2026-03-03
		results+=("postfix $l: rejudge ${secs[rejudge postfix $l]} s, max RSS ${rss[rejudge postfix $l]} MB; prune of half ${secs[prune half postfix $l]} s, max RSS ${rss[prune half postfix $l]} MB (memory bounded, target <= 150)")
		rm -f "$out/postfix-$l-copy.db"*
	fi
	if [ "$n" -le 1000000 ]; then
		elog=$(generate exim "$n")
		fresh "$out/exim-$l.db"
		measure "scan exim $l" "$n" "${scan[@]}" "$out/exim-$l.db" "$elog"
		measure "eximstats exim $l" "$n" "$eximstats" "$elog"
		results+=("exim $l: scan / eximstats speed = $(ratio "${secs[eximstats exim $l]}" "${secs[scan exim $l]}")x (target >= 3)")
		results+=("exim $l: max RSS of scan = ${rss[scan exim $l]} MB")
		xdir=$(generate_exchange "$n")
		fresh "$out/exchange-$l.db"
		measure "scan exchange $l" "$n" "${scan[@]}" "$out/exchange-$l.db" "$xdir"
		results+=("exchange $l: scan ${rate[scan exchange $l]} lines/s (target >= 250000; no Exchange tool to compare on Linux)")
		results+=("exchange $l: max RSS of scan = ${rss[scan exchange $l]} MB")
	fi
	[ "$n" -gt 1000000 ] && rm -f "$out/postfix-$l-gz.db"*
done

if [ -n "$last" ]; then
# Every other report on the biggest database (target: each under 0.2 s),
# at most 10 minutes each. recipients is left out: it prints every row.
limit=${BENCH_REPORT_LIMIT:-600}
line="reports on the $last database:"
for kind in attempts auth timeline traffic forensic accounts html; do
	if [ "$kind" = html ]; then
		measure "report html postfix $last" 0 timeout "$limit" "$rs" report --db "$out/postfix-$last.db" --format html --output "$out/report-$last.html"
	else
		measure "report $kind postfix $last" 0 timeout "$limit" "$rs" report --db "$out/postfix-$last.db" "$kind"
	fi
	line+=" $kind ${secs[report $kind postfix $last]} s,"
done
results+=("${line%,} (target < 0.2 each, process start included)")

# Incremental: 1M new lines, months later, into the biggest database.
n1=1000000
inc=$(generate postfix "$n1" 2026-09-15T06:00:00Z)
measure "incremental 1m into postfix $last" "$n1" "${scan[@]}" "$out/postfix-$last.db" "$inc"
results+=("incremental: 1M lines into the $last database at ${rate[incremental 1m into postfix $last]} lines/s = $(ratio "${rate[incremental 1m into postfix $last]}" "${rate[scan postfix $first]}") of a first ingest's (target >= 0.80)")

# tail: lines/s while following a growing file (Go benchmark), and the
# latency from a line written to its alert (the alert test logs it).
tailrate=$(go test -run '^$' -bench 'BenchmarkTailFollow$' -benchtime 3x ./cmd/relaysleuth 2>/dev/null | awk '/BenchmarkTailFollow/ { for (i = 1; i < NF; i++) if ($(i+1) == "lines/s") print $i }')
latency=$(go test -count=1 -run 'TestTailAlertLatency$' -v ./cmd/relaysleuth 2>/dev/null | grep -o 'alert latency.*' | head -1)
results+=("tail: ${tailrate:-?} lines/s while following (target >= 150000); ${latency:-alert latency: ?} (target < 300 ms)")
fi

# PostgreSQL (issue 18), with BENCH_PG=1 or only: a cluster of Debian's
# PostgreSQL in bench-out/pg, kept between runs like the logs (the 20M
# database is copied into it once), listening on a Unix socket in that
# folder only, started for the run and stopped after it (left running if it
# was running already). Its settings are PostgreSQL's defaults (fsync on)
# but for shared_buffers=1GB and max_wal_size=8GB.
# (a) Four generated Postfix hosts (seeds 1 to 4, host names mx1 to mx4):
#     one `ingest` process each, all at once, into one new database; lines/s
#     of all four and the database's size, beside one `ingest` of mx1's log
#     into a new SQLite file, in this run.
# (b) report summary, report relay and investigate --message-id on the 20M
#     database: bench-out/postfix-20m.db (only read) copied by `migrate`
#     into the database rs_20m once, and again when the file is newer.
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
pg_stop() { :; }
pg_up() { # sets pgdir, pg_as and pg_q, the cluster running
	local bin
	bin=$(pg_bin)
	if [ -z "$bin" ]; then
		need pg_ctlcluster postgresql
		bin=$(pg_bin)
	fi
	pgdir=$PWD/$out/pg
	pg_as=()
	mkdir -p "$pgdir"
	if [ "$(id -u)" = 0 ]; then # initdb refuses root
		id postgres >/dev/null 2>&1 || useradd --system --home-dir "$pgdir" --shell /usr/sbin/nologin postgres
		chown postgres "$pgdir"
		pg_as=(runuser -u postgres --)
	fi
	pg_ctl=("${pg_as[@]}" "$bin/pg_ctl" -D "$pgdir/data")
	if [ ! -s "$pgdir/data/PG_VERSION" ]; then
		echo "bench: creating a PostgreSQL cluster in $pgdir/data" >&2
		"${pg_as[@]}" "$bin/initdb" -D "$pgdir/data" -U postgres -A trust >"$pgdir/initdb.log" 2>&1 ||
			{ cat "$pgdir/initdb.log" >&2; exit 1; }
	fi
	if ! "${pg_ctl[@]}" status >/dev/null 2>&1; then
		"${pg_ctl[@]}" -l "$pgdir/server.log" -w -t 120 start \
			-o "-c listen_addresses='' -k $pgdir -c shared_buffers=1GB -c max_wal_size=8GB" >/dev/null ||
			{ tail -20 "$pgdir/server.log" >&2; exit 1; }
		pg_stop() { "${pg_ctl[@]}" -m fast -w stop >/dev/null 2>&1 || true; }
		trap pg_stop EXIT
	fi
	pg_psql=(env PGOPTIONS="-c client_min_messages=warning" "$bin/psql" -h "$pgdir" -U postgres -X -A -t -q)
}
pg_q() { "${pg_psql[@]}" -d "${2:-postgres}" -c "$1"; } # pg_q SQL [DATABASE]
pg_db() { echo "host=$pgdir user=postgres dbname=$1"; }
writers() { # writers DB LOG...: one ingest per LOG, all at once, into DB
	local db=$1 l i=0 p rc=0 pids=()
	shift
	for l; do
		i=$((i + 1))
		"$rs" ingest --db "$db" --config "$out/config.json" --timezone UTC --progress never "$l" 2>"$out/pg writer $i.err" &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		wait "$p" || { l=$?; [ "$l" -eq 3 ] || rc=$l; }
	done
	return "$rc"
}
if [ -n "$pg" ]; then
	pg_up
	export -f writers
	export rs out
	echo "bench: PostgreSQL $("${pg_psql[@]}" -d postgres -c 'SHOW server_version') in $pgdir" >&2
	n=${BENCH_PG_LINES:-1000000}
	l=$(label "$n")
	mx=()
	for i in 1 2 3 4; do
		log=$(seed=$i generate postfix "$n")
		host=$out/postfix-$l-s$i-mx$i.log
		[ -s "$host" ] || sed "s/^\(............... \)mail /\1mx$i /" "$log" >"$host"
		mx+=("$host")
	done
	fresh "$out/pg-sqlite-$l.db"
	measure "ingest sqlite $l (1 writer)" "$n" "$rs" ingest --db "$out/pg-sqlite-$l.db" --config "$out/config.json" --timezone UTC --progress never "${mx[0]}"
	pg_q "DROP DATABASE IF EXISTS rs_writers"
	pg_q "CREATE DATABASE rs_writers"
	measure "ingest postgresql 4x$l (4 writers)" $((4 * n)) bash -c 'writers "$@"' writers "$(pg_db rs_writers)" "${mx[@]}"
	pgsize=$(pg_q "SELECT pg_database_size('rs_writers') / 1048576")
	results+=("postgresql: 4 writers x $l lines at once ${rate[ingest postgresql 4x$l (4 writers)]} lines/s in all, database ${pgsize} MiB for $(mb "${mx[@]}") MB of logs; SQLite 1 writer ${rate[ingest sqlite $l (1 writer)]} lines/s, $(mb "$out/pg-sqlite-$l.db"*) MB for $(mb "${mx[0]}") MB")
	results+=("postgresql: recipients from the 4 hosts: $(pg_q "SELECT string_agg(host || ' ' || n, ', ' ORDER BY host) FROM (SELECT host, count(*) AS n FROM recipients GROUP BY host) AS h" rs_writers); SQLite mx1: $(sqlite3 "$out/pg-sqlite-$l.db" 'SELECT count(*) FROM recipients' 2>/dev/null || echo '?')")
	fresh "$out/pg-sqlite-$l.db"
	pg_q "DROP DATABASE rs_writers"
	big=$out/postfix-20m.db
	if [ -s "$big" ]; then
		if [ "$(pg_q "SELECT 1 FROM pg_database WHERE datname = 'rs_20m'")" != 1 ] || [ "$big" -nt "$pgdir/rs_20m.copied" ]; then
			pg_q "DROP DATABASE IF EXISTS rs_20m_tmp"
			pg_q "CREATE DATABASE rs_20m_tmp"
			measure "migrate postfix 20m into postgresql" 0 "$rs" migrate --from "$big" --db "$(pg_db rs_20m_tmp)"
			pg_q "VACUUM ANALYZE" rs_20m_tmp # what autovacuum does after a while
			pg_q "DROP DATABASE IF EXISTS rs_20m"
			pg_q "ALTER DATABASE rs_20m_tmp RENAME TO rs_20m"
			touch "$pgdir/rs_20m.copied"
			results+=("postgresql: migrate of the 20M SQLite file ($(mb "$big"*) MB) ${secs[migrate postfix 20m into postgresql]} s")
		fi
		db20=$(pg_db rs_20m)
		measure "pg report summary postfix 20m" 0 "$rs" report --db "$db20" summary
		measure "pg report relay postfix 20m" 0 "$rs" report --db "$db20" relay
		mid=$(awk -F, '$8 == "relay_abuse" { m = $2 } END { print m }' "$out/postfix-20m-s$seed.csv")
		measure "pg investigate postfix 20m" 0 "$rs" investigate --db "$db20" --message-id "$mid"
		results+=("postgresql: $(pg_q "SELECT sum(lines) FROM sources" rs_20m) lines in $(pg_q "SELECT pg_database_size('rs_20m') / 1048576" rs_20m) MiB: report summary ${secs[pg report summary postfix 20m]} s, report relay ${secs[pg report relay postfix 20m]} s, investigate ${secs[pg investigate postfix 20m]} s (target < 0.5, process start included)")
	else
		results+=("postgresql: no $big (a run with BENCH_SIZES including 20000000 makes it): reports on 20M lines not measured")
	fi
fi
echo
printf '%s\n' "${results[@]}"
