/* Measures the headless runner's speed: tracker against tracker with the
 * default rules and no frame hook. Prints "sim_frames_per_s <value> frames/s". */
#include <stdio.h>
#include <time.h>

#include "sim.h"

/* Wall-clock seconds from a monotonic clock. */
static double sim_bench_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(void)
{
	struct sim_setup setup;
	struct ctrl_tracker_params params;
	struct ctrl left, right;
	struct sim_summary sum;
	double start, best = 0;

	sim_setup_default(&setup);
	setup.rounds = 2000;
	ctrl_tracker_params_default(&params);

	/* Best of five runs, so a busy moment on the machine does not set it. */
	for (int run = 0; run < 5; run++) {
		double rate;

		ctrl_tracker_init(&left, CORE_LEFT, &params, 11 + run);
		ctrl_tracker_init(&right, CORE_RIGHT, &params, 12 + run);
		setup.seed = (uint64_t)run + 1;

		start = sim_bench_now_s();
		sim_run(&setup, &left, &right, NULL, &sum);
		rate = (double)sum.frames / (sim_bench_now_s() - start);
		if (rate > best)
			best = rate;
	}

	printf("sim_frames_per_s %.0f frames/s\n", best);
	return 0;
}
