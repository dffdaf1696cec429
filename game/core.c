/* core: Pong's rules and fixed-step physics. See core.h for the field, the
 * units and the invariants of a state. */
#include "core.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Bit-exact replays need a*b+c rounded twice, never fused. Clang fuses by
 * default on targets with FMA; GCC fuses only with -ffp-contract=fast, which
 * -std=c11 turns off, and it warns on this pragma. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

/* Ball-centre coordinates of the contact with a wall, a paddle face and a goal line. */
#define CORE_WALL_Y (CORE_FIELD_H / 2 - CORE_BALL_R)
#define CORE_CONTACT_X (CORE_PADDLE_FACE_X - CORE_BALL_R)
#define CORE_GOAL_X (CORE_FIELD_W / 2)

/* Kind of the ball's next contact within a step. */
enum core_contact {
	CORE_CONTACT_NONE,
	CORE_CONTACT_WALL,
	CORE_CONTACT_PADDLE,
	CORE_CONTACT_GOAL,
};

void core_config_default(struct core_config *c)
{
	c->paddle_half_h = 8.0;
	c->paddle_speed_per_s = 90.0;
	c->serve_speed_per_s = 70.0;
	c->speedup_per_return = 6.0;
	c->max_speed_per_s = 200.0;
	c->bounce_max_slope = 1.2;
	c->serve_max_slope = 0.5;
	c->serve_wait_steps = 30;
	c->points_to_win = 11;
	c->rally_max_returns = 0;
	c->round_max_steps = 7200;
}

/* The "!(a > b)" forms also reject NaN. */
const char *core_config_check(const struct core_config *c)
{
	if (!(c->paddle_half_h > 0) || !(c->paddle_half_h < CORE_FIELD_H / 2))
		return "paddle_half_h must be in (0, 45) units";
	if (!(c->paddle_speed_per_s >= 0) || !isfinite(c->paddle_speed_per_s))
		return "paddle_speed_per_s must be finite and >= 0";
	if (!(c->serve_speed_per_s > 0))
		return "serve_speed_per_s must be > 0";
	if (!(c->speedup_per_return >= 0) || !isfinite(c->speedup_per_return))
		return "speedup_per_return must be finite and >= 0";
	if (!(c->max_speed_per_s >= c->serve_speed_per_s) || !isfinite(c->max_speed_per_s))
		return "max_speed_per_s must be finite and >= serve_speed_per_s";
	if (!(c->bounce_max_slope >= 0) || !isfinite(c->bounce_max_slope))
		return "bounce_max_slope must be finite and >= 0";
	if (!(c->serve_max_slope >= 0) || !isfinite(c->serve_max_slope))
		return "serve_max_slope must be finite and >= 0";
	if (c->points_to_win < 1)
		return "points_to_win must be >= 1";
	if (c->round_max_steps != 0 && c->round_max_steps <= c->serve_wait_steps)
		return "round_max_steps must be 0 or greater than serve_wait_steps";
	return NULL;
}

/* Returns v limited to [lo, hi], with plain comparisons and no libm call. */
static double core_clamp(double v, double lo, double hi)
{
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return v;
}

double core_paddle_y_max(const struct core_config *c)
{
	return CORE_FIELD_H / 2 - c->paddle_half_h;
}

/* Sets the ball's velocity to speed along (dir_x, slope * dir_x), where
 * dir_x is -1 or +1. Only sqrt is used, so the result is exact to IEEE. */
static void core_ball_aim(struct core_ball *b, double dir_x, double slope,
			  double speed)
{
	double norm = sqrt(1.0 + slope * slope);

	b->speed = speed;
	b->vx = dir_x * speed / norm;
	b->vy = slope * speed / norm;
}

/* Puts the ball on the centre line at a random height, aimed away from the
 * server at a random slope, and starts the serve wait. */
