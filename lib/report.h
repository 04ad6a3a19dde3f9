/*
 * Reports for code review: two or more runs as Markdown (tables and
 * Mermaid charts, sized for a pull-request comment) or as one
 * self-contained HTML file (tables and inline SVG charts), and the
 * `Mlp-Run:` commit trailers.
 *
 * Ownership: the renderers borrow the runs and append to a caller-owned
 * struct mlp_buf.  Runs should be loaded with MLP_LOAD_SERIES for charts
 * (a run without series is charted as having no points).  Names, keys,
 * values and the range label are untrusted: Markdown output escapes
 * them so they cannot open HTML or links, HTML output entity-escapes
 * everything and never copies raw text from a run.
 */
#ifndef MLP_REPORT_H
#define MLP_REPORT_H

#include "mlp.h"

/* GitHub's comment limit is 65,536 characters; keep a margin. */
#define MLP_REPORT_MD_MAX 65000
/* Default number of charted metrics (the goal metrics) in Markdown. */
#define MLP_REPORT_MD_CHARTS 4
/* Points per line in a Mermaid chart (xychart-beta draws every one). */
#define MLP_REPORT_MD_POINTS 50
/* Lines per Mermaid chart (the Markdown legend has a colour for each). */
#define MLP_REPORT_MD_LINES 8

/* The first line of every Markdown report: CI finds its comment by it. */
#define MLP_REPORT_MD_MARKER "<!-- git-mlp report -->"

struct mlp_report_opts {
	struct mlp_repo *repo;	/* goals from config; may be NULL (names guess) */
	const char *range;	/* what was compared ("main...HEAD"), for the header; may be NULL */
	const char *const *roles;	/* per run, e.g. "base" / "head"; NULL: none */
	const char *const *metrics;	/* metrics to chart, in order; NULL: the default */
	size_t nmetrics;
	size_t max_chars;	/* Markdown size cap; 0: MLP_REPORT_MD_MAX */
	int all;		/* tables show unchanged params and metrics too */
};

/*
 * The metric keys to chart by default: the keys of the runs' summaries
 * (sorted) whose goal is min or max, at most `max`; when none has a goal,
 * the first `max` keys not under sys/.  Free each and the array.
 */
size_t mlp_report_default_metrics(char ***out, const struct mlp_run_list *runs,
				  struct mlp_repo *repo, size_t max);

/*
 * Markdown: the marker line, a header with the range, commits and runs,
 * the params that differ, the metrics table (for two runs: change,
 * change %, better/worse by goal; for more: the best value in bold), and
 * a Mermaid xychart-beta chart per charted metric.  A chart shares one x
 * axis between its lines: each line is resampled by linear interpolation
 * onto at most MLP_REPORT_MD_POINTS evenly spaced steps of the range of
 * steps common to all runs that have the metric, and the note under the
 * chart says so.  The whole stays under max_chars: charts are left out
 * first, then table rows (params before metrics), and a closing note
 * says what was left out.  MLP_EINVALID with fewer than two runs.
 */
int mlp_report_md(struct mlp_buf *out, const struct mlp_run_list *runs,
		  const struct mlp_report_opts *o);

/*
 * HTML: one file with no external reference (no script at all, styles
 * inline): runs table, params, metrics, and an SVG chart per charted
 * metric (default: every metric) with all runs overlaid and a legend.
 * MLP_EINVALID with no runs.
 */
int mlp_report_html(struct mlp_buf *out, const struct mlp_run_list *runs,
		    const struct mlp_report_opts *o);

/*
 * One `Mlp-Run: <id8> <name> <key>=<value>...` line per run, for commit
 * messages: up to 4 metrics (goal metrics first, guessed from the names),
 * values as %.4g; blanks and control characters in names and keys become
 * '_' so each trailer stays one line of blank-separated words.
 */
int mlp_report_trailers(struct mlp_buf *out, const struct mlp_run_list *runs);

/*
 * The two commits a range compares: "A...B" the merge base of A and B,
 * and B; "A..B" A and B.  An empty side is HEAD, as in git.
 * MLP_EINVALID when `range` has no "..", MLP_ENOTFOUND without a merge
 * base.
 */
int mlp_report_range(struct mlp_repo *repo, const char *range, char base[MLP_OID_HEXSZ + 1],
		     char tip[MLP_OID_HEXSZ + 1]);

#endif
