/* store: the save in SQLite. store.h lists the invariants. This file adds
 * the schema, its migrations and the mapping of SQLite failures to statuses
 * and one-line messages.
 *
 * Opening writes nothing until four checks pass, in this order: the file and
 * its directory are writable, the file is an SQLite database, it is a ttypong
 * save (or empty), and its schema is not newer than STORE_SCHEMA_VERSION.
 * Only then does it migrate, in one transaction, and after that switch to
 * WAL, so a failed migration leaves the file as it was. */
#include "store.h"

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* 32 MiB of page cache: a round of headless play at full speed fits in memory
 * until its commit, so SQLite does not spill pages to the WAL mid-round. */
#define STORE_CACHE_KIB 32768

/* Saves up to this size get SQLite's quick_check when opened. It reads every
 * page: a 73 MB save took 0.35 s with the file in the page cache (2-core
 * development container), so larger saves skip it to keep start-up short. */
#define STORE_QUICK_CHECK_MAX_BYTES (128 * 1024 * 1024)

/* Frames per multi-row INSERT in store_round_append(). One step for 16 rows
 * costs less than 16 steps: batched appends ran about 1.5 times faster in
 * tests/bench/store_bench.c. */
#define STORE_FRAMES_PER_INSERT 16

/* Migration steps: store_migrations[i] takes a save from user_version i to
 * i + 1. Each runs inside the one transaction that opening uses. A step once
 * shipped never changes, so a new schema appends a step. */
static const char *const store_migrations[] = {
	/* 0 -> 1: the first schema. */
	"CREATE TABLE sessions ("
	" id INTEGER PRIMARY KEY,"
	" kind TEXT NOT NULL"
	"  CHECK (kind IN ('play', 'watch', 'train', 'sim', 'eval')),"
	" seed INTEGER NOT NULL,"
	" started_ms INTEGER NOT NULL,"
	" ended_ms INTEGER,"
	" left_ctrl TEXT NOT NULL,"
	" right_ctrl TEXT NOT NULL,"
	" human_side TEXT CHECK (human_side IN ('left', 'right')),"
	" config_json TEXT);"

	"CREATE TABLE rounds ("
	" id INTEGER PRIMARY KEY,"
	" session_id INTEGER NOT NULL"
	"  REFERENCES sessions(id) ON DELETE CASCADE,"
	" number INTEGER NOT NULL,"
	" started_ms INTEGER NOT NULL,"
	" ended_ms INTEGER,"
	" winner TEXT CHECK (winner IN ('left', 'right', 'draw')),"
	" returns_left INTEGER NOT NULL DEFAULT 0,"
	" returns_right INTEGER NOT NULL DEFAULT 0,"
	" n_frames INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX rounds_by_session ON rounds(session_id);"

	/* The frame number leads the key after the round, so the rows of a
	 * round sit together in key order and appending is a B-tree append. */
	"CREATE TABLE frames ("
	" round_id INTEGER NOT NULL REFERENCES rounds(id) ON DELETE CASCADE,"
	" frame INTEGER NOT NULL,"
	" ball_x REAL NOT NULL,"
	" ball_y REAL NOT NULL,"
	" ball_vx REAL NOT NULL,"
	" ball_vy REAL NOT NULL,"
	" left_y REAL NOT NULL,"
	" right_y REAL NOT NULL,"
	" move_left INTEGER NOT NULL CHECK (move_left BETWEEN 0 AND 2),"
	" move_right INTEGER NOT NULL CHECK (move_right BETWEEN 0 AND 2),"
	" PRIMARY KEY (round_id, frame)) WITHOUT ROWID;"

	"CREATE TABLE models ("
	" id INTEGER PRIMARY KEY,"
	" parent_id INTEGER REFERENCES models(id),"
	" created_ms INTEGER NOT NULL,"
	" kind TEXT NOT NULL CHECK (kind IN ('trained', 'imported')),"
	" config_json TEXT,"
	" seed INTEGER NOT NULL,"
	" weights BLOB NOT NULL,"
	" n_records INTEGER NOT NULL DEFAULT 0,"
	" train_loss REAL,"
	" val_loss REAL,"
	" val_acc REAL,"
	" return_rate REAL,"
	" promoted INTEGER NOT NULL DEFAULT 0 CHECK (promoted IN (0, 1)),"
	" note TEXT);"

	"CREATE TABLE epochs ("
	" model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,"
	" epoch INTEGER NOT NULL,"
	" train_loss REAL,"
	" train_acc REAL,"
	" val_loss REAL,"
	" val_acc REAL,"
	" duration_ms REAL,"
	" PRIMARY KEY (model_id, epoch)) WITHOUT ROWID;"

	"CREATE VIEW round_summary AS"
	" SELECT r.id AS round_id, r.session_id, s.kind, r.number,"
	"  s.left_ctrl, s.right_ctrl, s.human_side, r.winner,"
	"  r.returns_left, r.returns_right, r.n_frames,"
	"  (r.ended_ms - r.started_ms) / 1000.0 AS duration_s,"
	"  datetime(r.ended_ms / 1000, 'unixepoch') AS ended_utc"
	" FROM rounds r JOIN sessions s ON s.id = r.session_id;"

	"CREATE VIEW session_summary AS"
	" SELECT s.id AS session_id, s.kind, s.seed, s.left_ctrl, s.right_ctrl,"
	"  s.human_side,"
	"  datetime(s.started_ms / 1000, 'unixepoch') AS started_utc,"
	"  datetime(s.ended_ms / 1000, 'unixepoch') AS ended_utc,"
	"  count(r.id) AS n_rounds,"
	"  coalesce(sum(r.winner = 'left'), 0) AS left_wins,"
	"  coalesce(sum(r.winner = 'right'), 0) AS right_wins,"
	"  coalesce(sum(r.winner = 'draw'), 0) AS draws,"
	"  coalesce(sum(r.n_frames), 0) AS n_frames"
	" FROM sessions s LEFT JOIN rounds r ON r.session_id = s.id"
	" GROUP BY s.id;"

	"CREATE VIEW model_summary AS"
	" SELECT m.id AS model_id, m.parent_id, m.kind,"
	"  datetime(m.created_ms / 1000, 'unixepoch') AS created_utc,"
	"  m.seed, length(m.weights) AS weights_bytes, m.n_records,"
	"  m.train_loss, m.val_loss, m.val_acc, m.return_rate, m.promoted,"
	"  m.note, (SELECT count(*) FROM epochs e WHERE e.model_id = m.id)"
	"  AS n_epochs"
	" FROM models m;"

	"CREATE VIEW latest_promoted_model AS"
	" SELECT * FROM model_summary WHERE promoted = 1"
	" ORDER BY model_id DESC LIMIT 1;"
};

#define STORE_N_MIGRATIONS \
	(sizeof(store_migrations) / sizeof(store_migrations[0]))

_Static_assert(STORE_N_MIGRATIONS == STORE_SCHEMA_VERSION,
	       "one migration step per schema version");

/* Statements prepared once per handle, on first use. */
enum store_stmt_id {
	STORE_STMT_BEGIN,
	STORE_STMT_COMMIT,
	STORE_STMT_ROLLBACK,
	STORE_STMT_ROUND_INSERT,
	STORE_STMT_ROUND_FINISH,
	STORE_STMT_FRAME_INSERT,
	STORE_STMT_FRAME_SELECT,
	STORE_STMT_ROUND_FRAMES,
	STORE_STMT_COUNT
};

static const char *const store_stmt_sql[STORE_STMT_COUNT] = {
	[STORE_STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STORE_STMT_COMMIT] = "COMMIT",
	[STORE_STMT_ROLLBACK] = "ROLLBACK",
	[STORE_STMT_ROUND_INSERT] =
		"INSERT INTO rounds (session_id, number, started_ms)"
		" VALUES (?1, ?2, ?3)",
	[STORE_STMT_ROUND_FINISH] =
		"UPDATE rounds SET winner = ?2, returns_left = ?3,"
		" returns_right = ?4, n_frames = ?5, ended_ms = ?6"
		" WHERE id = ?1",
	[STORE_STMT_FRAME_INSERT] =
		"INSERT INTO frames (round_id, frame, ball_x, ball_y, ball_vx,"
		" ball_vy, left_y, right_y, move_left, move_right)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
	[STORE_STMT_FRAME_SELECT] =
		"SELECT ball_x, ball_y, ball_vx, ball_vy, left_y, right_y,"
		" move_left, move_right FROM frames WHERE round_id = ?1"
		" ORDER BY frame",
	[STORE_STMT_ROUND_FRAMES] =
		"SELECT n_frames FROM rounds"
		" WHERE id = ?1 AND ended_ms IS NOT NULL",
};

struct store {
	sqlite3 *db;
	char *path;
	int busy_timeout_ms;
	bool read_only;
	bool immutable;	/* read-only media: opened with SQLite's immutable=1 */
	bool opened;	/* store_open() succeeded, so earlier rounds may exist */

	/* The open round, valid while round_open. */
	bool round_open;
	int64_t round_id;
	int64_t round_frames;

