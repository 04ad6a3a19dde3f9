/*
 * git mlp ls: the runs of HEAD's history (or all), filtered, sorted and
 * shown as a table or in a machine format.
 */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const ls_usage[] = {
	"git mlp ls [--all] [--where <expr>] [--sort [-]<key>]... [--columns <key>,...] [--limit <n>] [--experiment <e>] [--branch <b>] [--format=<fmt>]",
	NULL
};

void split_columns(struct mlp_strlist *out, const struct mlp_strlist *in, char ***owned, size_t *nowned)
{
	for (size_t i = 0; i < in->nr; i++) {
		char *copy = mlp_strdup(in->items[i]), *save = NULL;
		*owned = mlp_realloc(*owned, (*nowned + 1) * sizeof(char *));
		(*owned)[(*nowned)++] = copy;
		for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			while (*tok == ' ')
				tok++;
			if (!*tok)
				continue;
			out->items = mlp_realloc(out->items, (out->nr + 1) * sizeof(char *));
			out->items[out->nr++] = tok;
		}
	}
}

static void keep_if(struct mlp_run_list *list, int (*keep)(const struct mlp_run *, const char *), const char *arg)
{
	size_t n = 0;

	for (size_t i = 0; i < list->nr; i++) {
		if (keep(list->runs[i], arg))
			list->runs[n++] = list->runs[i];
		else
			mlp_run_free(list->runs[i]);
	}
	list->nr = n;
}

static int in_experiment(const struct mlp_run *r, const char *e)
{
	return r->experiment && !strcmp(r->experiment, e);
}

static int on_branch(const struct mlp_run *r, const char *b)
{
	return r->branch && !strcmp(r->branch, b);
}

/*
 * A long listing is not freed on the way out: the kernel takes its memory
 * back at once, while freeing a quarter of a million allocations one by
 * one costs 20 ms at 10,000 runs.  It stays reachable from here, as with
 * git's UNLEAK(), so leak checkers see no leak.
 */
#define UNLEAK_RUNS 1000
static struct mlp_run **volatile unleaked;	/* volatile: a store the compiler keeps */

