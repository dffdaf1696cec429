/* lab: the overfitting lab behind `ttypong lab`.
 *
 * It records a small fixed data set from a seeded tracker-vs-tracker match
 * (the right tracker's view and moves), trains the reference network on it
 * under each dropout setting (none, Dropout 0.2 and 0.5, and every variant
 * at its default rate), and records the training and validation loss after
 * every epoch. Each trained model then plays the tracker headless, and its
 * return rate is the fraction of balls coming its way that it returned.
 * Everything follows from the seed: the same options give the same report. */
#ifndef TTYPONG_LAB_H
#define TTYPONG_LAB_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "core.h"
#include "drop.h"

#define LAB_HISTORY_MAX 16
#define LAB_EPOCHS_MAX 200

/* Rounds of the recorded match for training and, with another seed, for
 * validation. Consecutive frames are nearly alike, so two rounds are a
 * small data set for a network of about 5000 weights. */
#define LAB_TRAIN_ROUNDS 2
#define LAB_VAL_ROUNDS 2

struct lab_opts {
	uint64_t seed;
	uint32_t eval_rounds; /* 30: rounds each trained model plays */
	int history;          /* 4: frames per input row, 1..LAB_HISTORY_MAX */
	int epochs;           /* 40: 1..LAB_EPOCHS_MAX */
};

/* Rows of features and move classes. x is [n][history * CORE_FEATURE_COUNT]
 * with the oldest frame first, so a row reads as [history][features]. */
struct lab_data {
	float *x;
	int *ids;
	int n;
	int width;
};

/* The outcome of one setting. Losses are mean cross-entropies in eval mode
 * (no dropout), of the training rows and of the validation rows. */
struct lab_setting {
	char label[32]; /* "none", "Dropout:0.2", ... */
	struct drop_spec spec;
	double train_loss[LAB_EPOCHS_MAX];
	double val_loss[LAB_EPOCHS_MAX];
	double train_acc; /* after the last epoch */
	double val_acc;
	int best_epoch; /* from 1, the epoch of the lowest validation loss */
	float learned_rate[2]; /* ConcreteDropout and VariationalDropout: the
				* mean learned rate of their two layers */
	uint32_t returns;  /* balls the trained model returned */
	uint32_t misses;   /* points the tracker won */
};

struct lab_report {
	struct lab_opts opts;
	int train_rows;
	int val_rows;
	int n_settings;
	struct lab_setting *settings;
};

/* Called after each epoch of each setting; may be NULL. */
typedef void (*lab_progress_fn)(void *user, const char *label, int epoch, int epochs);

/* Fills o with the defaults noted in struct lab_opts and seed 1. */
void lab_opts_default(struct lab_opts *o);

/* Returns NULL if o is usable, or a static message naming the first invalid
 * field and its range. */
const char *lab_opts_check(const struct lab_opts *o);

/* Records rounds rounds of tracker against tracker from seed and fills d
 * with the right tracker's rows, history frames per row. Returns 0, or -1
 * when out of memory with d empty. Free with lab_data_free. */
int lab_record(uint64_t seed, uint32_t rounds, int history, struct lab_data *d);

void lab_data_free(struct lab_data *d);

/* Runs every setting. Returns 0 and sets *out (free with lab_report_free),
 * or -1 when out of memory or training failed, with *out NULL and a
 * message in err. */
int lab_run(const struct lab_opts *o, lab_progress_fn progress, void *user,
	    struct lab_report **out, char *err, size_t err_len);

void lab_report_free(struct lab_report *r);

/* Returns the return rate of a setting in [0, 1], or 0 when no ball came. */
double lab_return_rate(const struct lab_setting *s);

/* Writes the report as charts of the loss curves, training and validation
 * side by side, and a table. utf8 selects Unicode block characters;
 * otherwise the output is ASCII. */
void lab_write_text(const struct lab_report *r, FILE *f, bool utf8);

/* Writes one JSON object per setting, one per line. Returns 0, or -1 when
 * out of memory. */
int lab_write_json(const struct lab_report *r, FILE *f);

/* The `ttypong lab` command: parses argv (argv[0] is "lab"), runs the lab
 * and prints to stdout, progress to stderr when it is a terminal. Returns
 * the process exit status: CLI_EXIT_OK, CLI_EXIT_FAIL (the run failed) or
 * CLI_EXIT_USAGE. */
int lab_cli(int argc, char **argv);

#endif
