/*
 * lib/sync.c: spawning git (input, output, exit status, a child that does
 * not read its input), the state names, and what fetch does with a run
 * whose local and remote versions differ (mlp_sync_reconcile() and the
 * merge behind it), on versions built in a repository in a temporary
 * directory.  Transport is covered end to end by tests/e2e/t071*.sh
 * against real remotes.
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

#include "internal.h"
#include "testrepo.h"
#include "sync.h"

static void test_spawn_captures_output_and_status(void **state)
{
	const char *argv[] = { "sh", "-c", "echo out; echo err >&2; exit 3", NULL };
	struct mlp_spawn s = { 0 };
	(void)state;
	s.argv = argv;
	s.capture_out = s.capture_err = 1;
	assert_int_equal(mlp_spawn_run(&s), 0);
	assert_int_equal(s.status, 3);
	assert_string_equal(s.out.buf, "out\n");
	assert_string_equal(s.err.buf, "err\n");
	mlp_spawn_release(&s);
}

static void test_spawn_feeds_big_input_without_deadlock(void **state)
{
	/* 4 MiB through cat while its output is drained: pipes hold 64 KiB */
	const char *argv[] = { "cat", NULL };
	struct mlp_spawn s = { 0 };
	size_t n = 4u << 20;
	char *in = malloc(n);
	(void)state;
	for (size_t i = 0; i < n; i++)
		in[i] = (char)('a' + i % 26);
	s.argv = argv;
	s.in = in;
	s.in_len = n;
	s.capture_out = 1;
	assert_int_equal(mlp_spawn_run(&s), 0);
	assert_int_equal(s.status, 0);
	assert_int_equal(s.out.len, n);
	assert_memory_equal(s.out.buf, in, n);
	mlp_spawn_release(&s);
	free(in);
}

static void test_spawn_child_ignoring_input(void **state)
{
	/* the child exits without reading: no SIGPIPE may kill the caller */
	const char *argv[] = { "true", NULL };
	struct mlp_spawn s = { 0 };
	size_t n = 1u << 20;
	char *in = calloc(1, n);
	(void)state;
	s.argv = argv;
	s.in = in;
	s.in_len = n;
	assert_int_equal(mlp_spawn_run(&s), 0);
	assert_int_equal(s.status, 0);
	mlp_spawn_release(&s);
	free(in);
}

static void test_spawn_env_and_missing_program(void **state)
{
	const char *argv[] = { "sh", "-c", "printf %s \"$MLP_SPAWN_TEST\"", NULL };
	const char *env[] = { "MLP_SPAWN_TEST=hello", NULL };
	const char *missing[] = { "/nonexistent/program", NULL };
	struct mlp_spawn s = { 0 };
	(void)state;
	s.argv = argv;
	s.env_add = env;
	s.capture_out = 1;
	assert_int_equal(mlp_spawn_run(&s), 0);
	assert_string_equal(s.out.buf, "hello");
	assert_null(getenv("MLP_SPAWN_TEST"));
	mlp_spawn_release(&s);
	memset(&s, 0, sizeof(s));
	s.argv = missing;
	s.capture_err = 1;
	assert_int_equal(mlp_spawn_run(&s), 0);
	assert_int_equal(s.status, 127);
	mlp_spawn_release(&s);
}

