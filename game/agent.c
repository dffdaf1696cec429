/* agent: the network controller and the between-round learning step. See
 * agent.h for the life cycle and the invariants. */
#include "agent.h"

#include <assert.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"
#include "rng.h"
#include "store.h"

/* Least time kept back from the fit for storing the version, in ms. The
 * reserve is twice the previous successful store's time when that was
 * longer, and at most a quarter of the budget. */
#define AGENT_STORE_RESERVE_MS 2.0

/* Share of the budget kept free for the clock's jitter on a busy machine,
 * where a batch or an evaluation can take longer than the previous one. */
#define AGENT_BUDGET_SLACK 0.03

/* Rounds longer than this many frames (30 s of play) get proportionally
 * fewer augmented rows per frame, so a long rally cannot fill a step's
 * budget with labelling. */
#define AGENT_AUGMENT_FRAMES 1800

/* The labeller reads rows in the core's feature order. */
_Static_assert(LABEL_N_FEATURES == CORE_FEATURE_COUNT, "feature count");
_Static_assert((int)LABEL_F_BALL_X == (int)CORE_FEAT_BALL_X &&
	       (int)LABEL_F_BALL_Y == (int)CORE_FEAT_BALL_Y &&
	       (int)LABEL_F_BALL_VX == (int)CORE_FEAT_BALL_VX &&
	       (int)LABEL_F_BALL_VY == (int)CORE_FEAT_BALL_VY &&
	       (int)LABEL_F_OWN_Y == (int)CORE_FEAT_OWN_Y &&
	       (int)LABEL_F_OPP_Y == (int)CORE_FEAT_OPP_Y, "feature order");
_Static_assert((int)LABEL_UP == (int)CORE_MOVE_UP && (int)LABEL_STAY == (int)CORE_MOVE_STAY &&
	       (int)LABEL_DOWN == (int)CORE_MOVE_DOWN, "class order");

/* Mixed into the seed of the MC-dropout generator, so that playing with
 * --mc leaves the training step's draws as they are. */
#define AGENT_MC_SEED 0x4d43u

_Static_assert(DROP_SPEC_MAX_LAYERS >= NN_REFERENCE_LAYERS,
	       "agent_fresh() builds either layout in one array");

/* Floats in the widest input row. */
#define AGENT_ROW_MAX (AGENT_HISTORY_MAX * CORE_FEATURE_COUNT)

/* The state of one side's network controller: a ring of that side's last
 * history feature vectors and the input row built from it. */
struct agent_seat {
	struct agent *agent;
	float ring[AGENT_HISTORY_MAX][CORE_FEATURE_COUNT];
	int head;			/* slot of the newest frame */
	bool filled;			/* false until the round's first decision */
	float row[AGENT_ROW_MAX];	/* oldest frame first */
};

struct agent {
	struct store *store;		/* borrowed, may be NULL */
	struct core_config cfg;
	struct agent_opts opts;
	struct label_geom geom;
	struct nn_model *play;		/* the playing network, eval mode only */
	int64_t model_id;		/* 0: fresh weights not in the save */
	int history;			/* frames per input row of play */
	struct agent_seat seats[2];	/* indexed by enum core_side */
	struct rng rng;			/* one seed per training step */
	struct rng mc_rng;		/* MC-dropout masks while playing */
	double store_ms;		/* time the last successful store took, ms */

	/* Epochs of the step in progress, stored with its version. */
	struct store_epoch *epochs;
	size_t n_epochs;
	size_t cap_epochs;
	bool epochs_nomem;

	char msg[STORE_MSG_MAX + 64];	/* a store message with a prefix */
};

