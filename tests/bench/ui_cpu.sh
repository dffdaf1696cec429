#!/bin/sh
# CPU time that `ttypong play` uses per second of play, with nobody at the
# keys: the 60 fps loop, drawing through tmux, recording, and training
# between rounds. Prints "ui_cpu_ms_per_s <value> ms/s", or a skip line and
# exit status 77 without tmux.
#
#   sh tests/bench/ui_cpu.sh [SECONDS]    (default 10, so that rounds end
#                                        and training is part of the figure)
set -u
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BIN=$ROOT/ttypong
SECONDS_RUN=${1:-10}

if ! command -v tmux >/dev/null 2>&1; then
	echo "ui_cpu: skipped, tmux is not installed"
	exit 77
fi
[ -x "$BIN" ] || { echo "ui_cpu: $BIN is missing: run make first"; exit 1; }

sock=ttypong-bench-$$
tmp=$(mktemp -d)
trap 'tmux -L "$sock" kill-server 2>/dev/null; rm -rf "$tmp"' EXIT

tmux -L "$sock" -f /dev/null new-session -d -x 80 -y 24 \
	"env LANG=C.UTF-8 LC_ALL=C.UTF-8 TERM=tmux-256color \"$BIN\" play --seed 1 --db \"$tmp/save.db\""
pid=
tries=50
while [ -z "$pid" ] && [ $tries -gt 0 ]; do
	sleep 0.1
	shell=$(tmux -L "$sock" display-message -p '#{pane_pid}' 2>/dev/null)
	pid=$(pgrep -P "$shell" 2>/dev/null | head -n 1)
	[ -n "$pid" ] || pid=$shell
	grep -q ttypong "/proc/$pid/cmdline" 2>/dev/null || pid=
	tries=$((tries - 1))
done
[ -n "$pid" ] || { echo "ui_cpu: ttypong did not start"; exit 1; }

# cpu_ticks PID: utime + stime, fields 14 and 15 of /proc/PID/stat (the
# command name in field 2 has no spaces here).
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

sleep 1	# past start-up: opening the save, loading the model
t0=$(date +%s.%N)
c0=$(cpu_ticks "$pid")
sleep "$SECONDS_RUN"
c1=$(cpu_ticks "$pid")
t1=$(date +%s.%N)
hz=$(getconf CLK_TCK)
awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" -v hz="$hz" \
	'BEGIN { printf "ui_cpu_ms_per_s %.1f ms/s\n", (c1 - c0) * 1000 / hz / (t1 - t0) }'