/* env_add replaces a variable (no second copy), dir is the child's, stdin is /dev/null. */
static void test_spawn_env_override_dir_and_stdin(void **state)
{
	const char *argv[] = { "sh", "-c", "env | grep -c '^MLP_SPAWN_OVER='; printf '%s %s ' \"$MLP_SPAWN_OVER\" \"$(pwd)\"; cat; echo end", NULL };
	const char *env[] = { "MLP_SPAWN_OVER=new", NULL };
	struct mlp_spawn s = { 0 };
	(void)state;
	setenv("MLP_SPAWN_OVER", "old", 1);
	s.argv = argv;
	s.env_add = env;
	s.dir = "/";
	s.capture_out = 1;
	assert_int_equal(mlp_spawn_run(&s), 0);
	assert_int_equal(s.status, 0);
	assert_string_equal(s.out.buf, "1\nnew / end\n");
	assert_string_equal(getenv("MLP_SPAWN_OVER"), "old");
	mlp_spawn_release(&s);
	/* a directory that is not there: the child never runs, 127 and why */
	memset(&s, 0, sizeof(s));
	s.argv = argv;
	s.dir = "/nonexistent/dir";
	s.capture_out = s.capture_err = 1;
	assert_int_equal(mlp_spawn_run(&s), 0);
	assert_int_equal(s.status, 127);
	assert_string_equal(s.out.buf, "");
	assert_non_null(strstr(s.err.buf, "No such file"));
	mlp_spawn_release(&s);
	unsetenv("MLP_SPAWN_OVER");
}

static void test_state_names(void **state)
{
	(void)state;
	assert_string_equal(mlp_sync_state_name(MLP_SYNC_PUSHED), "pushed");
	assert_string_equal(mlp_sync_state_name(MLP_SYNC_UPTODATE), "up to date");
	assert_string_equal(mlp_sync_state_name(MLP_SYNC_MERGED), "merged");
	assert_string_equal(mlp_sync_state_name(MLP_SYNC_REMOTE_ONLY), "remote only");
	assert_string_equal(mlp_sync_state_name((enum mlp_sync_state)99), "?");
}

static void test_hook_script(void **state)
{
	struct mlp_buf b = MLP_BUF_INIT;
	(void)state;
	mlp_hook_script(&b, "pre-push");
	assert_non_null(strstr(b.buf, MLP_HOOK_MARKER));
	assert_non_null(strstr(b.buf, "\nexec git mlp hook pre-push \"$@\"\n"));
	assert_int_equal(strncmp(b.buf, "#!/bin/sh\n", 10), 0);
	mlp_buf_release(&b);
}


/* ---- two versions of a run: what fetch does ------------------------------------------- */


static int repo_setup(void **state)
{
	struct mlp_repo *repo = NULL;
	int created;

	if (test_repo_enter("sync", "echo hello >file.txt && git add file.txt && git commit -q -m init") < 0 || mlp_repo_open(&repo) < 0 || mlp_repo_init(repo, &created) < 0)
		return -1;
	*state = repo;
	return 0;
}

static int repo_teardown(void **state)
{
	mlp_repo_free(*state);
	return test_repo_leave();
}

#define T0 INT64_C(1700000000000)

typedef char hex_t[MLP_OID_HEXSZ + 1];

static void set_tag(struct mlp_run *run, const char *k, const char *v)
{
	struct mlp_value val;
	if (!v) {
		mlp_map_remove(&run->tags, k);
		return;
	}
	memset(&val, 0, sizeof(val));
	mlp_value_set_str(&val, v, strlen(v));
	mlp_map_set(&run->tags, k, &val);
}

static void set_param(struct mlp_run *run, const char *k, const char *v)
{
	struct mlp_value val;
	mlp_value_parse(&val, v, strlen(v));
	mlp_map_set(&run->params, k, &val);
}

/* The text of a tag or param, NULL when absent. */
static const char *text_of(const struct mlp_map *m, const char *k)
{
	static char buf[4][64];
	static int next;
	const struct mlp_value *v = mlp_map_get(m, k);
	struct mlp_buf b = MLP_BUF_INIT;
	char *out;
	if (!v)
		return NULL;
	mlp_value_format(&b, v);
	out = buf[next++ % 4];
	snprintf(out, sizeof(buf[0]), "%s", b.buf);
	mlp_buf_release(&b);
	return out;
}

static void ref_at(hex_t out, struct mlp_repo *repo, const char *id)
{
	char name[128];
	git_oid oid;
	snprintf(name, sizeof(name), MLP_REF_PREFIX "%s", id);
	assert_int_equal(git_reference_name_to_id(&oid, repo->git, name), 0);
	git_oid_tostr(out, MLP_OID_HEXSZ + 1, &oid);
}