	sqlite3_stmt *stmt[STORE_STMT_COUNT];
	sqlite3_stmt *frames_insert; /* STORE_FRAMES_PER_INSERT rows at once */
	char msg[STORE_MSG_MAX];
};

static const char *const store_session_kinds[] = {
	[STORE_SESSION_PLAY] = "play",
	[STORE_SESSION_WATCH] = "watch",
	[STORE_SESSION_TRAIN] = "train",
	[STORE_SESSION_SIM] = "sim",
	[STORE_SESSION_EVAL] = "eval",
};

const char *store_session_kind_name(enum store_session_kind kind)
{
	assert(kind >= STORE_SESSION_PLAY && kind <= STORE_SESSION_EVAL);
	return store_session_kinds[kind];
}

static const char *const store_winners[] = {
	[STORE_WINNER_LEFT] = "left",
	[STORE_WINNER_RIGHT] = "right",
	[STORE_WINNER_DRAW] = "draw",
};

static const char *const store_model_kinds[] = {
	[STORE_MODEL_TRAINED] = "trained",
	[STORE_MODEL_IMPORTED] = "imported",
};

const char *store_status_name(enum store_status status)
{
	switch (status) {
	case STORE_OK: return "ok";
	case STORE_ERR_NOMEM: return "out of memory";
	case STORE_ERR_NOT_DB: return "not an SQLite database";
	case STORE_ERR_FOREIGN: return "not a ttypong save";
	case STORE_ERR_NEWER: return "newer schema";
	case STORE_ERR_READONLY: return "read-only";
	case STORE_ERR_BUSY: return "locked";
	case STORE_ERR_FULL: return "disk full";
	case STORE_ERR_CORRUPT: return "malformed";
	case STORE_ERR_NOT_FOUND: return "not found";
	case STORE_ERR_INVALID: return "invalid argument";
	case STORE_ERR_PATH: return "no usable path";
	case STORE_ERR_IO: return "I/O error";
	}
	return "unknown status";
}

/* Messages and statuses */

static int64_t store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void store_format(char *msg, size_t msg_size, const char *fmt, ...)
{
	va_list ap;

	if (msg == NULL || msg_size == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, msg_size, fmt, ap);
	va_end(ap);
}

/* Records a failure that has no SQLite code behind it and returns status. */
static enum store_status store_fail(struct store *s, enum store_status status,
				    const char *fmt, ...)
{
	va_list ap;
	int len = snprintf(s->msg, sizeof(s->msg), "%s: ", s->path);

	if (len < 0 || (size_t)len >= sizeof(s->msg))
		return status;
	va_start(ap, fmt);
	vsnprintf(s->msg + len, sizeof(s->msg) - (size_t)len, fmt, ap);
	va_end(ap);
	return status;
}

static enum store_status store_status_of(sqlite3 *db, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return STORE_OK;
	case SQLITE_NOMEM:
		return STORE_ERR_NOMEM;
	case SQLITE_NOTADB:
		return STORE_ERR_NOT_DB;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STORE_ERR_BUSY;
	case SQLITE_FULL:
		return STORE_ERR_FULL;
	case SQLITE_READONLY:
	case SQLITE_PERM:
		return STORE_ERR_READONLY;
	case SQLITE_CORRUPT:
		return STORE_ERR_CORRUPT;
	case SQLITE_CONSTRAINT:
	case SQLITE_RANGE:
	case SQLITE_TOOBIG:
		return STORE_ERR_INVALID;
	case SQLITE_IOERR:
		/* Some write paths (growing the -shm file, for one) report
		 * ENOSPC as an I/O error. */
		if (db != NULL && sqlite3_system_errno(db) == ENOSPC)
			return STORE_ERR_FULL;
		return STORE_ERR_IO;
	default:
		return STORE_ERR_IO;
	}
}

/* Records the failure of SQLite call rc during action (a short phrase such
 * as "saving the round") and returns its status. The message ends with what
 * the user can do about it. */
static enum store_status store_fail_rc(struct store *s, int rc,
				       const char *action)
{
	enum store_status status = store_status_of(s->db, rc);
	const char *detail = s->db != NULL ? sqlite3_errmsg(s->db)
					   : sqlite3_errstr(rc);

	/* A statement that ended without the row its caller expects. */
	if (status == STORE_OK)
		status = STORE_ERR_IO;

	switch (status) {
	case STORE_ERR_NOT_DB:
		return store_fail(s, status,
				  "not an SQLite database; pass another file with --db");
	case STORE_ERR_BUSY:
		return store_fail(s, status,
				  "locked by another process for over %d ms while %s; close the other ttypong or sqlite3 using it and retry",
				  s->busy_timeout_ms, action);
	case STORE_ERR_FULL:
		return store_fail(s, status,
				  "disk full while %s; free some space and retry%s",
				  action,
				  s->opened ? " (rounds saved before are kept)" : "");
	case STORE_ERR_READONLY:
		return store_fail(s, status,
				  "read-only while %s (%s); make the file and its directory writable or pass another file with --db",
				  action, detail);
	case STORE_ERR_CORRUPT:
		return store_fail(s, status,
				  "malformed save while %s (%s); restore a backup or pass another file with --db",
				  action, detail);
	case STORE_ERR_NOMEM:
		return store_fail(s, status, "out of memory while %s", action);
	default:
		return store_fail(s, status, "%s failed: %s", action, detail);
	}
}

/* Statements */

/* Returns the cached statement id, reset and ready to bind, or NULL after
 * recording the failure in s->msg. Bindings of an earlier use persist. */
static sqlite3_stmt *store_stmt(struct store *s, enum store_stmt_id id)
{
	int rc;

	if (s->stmt[id] != NULL) {
		sqlite3_reset(s->stmt[id]);
		return s->stmt[id];
	}
	rc = sqlite3_prepare_v3(s->db, store_stmt_sql[id], -1,
				SQLITE_PREPARE_PERSISTENT, &s->stmt[id], NULL);
	if (rc != SQLITE_OK) {
		store_fail_rc(s, rc, "preparing a statement");
		return NULL;
	}
	return s->stmt[id];
}

/* Runs a cached statement that returns no rows. */
static int store_run(struct store *s, enum store_stmt_id id)
{
	sqlite3_stmt *st = store_stmt(s, id);
	int rc;

	if (st == NULL)
		return SQLITE_ERROR;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Runs one-off SQL that returns no rows. */
static int store_exec(struct store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

/* Runs one-off SQL returning one integer (a PRAGMA) into *value. Returns
 * SQLITE_OK with a row and SQLITE_DONE without one. */
static int store_query_int(struct store *s, const char *sql, int64_t *value)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	if (rc != SQLITE_OK)
		goto out;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*value = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
out:
	sqlite3_finalize(st);
	return rc;
}

static void store_rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		store_run(s, STORE_STMT_ROLLBACK);
}

/* Starts a write: BEGIN IMMEDIATE outside a transaction, so a lock conflict
 * waits through the busy timeout at once, or a savepoint inside the open
 * round. Pair with store_write_end(). */
static int store_write_begin(struct store *s)
{
	if (s->round_open)
		return store_exec(s, "SAVEPOINT store_write");
	return store_run(s, STORE_STMT_BEGIN);
}

/* Commits the write started by store_write_begin() when rc is SQLITE_OK and
 * rolls it back otherwise. Returns the first failure. */
static int store_write_end(struct store *s, int rc)
{
	if (s->round_open) {
		if (rc != SQLITE_OK)
			store_exec(s, "ROLLBACK TO store_write");
		int rc2 = store_exec(s, "RELEASE store_write");

		return rc != SQLITE_OK ? rc : rc2;
	}
	if (rc == SQLITE_OK)
		rc = store_run(s, STORE_STMT_COMMIT);
	if (rc != SQLITE_OK)
		store_rollback(s);
	return rc;
}

static int64_t store_bits_of_u64(uint64_t u)
{
	int64_t i;

	memcpy(&i, &u, sizeof(i));
	return i;
}

static uint64_t store_u64_of_bits(int64_t i)
{
	uint64_t u;

	memcpy(&u, &i, sizeof(u));
	return u;
}

/* Binds a double, with NaN ("not measured") as NULL. */
static int store_bind_measure(sqlite3_stmt *st, int i, double v)
{
	if (isnan(v))
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_double(st, i, v);
}

static double store_column_measure(sqlite3_stmt *st, int i)
{
	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NAN;
	return sqlite3_column_double(st, i);
}

static int store_bind_text_or_null(sqlite3_stmt *st, int i, const char *text)
{
	if (text == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, text, -1, SQLITE_TRANSIENT);
}

/* Returns items, a malloc'ed array of *cap elements of size bytes, grown by
 * doubling to room for at least need elements. Returns NULL when memory runs
 * out, and items then stays valid. */
static void *store_reserve(void *items, size_t *cap, size_t need, size_t size)
{
	size_t new_cap = *cap ? *cap : 16;
	void *p;

	if (need <= *cap)
		return items;
	while (new_cap < need)
		new_cap *= 2;
	if (new_cap > SIZE_MAX / size)
		return NULL;
	p = realloc(items, new_cap * size);
	if (p != NULL)
		*cap = new_cap;
	return p;
}

