/*
 * git mlp rerun <run> [-p key=value]...: the run's command again, on its
 * exact code, recorded as a new run whose parent is the original.
 *
 * The code is the run's base commit checked out in a temporary linked
 * worktree (`git worktree add --detach`), then the run's workspace tree
 * read into it, so uncommitted and untracked files the run saw are there
 * too.  The worktree is removed afterwards whatever happened.
 */
#include "cmd.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const rerun_usage[] = {
	"git mlp rerun [-p <key>=<value>]... [-n <name>] [--keep-worktree] <run>",
	NULL
};

/*
 * Rewrites `--key value` / `--key=value` of the command for an override.
 * Returns whether the command had such a flag.
 */
static int rewrite_flag(char **cmd, size_t n, const char *key, const char *text)
{
	size_t klen = strlen(key);
	int found = 0;

	for (size_t i = 1; i < n; i++) {
		const char *a = cmd[i];
		if (!strcmp(a, "--"))
			break;
		if (strncmp(a, "--", 2) || strncmp(a + 2, key, klen))
			continue;
		if (a[2 + klen] == '=') {
			struct mlp_buf b = MLP_BUF_INIT;
			mlp_buf_addf(&b, "--%s=%s", key, text);
			free(cmd[i]);
			cmd[i] = mlp_buf_detach(&b, NULL);
			found = 1;
		} else if (!a[2 + klen] && i + 1 < n && strcmp(cmd[i + 1], "--")) {
			free(cmd[i + 1]);
			cmd[i + 1] = mlp_strdup(text);
			found = 1;
			i++;
		}
	}
	return found;
}

static void remove_worktree(const char *workdir, const char *wt, const char *tmp)
{
	const char *args[] = { "git", "-C", workdir, "worktree", "remove", "--force", wt, NULL };
	const char *prune[] = { "git", "-C", workdir, "worktree", "prune", NULL };

	if (run_git(NULL, args, 1) != 0)
		warning("cannot remove the worktree '%s'", wt);
	run_git(NULL, prune, 1);
	rmdir(tmp);
}

