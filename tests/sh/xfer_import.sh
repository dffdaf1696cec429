#!/bin/sh
# import: a TF.js model becomes a model version whose weights survive export
# and import bit for bit, and every rejected model gets one error line,
# status 1 and a save whose files are byte for byte as before.
set -u
cd "$(dirname "$0")/../.."
bin=./ttypong
fixture=tests/data/tfjs/keras3
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

. tests/sh/lib/expect.sh

command -v sqlite3 >/dev/null || { echo "sqlite3 is not installed"; exit 77; }
command -v sha256sum >/dev/null || { echo "sha256sum is not installed"; exit 77; }

# save_digest: the SHA-256 of the save and of its WAL, if any. Only files
# that hold rows count: SQLite may rewrite the -shm index at any open.
save_digest() {
	cat "$db" "$db-wal" 2>/dev/null | sha256sum
}

db=$dir/save.db
printf '0.1,0.2,0.3,0.4,0.5,0.6\n-0.9,0.5,-0.25,0.75,-1,1\n0,0,0,0,0,0\n' >"$dir/rows.csv"

# A model without metadata imports, unpromoted unless asked.
expect_status 0 $bin import "$fixture" --db "$db"
first=$(cat "$dir/out")
[ "$first" = 1 ] || fail "first import printed '$first', expected the id 1"
row=$(sqlite3 "$db" "SELECT kind, promoted, note FROM models WHERE id = $first")
[ "$row" = "imported|0|$fixture" ] || fail "stored row is '$row'"
expect_status 0 $bin import "$fixture/model.json" --promote --name 'keras 3 fixture' --db "$db"
second=$(cat "$dir/out")
row=$(sqlite3 "$db" "SELECT kind, promoted, note FROM models WHERE id = $second")
[ "$row" = "imported|1|keras 3 fixture" ] || fail "promoted import stored '$row'"

# Export, then import the export: the stored network is the same bytes, and
# so are the predictions.
expect_status 0 $bin export --model "$first" --out "$dir/exported" --db "$db"
[ -f "$dir/exported/model.json" ] || fail "export wrote no model.json"
expect_status 0 $bin import "$dir/exported" --db "$db"
third=$(cat "$dir/out")
blobs=$(sqlite3 "$db" "SELECT count(DISTINCT hex(weights)) FROM models WHERE id IN ($first, $third)")
[ "$blobs" -eq 1 ] || fail "versions $first and $third store different networks"
expect_status 0 $bin predict --model "$first" --input "$dir/rows.csv" --db "$db"
cp "$dir/out" "$dir/pred.first"
expect_status 0 $bin predict --model "$third" --input "$dir/rows.csv" --db "$db"
cmp -s "$dir/out" "$dir/pred.first" || fail "predictions of versions $first and $third differ"
source_id=$(sqlite3 "$db" "SELECT json_extract(config_json, '$.import.model_id') FROM models WHERE id = $third")
[ "$source_id" = "$first" ] || fail "config of version $third records source model id '$source_id'"

# Malformed models, each written into its own directory.
bad=$dir/bad
mkdir "$bad"
make_case() {
	mkdir "$bad/$1"
	cp "$dir/exported/model.json" "$dir/exported/group1-shard1of1.bin" "$bad/$1/"
}
# edit_json CASE PYTHON: runs the Python statements PYTHON on m, the
# case's parsed model.json.
edit_json() {
	python3 - "$bad/$1/model.json" "$2" <<'EOF'
import json, sys
path, code = sys.argv[1], sys.argv[2]
with open(path) as f:
    m = json.load(f)
exec(code)
with open(path, 'w') as f:
    json.dump(m, f)
EOF
}
command -v python3 >/dev/null || { echo "python3 is not installed"; exit 77; }

