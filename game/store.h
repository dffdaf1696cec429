/* store: the save, an SQLite database of sessions, rounds, frames, model
 * versions and their per-epoch training metrics.
 *
 * Invariants:
 *  1. The schema version is PRAGMA user_version and the file is marked as a
 *     ttypong save by PRAGMA application_id (STORE_APPLICATION_ID). Opening
 *     migrates older saves forward in one transaction and rejects newer ones
 *     without writing a byte.
 *  2. One write transaction per round: store_round_begin() opens it and
 *     store_round_end() commits it. A round that does not end (quit, crash,
 *     kill) is rolled back, so the rounds table contains finished rounds only and
 *     every stored round has all of its frames.
 *     Other writes commit at once outside a round. Inside an open round they
 *     join its transaction, so they commit or roll back with the round.
 *  3. Frames of a round are numbered 0, 1, 2, ... in the order they are
 *     appended. The store keeps the raw state and both moves, and never
 *     interprets them; the game derives features from them.
 *  4. No function prints or exits. Each returns an enum store_status, and the
 *     handle keeps a one-line message for the last failure (store_errmsg()).
 *
 * The README section "The save" documents the tables, views and units. */
#ifndef TTYPONG_STORE_H
#define TTYPONG_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_SCHEMA_VERSION 1
/* "TTYP" in ASCII, stored in the database header at byte offset 68. */
#define STORE_APPLICATION_ID 0x54545950
#define STORE_BUSY_TIMEOUT_MS 2000
/* Size for message buffers passed to store_open() and store_default_path(). */
#define STORE_MSG_MAX 512

enum store_status {
	STORE_OK = 0,
	STORE_ERR_NOMEM,     /* allocation failed */
	STORE_ERR_NOT_DB,    /* not an SQLite database, or not a regular file */
	STORE_ERR_FOREIGN,   /* an SQLite database of some other program */
	STORE_ERR_NEWER,     /* the save has a newer schema than this build */
	STORE_ERR_READONLY,  /* the file or its directory is not writable */
	STORE_ERR_BUSY,      /* locked by another process past the busy timeout */
	STORE_ERR_FULL,      /* the disk or file system is full */
	STORE_ERR_CORRUPT,   /* SQLite reports the save as malformed */
	STORE_ERR_NOT_FOUND, /* no row with the requested id */
	STORE_ERR_INVALID,   /* an argument out of range (message names it) */
	STORE_ERR_PATH,      /* no usable default path (HOME unset, mkdir failed) */
	STORE_ERR_IO         /* any other SQLite or operating system failure */
};

enum store_session_kind {
	STORE_SESSION_PLAY,  /* a human plays */
	STORE_SESSION_WATCH, /* a human watches two programs play */
	STORE_SESSION_TRAIN, /* headless play to collect frames and train */
	STORE_SESSION_SIM,   /* headless simulation */
	STORE_SESSION_EVAL   /* headless evaluation of a model version */
};

enum store_side {
	STORE_SIDE_NONE = -1,
	STORE_SIDE_LEFT = 0,
	STORE_SIDE_RIGHT = 1
};

enum store_winner {
	STORE_WINNER_LEFT = 0,
	STORE_WINNER_RIGHT = 1,
	STORE_WINNER_DRAW = 2
};

/* Moves are stored as the network's classes. */
enum store_move {
	STORE_MOVE_UP = 0,
	STORE_MOVE_STAY = 1,
	STORE_MOVE_DOWN = 2
};

enum store_model_kind {
	STORE_MODEL_TRAINED = 0,
	STORE_MODEL_IMPORTED = 1
};

/* One frame's raw state, in the game core's field units: positions in
 * units, velocities in units per second. The caller fills it from the core's
 * state; the store keeps the values as given. */
struct store_frame {
	float ball_x;
	float ball_y;
	float ball_vx;
	float ball_vy;
	float left_y;      /* left paddle position */
	float right_y;     /* right paddle position */
	uint8_t move_left;  /* enum store_move of the left paddle this frame */
	uint8_t move_right; /* enum store_move of the right paddle this frame */
};

