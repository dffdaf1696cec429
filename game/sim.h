/* sim: the headless runner that plays rounds between two controllers.
 *
 * The `sim`, `train` and `eval` commands use it. A run plays setup->rounds
 * rounds from one seed; when a match ends and rounds remain, a new match
 * starts on the same generator. Hooks see every round and every frame, so a
 * recorder can store them; the runner itself does no I/O. */
#ifndef TTYPONG_SIM_H
#define TTYPONG_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "ctrl.h"

struct sim_setup {
	struct core_config config;
	uint64_t seed;			/* seeds the core's serves */
	uint32_t rounds;		/* rounds to play, >= 1 */
	bool one_match;			/* stop early when the first match ends */
};

/* One frame: the state both controllers saw, the moves they chose from it,
 * and the events that core_step() returned for those moves. */
struct sim_frame {
	uint32_t round;			/* index in the run, from 0 */
	uint32_t frame;			/* index in the round, from 0 */
	uint64_t run_frame;		/* index in the run, from 0 */
	const struct core_state *state;	/* before the step */
	enum core_move move[2];		/* indexed by enum core_side */
	unsigned events;		/* enum core_event bits */
};

/* The result of one finished round. */
struct sim_round {
	uint32_t round;			/* index in the run, from 0 */
	enum core_result result;	/* winner's side, or CORE_RESULT_DRAW */
	uint32_t returns[2];		/* returns by each side */
	uint32_t frames;		/* steps the round took, serve wait included */
	uint32_t score[2];		/* match score after the round */
	bool match_over;		/* this round ended a match */
};

/* Callbacks, each optional. A non-zero return stops the run at once and
 * becomes sim_run()'s return value. */
struct sim_hooks {
	int (*round_start)(void *user, uint32_t round, const struct core_state *s);
	int (*frame)(void *user, const struct sim_frame *f);
	int (*round_end)(void *user, const struct sim_round *r);
	void *user;
};

/* Totals of a run. */
struct sim_summary {
	uint32_t rounds;		/* rounds finished */
	uint32_t matches;		/* matches finished */
	uint32_t wins[2];		/* rounds won by each side */
	uint32_t draws;
	uint32_t returns[2];
	uint64_t frames;
};

/* Fills s with the default config, seed 1, 1 round and one_match false. */
void sim_setup_default(struct sim_setup *s);

/* Plays setup->rounds rounds between left (CORE_LEFT) and right (CORE_RIGHT),
 * or fewer when setup->one_match is set and a match ends. Each round starts
 * with ctrl_round_start() on both controllers. setup->config must pass
 * core_config_check() and must limit rallies (rally_max_returns or
 * round_max_steps non-zero) so every round ends. hooks may be NULL. Writes
 * the totals of the finished rounds to out (which may be NULL) and returns 0,
 * or the first non-zero hook return. A round whose round_end hook stopped the
 * run counts as finished; a round stopped by its frame hook does not. */
int sim_run(const struct sim_setup *setup, struct ctrl *left, struct ctrl *right,
	    const struct sim_hooks *hooks, struct sim_summary *out);

#endif
