#!/bin/sh
# ui: play and watch need a terminal on stdin and stdout; without one they
# print one line and exit with status 2. A terminal type that curses does
# not know gives one line, status 1 and no recorded session.
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/ttypong
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

for cmd in play watch; do
	"$BIN" $cmd --db "$TMP/save.db" </dev/null >"$TMP/out" 2>"$TMP/err"
	status=$?
	[ $status -eq 2 ] || { echo "FAIL: $cmd </dev/null exited $status, expected 2"; exit 1; }
	grep -q 'needs a terminal' "$TMP/err" || { echo "FAIL: $cmd printed: $(cat "$TMP/err")"; exit 1; }
	[ "$(wc -l <"$TMP/err")" -eq 1 ] || { echo "FAIL: $cmd printed more than one line"; exit 1; }
done

# stdout to a file while stdin is a terminal needs tmux for the terminal.
command -v tmux >/dev/null 2>&1 || exit 0
sock=ttypong-test-$$
tmux -L "$sock" -f /dev/null new-session -d -x 80 -y 24 \
	"\"$BIN\" play --db \"$TMP/save.db\" >\"$TMP/out\" 2>\"$TMP/err\"; echo \$? >\"$TMP/status\""
tries=50
while [ ! -s "$TMP/status" ] && [ $tries -gt 0 ]; do
	sleep 0.1
	tries=$((tries - 1))
done
tmux -L "$sock" kill-server 2>/dev/null
[ "$(cat "$TMP/status" 2>/dev/null)" = 2 ] || { echo "FAIL: play >file exited '$(cat "$TMP/status" 2>/dev/null)', expected 2"; exit 1; }
grep -q 'needs a terminal' "$TMP/err" || { echo "FAIL: play >file printed: $(cat "$TMP/err")"; exit 1; }

# A terminal type curses does not know: one line, status 1, no session.
rm -f "$TMP/status"
sock=ttypong-test-$$-term
tmux -L "$sock" -f /dev/null new-session -d -x 80 -y 24 \
	"env TERM=no-such-terminal \"$BIN\" play --db \"$TMP/term.db\" 2>\"$TMP/err\"; echo \$? >\"$TMP/status\""
tries=50
while [ ! -s "$TMP/status" ] && [ $tries -gt 0 ]; do
	sleep 0.1
	tries=$((tries - 1))
done
tmux -L "$sock" kill-server 2>/dev/null
[ "$(cat "$TMP/status" 2>/dev/null)" = 1 ] || { echo "FAIL: unknown TERM exited '$(cat "$TMP/status" 2>/dev/null)', expected 1"; exit 1; }
grep -q "TERM='no-such-terminal'" "$TMP/err" || { echo "FAIL: unknown TERM printed: $(cat "$TMP/err")"; exit 1; }
if command -v sqlite3 >/dev/null 2>&1; then
	[ "$(sqlite3 "$TMP/term.db" 'SELECT count(*) FROM sessions')" = 0 ] ||
		{ echo "FAIL: a session was recorded although the UI never started"; exit 1; }
fi
exit 0
