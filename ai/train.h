/* train: the between-round trainer. It groups labelled rows by round,
 * holds out whole rounds for validation, fits a model within a time budget
 * or an epoch count, reports every epoch through a callback, and decides
 * whether the result may be promoted.
 *
 * Invariants:
 *  1. A group is one round. The validation set is a set of whole groups, so
 *     no rally has frames on both sides of the split. Whether a group is
 *     held out depends only on its key (the round's id in the save), so a
 *     round held out once is held out in every later step as well, and no
 *     model of a lineage has trained on the rounds it is validated on.
 *  2. train_fit() changes only the model it is given. On failure the caller
 *     throws that model away; its weights may hold the batches applied
 *     before the failing one.
 *  3. With budget_ms == 0 the result depends only on the data, the options,
 *     the model and the generator passed in, so a fixed seed repeats it bit
 *     for bit. */
#ifndef TTYPONG_TRAIN_H
#define TTYPONG_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nn.h"
#include "rng.h"

/* Statuses: TRAIN_OK is 0; the nn_ statuses pass through unchanged. */
enum {
	TRAIN_OK = 0,
	TRAIN_ERR_NOMEM = NN_ERR_NOMEM,
	TRAIN_ERR_INVALID = NN_ERR_INVALID,
	TRAIN_ERR_NONFINITE = NN_ERR_NONFINITE,
	TRAIN_ERR_EMPTY = -100,	/* no labelled rows to train on */
	TRAIN_ERR_STOPPED = -101,	/* the epoch callback asked to stop */
};

/* Labelled rows in groups. Row i has inputs x[i * n_inputs ...] and class
 * ids[i]; group g contains rows [group_start[g], group_start[g + 1]). */
struct train_data {
	int n_inputs;
	size_t n_rows;
	size_t cap_rows;
	float *x;
	int *ids;
	size_t n_groups;
	size_t cap_groups;
	size_t *group_start;	/* n_groups + 1 entries once a group exists */
	uint64_t *group_key;	/* n_groups keys */
};

/* Sets d up empty for rows of n_inputs floats. Allocates nothing. */
void train_data_init(struct train_data *d, int n_inputs);

/* Frees what d owns and leaves it empty with the same width. */
void train_data_free(struct train_data *d);

/* Appends the n rows of x whose ids are >= 0 to the open group (rows with a
 * negative id, such as LABEL_NONE, are skipped). Opens a group first when
 * none is open. Returns TRAIN_OK or TRAIN_ERR_NOMEM (d unchanged). */
int train_data_add(struct train_data *d, const float *x, const int *ids, size_t n);

/* Closes the open group under key, so the next rows start a new one. An
 * empty group is dropped. Returns TRAIN_OK or TRAIN_ERR_NOMEM. */
int train_data_end_group(struct train_data *d, uint64_t key);

/* Returns the number of closed groups. */
size_t train_data_groups(const struct train_data *d);

/* Picks which of n_avail rounds, numbered oldest first, to train on: the
 * newest `recent` ones plus up to `older` drawn uniformly without
 * replacement from the rest. Writes the chosen numbers in increasing order
 * to out (room for recent + older) and returns how many. */
size_t train_pick_rounds(size_t n_avail, size_t recent, size_t older, struct rng *r,
			 size_t *out);

/* Returns true if the group with this key belongs to the validation set:
 * a hash of the key, uniform in [0, 1), falls below val_fraction. */
bool train_is_val_key(uint64_t key, double val_fraction);

/* Splits the groups of all into train and val by train_is_val_key(), in
 * their order. train and val must be initialized and empty. Returns
 * TRAIN_OK or TRAIN_ERR_NOMEM. */
int train_split(const struct train_data *all, double val_fraction, struct train_data *train,
		struct train_data *val);

/* Figures of one epoch. Losses are mean categorical cross-entropy in nats,
 * accuracies fractions in [0, 1]; val figures are NaN without validation
 * rows. partial is true when the budget ended the epoch early. */
struct train_epoch {
	int epoch;		/* from 1 */
	size_t rows;		/* training rows seen in this epoch */
	double train_loss;
	double train_acc;
	double val_loss;
	double val_acc;
	double duration_ms;
	bool partial;
};

/* Called after each epoch; a non-zero return stops training with
 * TRAIN_ERR_STOPPED. */
typedef int (*train_epoch_fn)(const struct train_epoch *e, void *user);

struct train_opts {
	int batch_size;		/* rows per optimizer step, >= 1 */
	int epochs;		/* epochs to run; with a budget, the most to run */
	double budget_ms;	/* 0: no time limit; else stop at this wall time */
	size_t max_val_rows;	/* validation rows used per evaluation, 0 = all */
	train_epoch_fn on_epoch;	/* may be NULL */
	void *user;
};

/* Sets o to batch 64, 1000 epochs, a 150 ms budget and 1024 validation
 * rows, which the plain C kernels evaluate in about 8 ms. */
void train_opts_default(struct train_opts *o);

struct train_result {
	int epochs;		/* epochs run, a partial last one included */
	uint64_t steps;		/* optimizer steps */
	bool budget_hit;	/* the budget ended training */
	double train_loss;	/* of the last epoch */
	double train_acc;
	double val_loss;	/* after training; NaN without validation rows */
	double val_acc;
	double start_val_loss;	/* of the model as given, on the same rows */
	double start_val_acc;
	double elapsed_ms;
};

/* Fits m on train and measures it on val (which may be empty), shuffling
 * with r. It first measures the model as given on val, then runs epochs of
 * shuffled mini-batches until opts->epochs or the budget, whichever comes
 * first. Before each batch it predicts, from the last batch and the first
 * evaluation, whether the batch and the closing evaluation still end
 * within the budget; at least one batch always runs. Writes the figures to
 * res (which may be NULL).
 * Returns TRAIN_OK, TRAIN_ERR_EMPTY (no training rows), TRAIN_ERR_INVALID
 * (rows of another width than the model's inputs, bad options),
 * TRAIN_ERR_NOMEM, TRAIN_ERR_NONFINITE (a NaN or infinity in a loss, a
 * gradient or an update: the failing batch changed nothing) or
 * TRAIN_ERR_STOPPED. */
int train_fit(struct nn_model *m, const struct train_data *train, const struct train_data *val,
	      const struct train_opts *opts, struct rng *r, struct train_result *res);

/* The promotion rule: a version is promoted unless its validation loss
 * exceeds the loss of the model it started from, measured on the same
 * held-out rounds, by more than margin (a fraction: 0.05 allows 5% worse).
 * Without a measurable loss on either side (no held-out rounds) it is
 * promoted only when it has no parent (has_parent false): an unchecked
 * version never replaces a parent. Writes one line on the decision to note
 * (when note_size > 0) and returns it. */
bool train_should_promote(double val_loss, double start_val_loss, bool has_parent,
			  double margin, char *note,
			  size_t note_size);

/* Returns a static description of a status from train_ or nn_. */
const char *train_strerror(int status);

/* Returns a monotonic clock in milliseconds, for budgets. */
double train_now_ms(void);

#endif
