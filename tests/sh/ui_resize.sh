#!/bin/sh
# ui: a resize to 40x15 and back re-lays out and keeps playing; below 40x15
# the game pauses behind a message and resumes when the window grows.
. "$(dirname "$0")/ui_lib.inc"

start 80 24 "$BIN" watch --speed 4 --db "$DB"
wait_for '^tracker 0 : 0 AI'

tm resize-window -t test -x 40 -y 15
wait_for '^└─{38}┘$'
a=$(screen)
sleep 0.5
[ "$a" != "$(screen)" ] || fail "the game stopped at 40x15"
[ "$(screen | wc -l)" -eq 15 ] || fail "pane is not 15 rows"

tm resize-window -t test -x 30 -y 10
wait_for 'Terminal too small'
screen | grep -q 'enlarge it to 40x15' || fail "the message does not name the minimum size"
a=$(screen)
sleep 0.5
[ "$a" = "$(screen)" ] || fail "the screen changed while too small"

# At 10x5 a shorter message keeps the needed size whole.
tm resize-window -t test -x 10 -y 5
wait_for '^ *Too small'
screen | grep -q 'need 40x15' || fail "the message at 10x5 does not name the minimum size"

tm resize-window -t test -x 80 -y 24
wait_for '^└─{78}┘$'
screen | grep -q 'Terminal too small' && fail "the message stayed after growing"
a=$(screen)
sleep 0.5
[ "$a" != "$(screen)" ] || fail "the game did not resume after growing"
exit 0
