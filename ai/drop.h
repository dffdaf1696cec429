/* drop: the dropout variants of the network, as kernels over float32 buffers.
 *
 * Every buffer is row-major: activations are [n][units], Dense kernels are
 * [in][out] as Keras stores them. The network (nn) owns the buffers and the
 * layer order and calls these kernels from its forward and backward passes.
 * Training-mode kernels draw from the generator they are given and store what
 * their backward pass needs (a mask or noise) in a caller-provided buffer.
 * Backward kernels overwrite their outputs (dx, dw, db) and, where noted,
 * allow dx to alias dy. Regularizer functions instead add their gradients to
 * what is already there, because they share gradient buffers with a layer.
 *
 * In eval mode every variant uses its expected value: the noise layers are
 * the identity, and the Dense-like layers (DropConnect, ConcreteDropout,
 * VariationalDropout) are a plain Dense layer with their kernel and bias. */
#ifndef TTYPONG_DROP_H
#define TTYPONG_DROP_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"
#include "rng.h"

/* SELU's negative saturation value -scale * alpha (Klambauer et al. 2017),
 * where alpha dropout sends dropped units. */
#define DROP_ALPHA_P (-1.7580993408473766)

/* Temperature of Concrete dropout's relaxed Bernoulli mask (Gal, Hron and
 * Kendall 2017 use 0.1). */
#define DROP_CONCRETE_TEMPERATURE 0.1

/* Prior length scale l of Concrete dropout's weight regularizer
 * l^2 / (tau N), with model precision tau = 1 as for a classifier.
 * NOTE: a small prior chosen for ttypong's data, not tuned. */
#define DROP_CONCRETE_LENGTH_SCALE 1e-4

/* Variational dropout clips log alpha to this range so that the noise
 * variance stays finite. Outside it the gradient of log alpha is 0. */
#define DROP_VD_LOG_ALPHA_MIN (-8.0)
#define DROP_VD_LOG_ALPHA_MAX 8.0

/* Added to the local-reparameterization variance before its square root, so
 * that a row of zero inputs has a finite gradient. */
#define DROP_VD_VAR_EPSILON 1e-8

/* The variants that a --dropout option selects. DROP_NONE means no dropout
 * layers; DROP_STANDARD is Keras's Dropout. */
enum drop_variant {
	DROP_NONE,
	DROP_STANDARD,
	DROP_ALPHA,
	DROP_GAUSSIAN,
	DROP_SPATIAL_1D,
	DROP_CONNECT,
	DROP_CONCRETE,
	DROP_VARIATIONAL,
};
#define DROP_VARIANT_COUNT 8

/* A parsed --dropout NAME[:RATE] option. */
struct drop_spec {
	enum drop_variant variant;
	float rate; /* in [0, 1); the initial rate for learned variants */
};

/* Returns the variant's name as --dropout and the model JSON spell it
 * ("none", "Dropout", "AlphaDropout", ...), or NULL outside the enum. */
const char *drop_variant_name(enum drop_variant v);

/* Returns the rate a variant uses when --dropout gives none. */
float drop_default_rate(enum drop_variant v);

/* Parses "NAME[:RATE]". NAME is a JSON kind name or a short alias (none,
 * dropout, alpha, gaussian, spatial, dropconnect, concrete, variational),
 * case-insensitive; RATE is a decimal in [0, 1). Returns 0 and fills *out,
 * or -1 with *out untouched and one line naming the problem and the valid
 * choices in err (when err_len > 0). */
int drop_parse_spec(const char *text, struct drop_spec *out, char *err, size_t err_len);

/* The largest number of layers drop_spec_layers() writes. */
#define DROP_SPEC_MAX_LAYERS 5

