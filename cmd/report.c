/*
 * git mlp report [<range> | <run>...]: what a change did to the model, as
 * Markdown for a pull-request comment or as one self-contained HTML file.
 */
#include "cmd.h"
#include "report.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const report_usage[] = {
	"git mlp report [--format=md|html] [-o <file>] [--metric <key>]... [--pick=<how>] [--all] [<range> | <run>...]",
	NULL
};

/*
 * The run of `commit` by `pick`; when it has none, the newest commit of
 * `walk` (a revision or range, newest first) that has one, with a note on
 * stderr.  NULL when none has.
 */
static struct mlp_run *run_near(struct mlp_ctx *ctx, const struct mlp_run_list *list, const char *commit,
				const char *walk, const char *pick, const char *what)
{
	char c[MLP_OID_HEXSZ + 1], tree[MLP_OID_HEXSZ + 1];
	struct mlp_commit_info *log = NULL;
	struct mlp_run *r = NULL;
	size_t n = 0;

	if (mlp_repo_resolve_commit(ctx->repo, commit, c, tree) < 0)
		die_lib();
	r = pick_from_commit(list, c, tree, pick, NULL, 0);
	if (r || !walk)
		return r;
	if (mlp_repo_log(&log, &n, ctx->repo, walk, 1000) < 0)
		die_lib();
	for (size_t i = 0; i < n && !r; i++) {
		if (!strcmp(log[i].id, c))
			continue;
		if (mlp_repo_resolve_commit(ctx->repo, log[i].id, c, tree) < 0)
			die_lib();
		r = pick_from_commit(list, log[i].id, tree, pick, NULL, 0);
		if (r)
			warning("the %s commit %.7s has no runs; using the run of %.7s", what, commit, log[i].id);
	}
	mlp_commit_infos_free(log, n);
	return r;
}

/* No arguments: as `git mlp diff` does, HEAD's newest run against an earlier one. */
static void pick_default(struct mlp_ctx *ctx, const struct mlp_run_list *list, const char *pick,
			 struct mlp_run **a, struct mlp_run **b)
{
	struct mlp_commit_info *log = NULL;
	size_t n = 0;
	char commit[MLP_OID_HEXSZ + 1], tree[MLP_OID_HEXSZ + 1];

	if (mlp_repo_resolve_commit(ctx->repo, "HEAD", commit, tree) < 0) {
		error("HEAD has no commit yet: name a range or two runs");
		exit(1);
	}
	*b = pick_from_commit(list, commit, tree, "newest", NULL, 0);
	if (!*b) {
		error("HEAD (%.7s) has no runs: name a range or the runs to compare", commit);
		exit(1);
	}
	*a = pick_from_commit(list, commit, tree, pick, *b, 1);
	if (mlp_repo_log(&log, &n, ctx->repo, "HEAD", 1000) < 0)
		die_lib();
	for (size_t i = 1; i < n && !*a; i++)
		*a = pick_from_commit(list, log[i].id, NULL, pick, NULL, 0);
	mlp_commit_infos_free(log, n);
	if (!*a) {
		error("no earlier run to compare %.8s (%s) with", (*b)->id, (*b)->name ? (*b)->name : "-");
		exit(1);
	}
}

/* Writes `b` to `path` ("-": stdout); an error message and -1 on failure. */
int write_file_or_stdout(const char *path, const struct mlp_buf *b)
{
	FILE *f;

	if (!path || !strcmp(path, "-")) {
		write_stdout(b);
		return 0;
	}
	f = fopen(path, "w");
	if (!f)
		return error("cannot open '%s': %s", path, strerror(errno));
	if ((b->len && fwrite(b->buf, 1, b->len, f) != b->len) | ferror(f)) {
		fclose(f);
		return error("cannot write '%s': %s", path, strerror(errno));
	}
	if (fclose(f))
		return error("cannot write '%s': %s", path, strerror(errno));
	return 0;
}

