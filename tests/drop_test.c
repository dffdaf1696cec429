/* Tests of the dropout variants: training statistics over many draws, exact
 * behaviour of the deterministic parts, finite-difference gradient checks of
 * every backward pass and regularizer, and the --dropout parser. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "drop.h"
#include "rng.h"

/* Statistics tests draw this many values. Their tolerances are about five
 * standard errors, and the seeds are fixed, so the results are repeatable. */
#define STAT_N 200000

static float *fill_normal(size_t count, uint64_t seed, double scale)
{
	struct rng r;
	float *v = malloc(count * sizeof *v);

	cr_assert_not_null(v, "allocation of %zu floats failed", count);
	rng_seed(&r, seed);
	for (size_t k = 0; k < count; k++)
		v[k] = (float)(scale * rng_normal(&r));
	return v;
}

static void mean_var(const float *v, size_t count, double *mean, double *var)
{
	double sum = 0.0, sq = 0.0;

	for (size_t k = 0; k < count; k++)
		sum += v[k];
	*mean = sum / count;
	for (size_t k = 0; k < count; k++)
		sq += (v[k] - *mean) * (v[k] - *mean);
	*var = sq / count;
}

/* Checks an analytic derivative against a central difference, with an
 * absolute and a relative tolerance. */
static void expect_grad(const char *what, int index, double analytic, double numeric)
{
	double tol = 2e-3 + 2e-2 * fabs(numeric);

	cr_expect(fabs(analytic - numeric) <= tol,
		  "%s[%d]: backward gives %.6g but finite differences give %.6g", what, index,
		  analytic, numeric);
}

/* A training forward pass of a noise layer over N_NOISE units. */
#define N_NOISE 72
typedef void (*noise_forward_fn)(const float *x, float *y, struct rng *r);

/* Checks dx, the backward pass of c, against central differences of
 * sum(c * forward(x)), replaying the generator from r0 for every pass. */
static void check_noise_dx(const char *what, noise_forward_fn forward, const float *x,
			   const float *c, const float *dx, const struct rng *r0)
{
	const double h = 1e-2;

	for (int k = 0; k < N_NOISE; k++) {
		double f[2];

		for (int s = 0; s < 2; s++) {
			float xs[N_NOISE], y[N_NOISE];
			struct rng r = *r0;

			memcpy(xs, x, sizeof xs);
			xs[k] += (float)(s ? h : -h);
			forward(xs, y, &r);
			f[s] = 0.0;
			for (int j = 0; j < N_NOISE; j++)
				f[s] += (double)c[j] * y[j];
		}
		expect_grad(what, k, dx[k], (f[1] - f[0]) / (2 * h));
	}
}

static void fill_pair(float *x, float *c, int count, struct rng *r)
{
	for (int k = 0; k < count; k++) {
		x[k] = (float)rng_normal(r);
		c[k] = (float)rng_normal(r);
	}
}

/* ---- The --dropout parser ---------------------------------------------- */

Test(drop_parse, names_and_aliases)
{
	static const struct {
		const char *text;
		enum drop_variant variant;
	} cases[] = {
		{ "none", DROP_NONE },
		{ "dropout", DROP_STANDARD },
		{ "Dropout", DROP_STANDARD },
		{ "alpha", DROP_ALPHA },
		{ "AlphaDropout", DROP_ALPHA },
		{ "GAUSSIAN", DROP_GAUSSIAN },
		{ "SpatialDropout1D", DROP_SPATIAL_1D },
		{ "spatial", DROP_SPATIAL_1D },
		{ "dropconnect", DROP_CONNECT },
		{ "ConcreteDropout", DROP_CONCRETE },
		{ "variational", DROP_VARIATIONAL },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct drop_spec s;
		char err[256] = "";
		int rc = drop_parse_spec(cases[i].text, &s, err, sizeof err);

		cr_assert_eq(rc, 0, "'%s' was rejected: %s", cases[i].text, err);
		cr_expect_eq(s.variant, cases[i].variant, "'%s' parsed as variant %d, expected %d",
			     cases[i].text, s.variant, cases[i].variant);
		cr_expect_eq(s.rate, drop_default_rate(cases[i].variant),
			     "'%s' without a rate got %g, not the default", cases[i].text, s.rate);
	}
}

Test(drop_parse, explicit_rate)
{
	struct drop_spec s;
	char err[256] = "";

	cr_assert_eq(drop_parse_spec("gaussian:0.3", &s, err, sizeof err), 0,
		     "gaussian:0.3 was rejected: %s", err);
	cr_expect_eq(s.variant, DROP_GAUSSIAN, "gaussian:0.3 parsed as variant %d", s.variant);
	cr_expect_float_eq(s.rate, 0.3f, 1e-7, "gaussian:0.3 parsed rate %g", s.rate);

	cr_assert_eq(drop_parse_spec("dropout:0", &s, err, sizeof err), 0,
		     "dropout:0 was rejected: %s", err);
	cr_expect_eq(s.rate, 0.0f, "dropout:0 parsed rate %g", s.rate);
}

Test(drop_parse, rejects_bad_input)
{
	static const char *const bad[] = {
		"", "drop", "alpha:", "alpha:x", "alpha:0.5x", "alpha:1", "alpha:1.5", "alpha:-0.1",
		"alpha: 0.5", "alpha:nan", "none:0.2", "concrete:0", "variational:0", ":0.5",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct drop_spec s = { DROP_ALPHA, 0.25f };
		char err[256] = "";

		cr_expect_eq(drop_parse_spec(bad[i], &s, err, sizeof err), -1,
			     "'%s' was accepted", bad[i]);
		cr_expect(strstr(err, "invalid dropout") != NULL,
			  "error for '%s' does not say what is invalid: %s", bad[i], err);
		cr_expect_eq(s.variant, DROP_ALPHA, "'%s' changed the output on error", bad[i]);
	}
}

Test(drop_parse, names_round_trip)
{
	for (int v = 0; v < DROP_VARIANT_COUNT; v++) {
		struct drop_spec s;
		char err[256] = "";
		const char *name = drop_variant_name((enum drop_variant)v);

		cr_assert_not_null(name, "variant %d has no name", v);
		cr_assert_eq(drop_parse_spec(name, &s, err, sizeof err), 0,
			     "the name '%s' does not parse: %s", name, err);
		cr_expect_eq(s.variant, (enum drop_variant)v, "'%s' parsed as %d", name, s.variant);
	}
	cr_expect_null(drop_variant_name(DROP_VARIANT_COUNT), "a name past the enum exists");
}

/* ---- Masks ------------------------------------------------------------- */

Test(drop_mask, keep_fraction)
{
	static const float rates[] = { 0.0f, 0.1f, 0.5f, 0.9f };
	unsigned char *keep = malloc(STAT_N);
	struct rng r;

	cr_assert_not_null(keep, "allocation failed");
	rng_seed(&r, 11);
	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
		double p = rates[i];
		double kept = 0.0;
		double tol = 5.0 * sqrt(p * (1.0 - p) / STAT_N) + 1e-12;

		drop_bernoulli_keep(rates[i], keep, STAT_N, &r);
		for (size_t k = 0; k < STAT_N; k++)
			kept += keep[k];
		cr_expect(fabs(kept / STAT_N - (1.0 - p)) <= tol,
			  "rate %g kept %g of the units, expected %g", p, kept / STAT_N, 1.0 - p);
	}
	free(keep);
}

/* ---- AlphaDropout ------------------------------------------------------ */

