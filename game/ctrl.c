/* ctrl: the human, scripted tracker and random controllers. */
#include "ctrl.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Bit-exact replays need a*b+c rounded twice, never fused. Clang fuses by
 * default on targets with FMA; GCC fuses only with -ffp-contract=fast, which
 * -std=c11 turns off, and it warns on this pragma. */
#ifdef __clang__
#pragma STDC FP_CONTRACT OFF
#endif

#define CTRL_TRACKER_RING (CTRL_TRACKER_MAX_REACTION_STEPS + 1)
/* Ball-centre coordinates of the contact with a paddle face and with the walls. */
#define CTRL_CONTACT_X (CORE_PADDLE_FACE_X - CORE_BALL_R)
#define CTRL_WALL_Y (CORE_FIELD_H / 2 - CORE_BALL_R)

static void ctrl_init_common(struct ctrl *c, const struct ctrl_ops *ops,
			     enum core_side side)
{
	memset(c, 0, sizeof(*c));
	c->ops = ops;
	snprintf(c->name, sizeof(c->name), "%s", ops->kind);
	c->side = side;
	c->move = CORE_MOVE_STAY;
}

enum core_move ctrl_decide(struct ctrl *c, const struct core_state *s,
			   const struct core_config *cfg)
{
	c->move = c->ops->decide(c, s, cfg);
	assert(c->move == CORE_MOVE_UP || c->move == CORE_MOVE_STAY ||
	       c->move == CORE_MOVE_DOWN);
	return c->move;
}

void ctrl_round_start(struct ctrl *c)
{
	if (c->ops->round_start)
		c->ops->round_start(c);
}

/* Human: the UI sets the move from the keys. */

static enum core_move ctrl_human_decide(struct ctrl *c, const struct core_state *s,
					const struct core_config *cfg)
{
	(void)s;
	(void)cfg;
	return c->u.human.move;
}

static const struct ctrl_ops ctrl_human_ops = {
	.kind = "human",
	.decide = ctrl_human_decide,
};

void ctrl_human_init(struct ctrl *c, enum core_side side)
{
	ctrl_init_common(c, &ctrl_human_ops, side);
	c->u.human.move = CORE_MOVE_STAY;
}

void ctrl_human_set(struct ctrl *c, enum core_move move)
{
	assert(c->ops == &ctrl_human_ops);
	c->u.human.move = move;
}

/* Tracker: heads for the predicted crossing point, seen late and aimed
 * with a random error. */

/* Folds a height y computed as if there were no walls back between the
 * walls, where the bounces would put the ball. The path of a bouncing ball
 * is periodic in y with period 4 * CTRL_WALL_Y; fmod is exact in IEEE
 * arithmetic, so the result is deterministic. */
static double ctrl_fold_y(double y)
{
	double period = 4 * CTRL_WALL_Y;
	double u = fmod(y + CTRL_WALL_Y, period);

	if (u < 0)
		u += period;
	if (u > 2 * CTRL_WALL_Y)
		u = period - u;
	return u - CTRL_WALL_Y;
}

/* Returns the y at which ball b crosses the contact line of side, assuming
 * b moves toward it. */
static double ctrl_predict_y(const struct core_ball *b, enum core_side side)
{
	double sign = side == CORE_RIGHT ? 1.0 : -1.0;
	double t = (CTRL_CONTACT_X - sign * b->x) / fabs(b->vx);

	return ctrl_fold_y(b->y + b->vy * t);
}

/* Stores the newest ball and returns the one from reaction_steps ago, or the
 * oldest of this round when fewer steps have been seen. */
static const struct core_ball *ctrl_tracker_see(struct ctrl_tracker *t,
						const struct core_ball *now)
{
	uint32_t window = t->params.reaction_steps + 1;
	uint32_t back;

	t->seen_head = (t->seen_head + 1) % CTRL_TRACKER_RING;
	t->seen[t->seen_head] = *now;
	if (t->seen_count < window)
		t->seen_count++;

	back = t->seen_count - 1;
	return &t->seen[(t->seen_head + CTRL_TRACKER_RING - back) % CTRL_TRACKER_RING];
}

static enum core_move ctrl_tracker_decide(struct ctrl *c, const struct core_state *s,
					  const struct core_config *cfg)
{
	struct ctrl_tracker *t = &c->u.tracker;
	const struct core_ball *b = ctrl_tracker_see(t, &s->ball);
	double sign = c->side == CORE_RIGHT ? 1.0 : -1.0;
	bool toward = sign * b->vx > 0 && sign * b->x < CTRL_CONTACT_X;
	double target = 0.0;
	double gap;
	double dead_zone = cfg->paddle_speed_per_s * CORE_STEP_S / 2;

	/* A new approach gets a new aim error. */
	if (toward && !t->approaching)
		t->aim_offset = (2 * rng_uniform(&t->rng) - 1) * t->params.aim_error;
	t->approaching = toward;
	if (toward)
		target = ctrl_predict_y(b, c->side) + t->aim_offset;

	/* Stay within half a step of the target so the paddle never jitters
	 * around it. */
	gap = target - s->paddle_y[c->side];
	if (gap < -dead_zone)
		return CORE_MOVE_UP;
	if (gap > dead_zone)
		return CORE_MOVE_DOWN;
	return CORE_MOVE_STAY;
}

static void ctrl_tracker_round_start(struct ctrl *c)
{
	c->u.tracker.seen_count = 0;
	c->u.tracker.approaching = false;
}

static const struct ctrl_ops ctrl_tracker_ops = {
	.kind = "tracker",
	.decide = ctrl_tracker_decide,
	.round_start = ctrl_tracker_round_start,
};

void ctrl_tracker_params_default(struct ctrl_tracker_params *p)
{
	p->reaction_steps = 8;
	p->aim_error = 10.0;
}

void ctrl_tracker_init(struct ctrl *c, enum core_side side,
		       const struct ctrl_tracker_params *p, uint64_t seed)
{
	assert(p->reaction_steps <= CTRL_TRACKER_MAX_REACTION_STEPS);
	assert(p->aim_error >= 0);
	ctrl_init_common(c, &ctrl_tracker_ops, side);
	c->u.tracker.params = *p;
	rng_seed(&c->u.tracker.rng, seed);
}

/* Random: a uniform move, kept for hold_steps steps. */

static enum core_move ctrl_random_decide(struct ctrl *c, const struct core_state *s,
					 const struct core_config *cfg)
{
	struct ctrl_random *r = &c->u.random;

	(void)s;
	(void)cfg;
	if (r->held == 0)
		r->move = (enum core_move)rng_below(&r->rng, CORE_MOVE_COUNT);
	r->held = (r->held + 1) % r->hold_steps;
	return r->move;
}

static void ctrl_random_round_start(struct ctrl *c)
{
	c->u.random.held = 0;
}

static const struct ctrl_ops ctrl_random_ops = {
	.kind = "random",
	.decide = ctrl_random_decide,
	.round_start = ctrl_random_round_start,
};

void ctrl_random_init(struct ctrl *c, enum core_side side, uint32_t hold_steps,
		      uint64_t seed)
{
	assert(hold_steps >= 1);
	ctrl_init_common(c, &ctrl_random_ops, side);
	c->u.random.hold_steps = hold_steps;
	c->u.random.move = CORE_MOVE_STAY;
	rng_seed(&c->u.random.rng, seed);
}
