/* tfjs: the TensorFlow.js Layers format, CSV rows and C headers.
 *
 * A TF.js Layers model is a directory holding model.json and weight files.
 * model.json is an object with "format": "layers-model", "modelTopology" (a
 * Keras model config, possibly wrapped as {"model_config": ...} by the Keras
 * converter) and "weightsManifest": a list of groups {paths, weights}. The
 * weight data is the concatenation of every listed file in manifest order.
 * The entries of all groups follow each other through it with no padding,
 * and each takes (number of elements) x (bytes of its dtype), little-endian.
 * TF.js 4.22 (tfjs-core io_utils.decodeWeights, weights_loader) reads it this
 * way, and so does this module.
 *
 * What this module writes: one Sequential model whose Dense weights are
 * "<layer>/kernel" with shape [inputs, units] (Keras order, row-major) and
 * "<layer>/bias" with shape [units], float32, in layer order in the single
 * file TFJS_WEIGHTS_FILE, and ttypong's metadata under
 * userDefinedMetadata.ttypong. Dropout variants that TF.js has keep their
 * class (AlphaDropout, GaussianDropout, and SpatialDropout1D between a
 * Reshape to [steps, channels] and a Flatten). DropConnect, ConcreteDropout
 * and VariationalDropout are written as the Dense layer they compute in
 * eval mode; the metadata's "dropout" list names every dropout layer's
 * variant and its rates. */
#include "tfjs.h"

#include <assert.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* The Makefile sets the release version; generatedBy and headers name it. */
#ifndef TTYPONG_VERSION
#error "TTYPONG_VERSION must be defined by the build (see Makefile)"
#endif

/* The TF.js Layers dialect written and read; keras_version records it the
 * way TF.js 4.22 itself does when it saves a model. */
#define TFJS_KERAS_VERSION "tfjs-layers 4.22.0"
#define TFJS_BACKEND "tensor_flow.js"
#define TFJS_META_FORMAT 1

/* The largest weight tensor accepted, in elements: far above any model that
 * ttypong trains, and small enough that byte counts cannot overflow. */
#define TFJS_MAX_ELEMENTS (1L << 28)

/* The largest model.json read (a 6-256-256-3 model's is about 5 KiB), the
 * largest file of the web page copied, and the largest total of weight data
 * read when the manifest does not give it (string tensors). */
/* The limits of the network library (ai/nn.c), named in import errors. */
#define TFJS_NN_MAX_WIDTH (1 << 20)
#define TFJS_NN_MAX_LAYERS 1024
#define TFJS_NN_MAX_PARAMS ((size_t)1 << 28)

/* A UTF-8 byte order mark, which some editors put at the start of a file. */
#define TFJS_UTF8_BOM "\xef\xbb\xbf"

#define TFJS_MAX_JSON_BYTES ((size_t)16 << 20)
#define TFJS_MAX_WEB_BYTES ((size_t)64 << 20)
#define TFJS_MAX_WEIGHT_BYTES ((size_t)TFJS_MAX_ELEMENTS * 4)

/* The characters that the network library allows in layer names. */
#define TFJS_NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-"

#define TFJS_SUPPORTED_LAYERS \
	"Dense, Dropout, AlphaDropout, GaussianDropout, InputLayer, and SpatialDropout1D between Reshape and Flatten"

static int tfjs_fail(struct tfjs_error *err, int status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int tfjs_fail(struct tfjs_error *err, int status, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->status = status;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof(err->message), fmt, ap);
		va_end(ap);
	}
	return status;
}

static void tfjs_ok(struct tfjs_error *err)
{
	if (err) {
		err->status = TFJS_OK;
		err->message[0] = '\0';
	}
}

const char *tfjs_strerror(int status)
{
	switch (status) {
	case TFJS_OK: return "success";
	case TFJS_ERR_IO: return "file input or output failed";
	case TFJS_ERR_JSON: return "invalid JSON";
	case TFJS_ERR_FORMAT: return "not a valid TF.js Layers model";
	case TFJS_ERR_UNSUPPORTED: return "unsupported model feature";
	case TFJS_ERR_SHAPE: return "input, output or weight shape mismatch";
	case TFJS_ERR_WEIGHTS: return "missing, duplicate or short weights";
	case TFJS_ERR_CSV: return "malformed CSV";
	case TFJS_ERR_NOMEM: return "out of memory";
	case TFJS_ERR_NN: return "network library error";
	case TFJS_ERR_ARG: return "invalid argument";
	default: return "unknown status";
	}
}

/* ---- Files ---- */

static void tfjs_put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static uint32_t tfjs_get_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void tfjs_put_float(unsigned char *p, float f)
{
	uint32_t v;

	memcpy(&v, &f, sizeof(v));
	tfjs_put_le32(p, v);
}

static float tfjs_get_float(const unsigned char *p)
{
	uint32_t v = tfjs_get_le32(p);
	float f;

	memcpy(&f, &v, sizeof(f));
	return f;
}

/* Joins dir and name into out; fails with TFJS_ERR_ARG if it does not fit. */
static int tfjs_join(char *out, size_t cap, const char *dir, const char *name,
		     struct tfjs_error *err)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= cap)
		return tfjs_fail(err, TFJS_ERR_ARG, "%s/%s: path is too long", dir, name);
	return TFJS_OK;
}

/* Reads a whole regular file of at most max_len bytes into a new buffer
 * (*buf, freed by the caller) with a terminating NUL byte not counted in
 * *len. FIFOs, devices and directories fail with TFJS_ERR_IO without being
 * read (the open does not block on a FIFO), and so does a larger file. */
static int tfjs_read_file(const char *path, size_t max_len, unsigned char **buf,
			  size_t *len, struct tfjs_error *err)
{
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	unsigned char *data = NULL;
	struct stat st;
	size_t n = 0;
	int rc = TFJS_OK;

	*buf = NULL;
	*len = 0;
	if (fd < 0) {
		int e = errno;

		tfjs_fail(err, TFJS_ERR_IO, "%s: cannot open: %s", path, strerror(e));
		errno = e;	/* callers may name the cause in their own message */
		return TFJS_ERR_IO;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		rc = tfjs_fail(err, TFJS_ERR_IO, "%s: not a regular file", path);
		errno = EINVAL;
		goto out;
	}
	if ((unsigned long long)st.st_size > max_len) {
		rc = tfjs_fail(err, TFJS_ERR_IO, "%s: %lld bytes, more than the %zu allowed",
			       path, (long long)st.st_size, max_len);
		errno = EFBIG;
		goto out;
	}

	/* Reading one byte more than fstat reported detects a file that grew. */
	data = malloc(max_len < (size_t)st.st_size + 1 ? max_len + 2 : (size_t)st.st_size + 2);
	if (!data) {
		rc = tfjs_fail(err, TFJS_ERR_NOMEM, "%s: out of memory", path);
		goto out;
	}
	for (size_t want = (size_t)st.st_size + 1; n < want;) {
		ssize_t got = read(fd, data + n, want - n);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = tfjs_fail(err, TFJS_ERR_IO, "%s: read failed: %s", path, strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		n += (size_t)got;
	}
	if (n > (size_t)st.st_size) {
		rc = tfjs_fail(err, TFJS_ERR_IO, "%s: the file changed while it was read", path);
		errno = EAGAIN;
		goto out;
	}
	data[n] = '\0';
	*buf = data;
	*len = n;
	data = NULL;
out:
	free(data);
	close(fd);
	return rc;
}

/* Writes len bytes to a new file at path and flushes them to the disk. */
static int tfjs_write_file(const char *path, const void *data, size_t len,
			   struct tfjs_error *err)
{
	const unsigned char *p = data;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0)
		return tfjs_fail(err, TFJS_ERR_IO, "%s: cannot create: %s", path, strerror(errno));

	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			close(fd);
			return tfjs_fail(err, TFJS_ERR_IO, "%s: write failed: %s", path, strerror(e));
		}
		p += n;
		len -= (size_t)n;
	}

	if (fsync(fd) != 0 || close(fd) != 0)
		return tfjs_fail(err, TFJS_ERR_IO, "%s: write failed: %s", path, strerror(errno));
	return TFJS_OK;
}

static int tfjs_remove_entry(const char *path, const struct stat *st, int type,
			     struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	return remove(path);
}

/* Removes a directory tree without following symbolic links. */
static int tfjs_remove_tree(const char *path)
{
	return nftw(path, tfjs_remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Splits path into its parent directory and a last component without
 * trailing slashes. */
static int tfjs_split_path(const char *path, char *parent, char *base, size_t cap,
			   struct tfjs_error *err)
{
	size_t len = strlen(path);

	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len == 0 || len >= cap)
		return tfjs_fail(err, TFJS_ERR_ARG, "'%s': invalid output directory", path);

	size_t slash = len;

	while (slash > 0 && path[slash - 1] != '/')
		slash--;
	if (slash == 0) {
		strcpy(parent, ".");
	} else {
		memcpy(parent, path, slash);
		parent[slash > 1 ? slash - 1 : 1] = '\0';
	}
	memcpy(base, path + slash, len - slash);
	base[len - slash] = '\0';
	if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
		return tfjs_fail(err, TFJS_ERR_ARG, "'%s': invalid output directory", path);
	return TFJS_OK;
}

/* Returns 1 if dir is empty, 0 if not, -1 if it cannot be read. */
static int tfjs_dir_is_empty(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int empty = 1;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
			empty = 0;
			break;
		}
	}
	closedir(d);
	return empty;
}

/* Returns 1 if path is a regular file and web_path one too, or both are
 * directories and this holds for every entry under path; else 0 with the
 * first other entry's path in bad. web_path may be NULL (no web page). */
static int tfjs_is_web_entry(const char *path, const char *web_path, char *bad, size_t cap)
{
	char a[PATH_MAX], b[PATH_MAX];
	struct stat sa, sb;
	struct dirent *e;
	int ok = 1;
	DIR *d;

	snprintf(bad, cap, "%s", path);
	if (!web_path || lstat(path, &sa) != 0 || lstat(web_path, &sb) != 0)
		return 0;
	if (S_ISREG(sa.st_mode) && S_ISREG(sb.st_mode))
		return 1;
	if (!S_ISDIR(sa.st_mode) || !S_ISDIR(sb.st_mode) || !(d = opendir(path)))
		return 0;
	while (ok && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		ok = snprintf(a, sizeof(a), "%s/%s", path, e->d_name) < (int)sizeof(a) &&
		     snprintf(b, sizeof(b), "%s/%s", web_path, e->d_name) < (int)sizeof(b) &&
		     tfjs_is_web_entry(a, b, bad, cap);
	}
	closedir(d);
	return ok;
}

/* Checks that the existing directory dir may be replaced: it is empty, or it
 * contains nothing but an earlier ttypong export: a model.json carrying
 * ttypong's metadata, the weight files its manifest lists, and files and
 * directories that the web page web (may be NULL) also has. Anything else
 * fails with TFJS_ERR_IO, so that no file ttypong did not write is removed. */
static int tfjs_check_replaceable(const char *dir, const char *web, struct tfjs_error *err)
{
	char path[PATH_MAX], web_path[PATH_MAX], bad[PATH_MAX];
	unsigned char *text = NULL;
	json_t *root = NULL, *group, *p;
	struct dirent *e;
	struct stat st;
	size_t len, gi, pi;
	int rc = TFJS_OK;
	DIR *d;

	if (tfjs_dir_is_empty(dir) == 1)
		return TFJS_OK;
	rc = tfjs_join(path, sizeof(path), dir, TFJS_MODEL_FILE, err);
	if (!rc && (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) ||
		    tfjs_read_file(path, TFJS_MAX_JSON_BYTES, &text, &len, NULL) != TFJS_OK ||
		    !(root = json_loadb((const char *)text, len, 0, NULL)) ||
		    !json_is_object(json_object_get(json_object_get(root, "userDefinedMetadata"), TFJS_META_KEY))))
		rc = tfjs_fail(err, TFJS_ERR_IO, "%s exists and holds no ttypong export; choose an empty or new directory",
			       dir);
	free(text);
	if (rc)
		goto out;

	d = opendir(dir);
	if (!d) {
		rc = tfjs_fail(err, TFJS_ERR_IO, "%s: cannot open: %s", dir, strerror(errno));
		goto out;
	}
	while (!rc && (e = readdir(d))) {
		int known = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
			    strcmp(e->d_name, TFJS_MODEL_FILE) == 0;

		json_array_foreach(json_object_get(root, "weightsManifest"), gi, group)
			json_array_foreach(json_object_get(group, "paths"), pi, p)
				if (json_is_string(p) && strcmp(json_string_value(p), e->d_name) == 0)
					known = 1;
		if (known)
			continue;
		rc = tfjs_join(path, sizeof(path), dir, e->d_name, err);
		if (!rc && web)
			rc = tfjs_join(web_path, sizeof(web_path), web, e->d_name, err);
		if (!rc && !tfjs_is_web_entry(path, web ? web_path : NULL, bad, sizeof(bad)))
			rc = tfjs_fail(err, TFJS_ERR_IO, "%s exists and holds %s, which is not part of a ttypong export; choose an empty or new directory",
				       dir, bad);
	}
	closedir(d);