Test(drop_alpha, affine_keeps_moments_of_selu_fixed_point)
{
	static const float rates[] = { 0.05f, 0.1f, 0.5f };
	float *x = fill_normal(STAT_N, 21, 1.0);
	float *y = malloc(STAT_N * sizeof *y);
	unsigned char *keep = malloc(STAT_N);
	struct rng r;

	cr_assert(y && keep, "allocation failed");
	rng_seed(&r, 22);
	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
		double mean, var;

		drop_alpha_forward(rates[i], x, y, keep, STAT_N, &r);
		mean_var(y, STAT_N, &mean, &var);
		cr_expect(fabs(mean) < 0.02, "rate %g: output mean %g, expected 0", rates[i], mean);
		cr_expect(fabs(var - 1.0) < 0.03, "rate %g: output variance %g, expected 1",
			  rates[i], var);
	}
	free(x);
	free(y);
	free(keep);
}

Test(drop_alpha, dropped_units_saturate)
{
	float x[64], y[64];
	unsigned char keep[64];
	double a, b;
	int dropped = 0;
	struct rng r;

	for (int k = 0; k < 64; k++)
		x[k] = (float)(k - 32) / 8.0f;
	rng_seed(&r, 23);
	drop_alpha_forward(0.5f, x, y, keep, 64, &r);
	drop_alpha_affine(0.5f, &a, &b);

	/* Keras's constants at rate 0.5, worked out by hand:
	 * a = (0.5 * (1 + 0.5 * 3.090913))^-1/2, b = -a * alpha_p * 0.5. */
	cr_expect_float_eq(a, 0.88640, 1e-5, "a at rate 0.5 is %g", a);
	cr_expect_float_eq(b, 0.77919, 1e-5, "b at rate 0.5 is %g", b);
	for (int k = 0; k < 64; k++) {
		double expected = keep[k] ? a * x[k] + b : a * DROP_ALPHA_P + b;

		dropped += !keep[k];
		cr_expect_float_eq(y[k], expected, 1e-6, "unit %d (kept %d): %g, expected %g", k,
				   keep[k], y[k], expected);
	}
	cr_expect(dropped > 10 && dropped < 54, "%d of 64 units dropped at rate 0.5", dropped);
}

static void alpha_forward_03(const float *x, float *y, struct rng *r)
{
	unsigned char keep[N_NOISE];

	drop_alpha_forward(0.3f, x, y, keep, N_NOISE, r);
}

Test(drop_alpha, backward_matches_differences)
{
	float x[N_NOISE], y[N_NOISE], c[N_NOISE], dx[N_NOISE];
	unsigned char keep[N_NOISE];
	struct rng r, r0;

	rng_seed(&r0, 24);
	fill_pair(x, c, N_NOISE, &r0);
	r = r0;
	drop_alpha_forward(0.3f, x, y, keep, N_NOISE, &r);
	drop_alpha_backward(0.3f, keep, c, dx, N_NOISE);
	check_noise_dx("alpha dx", alpha_forward_03, x, c, dx, &r0);
}

/* ---- GaussianDropout --------------------------------------------------- */

Test(drop_gaussian, noise_moments)
{
	static const float rates[] = { 0.1f, 0.5f, 0.8f };
	float *x = malloc(STAT_N * sizeof *x);
	float *y = malloc(STAT_N * sizeof *y);
	float *noise = malloc(STAT_N * sizeof *noise);
	struct rng r;

	cr_assert(x && y && noise, "allocation failed");
	for (size_t k = 0; k < STAT_N; k++)
		x[k] = 2.0f;
	rng_seed(&r, 31);
	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
		double p = rates[i];
		double sd = sqrt(p / (1.0 - p));
		double mean, var;

		drop_gaussian_forward(rates[i], x, y, noise, STAT_N, &r);
		mean_var(noise, STAT_N, &mean, &var);
		cr_expect(fabs(mean - 1.0) < 5.0 * sd / sqrt(STAT_N),
			  "rate %g: noise mean %g, expected 1", p, mean);
		cr_expect(fabs(sqrt(var) - sd) < 0.01 * sd, "rate %g: noise sd %g, expected %g", p,
			  sqrt(var), sd);
		for (size_t k = 0; k < 100; k++)
			cr_expect_eq(y[k], 2.0f * noise[k], "y[%zu] is not x times its noise", k);
	}
	free(x);
	free(y);
	free(noise);
}

Test(drop_gaussian, rate_zero_is_identity)
{
	float x[16], y[16], noise[16];
	struct rng r;

	for (int k = 0; k < 16; k++)
		x[k] = (float)k - 7.5f;
	rng_seed(&r, 32);
	drop_gaussian_forward(0.0f, x, y, noise, 16, &r);
	for (int k = 0; k < 16; k++)
		cr_expect_eq(y[k], x[k], "rate 0 changed unit %d: %g -> %g", k, x[k], y[k]);
}

static void gaussian_forward_04(const float *x, float *y, struct rng *r)
{
	float noise[N_NOISE];

	drop_gaussian_forward(0.4f, x, y, noise, N_NOISE, r);
}

Test(drop_gaussian, backward_matches_differences)
{
	float x[N_NOISE], y[N_NOISE], c[N_NOISE], dx[N_NOISE], noise[N_NOISE];
	struct rng r, r0;

	rng_seed(&r0, 33);
	fill_pair(x, c, N_NOISE, &r0);
	r = r0;
	drop_gaussian_forward(0.4f, x, y, noise, N_NOISE, &r);
	drop_gaussian_backward(noise, c, dx, N_NOISE);
	check_noise_dx("gaussian dx", gaussian_forward_04, x, c, dx, &r0);
}

/* ---- SpatialDropout1D -------------------------------------------------- */

Test(drop_spatial, drops_whole_channels)
{
	enum { N = 4000, STEPS = 5, CH = 6 };
	float *x = malloc((size_t)N * STEPS * CH * sizeof *x);
	float *y = malloc((size_t)N * STEPS * CH * sizeof *y);
	unsigned char *keep = malloc((size_t)N * CH);
	const float rate = 0.3f;
	double dropped = 0.0;
	struct rng r;

	cr_assert(x && y && keep, "allocation failed");
	for (size_t k = 0; k < (size_t)N * STEPS * CH; k++)
		x[k] = 1.0f + (float)(k % 7);
	rng_seed(&r, 41);
	drop_spatial_forward(rate, N, STEPS, CH, x, y, keep, &r);

	for (int i = 0; i < N; i++) {
		for (int c = 0; c < CH; c++) {
			int kept = keep[i * CH + c];

			dropped += !kept;
			for (int t = 0; t < STEPS; t++) {
				size_t k = ((size_t)i * STEPS + t) * CH + c;
				float expected = kept ? x[k] / (1.0f - rate) : 0.0f;

				cr_assert_eq(y[k], expected,
					     "row %d step %d channel %d: %g, expected %g (kept %d)",
					     i, t, c, y[k], expected, kept);
			}
		}
	}
	cr_expect(fabs(dropped / (N * CH) - rate) < 5.0 * sqrt(rate * (1 - rate) / (N * CH)),
		  "dropped %g of the channels, expected %g", dropped / (N * CH), rate);
	free(x);
	free(y);
	free(keep);
}

/* 3 rows of 4 steps of 6 channels fill the N_NOISE units. */
static void spatial_forward_05(const float *x, float *y, struct rng *r)
{
	unsigned char keep[3 * 6];

	drop_spatial_forward(0.5f, 3, 4, 6, x, y, keep, r);
}

Test(drop_spatial, backward_matches_differences)
{
	float x[N_NOISE], y[N_NOISE], c[N_NOISE], dx[N_NOISE];
	unsigned char keep[3 * 6];
	struct rng r, r0;

	rng_seed(&r0, 42);
	fill_pair(x, c, N_NOISE, &r0);
	r = r0;
	drop_spatial_forward(0.5f, 3, 4, 6, x, y, keep, &r);
	drop_spatial_backward(0.5f, 3, 4, 6, keep, c, dx);
	check_noise_dx("spatial dx", spatial_forward_05, x, c, dx, &r0);
}

