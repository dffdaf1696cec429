#!/bin/sh
# ui: SIGTERM and SIGHUP during play end it cleanly: status 128 + signal,
# session closed, terminal sane.
. "$(dirname "$0")/ui_lib.inc"

start 80 24 "$BIN" play --db "$DB"
wait_for '^You 0 : 0 AI'
pid=$(game_pid)
[ -n "$pid" ] || fail "no ttypong process in the pane"
kill -TERM "$pid"
wait_exit 143
screen | grep -Eq '(^|[ ;])echo( |$)' || fail "stty shows no echo after SIGTERM"
screen | grep -Eq '(^|[ ;])icanon( |$)' || fail "stty shows no icanon after SIGTERM"
[ "$(sql "SELECT count(*) FROM sessions WHERE ended_ms IS NOT NULL")" = 1 ] ||
	fail "SIGTERM left the session open"

stop_server
start 80 24 "$BIN" play --db "$DB"
wait_for '^You 0 : 0 AI'
pid=$(game_pid)
kill -HUP "$pid"
wait_exit 129
[ "$(sql "SELECT count(*) FROM sessions WHERE ended_ms IS NOT NULL")" = 2 ] ||
	fail "SIGHUP left the session open"
exit 0
