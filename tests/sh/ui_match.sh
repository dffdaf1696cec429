#!/bin/sh
# ui: a match ends at --points, offers a rematch, and r starts it from 0:0.
. "$(dirname "$0")/ui_lib.inc"

start 80 24 "$BIN" play --points 1 --db "$DB"
wait_for '^You 0 : 0 AI'
wait_for '(You win 1-0|The AI wins 0-1)\.  r: rematch   q: quit' 40
tm send-keys -t test r
wait_for '^You 0 : 0 AI +round 1'
tm send-keys -t test Escape
wait_exit 0
[ "$(sql "SELECT count(*) FROM rounds WHERE winner IN ('left', 'right')")" -ge 1 ] ||
	fail "the match's round is not saved"
exit 0