/* ---- DropConnect ------------------------------------------------------- */

Test(drop_connect, expectation_is_dense)
{
	enum { IN = 5, OUT = 4, DRAWS = 40000 };
	float x[IN], w[IN * OUT], b[OUT], z[OUT];
	double sum[OUT] = { 0 };
	unsigned char keep[IN * OUT];
	double kept = 0.0;
	struct rng r;

	rng_seed(&r, 51);
	for (int k = 0; k < IN; k++)
		x[k] = (float)rng_normal(&r);
	for (int k = 0; k < IN * OUT; k++)
		w[k] = (float)rng_normal(&r);
	for (int j = 0; j < OUT; j++)
		b[j] = (float)j - 1.5f;

	for (int d = 0; d < DRAWS; d++) {
		drop_connect_forward(0.5f, 1, IN, OUT, x, w, b, keep, z, &r);
		for (int j = 0; j < OUT; j++)
			sum[j] += z[j];
		for (int k = 0; k < IN * OUT; k++)
			kept += keep[k];
	}
	cr_expect(fabs(kept / ((double)DRAWS * IN * OUT) - 0.5) < 0.005,
		  "kept %g of the weights at rate 0.5", kept / ((double)DRAWS * IN * OUT));

	for (int j = 0; j < OUT; j++) {
		double dense = b[j];
		double var = 0.0;

		for (int k = 0; k < IN; k++) {
			dense += (double)x[k] * w[k * OUT + j];
			var += (double)x[k] * x[k] * w[k * OUT + j] * w[k * OUT + j];
		}
		/* Each term x_k w_kj m / (1 - p) has variance x^2 w^2 p / (1 - p),
		 * 1 x^2 w^2 at p = 0.5. */
		cr_expect(fabs(sum[j] / DRAWS - dense) < 5.0 * sqrt(var / DRAWS),
			  "unit %d: mean over draws %g, the Dense output is %g", j, sum[j] / DRAWS,
			  dense);
	}
}

Test(drop_connect, masks_differ_between_rows)
{
	enum { N = 2, IN = 8, OUT = 8 };
	float x[N * IN], w[IN * OUT], z[N * OUT];
	unsigned char keep[N * IN * OUT];
	int differ = 0;
	struct rng r;

	for (int k = 0; k < N * IN; k++)
		x[k] = 1.0f;
	for (int k = 0; k < IN * OUT; k++)
		w[k] = 1.0f;
	rng_seed(&r, 52);
	drop_connect_forward(0.5f, N, IN, OUT, x, w, NULL, keep, z, &r);
	for (int k = 0; k < IN * OUT; k++)
		differ += keep[k] != keep[IN * OUT + k];
	cr_expect(differ > 10, "rows 0 and 1 share %d of 64 mask entries", IN * OUT - differ);
	for (int j = 0; j < OUT; j++) {
		int count = 0;

		for (int k = 0; k < IN; k++)
			count += keep[k * OUT + j];
		cr_expect_float_eq(z[j], count * 2.0f, 1e-5,
				   "unit %d: %g, expected kept weights x 2 = %d", j, z[j], count * 2);
	}
}

/* Loss of a DropConnect or variational layer for the gradient checks:
 * sum of c * z over the batch. */
enum dense_variant { DV_CONNECT, DV_VARIATIONAL };

struct dense_case {
	int n, in, out;
	float *x, *w, *b, *la, *c;
	struct rng r0;
};

static double dense_loss(const struct dense_case *t, enum dense_variant v)
{
	size_t nz = (size_t)t->n * t->out;
	float *z = malloc(nz * sizeof *z);
	float *noise = malloc(nz * sizeof *noise);
	float *sd = malloc(nz * sizeof *sd);
	unsigned char *keep = malloc(nz * t->in);
	struct rng r = t->r0;
	double f = 0.0;

	cr_assert(z && noise && sd && keep, "allocation failed");
	if (v == DV_CONNECT)
		drop_connect_forward(0.4f, t->n, t->in, t->out, t->x, t->w, t->b, keep, z, &r);
	else
		drop_vd_forward(t->n, t->in, t->out, t->x, t->w, t->b, t->la, z, noise, sd, &r);
	for (size_t k = 0; k < nz; k++)
		f += (double)t->c[k] * z[k];
	free(z);
	free(noise);
	free(sd);
	free(keep);
	return f;
}

static void check_param(struct dense_case *t, enum dense_variant v, const char *what, float *p,
			const float *grad, int count)
{
	const double h = 1e-2;

	for (int k = 0; k < count; k++) {
		float saved = p[k];
		double f[2];

		p[k] = (float)(saved + h);
		f[1] = dense_loss(t, v);
		p[k] = (float)(saved - h);
		f[0] = dense_loss(t, v);
		p[k] = saved;
		expect_grad(what, k, grad[k], (f[1] - f[0]) / (2 * h));
	}
}

static void dense_case_init(struct dense_case *t, uint64_t seed)
{
	struct rng r;

	t->n = 3;
	t->in = 4;
	t->out = 3;
	t->x = fill_normal((size_t)t->n * t->in, seed, 1.0);
	t->w = fill_normal((size_t)t->in * t->out, seed + 1, 0.7);
	t->b = fill_normal((size_t)t->out, seed + 2, 0.3);
	t->la = fill_normal((size_t)t->in, seed + 3, 0.5);
	t->c = fill_normal((size_t)t->n * t->out, seed + 4, 1.0);
	rng_seed(&r, seed + 5);
	t->r0 = r;
}

static void dense_case_free(struct dense_case *t)
{
	free(t->x);
	free(t->w);
	free(t->b);
	free(t->la);
	free(t->c);
}

Test(drop_connect, backward_matches_differences)
{
	struct dense_case t;
	float dw[12], db[3], dx[12], z[9];
	unsigned char keep[36];
	struct rng r;

	dense_case_init(&t, 53);
	r = t.r0;
	drop_connect_forward(0.4f, t.n, t.in, t.out, t.x, t.w, t.b, keep, z, &r);
	drop_connect_backward(0.4f, t.n, t.in, t.out, t.x, t.w, keep, t.c, dw, db, dx);
	check_param(&t, DV_CONNECT, "dropconnect dw", t.w, dw, 12);
	check_param(&t, DV_CONNECT, "dropconnect db", t.b, db, 3);
	check_param(&t, DV_CONNECT, "dropconnect dx", t.x, dx, 12);
	dense_case_free(&t);
}

/* ---- ConcreteDropout --------------------------------------------------- */

Test(drop_concrete, relaxed_mask_statistics)
{
	static const double rates[] = { 0.1, 0.5 };
	float *x = malloc(STAT_N * sizeof *x);
	float *xd = malloc(STAT_N * sizeof *xd);
	float *drop = malloc(STAT_N * sizeof *drop);
	struct rng r;

	cr_assert(x && xd && drop, "allocation failed");
	for (size_t k = 0; k < STAT_N; k++)
		x[k] = 1.0f;
	rng_seed(&r, 61);
	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
		float logit = drop_concrete_logit(rates[i]);
		double mean_drop, var_drop, mean_x, var_x;
		size_t soft = 0;

		cr_expect_float_eq(drop_concrete_rate(logit), rates[i], 1e-6,
				   "rate %g does not survive logit and back", rates[i]);
		drop_concrete_forward(logit, STAT_N, x, xd, drop, &r);
		mean_var(drop, STAT_N, &mean_drop, &var_drop);
		mean_var(xd, STAT_N, &mean_x, &var_x);
		for (size_t k = 0; k < STAT_N; k++)
			soft += drop[k] > 0.05f && drop[k] < 0.95f;

		/* At temperature 0.1 the relaxed mask is nearly binary. A
		 * value lies in (0.05, 0.95) only when the logistic noise plus
		 * the logit is within 0.29 of 0, in 15% of draws at rate 0.5.
		 * So its mean is close to the rate, and the input keeps its
		 * mean. */
		cr_expect(fabs(mean_drop - rates[i]) < 0.01, "rate %g: mean drop %g", rates[i],
			  mean_drop);
		cr_expect(fabs(mean_x - 1.0) < 0.02, "rate %g: mean of the dropped input %g",
			  rates[i], mean_x);
		cr_expect((double)soft / STAT_N < 0.16,
			  "rate %g: %zu of %d mask values are far from 0 and 1", rates[i], soft,
			  STAT_N);
	}
	free(x);
	free(xd);
	free(drop);
}

