/*
 * Renderers: runs as tables, JSON, CSV/TSV and the text of `show`.
 * Everything is written into a caller's buffer; nothing is printed here.
 */
#include "internal.h"
#include "mp.h"

#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

int mlp_format_parse(enum mlp_format *out, const char *s)
{
	static const struct { const char *name; enum mlp_format f; } fmts[] = {
		{ "table", MLP_FMT_TABLE }, { "json", MLP_FMT_JSON }, { "csv", MLP_FMT_CSV },
		{ "tsv", MLP_FMT_TSV }, { "text", MLP_FMT_TEXT }, { "md", MLP_FMT_MD },
	};
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++)
		if (!strcmp(s, fmts[i].name)) {
			*out = fmts[i].f;
			return 0;
		}
	return mlp_error_set(MLP_EINVALID, "unknown format '%s'", s);
}

/* ---- JSON out -------------------------------------------------------------- */

/* Length of a valid UTF-8 sequence at p, or 0. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
	size_t n;
	uint32_t cp;

	if (p[0] < 0x80)
		return 1;
	if ((p[0] & 0xe0) == 0xc0) n = 2, cp = p[0] & 0x1f;
	else if ((p[0] & 0xf0) == 0xe0) n = 3, cp = p[0] & 0x0f;
	else if ((p[0] & 0xf8) == 0xf0) n = 4, cp = p[0] & 0x07;
	else return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* Invalid UTF-8 bytes become U+FFFD: JSON text must be Unicode. */
void mlp_json_str(struct mlp_buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;

	mlp_buf_grow(b, len + 2);
	mlp_buf_addch(b, '"');
	for (size_t i = 0; i < len;) {
		unsigned c = p[i];
		size_t n;
		switch (c) {
		case '"': mlp_buf_adds(b, "\\\""); i++; continue;
		case '\\': mlp_buf_adds(b, "\\\\"); i++; continue;
		case '\n': mlp_buf_adds(b, "\\n"); i++; continue;
		case '\r': mlp_buf_adds(b, "\\r"); i++; continue;
		case '\t': mlp_buf_adds(b, "\\t"); i++; continue;
		}
		if (c < 0x20 || c == 0x7f) {
			mlp_buf_addf(b, "\\u%04x", c);
			i++;
			continue;
		}
		n = utf8_len(p + i, len - i);
		if (!n) {
			mlp_buf_adds(b, "\\ufffd");
			i++;
			continue;
		}
		mlp_buf_add(b, p + i, n);
		i += n;
	}
	mlp_buf_addch(b, '"');
}

void mlp_json_double(struct mlp_buf *b, double d)
{
	if (!isfinite(d)) {
		mlp_buf_adds(b, "null");
		return;
	}
	/* shortest form that reads back as the same double */
	for (int prec = 15; prec <= 17; prec++) {
		char tmp[40];
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d || prec == 17) {
			mlp_buf_adds(b, tmp);
			if (!strpbrk(tmp, ".eEn"))
				mlp_buf_adds(b, ".0");
			return;
		}
	}
}

void mlp_json_value(struct mlp_buf *b, const struct mlp_value *v)
{
	switch (v->type) {
	case MLP_NIL: mlp_buf_adds(b, "null"); break;
	case MLP_BOOL: mlp_buf_adds(b, v->u.b ? "true" : "false"); break;
	case MLP_INT: mlp_buf_addf(b, "%lld", (long long)v->u.i); break;
	case MLP_FLOAT: mlp_json_double(b, v->u.f); break;
	case MLP_STR: mlp_json_str(b, v->u.str.s, v->u.str.len); break;
	}
}

static void json_key(struct mlp_buf *b, const char *k, int *first)
{
	if (!*first)
		mlp_buf_addch(b, ',');
	*first = 0;
	mlp_json_str(b, k, strlen(k));
	mlp_buf_addch(b, ':');
}

static void json_cstr(struct mlp_buf *b, const char *s)
{
	if (s)
		mlp_json_str(b, s, strlen(s));
	else
		mlp_buf_adds(b, "null");
}

static void json_map(struct mlp_buf *b, const struct mlp_map *m)
{
	int first = 1;

	mlp_buf_addch(b, '{');
	for (size_t i = 0; i < m->nr; i++) {
		json_key(b, m->items[i].key, &first);
		mlp_json_value(b, &m->items[i].val);
	}
	mlp_buf_addch(b, '}');
}

void mlp_render_run_json(struct mlp_buf *b, const struct mlp_run *run, int detail)
{
	int first = 1;

	mlp_buf_addch(b, '{');
	json_key(b, "id", &first); json_cstr(b, run->id);
	json_key(b, "name", &first); json_cstr(b, run->name);
	json_key(b, "experiment", &first); json_cstr(b, run->experiment);
	json_key(b, "status", &first); json_cstr(b, mlp_status_name(run->status));
	json_key(b, "started", &first); mlp_buf_addf(b, "%lld", (long long)run->started);
	json_key(b, "ended", &first);
	if (run->ended) mlp_buf_addf(b, "%lld", (long long)run->ended); else mlp_buf_adds(b, "null");
	json_key(b, "base", &first); json_cstr(b, run->base[0] ? run->base : NULL);
	json_key(b, "branch", &first); json_cstr(b, run->branch);
	json_key(b, "dirty", &first); mlp_buf_adds(b, run->dirty ? "true" : "false");
	json_key(b, "exit_code", &first);
	if (run->has_exit_code) mlp_buf_addf(b, "%d", run->exit_code); else mlp_buf_adds(b, "null");
	json_key(b, "signal", &first);
	if (run->signal) mlp_buf_addf(b, "%d", run->signal); else mlp_buf_adds(b, "null");
	json_key(b, "host", &first); json_cstr(b, run->host);
	json_key(b, "user", &first); json_cstr(b, run->user);
	json_key(b, "cmd", &first);
	mlp_buf_addch(b, '[');
	for (size_t i = 0; i < run->cmd_nr; i++) {
		if (i)
			mlp_buf_addch(b, ',');
		json_cstr(b, run->cmd[i]);
	}
	mlp_buf_addch(b, ']');
	json_key(b, "commit", &first); json_cstr(b, run->commit[0] ? run->commit : NULL);
	json_key(b, "params", &first); json_map(b, &run->params);
	json_key(b, "metrics", &first);
	{
		int f2 = 1;
		mlp_buf_addch(b, '{');
		for (size_t i = 0; i < run->summary_nr; i++) {
			const struct mlp_summary *s = &run->summary[i];
			json_key(b, s->key, &f2);
			mlp_buf_adds(b, "{\"last\":"); mlp_json_double(b, s->last);
			mlp_buf_adds(b, ",\"min\":"); mlp_json_double(b, s->min);
			mlp_buf_adds(b, ",\"max\":"); mlp_json_double(b, s->max);
			mlp_buf_adds(b, ",\"first\":"); mlp_json_double(b, s->first);
			mlp_buf_addf(b, ",\"count\":%llu,\"step\":%lld}",
				     (unsigned long long)s->count, (long long)s->step);
		}
		mlp_buf_addch(b, '}');
	}
	json_key(b, "tags", &first); json_map(b, &run->tags);
	json_key(b, "parent", &first); json_cstr(b, run->parent);
	json_key(b, "artifacts", &first); mlp_render_artifacts_json(b, run);
	if (detail) {
		json_key(b, "cwd", &first); json_cstr(b, run->cwd);
		json_key(b, "workspace", &first); json_cstr(b, run->workspace[0] ? run->workspace : NULL);
		json_key(b, "note", &first); json_cstr(b, run->note);
		json_key(b, "rusage", &first);
		mlp_buf_addf(b, "{\"cpu_ms\":%lld,\"maxrss_kb\":%lld}",
			     (long long)run->cpu_ms, (long long)run->maxrss_kb);
		json_key(b, "env", &first); json_map(b, &run->env);
		json_key(b, "logs_tail", &first);
		mlp_buf_adds(b, "{\"stdout\":");
		json_cstr(b, run->logs_stdout_tail);
		mlp_buf_adds(b, ",\"stderr\":");
		json_cstr(b, run->logs_stderr_tail);
		mlp_buf_addch(b, '}');
	}
	mlp_buf_addch(b, '}');
}

/* ---- small text helpers ------------------------------------------------------ */

