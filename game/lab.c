/* lab: records the lab's data, trains each dropout setting, plays each
 * trained model against the tracker, and writes the report as text charts
 * or JSON lines. */
#include "lab.h"

#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <langinfo.h>
#include <locale.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "ctrl.h"
#include "nn.h"
#include "sim.h"

#define LAB_BATCH_SIZE 32

/* Rows of each chart panel; each row shows eight heights in UTF-8. */
#define LAB_CHART_ROWS 4

/* The narrowest panel, in columns: the width of "training loss" and more. */
#define LAB_PANEL_MIN 15

/* Seeds of the parts of a run, offsets from the lab's seed so that the
 * training match, the validation match, the weights and the evaluation
 * matches never share a stream. */
#define LAB_SEED_VAL 0x1000u
#define LAB_SEED_MODEL 0x2000u
#define LAB_SEED_EVAL 0x3000u

void lab_opts_default(struct lab_opts *o)
{
	o->seed = 1;
	o->eval_rounds = 30;
	o->history = 4;
	o->epochs = 40;
}

const char *lab_opts_check(const struct lab_opts *o)
{
	if (o->eval_rounds < 1 || o->eval_rounds > 10000)
		return "rounds must be from 1 to 10000";
	if (o->history < 1 || o->history > LAB_HISTORY_MAX)
		return "history must be from 1 to 16";
	if (o->epochs < 1 || o->epochs > LAB_EPOCHS_MAX)
		return "epochs must be from 1 to 200";
	return NULL;
}

/* ---- Features with history ----------------------------------------- */

/* The last `history` feature frames of one side, oldest first. A new round
 * fills every slot with its first frame, so rows never mix rounds. */
struct lab_window {
	float frames[LAB_HISTORY_MAX * CORE_FEATURE_COUNT];
	int history;
	bool started;
};

static void lab_window_reset(struct lab_window *w)
{
	w->started = false;
}

static void lab_window_push(struct lab_window *w, const float feat[CORE_FEATURE_COUNT])
{
	size_t frame = CORE_FEATURE_COUNT * sizeof *feat;

	if (!w->started) {
		for (int t = 0; t < w->history; t++)
			memcpy(w->frames + t * CORE_FEATURE_COUNT, feat, frame);
		w->started = true;
		return;
	}
	memmove(w->frames, w->frames + CORE_FEATURE_COUNT, (size_t)(w->history - 1) * frame);
	memcpy(w->frames + (w->history - 1) * CORE_FEATURE_COUNT, feat, frame);
}

/* ---- Recording ------------------------------------------------------ */

struct lab_recorder {
	struct lab_data *d;
	int cap;
	struct lab_window window;
	const struct core_config *cfg;
};

static int lab_grow(struct lab_recorder *r)
{
	int cap = r->cap ? r->cap * 2 : 4096;
	float *x = realloc(r->d->x, (size_t)cap * r->d->width * sizeof *x);
	int *ids;

	if (!x)
		return -1;
	r->d->x = x;
	ids = realloc(r->d->ids, (size_t)cap * sizeof *ids);
	if (!ids)
		return -1;
	r->d->ids = ids;
	r->cap = cap;
	return 0;
}

static int lab_rec_round_start(void *user, uint32_t round, const struct core_state *s)
{
	struct lab_recorder *r = user;

	(void)round;
	(void)s;
	lab_window_reset(&r->window);
	return 0;
}

static int lab_rec_frame(void *user, const struct sim_frame *f)
{
	struct lab_recorder *r = user;
	float feat[CORE_FEATURE_COUNT];

	if (r->d->n == r->cap && lab_grow(r) != 0)
		return -1;
	core_features(f->state, r->cfg, CORE_RIGHT, feat);
	lab_window_push(&r->window, feat);
	memcpy(r->d->x + (size_t)r->d->n * r->d->width, r->window.frames,
	       (size_t)r->d->width * sizeof *r->d->x);
	r->d->ids[r->d->n] = (int)f->move[CORE_RIGHT];
	r->d->n++;
	return 0;
}

