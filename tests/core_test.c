/* Tests of the game core: walls, paddles, scoring, serves, limits, the
 * features and bit-exact replay. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "ctrl.h"

#define CONTACT_X (CORE_PADDLE_FACE_X - CORE_BALL_R)
#define WALL_Y (CORE_FIELD_H / 2 - CORE_BALL_R)

/* A state in play with no serve wait, both paddles centred. */
static void setup_play(struct core_state *s, struct core_config *c)
{
	core_config_default(c);
	c->serve_wait_steps = 0;
	core_init(s, c, 1);
	s->phase = CORE_PHASE_PLAY;
}

static void put_ball(struct core_state *s, double x, double y, double vx, double vy)
{
	s->ball.x = x;
	s->ball.y = y;
	s->ball.vx = vx;
	s->ball.vy = vy;
	s->ball.speed = sqrt(vx * vx + vy * vy);
}

/* Steps with both paddles still until the round ends or max_steps pass;
 * returns the union of the events. */
static unsigned run_still(struct core_state *s, const struct core_config *c, int max_steps)
{
	unsigned events = 0;

	for (int i = 0; i < max_steps && s->phase == CORE_PHASE_PLAY; i++)
		events |= core_step(s, c, CORE_MOVE_STAY, CORE_MOVE_STAY);
	return events;
}

Test(core, config_default_is_valid)
{
	struct core_config c;

	core_config_default(&c);
	cr_assert_null(core_config_check(&c), "default config rejected: %s", core_config_check(&c));
	cr_assert_float_eq(core_paddle_y_max(&c), 37.0, 1e-12, "paddle limit is %g", core_paddle_y_max(&c));
}

Test(core, config_check_names_bad_field)
{
	/* Case i spoils field fields[i]. */
	const char *fields[] = {
		"paddle_half_h", "paddle_speed_per_s", "serve_speed_per_s",
		"max_speed_per_s", "bounce_max_slope", "points_to_win",
		"round_max_steps",
	};

	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		struct core_config c;
		const char *msg;

		core_config_default(&c);
		switch (i) {
		case 0: c.paddle_half_h = 45; break;
		case 1: c.paddle_speed_per_s = -1; break;
		case 2: c.serve_speed_per_s = NAN; break;
		case 3: c.max_speed_per_s = 10; break;
		case 4: c.bounce_max_slope = INFINITY; break;
		case 5: c.points_to_win = 0; break;
		case 6: c.round_max_steps = c.serve_wait_steps; break;
		}
		msg = core_config_check(&c);
		cr_assert_not_null(msg, "bad %s accepted", fields[i]);
		cr_assert_not_null(strstr(msg, fields[i]), "message '%s' does not name %s", msg, fields[i]);
	}
}

Test(core, wall_bounce_top)
{
	struct core_state s;
	struct core_config c;
	unsigned ev;

	setup_play(&s, &c);
	put_ball(&s, 0, -WALL_Y + 0.5, 30, -60);	/* 1 unit up per step */
	ev = core_step(&s, &c, CORE_MOVE_STAY, CORE_MOVE_STAY);

	cr_assert(ev & CORE_EV_WALL, "no wall event, events 0x%x", ev);
	cr_assert_float_eq(s.ball.y, -WALL_Y + 0.5, 1e-9, "ball y after bounce is %g", s.ball.y);
	cr_assert_float_eq(s.ball.vy, 60.0, 1e-12, "vy after bounce is %g", s.ball.vy);
	cr_assert_float_eq(s.ball.vx, 30.0, 1e-12, "vx changed to %g", s.ball.vx);
	cr_assert_float_eq(s.ball.x, 0.5, 1e-9, "ball x is %g", s.ball.x);
}