static double concrete_loss(float p_logit, const float *x, const float *c, size_t count,
			    const struct rng *r0)
{
	float xd[32], drop[32];
	struct rng r = *r0;
	double f = 0.0;

	drop_concrete_forward(p_logit, count, x, xd, drop, &r);
	for (size_t k = 0; k < count; k++)
		f += (double)c[k] * xd[k];
	return f;
}

Test(drop_concrete, backward_matches_differences)
{
	enum { N = 32 };
	float x[N], c[N], xd[N], drop[N], dx[N];
	struct rng r, r0;
	const float logit = drop_concrete_logit(0.3);
	const double h = 1e-3;
	double dlogit;

	rng_seed(&r0, 62);
	for (int k = 0; k < N; k++) {
		x[k] = (float)rng_normal(&r0);
		c[k] = (float)rng_normal(&r0);
	}
	r = r0;
	drop_concrete_forward(logit, N, x, xd, drop, &r);
	dlogit = drop_concrete_backward(logit, N, x, drop, c, dx);

	expect_grad("concrete dp_logit", 0, dlogit,
		    (concrete_loss((float)(logit + h), x, c, N, &r0) -
		     concrete_loss((float)(logit - h), x, c, N, &r0)) / (2 * h));
	for (int k = 0; k < N; k++) {
		float xs[N];
		double f[2];

		for (int s = 0; s < 2; s++) {
			memcpy(xs, x, sizeof xs);
			xs[k] += (float)(s ? 1e-2 : -1e-2);
			f[s] = concrete_loss(logit, xs, c, N, &r0);
		}
		expect_grad("concrete dx", k, dx[k], (f[1] - f[0]) / 2e-2);
	}
}

Test(drop_concrete, regularizer_gradients)
{
	enum { COUNT = 12 };
	float *w = fill_normal(COUNT, 63, 1.0);
	float dw[COUNT] = { 0 };
	const float logit = drop_concrete_logit(0.2);
	/* A small N makes the weight term large enough to check. */
	const double n_data = 1e-8;
	double dlogit = 0.0;
	const double h = 1e-3;

	drop_concrete_reg(logit, w, COUNT, 4, n_data, &dlogit, dw);

	{
		double up = 0.0, down = 0.0, unused = 0.0;

		up = drop_concrete_reg((float)(logit + h), w, COUNT, 4, n_data, &unused, NULL);
		down = drop_concrete_reg((float)(logit - h), w, COUNT, 4, n_data, &unused, NULL);
		expect_grad("concrete reg dp_logit", 0, dlogit, (up - down) / (2 * h));
	}
	for (int k = 0; k < COUNT; k++) {
		float saved = w[k];
		double up, down, unused = 0.0;

		w[k] = (float)(saved + 1e-2);
		up = drop_concrete_reg(logit, w, COUNT, 4, n_data, &unused, NULL);
		w[k] = (float)(saved - 1e-2);
		down = drop_concrete_reg(logit, w, COUNT, 4, n_data, &unused, NULL);
		w[k] = saved;
		expect_grad("concrete reg dw", k, dw[k], (up - down) / 2e-2);
	}
	free(w);
}

Test(drop_concrete, entropy_term_pulls_toward_half)
{
	float zero[4] = { 0 };
	double below = 0.0, above = 0.0;

	/* Without weights only the entropy term acts, and gradient descent on
	 * it moves the rate toward 0.5 from either side. */
	drop_concrete_reg(drop_concrete_logit(0.1), zero, 4, 8, 1000.0, &below, NULL);
	drop_concrete_reg(drop_concrete_logit(0.9), zero, 4, 8, 1000.0, &above, NULL);
	cr_expect(below < 0.0, "at rate 0.1 the gradient %g would lower the rate", below);
	cr_expect(above > 0.0, "at rate 0.9 the gradient %g would raise the rate", above);
}

/* ---- VariationalDropout ------------------------------------------------ */

Test(drop_vd, sample_moments)
{
	enum { IN = 4, OUT = 3, DRAWS = 50000 };
	float x[IN] = { 0.5f, -1.0f, 2.0f, 0.0f };
	float w[IN * OUT], b[OUT] = { 0.1f, -0.2f, 0.3f };
	float la[IN] = { -1.0f, 0.0f, -2.0f, 3.0f };
	float z[OUT], noise[OUT], sd[OUT];
	double sum[OUT] = { 0 }, sq[OUT] = { 0 };
	struct rng r;

	rng_seed(&r, 71);
	for (int k = 0; k < IN * OUT; k++)
		w[k] = (float)rng_normal(&r);
	for (int d = 0; d < DRAWS; d++) {
		drop_vd_forward(1, IN, OUT, x, w, b, la, z, noise, sd, &r);
		for (int j = 0; j < OUT; j++) {
			sum[j] += z[j];
			sq[j] += (double)z[j] * z[j];
		}
	}
	for (int j = 0; j < OUT; j++) {
		double mu = b[j], var = 0.0;
		double mean = sum[j] / DRAWS;
		double sample_var = sq[j] / DRAWS - mean * mean;

		for (int k = 0; k < IN; k++) {
			double wkj = w[k * OUT + j];

			mu += x[k] * wkj;
			var += (double)x[k] * x[k] * exp(la[k]) * wkj * wkj;
		}
		cr_expect(fabs(mean - mu) < 5.0 * sqrt(var / DRAWS) + 1e-6,
			  "unit %d: sample mean %g, expected the Dense output %g", j, mean, mu);
		cr_expect(fabs(sample_var - var) < 0.03 * var + 1e-6,
			  "unit %d: sample variance %g, expected %g", j, sample_var, var);
	}
}

Test(drop_vd, backward_matches_differences)
{
	struct dense_case t;
	float dw[12], db[3], dla[4], dx[12], z[9], noise[9], sd[9];
	struct rng r;

	dense_case_init(&t, 72);
	r = t.r0;
	drop_vd_forward(t.n, t.in, t.out, t.x, t.w, t.b, t.la, z, noise, sd, &r);
	drop_vd_backward(t.n, t.in, t.out, t.x, t.w, t.la, noise, sd, t.c, dw, db, dla, dx);
	check_param(&t, DV_VARIATIONAL, "variational dw", t.w, dw, 12);
	check_param(&t, DV_VARIATIONAL, "variational db", t.b, db, 3);
	check_param(&t, DV_VARIATIONAL, "variational dlog_alpha", t.la, dla, 4);
	check_param(&t, DV_VARIATIONAL, "variational dx", t.x, dx, 12);
	dense_case_free(&t);
}

