/* cli: subcommand dispatch, shared option parsing, and the sim command. */
#include "cli.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "core.h"
#include "ctrl.h"
#include "drop.h"
#include "lab.h"
#include "learn.h"
#include "nn.h"
#include "rec.h"
#include "rng.h"
#include "sim.h"
#include "store.h"
#include "ui.h"
#include "xfer.h"

/* The Makefile sets the release version (VERSION). */
#ifndef TTYPONG_VERSION
#error "TTYPONG_VERSION must be defined by the build (see Makefile)"
#endif

struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);	/* argv[0] is the command name */
	const char *summary;
};

static int cli_cmd_sim(int argc, char **argv);

static const struct cli_command cli_commands[] = {
	{"play", ui_cmd_play, "play against the learning AI (the default)"},
	{"watch", ui_cmd_watch, "watch the AI learn against the tracker or itself"},
	{"train", learn_cmd_train, "play headless rounds and train between them"},
	{"eval", learn_cmd_eval, "measure a model's return rate headless"},
	{"models", learn_cmd_models, "list the model versions in the save"},
	{"export", xfer_cmd_export, "write a model as TF.js Layers, CSV or a C header"},
	{"import", xfer_cmd_import, "store a TF.js Layers model as a model version"},
	{"predict", xfer_cmd_predict, "print class probabilities for feature rows"},
	{"stats", xfer_cmd_stats, "summarize the save"},
	{"lab", lab_cli, "compare dropout settings on the same data"},
	{"sim", cli_cmd_sim, "play headless rounds between scripted players into the save"},
};

#define CLI_N_COMMANDS (sizeof cli_commands / sizeof cli_commands[0])

void cli_error(const char *fmt, ...)
{
	va_list ap;

	fputs("ttypong: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ttypong %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'ttypong %s --help'.\n", cmd);
	return CLI_EXIT_USAGE;
}

int cli_bad_option(const char *cmd, int opt, char **argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : NULL;
	bool long_opt = arg != NULL && strncmp(arg, "--", 2) == 0;
	int name_len;

	/* A short option is named by optopt: argv[optind - 1] may be an
	 * earlier element when the option sits inside a cluster like -xn. */
	if (!long_opt && opt == ':')
		return cli_usage_error(cmd, "option '-%c' requires a value", optopt);
	if (!long_opt)
		return cli_usage_error(cmd, "unknown option '-%c'", optopt);

	/* The name as typed, without any "=VALUE". */
	name_len = (int)strcspn(arg, "=");
	if (opt == ':')
		return cli_usage_error(cmd, "option '%.*s' requires a value", name_len, arg);
	if (optopt != 0 && arg[name_len] == '=')
		return cli_usage_error(cmd, "option '%.*s' takes no value", name_len, arg);
	return cli_usage_error(cmd, "unknown option '%.*s'", name_len, arg);
}

/* Checks value against the rule in cli.h: an optional '-', then decimal
 * digits, then, when real is set, an optional fraction and exponent. */
static bool cli_is_decimal(const char *value, bool real)
{
	const char *p = value + (value[0] == '-');
	size_t digits = strspn(p, "0123456789");

	p += digits;
	if (real && *p == '.') {
		size_t fraction = strspn(p + 1, "0123456789");

		digits += fraction;
		p += 1 + fraction;
	}
	if (digits == 0)
		return false;
	if (real && (*p == 'e' || *p == 'E')) {
		p += 1 + (p[1] == '-' || p[1] == '+');
		if (strspn(p, "0123456789") == 0)
			return false;
		p += strspn(p, "0123456789");
	}
	return *p == '\0';
}

int cli_parse_long(const char *cmd, const char *opt, const char *value,
		   long min, long max, long *out)
{
	long v;

	if (!cli_is_decimal(value, false))
		goto invalid;
	errno = 0;
	v = strtol(value, NULL, 10);
	if (errno || v < min || v > max)
		goto invalid;
	*out = v;
	return 0;

invalid:
	return cli_usage_error(cmd, "invalid value '%s' for %s: expected an integer from %ld to %ld",
			       value, opt, min, max);
}

