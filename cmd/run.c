/*
 * git mlp run: wrap a command and record it as a run.
 *
 * A command that runs for more than a second gets a "running" commit and
 * ref at that point so that `ls` shows it; the final commit replaces it
 * with compare-and-swap.  A shorter one gets only the final commit.  What the
 * command reports through $MLP_METRICS is read while it runs.
 */
#include "cmd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const run_usage[] = {
	"git mlp run [-n <name>] [-e <experiment>] [-p <key>=<value>]... [--artifact <path>]... [--no-args-params] [--] <command> [<args>...]",
	NULL
};

struct tick_ctx {
	struct mlp_live *live;
	struct mlp_proc *proc;
};

static void tick(void *data, int final)
{
	struct tick_ctx *c = data;

	mlp_live_set_child(c->live, c->proc->pid);
	/* the last tick is mlp_live_finish()'s own */
	if (!final)
		mlp_live_tick(c->live, 0);
}

static void output_line(void *data, int stream, const char *s, size_t len)
{
	mlp_live_output_line(data, stream, s, len);
}

static char *env_pair(const char *k, const char *v)
{
	struct mlp_buf b = MLP_BUF_INIT;
	mlp_buf_addf(&b, "%s=%s", k, v);
	return mlp_buf_detach(&b, NULL);
}

/* A live run named `name`: its id, else NULL (free it). */
static char *live_named(struct mlp_ctx *ctx, const char *name)
{
	struct mlp_run_name *names = NULL;
	size_t nr = 0;
	char *id = NULL;

	if (mlp_live_names(&names, &nr, ctx->repo) < 0)
		return NULL;
	for (size_t i = 0; i < nr && !id; i++)
		if (!strcmp(names[i].name, name))
			id = mlp_strdup(names[i].id);
	mlp_run_names_free(names, nr);
	return id;
}

/*
 * --run-id: a queued sweep point (or one `git mlp queue run` claimed) is
 * finished under its own id.  Its ref is moved from the commit loaded
 * here by compare-and-swap, so two machines never both run it.
 */
static void adopt_queued(struct mlp_ctx *ctx, struct mlp_run *run, const char *id,
			 const char *name, const char *experiment)
{
	struct mlp_run *q = NULL;
	int err = mlp_run_load(&q, ctx->repo, id, 0);

	if (err == MLP_ENOTFOUND)
		die("no run matches '%s'", id);
	if (err < 0)
		die_lib();
	if (q->status != MLP_STATUS_QUEUED && q->status != MLP_STATUS_RUNNING)
		die("run %s is %s, not queued", q->id, mlp_status_name(q->status));
	memcpy(run->id, q->id, sizeof(run->id));
	memcpy(run->commit, q->commit, sizeof(run->commit));
	if (!name) {
		free(run->name);
		run->name = q->name ? mlp_strdup(q->name) : NULL;
	}
	if (!experiment && q->experiment) {
		free(run->experiment);
		run->experiment = mlp_strdup(q->experiment);
	}
	if (!run->parent && q->parent)
		run->parent = mlp_strdup(q->parent);
	/* the point's params, then what this command line says */
	for (size_t i = 0; i < q->params.nr; i++)
		if (!mlp_map_get(&run->params, q->params.items[i].key)) {
			struct mlp_value v;
			mlp_value_copy(&v, &q->params.items[i].val);
			mlp_map_set(&run->params, q->params.items[i].key, &v);
		}
	mlp_map_copy(&run->tags, &q->tags);
	if (q->note)
		run->note = mlp_strdup(q->note);
	mlp_run_free(q);
}

