#!/bin/sh
# ui: watch --speed max plays round after round, trains between them,
# records them as a watch session, and q stops it with status 0; watch
# --opponent self puts the network on both sides; with --mc the bars show
# each probability's spread over the MC-dropout passes; + and - step the
# speed through 1000x between 512x and max.
. "$(dirname "$0")/ui_lib.inc"

start 80 24 "$BIN" watch --speed max --db "$DB"
wait_for '^tracker [0-9]+ : [0-9]+ AI'
wait_for 'speed max'
wait_for 'round ([3-9]|[1-9][0-9])' 60
tm send-keys -t test q
wait_exit 0
[ "$(sql "SELECT count(*) FROM sessions WHERE kind = 'watch' AND human_side IS NULL AND ended_ms IS NOT NULL")" = 1 ] ||
	fail "no closed watch session"
[ "$(sql "SELECT count(*) FROM rounds")" -ge 2 ] || fail "fewer than 2 rounds saved"
[ "$(sql "SELECT count(*) FROM models")" -ge 1 ] || fail "no model version trained between rounds"

# The network against itself: both sides are "net" controllers.
stop_server
start 80 24 "$BIN" watch --opponent self --speed 4 --db "$DB"
wait_for '^net [0-9]+ : [0-9]+ AI'
tm send-keys -t test q
wait_exit 0
[ "$(sql "SELECT left_ctrl || ',' || right_ctrl FROM sessions ORDER BY id DESC LIMIT 1")" = "net,net" ] ||
	fail "the self session is not recorded as net against net"

# The speed keys step through 1000x on the way to and from max.
stop_server
start 80 24 "$BIN" watch --speed 512 --db "$DB"
wait_for 'speed 512x'
tm send-keys -t test +
wait_for 'speed 1000x'
tm send-keys -t test +
wait_for 'speed max'
tm send-keys -t test -
wait_for 'speed 1000x'
tm send-keys -t test -
wait_for 'speed 500x'
tm send-keys -t test q
wait_exit 0

# MC dropout: "±N" follows each percentage while the ball is in play.
stop_server
start 80 24 "$BIN" watch --mc 8 --db "$DB"
wait_for '^AI +up.*% ±[0-9]+ +stay.*% ±[0-9]+ +down.*% ±[0-9]+' 20
tm send-keys -t test q
wait_exit 0
exit 0
