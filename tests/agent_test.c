/* Tests of the learning agent against a real save in a temporary file:
 * the network controller, versions and their metadata, resuming after a
 * restart, determinism, and failed steps that keep the last good model. */
#include <criterion/criterion.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"
#include "core.h"
#include "ctrl.h"
#include "nn.h"
#include "sim.h"
#include "store.h"

#define BATCH 1024

struct recorder {
	struct store *store;
	int64_t session;
	struct store_frame batch[BATCH];
	size_t n;
	bool poison;		/* write infinite paddle heights, as a corrupt save could hold */
};

static int rec_start(void *user, uint32_t round, const struct core_state *s)
{
	struct recorder *r = user;
	int64_t id;

	(void)s;
	cr_assert_eq(store_round_begin(r->store, r->session, (int32_t)round + 1, &id), STORE_OK,
		     "round_begin failed: %s", store_errmsg(r->store));
	return 0;
}

static void rec_flush(struct recorder *r)
{
	if (r->n)
		cr_assert_eq(store_round_append(r->store, r->batch, r->n), STORE_OK,
			     "append failed: %s", store_errmsg(r->store));
	r->n = 0;
}

static int rec_frame(void *user, const struct sim_frame *f)
{
	struct recorder *r = user;
	struct store_frame *sf = &r->batch[r->n++];

	sf->ball_x = (float)f->state->ball.x;
	sf->ball_y = (float)f->state->ball.y;
	sf->ball_vx = (float)f->state->ball.vx;
	sf->ball_vy = (float)f->state->ball.vy;
	sf->left_y = r->poison ? INFINITY : (float)f->state->paddle_y[CORE_LEFT];
	sf->right_y = r->poison ? -INFINITY : (float)f->state->paddle_y[CORE_RIGHT];
	sf->move_left = (uint8_t)f->move[CORE_LEFT];
	sf->move_right = (uint8_t)f->move[CORE_RIGHT];
	if (r->n == BATCH)
		rec_flush(r);
	return 0;
}

static int rec_end(void *user, const struct sim_round *rd)
{
	struct recorder *r = user;
	struct store_round_result res = {
		.winner = rd->result == CORE_RESULT_DRAW ? STORE_WINNER_DRAW :
			  (enum store_winner)rd->result,
	};

	rec_flush(r);
	cr_assert_eq(store_round_end(r->store, &res), STORE_OK, "round_end failed: %s",
		     store_errmsg(r->store));
	return 0;
}

/* Records `rounds` rounds of tracker against tracker from seed. */
static void record_rounds(struct store *s, uint32_t rounds, uint64_t seed, bool poison)
{
	static struct recorder r;
	struct store_session sess = {
		.kind = STORE_SESSION_SIM,
		.seed = seed,
		.left_ctrl = "tracker",
		.right_ctrl = "tracker",
		.human_side = STORE_SIDE_NONE,
	};
	struct sim_setup setup;
	struct ctrl left, right;
	struct ctrl_tracker_params p;
	struct sim_hooks hooks = { rec_start, rec_frame, rec_end, &r };

	memset(&r, 0, sizeof r);
	r.store = s;
	r.poison = poison;
	cr_assert_eq(store_session_begin(s, &sess, &r.session), STORE_OK, "session failed");
	sim_setup_default(&setup);
	setup.seed = seed;
	setup.rounds = rounds;
	ctrl_tracker_params_default(&p);
	ctrl_tracker_init(&left, CORE_LEFT, &p, seed + 1);
	ctrl_tracker_init(&right, CORE_RIGHT, &p, seed + 2);
	cr_assert_eq(sim_run(&setup, &left, &right, &hooks, NULL), 0, "sim_run failed");
}

static char db_path[64];

static struct store *open_db(void)
{
	struct store *s = NULL;
	char msg[STORE_MSG_MAX];

	cr_assert_eq(store_open(db_path, NULL, &s, msg, sizeof msg), STORE_OK, "open failed: %s",
		     msg);
	return s;
}