static void core_setup_serve(struct core_state *s, const struct core_config *c)
{
	double dir_x = s->server == CORE_LEFT ? 1.0 : -1.0;
	double y = (rng_uniform(&s->rng) - 0.5) * (CORE_FIELD_H / 2);
	double slope = (2.0 * rng_uniform(&s->rng) - 1.0) * c->serve_max_slope;

	s->ball.x = 0.0;
	s->ball.y = y;
	core_ball_aim(&s->ball, dir_x, slope, c->serve_speed_per_s);

	s->phase = CORE_PHASE_SERVE;
	s->serve_wait = c->serve_wait_steps;
	s->round_steps = 0;
	s->returns[0] = 0;
	s->returns[1] = 0;
}

void core_init(struct core_state *s, const struct core_config *c, uint64_t seed)
{
	assert(core_config_check(c) == NULL);
	memset(s, 0, sizeof(*s));
	rng_seed(&s->rng, seed);

	/* core_new_match() hands the serve over, so this makes LEFT serve. */
	s->server = CORE_RIGHT;
	core_new_match(s, c);
}

void core_new_match(struct core_state *s, const struct core_config *c)
{
	s->score[0] = 0;
	s->score[1] = 0;
	s->round = 0;
	s->last_result = CORE_RESULT_NONE;
	s->paddle_y[0] = 0.0;
	s->paddle_y[1] = 0.0;
	s->server = !s->server;
	core_setup_serve(s, c);
}

void core_next_round(struct core_state *s, const struct core_config *c)
{
	assert(s->phase == CORE_PHASE_ROUND_OVER);
	s->server = !s->server;
	core_setup_serve(s, c);
}

static double core_move_dir(enum core_move m)
{
	assert(m == CORE_MOVE_UP || m == CORE_MOVE_STAY || m == CORE_MOVE_DOWN);
	return (double)m - 1.0;
}

static void core_move_paddles(struct core_state *s, const struct core_config *c,
			      enum core_move left, enum core_move right)
{
	double step = c->paddle_speed_per_s * CORE_STEP_S;
	double limit = core_paddle_y_max(c);
	enum core_move moves[2] = { left, right };

	for (int side = 0; side < 2; side++) {
		double y = s->paddle_y[side] + core_move_dir(moves[side]) * step;

		s->paddle_y[side] = core_clamp(y, -limit, limit);
	}
}

/* Ends the round with result and returns the matching events. */
static unsigned core_end_round(struct core_state *s, const struct core_config *c,
			       enum core_result result)
{
	s->last_result = result;
	s->round++;
	s->phase = CORE_PHASE_ROUND_OVER;
	if (result == CORE_RESULT_DRAW)
		return CORE_EV_DRAW;

	s->score[result]++;
	if (s->score[result] >= c->points_to_win) {
		s->phase = CORE_PHASE_MATCH_OVER;
		return CORE_EV_POINT(result) | CORE_EV_MATCH_OVER;
	}
	return CORE_EV_POINT(result);
}

/* Returns the ball from side's paddle. The hit offset, from -1 at the top
 * edge to +1 at the bottom edge (corners included), sets the slope linearly,
 * and the ball gains speed up to the cap. */
static void core_bounce_paddle(struct core_state *s, const struct core_config *c,
			       int side)
{
	double reach = c->paddle_half_h + CORE_BALL_R;
	double offset = (s->ball.y - s->paddle_y[side]) / reach;
	double speed = s->ball.speed + c->speedup_per_return;
	double dir_x = side == CORE_LEFT ? 1.0 : -1.0;

	offset = core_clamp(offset, -1.0, 1.0);
	if (speed > c->max_speed_per_s)
		speed = c->max_speed_per_s;
	core_ball_aim(&s->ball, dir_x, offset * c->bounce_max_slope, speed);
}

/* Finds the first contact of the ball within dt seconds. Returns its kind,
 * with the time in *t and, for a paddle or goal, the side in *side. Each
 * time is >= 0. A face counts only while the centre has not yet passed it
 * (invariant 3 in core.h). */
