#!/bin/sh
# ui: two processes on one save. watch at full speed writes a round every
# fraction of a second while play and a second watch run on the same save;
# each round is written in one short transaction at its end, so neither
# process is locked out for long and all of them keep running. Each then
# quits with status 0 and leaves a closed session with its rounds.
. "$(dirname "$0")/ui_lib.inc"

# Runs COMMAND in the tmux session NAME of the current server, like start.
start_other() {
	name=$1
	shift
	printf '%s\n' "trap : INT; env $LOCALE_ENV TERM=tmux-256color $* ; echo EXIT=\$?; echo END; exec sleep 600" \
		>"$TMPDIR_TEST/run-$name"
	tm new-session -d -s "$name" -x 80 -y 24 "sh $TMPDIR_TEST/run-$name" ||
		fail "tmux could not start session $name"
}

screen_of() {
	tm capture-pane -p -t "$1" 2>/dev/null
}

start 80 24 "$BIN" watch --speed max --seed 1 --db "$DB"
wait_for '^tracker [0-9]+ : [0-9]+ AI' 20
start_other play "$BIN" play --seed 2 --db "$DB"
start_other slow "$BIN" watch --speed 8 --seed 3 --db "$DB"

# About 20 s of sharing: every process must still be on its game screen.
i=0
while [ $i -lt 20 ]; do
	sleep 1
	for s in test play slow; do
		if screen_of "$s" | grep -q '^EXIT='; then
			echo "--- pane $s:"
			screen_of "$s"
			fail "$s exited while another process used the save"
		fi
	done
	i=$((i + 1))
done
screen_of play | grep -Eq '^You [0-9]+ : [0-9]+ AI' || fail "play is not on its game screen"
screen_of slow | grep -Eq '^tracker [0-9]+ : [0-9]+ AI' || fail "the second watch is not on its game screen"

for s in play slow test; do
	tm send-keys -t "$s" q
done
for s in play slow; do
	tries=100
	until screen_of "$s" | grep -q '^EXIT=0$'; do
		tries=$((tries - 1))
		[ $tries -gt 0 ] || { screen_of "$s"; fail "$s did not quit with status 0"; }
		sleep 0.1
	done
done
wait_exit 0

[ "$(sql "SELECT count(*) FROM sessions WHERE ended_ms IS NOT NULL")" = 3 ] ||
	fail "not every process closed its session"
[ "$(sql "SELECT count(DISTINCT session_id) FROM rounds")" -ge 2 ] ||
	fail "rounds of fewer than two processes were saved"
[ "$(sql "SELECT count(*) FROM rounds r WHERE n_frames <> (SELECT count(*) FROM frames f WHERE f.round_id = r.id)")" = 0 ] ||
	fail "a round's frame count does not match its frames"
exit 0
