#!/bin/sh
# ui: `ttypong play` in an 80x24 terminal shows the HUD with the score, the
# field's box, both paddles and the probability line; a terminal of 120
# columns or more also shows the training panel beside the field.
. "$(dirname "$0")/ui_lib.inc"

start 80 24 "$BIN" play --db "$DB"
wait_for '^You 0 : 0 AI +round 1'
screen | grep -q '┌─*┐$' || fail "no top edge of the field"
screen | grep -q '└─*┘$' || fail "no bottom edge of the field"
screen | grep -Eq 'model (fresh|v[0-9]+)' || fail "no model version in the HUD"
[ "$(screen | grep -c '█')" -ge 2 ] || fail "no paddles"
screen | grep -Eq '^AI ' || fail "no AI line under the field"
screen | grep -q 'Training' && fail "the training panel covers the field during play"

# From 120 columns the panel stays beside the field during play.
tm resize-window -t test -x 130 -y 30
wait_for '┐ ┌─ Training ─+┐$'
screen | grep -Eq 'last [0-9]+ versions?:' || fail "the side panel has no chart legend"
exit 0
