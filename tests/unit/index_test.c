/*
 * lib/index.c: reading the run refs for the index cache in one pass
 * (mlp_index_refs_read) gives exactly the refs libgit2 lists, packed and
 * loose, and a signature that later readers of the index agree with, so
 * an index built from those refs by mlp_index_update() is taken as
 * current and not rebuilt.  Listing through the cache is covered end to
 * end by tests/e2e/t0550-index-robustness.sh.
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
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "testrepo.h"


static int repo_setup(void **state)
{
	struct mlp_repo *repo = NULL;

	if (test_repo_enter("index", "git commit -q --allow-empty -m one && git commit -q --allow-empty -m two") < 0 || mlp_repo_open(&repo) < 0)
		return -1;
	*state = repo;
	return 0;
}

static int repo_teardown(void **state)
{
	mlp_repo_free(*state);
	return test_repo_leave();
}

static void sh(const char *cmd)
{
	assert_int_equal(system(cmd), 0);
}

/* "<id> <oid>" lines of the refs, sorted, as text. */
static int line_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *joined(char **lines, size_t n)
{
	struct mlp_buf b = MLP_BUF_INIT;
	qsort(lines, n, sizeof(*lines), line_cmp);
	mlp_buf_adds(&b, "");
	for (size_t i = 0; i < n; i++) {
		mlp_buf_addf(&b, "%s\n", lines[i]);
		free(lines[i]);
	}
	free(lines);
	return mlp_buf_detach(&b, NULL);
}

static char *ours(struct mlp_repo *repo, uint64_t *sig)
{
	struct mlp_index_refs refs = { 0 };
	char **lines;

	assert_int_equal(mlp_index_refs_read(&refs, repo), 0);
	lines = calloc(refs.nr + 1, sizeof(char *));
	for (size_t i = 0; i < refs.nr; i++) {
		char oid[MLP_OID_HEXSZ + 1];
		struct mlp_buf b = MLP_BUF_INIT;
		for (int k = 0; k < 16; k++)
			mlp_buf_addf(&b, "%02x", refs.e[i].id[k]);
		git_oid_tostr(oid, sizeof(oid), &refs.e[i].oid);
		mlp_buf_addf(&b, " %s", oid);
		lines[i] = mlp_buf_detach(&b, NULL);
	}
	*sig = refs.sig;
	{
		size_t n = refs.nr;
		mlp_index_refs_release(&refs);
		return joined(lines, n);
	}
}

/* What libgit2 lists: run refs with a 32-hex id and a direct target. */
static char *libgit2s(struct mlp_repo *repo)
{
	git_reference_iterator *it = NULL;
	git_reference *ref;
	char **lines = NULL;
	size_t n = 0;

	assert_int_equal(git_reference_iterator_glob_new(&it, repo->git, MLP_REF_PREFIX "*"), 0);
	while (git_reference_next(&ref, it) == 0) {
		const char *id = git_reference_name(ref) + strlen(MLP_REF_PREFIX);
		if (git_reference_target(ref) && strlen(id) == MLP_ID_HEXSZ && mlp_hex_valid(id, MLP_ID_HEXSZ)) {
			char oid[MLP_OID_HEXSZ + 1];
			struct mlp_buf b = MLP_BUF_INIT;
			git_oid_tostr(oid, sizeof(oid), git_reference_target(ref));
			mlp_buf_addf(&b, "%s %s", id, oid);
			lines = realloc(lines, (n + 1) * sizeof(char *));
			lines[n++] = mlp_buf_detach(&b, NULL);
		}
		git_reference_free(ref);
	}
	git_reference_iterator_free(it);
	return joined(lines, n);
}

static ino_t index_inode(void)
{
	struct stat st;
	assert_int_equal(stat(".git/mlp/index", &st), 0);
	return st.st_ino;
}

/*
 * The refs read in one pass equal libgit2's list, and an index updated
 * from them is current for the next reader: mlp_run_names_of() finds
 * the same signature and does not rewrite the file.
 */
static void check_refs(struct mlp_repo *repo, size_t want)
{
	uint64_t sig;
	char *a = ours(repo, &sig), *b = libgit2s(repo);
	struct mlp_index_refs refs = { 0 };
	char **names = NULL, *id = "0000000000000000000000000000000a";
	ino_t ino;
	size_t lines = 0;

	assert_string_equal(a, b);
	for (const char *p = a; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, want);
	assert_int_equal(mlp_index_refs_read(&refs, repo), 0);
	assert_true(refs.sig == sig);
	assert_int_equal(mlp_index_update(repo, &refs, NULL, 0, NULL, NULL, NULL), 0);
	ino = index_inode();
	assert_int_equal(mlp_run_names_of(&names, repo, &id, 1), 0);
	free(names[0]);
	free(names);
	assert_true(index_inode() == ino);
	mlp_index_refs_release(&refs);
	free(a);
	free(b);
}