static enum agent_status agent_fail(struct agent *a, enum agent_status st, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static enum agent_status agent_fail(struct agent *a, enum agent_status st, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(a->msg, sizeof a->msg, fmt, ap);
	va_end(ap);
	return st;
}

const char *agent_status_name(enum agent_status st)
{
	switch (st) {
	case AGENT_OK:
		return "ok";
	case AGENT_ERR_NOMEM:
		return "out of memory";
	case AGENT_ERR_STORE:
		return "save failed";
	case AGENT_ERR_NOT_FOUND:
		return "not found";
	case AGENT_ERR_MODEL:
		return "unusable model";
	case AGENT_ERR_NONFINITE:
		return "non-finite";
	case AGENT_ERR_NO_DATA:
		return "no data";
	case AGENT_ERR_INVALID:
		return "invalid";
	}
	return "unknown";
}

void agent_opts_default(struct agent_opts *o)
{
	memset(o, 0, sizeof *o);
	o->label.teacher = LABEL_TEACHER_HINDSIGHT;
	o->label.dead_zone = 0.6;
	o->human_side = CORE_LEFT;
	o->train_ms = 150;
	o->epochs = 0;
	o->batch_size = 64;
	o->augment = 6;
	o->recent_rounds = 8;
	o->older_rounds = 8;
	o->val_fraction = 0.2;
	o->promote_margin = 0.05;
	o->seed = 1;
	o->history = 1;
}

const char *agent_opts_check(const struct agent_opts *o)
{
	if (!(o->label.dead_zone >= 0 && o->label.dead_zone <= 4))
		return "dead_zone must be in [0, 4] paddle half-heights";
	if (!(o->train_ms >= 0) || !isfinite(o->train_ms))
		return "train_ms must be finite and >= 0";
	if (o->train_ms == 0 && o->epochs < 1)
		return "epochs must be >= 1 when train_ms is 0";
	if (o->epochs < 0)
		return "epochs must be >= 0";
	if (o->batch_size < 1)
		return "batch_size must be >= 1";
	if (o->recent_rounds < 1)
		return "recent_rounds must be >= 1";
	if (!(o->val_fraction >= 0 && o->val_fraction < 1))
		return "val_fraction must be in [0, 1)";
	if (!(o->promote_margin >= 0) || !isfinite(o->promote_margin))
		return "promote_margin must be finite and >= 0";
	if (o->has_dropout && !(o->dropout.rate >= 0 && o->dropout.rate < 1))
		return "the dropout rate must be in [0, 1)";
	if (o->mc_passes > AGENT_MC_PASSES_MAX)
		return "mc_passes must be from 0 to 1000";
	if (o->history < 1 || o->history > AGENT_HISTORY_MAX)
		return "history must be from 1 to 32 frames";
	return NULL;
}

void agent_label_geom(const struct core_config *cfg, struct label_geom *g)
{
	g->x_scale = CORE_FIELD_W / 2;
	g->y_scale = CORE_FIELD_H / 2;
	g->v_scale = cfg->max_speed_per_s;
	g->paddle_scale = core_paddle_y_max(cfg);
	g->contact_x = CORE_PADDLE_FACE_X - CORE_BALL_R;
	g->wall_y = CORE_FIELD_H / 2 - CORE_BALL_R;
	g->paddle_half_h = cfg->paddle_half_h;
}

/* ---- The network controller ------------------------------------------ */

int agent_history_of_inputs(int n_inputs)
{
	if (n_inputs < CORE_FEATURE_COUNT || n_inputs % CORE_FEATURE_COUNT != 0 ||
	    n_inputs / CORE_FEATURE_COUNT > AGENT_HISTORY_MAX)
		return 0;
	return n_inputs / CORE_FEATURE_COUNT;
}

void agent_history_rows(const float *feats, size_t n, int history, float *rows)
{
	size_t frame = CORE_FEATURE_COUNT * sizeof *feats;

	for (size_t i = 0; i < n; i++) {
		for (int t = 0; t < history; t++) {
			/* Frame i - (history - 1) + t, or the first one. */
			size_t back = (size_t)(history - 1 - t);
			size_t src = i >= back ? i - back : 0;

			memcpy(rows + (i * (size_t)history + (size_t)t) * CORE_FEATURE_COUNT,
			       feats + src * CORE_FEATURE_COUNT, frame);
		}
	}
}

/* Adds the newest frame to the seat's ring and rebuilds its input row,
 * oldest frame first. */
static void agent_seat_push(struct agent_seat *seat, int history,
			    const float feat[CORE_FEATURE_COUNT])
{
	size_t frame = CORE_FEATURE_COUNT * sizeof *feat;

	if (!seat->filled) {
		for (int t = 0; t < history; t++)
			memcpy(seat->ring[t], feat, frame);
		seat->head = history - 1;
		seat->filled = true;
	} else {
		seat->head = (seat->head + 1) % history;
		memcpy(seat->ring[seat->head], feat, frame);
	}
	for (int t = 0; t < history; t++)
		memcpy(seat->row + t * CORE_FEATURE_COUNT,
		       seat->ring[(seat->head + 1 + t) % history], frame);
}

static enum core_move agent_decide(struct ctrl *c, const struct core_state *s,
				   const struct core_config *cfg)
{
	struct agent_seat *seat = c->u.impl;
	struct agent *a = seat->agent;
	float feat[CORE_FEATURE_COUNT];
	int best = CORE_MOVE_STAY;
	int rc;

	core_features(s, cfg, c->side, feat);
	agent_seat_push(seat, a->history, feat);

	/* agent_open() and agent_train() ran a one-row prediction (and an MC
	 * pass when enabled) already, so the scratch space exists and these
	 * calls cannot fail. */
	if (a->opts.mc_passes > 0)
		rc = nn_mc_predict(a->play, seat->row, 1, (int)a->opts.mc_passes, &a->mc_rng,
				   c->probs, c->spread);
	else
		rc = nn_predict(a->play, seat->row, 1, c->probs);
	c->has_probs = rc == NN_OK;
	c->has_spread = rc == NN_OK && a->opts.mc_passes > 0;
	if (rc != NN_OK)
		return CORE_MOVE_STAY;
	for (int k = 0; k < CORE_MOVE_COUNT; k++)
		if (c->probs[k] > c->probs[best])
			best = k;
	return (enum core_move)best;
}

static void agent_round_start(struct ctrl *c)
{
	struct agent_seat *seat = c->u.impl;

	seat->filled = false;
}

static const struct ctrl_ops agent_ctrl_ops = {
	.kind = "net",
	.decide = agent_decide,
	.round_start = agent_round_start,
};

void agent_ctrl_init(struct agent *a, struct ctrl *c, enum core_side side)
{
	struct agent_seat *seat = &a->seats[side];

	assert(side == CORE_LEFT || side == CORE_RIGHT);
	memset(c, 0, sizeof *c);
	c->ops = &agent_ctrl_ops;
	snprintf(c->name, sizeof c->name, "%s", agent_ctrl_ops.kind);
	c->side = side;
	c->move = CORE_MOVE_STAY;
	seat->agent = a;
	seat->filled = false;
	c->u.impl = seat;
}

int agent_history(const struct agent *a)
{
	return a->history;
}

const struct nn_model *agent_network(const struct agent *a)
{
	return a->play;
}

/* ---- Opening ---------------------------------------------------------- */

/* Checks that m fits the game and prepares it for allocation-free play.
 * The network's input width sets the history of every later row. */
static enum agent_status agent_adopt(struct agent *a, struct nn_model *m, int64_t id)
{
	static const float x[AGENT_ROW_MAX];
	float y[CORE_MOVE_COUNT];
	int history = agent_history_of_inputs(nn_n_inputs(m));

	if (history == 0 || nn_n_outputs(m) != CORE_MOVE_COUNT)
		return agent_fail(a, AGENT_ERR_MODEL,
				  "model version %lld takes %d inputs and gives %d outputs; ttypong needs %d outputs and 1 to %d frames of %d inputs",
				  (long long)id, nn_n_inputs(m), nn_n_outputs(m), CORE_MOVE_COUNT,
				  AGENT_HISTORY_MAX, CORE_FEATURE_COUNT);
	if (nn_predict(m, x, 1, y) != NN_OK ||
	    (a->opts.mc_passes > 0 && nn_mc_predict(m, x, 1, 1, &a->mc_rng, y, NULL) != NN_OK))
		return agent_fail(a, AGENT_ERR_NOMEM, "out of memory preparing the network");
	nn_free(a->play);
	a->play = m;
	a->model_id = id;
	if (history != a->history) {
		a->seats[CORE_LEFT].filled = false;
		a->seats[CORE_RIGHT].filled = false;
	}
	a->history = history;
	a->opts.history = history;
	return AGENT_OK;
}

/* Returns the history that a version's config JSON records under
 * "training", or 0 when it records none (imported versions, versions from
 * before the option). */
static int agent_config_history(const char *config_json)
{
	json_t *root = config_json ? json_loads(config_json, 0, NULL) : NULL;
	json_t *h = json_object_get(json_object_get(root, "training"), "history");
	int history = json_is_integer(h) ? (int)json_integer_value(h) : 0;

	json_decref(root);
	return history;
}

static enum agent_status agent_load(struct agent *a, int64_t id)
{
	struct store_model *sm = NULL;
	struct nn_model *m = NULL;
	enum store_status sst = store_model_get(a->store, id, &sm);
	enum agent_status st;
	int config_history;
	int rc;

	if (sst == STORE_ERR_NOT_FOUND)
		return agent_fail(a, AGENT_ERR_NOT_FOUND,
				  "model version %lld is not in the save; 'ttypong models' lists them",
				  (long long)id);
	if (sst != STORE_OK)
		return agent_fail(a, AGENT_ERR_STORE, "%s", store_errmsg(a->store));

	rc = nn_load(&m, sm->blob, sm->blob_size);
	config_history = agent_config_history(sm->config_json);
	free(sm);
	if (rc != NN_OK)
		return agent_fail(a, rc == NN_ERR_NOMEM ? AGENT_ERR_NOMEM : AGENT_ERR_MODEL,
				  "model version %lld cannot be loaded: %s", (long long)id,
				  nn_strerror(rc));
	if (config_history != 0 && config_history * CORE_FEATURE_COUNT != nn_n_inputs(m)) {
		st = agent_fail(a, AGENT_ERR_MODEL,
				"model version %lld is inconsistent: its config has a history of %d frames but its network takes %d inputs",
				(long long)id, config_history, nn_n_inputs(m));
		nn_free(m);
		return st;
	}
	st = agent_adopt(a, m, id);
	if (st != AGENT_OK)
		nn_free(m);
	return st;
}

static enum agent_status agent_fresh(struct agent *a)
{
	struct nn_layer_desc layers[DROP_SPEC_MAX_LAYERS];
	struct nn_model *m = NULL;
	int history = a->opts.history;
	int n = a->opts.has_dropout ? drop_spec_layers(&a->opts.dropout, history, layers) :
				      nn_reference_layers(layers);
	int rc = n < 1 ? NN_ERR_INVALID :
			 nn_create(&m, history * CORE_FEATURE_COUNT, layers, n,
				   rng_next(&a->rng));
	enum agent_status st;

	if (rc != NN_OK)
		return agent_fail(a, AGENT_ERR_NOMEM, "cannot build the network: %s", nn_strerror(rc));
	st = agent_adopt(a, m, 0);
	if (st != AGENT_OK)
		nn_free(m);
	return st;
}

/* Loads model_id, or the newest promoted version, or fresh weights. */
static enum agent_status agent_start_model(struct agent *a, int64_t model_id)
{
	int64_t id = 0;
	enum store_status sst;

	if (model_id > 0) {
		if (!a->store)
			return agent_fail(a, AGENT_ERR_NOT_FOUND,
					  "model version %lld requested without a save",
					  (long long)model_id);
		return agent_load(a, model_id);
	}
	if (!a->store)
		return agent_fresh(a);

	sst = store_model_latest_promoted(a->store, &id);
	if (sst == STORE_ERR_NOT_FOUND)
		return agent_fresh(a);
	if (sst != STORE_OK)
		return agent_fail(a, AGENT_ERR_STORE, "%s", store_errmsg(a->store));
	return agent_load(a, id);
}

enum agent_status agent_open(struct agent **out, struct store *store,
			     const struct core_config *cfg, const struct agent_opts *o,
			     int64_t model_id, char *msg, size_t msg_size)
{
	struct agent *a;
	const char *bad = agent_opts_check(o);
	enum agent_status st;

	*out = NULL;
	if (bad) {
		if (msg_size)
			snprintf(msg, msg_size, "invalid agent settings: %s", bad);
		return AGENT_ERR_INVALID;
	}
	a = calloc(1, sizeof *a);
	if (!a) {
		if (msg_size)
			snprintf(msg, msg_size, "out of memory");
		return AGENT_ERR_NOMEM;
	}
	a->store = store;
	a->cfg = *cfg;
	a->opts = *o;
	agent_label_geom(cfg, &a->geom);
	rng_seed(&a->rng, o->seed);
	rng_seed(&a->mc_rng, o->seed ^ AGENT_MC_SEED);

	st = agent_start_model(a, model_id);
	if (st != AGENT_OK) {
		if (msg_size)
			snprintf(msg, msg_size, "%s", a->msg);
		agent_close(a);
		return st;
	}
	*out = a;
	return AGENT_OK;
}

void agent_close(struct agent *a)
{
	if (!a)
		return;
	nn_free(a->play);
	free(a->epochs);
	free(a);
}

int64_t agent_model_id(const struct agent *a)
{
	return a->model_id;
}

const char *agent_errmsg(const struct agent *a)
{
	return a->msg;
}

/* ---- Labelling stored rounds ------------------------------------------ */

static void agent_frame_state(const struct store_frame *f, struct core_state *s)
{
	memset(s, 0, sizeof *s);
	s->ball.x = f->ball_x;
	s->ball.y = f->ball_y;
	s->ball.vx = f->ball_vx;
	s->ball.vy = f->ball_vy;
	s->paddle_y[CORE_LEFT] = f->left_y;
	s->paddle_y[CORE_RIGHT] = f->right_y;
}

/* Slowest speed given to an augmented row, as a fraction of the cap: the
 * serve speed of the default rules (70 of 200 units/s). */
#define AGENT_AUGMENT_MIN_SPEED 0.35

/* Moves the own paddle of every frame of a window by the same amount, so
 * that the newest frame has it at own, clamped to the paddle's range. */
static void agent_shift_own(float *row, int history, float own)
{
	float *newest = row + (size_t)(history - 1) * CORE_FEATURE_COUNT;
	double shift = (double)own - newest[CORE_FEAT_OWN_Y];

	for (int t = 0; t < history - 1; t++) {
		float *f = row + (size_t)t * CORE_FEATURE_COUNT;

		f[CORE_FEAT_OWN_Y] = (float)fmax(-1.0, fmin(1.0, f[CORE_FEAT_OWN_Y] + shift));
	}
	newest[CORE_FEAT_OWN_Y] = own;
}

/* Multiplies the ball's velocity by k in every frame of a window. The
 * earlier frames move along the same path to match, x' = x_newest +
 * k (x - x_newest), which is exact while the ball flies straight. A window
 * whose velocity changes (a bounce or a return inside it) or whose scaled
 * path would leave the field keeps its speed. Returns true if it scaled. */
static bool agent_scale_speed(const struct label_geom *g, float *row, int history, double k)
{
	const float *newest = row + (size_t)(history - 1) * CORE_FEATURE_COUNT;
	double wall = g->wall_y / g->y_scale;

	for (int t = 0; t < history - 1; t++) {
		const float *f = row + (size_t)t * CORE_FEATURE_COUNT;
		double x = newest[CORE_FEAT_BALL_X] + k * (f[CORE_FEAT_BALL_X] - newest[CORE_FEAT_BALL_X]);
		double y = newest[CORE_FEAT_BALL_Y] + k * (f[CORE_FEAT_BALL_Y] - newest[CORE_FEAT_BALL_Y]);

		if (f[CORE_FEAT_BALL_VX] != newest[CORE_FEAT_BALL_VX] ||
		    f[CORE_FEAT_BALL_VY] != newest[CORE_FEAT_BALL_VY] || fabs(x) > 1 || fabs(y) > wall)
			return false;
	}
	for (int t = history - 1; t >= 0; t--) {
		float *f = row + (size_t)t * CORE_FEATURE_COUNT;

		if (t < history - 1) {
			f[CORE_FEAT_BALL_X] = (float)(newest[CORE_FEAT_BALL_X] +
						      k * (f[CORE_FEAT_BALL_X] - newest[CORE_FEAT_BALL_X]));
			f[CORE_FEAT_BALL_Y] = (float)(newest[CORE_FEAT_BALL_Y] +
						      k * (f[CORE_FEAT_BALL_Y] - newest[CORE_FEAT_BALL_Y]));
		}
		f[CORE_FEAT_BALL_VX] = (float)(f[CORE_FEAT_BALL_VX] * k);
		f[CORE_FEAT_BALL_VY] = (float)(f[CORE_FEAT_BALL_VY] * k);
	}
	return true;
}

/* Writes a variant of a window of history frames with the own paddle at a
 * random height, the ball at a random speed on the same path, and half of
 * the time the field flipped top to bottom, each applied to every frame.
 * Returns true if it was flipped. */
static bool agent_vary_row(const struct label_geom *g, float *row, int history, struct rng *r)
{
	float *newest = row + (size_t)(history - 1) * CORE_FEATURE_COUNT;
	bool flip = rng_below(r, 2);
	double vx = newest[CORE_FEAT_BALL_VX], vy = newest[CORE_FEAT_BALL_VY];
	double speed = sqrt(vx * vx + vy * vy);

	agent_shift_own(row, history, (float)(2 * rng_uniform(r) - 1));
	if (speed > 0)
		agent_scale_speed(g, row, history,
				  (AGENT_AUGMENT_MIN_SPEED + (1 - AGENT_AUGMENT_MIN_SPEED) *
				   rng_uniform(r)) / speed);
	for (int t = 0; flip && t < history; t++) {
		float *f = row + (size_t)t * CORE_FEATURE_COUNT;

		f[CORE_FEAT_BALL_Y] = -f[CORE_FEAT_BALL_Y];
		f[CORE_FEAT_BALL_VY] = -f[CORE_FEAT_BALL_VY];
		f[CORE_FEAT_OWN_Y] = -f[CORE_FEAT_OWN_Y];
		f[CORE_FEAT_OPP_Y] = -f[CORE_FEAT_OPP_Y];
	}
	return flip;
}

/* Appends o->augment variants of each labelled row, fewer in rounds
 * longer than AGENT_AUGMENT_FRAMES. rows holds the n windows of
 * o->history frames. The hindsight target (the crossing height) depends on
 * neither the own paddle nor the ball's speed along its path, and flips
 * with the field, so every variant keeps a true label. Rallies in play get
 * faster than in the first recorded rounds, and the speed variants cover
 * that. */
static int agent_augment(const struct label_geom *g, const struct agent_opts *o,
			 const float *rows, const double *target, size_t n, struct rng *r,
			 struct train_data *d)
{
	float row[AGENT_ROW_MAX];
	size_t width = (size_t)o->history * CORE_FEATURE_COUNT;
	const float *own = row + width - CORE_FEATURE_COUNT + CORE_FEAT_OWN_Y;
	double keep = n > AGENT_AUGMENT_FRAMES ? (double)AGENT_AUGMENT_FRAMES / (double)n : 1.0;
	int id;
	int rc = TRAIN_OK;

	for (size_t i = 0; i < n && rc == TRAIN_OK; i++) {
		if (isnan(target[i]))
			continue;
		for (uint32_t k = 0; k < o->augment && rc == TRAIN_OK; k++) {
			if (keep < 1.0 && rng_uniform(r) >= keep)
				continue;
			memcpy(row, rows + i * width, width * sizeof *row);
			if (agent_vary_row(g, row, o->history, r))
				id = label_for_target(g, &o->label, *own, -target[i]);
			else
				id = label_for_target(g, &o->label, *own, target[i]);
			rc = train_data_add(d, row, &id, 1);
		}
	}
	return rc;
}

/* Writes side's features and moves of the n frames. */
static void agent_side_rows(const struct core_config *cfg, const struct store_frame *frames,
			    size_t n, enum core_side side, float *feats, uint8_t *moves)
{
	for (size_t i = 0; i < n; i++) {
		struct core_state s;

		agent_frame_state(&frames[i], &s);
		core_features(&s, cfg, side, feats + i * CORE_FEATURE_COUNT);
		moves[i] = side == CORE_LEFT ? frames[i].move_left : frames[i].move_right;
	}
}

int agent_label_round(const struct core_config *cfg, const struct agent_opts *o,
		      const struct store_frame *frames, size_t n, uint64_t key, struct rng *r,
		      struct train_data *d)
{
	struct label_geom g;
	size_t count = n ? n : 1;
	size_t history = o->history >= 1 && o->history <= AGENT_HISTORY_MAX ? (size_t)o->history : 0;
	float *feats = NULL, *rows = NULL;
	uint8_t *moves = NULL;
	int *labels = NULL;
	double *target = NULL;
	int rc = TRAIN_ERR_INVALID;

	if (history == 0 || (size_t)d->n_inputs != history * CORE_FEATURE_COUNT)
		return rc;
	rc = TRAIN_ERR_NOMEM;
	feats = malloc(count * CORE_FEATURE_COUNT * sizeof *feats);
	rows = malloc(count * history * CORE_FEATURE_COUNT * sizeof *rows);
	moves = malloc(count);
	labels = malloc(count * sizeof *labels);
	target = malloc(count * sizeof *target);
	if (!feats || !rows || !moves || !labels || !target)
		goto out;
	agent_label_geom(cfg, &g);

	/* Hindsight labels both players, each from its own mirrored view;
	 * the human teacher only has moves worth copying on one side.
	 * NOTE: store_rounds_list() does not return a round's session, so the
	 * human side is o->human_side for every round, also in sessions where
	 * a program played that side. */
	for (int side = CORE_LEFT; side <= CORE_RIGHT; side++) {
		bool hindsight = o->label.teacher == LABEL_TEACHER_HINDSIGHT;

		if (!hindsight && side != (int)o->human_side)
			continue;
		agent_side_rows(cfg, frames, n, (enum core_side)side, feats, moves);
		label_round(&g, &o->label, feats, moves, n, labels);
		agent_history_rows(feats, n, (int)history, rows);
		rc = train_data_add(d, rows, labels, n);
		if (rc == TRAIN_OK && hindsight && o->augment > 0) {
			label_targets(&g, feats, n, target);
			rc = agent_augment(&g, o, rows, target, n, r, d);
		}
		if (rc != TRAIN_OK)
			goto out;
	}
	rc = train_data_end_group(d, key);
out:
	free(feats);
	free(rows);
	free(moves);
	free(labels);
	free(target);
	return rc;
}

/* Returns true if every frame of the round lies in the field the core
 * keeps to, with a margin of the field's own size for float rounding, and
 * every move is a valid class. A frame edited outside ttypong can hold an
 * infinity or a value far out of range, which would make every step that
 * picks its round fail. */
static bool agent_round_valid(const struct core_config *cfg, const struct store_frame *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const double pos[] = { f[i].ball_x / CORE_FIELD_W, f[i].ball_y / CORE_FIELD_H,
				      f[i].left_y / CORE_FIELD_H, f[i].right_y / CORE_FIELD_H,
				      f[i].ball_vx / cfg->max_speed_per_s,
				      f[i].ball_vy / cfg->max_speed_per_s };

		for (size_t k = 0; k < sizeof pos / sizeof pos[0]; k++)
			if (!isfinite(pos[k]) || fabs(pos[k]) > 1)
				return false;
		if (f[i].move_left >= CORE_MOVE_COUNT || f[i].move_right >= CORE_MOVE_COUNT)
			return false;
	}
	return true;
}

