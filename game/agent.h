/* agent: the learning AI paddle. It owns the network that plays (always in
 * eval mode, so dropout is off), provides it as a controller of kind "net",
 * and trains it between rounds on the frames in the save.
 *
 * Life cycle:
 *   agent_open()      loads the requested model version, else the newest
 *                     promoted one, else builds a fresh network from the seed
 *   agent_ctrl_init() gives a paddle to the network (one or both sides)
 *   ... a round is played and recorded into the save by the caller ...
 *   agent_train()     labels recent and sampled older rounds, fits a copy
 *                     of the playing network within the budget, stores the
 *                     result as a new model version and, if all of that
 *                     worked, makes it the playing network
 *   agent_close()
 *
 * Invariants:
 *  1. The playing network changes only in agent_train(), and only to a
 *     version that trained without a NaN and was stored in the save. Any
 *     failed step leaves the previous network playing.
 *  2. The agent never prints. Progress goes to the epoch callback and each
 *     step's outcome to struct agent_report; agent_errmsg() holds one line
 *     on the last failure. */
#ifndef TTYPONG_AGENT_H
#define TTYPONG_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "ctrl.h"
#include "drop.h"
#include "label.h"
#include "train.h"

struct nn_model;
struct store;
struct store_frame;

enum agent_status {
	AGENT_OK = 0,
	AGENT_ERR_NOMEM,	/* an allocation failed */
	AGENT_ERR_STORE,	/* the save failed (locked, full disk, I/O) */
	AGENT_ERR_NOT_FOUND,	/* the requested model version is not in the save */
	AGENT_ERR_MODEL,	/* a stored model version cannot be loaded */
	AGENT_ERR_NONFINITE,	/* training met a NaN or an infinity */
	AGENT_ERR_NO_DATA,	/* the save holds no labelled frames yet */
	AGENT_ERR_INVALID,	/* an option out of range */
};

/* The most MC-dropout passes per decision. */
#define AGENT_MC_PASSES_MAX 1000

/* The maximum number of frames one input row of the network can span. */
#define AGENT_HISTORY_MAX 32

/* Settings of the trainer. agent_opts_default() gives the values noted. */
struct agent_opts {
	struct label_opts label;	/* hindsight teacher, dead zone 0.6 */
	enum core_side human_side;	/* CORE_LEFT: whose moves the human teacher copies */
	double train_ms;		/* 150: budget of one agent_train(); 0 = use epochs */
	int epochs;			/* 0: epochs per step when train_ms is 0 */
	int batch_size;			/* 64 */
	/* 6: extra rows made from each hindsight-labelled frame (on average
	 * fewer in rounds longer than 30 s of play), each with the
	 * own paddle at a random height, the ball at a random speed on the
	 * same path and, half of the time, the field flipped top to bottom.
	 * The crossing height depends on none of these, so the rows carry
	 * true labels. */
	uint32_t augment;
	uint32_t recent_rounds;		/* 8: newest rounds always trained on */
	uint32_t older_rounds;		/* 8: older rounds sampled per step */
	double val_fraction;		/* 0.2: share of rounds held out, chosen by id */
	double promote_margin;		/* 0.05: tolerated val loss rise, fraction */
	uint64_t seed;			/* 1: fresh weights, dropout, sampling */
	/* false: fresh networks are the reference model. true: they carry
	 * dropout as drop_spec_layers() places it. A loaded model version
	 * keeps the layers it was stored with either way. */
	bool has_dropout;
	struct drop_spec dropout;
	/* 0: the network plays in eval mode. N >= 1: each decision is the
	 * argmax of the mean of N MC-dropout passes, and the controller sets
	 * probs to the means and spread to their standard deviations. */
	uint32_t mc_passes;
	/* 1: frames a fresh network sees per decision, 1..AGENT_HISTORY_MAX.
	 * Its input row is the newest `history` feature vectors, oldest
	 * first, history * CORE_FEATURE_COUNT floats. A loaded model version
	 * keeps the history of its input width either way. */
	int history;
	/* Called after every epoch of agent_train(); may be NULL. */
	void (*on_epoch)(void *user, const struct train_epoch *e);
	void *user;
};

/* The outcome of one agent_train(). Losses are nats, accuracies fractions;
 * NaN means not measured (no held-out round yet). */
struct agent_report {
	enum agent_status status;
	int64_t model_id;	/* the new version, 0 when the step failed */
	int64_t parent_id;	/* the version it started from, 0 for fresh weights */
	bool promoted;
	/* Why it was or was not promoted, or what failed. Room for a whole
	 * store message and the suffix naming the version that keeps playing. */
	char note[640];
	size_t rounds;		/* rounds trained on */
	size_t val_rounds;	/* rounds held out */
	size_t records;		/* labelled training rows (a frame gives one per side) */
	size_t val_records;
	/* Chosen rounds left out because a frame contains a non-finite or
	 * out-of-range value, and the id of the first of them (0 for none). */
	size_t skipped_rounds;
	int64_t skipped_round_id;
	int epochs;
	uint64_t steps;
	double train_loss;
	double val_loss;
	double val_acc;
	double parent_val_loss;	/* the parent on the same held-out rounds */
	double fit_ms;		/* time in the fit */
	double total_ms;	/* the whole step: load, label, fit, store */
};

