/* ui: the play and watch commands, their fixed-step loop, recording, and the
 * screen (field, HUD, probability bars, training panel, help). */
#include "ui.h"

#include <curses.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "agent.h"
#include "cli.h"
#include "core.h"
#include "ctrl.h"
#include "plot.h"
#include "rec.h"
#include "rng.h"
#include "store.h"
#include "term.h"

#define UI_FRAME_NS (1000000000 / UI_FPS)
#define UI_STEP_NS (1000000000 / CORE_STEP_HZ)
/* Share of a frame that stepping may use before the loop draws, so that a
 * slow machine or --speed max still redraws and reads keys every frame. */
#define UI_STEP_BUDGET_NS (UI_FRAME_NS * 3 / 4)
/* How long the training panel stays after training at 1x, before the next
 * round starts. */
#define UI_BETWEEN_MS 1500
/* How long a notice (a round the save did not take) stays on screen. */
#define UI_NOTICE_NS (8 * (int64_t)1000000000)
/* Model versions and rounds kept for the panel's curves. */
#define UI_HISTORY_MAX 256
#define UI_ROUNDS_MAX 1024
#define UI_SPEED_MAX 1000.0

enum ui_mode {
	UI_MODE_PLAY,
	UI_MODE_WATCH,
};

enum ui_screen {
	UI_SCREEN_PLAY,
	UI_SCREEN_BETWEEN,
	UI_SCREEN_MATCH_OVER,
};

/* Colour pairs; without colour the attributes alone tell things apart. */
enum ui_pair {
	UI_PAIR_LEFT = 1,
	UI_PAIR_RIGHT,
	UI_PAIR_BALL,
	UI_PAIR_DIM,
	UI_PAIR_SERIES0,
	UI_PAIR_SERIES1,
	UI_PAIR_GOOD,
	UI_PAIR_WARN,
};

struct ui_opts {
	enum ui_mode mode;
	const char *db;
	bool ascii;
	uint64_t seed;
	bool self;		/* watch: the AI plays itself */
	double speed;		/* watch: steps per second / CORE_STEP_HZ */
	bool speed_max;
	uint32_t points;
	int64_t model_id;	/* version to play, 0 for the newest promoted */
	struct agent_opts net;	/* --dropout, --mc and --history */
	bool history_given;
};

/* Glyphs of one character set. */
struct ui_glyphs {
	const wchar_t *h, *v, *tl, *tr, *bl, *br;	/* box */
	const wchar_t *centre;				/* centre line */
	const wchar_t *full, *upper, *lower;		/* half cells */
	const wchar_t *ball_upper, *ball_lower;
	const wchar_t *bar_empty;
	const wchar_t *eighths[8];			/* bar ends, 1/8 to 8/8 */
	const wchar_t *spark[8];			/* sparkline levels */
};

static const struct ui_glyphs ui_glyphs_utf8 = {
	L"\u2500", L"\u2502", L"\u250c", L"\u2510", L"\u2514", L"\u2518",
	L"\u254e",
	L"\u2588", L"\u2580", L"\u2584",
	L"\u2580", L"\u2584",
	L"\u2591",
	{ L"\u258f", L"\u258e", L"\u258d", L"\u258c", L"\u258b", L"\u258a", L"\u2589", L"\u2588" },
	{ L"\u2581", L"\u2582", L"\u2583", L"\u2584", L"\u2585", L"\u2586", L"\u2587", L"\u2588" },
};

static const struct ui_glyphs ui_glyphs_ascii = {
	L"-", L"|", L"+", L"+", L"+", L"+",
	L":",
	L"#", L"#", L"#",
	L"O", L"O",
	L".",
	{ L"#", L"#", L"#", L"#", L"#", L"#", L"#", L"#" },
	{ L"_", L".", L",", L":", L"-", L"=", L"+", L"#" },
};

/* One model version's metrics, as the panel's charts show them. */
struct ui_version {
	int64_t id;
	double train_loss, val_loss;
	double train_acc, val_acc;	/* NaN when not measured */
	bool promoted;
};

struct ui_app {
	struct ui_opts opts;
	struct term_caps caps;
	const struct ui_glyphs *g;

	struct core_config cfg;
	struct core_state st;
	struct ctrl left, right;	/* right is the AI in both modes */
	struct agent *agent;		/* the network on the right (and left with self) */
	struct agent_opts agent_opts;
	struct term_hold hold;
	char left_name[CTRL_NAME_MAX];
	char right_name[CTRL_NAME_MAX];
	char version[32];		/* the AI's model version, as shown */

	/* Recording: one session per run; each round is written in one short
	 * transaction at its end (rec.h), so the save stays free for other
	 * processes during play. */
	struct store *store;
	int64_t session_id;
	struct rec rec;
	int32_t round_number;		/* rounds begun in this session */
	char error[STORE_MSG_MAX];	/* a failure that ends the run */
	char notice[STORE_MSG_MAX + 64];	/* a dropped round, shown on the HUD */
	int64_t notice_until_ns;

	/* Loop state. */
	enum ui_screen screen;
	bool paused, help, too_small, quit;
	int stop_sig;
	int64_t last_ns;		/* clock at the last advance */
	double acc_steps;		/* steps owed to the clock */
	int64_t between_until_ns;	/* BETWEEN ends no earlier than this */
	double speed;

	/* Panel data. */
	struct ui_version versions[UI_HISTORY_MAX];
	size_t n_versions;
	double return_rate[UI_ROUNDS_MAX];	/* the AI's, per round, NaN without chances */
	size_t n_rounds;
	double train_progress;		/* 0..1 of the current training run */
	double train_ms;		/* fit time so far in this run */
	int64_t drawn_ns;		/* last redraw during training */
	char train_line[256];		/* what training is doing or did */
	char train_short[64];		/* the same for a narrow panel */
};

static void ui_draw(struct ui_app *a);
static void ui_read_input(struct ui_app *a, int64_t now_ns);
static void ui_on_epoch(void *user, const struct train_epoch *e);

/* ---- options ------------------------------------------------------------ */

static void ui_play_help(void)
{
	puts("Usage: ttypong [play] [OPTIONS]\n"
	     "Play Pong against the learning AI: you are on the left, the AI on the\n"
	     "right. Every frame goes into the save and the AI trains between rounds.\n"
	     "A match ends at 11 points.\n"
	     "\n"
	     "Keys: W/S or Up/Down move, P or Space pause, ? or H help, Q or Esc quit.\n"
	     "\n"
	     "  -s, --seed S    seed of the serves (default: from the clock)\n"
	     "      --points N  points that win a match, 1 to 99 (default 11)\n"
	     "      --model ID  model version to start from (default: the newest\n"
	     "                  promoted one, else fresh weights)\n"
	     "      --ascii     draw with ASCII only, even in a UTF-8 locale\n"
	     "      --db PATH   the save to use");
	fputs(cli_net_options_help, stdout);
	puts("  -h, --help      show this help\n"
	     "\n"
	     "Needs a terminal of at least 40x15 on stdin and stdout. NO_COLOR set to a\n"
	     "non-empty value turns colours off.");
}

