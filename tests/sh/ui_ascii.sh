#!/bin/sh
# ui: with LANG=C and LC_ALL=C, or with --ascii, the screen holds only
# ASCII, also with the help and the training panel open.
. "$(dirname "$0")/ui_lib.inc"

check_ascii() {
	if screen | LC_ALL=C grep -q '[^ -~]'; then
		fail "non-ASCII characters on the screen ($1)"
	fi
}

LOCALE_ENV="LANG=C LC_ALL=C"
start 80 24 "$BIN" watch --speed 8 --db "$DB"
wait_for '^tracker 0 : 0 AI'
screen | grep -q '^+-*+$' || fail "no ASCII box"
check_ascii "C locale, play"
wait_for 'Training' 30
check_ascii "C locale, training panel"
tm send-keys -t test '?'
wait_for 'Help'
check_ascii "C locale, help"
stop_server

LOCALE_ENV="LANG=C.UTF-8 LC_ALL=C.UTF-8"
start 80 24 "$BIN" watch --ascii --speed 8 --db "$DB"
wait_for '^tracker 0 : 0 AI'
check_ascii "--ascii"
wait_for 'Training' 30
check_ascii "--ascii, training panel"
exit 0