void mlp_format_age(struct mlp_buf *b, int64_t ms)
{
	int64_t s = ms / 1000;

	if (s < 0)
		s = 0;
	if (s < 60)
		mlp_buf_addf(b, "%llds", (long long)s);
	else if (s < 3600)
		mlp_buf_addf(b, "%lldm", (long long)(s / 60));
	else if (s < 86400 * 2)
		mlp_buf_addf(b, "%lldh", (long long)(s / 3600));
	else
		mlp_buf_addf(b, "%lldd", (long long)(s / 86400));
}

static void format_duration(struct mlp_buf *b, int64_t ms)
{
	if (ms < 1000)
		mlp_buf_addf(b, "%lldms", (long long)ms);
	else if (ms < 60000)
		mlp_buf_addf(b, "%.1fs", ms / 1000.0);
	else if (ms < 3600000)
		mlp_buf_addf(b, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms / 1000 % 60));
	else
		mlp_buf_addf(b, "%lldh%02lldm", (long long)(ms / 3600000), (long long)(ms / 60000 % 60));
}

void mlp_sparkline(struct mlp_buf *b, const double *v, size_t n, size_t width)
{
	static const char *const bars[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
	double lo = INFINITY, hi = -INFINITY;
	size_t cells = n < width ? n : width;

	for (size_t i = 0; i < n; i++) {
		if (!isfinite(v[i]))
			continue;
		if (v[i] < lo) lo = v[i];
		if (v[i] > hi) hi = v[i];
	}
	for (size_t c = 0; c < cells; c++) {
		/* each cell shows the mean of its slice of the series */
		size_t from = c * n / cells, to = (c + 1) * n / cells;
		double sum = 0;
		size_t cnt = 0;
		for (size_t i = from; i < to; i++)
			if (isfinite(v[i]))
				sum += v[i], cnt++;
		if (!cnt) {
			mlp_buf_addch(b, ' ');
			continue;
		}
		double x = sum / cnt;
		int level = hi > lo ? (int)((x - lo) / (hi - lo) * 7.0 + 0.5) : 3;
		mlp_buf_adds(b, bars[level < 0 ? 0 : level > 7 ? 7 : level]);
	}
}

static void spaces(struct mlp_buf *b, size_t n)
{
	mlp_buf_grow(b, n);
	memset(b->buf + b->len, ' ', n);
	b->len += n;
	b->buf[b->len] = '\0';
}

/* `s` (w columns wide) padded to `width`. */
static void pad_known(struct mlp_buf *b, const char *s, size_t w, size_t width, int right)
{
	if (right && w < width)
		spaces(b, width - w);
	mlp_buf_adds(b, s);
	if (!right && w < width)
		spaces(b, width - w);
}

static void pad(struct mlp_buf *b, const char *s, size_t width, int right)
{
	pad_known(b, s, mlp_text_width(s), width, right);
}

static const char *status_color(enum mlp_status s)
{
	switch (s) {
	case MLP_STATUS_FINISHED: return "\033[32m";
	case MLP_STATUS_FAILED: return "\033[31m";
	case MLP_STATUS_KILLED:
	case MLP_STATUS_CRASHED: return "\033[33m";
	case MLP_STATUS_QUEUED: return "\033[2m";
	case MLP_STATUS_RUNNING: return "\033[36m";
	}
	return "";
}

/* "running (host gpu7, last seen 5m ago)" for another machine's live run. */
static void status_text(struct mlp_buf *b, const struct mlp_run *r, const struct mlp_render_opts *o)
{
	mlp_buf_adds(b, mlp_status_name(r->status));
	if (r->status == MLP_STATUS_RUNNING && o->host && r->host && strcmp(r->host, o->host)) {
		mlp_buf_adds(b, " (host ");
		mlp_text_sanitizes(b, r->host, 0);
		mlp_buf_adds(b, ", last seen ");
		mlp_format_age(b, o->now_ms - (r->commit_time ? r->commit_time * 1000 : r->started));
		mlp_buf_adds(b, " ago)");
	}
}

/* ---- lists ------------------------------------------------------------------- */

/*
 * A table of strings, the one shape every list-like output takes: text
 * (aligned, fitted to the terminal), Markdown, CSV and TSV come from it.
 */
struct cell {
	size_t off;		/* of its text in the table's `text` */
	const char *color;	/* escape sequence or NULL */
	size_t width;		/* in columns, once the table is clean */
};

#define CELL_TEXT(t, c) ((t)->text.buf + (c)->off)

void mlp_table_init(struct mlp_table *t, size_t cols)
{
	memset(t, 0, sizeof(*t));
	t->cols = cols;
	t->right = mlp_calloc(cols ? cols : 1, sizeof(int));
	t->keep = 0;
}

/*
 * Text for people comes partly from records, which a fetched ref may fill
 * with escape sequences that clear the screen or retitle the window, a
 * carriage return that hides what came before it on the line, or bytes
 * that are not UTF-8.  Every string of a record goes through here on its
 * way into text (tables, show, diff, compare, Markdown, CSV); our own
 * colour sequences are added around it, never through it, so none of a
 * record's survives.  Controls stay visible as C-style escapes, which
 * cost columns the width computation then sees.
 */
void mlp_text_sanitize(struct mlp_buf *b, const char *s, size_t len, unsigned flags)
{
	const unsigned char *p = (const unsigned char *)s;

	mlp_buf_grow(b, len);
	b->buf[b->len] = '\0';
	for (size_t i = 0; i < len;) {
		unsigned c = p[i];
		size_t n;

		if (c >= 0x20 && c < 0x7f) {
			/* a stretch of printable ASCII, copied at once */
			size_t j = i + 1;
			while (j < len && p[j] >= 0x20 && p[j] < 0x7f)
				j++;
			mlp_buf_add(b, p + i, j - i);
			i = j;
		} else if (c == '\t') {
			mlp_buf_addch(b, flags & MLP_TEXT_TAB ? '\t' : ' ');
			i++;
		} else if (c == '\n' && (flags & MLP_TEXT_NL)) {
			mlp_buf_addch(b, '\n');
			i++;
		} else if (c == '\n' || c == '\r') {
			mlp_buf_adds(b, c == '\n' ? "\\n" : "\\r");
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			mlp_buf_addf(b, "\\x%02x", c);
			i++;
		} else if (!(n = utf8_len(p + i, len - i))) {
			mlp_buf_adds(b, "\xef\xbf\xbd");	/* U+FFFD, one per invalid byte */
			i++;
		} else if (n == 2 && c == 0xc2 && p[i + 1] < 0xa0) {
			mlp_buf_addf(b, "\\u%04x", p[i + 1]);	/* C1: 0x9b is a CSI too */
			i += 2;
		} else {
			mlp_buf_add(b, p + i, n);
			i += n;
		}
	}
}

void mlp_text_sanitizes(struct mlp_buf *b, const char *s, unsigned flags)
{
	if (s)
		mlp_text_sanitize(b, s, strlen(s), flags);
}

/*
 * Columns on a terminal: wide (CJK, emoji) characters take two, combining
 * marks none.  The tables come from wcwidth() of the C.UTF-8 locale, which
 * glibc always has, whatever the user's locale is; without it every
 * character counts one.
 */
size_t mlp_text_width(const char *s)
{
	static locale_t utf8;
	static int tried;
	const unsigned char *p = (const unsigned char *)s;
	size_t w = 0, len = strlen(s);
	locale_t old = (locale_t)0;

	if (!tried) {
		tried = 1;
		utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	}
	{
		/* ASCII, the usual case: a column per byte (controls count one too) */
		size_t i = 0;
		while (i < len && p[i] < 0x80)
			i++;
		if (i == len)
			return len;
	}
	if (utf8)
		old = uselocale(utf8);
	for (size_t i = 0; i < len;) {
		size_t n = p[i] < 0x80 ? 1 : utf8_len(p + i, len - i);
		uint32_t cp;
		int cw;

		if (!n) {	/* not from mlp_text_sanitize(): one column per byte */
			w++, i++;
			continue;
		}
		cp = n == 1 ? p[i] : n == 2 ? p[i] & 0x1fu : n == 3 ? p[i] & 0x0fu : p[i] & 0x07u;
		for (size_t k = 1; k < n; k++)
			cp = (cp << 6) | (p[i + k] & 0x3fu);
		i += n;
		cw = utf8 ? wcwidth((wchar_t)cp) : 1;
		w += cw < 0 ? 1 : (size_t)cw;
	}
	if (utf8)
		uselocale(old);
	return w;
}

void mlp_table_add(struct mlp_table *t, const char *text, const char *color)
{
	struct cell *c;

	if (!text)
		text = "";
	if (t->nr == t->alloc) {
		t->alloc = t->alloc ? t->alloc * 2 : 64;
		t->cells = mlp_realloc(t->cells, t->alloc * sizeof(struct cell));
	}
	c = &((struct cell *)t->cells)[t->nr++];
	c->off = t->text.len;
	c->color = color;
	c->width = 0;
	if (t->clean) {
		/* a clean table takes its cells sanitized and measured */
		mlp_text_sanitizes(&t->text, text, t->clean - 1);
		c->width = mlp_text_width(t->text.buf + c->off);
		mlp_buf_addch(&t->text, '\0');
		return;
	}
	mlp_buf_add(&t->text, text, strlen(text) + 1);
}

const char *mlp_table_text(const struct mlp_table *t, size_t i)
{
	return i < t->nr ? CELL_TEXT(t, &((const struct cell *)t->cells)[i]) : "";
}

void mlp_table_release(struct mlp_table *t)
{
	mlp_buf_release(&t->text);
	free(t->cells);
	free(t->right);
	memset(t, 0, sizeof(*t));
}

static void csv_field(struct mlp_buf *b, const char *s, int tsv)
{
	if (tsv) {
		for (; *s; s++)
			mlp_buf_addch(b, (*s == '\t' || *s == '\n' || *s == '\r') ? ' ' : *s);
		return;
	}
	if (!strpbrk(s, ",\"\n\r")) {
		mlp_buf_adds(b, s);
		return;
	}
	mlp_buf_addch(b, '"');
	for (; *s; s++) {
		if (*s == '"')
			mlp_buf_addch(b, '"');
		mlp_buf_addch(b, *s);
	}
	mlp_buf_addch(b, '"');
}

static void md_cell(struct mlp_buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '|')
			mlp_buf_adds(b, "\\|");
		else if (*s == '\n' || *s == '\r')
			mlp_buf_addch(b, ' ');
		else
			mlp_buf_addch(b, *s);
	}
}