out:
	json_decref(root);
	return rc;
}

/* Moves the finished directory tmp to dir. An existing dir is first moved
 * aside and removed after the rename, so dir never contains a partial model.
 * Between the two renames dir is briefly absent. */
static int tfjs_install_dir(const char *tmp, const char *dir, const char *parent,
			    const char *base, const char *web, struct tfjs_error *err)
{
	char old[PATH_MAX];
	struct stat st;
	int rc;

	if (lstat(dir, &st) != 0) {
		if (errno != ENOENT)
			return tfjs_fail(err, TFJS_ERR_IO, "%s: %s", dir, strerror(errno));
		if (rename(tmp, dir) != 0)
			return tfjs_fail(err, TFJS_ERR_IO, "%s: cannot rename into place: %s",
					 dir, strerror(errno));
		return TFJS_OK;
	}
	if (!S_ISDIR(st.st_mode))
		return tfjs_fail(err, TFJS_ERR_IO, "%s exists and is not a directory; choose another output path", dir);

	rc = tfjs_check_replaceable(dir, web, err);
	if (rc)
		return rc;

	/* mkdtemp reserves a unique name; rename() may replace an empty directory. */
	if (snprintf(old, sizeof(old), "%s/.%s.old-XXXXXX", parent, base) >= (int)sizeof(old))
		return tfjs_fail(err, TFJS_ERR_ARG, "%s: path is too long", dir);
	if (!mkdtemp(old))
		return tfjs_fail(err, TFJS_ERR_IO, "%s: cannot create a directory: %s", old, strerror(errno));
	if (rename(dir, old) != 0) {
		rc = tfjs_fail(err, TFJS_ERR_IO, "%s: cannot move the old model aside: %s", dir, strerror(errno));
		rmdir(old);
		return rc;
	}
	if (rename(tmp, dir) != 0) {
		rc = tfjs_fail(err, TFJS_ERR_IO, "%s: cannot rename into place: %s", dir, strerror(errno));
		rename(old, dir);
		return rc;
	}
	tfjs_remove_tree(old);
	return TFJS_OK;
}

/* ---- Copying the web page ---- */

static int tfjs_copy_file(const char *src, const char *dst, struct tfjs_error *err)
{
	unsigned char *data;
	size_t len;
	int rc = tfjs_read_file(src, TFJS_MAX_WEB_BYTES, &data, &len, err);

	if (rc)
		return rc;
	rc = tfjs_write_file(dst, data, len, err);
	free(data);
	return rc;
}

