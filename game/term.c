/* term: curses set-up, terminal restore on every exit path, signals, the
 * monotonic clock and the key hold model. */
#include "term.h"

#include <curses.h>
#include <langinfo.h>
#include <locale.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* Terminal modes before curses changed them, for the crash handler. */
static struct termios term_saved_modes;
static bool term_have_saved_modes;
/* The terminfo strings that undo curses's screen changes (attributes,
 * cursor, keypad mode, alternate screen), copied so that the crash handler
 * needs only write(). */
static char term_restore_seq[256];
static size_t term_restore_len;
static bool term_active;
static bool term_atexit_done;
static volatile sig_atomic_t term_stop_sig;

/* Every signal that would end the process by default is caught, so that no
 * way out leaves the terminal raw. Requests to stop end the loop and clean
 * up; faults restore the terminal and die of the signal, for the core
 * dump. SIGPIPE is ignored: a write error says the same. */
static const int term_stop_signals[] = {
	SIGINT, SIGTERM, SIGHUP, SIGUSR1, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF,
#ifdef SIGPOLL
	SIGPOLL,
#endif
#ifdef SIGPWR
	SIGPWR,
#endif
#ifdef SIGSTKFLT
	SIGSTKFLT,
#endif
};
static const int term_crash_signals[] = {
	SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGQUIT, SIGTRAP, SIGSYS, SIGXCPU, SIGXFSZ,
};

bool term_is_tty(void)
{
	return isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
}

int64_t term_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void term_sleep_until(int64_t deadline_ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(deadline_ns / 1000000000),
		.tv_nsec = (long)(deadline_ns % 1000000000),
	};

	if (deadline_ns <= term_now_ns())
		return;
	/* EINTR only wakes the loop early, which then checks the signal. */
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

int term_stop_signal(void)
{
	return (int)term_stop_sig;
}

static void term_on_stop(int sig)
{
	term_stop_sig = sig;
}

/* Only async-signal-safe calls: write the saved restore sequence, put back
 * the saved modes, then die of the same signal with its default action. */
