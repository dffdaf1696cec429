# Helpers for the shell tests of the binary. Source this file after setting
# dir, a scratch directory, and from the top of the source tree.

fail() {
	echo "FAIL: $*"
	exit 1
}

# expect_status WANT COMMAND...: runs COMMAND with its output in $dir/out and
# $dir/err, and fails unless it exits with WANT.
expect_status() {
	want=$1
	shift
	"$@" >"$dir/out" 2>"$dir/err"
	got=$?
	[ "$got" -eq "$want" ] || fail "'$*' exited $got, expected $want; stderr: $(cat "$dir/err")"
}

# one_error_line: stderr contains one line, not counting the pointer to --help.
one_error_line() {
	lines=$(grep -vc "^Try 'ttypong" "$dir/err")
	[ "$lines" -eq 1 ] || fail "expected one error line, got $lines: $(cat "$dir/err")"
}
