/* tfjs_driver: runs ttypong's TF.js exchange from the Node tests.
 *
 *   tfjs_driver export DIR SEED [ACT]
 *                                 write the seeded reference model (6-64-64-3)
 *                                 to DIR, with activation ACT in the hidden
 *                                 layers if given
 *   tfjs_driver import PATH       import PATH (model.json or its directory),
 *                                 read CSV feature rows on standard input and
 *                                 print a header, then one row of
 *                                 probabilities per input row
 *   tfjs_driver header PATH OUT   import PATH and write it as a C header
 *   tfjs_driver reexport PATH DIR [WEB]
 *                                 import PATH and export it to DIR, with the
 *                                 browser page from directory WEB if given
 *   tfjs_driver export-variant DIR KIND
 *                                 write a small model with the dropout layer
 *                                 kind KIND (a JSON kind name) to DIR, then
 *                                 read CSV feature rows on standard input and
 *                                 print that model's probabilities
 *
 * Exit status: 0 on success, 1 on a failed step (message on standard error),
 * 2 on a usage error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn.h"
#include "tfjs.h"

#define DRIVER_INPUTS 6
#define DRIVER_OUTPUTS 3

static const char *const driver_features[DRIVER_INPUTS] = {
	"f1", "f2", "f3", "f4", "f5", "f6",
};
static const char *const driver_classes[DRIVER_OUTPUTS] = { "up", "stay", "down" };

static int driver_usage(void)
{
	fputs("usage: tfjs_driver export DIR SEED [ACT] | import PATH | header PATH OUT | reexport PATH DIR [WEB]"
	      " | export-variant DIR KIND\n", stderr);
	return 2;
}

/* Exports the reference network of nn_reference_layers(), optionally with
 * another hidden activation (act_name may be NULL). */
static int driver_export(const char *dir, const char *seed_text, const char *act_name)
{
	struct nn_layer_desc layers[NN_REFERENCE_LAYERS];
	struct tfjs_meta meta = {
		.model_id = "driver-1",
		.feature_names = driver_features, .n_features = DRIVER_INPUTS,
		.class_names = driver_classes, .n_classes = DRIVER_OUTPUTS,
	};
	struct tfjs_error err;
	struct nn_model *m;
	char *end;
	unsigned long long seed;
	int st;

	errno = 0;
	seed = strtoull(seed_text, &end, 10);
	if (errno || *end || end == seed_text) {
		fprintf(stderr, "tfjs_driver: seed '%s' is not a non-negative integer\n", seed_text);
		return 2;
	}
	nn_reference_layers(layers);
	if (act_name && nn_act_parse(act_name, &layers[0].act) != NN_OK) {
		fprintf(stderr, "tfjs_driver: unknown activation '%s'\n", act_name);
		return 2;
	}
	layers[2].act = layers[0].act;
	st = nn_create(&m, DRIVER_INPUTS, layers, NN_REFERENCE_LAYERS, seed);
	if (st != NN_OK) {
		fprintf(stderr, "tfjs_driver: cannot create the model: %s\n", nn_strerror(st));
		return 1;
	}
	/* Nonzero biases, so that a bias lost on the way shows in predictions. */
	for (int i = 0; i < nn_n_layers(m); i++)
		for (int j = 0; nn_bias(m, i) && j < nn_layer(m, i)->units; j++)
			nn_bias(m, i)[j] = 0.01f * (float)((j * 7 + i) % 11 - 5);
	st = tfjs_export_dir(m, dir, &meta, NULL, &err);
	nn_free(m);
	if (st) {
		fprintf(stderr, "tfjs_driver: %s\n", err.message);
		return 1;
	}
	return 0;
}

static int driver_import(const char *path)
{
	struct tfjs_error err;
	struct nn_model *m;
	long rows;
	int st;

	st = tfjs_import_file(&m, path, DRIVER_INPUTS, DRIVER_OUTPUTS, NULL, &err);
	if (st) {
		fprintf(stderr, "tfjs_driver: %s\n", err.message);
		return 1;
	}
	rows = tfjs_csv_predict(m, stdin, stdout, NULL, driver_classes, &err);
	nn_free(m);
	if (rows < 0) {
		fprintf(stderr, "tfjs_driver: stdin: %s\n", err.message);
		return 1;
	}
	return 0;
}

