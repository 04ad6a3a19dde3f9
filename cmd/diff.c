/*
 * git mlp diff [A [B]]: what changed between two runs, in params and in
 * metrics, judged by each metric's goal.
 */
#include "cmd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const diff_usage[] = {
	"git mlp diff [--pick=<how>] [--all] [--format=<fmt>] [--exit-code [--threshold=<t>]] [<a> [<b>]]",
	NULL
};

/* "0.01" or "1%" as a relative change. */
static double parse_threshold(const char *s)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || v < 0 || !isfinite(v) || (*end && strcmp(end, "%")))
		die("invalid threshold '%s': use a fraction (0.01) or a percentage (1%%)", s);
	return *end == '%' ? v / 100.0 : v;
}

int cmd_diff(int argc, const char **argv, struct mlp_ctx *ctx)
{
	const char *fmt_name = "text", *pick = "newest", *threshold_s = "0";
	int all = 0, exit_code = 0, worse = 0, ret = 0;
	enum mlp_format fmt;
	struct mlp_run_list list = MLP_RUN_LIST_INIT;
	struct mlp_run *a = NULL, *b = NULL;
	struct mlp_buf out = MLP_BUF_INIT;
	struct mlp_diff_opts o = { 0 };
	double threshold;
	struct mlp_option opts[] = {
		OPT_STRING(0, "pick", &pick, "how", "run of a revision: newest, oldest, 'max <key>', 'min <key>'"),
		OPT_BOOL(0, "all", &all, "show unchanged params and metrics too"),
		OPT_STRING(0, "format", &fmt_name, "fmt", "text, md, json or csv"),
		OPT_BOOL(0, "exit-code", &exit_code, "exit 1 when a goal metric got worse"),
		OPT_STRING(0, "threshold", &threshold_s, "t", "with --exit-code: ignore changes up to t (0.01 or 1%)"),
		OPT_END()
	};

	argc = mlp_parse_options(argc, argv, opts, diff_usage, 0);
	if (argc > 2)
		mlp_usage_with_options(diff_usage, opts);
	if (mlp_format_parse(&fmt, fmt_name) < 0 || fmt == MLP_FMT_TABLE) {
		error("unknown format '%s'", fmt_name);
		mlp_usage_with_options(diff_usage, opts);
	}
	threshold = parse_threshold(threshold_s);
	/*
	 * Two run names or ids: load just those two (through the index),
	 * not every run, which is what revisions need.
	 */
	if (argc == 2) {
		char *ids[2] = { NULL, NULL };
		int found = 0;
		for (int i = 0; i < 2; i++) {
			char **m = NULL;
			int n = mlp_run_resolve(&m, ctx->repo, argv[i]);
			if (n == 1) {
				ids[i] = m[0];
				found++;
			} else {
				for (int k = 0; k < n; k++)
					free(m[k]);
			}
			free(m);
		}
		if (found == 2) {
			struct mlp_run *ra = NULL, *rb = NULL;
			int worse2 = 0;
			if (mlp_run_load(&ra, ctx->repo, ids[0], 0) < 0 || mlp_run_load(&rb, ctx->repo, ids[1], 0) < 0)
				die_lib();
			o.all = all;
			o.color = ctx->color;
			o.repo = ctx->repo;
			mlp_render_diff(&out, ra, rb, fmt, &o, threshold, &worse2);
			write_stdout(&out);
			mlp_buf_release(&out);
			mlp_run_free(ra);
			mlp_run_free(rb);
			free(ids[0]);
			free(ids[1]);
			return exit_code && worse2 ? 1 : 0;
		}
		free(ids[0]);
		free(ids[1]);
	}
	if (mlp_run_list_all(&list, ctx->repo, warn_cb, NULL) < 0)
		die_lib();
	if (argc == 2) {
		a = select_run(ctx, &list, argv[0], pick);
		b = select_run(ctx, &list, argv[1], pick);
	} else if (argc == 1) {
		/* one argument: it against the newest run of HEAD */
		char commit[MLP_OID_HEXSZ + 1], tree[MLP_OID_HEXSZ + 1];
		a = select_run(ctx, &list, argv[0], pick);
		if (mlp_repo_resolve_commit(ctx->repo, "HEAD", commit, tree) == 0)
			b = pick_from_commit(&list, commit, tree, "newest", a, 0);
		if (!b) {
			ret = error("no other run of HEAD to compare '%s' with", argv[0]);
			goto done;
		}
	} else {
		/*
		 * b: the newest run of HEAD (a dirty one is the work tree's);
		 * a: a clean run of HEAD, else the run of the nearest ancestor.
		 */
		struct mlp_commit_info *log = NULL;
		size_t n = 0;
		char commit[MLP_OID_HEXSZ + 1], tree[MLP_OID_HEXSZ + 1];
		if (mlp_repo_resolve_commit(ctx->repo, "HEAD", commit, tree) < 0) {
			ret = error("HEAD has no commit yet: name two runs");
			goto done;
		}
		b = pick_from_commit(&list, commit, tree, "newest", NULL, 0);
		if (!b) {
			ret = error("HEAD (%.7s) has no runs: name the runs to compare", commit);
			goto done;
		}
		a = pick_from_commit(&list, commit, tree, pick, b, 1);
		if (mlp_repo_log(&log, &n, ctx->repo, "HEAD", 1000) < 0)
			die_lib();
		for (size_t i = 1; i < n && !a; i++)
			a = pick_from_commit(&list, log[i].id, NULL, pick, NULL, 0);
		mlp_commit_infos_free(log, n);
		if (!a) {
			ret = error("no earlier run to compare %.8s (%s) with", b->id, b->name ? b->name : "-");
			goto done;
		}
	}
	o.all = all;
	o.color = ctx->color;
	o.repo = ctx->repo;
	mlp_render_diff(&out, a, b, fmt, &o, threshold, &worse);
	write_stdout(&out);
done:
	mlp_buf_release(&out);
	mlp_run_list_release(&list);
	return ret || (exit_code && worse) ? 1 : 0;
}