static void term_on_crash(int sig)
{
	if (term_active) {
		ssize_t unused = write(STDOUT_FILENO, term_restore_seq, term_restore_len);

		(void)unused;
		if (term_have_saved_modes)
			tcsetattr(STDIN_FILENO, TCSANOW, &term_saved_modes);
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void term_append_cap(const char *name)
{
	char *s = tigetstr(name);
	size_t n;

	if (s == NULL || s == (char *)-1)
		return;
	n = strlen(s);
	if (term_restore_len + n >= sizeof term_restore_seq)
		return;
	memcpy(term_restore_seq + term_restore_len, s, n);
	term_restore_len += n;
}

static void term_install_signals(void)
{
	struct sigaction sa;

	/* SA_RESTART keeps the save's I/O from failing with EINTR; the frame
	 * sleep still wakes, because clock_nanosleep() is never restarted. */
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = term_on_stop;
	sa.sa_flags = SA_RESTART;
	for (size_t i = 0; i < sizeof term_stop_signals / sizeof term_stop_signals[0]; i++)
		sigaction(term_stop_signals[i], &sa, NULL);
#ifdef SIGRTMIN
	for (int sig = SIGRTMIN; sig <= SIGRTMAX; sig++)
		sigaction(sig, &sa, NULL);
#endif
	signal(SIGPIPE, SIG_IGN);

	/* SA_NODEFER lets the handler's raise() take effect at once. */
	sa.sa_handler = term_on_crash;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	for (size_t i = 0; i < sizeof term_crash_signals / sizeof term_crash_signals[0]; i++)
		sigaction(term_crash_signals[i], &sa, NULL);
}

static void term_atexit(void)
{
	term_close();
}

static bool term_locale_is_utf8(void)
{
	const char *codeset = nl_langinfo(CODESET);

	return codeset && (strcmp(codeset, "UTF-8") == 0 || strcmp(codeset, "utf8") == 0);
}

static bool term_no_color(void)
{
	const char *v = getenv("NO_COLOR");

	/* no-color.org: set and non-empty disables colour. */
	return v && v[0] != '\0';
}

/* Returns true if the terminal has the string capability name. */
static bool term_has_cap(const char *name)
{
	char *s = tigetstr(name);

	return s != NULL && s != (char *)-1 && s[0] != '\0';
}

int term_open(bool force_ascii, struct term_caps *caps)
{
	SCREEN *screen;

	setlocale(LC_ALL, "");
	caps->utf8 = !force_ascii && term_locale_is_utf8();

	term_have_saved_modes = tcgetattr(STDIN_FILENO, &term_saved_modes) == 0;

	/* newterm() reports an unknown TERM instead of exiting as initscr()
	 * does. A known terminal without cursor addressing (TERM=dumb) cannot
	 * draw the field either, so it counts as unusable too. */
	screen = newterm(NULL, stdout, stdin);
	if (screen == NULL)
		return -1;
	if (!term_has_cap("cup")) {
		endwin();
		delscreen(screen);
		if (term_have_saved_modes)
			tcsetattr(STDIN_FILENO, TCSANOW, &term_saved_modes);
		return -1;
	}
	term_active = true;
	if (!term_atexit_done) {
		atexit(term_atexit);
		term_atexit_done = true;
	}

	term_restore_len = 0;
	term_append_cap("sgr0");
	term_append_cap("cnorm");
	term_append_cap("rmkx");
	term_append_cap("rmcup");
	term_install_signals();

	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(TERM_ESC_DELAY_MS);
	curs_set(0);

	caps->color = has_colors() && !term_no_color();
	if (caps->color) {
		start_color();
		use_default_colors();
	}
	return 0;
}

void term_close(void)
{
	if (!term_active)
		return;
	term_active = false;
	curs_set(1);
	endwin();
}

/* ---- hold model --------------------------------------------------------- */

static int64_t term_clamp_ms(int64_t v, int64_t lo, int64_t hi)
{
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return v;
}

/* Returns true if gap fits the measured interval within a factor of 1.5
 * either way. */
static bool term_gap_fits(int64_t gap, int64_t interval)
{
	return 2 * gap <= 3 * interval && 3 * gap >= 2 * interval;
}

void term_hold_press(struct term_hold *h, enum term_dir dir, int64_t now_ms)
{
	struct term_hold_key *k = &h->key[dir];
	bool held = now_ms < k->until_ms;
	int64_t gap, window;

	k->order = ++h->presses;
	if (!held) {
		/* A new burst: the next event, if the key stays down, is the
		 * first auto-repeat after the keyboard's initial delay. */
		k->repeats = 0;
		k->interval_ms = 0;
		k->steady = 0;
		k->last_ms = now_ms;
		k->until_ms = now_ms + TERM_HOLD_FIRST_MS;
		return;
	}

	/* The gap before the first repeat is the keyboard's initial delay, not
	 * its rate, so only later gaps are measured. Repeats read in one frame
	 * share a time and give no gap. A gap too long for a repeat is a
	 * second tap and starts the measurement over. */
	gap = now_ms - k->last_ms;
	k->repeats++;
	if (k->repeats >= 2 && gap > TERM_HOLD_REPEAT_GAP_MAX_MS) {
		k->interval_ms = 0;
		k->steady = 0;
	} else if (k->repeats >= 2 && gap > 0) {
		if (k->interval_ms != 0 && term_gap_fits(gap, k->interval_ms)) {
			k->interval_ms = (k->interval_ms * 3 + gap) / 4;
			k->steady++;
		} else {
			k->interval_ms = gap;
			k->steady = 1;
		}
	}
	k->last_ms = now_ms;

	window = k->interval_ms == 0 ? TERM_HOLD_REPEAT_DEFAULT_MS :
		 term_clamp_ms(2 * k->interval_ms, TERM_HOLD_REPEAT_MIN_MS,
			       TERM_HOLD_REPEAT_MAX_MS);
	/* Until two gaps agree, a press may be a second tap, which must not
	 * end the hold sooner than the first press alone would. */
	if (k->steady >= 2 || now_ms + window > k->until_ms)
		k->until_ms = now_ms + window;
}

void term_hold_clear(struct term_hold *h)
{
	memset(h, 0, sizeof *h);
}

enum core_move term_hold_move(const struct term_hold *h, int64_t now_ms)
{
	bool up = now_ms < h->key[TERM_DIR_UP].until_ms;
	bool down = now_ms < h->key[TERM_DIR_DOWN].until_ms;

	if (up && down)
		return h->key[TERM_DIR_UP].order > h->key[TERM_DIR_DOWN].order ?
			       CORE_MOVE_UP : CORE_MOVE_DOWN;
	if (up)
		return CORE_MOVE_UP;
	if (down)
		return CORE_MOVE_DOWN;
	return CORE_MOVE_STAY;
}