int lab_record(uint64_t seed, uint32_t rounds, int history, struct lab_data *d)
{
	struct sim_setup setup;
	struct ctrl left, right;
	struct ctrl_tracker_params p;
	struct lab_recorder rec = { .d = d };
	struct sim_hooks hooks = {
		.round_start = lab_rec_round_start, .frame = lab_rec_frame, .user = &rec,
	};

	memset(d, 0, sizeof *d);
	d->width = history * CORE_FEATURE_COUNT;
	rec.window.history = history;
	sim_setup_default(&setup);
	setup.seed = seed;
	setup.rounds = rounds;
	rec.cfg = &setup.config;
	ctrl_tracker_params_default(&p);
	ctrl_tracker_init(&left, CORE_LEFT, &p, seed ^ 0x9e3779b97f4a7c15u);
	ctrl_tracker_init(&right, CORE_RIGHT, &p, seed ^ 0x6a09e667f3bcc909u);

	if (sim_run(&setup, &left, &right, &hooks, NULL) != 0) {
		lab_data_free(d);
		return -1;
	}
	return 0;
}

void lab_data_free(struct lab_data *d)
{
	free(d->x);
	free(d->ids);
	memset(d, 0, sizeof *d);
}

/* ---- The network as a controller ------------------------------------ */

struct lab_net {
	struct nn_model *model;
	struct lab_window window;
};

static enum core_move lab_net_decide(struct ctrl *c, const struct core_state *s,
				     const struct core_config *cfg)
{
	struct lab_net *net = c->u.impl;
	float feat[CORE_FEATURE_COUNT];
	int best = 0;

	core_features(s, cfg, c->side, feat);
	lab_window_push(&net->window, feat);

	/* nn_predict allocates nothing here: lab_eval warmed it up. */
	if (nn_predict(net->model, net->window.frames, 1, c->probs) != NN_OK)
		return CORE_MOVE_STAY;
	c->has_probs = true;
	for (int k = 1; k < CORE_MOVE_COUNT; k++)
		if (c->probs[k] > c->probs[best])
			best = k;
	return (enum core_move)best;
}

static void lab_net_round_start(struct ctrl *c)
{
	struct lab_net *net = c->u.impl;

	lab_window_reset(&net->window);
}

static const struct ctrl_ops lab_net_ops = {
	.kind = "net",
	.decide = lab_net_decide,
	.round_start = lab_net_round_start,
};

/* Plays the trained model (right) against the tracker (left). */
static int lab_eval(struct nn_model *m, const struct lab_opts *o, struct lab_setting *s)
{
	struct sim_setup setup;
	struct sim_summary sum;
	struct ctrl left, right;
	struct ctrl_tracker_params p;
	struct lab_net net = { .model = m, .window = { .history = o->history } };
	float warm[LAB_HISTORY_MAX * CORE_FEATURE_COUNT] = { 0 };
	float probs[CORE_MOVE_COUNT];

	if (nn_predict(m, warm, 1, probs) != NN_OK)
		return -1;
	sim_setup_default(&setup);
	setup.seed = o->seed + LAB_SEED_EVAL;
	setup.rounds = o->eval_rounds;
	ctrl_tracker_params_default(&p);
	ctrl_tracker_init(&left, CORE_LEFT, &p, o->seed + LAB_SEED_EVAL + 1);
	memset(&right, 0, sizeof right);
	right.ops = &lab_net_ops;
	right.side = CORE_RIGHT;
	right.move = CORE_MOVE_STAY;
	right.u.impl = &net;
	snprintf(right.name, sizeof right.name, "%s", s->label);

	sim_run(&setup, &left, &right, NULL, &sum);
	s->returns = sum.returns[CORE_RIGHT];
	s->misses = sum.wins[CORE_LEFT];
	return 0;
}

double lab_return_rate(const struct lab_setting *s)
{
	uint32_t balls = s->returns + s->misses;

	return balls ? (double)s->returns / balls : 0.0;
}

/* ---- Training ------------------------------------------------------- */

/* The settings in report order: no dropout, Dropout at two rates, then
 * every variant at its default rate. */
