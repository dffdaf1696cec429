#!/bin/sh
# ui: colours when the terminal has them; none with NO_COLOR set or on a
# terminal type without colours.
. "$(dirname "$0")/ui_lib.inc"

# has_color: the pane's escape sequences set a foreground colour.
has_color() {
	tm capture-pane -p -e -t test | grep -Eq "$(printf '\033')\\[([0-9;]*;)?3[0-7](;|m)"
}

start 80 24 "$BIN" play --db "$DB"
wait_for '^You 0 : 0 AI'
has_color || fail "no colours on tmux-256color"
stop_server

start 80 24 NO_COLOR=1 "$BIN" play --db "$DB"
wait_for '^You 0 : 0 AI'
has_color && fail "colours despite NO_COLOR=1"
stop_server

start 80 24 TERM=vt100 "$BIN" play --db "$DB"
wait_for '^You 0 : 0 AI'
has_color && fail "colours on vt100, which has none"
exit 0