Test(core, wall_bounce_bottom)
{
	struct core_state s;
	struct core_config c;
	unsigned ev;

	setup_play(&s, &c);
	put_ball(&s, 0, WALL_Y - 0.25, -30, 60);
	ev = core_step(&s, &c, CORE_MOVE_STAY, CORE_MOVE_STAY);

	cr_assert(ev & CORE_EV_WALL, "no wall event, events 0x%x", ev);
	cr_assert_float_eq(s.ball.y, WALL_Y - 0.75, 1e-9, "ball y after bounce is %g", s.ball.y);
	cr_assert_float_eq(s.ball.vy, -60.0, 1e-12, "vy after bounce is %g", s.ball.vy);
}

Test(core, ball_stays_between_walls)
{
	struct core_state s;
	struct core_config c;

	setup_play(&s, &c);
	c.max_speed_per_s = 1e5;
	put_ball(&s, 0, 0, 10, 9000);	/* about 3 wall bounces per step */
	for (int i = 0; i < 50; i++) {
		core_step(&s, &c, CORE_MOVE_STAY, CORE_MOVE_STAY);
		cr_assert(fabs(s.ball.y) <= WALL_Y, "step %d: ball y %g outside the walls", i, s.ball.y);
	}
}

/* The exit slope |vy/vx| grows linearly from the paddle's centre to its
 * edges, corners included; beyond the reach the ball is missed. */
Test(core, paddle_exit_angle_by_hit_position)
{
	const double offsets[] = { -1.0, -0.75, -0.5, 0.0, 0.25, 0.5, 1.0 };

	for (int side = 0; side < 2; side++) {
		for (size_t i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
			struct core_state s;
			struct core_config c;
			double sign = side == CORE_RIGHT ? 1.0 : -1.0;
			double reach, slope;
			unsigned ev;

			setup_play(&s, &c);
			s.paddle_y[side] = 10.0;
			reach = c.paddle_half_h + CORE_BALL_R;
			put_ball(&s, sign * (CONTACT_X - 0.5), 10.0 + offsets[i] * reach, sign * 60, 0);
			ev = core_step(&s, &c, CORE_MOVE_STAY, CORE_MOVE_STAY);

			cr_assert(ev & CORE_EV_HIT(side), "side %d offset %g: no hit, events 0x%x", side, offsets[i], ev);
			cr_assert_eq(s.returns[side], 1u, "side %d offset %g: returns %u", side, offsets[i], s.returns[side]);
			cr_assert(sign * s.ball.vx < 0, "side %d offset %g: ball still heading out, vx %g", side, offsets[i], s.ball.vx);
			slope = s.ball.vy / fabs(s.ball.vx);
			cr_assert_float_eq(slope, offsets[i] * c.bounce_max_slope, 1e-9,
					   "side %d offset %g: exit slope %g", side, offsets[i], slope);
			cr_assert_float_eq(s.ball.speed, 60 + c.speedup_per_return, 1e-9,
					   "side %d offset %g: speed %g", side, offsets[i], s.ball.speed);
			cr_assert_float_eq(hypot(s.ball.vx, s.ball.vy), s.ball.speed, 1e-9,
					   "side %d offset %g: |v| differs from speed", side, offsets[i]);
		}
	}
}

Test(core, paddle_misses_beyond_reach)
{
	struct core_state s;
	struct core_config c;
	unsigned ev;

	setup_play(&s, &c);
	put_ball(&s, CONTACT_X - 0.5, c.paddle_half_h + CORE_BALL_R + 1e-9, 60, 0);
	ev = run_still(&s, &c, 100);

	cr_assert_not(ev & CORE_EV_HIT_RIGHT, "ball just beyond the corner was returned");
	cr_assert(ev & CORE_EV_POINT_LEFT, "missed ball did not score for the left, events 0x%x", ev);
}

/* A ball that passed a face is not returned even if the paddle moves onto
 * it afterwards. */
Test(core, paddle_behind_face_does_not_return)
{
	struct core_state s;
	struct core_config c;
	unsigned ev = 0;

	setup_play(&s, &c);
	s.paddle_y[CORE_RIGHT] = 20.0;
	put_ball(&s, CONTACT_X + 0.5, 8.0, 30, 0);
	for (int i = 0; i < 100 && s.phase == CORE_PHASE_PLAY; i++)
		ev |= core_step(&s, &c, CORE_MOVE_STAY, CORE_MOVE_UP);

	cr_assert_not(ev & CORE_EV_HIT_RIGHT, "ball behind the face was returned");
	cr_assert(ev & CORE_EV_POINT_LEFT, "no point for the left, events 0x%x", ev);
}

