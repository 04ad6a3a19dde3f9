/*
 * git mlp sweep: a grid or a random search of a command, each point an
 * ordinary run whose `parent` is the sweep id.
 *
 * Points run as child processes `git-mlp run --parent <sweep> ...` of this
 * very binary, up to -j at once.  Each child gets its own process group,
 * so a Ctrl-C reaches this process only: it stops starting points and
 * forwards the signal to the running ones, which end as `killed`.  The
 * summary is read back from the refs, so it is the truth whatever
 * happened to a child.
 */
#include "cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *const sweep_usage[] = {
	"git mlp sweep -p <key>=<values>... [-j <n>] [--random <k> [--seed <s>]] [-n <name>] [-e <experiment>] [--queue] [--sort [-]<key>] [--] <command> [<args>...]",
	NULL
};

/* ---- child processes (shared with queue and rerun) --------------------------- */

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
	stop_signal = sig;
}

void sweep_catch_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: waitpid() returns EINTR so the signal is seen at once */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
}

int sweep_stop_signal(void)
{
	return stop_signal;
}

long spawn_mlp(const char *const *args, const char *dir, int own_group)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		error("cannot fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		struct sigaction dfl;
		int fd;

		memset(&dfl, 0, sizeof(dfl));
		dfl.sa_handler = SIG_DFL;
		sigaction(SIGINT, &dfl, NULL);
		sigaction(SIGTERM, &dfl, NULL);
		sigaction(SIGHUP, &dfl, NULL);
		if (own_group) {
			/* a terminal's Ctrl-C must not reach the point twice */
			setpgid(0, 0);
			fd = open("/dev/null", O_RDONLY);
			if (fd >= 0) {
				dup2(fd, 0);
				close(fd);
			}
		}
		if (dir && chdir(dir) < 0) {
			fprintf(stderr, "fatal: cannot change to '%s': %s\n", dir, strerror(errno));
			_exit(128);
		}
		execv("/proc/self/exe", (char *const *)args);
		execvp("git-mlp", (char *const *)args);
		fprintf(stderr, "fatal: cannot run git-mlp: %s\n", strerror(errno));
		_exit(128);
	}
	return (long)pid;
}

