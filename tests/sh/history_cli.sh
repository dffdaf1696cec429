#!/bin/sh
# `ttypong train --history K`: a fresh network sees K frames per decision,
# the stored version keeps K (eval and a later train recover it from the
# network's input width and warn when --history asks for another), and the
# same seed repeats the run.
cd "$(dirname "$0")/../.." || exit 1
bin=./ttypong
[ -x "$bin" ] || { echo "build ./ttypong first"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for run in a b; do
	"$bin" train --rounds 2 --epochs 1 --history 4 --dropout spatial --json --seed 3 \
		--db "$work/$run.db" >"$work/$run.out" 2>"$work/$run.err" ||
		{ echo "train --history 4 failed: $(cat "$work/$run.err")"; exit 1; }
done
grep -q '"round":2' "$work/a.out" || { echo "no line for round 2: $(cat "$work/a.out")"; exit 1; }
[ ! -s "$work/a.err" ] || { echo "a fresh network warned: $(cat "$work/a.err")"; exit 1; }
sed 's/"train_ms":[0-9.]*,"fit_ms":[0-9.]*,//' "$work/a.out" >"$work/a.cmp"
sed 's/"train_ms":[0-9.]*,"fit_ms":[0-9.]*,//' "$work/b.out" >"$work/b.cmp"
cmp -s "$work/a.cmp" "$work/b.cmp" || { echo "two runs with seed 3 differ"; diff "$work/a.cmp" "$work/b.cmp"; exit 1; }

"$bin" eval --model 2 --rounds 3 --json --db "$work/a.db" >"$work/eval.out" 2>"$work/eval.err" ||
	{ echo "eval of a history-4 version failed: $(cat "$work/eval.err")"; exit 1; }
grep -q '"model_id":2' "$work/eval.out" || { echo "eval printed: $(cat "$work/eval.out")"; exit 1; }

"$bin" train --rounds 1 --epochs 1 --history 2 --db "$work/a.db" >"$work/more.out" 2>"$work/more.err" ||
	{ echo "train on a history-4 version failed: $(cat "$work/more.err")"; exit 1; }
grep -q "warning: --history shapes only a fresh network; model version 2 keeps its layers and its history of 4 frames" \
	"$work/more.err" || { echo "no warning about --history: $(cat "$work/more.err")"; exit 1; }

"$bin" train --history 33 --db "$work/bad.db" 2>"$work/err"
status=$?
[ $status -eq 2 ] || { echo "--history 33 exited $status, expected 2"; exit 1; }
grep -q "invalid value '33' for --history: expected an integer from 1 to 32" "$work/err" ||
	{ echo "unclear message: $(cat "$work/err")"; exit 1; }
exit 0