/* Chooses the rounds of this step and labels them into all, one group per
 * round. A round with an invalid frame is skipped and counted in rep. */
static enum agent_status agent_collect(struct agent *a, struct rng *r, struct train_data *all,
				       struct agent_report *rep)
{
	struct store_round_info *infos = NULL;
	struct store_frames frames = { 0 };
	size_t n_infos = 0, n_pick;
	size_t *pick = NULL;
	int64_t *ids = NULL;
	enum agent_status st = AGENT_OK;
	enum store_status sst;

	sst = store_rounds_list(a->store, 0, 0, &infos, &n_infos);
	if (sst != STORE_OK)
		return agent_fail(a, AGENT_ERR_STORE, "%s", store_errmsg(a->store));
	if (n_infos == 0) {
		st = agent_fail(a, AGENT_ERR_NO_DATA, "the save holds no finished round yet");
		goto out;
	}

	pick = malloc((a->opts.recent_rounds + a->opts.older_rounds) * sizeof *pick);
	ids = malloc((a->opts.recent_rounds + a->opts.older_rounds) * sizeof *ids);
	if (!pick || !ids) {
		st = agent_fail(a, AGENT_ERR_NOMEM, "out of memory choosing rounds");
		goto out;
	}
	n_pick = train_pick_rounds(n_infos, a->opts.recent_rounds, a->opts.older_rounds, r, pick);
	for (size_t i = 0; i < n_pick; i++)
		ids[i] = infos[pick[i]].id;