/* Opening */

/* Returns the malloc'ed directory part of path ("." when it has none), or
 * NULL when memory runs out. */
static char *store_dir_of(const char *path)
{
	char *dir = strdup(path);
	char *slash;

	if (dir == NULL)
		return NULL;
	slash = strrchr(dir, '/');
	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	return dir;
}

/* Decides how a read-only handle opens the save. SQLite reads a WAL save
 * through a -shm file that it must be able to create, so in a directory it
 * cannot write (read-only media) the save is opened as immutable instead.
 * That would silently skip a write-ahead log left by a crash, so a non-empty
 * one is rejected. */
static enum store_status store_check_read_access(struct store *s,
						 const char *dir)
{
	char wal[PATH_MAX];
	struct stat st;

	if (access(s->path, R_OK) != 0)
		return store_fail(s, STORE_ERR_READONLY,
				  "cannot be read (%s); check its permissions",
				  strerror(errno));
	if (access(dir, W_OK | X_OK) == 0)
		return STORE_OK;

	snprintf(wal, sizeof(wal), "%s-wal", s->path);
	if (stat(wal, &st) == 0 && st.st_size > 0)
		return store_fail(s, STORE_ERR_READONLY,
				  "has unsaved changes in %s, and directory %s is not writable; open it once where it is writable",
				  wal, dir);
	s->immutable = true;
	return STORE_OK;
}

static const char *store_file_type(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "not a regular file";
}

/* Checks that the path can name a save before SQLite opens it, and sets
 * *exists. SQLite would open a FIFO or a device as if it were a file (and
 * create a journal beside /dev/null), and takes ":memory:" as a database
 * that vanishes at exit. A symbolic link to a regular file is accepted. */
static enum store_status store_check_path(struct store *s, bool *exists)
{
	char target[PATH_MAX];
	struct stat st;
	ssize_t len;

	*exists = false;
	if (s->path[0] == '\0') {
		snprintf(s->msg, sizeof(s->msg),
			 "the save's path is empty; pass a file path with --db");
		return STORE_ERR_PATH;
	}
	if (strcmp(s->path, ":memory:") == 0)
		return store_fail(s, STORE_ERR_PATH,
				  "SQLite's name for a database kept in memory, so nothing would be saved; pass a file path with --db (./:memory: for a file of that name)");
	if (lstat(s->path, &st) != 0) {
		if (errno == ENOENT)
			return STORE_OK;
		return store_fail(s, STORE_ERR_PATH,
				  "cannot be used as the save's path (%s); pass another file with --db",
				  strerror(errno));
	}
	if (S_ISLNK(st.st_mode) && stat(s->path, &st) != 0) {
		int err = errno;

		len = readlink(s->path, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = '\0';
		return store_fail(s, STORE_ERR_PATH,
				  "is a symbolic link to %s, which cannot be opened (%s); fix the link or pass another file with --db",
				  target, strerror(err));
	}
	if (!S_ISREG(st.st_mode))
		return store_fail(s, STORE_ERR_NOT_DB,
				  "is %s, not a save; pass the path of a regular file with --db",
				  store_file_type(st.st_mode));
	*exists = true;
	return STORE_OK;
}

/* Checks, before SQLite touches the file, that the save and its directory
 * are writable. SQLite would otherwise open a read-only file read-only
 * without a word, and WAL needs to create files beside the save. Root passes
 * access() on any mode bits, but a read-only mount still fails with EROFS. */
static enum store_status store_check_access(struct store *s, bool *exists)
{
	char *dir;
	enum store_status status = store_check_path(s, exists);

	if (status != STORE_OK)
		return status;
	if (s->read_only && !*exists)
		return store_fail(s, STORE_ERR_NOT_FOUND,
				  "no such save; check the path or pass another file with --db");
	if (!s->read_only && *exists && access(s->path, R_OK | W_OK) != 0)
		return store_fail(s, STORE_ERR_READONLY,
				  "cannot be opened for writing (%s); make it writable or pass another file with --db",
				  strerror(errno));

	dir = store_dir_of(s->path);
	if (dir == NULL)
		return store_fail(s, STORE_ERR_NOMEM, "out of memory");
	if (s->read_only)
		status = store_check_read_access(s, dir);
	else if (access(dir, W_OK | X_OK) != 0 && errno == ENOENT)
		status = store_fail(s, STORE_ERR_PATH,
				    "directory %s does not exist; create it or pass another file with --db",
				    dir);
	else if (access(dir, W_OK | X_OK) != 0)
		status = store_fail(s, STORE_ERR_READONLY,
				    "directory %s is not writable (%s), and the save needs to create its journal there; make it writable or pass another file with --db",
				    dir, strerror(errno));
	free(dir);
	return status;
}

/* Rejects a schema version this build cannot migrate from: a newer one, or
 * a negative one, which no ttypong writes. */
static enum store_status store_check_version(struct store *s, int64_t version)
{
	if (version < 0)
		return store_fail(s, STORE_ERR_CORRUPT,
				  "malformed save: invalid schema version %lld (PRAGMA user_version); restore a backup or pass another file with --db",
				  (long long)version);
	if (version > STORE_SCHEMA_VERSION)
		return store_fail(s, STORE_ERR_NEWER,
				  "save has schema version %lld but this ttypong reads up to %d; upgrade ttypong or pass another file with --db",
				  (long long)version, STORE_SCHEMA_VERSION);
	return STORE_OK;
}

/* Reads the header fields that identify the file's program and schema,
 * without writing, and rejects files that are not ttypong saves of a known
 * schema. Writes the
 * schema version into *version. */
static enum store_status store_check_header(struct store *s, int64_t *version)
{
	int64_t app_id = 0;
	int64_t n_objects = 0;
	int rc;

	rc = store_query_int(s, "PRAGMA application_id", &app_id);
	if (rc == SQLITE_OK)
		rc = store_query_int(s, "PRAGMA user_version", version);
	if (rc == SQLITE_OK)
		rc = store_query_int(s, "SELECT count(*) FROM sqlite_schema",
				     &n_objects);
	if (rc != SQLITE_OK)
		return store_fail_rc(s, rc, "reading the header");

	if (app_id != STORE_APPLICATION_ID &&
	    (app_id != 0 || *version != 0 || n_objects != 0))
		return store_fail(s, STORE_ERR_FOREIGN,
				  "an SQLite database of another program, not a ttypong save; pass another file with --db");
	return store_check_version(s, *version);
}

/* Records why migrating from version failed. Call it before the rollback,
 * which would replace SQLite's message for rc. */
static enum store_status store_fail_migration(struct store *s, int rc,
					      int64_t version)
{
	enum store_status status = store_status_of(s->db, rc);

	switch (status) {
	case STORE_ERR_BUSY:
	case STORE_ERR_FULL:
	case STORE_ERR_NOMEM:
	case STORE_ERR_READONLY:
		return store_fail_rc(s, rc, "migrating the schema");
	default:
		break;
	}
	if (status == STORE_OK)
		status = STORE_ERR_IO;
	return store_fail(s, status,
			  "migrating the schema from version %lld to %d failed (%s); the save is unchanged, so restore a backup or pass another file with --db",
			  (long long)version, STORE_SCHEMA_VERSION,
			  sqlite3_errmsg(s->db));
}

/* Runs pragma, SQLite's integrity_check(1) or quick_check(1), and records
 * its first finding as a one-line STORE_ERR_CORRUPT message. */
static enum store_status store_run_check(struct store *s, const char *pragma)
{
	static const char prefix[] = "*** in database main ***";
	sqlite3_stmt *st = NULL;
	char finding[256];
	const char *text;
	int rc = sqlite3_prepare_v2(s->db, pragma, -1, &st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return store_fail_rc(s, rc, "checking the save");
	}
	text = (const char *)sqlite3_column_text(st, 0);
	if (text == NULL || strcmp(text, "ok") == 0) {
		sqlite3_finalize(st);
		return STORE_OK;
	}

	/* The finding may start with a line naming the schema and span lines. */
	if (strncmp(text, prefix, sizeof(prefix) - 1) == 0)
		text += sizeof(prefix) - 1;
	text += strspn(text, " \n");
	snprintf(finding, sizeof(finding), "%s", text);
	for (char *p = finding; *p != '\0'; p++)
		if (*p == '\n')
			*p = ' ';
	sqlite3_finalize(st);
	return store_fail(s, STORE_ERR_CORRUPT,
			  "malformed save: %s; restore a backup or pass another file with --db",
			  finding);
}

/* Runs quick_check on a save of up to STORE_QUICK_CHECK_MAX_BYTES, so a
 * damaged page is found before anything is written. Appending a round
 * touches only the last pages of each table, and damage elsewhere would
 * otherwise go unnoticed until a query read it. */
static enum store_status store_quick_check(struct store *s)
{
	struct stat file;

