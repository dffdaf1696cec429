/* learn: the train, eval and models commands. See learn.h. */
#include "learn.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "cli.h"
#include "core.h"
#include "ctrl.h"
#include "label.h"
#include "rec.h"
#include "rng.h"
#include "sim.h"
#include "store.h"

/* Budgets below this many ms get a warning: a step also loads and labels
 * its rounds, fits at least one batch, evaluates and stores the version,
 * which took 1 to 15 ms with a 1 ms budget on a 2-core machine. */
#define LEARN_TRAIN_MS_FLOOR 20
/* Stored rounds with invalid frames that train names once each. Past this
 * many, a new one is named on every step that skips it. */
#define LEARN_SKIPPED_MAX 64
#define LEARN_Z95 1.959963984540054
#define LEARN_BAR_WIDTH 30

void learn_wilson(uint64_t k, uint64_t n, double z, double *lo, double *hi)
{
	double p, z2n, centre, half;

	if (n == 0) {
		*lo = 0;
		*hi = 1;
		return;
	}
	p = (double)k / (double)n;
	z2n = z * z / (double)n;
	centre = (p + z2n / 2) / (1 + z2n);
	half = z / (1 + z2n) * sqrt(p * (1 - p) / (double)n + z2n / (4 * (double)n));
	*lo = centre - half < 0 ? 0 : centre - half;
	*hi = centre + half > 1 ? 1 : centre + half;
}

/* Prints a number for a JSON line, or null for NaN. */
static void learn_json_num(FILE *f, const char *key, double v, const char *fmt)
{
	fprintf(f, ",\"%s\":", key);
	if (isfinite(v))
		fprintf(f, fmt, v);
	else
		fputs("null", f);
}