static int lab_settings(struct drop_spec specs[DROP_VARIANT_COUNT + 1])
{
	int n = 0;

	specs[n++] = (struct drop_spec){ DROP_NONE, 0.0f };
	specs[n++] = (struct drop_spec){ DROP_STANDARD, 0.2f };
	specs[n++] = (struct drop_spec){ DROP_STANDARD, 0.5f };
	for (int v = DROP_ALPHA; v < DROP_VARIANT_COUNT; v++)
		specs[n++] = (struct drop_spec){ (enum drop_variant)v, drop_default_rate(v) };
	return n;
}

static void lab_learned_rates(struct nn_model *m, struct lab_setting *s)
{
	int found = 0;

	for (int i = 0; i < nn_n_layers(m) && found < 2; i++) {
		enum nn_kind kind = nn_layer(m, i)->kind;
		float rates[LAB_HISTORY_MAX * CORE_FEATURE_COUNT + 64];
		int count;
		double sum = 0.0;

		if (kind != NN_CONCRETE_DROPOUT && kind != NN_VARIATIONAL_DROPOUT)
			continue;
		count = nn_drop_rates(m, i, rates, (int)(sizeof rates / sizeof rates[0]));
		for (int k = 0; k < count; k++)
			sum += rates[k];
		s->learned_rate[found++] = count ? (float)(sum / count) : 0.0f;
	}
}

static int lab_train_one(const struct lab_opts *o, const struct lab_data *train,
			 const struct lab_data *val, struct lab_setting *s,
			 lab_progress_fn progress, void *user)
{
	struct nn_layer_desc layers[DROP_SPEC_MAX_LAYERS];
	struct nn_model *m = NULL;
	struct nn_data td = { .x = train->x, .ids = train->ids, .n = train->n };
	struct nn_data vd = { .x = val->x, .ids = val->ids, .n = val->n };
	struct nn_fit_opts fit = { .epochs = 1, .batch_size = LAB_BATCH_SIZE, .shuffle = 1 };
	double best = INFINITY;
	int n_layers = drop_spec_layers(&s->spec, o->history, layers);
	int rc = -1;

	if (n_layers < 0 || nn_create(&m, train->width, layers, n_layers,
				      o->seed + LAB_SEED_MODEL) != NN_OK)
		return -1;

	for (int e = 0; e < o->epochs; e++) {
		if (nn_fit(m, &td, &fit, NULL) != NN_OK ||
		    nn_evaluate(m, &td, 0, &s->train_loss[e], &s->train_acc) != NN_OK ||
		    nn_evaluate(m, &vd, 0, &s->val_loss[e], &s->val_acc) != NN_OK)
			goto done;
		if (s->val_loss[e] < best) {
			best = s->val_loss[e];
			s->best_epoch = e + 1;
		}
		if (progress)
			progress(user, s->label, e + 1, o->epochs);
	}
	lab_learned_rates(m, s);
	rc = lab_eval(m, o, s);

done:
	nn_free(m);
	return rc;
}

static void lab_label(const struct drop_spec *spec, char *buf, size_t len)
{
	if (spec->variant == DROP_NONE)
		snprintf(buf, len, "none");
	else
		snprintf(buf, len, "%s:%g", drop_variant_name(spec->variant), (double)spec->rate);
}

int lab_run(const struct lab_opts *o, lab_progress_fn progress, void *user,
	    struct lab_report **out, char *err, size_t err_len)
{
	struct drop_spec specs[DROP_VARIANT_COUNT + 1];
	struct lab_data train = { 0 }, val = { 0 };
	struct lab_report *r = NULL;
	int rc = -1;

	*out = NULL;
	if (lab_opts_check(o)) {
		snprintf(err, err_len, "%s", lab_opts_check(o));
		return -1;
	}
	snprintf(err, err_len, "out of memory");
	r = calloc(1, sizeof *r);
	if (!r)
		goto done;
	r->opts = *o;
	r->n_settings = lab_settings(specs);
	r->settings = calloc((size_t)r->n_settings, sizeof *r->settings);
	if (!r->settings)
		goto done;
	if (lab_record(o->seed, LAB_TRAIN_ROUNDS, o->history, &train) != 0 ||
	    lab_record(o->seed + LAB_SEED_VAL, LAB_VAL_ROUNDS, o->history, &val) != 0)
		goto done;
	r->train_rows = train.n;
	r->val_rows = val.n;