static enum core_contact core_next_contact(const struct core_ball *b, double dt,
					   double *t, int *side)
{
	enum core_contact kind = CORE_CONTACT_NONE;
	double best = dt;

	if (b->vy != 0.0) {
		double wall = b->vy < 0 ? -CORE_WALL_Y : CORE_WALL_Y;
		double tw = (wall - b->y) / b->vy;

		if (tw < 0)
			tw = 0;

		if (tw <= best) {
			best = tw;
			kind = CORE_CONTACT_WALL;
		}
	}

	if (b->vx != 0.0) {
		int toward = b->vx < 0 ? CORE_LEFT : CORE_RIGHT;
		double sign = toward == CORE_LEFT ? -1.0 : 1.0;
		double ahead = sign * b->x;

		if (ahead < CORE_CONTACT_X) {
			double tp = (CORE_CONTACT_X - ahead) / fabs(b->vx);

			if (tp <= best) {
				best = tp;
				kind = CORE_CONTACT_PADDLE;
				*side = toward;
			}
		} else {
			double tg = (CORE_GOAL_X - ahead) / fabs(b->vx);

			if (tg < 0)
				tg = 0;

			if (tg <= best) {
				best = tg;
				kind = CORE_CONTACT_GOAL;
				*side = toward;
			}
		}
	}

	*t = best;
	return kind;
}

/* Moves the ball through one step, handling contacts in time order. */
static unsigned core_move_ball(struct core_state *s, const struct core_config *c)
{
	struct core_ball *b = &s->ball;
	double left = CORE_STEP_S;
	unsigned events = 0;

	for (;;) {
		double t;
		int side = CORE_LEFT;
		enum core_contact kind = core_next_contact(b, left, &t, &side);

		b->x += b->vx * t;
		b->y += b->vy * t;
		left -= t;

		switch (kind) {
		case CORE_CONTACT_NONE:
			return events;
		case CORE_CONTACT_WALL:
			/* Snap to the wall so rounding never leaves the field. */
			b->y = b->vy < 0 ? -CORE_WALL_Y : CORE_WALL_Y;
			b->vy = -b->vy;
			events |= CORE_EV_WALL;
			break;
		case CORE_CONTACT_PADDLE: {
			double reach = c->paddle_half_h + CORE_BALL_R;

			b->x = side == CORE_LEFT ? -CORE_CONTACT_X : CORE_CONTACT_X;
			if (fabs(b->y - s->paddle_y[side]) > reach)
				break;	/* missed: the ball flies on behind the face */

			core_bounce_paddle(s, c, side);
			s->returns[side]++;
			events |= CORE_EV_HIT(side);
			if (c->rally_max_returns != 0 &&
			    s->returns[0] + s->returns[1] >= c->rally_max_returns)
				return events | core_end_round(s, c, CORE_RESULT_DRAW);
			break;
		}
		case CORE_CONTACT_GOAL:
			b->x = side == CORE_LEFT ? -CORE_GOAL_X : CORE_GOAL_X;
			return events | core_end_round(s, c, (enum core_result)!side);
		}
	}
}

unsigned core_step(struct core_state *s, const struct core_config *c,
		   enum core_move left, enum core_move right)
{
	unsigned events = 0;

	if (s->phase == CORE_PHASE_ROUND_OVER || s->phase == CORE_PHASE_MATCH_OVER)
		return 0;

	s->steps++;
	s->round_steps++;
	core_move_paddles(s, c, left, right);

	if (s->phase == CORE_PHASE_SERVE) {
		if (s->serve_wait > 0) {
			s->serve_wait--;
			return 0;
		}
		s->phase = CORE_PHASE_PLAY;
		events |= CORE_EV_SERVE;
	}

	events |= core_move_ball(s, c);
	if (s->phase == CORE_PHASE_PLAY && c->round_max_steps != 0 &&
	    s->round_steps >= c->round_max_steps)
		events |= core_end_round(s, c, CORE_RESULT_DRAW);
	return events;
}

/* Returns -v, but +0 for either zero. The core never makes -0 itself, so
 * mirrored states and views stay comparable bit for bit. */
static double core_negate(double v)
{
	return 0.0 - v;
}

