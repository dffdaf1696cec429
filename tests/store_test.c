/* Tests of the save: migration, round trips, the one-transaction-per-round
 * contract under SIGKILL, and each failure a user can meet (not a database,
 * newer schema, read-only, locked, disk full) with the file left unchanged.
 *
 * As root, the read-only and disk-full cases mount file systems in a private
 * mount namespace (unshare(CLONE_NEWNS)). Where the kernel rejects that, they
 * skip with the reason. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "store.h"

/* Header fields of an SQLite file, big-endian 32-bit at these offsets. */
#define STORE_TEST_USER_VERSION_OFFSET 60
#define STORE_TEST_APPLICATION_ID_OFFSET 68

struct store_test_dir {
	char dir[64];
	char path[128];
};

static void store_test_mkdir(struct store_test_dir *t)
{
	strcpy(t->dir, "/tmp/store_test.XXXXXX");
	cr_assert_not_null(mkdtemp(t->dir), "mkdtemp failed: %s", strerror(errno));
	snprintf(t->path, sizeof(t->path), "%s/save.db", t->dir);
}

static int store_test_unlink(const char *path, const struct stat *st, int flag,
			     struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void store_test_rmdir(struct store_test_dir *t)
{
	nftw(t->dir, store_test_unlink, 8, FTW_DEPTH | FTW_PHYS);
}

static struct store *store_test_open(const char *path)
{
	char msg[STORE_MSG_MAX];
	struct store *s = NULL;
	enum store_status status = store_open(path, NULL, &s, msg, sizeof(msg));

	cr_assert_eq(status, STORE_OK, "store_open(%s) failed: %s", path, msg);
	return s;
}

static int64_t store_test_session(struct store *s)
{
	struct store_session session = {
		.kind = STORE_SESSION_PLAY,
		.seed = 42,
		.left_ctrl = "human",
		.right_ctrl = "net",
		.human_side = STORE_SIDE_LEFT,
		.config_json = "{\"points_to_win\":11}",
	};
	int64_t id = 0;

	cr_assert_eq(store_session_begin(s, &session, &id), STORE_OK,
		     "session_begin failed: %s", store_errmsg(s));
	return id;
}

/* A frame whose every field depends on the round and frame number, so a
 * frame read back from the wrong place shows. */
static struct store_frame store_test_frame(int round, int i)
{
	struct store_frame f = {
		.ball_x = (float)round * 1000.0f + (float)i * 0.25f,
		.ball_y = -(float)i * 0.125f,
		.ball_vx = 70.0f + (float)round,
		.ball_vy = (float)(i % 17) - 8.5f,
		.left_y = (float)(i % 31) * 0.5f,
		.right_y = -(float)(i % 29) * 0.75f,
		.move_left = (uint8_t)(i % 3),
		.move_right = (uint8_t)((i + round) % 3),
	};

	return f;
}

static int store_test_round_frames(int round)
{
	return 100 + 37 * round;
}

/* Records one round of store_test_round_frames(round) frames. */
static int64_t store_test_round(struct store *s, int64_t session, int round)
{
	struct store_round_result result = { STORE_WINNER_RIGHT, round, 2 };
	int64_t id = 0;

	cr_assert_eq(store_round_begin(s, session, round, &id), STORE_OK,
		     "round_begin %d failed: %s", round, store_errmsg(s));
	for (int i = 0; i < store_test_round_frames(round); i++) {
		struct store_frame f = store_test_frame(round, i);

		cr_assert_eq(store_round_append(s, &f, 1), STORE_OK,
			     "append failed: %s", store_errmsg(s));
	}
	cr_assert_eq(store_round_end(s, &result), STORE_OK,
		     "round_end %d failed: %s", round, store_errmsg(s));
	return id;
}

static void store_test_expect_frame(const struct store_frame *got,
				    const struct store_frame *want, int round,
				    size_t k)
{
	cr_assert_eq(got->ball_x, want->ball_x, "round %d frame %zu ball_x", round, k);
	cr_assert_eq(got->ball_y, want->ball_y, "round %d frame %zu ball_y", round, k);
	cr_assert_eq(got->ball_vx, want->ball_vx, "round %d frame %zu ball_vx", round, k);
	cr_assert_eq(got->ball_vy, want->ball_vy, "round %d frame %zu ball_vy", round, k);
	cr_assert_eq(got->left_y, want->left_y, "round %d frame %zu left_y", round, k);
	cr_assert_eq(got->right_y, want->right_y, "round %d frame %zu right_y", round, k);
	cr_assert_eq(got->move_left, want->move_left, "round %d frame %zu move_left",
		     round, k);
	cr_assert_eq(got->move_right, want->move_right, "round %d frame %zu move_right",
		     round, k);
}

/* Checks that the frames of round number `round` (1-based) in f at index i
 * equal what store_test_round() wrote. */
static void store_test_expect_round(const struct store_frames *f, size_t i,
				    int round)
{
	size_t begin = f->round_start[i];
	size_t n = f->round_start[i + 1] - begin;

	cr_assert_eq(n, (size_t)store_test_round_frames(round),
		     "round %d has %zu frames", round, n);
	for (size_t k = 0; k < n; k++) {
		struct store_frame want = store_test_frame(round, (int)k);

		store_test_expect_frame(&f->frames[begin + k], &want, round, k);
	}
}

static uint32_t store_test_header_u32(const char *path, long offset)
{
	unsigned char b[4];
	FILE *fp = fopen(path, "rb");

	cr_assert_not_null(fp, "cannot open %s: %s", path, strerror(errno));
	cr_assert_eq(fseek(fp, offset, SEEK_SET), 0, "seek in %s failed", path);
	cr_assert_eq(fread(b, 1, 4, fp), 4u, "%s is shorter than its header", path);
	fclose(fp);
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void store_test_set_header_u32(const char *path, long offset,
				      uint32_t value)
{
	unsigned char b[4] = { value >> 24, value >> 16, value >> 8, value };
	FILE *fp = fopen(path, "r+b");

	cr_assert_not_null(fp, "cannot open %s: %s", path, strerror(errno));
	cr_assert_eq(fseek(fp, offset, SEEK_SET), 0, "seek in %s failed", path);
	cr_assert_eq(fwrite(b, 1, 4, fp), 4u, "write to %s failed", path);
	fclose(fp);
}

/* Reads the whole file into a malloc'ed buffer. */
static unsigned char *store_test_slurp(const char *path, size_t *size)
{
	FILE *fp = fopen(path, "rb");
	unsigned char *buf;
	long len;

	cr_assert_not_null(fp, "cannot open %s: %s", path, strerror(errno));
	fseek(fp, 0, SEEK_END);
	len = ftell(fp);
	rewind(fp);
	buf = malloc((size_t)len + 1);
	cr_assert_not_null(buf, "out of memory");
	cr_assert_eq(fread(buf, 1, (size_t)len, fp), (size_t)len, "short read of %s", path);
	fclose(fp);
	*size = (size_t)len;
	return buf;
}

/* Number of entries in dir, so a test can see that nothing was created. */
static int store_test_count_entries(const char *dir)
{
	char cmd[256];
	FILE *p;
	int n = -1;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	p = popen(cmd, "r");
	cr_assert_not_null(p, "popen failed");
	cr_assert_eq(fscanf(p, "%d", &n), 1, "cannot count entries of %s", dir);
	pclose(p);
	return n;
}

/* Opens path expecting status, and checks that the file's bytes and the
 * directory's entries did not change and the message is one line naming
 * the path. */
static void store_test_expect_rejected(const char *dir, const char *path,
				       enum store_status want,
				       const char *needle)
{
	char msg[STORE_MSG_MAX];
	size_t size_before, size_after;
	unsigned char *before = store_test_slurp(path, &size_before);
	int entries = store_test_count_entries(dir);
	struct store *s = (struct store *)1;
	enum store_status status = store_open(path, NULL, &s, msg, sizeof(msg));
	unsigned char *after;

	cr_assert_eq(status, want, "store_open gave \"%s\" (%s), expected \"%s\"",
		     store_status_name(status), msg, store_status_name(want));
	cr_assert_null(s, "a failed open left a handle");
	cr_assert_not_null(strstr(msg, path), "message does not name the path: %s", msg);
	cr_assert_null(strchr(msg, '\n'), "message spans lines: %s", msg);
	cr_assert_not_null(strstr(msg, needle), "message lacks \"%s\": %s", needle, msg);

	after = store_test_slurp(path, &size_after);
	cr_assert_eq(size_after, size_before, "file size changed from %zu to %zu",
		     size_before, size_after);
	cr_assert_eq(memcmp(before, after, size_before), 0, "file bytes changed");
	cr_assert_eq(store_test_count_entries(dir), entries,
		     "opening created or removed files in %s", dir);
	free(before);
	free(after);
}

/* Makes this test process's mounts private, or returns false with a reason
 * when the kernel refuses (no root, no user namespaces). */
static bool store_test_private_mounts(char *reason, size_t reason_size)
{
	if (unshare(CLONE_NEWNS) != 0) {
		snprintf(reason, reason_size, "unshare(CLONE_NEWNS) failed: %s", strerror(errno));
		return false;
	}
	if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		snprintf(reason, reason_size, "making mounts private failed: %s", strerror(errno));
		return false;
	}
	return true;
}

static double store_test_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* Prepares a forked child: it dies with the test process and after 60 s at
 * most, so a failing test leaves no process behind. Children use no
 * Criterion assertion, because those report to the runner as the test's
 * own. They _exit() non-zero on failure, which closes the pipe the parent
 * reads. */
static void store_test_child_setup(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	alarm(60);
}

/* Migration and round trips */

Test(store, migrates_empty_file)
{
	struct store_test_dir t;
	struct store *s;
	int fd;

	store_test_mkdir(&t);
	fd = open(t.path, O_CREAT | O_WRONLY, 0644);
	cr_assert_geq(fd, 0, "cannot create %s", t.path);
	close(fd);

	s = store_test_open(t.path);
	cr_assert_eq(store_check(s), STORE_OK, "fresh save fails its check: %s",
		     store_errmsg(s));
	store_close(s);

	/* Closing checkpoints the WAL, so the header is in the main file. */
	cr_assert_eq(store_test_header_u32(t.path, STORE_TEST_USER_VERSION_OFFSET),
		     (uint32_t)STORE_SCHEMA_VERSION, "user_version not set");
	cr_assert_eq(store_test_header_u32(t.path, STORE_TEST_APPLICATION_ID_OFFSET),
		     (uint32_t)STORE_APPLICATION_ID, "application_id not set");
	store_test_rmdir(&t);
}

Test(store, creates_missing_file)
{
	struct store_test_dir t;
	struct store *s;

	store_test_mkdir(&t);
	s = store_test_open(t.path);
	cr_assert_str_eq(store_path(s), t.path, "store_path differs");
	store_close(s);
	cr_assert_eq(store_test_header_u32(t.path, STORE_TEST_USER_VERSION_OFFSET),
		     (uint32_t)STORE_SCHEMA_VERSION, "user_version not set");
	store_test_rmdir(&t);
}

Test(store, reopen_keeps_data)
{
	struct store_test_dir t;
	struct store *s;
	struct store_round_info *rounds;
	size_t n;

	store_test_mkdir(&t);
	s = store_test_open(t.path);
	store_test_round(s, store_test_session(s), 1);
	store_close(s);

	s = store_test_open(t.path);
	cr_assert_eq(store_rounds_list(s, 0, 0, &rounds, &n), STORE_OK,
		     "rounds_list failed: %s", store_errmsg(s));
	cr_assert_eq(n, 1u, "reopened save lists %zu rounds", n);
	free(rounds);
	store_close(s);
	store_test_rmdir(&t);
}

Test(store, frames_round_trip)
{
	struct store_test_dir t;
	struct store *s;
	int64_t session, ids[4];
	struct store_round_info *rounds;
	struct store_frames f;
	size_t n;
	int64_t pick[3];

	store_test_mkdir(&t);
	s = store_test_open(t.path);
	session = store_test_session(s);
	for (int r = 1; r <= 4; r++)
		ids[r - 1] = store_test_round(s, session, r);

	cr_assert_eq(store_rounds_list(s, 0, 0, &rounds, &n), STORE_OK,
		     "rounds_list failed: %s", store_errmsg(s));
	cr_assert_eq(n, 4u, "listed %zu rounds", n);
	for (size_t i = 0; i < n; i++) {
		cr_assert_eq(rounds[i].id, ids[i], "round %zu has id %lld", i,
			     (long long)rounds[i].id);
		cr_assert_eq(rounds[i].session_id, session, "round %zu session", i);
		cr_assert_eq(rounds[i].number, (int32_t)i + 1, "round %zu number", i);
		cr_assert_eq(rounds[i].n_frames, store_test_round_frames((int)i + 1),
			     "round %zu frame count", i);
	}
	free(rounds);

	/* The newest two, oldest first; and rounds after an id. */
	cr_assert_eq(store_rounds_list(s, 0, 2, &rounds, &n), STORE_OK, "list newest");
	cr_assert_eq(n, 2u, "max_rounds 2 listed %zu", n);
	cr_assert_eq(rounds[0].id, ids[2], "newest two start with round 3");
	cr_assert_eq(rounds[1].id, ids[3], "newest two end with round 4");
	free(rounds);
	cr_assert_eq(store_rounds_list(s, ids[2], 0, &rounds, &n), STORE_OK, "list after");
	cr_assert_eq(n, 1u, "after round 3 listed %zu", n);
	cr_assert_eq(rounds[0].id, ids[3], "after round 3 comes round 4");
	free(rounds);

	/* Any order of ids, as a trainer sampling rounds would ask. */
	pick[0] = ids[3];
	pick[1] = ids[0];
	pick[2] = ids[2];
	cr_assert_eq(store_frames_load(s, pick, 3, &f), STORE_OK,
		     "frames_load failed: %s", store_errmsg(s));
	cr_assert_eq(f.n_rounds, 3u, "loaded %zu rounds", f.n_rounds);
	cr_assert_eq(f.n_frames,
		     (size_t)(store_test_round_frames(4) + store_test_round_frames(1) +
			      store_test_round_frames(3)),
		     "loaded %zu frames", f.n_frames);
	cr_assert_eq(f.round_ids[0], ids[3], "round ids keep the requested order");
	store_test_expect_round(&f, 0, 4);
	store_test_expect_round(&f, 1, 1);
	store_test_expect_round(&f, 2, 3);
	store_frames_free(&f);
	cr_assert_null(f.frames, "frames_free left a pointer");

	store_close(s);
	store_test_rmdir(&t);
}

Test(store, appends_in_batches)
{
	struct store_test_dir t;
	struct store *s;
	struct store_frame batch[250];
	struct store_round_result result = { STORE_WINNER_DRAW, 0, 0 };
	struct store_frames f;
	int64_t id;

	store_test_mkdir(&t);
	s = store_test_open(t.path);
	cr_assert_eq(store_round_begin(s, store_test_session(s), 1, &id), STORE_OK,
		     "round_begin failed: %s", store_errmsg(s));
	for (int i = 0; i < 250; i++)
		batch[i] = store_test_frame(5, i);
	cr_assert_eq(store_round_append(s, batch, 100), STORE_OK, "first batch");
	cr_assert_eq(store_round_append(s, batch + 100, 0), STORE_OK, "empty batch");
	cr_assert_eq(store_round_append(s, batch + 100, 150), STORE_OK, "second batch");
	cr_assert_eq(store_round_end(s, &result), STORE_OK, "round_end failed: %s",
		     store_errmsg(s));

	cr_assert_eq(store_frames_load(s, &id, 1, &f), STORE_OK, "frames_load");
	cr_assert_eq(f.n_frames, 250u, "loaded %zu frames", f.n_frames);
	for (size_t i = 0; i < 250; i++)
		store_test_expect_frame(&f.frames[i], &batch[i], 5, i);
	store_frames_free(&f);
	store_close(s);
	store_test_rmdir(&t);
}

Test(store, empty_round_and_empty_load)
{
	struct store_test_dir t;
	struct store *s;
	struct store_round_result result = { STORE_WINNER_LEFT, 0, 0 };
	struct store_frames f;
	int64_t id;

	store_test_mkdir(&t);
	s = store_test_open(t.path);
	cr_assert_eq(store_round_begin(s, store_test_session(s), 1, &id), STORE_OK,
		     "round_begin failed");
	cr_assert_eq(store_round_end(s, &result), STORE_OK, "round_end failed");
	cr_assert_eq(store_frames_load(s, &id, 1, &f), STORE_OK,
		     "loading an empty round failed: %s", store_errmsg(s));
	cr_assert_eq(f.n_frames, 0u, "empty round loaded %zu frames", f.n_frames);
	store_frames_free(&f);
	cr_assert_eq(store_frames_load(s, NULL, 0, &f), STORE_OK,
		     "loading no rounds failed: %s", store_errmsg(s));
	cr_assert_eq(f.n_rounds, 0u, "no rounds requested, %zu loaded", f.n_rounds);
	store_frames_free(&f);
	store_close(s);
	store_test_rmdir(&t);
}

Test(store, abandoned_session)
{
	struct store_test_dir t;
	struct store_counts c;
	struct store *s;
	int64_t empty, kept;

	store_test_mkdir(&t);
	s = store_test_open(t.path);
	empty = store_test_session(s);
	kept = store_test_session(s);
	store_test_round(s, kept, 1);

	cr_assert_eq(store_session_abandon(s, empty), STORE_OK,
		     "abandoning an empty session failed: %s", store_errmsg(s));
	cr_assert_eq(store_session_abandon(s, kept), STORE_OK,
		     "abandoning a session with a round failed: %s", store_errmsg(s));
	cr_assert_eq(store_count(s, &c), STORE_OK, "count failed: %s", store_errmsg(s));
	cr_assert_eq(c.n_sessions, 1, "%lld sessions left, expected the one with a round",
		     (long long)c.n_sessions);
	cr_assert_eq(c.n_rounds, 1, "%lld rounds left, expected 1", (long long)c.n_rounds);
	cr_assert_eq(store_session_abandon(s, empty), STORE_ERR_NOT_FOUND,
		     "abandoning a deleted session succeeded");
	store_close(s);
	store_test_rmdir(&t);
}

Test(store, aborted_round_rolled_back)
{
	struct store_test_dir t;
	struct store *s;
	struct store_round_info *rounds;
	struct store_frames f;
	struct store_counts counts;
	size_t n;
	int64_t session, kept, aborted;

	store_test_mkdir(&t);
	s = store_test_open(t.path);
	session = store_test_session(s);
	kept = store_test_round(s, session, 1);

	cr_assert_eq(store_round_begin(s, session, 2, &aborted), STORE_OK, "round_begin");
	for (int i = 0; i < 50; i++) {
		struct store_frame fr = store_test_frame(2, i);

		cr_assert_eq(store_round_append(s, &fr, 1), STORE_OK, "append");
	}
	cr_assert(store_round_is_open(s), "round not open after begin");
	store_round_abort(s);
	cr_assert(!store_round_is_open(s), "round open after abort");

	cr_assert_eq(store_rounds_list(s, 0, 0, &rounds, &n), STORE_OK, "rounds_list");
	cr_assert_eq(n, 1u, "aborted round is listed (%zu rounds)", n);
	cr_assert_eq(rounds[0].id, kept, "the kept round is missing");
	free(rounds);
	cr_assert_eq(store_frames_load(s, &aborted, 1, &f), STORE_ERR_NOT_FOUND,
		     "frames of an aborted round load");
	cr_assert_eq(store_count(s, &counts), STORE_OK, "store_count: %s", store_errmsg(s));
	cr_assert_eq(counts.n_rounds, 1, "%lld round rows after an abort",
		     (long long)counts.n_rounds);
	cr_assert_eq(counts.n_frames, store_test_round_frames(1),
		     "%lld frame rows after an abort", (long long)counts.n_frames);
	cr_assert_null(f.frames, "failed load left frames");

	/* A round open at close is rolled back too. */
	cr_assert_eq(store_round_begin(s, session, 3, &aborted), STORE_OK, "round_begin");
	store_close(s);
	s = store_test_open(t.path);
	cr_assert_eq(store_rounds_list(s, 0, 0, &rounds, &n), STORE_OK, "rounds_list");
	cr_assert_eq(n, 1u, "round open at close was kept (%zu rounds)", n);
	free(rounds);
	store_close(s);
	store_test_rmdir(&t);
}

Test(store, writes_in_round_share_its_fate)
{
	struct store_test_dir t;
	struct store *s;
	struct store_model m = { .kind = STORE_MODEL_TRAINED, .train_loss = NAN,
				 .val_loss = NAN, .val_acc = NAN, .return_rate = NAN };
	struct store_epoch e = { 1, 0.5, 0.5, 0.5, 0.5, 10.0 };
	struct store_counts counts;
	struct store_epoch *got;
	size_t n;
	int64_t session, round_id, model_id;

	store_test_mkdir(&t);
	s = store_test_open(t.path);
	session = store_test_session(s);

	cr_assert_eq(store_round_begin(s, session, 1, &round_id), STORE_OK, "round_begin");
	cr_assert_eq(store_model_put(s, &m, &model_id), STORE_OK, "model_put in a round: %s",
		     store_errmsg(s));
	cr_assert_eq(store_epochs_put(s, model_id, &e, 1), STORE_OK,
		     "epochs_put in a round: %s", store_errmsg(s));
	cr_assert(store_round_is_open(s), "epochs_put closed the round");
	store_round_abort(s);
	cr_assert_eq(store_count(s, &counts), STORE_OK, "store_count");
	cr_assert_eq(counts.n_models, 0, "a model written in an aborted round was kept");

	cr_assert_eq(store_round_begin(s, session, 1, &round_id), STORE_OK, "round_begin");
	cr_assert_eq(store_model_put(s, &m, &model_id), STORE_OK, "model_put");
	cr_assert_eq(store_epochs_put(s, 999, &e, 1), STORE_ERR_NOT_FOUND,
		     "epochs of an unknown model accepted in a round");
	cr_assert(store_round_is_open(s), "a failed epochs_put closed the round");
	cr_assert_eq(store_epochs_put(s, model_id, &e, 1), STORE_OK, "epochs_put");
	cr_assert_eq(store_round_end(s, &(struct store_round_result){ STORE_WINNER_LEFT, 0, 0 }),
		     STORE_OK, "round_end: %s", store_errmsg(s));
	cr_assert_eq(store_epochs_get(s, model_id, &got, &n), STORE_OK, "epochs_get");
	cr_assert_eq(n, 1u, "a model written in a finished round has %zu epochs", n);
	free(got);
	store_close(s);
	store_test_rmdir(&t);
}

Test(store, invalid_move_rolls_back_round)
{
	struct store_test_dir t;
	struct store *s;
	struct store_frame f = store_test_frame(1, 0);
	struct store_round_info *rounds;
	size_t n;
	int64_t id;

	store_test_mkdir(&t);
	s = store_test_open(t.path);
	cr_assert_eq(store_round_begin(s, store_test_session(s), 1, &id), STORE_OK,
		     "round_begin");
	f.move_right = 3;
	cr_assert_eq(store_round_append(s, &f, 1), STORE_ERR_INVALID,
		     "move 3 was accepted");
	cr_assert_not_null(strstr(store_errmsg(s), "moves"), "message: %s",
			   store_errmsg(s));
	cr_assert(!store_round_is_open(s), "round still open after a failed append");
	cr_assert_eq(store_rounds_list(s, 0, 0, &rounds, &n), STORE_OK, "rounds_list");
	cr_assert_eq(n, 0u, "failed round was kept");
	store_close(s);
	store_test_rmdir(&t);
}

Test(store, invalid_session_and_round)
{
	struct store_test_dir t;
	struct store *s;
	struct store_session bad = {
		.kind = (enum store_session_kind)9, .left_ctrl = "a",
		.right_ctrl = "b", .human_side = STORE_SIDE_NONE,
	};
	int64_t id;

	store_test_mkdir(&t);
	s = store_test_open(t.path);
	cr_assert_eq(store_session_begin(s, &bad, &id), STORE_ERR_INVALID,
		     "session kind 9 accepted");
	bad.kind = STORE_SESSION_SIM;
	bad.left_ctrl = NULL;
	cr_assert_eq(store_session_begin(s, &bad, &id), STORE_ERR_INVALID,
		     "missing controller name accepted");
	cr_assert_eq(store_round_begin(s, 999, 1, &id), STORE_ERR_NOT_FOUND,
		     "round of an unknown session accepted");
	cr_assert(!store_round_is_open(s), "failed round_begin left a round open");
	cr_assert_eq(store_session_end(s, 999), STORE_ERR_NOT_FOUND,
		     "ending an unknown session succeeded");
	cr_assert_eq(store_session_end(s, store_test_session(s)), STORE_OK,
		     "session_end failed: %s", store_errmsg(s));
	store_close(s);
	store_test_rmdir(&t);
}

Test(store, models_round_trip)
{
	struct store_test_dir t;
	struct store *s;
	unsigned char blob[10007];
	struct store_model m = {
		.kind = STORE_MODEL_TRAINED,
		.config_json = "{\"layers\":[64,64,3]}",
		.seed = UINT64_MAX - 5,
		.blob = blob,
		.blob_size = sizeof(blob),
		.n_records = 123456,
		.train_loss = 0.75,
		.val_loss = 0.8125,
		.val_acc = 0.625,
		.return_rate = NAN,
		.promoted = false,
		.note = "val loss above parent",
	};
	struct store_model *got;
	int64_t first, second, promoted, *ids;
	size_t n;

	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (unsigned char)(i * 131 + 7);
	store_test_mkdir(&t);
	s = store_test_open(t.path);
	cr_assert_eq(store_model_latest_promoted(s, &promoted), STORE_ERR_NOT_FOUND,
		     "empty save has a promoted model");
	cr_assert_eq(store_model_put(s, &m, &first), STORE_OK, "model_put failed: %s",
		     store_errmsg(s));

	cr_assert_eq(store_model_get(s, first, &got), STORE_OK, "model_get failed: %s",
		     store_errmsg(s));
	cr_assert_eq(got->id, first, "id");
	cr_assert_eq(got->parent_id, 0, "parent of the first model");
	cr_assert_gt(got->created_ms, 1600000000000LL, "created_ms %lld",
		     (long long)got->created_ms);
	cr_assert_eq(got->kind, STORE_MODEL_TRAINED, "kind");
	cr_assert_str_eq(got->config_json, m.config_json, "config_json");
	cr_assert_eq(got->seed, m.seed, "seed above INT64_MAX");
	cr_assert_eq(got->blob_size, sizeof(blob), "blob size %zu", got->blob_size);
	cr_assert_eq(memcmp(got->blob, blob, sizeof(blob)), 0, "blob bytes differ");
	cr_assert_eq((uintptr_t)got->blob % 16, 0u, "blob not 16-byte aligned");
	cr_assert_eq(got->n_records, 123456, "n_records");
	cr_assert_eq(got->train_loss, 0.75, "train_loss");
	cr_assert_eq(got->val_loss, 0.8125, "val_loss");
	cr_assert_eq(got->val_acc, 0.625, "val_acc");
	cr_assert(isnan(got->return_rate), "unmeasured return_rate reads %g",
		  got->return_rate);
	cr_assert(!got->promoted, "promoted");
	cr_assert_str_eq(got->note, m.note, "note");
	free(got);

	/* An imported child with no bytes, no config and no note. */
	m.kind = STORE_MODEL_IMPORTED;
	m.parent_id = first;
	m.blob = NULL;
	m.blob_size = 0;
	m.config_json = NULL;
	m.note = NULL;
	cr_assert_eq(store_model_put(s, &m, &second), STORE_OK, "model_put failed: %s",
		     store_errmsg(s));
	cr_assert_eq(store_model_get(s, second, &got), STORE_OK, "model_get");
	cr_assert_eq(got->parent_id, first, "parent id");
	cr_assert_eq(got->kind, STORE_MODEL_IMPORTED, "kind imported");
	cr_assert_eq(got->blob_size, 0u, "empty blob size");
	cr_assert_null(got->config_json, "NULL config_json");
	cr_assert_null(got->note, "NULL note");
	free(got);

	cr_assert_eq(store_model_set_eval(s, first, 0.5, true, NULL), STORE_OK,
		     "set_eval failed: %s", store_errmsg(s));
	cr_assert_eq(store_model_latest_promoted(s, &promoted), STORE_OK,
		     "latest_promoted failed: %s", store_errmsg(s));
	cr_assert_eq(promoted, first, "latest promoted is %lld", (long long)promoted);
	cr_assert_eq(store_model_get(s, first, &got), STORE_OK, "model_get");
	cr_assert_eq(got->return_rate, 0.5, "return_rate after eval");
	cr_assert(got->promoted, "promoted after eval");
	cr_assert_null(got->note, "note cleared");
	free(got);

	cr_assert_eq(store_model_list(s, &ids, &n), STORE_OK, "model_list");
	cr_assert_eq(n, 2u, "listed %zu models", n);
	cr_assert_eq(ids[0], first, "oldest first");
	cr_assert_eq(ids[1], second, "then the second");
	free(ids);

	cr_assert_eq(store_model_get(s, 999, &got), STORE_ERR_NOT_FOUND, "get of 999");
	cr_assert_null(got, "failed get left a model");
	cr_assert_eq(store_model_set_eval(s, 999, 0.1, false, NULL), STORE_ERR_NOT_FOUND,
		     "set_eval of 999");
	m.parent_id = 999;
	cr_assert_eq(store_model_put(s, &m, &second), STORE_ERR_NOT_FOUND,
		     "unknown parent accepted");
	store_close(s);
	store_test_rmdir(&t);
}

Test(store, epochs_round_trip)
{
	struct store_test_dir t;
	struct store *s;
	struct store_model m = { .kind = STORE_MODEL_TRAINED, .train_loss = NAN,
				 .val_loss = NAN, .val_acc = NAN, .return_rate = NAN };
	struct store_epoch e[3], again, *got;
	int64_t id;
	size_t n;

	for (int i = 0; i < 3; i++)
		e[i] = (struct store_epoch){ i + 1, 1.0 / (i + 1), 0.25 * i,
					     1.5 / (i + 1), 0.125 * i, 12.5 * i };
	e[2].val_loss = NAN;
	store_test_mkdir(&t);
	s = store_test_open(t.path);
	cr_assert_eq(store_model_put(s, &m, &id), STORE_OK, "model_put");
	cr_assert_eq(store_epochs_put(s, id, e, 3), STORE_OK, "epochs_put failed: %s",
		     store_errmsg(s));
	again = e[1];
	again.train_loss = 9.0;
	cr_assert_eq(store_epochs_put(s, id, &again, 1), STORE_OK, "replace epoch 2");

	cr_assert_eq(store_epochs_get(s, id, &got, &n), STORE_OK, "epochs_get failed: %s",
		     store_errmsg(s));
	cr_assert_eq(n, 3u, "read %zu epochs", n);
	for (size_t i = 0; i < 3; i++) {
		const struct store_epoch *want = i == 1 ? &again : &e[i];

		cr_assert_eq(got[i].epoch, want->epoch, "epoch %zu number", i);
		cr_assert_eq(got[i].train_loss, want->train_loss, "epoch %zu train_loss", i);
		cr_assert_eq(got[i].train_acc, want->train_acc, "epoch %zu train_acc", i);
		cr_assert_eq(got[i].val_acc, want->val_acc, "epoch %zu val_acc", i);
		cr_assert_eq(got[i].duration_ms, want->duration_ms, "epoch %zu ms", i);
	}
	cr_assert_eq(got[0].val_loss, e[0].val_loss, "epoch 1 val_loss");
	cr_assert(isnan(got[2].val_loss), "unmeasured val_loss reads %g", got[2].val_loss);
	free(got);

	cr_assert_eq(store_epochs_put(s, 999, e, 1), STORE_ERR_NOT_FOUND,
		     "epochs of an unknown model accepted");
	cr_assert_eq(store_epochs_get(s, id, &got, &n), STORE_OK, "epochs_get");
	cr_assert_eq(n, 3u, "a failed put changed the epochs (%zu)", n);
	free(got);
	store_close(s);
	store_test_rmdir(&t);
}

Test(store, read_only_option)
{
	struct store_test_dir t;
	struct store *s;
	struct store_options opts = { .read_only = true };
	char msg[STORE_MSG_MAX];
	struct store_round_info *rounds;
	size_t n;
	int64_t id;

	store_test_mkdir(&t);
	cr_assert_eq(store_open(t.path, &opts, &s, msg, sizeof(msg)),
		     STORE_ERR_NOT_FOUND, "read-only open of a missing file");
	s = store_test_open(t.path);
	store_test_round(s, store_test_session(s), 1);
	store_close(s);

	cr_assert_eq(store_open(t.path, &opts, &s, msg, sizeof(msg)), STORE_OK,
		     "read-only open failed: %s", msg);
	cr_assert_eq(store_rounds_list(s, 0, 0, &rounds, &n), STORE_OK,
		     "read-only query failed: %s", store_errmsg(s));
	cr_assert_eq(n, 1u, "read-only open lists %zu rounds", n);
	free(rounds);
	cr_assert_eq(store_round_begin(s, 1, 2, &id), STORE_ERR_READONLY,
		     "a write through a read-only handle was accepted");
	store_close(s);
	store_test_rmdir(&t);
}

/* Failures a user can meet */

Test(store, rejects_text_file)
{
	struct store_test_dir t;
	FILE *fp;

	store_test_mkdir(&t);
	fp = fopen(t.path, "w");
	cr_assert_not_null(fp, "cannot create %s", t.path);
	for (int i = 0; i < 50; i++)
		fprintf(fp, "line %d of a plain text file, not a database\n", i);
	fclose(fp);
	store_test_expect_rejected(t.dir, t.path, STORE_ERR_NOT_DB, "not an SQLite database");
	store_test_rmdir(&t);
}

Test(store, rejects_short_text_file)
{
	struct store_test_dir t;
	FILE *fp;

	store_test_mkdir(&t);
	fp = fopen(t.path, "w");
	cr_assert_not_null(fp, "cannot create %s", t.path);
	fputs("hello\n", fp);
	fclose(fp);
	store_test_expect_rejected(t.dir, t.path, STORE_ERR_NOT_DB, "not an SQLite database");
	store_test_rmdir(&t);
}

Test(store, rejects_newer_schema)
{
	struct store_test_dir t;
	struct store *s;

	store_test_mkdir(&t);
	s = store_test_open(t.path);
	store_test_round(s, store_test_session(s), 1);
	store_close(s);
	store_test_set_header_u32(t.path, STORE_TEST_USER_VERSION_OFFSET,
				  STORE_SCHEMA_VERSION + 1);
	store_test_expect_rejected(t.dir, t.path, STORE_ERR_NEWER, "upgrade ttypong");
	store_test_rmdir(&t);
}

Test(store, rejects_negative_schema_version)
{
	static const uint32_t versions[] = { 0xffffffffu, 0xfffffffeu, 0x80000000u };
	struct store_test_dir t;
	struct store *s;

	store_test_mkdir(&t);
	s = store_test_open(t.path);
	store_test_round(s, store_test_session(s), 1);
	store_close(s);
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		store_test_set_header_u32(t.path, STORE_TEST_USER_VERSION_OFFSET,
					  versions[i]);
		store_test_expect_rejected(t.dir, t.path, STORE_ERR_CORRUPT,
					   "invalid schema version -");
	}
	store_test_rmdir(&t);
}