	if (stat(s->path, &file) != 0 || file.st_size == 0 ||
	    file.st_size > STORE_QUICK_CHECK_MAX_BYTES)
		return STORE_OK;
	return store_run_check(s, "PRAGMA quick_check(1)");
}

/* Applies the migration steps after version, inside one transaction that
 * rechecks the version under the write lock, since another process may have
 * migrated the file since the header was read. */
static enum store_status store_migrate(struct store *s)
{
	int64_t version = 0;
	enum store_status status;
	int rc = store_run(s, STORE_STMT_BEGIN);

	if (rc != SQLITE_OK)
		return store_fail_rc(s, rc, "opening");

	rc = store_query_int(s, "PRAGMA user_version", &version);
	if (rc != SQLITE_OK)
		goto fail;
	status = store_check_version(s, version);
	if (status != STORE_OK) {
		store_rollback(s);
		return status;
	}

	for (int64_t v = version; v < STORE_SCHEMA_VERSION; v++) {
		char pragma[64];

		rc = store_exec(s, store_migrations[v]);
		if (rc != SQLITE_OK)
			goto fail;
		snprintf(pragma, sizeof(pragma), "PRAGMA user_version = %lld",
			 (long long)v + 1);
		rc = store_exec(s, pragma);
		if (rc != SQLITE_OK)
			goto fail;
	}
	if (version == 0) {
		char pragma[64];

		snprintf(pragma, sizeof(pragma), "PRAGMA application_id = %d",
			 STORE_APPLICATION_ID);
		rc = store_exec(s, pragma);
		if (rc != SQLITE_OK)
			goto fail;
	}

	rc = store_run(s, STORE_STMT_COMMIT);
	if (rc != SQLITE_OK)
		goto fail;
	return STORE_OK;

fail:
	status = store_fail_migration(s, rc, version);
	store_rollback(s);
	return status;
}

/* Sets the connection's cache size and turns foreign keys on. Neither
 * writes to the file. */
static enum store_status store_configure(struct store *s)
{
	char pragma[64];
	int rc;

	snprintf(pragma, sizeof(pragma), "PRAGMA cache_size = -%d",
		 STORE_CACHE_KIB);
	rc = store_exec(s, pragma);
	if (rc == SQLITE_OK)
		rc = store_exec(s, "PRAGMA foreign_keys = ON");
	if (rc != SQLITE_OK)
		return store_fail_rc(s, rc, "configuring the connection");
	return STORE_OK;
}

/* Switches the save to WAL. WAL with synchronous=NORMAL syncs only at
 * checkpoints: a power cut may lose the last committed rounds but never
 * corrupts the save, and a crash of the program alone loses nothing
 * committed. The switch writes the header, so it runs only after a
 * successful migration: a save that fails to migrate stays byte-identical. */
static enum store_status store_enable_wal(struct store *s)
{
	int rc = store_exec(s, "PRAGMA journal_mode = WAL");

	if (rc == SQLITE_OK)
		rc = store_exec(s, "PRAGMA synchronous = NORMAL");
	if (rc != SQLITE_OK)
		return store_fail_rc(s, rc, "switching to WAL mode");
	return STORE_OK;
}

/* Writes "file:PATH?immutable=1" into uri, percent-encoding what a URI
 * path cannot hold as is. Returns false when uri_size is too small. */
static bool store_immutable_uri(const char *path, char *uri, size_t uri_size)
{
	static const char hex[] = "0123456789ABCDEF";
	static const char suffix[] = "?immutable=1";
	size_t n = 0;

	if (uri_size < sizeof("file:") + sizeof(suffix))
		return false;
	memcpy(uri, "file:", 5);
	n = 5;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9') || strchr("/-._~", *p) != NULL;

		if (n + 3 + sizeof(suffix) > uri_size)
			return false;
		if (plain) {
			uri[n++] = (char)*p;
		} else {
			uri[n++] = '%';
			uri[n++] = hex[*p >> 4];
			uri[n++] = hex[*p & 15];
		}
	}
	memcpy(uri + n, suffix, sizeof(suffix));
	return true;
}

static enum store_status store_connect(struct store *s, bool exists)
{
	int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	char uri[3 * PATH_MAX + 32];
	const char *name = s->path;
	int rc;

	if (s->read_only)
		flags |= SQLITE_OPEN_READONLY;
	else
		flags |= SQLITE_OPEN_READWRITE | (exists ? 0 : SQLITE_OPEN_CREATE);
	if (s->immutable) {
		if (!store_immutable_uri(s->path, uri, sizeof(uri)))
			return store_fail(s, STORE_ERR_PATH,
					  "path too long; pass a shorter one with --db");
		name = uri;
		flags |= SQLITE_OPEN_URI;
	} else if (strncmp(s->path, "file:", 5) == 0) {
		/* A build of SQLite with URI names on by default would read
		 * this relative path as a URI and its "?" as parameters. */
		snprintf(uri, sizeof(uri), "./%s", s->path);
		name = uri;
	}
	rc = sqlite3_open_v2(name, &s->db, flags, NULL);
	if (rc != SQLITE_OK)
		return store_fail_rc(s, rc, "opening");

	sqlite3_busy_timeout(s->db, s->busy_timeout_ms);
	if (!s->read_only && sqlite3_db_readonly(s->db, "main") == 1)
		return store_fail(s, STORE_ERR_READONLY,
				  "can only be opened read-only; make the file and its directory writable or pass another file with --db");
	return STORE_OK;
}

/* Closes a handle whose open failed. When the open created the file and it
 * is still empty (its first write failed, on a full disk for one), removes
 * it, so a failed first run leaves no file behind. A file with content
 * belongs to a process that opened it meanwhile and stays. */
static void store_close_failed(struct store *s, bool created)
{
	char *path = s->path;
	struct stat st;

	s->path = NULL;
	store_close(s);
	if (created && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    st.st_size == 0)
		unlink(path);
	free(path);
}

enum store_status store_open(const char *path, const struct store_options *opts,
			     struct store **out, char *msg, size_t msg_size)
{
	struct store *s;
	bool exists = false;
	int64_t version = 0;
	enum store_status status;

	*out = NULL;
	store_format(msg, msg_size, "");
	s = calloc(1, sizeof(*s));
	if (s == NULL || (s->path = strdup(path)) == NULL) {
		free(s);
		store_format(msg, msg_size, "%s: out of memory", path);
		return STORE_ERR_NOMEM;
	}
	s->busy_timeout_ms = opts != NULL && opts->busy_timeout_ms > 0
				     ? opts->busy_timeout_ms
				     : STORE_BUSY_TIMEOUT_MS;
	s->read_only = opts != NULL && opts->read_only;

	status = store_check_access(s, &exists);
	if (status == STORE_OK)
		status = store_connect(s, exists);
	if (status == STORE_OK)
		status = store_check_header(s, &version);
	if (status == STORE_OK && s->read_only && version != STORE_SCHEMA_VERSION)
		status = store_fail(s, STORE_ERR_READONLY,
				    "save has schema version %lld and must be upgraded, which needs write access; open it once for writing",
				    (long long)version);
	if (status == STORE_OK)
		status = store_configure(s);
	if (status == STORE_OK)
		status = store_quick_check(s);
	if (status == STORE_OK && !s->read_only)
		status = store_migrate(s);
	if (status == STORE_OK && !s->read_only)
		status = store_enable_wal(s);

	if (status != STORE_OK) {
		store_format(msg, msg_size, "%s", s->msg);
		store_close_failed(s, !exists);
		return status;
	}
	s->opened = true;
	*out = s;
	return STORE_OK;
}

void store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->db != NULL) {
		store_round_abort(s);
		for (int i = 0; i < STORE_STMT_COUNT; i++)
			sqlite3_finalize(s->stmt[i]);
		sqlite3_finalize(s->frames_insert);
		sqlite3_close(s->db);
	}
	free(s->path);
	free(s);
}

const char *store_errmsg(const struct store *s)
{
	return s->msg;
}

const char *store_path(const struct store *s)
{
	return s->path;
}

enum store_status store_check(struct store *s)
{
	sqlite3_stmt *st = NULL;
	enum store_status status = store_run_check(s, "PRAGMA integrity_check(1)");
	int rc;

	if (status != STORE_OK)
		return status;

	/* Each row of foreign_key_check is one row whose parent is missing. */
	rc = sqlite3_prepare_v2(s->db, "PRAGMA foreign_key_check", -1, &st,
				NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		store_fail(s, STORE_ERR_CORRUPT,
			   "a row of table %s refers to a missing row of %s; restore a backup or pass another file with --db",
			   (const char *)sqlite3_column_text(st, 0),
			   (const char *)sqlite3_column_text(st, 2));
		sqlite3_finalize(st);
		return STORE_ERR_CORRUPT;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store_fail_rc(s, rc, "checking foreign keys");
	return STORE_OK;
}

enum store_status store_count(struct store *s, struct store_counts *out)
{
	static const char sql[] =
		"SELECT (SELECT count(*) FROM sessions),"
		" (SELECT count(*) FROM rounds), (SELECT count(*) FROM frames),"
		" (SELECT count(*) FROM models)";
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