/*
 * The cells as they will be shown: sanitized first, so that the widths
 * are those of the text that reaches the terminal.  CSV keeps line breaks
 * and tabs of a value (quoted); every other format shows one line a row.
 */
static unsigned text_flags(enum mlp_format fmt)
{
	return fmt == MLP_FMT_CSV ? MLP_TEXT_NL | MLP_TEXT_TAB : 0;
}

/* Appends the cells of `src` to the clean table `dst`: sanitized and measured. */
static void table_copy(struct mlp_table *dst, const struct mlp_table *src)
{
	const struct cell *cells = src->cells;

	for (size_t i = 0; i < src->nr; i++)
		mlp_table_add(dst, CELL_TEXT(src, &cells[i]), cells[i].color);
}

/* Cell i's text for printing: from `text` (table_texts()), or the clean table itself. */
static const char *cell_text(const struct mlp_table *t, char *const *text, size_t i)
{
	return text ? text[i] : CELL_TEXT(t, &((const struct cell *)t->cells)[i]);
}

static char **table_texts(const struct mlp_table *t, size_t n, enum mlp_format fmt,
			  struct mlp_buf *all)
{
	const struct cell *cells = t->cells;
	char **text;
	size_t *off;
	unsigned flags = text_flags(fmt);

	if (t->clean == flags + 1)
		return NULL;	/* sanitized already: cell_text() reads the cells */
	text = mlp_calloc(n ? n : 1, sizeof(char *));
	off = mlp_calloc(n ? n : 1, sizeof(size_t));


	/* one buffer for all of them: a listing has hundreds of thousands */
	for (size_t i = 0; i < n; i++) {
		off[i] = all->len;
		mlp_text_sanitizes(all, CELL_TEXT(t, &cells[i]), flags);
		mlp_buf_addch(all, '\0');
	}
	for (size_t i = 0; i < n; i++)
		text[i] = all->buf + off[i];
	free(off);
	return text;
}


struct lines_job {
	const struct mlp_table *t;
	char *const *text;	/* NULL: a clean table */
	const size_t *cw, *w;	/* cw NULL: the cells' widths */
	size_t shown, from, to;
	int color;
	struct mlp_buf out;
};

/* Rows [from, to) of an aligned table, padded to the widths `w`. */
static void *table_lines(void *arg)
{
	struct lines_job *j = arg;
	const struct mlp_table *t = j->t;
	const struct cell *cells = t->cells;
	struct mlp_buf *b = &j->out;

	for (size_t r = j->from; r < j->to; r++) {
		for (size_t c = 0; c < j->shown; c++) {
			const struct cell *cl = &cells[r * t->cols + c];
			const char *txt = cell_text(t, j->text, r * t->cols + c);
			const char *col = j->color ? (r == 0 ? "\033[1m" : cl->color) : NULL;
			int last = c + 1 == j->shown;
			if (col)
				mlp_buf_adds(b, col);
			if (last && !t->right[c])
				mlp_buf_adds(b, txt);
			else
				pad_known(b, txt, j->cw ? j->cw[r * t->cols + c] : cl->width, j->w[c], t->right[c]);
			if (col)
				mlp_buf_adds(b, "\033[m");
			if (!last)
				mlp_buf_adds(b, "  ");
		}
		/* an empty last cell leaves padding: lines end without blanks */
		while (b->len && b->buf[b->len - 1] == ' ')
			b->len--;
		mlp_buf_addch(b, '\n');
	}
	return NULL;
}

void mlp_table_print(struct mlp_buf *b, const struct mlp_table *t, enum mlp_format fmt,
		     int color, size_t width)
{
	const struct cell *cells = t->cells;
	size_t rows = t->cols ? t->nr / t->cols : 0, shown = t->cols, n = rows * t->cols;
	struct mlp_buf all = MLP_BUF_INIT;
	char **text = table_texts(t, n, fmt, &all);
	size_t *w = NULL, *cw = NULL;

	if (fmt == MLP_FMT_CSV || fmt == MLP_FMT_TSV) {
		for (size_t r = 0; r < rows; r++) {
			for (size_t c = 0; c < t->cols; c++) {
				if (c)
					mlp_buf_addch(b, fmt == MLP_FMT_TSV ? '\t' : ',');
				csv_field(b, cell_text(t, text, r * t->cols + c), fmt == MLP_FMT_TSV);
			}
			mlp_buf_addch(b, '\n');
		}
		goto done;
	}
	if (fmt == MLP_FMT_MD) {
		for (size_t r = 0; r < rows; r++) {
			mlp_buf_adds(b, "|");
			for (size_t c = 0; c < t->cols; c++) {
				mlp_buf_addch(b, ' ');
				md_cell(b, cell_text(t, text, r * t->cols + c));
				mlp_buf_adds(b, " |");
			}
			mlp_buf_addch(b, '\n');
			if (r == 0) {
				mlp_buf_adds(b, "|");
				for (size_t c = 0; c < t->cols; c++)
					mlp_buf_adds(b, t->right[c] ? " ---: |" : " --- |");
				mlp_buf_addch(b, '\n');
			}
		}
		goto done;
	}
	w = mlp_calloc(t->cols ? t->cols : 1, sizeof(size_t));
	if (text)
		cw = mlp_calloc(n ? n : 1, sizeof(size_t));
	for (size_t r = 0; r < rows; r++)
		for (size_t c = 0; c < t->cols; c++) {
			size_t i = r * t->cols + c;
			size_t x = cw ? (cw[i] = mlp_text_width(text[i])) : cells[i].width;
			if (x > w[c])
				w[c] = x;
		}
	if (width) {
		/* drop columns from the right, never the first `keep` */
		size_t total = 0;
		for (size_t c = 0; c < t->cols; c++)
			total += w[c] + (c ? 2 : 0);
		while (total > width && shown > (t->keep ? t->keep : 1)) {
			shown--;
			total -= w[shown] + 2;
		}
	}
	{
		struct lines_job job[MLP_MAX_THREADS];
		size_t nt = mlp_threads(rows);

		for (size_t k = 0; k < nt; k++) {
			job[k].t = t;
			job[k].text = text;
			job[k].cw = cw;
			job[k].w = w;
			job[k].shown = shown;
			job[k].color = color;
			job[k].from = rows * k / nt;
			job[k].to = rows * (k + 1) / nt;
			job[k].out = (struct mlp_buf)MLP_BUF_INIT;
		}
		size_t line = 1;
		for (size_t c = 0; c < shown; c++)
			line += w[c] + 2 + (color ? 12 : 0);
		/* the first part straight into `b`, the others joined after it:
		 * each buffer the size of its lines at most, grown once */
		for (size_t k = 1; k < nt; k++)
			mlp_buf_grow(&job[k].out, (job[k].to - job[k].from) * line);
		mlp_buf_grow(b, rows * line);
		job[0].out = *b;
		mlp_run_parts(table_lines, job, sizeof(job[0]), nt);
		*b = job[0].out;
		for (size_t k = 1; k < nt; k++) {
			mlp_buf_add(b, job[k].out.buf, job[k].out.len);
			mlp_buf_release(&job[k].out);
		}
	}
	if (shown < t->cols)
		mlp_buf_addf(b, "(%zu more column%s not shown: widen the terminal, or use --columns or --format)\n",
			     t->cols - shown, t->cols - shown == 1 ? "" : "s");
done:
	free(text);
	mlp_buf_release(&all);
	free(w);
	free(cw);
}