	sst = store_frames_load(a->store, ids, n_pick, &frames);
	if (sst != STORE_OK) {
		st = agent_fail(a, sst == STORE_ERR_NOMEM ? AGENT_ERR_NOMEM : AGENT_ERR_STORE,
				"%s", store_errmsg(a->store));
		goto out;
	}
	for (size_t i = 0; i < frames.n_rounds; i++) {
		size_t start = frames.round_start[i];
		size_t n = frames.round_start[i + 1] - start;

		if (!agent_round_valid(&a->cfg, frames.frames + start, n)) {
			if (rep->skipped_rounds++ == 0)
				rep->skipped_round_id = frames.round_ids[i];
			continue;
		}
		if (agent_label_round(&a->cfg, &a->opts, frames.frames + start, n,
				      (uint64_t)frames.round_ids[i], r, all) != TRAIN_OK) {
			/* all has the playing network's width, so only memory
			 * can fail here. */
			st = agent_fail(a, AGENT_ERR_NOMEM, "out of memory labelling frames");
			goto out;
		}
	}
	if (all->n_rows == 0)
		st = agent_fail(a, AGENT_ERR_NO_DATA, "the chosen rounds hold no labelled frame");
out:
	store_frames_free(&frames);
	free(infos);
	free(pick);
	free(ids);
	return st;
}