/* Prints s as a JSON string with the escapes JSON requires. */
static void learn_json_str(FILE *f, const char *key, const char *s)
{
	fprintf(f, ",\"%s\":", key);
	if (!s) {
		fputs("null", f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Prints a model version id for a JSON line, or null for 0 (no version). */
static void learn_json_id(FILE *f, const char *key, int64_t id)
{
	if (id > 0)
		fprintf(f, ",\"%s\":%" PRId64, key, id);
	else
		fprintf(f, ",\"%s\":null", key);
}

/* Formats v with fmt, or "-" for NaN. */
static const char *learn_fmt(char *buf, size_t size, const char *fmt, double v)
{
	if (isfinite(v))
		snprintf(buf, size, fmt, v);
	else
		snprintf(buf, size, "-");
	return buf;
}

/* Opens an existing save, read-only for commands that only query. A
 * missing save is an error here, so that a mistyped --db creates no empty
 * save. Prints one line and returns CLI_EXIT_FAIL on failure. */
static int learn_open_existing(const char *db_opt, bool read_only, struct store **out)
{
	struct store_options opts = { .read_only = read_only };
	char path[PATH_MAX];
	char msg[STORE_MSG_MAX];

	*out = NULL;
	if (store_default_path(db_opt, path, sizeof path, msg, sizeof msg) != STORE_OK) {
		cli_error("%s", msg);
		return CLI_EXIT_FAIL;
	}
	if (access(path, F_OK) != 0 && errno == ENOENT) {
		cli_error("no save at %s; run 'ttypong train' first", path);
		return CLI_EXIT_FAIL;
	}
	if (store_open(path, &opts, out, msg, sizeof msg) != STORE_OK) {
		cli_error("%s", msg);
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

/* ---- Counting the AI's balls ------------------------------------------ */

/* Balls that reached the AI's paddle line and how many it returned. A ball
 * reaches the line when the AI returns it or when it gets past for the
 * opponent's point; a draw in mid-flight counts as neither. */
struct learn_balls {
	uint64_t reached;
	uint64_t returned;
};

static void learn_count_ball(struct learn_balls *b, enum core_side ai, unsigned events)
{
	if (events & CORE_EV_HIT(ai)) {
		b->reached++;
		b->returned++;
	}
	if (events & CORE_EV_POINT(!ai))
		b->reached++;
}

/* ---- train -------------------------------------------------------------- */

struct learn_train_run {
	struct store *store;
	struct agent *agent;
	int64_t session_id;
	uint32_t rounds;
	uint32_t round;		/* the round being played or trained on, from 0 */
	bool json;
	bool bar;
	struct learn_balls balls;	/* of the current round */
	struct learn_balls total;
	uint32_t failures;		/* training steps that failed */
	uint32_t unsaved;		/* rounds the save did not keep */
	char rec_error[STORE_MSG_MAX];	/* why the current round was not saved */
	int64_t skipped[LEARN_SKIPPED_MAX];	/* stored rounds already reported as skipped */
	size_t n_skipped;
	struct rec rec;
};

/* Draws the bar filled for `done` finished rounds, naming the current one. */
static void learn_bar(const struct learn_train_run *run, uint32_t done, const char *what)
{
	int fill = (int)((double)done / run->rounds * LEARN_BAR_WIDTH);

	if (!run->bar)
		return;
	fprintf(stderr, "\r\033[K[");
	for (int i = 0; i < LEARN_BAR_WIDTH; i++)
		fputc(i < fill ? '#' : '.', stderr);
	fprintf(stderr, "] round %u/%u %s", run->round + 1, run->rounds, what);
	fflush(stderr);
}

static void learn_bar_clear(const struct learn_train_run *run)
{
	if (run->bar) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
	}
}

/* Keeps the first recording failure of the round. The recorder has rolled
 * the round back, and the run goes on without recording it. */
static void learn_rec_fail(struct learn_train_run *run)
{
	if (!run->rec_error[0])
		snprintf(run->rec_error, sizeof run->rec_error, "%s", store_errmsg(run->store));
}

static int learn_train_round_start(void *user, uint32_t round, const struct core_state *s)
{
	struct learn_train_run *run = user;

	(void)s;
	run->round = round;
	memset(&run->balls, 0, sizeof run->balls);
	run->rec_error[0] = '\0';
	rec_round_begin(&run->rec, (int32_t)round + 1);
	learn_bar(run, round, "playing");
	return 0;
}

static int learn_train_frame(void *user, const struct sim_frame *f)
{
	struct learn_train_run *run = user;

	learn_count_ball(&run->balls, CORE_RIGHT, f->events);
	if (rec_frame(&run->rec, f->state, f->move[CORE_LEFT], f->move[CORE_RIGHT]) != STORE_OK)
		learn_rec_fail(run);
	return 0;
}

/* Commits the round; a failure is reported and the run goes on. */
static void learn_record_end(struct learn_train_run *run, const struct sim_round *r)
{
	if (rec_round_end(&run->rec, r->result, r->returns) != STORE_OK)
		learn_rec_fail(run);
	if (run->rec_error[0])
		run->unsaved++;
}

static void learn_print_round(const struct learn_train_run *run, uint32_t round,
			      const struct agent_report *rep)
{
	double rate = run->balls.reached ? (double)run->balls.returned / run->balls.reached : NAN;
	/* A step that ran no batch measured no training loss, and a failed
	 * step stored nothing, so nothing was promoted. */
	double train_loss = rep->steps > 0 ? rep->train_loss : NAN;
	bool promoted = rep->status == AGENT_OK && rep->promoted;
	char b[5][32];

	if (run->json) {
		printf("{\"round\":%u,\"records\":%zu,\"balls\":%" PRIu64 ",\"returned\":%" PRIu64,
		       round + 1, rep->records, run->balls.reached, run->balls.returned);
		learn_json_num(stdout, "return_rate", rate, "%.6g");
		learn_json_num(stdout, "train_loss", train_loss, "%.6g");
		learn_json_num(stdout, "val_loss", rep->val_loss, "%.6g");
		learn_json_num(stdout, "val_acc", rep->val_acc, "%.6g");
		learn_json_num(stdout, "train_ms", rep->total_ms, "%.1f");
		learn_json_num(stdout, "fit_ms", rep->fit_ms, "%.1f");
		printf(",\"epochs\":%d,\"steps\":%" PRIu64, rep->epochs, rep->steps);
		learn_json_id(stdout, "model_id", rep->model_id);
		learn_json_id(stdout, "parent_id", rep->parent_id);
		printf(",\"promoted\":%s", promoted ? "true" : "false");
		learn_json_str(stdout, "status", agent_status_name(rep->status));
		learn_json_str(stdout, "recording_error", run->rec_error[0] ? run->rec_error : NULL);
		learn_json_str(stdout, "note", rep->note);
		puts("}");
	} else {
		printf("round %u: records %zu, return rate %s (%" PRIu64 "/%" PRIu64 "), "
		       "train loss %s, val loss %s, val acc %s, training %.0f ms, ",
		       round + 1, rep->records, learn_fmt(b[0], 32, "%.3f", rate),
		       run->balls.returned, run->balls.reached,
		       learn_fmt(b[1], 32, "%.4f", train_loss),
		       learn_fmt(b[2], 32, "%.4f", rep->val_loss),
		       learn_fmt(b[3], 32, "%.3f", rep->val_acc), rep->total_ms);
		if (rep->status == AGENT_OK)
			printf("model %" PRId64 " (%s)\n", rep->model_id, rep->note);
		else
			printf("no new model (%s)\n", rep->note);
		if (run->rec_error[0])
			printf("round %u was not saved: %s\n", round + 1, run->rec_error);
	}
	fflush(stdout);
}

/* Names on stderr, once, the first stored round that the step skipped. */
static void learn_report_skipped(struct learn_train_run *run, const struct agent_report *rep)
{
	if (rep->skipped_rounds == 0)
		return;
	for (size_t i = 0; i < run->n_skipped; i++)
		if (run->skipped[i] == rep->skipped_round_id)
			return;
	if (run->n_skipped < LEARN_SKIPPED_MAX)
		run->skipped[run->n_skipped++] = rep->skipped_round_id;
	cli_error("skipped stored round %" PRId64 "%s: a frame holds a non-finite or out-of-range value; training goes on with the other rounds",
		  rep->skipped_round_id, rep->skipped_rounds > 1 ? " and others" : "");
}

static int learn_train_round_end(void *user, const struct sim_round *r)
{
	struct learn_train_run *run = user;
	struct agent_report rep;

	learn_record_end(run, r);
	run->total.reached += run->balls.reached;
	run->total.returned += run->balls.returned;

	/* The last round is trained on too, so the run ends with a version
	 * that has seen every round it played. */
	learn_bar(run, r->round + 1, "training");
	if (agent_train(run->agent, &rep) != AGENT_OK)
		run->failures++;
	learn_bar_clear(run);
	learn_report_skipped(run, &rep);
	learn_print_round(run, r->round, &rep);
	return 0;
}

static void learn_on_epoch(void *user, const struct train_epoch *e)
{
	struct learn_train_run *run = user;
	char what[48];

	if (!run->bar)
		return;
	snprintf(what, sizeof what, "training, epoch %d", e->epoch);
	learn_bar(run, run->round + 1, what);
}

static void learn_train_help(void)
{
	puts("Usage: ttypong train [OPTIONS]\n"
	     "Play headless rounds with the AI on the right, record them into the save, and\n"
	     "train the AI after each round. Starts from the newest promoted model version.\n"
	     "Prints one line per round: records trained on, the AI's return rate in the\n"
	     "round, train and val loss, val accuracy, and the milliseconds spent training.\n"
	     "\n"
	     "  -n, --rounds N         rounds to play, 1 to 100000 (default 10)\n"
	     "  -s, --seed S           seed of the serves, the opponent and the trainer (default 1)\n"
	     "      --opponent KIND    tracker or self (default tracker)\n"
	     "      --teacher KIND     hindsight (move toward where the ball crossed) or\n"
	     "                         human (copy the left player's moves) (default hindsight)\n"
	     "      --train-ms MS      time budget of each training step, 1 to 600000 ms\n"
	     "                         (default 150)\n"
	     "      --epochs N         train N epochs per step instead, 1 to 10000; with a\n"
	     "                         fixed seed the run is then repeatable");
	fputs(cli_net_options_help, stdout);
	puts("      --json             print one JSON object per round\n"
	     "      --db PATH          the save to use\n"
	     "  -h, --help             show this help");
}

struct learn_train_args {
	uint32_t rounds;
	uint64_t seed;
	bool self;
	bool json;
	bool history_given;
	const char *db;
	struct agent_opts opts;
};

/* Parses train's options into a. Returns -1 to go on, else an exit status. */
static int learn_train_parse(int argc, char **argv, struct learn_train_args *a)
{
	enum { OPT_OPPONENT = 256, OPT_TEACHER, OPT_TRAIN_MS, OPT_EPOCHS, OPT_JSON, OPT_DB };
	static const struct option options[] = {
		CLI_NET_LONG_OPTIONS,
		{"rounds", required_argument, NULL, 'n'},
		{"seed", required_argument, NULL, 's'},
		{"opponent", required_argument, NULL, OPT_OPPONENT},
		{"teacher", required_argument, NULL, OPT_TEACHER},
		{"train-ms", required_argument, NULL, OPT_TRAIN_MS},
		{"epochs", required_argument, NULL, OPT_EPOCHS},
		{"json", no_argument, NULL, OPT_JSON},
		{"db", required_argument, NULL, OPT_DB},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool have_ms = false, have_epochs = false;
	long v;
	int opt;

	while ((opt = getopt_long(argc, argv, ":n:s:h", options, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (cli_parse_long("train", "--rounds", optarg, 1, 100000, &v))
				return CLI_EXIT_USAGE;
			a->rounds = (uint32_t)v;
			break;
		case 's':
			if (cli_parse_seed("train", "--seed", optarg, &a->seed))
				return CLI_EXIT_USAGE;
			break;
		case OPT_OPPONENT:
			if (strcmp(optarg, "tracker") != 0 && strcmp(optarg, "self") != 0)
				return cli_usage_error("train", "invalid value '%s' for --opponent: expected tracker or self",
						       optarg);
			a->self = strcmp(optarg, "self") == 0;
			break;
		case OPT_TEACHER:
			if (label_teacher_parse(optarg, &a->opts.label.teacher) != 0)
				return cli_usage_error("train", "invalid value '%s' for --teacher: expected hindsight or human",
						       optarg);
			break;
		case OPT_TRAIN_MS:
			if (cli_parse_long("train", "--train-ms", optarg, 1, 600000, &v))
				return CLI_EXIT_USAGE;
			a->opts.train_ms = (double)v;
			have_ms = true;
			break;
		case OPT_EPOCHS:
			if (cli_parse_long("train", "--epochs", optarg, 1, 10000, &v))
				return CLI_EXIT_USAGE;
			a->opts.epochs = (int)v;
			have_epochs = true;
			break;
		case CLI_OPT_DROPOUT:
		case CLI_OPT_MC:
		case CLI_OPT_HISTORY:
			if (cli_parse_net_option("train", opt, optarg, &a->opts))
				return CLI_EXIT_USAGE;
			a->history_given |= opt == CLI_OPT_HISTORY;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_DB:
			a->db = optarg;
			break;
		case 'h':
			learn_train_help();
			return CLI_EXIT_OK;
		default:
			return cli_bad_option("train", opt, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
	if (have_ms && have_epochs)
		return cli_usage_error("train", "--train-ms and --epochs exclude each other: give one");
	if (have_epochs)
		a->opts.train_ms = 0;
	return -1;
}

/* Writes the session's config JSON. start_model is the version the run
 * starts from, 0 for a fresh network. A started version keeps its own
 * layers, so the dropout is recorded as null then; the version's config
 * holds its layers. */
static void learn_session_config(const struct learn_train_args *a, int64_t start_model,
				 char *buf, size_t size)
{
	const struct drop_spec reference = { DROP_STANDARD, 0.5f };
	const struct drop_spec *d = a->opts.has_dropout ? &a->opts.dropout : &reference;
	char dropout[64], start[32];

	if (start_model > 0) {
		snprintf(dropout, sizeof dropout, "null");
		snprintf(start, sizeof start, "%" PRId64, start_model);
	} else {
		snprintf(dropout, sizeof dropout, "\"%s:%g\"", drop_variant_name(d->variant),
			 (double)d->rate);
		snprintf(start, sizeof start, "null");
	}
	snprintf(buf, size,
		 "{\"rounds\":%u,\"opponent\":\"%s\",\"teacher\":\"%s\",\"train_ms\":%.0f,\"epochs\":%d,"
		 "\"start_model\":%s,\"dropout\":%s,\"mc\":%u,\"history\":%d}",
		 a->rounds, a->self ? "self" : "tracker", label_teacher_name(a->opts.label.teacher),
		 a->opts.train_ms, a->opts.epochs, start, dropout, a->opts.mc_passes, a->opts.history);
}

/* Warns on stderr about options that have no effect together. */
static void learn_train_warn_options(const struct learn_train_args *a)
{
	if (a->self && a->opts.label.teacher == LABEL_TEACHER_HUMAN)
		cli_error("warning: with --opponent self no human plays, so --teacher human copies the network's own moves");
	if (a->opts.mc_passes > 0 && a->opts.has_dropout && a->opts.dropout.variant == DROP_NONE)
		cli_error("warning: --mc with --dropout none averages identical passes; it decides as one pass in eval mode");
	if (a->opts.train_ms > 0 && a->opts.train_ms < LEARN_TRAIN_MS_FLOOR)
		cli_error("warning: --train-ms %.0f is below the fixed cost of a step (loading and labelling the rounds, one batch, the closing evaluation and storing the version); steps will take longer than the budget",
			  a->opts.train_ms);
}

/* Prints one line on the failed steps and unsaved rounds, if any, and
 * returns the exit status: failure when any step failed or any round was
 * not saved, so that a script can tell such a run from a clean one. */
static int learn_train_outcome(const struct learn_train_run *run)
{
	if (run->failures && run->unsaved)
		cli_error("%u of %u training steps failed and %u rounds were not saved; see the lines above",
			  run->failures, run->rounds, run->unsaved);
	else if (run->failures)
		cli_error("%u of %u training steps failed; see the lines above", run->failures,
			  run->rounds);
	else if (run->unsaved)
		cli_error("%u of %u rounds were not saved; see the lines above", run->unsaved,
			  run->rounds);
	return run->failures || run->unsaved ? CLI_EXIT_FAIL : CLI_EXIT_OK;
}

int learn_cmd_train(int argc, char **argv)
{
	struct learn_train_args a = { .rounds = 10, .seed = 1 };
	struct learn_train_run *run = NULL;
	struct sim_setup setup;
	struct sim_summary summary;
	struct ctrl left, right;
	struct rng seeds;
	char config[256], msg[STORE_MSG_MAX];
	int status;

	agent_opts_default(&a.opts);
	status = learn_train_parse(argc, argv, &a);
	if (status >= 0)
		return status;
	status = CLI_EXIT_FAIL;

	run = calloc(1, sizeof *run);
	if (!run) {
		cli_error("out of memory");
		return CLI_EXIT_FAIL;
	}
	run->rounds = a.rounds;
	run->json = a.json;
	run->bar = isatty(STDERR_FILENO);

	/* Serves, opponent and trainer each get their own stream of the seed. */
	rng_seed(&seeds, a.seed);
	sim_setup_default(&setup);
	setup.seed = rng_next(&seeds);
	setup.rounds = a.rounds;
	a.opts.seed = rng_next(&seeds);
	a.opts.on_epoch = learn_on_epoch;
	a.opts.user = run;

	learn_train_warn_options(&a);
	if (cli_open_store(a.db, &run->store) != CLI_EXIT_OK)
		goto out;
	if (agent_open(&run->agent, run->store, &setup.config, &a.opts, 0, msg, sizeof msg) !=
	    AGENT_OK) {
		cli_error("%s", msg);
		goto out;
	}
	cli_warn_agent("train", run->agent, &a.opts, a.history_given);
	learn_session_config(&a, agent_model_id(run->agent), config, sizeof config);
	struct store_session session = {
		.kind = STORE_SESSION_TRAIN,
		.seed = a.seed,
		.left_ctrl = a.self ? "net" : "tracker",
		.right_ctrl = "net",
		.human_side = STORE_SIDE_NONE,
		.config_json = config,
	};
	if (store_session_begin(run->store, &session, &run->session_id) != STORE_OK) {
		cli_error("%s", store_errmsg(run->store));
		goto out;
	}
	rec_init(&run->rec, run->store, run->session_id);

	agent_ctrl_init(run->agent, &right, CORE_RIGHT);
	if (a.self) {
		agent_ctrl_init(run->agent, &left, CORE_LEFT);
	} else {
		struct ctrl_tracker_params p;

		ctrl_tracker_params_default(&p);
		ctrl_tracker_init(&left, CORE_LEFT, &p, rng_next(&seeds));
	}

	struct sim_hooks hooks = {
		.round_start = learn_train_round_start,
		.frame = learn_train_frame,
		.round_end = learn_train_round_end,
		.user = run,
	};
	sim_run(&setup, &left, &right, &hooks, &summary);
	learn_bar_clear(run);
	if (store_session_end(run->store, run->session_id) != STORE_OK)
		cli_error("%s", store_errmsg(run->store));
	status = learn_train_outcome(run);
out:
	rec_free(&run->rec);
	agent_close(run->agent);
	store_close(run->store);
	free(run);
	return status;
}

/* ---- eval --------------------------------------------------------------- */

static int learn_eval_frame(void *user, const struct sim_frame *f)
{
	learn_count_ball(user, CORE_RIGHT, f->events);
	return 0;
}

static void learn_eval_help(void)
{
	puts("Usage: ttypong eval [OPTIONS]\n"
	     "Play a model version headless on the right against the tracker's serves and\n"
	     "returns, without recording, and print its return rate: the share of balls\n"
	     "reaching its paddle line that it returned, with a 95% Wilson interval. The\n"
	     "rate is stored on the model version.\n"
	     "\n"
	     "      --model ID     the model version (default: the newest promoted one)\n"
	     "  -n, --rounds N     rounds to play, 1 to 100000 (default 200)\n"
	     "  -s, --seed S       seed of the serves and the tracker (default 1)\n"
	     "      --json         print one JSON object\n"
	     "      --db PATH      the save to use\n"
	     "  -h, --help         show this help");
}

struct learn_eval_args {
	int64_t model_id;
	uint32_t rounds;
	uint64_t seed;
	bool json;
	const char *db;
};

static int learn_eval_parse(int argc, char **argv, struct learn_eval_args *a)
{
	enum { OPT_MODEL = 256, OPT_JSON, OPT_DB };
	static const struct option options[] = {
		{"model", required_argument, NULL, OPT_MODEL},
		{"rounds", required_argument, NULL, 'n'},
		{"seed", required_argument, NULL, 's'},
		{"json", no_argument, NULL, OPT_JSON},
		{"db", required_argument, NULL, OPT_DB},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	long v;
	int opt;

	while ((opt = getopt_long(argc, argv, ":n:s:h", options, NULL)) != -1) {
		switch (opt) {
		case OPT_MODEL:
			if (cli_parse_long("eval", "--model", optarg, 1, LONG_MAX, &v))
				return CLI_EXIT_USAGE;
			a->model_id = v;
			break;
		case 'n':
			if (cli_parse_long("eval", "--rounds", optarg, 1, 100000, &v))
				return CLI_EXIT_USAGE;
			a->rounds = (uint32_t)v;
			break;
		case 's':
			if (cli_parse_seed("eval", "--seed", optarg, &a->seed))
				return CLI_EXIT_USAGE;
			break;
		case OPT_JSON:
			a->json = true;
			break;
		case OPT_DB:
			a->db = optarg;
			break;
		case 'h':
			learn_eval_help();
			return CLI_EXIT_OK;
		default:
			return cli_bad_option("eval", opt, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("eval", "unexpected argument '%s'", argv[optind]);
	return -1;
}

/* Stores the return rate on version id, keeping its promotion and note.
 * Says on stderr which stored rate it replaces, since the save keeps only
 * the latest one.
 * TODO: store the rounds and seed behind the rate beside it. That needs a
 * new schema version, and read-only commands reject older saves until a
 * writing command migrates them. */
static enum store_status learn_store_rate(struct store *s, int64_t id, double rate)
{
	struct store_model *m = NULL;
	enum store_status st = store_model_get(s, id, &m);

	if (st != STORE_OK)
		return st;
	if (isfinite(m->return_rate))
		cli_error("replaced the stored return rate %.4f of model version %" PRId64
			  " with this run's; the save keeps only the latest",
			  m->return_rate, id);
	st = store_model_set_eval(s, id, rate, m->promoted, m->note);
	free(m);
	return st;
}

static void learn_eval_print(const struct learn_eval_args *a, int64_t id,
			     const struct learn_balls *b)
{
	double rate = b->reached ? (double)b->returned / b->reached : NAN;
	double lo, hi;

	learn_wilson(b->returned, b->reached, LEARN_Z95, &lo, &hi);
	if (a->json) {
		printf("{\"model_id\":%" PRId64, id);
		learn_json_num(stdout, "return_rate", rate, "%.6g");
		learn_json_num(stdout, "ci_low", lo, "%.6g");
		learn_json_num(stdout, "ci_high", hi, "%.6g");
		printf(",\"returned\":%" PRIu64 ",\"balls\":%" PRIu64 ",\"rounds\":%u,\"seed\":%" PRIu64
		       "}\n", b->returned, b->reached, a->rounds, a->seed);
		return;
	}
	printf("model %" PRId64 ": return rate %.4f (%" PRIu64 " of %" PRIu64
	       " balls), 95%% CI [%.4f, %.4f], %u round%s, seed %" PRIu64 "\n",
	       id, isfinite(rate) ? rate : 0.0, b->returned, b->reached, lo, hi, a->rounds,
	       a->rounds == 1 ? "" : "s", a->seed);
}

int learn_cmd_eval(int argc, char **argv)
{
	struct learn_eval_args a = { .rounds = 200, .seed = 1 };
	struct learn_balls balls = { 0 };
	struct store *store = NULL;
	struct agent *agent = NULL;
	struct agent_opts opts;
	struct sim_setup setup;
	struct ctrl left, right;
	struct ctrl_tracker_params p;
	struct rng seeds;
	char msg[STORE_MSG_MAX];
	int status = learn_eval_parse(argc, argv, &a);

	if (status >= 0)
		return status;
	status = CLI_EXIT_FAIL;

	/* Writable, because the return rate is stored on the version. */
	if (learn_open_existing(a.db, false, &store) != CLI_EXIT_OK)
		return CLI_EXIT_FAIL;
	if (a.model_id == 0) {
		enum store_status st = store_model_latest_promoted(store, &a.model_id);

		if (st == STORE_ERR_NOT_FOUND) {
			cli_error("no promoted model version in %s; run 'ttypong train' first or pass --model ID",
				  store_path(store));
			goto out;
		}
		if (st != STORE_OK) {
			cli_error("%s", store_errmsg(store));
			goto out;
		}
	}

	agent_opts_default(&opts);
	sim_setup_default(&setup);
	rng_seed(&seeds, a.seed);
	setup.seed = rng_next(&seeds);
	setup.rounds = a.rounds;
	if (agent_open(&agent, store, &setup.config, &opts, a.model_id, msg, sizeof msg) != AGENT_OK) {
		cli_error("%s", msg);
		goto out;
	}
	cli_warn_agent("eval", agent, NULL, false);
	agent_ctrl_init(agent, &right, CORE_RIGHT);
	ctrl_tracker_params_default(&p);
	ctrl_tracker_init(&left, CORE_LEFT, &p, rng_next(&seeds));

	struct sim_hooks hooks = { .frame = learn_eval_frame, .user = &balls };

	sim_run(&setup, &left, &right, &hooks, NULL);
	learn_eval_print(&a, a.model_id, &balls);
	if (balls.reached &&
	    learn_store_rate(store, a.model_id, (double)balls.returned / balls.reached) != STORE_OK) {
		cli_error("storing the return rate failed: %s", store_errmsg(store));
		goto out;
	}
	status = CLI_EXIT_OK;
out:
	agent_close(agent);
	store_close(store);
	return status;
}

/* ---- models ------------------------------------------------------------- */

static void learn_models_help(void)
{
	puts("Usage: ttypong models [OPTIONS]\n"
	     "List the model versions in the save, oldest first: id, parent, creation time\n"
	     "(UTC), frames trained on, val loss and accuracy, return rate if evaluated,\n"
	     "and whether the version is promoted, with the note on that decision.\n"
	     "\n"
	     "      --json         print one JSON object per version\n"
	     "      --db PATH      the save to use\n"
	     "  -h, --help         show this help");
}

static void learn_models_line(const struct store_model *m, bool json)
{
	time_t t = (time_t)(m->created_ms / 1000);
	struct tm tm;
	char created[32], b[4][32];

	gmtime_r(&t, &tm);
	strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (json) {
		printf("{\"id\":%" PRId64, m->id);
		learn_json_id(stdout, "parent_id", m->parent_id);
		printf(",\"created_ms\":%" PRId64, m->created_ms);
		learn_json_str(stdout, "created", created);
		learn_json_str(stdout, "kind", m->kind == STORE_MODEL_IMPORTED ? "imported" : "trained");
		printf(",\"records\":%" PRId64, m->n_records);
		learn_json_num(stdout, "train_loss", m->train_loss, "%.6g");
		learn_json_num(stdout, "val_loss", m->val_loss, "%.6g");
		learn_json_num(stdout, "val_acc", m->val_acc, "%.6g");
		learn_json_num(stdout, "return_rate", m->return_rate, "%.6g");
		printf(",\"promoted\":%s", m->promoted ? "true" : "false");
		learn_json_str(stdout, "note", m->note);
		puts("}");
		return;
	}
	printf("%6" PRId64 " %6s %-20s %9" PRId64 " %8s %7s %7s %-8s %s\n", m->id,
	       m->parent_id ? (snprintf(b[3], 32, "%" PRId64, m->parent_id), b[3]) : "-", created,
	       m->n_records, learn_fmt(b[0], 32, "%.4f", m->val_loss),
	       learn_fmt(b[1], 32, "%.3f", m->val_acc),
	       isfinite(m->return_rate) ? (snprintf(b[2], 32, "%.3f", m->return_rate), b[2]) : "-",
	       m->promoted ? "yes" : "no", m->note ? m->note : "");
}

int learn_cmd_models(int argc, char **argv)
{
	enum { OPT_JSON = 256, OPT_DB };
	static const struct option options[] = {
		{"json", no_argument, NULL, OPT_JSON},
		{"db", required_argument, NULL, OPT_DB},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL;
	bool json = false;
	struct store *store = NULL;
	int64_t *ids = NULL;
	size_t n = 0;
	int opt, status = CLI_EXIT_FAIL;

	while ((opt = getopt_long(argc, argv, ":h", options, NULL)) != -1) {
		switch (opt) {
		case OPT_JSON:
			json = true;
			break;
		case OPT_DB:
			db = optarg;
			break;
		case 'h':
			learn_models_help();
			return CLI_EXIT_OK;
		default:
			return cli_bad_option("models", opt, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error("models", "unexpected argument '%s'", argv[optind]);

	if (learn_open_existing(db, true, &store) != CLI_EXIT_OK)
		return CLI_EXIT_FAIL;
	if (store_model_list(store, &ids, &n) != STORE_OK) {
		cli_error("%s", store_errmsg(store));
		goto out;
	}
	if (!json)
		printf("%6s %6s %-20s %9s %8s %7s %7s %-8s %s\n", "id", "parent", "created",
		       "records", "val_loss", "val_acc", "return", "promoted", "note");
	for (size_t i = 0; i < n; i++) {
		struct store_model *m = NULL;

		if (store_model_get(store, ids[i], &m) != STORE_OK) {
			cli_error("%s", store_errmsg(store));
			goto out;
		}
		learn_models_line(m, json);
		free(m);
	}
	status = CLI_EXIT_OK;
out:
	free(ids);
	store_close(store);
	return status;
}
