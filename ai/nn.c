/* nn: feed-forward layers, cross-entropy, Adam and SGD, and the saved format.
 *
 * Storage: all trainable floats of a model live in one array, layer by layer,
 * each Dense-like layer's kernel [inputs][units] followed by its bias [units]
 * and then its learned dropout parameters (ConcreteDropout: p_logit;
 * VariationalDropout: log alpha [inputs]).
 * Gradients and optimizer slots use the same layout, so the optimizer is a
 * loop over one flat array and the saved format is three flat arrays.
 *
 * Numerics follow TF.js 4.22 on its cpu backend, op by op in float32 where it
 * matters (Adam, softmax, cross-entropy), so that TF.js reproduces our
 * results to float rounding.
 *
 * Saved format, version 1. Integers are little-endian, and f32 and f64 are
 * IEEE-754 bit patterns stored as little-endian u32 and u64. Offsets that
 * start with + count from the end of the description, 12 + D.
 *
 *   offset  size  field
 *   0       4     magic "TPNN" (bytes 54 50 4e 4e)
 *   4       4     u32 version, 1
 *   8       4     u32 D, length of the description
 *   12      D     description: nn_to_json's output, no terminating NUL
 *   +0      4     u32 optimizer kind (0 Adam, 1 SGD)
 *   +4      40    f64 lr, beta1, beta2, epsilon, momentum
 *   +44     4     u32 nesterov (0 or 1)
 *   +48     8     u64 optimizer steps taken
 *   +56     8     f32 running powers beta1^(steps+1), beta2^(steps+1)
 *   +64     32    u64[4] generator state (xoshiro256**)
 *   +96     8     u64 P, number of parameters; must match the description
 *   +104    4P    f32 parameters in the storage order above
 *   ...     4P    f32 first optimizer slot (Adam's m, SGD's velocity)
 *   ...     4P    f32 second optimizer slot (Adam's v; zeros for SGD)
 *
 * The buffer ends exactly after the last slot; any other length is an error.
 * nn_load also rejects state that training could not have produced: for
 * Adam, a power outside [0, 1) or off beta^(steps+1) by more than the
 * rounding of steps+1 float32 products (relative 2^-23 a step, and FLT_MIN
 * absolute once the product underflows), or a negative v; for SGD, a
 * non-zero second slot; and a non-finite momentum for either. The powers are
 * kept as saved rather than recomputed from the step count, as TF.js's
 * setWeights does with pow(beta, steps+1), because the float32 running
 * product is what an uninterrupted run would have used next.
 */
#include "nn.h"

#include <assert.h>
#include <float.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drop.h"
#include "kern.h"

#define NN_MAGIC "TPNN"
#define NN_VERSION 1u

/* Limits that keep every size computation far from overflow. */
#define NN_MAX_WIDTH (1 << 20)
#define NN_MAX_LAYERS 1024
#define NN_MAX_PARAMS ((size_t)1 << 28)

/* SELU constants, as TF.js's backend_util defines them. */
#define NN_SELU_SCALE 1.0507009873554804934193349852946
#define NN_SELU_SCALE_ALPHA 1.7580993408473768599402175208123

/* Keras clips probabilities to [epsilon, 1 - epsilon] with epsilon 1e-7. */
#define NN_CLIP_EPSILON 1e-7

struct nn_layer {
	struct nn_layer_desc desc;
	int in;
	int out;
	size_t kernel_off; /* offsets into the flat parameter array */
	size_t bias_off;
	size_t extra_off;  /* learned dropout parameters */
	int n_extra;
	int has_kernel;
	int has_bias;
};

struct nn_model {
	int n_inputs;
	int n_layers;
	int max_width;
	struct nn_layer *layers;

	size_t n_params;
	float *block;  /* one allocation for the seven arrays below */
	float *params;
	float *grads;
	float *slot1;
	float *slot2;
	float *stage;  /* 3 * n_params: candidate params, slot1, slot2 */

	struct nn_optim optim;
	uint64_t steps;
	float acc_beta1; /* beta1^(steps+1), as TF.js keeps it in float32 */
	float acc_beta2;
	struct rng rng;

	/* Eval scratch: two ping-pong buffers of pred_cap rows. */
	int pred_cap;
	float *pred_buf;

	/* Train scratch for train_cap rows: per layer the pre-activations,
	 * outputs and dropout masks, two gradient buffers, and the input
	 * pointer each layer saw in the last forward pass. */
	int train_cap;
	float **pre;
	float **act;
	unsigned char **mask;
	float *delta;
	const float **in_ptr;
	float **noise; /* float scratch of the dropout variants, per layer */

	double data_size; /* N of the dropout regularizers; 0 means batch size */
};

static void *nn_alloc(size_t count, size_t size)
{
	if (count == 0)
		count = 1;
	if (size && count > SIZE_MAX / size)
		return NULL;
	return calloc(count, size);
}

const char *nn_strerror(int status)
{
	switch (status) {
	case NN_OK:
		return "success";
	case NN_ERR_NOMEM:
		return "out of memory";
	case NN_ERR_INVALID:
		return "invalid argument or model description";
	case NN_ERR_NONFINITE:
		return "loss, gradient or weight is NaN or infinite";
	case NN_ERR_FORMAT:
		return "not a saved ttypong model, or corrupt";
	case NN_ERR_VERSION:
		return "saved model has an unsupported version";
	case NN_ERR_TRUNCATED:
		return "saved model is truncated";
	}
	return "unknown status";
}

/* ---- Names ---------------------------------------------------------- */

static const char *const nn_act_names[] = {
	[NN_ACT_LINEAR] = "linear", [NN_ACT_RELU] = "relu", [NN_ACT_SELU] = "selu",
	[NN_ACT_TANH] = "tanh", [NN_ACT_SIGMOID] = "sigmoid", [NN_ACT_SOFTMAX] = "softmax",
};

static const char *const nn_kind_names[] = {
	[NN_DENSE] = "Dense",
	[NN_DROPOUT] = "Dropout",
	[NN_ALPHA_DROPOUT] = "AlphaDropout",
	[NN_GAUSSIAN_DROPOUT] = "GaussianDropout",
	[NN_SPATIAL_DROPOUT_1D] = "SpatialDropout1D",
	[NN_DROP_CONNECT] = "DropConnect",
	[NN_CONCRETE_DROPOUT] = "ConcreteDropout",
	[NN_VARIATIONAL_DROPOUT] = "VariationalDropout",
};

/* Automatic name stems, as Keras names layers. */
static const char *const nn_kind_stems[] = {
	[NN_DENSE] = "dense",
	[NN_DROPOUT] = "dropout",
	[NN_ALPHA_DROPOUT] = "alpha_dropout",
	[NN_GAUSSIAN_DROPOUT] = "gaussian_dropout",
	[NN_SPATIAL_DROPOUT_1D] = "spatial_dropout1d",
	[NN_DROP_CONNECT] = "drop_connect",
	[NN_CONCRETE_DROPOUT] = "concrete_dropout",
	[NN_VARIATIONAL_DROPOUT] = "variational_dropout",
};

int nn_kind_is_dense(enum nn_kind k)
{
	return k == NN_DENSE || k == NN_DROP_CONNECT || k == NN_CONCRETE_DROPOUT ||
	       k == NN_VARIATIONAL_DROPOUT;
}


#define NN_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

const char *nn_act_name(enum nn_act a)
{
	if ((int)a < 0 || (int)a >= NN_COUNT(nn_act_names))
		return NULL;
	return nn_act_names[a];
}

/* Returns the index of name in names[count], or -1. */
static int nn_lookup(const char *const *names, int count, const char *name)
{
	for (int i = 0; name && i < count; i++)
		if (strcmp(name, names[i]) == 0)
			return i;
	return -1;
}

int nn_act_parse(const char *name, enum nn_act *out)
{
	int i = nn_lookup(nn_act_names, NN_COUNT(nn_act_names), name);

	if (i < 0)
		return NN_ERR_INVALID;
	*out = (enum nn_act)i;
	return NN_OK;
}

const char *nn_kind_name(enum nn_kind k)
{
	if ((int)k < 0 || (int)k >= NN_COUNT(nn_kind_names))
		return NULL;
	return nn_kind_names[k];
}

int nn_kind_parse(const char *name, enum nn_kind *out)
{
	int i = nn_lookup(nn_kind_names, NN_COUNT(nn_kind_names), name);

	if (i < 0)
		return NN_ERR_INVALID;
	*out = (enum nn_kind)i;
	return NN_OK;
}

int nn_reference_layers(struct nn_layer_desc layers[NN_REFERENCE_LAYERS])
{
	static const struct nn_layer_desc ref[NN_REFERENCE_LAYERS] = {
		{ .kind = NN_DENSE, .units = 64, .act = NN_ACT_RELU, .use_bias = 1 },
		{ .kind = NN_DROPOUT, .rate = 0.5f },
		{ .kind = NN_DENSE, .units = 64, .act = NN_ACT_RELU, .use_bias = 1 },
		{ .kind = NN_DROPOUT, .rate = 0.5f },
		{ .kind = NN_DENSE, .units = 3, .act = NN_ACT_SOFTMAX, .use_bias = 1 },
	};

	memcpy(layers, ref, sizeof ref);
	return NN_REFERENCE_LAYERS;
}

/* ---- Building ------------------------------------------------------- */

static int nn_name_valid(const char *name)
{
	size_t len = strnlen(name, NN_NAME_MAX);

	if (len == 0 || len == NN_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return 0;
	}
	return 1;
}

static int nn_name_taken(const struct nn_layer *layers, int count, const char *name)
{
	for (int i = 0; i < count; i++)
		if (strcmp(layers[i].desc.name, name) == 0)
			return 1;
	return 0;
}

static int nn_desc_name_taken(const struct nn_layer_desc *descs, int count, const char *name)
{
	for (int i = 0; i < count; i++)
		if (strncmp(descs[i].name, name, NN_NAME_MAX) == 0)
			return 1;
	return 0;
}

