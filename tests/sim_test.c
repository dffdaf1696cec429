/* Tests of the headless runner: hooks, totals, match restarts, limits. */
#include <criterion/criterion.h>
#include <string.h>

#include "sim.h"

static void trackers(struct ctrl *left, struct ctrl *right, double aim_error)
{
	struct ctrl_tracker_params p;

	ctrl_tracker_params_default(&p);
	p.aim_error = aim_error;
	ctrl_tracker_init(left, CORE_LEFT, &p, 100);
	ctrl_tracker_init(right, CORE_RIGHT, &p, 200);
}

/* What the hooks saw, checked against the summary afterwards. */
struct record {
	const struct core_config *config;
	uint64_t frames;
	uint64_t next_run_frame;
	uint32_t next_frame;
	uint32_t rounds_started;
	uint32_t rounds_ended;
	uint32_t returns[2];
	uint32_t wins[2];
	uint32_t draws;
	bool have_next;
	struct core_state next;		/* the state after the previous frame */
	bool new_match;			/* the previous round ended a match */
	uint64_t hash;
	int stop_at_run_frame;		/* the frame hook returns 7 there; -1 never */
	int stop_at_round;		/* the round_end hook returns 5 there; -1 never */
};

static int record_round_start(void *user, uint32_t round, const struct core_state *s)
{
	struct record *r = user;

	cr_assert_eq(round, r->rounds_started, "round_start for round %u, expected %u", round, r->rounds_started);
	cr_assert_eq(s->phase, CORE_PHASE_SERVE, "round %u starts in phase %d", round, s->phase);
	if (r->new_match)
		cr_assert_eq(s->score[0] + s->score[1], 0u, "round %u after a match end kept the score", round);
	r->rounds_started++;
	r->next_frame = 0;
	r->have_next = false;
	return 0;
}

static int record_frame(void *user, const struct sim_frame *f)
{
	struct record *r = user;
	struct core_state after = *f->state;
	unsigned events;

	cr_assert_eq(f->round, r->rounds_started - 1, "frame of round %u inside round %u", f->round, r->rounds_started - 1);
	cr_assert_eq(f->frame, r->next_frame, "frame index %u, expected %u", f->frame, r->next_frame);
	cr_assert_eq(f->run_frame, r->next_run_frame, "run frame index %llu, expected %llu",
		     (unsigned long long)f->run_frame, (unsigned long long)r->next_run_frame);
	if (r->have_next)
		cr_assert(core_state_equal(f->state, &r->next), "frame %u: state is not the previous frame's result", f->frame);

	/* The state is from before the step: stepping it reproduces the events. */
	events = core_step(&after, r->config, f->move[CORE_LEFT], f->move[CORE_RIGHT]);
	cr_assert_eq(events, f->events, "frame %u: events 0x%x, stepping the state gives 0x%x", f->frame, f->events, events);
	r->next = after;
	r->have_next = true;

	r->hash = (r->hash ^ (uint64_t)(3 * f->move[0] + f->move[1]) ^ ((uint64_t)f->events << 8)) * 1099511628211ULL;
	r->next_frame++;
	r->next_run_frame++;
	r->frames++;
	if ((int64_t)f->run_frame == r->stop_at_run_frame)
		return 7;
	return 0;
}

static int record_round_end(void *user, const struct sim_round *rd)
{
	struct record *r = user;

	cr_assert_eq(rd->round, r->rounds_ended, "round_end for round %u, expected %u", rd->round, r->rounds_ended);
	cr_assert_eq(rd->frames, r->next_frame, "round %u reports %u frames, hook saw %u", rd->round, rd->frames, r->next_frame);
	cr_assert(rd->result <= CORE_RESULT_DRAW, "round %u result %d", rd->round, rd->result);
	cr_assert(rd->score[0] <= r->config->points_to_win && rd->score[1] <= r->config->points_to_win,
		  "round %u score %u:%u past the match length", rd->round, rd->score[0], rd->score[1]);
	if (rd->result == CORE_RESULT_DRAW)
		r->draws++;
	else
		r->wins[rd->result]++;
	r->returns[0] += rd->returns[0];
	r->returns[1] += rd->returns[1];
	r->new_match = rd->match_over;
	r->rounds_ended++;
	if ((int)rd->round == r->stop_at_round)
		return 5;
	return 0;
}