/* A ttypong save in rollback-journal mode at version 0 that already has the
 * tables: the first migration step fails on them. The failure must name
 * SQLite's reason, and the header, whose journal mode bytes a switch to WAL
 * would change, must stay as it was. */
Test(store, failed_migration_leaves_file_unchanged)
{
	/* Header bytes 18 and 19, the write and read versions: 1 is the
	 * rollback journal, 2 is WAL. */
	const long versions_offset = 16;
	struct store_test_dir t;
	struct store *s;
	uint32_t word;

	store_test_mkdir(&t);
	s = store_test_open(t.path);
	store_test_round(s, store_test_session(s), 1);
	store_close(s);
	word = store_test_header_u32(t.path, versions_offset);
	store_test_set_header_u32(t.path, versions_offset, (word & 0xffff0000u) | 0x0101u);
	store_test_set_header_u32(t.path, STORE_TEST_USER_VERSION_OFFSET, 0);

	store_test_expect_rejected(t.dir, t.path, STORE_ERR_IO, "already exists");
	store_test_rmdir(&t);
}

/* Damage to a page that appending never touches is found on open. */
Test(store, rejects_damaged_page)
{
	const long page_size = 4096;
	struct store_test_dir t;
	struct store *s;
	unsigned char junk[4096];
	struct stat st;
	int64_t session;
	FILE *fp;

	store_test_mkdir(&t);
	s = store_test_open(t.path);
	session = store_test_session(s);
	for (int round = 1; round <= 10; round++)
		store_test_round(s, session, round);
	store_close(s);
	cr_assert_eq(stat(t.path, &st), 0, "stat %s failed", t.path);
	cr_assert_gt(st.st_size / page_size, 8, "save has only %lld pages",
		     (long long)(st.st_size / page_size));

	memset(junk, 0xff, sizeof(junk));
	fp = fopen(t.path, "r+b");
	cr_assert_not_null(fp, "cannot open %s: %s", t.path, strerror(errno));
	cr_assert_eq(fseek(fp, st.st_size / page_size / 2 * page_size, SEEK_SET), 0,
		     "seek in %s failed", t.path);
	cr_assert_eq(fwrite(junk, 1, sizeof(junk), fp), sizeof(junk),
		     "write to %s failed", t.path);
	fclose(fp);

	store_test_expect_rejected(t.dir, t.path, STORE_ERR_CORRUPT, "malformed save");
	store_test_rmdir(&t);
}

