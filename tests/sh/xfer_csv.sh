#!/bin/sh
# export --format csv: the save's frames as labelled records, seen from each
# paddle's own view as the trainer sees them, written atomically; and a
# trained version exports, imports and predicts the same.
set -u
cd "$(dirname "$0")/../.."
bin=./ttypong
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

. tests/sh/lib/expect.sh

command -v sqlite3 >/dev/null || { echo "sqlite3 is not installed"; exit 77; }
command -v python3 >/dev/null || { echo "python3 is not installed"; exit 77; }

db=$dir/save.db
header=ball_x,ball_y,ball_vx,ball_vy,own_y,opp_y,label

# A save without rounds has nothing to label.
expect_status 0 $bin import tests/data/tfjs/keras3 --db "$db"
expect_status 1 $bin export --format csv --out "$dir/none.csv" --db "$db"
one_error_line
grep -q "ttypong sim" "$dir/err" || fail "error does not say how to record rounds: $(cat "$dir/err")"
[ ! -e "$dir/none.csv" ] || fail "a failed export wrote the file"

expect_status 0 $bin sim --rounds 4 --seed 11 --left tracker --right random --db "$db"
frames=$(sqlite3 "$db" 'SELECT count(*) FROM frames')

# The human teacher copies the left paddle's recorded moves, one record per
# frame, rounds oldest first, each frame seen from the left paddle's view.
expect_status 0 $bin export --format csv --teacher human --out "$dir/human.csv" --db "$db"
grep -q "human teacher" "$dir/out" || fail "export does not name the teacher: $(cat "$dir/out")"
[ "$(head -n 1 "$dir/human.csv")" = "$header" ] || fail "header is '$(head -n 1 "$dir/human.csv")'"
[ "$(sed 1d "$dir/human.csv" | wc -l)" -eq "$frames" ] ||
	fail "human records: $(sed 1d "$dir/human.csv" | wc -l), frames: $frames"
sqlite3 -csv "$db" 'SELECT ball_x, ball_y, ball_vx, ball_vy, left_y, right_y, move_left FROM frames ORDER BY round_id, frame' >"$dir/frames.csv"
python3 - "$dir/human.csv" "$dir/frames.csv" <<'EOF' || fail "human records do not match the frames"
import csv, sys
records = list(csv.reader(open(sys.argv[1])))[1:]
frames = list(csv.reader(open(sys.argv[2])))
assert len(records) == len(frames), (len(records), len(frames))
# The left paddle's view: x and vx negated, x over 80, y over 45, speeds
# over 200 units/s, paddles over 37 units.
scale = [-80, 45, -200, 200, 37, 37]
for i, (rec, fr) in enumerate(zip(records, frames)):
    for j in range(6):
        want = float(fr[j]) / scale[j]
        assert abs(float(rec[j]) - want) <= 1e-6 * max(1, abs(want)), f'record {i} feature {j}: {rec[j]} vs {want}'
    assert rec[6] == fr[6], f'record {i}: label {rec[6]}, left move {fr[6]}'
EOF

# The hindsight teacher labels both paddles, leaving out frames without a
# target (the ball already past the paddle, or a round cut short).
expect_status 0 $bin export --format csv --out "$dir/all.csv" --db "$db"
records=$(sed 1d "$dir/all.csv" | wc -l)
[ "$records" -gt "$frames" ] && [ "$records" -le $((2 * frames)) ] ||
	fail "hindsight gave $records records for $frames frames of two paddles"
python3 - "$dir/all.csv" <<'EOF' || fail "hindsight records are malformed"
import csv, sys
rows = list(csv.reader(open(sys.argv[1])))[1:]
labels = [int(r[6]) for r in rows]
assert set(labels) == {0, 1, 2}, f'labels seen: {set(labels)}'
for i, r in enumerate(rows):
    assert all(-1 <= float(v) <= 1 for v in r[:6]), f'record {i} out of [-1, 1]: {r}'
EOF

# --rounds keeps the newest rounds; --out - writes to stdout.
last=$(sqlite3 "$db" 'SELECT n_frames FROM rounds ORDER BY id DESC LIMIT 1')
expect_status 0 $bin export --format csv --teacher human --rounds 1 --out - --db "$db"
[ "$(sed 1d "$dir/out" | wc -l)" -eq "$last" ] || fail "--rounds 1 gave $(sed 1d "$dir/out" | wc -l) records, the newest round has $last frames"
sed 1d "$dir/out" >"$dir/newest.csv"
tail -n "$last" "$dir/human.csv" | cmp -s - "$dir/newest.csv" || fail "--rounds 1 is not the newest round"

# Without --out the file goes beside the save and replaces an older one whole.
printf 'old content that is longer than nothing\n' >"$dir/records.csv"
expect_status 0 $bin export --format csv --teacher human --db "$db"
cmp -s "$dir/records.csv" "$dir/human.csv" || fail "the default export differs from --out"
[ "$(ls "$dir" | grep -c 'tmp')" -eq 0 ] || fail "temporary files left: $(ls "$dir")"

# A directory that does not exist: status 1, one line, nothing written.
expect_status 1 $bin export --format csv --out "$dir/no/such/records.csv" --db "$db"
one_error_line
grep -q "$dir/no/such/records.csv" "$dir/err" || fail "error does not name the path: $(cat "$dir/err")"

# A trained version: its export predicts what the version predicts, byte
# for byte, and so does the same export imported again.
expect_status 0 $bin train --rounds 2 --epochs 1 --seed 3 --db "$db"
id=$(sqlite3 "$db" "SELECT max(id) FROM models WHERE kind = 'trained'")
[ -n "$id" ] || fail "train stored no model version"
head -n 200 "$dir/all.csv" | cut -d, -f1-6 >"$dir/rows.csv"
expect_status 0 $bin export --model "$id" --out "$dir/trained" --db "$db"
expect_status 0 $bin predict --model "$id" --input "$dir/rows.csv" --db "$db"
cp "$dir/out" "$dir/pred.version"
expect_status 0 $bin predict --model "$dir/trained" --input "$dir/rows.csv"
cmp -s "$dir/out" "$dir/pred.version" || fail "the export of version $id predicts differently"
expect_status 0 $bin import "$dir/trained" --db "$db"
imported=$(cat "$dir/out")
expect_status 0 $bin predict --model "$imported" --input "$dir/rows.csv" --db "$db"
cmp -s "$dir/out" "$dir/pred.version" || fail "the import of version $id predicts differently"
exit 0
