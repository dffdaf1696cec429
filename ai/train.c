/* train: grouped data, round-wise validation split, budgeted fitting and
 * the promotion rule. See train.h for the invariants. */
#include "train.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double train_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

const char *train_strerror(int status)
{
	switch (status) {
	case TRAIN_ERR_EMPTY:
		return "no labelled frames to train on";
	case TRAIN_ERR_STOPPED:
		return "stopped by the epoch callback";
	default:
		return nn_strerror(status);
	}
}

void train_opts_default(struct train_opts *o)
{
	memset(o, 0, sizeof *o);
	o->batch_size = 64;
	o->epochs = 1000;
	o->budget_ms = 150;
	o->max_val_rows = 1024;
}

/* ---- Grouped data ------------------------------------------------------ */

void train_data_init(struct train_data *d, int n_inputs)
{
	memset(d, 0, sizeof *d);
	d->n_inputs = n_inputs;
}

void train_data_free(struct train_data *d)
{
	int n_inputs = d->n_inputs;

	free(d->x);
	free(d->ids);
	free(d->group_start);
	free(d->group_key);
	train_data_init(d, n_inputs);
}

/* Grows the row arrays to hold at least need rows. */
static int train_reserve_rows(struct train_data *d, size_t need)
{
	size_t cap = d->cap_rows ? d->cap_rows : 1024;
	float *x;
	int *ids;

	if (need <= d->cap_rows)
		return TRAIN_OK;
	while (cap < need)
		cap *= 2;
	x = realloc(d->x, cap * (size_t)d->n_inputs * sizeof *x);
	if (!x)
		return TRAIN_ERR_NOMEM;
	d->x = x;
	ids = realloc(d->ids, cap * sizeof *ids);
	if (!ids)
		return TRAIN_ERR_NOMEM;
	d->ids = ids;
	d->cap_rows = cap;
	return TRAIN_OK;
}

/* Makes sure group_start has room for groups + 2 entries and group_key
 * for groups + 1. */
static int train_reserve_groups(struct train_data *d)
{
	size_t cap = d->cap_groups ? d->cap_groups * 2 : 16;
	size_t *starts;
	uint64_t *keys;

	if (d->n_groups + 2 <= d->cap_groups)
		return TRAIN_OK;
	starts = realloc(d->group_start, cap * sizeof *starts);
	if (!starts)
		return TRAIN_ERR_NOMEM;
	if (!d->group_start)
		starts[0] = 0;
	d->group_start = starts;
	keys = realloc(d->group_key, cap * sizeof *keys);
	if (!keys)
		return TRAIN_ERR_NOMEM;
	d->group_key = keys;
	d->cap_groups = cap;
	return TRAIN_OK;
}

int train_data_add(struct train_data *d, const float *x, const int *ids, size_t n)
{
	size_t kept = 0;
	int rc;

	for (size_t i = 0; i < n; i++)
		kept += ids[i] >= 0;
	rc = train_reserve_groups(d);
	if (rc == TRAIN_OK)
		rc = train_reserve_rows(d, d->n_rows + kept);
	if (rc != TRAIN_OK)
		return rc;

	for (size_t i = 0; i < n; i++) {
		if (ids[i] < 0)
			continue;
		memcpy(d->x + d->n_rows * d->n_inputs, x + i * d->n_inputs,
		       (size_t)d->n_inputs * sizeof *x);
		d->ids[d->n_rows++] = ids[i];
	}
	return TRAIN_OK;
}

int train_data_end_group(struct train_data *d, uint64_t key)
{
	int rc = train_reserve_groups(d);

	if (rc != TRAIN_OK)
		return rc;
	if (d->n_rows == d->group_start[d->n_groups])
		return TRAIN_OK;	/* nothing since the last group */
	d->group_key[d->n_groups] = key;
	d->group_start[++d->n_groups] = d->n_rows;
	return TRAIN_OK;
}

size_t train_data_groups(const struct train_data *d)
{
	return d->n_groups;
}

/* Appends group g of src to dst as one group. */
static int train_copy_group(const struct train_data *src, size_t g, struct train_data *dst)
{
	size_t start = src->group_start[g];
	size_t n = src->group_start[g + 1] - start;
	int rc = train_data_add(dst, src->x + start * src->n_inputs, src->ids + start, n);

	if (rc != TRAIN_OK)
		return rc;
	return train_data_end_group(dst, src->group_key[g]);
}

/* ---- Choosing rounds and splitting ------------------------------------- */

static int train_cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

size_t train_pick_rounds(size_t n_avail, size_t recent, size_t older, struct rng *r,
			 size_t *out)
{
	size_t n_recent = recent < n_avail ? recent : n_avail;
	size_t n_old = n_avail - n_recent;
	size_t n = 0;

	/* Floyd's algorithm draws `older` distinct numbers below n_old in
	 * `older` steps, without a table of all of them. */
	if (older >= n_old) {
		for (size_t i = 0; i < n_old; i++)
			out[n++] = i;
	} else {
		for (size_t j = n_old - older; j < n_old; j++) {
			size_t t = (size_t)(rng_uniform(r) * (double)(j + 1));
			bool seen = false;

			for (size_t k = 0; k < n && !seen; k++)
				seen = out[k] == t;
			out[n++] = seen ? j : t;
		}
		qsort(out, n, sizeof *out, train_cmp_size);
	}

	for (size_t i = n_old; i < n_avail; i++)
		out[n++] = i;
	return n;
}