/* Opens path, expects want with needle in a one-line message that names
 * the path, and expects dir to hold as many entries as before. */
static void store_test_expect_bad_path(const char *dir, const char *path,
				       enum store_status want, const char *needle)
{
	char msg[STORE_MSG_MAX];
	int entries = store_test_count_entries(dir);
	struct store *s = (struct store *)1;
	enum store_status status = store_open(path, NULL, &s, msg, sizeof(msg));

	cr_assert_eq(status, want, "store_open(%s) gave \"%s\" (%s), expected \"%s\"",
		     path, store_status_name(status), msg, store_status_name(want));
	cr_assert_null(s, "a failed open of %s left a handle", path);
	cr_assert_null(strchr(msg, '\n'), "message spans lines: %s", msg);
	cr_assert_not_null(strstr(msg, needle), "message lacks \"%s\": %s", needle, msg);
	cr_assert_eq(store_test_count_entries(dir), entries,
		     "opening %s created or removed files in %s", path, dir);
}

Test(store, rejects_special_files)
{
	struct store_test_dir t;
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	char path[600];
	struct stat st;
	int fd;

	store_test_mkdir(&t);

	snprintf(path, sizeof(path), "%s/fifo.db", t.dir);
	cr_assert_eq(mkfifo(path, 0600), 0, "mkfifo failed: %s", strerror(errno));
	store_test_expect_bad_path(t.dir, path, STORE_ERR_NOT_DB, "is a FIFO");

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/socket.db", t.dir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	cr_assert_geq(fd, 0, "socket failed: %s", strerror(errno));
	cr_assert_eq(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0,
		     "bind failed: %s", strerror(errno));
	store_test_expect_bad_path(t.dir, addr.sun_path, STORE_ERR_NOT_DB, "is a socket");
	close(fd);

	snprintf(path, sizeof(path), "%s/dangling.db", t.dir);
	cr_assert_eq(symlink("missing.db", path), 0, "symlink failed: %s", strerror(errno));
	store_test_expect_bad_path(t.dir, path, STORE_ERR_PATH, "symbolic link to missing.db");

	snprintf(path, sizeof(path), "%s/%0300d.db", t.dir, 0);
	store_test_expect_bad_path(t.dir, path, STORE_ERR_PATH, "File name too long");

	store_test_expect_bad_path("/dev", "/dev/null", STORE_ERR_NOT_DB, "is a character device");
	cr_assert_neq(stat("/dev/null-journal", &st), 0, "opening /dev/null made a journal");

	store_test_expect_bad_path(t.dir, ":memory:", STORE_ERR_PATH, "in memory");
	store_test_expect_bad_path(t.dir, "", STORE_ERR_PATH, "empty");
	store_test_rmdir(&t);
}

