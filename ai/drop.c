/* drop: training-mode forward and backward kernels of the dropout variants,
 * their regularizers, and the --dropout option parser.
 *
 * Element-wise arithmetic runs in double and is rounded to float once per
 * stored value; sums over a row accumulate in double. */
#include "drop.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Keeps Concrete dropout's log(u) and log(1 - u) finite for u = 0. */
#define DROP_CONCRETE_EPSILON 1e-7

/* Constants of Molchanov et al.'s (2017) fit of the variational dropout KL:
 * -KL ~ k1 sigmoid(k2 + k3 log alpha) - log(1 + 1/alpha) / 2 - k1. */
#define DROP_VD_K1 0.63576
#define DROP_VD_K2 1.87320
#define DROP_VD_K3 1.48695

/* ---- Names and the option parser -------------------------------------- */

static const char *const drop_names[DROP_VARIANT_COUNT] = {
	[DROP_NONE] = "none",
	[DROP_STANDARD] = "Dropout",
	[DROP_ALPHA] = "AlphaDropout",
	[DROP_GAUSSIAN] = "GaussianDropout",
	[DROP_SPATIAL_1D] = "SpatialDropout1D",
	[DROP_CONNECT] = "DropConnect",
	[DROP_CONCRETE] = "ConcreteDropout",
	[DROP_VARIATIONAL] = "VariationalDropout",
};

static const char *const drop_aliases[DROP_VARIANT_COUNT] = {
	[DROP_NONE] = "none",
	[DROP_STANDARD] = "dropout",
	[DROP_ALPHA] = "alpha",
	[DROP_GAUSSIAN] = "gaussian",
	[DROP_SPATIAL_1D] = "spatial",
	[DROP_CONNECT] = "dropconnect",
	[DROP_CONCRETE] = "concrete",
	[DROP_VARIATIONAL] = "variational",
};

/* Rates without --dropout's RATE. AlphaDropout's is small because its noise
 * is strong: a dropped unit jumps to the saturation value rather than to 0.
 * The learned variants start low (Concrete at 0.1, variational at Gaussian
 * noise of variance 0.25, log alpha about -1.4) and learn from there. */
static const float drop_rates[DROP_VARIANT_COUNT] = {
	[DROP_NONE] = 0.0f,
	[DROP_STANDARD] = 0.5f,
	[DROP_ALPHA] = 0.1f,
	[DROP_GAUSSIAN] = 0.5f,
	[DROP_SPATIAL_1D] = 0.2f,
	[DROP_CONNECT] = 0.5f,
	[DROP_CONCRETE] = 0.1f,
	[DROP_VARIATIONAL] = 0.2f,
};

const char *drop_variant_name(enum drop_variant v)
{
	if ((int)v < 0 || (int)v >= DROP_VARIANT_COUNT)
		return NULL;
	return drop_names[v];
}

float drop_default_rate(enum drop_variant v)
{
	if ((int)v < 0 || (int)v >= DROP_VARIANT_COUNT)
		return 0.0f;
	return drop_rates[v];
}

static int drop_lookup(const char *name, size_t len, enum drop_variant *out)
{
	for (int i = 0; i < DROP_VARIANT_COUNT; i++) {
		if ((strlen(drop_names[i]) == len && strncasecmp(name, drop_names[i], len) == 0) ||
		    (strlen(drop_aliases[i]) == len && strncasecmp(name, drop_aliases[i], len) == 0)) {
			*out = (enum drop_variant)i;
			return 0;
		}
	}
	return -1;
}

static int drop_parse_fail(char *err, size_t err_len, const char *text, const char *why)
{
	if (err_len > 0)
		snprintf(err, err_len,
			 "invalid dropout '%s': %s; use NAME[:RATE] with NAME one of none, dropout, "
			 "alpha, gaussian, spatial, dropconnect, concrete, variational and RATE in [0, 1)",
			 text, why);
	return -1;
}

