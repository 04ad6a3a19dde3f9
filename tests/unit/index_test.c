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

/* A finished run named `name`, saved; its id into `id`. */
static void save_run(struct mlp_repo *repo, const char *name, char id[MLP_ID_HEXSZ + 1])
{
	struct mlp_run *run = mlp_run_new();

	assert_int_equal(mlp_run_new_id(run), 0);
	run->name = strdup(name);
	run->status = MLP_STATUS_FINISHED;
	run->started = 1700000000000LL;
	run->ended = 1700000001000LL;
	assert_int_equal(mlp_repo_head(repo, run->base, &run->branch), 0);
	if (mlp_run_save(repo, run, NULL) != 0)
		fail_msg("save: %s", mlp_error_message());
	memcpy(id, run->id, MLP_ID_HEXSZ + 1);
	mlp_run_free(run);
}

/* mlp_run_names() as "id name" lines, sorted. */
static char *names_text(struct mlp_repo *repo)
{
	struct mlp_run_name *names = NULL;
	size_t nr = 0;
	char **lines;

	assert_int_equal(mlp_run_names(&names, &nr, repo), 0);
	lines = calloc(nr + 1, sizeof(char *));
	for (size_t i = 0; i < nr; i++) {
		struct mlp_buf b = MLP_BUF_INIT;
		mlp_buf_addf(&b, "%s %s", names[i].id, names[i].name);
		lines[i] = mlp_buf_detach(&b, NULL);
	}
	mlp_run_names_free(names, nr);
	return joined(lines, nr);
}

static void make_index_current(struct mlp_repo *repo)
{
	struct mlp_run_list list = { 0 };

	assert_int_equal(mlp_run_list_all(&list, repo, NULL, NULL), 0);
	mlp_run_list_release(&list);
}

