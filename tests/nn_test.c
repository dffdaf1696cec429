/* Tests of the network library: gradients against finite differences,
 * dropout statistics, numerical safety, determinism, the saved format and
 * the JSON description. TF.js parity lives in tests/js/nn_parity.test.mjs. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

static struct nn_model *make_model(int inputs, const struct nn_layer_desc *layers, int n,
				   uint64_t seed)
{
	struct nn_model *m = NULL;
	int rc = nn_create(&m, inputs, layers, n, seed);

	cr_assert_eq(rc, NN_OK, "nn_create failed: %s", nn_strerror(rc));
	return m;
}

static struct nn_model *make_reference(uint64_t seed)
{
	struct nn_layer_desc ref[NN_REFERENCE_LAYERS];
	int n = nn_reference_layers(ref);

	return make_model(NN_REFERENCE_INPUTS, ref, n, seed);
}

static void fill_uniform(struct rng *r, float *v, size_t count, float lo, float hi)
{
	for (size_t k = 0; k < count; k++)
		v[k] = lo + (hi - lo) * rng_uniform_f(r);
}

static void save(const struct nn_model *m, unsigned char **buf, size_t *len)
{
	int rc = nn_save(m, buf, len);

	cr_assert_eq(rc, NN_OK, "nn_save failed: %s", nn_strerror(rc));
}

/* ---- Gradients -------------------------------------------------------- */

/* Compares every gradient of a model with central differences of the loss.
 * Steps of 1e-2 keep float32 rounding of the loss (about 1e-7 relative)
 * small beside the difference, and the truncation error is O(h^2). */
static void check_gradients(struct nn_model *m, const struct nn_data *batch, const char *what)
{
	const double h = 1e-2;
	double loss;
	int rc = nn_loss_grad(m, batch, NN_EVAL, NULL, &loss, NULL);

	cr_assert_eq(rc, NN_OK, "%s: nn_loss_grad failed: %s", what, nn_strerror(rc));
	for (int i = 0; i < nn_n_layers(m); i++) {
		for (int bias = 0; bias <= 1; bias++) {
			float *w = bias ? nn_bias(m, i) : nn_kernel(m, i);
			float *g = bias ? nn_bias_grad(m, i) : nn_kernel_grad(m, i);
			int count = bias ? nn_layer(m, i)->units :
					   nn_layer(m, i)->units * nn_layer_inputs(m, i);
			float *analytic;

			if (!w)
				continue;
			/* The differences below overwrite the gradients, so
			 * take this tensor's from the unperturbed model. */
			nn_loss_grad(m, batch, NN_EVAL, NULL, &loss, NULL);
			analytic = malloc((size_t)count * sizeof *analytic);
			cr_assert_not_null(analytic, "out of memory");
			memcpy(analytic, g, (size_t)count * sizeof *g);
			for (int k = 0; k < count; k++) {
				float saved = w[k];
				double up, down, numeric;

				w[k] = (float)(saved + h);
				nn_loss_grad(m, batch, NN_EVAL, NULL, &up, NULL);
				w[k] = (float)(saved - h);
				nn_loss_grad(m, batch, NN_EVAL, NULL, &down, NULL);
				w[k] = saved;
				numeric = (up - down) / (2 * h);
				cr_assert(fabs(numeric - analytic[k]) <= 2e-4 + 2e-2 * fabs(numeric),
					  "%s: layer %d %s[%d]: analytic %g, finite difference %g", what,
					  i, bias ? "bias" : "kernel", k, analytic[k], numeric);
			}
			free(analytic);
		}
	}
}

static void gradient_case(enum nn_act hidden, enum nn_act output, int use_bias)
{
	struct nn_layer_desc layers[] = {
		{ .kind = NN_DENSE, .units = 5, .act = hidden, .use_bias = use_bias },
		{ .kind = NN_DENSE, .units = 3, .act = output, .use_bias = use_bias },
	};
	struct nn_model *m = make_model(4, layers, 2, 11);
	float x[6 * 4];
	int ids[6] = { 0, 1, 2, 2, 1, 0 };
	struct nn_data batch = { .x = x, .ids = ids, .n = 6 };
	struct rng r;
	char what[64];

	rng_seed(&r, 5);
	fill_uniform(&r, x, 24, -1.5f, 1.5f);
	for (int i = 0; i < 2; i++) {
		float *b = nn_bias(m, i);

		/* Non-zero biases, so their gradients matter to the check. */
		for (int j = 0; b && j < nn_layer(m, i)->units; j++)
			b[j] = 0.1f * (float)(j + 1) * (j % 2 ? -1.0f : 1.0f);
	}
	snprintf(what, sizeof what, "%s then %s, bias %d", nn_act_name(hidden),
		 nn_act_name(output), use_bias);
	check_gradients(m, &batch, what);
	nn_free(m);
}

Test(nn_grad, every_hidden_activation)
{
	for (int act = NN_ACT_LINEAR; act <= NN_ACT_SOFTMAX; act++) {
		gradient_case((enum nn_act)act, NN_ACT_SOFTMAX, 1);
		gradient_case((enum nn_act)act, NN_ACT_SOFTMAX, 0);
	}
}

Test(nn_grad, sigmoid_output_rescaled)
{
	/* Sigmoid outputs do not sum to 1, so this covers the rescaling step
	 * of the cross-entropy. */
	gradient_case(NN_ACT_TANH, NN_ACT_SIGMOID, 1);
	gradient_case(NN_ACT_RELU, NN_ACT_SIGMOID, 0);
}

