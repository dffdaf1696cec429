/* term: the terminal under the UI. It sets curses up and restores the
 * terminal on every way out: return, exit, and every signal whose default
 * action ends the process (SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGALRM,
 * SIGQUIT, SIGSEGV, SIGABRT and the rest; SIGPIPE is ignored). It also turns
 * the terminal's key presses and auto-repeats into held keys.
 *
 * Terminals send no key-up, so the hold model infers it: a key counts as held
 * for a window after its latest press. After the first press of a burst the
 * window covers the keyboard's initial repeat delay (TERM_HOLD_FIRST_MS).
 * Once two gaps between repeats agree within a factor of 1.5 (the cadence
 * is known), the window is twice the measured repeat interval, clamped to
 * [TERM_HOLD_REPEAT_MIN_MS, TERM_HOLD_REPEAT_MAX_MS]. Before that a press
 * may be a second tap rather than a repeat, so it only ever extends the
 * window. Between up and down, the key pressed last wins while both count
 * as held.
 *
 * TODO: use the kitty keyboard protocol's release events where the terminal
 * offers them. tmux 3.3 does not pass them on, so this model stays the
 * fallback. */
#ifndef TTYPONG_TERM_H
#define TTYPONG_TERM_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"

/* Window after the first press of a burst. Keyboards wait 250 to 660 ms
 * before they repeat: 500 ms is the usual desktop setting, 660 ms the X
 * server's own default. A first repeat after the window makes a held
 * paddle stop until it comes; the cost of a longer window is that a single
 * tap moves the paddle for that long. */
#define TERM_HOLD_FIRST_MS 700
/* Window after the first repeat, before an interval has been measured. */
#define TERM_HOLD_REPEAT_DEFAULT_MS 150
#define TERM_HOLD_REPEAT_MIN_MS 60
#define TERM_HOLD_REPEAT_MAX_MS 220
/* A gap longer than this (1.5 x the slowest repeat interval the window
 * allows for) is a new tap, not an auto-repeat. */
#define TERM_HOLD_REPEAT_GAP_MAX_MS (TERM_HOLD_REPEAT_MAX_MS / 2 * 3 / 2)
/* Escape sequences arrive within this many ms; a lone Esc is a key. */
#define TERM_ESC_DELAY_MS 25

/* Capabilities of the terminal, found by term_open(). */
struct term_caps {
	bool color;	/* colours in use: the terminal has them and NO_COLOR is unset or empty */
	bool utf8;	/* the locale's codeset is UTF-8 and --ascii was not given */
};

/* Returns true if both stdin and stdout are terminals. */
bool term_is_tty(void);

/* Sets the locale from the environment, starts curses (cbreak, no echo,
 * keypad, non-blocking reads, hidden cursor, short Esc delay) and installs
 * the signal handlers and an atexit restore. force_ascii turns Unicode off.
 * Fills caps. Returns 0, or -1 if curses could not start (an unknown TERM)
 * or the terminal cannot move the cursor (TERM=dumb); the terminal is then
 * unchanged. */
int term_open(bool force_ascii, struct term_caps *caps);

/* Ends curses and restores the terminal's modes. Safe to call more than once
 * and before term_open(). */
void term_close(void);

/* Returns the signal (SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGALRM, a
 * real-time signal, ...) that asked the program to stop, or 0. The handlers only record it, so the caller leaves its loop and
 * cleans up as on a normal quit. */
int term_stop_signal(void);

/* Sleeps until the CLOCK_MONOTONIC time deadline_ns. Returns early, without
 * error, when a signal arrives. */
void term_sleep_until(int64_t deadline_ns);

/* Returns CLOCK_MONOTONIC in ns. */
int64_t term_now_ns(void);

/* The hold model of the up and down keys. Zero-initialise it. */
enum term_dir {
	TERM_DIR_UP = 0,
	TERM_DIR_DOWN = 1,
};

struct term_hold_key {
	int64_t last_ms;	/* time of the latest press or repeat, ms */
	int64_t until_ms;	/* held while now < until_ms */
	int64_t interval_ms;	/* measured repeat interval, 0 while unknown */
	uint32_t repeats;	/* presses in this burst after the first */
	uint32_t steady;	/* gaps in a row that agree with interval_ms */
	uint64_t order;		/* press counter value at the latest press */
};

struct term_hold {
	struct term_hold_key key[2];	/* indexed by enum term_dir */
	uint64_t presses;		/* counts every press, for "latest wins" */
};

/* Records a press or auto-repeat of dir at now_ms. */
void term_hold_press(struct term_hold *h, enum term_dir dir, int64_t now_ms);

/* Forgets every press, so no key counts as held (after a pause, say). */
void term_hold_clear(struct term_hold *h);

/* Returns the move the held keys ask for at now_ms: the direction held and
 * pressed last, or CORE_MOVE_STAY when neither is held. */
enum core_move term_hold_move(const struct term_hold *h, int64_t now_ms);

#endif
