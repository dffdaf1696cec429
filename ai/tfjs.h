/* tfjs: model exchange. Writes and reads the TensorFlow.js Layers format
 * (model.json plus binary weight files), reads and writes CSV rows of
 * features, and writes a self-contained C header with a model's weights.
 *
 * Every function reports failure as a negative enum tfjs_status and, when
 * given a struct tfjs_error, one line of text naming the file, the place in
 * it and what was wrong. Nothing here prints to the terminal or exits. */
#ifndef TTYPONG_TFJS_H
#define TTYPONG_TFJS_H

#include <stddef.h>
#include <stdio.h>

#include "nn.h"

enum tfjs_status {
	TFJS_OK = 0,
	TFJS_ERR_IO = -1,		/* a file or directory could not be read or written */
	TFJS_ERR_JSON = -2,		/* model.json is not valid JSON */
	TFJS_ERR_FORMAT = -3,		/* valid JSON that is not a TF.js Layers model */
	TFJS_ERR_UNSUPPORTED = -4,	/* a layer type, activation, dtype or topology ttypong cannot run */
	TFJS_ERR_SHAPE = -5,		/* input, output or weight sizes do not fit */
	TFJS_ERR_WEIGHTS = -6,		/* a weight is missing, assigned twice, or its data is short */
	TFJS_ERR_CSV = -7,		/* a CSV row is malformed */
	TFJS_ERR_NOMEM = -8,		/* an allocation failed */
	TFJS_ERR_NN = -9,		/* the network library rejected the model */
	TFJS_ERR_ARG = -10,		/* an invalid argument from the caller */
};

#define TFJS_ERROR_MAX 512
#define TFJS_NAME_MAX 64
#define TFJS_MAX_NAMES 32

/* File names inside an exported directory. */
#define TFJS_MODEL_FILE "model.json"
#define TFJS_WEIGHTS_FILE "group1-shard1of1.bin"

/* The key under userDefinedMetadata that contains ttypong's metadata. */
#define TFJS_META_KEY "ttypong"

struct tfjs_error {
	int status;			/* the enum tfjs_status also returned */
	char message[TFJS_ERROR_MAX];	/* one line without a trailing newline */
};

/* Returns a static description of a status, e.g. "invalid JSON". */
const char *tfjs_strerror(int status);

/* Metadata written into model.json under userDefinedMetadata.ttypong. */
struct tfjs_meta {
	const char *model_id;			/* model version id, or NULL */
	const char *const *feature_names;	/* names of the inputs, in input order */
	int n_features;				/* must equal the model's input count */
	const char *const *class_names;		/* names of the outputs, in output order */
	int n_classes;				/* must equal the model's output count */
};

/* Provenance and metadata found by an import. Strings are empty when absent. */
struct tfjs_info {
	char generated_by[128];
	char converted_by[128];
	int has_meta;				/* 1 if userDefinedMetadata.ttypong was present */
	char model_id[TFJS_NAME_MAX];
	int n_features;
	char feature_names[TFJS_MAX_NAMES][TFJS_NAME_MAX];
	int n_classes;
	char class_names[TFJS_MAX_NAMES][TFJS_NAME_MAX];
};

/* Exports model m as a TF.js Layers model into directory dir: model.json and
 * TFJS_WEIGHTS_FILE, loadable by tf.loadLayersModel unchanged. meta may be
 * NULL; otherwise its name counts must match the model. If web_src is not
 * NULL, the files under that directory (the browser page) are copied beside
 * model.json.
 *
 * The export is atomic: everything is written into a temporary directory next
 * to dir and renamed into place, so dir contains either the old content or the
 * complete new model. An existing dir is replaced only if it is empty or holds
 * nothing but an earlier export: a model.json with ttypong's metadata, the
 * weight files its manifest lists, and entries that web_src also has. Any
 * other existing path fails with TFJS_ERR_IO and is left untouched. Dense and
 * Dropout layers without a name get Keras-style names (dense_1, dropout_1). */
int tfjs_export_dir(struct nn_model *m, const char *dir,
		    const struct tfjs_meta *meta, const char *web_src,
		    struct tfjs_error *err);

/* Imports a TF.js Layers model from path, which names a model.json or the
 * directory holding it. The model must take n_inputs inputs and give
 * n_outputs outputs. On success stores a new model in *out (free it with
 * nn_free) and, if info is not NULL, fills it. On failure returns a negative
 * status, leaves *out NULL and describes the first problem in err.
 *
 * Accepted are Sequential models and functional models ("Model",
 * "Functional") whose layers form one chain, in Keras 2, Keras 3 and TF.js
 * spellings. Weights may be spread over any number of files, which are read
 * in manifest order. Weights that belong
 * to no layer of the model (optimizer state) are skipped. Every weight of the
 * model must appear exactly once, as float32. */