bool train_is_val_key(uint64_t key, double val_fraction)
{
	struct rng r;

	/* rng_seed() runs the key through splitmix64, a good 64-bit hash. */
	rng_seed(&r, key);
	return rng_uniform(&r) < val_fraction;
}

int train_split(const struct train_data *all, double val_fraction, struct train_data *train,
		struct train_data *val)
{
	int rc = TRAIN_OK;

	assert(train->n_rows == 0 && val->n_rows == 0);
	for (size_t g = 0; g < all->n_groups && rc == TRAIN_OK; g++) {
		bool is_val = train_is_val_key(all->group_key[g], val_fraction);

		rc = train_copy_group(all, g, is_val ? val : train);
	}
	return rc;
}

/* ---- Fitting ----------------------------------------------------------- */

/* Working memory of one fit: the row order, one gathered batch and the
 * validation rows used per evaluation. */
struct train_work {
	size_t *order;
	float *bx;
	int *bids;
	float *vx;
	int *vids;
	struct nn_data val;
	double step_ms;		/* duration of the latest batch */
};

static void train_work_free(struct train_work *w)
{
	free(w->order);
	free(w->bx);
	free(w->bids);
	free(w->vx);
	free(w->vids);
}

/* Takes every k-th validation row so that at most max rows are used and
 * every held-out round contributes. */
static int train_pick_val(const struct train_data *val, size_t max, struct train_work *w)
{
	size_t n = val->n_rows;
	size_t stride = 1;
	size_t k = 0;
	int in = val->n_inputs;

	if (max && n > max)
		stride = (n + max - 1) / max;
	w->val.n = 0;
	if (n == 0)
		return TRAIN_OK;
	w->vx = malloc((n / stride + 1) * (size_t)in * sizeof *w->vx);
	w->vids = malloc((n / stride + 1) * sizeof *w->vids);
	if (!w->vx || !w->vids)
		return TRAIN_ERR_NOMEM;
	for (size_t i = 0; i < n; i += stride, k++) {
		memcpy(w->vx + k * in, val->x + i * in, (size_t)in * sizeof *w->vx);
		w->vids[k] = val->ids[i];
	}
	w->val.x = w->vx;
	w->val.ids = w->vids;
	w->val.n = (int)k;
	return TRAIN_OK;
}

