/* Tests of the TF.js Layers exchange, the CSV rows and the C header. Models
 * are written by the tests into temporary directories; the Keras 3 fixtures
 * under tests/data/tfjs/ come from tests/data/tfjs/make_fixtures.py. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nn.h"
#include "tfjs.h"

#define TEST_INPUTS 6
#define TEST_OUTPUTS 3

static const char *const test_features[TEST_INPUTS] = { "a", "b", "c", "d", "e", "f" };
static const char *const test_classes[TEST_OUTPUTS] = { "up", "stay", "down" };

/* ---- helpers ---- */

static char test_dir[64];

static void make_test_dir(void)
{
	strcpy(test_dir, "/tmp/ttypong-tfjs-XXXXXX");
	cr_assert_not_null(mkdtemp(test_dir), "cannot create a temporary directory");
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

static void remove_test_dir(void)
{
	nftw(test_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

TestSuite(tfjs, .init = make_test_dir, .fini = remove_test_dir);

static const char *in_test_dir(const char *name)
{
	static char paths[4][512];
	static int next;
	char *p = paths[next++ % 4];

	snprintf(p, 512, "%s/%s", test_dir, name);
	return p;
}

static void write_bytes(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	cr_assert_not_null(f, "cannot create %s", path);
	cr_assert_eq(fwrite(data, 1, len, f), len, "short write to %s", path);
	fclose(f);
}

static void write_text(const char *path, const char *text)
{
	write_bytes(path, text, strlen(text));
}

/* Returns a copy of text with the first occurrence of from replaced by to. */
static char *replace_first(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	char *out;

	cr_assert_not_null(at, "fixture text lacks '%s'", from);
	out = malloc(strlen(text) + strlen(to) + 1);
	cr_assert_not_null(out, "out of memory");
	memcpy(out, text, (size_t)(at - text));
	strcpy(out + (at - text), to);
	strcat(out, at + strlen(from));
	return out;
}

/* The seeded network of the game: Dense 64 relu, Dropout 0.5, Dense 64 relu,
 * Dropout 0.5, Dense 3 softmax, with nonzero biases. */
static struct nn_model *make_model(uint64_t seed)
{
	struct nn_layer_desc layers[NN_REFERENCE_LAYERS];
	struct nn_model *m = NULL;

	nn_reference_layers(layers);
	cr_assert_eq(nn_create(&m, TEST_INPUTS, layers, NN_REFERENCE_LAYERS, seed), NN_OK, "nn_create failed");
	for (int i = 0; i < nn_n_layers(m); i++)
		for (int j = 0; nn_bias(m, i) && j < nn_layer(m, i)->units; j++)
			nn_bias(m, i)[j] = 0.01f * (float)(j % 7) - 0.03f;
	return m;
}

static size_t kernel_size(struct nn_model *m, int i)
{
	return (size_t)nn_layer_inputs(m, i) * (size_t)nn_layer(m, i)->units;
}

static void assert_same_model(struct nn_model *a, struct nn_model *b)
{
	cr_assert_eq(nn_n_layers(a), nn_n_layers(b), "layer counts differ");
	cr_assert_eq(nn_n_inputs(a), nn_n_inputs(b), "input counts differ");
	for (int i = 0; i < nn_n_layers(a); i++) {
		const struct nn_layer_desc *x = nn_layer(a, i), *y = nn_layer(b, i);

		cr_assert_eq(x->kind, y->kind, "layer %d kind differs", i);
		if (x->kind == NN_DROPOUT) {
			cr_assert_eq(x->rate, y->rate, "layer %d rate differs", i);
			continue;
		}
		cr_assert_eq(x->units, y->units, "layer %d units differ", i);
		cr_assert_eq(x->act, y->act, "layer %d activation differs", i);
		cr_assert_eq(x->use_bias, y->use_bias, "layer %d use_bias differs", i);
		cr_assert_eq(memcmp(nn_kernel(a, i), nn_kernel(b, i), kernel_size(a, i) * sizeof(float)), 0,
			     "layer %d kernel differs", i);
		if (x->use_bias)
			cr_assert_eq(memcmp(nn_bias(a, i), nn_bias(b, i), (size_t)x->units * sizeof(float)), 0,
				     "layer %d bias differs", i);
	}
}

static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	cr_assert_not_null(d, "cannot list %s", dir);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* ---- export and import ---- */

Test(tfjs, export_import_exact)
{
	struct nn_model *m = make_model(42), *back = NULL;
	struct tfjs_meta meta = { "v7", test_features, TEST_INPUTS, test_classes, TEST_OUTPUTS };
	struct tfjs_info info;
	struct tfjs_error err;
	const char *dir = in_test_dir("model");

	cr_assert_eq(tfjs_export_dir(m, dir, &meta, NULL, &err), TFJS_OK, "export failed: %s", err.message);
	cr_assert_eq(tfjs_import_dir(&back, dir, TEST_INPUTS, TEST_OUTPUTS, &info, &err), TFJS_OK,
		     "import failed: %s", err.message);
	assert_same_model(m, back);
	cr_assert_str_eq(nn_layer(back, 0)->name, "dense_1", "first Dense layer name");
	cr_assert_str_eq(nn_layer(back, 3)->name, "dropout_2", "second Dropout layer name");
	cr_assert_eq(info.has_meta, 1, "metadata found");
	cr_assert_str_eq(info.model_id, "v7", "model id");
	cr_assert_eq(info.n_features, TEST_INPUTS, "feature count");
	cr_assert_str_eq(info.feature_names[5], "f", "last feature name");
	cr_assert_eq(info.n_classes, TEST_OUTPUTS, "class count");
	cr_assert_str_eq(info.class_names[2], "down", "class 2 name");
	cr_assert(strncmp(info.generated_by, "ttypong", 7) == 0, "generatedBy is '%s'", info.generated_by);
	nn_free(m);
	nn_free(back);
}

Test(tfjs, import_model_json_path)
{
	struct nn_model *m = make_model(1), *back = NULL;
	struct tfjs_error err;

	cr_assert_eq(tfjs_export_dir(m, in_test_dir("m"), NULL, NULL, &err), TFJS_OK, "export: %s", err.message);
	cr_assert_eq(tfjs_import_file(&back, in_test_dir("m/model.json"), TEST_INPUTS, TEST_OUTPUTS, NULL, &err),
		     TFJS_OK, "import of model.json: %s", err.message);
	assert_same_model(m, back);
	nn_free(back);
	cr_assert_eq(tfjs_import_file(&back, in_test_dir("m"), TEST_INPUTS, TEST_OUTPUTS, NULL, &err),
		     TFJS_OK, "import of the directory: %s", err.message);
	assert_same_model(m, back);
	nn_free(back);
	nn_free(m);
}

Test(tfjs, export_replaces_old_model)
{
	struct nn_model *a = make_model(1), *b = make_model(2), *back = NULL;
	struct tfjs_error err;
	const char *dir = in_test_dir("model");

	cr_assert_eq(tfjs_export_dir(a, dir, NULL, NULL, &err), TFJS_OK, "first export: %s", err.message);
	cr_assert_eq(tfjs_export_dir(b, dir, NULL, NULL, &err), TFJS_OK, "second export: %s", err.message);
	cr_assert_eq(tfjs_import_dir(&back, dir, TEST_INPUTS, TEST_OUTPUTS, NULL, &err), TFJS_OK, "import: %s", err.message);
	assert_same_model(b, back);
	cr_assert_eq(count_entries(test_dir), 1, "temporary or old directories were left beside the model");
	cr_assert_eq(count_entries(dir), 2, "the model directory holds model.json and one weight file");
	nn_free(a);
	nn_free(b);
	nn_free(back);
}

Test(tfjs, export_keeps_foreign_dir)
{
	struct nn_model *m = make_model(1);
	struct tfjs_error err;
	const char *dir = in_test_dir("notes");

	cr_assert_eq(mkdir(dir, 0755), 0, "mkdir");
	write_text(in_test_dir("notes/todo.txt"), "keep me");
	cr_assert_eq(tfjs_export_dir(m, dir, NULL, NULL, &err), TFJS_ERR_IO, "export into a foreign directory");
	cr_assert(strstr(err.message, "holds no ttypong export; choose an empty or new directory"), "message: %s", err.message);
	cr_assert_eq(access(in_test_dir("notes/todo.txt"), F_OK), 0, "the foreign file was removed");
	cr_assert_eq(count_entries(test_dir), 1, "a temporary directory was left behind");
	nn_free(m);
}

/* A directory that merely has a model.json, or an export with files added
 * to it, is not replaced; an export with the web page is. */
Test(tfjs, export_replaces_only_own_files)
{
	struct nn_model *m = make_model(1);
	struct tfjs_error err;
	char web[512];

	snprintf(web, sizeof(web), "%s", in_test_dir("web"));
	cr_assert_eq(mkdir(in_test_dir("site"), 0755), 0, "mkdir site");
	write_text(in_test_dir("site/model.json"), "{\"my\": \"own config\"}");
	write_text(in_test_dir("site/notes.txt"), "keep me");
	cr_assert_eq(tfjs_export_dir(m, in_test_dir("site"), NULL, NULL, &err), TFJS_ERR_IO, "a foreign model.json");
	cr_assert(strstr(err.message, "holds no ttypong export"), "message: %s", err.message);
	cr_assert_eq(access(in_test_dir("site/notes.txt"), F_OK), 0, "notes.txt was removed");

	cr_assert_eq(mkdir(web, 0755), 0, "mkdir web");
	cr_assert_eq(mkdir(in_test_dir("web/vendor"), 0755), 0, "mkdir web/vendor");
	write_text(in_test_dir("web/index.html"), "<p>page</p>");
	write_text(in_test_dir("web/vendor/lib.js"), "// lib");
	cr_assert_eq(tfjs_export_dir(m, in_test_dir("out"), NULL, web, &err), TFJS_OK, "export: %s", err.message);
	cr_assert_eq(tfjs_export_dir(m, in_test_dir("out"), NULL, web, &err), TFJS_OK, "re-export: %s", err.message);

	write_text(in_test_dir("out/vendor/mine.js"), "// mine");
	cr_assert_eq(tfjs_export_dir(m, in_test_dir("out"), NULL, web, &err), TFJS_ERR_IO, "an added file");
	cr_assert(strstr(err.message, "vendor/mine.js, which is not part of a ttypong export"), "message: %s", err.message);
	cr_assert_eq(access(in_test_dir("out/vendor/mine.js"), F_OK), 0, "mine.js was removed");
	cr_assert_eq(remove(in_test_dir("out/vendor/mine.js")), 0, "remove mine.js");

	cr_assert_eq(symlink("out", in_test_dir("link")), 0, "symlink to the export");
	cr_assert_eq(tfjs_export_dir(m, in_test_dir("link"), NULL, web, &err), TFJS_OK, "export through a link: %s", err.message);
	cr_assert_eq(remove(in_test_dir("link")), 0, "the link is still a link");

	cr_assert_eq(tfjs_export_dir(m, in_test_dir("out"), NULL, NULL, &err), TFJS_ERR_IO, "page files without the page");
	cr_assert(strstr(err.message, "index.html") || strstr(err.message, "vendor"), "message: %s", err.message);
	cr_assert_eq(count_entries(test_dir), 3, "temporary or old directories were left behind");
	nn_free(m);
}

Test(tfjs, export_failure_leaves_nothing)
{
	struct nn_model *m = make_model(1);
	struct tfjs_error err;

	cr_assert_eq(tfjs_export_dir(m, in_test_dir("model"), NULL, in_test_dir("no-such-web"), &err), TFJS_ERR_IO,
		     "export with a missing web directory");
	cr_assert(strstr(err.message, "no-such-web"), "message names the directory: %s", err.message);
	cr_assert_eq(count_entries(test_dir), 0, "a partial export was left behind");
	nn_free(m);
}

Test(tfjs, export_rejects_bad_metadata)
{
	struct nn_model *m = make_model(1);
	struct tfjs_meta meta = { NULL, test_features, 5, NULL, 0 };
	struct tfjs_error err;

	cr_assert_eq(tfjs_export_dir(m, in_test_dir("model"), &meta, NULL, &err), TFJS_ERR_ARG, "5 feature names for 6 inputs");
	cr_assert(strstr(err.message, "5 features"), "message: %s", err.message);
	nn_free(m);
}

Test(tfjs, export_copies_web)
{
	struct nn_model *m = make_model(1);
	struct tfjs_error err;
	char text[32] = "";
	FILE *f;

	cr_assert_eq(mkdir(in_test_dir("web"), 0755), 0, "mkdir web");
	cr_assert_eq(mkdir(in_test_dir("web/vendor"), 0755), 0, "mkdir web/vendor");
	write_text(in_test_dir("web/index.html"), "<p>pong</p>");
	write_text(in_test_dir("web/vendor/lib.js"), "lib");
	cr_assert_eq(tfjs_export_dir(m, in_test_dir("out"), NULL, in_test_dir("web"), &err), TFJS_OK, "export: %s", err.message);
	cr_assert_eq(access(in_test_dir("out/model.json"), F_OK), 0, "model.json exists");
	f = fopen(in_test_dir("out/vendor/lib.js"), "r");
	cr_assert_not_null(f, "nested web file was copied");
	cr_assert_not_null(fgets(text, sizeof(text), f), "read the copy");
	fclose(f);
	cr_assert_str_eq(text, "lib", "copied content");
	nn_free(m);
}

/* ---- hand-written models ---- */

/* A TF.js-style Sequential model: 6 inputs, Dense 4 relu, Dropout, Dense 3
 * softmax; 43 float32 weights in w.bin. "generatedBy" is on line 3. */
static const char base_json[] =
	"{\n"
	" \"format\": \"layers-model\",\n"
	" \"generatedBy\": \"hand\",\n"
	" \"convertedBy\": null,\n"
	" \"modelTopology\": {\"class_name\": \"Sequential\", \"config\": {\"name\": \"seq\", \"layers\": [\n"
	"  {\"class_name\": \"Dense\", \"config\": {\"name\": \"d1\", \"units\": 4, \"activation\": \"relu\",\n"
	"   \"use_bias\": true, \"dtype\": \"float32\", \"batch_input_shape\": [null, 6]}},\n"
	"  {\"class_name\": \"Dropout\", \"config\": {\"name\": \"drop\", \"rate\": 0.5}},\n"
	"  {\"class_name\": \"Dense\", \"config\": {\"name\": \"d2\", \"units\": 3, \"activation\": \"softmax\", \"use_bias\": true}}\n"
	" ]}},\n"
	" \"weightsManifest\": [{\"paths\": [\"w.bin\"], \"weights\": [\n"
	"  {\"name\": \"d1/kernel\", \"shape\": [6, 4], \"dtype\": \"float32\"},\n"
	"  {\"name\": \"d1/bias\", \"shape\": [4], \"dtype\": \"float32\"},\n"
	"  {\"name\": \"d2/kernel\", \"shape\": [4, 3], \"dtype\": \"float32\"},\n"
	"  {\"name\": \"d2/bias\", \"shape\": [3], \"dtype\": \"float32\"}\n"
	" ]}]\n"
	"}\n";

#define BASE_FLOATS 43

static float base_value(int k)
{
	return (float)(k - 20) / 16.0f;
}

/* Writes n bytes of base weights (the values repeat past BASE_FLOATS) to
 * test_dir/name, little-endian. */
static void write_base_weights(const char *name, size_t n)
{
	unsigned char *buf = calloc(n + 4, 1);

	cr_assert_not_null(buf, "out of memory");
	for (size_t k = 0; k * 4 < n; k++) {
		float v = base_value((int)(k % BASE_FLOATS));
		uint32_t u;

		memcpy(&u, &v, 4);
		for (int b = 0; b < 4; b++)
			buf[k * 4 + (size_t)b] = (unsigned char)(u >> (8 * b));
	}
	write_bytes(in_test_dir(name), buf, n);
	free(buf);
}

static void assert_base_weights(struct nn_model *m, int d1, int d2)
{
	int k = 0;

	for (size_t j = 0; j < 24; j++, k++)
		cr_assert_eq(nn_kernel(m, d1)[j], base_value(k), "d1 kernel[%zu]", j);
	for (int j = 0; j < 4; j++, k++)
		cr_assert_eq(nn_bias(m, d1)[j], base_value(k), "d1 bias[%d]", j);
	for (size_t j = 0; j < 12; j++, k++)
		cr_assert_eq(nn_kernel(m, d2)[j], base_value(k), "d2 kernel[%zu]", j);
	for (int j = 0; j < 3; j++, k++)
		cr_assert_eq(nn_bias(m, d2)[j], base_value(k), "d2 bias[%d]", j);
}

Test(tfjs, import_hand_written_sequential)
{
	struct nn_model *m = NULL;
	struct tfjs_error err;

	write_text(in_test_dir("model.json"), base_json);
	write_base_weights("w.bin", BASE_FLOATS * 4);
	cr_assert_eq(tfjs_import_dir(&m, test_dir, TEST_INPUTS, TEST_OUTPUTS, NULL, &err), TFJS_OK, "import: %s", err.message);
	cr_assert_eq(nn_n_layers(m), 3, "three layers");
	cr_assert_eq(nn_layer(m, 1)->kind, NN_DROPOUT, "layer 2 is Dropout");
	cr_assert_eq(nn_layer(m, 1)->rate, 0.5f, "dropout rate");
	cr_assert_eq(nn_layer(m, 2)->act, NN_ACT_SOFTMAX, "output activation");
	assert_base_weights(m, 0, 2);
	nn_free(m);
}

struct bad_case {
	const char *description;
	const char *from, *to;		/* replaced in base_json; NULL keeps it */
	size_t weight_bytes;		/* size of w.bin */
	int status;
	const char *message;		/* expected part of the error message */
};

static const struct bad_case bad_cases[] = {
	{ "broken JSON", "\"hand\",", "\"hand\",,", 172, TFJS_ERR_JSON, "model.json:3:" },
	{ "graph model", "\"layers-model\"", "\"graph-model\"", 172, TFJS_ERR_FORMAT,
	  "format is \"graph-model\", not \"layers-model\"" },
	{ "no topology", "\"modelTopology\"", "\"topology\"", 172, TFJS_ERR_FORMAT, "no modelTopology" },
	{ "unknown model class", "\"Sequential\"", "\"Graph\"", 172, TFJS_ERR_UNSUPPORTED, "model class Graph is not supported" },
	{ "Conv2D layer", "\"Dropout\"", "\"Conv2D\"", 172, TFJS_ERR_UNSUPPORTED,
	  "model.json: layer 2 'drop': layer type Conv2D is not supported (supported: Dense, Dropout, AlphaDropout, GaussianDropout, InputLayer, and SpatialDropout1D between Reshape and Flatten)" },
	{ "unknown activation", "\"relu\"", "\"elu\"", 172, TFJS_ERR_UNSUPPORTED, "layer 1 'd1': activation elu is not supported" },
	{ "float16 layer", "\"dtype\": \"float32\", \"batch", "\"dtype\": \"float16\", \"batch", 172, TFJS_ERR_UNSUPPORTED,
	  "dtype float16 is not supported" },
	{ "Keras 3 float16 policy", "\"dtype\": \"float32\", \"batch",
	  "\"dtype\": {\"class_name\": \"DTypePolicy\", \"config\": {\"name\": \"mixed_float16\"}}, \"batch", 172,
	  TFJS_ERR_UNSUPPORTED, "dtype mixed_float16 is not supported" },
	{ "int32 kernel", "[6, 4], \"dtype\": \"float32\"", "[6, 4], \"dtype\": \"int32\"", 172, TFJS_ERR_UNSUPPORTED,
	  "weight 'd1/kernel' is int32; only float32 weights are supported" },
	{ "quantized kernel", "[6, 4], \"dtype\": \"float32\"",
	  "[6, 4], \"dtype\": \"float32\", \"quantization\": {\"dtype\": \"uint8\", \"scale\": 1, \"min\": 0}", 100,
	  TFJS_ERR_UNSUPPORTED, "is quantized to uint8" },
	{ "5 inputs", "[null, 6]", "[null, 5]", 172, TFJS_ERR_SHAPE, "the model takes 5 inputs but ttypong gives 6" },
	{ "image input", "[null, 6]", "[null, 2, 3]", 172, TFJS_ERR_UNSUPPORTED, "input shape must be [null, n]" },
	{ "4 outputs", "\"units\": 3", "\"units\": 4", 172, TFJS_ERR_SHAPE, "the model gives 4 outputs but ttypong needs 3" },
	{ "transposed kernel", "[6, 4]", "[4, 6]", 172, TFJS_ERR_SHAPE,
	  "weight 'd1/kernel' has shape [4, 6] but layer 1 'd1' needs [6, 4]" },
	{ "missing bias", "\"d2/bias\"", "\"other/bias\"", 172, TFJS_ERR_WEIGHTS, "has no bias for layer 3 'd2'" },
	{ "duplicate bias", "\"dtype\": \"float32\"}\n ]",
	  "\"dtype\": \"float32\"},\n  {\"name\": \"seq/d2/bias:0\", \"shape\": [3], \"dtype\": \"float32\"}\n ]", 184,
	  TFJS_ERR_WEIGHTS, "entries 4 and 5 both set layer 3 'd2' bias" },
	{ "bias without use_bias", "\"use_bias\": true", "\"use_bias\": false", 172, TFJS_ERR_WEIGHTS,
	  "'d1/bias' is a bias but layer 1 'd1' has use_bias false" },
	{ "weights on Dropout", "\"d2/bias\"", "\"drop/bias\"", 172, TFJS_ERR_WEIGHTS,
	  "belongs to layer 2 'drop' (Dropout), which has no weights" },
	{ "missing weight file", "\"w.bin\"", "\"gone.bin\"", 172, TFJS_ERR_WEIGHTS,
	  "weight file gone.bin listed in the manifest cannot be read" },
	{ "short weight file", NULL, NULL, 170, TFJS_ERR_WEIGHTS,
	  "weight 'd2/bias' needs bytes 160 to 172 but the weight files (w.bin) hold 170 bytes" },
	{ "long weight file", NULL, NULL, 176, TFJS_ERR_WEIGHTS, "weight file w.bin is longer than the 172 bytes the manifest leaves for it (172 in all)" },
	{ "path outside", "\"w.bin\"", "\"../w.bin\"", 172, TFJS_ERR_FORMAT, "must be a file name beside model.json" },
	{ "no manifest", "\"weightsManifest\"", "\"weights\"", 172, TFJS_ERR_WEIGHTS, "no weightsManifest" },
	{ "bad rate", "\"rate\": 0.5", "\"rate\": 1.5", 172, TFJS_ERR_FORMAT, "Dropout needs a \"rate\" in [0, 1)" },
	{ "no units", "\"units\": 4,", "", 172, TFJS_ERR_FORMAT, "Dense needs a positive integer \"units\"" },
	{ "no input shape", ", \"batch_input_shape\": [null, 6]", "", 172, TFJS_ERR_FORMAT,
	  "layer 1 'd1' of the Sequential model has no \"batch_input_shape\"; TF.js needs the input shape on the first layer" },
	{ "noise shape", "\"rate\": 0.5", "\"rate\": 0.5, \"noise_shape\": [null, 1]", 172, TFJS_ERR_UNSUPPORTED,
	  "layer 2 'drop': Dropout with a \"noise_shape\" is not supported" },
	{ "empty paths", "[\"w.bin\"]", "[]", 172, TFJS_ERR_FORMAT,
	  "weightsManifest group 1 lists weights but no files in \"paths\"" },
	{ "too many units", "\"units\": 4,", "\"units\": 1000000000,", 172, TFJS_ERR_UNSUPPORTED,
	  "Dense has 1000000000 units, more than the network library's limit of 1048576" },
	{ "linear output", "\"activation\": \"softmax\"", "\"activation\": \"linear\"", 172, TFJS_ERR_UNSUPPORTED,
	  "model.json: the output layer 'd2' has activation linear; ttypong needs softmax over 3 classes" },
	{ "sigmoid output", "\"activation\": \"softmax\"", "\"activation\": \"sigmoid\"", 172, TFJS_ERR_UNSUPPORTED,
	  "the output layer 'd2' has activation sigmoid" },
};

Test(tfjs, malformed_models_rejected)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		const struct bad_case *c = &bad_cases[i];
		char *text = c->from ? replace_first(base_json, c->from, c->to) : strdup(base_json);
		struct nn_model *m = (struct nn_model *)&m;	/* must be cleared */
		struct tfjs_error err;
		int st;

		write_text(in_test_dir("model.json"), text);
		write_base_weights("w.bin", c->weight_bytes);
		st = tfjs_import_dir(&m, test_dir, TEST_INPUTS, TEST_OUTPUTS, NULL, &err);
		cr_assert_eq(st, c->status, "%s: status %d (%s), expected %d", c->description, st, err.message, c->status);
		cr_assert_eq(err.status, c->status, "%s: err.status", c->description);
		cr_assert_null(m, "%s: a model was returned", c->description);
		cr_assert(strstr(err.message, c->message), "%s: message '%s' lacks '%s'", c->description, err.message, c->message);
		free(text);
	}
}

/* Patches float k of test_dir/w.bin (base weights) to the bit pattern u. */
static void patch_weight(size_t k, uint32_t u)
{
	unsigned char b[4] = { (unsigned char)u, (unsigned char)(u >> 8), (unsigned char)(u >> 16),
			       (unsigned char)(u >> 24) };
	FILE *f = fopen(in_test_dir("w.bin"), "r+b");

	cr_assert_not_null(f, "cannot open w.bin");
	cr_assert_eq(fseek(f, (long)(k * 4), SEEK_SET), 0, "seek in w.bin");
	cr_assert_eq(fwrite(b, 1, 4, f), 4u, "patch w.bin");
	fclose(f);
}

Test(tfjs, non_finite_weights_rejected)
{
	static const struct { size_t at; uint32_t bits; const char *message; } cases[] = {
		{ 0, 0x7fc00000u, "weight 'd1/kernel' of layer 1 'd1' element 0 is NaN" },
		{ 29, 0x7f800000u, "weight 'd2/kernel' of layer 3 'd2' element 1 is infinite" },
		{ 42, 0xff800000u, "weight 'd2/bias' of layer 3 'd2' element 2 is -infinite" },
	};

	write_text(in_test_dir("model.json"), base_json);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct nn_model *m = NULL;
		struct tfjs_error err;

		write_base_weights("w.bin", BASE_FLOATS * 4);
		patch_weight(cases[i].at, cases[i].bits);
		cr_assert_eq(tfjs_import_dir(&m, test_dir, TEST_INPUTS, TEST_OUTPUTS, NULL, &err), TFJS_ERR_WEIGHTS,
			     "case %zu: status (%s)", i, err.message);
		cr_assert_null(m, "case %zu: a model was returned", i);
		cr_assert(strstr(err.message, cases[i].message), "case %zu: message '%s' lacks '%s'",
			  i, err.message, cases[i].message);
	}
}