/* Runs two trackers with every hook recording into r. The frame hook stops
 * the run at run frame stop_frame and the round_end hook at round
 * stop_round; -1 disables either stop. */
static int run_recorded_until(struct sim_setup *setup, struct record *r, struct sim_summary *sum,
			      int stop_frame, int stop_round)
{
	struct sim_hooks hooks = {
		.round_start = record_round_start,
		.frame = record_frame,
		.round_end = record_round_end,
		.user = r,
	};
	struct ctrl left, right;

	trackers(&left, &right, 12);
	memset(r, 0, sizeof(*r));
	r->config = &setup->config;
	r->hash = 1469598103934665603ULL;
	r->stop_at_run_frame = stop_frame;
	r->stop_at_round = stop_round;
	return sim_run(setup, &left, &right, &hooks, sum);
}

static int run_recorded(struct sim_setup *setup, struct record *r, struct sim_summary *sum)
{
	return run_recorded_until(setup, r, sum, -1, -1);
}

Test(sim, hooks_match_summary)
{
	struct sim_setup setup;
	struct record r;
	struct sim_summary sum;

	sim_setup_default(&setup);
	setup.rounds = 30;
	setup.config.points_to_win = 4;
	cr_assert_eq(run_recorded(&setup, &r, &sum), 0, "sim_run failed");

	cr_assert_eq(sum.rounds, 30u, "%u rounds played of 30", sum.rounds);
	cr_assert_eq(r.rounds_started, 30u, "round_start called %u times", r.rounds_started);
	cr_assert_eq(r.rounds_ended, 30u, "round_end called %u times", r.rounds_ended);
	cr_assert_eq(sum.frames, r.frames, "summary has %llu frames, hook saw %llu",
		     (unsigned long long)sum.frames, (unsigned long long)r.frames);
	cr_assert_eq(sum.wins[0] + sum.wins[1] + sum.draws, sum.rounds, "wins and draws do not add up to the rounds");
	cr_assert_eq(sum.wins[0], r.wins[0], "left wins %u, rounds say %u", sum.wins[0], r.wins[0]);
	cr_assert_eq(sum.wins[1], r.wins[1], "right wins %u, rounds say %u", sum.wins[1], r.wins[1]);
	cr_assert_eq(sum.draws, r.draws, "draws %u, rounds say %u", sum.draws, r.draws);
	cr_assert_eq(sum.returns[0], r.returns[0], "left returns %u, rounds say %u", sum.returns[0], r.returns[0]);
	cr_assert_eq(sum.returns[1], r.returns[1], "right returns %u, rounds say %u", sum.returns[1], r.returns[1]);
	cr_assert_geq(sum.matches, 2u, "only %u matches to 4 points in 30 rounds", sum.matches);
}

Test(sim, same_seed_same_run)
{
	struct sim_setup setup;
	struct record a, b, c;
	struct sim_summary sa, sb, sc;

	sim_setup_default(&setup);
	setup.rounds = 10;
	run_recorded(&setup, &a, &sa);
	run_recorded(&setup, &b, &sb);
	setup.seed = 2;
	run_recorded(&setup, &c, &sc);

	cr_assert_eq(a.hash, b.hash, "same seed, different frames");
	cr_assert(memcmp(&sa, &sb, sizeof(sa)) == 0, "same seed, different summaries");
	cr_assert_neq(a.hash, c.hash, "seeds 1 and 2 gave the same frames");
}

Test(sim, frame_hook_stops_run)
{
	struct sim_setup setup;
	struct record r;
	struct sim_summary sum;
	int rc;

	sim_setup_default(&setup);
	setup.rounds = 5;
	rc = run_recorded_until(&setup, &r, &sum, 100, -1);

	cr_assert_eq(rc, 7, "sim_run returned %d, not the hook's 7", rc);
	cr_assert_eq(r.frames, 101u, "hook called %llu times after asking to stop", (unsigned long long)r.frames);
	cr_assert_eq(r.rounds_ended, 0u, "round_end called for a stopped round");
	cr_assert_eq(sum.rounds, 0u, "summary counts %u rounds of an unfinished one", sum.rounds);
}

