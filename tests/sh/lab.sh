#!/bin/sh
# `ttypong lab`: JSON lines for every setting, ASCII charts in the C locale,
# the defaults in the help, and exit status 2 with one message for bad
# options.
cd "$(dirname "$0")/../.." || exit 1
bin=./ttypong
[ -x "$bin" ] || { echo "build ./ttypong first"; exit 77; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT

"$bin" lab --json --epochs 2 --rounds 1 --history 2 >"$out" 2>/dev/null || { echo "lab --json failed"; exit 1; }
lines=$(wc -l <"$out")
[ "$lines" -eq 9 ] || { echo "expected 9 JSON lines, got $lines"; exit 1; }
python3 -c '
import json, sys
for n, line in enumerate(open(sys.argv[1])):
    o = json.loads(line)
    assert len(o["train_loss"]) == 2, "line %d: %r" % (n, o["train_loss"])
' "$out" || { echo "invalid JSON lines"; exit 1; }

LC_ALL=C "$bin" lab --epochs 1 --rounds 1 >"$out" 2>/dev/null || { echo "lab failed"; exit 1; }
if LC_ALL=C grep -q '[^ -~]' "$out"; then
	echo "non-ASCII output in the C locale"
	exit 1
fi
grep -q '^setting ' "$out" || { echo "no table in the text output"; exit 1; }

# The help shows the defaults that lab_opts_default() sets.
"$bin" lab --help >"$out" || { echo "lab --help failed"; exit 1; }
grep -q -- '--rounds N .*(30)$' "$out" || { echo "--rounds default in the help is not 30: $(grep -- --rounds "$out")"; exit 1; }
grep -q -- '--epochs E .*(40)$' "$out" || { echo "--epochs default in the help is not 40"; exit 1; }

"$bin" lab --rounds 0 2>"$out"
status=$?
[ $status -eq 2 ] || { echo "--rounds 0 exited $status, expected 2"; exit 1; }
grep -q "invalid value '0' for --rounds" "$out" || { echo "unclear message: $(cat "$out")"; exit 1; }
exit 0