Test(core, scoring_each_side)
{
	for (int side = 0; side < 2; side++) {
		struct core_state s;
		struct core_config c;
		double sign = side == CORE_RIGHT ? 1.0 : -1.0;
		int scorer = !side;
		unsigned ev;

		setup_play(&s, &c);
		s.paddle_y[side] = -37.0;
		put_ball(&s, sign * 60, 30, sign * 120, 0);
		ev = run_still(&s, &c, 100);

		cr_assert(ev & CORE_EV_POINT(scorer), "ball past side %d: no point for %d, events 0x%x", side, scorer, ev);
		cr_assert_not(ev & CORE_EV_POINT(side), "ball past side %d scored for that side", side);
		cr_assert_eq(s.score[scorer], 1u, "scorer's score is %u", s.score[scorer]);
		cr_assert_eq(s.score[side], 0u, "loser's score is %u", s.score[side]);
		cr_assert_eq(s.phase, CORE_PHASE_ROUND_OVER, "phase after a point is %d", s.phase);
		cr_assert_eq((int)s.last_result, scorer, "last_result is %d", s.last_result);
		cr_assert_float_eq(s.ball.x, sign * CORE_FIELD_W / 2, 1e-12, "ball stopped at x %g, not on the goal line", s.ball.x);
		cr_assert_eq(s.round, 1u, "round count after a point is %u", s.round);
	}
}

Test(core, step_after_round_is_noop)
{
	struct core_state s, before;
	struct core_config c;
	unsigned ev;

	setup_play(&s, &c);
	put_ball(&s, 70, 30, 120, 0);
	s.paddle_y[CORE_RIGHT] = -37.0;
	run_still(&s, &c, 100);
	before = s;
	ev = core_step(&s, &c, CORE_MOVE_UP, CORE_MOVE_DOWN);

	cr_assert_eq(ev, 0u, "step in ROUND_OVER returned events 0x%x", ev);
	cr_assert(core_state_equal(&s, &before), "step in ROUND_OVER changed the state");
}

Test(core, serve_waits_then_launches)
{
	struct core_state s;
	struct core_config c;
	struct core_ball ball;
	unsigned ev;

	core_config_default(&c);
	core_init(&s, &c, 99);
	ball = s.ball;

	cr_assert_eq(s.phase, CORE_PHASE_SERVE, "phase after init is %d", s.phase);
	cr_assert_eq(s.server, CORE_LEFT, "first server is %d", s.server);
	for (uint32_t i = 0; i < c.serve_wait_steps; i++) {
		ev = core_step(&s, &c, CORE_MOVE_STAY, CORE_MOVE_STAY);
		cr_assert_eq(ev, 0u, "wait step %u had events 0x%x", i, ev);
		cr_assert(memcmp(&s.ball, &ball, sizeof(ball)) == 0, "ball moved during wait step %u", i);
	}
	ev = core_step(&s, &c, CORE_MOVE_STAY, CORE_MOVE_STAY);
	cr_assert(ev & CORE_EV_SERVE, "no serve event after the wait, events 0x%x", ev);
	cr_assert_eq(s.phase, CORE_PHASE_PLAY, "phase after the serve is %d", s.phase);
	cr_assert_float_eq(s.ball.x, ball.vx * CORE_STEP_S, 1e-12, "ball x after the serve step is %g", s.ball.x);
}

/* Serves alternate every round, regardless of who scored. Each goes away
 * from the server at the serve speed with a bounded random slope and height. */