static void point_ref(struct mlp_repo *repo, const char *id, const char *hex)
{
	char name[128];
	git_oid oid;
	git_reference *ref = NULL;
	snprintf(name, sizeof(name), MLP_REF_PREFIX "%s", id);
	assert_int_equal(git_oid_fromstr(&oid, hex), 0);
	assert_int_equal(git_reference_create(&ref, repo->git, name, &oid, 1, NULL), 0);
	git_reference_free(ref);
}

/* A finished run with tags, params, a note and 5 points of `loss`: the common version. */
static struct mlp_run *first_version(hex_t out, struct mlp_repo *repo)
{
	struct mlp_run *run = mlp_run_new();

	assert_int_equal(mlp_run_new_id(run), 0);
	run->name = mlp_strdup("shared");
	run->status = MLP_STATUS_FINISHED;
	assert_int_equal(mlp_repo_head(repo, run->base, &run->branch), 0);
	run->started = T0;
	run->ended = T0 + 60000;
	run->has_exit_code = 1;
	set_tag(run, "team", "vision");
	set_tag(run, "kind", "cnn");
	set_param(run, "lr", "0.01");
	run->note = mlp_strdup("first");
	for (int i = 0; i < 5; i++)
		mlp_run_add_point(run, "loss", i, 1.0 / (i + 1), T0 + i);
	assert_int_equal(mlp_run_save(repo, run, NULL), 0);
	memcpy(out, run->commit, MLP_OID_HEXSZ + 1);
	return run;
}

/* Version `from` of the run, series included, as a clone would edit it. */
static struct mlp_run *edit(struct mlp_repo *repo, const char *id, const char *from)
{
	struct mlp_run *run = NULL;
	git_oid oid;
	assert_int_equal(git_oid_fromstr(&oid, from), 0);
	assert_int_equal(mlp_run_load_oid(&run, repo, id, &oid, MLP_LOAD_SERIES, NULL), 0);
	return run;
}

/* Saves the edited run as a new version (whatever the ref holds) and frees it. */
static void save_version(hex_t out, struct mlp_repo *repo, struct mlp_run *run)
{
	ref_at(run->commit, repo, run->id);
	assert_int_equal(mlp_run_save(repo, run, NULL), 0);
	memcpy(out, run->commit, MLP_OID_HEXSZ + 1);
	mlp_run_free(run);
}

/* A commit with the tree of `like` and the given parents. */
static void commit_like(hex_t out, struct mlp_repo *repo, const char *like, const char *const *parents, size_t np)
{
	git_oid oid;
	git_commit *c = NULL, *p[3] = { NULL, NULL, NULL };
	git_tree *tree = NULL;
	assert_true(np <= 3);
	assert_int_equal(git_oid_fromstr(&oid, like), 0);
	assert_int_equal(git_commit_lookup(&c, repo->git, &oid), 0);
	assert_int_equal(git_commit_tree(&tree, c), 0);
	for (size_t i = 0; i < np; i++) {
		assert_int_equal(git_oid_fromstr(&oid, parents[i]), 0);
		assert_int_equal(git_commit_lookup(&p[i], repo->git, &oid), 0);
	}
	assert_int_equal(git_commit_create(&oid, repo->git, NULL, git_commit_author(c), git_commit_committer(c),
					   NULL, git_commit_message(c), tree, np, (const git_commit **)p), 0);
	git_oid_tostr(out, MLP_OID_HEXSZ + 1, &oid);
	for (size_t i = 0; i < np; i++)
		git_commit_free(p[i]);
	git_tree_free(tree);
	git_commit_free(c);
}