/* Fills layers[0..DROP_SPEC_MAX_LAYERS) with the reference network (Dense 64
 * relu, Dense 64 relu, Dense 3 softmax) regularized by spec, for an input of
 * history frames of 6 features, and returns the number of layers.
 *   none: no dropout layers
 *   Dropout, GaussianDropout: after each hidden layer, as in the reference
 *   AlphaDropout: after each hidden layer, whose activation becomes selu
 *     (and its kernel LeCun normal, through NN_INIT_AUTO)
 *   SpatialDropout1D: on the [history][6] input only
 *   DropConnect, ConcreteDropout, VariationalDropout: the second and third
 *     Dense layers become that kind, so each drops the previous layer's
 *     units (or weights) as the reference's Dropout layers do
 * Returns -1 for history < 1 or an invalid spec. */
int drop_spec_layers(const struct drop_spec *spec, int history,
		     struct nn_layer_desc layers[DROP_SPEC_MAX_LAYERS]);

/* Draws keep[k] = 1 with probability 1 - rate and 0 otherwise, for count
 * entries. Each decision compares 32 random bits with rate * 2^32, two
 * decisions per 64-bit draw, the same convention as nn's Dropout. */
void drop_bernoulli_keep(float rate, unsigned char *keep, size_t count, struct rng *r);

/* ---- AlphaDropout ------------------------------------------------------
 * Keras's definition: a dropped unit becomes DROP_ALPHA_P, and then every
 * unit goes through y = a x + b with a = ((1 - rate)(1 + rate alpha_p^2))^-1/2
 * and b = -a alpha_p rate, which keeps zero mean and unit variance. */

/* Sets the affine correction a and b of a rate in [0, 1). */
void drop_alpha_affine(float rate, double *a, double *b);

/* Training forward over count units: keep receives the mask. x and y may be
 * the same buffer. */
void drop_alpha_forward(float rate, const float *x, float *y, unsigned char *keep, size_t count,
			struct rng *r);

/* dx = a * keep * dy; dx may alias dy. */
void drop_alpha_backward(float rate, const unsigned char *keep, const float *dy, float *dx,
			 size_t count);

/* ---- GaussianDropout ---------------------------------------------------
 * Multiplies every unit by noise drawn from N(1, rate / (1 - rate)). */

/* Training forward: noise receives the factors. x and y may be the same. */
void drop_gaussian_forward(float rate, const float *x, float *y, float *noise, size_t count,
			   struct rng *r);

/* dx = noise * dy; dx may alias dy. */
void drop_gaussian_backward(const float *noise, const float *dy, float *dx, size_t count);

/* ---- SpatialDropout1D --------------------------------------------------
 * The input is [n][steps][channels]; one keep decision per row and channel
 * drops that channel in every step, and kept values are scaled 1/(1-rate). */

/* Training forward: keep receives [n][channels]. x and y may be the same. */
void drop_spatial_forward(float rate, int n, int steps, int channels, const float *x, float *y,
			  unsigned char *keep, struct rng *r);

/* Backward of drop_spatial_forward; dx may alias dy. */
void drop_spatial_backward(float rate, int n, int steps, int channels, const unsigned char *keep,
			   const float *dy, float *dx);

/* ---- DropConnect -------------------------------------------------------
 * A Dense layer whose weights, rather than units, are dropped: every row i
 * draws its own mask M_i [in][out] (Wan et al. 2013) and computes
 * z_i = x_i (W * M_i / (1 - rate)) + b. The bias is never dropped. */

/* Training forward: z [n][out] receives pre-activations, keep [n][in][out]
 * the masks. b may be NULL. */
void drop_connect_forward(float rate, int n, int in, int out, const float *x, const float *w,
			  const float *b, unsigned char *keep, float *z, struct rng *r);

/* Backward from dz [n][out]: sets dw [in][out], db [out] (when not NULL) and
 * dx [n][in] (when not NULL). */
void drop_connect_backward(float rate, int n, int in, int out, const float *x, const float *w,
			   const unsigned char *keep, const float *dz, float *dw, float *db,
			   float *dx);