static int nn_desc_valid(const struct nn_layer_desc *d)
{
	int dense_ok = d->units >= 1 && d->units <= NN_MAX_WIDTH && nn_act_name(d->act) &&
		       (d->use_bias == 0 || d->use_bias == 1) && (int)d->init >= NN_INIT_AUTO &&
		       d->init <= NN_INIT_LECUN_NORMAL;
	int rate_ok = d->rate >= 0.0f && d->rate < 1.0f;

	switch (d->kind) {
	case NN_DENSE:
		return dense_ok;
	case NN_DROPOUT:
	case NN_ALPHA_DROPOUT:
	case NN_GAUSSIAN_DROPOUT:
		return rate_ok;
	case NN_SPATIAL_DROPOUT_1D:
		return rate_ok && d->steps >= 0 && d->steps <= NN_MAX_WIDTH;
	case NN_DROP_CONNECT:
		return dense_ok && rate_ok;
	case NN_CONCRETE_DROPOUT:
	case NN_VARIATIONAL_DROPOUT:
		return dense_ok && d->rate > 0.0f && d->rate < 1.0f;
	}
	return 0;
}

/* Clears the fields that d's kind does not use, so that equal models
 * compare and serialize equal. */
static void nn_desc_normalize(struct nn_layer_desc *d)
{
	if (!nn_kind_is_dense(d->kind)) {
		d->units = 0;
		d->act = NN_ACT_LINEAR;
		d->use_bias = 0;
		d->init = NN_INIT_AUTO;
	}
	if (d->kind == NN_DENSE)
		d->rate = 0.0f;
	if (d->kind != NN_SPATIAL_DROPOUT_1D)
		d->steps = 0;
	else if (d->steps == 0)
		d->steps = 1;
}

/* Checks that every valid description fits the width its input has, which
 * no single layer can know: SpatialDropout1D's steps must divide it. Both
 * nn_create and nn_from_json use this rule. Returns NN_OK, or
 * NN_ERR_INVALID with a message naming the layer in why (which may be NULL). */
static int nn_check_widths(int inputs, const struct nn_layer_desc *descs, int n, char *why,
			   size_t why_len)
{
	int width = inputs;

	for (int i = 0; i < n; i++) {
		struct nn_layer_desc d = descs[i];

		if (!nn_desc_valid(&d))
			return NN_ERR_INVALID;
		nn_desc_normalize(&d);
		if (d.kind == NN_SPATIAL_DROPOUT_1D && width % d.steps != 0) {
			if (why && why_len > 0)
				snprintf(why, why_len,
					 "layer %d: SpatialDropout1D \"steps\" %d must divide the "
					 "layer's input width %d; use a divisor of %d", i, d.steps,
					 width, width);
			return NN_ERR_INVALID;
		}
		width = nn_kind_is_dense(d.kind) ? d.units : width;
	}
	return NN_OK;
}

/* Copies descriptions into m->layers, checks them, names unnamed layers and
 * lays out the parameter array. */
static int nn_layout(struct nn_model *m, const struct nn_layer_desc *descs)
{
	int width = m->n_inputs;
	int counters[NN_COUNT(nn_kind_names)] = { 0 };
	size_t off = 0;

	m->max_width = width;
	if (nn_check_widths(width, descs, m->n_layers, NULL, 0) != NN_OK)
		return NN_ERR_INVALID;
	for (int i = 0; i < m->n_layers; i++) {
		struct nn_layer *l = &m->layers[i];

		l->desc = descs[i];
		nn_desc_normalize(&l->desc);
		if (l->desc.name[0] == '\0') {
			do {
				snprintf(l->desc.name, NN_NAME_MAX, "%s_%d",
					 nn_kind_stems[l->desc.kind], ++counters[l->desc.kind]);
			} while (nn_name_taken(m->layers, i, l->desc.name) ||
				 nn_desc_name_taken(descs + i + 1, m->n_layers - i - 1,
						    l->desc.name));
		}
		if (!nn_name_valid(l->desc.name) || nn_name_taken(m->layers, i, l->desc.name))
			return NN_ERR_INVALID;

		l->in = width;
		l->out = nn_kind_is_dense(l->desc.kind) ? l->desc.units : width;
		if (nn_kind_is_dense(l->desc.kind)) {
			l->has_kernel = 1;
			l->kernel_off = off;
			off += (size_t)l->in * l->out;
			l->has_bias = l->desc.use_bias;
			l->bias_off = off;
			off += l->has_bias ? (size_t)l->out : 0;
			l->extra_off = off;
			l->n_extra = l->desc.kind == NN_CONCRETE_DROPOUT ? 1 :
				     l->desc.kind == NN_VARIATIONAL_DROPOUT ? l->in : 0;
			off += (size_t)l->n_extra;
			if (off > NN_MAX_PARAMS)
				return NN_ERR_INVALID;
		}
		width = l->out;
		if (width > m->max_width)
			m->max_width = width;
	}

	m->n_params = off;
	return NN_OK;
}

/* Draws from a truncated normal with standard deviation sqrt(1 / fan_in)
 * after truncation, as Keras's VarianceScaling documents for lecun_normal.
 * Deviates beyond two standard deviations are redrawn, and dividing by
 * 0.87962566103423978, the standard deviation of a unit normal truncated to
 * [-2, 2], restores the variance that truncation removes.
 * NOTE: TF.js 4.22 omits that division, so its lecun_normal weights are
 * about 12% smaller; only initial weights differ, never the numerics. */
static float nn_lecun_normal(struct rng *r, int fan_in)
{
	double stddev = sqrt(1.0 / fan_in) / 0.87962566103423978;
	double z;

	do {
		z = rng_normal(r);
	} while (z < -2.0 || z > 2.0);
	return (float)(z * stddev);
}

/* Sets the learned dropout parameters to the description's initial rate. */
static void nn_init_drop_params(const struct nn_layer *l, float *extra)
{
	if (l->desc.kind == NN_CONCRETE_DROPOUT)
		extra[0] = drop_concrete_logit(l->desc.rate);
	for (int k = 0; l->desc.kind == NN_VARIATIONAL_DROPOUT && k < l->n_extra; k++)
		extra[k] = drop_vd_log_alpha(l->desc.rate);
}

static void nn_init_weights(struct nn_model *m)
{
	memset(m->params, 0, m->n_params * sizeof *m->params);
	for (int i = 0; i < m->n_layers; i++) {
		struct nn_layer *l = &m->layers[i];
		float *w = m->params + l->kernel_off;
		size_t count = (size_t)l->in * l->out;
		enum nn_init init = l->desc.init;

		if (!l->has_kernel)
			continue;
		if (init == NN_INIT_AUTO)
			init = l->desc.act == NN_ACT_SELU ? NN_INIT_LECUN_NORMAL : NN_INIT_GLOROT_UNIFORM;
		if (init == NN_INIT_LECUN_NORMAL) {
			for (size_t k = 0; k < count; k++)
				w[k] = nn_lecun_normal(&m->rng, l->in);
		} else {
			double limit = sqrt(6.0 / (l->in + l->out));

			for (size_t k = 0; k < count; k++)
				w[k] = (float)((2.0 * rng_uniform(&m->rng) - 1.0) * limit);
		}
		nn_init_drop_params(l, m->params + l->extra_off);
	}
}

struct nn_optim nn_optim_adam(void)
{
	struct nn_optim o = {
		.kind = NN_OPTIM_ADAM, .lr = 1e-3, .beta1 = 0.9, .beta2 = 0.999, .epsilon = 1e-7,
	};

	return o;
}

struct nn_optim nn_optim_sgd(double lr, double momentum)
{
	struct nn_optim o = { .kind = NN_OPTIM_SGD, .lr = lr, .momentum = momentum };

	return o;
}

static int nn_optim_valid(const struct nn_optim *o)
{
	if (!(o->lr >= 0.0 && isfinite(o->lr)) || !isfinite(o->momentum))
		return 0;
	switch (o->kind) {
	case NN_OPTIM_ADAM:
		/* The powers are float32, so beta must stay below 1 once rounded. */
		return o->beta1 >= 0.0 && (float)o->beta1 < 1.0f && o->beta2 >= 0.0 &&
		       (float)o->beta2 < 1.0f && o->epsilon > 0.0 && isfinite(o->epsilon);
	case NN_OPTIM_SGD:
		return o->momentum >= 0.0 && o->momentum <= 1.0 &&
		       (o->nesterov == 0 || o->nesterov == 1);
	}
	return 0;
}

int nn_set_optim(struct nn_model *m, const struct nn_optim *opt)
{
	if (!m || !opt || !nn_optim_valid(opt))
		return NN_ERR_INVALID;

	m->optim = *opt;
	m->steps = 0;
	m->acc_beta1 = (float)opt->beta1;
	m->acc_beta2 = (float)opt->beta2;
	memset(m->slot1, 0, m->n_params * sizeof *m->slot1);
	memset(m->slot2, 0, m->n_params * sizeof *m->slot2);
	return NN_OK;
}

struct nn_optim nn_get_optim(const struct nn_model *m)
{
	return m->optim;
}

uint64_t nn_optim_steps(const struct nn_model *m)
{
	return m->steps;
}

/* Allocates a model's layers and arrays; weights are left zero. */
static int nn_alloc_model(struct nn_model **out, int n_inputs, const struct nn_layer_desc *descs,
			  int n_layers)
{
	struct nn_model *m;
	int rc = NN_ERR_NOMEM;

	*out = NULL;
	if (n_inputs < 1 || n_inputs > NN_MAX_WIDTH || n_layers < 1 || n_layers > NN_MAX_LAYERS ||
	    !descs)
		return NN_ERR_INVALID;
	m = nn_alloc(1, sizeof *m);
	if (!m)
		return NN_ERR_NOMEM;
	m->n_inputs = n_inputs;
	m->n_layers = n_layers;
	m->layers = nn_alloc((size_t)n_layers, sizeof *m->layers);
	if (!m->layers)
		goto fail;
	rc = nn_layout(m, descs);
	if (rc != NN_OK)
		goto fail;

	rc = NN_ERR_NOMEM;
	m->block = nn_alloc(m->n_params * 7 + 1, sizeof *m->block);
	if (!m->block)
		goto fail;
	m->params = m->block;
	m->grads = m->params + m->n_params;
	m->slot1 = m->grads + m->n_params;
	m->slot2 = m->slot1 + m->n_params;
	m->stage = m->slot2 + m->n_params;

	struct nn_optim adam = nn_optim_adam();

	nn_set_optim(m, &adam);
	*out = m;
	return NN_OK;

fail:
	nn_free(m);
	return rc;
}

int nn_create(struct nn_model **out, int n_inputs, const struct nn_layer_desc *layers,
	      int n_layers, uint64_t seed)
{
	int rc;

	if (!out)
		return NN_ERR_INVALID;
	rc = nn_alloc_model(out, n_inputs, layers, n_layers);
	if (rc != NN_OK)
		return rc;

	rng_seed(&(*out)->rng, seed);
	nn_init_weights(*out);
	return NN_OK;
}

