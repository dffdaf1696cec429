#!/bin/sh
# ui: p pauses (the screen freezes) and resumes; ? opens and closes the help.
. "$(dirname "$0")/ui_lib.inc"

start 80 24 "$BIN" play --db "$DB"
wait_for '^You 0 : 0 AI'
sleep 0.7	# past the serve wait, so the ball moves

tm send-keys -t test p
wait_for 'PAUSED'
a=$(screen)
sleep 0.5
b=$(screen)
[ "$a" = "$b" ] || fail "the screen changed while paused"

tm send-keys -t test p
tries=50
while [ $tries -gt 0 ] && screen | grep -q PAUSED; do
	sleep 0.1
	tries=$((tries - 1))
done
screen | grep -q PAUSED && fail "p did not resume"
a=$(screen)
sleep 0.3
[ "$a" != "$(screen)" ] || fail "the game did not move after resuming"

tm send-keys -t test '?'
wait_for 'Help'
screen | grep -q 'Q / Esc' || fail "help lists no quit key"
a=$(screen)
sleep 0.4
[ "$a" = "$(screen)" ] || fail "the game ran behind the help"
tm send-keys -t test '?'
sleep 0.3
screen | grep -q ' Help ' && fail "? did not close the help"

# Space pauses too.
tm send-keys -t test Space
wait_for 'PAUSED'
exit 0
