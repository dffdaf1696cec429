/* rec: batched frame recording, one transaction per round. */
#include "rec.h"

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
	r->n_batch = 0;
}

enum store_status rec_round_begin(struct rec *r, int32_t number)
{
	int64_t round_id;
	enum store_status st;

	r->n_batch = 0;
	st = store_round_begin(r->store, r->session_id, number, &round_id);
	r->open = st == STORE_OK;
	return st;
}

/* Writes the batched frames. On failure rolls the round back. */
static enum store_status rec_flush(struct rec *r)
{
	enum store_status st = STORE_OK;

	if (r->n_batch > 0)
		st = store_round_append(r->store, r->batch, r->n_batch);
	r->n_batch = 0;
	if (st != STORE_OK)
		rec_round_abort(r);
	return st;
}

enum store_status rec_frame(struct rec *r, const struct core_state *s,
			    enum core_move left, enum core_move right)
{
	if (!r->open)
		return STORE_OK;
	rec_frame_of(&r->batch[r->n_batch++], s, left, right);
	if (r->n_batch == REC_BATCH)
		return rec_flush(r);
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
	enum store_status st;

	if (!r->open)
		return STORE_OK;
	st = rec_flush(r);
	if (st != STORE_OK)
		return st;

	/* store_round_end() rolls the round back itself when it fails. */
	r->open = false;
	return store_round_end(r->store, &res);
}

void rec_round_abort(struct rec *r)
{
	if (r->open)
		store_round_abort(r->store);
	r->open = false;
	r->n_batch = 0;
}
