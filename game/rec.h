/* rec: the recorder between the game core and the save. It turns core states
 * into frame records and writes each finished round in one transaction, so
 * that sim, train, play and watch record frames the same way.
 *
 * A round's frames stay in memory until rec_round_end(), which opens the
 * round's transaction, writes every frame and commits. The save is therefore
 * locked only for that short write, so another process can use the same save
 * between rounds. A crash or a quit loses at most the round in play, and the
 * save keeps finished rounds only. */
#ifndef TTYPONG_REC_H
#define TTYPONG_REC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "store.h"

struct rec {
	struct store *store;
	int64_t session_id;
	bool open;			/* a round is being recorded */
	int32_t number;			/* the open round's number, from 1 */
	size_t n_frames;		/* frames of the open round */
	size_t capacity;		/* frames that fit in frames */
	struct store_frame *frames;	/* owned; reused from round to round */
};

/* Fills out with the frame record of state s, taken before a step, and the
 * moves both sides chose from it. */
void rec_frame_of(struct store_frame *out, const struct core_state *s,
		  enum core_move left, enum core_move right);

/* Returns the store's winner code for a round's result. */
enum store_winner rec_winner_of(enum core_result result);

/* Sets r up to record into session_id of store. No round is open. */
void rec_init(struct rec *r, struct store *store, int64_t session_id);

/* Frees the frame buffer. An open round is dropped. */
void rec_free(struct rec *r);

/* Starts recording round number (from 1) of the session. Nothing is
 * written yet. */
void rec_round_begin(struct rec *r, int32_t number);

/* Adds one frame to the open round; see rec_frame_of(). Returns STORE_OK,
 * also when no round is open, or STORE_ERR_NOMEM, after which the round is
 * dropped. */
enum store_status rec_frame(struct rec *r, const struct core_state *s,
			    enum core_move left, enum core_move right);

/* Writes the open round with its result in one transaction: returns counts
 * each side's returns. Returns STORE_OK, also when no round is open, or the
 * store's status (STORE_ERR_BUSY, STORE_ERR_FULL, ...), after which the
 * round is rolled back and store_errmsg() describes the failure. The round is closed
 * either way. */
enum store_status rec_round_end(struct rec *r, enum core_result result,
				const uint32_t returns[2]);

/* Drops the open round, for a round quit before its end. */
void rec_round_abort(struct rec *r);

#endif
