/* Measures the save's speed: frames recorded per second, one transaction per
 * round of STORE_BENCH_ROUND_FRAMES frames, commits included, and frames
 * loaded per second for training. Prints
 * "store_records_per_s <value> records/s" (frames appended one at a time, as
 * the terminal game does), "store_batch_records_per_s <value> records/s"
 * (a whole round per append, as headless runs may) and
 * "store_load_records_per_s <value> records/s". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

/* 30 s of play at 60 frames per second. */
#define STORE_BENCH_ROUND_FRAMES 1800
#define STORE_BENCH_ROUNDS 200
#define STORE_BENCH_RUNS 3

static double store_bench_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void store_bench_frame(struct store_frame *f, int i)
{
	f->ball_x = (float)sin(i * 0.01) * 80.0f;
	f->ball_y = (float)cos(i * 0.013) * 44.0f;
	f->ball_vx = 70.0f + (float)(i % 13);
	f->ball_vy = -30.0f + (float)(i % 7);
	f->left_y = (float)(i % 80) - 40.0f;
	f->right_y = 40.0f - (float)(i % 80);
	f->move_left = (uint8_t)(i % 3);
	f->move_right = (uint8_t)((i / 3) % 3);
}

static int store_bench_fail(const char *what, const char *msg)
{
	fprintf(stderr, "store_bench: %s: %s\n", what, msg);
	return 1;
}

/* Records STORE_BENCH_ROUNDS rounds into a fresh save at path, appending
 * batch frames per call, and loads them back. Writes both rates in frames
 * per second. */
static int store_bench_run(const char *path, int batch, double *write_per_s,
			   double *load_per_s)
{
	static struct store_frame round_frames[STORE_BENCH_ROUND_FRAMES];
	char msg[STORE_MSG_MAX];
	struct store *s;
	struct store_session session = {
		.kind = STORE_SESSION_SIM, .seed = 1, .left_ctrl = "tracker",
		.right_ctrl = "tracker", .human_side = STORE_SIDE_NONE,
	};
	struct store_round_result result = { STORE_WINNER_LEFT, 3, 2 };
	int64_t session_id, round_id, ids[STORE_BENCH_ROUNDS];
	struct store_frames loaded;
	double start;

	if (store_open(path, NULL, &s, msg, sizeof(msg)) != STORE_OK)
		return store_bench_fail("open", msg);
	if (store_session_begin(s, &session, &session_id) != STORE_OK)
		goto fail;

	start = store_bench_now_s();
	for (int r = 0; r < STORE_BENCH_ROUNDS; r++) {
		if (store_round_begin(s, session_id, r + 1, &round_id) != STORE_OK)
			goto fail;
		ids[r] = round_id;
		for (int i = 0; i < STORE_BENCH_ROUND_FRAMES; i += batch) {
			int n = STORE_BENCH_ROUND_FRAMES - i < batch
					? STORE_BENCH_ROUND_FRAMES - i
					: batch;

			for (int k = 0; k < n; k++)
				store_bench_frame(&round_frames[k], i + k);
			if (store_round_append(s, round_frames, (size_t)n) != STORE_OK)
				goto fail;
		}
		if (store_round_end(s, &result) != STORE_OK)
			goto fail;
	}
	*write_per_s = (double)STORE_BENCH_ROUNDS * STORE_BENCH_ROUND_FRAMES /
		       (store_bench_now_s() - start);

	start = store_bench_now_s();
	if (store_frames_load(s, ids, STORE_BENCH_ROUNDS, &loaded) != STORE_OK)
		goto fail;
	*load_per_s = (double)loaded.n_frames / (store_bench_now_s() - start);
	store_frames_free(&loaded);

	store_close(s);
	return 0;

fail:
	store_bench_fail("recording", store_errmsg(s));
	store_close(s);
	return 1;
}

int main(void)
{
	char dir[] = "/tmp/store_bench.XXXXXX";
	char path[sizeof(dir) + 32];
	double best_write = 0, best_batch = 0, best_load = 0;

	if (mkdtemp(dir) == NULL) {
		perror("store_bench: mkdtemp");
		return 1;
	}

	/* Best of several runs, each on a fresh save, so a busy moment on the
	 * machine does not set the figure. */
	for (int run = 0; run < STORE_BENCH_RUNS; run++) {
		double write_per_s, batch_per_s, load_per_s;

		snprintf(path, sizeof(path), "%s/run%d.db", dir, run);
		if (store_bench_run(path, 1, &write_per_s, &load_per_s) != 0)
			return 1;
		unlink(path);
		if (store_bench_run(path, STORE_BENCH_ROUND_FRAMES, &batch_per_s,
				    &load_per_s) != 0)
			return 1;
		unlink(path);
		if (write_per_s > best_write)
			best_write = write_per_s;
		if (batch_per_s > best_batch)
			best_batch = batch_per_s;
		if (load_per_s > best_load)
			best_load = load_per_s;
	}
	rmdir(dir);

	printf("store_records_per_s %.0f records/s\n", best_write);
	printf("store_batch_records_per_s %.0f records/s\n", best_batch);
	printf("store_load_records_per_s %.0f records/s\n", best_load);
	return 0;
}
