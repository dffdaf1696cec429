/* rec: the recorder between the game core and the save. It turns core states
 * into frame records, batches them, and writes one transaction per round, so
 * that sim, train, play and watch record frames the same way.
 *
 * A round is open from rec_round_begin() until rec_round_end() commits it or
 * rec_round_abort() rolls it back. Frames given while no round is open are
 * ignored. After any failure the round is rolled back and closed, so the save
 * keeps finished rounds only. */
#ifndef TTYPONG_REC_H
#define TTYPONG_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "store.h"

/* Frames per store_round_append() call: one multi-row append is much faster
 * than one call per frame. */
#define REC_BATCH 4096

struct rec {
	struct store *store;
	int64_t session_id;
	bool open;			/* a round is open */
	size_t n_batch;			/* frames waiting in batch */
	struct store_frame batch[REC_BATCH];
};

/* Fills out with the frame record of state s, taken before a step, and the
 * moves both sides chose from it. */
void rec_frame_of(struct store_frame *out, const struct core_state *s,
		  enum core_move left, enum core_move right);

/* Returns the store's winner code for a round's result. */
enum store_winner rec_winner_of(enum core_result result);

/* Sets r up to record into session_id of store. No round is open. */
void rec_init(struct rec *r, struct store *store, int64_t session_id);

/* Opens round number (from 1) of the session. Returns the store's status;
 * on failure no round is open and store_errmsg() says why. */
enum store_status rec_round_begin(struct rec *r, int32_t number);

/* Adds one frame to the open round; see rec_frame_of(). Writes a batch when
 * it is full. Returns STORE_OK, also when no round is open, or the status
 * of a failed write, after which the round is rolled back. */
enum store_status rec_frame(struct rec *r, const struct core_state *s,
			    enum core_move left, enum core_move right);

/* Writes the frames still batched, stores the result and commits the round.
 * returns counts each side's returns. Returns STORE_OK, also when no round
 * is open, or the status of the failure, after which the round is rolled
 * back. */
enum store_status rec_round_end(struct rec *r, enum core_result result,
				const uint32_t returns[2]);

/* Rolls back the open round, for a round quit before its end. */
void rec_round_abort(struct rec *r);

#endif