	memset(out, 0, sizeof(*out));
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->n_sessions = sqlite3_column_int64(st, 0);
		out->n_rounds = sqlite3_column_int64(st, 1);
		out->n_frames = sqlite3_column_int64(st, 2);
		out->n_models = sqlite3_column_int64(st, 3);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return store_fail_rc(s, rc, "counting rows");
	return STORE_OK;
}

/* Prepares sql and steps it to its first row. Returns SQLITE_ROW with *st
 * ready to read, or another code with *st finalized and NULL. */
static int store_query_row(struct store *s, const char *sql, sqlite3_stmt **st)
{
	int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);

	if (rc == SQLITE_OK)
		rc = sqlite3_step(*st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(*st);
		*st = NULL;
	}
	return rc;
}

static int store_stats_sessions(struct store *s, struct store_stats *out)
{
	sqlite3_stmt *st = NULL;
	int rc = store_query_row(s, "SELECT kind, count(*) FROM sessions GROUP BY kind", &st);

	for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
		const char *kind = (const char *)sqlite3_column_text(st, 0);

		for (size_t k = 0; k <= STORE_SESSION_EVAL; k++)
			if (kind != NULL && strcmp(kind, store_session_kinds[k]) == 0)
				out->sessions[k] = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int store_stats_rounds(struct store *s, struct store_stats *out)
{
	/* The CHECK constraints make winner and human_side the same words,
	 * so a round's winner equals its session's human side when the human
	 * won it. */
	static const char sql[] =
		"SELECT count(*), coalesce(sum(r.n_frames), 0),"
		" coalesce(sum(r.winner = 'left'), 0),"
		" coalesce(sum(r.winner = 'right'), 0),"
		" coalesce(sum(r.winner = 'draw'), 0),"
		" coalesce(sum(s.human_side IS NOT NULL), 0),"
		" coalesce(sum(r.winner = s.human_side), 0),"
		" coalesce(sum(s.human_side IS NOT NULL AND r.winner <> 'draw'"
		"  AND r.winner <> s.human_side), 0)"
		" FROM rounds r JOIN sessions s ON s.id = r.session_id"
		" WHERE r.ended_ms IS NOT NULL";
	sqlite3_stmt *st = NULL;
	int rc = store_query_row(s, sql, &st);

	if (rc != SQLITE_ROW)
		return rc;
	out->n_rounds = sqlite3_column_int64(st, 0);
	out->n_frames = sqlite3_column_int64(st, 1);
	out->left_wins = sqlite3_column_int64(st, 2);
	out->right_wins = sqlite3_column_int64(st, 3);
	out->draws = sqlite3_column_int64(st, 4);
	out->human_rounds = sqlite3_column_int64(st, 5);
	out->human_wins = sqlite3_column_int64(st, 6);
	out->human_losses = sqlite3_column_int64(st, 7);
	sqlite3_finalize(st);
	return SQLITE_OK;
}

static int store_stats_models(struct store *s, struct store_stats *out)
{
	sqlite3_stmt *st = NULL;
	int rc = store_query_row(s,
				 "SELECT count(*), coalesce(sum(kind = 'trained'), 0),"
				 " coalesce(sum(kind = 'imported'), 0),"
				 " coalesce(sum(promoted), 0) FROM models",
				 &st);

	if (rc != SQLITE_ROW)
		return rc;
	out->n_models = sqlite3_column_int64(st, 0);
	out->n_trained = sqlite3_column_int64(st, 1);
	out->n_imported = sqlite3_column_int64(st, 2);
	out->n_promoted = sqlite3_column_int64(st, 3);
	sqlite3_finalize(st);

	rc = store_query_row(s,
			     "SELECT id, kind, n_records, val_loss, val_acc, return_rate"
			     " FROM models WHERE promoted = 1 ORDER BY id DESC LIMIT 1",
			     &st);
	if (rc == SQLITE_DONE)
		return SQLITE_OK;
	if (rc != SQLITE_ROW)
		return rc;
	out->promoted_id = sqlite3_column_int64(st, 0);
	out->promoted_kind = strcmp((const char *)sqlite3_column_text(st, 1), "imported") == 0
				     ? STORE_MODEL_IMPORTED
				     : STORE_MODEL_TRAINED;
	out->promoted_n_records = sqlite3_column_int64(st, 2);
	out->promoted_val_loss = store_column_measure(st, 3);
	out->promoted_val_acc = store_column_measure(st, 4);
	out->promoted_return_rate = store_column_measure(st, 5);
	sqlite3_finalize(st);
	return SQLITE_OK;
}

enum store_status store_stats(struct store *s, struct store_stats *out)
{
	/* Inside an open round the reads already share its transaction. */
	bool own = sqlite3_get_autocommit(s->db) != 0;
	int rc = SQLITE_OK;

	memset(out, 0, sizeof(*out));
	out->promoted_val_loss = NAN;
	out->promoted_val_acc = NAN;
	out->promoted_return_rate = NAN;

	if (own)
		rc = store_exec(s, "BEGIN");
	if (rc == SQLITE_OK)
		rc = store_stats_sessions(s, out);
	if (rc == SQLITE_OK)
		rc = store_stats_rounds(s, out);
	if (rc == SQLITE_OK)
		rc = store_stats_models(s, out);
	if (own && rc == SQLITE_OK)
		rc = store_exec(s, "COMMIT");
	if (rc != SQLITE_OK) {
		if (own)
			store_rollback(s);
		return store_fail_rc(s, rc, "summarizing the save");
	}
	return STORE_OK;
}

/* Sessions */

enum store_status store_session_begin(struct store *s,
				      const struct store_session *session,
				      int64_t *id)
{
	static const char sql[] =
		"INSERT INTO sessions (kind, seed, started_ms, left_ctrl,"
		" right_ctrl, human_side, config_json)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
	sqlite3_stmt *st = NULL;
	int rc;

	assert(!s->round_open);
	if ((unsigned)session->kind > STORE_SESSION_EVAL)
		return store_fail(s, STORE_ERR_INVALID,
				  "session kind %d is out of range",
				  (int)session->kind);
	if (session->human_side < STORE_SIDE_NONE ||
	    session->human_side > STORE_SIDE_RIGHT)
		return store_fail(s, STORE_ERR_INVALID,
				  "human side %d is out of range",
				  (int)session->human_side);
	if (session->left_ctrl == NULL || session->right_ctrl == NULL)
		return store_fail(s, STORE_ERR_INVALID,
				  "a session needs both controller names");

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, store_session_kinds[session->kind], -1,
			  SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, store_bits_of_u64(session->seed));
	sqlite3_bind_int64(st, 3, store_now_ms());
	sqlite3_bind_text(st, 4, session->left_ctrl, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, session->right_ctrl, -1, SQLITE_TRANSIENT);
	if (session->human_side == STORE_SIDE_NONE)
		sqlite3_bind_null(st, 6);
	else
		sqlite3_bind_text(st, 6,
				  session->human_side == STORE_SIDE_LEFT ? "left"
									 : "right",
				  -1, SQLITE_STATIC);
	store_bind_text_or_null(st, 7, session->config_json);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
		*id = sqlite3_last_insert_rowid(s->db);
	}
out:
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return store_fail_rc(s, rc, "starting a session");
	return STORE_OK;
}

enum store_status store_session_end(struct store *s, int64_t session_id)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
				    "UPDATE sessions SET ended_ms = ?2 WHERE id = ?1",
				    -1, &st, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, session_id);
		sqlite3_bind_int64(st, 2, store_now_ms());
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store_fail_rc(s, rc, "ending a session");
	if (sqlite3_changes(s->db) == 0)
		return store_fail(s, STORE_ERR_NOT_FOUND,
				  "no session with id %lld",
				  (long long)session_id);
	return STORE_OK;
}

enum store_status store_session_abandon(struct store *s, int64_t session_id)
{
	sqlite3_stmt *st = NULL;
	int rc;

	assert(!s->round_open);
	rc = sqlite3_prepare_v2(s->db,
				"DELETE FROM sessions WHERE id = ?1 AND NOT EXISTS"
				" (SELECT 1 FROM rounds WHERE session_id = ?1)",
				-1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, session_id);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store_fail_rc(s, rc, "ending a session");
	if (sqlite3_changes(s->db) > 0)
		return STORE_OK;
	return store_session_end(s, session_id);
}

/* Rounds */

/* Prepares s->frames_insert once: an INSERT of STORE_FRAMES_PER_INSERT rows
 * whose parameter 1 is the round id and whose row k takes parameters
 * 2 + 9k to 10 + 9k in the order of store_bind_frame(). */
static int store_prepare_frames_insert(struct store *s)
{
	char sql[2048];
	size_t len;

	if (s->frames_insert != NULL)
		return SQLITE_OK;
	len = (size_t)snprintf(sql, sizeof(sql),
			       "INSERT INTO frames (round_id, frame, ball_x,"
			       " ball_y, ball_vx, ball_vy, left_y, right_y,"
			       " move_left, move_right) VALUES ");
	for (int k = 0; k < STORE_FRAMES_PER_INSERT; k++) {
		int p = 2 + 9 * k;

		len += (size_t)snprintf(sql + len, sizeof(sql) - len,
					"%s(?1, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d, ?%d)",
					k ? ", " : "", p, p + 1, p + 2, p + 3,
					p + 4, p + 5, p + 6, p + 7, p + 8);
		assert(len < sizeof(sql));
	}
	return sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
				  &s->frames_insert, NULL);
}

