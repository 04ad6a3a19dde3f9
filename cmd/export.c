/*
 * git mlp export: runs as JSON (full metric histories), CSV (one row per
 * run, as `ls --format=csv`) or an MLflow FileStore directory.
 */
#include "cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const export_usage[] = {
	"git mlp export [--all] [--where <expr>] [--format=json|csv|mlflow] [-o <path>] [--force]",
	NULL
};

static int out_fd = 1;

static void out_write(const struct mlp_buf *b)
{
	const char *p = b->buf;
	size_t n = b->len;

	if (out_fd == 1) {
		write_stdout(b);
		return;
	}
	while (n) {
		ssize_t w = write(out_fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("cannot write the export: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
}

int cmd_export(int argc, const char **argv, struct mlp_ctx *ctx)
{
	const char *fmt = "json", *where = NULL, *output = NULL;
	int all = 0, force = 0;
	struct mlp_query *q = NULL;
	struct mlp_run_list list = MLP_RUN_LIST_INIT;
	struct mlp_buf out = MLP_BUF_INIT;
	struct mlp_option opts[] = {
		OPT_BOOL('a', "all", &all, "every run, not only those of HEAD's history"),
		OPT_STRING('w', "where", &where, "expr", "only runs matching a query (MLflow filter syntax)"),
		OPT_STRING(0, "format", &fmt, "fmt", "json, csv or mlflow"),
		OPT_STRING('o', "output", &output, "path", "file (json, csv; default stdout) or directory (mlflow)"),
		OPT_BOOL('f', "force", &force, "overwrite the file, or write into a non-empty directory"),
		OPT_END()
	};

	argc = mlp_parse_options(argc, argv, opts, export_usage, 0);
	if (argc)
		mlp_usage_with_options(export_usage, opts);
	if (strcmp(fmt, "json") && strcmp(fmt, "csv") && strcmp(fmt, "mlflow")) {
		error("unknown format '%s'", fmt);
		mlp_usage_with_options(export_usage, opts);
	}
	if (!strcmp(fmt, "mlflow") && (!output || !strcmp(output, "-"))) {
		error("--format=mlflow needs -o <directory>");
		mlp_usage_with_options(export_usage, opts);
	}
	if (where && mlp_query_parse(&q, where) < 0)
		die_query(where);
	{
		struct mlp_select sel = { .head_scope = !all, .where = q };
		if (mlp_run_list_select(&list, ctx->repo, &sel, warn_cb, NULL) < 0)
			die_lib();
	}
	if (!strcmp(fmt, "mlflow")) {
		struct mlp_export_stats st;
		char **ids = mlp_calloc(list.nr + 1, sizeof(char *));
		for (size_t i = 0; i < list.nr; i++)
			ids[i] = list.runs[i]->id;
		if (mlp_export_mlflow(ctx->repo, ids, list.nr, output, force, warn_cb, NULL, &st) < 0)
			die_lib();
		free(ids);
		fprintf(stderr, "exported %zu run%s in %zu experiment%s to '%s'\n", st.runs,
			st.runs == 1 ? "" : "s", st.experiments, st.experiments == 1 ? "" : "s", output);
		goto done;
	}
	if (output && strcmp(output, "-")) {
		out_fd = open(output, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | (force ? O_TRUNC : O_EXCL), 0666);
		if (out_fd < 0)
			die("cannot write '%s': %s%s", output, strerror(errno),
			    errno == EEXIST ? " (--force overwrites it)" : "");
	}
	if (!strcmp(fmt, "csv")) {
		struct mlp_render_opts ro = { 0, mlp_now_ms(), NULL, NULL, 0, 0 };
		if (mlp_render_list(&out, &list, MLP_FMT_CSV, &ro) < 0)
			die_lib();
		out_write(&out);
	} else {
		/* one run at a time: histories can be large */
		size_t shown = 0;
		mlp_buf_adds(&out, "[");
		for (size_t i = 0; i < list.nr; i++) {
			struct mlp_run *run = NULL;
			if (mlp_run_load(&run, ctx->repo, list.runs[i]->id, MLP_LOAD_SERIES) < 0) {
				warning("run %s: %s", list.runs[i]->id, mlp_error_message());
				continue;
			}
			mlp_buf_adds(&out, shown++ ? ",\n" : "\n");
			mlp_export_json_run(&out, run);
			mlp_run_free(run);
			out_write(&out);
			mlp_buf_reset(&out);
		}
		mlp_buf_adds(&out, shown ? "\n]\n" : "]\n");
		out_write(&out);
	}
	if (out_fd != 1 && close(out_fd) < 0)
		die("cannot write '%s': %s", output, strerror(errno));
done:
	mlp_buf_release(&out);
	mlp_run_list_release(&list);
	mlp_query_free(q);
	return 0;
}
