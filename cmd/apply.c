/*
 * git mlp apply <run> [--force]: the run's workspace snapshot into the
 * work tree, as uncommitted changes on top of whatever HEAD is.
 *
 * Over uncommitted changes it refuses; with --force it first commits a
 * snapshot of the work tree (tracked changes and untracked files, the
 * same snapshot a run records) under refs/mlp/backup/<time>, so nothing
 * is lost.  The files go in with `git read-tree -u --reset`, and the
 * index is then reset to HEAD, so the result reads as plain changes.
 */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *const apply_usage[] = {
	"git mlp apply [--force] <run>",
	NULL
};

/* Commits `tree` (parent HEAD) under a new refs/mlp/backup/<time>. */
static int backup(struct mlp_buf *ref, const char *tree, const char *head, const char *id)
{
	struct mlp_buf commit = MLP_BUF_INIT, msg = MLP_BUF_INIT;
	char stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	mlp_buf_addf(&msg, "git-mlp: work tree before applying run %s", id);
	{
		const char *args[] = { "git", "commit-tree", tree, "-m", msg.buf, head[0] ? "-p" : NULL, head, NULL };
		rc = run_git(&commit, args, 0);
	}
	while (commit.len && commit.buf[commit.len - 1] == '\n')
		commit.buf[--commit.len] = '\0';
	if (rc != 0 || commit.len != MLP_OID_HEXSZ) {
		mlp_buf_release(&commit);
		mlp_buf_release(&msg);
		return -1;
	}
	for (int n = 1; n < 100; n++) {
		mlp_buf_reset(ref);
		mlp_buf_addf(ref, "refs/mlp/backup/%s", stamp);
		if (n > 1)
			mlp_buf_addf(ref, "-%d", n);
		/* an empty old value: create, never overwrite */
		const char *args[] = { "git", "update-ref", "-m", "git-mlp apply: backup", ref->buf, commit.buf, "", NULL };
		if ((rc = run_git(NULL, args, 1)) == 0)
			break;
	}
	mlp_buf_release(&commit);
	mlp_buf_release(&msg);
	return rc == 0 ? 0 : -1;
}

int cmd_apply(int argc, const char **argv, struct mlp_ctx *ctx)
{
	int force = 0, dirty = 0;
	char id[MLP_ID_HEXSZ + 1], here[MLP_OID_HEXSZ + 1], head[MLP_OID_HEXSZ + 1];
	char *branch = NULL;
	const char *workdir, *ws;
	struct mlp_run *run = NULL;
	struct mlp_buf ref = MLP_BUF_INIT;
	int64_t max_file = 0;
	struct mlp_option opts[] = {
		OPT_BOOL('f', "force", &force, "apply over uncommitted changes, saving them in a backup ref first"),
		OPT_END()
	};

	argc = mlp_parse_options(argc, argv, opts, apply_usage, 0);
	if (argc != 1)
		mlp_usage_with_options(apply_usage, opts);
	workdir = mlp_repo_workdir(ctx->repo);
	if (!workdir)
		die("cannot apply a workspace in a bare repository");
	if (resolve_run(ctx, argv[0], id) < 0)
		return 1;
	if (mlp_run_load(&run, ctx->repo, id, 0) < 0)
		die_lib();
	ws = run->workspace[0] ? run->workspace : NULL;
	if (!ws) {
		char tree[MLP_OID_HEXSZ + 1], commit[MLP_OID_HEXSZ + 1];
		if (!run->base[0] || mlp_repo_resolve_commit(ctx->repo, run->base, commit, tree) < 0)
			die("run %.8s has no workspace snapshot and no base commit", run->id);
		memcpy(run->workspace, tree, sizeof(tree));
		ws = run->workspace;
	}
	if (mlp_repo_head(ctx->repo, head, &branch) < 0 ||
	    mlp_config_get_int64(ctx->repo, "mlp.workspace.maxFileSize", &max_file, 10 << 20) < 0 ||
	    mlp_snapshot(ctx->repo, here, &dirty, max_file, warn_cb, NULL) < 0)
		die_lib();
	if (!strcmp(here, ws)) {
		fprintf(stderr, "the work tree already holds the workspace of run %.8s\n", run->id);
		goto done;
	}
	if (dirty && !force) {
		error("your work tree has uncommitted changes");
		fprintf(stderr, "hint: commit or stash them, or use 'git mlp apply --force', which saves them in a backup ref first\n");
		mlp_run_free(run);
		free(branch);
		return 1;
	}
	if (dirty) {
		if (backup(&ref, here, head, run->id) < 0)
			die("cannot save the work tree in a backup ref; nothing changed");
		fprintf(stderr, "saved your uncommitted changes in %s\n", ref.buf);
		fprintf(stderr, "hint: 'git mlp apply' does not bring them back; 'git read-tree -u --reset %s && git reset' does\n",
			ref.buf);
	}
	{
		const char *rt[] = { "git", "-C", workdir, "read-tree", "-u", "--reset", ws, NULL };
		const char *reset[] = { "git", "-C", workdir, "reset", "-q", NULL };
		const char *empty[] = { "git", "-C", workdir, "read-tree", "--empty", NULL };
		if (run_git(NULL, rt, 0) != 0)
			die("cannot put the workspace %.12s into the work tree", ws);
		/* the files stay; the index goes back to HEAD: plain changes */
		if (run_git(NULL, head[0] ? reset : empty, 0) != 0)
			warning("the workspace is in the work tree, but the index could not be reset to HEAD");
	}
	fprintf(stderr, "applied the workspace of run %.8s (%s)\n", run->id, term_text(run->name));
	if (run->base[0] && strcmp(run->base, head))
		fprintf(stderr, "note: HEAD is not the run's base commit %.12s; the work tree holds the run's files on top of HEAD\n",
			run->base);
done:
	mlp_buf_release(&ref);
	mlp_run_free(run);
	free(branch);
	return 0;
}