/* A run commit whose run.mp is `data`, on top of `base`. */
static void raw_version(hex_t out, struct mlp_repo *repo, const char *data, size_t len, const char *base)
{
	git_oid blob, tree, commit, b;
	git_treebuilder *tb = NULL;
	git_tree *t = NULL;
	git_commit *parent = NULL;
	git_signature *sig = NULL;

	assert_int_equal(git_blob_create_from_buffer(&blob, repo->git, data, len), 0);
	assert_int_equal(git_treebuilder_new(&tb, repo->git, NULL), 0);
	assert_int_equal(git_treebuilder_insert(NULL, tb, "run.mp", &blob, GIT_FILEMODE_BLOB), 0);
	assert_int_equal(git_treebuilder_write(&tree, tb), 0);
	assert_int_equal(git_tree_lookup(&t, repo->git, &tree), 0);
	assert_int_equal(git_oid_fromstr(&b, base), 0);
	assert_int_equal(git_commit_lookup(&parent, repo->git, &b), 0);
	assert_int_equal(git_signature_now(&sig, "t", "t@example.com"), 0);
	assert_int_equal(git_commit_create(&commit, repo->git, NULL, sig, sig, NULL, "raw", t, 1,
					   (const git_commit **)&parent), 0);
	git_oid_tostr(out, MLP_OID_HEXSZ + 1, &commit);
	git_signature_free(sig);
	git_commit_free(parent);
	git_tree_free(t);
	git_treebuilder_free(tb);
}

static void assert_parents(struct mlp_repo *repo, const char *commit, const char *const *want, size_t n)
{
	git_oid oid;
	git_commit *c = NULL;
	assert_int_equal(git_oid_fromstr(&oid, commit), 0);
	assert_int_equal(git_commit_lookup(&c, repo->git, &oid), 0);
	assert_int_equal(git_commit_parentcount(c), n);
	for (unsigned i = 0; i < n; i++) {
		char hex[MLP_OID_HEXSZ + 1];
		git_oid_tostr(hex, sizeof(hex), git_commit_parent_id(c, i));
		assert_string_equal(hex, want[i]);
	}
	git_commit_free(c);
}

static void assert_ref(struct mlp_repo *repo, const char *id, const char *want)
{
	hex_t now;
	ref_at(now, repo, id);
	assert_string_equal(now, want);
}

static void test_reconcile_identical(void **state)
{
	struct mlp_repo *repo = *state;
	struct mlp_buf report = MLP_BUF_INIT;
	enum mlp_sync_state st = MLP_SYNC_REJECTED;
	hex_t c, out;
	struct mlp_run *run = first_version(c, repo);

	assert_int_equal(mlp_sync_reconcile(&st, out, repo, run->id, c, c, NULL, &report), 0);
	assert_int_equal(st, MLP_SYNC_UPTODATE);
	assert_string_equal(out, c);
	assert_ref(repo, run->id, c);
	assert_int_equal(report.len, 0);
	mlp_run_free(run);
}

static void test_reconcile_fast_forward(void **state)
{
	/* theirs is a merge that has ours as a parent: git's fast-forward */
	struct mlp_repo *repo = *state;
	struct mlp_buf report = MLP_BUF_INIT;
	enum mlp_sync_state st = MLP_SYNC_REJECTED;
	hex_t c, th, ff, out;
	struct mlp_run *run = first_version(c, repo), *e = edit(repo, run->id, c);
	const char *parents[2] = { run->base, c };

	set_tag(e, "stage", "prod");
	save_version(th, repo, e);
	commit_like(ff, repo, th, parents, 2);
	point_ref(repo, run->id, c);
	assert_int_equal(mlp_sync_reconcile(&st, out, repo, run->id, c, ff, NULL, &report), 0);
	assert_int_equal(st, MLP_SYNC_UPDATED);
	assert_string_equal(out, ff);
	assert_ref(repo, run->id, ff);
	assert_int_equal(report.len, 0);
	mlp_run_free(run);
}

