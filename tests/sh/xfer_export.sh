#!/bin/sh
# export and predict: a version exports as TF.js Layers (with the page on
# request) and as a C header, predictions from the version, its export and
# the compiled header agree, and bad values get one line and the documented
# status.
set -u
cd "$(dirname "$0")/../.."
bin=./ttypong
fixture=tests/data/tfjs/keras3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

. tests/sh/lib/expect.sh

command -v sqlite3 >/dev/null || { echo "sqlite3 is not installed"; exit 77; }

db=$dir/save.db
cat >"$dir/rows.csv" <<'EOF'
ball_x,ball_y,ball_vx,ball_vy,own_y,opp_y
0.1,0.2,0.3,0.4,0.5,0.6
-0.9,0.5,-0.25,0.75,-1,1

0,0,0,0,0,0
1,-1,1,-1,0.5,-0.5
EOF

# A save without a promoted version has nothing to export by default.
expect_status 0 $bin sim --rounds 2 --db "$db"
expect_status 1 $bin export --db "$db"
one_error_line
grep -q "ttypong train" "$dir/err" || fail "error does not point to 'ttypong train': $(cat "$dir/err")"
expect_status 1 $bin predict --db "$db" --input "$dir/rows.csv"
one_error_line

expect_status 0 $bin import "$fixture" --promote --db "$db"
id=$(cat "$dir/out")

# Without --out the export goes beside the save.
expect_status 0 $bin export --db "$db"
[ -f "$dir/model-$id/model.json" ] || fail "default export is not at $dir/model-$id: $(cat "$dir/out")"
grep -q "$dir/model-$id" "$dir/out" || fail "export does not print where it wrote: $(cat "$dir/out")"
meta=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]))["userDefinedMetadata"]["ttypong"]; print(m["model_id"], ",".join(m["features"]), ",".join(m["classes"]))' "$dir/model-$id/model.json")
[ "$meta" = "$id ball_x,ball_y,ball_vx,ball_vy,own_y,opp_y up,stay,down" ] || fail "export metadata is '$meta'"

# With --web the page sits beside the model.
expect_status 0 $bin export --web --out "$dir/web" --db "$db"
for f in model.json group1-shard1of1.bin index.html core.js pong.js vendor/tf.min.js; do
	[ -f "$dir/web/$f" ] || fail "export --web did not write $f"
done
(cd assets/web && find . -type f) | while read -r f; do
	cmp -s "assets/web/$f" "$dir/web/$f" || fail "export --web copied $f wrongly"
done || exit 1

# The version, its export and its model.json predict the same, byte for byte.
expect_status 0 $bin predict --model "$id" --input "$dir/rows.csv" --db "$db"
cp "$dir/out" "$dir/pred.id"
[ "$(wc -l <"$dir/pred.id")" -eq 5 ] || fail "predict printed $(wc -l <"$dir/pred.id") lines for 4 rows"
head -n 1 "$dir/pred.id" | grep -q '^up,stay,down,class$' || fail "predict header is '$(head -n 1 "$dir/pred.id")'"
expect_status 0 $bin predict --model "$dir/web" --input "$dir/rows.csv"
cmp -s "$dir/out" "$dir/pred.id" || fail "predictions from the directory differ from the version's"
expect_status 0 $bin predict --model "$dir/web/model.json" --db "$db" <"$dir/rows.csv"
cmp -s "$dir/out" "$dir/pred.id" || fail "predictions from stdin and model.json differ"
# The default model is the newest promoted version.
expect_status 0 $bin predict --input - --db "$db" <"$dir/rows.csv"
cmp -s "$dir/out" "$dir/pred.id" || fail "predictions of the default model differ"

# Bad rows: one line naming the line and column, status 1.
printf '0.1,0.2,0.3,0.4,0.5,0.6\n0.1,0.2,zero,0.4,0.5,0.6\n' >"$dir/bad.csv"
expect_status 1 $bin predict --model "$dir/web" --input "$dir/bad.csv"
one_error_line
grep -q "bad.csv: line 2, column 3" "$dir/err" || fail "bad row error: $(cat "$dir/err")"
printf '0.1,0.2,0.3\n' | { expect_status 1 $bin predict --model "$dir/web"; }
one_error_line
grep -q "stdin: line 1" "$dir/err" || fail "short row error: $(cat "$dir/err")"
printf 'x,y,vx,vy,a,b\n0,0,0,0,0,0\n' | { expect_status 1 $bin predict --model "$dir/web"; }
one_error_line
grep -q "header column 1 is 'x'" "$dir/err" || fail "bad header error: $(cat "$dir/err")"
expect_status 1 $bin predict --model "$dir/web" --input "$dir/no-such.csv"
one_error_line