	for (int i = 0; i < r->n_settings; i++) {
		struct lab_setting *s = &r->settings[i];

		s->spec = specs[i];
		lab_label(&specs[i], s->label, sizeof s->label);
		if (lab_train_one(o, &train, &val, s, progress, user) != 0) {
			snprintf(err, err_len, "training the %s setting failed", s->label);
			goto done;
		}
	}
	*out = r;
	r = NULL;
	rc = 0;
	if (err_len > 0)
		err[0] = '\0';

done:
	lab_report_free(r);
	lab_data_free(&train);
	lab_data_free(&val);
	return rc;
}

void lab_report_free(struct lab_report *r)
{
	if (!r)
		return;
	free(r->settings);
	free(r);
}

/* ---- Text report ---------------------------------------------------- */

/* Cell glyphs by filled eighths, 0 to 8. */
static const char *const lab_blocks_utf8[9] = {
	" ", "\u2581", "\u2582", "\u2583", "\u2584", "\u2585", "\u2586", "\u2587", "\u2588",
};
static const char *const lab_blocks_ascii[9] = { " ", ".", ".", ":", ":", "=", "=", "#", "#" };

/* The range of every finite loss in the report, so all charts share one
 * vertical scale. */
static void lab_loss_range(const struct lab_report *r, double *lo, double *hi)
{
	*lo = INFINITY;
	*hi = -INFINITY;
	for (int i = 0; i < r->n_settings; i++) {
		for (int e = 0; e < r->opts.epochs; e++) {
			const double v[2] = { r->settings[i].train_loss[e], r->settings[i].val_loss[e] };

			for (int k = 0; k < 2; k++) {
				if (!isfinite(v[k]))
					continue;
				*lo = v[k] < *lo ? v[k] : *lo;
				*hi = v[k] > *hi ? v[k] : *hi;
			}
		}
	}
	if (!(*hi > *lo)) {
		*lo = isfinite(*lo) ? *lo : 0.0;
		*hi = *lo + 1.0;
	}
}

/* Writes one row of a column chart: row 0 is the bottom. Each value fills
 * (v - lo) / (hi - lo) of the chart's height in eighths of a cell, at least
 * one eighth so that the lowest point stays visible. */
static void lab_chart_row(FILE *f, const double *v, int n, int row, double lo, double hi,
			  bool utf8)
{
	const char *const *blocks = utf8 ? lab_blocks_utf8 : lab_blocks_ascii;

	for (int e = 0; e < n; e++) {
		double frac = isfinite(v[e]) ? (v[e] - lo) / (hi - lo) : 1.0;
		int eighths = (int)lround(frac * LAB_CHART_ROWS * 8);
		int fill;

		if (eighths < 1)
			eighths = 1;
		fill = eighths - row * 8;
		fill = fill < 0 ? 0 : (fill > 8 ? 8 : fill);
		fputs(blocks[fill], f);
	}
}

static void lab_write_chart(FILE *f, const struct lab_setting *s, int epochs, double lo,
			    double hi, bool utf8)
{
	const char *sep = utf8 ? " \u2502 " : " | ";
	/* A panel is at least as wide as its title. */
	int width = epochs > LAB_PANEL_MIN ? epochs : LAB_PANEL_MIN;

	fprintf(f, "%-23s %-*s%s%s\n", s->label, width, "training loss", sep,
		"validation loss");
	for (int row = LAB_CHART_ROWS - 1; row >= 0; row--) {
		if (row == LAB_CHART_ROWS - 1)
			fprintf(f, "%23.3f ", hi);
		else if (row == 0)
			fprintf(f, "%23.3f ", lo);
		else
			fprintf(f, "%23s ", "");
		lab_chart_row(f, s->train_loss, epochs, row, lo, hi, utf8);
		fprintf(f, "%*s", width - epochs, "");
		fputs(sep, f);
		lab_chart_row(f, s->val_loss, epochs, row, lo, hi, utf8);
		fputc('\n', f);
	}
}