static void fresh_db(void)
{
	int fd;

	snprintf(db_path, sizeof db_path, "/tmp/ttypong-agent-XXXXXX");
	fd = mkstemp(db_path);
	cr_assert_geq(fd, 0, "mkstemp failed");
	close(fd);
	unlink(db_path);
}

static void remove_db(void)
{
	char p[96];

	unlink(db_path);
	snprintf(p, sizeof p, "%s-wal", db_path);
	unlink(p);
	snprintf(p, sizeof p, "%s-shm", db_path);
	unlink(p);
}

static struct agent_opts epoch_opts(int epochs)
{
	struct agent_opts o;

	agent_opts_default(&o);
	o.train_ms = 0;
	o.epochs = epochs;
	o.seed = 42;
	return o;
}

static struct agent *open_agent(struct store *s, const struct agent_opts *o, int64_t id)
{
	struct core_config cfg;
	struct agent *a = NULL;
	char msg[256];

	core_config_default(&cfg);
	cr_assert_eq(agent_open(&a, s, &cfg, o, id, msg, sizeof msg), AGENT_OK,
		     "agent_open failed: %s", msg);
	return a;
}

TestSuite(agent, .init = fresh_db, .fini = remove_db);

Test(agent, net_ctrl_fills_probs)
{
	struct agent_opts o = epoch_opts(1);
	struct agent *a = open_agent(NULL, &o, 0);
	struct core_config cfg;
	struct core_state st;
	struct ctrl c;
	enum core_move m;
	float sum = 0;

	core_config_default(&cfg);
	core_init(&st, &cfg, 3);
	agent_ctrl_init(a, &c, CORE_RIGHT);
	cr_assert_str_eq(c.ops->kind, "net", "controller kind");
	m = ctrl_decide(&c, &st, &cfg);
	cr_assert(c.has_probs, "the controller must fill probs");
	for (int k = 0; k < CORE_MOVE_COUNT; k++) {
		cr_assert(c.probs[k] >= 0 && c.probs[k] <= 1, "prob %d is %g", k, c.probs[k]);
		sum += c.probs[k];
	}
	cr_assert_float_eq(sum, 1.0f, 1e-5f, "probabilities sum to %g", sum);
	for (int k = 0; k < CORE_MOVE_COUNT; k++)
		cr_assert_geq(c.probs[m], c.probs[k], "the move is not the most likely class");
	cr_assert_eq(agent_model_id(a), 0, "fresh weights have no version id");
	agent_close(a);
}

Test(agent, train_stores_version)
{
	struct store *s = open_db();
	struct agent_opts o = epoch_opts(2);
	struct agent *a;
	struct agent_report rep;
	struct store_model *m = NULL;
	struct store_epoch *ep = NULL;
	size_t n_ep = 0;
	json_t *cfg;

	record_rounds(s, 6, 5, false);
	a = open_agent(s, &o, 0);
	cr_assert_eq(agent_train(a, &rep), AGENT_OK, "train failed: %s", agent_errmsg(a));
	cr_assert_eq(rep.model_id, 1, "first version should be 1, got %lld", (long long)rep.model_id);
	cr_assert_eq(agent_model_id(a), 1, "the new version must play");
	cr_assert_eq(rep.epochs, 2, "two epochs expected, got %d", rep.epochs);
	cr_assert_gt(rep.records, 0, "no training rows");

	cr_assert_eq(store_model_get(s, 1, &m), STORE_OK, "model_get failed");
	cr_assert_eq(m->parent_id, 0, "a fresh start has no parent");
	cr_assert_gt(m->blob_size, 0, "no weights stored");
	cr_assert_eq(m->n_records, (int64_t)rep.records, "records differ");
	cr_assert_eq(m->promoted, rep.promoted, "promotion flag differs");
	cr_assert_str_eq(m->note, rep.note, "note differs");
	cfg = json_loads(m->config_json, 0, NULL);
	cr_assert_not_null(cfg, "config_json is not JSON: %s", m->config_json);
	cr_assert_not_null(json_object_get(cfg, "network"), "config lacks the network");
	cr_assert_not_null(json_object_get(cfg, "training"), "config lacks the training settings");
	json_decref(cfg);

	cr_assert_eq(store_epochs_get(s, 1, &ep, &n_ep), STORE_OK, "epochs_get failed");
	cr_assert_eq(n_ep, 2, "two epochs stored, got %zu", n_ep);

	cr_assert_eq(agent_train(a, &rep), AGENT_OK, "second train failed: %s", agent_errmsg(a));
	cr_assert_eq(rep.parent_id, 1, "the second version's parent is the first");
	free(ep);
	free(m);
	agent_close(a);
	store_close(s);
}

