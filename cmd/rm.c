#include "cmd.h"
#include "sync.h"

#include <string.h>

static const char *const rm_usage[] = { "git mlp rm [--remote <remote>] <run>...", NULL };

int cmd_rm(int argc, const char **argv, struct mlp_ctx *ctx)
{
	const char *remote = NULL;
	struct mlp_option opts[] = {
		OPT_STRING(0, "remote", &remote, "remote", "delete the runs on this remote too"),
		OPT_END()
	};
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
		if (remote) {
			/* remote first: a run the remote keeps stays here too, to retry */
			struct mlp_sync_result res = MLP_SYNC_RESULT_INIT;
			char *one[1] = { id };
			const char *why = NULL;
			if (mlp_sync_delete_remote(ctx->repo, remote, one, 1, NULL, &res) < 0)
				why = mlp_error_message();
			else if (res.nr && res.items[0].state == MLP_SYNC_REJECTED && res.items[0].reason &&
				 !strstr(res.items[0].reason, "does not exist"))
				why = res.items[0].reason;
			if (why) {
				ret = error("run %.8s not deleted on '%s': %s", id, remote, why) ? 1 : 1;
				mlp_sync_result_release(&res);
				mlp_run_free(run);
				continue;
			}
			mlp_sync_result_release(&res);
		}
		if (mlp_run_delete(ctx->repo, run) < 0)
			ret = error("%s", mlp_error_message()) ? 1 : 1;
		else
			printf("removed run %.8s (%s)\n", run->id, term_text(run->name ? run->name : "-"));
		mlp_run_free(run);
	}
	return ret;
}
