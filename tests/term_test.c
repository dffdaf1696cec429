/* Tests of the key hold model that turns presses and auto-repeats into
 * held keys. */
#include <criterion/criterion.h>

#include "term.h"

Test(term_hold, nothing_pressed_stays)
{
	struct term_hold h = { 0 };

	cr_assert_eq(term_hold_move(&h, 1000), CORE_MOVE_STAY, "an untouched model asks to move");
}

Test(term_hold, first_press_covers_repeat_delay)
{
	struct term_hold h = { 0 };

	term_hold_press(&h, TERM_DIR_UP, 1000);
	cr_assert_eq(term_hold_move(&h, 1000), CORE_MOVE_UP, "not held at the press");
	cr_assert_eq(term_hold_move(&h, 1000 + TERM_HOLD_FIRST_MS - 1), CORE_MOVE_UP,
		     "released before the initial repeat delay ended");
	cr_assert_eq(term_hold_move(&h, 1000 + TERM_HOLD_FIRST_MS), CORE_MOVE_STAY,
		     "still held after the first-press window");
}

Test(term_hold, repeats_keep_key_held)
{
	struct term_hold h = { 0 };
	int64_t t = 0;

	term_hold_press(&h, TERM_DIR_DOWN, t);
	t += 500;	/* the keyboard's initial delay */
	for (int i = 0; i < 50; i++, t += 33) {
		term_hold_press(&h, TERM_DIR_DOWN, t);
		cr_assert_eq(term_hold_move(&h, t + 32), CORE_MOVE_DOWN,
			     "dropped between repeats %d and %d", i, i + 1);
	}
}

Test(term_hold, release_after_repeats_is_quick)
{
	struct term_hold h = { 0 };
	int64_t t = 0;

	term_hold_press(&h, TERM_DIR_UP, t);
	t += 500;
	for (int i = 0; i < 10; i++, t += 30)
		term_hold_press(&h, TERM_DIR_UP, t);
	t -= 30;
	/* 30 ms repeats: the window is 2 x 30 = 60 ms, the minimum. */
	cr_assert_eq(term_hold_move(&h, t + TERM_HOLD_REPEAT_MIN_MS - 1), CORE_MOVE_UP,
		     "released too early after the last repeat");
	cr_assert_eq(term_hold_move(&h, t + TERM_HOLD_REPEAT_MIN_MS), CORE_MOVE_STAY,
		     "still held %d ms after the last repeat", TERM_HOLD_REPEAT_MIN_MS);
}

Test(term_hold, slow_repeats_widen_window)
{
	struct term_hold h = { 0 };
	int64_t t = 0;

	term_hold_press(&h, TERM_DIR_UP, t);
	t += 600;
	for (int i = 0; i < 10; i++, t += 80)
		term_hold_press(&h, TERM_DIR_UP, t);
	t -= 80;
	cr_assert_eq(term_hold_move(&h, t + 159), CORE_MOVE_UP,
		     "80 ms repeats should give a 160 ms window");
	cr_assert_eq(term_hold_move(&h, t + 160), CORE_MOVE_STAY, "window longer than 160 ms");
}

Test(term_hold, window_capped)
{
	struct term_hold h = { 0 };
	int64_t t = 0;

	term_hold_press(&h, TERM_DIR_UP, t);
	t += 300;
	for (int i = 0; i < 6; i++, t += 140)	/* 2 x 140 ms is above the cap */
		term_hold_press(&h, TERM_DIR_UP, t);
	t -= 140;
	cr_assert_eq(term_hold_move(&h, t + TERM_HOLD_REPEAT_MAX_MS - 1), CORE_MOVE_UP,
		     "released before the capped window ended");
	cr_assert_eq(term_hold_move(&h, t + TERM_HOLD_REPEAT_MAX_MS), CORE_MOVE_STAY,
		     "window exceeds TERM_HOLD_REPEAT_MAX_MS");
}

Test(term_hold, second_tap_keeps_first_window)
{
	struct term_hold h = { 0 };

	term_hold_press(&h, TERM_DIR_DOWN, 0);
	term_hold_press(&h, TERM_DIR_DOWN, 120);
	cr_assert_eq(term_hold_move(&h, TERM_HOLD_FIRST_MS - 1), CORE_MOVE_DOWN,
		     "a second tap at 120 ms ended the hold before the first tap's window");
	term_hold_press(&h, TERM_DIR_DOWN, 240);
	cr_assert_eq(term_hold_move(&h, TERM_HOLD_FIRST_MS - 1), CORE_MOVE_DOWN,
		     "a third tap at 240 ms ended the hold before the first tap's window");
}