int cmd_ls(int argc, const char **argv, struct mlp_ctx *ctx)
{
	int all = 0;
	const char *fmt_name = "table", *where = NULL, *experiment = NULL, *branch = NULL;
	long long limit = -1;
	struct mlp_strlist sort = { 0 }, columns_arg = { 0 }, columns = { 0 };
	char **owned = NULL;
	size_t nowned = 0;
	enum mlp_format fmt;
	struct mlp_query *q = NULL;
	struct mlp_run_list list = MLP_RUN_LIST_INIT;
	struct mlp_view_list views = { 0 };
	struct mlp_select sel = { 0 };
	struct mlp_buf out = MLP_BUF_INIT;
	struct mlp_render_opts ro = { ctx->color, mlp_now_ms(), NULL, NULL, 0, 0 };
	char host[256] = "";
	struct mlp_option opts[] = {
		OPT_BOOL('a', "all", &all, "list every run, not only those of HEAD's history"),
		OPT_STRING('w', "where", &where, "expr", "keep runs matching a query (MLflow filter syntax)"),
		OPT_LIST('s', "sort", &sort, "[-]key", "sort by a key, '-' for descending (repeatable)"),
		OPT_LIST(0, "columns", &columns_arg, "key,...", "show these keys as columns"),
		OPT_INT('n', "limit", &limit, "n", "show at most n runs"),
		OPT_STRING('e', "experiment", &experiment, "name", "only runs of this experiment"),
		OPT_STRING('b', "branch", &branch, "name", "only runs started on this branch"),
		OPT_STRING(0, "format", &fmt_name, "fmt", "table, json, csv, tsv or md"),
		OPT_END()
	};

	gethostname(host, sizeof(host) - 1);
	ro.host = host;
	argc = mlp_parse_options(argc, argv, opts, ls_usage, 0);
	if (argc)
		mlp_usage_with_options(ls_usage, opts);
	if (mlp_format_parse(&fmt, fmt_name) < 0 || fmt == MLP_FMT_TEXT) {
		error("unknown format '%s'", fmt_name);
		mlp_usage_with_options(ls_usage, opts);
	}
	if (where && mlp_query_parse(&q, where) < 0)
		die_query(where);
	split_columns(&columns, &columns_arg, &owned, &nowned);
	for (size_t i = 0; i < columns.nr; i++) {
		struct mlp_value v;
		int found;
		struct mlp_run *probe = mlp_run_new();
		/* an unknown attribute is a usage error, before any work */
		if (mlp_run_field(probe, columns.items[i], &v, &found) < 0) {
			mlp_run_free(probe);
			error("%s", mlp_error_message());
			mlp_usage_with_options(ls_usage, opts);
		}
		mlp_value_clear(&v);
		mlp_run_free(probe);
	}
	{
		/* without filters or sorting, only the runs shown are decoded */
		sel.head_scope = !all;
		sel.where = q;
		if (!sort.nr && !experiment && !branch && limit >= 0)
			sel.limit = (size_t)limit;
		/* a table of many runs comes straight from the index cache when it can */
		if (!sel.limit && (fmt == MLP_FMT_TABLE || fmt == MLP_FMT_MD) && !columns.nr && !experiment &&
		    !branch && mlp_sort_keys_view_ok((const char *const *)sort.items, sort.nr) &&
		    !getenv("GIT_MLP_TEST_NO_VIEWS"))
			sel.views = &views;
		if (mlp_run_list_select(&list, ctx->repo, &sel, warn_cb, NULL) < 0)
			die_lib();
	}
	if (views.filled) {
		int err = sort.nr ? mlp_view_list_sort(&views, (const char *const *)sort.items, sort.nr) : 0;
		if (err < 0) {
			error("%s", mlp_error_message());
			mlp_usage_with_options(ls_usage, opts);
		}
		if (!err && limit >= 0)
			mlp_view_list_truncate(&views, (size_t)limit);
		ro.width = fmt == MLP_FMT_TABLE ? term_width() : 0;
		if (!err && !views.nr && fmt == MLP_FMT_TABLE) {
			if (!all && !where)
				fprintf(stderr, "no runs in HEAD's history; 'git mlp ls --all' lists every run\n");
		} else if (!err) {
			err = mlp_render_views(&out, &views, fmt, &ro);
		}
		if (!err) {
			write_stdout(&out);
			mlp_buf_release(&out);
			mlp_view_list_release(&views);
			goto done;
		}
		/* a record the views cannot read: list decoded runs, which say what is wrong */
		mlp_buf_reset(&out);
		mlp_view_list_release(&views);
		sel.views = NULL;
		if (mlp_run_list_select(&list, ctx->repo, &sel, warn_cb, NULL) < 0)
			die_lib();
	}
	mlp_run_list_refresh_live(&list, ctx->repo);
	if (experiment)
		keep_if(&list, in_experiment, experiment);
	if (branch)
		keep_if(&list, on_branch, branch);
	if (sort.nr && mlp_run_list_sort(&list, sort.items, sort.nr) < 0) {
		error("%s", mlp_error_message());
		mlp_usage_with_options(ls_usage, opts);
	}
	if (limit >= 0 && (size_t)limit < list.nr) {
		for (size_t i = (size_t)limit; i < list.nr; i++)
			mlp_run_free(list.runs[i]);
		list.nr = (size_t)limit;
	}
	if (fmt == MLP_FMT_JSON) {
		/* listing decodes from the index, which holds no artifact lists */
		struct mlp_buf data = MLP_BUF_INIT;
		for (size_t i = 0; i < list.nr; i++) {
			mlp_buf_reset(&data);
			if (mlp_run_read_file(&data, ctx->repo, list.runs[i]->id, "artifacts.mp") == 0 &&
			    mlp_artifact_decode_list(list.runs[i], data.buf, data.len) < 0)
				warning("run %s: %s", list.runs[i]->id, mlp_error_message());
		}
		mlp_buf_release(&data);
	}
	if (columns.nr) {
		ro.columns = columns.items;
		ro.ncolumns = columns.nr;
	}
	if (fmt == MLP_FMT_TABLE)
		ro.width = term_width();
	if (fmt == MLP_FMT_TABLE && !list.nr) {
		if (!all && !where && !experiment && !branch)
			fprintf(stderr, "no runs in HEAD's history; 'git mlp ls --all' lists every run\n");
	} else if (mlp_render_list(&out, &list, fmt, &ro) < 0) {
		die_lib();
	}
	write_stdout(&out);
	mlp_buf_release(&out);
	if (list.nr >= UNLEAK_RUNS)
		unleaked = list.runs;
	else
		mlp_run_list_release(&list);
done:
	mlp_query_free(q);
	mlp_strlist_free(&sort);
	mlp_strlist_free(&columns_arg);
	mlp_strlist_free(&columns);
	for (size_t i = 0; i < nowned; i++)
		free(owned[i]);
	free(owned);
	return 0;
}
