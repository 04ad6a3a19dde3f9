/*
 * Reports for code review: Markdown for pull-request comments, one
 * self-contained HTML file, and Mlp-Run: trailers.
 *
 * Everything a run carries (names, keys, values) may come from someone
 * else's repository, and a report is pasted into a forge's comment box
 * or opened in a browser: Markdown text is escaped so that it cannot
 * open HTML, links or code spans, Mermaid labels lose the characters
 * that end a string, and HTML output goes through mlp_xml_escape() with
 * a Content-Security-Policy that forbids loading anything.
 */
#include "internal.h"
#include "plot.h"
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- runs, metrics, series ---------------------------------------------- */

/* The union of the runs' metric keys, sorted, as a map with nil values. */
static void metric_keys(struct mlp_map *keys, const struct mlp_run_list *runs)
{
	for (size_t i = 0; i < runs->nr; i++)
		for (size_t j = 0; j < runs->runs[i]->summary_nr; j++) {
			struct mlp_value nil = { 0 };
			mlp_map_set(keys, runs->runs[i]->summary[j].key, &nil);
		}
}

size_t mlp_report_default_metrics(char ***out, const struct mlp_run_list *runs,
				  struct mlp_repo *repo, size_t max)
{
	struct mlp_map keys = MLP_MAP_INIT;
	size_t n = 0;

	metric_keys(&keys, runs);
	*out = mlp_calloc(max + 1, sizeof(char *));
	for (size_t i = 0; i < keys.nr && n < max; i++)
		if (mlp_metric_goal(repo, keys.items[i].key) != MLP_GOAL_NONE)
			(*out)[n++] = mlp_strdup(keys.items[i].key);
	for (size_t i = 0; i < keys.nr && n < max && !n; i++) {
		/* no goal metric at all: the first ones that are not system figures */
		for (size_t j = i; j < keys.nr && n < max; j++)
			if (strncmp(keys.items[j].key, "sys/", 4))
				(*out)[n++] = mlp_strdup(keys.items[j].key);
		break;
	}
	mlp_map_clear(&keys);
	return n;
}

/* A series as points sorted by step (stable), non-finite values kept. */
struct points {
	int64_t *x;
	double *y;
	size_t n;
};

static void points_of(struct points *pt, const struct mlp_series *s)
{
	mlp_series_sorted(s, &pt->x, &pt->y);
	pt->n = pt->x ? s->nr : 0;
}

static void points_release(struct points *pt)
{
	free(pt->x);
	free(pt->y);
	memset(pt, 0, sizeof(*pt));
}

/* ---- text ----------------------------------------------------------------- */

/*
 * Markdown inline text: the characters that start inline markup (code,
 * emphasis, links, table cells, strikethrough, mentions, math) are
 * backslash-escaped, < > & become entities (GitHub and GitLab would
 * otherwise pass some HTML through), line breaks become blanks.  Text
 * never starts a line, so block markup (#, -, 1.) needs no escape.
 */
static void md_text(struct mlp_buf *b, const char *text)
{
	struct mlp_buf t = MLP_BUF_INIT;

	/* valid UTF-8, other controls as visible escapes, as on a terminal */
	mlp_text_sanitizes(&t, text, MLP_TEXT_NL | MLP_TEXT_TAB);
	for (const char *s = t.buf; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '<')
			mlp_buf_adds(b, "&lt;");
		else if (c == '>')
			mlp_buf_adds(b, "&gt;");
		else if (c == '&')
			mlp_buf_adds(b, "&amp;");
		else if (c < 0x20 || c == 0x7f)
			mlp_buf_addch(b, ' ');
		else if (strchr("\\`*_[]|~@$", c)) {
			mlp_buf_addch(b, '\\');
			mlp_buf_addch(b, (char)c);
		} else
			mlp_buf_addch(b, (char)c);
	}
	mlp_buf_release(&t);
}

/* A Mermaid string: no quote, no newline, no angle bracket; at most 80 bytes. */
static void mermaid_text(struct mlp_buf *b, const char *text)
{
	struct mlp_buf t = MLP_BUF_INIT;
	size_t start = b->len;

	mlp_text_sanitizes(&t, text, MLP_TEXT_NL | MLP_TEXT_TAB);
	for (const char *s = t.buf; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (b->len - start >= 80 && (c & 0xc0) != 0x80) {
			mlp_buf_adds(b, "...");
			break;
		}
		if (c == '"' || c == '`')
			mlp_buf_addch(b, '\'');
		else if (c == '<')
			mlp_buf_adds(b, "\xe2\x80\xb9");	/* ‹ */
		else if (c == '>')
			mlp_buf_adds(b, "\xe2\x80\xba");	/* › */
		else if (c == '#' || c == ';' || c == '%' || c == '\\')
			mlp_buf_addch(b, ' ');
		else if (c < 0x20 || c == 0x7f)
			mlp_buf_addch(b, ' ');
		else
			mlp_buf_addch(b, (char)c);
	}
	mlp_buf_release(&t);
}

/* A number Mermaid's grammar accepts: plain decimal, no exponent. */
static void plain_number(struct mlp_buf *b, double v)
{
	int dec;
	size_t start = b->len;

	if (!isfinite(v) || v == 0) {
		mlp_buf_addch(b, '0');
		return;
	}
	if (fabs(v) >= 1e15) {
		mlp_buf_addf(b, "%.0f", v);
		return;
	}
	dec = 5 - (int)floor(log10(fabs(v)));
	if (dec < 0)
		dec = 0;
	if (dec > 15)
		dec = 15;
	mlp_buf_addf(b, "%.*f", dec, v);
	if (memchr(b->buf + start, '.', b->len - start)) {
		while (b->buf[b->len - 1] == '0')
			b->len--;
		if (b->buf[b->len - 1] == '.')
			b->len--;
		b->buf[b->len] = '\0';
	}
	if (!strcmp(b->buf + start, "-0")) {
		b->len = start;
		mlp_buf_addch(b, '0');
	}
}

