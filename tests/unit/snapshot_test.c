/*
 * lib/snapshot.c: the workspace tree of a run, in real repositories made
 * with git in a temporary directory, inspected with libgit2.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlp.h"
#include "internal.h"
#include "testrepo.h"

#define EMPTY_TREE "4b825dc642cb6eb9a060e54bf8d69288fbee4904"


static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
}

static int make_repo(void **state, int with_commit)
{
	struct mlp_repo *repo = NULL;

	if (test_repo_enter("snapshot", with_commit ?
			    "printf 'hello\\n' >tracked.txt && mkdir sub && printf 'keep\\n' >sub/keep.txt && "
			    "printf 'bye\\n' >del.txt && printf '*.log\\nbuild/\\n' >.gitignore && "
			    "git add . && git commit -q -m init" : NULL) < 0 ||
	    mlp_repo_open(&repo) < 0)
		return -1;
	*state = repo;
	return 0;
}

static int setup(void **state)
{
	return make_repo(state, 1);
}

static int setup_unborn(void **state)
{
	return make_repo(state, 0);
}

static int teardown(void **state)
{
	mlp_repo_free(*state);
	return test_repo_leave();
}

/* The content of `path` in tree `hex`; 0, or MLP_ENOTFOUND when absent. */
static int tree_file(struct mlp_repo *repo, const char *hex, const char *path,
		     struct mlp_buf *out, git_filemode_t *mode)
{
	git_oid oid;
	git_tree *tree = NULL;
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	int err = 0;

	assert_int_equal(git_oid_fromstr(&oid, hex), 0);
	assert_int_equal(git_tree_lookup(&tree, repo->git, &oid), 0);
	if (git_tree_entry_bypath(&e, tree, path) < 0) {
		git_tree_free(tree);
		return MLP_ENOTFOUND;
	}
	if (mode)
		*mode = git_tree_entry_filemode(e);
	if (out) {
		mlp_buf_reset(out);
		if (git_tree_entry_type(e) == GIT_OBJECT_BLOB) {
			assert_int_equal(git_blob_lookup(&blob, repo->git, git_tree_entry_id(e)), 0);
			mlp_buf_add(out, git_blob_rawcontent(blob), (size_t)git_blob_rawsize(blob));
			git_blob_free(blob);
		} else {
			err = MLP_EINVALID;
		}
	}
	git_tree_entry_free(e);
	git_tree_free(tree);
	return err;
}

static void assert_file(struct mlp_repo *repo, const char *tree, const char *path, const char *content)
{
	struct mlp_buf b = MLP_BUF_INIT;

	if (tree_file(repo, tree, path, &b, NULL) != 0)
		fail_msg("'%s' is not in the snapshot", path);
	if (strcmp(b.buf ? b.buf : "", content))
		fail_msg("'%s' in the snapshot is '%s', want '%s'", path, b.buf, content);
	mlp_buf_release(&b);
}

static void assert_absent(struct mlp_repo *repo, const char *tree, const char *path)
{
	if (tree_file(repo, tree, path, NULL, NULL) != MLP_ENOTFOUND)
		fail_msg("'%s' should not be in the snapshot", path);
}

static void head_tree(struct mlp_repo *repo, char out[MLP_OID_HEXSZ + 1])
{
	git_object *obj = NULL;

	assert_int_equal(git_revparse_single(&obj, repo->git, "HEAD^{tree}"), 0);
	git_oid_tostr(out, MLP_OID_HEXSZ + 1, git_object_id(obj));
	git_object_free(obj);
}

struct warnings {
	int n;
	char msgs[2048];
};

static void warn_cb(void *data, const char *msg)
{
	struct warnings *w = data;
	size_t len = strlen(w->msgs);

	w->n++;
	snprintf(w->msgs + len, sizeof(w->msgs) - len, "%s\n", msg);
}

static void snap(struct mlp_repo *repo, char tree[MLP_OID_HEXSZ + 1], int *dirty,
		 int64_t max, struct warnings *w)
{
	int err = mlp_snapshot(repo, tree, dirty, max, w ? warn_cb : NULL, w);

	if (err)
		fail_msg("snapshot: %d %s", err, mlp_error_message());
	assert_int_equal(strlen(tree), MLP_OID_HEXSZ);
}

/* ---- tests ------------------------------------------------------------------------- */