/* Options of store_open(). With read_only set, the save must exist and have
 * the current schema, and every write fails with STORE_ERR_READONLY. In a
 * directory it cannot write (read-only media) SQLite opens the save as
 * immutable, and a non-empty -wal file beside it is rejected, since reading
 * it would need a write. */
struct store_options {
	int busy_timeout_ms; /* 0 means STORE_BUSY_TIMEOUT_MS */
	bool read_only;      /* queries only, for commands that do not record */
};

struct store_session {
	enum store_session_kind kind;
	uint64_t seed;          /* stored as the int64 with the same bits */
	const char *left_ctrl;  /* controller names, e.g. "human", "tracker" */
	const char *right_ctrl;
	enum store_side human_side;
	const char *config_json; /* may be NULL */
};

struct store_round_result {
	enum store_winner winner;
	int returns_left;  /* times the left paddle returned the ball */
	int returns_right;
};

/* A finished round, as listed for choosing training data. */
struct store_round_info {
	int64_t id;
	int64_t session_id;
	int32_t number;
	int32_t n_frames;
};

/* Frames of several rounds, loaded for training. Round i has frames
 * [round_start[i], round_start[i + 1]) in frame order. */
struct store_frames {
	size_t n_rounds;
	size_t n_frames;
	int64_t *round_ids;        /* n_rounds ids, in the order requested */
	size_t *round_start;       /* n_rounds + 1 offsets into frames */
	struct store_frame *frames;
};

/* A model version. NaN in a double field means "not measured" and is stored
 * as NULL. parent_id 0 means no parent. */
struct store_model {
	int64_t id;          /* assigned by store_model_put() */
	int64_t parent_id;
	int64_t created_ms;  /* Unix time in ms, assigned by store_model_put() */
	enum store_model_kind kind;
	const char *config_json; /* network description; may be NULL */
	uint64_t seed;
	const void *blob;    /* weights and optimizer state, opaque to the store */
	size_t blob_size;    /* bytes */
	int64_t n_records;   /* frames the model was trained on */
	double train_loss;
	double val_loss;
	double val_acc;      /* fraction in [0, 1] */
	double return_rate;  /* fraction of balls returned in evaluation */
	bool promoted;
	const char *note;    /* e.g. why it was not promoted; may be NULL */
};

struct store_epoch {
	int32_t epoch;       /* 1-based */
	double train_loss;
	double train_acc;
	double val_loss;
	double val_acc;
	double duration_ms;
};

/* Row counts of the main tables. */
struct store_counts {
	int64_t n_sessions;
	int64_t n_rounds;    /* every row of rounds, the open round included */
	int64_t n_frames;
	int64_t n_models;
};

/* A summary of the save for the stats command. Rounds, frames and results
 * count finished rounds only. NaN in a double means "not measured". */
struct store_stats {
	int64_t sessions[STORE_SESSION_EVAL + 1]; /* by enum store_session_kind */
	int64_t n_rounds;
	int64_t n_frames;       /* sum of the rounds' frame counts */
	int64_t left_wins;
	int64_t right_wins;
	int64_t draws;
	int64_t human_rounds;   /* rounds of sessions with a human side */
	int64_t human_wins;     /* of those, rounds the human side won */
	int64_t human_losses;
	int64_t n_models;
	int64_t n_trained;
	int64_t n_imported;
	int64_t n_promoted;
	/* The newest promoted model version; id 0 when none is promoted. */
	int64_t promoted_id;
	enum store_model_kind promoted_kind;
	int64_t promoted_n_records;
	double promoted_val_loss;
	double promoted_val_acc;    /* fraction in [0, 1] */
	double promoted_return_rate; /* fraction in [0, 1] */
};

/* An open save. One thread at a time may use a handle. */
struct store;