Test(core, serve_alternates)
{
	struct core_state s;
	struct core_config c;
	struct ctrl a, b;
	double first_slope = 0;
	bool slopes_differ = false;

	core_config_default(&c);
	core_init(&s, &c, 5);
	ctrl_random_init(&a, CORE_LEFT, 5, 1);
	ctrl_random_init(&b, CORE_RIGHT, 5, 2);
	for (int round = 0; round < 8; round++) {
		enum core_side server = round % 2 == 0 ? CORE_LEFT : CORE_RIGHT;
		double slope = s.ball.vy / fabs(s.ball.vx);

		cr_assert_eq(s.server, server, "round %d served by %d", round, s.server);
		cr_assert(server == CORE_LEFT ? s.ball.vx > 0 : s.ball.vx < 0,
			  "round %d: serve vx %g heads toward the server", round, s.ball.vx);
		cr_assert(fabs(slope) <= c.serve_max_slope, "round %d: serve slope %g", round, slope);
		cr_assert(fabs(s.ball.y) <= CORE_FIELD_H / 4, "round %d: serve y %g", round, s.ball.y);
		cr_assert_eq(s.ball.x, 0.0, "round %d: serve x %g", round, s.ball.x);
		cr_assert_float_eq(s.ball.speed, c.serve_speed_per_s, 1e-12, "round %d: serve speed %g", round, s.ball.speed);
		if (round == 0)
			first_slope = slope;
		else if (slope != first_slope)
			slopes_differ = true;

		while (s.phase == CORE_PHASE_SERVE || s.phase == CORE_PHASE_PLAY)
			core_step(&s, &c, ctrl_decide(&a, &s, &c), ctrl_decide(&b, &s, &c));
		cr_assert_eq(s.phase, CORE_PHASE_ROUND_OVER, "round %d ended in phase %d", round, s.phase);
		core_next_round(&s, &c);
	}
	cr_assert(slopes_differ, "every serve had the same slope");
}

Test(core, speed_rises_to_cap)
{
	struct core_state s;
	struct core_config c;
	const double expected[] = { 76, 82, 88, 94, 100, 100, 100 };
	int hits = 0;

	setup_play(&s, &c);
	c.max_speed_per_s = 100;
	c.round_max_steps = 0;
	put_ball(&s, 0, 0, 70, 0);
	for (int i = 0; i < 2000 && hits < 7; i++) {
		unsigned ev = core_step(&s, &c, CORE_MOVE_STAY, CORE_MOVE_STAY);

		if (ev & (CORE_EV_HIT_LEFT | CORE_EV_HIT_RIGHT)) {
			cr_assert_float_eq(s.ball.speed, expected[hits], 1e-12, "speed after return %d is %g", hits + 1, s.ball.speed);
			hits++;
		}
	}
	cr_assert_eq(hits, 7, "only %d returns in 2000 steps", hits);
}

Test(core, paddle_speed_and_clamp)
{
	struct core_state s;
	struct core_config c;
	double step;

	setup_play(&s, &c);
	put_ball(&s, 0, 0, 0.001, 0);
	step = c.paddle_speed_per_s * CORE_STEP_S;

	core_step(&s, &c, CORE_MOVE_UP, CORE_MOVE_DOWN);
	cr_assert_float_eq(s.paddle_y[CORE_LEFT], -step, 1e-12, "UP moved the paddle to %g", s.paddle_y[CORE_LEFT]);
	cr_assert_float_eq(s.paddle_y[CORE_RIGHT], step, 1e-12, "DOWN moved the paddle to %g", s.paddle_y[CORE_RIGHT]);
	core_step(&s, &c, CORE_MOVE_STAY, CORE_MOVE_STAY);
	cr_assert_float_eq(s.paddle_y[CORE_LEFT], -step, 1e-12, "STAY moved the paddle to %g", s.paddle_y[CORE_LEFT]);

	for (int i = 0; i < 100; i++) {
		double before = s.paddle_y[CORE_LEFT];

		core_step(&s, &c, CORE_MOVE_UP, CORE_MOVE_DOWN);
		cr_assert(before - s.paddle_y[CORE_LEFT] <= step + 1e-12, "paddle moved %g in one step", before - s.paddle_y[CORE_LEFT]);
	}
	cr_assert_eq(s.paddle_y[CORE_LEFT], -core_paddle_y_max(&c), "left paddle stopped at %g, not at the top", s.paddle_y[CORE_LEFT]);
	cr_assert_eq(s.paddle_y[CORE_RIGHT], core_paddle_y_max(&c), "right paddle stopped at %g, not at the bottom", s.paddle_y[CORE_RIGHT]);
}

