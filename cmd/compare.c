/*
 * git mlp compare RUN...|--where EXPR: N runs side by side.
 */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>

static const char *const compare_usage[] = {
	"git mlp compare [--all] [--format=<fmt>] [--sort [-]<key>] [--limit <n>] (<run>... | --where <expr> | --sweep <id>)",
	NULL
};

int cmd_compare(int argc, const char **argv, struct mlp_ctx *ctx)
{
	const char *fmt_name = "table", *where = NULL, *sweep = NULL;
	struct mlp_buf sweep_where = MLP_BUF_INIT;
	int all = 0, ret = 0;
	long long limit = 20;
	enum mlp_format fmt;
	struct mlp_strlist sort = { 0 };
	struct mlp_query *q = NULL;
	struct mlp_run_list list = MLP_RUN_LIST_INIT, chosen = MLP_RUN_LIST_INIT;
	struct mlp_buf out = MLP_BUF_INIT;
	struct mlp_diff_opts o = { 0 };
	struct mlp_option opts[] = {
		OPT_STRING('w', "where", &where, "expr", "compare the runs matching a query"),
		OPT_STRING(0, "sweep", &sweep, "id", "compare the points of a sweep (--where \"attributes.parent = '<id>'\")"),
		OPT_LIST('s', "sort", &sort, "[-]key", "order of the runs with --where"),
		OPT_INT('n', "limit", &limit, "n", "with --where: at most n runs (default 20)"),
		OPT_BOOL(0, "all", &all, "show params that are the same in every run too"),
		OPT_STRING(0, "format", &fmt_name, "fmt", "table, md, json, csv or tsv"),
		OPT_END()
	};

	argc = mlp_parse_options(argc, argv, opts, compare_usage, 0);
	if (sweep) {
		size_t len = strlen(sweep);
		if (where || len < 4 || len > MLP_ID_HEXSZ || strspn(sweep, "0123456789abcdef") != len)
			mlp_usage_with_options(compare_usage, opts);
		/* an id prefix, like run ids */
		mlp_buf_addf(&sweep_where, "attributes.parent LIKE '%s%%'", sweep);
		where = sweep_where.buf;
	}
	if ((!argc && !where) || (argc && where))
		mlp_usage_with_options(compare_usage, opts);
	if (mlp_format_parse(&fmt, fmt_name) < 0 || fmt == MLP_FMT_TEXT) {
		error("unknown format '%s'", fmt_name);
		mlp_usage_with_options(compare_usage, opts);
	}
	if (where && mlp_query_parse(&q, where) < 0)
		die_query(where);
	if (where) {
		/* filtered from the index: only the matching runs are decoded */
		struct mlp_select sel = { .where = q };
		if (mlp_run_list_select(&list, ctx->repo, &sel, warn_cb, NULL) < 0)
			die_lib();
		if (sort.nr && mlp_run_list_sort(&list, sort.items, sort.nr) < 0)
			die_lib();
		if (limit >= 0 && (size_t)limit < list.nr) {
			for (size_t i = (size_t)limit; i < list.nr; i++)
				mlp_run_free(list.runs[i]);
			list.nr = (size_t)limit;
		}
		if (!list.nr) {
			ret = error("no run matches '%s'", where);
			goto done;
		}
		chosen = list;
		memset(&list, 0, sizeof(list));
	} else {
		chosen.runs = mlp_calloc((size_t)argc, sizeof(*chosen.runs));
		/* runs named by id or name: just those, through the index */
		for (int i = 0; i < argc; i++) {
			char **m = NULL;
			int n = mlp_run_resolve(&m, ctx->repo, argv[i]);
			if (n == 1 && mlp_run_load(&chosen.runs[chosen.nr], ctx->repo, m[0], 0) < 0)
				die_lib();
			for (int k = 0; k < n; k++)
				free(m[k]);
			free(m);
			if (n != 1)
				break;
			mlp_run_list_add(&list, chosen.runs[chosen.nr++]);
		}
		if (chosen.nr < (size_t)argc) {
			/* a revision among them (or an unknown run): every run is needed */
			mlp_run_list_release(&list);
			chosen.nr = 0;
			if (mlp_run_list_all(&list, ctx->repo, warn_cb, NULL) < 0)
				die_lib();
			for (int i = 0; i < argc; i++)
				chosen.runs[chosen.nr++] = select_run(ctx, &list, argv[i], "newest");
		}
	}
	o.all = all;
	o.color = ctx->color;
	o.repo = ctx->repo;
	mlp_render_compare(&out, &chosen, fmt, &o);
	write_stdout(&out);
done:
	mlp_buf_release(&out);
	if (where)
		mlp_run_list_release(&chosen);
	else
		free(chosen.runs);	/* borrowed from list */
	mlp_run_list_release(&list);
	mlp_query_free(q);
	mlp_strlist_free(&sort);
	mlp_buf_release(&sweep_where);
	return ret ? 1 : 0;
}
