/*
 * git mlp fetch / pull: runs from a remote; pull shows what arrived.
 */
#include "cmd.h"
#include "sync.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const fetch_usage[] = { "git mlp fetch [--prune] [<remote> | --all]", NULL };
static const char *const pull_usage[] = { "git mlp pull [--prune] [<remote> | --all]", NULL };

static int item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct mlp_sync_item *)a)->id, ((const struct mlp_sync_item *)b)->id);
}

/* The runs that arrived or changed (res sorted by id), as `git mlp ls` shows them. */
static void show_arrived(struct mlp_ctx *ctx, const struct mlp_sync_result *res)
{
	struct mlp_run_list all = MLP_RUN_LIST_INIT, sel = MLP_RUN_LIST_INIT;
	struct mlp_render_opts ro = { ctx->color, mlp_now_ms(), NULL, NULL, 0, term_width() };
	struct mlp_buf out = MLP_BUF_INIT;
	char host[256] = "";

	gethostname(host, sizeof(host) - 1);
	ro.host = host;
	if (mlp_run_list_all(&all, ctx->repo, warn_cb, NULL) < 0)
		die_lib();
	for (size_t i = 0; i < all.nr; i++) {
		struct mlp_sync_item key, *it;
		memcpy(key.id, all.runs[i]->id, sizeof(key.id));
		it = res->nr ? bsearch(&key, res->items, res->nr, sizeof(*res->items), item_cmp) : NULL;
		if (!it || (it->state != MLP_SYNC_NEW && it->state != MLP_SYNC_UPDATED &&
			    it->state != MLP_SYNC_MERGED))
			continue;
		sel.runs = realloc(sel.runs, (sel.nr + 1) * sizeof(*sel.runs));
		if (!sel.runs)
			die("out of memory");
		sel.runs[sel.nr++] = all.runs[i];
		all.runs[i] = NULL;
	}
	if (!sel.nr) {
		fprintf(stderr, "no new or updated runs\n");
	} else {
		mlp_render_list(&out, &sel, MLP_FMT_TABLE, &ro);
		write_stdout(&out);
	}
	mlp_buf_release(&out);
	{
		size_t k = 0;
		for (size_t i = 0; i < all.nr; i++)
			if (all.runs[i])
				all.runs[k++] = all.runs[i];
		all.nr = k;
	}
	mlp_run_list_release(&all);
	mlp_run_list_release(&sel);
}

static int fetch_or_pull(int argc, const char **argv, struct mlp_ctx *ctx, int pull)
{
	int prune = 0, all = 0, ret = 0;
	char **remotes = NULL;
	size_t nremotes = 0;
	struct mlp_sync_result res = MLP_SYNC_RESULT_INIT;
	struct mlp_sync_opts so = { warn_cb, NULL, 0 };
	const char *const *usage = pull ? pull_usage : fetch_usage;
	struct mlp_option opts[] = {
		OPT_BOOL('p', "prune", &prune, "delete runs gone from the remote (unchanged ones only)"),
		OPT_BOOL(0, "all", &all, "fetch from every remote"),
		OPT_END()
	};

	argc = mlp_parse_options(argc, argv, opts, usage, 0);
	if (argc > 1 || (all && argc))
		mlp_usage_with_options(usage, opts);
	if (all) {
		if (mlp_sync_remotes(&remotes, &nremotes, ctx->repo) < 0)
			die_lib();
	} else {
		remotes = calloc(1, sizeof(char *));
		if (!remotes)
			die("out of memory");
		if (argc)
			remotes[0] = strdup(argv[0]);
		else if (mlp_sync_default_remote(&remotes[0], ctx->repo) < 0)
			die("%s", mlp_error_message());
		nremotes = 1;
	}
	for (size_t i = 0; i < nremotes; i++) {
		if (mlp_sync_fetch(ctx->repo, remotes[i], prune, &so, &res) < 0) {
			if (nremotes == 1)
				die_lib();
			ret = error("%s", mlp_error_message());
			continue;
		}
		if (!pull)
			print_sync_result(ctx, &res, 0);
		print_sync_summary("fetched from", remotes[i], &res);
		if (pull)
			show_arrived(ctx, &res);
		if (res.rejected)
			ret = -1;
		mlp_sync_result_release(&res);
	}
	mlp_sync_ids_free(remotes, nremotes);
	return ret ? 1 : 0;
}

int cmd_fetch(int argc, const char **argv, struct mlp_ctx *ctx)
{
	return fetch_or_pull(argc, argv, ctx, 0);
}

int cmd_pull(int argc, const char **argv, struct mlp_ctx *ctx)
{
	return fetch_or_pull(argc, argv, ctx, 1);
}
