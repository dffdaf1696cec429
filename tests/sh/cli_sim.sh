#!/bin/sh
# The command line: sim fills a save that sqlite3 can query, and bad options
# and bad saves each get one error line and the documented exit status.
#
# The checks run twice: with ./ttypong, then with build/asan/ttypong (make
# sanitize) under AddressSanitizer and UBSan. A missing or stale sanitizer
# build skips the second pass (exit 77) after the first has passed.
set -u
script=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")
cd "$(dirname "$0")/../.."

if [ -z "${CLI_SIM_BIN:-}" ]; then
	CLI_SIM_BIN=./ttypong sh "$script" || exit 1
	asan=build/asan/ttypong
	# A source newer than the binary means it is stale.
	if [ ! -x "$asan" ] || [ -n "$(find game ai -name '*.[ch]' -newer "$asan" | head -n 1)" ]; then
		echo "$asan is missing or out of date (run make sanitize); checked ./ttypong only"
		exit 77
	fi
	# A sanitizer report exits 99, which no check expects.
	ASAN_OPTIONS=detect_leaks=1:exitcode=99 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=99 \
	CLI_SIM_BIN=$asan exec sh "$script"
fi

bin=$CLI_SIM_BIN
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

fail() {
	echo "FAIL ($bin): $*"
	exit 1
}