/* ---- Training and storing a version ---------------------------------- */

static int agent_on_epoch(const struct train_epoch *e, void *user)
{
	struct agent *a = user;

	if (a->n_epochs == a->cap_epochs) {
		size_t cap = a->cap_epochs ? a->cap_epochs * 2 : 16;
		struct store_epoch *p = realloc(a->epochs, cap * sizeof *p);

		if (!p) {
			a->epochs_nomem = true;
			return 1;
		}
		a->epochs = p;
		a->cap_epochs = cap;
	}
	a->epochs[a->n_epochs++] = (struct store_epoch) {
		.epoch = e->epoch,
		.train_loss = e->train_loss,
		.train_acc = e->train_acc,
		.val_loss = e->val_loss,
		.val_acc = e->val_acc,
		.duration_ms = e->duration_ms,
	};
	if (a->opts.on_epoch)
		a->opts.on_epoch(a->opts.user, e);
	return 0;
}

/* Builds the version's config JSON: the network description and the
 * settings that produced it. Returns NULL when out of memory. */
static char *agent_config_json(const struct agent *a, const struct nn_model *m)
{
	char *net_text = nn_to_json(m);
	json_t *net = net_text ? json_loads(net_text, 0, NULL) : NULL;
	json_t *root = json_object();
	json_t *tr = json_object();
	char *out = NULL;

	if (!net || !root || !tr)
		goto out;
	json_object_set_new(tr, "teacher", json_string(label_teacher_name(a->opts.label.teacher)));
	json_object_set_new(tr, "dead_zone_paddle_half_heights", json_real(a->opts.label.dead_zone));
	json_object_set_new(tr, "train_ms", json_real(a->opts.train_ms));
	json_object_set_new(tr, "epochs", json_integer(a->opts.epochs));
	json_object_set_new(tr, "batch_size", json_integer(a->opts.batch_size));
	json_object_set_new(tr, "augment", json_integer(a->opts.augment));
	json_object_set_new(tr, "recent_rounds", json_integer(a->opts.recent_rounds));
	json_object_set_new(tr, "older_rounds", json_integer(a->opts.older_rounds));
	json_object_set_new(tr, "val_fraction", json_real(a->opts.val_fraction));
	json_object_set_new(tr, "promote_margin", json_real(a->opts.promote_margin));
	json_object_set_new(tr, "history", json_integer(a->history));
	json_object_set_new(root, "network", net);
	net = NULL;
	json_object_set_new(root, "training", tr);
	tr = NULL;
	out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
	free(net_text);
	json_decref(net);
	json_decref(tr);
	json_decref(root);
	return out;
}

