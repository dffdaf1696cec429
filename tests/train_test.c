/* Tests of the trainer: grouping, the round-wise split, fitting on a fixed
 * seed, and the promotion rule. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"
#include "rng.h"
#include "train.h"

#define N_IN 6

/* Fills d with n_groups groups (keys 1, 2, ...) of rows whose class is
 * fixed by the first two inputs, like "move toward the target": up when
 * x0 < x4 - 0.1, down when x0 > x4 + 0.1, else stay. */
static void make_data(struct train_data *d, size_t n_groups, size_t rows, uint64_t seed)
{
	struct rng r;
	float x[N_IN];
	int id;

	rng_seed(&r, seed);
	train_data_init(d, N_IN);
	for (size_t g = 0; g < n_groups; g++) {
		for (size_t i = 0; i < rows; i++) {
			for (int k = 0; k < N_IN; k++)
				x[k] = (float)(2 * rng_uniform(&r) - 1);
			id = 1;
			if (x[0] < x[4] - 0.1f)
				id = 0;
			else if (x[0] > x[4] + 0.1f)
				id = 2;
			cr_assert_eq(train_data_add(d, x, &id, 1), TRAIN_OK, "adding a row failed");
		}
		cr_assert_eq(train_data_end_group(d, g + 1), TRAIN_OK, "closing a group failed");
	}
}

static struct nn_model *make_model(uint64_t seed)
{
	struct nn_layer_desc layers[NN_REFERENCE_LAYERS];
	struct nn_model *m = NULL;
	int n = nn_reference_layers(layers);

	cr_assert_eq(nn_create(&m, N_IN, layers, n, seed), NN_OK, "building the model failed");
	return m;
}

static struct train_opts epoch_opts(int epochs)
{
	struct train_opts o;

	train_opts_default(&o);
	o.budget_ms = 0;
	o.epochs = epochs;
	return o;
}

Test(train, add_skips_unlabelled_rows)
{
	struct train_data d;
	float x[3 * N_IN] = { 0 };
	int ids[3] = { 0, -1, 2 };

	train_data_init(&d, N_IN);
	cr_assert_eq(train_data_add(&d, x, ids, 3), TRAIN_OK, "add failed");
	cr_assert_eq(train_data_end_group(&d, 9), TRAIN_OK, "end_group failed");
	cr_assert_eq(d.n_rows, 2, "two labelled rows expected, got %zu", d.n_rows);
	cr_assert_eq(train_data_groups(&d), 1, "one group expected");
	cr_assert_eq(d.ids[1], 2, "the row after the skipped one keeps its class");
	cr_assert_eq(train_data_end_group(&d, 10), TRAIN_OK, "closing an empty group failed");
	cr_assert_eq(train_data_groups(&d), 1, "an empty group is dropped");
	train_data_free(&d);
}

Test(train, split_keeps_rounds_whole)
{
	struct train_data all, tr, val;

	make_data(&all, 50, 20, 3);
	train_data_init(&tr, N_IN);
	train_data_init(&val, N_IN);
	cr_assert_eq(train_split(&all, 0.2, &tr, &val), TRAIN_OK, "split failed");

	cr_assert_eq(tr.n_rows + val.n_rows, all.n_rows, "rows lost in the split");
	cr_assert_eq(tr.n_groups + val.n_groups, 50, "groups lost in the split");
	cr_assert(val.n_groups > 0 && val.n_groups < 50, "val got %zu of 50 groups", val.n_groups);
	for (size_t g = 0; g < val.n_groups; g++) {
		cr_assert_eq(val.group_start[g + 1] - val.group_start[g], 20,
			     "val group %zu is not a whole round", g);
		cr_assert(train_is_val_key(val.group_key[g], 0.2), "val group key %llu is not a val key",
			  (unsigned long long)val.group_key[g]);
	}
	for (size_t g = 0; g < tr.n_groups; g++)
		cr_assert(!train_is_val_key(tr.group_key[g], 0.2), "train group key %llu is a val key",
			  (unsigned long long)tr.group_key[g]);
	train_data_free(&all);
	train_data_free(&tr);
	train_data_free(&val);
}