static void nn_free_train_scratch(struct nn_model *m)
{
	/* The per-layer buffers exist only once all four arrays do. */
	if (m->pre && m->act && m->mask && m->noise) {
		for (int i = 0; i < m->n_layers; i++) {
			free(m->pre[i]);
			free(m->act[i]);
			free(m->mask[i]);
			free(m->noise[i]);
		}
	}
	free(m->pre);
	free(m->act);
	free(m->mask);
	free(m->noise);
	free(m->delta);
	free(m->in_ptr);
	m->pre = NULL;
	m->act = NULL;
	m->mask = NULL;
	m->noise = NULL;
	m->delta = NULL;
	m->in_ptr = NULL;
	m->train_cap = 0;
}

void nn_free(struct nn_model *m)
{
	if (!m)
		return;
	nn_free_train_scratch(m);
	free(m->pred_buf);
	free(m->block);
	free(m->layers);
	free(m);
}

int nn_clone(struct nn_model **out, const struct nn_model *m)
{
	struct nn_layer_desc *descs;
	int rc;

	if (!out || !m)
		return NN_ERR_INVALID;
	*out = NULL;
	descs = nn_alloc((size_t)m->n_layers, sizeof *descs);
	if (!descs)
		return NN_ERR_NOMEM;
	for (int i = 0; i < m->n_layers; i++)
		descs[i] = m->layers[i].desc;
	rc = nn_alloc_model(out, m->n_inputs, descs, m->n_layers);
	free(descs);
	if (rc != NN_OK)
		return rc;

	struct nn_model *c = *out;

	memcpy(c->block, m->block, m->n_params * 4 * sizeof *m->block);
	c->optim = m->optim;
	c->steps = m->steps;
	c->acc_beta1 = m->acc_beta1;
	c->acc_beta2 = m->acc_beta2;
	c->rng = m->rng;
	c->data_size = m->data_size;
	return NN_OK;
}

/* ---- Accessors ------------------------------------------------------ */

int nn_n_inputs(const struct nn_model *m)
{
	return m->n_inputs;
}

int nn_n_outputs(const struct nn_model *m)
{
	return m->layers[m->n_layers - 1].out;
}

int nn_n_layers(const struct nn_model *m)
{
	return m->n_layers;
}

size_t nn_n_params(const struct nn_model *m)
{
	return m->n_params;
}

const struct nn_layer_desc *nn_layer(const struct nn_model *m, int i)
{
	if (i < 0 || i >= m->n_layers)
		return NULL;
	return &m->layers[i].desc;
}

int nn_layer_inputs(const struct nn_model *m, int i)
{
	if (i < 0 || i >= m->n_layers)
		return -1;
	return m->layers[i].in;
}

static float *nn_param_ptr(struct nn_model *m, float *base, int i, int bias)
{
	const struct nn_layer *l;

	if (i < 0 || i >= m->n_layers)
		return NULL;
	l = &m->layers[i];
	if (bias)
		return l->has_bias ? base + l->bias_off : NULL;
	return l->has_kernel ? base + l->kernel_off : NULL;
}

float *nn_drop_params(struct nn_model *m, int i, int *count)
{
	*count = 0;
	if (i < 0 || i >= m->n_layers || m->layers[i].n_extra == 0)
		return NULL;
	*count = m->layers[i].n_extra;
	return m->params + m->layers[i].extra_off;
}

float *nn_drop_params_grad(struct nn_model *m, int i)
{
	if (i < 0 || i >= m->n_layers || m->layers[i].n_extra == 0)
		return NULL;
	return m->grads + m->layers[i].extra_off;
}

int nn_drop_rates(const struct nn_model *m, int i, float *rates, int cap)
{
	const struct nn_layer *l;
	const float *extra;

	if (i < 0 || i >= m->n_layers || m->layers[i].desc.kind == NN_DENSE)
		return 0;
	l = &m->layers[i];
	extra = m->params + l->extra_off;
	if (l->desc.kind == NN_VARIATIONAL_DROPOUT) {
		for (int k = 0; k < l->n_extra && k < cap; k++)
			rates[k] = (float)drop_vd_rate(extra[k]);
		return l->n_extra;
	}
	if (cap > 0)
		rates[0] = l->desc.kind == NN_CONCRETE_DROPOUT ?
				   (float)drop_concrete_rate(extra[0]) : l->desc.rate;
	return 1;
}

int nn_set_data_size(struct nn_model *m, double n_data)
{
	if (!m || !(n_data >= 1.0 && isfinite(n_data)))
		return NN_ERR_INVALID;
	m->data_size = n_data;
	return NN_OK;
}

float *nn_kernel(struct nn_model *m, int i)
{
	return nn_param_ptr(m, m->params, i, 0);
}

float *nn_bias(struct nn_model *m, int i)
{
	return nn_param_ptr(m, m->params, i, 1);
}

float *nn_kernel_grad(struct nn_model *m, int i)
{
	return nn_param_ptr(m, m->grads, i, 0);
}

float *nn_bias_grad(struct nn_model *m, int i)
{
	return nn_param_ptr(m, m->grads, i, 1);
}

/* ---- Activations ---------------------------------------------------- */

/* Softmax of one row: the maximum is subtracted first, so every exponent is
 * at most 0 and large logits cannot overflow. */
static void nn_softmax_row(const float *z, float *y, int width)
{
	float max = z[0];
	double sum = 0.0;
	float total;

	for (int j = 1; j < width; j++)
		if (z[j] > max)
			max = z[j];
	for (int j = 0; j < width; j++) {
		y[j] = (float)exp((double)(z[j] - max));
		sum += y[j];
	}
	total = (float)sum;
	for (int j = 0; j < width; j++)
		y[j] = y[j] / total;
}

/* Applies an activation to rows x width values; z and y may be the same.
 * Element-wise functions are evaluated in double and rounded once, as the
 * TF.js cpu backend does. */
static void nn_activate(enum nn_act act, const float *z, float *y, int rows, int width)
{
	size_t count = (size_t)rows * width;

	switch (act) {
	case NN_ACT_LINEAR:
		if (y != z)
			memcpy(y, z, count * sizeof *y);
		break;
	case NN_ACT_RELU:
		/* As TF.js's Math.max(0, x), which keeps NaN. */
		for (size_t k = 0; k < count; k++)
			y[k] = z[k] > 0.0f || isnan(z[k]) ? z[k] : 0.0f;
		break;
	case NN_ACT_SELU:
		for (size_t k = 0; k < count; k++) {
			double v = z[k];

			y[k] = (float)(v >= 0.0 ? NN_SELU_SCALE * v : NN_SELU_SCALE_ALPHA * expm1(v));
		}
		break;
	case NN_ACT_TANH:
		for (size_t k = 0; k < count; k++)
			y[k] = (float)tanh((double)z[k]);
		break;
	case NN_ACT_SIGMOID:
		for (size_t k = 0; k < count; k++)
			y[k] = (float)(1.0 / (1.0 + exp(-(double)z[k])));
		break;
	case NN_ACT_SOFTMAX:
		for (int i = 0; i < rows; i++)
			nn_softmax_row(z + (size_t)i * width, y + (size_t)i * width, width);
		break;
	}
}

/* Turns dL/dy into dL/dz in place, from the pre-activation z and output y. */
static void nn_activate_backward(enum nn_act act, const float *z, const float *y, float *d,
				 int rows, int width)
{
	size_t count = (size_t)rows * width;

	switch (act) {
	case NN_ACT_LINEAR:
		break;
	case NN_ACT_RELU:
		/* y > 0 exactly where z > 0, and the forward pass may skip z. */
		kern_relu_grad((int)count, y, NULL, d);
		break;
	case NN_ACT_SELU:
		for (size_t k = 0; k < count; k++)
			d[k] = z[k] > 0.0f ? d[k] * (float)NN_SELU_SCALE :
					     (float)(d[k] * NN_SELU_SCALE_ALPHA * exp((double)z[k]));
		break;
	case NN_ACT_TANH:
		for (size_t k = 0; k < count; k++)
			d[k] = d[k] * (1.0f - y[k] * y[k]);
		break;
	case NN_ACT_SIGMOID:
		for (size_t k = 0; k < count; k++)
			d[k] = d[k] * (y[k] * (1.0f - y[k]));
		break;
	case NN_ACT_SOFTMAX:
		/* dz = y * (d - sum(d * y)) over each row. */
		for (int i = 0; i < rows; i++) {
			float *dr = d + (size_t)i * width;
			const float *yr = y + (size_t)i * width;
			double dot = 0.0;

			for (int j = 0; j < width; j++)
				dot += dr[j] * yr[j];
			for (int j = 0; j < width; j++)
				dr[j] = dr[j] * yr[j] - (float)dot * yr[j];
		}
		break;
	}
}

/* ---- Inference ------------------------------------------------------ */

/* Computes a Dense layer's output y [n][out] from its input x, leaving the
 * pre-activation in pre (which may equal y). ReLU is fused into the product
 * and leaves pre unset, because its backward pass reads only the output. */
static void nn_dense_apply(const struct nn_model *m, const struct nn_layer *l, int n,
			   const float *x, float *pre, float *y)
{
	const float *bias = l->has_bias ? m->params + l->bias_off : NULL;

	if (l->desc.act == NN_ACT_RELU) {
		kern_gemm_bias_relu(n, l->out, l->in, x, m->params + l->kernel_off, bias, y);
		return;
	}
	kern_gemm_bias(n, l->out, l->in, x, m->params + l->kernel_off, bias, pre);
	nn_activate(l->desc.act, pre, y, n, l->out);
}

static int nn_reserve_pred(struct nn_model *m, int n)
{
	float *buf;

	if (n <= m->pred_cap)
		return NN_OK;
	buf = nn_alloc((size_t)n * m->max_width * 2, sizeof *buf);
	if (!buf)
		return NN_ERR_NOMEM;
	free(m->pred_buf);
	m->pred_buf = buf;
	m->pred_cap = n;
	return NN_OK;
}