static void fmt_value(struct mlp_buf *b, const struct mlp_value *v)
{
	if (!v)
		mlp_buf_adds(b, "-");
	else if (v->type == MLP_FLOAT)
		mlp_format_number(b, v->u.f);
	else
		mlp_value_format(b, v);
}

static const char *role_of(const struct mlp_report_opts *o, size_t i)
{
	return o && o->roles ? o->roles[i] : NULL;
}

/* ---- shared table logic ------------------------------------------------------ */

static int params_differ(const struct mlp_run_list *runs, const char *key)
{
	const struct mlp_value *first = mlp_map_get(&runs->runs[0]->params, key);

	for (size_t i = 1; i < runs->nr; i++) {
		const struct mlp_value *v = mlp_map_get(&runs->runs[i]->params, key);
		if (!first != !v || (first && v && !mlp_value_equal(first, v)))
			return 1;
	}
	return 0;
}

static void param_keys(struct mlp_map *keys, const struct mlp_run_list *runs, int all)
{
	struct mlp_map u = MLP_MAP_INIT;

	for (size_t i = 0; i < runs->nr; i++)
		for (size_t j = 0; j < runs->runs[i]->params.nr; j++) {
			struct mlp_value nil = { 0 };
			mlp_map_set(&u, runs->runs[i]->params.items[j].key, &nil);
		}
	for (size_t k = 0; k < u.nr; k++)
		if (all || params_differ(runs, u.items[k].key)) {
			struct mlp_value nil = { 0 };
			mlp_map_set(keys, u.items[k].key, &nil);
		}
	mlp_map_clear(&u);
}

/* The index of the best run for `key` by its goal, or -1. */
static long best_run(const struct mlp_run_list *runs, const char *key, enum mlp_goal goal)
{
	long best = -1;
	double bv = 0;

	if (goal == MLP_GOAL_NONE)
		return -1;
	for (size_t i = 0; i < runs->nr; i++) {
		const struct mlp_summary *s = mlp_run_summary(runs->runs[i], key);
		if (!s || isnan(s->last))
			continue;
		if (best < 0 || (goal == MLP_GOAL_MIN ? s->last < bv : s->last > bv))
			best = (long)i, bv = s->last;
	}
	return best;
}

struct change {
	double d, pct;
	const char *verdict;	/* "better", "worse" or NULL */
};

static void change_of(struct change *c, const struct mlp_summary *sa, const struct mlp_summary *sb,
		      enum mlp_goal goal)
{
	c->d = sa && sb ? sb->last - sa->last : NAN;
	c->pct = sa && sb && sa->last != 0 ? c->d / fabs(sa->last) * 100.0 : NAN;
	c->verdict = NULL;
	if (sa && sb && !isnan(c->d) && c->d != 0 && goal != MLP_GOAL_NONE)
		c->verdict = (goal == MLP_GOAL_MIN ? c->d < 0 : c->d > 0) ? "better" : "worse";
}

/* ---- Markdown ------------------------------------------------------------------ */

/* Colours of Mermaid lines and the squares that name them in the legend. */
static const char *const md_colors[MLP_REPORT_MD_LINES] = {
	"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e6c619", "#222222",
};
static const char *const md_squares[MLP_REPORT_MD_LINES] = {
	"\xf0\x9f\x9f\xa6", "\xf0\x9f\x9f\xa7", "\xf0\x9f\x9f\xa9", "\xf0\x9f\x9f\xa5",
	"\xf0\x9f\x9f\xaa", "\xf0\x9f\x9f\xab", "\xf0\x9f\x9f\xa8", "\xe2\xac\x9b",
};

static void md_run_label(struct mlp_buf *b, const struct mlp_run *r, const char *role)
{
	if (role) {
		mlp_buf_adds(b, "**");
		md_text(b, role);
		mlp_buf_adds(b, "** ");
	}
	md_text(b, r->name ? r->name : "-");
	mlp_buf_addf(b, " (`%.8s`)", r->id);
}

static void md_col_label(struct mlp_buf *b, const struct mlp_run *r, const char *role)
{
	md_text(b, r->name ? r->name : "-");
	if (role) {
		mlp_buf_adds(b, " (");
		md_text(b, role);
		mlp_buf_adds(b, ")");
	}
}

static void md_header(struct mlp_buf *b, const struct mlp_run_list *runs, const struct mlp_report_opts *o)
{
	mlp_buf_adds(b, MLP_REPORT_MD_MARKER "\n### Experiment report");
	if (o->range) {
		mlp_buf_adds(b, ": ");
		md_text(b, o->range);
	}
	mlp_buf_adds(b, "\n\n");
	for (size_t i = 0; i < runs->nr; i++) {
		const struct mlp_run *r = runs->runs[i];
		if (i)
			mlp_buf_adds(b, runs->nr == 2 ? " \xe2\x86\x92 " : " \xc2\xb7 ");	/* → · */
		md_run_label(b, r, role_of(o, i));
		mlp_buf_addf(b, " at `%.7s`%s", r->base[0] ? r->base : "-------", r->dirty ? " (uncommitted changes)" : "");
		if (r->status != MLP_STATUS_FINISHED)
			mlp_buf_addf(b, " *%s*", mlp_status_name(r->status));
	}
	mlp_buf_adds(b, "\n\n");
}

/* Table head row and rule, and each row as its own string. */
struct md_table {
	struct mlp_buf head;
	char **rows;
	size_t nr;
};