Test(agent, resumes_last_promoted)
{
	struct store *s = open_db();
	struct agent_opts o = epoch_opts(1);
	struct agent *a;
	struct agent_report rep;
	struct store_model *m = NULL;
	struct nn_model *stored = NULL;
	int64_t promoted = 0;

	record_rounds(s, 4, 9, false);
	a = open_agent(s, &o, 0);
	cr_assert_eq(agent_train(a, &rep), AGENT_OK, "train failed: %s", agent_errmsg(a));
	cr_assert_eq(agent_train(a, &rep), AGENT_OK, "train failed: %s", agent_errmsg(a));
	agent_close(a);

	/* Mark version 2 as not promoted, so the restart must pick 1. */
	cr_assert_eq(store_model_set_eval(s, 2, NAN, false, "test"), STORE_OK, "set_eval failed");
	cr_assert_eq(store_model_set_eval(s, 1, NAN, true, NULL), STORE_OK, "set_eval failed");
	store_close(s);

	s = open_db();
	a = open_agent(s, &o, 0);
	cr_assert_eq(store_model_latest_promoted(s, &promoted), STORE_OK, "no promoted version");
	cr_assert_eq(agent_model_id(a), promoted, "restart plays %lld, not the promoted %lld",
		     (long long)agent_model_id(a), (long long)promoted);
	cr_assert_eq(promoted, 1, "version 1 is the promoted one");

	/* The playing network is the stored one: same decision as a network
	 * loaded straight from the blob. */
	cr_assert_eq(store_model_get(s, 1, &m), STORE_OK, "model_get failed");
	cr_assert_eq(nn_load(&stored, m->blob, m->blob_size), NN_OK, "blob does not load");
	{
		struct core_config cfg;
		struct core_state st;
		struct ctrl c;
		float x[CORE_FEATURE_COUNT], y[CORE_MOVE_COUNT];

		core_config_default(&cfg);
		core_init(&st, &cfg, 8);
		agent_ctrl_init(a, &c, CORE_RIGHT);
		ctrl_decide(&c, &st, &cfg);
		core_features(&st, &cfg, CORE_RIGHT, x);
		cr_assert_eq(nn_predict(stored, x, 1, y), NN_OK, "predict failed");
		for (int k = 0; k < CORE_MOVE_COUNT; k++)
			cr_assert_float_eq(c.probs[k], y[k], 0, "prob %d differs after restart", k);
	}

	cr_assert_eq(agent_train(a, &rep), AGENT_OK, "train after restart failed");
	cr_assert_eq(rep.parent_id, 1, "training resumes from the promoted version");
	nn_free(stored);
	free(m);
	agent_close(a);
	store_close(s);
}

Test(agent, open_missing_version)
{
	struct store *s = open_db();
	struct agent_opts o = epoch_opts(1);
	struct core_config cfg;
	struct agent *a = NULL;
	char msg[256];

	core_config_default(&cfg);
	cr_assert_eq(agent_open(&a, s, &cfg, &o, 99, msg, sizeof msg), AGENT_ERR_NOT_FOUND,
		     "a missing version must be reported");
	cr_assert_null(a, "no agent on failure");
	cr_assert(strstr(msg, "99") != NULL, "message names the id: %s", msg);
	store_close(s);
}