int nn_predict(struct nn_model *m, const float *x, int n, float *y)
{
	const float *src = x;
	float *bufs[2];
	int last_dense = -1;
	int flip = 0;
	int rc;

	if (!m || !x || !y || n < 1)
		return NN_ERR_INVALID;
	rc = nn_reserve_pred(m, n);
	if (rc != NN_OK)
		return rc;
	bufs[0] = m->pred_buf;
	bufs[1] = m->pred_buf + (size_t)n * m->max_width;

	for (int i = 0; i < m->n_layers; i++)
		if (nn_kind_is_dense(m->layers[i].desc.kind))
			last_dense = i;

	/* Only Dense-like layers compute in eval mode, with their expected
	 * weights: the last writes straight into y, and every dropout
	 * variant passes its input through untouched. */
	for (int i = 0; i <= last_dense; i++) {
		const struct nn_layer *l = &m->layers[i];
		float *dst;

		if (!nn_kind_is_dense(l->desc.kind))
			continue;
		dst = i == last_dense ? y : bufs[flip];
		flip ^= 1;
		nn_dense_apply(m, l, n, src, dst, dst);
		src = dst;
	}
	if (src != y)
		memmove(y, src, (size_t)n * nn_n_outputs(m) * sizeof *y);
	return NN_OK;
}

/* ---- Training ------------------------------------------------------- */

/* Allocates what layer i keeps between the forward and backward pass of n
 * rows: its output, a Dense-like layer's pre-activations, and the masks or
 * noise of its kind of dropout. */
static int nn_alloc_layer_scratch(struct nn_model *m, int i, int n)
{
	const struct nn_layer *l = &m->layers[i];
	size_t count = (size_t)n * l->out;
	size_t n_mask = 0, n_noise = 0;

	switch (l->desc.kind) {
	case NN_DENSE:
		break;
	case NN_DROPOUT:
	case NN_ALPHA_DROPOUT:
	case NN_SPATIAL_DROPOUT_1D:
		n_mask = count;
		break;
	case NN_GAUSSIAN_DROPOUT:
		n_noise = count;
		break;
	case NN_DROP_CONNECT:
		n_mask = count * l->in;
		break;
	case NN_CONCRETE_DROPOUT:
		n_noise = 2 * (size_t)n * l->in; /* relaxed mask, dropped input */
		break;
	case NN_VARIATIONAL_DROPOUT:
		n_noise = 2 * count; /* draws, standard deviations */
		break;
	}

	m->act[i] = nn_alloc(count, sizeof **m->act);
	if (!m->act[i])
		return NN_ERR_NOMEM;
	if (nn_kind_is_dense(l->desc.kind)) {
		m->pre[i] = nn_alloc(count, sizeof **m->pre);
		if (!m->pre[i])
			return NN_ERR_NOMEM;
	}
	if (n_mask) {
		m->mask[i] = nn_alloc(n_mask, sizeof **m->mask);
		if (!m->mask[i])
			return NN_ERR_NOMEM;
	}
	if (n_noise) {
		m->noise[i] = nn_alloc(n_noise, sizeof **m->noise);
		if (!m->noise[i])
			return NN_ERR_NOMEM;
	}
	return NN_OK;
}

static int nn_reserve_train(struct nn_model *m, int n)
{
	if (n <= m->train_cap)
		return NN_OK;
	nn_free_train_scratch(m);
	m->pre = nn_alloc((size_t)m->n_layers, sizeof *m->pre);
	m->act = nn_alloc((size_t)m->n_layers, sizeof *m->act);
	m->mask = nn_alloc((size_t)m->n_layers, sizeof *m->mask);
	m->noise = nn_alloc((size_t)m->n_layers, sizeof *m->noise);
	m->in_ptr = nn_alloc((size_t)m->n_layers, sizeof *m->in_ptr);
	m->delta = nn_alloc((size_t)n * m->max_width * 2, sizeof *m->delta);
	if (!m->pre || !m->act || !m->mask || !m->noise || !m->in_ptr || !m->delta)
		goto fail;
	for (int i = 0; i < m->n_layers; i++)
		if (nn_alloc_layer_scratch(m, i, n) != NN_OK)
			goto fail;
	m->train_cap = n;
	return NN_OK;

fail:
	nn_free_train_scratch(m);
	return NN_ERR_NOMEM;
}

/* Inverted dropout: each unit is dropped with probability rate, and kept
 * units are divided by 1 - rate, as TF.js's dropout op computes them. Each
 * decision compares 32 random bits with rate * 2^32. */
static void nn_dropout_forward(const struct nn_layer *l, const float *x, float *y,
			       unsigned char *mask, size_t count, struct rng *r)
{
	uint64_t threshold = (uint64_t)llround((double)l->desc.rate * 4294967296.0);
	float keep = 1.0f - l->desc.rate;
	uint64_t bits = 0;

	for (size_t k = 0; k < count; k++) {
		uint32_t u;

		if ((k & 1) == 0)
			bits = rng_next(r);
		u = (uint32_t)(bits >> ((k & 1) * 32));
		mask[k] = u >= threshold;
	}
	kern_masked_div((int)count, mask, keep, x, y);
}

/* Pre-activations of a DropConnect, ConcreteDropout or VariationalDropout
 * layer i in training mode, on n rows of src, into m->pre[i]. Returns 0,
 * computing nothing, in every other case: those layers compute as Dense,
 * which in eval mode means with their expected weights. */
static int nn_dense_train_forward(struct nn_model *m, int i, const float *src, int n,
				  enum nn_mode mode, struct rng *r)
{
	const struct nn_layer *l = &m->layers[i];
	const float *w = m->params + l->kernel_off;
	const float *b = l->has_bias ? m->params + l->bias_off : NULL;
	const float *extra = m->params + l->extra_off;
	size_t n_in = (size_t)n * l->in;

	if (mode == NN_TRAIN && l->desc.kind == NN_DROP_CONNECT && l->desc.rate > 0.0f) {
		drop_connect_forward(l->desc.rate, n, l->in, l->out, src, w, b, m->mask[i],
				     m->pre[i], r);
	} else if (mode == NN_TRAIN && l->desc.kind == NN_CONCRETE_DROPOUT) {
		float *xd = m->noise[i] + n_in;

		drop_concrete_forward(extra[0], n_in, src, xd, m->noise[i], r);
		kern_gemm_bias(n, l->out, l->in, xd, w, b, m->pre[i]);
	} else if (mode == NN_TRAIN && l->desc.kind == NN_VARIATIONAL_DROPOUT) {
		size_t count = (size_t)n * l->out;

		drop_vd_forward(n, l->in, l->out, src, w, b, extra, m->pre[i], m->noise[i],
				m->noise[i] + count, r);
	} else {
		return 0;
	}
	return 1;
}

/* Training forward of a dropout layer without weights from src into
 * m->act[i]. Returns 0 when the layer is the identity (rate 0). */
static int nn_noise_forward(struct nn_model *m, int i, const float *src, int n, struct rng *r)
{
	const struct nn_layer *l = &m->layers[i];
	size_t count = (size_t)n * l->out;
	float rate = l->desc.rate;

	if (rate == 0.0f)
		return 0;
	switch (l->desc.kind) {
	case NN_DROPOUT:
		nn_dropout_forward(l, src, m->act[i], m->mask[i], count, r);
		break;
	case NN_ALPHA_DROPOUT:
		drop_alpha_forward(rate, src, m->act[i], m->mask[i], count, r);
		break;
	case NN_GAUSSIAN_DROPOUT:
		drop_gaussian_forward(rate, src, m->act[i], m->noise[i], count, r);
		break;
	case NN_SPATIAL_DROPOUT_1D:
		drop_spatial_forward(rate, n, l->desc.steps, l->in / l->desc.steps, src, m->act[i],
				     m->mask[i], r);
		break;
	default:
		assert(!"a Dense-like layer reached nn_noise_forward");
	}
	return 1;
}

/* Forward pass that keeps what the backward pass needs. Returns the output
 * rows [n][outputs]; in eval mode dropout passes its input pointer on. */
static const float *nn_forward_keep(struct nn_model *m, const float *x, int n,
				    enum nn_mode mode, struct rng *r)
{
	const float *src = x;

	for (int i = 0; i < m->n_layers; i++) {
		const struct nn_layer *l = &m->layers[i];

		m->in_ptr[i] = src;
		if (nn_kind_is_dense(l->desc.kind)) {
			if (nn_dense_train_forward(m, i, src, n, mode, r))
				nn_activate(l->desc.act, m->pre[i], m->act[i], n, l->out);
			else
				nn_dense_apply(m, l, n, src, m->pre[i], m->act[i]);
			src = m->act[i];
		} else if (mode == NN_TRAIN && nn_noise_forward(m, i, src, n, r)) {
			src = m->act[i];
		}
	}
	return src;
}

int nn_forward(struct nn_model *m, const float *x, int n, enum nn_mode mode, struct rng *rng,
	       float *y)
{
	const float *out;
	int rc;

	if (mode == NN_EVAL)
		return nn_predict(m, x, n, y);
	if (!m || !x || !y || n < 1 || mode != NN_TRAIN)
		return NN_ERR_INVALID;
	rc = nn_reserve_train(m, n);
	if (rc != NN_OK)
		return rc;

	out = nn_forward_keep(m, x, n, mode, rng ? rng : &m->rng);
	memmove(y, out, (size_t)n * nn_n_outputs(m) * sizeof *y);
	return NN_OK;
}

int nn_mc_predict(struct nn_model *m, const float *x, int n, int passes, struct rng *rng,
		  float *mean, float *std)
{
	size_t count;
	int rc;

	if (!m || !x || !mean || n < 1 || passes < 1)
		return NN_ERR_INVALID;
	rc = nn_reserve_train(m, n);
	if (rc != NN_OK)
		return rc;
	count = (size_t)n * nn_n_outputs(m);

	/* Welford's running mean and sum of squared deviations, in float:
	 * std holds the sum until the last pass turns it into a deviation. */
	memset(mean, 0, count * sizeof *mean);
	if (std)
		memset(std, 0, count * sizeof *std);
	for (int pass = 1; pass <= passes; pass++) {
		const float *y = nn_forward_keep(m, x, n, NN_TRAIN, rng ? rng : &m->rng);

		for (size_t k = 0; k < count; k++) {
			float delta = y[k] - mean[k];

			mean[k] += delta / (float)pass;
			if (std)
				std[k] += delta * (y[k] - mean[k]);
		}
	}
	for (size_t k = 0; std && k < count; k++)
		std[k] = sqrtf(std[k] > 0.0f ? std[k] / (float)passes : 0.0f);
	return NN_OK;
}