int cli_parse_seed(const char *cmd, const char *opt, const char *value,
		   uint64_t *out)
{
	unsigned long long v;

	/* strtoull() would negate a leading '-' instead of rejecting it. */
	if (!cli_is_decimal(value, false) || value[0] == '-')
		goto invalid;
	errno = 0;
	v = strtoull(value, NULL, 10);
	if (errno)
		goto invalid;
	*out = v;
	return 0;

invalid:
	return cli_usage_error(cmd, "invalid value '%s' for %s: expected an integer from 0 to 18446744073709551615",
			       value, opt);
}

int cli_parse_double(const char *cmd, const char *opt, const char *value,
		     double min, double max, double *out)
{
	double v;

	if (!cli_is_decimal(value, true))
		goto invalid;
	errno = 0;
	v = strtod(value, NULL);
	if (errno || !isfinite(v) || v < min || v > max)
		goto invalid;
	*out = v;
	return 0;

invalid:
	return cli_usage_error(cmd, "invalid value '%s' for %s: expected a number from %g to %g",
			       value, opt, min, max);
}

int cli_parse_path(const char *cmd, const char *opt, const char *value,
		   const char **out)
{
	if (value[0] == '\0')
		return cli_usage_error(cmd, "invalid value '' for %s: expected a file path", opt);
	*out = value;
	return 0;
}

int cli_open_store(const char *db_opt, struct store **out)
{
	char path[4096];
	char msg[STORE_MSG_MAX];

	if (store_default_path(db_opt, path, sizeof path, msg, sizeof msg) != STORE_OK) {
		cli_error("%s", msg);
		return CLI_EXIT_FAIL;
	}
	if (store_open(path, NULL, out, msg, sizeof msg) != STORE_OK) {
		cli_error("%s", msg);
		return CLI_EXIT_FAIL;
	}
	return CLI_EXIT_OK;
}

const char cli_net_options_help[] =
	"      --dropout NAME[:RATE]\n"
	"                         dropout of a fresh network: none, dropout, alpha,\n"
	"                         gaussian, spatial, dropconnect, concrete or\n"
	"                         variational (default dropout:0.5, the reference model)\n"
	"      --history K        frames of features a fresh network sees per decision,\n"
	"                         1 to 32 (default 1); a stored model version keeps its own\n"
	"      --mc N             the AI decides on the mean of N MC-dropout passes,\n"
	"                         1 to 1000; play and watch show their spread\n"
	"                         (default: one pass in eval mode)\n";

int cli_parse_net_option(const char *cmd, int opt, const char *value, struct agent_opts *o)
{
	char err[256];
	long v;

	switch (opt) {
	case CLI_OPT_DROPOUT:
		if (drop_parse_spec(value, &o->dropout, err, sizeof err) != 0)
			return cli_usage_error(cmd, "%s", err);
		o->has_dropout = true;
		return 0;
	case CLI_OPT_MC:
		if (cli_parse_long(cmd, "--mc", value, 1, AGENT_MC_PASSES_MAX, &v))
			return CLI_EXIT_USAGE;
		o->mc_passes = (uint32_t)v;
		return 0;
	case CLI_OPT_HISTORY:
		if (cli_parse_long(cmd, "--history", value, 1, AGENT_HISTORY_MAX, &v))
			return CLI_EXIT_USAGE;
		o->history = (int)v;
		return 0;
	}
	assert(!"not a network option");
	return CLI_EXIT_USAGE;
}

unsigned cli_warn_model(const char *cmd, const char *what, const struct nn_model *m)
{
	int layer = -1;
	unsigned bits = nn_warnings(m, &layer);
	const char *sep = "";

	if (!bits)
		return 0;
	fprintf(stderr, "ttypong %s: warning: %s: ", cmd, what);
	for (unsigned bit = 1; bit != 0 && bit <= bits; bit <<= 1) {
		if (!(bits & bit) || !nn_warning_text(bit))
			continue;
		fprintf(stderr, "%s%s", sep, nn_warning_text(bit));
		sep = "; ";
	}
	if (nn_layer(m, layer))
		fprintf(stderr, " (layer %s)", nn_layer(m, layer)->name);
	fputc('\n', stderr);
	return bits;
}