static void test_clean(void **state)
{
	struct mlp_repo *repo = *state;
	char tree[MLP_OID_HEXSZ + 1], head[MLP_OID_HEXSZ + 1];
	int dirty = -1;
	struct warnings w = { 0 };

	head_tree(repo, head);
	snap(repo, tree, &dirty, 1 << 20, &w);
	assert_int_equal(dirty, 0);
	assert_string_equal(tree, head);
	/* ignored files do not make it dirty */
	sh("printf 'x\\n' >debug.log && mkdir -p build && printf 'y\\n' >build/out.bin");
	snap(repo, tree, &dirty, 1 << 20, &w);
	assert_int_equal(dirty, 0);
	assert_string_equal(tree, head);
	/* touching a file without changing it is still clean */
	sh("touch tracked.txt");
	snap(repo, tree, &dirty, 1 << 20, &w);
	assert_int_equal(dirty, 0);
	assert_string_equal(tree, head);
	assert_int_equal(w.n, 0);
}

static void test_changes(void **state)
{
	struct mlp_repo *repo = *state;
	char tree[MLP_OID_HEXSZ + 1], head[MLP_OID_HEXSZ + 1], again[MLP_OID_HEXSZ + 1];
	int dirty = -1;
	struct warnings w = { 0 };

	head_tree(repo, head);
	sh("printf 'changed\\n' >tracked.txt && printf 'new\\n' >new.txt && mkdir -p newdir/deep && "
	   "printf 'deep\\n' >newdir/deep/f.txt && rm del.txt && printf 'x\\n' >debug.log && "
	   "mkdir -p build && printf 'y\\n' >build/out.bin && printf 'z\\n' >sub/debug.log");
	snap(repo, tree, &dirty, 1 << 20, &w);
	assert_int_equal(dirty, 1);
	assert_string_not_equal(tree, head);
	assert_file(repo, tree, "tracked.txt", "changed\n");
	assert_file(repo, tree, "new.txt", "new\n");
	assert_file(repo, tree, "newdir/deep/f.txt", "deep\n");
	assert_file(repo, tree, "sub/keep.txt", "keep\n");
	assert_file(repo, tree, ".gitignore", "*.log\nbuild/\n");
	assert_absent(repo, tree, "del.txt");
	assert_absent(repo, tree, "debug.log");
	assert_absent(repo, tree, "build");
	assert_absent(repo, tree, "build/out.bin");
	assert_absent(repo, tree, "sub/debug.log");
	assert_int_equal(w.n, 0);

	/* the snapshot does not touch HEAD, the index or the work tree */
	{
		char now[MLP_OID_HEXSZ + 1];
		head_tree(repo, now);
		assert_string_equal(now, head);
		sh("git diff --cached --quiet");
		sh("test \"$(cat tracked.txt)\" = changed");
	}
	/* the same work tree gives the same tree */
	snap(repo, again, &dirty, 1 << 20, &w);
	assert_string_equal(again, tree);
}

static void test_staged_and_modes(void **state)
{
	struct mlp_repo *repo = *state;
	char tree[MLP_OID_HEXSZ + 1];
	int dirty = -1;
	git_filemode_t mode = 0;

	sh("printf 'staged\\n' >tracked.txt && git add tracked.txt && "
	   "printf '#!/bin/sh\\n' >run.sh && chmod +x run.sh && ln -s tracked.txt link && "
	   "git rm -q --cached sub/keep.txt && printf 'both\\n' >both.txt && git add both.txt && "
	   "printf 'both2\\n' >both.txt");
	snap(repo, tree, &dirty, 1 << 20, NULL);
	assert_int_equal(dirty, 1);
	assert_file(repo, tree, "tracked.txt", "staged\n");
	assert_file(repo, tree, "both.txt", "both2\n");	/* the work tree wins over the index */
	assert_int_equal(tree_file(repo, tree, "run.sh", NULL, &mode), 0);
	assert_int_equal(mode, GIT_FILEMODE_BLOB_EXECUTABLE);
	assert_int_equal(tree_file(repo, tree, "tracked.txt", NULL, &mode), 0);
	assert_int_equal(mode, GIT_FILEMODE_BLOB);
	assert_int_equal(tree_file(repo, tree, "link", NULL, &mode), 0);
	assert_int_equal(mode, GIT_FILEMODE_LINK);
	assert_file(repo, tree, "link", "tracked.txt");
	/* untracked in the index but still in the work tree: it ran with it */
	assert_file(repo, tree, "sub/keep.txt", "keep\n");
}