/* Binds frame number index and the fields of f to parameters first to
 * first + 8 of st. */
static void store_bind_frame(sqlite3_stmt *st, int first, int64_t index,
			     const struct store_frame *f)
{
	sqlite3_bind_int64(st, first, index);
	sqlite3_bind_double(st, first + 1, f->ball_x);
	sqlite3_bind_double(st, first + 2, f->ball_y);
	sqlite3_bind_double(st, first + 3, f->ball_vx);
	sqlite3_bind_double(st, first + 4, f->ball_vy);
	sqlite3_bind_double(st, first + 5, f->left_y);
	sqlite3_bind_double(st, first + 6, f->right_y);
	sqlite3_bind_int(st, first + 7, f->move_left);
	sqlite3_bind_int(st, first + 8, f->move_right);
}

enum store_status store_round_begin(struct store *s, int64_t session_id,
				    int32_t number, int64_t *id)
{
	sqlite3_stmt *st;
	int rc;

	assert(!s->round_open);
	rc = store_run(s, STORE_STMT_BEGIN);
	if (rc != SQLITE_OK)
		return store_fail_rc(s, rc, "starting a round");

	st = store_stmt(s, STORE_STMT_ROUND_INSERT);
	if (st == NULL) {
		store_rollback(s);
		return store_status_of(s->db, sqlite3_errcode(s->db));
	}
	sqlite3_bind_int64(st, 1, session_id);
	sqlite3_bind_int(st, 2, number);
	sqlite3_bind_int64(st, 3, store_now_ms());
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		store_rollback(s);
		if ((rc & 0xff) == SQLITE_CONSTRAINT)
			return store_fail(s, STORE_ERR_NOT_FOUND,
					  "no session with id %lld",
					  (long long)session_id);
		return store_fail_rc(s, rc, "starting a round");
	}

	s->round_open = true;
	s->round_id = sqlite3_last_insert_rowid(s->db);
	s->round_frames = 0;
	*id = s->round_id;

	/* The round id stays bound for every frame of the round. */
	st = store_stmt(s, STORE_STMT_FRAME_INSERT);
	rc = st != NULL ? store_prepare_frames_insert(s) : SQLITE_ERROR;
	if (rc != SQLITE_OK) {
		store_round_abort(s);
		return store_fail_rc(s, sqlite3_errcode(s->db),
				     "preparing a statement");
	}
	sqlite3_bind_int64(st, 1, s->round_id);
	sqlite3_bind_int64(s->frames_insert, 1, s->round_id);
	return STORE_OK;
}

/* Rolls the round back after a failure that store_fail_rc() has recorded. */
static enum store_status store_round_fail(struct store *s,
					  enum store_status status)
{
	store_round_abort(s);
	return status;
}

enum store_status store_round_append(struct store *s,
				     const struct store_frame *frames,
				     size_t n)
{
	sqlite3_stmt *single_insert = s->stmt[STORE_STMT_FRAME_INSERT];
	sqlite3_stmt *multi_insert = s->frames_insert;
	size_t i = 0;

	assert(s->round_open);
	assert(single_insert != NULL);
	assert(multi_insert != NULL);

	/* Check the whole batch first, so a bad frame stores none of it. */
	for (size_t k = 0; k < n; k++)
		if (frames[k].move_left > STORE_MOVE_DOWN ||
		    frames[k].move_right > STORE_MOVE_DOWN)
			return store_round_fail(
				s, store_fail(s, STORE_ERR_INVALID,
					      "frame %lld has moves %d and %d, outside 0 to 2",
					      (long long)(s->round_frames + (int64_t)k),
					      frames[k].move_left,
					      frames[k].move_right));

	while (i < n) {
		bool batch = n - i >= STORE_FRAMES_PER_INSERT;
		sqlite3_stmt *st = batch ? multi_insert : single_insert;
		int rows = batch ? STORE_FRAMES_PER_INSERT : 1;
		int rc;

		for (int k = 0; k < rows; k++)
			store_bind_frame(st, 2 + 9 * k, s->round_frames + k,
					 &frames[i + (size_t)k]);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc != SQLITE_DONE)
			return store_round_fail(
				s, store_fail_rc(s, rc, "saving a frame"));
		s->round_frames += rows;
		i += (size_t)rows;
	}
	return STORE_OK;
}

enum store_status store_round_end(struct store *s,
				  const struct store_round_result *result)
{
	sqlite3_stmt *st;
	int rc;

	assert(s->round_open);
	if ((unsigned)result->winner > STORE_WINNER_DRAW)
		return store_round_fail(
			s, store_fail(s, STORE_ERR_INVALID,
				      "winner %d is out of range",
				      (int)result->winner));

	st = store_stmt(s, STORE_STMT_ROUND_FINISH);
	if (st == NULL)
		return store_round_fail(
			s, store_status_of(s->db, sqlite3_errcode(s->db)));
	sqlite3_bind_int64(st, 1, s->round_id);
	sqlite3_bind_text(st, 2, store_winners[result->winner], -1,
			  SQLITE_STATIC);
	sqlite3_bind_int(st, 3, result->returns_left);
	sqlite3_bind_int(st, 4, result->returns_right);
	sqlite3_bind_int64(st, 5, s->round_frames);
	sqlite3_bind_int64(st, 6, store_now_ms());
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return store_round_fail(s,
					store_fail_rc(s, rc, "saving the round"));

	rc = store_run(s, STORE_STMT_COMMIT);
	if (rc != SQLITE_OK)
		return store_round_fail(s,
					store_fail_rc(s, rc, "saving the round"));
	s->round_open = false;
	return STORE_OK;
}

void store_round_abort(struct store *s)
{
	if (!s->round_open)
		return;
	store_rollback(s);
	s->round_open = false;
}

bool store_round_is_open(const struct store *s)
{
	return s->round_open;
}

enum store_status store_rounds_list(struct store *s, int64_t after_id,
				    size_t max_rounds,
				    struct store_round_info **out, size_t *n)
{
	static const char sql[] =
		"SELECT id, session_id, number, n_frames FROM rounds"
		" WHERE id > ?1 AND ended_ms IS NOT NULL"
		" ORDER BY id DESC LIMIT ?2";
	sqlite3_stmt *st = NULL;
	struct store_round_info *rounds = NULL;
	void *grown;
	size_t count = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, after_id);
	sqlite3_bind_int64(st, 2, max_rounds == 0 || max_rounds > INT64_MAX
					  ? -1
					  : (int64_t)max_rounds);

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		grown = store_reserve(rounds, &cap, count + 1, sizeof(*rounds));
		if (grown == NULL) {
			rc = SQLITE_NOMEM;
			goto fail;
		}
		rounds = grown;
		rounds[count].id = sqlite3_column_int64(st, 0);
		rounds[count].session_id = sqlite3_column_int64(st, 1);
		rounds[count].number = sqlite3_column_int(st, 2);
		rounds[count].n_frames = sqlite3_column_int(st, 3);
		count++;
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);

	/* Newest first from the query, so LIMIT keeps the newest; oldest
	 * first for the caller. */
	for (size_t i = 0; i < count / 2; i++) {
		struct store_round_info t = rounds[i];

		rounds[i] = rounds[count - 1 - i];
		rounds[count - 1 - i] = t;
	}
	*out = rounds;
	*n = count;
	return STORE_OK;

fail:
	sqlite3_finalize(st);
	free(rounds);
	return store_fail_rc(s, rc, "listing rounds");
}

/* Frames for training */

void store_frames_free(struct store_frames *f)
{
	free(f->round_ids);
	free(f->round_start);
	free(f->frames);
	memset(f, 0, sizeof(*f));
}

/* Writes the frame counts of the requested rounds into start[1..n] as
 * running sums, so start[i] becomes round i's offset. */