Test(term_hold, late_first_repeat_does_not_stall)
{
	struct term_hold h = { 0 };
	int64_t next = 660;	/* the X server's default repeat delay */

	/* Repeats every 40 ms from 660 ms; checked at every ms. */
	term_hold_press(&h, TERM_DIR_UP, 0);
	for (int64_t now = 0; now < 660 + 20 * 40; now++) {
		if (now == next) {
			term_hold_press(&h, TERM_DIR_UP, now);
			next += 40;
		}
		cr_assert_eq(term_hold_move(&h, now), CORE_MOVE_UP,
			     "the held key stopped at %lld ms", (long long)now);
	}
}

Test(term_hold, long_gap_is_a_tap)
{
	struct term_hold h = { 0 };
	const struct term_hold_key *k = &h.key[TERM_DIR_UP];

	/* Steady 100 ms repeats hold the key for 200 ms after each. */
	term_hold_press(&h, TERM_DIR_UP, 0);
	for (int64_t t = 500; t <= 800; t += 100)
		term_hold_press(&h, TERM_DIR_UP, t);
	cr_assert_geq(k->steady, 2, "agreeing gaps make a cadence, got %u", k->steady);
	/* 180 ms is too slow for a repeat: a tap, which restarts the count. */
	term_hold_press(&h, TERM_DIR_UP, 980);
	cr_assert_eq(k->steady, 0, "a 180 ms gap was taken as a repeat");
	cr_assert_eq(k->interval_ms, 0, "a 180 ms gap was measured as the repeat interval");
	cr_assert_eq(term_hold_move(&h, 980 + TERM_HOLD_REPEAT_DEFAULT_MS - 1), CORE_MOVE_UP,
		     "the tap did not hold the key for the default repeat window");
}

Test(term_hold, same_frame_repeats_do_not_shrink_window)
{
	struct term_hold h = { 0 };
	int64_t t = 0;

	term_hold_press(&h, TERM_DIR_UP, t);
	t += 500;
	term_hold_press(&h, TERM_DIR_UP, t);
	t += 40;
	term_hold_press(&h, TERM_DIR_UP, t);
	/* Three repeats drained in one frame carry one time. */
	t += 40;
	term_hold_press(&h, TERM_DIR_UP, t);
	term_hold_press(&h, TERM_DIR_UP, t);
	term_hold_press(&h, TERM_DIR_UP, t);
	cr_assert_eq(term_hold_move(&h, t + 79), CORE_MOVE_UP,
		     "a gap of 0 ms shortened the 40 ms estimate");
}

Test(term_hold, latest_of_opposite_keys_wins)
{
	struct term_hold h = { 0 };

	term_hold_press(&h, TERM_DIR_UP, 0);
	term_hold_press(&h, TERM_DIR_DOWN, 100);
	cr_assert_eq(term_hold_move(&h, 150), CORE_MOVE_DOWN, "down was pressed last");
	term_hold_press(&h, TERM_DIR_UP, 200);
	cr_assert_eq(term_hold_move(&h, 250), CORE_MOVE_UP, "up was pressed last");
}

Test(term_hold, other_key_survives_release_of_latest)
{
	struct term_hold h = { 0 };
	int64_t t = 0;

	/* Down is tapped once while up keeps repeating: once down's window
	 * ends, the still repeating up key moves the paddle again. */
	term_hold_press(&h, TERM_DIR_UP, t);
	t += 500;
	term_hold_press(&h, TERM_DIR_DOWN, t);
	for (int i = 0; i < 30; i++) {
		t += 30;
		term_hold_press(&h, TERM_DIR_UP, t);
	}
	cr_assert_eq(term_hold_move(&h, t), CORE_MOVE_UP, "up repeats after down ended");
}

Test(term_hold, clear_releases_everything)
{
	struct term_hold h = { 0 };

	term_hold_press(&h, TERM_DIR_UP, 0);
	term_hold_clear(&h);
	cr_assert_eq(term_hold_move(&h, 1), CORE_MOVE_STAY, "held after clear");
}