static void test_reconcile_taken_when_unchanged_here(void **state)
{
	/* run commits are replaced, not chained: no fast-forward, yet only they changed it */
	struct mlp_repo *repo = *state;
	struct mlp_buf report = MLP_BUF_INIT;
	enum mlp_sync_state st = MLP_SYNC_REJECTED;
	hex_t c, th, out;
	struct mlp_run *run = first_version(c, repo), *e = edit(repo, run->id, c), *got = NULL;

	set_tag(e, "stage", "prod");
	save_version(th, repo, e);
	point_ref(repo, run->id, c);
	assert_int_equal(mlp_sync_reconcile(&st, out, repo, run->id, c, th, c, &report), 0);
	assert_int_equal(st, MLP_SYNC_UPDATED);
	assert_string_equal(out, th);
	assert_ref(repo, run->id, th);
	assert_int_equal(mlp_run_load(&got, repo, run->id, 0), 0);
	assert_string_equal(text_of(&got->tags, "stage"), "prod");
	mlp_run_free(got);
	mlp_run_free(run);
}

static void test_reconcile_local_ahead(void **state)
{
	struct mlp_repo *repo = *state;
	struct mlp_buf report = MLP_BUF_INIT;
	enum mlp_sync_state st = MLP_SYNC_REJECTED;
	hex_t c, o, th, m, out;
	struct mlp_run *run = first_version(c, repo), *e = edit(repo, run->id, c);

	/* we changed it since we last agreed; the remote still has the common version */
	set_tag(e, "stage", "dev");
	save_version(o, repo, e);
	assert_int_equal(mlp_sync_reconcile(&st, out, repo, run->id, o, c, c, &report), 0);
	assert_int_equal(st, MLP_SYNC_AHEAD);
	assert_string_equal(out, o);
	assert_ref(repo, run->id, o);

	/* ours is a merge that contains theirs (no sync state needed) */
	e = edit(repo, run->id, c);
	set_tag(e, "stage", "prod");
	save_version(th, repo, e);
	{
		const char *parents[3] = { run->base, o, th };
		commit_like(m, repo, o, parents, 3);
	}
	point_ref(repo, run->id, m);
	assert_int_equal(mlp_sync_reconcile(&st, out, repo, run->id, m, th, NULL, &report), 0);
	assert_int_equal(st, MLP_SYNC_AHEAD);
	assert_string_equal(out, m);
	assert_ref(repo, run->id, m);
	assert_int_equal(report.len, 0);
	mlp_run_free(run);
}

static void test_reconcile_diverged_three_way(void **state)
{
	/* each side changed different things: all of it is kept, nothing to report */
	struct mlp_repo *repo = *state;
	struct mlp_buf report = MLP_BUF_INIT;
	enum mlp_sync_state st = MLP_SYNC_REJECTED;
	hex_t c, o, th, out;
	struct mlp_run *run = first_version(c, repo), *e, *got = NULL;
	const struct mlp_series *s;

	e = edit(repo, run->id, c);
	set_tag(e, "stage", "dev");
	set_param(e, "epochs", "3");
	save_version(o, repo, e);
	e = edit(repo, run->id, o);	/* ours again; theirs below starts from c */
	mlp_run_free(e);
	e = edit(repo, run->id, c);
	set_tag(e, "team", "nlp");
	set_tag(e, "kind", NULL);
	set_param(e, "lr", "0.02");
	free(e->note);
	e->note = mlp_strdup("theirs");
	for (int i = 5; i < 10; i++)
		mlp_run_add_point(e, "loss", i, 1.0 / (i + 1), T0 + i);
	save_version(th, repo, e);
	point_ref(repo, run->id, o);

	assert_int_equal(mlp_sync_reconcile(&st, out, repo, run->id, o, th, c, &report), 0);
	assert_int_equal(st, MLP_SYNC_MERGED);
	assert_string_not_equal(out, o);
	assert_string_not_equal(out, th);
	assert_ref(repo, run->id, out);
	{
		/* both versions stay reachable: parents base, ours, theirs */
		const char *parents[3] = { run->base, o, th };
		assert_parents(repo, out, parents, 3);
	}
	assert_int_equal(mlp_run_load(&got, repo, run->id, MLP_LOAD_SERIES), 0);
	assert_string_equal(text_of(&got->tags, "team"), "nlp");	/* only they changed it */
	assert_string_equal(text_of(&got->tags, "stage"), "dev");	/* only we added it */
	assert_null(text_of(&got->tags, "kind"));			/* only they removed it */
	assert_string_equal(text_of(&got->params, "lr"), "0.02");
	assert_string_equal(text_of(&got->params, "epochs"), "3");
	assert_string_equal(got->note, "theirs");
	assert_string_equal(got->base, run->base);
	s = mlp_run_series(got, "loss");
	assert_non_null(s);
	assert_int_equal(s->nr, 10);
	for (size_t i = 0; i < s->nr; i++)
		assert_true(s->step[i] == (int64_t)i);
	/* summary.mp is the merged series' */
	assert_true(mlp_run_summary(got, "loss")->step == 9);
	assert_true(mlp_run_summary(got, "loss")->count == 10);
	assert_true(mlp_run_summary(got, "loss")->last == 0.1);
	assert_int_equal(report.len, 0);
	mlp_run_free(got);
	mlp_run_free(run);
}