Test(agent, no_rounds_no_version)
{
	struct store *s = open_db();
	struct agent_opts o = epoch_opts(1);
	struct agent *a = open_agent(s, &o, 0);
	struct agent_report rep;

	cr_assert_eq(agent_train(a, &rep), AGENT_ERR_NO_DATA, "an empty save has nothing to train");
	cr_assert_eq(rep.model_id, 0, "no version on failure");
	cr_assert_eq(agent_model_id(a), 0, "the fresh network keeps playing");
	agent_close(a);
	store_close(s);
}

Test(agent, failed_step_keeps_model)
{
	struct store_options ro = { .read_only = true };
	struct store *s = open_db();
	struct agent_opts o = epoch_opts(1);
	struct agent *a;
	struct agent_report rep;
	struct core_config cfg;
	struct core_state st;
	struct ctrl c;
	char msg[STORE_MSG_MAX];
	float before[CORE_MOVE_COUNT];
	int64_t *ids = NULL;
	size_t n_ids = 0;

	record_rounds(s, 3, 4, false);
	a = open_agent(s, &o, 0);
	cr_assert_eq(agent_train(a, &rep), AGENT_OK, "train failed: %s", agent_errmsg(a));
	agent_close(a);
	store_close(s);

	/* On a save opened read-only the step trains but cannot store. */
	cr_assert_eq(store_open(db_path, &ro, &s, msg, sizeof msg), STORE_OK,
		     "read-only open failed: %s", msg);
	a = open_agent(s, &o, 0);
	core_config_default(&cfg);
	core_init(&st, &cfg, 8);
	agent_ctrl_init(a, &c, CORE_RIGHT);
	ctrl_decide(&c, &st, &cfg);
	memcpy(before, c.probs, sizeof before);

	cr_assert_eq(agent_train(a, &rep), AGENT_ERR_STORE, "a failed store must fail the step, got %s",
		     agent_status_name(rep.status));
	cr_assert_eq(rep.model_id, 0, "no version on failure");
	cr_assert(strstr(rep.note, "model version 1 keeps playing") != NULL,
		  "the note says what plays: %s", rep.note);
	cr_assert(strstr(rep.note, store_errmsg(s)) != NULL,
		  "the note must hold the whole store message '%s': %s", store_errmsg(s), rep.note);
	cr_assert_eq(agent_model_id(a), 1, "version 1 must keep playing");
	cr_assert_eq(store_model_list(s, &ids, &n_ids), STORE_OK, "model_list failed");
	cr_assert_eq(n_ids, 1, "the failed step stored a version");

	ctrl_decide(&c, &st, &cfg);
	for (int k = 0; k < CORE_MOVE_COUNT; k++)
		cr_assert_float_eq(c.probs[k], before[k], 0, "prob %d changed after a failed step", k);
	free(ids);
	agent_close(a);
	store_close(s);
}

Test(agent, invalid_rounds_skipped)
{
	struct store *s = open_db();
	struct agent_opts o = epoch_opts(1);
	struct agent *a;
	struct agent_report rep;

	record_rounds(s, 3, 4, false);
	a = open_agent(s, &o, 0);
	cr_assert_eq(agent_train(a, &rep), AGENT_OK, "train failed: %s", agent_errmsg(a));
	cr_assert_eq(rep.skipped_rounds, 0, "valid rounds were skipped");
	cr_assert_eq(rep.skipped_round_id, 0, "no skipped round id expected");

	/* Rounds 4 and 5 hold infinite paddle heights, which SQLite keeps
	 * (it would turn a NaN into NULL). The step leaves them out and
	 * trains on the valid rounds. */
	record_rounds(s, 2, 6, true);
	cr_assert_eq(agent_train(a, &rep), AGENT_OK, "the valid rounds must still train: %s",
		     agent_errmsg(a));
	cr_assert_eq(rep.skipped_rounds, 2, "expected 2 skipped rounds, got %zu", rep.skipped_rounds);
	cr_assert(rep.skipped_round_id == 4 || rep.skipped_round_id == 5,
		  "skipped round id %lld is not a poisoned round", (long long)rep.skipped_round_id);
	cr_assert_eq(rep.model_id, 2, "the step must store version 2, got %lld",
		     (long long)rep.model_id);
	cr_assert(isfinite(rep.train_loss), "train loss must be finite: %g", rep.train_loss);
	agent_close(a);
	store_close(s);
}