int drop_parse_spec(const char *text, struct drop_spec *out, char *err, size_t err_len)
{
	const char *colon;
	enum drop_variant v;
	double rate;

	if (!text || !out)
		return drop_parse_fail(err, err_len, text ? text : "(null)", "no value");
	colon = strchr(text, ':');
	if (drop_lookup(text, colon ? (size_t)(colon - text) : strlen(text), &v) != 0)
		return drop_parse_fail(err, err_len, text, "unknown name");

	rate = drop_rates[v];
	if (colon) {
		char *end;

		errno = 0;
		rate = strtod(colon + 1, &end);
		if (colon[1] == '\0' || isspace((unsigned char)colon[1]) || *end != '\0' ||
		    errno != 0)
			return drop_parse_fail(err, err_len, text, "the rate is not a number");
		if (!(rate >= 0.0 && rate < 1.0))
			return drop_parse_fail(err, err_len, text, "the rate is outside [0, 1)");
		if (v == DROP_NONE && rate != 0.0)
			return drop_parse_fail(err, err_len, text, "none takes no rate");
	}

	/* The learned variants start from a rate strictly inside (0, 1),
	 * because their parameters are logits of it. */
	if ((v == DROP_CONCRETE || v == DROP_VARIATIONAL) && rate == 0.0)
		return drop_parse_fail(err, err_len, text, "a learned rate must start above 0");

	out->variant = v;
	out->rate = (float)rate;
	return 0;
}

int drop_spec_layers(const struct drop_spec *spec, int history,
		     struct nn_layer_desc layers[DROP_SPEC_MAX_LAYERS])
{
	static const enum nn_kind dense_kinds[DROP_VARIANT_COUNT] = {
		[DROP_CONNECT] = NN_DROP_CONNECT,
		[DROP_CONCRETE] = NN_CONCRETE_DROPOUT,
		[DROP_VARIATIONAL] = NN_VARIATIONAL_DROPOUT,
	};
	static const enum nn_kind noise_kinds[DROP_VARIANT_COUNT] = {
		[DROP_STANDARD] = NN_DROPOUT,
		[DROP_ALPHA] = NN_ALPHA_DROPOUT,
		[DROP_GAUSSIAN] = NN_GAUSSIAN_DROPOUT,
	};
	struct nn_layer_desc hidden = { .kind = NN_DENSE, .units = 64, .act = NN_ACT_RELU,
					.use_bias = 1 };
	struct nn_layer_desc output = { .kind = NN_DENSE, .units = 3, .act = NN_ACT_SOFTMAX,
					.use_bias = 1 };
	struct nn_layer_desc noise = { .rate = spec ? spec->rate : 0.0f };
	int count = 0;

	if (!spec || history < 1 || (int)spec->variant < 0 ||
	    (int)spec->variant >= DROP_VARIANT_COUNT || !(spec->rate >= 0.0f && spec->rate < 1.0f))
		return -1;
	memset(layers, 0, DROP_SPEC_MAX_LAYERS * sizeof *layers);
	if (spec->variant == DROP_ALPHA)
		hidden.act = NN_ACT_SELU;

	switch (spec->variant) {
	case DROP_NONE:
		layers[count++] = hidden;
		layers[count++] = hidden;
		break;
	case DROP_STANDARD:
	case DROP_ALPHA:
	case DROP_GAUSSIAN:
		noise.kind = noise_kinds[spec->variant];
		layers[count++] = hidden;
		layers[count++] = noise;
		layers[count++] = hidden;
		layers[count++] = noise;
		break;
	case DROP_SPATIAL_1D:
		noise.kind = NN_SPATIAL_DROPOUT_1D;
		noise.steps = history;
		layers[count++] = noise;
		layers[count++] = hidden;
		layers[count++] = hidden;
		break;
	case DROP_CONNECT:
	case DROP_CONCRETE:
	case DROP_VARIATIONAL:
		if (spec->variant != DROP_CONNECT && spec->rate <= 0.0f)
			return -1;
		layers[count++] = hidden;
		hidden.kind = dense_kinds[spec->variant];
		hidden.rate = spec->rate;
		output.kind = hidden.kind;
		output.rate = spec->rate;
		layers[count++] = hidden;
		break;
	}
	layers[count++] = output;
	return count;
}

/* ---- Masks ------------------------------------------------------------- */

void drop_bernoulli_keep(float rate, unsigned char *keep, size_t count, struct rng *r)
{
	uint64_t threshold = (uint64_t)llround((double)rate * 4294967296.0);
	uint64_t bits = 0;

	for (size_t k = 0; k < count; k++) {
		uint32_t u;

		if ((k & 1) == 0)
			bits = rng_next(r);
		u = (uint32_t)(bits >> ((k & 1) * 32));
		keep[k] = u >= threshold;
	}
}