/* Both sides set tag `team` from `c`, ending at the given times (the committer date). */
static void conflicting(hex_t o, hex_t th, struct mlp_repo *repo, const char *id, const char *c, int64_t ours_end,
			int64_t theirs_end)
{
	struct mlp_run *e = edit(repo, id, c);
	set_tag(e, "team", "ours");
	set_tag(e, "kind", NULL);
	e->ended = ours_end;
	save_version(o, repo, e);
	e = edit(repo, id, c);
	set_tag(e, "team", "theirs");
	set_tag(e, "extra", "x");
	e->ended = theirs_end;
	save_version(th, repo, e);
	point_ref(repo, id, o);
}

static const char *merged_team(struct mlp_repo *repo, const char *id, const char *ours, const char *theirs,
			       const char *common, struct mlp_buf *report)
{
	static char team[64];
	enum mlp_sync_state st = MLP_SYNC_REJECTED;
	struct mlp_run *got = NULL;
	hex_t out;

	point_ref(repo, id, ours);
	assert_int_equal(mlp_sync_reconcile(&st, out, repo, id, ours, theirs, common, report), 0);
	assert_int_equal(st, MLP_SYNC_MERGED);
	assert_int_equal(mlp_run_load(&got, repo, id, 0), 0);
	snprintf(team, sizeof(team), "%s", text_of(&got->tags, "team"));
	mlp_run_free(got);
	return team;
}

static void test_reconcile_diverged_conflict(void **state)
{
	/*
	 * Both changed the same tag: the run commit with the later committer
	 * date wins (a run commit's committer date is its end time), and the
	 * report names the value that lost.
	 */
	struct mlp_repo *repo = *state;
	struct mlp_buf report = MLP_BUF_INIT;
	hex_t c, o, th;
	struct mlp_run *run = first_version(c, repo), *got = NULL;

	conflicting(o, th, repo, run->id, c, T0 + 70000, T0 + 80000);
	assert_string_equal(merged_team(repo, run->id, o, th, c, &report), "theirs");
	assert_non_null(strstr(report.buf, "tag 'team': both sides changed it; kept 'theirs', the other had 'ours'"));
	/* the three-way parts still apply: kind removed by us only, extra added by them only */
	assert_int_equal(mlp_run_load(&got, repo, run->id, 0), 0);
	assert_null(text_of(&got->tags, "kind"));
	assert_string_equal(text_of(&got->tags, "extra"), "x");
	assert_true(got->ended == T0 + 70000);	/* status and times: ours */
	mlp_run_free(got);

	mlp_buf_reset(&report);
	conflicting(o, th, repo, run->id, c, T0 + 80000, T0 + 70000);
	assert_string_equal(merged_team(repo, run->id, o, th, c, &report), "ours");
	assert_non_null(strstr(report.buf, "tag 'team': both sides changed it; kept 'ours', the other had 'theirs'"));

	/* without the common version nothing is dropped: kind (only theirs has it) comes back */
	mlp_buf_reset(&report);
	conflicting(o, th, repo, run->id, c, T0 + 80000, T0 + 70000);
	assert_string_equal(merged_team(repo, run->id, o, th, NULL, &report), "ours");
	assert_int_equal(mlp_run_load(&got, repo, run->id, 0), 0);
	assert_string_equal(text_of(&got->tags, "kind"), "cnn");
	assert_string_equal(text_of(&got->tags, "extra"), "x");
	mlp_run_free(got);
	mlp_buf_release(&report);
	mlp_run_free(run);
}

