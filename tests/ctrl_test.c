/* Tests of the human, tracker and random controllers. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "ctrl.h"
#include "sim.h"

/* A state in play with the ball at (x, y) moving at (vx, vy). */
static void ball_state(struct core_state *s, struct core_config *c,
		       double x, double y, double vx, double vy)
{
	core_config_default(c);
	c->serve_wait_steps = 0;
	core_init(s, c, 1);
	s->phase = CORE_PHASE_PLAY;
	s->ball.x = x;
	s->ball.y = y;
	s->ball.vx = vx;
	s->ball.vy = vy;
	s->ball.speed = sqrt(vx * vx + vy * vy);
}

static void exact_tracker(struct ctrl *t, enum core_side side, uint32_t reaction_steps)
{
	struct ctrl_tracker_params p;

	ctrl_tracker_params_default(&p);
	p.reaction_steps = reaction_steps;
	p.aim_error = 0;
	ctrl_tracker_init(t, side, &p, 1);
}

Test(ctrl, human_plays_set_move)
{
	struct ctrl h;
	struct core_state s;
	struct core_config c;

	ball_state(&s, &c, 0, 0, 60, 0);
	ctrl_human_init(&h, CORE_LEFT);
	cr_assert_str_eq(h.name, "human", "name is '%s'", h.name);
	cr_assert_not(h.has_probs, "human controller claims probabilities");
	cr_assert_eq(ctrl_decide(&h, &s, &c), CORE_MOVE_STAY, "new human controller does not stay");

	ctrl_human_set(&h, CORE_MOVE_UP);
	cr_assert_eq(ctrl_decide(&h, &s, &c), CORE_MOVE_UP, "human controller ignored UP");
	cr_assert_eq(ctrl_decide(&h, &s, &c), CORE_MOVE_UP, "human move did not persist");
	cr_assert_eq(h.move, CORE_MOVE_UP, "ctrl_decide did not record the move");
	ctrl_human_set(&h, CORE_MOVE_DOWN);
	cr_assert_eq(ctrl_decide(&h, &s, &c), CORE_MOVE_DOWN, "human controller ignored DOWN");
}

Test(ctrl, tracker_returns_to_centre)
{
	struct ctrl t;
	struct core_state s;
	struct core_config c;

	exact_tracker(&t, CORE_RIGHT, 0);
	ball_state(&s, &c, 0, 30, -60, 0);	/* going away from the right */

	s.paddle_y[CORE_RIGHT] = 20;
	cr_assert_eq(ctrl_decide(&t, &s, &c), CORE_MOVE_UP, "paddle below centre did not move up");
	s.paddle_y[CORE_RIGHT] = -20;
	cr_assert_eq(ctrl_decide(&t, &s, &c), CORE_MOVE_DOWN, "paddle above centre did not move down");
	s.paddle_y[CORE_RIGHT] = 0.5;
	cr_assert_eq(ctrl_decide(&t, &s, &c), CORE_MOVE_STAY, "paddle within half a step of centre moved");
}

/* With reaction delay k the tracker reacts to a change of the ball's
 * direction exactly k steps late. */
Test(ctrl, tracker_reaction_delay)
{
	const uint32_t delay = 5;
	struct ctrl t;
	struct core_state away, toward;
	struct core_config c;

	exact_tracker(&t, CORE_RIGHT, delay);
	ball_state(&away, &c, 0, 30, -60, 0);
	ball_state(&toward, &c, 0, 30, 60, 0);

	for (int i = 0; i < 10; i++)
		cr_assert_eq(ctrl_decide(&t, &away, &c), CORE_MOVE_STAY, "step %d: moved with the ball going away", i);
	for (uint32_t i = 0; i < delay; i++)
		cr_assert_eq(ctrl_decide(&t, &toward, &c), CORE_MOVE_STAY, "reacted %u steps after the turn, delay %u", i, delay);
	cr_assert_eq(ctrl_decide(&t, &toward, &c), CORE_MOVE_DOWN, "no reaction %u steps after the turn", delay);

	/* After ctrl_round_start() the old balls are gone, so the first state counts at once. */
	ctrl_round_start(&t);
	cr_assert_eq(ctrl_decide(&t, &away, &c), CORE_MOVE_STAY, "after round start: still follows the old ball");
}

/* The ball will bounce off the bottom wall and cross the right contact line
 * at y = -18.5, above the centre, although it now heads downward. */
Test(ctrl, tracker_predicts_wall_bounce)
{
	struct ctrl t;
	struct core_state s;
	struct core_config c;
	double norm = sqrt(1 + 1.5 * 1.5);
	unsigned ev = 0;

	exact_tracker(&t, CORE_RIGHT, 0);
	ball_state(&s, &c, 0, 0, 120 / norm, 1.5 * 120 / norm);
	cr_assert_eq(ctrl_decide(&t, &s, &c), CORE_MOVE_UP, "tracker heads down with the ball, not to the bounce");

	for (int i = 0; i < 600 && s.phase == CORE_PHASE_PLAY && !(ev & CORE_EV_HIT_RIGHT); i++)
		ev |= core_step(&s, &c, CORE_MOVE_STAY, ctrl_decide(&t, &s, &c));
	cr_assert(ev & CORE_EV_WALL, "ball never bounced off a wall");
	cr_assert(ev & CORE_EV_HIT_RIGHT, "exact tracker missed, events 0x%x", ev);
	cr_assert_float_eq(s.paddle_y[CORE_RIGHT], -18.5, 0.75, "paddle at %g, predicted crossing -18.5", s.paddle_y[CORE_RIGHT]);
}