/* ---- AlphaDropout ------------------------------------------------------ */

void drop_alpha_affine(float rate, double *a, double *b)
{
	double p = rate;

	*a = 1.0 / sqrt((1.0 - p) * (1.0 + p * DROP_ALPHA_P * DROP_ALPHA_P));
	*b = -*a * DROP_ALPHA_P * p;
}

void drop_alpha_forward(float rate, const float *x, float *y, unsigned char *keep, size_t count,
			struct rng *r)
{
	double a, b;

	drop_alpha_affine(rate, &a, &b);
	drop_bernoulli_keep(rate, keep, count, r);
	for (size_t k = 0; k < count; k++) {
		double v = keep[k] ? x[k] : DROP_ALPHA_P;

		y[k] = (float)(a * v + b);
	}
}

void drop_alpha_backward(float rate, const unsigned char *keep, const float *dy, float *dx,
			 size_t count)
{
	double a, b;

	drop_alpha_affine(rate, &a, &b);
	for (size_t k = 0; k < count; k++)
		dx[k] = keep[k] ? (float)(a * dy[k]) : 0.0f;
}

/* ---- GaussianDropout --------------------------------------------------- */

void drop_gaussian_forward(float rate, const float *x, float *y, float *noise, size_t count,
			   struct rng *r)
{
	double sd = sqrt((double)rate / (1.0 - rate));

	for (size_t k = 0; k < count; k++) {
		noise[k] = (float)(1.0 + sd * rng_normal(r));
		y[k] = x[k] * noise[k];
	}
}

void drop_gaussian_backward(const float *noise, const float *dy, float *dx, size_t count)
{
	for (size_t k = 0; k < count; k++)
		dx[k] = dy[k] * noise[k];
}

/* ---- SpatialDropout1D -------------------------------------------------- */

void drop_spatial_forward(float rate, int n, int steps, int channels, const float *x, float *y,
			  unsigned char *keep, struct rng *r)
{
	drop_bernoulli_keep(rate, keep, (size_t)n * channels, r);
	drop_spatial_backward(rate, n, steps, channels, keep, x, y);
}

/* The forward and backward passes are the same masked scaling. */
void drop_spatial_backward(float rate, int n, int steps, int channels, const unsigned char *keep,
			   const float *dy, float *dx)
{
	float scale = 1.0f - rate;

	for (int i = 0; i < n; i++) {
		const unsigned char *row_keep = keep + (size_t)i * channels;

		for (int t = 0; t < steps; t++) {
			size_t base = ((size_t)i * steps + t) * channels;

			for (int c = 0; c < channels; c++)
				dx[base + c] = row_keep[c] ? dy[base + c] / scale : 0.0f;
		}
	}
}

/* ---- DropConnect ------------------------------------------------------- */

void drop_connect_forward(float rate, int n, int in, int out, const float *x, const float *w,
			  const float *b, unsigned char *keep, float *z, struct rng *r)
{
	double scale = 1.0 / (1.0 - rate);
	size_t per_row = (size_t)in * out;

	drop_bernoulli_keep(rate, keep, (size_t)n * per_row, r);
	for (int i = 0; i < n; i++) {
		const unsigned char *mask = keep + (size_t)i * per_row;
		const float *xr = x + (size_t)i * in;
		float *zr = z + (size_t)i * out;

		for (int j = 0; j < out; j++) {
			double sum = 0.0;

			for (int k = 0; k < in; k++)
				if (mask[(size_t)k * out + j])
					sum += (double)xr[k] * w[(size_t)k * out + j];
			zr[j] = (float)(sum * scale + (b ? b[j] : 0.0));
		}
	}
}

void drop_connect_backward(float rate, int n, int in, int out, const float *x, const float *w,
			   const unsigned char *keep, const float *dz, float *dw, float *db,
			   float *dx)
{
	double scale = 1.0 / (1.0 - rate);
	size_t per_row = (size_t)in * out;

	memset(dw, 0, per_row * sizeof *dw);
	if (db)
		memset(db, 0, (size_t)out * sizeof *db);

	for (int i = 0; i < n; i++) {
		const unsigned char *mask = keep + (size_t)i * per_row;
		const float *xr = x + (size_t)i * in;
		const float *dzr = dz + (size_t)i * out;

		for (int k = 0; k < in; k++) {
			double sum = 0.0;

			for (int j = 0; j < out; j++) {
				size_t kj = (size_t)k * out + j;

				if (!mask[kj])
					continue;
				dw[kj] += (float)(xr[k] * dzr[j] * scale);
				sum += (double)dzr[j] * w[kj];
			}
			if (dx)
				dx[(size_t)i * in + k] = (float)(sum * scale);
		}
		for (int j = 0; db && j < out; j++)
			db[j] += dzr[j];
	}
}

