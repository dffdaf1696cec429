/* Writes the replay fixture of tests/core_test.c: one match between two
 * trackers, seed 20261204, first to 5 points, other rules at their defaults.
 *
 *   make build/release/libttypong.a
 *   cc -std=c11 -Igame -Iai tests/data/core_replay_gen.c \
 *      build/release/libttypong.a -lm -o build/core_replay_gen
 *   build/core_replay_gen tests/data/core_replay.moves tests/data/core_replay.expected
 *
 * The moves file contains one character per step, '0' + 3 * left + right, 72
 * to a line. The expected file holds core_state_format() of the state after
 * the last step. Rerun it only when a physics change is intended. */
#include <stdio.h>
#include <stdlib.h>

#include "sim.h"

#define GEN_SEED 20261204u
#define GEN_POINTS 5
#define GEN_MAX_STEPS 200000

struct gen_moves {
	char codes[GEN_MAX_STEPS];
	size_t count;
};

static int gen_frame(void *user, const struct sim_frame *f)
{
	struct gen_moves *m = user;

	if (m->count == GEN_MAX_STEPS)
		return 1;
	m->codes[m->count++] = (char)('0' + 3 * f->move[CORE_LEFT] + f->move[CORE_RIGHT]);
	return 0;
}

int main(int argc, char **argv)
{
	static struct gen_moves moves;
	struct sim_setup setup;
	struct sim_hooks hooks = { .frame = gen_frame, .user = &moves };
	struct ctrl_tracker_params weak, strong;
	struct ctrl left, right;
	struct core_state s;
	char line[1024];
	FILE *out;

	if (argc != 3) {
		fprintf(stderr, "usage: %s MOVES_FILE EXPECTED_FILE\n", argv[0]);
		return 2;
	}

	/* The left tracker aims worse and the right one reacts faster, so both
	 * score and some rallies last long enough to speed the ball up. */
	ctrl_tracker_params_default(&weak);
	weak.aim_error = 12;
	ctrl_tracker_params_default(&strong);
	strong.reaction_steps = 3;
	ctrl_tracker_init(&left, CORE_LEFT, &weak, 1);
	ctrl_tracker_init(&right, CORE_RIGHT, &strong, 2);

	sim_setup_default(&setup);
	setup.seed = GEN_SEED;
	setup.config.points_to_win = GEN_POINTS;
	setup.rounds = 1000;
	setup.one_match = true;
	if (sim_run(&setup, &left, &right, &hooks, NULL) != 0) {
		fprintf(stderr, "core_replay_gen: match longer than %d steps\n", GEN_MAX_STEPS);
		return 1;
	}

	out = fopen(argv[1], "w");
	if (!out) {
		perror(argv[1]);
		return 1;
	}
	fprintf(out, "# Moves of one match for tests/core_test.c, written by tests/data/core_replay_gen.c.\n");
	fprintf(out, "seed %u\npoints_to_win %d\n", GEN_SEED, GEN_POINTS);
	for (size_t i = 0; i < moves.count; i++)
		fprintf(out, "%c%s", moves.codes[i], (i + 1) % 72 == 0 || i + 1 == moves.count ? "\n" : "");
	fclose(out);

	/* Replay the moves exactly as the test does. */
	core_init(&s, &setup.config, GEN_SEED);
	for (size_t i = 0; i < moves.count; i++) {
		int code = moves.codes[i] - '0';

		if (s.phase == CORE_PHASE_ROUND_OVER)
			core_next_round(&s, &setup.config);
		core_step(&s, &setup.config, (enum core_move)(code / 3), (enum core_move)(code % 3));
	}
	core_state_format(&s, line, sizeof(line));

	out = fopen(argv[2], "w");
	if (!out) {
		perror(argv[2]);
		return 1;
	}
	fprintf(out, "%s\n", line);
	fclose(out);
	return 0;
}