Test(agent, only_invalid_rounds_no_data)
{
	struct store *s = open_db();
	struct agent_opts o = epoch_opts(1);
	struct agent *a;
	struct agent_report rep;

	record_rounds(s, 2, 6, true);
	a = open_agent(s, &o, 0);
	cr_assert_eq(agent_train(a, &rep), AGENT_ERR_NO_DATA,
		     "only invalid rounds must leave nothing to train on, got %s",
		     agent_status_name(rep.status));
	cr_assert_eq(rep.skipped_rounds, 2, "expected 2 skipped rounds, got %zu", rep.skipped_rounds);
	cr_assert_eq(agent_model_id(a), 0, "the fresh network keeps playing");
	agent_close(a);
	store_close(s);
}

/* Trains two versions on a fresh save and returns the second's blob. */
static void train_twice(int history, unsigned char **blob, size_t *size)
{
	struct store *s;
	struct agent_opts o = epoch_opts(2);
	struct agent *a;
	struct agent_report rep;
	struct store_model *m = NULL;

	o.history = history;
	fresh_db();
	s = open_db();
	record_rounds(s, 5, 13, false);
	a = open_agent(s, &o, 0);
	cr_assert_eq(agent_train(a, &rep), AGENT_OK, "train failed: %s", agent_errmsg(a));
	cr_assert_eq(agent_train(a, &rep), AGENT_OK, "train failed: %s", agent_errmsg(a));
	cr_assert_eq(store_model_get(s, rep.model_id, &m), STORE_OK, "model_get failed");
	*size = m->blob_size;
	*blob = malloc(m->blob_size);
	cr_assert_not_null(*blob, "out of memory");
	memcpy(*blob, m->blob, m->blob_size);
	free(m);
	agent_close(a);
	store_close(s);
	remove_db();
}

Test(agent, same_seed_same_weights)
{
	unsigned char *a, *b;
	size_t na, nb;

	train_twice(1, &a, &na);
	train_twice(1, &b, &nb);
	cr_assert_eq(na, nb, "blob sizes differ");
	cr_assert(memcmp(a, b, na) == 0, "two runs with one seed stored different weights");
	free(a);
	free(b);

	train_twice(4, &a, &na);
	train_twice(4, &b, &nb);
	cr_assert_eq(na, nb, "history 4: blob sizes differ");
	cr_assert(memcmp(a, b, na) == 0, "history 4: two runs with one seed stored different weights");
	free(a);
	free(b);
}

Test(agent, human_teacher_one_side)
{
	struct core_config cfg;
	struct agent_opts o;
	struct store_frame f[40];
	struct train_data d;

	core_config_default(&cfg);
	agent_opts_default(&o);
	memset(f, 0, sizeof f);
	for (int i = 0; i < 40; i++) {
		f[i].ball_vx = 70;
		f[i].move_left = (uint8_t)(i % 3);
		f[i].move_right = 1;
	}
	o.label.teacher = LABEL_TEACHER_HUMAN;
	train_data_init(&d, CORE_FEATURE_COUNT);
	cr_assert_eq(agent_label_round(&cfg, &o, f, 40, 1, NULL, &d), TRAIN_OK, "labelling failed");
	cr_assert_eq(d.n_rows, 40, "only the human side's 40 frames count, got %zu", d.n_rows);
	for (int i = 0; i < 40; i++)
		cr_assert_eq(d.ids[i], i % 3, "row %d copies the left move", i);
	train_data_free(&d);
}