/* A relative path that starts with "file:" is a file name, not a URI. */
Test(store, file_prefix_is_a_file_name)
{
	struct store_test_dir t;
	char cwd[PATH_MAX], path[256];
	struct store *s;
	struct stat st;

	store_test_mkdir(&t);
	cr_assert_not_null(getcwd(cwd, sizeof(cwd)), "getcwd failed");
	cr_assert_eq(chdir(t.dir), 0, "chdir failed: %s", strerror(errno));
	s = store_test_open("file:save.db?mode=memory");
	store_test_round(s, store_test_session(s), 1);
	store_close(s);
	cr_assert_eq(chdir(cwd), 0, "chdir back failed: %s", strerror(errno));
	snprintf(path, sizeof(path), "%s/file:save.db?mode=memory", t.dir);
	cr_assert_eq(stat(path, &st), 0, "no file named %s: %s", path, strerror(errno));
	cr_assert_gt(st.st_size, 0, "%s is empty", path);
	store_test_rmdir(&t);
}

Test(store, rejects_other_programs_database)
{
	struct store_test_dir t;
	struct store *s;

	store_test_mkdir(&t);
	s = store_test_open(t.path);
	store_close(s);
	store_test_set_header_u32(t.path, STORE_TEST_APPLICATION_ID_OFFSET, 0x12345678);
	store_test_expect_rejected(t.dir, t.path, STORE_ERR_FOREIGN, "not a ttypong save");
	store_test_rmdir(&t);
}

