/* Measures the learning agent's speed: the time of each between-round
 * training step against its default budget over ten rounds, then headless
 * play of the trained network choosing every move of the right paddle
 * against the tracker, with frames recorded into a save (one transaction
 * per round, as `ttypong train` does) and without, and with the network on
 * both sides. Play rates are best of three runs, in wall time and in the
 * process's CPU time, because a busy machine slows the first but hardly
 * the second. Prints "name value unit" lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "bench_isa.h"
#include "sim.h"
#include "store.h"

#define AGENT_BENCH_ROUNDS 400
#define AGENT_BENCH_RUNS 3
#define AGENT_BENCH_BATCH 4096
#define AGENT_BENCH_TRAIN_ROUNDS 10

struct agent_bench_rec {
	struct store *store;
	int64_t session;
	size_t n;
	struct store_frame batch[AGENT_BENCH_BATCH];
};

static double agent_bench_clock_s(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int agent_bench_start(void *user, uint32_t round, const struct core_state *s)
{
	struct agent_bench_rec *r = user;
	int64_t id;

	(void)s;
	return store_round_begin(r->store, r->session, (int32_t)round + 1, &id) != STORE_OK;
}

static int agent_bench_flush(struct agent_bench_rec *r)
{
	int rc = r->n ? store_round_append(r->store, r->batch, r->n) != STORE_OK : 0;

	r->n = 0;
	return rc;
}

static int agent_bench_frame(void *user, const struct sim_frame *f)
{
	struct agent_bench_rec *r = user;
	struct store_frame *sf = &r->batch[r->n++];

	sf->ball_x = (float)f->state->ball.x;
	sf->ball_y = (float)f->state->ball.y;
	sf->ball_vx = (float)f->state->ball.vx;
	sf->ball_vy = (float)f->state->ball.vy;
	sf->left_y = (float)f->state->paddle_y[CORE_LEFT];
	sf->right_y = (float)f->state->paddle_y[CORE_RIGHT];
	sf->move_left = (uint8_t)f->move[CORE_LEFT];
	sf->move_right = (uint8_t)f->move[CORE_RIGHT];
	return r->n == AGENT_BENCH_BATCH ? agent_bench_flush(r) : 0;
}

static int agent_bench_end(void *user, const struct sim_round *rd)
{
	struct agent_bench_rec *r = user;
	struct store_round_result res = {
		.winner = rd->result == CORE_RESULT_DRAW ? STORE_WINNER_DRAW :
			  (enum store_winner)rd->result,
		.returns_left = (int)rd->returns[CORE_LEFT],
		.returns_right = (int)rd->returns[CORE_RIGHT],
	};

	if (agent_bench_flush(r) != 0)
		return 1;
	return store_round_end(r->store, &res) != STORE_OK;
}

/* Plays AGENT_BENCH_ROUNDS rounds, best of AGENT_BENCH_RUNS, and prints
 * frames per second of wall and CPU time under name. rec may be NULL for
 * no recording. */