int tfjs_copy_web(const char *src_dir, const char *out_dir, struct tfjs_error *err)
{
	char src[PATH_MAX], dst[PATH_MAX];
	struct dirent *e;
	struct stat st;
	int rc = TFJS_OK;
	DIR *d;

	if (mkdir(out_dir, 0755) != 0 && errno != EEXIST)
		return tfjs_fail(err, TFJS_ERR_IO, "%s: cannot create: %s", out_dir, strerror(errno));
	d = opendir(src_dir);
	if (!d)
		return tfjs_fail(err, TFJS_ERR_IO, "%s: cannot open: %s", src_dir, strerror(errno));

	while (rc == TFJS_OK && (e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		rc = tfjs_join(src, sizeof(src), src_dir, e->d_name, err);
		if (!rc)
			rc = tfjs_join(dst, sizeof(dst), out_dir, e->d_name, err);
		if (rc)
			break;
		if (lstat(src, &st) != 0) {
			rc = tfjs_fail(err, TFJS_ERR_IO, "%s: %s", src, strerror(errno));
			break;
		}
		if (S_ISDIR(st.st_mode))
			rc = tfjs_copy_web(src, dst, err);
		else if (S_ISREG(st.st_mode))
			rc = tfjs_copy_file(src, dst, err);
	}
	closedir(d);
	if (rc == TFJS_OK)
		tfjs_ok(err);
	return rc;
}

/* ---- Export ---- */

/* Fills names[i] with each layer's name, giving unnamed layers Keras-style
 * names, and checks that the names are unique and usable in weight names. */
static int tfjs_layer_names(struct nn_model *m, char (*names)[TFJS_NAME_MAX],
			    struct tfjs_error *err)
{
	int n = nn_n_layers(m), n_dense = 0, n_dropout = 0;

	for (int i = 0; i < n; i++) {
		const struct nn_layer_desc *l = nn_layer(m, i);

		if (nn_kind_is_dense(l->kind))
			n_dense++;
		else
			n_dropout++;
		if (l->name[0])
			snprintf(names[i], TFJS_NAME_MAX, "%s", l->name);
		else if (nn_kind_is_dense(l->kind))
			snprintf(names[i], TFJS_NAME_MAX, "dense_%d", n_dense);
		else
			snprintf(names[i], TFJS_NAME_MAX, "dropout_%d", n_dropout);

		if (strchr(names[i], '/') || strchr(names[i], ':'))
			return tfjs_fail(err, TFJS_ERR_ARG, "layer %d name '%s' contains '/' or ':', which weight names reserve",
					 i + 1, names[i]);
		for (int j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				return tfjs_fail(err, TFJS_ERR_ARG, "layers %d and %d are both named '%s'",
						 j + 1, i + 1, names[i]);
	}
	return TFJS_OK;
}

/* The layer's kernel initializer as a VarianceScaling config, the form TF.js
 * itself writes: Glorot uniform is fan_avg/uniform, LeCun normal fan_in/normal
 * (TF.js accepts "normal", not Keras's "truncated_normal"). */
static json_t *tfjs_initializer(const struct nn_layer_desc *l)
{
	int lecun = l->init == NN_INIT_LECUN_NORMAL || (l->init == NN_INIT_AUTO && l->act == NN_ACT_SELU);

	return json_pack("{s:s, s:{s:f, s:s, s:s, s:n}}", "class_name", "VarianceScaling",
			 "config", "scale", 1.0, "mode", lecun ? "fan_in" : "fan_avg",
			 "distribution", lecun ? "normal" : "uniform", "seed");
}

static json_t *tfjs_dense_json(const struct nn_layer_desc *l, const char *name)
{
	return json_pack("{s:s, s:{s:i, s:s, s:b, s:o, s:{s:s, s:{}}, s:n, s:n, s:n, s:n, s:n, s:s, s:b, s:s}}",
			 "class_name", "Dense", "config",
			 "units", l->units, "activation", nn_act_name(l->act), "use_bias", l->use_bias,
			 "kernel_initializer", tfjs_initializer(l),
			 "bias_initializer", "class_name", "Zeros", "config",
			 "kernel_regularizer", "bias_regularizer", "activity_regularizer",
			 "kernel_constraint", "bias_constraint",
			 "name", name, "trainable", 1, "dtype", "float32");
}

/* Dropout, AlphaDropout, GaussianDropout and SpatialDropout1D, under their
 * TF.js class names with the config keys TF.js 4.22 writes. */
static json_t *tfjs_dropout_json(const struct nn_layer_desc *l, const char *name)
{
	const char *cls = nn_kind_name(l->kind);

	if (l->kind == NN_GAUSSIAN_DROPOUT)
		return json_pack("{s:s, s:{s:f, s:s, s:b, s:s}}", "class_name", cls, "config",
				 "rate", (double)l->rate, "name", name, "trainable", 1, "dtype", "float32");
	return json_pack("{s:s, s:{s:f, s:n, s:n, s:s, s:b, s:s}}", "class_name", cls, "config",
			 "rate", (double)l->rate, "noise_shape", "seed", "name", name,
			 "trainable", 1, "dtype", "float32");
}

/* A shape-only layer (Reshape to [steps, channels], or Flatten when steps is
 * 0) named after the SpatialDropout1D layer it serves. */
static json_t *tfjs_shape_json(const char *name, const char *suffix, int steps, int channels)
{
	char full[TFJS_NAME_MAX + 16];

	snprintf(full, sizeof(full), "%s_%s", name, suffix);
	if (steps == 0)
		return json_pack("{s:s, s:{s:s, s:b, s:s}}", "class_name", "Flatten", "config",
				 "name", full, "trainable", 1, "dtype", "float32");
	return json_pack("{s:s, s:{s:[i, i], s:s, s:b, s:s}}", "class_name", "Reshape", "config",
			 "target_shape", steps, channels, "name", full, "trainable", 1, "dtype", "float32");
}

/* Appends the TF.js layers of model layer i to layers: one, or three for
 * SpatialDropout1D. The first layer of the model carries the input shape. */
static int tfjs_append_layer(json_t *layers, struct nn_model *m, int i, const char *name)
{
	const struct nn_layer_desc *l = nn_layer(m, i);
	int in = nn_layer_inputs(m, i);
	json_t *parts[3] = { NULL, NULL, NULL };
	int n = 0, bad = 0;

	if (nn_kind_is_dense(l->kind)) {
		parts[n++] = tfjs_dense_json(l, name);
	} else if (l->kind == NN_SPATIAL_DROPOUT_1D) {
		parts[n++] = tfjs_shape_json(name, "reshape", l->steps, in / l->steps);
		parts[n++] = tfjs_dropout_json(l, name);
		parts[n++] = tfjs_shape_json(name, "flatten", 0, 0);
	} else {
		parts[n++] = tfjs_dropout_json(l, name);
	}

	/* Keras's Sequential takes the input shape from its first layer. */
	if (parts[0] && i == 0)
		bad |= json_object_set_new(json_object_get(parts[0], "config"), "batch_input_shape",
					   json_pack("[n, i]", nn_n_inputs(m))) != 0;
	for (int k = 0; k < n; k++)
		bad |= !parts[k] || json_array_append_new(layers, parts[k]) != 0;
	return bad ? -1 : 0;
}

/* The metadata's "dropout" list: for every dropout layer, its name (as in
 * the topology), variant, configured rate and current rates (the learned
 * ones for ConcreteDropout and VariationalDropout, one per input unit for
 * the latter). */
static json_t *tfjs_dropout_meta(struct nn_model *m, char (*names)[TFJS_NAME_MAX])
{
	json_t *list = json_array();

	for (int i = 0; list && i < nn_n_layers(m); i++) {
		const struct nn_layer_desc *l = nn_layer(m, i);
		int count = nn_drop_rates(m, i, NULL, 0);
		float *rates;
		json_t *entry, *values;

		if (l->kind == NN_DENSE)
			continue;
		rates = calloc((size_t)count + 1, sizeof(*rates));
		values = json_array();
		if (rates)
			nn_drop_rates(m, i, rates, count);
		for (int k = 0; rates && values && k < count; k++)
			json_array_append_new(values, json_real(rates[k]));
		entry = json_pack("{s:s, s:s, s:f, s:o}", "layer", names[i], "variant",
				  nn_kind_name(l->kind), "rate", (double)l->rate, "rates", values);
		free(rates);
		if (!entry || json_array_append_new(list, entry) != 0) {
			json_decref(list);
			return NULL;
		}
	}
	return list;
}

static json_t *tfjs_string_array(const char *const *names, int n)
{
	json_t *a = json_array();

	for (int i = 0; a && i < n; i++) {
		if (json_array_append_new(a, json_string(names[i] ? names[i] : "")) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *tfjs_meta_json(const struct tfjs_meta *meta)
{
	json_t *o = json_pack("{s:i}", "format_version", TFJS_META_FORMAT);

	if (!o)
		return NULL;
	if (meta && meta->model_id &&
	    json_object_set_new(o, "model_id", json_string(meta->model_id)) != 0)
		goto fail;
	if (meta && meta->feature_names &&
	    json_object_set_new(o, "features", tfjs_string_array(meta->feature_names, meta->n_features)) != 0)
		goto fail;
	if (meta && meta->class_names &&
	    json_object_set_new(o, "classes", tfjs_string_array(meta->class_names, meta->n_classes)) != 0)
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* Adds "<layer>/<what>" with the given shape to the manifest's weight list. */
static int tfjs_add_spec(json_t *specs, const char *layer, const char *what,
			 int rows, int cols)
{
	char name[2 * TFJS_NAME_MAX];
	json_t *shape;

	snprintf(name, sizeof(name), "%s/%s", layer, what);
	shape = cols > 0 ? json_pack("[i, i]", rows, cols) : json_pack("[i]", rows);
	return json_array_append_new(specs, json_pack("{s:s, s:o, s:s}", "name", name,
						      "shape", shape, "dtype", "float32"));
}

/* Builds model.json and the weight data (*data, *len; freed by the caller). */
static int tfjs_build_export(struct nn_model *m, const struct tfjs_meta *meta,
			     json_t **out_json, unsigned char **data, size_t *len,
			     struct tfjs_error *err)
{
	int n = nn_n_layers(m);
	char (*names)[TFJS_NAME_MAX] = calloc((size_t)n, TFJS_NAME_MAX);
	json_t *root = NULL, *layers, *specs;
	size_t n_floats = 0, pos = 0;
	unsigned char *buf = NULL;
	int rc;

	*out_json = NULL;
	*data = NULL;
	if (!names)
		return tfjs_fail(err, TFJS_ERR_NOMEM, "out of memory");
	rc = tfjs_layer_names(m, names, err);
	if (rc)
		goto out;

	root = json_pack("{s:{s:s, s:{s:s, s:[]}, s:s, s:s}, s:s, s:s, s:n, s:[{s:[s], s:[]}], s:{s:o}}",
			 "modelTopology", "class_name", "Sequential", "config", "name", "sequential",
			 "layers", "keras_version", TFJS_KERAS_VERSION, "backend", TFJS_BACKEND,
			 "format", "layers-model", "generatedBy", "ttypong " TTYPONG_VERSION,
			 "convertedBy", "weightsManifest", "paths", TFJS_WEIGHTS_FILE, "weights",
			 "userDefinedMetadata", TFJS_META_KEY, tfjs_meta_json(meta));
	if (!root) {
		rc = tfjs_fail(err, TFJS_ERR_NOMEM, "out of memory building %s", TFJS_MODEL_FILE);
		goto out;
	}
	layers = json_object_get(json_object_get(json_object_get(root, "modelTopology"), "config"), "layers");
	specs = json_object_get(json_array_get(json_object_get(root, "weightsManifest"), 0), "weights");

	if (json_object_set_new(json_object_get(json_object_get(root, "userDefinedMetadata"), TFJS_META_KEY),
				"dropout", tfjs_dropout_meta(m, names)) != 0) {
		rc = tfjs_fail(err, TFJS_ERR_NOMEM, "out of memory building %s", TFJS_MODEL_FILE);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const struct nn_layer_desc *l = nn_layer(m, i);
		int in = nn_layer_inputs(m, i);
		int bad = tfjs_append_layer(layers, m, i, names[i]) != 0;

		if (nn_kind_is_dense(l->kind)) {
			bad |= tfjs_add_spec(specs, names[i], "kernel", in, l->units) != 0;
			n_floats += (size_t)in * (size_t)l->units;
			if (nn_bias(m, i)) {
				bad |= tfjs_add_spec(specs, names[i], "bias", l->units, 0) != 0;
				n_floats += (size_t)l->units;
			}
		}
		if (bad) {
			rc = tfjs_fail(err, TFJS_ERR_NOMEM, "out of memory building %s", TFJS_MODEL_FILE);
			goto out;
		}
	}

	buf = malloc(n_floats * 4 + 1);
	if (!buf) {
		rc = tfjs_fail(err, TFJS_ERR_NOMEM, "out of memory for %zu weights", n_floats);
		goto out;
	}
	for (int i = 0; i < n; i++) {
		const struct nn_layer_desc *l = nn_layer(m, i);
		size_t nk = (size_t)nn_layer_inputs(m, i) * (size_t)l->units;
		const float *k = nn_kernel(m, i), *b = nn_bias(m, i);

		if (!nn_kind_is_dense(l->kind))
			continue;
		for (size_t j = 0; j < nk; j++, pos += 4)
			tfjs_put_float(buf + pos, k[j]);
		for (int j = 0; b && j < l->units; j++, pos += 4)
			tfjs_put_float(buf + pos, b[j]);
	}
	assert(pos == n_floats * 4);

	*out_json = root;
	*data = buf;
	*len = pos;
	root = NULL;
	buf = NULL;
out:
	json_decref(root);
	free(buf);
	free(names);
	return rc;
}

static int tfjs_check_meta(struct nn_model *m, const struct tfjs_meta *meta,
			   struct tfjs_error *err)
{
	if (!meta)
		return TFJS_OK;
	if (meta->feature_names && meta->n_features != nn_n_inputs(m))
		return tfjs_fail(err, TFJS_ERR_ARG, "metadata names %d features but the model takes %d inputs",
				 meta->n_features, nn_n_inputs(m));
	if (meta->class_names && meta->n_classes != nn_n_outputs(m))
		return tfjs_fail(err, TFJS_ERR_ARG, "metadata names %d classes but the model gives %d outputs",
				 meta->n_classes, nn_n_outputs(m));
	return TFJS_OK;
}

int tfjs_export_dir(struct nn_model *m, const char *dir,
		    const struct tfjs_meta *meta, const char *web_src,
		    struct tfjs_error *err)
{
	char parent[PATH_MAX], base[NAME_MAX + 1], tmp[PATH_MAX], path[PATH_MAX], real[PATH_MAX];
	unsigned char *data = NULL;
	struct stat st;
	char *text = NULL;
	json_t *root = NULL;
	int have_tmp = 0;
	size_t len = 0;
	int rc;

	/* A link to a directory is treated as that directory, which is replaced. */
	if (lstat(dir, &st) == 0 && S_ISLNK(st.st_mode) && stat(dir, &st) == 0 && S_ISDIR(st.st_mode) &&
	    realpath(dir, real))
		dir = real;

	rc = tfjs_check_meta(m, meta, err);
	if (!rc)
		rc = tfjs_split_path(dir, parent, base, sizeof(base), err);
	if (!rc)
		rc = tfjs_build_export(m, meta, &root, &data, &len, err);
	if (rc)
		goto out;
	text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	if (!text) {
		rc = tfjs_fail(err, TFJS_ERR_NOMEM, "out of memory writing %s", TFJS_MODEL_FILE);
		goto out;
	}

	/* Build the whole directory beside its target, then rename it. */
	if (snprintf(tmp, sizeof(tmp), "%s/.%s.tmp-XXXXXX", parent, base) >= (int)sizeof(tmp)) {
		rc = tfjs_fail(err, TFJS_ERR_ARG, "%s: path is too long", dir);
		goto out;
	}
	if (!mkdtemp(tmp)) {
		rc = tfjs_fail(err, TFJS_ERR_IO, "%s: cannot create a directory beside it: %s", dir, strerror(errno));
		goto out;
	}
	have_tmp = 1;
	if (web_src) {
		rc = tfjs_copy_web(web_src, tmp, err);
		if (rc)
			goto out;
	}
	rc = tfjs_join(path, sizeof(path), tmp, TFJS_WEIGHTS_FILE, err);
	if (!rc)
		rc = tfjs_write_file(path, data, len, err);
	if (!rc)
		rc = tfjs_join(path, sizeof(path), tmp, TFJS_MODEL_FILE, err);
	if (!rc)
		rc = tfjs_write_file(path, text, strlen(text), err);
	if (!rc && chmod(tmp, 0755) != 0)
		rc = tfjs_fail(err, TFJS_ERR_IO, "%s: %s", tmp, strerror(errno));
	if (!rc)
		rc = tfjs_install_dir(tmp, dir, parent, base, web_src, err);
	if (!rc)
		have_tmp = 0;
out:
	if (have_tmp)
		tfjs_remove_tree(tmp);
	free(text);
	free(data);
	json_decref(root);
	if (rc == TFJS_OK)
		tfjs_ok(err);
	return rc;
}

/* ---- Import ---- */

/* One layer of the model being imported (InputLayer excluded). */
struct tfjs_layer {
	int position;			/* 1-based place in the file's layer list */
	const char *class_name;
	struct nn_layer_desc desc;
	int kernel_entry;		/* manifest entry that set the kernel, from 1; 0 if none */
	int bias_entry;
	int reshape_width;		/* SpatialDropout1D: steps x channels of its Reshape */
};

struct tfjs_import {
	const char *path;		/* model.json as named in messages */
	char dir[PATH_MAX];		/* directory that weight paths are relative to */
	struct tfjs_error *err;
	json_t *root;
	json_t *chain;			/* layer objects from input to output */
	struct tfjs_layer *layers;
	int n_layers;
	int input_units;		/* from the input shape; 0 if the file gives none */
	/* A Reshape to [steps, channels] opens a SpatialDropout1D, which a
	 * Flatten must close; ttypong's exports write that pattern. */
	int reshape_steps;		/* steps of an open Reshape, 0 if none */
	int reshape_width;
	int need_flatten;		/* a SpatialDropout1D awaits its Flatten */
	unsigned char *data;		/* all weight files concatenated */
	size_t data_len;
	char files[512];		/* their names, for messages */
};

static int tfjs_is_optimizer_root(const char *s, size_t len)
{
	static const char *const roots[] = {
		"optimizer", "adam", "adamw", "adamax", "nadam", "sgd", "rmsprop",
		"adagrad", "adadelta", "ftrl", "lion", "training",
	};

	for (size_t i = 0; i < sizeof(roots) / sizeof(roots[0]); i++)
		if (strlen(roots[i]) == len && strncasecmp(s, roots[i], len) == 0)
			return 1;
	return 0;
}

/* Reads model.json into imp->root; JSON errors carry jansson's line and
 * column. */
static int tfjs_load_json(struct tfjs_import *imp)
{
	unsigned char *text;
	size_t len, skip;
	json_error_t je;
	int rc = tfjs_read_file(imp->path, TFJS_MAX_JSON_BYTES, &text, &len, imp->err);

	if (rc)
		return rc;
	/* Browsers' fetch().json() skips a byte order mark; so does this. */
	skip = len >= 3 && memcmp(text, TFJS_UTF8_BOM, 3) == 0 ? 3 : 0;
	imp->root = json_loadb((const char *)text + skip, len - skip, 0, &je);
	free(text);
	if (!imp->root)
		return tfjs_fail(imp->err, TFJS_ERR_JSON, "%s:%d:%d: invalid JSON: %s",
				 imp->path, je.line, je.column, je.text);
	if (!json_is_object(imp->root))
		return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: not a TF.js Layers model: the top level is not a JSON object",
				 imp->path);
	return TFJS_OK;
}

static const char *tfjs_layer_name(json_t *layer)
{
	const char *name = json_string_value(json_object_get(json_object_get(layer, "config"), "name"));

	if (!name)
		name = json_string_value(json_object_get(layer, "name"));
	return name ? name : "";
}

/* Returns the layer list of a Sequential config (Keras 2.2+ and TF.js use
 * {"layers": [...]}, older Keras the bare list). */
static json_t *tfjs_sequential_layers(json_t *config)
{
	return json_is_array(config) ? config : json_object_get(config, "layers");
}

/* Returns the layer name in a Keras 2 [name, node, tensor, kwargs] or a
 * Keras 3 keras_history reference, or NULL. */
static const char *tfjs_ref_name(json_t *ref)
{
	json_t *hist;

	if (json_is_array(ref))
		return json_string_value(json_array_get(ref, 0));
	hist = json_object_get(json_object_get(ref, "config"), "keras_history");
	return json_string_value(json_array_get(hist, 0));
}

/* Returns 1 if a tensor reference's node and tensor indices are both 0, the
 * only node and output that a layer of a chain has; TF.js fails to load a
 * model whose reference names a node that does not exist. */
static int tfjs_ref_first_node(json_t *ref)
{
	json_t *r = json_is_array(ref) ? ref : json_object_get(json_object_get(ref, "config"), "keras_history");

	for (size_t k = 1; k <= 2; k++)
		if (!json_is_integer(json_array_get(r, k)) || json_integer_value(json_array_get(r, k)) != 0)
			return 0;
	return 1;
}

/* Finds the single layer feeding layer (index i) in a functional config.
 * Stores its name in *from, or NULL for a layer with no inbound node. */
static int tfjs_inbound(struct tfjs_import *imp, json_t *layer, int i, const char **from)
{
	json_t *nodes = json_object_get(layer, "inbound_nodes"), *node, *refs;
	const char *name = tfjs_layer_name(layer);

	*from = NULL;
	if (!nodes || json_array_size(nodes) == 0)
		return TFJS_OK;
	if (json_array_size(nodes) > 1)
		return tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED,
				 "%s: layer %d '%s' is called %zu times; shared layers are not supported",
				 imp->path, i + 1, name, json_array_size(nodes));

	node = json_array_get(nodes, 0);
	if (json_is_string(json_array_get(node, 0))) {
		*from = json_string_value(json_array_get(node, 0));	/* a bare [name, 0, 0] */
		if (!tfjs_ref_first_node(node))
			goto bad_index;
		return TFJS_OK;
	}
	refs = json_is_object(node) ? json_object_get(node, "args") : node;
	if (json_array_size(refs) == 1 && json_is_array(json_array_get(refs, 0)) &&
	    json_is_array(json_array_get(json_array_get(refs, 0), 0)))
		refs = json_array_get(refs, 0);	/* Keras 3 wraps several tensors in one argument */
	if (!json_is_array(refs) || json_array_size(refs) != 1)
		return tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED,
				 "%s: layer %d '%s' takes %zu inputs; only a single chain of layers is supported",
				 imp->path, i + 1, name, json_array_size(refs));
	*from = tfjs_ref_name(json_array_get(refs, 0));
	if (!*from)
		return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: layer %d '%s': malformed inbound_nodes",
				 imp->path, i + 1, name);
	if (!tfjs_ref_first_node(json_array_get(refs, 0)))
		goto bad_index;
	return TFJS_OK;

bad_index:
	return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: layer %d '%s': its input from '%s' names a node or tensor index other than 0, which '%s' does not have",
			 imp->path, i + 1, name, *from, *from);
}

/* Returns the single layer name in a functional config's input_layers or
 * output_layers: [[name, 0, 0]] in Keras 2 and TF.js, [name, 0, 0] too in
 * Keras 3. */
static int tfjs_endpoint(struct tfjs_import *imp, json_t *config, const char *key,
			 const char **name)
{
	json_t *v = json_object_get(config, key);

	if (json_is_array(v) && json_is_string(json_array_get(v, 0))) {
		*name = json_string_value(json_array_get(v, 0));
		return TFJS_OK;
	}
	if (!json_is_array(v) || json_array_size(v) == 0)
		return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: functional model has no %s", imp->path, key);
	if (json_array_size(v) != 1)
		return tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED, "%s: model has %zu %s; only one is supported",
				 imp->path, json_array_size(v), key);
	*name = json_string_value(json_array_get(json_array_get(v, 0), 0));
	if (!*name)
		return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: malformed %s", imp->path, key);
	return TFJS_OK;
}

