#!/bin/sh
# `ttypong train --dropout NAME[:RATE] --mc N`: every variant trains and
# plays, and an invalid value exits 2 with one message naming it.
cd "$(dirname "$0")/../.." || exit 1
bin=./ttypong
[ -x "$bin" ] || { echo "build ./ttypong first"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for spec in none dropout:0.2 alpha gaussian spatial dropconnect concrete variational:0.3; do
	db="$work/$(echo "$spec" | tr ':.' '__').db"
	"$bin" train --rounds 1 --epochs 1 --dropout "$spec" --mc 3 --json --db "$db" \
		>"$work/out" 2>"$work/err" || { echo "train --dropout $spec failed: $(cat "$work/err")"; exit 1; }
	grep -q '"round":1' "$work/out" || { echo "no round line for $spec: $(cat "$work/out")"; exit 1; }
done

"$bin" train --dropout alpha:1 --db "$work/bad.db" 2>"$work/err"
status=$?
[ $status -eq 2 ] || { echo "--dropout alpha:1 exited $status, expected 2"; exit 1; }
grep -q "invalid dropout 'alpha:1'" "$work/err" || { echo "unclear message: $(cat "$work/err")"; exit 1; }
exit 0