static int driver_header(const char *path, const char *out)
{
	struct tfjs_error err;
	struct nn_model *m;
	int st;

	st = tfjs_import_file(&m, path, DRIVER_INPUTS, DRIVER_OUTPUTS, NULL, &err);
	if (!st)
		st = tfjs_write_c_header(m, out, "pong_model", NULL, &err);
	nn_free(m);
	if (st) {
		fprintf(stderr, "tfjs_driver: %s\n", err.message);
		return 1;
	}
	return 0;
}

static int driver_reexport(const char *path, const char *dir, const char *web)
{
	struct tfjs_info info;
	struct tfjs_error err;
	struct nn_model *m;
	int st;

	st = tfjs_import_file(&m, path, DRIVER_INPUTS, DRIVER_OUTPUTS, &info, &err);
	if (!st) {
		struct tfjs_meta meta = {
			.model_id = info.model_id[0] ? info.model_id : "reexported",
			.class_names = driver_classes, .n_classes = DRIVER_OUTPUTS,
		};

		st = tfjs_export_dir(m, dir, &meta, web, &err);
	}
	nn_free(m);
	if (st) {
		fprintf(stderr, "tfjs_driver: %s\n", err.message);
		return 1;
	}
	return 0;
}

/* A model on 6 inputs with dropout layer kind in it: noise layers sit after
 * a hidden Dense layer (SpatialDropout1D on the input, as 2 steps of 3),
 * and Dense-like kinds replace the last two Dense layers. Learned rates are
 * moved off their initial values so that an export must carry them. */
static int driver_export_variant(const char *dir, const char *kind_name)
{
	struct nn_layer_desc layers[3] = {
		{ .kind = NN_DENSE, .units = 8, .act = NN_ACT_SELU, .use_bias = 1 },
		{ .rate = 0.3f, .steps = 2 },
		{ .kind = NN_DENSE, .units = DRIVER_OUTPUTS, .act = NN_ACT_SOFTMAX, .use_bias = 1 },
	};
	struct tfjs_meta meta = {
		.model_id = "driver-variant",
		.feature_names = driver_features, .n_features = DRIVER_INPUTS,
		.class_names = driver_classes, .n_classes = DRIVER_OUTPUTS,
	};
	struct tfjs_error err;
	struct nn_model *m;
	enum nn_kind kind;
	long rows;
	int st;

	if (nn_kind_parse(kind_name, &kind) != NN_OK || kind == NN_DENSE) {
		fprintf(stderr, "tfjs_driver: '%s' is not a dropout layer kind\n", kind_name);
		return 2;
	}
	if (kind == NN_SPATIAL_DROPOUT_1D) {
		layers[1] = layers[0];
		layers[0] = (struct nn_layer_desc){ .kind = kind, .rate = 0.3f, .steps = 2 };
	} else if (nn_kind_is_dense(kind)) {
		layers[1] = (struct nn_layer_desc){ .kind = kind, .units = 5, .act = NN_ACT_TANH,
						    .use_bias = 1, .rate = 0.3f };
		layers[2].kind = kind;
		layers[2].rate = 0.3f;
	} else {
		layers[1].kind = kind;
	}
	st = nn_create(&m, DRIVER_INPUTS, layers, 3, 77);
	if (st != NN_OK) {
		fprintf(stderr, "tfjs_driver: cannot create the model: %s\n", nn_strerror(st));
		return 1;
	}
	for (int i = 0; i < nn_n_layers(m); i++) {
		int count;
		float *p = nn_drop_params(m, i, &count);

		for (int k = 0; p && k < count; k++)
			p[k] += 0.1f * (float)(k % 5) - 0.3f;
	}
	st = tfjs_export_dir(m, dir, &meta, NULL, &err);
	rows = st ? -1 : tfjs_csv_predict(m, stdin, stdout, NULL, driver_classes, &err);
	nn_free(m);
	if (st || rows < 0) {
		fprintf(stderr, "tfjs_driver: %s\n", err.message);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "export") == 0)
		return driver_export(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	if (argc == 3 && strcmp(argv[1], "import") == 0)
		return driver_import(argv[2]);
	if (argc == 4 && strcmp(argv[1], "header") == 0)
		return driver_header(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "export-variant") == 0)
		return driver_export_variant(argv[2], argv[3]);
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "reexport") == 0)
		return driver_reexport(argv[2], argv[3], argc == 5 ? argv[4] : NULL);
	return driver_usage();
}