int cmd_report(int argc, const char **argv, struct mlp_ctx *ctx)
{
	const char *fmt = "md", *output = NULL, *pick = "newest";
	const char *roles[2] = { "base", "head" };
	struct mlp_strlist metrics = { 0 };
	long long max_chars = MLP_REPORT_MD_MAX;
	int all = 0, err, ret = 0, html;
	struct mlp_run_list list = MLP_RUN_LIST_INIT, chosen = MLP_RUN_LIST_INIT;
	struct mlp_report_opts o = { 0 };
	struct mlp_buf out = MLP_BUF_INIT;
	struct mlp_run **picked;
	size_t npicked = 0;
	struct mlp_option opts[] = {
		OPT_STRING(0, "format", &fmt, "fmt", "md (default) or html"),
		OPT_STRING('o', "output", &output, "file", "write to a file instead of stdout"),
		OPT_LIST('m', "metric", &metrics, "key", "chart this metric (repeatable; default: the goal metrics)"),
		OPT_STRING(0, "pick", &pick, "how", "run of a revision: newest, oldest, 'max <key>', 'min <key>'"),
		OPT_BOOL(0, "all", &all, "show unchanged params too"),
		OPT_INT(0, "max-chars", &max_chars, "n", "md: stay under n characters (default 65000)"),
		OPT_END()
	};

	argc = mlp_parse_options(argc, argv, opts, report_usage, 0);
	if (!strcmp(fmt, "md") || !strcmp(fmt, "markdown"))
		html = 0;
	else if (!strcmp(fmt, "html"))
		html = 1;
	else {
		error("unknown format '%s'", fmt);
		mlp_usage_with_options(report_usage, opts);
	}
	if (argc == 1 && !strstr(argv[0], "..")) {
		error("name a range (A...B) or two or more runs");
		mlp_usage_with_options(report_usage, opts);
	}
	if (max_chars < 2000) {
		error("--max-chars must be 2000 or more");
		mlp_usage_with_options(report_usage, opts);
	}
	if (mlp_run_list_all(&list, ctx->repo, warn_cb, NULL) < 0)
		die_lib();

	picked = mlp_calloc(argc > 2 ? (size_t)argc : 2, sizeof(*picked));
	if (argc == 0) {
		pick_default(ctx, &list, pick, &picked[0], &picked[1]);
		npicked = 2;
		o.roles = roles;
	} else if (argc == 1) {
		char base[MLP_OID_HEXSZ + 1], tip[MLP_OID_HEXSZ + 1];
		struct mlp_buf walk = MLP_BUF_INIT;
		err = mlp_report_range(ctx->repo, argv[0], base, tip);
		if (err == MLP_EINVALID || err == MLP_ENOTFOUND) {
			error("%s", mlp_error_message());
			exit(1);
		}
		if (err < 0)
			die_lib();
		picked[0] = run_near(ctx, &list, base, base, pick, "base");
		if (!picked[0]) {
			error("no run on the base %.7s of '%s' or before it", base, argv[0]);
			exit(1);
		}
		mlp_buf_addf(&walk, "%s..%s", base, tip);
		picked[1] = run_near(ctx, &list, tip, walk.buf, pick, "tip");
		mlp_buf_release(&walk);
		if (!picked[1]) {
			error("no run on the tip %.7s of '%s' or between it and the base %.7s", tip, argv[0], base);
			exit(1);
		}
		npicked = 2;
		o.roles = roles;
		o.range = argv[0];
	} else {
		for (int i = 0; i < argc; i++)
			picked[npicked++] = select_run(ctx, &list, argv[i], pick);
	}

	/* the chosen runs again, with their series */
	chosen.runs = mlp_calloc(npicked, sizeof(*chosen.runs));
	for (size_t i = 0; i < npicked; i++) {
		if (mlp_run_load(&chosen.runs[i], ctx->repo, picked[i]->id, MLP_LOAD_SERIES) < 0)
			die_lib();
		chosen.nr++;
	}
	o.repo = ctx->repo;
	o.all = all;
	o.metrics = metrics.nr ? metrics.items : NULL;
	o.nmetrics = metrics.nr;
	o.max_chars = (size_t)max_chars;
	err = html ? mlp_report_html(&out, &chosen, &o) : mlp_report_md(&out, &chosen, &o);
	if (err < 0)
		die_lib();
	if (!html && out.len && out.buf[out.len - 1] != '\n')
		mlp_buf_addch(&out, '\n');
	if (write_file_or_stdout(output, &out) < 0)
		ret = 1;
	mlp_buf_release(&out);
	mlp_run_list_release(&chosen);
	mlp_run_list_release(&list);
	mlp_strlist_free(&metrics);
	free(picked);
	return ret;
}
