/*
 * git mlp ls-remote: the runs of a remote, without fetching anything.
 */
#include "cmd.h"
#include "sync.h"

#include <stdlib.h>
#include <string.h>

static const char *const ls_remote_usage[] = { "git mlp ls-remote [<remote>]", NULL };

int cmd_ls_remote(int argc, const char **argv, struct mlp_ctx *ctx)
{
	char *remote = NULL;
	struct mlp_sync_result res = MLP_SYNC_RESULT_INIT;
	struct mlp_option opts[] = { OPT_END() };

	argc = mlp_parse_options(argc, argv, opts, ls_remote_usage, 0);
	if (argc > 1)
		mlp_usage_with_options(ls_remote_usage, opts);
	if (argc)
		remote = strdup(argv[0]);
	else if (mlp_sync_default_remote(&remote, ctx->repo) < 0)
		die("%s", mlp_error_message());
	if (mlp_sync_ls_remote(ctx->repo, remote, &res) < 0)
		die_lib();
	/* like git ls-remote: commit, then what it names; then how ours compares */
	for (size_t i = 0; i < res.nr; i++)
		printf("%s\t%s\t%s\n", res.items[i].oid, res.items[i].id,
		       res.items[i].state == MLP_SYNC_UPTODATE ? "same" : mlp_sync_state_name(res.items[i].state));
	mlp_sync_result_release(&res);
	free(remote);
	return 0;
}
