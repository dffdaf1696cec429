#!/bin/sh
# Runs ttypong's test suites and prints one closing line with the totals.
#
#   sh tests/run.sh [c] [node] [sh]     (no argument runs all three)
#
# c     the Criterion runner, built normally and with ASan and UBSan
# node  tests/js/*.test.mjs under node --test, against TF.js from the lock file
# sh    tests/sh/*.sh, each a test of the built ./ttypong; exit 77 means skipped
set -u
cd "$(dirname "$0")/.."

suites=${*:-c node sh}
passed=0
failed=0
skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# count_criterion LOG: adds the numbers of Criterion's "Synthesis" line.
count_criterion() {
	line=$(grep -a 'Synthesis:' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		failed=$((failed + 1))
		return
	fi
	pass=$(echo "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
	fail=$(echo "$line" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
	crash=$(echo "$line" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
	passed=$((passed + pass))
	failed=$((failed + fail + crash))
}

for suite in $suites; do
	case $suite in
	c)
		for variant in release asan; do
			echo "== C tests ($variant build)"
			ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
			UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
				"build/$variant/tests/unit" --jobs 2 >"$log" 2>&1
			status=$?
			cat "$log"
			count_criterion "$log"
			[ $status -eq 0 ] || [ -n "$(grep -a 'Failing: [1-9]\|Crashing: [1-9]' "$log")" ] ||
				failed=$((failed + 1))
		done
		;;
	node)
		files=$(ls tests/js/*.test.mjs 2>/dev/null)
		[ -n "$files" ] || continue
		echo "== Node.js tests"
		# shellcheck disable=SC2086 # one argument per test file
		node --test --test-reporter=tap $files >"$log" 2>&1
		status=$?
		cat "$log"
		pass=$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$log" | tail -n 1)
		fail=$(sed -n 's/^# fail \([0-9]*\)$/\1/p' "$log" | tail -n 1)
		skip=$(sed -n 's/^# skipped \([0-9]*\)$/\1/p' "$log" | tail -n 1)
		passed=$((passed + ${pass:-0}))
		failed=$((failed + ${fail:-1}))
		skipped=$((skipped + ${skip:-0}))
		[ $status -eq 0 ] || [ "${fail:-0}" -gt 0 ] || failed=$((failed + 1))
		;;
	sh)
		for test in tests/sh/*.sh; do
			[ -f "$test" ] || continue
			name=$(basename "$test" .sh)
			sh "$test" >"$log" 2>&1
			status=$?
			if [ $status -eq 0 ]; then
				echo "ok   $name"
				passed=$((passed + 1))
			elif [ $status -eq 77 ]; then
				echo "skip $name: $(tail -n 1 "$log")"
				skipped=$((skipped + 1))
			else
				echo "FAIL $name (exit $status)"
				sed 's/^/    /' "$log"
				failed=$((failed + 1))
			fi
		done
		;;
	*)
		echo "tests/run.sh: unknown suite '$suite'; use c, node or sh" >&2
		exit 2
		;;
	esac
done

echo "all: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