static void ui_watch_help(void)
{
	puts("Usage: ttypong watch [OPTIONS]\n"
	     "Watch the learning AI (right) play the tracker or itself (left). Every\n"
	     "frame goes into the save and the AI trains between rounds.\n"
	     "\n"
	     "Keys: + and - change the speed, P or Space pause, ? or H help, Q or Esc quit.\n"
	     "\n"
	     "      --opponent KIND  tracker or self (default tracker)\n"
	     "      --speed X        game seconds per real second, 1 to 1000, or max\n"
	     "                       for as fast as the machine goes (default 1)\n"
	     "  -s, --seed S         seed of the serves and the tracker (default: from the clock)\n"
	     "      --points N       points that win a match, 1 to 99 (default 11)\n"
	     "      --model ID       model version to start from (default: the newest\n"
	     "                       promoted one, else fresh weights)\n"
	     "      --ascii          draw with ASCII only, even in a UTF-8 locale\n"
	     "      --db PATH        the save to use");
	fputs(cli_net_options_help, stdout);
	puts("  -h, --help           show this help");
}

static uint64_t ui_clock_seed(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec) ^ ((uint64_t)getpid() << 32);
}

/* Parses argv into o. Returns -1 to go on, or the exit status to return
 * (after --help or a usage error, already reported). */