Test(nn_grad, one_hot_equals_ids)
{
	struct nn_model *a = make_reference(3);
	float x[8 * 6], y[8 * 3] = { 0 };
	int ids[8];
	struct rng r;
	double la, lb, acc_a, acc_b;
	size_t count = nn_n_params(a);
	float *ga;

	rng_seed(&r, 9);
	fill_uniform(&r, x, 48, -1, 1);
	for (int i = 0; i < 8; i++) {
		ids[i] = i % 3;
		y[i * 3 + ids[i]] = 1.0f;
	}
	struct nn_data with_ids = { .x = x, .ids = ids, .n = 8 };
	struct nn_data with_y = { .x = x, .y = y, .n = 8 };

	cr_assert_eq(nn_loss_grad(a, &with_ids, NN_EVAL, NULL, &la, &acc_a), NN_OK, "ids failed");
	ga = malloc(count * sizeof *ga);
	cr_assert_not_null(ga, "out of memory");
	memcpy(ga, nn_kernel_grad(a, 0), count * sizeof *ga);
	cr_assert_eq(nn_loss_grad(a, &with_y, NN_EVAL, NULL, &lb, &acc_b), NN_OK, "one-hot failed");
	cr_assert_eq(la, lb, "loss with ids %g, with one-hot %g", la, lb);
	cr_assert_eq(acc_a, acc_b, "accuracy with ids %g, with one-hot %g", acc_a, acc_b);
	cr_assert_eq(memcmp(ga, nn_kernel_grad(a, 0), count * sizeof *ga), 0,
		     "gradients differ between ids and one-hot labels");
	free(ga);
	nn_free(a);
}

/* ---- Dropout ---------------------------------------------------------- */

static struct nn_model *make_dropout(int width, float rate)
{
	struct nn_layer_desc d = { .kind = NN_DROPOUT, .rate = rate };

	return make_model(width, &d, 1, 1);
}

Test(nn_dropout, drop_fraction_and_mean)
{
	const int width = 1000, rows = 1000;
	const float rate = 0.3f;
	struct nn_model *m = make_dropout(width, rate);
	float *x = malloc((size_t)width * rows * sizeof *x);
	float *y = malloc((size_t)width * rows * sizeof *y);
	struct rng r;
	size_t dropped = 0;
	double sum = 0.0;
	float kept = 1.0f / (1.0f - rate);

	cr_assert(x && y, "out of memory");
	for (size_t k = 0; k < (size_t)width * rows; k++)
		x[k] = 1.0f;
	rng_seed(&r, 77);
	cr_assert_eq(nn_forward(m, x, rows, NN_TRAIN, &r, y), NN_OK, "train forward failed");
	for (size_t k = 0; k < (size_t)width * rows; k++) {
		cr_assert(y[k] == 0.0f || fabsf(y[k] - kept) <= 1e-6f,
			  "unit %zu is %g, expected 0 or %g", k, y[k], kept);
		dropped += y[k] == 0.0f;
		sum += y[k];
	}
	/* With 10^6 units the standard error of the fraction is about 5e-4. */
	cr_assert(fabs((double)dropped / (width * rows) - rate) < 3e-3,
		  "dropped fraction %g, expected %g", (double)dropped / (width * rows), rate);
	cr_assert(fabs(sum / (width * rows) - 1.0) < 5e-3, "mean activation %g, expected 1",
		  sum / (width * rows));
	free(x);
	free(y);
	nn_free(m);
}

Test(nn_dropout, rate_zero_is_identity)
{
	struct nn_model *m = make_dropout(64, 0.0f);
	float x[4 * 64], y[4 * 64];
	struct rng r, before;

	rng_seed(&r, 8);
	fill_uniform(&r, x, 256, -3, 3);
	before = r;
	cr_assert_eq(nn_forward(m, x, 4, NN_TRAIN, &r, y), NN_OK, "train forward failed");
	cr_assert_eq(memcmp(x, y, sizeof x), 0, "rate 0 changed values in training");
	cr_assert_eq(memcmp(&r, &before, sizeof r), 0, "rate 0 consumed random numbers");
	nn_free(m);
}

Test(nn_dropout, eval_is_identity_every_call)
{
	struct nn_model *m = make_dropout(64, 0.5f);
	float x[4 * 64], y[4 * 64];
	struct rng r;

	rng_seed(&r, 4);
	fill_uniform(&r, x, 256, -3, 3);
	x[7] = 1e-40f; /* a subnormal must pass through unchanged too */
	for (int call = 0; call < 5; call++) {
		cr_assert_eq(nn_predict(m, x, 4, y), NN_OK, "predict failed");
		cr_assert_eq(memcmp(x, y, sizeof x), 0, "eval changed values on call %d", call);
		cr_assert_eq(nn_forward(m, x, 4, NN_EVAL, &r, y), NN_OK, "eval forward failed");
		cr_assert_eq(memcmp(x, y, sizeof x), 0, "eval forward changed values on call %d",
			     call);
	}
	nn_free(m);
}

Test(nn_dropout, eval_model_ignores_dropout)
{
	struct nn_layer_desc with[] = {
		{ .kind = NN_DENSE, .units = 8, .act = NN_ACT_TANH, .use_bias = 1 },
		{ .kind = NN_DROPOUT, .rate = 0.9f },
		{ .kind = NN_DENSE, .units = 3, .act = NN_ACT_SOFTMAX, .use_bias = 1 },
	};
	struct nn_layer_desc without[] = { with[0], with[2] };
	struct nn_model *a = make_model(5, with, 3, 21);
	struct nn_model *b = make_model(5, without, 2, 21);
	float x[3 * 5], ya[3 * 3], yb[3 * 3];
	struct rng r;

	rng_seed(&r, 1);
	fill_uniform(&r, x, 15, -1, 1);
	cr_assert_eq(nn_predict(a, x, 3, ya), NN_OK, "predict with dropout failed");
	cr_assert_eq(nn_predict(b, x, 3, yb), NN_OK, "predict without dropout failed");
	cr_assert_eq(memcmp(ya, yb, sizeof ya), 0, "dropout changed eval outputs");
	nn_free(a);
	nn_free(b);
}

/* ---- Numerical safety ------------------------------------------------- */

static struct nn_model *make_identity_softmax(void)
{
	struct nn_layer_desc d = { .kind = NN_DENSE, .units = 3, .act = NN_ACT_SOFTMAX };
	struct nn_model *m = make_model(3, &d, 1, 1);
	float *w = nn_kernel(m, 0);

	for (int i = 0; i < 9; i++)
		w[i] = i % 4 == 0 ? 1.0f : 0.0f;
	return m;
}

