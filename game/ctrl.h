/* ctrl: the controllers that choose a paddle's move each step.
 *
 * Every controller is a struct ctrl with an ops table. The kinds defined here
 * are human keys, a scripted tracker and a seeded random player. Other modules
 * add kinds (the network controller) with their own ops and state behind
 * u.impl. Controllers never allocate while deciding: whatever a kind needs per
 * step lives in struct ctrl or in memory its init function set up. */
#ifndef TTYPONG_CTRL_H
#define TTYPONG_CTRL_H

#include <stdbool.h>
#include <stdint.h>

#include "core.h"
#include "rng.h"

#define CTRL_NAME_MAX 32
/* Maximum reaction delay of the tracker, in steps (1 s). */
#define CTRL_TRACKER_MAX_REACTION_STEPS 60

struct ctrl;

struct ctrl_ops {
	const char *kind;	/* "human", "tracker", "random", "net", ... */

	/* Chooses the move for c->side from s. May set c->probs and
	 * c->has_probs, and c->spread and c->has_spread. Must not allocate. */
	enum core_move (*decide)(struct ctrl *c, const struct core_state *s,
				 const struct core_config *cfg);

	/* Forgets what was seen in the previous round; the generator carries
	 * on. May be NULL. */
	void (*round_start)(struct ctrl *c);
};

struct ctrl_tracker_params {
	uint32_t reaction_steps;	/* 8: sees the ball as it was this many steps ago */
	double aim_error;		/* 10: max aim offset, units, drawn per approach */
};

struct ctrl_human {
	enum core_move move;		/* set by the UI from the keys */
};

struct ctrl_tracker {
	struct ctrl_tracker_params params;
	struct rng rng;
	struct core_ball seen[CTRL_TRACKER_MAX_REACTION_STEPS + 1];	/* ring */
	uint32_t seen_head;		/* slot of the newest ball */
	uint32_t seen_count;		/* valid slots, at most reaction_steps + 1 */
	double aim_offset;		/* units, for the current approach */
	bool approaching;		/* the seen ball is coming toward this side */
};

struct ctrl_random {
	struct rng rng;
	uint32_t hold_steps;		/* a drawn move is kept this many steps */
	uint32_t held;			/* steps the current move has been kept */
	enum core_move move;
};

struct ctrl {
	const struct ctrl_ops *ops;
	char name[CTRL_NAME_MAX];	/* shown by the UI; init sets ops->kind */
	enum core_side side;
	enum core_move move;		/* the latest decision */
	bool has_probs;			/* probs holds the latest decision's class probabilities */
	float probs[CORE_MOVE_COUNT];	/* indexed by enum core_move */
	/* With MC dropout, probs holds the mean over the passes and spread the
	 * standard deviation of each class's probability: the network's
	 * uncertainty, for confidence displays. */
	bool has_spread;
	float spread[CORE_MOVE_COUNT];	/* indexed by enum core_move */
	union {
		struct ctrl_human human;
		struct ctrl_tracker tracker;
		struct ctrl_random random;
		void *impl;		/* state of kinds defined in other modules */
	} u;
};

/* Sets up a controller that plays whatever ctrl_human_set() last set; it
 * starts with CORE_MOVE_STAY. */
void ctrl_human_init(struct ctrl *c, enum core_side side);

/* Sets the move a human controller returns until the next call. */
void ctrl_human_set(struct ctrl *c, enum core_move move);

/* Fills p with the tracker defaults listed in struct ctrl_tracker_params. */
void ctrl_tracker_params_default(struct ctrl_tracker_params *p);

/* Sets up the scripted tracker for side. When the ball it sees comes toward
 * it, it heads for the spot where the ball will cross its contact line (wall
 * bounces included) plus a seeded aim offset drawn uniformly from
 * [-aim_error, aim_error] once per approach; otherwise it heads back to the
 * centre. It sees the ball p->reaction_steps steps late, and its own paddle
 * without delay. A ball is missed when the aim offset exceeds the paddle's
 * reach (paddle_half_h + CORE_BALL_R, 9 units by default), so the default
 * aim error of 10 misses about one reachable ball in ten.
 * p->reaction_steps must be <= CTRL_TRACKER_MAX_REACTION_STEPS and
 * p->aim_error >= 0. */
void ctrl_tracker_init(struct ctrl *c, enum core_side side,
		       const struct ctrl_tracker_params *p, uint64_t seed);

/* Sets up a seeded random player: it draws a uniform move and keeps it for
 * hold_steps steps (hold_steps >= 1). */
void ctrl_random_init(struct ctrl *c, enum core_side side, uint32_t hold_steps,
		      uint64_t seed);

/* Asks c for its move in state s, records it in c->move and returns it. A
 * controller must be asked once per step, including serve steps, because the
 * tracker's delay and the random player's hold count steps. */
enum core_move ctrl_decide(struct ctrl *c, const struct core_state *s,
			   const struct core_config *cfg);

/* Tells c that a new round starts. */
void ctrl_round_start(struct ctrl *c);

#endif
