/* label: hindsight and human teachers for recorded frames. See label.h. */
#include "label.h"

#include <assert.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>

const char *label_teacher_name(enum label_teacher t)
{
	return t == LABEL_TEACHER_HUMAN ? "human" : "hindsight";
}

int label_teacher_parse(const char *name, enum label_teacher *out)
{
	if (strcmp(name, "hindsight") == 0) {
		*out = LABEL_TEACHER_HINDSIGHT;
		return 0;
	}
	if (strcmp(name, "human") == 0) {
		*out = LABEL_TEACHER_HUMAN;
		return 0;
	}
	return -1;
}

int label_toward(double own_y, double target_y, double dead_zone_units)
{
	double d = target_y - own_y;

	if (fabs(d) <= dead_zone_units)
		return LABEL_STAY;
	return d < 0 ? LABEL_UP : LABEL_DOWN;
}

/* A bouncing ball's height is periodic with period 4 * wall_y in the height
 * it would have without walls, and mirrored in the second half period. */
double label_fold_y(double y, double wall_y)
{
	double period = 4 * wall_y;
	double u = fmod(y + wall_y, period);

	if (u < 0)
		u += period;
	if (u > 2 * wall_y)
		u = period - u;
	return u - wall_y;
}

/* The ball of row f heads toward the own paddle and has not passed its
 * contact line yet. */
static bool label_approaching(const struct label_geom *g, const float *f)
{
	return f[LABEL_F_BALL_VX] > 0 && f[LABEL_F_BALL_X] * g->x_scale < g->contact_x;
}

/* Height where the ball of row f crosses the contact line if it flies
 * straight on, bouncing off the walls. */
static double label_crossing_y(const struct label_geom *g, const float *f)
{
	double x = f[LABEL_F_BALL_X] * g->x_scale;
	double y = f[LABEL_F_BALL_Y] * g->y_scale;
	double vx = f[LABEL_F_BALL_VX] * g->v_scale;
	double vy = f[LABEL_F_BALL_VY] * g->v_scale;

	return label_fold_y(y + vy * (g->contact_x - x) / vx, g->wall_y);
}

int label_for_target(const struct label_geom *g, const struct label_opts *o, float own,
		     double target_y)
{
	double limit = g->paddle_scale;

	if (isnan(target_y))
		return LABEL_NONE;

	/* The paddle cannot go past its limit, so a target beyond it (a ball
	 * arriving near a corner) means "go all the way to the limit": a dead
	 * zone there would stop the paddle short of balls it could still
	 * reach. The core clamps the paddle to exactly the limit. */
	if (target_y >= limit)
		return own * g->paddle_scale >= limit ? LABEL_STAY : LABEL_DOWN;
	if (target_y <= -limit)
		return own * g->paddle_scale <= -limit ? LABEL_STAY : LABEL_UP;
	return label_toward(own * g->paddle_scale, target_y, o->dead_zone * g->paddle_half_h);
}

/* Returns the target of frame i in a walk from the last frame back to the
 * first. Each approaching frame inherits the crossing height found at the
 * last frame of its approach: the frame whose successor shows the ball
 * returned (vx <= 0) or past the line. The crossing is extrapolated over
 * that last step only, so it is what actually happened. *crossing carries
 * the height between calls and starts as NaN. */
static double label_target_back(const struct label_geom *g, const float *feats, size_t n,
				size_t i, double *crossing)
{
	const float *f = feats + i * LABEL_N_FEATURES;

	if (!label_approaching(g, f)) {
		*crossing = NAN;
		/* Past the line there is nothing left to do. */
		return f[LABEL_F_BALL_VX] > 0 ? NAN : 0.0;
	}
	if (i + 1 == n)
		*crossing = NAN;	/* the round ended before the ball arrived */
	else if (!label_approaching(g, f + LABEL_N_FEATURES))
		*crossing = label_crossing_y(g, f);
	return *crossing;
}

void label_targets(const struct label_geom *g, const float *feats, size_t n, double *target)
{
	double crossing = NAN;

	for (size_t i = n; i-- > 0;)
		target[i] = label_target_back(g, feats, n, i, &crossing);
}

static size_t label_hindsight(const struct label_geom *g, const struct label_opts *o,
			      const float *feats, size_t n, int *out)
{
	double crossing = NAN;
	size_t labelled = 0;

	for (size_t i = n; i-- > 0;) {
		double target = label_target_back(g, feats, n, i, &crossing);

		out[i] = label_for_target(g, o, feats[i * LABEL_N_FEATURES + LABEL_F_OWN_Y], target);
		labelled += out[i] != LABEL_NONE;
	}
	return labelled;
}

static size_t label_human(const uint8_t *moves, size_t n, int *out)
{
	size_t labelled = 0;

	for (size_t i = 0; i < n; i++) {
		if (moves[i] > LABEL_DOWN) {
			out[i] = LABEL_NONE;
			continue;
		}
		out[i] = moves[i];
		labelled++;
	}
	return labelled;
}

size_t label_round(const struct label_geom *g, const struct label_opts *o,
		   const float *feats, const uint8_t *moves, size_t n, int *out)
{
	if (o->teacher == LABEL_TEACHER_HUMAN) {
		assert(moves != NULL);
		return label_human(moves, n, out);
	}
	return label_hindsight(g, o, feats, n, out);
}