static int nn_argmax(const float *row, int width)
{
	int best = 0;

	for (int j = 1; j < width; j++)
		if (row[j] > row[best])
			best = j;
	return best;
}

static int nn_batch_valid(const struct nn_model *m, const struct nn_data *b)
{
	int out = nn_n_outputs(m);

	if (!b || !b->x || b->n < 1 || (b->y == NULL) == (b->ids == NULL))
		return 0;
	for (int i = 0; b->ids && i < b->n; i++)
		if (b->ids[i] < 0 || b->ids[i] >= out)
			return 0;
	return 1;
}

/* Returns Keras's categorical cross-entropy of one row and writes its
 * gradient dL/dp, scaled by 1/n for the batch mean, to grad. The row is
 * rescaled to sum 1, clipped to [eps, 1 - eps] and logged. A clipped entry
 * passes no gradient, as TF.js's clipByValue gradient does. */
static double nn_xent_row(const float *p, const float *t, int id, int width, double inv_n,
			  float *grad)
{
	const float lo = (float)NN_CLIP_EPSILON;
	const float hi = (float)(1.0 - NN_CLIP_EPSILON);
	double sum = 0.0;
	double loss = 0.0;
	double dot = 0.0;
	float total;

	for (int j = 0; j < width; j++)
		sum += p[j];
	total = (float)sum;

	/* grad first contains dL/dq for the rescaled q = p / total. */
	for (int j = 0; j < width; j++) {
		float q = p[j] / total;
		float c = q < lo ? lo : (q > hi ? hi : q);
		double target = t ? t[j] : (j == id ? 1.0 : 0.0);
		int passes = q >= lo && q <= hi;

		loss -= target * log((double)c);
		grad[j] = passes ? (float)(-target / c * inv_n) : 0.0f;
		dot += (double)grad[j] * p[j];
	}
	for (int j = 0; j < width; j++)
		grad[j] = (float)(grad[j] / (double)total - dot / ((double)total * total));
	return loss;
}

static int nn_all_finite(const float *v, size_t count)
{
	for (size_t k = 0; k < count; k++)
		if (!isfinite(v[k]))
			return 0;
	return 1;
}

/* Turns d, the gradient of dropout layer i's output, into the gradient of
 * its input, in place. In eval mode, or at rate 0, the layer is the
 * identity and d stays. */
static void nn_noise_backward(const struct nn_model *m, int i, int n, enum nn_mode mode, float *d)
{
	const struct nn_layer *l = &m->layers[i];
	size_t count = (size_t)n * l->out;
	float rate = l->desc.rate;

	if (mode != NN_TRAIN || rate == 0.0f)
		return;
	switch (l->desc.kind) {
	case NN_DROPOUT:
		kern_masked_div((int)count, m->mask[i], 1.0f - rate, d, d);
		break;
	case NN_ALPHA_DROPOUT:
		drop_alpha_backward(rate, m->mask[i], d, d, count);
		break;
	case NN_GAUSSIAN_DROPOUT:
		drop_gaussian_backward(m->noise[i], d, d, count);
		break;
	case NN_SPATIAL_DROPOUT_1D:
		drop_spatial_backward(rate, n, l->desc.steps, l->in / l->desc.steps, m->mask[i], d,
				      d);
		break;
	default:
		assert(!"a Dense-like layer reached nn_noise_backward");
	}
}

/* Fills the gradients of Dense-like layer i from d, the gradient of its
 * pre-activations, and writes the gradient of its input to dx when
 * need_dx. dx is scratch of n * max_width floats in every case, because
 * ConcreteDropout needs the gradient of its dropped input for its rate. */
static void nn_dense_backward(struct nn_model *m, int i, int n, enum nn_mode mode, const float *d,
			      float *dx, int need_dx)
{
	const struct nn_layer *l = &m->layers[i];
	const float *x = m->in_ptr[i];
	const float *w = m->params + l->kernel_off;
	const float *extra = m->params + l->extra_off;
	float *gw = m->grads + l->kernel_off;
	float *gb = l->has_bias ? m->grads + l->bias_off : NULL;
	size_t n_in = (size_t)n * l->in;

	if (mode == NN_TRAIN && l->desc.kind == NN_DROP_CONNECT && l->desc.rate > 0.0f) {
		drop_connect_backward(l->desc.rate, n, l->in, l->out, x, w, m->mask[i], d, gw, gb,
				      need_dx ? dx : NULL);
		return;
	}
	if (mode == NN_TRAIN && l->desc.kind == NN_VARIATIONAL_DROPOUT) {
		const float *noise = m->noise[i];

		drop_vd_backward(n, l->in, l->out, x, w, extra, noise, noise + (size_t)n * l->out,
				 d, gw, gb, m->grads + l->extra_off, need_dx ? dx : NULL);
		return;
	}

	/* Dense, and ConcreteDropout on its dropped input. */
	if (mode == NN_TRAIN && l->desc.kind == NN_CONCRETE_DROPOUT)
		x = m->noise[i] + n_in;
	kern_gemm_tn(n, l->out, l->in, x, d, gw);
	if (gb)
		kern_col_sum(n, l->out, d, gb);
	if (mode == NN_TRAIN && l->desc.kind == NN_CONCRETE_DROPOUT) {
		kern_gemm_nt(n, l->out, l->in, d, w, dx);
		m->grads[l->extra_off] = (float)drop_concrete_backward(
			extra[0], n_in, m->in_ptr[i], m->noise[i], dx, need_dx ? dx : NULL);
	} else if (need_dx) {
		kern_gemm_nt(n, l->out, l->in, d, w, dx);
	}
}

/* Backward pass from dL/d(output) in m->delta, filling m->grads. */
static void nn_backward(struct nn_model *m, int n, enum nn_mode mode)
{
	float *d = m->delta;
	float *other = m->delta + (size_t)n * m->max_width;
	int first_param = m->n_layers;

	for (int i = 0; i < m->n_layers; i++) {
		if (m->layers[i].has_kernel) {
			first_param = i;
			break;
		}
	}

	for (int i = m->n_layers - 1; i >= first_param; i--) {
		const struct nn_layer *l = &m->layers[i];
		float *t;

		if (!nn_kind_is_dense(l->desc.kind)) {
			nn_noise_backward(m, i, n, mode, d);
			continue;
		}

		nn_activate_backward(l->desc.act, m->pre[i], m->act[i], d, n, l->out);
		nn_dense_backward(m, i, n, mode, d, other, i > first_param);
		t = d;
		d = other;
		other = t;
	}
}

/* Adds the regularizers of the learned dropout layers to the loss and the
 * gradients (training mode only), each divided by the data size. */
static double nn_drop_regularizers(struct nn_model *m, int batch_n)
{
	double n_data = m->data_size > 0.0 ? m->data_size : batch_n;
	double total = 0.0;

	for (int i = 0; i < m->n_layers; i++) {
		const struct nn_layer *l = &m->layers[i];
		const float *w = m->params + l->kernel_off;
		float *extra = m->params + l->extra_off;
		float *g_extra = m->grads + l->extra_off;
		size_t n_w = (size_t)l->in * l->out;

		if (l->desc.kind == NN_CONCRETE_DROPOUT) {
			double dp = 0.0;

			total += drop_concrete_reg(extra[0], w, n_w, l->in, n_data, &dp,
						   m->grads + l->kernel_off);
			g_extra[0] += (float)dp;
		} else if (l->desc.kind == NN_VARIATIONAL_DROPOUT) {
			total += drop_vd_kl(extra, l->in, l->out, n_data, g_extra);
		}
	}
	return total;
}

int nn_loss_grad(struct nn_model *m, const struct nn_data *batch, enum nn_mode mode,
		 struct rng *rng, double *loss, double *acc)
{
	const float *out;
	int width;
	double total = 0.0;
	int hits = 0;
	int rc;

	if (!m || !nn_batch_valid(m, batch) || (mode != NN_TRAIN && mode != NN_EVAL) || !loss)
		return NN_ERR_INVALID;
	rc = nn_reserve_train(m, batch->n);
	if (rc != NN_OK)
		return rc;
	width = nn_n_outputs(m);

	out = nn_forward_keep(m, batch->x, batch->n, mode, rng ? rng : &m->rng);

	/* The output gradient goes into delta, which is scratch memory even
	 * when the output is the caller's x (a dropout-only model in eval). */
	for (int i = 0; i < batch->n; i++) {
		const float *p = out + (size_t)i * width;
		const float *t = batch->y ? batch->y + (size_t)i * width : NULL;
		int id = batch->ids ? batch->ids[i] : nn_argmax(t, width);

		total += nn_xent_row(p, t, id, width, 1.0 / batch->n,
				     m->delta + (size_t)i * width);
		hits += nn_argmax(p, width) == id;
	}
	*loss = total / batch->n;
	if (acc)
		*acc = (double)hits / batch->n;

	memset(m->grads, 0, m->n_params * sizeof *m->grads);
	nn_backward(m, batch->n, mode);
	if (mode == NN_TRAIN)
		*loss += nn_drop_regularizers(m, batch->n);
	if (!isfinite(*loss) || !nn_all_finite(m->grads, m->n_params))
		return NN_ERR_NONFINITE;
	return NN_OK;
}

/* Adam as TF.js's AdamOptimizer computes it, op by op in float32:
 *   m' = m*b1 + g*(1-b1);  v' = v*b2 + g^2*(1-b2)
 *   w' = w + (m'/(1-b1^t)) / (sqrt(v'/(1-b2^t)) + eps) * -lr
 * with b1^t, b2^t kept as running float32 products. The results go to the
 * stage arrays; the caller commits them. */
static void nn_adam_stage(const struct nn_model *m, float *w, float *s1, float *s2)
{
	struct kern_adam opt = {
		.lr = m->optim.lr,
		.beta1 = m->optim.beta1,
		.beta2 = m->optim.beta2,
		.epsilon = m->optim.epsilon,
		.beta1_power = m->acc_beta1,
		.beta2_power = m->acc_beta2,
	};

	/* kern_adam_step updates in place and computes the formula above in
	 * the same order, vectorized where the CPU allows. */
	assert(m->n_params <= INT_MAX);
	memcpy(w, m->params, m->n_params * sizeof *w);
	memcpy(s1, m->slot1, m->n_params * sizeof *s1);
	memcpy(s2, m->slot2, m->n_params * sizeof *s2);
	kern_adam_step(&opt, (int)m->n_params, w, m->grads, s1, s2);
}