/* Stores m as a version with its epochs. Writes the new id to *id. */
static enum agent_status agent_store_version(struct agent *a, const struct nn_model *m,
					     uint64_t seed, const struct agent_report *rep, int64_t *id)
{
	unsigned char *blob = NULL;
	size_t blob_size = 0;
	char *config = agent_config_json(a, m);
	enum agent_status st = AGENT_OK;
	enum store_status sst;
	struct store_model sm = {
		.parent_id = a->model_id,
		.kind = STORE_MODEL_TRAINED,
		.config_json = config,
		.seed = seed,
		.n_records = (int64_t)rep->records,
		.train_loss = rep->train_loss,
		.val_loss = rep->val_loss,
		.val_acc = rep->val_acc,
		.return_rate = NAN,
		.promoted = rep->promoted,
		.note = rep->note,
	};

	if (!config || nn_save(m, &blob, &blob_size) != NN_OK) {
		st = agent_fail(a, AGENT_ERR_NOMEM, "out of memory saving the network");
		goto out;
	}
	sm.blob = blob;
	sm.blob_size = blob_size;
	sst = store_model_put(a->store, &sm, id);
	if (sst == STORE_OK)
		sst = store_epochs_put(a->store, *id, a->epochs, a->n_epochs);
	if (sst != STORE_OK)
		st = agent_fail(a, AGENT_ERR_STORE, "storing the model version failed: %s",
				store_errmsg(a->store));
out:
	free(config);
	free(blob);
	return st;
}

