/*
 * git mlp log metric|param|tag KEY=VALUE... and log artifact PATH...:
 * inside a run the values go to its $MLP_METRICS journal (artifacts are
 * stored when the run ends); with --run they amend a recorded run.
 */
#include "cmd.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const log_usage[] = {
	"git mlp log metric <key>=<value>... [--step <n>] [--run <run>]",
	"git mlp log param <key>=<value>... [--run <run>]",
	"git mlp log tag <key>=<value>... [--run <run>]",
	"git mlp log artifact <path>... [--run <run>]",
	NULL
};

static void append_live(const char *dir, const struct mlp_buf *line);

static int log_artifacts(int argc, const char **argv, const char *run_spec, struct mlp_ctx *ctx)
{
	const char *live = getenv("MLP_RUN_DIR");
	char here[4096];
	int ret = 0;

	if (!getcwd(here, sizeof(here)))
		die("cannot get the current directory: %s", strerror(errno));
	if (!run_spec) {
		struct mlp_buf line = MLP_BUF_INIT, abs = MLP_BUF_INIT;
		if (!live || !*live)
			die("not inside a run (MLP_RUN_DIR is not set); use --run <run>");
		/* the run may have started elsewhere: hand it absolute paths */
		mlp_buf_adds(&line, "{\"artifact\": [");
		for (int i = 0; i < argc; i++) {
			mlp_buf_reset(&abs);
			if (argv[i][0] == '/')
				mlp_buf_adds(&abs, argv[i]);
			else
				mlp_buf_addf(&abs, "%s/%s", here, argv[i]);
			if (i)
				mlp_buf_adds(&line, ", ");
			mlp_json_str(&line, abs.buf, abs.len);
		}
		mlp_buf_adds(&line, "]}\n");
		append_live(live, &line);
		mlp_buf_release(&line);
		mlp_buf_release(&abs);
		return 0;
	}
	{
		char id[MLP_ID_HEXSZ + 1];
		struct mlp_run *run = NULL;
		struct mlp_artifact_opts ao = { 0 };
		size_t stored = 0;
		int shown = 0;

		if (mlp_repo_open(&ctx->repo) < 0)
			die_lib();
		if (resolve_run(ctx, run_spec, id) < 0)
			return 1;
		if (mlp_run_load(&run, ctx->repo, id, 0) < 0)
			die_lib();
		ao.cwd = here;
		ao.warn = warn_cb;
		ao.progress = progress_cb;
		ao.progress_data = &shown;
		if (mlp_artifact_capture(ctx->repo, run, argv, (size_t)argc, &ao, &stored) < 0) {
			error("%s", mlp_error_message());
			ret = 1;
		} else if (mlp_run_save(ctx->repo, run, NULL) < 0) {
			error("%s", mlp_error_message());
			ret = 1;
		} else {
			fprintf(stderr, "stored %zu file%s in run %.8s\n", stored, stored == 1 ? "" : "s", run->id);
		}
		mlp_run_free(run);
	}
	return ret;
}

