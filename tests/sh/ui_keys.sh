#!/bin/sh
# ui: W and S move the left paddle, a held key (a stream of repeats) keeps
# it moving to the wall, it stops once the repeats stop, and the arrow keys
# work too. A phase that a scored point interrupts is tried again.
. "$(dirname "$0")/ui_lib.inc"

top_row() {
	left_paddle_rows | head -n 1
}

bottom_row() {
	left_paddle_rows | tail -n 1
}

# hold KEY SECONDS: sends KEY every 40 ms, as a keyboard's auto-repeat does.
hold() {
	n=$(awk "BEGIN { print int($2 / 0.04) }")
	while [ "$n" -gt 0 ]; do
		tm send-keys -t test "$1"
		sleep 0.04
		n=$((n - 1))
	done
}

# Leaves the training panel of a finished round, if it is open.
resume_play() {
	if screen | grep -q 'Training'; then
		tm send-keys -t test Space
		tries=30
		while screen | grep -q 'Training' && [ $tries -gt 0 ]; do
			sleep 0.1
			tries=$((tries - 1))
		done
	fi
}

interrupted() {
	screen | grep -q 'Training'
}

start 80 24 "$BIN" play --ascii --db "$DB"
wait_for '^You 0 : 0 AI'
[ -n "$(top_row)" ] || fail "no left paddle in column 4"

for try in 1 2 3; do
	resume_play
	hold w 1
	row=$(top_row)
	interrupted || break
done
[ "$row" -eq 2 ] || fail "held W: paddle top at row $row, expected the top wall (row 2)"

for try in 1 2 3; do
	resume_play
	hold s 1
	row=$(bottom_row)
	interrupted || break
done
[ "$row" -eq 21 ] || fail "held S: paddle bottom at row $row, expected the bottom wall (row 21)"

# One press moves it for the hold window, then it stops and stays.
for try in 1 2 3; do
	resume_play
	before=$(top_row)
	tm send-keys -t test w
	sleep 0.9
	a=$(top_row)
	sleep 0.5
	b=$(top_row)
	interrupted || break
done
[ "$a" -lt "$before" ] || fail "one W press did not move the paddle up (row $a, was $before)"
[ "$a" -eq "$b" ] || fail "paddle kept moving after the key was released: row $a then $b"

for try in 1 2 3; do
	resume_play
	before=$(top_row)
	tm send-keys -t test Down
	sleep 0.3
	c=$(top_row)
	tm send-keys -t test Up
	sleep 0.3
	d=$(top_row)
	interrupted || break
done
[ "$c" -gt "$before" ] || fail "Down did not move the paddle (row $c, was $before)"
[ "$d" -lt "$c" ] || fail "Up did not move the paddle (row $d, was $c)"
exit 0
