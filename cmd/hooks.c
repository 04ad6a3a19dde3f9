/*
 * git mlp install-hooks and git mlp hook <name>: the dispatcher the
 * installed hook scripts exec.  A hook chained by install-hooks runs
 * first with the same arguments and input; its verdict is git's verdict.
 * Our own part never blocks git: failures are warnings.
 */
#include "cmd.h"
#include "sync.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const install_usage[] = { "git mlp install-hooks [--uninstall]", NULL };
static const char *const hook_usage[] = { "git mlp hook <hook-name> [<hook-args>...]", NULL };

static void print_note(void *data, const char *hook, const char *what)
{
	(void)data;
	printf("%-19s %s\n", hook, what);
}

int cmd_install_hooks(int argc, const char **argv, struct mlp_ctx *ctx)
{
	int uninstall = 0;
	char *dir = NULL;
	struct mlp_option opts[] = {
		OPT_BOOL(0, "uninstall", &uninstall, "remove the hooks; put back hooks they chained"),
		OPT_END()
	};

	argc = mlp_parse_options(argc, argv, opts, install_usage, 0);
	if (argc)
		mlp_usage_with_options(install_usage, opts);
	if (mlp_hooks_install(ctx->repo, uninstall, print_note, NULL) < 0)
		die_lib();
	if (mlp_hooks_dir(&dir, ctx->repo) == 0)
		fprintf(stderr, "hooks %s %s\n", uninstall ? "removed from" : "installed in", dir);
	free(dir);
	return 0;
}

static void read_all(struct mlp_buf *b, int fd)
{
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		mlp_buf_add(b, buf, (size_t)n);
	}
	if (!b->buf)
		mlp_buf_adds(b, "");
}

static int run_chained(struct mlp_ctx *ctx, const char *name, int argc, const char **argv,
		       const struct mlp_buf *in)
{
	char *path = NULL;
	const char **av;
	struct mlp_spawn s = { 0 };
	int status;

	if (mlp_hook_chained(&path, ctx->repo, name) < 0)
		return 0;
	av = calloc((size_t)argc + 2, sizeof(char *));
	if (!av)
		die("out of memory");
	av[0] = path;
	for (int i = 1; i < argc; i++)
		av[i] = argv[i];
	s.argv = av;
	s.in = in ? in->buf : NULL;
	s.in_len = in ? in->len : 0;
	if (mlp_spawn_run(&s) < 0) {
		error("cannot run the chained hook '%s': %s", path, mlp_error_message());
		status = 1;
	} else {
		status = s.status;
	}
	mlp_spawn_release(&s);
	free(av);
	free(path);
	return status;
}

static int hook_pre_push(struct mlp_ctx *ctx, int argc, const char **argv, const struct mlp_buf *in)
{
	int on = 1;
	char **ids = NULL;
	size_t n = 0;
	struct mlp_sync_result res = MLP_SYNC_RESULT_INIT;
	struct mlp_sync_opts so = { warn_cb, NULL, 0 };

	if (argc < 2)
		return 0;
	if (mlp_config_get_bool(ctx->repo, "mlp.push.auto", &on, 1) < 0 || !on)
		return 0;
	if (mlp_hook_pre_push_runs(&ids, &n, ctx->repo, argv[1], in->buf, in->len) < 0) {
		warning("git-mlp: cannot find the runs of the pushed commits: %s", mlp_error_message());
		return 0;
	}
	if (n && mlp_sync_push(ctx->repo, argv[1], ids, n, &so, &res) < 0)
		warning("git-mlp: runs not pushed: %s", mlp_error_message());
	else if (n && res.rejected)
		warning("git-mlp: %zu of %zu runs not pushed (the code push goes on)", res.rejected, n);
	if (n)
		print_sync_summary("git-mlp: runs pushed to", argv[1], &res);
	mlp_sync_result_release(&res);
	mlp_sync_ids_free(ids, n);
	return 0;
}

static int hook_prepare_commit_msg(struct mlp_ctx *ctx, int argc, const char **argv)
{
	size_t added = 0;
	if (argc < 2)
		return 0;
	if (mlp_hook_prepare_commit_msg(ctx->repo, argv[1], argc > 2 ? argv[2] : "", &added) < 0)
		warning("git-mlp: no Mlp-Run trailers: %s", mlp_error_message());
	return 0;
}