/* Where a ball starting at (x, y) crosses the right contact line, found by
 * walking the bounces one by one. */
static double crossing_y(double x, double y, double vx, double vy)
{
	double t = (CONTACT_X - x) / vx;
	double dy = vy * t;

	y += dy;
	while (y > WALL_Y || y < -WALL_Y)
		y = y > WALL_Y ? 2 * WALL_Y - y : -2 * WALL_Y - y;
	return y;
}

/* At 30 to 1000 units per step the ball may cross the field and bounce off
 * the walls within one step. A paddle on its path must still return it. */
Test(core, no_tunnelling_at_high_speed)
{
	struct rng r;

	rng_seed(&r, 2024);
	for (int i = 0; i < 500; i++) {
		struct core_state s;
		struct core_config c;
		double speed = 2000 + 60000 * rng_uniform(&r);
		double slope = 2.4 * rng_uniform(&r) - 1.2;
		double y0 = 80 * rng_uniform(&r) - 40;
		double norm = sqrt(1 + slope * slope);
		double cross = crossing_y(0, y0, speed / norm, slope * speed / norm);
		double limit;
		unsigned ev;

		setup_play(&s, &c);
		c.max_speed_per_s = 1e5;
		limit = core_paddle_y_max(&c);
		put_ball(&s, 0, y0, speed / norm, slope * speed / norm);

		s.paddle_y[CORE_RIGHT] = fmin(limit, fmax(-limit, cross));
		ev = 0;
		for (int k = 0; k < 100 && !(ev & CORE_EV_HIT_RIGHT) && s.phase == CORE_PHASE_PLAY; k++)
			ev |= core_step(&s, &c, CORE_MOVE_STAY, CORE_MOVE_STAY);
		cr_assert(ev & CORE_EV_HIT_RIGHT, "case %d: speed %g slope %g tunnelled through the paddle", i, speed, slope);

		setup_play(&s, &c);
		c.max_speed_per_s = 1e5;
		put_ball(&s, 0, y0, speed / norm, slope * speed / norm);
		s.paddle_y[CORE_RIGHT] = cross > 0 ? cross - 10 : cross + 10;
		ev = run_still(&s, &c, 100);
		cr_assert_not(ev & CORE_EV_HIT_RIGHT, "case %d: paddle 10 units away returned the ball", i);
		cr_assert(ev & CORE_EV_POINT_LEFT, "case %d: missed ball did not score", i);
	}
}

Test(core, draw_after_rally_returns)
{
	struct core_state s;
	struct core_config c;
	int hits = 0;
	unsigned ev = 0;

	setup_play(&s, &c);
	c.rally_max_returns = 3;
	put_ball(&s, 60, 0, 600, 0);
	for (int i = 0; i < 1000 && s.phase == CORE_PHASE_PLAY; i++) {
		ev = core_step(&s, &c, CORE_MOVE_STAY, CORE_MOVE_STAY);
		hits += !!(ev & CORE_EV_HIT_LEFT) + !!(ev & CORE_EV_HIT_RIGHT);
	}
	cr_assert(ev & CORE_EV_DRAW, "last step had no draw event, events 0x%x", ev);
	cr_assert_eq(hits, 3, "%d returns before the draw", hits);
	cr_assert_eq(s.phase, CORE_PHASE_ROUND_OVER, "phase after a draw is %d", s.phase);
	cr_assert_eq(s.last_result, CORE_RESULT_DRAW, "last_result is %d", s.last_result);
	cr_assert_eq(s.score[0] + s.score[1], 0u, "a draw changed the score");
}