/* FIFOs and devices are refused before they are read, so an import neither
 * blocks nor reads without end. */
Test(tfjs, special_files_rejected)
{
	struct nn_model *m = NULL;
	struct tfjs_error err;

	cr_assert_eq(mkfifo(in_test_dir("model.json"), 0600), 0, "mkfifo model.json");
	cr_assert_eq(tfjs_import_dir(&m, test_dir, TEST_INPUTS, TEST_OUTPUTS, NULL, &err), TFJS_ERR_IO, "a FIFO model.json");
	cr_assert(strstr(err.message, "model.json: not a regular file"), "message: %s", err.message);
	cr_assert_eq(remove(in_test_dir("model.json")), 0, "remove the FIFO");

	cr_assert_eq(symlink("/dev/zero", in_test_dir("model.json")), 0, "symlink model.json");
	cr_assert_eq(tfjs_import_dir(&m, test_dir, TEST_INPUTS, TEST_OUTPUTS, NULL, &err), TFJS_ERR_IO, "/dev/zero as model.json");
	cr_assert(strstr(err.message, "not a regular file"), "message: %s", err.message);
	cr_assert_eq(remove(in_test_dir("model.json")), 0, "remove the link");

	write_text(in_test_dir("model.json"), base_json);
	cr_assert_eq(symlink("/dev/zero", in_test_dir("w.bin")), 0, "symlink w.bin");
	cr_assert_eq(tfjs_import_dir(&m, test_dir, TEST_INPUTS, TEST_OUTPUTS, NULL, &err), TFJS_ERR_FORMAT, "/dev/zero as weights");
	cr_assert(strstr(err.message, "resolves to /dev/zero, outside the model's directory"), "message: %s", err.message);
	cr_assert_eq(remove(in_test_dir("w.bin")), 0, "remove the link");

	cr_assert_eq(mkfifo(in_test_dir("w.bin"), 0600), 0, "mkfifo w.bin");
	cr_assert_eq(tfjs_import_dir(&m, test_dir, TEST_INPUTS, TEST_OUTPUTS, NULL, &err), TFJS_ERR_WEIGHTS, "a FIFO as weights");
	cr_assert(strstr(err.message, "weight file w.bin listed in the manifest cannot be read: not a regular file"),
		  "message: %s", err.message);
	cr_assert_null(m, "a model was returned");
}