# The header gets the mode that the umask gives new files, like the others.
expect_status 0 sh -c "umask 022 && exec $bin export --format c --out '$dir/mode.h' --db '$db'"
[ "$(stat -c %a "$dir/mode.h")" = 644 ] || fail "header mode is $(stat -c %a "$dir/mode.h"), expected 644"
expect_status 0 sh -c "umask 077 && exec $bin export --format c --out '$dir/mode.h' --db '$db'"
[ "$(stat -c %a "$dir/mode.h")" = 600 ] || fail "header mode under umask 077 is $(stat -c %a "$dir/mode.h")"

# The C header computes the same probabilities.
if command -v cc >/dev/null; then
	expect_status 0 $bin export --format c --prefix pong --out "$dir/pong.h" --db "$db"
	cat >"$dir/main.c" <<'EOF'
#include <stdio.h>
#include "pong.h"

int main(void)
{
	float x[6], y[3];

	while (scanf("%f,%f,%f,%f,%f,%f", &x[0], &x[1], &x[2], &x[3], &x[4], &x[5]) == 6) {
		pong_predict(x, y);
		printf("%.9g,%.9g,%.9g\n", y[0], y[1], y[2]);
	}
	return 0;
}
EOF
	cc -std=c11 -Wall -Werror -I"$dir" -o "$dir/pong" "$dir/main.c" -lm || fail "the exported header does not compile"
	sed '1d;/^$/d' "$dir/rows.csv" | "$dir/pong" >"$dir/pred.c"
	cut -d, -f1-3 "$dir/pred.id" | sed 1d | paste -d, - "$dir/pred.c" |
		awk -F, '{ for (i = 1; i <= 3; i++) { d = $i - $(i + 3); if (d < 0) d = -d; if (d > 1e-6) { print "row " NR " class " i ": " $i " vs " $(i + 3); exit 1 } } }' ||
		fail "the C header predicts differently from ttypong predict"
fi

# An export never replaces a directory that contains something other than a model.
mkdir "$dir/keep"
echo data >"$dir/keep/notes.txt"
expect_status 1 $bin export --out "$dir/keep" --db "$db"
one_error_line
[ "$(ls "$dir/keep")" = notes.txt ] || fail "a failed export changed $dir/keep: $(ls "$dir/keep")"

# A model whose metadata names other features is rejected for prediction.
cp -R "$dir/web" "$dir/other"
sed 's/"own_y"/"paddle_y"/' "$dir/web/model.json" >"$dir/other/model.json"
expect_status 1 $bin predict --model "$dir/other" --input "$dir/rows.csv"
one_error_line
grep -q "paddle_y" "$dir/err" || fail "feature mismatch error: $(cat "$dir/err")"

# Versions that are not in the save: status 1, one line.
for args in "export --model 99" "export --format c --model 99 --out $dir/x.h" "predict --model 99"; do
	# shellcheck disable=SC2086 # the arguments are meant to split
	expect_status 1 $bin $args --db "$db"
	one_error_line
	grep -q "99" "$dir/err" || fail "'$args': error does not name the version: $(cat "$dir/err")"
done

# Commands that only read never create a save.
expect_status 1 $bin predict --model 1 --db "$dir/none.db" --input "$dir/rows.csv"
one_error_line
expect_status 1 $bin export --db "$dir/none.db"
one_error_line
[ ! -e "$dir/none.db" ] || fail "a reading command created the save"

# Usage errors: one line plus the pointer to --help, status 2.
for args in "export --format onnx" "export --model x" "export --model 0" "export --model" \
	"export --format csv --web" "export --format csv --model 1" "export --teacher human" \
	"export --format csv --teacher robot" "export --format csv --rounds 0" \
	"export --format c --prefix 9x" "export --format tfjs --prefix p" "export extra" \
	"export --format c --out -" "export --out -" \
	"export --bogus" "predict extra" "predict --bogus" "predict --model -1"; do
	# shellcheck disable=SC2086 # the arguments are meant to split
	expect_status 2 $bin $args --db "$db"
	one_error_line
done
expect_status 2 $bin export --out '' --db "$db"
one_error_line
expect_status 2 $bin predict --model '' --db "$db"
one_error_line

for cmd in export predict; do
	expect_status 0 $bin $cmd --help
	grep -q -- '--model' "$dir/out" || fail "$cmd --help does not describe --model"
done
exit 0
