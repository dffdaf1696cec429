/* nn: a small feed-forward network library with Keras and TF.js numerics.
 *
 * A model is a sequence of layers (Dense, Dropout) on a fixed input width,
 * built from code or from a JSON description. It trains with mini-batch
 * backpropagation on categorical cross-entropy, with Adam or SGD, and saves
 * to a byte buffer whose layout is documented at the top of nn.c.
 *
 * Matrices are row-major float32. Every function that touches a model's
 * buffers assumes one thread per model; clone a model to use it from two. */
#ifndef TTYPONG_NN_H
#define TTYPONG_NN_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

/* Statuses: NN_OK is 0 and every error is negative. */
enum {
	NN_OK = 0,
	NN_ERR_NOMEM = -1,     /* an allocation failed */
	NN_ERR_INVALID = -2,   /* an argument or description is invalid */
	NN_ERR_NONFINITE = -3, /* a loss, gradient or weight is NaN or infinite */
	NN_ERR_FORMAT = -4,    /* a buffer is not a saved model or is corrupt */
	NN_ERR_VERSION = -5,   /* a saved model has a version this build cannot read */
	NN_ERR_TRUNCATED = -6, /* a buffer ends before its content does */
};

/* Returns a static description of a status, e.g. "out of memory". */
const char *nn_strerror(int status);

enum nn_act { NN_ACT_LINEAR, NN_ACT_RELU, NN_ACT_SELU, NN_ACT_TANH, NN_ACT_SIGMOID, NN_ACT_SOFTMAX };

/* Layer kinds. New kinds are appended, so the numbers of existing kinds
 * never change. The dropout variants after NN_DROPOUT are computed by the
 * drop module; DropConnect, ConcreteDropout and VariationalDropout are Dense
 * layers with dropout inside, and in eval mode they are plain Dense layers. */
enum nn_kind {
	NN_DENSE,
	NN_DROPOUT,
	NN_ALPHA_DROPOUT,
	NN_GAUSSIAN_DROPOUT,
	NN_SPATIAL_DROPOUT_1D,
	NN_DROP_CONNECT,
	NN_CONCRETE_DROPOUT,
	NN_VARIATIONAL_DROPOUT,
};

enum nn_mode { NN_EVAL, NN_TRAIN };

/* Kernel initializers. NN_INIT_AUTO picks LeCun normal for selu layers, as
 * self-normalizing networks need, and Glorot uniform otherwise. Keras's Dense
 * uses Glorot uniform for every activation, so a Keras selu layer needs
 * NN_INIT_GLOROT_UNIFORM to start from the same distribution. */
enum nn_init { NN_INIT_AUTO, NN_INIT_GLOROT_UNIFORM, NN_INIT_LECUN_NORMAL };

#define NN_NAME_MAX 64

/* Description of one layer. A zeroed description plus the fields that its
 * kind uses is always valid, and fields added for future kinds go at the end
 * with 0 meaning their default, so existing initializers keep working.
 *   Dense:   units, act, use_bias, init
 *   Dropout, AlphaDropout, GaussianDropout: rate in [0, 1)
 *   SpatialDropout1D: rate in [0, 1), steps (the input is [steps][channels]
 *            with channels = inputs / steps; 0 means 1)
 *   DropConnect: units, act, use_bias, init, rate in [0, 1)
 *   ConcreteDropout, VariationalDropout: units, act, use_bias, init, and
 *            rate in (0, 1), the initial rate of the learned dropout
 * use_bias 0, as in a zeroed description, means no bias: unlike Keras's
 * Dense (and this library's JSON), where use_bias defaults to true, a Keras
 * Dense layer needs use_bias = 1 here.
 * name is optional: "" gets an automatic name (dense_1, dropout_1, ...).
 * Names are at most NN_NAME_MAX - 1 characters from [A-Za-z0-9_.-] and are
 * unique within a model. */
struct nn_layer_desc {
	enum nn_kind kind;
	int units;
	enum nn_act act;
	int use_bias;
	float rate;
	char name[NN_NAME_MAX];
	enum nn_init init;
	int steps;
};

struct nn_model;

/* Builds a model on n_inputs features from n_layers descriptions and
 * initializes its weights from seed: the same seed gives the same weights
 * bit for bit. The model's own generator, used by training for dropout and
 * shuffling, continues from the same seed. Returns NN_OK and sets *out, or
 * NN_ERR_INVALID (bad description) or NN_ERR_NOMEM with *out NULL. The model
 * starts with Adam at Keras's defaults as its optimizer. */
int nn_create(struct nn_model **out, int n_inputs, const struct nn_layer_desc *layers,
	      int n_layers, uint64_t seed);