static void test_refs_read_packed_and_loose(void **state)
{
	struct mlp_repo *repo = *state;

	/* packed runs, then loose ones, one of them hiding a packed one */
	sh("for i in 1 2 3 4 5; do git update-ref refs/mlp/runs/0000000000000000000000000000000$i HEAD~1; done && "
	   "git pack-refs --all && "
	   "for i in 6 7 8; do git update-ref refs/mlp/runs/0000000000000000000000000000000$i HEAD; done && "
	   "git update-ref refs/mlp/runs/00000000000000000000000000000002 HEAD && "
	   "git update-ref -d refs/mlp/runs/00000000000000000000000000000004 && "
	   ": not runs: a lock file, a longer name, a branch && "
	   "git rev-parse HEAD >.git/refs/mlp/runs/00000000000000000000000000000009.lock && "
	   "git update-ref refs/mlp/runs/0000000000000000000000000000000x HEAD && "
	   "git update-ref refs/heads/other HEAD");
	check_refs(repo, 7);
	/* the same refs once they are older than the signature's few seconds */
	sleep(3);
	check_refs(repo, 7);
}

static void test_refs_read_symbolic_ref_is_left_to_libgit2(void **state)
{
	struct mlp_repo *repo = *state;

	sh("for i in 1 2 3; do git update-ref refs/mlp/runs/0000000000000000000000000000000$i HEAD; done && "
	   "git pack-refs --all && git update-ref refs/mlp/runs/00000000000000000000000000000004 HEAD && "
	   "git symbolic-ref refs/mlp/runs/00000000000000000000000000000005 refs/heads/main");
	check_refs(repo, 4);
}

static int refs_added_after_names(struct mlp_repo *repo)
{
	struct mlp_run_name *names = NULL;
	size_t nr = 0;

	assert_int_equal(mlp_run_names(&names, &nr, repo), 0);
	mlp_run_names_free(names, nr);
	return mlp_run_refs_added(repo);
}

/*
 * mlp_run_refs_added() says 0 only when no run ref can have come since
 * mlp_run_names() read them: new loose or packed refs, lock files and
 * rewritten packed-refs all say 1.
 */
static void test_run_refs_added(void **state)
{
	struct mlp_repo *repo = *state;

	assert_int_equal(mlp_run_refs_added(repo), 1);	/* nothing read yet */
	assert_int_equal(refs_added_after_names(repo), 0);	/* no refs at all */
	sh("git update-ref refs/mlp/runs/00000000000000000000000000000001 HEAD");
	assert_int_equal(mlp_run_refs_added(repo), 1);
	assert_int_equal(refs_added_after_names(repo), 0);
	/* updated or deleted: no name added */
	sh("git update-ref refs/mlp/runs/00000000000000000000000000000001 HEAD~1 && "
	   "git update-ref refs/mlp/runs/00000000000000000000000000000002 HEAD");
	assert_int_equal(refs_added_after_names(repo), 0);
	sh("git update-ref refs/mlp/runs/00000000000000000000000000000001 HEAD && "
	   "git update-ref -d refs/mlp/runs/00000000000000000000000000000002");
	assert_int_equal(mlp_run_refs_added(repo), 0);
	/* a ref being written, a name git may take for a ref */
	sh("git rev-parse HEAD >.git/refs/mlp/runs/00000000000000000000000000000003.lock");
	assert_int_equal(mlp_run_refs_added(repo), 1);
	sh("rm .git/refs/mlp/runs/00000000000000000000000000000003.lock");
	assert_int_equal(mlp_run_refs_added(repo), 0);
	sh("git rev-parse HEAD >.git/refs/mlp/runs/0000000000000000000000000000000A");
	assert_int_equal(mlp_run_refs_added(repo), 1);
	sh("rm .git/refs/mlp/runs/0000000000000000000000000000000A");
	/* packed-refs: rewritten, or holding a new run */
	sh("git pack-refs --all");
	assert_int_equal(mlp_run_refs_added(repo), 1);
	assert_int_equal(refs_added_after_names(repo), 0);
	sh("git update-ref refs/mlp/runs/00000000000000000000000000000004 HEAD && git pack-refs --all");
	assert_int_equal(mlp_run_refs_added(repo), 1);
	assert_int_equal(refs_added_after_names(repo), 0);
}

#define REPO_TEST(f) cmocka_unit_test_setup_teardown(f, repo_setup, repo_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		REPO_TEST(test_refs_read_packed_and_loose),
		REPO_TEST(test_refs_read_symbolic_ref_is_left_to_libgit2),
		REPO_TEST(test_run_refs_added),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