struct agent;

/* Fills o with the defaults listed in struct agent_opts. */
void agent_opts_default(struct agent_opts *o);

/* Returns NULL if o is usable, or a static message naming the first bad
 * field and its valid range. */
const char *agent_opts_check(const struct agent_opts *o);

/* Creates an agent on the save store (borrowed; it must outlive the agent)
 * for the rules in cfg. model_id > 0 plays that version; model_id 0 plays the
 * newest promoted version, or fresh weights from o->seed when none is
 * promoted. Returns AGENT_OK with *out set, or AGENT_ERR_NOT_FOUND,
 * AGENT_ERR_MODEL, AGENT_ERR_STORE, AGENT_ERR_INVALID or AGENT_ERR_NOMEM with
 * *out NULL and one line in msg (when msg_size > 0). */
enum agent_status agent_open(struct agent **out, struct store *store,
			     const struct core_config *cfg, const struct agent_opts *o,
			     int64_t model_id, char *msg, size_t msg_size);

/* Frees the agent. NULL is a no-op. Controllers made by agent_ctrl_init()
 * must not be used afterwards. */
void agent_close(struct agent *a);

/* Sets c up as a controller of kind "net" for side, driven by the agent's
 * playing network. decide() fills c->probs with the network's class
 * probabilities and picks the most likely move; it never allocates. The
 * controller follows the agent: after agent_train() swaps networks, the next
 * decision uses the new one. With a history K > 1 it keeps the last K
 * feature vectors of its side in a ring that round_start() empties, and the
 * first decision of a round fills the ring with its frame. An agent holds
 * one ring per side, so at most one controller per side may be in use. */
void agent_ctrl_init(struct agent *a, struct ctrl *c, enum core_side side);

/* Returns the frames per input row of the playing network: its input width
 * divided by CORE_FEATURE_COUNT. */
int agent_history(const struct agent *a);

/* Returns the playing network, for reading only (e.g. its warnings). It
 * stays valid until the next agent_train() or agent_close(). */
const struct nn_model *agent_network(const struct agent *a);

/* Returns the frames per row of a network with n_inputs inputs, or 0 when
 * n_inputs is not a multiple of CORE_FEATURE_COUNT from 1 to
 * AGENT_HISTORY_MAX frames. */
int agent_history_of_inputs(int n_inputs);

/* Writes the n windowed rows of n feature vectors (feats, [n][6], one
 * frame per step in time order) to rows ([n][history][6]): row i holds the
 * frames i - history + 1 .. i, oldest first, where frames before the first
 * are the first frame repeated, as the controller's ring holds them. */
void agent_history_rows(const float *feats, size_t n, int history, float *rows);

/* Trains between rounds: picks the newest recent_rounds rounds of the save
 * plus older_rounds sampled from the rest, labels them, holds out whole
 * rounds, fits a copy of the playing network, and stores it as a model
 * version with its parent, config JSON, seed, weights and optimizer state,
 * metrics, per-epoch metrics and promotion decision. On success the new
 * version plays from now on. Fills rep (always) and returns rep->status:
 * AGENT_OK, AGENT_ERR_NO_DATA, AGENT_ERR_NONFINITE, AGENT_ERR_STORE or
 * AGENT_ERR_NOMEM. On failure the playing network is unchanged. */
enum agent_status agent_train(struct agent *a, struct agent_report *rep);

/* Returns the id of the playing version, 0 for fresh, unsaved weights. */
int64_t agent_model_id(const struct agent *a);

/* Returns the message of the last failure, or "". */
const char *agent_errmsg(const struct agent *a);

/* Returns a short name for a status, e.g. "non-finite". */
const char *agent_status_name(enum agent_status st);

/* Writes the field geometry of cfg in the form the labeller needs. */
void agent_label_geom(const struct core_config *cfg, struct label_geom *g);

/* Labels one stored round into d as one group under key (the round's id):
 * both sides' frames in their own mirrored view for the hindsight teacher,
 * with o->augment extra rows per frame drawn from r; the human side's
 * frames only for the human teacher. frames holds the n frames of one round
 * in order. Each row spans o->history frames (agent_history_rows()) and is
 * labelled from its newest frame, so d must take o->history *
 * CORE_FEATURE_COUNT inputs. Returns TRAIN_OK, TRAIN_ERR_NOMEM or
 * TRAIN_ERR_INVALID (a history out of range or another width in d). */
int agent_label_round(const struct core_config *cfg, const struct agent_opts *o,
		      const struct store_frame *frames, size_t n, uint64_t key, struct rng *r,
		      struct train_data *d);

#endif