static void md_row_add(struct md_table *t, struct mlp_buf *row)
{
	t->rows = mlp_realloc(t->rows, (t->nr + 1) * sizeof(*t->rows));
	t->rows[t->nr++] = mlp_buf_detach(row, NULL);
}

static void md_table_release(struct md_table *t)
{
	for (size_t i = 0; i < t->nr; i++)
		free(t->rows[i]);
	free(t->rows);
	mlp_buf_release(&t->head);
}

static void md_params(struct md_table *t, const struct mlp_run_list *runs, const struct mlp_report_opts *o)
{
	struct mlp_map keys = MLP_MAP_INIT;
	struct mlp_buf row = MLP_BUF_INIT, v = MLP_BUF_INIT;

	param_keys(&keys, runs, o->all);
	mlp_buf_adds(&t->head, "| param |");
	for (size_t i = 0; i < runs->nr; i++) {
		mlp_buf_addch(&t->head, ' ');
		md_col_label(&t->head, runs->runs[i], role_of(o, i));
		mlp_buf_adds(&t->head, " |");
	}
	mlp_buf_adds(&t->head, "\n| --- |");
	for (size_t i = 0; i < runs->nr; i++)
		mlp_buf_adds(&t->head, " --- |");
	mlp_buf_addch(&t->head, '\n');
	for (size_t k = 0; k < keys.nr; k++) {
		mlp_buf_adds(&row, "| ");
		md_text(&row, keys.items[k].key);
		mlp_buf_adds(&row, " |");
		for (size_t i = 0; i < runs->nr; i++) {
			mlp_buf_reset(&v);
			fmt_value(&v, mlp_map_get(&runs->runs[i]->params, keys.items[k].key));
			mlp_buf_addch(&row, ' ');
			md_text(&row, v.buf);
			mlp_buf_adds(&row, " |");
		}
		mlp_buf_addch(&row, '\n');
		md_row_add(t, &row);
	}
	mlp_map_clear(&keys);
	mlp_buf_release(&row);
	mlp_buf_release(&v);
}

static void md_metrics(struct md_table *t, const struct mlp_run_list *runs, const struct mlp_report_opts *o)
{
	struct mlp_map keys = MLP_MAP_INIT;
	struct mlp_buf row = MLP_BUF_INIT, v = MLP_BUF_INIT;
	int two = runs->nr == 2;

	metric_keys(&keys, runs);
	mlp_buf_adds(&t->head, "| metric |");
	for (size_t i = 0; i < runs->nr; i++) {
		mlp_buf_addch(&t->head, ' ');
		md_col_label(&t->head, runs->runs[i], role_of(o, i));
		mlp_buf_adds(&t->head, " |");
	}
	mlp_buf_adds(&t->head, two ? " change | change % |  |\n| --- |" : "\n| --- |");
	for (size_t i = 0; i < runs->nr; i++)
		mlp_buf_adds(&t->head, " ---: |");
	mlp_buf_adds(&t->head, two ? " ---: | ---: | --- |\n" : "\n");
	for (size_t k = 0; k < keys.nr; k++) {
		const char *key = keys.items[k].key;
		enum mlp_goal goal = mlp_metric_goal(o->repo, key);
		long best = two ? -1 : best_run(runs, key, goal);
		mlp_buf_adds(&row, "| ");
		md_text(&row, key);
		mlp_buf_adds(&row, " |");
		for (size_t i = 0; i < runs->nr; i++) {
			const struct mlp_summary *s = mlp_run_summary(runs->runs[i], key);
			mlp_buf_reset(&v);
			if (s)
				mlp_format_number(&v, s->last);
			else
				mlp_buf_adds(&v, "-");
			mlp_buf_adds(&row, (long)i == best ? " **" : " ");
			md_text(&row, v.buf);
			mlp_buf_adds(&row, (long)i == best ? "** |" : " |");
		}
		if (two) {
			struct change c;
			change_of(&c, mlp_run_summary(runs->runs[0], key), mlp_run_summary(runs->runs[1], key), goal);
			mlp_buf_reset(&v);
			if (isnan(c.d))
				mlp_buf_adds(&v, "-");
			else
				mlp_buf_addf(&v, "%+.4g", c.d);
			mlp_buf_addch(&row, ' ');
			md_text(&row, v.buf);
			mlp_buf_reset(&v);
			if (isnan(c.pct))
				mlp_buf_adds(&v, "-");
			else
				mlp_buf_addf(&v, "%+.1f%%", c.pct);
			mlp_buf_adds(&row, " | ");
			md_text(&row, v.buf);
			mlp_buf_adds(&row, " | ");
			if (c.verdict)
				mlp_buf_adds(&row, !strcmp(c.verdict, "better") ? "\xe2\x9c\x85 better" : "\xe2\x9d\x8c worse");
			mlp_buf_adds(&row, " |");
		}
		mlp_buf_addch(&row, '\n');
		md_row_add(t, &row);
	}
	mlp_map_clear(&keys);
	mlp_buf_release(&row);
	mlp_buf_release(&v);
}

/*
 * One Mermaid chart.  xychart-beta spreads each line's values evenly
 * over one x axis, so every line must have a value at the same steps:
 * the lines are resampled onto evenly spaced steps of the range all
 * runs with the metric share.  Returns 0, or -1 with a reason in `why`
 * when there is nothing to chart.
 */