/* Keys of params whose values are not the same in every listed run. */
#define KEY_AT(base, i, stride) (*(char *const *)((const char *)(base) + (i) * (stride)))

/*
 * Adds the keys of a sorted array (n elements of `stride` bytes, each
 * starting with its key) to the sorted `keys` by a merge: listing many
 * runs that mostly share their keys costs a comparison per key.
 */
static void merge_keys(struct mlp_map *keys, const void *base, size_t n, size_t stride)
{
	size_t i = 0, j = 0, nr = 0;
	struct mlp_kv *out;

	while (i < keys->nr && j < n) {
		int c = strcmp(keys->items[i].key, KEY_AT(base, j, stride));
		if (c > 0)
			break;
		j += !c;
		i++;
	}
	if (j == n)
		return;		/* nothing new */
	out = mlp_calloc(keys->nr + n, sizeof(*out));
	for (i = j = 0; i < keys->nr || j < n;) {
		int c = i == keys->nr ? 1 : j == n ? -1 : strcmp(keys->items[i].key, KEY_AT(base, j, stride));
		if (c <= 0) {
			out[nr++] = keys->items[i++];
			j += !c;
		} else {
			out[nr++].key = mlp_strdup(KEY_AT(base, j++, stride));
		}
	}
	free(keys->items);
	keys->items = out;
	keys->nr = nr;
	keys->alloc = nr;
}

static void all_params(const struct mlp_run_list *list, struct mlp_map *keys)
{
	for (size_t i = 0; i < list->nr; i++)
		merge_keys(keys, list->runs[i]->params.items, list->runs[i]->params.nr,
			   sizeof(struct mlp_kv));
}

/* The params whose value (or absence) is not the same in every run. */
static void differing_params(const struct mlp_run_list *list, struct mlp_map *keys)
{
	struct mlp_map all = MLP_MAP_INIT;
	const struct mlp_value **first;
	char *differ;

	all_params(list, &all);
	first = mlp_calloc(all.nr ? all.nr : 1, sizeof(*first));
	differ = mlp_calloc(all.nr ? all.nr : 1, 1);
	for (size_t i = 0; i < list->nr; i++) {
		const struct mlp_map *p = &list->runs[i]->params;
		size_t j = 0;
		/* every key of a run is in `all`: walk both in order */
		for (size_t k = 0; k < all.nr; k++) {
			const struct mlp_value *v = NULL;
			if (j < p->nr && !strcmp(p->items[j].key, all.items[k].key))
				v = &p->items[j++].val;
			if (!i)
				first[k] = v;
			else if (!differ[k])
				differ[k] = !first[k] != !v || (v && !mlp_value_equal(first[k], v));
		}
	}
	for (size_t k = 0; k < all.nr; k++)
		if (differ[k]) {
			struct mlp_value nil = { 0 };
			mlp_map_set(keys, all.items[k].key, &nil);
		}
	free(first);
	free(differ);
	mlp_map_clear(&all);
}

static void metric_keys(const struct mlp_run_list *list, struct mlp_map *keys)
{
	for (size_t i = 0; i < list->nr; i++)
		merge_keys(keys, list->runs[i]->summary, list->runs[i]->summary_nr,
			   sizeof(struct mlp_summary));
}

/*
 * printf's "%.4g" for the values of a table, without printf: a listing of
 * 10,000 runs formats a quarter of a million numbers, and glibc spends a
 * microsecond on each converting the exact binary value.  The four digits
 * come from one multiplication by an exactly representable power of ten
 * (a single rounding, so within 1e-12 of the exact product); whenever
 * that leaves the rounding in doubt (a fraction within 1e-6 of one half),
 * the value is out of the powers' range, or it is not finite, printf
 * decides.  tests/unit/render_test.c holds it to printf's output.
 */
static int format_g4(char *out, double d)
{
	static const double p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
				      1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
				      1e20, 1e21, 1e22 };
	double a = fabs(d), m, fl;
	int e, k, len = 0;
	long digits;
	char dg[4];

	if (!isfinite(d) || a == 0)
		return -1;
	e = (int)floor(log10(a));
	for (int tries = 0; tries < 2; tries++) {
		k = 3 - e;	/* m = a * 10^k, in [1000, 10000) */
		if (k > 22 || k < -22)
			return -1;
		m = k >= 0 ? a * p10[k] : a / p10[-k];
		if (m >= 10000)
			e++;
		else if (m < 1000)
			e--;
		else
			break;
	}
	if (m < 1000 || m >= 10000)
		return -1;
	fl = floor(m);
	if (fabs(m - fl - 0.5) < 1e-6)
		return -1;	/* too close to a tie to trust */
	digits = (long)fl + (m - fl > 0.5);
	if (digits == 10000) {
		digits = 1000;
		e++;
	}
	for (int i = 3; i >= 0; i--, digits /= 10)
		dg[i] = (char)('0' + digits % 10);
	if (d < 0)
		out[len++] = '-';
	if (e < -4 || e >= 4) {
		int last = 3, x = e < 0 ? -e : e;
		while (last > 0 && dg[last] == '0')
			last--;
		out[len++] = dg[0];
		if (last > 0) {
			out[len++] = '.';
			for (int i = 1; i <= last; i++)
				out[len++] = dg[i];
		}
		out[len++] = 'e';
		out[len++] = e < 0 ? '-' : '+';
		if (x >= 100)
			out[len++] = (char)('0' + x / 100);
		out[len++] = (char)('0' + x / 10 % 10);
		out[len++] = (char)('0' + x % 10);
	} else if (e >= 0) {
		/* e + 1 digits before the point, the rest after it */
		int last = 3;
		while (last > e && dg[last] == '0')
			last--;
		for (int i = 0; i <= e; i++)
			out[len++] = dg[i];
		if (last > e) {
			out[len++] = '.';
			for (int i = e + 1; i <= last; i++)
				out[len++] = dg[i];
		}
	} else {
		/* 0.000dddd: -e - 1 zeros after the point */
		int last = 3;
		while (last > 0 && dg[last] == '0')
			last--;
		out[len++] = '0';
		out[len++] = '.';
		for (int i = 0; i < -e - 1; i++)
			out[len++] = '0';
		for (int i = 0; i <= last; i++)
			out[len++] = dg[i];
	}
	out[len] = '\0';
	return len;
}

void mlp_format_number(struct mlp_buf *b, double d)
{
	char tmp[32];
	int n;

	if (isnan(d))
		mlp_buf_adds(b, "nan");
	else if ((n = format_g4(tmp, d)) > 0)
		mlp_buf_add(b, tmp, (size_t)n);
	else
		mlp_buf_addf(b, "%.4g", d);
}

static void iso_time(struct mlp_buf *b, int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char tmp[64];

	gmtime_r(&t, &tm);
	strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	mlp_buf_adds(b, tmp);
}