/* Moves of a tracker on the left against a random player on the right,
 * folded into a hash, over one seeded match. */
static uint64_t tracker_game_hash(uint64_t tracker_seed)
{
	struct ctrl_tracker_params p;
	struct ctrl t, r;
	struct core_state s;
	struct core_config c;
	uint64_t hash = 1469598103934665603ULL;

	ctrl_tracker_params_default(&p);
	ctrl_tracker_init(&t, CORE_LEFT, &p, tracker_seed);
	ctrl_random_init(&r, CORE_RIGHT, 6, 9);
	core_config_default(&c);
	c.points_to_win = 5;
	core_init(&s, &c, 4);
	while (s.phase != CORE_PHASE_MATCH_OVER) {
		enum core_move a, b;

		if (s.phase == CORE_PHASE_ROUND_OVER)
			core_next_round(&s, &c);
		a = ctrl_decide(&t, &s, &c);
		b = ctrl_decide(&r, &s, &c);
		hash = (hash ^ (uint64_t)(3 * a + b)) * 1099511628211ULL;
		core_step(&s, &c, a, b);
	}
	return hash;
}

Test(ctrl, tracker_deterministic_from_seed)
{
	uint64_t a = tracker_game_hash(17);
	uint64_t b = tracker_game_hash(17);
	uint64_t other = tracker_game_hash(18);

	cr_assert_eq(a, b, "same seed gave different games");
	cr_assert_neq(a, other, "seeds 17 and 18 gave the same game");
}

/* Each point the random player wins is a ball the tracker missed; every
 * ball that reached the tracker was either returned or missed. */
Test(ctrl, tracker_returns_most_balls_vs_random)
{
	struct sim_setup setup;
	struct ctrl_tracker_params p;
	struct ctrl r, t;
	struct sim_summary sum;
	double returned;

	sim_setup_default(&setup);
	setup.rounds = 300;
	setup.seed = 12;
	ctrl_tracker_params_default(&p);
	ctrl_random_init(&r, CORE_LEFT, 8, 5);
	ctrl_tracker_init(&t, CORE_RIGHT, &p, 6);
	cr_assert_eq(sim_run(&setup, &r, &t, NULL, &sum), 0, "sim_run failed");

	returned = (double)sum.returns[CORE_RIGHT] / (sum.returns[CORE_RIGHT] + sum.wins[CORE_LEFT]);
	cr_assert_gt(returned, 0.8, "tracker returned only %.3f of the balls", returned);
	cr_assert_gt(sum.wins[CORE_RIGHT], 4 * sum.wins[CORE_LEFT], "tracker won %u rounds, random %u",
		     sum.wins[CORE_RIGHT], sum.wins[CORE_LEFT]);
}

/* The default tracker is beatable: against its own kind it loses points. */
Test(ctrl, tracker_misses_sometimes)
{
	struct sim_setup setup;
	struct ctrl_tracker_params p;
	struct ctrl a, b;
	struct sim_summary sum;

	sim_setup_default(&setup);
	setup.rounds = 100;
	ctrl_tracker_params_default(&p);
	ctrl_tracker_init(&a, CORE_LEFT, &p, 1);
	ctrl_tracker_init(&b, CORE_RIGHT, &p, 2);
	cr_assert_eq(sim_run(&setup, &a, &b, NULL, &sum), 0, "sim_run failed");
	cr_assert_gt(sum.wins[CORE_LEFT], 10u, "left tracker won only %u of 100 rounds", sum.wins[CORE_LEFT]);
	cr_assert_gt(sum.wins[CORE_RIGHT], 10u, "right tracker won only %u of 100 rounds", sum.wins[CORE_RIGHT]);
}

Test(ctrl, random_holds_and_is_seeded)
{
	struct ctrl a, b, other;
	struct core_state s;
	struct core_config c;
	int counts[CORE_MOVE_COUNT] = { 0 };
	bool differs = false;
	enum core_move hold_move = CORE_MOVE_STAY;

	ball_state(&s, &c, 0, 0, 60, 0);
	ctrl_random_init(&a, CORE_LEFT, 4, 21);
	ctrl_random_init(&b, CORE_LEFT, 4, 21);
	ctrl_random_init(&other, CORE_LEFT, 4, 22);
	cr_assert_str_eq(a.name, "random", "name is '%s'", a.name);

	for (int i = 0; i < 12000; i++) {
		enum core_move m = ctrl_decide(&a, &s, &c);

		cr_assert_eq(m, ctrl_decide(&b, &s, &c), "step %d: same seed, different move", i);
		if (m != ctrl_decide(&other, &s, &c))
			differs = true;
		if (i % 4 == 0) {
			hold_move = m;
			counts[m]++;
		} else {
			cr_assert_eq(m, hold_move, "step %d: move changed inside a hold", i);
		}
	}
	cr_assert(differs, "seeds 21 and 22 gave the same moves");
	for (int m = 0; m < CORE_MOVE_COUNT; m++)
		cr_assert(counts[m] > 900 && counts[m] < 1100, "move %d drawn %d of 3000 times", m, counts[m]);
}
