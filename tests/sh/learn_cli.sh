#!/bin/sh
# train, eval and models on scratch saves. Each block checks one behaviour,
# which its comment names.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/ttypong
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

[ -x "$BIN" ] || { echo "build ./ttypong first"; exit 77; }
command -v sqlite3 >/dev/null 2>&1 || { echo "sqlite3 command not found"; exit 77; }
command -v python3 >/dev/null 2>&1 || { echo "python3 not found"; exit 77; }
fail() { echo "FAIL: $*"; exit 1; }
db=$TMP/a.db

# JSON: the first version has no parent.
"$BIN" train --rounds 2 --seed 3 --epochs 1 --json --db "$db" >"$TMP/t.out" 2>"$TMP/t.err" ||
	fail "train exited $?: $(cat "$TMP/t.err")"
python3 - "$TMP/t.out" <<'EOF' || fail "train --json ids"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert lines[0]["parent_id"] is None, lines[0]
assert lines[0]["model_id"] == 1, lines[0]
assert lines[1]["parent_id"] == 1, lines[1]
EOF
"$BIN" models --json --db "$db" >"$TMP/m.out" || fail "models --json exited $?"
python3 - "$TMP/m.out" <<'EOF' || fail "models --json parent of the root"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
assert lines[0]["parent_id"] is None, lines[0]
assert lines[1]["parent_id"] == 1, lines[1]
EOF

# models shows the return rate, not the parent id, in the return column.
"$BIN" eval --model 2 --rounds 3 --db "$db" >"$TMP/e.out" 2>"$TMP/e.err" || fail "eval exited $?"
grep -q ', 3 rounds, seed 1$' "$TMP/e.out" || fail "eval line: $(cat "$TMP/e.out")"
want=$(sqlite3 "$db" "SELECT printf('%.3f', return_rate) FROM models WHERE id = 2")
got=$("$BIN" models --db "$db" | awk '$1 == 2 { print $7 }')
[ "$got" = "$want" ] || fail "models return column shows '$got', expected '$want'"

# A second eval says it replaces the stored rate; one round is singular.
"$BIN" eval --model 2 --rounds 1 --db "$db" >"$TMP/e.out" 2>"$TMP/e.err" || fail "eval exited $?"
grep -q ', 1 round, seed 1$' "$TMP/e.out" || fail "eval line: $(cat "$TMP/e.out")"
grep -q 'replaced the stored return rate' "$TMP/e.err" || fail "no replacement warning: $(cat "$TMP/e.err")"

# --dropout on a save with a promoted version warns, and the session does
# not claim the ignored dropout.
"$BIN" train --rounds 1 --epochs 1 --dropout alpha:0.3 --db "$db" >/dev/null 2>"$TMP/t.err" ||
	fail "train --dropout exited $?"
grep -q -- '--dropout shapes only a fresh network; model version [0-9]* keeps its layers' "$TMP/t.err" ||
	fail "no --dropout warning: $(cat "$TMP/t.err")"
cfg=$(sqlite3 "$db" "SELECT json_extract(config_json, '\$.dropout') IS NULL, json_extract(config_json, '\$.start_model') FROM sessions ORDER BY id DESC LIMIT 1")
[ "$cfg" = "1|2" ] || fail "session config dropout/start_model: $cfg"

# Contradictory options warn.
"$BIN" train --rounds 1 --epochs 1 --opponent self --teacher human --mc 2 --dropout none \
	--db "$TMP/w.db" >/dev/null 2>"$TMP/t.err" || fail "train with warnings exited $?"
grep -q 'teacher human copies the network' "$TMP/t.err" || fail "no teacher warning: $(cat "$TMP/t.err")"
grep -q -- '--mc with --dropout none' "$TMP/t.err" || fail "no --mc warning: $(cat "$TMP/t.err")"
"$BIN" train --rounds 1 --train-ms 5 --db "$TMP/w.db" >/dev/null 2>"$TMP/t.err" ||
	fail "train with a small budget exited $?"
grep -q -- '--train-ms 5 is below the fixed cost of a step' "$TMP/t.err" ||
	fail "no budget warning: $(cat "$TMP/t.err")"

# A round with an infinite frame is skipped and named; training goes on.
sqlite3 "$db" "UPDATE frames SET left_y = 1e300 WHERE round_id = 1" || fail "poisoning frames"
"$BIN" train --rounds 1 --epochs 1 --json --db "$db" >"$TMP/t.out" 2>"$TMP/t.err" ||
	fail "train with a bad round exited $?: $(cat "$TMP/t.err")"
grep -q 'skipped stored round 1' "$TMP/t.err" || fail "skipped round not named: $(cat "$TMP/t.err")"
python3 -c 'import json,sys; o=json.loads(open(sys.argv[1]).readline()); assert o["status"]=="ok", o' \
	"$TMP/t.out" || fail "the step after skipping failed: $(cat "$TMP/t.out")"

# A step whose version cannot be stored: null id, not promoted, exit 1 and
# one summary line.
sqlite3 "$db" "CREATE TRIGGER no_models BEFORE INSERT ON models BEGIN SELECT RAISE(ABORT, 'refused by test'); END" ||
	fail "creating the trigger"
"$BIN" train --rounds 2 --epochs 1 --json --db "$db" >"$TMP/t.out" 2>"$TMP/t.err"
status=$?
[ $status -eq 1 ] || fail "train with failing steps exited $status, expected 1"
grep -q '^ttypong: 2 of 2 training steps failed' "$TMP/t.err" || fail "no summary line: $(cat "$TMP/t.err")"
python3 - "$TMP/t.out" <<'EOF' || fail "failed step JSON: $(cat "$TMP/t.out")"
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    assert o["status"] == "save failed", o
    assert o["model_id"] is None, o
    assert o["promoted"] is False, o
    assert o["note"].endswith("keeps playing"), o
EOF

# Queries on a missing save fail and create nothing.
"$BIN" models --db "$TMP/typo.db" >/dev/null 2>"$TMP/q.err"
status=$?
[ $status -eq 1 ] || fail "models on a missing save exited $status"
grep -q "no save at $TMP/typo.db; run 'ttypong train' first" "$TMP/q.err" || fail "models message: $(cat "$TMP/q.err")"
"$BIN" eval --db "$TMP/typo2.db" >/dev/null 2>"$TMP/q.err"
status=$?
[ $status -eq 1 ] || fail "eval on a missing save exited $status"
[ ! -e "$TMP/typo.db" ] && [ ! -e "$TMP/typo2.db" ] || fail "a query created a save"
exit 0