make_case json
printf '{"format": "layers-model", "modelTopology": ' >"$bad/json/model.json"
make_case graph
edit_json graph "m['format'] = 'graph-model'; m['modelTopology'] = {'node': []}"
make_case conv
edit_json conv "m['modelTopology']['config']['layers'][0]['class_name'] = 'Conv2D'"
make_case inputs
edit_json inputs "m['modelTopology']['config']['layers'][0]['config']['batch_input_shape'] = [None, 5]"
make_case outputs
edit_json outputs "m['modelTopology']['config']['layers'][-1]['config']['units'] = 4"
make_case short
head -c 100 "$dir/exported/group1-shard1of1.bin" >"$bad/short/group1-shard1of1.bin"
make_case long
printf 'xxxx' >>"$bad/long/group1-shard1of1.bin"
make_case nofile
rm "$bad/nofile/group1-shard1of1.bin"
make_case escape
edit_json escape "m['weightsManifest'][0]['paths'] = ['../../exported/group1-shard1of1.bin']"
make_case missing
edit_json missing "m['weightsManifest'][0]['weights'].pop()"
make_case dtype
edit_json dtype "m['weightsManifest'][0]['weights'][0]['dtype'] = 'int32'"
make_case features
edit_json features "m['userDefinedMetadata']['ttypong']['features'][4] = 'paddle_y'"
make_case classes
edit_json classes "m['userDefinedMetadata']['ttypong']['classes'] = ['down', 'stay', 'up']"

# expected error text for each case
expect_text() {
	case $1 in
	json) echo 'JSON' ;;
	graph) echo 'Layers model\|layers-model\|graph' ;;
	conv) echo 'Conv2D' ;;
	inputs | outputs) echo 'input\|output\|shape' ;;
	short | long) echo 'bytes\|short\|long\|size' ;;
	nofile) echo 'group1-shard1of1.bin' ;;
	escape) echo 'beside model.json' ;;
	missing) echo 'missing\|bias\|kernel' ;;
	dtype) echo 'int32\|dtype' ;;
	features) echo 'paddle_y' ;;
	classes) echo "class 0 'down'" ;;
	esac
}

models_before=$(sqlite3 "$db" 'SELECT count(*) FROM models')
for case in json graph conv inputs outputs short long nofile escape missing dtype features classes "nothing-here"; do
	before=$(save_digest)
	expect_status 1 $bin import "$bad/$case" --db "$db"
	one_error_line
	after=$(save_digest)
	[ "$before" = "$after" ] || fail "rejected import '$case' changed the save's files"
	grep -q "$bad/$case" "$dir/err" || fail "error for '$case' does not name the path: $(cat "$dir/err")"
	if [ "$case" != nothing-here ]; then
		grep -q "$(expect_text "$case")" "$dir/err" ||
			fail "error for '$case' does not say what is wrong: $(cat "$dir/err")"
	fi
	models=$(sqlite3 "$db" 'SELECT count(*) FROM models')
	[ "$models" -eq "$models_before" ] || fail "rejected import '$case' stored a model"
done

# A rejected model does not create a save that did not exist.
expect_status 1 $bin import "$bad/conv" --db "$dir/new.db"
[ ! -e "$dir/new.db" ] || fail "a rejected import created the save"

# A save that is not a ttypong save stays as it was.
printf 'not a database\n' >"$dir/text.db"
cp "$dir/text.db" "$dir/text.copy"
expect_status 1 $bin import "$fixture" --db "$dir/text.db"
one_error_line
cmp -s "$dir/text.db" "$dir/text.copy" || fail "import changed a file that is not a save"

# Usage errors: one line plus the pointer to --help, status 2.
for args in "import" "import a b" "import --bogus x" "import x --name" "import x --name ''"; do
	# shellcheck disable=SC2086 # the arguments are meant to split
	eval "expect_status 2 $bin $args --db '$db'"
	one_error_line
done
# A path that is not UTF-8 is stored with its bad bytes escaped, so that
# models --json stays valid JSON.
odd=$(printf '%s/bad\377\376name' "$dir")
cp -r tests/data/tfjs/keras3 "$odd"
expect_status 0 $bin import "$odd" --db "$dir/odd.db"
expect_status 0 $bin models --json --db "$dir/odd.db"
python3 -c 'import json, sys
for line in open(sys.argv[1], "rb").read().decode("utf-8").splitlines():
    if line.strip():
        json.loads(line)' "$dir/out" || fail "models --json is not valid UTF-8 JSON: $(cat "$dir/out")"
grep -q 'bad\\\\xFF\\\\xFEname' "$dir/out" || fail "the escaped path is missing: $(cat "$dir/out")"

expect_status 0 $bin import --help
grep -q -- '--promote' "$dir/out" || fail "import --help does not describe --promote"
exit 0