static int md_chart(struct mlp_buf *b, struct mlp_buf *why, const struct mlp_run_list *runs,
		    const char *key)
{
	struct points pts[MLP_REPORT_MD_LINES];
	size_t who[MLP_REPORT_MD_LINES], nl = 0, k, distinct = 0, missing = 0;
	double lo = -INFINITY, hi = INFINITY, ymin = INFINITY, ymax = -INFINITY, first, step;
	double *grid = NULL, *vals = NULL;
	int exact = 1, ret = -1, clipped = 0;
	double lo0 = 0, hi0 = 0;
	size_t nt;

	for (size_t i = 0; i < runs->nr; i++) {
		const struct mlp_series *s = mlp_run_series(runs->runs[i], key);
		struct points p;
		size_t a = 0, z;
		if (nl == MLP_REPORT_MD_LINES)
			break;
		points_of(&p, s);
		while (a < p.n && !isfinite(p.y[a]))
			a++;
		if (a == p.n) {
			points_release(&p);
			missing++;
			continue;
		}
		z = p.n - 1;
		while (!isfinite(p.y[z]))
			z--;
		if (nl && ((double)p.x[a] != lo0 || (double)p.x[z] != hi0))
			clipped = 1;
		lo0 = (double)p.x[a];
		hi0 = (double)p.x[z];
		if ((double)p.x[a] > lo)
			lo = (double)p.x[a];
		if ((double)p.x[z] < hi)
			hi = (double)p.x[z];
		pts[nl] = p;
		who[nl++] = i;
	}
	if (!nl) {
		mlp_buf_adds(why, "no run has points");
		return -1;
	}
	if (lo > hi) {
		mlp_buf_adds(why, "the runs share no steps");
		goto done;
	}
	/* as many grid steps as distinct steps in the common range, at most 50 */
	{
		size_t *pos = mlp_calloc(nl, sizeof(*pos));
		double cur = -INFINITY;
		for (;;) {
			double next = INFINITY;
			for (size_t l = 0; l < nl; l++) {
				while (pos[l] < pts[l].n && ((double)pts[l].x[pos[l]] <= cur || (double)pts[l].x[pos[l]] < lo))
					pos[l]++;
				if (pos[l] < pts[l].n && (double)pts[l].x[pos[l]] < next)
					next = (double)pts[l].x[pos[l]];
			}
			if (next > hi || distinct > MLP_REPORT_MD_POINTS)
				break;
			distinct++;
			cur = next;
		}
		free(pos);
	}
	k = distinct < MLP_REPORT_MD_POINTS ? distinct : MLP_REPORT_MD_POINTS;
	if (k < 1)
		k = 1;
	grid = mlp_calloc(k, sizeof(*grid));
	vals = mlp_calloc(k * nl, sizeof(*vals));
	for (size_t j = 0; j < k; j++)
		grid[j] = k == 1 ? lo : lo + (hi - lo) * (double)j / (double)(k - 1);
	for (size_t l = 0; l < nl; l++) {
		double last = NAN;
		for (size_t j = 0; j < k; j++) {
			double v = mlp_series_interp(pts[l].x, pts[l].y, pts[l].n, grid[j]);
			if (grid[j] != floor(grid[j]))
				exact = 0;
			else {
				/* a grid step some line has no point at is interpolated */
				size_t a = 0, z = pts[l].n;
				while (z - a > 1) {
					size_t m = a + (z - a) / 2;
					if ((double)pts[l].x[m] <= grid[j]) a = m; else z = m;
				}
				if ((double)pts[l].x[a] != grid[j])
					exact = 0;
			}
			if (!isfinite(v)) {
				/* a gap (NaN) inside the range: hold the previous value */
				v = last;
				exact = 0;
			}
			vals[l * k + j] = v;
			if (isfinite(v))
				last = v;
		}
		/* a gap at the very start: take the first value that follows */
		for (size_t j = k; j-- > 0;) {
			if (isfinite(vals[l * k + j]))
				last = vals[l * k + j];
			else
				vals[l * k + j] = last;
		}
		for (size_t j = 0; j < k; j++) {
			double v = vals[l * k + j];
			if (!isfinite(v))
				continue;
			if (v < ymin) ymin = v;
			if (v > ymax) ymax = v;
		}
	}
	nt = mlp_nice_ticks(ymin, ymax, 5, &first, &step);

	mlp_buf_adds(b, "#### ");
	md_text(b, key);
	mlp_buf_adds(b, "\n\n```mermaid\n%%{init: {\"themeVariables\": {\"xyChart\": {\"plotColorPalette\": \"");
	for (size_t l = 0; l < nl; l++)
		mlp_buf_addf(b, "%s%s", l ? ", " : "", md_colors[who[l] % MLP_REPORT_MD_LINES]);
	mlp_buf_adds(b, "\"}}}}%%\nxychart-beta\n    title \"");
	mermaid_text(b, key);
	mlp_buf_adds(b, "\"\n    x-axis \"step\" ");
	if (k == 1) {
		mlp_buf_adds(b, "[\"");
		plain_number(b, lo);
		mlp_buf_adds(b, "\"]\n");
	} else {
		plain_number(b, lo);
		mlp_buf_adds(b, " --> ");
		plain_number(b, hi);
		mlp_buf_addch(b, '\n');
	}
	mlp_buf_adds(b, "    y-axis \"");
	mermaid_text(b, key);
	mlp_buf_adds(b, "\" ");
	plain_number(b, first);
	mlp_buf_adds(b, " --> ");
	plain_number(b, first + (double)(nt - 1) * step);
	mlp_buf_addch(b, '\n');
	for (size_t l = 0; l < nl; l++) {
		mlp_buf_adds(b, "    line [");
		for (size_t j = 0; j < k; j++) {
			if (j)
				mlp_buf_adds(b, ", ");
			plain_number(b, vals[l * k + j]);
		}
		mlp_buf_adds(b, "]\n");
	}
	mlp_buf_adds(b, "```\n\n");
	for (size_t l = 0; l < nl; l++) {
		const struct mlp_run *r = runs->runs[who[l]];
		if (l)
			mlp_buf_adds(b, " \xc2\xb7 ");
		mlp_buf_adds(b, md_squares[who[l] % MLP_REPORT_MD_LINES]);
		mlp_buf_addch(b, ' ');
		md_text(b, r->name ? r->name : "-");
		mlp_buf_addf(b, " (`%.8s`)", r->id);
	}
	mlp_buf_adds(b, "  \nx: step ");
	plain_number(b, lo);
	if (k > 1) {
		mlp_buf_adds(b, "\xe2\x80\x93");	/* – */
		plain_number(b, hi);
	}
	if (exact && k == distinct)
		mlp_buf_addf(b, ", %zu point%s", k, k == 1 ? "" : "s");
	else
		mlp_buf_addf(b, ", resampled to %zu evenly spaced steps (linear interpolation)", k);
	if (clipped)
		mlp_buf_adds(b, "; only the steps all runs share");
	if (missing)
		mlp_buf_addf(b, "; %zu run%s without points left out", missing, missing == 1 ? "" : "s");
	mlp_buf_adds(b, "\n\n");
	ret = 0;
done:
	for (size_t l = 0; l < nl; l++)
		points_release(&pts[l]);
	free(grid);
	free(vals);
	return ret;
}

