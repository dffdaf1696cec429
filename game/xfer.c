/* xfer: the export, import, predict and stats commands. ai/tfjs does the
 * formats; this file chooses models, paths and messages. */
#include "xfer.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "cli.h"
#include "label.h"
#include "nn.h"
#include "rng.h"
#include "store.h"
#include "tfjs.h"
#include "train.h"

#ifndef TTYPONG_DATADIR
#define TTYPONG_DATADIR "/usr/local/share/ttypong"
#endif

/* Longest C identifier prefix accepted for --format c. */
#define XFER_PREFIX_MAX 48
/* Longest --name accepted by import, in bytes. */
#define XFER_NAME_MAX 200

const char *const xfer_feature_names[CORE_FEATURE_COUNT] = {
	[CORE_FEAT_BALL_X] = "ball_x",
	[CORE_FEAT_BALL_Y] = "ball_y",
	[CORE_FEAT_BALL_VX] = "ball_vx",
	[CORE_FEAT_BALL_VY] = "ball_vy",
	[CORE_FEAT_OWN_Y] = "own_y",
	[CORE_FEAT_OPP_Y] = "opp_y",
};

const char *const xfer_class_names[XFER_N_CLASSES] = { "up", "stay", "down" };

static const struct tfjs_meta xfer_meta_base = {
	.feature_names = xfer_feature_names,
	.n_features = CORE_FEATURE_COUNT,
	.class_names = xfer_class_names,
	.n_classes = XFER_N_CLASSES,
};

/* ---- Shared steps ------------------------------------------------------- */

static bool xfer_is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

int xfer_web_dir(const char *exe_path, const char *data_dir, char *out, size_t out_size)
{
	const char *slash = exe_path ? strrchr(exe_path, '/') : NULL;
	char probe[PATH_MAX];
	int n;

	if (slash) {
		int len = (int)(slash - exe_path);

		n = snprintf(probe, sizeof probe, "%.*s/Makefile", len, exe_path);
		if (n > 0 && (size_t)n < sizeof probe && xfer_is_file(probe)) {
			n = snprintf(probe, sizeof probe, "%.*s/assets/web/index.html", len, exe_path);
			if (n > 0 && (size_t)n < sizeof probe && xfer_is_file(probe)) {
				n = snprintf(out, out_size, "%.*s/assets/web", len, exe_path);
				return n > 0 && (size_t)n < out_size ? 0 : -1;
			}
		}
	}

	n = snprintf(out, out_size, "%s/web", data_dir);
	if (n < 0 || (size_t)n >= out_size)
		return -1;
	n = snprintf(probe, sizeof probe, "%s/index.html", out);
	return n > 0 && (size_t)n < sizeof probe && xfer_is_file(probe) ? 0 : -1;
}

/* Opens the save for reading only, so that a command which only reads
 * neither creates a missing save nor migrates an old one. Prints one line
 * and returns CLI_EXIT_FAIL on failure. */
