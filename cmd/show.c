#include "cmd.h"

#include <unistd.h>

static const char *const show_usage[] = { "git mlp show [--format=<fmt>] <run>", NULL };

int cmd_show(int argc, const char **argv, struct mlp_ctx *ctx)
{
	const char *fmt_name = "text";
	enum mlp_format fmt;
	char id[MLP_ID_HEXSZ + 1];
	struct mlp_run *run = NULL;
	struct mlp_buf out = MLP_BUF_INIT;
	struct mlp_render_opts ro = { ctx->color, mlp_now_ms(), NULL, NULL, 0, 0 };
	char host[256] = "";
	struct mlp_option opts[] = {
		OPT_STRING(0, "format", &fmt_name, "fmt", "text or json"),
		OPT_END()
	};

	gethostname(host, sizeof(host) - 1);
	ro.host = host;
	argc = mlp_parse_options(argc, argv, opts, show_usage, 0);
	if (argc != 1)
		mlp_usage_with_options(show_usage, opts);
	if (mlp_format_parse(&fmt, fmt_name) < 0 || (fmt != MLP_FMT_TEXT && fmt != MLP_FMT_JSON)) {
		error("unknown format '%s'", fmt_name);
		mlp_usage_with_options(show_usage, opts);
	}
	if (resolve_run(ctx, argv[0], id) < 0)
		return 1;
	if (mlp_run_load(&run, ctx->repo, id, MLP_LOAD_SERIES | MLP_LOAD_LOGS) < 0)
		die_lib();
	mlp_render_show(&out, run, fmt, &ro);
	write_stdout(&out);
	mlp_buf_release(&out);
	mlp_run_free(run);
	return 0;
}