void cli_warn_agent(const char *cmd, const struct agent *a, const struct agent_opts *o,
		    bool history_given)
{
	long long id = (long long)agent_model_id(a);
	int history = agent_history(a);
	char what[64];

	history_given = history_given && o && o->history != history;
	if (id > 0 && o && (o->has_dropout || history_given))
		fprintf(stderr,
			"ttypong %s: warning: %s only a fresh network; "
			"model version %lld keeps its layers and its history of %d frame%s\n",
			cmd, !history_given ? "--dropout shapes" :
			      o->has_dropout ? "--dropout and --history shape" : "--history shapes",
			id, history, history == 1 ? "" : "s");
	if (id > 0)
		snprintf(what, sizeof what, "model version %lld", id);
	else
		snprintf(what, sizeof what, "the fresh network");
	cli_warn_model(cmd, what, agent_network(a));
}

static void cli_print_help(FILE *f)
{
	fputs("Usage: ttypong [COMMAND] [OPTIONS]\n"
	      "Pong in a terminal against a neural network that learns as you play.\n"
	      "\nCommands:\n", f);
	for (size_t i = 0; i < CLI_N_COMMANDS; i++)
		fprintf(f, "  %-9s %s\n", cli_commands[i].name, cli_commands[i].summary);
	fputs("\nRun 'ttypong COMMAND --help' for a command's options.\n"
	      "Options of every command that uses the save:\n"
	      "  --db PATH  the save to use (default: $TTYPONG_DB unless it is empty,\n"
	      "             else saves/ttypong.db in a source tree, else\n"
	      "             $XDG_DATA_HOME/ttypong/ttypong.db, where XDG_DATA_HOME\n"
	      "             defaults to ~/.local/share and must be an absolute path)\n"
	      "\n  -h, --help     show this help\n"
	      "  -V, --version  show the version\n", f);
}

/* Runs the command that argv names and returns its exit status. */
static int cli_dispatch(int argc, char **argv)
{
	const char *name = "play";
	int first = 1;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
			  strcmp(argv[1], "help") == 0)) {
		cli_print_help(stdout);
		return CLI_EXIT_OK;
	}
	if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
		printf("ttypong %s\n", TTYPONG_VERSION);
		return CLI_EXIT_OK;
	}

	/* An option first (ttypong --db x) means the default command, play. */
	if (argc >= 2 && argv[1][0] != '-') {
		name = argv[1];
		first = 2;
	}

	for (size_t i = 0; i < CLI_N_COMMANDS; i++) {
		if (strcmp(cli_commands[i].name, name) != 0)
			continue;

		/* The command gets argv[0] as its own name and its options after it. */
		char **sub = argv + first - 1;
		char *saved = sub[0];
		int status;

		sub[0] = (char *)cli_commands[i].name;
		optind = 0;
		status = cli_commands[i].run(argc - first + 1, sub);
		sub[0] = saved;
		return status;
	}
	cli_error("unknown command '%s'. Run 'ttypong --help' for the list of commands.", name);
	return CLI_EXIT_USAGE;
}

/* Flushes stdout and turns a write failure that the command did not report
 * into one error line and CLI_EXIT_FAIL, so output lost to a full disk or a
 * closed pipe does not pass as success. */
static int cli_finish_stdout(int status)
{
	int failed = fflush(stdout) != 0;
	int err = errno;

	if (!failed && !ferror(stdout))
		return status;
	if (status != CLI_EXIT_OK)
		return status;
	if (failed)
		cli_error("writing to standard output failed: %s", strerror(err));
	else
		cli_error("writing to standard output failed");
	return CLI_EXIT_FAIL;
}

int cli_main(int argc, char **argv)
{
	/* With descriptor 1 closed, SQLite would park /dev/null on it when it
	 * opens the save, and output would vanish without an error. */
	if (fcntl(STDOUT_FILENO, F_GETFD) == -1) {
		cli_error("standard output is closed; run ttypong with it open (redirect it to /dev/null to discard it)");
		return CLI_EXIT_FAIL;
	}
	return cli_finish_stdout(cli_dispatch(argc, argv));
}

/* ---- sim ---------------------------------------------------------------- */

struct cli_sim_run {
	struct store *store;		/* NULL with --no-record */
	struct rec rec;
	bool json;
	uint32_t round;		/* number of the round being played, from 1 */
	int failed;		/* enum store_status of a failed write, else 0 */
	int print_errno;	/* errno of a failed write to stdout, else 0 */
};

static int cli_sim_round_start(void *user, uint32_t round, const struct core_state *s)
{
	struct cli_sim_run *run = user;

	(void)s;
	run->round = round + 1;
	if (run->store)
		rec_round_begin(&run->rec, (int32_t)run->round);
	return 0;
}