int cmd_run(int argc, const char **argv, struct mlp_ctx *ctx)
{
	const char *name = NULL, *experiment = NULL, *parent = NULL, *run_id = NULL;
	struct mlp_strlist params = { 0 }, artifact_args = { 0 };
	char **cfg_artifacts = NULL;
	size_t ncfg_artifacts = 0;
	const char **artifacts = NULL;
	int progress_shown = 0;
	int no_args_params = 0, args_params = 1, created, err, dirty;
	int64_t max_file = 0;
	/* static: a die() below leaves it reachable, not leaked */
	static struct mlp_run *run;
	struct mlp_buf summary = MLP_BUF_INIT;
	struct mlp_live *live = NULL;
	struct mlp_live_opts lo = { 0 };
	int64_t checkpoint = 60, system_s = 10;
	struct tick_ctx tc = { 0 };
	int no_capture = 0, capture = 1, dvclive = 1;
	const char *params_file = NULL, *metrics_file = NULL;
	char *cfg_params = NULL, *cfg_metrics = NULL, **patterns = NULL;
	size_t npatterns = 0;
	struct mlp_buf cwd = MLP_BUF_INIT;
	char *env_add[6] = { 0 };
	char **child_argv;
	char host[256] = "";
	struct mlp_proc proc = { 0 };
	struct mlp_option opts[] = {
		OPT_STRING('n', "name", &name, "name", "name of the run (default: a new adjective-noun)"),
		OPT_STRING('e', "experiment", &experiment, "name", "experiment the run belongs to"),
		OPT_LIST('p', "param", &params, "key=value", "record a param (typed: int, float, bool, string)"),
		OPT_BOOL(0, "no-args-params", &no_args_params, "do not turn --key value flags of the command into params"),
		OPT_BOOL(0, "no-capture", &no_capture, "do not take metrics from the command's output"),
		OPT_STRING(0, "params-file", &params_file, "file", "YAML or JSON params file read at start and end"),
		OPT_STRING(0, "metrics-file", &metrics_file, "file", "JSON or YAML metrics file read at the end"),
		OPT_LIST(0, "artifact", &artifact_args, "path", "store this file, directory or glob when the run ends (repeatable)"),
		OPT_STRING(0, "parent", &parent, "id", "the sweep or run this run belongs to (32 hex)"),
		OPT_STRING(0, "run-id", &run_id, "id", "finish this queued (or claimed) run instead of creating one"),
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
		/* a live run has no ref in its first second */
		if (n <= 0) {
			char *other = live_named(ctx, name);
			n = other ? 1 : n;
			free(other);
		}
		if (n > 0)
			die("a run named or prefixed '%s' exists already", name);
		run->name = mlp_strdup(name);
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
	if (parent && (strlen(parent) != MLP_ID_HEXSZ || strspn(parent, "0123456789abcdef") != MLP_ID_HEXSZ))
		die("--parent wants a 32-hex id, not '%s'", parent);
	if (parent)
		run->parent = mlp_strdup(parent);
	if (run_id)
		adopt_queued(ctx, run, run_id, name, experiment);
	if (mlp_repo_head(ctx->repo, run->base, &run->branch) < 0)
		die_lib();
	if (mlp_config_get_int64(ctx->repo, "mlp.workspace.maxFileSize", &max_file, 10 << 20) < 0)
		die_lib();
	if (mlp_snapshot(ctx->repo, run->workspace, &dirty, max_file, warn_cb, NULL) < 0)
		die_lib();
	run->dirty = dirty;
	gethostname(host, sizeof(host) - 1);
	run->host = mlp_strdup(host);
	run->user = mlp_login_name();
	run->status = MLP_STATUS_RUNNING;
	run->started = mlp_now_ms();


	if (mlp_config_get_int64(ctx->repo, "mlp.checkpointInterval", &checkpoint, 60) < 0)
		die_lib();
	lo.checkpoint_ms = checkpoint > 0 ? checkpoint * 1000 : 0;
	lo.warn = warn_cb;
	if (mlp_config_get_bool(ctx->repo, "mlp.capture", &capture, 1) < 0 ||
	    mlp_config_get_bool(ctx->repo, "mlp.dvclive", &dvclive, 1) < 0 ||
	    mlp_config_get_int64(ctx->repo, "mlp.system.interval", &system_s, 10) < 0 ||
	    mlp_config_get_all(ctx->repo, "mlp.capture.pattern", &patterns, &npatterns) < 0)
		die_lib();
	if (!params_file && mlp_config_get_string(ctx->repo, "mlp.params", &cfg_params) == 0)
		params_file = cfg_params;
	if (!metrics_file && mlp_config_get_string(ctx->repo, "mlp.metrics", &cfg_metrics) == 0)
		metrics_file = cfg_metrics;
	{
		char here[4096];
		if (getcwd(here, sizeof(here)))
			mlp_buf_adds(&cwd, here);
	}
	lo.cwd = cwd.buf;
	lo.capture = capture && !no_capture;
	lo.patterns = (const char *const *)patterns;
	lo.npatterns = npatterns;
	lo.params_file = params_file;
	lo.metrics_file = metrics_file;
	lo.dvclive = dvclive;
	lo.system_ms = system_s > 0 ? system_s * 1000 : 0;
	if (mlp_config_get_all(ctx->repo, "mlp.artifacts", &cfg_artifacts, &ncfg_artifacts) < 0)
		die_lib();
	artifacts = mlp_calloc(ncfg_artifacts + artifact_args.nr + 1, sizeof(char *));
	for (size_t i = 0; i < ncfg_artifacts; i++)
		artifacts[lo.nartifacts++] = cfg_artifacts[i];
	for (size_t i = 0; i < artifact_args.nr; i++)
		artifacts[lo.nartifacts++] = artifact_args.items[i];
	lo.artifacts = artifacts;
	lo.progress = progress_cb;
	lo.progress_data = &progress_shown;
	/* checked above for a clear error before the snapshot; again under the lock */
	lo.unique_name = name != NULL;
	/* without -n, the run's name is drawn there */
	if (mlp_live_start(&live, ctx->repo, run, &lo) < 0)
		die_lib();

	env_add[0] = env_pair("MLP_RUN_ID", run->id);
	env_add[1] = env_pair("MLP_RUN_DIR", mlp_live_path(live, "dir"));
	env_add[2] = env_pair("MLP_METRICS", mlp_live_path(live, "metrics"));
	/* see output and metrics as they happen, not when Python's buffer fills */
	if (!getenv("PYTHONUNBUFFERED"))
		env_add[3] = env_pair("PYTHONUNBUFFERED", "1");

	child_argv = mlp_calloc((size_t)argc + 1, sizeof(char *));
	for (int i = 0; i < argc; i++)
		child_argv[i] = (char *)argv[i];
	proc.argv = child_argv;
	proc.env_add = env_add;
	proc.tee_stdout = 1;
	proc.tee_stderr = 2;
	proc.stdout_path = mlp_live_path(live, "stdout");
	proc.stderr_path = mlp_live_path(live, "stderr");
	tc.live = live;
	tc.proc = &proc;
	proc.tick = tick;
	proc.tick_data = &tc;
	proc.line = output_line;
	proc.line_data = live;
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
	err = mlp_live_finish(live);
	if (err < 0) {
		error("%s", mlp_error_message());
	} else {
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
		if (run->artifact_nr)
			mlp_buf_addf(&summary, ", %zu artifact%s", run->artifact_nr,
				     run->artifact_nr == 1 ? "" : "s");
		fprintf(stderr, "%s\n", term_text(summary.buf));
	}
	mlp_live_free(live);

	for (int i = 0; env_add[i]; i++)
		free(env_add[i]);
	free(child_argv);
	mlp_strlist_free(&params);
	mlp_strlist_free(&artifact_args);
	for (size_t i = 0; i < ncfg_artifacts; i++)
		free(cfg_artifacts[i]);
	free(cfg_artifacts);
	free(artifacts);
	for (size_t i = 0; i < npatterns; i++)
		free(patterns[i]);
	free(patterns);
	free(cfg_params);
	free(cfg_metrics);
	mlp_buf_release(&cwd);
	mlp_buf_release(&summary);
	mlp_run_free(run);
	if (err < 0)
		return 128;
	return proc.exit_code;
}
