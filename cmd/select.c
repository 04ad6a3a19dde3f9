/*
 * Choosing runs for diff, compare and report: a <run> is a run id prefix
 * or name; anything else is tried as a revision, whose run is chosen by
 * --pick among the runs started from that commit (or whose workspace is
 * that commit's tree).
 */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>

/* Runs of `commit`, in list order (newest first), skipping `except`. */
static void runs_of(struct mlp_run_list *out, const struct mlp_run_list *all, const char *commit,
		    const char *tree, const struct mlp_run *except, int clean_only)
{
	for (size_t i = 0; i < all->nr; i++) {
		struct mlp_run *r = all->runs[i];
		int mine = !strcmp(r->base, commit) || (tree && r->dirty && !strcmp(r->workspace, tree));
		if (!mine || r == except || (clean_only && r->dirty))
			continue;
		if (out->nr == out->alloc) {
			out->alloc = out->alloc ? out->alloc * 2 : 16;
			out->runs = mlp_realloc(out->runs, out->alloc * sizeof(*out->runs));
		}
		out->runs[out->nr++] = r;
	}
}

struct mlp_run *pick_from_commit(const struct mlp_run_list *all, const char *commit, const char *tree,
				 const char *pick, const struct mlp_run *except, int clean_first)
{
	struct mlp_run_list sub = MLP_RUN_LIST_INIT;
	struct mlp_run *r = NULL;

	if (clean_first)
		runs_of(&sub, all, commit, tree, except, 1);
	if (!sub.nr)
		runs_of(&sub, all, commit, tree, except, 0);
	if (mlp_run_pick(&r, &sub, pick) < 0)
		die_lib();
	free(sub.runs);	/* borrowed runs: free the array only */
	return r;
}

struct mlp_run *select_run(struct mlp_ctx *ctx, const struct mlp_run_list *all, const char *spec,
			   const char *pick)
{
	char **ids = NULL;
	char commit[MLP_OID_HEXSZ + 1], tree[MLP_OID_HEXSZ + 1];
	int n = mlp_run_resolve(&ids, ctx->repo, spec);
	struct mlp_run *r = NULL;

	if (n < 0)
		die_lib();
	if (n == 1) {
		for (size_t i = 0; i < all->nr && !r; i++)
			if (!strcmp(all->runs[i]->id, ids[0]))
				r = all->runs[i];
	}
	for (int i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	if (r)
		return r;
	if (n > 1) {
		char id[MLP_ID_HEXSZ + 1];
		resolve_run(ctx, spec, id);	/* prints the candidates */
		exit(1);
	}
	if (mlp_repo_resolve_commit(ctx->repo, spec, commit, tree) < 0) {
		error("no run or revision matches '%s'", spec);
		exit(1);
	}
	r = pick_from_commit(all, commit, tree, pick, NULL, 0);
	if (!r) {
		error("commit %.7s ('%s') has no runs", commit, spec);
		exit(1);
	}
	return r;
}