Test(nn_safety, softmax_extreme_logits)
{
	struct nn_model *m = make_identity_softmax();
	float x[6] = { 1000, 0, -1000, -1000, 0, 1000 };
	float y[6];

	cr_assert_eq(nn_predict(m, x, 2, y), NN_OK, "predict failed");
	cr_assert_eq(y[0], 1.0f, "p0 = %g, expected 1", y[0]);
	cr_assert_eq(y[1], 0.0f, "p1 = %g, expected 0", y[1]);
	cr_assert_eq(y[2], 0.0f, "p2 = %g, expected 0", y[2]);
	cr_assert_eq(y[3], 0.0f, "row 2 p0 = %g, expected 0", y[3]);
	cr_assert_eq(y[5], 1.0f, "row 2 p2 = %g, expected 1", y[5]);
	nn_free(m);
}

Test(nn_safety, confident_wrong_loss_is_finite)
{
	struct nn_model *m = make_identity_softmax();
	float x[3] = { 1000, 0, -1000 };
	int id = 2;
	struct nn_data b = { .x = x, .ids = &id, .n = 1 };
	double loss, acc;

	cr_assert_eq(nn_loss_grad(m, &b, NN_EVAL, NULL, &loss, &acc), NN_OK, "loss failed");
	cr_assert(isfinite(loss), "loss is %g", loss);
	cr_assert(fabs(loss - -log(1e-7)) < 1e-3, "loss %g, expected about %g", loss, -log(1e-7));
	cr_assert_eq(acc, 0.0, "accuracy %g of a wrong prediction", acc);
	nn_free(m);
}

Test(nn_safety, nan_step_changes_nothing)
{
	struct nn_model *m = make_reference(5);
	float x[4 * 6];
	int ids[4] = { 0, 1, 2, 1 };
	struct nn_data b = { .x = x, .ids = ids, .n = 4 };
	struct rng r;
	unsigned char *before, *after;
	size_t before_len, after_len;
	double loss;

	rng_seed(&r, 2);
	fill_uniform(&r, x, 24, -1, 1);
	cr_assert_eq(nn_train_step(m, &b, &loss, NULL), NN_OK, "first step failed");
	save(m, &before, &before_len);

	x[3] = NAN;
	cr_assert_eq(nn_train_step(m, &b, &loss, NULL), NN_ERR_NONFINITE, "NaN step was accepted");
	x[3] = INFINITY;
	cr_assert_eq(nn_train_step(m, &b, &loss, NULL), NN_ERR_NONFINITE, "Inf step was accepted");
	cr_assert_eq(nn_optim_steps(m), 1, "step count moved to %llu",
		     (unsigned long long)nn_optim_steps(m));
	save(m, &after, &after_len);
	cr_assert_eq(before_len, after_len, "saved size changed");
	cr_assert_eq(memcmp(before, after, before_len), 0,
		     "saved state changed after a rejected step");
	free(before);
	free(after);
	nn_free(m);
}

Test(nn_safety, rejects_bad_arguments)
{
	struct nn_model *m = make_reference(1);
	float x[6] = { 0 }, y[3];
	int bad = 3;
	struct nn_data b = { .x = x, .ids = &bad, .n = 1 };
	double loss;
	struct nn_layer_desc d = { .kind = NN_DENSE, .units = 0 };
	struct nn_model *out = NULL;

	cr_assert_eq(nn_predict(m, x, 0, y), NN_ERR_INVALID, "n = 0 accepted");
	cr_assert_eq(nn_loss_grad(m, &b, NN_EVAL, NULL, &loss, NULL), NN_ERR_INVALID,
		     "class id 3 of 3 outputs accepted");
	cr_assert_eq(nn_create(&out, 6, &d, 1, 1), NN_ERR_INVALID, "0 units accepted");
	cr_assert_null(out, "failed create left a model");
	d = (struct nn_layer_desc){ .kind = NN_DROPOUT, .rate = 1.0f };
	cr_assert_eq(nn_create(&out, 6, &d, 1, 1), NN_ERR_INVALID, "rate 1 accepted");
	cr_assert_eq(nn_create(&out, 0, &d, 1, 1), NN_ERR_INVALID, "0 inputs accepted");
	nn_free(m);
}

/* ---- Initialization and determinism ----------------------------------- */

Test(nn_init, glorot_uniform_range)
{
	struct nn_model *m = make_reference(123);
	float *w = nn_kernel(m, 2);
	int count = 64 * 64;
	double limit = sqrt(6.0 / 128), sum = 0, sq = 0;

	for (int k = 0; k < count; k++) {
		cr_assert(fabs(w[k]) <= limit, "weight %d = %g beyond the limit %g", k, w[k], limit);
		sum += w[k];
		sq += (double)w[k] * w[k];
	}
	cr_assert(fabs(sum / count) < 0.01, "mean %g, expected about 0", sum / count);
	cr_assert(fabs(sq / count / (limit * limit / 3) - 1) < 0.05,
		  "variance %g, expected %g", sq / count, limit * limit / 3);
	for (int j = 0; j < 64; j++)
		cr_assert_eq(nn_bias(m, 2)[j], 0.0f, "bias %d is %g, expected 0", j, nn_bias(m, 2)[j]);
	nn_free(m);
}

Test(nn_init, lecun_normal_for_selu)
{
	struct nn_layer_desc d = { .kind = NN_DENSE, .units = 200, .act = NN_ACT_SELU, .use_bias = 1 };
	struct nn_model *m = make_model(100, &d, 1, 9);
	float *w = nn_kernel(m, 0);
	int count = 100 * 200;
	double stddev = sqrt(1.0 / 100), sq = 0;
	double bound = 2 * stddev / 0.87962566103423978;

	for (int k = 0; k < count; k++) {
		cr_assert(fabs(w[k]) <= bound * (1 + 1e-6), "weight %d = %g beyond two deviations", k,
			  w[k]);
		sq += (double)w[k] * w[k];
	}
	cr_assert(fabs(sqrt(sq / count) / stddev - 1) < 0.03, "standard deviation %g, expected %g",
		  sqrt(sq / count), stddev);
	nn_free(m);
}