static int tfjs_find_layer(json_t *layers, const char *name)
{
	for (size_t i = 0; i < json_array_size(layers); i++)
		if (strcmp(tfjs_layer_name(json_array_get(layers, i)), name) == 0)
			return (int)i;
	return -1;
}

/* Orders a functional model's layers from input to output by following
 * inbound nodes back from the output. Fails unless every layer lies on that
 * one chain. */
static int tfjs_functional_chain(struct tfjs_import *imp, json_t *config)
{
	json_t *layers = json_object_get(config, "layers");
	const char *in_name, *out_name, *from;
	size_t n = json_array_size(layers), len = 0;
	int *order = NULL, rc;

	if (!json_is_array(layers) || n == 0)
		return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: model config has no layers", imp->path);
	rc = tfjs_endpoint(imp, config, "input_layers", &in_name);
	if (!rc)
		rc = tfjs_endpoint(imp, config, "output_layers", &out_name);
	if (rc)
		return rc;
	order = calloc(n, sizeof(*order));
	if (!order)
		return tfjs_fail(imp->err, TFJS_ERR_NOMEM, "out of memory");

	int i = tfjs_find_layer(layers, out_name);

	if (i < 0) {
		rc = tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: output layer '%s' is not in the layer list",
			       imp->path, out_name);
		goto out;
	}
	for (;;) {
		if (len == n) {
			rc = tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: the layers form a cycle", imp->path);
			goto out;
		}
		order[len++] = i;
		rc = tfjs_inbound(imp, json_array_get(layers, (size_t)i), i, &from);
		if (rc)
			goto out;
		if (!from)
			break;
		i = tfjs_find_layer(layers, from);
		if (i < 0) {
			rc = tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: inbound layer '%s' is not in the layer list",
				       imp->path, from);
			goto out;
		}
	}
	if (strcmp(tfjs_layer_name(json_array_get(layers, (size_t)order[len - 1])), in_name) != 0) {
		rc = tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED, "%s: the chain from output '%s' does not start at input '%s'",
			       imp->path, out_name, in_name);
		goto out;
	}
	if (len != n) {
		for (size_t j = 0; j < n; j++) {
			int on_chain = 0;

			for (size_t k = 0; k < len; k++)
				on_chain |= order[k] == (int)j;
			if (!on_chain) {
				rc = tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED,
					       "%s: layer %zu '%s' is not on the chain from input to output; only a single chain of layers is supported",
					       imp->path, j + 1, tfjs_layer_name(json_array_get(layers, j)));
				goto out;
			}
		}
	}

	imp->chain = json_array();
	if (!imp->chain) {
		rc = tfjs_fail(imp->err, TFJS_ERR_NOMEM, "out of memory");
		goto out;
	}
	while (len > 0)
		if (json_array_append(imp->chain, json_array_get(layers, (size_t)order[--len])) != 0) {
			rc = tfjs_fail(imp->err, TFJS_ERR_NOMEM, "out of memory");
			goto out;
		}
out:
	free(order);
	return rc;
}

/* Finds modelTopology, unwraps the Keras converter's model_config and sets
 * imp->chain to the layers in order. */
static int tfjs_read_topology(struct tfjs_import *imp)
{
	json_t *format = json_object_get(imp->root, "format");
	json_t *topo = json_object_get(imp->root, "modelTopology");
	const char *cls;
	json_t *config;

	if (format && !json_is_null(format) &&
	    (!json_is_string(format) || strcmp(json_string_value(format), "layers-model") != 0))
		return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: format is %s%s%s, not \"layers-model\"; only TF.js Layers models can be imported",
				 imp->path, json_is_string(format) ? "\"" : "",
				 json_is_string(format) ? json_string_value(format) : "not a string",
				 json_is_string(format) ? "\"" : "");
	if (!json_is_object(topo))
		return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: not a TF.js Layers model: no modelTopology object", imp->path);
	if (json_is_object(json_object_get(topo, "model_config")))
		topo = json_object_get(topo, "model_config");

	cls = json_string_value(json_object_get(topo, "class_name"));
	config = json_object_get(topo, "config");
	if (!cls || !config)
		return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: modelTopology has no class_name and config", imp->path);

	if (strcmp(cls, "Sequential") == 0) {
		json_t *layers = tfjs_sequential_layers(config);

		json_t *first;

		if (!json_is_array(layers) || json_array_size(layers) == 0)
			return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: Sequential model has no layers", imp->path);
		/* TF.js builds a Sequential model from its first layer's shape. */
		first = json_object_get(json_array_get(layers, 0), "config");
		if (!json_is_array(json_object_get(first, "batch_input_shape")) &&
		    !json_is_array(json_object_get(first, "batch_shape")))
			return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: layer 1 '%s' of the Sequential model has no \"batch_input_shape\"; TF.js needs the input shape on the first layer",
					 imp->path, tfjs_layer_name(json_array_get(layers, 0)));
		imp->chain = json_incref(layers);
		return TFJS_OK;
	}
	if (strcmp(cls, "Model") == 0 || strcmp(cls, "Functional") == 0)
		return tfjs_functional_chain(imp, config);
	return tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED, "%s: model class %s is not supported (supported: Sequential, Model, Functional)",
			 imp->path, cls);
}

/* Checks a layer's dtype: a string (Keras 2, TF.js) or a DTypePolicy object
 * (Keras 3). Absent means float32. */
static int tfjs_check_dtype(struct tfjs_import *imp, json_t *config, int pos, const char *name)
{
	json_t *dt = json_object_get(config, "dtype");
	const char *s;

	if (!dt || json_is_null(dt))
		return TFJS_OK;
	s = json_is_object(dt) ? json_string_value(json_object_get(json_object_get(dt, "config"), "name"))
			       : json_string_value(dt);
	if (!s)
		return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: layer %d '%s': malformed dtype", imp->path, pos, name);
	if (strcmp(s, "float32") != 0)
		return tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED, "%s: layer %d '%s': dtype %s is not supported (only float32)",
				 imp->path, pos, name, s);
	return TFJS_OK;
}

/* Reads an input shape [null, n] from batch_input_shape (Keras 2, TF.js) or
 * batch_shape (Keras 3) into imp->input_units. */
static int tfjs_read_input_shape(struct tfjs_import *imp, json_t *config, int pos, const char *name)
{
	json_t *shape = json_object_get(config, "batch_input_shape");
	json_t *last;

	if (!shape)
		shape = json_object_get(config, "batch_shape");
	if (!shape || json_is_null(shape))
		return TFJS_OK;
	last = json_array_get(shape, json_array_size(shape) - 1);
	if (!json_is_array(shape) || json_array_size(shape) != 2 || !json_is_integer(last))
		return tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED,
				 "%s: layer %d '%s': input shape must be [null, n] (a batch of flat vectors)",
				 imp->path, pos, name);
	imp->input_units = (int)json_integer_value(last);
	if (imp->input_units <= 0)
		return tfjs_fail(imp->err, TFJS_ERR_SHAPE, "%s: layer %d '%s': input size %d is not positive",
				 imp->path, pos, name, imp->input_units);
	return TFJS_OK;
}

static int tfjs_read_activation(struct tfjs_import *imp, json_t *config, int pos,
				const char *name, enum nn_act *act)
{
	json_t *a = json_object_get(config, "activation");
	char supported[128] = "";

	*act = NN_ACT_LINEAR;
	if (!a || json_is_null(a))
		return TFJS_OK;
	if (json_is_string(a) && nn_act_parse(json_string_value(a), act) == NN_OK)
		return TFJS_OK;

	for (int i = NN_ACT_LINEAR; i <= NN_ACT_SOFTMAX; i++) {
		strncat(supported, i ? ", " : "", sizeof(supported) - strlen(supported) - 1);
		strncat(supported, nn_act_name((enum nn_act)i), sizeof(supported) - strlen(supported) - 1);
	}
	if (!json_is_string(a))
		return tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED, "%s: layer %d '%s': activation must be a name (supported: %s)",
				 imp->path, pos, name, supported);
	return tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED, "%s: layer %d '%s': activation %s is not supported (supported: %s)",
			 imp->path, pos, name, json_string_value(a), supported);
}

static int tfjs_read_dense(struct tfjs_import *imp, json_t *config, struct tfjs_layer *l,
			   const char *name)
{
	json_t *units = json_object_get(config, "units");
	json_t *bias = json_object_get(config, "use_bias");

	if (json_is_integer(units) && json_integer_value(units) > TFJS_NN_MAX_WIDTH)
		return tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED, "%s: layer %d '%s': Dense has %lld units, more than the network library's limit of %d",
				 imp->path, l->position, name, (long long)json_integer_value(units), TFJS_NN_MAX_WIDTH);
	if (!json_is_integer(units) || json_integer_value(units) <= 0)
		return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: layer %d '%s': Dense needs a positive integer \"units\"",
				 imp->path, l->position, name);
	if (bias && !json_is_boolean(bias))
		return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: layer %d '%s': \"use_bias\" must be true or false",
				 imp->path, l->position, name);
	l->desc.kind = NN_DENSE;
	l->desc.units = (int)json_integer_value(units);
	l->desc.use_bias = bias ? json_is_true(bias) : 1;
	return tfjs_read_activation(imp, config, l->position, name, &l->desc.act);
}

/* Dropout, AlphaDropout and GaussianDropout: identity at inference, and
 * each keeps its own training noise. */
static int tfjs_read_dropout(struct tfjs_import *imp, json_t *config, struct tfjs_layer *l,
			     const char *name)
{
	json_t *rate = json_object_get(config, "rate");

	if (!json_is_number(rate) || json_number_value(rate) < 0 || json_number_value(rate) >= 1)
		return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: layer %d '%s': %s needs a \"rate\" in [0, 1)",
				 imp->path, l->position, name, l->class_name);
	/* ttypong's dropout draws one decision per unit; training an import
	 * further with another noise shape would change the model's meaning. */
	if (json_object_get(config, "noise_shape") && !json_is_null(json_object_get(config, "noise_shape")))
		return tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED, "%s: layer %d '%s': %s with a \"noise_shape\" is not supported; remove it or set it to null",
				 imp->path, l->position, name, l->class_name);
	if (nn_kind_parse(l->class_name, &l->desc.kind) != NN_OK)
		l->desc.kind = NN_DROPOUT;
	l->desc.rate = (float)json_number_value(rate);
	return TFJS_OK;
}

/* SpatialDropout1D after its Reshape: the layer's steps come from there. */
static int tfjs_read_spatial(struct tfjs_import *imp, json_t *config, struct tfjs_layer *l,
			     const char *name)
{
	int rc = tfjs_read_dropout(imp, config, l, name);

	l->desc.steps = imp->reshape_steps;
	l->reshape_width = imp->reshape_width;
	imp->reshape_steps = 0;
	imp->need_flatten = 1;
	return rc;
}