/* Up to 10 keys, each cut to 40 bytes, for the "left out" note. */
static void md_key_list(struct mlp_buf *b, char **keys, size_t n)
{
	for (size_t i = 0; i < n && i < 10; i++) {
		char *cut = mlp_strndup(keys[i], strnlen(keys[i], 40));
		size_t c = strlen(cut);
		while (c && ((unsigned char)cut[c - 1] & 0xc0) == 0x80)
			c--;
		if (c < strlen(cut) && c && (unsigned char)cut[c - 1] >= 0xc0)
			cut[c - 1] = '\0';
		mlp_buf_adds(b, i ? ", " : " (");
		md_text(b, cut);
		free(cut);
	}
	if (n)
		mlp_buf_adds(b, n > 10 ? ", \xe2\x80\xa6)" : ")");
}

int mlp_report_md(struct mlp_buf *out, const struct mlp_run_list *runs,
		  const struct mlp_report_opts *o)
{
	struct mlp_report_opts none = { 0 };
	struct mlp_buf head = MLP_BUF_INIT, note = MLP_BUF_INIT, why = MLP_BUF_INIT;
	struct md_table pt = { MLP_BUF_INIT, NULL, 0 }, mt = { MLP_BUF_INIT, NULL, 0 };
	char **keys = NULL, **dropped = NULL, **chart_keys = NULL;
	struct mlp_buf *charts = NULL;
	size_t nkeys, ncharts = 0, ndropped = 0, cap, total, pkeep, mkeep;
	/* room kept for the "left out" note: at most 10 keys of 40 bytes, escaped */
	const size_t reserve = 2000;

	if (!o)
		o = &none;
	if (runs->nr < 2)
		return mlp_error_set(MLP_EINVALID, "a report needs two or more runs");
	cap = o->max_chars ? o->max_chars : MLP_REPORT_MD_MAX;
	if (o->metrics) {
		nkeys = o->nmetrics;
		keys = mlp_calloc(nkeys + 1, sizeof(char *));
		for (size_t i = 0; i < nkeys; i++)
			keys[i] = mlp_strdup(o->metrics[i]);
	} else {
		nkeys = mlp_report_default_metrics(&keys, runs, o->repo, MLP_REPORT_MD_CHARTS);
	}

	md_header(&head, runs, o);
	md_params(&pt, runs, o);
	md_metrics(&mt, runs, o);
	charts = mlp_calloc(nkeys + 1, sizeof(*charts));
	dropped = mlp_calloc(nkeys + 1, sizeof(char *));
	chart_keys = mlp_calloc(nkeys + 1, sizeof(char *));
	for (size_t i = 0; i < nkeys; i++) {
		mlp_buf_reset(&why);
		if (md_chart(&charts[ncharts], &why, runs, keys[i]) < 0) {
			mlp_buf_adds(&note, "- no chart of ");
			md_text(&note, keys[i]);
			mlp_buf_adds(&note, ": ");
			md_text(&note, why.buf);
			mlp_buf_addch(&note, '\n');
			mlp_buf_release(&charts[ncharts]);
			continue;
		}
		chart_keys[ncharts++] = keys[i];
	}

	/* size: header, tables, charts; drop charts from the end, then rows */
	total = head.len + note.len + pt.head.len + mt.head.len + 8;
	for (size_t i = 0; i < pt.nr; i++)
		total += strlen(pt.rows[i]);
	for (size_t i = 0; i < mt.nr; i++)
		total += strlen(mt.rows[i]);
	for (size_t i = 0; i < ncharts; i++)
		total += charts[i].len;
	pkeep = pt.nr;
	mkeep = mt.nr;
	if (total > cap) {
		size_t budget = cap > reserve ? cap - reserve : 0;
		while (ncharts && total > budget) {
			total -= charts[--ncharts].len;
			mlp_buf_release(&charts[ncharts]);
			ndropped++;
		}
		if (total > budget) {
			size_t room = head.len + note.len + pt.head.len + mt.head.len + 8;
			room = budget > room ? budget - room : 0;
			mkeep = pkeep = 0;
			while (mkeep < mt.nr && strlen(mt.rows[mkeep]) <= room)
				room -= strlen(mt.rows[mkeep++]);
			while (mkeep == mt.nr && pkeep < pt.nr && strlen(pt.rows[pkeep]) <= room)
				room -= strlen(pt.rows[pkeep++]);
		}
	}
	/* the dropped charts are the last ones */
	for (size_t i = 0; i < ndropped; i++)
		dropped[i] = chart_keys[ncharts + i];

	mlp_buf_add(out, head.buf, head.len);
	mlp_buf_adds(out, "#### Params\n\n");
	if (!pt.nr)
		mlp_buf_adds(out, o->all ? "No params.\n\n" : "No params changed.\n\n");
	else {
		mlp_buf_add(out, pt.head.buf, pt.head.len);
		for (size_t i = 0; i < pkeep; i++)
			mlp_buf_adds(out, pt.rows[i]);
		mlp_buf_addch(out, '\n');
	}
	mlp_buf_adds(out, "#### Metrics\n\n");
	if (!mt.nr)
		mlp_buf_adds(out, "No metrics.\n\n");
	else {
		mlp_buf_add(out, mt.head.buf, mt.head.len);
		for (size_t i = 0; i < mkeep; i++)
			mlp_buf_adds(out, mt.rows[i]);
		mlp_buf_addch(out, '\n');
	}
	for (size_t i = 0; i < ncharts; i++)
		mlp_buf_add(out, charts[i].buf, charts[i].len);
	if (ndropped || pkeep < pt.nr || mkeep < mt.nr) {
		mlp_buf_addf(out, "**Left out** to stay under %zu characters:", cap);
		if (ndropped) {
			mlp_buf_addf(out, " %zu chart%s", ndropped, ndropped == 1 ? "" : "s");
			md_key_list(out, dropped, ndropped);
		}
		if (mkeep < mt.nr)
			mlp_buf_addf(out, "%s %zu of %zu metric rows", ndropped ? ";" : "", mt.nr - mkeep, mt.nr);
		if (pkeep < pt.nr)
			mlp_buf_addf(out, "%s %zu of %zu param rows", ndropped || mkeep < mt.nr ? ";" : "",
				     pt.nr - pkeep, pt.nr);
		mlp_buf_adds(out, ". `git mlp report --format=html` shows everything.\n\n");
	}
	if (note.len) {
		mlp_buf_add(out, note.buf, note.len);
		mlp_buf_addch(out, '\n');
	}
	/* no blank line at the very end */
	while (out->len >= 2 && out->buf[out->len - 1] == '\n' && out->buf[out->len - 2] == '\n')
		out->buf[--out->len] = '\0';

	for (size_t i = 0; i < ncharts; i++)
		mlp_buf_release(&charts[i]);
	free(charts);
	free(dropped);
	free(chart_keys);
	for (size_t i = 0; i < nkeys; i++)
		free(keys[i]);
	free(keys);
	md_table_release(&pt);
	md_table_release(&mt);
	mlp_buf_release(&head);
	mlp_buf_release(&note);
	mlp_buf_release(&why);
	return 0;
}