static void train_some(struct nn_model *m, int epochs)
{
	float x[40 * 6];
	int ids[40];
	struct rng r;
	struct nn_data d = { .x = x, .ids = ids, .n = 40 };
	struct nn_fit_opts o = { .epochs = epochs, .batch_size = 8, .shuffle = 1,
				 .validation_split = 0.25 };

	rng_seed(&r, 31);
	fill_uniform(&r, x, 240, -1, 1);
	for (int i = 0; i < 40; i++)
		ids[i] = x[i * 6] > 0.3f ? 0 : (x[i * 6] < -0.3f ? 2 : 1);
	cr_assert_eq(nn_fit(m, &d, &o, NULL), NN_OK, "nn_fit failed");
}

Test(nn_init, same_seed_same_run)
{
	struct nn_model *a = make_reference(2024), *b = make_reference(2024), *c = make_reference(2025);
	unsigned char *sa, *sb, *sc;
	size_t la, lb, lc;

	save(a, &sa, &la);
	save(c, &sc, &lc);
	cr_assert(la == lc && memcmp(sa, sc, la) != 0, "seeds 2024 and 2025 gave the same model");
	free(sa);
	free(sc);

	train_some(a, 3);
	train_some(b, 3);
	save(a, &sa, &la);
	save(b, &sb, &lb);
	cr_assert_eq(la, lb, "sizes differ");
	cr_assert_eq(memcmp(sa, sb, la), 0, "same seed gave different trained models");
	free(sa);
	free(sb);
	nn_free(a);
	nn_free(b);
	nn_free(c);
}

/* ---- Training --------------------------------------------------------- */

static int count_epochs(const struct nn_epoch_stats *s, void *user)
{
	int *calls = user;

	cr_assert_eq(s->epoch, *calls, "epoch %d reported as call %d", s->epoch, *calls);
	cr_assert(s->has_val, "no validation figures with a split");
	cr_assert(isfinite(s->loss) && isfinite(s->val_loss), "non-finite loss reported");
	(*calls)++;
	return *calls == 40;
}

Test(nn_train, fit_learns_and_stops)
{
	struct nn_model *m = make_reference(17);
	enum { N = 600 };
	float *x = malloc(N * 6 * sizeof *x);
	int ids[N];
	struct rng r;
	struct nn_data d = { .x = x, .ids = ids, .n = N };
	int calls = 0;
	struct nn_fit_opts o = { .epochs = 100, .batch_size = 32, .shuffle = 1,
				 .validation_split = 0.2, .on_epoch = count_epochs, .user = &calls };
	struct nn_fit_result res;

	cr_assert_not_null(x, "out of memory");
	rng_seed(&r, 99);
	fill_uniform(&r, x, N * 6, -1, 1);
	for (int i = 0; i < N; i++)
		ids[i] = x[i * 6] - x[i * 6 + 1] > 0.4f ? 0 : (x[i * 6] - x[i * 6 + 1] < -0.4f ? 2 : 1);

	cr_assert_eq(nn_fit(m, &d, &o, &res), NN_OK, "nn_fit failed");
	cr_assert_eq(calls, 40, "callback ran %d times, expected 40", calls);
	cr_assert_eq(res.stop, NN_STOP_CALLBACK, "stop reason %d", res.stop);
	cr_assert_eq(res.epochs, 40, "%d epochs", res.epochs);
	cr_assert_eq(res.steps, 40 * 15, "%llu steps, expected 600", (unsigned long long)res.steps);
	cr_assert(res.last.val_acc > 0.9, "validation accuracy %g after 40 epochs", res.last.val_acc);
	free(x);
	nn_free(m);
}

Test(nn_train, budget_stops_fit)
{
	struct nn_model *m = make_reference(17);
	float x[64 * 6] = { 0 };
	int ids[64] = { 0 };
	struct nn_data d = { .x = x, .ids = ids, .n = 64 };
	struct nn_fit_opts o = { .epochs = 1000, .batch_size = 8, .budget_ms = 1e-300 };
	struct nn_fit_result res;

	/* A budget far below a nanosecond runs out before the first batch. */
	cr_assert_eq(nn_fit(m, &d, &o, &res), NN_OK, "nn_fit failed");
	cr_assert_eq(res.stop, NN_STOP_BUDGET, "stop reason %d, expected the budget", res.stop);
	cr_assert_eq(res.steps, 0, "%llu steps within an empty budget", (unsigned long long)res.steps);
	nn_free(m);
}

Test(nn_train, adam_first_step_size)
{
	/* Adam's first step moves each weight with a clearly non-zero gradient
	 * by about the learning rate, whatever the gradient's scale. */
	struct nn_layer_desc d = { .kind = NN_DENSE, .units = 3, .act = NN_ACT_SOFTMAX, .use_bias = 1 };
	struct nn_model *m = make_model(4, &d, 1, 3);
	float x[4] = { 0.5f, -1.0f, 2.0f, 0.25f }, before[12];
	int id = 1;
	struct nn_data b = { .x = x, .ids = &id, .n = 1 };
	double loss;

	memcpy(before, nn_kernel(m, 0), sizeof before);
	cr_assert_eq(nn_train_step(m, &b, &loss, NULL), NN_OK, "step failed");
	for (int k = 0; k < 12; k++) {
		float g = nn_kernel_grad(m, 0)[k];
		float step = nn_kernel(m, 0)[k] - before[k];

		if (fabsf(g) < 1e-3f)
			continue;
		cr_assert(fabsf(fabsf(step) - 1e-3f) < 1e-5f, "weight %d moved %g, expected 1e-3", k,
			  step);
		cr_assert((step < 0) == (g > 0), "weight %d moved with its gradient", k);
	}
	nn_free(m);
}