/* Reshape and Flatten, accepted only around a SpatialDropout1D layer. */
static int tfjs_read_shape_layer(struct tfjs_import *imp, const char *cls, json_t *config,
				 int pos, const char *name)
{
	json_t *target = json_object_get(config, "target_shape");
	const char *next = json_string_value(json_object_get(json_array_get(imp->chain, (size_t)pos),
							     "class_name"));
	int alone = strcmp(cls, "Flatten") == 0 ? !imp->need_flatten :
		    imp->need_flatten || !next || strcmp(next, "SpatialDropout1D") != 0;

	if (alone)
		return tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED, "%s: layer %d '%s': layer type %s is not supported (supported: %s)",
				 imp->path, pos, name, cls, TFJS_SUPPORTED_LAYERS);
	if (strcmp(cls, "Flatten") == 0) {
		imp->need_flatten = 0;
		return TFJS_OK;
	}
	if (!json_is_array(target) || json_array_size(target) != 2 ||
	    !json_is_integer(json_array_get(target, 0)) || !json_is_integer(json_array_get(target, 1)) ||
	    json_integer_value(json_array_get(target, 0)) < 1 ||
	    json_integer_value(json_array_get(target, 1)) < 1 ||
	    json_integer_value(json_array_get(target, 0)) * json_integer_value(json_array_get(target, 1)) > INT_MAX / 4)
		return tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED, "%s: layer %d '%s': Reshape needs a \"target_shape\" of two positive integers",
				 imp->path, pos, name);
	imp->reshape_steps = (int)json_integer_value(json_array_get(target, 0));
	imp->reshape_width = imp->reshape_steps * (int)json_integer_value(json_array_get(target, 1));
	return TFJS_OK;
}

/* Converts one layer object of the chain; InputLayer only sets the input
 * shape. */
static int tfjs_read_layer(struct tfjs_import *imp, json_t *lj, int pos)
{
	const char *cls = json_string_value(json_object_get(lj, "class_name"));
	json_t *config = json_object_get(lj, "config");
	const char *name = tfjs_layer_name(lj);
	struct tfjs_layer *l;
	int rc;

	if (!cls || !json_is_object(config))
		return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: layer %d has no class_name and config", imp->path, pos);
	rc = tfjs_check_dtype(imp, config, pos, name);
	if (!rc)
		rc = tfjs_read_input_shape(imp, config, pos, name);
	if (rc || strcmp(cls, "InputLayer") == 0)
		return rc;
	if (strcmp(cls, "Reshape") == 0 || strcmp(cls, "Flatten") == 0)
		return tfjs_read_shape_layer(imp, cls, config, pos, name);
	if (imp->need_flatten)
		return tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED, "%s: layer %d '%s': layer type %s follows a SpatialDropout1D, which only a Flatten may follow",
				 imp->path, pos, name, cls);

	l = &imp->layers[imp->n_layers];
	memset(l, 0, sizeof(*l));
	l->position = pos;
	l->class_name = cls;
	if (strlen(name) >= sizeof(l->desc.name))
		return tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED, "%s: layer %d: name '%.40s...' is longer than %zu bytes",
				 imp->path, pos, name, sizeof(l->desc.name) - 1);
	if (name[0] == '\0')
		return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: layer %d (%s) has no name", imp->path, pos, cls);
	if (strspn(name, TFJS_NAME_CHARS) != strlen(name))
		return tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED, "%s: layer %d: name '%s' has characters outside [A-Za-z0-9_.-]",
				 imp->path, pos, name);
	for (int i = 0; i < imp->n_layers; i++)
		if (strcmp(imp->layers[i].desc.name, name) == 0)
			return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: layers %d and %d are both named '%s'",
					 imp->path, imp->layers[i].position, pos, name);
	strcpy(l->desc.name, name);

	if (strcmp(cls, "Dense") == 0)
		rc = tfjs_read_dense(imp, config, l, name);
	else if (strcmp(cls, "Dropout") == 0 || strcmp(cls, "AlphaDropout") == 0 ||
		 strcmp(cls, "GaussianDropout") == 0)
		rc = tfjs_read_dropout(imp, config, l, name);
	else if (strcmp(cls, "SpatialDropout1D") == 0 && imp->reshape_steps)
		rc = tfjs_read_spatial(imp, config, l, name);
	else
		rc = tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED, "%s: layer %d '%s': layer type %s is not supported (supported: %s)",
			       imp->path, pos, name, cls, TFJS_SUPPORTED_LAYERS);
	if (!rc)
		imp->n_layers++;
	return rc;
}

static int tfjs_read_layers(struct tfjs_import *imp, int n_inputs, int n_outputs)
{
	size_t n = json_array_size(imp->chain);
	int rc = TFJS_OK, last_dense = -1;

	imp->layers = calloc(n, sizeof(*imp->layers));
	if (!imp->layers)
		return tfjs_fail(imp->err, TFJS_ERR_NOMEM, "out of memory");
	for (size_t i = 0; i < n && !rc; i++)
		rc = tfjs_read_layer(imp, json_array_get(imp->chain, i), (int)i + 1);
	if (rc)
		return rc;
	if (imp->reshape_steps || imp->need_flatten)
		return tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED, "%s: the model ends before the Flatten that closes its SpatialDropout1D",
				 imp->path);

	if (imp->input_units && imp->input_units != n_inputs)
		return tfjs_fail(imp->err, TFJS_ERR_SHAPE, "%s: the model takes %d inputs but ttypong gives %d",
				 imp->path, imp->input_units, n_inputs);
	for (int i = 0; i < imp->n_layers; i++)
		if (imp->layers[i].desc.kind == NN_DENSE)
			last_dense = i;
	if (last_dense < 0)
		return tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED, "%s: the model has no Dense layer", imp->path);
	if (imp->layers[last_dense].desc.units != n_outputs)
		return tfjs_fail(imp->err, TFJS_ERR_SHAPE, "%s: the model gives %d outputs but ttypong needs %d",
				 imp->path, imp->layers[last_dense].desc.units, n_outputs);

	/* The game, predict and training read the outputs as class probabilities. */
	if (imp->layers[last_dense].desc.act != NN_ACT_SOFTMAX)
		return tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED, "%s: the output layer '%s' has activation %s; ttypong needs softmax over %d classes",
				 imp->path, imp->layers[last_dense].desc.name,
				 nn_act_name(imp->layers[last_dense].desc.act), n_outputs);
	return TFJS_OK;
}

static int tfjs_dtype_size(const char *dtype);

/* Returns the bytes of weight data that the manifest describes, or
 * TFJS_MAX_WEIGHT_BYTES when it holds string tensors (whose size is in the
 * data) or entries that the later checks reject. */
static size_t tfjs_manifest_bytes(json_t *manifest)
{
	size_t gi, wi, di, total = 0;
	json_t *group, *ej, *d;

	json_array_foreach(manifest, gi, group) {
		json_array_foreach(json_object_get(group, "weights"), wi, ej) {
			json_t *q = json_object_get(ej, "quantization");
			const char *dtype = json_string_value(json_object_get(json_is_object(q) ? q : ej, "dtype"));
			size_t bytes = dtype ? (size_t)tfjs_dtype_size(dtype) : 0;

			if (!bytes || !json_is_array(json_object_get(ej, "shape")))
				return TFJS_MAX_WEIGHT_BYTES;
			json_array_foreach(json_object_get(ej, "shape"), di, d) {
				if (!json_is_integer(d) || json_integer_value(d) < 0 ||
				    json_integer_value(d) > TFJS_MAX_ELEMENTS)
					return TFJS_MAX_WEIGHT_BYTES;
				bytes *= (size_t)json_integer_value(d);
				if (bytes > TFJS_MAX_WEIGHT_BYTES)
					return TFJS_MAX_WEIGHT_BYTES;
			}
			total += bytes;
			if (total > TFJS_MAX_WEIGHT_BYTES)
				return TFJS_MAX_WEIGHT_BYTES;
		}
	}
	return total;
}

/* Fails unless path, after following symbolic links, lies in the model's
 * directory: the textual check on the manifest's path is not enough when a
 * weight file is a link. A path that does not resolve is left to the read. */
static int tfjs_check_inside(struct tfjs_import *imp, const char *path, const char *rel)
{
	char dir[PATH_MAX], file[PATH_MAX];
	size_t n;

	if (!realpath(imp->dir, dir) || !realpath(path, file))
		return TFJS_OK;
	n = strlen(dir);
	if (strncmp(file, dir, n) == 0 && (file[n] == '/' || (n == 1 && dir[0] == '/')))
		return TFJS_OK;
	return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: weight file %s resolves to %s, outside the model's directory %s",
			 imp->path, rel, file, dir);
}

/* Concatenates the files of every manifest group, in order, into imp->data,
 * reading no more bytes than the manifest describes. */
static int tfjs_read_weight_files(struct tfjs_import *imp, json_t *manifest)
{
	char path[PATH_MAX];
	size_t gi, pi, want = tfjs_manifest_bytes(manifest);
	json_t *group, *p;

	json_array_foreach(manifest, gi, group) {
		json_t *paths = json_object_get(group, "paths");

		if (!json_is_array(paths) || !json_is_array(json_object_get(group, "weights")))
			return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: weightsManifest group %zu needs \"paths\" and \"weights\" lists",
					 imp->path, gi + 1);
		if (json_array_size(paths) == 0 && json_array_size(json_object_get(group, "weights")) > 0)
			return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: weightsManifest group %zu lists weights but no files in \"paths\"",
					 imp->path, gi + 1);
		json_array_foreach(paths, pi, p) {
			const char *rel = json_string_value(p);
			unsigned char *buf, *grown;
			size_t len;
			int rc;

			if (!rel || rel[0] == '\0' || rel[0] == '/' || strstr(rel, "..") || strchr(rel, '\\'))
				return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: weight path %zu of group %zu must be a file name beside model.json",
						 imp->path, pi + 1, gi + 1);
			rc = tfjs_join(path, sizeof(path), imp->dir, rel, imp->err);
			if (!rc)
				rc = tfjs_check_inside(imp, path, rel);
			if (!rc)
				rc = tfjs_read_file(path, want > imp->data_len ? want - imp->data_len : 0,
						    &buf, &len, imp->err);
			if (rc == TFJS_ERR_IO && errno == EFBIG)
				return tfjs_fail(imp->err, TFJS_ERR_WEIGHTS, "%s: weight file %s is longer than the %zu bytes the manifest leaves for it (%zu in all)",
						 imp->path, rel, want > imp->data_len ? want - imp->data_len : 0, want);
			if (rc)
				return rc == TFJS_ERR_IO ? tfjs_fail(imp->err, TFJS_ERR_WEIGHTS, "%s: weight file %s listed in the manifest cannot be read: %s",
								     imp->path, rel, errno == EINVAL ? "not a regular file" : strerror(errno))
							 : rc;
			grown = realloc(imp->data, imp->data_len + len + 1);
			if (!grown) {
				free(buf);
				return tfjs_fail(imp->err, TFJS_ERR_NOMEM, "out of memory reading %s", path);
			}
			imp->data = grown;
			memcpy(imp->data + imp->data_len, buf, len);
			imp->data_len += len;
			free(buf);
			if (strlen(imp->files) + strlen(rel) + 3 < sizeof(imp->files))
				snprintf(imp->files + strlen(imp->files), sizeof(imp->files) - strlen(imp->files),
					 "%s%s", imp->files[0] ? ", " : "", rel);
		}
	}
	return TFJS_OK;
}

/* One entry of the weights manifest, with its place in the weight data. */
struct tfjs_entry {
	int index;			/* from 1, in manifest order */
	const char *name;
	const char *dtype;		/* the stored dtype (quantized dtype if any) */
	int quantized;
	int optimizer;			/* "group": "optimizer" */
	int rank;
	long dims[8];
	long elements;
	size_t offset, bytes;
};

static int tfjs_dtype_size(const char *dtype)
{
	static const struct { const char *name; int size; } sizes[] = {
		{"float32", 4}, {"int32", 4}, {"float16", 2}, {"uint16", 2},
		{"uint8", 1}, {"bool", 1}, {"complex64", 8},
	};

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (strcmp(dtype, sizes[i].name) == 0)
			return sizes[i].size;
	return 0;
}

/* Parses entry e (e->index and e->offset set) and sets its byte size. String
 * tensors store each element as a 4-byte length and its bytes. */
static int tfjs_parse_entry(struct tfjs_import *imp, json_t *ej, struct tfjs_entry *e)
{
	json_t *shape = json_object_get(ej, "shape"), *q = json_object_get(ej, "quantization"), *d;
	size_t i;

	e->name = json_string_value(json_object_get(ej, "name"));
	e->dtype = json_string_value(json_object_get(ej, "dtype"));
	if (!e->name || !e->dtype || !json_is_array(shape) || json_array_size(shape) > 8)
		return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: weightsManifest entry %d needs a name, a shape and a dtype",
				 imp->path, e->index);
	e->optimizer = json_is_string(json_object_get(ej, "group")) &&
		       strcmp(json_string_value(json_object_get(ej, "group")), "optimizer") == 0;
	if (json_is_object(q)) {
		e->quantized = 1;
		e->dtype = json_string_value(json_object_get(q, "dtype"));
		if (!e->dtype)
			return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: weight '%s' has quantization without a dtype",
					 imp->path, e->name);
	}

	e->rank = (int)json_array_size(shape);
	e->elements = 1;
	json_array_foreach(shape, i, d) {
		if (!json_is_integer(d) || json_integer_value(d) < 0 ||
		    json_integer_value(d) > TFJS_MAX_ELEMENTS)
			return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: weight '%s' has an invalid shape", imp->path, e->name);
		e->dims[i] = (long)json_integer_value(d);
		e->elements *= e->dims[i];
		if (e->elements > TFJS_MAX_ELEMENTS)
			return tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED, "%s: weight '%s' has more than %ld elements",
					 imp->path, e->name, TFJS_MAX_ELEMENTS);
	}

	if (strcmp(e->dtype, "string") == 0) {
		size_t at = e->offset;

		for (long k = 0; k < e->elements; k++) {
			if (at + 4 > imp->data_len) {
				at = imp->data_len + 4;	/* past the end: reported as short */
				break;
			}
			at += 4 + (size_t)tfjs_get_le32(imp->data + at);
		}
		e->bytes = at - e->offset;
		return TFJS_OK;
	}
	if (!tfjs_dtype_size(e->dtype))
		return tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED, "%s: weight '%s' has unknown dtype %s",
				 imp->path, e->name, e->dtype);
	e->bytes = (size_t)e->elements * (size_t)tfjs_dtype_size(e->dtype);
	return TFJS_OK;
}