Test(tfjs, weight_link_outside_rejected)
{
	struct nn_model *m = NULL;
	struct tfjs_error err;

	cr_assert_eq(mkdir(in_test_dir("model"), 0755), 0, "mkdir model");
	write_text(in_test_dir("model/model.json"), base_json);
	write_base_weights("w.bin", BASE_FLOATS * 4);
	cr_assert_eq(symlink("../w.bin", in_test_dir("model/w.bin")), 0, "symlink w.bin");
	cr_assert_eq(tfjs_import_dir(&m, in_test_dir("model"), TEST_INPUTS, TEST_OUTPUTS, NULL, &err), TFJS_ERR_FORMAT,
		     "a weight link out of the directory (%s)", err.message);
	cr_assert(strstr(err.message, "weight file w.bin resolves to") && strstr(err.message, "outside the model's directory"),
		  "message: %s", err.message);
	cr_assert_null(m, "a model was returned");

	cr_assert_eq(remove(in_test_dir("model/w.bin")), 0, "remove the link");
	cr_assert_eq(rename(in_test_dir("w.bin"), in_test_dir("model/data.bin")), 0, "move the weights in");
	cr_assert_eq(symlink("data.bin", in_test_dir("model/w.bin")), 0, "symlink inside");
	cr_assert_eq(tfjs_import_dir(&m, in_test_dir("model"), TEST_INPUTS, TEST_OUTPUTS, NULL, &err), TFJS_OK,
		     "a link inside the directory: %s", err.message);
	nn_free(m);
}