Test(train, pick_recent_and_older)
{
	struct rng r;
	size_t out[16];
	size_t n;

	rng_seed(&r, 5);
	n = train_pick_rounds(100, 8, 8, &r, out);
	cr_assert_eq(n, 16, "8 recent and 8 older expected, got %zu", n);
	for (size_t i = 0; i < 8; i++)
		cr_assert_eq(out[8 + i], 92 + i, "recent slot %zu holds %zu", i, out[8 + i]);
	for (size_t i = 1; i < n; i++)
		cr_assert_lt(out[i - 1], out[i], "picks must be distinct and increasing at %zu", i);
	cr_assert_lt(out[7], 92, "older picks must come before the recent ones");

	n = train_pick_rounds(5, 8, 8, &r, out);
	cr_assert_eq(n, 5, "with 5 rounds all 5 are picked, got %zu", n);
	for (size_t i = 0; i < n; i++)
		cr_assert_eq(out[i], i, "pick %zu should be round %zu", i, i);
}

Test(train, fit_lowers_val_loss)
{
	struct train_data all, tr, val;
	struct nn_model *m = make_model(11);
	struct train_opts o = epoch_opts(20);
	struct train_result res;
	struct rng r;

	make_data(&all, 20, 200, 7);
	train_data_init(&tr, N_IN);
	train_data_init(&val, N_IN);
	cr_assert_eq(train_split(&all, 0.25, &tr, &val), TRAIN_OK, "split failed");
	cr_assert_gt(val.n_rows, 0, "the split left no validation rows");

	rng_seed(&r, 1);
	cr_assert_eq(train_fit(m, &tr, &val, &o, &r, &res), TRAIN_OK, "fit failed");
	cr_assert_eq(res.epochs, 20, "20 epochs expected, ran %d", res.epochs);
	cr_assert(isfinite(res.start_val_loss), "the start loss was not measured");
	cr_assert_lt(res.val_loss, 0.6 * res.start_val_loss,
		     "val loss %g should fall well below the start's %g", res.val_loss,
		     res.start_val_loss);
	cr_assert_gt(res.val_acc, 0.8, "val accuracy %g should exceed 0.8", res.val_acc);
	nn_free(m);
	train_data_free(&all);
	train_data_free(&tr);
	train_data_free(&val);
}

struct epoch_log {
	int n;
	int last;
};

static int count_epoch(const struct train_epoch *e, void *user)
{
	struct epoch_log *log = user;

	log->n++;
	log->last = e->epoch;
	return 0;
}

Test(train, callback_sees_every_epoch)
{
	struct train_data all, val;
	struct nn_model *m = make_model(2);
	struct train_opts o = epoch_opts(3);
	struct epoch_log log = { 0 };
	struct rng r;

	make_data(&all, 2, 100, 9);
	train_data_init(&val, N_IN);
	o.on_epoch = count_epoch;
	o.user = &log;
	rng_seed(&r, 1);
	cr_assert_eq(train_fit(m, &all, &val, &o, &r, NULL), TRAIN_OK, "fit failed");
	cr_assert_eq(log.n, 3, "three callbacks expected, got %d", log.n);
	cr_assert_eq(log.last, 3, "the last epoch is numbered 3, got %d", log.last);
	nn_free(m);
	train_data_free(&all);
}

Test(train, same_seed_same_weights)
{
	struct train_data all, val;
	unsigned char *buf[2];
	size_t len[2];

	make_data(&all, 4, 150, 4);
	train_data_init(&val, N_IN);
	for (int run = 0; run < 2; run++) {
		struct nn_model *m = make_model(21);
		struct train_opts o = epoch_opts(3);
		struct rng r;

		rng_seed(&r, 77);
		cr_assert_eq(train_fit(m, &all, &val, &o, &r, NULL), TRAIN_OK, "fit %d failed", run);
		cr_assert_eq(nn_save(m, &buf[run], &len[run]), NN_OK, "save %d failed", run);
		nn_free(m);
	}
	cr_assert_eq(len[0], len[1], "saved sizes differ");
	cr_assert(memcmp(buf[0], buf[1], len[0]) == 0, "two fits from the same seed differ");
	free(buf[0]);
	free(buf[1]);
	train_data_free(&all);
}