Test(agent, store_failure_keeps_model)
{
	struct store *s = open_db();
	struct store_options ro = { .read_only = true };
	struct agent_opts o = epoch_opts(1);
	struct agent *a;
	struct agent_report rep;
	char msg[STORE_MSG_MAX];

	record_rounds(s, 3, 4, false);
	a = open_agent(s, &o, 0);
	cr_assert_eq(agent_train(a, &rep), AGENT_OK, "train failed: %s", agent_errmsg(a));
	agent_close(a);
	store_close(s);

	/* A save that rejects writes stands in for a full disk or a lock. */
	cr_assert_eq(store_open(db_path, &ro, &s, msg, sizeof msg), STORE_OK, "open failed: %s",
		     msg);
	a = open_agent(s, &o, 0);
	cr_assert_eq(agent_model_id(a), 1, "the restart plays version 1");
	cr_assert_eq(agent_train(a, &rep), AGENT_ERR_STORE, "a failed write must be reported, got %s",
		     agent_status_name(rep.status));
	cr_assert_eq(rep.model_id, 0, "no version on failure");
	cr_assert_eq(agent_model_id(a), 1, "version 1 must keep playing");
	cr_assert(strstr(rep.note, "storing the model version failed") != NULL,
		  "the note says what failed: %s", rep.note);
	agent_close(a);
	store_close(s);
}

/* ---- History: rows of the last K frames --------------------------------- */

Test(agent, history_rows_newest_frames)
{
	enum { N = 7, K = 3 };
	float feats[N][CORE_FEATURE_COUNT], rows[N][K][CORE_FEATURE_COUNT];

	for (int i = 0; i < N; i++)
		for (int f = 0; f < CORE_FEATURE_COUNT; f++)
			feats[i][f] = (float)(i * 10 + f);
	agent_history_rows(&feats[0][0], N, K, &rows[0][0][0]);
	for (int i = 0; i < N; i++) {
		for (int t = 0; t < K; t++) {
			int src = i - (K - 1) + t;

			src = src < 0 ? 0 : src;
			for (int f = 0; f < CORE_FEATURE_COUNT; f++)
				cr_assert_eq(rows[i][t][f], feats[src][f],
					     "row %d frame %d feature %d is %g, expected frame %d's %g",
					     i, t, f, rows[i][t][f], src, feats[src][f]);
		}
	}
	cr_assert_eq(agent_history_of_inputs(6), 1, "6 inputs are one frame");
	cr_assert_eq(agent_history_of_inputs(24), 4, "24 inputs are four frames");
	cr_assert_eq(agent_history_of_inputs(7), 0, "7 inputs are no whole frames");
	cr_assert_eq(agent_history_of_inputs(33 * 6), 0, "33 frames exceed the maximum");
}

Test(agent, history_ctrl_sees_last_frames)
{
	enum { K = 4, STEPS = 50 };
	struct agent_opts o = epoch_opts(1);
	struct agent *a;
	struct core_config cfg;
	struct core_state st;
	struct ctrl c, tracker;
	struct ctrl_tracker_params p;
	float seen[STEPS][CORE_FEATURE_COUNT], row[K][CORE_FEATURE_COUNT], y[CORE_MOVE_COUNT];
	struct nn_model *net = NULL;

	o.history = K;
	a = open_agent(NULL, &o, 0);
	cr_assert_eq(agent_history(a), K, "a fresh network takes the requested history");
	cr_assert_eq(nn_n_inputs(agent_network(a)), K * CORE_FEATURE_COUNT, "input width");
	cr_assert_eq(nn_clone(&net, agent_network(a)), NN_OK, "clone failed");

	core_config_default(&cfg);
	core_init(&st, &cfg, 11);
	ctrl_tracker_params_default(&p);
	ctrl_tracker_init(&tracker, CORE_LEFT, &p, 3);
	agent_ctrl_init(a, &c, CORE_RIGHT);
	for (int round = 0; round < 2; round++) {
		ctrl_round_start(&c);
		for (int i = 0; i < STEPS; i++) {
			enum core_move ml = ctrl_decide(&tracker, &st, &cfg);
			enum core_move mr = ctrl_decide(&c, &st, &cfg);

			core_features(&st, &cfg, CORE_RIGHT, seen[i]);
			for (int t = 0; t < K; t++) {
				int src = i - (K - 1) + t;

				memcpy(row[t], seen[src < 0 ? 0 : src], sizeof row[t]);
			}
			cr_assert_eq(nn_predict(net, &row[0][0], 1, y), NN_OK, "predict failed");
			for (int k = 0; k < CORE_MOVE_COUNT; k++)
				cr_assert_eq(c.probs[k], y[k],
					     "round %d step %d: prob %d is %g, the last %d frames give %g",
					     round, i, k, c.probs[k], K, y[k]);
			cr_assert(mr >= CORE_MOVE_UP && mr <= CORE_MOVE_DOWN, "move %d", mr);
			core_step(&st, &cfg, ml, mr);
		}
	}
	nn_free(net);
	agent_close(a);
}

