/* rec: frame recording, one transaction per finished round. */
#include "rec.h"

#include <stdlib.h>

/* Frames reserved at first use: about 34 s of play, so most rounds never
 * grow the buffer. */
#define REC_INITIAL_FRAMES 2048

void rec_frame_of(struct store_frame *out, const struct core_state *s,
		  enum core_move left, enum core_move right)
{
	out->ball_x = (float)s->ball.x;
	out->ball_y = (float)s->ball.y;
	out->ball_vx = (float)s->ball.vx;
	out->ball_vy = (float)s->ball.vy;
	out->left_y = (float)s->paddle_y[CORE_LEFT];
	out->right_y = (float)s->paddle_y[CORE_RIGHT];
	out->move_left = (uint8_t)left;
	out->move_right = (uint8_t)right;
}

enum store_winner rec_winner_of(enum core_result result)
{
	switch (result) {
	case CORE_RESULT_LEFT:
		return STORE_WINNER_LEFT;
	case CORE_RESULT_RIGHT:
		return STORE_WINNER_RIGHT;
	case CORE_RESULT_DRAW:
	case CORE_RESULT_NONE:
		break;
	}
	return STORE_WINNER_DRAW;
}

void rec_init(struct rec *r, struct store *store, int64_t session_id)
{
	r->store = store;
	r->session_id = session_id;
	r->open = false;
	r->number = 0;
	r->n_frames = 0;
	r->capacity = 0;
	r->frames = NULL;
}

void rec_free(struct rec *r)
{
	free(r->frames);
	r->frames = NULL;
	r->capacity = 0;
	rec_round_abort(r);
}

void rec_round_begin(struct rec *r, int32_t number)
{
	r->open = true;
	r->number = number;
	r->n_frames = 0;
}

/* Doubles the buffer. Returns false when memory runs out. */
static bool rec_grow(struct rec *r)
{
	size_t capacity = r->capacity ? 2 * r->capacity : REC_INITIAL_FRAMES;
	struct store_frame *frames;

	if (capacity > SIZE_MAX / sizeof *frames)
		return false;
	frames = realloc(r->frames, capacity * sizeof *frames);
	if (!frames)
		return false;
	r->frames = frames;
	r->capacity = capacity;
	return true;
}

enum store_status rec_frame(struct rec *r, const struct core_state *s,
			    enum core_move left, enum core_move right)
{
	if (!r->open)
		return STORE_OK;
	if (r->n_frames == r->capacity && !rec_grow(r)) {
		rec_round_abort(r);
		return STORE_ERR_NOMEM;
	}
	rec_frame_of(&r->frames[r->n_frames++], s, left, right);
	return STORE_OK;
}

enum store_status rec_round_end(struct rec *r, enum core_result result,
				const uint32_t returns[2])
{
	struct store_round_result res = {
		.winner = rec_winner_of(result),
		.returns_left = (int)returns[CORE_LEFT],
		.returns_right = (int)returns[CORE_RIGHT],
	};
	int64_t round_id;
	enum store_status st;

	if (!r->open)
		return STORE_OK;
	r->open = false;

	/* store_round_end() rolls the round back itself when it fails; a
	 * failed append leaves the transaction open for us to roll back. */
	st = store_round_begin(r->store, r->session_id, r->number, &round_id);
	if (st != STORE_OK)
		return st;
	if (r->n_frames > 0)
		st = store_round_append(r->store, r->frames, r->n_frames);
	if (st != STORE_OK) {
		store_round_abort(r->store);
		return st;
	}
	return store_round_end(r->store, &res);
}

void rec_round_abort(struct rec *r)
{
	r->open = false;
	r->n_frames = 0;
}