/* SGD as Keras's SGD computes it: v' = momentum*v - lr*g, then w' = w + v',
 * or w' = w + momentum*v' - lr*g with Nesterov; plain w - lr*g without
 * momentum. */
static void nn_sgd_stage(const struct nn_model *m, float *w, float *s1, float *s2)
{
	const float lr = (float)m->optim.lr;
	const float mom = (float)m->optim.momentum;

	for (size_t k = 0; k < m->n_params; k++) {
		float g = m->grads[k];

		s2[k] = 0.0f;
		if (mom == 0.0f) {
			s1[k] = 0.0f;
			w[k] = m->params[k] - lr * g;
			continue;
		}
		s1[k] = mom * m->slot1[k] - lr * g;
		if (m->optim.nesterov)
			w[k] = m->params[k] + (mom * s1[k] - lr * g);
		else
			w[k] = m->params[k] + s1[k];
	}
}

int nn_train_step(struct nn_model *m, const struct nn_data *batch, double *loss, double *acc)
{
	float *w, *s1, *s2;
	double batch_loss = NAN, batch_acc = NAN;
	struct rng saved_rng;
	int rc;

	if (!m)
		return NN_ERR_INVALID;
	saved_rng = m->rng;
	rc = nn_loss_grad(m, batch, NN_TRAIN, &m->rng, &batch_loss, &batch_acc);
	if (loss)
		*loss = batch_loss;
	if (acc)
		*acc = batch_acc;
	if (rc != NN_OK)
		goto reject;

	/* Stage the update, check it, then commit it whole. */
	w = m->stage;
	s1 = w + m->n_params;
	s2 = s1 + m->n_params;
	if (m->optim.kind == NN_OPTIM_ADAM)
		nn_adam_stage(m, w, s1, s2);
	else
		nn_sgd_stage(m, w, s1, s2);
	rc = NN_ERR_NONFINITE;
	if (!nn_all_finite(m->stage, m->n_params * 3))
		goto reject;

	memcpy(m->params, w, m->n_params * sizeof *w);
	memcpy(m->slot1, s1, m->n_params * sizeof *s1);
	memcpy(m->slot2, s2, m->n_params * sizeof *s2);
	if (m->optim.kind == NN_OPTIM_ADAM) {
		m->acc_beta1 = m->acc_beta1 * (float)m->optim.beta1;
		m->acc_beta2 = m->acc_beta2 * (float)m->optim.beta2;
	}
	m->steps++;
	return NN_OK;

reject:
	/* A rejected step leaves no trace in the saved state: the dropout
	 * masks it drew are drawn again by the next step. */
	m->rng = saved_rng;
	return rc;
}

/* Sums loss and hits of rows [start, start + count) in eval mode. */
static int nn_eval_range(struct nn_model *m, const struct nn_data *data, int start, int count,
			 int batch_size, double *loss_sum, double *acc_sum)
{
	*loss_sum = 0.0;
	*acc_sum = 0.0;
	for (int i = start; i < start + count; i += batch_size) {
		int rows = start + count - i < batch_size ? start + count - i : batch_size;
		struct nn_data b = {
			.x = data->x + (size_t)i * m->n_inputs,
			.y = data->y ? data->y + (size_t)i * nn_n_outputs(m) : NULL,
			.ids = data->ids ? data->ids + i : NULL,
			.n = rows,
		};
		double loss, acc;
		int rc = nn_loss_grad(m, &b, NN_EVAL, NULL, &loss, &acc);

		if (rc != NN_OK && rc != NN_ERR_NONFINITE)
			return rc;
		*loss_sum += loss * rows;
		*acc_sum += acc * rows;
	}
	return NN_OK;
}

int nn_evaluate(struct nn_model *m, const struct nn_data *data, int batch_size, double *loss,
		double *acc)
{
	double loss_sum, acc_sum, mean;
	int rc;

	if (!m || !nn_batch_valid(m, data) || batch_size < 0)
		return NN_ERR_INVALID;
	if (batch_size == 0)
		batch_size = 256;
	rc = nn_eval_range(m, data, 0, data->n, batch_size, &loss_sum, &acc_sum);
	if (rc != NN_OK)
		return rc;

	mean = loss_sum / data->n;
	if (loss)
		*loss = mean;
	if (acc)
		*acc = acc_sum / data->n;
	return isfinite(mean) ? NN_OK : NN_ERR_NONFINITE;
}

static double nn_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Working memory of nn_fit: the row order and one gathered batch. */
struct nn_fit_work {
	int *order;
	float *x;
	float *y;
	int *ids;
};

static void nn_gather(const struct nn_model *m, const struct nn_data *data,
		      const struct nn_fit_work *w, int start, int rows, struct nn_data *b)
{
	int in = m->n_inputs;
	int out = nn_n_outputs(m);

	for (int r = 0; r < rows; r++) {
		int src = w->order[start + r];

		memcpy(w->x + (size_t)r * in, data->x + (size_t)src * in, (size_t)in * sizeof *w->x);
		if (data->y)
			memcpy(w->y + (size_t)r * out, data->y + (size_t)src * out,
			       (size_t)out * sizeof *w->y);
		else
			w->ids[r] = data->ids[src];
	}
	b->x = w->x;
	b->y = data->y ? w->y : NULL;
	b->ids = data->y ? NULL : w->ids;
	b->n = rows;
}

static void nn_shuffle(struct rng *r, int *order, int n)
{
	for (int i = n - 1; i > 0; i--) {
		int j = (int)rng_below(r, (uint32_t)i + 1);
		int t = order[i];

		order[i] = order[j];
		order[j] = t;
	}
}

int nn_fit(struct nn_model *m, const struct nn_data *data, const struct nn_fit_opts *opts,
	   struct nn_fit_result *result)
{
	struct nn_fit_work w = { 0 };
	struct nn_fit_result res = { 0 };
	double start_ms = nn_now_ms();
	int n_train, n_val, bs;
	int rc = NN_OK;

	if (!m || !nn_batch_valid(m, data) || !opts || opts->epochs < 0 || opts->batch_size < 1 ||
	    !(opts->validation_split >= 0.0 && opts->validation_split < 1.0))
		return NN_ERR_INVALID;
	n_train = (int)floor(data->n * (1.0 - opts->validation_split));
	n_val = data->n - n_train;
	if (n_train < 1)
		return NN_ERR_INVALID;
	bs = opts->batch_size < n_train ? opts->batch_size : n_train;

	w.order = nn_alloc((size_t)n_train, sizeof *w.order);
	w.x = nn_alloc((size_t)bs * m->n_inputs, sizeof *w.x);
	w.y = nn_alloc((size_t)bs * nn_n_outputs(m), sizeof *w.y);
	w.ids = nn_alloc((size_t)bs, sizeof *w.ids);
	if (!w.order || !w.x || !w.y || !w.ids) {
		rc = NN_ERR_NOMEM;
		goto done;
	}
	for (int i = 0; i < n_train; i++)
		w.order[i] = i;
	m->data_size = n_train;

	for (int epoch = 0; epoch < opts->epochs && res.stop == NN_STOP_DONE; epoch++) {
		struct nn_epoch_stats s = { .epoch = epoch };
		double loss_sum = 0.0, acc_sum = 0.0;
		int seen = 0;

		if (opts->shuffle)
			nn_shuffle(&m->rng, w.order, n_train);
		for (int i = 0; i < n_train; i += bs) {
			struct nn_data b;
			double loss, acc;

			if (opts->budget_ms > 0 && nn_now_ms() - start_ms >= opts->budget_ms) {
				res.stop = NN_STOP_BUDGET;
				s.partial = 1;
				break;
			}
			nn_gather(m, data, &w, i, n_train - i < bs ? n_train - i : bs, &b);
			rc = nn_train_step(m, &b, &loss, &acc);
			if (rc != NN_OK)
				goto done;
			res.steps++;
			s.batches++;
			loss_sum += loss * b.n;
			acc_sum += acc * b.n;
			seen += b.n;
		}
		if (seen == 0)
			break;

		res.epochs++;
		s.loss = loss_sum / seen;
		s.acc = acc_sum / seen;
		if (n_val > 0) {
			double vl, va;

			rc = nn_eval_range(m, data, n_train, n_val, 256, &vl, &va);
			if (rc != NN_OK)
				goto done;
			s.has_val = 1;
			s.val_loss = vl / n_val;
			s.val_acc = va / n_val;
		}
		res.last = s;
		if (opts->on_epoch && opts->on_epoch(&s, opts->user) != 0 &&
		    res.stop == NN_STOP_DONE)
			res.stop = NN_STOP_CALLBACK;
	}

done:
	if (result)
		*result = res;
	free(w.order);
	free(w.x);
	free(w.y);
	free(w.ids);
	return rc;
}

/* ---- Warnings ------------------------------------------------------- */

unsigned nn_warnings(const struct nn_model *m, int *layer)
{
	unsigned bits = 0;
	int first = -1;

	for (int i = 0; m && i < m->n_layers; i++) {
		const struct nn_layer_desc *prev = NULL;
		unsigned found = 0;

		if (m->layers[i].desc.kind != NN_ALPHA_DROPOUT)
			continue;
		/* The layer that computed AlphaDropout's input; the network's
		 * input itself raises nothing. */
		for (int j = i - 1; j >= 0 && !prev; j--)
			if (nn_kind_is_dense(m->layers[j].desc.kind))
				prev = &m->layers[j].desc;
		if (prev && prev->act != NN_ACT_SELU)
			found = NN_WARN_ALPHA_ACTIVATION;
		else if (prev && prev->init == NN_INIT_GLOROT_UNIFORM)
			found = NN_WARN_ALPHA_INIT;
		if (found && first < 0)
			first = i;
		bits |= found;
	}
	if (layer)
		*layer = first;
	return bits;
}

const char *nn_warning_text(unsigned bit)
{
	switch (bit) {
	case NN_WARN_ALPHA_ACTIVATION:
		return "AlphaDropout follows a layer whose activation is not selu, so it does "
		       "not keep the self-normalizing mean and variance";
	case NN_WARN_ALPHA_INIT:
		return "AlphaDropout follows a selu layer with a Glorot kernel; self-normalizing "
		       "networks need lecun_normal";
	}
	return NULL;
}

/* ---- JSON description ----------------------------------------------- */

/* Returns the shortest decimal that reads back as f, as a double, so that
 * 0.1f is written as 0.1 rather than 0.10000000149011612. */
