#!/bin/sh
# ui: Ctrl-C ends play with status 130, and a crash (SIGSEGV, SIGABRT) still
# restores the terminal before the process dies of the signal. Signals that
# end a process by default and that the game has no use for (SIGUSR1,
# SIGALRM, SIGUSR2) end it cleanly too; SIGPIPE is ignored.
. "$(dirname "$0")/ui_lib.inc"

sane() {
	screen | grep -Eq '(^|[ ;])echo( |$)' || fail "stty shows no echo ($1)"
	screen | grep -Eq '(^|[ ;])icanon( |$)' || fail "stty shows no icanon ($1)"
	screen | grep -q 'Terminal too small\|^You ' && fail "the game screen stayed ($1)"
}

start 80 24 "$BIN" play --db "$DB"
wait_for '^You 0 : 0 AI'
tm send-keys -t test C-c
wait_exit 130
sane "Ctrl-C"
[ "$(sql "SELECT count(*) FROM sessions WHERE ended_ms IS NOT NULL")" = 1 ] ||
	fail "Ctrl-C left the session open"

for sig in SEGV ABRT; do
	stop_server
	start 80 24 "$BIN" play --db "$DB"
	wait_for '^You 0 : 0 AI'
	kill -$sig "$(game_pid)"
	case $sig in
	SEGV) want=139 ;;
	ABRT) want=134 ;;
	esac
	wait_exit "$want"
	sane "SIG$sig"
done

# Signal numbers from Python, since sh's kill -l does not map names.
for sig in USR1 ALRM USR2; do
	stop_server
	start 80 24 "$BIN" play --db "$DB"
	wait_for '^You 0 : 0 AI'
	kill -$sig "$(game_pid)"
	want=$((128 + $(python3 -c "import signal; print(signal.SIG$sig.value)")))
	wait_exit "$want"
	sane "SIG$sig"
done
[ "$(sql "SELECT count(*) FROM (SELECT ended_ms FROM sessions ORDER BY id DESC LIMIT 3) WHERE ended_ms IS NULL")" = 0 ] ||
	fail "a signal left a session open"

stop_server
start 80 24 "$BIN" play --db "$DB"
wait_for '^You 0 : 0 AI'
kill -PIPE "$(game_pid)"
sleep 0.5
screen | grep -q '^EXIT=' && fail "SIGPIPE ended the game"
tm send-keys -t test q
wait_exit 0
exit 0