# expect_status WANT COMMAND...: runs COMMAND with its output in $dir/out and
# $dir/err, and fails unless it exits with WANT.
expect_status() {
	want=$1
	shift
	"$@" >"$dir/out" 2>"$dir/err"
	got=$?
	[ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want; stderr: $(cat "$dir/err")"
}

# one_error_line: stderr contains one line, not counting the pointer to --help.
one_error_line() {
	lines=$(grep -vc "^Try 'ttypong" "$dir/err")
	[ "$lines" -eq 1 ] || fail "expected one error line, got $lines: $(cat "$dir/err")"
}

expect_status 0 $bin --version
grep -q '^ttypong [0-9]' "$dir/out" || fail "--version printed '$(cat "$dir/out")'"
expect_status 0 $bin --help
grep -q 'sim' "$dir/out" || fail "--help does not list sim"
expect_status 0 $bin sim --help
grep -q -- '--rounds' "$dir/out" || fail "sim --help does not describe --rounds"

# A headless run records every frame of every round.
db=$dir/save.db
expect_status 0 $bin sim --rounds 4 --seed 9 --left tracker --right random --db "$db"
[ "$(wc -l <"$dir/out")" -eq 4 ] || fail "sim printed $(wc -l <"$dir/out") lines for 4 rounds"
rounds=$(sqlite3 "$db" 'SELECT count(*) FROM rounds')
[ "$rounds" -eq 4 ] || fail "save holds $rounds rounds, expected 4"
frames=$(sqlite3 "$db" 'SELECT count(*) FROM frames')
summed=$(sqlite3 "$db" 'SELECT sum(n_frames) FROM rounds')
[ "$frames" -eq "$summed" ] || fail "frames table has $frames rows, rounds count $summed"
printed=0
for n in $(sed -n 's/.*, \([0-9]*\) frames,.*/\1/p' "$dir/out"); do
	printed=$((printed + n))
done
[ "$printed" -eq "$frames" ] || fail "sim printed $printed frames in all, save holds $frames"

# The same seed gives the same game.
expect_status 0 $bin sim --rounds 4 --seed 9 --left tracker --right random --no-record
cp "$dir/out" "$dir/first"
expect_status 0 $bin sim --rounds 4 --seed 9 --left tracker --right random --no-record
cmp -s "$dir/out" "$dir/first" || fail "two runs with seed 9 differ"

# JSON lines have stable keys.
expect_status 0 $bin sim --rounds 2 --no-record --json
objects=$(grep -c '^{"round":[0-9]*,"winner":"[a-z]*","returns_left":[0-9]*,"returns_right":[0-9]*,"frames":[0-9]*' "$dir/out")
[ "$objects" -eq 2 ] || fail "--json printed $objects objects for 2 rounds: $(cat "$dir/out")"

# Usage errors: one line plus the pointer to --help, status 2.
for args in "sim --rounds 0" "sim --rounds x" "sim --seed -1" "sim --left robot" "sim --bogus" \
	"sim extra" "no-such-command" "sim --rounds"; do
	# shellcheck disable=SC2086 # the arguments are meant to split
	expect_status 2 $bin $args
	one_error_line
done

# Numbers are plain decimal text: no blanks, no '+', no hexadecimal.
for value in " 2" "2 " "+2" "0x2" "-0" " -1" "+1" "1e3" ""; do
	for opt in --rounds --seed --points; do
		expect_status 2 $bin sim --no-record "$opt" "$value"
		one_error_line
		grep -q "invalid value '$value' for $opt" "$dir/err" ||
			fail "sim $opt '$value': $(cat "$dir/err")"
	done
done

# Each usage error names its cause.
for case in "-n|option '-n' requires a value" "--rounds|option '--rounds' requires a value" \
	"--json=1|option '--json' takes no value" "--bogus=1|unknown option '--bogus'" \
	"-x|unknown option '-x'" "-n1 -q|unknown option '-q'"; do
	args=${case%%|*}
	message=${case#*|}
	# shellcheck disable=SC2086 # the arguments are meant to split
	expect_status 2 $bin sim $args
	grep -q "^ttypong sim: $message\$" "$dir/err" || fail "sim $args: expected \"$message\", got: $(cat "$dir/err")"
done

# A file that is not a save: one line, status 1, the file unchanged.
printf 'not a database\n' >"$dir/text.db"
cp "$dir/text.db" "$dir/text.copy"
expect_status 1 $bin sim --rounds 1 --db "$dir/text.db"
one_error_line
grep -q "$dir/text.db" "$dir/err" || fail "error does not name the path: $(cat "$dir/err")"
cmp -s "$dir/text.db" "$dir/text.copy" || fail "sim changed a file that is not a save"

# A save whose migration fails names SQLite's reason and is left as it was.
sqlite3 "$dir/mig.db" 'PRAGMA application_id = 1414814032; CREATE TABLE sessions (x);'
cp "$dir/mig.db" "$dir/mig.copy"
expect_status 1 $bin sim --rounds 1 --db "$dir/mig.db"
one_error_line
grep -q 'table sessions already exists' "$dir/err" || fail "migration error: $(cat "$dir/err")"
cmp -s "$dir/mig.db" "$dir/mig.copy" || fail "a failed migration changed the save"

# Damage to a page past the header is found before anything is written.
expect_status 0 $bin sim --rounds 5 --db "$dir/damaged.db"
dd if=/dev/zero bs=4096 count=1 2>/dev/null | tr '\0' '\377' |
	dd of="$dir/damaged.db" bs=4096 seek=20 conv=notrunc 2>/dev/null
cp "$dir/damaged.db" "$dir/damaged.copy"
expect_status 1 $bin sim --rounds 1 --db "$dir/damaged.db"
one_error_line
grep -q 'malformed save' "$dir/err" || fail "damaged save: $(cat "$dir/err")"
cmp -s "$dir/damaged.db" "$dir/damaged.copy" || fail "sim wrote to a damaged save"

# Paths that cannot hold a save: one line naming the path, status 1,
# nothing created beside them.
mkfifo "$dir/fifo.db"
ln -s "$dir/missing.db" "$dir/dangling.db"
for db in "$dir/fifo.db" "$dir/dangling.db" /dev/null :memory:; do
	expect_status 1 $bin sim --rounds 1 --db "$db"
	one_error_line
	grep -q -- "$db" "$dir/err" || fail "error does not name $db: $(cat "$dir/err")"
done
[ ! -e "$dir/missing.db" ] || fail "a dangling link's target was created"
[ ! -e /dev/null-journal ] || fail "a journal was created beside /dev/null"

# Output that cannot be written fails the command with one line.
for args in "--help" "--version" "sim --help" "sim --rounds 2 --no-record"; do
	# shellcheck disable=SC2086 # the arguments are meant to split
	$bin $args >/dev/full 2>"$dir/err"
	got=$?
	[ "$got" -eq 1 ] || fail "'$args' with stdout on /dev/full exited $got, expected 1"
	one_error_line
	grep -q 'to standard output failed' "$dir/err" || fail "'$args' >/dev/full: $(cat "$dir/err")"
	# shellcheck disable=SC2086
	$bin $args >&- 2>"$dir/err"
	got=$?
	[ "$got" -eq 1 ] || fail "'$args' with stdout closed exited $got, expected 1"
	one_error_line
done
# A recording run stops at the first round it cannot print, and that round
# is saved.
$bin sim --rounds 5 --db "$dir/full.db" >/dev/full 2>"$dir/err"
[ $? -eq 1 ] || fail "sim into /dev/full did not fail"
one_error_line
grep -q 'writing round 1 to standard output failed' "$dir/err" || fail "sim >/dev/full: $(cat "$dir/err")"
rounds=$(sqlite3 "$dir/full.db" 'SELECT count(*) FROM rounds')
[ "$rounds" -eq 1 ] || fail "save holds $rounds rounds after printing round 1 failed"

# A killed run has printed every saved round but at most the last. The log
# is a file, so stdout is fully buffered unless sim flushes it per round.
: >"$dir/killed.log"
$bin sim --rounds 1000000 --db "$dir/killed.db" >>"$dir/killed.log" 2>&1 &
pid=$!
tries=0
while [ "$(wc -l <"$dir/killed.log")" -lt 3 ] && [ $tries -lt 300 ]; do
	sleep 0.1
	tries=$((tries + 1))
done
kill -9 $pid
wait $pid 2>/dev/null
printed=$(wc -l <"$dir/killed.log")
saved=$(sqlite3 "$dir/killed.db" 'SELECT count(*) FROM rounds')
[ "$printed" -ge 3 ] || fail "a killed run printed $printed lines in 30 s"
[ "$printed" -le "$saved" ] && [ "$printed" -ge $((saved - 1)) ] ||
	fail "a killed run printed $printed rounds and saved $saved"

# TTYPONG_DB chooses the save when --db is absent.
TTYPONG_DB=$dir/env.db expect_status 0 $bin sim --rounds 1
[ -f "$dir/env.db" ] || fail "TTYPONG_DB=$dir/env.db was not used"

# An empty --db is a usage error, not a fall back to TTYPONG_DB.
TTYPONG_DB=$dir/env-empty.db expect_status 2 $bin sim --rounds 1 --db ""
one_error_line
grep -q "invalid value '' for --db" "$dir/err" || fail "empty --db: $(cat "$dir/err")"
[ ! -e "$dir/env-empty.db" ] || fail "an empty --db wrote to TTYPONG_DB"
# A round whose commit fails is named by its own number. The trigger makes
# the update that finishes round 2 of a session fail.
db=$dir/trigger.db
expect_status 0 $bin sim --rounds 1 --db "$db"
sqlite3 "$db" "CREATE TRIGGER fail_round_2 BEFORE UPDATE ON rounds WHEN NEW.number = 2
	BEGIN SELECT RAISE(ABORT, 'rejected by the test trigger'); END;"
expect_status 1 $bin sim --rounds 3 --db "$db"
one_error_line
grep -q 'recording round 2 failed' "$dir/err" || fail "wrong round named: $(cat "$dir/err")"
[ "$(wc -l <"$dir/out")" -eq 1 ] || fail "sim printed $(wc -l <"$dir/out") rounds before round 2 failed"
# The failed run's session keeps its round and gets an end time.
open=$(sqlite3 "$db" 'SELECT count(*) FROM sessions WHERE ended_ms IS NULL')
[ "$open" -eq 0 ] || fail "$open sessions have no end time after a failed run"
# A failed run that saved no round leaves no session.
sqlite3 "$db" "DROP TRIGGER fail_round_2; CREATE TRIGGER fail_round_1 BEFORE UPDATE ON rounds
	WHEN NEW.number = 1 BEGIN SELECT RAISE(ABORT, 'rejected by the test trigger'); END;"
expect_status 1 $bin sim --rounds 1 --db "$db"
grep -q 'recording round 1 failed' "$dir/err" || fail "wrong round named: $(cat "$dir/err")"
sessions=$(sqlite3 "$db" 'SELECT count(*) FROM sessions')
[ "$sessions" -eq 2 ] || fail "save holds $sessions sessions after a run that saved nothing, expected 2"
exit 0