Test(agent, history_label_rows)
{
	enum { N = 40, K = 3 };
	struct core_config cfg;
	struct agent_opts o;
	struct store_frame f[N];
	struct train_data d, wrong;
	float feats[N][CORE_FEATURE_COUNT], rows[N][K][CORE_FEATURE_COUNT];

	core_config_default(&cfg);
	agent_opts_default(&o);
	o.label.teacher = LABEL_TEACHER_HUMAN;
	o.history = K;
	memset(f, 0, sizeof f);
	for (int i = 0; i < N; i++) {
		struct core_state s;

		f[i].ball_x = (float)(i - 20);
		f[i].ball_y = (float)i / 2;
		f[i].ball_vx = 70;
		f[i].left_y = (float)(i % 9);
		f[i].move_left = (uint8_t)(i % 3);
		memset(&s, 0, sizeof s);
		s.ball.x = f[i].ball_x;
		s.ball.y = f[i].ball_y;
		s.ball.vx = f[i].ball_vx;
		s.paddle_y[CORE_LEFT] = f[i].left_y;
		core_features(&s, &cfg, CORE_LEFT, feats[i]);
	}
	agent_history_rows(&feats[0][0], N, K, &rows[0][0][0]);

	train_data_init(&d, K * CORE_FEATURE_COUNT);
	cr_assert_eq(agent_label_round(&cfg, &o, f, N, 1, NULL, &d), TRAIN_OK, "labelling failed");
	cr_assert_eq(d.n_rows, N, "one row per frame, got %zu", d.n_rows);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(d.ids[i], i % 3, "row %d is labelled from its newest frame", i);
		cr_assert(memcmp(d.x + (size_t)i * K * CORE_FEATURE_COUNT, rows[i], sizeof rows[i]) == 0,
			  "row %d is not the window of frames %d..%d", i, i - K + 1, i);
	}
	train_data_free(&d);

	/* Rows of another width than the history's are rejected. */
	train_data_init(&wrong, CORE_FEATURE_COUNT);
	cr_assert_eq(agent_label_round(&cfg, &o, f, N, 1, NULL, &wrong), TRAIN_ERR_INVALID,
		     "a one-frame data set took rows of three frames");
	train_data_free(&wrong);
}