static void append(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/*
 * The names come from the index however stale, then from the log of
 * recent names, then from git; the log goes when an index is written.
 */
static ino_t inode_of(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? st.st_ino : 0;
}

static void test_run_names_from_caches(void **state)
{
	struct mlp_repo *repo = *state;
	char a[MLP_ID_HEXSZ + 1], b[MLP_ID_HEXSZ + 1], c[MLP_ID_HEXSZ + 1], d[MLP_ID_HEXSZ + 1];
	char upper[MLP_ID_HEXSZ + 1];
	struct mlp_buf want = MLP_BUF_INIT, line = MLP_BUF_INIT;
	char *got;
	struct stat st;
	ino_t ino;
	int created;

	assert_int_equal(mlp_repo_init(repo, &created), 0);
	got = names_text(repo);
	assert_string_equal(got, "");
	free(got);
	save_run(repo, "alpha", a);
	save_run(repo, "beta", b);
	/* in no cache: read from git */
	got = names_text(repo);
	mlp_buf_addf(&want, "%s alpha\n%s beta\n", a, b);
	if (strcmp(a, b) > 0) {
		mlp_buf_reset(&want);
		mlp_buf_addf(&want, "%s beta\n%s alpha\n", b, a);
	}
	assert_string_equal(got, want.buf);
	free(got);
	/*
	 * From the index, current or not: run a now names beta's commit, but
	 * the index's name for a stands (names never change; only a hand
	 * could do this).
	 */
	make_index_current(repo);
	ino = inode_of(".git/mlp/index");
	mlp_buf_addf(&line, "git update-ref refs/mlp/runs/%s refs/mlp/runs/%s", a, b);
	sh(line.buf);
	got = names_text(repo);
	mlp_buf_reset(&line);
	mlp_buf_addf(&line, "%s alpha\n", a);
	assert_non_null(strstr(got, line.buf));
	free(got);
	assert_true(inode_of(".git/mlp/index") == ino);	/* stale, and left so */
	/* from the log before git */
	save_run(repo, "gamma", c);
	mlp_names_log_add(repo, c, "gamma-as-logged");
	assert_int_equal(stat(".git/mlp/names", &st), 0);
	got = names_text(repo);
	mlp_buf_reset(&line);
	mlp_buf_addf(&line, "%s gamma-as-logged\n", c);
	assert_non_null(strstr(got, line.buf));
	free(got);
	/*
	 * Lines that do not read as one are ignored, and a torn last line:
	 * run d, in neither cache, keeps the name git has for it.
	 */
	save_run(repo, "delta", d);
	for (int k = 0; k < MLP_ID_HEXSZ; k++)
		upper[k] = (char)(d[k] >= 'a' ? d[k] - 'a' + 'A' : d[k]);
	upper[MLP_ID_HEXSZ] = '\0';
	mlp_buf_reset(&line);
	mlp_buf_addf(&line, "not a line\n%.4s short-id\n%s upper-case\n%s\n%s torn-name", d, upper, d, d);
	append(".git/mlp/names", line.buf);
	got = names_text(repo);
	mlp_buf_reset(&line);
	mlp_buf_addf(&line, "%s delta\n", d);
	assert_non_null(strstr(got, line.buf));
	assert_null(strstr(got, "upper-case"));
	assert_null(strstr(got, "torn-name"));
	free(got);
	append(".git/mlp/names", "\n");
	/* a deleted run is gone, whatever the caches say */
	mlp_buf_reset(&line);
	mlp_buf_addf(&line, "git update-ref -d refs/mlp/runs/%s", a);
	sh(line.buf);
	got = names_text(repo);
	assert_null(strstr(got, "alpha"));
	assert_non_null(strstr(got, "beta\n"));
	free(got);
	/*
	 * Not runs: lock files, directories, other names.  Were they taken
	 * for runs, 40 of them unknown to both caches would make the index
	 * rebuilt and written.
	 */
	sh("cd .git/refs/mlp/runs && for i in $(seq 10 49); do "
	   "git rev-parse HEAD >000000000000000000000000000000$i.lock && "
	   "mkdir 0000000000000000000000000000$i$i && "
	   "git rev-parse HEAD >not-a-run-$i; done");
	ino = inode_of(".git/mlp/index");
	got = names_text(repo);
	assert_null(strstr(got, "0000000000000000000000000000"));
	free(got);
	assert_true(inode_of(".git/mlp/index") == ino);
	sh("cd .git/refs/mlp/runs && rm -rf *.lock not-a-run-* 0000000000000000000000000000*");
	/* a run both packed and loose is listed once */
	sh("git pack-refs --all");
	mlp_buf_reset(&line);
	mlp_buf_addf(&line, "git rev-parse refs/mlp/runs/%s >oid && mkdir -p .git/refs/mlp/runs && mv oid .git/refs/mlp/runs/%s", b, b);
	sh(line.buf);
	got = names_text(repo);
	{
		const char *first = strstr(got, "beta\n");
		assert_non_null(first);
		assert_null(strstr(first + 1, "beta\n"));
	}
	free(got);
	/* writing an index removes the log: gamma's name is git's again */
	make_index_current(repo);
	assert_int_not_equal(stat(".git/mlp/names", &st), 0);
	got = names_text(repo);
	assert_null(strstr(got, "gamma-as-logged"));
	assert_non_null(strstr(got, " gamma\n"));
	free(got);
	mlp_buf_release(&want);
	mlp_buf_release(&line);
}

/*
 * Past 32 runs in neither cache, or with a log too long, the index is
 * made current and written instead; the names are the same.
 */
static void test_run_names_rebuild_when_unknown(void **state)
{
	struct mlp_repo *repo = *state;
	char id[MLP_ID_HEXSZ + 1], name[32];
	struct mlp_buf big = MLP_BUF_INIT;
	char *got, *again;
	struct stat st;
	size_t lines = 0;

	int created;

	assert_int_equal(mlp_repo_init(repo, &created), 0);
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof(name), "run-%02d", i);
		save_run(repo, name, id);
	}
	assert_int_not_equal(stat(".git/mlp/index", &st), 0);
	got = names_text(repo);
	assert_int_equal(stat(".git/mlp/index", &st), 0);	/* rebuilt and written */
	for (const char *p = got; *p; p++)
		lines += *p == '\n';
	assert_int_equal(lines, 40);
	/* a log past its size: not read, and gone with the index written again */
	save_run(repo, "late", id);
	for (int i = 0; i < 6000; i++)
		mlp_buf_addf(&big, "%s filler-name-%d\n", id, i);
	append(".git/mlp/names", big.buf);
	again = names_text(repo);
	assert_non_null(strstr(again, " late\n"));
	assert_null(strstr(again, "filler-name"));
	assert_int_not_equal(stat(".git/mlp/names", &st), 0);
	free(got);
	free(again);
	mlp_buf_release(&big);
}

#define REPO_TEST(f) cmocka_unit_test_setup_teardown(f, repo_setup, repo_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		REPO_TEST(test_refs_read_packed_and_loose),
		REPO_TEST(test_refs_read_symbolic_ref_is_left_to_libgit2),
		REPO_TEST(test_run_names_from_caches),
		REPO_TEST(test_run_names_rebuild_when_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