/* Finds which model layer an entry belongs to: the component before the
 * last, after an optional ":N" suffix and any prefix such as the model name
 * ("sequential/dense/kernel:0"). Returns -1 for weights of no model layer,
 * such as optimizer state. *what points to the last component. */
static int tfjs_entry_layer(struct tfjs_import *imp, const struct tfjs_entry *e,
			    char *what, size_t cap)
{
	char name[256];
	char *colon, *last, *prev;

	if (e->optimizer || strlen(e->name) >= sizeof(name))
		return -1;
	strcpy(name, e->name);
	colon = strrchr(name, ':');
	if (colon && colon[1] && strspn(colon + 1, "0123456789") == strlen(colon + 1))
		*colon = '\0';

	last = strrchr(name, '/');
	if (!last)
		return -1;
	*last++ = '\0';
	prev = strrchr(name, '/');
	if (prev) {
		size_t root_len = strcspn(name, "/");

		if (tfjs_is_optimizer_root(name, root_len))
			return -1;
		prev++;
	} else {
		prev = name;
	}

	snprintf(what, cap, "%s", last);
	for (int i = 0; i < imp->n_layers; i++)
		if (strcmp(imp->layers[i].desc.name, prev) == 0)
			return i;
	return -1;
}

/* Copies entry e into layer li's kernel or bias after checking that it is a
 * float32 tensor of the right shape that was not assigned before. */
static int tfjs_assign(struct tfjs_import *imp, struct nn_model *m, int li,
		       const struct tfjs_entry *e, const char *what)
{
	struct tfjs_layer *l = &imp->layers[li];
	int is_kernel = strcmp(what, "kernel") == 0;
	int in = nn_layer_inputs(m, li), units = l->desc.units;
	int *slot = is_kernel ? &l->kernel_entry : &l->bias_entry;
	float *dst;

	if (!nn_kind_is_dense(l->desc.kind))
		return tfjs_fail(imp->err, TFJS_ERR_WEIGHTS, "%s: weight '%s' belongs to layer %d '%s' (%s), which has no weights",
				 imp->path, e->name, l->position, l->desc.name, l->class_name);
	if (!is_kernel && strcmp(what, "bias") != 0)
		return tfjs_fail(imp->err, TFJS_ERR_WEIGHTS, "%s: weight '%s' is not a Dense weight (kernel, bias)",
				 imp->path, e->name);
	if (!is_kernel && !l->desc.use_bias)
		return tfjs_fail(imp->err, TFJS_ERR_WEIGHTS, "%s: weight '%s' is a bias but layer %d '%s' has use_bias false",
				 imp->path, e->name, l->position, l->desc.name);
	if (e->quantized || strcmp(e->dtype, "float32") != 0)
		return tfjs_fail(imp->err, TFJS_ERR_UNSUPPORTED, "%s: weight '%s' is %s%s; only float32 weights are supported",
				 imp->path, e->name, e->quantized ? "quantized to " : "", e->dtype);
	if (is_kernel ? (e->rank != 2 || e->dims[0] != in || e->dims[1] != units)
		      : (e->rank != 1 || e->dims[0] != units)) {
		char want[48], have[96] = "";

		if (is_kernel)
			snprintf(want, sizeof(want), "[%d, %d]", in, units);
		else
			snprintf(want, sizeof(want), "[%d]", units);
		for (int k = 0; k < e->rank; k++)
			snprintf(have + strlen(have), sizeof(have) - strlen(have), "%s%ld", k ? ", " : "", e->dims[k]);
		return tfjs_fail(imp->err, TFJS_ERR_SHAPE, "%s: weight '%s' has shape [%s] but layer %d '%s' needs %s",
				 imp->path, e->name, have, l->position, l->desc.name, want);
	}
	if (*slot)
		return tfjs_fail(imp->err, TFJS_ERR_WEIGHTS, "%s: weights manifest entries %d and %d both set layer %d '%s' %s",
				 imp->path, *slot, e->index, l->position, l->desc.name, what);

	/* A NaN or infinity would make every prediction NaN; misaligned data
	 * (a shard listed twice, a wrong offset) often shows up here too. */
	dst = is_kernel ? nn_kernel(m, li) : nn_bias(m, li);
	assert(dst);
	for (long k = 0; k < e->elements; k++) {
		dst[k] = tfjs_get_float(imp->data + e->offset + 4 * (size_t)k);
		if (!isfinite(dst[k]))
			return tfjs_fail(imp->err, TFJS_ERR_WEIGHTS, "%s: weight '%s' of layer %d '%s' element %ld is %s; weights must be finite",
					 imp->path, e->name, l->position, l->desc.name, k,
					 isnan(dst[k]) ? "NaN" : dst[k] > 0 ? "infinite" : "-infinite");
	}
	*slot = e->index;
	return TFJS_OK;
}

/* Walks the manifest, assigning every entry of a model layer, then checks
 * that every weight of the model was assigned and that the data fits. */
static int tfjs_read_weights(struct tfjs_import *imp, struct nn_model *m)
{
	json_t *manifest = json_object_get(imp->root, "weightsManifest");
	json_t *group, *ej;
	size_t gi, wi, offset = 0;
	int index = 0, rc;

	if (!json_is_array(manifest))
		return tfjs_fail(imp->err, TFJS_ERR_WEIGHTS, "%s: no weightsManifest; the model's weights are missing", imp->path);
	rc = tfjs_read_weight_files(imp, manifest);
	if (rc)
		return rc;

	json_array_foreach(manifest, gi, group) {
		json_array_foreach(json_object_get(group, "weights"), wi, ej) {
			struct tfjs_entry e = { .index = ++index, .offset = offset };
			char what[64];
			int li;

			rc = tfjs_parse_entry(imp, ej, &e);
			if (rc)
				return rc;
			if (e.offset + e.bytes > imp->data_len)
				return tfjs_fail(imp->err, TFJS_ERR_WEIGHTS, "%s: weight '%s' needs bytes %zu to %zu but the weight files (%s) hold %zu bytes",
						 imp->path, e.name, e.offset, e.offset + e.bytes, imp->files, imp->data_len);
			offset += e.bytes;
			li = tfjs_entry_layer(imp, &e, what, sizeof(what));
			if (li >= 0) {
				rc = tfjs_assign(imp, m, li, &e, what);
				if (rc)
					return rc;
			}
		}
	}

	for (int i = 0; i < imp->n_layers; i++) {
		const struct tfjs_layer *l = &imp->layers[i];

		if (!nn_kind_is_dense(l->desc.kind))
			continue;
		if (!l->kernel_entry || (l->desc.use_bias && !l->bias_entry))
			return tfjs_fail(imp->err, TFJS_ERR_WEIGHTS, "%s: the weights manifest has no %s for layer %d '%s'",
					 imp->path, l->kernel_entry ? "bias" : "kernel", l->position, l->desc.name);
	}
	if (offset != imp->data_len)
		return tfjs_fail(imp->err, TFJS_ERR_WEIGHTS, "%s: the weight files (%s) hold %zu bytes but the manifest describes %zu",
				 imp->path, imp->files, imp->data_len, offset);
	return TFJS_OK;
}

static int tfjs_copy_name(char *dst, json_t *v)
{
	const char *s = json_string_value(v);

	if (!s || strlen(s) >= TFJS_NAME_MAX)
		return -1;
	strcpy(dst, s);
	return 0;
}

static int tfjs_read_names(json_t *list, char (*names)[TFJS_NAME_MAX], int *n)
{
	size_t i;
	json_t *v;

	if (!list)
		return 0;
	if (!json_is_array(list) || json_array_size(list) > TFJS_MAX_NAMES)
		return -1;
	json_array_foreach(list, i, v)
		if (tfjs_copy_name(names[i], v) != 0)
			return -1;
	*n = (int)json_array_size(list);
	return 0;
}

/* Fills info from the top-level fields and userDefinedMetadata.ttypong. */
static int tfjs_read_info(struct tfjs_import *imp, struct tfjs_info *info)
{
	json_t *meta = json_object_get(json_object_get(imp->root, "userDefinedMetadata"), TFJS_META_KEY);
	const char *s;

	memset(info, 0, sizeof(*info));
	if ((s = json_string_value(json_object_get(imp->root, "generatedBy"))))
		snprintf(info->generated_by, sizeof(info->generated_by), "%s", s);
	if ((s = json_string_value(json_object_get(imp->root, "convertedBy"))))
		snprintf(info->converted_by, sizeof(info->converted_by), "%s", s);
	if (!meta)
		return TFJS_OK;

	info->has_meta = 1;
	if (!json_is_object(meta) ||
	    (json_object_get(meta, "model_id") && tfjs_copy_name(info->model_id, json_object_get(meta, "model_id")) != 0) ||
	    tfjs_read_names(json_object_get(meta, "features"), info->feature_names, &info->n_features) != 0 ||
	    tfjs_read_names(json_object_get(meta, "classes"), info->class_names, &info->n_classes) != 0)
		return tfjs_fail(imp->err, TFJS_ERR_FORMAT,
				 "%s: userDefinedMetadata.%s is malformed (model_id a string, features and classes lists of at most %d names of under %d bytes)",
				 imp->path, TFJS_META_KEY, TFJS_MAX_NAMES, TFJS_NAME_MAX);
	return TFJS_OK;
}

/* The metadata's "dropout" entry for layer name, or NULL. */
static json_t *tfjs_dropout_entry(struct tfjs_import *imp, const char *name)
{
	json_t *meta = json_object_get(json_object_get(imp->root, "userDefinedMetadata"), TFJS_META_KEY);
	json_t *entry;
	size_t i;

	json_array_foreach(json_object_get(meta, "dropout"), i, entry)
		if (json_is_string(json_object_get(entry, "layer")) &&
		    strcmp(json_string_value(json_object_get(entry, "layer")), name) == 0)
			return entry;
	return NULL;
}

/* Turns a Dense layer back into the DropConnect, ConcreteDropout or
 * VariationalDropout layer that ttypong exported it from, when the
 * metadata's "dropout" list names it. */
static int tfjs_restore_variant(struct tfjs_import *imp, struct tfjs_layer *l)
{
	json_t *entry = tfjs_dropout_entry(imp, l->desc.name);
	json_t *rate = json_object_get(entry, "rate");
	const char *variant = json_string_value(json_object_get(entry, "variant"));
	enum nn_kind kind;

	if (!entry || l->desc.kind != NN_DENSE)
		return TFJS_OK;
	if (!variant || nn_kind_parse(variant, &kind) != NN_OK || !nn_kind_is_dense(kind) ||
	    kind == NN_DENSE || !json_is_number(rate) || !(json_number_value(rate) >= 0.0) ||
	    !(json_number_value(rate) < 1.0))
		return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: userDefinedMetadata.%s.dropout: the entry of Dense layer %d '%s' needs a Dense variant and a \"rate\" in [0, 1)",
				 imp->path, TFJS_META_KEY, l->position, l->desc.name);
	l->desc.kind = kind;
	l->desc.rate = (float)json_number_value(rate);
	return TFJS_OK;
}

/* Sets the learned rates of restored ConcreteDropout and
 * VariationalDropout layers from the metadata's "rates". */
static int tfjs_restore_rates(struct tfjs_import *imp, struct nn_model *m)
{
	for (int i = 0; i < imp->n_layers; i++) {
		const struct tfjs_layer *l = &imp->layers[i];
		json_t *rates = json_object_get(tfjs_dropout_entry(imp, l->desc.name), "rates");
		int count;
		float *params = nn_drop_params(m, i, &count);

		if (!params || !nn_kind_is_dense(l->desc.kind))
			continue;
		if (!json_is_array(rates) || json_array_size(rates) != (size_t)count)
			return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: userDefinedMetadata.%s.dropout: layer %d '%s' needs %d learned rates",
					 imp->path, TFJS_META_KEY, l->position, l->desc.name, count);
		for (int k = 0; k < count; k++) {
			double r = json_number_value(json_array_get(rates, (size_t)k));

			if (!(r > 0.0 && r < 1.0))
				return tfjs_fail(imp->err, TFJS_ERR_FORMAT, "%s: userDefinedMetadata.%s.dropout: layer %d '%s' has a learned rate outside (0, 1)",
						 imp->path, TFJS_META_KEY, l->position, l->desc.name);
			params[k] = (float)(log(r) - log1p(-r));
		}
	}
	return TFJS_OK;
}