Test(nn_train, sgd_plain_step)
{
	struct nn_layer_desc d = { .kind = NN_DENSE, .units = 3, .act = NN_ACT_SOFTMAX, .use_bias = 1 };
	struct nn_model *m = make_model(4, &d, 1, 3);
	struct nn_optim o = nn_optim_sgd(0.5, 0.0);
	float x[4] = { 0.5f, -1.0f, 2.0f, 0.25f }, before[12];
	int id = 1;
	struct nn_data b = { .x = x, .ids = &id, .n = 1 };
	double loss;

	cr_assert_eq(nn_set_optim(m, &o), NN_OK, "nn_set_optim failed");
	memcpy(before, nn_kernel(m, 0), sizeof before);
	cr_assert_eq(nn_train_step(m, &b, &loss, NULL), NN_OK, "step failed");
	for (int k = 0; k < 12; k++) {
		float expected = before[k] - 0.5f * nn_kernel_grad(m, 0)[k];

		cr_assert_eq(nn_kernel(m, 0)[k], expected, "weight %d is %g, expected %g", k,
			     nn_kernel(m, 0)[k], expected);
	}
	o = nn_optim_sgd(-1.0, 0.0);
	cr_assert_eq(nn_set_optim(m, &o), NN_ERR_INVALID, "negative learning rate accepted");
	nn_free(m);
}

/* Takes two SGD steps and checks the second against Keras's momentum rule,
 * with the gradient of the second step read back from the model. */
static void momentum_case(int nesterov)
{
	struct nn_layer_desc d = { .kind = NN_DENSE, .units = 3, .act = NN_ACT_SOFTMAX, .use_bias = 1 };
	struct nn_model *m = make_model(4, &d, 1, 3);
	struct nn_optim o = nn_optim_sgd(0.1, 0.9);
	float x[4] = { 0.5f, -1.0f, 2.0f, 0.25f }, w0[12], w1[12];
	int id = 1;
	struct nn_data b = { .x = x, .ids = &id, .n = 1 };
	double loss;

	o.nesterov = nesterov;
	cr_assert_eq(nn_set_optim(m, &o), NN_OK, "nn_set_optim failed");
	memcpy(w0, nn_kernel(m, 0), sizeof w0);
	cr_assert_eq(nn_train_step(m, &b, &loss, NULL), NN_OK, "first step failed");
	memcpy(w1, nn_kernel(m, 0), sizeof w1);
	cr_assert_eq(nn_train_step(m, &b, &loss, NULL), NN_OK, "second step failed");
	for (int k = 0; k < 12; k++) {
		/* From zero velocity the first step moves w by v1 (plain) or by
		 * 0.9 * v1 + v1 = 1.9 * v1 (Nesterov), with v1 = -0.1 * g1. */
		double v1 = ((double)w1[k] - w0[k]) / (nesterov ? 1.9 : 1.0);
		double g2 = nn_kernel_grad(m, 0)[k];
		double v2 = 0.9 * v1 - 0.1 * g2;
		double expected = nesterov ? 0.9 * v2 - 0.1 * g2 : v2;
		double step = (double)nn_kernel(m, 0)[k] - w1[k];

		cr_assert(fabs(step - expected) < 1e-6, "nesterov %d: weight %d moved %g, expected %g",
			  nesterov, k, step, expected);
	}
	nn_free(m);
}

Test(nn_train, sgd_momentum_steps)
{
	momentum_case(0);
	momentum_case(1);
}

/* ---- Saved format ----------------------------------------------------- */

Test(nn_save, round_trip)
{
	struct nn_model *m = make_reference(8), *back = NULL, *copy = NULL;
	struct nn_optim sgd = nn_optim_sgd(0.01, 0.9);
	unsigned char *a, *b, *c;
	size_t la, lb, lc;
	float x[6] = { 0.1f, 0.2f, -0.3f, 0.4f, 0.5f, -0.6f }, ya[3], yb[3];

	train_some(m, 2);
	save(m, &a, &la);
	cr_assert_eq(nn_load(&back, a, la), NN_OK, "nn_load failed");
	save(back, &b, &lb);
	cr_assert(la == lb && memcmp(a, b, la) == 0, "save, load, save changed the bytes");
	cr_assert_eq(nn_predict(m, x, 1, ya), NN_OK, "predict failed");
	cr_assert_eq(nn_predict(back, x, 1, yb), NN_OK, "predict failed");
	cr_assert_eq(memcmp(ya, yb, sizeof ya), 0, "loaded model predicts differently");

	/* Training continues identically from the loaded state. */
	train_some(m, 1);
	train_some(back, 1);
	free(a);
	free(b);
	save(m, &a, &la);
	save(back, &b, &lb);
	cr_assert(la == lb && memcmp(a, b, la) == 0, "training diverged after loading");

	/* Clones and SGD state round-trip too. */
	cr_assert_eq(nn_set_optim(m, &sgd), NN_OK, "set SGD failed");
	train_some(m, 1);
	cr_assert_eq(nn_clone(&copy, m), NN_OK, "clone failed");
	free(a);
	save(m, &a, &la);
	save(copy, &c, &lc);
	cr_assert(la == lc && memcmp(a, c, la) == 0, "clone differs from its original");
	nn_free(back);
	cr_assert_eq(nn_load(&back, a, la), NN_OK, "loading an SGD model failed");
	cr_assert_eq(nn_get_optim(back).kind, NN_OPTIM_SGD, "optimizer kind lost");
	cr_assert_eq(nn_get_optim(back).momentum, 0.9, "momentum lost");
	free(a);
	free(b);
	free(c);
	nn_free(m);
	nn_free(back);
	nn_free(copy);
}

Test(nn_save, truncated_at_every_length)
{
	struct nn_model *m = make_reference(8), *back;
	unsigned char *buf;
	size_t len;

	save(m, &buf, &len);
	for (size_t cut = 0; cut < len; cut++) {
		/* A fresh allocation of exactly cut bytes lets ASan catch any read
		 * past the end. */
		unsigned char *part = malloc(cut ? cut : 1);
		int rc;

		cr_assert_not_null(part, "out of memory");
		memcpy(part, buf, cut);
		back = (struct nn_model *)part;
		rc = nn_load(&back, part, cut);
		cr_assert_lt(rc, 0, "a buffer cut to %zu of %zu bytes loaded", cut, len);
		cr_assert_null(back, "a failed load left a model at length %zu", cut);
		free(part);
	}
	free(buf);
	nn_free(m);
}