Test(sim, round_hook_stops_run)
{
	struct sim_setup setup;
	struct record r;
	struct sim_summary sum;
	int rc;

	sim_setup_default(&setup);
	setup.rounds = 10;
	rc = run_recorded_until(&setup, &r, &sum, -1, 2);

	cr_assert_eq(rc, 5, "sim_run returned %d, not the hook's 5", rc);
	cr_assert_eq(r.rounds_started, 3u, "%u rounds started after the stop", r.rounds_started);
	cr_assert_eq(sum.rounds, 3u, "summary counts %u rounds, 3 finished", sum.rounds);
}

Test(sim, one_match_stops_at_match_end)
{
	struct sim_setup setup;
	struct record r;
	struct sim_summary sum;

	sim_setup_default(&setup);
	setup.rounds = 1000;
	setup.one_match = true;
	setup.config.points_to_win = 3;
	cr_assert_eq(run_recorded(&setup, &r, &sum), 0, "sim_run failed");

	cr_assert_eq(sum.matches, 1u, "%u matches in a one-match run", sum.matches);
	cr_assert(sum.wins[0] == 3 || sum.wins[1] == 3, "match ended at %u:%u, not at 3", sum.wins[0], sum.wins[1]);
	cr_assert(r.new_match, "last round did not end the match");
	cr_assert_lt(sum.rounds, 1000u, "one-match run played every round");
}

/* Perfect trackers never miss, so only the step limit ends their rounds. */
Test(sim, rounds_end_by_draw)
{
	struct sim_setup setup;
	struct ctrl left, right;
	struct sim_summary sum;

	sim_setup_default(&setup);
	setup.rounds = 5;
	setup.config.round_max_steps = 600;
	trackers(&left, &right, 0);
	cr_assert_eq(sim_run(&setup, &left, &right, NULL, &sum), 0, "sim_run failed");

	cr_assert_eq(sum.draws, 5u, "%u of 5 rounds drawn between perfect trackers", sum.draws);
	cr_assert_eq(sum.frames, 5u * 600u, "rounds took %llu frames in all, not 5 x 600", (unsigned long long)sum.frames);
	cr_assert_gt(sum.returns[0] + sum.returns[1], 10u, "only %u returns in 5 drawn rounds", sum.returns[0] + sum.returns[1]);
}

Test(sim, draw_by_returns)
{
	struct sim_setup setup;
	struct ctrl left, right;
	struct sim_summary sum;

	sim_setup_default(&setup);
	setup.rounds = 4;
	setup.config.rally_max_returns = 5;
	setup.config.round_max_steps = 0;
	trackers(&left, &right, 0);
	cr_assert_eq(sim_run(&setup, &left, &right, NULL, &sum), 0, "sim_run failed");

	cr_assert_eq(sum.draws, 4u, "%u of 4 rounds drawn", sum.draws);
	cr_assert_eq(sum.returns[0] + sum.returns[1], 20u, "%u returns in 4 rounds limited to 5", sum.returns[0] + sum.returns[1]);
}

static int check_tracker_fresh(void *user, uint32_t round, const struct core_state *s)
{
	struct ctrl *t = user;

	(void)s;
	cr_assert_eq(t->u.tracker.seen_count, 0u, "round %u starts with %u remembered balls", round, t->u.tracker.seen_count);
	cr_assert_not(t->u.tracker.approaching, "round %u starts mid-approach", round);
	return 0;
}

Test(sim, controllers_reset_each_round)
{
	struct sim_setup setup;
	struct ctrl left, right;
	struct sim_summary sum;
	struct sim_hooks hooks = { .round_start = check_tracker_fresh, .user = &left };

	sim_setup_default(&setup);
	setup.rounds = 5;
	trackers(&left, &right, 12);
	cr_assert_eq(sim_run(&setup, &left, &right, &hooks, &sum), 0, "sim_run failed");
	cr_assert_eq(sum.rounds, 5u, "%u rounds of 5", sum.rounds);
}
