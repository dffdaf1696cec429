#!/bin/sh
# train: two runs with the same seed and --epochs on fresh saves store the
# same weights blobs; eval and models read them back.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/ttypong
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

command -v sqlite3 >/dev/null 2>&1 || { echo "sqlite3 command not found"; exit 77; }

for run in a b; do
	"$BIN" train --rounds 3 --seed 7 --epochs 2 --json --db "$TMP/$run.db" >"$TMP/$run.out" 2>"$TMP/$run.err" ||
		{ echo "FAIL: train run $run exited $?: $(cat "$TMP/$run.err")"; exit 1; }
	[ "$(wc -l <"$TMP/$run.out")" -eq 3 ] || { echo "FAIL: run $run printed $(wc -l <"$TMP/$run.out") lines, expected 3"; exit 1; }
	sqlite3 "$TMP/$run.db" 'SELECT id, hex(weights) FROM models ORDER BY id' >"$TMP/$run.blobs"
done
[ "$(wc -l <"$TMP/a.blobs")" -eq 3 ] || { echo "FAIL: expected 3 model versions, got $(wc -l <"$TMP/a.blobs")"; exit 1; }
cmp -s "$TMP/a.blobs" "$TMP/b.blobs" || { echo "FAIL: the two runs stored different weights"; exit 1; }

# Every JSON line carries the stable keys.
for key in round records return_rate train_loss val_loss val_acc train_ms model_id promoted; do
	grep -q "\"$key\":" "$TMP/a.out" || { echo "FAIL: train --json lacks \"$key\""; exit 1; }
done

"$BIN" eval --model 3 --rounds 5 --seed 2 --json --db "$TMP/a.db" >"$TMP/eval.out" 2>"$TMP/eval.err" ||
	{ echo "FAIL: eval exited $?: $(cat "$TMP/eval.err")"; exit 1; }
for key in return_rate ci_low ci_high rounds; do
	grep -q "\"$key\":" "$TMP/eval.out" || { echo "FAIL: eval --json lacks \"$key\": $(cat "$TMP/eval.out")"; exit 1; }
done
rate=$(sqlite3 "$TMP/a.db" 'SELECT return_rate IS NOT NULL FROM models WHERE id = 3')
[ "$rate" = 1 ] || { echo "FAIL: eval did not store the return rate on version 3"; exit 1; }

[ "$("$BIN" models --json --db "$TMP/a.db" | wc -l)" -eq 3 ] || { echo "FAIL: models --json should list 3 versions"; exit 1; }

"$BIN" train --rounds 1 --epochs 1 --train-ms 5 --db "$TMP/c.db" >/dev/null 2>"$TMP/c.err"
[ $? -eq 2 ] || { echo "FAIL: --epochs with --train-ms should be a usage error"; exit 1; }
"$BIN" eval --model 99 --rounds 1 --db "$TMP/a.db" >/dev/null 2>"$TMP/d.err"
[ $? -eq 1 ] || { echo "FAIL: eval of a missing version should fail with 1"; exit 1; }
grep -q '99' "$TMP/d.err" || { echo "FAIL: the error should name version 99: $(cat "$TMP/d.err")"; exit 1; }
exit 0