static int xfer_open_read(const char *db_opt, struct store **out)
{
	struct store_options opts = { .read_only = true };
	char path[PATH_MAX];
	char msg[STORE_MSG_MAX];

	*out = NULL;
	if (store_default_path(db_opt, path, sizeof path, msg, sizeof msg) != STORE_OK ||
	    store_open(path, &opts, out, msg, sizeof msg) != STORE_OK) {
		cli_error("%s", msg);
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/* Parses a model version id given to option opt. */
static int xfer_parse_id(const char *cmd, const char *opt, const char *value, int64_t *id)
{
	long v;

	if (cli_parse_long(cmd, opt, value, 1, LONG_MAX, &v))
		return CLI_EXIT_USAGE;
	*id = v;
	return CLI_EXIT_OK;
}

/* Writes the id of the model version to use into *id: want if it is not 0,
 * else the newest promoted version. Prints one line and returns
 * CLI_EXIT_FAIL when the save has none. */
static int xfer_pick_model(struct store *s, int64_t want, int64_t *id)
{
	enum store_status st;

	if (want > 0) {
		*id = want;
		return CLI_EXIT_OK;
	}
	st = store_model_latest_promoted(s, id);
	if (st == STORE_ERR_NOT_FOUND) {
		cli_error("%s: the save has no promoted model version; run 'ttypong train' first, or pass --model ID ('ttypong models' lists the versions)",
			  store_path(s));
		return CLI_EXIT_FAIL;
	}
	if (st != STORE_OK) {
		cli_error("%s", store_errmsg(s));
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/* Loads model version id into *m (nn_free() it). Prints one line and
 * returns CLI_EXIT_FAIL on failure. */
static int xfer_load_version(struct store *s, int64_t id, struct nn_model **m)
{
	struct store_model *sm = NULL;
	enum store_status st = store_model_get(s, id, &sm);
	int rc;

	*m = NULL;
	if (st == STORE_ERR_NOT_FOUND) {
		cli_error("%s: model version %lld is not in the save; 'ttypong models' lists the versions",
			  store_path(s), (long long)id);
		return CLI_EXIT_FAIL;
	}
	if (st != STORE_OK) {
		cli_error("%s", store_errmsg(s));
		return CLI_EXIT_FAIL;
	}

	rc = nn_load(m, sm->blob, sm->blob_size);
	free(sm);
	if (rc != NN_OK) {
		cli_error("%s: model version %lld cannot be loaded: %s", store_path(s),
			  (long long)id, nn_strerror(rc));
		return CLI_EXIT_FAIL;
	}
	if (nn_n_inputs(*m) != CORE_FEATURE_COUNT || nn_n_outputs(*m) != XFER_N_CLASSES) {
		cli_error("%s: model version %lld maps %d inputs to %d outputs, not %d to %d",
			  store_path(s), (long long)id, nn_n_inputs(*m), nn_n_outputs(*m),
			  CORE_FEATURE_COUNT, XFER_N_CLASSES);
		nn_free(*m);
		*m = NULL;
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/* Checks the class names an imported model's metadata lists, if any. */
static int xfer_check_classes(const struct tfjs_info *info, char *msg, size_t msg_size)
{
	if (!info->has_meta || info->n_classes == 0)
		return 0;
	if (info->n_classes != XFER_N_CLASSES) {
		snprintf(msg, msg_size, "metadata names %d classes but ttypong has %d (up, stay, down)",
			 info->n_classes, XFER_N_CLASSES);
		return -1;
	}
	for (int i = 0; i < XFER_N_CLASSES; i++) {
		if (strcmp(info->class_names[i], xfer_class_names[i]) != 0) {
			snprintf(msg, msg_size, "metadata names class %d '%s' but ttypong's class %d is '%s'",
				 i, info->class_names[i], i, xfer_class_names[i]);
			return -1;
		}
	}
	return 0;
}

/* Imports the TF.js model at path and checks its metadata against the
 * game's features and classes. Prints one line and returns CLI_EXIT_FAIL on
 * failure, with *m NULL. */
static int xfer_import_tfjs(const char *path, struct nn_model **m, struct tfjs_info *info)
{
	struct tfjs_error err;
	char msg[TFJS_ERROR_MAX];

	if (tfjs_import_file(m, path, CORE_FEATURE_COUNT, XFER_N_CLASSES, info, &err) != TFJS_OK) {
		cli_error("%s", err.message);
		return CLI_EXIT_FAIL;
	}
	if (tfjs_info_check_features(info, xfer_feature_names, CORE_FEATURE_COUNT, &err) != TFJS_OK) {
		cli_error("%s: %s", path, err.message);
		goto fail;
	}
	if (xfer_check_classes(info, msg, sizeof msg) != 0) {
		cli_error("%s: %s", path, msg);
		goto fail;
	}
	return CLI_EXIT_OK;
fail:
	nn_free(*m);
	*m = NULL;
	return CLI_EXIT_FAIL;
}

/* Writes the output path into out: given (the --out argument) if not NULL,
 * else name in the directory of the save's file. Prints one line and
 * returns CLI_EXIT_FAIL when the path does not fit. */
static int xfer_out_path(const struct store *s, const char *given, const char *name,
			 char *out, size_t out_size)
{
	const char *save = store_path(s);
	const char *slash = strrchr(save, '/');
	int n;

	if (given)
		n = snprintf(out, out_size, "%s", given);
	else if (slash)
		n = snprintf(out, out_size, "%.*s/%s", (int)(slash - save), save, name);
	else
		n = snprintf(out, out_size, "%s", name);
	if (n < 0 || (size_t)n >= out_size) {
		cli_error("the output path is longer than %zu bytes; pass a shorter --out", out_size - 1);
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/* ---- export -------------------------------------------------------------- */

enum xfer_format { XFER_FORMAT_TFJS, XFER_FORMAT_CSV, XFER_FORMAT_C };

struct xfer_export {
	enum xfer_format format;
	const char *out;	/* --out, or NULL for the default beside the save */
	int64_t model_id;	/* 0: the newest promoted version */
	bool web;
	enum label_teacher teacher;	/* hindsight unless --teacher names another */
	bool teacher_given;
	long rounds;		/* 0: every finished round */
	const char *prefix;	/* --prefix, or NULL */
	const char *db;
};

static void xfer_export_help(void)
{
	puts("Usage: ttypong export [--format tfjs] [--model ID] [--web] [--out DIR]\n"
	     "       ttypong export --format c [--model ID] [--prefix NAME] [--out FILE]\n"
	     "       ttypong export --format csv [--teacher hindsight|human] [--rounds N] [--out FILE]\n"
	     "Write a model version of the save as a TF.js Layers model (model.json and\n"
	     "its weights, loadable by tf.loadLayersModel) or as a C header, or write\n"
	     "the save's labelled records as CSV. Every file is written under a\n"
	     "temporary name and renamed into place.\n"
	     "\n"
	     "  -f, --format FMT   tfjs, c or csv (default tfjs)\n"
	     "  -o, --out PATH     the directory (tfjs) or file (c, csv) to write; default\n"
	     "                     beside the save: model-ID/, model-ID.h or records.csv;\n"
	     "                     for csv only, - writes to standard output\n"
	     "  -m, --model ID     the model version (default: the newest promoted one)\n"
	     "      --web          tfjs: also copy the browser page that plays against the\n"
	     "                     model (assets/web in a source tree, else\n"
	     "                     " TTYPONG_DATADIR "/web)\n"
	     "      --prefix NAME  c: the C identifier that starts every name in the\n"
	     "                     header (default ttypong_model)\n"
	     "      --teacher T    csv: hindsight (both paddles, moving toward where the\n"
	     "                     ball crossed) or human (the left paddle's recorded\n"
	     "                     moves); default hindsight\n"
	     "  -n, --rounds N     csv: only the newest N finished rounds (default all)\n"
	     "      --db PATH      the save to read\n"
	     "  -h, --help         show this help");
}

/* Checks that the options given fit the format. */
static int xfer_export_check(const struct xfer_export *x)
{
	static const char *const names[] = { "tfjs", "csv", "c" };
	const char *fmt = names[x->format];

	if (x->web && x->format != XFER_FORMAT_TFJS)
		return cli_usage_error("export", "--web applies to --format tfjs only, not %s", fmt);
	if (x->prefix && x->format != XFER_FORMAT_C)
		return cli_usage_error("export", "--prefix applies to --format c only, not %s", fmt);
	if (x->model_id && x->format == XFER_FORMAT_CSV)
		return cli_usage_error("export", "--model does not apply to --format csv, which writes the save's records");
	if ((x->teacher_given || x->rounds) && x->format != XFER_FORMAT_CSV)
		return cli_usage_error("export", "--teacher and --rounds apply to --format csv only, not %s", fmt);
	if (x->out && x->out[0] == '\0')
		return cli_usage_error("export", "invalid value '' for --out: expected a path");
	if (x->out && strcmp(x->out, "-") == 0 && x->format != XFER_FORMAT_CSV)
		return cli_usage_error("export", "--out - (standard output) applies to --format csv only; give %s a file name",
				       x->format == XFER_FORMAT_C ? "the header" : "the model a directory");
	return CLI_EXIT_OK;
}

/* ASCII letters, digits and '_', whatever the locale. */
static bool xfer_is_ident_char(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool xfer_is_identifier(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > XFER_PREFIX_MAX || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!xfer_is_ident_char(s[i]))
			return false;
	return true;
}

static int xfer_parse_export(int argc, char **argv, struct xfer_export *x)
{
	enum { OPT_WEB = 256, OPT_PREFIX, OPT_TEACHER, OPT_DB };
	static const struct option options[] = {
		{"format", required_argument, NULL, 'f'},
		{"out", required_argument, NULL, 'o'},
		{"model", required_argument, NULL, 'm'},
		{"web", no_argument, NULL, OPT_WEB},
		{"prefix", required_argument, NULL, OPT_PREFIX},
		{"teacher", required_argument, NULL, OPT_TEACHER},
		{"rounds", required_argument, NULL, 'n'},
		{"db", required_argument, NULL, OPT_DB},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	while ((opt = getopt_long(argc, argv, ":f:o:m:n:h", options, NULL)) != -1) {
		switch (opt) {
		case 'f':
			if (strcmp(optarg, "tfjs") == 0)
				x->format = XFER_FORMAT_TFJS;
			else if (strcmp(optarg, "csv") == 0)
				x->format = XFER_FORMAT_CSV;
			else if (strcmp(optarg, "c") == 0)
				x->format = XFER_FORMAT_C;
			else
				return cli_usage_error("export", "invalid value '%s' for --format: expected tfjs, csv or c",
						       optarg);
			break;
		case 'o':
			x->out = optarg;
			break;
		case 'm':
			if (xfer_parse_id("export", "--model", optarg, &x->model_id))
				return CLI_EXIT_USAGE;
			break;
		case OPT_WEB:
			x->web = true;
			break;
		case OPT_PREFIX:
			if (!xfer_is_identifier(optarg))
				return cli_usage_error("export", "invalid value '%s' for --prefix: expected a C identifier of at most %d characters",
						       optarg, XFER_PREFIX_MAX);
			x->prefix = optarg;
			break;
		case OPT_TEACHER:
			if (label_teacher_parse(optarg, &x->teacher) != 0)
				return cli_usage_error("export", "invalid value '%s' for --teacher: expected hindsight or human",
						       optarg);
			x->teacher_given = true;
			break;
		case 'n':
			if (cli_parse_long("export", "--rounds", optarg, 1, INT32_MAX, &x->rounds))
				return CLI_EXIT_USAGE;
			break;
		case OPT_DB:
			x->db = optarg;
			break;
		case 'h':
			xfer_export_help();
			return -1;
		default:
			return cli_bad_option("export", opt, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("export", "unexpected argument '%s'", argv[optind]);
	return xfer_export_check(x);
}

/* Loads the model version to export into *m (nn_free() it), writes its id
 * into *id and the output path into out: --out, or model-ID followed by
 * suffix beside the save. Prints one line on failure. */
static int xfer_export_model(struct store *s, const struct xfer_export *x, const char *suffix,
			     struct nn_model **m, int64_t *id, char *out, size_t out_size)
{
	char name[64];
	int status;

	status = xfer_pick_model(s, x->model_id, id);
	if (status == CLI_EXIT_OK)
		status = xfer_load_version(s, *id, m);
	if (status != CLI_EXIT_OK)
		return status;

	snprintf(name, sizeof name, "model-%lld%s", (long long)*id, suffix);
	status = xfer_out_path(s, x->out, name, out, out_size);
	if (status != CLI_EXIT_OK) {
		nn_free(*m);
		*m = NULL;
	}
	return status;
}

/* Finds the browser page for --web. Prints one line when it is missing. */
static int xfer_find_web(char *web, size_t web_size)
{
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);

	exe[len > 0 ? len : 0] = '\0';
	if (xfer_web_dir(len > 0 ? exe : NULL, TTYPONG_DATADIR, web, web_size) != 0) {
		cli_error("the browser page is missing: %s/index.html not found; reinstall ttypong or export without --web",
			  web);
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

static int xfer_export_tfjs(struct store *s, const struct xfer_export *x)
{
	struct nn_model *m = NULL;
	struct tfjs_meta meta = xfer_meta_base;
	struct tfjs_error err;
	char id_text[32], out[PATH_MAX], web[PATH_MAX];
	int64_t id;
	int status;

	if (x->web && xfer_find_web(web, sizeof web) != CLI_EXIT_OK)
		return CLI_EXIT_FAIL;
	status = xfer_export_model(s, x, "", &m, &id, out, sizeof out);
	if (status != CLI_EXIT_OK)
		return status;

	snprintf(id_text, sizeof id_text, "%lld", (long long)id);
	meta.model_id = id_text;
	if (tfjs_export_dir(m, out, &meta, x->web ? web : NULL, &err) != TFJS_OK) {
		cli_error("%s", err.message);
		status = CLI_EXIT_FAIL;
	} else if (x->web) {
		printf("exported model version %lld with the browser page to %s; serve it with: python3 -m http.server -b 127.0.0.1 -d %s 8000\n",
		       (long long)id, out, out);
	} else {
		printf("exported model version %lld to %s\n", (long long)id, out);
	}
	nn_free(m);
	return status;
}

static int xfer_export_c(struct store *s, const struct xfer_export *x)
{
	struct nn_model *m = NULL;
	struct tfjs_meta meta = xfer_meta_base;
	struct tfjs_error err;
	char id_text[32], out[PATH_MAX];
	int64_t id;
	int status;

	status = xfer_export_model(s, x, ".h", &m, &id, out, sizeof out);
	if (status != CLI_EXIT_OK)
		return status;

	snprintf(id_text, sizeof id_text, "%lld", (long long)id);
	meta.model_id = id_text;
	if (tfjs_write_c_header(m, out, x->prefix ? x->prefix : "ttypong_model", &meta, &err) != TFJS_OK) {
		cli_error("%s", err.message);
		status = CLI_EXIT_FAIL;
	} else {
		printf("exported model version %lld to %s\n", (long long)id, out);
	}
	nn_free(m);
	return status;
}

/* ---- export --format csv ------------------------------------------------ */

/* Rounds whose frames are in memory at once. The records of every round
 * accumulate, but the raw frames are loaded one batch at a time. */
#define XFER_CSV_ROUNDS_PER_LOAD 64

/* Labels the rounds in infos into d as the trainer does, without the extra
 * augmented rows. */
static int xfer_label_rounds(struct store *s, const struct agent_opts *opts,
			     const struct store_round_info *infos, size_t n_infos,
			     struct train_data *d)
{
	struct core_config cfg;
	struct rng r;

	/* NOTE: labels assume the default rules, as the trainer does; a save
	 * recorded under other paddle or speed settings would need its own. */
	core_config_default(&cfg);
	rng_seed(&r, opts->seed);
	for (size_t first = 0; first < n_infos; first += XFER_CSV_ROUNDS_PER_LOAD) {
		size_t n = n_infos - first < XFER_CSV_ROUNDS_PER_LOAD ? n_infos - first
								     : XFER_CSV_ROUNDS_PER_LOAD;
		int64_t ids[XFER_CSV_ROUNDS_PER_LOAD];
		struct store_frames frames = { 0 };
		int rc = TRAIN_OK;

		for (size_t i = 0; i < n; i++)
			ids[i] = infos[first + i].id;
		if (store_frames_load(s, ids, n, &frames) != STORE_OK) {
			cli_error("%s", store_errmsg(s));
			return CLI_EXIT_FAIL;
		}
		for (size_t i = 0; i < frames.n_rounds && rc == TRAIN_OK; i++) {
			size_t start = frames.round_start[i];

			rc = agent_label_round(&cfg, opts, frames.frames + start,
					       frames.round_start[i + 1] - start,
					       (uint64_t)frames.round_ids[i], &r, d);
		}
		store_frames_free(&frames);
		if (rc != TRAIN_OK) {
			cli_error("out of memory labelling the save's frames");
			return CLI_EXIT_FAIL;
		}
	}
	return CLI_EXIT_OK;
}

/* Writes d's records to path through a temporary file in the same directory
 * and a rename, so path contains the old file or the whole new one. "-" writes
 * to stdout. */
static int xfer_write_records(const char *path, const struct train_data *d)
{
	struct tfjs_error err;
	char tmp[PATH_MAX];
	mode_t mask;
	FILE *f;
	int fd, n;

	if (strcmp(path, "-") == 0) {
		if (tfjs_csv_write_records(stdout, xfer_feature_names, CORE_FEATURE_COUNT, "label",
					   d->x, d->ids, d->n_rows, &err) != TFJS_OK) {
			cli_error("stdout: %s", err.message);
			return CLI_EXIT_FAIL;
		}
		if (fflush(stdout) != 0) {
			cli_error("writing to stdout failed: %s", strerror(errno));
			return CLI_EXIT_FAIL;
		}
		return CLI_EXIT_OK;
	}

	n = snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof tmp) {
		cli_error("the output path is longer than %zu bytes; pass a shorter --out",
			  sizeof tmp - sizeof ".tmp.XXXXXX");
		return CLI_EXIT_FAIL;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		cli_error("%s: cannot create a file there: %s", path, strerror(errno));
		return CLI_EXIT_FAIL;
	}
	/* mkstemp() creates the file 0600; give it the mode a plain create would. */
	mask = umask(0);
	umask(mask);
	fchmod(fd, 0666 & ~mask);
	f = fdopen(fd, "w");
	if (!f) {
		cli_error("%s: %s", tmp, strerror(errno));
		close(fd);
		goto fail;
	}

	if (tfjs_csv_write_records(f, xfer_feature_names, CORE_FEATURE_COUNT, "label", d->x,
				   d->ids, d->n_rows, &err) != TFJS_OK) {
		cli_error("%s: %s", tmp, err.message);
		fclose(f);
		goto fail;
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		cli_error("%s: writing failed: %s", tmp, strerror(errno));
		fclose(f);
		goto fail;
	}
	if (fclose(f) != 0) {
		cli_error("%s: writing failed: %s", tmp, strerror(errno));
		goto fail;
	}
	if (rename(tmp, path) != 0) {
		cli_error("%s: cannot replace it: %s", path, strerror(errno));
		goto fail;
	}
	return CLI_EXIT_OK;
fail:
	unlink(tmp);
	return CLI_EXIT_FAIL;
}

static int xfer_export_csv(struct store *s, const struct xfer_export *x)
{
	struct agent_opts opts;
	struct train_data d;
	struct store_round_info *infos = NULL;
	size_t n_infos = 0;
	char out[PATH_MAX];
	int status;

	agent_opts_default(&opts);
	opts.augment = 0;
	opts.label.teacher = x->teacher;
	status = xfer_out_path(s, x->out, "records.csv", out, sizeof out);
	if (status != CLI_EXIT_OK)
		return status;

	if (store_rounds_list(s, 0, (size_t)x->rounds, &infos, &n_infos) != STORE_OK) {
		cli_error("%s", store_errmsg(s));
		return CLI_EXIT_FAIL;
	}
	if (n_infos == 0) {
		cli_error("%s: the save has no finished round to label; play, or record rounds with 'ttypong sim', first",
			  store_path(s));
		free(infos);
		return CLI_EXIT_FAIL;
	}

	train_data_init(&d, CORE_FEATURE_COUNT);
	status = xfer_label_rounds(s, &opts, infos, n_infos, &d);
	if (status == CLI_EXIT_OK)
		status = xfer_write_records(out, &d);
	if (status == CLI_EXIT_OK && strcmp(out, "-") != 0)
		printf("wrote %zu records of %zu rounds (%s teacher) to %s\n", d.n_rows, n_infos,
		       label_teacher_name(x->teacher), out);
	train_data_free(&d);
	free(infos);
	return status;
}

int xfer_cmd_export(int argc, char **argv)
{
	struct xfer_export x = { .format = XFER_FORMAT_TFJS, .teacher = LABEL_TEACHER_HINDSIGHT };
	struct store *s = NULL;
	int status = xfer_parse_export(argc, argv, &x);

	if (status < 0)
		return CLI_EXIT_OK;
	if (status != CLI_EXIT_OK)
		return status;

	if (xfer_open_read(x.db, &s) != CLI_EXIT_OK)
		return CLI_EXIT_FAIL;
	switch (x.format) {
	case XFER_FORMAT_TFJS:
		status = xfer_export_tfjs(s, &x);
		break;
	case XFER_FORMAT_C:
		status = xfer_export_c(s, &x);
		break;
	case XFER_FORMAT_CSV:
		status = xfer_export_csv(s, &x);
		break;
	}
	store_close(s);
	return status;
}

/* ---- import -------------------------------------------------------------- */

static void xfer_import_help(void)
{
	puts("Usage: ttypong import PATH [--name TEXT] [--promote] [--db PATH]\n"
	     "Store a TF.js Layers model (PATH is its model.json or the directory\n"
	     "holding it) as a new model version of kind 'imported', and print the\n"
	     "version's id. The model must map 6 inputs to 3 outputs; feature and class\n"
	     "names in its metadata, when present, must be ttypong's. On any error\n"
	     "nothing is stored.\n"
	     "\n"
	     "Commands that take --model ID, such as eval, use an imported version like\n"
	     "a trained one. It becomes the default AI, the newest promoted version that\n"
	     "play and train start from, only with --promote.\n"
	     "\n"
	     "      --name TEXT    a note stored with the version (default: the path)\n"
	     "      --promote      mark the version promoted, making it the default AI\n"
	     "      --db PATH      the save to store into\n"
	     "  -h, --help         show this help");
}

/* Copies s into out (cap bytes) as valid UTF-8: each byte that does not
 * start a well-formed sequence becomes the text \xNN, so that a path in any
 * encoding can be stored in JSON and shown. Truncates to fit. */
static void xfer_utf8_escape(const char *s, char *out, size_t cap)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	while (*p && n + 5 < cap) {
		int len = *p < 0x80 ? 1 : (*p & 0xe0) == 0xc0 && *p >= 0xc2 ? 2 :
			  (*p & 0xf0) == 0xe0 ? 3 : (*p & 0xf8) == 0xf0 && *p <= 0xf4 ? 4 : 0;
		uint32_t cp = len == 1 ? *p : len == 2 ? *p & 0x1fu : len == 3 ? *p & 0x0fu : *p & 0x07u;

		for (int k = 1; k < len; k++) {
			if ((p[k] & 0xc0) != 0x80) {
				len = 0;
				break;
			}
			cp = cp << 6 | (p[k] & 0x3fu);
		}
		/* Overlong forms, surrogates and values past U+10FFFF are invalid. */
		if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
			len = 0;
		if (len == 0) {
			n += (size_t)snprintf(out + n, cap - n, "\\x%02X", *p);
			p++;
			continue;
		}
		memcpy(out + n, p, (size_t)len);
		n += (size_t)len;
		p += len;
	}
	out[n] = '\0';
}

/* Builds the version's config JSON: the network description, where the model
 * came from, and the provenance its model.json records. Returns NULL when
 * out of memory. */
static char *xfer_import_config(const struct nn_model *m, const char *path,
				const struct tfjs_info *info)
{
	char *net_text = nn_to_json(m);
	json_t *net = net_text ? json_loads(net_text, 0, NULL) : NULL;
	json_t *root = json_object();
	json_t *src = json_object();
	char resolved[PATH_MAX], shown[4 * PATH_MAX + 1];
	char *out = NULL;

	if (!net || !root || !src)
		goto out;
	xfer_utf8_escape(realpath(path, resolved) ? resolved : path, shown, sizeof(shown));
	json_object_set_new(src, "path", json_string(shown));
	if (info->generated_by[0])
		json_object_set_new(src, "generated_by", json_string(info->generated_by));
	if (info->converted_by[0])
		json_object_set_new(src, "converted_by", json_string(info->converted_by));
	if (info->model_id[0])
		json_object_set_new(src, "model_id", json_string(info->model_id));
	json_object_set_new(root, "network", net);
	net = NULL;
	json_object_set_new(root, "import", src);
	src = NULL;
	out = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
	free(net_text);
	json_decref(net);
	json_decref(src);
	json_decref(root);
	return out;
}

static bool xfer_is_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

int xfer_cmd_import(int argc, char **argv)
{
	enum { OPT_NAME = 256, OPT_PROMOTE, OPT_DB };
	static const struct option options[] = {
		{"name", required_argument, NULL, OPT_NAME},
		{"promote", no_argument, NULL, OPT_PROMOTE},
		{"db", required_argument, NULL, OPT_DB},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *name = NULL, *db = NULL, *path;
	bool promote = false;
	struct nn_model *m = NULL;
	struct tfjs_info info;
	struct store *s = NULL;
	unsigned char *blob = NULL;
	size_t blob_size = 0;
	char *config = NULL;
	char note[4 * PATH_MAX + 1];
	int64_t id;
	int opt, status = CLI_EXIT_FAIL;

	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (opt) {
		case OPT_NAME:
			if (optarg[0] == '\0' || strlen(optarg) > XFER_NAME_MAX || !xfer_is_printable(optarg))
				return cli_usage_error("import", "invalid value for --name: expected 1 to %d characters without control characters",
						       XFER_NAME_MAX);
			name = optarg;
			break;
		case OPT_PROMOTE:
			promote = true;
			break;
		case OPT_DB:
			db = optarg;
			break;
		case 'h':
			xfer_import_help();
			return CLI_EXIT_OK;
		default:
			return cli_bad_option("import", opt, argv);
		}
	}
	if (optind == argc)
		return cli_usage_error("import", "missing PATH: the model.json to import or its directory");
	if (argc - optind > 1)
		return cli_usage_error("import", "unexpected argument '%s'", argv[optind + 1]);
	path = argv[optind];

	/* Everything that can fail on the model's side runs before the save
	 * is opened, so a rejected model leaves the save untouched. */
	if (xfer_import_tfjs(path, &m, &info) != CLI_EXIT_OK)
		return CLI_EXIT_FAIL;
	cli_warn_model("import", "the imported model", m);
	config = xfer_import_config(m, path, &info);
	if (!config || nn_save(m, &blob, &blob_size) != NN_OK) {
		cli_error("out of memory storing %s", path);
		goto out;
	}
	xfer_utf8_escape(name ? name : path, note, sizeof(note));

	struct store_model sm = {
		.kind = STORE_MODEL_IMPORTED,
		.config_json = config,
		.blob = blob,
		.blob_size = blob_size,
		.train_loss = NAN,
		.val_loss = NAN,
		.val_acc = NAN,
		.return_rate = NAN,
		.promoted = promote,
		.note = note,
	};

	if (cli_open_store(db, &s) != CLI_EXIT_OK)
		goto out;
	if (store_model_put(s, &sm, &id) != STORE_OK) {
		cli_error("%s", store_errmsg(s));
		goto out;
	}
	printf("%lld\n", (long long)id);
	status = CLI_EXIT_OK;
out:
	store_close(s);
	free(config);
	free(blob);
	nn_free(m);
	return status;
}

/* ---- predict ------------------------------------------------------------- */

static void xfer_predict_help(void)
{
	puts("Usage: ttypong predict [--model ID|PATH] [--input FILE] [--db PATH]\n"
	     "Read CSV rows of the 6 features (ball_x, ball_y, ball_vx, ball_vy, own_y,\n"
	     "opp_y; an optional header must name them in this order) and print the\n"
	     "model's class probabilities: a header, then one row per input row with\n"
	     "up, stay, down and the most probable class. Dropout is off.\n"
	     "\n"
	     "  -m, --model ID|PATH  a model version of the save (digits only), or a TF.js\n"
	     "                       model.json or its directory (write ./12 for a\n"
	     "                       directory named 12); default: the newest promoted\n"
	     "                       version\n"
	     "  -i, --input FILE     read rows from FILE (default: standard input)\n"
	     "      --db PATH        the save to read model versions from\n"
	     "  -h, --help           show this help");
}

/* Returns true if s is an integer, with an optional sign: a model version
 * id, or a value that only a user meaning an id would write. */
static bool xfer_is_integer(const char *s)
{
	if (*s == '+' || *s == '-')
		s++;
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Loads the model that --model names: a version of the save or a TF.js
 * path. */
static int xfer_predict_model(const char *model, const char *db, struct nn_model **m)
{
	struct tfjs_info info;
	struct store *s = NULL;
	int64_t want = 0, id;
	int status;

	if (model && !xfer_is_integer(model))
		return xfer_import_tfjs(model, m, &info);
	if (model && xfer_parse_id("predict", "--model", model, &want))
		return CLI_EXIT_USAGE;

	status = xfer_open_read(db, &s);
	if (status == CLI_EXIT_OK)
		status = xfer_pick_model(s, want, &id);
	if (status == CLI_EXIT_OK)
		status = xfer_load_version(s, id, m);
	store_close(s);
	return status;
}

/* Prints the probabilities of model m for the feature rows read from in
 * (named in_name in errors) to stdout, with dropout off. */
static int xfer_predict_rows(struct nn_model *m, FILE *in, const char *in_name)
{
	struct tfjs_error err;

	if (tfjs_csv_predict(m, in, stdout, xfer_feature_names, xfer_class_names, &err) < 0) {
		cli_error("%s: %s", in_name, err.message);
		return CLI_EXIT_FAIL;
	}
	if (fflush(stdout) != 0) {
		cli_error("writing the probabilities to stdout failed: %s", strerror(errno));
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

int xfer_cmd_predict(int argc, char **argv)
{
	enum { OPT_DB = 256 };
	static const struct option options[] = {
		{"model", required_argument, NULL, 'm'},
		{"input", required_argument, NULL, 'i'},
		{"db", required_argument, NULL, OPT_DB},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *model = NULL, *input = NULL, *db = NULL;
	struct nn_model *m = NULL;
	FILE *in = stdin;
	int opt, status;

	while ((opt = getopt_long(argc, argv, ":m:i:h", options, NULL)) != -1) {
		switch (opt) {
		case 'm':
			if (optarg[0] == '\0')
				return cli_usage_error("predict", "invalid value '' for --model: expected a model version id or a path");
			model = optarg;
			break;
		case 'i':
			input = optarg;
			break;
		case OPT_DB:
			db = optarg;
			break;
		case 'h':
			xfer_predict_help();
			return CLI_EXIT_OK;
		default:
			return cli_bad_option("predict", opt, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("predict", "unexpected argument '%s'", argv[optind]);

	status = xfer_predict_model(model, db, &m);
	if (status != CLI_EXIT_OK)
		return status;
	if (input && strcmp(input, "-") != 0 && !(in = fopen(input, "r"))) {
		cli_error("%s: cannot open the input: %s", input, strerror(errno));
		nn_free(m);
		return CLI_EXIT_FAIL;
	}

	status = xfer_predict_rows(m, in, in == stdin ? "stdin" : input);
	if (in != stdin)
		fclose(in);
	nn_free(m);
	return status;
}

/* ---- stats --------------------------------------------------------------- */

static const char *xfer_model_kind(enum store_model_kind k)
{
	return k == STORE_MODEL_IMPORTED ? "imported" : "trained";
}

static void xfer_stats_help(void)
{
	puts("Usage: ttypong stats [--json] [--db PATH]\n"
	     "Summarize the save: sessions by kind, finished rounds and their frames,\n"
	     "wins and draws (and the human's results, if a human played), model\n"
	     "versions, and the newest promoted version with its validation loss and\n"
	     "accuracy and its return rate. Reads the save without changing it.\n"
	     "\n"
	     "      --json         print one JSON object with stable keys; figures not\n"
	     "                     measured are null\n"
	     "      --db PATH      the save to read\n"
	     "  -h, --help         show this help");
}

/* Writes a measured fraction as a percentage, or "not measured". */
static void xfer_print_percent(const char *label, double v)
{
	if (isnan(v))
		printf(", %s not measured", label);
	else
		printf(", %s %.1f%%", label, 100.0 * v);
}

static void xfer_stats_text(const struct store *s, const struct store_stats *st)
{
	int64_t sessions = 0;

	for (int k = 0; k <= STORE_SESSION_EVAL; k++)
		sessions += st->sessions[k];
	printf("save: %s\n", store_path(s));
	printf("sessions: %lld (", (long long)sessions);
	for (int k = 0; k <= STORE_SESSION_EVAL; k++)
		printf("%s%s %lld", k ? ", " : "", store_session_kind_name(k), (long long)st->sessions[k]);
	printf(")\n");
	printf("rounds: %lld finished, %lld frames\n", (long long)st->n_rounds, (long long)st->n_frames);
	printf("results: left won %lld, right won %lld, %lld draws\n", (long long)st->left_wins,
	       (long long)st->right_wins, (long long)st->draws);
	if (st->human_rounds > 0)
		printf("human: %lld rounds, won %lld, lost %lld, %lld draws\n",
		       (long long)st->human_rounds, (long long)st->human_wins,
		       (long long)st->human_losses,
		       (long long)(st->human_rounds - st->human_wins - st->human_losses));
	printf("models: %lld (%lld trained, %lld imported), %lld promoted\n", (long long)st->n_models,
	       (long long)st->n_trained, (long long)st->n_imported, (long long)st->n_promoted);

	if (st->promoted_id == 0) {
		printf("promoted model: none\n");
		return;
	}
	printf("promoted model: %lld (%s, %lld records)", (long long)st->promoted_id,
	       xfer_model_kind(st->promoted_kind), (long long)st->promoted_n_records);
	if (isnan(st->promoted_val_loss))
		printf(", val loss not measured");
	else
		printf(", val loss %.4f", st->promoted_val_loss);
	xfer_print_percent("val accuracy", st->promoted_val_acc);
	xfer_print_percent("return rate", st->promoted_return_rate);
	printf("\n");
}

static json_t *xfer_json_measure(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

/* Builds the --json object. Returns NULL when out of memory. */
static json_t *xfer_stats_json(const struct store *s, const struct store_stats *st)
{
	json_t *root = json_object();
	json_t *sessions = json_object();
	json_t *promoted = st->promoted_id ? json_object() : json_null();

	if (!root || !sessions || !promoted) {
		json_decref(root);
		json_decref(sessions);
		json_decref(promoted);
		return NULL;
	}
	for (int k = 0; k <= STORE_SESSION_EVAL; k++)
		json_object_set_new(sessions, store_session_kind_name(k), json_integer(st->sessions[k]));
	if (st->promoted_id) {
		json_object_set_new(promoted, "id", json_integer(st->promoted_id));
		json_object_set_new(promoted, "kind", json_string(xfer_model_kind(st->promoted_kind)));
		json_object_set_new(promoted, "records", json_integer(st->promoted_n_records));
		json_object_set_new(promoted, "val_loss", xfer_json_measure(st->promoted_val_loss));
		json_object_set_new(promoted, "val_acc", xfer_json_measure(st->promoted_val_acc));
		json_object_set_new(promoted, "return_rate", xfer_json_measure(st->promoted_return_rate));
	}

	json_object_set_new(root, "save", json_string(store_path(s)));
	json_object_set_new(root, "sessions", sessions);
	json_object_set_new(root, "rounds", json_integer(st->n_rounds));
	json_object_set_new(root, "frames", json_integer(st->n_frames));
	json_object_set_new(root, "left_wins", json_integer(st->left_wins));
	json_object_set_new(root, "right_wins", json_integer(st->right_wins));
	json_object_set_new(root, "draws", json_integer(st->draws));
	json_object_set_new(root, "human_rounds", json_integer(st->human_rounds));
	json_object_set_new(root, "human_wins", json_integer(st->human_wins));
	json_object_set_new(root, "human_losses", json_integer(st->human_losses));
	json_object_set_new(root, "models", json_integer(st->n_models));
	json_object_set_new(root, "trained", json_integer(st->n_trained));
	json_object_set_new(root, "imported", json_integer(st->n_imported));
	json_object_set_new(root, "promoted", json_integer(st->n_promoted));
	json_object_set_new(root, "latest_promoted", promoted);
	return root;
}

int xfer_cmd_stats(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_DB };
	static const struct option options[] = {
		{"json", no_argument, NULL, OPT_JSON},
		{"db", required_argument, NULL, OPT_DB},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL;
	bool as_json = false;
	struct store *s = NULL;
	struct store_stats st;
	int opt, status = CLI_EXIT_FAIL;

	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (opt) {
		case OPT_JSON:
			as_json = true;
			break;
		case OPT_DB:
			db = optarg;
			break;
		case 'h':
			xfer_stats_help();
			return CLI_EXIT_OK;
		default:
			return cli_bad_option("stats", opt, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("stats", "unexpected argument '%s'", argv[optind]);

	if (xfer_open_read(db, &s) != CLI_EXIT_OK)
		return CLI_EXIT_FAIL;
	if (store_stats(s, &st) != STORE_OK) {
		cli_error("%s", store_errmsg(s));
		goto out;
	}

	if (as_json) {
		json_t *root = xfer_stats_json(s, &st);
		char *text = root ? json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER |
							JSON_REAL_PRECISION(9)) : NULL;

		json_decref(root);
		if (!text) {
			cli_error("out of memory");
			goto out;
		}
		puts(text);
		free(text);
	} else {
		xfer_stats_text(s, &st);
	}
	if (fflush(stdout) != 0) {
		cli_error("writing to stdout failed: %s", strerror(errno));
		goto out;
	}
	status = CLI_EXIT_OK;
out:
	store_close(s);
	return status;
}
