/* core: Pong's state, rules, fixed-step physics and the network's features.
 *
 * Field and units. Positions are in field units with the origin at the centre
 * of the field: x runs from -CORE_FIELD_W/2 (left goal line) to +CORE_FIELD_W/2
 * (right goal line), and y from -CORE_FIELD_H/2 (top wall) to +CORE_FIELD_H/2
 * (bottom wall). y grows downward, as terminal rows do, so CORE_MOVE_UP moves a
 * paddle toward smaller y. Speeds are in field units per second. Player 0
 * (CORE_LEFT) defends the left goal and player 1 (CORE_RIGHT) the right one.
 *
 * Time. core_step() advances exactly CORE_STEP_S = 1/60 s; one step is one
 * recorded frame. Nothing depends on the frame rate or the terminal size.
 *
 * Invariants of a state between steps:
 *  1. |paddle_y| <= core_paddle_y_max(config) for both paddles.
 *  2. The ball's centre stays within the walls shrunk by CORE_BALL_R:
 *     |ball.y| <= CORE_FIELD_H/2 - CORE_BALL_R.
 *  3. A paddle's face is checked once per crossing: a ball whose centre has
 *     passed the contact line x = -/+(CORE_PADDLE_FACE_X - CORE_BALL_R) can
 *     no longer be returned on that side and goes on to the goal line.
 *  4. Only the phase changes what a step does:
 *       SERVE --(wait over)--> PLAY --(point or draw)--> ROUND_OVER
 *       ROUND_OVER --core_next_round()--> SERVE
 *       PLAY --(point that ends the match)--> MATCH_OVER
 *       any --core_new_match()--> SERVE
 *     core_step() in ROUND_OVER or MATCH_OVER changes nothing.
 *
 * Determinism. The step uses only +, -, *, / and sqrt on doubles, which IEEE
 * 754 rounds exactly, and draws randomness from the state's own generator. The
 * same seed, config and moves therefore give the same state bit for bit, as
 * long as a*b+c is not fused into one multiply-add (core.c turns contraction
 * off for Clang; GCC contracts only with -ffp-contract=fast or -ffast-math). */
#ifndef TTYPONG_CORE_H
#define TTYPONG_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rng.h"

/* Field geometry, in field units. The paddles' faces are the inner edges at
 * x = -/+CORE_PADDLE_FACE_X; each paddle is CORE_PADDLE_W deep behind its
 * face, which only matters for drawing. The ball is a disc of radius
 * CORE_BALL_R; collisions use its centre against the walls and faces moved
 * inward by that radius. */
#define CORE_FIELD_W 160.0
#define CORE_FIELD_H 90.0
#define CORE_PADDLE_FACE_X 72.0
#define CORE_PADDLE_W 2.0
#define CORE_BALL_R 1.0

/* The fixed time step: 60 steps per second. */
#define CORE_STEP_HZ 60
#define CORE_STEP_S (1.0 / CORE_STEP_HZ)

enum core_side {
	CORE_LEFT = 0,
	CORE_RIGHT = 1,
};

/* A paddle's move for one step, also the network's output class. */
enum core_move {
	CORE_MOVE_UP = 0,	/* toward smaller y, the top wall */
	CORE_MOVE_STAY = 1,
	CORE_MOVE_DOWN = 2,	/* toward larger y, the bottom wall */
};
#define CORE_MOVE_COUNT 3

/* Outcome of a round. A win's value equals the winning side. */
enum core_result {
	CORE_RESULT_LEFT = 0,
	CORE_RESULT_RIGHT = 1,
	CORE_RESULT_DRAW = 2,
	CORE_RESULT_NONE = 3,	/* no round has ended yet */
};

enum core_phase {
	CORE_PHASE_SERVE,	/* ball held at its serve spot; paddles move */
	CORE_PHASE_PLAY,
	CORE_PHASE_ROUND_OVER,
	CORE_PHASE_MATCH_OVER,
};

/* Events of one step, as bits of core_step()'s return value. */
enum core_event {
	CORE_EV_SERVE = 1u << 0,	/* the ball was launched this step */
	CORE_EV_WALL = 1u << 1,		/* the ball bounced off the top or bottom wall */
	CORE_EV_HIT_LEFT = 1u << 2,	/* the left paddle returned the ball */
	CORE_EV_HIT_RIGHT = 1u << 3,
	CORE_EV_POINT_LEFT = 1u << 4,	/* the left player scored */
	CORE_EV_POINT_RIGHT = 1u << 5,
	CORE_EV_DRAW = 1u << 6,		/* the rally hit its limit: round drawn */
	CORE_EV_MATCH_OVER = 1u << 7,	/* the point also ended the match */
};
#define CORE_EV_HIT(side) (CORE_EV_HIT_LEFT << (side))
#define CORE_EV_POINT(side) (CORE_EV_POINT_LEFT << (side))