Test(core, draw_after_round_steps)
{
	struct core_state s;
	struct core_config c;

	setup_play(&s, &c);
	c.round_max_steps = 100;
	put_ball(&s, 0, 0, 90, 0);
	for (int i = 1; i <= 100; i++) {
		unsigned ev = core_step(&s, &c, CORE_MOVE_STAY, CORE_MOVE_STAY);

		if (i < 100)
			cr_assert_not(ev & CORE_EV_DRAW, "draw at step %d of 100", i);
		else
			cr_assert(ev & CORE_EV_DRAW, "no draw at step 100, events 0x%x", ev);
	}
	cr_assert_eq(s.phase, CORE_PHASE_ROUND_OVER, "phase after the step limit is %d", s.phase);
}

Test(core, match_ends_at_points_to_win)
{
	struct core_state s, before;
	struct core_config c;
	struct ctrl a, b;
	int match_over_events = 0;

	core_config_default(&c);
	c.points_to_win = 3;
	core_init(&s, &c, 8);
	ctrl_random_init(&a, CORE_LEFT, 4, 3);
	ctrl_random_init(&b, CORE_RIGHT, 4, 4);
	for (int round = 0; round < 100 && s.phase != CORE_PHASE_MATCH_OVER; round++) {
		if (s.phase == CORE_PHASE_ROUND_OVER)
			core_next_round(&s, &c);
		while (s.phase == CORE_PHASE_SERVE || s.phase == CORE_PHASE_PLAY) {
			unsigned ev = core_step(&s, &c, ctrl_decide(&a, &s, &c), ctrl_decide(&b, &s, &c));

			if (ev & CORE_EV_MATCH_OVER) {
				match_over_events++;
				cr_assert(ev & CORE_EV_POINT(s.last_result), "match ended without a point, events 0x%x", ev);
			}
		}
	}
	cr_assert_eq(s.phase, CORE_PHASE_MATCH_OVER, "no match end in 100 rounds");
	cr_assert_eq(match_over_events, 1, "%d match-over events", match_over_events);
	cr_assert_eq(s.score[s.last_result], 3u, "winner has %u points", s.score[s.last_result]);
	cr_assert_lt(s.score[!s.last_result], 3u, "loser has %u points", s.score[!s.last_result]);

	before = s;
	cr_assert_eq(core_step(&s, &c, CORE_MOVE_UP, CORE_MOVE_UP), 0u, "step after the match returned events");
	cr_assert(core_state_equal(&s, &before), "step after the match changed the state");

	core_new_match(&s, &c);
	cr_assert_eq(s.score[0] + s.score[1], 0u, "new match kept the score");
	cr_assert_eq(s.round, 0u, "new match kept the round count");
	cr_assert_eq(s.phase, CORE_PHASE_SERVE, "new match phase is %d", s.phase);
	cr_assert_neq(s.server, before.server, "new match did not hand the serve over");
}

/* Features. */