Test(nn_save, foreign_and_corrupt_buffers)
{
	struct nn_model *m = make_reference(8), *back = NULL;
	unsigned char *buf, *big;
	size_t len;
	const unsigned char zip[] = "PK\x03\x04 this is a zip file, not a model";

	save(m, &buf, &len);
	cr_assert_eq(nn_load(&back, zip, sizeof zip), NN_ERR_FORMAT, "a zip header loaded");
	cr_assert_eq(nn_load(&back, zip, 2), NN_ERR_FORMAT, "two bytes of a zip header loaded");
	cr_assert_eq(nn_load(&back, NULL, 0), NN_ERR_TRUNCATED, "an empty buffer loaded");

	buf[4] = 2;
	cr_assert_eq(nn_load(&back, buf, len), NN_ERR_VERSION, "version 2 loaded");
	buf[4] = 1;

	buf[12] = '[';
	cr_assert_eq(nn_load(&back, buf, len), NN_ERR_FORMAT, "a broken description loaded");
	buf[12] = '{';

	big = malloc(len + 1);
	cr_assert_not_null(big, "out of memory");
	memcpy(big, buf, len);
	big[len] = 0;
	cr_assert_eq(nn_load(&back, big, len + 1), NN_ERR_FORMAT, "a trailing byte was accepted");

	memset(buf + len - 4, 0xff, 4); /* a NaN in Adam's v */
	cr_assert_eq(nn_load(&back, buf, len), NN_ERR_NONFINITE, "a NaN slot loaded");
	cr_assert_null(back, "a failed load left a model");
	free(big);
	free(buf);
	nn_free(m);
}

/* ---- JSON description ------------------------------------------------- */

Test(nn_json, reference_round_trip)
{
	const char *text =
		"{\"inputs\":6,\"layers\":[{\"kind\":\"Dense\",\"units\":64,\"activation\":\"relu\","
		"\"use_bias\":true},{\"kind\":\"Dropout\",\"rate\":0.5},{\"kind\":\"Dense\","
		"\"units\":64,\"activation\":\"relu\"},{\"kind\":\"Dropout\",\"rate\":0.5},"
		"{\"kind\":\"Dense\",\"units\":3,\"activation\":\"softmax\"}]}";
	const char *expected =
		"{\"inputs\":6,\"layers\":[{\"kind\":\"Dense\",\"units\":64,\"activation\":\"relu\","
		"\"use_bias\":true,\"name\":\"dense_1\"},{\"kind\":\"Dropout\",\"rate\":0.5,"
		"\"name\":\"dropout_1\"},{\"kind\":\"Dense\",\"units\":64,\"activation\":\"relu\","
		"\"use_bias\":true,\"name\":\"dense_2\"},{\"kind\":\"Dropout\",\"rate\":0.5,"
		"\"name\":\"dropout_2\"},{\"kind\":\"Dense\",\"units\":3,\"activation\":\"softmax\","
		"\"use_bias\":true,\"name\":\"dense_3\"}]}";
	struct nn_model *a = NULL, *b = make_reference(4), *c = NULL;
	char err[128];
	char *out, *again;

	cr_assert_eq(nn_from_json(&a, text, 4, err, sizeof err), NN_OK, "parse failed: %s", err);
	out = nn_to_json(a);
	cr_assert_str_eq(out, expected, "description written back differs");
	again = nn_to_json(b);
	cr_assert_str_eq(again, expected, "nn_reference_layers differs from its description");
	free(again);
	cr_assert_eq(nn_from_json(&c, out, 4, err, sizeof err), NN_OK, "reparse failed: %s", err);
	again = nn_to_json(c);
	cr_assert_str_eq(again, out, "second round trip differs");
	cr_assert_str_eq(nn_layer(c, 3)->name, "dropout_2", "name of layer 3");
	cr_assert_eq(nn_layer_inputs(c, 2), 64, "fan-in of layer 2");
	cr_assert_null(nn_kernel(c, 1), "dropout has a kernel");
	cr_assert_eq(memcmp(nn_kernel(a, 0), nn_kernel(b, 0), 6 * 64 * sizeof(float)), 0,
		     "same seed from JSON and from code gave different weights");
	free(out);
	free(again);
	nn_free(a);
	nn_free(b);
	nn_free(c);
}

Test(nn_json, options_round_trip)
{
	const char *text =
		"{\"inputs\":3,\"layers\":[{\"kind\":\"Dense\",\"units\":4,\"activation\":\"selu\","
		"\"use_bias\":false,\"kernel_initializer\":\"glorot_uniform\",\"name\":\"h\"},"
		"{\"kind\":\"Dropout\",\"rate\":0.1,\"name\":\"d\"},{\"kind\":\"Dense\",\"units\":2}]}";
	struct nn_model *m = NULL;
	char err[128];
	char *out;

	cr_assert_eq(nn_from_json(&m, text, 1, err, sizeof err), NN_OK, "parse failed: %s", err);
	cr_assert_eq(nn_layer(m, 0)->use_bias, 0, "use_bias lost");
	cr_assert_null(nn_bias(m, 0), "a layer without bias has a bias");
	cr_assert_eq(nn_layer(m, 2)->act, NN_ACT_LINEAR, "default activation is not linear");
	out = nn_to_json(m);
	cr_assert_str_eq(out,
			 "{\"inputs\":3,\"layers\":[{\"kind\":\"Dense\",\"units\":4,\"activation\":"
			 "\"selu\",\"use_bias\":false,\"kernel_initializer\":\"glorot_uniform\","
			 "\"name\":\"h\"},{\"kind\":\"Dropout\",\"rate\":0.1,\"name\":\"d\"},"
			 "{\"kind\":\"Dense\",\"units\":2,\"activation\":\"linear\",\"use_bias\":true,"
			 "\"name\":\"dense_1\"}]}",
			 "description written back differs");
	free(out);
	nn_free(m);
}