Test(drop_vd, kl_shape_and_gradient)
{
	float la[5] = { -8.0f, -2.0f, 0.0f, 2.0f, 8.0f };
	float grad[5] = { 0 };
	double prev = INFINITY;
	const double h = 1e-3;

	drop_vd_kl(la, 5, 2, 10.0, grad);
	for (int k = 0; k < 5; k++) {
		float one = la[k];
		float unused[1] = { 0 };
		double kl = drop_vd_kl(&one, 1, 2, 10.0, unused);

		/* The prior is log-uniform, so more noise is always closer to it. */
		cr_expect(kl < prev, "KL at log alpha %g is %g, not below %g", la[k], kl, prev);
		cr_expect(kl >= 0.0, "KL at log alpha %g is negative: %g", la[k], kl);
		prev = kl;
	}
	for (int k = 1; k < 4; k++) {
		float up = la[k] + (float)h, down = la[k] - (float)h;
		float unused[1] = { 0 };
		double numeric = (drop_vd_kl(&up, 1, 2, 10.0, unused) -
				  drop_vd_kl(&down, 1, 2, 10.0, unused)) / (2 * h);

		expect_grad("variational KL dlog_alpha", k, grad[k], numeric);
	}
}

Test(drop_vd, clipped_log_alpha_gets_no_gradient)
{
	float la[2] = { -9.0f, 9.5f };
	float grad[2] = { 0 };

	drop_vd_kl(la, 2, 3, 1.0, grad);
	cr_expect_eq(grad[0], 0.0f, "log alpha below the clip range got gradient %g", grad[0]);
	cr_expect_eq(grad[1], 0.0f, "log alpha above the clip range got gradient %g", grad[1]);
	cr_expect_float_eq(drop_vd_rate(9.5f), drop_vd_rate(8.0f), 1e-12,
			   "the rate of a clipped log alpha differs from the limit's");
	cr_expect_float_eq(drop_vd_rate(drop_vd_log_alpha(0.2)), 0.2, 1e-6,
			   "rate 0.2 does not survive log alpha and back");
}

/* ---- The variants inside a network ------------------------------------- */

#include "nn.h"

/* A small network on 6 inputs (2 steps of 3 channels) with layer kind
 * `kind` in the middle, smooth activations so finite differences hold. */
static struct nn_model *small_model(enum nn_kind kind, float rate, uint64_t seed)
{
	struct nn_layer_desc layers[3] = {
		{ .kind = NN_DENSE, .units = 6, .act = NN_ACT_SELU, .use_bias = 1 },
		{ .kind = kind, .rate = rate, .steps = 2 },
		{ .kind = NN_DENSE, .units = 3, .act = NN_ACT_SOFTMAX, .use_bias = 1 },
	};
	struct nn_model *m = NULL;
	int rc;

	if (kind == NN_DROP_CONNECT || kind == NN_CONCRETE_DROPOUT ||
	    kind == NN_VARIATIONAL_DROPOUT) {
		layers[1].units = 5;
		layers[1].act = NN_ACT_TANH;
		layers[1].use_bias = 1;
	}
	rc = nn_create(&m, 6, layers, 3, seed);
	cr_assert_eq(rc, NN_OK, "building a model with %s failed: %s", nn_kind_name(kind),
		     nn_strerror(rc));
	return m;
}

static const enum nn_kind variant_kinds[] = {
	NN_ALPHA_DROPOUT, NN_GAUSSIAN_DROPOUT, NN_SPATIAL_DROPOUT_1D,
	NN_DROP_CONNECT,  NN_CONCRETE_DROPOUT, NN_VARIATIONAL_DROPOUT,
};
#define N_VARIANT_KINDS ((int)(sizeof variant_kinds / sizeof variant_kinds[0]))

Test(drop_model, json_round_trip)
{
	for (int v = 0; v < N_VARIANT_KINDS; v++) {
		struct nn_model *m = small_model(variant_kinds[v], 0.25f, 1);
		struct nn_model *back = NULL;
		char err[256] = "";
		char *json = nn_to_json(m);
		char *again;

		cr_assert_not_null(json, "nn_to_json failed");
		cr_assert_eq(nn_from_json(&back, json, 1, err, sizeof err), NN_OK,
			     "%s does not read back: %s (%s)", nn_kind_name(variant_kinds[v]), err,
			     json);
		again = nn_to_json(back);
		cr_expect_str_eq(again, json, "%s changed on a JSON round trip",
				 nn_kind_name(variant_kinds[v]));
		cr_expect_eq(nn_layer(back, 1)->kind, variant_kinds[v], "the kind changed");
		free(json);
		free(again);
		nn_free(m);
		nn_free(back);
	}
}

Test(drop_model, json_rejects_bad_variants)
{
	static const char *const bad[] = {
		"{\"inputs\":6,\"layers\":[{\"kind\":\"ConcreteDropout\",\"units\":3,\"rate\":0}]}",
		"{\"inputs\":6,\"layers\":[{\"kind\":\"DropConnect\",\"units\":3}]}",
		"{\"inputs\":6,\"layers\":[{\"kind\":\"SpatialDropout1D\",\"rate\":0.1,\"steps\":4}]}",
		"{\"inputs\":6,\"layers\":[{\"kind\":\"GaussianDropout\",\"rate\":0.1,\"steps\":2}]}",
		"{\"inputs\":6,\"layers\":[{\"kind\":\"AlphaDropout\",\"rate\":0.1,\"units\":2}]}",
	};

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct nn_model *m = NULL;
		char err[256] = "";

		cr_expect_eq(nn_from_json(&m, bad[i], 1, err, sizeof err), NN_ERR_INVALID,
			     "accepted %s", bad[i]);
		cr_expect_null(m, "a model was returned for %s", bad[i]);
		cr_expect(err[0] != '\0', "no message for %s", bad[i]);
	}
}

/* Copies the weights of a model whose layers 0 and 2 are Dense, and whose
 * layer 1 is Dense-like or absent, into a plain Dense model. */
static struct nn_model *dense_twin(struct nn_model *m)
{
	int n = nn_n_layers(m);
	struct nn_layer_desc layers[3];
	struct nn_model *twin = NULL;
	int k = 0;

	for (int i = 0; i < n; i++) {
		const struct nn_layer_desc *d = nn_layer(m, i);

		if (!d->units)
			continue;
		layers[k] = *d;
		layers[k].kind = NN_DENSE;
		layers[k].rate = 0.0f;
		layers[k].name[0] = '\0';
		k++;
	}
	cr_assert_eq(nn_create(&twin, nn_n_inputs(m), layers, k, 9), NN_OK, "twin failed");
	for (int i = 0, j = 0; i < n; i++) {
		size_t count = (size_t)nn_layer_inputs(m, i) * (size_t)nn_layer(m, i)->units;

		if (!nn_layer(m, i)->units)
			continue;
		memcpy(nn_kernel(twin, j), nn_kernel(m, i), count * sizeof(float));
		memcpy(nn_bias(twin, j), nn_bias(m, i), nn_layer(m, i)->units * sizeof(float));
		j++;
	}
	return twin;
}

Test(drop_model, eval_mode_is_expected_network)
{
	float *x = fill_normal(8 * 6, 81, 1.0);

	for (int v = 0; v < N_VARIANT_KINDS; v++) {
		struct nn_model *m = small_model(variant_kinds[v], 0.4f, 2);
		struct nn_model *twin = dense_twin(m);
		float y[8 * 3], expected[8 * 3];

		cr_assert_eq(nn_predict(m, x, 8, y), NN_OK, "predict failed");
		cr_assert_eq(nn_predict(twin, x, 8, expected), NN_OK, "twin predict failed");
		for (int k = 0; k < 8 * 3; k++)
			cr_expect_eq(y[k], expected[k],
				     "%s in eval mode: output %d is %.9g, the Dense network gives %.9g",
				     nn_kind_name(variant_kinds[v]), k, y[k], expected[k]);
		nn_free(m);
		nn_free(twin);
	}
	free(x);
}

/* Central difference of the training loss in one parameter, replaying the
 * same draws from r0. */