/* ---- ConcreteDropout --------------------------------------------------- */

static double drop_sigmoid(double v)
{
	return v >= 0.0 ? 1.0 / (1.0 + exp(-v)) : exp(v) / (1.0 + exp(v));
}

double drop_concrete_rate(float p_logit)
{
	return drop_sigmoid(p_logit);
}

float drop_concrete_logit(double rate)
{
	assert(rate > 0.0);
	assert(rate < 1.0);
	return (float)(log(rate) - log1p(-rate));
}

void drop_concrete_forward(float p_logit, size_t count, const float *x, float *xd, float *drop,
			   struct rng *r)
{
	double keep = drop_sigmoid(-(double)p_logit);

	for (size_t k = 0; k < count; k++) {
		double u = rng_uniform(r);
		double s = ((double)p_logit + log(u + DROP_CONCRETE_EPSILON) -
			    log(1.0 - u + DROP_CONCRETE_EPSILON)) /
			   DROP_CONCRETE_TEMPERATURE;

		drop[k] = (float)drop_sigmoid(s);
		xd[k] = (float)(x[k] * (1.0 - drop[k]) / keep);
	}
}

/* With q = 1 - p = sigmoid(-p_logit), dq/dp_logit = -p q, and
 * d(drop)/dp_logit = drop (1 - drop) / t, so
 *   dxd/dp_logit = x (-(drop (1 - drop) / t) / q + (1 - drop) p / q). */
double drop_concrete_backward(float p_logit, size_t count, const float *x, const float *drop,
			      const float *dxd, float *dx)
{
	double p = drop_sigmoid(p_logit);
	double q = drop_sigmoid(-(double)p_logit);
	double grad = 0.0;

	for (size_t k = 0; k < count; k++) {
		double d = drop[k];
		double g = dxd[k];
		double slope = -d * (1.0 - d) / DROP_CONCRETE_TEMPERATURE / q + (1.0 - d) * p / q;

		grad += g * x[k] * slope;
		if (dx)
			dx[k] = (float)(g * (1.0 - d) / q);
	}
	return grad;
}

double drop_concrete_reg(float p_logit, const float *w, size_t count, int in, double n_data,
			 double *dp_logit, float *dw)
{
	double p = drop_sigmoid(p_logit);
	double q = drop_sigmoid(-(double)p_logit);
	double wr = DROP_CONCRETE_LENGTH_SCALE * DROP_CONCRETE_LENGTH_SCALE / n_data;
	double dr = 2.0 / n_data;
	double squares = 0.0;
	double entropy_term;

	assert(n_data > 0.0);
	for (size_t k = 0; k < count; k++)
		squares += (double)w[k] * w[k];
	for (size_t k = 0; dw && k < count; k++)
		dw[k] += (float)(2.0 * wr * w[k] / q);

	/* p log p + q log q, written with log p - log q = p_logit so that it
	 * stays finite for rates near 0 or 1. */
	entropy_term = p * log(p) + q * log(q);

	/* d(1/q)/dp_logit = p / q and d(p log p + q log q)/dp_logit
	 * = p_logit * p * q. */
	*dp_logit += wr * squares * p / q + dr * in * (double)p_logit * p * q;
	return wr * squares / q + dr * in * entropy_term;
}

/* ---- VariationalDropout ------------------------------------------------ */

double drop_vd_clip(float log_alpha)
{
	double v = log_alpha;

	return v < DROP_VD_LOG_ALPHA_MIN ? DROP_VD_LOG_ALPHA_MIN :
	       (v > DROP_VD_LOG_ALPHA_MAX ? DROP_VD_LOG_ALPHA_MAX : v);
}

double drop_vd_rate(float log_alpha)
{
	return drop_sigmoid(drop_vd_clip(log_alpha));
}