Test(nn_json, bad_descriptions)
{
	static const char *const bad[] = {
		"",
		"{\"inputs\":6,\"layers\":[",
		"[]",
		"{\"inputs\":0,\"layers\":[{\"kind\":\"Dense\",\"units\":3}]}",
		"{\"inputs\":6,\"layers\":[]}",
		"{\"inputs\":6}",
		"{\"inputs\":6,\"layers\":[{\"kind\":\"Conv2D\",\"units\":3}]}",
		"{\"inputs\":6,\"layers\":[{\"kind\":\"Dense\"}]}",
		"{\"inputs\":6,\"layers\":[{\"kind\":\"Dense\",\"units\":3.5}]}",
		"{\"inputs\":6,\"layers\":[{\"kind\":\"Dense\",\"units\":3,\"activation\":\"gelu\"}]}",
		"{\"inputs\":6,\"layers\":[{\"kind\":\"Dense\",\"units\":3,\"use_bias\":1}]}",
		"{\"inputs\":6,\"layers\":[{\"kind\":\"Dense\",\"units\":3,\"unit\":4}]}",
		"{\"inputs\":6,\"layers\":[{\"kind\":\"Dropout\",\"rate\":1}]}",
		"{\"inputs\":6,\"layers\":[{\"kind\":\"Dropout\",\"rate\":-0.1}]}",
		"{\"inputs\":6,\"layers\":[{\"kind\":\"Dropout\"}]}",
		"{\"inputs\":6,\"layers\":[{\"kind\":\"Dense\",\"units\":3,\"name\":\"a\"},"
		"{\"kind\":\"Dense\",\"units\":3,\"name\":\"a\"}]}",
		"{\"inputs\":6,\"layers\":[{\"kind\":\"Dense\",\"units\":3,\"name\":\"a/b\"}]}",
		"{\"inputs\":6,\"inputs\":7,\"layers\":[{\"kind\":\"Dense\",\"units\":3}]}",
		"{\"inputs\":6,\"layers\":[{\"kind\":\"Dense\",\"units\":3}],\"optimizer\":\"adam\"}",
	};

	for (int i = 0; i < (int)(sizeof bad / sizeof bad[0]); i++) {
		struct nn_model *m = NULL;
		char err[160] = "";
		int rc = nn_from_json(&m, bad[i], 1, err, sizeof err);

		cr_assert_eq(rc, NN_ERR_INVALID, "case %d (%s) returned %d", i, bad[i], rc);
		cr_assert_null(m, "case %d left a model", i);
		cr_assert(err[0] != '\0', "case %d gave no message", i);
	}
}

Test(nn_json, auto_names_avoid_explicit_ones)
{
	struct nn_layer_desc d[] = {
		{ .kind = NN_DENSE, .units = 3 },
		{ .kind = NN_DENSE, .units = 3, .name = "dense_1" },
	};
	struct nn_model *m = make_model(2, d, 2, 1);

	cr_assert_str_eq(nn_layer(m, 0)->name, "dense_2", "automatic name collided");
	cr_assert_str_eq(nn_layer(m, 1)->name, "dense_1", "explicit name changed");
	nn_free(m);
}

Test(nn_json, activation_names)
{
	for (int a = NN_ACT_LINEAR; a <= NN_ACT_SOFTMAX; a++) {
		enum nn_act back;

		cr_assert_eq(nn_act_parse(nn_act_name((enum nn_act)a), &back), NN_OK,
			     "%s did not parse", nn_act_name((enum nn_act)a));
		cr_assert_eq((int)back, a, "%s parsed to %d", nn_act_name((enum nn_act)a), back);
	}
	cr_assert_null(nn_act_name((enum nn_act)99), "activation 99 has a name");
	cr_assert_eq(nn_act_parse("Relu", &(enum nn_act){ 0 }), NN_ERR_INVALID, "Relu accepted");
}

/* A NaN feature must reach the output as in TF.js, whose relu keeps NaN,
 * instead of turning into ordinary-looking probabilities. */
Test(nn_safety, nan_input_reaches_relu_output)
{
	struct nn_layer_desc layers[2] = {
		{ .kind = NN_DENSE, .units = 4, .act = NN_ACT_RELU, .use_bias = 1 },
		{ .kind = NN_DENSE, .units = 3, .act = NN_ACT_SOFTMAX, .use_bias = 1 },
	};
	struct nn_model *m = make_model(2, layers, 2, 1);
	float x[2] = { NAN, 1.0f }, y[3];
	int id = 0;
	struct nn_data d = { .x = x, .ids = &id, .n = 1 };
	double loss;

	cr_assert_eq(nn_predict(m, x, 1, y), NN_OK, "predict failed");
	for (int j = 0; j < 3; j++)
		cr_assert(isnan(y[j]), "output %d of a NaN input is %g, expected NaN", j, y[j]);
	cr_assert_eq(nn_evaluate(m, &d, 0, &loss, NULL), NN_ERR_NONFINITE,
		     "evaluating a NaN input gave loss %g", loss);
	nn_free(m);
}

/* A layer that does not fit its input width must be named as the reason,
 * not reported as a model that is too large. */
Test(nn_json, spatial_steps_must_divide_width)
{
	static const char *const bad[] = {
		"{\"inputs\":6,\"layers\":[{\"kind\":\"SpatialDropout1D\",\"rate\":0.5,\"steps\":4}]}",
		"{\"inputs\":5,\"layers\":[{\"kind\":\"Dense\",\"units\":6},"
		"{\"kind\":\"SpatialDropout1D\",\"rate\":0.5,\"steps\":7}]}",
	};

	for (int i = 0; i < 2; i++) {
		struct nn_model *m = NULL;
		char err[200] = "";

		cr_assert_eq(nn_from_json(&m, bad[i], 1, err, sizeof err), NN_ERR_INVALID,
			     "case %d was accepted", i);
		cr_assert_null(m, "case %d left a model", i);
		cr_assert(strstr(err, "steps") && strstr(err, "divide") && strstr(err, "6"),
			  "case %d gave \"%s\", which does not name steps and the width 6", i, err);
		cr_assert(!strstr(err, "parameters"), "case %d blamed the size: %s", i, err);
	}
}

/* ---- Optimizer state on load ----------------------------------------- */

/* Returns the offset of the field at +rel after the description of a saved
 * buffer, as the layout in nn.c numbers them. */
static size_t optim_off(const unsigned char *buf, size_t rel)
{
	uint32_t d = (uint32_t)buf[8] | (uint32_t)buf[9] << 8 | (uint32_t)buf[10] << 16 |
		     (uint32_t)buf[11] << 24;

	return 12 + d + rel;
}

