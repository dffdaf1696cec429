#!/bin/sh
# ui: watch --speed max plays round after round, records them as a watch
# session, and q stops it with status 0.
. "$(dirname "$0")/ui_lib.inc"

start 80 24 "$BIN" watch --speed max --db "$DB"
wait_for '^tracker [0-9]+ : [0-9]+ AI'
wait_for 'speed max'
wait_for 'round ([3-9]|[1-9][0-9])' 60
tm send-keys -t test q
wait_for '^EXIT=0$'
[ "$(sql "SELECT count(*) FROM sessions WHERE kind = 'watch' AND human_side IS NULL AND ended_ms IS NOT NULL")" = 1 ] ||
	fail "no closed watch session"
[ "$(sql "SELECT count(*) FROM rounds")" -ge 2 ] || fail "fewer than 2 rounds saved"
exit 0