Test(tfjs, json_byte_order_mark_skipped)
{
	struct nn_model *m = NULL;
	struct tfjs_error err;
	char *text = malloc(strlen(base_json) + 4);

	cr_assert_not_null(text, "out of memory");
	strcpy(text, "\xef\xbb\xbf");
	strcat(text, base_json);
	write_text(in_test_dir("model.json"), text);
	write_base_weights("w.bin", BASE_FLOATS * 4);
	cr_assert_eq(tfjs_import_dir(&m, test_dir, TEST_INPUTS, TEST_OUTPUTS, NULL, &err), TFJS_OK,
		     "a model.json starting with a BOM: %s", err.message);
	nn_free(m);
	free(text);
}

Test(tfjs, rejects_non_object_json)
{
	struct nn_model *m = NULL;
	struct tfjs_error err;

	write_text(in_test_dir("model.json"), "[1, 2]\n");
	cr_assert_eq(tfjs_import_dir(&m, test_dir, TEST_INPUTS, TEST_OUTPUTS, NULL, &err), TFJS_ERR_FORMAT, "a JSON array");
	cr_assert(strstr(err.message, "not a JSON object"), "message: %s", err.message);
	cr_assert_eq(tfjs_import_dir(&m, in_test_dir("none"), TEST_INPUTS, TEST_OUTPUTS, NULL, &err), TFJS_ERR_IO,
		     "a missing directory");
	cr_assert(strstr(err.message, "none/model.json: cannot open"), "message: %s", err.message);
}