static double nn_short_real(float f)
{
	char buf[32];

	for (int digits = 1; digits <= 9; digits++) {
		snprintf(buf, sizeof buf, "%.*g", digits, (double)f);
		if (strtof(buf, NULL) == f)
			break;
	}
	return strtod(buf, NULL);
}

static json_t *nn_layer_json(const struct nn_layer_desc *d)
{
	json_t *o = json_object();

	if (!o)
		return NULL;
	json_object_set_new(o, "kind", json_string(nn_kind_name(d->kind)));
	if (nn_kind_is_dense(d->kind)) {
		json_object_set_new(o, "units", json_integer(d->units));
		json_object_set_new(o, "activation", json_string(nn_act_name(d->act)));
		json_object_set_new(o, "use_bias", json_boolean(d->use_bias));
		if (d->init == NN_INIT_GLOROT_UNIFORM)
			json_object_set_new(o, "kernel_initializer", json_string("glorot_uniform"));
		else if (d->init == NN_INIT_LECUN_NORMAL)
			json_object_set_new(o, "kernel_initializer", json_string("lecun_normal"));
	}
	if (d->kind != NN_DENSE)
		json_object_set_new(o, "rate", json_real(nn_short_real(d->rate)));
	if (d->kind == NN_SPATIAL_DROPOUT_1D)
		json_object_set_new(o, "steps", json_integer(d->steps));
	json_object_set_new(o, "name", json_string(d->name));
	return o;
}

char *nn_to_json(const struct nn_model *m)
{
	json_t *root = json_object();
	json_t *layers = json_array();
	char *text = NULL;

	if (!root || !layers)
		goto done;
	json_object_set_new(root, "inputs", json_integer(m->n_inputs));
	for (int i = 0; i < m->n_layers; i++)
		if (json_array_append_new(layers, nn_layer_json(&m->layers[i].desc)) != 0)
			goto done;
	if (json_object_set(root, "layers", layers) != 0)
		goto done;
	text = json_dumps(root, JSON_COMPACT | JSON_REAL_PRECISION(9));

done:
	json_decref(layers);
	json_decref(root);
	return text;
}

static int nn_json_fail(char *err, size_t err_len, const char *fmt, int index, const char *what)
{
	if (err && err_len > 0) {
		if (index >= 0)
			snprintf(err, err_len, fmt, index, what);
		else
			snprintf(err, err_len, fmt, what);
	}
	return NN_ERR_INVALID;
}

static int nn_json_key_known(const char *key, enum nn_kind kind)
{
	static const char *const dense[] = { "units", "activation", "use_bias",
					     "kernel_initializer" };

	if (strcmp(key, "kind") == 0 || strcmp(key, "name") == 0)
		return 1;
	if (kind != NN_DENSE && strcmp(key, "rate") == 0)
		return 1;
	if (kind == NN_SPATIAL_DROPOUT_1D && strcmp(key, "steps") == 0)
		return 1;
	for (int i = 0; nn_kind_is_dense(kind) && i < NN_COUNT(dense); i++)
		if (strcmp(key, dense[i]) == 0)
			return 1;
	return 0;
}

/* Reads a layer's "rate" into d->rate; learned rates must be above 0. */
static int nn_json_rate(json_t *o, int i, struct nn_layer_desc *d, char *err, size_t err_len)
{
	json_t *v = json_object_get(o, "rate");
	int learned = d->kind == NN_CONCRETE_DROPOUT || d->kind == NN_VARIATIONAL_DROPOUT;

	if (!json_is_number(v) || !(json_number_value(v) >= 0.0 && json_number_value(v) < 1.0))
		return nn_json_fail(err, err_len, "layer %d: %s", i,
				    "\"rate\" must be a number in [0, 1)");
	d->rate = (float)json_number_value(v);
	if (d->rate >= 1.0f)
		return nn_json_fail(err, err_len, "layer %d: %s", i,
				    "\"rate\" rounds to 1 in float32");
	if (learned && d->rate <= 0.0f)
		return nn_json_fail(err, err_len, "layer %d: %s", i,
				    "a learned \"rate\" must start above 0");
	return NN_OK;
}

/* Reads one layer object into d; i is the layer's index for messages. */
static int nn_json_layer(json_t *o, int i, struct nn_layer_desc *d, char *err, size_t err_len)
{
	json_t *v;
	const char *key;

	memset(d, 0, sizeof *d);
	if (!json_is_object(o))
		return nn_json_fail(err, err_len, "layer %d: %s", i, "expected an object");
	v = json_object_get(o, "kind");
	if (!json_is_string(v) || nn_kind_parse(json_string_value(v), &d->kind) != NN_OK)
		return nn_json_fail(err, err_len, "layer %d: %s", i,
				    "\"kind\" must be one of Dense, Dropout, AlphaDropout, "
				    "GaussianDropout, SpatialDropout1D, DropConnect, "
				    "ConcreteDropout, VariationalDropout");
	json_object_foreach(o, key, v) {
		if (!nn_json_key_known(key, d->kind))
			return nn_json_fail(err, err_len, "layer %d: unknown key \"%s\"", i, key);
	}

	v = json_object_get(o, "name");
	if (v && (!json_is_string(v) || !nn_name_valid(json_string_value(v))))
		return nn_json_fail(err, err_len, "layer %d: %s", i,
				    "\"name\" must be 1 to 63 characters from A-Z a-z 0-9 _ . -");
	if (v)
		strcpy(d->name, json_string_value(v));

	if (d->kind != NN_DENSE && nn_json_rate(o, i, d, err, err_len) != NN_OK)
		return NN_ERR_INVALID;
	v = json_object_get(o, "steps");
	if (v && (!json_is_integer(v) || json_integer_value(v) < 1 ||
		  json_integer_value(v) > NN_MAX_WIDTH))
		return nn_json_fail(err, err_len, "layer %d: %s", i,
				    "\"steps\" must be an integer from 1 to 1048576");
	if (v)
		d->steps = (int)json_integer_value(v);
	if (!nn_kind_is_dense(d->kind))
		return NN_OK;

	v = json_object_get(o, "units");
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > NN_MAX_WIDTH)
		return nn_json_fail(err, err_len, "layer %d: %s", i,
				    "\"units\" must be an integer from 1 to 1048576");
	d->units = (int)json_integer_value(v);
	d->act = NN_ACT_LINEAR;
	v = json_object_get(o, "activation");
	if (v && (!json_is_string(v) || nn_act_parse(json_string_value(v), &d->act) != NN_OK))
		return nn_json_fail(err, err_len, "layer %d: %s", i,
				    "\"activation\" must be one of linear, relu, selu, tanh, sigmoid, softmax");
	d->use_bias = 1;
	v = json_object_get(o, "use_bias");
	if (v && !json_is_boolean(v))
		return nn_json_fail(err, err_len, "layer %d: %s", i, "\"use_bias\" must be true or false");
	if (v)
		d->use_bias = json_is_true(v);
	v = json_object_get(o, "kernel_initializer");
	if (v) {
		const char *s = json_is_string(v) ? json_string_value(v) : "";

		if (strcmp(s, "glorot_uniform") == 0)
			d->init = NN_INIT_GLOROT_UNIFORM;
		else if (strcmp(s, "lecun_normal") == 0)
			d->init = NN_INIT_LECUN_NORMAL;
		else
			return nn_json_fail(err, err_len, "layer %d: %s", i,
					    "\"kernel_initializer\" must be \"glorot_uniform\" or \"lecun_normal\"");
	}
	return NN_OK;
}

/* Parses a description into *inputs and a malloc'd array *descs. */
static int nn_parse_desc(const char *json, size_t len, int *inputs, struct nn_layer_desc **descs,
			 int *n_layers, char *err, size_t err_len)
{
	json_error_t jerr;
	json_t *root, *v, *layers;
	const char *key;
	int rc = NN_ERR_INVALID;

	*descs = NULL;
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		if (err && err_len > 0)
			snprintf(err, err_len, "line %d, column %d: %s", jerr.line, jerr.column,
				 jerr.text);
		return NN_ERR_INVALID;
	}
	if (!json_is_object(root)) {
		nn_json_fail(err, err_len, "%s", -1, "the description must be a JSON object");
		goto done;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "inputs") != 0 && strcmp(key, "layers") != 0) {
			nn_json_fail(err, err_len, "unknown key \"%s\" in the description", -1, key);
			goto done;
		}
	}
	v = json_object_get(root, "inputs");
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > NN_MAX_WIDTH) {
		nn_json_fail(err, err_len, "%s", -1, "\"inputs\" must be an integer from 1 to 1048576");
		goto done;
	}
	*inputs = (int)json_integer_value(v);
	layers = json_object_get(root, "layers");
	if (!json_is_array(layers) || json_array_size(layers) < 1 ||
	    json_array_size(layers) > NN_MAX_LAYERS) {
		nn_json_fail(err, err_len, "%s", -1, "\"layers\" must be an array of 1 to 1024 layers");
		goto done;
	}
	*n_layers = (int)json_array_size(layers);
	*descs = nn_alloc((size_t)*n_layers, sizeof **descs);
	if (!*descs) {
		rc = NN_ERR_NOMEM;
		goto done;
	}
	for (int i = 0; i < *n_layers; i++) {
		rc = nn_json_layer(json_array_get(layers, (size_t)i), i, &(*descs)[i], err, err_len);
		if (rc != NN_OK)
			goto done;
		if ((*descs)[i].name[0] && nn_desc_name_taken(*descs, i, (*descs)[i].name)) {
			rc = nn_json_fail(err, err_len, "layer %d: name \"%s\" is already used", i,
					  (*descs)[i].name);
			goto done;
		}
	}
	rc = NN_OK;

done:
	if (rc != NN_OK) {
		free(*descs);
		*descs = NULL;
	}
	json_decref(root);
	return rc;
}

int nn_from_json(struct nn_model **out, const char *json, uint64_t seed, char *err,
		 size_t err_len)
{
	struct nn_layer_desc *descs;
	int inputs, n_layers;
	int rc;

	if (err && err_len > 0)
		err[0] = '\0';
	if (!out || !json)
		return NN_ERR_INVALID;
	*out = NULL;
	rc = nn_parse_desc(json, strlen(json), &inputs, &descs, &n_layers, err, err_len);
	if (rc != NN_OK)
		return rc;

	/* Each layer is valid on its own by now and names are unique, so after
	 * the width check only the total size can make the model invalid. */
	rc = nn_check_widths(inputs, descs, n_layers, err, err_len);
	if (rc == NN_OK) {
		rc = nn_create(out, inputs, descs, n_layers, seed);
		if (rc == NN_ERR_INVALID)
			nn_json_fail(err, err_len, "%s", -1,
				     "the model has more than 268435456 parameters; use fewer or smaller layers");
	}
	free(descs);
	return rc;
}

