#!/bin/sh
# stats: the summary of a sim-filled save agrees with what sqlite3 counts,
# as text and as one JSON object, and reading it changes nothing.
set -u
cd "$(dirname "$0")/../.."
bin=./ttypong
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

. tests/sh/lib/expect.sh

command -v sqlite3 >/dev/null || { echo "sqlite3 is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "python3 is not installed"; exit 77; }

db=$dir/save.db
expect_status 0 $bin sim --rounds 6 --seed 3 --left tracker --right random --db "$db"
expect_status 0 $bin sim --rounds 3 --seed 4 --db "$db"

# An empty model table: no promoted version.
expect_status 0 $bin stats --db "$db"
grep -q '^promoted model: none$' "$dir/out" || fail "stats without models: $(cat "$dir/out")"
grep -q '^sessions: 2 (play 0, watch 0, train 0, sim 2, eval 0)$' "$dir/out" ||
	fail "sessions line: $(cat "$dir/out")"

expect_status 0 $bin import tests/data/tfjs/keras3 --db "$db"
expect_status 0 $bin import tests/data/tfjs/keras3_functional --promote --db "$db"
promoted=$(cat "$dir/out")
sqlite3 "$db" "UPDATE models SET val_loss = 0.5, val_acc = 0.75, return_rate = 0.625 WHERE id = $promoted"

rounds=$(sqlite3 "$db" 'SELECT count(*) FROM rounds')
frames=$(sqlite3 "$db" 'SELECT count(*) FROM frames')
left=$(sqlite3 "$db" "SELECT count(*) FROM rounds WHERE winner = 'left'")
right=$(sqlite3 "$db" "SELECT count(*) FROM rounds WHERE winner = 'right'")
draws=$(sqlite3 "$db" "SELECT count(*) FROM rounds WHERE winner = 'draw'")

expect_status 0 $bin stats --db "$db"
grep -q "^rounds: $rounds finished, $frames frames$" "$dir/out" || fail "rounds line: $(cat "$dir/out")"
grep -q "^results: left won $left, right won $right, $draws draws$" "$dir/out" ||
	fail "results line: $(cat "$dir/out")"
grep -q '^models: 2 (0 trained, 2 imported), 1 promoted$' "$dir/out" || fail "models line: $(cat "$dir/out")"
grep -q "^promoted model: $promoted (imported, 0 records), val loss 0.5000, val accuracy 75.0%, return rate 62.5%$" "$dir/out" ||
	fail "promoted line: $(cat "$dir/out")"
grep -q '^human:' "$dir/out" && fail "stats shows human results for a save without a human"

# --json: one object per line with stable keys.
before=$(cat "$db" "$db-wal" 2>/dev/null | cksum)
expect_status 0 $bin stats --json --db "$db"
after=$(cat "$db" "$db-wal" 2>/dev/null | cksum)
[ "$before" = "$after" ] || fail "stats changed the save's files"
[ "$(wc -l <"$dir/out")" -eq 1 ] || fail "--json printed $(wc -l <"$dir/out") lines"
python3 - "$dir/out" "$rounds" "$frames" "$left" "$right" "$draws" "$promoted" <<'EOF' || fail "--json: $(cat "$dir/out")"
import json, sys
path, rounds, frames, left, right, draws, promoted = sys.argv[1:]
s = json.load(open(path))
want_keys = ['save', 'sessions', 'rounds', 'frames', 'left_wins', 'right_wins', 'draws',
             'human_rounds', 'human_wins', 'human_losses', 'models', 'trained', 'imported',
             'promoted', 'latest_promoted']
assert list(s) == want_keys, f'keys {list(s)}'
assert s['sessions'] == {'play': 0, 'watch': 0, 'train': 0, 'sim': 2, 'eval': 0}, s['sessions']
assert s['rounds'] == int(rounds), 'rounds'
assert s['frames'] == int(frames), 'frames'
assert (s['left_wins'], s['right_wins'], s['draws']) == (int(left), int(right), int(draws)), 'results'
assert (s['models'], s['trained'], s['imported'], s['promoted']) == (2, 0, 2, 1), 'models'
p = s['latest_promoted']
assert p == {'id': int(promoted), 'kind': 'imported', 'records': 0, 'val_loss': 0.5,
             'val_acc': 0.75, 'return_rate': 0.625}, p
EOF

# Unmeasured figures are null in JSON and "not measured" in text.
sqlite3 "$db" "UPDATE models SET val_loss = NULL, return_rate = NULL WHERE id = $promoted"
expect_status 0 $bin stats --json --db "$db"
grep -q '"val_loss":null,"val_acc":0.75,"return_rate":null' "$dir/out" || fail "unmeasured JSON: $(cat "$dir/out")"
expect_status 0 $bin stats --db "$db"
grep -q 'val loss not measured, val accuracy 75.0%, return rate not measured' "$dir/out" ||
	fail "unmeasured text: $(cat "$dir/out")"

# A missing save is an error and stays missing; bad options are usage errors.
expect_status 1 $bin stats --db "$dir/none.db"
[ "$(wc -l <"$dir/err")" -eq 1 ] || fail "missing save: $(cat "$dir/err")"
[ ! -e "$dir/none.db" ] || fail "stats created a save"
expect_status 2 $bin stats --bogus --db "$db"
expect_status 2 $bin stats extra --db "$db"
expect_status 0 $bin stats --help
grep -q -- '--json' "$dir/out" || fail "stats --help does not describe --json"
exit 0