/* The base model's weights spread unevenly over three files, with optimizer
 * state (an int32 scalar and float32 moments) between and after them. */
Test(tfjs, import_multi_shard_optimizer)
{
	char *a = replace_first(base_json, "[\"w.bin\"]", "[\"s1.bin\", \"s2.bin\", \"s3.bin\"]");
	char *b = replace_first(a, "\"weights\": [\n",
				"\"weights\": [\n  {\"name\": \"iter\", \"shape\": [], \"dtype\": \"int32\", \"group\": \"optimizer\"},\n");
	char *c = replace_first(b, "\"dtype\": \"float32\"}\n ]",
				"\"dtype\": \"float32\"},\n  {\"name\": \"d1/kernel/m\", \"shape\": [6, 4], \"dtype\": \"float32\", \"group\": \"optimizer\"},\n"
				"  {\"name\": \"optimizer/d2/bias\", \"shape\": [3], \"dtype\": \"float32\"}\n ]");
	unsigned char data[4 + 172 + 96 + 12];
	struct nn_model *m = NULL;
	struct tfjs_error err;
	FILE *f;

	/* iter, then the model weights, then 27 floats of optimizer state. */
	memset(data, 0x7f, sizeof(data));
	write_base_weights("all.bin", 172);
	f = fopen(in_test_dir("all.bin"), "rb");
	cr_assert_not_null(f, "open all.bin");
	cr_assert_eq(fread(data + 4, 1, 172, f), 172u, "read all.bin");
	fclose(f);
	write_bytes(in_test_dir("s1.bin"), data, 50);
	write_bytes(in_test_dir("s2.bin"), data + 50, 101);
	write_bytes(in_test_dir("s3.bin"), data + 151, sizeof(data) - 151);
	write_text(in_test_dir("model.json"), c);

	cr_assert_eq(tfjs_import_dir(&m, test_dir, TEST_INPUTS, TEST_OUTPUTS, NULL, &err), TFJS_OK, "import: %s", err.message);
	assert_base_weights(m, 0, 2);
	nn_free(m);
	free(a);
	free(b);
	free(c);
}

/* A TF.js functional model listing its layers out of order. */
static const char functional_json[] =
	"{\"format\": \"layers-model\", \"modelTopology\": {\"class_name\": \"Model\", \"config\": {\"name\": \"f\",\n"
	" \"layers\": [\n"
	"  {\"name\": \"d2\", \"class_name\": \"Dense\", \"config\": {\"name\": \"d2\", \"units\": 3, \"activation\": \"softmax\"},\n"
	"   \"inbound_nodes\": [[[\"drop\", 0, 0, {}]]]},\n"
	"  {\"name\": \"in\", \"class_name\": \"InputLayer\", \"config\": {\"name\": \"in\", \"batch_input_shape\": [null, 6], \"dtype\": \"float32\"},\n"
	"   \"inbound_nodes\": []},\n"
	"  {\"name\": \"drop\", \"class_name\": \"GaussianDropout\", \"config\": {\"name\": \"drop\", \"rate\": 0.2},\n"
	"   \"inbound_nodes\": [[[\"d1\", 0, 0, {}]]]},\n"
	"  {\"name\": \"d1\", \"class_name\": \"Dense\", \"config\": {\"name\": \"d1\", \"units\": 4, \"activation\": \"relu\"},\n"
	"   \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]}\n"
	" ],\n"
	" \"input_layers\": [[\"in\", 0, 0]], \"output_layers\": [[\"d2\", 0, 0]]}},\n"
	" \"weightsManifest\": [{\"paths\": [\"w.bin\"], \"weights\": [\n"
	"  {\"name\": \"d1/kernel\", \"shape\": [6, 4], \"dtype\": \"float32\"},\n"
	"  {\"name\": \"d1/bias\", \"shape\": [4], \"dtype\": \"float32\"},\n"
	"  {\"name\": \"d2/kernel\", \"shape\": [4, 3], \"dtype\": \"float32\"},\n"
	"  {\"name\": \"d2/bias\", \"shape\": [3], \"dtype\": \"float32\"}\n"
	" ]}]}\n";

Test(tfjs, import_functional_chain)
{
	struct nn_model *m = NULL;
	struct tfjs_error err;

	write_text(in_test_dir("model.json"), functional_json);
	write_base_weights("w.bin", 172);
	cr_assert_eq(tfjs_import_dir(&m, test_dir, TEST_INPUTS, TEST_OUTPUTS, NULL, &err), TFJS_OK, "import: %s", err.message);
	cr_assert_eq(nn_n_layers(m), 3, "InputLayer is not a network layer");
	cr_assert_str_eq(nn_layer(m, 0)->name, "d1", "chain starts at d1");
	cr_assert_eq(nn_layer(m, 1)->kind, NN_GAUSSIAN_DROPOUT, "GaussianDropout keeps its kind");
	cr_assert_str_eq(nn_layer(m, 2)->name, "d2", "chain ends at d2");
	assert_base_weights(m, 0, 2);
	nn_free(m);
}