int tfjs_import_file(struct nn_model **out, const char *path, int n_inputs,
		     int n_outputs, struct tfjs_info *info, struct tfjs_error *err);

/* Same as tfjs_import_file for dir/model.json. */
int tfjs_import_dir(struct nn_model **out, const char *dir, int n_inputs,
		    int n_outputs, struct tfjs_info *info, struct tfjs_error *err);

/* Checks the feature names that an imported model's metadata lists against
 * the n names the caller computes. Returns TFJS_OK if they match or if the
 * model carries no feature names, else TFJS_ERR_SHAPE naming the first
 * difference. */
int tfjs_info_check_features(const struct tfjs_info *info, const char *const *names,
			     int n, struct tfjs_error *err);

/* Copies the regular files and subdirectories under src_dir into out_dir,
 * creating out_dir if needed and overwriting files of the same name. Symbolic
 * links and other special files are skipped. */
int tfjs_copy_web(const char *src_dir, const char *out_dir, struct tfjs_error *err);

/* Writes a C header to path that embeds model m: its weights as static const
 * float arrays, a table describing each layer, the feature and class names from
 * meta (may be NULL), and a static function <prefix>_predict(x, y) that runs
 * the model in eval mode with plain C and <math.h>. prefix must be a C
 * identifier; it starts every name in the header. The file is written through
 * a temporary file and renamed into place. */
int tfjs_write_c_header(struct nn_model *m, const char *path, const char *prefix,
			const struct tfjs_meta *meta, struct tfjs_error *err);

/* A reader of CSV rows of n_cols numbers each, such as feature rows for
 * prediction. The first non-blank line may be a header (it is one if its first
 * field is not a number). Blank lines are skipped, fields may be surrounded by
 * spaces, and lines may end in CR LF. */
struct tfjs_csv_reader {
	FILE *in;
	int n_cols;
	const char *const *names;	/* expected header names, or NULL */
	long line;			/* number of the last line read, from 1 */
	int seen_row;			/* a header is only accepted before the first row */
	char *buf;
	size_t cap;
};

/* Starts reading from in. If names is not NULL, a header must list exactly
 * these n_cols names in this order (a file without a header is still valid).
 * The reader does not own in. */
void tfjs_csv_reader_init(struct tfjs_csv_reader *r, FILE *in, int n_cols,
			  const char *const *names);

/* Reads the next row into row[0..n_cols-1]. Returns 1 if a row was read, 0 at
 * the end of input, or a negative status (TFJS_ERR_CSV naming the line and
 * column, TFJS_ERR_IO, TFJS_ERR_NOMEM). Values must be finite numbers. */
int tfjs_csv_next_row(struct tfjs_csv_reader *r, float *row, struct tfjs_error *err);

/* Frees the reader's line buffer. */
void tfjs_csv_reader_free(struct tfjs_csv_reader *r);

/* Writes the header of probability rows: one column per class name, then
 * "class" for the most probable class. */
int tfjs_csv_write_probs_header(FILE *out, const char *const *class_names,
				int n_classes, struct tfjs_error *err);

/* Writes one probability row: the n_classes probabilities with 9 significant
 * digits (enough to give back the same float), then the name of the most
 * probable class (the first on ties). */
int tfjs_csv_write_probs(FILE *out, const float *probs,
			 const char *const *class_names, int n_classes,
			 struct tfjs_error *err);

/* Reads CSV feature rows from in (see struct tfjs_csv_reader; names may be
 * NULL), runs model m in eval mode on each, and writes the probability
 * header and one probability row per input row to out. Returns the number of
 * rows (>= 0) or a negative status: TFJS_ERR_CSV naming the line, TFJS_ERR_IO,
 * TFJS_ERR_NOMEM or TFJS_ERR_NN. Rows before a malformed one are written. */
long tfjs_csv_predict(struct nn_model *m, FILE *in, FILE *out,
		      const char *const *feature_names,
		      const char *const *class_names, struct tfjs_error *err);

/* Writes labelled records as CSV: a header naming the n_features features
 * and label_name, then one row per record with its features (row-major in
 * features[n_rows][n_features]) and its integer label. */
int tfjs_csv_write_records(FILE *out, const char *const *feature_names,
			   int n_features, const char *label_name,
			   const float *features, const int *labels,
			   size_t n_rows, struct tfjs_error *err);

#endif
