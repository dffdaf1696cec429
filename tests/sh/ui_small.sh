#!/bin/sh
# ui: at the smallest size, 40x15, the training panel stays inside the
# field's frame and its labels are shortened, never cut inside a number; the
# loss axis of a fresh save starts at 0 or above; and the help of play and
# watch fits whole at 40x15 and 80x24.
. "$(dirname "$0")/ui_lib.inc"

# help_whole LINE...: every LINE is on the screen, followed by spaces and
# the help box's border.
help_whole() {
	for line in "$@"; do
		screen | grep -Fq "│ $line" || fail "the help line '$line' is missing"
		screen | grep -F "│ $line" | grep -Eq "$(printf '%s' "$line" | sed 's/[].[*^$()+?{}|\\]/\\&/g') *│" ||
			fail "the help line '$line' is cut"
	done
}

start 40 15 "$BIN" watch --speed 4 --seed 5 --db "$DB"
wait_for 'Training' 40
tm send-keys -t test p
wait_for 'PAUSED'
wait_for 'Training'
frame_top=$(screen | sed -n 2p)
frame_bottom=$(screen | sed -n 14p)
printf '%s\n' "$frame_top" | grep -Eq '^┌─+┐$' || fail "the panel covers the field's top border: $frame_top"
printf '%s\n' "$frame_bottom" | grep -Eq '^└─+┘$' || fail "the panel covers the field's bottom border: $frame_bottom"
screen | grep -Eq '^│ │ loss( \([0-9]+\.[0-9]{2} to [0-9]+\.[0-9]{2}\)| [0-9]+\.[0-9]{2}-[0-9]+\.[0-9]{2})? ' ||
	fail "the loss label is cut or missing"
screen | grep -Eq 'loss \(-|loss -' && fail "the loss axis starts below 0"
screen | grep -Eq '^│ │ (v[0-9]+ .*\((not )?promoted\)|epoch [0-9]+: .*[0-9]|no labelled frames yet|training\.\.\.) +│ │$' ||
	fail "the training status line is cut"
screen | grep -Eq 'val +│ │$' || fail "the legend touches the panel's border"

tm send-keys -t test '?'
wait_for ' Help '
help_whole "+ / -     faster / slower" "Q, Esc    quit (drops the round)" \
	"          Space skips the wait"
# A taller window keeps the exit status and stty output on the screen.
tm resize-window -t test -x 80 -y 30
tm send-keys -t test q
wait_exit 0

for size in "40 15" "80 24"; do
	stop_server
	start $size "$BIN" play --db "$DB"
	wait_for '^You 0 : 0 AI'
	tm send-keys -t test '?'
	wait_for ' Help '
	help_whole "Q, Esc    quit (drops the round)" "          Space skips the wait" \
		"After a match: R, Y or Enter" "rematch, N or Q quits."
	tm resize-window -t test -x 80 -y 30
	tm send-keys -t test q
	wait_exit 0
done
exit 0