static enum store_status store_frames_offsets(struct store *s,
					      const int64_t *round_ids,
					      size_t n_ids, size_t *start)
{
	sqlite3_stmt *st = store_stmt(s, STORE_STMT_ROUND_FRAMES);

	if (st == NULL)
		return store_status_of(s->db, sqlite3_errcode(s->db));
	start[0] = 0;
	for (size_t i = 0; i < n_ids; i++) {
		int rc;

		sqlite3_bind_int64(st, 1, round_ids[i]);
		rc = sqlite3_step(st);
		if (rc == SQLITE_DONE) {
			sqlite3_reset(st);
			return store_fail(s, STORE_ERR_NOT_FOUND,
					  "no finished round with id %lld",
					  (long long)round_ids[i]);
		}
		if (rc != SQLITE_ROW) {
			sqlite3_reset(st);
			return store_fail_rc(s, rc, "loading frames");
		}
		start[i + 1] = start[i] + (size_t)sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	return STORE_OK;
}

/* Reads round_id's frames into dst, which has room for exactly expected. */
static enum store_status store_frames_read(struct store *s, int64_t round_id,
					   struct store_frame *dst,
					   size_t expected)
{
	sqlite3_stmt *st = store_stmt(s, STORE_STMT_FRAME_SELECT);
	size_t count = 0;
	int rc;

	if (st == NULL)
		return store_status_of(s->db, sqlite3_errcode(s->db));
	sqlite3_bind_int64(st, 1, round_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW && count < expected) {
		struct store_frame *f = &dst[count++];

		f->ball_x = (float)sqlite3_column_double(st, 0);
		f->ball_y = (float)sqlite3_column_double(st, 1);
		f->ball_vx = (float)sqlite3_column_double(st, 2);
		f->ball_vy = (float)sqlite3_column_double(st, 3);
		f->left_y = (float)sqlite3_column_double(st, 4);
		f->right_y = (float)sqlite3_column_double(st, 5);
		f->move_left = (uint8_t)sqlite3_column_int(st, 6);
		f->move_right = (uint8_t)sqlite3_column_int(st, 7);
	}
	sqlite3_reset(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail_rc(s, rc, "loading frames");
	if (rc == SQLITE_ROW || count != expected)
		return store_fail(s, STORE_ERR_CORRUPT,
				  "round %lld lists %zu frames but holds a different number; restore a backup or pass another file with --db",
				  (long long)round_id, expected);
	return STORE_OK;
}

enum store_status store_frames_load(struct store *s, const int64_t *round_ids,
				    size_t n_ids, struct store_frames *out)
{
	enum store_status status;

	memset(out, 0, sizeof(*out));
	out->round_ids = malloc((n_ids ? n_ids : 1) * sizeof(*out->round_ids));
	out->round_start = malloc((n_ids + 1) * sizeof(*out->round_start));
	if (out->round_ids == NULL || out->round_start == NULL) {
		status = store_fail(s, STORE_ERR_NOMEM,
				    "out of memory while loading frames");
		goto fail;
	}
	if (n_ids > 0)
		memcpy(out->round_ids, round_ids, n_ids * sizeof(*round_ids));
	out->n_rounds = n_ids;

	status = store_frames_offsets(s, round_ids, n_ids, out->round_start);
	if (status != STORE_OK)
		goto fail;
	out->n_frames = out->round_start[n_ids];
	out->frames = malloc((out->n_frames ? out->n_frames : 1) *
			     sizeof(*out->frames));
	if (out->frames == NULL) {
		status = store_fail(s, STORE_ERR_NOMEM,
				    "out of memory while loading %zu frames",
				    out->n_frames);
		goto fail;
	}

	for (size_t i = 0; i < n_ids; i++) {
		size_t begin = out->round_start[i];

		status = store_frames_read(s, round_ids[i], out->frames + begin,
					   out->round_start[i + 1] - begin);
		if (status != STORE_OK)
			goto fail;
	}
	return STORE_OK;

fail:
	store_frames_free(out);
	return status;
}

/* Model versions */

enum store_status store_model_put(struct store *s, const struct store_model *m,
				  int64_t *id)
{
	static const char sql[] =
		"INSERT INTO models (parent_id, created_ms, kind, config_json,"
		" seed, weights, n_records, train_loss, val_loss, val_acc,"
		" return_rate, promoted, note)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";
	sqlite3_stmt *st = NULL;
	int rc;

	if ((unsigned)m->kind > STORE_MODEL_IMPORTED)
		return store_fail(s, STORE_ERR_INVALID,
				  "model kind %d is out of range", (int)m->kind);
	if (m->blob_size > INT_MAX)
		return store_fail(s, STORE_ERR_INVALID,
				  "model weights of %zu bytes exceed the %d-byte limit",
				  m->blob_size, INT_MAX);

	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto out;
	if (m->parent_id == 0)
		sqlite3_bind_null(st, 1);
	else
		sqlite3_bind_int64(st, 1, m->parent_id);
	sqlite3_bind_int64(st, 2, store_now_ms());
	sqlite3_bind_text(st, 3, store_model_kinds[m->kind], -1, SQLITE_STATIC);
	store_bind_text_or_null(st, 4, m->config_json);
	sqlite3_bind_int64(st, 5, store_bits_of_u64(m->seed));
	/* A zero-length blob, not NULL, when there are no bytes. */
	if (m->blob_size == 0)
		sqlite3_bind_zeroblob(st, 6, 0);
	else
		sqlite3_bind_blob(st, 6, m->blob, (int)m->blob_size,
				  SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, m->n_records);
	store_bind_measure(st, 8, m->train_loss);
	store_bind_measure(st, 9, m->val_loss);
	store_bind_measure(st, 10, m->val_acc);
	store_bind_measure(st, 11, m->return_rate);
	sqlite3_bind_int(st, 12, m->promoted ? 1 : 0);
	store_bind_text_or_null(st, 13, m->note);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
		*id = sqlite3_last_insert_rowid(s->db);
	}
out:
	sqlite3_finalize(st);
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return store_fail(s, STORE_ERR_NOT_FOUND,
				  "no parent model with id %lld",
				  (long long)m->parent_id);
	if (rc != SQLITE_OK)
		return store_fail_rc(s, rc, "saving a model version");
	return STORE_OK;
}

/* Copies text column i of st to *p and advances *p, or stores NULL. */
static const char *store_copy_text(sqlite3_stmt *st, int i, char **p)
{
	const unsigned char *text = sqlite3_column_text(st, i);
	size_t len = (size_t)sqlite3_column_bytes(st, i);
	char *dst = *p;

	if (text == NULL)
		return NULL;
	memcpy(dst, text, len);
	dst[len] = '\0';
	*p += len + 1;
	return dst;
}

/* Rounds n up to a multiple of 16, so the blob after the struct is aligned
 * for any numeric type the network stores in it. */
static size_t store_align16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

enum store_status store_model_get(struct store *s, int64_t id,
				  struct store_model **out)
{
	static const char sql[] =
		"SELECT id, parent_id, created_ms, kind, seed, weights,"
		" n_records, train_loss, val_loss, val_acc, return_rate,"
		" promoted, config_json, note FROM models WHERE id = ?1";
	sqlite3_stmt *st = NULL;
	struct store_model *m;
	size_t head = store_align16(sizeof(*m));
	size_t blob_size, size;
	char *p;
	int rc;

	*out = NULL;
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, id);
		rc = sqlite3_step(st);
	}
	if (rc == SQLITE_DONE) {
		sqlite3_finalize(st);
		return store_fail(s, STORE_ERR_NOT_FOUND,
				  "no model version with id %lld",
				  (long long)id);
	}
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		return store_fail_rc(s, rc, "reading a model version");
	}

	/* Fetch each variable-size column before its size, as the SQLite
	 * documentation of sqlite3_column_bytes() requires. */
	sqlite3_column_blob(st, 5);
	sqlite3_column_text(st, 12);
	sqlite3_column_text(st, 13);
	blob_size = (size_t)sqlite3_column_bytes(st, 5);
	size = head + store_align16(blob_size) +
	       (size_t)sqlite3_column_bytes(st, 12) + 1 +
	       (size_t)sqlite3_column_bytes(st, 13) + 1;
	m = malloc(size);
	if (m == NULL) {
		sqlite3_finalize(st);
		return store_fail(s, STORE_ERR_NOMEM,
				  "out of memory reading model version %lld",
				  (long long)id);
	}

	m->id = sqlite3_column_int64(st, 0);
	m->parent_id = sqlite3_column_int64(st, 1);
	m->created_ms = sqlite3_column_int64(st, 2);
	m->kind = strcmp((const char *)sqlite3_column_text(st, 3), "imported") == 0
			  ? STORE_MODEL_IMPORTED
			  : STORE_MODEL_TRAINED;
	m->seed = store_u64_of_bits(sqlite3_column_int64(st, 4));
	p = (char *)m + head;
	if (blob_size > 0)
		memcpy(p, sqlite3_column_blob(st, 5), blob_size);
	m->blob = p;
	m->blob_size = blob_size;
	p += store_align16(blob_size);
	m->n_records = sqlite3_column_int64(st, 6);
	m->train_loss = store_column_measure(st, 7);
	m->val_loss = store_column_measure(st, 8);
	m->val_acc = store_column_measure(st, 9);
	m->return_rate = store_column_measure(st, 10);
	m->promoted = sqlite3_column_int(st, 11) != 0;
	m->config_json = store_copy_text(st, 12, &p);
	m->note = store_copy_text(st, 13, &p);
	sqlite3_finalize(st);
	*out = m;
	return STORE_OK;
}

