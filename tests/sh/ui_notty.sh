#!/bin/sh
# ui: play and watch need a terminal on stdin and stdout; without one they
# print one line and exit with status 2. Start-up failures with a terminal
# (an unknown TERM, TERM=dumb, a model version not in the save) print one line, exit
# with status 1 and record no session.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=${TTYPONG_BIN:-$ROOT/ttypong}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

for cmd in play watch; do
	"$BIN" $cmd --db "$TMP/save.db" </dev/null >"$TMP/out" 2>"$TMP/err"
	status=$?
	[ $status -eq 2 ] || { echo "FAIL: $cmd </dev/null exited $status, expected 2"; exit 1; }
	grep -q 'needs a terminal' "$TMP/err" || { echo "FAIL: $cmd printed: $(cat "$TMP/err")"; exit 1; }
	[ "$(wc -l <"$TMP/err")" -eq 1 ] || { echo "FAIL: $cmd printed more than one line"; exit 1; }
done

# The rest needs a terminal on stdin, which tmux provides.
command -v tmux >/dev/null 2>&1 || exit 0

# in_terminal N SHELL-COMMAND: runs the command in a tmux pane and stores
# its exit status in $TMP/status.N.
in_terminal() {
	sock=ttypong-test-$$-$1
	rm -f "$TMP/status.$1"
	tmux -L "$sock" -f /dev/null new-session -d -x 80 -y 24 "$2; echo \$? >\"$TMP/status.$1\""
	tries=100
	while [ ! -s "$TMP/status.$1" ] && [ $tries -gt 0 ]; do
		sleep 0.1
		tries=$((tries - 1))
	done
	tmux -L "$sock" kill-server 2>/dev/null
	cat "$TMP/status.$1" 2>/dev/null
}

# expect N STATUS PATTERN: the run N exited with STATUS and its stderr
# ($TMP/err.N) is one line matching PATTERN.
expect() {
	got=$(cat "$TMP/status.$1" 2>/dev/null)
	[ "$got" = "$2" ] || { echo "FAIL: run $1 exited '$got', expected $2: $(cat "$TMP/err.$1")"; exit 1; }
	grep -q -- "$3" "$TMP/err.$1" || { echo "FAIL: run $1 printed: $(cat "$TMP/err.$1")"; exit 1; }
}

in_terminal 1 "\"$BIN\" play --db \"$TMP/save.db\" >\"$TMP/out\" 2>\"$TMP/err.1\"" >/dev/null
expect 1 2 'needs a terminal'

in_terminal 2 "env TERM=no-such-terminal \"$BIN\" play --db \"$TMP/term.db\" 2>\"$TMP/err.2\"" >/dev/null
expect 2 1 "TERM='no-such-terminal'"

in_terminal 3 "\"$BIN\" watch --model 999 --db \"$TMP/model.db\" 2>\"$TMP/err.3\"" >/dev/null
expect 3 1 '999'

# TERM=dumb is a known type, but it cannot move the cursor to draw a field.
in_terminal 4 "env TERM=dumb \"$BIN\" play --db \"$TMP/dumb.db\" 2>\"$TMP/err.4\"" >/dev/null
expect 4 1 "TERM='dumb' is unknown or unusable"
[ "$(wc -l <"$TMP/err.4")" -eq 1 ] || { echo "FAIL: TERM=dumb printed more than one line"; exit 1; }

if command -v sqlite3 >/dev/null 2>&1; then
	for db in term model dumb; do
		[ "$(sqlite3 "$TMP/$db.db" 'SELECT count(*) FROM sessions')" = 0 ] ||
			{ echo "FAIL: a session was recorded although the UI never started ($db)"; exit 1; }
	done
fi
exit 0