Test(tfjs, functional_branch_rejected)
{
	char *side = replace_first(functional_json, " ],\n \"input_layers\"",
				   ",\n  {\"name\": \"side\", \"class_name\": \"Dense\", \"config\": {\"name\": \"side\", \"units\": 2},\n"
				   "   \"inbound_nodes\": [[[\"in\", 0, 0, {}]]]}\n ],\n \"input_layers\"");
	char *merge = replace_first(functional_json, "[[[\"drop\", 0, 0, {}]]]", "[[[\"drop\", 0, 0, {}], [\"in\", 0, 0, {}]]]");
	char *two_out = replace_first(functional_json, "[[\"d2\", 0, 0]]", "[[\"d2\", 0, 0], [\"d1\", 0, 0]]");
	struct nn_model *m = NULL;
	struct tfjs_error err;

	write_base_weights("w.bin", 172);
	write_text(in_test_dir("model.json"), side);
	cr_assert_eq(tfjs_import_dir(&m, test_dir, TEST_INPUTS, TEST_OUTPUTS, NULL, &err), TFJS_ERR_UNSUPPORTED, "side branch");
	cr_assert(strstr(err.message, "layer 5 'side' is not on the chain"), "message: %s", err.message);
	write_text(in_test_dir("model.json"), merge);
	cr_assert_eq(tfjs_import_dir(&m, test_dir, TEST_INPUTS, TEST_OUTPUTS, NULL, &err), TFJS_ERR_UNSUPPORTED, "merge");
	cr_assert(strstr(err.message, "layer 1 'd2' takes 2 inputs"), "message: %s", err.message);
	write_text(in_test_dir("model.json"), two_out);
	cr_assert_eq(tfjs_import_dir(&m, test_dir, TEST_INPUTS, TEST_OUTPUTS, NULL, &err), TFJS_ERR_UNSUPPORTED, "two outputs");
	cr_assert(strstr(err.message, "model has 2 output_layers"), "message: %s", err.message);
	cr_assert_null(m, "no model on failure");
	free(two_out);
	two_out = replace_first(functional_json, "[[[\"d1\", 0, 0, {}]]]", "[[[\"d1\", 5, 0, {}]]]");
	write_text(in_test_dir("model.json"), two_out);
	cr_assert_eq(tfjs_import_dir(&m, test_dir, TEST_INPUTS, TEST_OUTPUTS, NULL, &err), TFJS_ERR_FORMAT, "node index 5");
	cr_assert(strstr(err.message, "layer 3 'drop': its input from 'd1' names a node or tensor index other than 0"),
		  "message: %s", err.message);
	free(side);
	free(merge);
	free(two_out);
}

/* Keras 2 through tensorflowjs_converter: the topology wrapped in
 * model_config with a training_config, an old-style Sequential config that is
 * a bare layer list, and after the model weights a string tensor, which
 * stores each element as a 4-byte length and its bytes. */
static const char keras2_json[] =
	"{\"format\": \"layers-model\", \"generatedBy\": \"keras v2.15.0\",\n"
	" \"convertedBy\": \"TensorFlow.js Converter v4.22.0\",\n"
	" \"modelTopology\": {\"keras_version\": \"2.15.0\", \"backend\": \"tensorflow\",\n"
	"  \"model_config\": {\"class_name\": \"Sequential\", \"config\": [\n"
	"   {\"class_name\": \"InputLayer\", \"config\": {\"batch_input_shape\": [null, 6], \"dtype\": \"float32\", \"name\": \"in\"}},\n"
	"   {\"class_name\": \"Dense\", \"config\": {\"name\": \"d1\", \"units\": 4, \"activation\": \"relu\"}},\n"
	"   {\"class_name\": \"AlphaDropout\", \"config\": {\"name\": \"drop\", \"rate\": 0.1}},\n"
	"   {\"class_name\": \"Dense\", \"config\": {\"name\": \"d2\", \"units\": 3, \"activation\": \"softmax\"}}]},\n"
	"  \"training_config\": {\"loss\": \"categorical_crossentropy\"}},\n"
	" \"weightsManifest\": [{\"paths\": [\"w.bin\"], \"weights\": [\n"
	"  {\"name\": \"d1/kernel:0\", \"shape\": [6, 4], \"dtype\": \"float32\"},\n"
	"  {\"name\": \"d1/bias:0\", \"shape\": [4], \"dtype\": \"float32\"},\n"
	"  {\"name\": \"d2/kernel:0\", \"shape\": [4, 3], \"dtype\": \"float32\"},\n"
	"  {\"name\": \"d2/bias:0\", \"shape\": [3], \"dtype\": \"float32\"}]},\n"
	"  {\"paths\": [\"s.bin\"], \"weights\": [\n"
	"  {\"name\": \"Adam/note\", \"shape\": [2], \"dtype\": \"string\"}]}]}\n";

Test(tfjs, import_keras2_converter)
{
	static const unsigned char strings[] = { 2, 0, 0, 0, 'a', 'b', 1, 0, 0, 0, 'c' };
	struct nn_model *m = NULL;
	struct tfjs_info info;
	struct tfjs_error err;

	write_text(in_test_dir("model.json"), keras2_json);
	write_base_weights("w.bin", 172);
	write_bytes(in_test_dir("s.bin"), strings, sizeof(strings));
	cr_assert_eq(tfjs_import_dir(&m, test_dir, TEST_INPUTS, TEST_OUTPUTS, &info, &err), TFJS_OK, "import: %s", err.message);
	cr_assert_eq(nn_n_layers(m), 3, "InputLayer is not a network layer");
	cr_assert_eq(nn_layer(m, 1)->kind, NN_ALPHA_DROPOUT, "AlphaDropout keeps its kind");
	cr_assert_str_eq(info.converted_by, "TensorFlow.js Converter v4.22.0", "convertedBy");
	assert_base_weights(m, 0, 2);
	nn_free(m);

	write_bytes(in_test_dir("s.bin"), strings, sizeof(strings) - 1);
	cr_assert_eq(tfjs_import_dir(&m, test_dir, TEST_INPUTS, TEST_OUTPUTS, NULL, &err), TFJS_ERR_WEIGHTS,
		     "a string tensor cut short");
	cr_assert(strstr(err.message, "weight 'Adam/note' needs bytes 172 to 183 but the weight files (w.bin, s.bin) hold 182 bytes"), "message: %s", err.message);
}

/* Keras 3 fixtures: see tests/data/tfjs/make_fixtures.py for the values. */
static float fixture_weight(int position, int k)
{
	return (float)((37 * k + 11 * position) % 29 - 14) / 32.0f;
}

