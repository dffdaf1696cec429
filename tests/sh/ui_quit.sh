#!/bin/sh
# ui: q ends play with status 0, saves the finished rounds, closes the
# session, rolls back the unfinished round and leaves the terminal sane.
. "$(dirname "$0")/ui_lib.inc"

start 80 24 "$BIN" play --db "$DB"
wait_for '^You 0 : 0 AI'
# The first point ends the first round.
wait_for '^You (0 : 1|1 : 0) AI' 30
if screen | grep -q '^You 1 : 0 AI'; then
	first_winner=left
else
	first_winner=right
fi
# Quit in the middle of the second round, which must not be saved.
tm send-keys -t test Space
wait_for '^You [01] : [01] AI +round 2 '
sleep 0.3
screen | grep -q 'Training' && fail "the training panel is still open in round 2"
tm send-keys -t test q
wait_exit 0
screen | grep -Eq '(^|[ ;])echo( |$)' || fail "stty shows no echo after exit"
screen | grep -Eq '(^|[ ;])icanon( |$)' || fail "stty shows no icanon after exit"

[ "$(sql "SELECT count(*) FROM sessions WHERE kind = 'play' AND human_side = 'left' AND ended_ms IS NOT NULL")" = 1 ] ||
	fail "no closed play session in the save"
rounds=$(sql "SELECT count(*) FROM rounds")
[ "$rounds" = 1 ] || fail "$rounds rounds in the save, expected the finished one only"
[ "$(sql "SELECT count(*) FROM rounds WHERE winner IS NULL")" = 0 ] || fail "an unfinished round was saved"
[ "$(sql "SELECT count(*) FROM rounds r WHERE n_frames != (SELECT count(*) FROM frames f WHERE f.round_id = r.id)")" = 0 ] ||
	fail "a round's frame count does not match its frames"
winner=$(sql "SELECT winner FROM rounds ORDER BY id LIMIT 1")
[ "$winner" = "$first_winner" ] || fail "the first round's winner is '$winner', the screen showed $first_winner"

exit 0