int cmd_rerun(int argc, const char **argv, struct mlp_ctx *ctx)
{
	struct mlp_strlist overrides = { 0 };
	const char *name = NULL;
	int keep = 0, code = 0, status, ret;
	char id[MLP_ID_HEXSZ + 1];
	struct mlp_run *run = NULL;
	struct mlp_run_list before = MLP_RUN_LIST_INIT, after = MLP_RUN_LIST_INIT;
	struct mlp_map params = MLP_MAP_INIT;
	struct mlp_buf tmp = MLP_BUF_INIT, wt = MLP_BUF_INIT, dir = MLP_BUF_INIT, b = MLP_BUF_INIT;
	const char *workdir;
	const char **args;
	char **cmd, **owned;
	size_t n = 0;
	long pid;
	struct mlp_run *newest = NULL;
	struct mlp_option opts[] = {
		OPT_LIST('p', "param", &overrides, "key=value", "change a param (and its --key flag in the command)"),
		OPT_STRING('n', "name", &name, "name", "name of the new run"),
		OPT_BOOL(0, "keep-worktree", &keep, "leave the temporary worktree in place"),
		OPT_END()
	};

	argc = mlp_parse_options(argc, argv, opts, rerun_usage, 0);
	if (argc != 1)
		mlp_usage_with_options(rerun_usage, opts);
	workdir = mlp_repo_workdir(ctx->repo);
	if (!workdir)
		die("cannot rerun in a bare repository");
	if (resolve_run(ctx, argv[0], id) < 0)
		return 1;
	if (mlp_run_load(&run, ctx->repo, id, 0) < 0)
		die_lib();
	if (!run->cmd_nr)
		die("run %.8s has no recorded command", run->id);
	if (!run->base[0])
		die("run %.8s has no base commit (it started on an unborn branch)", run->id);

	/* the recorded params, then the overrides */
	mlp_map_copy(&params, &run->params);
	cmd = mlp_calloc(run->cmd_nr + 1, sizeof(char *));
	for (size_t i = 0; i < run->cmd_nr; i++)
		cmd[i] = mlp_strdup(run->cmd[i]);
	for (size_t i = 0; i < overrides.nr; i++) {
		char *key = NULL;
		struct mlp_value v;
		const char *text = strchr(overrides.items[i], '=');
		if (mlp_parse_assignment(&key, &v, overrides.items[i]) < 0 || mlp_key_check("param", key) < 0)
			die_lib();
		if (!rewrite_flag(cmd, run->cmd_nr, key, text + 1))
			warning("the command has no --%s flag: the new value of '%s' is recorded, but the command does not see it",
				key, key);
		mlp_map_set(&params, key, &v);
		free(key);
	}

	if (sweep_load_points(&before, ctx, run->id) < 0)
		die_lib();
	{
		const char *tmpdir = getenv("TMPDIR");
		mlp_buf_addf(&tmp, "%s/git-mlp-rerun.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
		if (!mkdtemp(tmp.buf))
			die("cannot create a temporary directory: %s", strerror(errno));
	}
	mlp_buf_addf(&wt, "%s/%.8s", tmp.buf, run->id);
	{
		const char *add[] = { "git", "-C", workdir, "worktree", "add", "-q", "--detach", wt.buf, run->base, NULL };
		if (run_git(NULL, add, 0) != 0) {
			rmdir(tmp.buf);
			die("cannot check out %.12s into a temporary worktree", run->base);
		}
	}
	if (run->workspace[0]) {
		const char *rt[] = { "git", "-C", wt.buf, "read-tree", "-u", "--reset", run->workspace, NULL };
		if (run_git(NULL, rt, 0) != 0) {
			remove_worktree(workdir, wt.buf, tmp.buf);
			die("cannot put the workspace %.12s of run %.8s into the worktree", run->workspace, run->id);
		}
	}
	mlp_buf_addf(&dir, "%s/%s", wt.buf, run->cwd ? run->cwd : "");

	args = mlp_calloc(12 + 2 * params.nr + run->cmd_nr, sizeof(char *));
	owned = mlp_calloc(params.nr + 1, sizeof(char *));
	args[n++] = "git-mlp";
	args[n++] = "run";
	args[n++] = "--parent";
	args[n++] = run->id;
	if (name) {
		args[n++] = "-n";
		args[n++] = name;
	}
	if (run->experiment) {
		args[n++] = "-e";
		args[n++] = run->experiment;
	}
	for (size_t i = 0; i < params.nr; i++) {
		if (params.items[i].val.type == MLP_NIL)
			continue;
		mlp_buf_reset(&b);
		mlp_buf_addf(&b, "%s=", params.items[i].key);
		format_param(&b, &params.items[i].val);
		owned[i] = mlp_buf_detach(&b, NULL);
		args[n++] = "-p";
		args[n++] = owned[i];
	}
	args[n++] = "--";
	for (size_t i = 0; i < run->cmd_nr; i++)
		args[n++] = cmd[i];
	args[n] = NULL;

	fprintf(stderr, "rerun of %.8s (%s) in %s\n", run->id, term_text(run->name), wt.buf);
	sweep_catch_signals();
	pid = spawn_mlp(args, dir.buf, 1);
	if (pid > 0) {
		int forwarded = 0;
		for (;;) {
			if (waitpid((pid_t)pid, &status, 0) == (pid_t)pid)
				break;
			if (errno != EINTR) {
				status = 128 << 8;
				break;
			}
			if (sweep_stop_signal() && !forwarded) {
				kill((pid_t)pid, sweep_stop_signal());
				forwarded = 1;
			}
		}
		code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	} else {
		code = 128;
	}
	if (keep)
		fprintf(stderr, "kept the worktree %s\n", wt.buf);
	else
		remove_worktree(workdir, wt.buf, tmp.buf);

	/* the new run: the child of the original that was not there before */
	if (sweep_load_points(&after, ctx, run->id) == 0) {
		for (size_t i = 0; i < after.nr; i++) {
			int old = 0;
			for (size_t k = 0; k < before.nr && !old; k++)
				old = !strcmp(before.runs[k]->id, after.runs[i]->id);
			if (!old && (!newest || after.runs[i]->started > newest->started))
				newest = after.runs[i];
		}
	}
	if (newest) {
		printf("%s\n", newest->id);
		fprintf(stderr, "hint: git mlp diff %.8s %.8s\n", run->id, newest->id);
		ret = code;
	} else {
		error("the rerun of %.8s recorded no run", run->id);
		ret = 128;
	}

	for (size_t i = 0; i < params.nr; i++)
		free(owned[i]);
	free(owned);
	free(args);
	for (size_t i = 0; i < run->cmd_nr; i++)
		free(cmd[i]);
	free(cmd);
	mlp_map_clear(&params);
	mlp_run_list_release(&before);
	mlp_run_list_release(&after);
	mlp_strlist_free(&overrides);
	mlp_buf_release(&tmp);
	mlp_buf_release(&wt);
	mlp_buf_release(&dir);
	mlp_buf_release(&b);
	mlp_run_free(run);
	return ret;
}
