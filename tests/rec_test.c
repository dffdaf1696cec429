/* Tests of the recorder. A round's frames reach the save in order, also when
 * the round outgrows the first buffer, and the save stays unlocked while a
 * round is played. An aborted round leaves nothing, frames outside a round
 * are ignored, and results map to the store's winner codes. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rec.h"

struct rec_test_save {
	char dir[64];
	char path[128];
	struct store *store;
	struct rec *rec;
};

static void rec_test_open(struct rec_test_save *t)
{
	struct store_session session = {
		.kind = STORE_SESSION_SIM,
		.seed = 1,
		.left_ctrl = "tracker",
		.right_ctrl = "tracker",
		.human_side = STORE_SIDE_NONE,
	};
	char msg[STORE_MSG_MAX];
	int64_t session_id;

	strcpy(t->dir, "/tmp/rec_test.XXXXXX");
	cr_assert_not_null(mkdtemp(t->dir), "mkdtemp failed: %s", strerror(errno));
	snprintf(t->path, sizeof t->path, "%s/save.db", t->dir);
	cr_assert_eq(store_open(t->path, NULL, &t->store, msg, sizeof msg), STORE_OK,
		     "opening a new save failed: %s", msg);
	cr_assert_eq(store_session_begin(t->store, &session, &session_id), STORE_OK,
		     "session_begin failed: %s", store_errmsg(t->store));
	t->rec = malloc(sizeof *t->rec);
	cr_assert_not_null(t->rec, "out of memory");
	rec_init(t->rec, t->store, session_id);
}

static void rec_test_close(struct rec_test_save *t)
{
	char path[160];

	rec_free(t->rec);
	free(t->rec);
	store_close(t->store);
	unlink(t->path);
	snprintf(path, sizeof path, "%s-wal", t->path);
	unlink(path);
	snprintf(path, sizeof path, "%s-shm", t->path);
	unlink(path);
	rmdir(t->dir);
}

/* A state whose ball x is the frame's index, so the order is checkable. */
static void rec_test_state(struct core_state *s, size_t i)
{
	memset(s, 0, sizeof *s);
	s->ball.x = (double)(i % 100);
	s->ball.y = 1.5;
	s->ball.vx = -30;
	s->ball.vy = 20;
	s->paddle_y[CORE_LEFT] = -4;
	s->paddle_y[CORE_RIGHT] = 6;
}

/* Records one round of n frames and commits it. */
static void rec_test_round(struct rec_test_save *t, int32_t number, size_t n)
{
	const uint32_t returns[2] = { 3, 4 };
	struct core_state s;

	rec_round_begin(t->rec, number);
	for (size_t i = 0; i < n; i++) {
		rec_test_state(&s, i);
		cr_assert_eq(rec_frame(t->rec, &s, CORE_MOVE_UP, CORE_MOVE_DOWN), STORE_OK,
			     "frame %zu failed: %s", i, store_errmsg(t->store));
	}
	cr_assert_eq(rec_round_end(t->rec, CORE_RESULT_LEFT, returns), STORE_OK,
		     "round_end failed: %s", store_errmsg(t->store));
}

static void rec_test_counts(struct rec_test_save *t, int64_t rounds, int64_t frames)
{
	struct store_counts c;

	cr_assert_eq(store_count(t->store, &c), STORE_OK, "store_count failed: %s",
		     store_errmsg(t->store));
	cr_assert_eq(c.n_rounds, rounds, "expected %lld rounds, found %lld", (long long)rounds,
		     (long long)c.n_rounds);
	cr_assert_eq(c.n_frames, frames, "expected %lld frames, found %lld", (long long)frames,
		     (long long)c.n_frames);
}

Test(rec, round_committed)
{
	struct rec_test_save t;
	struct store_round_info *infos = NULL;
	struct store_frames f = { 0 };
	size_t n = 0;

	rec_test_open(&t);
	rec_test_round(&t, 1, 10);
	rec_test_counts(&t, 1, 10);
	cr_assert_not(store_round_is_open(t.store), "the round must be closed after its end");

	cr_assert_eq(store_rounds_list(t.store, 0, 0, &infos, &n), STORE_OK, "rounds_list failed");
	cr_assert_eq(n, 1, "one finished round expected, got %zu", n);
	cr_assert_eq(infos[0].number, 1, "round number %d, expected 1", infos[0].number);
	cr_assert_eq(infos[0].n_frames, 10, "n_frames %d, expected 10", infos[0].n_frames);
	cr_assert_eq(store_frames_load(t.store, &infos[0].id, 1, &f), STORE_OK, "frames_load failed");
	cr_assert_eq(f.n_frames, 10, "loaded %zu frames, expected 10", f.n_frames);
	cr_assert_float_eq(f.frames[3].ball_x, 3.0f, 1e-6, "frame 3 ball_x %g", f.frames[3].ball_x);
	cr_assert_float_eq(f.frames[3].right_y, 6.0f, 1e-6, "frame 3 right_y %g", f.frames[3].right_y);
	cr_assert_eq(f.frames[3].move_left, STORE_MOVE_UP, "left move %d", f.frames[3].move_left);
	cr_assert_eq(f.frames[3].move_right, STORE_MOVE_DOWN, "right move %d", f.frames[3].move_right);
	store_frames_free(&f);
	free(infos);
	rec_test_close(&t);
}