static void test_large_files(void **state)
{
	struct mlp_repo *repo = *state;
	char tree[MLP_OID_HEXSZ + 1];
	int dirty = -1;
	struct warnings w = { 0 };

	sh("head -c 100 /dev/zero >big.bin && printf 'small\\n' >small.txt");
	snap(repo, tree, &dirty, 50, &w);
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(w.msgs, "big.bin"));
	assert_non_null(strstr(w.msgs, "100"));
	assert_absent(repo, tree, "big.bin");
	assert_file(repo, tree, "small.txt", "small\n");
	assert_int_equal(dirty, 1);

	/* exactly the limit is kept */
	w.n = 0;
	w.msgs[0] = '\0';
	snap(repo, tree, &dirty, 100, &w);
	assert_int_equal(w.n, 0);
	assert_int_equal(tree_file(repo, tree, "big.bin", NULL, NULL), 0);

	/* a tracked file grown over the limit is left out, not kept stale */
	sh("head -c 200 /dev/zero >tracked.txt");
	w.n = 0;
	w.msgs[0] = '\0';
	snap(repo, tree, &dirty, 150, &w);
	assert_int_equal(w.n, 1);
	assert_non_null(strstr(w.msgs, "tracked.txt"));
	assert_absent(repo, tree, "tracked.txt");
	assert_int_equal(tree_file(repo, tree, "big.bin", NULL, NULL), 0);

	/* a negative limit means no limit; no callback is fine */
	snap(repo, tree, &dirty, -1, NULL);
	assert_int_equal(tree_file(repo, tree, "tracked.txt", NULL, NULL), 0);
	snap(repo, tree, &dirty, 10, NULL);
	assert_absent(repo, tree, "big.bin");
}

static void test_from_subdirectory(void **state)
{
	struct mlp_repo *sub = NULL;
	char tree[MLP_OID_HEXSZ + 1];
	int dirty = -1;

	(void)state;
	sh("printf 'in sub\\n' >sub/new.txt && printf 'top\\n' >top.txt");
	assert_int_equal(chdir("sub"), 0);
	assert_int_equal(mlp_repo_open(&sub), 0);
	assert_string_equal(mlp_repo_prefix(sub), "sub");
	snap(sub, tree, &dirty, -1, NULL);
	assert_int_equal(dirty, 1);
	assert_file(sub, tree, "sub/new.txt", "in sub\n");
	assert_file(sub, tree, "top.txt", "top\n");
	assert_absent(sub, tree, "new.txt");
	mlp_repo_free(sub);
	assert_int_equal(chdir(".."), 0);
}

static void test_unborn(void **state)
{
	struct mlp_repo *repo = *state;
	char tree[MLP_OID_HEXSZ + 1], base[MLP_OID_HEXSZ + 1];
	char *branch = NULL;
	int dirty = -1;

	assert_int_equal(mlp_repo_head(repo, base, &branch), 0);
	assert_string_equal(base, "");
	assert_string_equal(branch, "main");
	free(branch);

	snap(repo, tree, &dirty, -1, NULL);
	assert_int_equal(dirty, 0);
	assert_string_equal(tree, EMPTY_TREE);

	sh("printf 'a\\n' >a.txt && mkdir d && printf 'b\\n' >d/b.txt && printf 'c\\n' >c.log && "
	   "printf '*.log\\n' >.gitignore");
	snap(repo, tree, &dirty, -1, NULL);
	assert_int_equal(dirty, 1);
	assert_file(repo, tree, "a.txt", "a\n");
	assert_file(repo, tree, "d/b.txt", "b\n");
	assert_file(repo, tree, ".gitignore", "*.log\n");
	assert_absent(repo, tree, "c.log");

	/* staged on an unborn branch, then deleted from the work tree */
	sh("printf 'gone\\n' >gone.txt && git add gone.txt && rm gone.txt");
	snap(repo, tree, &dirty, -1, NULL);
	assert_absent(repo, tree, "gone.txt");
	assert_file(repo, tree, "a.txt", "a\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_clean, setup, teardown),
		cmocka_unit_test_setup_teardown(test_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_staged_and_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_large_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_from_subdirectory, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unborn, setup_unborn, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