static int cli_sim_frame(void *user, const struct sim_frame *f)
{
	struct cli_sim_run *run = user;
	enum store_status st;

	if (!run->store)
		return 0;
	st = rec_frame(&run->rec, f->state, f->move[CORE_LEFT], f->move[CORE_RIGHT]);
	if (st != STORE_OK) {
		run->failed = st;
		return -1;
	}
	return 0;
}

static const char *cli_result_name(enum core_result r)
{
	switch (r) {
	case CORE_RESULT_LEFT:
		return "left";
	case CORE_RESULT_RIGHT:
		return "right";
	case CORE_RESULT_DRAW:
		return "draw";
	case CORE_RESULT_NONE:
		break;
	}
	return "none";
}

static int cli_sim_round_end(void *user, const struct sim_round *r)
{
	struct cli_sim_run *run = user;

	if (run->store) {
		enum store_status st = rec_round_end(&run->rec, r->result, r->returns);

		if (st != STORE_OK) {
			run->failed = st;
			return -1;
		}
	}

	if (run->json)
		printf("{\"round\":%u,\"winner\":\"%s\",\"returns_left\":%u,\"returns_right\":%u,"
		       "\"frames\":%u,\"score_left\":%u,\"score_right\":%u}\n",
		       r->round + 1, cli_result_name(r->result), r->returns[CORE_LEFT],
		       r->returns[CORE_RIGHT], r->frames, r->score[CORE_LEFT], r->score[CORE_RIGHT]);
	else
		printf("round %u: winner %s, returns %u left %u right, %u frames, score %u-%u\n",
		       r->round + 1, cli_result_name(r->result), r->returns[CORE_LEFT],
		       r->returns[CORE_RIGHT], r->frames, r->score[CORE_LEFT], r->score[CORE_RIGHT]);

	/* One flush per round keeps a log in step with the save when the run
	 * is killed, and stops a run whose output is lost. */
	if (fflush(stdout) != 0 || ferror(stdout)) {
		run->print_errno = errno ? errno : EIO;
		return -1;
	}
	return 0;
}

/* Sets up a scripted controller by name. Returns false for an unknown name. */
static bool cli_sim_ctrl(struct ctrl *c, const char *name, enum core_side side, uint64_t seed)
{
	if (strcmp(name, "tracker") == 0) {
		struct ctrl_tracker_params p;

		ctrl_tracker_params_default(&p);
		ctrl_tracker_init(c, side, &p, seed);
		return true;
	}
	if (strcmp(name, "random") == 0) {
		ctrl_random_init(c, side, 8, seed);
		return true;
	}
	return false;
}

static void cli_sim_help(void)
{
	puts("Usage: ttypong sim [OPTIONS]\n"
	     "Play headless rounds between two scripted players and record every frame\n"
	     "into the save. Prints one line per round: winner, returns, frames, score.\n"
	     "\n"
	     "  -n, --rounds N     rounds to play, 1 to 1000000 (default 10)\n"
	     "  -s, --seed S       seed of the serves and the players (default 1)\n"
	     "      --left KIND    left player: tracker or random (default tracker)\n"
	     "      --right KIND   right player: tracker or random (default tracker)\n"
	     "      --points N     points that win a match, 1 to 99 (default 11)\n"
	     "      --no-record    play without writing to the save\n"
	     "      --json         print one JSON object per round\n"
	     "      --db PATH      the save to use\n"
	     "  -h, --help         show this help");
}