/* Opens or creates the save at path and migrates it to
 * STORE_SCHEMA_VERSION. opts may be NULL for the defaults. Sets WAL mode,
 * synchronous=NORMAL, foreign keys on and the busy timeout. A save of up to
 * 128 MiB gets SQLite's quick_check first, and a damaged one fails with
 * STORE_ERR_CORRUPT. Larger saves skip it, because it reads every page, and
 * damage there shows only when SQLite reads the damaged page.
 *
 * On success returns STORE_OK and *out owns the handle (store_close()).
 * On failure *out is NULL, the file is unchanged, and msg (if not NULL)
 * receives one line naming the path and what to do. Two exceptions: a file
 * the open created is removed while it is still empty, and a switch to WAL
 * that fails after a migration leaves the migrated save in rollback-journal
 * mode. The failures are STORE_ERR_NOT_DB, STORE_ERR_FOREIGN,
 * STORE_ERR_NEWER and STORE_ERR_READONLY, each detected before any write. A
 * writable open never falls back to read-only. STORE_ERR_BUSY means another
 * process held the write lock past the timeout. STORE_ERR_PATH means the
 * path cannot name a save (empty, ":memory:", too long, a dangling symbolic
 * link) or its directory is missing, and STORE_ERR_NOT_FOUND a missing file
 * under read_only. A path that exists but is not a regular file (a
 * directory, a FIFO, a device, a socket) gives STORE_ERR_NOT_DB before
 * SQLite opens it. The rest are STORE_ERR_FULL, STORE_ERR_CORRUPT,
 * STORE_ERR_NOMEM and STORE_ERR_IO. */
enum store_status store_open(const char *path, const struct store_options *opts,
			     struct store **out, char *msg, size_t msg_size);

/* Rolls back a round still open, then closes the save. NULL is a no-op. */
void store_close(struct store *s);

/* Returns the message of the last failure on s, or "" after none. The text
 * stays valid until the next call on s. */
const char *store_errmsg(const struct store *s);

/* Returns the path s was opened with. */
const char *store_path(const struct store *s);

/* Returns the name a session kind has in the sessions table ("play",
 * "watch", "train", "sim" or "eval"). kind must be a valid enum value. */
const char *store_session_kind_name(enum store_session_kind kind);

/* Returns a short constant name for a status, e.g. "newer schema". */
const char *store_status_name(enum store_status status);

/* Chooses the save's path: db_opt (the --db option) if not NULL, else
 * $TTYPONG_DB if set and non-empty (an empty one counts as unset), else saves/ttypong.db beside the
 * executable when its directory contains both saves/ and a Makefile (a source
 * tree), else $XDG_DATA_HOME/ttypong/ttypong.db with XDG_DATA_HOME defaulting
 * to ~/.local/share. Only the last case creates directories (mode 0700).
 * Writes the path into out. Returns STORE_ERR_PATH with a message when db_opt
 * is empty, HOME is unset, a directory cannot be made or out_size is too
 * small. */
enum store_status store_default_path(const char *db_opt, char *out,
				     size_t out_size, char *msg,
				     size_t msg_size);

/* Inputs of the path rule, so tests can exercise it without the real
 * environment. NULL fields count as unset. */
struct store_path_env {
	const char *db_opt;
	const char *ttypong_db;
	const char *exe_path;      /* resolved path of the executable */
	const char *xdg_data_home;
	const char *home;
};

/* Applies the rule of store_default_path() to env. Same contract. */
enum store_status store_resolve_path(const struct store_path_env *env,
				     char *out, size_t out_size, char *msg,
				     size_t msg_size);

/* Runs SQLite's integrity and foreign key checks. Returns STORE_OK, or
 * STORE_ERR_CORRUPT with the first problem in the message. */
enum store_status store_check(struct store *s);

/* Counts the rows of sessions, rounds, frames and models. Counting frames
 * reads the whole frames table. */
enum store_status store_count(struct store *s, struct store_counts *out);

/* Fills out with the summary above in one transaction (the open round's, if
 * any), so the figures agree with each other while another process writes.
 * Reads sessions, rounds and models but never the frames table. */
enum store_status store_stats(struct store *s, struct store_stats *out);