static void lab_write_table(FILE *f, const struct lab_report *r)
{
	int last = r->opts.epochs - 1;

	fprintf(f, "%-24s %10s %10s %12s %8s %8s %8s %15s %s\n", "setting", "train loss",
		"val loss", "best val", "epoch", "val acc", "return", "returned/balls",
		"learned rate");
	for (int i = 0; i < r->n_settings; i++) {
		const struct lab_setting *s = &r->settings[i];
		char balls[32], learned[32] = "";

		snprintf(balls, sizeof balls, "%u/%u", s->returns, s->returns + s->misses);
		if (s->spec.variant == DROP_CONCRETE || s->spec.variant == DROP_VARIATIONAL)
			snprintf(learned, sizeof learned, "%.3f, %.3f", (double)s->learned_rate[0],
				 (double)s->learned_rate[1]);
		fprintf(f, "%-24s %10.4f %10.4f %12.4f %8d %7.1f%% %7.1f%% %15s %s\n", s->label,
			s->train_loss[last], s->val_loss[last], s->val_loss[s->best_epoch - 1],
			s->best_epoch, 100.0 * s->val_acc, 100.0 * lab_return_rate(s), balls,
			learned);
	}
}

void lab_write_text(const struct lab_report *r, FILE *f, bool utf8)
{
	double lo, hi;

	lab_loss_range(r, &lo, &hi);
	fprintf(f,
		"seed %llu: %d training rows, %d validation rows, history %d, %d epochs, "
		"%u evaluation rounds\n",
		(unsigned long long)r->opts.seed, r->train_rows, r->val_rows, r->opts.history,
		r->opts.epochs, r->opts.eval_rounds);
	fprintf(f, "Cross-entropy per epoch, in eval mode; every chart spans %.3f to %.3f.\n\n",
		lo, hi);
	for (int i = 0; i < r->n_settings; i++) {
		lab_write_chart(f, &r->settings[i], r->opts.epochs, lo, hi, utf8);
		fputc('\n', f);
	}
	lab_write_table(f, r);
}

/* ---- JSON report ---------------------------------------------------- */

static json_t *lab_series(const double *v, int n)
{
	json_t *a = json_array();

	for (int e = 0; a && e < n; e++)
		json_array_append_new(a, isfinite(v[e]) ? json_real(v[e]) : json_null());
	return a;
}

static json_t *lab_setting_json(const struct lab_report *r, const struct lab_setting *s)
{
	int last = r->opts.epochs - 1;
	json_t *learned = json_array();
	json_t *o = json_pack("{s:s, s:s, s:f, s:I, s:i, s:i, s:i, s:o, s:o, s:f, s:f, s:f, s:i, "
			      "s:f, s:f, s:i, s:i, s:i, s:f, s:o}",
			      "setting", s->label, "variant", drop_variant_name(s->spec.variant),
			      "rate", (double)s->spec.rate, "seed", (json_int_t)r->opts.seed,
			      "history", r->opts.history, "train_rows", r->train_rows,
			      "val_rows", r->val_rows,
			      "train_loss", lab_series(s->train_loss, r->opts.epochs),
			      "val_loss", lab_series(s->val_loss, r->opts.epochs),
			      "final_train_loss", s->train_loss[last],
			      "final_val_loss", s->val_loss[last],
			      "best_val_loss", s->val_loss[s->best_epoch - 1],
			      "best_epoch", s->best_epoch, "train_acc", s->train_acc,
			      "val_acc", s->val_acc, "eval_rounds", (int)r->opts.eval_rounds,
			      "returns", (int)s->returns, "misses", (int)s->misses,
			      "return_rate", lab_return_rate(s), "learned_rates", learned);

	if (o && learned &&
	    (s->spec.variant == DROP_CONCRETE || s->spec.variant == DROP_VARIATIONAL)) {
		json_array_append_new(learned, json_real(s->learned_rate[0]));
		json_array_append_new(learned, json_real(s->learned_rate[1]));
	}
	return o;
}