/* Frees a model and everything it owns. NULL is allowed. */
void nn_free(struct nn_model *m);

/* Deep-copies a model: weights, optimizer state and generator state. */
int nn_clone(struct nn_model **out, const struct nn_model *m);

int nn_n_inputs(const struct nn_model *m);
int nn_n_outputs(const struct nn_model *m);
int nn_n_layers(const struct nn_model *m);

/* Returns layer i's description with its name filled in, or NULL if i is
 * out of range. The pointer lives as long as the model. */
const struct nn_layer_desc *nn_layer(const struct nn_model *m, int i);

/* Returns the width of layer i's input (its fan-in), or -1 if out of range. */
int nn_layer_inputs(const struct nn_model *m, int i);

/* Returns layer i's kernel, [inputs][units] row-major as Keras stores it,
 * or NULL if the layer has none. Callers may write weights through it. */
float *nn_kernel(struct nn_model *m, int i);

/* Returns layer i's bias [units], or NULL if the layer has none. */
float *nn_bias(struct nn_model *m, int i);

/* Returns the gradients of the last nn_loss_grad or nn_train_step, in the
 * same shapes as nn_kernel and nn_bias, or NULL where those are NULL. */
float *nn_kernel_grad(struct nn_model *m, int i);
float *nn_bias_grad(struct nn_model *m, int i);

/* Returns the number of trainable floats in the model. */
size_t nn_n_params(const struct nn_model *m);

/* Returns the learned dropout parameters of layer i and sets *count, or
 * NULL with *count 0 for a layer without them: ConcreteDropout has one,
 * p_logit (the rate is its sigmoid); VariationalDropout has one log alpha
 * per input unit. Callers may write through the pointer. */
float *nn_drop_params(struct nn_model *m, int i, int *count);

/* Returns the gradients of nn_drop_params after nn_loss_grad, or NULL. */
float *nn_drop_params_grad(struct nn_model *m, int i);

/* Writes layer i's current dropout rates to rates (at most cap of them) and
 * returns how many it has: 1 for Dropout, AlphaDropout, GaussianDropout,
 * SpatialDropout1D, DropConnect and ConcreteDropout (its learned rate),
 * inputs for VariationalDropout (alpha / (1 + alpha) per input unit), and 0
 * for Dense or an index out of range. rates may be NULL when cap is 0, to
 * ask for the count. */
int nn_drop_rates(const struct nn_model *m, int i, float *rates, int cap);

/* Sets N, the number of training samples that scales the regularizers of
 * ConcreteDropout and VariationalDropout (per-sample loss = mean
 * cross-entropy + regularizer / N). nn_fit sets it to its training rows;
 * until set, each batch's size is used. Returns NN_OK or NN_ERR_INVALID
 * (n_data < 1 or not finite). */
int nn_set_data_size(struct nn_model *m, double n_data);

/* Warnings about a valid but doubtful model, as bits of nn_warnings(). */
enum nn_warning {
	NN_WARN_ALPHA_ACTIVATION = 1u << 0, /* AlphaDropout after a non-selu layer */
	NN_WARN_ALPHA_INIT = 1u << 1,       /* selu before AlphaDropout, Glorot kernel */
};

/* Returns the model's warning bits and, when layer is not NULL, the index
 * of the first layer that raised one (-1 when none). The library never
 * prints them; the command line decides. */
unsigned nn_warnings(const struct nn_model *m, int *layer);

/* Returns a one-line description of one warning bit, or NULL. */
const char *nn_warning_text(unsigned bit);

/* Returns Keras's name of an activation ("linear", "relu", "selu", "tanh",
 * "sigmoid", "softmax"), or NULL for a value outside the enum. */
const char *nn_act_name(enum nn_act a);

/* Parses a Keras activation name. Returns NN_OK or NN_ERR_INVALID. */
int nn_act_parse(const char *name, enum nn_act *out);

/* Returns Keras's class name of a layer kind ("Dense", "Dropout"), or NULL. */
const char *nn_kind_name(enum nn_kind k);

/* Returns 1 for the kinds with a kernel and bias, which compute as a Dense
 * layer in eval mode (Dense, DropConnect, ConcreteDropout,
 * VariationalDropout), and 0 for the others. Exporters write these as Dense
 * layers with nn_kernel and nn_bias. */
int nn_kind_is_dense(enum nn_kind k);

/* Parses a Keras class name of a layer kind. Returns NN_OK or NN_ERR_INVALID. */
int nn_kind_parse(const char *name, enum nn_kind *out);