static void agent_bench_play(struct agent *a, bool self, struct agent_bench_rec *rec,
			     const char *name)
{
	struct sim_hooks hooks = { agent_bench_start, agent_bench_frame, agent_bench_end, rec };
	struct ctrl_tracker_params p;
	struct sim_setup setup;
	struct sim_summary sum;
	struct ctrl left, right;
	double best = 0, best_cpu = 0;

	sim_setup_default(&setup);
	setup.rounds = name ? AGENT_BENCH_ROUNDS : 1;
	ctrl_tracker_params_default(&p);
	for (int run = 0; run < (name ? AGENT_BENCH_RUNS : 1); run++) {
		double start, start_cpu, rate, rate_cpu;

		agent_ctrl_init(a, &right, CORE_RIGHT);
		if (self)
			agent_ctrl_init(a, &left, CORE_LEFT);
		else
			ctrl_tracker_init(&left, CORE_LEFT, &p, 7 + run);
		setup.seed = (uint64_t)run + 1;

		start = agent_bench_clock_s(CLOCK_MONOTONIC);
		start_cpu = agent_bench_clock_s(CLOCK_PROCESS_CPUTIME_ID);
		if (sim_run(&setup, &left, &right, rec ? &hooks : NULL, &sum) != 0) {
			fprintf(stderr, "agent_bench: recording failed: %s\n", store_errmsg(rec->store));
			exit(1);
		}
		rate = (double)sum.frames / (agent_bench_clock_s(CLOCK_MONOTONIC) - start);
		rate_cpu = (double)sum.frames /
			   (agent_bench_clock_s(CLOCK_PROCESS_CPUTIME_ID) - start_cpu);
		if (rate > best)
			best = rate;
		if (rate_cpu > best_cpu)
			best_cpu = rate_cpu;
	}
	if (name) {
		printf("%s_per_s %.0f frames/s\n", name, best);
		printf("%s_per_cpu_s %.0f frames/s\n", name, best_cpu);
	}
}

/* Trains after each of AGENT_BENCH_TRAIN_ROUNDS recorded rounds with the
 * default budget and prints the longest and the mean step, from the start
 * of loading the rounds to the stored version. */
static void agent_bench_train(struct agent *a, struct agent_bench_rec *rec)
{
	struct agent_opts o;
	double max_ms = 0, sum_ms = 0;

	agent_opts_default(&o);
	for (int i = 0; i < AGENT_BENCH_TRAIN_ROUNDS; i++) {
		struct agent_report rep;

		agent_bench_play(a, false, rec, NULL);
		agent_train(a, &rep);
		if (rep.status != AGENT_OK) {
			fprintf(stderr, "agent_bench: training failed: %s\n", rep.note);
			exit(1);
		}
		sum_ms += rep.total_ms;
		if (rep.total_ms > max_ms)
			max_ms = rep.total_ms;
	}
	printf("agent_train_budget_ms %.0f ms\n", o.train_ms);
	printf("agent_train_step_max_ms %.1f ms\n", max_ms);
	printf("agent_train_step_mean_ms %.1f ms\n", sum_ms / AGENT_BENCH_TRAIN_ROUNDS);
}

int main(void)
{
	static struct agent_bench_rec rec;
	char path[] = "/tmp/ttypong-agent-bench-XXXXXX";
	char msg[STORE_MSG_MAX], side[sizeof path + 8];
	struct store_session sess = {
		.kind = STORE_SESSION_TRAIN,
		.seed = 1,
		.left_ctrl = "tracker",
		.right_ctrl = "net",
		.human_side = STORE_SIDE_NONE,
	};
	struct core_config cfg;
	struct agent_opts o;
	struct agent *a = NULL;
	int fd;

	if (bench_isa_report("agent_bench", "agent") != 0)
		return 2;
	fd = mkstemp(path);
	if (fd < 0) {
		perror("agent_bench: mkstemp");
		return 1;
	}
	close(fd);
	unlink(path);
	if (store_open(path, NULL, &rec.store, msg, sizeof msg) != STORE_OK ||
	    store_session_begin(rec.store, &sess, &rec.session) != STORE_OK) {
		fprintf(stderr, "agent_bench: %s\n", rec.store ? store_errmsg(rec.store) : msg);
		return 1;
	}
	core_config_default(&cfg);
	agent_opts_default(&o);
	if (agent_open(&a, rec.store, &cfg, &o, 0, msg, sizeof msg) != AGENT_OK) {
		fprintf(stderr, "agent_bench: %s\n", msg);
		return 1;
	}

	agent_bench_train(a, &rec);
	agent_bench_play(a, false, NULL, "agent_frames");
	agent_bench_play(a, false, &rec, "agent_recorded_frames");
	agent_bench_play(a, true, NULL, "agent_self_frames");

	agent_close(a);
	store_close(rec.store);
	unlink(path);
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
	return 0;
}