int lab_write_json(const struct lab_report *r, FILE *f)
{
	for (int i = 0; i < r->n_settings; i++) {
		json_t *o = lab_setting_json(r, &r->settings[i]);
		char *line = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;

		json_decref(o);
		if (!line)
			return -1;
		fprintf(f, "%s\n", line);
		free(line);
	}
	return 0;
}

/* ---- The command ---------------------------------------------------- */

/* Prints the usage, with the defaults taken from lab_opts_default(). */
static void lab_help(FILE *f)
{
	struct lab_opts d;

	lab_opts_default(&d);
	fprintf(f,
		"usage: ttypong lab [--json] [--seed S] [--rounds N] [--history K] [--epochs E]\n"
		"Trains the reference network on a small recorded tracker match with no\n"
		"dropout, Dropout 0.2 and 0.5 and each dropout variant, and shows the\n"
		"training and validation loss curves and each model's return rate.\n"
		"  --json        one JSON object per setting and line, instead of charts\n"
		"  --seed S      seed of the data, the weights and the matches (%" PRIu64 ")\n"
		"  --rounds N    rounds each trained model plays against the tracker (%" PRIu32 ")\n"
		"  --history K   frames per input row, 1 to %d (%d)\n"
		"  --epochs E    training epochs per setting, 1 to %d (%d)\n",
		d.seed, d.eval_rounds, LAB_HISTORY_MAX, d.history, LAB_EPOCHS_MAX, d.epochs);
}

static void lab_progress(void *user, const char *label, int epoch, int epochs)
{
	(void)user;
	fprintf(stderr, "\r%-24s epoch %3d/%d", label, epoch, epochs);
	if (epoch == epochs)
		fputs("\n", stderr);
}

static bool lab_utf8_locale(void)
{
	const char *codeset;

	setlocale(LC_CTYPE, "");
	codeset = nl_langinfo(CODESET);
	return codeset && (strcmp(codeset, "UTF-8") == 0 || strcmp(codeset, "utf8") == 0);
}

int lab_cli(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "seed", required_argument, NULL, 's' },
		{ "rounds", required_argument, NULL, 'r' },
		{ "history", required_argument, NULL, 'k' },
		{ "epochs", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct lab_opts o;
	struct lab_report *r = NULL;
	bool json = false;
	char err[128];
	long value;
	int c;

	lab_opts_default(&o);
	optind = 1;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 's':
			if (cli_parse_seed("lab", "--seed", optarg, &o.seed))
				return CLI_EXIT_USAGE;
			break;
		case 'r':
			if (cli_parse_long("lab", "--rounds", optarg, 1, 10000, &value))
				return CLI_EXIT_USAGE;
			o.eval_rounds = (uint32_t)value;
			break;
		case 'k':
			if (cli_parse_long("lab", "--history", optarg, 1, LAB_HISTORY_MAX, &value))
				return CLI_EXIT_USAGE;
			o.history = (int)value;
			break;
		case 'e':
			if (cli_parse_long("lab", "--epochs", optarg, 1, LAB_EPOCHS_MAX, &value))
				return CLI_EXIT_USAGE;
			o.epochs = (int)value;
			break;
		case 'h':
			lab_help(stdout);
			return CLI_EXIT_OK;
		default:
			return cli_bad_option("lab", c, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("lab", "unexpected argument '%s'", argv[optind]);

	if (lab_run(&o, isatty(STDERR_FILENO) ? lab_progress : NULL, NULL, &r, err,
		    sizeof err) != 0) {
		cli_error("lab: %s", err);
		return CLI_EXIT_FAIL;
	}
	if (!json) {
		lab_write_text(r, stdout, lab_utf8_locale());
	} else if (lab_write_json(r, stdout) != 0) {
		cli_error("lab: out of memory while writing JSON");
		lab_report_free(r);
		return CLI_EXIT_FAIL;
	}
	lab_report_free(r);
	return CLI_EXIT_OK;
}