/* ---- ConcreteDropout ---------------------------------------------------
 * A Dense layer whose input goes through dropout with a learned rate
 * p = sigmoid(p_logit) (Gal, Hron and Kendall 2017). Training replaces the
 * Bernoulli mask with its Concrete relaxation at temperature t:
 *   drop = sigmoid((p_logit + log u - log(1 - u)) / t),  u ~ U(0, 1)
 *   x'   = x * (1 - drop) / (1 - p)
 * so the rate receives a gradient. The regularizer, per training sample, is
 *   wr * sum(W^2) / (1 - p) + dr * in * (p log p + (1 - p) log(1 - p))
 * with wr = l^2 / N and dr = 2 / N for N training samples (tau = 1). */

/* Returns sigmoid(p_logit), the layer's dropout rate. */
double drop_concrete_rate(float p_logit);

/* Returns logit(rate), the p_logit of a rate in (0, 1). */
float drop_concrete_logit(double rate);

/* Training forward over the layer's input x [n][in]: xd receives the
 * dropped input, drop [n][in] the relaxed drop probabilities. x and xd must
 * not overlap. */
void drop_concrete_forward(float p_logit, size_t count, const float *x, float *xd, float *drop,
			   struct rng *r);

/* Backward from dxd, the gradient of the dropped input: sets dx (when not
 * NULL; it may alias dxd) and returns dL/dp_logit. */
double drop_concrete_backward(float p_logit, size_t count, const float *x, const float *drop,
			      const float *dxd, float *dx);

/* Returns the regularizer of a layer with kernel w (count floats) and input
 * width in, and adds its gradients to *dp_logit and dw (dw may be NULL).
 * n_data > 0 is N. */
double drop_concrete_reg(float p_logit, const float *w, size_t count, int in, double n_data,
			 double *dp_logit, float *dw);

/* ---- VariationalDropout ------------------------------------------------
 * A Dense layer with Gaussian multiplicative noise on each weight,
 * w_kj * (1 + sqrt(alpha_k) eps), whose variance alpha_k is learned per
 * input unit as log_alpha[k] (Kingma, Salimans and Welling 2015). Training
 * samples the pre-activations instead of the weights (the local
 * reparameterization):
 *   mu_ij  = sum_k x_ik w_kj + b_j
 *   var_ij = sum_k x_ik^2 alpha_k w_kj^2
 *   z_ij   = mu_ij + sqrt(var_ij + DROP_VD_VAR_EPSILON) * e_ij,  e ~ N(0, 1)
 * The regularizer is the KL divergence to the log-uniform prior in
 * Molchanov, Ashukha and Vetrov's (2017) approximation, summed over the
 * in * out weights and divided by the training size N. */

/* Returns log alpha clipped to [DROP_VD_LOG_ALPHA_MIN, DROP_VD_LOG_ALPHA_MAX]. */
double drop_vd_clip(float log_alpha);

/* Returns the dropout rate alpha / (1 + alpha) equivalent to a log alpha. */
double drop_vd_rate(float log_alpha);

/* Returns the log alpha equivalent to a dropout rate in (0, 1). */
float drop_vd_log_alpha(double rate);

/* Training forward: z [n][out] receives the sampled pre-activations, and
 * noise and sd [n][out] the draws e and the standard deviations that the
 * backward pass needs. b may be NULL. */
void drop_vd_forward(int n, int in, int out, const float *x, const float *w, const float *b,
		     const float *log_alpha, float *z, float *noise, float *sd, struct rng *r);

/* Backward from dz: sets dw [in][out], db [out] (when not NULL), dlog_alpha
 * [in] and dx [n][in] (when not NULL). */
void drop_vd_backward(int n, int in, int out, const float *x, const float *w,
		      const float *log_alpha, const float *noise, const float *sd, const float *dz,
		      float *dw, float *db, float *dlog_alpha, float *dx);

/* Returns the approximate KL of a layer with in noise levels and out units,
 * divided by n_data > 0, and adds its gradient to dlog_alpha [in]. */
double drop_vd_kl(const float *log_alpha, int in, int out, double n_data, float *dlog_alpha);

#endif
