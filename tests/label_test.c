/* Tests of the labeller on hand-made trajectories. Features are given in
 * field units (every scale 1) except the own paddle, which is scaled by its
 * reach, as the game's features are. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "label.h"

#define STEP_S (1.0 / 60)
#define CONTACT_X 71.0
#define WALL_Y 44.0
#define PADDLE_MAX 37.0
#define MAX_FRAMES 512

static const struct label_geom geom = {
	.x_scale = 1,
	.y_scale = 1,
	.v_scale = 1,
	.paddle_scale = PADDLE_MAX,
	.contact_x = CONTACT_X,
	.wall_y = WALL_Y,
	.paddle_half_h = 8,
};

static const struct label_opts hindsight = {
	.teacher = LABEL_TEACHER_HINDSIGHT,
	.dead_zone = 0.25,
};

struct traj {
	float f[MAX_FRAMES][LABEL_N_FEATURES];
	size_t n;
	size_t arrival;		/* first frame at or past the contact line */
};

/* Steps a ball from (x, y) at (vx, vy) units/s until it has passed the
 * contact line, reflecting it off the walls within each step, and records
 * one frame per step with the own paddle at own_y units. */
static void fly(struct traj *t, double x, double y, double vx, double vy, double own_y)
{
	t->n = 0;
	t->arrival = 0;
	for (;;) {
		float *f = t->f[t->n++];

		cr_assert_lt(t->n, MAX_FRAMES, "trajectory too long");
		f[LABEL_F_BALL_X] = (float)x;
		f[LABEL_F_BALL_Y] = (float)y;
		f[LABEL_F_BALL_VX] = (float)vx;
		f[LABEL_F_BALL_VY] = (float)vy;
		f[LABEL_F_OWN_Y] = (float)(own_y / PADDLE_MAX);
		f[LABEL_F_OPP_Y] = 0;
		if (f[LABEL_F_BALL_X] >= CONTACT_X) {
			t->arrival = t->n - 1;
			return;
		}
		x += vx * STEP_S;
		y += vy * STEP_S;
		if (y > WALL_Y) {
			y = 2 * WALL_Y - y;
			vy = -vy;
		} else if (y < -WALL_Y) {
			y = -2 * WALL_Y - y;
			vy = -vy;
		}
	}
}

/* Asserts that every frame before the arrival targets expected_y. */
static void expect_targets(const struct traj *t, double expected_y, double tol)
{
	double target[MAX_FRAMES];

	label_targets(&geom, &t->f[0][0], t->n, target);
	for (size_t i = 0; i < t->arrival; i++)
		cr_assert(fabs(target[i] - expected_y) <= tol,
			  "frame %zu: target %g, expected %g", i, target[i], expected_y);
	cr_assert(isnan(target[t->arrival]), "frame %zu past the line has target %g",
		  t->arrival, target[t->arrival]);
}

Test(label, toward_dead_zone)
{
	cr_assert_eq(label_toward(0, 1.9, 2), LABEL_STAY, "1.9 units inside a 2-unit zone must stay");
	cr_assert_eq(label_toward(0, -2.0, 2), LABEL_STAY, "the zone's edge must stay");
	cr_assert_eq(label_toward(0, 2.1, 2), LABEL_DOWN, "a target below (larger y) must move down");
	cr_assert_eq(label_toward(0, -2.1, 2), LABEL_UP, "a target above (smaller y) must move up");
}

Test(label, fold_into_field)
{
	cr_assert_float_eq(label_fold_y(10, 44), 10, 1e-12, "inside the field stays");
	cr_assert_float_eq(label_fold_y(50, 44), 38, 1e-12, "6 past the bottom wall folds to 38");
	cr_assert_float_eq(label_fold_y(-50, 44), -38, 1e-12, "6 past the top wall folds to -38");
	cr_assert_float_eq(label_fold_y(200, 44), 24, 1e-12, "two bounces fold 200 to 24");
	cr_assert_float_eq(label_fold_y(44, 44), 44, 1e-12, "the wall itself stays");
}

Test(label, straight_trajectory)
{
	static struct traj t;
	int out[MAX_FRAMES];

	fly(&t, 0, 10, 60, 0, 0);
	expect_targets(&t, 10, 1e-4);

	label_round(&geom, &hindsight, &t.f[0][0], NULL, t.n, out);
	cr_assert_eq(out[0], LABEL_DOWN, "paddle at 0, ball arriving at 10 below: down");
	cr_assert_eq(out[t.arrival], LABEL_NONE, "past the line: no label");

	fly(&t, 0, 10, 60, 0, 10);
	label_round(&geom, &hindsight, &t.f[0][0], NULL, t.n, out);
	cr_assert_eq(out[0], LABEL_STAY, "paddle already at the crossing: stay");

	fly(&t, 0, 10, 60, 0, 30);
	label_round(&geom, &hindsight, &t.f[0][0], NULL, t.n, out);
	cr_assert_eq(out[0], LABEL_UP, "paddle at 30, crossing at 10: up");
}

