/* nn_driver: runs the network library on a JSON job from stdin and prints
 * the results as JSON, so tests/js/nn_parity.test.mjs can compare them with
 * TF.js. Test-only; the game never runs it.
 *
 * Job: {"model": <nn_from_json description>,
 *       "weights": [[...], ...]   one flat array per tensor, in Keras's
 *                                 get_weights order (kernel, then bias),
 *       "x": [...], "n": rows     optional: eval-mode forward pass,
 *       "steps": [{"x": [...], "y": [...], "n": rows}, ...]
 *                                 optional: one Adam step per batch,
 *                                 one-hot targets}
 * Output: {"y": [...], "losses": [...], "weights": [[...], ...]}
 * Exit status 0 on success; 1 with a message on stderr otherwise. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"

/* Copies a JSON array of numbers into a new float array of exactly count. */
static float *floats_of(json_t *arr, size_t count)
{
	float *v;

	if (!json_is_array(arr) || json_array_size(arr) != count)
		return NULL;
	v = malloc((count ? count : 1) * sizeof *v);
	for (size_t k = 0; v && k < count; k++)
		v[k] = (float)json_number_value(json_array_get(arr, k));
	return v;
}

static json_t *json_of(const float *v, size_t count)
{
	json_t *arr = json_array();

	for (size_t k = 0; k < count; k++)
		json_array_append_new(arr, json_real(v[k]));
	return arr;
}

/* Returns the tensors of layer i in Keras order into t[0..1], with sizes. */
static int layer_tensors(struct nn_model *m, int i, float *t[2], size_t size[2])
{
	int count = 0;
	size_t units = (size_t)nn_layer(m, i)->units;

	if (nn_kernel(m, i)) {
		t[count] = nn_kernel(m, i);
		size[count++] = units * (size_t)nn_layer_inputs(m, i);
	}
	if (nn_bias(m, i)) {
		t[count] = nn_bias(m, i);
		size[count++] = units;
	}
	return count;
}

static int set_weights(struct nn_model *m, json_t *weights)
{
	size_t next = 0;

	for (int i = 0; i < nn_n_layers(m); i++) {
		float *t[2];
		size_t size[2];
		int count = layer_tensors(m, i, t, size);

		for (int j = 0; j < count; j++) {
			float *v = floats_of(json_array_get(weights, next++), size[j]);

			if (!v)
				return -1;
			memcpy(t[j], v, size[j] * sizeof *v);
			free(v);
		}
	}
	return next == json_array_size(weights) ? 0 : -1;
}

static json_t *get_weights(struct nn_model *m)
{
	json_t *out = json_array();

	for (int i = 0; i < nn_n_layers(m); i++) {
		float *t[2];
		size_t size[2];
		int count = layer_tensors(m, i, t, size);

		for (int j = 0; j < count; j++)
			json_array_append_new(out, json_of(t[j], size[j]));
	}
	return out;
}

static int fail(const char *what)
{
	fprintf(stderr, "nn_driver: %s\n", what);
	return 1;
}

int main(void)
{
	json_error_t jerr;
	json_t *job = json_loadf(stdin, 0, &jerr);
	json_t *out = json_object();
	struct nn_model *m = NULL;
	char err[200];
	char *desc;
	int rc;

	if (!job)
		return fail(jerr.text);
	desc = json_dumps(json_object_get(job, "model"), JSON_COMPACT);
	rc = desc ? nn_from_json(&m, desc, 1, err, sizeof err) : NN_ERR_INVALID;
	free(desc);
	if (rc != NN_OK)
		return fail(err);
	if (set_weights(m, json_object_get(job, "weights")) != 0)
		return fail("weights do not match the model");

	json_t *x = json_object_get(job, "x");

	if (x) {
		int n = (int)json_integer_value(json_object_get(job, "n"));
		float *xv = n > 0 ? floats_of(x, (size_t)n * nn_n_inputs(m)) : NULL;
		float *y = malloc((size_t)(n > 0 ? n : 1) * nn_n_outputs(m) * sizeof *y);

		if (!xv || !y || nn_predict(m, xv, n, y) != NN_OK)
			return fail("forward pass failed");
		json_object_set_new(out, "y", json_of(y, (size_t)n * nn_n_outputs(m)));
		free(xv);
		free(y);
	}

	json_t *steps = json_object_get(job, "steps");
	json_t *losses = json_array();
	size_t i;
	json_t *step;

	json_array_foreach(steps, i, step) {
		int n = (int)json_integer_value(json_object_get(step, "n"));
		float *xv = n > 0 ? floats_of(json_object_get(step, "x"),
					      (size_t)n * nn_n_inputs(m)) : NULL;
		float *yv = n > 0 ? floats_of(json_object_get(step, "y"),
					      (size_t)n * nn_n_outputs(m)) : NULL;
		struct nn_data b = { .x = xv, .y = yv, .n = n };
		double loss;

		if (!xv || !yv)
			return fail("a step's x or y does not match the model");
		rc = nn_train_step(m, &b, &loss, NULL);
		if (rc != NN_OK)
			return fail(nn_strerror(rc));
		json_array_append_new(losses, json_real(loss));
		free(xv);
		free(yv);
	}
	json_object_set_new(out, "losses", losses);
	json_object_set_new(out, "weights", get_weights(m));

	json_dumpf(out, stdout, JSON_COMPACT);
	putchar('\n');
	json_decref(out);
	json_decref(job);
	nn_free(m);
	return 0;
}
