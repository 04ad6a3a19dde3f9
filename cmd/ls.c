#include "cmd.h"

#include <unistd.h>

#include <string.h>

static const char *const ls_usage[] = {
	"git mlp ls [--all] [--format=<fmt>]", NULL
};

int cmd_ls(int argc, const char **argv, struct mlp_ctx *ctx)
{
	int all = 0;
	const char *fmt_name = "table";
	enum mlp_format fmt;
	struct mlp_run_list list = MLP_RUN_LIST_INIT;
	struct mlp_buf out = MLP_BUF_INIT;
	struct mlp_render_opts ro = { ctx->color, mlp_now_ms(), NULL };
	char host[256] = "";
	struct mlp_option opts[] = {
		OPT_BOOL('a', "all", &all, "list every run, not only those of HEAD's history"),
		OPT_STRING(0, "format", &fmt_name, "fmt", "table, json, csv or tsv"),
		OPT_END()
	};

	gethostname(host, sizeof(host) - 1);
	ro.host = host;
	argc = mlp_parse_options(argc, argv, opts, ls_usage, 0);
	if (argc)
		mlp_usage_with_options(ls_usage, opts);
	if (mlp_format_parse(&fmt, fmt_name) < 0 || fmt == MLP_FMT_TEXT) {
		error("unknown format '%s'", fmt_name);
		mlp_usage_with_options(ls_usage, opts);
	}
	if (mlp_run_list_all(&list, ctx->repo, warn_cb, NULL) < 0)
		die_lib();
	if (!all && mlp_run_list_scope_head(&list, ctx->repo) < 0)
		die_lib();
	mlp_run_list_refresh_live(&list, ctx->repo);
	if (fmt == MLP_FMT_TABLE && !list.nr) {
		if (!all)
			fprintf(stderr, "no runs in HEAD's history; 'git mlp ls --all' lists every run\n");
	} else if (mlp_render_list(&out, &list, fmt, &ro) < 0) {
		die_lib();
	}
	write_stdout(&out);
	mlp_buf_release(&out);
	mlp_run_list_release(&list);
	return 0;
}
