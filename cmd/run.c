/*
 * git mlp run: wrap a command and record it as a run.
 *
 * The run ref exists from the start with status "running" so that `ls`
 * shows it; the final commit replaces it with compare-and-swap.  What the
 * command reports through $MLP_METRICS is read while it runs.
 */
#include "cmd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const run_usage[] = {
	"git mlp run [-n <name>] [-e <experiment>] [-p <key>=<value>]... [--no-args-params] [--] <command> [<args>...]",
	NULL
};

struct ingest {
	struct mlp_run *run;
	const char *metrics_path, *stderr_path;
	int64_t offset, lineno;
};

static void on_line(void *data, const char *s, size_t len, int64_t lineno)
{
	struct ingest *in = data;
	struct mlp_buf msg = MLP_BUF_INIT;
	int fd;

	if (mlp_ingest_json_line(in->run, s, len, mlp_now_ms()) >= 0)
		return;
	mlp_buf_addf(&msg, "$MLP_METRICS line %lld: %s", (long long)lineno, mlp_error_message());
	warning("%s", msg.buf);
	/* keep the line itself in the run's stderr log */
	mlp_buf_adds(&msg, ": ");
	mlp_buf_add(&msg, s, len > 4096 ? 4096 : len);
	mlp_buf_addch(&msg, '\n');
	fd = open(in->stderr_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (fd >= 0) {
		const char prefix[] = "git-mlp: warning: ";
		if (write(fd, prefix, sizeof(prefix) - 1) < 0 || write(fd, msg.buf, msg.len) < 0)
			warning("cannot append to the run's stderr log: %s", strerror(errno));
		close(fd);
	}
	mlp_buf_release(&msg);
}

static void tick(void *data, int final)
{
	struct ingest *in = data;

	if (mlp_tail_lines(in->metrics_path, &in->offset, &in->lineno, final, on_line, in) < 0)
		warning("%s", mlp_error_message());
}

static void remove_live_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	struct mlp_buf p = MLP_BUF_INIT;

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		mlp_buf_reset(&p);
		mlp_buf_addf(&p, "%s/%s", dir, e->d_name);
		unlink(p.buf);
	}
	closedir(d);
	rmdir(dir);
	mlp_buf_release(&p);
}

static char *env_pair(const char *k, const char *v)
{
	struct mlp_buf b = MLP_BUF_INIT;
	mlp_buf_addf(&b, "%s=%s", k, v);
	return mlp_buf_detach(&b, NULL);
}

/* Someone amended the running run (tags, params): keep theirs and ours. */
static int merge_concurrent(struct mlp_ctx *ctx, struct mlp_run *run)
{
	struct mlp_run *cur = NULL;

	if (mlp_run_load(&cur, ctx->repo, run->id, 0) < 0)
		return -1;
	for (size_t i = 0; i < cur->tags.nr; i++)
		if (!mlp_map_get(&run->tags, cur->tags.items[i].key)) {
			struct mlp_value v;
			mlp_value_copy(&v, &cur->tags.items[i].val);
			mlp_map_set(&run->tags, cur->tags.items[i].key, &v);
		}
	for (size_t i = 0; i < cur->params.nr; i++)
		if (!mlp_map_get(&run->params, cur->params.items[i].key)) {
			struct mlp_value v;
			mlp_value_copy(&v, &cur->params.items[i].val);
			mlp_map_set(&run->params, cur->params.items[i].key, &v);
		}
	if (!run->note && cur->note)
		run->note = mlp_strdup(cur->note);
	memcpy(run->commit, cur->commit, sizeof(run->commit));
	mlp_run_free(cur);
	return 0;
}