static enum agent_status agent_status_of_train(int rc)
{
	switch (rc) {
	case TRAIN_OK:
		return AGENT_OK;
	case TRAIN_ERR_NOMEM:
		return AGENT_ERR_NOMEM;
	case TRAIN_ERR_NONFINITE:
		return AGENT_ERR_NONFINITE;
	case TRAIN_ERR_EMPTY:
		return AGENT_ERR_NO_DATA;
	default:
		return AGENT_ERR_INVALID;
	}
}

/* Fits cand on all's rounds, filling the report's figures. */
static enum agent_status agent_fit(struct agent *a, struct nn_model *cand, const struct train_data *all,
				   struct rng *r, double start_ms, struct agent_report *rep)
{
	struct train_data tr, val;
	struct train_opts to;
	struct train_result res;
	enum agent_status st;
	int rc;

	train_data_init(&tr, all->n_inputs);
	train_data_init(&val, all->n_inputs);
	rc = train_split(all, a->opts.val_fraction, &tr, &val);
	if (rc != TRAIN_OK) {
		st = agent_fail(a, AGENT_ERR_NOMEM, "out of memory splitting the rounds");
		goto out;
	}
	rep->rounds = train_data_groups(&tr);
	rep->val_rounds = train_data_groups(&val);
	rep->records = tr.n_rows;
	rep->val_records = val.n_rows;