static int cli_cmd_sim(int argc, char **argv)
{
	enum { OPT_LEFT = 256, OPT_RIGHT, OPT_POINTS, OPT_NO_RECORD, OPT_JSON, OPT_DB };
	static const struct option options[] = {
		{"rounds", required_argument, NULL, 'n'},
		{"seed", required_argument, NULL, 's'},
		{"left", required_argument, NULL, OPT_LEFT},
		{"right", required_argument, NULL, OPT_RIGHT},
		{"points", required_argument, NULL, OPT_POINTS},
		{"no-record", no_argument, NULL, OPT_NO_RECORD},
		{"json", no_argument, NULL, OPT_JSON},
		{"db", required_argument, NULL, OPT_DB},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *left_name = "tracker", *right_name = "tracker", *db = NULL;
	bool record = true;
	struct sim_setup setup;
	struct cli_sim_run *run = NULL;
	struct ctrl left, right;
	struct sim_summary summary;
	int64_t session_id = 0;
	long value;
	int opt, status = CLI_EXIT_FAIL;

	sim_setup_default(&setup);
	setup.rounds = 10;
	if (setup.config.rally_max_returns == 0 && setup.config.round_max_steps == 0)
		setup.config.round_max_steps = 7200;
	run = calloc(1, sizeof *run);
	if (!run) {
		cli_error("out of memory");
		return CLI_EXIT_FAIL;
	}

	while ((opt = getopt_long(argc, argv, ":n:s:h", options, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (cli_parse_long("sim", "--rounds", optarg, 1, 1000000, &value))
				goto usage;
			setup.rounds = (uint32_t)value;
			break;
		case 's':
			if (cli_parse_seed("sim", "--seed", optarg, &setup.seed))
				goto usage;
			break;
		case OPT_LEFT:
			left_name = optarg;
			break;
		case OPT_RIGHT:
			right_name = optarg;
			break;
		case OPT_POINTS:
			if (cli_parse_long("sim", "--points", optarg, 1, 99, &value))
				goto usage;
			setup.config.points_to_win = (uint32_t)value;
			break;
		case OPT_NO_RECORD:
			record = false;
			break;
		case OPT_JSON:
			run->json = true;
			break;
		case OPT_DB:
			if (cli_parse_path("sim", "--db", optarg, &db))
				goto usage;
			break;
		case 'h':
			cli_sim_help();
			status = CLI_EXIT_OK;
			goto out;
		default:
			cli_bad_option("sim", opt, argv);
			goto usage;
		}
	}
	if (optind < argc) {
		cli_usage_error("sim", "unexpected argument '%s'", argv[optind]);
		goto usage;
	}

	/* Each player gets its own stream derived from the run's seed. */
	struct rng seeds;

	rng_seed(&seeds, setup.seed);
	if (!cli_sim_ctrl(&left, left_name, CORE_LEFT, rng_next(&seeds))) {
		cli_usage_error("sim", "invalid value '%s' for --left: expected tracker or random", left_name);
		goto usage;
	}
	if (!cli_sim_ctrl(&right, right_name, CORE_RIGHT, rng_next(&seeds))) {
		cli_usage_error("sim", "invalid value '%s' for --right: expected tracker or random", right_name);
		goto usage;
	}

	if (record) {
		char config[128];
		struct store_session session = {
			.kind = STORE_SESSION_SIM,
			.seed = setup.seed,
			.left_ctrl = left_name,
			.right_ctrl = right_name,
			.human_side = STORE_SIDE_NONE,
			.config_json = config,
		};
		enum store_status st;

		snprintf(config, sizeof config, "{\"rounds\":%u,\"points_to_win\":%u}",
			 setup.rounds, setup.config.points_to_win);
		if (cli_open_store(db, &run->store) != CLI_EXIT_OK)
			goto out;
		st = store_session_begin(run->store, &session, &session_id);
		if (st != STORE_OK) {
			cli_error("%s", store_errmsg(run->store));
			goto out;
		}
		rec_init(&run->rec, run->store, session_id);
	}

	struct sim_hooks hooks = {
		.round_start = cli_sim_round_start,
		.frame = cli_sim_frame,
		.round_end = cli_sim_round_end,
		.user = run,
	};

	/* The summary counts a round whose round_end hook failed as finished,
	 * so the failed round's number comes from the run. */
	if (sim_run(&setup, &left, &right, &hooks, &summary) != 0) {
		if (run->print_errno)
			cli_error("writing round %u to standard output failed: %s%s",
				  run->round, strerror(run->print_errno),
				  run->store ? " (the save holds the rounds up to it)" : "");
		else
			cli_error("recording round %u failed: %s", run->round,
				  store_errmsg(run->store));
		goto abandon;
	}
	if (run->store && store_session_end(run->store, session_id) != STORE_OK) {
		cli_error("%s", store_errmsg(run->store));
		goto out;
	}
	status = CLI_EXIT_OK;
	goto out;
abandon:
	/* Best effort: the error is reported already, and on a full disk this
	 * write may fail too, leaving the session without an end time. */
	if (run->store)
		store_session_abandon(run->store, session_id);
out:
	rec_free(&run->rec);
	if (run->store)
		store_close(run->store);
	free(run);
	return status;
usage:
	free(run);
	return CLI_EXIT_USAGE;
}
