#!/bin/sh
# ui: bad options of play and watch print one line naming the value and
# exit with status 2, before any terminal is needed; --help exits 0.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/ttypong
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# expect_usage PATTERN ARGS...: ttypong ARGS exits 2 and stderr matches.
expect_usage() {
	pattern=$1
	shift
	"$BIN" "$@" --db "$TMP/save.db" </dev/null >"$TMP/out" 2>"$TMP/err"
	status=$?
	if [ $status -ne 2 ]; then
		echo "FAIL: ttypong $* exited $status, expected 2"
		exit 1
	fi
	if ! grep -q -- "$pattern" "$TMP/err"; then
		echo "FAIL: ttypong $* printed: $(cat "$TMP/err")"
		exit 1
	fi
}

expect_usage "invalid value '0' for --speed" watch --speed 0
expect_usage "'fast'" watch --speed fast
expect_usage "invalid value 'robot' for --opponent" watch --opponent robot
expect_usage "--opponent is an option of 'watch'" play --opponent self
expect_usage "--speed is an option of 'watch'" play --speed 2
expect_usage "--points" play --points 0
expect_usage "unexpected argument 'extra'" play extra
expect_usage "--bogus" play --bogus
expect_usage "invalid value '0' for --history" play --history 0
expect_usage "invalid value '33' for --history" watch --history 33
expect_usage "invalid value '0' for --mc" watch --mc 0
expect_usage "invalid dropout 'bogus'" play --dropout bogus

for cmd in play watch; do
	"$BIN" $cmd --help >"$TMP/out" 2>&1 || { echo "FAIL: $cmd --help exited non-zero"; exit 1; }
	grep -q "Usage: ttypong" "$TMP/out" || { echo "FAIL: $cmd --help printed no usage"; exit 1; }
done
[ ! -e "$TMP/save.db" ] || { echo "FAIL: a usage error created the save"; exit 1; }
exit 0