static int hook_post_commit(struct mlp_ctx *ctx)
{
	char *command = NULL;
	int match = 0, err;
	long pid = 0;

	err = mlp_hook_autorun(&command, &match, ctx->repo);
	if (err == MLP_ENOTFOUND)
		return 0;
	if (err < 0) {
		warning("git-mlp: %s", mlp_error_message());
		return 0;
	}
	if (match) {
		if (mlp_hook_autorun_start(ctx->repo, command, &pid) < 0)
			warning("git-mlp: autorun not started: %s", mlp_error_message());
		else
			fprintf(stderr, "git-mlp: started '%s' (pid %ld), log in %s/autorun.log\n", command, pid,
				mlp_repo_mlpdir(ctx->repo));
	}
	free(command);
	return 0;
}

static void restore_error(void *data, const char *msg)
{
	(void)data;
	warning("git-mlp: %s", msg);
}

/*
 * The artifacts of the run of the new HEAD, restored in this process.  A
 * file in the way is replaced only when it is the artifact of the run of
 * the commit we come from (`prev`): stored, it can be restored again.
 */
static int hook_restore_artifacts(struct mlp_ctx *ctx, const char *prev)
{
	int on = 0, shown = 0;
	char id[MLP_ID_HEXSZ + 1], prev_id[MLP_ID_HEXSZ + 1];
	struct mlp_run *run = NULL, *left = NULL;
	struct mlp_checkout_opts co = { 0 };
	size_t written = 0, failed = 0;

	if (mlp_config_get_bool(ctx->repo, "mlp.checkout.artifacts", &on, 0) < 0 || !on ||
	    !mlp_repo_workdir(ctx->repo))
		return 0;
	if (mlp_hook_checkout_run(id, ctx->repo, NULL) < 0)
		return 0;	/* no run of this commit with artifacts */
	if (mlp_run_load(&run, ctx->repo, id, 0) < 0) {
		warning("git-mlp: artifacts of run %.8s not restored: %s", id, mlp_error_message());
		return 0;
	}
	if (prev && mlp_hook_checkout_run(prev_id, ctx->repo, prev) == 0 && strcmp(prev_id, id) &&
	    mlp_run_load(&left, ctx->repo, prev_id, 0) < 0)
		left = NULL;
	co.replaceable = left;
	co.error = restore_error;
	co.progress = progress_cb;
	co.progress_data = &shown;
	if (mlp_artifact_checkout(ctx->repo, run, NULL, 0, &co, &written, &failed) < 0) {
		warning("git-mlp: artifacts of run %.8s not restored: %s", id, mlp_error_message());
	} else {
		fprintf(stderr, "git-mlp: restored %zu artifact%s of run %.8s (%s)", written,
			written == 1 ? "" : "s", id, run->name ? run->name : "");
		if (failed)
			fprintf(stderr, "; %zu not: 'git mlp checkout --force %.8s' overwrites them", failed, id);
		fputc('\n', stderr);
	}
	mlp_run_free(left);
	mlp_run_free(run);
	return 0;
}

int cmd_hook(int argc, const char **argv, struct mlp_ctx *ctx)
{
	struct mlp_buf in = MLP_BUF_INIT;
	const char *name;
	int known = 0, status, guard = getenv(MLP_HOOK_GUARD) != NULL;

	/* hook arguments are not ours to parse: only -h */
	if (argc < 2 || !strcmp(argv[1], "-h")) {
		struct mlp_option opts[] = { OPT_END() };
		if (argc >= 2)
			mlp_parse_options(argc, argv, opts, hook_usage, 0);
		mlp_usage_with_options(hook_usage, opts);
	}
	name = argv[1];
	for (size_t i = 0; mlp_hook_names[i]; i++)
		known |= !strcmp(mlp_hook_names[i], name);
	if (!known) {
		error("unknown hook '%s'", name);
		return 129;
	}
	if (!ctx->repo && mlp_repo_open(&ctx->repo) < 0)
		die_lib();
	if (!strcmp(name, "pre-push"))
		read_all(&in, 0);
	/* the chained (user's) hook first: if it says no, git stops */
	status = run_chained(ctx, name, argc - 1, argv + 1, !strcmp(name, "pre-push") ? &in : NULL);
	if (status || guard) {
		mlp_buf_release(&in);
		return status;
	}
	if (!strcmp(name, "pre-push"))
		status = hook_pre_push(ctx, argc - 1, argv + 1, &in);
	else if (!strcmp(name, "prepare-commit-msg"))
		status = hook_prepare_commit_msg(ctx, argc - 1, argv + 1);
	else if (!strcmp(name, "post-commit"))
		status = hook_post_commit(ctx);
	else if (!strcmp(name, "post-checkout"))
		status = argc > 4 && !strcmp(argv[4], "1") ? hook_restore_artifacts(ctx, argv[2]) : 0;
	else if (!strcmp(name, "post-merge"))
		status = hook_restore_artifacts(ctx, "ORIG_HEAD");
	mlp_buf_release(&in);
	return status;
}
