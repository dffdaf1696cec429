/* label: target moves for recorded frames, computed at training time.
 *
 * The labeller sees one round at a time from one player's canonical view:
 * that player's own paddle is at +x, so a ball heading toward it has vx > 0,
 * and y grows downward. Each frame is a feature row
 *   [ball x, ball y, ball vx, ball vy, own paddle y, opponent paddle y]
 * scaled by the factors in struct label_geom. Classes are 0 up (toward
 * smaller y), 1 stay, 2 down, and LABEL_NONE marks a frame with no target.
 *
 * Teachers:
 *  - hindsight: while the ball heads toward the own paddle, the target is
 *    the height where the ball actually crossed the own contact line, read
 *    from the later frames of the round (wall bounces included); while it
 *    moves away, the target is the centre. The move is toward the target,
 *    or stay within the dead zone. A target beyond the paddle's reach asks
 *    for the paddle's limit, with no dead zone.
 *  - human: the move the player actually made in that frame. */
#ifndef TTYPONG_LABEL_H
#define TTYPONG_LABEL_H

#include <stddef.h>
#include <stdint.h>

#define LABEL_N_FEATURES 6
#define LABEL_NONE (-1)

/* Column of each feature in a row. */
enum label_feature {
	LABEL_F_BALL_X,
	LABEL_F_BALL_Y,
	LABEL_F_BALL_VX,
	LABEL_F_BALL_VY,
	LABEL_F_OWN_Y,
	LABEL_F_OPP_Y,
};

enum label_class {
	LABEL_UP = 0,
	LABEL_STAY = 1,
	LABEL_DOWN = 2,
};

enum label_teacher {
	LABEL_TEACHER_HINDSIGHT,
	LABEL_TEACHER_HUMAN,
};

/* Scales from features back to field units, and the geometry of the own side.
 * Lengths are in field units and times in seconds. */
struct label_geom {
	double x_scale;		/* field units per unit of the ball x feature */
	double y_scale;		/* field units per unit of the ball y feature */
	double v_scale;		/* units/s per unit of the velocity features */
	double paddle_scale;	/* field units per unit of the own paddle feature */
	double contact_x;	/* ball centre x where it meets the own paddle face */
	double wall_y;		/* |y| of the ball centre touching a wall */
	double paddle_half_h;	/* half the paddle's height */
};

struct label_opts {
	enum label_teacher teacher;
	/* Half-width of the band around the target in which the label is
	 * "stay", in paddle half-heights (0.6 with the default 8-unit
	 * half-height is 4.8 field units, well inside the 9 units within which
	 * the paddle still meets the ball). It must exceed half a step of
	 * paddle travel (0.75 units by default), or the label flips between up
	 * and down around the target. */
	double dead_zone;
};

/* Returns the teacher's name ("hindsight", "human"). */
const char *label_teacher_name(enum label_teacher t);

/* Parses a teacher's name. Returns 0, or -1 for an unknown name. */
int label_teacher_parse(const char *name, enum label_teacher *out);

/* Returns the move that brings a paddle at own_y toward target_y, both in
 * field units: stay when they are at most dead_zone_units apart. */
int label_toward(double own_y, double target_y, double dead_zone_units);

/* Folds a height computed as if there were no walls back between
 * -wall_y and +wall_y, where the wall bounces put the ball. */
double label_fold_y(double y, double wall_y);

/* Writes the hindsight teacher's target height for each of the n frames of
 * one round (rows as for label_round) to target[0..n-1], in field units:
 * where the ball crossed the own contact line while it approaches, 0 (the
 * centre) while it moves away, NaN where label_round gives LABEL_NONE. The
 * target does not depend on the own paddle, so a caller may label a frame
 * for other paddle positions with label_for_target(). */
void label_targets(const struct label_geom *g, const float *feats, size_t n, double *target);

/* Returns the class for a paddle at own (the own paddle feature) heading
 * for target_y (field units), or LABEL_NONE for a NaN target. A target at
 * or beyond the paddle's limit (paddle_scale) means the limit itself,
 * without a dead zone. */
int label_for_target(const struct label_geom *g, const struct label_opts *o, float own,
		     double target_y);

/* Labels the n frames of one round seen by one player. feats holds n rows
 * of LABEL_N_FEATURES floats in time order, one frame per physics step.
 * moves holds the player's recorded moves (classes 0..2) and is read only by
 * the human teacher; it may be NULL for hindsight. Writes a class or
 * LABEL_NONE to out[0..n-1]. Hindsight gives LABEL_NONE to frames whose ball
 * heads toward the own side but never crosses the contact line within the
 * round (a draw ended it), and to frames where the ball is already past the
 * line; the human teacher gives it to moves outside 0..2. Returns the
 * number of frames labelled with a class. */
size_t label_round(const struct label_geom *g, const struct label_opts *o,
		   const float *feats, const uint8_t *moves, size_t n, int *out);

#endif