/* ---- Saved format --------------------------------------------------- */

struct nn_writer {
	unsigned char *p;
};

static void nn_put_u32(struct nn_writer *w, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		*w->p++ = (unsigned char)(v >> (8 * i));
}

static void nn_put_u64(struct nn_writer *w, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		*w->p++ = (unsigned char)(v >> (8 * i));
}

static void nn_put_f32(struct nn_writer *w, float f)
{
	uint32_t v;

	memcpy(&v, &f, sizeof v);
	nn_put_u32(w, v);
}

static void nn_put_f64(struct nn_writer *w, double f)
{
	uint64_t v;

	memcpy(&v, &f, sizeof v);
	nn_put_u64(w, v);
}

int nn_save(const struct nn_model *m, unsigned char **buf, size_t *len)
{
	char *desc;
	size_t desc_len, total;
	struct nn_writer w;

	if (!m || !buf || !len)
		return NN_ERR_INVALID;
	*buf = NULL;
	*len = 0;
	desc = nn_to_json(m);
	if (!desc)
		return NN_ERR_NOMEM;
	desc_len = strlen(desc);
	total = 12 + desc_len + 104 + m->n_params * 3 * 4;
	*buf = malloc(total);
	if (!*buf) {
		free(desc);
		return NN_ERR_NOMEM;
	}

	w.p = *buf;
	memcpy(w.p, NN_MAGIC, 4);
	w.p += 4;
	nn_put_u32(&w, NN_VERSION);
	nn_put_u32(&w, (uint32_t)desc_len);
	memcpy(w.p, desc, desc_len);
	w.p += desc_len;
	free(desc);

	nn_put_u32(&w, (uint32_t)m->optim.kind);
	nn_put_f64(&w, m->optim.lr);
	nn_put_f64(&w, m->optim.beta1);
	nn_put_f64(&w, m->optim.beta2);
	nn_put_f64(&w, m->optim.epsilon);
	nn_put_f64(&w, m->optim.momentum);
	nn_put_u32(&w, (uint32_t)m->optim.nesterov);
	nn_put_u64(&w, m->steps);
	nn_put_f32(&w, m->acc_beta1);
	nn_put_f32(&w, m->acc_beta2);
	for (int i = 0; i < 4; i++)
		nn_put_u64(&w, m->rng.s[i]);
	nn_put_u64(&w, (uint64_t)m->n_params);
	for (size_t k = 0; k < m->n_params; k++)
		nn_put_f32(&w, m->params[k]);
	for (size_t k = 0; k < m->n_params; k++)
		nn_put_f32(&w, m->slot1[k]);
	for (size_t k = 0; k < m->n_params; k++)
		nn_put_f32(&w, m->slot2[k]);

	assert((size_t)(w.p - *buf) == total);
	*len = total;
	return NN_OK;
}

/* A bounds-checked reader: every get fails once the buffer runs out. */
struct nn_reader {
	const unsigned char *p;
	size_t left;
};

static int nn_get_bytes(struct nn_reader *r, void *dst, size_t count)
{
	if (r->left < count)
		return NN_ERR_TRUNCATED;
	memcpy(dst, r->p, count);
	r->p += count;
	r->left -= count;
	return NN_OK;
}

static int nn_get_u32(struct nn_reader *r, uint32_t *v)
{
	unsigned char b[4];
	int rc = nn_get_bytes(r, b, 4);

	*v = 0;
	for (int i = 0; rc == NN_OK && i < 4; i++)
		*v |= (uint32_t)b[i] << (8 * i);
	return rc;
}

static int nn_get_u64(struct nn_reader *r, uint64_t *v)
{
	unsigned char b[8];
	int rc = nn_get_bytes(r, b, 8);

	*v = 0;
	for (int i = 0; rc == NN_OK && i < 8; i++)
		*v |= (uint64_t)b[i] << (8 * i);
	return rc;
}

static int nn_get_f32(struct nn_reader *r, float *f)
{
	uint32_t v;
	int rc = nn_get_u32(r, &v);

	memcpy(f, &v, sizeof *f);
	return rc;
}

static int nn_get_f64(struct nn_reader *r, double *f)
{
	uint64_t v;
	int rc = nn_get_u64(r, &v);

	memcpy(f, &v, sizeof *f);
	return rc;
}

/* Reads the header and description, and builds the model they describe. */
static int nn_load_desc(struct nn_reader *r, struct nn_model **out)
{
	unsigned char magic[4];
	uint32_t version, desc_len;
	struct nn_layer_desc *descs;
	int inputs, n_layers;
	int rc;

	if (r->left < 4) {
		/* A short prefix of the magic is a truncated model. */
		if (r->left == 0 || memcmp(r->p, NN_MAGIC, r->left) == 0)
			return NN_ERR_TRUNCATED;
		return NN_ERR_FORMAT;
	}
	nn_get_bytes(r, magic, 4);
	if (memcmp(magic, NN_MAGIC, 4) != 0)
		return NN_ERR_FORMAT;
	rc = nn_get_u32(r, &version);
	if (rc != NN_OK)
		return rc;
	if (version != NN_VERSION)
		return NN_ERR_VERSION;
	rc = nn_get_u32(r, &desc_len);
	if (rc != NN_OK)
		return rc;
	if (r->left < desc_len)
		return NN_ERR_TRUNCATED;

	rc = nn_parse_desc((const char *)r->p, desc_len, &inputs, &descs, &n_layers, NULL, 0);
	if (rc != NN_OK)
		return rc == NN_ERR_NOMEM ? rc : NN_ERR_FORMAT;
	r->p += desc_len;
	r->left -= desc_len;
	rc = nn_alloc_model(out, inputs, descs, n_layers);
	free(descs);
	return rc == NN_ERR_INVALID ? NN_ERR_FORMAT : rc;
}

/* Returns whether power is the float32 running product beta^(steps+1) that
 * training leaves, within the tolerance the layout comment gives. */
static int nn_power_matches(float power, double beta, uint64_t steps)
{
	double factor = (float)beta;
	double expect = pow(factor, (double)steps + 1.0);
	double tol = expect * ((double)steps + 1.0) * ldexp(1.0, -23) + FLT_MIN;

	if (!(power >= 0.0f && power < 1.0f))
		return 0;
	return fabs((double)power - expect) <= tol;
}

/* Returns whether the optimizer slots are ones training could leave:
 * Adam's v is never negative, and SGD never writes its second slot. */
static int nn_slots_possible(const struct nn_model *m)
{
	for (size_t k = 0; k < m->n_params; k++) {
		if (m->optim.kind == NN_OPTIM_ADAM && m->slot2[k] < 0.0f)
			return 0;
		if (m->optim.kind == NN_OPTIM_SGD && m->slot2[k] != 0.0f)
			return 0;
	}
	return 1;
}

static int nn_load_optim(struct nn_reader *r, struct nn_model *m)
{
	uint32_t kind, nesterov;
	struct nn_optim o = { 0 };
	int rc = NN_OK;

	rc |= nn_get_u32(r, &kind);
	rc |= nn_get_f64(r, &o.lr);
	rc |= nn_get_f64(r, &o.beta1);
	rc |= nn_get_f64(r, &o.beta2);
	rc |= nn_get_f64(r, &o.epsilon);
	rc |= nn_get_f64(r, &o.momentum);
	rc |= nn_get_u32(r, &nesterov);
	rc |= nn_get_u64(r, &m->steps);
	rc |= nn_get_f32(r, &m->acc_beta1);
	rc |= nn_get_f32(r, &m->acc_beta2);
	for (int i = 0; i < 4; i++)
		rc |= nn_get_u64(r, &m->rng.s[i]);
	if (rc != NN_OK)
		return NN_ERR_TRUNCATED;

	if (kind > NN_OPTIM_SGD || nesterov > 1)
		return NN_ERR_FORMAT;
	o.kind = (enum nn_optim_kind)kind;
	o.nesterov = (int)nesterov;
	if (!nn_optim_valid(&o) || (m->rng.s[0] | m->rng.s[1] | m->rng.s[2] | m->rng.s[3]) == 0)
		return NN_ERR_FORMAT;
	if (o.kind == NN_OPTIM_ADAM && (!nn_power_matches(m->acc_beta1, o.beta1, m->steps) ||
					!nn_power_matches(m->acc_beta2, o.beta2, m->steps)))
		return NN_ERR_FORMAT;
	m->optim = o;
	return NN_OK;
}

int nn_load(struct nn_model **out, const unsigned char *buf, size_t len)
{
	struct nn_reader r = { buf, len };
	struct nn_model *m = NULL;
	uint64_t n_params;
	int rc;

	if (!out || (!buf && len > 0))
		return NN_ERR_INVALID;
	*out = NULL;
	rc = nn_load_desc(&r, &m);
	if (rc != NN_OK)
		goto fail;
	rc = nn_load_optim(&r, m);
	if (rc != NN_OK)
		goto fail;
	rc = nn_get_u64(&r, &n_params);
	if (rc != NN_OK)
		goto fail;
	rc = NN_ERR_FORMAT;
	if (n_params != m->n_params)
		goto fail;
	rc = NN_ERR_TRUNCATED;
	if (r.left < m->n_params * 12)
		goto fail;
	rc = NN_ERR_FORMAT;
	if (r.left > m->n_params * 12)
		goto fail;

	for (size_t k = 0; k < m->n_params; k++)
		nn_get_f32(&r, &m->params[k]);
	for (size_t k = 0; k < m->n_params; k++)
		nn_get_f32(&r, &m->slot1[k]);
	for (size_t k = 0; k < m->n_params; k++)
		nn_get_f32(&r, &m->slot2[k]);
	rc = NN_ERR_NONFINITE;
	if (!nn_all_finite(m->params, m->n_params) || !nn_all_finite(m->slot1, m->n_params) ||
	    !nn_all_finite(m->slot2, m->n_params))
		goto fail;
	rc = NN_ERR_FORMAT;
	if (!nn_slots_possible(m))
		goto fail;

	*out = m;
	return NN_OK;

fail:
	nn_free(m);
	return rc;
}