enum store_status store_model_set_eval(struct store *s, int64_t id,
				       double return_rate, bool promoted,
				       const char *note)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(s->db,
				    "UPDATE models SET return_rate = ?2,"
				    " promoted = ?3, note = ?4 WHERE id = ?1",
				    -1, &st, NULL);

	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, id);
		store_bind_measure(st, 2, return_rate);
		sqlite3_bind_int(st, 3, promoted ? 1 : 0);
		store_bind_text_or_null(st, 4, note);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return store_fail_rc(s, rc, "saving a model evaluation");
	if (sqlite3_changes(s->db) == 0)
		return store_fail(s, STORE_ERR_NOT_FOUND,
				  "no model version with id %lld",
				  (long long)id);
	return STORE_OK;
}

enum store_status store_model_latest_promoted(struct store *s, int64_t *id)
{
	int rc = store_query_int(s,
				 "SELECT id FROM models WHERE promoted = 1"
				 " ORDER BY id DESC LIMIT 1",
				 id);

	if (rc == SQLITE_DONE)
		return store_fail(s, STORE_ERR_NOT_FOUND,
				  "no promoted model version");
	if (rc != SQLITE_OK)
		return store_fail_rc(s, rc, "finding the promoted model");
	return STORE_OK;
}

enum store_status store_model_list(struct store *s, int64_t **ids, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int64_t *list = NULL;
	void *grown;
	size_t count = 0, cap = 0;
	int rc;

	*ids = NULL;
	*n = 0;
	rc = sqlite3_prepare_v2(s->db, "SELECT id FROM models ORDER BY id", -1,
				&st, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		grown = store_reserve(list, &cap, count + 1, sizeof(*list));
		if (grown == NULL) {
			rc = SQLITE_NOMEM;
			goto fail;
		}
		list = grown;
		list[count++] = sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	*ids = list;
	*n = count;
	return STORE_OK;

fail:
	sqlite3_finalize(st);
	free(list);
	return store_fail_rc(s, rc, "listing model versions");
}

/* Per-epoch metrics */

enum store_status store_epochs_put(struct store *s, int64_t model_id,
				   const struct store_epoch *epochs, size_t n)
{
	static const char sql[] =
		"INSERT OR REPLACE INTO epochs (model_id, epoch, train_loss,"
		" train_acc, val_loss, val_acc, duration_ms)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
	sqlite3_stmt *st = NULL;
	int rc = store_write_begin(s);

	if (rc != SQLITE_OK)
		return store_fail_rc(s, rc, "saving training metrics");
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
		const struct store_epoch *e = &epochs[i];

		sqlite3_bind_int64(st, 1, model_id);
		sqlite3_bind_int(st, 2, e->epoch);
		store_bind_measure(st, 3, e->train_loss);
		store_bind_measure(st, 4, e->train_acc);
		store_bind_measure(st, 5, e->val_loss);
		store_bind_measure(st, 6, e->val_acc);
		store_bind_measure(st, 7, e->duration_ms);
		rc = sqlite3_step(st);
		sqlite3_reset(st);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	sqlite3_finalize(st);

	if ((rc & 0xff) == SQLITE_CONSTRAINT) {
		store_write_end(s, rc);
		return store_fail(s, STORE_ERR_NOT_FOUND,
				  "no model version with id %lld",
				  (long long)model_id);
	}
	rc = store_write_end(s, rc);
	if (rc != SQLITE_OK)
		return store_fail_rc(s, rc, "saving training metrics");
	return STORE_OK;
}

enum store_status store_epochs_get(struct store *s, int64_t model_id,
				   struct store_epoch **out, size_t *n)
{
	static const char sql[] =
		"SELECT epoch, train_loss, train_acc, val_loss, val_acc,"
		" duration_ms FROM epochs WHERE model_id = ?1 ORDER BY epoch";
	sqlite3_stmt *st = NULL;
	struct store_epoch *list = NULL;
	void *grown;
	size_t count = 0, cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_bind_int64(st, 1, model_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct store_epoch *e;

		grown = store_reserve(list, &cap, count + 1, sizeof(*list));
		if (grown == NULL) {
			rc = SQLITE_NOMEM;
			goto fail;
		}
		list = grown;
		e = &list[count++];
		e->epoch = sqlite3_column_int(st, 0);
		e->train_loss = store_column_measure(st, 1);
		e->train_acc = store_column_measure(st, 2);
		e->val_loss = store_column_measure(st, 3);
		e->val_acc = store_column_measure(st, 4);
		e->duration_ms = store_column_measure(st, 5);
	}
	if (rc != SQLITE_DONE)
		goto fail;
	sqlite3_finalize(st);
	*out = list;
	*n = count;
	return STORE_OK;

fail:
	sqlite3_finalize(st);
	free(list);
	return store_fail_rc(s, rc, "reading training metrics");
}

/* The default path */

/* Creates dir and its missing parents with mode 0700, the mode the XDG base
 * directory specification gives for directories it creates. */
static int store_mkdirs(const char *dir)
{
	char buf[PATH_MAX];
	size_t len = strlen(dir);

	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, dir, len + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(buf, 0700) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

static bool store_is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool store_is_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static bool store_set(const char *value)
{
	return value != NULL && value[0] != '\0';
}

/* Writes dir/saves/ttypong.db into out and returns true when the executable
 * at exe_path sits in a source tree, that is its directory contains saves/
 * and a Makefile. */
static bool store_source_tree_path(const char *exe_path, char *out,
				   size_t out_size)
{
	char dir[PATH_MAX];
	char probe[PATH_MAX + 16];
	const char *slash;
	size_t len;
	int n;

	if (!store_set(exe_path) || (slash = strrchr(exe_path, '/')) == NULL)
		return false;
	len = (size_t)(slash - exe_path);
	if (len >= sizeof(dir))
		return false;
	memcpy(dir, exe_path, len);
	dir[len] = '\0';

	snprintf(probe, sizeof(probe), "%s/saves", dir);
	if (!store_is_dir(probe))
		return false;
	snprintf(probe, sizeof(probe), "%s/Makefile", dir);
	if (!store_is_file(probe))
		return false;
	n = snprintf(out, out_size, "%s/saves/ttypong.db", dir);
	return n > 0 && (size_t)n < out_size;
}

enum store_status store_resolve_path(const struct store_path_env *env,
				     char *out, size_t out_size, char *msg,
				     size_t msg_size)
{
	const char *chosen = NULL;
	char dir[PATH_MAX];
	int n;

	store_format(msg, msg_size, "");
	if (env->db_opt != NULL && env->db_opt[0] == '\0') {
		store_format(msg, msg_size,
			     "the --db path is empty; pass the save's file path with --db");
		return STORE_ERR_PATH;
	}
	if (env->db_opt != NULL)
		chosen = env->db_opt;
	else if (store_set(env->ttypong_db))
		chosen = env->ttypong_db;
	if (chosen != NULL) {
		n = snprintf(out, out_size, "%s", chosen);
		goto check_length;
	}

	if (store_source_tree_path(env->exe_path, out, out_size))
		return STORE_OK;

	/* The XDG specification tells programs to ignore a relative
	 * XDG_DATA_HOME. */
	if (store_set(env->xdg_data_home) && env->xdg_data_home[0] == '/')
		n = snprintf(dir, sizeof(dir), "%s/ttypong",
			     env->xdg_data_home);
	else if (store_set(env->home))
		n = snprintf(dir, sizeof(dir), "%s/.local/share/ttypong",
			     env->home);
	else if (store_set(env->xdg_data_home)) {
		store_format(msg, msg_size,
			     "no place for the save: HOME is unset, and XDG_DATA_HOME (%s) is ignored because it is not an absolute path; pass --db PATH or set TTYPONG_DB",
			     env->xdg_data_home);
		return STORE_ERR_PATH;
	} else {
		store_format(msg, msg_size,
			     "no place for the save: HOME and XDG_DATA_HOME are unset; pass --db PATH or set TTYPONG_DB");
		return STORE_ERR_PATH;
	}
	if (n < 0 || (size_t)n >= sizeof(dir)) {
		store_format(msg, msg_size,
			     "the data directory path is too long; pass --db PATH or set TTYPONG_DB");
		return STORE_ERR_PATH;
	}
	if (store_mkdirs(dir) != 0) {
		store_format(msg, msg_size,
			     "%s: cannot create the save's directory (%s); create it or pass --db PATH",
			     dir, strerror(errno));
		return STORE_ERR_PATH;
	}
	n = snprintf(out, out_size, "%s/ttypong.db", dir);

check_length:
	if (n < 0 || (size_t)n >= out_size) {
		store_format(msg, msg_size,
			     "the save's path is longer than %zu bytes; pass a shorter --db PATH",
			     out_size - 1);
		return STORE_ERR_PATH;
	}
	return STORE_OK;
}

enum store_status store_default_path(const char *db_opt, char *out,
				     size_t out_size, char *msg,
				     size_t msg_size)
{
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	struct store_path_env env = {
		.db_opt = db_opt,
		.ttypong_db = getenv("TTYPONG_DB"),
		.exe_path = NULL,
		.xdg_data_home = getenv("XDG_DATA_HOME"),
		.home = getenv("HOME"),
	};

	if (len > 0) {
		exe[len] = '\0';
		env.exe_path = exe;
	}
	return store_resolve_path(&env, out, out_size, msg, msg_size);
}
