/* core_trace: prints a trace of game/core.c for tests/js/web_core.test.mjs,
 * which checks that the browser page's core.js computes the same states.
 *
 *   core_trace SEED STEPS
 *
 * Each line is one step. It lists the step index and the event bits, then
 * the ball's x, y, vx and vy and both paddles' y as the hex bits of the
 * doubles. The scores, the phase and the left player's six features (as
 * float bits) follow. Moves follow a
 * fixed pattern that covers all three moves on both sides; finished rounds and
 * matches restart at once. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static unsigned long long double_bits(double d)
{
	uint64_t u;

	memcpy(&u, &d, sizeof(u));
	return (unsigned long long)u;
}

static unsigned long float_bits(float f)
{
	uint32_t u;

	memcpy(&u, &f, sizeof(u));
	return (unsigned long)u;
}

int main(int argc, char **argv)
{
	struct core_config c;
	struct core_state s;
	long steps;

	if (argc != 3) {
		fputs("usage: core_trace SEED STEPS\n", stderr);
		return 2;
	}
	steps = strtol(argv[2], NULL, 10);
	core_config_default(&c);
	core_init(&s, &c, strtoull(argv[1], NULL, 10));

	for (long i = 0; i < steps; i++) {
		enum core_move left = (enum core_move)((i / 7) % 3);
		enum core_move right = (enum core_move)((i / 11 + i / 5) % 3);
		float f[CORE_FEATURE_COUNT];
		unsigned events;

		if (s.phase == CORE_PHASE_ROUND_OVER)
			core_next_round(&s, &c);
		else if (s.phase == CORE_PHASE_MATCH_OVER)
			core_new_match(&s, &c);
		events = core_step(&s, &c, left, right);
		core_features(&s, &c, CORE_LEFT, f);
		printf("%ld %u %016llx %016llx %016llx %016llx %016llx %016llx %u %u %d", i, events,
		       double_bits(s.ball.x), double_bits(s.ball.y), double_bits(s.ball.vx),
		       double_bits(s.ball.vy), double_bits(s.paddle_y[0]), double_bits(s.paddle_y[1]),
		       (unsigned)s.score[0], (unsigned)s.score[1], (int)s.phase);
		for (int k = 0; k < CORE_FEATURE_COUNT; k++)
			printf(" %08lx", float_bits(f[k]));
		putchar('\n');
	}
	return 0;
}