static void assert_fixture_model(struct nn_model *m)
{
	static const int positions[4] = { 2, 3, 4, 5 };

	cr_assert_eq(nn_n_layers(m), 4, "Dense, Dropout, Dense, Dense");
	cr_assert_eq(nn_layer(m, 1)->kind, NN_DROPOUT, "layer 2 is Dropout");
	cr_assert_eq(nn_layer(m, 1)->rate, 0.25f, "dropout rate");
	cr_assert_eq(nn_layer(m, 2)->act, NN_ACT_TANH, "layer 3 activation");
	for (int i = 0; i < 4; i++) {
		size_t nk;

		if (nn_layer(m, i)->kind != NN_DENSE)
			continue;
		nk = kernel_size(m, i);
		for (size_t k = 0; k < nk; k++)
			cr_assert_eq(nn_kernel(m, i)[k], fixture_weight(positions[i], (int)k), "layer %d kernel[%zu]", i, k);
		for (int k = 0; k < nn_layer(m, i)->units; k++)
			cr_assert_eq(nn_bias(m, i)[k], fixture_weight(positions[i], (int)nk + k), "layer %d bias[%d]", i, k);
	}
}

Test(tfjs, import_keras3_sequential)
{
	struct nn_model *m = NULL;
	struct tfjs_info info;
	struct tfjs_error err;

	cr_assert_eq(tfjs_import_file(&m, "tests/data/tfjs/keras3/model.json", TEST_INPUTS, TEST_OUTPUTS, &info, &err),
		     TFJS_OK, "import: %s", err.message);
	assert_fixture_model(m);
	cr_assert_str_eq(info.generated_by, "keras v3.5.0", "generatedBy");
	cr_assert_eq(info.has_meta, 0, "no ttypong metadata");
	nn_free(m);
}

Test(tfjs, import_keras3_functional)
{
	struct nn_model *m = NULL;
	struct tfjs_error err;

	cr_assert_eq(tfjs_import_dir(&m, "tests/data/tfjs/keras3_functional", TEST_INPUTS, TEST_OUTPUTS, NULL, &err),
		     TFJS_OK, "import: %s", err.message);
	assert_fixture_model(m);
	nn_free(m);
}

/* ---- C header ---- */

Test(tfjs, c_header_predicts_same)
{
	static const char *const quoted[TEST_INPUTS] = { "ball \"x\"", "b\\y", "c", "d", "e", "f" };
	struct tfjs_meta meta = { "v1", quoted, TEST_INPUTS, test_classes, TEST_OUTPUTS };
	struct nn_model *m = make_model(9);
	float x[4][TEST_INPUTS], y[4][TEST_OUTPUTS];
	char cmd[1024], line[256];
	struct tfjs_error err;
	FILE *f, *p;

	for (int r = 0; r < 4; r++)
		for (int j = 0; j < TEST_INPUTS; j++)
			x[r][j] = (float)sin(1.3 * r + 0.7 * j) * 2.0f;
	cr_assert_eq(nn_predict(m, &x[0][0], 4, &y[0][0]), NN_OK, "nn_predict");
	cr_assert_eq(tfjs_write_c_header(m, in_test_dir("pong_net.h"), "pong_net", &meta, &err), TFJS_OK,
		     "header: %s", err.message);

	f = fopen(in_test_dir("main.c"), "w");
	cr_assert_not_null(f, "create main.c");
	fprintf(f, "#include <stdio.h>\n#include \"pong_net.h\"\nint main(void)\n{\n\tstatic const float x[4][%d] = {\n", TEST_INPUTS);
	for (int r = 0; r < 4; r++) {
		fputs("\t\t{", f);
		for (int j = 0; j < TEST_INPUTS; j++)
			fprintf(f, "(float)%.9g, ", (double)x[r][j]);
		fputs("},\n", f);
	}
	fputs("\t};\n\tfloat y[PONG_NET_N_OUTPUTS];\n\n\tputs(pong_net_feature_names[0]);\n\tputs(pong_net_model_id);\n"
	      "\tfor (int r = 0; r < 4; r++) {\n\t\tpong_net_predict(x[r], y);\n"
	      "\t\tprintf(\"%.9g %.9g %.9g\\n\", y[0], y[1], y[2]);\n\t}\n\treturn 0;\n}\n", f);
	fclose(f);

	snprintf(cmd, sizeof(cmd), "cc -std=c11 -Wall -Wextra -pedantic -Werror -o %s %s -lm 2>&1",
		 in_test_dir("main"), in_test_dir("main.c"));
	p = popen(cmd, "r");
	cr_assert_not_null(p, "run cc");
	while (fgets(line, sizeof(line), p))
		cr_log_error("cc: %s", line);
	cr_assert_eq(pclose(p), 0, "the generated header does not compile cleanly");

	p = popen(in_test_dir("main"), "r");
	cr_assert_not_null(p, "run the program");
	cr_assert_not_null(fgets(line, sizeof(line), p), "feature name line");
	cr_assert_str_eq(line, "ball \"x\"\n", "escaped feature name");
	cr_assert_not_null(fgets(line, sizeof(line), p), "model id line");
	cr_assert_str_eq(line, "v1\n", "model id");
	for (int r = 0; r < 4; r++) {
		float got[TEST_OUTPUTS];

		cr_assert_not_null(fgets(line, sizeof(line), p), "output row %d", r);
		cr_assert_eq(sscanf(line, "%g %g %g", &got[0], &got[1], &got[2]), 3, "row %d: '%s'", r, line);
		for (int j = 0; j < TEST_OUTPUTS; j++)
			cr_assert_float_eq(got[j], y[r][j], 1e-6, "row %d class %d: header %g, nn %g", r, j, got[j], y[r][j]);
	}
	cr_assert_eq(pclose(p), 0, "program exit status");
	nn_free(m);
}

Test(tfjs, c_header_rejects_bad_prefix)
{
	struct nn_model *m = make_model(1);
	struct tfjs_error err;

	cr_assert_eq(tfjs_write_c_header(m, in_test_dir("x.h"), "9lives", NULL, &err), TFJS_ERR_ARG, "prefix starting with a digit");
	cr_assert(strstr(err.message, "'9lives' is not an identifier"), "message: %s", err.message);
	nn_free(m);
	cr_assert_eq(count_entries(test_dir), 0, "no file was written");
}

/* ---- CSV ---- */

Test(tfjs, csv_reads_rows_after_header)
{
	static const char text[] = "a, b,c,d,e,f\r\n\n1,2,3,4,5,6\r\n -1.5e-3 ,0,0,0,0,7\n";
	FILE *in = fmemopen((void *)text, sizeof(text) - 1, "r");
	struct tfjs_csv_reader r;
	struct tfjs_error err;
	float row[TEST_INPUTS];

	tfjs_csv_reader_init(&r, in, TEST_INPUTS, test_features);
	cr_assert_eq(tfjs_csv_next_row(&r, row, &err), 1, "first row: %s", err.message);
	cr_assert_eq(row[5], 6.0f, "row 1 column 6");
	cr_assert_eq(tfjs_csv_next_row(&r, row, &err), 1, "second row: %s", err.message);
	cr_assert_eq(row[0], -1.5e-3f, "row 2 column 1");
	cr_assert_eq(tfjs_csv_next_row(&r, row, &err), 0, "end of input");
	cr_assert_eq(r.line, 4, "line count");
	tfjs_csv_reader_free(&r);
	fclose(in);
}

struct csv_case {
	const char *text;
	const char *message;
};