/* Makes target (a file or directory) read-only for this test process:
 * with chmod for a normal user, and for root, which ignores mode bits, by
 * binding target over itself and remounting that bind read-only in a
 * private mount namespace. Skips the test when the kernel rejects that. */
static void store_test_make_read_only(struct store_test_dir *t,
				      const char *target)
{
	char reason[256];
	struct stat st;

	if (geteuid() != 0) {
		cr_assert_eq(stat(target, &st), 0, "stat %s failed", target);
		cr_assert_eq(chmod(target, S_ISDIR(st.st_mode) ? 0555 : 0444), 0,
			     "chmod %s failed: %s", target, strerror(errno));
		return;
	}
	if (!store_test_private_mounts(reason, sizeof(reason))) {
		store_test_rmdir(t);
		cr_skip_test("read-only mount not possible: %s", reason);
	}
	cr_assert_eq(mount(target, target, NULL, MS_BIND, NULL), 0,
		     "bind mount of %s failed: %s", target, strerror(errno));
	cr_assert_eq(mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL), 0,
		     "read-only remount of %s failed: %s", target, strerror(errno));
}

/* Undoes store_test_make_read_only(). */
static void store_test_make_writable(const char *target)
{
	struct stat st;

	if (geteuid() == 0) {
		umount(target);
		return;
	}
	if (stat(target, &st) == 0)
		chmod(target, S_ISDIR(st.st_mode) ? 0700 : 0600);
}

Test(store, rejects_read_only_file)
{
	struct store_test_dir t;
	struct store *s;

	store_test_mkdir(&t);
	s = store_test_open(t.path);
	store_test_round(s, store_test_session(s), 1);
	store_close(s);

	store_test_make_read_only(&t, t.path);
	store_test_expect_rejected(t.dir, t.path, STORE_ERR_READONLY, "writable");
	store_test_make_writable(t.path);
	store_test_rmdir(&t);
}

/* Root passes every mode check, so this case drops to another user in a
 * child. It needs no mount, for containers where mounting is not allowed. */
