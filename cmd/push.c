/*
 * git mlp push: runs go to a remote with the code they belong to.
 */
#include "cmd.h"
#include "sync.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const push_usage[] = {
	"git mlp push [<remote>] [--all | <run>... | <revision-range>]",
	NULL
};

void print_sync_result(struct mlp_ctx *ctx, const struct mlp_sync_result *res, int show_uptodate)
{
	char **ids, **names = NULL;
	size_t shown = 0, unnamed = 0;

	ids = calloc(res->nr + 1, sizeof(char *));
	if (!ids)
		die("out of memory");
	for (size_t i = 0; i < res->nr; i++)
		if (show_uptodate || res->items[i].state != MLP_SYNC_UPTODATE) {
			ids[shown++] = (char *)res->items[i].id;
			unnamed += !res->items[i].name;
		}
	if (!shown) {
		free(ids);
		return;
	}
	/*
	 * names from the index, nothing decoded (fetch brought them along);
	 * a run deleted meanwhile has none
	 */
	if (!unnamed || mlp_run_names_of(&names, ctx->repo, ids, shown) < 0) {
		mlp_error_clear();
		names = calloc(shown, sizeof(char *));
		if (!names)
			die("out of memory");
	}
	for (size_t i = 0, k = 0; i < res->nr; i++) {
		const struct mlp_sync_item *it = &res->items[i];
		const char *name;
		if (!show_uptodate && it->state == MLP_SYNC_UPTODATE)
			continue;
		name = it->name ? it->name : names[k];
		printf("%-10s %.8s  %s", mlp_sync_state_name(it->state), it->id, term_text(name ? name : "-"));
		k++;
		if (it->reason && (it->state == MLP_SYNC_REJECTED || it->state == MLP_SYNC_KEPT)) {
			char *nl = strchr(it->reason, '\n');
			char *reason = mlp_strndup(it->reason, nl ? (size_t)(nl - it->reason) : strlen(it->reason));
			printf(" (%s)", term_text(reason));
			free(reason);
		}
		putchar('\n');
	}
	for (size_t i = 0; i < shown; i++)
		free(names[i]);
	free(names);
	free(ids);
}

void print_sync_summary(const char *what, const char *remote, const struct mlp_sync_result *res)
{
	static const enum mlp_sync_state order[] = {
		MLP_SYNC_PUSHED, MLP_SYNC_NEW, MLP_SYNC_UPDATED, MLP_SYNC_MERGED, MLP_SYNC_AHEAD,
		MLP_SYNC_DELETED, MLP_SYNC_KEPT, MLP_SYNC_UPTODATE, MLP_SYNC_REJECTED
	};
	int any = 0;

	fprintf(stderr, "%s '%s':", what, remote);
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		size_t n = mlp_sync_count(res, order[i]);
		if (!n)
			continue;
		fprintf(stderr, "%s %zu %s", any ? "," : "", n, mlp_sync_state_name(order[i]));
		any = 1;
	}
	if (!any)
		fputs(" up to date", stderr);
	if (res->retries)
		fprintf(stderr, " (%zu retr%s after lock contention)", res->retries, res->retries == 1 ? "y" : "ies");
	fputc('\n', stderr);
}

static void add_ids(char ***ids, size_t *n, char **more, size_t nmore)
{
	for (size_t i = 0; i < nmore; i++) {
		size_t j;
		for (j = 0; j < *n; j++)
			if (!strcmp((*ids)[j], more[i]))
				break;
		if (j < *n) {
			free(more[i]);
			continue;
		}
		*ids = realloc(*ids, (*n + 1) * sizeof(char *));
		if (!*ids)
			die("out of memory");
		(*ids)[(*n)++] = more[i];
	}
	free(more);
}

int cmd_push(int argc, const char **argv, struct mlp_ctx *ctx)
{
	int all = 0, dry_run = 0, no_upstream = 0, err;
	char *remote = NULL, **ids = NULL;
	size_t n = 0;
	struct mlp_sync_result res = MLP_SYNC_RESULT_INIT;
	struct mlp_sync_opts so = { warn_cb, NULL, 0 };
	struct mlp_option opts[] = {
		OPT_BOOL(0, "all", &all, "push every run"),
		OPT_BOOL('n', "dry-run", &dry_run, "list the runs that would be pushed"),
		OPT_END()
	};

	argc = mlp_parse_options(argc, argv, opts, push_usage, 0);
	{
		int64_t retries;
		if (mlp_config_get_int64(ctx->repo, "mlp.push.retries", &retries, 8) < 0)
			die_lib();
		so.max_retries = retries < 1 ? 1 : retries > 100 ? 100 : (int)retries;
	}
	if (argc && mlp_sync_is_remote(ctx->repo, argv[0])) {
		remote = strdup(argv[0]);
		argc--;
		argv++;
	} else if (mlp_sync_default_remote(&remote, ctx->repo) < 0) {
		die("%s", mlp_error_message());
	}
	if (all && argc)
		mlp_usage_with_options(push_usage, opts);
	for (int i = 0; i < argc; i++) {
		char **m = NULL;
		size_t nm = 0;
		int found = strstr(argv[i], "..") ? 0 : mlp_run_resolve(&m, ctx->repo, argv[i]);
		if (found < 0)
			die_lib();
		if (found > 1) {
			mlp_sync_ids_free(m, (size_t)found);
			die("'%s' matches %d runs; give a longer id prefix", argv[i], found);
		}
		if (found == 1) {
			add_ids(&ids, &n, m, 1);
			continue;
		}
		free(m);
		if (mlp_sync_select(&m, &nm, ctx->repo, argv[i], NULL) < 0)
			die("no run or revision matches '%s'", argv[i]);
		add_ids(&ids, &n, m, nm);
	}
	if (!all && !argc) {
		if (mlp_sync_select(&ids, &n, ctx->repo, NULL, &no_upstream) < 0)
			die_lib();
		if (no_upstream)
			fprintf(stderr, "no upstream branch: pushing the runs of HEAD only (--all for every run)\n");
	}
	if (dry_run) {
		for (size_t i = 0; i < n; i++)
			printf("%s\n", ids[i]);
		if (all)
			printf("(all runs)\n");
		goto done;
	}
	if (!all && !n) {
		fprintf(stderr, "no runs to push\n");
		goto done;
	}
	err = mlp_sync_push(ctx->repo, remote, all ? NULL : ids, n, &so, &res);
	if (err < 0)
		die_lib();
	print_sync_result(ctx, &res, 0);
	print_sync_summary("pushed to", remote, &res);
done:
	err = res.rejected ? 1 : 0;
	mlp_sync_result_release(&res);
	mlp_sync_ids_free(ids, n);
	free(remote);
	return err;
}