Test(core, features_values_and_mirroring)
{
	struct core_state s;
	struct core_config c;
	float right[CORE_FEATURE_COUNT], left[CORE_FEATURE_COUNT];

	setup_play(&s, &c);
	put_ball(&s, 40, -22.5, 100, -50);
	s.paddle_y[CORE_LEFT] = 37;
	s.paddle_y[CORE_RIGHT] = -18.5;
	core_features(&s, &c, CORE_RIGHT, right);
	core_features(&s, &c, CORE_LEFT, left);

	cr_assert_float_eq(right[CORE_FEAT_BALL_X], 0.5f, 1e-7, "right ball x %g", right[CORE_FEAT_BALL_X]);
	cr_assert_float_eq(right[CORE_FEAT_BALL_Y], -0.5f, 1e-7, "right ball y %g", right[CORE_FEAT_BALL_Y]);
	cr_assert_float_eq(right[CORE_FEAT_BALL_VX], 0.5f, 1e-7, "right vx %g", right[CORE_FEAT_BALL_VX]);
	cr_assert_float_eq(right[CORE_FEAT_BALL_VY], -0.25f, 1e-7, "right vy %g", right[CORE_FEAT_BALL_VY]);
	cr_assert_float_eq(right[CORE_FEAT_OWN_Y], -0.5f, 1e-7, "right own y %g", right[CORE_FEAT_OWN_Y]);
	cr_assert_float_eq(right[CORE_FEAT_OPP_Y], 1.0f, 1e-7, "right opponent y %g", right[CORE_FEAT_OPP_Y]);

	cr_assert_float_eq(left[CORE_FEAT_BALL_X], -0.5f, 1e-7, "left ball x %g", left[CORE_FEAT_BALL_X]);
	cr_assert_float_eq(left[CORE_FEAT_BALL_Y], -0.5f, 1e-7, "left ball y %g", left[CORE_FEAT_BALL_Y]);
	cr_assert_float_eq(left[CORE_FEAT_BALL_VX], -0.5f, 1e-7, "left vx %g", left[CORE_FEAT_BALL_VX]);
	cr_assert_float_eq(left[CORE_FEAT_BALL_VY], -0.25f, 1e-7, "left vy %g", left[CORE_FEAT_BALL_VY]);
	cr_assert_float_eq(left[CORE_FEAT_OWN_Y], 1.0f, 1e-7, "left own y %g", left[CORE_FEAT_OWN_Y]);
	cr_assert_float_eq(left[CORE_FEAT_OPP_Y], -0.5f, 1e-7, "left opponent y %g", left[CORE_FEAT_OPP_Y]);
}

/* Plays a game A and its mirror image B (mirrored start, moves swapped).
 * At every step B must be A mirrored, bit for bit, and each player's view
 * in A must equal the other side's view in B. Also checks every feature
 * stays in [-1, 1]. */
Test(core, features_mirror_symmetric_game)
{
	struct core_state a, b, back;
	struct core_config c;
	struct ctrl ta, ra;
	struct ctrl_tracker_params params;
	int frames = 0;

	core_config_default(&c);
	c.points_to_win = 5;
	core_init(&a, &c, 77);
	b = a;
	core_mirror(&b);
	back = b;
	core_mirror(&back);
	cr_assert(core_state_equal(&back, &a), "mirroring twice changed the state");

	ctrl_tracker_params_default(&params);
	ctrl_tracker_init(&ta, CORE_LEFT, &params, 3);
	ctrl_random_init(&ra, CORE_RIGHT, 6, 4);

	while (a.phase != CORE_PHASE_MATCH_OVER && frames < 200000) {
		float fa[CORE_FEATURE_COUNT], fb[CORE_FEATURE_COUNT];
		enum core_move ml, mr;
		unsigned ea, eb;

		if (a.phase == CORE_PHASE_ROUND_OVER) {
			core_next_round(&a, &c);
			core_next_round(&b, &c);
		}
		for (int side = 0; side < 2; side++) {
			core_features(&a, &c, side, fa);
			core_features(&b, &c, !side, fb);
			cr_assert(memcmp(fa, fb, sizeof(fa)) == 0, "frame %d: side %d view differs from the mirrored game's", frames, side);
			for (int k = 0; k < CORE_FEATURE_COUNT; k++)
				cr_assert(fa[k] >= -1.0f && fa[k] <= 1.0f, "frame %d: feature %d is %g", frames, k, fa[k]);
		}

		ml = ctrl_decide(&ta, &a, &c);
		mr = ctrl_decide(&ra, &a, &c);
		ea = core_step(&a, &c, ml, mr);
		eb = core_step(&b, &c, mr, ml);
		cr_assert_eq(!!(ea & CORE_EV_HIT_LEFT), !!(eb & CORE_EV_HIT_RIGHT), "frame %d: hit events not mirrored", frames);
		cr_assert_eq(!!(ea & CORE_EV_POINT_LEFT), !!(eb & CORE_EV_POINT_RIGHT), "frame %d: point events not mirrored", frames);

		back = b;
		core_mirror(&back);
		cr_assert(core_state_equal(&back, &a), "frame %d: mirrored game diverged", frames);
		frames++;
	}
	cr_assert_eq(a.phase, CORE_PHASE_MATCH_OVER, "match did not end in %d frames", frames);
}

