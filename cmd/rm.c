#include "cmd.h"

#include <string.h>

static const char *const rm_usage[] = { "git mlp rm <run>...", NULL };

int cmd_rm(int argc, const char **argv, struct mlp_ctx *ctx)
{
	struct mlp_option opts[] = { OPT_END() };
	int ret = 0;

	argc = mlp_parse_options(argc, argv, opts, rm_usage, 0);
	if (argc < 1)
		mlp_usage_with_options(rm_usage, opts);
	for (int i = 0; i < argc; i++) {
		char id[MLP_ID_HEXSZ + 1];
		struct mlp_run *run = NULL;

		if (resolve_run(ctx, argv[i], id) < 0) {
			ret = 1;
			continue;
		}
		/* a run that no longer decodes can still be removed */
		if (mlp_run_load(&run, ctx->repo, id, 0) < 0) {
			run = mlp_run_new();
			memcpy(run->id, id, sizeof(run->id));
		}
		if (mlp_run_delete(ctx->repo, run) < 0)
			ret = error("%s", mlp_error_message()) ? 1 : 1;
		else
			printf("removed run %.8s (%s)\n", run->id, run->name ? run->name : "-");
		mlp_run_free(run);
	}
	return ret;
}