/* A value as a cell: exact for machine formats, short for people. */
static void value_cell(struct mlp_buf *f, const struct mlp_value *v, int exact)
{
	if (v->type == MLP_FLOAT)
		exact ? mlp_json_double(f, v->u.f) : mlp_format_number(f, v->u.f);
	else
		mlp_value_format(f, v);
	if (!exact && f->len > 40) {
		/* cut between characters: half a UTF-8 sequence would show as U+FFFD */
		size_t cut = 37;
		while (cut && ((unsigned char)f->buf[cut] & 0xc0) == 0x80)
			cut--;
		f->len = cut;
		mlp_buf_adds(f, "...");
	}
}

static void add_header(struct mlp_table *t, const char *prefix, const char *key)
{
	struct mlp_buf h = MLP_BUF_INIT;
	mlp_buf_addf(&h, "%s%s", prefix, key);
	mlp_table_add(t, h.buf, NULL);
	mlp_buf_release(&h);
}

struct cells_job {
	struct mlp_table part;
	enum mlp_format fmt;
	const struct mlp_run *const *runs;
	size_t nr;
	int machine;
	const struct mlp_render_opts *o;
	const struct mlp_map *pkeys, *mkeys;
};

/* The cells of runs[0..nr) of a list, a row each. */
static void *run_cells(void *arg)
{
	struct cells_job *j = arg;
	struct mlp_table *t = &j->part;
	const struct mlp_render_opts *o = j->o;
	const struct mlp_map *pkeys = j->pkeys, *mkeys = j->mkeys;
	int machine = j->machine;
	struct mlp_buf fb = MLP_BUF_INIT, *f = &fb;

	for (size_t i = 0; i < j->nr; i++) {
		const struct mlp_run *r = j->runs[i];

		mlp_buf_reset(f);
		if (machine) {
			mlp_table_add(t, r->id, NULL);
			mlp_table_add(t, r->name, NULL);
			mlp_table_add(t, r->experiment, NULL);
			mlp_table_add(t, mlp_status_name(r->status), NULL);
			iso_time(f, r->started);
			mlp_table_add(t, f->buf, NULL);
			mlp_buf_reset(f);
			if (r->ended)
				iso_time(f, r->ended);
			mlp_table_add(t, f->buf ? f->buf : "", NULL);
			mlp_table_add(t, r->base, NULL);
		} else {
			mlp_buf_add(f, r->id, 8);
			mlp_table_add(t, f->buf, "\033[33m");
			mlp_table_add(t, r->name ? r->name : "-", NULL);
			mlp_buf_reset(f);
			status_text(f, r, o);
			mlp_table_add(t, f->buf, status_color(r->status));
			mlp_buf_reset(f);
			mlp_format_age(f, o->now_ms - r->started);
			mlp_table_add(t, f->buf, NULL);
			mlp_buf_reset(f);
			if (r->base[0])
				mlp_buf_add(f, r->base, 7);
			else
				mlp_buf_adds(f, "-");
			if (r->dirty)
				mlp_buf_addch(f, '+');
			mlp_table_add(t, f->buf, NULL);
		}
		if (o->columns) {
			for (size_t k = 0; k < o->ncolumns; k++) {
				struct mlp_value v;
				int found = 0;
				mlp_buf_reset(f);
				if (mlp_run_field(r, o->columns[k], &v, &found) == 0 && found)
					value_cell(f, &v, machine);
				else if (!machine)
					mlp_buf_adds(f, "-");
				mlp_value_clear(&v);
				mlp_table_add(t, f->buf ? f->buf : "", NULL);
			}
		} else {
			size_t pj = 0, sj = 0;
			for (size_t k = 0; k < pkeys->nr; k++) {
				/* both sorted: a walk, not a search per cell */
				const struct mlp_value *v = NULL;
				int c = 1;
				while (pj < r->params.nr && (c = strcmp(r->params.items[pj].key, pkeys->items[k].key)) < 0)
					pj++;
				if (!c)
					v = &r->params.items[pj].val;
				mlp_buf_reset(f);
				if (v)
					value_cell(f, v, machine);
				else if (!machine)
					mlp_buf_adds(f, "-");
				mlp_table_add(t, f->buf ? f->buf : "", NULL);
			}
			for (size_t k = 0; k < mkeys->nr; k++) {
				const struct mlp_summary *sm = NULL;
				int c = 1;
				while (sj < r->summary_nr && (c = strcmp(r->summary[sj].key, mkeys->items[k].key)) < 0)
					sj++;
				if (!c)
					sm = &r->summary[sj];
				mlp_buf_reset(f);
				if (sm)
					machine ? mlp_json_double(f, sm->last) : mlp_format_number(f, sm->last);
				else if (!machine)
					mlp_buf_adds(f, "-");
				mlp_table_add(t, f->buf ? f->buf : "", NULL);
			}
		}
	}
	mlp_buf_release(&fb);
	return NULL;
}

/* Appends the cells of `part` to `t`, which has room for them (table_reserve()). */
static void table_append(struct mlp_table *t, const struct mlp_table *part)
{
	const struct cell *from = part->cells;
	struct cell *to;
	size_t base = t->text.len;

	if (t->nr + part->nr > t->alloc) {
		t->alloc = t->nr + part->nr;
		t->cells = mlp_realloc(t->cells, t->alloc * sizeof(struct cell));
	}
	to = (struct cell *)t->cells + t->nr;
	for (size_t i = 0; i < part->nr; i++) {
		to[i].off = from[i].off + base;
		to[i].color = from[i].color;
		to[i].width = from[i].width;
	}
	t->nr += part->nr;
	mlp_buf_add(&t->text, part->text.buf, part->text.len);
}

/* Room in `t` for `rows` rows of cells of about 8 bytes each: no growing as they come. */
static void table_presize(struct mlp_table *t, size_t rows)
{
	t->alloc = rows * t->cols;
	t->cells = mlp_realloc(t->cells, (t->alloc ? t->alloc : 1) * sizeof(struct cell));
	mlp_buf_grow(&t->text, t->alloc * 8);
}

/* Room in `t` for the cells of the n tables `parts`, in one allocation each. */
static void table_reserve(struct mlp_table *t, const struct mlp_table *parts, size_t n, size_t stride)
{
	size_t cells = t->nr, text = t->text.len;

	for (size_t k = 0; k < n; k++) {
		const struct mlp_table *p = (const struct mlp_table *)((const char *)parts + k * stride);
		cells += p->nr;
		text += p->text.len;
	}
	if (cells > t->alloc) {
		t->alloc = cells;
		t->cells = mlp_realloc(t->cells, t->alloc * sizeof(struct cell));
	}
	mlp_buf_grow(&t->text, text - t->text.len);
}

/*
 * The rows of a long listing are formatted on every core (numbers to
 * text is most of the work of a table), each part in its own table, and
 * joined in order.
 */

static void list_cells(struct mlp_table *t, const struct mlp_run_list *list, enum mlp_format fmt,
		       int machine, const struct mlp_render_opts *o, const struct mlp_map *pkeys,
		       const struct mlp_map *mkeys)
{
	struct mlp_table all;
	size_t nt = mlp_threads(list->nr);
	struct cells_job job[MLP_MAX_THREADS];

	for (size_t k = 0; k < nt; k++) {
		size_t from = list->nr * k / nt, to = list->nr * (k + 1) / nt;
		mlp_table_init(&job[k].part, t->cols);
		job[k].part.clean = text_flags(fmt) + 1;
		table_presize(&job[k].part, to - from);
		job[k].runs = (const struct mlp_run *const *)list->runs + from;
		job[k].nr = to - from;
		job[k].fmt = fmt;
		job[k].machine = machine;
		job[k].o = o;
		job[k].pkeys = pkeys;
		job[k].mkeys = mkeys;
	}
	mlp_run_parts(run_cells, job, sizeof(job[0]), nt);
	/* the header (the cells so far), then the parts, all sanitized */
	mlp_table_init(&all, t->cols);
	free(all.right);
	all.right = t->right;
	all.keep = t->keep;
	t->right = NULL;
	all.clean = text_flags(fmt) + 1;
	table_copy(&all, t);
	table_reserve(&all, &job[0].part, nt, sizeof(job[0]));
	for (size_t k = 0; k < nt; k++) {
		table_append(&all, &job[k].part);
		mlp_table_release(&job[k].part);
	}
	mlp_table_release(t);
	*t = all;
}