Test(train, nan_row_fails_without_update)
{
	struct train_data d, val;
	struct nn_model *m = make_model(3);
	struct train_opts o = epoch_opts(1);
	unsigned char *before, *after;
	size_t len_before, len_after;
	float x[N_IN] = { NAN, 0, 0, 0, 0, 0 };
	int id = 1;
	struct rng r;

	train_data_init(&d, N_IN);
	train_data_init(&val, N_IN);
	cr_assert_eq(train_data_add(&d, x, &id, 1), TRAIN_OK, "add failed");
	cr_assert_eq(train_data_end_group(&d, 1), TRAIN_OK, "end_group failed");
	cr_assert_eq(nn_save(m, &before, &len_before), NN_OK, "save failed");

	rng_seed(&r, 1);
	cr_assert_eq(train_fit(m, &d, &val, &o, &r, NULL), TRAIN_ERR_NONFINITE,
		     "a NaN input must fail the fit");
	cr_assert_eq(nn_save(m, &after, &len_after), NN_OK, "save failed");
	cr_assert_eq(len_before, len_after, "sizes differ");
	cr_assert(memcmp(before, after, len_before) == 0, "the failed step changed the model");
	free(before);
	free(after);
	nn_free(m);
	train_data_free(&d);
}

Test(train, empty_data_rejected)
{
	struct train_data d, val;
	struct nn_model *m = make_model(3);
	struct train_opts o = epoch_opts(1);
	struct rng r;

	train_data_init(&d, N_IN);
	train_data_init(&val, N_IN);
	rng_seed(&r, 1);
	cr_assert_eq(train_fit(m, &d, &val, &o, &r, NULL), TRAIN_ERR_EMPTY,
		     "no rows must give TRAIN_ERR_EMPTY");
	nn_free(m);
}

Test(train, promotion_rule)
{
	char note[256];

	cr_assert(train_should_promote(0.50, 0.50, true, 0.05, note, sizeof note),
		  "an equal loss is promoted");
	cr_assert(strstr(note, "promoted") == note, "note starts with the decision: %s", note);
	cr_assert(train_should_promote(0.52, 0.50, true, 0.05, note, sizeof note),
		  "4%% worse is within a 5%% margin");
	cr_assert(strstr(note, "by less than 5%") != NULL, "note names the margin: %s", note);
	cr_assert(train_should_promote(0.30, 0.50, true, 0.05, note, sizeof note),
		  "a better loss is promoted");
	cr_assert(strstr(note, "not above the parent's 0.5000") != NULL,
		  "a fallen loss is not called within the margin: %s", note);
	cr_assert_not(train_should_promote(0.53, 0.50, true, 0.05, note, sizeof note),
		      "6%% worse is past a 5%% margin");
	cr_assert(strstr(note, "not promoted") == note, "note says not promoted: %s", note);
	cr_assert(strstr(note, "0.5000") != NULL, "note names the parent's loss: %s", note);
	cr_assert_not(train_should_promote(0.51, 0.50, true, 0.0, note, sizeof note),
		      "with no margin any rise blocks promotion");
	cr_assert_not(train_should_promote(NAN, 0.50, true, 0.05, note, sizeof note),
		      "without a val loss an unchecked version does not replace its parent");
	cr_assert(strstr(note, "not promoted: no held-out") == note, "note explains: %s", note);
	cr_assert_not(train_should_promote(0.5, NAN, true, 0.05, note, sizeof note),
		      "without the parent's loss there is nothing to compare with");
	cr_assert(train_should_promote(NAN, NAN, false, 0.05, note, sizeof note),
		  "a first version without held-out rounds is promoted");
	cr_assert(strstr(note, "promoted: first version") == note, "note explains: %s", note);
}