static double model_numeric_grad(struct nn_model *m, const struct nn_data *b, float *p,
				 const struct rng *r0)
{
	const double h = 1e-2;
	float saved = *p;
	double up, down;
	struct rng r;

	*p = (float)(saved + h);
	r = *r0;
	cr_assert_eq(nn_loss_grad(m, b, NN_TRAIN, &r, &up, NULL), NN_OK, "loss failed");
	*p = (float)(saved - h);
	r = *r0;
	cr_assert_eq(nn_loss_grad(m, b, NN_TRAIN, &r, &down, NULL), NN_OK, "loss failed");
	*p = saved;
	return (up - down) / (2 * h);
}

Test(drop_model, training_gradients_match_differences)
{
	float *x = fill_normal(4 * 6, 82, 1.0);
	int ids[4] = { 0, 1, 2, 1 };
	struct nn_data b = { .x = x, .ids = ids, .n = 4 };

	for (int v = 0; v < N_VARIANT_KINDS; v++) {
		struct nn_model *m = small_model(variant_kinds[v], 0.3f, 3);
		const char *name = nn_kind_name(variant_kinds[v]);
		struct rng r0, r;
		double loss;
		float *grads, *params;
		size_t n_params = nn_n_params(m);
		int n_extra;

		/* A small N makes the regularizers weigh enough to check. */
		cr_assert_eq(nn_set_data_size(m, 3.0), NN_OK, "data size rejected");
		rng_seed(&r0, 83);
		r = r0;
		cr_assert_eq(nn_loss_grad(m, &b, NN_TRAIN, &r, &loss, NULL), NN_OK,
			     "%s: loss failed", name);
		grads = malloc(n_params * sizeof *grads);
		cr_assert_not_null(grads, "allocation failed");

		/* Snapshot every gradient: the differences overwrite them. */
		for (int i = 0, off = 0; i < nn_n_layers(m); i++) {
			const float *g = nn_kernel_grad(m, i);
			const float *gb = nn_bias_grad(m, i);
			const float *ge = nn_drop_params_grad(m, i);
			int count = nn_layer(m, i)->units * nn_layer_inputs(m, i);

			nn_drop_params(m, i, &n_extra);
			if (g)
				memcpy(grads + off, g, count * sizeof *g), off += count;
			if (gb)
				memcpy(grads + off, gb, nn_layer(m, i)->units * sizeof *gb),
					off += nn_layer(m, i)->units;
			if (ge)
				memcpy(grads + off, ge, n_extra * sizeof *ge), off += n_extra;
		}
		for (int i = 0, off = 0; i < nn_n_layers(m); i++) {
			int count = nn_layer(m, i)->units * nn_layer_inputs(m, i);

			params = nn_kernel(m, i);
			for (int k = 0; params && k < count; k++, off++)
				expect_grad(name, off, grads[off],
					    model_numeric_grad(m, &b, &params[k], &r0));
			params = nn_bias(m, i);
			for (int k = 0; params && k < nn_layer(m, i)->units; k++, off++)
				expect_grad(name, off, grads[off],
					    model_numeric_grad(m, &b, &params[k], &r0));
			params = nn_drop_params(m, i, &n_extra);
			for (int k = 0; k < n_extra; k++, off++)
				expect_grad(name, off, grads[off],
					    model_numeric_grad(m, &b, &params[k], &r0));
		}
		free(grads);
		nn_free(m);
	}
	free(x);
}

Test(drop_model, save_keeps_learned_rates)
{
	static const enum nn_kind learned[] = { NN_CONCRETE_DROPOUT, NN_VARIATIONAL_DROPOUT };

	for (int v = 0; v < 2; v++) {
		struct nn_model *m = small_model(learned[v], 0.2f, 4);
		struct nn_model *back = NULL;
		unsigned char *buf = NULL;
		size_t len = 0;
		int count, count_back;
		float *p, *q;

		p = nn_drop_params(m, 1, &count);
		cr_assert_not_null(p, "%s has no learned parameters", nn_kind_name(learned[v]));
		cr_expect_eq(count, learned[v] == NN_CONCRETE_DROPOUT ? 1 : 6,
			     "%s has %d learned parameters", nn_kind_name(learned[v]), count);
		for (int k = 0; k < count; k++)
			p[k] = -1.0f + 0.25f * k;
		cr_assert_eq(nn_save(m, &buf, &len), NN_OK, "save failed");
		cr_assert_eq(nn_load(&back, buf, len), NN_OK, "load failed");
		q = nn_drop_params(back, 1, &count_back);
		cr_assert_eq(count_back, count, "the loaded model has %d parameters", count_back);
		for (int k = 0; k < count; k++)
			cr_expect_eq(q[k], p[k], "parameter %d: %g after loading, %g before", k, q[k],
				     p[k]);
		free(buf);
		nn_free(m);
		nn_free(back);
	}
}

Test(drop_model, rates_report_initial_and_learned)
{
	struct nn_model *m = small_model(NN_CONCRETE_DROPOUT, 0.2f, 5);
	float rates[8];
	float *p;
	int count;

	cr_expect_eq(nn_drop_rates(m, 1, rates, 8), 1, "ConcreteDropout has one rate");
	cr_expect_float_eq(rates[0], 0.2f, 1e-6, "initial rate %g, expected 0.2", rates[0]);
	p = nn_drop_params(m, 1, &count);
	p[0] = 0.0f;
	nn_drop_rates(m, 1, rates, 8);
	cr_expect_float_eq(rates[0], 0.5f, 1e-6, "rate of logit 0 is %g", rates[0]);
	cr_expect_eq(nn_drop_rates(m, 0, rates, 8), 0, "a Dense layer reports rates");
	nn_free(m);

	m = small_model(NN_VARIATIONAL_DROPOUT, 0.2f, 5);
	cr_expect_eq(nn_drop_rates(m, 1, rates, 8), 6, "one rate per input unit expected");
	for (int k = 0; k < 6; k++)
		cr_expect_float_eq(rates[k], 0.2f, 1e-6, "unit %d: rate %g", k, rates[k]);
	nn_free(m);
}

Test(drop_model, concrete_rate_learns)
{
	struct nn_model *m = small_model(NN_CONCRETE_DROPOUT, 0.1f, 6);
	float *x = fill_normal(64 * 6, 84, 1.0);
	int ids[64];
	struct nn_data data = { .x = x, .ids = ids, .n = 64 };
	struct nn_fit_opts opts = { .epochs = 40, .batch_size = 16, .shuffle = 1 };
	float before, after;

	for (int i = 0; i < 64; i++)
		ids[i] = x[i * 6] > 0.0f ? 0 : 2;
	nn_drop_rates(m, 1, &before, 1);
	cr_assert_eq(nn_fit(m, &data, &opts, NULL), NN_OK, "fit failed");
	nn_drop_rates(m, 1, &after, 1);
	cr_expect(fabsf(after - before) > 1e-3, "the rate stayed at %g after training", after);
	cr_expect(after > 0.0f && after < 1.0f, "the rate left (0, 1): %g", after);
	free(x);
	nn_free(m);
}

Test(drop_model, spatial_steps_must_divide_input)
{
	struct nn_layer_desc layers[2] = {
		{ .kind = NN_SPATIAL_DROPOUT_1D, .rate = 0.2f, .steps = 4 },
		{ .kind = NN_DENSE, .units = 3, .act = NN_ACT_SOFTMAX, .use_bias = 1 },
	};
	struct nn_model *m = NULL;

	cr_expect_eq(nn_create(&m, 6, layers, 2, 1), NN_ERR_INVALID, "4 steps of 6 inputs accepted");
	layers[0].steps = 3;
	cr_expect_eq(nn_create(&m, 6, layers, 2, 1), NN_OK, "3 steps of 6 inputs rejected");
	nn_free(m);
}