Test(label, one_wall_bounce)
{
	static struct traj t;
	int out[MAX_FRAMES];

	/* Up at 80 units/s for about a second: -80 folds off the top wall to -8. */
	fly(&t, 0, 0, 71, -80, 0);
	expect_targets(&t, -8, 0.05);

	label_round(&geom, &hindsight, &t.f[0][0], NULL, t.n, out);
	cr_assert_eq(out[0], LABEL_UP, "crossing 8 units above a centred paddle: up");
}

Test(label, two_wall_bounces)
{
	static struct traj t;
	int out[MAX_FRAMES];

	/* Down at 200 units/s for about a second: bottom wall, top wall, then
	 * 24 units below the centre. */
	fly(&t, 0, 0, 71, 200, 0);
	expect_targets(&t, 24, 0.05);

	label_round(&geom, &hindsight, &t.f[0][0], NULL, t.n, out);
	cr_assert_eq(out[0], LABEL_DOWN, "crossing at 24 below a centred paddle: down");
}

Test(label, arrival_at_corner)
{
	static struct traj t;
	int out[MAX_FRAMES];

	/* The ball meets the contact line exactly where it meets the bottom
	 * wall. The paddle cannot reach 44, so it heads for its limit. */
	fly(&t, 0, 0, 71, 44, 0);
	expect_targets(&t, 44, 0.05);

	label_round(&geom, &hindsight, &t.f[0][0], NULL, t.n, out);
	cr_assert_eq(out[0], LABEL_DOWN, "centred paddle heads for the bottom corner");

	fly(&t, 0, 0, 71, 44, PADDLE_MAX);
	label_round(&geom, &hindsight, &t.f[0][0], NULL, t.n, out);
	cr_assert_eq(out[0], LABEL_STAY, "paddle at its limit stays for a corner ball");

	/* No dead zone short of the limit: 1 unit away still moves. */
	fly(&t, 0, 0, 71, 44, PADDLE_MAX - 1);
	label_round(&geom, &hindsight, &t.f[0][0], NULL, t.n, out);
	cr_assert_eq(out[0], LABEL_DOWN, "paddle 1 unit short of its limit keeps going");
}

Test(label, moving_away_targets_centre)
{
	static struct traj t;
	int out[MAX_FRAMES];

	/* The ball flies toward the opponent (vx < 0). */
	fly(&t, 0, 10, 60, 0, 20);
	for (size_t i = 0; i < t.n; i++)
		t.f[i][LABEL_F_BALL_VX] = -60;
	label_round(&geom, &hindsight, &t.f[0][0], NULL, t.n, out);
	for (size_t i = 0; i < t.n; i++)
		cr_assert_eq(out[i], LABEL_UP, "frame %zu: paddle at 20 must head up to the centre", i);
}

Test(label, returned_ball_ends_approach)
{
	static struct traj t;
	double target[MAX_FRAMES];

	/* The ball is returned at the line: the frame after the last
	 * approaching one moves away, and the approach still gets the
	 * crossing height. */
	fly(&t, 0, 10, 60, 0, 0);
	t.f[t.arrival][LABEL_F_BALL_X] = (float)(CONTACT_X - 1);
	t.f[t.arrival][LABEL_F_BALL_VX] = -66;
	label_targets(&geom, &t.f[0][0], t.n, target);
	cr_assert_float_eq(target[0], 10, 1e-4, "a returned ball still gives the crossing");
	cr_assert_float_eq(target[t.arrival], 0, 1e-12, "moving away targets the centre");
}

Test(label, round_ends_before_arrival)
{
	static struct traj t;
	int out[MAX_FRAMES];

	fly(&t, 0, 10, 60, 0, 0);
	label_round(&geom, &hindsight, &t.f[0][0], NULL, t.arrival, out);
	for (size_t i = 0; i < t.arrival; i++)
		cr_assert_eq(out[i], LABEL_NONE, "frame %zu: no crossing was seen, so no label", i);
}

Test(label, human_copies_moves)
{
	static const struct label_opts human = { .teacher = LABEL_TEACHER_HUMAN };
	float feats[4][LABEL_N_FEATURES] = { { 0 } };
	uint8_t moves[4] = { 0, 1, 2, 7 };
	int out[4];
	size_t n = label_round(&geom, &human, &feats[0][0], moves, 4, out);

	cr_assert_eq(n, 3, "three of four moves are valid, got %zu", n);
	cr_assert_eq(out[0], LABEL_UP, "up is copied");
	cr_assert_eq(out[1], LABEL_STAY, "stay is copied");
	cr_assert_eq(out[2], LABEL_DOWN, "down is copied");
	cr_assert_eq(out[3], LABEL_NONE, "an out-of-range move gets no label");
}

Test(label, teacher_names)
{
	enum label_teacher t;

	cr_assert_eq(label_teacher_parse("human", &t), 0, "human parses");
	cr_assert_eq(t, LABEL_TEACHER_HUMAN, "human is the human teacher");
	cr_assert_eq(label_teacher_parse("hindsight", &t), 0, "hindsight parses");
	cr_assert_eq(t, LABEL_TEACHER_HINDSIGHT, "hindsight is the hindsight teacher");
	cr_assert_neq(label_teacher_parse("oracle", &t), 0, "an unknown name is rejected");
	cr_assert_str_eq(label_teacher_name(LABEL_TEACHER_HUMAN), "human", "name round-trips");
}