int mlp_render_list(struct mlp_buf *b, const struct mlp_run_list *list,
		    enum mlp_format fmt, const struct mlp_render_opts *o)
{
	struct mlp_map pkeys = MLP_MAP_INIT, mkeys = MLP_MAP_INIT;
	struct mlp_table t;
	int machine = fmt == MLP_FMT_CSV || fmt == MLP_FMT_TSV;
	size_t fixed;

	if (fmt == MLP_FMT_JSON) {
		mlp_buf_addch(b, '[');
		for (size_t i = 0; i < list->nr; i++) {
			if (i)
				mlp_buf_adds(b, ",\n");
			mlp_render_run_json(b, list->runs[i], 0);
		}
		mlp_buf_adds(b, "]\n");
		return 0;
	}
	if (fmt == MLP_FMT_TEXT)
		fmt = MLP_FMT_TABLE;
	if (!o->columns) {
		if (machine)
			all_params(list, &pkeys);
		else if (list->nr > 1)
			differing_params(list, &pkeys);
		metric_keys(list, &mkeys);
	}
	if (machine) {
		static const char *const hdr[] = { "id", "name", "experiment", "status", "started", "ended", "commit" };
		fixed = 7;
		mlp_table_init(&t, fixed + (o->columns ? o->ncolumns : pkeys.nr + mkeys.nr));
		for (size_t c = 0; c < fixed; c++)
			mlp_table_add(&t, hdr[c], NULL);
	} else {
		static const char *const hdr[] = { "ID", "NAME", "STATUS", "AGE", "COMMIT" };
		fixed = 5;
		mlp_table_init(&t, fixed + (o->columns ? o->ncolumns : pkeys.nr + mkeys.nr));
		for (size_t c = 0; c < fixed; c++)
			mlp_table_add(&t, hdr[c], NULL);
		t.right[3] = 1;
		t.keep = 3;
	}
	if (o->columns) {
		for (size_t k = 0; k < o->ncolumns; k++) {
			/* numbers align right, as in the default metric columns */
			int numeric = 0, other = 0;
			for (size_t i = 0; i < list->nr && !other; i++) {
				struct mlp_value v;
				int found = 0;
				if (mlp_run_field(list->runs[i], o->columns[k], &v, &found) == 0 && found) {
					if (v.type == MLP_INT || v.type == MLP_FLOAT)
						numeric = 1;
					else
						other = 1;
				}
				mlp_value_clear(&v);
			}
			t.right[fixed + k] = numeric && !other;
			mlp_table_add(&t, o->columns[k], NULL);
		}
	} else {
		for (size_t k = 0; k < pkeys.nr; k++)
			add_header(&t, "params.", pkeys.items[k].key);
		for (size_t k = 0; k < mkeys.nr; k++) {
			if (machine)
				add_header(&t, "metrics.", mkeys.items[k].key);
			else
				mlp_table_add(&t, mkeys.items[k].key, NULL);
			t.right[fixed + pkeys.nr + k] = 1;
		}
	}
	list_cells(&t, list, fmt, machine, o, &pkeys, &mkeys);
	mlp_table_print(b, &t, fmt, o->color, o->width);
	mlp_table_release(&t);
	mlp_map_clear(&pkeys);
	mlp_map_clear(&mkeys);
	return 0;
}

/* ---- listings from the index ---------------------------------------------------- */

/*
 * A listing's table straight from the records the index keeps (params.mp
 * and summary.mp), nothing decoded: the same cells mlp_render_list() makes
 * of decoded runs, without a quarter of a million allocations for 10,000
 * runs.  Records are read as untrusted: a key out of order, a NUL in a
 * key or anything that does not read gives up (1), and the caller lists
 * decoded runs, which say what is wrong.
 */

/* Byte order, as strcmp() orders the keys of decoded maps. */
static int kcmp(const char *a, size_t al, const char *b, size_t bl)
{
	int c = memcmp(a, b, al < bl ? al : bl);
	return c ? c : (al > bl) - (al < bl);
}

/* The entries of a view's params (field "params") or summaries ("metrics"), in order. */
struct vit {
	struct mlp_mp r;
	uint32_t left;
	const char *prev;
	uint32_t prev_len;
};

static int vit_open(struct vit *it, const struct mlp_run_view *v, int params)
{
	int f = params ? 1 : 2;
	int err = mlp_record_open_map(&it->r, v->rec[f], v->len[f], params ? "params" : "metrics", &it->left);
	it->prev = NULL;
	it->prev_len = 0;
	return err < 0 ? -1 : 0;
}

/* 1: *k is the next key and `r` at its value; 0: no more; -1: not as decoders accept. */
static int vit_next(struct vit *it, const char **k, uint32_t *kl)
{
	if (!it->left)
		return 0;
	it->left--;
	if (mlp_mp_read_str(&it->r, k, kl) < 0 || !*kl || *kl > MLP_MAX_KEY_LEN || memchr(*k, '\0', *kl) ||
	    (it->prev && kcmp(it->prev, it->prev_len, *k, *kl) >= 0))
		return -1;
	it->prev = *k;
	it->prev_len = *kl;
	return 1;
}

struct vkey {
	const char *s;
	uint32_t len;
	struct mlp_value first;	/* a view: strings point into the index */
	size_t count;		/* views that have it */
	int differ;
};

struct vkeys {
	struct vkey *k;
	size_t nr, alloc;
};

/* The position of key s in `ks`, or where it goes (*found 0). */
static size_t vkeys_find(const struct vkeys *ks, size_t from, const char *s, uint32_t len, int *found)
{
	size_t j = from;
	int c = 1;

	while (j < ks->nr && (c = kcmp(ks->k[j].s, ks->k[j].len, s, len)) < 0)
		j++;
	*found = j < ks->nr && !c;
	return j;
}

static struct vkey *vkeys_insert(struct vkeys *ks, size_t j, const char *s, uint32_t len)
{
	if (ks->nr == ks->alloc) {
		ks->alloc = ks->alloc ? 2 * ks->alloc : 32;
		ks->k = mlp_realloc(ks->k, ks->alloc * sizeof(*ks->k));
	}
	memmove(ks->k + j + 1, ks->k + j, (ks->nr - j) * sizeof(*ks->k));
	ks->nr++;
	memset(&ks->k[j], 0, sizeof(ks->k[j]));
	ks->k[j].s = s;
	ks->k[j].len = len;
	return &ks->k[j];
}

/* Part of the keys of a listing: every param key with whether its value
 * differs between the views, and every metric key. */
struct keys_job {
	const struct mlp_run_view *views;
	size_t nr;
	struct vkeys pk, mk;
	int bad;
};

static void *view_keys_part(void *arg)
{
	struct keys_job *j = arg;
	struct vkeys *pk = &j->pk, *mk = &j->mk;

	for (size_t i = 0; i < j->nr; i++) {
		struct vit it;
		const char *k;
		uint32_t kl;
		size_t at = 0;
		int more, found;

		if (vit_open(&it, &j->views[i], 1) < 0)
			goto bad;
		while ((more = vit_next(&it, &k, &kl)) > 0) {
			struct mlp_value v;
			struct vkey *e;
			if (mlp_mp_read_value_view(&it.r, &v) < 0)
				goto bad;
			at = vkeys_find(pk, at, k, kl, &found);
			if (!found) {
				e = vkeys_insert(pk, at, k, kl);
				e->first = v;
			} else {
				e = &pk->k[at];
				if (!e->differ && !mlp_value_equal(&e->first, &v))
					e->differ = 1;
			}
			e->count++;
			at++;
		}
		if (more < 0 || vit_open(&it, &j->views[i], 0) < 0)
			goto bad;
		at = 0;
		while ((more = vit_next(&it, &k, &kl)) > 0) {
			if (mlp_mp_skip(&it.r) < 0)
				goto bad;
			at = vkeys_find(mk, at, k, kl, &found);
			if (!found)
				vkeys_insert(mk, at, k, kl);
			at++;
		}
		if (more < 0)
			goto bad;
	}
	return NULL;
bad:
	j->bad = 1;
	return NULL;
}