static const struct csv_case csv_cases[] = {
	{ "1,2,3,4,5\n", "line 1: 5 values but 6 are expected" },
	{ "1,2,3,4,5,6,7\n", "line 1: 7 values but 6 are expected" },
	{ "1,2,x,4,5,6\n", "line 1, column 3: 'x' is not a finite number" },
	{ "1,2,3,4,5,nan\n", "line 1, column 6: 'nan' is not a finite number" },
	{ "1,2,3,4,5,1e99\n", "column 6: '1e99' is not a finite number" },
	{ "1,2,3,4,5,6\na,b,c,d,e,f\n", "line 2, column 1: 'a' is not a finite number" },
	{ "a,b,c,d,f,e\n", "line 1: header column 5 is 'f' but 'e' is expected" },
	{ "a,b,c\n", "line 1: header has 3 columns but 6 are expected" },
	{ "1,2,3,4,5,\n", "line 1, column 6: '' is not a finite number" },
	{ "nan,0,0,0,0,0\n", "line 1, column 1: 'nan' is not a finite number" },
	{ "-inf,0,0,0,0,0\n", "line 1, column 1: '-inf' is not a finite number" },
	{ "1e400,0,0,0,0,0\n", "line 1, column 1: '1e400' is not a finite number" },
	{ "1,2,3,4,5,12345678901234567890123456789012345678901234567890e999\n",
	  "line 1, column 6: '1234567890123456789012345678901234567890...' is not a finite number" },
	{ "\xef\xbb\xbf" "a,b,c,d,e,f\n1,2,3\n", "line 2: 3 values but 6 are expected" },
};

Test(tfjs, csv_errors_name_line)
{
	for (size_t i = 0; i < sizeof(csv_cases) / sizeof(csv_cases[0]); i++) {
		FILE *in = fmemopen((void *)csv_cases[i].text, strlen(csv_cases[i].text), "r");
		struct tfjs_csv_reader r;
		struct tfjs_error err;
		float row[TEST_INPUTS];
		int st;

		tfjs_csv_reader_init(&r, in, TEST_INPUTS, test_features);
		while ((st = tfjs_csv_next_row(&r, row, &err)) == 1)
			;
		cr_assert_eq(st, TFJS_ERR_CSV, "case %zu: status %d", i, st);
		cr_assert(strstr(err.message, csv_cases[i].message), "case %zu: message '%s' lacks '%s'",
			  i, err.message, csv_cases[i].message);
		tfjs_csv_reader_free(&r);
		fclose(in);
	}
}

Test(tfjs, csv_writes_probs_and_records)
{
	static const float probs[TEST_OUTPUTS] = { 0.25f, 0.5f, 0.25f };
	static const float features[2 * TEST_INPUTS] = { 1, 2, 3, 4, 5, 6, 0.5f, -1, 0, 0, 0, 1e-3f };
	static const int labels[2] = { 2, 0 };
	static const char *const names[TEST_INPUTS] = { "x", "y,z", "c", "d", "e", "f" };
	struct tfjs_error err;
	char *text = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);

	cr_assert_eq(tfjs_csv_write_probs_header(out, test_classes, TEST_OUTPUTS, &err), TFJS_OK, "probs header");
	cr_assert_eq(tfjs_csv_write_probs(out, probs, test_classes, TEST_OUTPUTS, &err), TFJS_OK, "probs row");
	cr_assert_eq(tfjs_csv_write_records(out, names, TEST_INPUTS, "move", features, labels, 2, &err), TFJS_OK, "records");
	fclose(out);
	cr_assert_str_eq(text, "up,stay,down,class\n0.25,0.5,0.25,stay\n"
			       "x,\"y,z\",c,d,e,f,move\n1,2,3,4,5,6,2\n0.5,-1,0,0,0,0.00100000005,0\n",
			 "CSV text:\n%s", text);
	free(text);
}

Test(tfjs, csv_predict_rows)
{
	static const char rows[] = "a,b,c,d,e,f\n0,0,0,0,0,0\n1,-1,0.5,0,0.25,-0.5\n";
	struct nn_model *m = make_model(3);
	float x[2][TEST_INPUTS] = { { 0 }, { 1, -1, 0.5f, 0, 0.25f, -0.5f } }, y[2][TEST_OUTPUTS];
	FILE *in = fmemopen((void *)rows, sizeof(rows) - 1, "r");
	char *text = NULL, *line, *save;
	struct tfjs_error err;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	long n;

	n = tfjs_csv_predict(m, in, out, test_features, test_classes, &err);
	fclose(out);
	cr_assert_eq(n, 2, "rows predicted: %ld (%s)", n, err.message);
	cr_assert_eq(nn_predict(m, &x[0][0], 2, &y[0][0]), NN_OK, "nn_predict");

	line = strtok_r(text, "\n", &save);
	cr_assert_str_eq(line, "up,stay,down,class", "header");
	for (int r = 0; r < 2; r++) {
		float p[TEST_OUTPUTS];
		char best[16];

		line = strtok_r(NULL, "\n", &save);
		cr_assert_not_null(line, "row %d", r);
		cr_assert_eq(sscanf(line, "%g,%g,%g,%15s", &p[0], &p[1], &p[2], best), 4, "row %d: '%s'", r, line);
		for (int j = 0; j < TEST_OUTPUTS; j++)
			cr_assert_eq(p[j], y[r][j], "row %d class %d: %g vs %g", r, j, p[j], y[r][j]);
	}
	free(text);
	fclose(in);
	nn_free(m);
}

Test(tfjs, csv_predict_stops_at_bad_row)
{
	static const char rows[] = "0,0,0,0,0,0\n0,0,0,0,0\n0,0,0,0,0,0\n";
	struct nn_model *m = make_model(3);
	FILE *in = fmemopen((void *)rows, sizeof(rows) - 1, "r");
	char *text = NULL;
	struct tfjs_error err;
	size_t len = 0;
	FILE *out = open_memstream(&text, &len);
	int lines = 0;

	cr_assert_eq(tfjs_csv_predict(m, in, out, NULL, test_classes, &err), TFJS_ERR_CSV, "short row");
	fclose(out);
	cr_assert(strstr(err.message, "line 2: 5 values but 6 are expected"), "message: %s", err.message);
	for (char *p = text; *p; p++)
		lines += *p == '\n';
	cr_assert_eq(lines, 2, "the header and the first row were written:\n%s", text);
	free(text);
	fclose(in);
	nn_free(m);
}

Test(tfjs, info_feature_check)
{
	struct nn_model *m = make_model(1), *back = NULL;
	struct tfjs_meta meta = { "v2", test_features, TEST_INPUTS, test_classes, TEST_OUTPUTS };
	static const char *const other[TEST_INPUTS] = { "a", "b", "c", "x", "e", "f" };
	struct tfjs_info info;
	struct tfjs_error err;

	cr_assert_eq(tfjs_export_dir(m, in_test_dir("m"), &meta, NULL, &err), TFJS_OK, "export: %s", err.message);
	cr_assert_eq(tfjs_import_dir(&back, in_test_dir("m"), TEST_INPUTS, TEST_OUTPUTS, &info, &err), TFJS_OK,
		     "import: %s", err.message);
	cr_assert_eq(tfjs_info_check_features(&info, test_features, TEST_INPUTS, &err), TFJS_OK, "same names");
	cr_assert_eq(tfjs_info_check_features(&info, other, TEST_INPUTS, &err), TFJS_ERR_SHAPE, "different names");
	cr_assert(strstr(err.message, "feature 4 'd' where ttypong computes 'x'"), "message: %s", err.message);
	cr_assert_eq(tfjs_info_check_features(&info, test_features, 5, &err), TFJS_ERR_SHAPE, "different count");
	info.has_meta = 0;
	cr_assert_eq(tfjs_info_check_features(&info, other, TEST_INPUTS, &err), TFJS_OK, "no metadata, no check");
	nn_free(m);
	nn_free(back);
}