static void test_reconcile_diverged_tie_is_the_same_in_both_clones(void **state)
{
	/*
	 * Edits of a finished run keep its end time as committer date, so two
	 * edits tie; the greater commit id wins, so that the clone merging
	 * (ours, theirs) and the one merging (theirs, ours) keep the same value.
	 */
	struct mlp_repo *repo = *state;
	struct mlp_buf report = MLP_BUF_INIT;
	hex_t c, o, th;
	struct mlp_run *run = first_version(c, repo);
	const char *want, *here, *there;

	conflicting(o, th, repo, run->id, c, T0 + 60000, T0 + 60000);
	want = strcmp(th, o) > 0 ? "theirs" : "ours";
	here = merged_team(repo, run->id, o, th, c, &report);
	assert_string_equal(here, want);
	there = merged_team(repo, run->id, th, o, c, &report);
	assert_string_equal(there, want);
	mlp_buf_release(&report);
	mlp_run_free(run);
}

static void test_reconcile_running_meets_finished(void **state)
{
	/* we tagged a checkpoint while the run was going; the remote has it finished */
	struct mlp_repo *repo = *state;
	struct mlp_buf report = MLP_BUF_INIT;
	enum mlp_sync_state st = MLP_SYNC_REJECTED;
	hex_t c, o, th, out;
	struct mlp_run *run = first_version(c, repo), *e, *got = NULL;
	const struct mlp_series *s;

	e = edit(repo, run->id, c);
	e->status = MLP_STATUS_RUNNING;
	e->ended = 0;
	e->has_exit_code = 0;
	save_version(c, repo, e);	/* the checkpoint both have */
	e = edit(repo, run->id, c);
	set_tag(e, "look", "good");
	save_version(o, repo, e);
	e = edit(repo, run->id, c);
	for (int i = 5; i < 8; i++)
		mlp_run_add_point(e, "loss", i, 1.0 / (i + 1), T0 + i);
	e->status = MLP_STATUS_FINISHED;
	e->ended = T0 + 90000;
	e->has_exit_code = 1;
	e->exit_code = 0;
	save_version(th, repo, e);
	point_ref(repo, run->id, o);

	assert_int_equal(mlp_sync_reconcile(&st, out, repo, run->id, o, th, NULL, &report), 0);
	assert_int_equal(st, MLP_SYNC_MERGED);
	assert_int_equal(mlp_run_load(&got, repo, run->id, MLP_LOAD_SERIES), 0);
	assert_int_equal(got->status, MLP_STATUS_FINISHED);
	assert_true(got->ended == T0 + 90000);
	assert_int_equal(got->has_exit_code, 1);
	assert_string_equal(text_of(&got->tags, "look"), "good");
	s = mlp_run_series(got, "loss");
	assert_int_equal(s->nr, 8);	/* the union: shared points once */
	assert_true(mlp_run_summary(got, "loss")->count == 8);
	assert_true(mlp_run_summary(got, "loss")->step == 7);
	mlp_run_free(got);
	mlp_buf_release(&report);
	mlp_run_free(run);
}

static void test_reconcile_run_without_base(void **state)
{
	/* no base commit: both parents of the merge are run commits */
	struct mlp_repo *repo = *state;
	struct mlp_buf report = MLP_BUF_INIT;
	enum mlp_sync_state st = MLP_SYNC_REJECTED;
	hex_t c, o, th, out;
	struct mlp_run *run = first_version(c, repo), *e;

	e = edit(repo, run->id, c);
	e->base[0] = '\0';
	save_version(c, repo, e);
	e = edit(repo, run->id, c);
	set_tag(e, "a", "1");
	save_version(o, repo, e);
	e = edit(repo, run->id, c);
	set_tag(e, "b", "2");
	save_version(th, repo, e);
	point_ref(repo, run->id, o);
	assert_int_equal(mlp_sync_reconcile(&st, out, repo, run->id, o, th, c, &report), 0);
	assert_int_equal(st, MLP_SYNC_MERGED);
	{
		const char *parents[2] = { o, th };
		assert_parents(repo, out, parents, 2);
	}
	mlp_buf_release(&report);
	mlp_run_free(run);
}