/* Fills layers[0..4] with the reference model on 6 inputs: Dense(64, relu),
 * Dropout(0.5), Dense(64, relu), Dropout(0.5), Dense(3, softmax). Returns the
 * number of layers, 5. */
#define NN_REFERENCE_INPUTS 6
#define NN_REFERENCE_LAYERS 5
int nn_reference_layers(struct nn_layer_desc layers[NN_REFERENCE_LAYERS]);

/* Runs the model in eval mode on n rows: x is [n][inputs], y [n][outputs].
 * The first call at a batch size larger than any before allocates scratch
 * space; later calls allocate nothing. Dropout layers are the identity.
 * Inputs are not checked: a NaN or infinite feature propagates as in TF.js
 * (relu keeps NaN), so the affected rows come out NaN.
 * Returns NN_OK, NN_ERR_INVALID (n < 1 or NULL pointers) or NN_ERR_NOMEM. */
int nn_predict(struct nn_model *m, const float *x, int n, float *y);

/* Monte Carlo dropout: runs passes >= 1 forward passes of the same n rows
 * with every dropout layer in training mode, drawing from rng (or the
 * model's generator when NULL), and writes the mean and the standard
 * deviation (over passes, divided by passes) of each output to mean and
 * std, both [n][outputs]. std may be NULL. Allocates only the first time a
 * batch size is larger than any before. Returns NN_OK, NN_ERR_INVALID or
 * NN_ERR_NOMEM. */
int nn_mc_predict(struct nn_model *m, const float *x, int n, int passes, struct rng *rng,
		  float *mean, float *std);

/* Runs the model in the given mode. In NN_TRAIN mode dropout layers draw
 * their masks from rng, or from the model's own generator when rng is NULL;
 * in NN_EVAL mode this is nn_predict and rng is unused. */
int nn_forward(struct nn_model *m, const float *x, int n, enum nn_mode mode, struct rng *rng,
	       float *y);

/* A batch or data set: n rows of inputs x [n][inputs] and targets as either
 * one-hot (or soft) rows y [n][outputs] or class ids [n]. Exactly one of y
 * and ids is non-NULL. */
struct nn_data {
	const float *x;
	const float *y;
	const int *ids;
	int n;
};

/* Computes the mean categorical cross-entropy of a batch and its gradients
 * without changing weights or optimizer state. In NN_TRAIN mode the loss
 * also includes the regularizers of ConcreteDropout and VariationalDropout
 * layers (see nn_set_data_size); in NN_EVAL mode it is the cross-entropy
 * alone. Probabilities are rescaled to
 * sum 1 and clipped to [1e-7, 1 - 1e-7] as Keras does, so the loss stays
 * finite, and a clipped probability passes no gradient. In NN_TRAIN mode
 * dropout draws from rng (or the model's generator when NULL). Sets *loss
 * (and *acc, the fraction of rows whose largest output is the target class,
 * when acc is not NULL). Returns NN_OK, NN_ERR_INVALID, NN_ERR_NOMEM or
 * NN_ERR_NONFINITE (the loss or a gradient is NaN or infinite). */
int nn_loss_grad(struct nn_model *m, const struct nn_data *batch, enum nn_mode mode,
		 struct rng *rng, double *loss, double *acc);

enum nn_optim_kind { NN_OPTIM_ADAM, NN_OPTIM_SGD };

/* Optimizer settings. Adam uses lr, beta1, beta2 and epsilon as TF.js's
 * AdamOptimizer does; SGD uses lr, momentum and nesterov as Keras's SGD
 * does. */
struct nn_optim {
	enum nn_optim_kind kind;
	double lr;
	double beta1;
	double beta2;
	double epsilon;
	double momentum;
	int nesterov;
};

/* Returns Adam at Keras's defaults: lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-7. */
struct nn_optim nn_optim_adam(void);

/* Returns SGD with the given learning rate and momentum, without Nesterov. */
struct nn_optim nn_optim_sgd(double lr, double momentum);

/* Sets the optimizer and resets its state (moments, iteration count).
 * Returns NN_OK, NN_ERR_INVALID (a setting out of range) or NN_ERR_NOMEM. */
int nn_set_optim(struct nn_model *m, const struct nn_optim *opt);

/* Returns the optimizer settings and the number of steps it has taken. */
struct nn_optim nn_get_optim(const struct nn_model *m);
uint64_t nn_optim_steps(const struct nn_model *m);

/* Runs one training step on a batch: forward in NN_TRAIN mode with the
 * model's generator, backward, and one optimizer update. If the loss, a
 * gradient or an updated value is NaN or infinite, returns NN_ERR_NONFINITE.
 * Weights, optimizer state and the model's generator then stay as they
 * were, and only the gradients change. Sets *loss and *acc (either may be NULL)
 * to the batch's values before the update. */