static int tfjs_build_model(struct tfjs_import *imp, struct nn_model **out, int n_inputs)
{
	struct nn_layer_desc *descs = calloc((size_t)imp->n_layers, sizeof(*descs));
	int st;

	if (!descs)
		return tfjs_fail(imp->err, TFJS_ERR_NOMEM, "out of memory");
	for (int i = 0; i < imp->n_layers; i++) {
		st = tfjs_restore_variant(imp, &imp->layers[i]);
		if (st) {
			free(descs);
			return st;
		}
		descs[i] = imp->layers[i].desc;
	}
	st = nn_create(out, n_inputs, descs, imp->n_layers, 0);
	free(descs);
	if (st != NN_OK) {
		size_t params = 0, width = (size_t)n_inputs;

		for (int i = 0; i < imp->n_layers; i++) {
			if (!nn_kind_is_dense(imp->layers[i].desc.kind))
				continue;
			params += (width + 1) * (size_t)imp->layers[i].desc.units;
			width = (size_t)imp->layers[i].desc.units;
		}
		return tfjs_fail(imp->err, TFJS_ERR_NN, "%s: the network library rejected the model (%d layers, about %zu parameters; it allows %d layers and %zu parameters): %s",
				 imp->path, imp->n_layers, params, TFJS_NN_MAX_LAYERS, TFJS_NN_MAX_PARAMS,
				 nn_strerror(st));
	}
	for (int i = 0; i < imp->n_layers; i++) {
		const struct tfjs_layer *l = &imp->layers[i];

		int width = nn_layer_inputs(*out, i);

		if (l->reshape_width && l->reshape_width != width) {
			nn_free(*out);
			*out = NULL;
			return tfjs_fail(imp->err, TFJS_ERR_SHAPE, "%s: layer %d '%s' reshapes %d values into %d",
					 imp->path, l->position, l->desc.name, width, l->reshape_width);
		}
	}
	return TFJS_OK;
}

int tfjs_import_file(struct nn_model **out, const char *path, int n_inputs,
		     int n_outputs, struct tfjs_info *info, struct tfjs_error *err)
{
	struct tfjs_import imp = { .path = path, .err = err };
	char file[PATH_MAX], *slash;
	struct nn_model *m = NULL;
	struct stat st;
	int rc;

	*out = NULL;
	if (n_inputs <= 0 || n_outputs <= 0)
		return tfjs_fail(err, TFJS_ERR_ARG, "model sizes must be positive");

	/* A directory stands for the model.json inside it. */
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return tfjs_import_dir(out, path, n_inputs, n_outputs, info, err);
	if (snprintf(file, sizeof(file), "%s", path) >= (int)sizeof(file))
		return tfjs_fail(err, TFJS_ERR_ARG, "%s: path is too long", path);
	slash = strrchr(file, '/');
	if (!slash) {
		strcpy(imp.dir, ".");
	} else if (slash == file) {
		strcpy(imp.dir, "/");
	} else {
		*slash = '\0';
		strcpy(imp.dir, file);
	}

	rc = tfjs_load_json(&imp);
	if (!rc)
		rc = tfjs_read_topology(&imp);
	if (!rc)
		rc = tfjs_read_layers(&imp, n_inputs, n_outputs);
	if (!rc)
		rc = tfjs_build_model(&imp, &m, n_inputs);
	if (!rc)
		rc = tfjs_read_weights(&imp, m);
	if (!rc)
		rc = tfjs_restore_rates(&imp, m);
	if (!rc && info)
		rc = tfjs_read_info(&imp, info);

	if (rc) {
		nn_free(m);
	} else {
		*out = m;
		tfjs_ok(err);
	}
	json_decref(imp.chain);
	json_decref(imp.root);
	free(imp.layers);
	free(imp.data);
	return rc;
}

int tfjs_info_check_features(const struct tfjs_info *info, const char *const *names,
			     int n, struct tfjs_error *err)
{
	if (!info->has_meta || info->n_features == 0) {
		tfjs_ok(err);
		return TFJS_OK;
	}
	if (info->n_features != n)
		return tfjs_fail(err, TFJS_ERR_SHAPE, "the model's metadata lists %d features but ttypong computes %d",
				 info->n_features, n);
	for (int i = 0; i < n; i++)
		if (strcmp(info->feature_names[i], names[i]) != 0)
			return tfjs_fail(err, TFJS_ERR_SHAPE,
					 "the model was trained with feature %d '%s' where ttypong computes '%s'",
					 i + 1, info->feature_names[i], names[i]);
	tfjs_ok(err);
	return TFJS_OK;
}

int tfjs_import_dir(struct nn_model **out, const char *dir, int n_inputs,
		    int n_outputs, struct tfjs_info *info, struct tfjs_error *err)
{
	char path[PATH_MAX];
	int rc;

	*out = NULL;
	rc = tfjs_join(path, sizeof(path), dir, TFJS_MODEL_FILE, err);
	if (rc)
		return rc;
	return tfjs_import_file(out, path, n_inputs, n_outputs, info, err);
}

/* ---- C header ---- */

static int tfjs_is_identifier(const char *s)
{
	if (!s || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return 0;
	return 1;
}

/* Writes s as a C string literal, escaping quotes, backslashes and every
 * byte outside printable ASCII. */
static void tfjs_put_c_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c > 0x7e)
			fprintf(f, "\\%03o", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Writes a float literal that reads back as the same float. */
static void tfjs_put_c_float(FILE *f, float v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%.9g", (double)v);
	if (!strpbrk(buf, ".e"))
		strcat(buf, ".0");
	fprintf(f, "%sf", buf);
}

static void tfjs_put_c_floats(FILE *f, const float *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		fputs(i % 6 == 0 ? "\n\t" : " ", f);
		tfjs_put_c_float(f, v[i]);
		fputc(',', f);
	}
	fputc('\n', f);
}

static void tfjs_put_c_names(FILE *f, const char *prefix, const char *what,
			     const char *const *names, int n)
{
	fprintf(f, "static const char *const %s_%s[%d] = {", prefix, what, n);
	for (int i = 0; i < n; i++) {
		fputs(i ? ", " : "", f);
		tfjs_put_c_string(f, names[i]);
	}
	fputs("};\n", f);
}

/* The eval-mode forward pass, written once with the prefix filled in. */
static void tfjs_put_c_predict(FILE *f, const char *p, const char *up)
{
	fprintf(f,
		"/* Runs the model in eval mode (dropout is identity): x holds %s_N_INPUTS\n"
		" * floats, y receives %s_N_OUTPUTS floats. */\n"
		"static inline void %s_predict(const float *x, float *y)\n"
		"{\n"
		"\tfloat a[%s_MAX_UNITS], z[%s_MAX_UNITS];\n"
		"\tint width = %s_N_INPUTS;\n"
		"\n"
		"\tfor (int i = 0; i < width; i++)\n"
		"\t\ta[i] = x[i];\n"
		"\tfor (int l = 0; l < %s_N_LAYERS; l++) {\n"
		"\t\tconst struct %s_layer *layer = &%s_layers[l];\n"
		"\t\tfloat max = -INFINITY, sum = 0.0f;\n"
		"\n"
		"\t\tif (layer->kind != %s_DENSE)\n"
		"\t\t\tcontinue;\n"
		"\t\tfor (int j = 0; j < layer->units; j++) {\n"
		"\t\t\tfloat s = layer->bias ? layer->bias[j] : 0.0f;\n"
		"\n"
		"\t\t\tfor (int i = 0; i < layer->inputs; i++)\n"
		"\t\t\t\ts += a[i] * layer->kernel[i * layer->units + j];\n"
		"\t\t\tswitch (layer->act) {\n"
		"\t\t\tcase %s_RELU: s = s > 0.0f || s != s ? s : 0.0f; break;\n"
		"\t\t\tcase %s_SELU: s = s > 0.0f ? 1.05070098f * s : 1.05070098f * 1.67326324f * expm1f(s); break;\n"
		"\t\t\tcase %s_TANH: s = tanhf(s); break;\n"
		"\t\t\tcase %s_SIGMOID: s = 1.0f / (1.0f + expf(-s)); break;\n"
		"\t\t\tdefault: break;\n"
		"\t\t\t}\n"
		"\t\t\tz[j] = s;\n"
		"\t\t\tmax = s > max ? s : max;\n"
		"\t\t}\n"
		"\t\tif (layer->act == %s_SOFTMAX) {\n"
		"\t\t\tfor (int j = 0; j < layer->units; j++)\n"
		"\t\t\t\tsum += z[j] = expf(z[j] - max);\n"
		"\t\t\tfor (int j = 0; j < layer->units; j++)\n"
		"\t\t\t\tz[j] /= sum;\n"
		"\t\t}\n"
		"\t\tfor (int j = 0; j < layer->units; j++)\n"
		"\t\t\ta[j] = z[j];\n"
		"\t\twidth = layer->units;\n"
		"\t}\n"
		"\tfor (int j = 0; j < width; j++)\n"
		"\t\ty[j] = a[j];\n"
		"}\n",
		up, up, p, up, up, up, up, p, p, up, up, up, up, up, up);
}

static const char *const tfjs_c_act_names[] = {
	[NN_ACT_LINEAR] = "LINEAR", [NN_ACT_RELU] = "RELU", [NN_ACT_SELU] = "SELU",
	[NN_ACT_TANH] = "TANH", [NN_ACT_SIGMOID] = "SIGMOID", [NN_ACT_SOFTMAX] = "SOFTMAX",
};

static void tfjs_put_c_types(FILE *f, const char *p, const char *up)
{
	fprintf(f, "enum %s_kind { %s_DENSE, %s_DROPOUT };\n", p, up, up);
	fprintf(f, "enum %s_act {", p);
	for (int a = NN_ACT_LINEAR; a <= NN_ACT_SOFTMAX; a++)
		fprintf(f, "%s %s_%s", a ? "," : "", up, tfjs_c_act_names[a]);
	fprintf(f, " };\n\n");
	fprintf(f, "/* One layer; units is its output width. kernel is [inputs][units]\n"
		   " * row-major (Keras order); kernel and bias are NULL where the layer has\n"
		   " * none. rate is the dropout rate, unused at inference. */\n"
		   "struct %s_layer {\n"
		   "\tenum %s_kind kind;\n"
		   "\tconst char *name;\n"
		   "\tint inputs, units;\n"
		   "\tenum %s_act act;\n"
		   "\tfloat rate;\n"
		   "\tconst float *kernel, *bias;\n"
		   "};\n\n", p, p, p);
}

static void tfjs_put_c_body(FILE *f, struct nn_model *m, const char *p, const char *up,
			    char (*names)[TFJS_NAME_MAX], const struct tfjs_meta *meta)
{
	int n = nn_n_layers(m), max_units = nn_n_inputs(m);

	for (int i = 0; i < n; i++)
		if (nn_layer(m, i)->units > max_units)
			max_units = nn_layer(m, i)->units;
	fprintf(f, "#define %s_N_INPUTS %d\n#define %s_N_OUTPUTS %d\n#define %s_N_LAYERS %d\n#define %s_MAX_UNITS %d\n\n",
		up, nn_n_inputs(m), up, nn_n_outputs(m), up, n, up, max_units);
	tfjs_put_c_types(f, p, up);

	for (int i = 0; i < n; i++) {
		const struct nn_layer_desc *l = nn_layer(m, i);

		if (!nn_kind_is_dense(l->kind))
			continue;
		fprintf(f, "static const float %s_kernel_%d[%d * %d] = {", p, i, nn_layer_inputs(m, i), l->units);
		tfjs_put_c_floats(f, nn_kernel(m, i), (size_t)nn_layer_inputs(m, i) * (size_t)l->units);
		fputs("};\n", f);
		if (nn_bias(m, i)) {
			fprintf(f, "static const float %s_bias_%d[%d] = {", p, i, l->units);
			tfjs_put_c_floats(f, nn_bias(m, i), (size_t)l->units);
			fputs("};\n", f);
		}
	}

	fprintf(f, "\nstatic const struct %s_layer %s_layers[%s_N_LAYERS] = {\n", p, p, up);
	for (int i = 0; i < n; i++) {
		const struct nn_layer_desc *l = nn_layer(m, i);
		char kernel[TFJS_NAME_MAX + 32] = "NULL", bias[TFJS_NAME_MAX + 32] = "NULL";
		int units = nn_kind_is_dense(l->kind) ? l->units : nn_layer_inputs(m, i);

		if (nn_kind_is_dense(l->kind))
			snprintf(kernel, sizeof(kernel), "%s_kernel_%d", p, i);
		if (nn_kind_is_dense(l->kind) && nn_bias(m, i))
			snprintf(bias, sizeof(bias), "%s_bias_%d", p, i);
		fprintf(f, "\t{ %s_%s, ", up, nn_kind_is_dense(l->kind) ? "DENSE" : "DROPOUT");
		tfjs_put_c_string(f, names[i]);
		fprintf(f, ", %d, %d, %s_%s, ", nn_layer_inputs(m, i), units, up, tfjs_c_act_names[l->act]);
		tfjs_put_c_float(f, nn_kind_is_dense(l->kind) ? 0.0f : l->rate);
		fprintf(f, ", %s, %s },\n", kernel, bias);
	}
	fputs("};\n\n", f);

	if (meta && meta->model_id) {
		fprintf(f, "static const char %s_model_id[] = ", p);
		tfjs_put_c_string(f, meta->model_id);
		fputs(";\n", f);
	}
	if (meta && meta->feature_names)
		tfjs_put_c_names(f, p, "feature_names", meta->feature_names, meta->n_features);
	if (meta && meta->class_names)
		tfjs_put_c_names(f, p, "class_names", meta->class_names, meta->n_classes);
	fputc('\n', f);
	tfjs_put_c_predict(f, p, up);
}