	train_opts_default(&to);
	to.batch_size = a->opts.batch_size;
	to.on_epoch = agent_on_epoch;
	to.user = a;
	if (a->opts.train_ms > 0) {
		double reserve = 2 * a->store_ms > AGENT_STORE_RESERVE_MS ? 2 * a->store_ms :
				 AGENT_STORE_RESERVE_MS;

		/* A store that once waited for a lock must not starve every
		 * later fit. */
		if (reserve > a->opts.train_ms / 4)
			reserve = a->opts.train_ms / 4;
		double left = a->opts.train_ms * (1 - AGENT_BUDGET_SLACK) -
			      (train_now_ms() - start_ms) - reserve;

		to.budget_ms = left > 0.001 ? left : 0.001;
		to.epochs = a->opts.epochs > 0 ? a->opts.epochs : 1000000;
	} else {
		to.budget_ms = 0;
		to.epochs = a->opts.epochs;
	}

	a->n_epochs = 0;
	a->epochs_nomem = false;
	rc = train_fit(cand, &tr, &val, &to, r, &res);
	rep->epochs = res.epochs;
	rep->steps = res.steps;
	rep->fit_ms = res.elapsed_ms;
	rep->train_loss = res.train_loss;
	rep->val_loss = res.val_loss;
	rep->val_acc = res.val_acc;
	rep->parent_val_loss = res.start_val_loss;
	if (rc != TRAIN_OK) {
		st = a->epochs_nomem ? AGENT_ERR_NOMEM : agent_status_of_train(rc);
		agent_fail(a, st, "training failed after %llu steps: %s",
			   (unsigned long long)res.steps, train_strerror(rc));
		goto out;
	}
	rep->promoted = train_should_promote(res.val_loss, res.start_val_loss, a->model_id != 0,
					     a->opts.promote_margin, rep->note, sizeof rep->note);
	st = AGENT_OK;
out:
	train_data_free(&tr);
	train_data_free(&val);
	return st;
}

static void agent_report_init(const struct agent *a, struct agent_report *rep)
{
	memset(rep, 0, sizeof *rep);
	rep->parent_id = a->model_id;
	rep->train_loss = NAN;
	rep->val_loss = NAN;
	rep->val_acc = NAN;
	rep->parent_val_loss = NAN;
}

enum agent_status agent_train(struct agent *a, struct agent_report *rep)
{
	double start_ms = train_now_ms(), store_start_ms;
	uint64_t seed = rng_next(&a->rng);
	struct train_data all;
	struct nn_model *cand = NULL;
	struct rng r;
	int64_t id = 0;
	enum agent_status st;

	agent_report_init(a, rep);
	train_data_init(&all, a->history * CORE_FEATURE_COUNT);
	rng_seed(&r, seed);
	if (!a->store) {
		st = agent_fail(a, AGENT_ERR_NO_DATA, "no save to train from");
		goto out;
	}

	st = agent_collect(a, &r, &all, rep);
	if (st != AGENT_OK)
		goto out;
	if (nn_clone(&cand, a->play) != NN_OK) {
		st = agent_fail(a, AGENT_ERR_NOMEM, "out of memory copying the network");
		goto out;
	}
	st = agent_fit(a, cand, &all, &r, start_ms, rep);
	if (st != AGENT_OK)
		goto out;
	store_start_ms = train_now_ms();
	st = agent_store_version(a, cand, seed, rep, &id);
	if (st != AGENT_OK)
		goto out;
	a->store_ms = train_now_ms() - store_start_ms;

	st = agent_adopt(a, cand, id);
	if (st == AGENT_OK) {
		cand = NULL;
		rep->model_id = id;
	}
out:
	if (st != AGENT_OK)
		snprintf(rep->note, sizeof rep->note, "%s; model version %lld keeps playing",
			 a->msg, (long long)a->model_id);
	rep->status = st;
	rep->total_ms = train_now_ms() - start_ms;
	nn_free(cand);
	train_data_free(&all);
	return st;
}