/* The network's input features, in this order. See core_features(). */
enum core_feature {
	CORE_FEAT_BALL_X,
	CORE_FEAT_BALL_Y,
	CORE_FEAT_BALL_VX,
	CORE_FEAT_BALL_VY,
	CORE_FEAT_OWN_Y,
	CORE_FEAT_OPP_Y,
};
#define CORE_FEATURE_COUNT 6

/* Tunable rules. core_config_default() fills in the defaults noted here. */
struct core_config {
	double paddle_half_h;		/* 8: half the paddle's height, units */
	double paddle_speed_per_s;	/* 90: paddle speed while moving, units/s */
	double serve_speed_per_s;	/* 70: ball speed at the serve, units/s */
	double speedup_per_return;	/* 6: speed added per return, units/s */
	double max_speed_per_s;		/* 200: cap on the ball's speed, units/s */
	double bounce_max_slope;	/* 1.2: |vy/vx| after an edge hit (about 50 degrees) */
	double serve_max_slope;		/* 0.5: serves draw |vy/vx| uniformly up to this */
	uint32_t serve_wait_steps;	/* 30: steps the ball rests before a serve */
	uint32_t points_to_win;		/* 11: first to this many points wins the match */
	uint32_t rally_max_returns;	/* 0: a draw once this many returns; 0 = no limit */
	uint32_t round_max_steps;	/* 7200: a draw after this many steps; 0 = no limit */
};

struct core_ball {
	double x, y;		/* centre, units */
	double vx, vy;		/* units/s */
	double speed;		/* |(vx, vy)|, kept exactly as set, units/s */
};

/* The whole game. It contains no pointers, so a plain copy is a snapshot. */
struct core_state {
	struct core_ball ball;
	double paddle_y[2];		/* centre of each paddle, units */
	struct rng rng;			/* serve randomness */
	uint64_t steps;			/* steps since core_init() */
	enum core_phase phase;
	enum core_side server;		/* who serves this round; the ball goes away from them */
	enum core_result last_result;	/* how the latest finished round ended */
	uint32_t score[2];
	uint32_t round;			/* rounds finished in this match */
	uint32_t round_steps;		/* steps of this round, serve wait included */
	uint32_t serve_wait;		/* steps left before the ball is launched */
	uint32_t returns[2];		/* returns by each side in this round */
};

/* Fills c with the default rules listed in struct core_config. */
void core_config_default(struct core_config *c);

/* Checks c. Returns NULL if it is usable, or a static message naming the
 * first invalid field and its valid range. */
const char *core_config_check(const struct core_config *c);

/* Returns the largest |paddle_y| allowed by the walls, in units. */
double core_paddle_y_max(const struct core_config *c);

/* Starts a match from seed: scores zero, paddles centred, the left player
 * serving first, and the first serve set up. c must pass core_config_check. */
void core_init(struct core_state *s, const struct core_config *c, uint64_t seed);

/* Starts a new match on s: scores and round count zero, paddles centred. The
 * generator and the serve alternation carry on from s. */
void core_new_match(struct core_state *s, const struct core_config *c);

/* Sets up the next round after a point or a draw (phase ROUND_OVER): the
 * other player serves, the ball rests at a seeded random spot on the centre
 * line, and the rally counters restart. */
void core_next_round(struct core_state *s, const struct core_config *c);

/* Advances s by one step of CORE_STEP_S. Paddles move first, at full speed
 * and clamped by the walls. Then the ball sweeps through the step against the
 * walls, the moved paddles and the goal lines, so no collision is skipped at
 * any speed. Returns the events of the step as enum core_event bits. Does
 * nothing and returns 0 in ROUND_OVER and MATCH_OVER. */
unsigned core_step(struct core_state *s, const struct core_config *c,
		   enum core_move left, enum core_move right);

/* Writes the six features seen by side into out, in enum core_feature order.
 * The view is always the right player's: for CORE_LEFT, x and vx are negated,
 * so the own paddle is at +x and a ball coming toward it has vx > 0; y is never
 * mirrored, so a move keeps its meaning. Scaling: x by CORE_FIELD_W/2, y by
 * CORE_FIELD_H/2, vx and vy by c->max_speed_per_s, paddle centres by
 * core_paddle_y_max(c). Each feature is therefore within [-1, 1]. */
void core_features(const struct core_state *s, const struct core_config *c,
		   enum core_side side, float out[CORE_FEATURE_COUNT]);

/* Mirrors s left to right in place: negates x and vx and swaps every per-side
 * field (paddles, scores, returns, server, results). A zero x or vx stays +0,
 * so mirroring twice restores every state the core produces bit for bit (the
 * core never stores -0). */
void core_mirror(struct core_state *s);

/* Returns true if a and b are equal bit for bit, field by field. */
bool core_state_equal(const struct core_state *a, const struct core_state *b);

/* Writes s as one line of "name=value" pairs, doubles as C99 hex floats so
 * that the text is exact. Returns what snprintf returns. */
int core_state_format(const struct core_state *s, char *buf, size_t len);

#endif
