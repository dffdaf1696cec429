#!/bin/sh
# ui: `ttypong play` in an 80x24 terminal shows the HUD with the score, the
# field's box, both paddles and the probability line.
. "$(dirname "$0")/ui_lib.inc"

start 80 24 "$BIN" play --db "$DB"
wait_for '^You 0 : 0 AI +round 1'
screen | grep -q '┌─*┐$' || fail "no top edge of the field"
screen | grep -q '└─*┘$' || fail "no bottom edge of the field"
screen | grep -Eq 'model (fresh|v[0-9]+)' || fail "no model version in the HUD"
[ "$(screen | grep -c '█')" -ge 2 ] || fail "no paddles"
screen | grep -Eq '^AI ' || fail "no AI line under the field"
exit 0