static void train_shuffle(struct rng *r, size_t *order, size_t n)
{
	for (size_t i = n; i-- > 1;) {
		size_t j = rng_below(r, (uint32_t)(i + 1));
		size_t t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
}

/* Copies rows order[start .. start + n) into the batch buffers. */
static struct nn_data train_gather(const struct train_data *d, struct train_work *w,
				   size_t start, size_t n)
{
	int in = d->n_inputs;
	struct nn_data b = { .x = w->bx, .ids = w->bids, .n = (int)n };

	for (size_t r = 0; r < n; r++) {
		size_t src = w->order[start + r];

		memcpy(w->bx + r * in, d->x + src * in, (size_t)in * sizeof *w->bx);
		w->bids[r] = d->ids[src];
	}
	return b;
}

static int train_validate(struct nn_model *m, const struct train_work *w, double *loss,
			  double *acc)
{
	*loss = NAN;
	*acc = NAN;
	if (w->val.n == 0)
		return TRAIN_OK;
	return nn_evaluate(m, &w->val, 256, loss, acc);
}

/* Runs one epoch of shuffled batches, stopping early at the deadline. */
static int train_epoch_run(struct nn_model *m, const struct train_data *d, struct train_work *w,
			   const struct train_opts *o, double deadline_ms, struct rng *r,
			   struct train_result *res, struct train_epoch *e)
{
	double loss_sum = 0, acc_sum = 0;
	size_t bs = (size_t)o->batch_size;

	train_shuffle(r, w->order, d->n_rows);
	for (size_t i = 0; i < d->n_rows; i += bs) {
		size_t n = d->n_rows - i < bs ? d->n_rows - i : bs;
		struct nn_data b;
		double loss, acc;
		int rc;

		double now = train_now_ms();

		/* Stop when the next batch would end past the deadline. */
		if (deadline_ms > 0 && res->steps > 0 && now + w->step_ms >= deadline_ms) {
			e->partial = true;
			res->budget_hit = true;
			break;
		}
		b = train_gather(d, w, i, n);
		rc = nn_train_step(m, &b, &loss, &acc);
		if (rc != NN_OK)
			return rc;
		w->step_ms = train_now_ms() - now;
		res->steps++;
		e->rows += n;
		loss_sum += loss * (double)n;
		acc_sum += acc * (double)n;
	}
	e->train_loss = e->rows ? loss_sum / (double)e->rows : NAN;
	e->train_acc = e->rows ? acc_sum / (double)e->rows : NAN;
	return TRAIN_OK;
}

static int train_check(const struct nn_model *m, const struct train_data *train,
		       const struct train_data *val, const struct train_opts *o)
{
	if (!m || !train || !val || !o || o->batch_size < 1 || o->epochs < 1 ||
	    !(o->budget_ms >= 0))
		return TRAIN_ERR_INVALID;
	if (train->n_inputs != nn_n_inputs(m) || val->n_inputs != nn_n_inputs(m))
		return TRAIN_ERR_INVALID;
	if (train->n_rows == 0)
		return TRAIN_ERR_EMPTY;
	return TRAIN_OK;
}

int train_fit(struct nn_model *m, const struct train_data *train, const struct train_data *val,
	      const struct train_opts *opts, struct rng *r, struct train_result *res)
{
	struct train_work w = { 0 };
	struct train_result out = { .val_loss = NAN, .val_acc = NAN };
	double start_ms = train_now_ms();
	double deadline_ms = opts && opts->budget_ms > 0 ? start_ms + opts->budget_ms : 0;
	double eval_ms;
	size_t bs;
	int rc = train_check(m, train, val, opts);

	if (rc != TRAIN_OK)
		goto done;
	bs = (size_t)opts->batch_size;
	w.order = malloc(train->n_rows * sizeof *w.order);
	w.bx = malloc(bs * (size_t)train->n_inputs * sizeof *w.bx);
	w.bids = malloc(bs * sizeof *w.bids);
	if (!w.order || !w.bx || !w.bids) {
		rc = TRAIN_ERR_NOMEM;
		goto done;
	}
	for (size_t i = 0; i < train->n_rows; i++)
		w.order[i] = i;
	/* Learned dropout rates weigh their regularizers by the data size. */
	nn_set_data_size(m, (double)train->n_rows);
	rc = train_pick_val(val, opts->max_val_rows, &w);
	if (rc != TRAIN_OK)
		goto done;

	/* The starting model's loss on the same rows is what promotion
	 * compares against. A model that already gives NaN counts as
	 * unmeasured rather than as a failure of this fit. */
	eval_ms = train_now_ms();
	if (train_validate(m, &w, &out.start_val_loss, &out.start_val_acc) != TRAIN_OK)
		out.start_val_loss = out.start_val_acc = NAN;

	/* Batches stop early enough for the closing evaluation, which takes
	 * as long as the one just done, to end within the budget. */
	eval_ms = train_now_ms() - eval_ms;
	if (deadline_ms > 0)
		deadline_ms -= eval_ms;

	for (int epoch = 1; epoch <= opts->epochs && !out.budget_hit; epoch++) {
		struct train_epoch e = { .epoch = epoch };
		double epoch_start = train_now_ms();

		rc = train_epoch_run(m, train, &w, opts, deadline_ms, r, &out, &e);
		if (rc != TRAIN_OK)
			goto done;
		if (e.rows == 0)
			break;	/* the budget ran out as this epoch began */
		rc = train_validate(m, &w, &e.val_loss, &e.val_acc);
		if (rc != TRAIN_OK)
			goto done;
		e.duration_ms = train_now_ms() - epoch_start;

		out.epochs = epoch;
		out.train_loss = e.train_loss;
		out.train_acc = e.train_acc;
		out.val_loss = e.val_loss;
		out.val_acc = e.val_acc;
		if (opts->on_epoch && opts->on_epoch(&e, opts->user) != 0) {
			rc = TRAIN_ERR_STOPPED;
			goto done;
		}
	}
done:
	out.elapsed_ms = train_now_ms() - start_ms;
	if (res)
		*res = out;
	train_work_free(&w);
	return rc;
}

bool train_should_promote(double val_loss, double start_val_loss, bool has_parent,
			  double margin, char *note, size_t note_size)
{
	double limit = start_val_loss * (1.0 + margin);

	/* Without a comparison the parent, already checked, stays the one a
	 * new game loads; a first version has nothing better to keep. */
	if (!isfinite(val_loss) || !isfinite(start_val_loss)) {
		if (note_size && has_parent)
			snprintf(note, note_size,
				 "not promoted: no held-out rounds to compare with the parent on");
		else if (note_size)
			snprintf(note, note_size,
				 "promoted: first version, no held-out rounds to compare on");
		return !has_parent;
	}
	if (val_loss > limit) {
		if (note_size)
			snprintf(note, note_size,
				 "not promoted: val loss %.4f is above %.4f, the parent's %.4f on the same held-out rounds plus %.0f%%",
				 val_loss, limit, start_val_loss, margin * 100);
		return false;
	}
	if (note_size && val_loss <= start_val_loss)
		snprintf(note, note_size,
			 "promoted: val loss %.4f is not above the parent's %.4f on the same held-out rounds",
			 val_loss, start_val_loss);
	else if (note_size)
		snprintf(note, note_size,
			 "promoted: val loss %.4f is above the parent's %.4f on the same held-out rounds by less than %.0f%%",
			 val_loss, start_val_loss, margin * 100);
	return true;
}