int nn_train_step(struct nn_model *m, const struct nn_data *batch, double *loss, double *acc);

/* Computes the mean loss and accuracy of a data set in eval mode, in batches
 * of batch_size rows (0 means 256), and stores them in *loss and *acc; either
 * may be NULL, as in nn_train_step. Returns NN_OK, NN_ERR_INVALID (NULL m or
 * data, data that does not match the model, batch_size < 0), NN_ERR_NOMEM,
 * or NN_ERR_NONFINITE when the mean loss is NaN or infinite, for example
 * from a NaN input; the figures are stored in that case too. */
int nn_evaluate(struct nn_model *m, const struct nn_data *data, int batch_size, double *loss,
		double *acc);

/* Figures of one epoch of nn_fit. Losses and accuracies of the training
 * data are sample-weighted means over the epoch's batches, as Keras reports
 * them. has_val is 0 when there is no validation data. partial is 1 when a
 * budget stopped the epoch before its last batch. */
struct nn_epoch_stats {
	int epoch;
	int batches;
	double loss;
	double acc;
	int has_val;
	double val_loss;
	double val_acc;
	int partial;
};

/* Called after each epoch; a non-zero return stops training. */
typedef int (*nn_epoch_fn)(const struct nn_epoch_stats *stats, void *user);

/* Settings of nn_fit. A zeroed struct with epochs and batch_size set is
 * valid. validation_split in [0, 1) holds out the last fraction of the rows,
 * taken before shuffling as Keras does. shuffle reorders the training rows
 * every epoch with the model's generator. budget_ms > 0 stops training at
 * the first batch boundary after that many milliseconds of monotonic time,
 * measured from the call; the validation pass of that last epoch still runs
 * after it. */
struct nn_fit_opts {
	int epochs;
	int batch_size;
	double validation_split;
	int shuffle;
	double budget_ms;
	nn_epoch_fn on_epoch;
	void *user;
};

/* Reason nn_fit stopped, and the outcome it reports. */
enum nn_stop { NN_STOP_DONE, NN_STOP_CALLBACK, NN_STOP_BUDGET };

struct nn_fit_result {
	int epochs;             /* epochs started, including a partial one */
	uint64_t steps;         /* optimizer steps taken */
	enum nn_stop stop;
	struct nn_epoch_stats last;
};

/* Trains the model on data. Returns NN_OK, NN_ERR_INVALID, NN_ERR_NOMEM or
 * NN_ERR_NONFINITE; on NN_ERR_NONFINITE the failing batch changed nothing and
 * the earlier batches stay applied. result may be NULL. */
int nn_fit(struct nn_model *m, const struct nn_data *data, const struct nn_fit_opts *opts,
	   struct nn_fit_result *result);

/* Saves the layer description, weights, optimizer settings and state and the
 * generator state into a malloc'd buffer (*buf, *len) that the caller frees.
 * Returns NN_OK or NN_ERR_NOMEM. */
int nn_save(const struct nn_model *m, unsigned char **buf, size_t *len);

/* Rebuilds a model from nn_save's buffer. Returns NN_OK, NN_ERR_FORMAT (not a
 * model, or inconsistent), NN_ERR_VERSION, NN_ERR_TRUNCATED, NN_ERR_NONFINITE
 * or NN_ERR_NOMEM, with *out NULL on error. Never reads past buf + len. */
int nn_load(struct nn_model **out, const unsigned char *buf, size_t len);

/* Builds a model from a JSON description, e.g.
 *   {"inputs":6,"layers":[{"kind":"Dense","units":64,"activation":"relu",
 *    "use_bias":true},{"kind":"Dropout","rate":0.5}, ...]}
 * Dense keys: units (required), activation ("linear"), use_bias (true),
 * kernel_initializer ("glorot_uniform" or "lecun_normal"), name. Dropout,
 * AlphaDropout and GaussianDropout keys: rate (required), name.
 * SpatialDropout1D adds steps (1). DropConnect, ConcreteDropout and
 * VariationalDropout take Dense's keys plus rate (required). Unknown keys
 * are errors. On error returns
 * NN_ERR_INVALID (or NN_ERR_NOMEM) and writes one line naming the problem to
 * err (when err_len > 0). */
int nn_from_json(struct nn_model **out, const char *json, uint64_t seed, char *err,
		 size_t err_len);

/* Returns the model's description as compact JSON in nn_from_json's format,
 * with every name, or NULL when out of memory. The caller frees it. */
char *nn_to_json(const struct nn_model *m);

#endif