Test(rec, round_outgrows_buffer)
{
	struct rec_test_save t;
	struct store_round_info *infos = NULL;
	struct store_frames f = { 0 };
	size_t n = 0, frames = 20000;

	rec_test_open(&t);
	rec_test_round(&t, 1, frames);
	rec_test_counts(&t, 1, (int64_t)frames);

	cr_assert_eq(store_rounds_list(t.store, 0, 0, &infos, &n), STORE_OK, "rounds_list failed");
	cr_assert_eq(store_frames_load(t.store, &infos[0].id, 1, &f), STORE_OK, "frames_load failed");
	for (size_t i = 0; i < frames; i++)
		cr_assert_float_eq(f.frames[i].ball_x, (float)(i % 100), 1e-6,
				   "frame %zu out of order: ball_x %g", i, f.frames[i].ball_x);
	store_frames_free(&f);
	free(infos);
	rec_test_close(&t);
}

Test(rec, aborted_round_leaves_nothing)
{
	struct rec_test_save t;
	struct core_state s;

	rec_test_open(&t);
	rec_test_round(&t, 1, 5);

	rec_round_begin(t.rec, 2);
	for (size_t i = 0; i < 5000; i++) {
		rec_test_state(&s, i);
		cr_assert_eq(rec_frame(t.rec, &s, CORE_MOVE_STAY, CORE_MOVE_STAY), STORE_OK,
			     "frame %zu failed", i);
	}
	rec_round_abort(t.rec);
	cr_assert_not(store_round_is_open(t.store), "abort must close the round");
	rec_test_counts(&t, 1, 5);
	rec_test_close(&t);
}

Test(rec, save_unlocked_during_round)
{
	const uint32_t returns[2] = { 1, 0 };
	struct rec_test_save t;
	struct core_state s;

	rec_test_open(&t);
	rec_round_begin(t.rec, 1);
	for (size_t i = 0; i < 100; i++) {
		rec_test_state(&s, i);
		cr_assert_eq(rec_frame(t.rec, &s, CORE_MOVE_UP, CORE_MOVE_STAY), STORE_OK,
			     "frame %zu failed", i);
	}
	cr_assert_not(store_round_is_open(t.store),
		      "the save must hold no transaction while the round is played");
	rec_test_counts(&t, 0, 0);
	cr_assert_eq(rec_round_end(t.rec, CORE_RESULT_LEFT, returns), STORE_OK,
		     "round_end failed: %s", store_errmsg(t.store));
	rec_test_counts(&t, 1, 100);
	rec_test_close(&t);
}

Test(rec, frames_without_round_ignored)
{
	const uint32_t returns[2] = { 0, 0 };
	struct rec_test_save t;
	struct core_state s;

	rec_test_open(&t);
	rec_test_state(&s, 0);
	cr_assert_eq(rec_frame(t.rec, &s, CORE_MOVE_UP, CORE_MOVE_UP), STORE_OK,
		     "a frame outside a round must be accepted and ignored");
	cr_assert_eq(rec_round_end(t.rec, CORE_RESULT_DRAW, returns), STORE_OK,
		     "ending with no open round must succeed");
	rec_test_counts(&t, 0, 0);

	/* After a round ends, frames are ignored until the next begins. */
	rec_test_round(&t, 1, 4);
	cr_assert_eq(rec_frame(t.rec, &s, CORE_MOVE_UP, CORE_MOVE_UP), STORE_OK,
		     "a frame after the round must be ignored");
	rec_test_counts(&t, 1, 4);
	rec_test_close(&t);
}

Test(rec, winner_mapping)
{
	cr_assert_eq(rec_winner_of(CORE_RESULT_LEFT), STORE_WINNER_LEFT, "left win");
	cr_assert_eq(rec_winner_of(CORE_RESULT_RIGHT), STORE_WINNER_RIGHT, "right win");
	cr_assert_eq(rec_winner_of(CORE_RESULT_DRAW), STORE_WINNER_DRAW, "draw");
	cr_assert_eq(rec_winner_of(CORE_RESULT_NONE), STORE_WINNER_DRAW,
		     "an unfinished round is stored as a draw");
}

Test(rec, frame_of_copies_state)
{
	struct core_state s;
	struct store_frame f;

	rec_test_state(&s, 42);
	rec_frame_of(&f, &s, CORE_MOVE_DOWN, CORE_MOVE_STAY);
	cr_assert_float_eq(f.ball_x, 42.0f, 1e-6, "ball_x %g", f.ball_x);
	cr_assert_float_eq(f.ball_y, 1.5f, 1e-6, "ball_y %g", f.ball_y);
	cr_assert_float_eq(f.ball_vx, -30.0f, 1e-6, "ball_vx %g", f.ball_vx);
	cr_assert_float_eq(f.ball_vy, 20.0f, 1e-6, "ball_vy %g", f.ball_vy);
	cr_assert_float_eq(f.left_y, -4.0f, 1e-6, "left_y %g", f.left_y);
	cr_assert_float_eq(f.right_y, 6.0f, 1e-6, "right_y %g", f.right_y);
	cr_assert_eq(f.move_left, STORE_MOVE_DOWN, "move_left %d", f.move_left);
	cr_assert_eq(f.move_right, STORE_MOVE_STAY, "move_right %d", f.move_right);
}
