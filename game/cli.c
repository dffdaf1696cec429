/* cli: subcommand dispatch, shared option parsing, and the sim command. */
#include "cli.h"

#include <assert.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"
#include "core.h"
#include "ctrl.h"
#include "drop.h"
#include "lab.h"
#include "learn.h"
#include "nn.h"
#include "rng.h"
#include "sim.h"
#include "store.h"
#include "ui.h"

#define CLI_VERSION "0.1.0"

struct cli_command {
	const char *name;
	int (*run)(int argc, char **argv);	/* argv[0] is the command name */
	const char *summary;
};

static int cli_cmd_sim(int argc, char **argv);
static int cli_cmd_unavailable(int argc, char **argv);

static const struct cli_command cli_commands[] = {
	{"play", ui_cmd_play, "play against the learning AI (the default)"},
	{"watch", ui_cmd_watch, "watch the AI learn against the tracker or itself"},
	{"train", learn_cmd_train, "play headless rounds and train between them"},
	{"eval", learn_cmd_eval, "measure a model's return rate headless"},
	{"models", learn_cmd_models, "list the model versions in the save"},
	{"export", cli_cmd_unavailable, "write a model as TF.js Layers, CSV or a C header"},
	{"import", cli_cmd_unavailable, "store a TF.js Layers model as a model version"},
	{"predict", cli_cmd_unavailable, "print class probabilities for feature rows"},
	{"stats", cli_cmd_unavailable, "summarize the save"},
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

int cli_bad_option(const char *cmd, char **argv)
{
	const char *arg = argv[optind - 1];

	if (optopt && arg && strncmp(arg, "--", 2) != 0)
		return cli_usage_error(cmd, "invalid option '-%c'", optopt);
	if (arg && strchr(arg, '=') == NULL && optopt)
		return cli_usage_error(cmd, "option '%s' requires a value", arg);
	return cli_usage_error(cmd, "unknown option '%s'", arg ? arg : "?");
}

int cli_parse_long(const char *cmd, const char *opt, const char *value,
		   long min, long max, long *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno || end == value || *end != '\0' || v < min || v > max)
		return cli_usage_error(cmd, "invalid value '%s' for %s: expected an integer from %ld to %ld",
				       value, opt, min, max);
	*out = v;
	return 0;
}

int cli_parse_seed(const char *cmd, const char *opt, const char *value,
		   uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(value, &end, 10);
	if (errno || end == value || *end != '\0' || value[0] == '-' || value[0] == '+')
		return cli_usage_error(cmd, "invalid value '%s' for %s: expected an integer from 0 to 18446744073709551615",
				       value, opt);
	*out = v;
	return 0;
}

int cli_parse_double(const char *cmd, const char *opt, const char *value,
		     double min, double max, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(value, &end);
	if (errno || end == value || *end != '\0' || !isfinite(v) || v < min || v > max)
		return cli_usage_error(cmd, "invalid value '%s' for %s: expected a number from %g to %g",
				       value, opt, min, max);
	*out = v;
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
	      "  --db PATH  the save to use (default: $TTYPONG_DB, else saves/ttypong.db\n"
	      "             in a source tree, else ~/.local/share/ttypong/ttypong.db)\n"
	      "\n  -h, --help     show this help\n"
	      "  -V, --version  show the version\n", f);
}

static int cli_cmd_unavailable(int argc, char **argv)
{
	(void)argc;
	cli_error("the '%s' command is not available in this build yet", argv[0]);
	return CLI_EXIT_FAIL;
}

int cli_main(int argc, char **argv)
{
	const char *name = "play";
	int first = 1;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
			  strcmp(argv[1], "help") == 0)) {
		cli_print_help(stdout);
		return CLI_EXIT_OK;
	}
	if (argc >= 2 && (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0)) {
		printf("ttypong %s\n", CLI_VERSION);
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

/* ---- sim ---------------------------------------------------------------- */

/* Frames go to the save in batches, so that one append covers many rows. */
#define CLI_SIM_BATCH 4096

struct cli_sim_run {
	struct store *store;
	int64_t session_id;
	struct store_frame batch[CLI_SIM_BATCH];
	size_t n_batch;
	bool json;
	int failed;		/* enum store_status of a failed write, else 0 */
};

static int cli_sim_flush(struct cli_sim_run *run)
{
	enum store_status st;

	if (run->n_batch == 0)
		return 0;
	st = store_round_append(run->store, run->batch, run->n_batch);
	run->n_batch = 0;
	if (st != STORE_OK) {
		run->failed = st;
		return -1;
	}
	return 0;
}

static int cli_sim_round_start(void *user, uint32_t round, const struct core_state *s)
{
	struct cli_sim_run *run = user;
	int64_t round_id;
	enum store_status st;

	(void)s;
	if (!run->store)
		return 0;
	st = store_round_begin(run->store, run->session_id, (int32_t)round + 1, &round_id);
	if (st != STORE_OK) {
		run->failed = st;
		return -1;
	}
	return 0;
}

static int cli_sim_frame(void *user, const struct sim_frame *f)
{
	struct cli_sim_run *run = user;
	struct store_frame *r;

	if (!run->store)
		return 0;
	r = &run->batch[run->n_batch++];
	r->ball_x = (float)f->state->ball.x;
	r->ball_y = (float)f->state->ball.y;
	r->ball_vx = (float)f->state->ball.vx;
	r->ball_vy = (float)f->state->ball.vy;
	r->left_y = (float)f->state->paddle_y[CORE_LEFT];
	r->right_y = (float)f->state->paddle_y[CORE_RIGHT];
	r->move_left = (uint8_t)f->move[CORE_LEFT];
	r->move_right = (uint8_t)f->move[CORE_RIGHT];
	if (run->n_batch == CLI_SIM_BATCH)
		return cli_sim_flush(run);
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
		struct store_round_result result = {
			.winner = r->result == CORE_RESULT_DRAW ? STORE_WINNER_DRAW :
				  r->result == CORE_RESULT_LEFT ? STORE_WINNER_LEFT : STORE_WINNER_RIGHT,
			.returns_left = (int)r->returns[CORE_LEFT],
			.returns_right = (int)r->returns[CORE_RIGHT],
		};
		enum store_status st;

		if (cli_sim_flush(run) != 0)
			return -1;
		st = store_round_end(run->store, &result);
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
			db = optarg;
			break;
		case 'h':
			cli_sim_help();
			status = CLI_EXIT_OK;
			goto out;
		default:
			cli_bad_option("sim", argv);
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
		st = store_session_begin(run->store, &session, &run->session_id);
		if (st != STORE_OK) {
			cli_error("%s", store_errmsg(run->store));
			goto out;
		}
	}

	struct sim_hooks hooks = {
		.round_start = cli_sim_round_start,
		.frame = cli_sim_frame,
		.round_end = cli_sim_round_end,
		.user = run,
	};

	if (sim_run(&setup, &left, &right, &hooks, &summary) != 0) {
		cli_error("recording round %u failed: %s", summary.rounds + 1,
			  store_errmsg(run->store));
		goto out;
	}
	if (run->store && store_session_end(run->store, run->session_id) != STORE_OK) {
		cli_error("%s", store_errmsg(run->store));
		goto out;
	}
	status = CLI_EXIT_OK;
out:
	if (run->store)
		store_close(run->store);
	free(run);
	return status;
usage:
	free(run);
	return CLI_EXIT_USAGE;
}