Test(drop_model, warnings_for_alpha_dropout)
{
	static const struct {
		enum nn_act act;
		enum nn_init init;
		unsigned expected;
	} cases[] = {
		{ NN_ACT_SELU, NN_INIT_AUTO, 0 },
		{ NN_ACT_SELU, NN_INIT_LECUN_NORMAL, 0 },
		{ NN_ACT_SELU, NN_INIT_GLOROT_UNIFORM, NN_WARN_ALPHA_INIT },
		{ NN_ACT_RELU, NN_INIT_AUTO, NN_WARN_ALPHA_ACTIVATION },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct nn_layer_desc layers[3] = {
			{ .kind = NN_DENSE, .units = 4, .act = cases[i].act, .init = cases[i].init },
			{ .kind = NN_ALPHA_DROPOUT, .rate = 0.1f },
			{ .kind = NN_DENSE, .units = 3, .act = NN_ACT_SOFTMAX },
		};
		struct nn_model *m = NULL;
		int layer;

		cr_assert_eq(nn_create(&m, 6, layers, 3, 1), NN_OK, "case %zu: create failed", i);
		cr_expect_eq(nn_warnings(m, &layer), cases[i].expected,
			     "case %zu: warnings %#x, expected %#x", i, nn_warnings(m, NULL),
			     cases[i].expected);
		cr_expect_eq(layer, cases[i].expected ? 1 : -1, "case %zu: layer %d", i, layer);
		if (cases[i].expected)
			cr_expect_not_null(nn_warning_text(cases[i].expected),
					   "case %zu: no text", i);
		nn_free(m);
	}
}

Test(drop_model, mc_predict_spread)
{
	struct nn_layer_desc ref[NN_REFERENCE_LAYERS];
	struct nn_model *m = NULL;
	float *x = fill_normal(2 * 6, 85, 1.0);
	float mean[6], std[6], y[6];
	struct rng r;

	nn_reference_layers(ref);
	cr_assert_eq(nn_create(&m, 6, ref, NN_REFERENCE_LAYERS, 7), NN_OK, "create failed");
	rng_seed(&r, 86);

	cr_assert_eq(nn_mc_predict(m, x, 2, 1, &r, mean, std), NN_OK, "one pass failed");
	for (int k = 0; k < 6; k++)
		cr_expect_eq(std[k], 0.0f, "one pass has spread %g at %d", std[k], k);

	cr_assert_eq(nn_mc_predict(m, x, 2, 200, &r, mean, std), NN_OK, "200 passes failed");
	cr_assert_eq(nn_predict(m, x, 2, y), NN_OK, "predict failed");
	for (int i = 0; i < 2; i++) {
		double sum = 0.0;

		for (int j = 0; j < 3; j++) {
			sum += mean[i * 3 + j];
			cr_expect(std[i * 3 + j] > 0.0f, "row %d class %d: no spread", i, j);
			cr_expect(fabsf(mean[i * 3 + j] - y[i * 3 + j]) < 0.2f,
				  "row %d class %d: MC mean %g far from eval %g", i, j,
				  mean[i * 3 + j], y[i * 3 + j]);
		}
		cr_expect_float_eq(sum, 1.0, 1e-4, "row %d: mean probabilities sum to %g", i, sum);
	}
	cr_expect_eq(nn_mc_predict(m, x, 2, 0, &r, mean, std), NN_ERR_INVALID, "0 passes accepted");
	free(x);
	nn_free(m);
}

Test(drop_model, mc_without_dropout_is_predict)
{
	struct nn_layer_desc layers[2] = {
		{ .kind = NN_DENSE, .units = 5, .act = NN_ACT_RELU, .use_bias = 1 },
		{ .kind = NN_DENSE, .units = 3, .act = NN_ACT_SOFTMAX, .use_bias = 1 },
	};
	struct nn_model *m = NULL;
	float *x = fill_normal(6, 87, 1.0);
	float mean[3], std[3], y[3];

	cr_assert_eq(nn_create(&m, 6, layers, 2, 8), NN_OK, "create failed");
	cr_assert_eq(nn_mc_predict(m, x, 1, 10, NULL, mean, std), NN_OK, "mc failed");
	cr_assert_eq(nn_predict(m, x, 1, y), NN_OK, "predict failed");
	for (int j = 0; j < 3; j++) {
		cr_expect_float_eq(mean[j], y[j], 1e-6, "class %d: mean %g, predict %g", j, mean[j],
				   y[j]);
		cr_expect_float_eq(std[j], 0.0f, 1e-6, "class %d: spread %g without dropout", j,
				   std[j]);
	}
	free(x);
	nn_free(m);
}

Test(drop_model, spec_layers_build)
{
	for (int v = 0; v < DROP_VARIANT_COUNT; v++) {
		struct drop_spec spec = { (enum drop_variant)v, drop_default_rate(v) };
		struct nn_layer_desc layers[DROP_SPEC_MAX_LAYERS];
		struct nn_model *m = NULL;
		int n = drop_spec_layers(&spec, 4, layers);

		cr_assert(n >= 3 && n <= DROP_SPEC_MAX_LAYERS, "%s: %d layers",
			  drop_variant_name(v), n);
		cr_expect_eq(nn_create(&m, 4 * 6, layers, n, 1), NN_OK, "%s: the layers are invalid",
			     drop_variant_name(v));
		if (m) {
			cr_expect_eq(nn_n_outputs(m), 3, "%s: %d outputs", drop_variant_name(v),
				     nn_n_outputs(m));
			cr_expect_eq(nn_warnings(m, NULL), 0u, "%s: warnings %#x",
				     drop_variant_name(v), nn_warnings(m, NULL));
		}
		nn_free(m);
	}
	{
		struct drop_spec spec = { DROP_STANDARD, 0.5f };
		struct nn_layer_desc layers[DROP_SPEC_MAX_LAYERS];

		cr_expect_eq(drop_spec_layers(&spec, 0, layers), -1, "history 0 accepted");
	}
}

/* ---- The variants through the TF.js exchange ---------------------------- */

#include <jansson.h>
#include <unistd.h>

#include "tfjs.h"

/* Exports a small model with kind in it to a new temporary directory, whose
 * name goes to dir, and returns the parsed model.json. */
static json_t *export_variant(enum nn_kind kind, char dir[64])
{
	struct nn_model *m = small_model(kind, 0.3f, 11);
	struct tfjs_error err;
	char path[128];
	json_t *root;
	json_error_t jerr;

	strcpy(dir, "/tmp/ttypong-drop-XXXXXX");
	cr_assert_not_null(mkdtemp(dir), "mkdtemp failed");
	snprintf(path, sizeof path, "%s/model", dir);
	cr_assert_eq(tfjs_export_dir(m, path, NULL, NULL, &err), TFJS_OK, "export: %s", err.message);
	nn_free(m);
	snprintf(path, sizeof path, "%s/model/model.json", dir);
	root = json_load_file(path, 0, &jerr);
	cr_assert_not_null(root, "model.json does not parse: %s", jerr.text);
	return root;
}

/* Writes root back over the export and imports it; returns the status. */
static int import_tampered(json_t *root, const char *dir, struct tfjs_error *err)
{
	struct nn_model *m = NULL;
	char path[128];
	int rc;

	snprintf(path, sizeof path, "%s/model/model.json", dir);
	cr_assert_eq(json_dump_file(root, path, 0), 0, "rewriting model.json failed");
	rc = tfjs_import_file(&m, path, 6, 3, NULL, err);
	nn_free(m);
	return rc;
}