static int ui_parse(int argc, char **argv, struct ui_opts *o)
{
	enum { OPT_POINTS = 256, OPT_ASCII, OPT_DB, OPT_OPPONENT, OPT_SPEED, OPT_MODEL };
	static const struct option options[] = {
		{"seed", required_argument, NULL, 's'},
		{"points", required_argument, NULL, OPT_POINTS},
		{"ascii", no_argument, NULL, OPT_ASCII},
		{"db", required_argument, NULL, OPT_DB},
		{"opponent", required_argument, NULL, OPT_OPPONENT},
		{"speed", required_argument, NULL, OPT_SPEED},
		{"model", required_argument, NULL, OPT_MODEL},
		CLI_NET_LONG_OPTIONS,
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *cmd = argv[0];
	bool watch = o->mode == UI_MODE_WATCH;
	long value;
	int opt;

	o->seed = ui_clock_seed();
	agent_opts_default(&o->net);
	o->speed = 1.0;
	o->points = 11;
	while ((opt = getopt_long(argc, argv, ":s:h", options, NULL)) != -1) {
		switch (opt) {
		case 's':
			if (cli_parse_seed(cmd, "--seed", optarg, &o->seed))
				return CLI_EXIT_USAGE;
			break;
		case OPT_POINTS:
			if (cli_parse_long(cmd, "--points", optarg, 1, 99, &value))
				return CLI_EXIT_USAGE;
			o->points = (uint32_t)value;
			break;
		case OPT_ASCII:
			o->ascii = true;
			break;
		case OPT_DB:
			o->db = optarg;
			break;
		case OPT_MODEL:
			if (cli_parse_long(cmd, "--model", optarg, 1, LONG_MAX, &value))
				return CLI_EXIT_USAGE;
			o->model_id = value;
			break;
		case CLI_OPT_DROPOUT:
		case CLI_OPT_MC:
		case CLI_OPT_HISTORY:
			if (cli_parse_net_option(cmd, opt, optarg, &o->net))
				return CLI_EXIT_USAGE;
			o->history_given |= opt == CLI_OPT_HISTORY;
			break;
		case OPT_OPPONENT:
			if (!watch)
				return cli_usage_error(cmd, "--opponent is an option of 'watch'");
			if (strcmp(optarg, "self") == 0)
				o->self = true;
			else if (strcmp(optarg, "tracker") != 0)
				return cli_usage_error(cmd, "invalid value '%s' for --opponent: expected tracker or self", optarg);
			break;
		case OPT_SPEED:
			if (!watch)
				return cli_usage_error(cmd, "--speed is an option of 'watch'");
			if (strcmp(optarg, "max") == 0)
				o->speed_max = true;
			else if (cli_parse_double(cmd, "--speed", optarg, 1.0, UI_SPEED_MAX, &o->speed))
				return CLI_EXIT_USAGE;
			break;
		case 'h':
			if (watch)
				ui_watch_help();
			else
				ui_play_help();
			return CLI_EXIT_OK;
		default:
			return cli_bad_option(cmd, opt, argv);
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	return -1;
}

/* ---- the AI side -------------------------------------------------------- */

static void ui_update_version(struct ui_app *a)
{
	int64_t id = agent_model_id(a->agent);

	if (id > 0)
		snprintf(a->version, sizeof a->version, "v%lld", (long long)id);
	else
		snprintf(a->version, sizeof a->version, "fresh");
}

/* Loads the AI (the newest promoted model version, or fresh weights) and sets
 * up the controllers: the human or an opponent on the left, the AI on the
 * right. Returns 0, or -1 with a message in a->error. */
static int ui_setup_players(struct ui_app *a)
{
	struct ctrl_tracker_params p;
	struct rng seeds;
	char msg[256];

	rng_seed(&seeds, a->opts.seed);
	a->agent_opts = a->opts.net;
	a->agent_opts.seed = rng_next(&seeds);
	a->agent_opts.human_side = CORE_LEFT;
	a->agent_opts.on_epoch = ui_on_epoch;
	a->agent_opts.user = a;
	if (agent_open(&a->agent, a->store, &a->cfg, &a->agent_opts, a->opts.model_id, msg,
		       sizeof msg) != AGENT_OK) {
		snprintf(a->error, sizeof a->error, "loading the AI failed: %s", msg);
		return -1;
	}
	/* The screen is not up yet, so warnings go to stderr. */
	cli_warn_agent(a->opts.mode == UI_MODE_PLAY ? "play" : "watch", a->agent, &a->opts.net,
		       a->opts.history_given);
	agent_ctrl_init(a->agent, &a->right, CORE_RIGHT);
	snprintf(a->right_name, sizeof a->right_name, "%s", a->right.name);
	ui_update_version(a);

	ctrl_tracker_params_default(&p);
	if (a->opts.mode == UI_MODE_PLAY) {
		ctrl_human_init(&a->left, CORE_LEFT);
	} else if (a->opts.self) {
		agent_ctrl_init(a->agent, &a->left, CORE_LEFT);
	} else {
		ctrl_tracker_init(&a->left, CORE_LEFT, &p, rng_next(&seeds));
	}
	snprintf(a->left_name, sizeof a->left_name, "%s", a->left.name);
	return 0;
}

/* ---- recording ---------------------------------------------------------- */

static int ui_fail(struct ui_app *a, const char *what)
{
	snprintf(a->error, sizeof a->error, "%s: %s", what, store_errmsg(a->store));
	a->quit = true;
	return -1;
}

static int ui_rec_begin_session(struct ui_app *a)
{
	char config[160];
	struct store_session s = {
		.kind = a->opts.mode == UI_MODE_PLAY ? STORE_SESSION_PLAY : STORE_SESSION_WATCH,
		.seed = a->opts.seed,
		.left_ctrl = a->left_name,
		.right_ctrl = a->right_name,
		.human_side = a->opts.mode == UI_MODE_PLAY ? STORE_SIDE_LEFT : STORE_SIDE_NONE,
		.config_json = config,
	};

	snprintf(config, sizeof config, "{\"points_to_win\":%u,\"ui\":\"%s\"}",
		 a->cfg.points_to_win, a->opts.mode == UI_MODE_PLAY ? "play" : "watch");
	if (store_session_begin(a->store, &s, &a->session_id) != STORE_OK)
		return ui_fail(a, "starting the session failed");
	rec_init(&a->rec, a->store, a->session_id);
	return 0;
}

static void ui_rec_begin_round(struct ui_app *a)
{
	a->round_number++;
	rec_round_begin(&a->rec, a->round_number);
}

/* Shows why round number was not saved. The game goes on: a save shared
 * with another process may stay locked past the busy timeout, and losing
 * one round is better than ending the match. */
static void ui_rec_dropped(struct ui_app *a, int32_t number, enum store_status st)
{
	if (st == STORE_ERR_BUSY)
		snprintf(a->notice, sizeof a->notice,
			 "round %d not saved: another process held the save too long", number);
	else
		snprintf(a->notice, sizeof a->notice, "round %d not saved (%s): %s", number,
			 store_status_name(st), store_errmsg(a->store));
	a->notice_until_ns = term_now_ns() + UI_NOTICE_NS;
}

/* Records the state before a step with the moves chosen from it. */
static void ui_rec_frame(struct ui_app *a, enum core_move left, enum core_move right)
{
	int32_t number = a->rec.number;
	bool open = a->rec.open;

	if (rec_frame(&a->rec, &a->st, left, right) != STORE_OK && open) {
		snprintf(a->notice, sizeof a->notice,
			 "round %d not saved: out of memory for its frames", number);
		a->notice_until_ns = term_now_ns() + UI_NOTICE_NS;
	}
}

/* Writes the round that just ended. A failure drops that round only. */
static void ui_rec_end_round(struct ui_app *a)
{
	int32_t number = a->rec.number;
	bool open = a->rec.open;
	enum store_status st = rec_round_end(&a->rec, a->st.last_result, a->st.returns);

	if (open && st != STORE_OK)
		ui_rec_dropped(a, number, st);
}

/* Ends the run's recording: an unfinished round is rolled back, so the save
 * keeps finished rounds only, and the session gets its end time. */
static void ui_rec_close(struct ui_app *a)
{
	if (!a->store)
		return;
	rec_free(&a->rec);
	if (a->session_id != 0 && store_session_end(a->store, a->session_id) != STORE_OK &&
	    a->error[0] == '\0')
		snprintf(a->error, sizeof a->error, "closing the session failed: %s",
			 store_errmsg(a->store));
}

/* ---- panel data --------------------------------------------------------- */

/* Appends the model versions stored since the last call (ids grow), keeping
 * the newest UI_HISTORY_MAX for the charts. Each read loads a whole model,
 * weights included, so only new ids are read. A failed read leaves the
 * charts as they were, because they are only shown. */
static void ui_load_versions(struct ui_app *a)
{
	int64_t *ids = NULL;
	int64_t last = a->n_versions ? a->versions[a->n_versions - 1].id : 0;
	size_t n = 0, first;

	if (store_model_list(a->store, &ids, &n) != STORE_OK)
		return;
	first = n > UI_HISTORY_MAX ? n - UI_HISTORY_MAX : 0;
	for (size_t i = first; i < n; i++) {
		struct store_model *m = NULL;
		struct store_epoch *ep = NULL;
		size_t n_ep = 0;
		struct ui_version *v;

		if (ids[i] <= last || store_model_get(a->store, ids[i], &m) != STORE_OK)
			continue;
		if (a->n_versions == UI_HISTORY_MAX) {
			memmove(a->versions, a->versions + 1,
				(UI_HISTORY_MAX - 1) * sizeof a->versions[0]);
			a->n_versions--;
		}
		v = &a->versions[a->n_versions++];
		v->id = m->id;
		v->train_loss = m->train_loss;
		v->val_loss = m->val_loss;
		v->val_acc = m->val_acc;
		v->promoted = m->promoted;
		v->train_acc = NAN;
		free(m);
		if (store_epochs_get(a->store, ids[i], &ep, &n_ep) == STORE_OK && n_ep > 0)
			v->train_acc = ep[n_ep - 1].train_acc;
		free(ep);
	}
	free(ids);
}

/* Appends the AI's return rate of the round that just ended: returns over
 * the balls that came to it (its returns, plus the one it missed if the
 * opponent scored). */
static void ui_note_round(struct ui_app *a)
{
	unsigned returns = a->st.returns[CORE_RIGHT];
	unsigned chances = returns + (a->st.last_result == CORE_RESULT_LEFT ? 1 : 0);
	double rate = chances ? (double)returns / chances : NAN;

	if (a->n_rounds == UI_ROUNDS_MAX) {
		memmove(a->return_rate, a->return_rate + 1,
			(UI_ROUNDS_MAX - 1) * sizeof a->return_rate[0]);
		a->n_rounds--;
	}
	a->return_rate[a->n_rounds++] = rate;
}

/* ---- game flow ---------------------------------------------------------- */

static void ui_start_round(struct ui_app *a)
{
	ctrl_round_start(&a->left);
	ctrl_round_start(&a->right);
	a->screen = UI_SCREEN_PLAY;
	a->acc_steps = 0;
	term_hold_clear(&a->hold);
	ui_rec_begin_round(a);
}

/* Shows each epoch as it ends. Training blocks the loop for its budget, so
 * this also reads keys and redraws, at most UI_FPS times a second. */
static void ui_on_epoch(void *user, const struct train_epoch *e)
{
	struct ui_app *a = user;
	int64_t now = term_now_ns();

	a->train_ms += e->duration_ms;
	if (a->agent_opts.train_ms > 0)
		a->train_progress = fmin(1.0, a->train_ms / a->agent_opts.train_ms);
	if (isnan(e->val_loss)) {
		snprintf(a->train_line, sizeof a->train_line,
			 "epoch %d: train loss %.3f acc %.2f (no held-out rounds yet)",
			 e->epoch, e->train_loss, e->train_acc);
		snprintf(a->train_short, sizeof a->train_short, "epoch %d: loss %.3f",
			 e->epoch, e->train_loss);
	} else {
		snprintf(a->train_line, sizeof a->train_line,
			 "epoch %d: train loss %.3f acc %.2f, val loss %.3f acc %.2f",
			 e->epoch, e->train_loss, e->train_acc, e->val_loss, e->val_acc);
		snprintf(a->train_short, sizeof a->train_short, "epoch %d: val loss %.3f",
			 e->epoch, e->val_loss);
	}
	if (now - a->drawn_ns < UI_FRAME_NS)
		return;
	a->drawn_ns = now;
	ui_read_input(a, now);
	ui_draw(a);
}

/* Trains the AI on the rounds in the save and shows the outcome. A failed
 * step is shown, not fatal: the previous network keeps playing. */
static void ui_train(struct ui_app *a)
{
	struct agent_report rep;

	a->train_progress = 0;
	a->train_ms = 0;
	snprintf(a->train_line, sizeof a->train_line, "training on the saved rounds...");
	snprintf(a->train_short, sizeof a->train_short, "training...");
	a->drawn_ns = term_now_ns();
	ui_draw(a);

	agent_train(a->agent, &rep);
	a->train_progress = 1.0;
	if (rep.status == AGENT_OK && isnan(rep.val_loss)) {
		snprintf(a->train_line, sizeof a->train_line,
			 "v%lld plays: %zu round%s, %d epoch%s, no held-out rounds yet",
			 (long long)rep.model_id, rep.rounds, rep.rounds == 1 ? "" : "s",
			 rep.epochs, rep.epochs == 1 ? "" : "s");
		snprintf(a->train_short, sizeof a->train_short, "v%lld plays (%s)",
			 (long long)rep.model_id, rep.promoted ? "promoted" : "not promoted");
	} else if (rep.status == AGENT_OK) {
		snprintf(a->train_line, sizeof a->train_line,
			 "v%lld val loss %.3f acc %.2f (%s), %zu round%s, %d epoch%s",
			 (long long)rep.model_id, rep.val_loss, rep.val_acc,
			 rep.promoted ? "promoted" : "not promoted",
			 rep.rounds, rep.rounds == 1 ? "" : "s", rep.epochs, rep.epochs == 1 ? "" : "s");
		snprintf(a->train_short, sizeof a->train_short, "v%lld val loss %.3f (%s)",
			 (long long)rep.model_id, rep.val_loss,
			 rep.promoted ? "promoted" : "not promoted");
	} else if (rep.status == AGENT_ERR_NO_DATA) {
		snprintf(a->train_line, sizeof a->train_line, "no labelled frames yet: play on");
		snprintf(a->train_short, sizeof a->train_short, "no labelled frames yet");
	} else {
		snprintf(a->train_line, sizeof a->train_line, "training failed (%s): %.200s",
			 agent_status_name(rep.status), rep.note);
		snprintf(a->train_short, sizeof a->train_short, "training failed (%s)",
			 agent_status_name(rep.status));
	}
	ui_update_version(a);
	ui_load_versions(a);
}

/* Called after the step that ended a round or the match. */
static void ui_round_over(struct ui_app *a, int64_t now_ns)
{
	ui_rec_end_round(a);
	ui_note_round(a);
	a->screen = UI_SCREEN_BETWEEN;
	a->train_progress = 0;
	ui_train(a);

	if (a->opts.mode == UI_MODE_WATCH && a->opts.speed_max)
		a->between_until_ns = now_ns;
	else
		a->between_until_ns = term_now_ns() +
			(int64_t)(UI_BETWEEN_MS * 1000000.0 / (a->opts.mode == UI_MODE_WATCH ? a->speed : 1.0));
}

/* Leaves BETWEEN: the next round, or the end of the match. */
static void ui_next_round(struct ui_app *a)
{
	if (a->st.phase == CORE_PHASE_MATCH_OVER) {
		if (a->opts.mode == UI_MODE_PLAY) {
			a->screen = UI_SCREEN_MATCH_OVER;
			return;
		}
		core_new_match(&a->st, &a->cfg);
	} else {
		core_next_round(&a->st, &a->cfg);
	}
	ui_start_round(a);
}

static void ui_rematch(struct ui_app *a)
{
	core_new_match(&a->st, &a->cfg);
	ui_start_round(a);
}

/* Plays one step. Returns true if it ended a round. */
static bool ui_step(struct ui_app *a, int64_t now_ns)
{
	enum core_move ml, mr;
	unsigned ev;

	if (a->opts.mode == UI_MODE_PLAY)
		ctrl_human_set(&a->left, term_hold_move(&a->hold, now_ns / 1000000));
	ml = ctrl_decide(&a->left, &a->st, &a->cfg);
	mr = ctrl_decide(&a->right, &a->st, &a->cfg);
	ui_rec_frame(a, ml, mr);

	ev = core_step(&a->st, &a->cfg, ml, mr);
	if (ev & (CORE_EV_POINT_LEFT | CORE_EV_POINT_RIGHT | CORE_EV_DRAW)) {
		ui_round_over(a, now_ns);
		return true;
	}
	return false;
}

/* Plays the steps the clock owes since the last call, within the frame's
 * time budget. */
static void ui_advance(struct ui_app *a, int64_t now_ns)
{
	int64_t dt = now_ns - a->last_ns;
	int64_t stop_ns = now_ns + UI_STEP_BUDGET_NS;
	bool unlimited = a->opts.mode == UI_MODE_WATCH && a->opts.speed_max;

	a->last_ns = now_ns;
	if (!unlimited) {
		a->acc_steps += (double)dt / UI_STEP_NS * (a->opts.mode == UI_MODE_WATCH ? a->speed : 1.0);
		/* After a stall (suspend, slow terminal) skip time rather than
		 * rush through it. */
		if (a->acc_steps > CORE_STEP_HZ / 4 * a->speed + 1)
			a->acc_steps = 1;
	}

	for (unsigned n = 0; unlimited || a->acc_steps >= 1.0; n++) {
		if ((n & 31) == 31 && term_now_ns() >= stop_ns)
			break;
		if (!unlimited)
			a->acc_steps -= 1.0;
		if (ui_step(a, now_ns))
			break;
	}
	if (!unlimited && a->acc_steps > 1.0 && term_now_ns() >= stop_ns)
		a->acc_steps = 1.0;
}

/* ---- input -------------------------------------------------------------- */

static void ui_set_pause(struct ui_app *a, bool paused)
{
	a->paused = paused;
	term_hold_clear(&a->hold);
}

static void ui_change_speed(struct ui_app *a, double factor)
{
	if (a->opts.mode != UI_MODE_WATCH)
		return;
	/* The steps run 1x, 2x, ... 512x, 1000x, max and back the same way,
	 * so that the top fixed speed is reachable from the keys. */
	if (a->opts.speed_max) {
		if (factor < 1) {
			a->opts.speed_max = false;
			a->speed = UI_SPEED_MAX;
		}
		return;
	}
	if (factor > 1 && a->speed >= UI_SPEED_MAX) {
		a->opts.speed_max = true;
		return;
	}
	a->speed *= factor;
	if (a->speed < 1.0)
		a->speed = 1.0;
	if (a->speed > UI_SPEED_MAX)
		a->speed = UI_SPEED_MAX;
}

static void ui_on_key(struct ui_app *a, wint_t ch, bool fkey, int64_t now_ms)
{
	if (fkey) {
		switch (ch) {
		case KEY_UP:
			term_hold_press(&a->hold, TERM_DIR_UP, now_ms);
			break;
		case KEY_DOWN:
			term_hold_press(&a->hold, TERM_DIR_DOWN, now_ms);
			break;
		default:
			break;	/* KEY_RESIZE: the next frame lays out anew */
		}
		return;
	}

	switch (ch) {
	case 'q': case 'Q': case 27:
		a->quit = true;
		break;
	case '?': case 'h': case 'H':
		a->help = !a->help;
		term_hold_clear(&a->hold);
		break;
	case 'p': case 'P':
		ui_set_pause(a, !a->paused);
		break;
	case ' ': case '\r': case '\n':
		if (a->screen == UI_SCREEN_BETWEEN)
			a->between_until_ns = 0;
		else if (a->screen == UI_SCREEN_MATCH_OVER && ch != ' ')
			ui_rematch(a);
		else if (ch == ' ')
			ui_set_pause(a, !a->paused);
		break;
	case 'r': case 'R': case 'y': case 'Y':
		if (a->screen == UI_SCREEN_MATCH_OVER)
			ui_rematch(a);
		break;
	case 'n': case 'N':
		if (a->screen == UI_SCREEN_MATCH_OVER)
			a->quit = true;
		break;
	case 'w': case 'W': case 'k':
		term_hold_press(&a->hold, TERM_DIR_UP, now_ms);
		break;
	case 's': case 'S': case 'j':
		term_hold_press(&a->hold, TERM_DIR_DOWN, now_ms);
		break;
	case '+': case '=':
		ui_change_speed(a, 2.0);
		break;
	case '-': case '_':
		ui_change_speed(a, 0.5);
		break;
	default:
		break;
	}
}

/* Skips the rest of an escape sequence that curses did not decode (Alt+key,
 * or a CSI or SS3 sequence it has no key for). Curses has already waited
 * TERM_ESC_DELAY_MS for the sequence, so its bytes are buffered. */
static void ui_skip_sequence(wint_t first)
{
	wint_t ch;

	if (first == '[') {
		/* Parameter and intermediate bytes, then one final byte. */
		while (get_wch(&ch) == OK && ch >= 0x20 && ch <= 0x3f)
			;
	} else if (first == 'O') {
		get_wch(&ch);
	}
}

/* Reads every key waiting, so repeats never queue up behind the frame. A
 * lone Esc is a key; Esc followed by more input is a sequence to skip. */
static void ui_read_input(struct ui_app *a, int64_t now_ns)
{
	wint_t ch, next;
	int rc;

	while ((rc = get_wch(&ch)) != ERR) {
		if (rc == OK && ch == 27 && get_wch(&next) != ERR) {
			ui_skip_sequence(next);
			continue;
		}
		ui_on_key(a, ch, rc == KEY_CODE_YES, now_ns / 1000000);
	}
}

/* ---- drawing helpers ---------------------------------------------------- */

static int ui_clamp(int v, int lo, int hi)
{
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return v;
}

static attr_t ui_attr(const struct ui_app *a, enum ui_pair pair, attr_t mono)
{
	if (!a->caps.color)
		return mono;
	return COLOR_PAIR(pair);
}

static void ui_init_colors(const struct ui_app *a)
{
	if (!a->caps.color)
		return;
	init_pair(UI_PAIR_LEFT, COLOR_CYAN, -1);
	init_pair(UI_PAIR_RIGHT, COLOR_MAGENTA, -1);
	init_pair(UI_PAIR_BALL, COLOR_YELLOW, -1);
	init_pair(UI_PAIR_DIM, COLOR_BLUE, -1);
	init_pair(UI_PAIR_SERIES0, COLOR_CYAN, -1);
	init_pair(UI_PAIR_SERIES1, COLOR_YELLOW, -1);
	init_pair(UI_PAIR_GOOD, COLOR_GREEN, -1);
	init_pair(UI_PAIR_WARN, COLOR_RED, -1);
}

static void ui_putw(int y, int x, const wchar_t *s, attr_t attr)
{
	attr_set(attr & ~A_COLOR, (short)PAIR_NUMBER(attr), NULL);
	mvaddwstr(y, x, s);
	attr_set(A_NORMAL, 0, NULL);
}

/* Writes at most maxw characters of ASCII text. */
static void ui_text(int y, int x, int maxw, attr_t attr, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void ui_text(int y, int x, int maxw, attr_t attr, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (maxw <= 0)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	attrset(attr);
	mvaddnstr(y, x, buf, maxw);
	attrset(A_NORMAL);
}

static void ui_text_centre(int y, int x, int w, attr_t attr, const char *s)
{
	int n = (int)strlen(s);

	if (n > w)
		n = w;
	ui_text(y, x + (w - n) / 2, n, attr, "%s", s);
}

static void ui_box(const struct ui_app *a, int y, int x, int h, int w, attr_t attr)
{
	const struct ui_glyphs *g = a->g;

	for (int i = 1; i < w - 1; i++) {
		ui_putw(y, x + i, g->h, attr);
		ui_putw(y + h - 1, x + i, g->h, attr);
	}
	for (int i = 1; i < h - 1; i++) {
		ui_putw(y + i, x, g->v, attr);
		ui_putw(y + i, x + w - 1, g->v, attr);
	}
	ui_putw(y, x, g->tl, attr);
	ui_putw(y, x + w - 1, g->tr, attr);
	ui_putw(y + h - 1, x, g->bl, attr);
	ui_putw(y + h - 1, x + w - 1, g->br, attr);
}

static void ui_clear_rect(int y, int x, int h, int w)
{
	for (int r = 0; r < h; r++)
		mvhline(y + r, x, ' ', w);
}

/* Draws a horizontal bar of w cells filled to frac (0..1), with eighths. */
static void ui_bar(const struct ui_app *a, int y, int x, int w, double frac, attr_t attr)
{
	int eighths;

	if (!(frac >= 0))
		frac = 0;
	if (frac > 1)
		frac = 1;
	eighths = (int)lround(frac * w * 8);
	for (int i = 0; i < w; i++) {
		int left = eighths - i * 8;

		if (left >= 8)
			ui_putw(y, x + i, a->g->eighths[7], attr);
		else if (left > 0 && a->caps.utf8)
			ui_putw(y, x + i, a->g->eighths[left - 1], attr);
		else
			ui_putw(y, x + i, a->g->bar_empty, ui_attr(a, UI_PAIR_DIM, A_DIM));
	}
}

/* ---- charts ------------------------------------------------------------- */

/* Draws a chart of two series at (y, x), w x h cells, the first series in
 * UI_PAIR_SERIES0 and the second in UI_PAIR_SERIES1. */
static void ui_chart(const struct ui_app *a, int y, int x, int w, int h,
		     const double *s0, const double *s1, size_t n, double lo, double hi)
{
	static wchar_t cells[PLOT_MAX_W * PLOT_MAX_H];
	static unsigned char owner[PLOT_MAX_W * PLOT_MAX_H];
	const double *series[PLOT_SERIES] = { s0, s1 };

	if (w > PLOT_MAX_W)
		w = PLOT_MAX_W;
	if (h > PLOT_MAX_H)
		h = PLOT_MAX_H;
	if (plot_render(series, n, lo, hi, w, h, a->caps.utf8, cells, owner) != 0)
		return;
	for (int r = 0; r < h; r++) {
		for (int c = 0; c < w; c++) {
			size_t i = (size_t)r * (size_t)w + (size_t)c;
			wchar_t s[2] = { cells[i], 0 };
			attr_t at = owner[i] == 2 ? ui_attr(a, UI_PAIR_SERIES1, A_BOLD) :
				    ui_attr(a, UI_PAIR_SERIES0, A_NORMAL);

			if (owner[i])
				ui_putw(y + r, x + c, s, at);
		}
	}
}

/* Draws the newest values of v (NaN shown as a gap) as one row of w cells. */
static void ui_sparkline(const struct ui_app *a, int y, int x, int w, const double *v, size_t n)
{
	size_t first = n > (size_t)w ? n - (size_t)w : 0;

	for (size_t i = first; i < n; i++) {
		int level;

		if (isnan(v[i]))
			continue;
		level = ui_clamp((int)lround(v[i] * 7), 0, 7);
		ui_putw(y, x + (int)(i - first), a->g->spark[level],
			ui_attr(a, v[i] >= 0.5 ? UI_PAIR_GOOD : UI_PAIR_WARN, A_NORMAL));
	}
}

/* ---- screen ------------------------------------------------------------- */

/* The widest line of the help; with the box and a margin it fits in
 * UI_MIN_COLS. */
#define UI_HELP_TEXT_W 34

/* Screen layout for a terminal of rows x cols: HUD on row 0, the field's box
 * from row 1 to rows - 2, the probability bars on the last row. */
struct ui_layout {
	int rows, cols;
	int fy, fx, fh, fw;	/* field interior, cells */
	bool side;		/* the panel stays beside the field */
	int py, px, ph, pw;	/* panel box, cells */
};

/* A terminal this wide keeps the training panel beside the field. */
#define UI_SIDE_MIN_COLS 120
#define UI_SIDE_MIN_ROWS 20
#define UI_SIDE_PANEL_W 48

/* Lays out a terminal of rows x cols: the HUD on row 0, the field's box from
 * row 1 to rows - 2 and the probability bars on the last row. A wide
 * terminal keeps the panel on the right of the field's rows. Otherwise the
 * panel covers the middle of the field between rounds. */
static void ui_layout(struct ui_layout *l, int rows, int cols)
{
	l->rows = rows;
	l->cols = cols;
	l->fy = 2;
	l->fx = 1;
	l->fh = rows - 4;
	l->fw = cols - 2;
	l->side = cols >= UI_SIDE_MIN_COLS && rows >= UI_SIDE_MIN_ROWS;
	if (l->side) {
		l->pw = UI_SIDE_PANEL_W;
		l->ph = rows - 2 < 24 ? rows - 2 : 24;
		l->py = 1;
		l->px = cols - l->pw;
		l->fw = cols - l->pw - 3;
		return;
	}
	/* Inside the field's box, so the panel never covers its frame. */
	l->pw = l->fw - 2 < 76 ? l->fw - 2 : 76;
	l->ph = l->fh < 18 ? l->fh : 18;
	l->py = l->fy + (l->fh - l->ph) / 2;
	l->px = l->fx + (l->fw - l->pw) / 2;
}

static int ui_field_col(const struct ui_layout *l, double x)
{
	int c = (int)floor((x + CORE_FIELD_W / 2) / CORE_FIELD_W * l->fw);

	return ui_clamp(c, 0, l->fw - 1);
}

/* Half-row index (two per cell) of y, clamped to the field. */
static int ui_field_half(const struct ui_layout *l, double y)
{
	int h = (int)floor((y + CORE_FIELD_H / 2) / CORE_FIELD_H * 2 * l->fh);

	return ui_clamp(h, 0, 2 * l->fh - 1);
}

static void ui_draw_paddle(const struct ui_app *a, const struct ui_layout *l,
			   enum core_side side, attr_t attr)
{
	double face = side == CORE_LEFT ? -CORE_PADDLE_FACE_X - CORE_PADDLE_W / 2 :
					  CORE_PADDLE_FACE_X + CORE_PADDLE_W / 2;
	double y = a->st.paddle_y[side];
	int col = ui_field_col(l, face);
	int h0 = ui_field_half(l, y - a->cfg.paddle_half_h);
	int h1 = ui_field_half(l, y + a->cfg.paddle_half_h);

	for (int r = h0 / 2; r <= h1 / 2; r++) {
		bool top = 2 * r >= h0 && 2 * r <= h1;
		bool bottom = 2 * r + 1 >= h0 && 2 * r + 1 <= h1;
		const wchar_t *gl = a->g->lower;

		if (top && bottom)
			gl = a->g->full;
		else if (top)
			gl = a->g->upper;

		ui_putw(l->fy + r, l->fx + col, gl, attr);
	}
}

static void ui_draw_field(const struct ui_app *a, const struct ui_layout *l)
{
	attr_t dim = ui_attr(a, UI_PAIR_DIM, A_DIM);
	int centre = l->fw / 2;

	ui_box(a, l->fy - 1, l->fx - 1, l->fh + 2, l->fw + 2, dim);
	for (int r = 0; r < l->fh; r += 1)
		ui_putw(l->fy + r, l->fx + centre, a->g->centre, dim);

	ui_draw_paddle(a, l, CORE_LEFT, ui_attr(a, UI_PAIR_LEFT, A_NORMAL) | A_BOLD);
	ui_draw_paddle(a, l, CORE_RIGHT, ui_attr(a, UI_PAIR_RIGHT, A_NORMAL) | A_BOLD);

	if (a->st.phase == CORE_PHASE_PLAY || a->st.phase == CORE_PHASE_SERVE) {
		int col = ui_field_col(l, a->st.ball.x);
		int half = ui_field_half(l, a->st.ball.y);

		ui_putw(l->fy + half / 2, l->fx + col,
			half % 2 ? a->g->ball_lower : a->g->ball_upper,
			ui_attr(a, UI_PAIR_BALL, A_NORMAL) | A_BOLD);
	}
}

static void ui_draw_hud(const struct ui_app *a, const struct ui_layout *l)
{
	const char *left = a->opts.mode == UI_MODE_PLAY ? "You" : a->left_name;
	unsigned rally = a->st.returns[0] + a->st.returns[1];
	char speed[32] = "";
	int x = 0;

	ui_text(0, x, l->cols, ui_attr(a, UI_PAIR_LEFT, A_NORMAL) | A_BOLD, "%s %u", left,
		a->st.score[CORE_LEFT]);
	x += (int)strlen(left) + 1 + (a->st.score[CORE_LEFT] >= 10 ? 2 : 1);
	ui_text(0, x, l->cols - x, A_NORMAL, " : ");
	x += 3;
	ui_text(0, x, l->cols - x, ui_attr(a, UI_PAIR_RIGHT, A_NORMAL) | A_BOLD, "%u AI",
		a->st.score[CORE_RIGHT]);
	x += (a->st.score[CORE_RIGHT] >= 10 ? 2 : 1) + 3;

	if (a->opts.mode == UI_MODE_WATCH) {
		if (a->opts.speed_max)
			snprintf(speed, sizeof speed, "  speed max");
		else
			snprintf(speed, sizeof speed, "  speed %gx", a->speed);
	}
	/* The long form when it fits, else a short one that keeps the version. */
	unsigned round = a->st.round + (a->screen == UI_SCREEN_PLAY ? 1 : 0);
	char info[128];

	snprintf(info, sizeof info, "  round %u  rally %u  model %s%s", round, rally,
		 a->version, speed);
	if (x + (int)strlen(info) > l->cols)
		snprintf(info, sizeof info, " r%u rally %u %s", round, rally, a->version);
	ui_text(0, x, l->cols - x, A_NORMAL, "%s", info);
	if (l->cols >= 60 && x + (int)strlen(info) + 8 <= l->cols)
		ui_text(0, l->cols - 6, 6, ui_attr(a, UI_PAIR_DIM, A_DIM), "? help");
}

/* The AI's class probabilities as three bars on the last row, while the
 * ball is in play. With MC dropout each percentage is followed by the
 * standard deviation over the passes, in percentage points ("±7", or
 * "+-7" in ASCII): the network's confidence in that probability. */
static void ui_draw_probs(const struct ui_app *a, const struct ui_layout *l)
{
	static const char *const long_names[CORE_MOVE_COUNT] = { "up", "stay", "down" };
	static const char *const short_names[CORE_MOVE_COUNT] = { "U", "S", "D" };
	bool narrow = l->cols < 60;
	const char *const *names = narrow ? short_names : long_names;
	int name_w = narrow ? 2 : 5;
	int y = l->rows - 1;
	int x = 3;
	int bar_w, spread_w;

	if (a->screen != UI_SCREEN_PLAY)
		return;
	if (a->st.phase != CORE_PHASE_PLAY) {
		ui_text(y, 0, l->cols, ui_attr(a, UI_PAIR_DIM, A_DIM), "AI %s %s: serve",
			a->right_name, a->version);
		return;
	}
	if (!a->right.has_probs) {
		ui_text(y, 0, l->cols, ui_attr(a, UI_PAIR_DIM, A_DIM),
			"AI %s: moves %s (no probabilities)", a->right_name,
			long_names[a->right.move]);
		return;
	}

	/* Each of the three parts: name, bar, a space, "100%", with MC dropout
	 * a space and "±100", and a space. */
	spread_w = a->right.has_spread ? (a->caps.utf8 ? 5 : 6) : 0;
	ui_text(y, 0, 3, A_BOLD, "AI");
	bar_w = (l->cols - 3) / 3 - name_w - 6 - spread_w;
	if (bar_w < 1)
		bar_w = 1;
	for (int m = 0; m < CORE_MOVE_COUNT; m++) {
		double p = a->right.probs[m];
		attr_t at = m == (int)a->right.move ? ui_attr(a, UI_PAIR_GOOD, A_BOLD) | A_BOLD :
						      ui_attr(a, UI_PAIR_RIGHT, A_NORMAL);

		ui_text(y, x, name_w, A_NORMAL, "%s", names[m]);
		ui_bar(a, y, x + name_w, bar_w, p, at);
		ui_text(y, x + name_w + bar_w + 1, 4, A_NORMAL, "%3d%%", (int)lround(p * 100));
		if (spread_w) {
			wchar_t sd[8];

			swprintf(sd, sizeof sd / sizeof sd[0], L"%ls%d",
				 a->caps.utf8 ? L"\u00b1" : L"+-",
				 ui_clamp((int)lround(a->right.spread[m] * 100), 0, 100));
			ui_putw(y, x + name_w + bar_w + 6, sd, ui_attr(a, UI_PAIR_DIM, A_DIM));
		}
		x += name_w + bar_w + 6 + spread_w;
	}
}

/* Writes the two charts' titles on row y: each chart is w cells wide, the
 * second starts 2 cells after the first. A title that does not fit drops its
 * range rather than show a cut number. */
static void ui_draw_chart_labels(int y, int x, int w, double loss_lo, double loss_hi)
{
	char loss[64];

	snprintf(loss, sizeof loss, "loss (%.2f to %.2f)", loss_lo, loss_hi);
	if ((int)strlen(loss) > w)
		snprintf(loss, sizeof loss, "loss %.2f-%.2f", loss_lo, loss_hi);
	if ((int)strlen(loss) > w)
		snprintf(loss, sizeof loss, "loss");
	ui_text(y, x, w, A_NORMAL, "%s", loss);
	ui_text(y, x + w + 2, w, A_NORMAL, "%s",
		w >= (int)strlen("accuracy (0-1)") ? "accuracy (0-1)" : "accuracy");
}

/* The training panel, beside the field or over its middle (ui_layout()). */
static void ui_draw_panel(const struct ui_app *a, const struct ui_layout *l)
{
	int w = l->pw, h = l->ph, y = l->py, x = l->px;
	int iw = w - 4, ix = x + 2, row = y + 1;
	int chart_h = h - 7;
	int chart_w = (iw - 2) / 2;
	double tl[UI_HISTORY_MAX], vl[UI_HISTORY_MAX], ta[UI_HISTORY_MAX], va[UI_HISTORY_MAX];
	double loss_lo = INFINITY, loss_hi = -INFINITY;
	size_t n = a->n_versions, first;
	size_t columns = (size_t)(chart_w > 0 ? chart_w : 1) * (a->caps.utf8 ? 2 : 1);

	ui_clear_rect(y, x, h, w);
	ui_box(a, y, x, h, w, A_NORMAL);
	ui_text(y, x + 2, w - 4, A_BOLD, " Training ");

	ui_text(row, ix, iw, A_NORMAL, "%s",
		(int)strlen(a->train_line) <= iw ? a->train_line : a->train_short);
	row++;
	ui_bar(a, row, ix, iw - 5, a->train_progress, ui_attr(a, UI_PAIR_GOOD, A_BOLD));
	ui_text(row, ix + iw - 4, 4, A_NORMAL, "%3d%%", (int)lround(a->train_progress * 100));
	row++;

	/* The charts show the newest versions, one per dot column, so that the
	 * high losses of the first versions scroll out as the AI learns. */
	first = n > columns ? n - columns : 0;
	n -= first;
	for (size_t i = 0; i < n; i++) {
		const struct ui_version *v = &a->versions[first + i];

		tl[i] = v->train_loss;
		vl[i] = v->val_loss;
		ta[i] = v->train_acc;
		va[i] = v->val_acc;
		loss_lo = fmin(loss_lo, fmin(tl[i], vl[i]));
		loss_hi = fmax(loss_hi, fmax(tl[i], vl[i]));
	}
	/* The loss chart spans the measured range, so small changes show. A
	 * single value gets a span of 1 around it that stays at or above 0,
	 * because a cross-entropy loss is never negative. */
	if (!(loss_hi > loss_lo)) {
		loss_lo = isfinite(loss_lo) ? fmax(0.0, loss_lo - 0.5) : 0;
		loss_hi = loss_lo + 1;
	}

	ui_draw_chart_labels(row, ix, chart_w, loss_lo, loss_hi);
	row++;
	if (n == 0) {
		ui_text(row, ix, iw, ui_attr(a, UI_PAIR_DIM, A_DIM), "no model versions in the save yet");
	} else {
		ui_chart(a, row, ix, chart_w, chart_h, tl, vl, n, loss_lo, loss_hi);
		ui_chart(a, row, ix + chart_w + 2, chart_w, chart_h, ta, va, n, 0, 1);
	}
	row += chart_h;
	/* The legend: colours, or in ASCII the point characters. Its keys
	 * sit at the right end and keep a space before the border. */
	int val_x = ix + iw - 6, train_x = val_x - 9;
	char last[32];

	snprintf(last, sizeof last, "last %zu version%s:", n, n == 1 ? "" : "s");
	if ((int)strlen(last) >= train_x - ix)
		snprintf(last, sizeof last, "last %zu:", n);
	ui_text(row, ix, train_x - ix - 1, A_NORMAL, "%s", last);
	ui_text(row, train_x, 8, ui_attr(a, UI_PAIR_SERIES0, A_NORMAL), "%strain",
		a->caps.utf8 ? "" : "* ");
	ui_text(row, val_x, 5, ui_attr(a, UI_PAIR_SERIES1, A_BOLD), "%sval",
		a->caps.utf8 ? "" : "o ");
	row++;

	ui_text(row, ix, 16, A_NORMAL, "AI return rate ");
	ui_sparkline(a, row, ix + 15, iw - 21, a->return_rate, a->n_rounds);
	if (a->n_rounds > 0 && !isnan(a->return_rate[a->n_rounds - 1]))
		ui_text(row, ix + iw - 5, 5, A_NORMAL, "%3d%%",
			(int)lround(a->return_rate[a->n_rounds - 1] * 100));
	row++;

	if (a->screen == UI_SCREEN_MATCH_OVER) {
		char msg[96];
		bool won = a->st.score[CORE_LEFT] > a->st.score[CORE_RIGHT];
		unsigned you = a->st.score[CORE_LEFT], ai = a->st.score[CORE_RIGHT];

		/* Spaces on both sides, as on the other message of this border;
		 * the shorter forms keep the score and the keys whole. */
		snprintf(msg, sizeof msg, " %s %u-%u.  r: rematch   q: quit ",
			 won ? "You win" : "The AI wins", you, ai);
		if ((int)strlen(msg) > w - 4)
			snprintf(msg, sizeof msg, " %s %u-%u. r: rematch, q: quit ",
				 won ? "You win" : "AI wins", you, ai);
		if ((int)strlen(msg) > w - 4)
			snprintf(msg, sizeof msg, " %s %u-%u  r/q ", won ? "Won" : "Lost", you, ai);
		ui_text_centre(y + h - 1, x + 1, w - 2, A_BOLD | A_REVERSE, msg);
	} else if (a->screen == UI_SCREEN_BETWEEN) {
		ui_text_centre(y + h - 1, x + 1, w - 2, ui_attr(a, UI_PAIR_DIM, A_DIM),
			       " space: next round ");
	}
}

static void ui_draw_help(const struct ui_app *a, const struct ui_layout *l)
{
	/* Lines of at most UI_HELP_TEXT_W characters, so that the box fits a
	 * terminal of UI_MIN_COLS x UI_MIN_ROWS. */
	static const char *const play_lines[] = {
		"W, Up     move up",
		"S, Down   move down",
		"P, Space  pause; between rounds",
		"          Space skips the wait",
		"?, H      this help",
		"Q, Esc    quit (drops the round)",
		"",
		"After a match: R, Y or Enter",
		"rematch, N or Q quits.",
		"",
		"You play left, the AI right; it",
		"trains between rounds.",
	};
	static const char *const watch_lines[] = {
		"+ / -     faster / slower",
		"P, Space  pause; between rounds",
		"          Space skips the wait",
		"?, H      this help",
		"Q, Esc    quit (drops the round)",
		"",
		"The AI plays right and trains",
		"between rounds.",
	};
	bool play = a->opts.mode == UI_MODE_PLAY;
	const char *const *lines = play ? play_lines : watch_lines;
	int n = play ? (int)(sizeof play_lines / sizeof *play_lines) :
		       (int)(sizeof watch_lines / sizeof *watch_lines);
	int w = l->cols - 2 < UI_HELP_TEXT_W + 4 ? l->cols - 2 : UI_HELP_TEXT_W + 4;
	int h = n + 2 < l->rows ? n + 2 : l->rows;
	int y = (l->rows - h) / 2, x = (l->cols - w) / 2;

	ui_clear_rect(y, x, h, w);
	ui_box(a, y, x, h, w, A_BOLD);
	ui_text(y, x + 2, w - 4, A_BOLD, " Help ");
	for (int i = 0; i < n && i < h - 2; i++)
		ui_text(y + 1 + i, x + 2, w - 4, A_NORMAL, "%s", lines[i]);
}

static void ui_draw_too_small(int rows, int cols)
{
	char line[64];

	bool narrow = cols < 20;

	/* The narrow form keeps the size needed whole down to 10 columns. */
	snprintf(line, sizeof line, "%dx%d", cols, rows);
	for (int r = 0; r < rows; r++)
		mvhline(r, 0, ' ', cols);
	ui_text_centre(rows / 2 - 1, 0, cols, A_BOLD, narrow ? "Too small" : "Terminal too small:");
	ui_text_centre(rows / 2, 0, cols, A_NORMAL, line);
	snprintf(line, sizeof line, narrow ? "need %dx%d" : "enlarge it to %dx%d", UI_MIN_COLS,
		 UI_MIN_ROWS);
	ui_text_centre(rows / 2 + 1, 0, cols, A_NORMAL, line);
}

static void ui_draw(struct ui_app *a)
{
	struct ui_layout l;
	int rows, cols;

	getmaxyx(stdscr, rows, cols);
	erase();
	a->too_small = rows < UI_MIN_ROWS || cols < UI_MIN_COLS;
	if (a->too_small) {
		ui_draw_too_small(rows, cols);
		refresh();
		return;
	}

	ui_layout(&l, rows, cols);
	ui_draw_hud(a, &l);
	ui_draw_field(a, &l);
	ui_draw_probs(a, &l);
	if (a->notice[0] && term_now_ns() < a->notice_until_ns) {
		mvhline(rows - 1, 0, ' ', cols);
		ui_text(rows - 1, 0, cols, ui_attr(a, UI_PAIR_WARN, A_BOLD) | A_BOLD, "%s",
			a->notice);
	}
	if (l.side || a->screen != UI_SCREEN_PLAY)
		ui_draw_panel(a, &l);
	if (a->paused && !a->help)
		ui_text_centre(l.fy + l.fh / 2, l.fx, l.fw, A_BOLD | A_REVERSE,
			       " PAUSED: p to resume ");
	if (a->help)
		ui_draw_help(a, &l);
	refresh();
}

/* ---- the loop ----------------------------------------------------------- */

/* One frame: input, the game, the screen. */
static void ui_frame(struct ui_app *a, int64_t now_ns)
{
	bool running;

	ui_read_input(a, now_ns);
	running = !a->paused && !a->help && !a->too_small && !a->quit;

	if (running && a->screen == UI_SCREEN_PLAY)
		ui_advance(a, now_ns);
	else
		a->last_ns = now_ns;
	if (running && a->screen == UI_SCREEN_BETWEEN && now_ns >= a->between_until_ns)
		ui_next_round(a);
	if (!a->quit)
		ui_draw(a);
}

static void ui_loop(struct ui_app *a)
{
	int64_t next = term_now_ns();

	a->last_ns = next;
	while (!a->quit) {
		int64_t now;

		a->stop_sig = term_stop_signal();
		if (a->stop_sig)
			break;
		now = term_now_ns();
		ui_frame(a, now);

		next += UI_FRAME_NS;
		if (next < now)
			next = now + UI_FRAME_NS;
		term_sleep_until(next);
	}
}

static int ui_run(struct ui_opts *opts)
{
	struct ui_app *a;
	int status = CLI_EXIT_FAIL;

	if (!term_is_tty()) {
		cli_error("'%s' needs a terminal: stdin and stdout must both be terminals",
			  opts->mode == UI_MODE_PLAY ? "play" : "watch");
		return CLI_EXIT_USAGE;
	}
	a = calloc(1, sizeof *a);
	if (!a) {
		cli_error("out of memory");
		return CLI_EXIT_FAIL;
	}
	a->opts = *opts;
	a->speed = opts->speed;
	core_config_default(&a->cfg);
	a->cfg.points_to_win = opts->points;
	core_init(&a->st, &a->cfg, opts->seed);

	if (cli_open_store(opts->db, &a->store) != CLI_EXIT_OK)
		goto out;
	if (ui_setup_players(a) != 0)
		goto out;
	ui_load_versions(a);

	if (term_open(opts->ascii, &a->caps) != 0) {
		cli_error("cannot start the terminal UI: TERM='%s' is unknown or unusable; "
			  "set TERM to your terminal's type (e.g. xterm-256color)",
			  getenv("TERM") ? getenv("TERM") : "");
		goto out;
	}
	a->g = a->caps.utf8 ? &ui_glyphs_utf8 : &ui_glyphs_ascii;
	ui_init_colors(a);
	if (ui_rec_begin_session(a) != 0)
		goto out;

	ui_start_round(a);
	ui_loop(a);
	status = a->stop_sig ? 128 + a->stop_sig : CLI_EXIT_OK;
out:
	ui_rec_close(a);
	term_close();
	if (a->error[0]) {
		cli_error("%s", a->error);
		status = CLI_EXIT_FAIL;
	}
	agent_close(a->agent);
	if (a->store)
		store_close(a->store);
	free(a);
	return status;
}

int ui_cmd_play(int argc, char **argv)
{
	struct ui_opts o = { .mode = UI_MODE_PLAY };
	int status = ui_parse(argc, argv, &o);

	return status >= 0 ? status : ui_run(&o);
}

int ui_cmd_watch(int argc, char **argv)
{
	struct ui_opts o = { .mode = UI_MODE_WATCH };
	int status = ui_parse(argc, argv, &o);

	return status >= 0 ? status : ui_run(&o);
}
