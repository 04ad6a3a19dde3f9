/*
 * git mlp plot <run>...: metric curves in the terminal (braille), or as a
 * standalone SVG file.
 */
#include "cmd.h"
#include "plot.h"
#include "report.h"

#include <stdlib.h>
#include <string.h>

static const char *const plot_usage[] = {
	"git mlp plot [--metric <key>]... [--width <n>] [--height <n>] [--svg <file>] [--pick=<how>] <run>...",
	NULL
};

struct plot_data {
	struct mlp_plot_line *lines;
	struct mlp_buf *labels;
	int64_t **x;
	double **y;
};

/* The lines of `key`: one per run that has the metric, steps sorted. */
static void build_plot(struct mlp_plot *p, struct plot_data *d, const struct mlp_run_list *runs,
		       const char *key)
{
	size_t n = runs->nr;

	d->lines = mlp_calloc(n, sizeof(*d->lines));
	d->labels = mlp_calloc(n, sizeof(*d->labels));
	d->x = mlp_calloc(n, sizeof(*d->x));
	d->y = mlp_calloc(n, sizeof(*d->y));
	p->title = key;
	p->xlabel = "step";
	p->lines = d->lines;
	p->nlines = 0;
	for (size_t i = 0; i < n; i++) {
		const struct mlp_run *r = runs->runs[i];
		const struct mlp_series *s = mlp_run_series(r, key);
		struct mlp_plot_line *ln = &d->lines[p->nlines];
		size_t m;
		if (!s || !s->nr)
			continue;
		m = s->nr;
		mlp_series_sorted(s, &d->x[i], &d->y[i]);
		mlp_buf_addf(&d->labels[i], "%s (%.8s)", r->name ? r->name : "-", r->id);
		ln->label = d->labels[i].buf;
		ln->x = d->x[i];
		ln->y = d->y[i];
		ln->n = m;
		ln->color = (int)i;
		p->nlines++;
	}
}

static void release_plot(struct plot_data *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(d->x[i]);
		free(d->y[i]);
		mlp_buf_release(&d->labels[i]);
	}
	free(d->x);
	free(d->y);
	free(d->labels);
	free(d->lines);
}

int cmd_plot(int argc, const char **argv, struct mlp_ctx *ctx)
{
	const char *svg = NULL, *pick = "newest";
	long long width = 0, height = 0;
	struct mlp_strlist metrics = { 0 };
	struct mlp_run_list list = MLP_RUN_LIST_INIT, chosen = MLP_RUN_LIST_INIT;
	struct mlp_buf out = MLP_BUF_INIT;
	char **keys = NULL;
	size_t nkeys = 0;
	struct mlp_plot *plots;
	struct plot_data *data;
	int ret = 0;
	struct mlp_option opts[] = {
		OPT_LIST('m', "metric", &metrics, "key", "plot this metric (repeatable; default: the goal metrics)"),
		OPT_INT('w', "width", &width, "n", "columns (default: the terminal's, or 80); pixels with --svg (720)"),
		OPT_INT(0, "height", &height, "n", "rows of each chart (default 20); pixels with --svg (320)"),
		OPT_STRING(0, "svg", &svg, "file", "write an SVG file ('-': stdout) instead"),
		OPT_STRING(0, "pick", &pick, "how", "run of a revision: newest, oldest, 'max <key>', 'min <key>'"),
		OPT_END()
	};

	argc = mlp_parse_options(argc, argv, opts, plot_usage, 0);
	if (argc < 1)
		mlp_usage_with_options(plot_usage, opts);
	if (width < 0 || height < 0 || width > 100000 || height > 100000) {
		error("--width and --height must be between 0 and 100000");
		mlp_usage_with_options(plot_usage, opts);
	}
	if (mlp_run_list_all(&list, ctx->repo, warn_cb, NULL) < 0)
		die_lib();
	chosen.runs = mlp_calloc((size_t)argc, sizeof(*chosen.runs));
	for (int i = 0; i < argc; i++) {
		struct mlp_run *r = select_run(ctx, &list, argv[i], pick);
		if (mlp_run_load(&chosen.runs[chosen.nr], ctx->repo, r->id, MLP_LOAD_SERIES) < 0)
			die_lib();
		chosen.nr++;
	}
	if (metrics.nr) {
		nkeys = metrics.nr;
		keys = mlp_calloc(nkeys, sizeof(*keys));
		for (size_t i = 0; i < nkeys; i++) {
			int found = 0;
			for (size_t r = 0; r < chosen.nr && !found; r++)
				found = mlp_run_series(chosen.runs[r], metrics.items[i]) != NULL;
			if (!found) {
				error("no run has the metric '%s'", metrics.items[i]);
				ret = 1;
				goto done;
			}
			keys[i] = mlp_strdup(metrics.items[i]);
		}
	} else {
		nkeys = mlp_report_default_metrics(&keys, &chosen, ctx->repo, MLP_REPORT_MD_CHARTS);
		if (!nkeys) {
			error("the runs have no metrics to plot");
			ret = 1;
			goto done;
		}
	}

	plots = mlp_calloc(nkeys, sizeof(*plots));
	data = mlp_calloc(nkeys, sizeof(*data));
	for (size_t i = 0; i < nkeys; i++)
		build_plot(&plots[i], &data[i], &chosen, keys[i]);
	if (svg) {
		mlp_plot_svg_stack(&out, plots, nkeys, width ? (unsigned)width : 720,
				   height ? (unsigned)height : 320);
		if (write_file_or_stdout(svg, &out) < 0)
			ret = 1;
	} else {
		size_t w = width ? (size_t)width : term_width();
		if (!w)
			w = 80;
		for (size_t i = 0; i < nkeys; i++) {
			if (i)
				mlp_buf_addch(&out, '\n');
			mlp_plot_braille(&out, &plots[i], (unsigned)w, height ? (unsigned)height : 20,
					 ctx->color);
		}
		write_stdout(&out);
	}
	for (size_t i = 0; i < nkeys; i++)
		release_plot(&data[i], chosen.nr);
	free(plots);
	free(data);
done:
	for (size_t i = 0; i < nkeys; i++)
		free(keys ? keys[i] : NULL);
	free(keys);
	mlp_buf_release(&out);
	mlp_run_list_release(&chosen);
	mlp_run_list_release(&list);
	mlp_strlist_free(&metrics);
	return ret;
}