static void remove_export(const char *dir)
{
	char path[160];

	snprintf(path, sizeof path, "%s/model/model.json", dir);
	unlink(path);
	snprintf(path, sizeof path, "%s/model/%s", dir, TFJS_WEIGHTS_FILE);
	unlink(path);
	snprintf(path, sizeof path, "%s/model", dir);
	rmdir(path);
	rmdir(dir);
}

static json_t *dropout_entry(json_t *root, int index)
{
	json_t *meta = json_object_get(json_object_get(root, "userDefinedMetadata"), "ttypong");

	return json_array_get(json_object_get(meta, "dropout"), (size_t)index);
}

Test(drop_export, bad_metadata_variant_rejected)
{
	char dir[64];
	json_t *root = export_variant(NN_CONCRETE_DROPOUT, dir);
	struct tfjs_error err;

	json_object_set_new(dropout_entry(root, 0), "variant", json_string("AlphaDropout"));
	cr_expect_eq(import_tampered(root, dir, &err), TFJS_ERR_FORMAT,
		     "a Dense layer named as AlphaDropout was accepted");
	cr_expect(strstr(err.message, "dropout") != NULL, "the message does not name the list: %s",
		  err.message);
	json_decref(root);
	remove_export(dir);
}

Test(drop_export, wrong_rate_count_rejected)
{
	char dir[64];
	json_t *root = export_variant(NN_VARIATIONAL_DROPOUT, dir);
	struct tfjs_error err;

	json_array_remove(json_object_get(dropout_entry(root, 0), "rates"), 0);
	cr_expect_eq(import_tampered(root, dir, &err), TFJS_ERR_FORMAT,
		     "a missing learned rate was accepted");
	cr_expect(strstr(err.message, "learned rates") != NULL, "unclear message: %s", err.message);
	json_decref(root);
	remove_export(dir);
}

Test(drop_export, reshape_must_match_input)
{
	char dir[64];
	json_t *root = export_variant(NN_SPATIAL_DROPOUT_1D, dir);
	json_t *layers = json_object_get(json_object_get(json_object_get(root, "modelTopology"),
							 "config"),
					 "layers");
	json_t *reshape = NULL;
	struct tfjs_error err;

	/* small_model puts SpatialDropout1D after a Dense layer of 6 units. */
	for (size_t i = 0; i < json_array_size(layers) && !reshape; i++)
		if (strcmp(json_string_value(json_object_get(json_array_get(layers, i), "class_name")),
			   "Reshape") == 0)
			reshape = json_object_get(json_array_get(layers, i), "config");
	cr_assert_not_null(reshape, "the export has no Reshape");
	json_object_set_new(reshape, "target_shape", json_pack("[i, i]", 2, 4));
	cr_expect_eq(import_tampered(root, dir, &err), TFJS_ERR_SHAPE,
		     "a Reshape of 6 values into 8 was accepted");
	json_decref(root);
	remove_export(dir);
}

Test(drop_export, c_header_treats_variants_as_eval)
{
	struct nn_model *m = small_model(NN_DROP_CONNECT, 0.3f, 12);
	struct tfjs_error err;
	char path[] = "/tmp/ttypong-drop-header-XXXXXX";
	int fd = mkstemp(path);
	char text[65536];
	size_t len;
	FILE *f;

	cr_assert_geq(fd, 0, "mkstemp failed");
	close(fd);
	cr_assert_eq(tfjs_write_c_header(m, path, "net", NULL, &err), TFJS_OK, "header: %s",
		     err.message);
	f = fopen(path, "r");
	cr_assert_not_null(f, "cannot read the header");
	len = fread(text, 1, sizeof text - 1, f);
	text[len] = '\0';
	fclose(f);
	unlink(path);
	cr_expect(strstr(text, "net_kernel_1") != NULL, "DropConnect's kernel is missing");
	cr_expect(strstr(text, "{ NET_DENSE, \"drop_connect_1\"") != NULL,
		  "DropConnect is not written as a Dense layer");
	nn_free(m);
}

/* ---- The playing agent with --dropout and --mc ------------------------- */

#include "agent.h"

static struct agent *open_agent(const struct agent_opts *o, struct core_config *cfg)
{
	struct agent *a = NULL;
	char msg[256] = "";

	core_config_default(cfg);
	cr_assert_eq(agent_open(&a, NULL, cfg, o, 0, msg, sizeof msg), AGENT_OK,
		     "agent_open failed: %s", msg);
	return a;
}

Test(drop_agent, mc_passes_report_spread)
{
	struct agent_opts o;
	struct core_config cfg;
	struct core_state s;
	struct agent *a;
	struct ctrl c;
	double sum = 0.0, spread = 0.0;

	agent_opts_default(&o);
	o.mc_passes = 30;
	a = open_agent(&o, &cfg);
	agent_ctrl_init(a, &c, CORE_RIGHT);
	core_init(&s, &cfg, 5);
	ctrl_decide(&c, &s, &cfg);

	cr_expect(c.has_probs, "no probabilities with --mc");
	cr_expect(c.has_spread, "no spread with --mc");
	for (int k = 0; k < CORE_MOVE_COUNT; k++) {
		sum += c.probs[k];
		spread += c.spread[k];
		cr_expect_geq(c.spread[k], 0.0f, "class %d has spread %g", k, c.spread[k]);
	}
	cr_expect_float_eq(sum, 1.0, 1e-4, "mean probabilities sum to %g", sum);
	cr_expect_gt(spread, 0.0, "the reference model's dropout gave no spread");
	agent_close(a);
}

Test(drop_agent, eval_mode_has_no_spread)
{
	struct agent_opts o;
	struct core_config cfg;
	struct core_state s;
	struct agent *a;
	struct ctrl c;

	agent_opts_default(&o);
	a = open_agent(&o, &cfg);
	agent_ctrl_init(a, &c, CORE_RIGHT);
	core_init(&s, &cfg, 5);
	ctrl_decide(&c, &s, &cfg);
	cr_expect(c.has_probs, "no probabilities in eval mode");
	cr_expect(!c.has_spread, "a spread without --mc");
	agent_close(a);
}

Test(drop_agent, dropout_option_shapes_fresh_network)
{
	static const enum drop_variant variants[] = { DROP_NONE, DROP_ALPHA, DROP_CONCRETE };

	for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) {
		struct agent_opts o;
		struct core_config cfg;
		struct core_state s;
		struct agent *a;
		struct ctrl c;
		float max_spread = 0.0f;

		agent_opts_default(&o);
		o.has_dropout = true;
		o.dropout = (struct drop_spec){ variants[i], drop_default_rate(variants[i]) };
		o.mc_passes = 20;
		a = open_agent(&o, &cfg);
		agent_ctrl_init(a, &c, CORE_RIGHT);
		core_init(&s, &cfg, 6);
		ctrl_decide(&c, &s, &cfg);
		for (int k = 0; k < CORE_MOVE_COUNT; k++)
			max_spread = c.spread[k] > max_spread ? c.spread[k] : max_spread;
		/* Without dropout every pass is the same network. */
		if (variants[i] == DROP_NONE)
			cr_expect_eq(max_spread, 0.0f, "none: spread %g without dropout",
				     max_spread);
		else
			cr_expect_gt(max_spread, 0.0f, "%s: no spread", drop_variant_name(variants[i]));
		agent_close(a);
	}
}

Test(drop_agent, options_checked)
{
	struct agent_opts o;

	agent_opts_default(&o);
	o.mc_passes = AGENT_MC_PASSES_MAX + 1;
	cr_expect_not_null(agent_opts_check(&o), "1001 MC passes accepted");
	agent_opts_default(&o);
	o.has_dropout = true;
	o.dropout = (struct drop_spec){ DROP_STANDARD, 1.0f };
	cr_expect_not_null(agent_opts_check(&o), "dropout rate 1 accepted");
}
