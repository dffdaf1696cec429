/* sim: plays rounds between two controllers without a screen. */
#include "sim.h"

#include <assert.h>
#include <string.h>

void sim_setup_default(struct sim_setup *s)
{
	core_config_default(&s->config);
	s->seed = 1;
	s->rounds = 1;
	s->one_match = false;
}

/* Steps one round to its end, calling the frame hook after each step. */
static int sim_play_frames(struct core_state *s, const struct core_config *cfg,
			   struct ctrl *ctrls[2], const struct sim_hooks *hooks,
			   uint32_t round, uint64_t *run_frame)
{
	int (*frame_hook)(void *, const struct sim_frame *) = hooks ? hooks->frame : NULL;

	while (s->phase == CORE_PHASE_SERVE || s->phase == CORE_PHASE_PLAY) {
		enum core_move left = ctrl_decide(ctrls[CORE_LEFT], s, cfg);
		enum core_move right = ctrl_decide(ctrls[CORE_RIGHT], s, cfg);
		struct core_state before;
		struct sim_frame f;
		int rc;

		if (!frame_hook) {
			core_step(s, cfg, left, right);
			continue;
		}

		before = *s;
		f.round = round;
		f.frame = s->round_steps;
		f.run_frame = (*run_frame)++;
		f.state = &before;
		f.move[CORE_LEFT] = left;
		f.move[CORE_RIGHT] = right;
		f.events = core_step(s, cfg, left, right);
		rc = frame_hook(hooks->user, &f);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* Plays round number round of the run from the serve in s and adds its
 * result to sum. */
static int sim_play_round(struct core_state *s, const struct core_config *cfg,
			  struct ctrl *ctrls[2], const struct sim_hooks *hooks,
			  uint32_t round, struct sim_summary *sum)
{
	struct sim_round r;
	uint64_t run_frame = sum->frames;
	int rc;

	ctrl_round_start(ctrls[CORE_LEFT]);
	ctrl_round_start(ctrls[CORE_RIGHT]);
	if (hooks && hooks->round_start) {
		rc = hooks->round_start(hooks->user, round, s);
		if (rc != 0)
			return rc;
	}

	rc = sim_play_frames(s, cfg, ctrls, hooks, round, &run_frame);
	if (rc != 0)
		return rc;

	r.round = round;
	r.result = s->last_result;
	r.returns[0] = s->returns[0];
	r.returns[1] = s->returns[1];
	r.frames = s->round_steps;
	r.score[0] = s->score[0];
	r.score[1] = s->score[1];
	r.match_over = s->phase == CORE_PHASE_MATCH_OVER;

	sum->rounds++;
	sum->matches += r.match_over;
	if (r.result == CORE_RESULT_DRAW)
		sum->draws++;
	else
		sum->wins[r.result]++;
	sum->returns[0] += r.returns[0];
	sum->returns[1] += r.returns[1];
	sum->frames += r.frames;

	if (hooks && hooks->round_end)
		return hooks->round_end(hooks->user, &r);
	return 0;
}

int sim_run(const struct sim_setup *setup, struct ctrl *left, struct ctrl *right,
	    const struct sim_hooks *hooks, struct sim_summary *out)
{
	const struct core_config *cfg = &setup->config;
	struct ctrl *ctrls[2] = { left, right };
	struct sim_summary sum;
	struct core_state s;
	int rc = 0;

	assert(core_config_check(cfg) == NULL);
	assert(cfg->rally_max_returns != 0 || cfg->round_max_steps != 0);
	assert(setup->rounds >= 1);
	assert(left->side == CORE_LEFT);
	assert(right->side == CORE_RIGHT);

	memset(&sum, 0, sizeof(sum));
	core_init(&s, cfg, setup->seed);
	for (uint32_t round = 0; round < setup->rounds; round++) {
		if (s.phase == CORE_PHASE_MATCH_OVER)
			core_new_match(&s, cfg);
		else if (s.phase == CORE_PHASE_ROUND_OVER)
			core_next_round(&s, cfg);

		rc = sim_play_round(&s, cfg, ctrls, hooks, round, &sum);
		if (rc != 0)
			break;
		if (setup->one_match && s.phase == CORE_PHASE_MATCH_OVER)
			break;
	}

	if (out)
		*out = sum;
	return rc;
}