/* Inserts a session, started now, and writes its id into *id. Must not be
 * called while a round is open. */
enum store_status store_session_begin(struct store *s,
				      const struct store_session *session,
				      int64_t *id);

/* Sets the session's end time to now. STORE_ERR_NOT_FOUND if no such id. */
enum store_status store_session_end(struct store *s, int64_t session_id);

/* Closes a session that stopped on a failure: deletes it when it holds no
 * round, since such a row records nothing, and otherwise sets its end time
 * like store_session_end(). Must not be called while a round is open. */
enum store_status store_session_abandon(struct store *s, int64_t session_id);

/* Opens the round's write transaction and inserts the round (number is the
 * caller's count within the session, from 1). Writes the id into *id.
 * STORE_ERR_BUSY if another process holds the write lock past the timeout.
 * No round may already be open. */
enum store_status store_round_begin(struct store *s, int64_t session_id,
				    int32_t number, int64_t *id);

/* Appends n frames to the open round, numbered after those already there. */
enum store_status store_round_append(struct store *s,
				     const struct store_frame *frames,
				     size_t n);

/* Stores the result, frame count and end time, and commits the round. On
 * failure (STORE_ERR_FULL, STORE_ERR_IO, ...) the round is rolled back, no
 * round is open any more, and every earlier round stays in the save. */
enum store_status store_round_end(struct store *s,
				  const struct store_round_result *result);

/* Rolls back the open round, for a round quit before its end. No-op when no
 * round is open. */
void store_round_abort(struct store *s);

/* Returns true while a round is open. */
bool store_round_is_open(const struct store *s);

/* Lists finished rounds with id > after_id, oldest first. A max_rounds above
 * 0 keeps only the newest max_rounds of them. *out is malloc'ed and owned by
 * the caller (free()), NULL when *n is 0. */
enum store_status store_rounds_list(struct store *s, int64_t after_id,
				    size_t max_rounds,
				    struct store_round_info **out, size_t *n);

/* Loads the frames of the given rounds into out, which the caller releases
 * with store_frames_free(). STORE_ERR_NOT_FOUND if an id is not a stored
 * round; out is then empty. */
enum store_status store_frames_load(struct store *s, const int64_t *round_ids,
				    size_t n_ids, struct store_frames *out);

/* Frees what store_frames_load() allocated and zeroes *f. */
void store_frames_free(struct store_frames *f);

/* Inserts a model version. Ignores m->id and m->created_ms; writes the new id
 * into *id. parent_id must name a stored model or be 0. */
enum store_status store_model_put(struct store *s, const struct store_model *m,
				  int64_t *id);

/* Reads a model version into one malloc'ed block (the strings and the blob
 * live inside it), owned by the caller and freed with free().
 * STORE_ERR_NOT_FOUND if no such id. */
enum store_status store_model_get(struct store *s, int64_t id,
				  struct store_model **out);

/* Records an evaluation: the return rate (NaN to leave it unmeasured), the
 * promoted flag and the note (NULL to clear it). */
enum store_status store_model_set_eval(struct store *s, int64_t id,
				       double return_rate, bool promoted,
				       const char *note);

/* Writes the id of the newest promoted model version into *id, or returns
 * STORE_ERR_NOT_FOUND when none is promoted. */
enum store_status store_model_latest_promoted(struct store *s, int64_t *id);

/* Lists model version ids, oldest first. *ids is malloc'ed (free()), NULL
 * when *n is 0. */
enum store_status store_model_list(struct store *s, int64_t **ids, size_t *n);

/* Stores per-epoch metrics of a model version; an epoch stored again is
 * replaced. */
enum store_status store_epochs_put(struct store *s, int64_t model_id,
				   const struct store_epoch *epochs, size_t n);

/* Reads a model's epochs in epoch order. *out is malloc'ed (free()), NULL
 * when *n is 0. */
enum store_status store_epochs_get(struct store *s, int64_t model_id,
				   struct store_epoch **out, size_t *n);

#endif