Test(store, rejects_read_only_file_for_other_user)
{
	struct store_test_dir t;
	struct store *s;
	size_t size_before, size_after;
	unsigned char *before, *after;
	int status, entries;
	pid_t pid;

	if (geteuid() != 0)
		cr_skip_test("needs root to switch users; rejects_read_only_file covers this user");
	store_test_mkdir(&t);
	s = store_test_open(t.path);
	store_test_round(s, store_test_session(s), 1);
	store_close(s);
	/* A directory anyone may write, as /tmp, so only the file's mode
	 * can reject the write. */
	cr_assert_eq(chmod(t.dir, 01777), 0, "chmod of the directory failed");
	cr_assert_eq(chmod(t.path, 0444), 0, "chmod of the save failed");
	before = store_test_slurp(t.path, &size_before);
	entries = store_test_count_entries(t.dir);

	pid = fork();
	cr_assert_geq(pid, 0, "fork failed");
	if (pid == 0) {
		char msg[STORE_MSG_MAX];

		store_test_child_setup();
		if (setgid(65534) != 0 || setuid(65534) != 0)
			_exit(100);
		_exit(store_open(t.path, NULL, &s, msg, sizeof(msg)));
	}
	cr_assert_eq(waitpid(pid, &status, 0), pid, "waitpid failed");
	cr_assert(WIFEXITED(status), "child did not exit normally");
	cr_assert_neq(WEXITSTATUS(status), 100, "child could not switch to uid 65534");
	cr_assert_eq(WEXITSTATUS(status), STORE_ERR_READONLY,
		     "open by a user without write permission gave \"%s\"",
		     store_status_name((enum store_status)WEXITSTATUS(status)));

	cr_assert_eq(store_test_count_entries(t.dir), entries,
		     "opening created files beside the save");
	after = store_test_slurp(t.path, &size_after);
	cr_assert_eq(size_after, size_before, "file size changed");
	cr_assert_eq(memcmp(before, after, size_before), 0, "file bytes changed");
	free(before);
	free(after);
	store_test_rmdir(&t);
}

Test(store, rejects_read_only_directory)
{
	struct store_test_dir t;
	char msg[STORE_MSG_MAX];
	struct store *s;
	enum store_status status;

	store_test_mkdir(&t);
	store_test_make_read_only(&t, t.dir);

	status = store_open(t.path, NULL, &s, msg, sizeof(msg));
	cr_assert_eq(status, STORE_ERR_READONLY, "open in a read-only directory gave %s (%s)",
		     store_status_name(status), msg);
	cr_assert_not_null(strstr(msg, t.path), "message does not name the path: %s", msg);
	cr_assert_eq(access(t.path, F_OK), -1, "a file was created in a read-only directory");

	store_test_make_writable(t.dir);
	store_test_rmdir(&t);
}

/* Records round number `round` without assertions, for children. */
static bool store_test_child_round(struct store *s, int64_t session, int round)
{
	struct store_round_result result = { STORE_WINNER_RIGHT, round, 2 };
	int64_t id;

	if (store_round_begin(s, session, round, &id) != STORE_OK)
		return false;
	for (int i = 0; i < store_test_round_frames(round); i++) {
		struct store_frame f = store_test_frame(round, i);

		if (store_round_append(s, &f, 1) != STORE_OK)
			return false;
	}
	return store_round_end(s, &result) == STORE_OK;
}

Test(store, read_only_option_on_read_only_media)
{
	struct store_test_dir t;
	struct store_options opts = { .read_only = true };
	char msg[STORE_MSG_MAX], wal[160];
	struct store_round_info *rounds;
	struct store *s;
	FILE *fp;
	size_t n;

	store_test_mkdir(&t);
	s = store_test_open(t.path);
	store_test_round(s, store_test_session(s), 1);
	store_close(s);

	store_test_make_read_only(&t, t.dir);
	cr_assert_eq(store_open(t.path, &opts, &s, msg, sizeof(msg)), STORE_OK,
		     "read-only open on read-only media failed: %s", msg);
	cr_assert_eq(store_rounds_list(s, 0, 0, &rounds, &n), STORE_OK,
		     "query on read-only media failed: %s", store_errmsg(s));
	cr_assert_eq(n, 1u, "read-only media lists %zu rounds", n);
	free(rounds);
	store_close(s);

	/* A write-ahead log left by a crash cannot be read without writing,
	 * so it is reported rather than skipped. */
	store_test_make_writable(t.dir);
	snprintf(wal, sizeof(wal), "%s-wal", t.path);
	fp = fopen(wal, "w");
	cr_assert_not_null(fp, "cannot create %s", wal);
	fputs("not empty", fp);
	fclose(fp);
	store_test_make_read_only(&t, t.dir);
	cr_assert_eq(store_open(t.path, &opts, &s, msg, sizeof(msg)), STORE_ERR_READONLY,
		     "a log on read-only media was ignored: %s", msg);
	cr_assert_not_null(strstr(msg, "-wal"), "message does not name the log: %s", msg);

	store_test_make_writable(t.dir);
	store_test_rmdir(&t);
}

/* Holds the save's write lock in a child until killed. Returns the child's
 * pid once the lock is held. */