static void test_reconcile_corrupt_remote(void **state)
{
	/* a remote version that does not decode is never merged nor taken */
	struct mlp_repo *repo = *state;
	struct mlp_buf report = MLP_BUF_INIT;
	enum mlp_sync_state st = MLP_SYNC_REJECTED;
	hex_t c, o, bad, other_c, blob, out;
	struct mlp_run *run = first_version(c, repo), *e, *other;
	git_oid boid;

	e = edit(repo, run->id, c);
	set_tag(e, "stage", "dev");
	save_version(o, repo, e);
	raw_version(bad, repo, "\x93garbage", 8, run->base);

	/* diverged (changed here since we agreed): not merged */
	assert_true(mlp_sync_reconcile(&st, out, repo, run->id, o, bad, c, &report) < 0);
	assert_non_null(strstr(mlp_error_message(), "unreadable"));
	assert_ref(repo, run->id, o);
	/* no sync state: not merged either */
	assert_true(mlp_sync_reconcile(&st, out, repo, run->id, o, bad, NULL, &report) < 0);
	assert_ref(repo, run->id, o);
	/* unchanged here since we agreed: our readable version is not replaced */
	point_ref(repo, run->id, c);
	assert_int_equal(mlp_sync_reconcile(&st, out, repo, run->id, c, bad, c, &report), MLP_ECORRUPT);
	assert_ref(repo, run->id, c);
	/* a well-formed run, but another one: a remote cannot swap runs */
	other = first_version(other_c, repo);
	assert_int_equal(mlp_sync_reconcile(&st, out, repo, run->id, c, other_c, c, &report), MLP_ECORRUPT);
	assert_ref(repo, run->id, c);
	/* not even a commit */
	assert_int_equal(git_blob_create_from_buffer(&boid, repo->git, "x", 1), 0);
	git_oid_tostr(blob, sizeof(blob), &boid);
	assert_true(mlp_sync_reconcile(&st, out, repo, run->id, c, blob, c, &report) < 0);
	assert_ref(repo, run->id, c);
	/* the remote unchanged since we agreed: nothing of theirs is read at all */
	point_ref(repo, run->id, o);
	assert_int_equal(mlp_sync_reconcile(&st, out, repo, run->id, o, c, c, &report), 0);
	assert_int_equal(st, MLP_SYNC_AHEAD);
	assert_int_equal(report.len, 0);
	mlp_buf_release(&report);
	mlp_run_free(other);
	mlp_run_free(run);
}

#define REPO_TEST(f) cmocka_unit_test_setup_teardown(f, repo_setup, repo_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spawn_captures_output_and_status),
		cmocka_unit_test(test_spawn_feeds_big_input_without_deadlock),
		cmocka_unit_test(test_spawn_child_ignoring_input),
		cmocka_unit_test(test_spawn_env_and_missing_program),
		cmocka_unit_test(test_spawn_env_override_dir_and_stdin),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test(test_hook_script),
		REPO_TEST(test_reconcile_identical),
		REPO_TEST(test_reconcile_fast_forward),
		REPO_TEST(test_reconcile_taken_when_unchanged_here),
		REPO_TEST(test_reconcile_local_ahead),
		REPO_TEST(test_reconcile_diverged_three_way),
		REPO_TEST(test_reconcile_diverged_conflict),
		REPO_TEST(test_reconcile_diverged_tie_is_the_same_in_both_clones),
		REPO_TEST(test_reconcile_running_meets_finished),
		REPO_TEST(test_reconcile_run_without_base),
		REPO_TEST(test_reconcile_corrupt_remote),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