int run_git(struct mlp_buf *out, const char *const *args, int quiet)
{
	int pipefd[2] = { -1, -1 }, status = 0;
	pid_t pid;

	if (out && pipe(pipefd) < 0)
		return error("cannot create a pipe: %s", strerror(errno));
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		return error("cannot fork: %s", strerror(errno));
	if (pid == 0) {
		if (out) {
			dup2(pipefd[1], 1);
			close(pipefd[0]);
			close(pipefd[1]);
		}
		if (quiet) {
			int fd = open("/dev/null", O_WRONLY);
			if (fd >= 0) {
				dup2(fd, 2);
				if (!out)
					dup2(fd, 1);
				close(fd);
			}
		}
		execvp("git", (char *const *)args);
		fprintf(stderr, "fatal: cannot run git: %s\n", strerror(errno));
		_exit(128);
	}
	if (out) {
		char buf[4096];
		ssize_t n;
		close(pipefd[1]);
		while ((n = read(pipefd[0], buf, sizeof(buf))) != 0) {
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				break;
			mlp_buf_add(out, buf, (size_t)n);
		}
		close(pipefd[0]);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

int pool_run(size_t n, size_t jobs, pool_start_fn start, pool_done_fn done, void *data)
{
	long *pids = mlp_calloc(jobs ? jobs : 1, sizeof(long));
	size_t *which = mlp_calloc(jobs ? jobs : 1, sizeof(size_t));
	size_t next = 0, running = 0;
	int forwarded = 0;

	if (!jobs)
		jobs = 1;
	for (;;) {
		int status;
		pid_t pid;

		while (!stop_signal && running < jobs && next < n) {
			long p = start(data, next);
			if (p > 0) {
				for (size_t s = 0; s < jobs; s++)
					if (!pids[s]) {
						pids[s] = p;
						which[s] = next;
						break;
					}
				running++;
			}
			next++;
		}
		if (!running)
			break;
		if (stop_signal && forwarded != stop_signal) {
			/* ours are in their own process groups: pass the signal on */
			for (size_t s = 0; s < jobs; s++)
				if (pids[s])
					kill((pid_t)pids[s], stop_signal);
			forwarded = stop_signal;
		}
		pid = waitpid(-1, &status, 0);
		if (pid < 0) {
			if (errno == EINTR) {
				forwarded = 0;	/* a signal again: forward it again */
				continue;
			}
			break;
		}
		for (size_t s = 0; s < jobs; s++)
			if (pids[s] == (long)pid) {
				pids[s] = 0;
				running--;
				done(data, which[s], WIFEXITED(status) ? WEXITSTATUS(status)
					 : 128 + WTERMSIG(status));
				break;
			}
	}
	free(pids);
	free(which);
	return stop_signal;
}

void format_param(struct mlp_buf *b, const struct mlp_value *v)
{
	if (v->type == MLP_FLOAT) {
		char tmp[64];
		/* the shortest text that reads back as the same double */
		for (int prec = 6; prec <= 17; prec++) {
			snprintf(tmp, sizeof(tmp), "%.*g", prec, v->u.f);
			if (strtod(tmp, NULL) == v->u.f)
				break;
		}
		mlp_buf_adds(b, tmp);
		if (!strpbrk(tmp, ".eEn"))
			mlp_buf_adds(b, ".0");
		return;
	}
	mlp_value_format(b, v);
}

/* ---- the summary ---------------------------------------------------------------- */

static void keep_children(struct mlp_run_list *list, const char *parent)
{
	size_t n = 0;

	for (size_t i = 0; i < list->nr; i++) {
		if (list->runs[i]->parent && !strcmp(list->runs[i]->parent, parent))
			list->runs[n++] = list->runs[i];
		else
			mlp_run_free(list->runs[i]);
	}
	list->nr = n;
}

int sweep_load_points(struct mlp_run_list *list, struct mlp_ctx *ctx, const char *parent)
{
	if (mlp_run_list_all(list, ctx->repo, warn_cb, NULL) < 0)
		return -1;
	keep_children(list, parent);
	return 0;
}

/* "-metrics.acc" for the first metric with a goal, else NULL. */
static char *goal_sort_key(struct mlp_ctx *ctx, const struct mlp_run_list *list)
{
	for (size_t i = 0; i < list->nr; i++)
		for (size_t k = 0; k < list->runs[i]->summary_nr; k++) {
			const char *key = list->runs[i]->summary[k].key;
			enum mlp_goal g = mlp_metric_goal(ctx->repo, key);
			struct mlp_buf b = MLP_BUF_INIT;
			if (g == MLP_GOAL_NONE)
				continue;
			mlp_buf_addf(&b, "%smetrics.`", g == MLP_GOAL_MAX ? "-" : "");
			for (const char *p = key; *p; p++) {
				if (*p == '`')
					mlp_buf_addch(&b, '`');
				mlp_buf_addch(&b, *p);
			}
			mlp_buf_addch(&b, '`');
			return mlp_buf_detach(&b, NULL);
		}
	return NULL;
}

void sweep_print_summary(struct mlp_ctx *ctx, const char *parent, const char *sort)
{
	struct mlp_run_list list = MLP_RUN_LIST_INIT;
	struct mlp_render_opts ro = { ctx->color, mlp_now_ms(), NULL, NULL, 0, term_width() };
	struct mlp_buf out = MLP_BUF_INIT;
	char *key = NULL;

	if (sweep_load_points(&list, ctx, parent) < 0) {
		error("%s", mlp_error_message());
		return;
	}
	/* points in the order they were made, then the best first */
	for (size_t i = 0; i + 1 < list.nr; i++)
		for (size_t j = i + 1; j < list.nr; j++)
			if (list.runs[j]->started < list.runs[i]->started ||
			    (list.runs[j]->started == list.runs[i]->started &&
			     list.runs[j]->name && list.runs[i]->name &&
			     strverscmp(list.runs[j]->name, list.runs[i]->name) < 0)) {
				struct mlp_run *t = list.runs[i];
				list.runs[i] = list.runs[j];
				list.runs[j] = t;
			}
	if (!sort)
		sort = key = goal_sort_key(ctx, &list);
	if (sort && mlp_run_list_sort(&list, &sort, 1) < 0)
		warning("%s", mlp_error_message());
	if (list.nr && mlp_render_list(&out, &list, MLP_FMT_TABLE, &ro) == 0)
		write_stdout(&out);
	free(key);
	mlp_buf_release(&out);
	mlp_run_list_release(&list);
}

/* ---- the command ----------------------------------------------------------------------- */

struct sweep_ctx {
	struct mlp_ctx *ctx;
	struct mlp_map *points;
	size_t npoints;
	int argc;
	const char **argv;
	const char *name, *experiment;
	char id[MLP_ID_HEXSZ + 1];
	size_t finished, failed, started;
	char *was_started;
};

static void point_name(struct mlp_buf *b, const struct sweep_ctx *s, size_t i)
{
	mlp_buf_addf(b, "%s-%zu", s->name, i + 1);
}

static void substituted(char ***out, const struct sweep_ctx *s, size_t i)
{
	struct mlp_buf b = MLP_BUF_INIT;

	*out = mlp_calloc((size_t)s->argc + 1, sizeof(char *));
	for (int a = 0; a < s->argc; a++) {
		mlp_buf_reset(&b);
		mlp_sweep_template(&b, s->argv[a], &s->points[i]);
		(*out)[a] = mlp_strdup(b.buf ? b.buf : "");
	}
	mlp_buf_release(&b);
}

static void free_argv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static long start_point(void *data, size_t i)
{
	struct sweep_ctx *s = data;
	const struct mlp_map *pt = &s->points[i];
	size_t n = 0, max = 10 + 2 * pt->nr + (size_t)s->argc;
	const char **args = mlp_calloc(max, sizeof(char *));
	char **cmd, **owned = mlp_calloc(pt->nr + 2, sizeof(char *));
	struct mlp_buf b = MLP_BUF_INIT;
	long pid;

	substituted(&cmd, s, i);
	args[n++] = "git-mlp";
	args[n++] = "run";
	point_name(&b, s, i);
	owned[pt->nr] = mlp_buf_detach(&b, NULL);
	args[n++] = "-n";
	args[n++] = owned[pt->nr];
	args[n++] = "--parent";
	args[n++] = s->id;
	if (s->experiment) {
		args[n++] = "-e";
		args[n++] = s->experiment;
	}
	for (size_t k = 0; k < pt->nr; k++) {
		mlp_buf_reset(&b);
		mlp_buf_addf(&b, "%s=%s", pt->items[k].key, pt->items[k].val.u.str.s);
		owned[k] = mlp_buf_detach(&b, NULL);
		args[n++] = "-p";
		args[n++] = owned[k];
	}
	args[n++] = "--";
	for (int a = 0; a < s->argc; a++)
		args[n++] = cmd[a];
	args[n] = NULL;
	fprintf(stderr, "sweep: point %zu/%zu:", i + 1, s->npoints);
	for (int a = 0; a < s->argc; a++)
		fprintf(stderr, " %s", cmd[a]);
	fputc('\n', stderr);
	pid = spawn_mlp(args, NULL, 1);
	if (pid > 0) {
		s->started++;
		s->was_started[i] = 1;
	}
	free_argv(cmd);
	free_argv(owned);
	free(args);
	mlp_buf_release(&b);
	return pid;
}

static void point_done(void *data, size_t i, int code)
{
	struct sweep_ctx *s = data;

	(void)i;
	if (code)
		s->failed++;
	else
		s->finished++;
}

static int queue_points(struct sweep_ctx *s)
{
	struct mlp_ctx *ctx = s->ctx;
	char base[MLP_OID_HEXSZ + 1], ws[MLP_OID_HEXSZ + 1], host[256] = "", *branch = NULL;
	int dirty = 0, args_params = 1;
	int64_t max_file = 0, now = mlp_now_ms();
	char *user = mlp_login_name();

	if (mlp_repo_head(ctx->repo, base, &branch) < 0 ||
	    mlp_config_get_int64(ctx->repo, "mlp.workspace.maxFileSize", &max_file, 10 << 20) < 0 ||
	    mlp_config_get_bool(ctx->repo, "mlp.argsParams", &args_params, 1) < 0 ||
	    mlp_snapshot(ctx->repo, ws, &dirty, max_file, warn_cb, NULL) < 0)
		die_lib();
	gethostname(host, sizeof(host) - 1);
	for (size_t i = 0; i < s->npoints; i++) {
		struct mlp_run *run = mlp_run_new();
		struct mlp_buf b = MLP_BUF_INIT;
		const struct mlp_map *pt = &s->points[i];

		if (mlp_run_new_id(run) < 0)
			die_lib();
		point_name(&b, s, i);
		run->name = mlp_buf_detach(&b, NULL);
		run->experiment = s->experiment ? mlp_strdup(s->experiment) : NULL;
		run->status = MLP_STATUS_QUEUED;
		substituted(&run->cmd, s, i);
		run->cmd_nr = (size_t)s->argc;
		run->cwd = mlp_strdup(mlp_repo_prefix(ctx->repo));
		memcpy(run->base, base, sizeof(base));
		memcpy(run->workspace, ws, sizeof(ws));
		run->branch = branch ? mlp_strdup(branch) : NULL;
		run->dirty = dirty;
		run->started = now;
		run->host = mlp_strdup(host);
		run->user = mlp_strdup(user);
		run->parent = mlp_strdup(s->id);
		if (args_params)
			mlp_params_from_argv(&run->params, run->cmd_nr, run->cmd);
		for (size_t k = 0; k < pt->nr; k++) {
			struct mlp_value v;
			const struct mlp_value *t = &pt->items[k].val;
			mlp_value_parse(&v, t->u.str.s, t->u.str.len);
			mlp_map_set(&run->params, pt->items[k].key, &v);
		}
		if (mlp_run_save(ctx->repo, run, NULL) < 0)
			die_lib();
		printf("%s %s\n", run->id, run->name);
		mlp_run_free(run);
	}
	free(branch);
	free(user);
	fprintf(stderr, "queued %zu point%s of sweep %s (%s); run them with 'git mlp queue run'\n",
		s->npoints, s->npoints == 1 ? "" : "s", s->id, s->name);
	return 0;
}

int cmd_sweep(int argc, const char **argv, struct mlp_ctx *ctx)
{
	struct mlp_strlist params = { 0 };
	const char *name = NULL, *experiment = NULL, *sort = NULL, *seed_arg = NULL;
	long long jobs = 1, random_k = 0;
	int queue = 0, sig, created;
	uint64_t seed;
	struct mlp_sweep sw = MLP_SWEEP_INIT;
	struct sweep_ctx s = { 0 };
	struct mlp_run *idrun;
	char *cfg_experiment = NULL, *own_name = NULL;
	int ret = 0;
	struct mlp_option opts[] = {
		OPT_LIST('p', "param", &params, "key=values", "a dimension: a,b,c or choice(...), uniform(lo,hi), log(lo,hi), int(lo,hi)"),
		OPT_INT('j', "jobs", &jobs, "n", "run n points at once (default 1)"),
		OPT_INT(0, "random", &random_k, "k", "draw k random points instead of the whole grid"),
		OPT_STRING(0, "seed", &seed_arg, "s", "seed of --random (default: new, and shown)"),
		OPT_STRING('n', "name", &name, "name", "name of the sweep; points are <name>-1, <name>-2, ..."),
		OPT_STRING('e', "experiment", &experiment, "name", "experiment of the points"),
		OPT_BOOL(0, "queue", &queue, "record the points as queued runs; 'git mlp queue run' runs them"),
		OPT_STRING(0, "sort", &sort, "[-]key", "order of the summary (default: the first metric with a goal)"),
		OPT_END()
	};

	argc = mlp_parse_options(argc, argv, opts, sweep_usage, PARSE_OPT_STOP_AT_NON_OPTION);
	if (argc < 1 || !params.nr || jobs < 1 || random_k < 0)
		mlp_usage_with_options(sweep_usage, opts);
	if (!mlp_repo_workdir(ctx->repo))
		die("cannot run a sweep in a bare repository");
	for (size_t i = 0; i < params.nr; i++)
		if (mlp_sweep_add(&sw, params.items[i]) < 0) {
			error("%s", mlp_error_message());
			mlp_usage_with_options(sweep_usage, opts);
		}
	if (seed_arg) {
		char *end;
		errno = 0;
		seed = strtoull(seed_arg, &end, 0);
		if (!*seed_arg || *end || errno)
			die("--seed wants an integer, not '%s'", seed_arg);
	} else {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		seed = ((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid()) % 1000000000u;
	}
	if (random_k) {
		if (mlp_sweep_random(&s.points, (size_t)random_k, &sw, seed) < 0)
			die_lib();
		s.npoints = (size_t)random_k;
	} else if (mlp_sweep_grid(&s.points, &s.npoints, &sw) < 0) {
		error("%s", mlp_error_message());
		mlp_usage_with_options(sweep_usage, opts);
	}
	{
		char **unknown = NULL;
		size_t nunknown = 0;
		for (int a = 0; a < argc; a++)
			mlp_sweep_unknown_placeholders(&unknown, &nunknown, argv[a], &sw);
		for (size_t i = 0; i < nunknown; i++) {
			warning("'{%s}' in the command names no swept param; it is passed as it is", unknown[i]);
			free(unknown[i]);
		}
		free(unknown);
		for (size_t d = 0; d < sw.ndims; d++) {
			int used = 0;
			for (int a = 0; a < argc && !used; a++)
				used = mlp_sweep_uses(argv[a], sw.dims[d].key);
			if (!used)
				warning("'%s' is not used as {%s} in the command: it is only recorded",
					sw.dims[d].key, sw.dims[d].key);
		}
	}
	if (mlp_repo_init(ctx->repo, &created) < 0)
		die_lib();
	idrun = mlp_run_new();
	if (mlp_run_new_id(idrun) < 0)
		die_lib();
	memcpy(s.id, idrun->id, sizeof(s.id));
	mlp_run_free(idrun);
	if (!name) {
		if (mlp_run_new_name(&own_name, ctx->repo) < 0)
			die_lib();
		name = own_name;
	} else if (mlp_name_check(name) < 0) {
		die_lib();
	}
	if (!experiment && mlp_config_get_string(ctx->repo, "mlp.experiment", &cfg_experiment) == 0)
		experiment = cfg_experiment;
	s.ctx = ctx;
	s.argc = argc;
	s.argv = argv;
	s.name = name;
	s.experiment = experiment;

	if (queue) {
		ret = queue_points(&s);
		goto done;
	}
	fprintf(stderr, "sweep %s (%s): %zu point%s, %lld at a time", s.id, name, s.npoints,
		s.npoints == 1 ? "" : "s", jobs);
	if (random_k)
		fprintf(stderr, ", --seed %" PRIu64, seed);
	fputc('\n', stderr);
	sweep_catch_signals();
	s.was_started = mlp_calloc(s.npoints, 1);
	sig = pool_run(s.npoints, (size_t)jobs, start_point, point_done, &s);
	if (sig)
		fprintf(stderr, "sweep interrupted: %zu of %zu points not started\n",
			s.npoints - s.started, s.npoints);
	for (size_t i = 0; i < s.npoints; i++) {
		if (s.was_started[i])
			continue;
		fprintf(stderr, "not started: point %zu", i + 1);
		for (size_t k = 0; k < s.points[i].nr; k++)
			fprintf(stderr, " %s=%s", s.points[i].items[k].key, s.points[i].items[k].val.u.str.s);
		fputc('\n', stderr);
	}
	free(s.was_started);
	sweep_print_summary(ctx, s.id, sort);
	fprintf(stderr, "sweep %s (%s): %zu finished, %zu failed or killed\n", s.id, name,
		s.finished, s.failed);
	fprintf(stderr, "hint: git mlp compare --sweep %.8s\n", s.id);
	ret = sig ? 128 + sig : s.failed ? 1 : 0;
done:
	mlp_sweep_points_free(s.points, s.npoints);
	mlp_sweep_release(&sw);
	mlp_strlist_free(&params);
	free(own_name);
	free(cfg_experiment);
	return ret;
}