static void append_live(const char *dir, const struct mlp_buf *line)
{
	struct mlp_buf path = MLP_BUF_INIT;
	struct stat st;
	int fd;

	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		die("MLP_RUN_DIR '%s' is not a live run directory", dir);
	mlp_buf_addf(&path, "%s/metrics.jsonl", dir);
	/* one write of one line with O_APPEND: lines of concurrent writers never interleave */
	fd = open(path.buf, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (fd < 0)
		die("cannot open '%s': %s", path.buf, strerror(errno));
	if (write(fd, line->buf, line->len) != (ssize_t)line->len)
		die("cannot write '%s': %s", path.buf, strerror(errno));
	if (close(fd) < 0)
		die("cannot write '%s': %s", path.buf, strerror(errno));
	mlp_buf_release(&path);
}

int cmd_log(int argc, const char **argv, struct mlp_ctx *ctx)
{
	const char *run_spec = NULL, *kind, *live;
	long long step = LLONG_MIN;
	int has_step = 0;
	struct mlp_map values = MLP_MAP_INIT;
	struct mlp_buf line = MLP_BUF_INIT;
	struct mlp_option opts[] = {
		OPT_INT(0, "step", &step, "n", "step of the metric values (default: the next step)"),
		OPT_STRING(0, "run", &run_spec, "run", "amend this recorded run instead of the current one"),
		OPT_END()
	};
	int is_metric, is_tag, ret = 0;

	/* `git mlp log [<range>]` is the history; `log metric|param|tag` logs values */
	if (argc < 2 || (strcmp(argv[1], "metric") && strcmp(argv[1], "param") &&
			 strcmp(argv[1], "tag") && strcmp(argv[1], "artifact") && strcmp(argv[1], "-h")))
		return cmd_log_history(argc, argv, ctx);

	argc = mlp_parse_options(argc, argv, opts, log_usage, 0);
	has_step = step != LLONG_MIN;
	if (argc < 2)
		mlp_usage_with_options(log_usage, opts);
	kind = argv[0];
	if (!strcmp(kind, "artifact")) {
		if (has_step) {
			error("--step goes with metrics only");
			mlp_usage_with_options(log_usage, opts);
		}
		return log_artifacts(argc - 1, argv + 1, run_spec, ctx);
	}
	is_metric = !strcmp(kind, "metric");
	is_tag = !strcmp(kind, "tag");
	if (!is_metric && !is_tag && strcmp(kind, "param")) {
		error("unknown kind '%s': use metric, param, tag or artifact", kind);
		mlp_usage_with_options(log_usage, opts);
	}
	if (has_step && !is_metric) {
		error("--step goes with metrics only");
		mlp_usage_with_options(log_usage, opts);
	}
	for (int i = 1; i < argc; i++) {
		char *key = NULL;
		struct mlp_value v;
		if (mlp_parse_assignment(&key, &v, argv[i]) < 0) {
			error("%s", mlp_error_message());
			mlp_usage_with_options(log_usage, opts);
		}
		if (mlp_key_check(kind, key) < 0)
			die_lib();
		if (is_tag) {
			const char *raw = strchr(argv[i], '=') + 1;
			mlp_value_clear(&v);
			mlp_value_set_str(&v, raw, strlen(raw));
		}
		if (is_metric && v.type != MLP_INT && v.type != MLP_FLOAT)
			die("metric '%s' is not a number: '%s'", key, strchr(argv[i], '=') + 1);
		mlp_map_set(&values, key, &v);
		free(key);
	}

	live = getenv("MLP_RUN_DIR");
	if (!run_spec) {
		if (!live || !*live)
			die("not inside a run (MLP_RUN_DIR is not set); use --run <run>");
		if (is_metric) {
			if (mlp_json_line_metrics(&line, &values, has_step, step) < 0)
				die_lib();
		} else {
			mlp_json_line_map(&line, is_tag ? "tags" : "params", &values);
		}
		append_live(live, &line);
		goto done;
	}

	{
		char id[MLP_ID_HEXSZ + 1];
		struct mlp_run *run = NULL;
		int err;

		if ((err = mlp_repo_open(&ctx->repo)) < 0)
			die_lib();
		if (resolve_run(ctx, run_spec, id) < 0) {
			ret = 1;
			goto done;
		}
		if (mlp_run_load(&run, ctx->repo, id, is_metric ? MLP_LOAD_SERIES : 0) < 0)
			die_lib();
		for (size_t i = 0; i < values.nr; i++) {
			struct mlp_value v;
			if (is_metric) {
				const struct mlp_value *mv = &values.items[i].val;
				double d = mv->type == MLP_INT ? (double)mv->u.i : mv->u.f;
				int64_t s = has_step ? step : mlp_run_next_step(run, values.items[i].key);
				mlp_run_add_point(run, values.items[i].key, s, d, mlp_now_ms());
				continue;
			}
			mlp_value_copy(&v, &values.items[i].val);
			mlp_map_set(is_tag ? &run->tags : &run->params, values.items[i].key, &v);
		}
		if (mlp_run_save(ctx->repo, run, NULL) < 0) {
			if (mlp_error_message())
				error("%s", mlp_error_message());
			ret = 1;
		}
		mlp_run_free(run);
	}
done:
	mlp_map_clear(&values);
	mlp_buf_release(&line);
	return ret;
}
