#include "cmd.h"

static const char *const init_usage[] = { "git mlp init", NULL };

int cmd_init(int argc, const char **argv, struct mlp_ctx *ctx)
{
	struct mlp_option opts[] = { OPT_END() };
	int created;

	argc = mlp_parse_options(argc, argv, opts, init_usage, 0);
	if (argc)
		mlp_usage_with_options(init_usage, opts);
	if (mlp_repo_init(ctx->repo, &created) < 0)
		die_lib();
	printf("%s git-mlp in %s\n", created ? "initialized" : "reinitialized",
	       mlp_repo_mlpdir(ctx->repo));
	return 0;
}