int cmd_run(int argc, const char **argv, struct mlp_ctx *ctx)
{
	const char *name = NULL, *experiment = NULL;
	struct mlp_strlist params = { 0 };
	int no_args_params = 0, args_params = 1, created, err, dirty;
	int64_t max_file = 0;
	struct mlp_run *run;
	struct mlp_buf live = MLP_BUF_INIT, metrics = MLP_BUF_INIT, out_log = MLP_BUF_INIT,
		       err_log = MLP_BUF_INIT, summary = MLP_BUF_INIT;
	char *env_add[6] = { 0 };
	char **child_argv;
	char host[256] = "";
	struct mlp_proc proc = { 0 };
	struct ingest in = { 0 };
	struct mlp_run_files logs;
	struct passwd *pw;
	struct mlp_option opts[] = {
		OPT_STRING('n', "name", &name, "name", "name of the run (default: a new adjective-noun)"),
		OPT_STRING('e', "experiment", &experiment, "name", "experiment the run belongs to"),
		OPT_LIST('p', "param", &params, "key=value", "record a param (typed: int, float, bool, string)"),
		OPT_BOOL(0, "no-args-params", &no_args_params, "do not turn --key value flags of the command into params"),
		OPT_END()
	};

	argc = mlp_parse_options(argc, argv, opts, run_usage, PARSE_OPT_STOP_AT_NON_OPTION);
	if (argc < 1)
		mlp_usage_with_options(run_usage, opts);
	if (!mlp_repo_workdir(ctx->repo))
		die("cannot record a run in a bare repository");
	if (mlp_repo_init(ctx->repo, &created) < 0)
		die_lib();

	run = mlp_run_new();
	if (mlp_run_new_id(run) < 0)
		die_lib();
	if (name) {
		char **ids = NULL;
		int n;
		if (mlp_name_check(name) < 0)
			die_lib();
		n = mlp_run_resolve(&ids, ctx->repo, name);
		for (int i = 0; i < n; i++)
			free(ids[i]);
		free(ids);
		if (n > 0)
			die("a run named or prefixed '%s' exists already", name);
		run->name = mlp_strdup(name);
	} else if (mlp_run_new_name(&run->name, ctx->repo) < 0) {
		die_lib();
	}
	if (experiment)
		run->experiment = mlp_strdup(experiment);
	else if (mlp_config_get_string(ctx->repo, "mlp.experiment", &run->experiment) < 0)
		run->experiment = NULL;

	run->cmd = mlp_calloc((size_t)argc + 1, sizeof(char *));
	for (int i = 0; i < argc; i++)
		run->cmd[i] = mlp_strdup(argv[i]);
	run->cmd_nr = (size_t)argc;
	run->cwd = mlp_strdup(mlp_repo_prefix(ctx->repo));

	if (mlp_config_get_bool(ctx->repo, "mlp.argsParams", &args_params, 1) < 0)
		die_lib();
	if (args_params && !no_args_params)
		mlp_params_from_argv(&run->params, run->cmd_nr, run->cmd);
	for (size_t i = 0; i < params.nr; i++) {
		char *key = NULL;
		struct mlp_value v;
		if (mlp_parse_assignment(&key, &v, params.items[i]) < 0 ||
		    mlp_key_check("param", key) < 0)
			die_lib();
		mlp_map_set(&run->params, key, &v);
		free(key);
	}
	if (mlp_repo_head(ctx->repo, run->base, &run->branch) < 0)
		die_lib();
	if (mlp_config_get_int64(ctx->repo, "mlp.workspace.maxFileSize", &max_file, 10 << 20) < 0)
		die_lib();
	if (mlp_snapshot(ctx->repo, run->workspace, &dirty, max_file, warn_cb, NULL) < 0)
		die_lib();
	run->dirty = dirty;
	gethostname(host, sizeof(host) - 1);
	run->host = mlp_strdup(host);
	pw = getpwuid(getuid());
	run->user = mlp_strdup(pw ? pw->pw_name : getenv("USER") ? getenv("USER") : "unknown");
	run->status = MLP_STATUS_RUNNING;
	run->started = mlp_now_ms();

	/* the ref exists while the command runs: `git mlp ls` shows it */
	if (mlp_run_save(ctx->repo, run, NULL) < 0)
		die_lib();

	mlp_buf_addf(&live, "%s/live/%s", mlp_repo_mlpdir(ctx->repo), run->id);
	if (mkdir(live.buf, 0777) < 0 && errno != EEXIST)
		die("cannot create '%s': %s", live.buf, strerror(errno));
	mlp_buf_addf(&metrics, "%s/metrics.jsonl", live.buf);
	mlp_buf_addf(&out_log, "%s/stdout", live.buf);
	mlp_buf_addf(&err_log, "%s/stderr", live.buf);
	{
		int fd = open(metrics.buf, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
		if (fd < 0)
			die("cannot create '%s': %s", metrics.buf, strerror(errno));
		close(fd);
	}
	env_add[0] = env_pair("MLP_RUN_ID", run->id);
	env_add[1] = env_pair("MLP_RUN_DIR", live.buf);
	env_add[2] = env_pair("MLP_METRICS", metrics.buf);
	/* see output and metrics as they happen, not when Python's buffer fills */
	if (!getenv("PYTHONUNBUFFERED"))
		env_add[3] = env_pair("PYTHONUNBUFFERED", "1");

	child_argv = mlp_calloc((size_t)argc + 1, sizeof(char *));
	for (int i = 0; i < argc; i++)
		child_argv[i] = (char *)argv[i];
	in.run = run;
	in.metrics_path = metrics.buf;
	in.stderr_path = err_log.buf;
	proc.argv = child_argv;
	proc.env_add = env_add;
	proc.tee_stdout = 1;
	proc.tee_stderr = 2;
	proc.stdout_path = out_log.buf;
	proc.stderr_path = err_log.buf;
	proc.tick = tick;
	proc.tick_data = &in;
	fflush(stdout);
	fflush(stderr);
	if (mlp_proc_run(&proc) < 0) {
		error("%s", mlp_error_message());
		proc.exit_code = 127;
	}

	run->ended = proc.ended_ms ? proc.ended_ms : mlp_now_ms();
	run->cpu_ms = proc.cpu_ms;
	run->maxrss_kb = proc.maxrss_kb;
	if (proc.signal) {
		run->status = MLP_STATUS_KILLED;
		run->signal = proc.signal;
		run->has_exit_code = 0;
	} else {
		run->status = proc.exit_code ? MLP_STATUS_FAILED : MLP_STATUS_FINISHED;
		run->has_exit_code = 1;
		run->exit_code = proc.exit_code;
	}
	logs.stdout_path = out_log.buf;
	logs.stderr_path = err_log.buf;
	err = mlp_run_save(ctx->repo, run, &logs);
	for (int attempt = 0; err == MLP_ECONFLICT && attempt < 5; attempt++) {
		if (merge_concurrent(ctx, run) < 0)
			break;
		err = mlp_run_save(ctx->repo, run, &logs);
	}
	if (err < 0) {
		error("cannot record run %s: %s", run->id, mlp_error_message());
		error("its data is kept in %s", live.buf);
	} else {
		remove_live_dir(live.buf);
		mlp_buf_addf(&summary, "recorded run %.8s (%s): %s", run->id, run->name,
			     mlp_status_name(run->status));
		if (run->status == MLP_STATUS_FAILED)
			mlp_buf_addf(&summary, " (exit %d)", run->exit_code);
		if (run->status == MLP_STATUS_KILLED)
			mlp_buf_addf(&summary, " (signal %d)", run->signal);
		if (run->summary_nr) {
			mlp_buf_adds(&summary, ", ");
			mlp_run_format_metrics(&summary, run, 6);
		}
		fprintf(stderr, "%s\n", summary.buf);
	}

	for (int i = 0; env_add[i]; i++)
		free(env_add[i]);
	free(child_argv);
	mlp_strlist_free(&params);
	mlp_buf_release(&live);
	mlp_buf_release(&metrics);
	mlp_buf_release(&out_log);
	mlp_buf_release(&err_log);
	mlp_buf_release(&summary);
	mlp_run_free(run);
	if (err < 0)
		return 128;
	return proc.exit_code;
}
