#!/usr/bin/env bash
# Runs a command (the test suite) with a throwaway PostgreSQL server up and
# RELAYSLEUTH_TEST_PG naming it, so that the store's tests run against
# PostgreSQL as well as SQLite (issue 18):
#
#   .ci/pg.sh go test -count=1 ./...
#
# Installs Debian's postgresql with apt when initdb is missing, creates a
# cluster in a temporary directory as the user postgres (initdb refuses
# root), listening on a Unix socket in that directory only (no TCP), runs
# the command, then stops the server and removes the directory, whatever
# the command's outcome. The exit status is the command's.
#
# Without PostgreSQL (not root, no apt, the install or start failed) the
# command runs without RELAYSLEUTH_TEST_PG: the PostgreSQL tests skip,
# saying so.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "pg: $*" >&2; }
[ $# -gt 0 ] || { say "usage: .ci/pg.sh command [args...]"; exit 2; }
without() { say "SKIP: $* (the PostgreSQL tests skip)"; exec "$@"; }

bindir() {
	local d
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	if [ -n "$d" ] && [ -x "$d/initdb" ]; then
		echo "$d"
	elif command -v initdb >/dev/null 2>&1; then
		dirname "$(command -v initdb)"
	fi
}

BIN=$(bindir)
if [ -z "$BIN" ]; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql >>/tmp/ci-pg-apt.log 2>&1; }
		install || { apt-get update -q >>/tmp/ci-pg-apt.log 2>&1; install; } ||
			without "apt-get could not install postgresql (see /tmp/ci-pg-apt.log)" "$@"
		BIN=$(bindir)
	fi
	[ -n "$BIN" ] || without "no PostgreSQL (initdb) and no root and apt-get to install it" "$@"
fi

DIR=$(mktemp -d /tmp/rs-pg.XXXXXX)
AS=()
if [ "$(id -u)" = 0 ]; then
	id postgres >/dev/null 2>&1 || useradd --system --home-dir "$DIR" --shell /usr/sbin/nologin postgres
	chown postgres "$DIR"
	AS=(runuser -u postgres --)
fi
stop() {
	"${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$DIR"
}
trap stop EXIT

if ! "${AS[@]}" "$BIN/initdb" -D "$DIR/data" -U postgres -A trust --no-sync >"$DIR/initdb.log" 2>&1; then
	cat "$DIR/initdb.log" >&2
	trap - EXIT
	stop
	without "initdb failed" "$@"
fi
# No TCP: the socket in $DIR only. fsync off: the cluster is thrown away.
if ! "${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
	-o "-c listen_addresses='' -k $DIR -c fsync=off -c full_page_writes=off -c max_connections=200" start >/dev/null; then
	cat "$DIR/server.log" >&2
	trap - EXIT
	stop
	without "the server did not start" "$@"
fi
export RELAYSLEUTH_TEST_PG="host=$DIR user=postgres dbname=postgres"
say "PostgreSQL $("$BIN/postgres" --version | awk '{print $3}') on $DIR; RELAYSLEUTH_TEST_PG='$RELAYSLEUTH_TEST_PG'"
set +e
"$@"
status=$?
set -e
exit $status