/* Replay. tests/data/core_replay.moves contains the seed, the rules that differ
 * from the defaults and one character per step ('0' + 3 * left + right);
 * tests/data/core_replay.expected contains core_state_format() of the final
 * state. tests/data/core_replay_gen.c wrote both. */

struct replay {
	uint64_t seed;
	uint32_t points_to_win;
	char *moves;
	size_t count;
};

static void replay_load(struct replay *r, const char *path)
{
	FILE *f = fopen(path, "r");
	char line[256];
	size_t cap = 1 << 16;

	cr_assert_not_null(f, "cannot open %s; run the tests from the repository root", path);
	memset(r, 0, sizeof(*r));
	r->moves = malloc(cap);
	cr_assert_not_null(r->moves, "out of memory");
	while (fgets(line, sizeof(line), f)) {
		unsigned long long seed;
		unsigned points;

		if (line[0] == '#')
			continue;
		if (sscanf(line, "seed %llu", &seed) == 1) {
			r->seed = seed;
			continue;
		}
		if (sscanf(line, "points_to_win %u", &points) == 1) {
			r->points_to_win = points;
			continue;
		}
		for (char *p = line; *p >= '0' && *p <= '8'; p++) {
			if (r->count == cap) {
				cap *= 2;
				r->moves = realloc(r->moves, cap);
				cr_assert_not_null(r->moves, "out of memory");
			}
			r->moves[r->count++] = *p;
		}
	}
	fclose(f);
	cr_assert_gt(r->count, 0u, "%s holds no moves", path);
	cr_assert_gt(r->points_to_win, 0u, "%s has no points_to_win line", path);
}

static void replay_run(const struct replay *r, struct core_state *s)
{
	struct core_config c;

	core_config_default(&c);
	c.points_to_win = r->points_to_win;
	core_init(s, &c, r->seed);
	for (size_t i = 0; i < r->count; i++) {
		int code = r->moves[i] - '0';

		if (s->phase == CORE_PHASE_ROUND_OVER)
			core_next_round(s, &c);
		cr_assert_neq(s->phase, CORE_PHASE_MATCH_OVER, "match over before move %zu of %zu", i, r->count);
		core_step(s, &c, (enum core_move)(code / 3), (enum core_move)(code % 3));
	}
}

Test(core, replay_is_bit_exact)
{
	struct replay r;
	struct core_state first, second;
	char got[1024], want[1024];
	FILE *f;

	replay_load(&r, "tests/data/core_replay.moves");
	replay_run(&r, &first);
	replay_run(&r, &second);
	free(r.moves);
	cr_assert(core_state_equal(&first, &second), "two replays of the same moves differ");
	cr_assert_eq(first.phase, CORE_PHASE_MATCH_OVER, "replay did not reach the end of the match");

	f = fopen("tests/data/core_replay.expected", "r");
	cr_assert_not_null(f, "cannot open tests/data/core_replay.expected");
	cr_assert_not_null(fgets(want, sizeof(want), f), "tests/data/core_replay.expected is empty");
	fclose(f);
	want[strcspn(want, "\n")] = '\0';
	core_state_format(&first, got, sizeof(got));
	cr_assert_str_eq(got, want, "final state differs from the recorded one; if physics changed on purpose, "
			 "regenerate with tests/data/core_replay_gen.c\n got: %s\nwant: %s", got, want);
}

Test(core, state_format_is_exact)
{
	struct core_state s;
	struct core_config c;
	char buf[1024];
	double x;

	core_config_default(&c);
	core_init(&s, &c, 3);
	s.ball.x = 0.1;
	core_state_format(&s, buf, sizeof(buf));
	cr_assert_eq(sscanf(buf, "ball_x=%la", &x), 1, "cannot parse '%s'", buf);
	cr_assert(x == 0.1, "ball_x read back as %.17g", x);
}
