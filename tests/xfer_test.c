/* Tests of the rule that finds the browser page for export --web, and of the
 * names that exports record. The commands themselves are tested through the
 * binary in tests/sh/xfer_*.sh. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "xfer.h"

struct xfer_test_tree {
	char root[64];
};

static void xfer_test_mkdir(const char *root, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof path, "%s/%s", root, rel);
	cr_assert_eq(mkdir(path, 0700), 0, "mkdir %s: %s", path, strerror(errno));
}

static void xfer_test_touch(const char *root, const char *rel)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", root, rel);
	f = fopen(path, "w");
	cr_assert_not_null(f, "create %s: %s", path, strerror(errno));
	fclose(f);
}

static int xfer_test_unlink(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Builds root/src (a source tree with the page), root/share/web (an
 * installed page) and root/bare (a directory with only an executable). */
static void xfer_test_tree_init(struct xfer_test_tree *t)
{
	strcpy(t->root, "/tmp/xfer_test.XXXXXX");
	cr_assert_not_null(mkdtemp(t->root), "mkdtemp: %s", strerror(errno));
	xfer_test_mkdir(t->root, "src");
	xfer_test_touch(t->root, "src/Makefile");
	xfer_test_touch(t->root, "src/ttypong");
	xfer_test_mkdir(t->root, "src/assets");
	xfer_test_mkdir(t->root, "src/assets/web");
	xfer_test_touch(t->root, "src/assets/web/index.html");
	xfer_test_mkdir(t->root, "share");
	xfer_test_mkdir(t->root, "share/web");
	xfer_test_touch(t->root, "share/web/index.html");
	xfer_test_mkdir(t->root, "bare");
	xfer_test_touch(t->root, "bare/ttypong");
}

static void xfer_test_tree_free(struct xfer_test_tree *t)
{
	nftw(t->root, xfer_test_unlink, 8, FTW_DEPTH | FTW_PHYS);
}

Test(xfer, web_dir_in_source_tree)
{
	struct xfer_test_tree t;
	char exe[PATH_MAX], share[PATH_MAX], want[PATH_MAX], out[PATH_MAX];

	xfer_test_tree_init(&t);
	snprintf(exe, sizeof exe, "%s/src/ttypong", t.root);
	snprintf(share, sizeof share, "%s/share", t.root);
	snprintf(want, sizeof want, "%s/src/assets/web", t.root);
	cr_assert_eq(xfer_web_dir(exe, share, out, sizeof out), 0, "source tree page not found");
	cr_assert_str_eq(out, want, "source tree page");
	xfer_test_tree_free(&t);
}

Test(xfer, web_dir_installed)
{
	struct xfer_test_tree t;
	char exe[PATH_MAX], share[PATH_MAX], want[PATH_MAX], out[PATH_MAX];

	xfer_test_tree_init(&t);
	snprintf(exe, sizeof exe, "%s/bare/ttypong", t.root);
	snprintf(share, sizeof share, "%s/share", t.root);
	snprintf(want, sizeof want, "%s/share/web", t.root);
	cr_assert_eq(xfer_web_dir(exe, share, out, sizeof out), 0, "installed page not found");
	cr_assert_str_eq(out, want, "installed page");

	/* Without a known executable only the installed page counts. */
	cr_assert_eq(xfer_web_dir(NULL, share, out, sizeof out), 0, "no executable path");
	cr_assert_str_eq(out, want, "page without an executable path");
	xfer_test_tree_free(&t);
}

Test(xfer, web_dir_needs_makefile_and_page)
{
	struct xfer_test_tree t;
	char exe[PATH_MAX], share[PATH_MAX], path[PATH_MAX], want[PATH_MAX], out[PATH_MAX];

	xfer_test_tree_init(&t);
	snprintf(exe, sizeof exe, "%s/src/ttypong", t.root);
	snprintf(share, sizeof share, "%s/share", t.root);
	snprintf(want, sizeof want, "%s/share/web", t.root);

	/* A directory with assets/web but no Makefile is not a source tree. */
	snprintf(path, sizeof path, "%s/src/Makefile", t.root);
	cr_assert_eq(remove(path), 0, "remove %s", path);
	cr_assert_eq(xfer_web_dir(exe, share, out, sizeof out), 0, "fallback page not found");
	cr_assert_str_eq(out, want, "without a Makefile the installed page is used");

	/* Neither place has the page: -1, and out names the installed place. */
	snprintf(path, sizeof path, "%s/share/web/index.html", t.root);
	cr_assert_eq(remove(path), 0, "remove %s", path);
	cr_assert_eq(xfer_web_dir(exe, share, out, sizeof out), -1, "missing page reported as found");
	cr_assert_str_eq(out, want, "the error names the installed place");

	/* An output buffer too small for the path fails. */
	xfer_test_touch(t.root, "share/web/index.html");
	cr_assert_eq(xfer_web_dir(exe, share, out, 8), -1, "truncated path reported as found");
	xfer_test_tree_free(&t);
}

/* Returns true if the file at path contains a line equal to line. */
static bool xfer_test_has_line(const char *path, const char *line)
{
	char buf[512];
	FILE *f = fopen(path, "r");
	bool found = false;

	cr_assert_not_null(f, "open %s (run from the top of the source tree): %s", path,
			   strerror(errno));
	while (!found && fgets(buf, sizeof buf, f)) {
		buf[strcspn(buf, "\n")] = '\0';
		found = strcmp(buf, line) == 0;
	}
	fclose(f);
	return found;
}

/* Writes the JavaScript line that declares name as the array of n names. */
static void xfer_test_js_array(char *out, size_t size, const char *name,
			       const char *const *names, int n)
{
	size_t len = (size_t)snprintf(out, size, "export const %s = [", name);

	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(out + len, size - len, "%s'%s'", i ? ", " : "", names[i]);
	snprintf(out + len, size - len, "];");
}

Test(xfer, names_match_the_page)
{
	char line[512];

	/* assets/web/pong.js rejects a model whose metadata lists other names. */
	xfer_test_js_array(line, sizeof line, "FEATURE_NAMES", xfer_feature_names, CORE_FEATURE_COUNT);
	cr_assert(xfer_test_has_line("assets/web/core.js", line), "core.js lacks the line: %s", line);
	xfer_test_js_array(line, sizeof line, "CLASS_NAMES", xfer_class_names, XFER_N_CLASSES);
	cr_assert(xfer_test_has_line("assets/web/core.js", line), "core.js lacks the line: %s", line);
}