/* ---- HTML ------------------------------------------------------------------------ */

#define H(b, s) mlp_xml_escape((b), (s))

static const char html_style[] =
	"body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222;background:#fff}"
	"h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}"
	"p.sub{color:#555;margin-top:0}"
	"table{border-collapse:collapse;margin:.5em 0;font-size:.92em}"
	"th,td{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}"
	"th{background:#f5f5f5}td.num{text-align:right;font-variant-numeric:tabular-nums}"
	"td.better{color:#1a7f37;font-weight:bold}td.worse{color:#cf222e;font-weight:bold}"
	"td.best{font-weight:bold}code{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.95em}"
	".sw{display:inline-block;width:.9em;height:.9em;border-radius:2px;vertical-align:-.1em;margin-right:.4em}"
	"figure{margin:1em 0}figure svg{max-width:100%;height:auto;border:1px solid #eee}"
	"details{margin:.5em 0}footer{margin-top:2em;color:#777;font-size:.85em}";

static void iso_time(struct mlp_buf *b, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char s[32];

	if (ms <= 0 || !gmtime_r(&t, &tm) || !strftime(s, sizeof(s), "%Y-%m-%d %H:%M:%SZ", &tm)) {
		mlp_buf_adds(b, "-");
		return;
	}
	mlp_buf_adds(b, s);
}

static void html_run_label(struct mlp_buf *b, const struct mlp_run *r, size_t i)
{
	mlp_buf_addf(b, "<span class=\"sw\" style=\"background:%s\"></span>",
		     mlp_plot_colors[i % MLP_PLOT_NCOLORS]);
	H(b, r->name ? r->name : "-");
}

static void html_head_row(struct mlp_buf *b, const struct mlp_run_list *runs, const char *first)
{
	mlp_buf_addf(b, "<tr><th>%s</th>", first);
	for (size_t i = 0; i < runs->nr; i++) {
		mlp_buf_adds(b, "<th>");
		html_run_label(b, runs->runs[i], i);
		mlp_buf_adds(b, "</th>");
	}
}

static void html_params(struct mlp_buf *b, const struct mlp_run_list *runs, int all)
{
	struct mlp_map keys = MLP_MAP_INIT;
	struct mlp_buf v = MLP_BUF_INIT;

	param_keys(&keys, runs, all);
	if (!keys.nr) {
		mlp_buf_adds(b, all ? "<p>No params.</p>\n" : "<p>No params differ.</p>\n");
		mlp_map_clear(&keys);
		return;
	}
	mlp_buf_adds(b, "<table class=\"params\">\n");
	html_head_row(b, runs, "param");
	mlp_buf_adds(b, "</tr>\n");
	for (size_t k = 0; k < keys.nr; k++) {
		mlp_buf_adds(b, "<tr><td><code>");
		H(b, keys.items[k].key);
		mlp_buf_adds(b, "</code></td>");
		for (size_t i = 0; i < runs->nr; i++) {
			mlp_buf_reset(&v);
			fmt_value(&v, mlp_map_get(&runs->runs[i]->params, keys.items[k].key));
			mlp_buf_adds(b, "<td>");
			H(b, v.buf);
			mlp_buf_adds(b, "</td>");
		}
		mlp_buf_adds(b, "</tr>\n");
	}
	mlp_buf_adds(b, "</table>\n");
	mlp_map_clear(&keys);
	mlp_buf_release(&v);
}