/* Adds the keys of `from` to `to`: the same key in both differs if it does in either, or their values do. */
static void vkeys_merge(struct vkeys *to, const struct vkeys *from)
{
	size_t at = 0;
	int found;

	for (size_t i = 0; i < from->nr; i++) {
		const struct vkey *f = &from->k[i];
		at = vkeys_find(to, at, f->s, f->len, &found);
		if (!found) {
			*vkeys_insert(to, at, f->s, f->len) = *f;
		} else {
			struct vkey *e = &to->k[at];
			e->differ |= f->differ || !mlp_value_equal(&e->first, &f->first);
			e->count += f->count;
		}
		at++;
	}
}

/* The keys of a listing, read on every core. */
static int view_keys(const struct mlp_view_list *l, struct vkeys *pk, struct vkeys *mk)
{
	struct keys_job job[MLP_MAX_THREADS];
	size_t nt = mlp_threads(l->nr);
	int bad = 0;

	for (size_t k = 0; k < nt; k++) {
		size_t from = l->nr * k / nt, to = l->nr * (k + 1) / nt;
		memset(&job[k], 0, sizeof(job[k]));
		job[k].views = l->views + from;
		job[k].nr = to - from;
	}
	mlp_run_parts(view_keys_part, job, sizeof(job[0]), nt);
	for (size_t k = 0; k < nt; k++) {
		bad |= job[k].bad;
		vkeys_merge(pk, &job[k].pk);
		vkeys_merge(mk, &job[k].mk);
		free(job[k].pk.k);
		free(job[k].mk.k);
	}
	for (size_t j = 0; j < pk->nr; j++)
		pk->k[j].differ |= pk->k[j].count != l->nr;
	return bad ? -1 : 0;
}

struct view_cells_job {
	struct mlp_table part;
	enum mlp_format fmt;
	const struct mlp_run_view *views;
	size_t nr;
	const struct mlp_render_opts *o;
	const struct vkey *const *pkeys;	/* the params shown */
	size_t npkeys;
	const struct vkeys *mkeys;
	int bad;
};

static void *view_cells(void *arg)
{
	struct view_cells_job *j = arg;
	struct mlp_table *t = &j->part;
	struct mlp_buf f = MLP_BUF_INIT;

	for (size_t i = 0; i < j->nr && !j->bad; i++) {
		const struct mlp_run_view *v = &j->views[i];
		struct vit it;
		const char *k = NULL;
		uint32_t kl = 0;
		int more;

		mlp_buf_reset(&f);
		mlp_buf_add(&f, v->id, 8);
		mlp_table_add(t, f.buf, "\033[33m");
		mlp_buf_reset(&f);
		if (v->name_len)
			mlp_buf_add(&f, v->name, v->name_len);
		else
			mlp_buf_adds(&f, "-");
		mlp_table_add(t, f.buf, NULL);
		mlp_table_add(t, mlp_status_name(v->status), status_color(v->status));
		mlp_buf_reset(&f);
		mlp_format_age(&f, j->o->now_ms - v->started);
		mlp_table_add(t, f.buf, NULL);
		mlp_buf_reset(&f);
		if (v->base[0])
			mlp_buf_add(&f, v->base, 7);
		else
			mlp_buf_adds(&f, "-");
		if (v->dirty)
			mlp_buf_addch(&f, '+');
		mlp_table_add(t, f.buf, NULL);

		/* both in order: one walk through the record per row */
		if (vit_open(&it, v, 1) < 0 || (more = vit_next(&it, &k, &kl)) < 0)
			goto bad;
		for (size_t p = 0; p < j->npkeys; p++) {
			const struct vkey *want = j->pkeys[p];
			int c = 1;
			struct mlp_value val;
			while (more > 0 && (c = kcmp(k, kl, want->s, want->len)) < 0) {
				if (mlp_mp_skip(&it.r) < 0 || (more = vit_next(&it, &k, &kl)) < 0)
					goto bad;
			}
			mlp_buf_reset(&f);
			if (more > 0 && !c) {
				if (mlp_mp_read_value_view(&it.r, &val) < 0)
					goto bad;
				value_cell(&f, &val, 0);
				if ((more = vit_next(&it, &k, &kl)) < 0)
					goto bad;
			} else {
				mlp_buf_adds(&f, "-");
			}
			mlp_table_add(t, f.buf, NULL);
		}
		if (vit_open(&it, v, 0) < 0 || (more = vit_next(&it, &k, &kl)) < 0)
			goto bad;
		for (size_t m = 0; m < j->mkeys->nr; m++) {
			const struct vkey *want = &j->mkeys->k[m];
			int c = 1;
			while (more > 0 && (c = kcmp(k, kl, want->s, want->len)) < 0) {
				if (mlp_mp_skip(&it.r) < 0 || (more = vit_next(&it, &k, &kl)) < 0)
					goto bad;
			}
			mlp_buf_reset(&f);
			if (more > 0 && !c) {
				double last;
				if (mlp_record_read_summary_last(&it.r, &last) < 0)
					goto bad;
				mlp_format_number(&f, last);
				if ((more = vit_next(&it, &k, &kl)) < 0)
					goto bad;
			} else {
				mlp_buf_adds(&f, "-");
			}
			mlp_table_add(t, f.buf, NULL);
		}
		continue;
bad:
		j->bad = 1;
	}
	mlp_buf_release(&f);
	return NULL;
}

static char *key_text(const char *prefix, const char *s, size_t len)
{
	struct mlp_buf b = MLP_BUF_INIT;
	mlp_buf_adds(&b, prefix);
	mlp_buf_add(&b, s, len);
	return mlp_buf_detach(&b, NULL);
}

int mlp_render_views(struct mlp_buf *b, const struct mlp_view_list *l, enum mlp_format fmt,
		     const struct mlp_render_opts *o)
{
	static const char *const hdr[] = { "ID", "NAME", "STATUS", "AGE", "COMMIT" };
	struct vkeys pk = { 0 }, mk = { 0 };
	const struct vkey **shown = NULL;
	struct view_cells_job job[MLP_MAX_THREADS];
	struct mlp_table t, all;
	size_t nshown = 0, fixed = 5, nt;
	int bad = 0;

	if ((fmt != MLP_FMT_TABLE && fmt != MLP_FMT_MD) || o->columns)
		return 1;
	if (view_keys(l, &pk, &mk) < 0) {
		free(pk.k);
		free(mk.k);
		return 1;
	}
	shown = mlp_calloc(pk.nr ? pk.nr : 1, sizeof(*shown));
	/* as mlp_render_list(): one run shows no params, more the ones that differ */
	for (size_t k = 0; k < pk.nr && l->nr > 1; k++)
		if (pk.k[k].differ)
			shown[nshown++] = &pk.k[k];
	mlp_table_init(&t, fixed + nshown + mk.nr);
	for (size_t c = 0; c < fixed; c++)
		mlp_table_add(&t, hdr[c], NULL);
	t.right[3] = 1;
	t.keep = 3;
	for (size_t k = 0; k < nshown; k++) {
		char *h = key_text("params.", shown[k]->s, shown[k]->len);
		mlp_table_add(&t, h, NULL);
		free(h);
	}
	for (size_t k = 0; k < mk.nr; k++) {
		char *h = key_text("", mk.k[k].s, mk.k[k].len);
		mlp_table_add(&t, h, NULL);
		free(h);
		t.right[fixed + nshown + k] = 1;
	}
	nt = mlp_threads(l->nr);
	for (size_t k = 0; k < nt; k++) {
		size_t from = l->nr * k / nt, to = l->nr * (k + 1) / nt;
		mlp_table_init(&job[k].part, t.cols);
		job[k].part.clean = text_flags(fmt) + 1;
		table_presize(&job[k].part, to - from);
		job[k].fmt = fmt;
		job[k].views = l->views + from;
		job[k].nr = to - from;
		job[k].o = o;
		job[k].pkeys = shown;
		job[k].npkeys = nshown;
		job[k].mkeys = &mk;
		job[k].bad = 0;
	}
	mlp_run_parts(view_cells, job, sizeof(job[0]), nt);
	mlp_table_init(&all, t.cols);
	free(all.right);
	all.right = t.right;
	all.keep = t.keep;
	t.right = NULL;
	all.clean = text_flags(fmt) + 1;
	table_copy(&all, &t);
	table_reserve(&all, &job[0].part, nt, sizeof(job[0]));
	for (size_t k = 0; k < nt; k++) {
		bad |= job[k].bad;
		if (!bad)
			table_append(&all, &job[k].part);
		mlp_table_release(&job[k].part);
	}
	if (!bad)
		mlp_table_print(b, &all, fmt, o->color, o->width);
	mlp_table_release(&t);
	mlp_table_release(&all);
	free(shown);
	free(pk.k);
	free(mk.k);
	return bad;
}