Test(agent, history_augmented_rows_consistent)
{
	enum { K = 5 };
	struct store *s = open_db();
	struct core_config cfg;
	struct agent_opts o;
	struct store_frames fr = { 0 };
	int64_t *ids = NULL;
	size_t n_ids = 0, n;
	struct train_data d;
	struct rng r;

	record_rounds(s, 1, 21, false);
	cr_assert_eq(store_model_list(s, &ids, &n_ids), STORE_OK, "model_list failed");
	free(ids);
	{
		struct store_round_info *infos = NULL;
		size_t n_infos = 0;
		int64_t id;

		cr_assert_eq(store_rounds_list(s, 0, 0, &infos, &n_infos), STORE_OK, "rounds_list failed");
		cr_assert_eq(n_infos, 1, "one round recorded");
		id = infos[0].id;
		free(infos);
		cr_assert_eq(store_frames_load(s, &id, 1, &fr), STORE_OK, "frames_load failed");
	}
	n = fr.round_start[1] - fr.round_start[0];
	core_config_default(&cfg);
	agent_opts_default(&o);
	o.history = K;
	rng_seed(&r, 5);
	train_data_init(&d, K * CORE_FEATURE_COUNT);
	cr_assert_eq(agent_label_round(&cfg, &o, fr.frames, n, 1, &r, &d), TRAIN_OK, "labelling failed");
	cr_assert_gt(d.n_rows, 2 * n, "no augmented rows");

	/* In every row the frames agree with each other: the own paddle moves
	 * at most one step per frame, and where the ball's velocity is the
	 * same in two frames its position moved by that velocity. */
	for (size_t i = 0; i < d.n_rows; i++) {
		const float *row = d.x + i * K * CORE_FEATURE_COUNT;

		for (int t = 0; t + 1 < K; t++) {
			const float *a = row + t * CORE_FEATURE_COUNT, *b = a + CORE_FEATURE_COUNT;
			double step_x = b[CORE_FEAT_BALL_VX] * cfg.max_speed_per_s / CORE_STEP_HZ /
					(CORE_FIELD_W / 2);
			double moved = b[CORE_FEAT_BALL_X] - a[CORE_FEAT_BALL_X];

			cr_assert_leq(fabs(b[CORE_FEAT_OWN_Y] - a[CORE_FEAT_OWN_Y]),
				      cfg.paddle_speed_per_s / CORE_STEP_HZ / core_paddle_y_max(&cfg) + 1e-5,
				      "row %zu: the own paddle jumps between frames %d and %d", i, t, t + 1);
			if (a[CORE_FEAT_BALL_VX] != b[CORE_FEAT_BALL_VX] || moved == 0)
				continue;
			cr_assert_float_eq(moved, step_x, 1e-4,
					   "row %zu: the ball moved %g between frames %d and %d at a velocity that moves it %g",
					   i, moved, t, t + 1, step_x);
		}
	}
	train_data_free(&d);
	store_frames_free(&fr);
	store_close(s);
}

Test(agent, history_survives_store)
{
	struct store *s = open_db();
	struct agent_opts o = epoch_opts(1);
	struct agent *a;
	struct agent_report rep;
	struct store_model *m = NULL;
	json_t *cfg;

	record_rounds(s, 3, 7, false);
	o.history = 3;
	o.has_dropout = true;
	o.dropout = (struct drop_spec){ DROP_SPATIAL_1D, 0.2f };
	a = open_agent(s, &o, 0);
	cr_assert_eq(agent_train(a, &rep), AGENT_OK, "train failed: %s", agent_errmsg(a));
	agent_close(a);

	cr_assert_eq(store_model_get(s, 1, &m), STORE_OK, "model_get failed");
	cfg = json_loads(m->config_json, 0, NULL);
	cr_assert_eq(json_integer_value(json_object_get(json_object_get(cfg, "training"), "history")), 3,
		     "config lacks the history: %s", m->config_json);
	json_decref(cfg);

	/* A stored version dictates its history, whatever the options say. */
	o = epoch_opts(1);
	a = open_agent(s, &o, 1);
	cr_assert_eq(agent_history(a), 3, "version 1 plays with history %d", agent_history(a));
	cr_assert_eq(agent_train(a, &rep), AGENT_OK, "train after reload failed: %s", agent_errmsg(a));
	agent_close(a);

	/* A config whose history disagrees with the network is rejected. */
	{
		struct store_model bad = *m;
		int64_t id = 0;
		struct core_config cc;
		char msg[256];

		bad.config_json = "{\"training\":{\"history\":2}}";
		bad.note = NULL;
		cr_assert_eq(store_model_put(s, &bad, &id), STORE_OK, "model_put failed: %s",
			     store_errmsg(s));
		core_config_default(&cc);
		cr_assert_eq(agent_open(&a, s, &cc, &o, id, msg, sizeof msg), AGENT_ERR_MODEL,
			     "an inconsistent version was loaded");
		cr_assert(strstr(msg, "history of 2") != NULL, "message: %s", msg);
	}
	free(m);
	store_close(s);
}