static void html_metrics(struct mlp_buf *b, const struct mlp_run_list *runs, struct mlp_repo *repo)
{
	struct mlp_map keys = MLP_MAP_INIT;
	struct mlp_buf v = MLP_BUF_INIT;
	int two = runs->nr == 2;

	metric_keys(&keys, runs);
	if (!keys.nr) {
		mlp_buf_adds(b, "<p>No metrics.</p>\n");
		mlp_map_clear(&keys);
		return;
	}
	mlp_buf_adds(b, "<table class=\"metrics\">\n");
	html_head_row(b, runs, "metric");
	mlp_buf_adds(b, two ? "<th>change</th><th>change %</th><th></th></tr>\n" : "</tr>\n");
	for (size_t k = 0; k < keys.nr; k++) {
		const char *key = keys.items[k].key;
		enum mlp_goal goal = mlp_metric_goal(repo, key);
		long best = two ? -1 : best_run(runs, key, goal);
		mlp_buf_adds(b, "<tr><td><code>");
		H(b, key);
		mlp_buf_adds(b, "</code></td>");
		for (size_t i = 0; i < runs->nr; i++) {
			const struct mlp_summary *s = mlp_run_summary(runs->runs[i], key);
			mlp_buf_reset(&v);
			if (s)
				mlp_format_number(&v, s->last);
			else
				mlp_buf_adds(&v, "-");
			mlp_buf_addf(b, "<td class=\"num%s\">", (long)i == best ? " best" : "");
			H(b, v.buf);
			mlp_buf_adds(b, "</td>");
		}
		if (two) {
			struct change c;
			change_of(&c, mlp_run_summary(runs->runs[0], key), mlp_run_summary(runs->runs[1], key), goal);
			mlp_buf_reset(&v);
			if (isnan(c.d))
				mlp_buf_adds(&v, "-");
			else
				mlp_buf_addf(&v, "%+.4g", c.d);
			mlp_buf_adds(b, "<td class=\"num\">");
			H(b, v.buf);
			mlp_buf_reset(&v);
			if (isnan(c.pct))
				mlp_buf_adds(&v, "-");
			else
				mlp_buf_addf(&v, "%+.1f%%", c.pct);
			mlp_buf_adds(b, "</td><td class=\"num\">");
			H(b, v.buf);
			mlp_buf_addf(b, "</td><td class=\"%s\">%s</td>", c.verdict ? c.verdict : "",
				     c.verdict ? c.verdict : "");
		}
		mlp_buf_adds(b, "</tr>\n");
	}
	mlp_buf_adds(b, "</table>\n");
	mlp_map_clear(&keys);
	mlp_buf_release(&v);
}

static void html_chart(struct mlp_buf *b, const struct mlp_run_list *runs, const char *key,
		       const struct mlp_report_opts *o)
{
	struct mlp_plot_line *lines = mlp_calloc(runs->nr, sizeof(*lines));
	struct points *pts = mlp_calloc(runs->nr, sizeof(*pts));
	struct mlp_buf *labels = mlp_calloc(runs->nr, sizeof(*labels));
	struct mlp_plot p = { key, "step", lines, 0 };

	for (size_t i = 0; i < runs->nr; i++) {
		const struct mlp_run *r = runs->runs[i];
		const struct mlp_series *s = mlp_run_series(r, key);
		if (!s)
			continue;
		points_of(&pts[i], s);
		if (role_of(o, i))
			mlp_buf_addf(&labels[i], "%s: ", role_of(o, i));
		mlp_buf_addf(&labels[i], "%s (%.8s)", r->name ? r->name : "-", r->id);
		lines[p.nlines].label = labels[i].buf;
		lines[p.nlines].x = pts[i].x;
		lines[p.nlines].y = pts[i].y;
		lines[p.nlines].n = pts[i].n;
		lines[p.nlines].color = (int)(i % MLP_PLOT_NCOLORS);
		p.nlines++;
	}
	mlp_buf_adds(b, "<figure>\n");
	mlp_plot_svg(b, &p, 760, 320, 0);
	mlp_buf_adds(b, "</figure>\n");
	for (size_t i = 0; i < runs->nr; i++) {
		points_release(&pts[i]);
		mlp_buf_release(&labels[i]);
	}
	free(pts);
	free(labels);
	free(lines);
}