/* ---- show ---------------------------------------------------------------------- */

/* "label:     text\n", the text of a record on one line. */
static void field(struct mlp_buf *b, const char *label, const char *text)
{
	mlp_buf_addf(b, "%-12s", label);
	mlp_text_sanitizes(b, text, 0);
	mlp_buf_addch(b, '\n');
}

/* A note keeps its lines, each indented under the first. */
static void field_lines(struct mlp_buf *b, const char *label, const char *text)
{
	struct mlp_buf t = MLP_BUF_INIT;
	size_t len;

	mlp_text_sanitizes(&t, text, MLP_TEXT_NL | MLP_TEXT_TAB);
	len = t.len;
	while (len && t.buf[len - 1] == '\n')
		len--;
	mlp_buf_addf(b, "%-12s", label);
	for (size_t i = 0; i < len; i++) {
		mlp_buf_addch(b, t.buf[i]);
		if (t.buf[i] == '\n')
			mlp_buf_addf(b, "%12s", "");
	}
	mlp_buf_addch(b, '\n');
	mlp_buf_release(&t);
}

/*
 * The lines of a log tail, indented.  A progress bar rewrites its line
 * with carriage returns: what stays on the screen is the text after the
 * last one, and that is what is shown, not every state of the bar.
 */
static void indent_block(struct mlp_buf *b, const char *text)
{
	const char *p = text;

	while (p && *p) {
		const char *nl = strchr(p, '\n'), *cr;
		size_t len = nl ? (size_t)(nl - p) : strlen(p);

		while (len && p[len - 1] == '\r')
			len--;
		for (cr = p + len; cr > p && cr[-1] != '\r'; cr--)
			;
		mlp_buf_adds(b, "    ");
		mlp_text_sanitize(b, cr, len - (size_t)(cr - p), MLP_TEXT_TAB);
		mlp_buf_addch(b, '\n');
		p = nl ? nl + 1 : NULL;
	}
}

/* Keys and values of a map, keys padded to one width. */
static void map_block(struct mlp_buf *b, const char *title, const struct mlp_map *m)
{
	char **keys = mlp_calloc(m->nr ? m->nr : 1, sizeof(char *));
	struct mlp_buf v = MLP_BUF_INIT;
	size_t w = 0;

	for (size_t i = 0; i < m->nr; i++) {
		struct mlp_buf k = MLP_BUF_INIT;
		mlp_text_sanitizes(&k, m->items[i].key, 0);
		keys[i] = mlp_buf_detach(&k, NULL);
		if (mlp_text_width(keys[i]) > w)
			w = mlp_text_width(keys[i]);
	}
	mlp_buf_addf(b, "\n%s:\n", title);
	for (size_t i = 0; i < m->nr; i++) {
		mlp_buf_adds(b, "  ");
		pad(b, keys[i], w, 0);
		mlp_buf_adds(b, "  ");
		mlp_buf_reset(&v);
		mlp_value_format(&v, &m->items[i].val);
		mlp_text_sanitize(b, v.buf, v.len, 0);
		mlp_buf_addch(b, '\n');
		free(keys[i]);
	}
	free(keys);
	mlp_buf_release(&v);
}

int mlp_render_show(struct mlp_buf *b, const struct mlp_run *run,
		    enum mlp_format fmt, const struct mlp_render_opts *o)
{
	const char *hl = o->color ? "\033[33m" : "", *reset = o->color ? "\033[m" : "";
	struct mlp_buf t = MLP_BUF_INIT;

	if (fmt == MLP_FMT_JSON) {
		mlp_render_run_json(b, run, 1);
		mlp_buf_addch(b, '\n');
		return 0;
	}
	mlp_buf_addf(b, "%srun %s%s\n", hl, run->id, reset);
	field(b, "name:", run->name ? run->name : "-");
	if (run->experiment)
		field(b, "experiment:", run->experiment);
	mlp_buf_addf(b, "status:     %s", o->color ? status_color(run->status) : "");
	status_text(b, run, o);
	mlp_buf_adds(b, reset);
	if (run->signal)
		mlp_buf_addf(b, " (signal %d)", run->signal);
	else if (run->has_exit_code)
		mlp_buf_addf(b, " (exit %d)", run->exit_code);
	mlp_buf_addch(b, '\n');
	mlp_buf_adds(b, "command:   ");
	for (size_t i = 0; i < run->cmd_nr; i++) {
		mlp_buf_addch(b, ' ');
		mlp_text_sanitizes(b, run->cmd[i], 0);
	}
	mlp_buf_addch(b, '\n');
	mlp_buf_addf(b, "base:       %s", run->base[0] ? run->base : "(none: unborn branch)");
	if (run->branch) {
		mlp_buf_adds(b, " (");
		mlp_text_sanitizes(b, run->branch, 0);
		mlp_buf_addch(b, ')');
	}
	mlp_buf_addch(b, '\n');
	mlp_buf_addf(b, "workspace:  %s%s\n", run->workspace[0] ? run->workspace : "-",
		     run->dirty ? " (dirty)" : " (clean)");
	if (run->cwd && *run->cwd)
		field(b, "cwd:", run->cwd);
	mlp_buf_adds(b, "started:    ");
	iso_time(b, run->started);
	mlp_buf_adds(b, " (");
	mlp_format_age(b, o->now_ms - run->started);
	mlp_buf_adds(b, " ago)\n");
	if (run->ended) {
		mlp_buf_adds(b, "duration:   ");
		format_duration(b, run->ended - run->started);
		mlp_buf_addch(b, '\n');
	}
	field(b, "host:", run->host ? run->host : "-");
	field(b, "user:", run->user ? run->user : "-");
	mlp_buf_adds(b, "cpu:        ");
	format_duration(b, run->cpu_ms);
	mlp_buf_addf(b, ", max rss %.1f MiB\n", run->maxrss_kb / 1024.0);
	if (run->parent)
		field(b, "parent:", run->parent);
	if (run->note)
		field_lines(b, "note:", run->note);

	if (run->params.nr)
		map_block(b, "params", &run->params);
	if (run->summary_nr) {
		char **keys = mlp_calloc(run->summary_nr, sizeof(char *));
		size_t w = 3;
		for (size_t i = 0; i < run->summary_nr; i++) {
			mlp_buf_reset(&t);
			mlp_text_sanitizes(&t, run->summary[i].key, 0);
			keys[i] = mlp_buf_detach(&t, NULL);
			if (mlp_text_width(keys[i]) > w)
				w = mlp_text_width(keys[i]);
		}
		mlp_buf_adds(b, "\nmetrics:\n  ");
		pad(b, "", w, 0);
		mlp_buf_adds(b, "        last         min         max   count\n");
		for (size_t i = 0; i < run->summary_nr; i++) {
			const struct mlp_summary *s = &run->summary[i];
			const struct mlp_series *ser = mlp_run_series(run, s->key);
			mlp_buf_adds(b, "  ");
			pad(b, keys[i], w, 0);
			mlp_buf_addf(b, "  %10.4g  %10.4g  %10.4g  %6llu  ", s->last, s->min, s->max,
				     (unsigned long long)s->count);
			if (ser)
				mlp_sparkline(b, ser->value, ser->nr, 24);
			mlp_buf_addch(b, '\n');
			free(keys[i]);
		}
		free(keys);
	}
	if (run->tags.nr)
		map_block(b, "tags", &run->tags);
	if (run->artifact_nr) {
		mlp_buf_addch(b, '\n');
		mlp_render_artifacts(b, run);
	}
	if (run->logs_stdout_tail && *run->logs_stdout_tail) {
		mlp_buf_adds(b, "\nlog tail (stdout):\n");
		indent_block(b, run->logs_stdout_tail);
	}
	if (run->logs_stderr_tail && *run->logs_stderr_tail) {
		mlp_buf_adds(b, "\nlog tail (stderr):\n");
		indent_block(b, run->logs_stderr_tail);
	}
	mlp_buf_release(&t);
	return 0;
}
