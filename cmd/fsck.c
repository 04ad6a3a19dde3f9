/*
 * git mlp fsck: decode every record of every run (or the runs named),
 * re-hash every artifact, look for ref locks left behind, and report each
 * problem with its run (and path); with --live, finish the live runs of
 * this host whose `git mlp run` died, as "crashed".
 */
#include "cmd.h"

#include <string.h>

static const char *const fsck_usage[] = { "git mlp fsck [--live] [<run>...]", NULL };

static void artifact_problem(void *data, const char *path, const char *msg)
{
	error("run %s: artifact '%s': %s", (const char *)data, path, msg);
}

/* In fsck a run that does not decode is an error, not a warning. */
static void error_cb(void *data, const char *msg)
{
	(void)data;
	error("%s", msg);
}

/*
 * A lock older than MLP_LOCK_STALE_MS was left by a writer that died and
 * blocks every update of its ref: an error.  A younger one may belong to
 * a writer at work: a warning only.
 */
static void lock_problem(void *data, const struct mlp_ref_lock *lock)
{
	size_t *stale = data;
	struct mlp_buf age = MLP_BUF_INIT, limit = MLP_BUF_INIT, who = MLP_BUF_INIT;

	mlp_format_age(&age, lock->age_ms);
	mlp_format_age(&limit, MLP_LOCK_STALE_MS);
	if (lock->run)
		mlp_buf_addf(&who, "run %s: ", lock->run);
	if (lock->age_ms >= MLP_LOCK_STALE_MS) {
		error("%sstale lock %s (%s old, older than %s): no update of %s until it is removed",
		      who.buf ? who.buf : "", lock->name, age.buf, limit.buf, lock->run ? "the run" : "its ref");
		(*stale)++;
	} else {
		warning("%slock %s is %s old: a writer may be updating %s", who.buf ? who.buf : "",
			lock->name, age.buf, lock->run ? "the run" : "its ref");
	}
	mlp_buf_release(&age);
	mlp_buf_release(&limit);
	mlp_buf_release(&who);
}

static int check_one(struct mlp_ctx *ctx, const char *id)
{
	struct mlp_run *run = NULL;
	size_t problems = 0;

	if (mlp_run_load(&run, ctx->repo, id, MLP_LOAD_SERIES | MLP_LOAD_LOGS) < 0) {
		error("%s", mlp_error_message());
		return 1;
	}
	if (mlp_artifact_verify(ctx->repo, run, artifact_problem, (void *)id, &problems) < 0) {
		error("run %s: %s", id, mlp_error_message());
		problems++;
	}
	mlp_run_free(run);
	return problems ? 1 : 0;
}

int cmd_fsck(int argc, const char **argv, struct mlp_ctx *ctx)
{
	int live = 0, bad = 0;
	size_t n = 0, checked = 0, stale = 0;
	struct mlp_option opts[] = {
		OPT_BOOL(0, "live", &live, "finish live runs of this host whose git-mlp died, as crashed"),
		OPT_END()
	};

	argc = mlp_parse_options(argc, argv, opts, fsck_usage, 0);
	if (live) {
		if (mlp_live_recover(ctx->repo, warn_cb, NULL, &n) < 0)
			die_lib();
		printf("finished %zu crashed run%s\n", n, n == 1 ? "" : "s");
	}
	if (argc) {
		for (int i = 0; i < argc; i++) {
			char id[MLP_ID_HEXSZ + 1];
			if (resolve_run(ctx, argv[i], id) < 0) {
				bad++;
				continue;
			}
			bad += check_one(ctx, id);
			checked++;
			if (mlp_repo_ref_locks(ctx->repo, id, lock_problem, &stale) < 0)
				die_lib();
		}
	} else if (!live) {
		struct mlp_run_list list = MLP_RUN_LIST_INIT;
		if (mlp_repo_ref_locks(ctx->repo, NULL, lock_problem, &stale) < 0)
			die_lib();
		/* list_all reports runs that do not decode; check the rest deeply */
		if (mlp_run_list_all(&list, ctx->repo, error_cb, NULL) < 0)
			die_lib();
		bad += (int)list.skipped;
		checked += list.skipped;
		for (size_t i = 0; i < list.nr; i++, checked++)
			bad += check_one(ctx, list.runs[i]->id);
		mlp_run_list_release(&list);
	}
	if (checked) {
		printf("checked %zu run%s: %d with problems", checked, checked == 1 ? "" : "s", bad);
		if (stale)
			printf("; %zu stale lock%s", stale, stale == 1 ? "" : "s");
		putchar('\n');
	}
	return bad || stale ? 1 : 0;
}