static void put_f32(unsigned char *p, float v)
{
	uint32_t bits;

	memcpy(&bits, &v, sizeof bits);
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(bits >> (8 * i));
}

static void put_f64(unsigned char *p, double v)
{
	uint64_t bits;

	memcpy(&bits, &v, sizeof bits);
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(bits >> (8 * i));
}

/* Saves a small model after steps Adam or SGD steps. */
static void save_trained(enum nn_optim_kind kind, int steps, unsigned char **buf, size_t *len)
{
	struct nn_layer_desc layers[2] = {
		{ .kind = NN_DENSE, .units = 8, .act = NN_ACT_RELU, .use_bias = 1 },
		{ .kind = NN_DENSE, .units = 3, .act = NN_ACT_SOFTMAX, .use_bias = 1 },
	};
	struct nn_model *m = make_model(4, layers, 2, 3);
	struct nn_optim o = nn_optim_adam();
	float x[8] = { 0.5f, -1, 0.25f, 2, -0.5f, 1, 0, -2 };
	int ids[2] = { 0, 2 };
	struct nn_data b = { .x = x, .ids = ids, .n = 2 };

	if (kind == NN_OPTIM_SGD) {
		o.kind = NN_OPTIM_SGD;
		o.lr = 0.05;
		o.momentum = 0.9;
	}
	cr_assert_eq(nn_set_optim(m, &o), NN_OK, "optimizer rejected");
	for (int i = 0; i < steps; i++)
		cr_assert_eq(nn_train_step(m, &b, NULL, NULL), NN_OK, "step %d failed", i);
	save(m, buf, len);
	nn_free(m);
}

/* Loads buf, expecting rc, and frees any model. */
static void expect_load(const unsigned char *buf, size_t len, int rc, const char *what)
{
	struct nn_model *back = NULL;
	int got = nn_load(&back, buf, len);

	cr_assert_eq(got, rc, "%s: nn_load returned %d (%s), expected %d", what, got,
		     nn_strerror(got), rc);
	nn_free(back);
}

Test(nn_save, adam_powers_follow_steps)
{
	static const struct {
		size_t rel;
		float value;
		const char *what;
	} bad[] = {
		{ 56, 1.0f, "beta1 power 1" },
		{ 56, 0.0f, "beta1 power 0 after 5 steps" },
		{ 56, 0.5f, "beta1 power 0.5" },
		{ 60, -1.0f, "beta2 power -1" },
		{ 60, 0.999f, "beta2 power of step 1 after 5 steps" },
		{ 60, INFINITY, "beta2 power inf" },
	};
	unsigned char *buf;
	size_t len;

	save_trained(NN_OPTIM_ADAM, 5, &buf, &len);
	expect_load(buf, len, NN_OK, "an untouched save");
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		unsigned char keep[4];
		size_t off = optim_off(buf, bad[i].rel);

		memcpy(keep, buf + off, 4);
		put_f32(buf + off, bad[i].value);
		expect_load(buf, len, NN_ERR_FORMAT, bad[i].what);
		memcpy(buf + off, keep, 4);
	}
	free(buf);
}

/* After enough steps beta1^t underflows float32 to 0, which must still load. */
Test(nn_save, underflowed_power_loads)
{
	unsigned char *buf;
	size_t len;

	save_trained(NN_OPTIM_ADAM, 1000, &buf, &len);
	expect_load(buf, len, NN_OK, "a save after 1000 steps");
	free(buf);
}

Test(nn_save, impossible_slots_rejected)
{
	unsigned char *buf;
	size_t len;

	save_trained(NN_OPTIM_ADAM, 3, &buf, &len);
	put_f32(buf + len - 4, -1.0f);
	expect_load(buf, len, NN_ERR_FORMAT, "a negative Adam v");
	free(buf);

	save_trained(NN_OPTIM_SGD, 3, &buf, &len);
	expect_load(buf, len, NN_OK, "an untouched SGD save");
	put_f32(buf + len - 4, 0.5f);
	expect_load(buf, len, NN_ERR_FORMAT, "a non-zero SGD second slot");
	free(buf);
}

Test(nn_save, nonfinite_momentum_rejected)
{
	struct nn_model *m = make_reference(4);
	struct nn_optim o = nn_optim_adam();
	unsigned char *buf;
	size_t len;

	save_trained(NN_OPTIM_ADAM, 2, &buf, &len);
	put_f64(buf + optim_off(buf, 36), NAN);
	expect_load(buf, len, NN_ERR_FORMAT, "NaN momentum on Adam");
	free(buf);

	o.momentum = NAN;
	cr_assert_eq(nn_set_optim(m, &o), NN_ERR_INVALID, "nn_set_optim accepted NaN momentum");
	nn_free(m);
}

/* nn_evaluate, like nn_train_step, lets the caller skip either figure. */
Test(nn_safety, evaluate_accepts_null_outputs)
{
	struct nn_model *m = make_reference(6);
	float x[2 * 6] = { 0.1f, 0.2f, -0.3f, 0.4f, 0.5f, -0.6f, 1, 0, 0, 1, 0, 0 };
	int ids[2] = { 0, 2 };
	struct nn_data d = { .x = x, .ids = ids, .n = 2 };
	double loss = -1, acc = -1;

	cr_assert_eq(nn_evaluate(m, &d, 0, NULL, NULL), NN_OK, "NULL loss and acc were rejected");
	cr_assert_eq(nn_evaluate(m, &d, 0, NULL, &acc), NN_OK, "a NULL loss was rejected");
	cr_assert(acc >= 0.0 && acc <= 1.0, "accuracy %g without the loss", acc);
	cr_assert_eq(nn_evaluate(m, &d, 0, &loss, NULL), NN_OK, "a NULL acc was rejected");
	cr_assert(loss > 0.0, "loss %g without the accuracy", loss);
	cr_assert_eq(nn_evaluate(m, NULL, 0, &loss, &acc), NN_ERR_INVALID, "NULL data was accepted");
	nn_free(m);
}