float drop_vd_log_alpha(double rate)
{
	assert(rate > 0.0);
	assert(rate < 1.0);
	return (float)(log(rate) - log1p(-rate));
}

static int drop_vd_clipped(float log_alpha)
{
	return log_alpha < DROP_VD_LOG_ALPHA_MIN || log_alpha > DROP_VD_LOG_ALPHA_MAX;
}

void drop_vd_forward(int n, int in, int out, const float *x, const float *w, const float *b,
		     const float *log_alpha, float *z, float *noise, float *sd, struct rng *r)
{
	for (int i = 0; i < n; i++) {
		const float *xr = x + (size_t)i * in;

		for (int j = 0; j < out; j++) {
			size_t ij = (size_t)i * out + j;
			double mu = b ? b[j] : 0.0;
			double var = DROP_VD_VAR_EPSILON;

			for (int k = 0; k < in; k++) {
				double wkj = w[(size_t)k * out + j];
				double alpha = exp(drop_vd_clip(log_alpha[k]));

				mu += xr[k] * wkj;
				var += (double)xr[k] * xr[k] * alpha * wkj * wkj;
			}
			noise[ij] = (float)rng_normal(r);
			sd[ij] = (float)sqrt(var);
			z[ij] = (float)(mu + sqrt(var) * noise[ij]);
		}
	}
}

/* With s = sqrt(var), dL/dvar = dz * e / (2 s), and var's terms give
 *   dw_kj     += dvar x_k^2 alpha_k 2 w_kj
 *   dlogalpha += dvar x_k^2 alpha_k w_kj^2
 *   dx_k      += dvar 2 x_k alpha_k w_kj^2. */
void drop_vd_backward(int n, int in, int out, const float *x, const float *w,
		      const float *log_alpha, const float *noise, const float *sd, const float *dz,
		      float *dw, float *db, float *dlog_alpha, float *dx)
{
	memset(dw, 0, (size_t)in * out * sizeof *dw);
	memset(dlog_alpha, 0, (size_t)in * sizeof *dlog_alpha);
	if (db)
		memset(db, 0, (size_t)out * sizeof *db);

	for (int i = 0; i < n; i++) {
		const float *xr = x + (size_t)i * in;
		const float *dzr = dz + (size_t)i * out;

		for (int k = 0; k < in; k++) {
			double alpha = exp(drop_vd_clip(log_alpha[k]));
			double xk = xr[k];
			double dxk = 0.0;
			double dla = 0.0;

			for (int j = 0; j < out; j++) {
				size_t ij = (size_t)i * out + j;
				size_t kj = (size_t)k * out + j;
				double wkj = w[kj];
				double dvar = dzr[j] * (double)noise[ij] / (2.0 * sd[ij]);

				dw[kj] += (float)(xk * dzr[j] + dvar * xk * xk * alpha * 2.0 * wkj);
				dla += dvar * xk * xk * alpha * wkj * wkj;
				dxk += dzr[j] * wkj + dvar * 2.0 * xk * alpha * wkj * wkj;
			}
			if (!drop_vd_clipped(log_alpha[k]))
				dlog_alpha[k] += (float)dla;
			if (dx)
				dx[(size_t)i * in + k] = (float)dxk;
		}
		for (int j = 0; db && j < out; j++)
			db[j] += dzr[j];
	}
}

double drop_vd_kl(const float *log_alpha, int in, int out, double n_data, float *dlog_alpha)
{
	double total = 0.0;

	assert(n_data > 0.0);
	for (int k = 0; k < in; k++) {
		double la = drop_vd_clip(log_alpha[k]);
		double s = drop_sigmoid(DROP_VD_K2 + DROP_VD_K3 * la);
		/* log(1 + 1/alpha) = log1p(exp(-la)), and its derivative in la
		 * is -sigmoid(-la). */
		double neg_kl = DROP_VD_K1 * s - 0.5 * log1p(exp(-la)) - DROP_VD_K1;
		double d_neg_kl = DROP_VD_K1 * DROP_VD_K3 * s * (1.0 - s) + 0.5 * drop_sigmoid(-la);

		total -= neg_kl;
		if (!drop_vd_clipped(log_alpha[k]))
			dlog_alpha[k] += (float)(-d_neg_kl * out / n_data);
	}
	return total * out / n_data;
}