static pid_t store_test_lock_in_child(const char *path)
{
	int fds[2];
	pid_t pid;
	char c;

	cr_assert_eq(pipe(fds), 0, "pipe failed");
	pid = fork();
	cr_assert_geq(pid, 0, "fork failed");
	if (pid == 0) {
		char msg[STORE_MSG_MAX];
		struct store *s;
		int64_t id;

		store_test_child_setup();
		close(fds[0]);
		if (store_open(path, NULL, &s, msg, sizeof(msg)) != STORE_OK ||
		    store_round_begin(s, 1, 1, &id) != STORE_OK)
			_exit(1);
		if (write(fds[1], "L", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	cr_assert_eq(read(fds[0], &c, 1), 1, "child did not take the lock");
	close(fds[0]);
	return pid;
}

Test(store, locked_save_times_out)
{
	struct store_test_dir t;
	struct store_options opts = { .busy_timeout_ms = 300 };
	char msg[STORE_MSG_MAX];
	struct store *s;
	enum store_status status;
	double start, elapsed_ms;
	pid_t child;
	int64_t id;

	store_test_mkdir(&t);
	s = store_test_open(t.path);
	store_test_session(s);
	store_close(s);

	/* The child's transaction is a writer's (BEGIN IMMEDIATE, which in
	 * WAL mode excludes other writers as EXCLUSIVE does). */
	child = store_test_lock_in_child(t.path);
	start = store_test_now_ms();
	status = store_open(t.path, &opts, &s, msg, sizeof(msg));
	elapsed_ms = store_test_now_ms() - start;
	cr_assert_eq(status, STORE_ERR_BUSY, "open of a locked save gave %s (%s)",
		     store_status_name(status), msg);
	cr_assert_geq(elapsed_ms, 290.0, "gave up after %.0f ms, before the 300 ms timeout",
		      elapsed_ms);
	cr_assert_lt(elapsed_ms, 10000.0, "waited %.0f ms for a 300 ms timeout", elapsed_ms);
	cr_assert_not_null(strstr(msg, "locked by another process"), "message: %s", msg);
	cr_assert_not_null(strstr(msg, t.path), "message does not name the path: %s", msg);

	kill(child, SIGKILL);
	waitpid(child, NULL, 0);

	/* Once the lock is gone, the same handle settings work, and a lock
	 * taken after opening shows at round_begin. */
	cr_assert_eq(store_open(t.path, &opts, &s, msg, sizeof(msg)), STORE_OK,
		     "open after the lock was released failed: %s", msg);
	child = store_test_lock_in_child(t.path);
	cr_assert_eq(store_round_begin(s, 1, 2, &id), STORE_ERR_BUSY,
		     "round_begin under another writer's lock succeeded");
	cr_assert(!store_round_is_open(s), "busy round_begin left a round open");
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	cr_assert_eq(store_round_begin(s, 1, 2, &id), STORE_OK,
		     "round_begin after the lock was released failed: %s", store_errmsg(s));
	store_close(s);
	store_test_rmdir(&t);
}

Test(store, full_disk_keeps_earlier_rounds)
{
	struct store_test_dir t;
	struct store *s;
	char reason[256];
	int64_t session, ids[200];
	int done = 0;
	enum store_status status = STORE_OK;
	struct store_frames f;

	store_test_mkdir(&t);
	if (!store_test_private_mounts(reason, sizeof(reason))) {
		store_test_rmdir(&t);
		cr_skip_test("cannot mount a small file system: %s", reason);
	}
	if (mount("tmpfs", t.dir, "tmpfs", 0, "size=256k") != 0) {
		snprintf(reason, sizeof(reason), "%s", strerror(errno));
		store_test_rmdir(&t);
		cr_skip_test("cannot mount a 256 KiB tmpfs: %s", reason);
	}

	s = store_test_open(t.path);
	session = store_test_session(s);
	/* Round r has 100 + 37 r frames; 200 rounds are far beyond 256 KiB. */
	while (done < 200) {
		struct store_round_result result = { STORE_WINNER_LEFT, 1, 1 };
		int round = done + 1;
		int64_t id;

		status = store_round_begin(s, session, round, &id);
		for (int i = 0; status == STORE_OK && i < store_test_round_frames(round); i++) {
			struct store_frame fr = store_test_frame(round, i);

			status = store_round_append(s, &fr, 1);
		}
		if (status == STORE_OK)
			status = store_round_end(s, &result);
		if (status != STORE_OK)
			break;
		ids[done++] = id;
	}
	cr_assert_eq(status, STORE_ERR_FULL, "filling the disk gave %s (%s)",
		     store_status_name(status), store_errmsg(s));
	cr_assert_not_null(strstr(store_errmsg(s), "disk full"), "message: %s",
			   store_errmsg(s));
	cr_assert_gt(done, 0, "no round fit before the disk filled");
	cr_assert(!store_round_is_open(s), "failed round still open");
	store_close(s);

	s = store_test_open(t.path);
	cr_assert_eq(store_check(s), STORE_OK, "save damaged after a full disk: %s",
		     store_errmsg(s));
	cr_assert_eq(store_frames_load(s, ids, (size_t)done, &f), STORE_OK,
		     "loading the saved rounds failed: %s", store_errmsg(s));
	for (int r = 0; r < done; r++)
		store_test_expect_round(&f, (size_t)r, r + 1);
	store_frames_free(&f);
	store_close(s);
	umount(t.dir);
	store_test_rmdir(&t);
}

/* A new save on a full disk: the open fails, leaves no empty file behind,
 * and does not speak of earlier rounds. */
Test(store, full_disk_new_save_leaves_nothing)
{
	struct store_test_dir t;
	struct store *s = (struct store *)1;
	char reason[256], filler[128], msg[STORE_MSG_MAX];
	char block[4096];
	struct stat st;
	enum store_status status;
	FILE *fp;

	store_test_mkdir(&t);
	if (!store_test_private_mounts(reason, sizeof(reason))) {
		store_test_rmdir(&t);
		cr_skip_test("cannot mount a small file system: %s", reason);
	}
	if (mount("tmpfs", t.dir, "tmpfs", 0, "size=64k") != 0) {
		snprintf(reason, sizeof(reason), "%s", strerror(errno));
		store_test_rmdir(&t);
		cr_skip_test("cannot mount a 64 KiB tmpfs: %s", reason);
	}
	snprintf(filler, sizeof(filler), "%s/filler", t.dir);
	fp = fopen(filler, "wb");
	cr_assert_not_null(fp, "cannot create %s: %s", filler, strerror(errno));
	memset(block, 0, sizeof(block));
	while (fwrite(block, 1, sizeof(block), fp) == sizeof(block) && fflush(fp) == 0)
		;
	fclose(fp);

	status = store_open(t.path, NULL, &s, msg, sizeof(msg));
	cr_assert_eq(status, STORE_ERR_FULL, "opening on a full disk gave %s (%s)",
		     store_status_name(status), msg);
	cr_assert_null(s, "a failed open left a handle");
	cr_assert_null(strstr(msg, "rounds saved before"),
		       "message speaks of earlier rounds of a new save: %s", msg);
	cr_assert_neq(stat(t.path, &st), 0, "a failed open left %s of %lld bytes",
		      t.path, (long long)st.st_size);
	umount(t.dir);
	store_test_rmdir(&t);
}

Test(store, sigkill_mid_round_keeps_finished_rounds)
{
	struct store_test_dir t;
	struct store *s;
	struct store_round_info *rounds;
	struct store_frames f;
	struct store_counts counts;
	int64_t ids[5];
	int fds[2], status;
	size_t n;
	pid_t pid;
	char c;

	store_test_mkdir(&t);
	cr_assert_eq(pipe(fds), 0, "pipe failed");
	pid = fork();
	cr_assert_geq(pid, 0, "fork failed");
	if (pid == 0) {
		/* The writer: five whole rounds, then half of a sixth. */
		char msg[STORE_MSG_MAX];
		struct store_session session = {
			.kind = STORE_SESSION_TRAIN, .left_ctrl = "tracker",
			.right_ctrl = "net", .human_side = STORE_SIDE_NONE,
		};
		int64_t session_id, id;

		store_test_child_setup();
		close(fds[0]);
		if (store_open(t.path, NULL, &s, msg, sizeof(msg)) != STORE_OK ||
		    store_session_begin(s, &session, &session_id) != STORE_OK)
			_exit(1);
		for (int r = 1; r <= 5; r++)
			if (!store_test_child_round(s, session_id, r))
				_exit(1);
		if (store_round_begin(s, session_id, 6, &id) != STORE_OK)
			_exit(1);
		for (int i = 0; i < 5000; i++) {
			struct store_frame fr = store_test_frame(6, i);

			if (store_round_append(s, &fr, 1) != STORE_OK)
				_exit(1);
		}
		if (write(fds[1], "R", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(fds[1]);
	cr_assert_eq(read(fds[0], &c, 1), 1, "writer failed before the sixth round");
	close(fds[0]);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		  "writer was not killed by SIGKILL");

	s = store_test_open(t.path);
	cr_assert_eq(store_check(s), STORE_OK, "integrity check after SIGKILL: %s",
		     store_errmsg(s));
	cr_assert_eq(store_rounds_list(s, 0, 0, &rounds, &n), STORE_OK, "rounds_list");
	cr_assert_eq(n, 5u, "%zu rounds after SIGKILL, expected the 5 finished", n);
	for (size_t i = 0; i < n; i++) {
		ids[i] = rounds[i].id;
		cr_assert_eq(rounds[i].number, (int32_t)i + 1, "round %zu number", i);
	}
	free(rounds);
	cr_assert_eq(store_frames_load(s, ids, 5, &f), STORE_OK, "frames_load: %s",
		     store_errmsg(s));
	for (int r = 0; r < 5; r++)
		store_test_expect_round(&f, (size_t)r, r + 1);

	/* Nothing of the killed round is left, not even unlisted rows. */
	cr_assert_eq(store_count(s, &counts), STORE_OK, "store_count: %s", store_errmsg(s));
	cr_assert_eq(counts.n_rounds, 5, "%lld round rows after SIGKILL",
		     (long long)counts.n_rounds);
	cr_assert_eq(counts.n_frames, (int64_t)f.n_frames,
		     "%lld frame rows, but the finished rounds hold %zu",
		     (long long)counts.n_frames, f.n_frames);
	store_frames_free(&f);
	store_close(s);
	store_test_rmdir(&t);
}

/* The default path rule */

Test(store, path_option_beats_environment)
{
	struct store_path_env env = { .db_opt = "/x/opt.db", .ttypong_db = "/x/env.db",
				      .home = "/dev/null" };
	char out[256], msg[STORE_MSG_MAX];

	cr_assert_eq(store_resolve_path(&env, out, sizeof(out), msg, sizeof(msg)),
		     STORE_OK, "resolve failed: %s", msg);
	cr_assert_str_eq(out, "/x/opt.db", "--db did not win");
	env.db_opt = NULL;
	cr_assert_eq(store_resolve_path(&env, out, sizeof(out), msg, sizeof(msg)),
		     STORE_OK, "resolve failed: %s", msg);
	cr_assert_str_eq(out, "/x/env.db", "TTYPONG_DB did not beat the default");
	env.ttypong_db = "";
	/* A directory cannot be made below a character device. */
	env.xdg_data_home = "/dev/null/data";
	cr_assert_eq(store_resolve_path(&env, out, sizeof(out), msg, sizeof(msg)),
		     STORE_ERR_PATH, "an uncreatable data directory was accepted");
	cr_assert_not_null(strstr(msg, "/dev/null/data/ttypong"), "message: %s", msg);
}

Test(store, path_empty_option_rejected)
{
	struct store_path_env env = { .db_opt = "", .ttypong_db = "/x/env.db",
				      .home = "/x" };
	char out[256], msg[STORE_MSG_MAX];

	cr_assert_eq(store_resolve_path(&env, out, sizeof(out), msg, sizeof(msg)),
		     STORE_ERR_PATH, "an empty --db fell back to %s", out);
	cr_assert_not_null(strstr(msg, "--db"), "message does not name --db: %s", msg);

	/* An empty TTYPONG_DB counts as unset. */
	env.db_opt = NULL;
	env.ttypong_db = "";
	env.xdg_data_home = "/dev/null/data";
	cr_assert_eq(store_resolve_path(&env, out, sizeof(out), msg, sizeof(msg)),
		     STORE_ERR_PATH, "an empty TTYPONG_DB was used as a path");
	cr_assert_not_null(strstr(msg, "/dev/null/data/ttypong"), "message: %s", msg);
}

Test(store, path_in_source_tree)
{
	struct store_test_dir t;
	struct store_path_env env = { 0 };
	char exe[128], probe[160], out[256], want[160], msg[STORE_MSG_MAX];
	FILE *fp;

	store_test_mkdir(&t);
	snprintf(exe, sizeof(exe), "%s/ttypong", t.dir);
	snprintf(probe, sizeof(probe), "%s/saves", t.dir);
	cr_assert_eq(mkdir(probe, 0755), 0, "mkdir saves failed");
	env.exe_path = exe;
	env.xdg_data_home = t.dir;

	/* saves/ alone is not a source tree. */
	cr_assert_eq(store_resolve_path(&env, out, sizeof(out), msg, sizeof(msg)),
		     STORE_OK, "resolve failed: %s", msg);
	snprintf(want, sizeof(want), "%s/ttypong/ttypong.db", t.dir);
	cr_assert_str_eq(out, want, "without a Makefile the XDG path applies");

	snprintf(probe, sizeof(probe), "%s/Makefile", t.dir);
	fp = fopen(probe, "w");
	cr_assert_not_null(fp, "cannot create the Makefile");
	fclose(fp);
	cr_assert_eq(store_resolve_path(&env, out, sizeof(out), msg, sizeof(msg)),
		     STORE_OK, "resolve failed: %s", msg);
	snprintf(want, sizeof(want), "%s/saves/ttypong.db", t.dir);
	cr_assert_str_eq(out, want, "source tree path");
	store_test_rmdir(&t);
}

Test(store, path_xdg_and_home)
{
	struct store_test_dir t;
	struct store_path_env env = { .exe_path = "/usr/bin/ttypong" };
	char out[256], want[160], dir[160], msg[STORE_MSG_MAX];
	struct stat st;

	store_test_mkdir(&t);
	snprintf(dir, sizeof(dir), "%s/data", t.dir);
	env.xdg_data_home = dir;
	env.home = "/dev/null";
	cr_assert_eq(store_resolve_path(&env, out, sizeof(out), msg, sizeof(msg)),
		     STORE_OK, "resolve failed: %s", msg);
	snprintf(want, sizeof(want), "%s/data/ttypong/ttypong.db", t.dir);
	cr_assert_str_eq(out, want, "XDG_DATA_HOME path");
	snprintf(want, sizeof(want), "%s/data/ttypong", t.dir);
	cr_assert_eq(stat(want, &st), 0, "data directory not created");
	cr_assert_eq(st.st_mode & 0777, 0700, "data directory mode %o", st.st_mode & 0777);

	/* The XDG specification tells programs to ignore a relative
	 * XDG_DATA_HOME. */
	env.xdg_data_home = "relative/data";
	env.home = t.dir;
	cr_assert_eq(store_resolve_path(&env, out, sizeof(out), msg, sizeof(msg)),
		     STORE_OK, "resolve failed: %s", msg);
	snprintf(want, sizeof(want), "%s/.local/share/ttypong/ttypong.db", t.dir);
	cr_assert_str_eq(out, want, "HOME fallback path");

	env.home = NULL;
	cr_assert_eq(store_resolve_path(&env, out, sizeof(out), msg, sizeof(msg)),
		     STORE_ERR_PATH, "no HOME and a relative XDG_DATA_HOME accepted");
	cr_assert_not_null(strstr(msg, "XDG_DATA_HOME (relative/data) is ignored"),
			   "message does not say why XDG_DATA_HOME was not used: %s", msg);
	cr_assert_not_null(strstr(msg, "--db"), "message does not say what to do: %s", msg);

	env.xdg_data_home = NULL;
	cr_assert_eq(store_resolve_path(&env, out, sizeof(out), msg, sizeof(msg)),
		     STORE_ERR_PATH, "no HOME and no XDG_DATA_HOME accepted");
	cr_assert_not_null(strstr(msg, "HOME and XDG_DATA_HOME are unset"), "message: %s", msg);
	cr_assert_not_null(strstr(msg, "--db"), "message does not say what to do: %s", msg);
	store_test_rmdir(&t);
}

Test(store, default_path_reads_environment)
{
	char out[256], msg[STORE_MSG_MAX];

	setenv("TTYPONG_DB", "/x/from_env.db", 1);
	cr_assert_eq(store_default_path(NULL, out, sizeof(out), msg, sizeof(msg)),
		     STORE_OK, "default_path failed: %s", msg);
	cr_assert_str_eq(out, "/x/from_env.db", "TTYPONG_DB ignored");
	cr_assert_eq(store_default_path("/x/opt.db", out, sizeof(out), msg, sizeof(msg)),
		     STORE_OK, "default_path failed: %s", msg);
	cr_assert_str_eq(out, "/x/opt.db", "--db did not beat TTYPONG_DB");
	cr_assert_eq(store_default_path("/x/opt.db", out, 4, msg, sizeof(msg)),
		     STORE_ERR_PATH, "a path longer than the buffer was accepted");
}

/* Records one round of n frames with the given winner. */
static void store_test_result_round(struct store *s, int64_t session, int number,
				    enum store_winner winner, int n)
{
	struct store_round_result result = { winner, 1, 2 };
	int64_t id = 0;

	cr_assert_eq(store_round_begin(s, session, number, &id), STORE_OK,
		     "round_begin failed: %s", store_errmsg(s));
	for (int i = 0; i < n; i++) {
		struct store_frame f = store_test_frame(number, i);

		cr_assert_eq(store_round_append(s, &f, 1), STORE_OK, "append failed: %s",
			     store_errmsg(s));
	}
	cr_assert_eq(store_round_end(s, &result), STORE_OK, "round_end failed: %s",
		     store_errmsg(s));
}

Test(store, stats_summarize)
{
	struct store_test_dir t;
	struct store *s;
	struct store_stats st;
	struct store_session sim = {
		.kind = STORE_SESSION_SIM, .seed = 1, .left_ctrl = "tracker",
		.right_ctrl = "random", .human_side = STORE_SIDE_NONE,
	};
	struct store_model m = { .kind = STORE_MODEL_TRAINED, .train_loss = NAN,
				 .val_loss = 0.5, .val_acc = 0.75, .return_rate = 0.25,
				 .n_records = 900, .promoted = true };
	int64_t play, sim_id, id, unpromoted, open_round;

	store_test_mkdir(&t);
	s = store_test_open(t.path);
	cr_assert_eq(store_stats(s, &st), STORE_OK, "stats of an empty save: %s", store_errmsg(s));
	cr_assert_eq(st.n_rounds, 0, "rounds of an empty save");
	cr_assert_eq(st.promoted_id, 0, "promoted id of an empty save");
	cr_assert(isnan(st.promoted_val_loss), "val loss without a promoted model");

	/* The human plays left: a win, a loss and a draw. */
	play = store_test_session(s);
	store_test_result_round(s, play, 1, STORE_WINNER_LEFT, 10);
	store_test_result_round(s, play, 2, STORE_WINNER_RIGHT, 20);
	store_test_result_round(s, play, 3, STORE_WINNER_DRAW, 5);
	cr_assert_eq(store_session_begin(s, &sim, &sim_id), STORE_OK, "sim session: %s",
		     store_errmsg(s));
	store_test_result_round(s, sim_id, 1, STORE_WINNER_RIGHT, 7);

	/* Two promoted versions, an older trained and a newer imported one,
	 * and an unpromoted trained one after them. */
	cr_assert_eq(store_model_put(s, &m, &id), STORE_OK, "put: %s", store_errmsg(s));
	m.kind = STORE_MODEL_IMPORTED;
	m.val_loss = NAN;
	m.n_records = 0;
	cr_assert_eq(store_model_put(s, &m, &id), STORE_OK, "put: %s", store_errmsg(s));
	m.kind = STORE_MODEL_TRAINED;
	m.promoted = false;
	cr_assert_eq(store_model_put(s, &m, &unpromoted), STORE_OK, "put: %s", store_errmsg(s));

	/* A round still open counts nowhere. */
	cr_assert_eq(store_round_begin(s, sim_id, 2, &open_round), STORE_OK, "round_begin");
	cr_assert_eq(store_stats(s, &st), STORE_OK, "stats: %s", store_errmsg(s));
	store_round_abort(s);

	cr_assert_eq(st.sessions[STORE_SESSION_PLAY], 1, "play sessions");
	cr_assert_eq(st.sessions[STORE_SESSION_SIM], 1, "sim sessions");
	cr_assert_eq(st.sessions[STORE_SESSION_TRAIN], 0, "train sessions");
	cr_assert_eq(st.n_rounds, 4, "finished rounds: %lld", (long long)st.n_rounds);
	cr_assert_eq(st.n_frames, 42, "frames: %lld", (long long)st.n_frames);
	cr_assert_eq(st.left_wins, 1, "left wins");
	cr_assert_eq(st.right_wins, 2, "right wins");
	cr_assert_eq(st.draws, 1, "draws");
	cr_assert_eq(st.human_rounds, 3, "rounds with a human");
	cr_assert_eq(st.human_wins, 1, "human wins");
	cr_assert_eq(st.human_losses, 1, "human losses");
	cr_assert_eq(st.n_models, 3, "models");
	cr_assert_eq(st.n_trained, 2, "trained models");
	cr_assert_eq(st.n_imported, 1, "imported models");
	cr_assert_eq(st.n_promoted, 2, "promoted models");
	cr_assert_eq(st.promoted_id, id, "newest promoted is %lld", (long long)st.promoted_id);
	cr_assert_eq(st.promoted_kind, STORE_MODEL_IMPORTED, "promoted kind");
	cr_assert(isnan(st.promoted_val_loss), "unmeasured val loss reads %g", st.promoted_val_loss);
	cr_assert_eq(st.promoted_val_acc, 0.75, "promoted val acc");
	cr_assert_eq(st.promoted_return_rate, 0.25, "promoted return rate");
	store_close(s);
	store_test_rmdir(&t);
}