int tfjs_write_c_header(struct nn_model *m, const char *path, const char *prefix,
			const struct tfjs_meta *meta, struct tfjs_error *err)
{
	char (*names)[TFJS_NAME_MAX] = NULL;
	char up[TFJS_NAME_MAX], tmp[PATH_MAX];
	FILE *f = NULL;
	mode_t mask;
	int rc, fd;

	if (!tfjs_is_identifier(prefix) || strlen(prefix) >= sizeof(up))
		return tfjs_fail(err, TFJS_ERR_ARG, "C prefix '%s' is not an identifier of under %zu characters",
				 prefix ? prefix : "", sizeof(up));
	rc = tfjs_check_meta(m, meta, err);
	if (rc)
		return rc;
	for (size_t i = 0; i <= strlen(prefix); i++)
		up[i] = (char)toupper((unsigned char)prefix[i]);
	for (int i = 0; i < nn_n_layers(m); i++) {
		const struct nn_layer_desc *l = nn_layer(m, i);
		size_t nk = nn_kind_is_dense(l->kind) ? (size_t)nn_layer_inputs(m, i) * (size_t)l->units : 0;

		for (size_t j = 0; j < nk; j++)
			if (!isfinite(nn_kernel(m, i)[j]))
				return tfjs_fail(err, TFJS_ERR_ARG, "layer %d kernel holds a value that is not finite", i + 1);
		for (int j = 0; nn_kind_is_dense(l->kind) && nn_bias(m, i) && j < l->units; j++)
			if (!isfinite(nn_bias(m, i)[j]))
				return tfjs_fail(err, TFJS_ERR_ARG, "layer %d bias holds a value that is not finite", i + 1);
	}

	names = calloc((size_t)nn_n_layers(m), TFJS_NAME_MAX);
	if (!names)
		return tfjs_fail(err, TFJS_ERR_NOMEM, "out of memory");
	rc = tfjs_layer_names(m, names, err);
	if (rc)
		goto out;
	if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= (int)sizeof(tmp)) {
		rc = tfjs_fail(err, TFJS_ERR_ARG, "%s: path is too long", path);
		goto out;
	}
	/* mkstemp creates mode 0600; give the header the mode that open(2)
	 * with 0666 would, as the other exports get. */
	fd = mkstemp(tmp);
	mask = umask(0);
	umask(mask);
	if (fd < 0 || fchmod(fd, 0666 & ~mask) != 0 || !(f = fdopen(fd, "w"))) {
		rc = tfjs_fail(err, TFJS_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}

	fprintf(f, "/* %s: a ttypong model embedded as C, generated by ttypong %s. Include it\n"
		   " * in one C file and link with -lm; %s_predict() runs the model. */\n"
		   "#ifndef %s_H\n#define %s_H\n\n#include <math.h>\n#include <stddef.h>\n\n",
		prefix, TTYPONG_VERSION, prefix, up, up);
	tfjs_put_c_body(f, m, prefix, up, names, meta);
	fprintf(f, "\n#endif\n");

	if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0) {
		rc = tfjs_fail(err, TFJS_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
		goto out;
	}
	if (fclose(f) != 0) {
		f = NULL;
		rc = tfjs_fail(err, TFJS_ERR_IO, "%s: write failed: %s", tmp, strerror(errno));
		goto out;
	}
	f = NULL;
	if (rename(tmp, path) != 0)
		rc = tfjs_fail(err, TFJS_ERR_IO, "%s: cannot rename into place: %s", path, strerror(errno));
out:
	if (f)
		fclose(f);
	if (rc && tmp[0])
		unlink(tmp);
	free(names);
	if (rc == TFJS_OK)
		tfjs_ok(err);
	return rc;
}

/* ---- CSV ---- */

void tfjs_csv_reader_init(struct tfjs_csv_reader *r, FILE *in, int n_cols,
			  const char *const *names)
{
	memset(r, 0, sizeof(*r));
	r->in = in;
	r->n_cols = n_cols;
	r->names = names;
}

void tfjs_csv_reader_free(struct tfjs_csv_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = 0;
}

/* Trims spaces, tabs and a CR from both ends of s in place. */
static char *tfjs_trim(char *s)
{
	char *end = s + strlen(s);

	while (*s == ' ' || *s == '\t')
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
		end--;
	*end = '\0';
	return s;
}

static int tfjs_parse_float(const char *s, float *out)
{
	char *end;

	errno = 0;
	*out = strtof(s, &end);
	return s[0] != '\0' && *end == '\0' && errno != ERANGE && isfinite(*out);
}

/* Returns 1 if all of s reads as a number, finite or not ("nan", "inf",
 * "1e400"): such a first field starts a bad row, not a header. */
static int tfjs_numeric_like(const char *s)
{
	char *end;

	(void)strtof(s, &end);
	return s[0] != '\0' && *end == '\0';
}

/* Splits line at commas into fields[]; returns the field count, which may
 * exceed max (the extra fields are not stored). */
static int tfjs_split_fields(char *line, char **fields, int max)
{
	int n = 0;

	for (char *p = line;; p++) {
		char *comma = strchr(p, ',');

		if (comma)
			*comma = '\0';
		if (n < max)
			fields[n] = tfjs_trim(p);
		n++;
		if (!comma)
			return n;
		p = comma;
	}
}

/* Checks a header line against the expected names, if any. */
static int tfjs_csv_header(struct tfjs_csv_reader *r, char **fields, int n,
			   struct tfjs_error *err)
{
	if (n != r->n_cols)
		return tfjs_fail(err, TFJS_ERR_CSV, "line %ld: header has %d columns but %d are expected",
				 r->line, n, r->n_cols);
	for (int i = 0; r->names && i < n; i++)
		if (strcmp(fields[i], r->names[i]) != 0)
			return tfjs_fail(err, TFJS_ERR_CSV, "line %ld: header column %d is '%s' but '%s' is expected",
					 r->line, i + 1, fields[i], r->names[i]);
	return TFJS_OK;
}

int tfjs_csv_next_row(struct tfjs_csv_reader *r, float *row, struct tfjs_error *err)
{
	char *fields[TFJS_MAX_NAMES];

	if (r->n_cols <= 0 || r->n_cols > TFJS_MAX_NAMES)
		return tfjs_fail(err, TFJS_ERR_ARG, "CSV rows must have 1 to %d columns", TFJS_MAX_NAMES);
	for (;;) {
		ssize_t got;
		char *line;
		int n;

		errno = 0;
		got = getline(&r->buf, &r->cap, r->in);
		if (got < 0) {
			if (ferror(r->in))
				return tfjs_fail(err, TFJS_ERR_IO, "line %ld: read failed: %s", r->line + 1, strerror(errno));
			if (errno == ENOMEM)
				return tfjs_fail(err, TFJS_ERR_NOMEM, "line %ld: out of memory", r->line + 1);
			tfjs_ok(err);
			return 0;
		}
		r->line++;
		if (strlen(r->buf) != (size_t)got)
			return tfjs_fail(err, TFJS_ERR_CSV, "line %ld: contains a NUL byte", r->line);
		line = r->buf;
		if (r->line == 1 && strncmp(line, TFJS_UTF8_BOM, 3) == 0)
			line += 3;
		line = tfjs_trim(line);
		if (line[0] == '\0')
			continue;

		n = tfjs_split_fields(line, fields, TFJS_MAX_NAMES);
		if (!r->seen_row && n >= 1 && !tfjs_numeric_like(fields[0])) {
			int rc = tfjs_csv_header(r, fields, n, err);

			r->seen_row = 1;
			if (rc)
				return rc;
			continue;
		}
		r->seen_row = 1;
		if (n != r->n_cols)
			return tfjs_fail(err, TFJS_ERR_CSV, "line %ld: %d values but %d are expected", r->line, n, r->n_cols);
		for (int i = 0; i < n; i++)
			if (!tfjs_parse_float(fields[i], &row[i]))
				return tfjs_fail(err, TFJS_ERR_CSV, "line %ld, column %d: '%.40s%s' is not a finite number",
						 r->line, i + 1, fields[i], strlen(fields[i]) > 40 ? "..." : "");
		tfjs_ok(err);
		return 1;
	}
}

static int tfjs_check_write(FILE *out, struct tfjs_error *err)
{
	if (ferror(out))
		return tfjs_fail(err, TFJS_ERR_IO, "CSV write failed: %s", strerror(errno));
	tfjs_ok(err);
	return TFJS_OK;
}

/* Writes a CSV field, quoting it if it contains a comma, quote or line break. */
static void tfjs_put_csv_field(FILE *out, const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', out);
		fputc(*s, out);
	}
	fputc('"', out);
}

int tfjs_csv_write_probs_header(FILE *out, const char *const *class_names,
				int n_classes, struct tfjs_error *err)
{
	for (int i = 0; i < n_classes; i++) {
		tfjs_put_csv_field(out, class_names[i]);
		fputc(',', out);
	}
	fputs("class\n", out);
	return tfjs_check_write(out, err);
}

int tfjs_csv_write_probs(FILE *out, const float *probs,
			 const char *const *class_names, int n_classes,
			 struct tfjs_error *err)
{
	int best = 0;

	for (int i = 0; i < n_classes; i++) {
		fprintf(out, "%.9g,", (double)probs[i]);
		if (probs[i] > probs[best])
			best = i;
	}
	tfjs_put_csv_field(out, class_names[best]);
	fputc('\n', out);
	return tfjs_check_write(out, err);
}

int tfjs_csv_write_records(FILE *out, const char *const *feature_names,
			   int n_features, const char *label_name,
			   const float *features, const int *labels,
			   size_t n_rows, struct tfjs_error *err)
{
	for (int j = 0; j < n_features; j++) {
		tfjs_put_csv_field(out, feature_names[j]);
		fputc(',', out);
	}
	tfjs_put_csv_field(out, label_name);
	fputc('\n', out);

	for (size_t i = 0; i < n_rows && !ferror(out); i++) {
		for (int j = 0; j < n_features; j++)
			fprintf(out, "%.9g,", (double)features[i * (size_t)n_features + (size_t)j]);
		fprintf(out, "%d\n", labels[i]);
	}
	return tfjs_check_write(out, err);
}

long tfjs_csv_predict(struct nn_model *m, FILE *in, FILE *out,
		      const char *const *feature_names,
		      const char *const *class_names, struct tfjs_error *err)
{
	int n_in = nn_n_inputs(m), n_out = nn_n_outputs(m);
	struct tfjs_csv_reader reader;
	float x[TFJS_MAX_NAMES], *y;
	long rows = 0;
	int rc;

	if (n_in > TFJS_MAX_NAMES)
		return tfjs_fail(err, TFJS_ERR_ARG, "the model takes %d inputs; CSV rows hold at most %d",
				 n_in, TFJS_MAX_NAMES);
	y = malloc((size_t)n_out * sizeof(*y));
	if (!y)
		return tfjs_fail(err, TFJS_ERR_NOMEM, "out of memory");
	tfjs_csv_reader_init(&reader, in, n_in, feature_names);

	rc = tfjs_csv_write_probs_header(out, class_names, n_out, err);
	while (rc == TFJS_OK && (rc = tfjs_csv_next_row(&reader, x, err)) == 1) {
		int st = nn_predict(m, x, 1, y);

		if (st != NN_OK) {
			rc = tfjs_fail(err, TFJS_ERR_NN, "line %ld: prediction failed: %s", reader.line, nn_strerror(st));
			break;
		}
		rc = tfjs_csv_write_probs(out, y, class_names, n_out, err);
		rows++;
	}

	tfjs_csv_reader_free(&reader);
	free(y);
	return rc < 0 ? rc : rows;
}