int mlp_report_html(struct mlp_buf *out, const struct mlp_run_list *runs,
		    const struct mlp_report_opts *o)
{
	struct mlp_report_opts none = { 0 };
	struct mlp_map keys = MLP_MAP_INIT;
	struct mlp_buf v = MLP_BUF_INIT;

	if (!o)
		o = &none;
	if (!runs->nr)
		return mlp_error_set(MLP_EINVALID, "a report needs runs");
	mlp_buf_adds(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
		     "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n"
		     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
		     "<meta name=\"generator\" content=\"git-mlp\">\n<title>Experiment report");
	if (o->range) {
		mlp_buf_adds(out, ": ");
		H(out, o->range);
	}
	mlp_buf_adds(out, "</title>\n<style>");
	mlp_buf_adds(out, html_style);
	mlp_buf_adds(out, "</style>\n</head>\n<body>\n<h1>Experiment report</h1>\n");
	if (o->range) {
		mlp_buf_adds(out, "<p class=\"sub\"><code>");
		H(out, o->range);
		mlp_buf_adds(out, "</code></p>\n");
	}

	mlp_buf_adds(out, "<h2>Runs</h2>\n<table class=\"runs\">\n<tr><th>run</th><th>id</th>");
	if (o->roles)
		mlp_buf_adds(out, "<th>role</th>");
	mlp_buf_adds(out, "<th>commit</th><th>branch</th><th>status</th><th>started (UTC)</th><th>duration</th><th>host</th></tr>\n");
	for (size_t i = 0; i < runs->nr; i++) {
		const struct mlp_run *r = runs->runs[i];
		mlp_buf_adds(out, "<tr><td>");
		html_run_label(out, r, i);
		mlp_buf_adds(out, "</td><td><code>");
		H(out, r->id);
		mlp_buf_adds(out, "</code></td>");
		if (o->roles) {
			mlp_buf_adds(out, "<td>");
			H(out, role_of(o, i) ? role_of(o, i) : "");
			mlp_buf_adds(out, "</td>");
		}
		mlp_buf_adds(out, "<td><code>");
		mlp_buf_reset(&v);
		mlp_buf_addf(&v, "%.10s%s", r->base[0] ? r->base : "-", r->dirty ? "+" : "");
		H(out, v.buf);
		mlp_buf_adds(out, "</code></td><td>");
		H(out, r->branch ? r->branch : "-");
		mlp_buf_adds(out, "</td><td>");
		H(out, mlp_status_name(r->status));
		mlp_buf_adds(out, "</td><td>");
		mlp_buf_reset(&v);
		iso_time(&v, r->started);
		H(out, v.buf);
		mlp_buf_adds(out, "</td><td class=\"num\">");
		mlp_buf_reset(&v);
		if (r->ended > r->started && r->started > 0)
			mlp_buf_addf(&v, "%.1fs", (double)(r->ended - r->started) / 1000.0);
		else
			mlp_buf_adds(&v, "-");
		H(out, v.buf);
		mlp_buf_adds(out, "</td><td>");
		H(out, r->host ? r->host : "-");
		mlp_buf_adds(out, "</td></tr>\n");
	}
	mlp_buf_adds(out, "</table>\n");

	mlp_buf_adds(out, "<h2>Params</h2>\n");
	html_params(out, runs, o->all);
	if (!o->all) {
		mlp_buf_adds(out, "<details><summary>All params</summary>\n");
		html_params(out, runs, 1);
		mlp_buf_adds(out, "</details>\n");
	}
	mlp_buf_adds(out, "<h2>Metrics</h2>\n");
	html_metrics(out, runs, o->repo);

	mlp_buf_adds(out, "<h2>Charts</h2>\n");
	if (o->metrics) {
		for (size_t i = 0; i < o->nmetrics; i++)
			html_chart(out, runs, o->metrics[i], o);
	} else {
		metric_keys(&keys, runs);
		for (size_t i = 0; i < keys.nr; i++)
			html_chart(out, runs, keys.items[i].key, o);
		if (!keys.nr)
			mlp_buf_adds(out, "<p>No metrics.</p>\n");
	}
	mlp_buf_adds(out, "<footer>Generated by git-mlp.</footer>\n</body>\n</html>\n");
	mlp_map_clear(&keys);
	mlp_buf_release(&v);
	return 0;
}

/* ---- trailers ------------------------------------------------------------------------ */

static void trailer_word(struct mlp_buf *b, const char *s)
{
	if (!s || !*s) {
		mlp_buf_addch(b, '-');
		return;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		mlp_buf_addch(b, c <= 0x20 || c == 0x7f || c == '=' ? '_' : (char)c);
	}
}

int mlp_report_trailers(struct mlp_buf *out, const struct mlp_run_list *runs)
{
	for (size_t i = 0; i < runs->nr; i++) {
		const struct mlp_run *r = runs->runs[i];
		size_t n = 0;
		mlp_buf_addf(out, "Mlp-Run: %.8s ", r->id);
		trailer_word(out, r->name);
		/* goal metrics first (guessed from names: no repository here), then the rest */
		for (int pass = 0; pass < 2; pass++)
			for (size_t j = 0; j < r->summary_nr && n < 4; j++) {
				const struct mlp_summary *s = &r->summary[j];
				int goal = mlp_metric_goal(NULL, s->key) != MLP_GOAL_NONE;
				if (pass == 0 ? !goal : goal || !strncmp(s->key, "sys/", 4))
					continue;
				mlp_buf_addch(out, ' ');
				trailer_word(out, s->key);
				mlp_buf_addch(out, '=');
				mlp_format_number(out, s->last);
				n++;
			}
		mlp_buf_addch(out, '\n');
	}
	return 0;
}

/* ---- ranges ---------------------------------------------------------------------------- */

int mlp_report_range(struct mlp_repo *repo, const char *range, char base[MLP_OID_HEXSZ + 1],
		     char tip[MLP_OID_HEXSZ + 1])
{
	const char *dots = strstr(range, "..");
	char *a, *b;
	char tree[MLP_OID_HEXSZ + 1];
	int three, err;

	if (!dots)
		return mlp_error_set(MLP_EINVALID, "'%s' is not a range (A..B or A...B)", range);
	three = dots[2] == '.';
	a = mlp_strndup(range, (size_t)(dots - range));
	b = mlp_strdup(dots + (three ? 3 : 2));
	err = mlp_repo_resolve_commit(repo, *a ? a : "HEAD", base, tree);
	if (!err)
		err = mlp_repo_resolve_commit(repo, *b ? b : "HEAD", tip, tree);
	if (!err && three) {
		git_oid oa, ob, mb;
		if (git_oid_fromstr(&oa, base) < 0 || git_oid_fromstr(&ob, tip) < 0)
			err = mlp_git_error(MLP_ERROR, "range");
		else if (git_merge_base(&mb, repo->git, &oa, &ob) < 0)
			err = mlp_error_set(MLP_ENOTFOUND, "'%s' and '%s' have no merge base",
					    *a ? a : "HEAD", *b ? b : "HEAD");
		else
			git_oid_tostr(base, MLP_OID_HEXSZ + 1, &mb);
	}
	free(a);
	free(b);
	return err;
}
