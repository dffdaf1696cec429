#!/bin/sh
# Runs every bench program and prints its figures, then ttypong's figures
# divided by each peer's, as "ratio_<figure>_vs_<peer> value x".
#
#   sh tests/bench/run.sh        (make bench builds the C programs first)
#
# Every executable in build/release/tests/bench runs in turn, so a new C bench
# only needs a tests/bench/<name>.c that prints "name value unit" lines; each
# other tests/bench/*.sh script runs after them in the same way. The
# peers are nn_bench.mjs (TF.js cpu and wasm backends) and nn_bench_torch.py
# (PyTorch, one thread); a peer that cannot run prints a "skipped" line.
# A ratio above 1 means ttypong is faster: figures in ns are divided the other
# way round. Nothing here passes or fails on speed.
set -u
cd "$(dirname "$0")/../.."

bench_dir=build/release/tests/bench
figures=$(mktemp)
trap 'rm -f "$figures"' EXIT

# record SOURCE: copies "name value unit" lines from stdin to stdout and
# appends them to the figures file as "SOURCE name value unit".
record() {
	while IFS= read -r line; do
		echo "$line"
		case $line in
		*skipped*) continue ;;
		esac
		echo "$line" | awk -v src="$1" 'NF == 3 && $2 ~ /^[0-9.eE+-]+$/ { print src, $0 }' >>"$figures"
	done
}

found=0
for prog in "$bench_dir"/*; do
	[ -f "$prog" ] && [ -x "$prog" ] || continue
	found=1
	echo "== $(basename "$prog") (ttypong)"
	"$prog" | record ttypong
done
# Bench scripts (ui_cpu.sh and the like) measure the built ./ttypong itself.
for script in tests/bench/*.sh; do
	[ "$(basename "$script")" = run.sh ] && continue
	[ -f "$script" ] || continue
	echo "== $(basename "$script") (ttypong)"
	sh "$script" | record ttypong
done

if [ $found -eq 0 ]; then
	echo "run.sh: no bench programs in $bench_dir; run make bench" >&2
	exit 1
fi

if command -v node >/dev/null 2>&1 && [ -d tests/node_modules/@tensorflow/tfjs ]; then
	for backend in cpu wasm; do
		echo "== nn_bench.mjs (TF.js $backend backend)"
		node tests/bench/nn_bench.mjs "$backend" 2>/dev/null | record "tfjs_$backend"
	done
else
	echo "== nn_bench.mjs: skipped, node or tests/node_modules is missing"
fi

# Debian's python3-torch serves /usr/bin/python3, which may differ from the
# python3 first on PATH.
echo "== nn_bench_torch.py (PyTorch, one thread)"
python=
for candidate in python3 /usr/bin/python3; do
	if "$candidate" -c 'import torch' >/dev/null 2>&1; then
		python=$candidate
		break
	fi
done
if [ -n "$python" ]; then
	"$python" tests/bench/nn_bench_torch.py | record torch
else
	echo "nn_bench_torch: skipped, no python3 can import torch"
fi

echo "== ratios (ttypong / peer; above 1 means ttypong is faster)"
awk '
	$1 == "ttypong" { ours[$2] = $3; unit[$2] = $4; next }
	{ peer[$1 " " $2] = $3; if (!($1 in seen)) { seen[$1] = 1; peers[++npeers] = $1 } }
	END {
		for (p = 1; p <= npeers; p++)
			for (key in ours) {
				theirs = peer[peers[p] " " key]
				if (theirs == "" || theirs + 0 == 0 || ours[key] + 0 == 0 || key ~ /_flop$/)
					continue
				r = unit[key] == "ns" ? theirs / ours[key] : ours[key] / theirs
				printf "ratio_%s_vs_%s %.2f x\n", key, peers[p], r
			}
	}' "$figures" | sort