void core_features(const struct core_state *s, const struct core_config *c,
		   enum core_side side, float out[CORE_FEATURE_COUNT])
{
	bool mirror = side == CORE_LEFT;
	double x = mirror ? core_negate(s->ball.x) : s->ball.x;
	double vx = mirror ? core_negate(s->ball.vx) : s->ball.vx;
	double paddle_scale = core_paddle_y_max(c);

	out[CORE_FEAT_BALL_X] = (float)(x / (CORE_FIELD_W / 2));
	out[CORE_FEAT_BALL_Y] = (float)(s->ball.y / (CORE_FIELD_H / 2));
	out[CORE_FEAT_BALL_VX] = (float)(vx / c->max_speed_per_s);
	out[CORE_FEAT_BALL_VY] = (float)(s->ball.vy / c->max_speed_per_s);
	out[CORE_FEAT_OWN_Y] = (float)(s->paddle_y[side] / paddle_scale);
	out[CORE_FEAT_OPP_Y] = (float)(s->paddle_y[!side] / paddle_scale);
}

static void core_swap_u32(uint32_t v[2])
{
	uint32_t t = v[0];

	v[0] = v[1];
	v[1] = t;
}

void core_mirror(struct core_state *s)
{
	double y = s->paddle_y[0];

	s->ball.x = core_negate(s->ball.x);
	s->ball.vx = core_negate(s->ball.vx);
	s->paddle_y[0] = s->paddle_y[1];
	s->paddle_y[1] = y;
	core_swap_u32(s->score);
	core_swap_u32(s->returns);
	s->server = !s->server;
	if (s->last_result == CORE_RESULT_LEFT || s->last_result == CORE_RESULT_RIGHT)
		s->last_result = !s->last_result;
}

static bool core_same_double(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

bool core_state_equal(const struct core_state *a, const struct core_state *b)
{
	return core_same_double(a->ball.x, b->ball.x) &&
	       core_same_double(a->ball.y, b->ball.y) &&
	       core_same_double(a->ball.vx, b->ball.vx) &&
	       core_same_double(a->ball.vy, b->ball.vy) &&
	       core_same_double(a->ball.speed, b->ball.speed) &&
	       core_same_double(a->paddle_y[0], b->paddle_y[0]) &&
	       core_same_double(a->paddle_y[1], b->paddle_y[1]) &&
	       memcmp(a->rng.s, b->rng.s, sizeof(a->rng.s)) == 0 &&
	       a->steps == b->steps && a->phase == b->phase &&
	       a->server == b->server && a->last_result == b->last_result &&
	       a->score[0] == b->score[0] && a->score[1] == b->score[1] &&
	       a->round == b->round && a->round_steps == b->round_steps &&
	       a->serve_wait == b->serve_wait &&
	       a->returns[0] == b->returns[0] && a->returns[1] == b->returns[1];
}

int core_state_format(const struct core_state *s, char *buf, size_t len)
{
	return snprintf(buf, len,
			"ball_x=%a ball_y=%a ball_vx=%a ball_vy=%a ball_speed=%a "
			"paddle_y0=%a paddle_y1=%a "
			"rng=%016" PRIx64 ":%016" PRIx64 ":%016" PRIx64 ":%016" PRIx64 " "
			"steps=%" PRIu64 " phase=%d server=%d last_result=%d "
			"score=%" PRIu32 ":%" PRIu32 " round=%" PRIu32
			" round_steps=%" PRIu32 " serve_wait=%" PRIu32
			" returns=%" PRIu32 ":%" PRIu32,
			s->ball.x, s->ball.y, s->ball.vx, s->ball.vy, s->ball.speed,
			s->paddle_y[0], s->paddle_y[1],
			s->rng.s[0], s->rng.s[1], s->rng.s[2], s->rng.s[3],
			s->steps, (int)s->phase, (int)s->server, (int)s->last_result,
			s->score[0], s->score[1], s->round,
			s->round_steps, s->serve_wait,
			s->returns[0], s->returns[1]);
}
