#!/bin/sh
# ui: p pauses (the screen freezes) and resumes; ? opens and closes the help;
# Alt+key and unknown escape sequences do not count as Esc.
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
screen | grep -q 'Q, Esc' || fail "help lists no quit key"
a=$(screen)
sleep 0.4
[ "$a" = "$(screen)" ] || fail "the game ran behind the help"
tm send-keys -t test '?'
sleep 0.3
screen | grep -q ' Help ' && fail "? did not close the help"

# Alt+q and a CSI sequence curses does not decode are not Esc: no quit.
tm send-keys -t test M-q
tm send-keys -t test -l "$(printf '\033[200~')"
sleep 0.5
screen | grep -q '^EXIT=' && fail "Alt+q or an unknown sequence ended the game"
screen | grep -Eq '^You [0-9]+ : [0-9]+ AI' || fail "the game screen is gone after Alt+q"
screen | grep -q '00~' && fail "the unknown sequence's bytes reached the screen"

# Space pauses too, while a round is in play (between rounds it skips to the
# next round), so try again if a round ended in between.
for try in 1 2 3 4; do
	tm send-keys -t test Space
	sleep 0.5
	screen | grep -q 'PAUSED' && exit 0
done
fail "Space did not pause"
