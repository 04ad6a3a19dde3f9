#include "cmd.h"
#include "sync.h"

static const char *const init_usage[] = { "git mlp init [--remote <remote> | --no-remote]", NULL };

int cmd_init(int argc, const char **argv, struct mlp_ctx *ctx)
{
	const char *remote = NULL;
	int no_remote = 0, added = 0;
	struct mlp_option opts[] = {
		OPT_STRING(0, "remote", &remote, "remote", "make a plain 'git fetch <remote>' bring runs too"),
		OPT_BOOL(0, "no-remote", &no_remote, "leave the remotes' configuration alone (the default)"),
		OPT_END()
	};
	int created;

	argc = mlp_parse_options(argc, argv, opts, init_usage, 0);
	if (argc || (remote && no_remote))
		mlp_usage_with_options(init_usage, opts);
	if (mlp_repo_init(ctx->repo, &created) < 0)
		die_lib();
	printf("%s git-mlp in %s\n", created ? "initialized" : "reinitialized",
	       mlp_repo_mlpdir(ctx->repo));
	/* a fetch refspec only: nothing ever adds a push refspec */
	if (remote && mlp_sync_add_fetch_refspec(ctx->repo, remote, &added) < 0)
		die_lib();
	if (remote)
		printf("%s fetch refspec for runs on remote '%s'\n", added ? "added" : "kept the", remote);
	return 0;
}
