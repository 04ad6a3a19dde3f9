/*
 * git mlp log [<revision range>]: the commits, each with its runs
 * underneath, so model quality reads along the code history.
 */
#include "cmd.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *const history_usage[] = {
	"git mlp log [-n <n>] [--all-metrics] [<revision range>]",
	NULL
};

/* qsort has no context argument: the list being sorted */
static const struct mlp_run_list *sort_list;

/* By base commit; within one, in list order (newest first). */
static int base_cmp(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(sort_list->runs[x]->base, sort_list->runs[y]->base);

	return c ? c : (x > y) - (x < y);
}

int cmd_log_history(int argc, const char **argv, struct mlp_ctx *ctx)
{
	long long max = 0;
	int all_metrics = 0, err;
	const char *range = "HEAD";
	struct mlp_commit_info *log = NULL;
	size_t n = 0;
	struct mlp_run_list list = MLP_RUN_LIST_INIT;
	struct mlp_buf out = MLP_BUF_INIT;
	size_t *by_base;
	const char *yellow = ctx->color ? "\033[33m" : "", *reset = ctx->color ? "\033[m" : "";
	struct mlp_option opts[] = {
		OPT_INT('n', "max-count", &max, "n", "show at most n commits"),
		OPT_BOOL(0, "all-metrics", &all_metrics, "every metric of each run, not only the goal metrics"),
		OPT_END()
	};

	argc = mlp_parse_options(argc, argv, opts, history_usage, 0);
	if (argc > 1)
		mlp_usage_with_options(history_usage, opts);
	if (argc == 1)
		range = argv[0];
	if (!ctx->repo && (err = mlp_repo_open(&ctx->repo)) < 0)
		die_lib();
	if (mlp_pager_opt != 0 && setup_pager(ctx->repo) && !getenv("NO_COLOR"))
		ctx->color = ctx->color || isatty(2);
	if (mlp_repo_log(&log, &n, ctx->repo, range, max > 0 ? (size_t)max : 0) < 0)
		die_lib();
	{
		/* only the runs of the commits shown are decoded */
		const char **bases = mlp_calloc(n ? n : 1, sizeof(*bases));
		struct mlp_select sel = { .limit = 0 };
		for (size_t i = 0; i < n; i++)
			bases[i] = log[i].id;
		sel.bases = bases;
		sel.nbases = n;
		if (mlp_run_list_select(&list, ctx->repo, &sel, warn_cb, NULL) < 0)
			die_lib();
		free(bases);
	}
	/* runs by base commit, newest first within one (the list's order) */
	by_base = mlp_malloc((list.nr ? list.nr : 1) * sizeof(*by_base));
	for (size_t j = 0; j < list.nr; j++)
		by_base[j] = j;
	sort_list = &list;
	mlp_qsort(by_base, list.nr, sizeof(*by_base), base_cmp);
	for (size_t i = 0; i < n; i++) {
		char date[32];
		time_t t = (time_t)log[i].time;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
		mlp_buf_addf(&out, "%scommit %.7s%s %s %s  (%s)\n", yellow, log[i].id, reset, date,
			     term_text(log[i].subject), term_text(log[i].author));
		size_t lo = 0, hi = list.nr;
		while (lo < hi) {	/* the first run based on this commit */
			size_t mid = lo + (hi - lo) / 2;
			if (strcmp(list.runs[by_base[mid]]->base, log[i].id) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		for (hi = lo; hi < list.nr && !strcmp(list.runs[by_base[hi]]->base, log[i].id); hi++)
			;
		for (size_t j = hi; j-- > lo;) {	/* oldest run first */
			const struct mlp_run *r = list.runs[by_base[j]];
			size_t shown = 0;
			const char *name = term_text(r->name ? r->name : "-");
			mlp_buf_addf(&out, "    %.8s %s", r->id, name);
			for (size_t w = mlp_text_width(name); w < 20; w++)
				mlp_buf_addch(&out, ' ');
			mlp_buf_addf(&out, " %-9s%s", mlp_status_name(r->status), r->dirty ? " dirty" : "");
			for (size_t k = 0; k < r->summary_nr && shown < 6; k++) {
				if (!all_metrics && mlp_metric_goal(ctx->repo, r->summary[k].key) == MLP_GOAL_NONE)
					continue;
				mlp_buf_addf(&out, " %s=", term_text(r->summary[k].key));
				mlp_format_number(&out, r->summary[k].last);
				shown++;
			}
			while (out.len && out.buf[out.len - 1] == ' ')
				out.len--;
			mlp_buf_addch(&out, '\n');
		}
	}
	write_stdout(&out);
	mlp_buf_release(&out);
	free(by_base);
	mlp_run_list_release(&list);
	mlp_commit_infos_free(log, n);
	return 0;
}
